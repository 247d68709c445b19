//! The child's side of supervision, written once for every kind of supervised actor: the
//! messages each one takes ([`Crash`], [`Stop`]) and how it reports its end ([`ExitReport`],
//! which sends its supervisor a [`ChildExited`]).
//!
//! A child actor runs its handlers under [`guarded`](super::guarded); its
//! [`Guarded::crashed`](super::Guarded::crashed) hands the crash to [`ExitReport::crashed`],
//! and its `stopped` calls [`ExitReport::report`], so however it ends its supervisor hears of it
//! exactly once, with the generation it was started with.

use std::fmt;
use std::sync::Arc;

use actix::prelude::*;

use super::guard;
use super::policy::Exit;

/// Fault injection: make the actor's handler panic (drills, supervisor tests).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Crash;

/// Stop the actor on purpose (not a crash: it is not restarted).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Stop;

/// A child stopped; `exit` says whether on purpose or by a crash.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ChildExited<Id: Send> {
    pub id: Id,
    pub exit: Exit,
    /// The generation the child was started with; `None` when the supervisor reports a start
    /// of its own that failed.
    pub generation: Option<u64>,
}

/// Where a child's exit goes: its supervisor, one recipient shared by all its children.
pub type Exits<Id> = Arc<Recipient<ChildExited<Id>>>;

/// What a child actor keeps to report its end: made by the supervisor for each start.
pub struct ExitReport<Id: Send> {
    exits: Exits<Id>,
    generation: u64,
    exit: Exit,
}

impl<Id: Send> fmt::Debug for ExitReport<Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitReport")
            .field("generation", &self.generation)
            .field("exit", &self.exit)
            .finish()
    }
}

impl<Id: Send + fmt::Display + 'static> ExitReport<Id> {
    /// The report of an actor of `generation`, to `exits`.
    pub fn new(exits: Exits<Id>, generation: u64) -> Self {
        ExitReport {
            exits,
            generation,
            exit: Exit::Normal,
        }
    }

    /// The supervisor's generation of this actor.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A handler of child `id` (a `kind`: "device", "taxi") panicked: the crash is kept for
    /// [`ExitReport::report`] and the actor stops, since its state can no longer be trusted.
    pub fn crashed<A>(&mut self, ctx: &mut Context<A>, kind: &str, id: &Id, crash: guard::Crash)
    where
        A: Actor<Context = Context<A>>,
    {
        log::error!("{kind} actor crashed id={id} message={:?}", crash.message);
        self.exit = Exit::Crashed(crash.message);
        ctx.stop();
    }

    /// The actor stopped (call from `stopped`): tells the supervisor how.
    pub fn report(&mut self, id: Id) {
        self.exits.do_send(ChildExited {
            id,
            exit: std::mem::replace(&mut self.exit, Exit::Normal),
            generation: Some(self.generation),
        });
    }
}
