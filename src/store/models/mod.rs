//! Rows and the queries on them, one file per table.
//!
//! Rows are plain data in the database's own terms (text enums, epoch milliseconds); the parts
//! above convert them to their domain types. Models come in pairs (`Device` to read,
//! `NewDevice` to insert), and every query is a function taking `&mut DbConnection`, so a caller
//! that needs several writes to commit together runs them in one [`super::Store::write`].

pub mod alerts;
pub mod audit;
pub mod clients;
pub mod commands;
pub mod devices;
pub mod dispatch;
pub mod fences;
pub mod outbox;
pub mod parking;
pub mod parking_payments;
pub mod parking_sessions;
pub mod parking_tariffs;
pub mod receivers;
pub mod revocations;
pub mod settings;
pub mod taxis;
pub mod transitions;
pub mod users;

/// Page size when a list request names none.
pub const DEFAULT_PAGE: i64 = 100;
/// Largest page a list request may ask for (API.md: `?limit=` up to 1000).
pub const MAX_PAGE: i64 = 1_000;
