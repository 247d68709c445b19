//! Carries out the failover policy ([`super::failover`]): watches stored device transitions
//! and finished commands, and issues switch commands, flips `active`, and raises the failover
//! alerts. Wiring only; the decisions are the policy's.

use actix::prelude::*;

use super::entry::DeviceEntry;
use super::failover::{failback_after, failback_due, on_command_done, on_down, OnCommandDone, OnDown, StandbyView};
use super::messages::DeviceChanged;
use super::model::DeviceState;
use super::service::Devices;
use crate::alert::{AlertKind, AlertService, Intent, Record, Severity, Subject, SubjectType};
use crate::command::messages::{CommandChanged, Issue};
use crate::command::{CommandKind, CommandService};
use crate::listen::Tells;

/// Who the policy's commands are issued by, in the audit log and the command's `issued_by`.
pub const POLICY_PRINCIPAL: &str = "policy:failover";

pub struct FailoverWatch {
    devices: Devices,
    commands: Addr<CommandService>,
    alerts: Addr<AlertService>,
    ttl: std::time::Duration,
    /// Automatic failback after this long up again; `None`: failback is an operator's command.
    auto_failback: Option<std::time::Duration>,
}

impl FailoverWatch {
    pub fn new(
        devices: Devices,
        commands: Addr<CommandService>,
        alerts: Addr<AlertService>,
        ttl: std::time::Duration,
    ) -> Self {
        FailoverWatch {
            devices,
            commands,
            alerts,
            ttl,
            auto_failback: None,
        }
    }

    /// Fail back automatically once a switched-away primary has been up for `stable_for`.
    pub fn auto_failback(mut self, stable_for: Option<std::time::Duration>) -> Self {
        self.auto_failback = stable_for;
        self
    }

    fn failback(&self, entry: &DeviceEntry, reason: String) {
        let spec = &entry.spec();
        log::info!("failback device={} reason={reason:?}", spec.id);
        self.commands.do_send(Issue {
            device_id: spec.id.to_string(),
            client_id: spec.client_id.to_string(),
            kind: CommandKind::Failback,
            reason: Some(reason),
            ttl: self.ttl,
            by: POLICY_PRINCIPAL.to_owned(),
            idempotency_key: Some(format!("failback:{}:{}", spec.id, entry.state_since())),
            standby_id: spec.standby_id.as_ref().map(ToString::to_string),
        });
    }

    fn alert(&self, device: &str, client: &str, kind: AlertKind, severity: Severity, detail: String) {
        let Some(fence) = self.devices.fence_of(client) else {
            return;
        };
        let subject = Subject {
            kind: SubjectType::Device,
            id: device.to_owned(),
        };
        let intents = vec![Intent::Raise {
            subject,
            kind,
            severity,
            detail: Some(detail),
        }];
        self.alerts.do_send(Record {
            writes: None,
            state: None,
            intents,
            committed: None,
            fence: Some(fence),
        });
    }
}

impl Actor for FailoverWatch {
    type Context = Context<Self>;
}

