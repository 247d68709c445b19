//! The relay: service events to STOMP destinations.
//!
//! Listens to every stored device transition, committed alert change, command change and
//! stored dispatch event, shapes each into its JSON message ([`super::payloads`]) and publishes
//! it on the bus; delivers commands to `/user/queue/commands` of their client and
//! dispatch events to `/user/queue/dispatch` of their taxi's driver; and tells the devices and the
//! command service when a client comes online or goes offline (presence). A thin actor: it sits
//! in `transport` because it knows both the services and the broker, which must know neither.

use std::sync::Arc;

use actix::prelude::*;

use super::payloads::{
    device_state, device_topic, dispatch_message, dispatch_scope, taxi_topic, DEVICES_TOPIC, DISPATCH_QUEUE,
    DISPATCH_TOPIC,
};
use crate::alert::messages::AlertsChanged;
use crate::alert::service::ALERTS_TOPIC;
use crate::alert::AlertService;
use crate::broker::actor::JSON;
use crate::broker::messages::{PresenceChanged, Publish, PublishBatch, PublishToUser};
use crate::broker::{Broker, Bus, Published};
use crate::command::messages::{ClientOffline, CommandChanged, DeliverCommand};
use crate::command::CommandService;
use crate::device::messages::DeviceChanged;
use crate::device::Devices;
use crate::listen::Tells;
use crate::taxi::messages::DispatchRecorded;
use crate::taxi::Taxis;

/// Where every command change is published.
pub const COMMANDS_TOPIC: &str = "/topic/commands";
/// A client's own commands.
pub const COMMAND_QUEUE: &str = "/user/queue/commands";

pub struct Relay {
    bus: Arc<dyn Bus>,
    devices: Devices,
    commands: Addr<CommandService>,
}

impl Relay {
    /// Starts a relay that publishes on `bus` and subscribes it to the devices, alerts,
    /// commands, dispatch and this node's `broker`'s presence.
    pub fn start(
        bus: Arc<dyn Bus>,
        broker: &Addr<Broker>,
        devices: &Devices,
        alerts: &Addr<AlertService>,
        commands: &Addr<CommandService>,
        taxis: &Taxis,
    ) -> Addr<Relay> {
        let relay = Relay {
            bus,
            devices: devices.clone(),
            commands: commands.clone(),
        }
        .start();
        devices.listen(relay.clone().recipient());
        taxis.listen(relay.clone().recipient());
        alerts.listen(relay.clone().recipient());
        commands.listen(relay.clone().recipient::<CommandChanged>());
        commands.listen(relay.clone().recipient::<DeliverCommand>());
        broker.listen(relay.clone().recipient());
        relay
    }

    fn publish(&self, destination: String, body: bytes::Bytes) {
        self.bus.publish(Published::Topic(Publish {
            destination,
            headers: vec![("content-type".to_owned(), JSON.to_owned())],
            body,
        }));
    }
}

impl Actor for Relay {
    type Context = Context<Self>;
}

impl Handler<DeviceChanged> for Relay {
    type Result = ();
    fn handle(&mut self, msg: DeviceChanged, _: &mut Context<Self>) {
        let body = device_state(&msg.entry, &msg.transition, msg.restarts);
        self.publish(DEVICES_TOPIC.to_owned(), body.clone());
        self.publish(device_topic(msg.entry.spec().id.as_str()), body);
    }
}

impl Handler<DispatchRecorded> for Relay {
    type Result = ();
    fn handle(&mut self, msg: DispatchRecorded, _: &mut Context<Self>) {
        let body = dispatch_message(msg.id, &msg.terminal, &msg.event);
        self.publish(DISPATCH_TOPIC.to_owned(), body.clone());
        if let Some(scope) = dispatch_scope(&msg.event) {
            self.publish(taxi_topic(&msg.terminal, &scope), body.clone());
        }
        if let Some(plate) = msg.event.plate() {
            self.bus.publish(Published::User(PublishToUser {
                user: plate.to_string(),
                destination: DISPATCH_QUEUE.to_owned(),
                headers: vec![("content-type".to_owned(), JSON.to_owned())],
                body,
            }));
        }
    }
}

impl Handler<AlertsChanged> for Relay {
    type Result = ();
    fn handle(&mut self, msg: AlertsChanged, _: &mut Context<Self>) {
        // One batch in, one batch out: every console gets the storm as a few deliveries.
        self.bus.publish(Published::Batch(PublishBatch {
            destination: ALERTS_TOPIC.to_owned(),
            headers: vec![("content-type".to_owned(), JSON.to_owned())],
            bodies: msg
                .changes
                .iter()
                .map(|c| bytes::Bytes::copy_from_slice(c.to_json().as_bytes()))
                .collect(),
        }));
    }
}

impl Handler<CommandChanged> for Relay {
    type Result = ();
    fn handle(&mut self, msg: CommandChanged, _: &mut Context<Self>) {
        let mut value = serde_json::to_value(&msg.command).unwrap_or_default();
        if let serde_json::Value::Object(fields) = &mut value {
            fields.insert("type".to_owned(), serde_json::Value::from(msg.event));
        }
        self.publish(COMMANDS_TOPIC.to_owned(), bytes::Bytes::from(value.to_string()));
    }
}

impl Handler<DeliverCommand> for Relay {
    type Result = ();
    fn handle(&mut self, msg: DeliverCommand, _: &mut Context<Self>) {
        self.bus.publish(Published::User(PublishToUser {
            user: msg.client_id,
            destination: COMMAND_QUEUE.to_owned(),
            headers: vec![
                ("content-type".to_owned(), JSON.to_owned()),
                ("command-id".to_owned(), msg.command_id.to_string()),
            ],
            body: bytes::Bytes::from(msg.body),
        }));
    }
}

impl Handler<PresenceChanged> for Relay {
    type Result = ();
    fn handle(&mut self, msg: PresenceChanged, _: &mut Context<Self>) {
        self.devices.client_presence(&msg.client, msg.online);
        // Coming online, commands wait for the client's SUBSCRIBE to its queue (see ws.rs);
        // going offline, the command service stops delivering at once.
        if !msg.online {
            self.commands.do_send(ClientOffline { client_id: msg.client });
        }
    }
}
