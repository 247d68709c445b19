//! What a sheet would change, decided without I/O: each row checked as its registration (or
//! edit) would be, against the sheet itself and what is registered now, into a [`Plan`] of
//! creations and updates, or every bad row with its reason. Applying it is all-or-nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use serde::Serialize;
use utoipa::ToSchema;

use super::sheet::{ClientRow, DeviceRow, Lines, RowError, Sheet, TaxiRow};
use crate::device::edit;
use crate::device::{DeviceKind, DeviceSpec, Registration};
use crate::ids::ClientId;
use crate::taxi::core::card::TaxiCard;
use crate::taxi::core::model::{Plate, Region, TaxiClass};

/// Longest name or site accepted (as `POST /api/v1/clients`).
const MAX_TEXT: usize = 200;

/// What is registered now, as far as a sheet can change it.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub clients: BTreeMap<String, ClientRow>,
    pub devices: BTreeMap<String, DeviceSpec>,
    /// By plate as the server spells it: (licence region, class).
    pub taxis: BTreeMap<String, (String, String)>,
}

/// One client's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientChange {
    Create(ClientRow),
    Update { row: ClientRow, changed: Vec<&'static str> },
}

/// One device's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChange {
    Create(DeviceSpec),
    Update {
        spec: DeviceSpec,
        changed: Vec<&'static str>,
    },
}

/// A sheet's changes, in the order they are applied: clients, then devices, then taxis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub clients: Vec<ClientChange>,
    pub devices: Vec<DeviceChange>,
    pub taxis: Vec<TaxiCard>,
    /// Rows already registered exactly as the sheet has them.
    pub unchanged: usize,
}

/// A change as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Updated {
    pub id: String,
    pub changed: Vec<&'static str>,
}

/// The ids created and updated, per part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Summary {
    pub clients_created: Vec<String>,
    pub clients_updated: Vec<Updated>,
    pub devices_created: Vec<String>,
    pub devices_updated: Vec<Updated>,
    pub taxis_created: Vec<String>,
    pub unchanged: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty() && self.devices.is_empty() && self.taxis.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            unchanged: self.unchanged,
            ..Summary::default()
        };
        for c in &self.clients {
            match c {
                ClientChange::Create(row) => s.clients_created.push(row.id.clone()),
                ClientChange::Update { row, changed } => s.clients_updated.push(Updated {
                    id: row.id.clone(),
                    changed: changed.clone(),
                }),
            }
        }
        for d in &self.devices {
            match d {
                DeviceChange::Create(spec) => s.devices_created.push(spec.id.to_string()),
                DeviceChange::Update { spec, changed } => s.devices_updated.push(Updated {
                    id: spec.id.to_string(),
                    changed: changed.clone(),
                }),
            }
        }
        s.taxis_created = self.taxis.iter().map(|t| t.plate.to_string()).collect();
        s
    }
}

fn text(field: &str, value: &Option<String>) -> Result<(), String> {
    match value {
        Some(v) if v.chars().count() > MAX_TEXT => Err(format!("{field} is longer than {MAX_TEXT} characters")),
        _ => Ok(()),
    }
}

fn client(row: &ClientRow) -> Result<(), String> {
    ClientId::from_str(&row.id).map_err(|e| e.to_string())?;
    if row.name.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    text("name", &Some(row.name.clone()))?;
    text("site", &row.site)
}

fn device_spec(row: &DeviceRow) -> Result<DeviceSpec, String> {
    for (field, value) in [("site", &row.site), ("zone", &row.zone), ("lane", &row.lane)] {
        text(field, value)?;
    }
    let kind = DeviceKind::from_str(&row.kind).map_err(|e| {
        let known: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("{e}; known kinds: {}", known.join(", "))
    })?;
    Registration {
        id: row.id.parse().map_err(|e: crate::ids::InvalidKey| e.to_string())?,
        kind,
        client_id: row
            .client_id
            .parse()
            .map_err(|e: crate::ids::InvalidKey| e.to_string())?,
        site: row.site.clone(),
        zone: row.zone.clone(),
        lane: row.lane.clone(),
        standby_id: row
            .standby_id
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: crate::ids::InvalidKey| e.to_string())?,
        heartbeat_interval_ms: row.heartbeat_interval_ms,
        miss_tolerance: row.miss_tolerance,
        auto_failover: row.auto_failover,
    }
    .into_spec()
    .map_err(|e| e.to_string())
}

