//! The relay: service events to STOMP destinations.
//!
//! Listens to every stored device transition and every committed alert change, shapes each into
//! its JSON message ([`super::payloads`]) and publishes it through the broker. A thin actor:
//! it sits in `transport` because it knows both the services (their events) and the broker,
//! which must know neither.

use actix::prelude::*;

use super::payloads::{alert_changed, device_state, device_topic, ALERTS_TOPIC, DEVICES_TOPIC};
use crate::alert::service::{AlertChanged, SubscribeAlerts};
use crate::alert::AlertService;
use crate::broker::actor::JSON;
use crate::broker::messages::Publish;
use crate::broker::Broker;
use crate::device::actor::DeviceChanged;
use crate::device::Devices;

pub struct Relay {
    broker: Addr<Broker>,
}

impl Relay {
    /// Starts a relay and subscribes it to `devices` and `alerts`.
    pub fn start(
        broker: Addr<Broker>,
        devices: &Devices,
        alerts: &Addr<AlertService>,
    ) -> Addr<Relay> {
        let relay = Relay { broker }.start();
        devices.shared().listen(relay.clone().recipient());
        alerts.do_send(SubscribeAlerts(relay.clone().recipient()));
        relay
    }

    fn publish(&self, destination: String, body: bytes::Bytes) {
        self.broker.do_send(Publish {
            destination,
            headers: vec![("content-type".to_owned(), JSON.to_owned())],
            body,
        });
    }
}

impl Actor for Relay {
    type Context = Context<Self>;
}

impl Handler<DeviceChanged> for Relay {
    type Result = ();
    fn handle(&mut self, msg: DeviceChanged, _: &mut Context<Self>) {
        let body = device_state(&msg.entry, &msg.transition);
        self.publish(DEVICES_TOPIC.to_owned(), body.clone());
        self.publish(device_topic(msg.entry.spec.id.as_str()), body);
    }
}

impl Handler<AlertChanged> for Relay {
    type Result = ();
    fn handle(&mut self, msg: AlertChanged, _: &mut Context<Self>) {
        self.publish(ALERTS_TOPIC.to_owned(), alert_changed(&msg.alert));
    }
}