impl Handler<DeviceChanged> for FailoverWatch {
    type Result = ();
    fn handle(&mut self, msg: DeviceChanged, ctx: &mut Context<Self>) {
        if let Some(wait) = failback_after(
            &msg.entry.spec(),
            msg.entry.active(),
            msg.transition.to,
            self.auto_failback,
        ) {
            let (entry, up_since) = (msg.entry.clone(), msg.transition.at);
            ctx.run_later(wait, move |act, _| {
                if failback_due(entry.active(), entry.state(), entry.state_since(), up_since) {
                    act.failback(
                        &entry,
                        format!("automatic failback: {} up for {} s", entry.spec().id, wait.as_secs()),
                    );
                }
            });
            return;
        }
        if msg.transition.to != DeviceState::Down {
            return;
        }
        let spec = &msg.entry.spec();
        let standby = spec.standby_id.as_ref().and_then(|id| {
            self.devices.get(id.as_str()).map(|e| StandbyView {
                id: id.clone(),
                state: e.state(),
            })
        });
        match on_down(spec, msg.entry.active(), false, standby) {
            OnDown::Nothing => {}
            OnDown::Failed { reason } => {
                log::warn!("failover failed device={} reason={reason:?}", spec.id);
                let (device, client) = (spec.id.as_str(), spec.client_id.as_str());
                self.alert(device, client, AlertKind::FailoverFailed, Severity::Critical, reason);
            }
            OnDown::Switch { standby } => {
                log::warn!(
                    "failover device={} standby={standby} command=switch_to_standby",
                    spec.id
                );
                self.commands.do_send(Issue {
                    device_id: spec.id.to_string(),
                    client_id: spec.client_id.to_string(),
                    kind: CommandKind::SwitchToStandby,
                    reason: Some(format!("automatic failover: {} went down", spec.id)),
                    ttl: self.ttl,
                    by: POLICY_PRINCIPAL.to_owned(),
                    idempotency_key: Some(format!("failover:{}:{}", spec.id, msg.transition.at)),
                    standby_id: Some(standby.to_string()),
                });
            }
        }
    }
}

impl Handler<CommandChanged> for FailoverWatch {
    type Result = ();
    fn handle(&mut self, msg: CommandChanged, ctx: &mut Context<Self>) {
        let c = &msg.command;
        if !c.state.is_final() {
            return;
        }
        match on_command_done(c.kind, c.state, c.detail.as_deref()) {
            OnCommandDone::Nothing => {}
            OnCommandDone::Failed { reason } => {
                self.alert(
                    &c.device_id,
                    &c.client_id,
                    AlertKind::FailoverFailed,
                    Severity::Critical,
                    reason,
                );
            }
            OnCommandDone::Switched { primary_active } => {
                let Some(entry) = self.devices.get(&c.device_id) else {
                    return;
                };
                let standby = entry.spec().standby_id.as_ref().map(ToString::to_string);
                let devices = self.devices.clone();
                let primary = c.device_id.clone();
                let alerts = self.alerts.clone();
                let command_id = c.id;
                let fence = self.devices.fence_of(&c.client_id);
                ctx.spawn(
                    async move {
                        if let Err(e) = devices.set_active(&primary, primary_active).await {
                            log::error!("failover active flag not stored device={primary} error={e}");
                        }
                        if let Some(standby) = &standby {
                            if let Err(e) = devices.set_active(standby, !primary_active).await {
                                log::error!("failover active flag not stored device={standby} error={e}");
                            }
                        }
                        let subject = Subject {
                            kind: SubjectType::Device,
                            id: primary.clone(),
                        };
                        let intent = if primary_active {
                            Intent::Resolve {
                                subject,
                                kind: AlertKind::FailoverExecuted,
                            }
                        } else {
                            Intent::Raise {
                                subject,
                                kind: AlertKind::FailoverExecuted,
                                severity: Severity::Info,
                                detail: Some(format!(
                                    "switched to {} (command {command_id})",
                                    standby.as_deref().unwrap_or("standby")
                                )),
                            }
                        };
                        log::info!("failover executed device={primary} primary_active={primary_active}");
                        if let Some(fence) = fence {
                            alerts.do_send(Record {
                                writes: None,
                                state: None,
                                intents: vec![intent],
                                committed: None,
                                fence: Some(fence),
                            });
                        }
                    }
                    .into_actor(self),
                );
            }
        }
    }
}

/// Starts the watcher and subscribes it to device transitions and command changes.
pub fn start(
    devices: &Devices,
    commands: &Addr<CommandService>,
    alerts: &Addr<AlertService>,
    ttl: std::time::Duration,
    auto_failback: Option<std::time::Duration>,
) -> Addr<FailoverWatch> {
    let watch = FailoverWatch::new(devices.clone(), commands.clone(), alerts.clone(), ttl)
        .auto_failback(auto_failback)
        .start();
    devices.listen(watch.clone().recipient());
    commands.listen(watch.clone().recipient::<CommandChanged>());
    watch
}
