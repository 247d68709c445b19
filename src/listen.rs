//! The one way to listen to a service: `service.listen(recipient)`.
//!
//! Every service that tells of its events implements [`Tells`] for each kind of event: the
//! device and taxi services (cheap handles) directly, and every actor service (alerts, commands,
//! the broker's presence, the dispatch journal) through the [`Listen`] request its actor
//! handles, so `Addr<Service>` tells what its actor does. Events are named in the past tense
//! (`DeviceChanged`, `DispatchRecorded`, `AlertsChanged`, `CommandChanged`, `PresenceChanged`)
//! or, when they ask the listener to act, in the imperative (`DeliverCommand`). A listener is
//! told with `do_send`: a service never waits for one.
//!
//! This is the seam a cluster's bus plugs into: it listens to the local services the same way
//! the relay does.

use actix::dev::ToEnvelope;
use actix::prelude::*;

/// A service that tells of every `E` it makes, to whoever listens.
pub trait Tells<E>
where
    E: Message<Result = ()> + Send + 'static,
{
    /// From now on, `listener` is told of every `E`.
    fn listen(&self, listener: Recipient<E>);
}

/// Tell `listener` of every `E` from now on: the request an actor service handles.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Listen<E>
where
    E: Message<Result = ()> + Send + 'static,
{
    pub listener: Recipient<E>,
}

impl<A, E> Tells<E> for Addr<A>
where
    A: Actor + Handler<Listen<E>>,
    A::Context: ToEnvelope<A, Listen<E>>,
    E: Message<Result = ()> + Send + 'static,
{
    fn listen(&self, listener: Recipient<E>) {
        self.do_send(Listen { listener });
    }
}
