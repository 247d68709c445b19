//! The pure cores of parking control: no I/O, no clock, no actix. Time comes in as
//! `now: Millis`; every change answers what changed, for an actor beside this folder to
//! publish or store.
//!
//! - [`area`]: validated names, configured areas and their directory.
//! - [`report`]: a guidance camera's report, read and checked whole.
//! - [`occupancy`]: the last count per area, cameras out of service, and the views.
//! - [`view`]: the views per area, zone and site.
//! - [`service_state`]: which device states put a camera out of service.
//! - [`tariff`]: a zone's tariff and the fee it gives for a stay.
//! - [`lpr`]: a lane camera's reading, read and checked.
//! - [`session`]: one car's stay and the fee due on it; [`sessions`]: the book of open sessions
//!   and what each reading, payment and close does to them; [`session_view`]: what the API
//!   and the lanes are told.
//! - [`tariffs`]: the tariff of every zone.
//! - [`kiosks`]: the nearest working payment kiosk of a zone, and which sites' answers moved.
//!
//! Nothing here imports the actors beside this folder, `actix`, `store` or any other service.

pub mod area;
pub mod kiosks;
pub mod lpr;
pub mod occupancy;
pub mod report;
pub mod service_state;
pub mod session;
pub mod session_view;
pub mod sessions;
pub mod tariff;
pub mod tariffs;
pub mod view;
