//! Editing and decommissioning a registered device, as plain decisions: what an edit makes of a
//! spec ([`Edit::apply`]), which fields it changed ([`changed`]), and what a node does with a
//! device after the store says how it stands now ([`plan`]). The wiring is in
//! [`super::service`] and [`super::partition`].

use std::time::Duration;

use super::model::DeviceSpec;
use crate::ids::{ClientId, DeviceId};

/// An edit of a device's registered configuration: each field absent is left as it is; for the
/// optional ones, `Some(None)` clears it. Id and kind never change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    pub client_id: Option<ClientId>,
    pub site: Option<Option<String>>,
    pub zone: Option<Option<String>>,
    pub lane: Option<Option<String>>,
    pub standby_id: Option<Option<DeviceId>>,
    pub heartbeat_interval_ms: Option<u64>,
    pub miss_tolerance: Option<u32>,
    pub auto_failover: Option<bool>,
}

impl Edit {
    /// `spec` with this edit made, or why it cannot be (the same rules as a registration).
    pub fn apply(&self, spec: &DeviceSpec) -> Result<DeviceSpec, String> {
        let pick = |edit: &Option<Option<String>>, now: &Option<String>| edit.clone().unwrap_or_else(|| now.clone());
        let edited = DeviceSpec {
            id: spec.id.clone(),
            kind: spec.kind,
            client_id: self.client_id.clone().unwrap_or_else(|| spec.client_id.clone()),
            site: pick(&self.site, &spec.site),
            zone: pick(&self.zone, &spec.zone),
            lane: pick(&self.lane, &spec.lane),
            standby_id: self.standby_id.clone().unwrap_or_else(|| spec.standby_id.clone()),
            heartbeat_interval: self
                .heartbeat_interval_ms
                .map_or(spec.heartbeat_interval, Duration::from_millis),
            miss_tolerance: self.miss_tolerance.unwrap_or(spec.miss_tolerance),
            auto_failover: self.auto_failover.unwrap_or(spec.auto_failover),
        };
        edited.check()?;
        Ok(edited)
    }
}

/// The API names of the fields in which `new` differs from `old`, in a fixed order.
pub fn changed(old: &DeviceSpec, new: &DeviceSpec) -> Vec<&'static str> {
    let fields = [
        ("client_id", old.client_id != new.client_id),
        ("site", old.site != new.site),
        ("zone", old.zone != new.zone),
        ("lane", old.lane != new.lane),
        ("standby_id", old.standby_id != new.standby_id),
        (
            "heartbeat_interval_ms",
            old.heartbeat_interval != new.heartbeat_interval,
        ),
        ("miss_tolerance", old.miss_tolerance != new.miss_tolerance),
        ("auto_failover", old.auto_failover != new.auto_failover),
    ];
    fields.into_iter().filter(|(_, c)| *c).map(|(name, _)| name).collect()
}

/// How the store has a device now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// No row (or an unreadable one).
    Absent,
    Decommissioned,
    InService(DeviceSpec),
}

/// What this node knows of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub spec: DeviceSpec,
    /// Its actor runs here.
    pub running: bool,
    /// Its supervisor gave up on it: only an operator's restart starts it.
    pub quarantined: bool,
}

/// What a node does to bring its view of one device in line with the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Keep,
    /// A device this node did not know: it joins the registry, and its actor starts here when
    /// `start`.
    Adopt { start: bool },
    /// Out of service: the actor (if `running` here) stops on purpose and the device leaves the
    /// registry; `resolve` says this node owns it, so it resolves the device's open alerts.
    Retire { running: bool, resolve: bool },
    /// The spec changed: the entry takes it, then the actor is told (`reconfigure`), stopped
    /// (`stop`: its new gate PC's partition is owned elsewhere) or started (`start`: now owned
    /// here). `moved`: its gate PC changed, so its reachability is its new client's.
    Apply {
        reconfigure: bool,
        stop: bool,
        start: bool,
        moved: bool,
    },
}

