//! `taxi-morning`: a short morning at one quiet terminal, played over the API exactly as the lot
//! camera, a kiosk and the drivers' apps play it, and checked by what the API then says:
//! tickets in arrival order, an unregistered plate held, passengers served first come first
//! served, a no-show passed to the next taxi, a short trip's priority re-entry honoured while a
//! long trip's taxi queues at the back, and the figures counting all of it. The drill registers
//! its own taxis (`D{6 hex}-A1`, ...), uses the terminal's regional mode with one bay per region
//! line while it runs, and then takes its taxis out of the lines (its last passengers take them)
//! and puts the terminal's mode and bays back. What it leaves: its registered clients and taxis,
//! its unregistered plate in the held list, and its trips in the dispatch figures.
//!
//! It needs a terminal nobody else is using (`--terminal`; by default the last one the server
//! lists): a taxi already in line there would take the drill's passengers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::fixture::prefix;
use super::{Options, Report};
use crate::sim::api::{encode, Api};
use crate::sim::provision::provision;
use crate::sim::site::{ClientSpec, Site, TaxiSpec, Terminal, Zone};

pub const NAME: &str = "taxi-morning";
/// The two regions the drill's taxis serve (the server's default regions include both).
pub const REGIONS: [&str; 2] = ["seoul", "incheon"];
/// The drill's taxis, in the order the lot camera reads them: name and licence region.
const FLEET: [(&str, &str); 7] = [
    ("A1", "seoul"),
    ("A2", "seoul"),
    ("B1", "incheon"),
    ("A3", "seoul"),
    ("A4", "seoul"),
    ("B2", "incheon"),
    ("A5", "seoul"),
];
/// The short trip (km): its taxi comes back [`SHORT_TRIP_BACK`] after the pickup, more than the
/// 9 s the trip there and back takes at the server's default 80 km/h plausibility limit.
const SHORT_KM: f64 = 0.1;
const SHORT_TRIP_BACK: Duration = Duration::from_secs(10);
const LONG_KM: f64 = 30.0;
/// Drivers' apps ping this often while the drill runs (the server suspends after 30 s).
const PING_EVERY: Duration = Duration::from_secs(5);

/// The drill's equipment: the lot camera's and the kiosk's clients, and each taxi's driver.
struct Morning {
    admin: Api,
    lot: Api,
    kiosk: Api,
    drivers: HashMap<String, Api>,
    terminal: String,
    /// `D{6 hex}`: each plate is `{tag}-{name}`.
    tag: String,
}

pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let admin = options.api();
    let terminal = match &options.terminal {
        Some(t) => t.clone(),
        None => last_terminal(&admin).await?,
    };
    let mut r = Report::new(NAME);
    let started = Instant::now();
    let before = admin.get_ok(&queues_path(&terminal)).await?["items"][0].clone();
    let busy = taxis_in_line(&before);
    let quiet = r.row(
        &format!("terminal {terminal} is quiet (nobody else's taxis in line)"),
        "no taxi in line or at the curb",
        if busy.is_empty() {
            "none".to_owned()
        } else {
            format!(
                "{} in line: {} (choose another with --terminal)",
                busy.len(),
                busy.join(" ")
            )
        },
        started.elapsed(),
        busy.is_empty(),
    );
    if !quiet {
        return Ok(r);
    }
    let morning = Morning::provision(&admin, &terminal).await?;
    let pings = actix_web::rt::spawn(morning.pings().ping_forever());
    script(&morning, &mut r).await;
    morning.leave(&before, &mut r).await;
    pings.abort();
    Ok(r)
}

