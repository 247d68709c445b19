//! Taxi auto-dispatch over HTTP with the real server: a morning at the lot stepped by a manual
//! clock ([`morning`]), the access rules of every taxi and dispatch endpoint ([`access`]),
//! crashes and restarts that must not cost anyone their place ([`recovery`]), an operator
//! lifting a quarantine ([`lift`]), and a taxi moving between lots ([`lots`]).

mod access;
mod edits;
mod fenced;
mod lift;
mod live;
mod lots;
mod metrics;
mod morning;
mod outage;
mod priority;
mod recovery;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kwanje::auth::Role;
use kwanje::config::Config;
use kwanje::time::{ManualClock, Millis};
use serde_json::{json, Value};

use crate::support::{driver_token, Backend, Server};

/// 06:00 on a November morning (epoch ms), so test times read as clock times.
pub const MORNING: i64 = 1_795_471_200_000;
pub const SEC: i64 = 1_000;
pub const MIN: i64 = 60 * SEC;
/// Pings come this often while the clock is stepped; under the 30 s suspension.
const PING_EVERY: Duration = Duration::from_secs(25);
pub const WAIT: Duration = Duration::from_secs(10);

/// The settings every taxi test runs with: fault injection on, and a joint zone that lets
/// gyeonggi taxis serve seoul.
pub fn settings(c: &mut Config) {
    c.fault_injection = true;
    c.device_threads = Some(2);
    c.taxi_joint_zones = "gyeonggi:seoul".into();
}

/// A server on a manual clock, with the tokens of a lot gate PC, a kiosk and an operator, and
/// the set of drivers whose apps are pinging.
pub struct Airport {
    pub s: Server,
    pub clock: ManualClock,
    pub gate: String,
    pub kiosk: String,
    pub operator: String,
    live: std::sync::Mutex<BTreeSet<String>>,
}

impl Airport {
    pub async fn start(backend: Backend) -> Airport {
        Airport::start_at(backend, Millis(MORNING)).await
    }

    /// An airport whose clock starts at `start` (STOMP sessions check tokens against it, so a
    /// test that connects over STOMP starts at the wall clock's time).
    pub async fn start_at(backend: Backend, start: Millis) -> Airport {
        let clock = ManualClock::new(start);
        let s = Server::start_clocked(backend, Arc::new(clock.clone()), settings).await;
        Airport::with(s, clock)
    }

    pub fn with(s: Server, clock: ManualClock) -> Airport {
        Airport {
            gate: s.token("gate-lot", Role::Client, Some("gate-lot")),
            kiosk: s.token("kiosk-t1", Role::Client, Some("kiosk-t1")),
            operator: s.token("op", Role::Operator, None),
            s,
            clock,
            live: std::sync::Mutex::new(BTreeSet::new()),
        }
    }

    /// Minutes since 06:00.
    pub fn minutes(&self) -> f64 {
        use kwanje::time::Clock;
        (self.clock.now().0 - MORNING) as f64 / MIN as f64
    }

    pub async fn register(&self, plate: &str, licence: &str, class: &str) {
        let (status, body) = self
            .s
            .post(
                "/api/v1/taxis",
                json!({"plate": plate, "license_region": licence, "class": class}),
            )
            .await;
        assert_eq!(status, 201, "register {plate}: {body}");
    }

    pub fn driver(&self, plate: &str) -> String {
        driver_token(&self.s.state, plate)
    }

    /// The driver's app starts pinging (and pings now).
    pub async fn goes_live(&self, plate: &str) {
        self.live.lock().unwrap().insert(plate.to_owned());
        let (status, body) = self.ping(plate).await;
        assert_eq!(status, 200, "ping {plate}: {body}");
    }

    /// The driver's app falls silent.
    pub fn goes_silent(&self, plate: &str) {
        self.live.lock().unwrap().remove(plate);
    }

    pub async fn ping(&self, plate: &str) -> (u16, Value) {
        let token = self.driver(plate);
        let path = format!("/api/v1/taxis/{plate}/heartbeat");
        self.s.call("POST", &path, Some(&token), None).await
    }

