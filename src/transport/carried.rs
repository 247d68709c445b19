//! What a WebSocket or SockJS session carries: a STOMP session ([`Driver`]), or, in
//! conformance mode only, one of the SockJS test suite's services (an echo, or a session that
//! closes at once). The transports hand every input to a [`Carried`] and never ask which.

use bytes::Bytes;

use super::driver::{Driver, Link};
use crate::broker::messages::{Deliver, Eviction};
use crate::broker::SessionKey;

pub enum Carried {
    Stomp(Box<Driver>),
    /// Each message written back as it came.
    Echo,
    /// Closed with "Go away!" as soon as it starts.
    Close,
}

impl Carried {
    /// The STOMP session's key (0 for the test services), for the logs.
    pub fn key(&self) -> SessionKey {
        match self {
            Carried::Stomp(driver) => driver.key(),
            Carried::Echo | Carried::Close => SessionKey(0),
        }
    }

    pub fn started(&mut self, link: &mut impl Link) {
        match self {
            Carried::Stomp(driver) => driver.started(link),
            Carried::Echo => {}
            Carried::Close => link.go_away(),
        }
    }

    /// What the peer sent: STOMP bytes, or one message of a framing that has messages.
    pub fn data(&mut self, data: &[u8], link: &mut impl Link) {
        match self {
            Carried::Stomp(driver) => driver.data(data, link),
            Carried::Echo => link.write(Bytes::copy_from_slice(data), true),
            Carried::Close => {}
        }
    }

    pub fn tick(&mut self, link: &mut impl Link) {
        if let Carried::Stomp(driver) = self {
            driver.tick(link);
        }
    }

    pub fn alive(&mut self) {
        if let Carried::Stomp(driver) = self {
            driver.alive();
        }
    }

    pub fn deliver(&mut self, msg: &Deliver, link: &mut impl Link) {
        if let Carried::Stomp(driver) = self {
            driver.deliver(msg, link);
        }
    }

    pub fn evicted(&mut self, cause: Eviction, link: &mut impl Link) {
        if let Carried::Stomp(driver) = self {
            driver.evicted(cause, link);
        }
    }

    pub fn closing(&mut self) {
        if let Carried::Stomp(driver) = self {
            driver.closing();
        }
    }

    pub fn stopped(&mut self) {
        if let Carried::Stomp(driver) = self {
            driver.stopped();
        }
    }
}
