//! The integration suite: one binary, a real server on port 0 per test, real clients over real
//! sockets, against SQLite always and PostgreSQL when `TEST_DATABASE_URL` is set.

mod api_errors;
mod audit;
mod cli;
mod cluster;
mod commands;
mod connections;
mod console;
mod console_browser;
mod devices;
mod drill;
mod durability;
mod edits;
mod fences;
mod hardening;
mod http_presence;
mod identity_provider;
mod keepalive;
mod limits;
mod openapi;
mod parking;
mod parking_kiosks;
mod parking_sessions;
mod provision;
mod realtime;
mod receivers;
mod sim;
mod store_outage;
mod storm_writes;
mod supervision;
mod support;
mod taxi;
mod tls;
mod transitions;
mod users;
