//! The device service: registration, boot from the store, and the calls the edges make
//! (heartbeats, maintenance, fault injection). A cheap-to-clone handle, not an actor: the
//! decisions live in the device actors and their lifecycle cores.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use thiserror::Error;

use super::actor::{DeviceActor, DeviceShared};
use super::entry::{DeviceEntry, Snapshot};
use super::messages::{Crash, DeviceChanged, Heartbeat, SetClientConnected, SetMaintenance, Stop};
use super::model::{DeviceKind, DeviceSpec, DeviceState, HeartbeatStatus};
use super::registry::{Device, DeviceFilter, Registry};
use super::supervise::DeviceFactory;
use crate::alert::{AlertKind, Intent, Record, Severity, Subject, SubjectType};
use crate::ids::{ClientId, DeviceId};
use crate::listen::Tells;
use crate::ownership::Ownership;
use crate::store::models::{audit, clients, devices};
use crate::store::{Store, StoreError};
use crate::supervision::{RestartPolicy, StartChild, Supervisor};
use crate::time::Millis;

/// How long an edge waits for a device actor to answer.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum DeviceError {
    #[error("device {0} is not registered")]
    NotFound(String),
    #[error("device {0} is already registered")]
    Exists(String),
    #[error("client {0} is not registered")]
    UnknownClient(String),
    #[error("{0}")]
    Invalid(String),
    #[error("device {0} is quarantined after repeated crashes; restart it with a `restart` command")]
    Quarantined(String),
    #[error("device {0} is restarting; retry shortly")]
    Restarting(String),
    /// Another part of the site depends on it (as its standby).
    #[error("{0}")]
    InUse(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A registration as the API receives it, before validation.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: DeviceId,
    pub kind: DeviceKind,
    pub client_id: ClientId,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub lane: Option<String>,
    pub standby_id: Option<DeviceId>,
    pub heartbeat_interval_ms: Option<u64>,
    pub miss_tolerance: Option<u32>,
    pub auto_failover: Option<bool>,
}

impl Registration {
    /// The spec this registration asks for, or why it cannot be had.
    pub fn into_spec(self) -> Result<DeviceSpec, DeviceError> {
        let (default_interval, default_tolerance) = self.kind.default_deadline();
        let spec = DeviceSpec {
            id: self.id,
            kind: self.kind,
            client_id: self.client_id,
            site: self.site,
            zone: self.zone,
            lane: self.lane,
            standby_id: self.standby_id,
            heartbeat_interval: self
                .heartbeat_interval_ms
                .map_or(default_interval, Duration::from_millis),
            miss_tolerance: self.miss_tolerance.unwrap_or(default_tolerance),
            auto_failover: self.auto_failover.unwrap_or(false),
        };
        spec.check().map_err(DeviceError::Invalid)?;
        Ok(spec)
    }
}

pub fn spec_from_row(row: &devices::Device) -> Option<DeviceSpec> {
    Some(DeviceSpec {
        id: row.id.parse().ok()?,
        kind: row.kind.parse().ok()?,
        client_id: row.client_id.parse().ok()?,
        site: row.site.clone(),
        zone: row.zone.clone(),
        lane: row.lane.clone(),
        standby_id: row.standby_id.as_deref().and_then(|s| s.parse().ok()),
        heartbeat_interval: Duration::from_millis(u64::try_from(row.heartbeat_interval_ms).ok()?),
        miss_tolerance: u32::try_from(row.miss_tolerance).ok()?,
        auto_failover: row.auto_failover,
    })
}

/// The stored row of a device registered as `spec` at `now`: state `unknown`, never seen.
pub fn row_of(spec: &DeviceSpec, now: Millis) -> devices::Device {
    let mut row = devices::Device::registered(
        spec.id.as_str(),
        spec.kind.as_str(),
        spec.client_id.as_str(),
        0,
        0,
        now.0,
    );
    let config = spec_change(spec);
    row.site = config.site;
    row.zone = config.zone;
    row.lane = config.lane;
    row.standby_id = config.standby_id;
    row.heartbeat_interval_ms = config.heartbeat_interval_ms;
    row.miss_tolerance = config.miss_tolerance;
    row.auto_failover = config.auto_failover;
    row
}

