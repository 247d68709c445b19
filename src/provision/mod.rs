//! Provisioning in bulk (issue #16): a sheet of clients, devices and taxis (JSON or CSV,
//! [`sheet`]) checked whole against what is registered ([`plan`], pure) and applied as an
//! idempotent upsert in one transaction, or only reported (a dry run) ([`service`]). The same
//! sheet is what an export writes, so a site can be moved between servers; [`remote`] is the
//! `kwanje import` / `kwanje export` side, a client of a running server.
//!
//! Depends on `device`, `taxi` and `store`; imported by `http` only.

pub mod plan;
pub mod remote;
pub mod service;
pub mod sheet;

pub use service::{ProvisionError, Provisioned, Provisioner};
pub use sheet::Sheet;
