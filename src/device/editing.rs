//! Edits and decommissioning, wired: the store is written first (with its audit entry), then
//! this node brings its view of the device in line with the store ([`Devices::reconcile`],
//! deciding by [`super::edit::plan`]). In a cluster every other node is told the device's id
//! and reconciles too, so the node that runs the device's actor applies the change there.

use std::sync::Arc;

use super::edit::{self, Edit, Known, Step, Stored};
use super::messages::{Reconfigure, SetClientConnected, Stop};
use super::model::DeviceState;
use super::registry::Device;
use super::service::{device_from_row, spec_change, spec_from_row, DeviceError, Devices};
use crate::alert::messages::OpenAlertsOf;
use crate::alert::{Intent, Record, Subject, SubjectType};
use crate::store::models::{audit, clients, devices};
use crate::supervision::StartChild;

/// A device edited: its entry as it is now and the fields that changed.
#[derive(Debug)]
pub struct Edited {
    pub device: Arc<Device>,
    pub changed: Vec<&'static str>,
}

/// A device decommissioned, and how many of its open alerts this node resolved.
#[derive(Debug, Clone, Copy)]
pub struct Decommissioned {
    pub at_ms: i64,
    pub alerts_resolved: usize,
}

impl Devices {
    /// Edits device `id` on behalf of `by`: checked as a registration is, stored with an audit
    /// entry naming the changed fields, then taken by the entry and its running actor (a new
    /// deadline window without a restart; a move to a gate PC whose partition another node
    /// owns stops it here, and its new owner starts it).
    pub async fn edit(&self, id: &str, change: Edit, by: &str) -> Result<Edited, DeviceError> {
        if self.get(id).is_none() {
            return Err(DeviceError::NotFound(id.to_owned()));
        }
        let now = self.now();
        let mut entry = audit::AuditEntry {
            id: self.shared().ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: "device.update".into(),
            target: format!("device:{id}"),
            detail: None,
        };
        let key = id.to_owned();
        // Read, edited and written in one transaction (the row locked on PostgreSQL), so two
        // edits at once both count: each applies to what the other committed.
        let outcome = self
            .store()
            .write(move |conn| {
                let current = match devices::find_for_update(conn, &key)? {
                    Some(row) if row.decommissioned_ms.is_none() => spec_from_row(&row),
                    _ => return Ok(Err(DeviceError::NotFound(key.clone()))),
                };
                let Some(current) = current else {
                    return Ok(Err(DeviceError::Invalid(format!(
                        "device {key}'s stored row is unreadable"
                    ))));
                };
                let new = match change.apply(&current) {
                    Ok(new) => new,
                    Err(e) => return Ok(Err(DeviceError::Invalid(e))),
                };
                let changed = edit::changed(&current, &new);
                if changed.is_empty() {
                    return Ok(Ok((new, changed)));
                }
                if clients::find(conn, new.client_id.as_str())?.is_none() {
                    return Ok(Err(DeviceError::UnknownClient(new.client_id.to_string())));
                }
                devices::set_spec(conn, &key, &spec_change(&new))?;
                entry.detail = Some(changed.join(","));
                audit::insert(conn, &entry)?;
                Ok(Ok((new, changed)))
            })
            .await?;
        let (new, changed) = outcome?;
        if !changed.is_empty() {
            log::info!("device edited id={id} by={by} changed={}", changed.join(","));
            // What was committed, not what this request guessed.
            self.reconcile_to(id, Stored::InService(new)).await;
        }
        let device = self.get(id).ok_or_else(|| DeviceError::NotFound(id.to_owned()))?;
        Ok(Edited { device, changed })
    }

