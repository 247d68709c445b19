//! `sim`: simulated field equipment that talks to a running kwanje only over its public
//! protocols (the HTTP API, STOMP over WebSocket or TCP), exactly as gate PCs, kiosks, lot
//! cameras and driver apps do, with fault injection; and the scripted incidents built on it
//! ([`drill`]) and the one-command demo ([`demo`]).
//!
//! It must not reach into the server's actors or store: what it knows, it learnt over the wire.
//! `anyhow` is its error type (it is a tool, like `main.rs`).
//!
//! # Layout
//!
//! - [`site`]: the site model (terminals, zones, clients, devices, standby pairs, taxis) and the
//!   built-in airport.
//! - [`api`]: the HTTP client; [`provision`]: idempotent registration and tokens.
//! - [`link`]: one STOMP connection (crate's own codec) over WebSocket or TCP.
//! - [`gate_pc`] (pure): what a gate PC sends and how it answers commands; [`chaos`] (pure): which
//!   faults strike; [`backoff`] (pure): reconnect waits.
//! - [`session`]: the task playing one gate PC; [`taxis`]: lot arrivals, kiosk requests, trips.
//! - [`stats`], [`summary`]: counters and the live screen; [`run`]: `kwanje sim`.
//! - [`drill`]: `kwanje drill` scenarios and their verdict table; [`demo`]: `kwanje demo`.

pub mod api;
pub mod backoff;
pub mod chaos;
pub mod demo;
pub mod drill;
pub mod gate_pc;
pub mod link;
pub mod provision;
pub mod run;
pub mod session;
pub mod site;
pub mod stats;
pub mod summary;
pub mod taxis;
