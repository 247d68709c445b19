//! Parking control (DOMAIN.md, "Parking control and kiosks"): areas and their occupancy from
//! the guidance cameras, published for the guidance signs.
//!
//! - [`core`]: the pure cores (no I/O, no clock, no actix). Decisions live there.
//!
//! Actors and wiring (thin: they feed the cores and carry out what they return):
//! - [`guidance`]: the actor owning the occupancy book; publishes `/topic/parking/{site}`;
//! - [`sessions`]: the actor owning the session book: lane readings, payments, releases
//!   (`open_gate` commands), answers on `/user/queue/parking`; [`stored`]: its rows;
//! - [`messages`]: what they are sent; [`service`]: the edges' handle; [`settings`]: the
//!   configured grace, confidence threshold and default tariff; [`error`]: its errors.
//!
//! Depends on `device` (camera states, through the listen idiom), `command` (releases),
//! `broker` (the bus) and `store`; nothing here is imported by them.

pub mod core;
pub mod error;
pub mod guidance;
pub mod messages;
pub mod service;
pub mod sessions;
pub mod settings;
pub mod stored;

pub use error::ParkingError;
pub use service::{Parking, ParkingBoot};
pub use settings::ParkingSettings;
