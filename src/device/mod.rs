//! Devices: one actor per registered field device, under a supervisor.
//!
//! - [`model`]: kinds, states, the registered spec;
//! - [`lifecycle`] (pure): up / down / flapping / maintenance from heartbeats and time;
//! - [`alerting`] (pure): which alerts a transition means;
//! - [`batch`]: a heartbeat batch's body, read device by device as it is parsed; [`beats`]:
//!   a batch checked whole and applied, and how long it vouches for its client (presence);
//! - [`entry`]: what a device's actor and the live views share (data only); [`seen`]: its
//!   last-seen word, where a heartbeat for a device that stays up stops;
//! - [`actor`]: the device actor, wiring its lifecycle to timers, its entry and the alert
//!   service; [`messages`]: what it is sent;
//! - [`registry`]: id to entry and actor slot, read by the edges without asking an actor;
//! - [`supervise`]: how actors are rebuilt from stored state and quarantined;
//! - [`failover`] (pure): the failover decision table; [`failover_watch`] carries it out;
//! - [`service`]: registration, boot, and the calls the edges make; [`partition`]: a
//!   partition gained or lost (cluster mode) starts or stops its devices;
//! - [`edit`] (pure): what an edit makes of a spec, and what a node does with a device the
//!   store has edited or decommissioned; [`editing`] carries it out.
//!
//! Depends on `alert`, `command`, `supervision`, `store` and `auth` (who sent a batch); nothing here is imported by them.

pub mod actor;
pub mod alerting;
pub mod batch;
pub mod beats;
pub mod edit;
pub mod editing;
pub mod entry;
pub mod failover;
pub mod failover_watch;
pub mod lifecycle;
pub mod messages;
pub mod model;
pub mod partition;
pub mod registry;
pub mod seen;
pub mod service;
pub mod supervise;

pub use model::{DeviceKind, DeviceSpec, DeviceState, HeartbeatStatus};
pub use service::{DeviceError, Devices, Registration};
