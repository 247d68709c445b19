//! The restart machinery shared by device and taxi actors, modelled on Erlang/OTP supervisors.
//!
//! actix's own `Supervisor` restarts only an actor that stops itself and never sees a panic
//! (actix issues #158, #204), so kwanje has its own:
//! - [`policy`] (pure): restart types, intensity (R restarts in T), exponential backoff with
//!   jitter, reset after a stable period, escalation;
//! - [`guard`]: turns a panic inside a handler or timer callback into a [`guard::Crash`] the
//!   actor reports, so no panic unwinds into an arbiter;
//! - [`slot`]: a child's address, restart count and quarantine, written by the supervisor
//!   only, beside the entry a registry keeps for the child ([`slot::Child`]);
//! - [`child`]: the child actor's side: the [`Crash`](child::Crash) and [`Stop`](child::Stop)
//!   messages every child takes, and the [`ExitReport`] it ends with;
//! - [`timer`]: the lazy deadline timer actors arm from their core's `next_deadline`;
//! - [`supervisor`]: the actor that receives exits, consults the policy and restarts children
//!   through a [`supervisor::ChildFactory`], which rebuilds them from their stored state.
//!
//! This part knows nothing of devices or taxis.

pub mod child;
pub mod guard;
pub mod policy;
pub mod slot;
pub mod supervisor;
pub mod timer;

pub use child::{ChildExited, ExitReport, Exits};
pub use guard::{guarded, Crash, Guarded};
pub use policy::{Decision, Exit, RestartPolicy, RestartTracker, RestartType};
pub use slot::{Child, ChildSlot};
pub use supervisor::{ChildFactory, GetStats, StartChild, Supervisor, SupervisorStats};
pub use timer::LazyTimer;
