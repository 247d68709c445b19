//! Parking control (DOMAIN.md, "Parking control and kiosks"): areas and their occupancy from
//! the guidance cameras, published for the guidance signs.
//!
//! - [`core`]: the pure cores (no I/O, no clock, no actix). Decisions live there.
//!
//! Actors and wiring (thin: they feed the cores and carry out what they return):
//! - [`guidance`]: the actor owning the occupancy book; publishes `/topic/parking/{site}`;
//! - [`messages`]: what it is sent; [`service`]: the edges' handle; [`error`]: its errors.
//!
//! Depends on `device` (camera states, through the listen idiom), `broker` (the bus) and
//! `store`; nothing here is imported by them.

pub mod core;
pub mod error;
pub mod guidance;
pub mod messages;
pub mod service;

pub use error::ParkingError;
pub use service::{Parking, ParkingBoot};
