//! The pure cores of parking control: no I/O, no clock, no actix. Time comes in as
//! `now: Millis`; every change answers what changed, for an actor beside this folder to
//! publish or store.
//!
//! - [`area`]: validated names, configured areas and their directory.
//! - [`report`]: a guidance camera's report, read and checked whole.
//! - [`occupancy`]: the last count per area, cameras out of service, and the views.
//! - [`view`]: the views per area, zone and site.
//! - [`service_state`]: which device states put a camera out of service.
//!
//! Nothing here imports the actors beside this folder, `actix`, `store` or any other service.

pub mod area;
pub mod occupancy;
pub mod report;
pub mod service_state;
pub mod view;
