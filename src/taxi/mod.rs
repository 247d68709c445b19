//! Taxi auto-dispatch: the pure core of the holding lot, the lines, the curb and the fairness rules.
//!
//! Everything here is plain Rust with no I/O, no clock and no actix: time comes in as
//! `now: Millis`, and every state change comes back as a [`events::DispatchEvent`] value that an
//! actor stores and publishes. The actors (`actor.rs`, `terminal.rs`) feed these cores and carry
//! out what they return; they decide nothing themselves.
//!
//! - [`model`]: validated names and enumerations (plates, regions, terminals, classes, modes, lines).
//! - [`rules`]: the joint-zone licence rules and the dispatch configuration with its defaults.
//! - [`lifecycle`]: one taxi's liveness (live, suspended, removed) driven by pings and ticks.
//! - [`queue`]: tickets and the ordered set of waiting taxis from which every line is derived.
//! - [`curb`]: curb bays per line and the operator's slot plans.
//! - [`dispatch`]: one terminal's dispatcher: lot, lines, curb bays, requests and assignments.
//! - [`events`]: the events, outcomes and errors the dispatcher returns.
//! - [`view`]: read views for `GET /api/v1/queues` and `GET /api/v1/taxis/{plate}`.
//! - [`stats`]: fairness figures per region and class.

pub mod curb;
pub mod dispatch;
pub mod events;
pub mod lifecycle;
pub mod model;
pub mod queue;
pub mod rules;
pub mod stats;
pub mod view;