    /// Takes device `id` out of service on behalf of `by`: stored (the row and its history
    /// stay) with an audit entry, then its actor is stopped on purpose, it leaves the registry,
    /// and its open alerts are resolved by `by` with `why` (here when this node owns it; in a
    /// cluster otherwise by its owner, once told).
    pub async fn decommission(&self, id: &str, by: &str, why: &str) -> Result<Decommissioned, DeviceError> {
        if self.get(id).is_none() {
            return Err(DeviceError::NotFound(id.to_owned()));
        }
        let now = self.now();
        let entry = audit::AuditEntry {
            id: self.shared().ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: "device.decommission".into(),
            target: format!("device:{id}"),
            detail: Some(why.to_owned()),
        };
        let key = id.to_owned();
        let done = self
            .store()
            .write(move |conn| {
                // A device another names as its standby stays: its failover would have nowhere
                // to go, and the site's sheet would no longer import.
                let standing_in = devices::standing_in_for(conn, &key)?;
                if !standing_in.is_empty() {
                    return Ok(Err(DeviceError::InUse(format!(
                        "device {key} is the standby of {}: give them another standby first (PATCH with standby_id)",
                        standing_in.join(", ")
                    ))));
                }
                if !devices::decommission(conn, &key, now.0)? {
                    return Ok(Err(DeviceError::NotFound(key.clone())));
                }
                audit::insert(conn, &entry)?;
                Ok(Ok(()))
            })
            .await?;
        done?;
        log::info!("device decommissioned id={id} by={by}");
        let alerts_resolved = self.retire(id, by, why).await;
        Ok(Decommissioned {
            at_ms: now.0,
            alerts_resolved,
        })
    }

