//! The site a simulation plays: terminals > zones > gate PCs and kiosks > devices (with standby
//! pairs), and the taxis. Plain data, read from a JSON or TOML site file or built by [`Site::airport`],
//! the default shaped like DOMAIN.md's airport.

use serde::{Deserialize, Serialize};

/// Default number of gate PCs and kiosks of the built-in site.
pub const DEFAULT_GATE_PCS: usize = 40;
/// Default number of devices behind each gate PC (40 × 25 = 1,000 devices).
pub const DEFAULT_DEVICES_PER_PC: usize = 25;
/// Default number of taxis.
pub const DEFAULT_TAXIS: usize = 200;
/// The service regions of the default server configuration.
pub const REGIONS: [&str; 3] = ["seoul", "incheon", "gyeonggi"];

/// A whole site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub terminals: Vec<Terminal>,
    #[serde(default)]
    pub taxis: Vec<TaxiSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Terminal {
    /// `T1`, `T2`: also the terminal the taxi dispatcher knows.
    pub id: String,
    pub zones: Vec<Zone>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    /// `short-term`, `long-term`, `taxi-lot`.
    pub id: String,
    pub clients: Vec<ClientSpec>,
}

/// A gate PC or kiosk: one STOMP session for all its devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSpec {
    pub id: String,
    pub name: String,
    pub devices: Vec<DeviceSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSpec {
    pub id: String,
    /// `vehicle_detector`, `lpr_camera`, `gate`, `guidance_camera`, `payment_kiosk`.
    pub kind: String,
    #[serde(default)]
    pub lane: Option<String>,
    /// The device of the same kind, on the same client, that takes over from this one.
    #[serde(default)]
    pub standby_id: Option<String>,
    #[serde(default)]
    pub auto_failover: bool,
    /// The server's default (5,000 ms) when absent.
    #[serde(default)]
    pub heartbeat_interval_ms: Option<u64>,
    #[serde(default)]
    pub miss_tolerance: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaxiSpec {
    pub plate: String,
    pub license_region: String,
    pub class: String,
}

/// Where a client sits: its terminal and zone, for `site`/`zone` fields.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    pub terminal: &'a str,
    pub zone: &'a str,
    pub client: &'a ClientSpec,
}

impl Site {
    /// Reads a JSON site file.
    pub fn from_json(text: &str) -> Result<Site, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads a TOML site file (the same shape: `[[terminals]]`, `[[terminals.zones]]`, ...).
    pub fn from_toml(text: &str) -> Result<Site, toml::de::Error> {
        toml::from_str(text)
    }

