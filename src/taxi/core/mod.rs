//! The pure cores of taxi auto-dispatch: no I/O, no clock, no actix. Time comes in as
//! `now: Millis`, and every state change comes back as an [`events::DispatchEvent`] value that
//! an actor in the parent module stores and publishes.
//!
//! - [`model`]: validated names and enumerations (plates, regions, terminals, classes, modes, lines).
//! - [`rules`]: the joint-zone licence rules and the dispatch configuration with its defaults.
//! - [`settings`]: the environment's taxi settings read into the cores' types.
//! - [`lifecycle`]: one taxi's liveness (live, suspended, removed) driven by pings and ticks.
//! - [`queue`]: tickets and the ordered set of waiting taxis from which every line is derived.
//! - [`curb`]: curb bays per line and the operator's slot plans.
//! - [`dispatch`]: one terminal's dispatcher: lot, lines, curb bays, requests and assignments.
//! - [`input`]: every change to a dispatcher as a value, applied and replayed by one function.
//! - [`card`]: one taxi's registration and choices, as its actor holds them.
//! - [`events`]: the events, outcomes and errors the dispatcher returns.
//! - [`view`]: read views for `GET /api/v1/queues` and `GET /api/v1/taxis/{plate}`.
//! - [`stats`]: fairness figures per region and class.
//!
//! Nothing here imports the actors beside this folder, `actix`, `store` or any other part.

pub mod card;
pub mod curb;
pub mod dispatch;
pub mod events;
pub mod input;
pub mod lifecycle;
pub mod model;
pub mod queue;
pub mod rules;
pub mod settings;
pub mod stats;
pub mod view;