fn taxi(row: &TaxiRow) -> Result<TaxiCard, String> {
    Ok(TaxiCard::new(
        Plate::parse(&row.plate).map_err(|e| e.to_string())?,
        Region::parse(&row.license_region).map_err(|e| e.to_string())?,
        TaxiClass::from_str(&row.class).map_err(|e| e.to_string())?,
    ))
}

/// The plan for `sheet` (its rows located by `lines`) over `current`, or every bad row.
pub fn plan(sheet: &Sheet, lines: &Lines, current: &Current) -> Result<Plan, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut out = Plan::default();
    let mut fail = |part: &str, i: usize, id: &str, error: String| {
        errors.push(RowError {
            row: lines.locate(part, i),
            id: Some(id.to_owned()),
            error,
        })
    };

    let mut clients_in_sheet = BTreeSet::new();
    for (i, row) in sheet.clients.iter().enumerate() {
        if let Err(e) = client(row) {
            fail("clients", i, &row.id, e);
            continue;
        }
        if !clients_in_sheet.insert(row.id.as_str()) {
            fail(
                "clients",
                i,
                &row.id,
                format!("client {} is in the sheet twice", row.id),
            );
            continue;
        }
        match current.clients.get(&row.id) {
            None => out.clients.push(ClientChange::Create(row.clone())),
            Some(now) => {
                let mut changed = Vec::new();
                if now.name != row.name {
                    changed.push("name");
                }
                if now.site != row.site {
                    changed.push("site");
                }
                if changed.is_empty() {
                    out.unchanged += 1;
                } else {
                    out.clients.push(ClientChange::Update {
                        row: row.clone(),
                        changed,
                    });
                }
            }
        }
    }

    let devices_in_sheet: BTreeSet<&str> = sheet.devices.iter().map(|d| d.id.as_str()).collect();
    let mut seen = BTreeSet::new();
    for (i, row) in sheet.devices.iter().enumerate() {
        let spec = match device_spec(row) {
            Ok(spec) => spec,
            Err(e) => {
                fail("devices", i, &row.id, e);
                continue;
            }
        };
        if !seen.insert(row.id.as_str()) {
            fail(
                "devices",
                i,
                &row.id,
                format!("device {} is in the sheet twice", row.id),
            );
            continue;
        }
        if !clients_in_sheet.contains(row.client_id.as_str()) && !current.clients.contains_key(&row.client_id) {
            fail(
                "devices",
                i,
                &row.id,
                format!("client {} is neither registered nor in the sheet", row.client_id),
            );
            continue;
        }
        if let Some(standby) = &row.standby_id {
            if !devices_in_sheet.contains(standby.as_str()) && !current.devices.contains_key(standby) {
                fail(
                    "devices",
                    i,
                    &row.id,
                    format!("standby {standby} is neither registered nor in the sheet"),
                );
                continue;
            }
        }
        match current.devices.get(&row.id) {
            None => out.devices.push(DeviceChange::Create(spec)),
            Some(now) if now.kind != spec.kind => fail(
                "devices",
                i,
                &row.id,
                format!(
                    "device {} is registered as a {}; a kind cannot change (decommission it and register it again)",
                    row.id,
                    now.kind.as_str()
                ),
            ),
            Some(now) => {
                let changed = edit::changed(now, &spec);
                if changed.is_empty() {
                    out.unchanged += 1;
                } else {
                    out.devices.push(DeviceChange::Update { spec, changed });
                }
            }
        }
    }

    let mut plates = BTreeSet::new();
    for (i, row) in sheet.taxis.iter().enumerate() {
        let card = match taxi(row) {
            Ok(card) => card,
            Err(e) => {
                fail("taxis", i, &row.plate, e);
                continue;
            }
        };
        let plate = card.plate.to_string();
        if !plates.insert(plate.clone()) {
            fail("taxis", i, &row.plate, format!("taxi {plate} is in the sheet twice"));
            continue;
        }
        match current.taxis.get(&plate) {
            None => out.taxis.push(card),
            Some((region, class)) if *region == card.licence_region.to_string() && class == card.class.as_str() => {
                out.unchanged += 1
            }
            Some((region, class)) => fail(
                "taxis",
                i,
                &row.plate,
                format!("taxi {plate} is registered as {region} {class}; a taxi's licence region and class cannot be changed here"),
            ),
        }
    }

    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, client: &str, standby: Option<&str>) -> DeviceRow {
        DeviceRow {
            id: id.into(),
            kind: "lpr_camera".into(),
            client_id: client.into(),
            site: None,
            zone: None,
            lane: None,
            standby_id: standby.map(Into::into),
            heartbeat_interval_ms: None,
            miss_tolerance: None,
            auto_failover: None,
        }
    }

    fn sheet() -> Sheet {
        Sheet {
            clients: vec![ClientRow {
                id: "pc-1".into(),
                name: "PC 1".into(),
                site: None,
            }],
            devices: vec![
                device("cam-1", "pc-1", Some("cam-2")),
                device("cam-2", "pc-1", Some("cam-1")),
            ],
            taxis: vec![TaxiRow {
                plate: "12가3456".into(),
                license_region: "seoul".into(),
                class: "standard".into(),
            }],
        }
    }

    /// `current` with everything in `sheet` registered as it says.
    fn registered(sheet: &Sheet) -> Current {
        let mut current = Current::default();
        for c in &sheet.clients {
            current.clients.insert(c.id.clone(), c.clone());
        }
        for d in &sheet.devices {
            current.devices.insert(d.id.clone(), device_spec(d).unwrap());
        }
        for t in &sheet.taxis {
            let card = taxi(t).unwrap();
            current.taxis.insert(
                card.plate.to_string(),
                (card.licence_region.to_string(), card.class.as_str().to_owned()),
            );
        }
        current
    }

    #[test]
    fn a_fresh_sheet_creates_everything_with_standby_pairs_inside_it() {
        let plan = plan(&sheet(), &Lines::default(), &Current::default()).unwrap();
        let s = plan.summary();
        assert_eq!(s.clients_created, ["pc-1"]);
        assert_eq!(s.devices_created, ["cam-1", "cam-2"]);
        assert_eq!(s.taxis_created, ["12가3456"]);
        assert_eq!(s.unchanged, 0);
    }

    #[test]
    fn the_same_sheet_again_changes_nothing() {
        let plan = plan(&sheet(), &Lines::default(), &registered(&sheet())).unwrap();
        assert!(plan.is_empty());
        assert_eq!(plan.unchanged, 4);
    }

    #[test]
    fn a_changed_row_is_an_update_naming_its_fields() {
        let current = registered(&sheet());
        let mut edited = sheet();
        edited.clients[0].name = "PC one".into();
        edited.devices[0].heartbeat_interval_ms = Some(1_000);
        let plan = plan(&edited, &Lines::default(), &current).unwrap();
        let s = plan.summary();
        assert_eq!(
            s.clients_updated,
            [Updated {
                id: "pc-1".into(),
                changed: vec!["name"]
            }]
        );
        assert_eq!(
            s.devices_updated,
            [Updated {
                id: "cam-1".into(),
                changed: vec!["heartbeat_interval_ms"]
            }]
        );
        assert_eq!(s.unchanged, 2);
    }

    #[test]
    fn every_bad_row_is_reported_and_nothing_is_planned() {
        let mut bad = sheet();
        bad.clients.push(bad.clients[0].clone());
        bad.devices.push(device("cam-3", "pc-404", None));
        bad.devices.push(device("cam-4", "pc-1", Some("cam-404")));
        bad.devices.push(DeviceRow {
            heartbeat_interval_ms: Some(5),
            ..device("cam-5", "pc-1", None)
        });
        bad.devices.push(DeviceRow {
            kind: "printer".into(),
            ..device("cam-6", "pc-1", None)
        });
        bad.taxis.push(TaxiRow {
            plate: "12가3456".into(),
            license_region: "seoul".into(),
            class: "standard".into(),
        });
        let lines = Lines {
            clients: vec![2, 3],
            ..Lines::default()
        };
        let errors = plan(&bad, &lines, &Current::default()).unwrap_err();
        let got: Vec<(String, String)> = errors
            .iter()
            .map(|e| (e.row.clone(), e.error.split(';').next().unwrap().to_owned()))
            .collect();
        let want = [
            ("line 3", "client pc-1 is in the sheet twice"),
            ("devices[2]", "client pc-404 is neither registered nor in the sheet"),
            ("devices[3]", "standby cam-404 is neither registered nor in the sheet"),
            ("devices[4]", "heartbeat_interval_ms must be between 100 and 3600000"),
            ("devices[5]", "unknown device kind \"printer\""),
            ("taxis[1]", "taxi 12가3456 is in the sheet twice"),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_kind_or_a_taxis_licence_cannot_change_through_a_sheet() {
        let current = registered(&sheet());
        let mut changed = sheet();
        changed.devices[0].kind = "gate".into();
        changed.taxis[0].license_region = "incheon".into();
        let errors = plan(&changed, &Lines::default(), &current).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].error.contains("a kind cannot change"));
        assert!(errors[1].error.contains("cannot be changed here"));
    }
}