/// The last terminal of `GET /api/v1/queues`.
async fn last_terminal(api: &Api) -> anyhow::Result<String> {
    let all = api.get_ok("/api/v1/queues").await?;
    all["items"]
        .as_array()
        .and_then(|items| items.last())
        .and_then(|t| t["terminal"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the server lists no terminal: {all}"))
}

fn queues_path(terminal: &str) -> String {
    format!("/api/v1/queues?terminal={}", encode(terminal))
}

/// Plates waiting or at the curb in a terminal's document.
fn taxis_in_line(terminal: &Value) -> Vec<String> {
    let lines = terminal["lines"].as_array().map(Vec::as_slice).unwrap_or_default();
    lines
        .iter()
        .flat_map(|l| {
            let curb = l["curb"].as_array().map(Vec::as_slice).unwrap_or_default();
            let waiting = l["waiting"].as_array().map(Vec::as_slice).unwrap_or_default();
            curb.iter().chain(waiting)
        })
        .filter_map(|t| t["plate"].as_str().map(str::to_owned))
        .collect()
}

/// One region's standard line as `[curb plates] waiting plates` (a priority taxi marked `*`),
/// plates shown by their drill names (`A1`), `-` for none.
pub fn line_of(terminal: &Value, region: &str, tag: &str) -> String {
    let name = |t: &Value| {
        let plate = t["plate"].as_str().unwrap_or("?");
        let short = plate.strip_prefix(tag).map_or(plate, |p| p.trim_start_matches('-'));
        let star = if t["priority"] == true { "*" } else { "" };
        format!("{short}{star}")
    };
    let empty = Vec::new();
    let Some(line) = terminal["lines"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .find(|l| l["line"]["scope"] == region && l["line"]["class"] == "standard")
    else {
        return "no such line".into();
    };
    let list = |key: &str| -> String {
        let names: Vec<String> = line[key].as_array().unwrap_or(&empty).iter().map(name).collect();
        if names.is_empty() {
            "-".into()
        } else {
            names.join(" ")
        }
    };
    format!("[{}] {}", list("curb"), list("waiting"))
}

/// A stats row's counters as `served=n short=n long=n no_shows=n`.
fn counters(stats: &Value, region: &str) -> [i64; 4] {
    let row = stats["items"]
        .as_array()
        .and_then(|rows| rows.iter().find(|s| s["region"] == region && s["class"] == "standard"));
    let n = |k: &str| row.and_then(|s| s[k].as_i64()).unwrap_or(0);
    [n("served"), n("short_trips"), n("long_trips"), n("no_shows")]
}

fn show_counters(c: [i64; 4]) -> String {
    format!("+{} served ({} short, {} long), +{} no-show", c[0], c[1], c[2], c[3])
}

impl Morning {
    /// Registers the lot camera's and the kiosk's clients and the fleet, and fetches their
    /// tokens and the drivers'.
    async fn provision(admin: &Api, terminal: &str) -> anyhow::Result<Morning> {
        let p = prefix(NAME);
        let tag = format!("D{}", p.rsplit('-').next().unwrap_or_default().to_uppercase());
        let client = |suffix: &str, name: &str| ClientSpec {
            id: format!("{p}-{suffix}"),
            name: format!("drill {NAME} {name}"),
            devices: Vec::new(),
        };
        let site = Site {
            terminals: vec![Terminal {
                id: terminal.to_owned(),
                zones: vec![Zone {
                    id: "drill".into(),
                    clients: vec![client("lot", "lot camera"), client("kiosk", "kiosk")],
                }],
            }],
            taxis: FLEET
                .iter()
                .map(|(name, region)| TaxiSpec {
                    plate: format!("{tag}-{name}"),
                    license_region: (*region).into(),
                    class: "standard".into(),
                })
                .collect(),
        };
        let done = provision(admin, &site).await?;
        let token = |suffix: &str| done.tokens.get(&format!("{p}-{suffix}")).cloned().unwrap_or_default();
        let mut drivers = HashMap::new();
        for (name, _) in FLEET {
            let plate = format!("{tag}-{name}");
            let path = format!("/api/v1/taxis/{}/token", encode(&plate));
            match admin.post(&path, &json!({"ttl_ms": 3_600_000})).await? {
                (200, body) => {
                    let t = body["access_token"].as_str().unwrap_or_default();
                    drivers.insert(name.to_owned(), admin.with_token(t));
                }
                (status, body) => anyhow::bail!("POST {path}: {status} {body}"),
            }
        }
        Ok(Morning {
            admin: admin.clone(),
            lot: admin.with_token(&token("lot")),
            kiosk: admin.with_token(&token("kiosk")),
            drivers,
            terminal: terminal.to_owned(),
            tag,
        })
    }

    fn plate(&self, name: &str) -> String {
        format!("{}-{name}", self.tag)
    }

    /// The drivers' apps, to ping beside the script.
    fn pings(&self) -> Pings {
        Pings {
            drivers: self.drivers.iter().map(|(n, a)| (self.plate(n), a.clone())).collect(),
        }
    }

    /// The lot camera reads `plate`: the arrival's answer.
    async fn arrive(&self, plate: &str) -> Value {
        let body = json!({"plate": plate, "terminal": self.terminal, "camera_id": format!("{}-lot-lpr", self.tag)});
        match self.lot.post("/api/v1/taxis/arrivals", &body).await {
            Ok((_, answer)) => answer,
            Err(e) => json!({"error": format!("{e:#}")}),
        }
    }

    /// The kiosk asks for a taxi to `region`: the assigned plate's drill name and the request
    /// id, or why not.
    async fn request(&self, region: &str, km: f64) -> Result<(String, i64), String> {
        let body = json!({"terminal": self.terminal, "destination_region": region, "distance_km": km});
        match self.kiosk.post("/api/v1/dispatch/requests", &body).await {
            Ok((201, a)) => match (a["plate"].as_str(), a["id"].as_i64()) {
                (Some(plate), Some(id)) => Ok((self.name_of(plate), id)),
                _ => Err(format!("201 without plate or id: {a}")),
            },
            Ok((status, a)) => Err(format!("{status} {}", a["detail"].as_str().unwrap_or_default())),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    fn name_of(&self, plate: &str) -> String {
        plate
            .strip_prefix(&self.tag)
            .map_or(plate, |p| p.trim_start_matches('-'))
            .to_owned()
    }

    /// `POST /api/v1/dispatch/{id}/{what}` as the kiosk: status and answer.
    async fn report(&self, id: i64, what: &str) -> (u16, Value) {
        match self
            .kiosk
            .post(&format!("/api/v1/dispatch/{id}/{what}"), &json!({}))
            .await
        {
            Ok(answer) => answer,
            Err(e) => (0, json!(format!("{e:#}"))),
        }
    }

    /// The driver of `name` completes request `id` over `km`: the answer.
    async fn complete(&self, name: &str, id: i64, km: f64) -> Value {
        let Some(driver) = self.drivers.get(name) else {
            return Value::Null;
        };
        let path = format!("/api/v1/dispatch/{id}/complete");
        match driver.post(&path, &json!({"distance_km": km})).await {
            Ok((200, answer)) => answer,
            Ok((status, answer)) => json!({"status": status, "answer": answer}),
            Err(e) => json!({"error": format!("{e:#}")}),
        }
    }

    async fn queues(&self) -> Value {
        match self.admin.get_ok(&queues_path(&self.terminal)).await {
            Ok(all) => all["items"][0].clone(),
            Err(e) => json!({"error": format!("{e:#}")}),
        }
    }

    async fn stats(&self) -> Value {
        let path = format!("/api/v1/dispatch/stats?terminal={}", encode(&self.terminal));
        self.admin.get_ok(&path).await.unwrap_or(Value::Null)
    }

    /// The drill's taxis still in line or at the curb, by drill name.
    fn ours(&self, terminal: &Value) -> Vec<String> {
        taxis_in_line(terminal)
            .into_iter()
            .filter(|p| p.starts_with(&self.tag))
            .map(|p| self.name_of(&p))
            .collect()
    }

    /// Puts the terminal back: the drill's remaining taxis each take a last passenger (picked
    /// up and completed as a long trip, so none re-enters), and the mode and bays found at the
    /// start are restored.
    async fn leave(&self, before: &Value, r: &mut Report) {
        let started = Instant::now();
        for _ in 0..FLEET.len() * 2 {
            let left = self.ours(&self.queues().await);
            let Some(name) = left.first() else { break };
            let region = FLEET
                .iter()
                .find(|(n, _)| n == name)
                .map_or(REGIONS[0], |(_, region)| region);
            let Ok((taken, id)) = self.request(region, LONG_KM).await else {
                continue;
            };
            if !FLEET.iter().any(|(n, _)| *n == taken) {
                // Somebody else's taxi came in meanwhile and got the drill's last passenger: it
                // is told the passenger did not show, so it goes back, and the drill stops here.
                self.report(id, "no-show").await;
                break;
            }
            self.report(id, "pickup").await;
            self.complete(&taken, id, LONG_KM).await;
        }
        let path = format!("/api/v1/terminals/{}/dispatch", encode(&self.terminal));
        let restore = json!({"mode": before["mode"], "curb_slots": before["curb_slots"]});
        let restored = match self.admin.call("PUT", &path, Some(&restore)).await {
            Ok((200, _)) => "restored".to_owned(),
            Ok((status, body)) => format!("PUT {status}: {}", body["detail"].as_str().unwrap_or_default()),
            Err(e) => format!("{e:#}"),
        };
        let after = self.queues().await;
        let left = self.ours(&after);
        let same = after["mode"] == before["mode"] && after["curb_slots"] == before["curb_slots"];
        r.row(
            "the drill's taxis leave the lines, the terminal's mode and bays are restored",
            "no drill taxi in line; mode and bays restored",
            format!(
                "{} drill taxis in line; mode {} bays {} ({restored})",
                left.len(),
                after["mode"],
                after["curb_slots"]
            ),
            started.elapsed(),
            left.is_empty() && same,
        );
    }
}

/// The drivers' apps, pinging while the drill runs.
struct Pings {
    drivers: Vec<(String, Api)>,
}

impl Pings {
    async fn ping_forever(self) {
        loop {
            for (plate, driver) in &self.drivers {
                let path = format!("/api/v1/taxis/{}/heartbeat", encode(plate));
                if let Ok((status, body)) = driver.post(&path, &json!({})).await {
                    if status != 200 {
                        log::warn!("drill taxi ping refused plate={plate} status={status} answer={body}");
                    }
                }
            }
            tokio::time::sleep(PING_EVERY).await;
        }
    }
}

async fn script(m: &Morning, r: &mut Report) {
    let [a, b] = REGIONS;
    // The terminal in regional mode, one bay per region line, for the drill.
    let t = Instant::now();
    let path = format!("/api/v1/terminals/{}/dispatch", encode(&m.terminal));
    let body = json!({"mode": "regional", "curb_slots": {a: 1, b: 1}});
    let answer = m.admin.call("PUT", &path, Some(&body)).await;
    let ok = matches!(answer, Ok((200, _)));
    if !r.row(
        "the terminal runs regional, one bay per region line",
        "200",
        match answer {
            Ok((status, body)) => format!("{status} {}", body["detail"].as_str().unwrap_or_default())
                .trim_end()
                .to_owned(),
            Err(e) => format!("{e:#}"),
        },
        t.elapsed(),
        ok,
    ) {
        return;
    }
    let stats_before = m.stats().await;

    // The morning's arrivals, in fleet order, each issued a ticket.
    let t = Instant::now();
    let mut outcomes = Vec::new();
    for (name, _) in FLEET {
        let answer = m.arrive(&m.plate(name)).await;
        outcomes.push(format!("{name} {}", answer["outcome"].as_str().unwrap_or("?")));
    }
    let queued = outcomes.iter().filter(|o| o.ends_with(" queued")).count();
    r.row(
        "every registered taxi is queued on arrival",
        format!("{} of {} queued", FLEET.len(), FLEET.len()),
        if queued == FLEET.len() {
            format!("{queued} of {} queued", FLEET.len())
        } else {
            outcomes.join(", ")
        },
        t.elapsed(),
        queued == FLEET.len(),
    );
    let t = Instant::now();
    let stranger = m.plate("X9");
    let held = m.arrive(&stranger).await;
    let listed = m.queues().await["held"]
        .as_array()
        .is_some_and(|h| h.iter().any(|x| x["plate"] == stranger.as_str()));
    r.row(
        "an unregistered plate is held for an operator, never queued",
        "held, unregistered, in the held list",
        format!(
            "{}, {}{}",
            held["outcome"].as_str().unwrap_or("?"),
            held["reason"].as_str().unwrap_or("?"),
            if listed {
                ", in the held list"
            } else {
                ", not in the held list"
            }
        ),
        t.elapsed(),
        held["outcome"] == "held" && held["reason"] == "unregistered" && listed,
    );
    let t = Instant::now();
    let q = m.queues().await;
    let seen = format!("{a} {} · {b} {}", line_of(&q, a, &m.tag), line_of(&q, b, &m.tag));
    let want = format!("{a} [A1] A2 A3 A4 A5 · {b} [B1] B2");
    r.row(
        "lines in arrival order, each head called to its bay",
        want.clone(),
        seen.clone(),
        t.elapsed(),
        seen == want,
    );

    // Passengers, first come first served: a short trip, then two long ones.
    let t = Instant::now();
    let mut served = Vec::new();
    let mut trips = Vec::new();
    for (region, km) in [(a, SHORT_KM), (a, LONG_KM), (b, LONG_KM)] {
        match m.request(region, km).await {
            Ok((name, id)) => {
                let (status, _) = m.report(id, "pickup").await;
                served.push(if status == 200 {
                    name.clone()
                } else {
                    format!("{name} (pickup {status})")
                });
                trips.push((name, id, km, Instant::now()));
            }
            Err(why) => served.push(format!("refused: {why}")),
        }
    }
    let seen = served.join(" ");
    r.row(
        "passengers get taxis in ticket order, each picked up",
        "A1 A2 B1",
        seen.clone(),
        t.elapsed(),
        seen == "A1 A2 B1",
    );

    // A no-show: the passenger passes to the next taxi in line.
    let t = Instant::now();
    let no_show = match m.request(a, LONG_KM).await {
        Ok((name, id)) => {
            let (status, answer) = m.report(id, "no-show").await;
            let next = answer["reassigned"]["plate"].as_str().map(|p| m.name_of(p));
            if let Some(next) = &next {
                m.report(id, "pickup").await;
                trips.push((next.clone(), id, LONG_KM, Instant::now()));
            }
            let refused = if status == 200 {
                String::new()
            } else {
                format!(" (answered {status})")
            };
            format!(
                "{name} no-show{refused}, passed to {}",
                next.as_deref().unwrap_or("nobody")
            )
        }
        Err(why) => format!("refused: {why}"),
    };
    r.row(
        "a no-show passes the passenger to the next taxi",
        "A3 no-show, passed to A4",
        no_show.clone(),
        t.elapsed(),
        no_show == "A3 no-show, passed to A4",
    );

    // The trips end: the short one arms a priority re-entry, the long ones do not.
    let t = Instant::now();
    let mut ends = Vec::new();
    for (name, id, km, _) in &trips {
        let done = m.complete(name, *id, *km).await;
        let kind = match (&done["short"], done["priority_until_ms"].is_i64()) {
            (Value::Bool(true), true) => "short, priority armed",
            (Value::Bool(false), false) => "long",
            _ => "unexpected",
        };
        ends.push(format!("{name} {kind}"));
    }
    let seen = ends.join(", ");
    let want = "A1 short, priority armed, A2 long, B1 long, A4 long";
    r.row(
        "trips complete: the short one arms a priority re-entry",
        want,
        seen.clone(),
        t.elapsed(),
        seen == want,
    );

    // Back at the lot: the long trip's taxi queues at the back; the short trip's, back after
    // a plausible time, goes ahead of everyone waiting.
    let t = Instant::now();
    let long_back = m.arrive(&m.plate("A2")).await;
    if let Some((_, _, _, picked)) = trips.first() {
        let back_at = *picked + SHORT_TRIP_BACK;
        tokio::time::sleep(back_at.saturating_duration_since(Instant::now())).await;
    }
    let short_back = m.arrive(&m.plate("A1")).await;
    let decision = |v: &Value| v["priority"]["decision"].as_str().unwrap_or("?").to_owned();
    let q = m.queues().await;
    let line = line_of(&q, a, &m.tag);
    let waiting: Vec<&str> = line.split_once("] ").map_or("", |w| w.1).split(' ').collect();
    let ok = decision(&short_back) == "honoured"
        && decision(&long_back) == "not_eligible"
        && waiting.first() == Some(&"A1*")
        && waiting.last() == Some(&"A2");
    r.row(
        "the short trip's taxi re-enters first, the long trip's at the back",
        "A1 honoured, first in line; A2 not_eligible, last",
        format!("A1 {}, A2 {}; {a} {line}", decision(&short_back), decision(&long_back)),
        t.elapsed(),
        ok,
    );

    // The figures count the morning.
    let t = Instant::now();
    let stats = m.stats().await;
    let delta = |region: &str| {
        let (now, then) = (counters(&stats, region), counters(&stats_before, region));
        [now[0] - then[0], now[1] - then[1], now[2] - then[2], now[3] - then[3]]
    };
    let waits = stats["items"]
        .as_array()
        .and_then(|rows| rows.iter().find(|s| s["region"] == a && s["class"] == "standard"))
        .map(|s| format!("; {a} waits p50 {} ms, max {} ms", s["wait_p50_ms"], s["wait_max_ms"]))
        .unwrap_or_default();
    let (da, db) = (delta(a), delta(b));
    r.row(
        "the dispatch figures count the morning",
        format!(
            "{a} {} · {b} {}",
            show_counters([3, 1, 2, 1]),
            show_counters([1, 0, 1, 0])
        ),
        format!("{a} {} · {b} {}{waits}", show_counters(da), show_counters(db)),
        t.elapsed(),
        da == [3, 1, 2, 1] && db == [1, 0, 1, 0],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal() -> Value {
        json!({"lines": [
            {"line": {"scope": "seoul", "class": "standard"},
             "curb": [{"plate": "DABC123-A3"}],
             "waiting": [{"plate": "DABC123-A1", "priority": true}, {"plate": "OTHER1"}, {"plate": "DABC123-A2"}]},
            {"line": {"scope": "seoul", "class": "deluxe"}, "curb": [], "waiting": [{"plate": "DABC123-D1"}]},
            {"line": {"scope": "incheon", "class": "standard"}, "curb": [], "waiting": []}
        ]})
    }

    #[test]
    fn a_line_reads_curb_then_waiting_with_drill_names_and_priority_marks() {
        let t = terminal();
        assert_eq!(line_of(&t, "seoul", "DABC123"), "[A3] A1* OTHER1 A2");
        assert_eq!(line_of(&t, "incheon", "DABC123"), "[-] -");
        assert_eq!(line_of(&t, "gyeonggi", "DABC123"), "no such line");
    }

    #[test]
    fn every_taxi_in_line_counts_against_a_quiet_terminal() {
        assert_eq!(
            taxis_in_line(&terminal()),
            ["DABC123-A3", "DABC123-A1", "OTHER1", "DABC123-A2", "DABC123-D1"]
        );
        assert!(taxis_in_line(&json!({"lines": []})).is_empty());
    }

    #[test]
    fn counters_are_zero_for_a_line_with_no_figures_yet() {
        let stats = json!({"items": [{"region": "seoul", "class": "standard", "served": 3, "short_trips": 1, "long_trips": 2, "no_shows": 1}]});
        assert_eq!(counters(&stats, "seoul"), [3, 1, 2, 1]);
        assert_eq!(counters(&stats, "incheon"), [0, 0, 0, 0]);
        assert_eq!(show_counters([3, 1, 2, 1]), "+3 served (1 short, 2 long), +1 no-show");
    }
}
