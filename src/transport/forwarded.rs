//! What another node handed on because this node owns the client's partition
//! ([`crate::ownership::forward`]), applied as if the client's session were here: heartbeats fed
//! to the devices (and vouching for the client's presence, as an HTTP heartbeat does), a
//! `/user/queue/commands` subscription telling the command service it may deliver, an ack
//! completing its command. A refusal (a device of another client, an ack for a finished
//! command) is logged here; the session that sent it is on the other node, which refused what
//! it could check itself.

use std::time::Duration;

use actix::Addr;

use super::routes::{self, Services};
use crate::auth::{Principal, Role};
use crate::broker::acl::AppDestination;
use crate::broker::messages::{ClientBeat, ClientsWithSessions};
use crate::broker::Broker;
use crate::command::messages::ClientOnline;
use crate::device::batch::BatchKind;
use crate::device::beats;
use crate::ownership::{Elsewhere, Inbound};

/// The client as the principal its session authenticated as.
fn principal(client: &str) -> Principal {
    Principal {
        name: client.to_owned(),
        role: Role::Client,
        client: Some(client.to_owned()),
        taxi: None,
        expires_ms: i64::MAX,
        issued_ms: i64::MAX,
    }
}

/// Applies `message` from another node.
pub fn apply(services: &Services, broker: &Addr<Broker>, message: Inbound) {
    match message {
        Inbound::Beats { client, faults, body } => {
            let kind = if faults {
                BatchKind::Faults
            } else {
                BatchKind::Heartbeats
            };
            match beats::apply(&services.devices, &principal(&client), kind, &body) {
                Ok(done) => {
                    if let Some(lease) = done.lease {
                        broker.do_send(ClientBeat {
                            until: services.devices.now() + lease,
                            client,
                        });
                    }
                }
                Err(err) => log::warn!("forwarded heartbeats refused client={client} error={err}"),
            }
        }
        Inbound::Listening { client } => services.commands.do_send(ClientOnline { client_id: client }),
        Inbound::Present { client, for_ms } => broker.do_send(ClientBeat {
            until: services.devices.now() + Duration::from_millis(for_ms),
            client,
        }),
        Inbound::Ack { client, body } => {
            let who = principal(&client);
            if let Err(err) = routes::route(services, &who, AppDestination::CommandAck, &body) {
                log::warn!("forwarded command ack refused client={client} error={err}");
            }
        }
        Inbound::TaxiPing { plate, .. } => match crate::taxi::core::model::Plate::parse(&plate) {
            Ok(plate) => {
                if let Err(err) = services.taxis.heartbeat_nowait(&plate) {
                    log::debug!("forwarded taxi ping not delivered taxi={plate} error={err}");
                }
            }
            Err(err) => log::warn!("forwarded taxi ping with an unreadable plate error={err}"),
        },
    }
}

/// Every `every`, tells the owner of each partition this node does not hold which of its
/// clients hold a session here, vouching for them for `lease`: a gate PC whose session is here
/// stays online at its owner between heartbeats, and goes offline there when its last session
/// anywhere has ended (or the node holding it died) and the vouching has run out.
pub async fn vouch_for_sessions(broker: Addr<Broker>, elsewhere: Elsewhere, every: Duration, lease: Duration) {
    let for_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Ok(clients) = broker.send(ClientsWithSessions).await else {
            return;
        };
        for client in clients {
            if let Some(partition) = elsewhere.partition_of(&client) {
                elsewhere.send(partition, Inbound::Present { client, for_ms });
            }
        }
    }
}