/// The stored configuration of `spec` (what an edit writes).
pub fn spec_change(spec: &DeviceSpec) -> devices::SpecChange {
    devices::SpecChange {
        client_id: spec.client_id.to_string(),
        site: spec.site.clone(),
        zone: spec.zone.clone(),
        lane: spec.lane.clone(),
        standby_id: spec.standby_id.as_ref().map(ToString::to_string),
        heartbeat_interval_ms: i64::try_from(spec.heartbeat_interval.as_millis()).unwrap_or(i64::MAX),
        miss_tolerance: i32::try_from(spec.miss_tolerance).unwrap_or(i32::MAX),
        auto_failover: spec.auto_failover,
    }
}

pub(super) fn device_from_row(row: &devices::Device) -> Option<Device> {
    let spec = spec_from_row(row)?;
    let stored = Snapshot {
        state: row.state.parse().ok()?,
        since: Millis(row.state_since_ms),
        last_seen: row.last_seen_ms.map(Millis),
    };
    Some(Device::new(
        DeviceEntry::new(spec, stored, row.active),
        u32::try_from(row.restarts).unwrap_or(0),
    ))
}

#[derive(Clone)]
pub struct Devices {
    registry: Arc<Registry>,
    supervisor: Addr<Supervisor<DeviceFactory>>,
    shared: Arc<DeviceShared>,
    store: Store,
    /// Whether this node runs a device's actor (its client's partition is owned here).
    ownership: Ownership,
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devices")
            .field("devices", &self.registry.len())
            .finish()
    }
}

/// Every stored device transition.
impl Tells<DeviceChanged> for Devices {
    fn listen(&self, listener: Recipient<DeviceChanged>) {
        self.shared.listen(listener);
    }
}

impl Devices {
    /// Starts an actor for each registered device (`rows`, read from the store off the arbiter
    /// threads by the caller) that is not quarantined and whose partition `ownership` says this
    /// node owns. Must run on an arbiter: the supervisor
    /// starts there.
    pub fn start(
        store: Store,
        rows: Vec<devices::Device>,
        shared: Arc<DeviceShared>,
        arbiters: Vec<ArbiterHandle>,
        policy: RestartPolicy,
        ownership: Ownership,
    ) -> Devices {
        let registry = Arc::new(Registry::default());
        for row in &rows {
            match device_from_row(row) {
                Some(device) => {
                    registry.insert(Arc::new(device));
                }
                None => log::error!("device row unreadable id={} skipped", row.id),
            }
        }
        let factory = DeviceFactory::new(registry.clone(), shared.clone(), arbiters);
        let supervisor = Supervisor::new("devices", factory, policy, shared.clock.clone())
            .with_ownership(ownership.clone())
            .start();
        let devices = Devices {
            registry,
            supervisor,
            shared,
            store,
            ownership,
        };
        let mut started = 0;
        for entry in devices.registry.all() {
            if entry.state() != DeviceState::Quarantined {
                devices.supervisor.do_send(StartChild {
                    id: entry.spec().id.clone(),
                    reset: false,
                });
                started += 1;
            }
        }
        log::info!("devices loaded count={} started={started}", rows.len());
        devices
    }

