//! The failover policy: what follows a device going down, and a switch command's outcome. Pure.
//!
//! | when                                            | then                                          |
//! |-------------------------------------------------|-----------------------------------------------|
//! | down, `auto_failover` off                       | nothing (an operator may switch by command)   |
//! | down, already switched away (not `active`)      | nothing: the standby is doing its work        |
//! | down, in maintenance                            | nothing (maintenance silences it)             |
//! | down, no standby registered                     | `failover_failed` (critical)                  |
//! | down, standby not up                            | `failover_failed` (critical)                  |
//! | down, standby up and active-capable             | `switch_to_standby` command to the client     |
//! | `switch_to_standby` acked                       | primary inactive, standby active, `failover_executed` (info) |
//! | `switch_to_standby` failed, timed out, expired  | `failover_failed` (critical)                  |
//! | `failback` acked                                | primary active, standby inactive, `failover_executed` resolved |
//! | primary up again while switched away, `auto_failover`, and automatic failback configured | after it has stayed up for the stable period: `failback` command |

use super::model::{DeviceSpec, DeviceState};
use crate::command::{CommandKind, CommandState};
use crate::ids::DeviceId;

/// What is known of a device's standby when the policy decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandbyView {
    pub id: DeviceId,
    pub state: DeviceState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnDown {
    Nothing,
    /// Tell the client to switch the device's work to `standby`.
    Switch {
        standby: DeviceId,
    },
    /// A failover was due and cannot happen.
    Failed {
        reason: String,
    },
}

/// The decision when `device` goes down. `standby` is `None` when its standby is not registered.
pub fn on_down(device: &DeviceSpec, active: bool, in_maintenance: bool, standby: Option<StandbyView>) -> OnDown {
    if !device.auto_failover || !active || in_maintenance {
        return OnDown::Nothing;
    }
    let Some(wanted) = &device.standby_id else {
        return OnDown::Failed {
            reason: "no standby is registered for this device".into(),
        };
    };
    match standby {
        None => OnDown::Failed {
            reason: format!("standby {wanted} is not registered"),
        },
        Some(s) if s.state != DeviceState::Up => OnDown::Failed {
            reason: format!("standby {} is {}, not up", s.id, s.state),
        },
        Some(s) => OnDown::Switch { standby: s.id },
    }
}

/// When a switched-away primary that came back up should get an automatic `failback`: after
/// `stable_for` of staying up, if the policy has automatic failback on (`Some`).
pub fn failback_after(
    device: &DeviceSpec,
    active: bool,
    now_state: DeviceState,
    stable_for: Option<std::time::Duration>,
) -> Option<std::time::Duration> {
    if !device.auto_failover || active || now_state != DeviceState::Up || device.standby_id.is_none() {
        return None;
    }
    stable_for
}

