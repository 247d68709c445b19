//! The provisioning sheet: what `kwanje import` reads, `kwanje export` writes and
//! `POST /api/v1/provision` takes. Rows of clients (gate PCs, kiosks), devices (with their
//! standby pairs) and taxis, as JSON (`{clients, devices, taxis}`) or as one CSV table whose
//! `type` column says what each line is, so a site can be kept in a spreadsheet.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The CSV columns, in order. Each line fills the ones its `type` uses; the rest stay empty.
pub const CSV_HEADER: [&str; 14] = [
    "type",
    "id",
    "name",
    "site",
    "kind",
    "client_id",
    "zone",
    "lane",
    "standby_id",
    "heartbeat_interval_ms",
    "miss_tolerance",
    "auto_failover",
    "license_region",
    "class",
];

/// A whole sheet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sheet {
    #[serde(default)]
    pub clients: Vec<ClientRow>,
    #[serde(default)]
    pub devices: Vec<DeviceRow>,
    #[serde(default)]
    pub taxis: Vec<TaxiRow>,
}

/// A gate PC or kiosk, as `POST /api/v1/clients` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// A device, as `POST /api/v1/devices` takes it. Its standby may be another row of the sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRow {
    pub id: String,
    pub kind: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miss_tolerance: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_failover: Option<bool>,
}

/// A taxi, as `POST /api/v1/taxis` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxiRow {
    pub plate: String,
    pub license_region: String,
    pub class: String,
}

/// Where a row is in its sheet (`devices[3]`, `line 7`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    pub row: String,
    /// The row's id or plate, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub error: String,
}

/// Where each row of a sheet came from, for its errors: JSON arrays by index, CSV by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    pub clients: Vec<usize>,
    pub devices: Vec<usize>,
    pub taxis: Vec<usize>,
}

impl Lines {
    /// The locator of row `i` of `part` (`clients`, `devices`, `taxis`).
    pub fn locate(&self, part: &str, i: usize) -> String {
        let lines = match part {
            "clients" => &self.clients,
            "devices" => &self.devices,
            _ => &self.taxis,
        };
        match lines.get(i) {
            Some(line) => format!("line {line}"),
            None => format!("{part}[{i}]"),
        }
    }
}

/// One CSV line, every cell as text (empty cells absent).
#[derive(Debug, Default, Deserialize, Serialize)]
struct CsvLine {
    #[serde(rename = "type")]
    kind_of_row: String,
    id: Option<String>,
    name: Option<String>,
    site: Option<String>,
    kind: Option<String>,
    client_id: Option<String>,
    zone: Option<String>,
    lane: Option<String>,
    standby_id: Option<String>,
    heartbeat_interval_ms: Option<String>,
    miss_tolerance: Option<String>,
    auto_failover: Option<String>,
    license_region: Option<String>,
    class: Option<String>,
}

fn number<T: std::str::FromStr>(column: &str, cell: Option<String>) -> Result<Option<T>, String> {
    cell.map(|c| {
        c.trim()
            .parse::<T>()
            .map_err(|_| format!("{column} must be a whole number, not {c:?}"))
    })
    .transpose()
}

fn flag(cell: Option<String>) -> Result<Option<bool>, String> {
    cell.map(|c| match c.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("auto_failover must be true or false, not {c:?}")),
    })
    .transpose()
}

fn needed(column: &str, cell: Option<String>) -> Result<String, String> {
    cell.ok_or_else(|| format!("{column} is required"))
}