    /// Every client with its terminal and zone, in file order.
    pub fn clients(&self) -> impl Iterator<Item = Placed<'_>> {
        self.terminals.iter().flat_map(|t| {
            t.zones.iter().flat_map(move |z| {
                z.clients.iter().map(move |client| Placed {
                    terminal: &t.id,
                    zone: &z.id,
                    client,
                })
            })
        })
    }

    pub fn device_count(&self) -> usize {
        self.clients().map(|p| p.client.devices.len()).sum()
    }

    /// The holding lot's camera client of `terminal`, which reports taxi arrivals.
    pub fn lot_client(&self, terminal: &str) -> Option<&ClientSpec> {
        self.terminals
            .iter()
            .find(|t| t.id == terminal)?
            .zones
            .iter()
            .find(|z| z.id == "taxi-lot")?
            .clients
            .first()
    }

    /// The built-in airport: two terminals; in each, short- and long-term car parks whose gate
    /// PCs drive lanes of a vehicle detector, an LPR camera with its standby (automatic
    /// failover), and a barrier, topped up with parking-guidance cameras; payment kiosks; and a
    /// taxi holding lot with its entrance camera. `gate_pcs` counts the car parks' gate PCs and
    /// kiosks, split between the terminals; `devices_per_pc` the devices of each.
    pub fn airport(gate_pcs: usize, devices_per_pc: usize, taxis: usize) -> Site {
        let terminals = ["T1", "T2"]
            .iter()
            .enumerate()
            .map(|(t, name)| {
                let share = gate_pcs / 2 + usize::from(t < gate_pcs % 2);
                let tl = name.to_ascii_lowercase();
                let mut short = Vec::new();
                let mut long = Vec::new();
                for n in 0..share {
                    // One in ten is a payment kiosk; the others are lane gate PCs.
                    let client = if n % 10 == 9 {
                        kiosk(&tl, n, devices_per_pc)
                    } else {
                        gate_pc(&tl, n, devices_per_pc)
                    };
                    if n % 2 == 0 { &mut short } else { &mut long }.push(client);
                }
                let lot = ClientSpec {
                    id: format!("lot-{tl}"),
                    name: format!("{name} taxi holding lot entrance"),
                    devices: vec![device(format!("lot-{tl}-lpr"), "lpr_camera", Some("entry".into()))],
                };
                Terminal {
                    id: (*name).to_owned(),
                    zones: vec![
                        Zone {
                            id: "short-term".into(),
                            clients: short,
                        },
                        Zone {
                            id: "long-term".into(),
                            clients: long,
                        },
                        Zone {
                            id: "taxi-lot".into(),
                            clients: vec![lot],
                        },
                    ],
                }
            })
            .collect();
        Site {
            terminals,
            taxis: (0..taxis).map(taxi).collect(),
        }
    }
}

impl Default for Site {
    fn default() -> Self {
        Site::airport(DEFAULT_GATE_PCS, DEFAULT_DEVICES_PER_PC, DEFAULT_TAXIS)
    }
}

fn device(id: String, kind: &str, lane: Option<String>) -> DeviceSpec {
    DeviceSpec {
        id,
        kind: kind.into(),
        lane,
        standby_id: None,
        auto_failover: false,
        heartbeat_interval_ms: None,
        miss_tolerance: None,
    }
}

/// A lane gate PC: lanes of detector, camera + standby camera, barrier (4 devices), then
/// guidance cameras up to `count`.
fn gate_pc(terminal: &str, n: usize, count: usize) -> ClientSpec {
    let id = format!("gpc-{terminal}-{n:03}");
    let mut devices = Vec::with_capacity(count);
    let mut lane = 1;
    while devices.len() + 4 <= count && lane <= 4 {
        let l = format!("L{lane}");
        let base = format!("{id}-{}", l.to_ascii_lowercase());
        devices.push(device(format!("{base}-det"), "vehicle_detector", Some(l.clone())));
        let mut camera = device(format!("{base}-lpr"), "lpr_camera", Some(l.clone()));
        camera.standby_id = Some(format!("{base}-lpr-b"));
        camera.auto_failover = true;
        devices.push(camera);
        devices.push(device(format!("{base}-lpr-b"), "lpr_camera", Some(l.clone())));
        devices.push(device(format!("{base}-gate"), "gate", Some(l)));
        lane += 1;
    }
    let mut g = 1;
    while devices.len() < count {
        devices.push(device(format!("{id}-gd{g:03}"), "guidance_camera", None));
        g += 1;
    }
    ClientSpec {
        name: format!("gate PC {} {n}", terminal.to_ascii_uppercase()),
        id,
        devices,
    }
}

/// A kiosk PC: its payment kiosks (the kiosk itself, card readers, printers all report as
/// `payment_kiosk`).
fn kiosk(terminal: &str, n: usize, count: usize) -> ClientSpec {
    let id = format!("kiosk-{terminal}-{n:03}");
    ClientSpec {
        name: format!("kiosk {} {n}", terminal.to_ascii_uppercase()),
        devices: (1..=count.max(1))
            .map(|k| device(format!("{id}-k{k:03}"), "payment_kiosk", None))
            .collect(),
        id,
    }
}

