//! The taxi service's error: what the edges get back from the taxi and terminal actors.
//!
//! Error policy: a [`DispatchError`] from a dispatcher keeps its class (404, 409, 422: see
//! [`DispatchError::class`]); a refused change of a taxi's card is 422; an actor that is being
//! restarted, or that crashed while handling the request, is `Unavailable` (503: retry shortly,
//! nothing was half-done, since a crashed actor's state is dropped and rebuilt from the last
//! completed change). The HTTP layer maps each variant to one status and nothing else.

use thiserror::Error;

use super::core::card::CardError;
use super::core::events::{DispatchError, ErrorClass};
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum TaxiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DispatchError> for TaxiError {
    fn from(e: DispatchError) -> Self {
        match e.class() {
            ErrorClass::NotFound => TaxiError::NotFound(e.to_string()),
            ErrorClass::Conflict => TaxiError::Conflict(e.to_string()),
            ErrorClass::Invalid => TaxiError::Invalid(e.to_string()),
        }
    }
}

impl From<CardError> for TaxiError {
    fn from(e: CardError) -> Self {
        match e {
            CardError::AtTerminal(..) => TaxiError::Conflict(e.to_string()),
            _ => TaxiError::Invalid(e.to_string()),
        }
    }
}

impl TaxiError {
    /// An actor crashed while handling the message, or is between a crash and its restart.
    pub fn restarting(what: impl std::fmt::Display) -> Self {
        TaxiError::Unavailable(format!("{what} is restarting; retry shortly"))
    }
}
