//! A sheet applied: what is registered is read, the sheet planned against it ([`super::plan`]),
//! and, unless it is a dry run, every change written in one transaction with an audit entry per
//! row; then the live devices and taxis take what was stored (actors started, edits applied as
//! `PATCH` applies them).

use std::collections::BTreeSet;

use diesel::Connection;
use thiserror::Error;

use super::plan::{self, ClientChange, Current, DeviceChange, Summary};
use super::sheet::{ClientRow, DeviceRow, Lines, RowError, Sheet, TaxiRow};
use crate::device::service::{row_of, spec_change, spec_from_row};
use crate::device::Devices;
use crate::ids::IdGen;
use crate::store::models::{audit, clients, devices, taxis};
use crate::store::{Store, StoreError};
use crate::taxi::service::Taxis;
use crate::time::Clock;

#[derive(Debug, Error)]
pub enum ProvisionError {
    /// Bad rows: nothing was applied.
    #[error("{} rows of the sheet are refused; nothing was applied", .0.len())]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sheet changed, or would change (`dry_run`).
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub dry_run: bool,
    pub summary: Summary,
}

/// The provisioning service: a cheap handle over the store and the live services.
#[derive(Clone)]
pub struct Provisioner {
    pub store: Store,
    pub devices: Devices,
    pub taxis: Taxis,
    pub clock: std::sync::Arc<dyn Clock>,
    pub ids: std::sync::Arc<IdGen>,
}

/// The sheet of what is registered now.
fn read_sheet(conn: &mut crate::store::DbConnection) -> diesel::QueryResult<(Sheet, Current)> {
    let mut sheet = Sheet::default();
    let mut current = Current::default();
    for c in clients::all(conn)? {
        let row = ClientRow {
            id: c.id,
            name: c.name,
            site: c.site,
        };
        current.clients.insert(row.id.clone(), row.clone());
        sheet.clients.push(row);
    }
    for d in devices::all(conn)? {
        if let Some(spec) = spec_from_row(&d) {
            current.devices.insert(d.id.clone(), spec);
        }
        sheet.devices.push(DeviceRow {
            id: d.id,
            kind: d.kind,
            client_id: d.client_id,
            site: d.site,
            zone: d.zone,
            lane: d.lane,
            standby_id: d.standby_id,
            heartbeat_interval_ms: u64::try_from(d.heartbeat_interval_ms).ok(),
            miss_tolerance: u32::try_from(d.miss_tolerance).ok(),
            auto_failover: Some(d.auto_failover),
        });
    }
    for t in taxis::all(conn)?.into_iter().filter(|t| t.decommissioned_ms.is_none()) {
        current
            .taxis
            .insert(t.plate.clone(), (t.license_region.clone(), t.class.clone()));
        sheet.taxis.push(TaxiRow {
            plate: t.plate,
            license_region: t.license_region,
            class: t.class,
        });
    }
    Ok((sheet, current))
}

impl Provisioner {
    /// Everything registered, as a sheet (`kwanje export`, `GET /api/v1/provision`).
    pub async fn export(&self) -> Result<Sheet, StoreError> {
        self.store.read(|conn| read_sheet(conn).map(|(sheet, _)| sheet)).await
    }

