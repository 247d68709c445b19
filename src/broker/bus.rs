//! The bus: the one way a message is published to subscribers, in front of the broker.
//!
//! Everything that publishes (the relay's service events, an operators' broadcast SEND) hands a
//! [`Published`] to a [`Bus`] rather than to the broker actor. On one node that is
//! [`LocalBus`], which gives it to this node's broker. A cluster's bus (DESIGN.md, "Scale
//! beyond one machine") publishes the same value to the other nodes as well, and delivers what
//! they publish with [`LocalBus::deliver`], to this node's sessions only, so a message is fanned
//! out once on each node and never echoed back.

use std::fmt;

use actix::prelude::*;

use super::actor::Broker;
use super::messages::{Publish, PublishBatch, PublishToUser};

/// A message for subscribers, wherever their sessions are.
#[derive(Debug)]
pub enum Published {
    /// To every subscriber of a topic.
    Topic(Publish),
    /// Several messages to one topic, fanned out together.
    Batch(PublishBatch),
    /// To every session of one principal's user destination.
    User(PublishToUser),
}

/// Publishes to subscribers on every node.
pub trait Bus: Send + Sync + fmt::Debug + 'static {
    /// Hands `message` on; never waits and never fails (a lost message is the broker's slow
    /// consumer policy, not the publisher's concern).
    fn publish(&self, message: Published);
}

/// The bus of a single node: this node's broker.
#[derive(Clone)]
pub struct LocalBus {
    broker: Addr<Broker>,
}

impl LocalBus {
    pub fn new(broker: Addr<Broker>) -> LocalBus {
        LocalBus { broker }
    }

    /// Fans `message` out to this node's sessions only.
    pub fn deliver(&self, message: Published) {
        match message {
            Published::Topic(m) => self.broker.do_send(m),
            Published::Batch(m) => self.broker.do_send(m),
            Published::User(m) => self.broker.do_send(m),
        }
    }
}

impl fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalBus")
    }
}

impl Bus for LocalBus {
    fn publish(&self, message: Published) {
        self.deliver(message);
    }
}
