//! The multi-row writes an alert storm goes through (`alerts::save_all`,
//! `transitions::record_all`), on both backends: what one batched transaction stores must be
//! what the same changes stored one statement at a time would have left.

use kwanje::store::models::alerts::{self, Alert};
use kwanje::store::models::transitions::{self, StateChange, Transition};
use kwanje::store::models::{clients, devices};
use kwanje::store::Store;

use crate::support::{backends, Backend};

fn store(backend: Backend, dir: &tempfile::TempDir) -> Store {
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("t.db").display()),
        Backend::Postgres => crate::support::fresh_pg_schema(&crate::support::pg_url().unwrap()),
    };
    let store = Store::open(&url).unwrap();
    store.migrate().unwrap();
    store
}

fn alert(id: i64, subject: &str, state: &str, version: i32) -> Alert {
    Alert {
        id,
        subject_type: "device".into(),
        subject_id: subject.into(),
        kind: "heartbeat_missed".into(),
        severity: "major".into(),
        state: state.into(),
        count: version,
        detail: None,
        opened_ms: 1_000,
        updated_ms: 1_000 + i64::from(version),
        acked_by: (state == "acknowledged").then(|| "op".into()),
        acked_ms: (state == "acknowledged").then_some(2_000),
        ack_note: None,
        resolved_by: (state == "resolved").then(|| "system".into()),
        resolved_ms: (state == "resolved").then_some(3_000),
        suppressed_by: None,
        version,
        notified_ms: Some(1_000),
    }
}

/// A storm's batch holds an alert more than once (raised, then acknowledged), and an alert
/// resolved before a new one opens on the same subject: the rows stored are each alert's last
/// form, the one-open index holds, and 1,500 alerts (two statements' worth) all land. Writing the
/// batch again changes nothing.
#[test]
fn an_alert_storm_batch_stores_each_alert_in_its_last_form() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(backend, &dir);
        let old = alert(1, "cam-0", "open", 1);
        let first = old.clone();
        store.write_blocking(move |c| alerts::save(c, &first)).unwrap();

        let mut batch = vec![
            alert(1, "cam-0", "resolved", 2),
            alert(2, "cam-0", "open", 1),
            alert(2, "cam-0", "acknowledged", 2),
        ];
        batch.extend((0..1_500).map(|i| alert(100 + i, &format!("cam-{}", i + 1), "open", 1)));
        batch.push(alert(100, "cam-1", "resolved", 2));
        for _ in 0..2 {
            let batch = batch.clone();
            store.write_blocking(move |c| alerts::save_all(c, &batch)).unwrap();
        }
        let (one, two, first_of_storm, unresolved) = store
            .read_blocking(|c| {
                Ok((
                    alerts::find(c, 1)?,
                    alerts::find(c, 2)?,
                    alerts::find(c, 100)?,
                    alerts::unresolved(c)?,
                ))
            })
            .unwrap();
        assert_eq!(one, Some(alert(1, "cam-0", "resolved", 2)), "{backend:?}");
        assert_eq!(two, Some(alert(2, "cam-0", "acknowledged", 2)), "{backend:?}");
        assert_eq!(first_of_storm, Some(alert(100, "cam-1", "resolved", 2)), "{backend:?}");
        assert_eq!(unresolved.len(), 1 + 1_499, "{backend:?}");
    }
}

/// A zone losing power and coming back inside one batch: every transition is stored, in order,
/// and each device's row holds the state its last change left; writing the batch again (a retry
/// after a cut) stores no transition twice.
#[test]
fn a_batch_of_state_changes_keeps_every_transition_and_each_devices_last_state() {
    let change = |id: i64, device: &str, from: &str, to: &str, at: i64| StateChange {
        transition: Transition {
            id,
            device_id: device.into(),
            from_state: from.into(),
            to_state: to.into(),
            reason: "test".into(),
            at_ms: at,
        },
        last_seen_ms: Some(at - 10),
    };
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(backend, &dir);
        store
            .write_blocking(|c| {
                clients::insert(
                    c,
                    &clients::Client {
                        id: "pc-1".into(),
                        name: "pc-1".into(),
                        site: None,
                        created_ms: 0,
                        decommissioned_ms: None,
                    },
                )?;
                for i in 0..1_200 {
                    devices::insert(
                        c,
                        &devices::Device::registered(&format!("d{i}"), "camera", "pc-1", 1_000, 3, 0),
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let mut batch: Vec<StateChange> = (0..1_200)
            .map(|i| change(10 + i, &format!("d{i}"), "up", "down", 5_000))
            .collect();
        batch.push(change(5_000, "d0", "down", "up", 6_000));
        for _ in 0..2 {
            let batch = batch.clone();
            store
                .write_blocking(move |c| transitions::record_all(c, &batch))
                .unwrap();
        }
        let (d0, last, history) = store
            .read_blocking(|c| {
                Ok((
                    devices::find(c, "d0")?.unwrap(),
                    devices::find(c, "d1199")?.unwrap(),
                    transitions::recent(c, "d0", 10)?,
                ))
            })
            .unwrap();
        assert_eq!(
            (d0.state.as_str(), d0.state_since_ms, d0.last_seen_ms),
            ("up", 6_000, Some(5_990)),
            "{backend:?}"
        );
        assert_eq!(
            (last.state.as_str(), last.state_since_ms),
            ("down", 5_000),
            "{backend:?}"
        );
        let mut ids: Vec<i64> = history.iter().map(|t| t.id).collect();
        ids.sort();
        assert_eq!(ids, vec![10, 5_000], "{backend:?}: both of d0's transitions, once each");
    }
}