    /// Applies `sheet` on behalf of `by`, or only says what it would change (`dry_run`).
    pub async fn provision(
        &self,
        sheet: Sheet,
        lines: Lines,
        dry_run: bool,
        by: &str,
    ) -> Result<Provisioned, ProvisionError> {
        let (_, current) = self.store.read(read_sheet).await?;
        let plan = plan::plan(&sheet, &lines, &current).map_err(ProvisionError::Rows)?;
        let summary = plan.summary();
        if dry_run || plan.is_empty() {
            log::info!(
                "provision planned dry_run={dry_run} by={by} creates={} updates={} unchanged={}",
                summary.clients_created.len() + summary.devices_created.len() + summary.taxis_created.len(),
                summary.clients_updated.len() + summary.devices_updated.len(),
                summary.unchanged
            );
            return Ok(Provisioned { dry_run, summary });
        }
        let now = self.clock.now();
        let mut entries = Vec::new();
        let mut entry = |action: &str, target: String, detail: String| {
            entries.push(audit::AuditEntry {
                id: self.ids.next(now),
                at_ms: now.0,
                principal: by.to_owned(),
                action: action.into(),
                target,
                detail: Some(detail),
            })
        };
        let mut client_rows = Vec::new();
        for change in &plan.clients {
            let (row, created, detail) = match change {
                ClientChange::Create(row) => (row, true, "provision".to_owned()),
                ClientChange::Update { row, changed } => (row, false, format!("provision: {}", changed.join(","))),
            };
            let action = if created { "client.register" } else { "client.update" };
            entry(action, format!("client:{}", row.id), detail);
            client_rows.push((
                clients::Client {
                    id: row.id.clone(),
                    name: row.name.clone(),
                    site: row.site.clone(),
                    created_ms: now.0,
                    decommissioned_ms: None,
                },
                created,
            ));
        }
        let mut created_devices = Vec::new();
        let mut updated_devices = Vec::new();
        for change in &plan.devices {
            match change {
                DeviceChange::Create(spec) => {
                    entry("device.register", format!("device:{}", spec.id), "provision".into());
                    created_devices.push(row_of(spec, now));
                }
                DeviceChange::Update { spec, changed } => {
                    entry(
                        "device.update",
                        format!("device:{}", spec.id),
                        format!("provision: {}", changed.join(",")),
                    );
                    updated_devices.push(spec.clone());
                }
            }
        }
        let taxi_rows: Vec<taxis::Taxi> = plan
            .taxis
            .iter()
            .map(|card| {
                entry("taxi.register", format!("taxi:{}", card.plate), "provision".into());
                Taxis::row_of(card, now)
            })
            .collect();
        entry(
            "provision",
            "site".into(),
            format!(
                "clients +{} ~{}, devices +{} ~{}, taxis +{}, unchanged {}",
                summary.clients_created.len(),
                summary.clients_updated.len(),
                summary.devices_created.len(),
                summary.devices_updated.len(),
                summary.taxis_created.len(),
                summary.unchanged
            ),
        );
        let (stored_devices, edits): (Vec<_>, Vec<_>) = (
            created_devices.clone(),
            updated_devices
                .iter()
                .map(|spec| (spec.id.to_string(), spec_change(spec)))
                .collect(),
        );
        self.store
            .write(move |conn| {
                conn.transaction(|conn| {
                    for (row, created) in &client_rows {
                        if *created {
                            if !clients::revive(conn, row)? {
                                clients::insert(conn, row)?;
                            }
                        } else {
                            clients::set_details(conn, &row.id, &row.name, row.site.as_deref())?;
                        }
                    }
                    for row in &stored_devices {
                        if !devices::revive(conn, row)? {
                            devices::insert(conn, row)?;
                        }
                    }
                    for (id, change) in &edits {
                        devices::set_spec(conn, id, change)?;
                    }
                    for row in &taxi_rows {
                        if !taxis::revive(conn, row)? {
                            taxis::insert(conn, row)?;
                        }
                    }
                    audit::insert_all(conn, &entries)
                })
            })
            .await?;
        log::info!(
            "provision applied by={by} clients_created={} clients_updated={} devices_created={} devices_updated={} taxis_created={} unchanged={}",
            summary.clients_created.len(),
            summary.clients_updated.len(),
            summary.devices_created.len(),
            summary.devices_updated.len(),
            summary.taxis_created.len(),
            summary.unchanged
        );
        // Stored: the live part takes it. A taxi whose actor cannot start now is stored and
        // starts at the next boot; it is logged, and the sheet is not undone.
        self.devices.provisioned(&created_devices, updated_devices).await;
        for card in plan.taxis {
            let plate = card.plate.clone();
            if let Err(e) = self.taxis.start_registered(card).await {
                log::warn!("provisioned taxi not started plate={plate} error={e}");
            }
        }
        Ok(Provisioned {
            dry_run: false,
            summary,
        })
    }
}

/// The devices a summary names as created or updated (to announce in a cluster).
pub fn devices_touched(summary: &Summary) -> Vec<String> {
    let created = summary.devices_created.iter();
    let ids: BTreeSet<&String> = created.chain(summary.devices_updated.iter().map(|u| &u.id)).collect();
    ids.into_iter().cloned().collect()
}
