//! kwanje (관제, "control and monitoring"): the actor-based supervision runtime behind an
//! airport's vehicle-control centre.
//!
//! Every field device and every taxi is an actor under a supervisor that restarts it when it
//! crashes and raises alerts when it goes silent; operators watch and act over HTTP and STOMP.
//!
//! # Layout
//!
//! ```text
//! sim                        a client of the server: simulated field equipment, over the network
//!    |
//! http, transport            edges: HTTP routes, WebSocket/STOMP sessions
//!    |
//! device, taxi, alert, command, accounts   services: actors that own one pure core each
//!    |
//! broker, supervision, store     machinery: fan-out, restart policy, persistence
//!    |
//! stomp, auth, ownership, time, ids, log_format   pure: no actix, no I/O
//! tls                        the listeners' certificate (rustls), read from files
//! ```
//!
//! Dependencies point down only; nothing imports a module above it. Inside each part the pure
//! core (decisions, tested without actix) and the actor (wiring and I/O) live in separate files:
//! `device/lifecycle.rs` beside `device/actor.rs`, `supervision/policy.rs` beside
//! `supervision/supervisor.rs`, `alert/book.rs` beside `alert/service.rs`.
//!
//! - [`app`] wires the parts into a running server; [`config`] reads the environment;
//!   [`state`] is what the edges (HTTP handlers, STOMP transports) share.
//! - [`store`] owns every SQL statement and the one batching writer ([`store::writer`]) that
//!   the alert service and the dispatch journal drive; [`auth`] issues and checks tokens;
//!   [`accounts`] keeps the node's revoked tokens and disabled users in step with the store.
//! - [`ownership`] says which partitions this node acts for (every one, on a single node);
//!   every supervisor asks it before it starts or restarts a child.
//! - [`supervision`] is the restart machinery shared by device and taxi actors; [`listen`] is
//!   the one way to listen to a service's events.
//! - [`device`] and [`alert`] are the supervision core's services; [`taxi`] runs taxi
//!   auto-dispatch (a dispatcher actor per terminal, an actor per taxi); [`parking`] runs parking
//!   control (occupancy from the guidance cameras); [`http`] is the API edge.
//! - [`stomp`] is the STOMP protocol core; [`broker`] routes messages between sessions (with
//!   the destination ACL and presence); [`transport`] carries sessions over WebSocket, SockJS and
//!   TCP and relays service events to the broker; [`tls`] is every listener's TLS.
//! - [`console`] serves the operator console (the built single-page app of `console/`) at `/`.
//! - [`sim`] is field equipment simulated over the public protocols (`kwanje sim`, `drill`,
//!   `demo`): a client of the server, above every other part, imported by none.

pub mod accounts;
pub mod alert;
pub mod app;
pub mod auth;
pub mod broker;
pub mod cluster;
pub mod command;
pub mod config;
pub mod console;
pub mod device;
pub mod http;
pub mod ids;
pub mod limit;
pub mod listen;
pub mod log_format;
pub mod notify;
pub mod ownership;
pub mod parking;
pub mod provision;
pub mod sim;
pub mod state;
pub mod stomp;
pub mod store;
pub mod supervision;
pub mod taxi;
pub mod time;
pub mod tls;
pub mod transport;