    /// Moves the clock to `minute` (since 06:00) in steps, every live app pinging at each step.
    pub async fn at(&self, minute: f64) {
        use kwanje::time::Clock;
        let target = MORNING + (minute * MIN as f64) as i64;
        loop {
            let now = self.clock.now().0;
            if now >= target {
                break;
            }
            let step = (target - now).min(PING_EVERY.as_millis() as i64);
            self.clock.advance(Duration::from_millis(step as u64));
            let live: Vec<String> = self.live.lock().unwrap().iter().cloned().collect();
            for plate in live {
                let (status, body) = self.ping(&plate).await;
                assert_eq!(status, 200, "ping {plate}: {body}");
            }
        }
    }

    /// The driver of `plate` chooses `region` for the shift.
    pub async fn choose_region(&self, plate: &str, region: &str) -> (u16, Value) {
        let path = format!("/api/v1/taxis/{plate}/service-region");
        let token = self.driver(plate);
        self.s
            .call("PUT", &path, Some(&token), Some(json!({"region": region})))
            .await
    }

    pub async fn arrive(&self, plate: &str, terminal: &str) -> (u16, Value) {
        let body = json!({"plate": plate, "terminal": terminal, "camera_id": "lpr-lot-entry"});
        self.s
            .call("POST", "/api/v1/taxis/arrivals", Some(&self.gate), Some(body))
            .await
    }

    pub async fn configure(&self, terminal: &str, mode: &str, slots: Value) -> (u16, Value) {
        let path = format!("/api/v1/terminals/{terminal}/dispatch");
        let body = json!({"mode": mode, "curb_slots": slots});
        self.s.call("PUT", &path, Some(&self.operator), Some(body)).await
    }

    pub async fn request(&self, terminal: &str, region: &str, km: f64, class: Option<&str>) -> (u16, Value) {
        let mut body = json!({"terminal": terminal, "destination_region": region, "distance_km": km});
        if let Some(class) = class {
            body["class"] = json!(class);
        }
        self.s
            .call("POST", "/api/v1/dispatch/requests", Some(&self.kiosk), Some(body))
            .await
    }

    pub async fn report(&self, id: &Value, what: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let path = format!("/api/v1/dispatch/{id}/{what}");
        self.s.call("POST", &path, Some(token), body).await
    }

    pub async fn pickup(&self, id: &Value) -> Value {
        let (status, body) = self.report(id, "pickup", &self.kiosk.clone(), None).await;
        assert_eq!(status, 200, "pickup {id}: {body}");
        body
    }

    pub async fn complete(&self, id: &Value, km: f64, plate: &str) -> Value {
        let token = self.driver(plate);
        let (status, body) = self
            .report(id, "complete", &token, Some(json!({"distance_km": km})))
            .await;
        assert_eq!(status, 200, "complete {id}: {body}");
        body
    }

    pub async fn queues(&self, terminal: &str) -> Value {
        let (status, body) = self.s.get(&format!("/api/v1/queues?terminal={terminal}")).await;
        assert_eq!(status, 200, "{body}");
        body["items"][0].clone()
    }

    pub async fn taxi(&self, plate: &str) -> Value {
        let (status, body) = self.s.get(&format!("/api/v1/taxis/{plate}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// A terminal's lines in a compact form: `line: [curb plate@bay ...] | waiting plates (p = priority, s = suspended)`.
pub fn lines(queues: &Value) -> Vec<String> {
    queues["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let line = format!(
                "{}/{}",
                l["line"]["scope"].as_str().unwrap(),
                l["line"]["class"].as_str().unwrap()
            );
            let curb: Vec<String> = l["curb"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| format!("{}@{}", c["plate"].as_str().unwrap(), c["bay"]))
                .collect();
            let waiting: Vec<String> = l["waiting"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| {
                    let mut s = w["plate"].as_str().unwrap().to_owned();
                    if w["priority"] == true {
                        s.push('*');
                    }
                    if w["suspended"] == true {
                        s.push('~');
                    }
                    s
                })
                .collect();
            format!("{line}: [{}] | {}", curb.join(" "), waiting.join(" "))
        })
        .collect()
}

/// The stats rows of a terminal as `region/class served mean p50 max short long no_shows refusals holds`.
pub fn stats_rows(stats: &Value) -> Vec<String> {
    stats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{} served={} mean={} p50={} max={} short={} long={} no_shows={} refusals={} holds={}",
                r["region"].as_str().unwrap(),
                r["class"].as_str().unwrap(),
                r["served"],
                r["wait_mean_ms"],
                r["wait_p50_ms"],
                r["wait_max_ms"],
                r["short_trips"],
                r["long_trips"],
                r["no_shows"],
                r["refusals"],
                r["holds"]
            )
        })
        .collect()
}