impl Sheet {
    /// A sheet from its CSV form, with the line of each row; every bad line is reported.
    pub fn from_csv(text: &[u8]) -> Result<(Sheet, Lines), Vec<RowError>> {
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text);
        let mut sheet = Sheet::default();
        let mut lines = Lines::default();
        let mut errors = Vec::new();
        let header = match reader.headers() {
            Ok(header) => header.clone(),
            Err(e) => {
                return Err(vec![RowError {
                    row: "line 1".into(),
                    id: None,
                    error: format!("unreadable CSV header: {e}"),
                }])
            }
        };
        let unknown: Vec<&str> = header.iter().filter(|h| !CSV_HEADER.contains(h)).collect();
        if !unknown.is_empty() || !header.iter().any(|h| h == "type") {
            return Err(vec![RowError {
                row: "line 1".into(),
                id: None,
                error: format!(
                    "the header must name columns among {}, with `type`; unknown: {}",
                    CSV_HEADER.join(","),
                    unknown.join(",")
                ),
            }]);
        }
        let line_of = |p: Option<&csv::Position>| p.map_or(0, |p| usize::try_from(p.line()).unwrap_or(0));
        for record in reader.records() {
            let (line, cells) = match record {
                Ok(record) => (
                    line_of(record.position()),
                    record.deserialize::<CsvLine>(Some(&header)).map_err(|e| e.to_string()),
                ),
                Err(e) => (line_of(e.position()), Err(e.to_string())),
            };
            let cells = match cells {
                Ok(cells) => cells,
                Err(error) => {
                    errors.push(RowError {
                        row: format!("line {line}"),
                        id: None,
                        error,
                    });
                    continue;
                }
            };
            let id = cells.id.clone();
            if let Err(error) = Self::add(&mut sheet, &mut lines, cells, line) {
                errors.push(RowError {
                    row: format!("line {line}"),
                    id,
                    error,
                });
            }
        }
        if errors.is_empty() {
            Ok((sheet, lines))
        } else {
            Err(errors)
        }
    }

    fn add(sheet: &mut Sheet, lines: &mut Lines, c: CsvLine, line: usize) -> Result<(), String> {
        match c.kind_of_row.as_str() {
            "client" => {
                sheet.clients.push(ClientRow {
                    id: needed("id", c.id)?,
                    name: needed("name", c.name)?,
                    site: c.site,
                });
                lines.clients.push(line);
            }
            "device" => {
                sheet.devices.push(DeviceRow {
                    id: needed("id", c.id)?,
                    kind: needed("kind", c.kind)?,
                    client_id: needed("client_id", c.client_id)?,
                    site: c.site,
                    zone: c.zone,
                    lane: c.lane,
                    standby_id: c.standby_id,
                    heartbeat_interval_ms: number("heartbeat_interval_ms", c.heartbeat_interval_ms)?,
                    miss_tolerance: number("miss_tolerance", c.miss_tolerance)?,
                    auto_failover: flag(c.auto_failover)?,
                });
                lines.devices.push(line);
            }
            "taxi" => {
                sheet.taxis.push(TaxiRow {
                    plate: needed("id (the plate)", c.id)?,
                    license_region: needed("license_region", c.license_region)?,
                    class: needed("class", c.class)?,
                });
                lines.taxis.push(line);
            }
            other => return Err(format!("type must be client, device or taxi, not {other:?}")),
        }
        Ok(())
    }

    /// The sheet as CSV: the header, then its clients, devices and taxis.
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        writer.write_record(CSV_HEADER)?;
        for c in &self.clients {
            writer.serialize(CsvLine {
                kind_of_row: "client".into(),
                id: Some(c.id.clone()),
                name: Some(c.name.clone()),
                site: c.site.clone(),
                ..CsvLine::default()
            })?;
        }
        for d in &self.devices {
            writer.serialize(CsvLine {
                kind_of_row: "device".into(),
                id: Some(d.id.clone()),
                site: d.site.clone(),
                kind: Some(d.kind.clone()),
                client_id: Some(d.client_id.clone()),
                zone: d.zone.clone(),
                lane: d.lane.clone(),
                standby_id: d.standby_id.clone(),
                heartbeat_interval_ms: d.heartbeat_interval_ms.map(|v| v.to_string()),
                miss_tolerance: d.miss_tolerance.map(|v| v.to_string()),
                auto_failover: d.auto_failover.map(|v| v.to_string()),
                ..CsvLine::default()
            })?;
        }
        for t in &self.taxis {
            writer.serialize(CsvLine {
                kind_of_row: "taxi".into(),
                id: Some(t.plate.clone()),
                license_region: Some(t.license_region.clone()),
                class: Some(t.class.clone()),
                ..CsvLine::default()
            })?;
        }
        let bytes = writer.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sheet {
        Sheet {
            clients: vec![ClientRow {
                id: "pc-1".into(),
                name: "Gate 1, east".into(),
                site: Some("T1".into()),
            }],
            devices: vec![DeviceRow {
                id: "cam-1".into(),
                kind: "lpr_camera".into(),
                client_id: "pc-1".into(),
                site: None,
                zone: Some("A".into()),
                lane: None,
                standby_id: Some("cam-2".into()),
                heartbeat_interval_ms: Some(1_000),
                miss_tolerance: Some(3),
                auto_failover: Some(true),
            }],
            taxis: vec![TaxiRow {
                plate: "12가3456".into(),
                license_region: "seoul".into(),
                class: "standard".into(),
            }],
        }
    }

    #[test]
    fn a_sheet_goes_to_csv_and_back_unchanged() {
        let csv = sample().to_csv().unwrap();
        assert!(csv.starts_with("type,id,name,site,kind,"), "{csv}");
        assert!(csv.contains("\"Gate 1, east\""), "a comma is quoted: {csv}");
        let (back, lines) = Sheet::from_csv(csv.as_bytes()).unwrap();
        assert_eq!(back, sample());
        assert_eq!((lines.clients[0], lines.devices[0], lines.taxis[0]), (2, 3, 4));
    }

    #[test]
    fn every_bad_line_is_named_with_its_line_and_why() {
        let csv = "type,id,name,kind,client_id,heartbeat_interval_ms\n\
                   client,pc-1,,,,\n\
                   device,cam-1,,lpr_camera,pc-1,fast\n\
                   printer,p-1,,,,\n\
                   client,pc-2,PC 2,,,\n";
        let errors = Sheet::from_csv(csv.as_bytes()).unwrap_err();
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.row.as_str(), e.error.as_str())).collect();
        assert_eq!(
            got,
            [
                ("line 2", "name is required"),
                ("line 3", "heartbeat_interval_ms must be a whole number, not \"fast\""),
                ("line 4", "type must be client, device or taxi, not \"printer\""),
            ]
        );
    }

    #[test]
    fn an_unknown_column_is_refused_before_any_line() {
        let errors = Sheet::from_csv(b"type,id,colour\nclient,pc-1,red\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].error.contains("unknown: colour"), "{errors:?}");
    }

    #[test]
    fn json_rows_refuse_unknown_fields() {
        let e = serde_json::from_str::<Sheet>(r#"{"devices":[{"id":"d","kind":"gate","client_id":"c","colour":1}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `colour`"), "{e}");
    }
}