/// At the end of the stable period: fail back only if it is still up, still switched away, and
/// has not changed state since the period began (`up_since`).
pub fn failback_due(
    active: bool,
    state: DeviceState,
    state_since: crate::time::Millis,
    up_since: crate::time::Millis,
) -> bool {
    !active && state == DeviceState::Up && state_since == up_since
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnCommandDone {
    Nothing,
    /// The client switched: the primary is (`primary_active`) and the standby is the opposite.
    Switched {
        primary_active: bool,
    },
    /// The switch did not happen.
    Failed {
        reason: String,
    },
}

/// The decision when a command reached a final state.
pub fn on_command_done(kind: CommandKind, state: CommandState, detail: Option<&str>) -> OnCommandDone {
    match (kind, state) {
        (CommandKind::SwitchToStandby, CommandState::Acked) => OnCommandDone::Switched { primary_active: false },
        (CommandKind::Failback, CommandState::Acked) => OnCommandDone::Switched { primary_active: true },
        (CommandKind::SwitchToStandby, CommandState::Failed | CommandState::TimedOut | CommandState::Expired) => {
            OnCommandDone::Failed {
                reason: format!(
                    "switch_to_standby {}: {}",
                    state.as_str(),
                    detail.unwrap_or("no detail")
                ),
            }
        }
        _ => OnCommandDone::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::device::model::DeviceKind;

    fn spec(auto: bool, standby: Option<&str>) -> DeviceSpec {
        DeviceSpec {
            id: "lpr-1".parse().unwrap(),
            kind: DeviceKind::LprCamera,
            client_id: "pc-1".parse().unwrap(),
            site: None,
            zone: None,
            lane: None,
            standby_id: standby.map(|s| s.parse().unwrap()),
            heartbeat_interval: Duration::from_secs(5),
            miss_tolerance: 3,
            auto_failover: auto,
        }
    }

    fn standby(state: DeviceState) -> Option<StandbyView> {
        Some(StandbyView {
            id: "lpr-2".parse().unwrap(),
            state,
        })
    }

    #[test]
    fn the_down_table_holds() {
        assert_eq!(
            on_down(&spec(false, Some("lpr-2")), true, false, standby(DeviceState::Up)),
            OnDown::Nothing
        );
        assert_eq!(
            on_down(&spec(true, Some("lpr-2")), false, false, standby(DeviceState::Up)),
            OnDown::Nothing
        );
        assert_eq!(
            on_down(&spec(true, Some("lpr-2")), true, true, standby(DeviceState::Up)),
            OnDown::Nothing
        );
        assert!(matches!(
            on_down(&spec(true, None), true, false, None),
            OnDown::Failed { .. }
        ));
        assert!(matches!(
            on_down(&spec(true, Some("lpr-2")), true, false, None),
            OnDown::Failed { .. }
        ));
        for state in [
            DeviceState::Down,
            DeviceState::Unknown,
            DeviceState::Quarantined,
            DeviceState::Flapping,
        ] {
            let d = on_down(&spec(true, Some("lpr-2")), true, false, standby(state));
            assert!(
                matches!(&d, OnDown::Failed { reason } if reason.contains(state.as_str())),
                "{d:?}"
            );
        }
        assert_eq!(
            on_down(&spec(true, Some("lpr-2")), true, false, standby(DeviceState::Up)),
            OnDown::Switch {
                standby: "lpr-2".parse().unwrap()
            }
        );
    }

    #[test]
    fn automatic_failback_waits_for_a_stable_primary_when_configured() {
        use crate::time::Millis;
        let stable = Some(Duration::from_secs(300));
        let s = spec(true, Some("lpr-2"));
        assert_eq!(failback_after(&s, false, DeviceState::Up, stable), stable);
        assert_eq!(
            failback_after(&s, false, DeviceState::Up, None),
            None,
            "off unless configured"
        );
        assert_eq!(
            failback_after(&s, true, DeviceState::Up, stable),
            None,
            "not switched away"
        );
        assert_eq!(failback_after(&s, false, DeviceState::Down, stable), None);
        assert_eq!(
            failback_after(&spec(false, Some("lpr-2")), false, DeviceState::Up, stable),
            None
        );
        assert!(failback_due(false, DeviceState::Up, Millis(10), Millis(10)));
        assert!(
            !failback_due(false, DeviceState::Up, Millis(20), Millis(10)),
            "it went down and up again meanwhile"
        );
        assert!(
            !failback_due(true, DeviceState::Up, Millis(10), Millis(10)),
            "an operator failed back already"
        );
        assert!(!failback_due(false, DeviceState::Down, Millis(10), Millis(10)));
    }

    #[test]
    fn the_command_table_holds() {
        use CommandKind::*;
        use CommandState::*;
        assert_eq!(
            on_command_done(SwitchToStandby, Acked, None),
            OnCommandDone::Switched { primary_active: false }
        );
        assert_eq!(
            on_command_done(Failback, Acked, None),
            OnCommandDone::Switched { primary_active: true }
        );
        for state in [Failed, TimedOut, Expired] {
            assert!(matches!(
                on_command_done(SwitchToStandby, state, None),
                OnCommandDone::Failed { .. }
            ));
        }
        assert_eq!(on_command_done(Failback, TimedOut, None), OnCommandDone::Nothing);
        assert_eq!(on_command_done(Restart, Acked, None), OnCommandDone::Nothing);
        assert_eq!(
            on_command_done(SwitchToStandby, Delivered, None),
            OnCommandDone::Nothing
        );
    }
}