    /// The fence of the partition `client`'s devices fall in, while this node owns it.
    pub fn fence_of(&self, client: &str) -> Option<crate::ownership::Fence> {
        self.shared.fence_of(client)
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub(super) fn ownership(&self) -> &Ownership {
        &self.ownership
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    pub fn shared(&self) -> &Arc<DeviceShared> {
        &self.shared
    }

    pub fn supervisor(&self) -> &Addr<Supervisor<DeviceFactory>> {
        &self.supervisor
    }

    pub fn get(&self, id: &str) -> Option<Arc<Device>> {
        self.registry.get(id)
    }

    /// Registers a device on behalf of `by`: stored (with an audit entry) first, then its
    /// actor is started.
    pub async fn register(&self, spec: DeviceSpec, by: &str) -> Result<Arc<Device>, DeviceError> {
        if self.registry.get(spec.id.as_str()).is_some() {
            return Err(DeviceError::Exists(spec.id.to_string()));
        }
        let now = self.shared.clock.now();
        let row = row_of(&spec, now);
        let client = row.client_id.clone();
        let audit = audit::AuditEntry {
            id: self.shared.ids.next(now),
            at_ms: now.0,
            principal: by.to_owned(),
            action: "device.register".into(),
            target: format!("device:{}", spec.id),
            detail: None,
        };
        let stored = self
            .store
            .write(move |conn| {
                if clients::find(conn, &client)?.is_none() {
                    return Ok(false);
                }
                // A decommissioned device of this id comes back as new, its history kept.
                if !devices::revive(conn, &row)? {
                    devices::insert(conn, &row)?;
                }
                audit::insert(conn, &audit)?;
                Ok(true)
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => DeviceError::Exists(spec.id.to_string()),
                other => DeviceError::Store(other),
            })?;
        if !stored {
            return Err(DeviceError::UnknownClient(spec.client_id.to_string()));
        }
        let id = spec.id.clone();
        let entry = Arc::new(Device::new(
            DeviceEntry::new(
                spec,
                Snapshot {
                    state: DeviceState::Unknown,
                    since: now,
                    last_seen: None,
                },
                true,
            ),
            0,
        ));
        if !self.registry.insert(entry.clone()) {
            return Err(DeviceError::Exists(id.to_string()));
        }
        if self.ownership.fence_for(entry.spec().client_id.as_str()).is_none() {
            // Stored: the node owning its client's partition starts its actor.
            log::info!(
                "device registered id={id} client={} owner=elsewhere",
                entry.spec().client_id
            );
            return Ok(entry);
        }
        self.supervisor
            .send(StartChild {
                id: id.clone(),
                // A new device: no restart history, even one a decommissioned device of this
                // id left with the supervisor.
                reset: true,
            })
            .await
            .map_err(|e| DeviceError::Restarting(format!("{id}: {e}")))?
            .map_err(DeviceError::Invalid)?;
        log::info!(
            "device registered id={id} kind={} client={}",
            entry.spec().kind.as_str(),
            entry.spec().client_id
        );
        Ok(entry)
    }

    fn actor(&self, id: &str) -> Result<(Arc<Device>, Addr<DeviceActor>), DeviceError> {
        let entry = self
            .registry
            .get(id)
            .ok_or_else(|| DeviceError::NotFound(id.to_owned()))?;
        let addr = Self::actor_of(&entry)?;
        Ok((entry, addr))
    }

    /// The running actor of `device`, or why there is none.
    fn actor_of(device: &Device) -> Result<Addr<DeviceActor>, DeviceError> {
        match device.slot.addr() {
            Some(addr) => Ok(addr),
            None if device.state() == DeviceState::Quarantined => {
                Err(DeviceError::Quarantined(device.spec().id.to_string()))
            }
            None => Err(DeviceError::Restarting(device.spec().id.to_string())),
        }
    }

    /// The server's time, for the edges that stamp a batch of heartbeats once.
    pub fn now(&self) -> Millis {
        self.shared.clock.now()
    }

    /// Records a heartbeat for `device` (found by the caller: one registry lookup) at `now`.
    /// Returns the actor to tell, or none when the heartbeat changed the timestamp and nothing
    /// else (an `ok` for a device whose actor watches, see [`super::seen`]).
    fn record_beat(
        device: &Device,
        status: &HeartbeatStatus,
        now: Millis,
    ) -> Result<Option<Addr<DeviceActor>>, DeviceError> {
        let seen = device.entry.seen();
        if *status == HeartbeatStatus::Ok && seen.ok(now) {
            return Ok(None);
        }
        let addr = Self::actor_of(device)?;
        if *status == HeartbeatStatus::Fault {
            // Counted before it is sent: an ok sent after it must queue behind it.
            seen.fault(now);
        }
        Ok(Some(addr))
    }

    /// A heartbeat for `device` that waits for the device's state after it (the HTTP form); a
    /// device that stays up answers from its entry without a round trip to its actor.
    pub async fn beat(
        &self,
        device: &Device,
        status: HeartbeatStatus,
        detail: Option<String>,
    ) -> Result<DeviceState, DeviceError> {
        let Some(addr) = Self::record_beat(device, &status, self.now())? else {
            return Ok(device.state());
        };
        addr.send(Heartbeat { status, detail })
            .timeout(ASK_TIMEOUT)
            .await
            .map_err(|_| DeviceError::Restarting(device.spec().id.to_string()))
    }

    /// A heartbeat for `device` that does not wait (the STOMP hot path): for a device that
    /// stays up, one atomic step and nothing else (no message, no allocation).
    pub fn beat_nowait(
        &self,
        device: &Device,
        status: HeartbeatStatus,
        detail: Option<String>,
        now: Millis,
    ) -> Result<(), DeviceError> {
        if let Some(addr) = Self::record_beat(device, &status, now)? {
            addr.do_send(Heartbeat { status, detail });
        }
        Ok(())
    }

    /// [`Devices::beat`] for the device `id`.
    pub async fn heartbeat(
        &self,
        id: &str,
        status: HeartbeatStatus,
        detail: Option<String>,
    ) -> Result<DeviceState, DeviceError> {
        let device = self
            .registry
            .get(id)
            .ok_or_else(|| DeviceError::NotFound(id.to_owned()))?;
        self.beat(&device, status, detail).await
    }

    /// [`Devices::beat_nowait`] for the device `id`.
    pub fn heartbeat_nowait(
        &self,
        id: &str,
        status: HeartbeatStatus,
        detail: Option<String>,
    ) -> Result<(), DeviceError> {
        let device = self
            .registry
            .get(id)
            .ok_or_else(|| DeviceError::NotFound(id.to_owned()))?;
        self.beat_nowait(&device, status, detail, self.now())
    }

    pub async fn set_maintenance(&self, id: &str, on: bool) -> Result<DeviceState, DeviceError> {
        let (_, addr) = self.actor(id)?;
        addr.send(SetMaintenance { on })
            .timeout(ASK_TIMEOUT)
            .await
            .map_err(|_| DeviceError::Restarting(id.to_owned()))
    }

    /// Fault injection: makes the device's actor panic.
    pub fn crash(&self, id: &str) -> Result<(), DeviceError> {
        let (_, addr) = self.actor(id)?;
        addr.do_send(Crash);
        Ok(())
    }

    /// Lifts a quarantine (or restarts a running device's actor) with a fresh restart history.
    pub async fn restart(&self, id: &str) -> Result<(), DeviceError> {
        let entry = self
            .registry
            .get(id)
            .ok_or_else(|| DeviceError::NotFound(id.to_owned()))?;
        if let Some(addr) = entry.slot.addr() {
            addr.send(Stop)
                .await
                .map_err(|_| DeviceError::Restarting(id.to_owned()))?;
        }
        self.supervisor
            .send(StartChild {
                id: entry.spec().id.clone(),
                reset: true,
            })
            .await
            .map_err(|_| DeviceError::Restarting(id.to_owned()))?
            .map_err(DeviceError::Invalid)
    }

    /// Records whether the device does its work now (`false`: its standby does, after a failover).
    pub async fn set_active(&self, id: &str, active: bool) -> Result<(), DeviceError> {
        let entry = self
            .registry
            .get(id)
            .ok_or_else(|| DeviceError::NotFound(id.to_owned()))?;
        let fence = self.shared.fence_of(entry.spec().client_id.as_str()).ok_or_else(|| {
            DeviceError::Store(StoreError::Unavailable(format!(
                "another node owns the partition of {id}"
            )))
        })?;
        let key = id.to_owned();
        self.store
            .write_fenced(fence, move |conn| devices::set_active(conn, &key, active))
            .await?;
        entry.set_active(active);
        Ok(())
    }

    /// A client (gate PC, kiosk) disconnected (`false`) or came back (`true`): one
    /// `client_disconnected` alert for it, raised before its devices become unreachable so
    /// their alerts are recorded under it; resolved when it comes back.
    pub fn client_presence(&self, client: &str, connected: bool) {
        let filter = DeviceFilter {
            client_id: Some(client.to_owned()),
            ..DeviceFilter::default()
        };
        let hosted = self.registry.page(&filter, None, usize::MAX);
        if hosted.is_empty() {
            // A session for a client that hosts no device: nothing becomes unreachable.
            log::debug!("client presence client={client} connected={connected} devices=0");
            return;
        }
        let subject = Subject {
            kind: SubjectType::Client,
            id: client.to_owned(),
        };
        let intent = if connected {
            Intent::Resolve {
                subject,
                kind: AlertKind::ClientDisconnected,
            }
        } else {
            Intent::Raise {
                subject,
                kind: AlertKind::ClientDisconnected,
                severity: Severity::Major,
                detail: Some(format!(
                    "the client's session closed; {} devices are unreachable",
                    hosted.len()
                )),
            }
        };
        log::info!(
            "client presence client={client} connected={connected} devices={}",
            hosted.len()
        );
        if let Some(fence) = self.shared.fence_of(client) {
            self.shared.alerts.do_send(Record {
                writes: None,
                state: None,
                intents: vec![intent],
                committed: None,
                fence: Some(fence),
            });
        }
        for entry in hosted {
            if let Some(addr) = entry.slot.addr() {
                addr.do_send(SetClientConnected { connected });
            }
        }
    }

    /// Stops every device actor on purpose (shutdown).
    pub fn stop_all(&self) {
        for entry in self.registry.all() {
            if let Some(addr) = entry.slot.addr() {
                addr.do_send(Stop);
            }
        }
    }
}
