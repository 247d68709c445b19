//! The heartbeat hot path's rig, shared by `benches/heartbeat_alloc.rs` and
//! `tests/heartbeat_alloc.rs` (each its own binary, since each sets a counting global
//! allocator): the real server started in this process (SQLite in a temporary directory), a
//! client hosting `n` devices, and one STOMP session of that client driven through the real
//! transport driver ([`Driver`]) on this thread, as a transport's actor drives it.

// Each includer uses its own part of the rig.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::web;
use bytes::Bytes;
use kwanje::auth::{Claims, Principal, Role};
use kwanje::broker::messages::{Deliver, Evict, Outlet};
use kwanje::config::Config;
use kwanje::device::registry::Device;
use kwanje::device::{DeviceKind, DeviceState, Registration};
use kwanje::http::AppState;
use kwanje::store::models::clients;
use kwanje::time::Millis;
use kwanje::transport::driver::{Driver, Link, Shared};
use kwanje::transport::routes::Services;

pub const CLIENT: &str = "gate-1";

/// Takes the broker's deliveries for the rig's session (it subscribes to nothing).
struct Sink;

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Deliver> for Sink {
    type Result = ();
    fn handle(&mut self, _: Deliver, _: &mut Context<Self>) {}
}

impl Handler<Evict> for Sink {
    type Result = ();
    fn handle(&mut self, _: Evict, _: &mut Context<Self>) {}
}

/// The transport side of the rig's session: keeps the last frame written (no list, so writing
/// allocates nothing of the link's own).
pub struct NullLink {
    sink: Addr<Sink>,
    pub written: usize,
    pub last: Option<Bytes>,
    pub closed: bool,
}

impl Link for NullLink {
    fn write(&mut self, bytes: Bytes, _text: bool) {
        self.written += 1;
        self.last = Some(bytes);
    }
    fn pending(&self) -> usize {
        0
    }
    fn close(&mut self, _normal: bool) {
        self.closed = true;
    }
    fn outlet(&mut self) -> Outlet {
        Outlet::of(self.sink.clone())
    }
    fn arm(&mut self, _due: Option<Millis>, _now: Millis) {}
}

pub struct Rig {
    pub state: web::Data<AppState>,
    pub devices: Vec<Arc<Device>>,
    pub driver: Driver,
    pub link: NullLink,
    pub principal: Principal,
    pub services: Services,
    _dir: tempfile::TempDir,
}

/// A STOMP frame as a client writes it.
fn stomp(command: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut frame = format!("{command}\n");
    for (name, value) in headers {
        frame.push_str(&format!("{name}:{value}\n"));
    }
    frame.push('\n');
    frame.push_str(body);
    frame.push('\0');
    frame.into_bytes()
}

/// An `/app/heartbeat` body for `ids`, all `ok`.
pub fn heartbeat_body<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let beats: Vec<String> = ids.map(|id| format!(r#"{{"id":"{id}","status":"ok"}}"#)).collect();
    format!(r#"{{"devices":[{}]}}"#, beats.join(","))
}

/// A SEND frame to `/app/heartbeat` with `body`.
pub fn heartbeat_frame(body: &str) -> Vec<u8> {
    stomp(
        "SEND",
        &[("destination", "/app/heartbeat"), ("content-type", "application/json")],
        body,
    )
}

impl Rig {
    /// Starts the server with `n` devices hosted by [`CLIENT`], connects the session and brings
    /// every device up (its actor watching, so an `ok` heartbeat stops at its timestamp).
    pub async fn start(n: usize) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::with_database(&format!("sqlite://{}", dir.path().join("rig.db").display()));
        config.bind = "127.0.0.1:0".into();
        config.admin_password = Some("admin-pw".into());
        config.http_workers = Some(1);
        config.max_connections_per_addr = 0;
        config.max_sessions_per_principal = 0;
        let running = kwanje::app::start(config, false).await.expect("server starts");
        let state = running.state.clone();
        actix_web::rt::spawn(running.wait());
        let now = Millis::now().0;
        state
            .store
            .write(move |c| {
                clients::insert(
                    c,
                    &clients::Client {
                        id: CLIENT.into(),
                        name: CLIENT.into(),
                        site: None,
                        created_ms: now,
                        decommissioned_ms: None,
                    },
                )
            })
            .await
            .unwrap();
        let mut devices = Vec::with_capacity(n);
        for i in 0..n {
            let spec = Registration {
                id: format!("dev-{i:05}").parse().unwrap(),
                kind: DeviceKind::LprCamera,
                client_id: CLIENT.parse().unwrap(),
                site: None,
                zone: None,
                lane: None,
                standby_id: None,
                heartbeat_interval_ms: None,
                miss_tolerance: None,
                auto_failover: None,
            }
            .into_spec()
            .unwrap();
            devices.push(state.devices.register(spec, "rig").await.unwrap());
        }

        let mut claims = Claims::new(CLIENT, Role::Client, Millis::now(), Duration::from_secs(3_600));
        claims.client = Some(CLIENT.to_owned());
        let token = state.keys.issue(&claims).unwrap();
        let principal = state.keys.verify(&token).unwrap();
        let services = Services::of(&state);
        let mut link = NullLink {
            sink: Sink.start(),
            written: 0,
            last: None,
            closed: false,
        };
        let mut driver = Driver::new(Arc::new(Shared::new(&state)), kwanje::stomp::Transport::WebSocket);
        driver.started(&mut link);
        let connect = stomp(
            "CONNECT",
            &[
                ("accept-version", "1.2"),
                ("host", "kwanje"),
                ("heart-beat", "0,0"),
                ("passcode", &token),
            ],
            "",
        );
        driver.data(&connect, &mut link);
        let connected = link.last.take().expect("an answer to CONNECT");
        assert!(connected.starts_with(b"CONNECTED"), "{connected:?}");
        let mut rig = Rig {
            state,
            devices,
            driver,
            link,
            principal,
            services,
            _dir: dir,
        };
        // The first heartbeat of each goes to its actor, which brings it up and starts watching.
        let all = heartbeat_frame(&rig.body(n));
        rig.send(&all);
        rig.wait_until_watched().await;
        rig
    }

    /// An `/app/heartbeat` body for the first `n` devices.
    pub fn body(&self, n: usize) -> String {
        let specs: Vec<_> = self.devices.iter().take(n).map(|d| d.spec()).collect();
        heartbeat_body(specs.iter().map(|s| s.id.as_str()))
    }

    /// Hands `frame` to the session as if it had just been read from its socket.
    pub fn send(&mut self, frame: &[u8]) {
        self.driver.data(frame, &mut self.link);
        assert!(!self.link.closed, "the session was closed: {:?}", self.link.last);
    }

    /// Waits until every device is up and its actor watches its timestamp.
    pub async fn wait_until_watched(&self) {
        for device in &self.devices {
            while !(device.watched() && device.state() == DeviceState::Up) {
                actix_web::rt::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}
