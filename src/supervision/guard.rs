//! The panic guard: a panic inside a supervised actor's handler becomes a reported crash.
//!
//! Every handler and timer callback of a supervised actor runs its body through [`guarded`].
//! A panic is caught there, the actor is told through [`Guarded::crashed`] (which records the
//! crash and stops the actor, so its half-mutated state is dropped), and the arbiter thread and
//! every other actor on it carry on. The supervisor then rebuilds the child from stored state.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use actix::{Actor, Context};

/// A caught panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    pub message: String,
}

/// An actor whose handlers run under [`guarded`].
pub trait Guarded: Actor<Context = Context<Self>> {
    /// Called after a handler panicked; must stop the actor (its state can no longer be trusted).
    fn crashed(&mut self, ctx: &mut Context<Self>, crash: Crash);
}

/// Runs `f`; a panic inside it is reported to the actor as a crash and gives `None`.
pub fn guarded<A, R>(actor: &mut A, ctx: &mut Context<A>, f: impl FnOnce(&mut A, &mut Context<A>) -> R) -> Option<R>
where
    A: Guarded,
{
    match catch_unwind(AssertUnwindSafe(|| f(actor, ctx))) {
        Ok(value) => Some(value),
        Err(payload) => {
            actor.crashed(
                ctx,
                Crash {
                    message: panic_message(payload.as_ref()),
                },
            );
            None
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

/// Sends panic reports to the log (one `key=value` line) instead of stderr. Idempotent.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let thread = std::thread::current();
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            log::error!(
                "panic thread={} at={} message={:?}",
                thread.name().unwrap_or("unnamed"),
                location.unwrap_or_default(),
                panic_message(info.payload())
            );
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_of_both_kinds_give_their_text() {
        let a = catch_unwind(|| panic!("static text")).unwrap_err();
        assert_eq!(panic_message(a.as_ref()), "static text");
        let n = 7;
        let b = catch_unwind(|| panic!("formatted {n}")).unwrap_err();
        assert_eq!(panic_message(b.as_ref()), "formatted 7");
    }
}
