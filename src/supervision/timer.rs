//! The lazy deadline timer every actor with a pure core's `next_deadline` uses.
//!
//! One pending timer per actor, moved only when the deadline comes earlier. A deadline that
//! moves later (a heartbeat) costs no timer work: the armed timer fires, the core finds nothing
//! due, and the actor arms again for the new deadline.

use std::time::Duration;

use actix::{Actor, AsyncContext, SpawnHandle};

use crate::time::Millis;

/// Added to every delay so a timer never fires a hair before its deadline and spins.
pub const TIMER_SLACK: Duration = Duration::from_millis(1);

#[derive(Debug, Default, Clone, Copy)]
pub struct LazyTimer {
    armed: Option<(SpawnHandle, Millis)>,
}

impl LazyTimer {
    /// Arms `fire` for `due` (`None`: cancel), unless a timer for an earlier time is armed.
    /// `fire` must call [`LazyTimer::fired`] first.
    pub fn arm<A>(
        &mut self,
        ctx: &mut A::Context,
        due: Option<Millis>,
        now: Millis,
        fire: impl FnOnce(&mut A, &mut A::Context) + 'static,
    ) where
        A: Actor,
        A::Context: AsyncContext<A>,
    {
        let Some(due) = due else {
            if let Some((handle, _)) = self.armed.take() {
                ctx.cancel_future(handle);
            }
            return;
        };
        if let Some((handle, armed)) = self.armed {
            if armed <= due {
                return;
            }
            ctx.cancel_future(handle);
        }
        let handle = ctx.run_later(due.since(now) + TIMER_SLACK, fire);
        self.armed = Some((handle, due));
    }

    /// The armed timer fired: nothing is armed any more.
    pub fn fired(&mut self) {
        self.armed = None;
    }
}