    /// Brings this node's view of device `id` in line with the store (another node edited,
    /// registered or decommissioned it). Answers whether its actor started here.
    pub async fn reconcile(&self, id: String) -> bool {
        let store = self.store().clone();
        let key = id.clone();
        let read = tokio::task::spawn_blocking(move || {
            store.read_blocking(move |conn| {
                let row = devices::find(conn, &key)?;
                // Who took it out of service and why: its open alerts are resolved with that.
                let retired = match &row {
                    Some(r) if r.decommissioned_ms.is_some() => audit::for_target(conn, &format!("device:{key}"))?
                        .into_iter()
                        .rev()
                        .find(|e| e.action == "device.decommission"),
                    _ => None,
                };
                Ok((row, retired))
            })
        })
        .await;
        let (row, retired) = match read
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            Ok(read) => read,
            Err(e) => {
                log::warn!("device announced, unread id={id} error={e}");
                return false;
            }
        };
        let Some(row) = row else {
            log::warn!("device announced but not stored id={id}");
            return false;
        };
        if row.decommissioned_ms.is_some() {
            let (by, why) = retired.map_or_else(
                || ("system".to_owned(), "device decommissioned".to_owned()),
                |e| (e.principal, e.detail.unwrap_or_else(|| "device decommissioned".into())),
            );
            self.retire(&id, &by, &why).await;
            return false;
        }
        if self.get(&id).is_none() {
            return self.adopt(&row);
        }
        match spec_from_row(&row) {
            Some(spec) => self.reconcile_to(&id, Stored::InService(spec)).await,
            None => {
                log::error!("device row unreadable id={id} skipped");
                false
            }
        }
    }

    /// Devices a provisioning sheet's transaction stored: `created` join the registry (and
    /// start where owned), `updated` are applied as an edit is.
    pub async fn provisioned(&self, created: &[devices::Device], updated: Vec<super::model::DeviceSpec>) {
        for row in created {
            self.adopt(row);
        }
        for spec in updated {
            let id = spec.id.to_string();
            self.reconcile_to(&id, Stored::InService(spec)).await;
        }
    }

    /// What this node knows of `device`, as [`edit::plan`] reads it.
    fn known(device: &Device) -> Known {
        Known {
            spec: device.spec().as_ref().clone(),
            running: device.slot.addr().is_some(),
            quarantined: device.state() == DeviceState::Quarantined,
        }
    }

    fn owns(&self, client: &crate::ids::ClientId) -> bool {
        self.ownership().fence_for(client.as_str()).is_some()
    }

    /// Applies a spec the store holds now to the known device `id`. Answers whether its actor
    /// started here.
    async fn reconcile_to(&self, id: &str, stored: Stored) -> bool {
        let Some(device) = self.get(id) else {
            return false;
        };
        let step = edit::plan(Some(&Self::known(&device)), &stored, |c| self.owns(c));
        let Stored::InService(spec) = stored else {
            return false;
        };
        let Step::Apply {
            reconfigure,
            stop,
            start,
            moved,
        } = step
        else {
            return false;
        };
        device.entry.set_spec(spec);
        if let Some(addr) = device.slot.addr() {
            if stop {
                let _ = addr.send(Stop).await;
            } else {
                if moved {
                    // Out of its old gate PC's reach: reachable until its new gate PC's next
                    // disconnect says otherwise (silent meanwhile, it is down on its deadline).
                    addr.do_send(SetClientConnected { connected: true });
                }
                if reconfigure {
                    addr.do_send(Reconfigure);
                }
            }
        }
        if start {
            self.supervisor().do_send(StartChild {
                id: device.spec().id.clone(),
                reset: false,
            });
        }
        log::info!("device reconciled id={id} reconfigured={reconfigure} stopped={stop} started={start} moved={moved}");
        start
    }

    /// A device this node did not know joins its registry, and starts here when this node owns
    /// its client's partition. Answers whether it started.
    fn adopt(&self, row: &devices::Device) -> bool {
        let Some(device) = device_from_row(row) else {
            log::error!("device row unreadable id={} skipped", row.id);
            return false;
        };
        let owned = self.owns(&device.spec().client_id);
        let spec_id = device.spec().id.clone();
        if !self.registry().insert(Arc::new(device)) || !owned {
            return false;
        }
        self.supervisor().do_send(StartChild {
            id: spec_id,
            // New here: no restart history (a decommissioned device of this id may have left one).
            reset: true,
        });
        log::info!("device adopted id={} client={} started=true", row.id, row.client_id);
        true
    }

    /// Device `id` is out of service: its actor stops on purpose, it leaves the registry, and
    /// when this node owns it its open alerts are resolved by `by` with `why`. Answers how
    /// many alerts were resolved here.
    async fn retire(&self, id: &str, by: &str, why: &str) -> usize {
        let Some(device) = self.get(id) else {
            return 0;
        };
        let step = edit::plan(Some(&Self::known(&device)), &Stored::Decommissioned, |c| self.owns(c));
        let Step::Retire { running, resolve } = step else {
            return 0;
        };
        // Out of the registry first: a restart after a crash, or any start, finds nothing to
        // start from now on.
        self.registry().remove(id);
        if running {
            if let Some(addr) = device.slot.addr() {
                // Waited for, so no transition of it is recorded after its alerts are resolved.
                let _ = addr.send(Stop).await;
            }
        }
        if !resolve {
            return 0;
        }
        let subject = Subject {
            kind: SubjectType::Device,
            id: id.to_owned(),
        };
        let open = match self
            .shared()
            .alerts
            .send(OpenAlertsOf {
                subject: subject.clone(),
            })
            .await
        {
            Ok(open) => open,
            Err(e) => {
                log::warn!("decommissioned device's alerts unread id={id} error={e}");
                return 0;
            }
        };
        let intents: Vec<Intent> = open
            .iter()
            .map(|alert| Intent::Retire {
                subject: subject.clone(),
                kind: alert.kind,
                by: by.to_owned(),
                why: why.to_owned(),
            })
            .collect();
        let count = intents.len();
        if count > 0 {
            if let Some(fence) = self.fence_of(device.spec().client_id.as_str()) {
                self.shared().alerts.do_send(Record {
                    writes: None,
                    state: None,
                    intents,
                    committed: None,
                    fence: Some(fence),
                });
            }
        }
        log::info!("device retired id={id} alerts_resolved={count}");
        count
    }
}
