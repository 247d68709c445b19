//! Taxi auto-dispatch: the pure cores of the holding lot, the lines, the curb and the fairness
//! rules, and the actors and service that run them.
//!
//! Pure (no I/O, no clock, no actix): time comes in as `now: Millis`, and every state change
//! comes back as a [`events::DispatchEvent`] value that an actor stores and publishes.
//! - [`model`]: validated names and enumerations (plates, regions, terminals, classes, modes, lines).
//! - [`rules`]: the joint-zone licence rules and the dispatch configuration with its defaults.
//! - [`settings`]: the environment's taxi settings read into the cores' types.
//! - [`lifecycle`]: one taxi's liveness (live, suspended, removed) driven by pings and ticks.
//! - [`queue`]: tickets and the ordered set of waiting taxis from which every line is derived.
//! - [`curb`]: curb bays per line and the operator's slot plans.
//! - [`dispatch`]: one terminal's dispatcher: lot, lines, curb bays, requests and assignments.
//! - [`input`]: every change to a dispatcher as a value, applied and replayed by one function.
//! - [`card`]: one taxi's registration and choices, as its actor holds them.
//! - [`events`]: the events, outcomes and errors the dispatcher returns; [`error`]: the service's.
//! - [`view`]: read views for `GET /api/v1/queues` and `GET /api/v1/taxis/{plate}`.
//! - [`stats`]: fairness figures per region and class.
//!
//! Actors and wiring (thin: they feed the cores and carry out what they return):
//! - [`terminal`]: one actor per terminal owning its dispatcher; [`actor`]: one per taxi;
//!   [`messages`]: what they are sent and what they tell;
//! - [`journal`]: stores dispatch records and snapshots in batches and tells listeners;
//! - [`entry`]: what each actor shares with the live views (data only); [`registry`]: the
//!   entries beside their actors' slots, for the edges and the supervisors; [`shared`]: what
//!   every actor shares;
//! - [`supervise`]: how actors are rebuilt after a crash; [`service`]: the edges' handle.
//!
//! Depends on `supervision`, `alert` and `store`; nothing here is imported by them.

pub mod actor;
pub mod card;
pub mod curb;
pub mod dispatch;
pub mod entry;
pub mod error;
pub mod events;
pub mod input;
pub mod journal;
pub mod lifecycle;
pub mod messages;
pub mod model;
pub mod queue;
pub mod registry;
pub mod rules;
pub mod service;
pub mod settings;
pub mod shared;
pub mod stats;
pub mod supervise;
pub mod terminal;
pub mod view;

pub use error::TaxiError;
pub use service::{TaxiBoot, TaxiDeps, TaxiDetail, Taxis};
