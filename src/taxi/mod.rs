//! Taxi auto-dispatch: the pure cores of the holding lot, the lines, the curb and the fairness
//! rules, and the actors and service that run them.
//!
//! - [`core`]: the pure cores (no I/O, no clock, no actix): the model, the licence rules, the
//!   dispatcher with its lines, curb and requests, the events it returns, its read views and
//!   fairness figures. Decisions live there.
//!
//! Actors and wiring (thin: they feed the cores and carry out what they return):
//! - [`terminal`]: one actor per terminal owning its dispatcher; [`actor`]: one per taxi;
//!   [`messages`]: what they are sent and what they tell;
//! - [`journal`]: stores dispatch records and snapshots in batches and tells listeners;
//! - [`entry`]: what each actor shares with the live views (data only); [`registry`]: the
//!   entries beside their actors' slots, for the edges and the supervisors; [`shared`]: what
//!   every actor shares;
//! - [`supervise`]: how actors are rebuilt after a crash; [`boot`]: what the service starts
//!   from, read from the store; [`service`]: the edges' handle; [`editing`]: a registration
//!   corrected and a taxi decommissioned, off the lots only.
//!
//! Depends on `supervision`, `alert` and `store`; nothing here is imported by them.

pub mod actor;
pub mod boot;
pub mod core;
pub mod editing;
pub mod entry;
pub mod error;
pub mod journal;
pub mod messages;
pub mod partition;
pub mod registry;
pub mod service;
pub mod shared;
pub mod supervise;
pub mod terminal;

pub use error::TaxiError;
pub use service::{TaxiBoot, TaxiDeps, TaxiDetail, Taxis};