/// The step for one device: `known` to this node, `stored` as read now, and whether this node
/// owns the partition of the stored spec's client (`owned`).
pub fn plan(known: Option<&Known>, stored: &Stored, owned: impl Fn(&ClientId) -> bool) -> Step {
    match (known, stored) {
        (None, Stored::Absent | Stored::Decommissioned) => Step::Keep,
        (None, Stored::InService(spec)) => Step::Adopt {
            start: owned(&spec.client_id),
        },
        (Some(known), Stored::Absent | Stored::Decommissioned) => Step::Retire {
            running: known.running,
            resolve: owned(&known.spec.client_id),
        },
        (Some(known), Stored::InService(spec)) => {
            let owned_now = owned(&spec.client_id);
            let step = Step::Apply {
                reconfigure: known.running && owned_now && *spec != known.spec,
                stop: known.running && !owned_now,
                start: !known.running && owned_now && !known.quarantined,
                moved: spec.client_id != known.spec.client_id,
            };
            let nothing = Step::Apply {
                reconfigure: false,
                stop: false,
                start: false,
                moved: false,
            };
            if step == nothing && *spec == known.spec {
                Step::Keep
            } else {
                step
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::model::DeviceKind;

    fn spec() -> DeviceSpec {
        DeviceSpec {
            id: "cam-1".parse().unwrap(),
            kind: DeviceKind::LprCamera,
            client_id: "pc-1".parse().unwrap(),
            site: Some("T1".into()),
            zone: None,
            lane: Some("3".into()),
            standby_id: Some("cam-2".parse().unwrap()),
            heartbeat_interval: Duration::from_secs(5),
            miss_tolerance: 3,
            auto_failover: false,
        }
    }

    fn known(spec: DeviceSpec, running: bool) -> Known {
        Known {
            spec,
            running,
            quarantined: false,
        }
    }

    #[test]
    fn an_edit_changes_what_it_names_and_keeps_the_rest() {
        let edit = Edit {
            heartbeat_interval_ms: Some(1_000),
            standby_id: Some(None),
            zone: Some(Some("B".into())),
            ..Edit::default()
        };
        let old = spec();
        let new = edit.apply(&old).unwrap();
        assert_eq!(new.heartbeat_interval, Duration::from_secs(1));
        assert_eq!(new.standby_id, None, "Some(None) clears");
        assert_eq!(new.zone.as_deref(), Some("B"));
        assert_eq!((new.site.as_deref(), new.lane.as_deref()), (Some("T1"), Some("3")));
        assert_eq!(changed(&old, &new), ["zone", "standby_id", "heartbeat_interval_ms"]);
        assert!(changed(&old, &Edit::default().apply(&old).unwrap()).is_empty());
    }

    #[test]
    fn an_edit_is_held_to_the_registration_rules() {
        let too_fast = Edit {
            heartbeat_interval_ms: Some(10),
            ..Edit::default()
        };
        assert!(too_fast.apply(&spec()).unwrap_err().contains("heartbeat_interval_ms"));
        let own_standby = Edit {
            standby_id: Some(Some("cam-1".parse().unwrap())),
            ..Edit::default()
        };
        assert!(own_standby.apply(&spec()).unwrap_err().contains("own standby"));
        let no_tolerance = Edit {
            miss_tolerance: Some(0),
            ..Edit::default()
        };
        assert!(no_tolerance.apply(&spec()).is_err());
    }

    #[test]
    fn a_changed_spec_reconfigures_the_running_actor_in_place() {
        let mut new = spec();
        new.heartbeat_interval = Duration::from_secs(1);
        let step = plan(Some(&known(spec(), true)), &Stored::InService(new), |_| true);
        assert_eq!(
            step,
            Step::Apply {
                reconfigure: true,
                stop: false,
                start: false,
                moved: false
            }
        );
        let same = plan(Some(&known(spec(), true)), &Stored::InService(spec()), |_| true);
        assert_eq!(same, Step::Keep, "a repeated announcement changes nothing");
    }

    #[test]
    fn a_device_moved_to_a_gate_pc_owned_elsewhere_stops_here_and_starts_there() {
        let mut moved = spec();
        moved.client_id = "pc-9".parse().unwrap();
        let here_only_pc_1 = |c: &ClientId| c.as_str() == "pc-1";
        let old_owner = plan(
            Some(&known(spec(), true)),
            &Stored::InService(moved.clone()),
            here_only_pc_1,
        );
        assert_eq!(
            old_owner,
            Step::Apply {
                reconfigure: false,
                stop: true,
                start: false,
                moved: true
            }
        );
        let new_owner = plan(Some(&known(spec(), false)), &Stored::InService(moved), |c| {
            c.as_str() == "pc-9"
        });
        assert_eq!(
            new_owner,
            Step::Apply {
                reconfigure: false,
                stop: false,
                start: true,
                moved: true
            }
        );
    }

    #[test]
    fn a_quarantined_device_is_edited_but_not_started() {
        let mut q = known(spec(), false);
        q.quarantined = true;
        let mut new = spec();
        new.miss_tolerance = 5;
        assert_eq!(
            plan(Some(&q), &Stored::InService(new), |_| true),
            Step::Apply {
                reconfigure: false,
                stop: false,
                start: false,
                moved: false
            }
        );
    }

    #[test]
    fn decommissioned_devices_retire_and_only_the_owner_resolves_their_alerts() {
        let owner = plan(Some(&known(spec(), true)), &Stored::Decommissioned, |_| true);
        assert_eq!(
            owner,
            Step::Retire {
                running: true,
                resolve: true
            }
        );
        let other = plan(Some(&known(spec(), false)), &Stored::Decommissioned, |_| false);
        assert_eq!(
            other,
            Step::Retire {
                running: false,
                resolve: false
            }
        );
        assert_eq!(plan(None, &Stored::Decommissioned, |_| true), Step::Keep);
        assert_eq!(
            plan(None, &Stored::InService(spec()), |_| false),
            Step::Adopt { start: false }
        );
    }
}
