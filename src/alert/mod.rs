//! Alerts: raise, dedupe, acknowledge, resolve; stored with the change that caused them.
//!
//! [`model`] says what an alert is; [`book`] (pure) holds the open alerts and their rules;
//! [`service`] is the actor that owns the book and writes every change. Services above (device,
//! taxi) decide *which* alerts their transitions mean and send [`model::Intent`]s; this part
//! knows nothing of devices or taxis.

pub mod book;
pub mod fanout;
pub mod messages;
pub mod model;
pub mod service;

pub use messages::Record;
pub use model::{Alert, AlertKind, AlertState, Intent, Severity, Subject, SubjectType};
pub use service::AlertService;