/// Taxi `n`: a plate like `12가3456`, licences spread over the regions, one in ten deluxe,
/// one in twenty jumbo.
fn taxi(n: usize) -> TaxiSpec {
    const SYLLABLES: [char; 8] = ['가', '나', '다', '라', '마', '바', '사', '아'];
    let class = match n % 20 {
        0 => "jumbo",
        x if x % 10 == 5 => "deluxe",
        _ => "standard",
    };
    TaxiSpec {
        plate: format!("{:02}{}{:04}", 10 + n / 8000 % 90, SYLLABLES[n / 1000 % 8], n % 10_000),
        license_region: REGIONS[n % REGIONS.len()].into(),
        class: class.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_default_airport_has_two_terminals_a_thousand_devices_and_two_hundred_taxis() {
        let site = Site::default();
        assert_eq!(site.terminals.len(), 2);
        // 40 gate PCs × 25, and one lot camera per terminal.
        assert_eq!(site.device_count(), 1_002);
        assert_eq!(site.taxis.len(), 200);
        let ids: HashSet<_> = site
            .clients()
            .flat_map(|p| p.client.devices.iter().map(|d| d.id.clone()))
            .collect();
        assert_eq!(ids.len(), 1_002, "device ids are unique");
        let plates: HashSet<_> = site.taxis.iter().map(|t| t.plate.clone()).collect();
        assert_eq!(plates.len(), 200, "plates are unique");
        assert!(site.lot_client("T2").is_some());
    }

    #[test]
    fn every_standby_named_is_on_the_same_client() {
        let site = Site::airport(6, 20, 0);
        let mut pairs = 0;
        for placed in site.clients() {
            let ids: HashSet<_> = placed.client.devices.iter().map(|d| d.id.as_str()).collect();
            for d in &placed.client.devices {
                if let Some(s) = &d.standby_id {
                    assert!(ids.contains(s.as_str()), "{s} beside {}", d.id);
                    pairs += 1;
                }
            }
            if placed.zone != "taxi-lot" {
                assert_eq!(placed.client.devices.len(), 20, "{}", placed.client.id);
            }
        }
        assert!(pairs >= 20);
    }

    #[test]
    fn a_site_file_reads_back() {
        let site = Site::airport(2, 5, 3);
        let text = serde_json::to_string(&site).unwrap();
        assert_eq!(Site::from_json(&text).unwrap(), site);
        let minimal = r#"{"terminals":[{"id":"T1","zones":[{"id":"z","clients":[
            {"id":"pc","name":"pc","devices":[{"id":"d1","kind":"gate"}]}]}]}]}"#;
        assert_eq!(Site::from_json(minimal).unwrap().device_count(), 1);
    }

    #[test]
    fn a_toml_site_file_reads_as_its_json_twin() {
        let toml = r#"
            [[terminals]]
            id = "T1"
            [[terminals.zones]]
            id = "z"
            [[terminals.zones.clients]]
            id = "pc"
            name = "pc"
            devices = [
                { id = "d1", kind = "lpr_camera", standby_id = "d1-b", auto_failover = true },
                { id = "d1-b", kind = "lpr_camera", heartbeat_interval_ms = 2000 },
            ]
            [[taxis]]
            plate = "12가3456"
            license_region = "seoul"
            class = "standard"
        "#;
        let json = r#"{"terminals":[{"id":"T1","zones":[{"id":"z","clients":[{"id":"pc","name":"pc","devices":[
            {"id":"d1","kind":"lpr_camera","standby_id":"d1-b","auto_failover":true},
            {"id":"d1-b","kind":"lpr_camera","heartbeat_interval_ms":2000}]}]}]}],
            "taxis":[{"plate":"12가3456","license_region":"seoul","class":"standard"}]}"#;
        assert_eq!(Site::from_toml(toml).unwrap(), Site::from_json(json).unwrap());
        let err = Site::from_toml("[[terminals]]\nid = 1").unwrap_err().to_string();
        assert!(err.contains("id"), "{err}");
    }
}
