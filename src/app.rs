//! Wiring: opens the store, builds the services and actors, and serves HTTP (and plain TCP
//! STOMP when configured).
//!
//! The order matters and is the dependency order of DESIGN.md: store (migrated, admin user,
//! signing key) > alert service > device arbiters and supervisor > taxi journal, supervisors
//! and actors > HTTP and plain TCP STOMP. Shutdown runs it backwards: the HTTP server drains,
//! the TCP STOMP listener stops accepting and closes its sessions, device and taxi actors stop
//! on purpose (no restarts; each terminal hands its final snapshot to the journal, which stores
//! it), the arbiters end, and the store's pools close when the last handle drops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::dev::ServerHandle;
use actix_web::http::KeepAlive;
use actix_web::rt::net::TcpStream;
use actix_web::{middleware, web, App, HttpServer};
use rand::distr::{Alphanumeric, SampleString};
use thiserror::Error;

use crate::alert::messages::ReplayOutbox;
use crate::alert::AlertService;
use crate::auth::{password, Keys, Role};
use crate::broker::{Broker, Bus, LocalBus};
use crate::command::CommandService;
use crate::config::Config;
use crate::device::actor::DeviceShared;
use crate::device::Devices;
use crate::http::login_guard::{LoginGuard, Logins, PasswordChecks};
use crate::http::origin_policy::AllowedOrigins;
use crate::http::{self, AppState};
use crate::http::{conn_guard, origin_guard, upgrade_guard};
use crate::ids::IdGen;
use crate::limit::Limits;
use crate::parking::{Parking, ParkingBoot};
use crate::store::models::{alerts, commands, devices, settings, users};
use crate::store::{Store, StoreError};
use crate::supervision::RestartPolicy;
use crate::taxi::{TaxiBoot, TaxiDeps, Taxis};
use crate::time::{Clock, Millis, SystemClock};
use crate::tls::ListenerTls;
use crate::transport::{self, relay::Relay, tcp};

/// The settings key of the generated token signing key.
pub const JWT_SECRET_KEY: &str = "jwt_secret";
/// Length of a generated signing key.
const GENERATED_SECRET_LEN: usize = 48;

#[derive(Debug, Error)]
pub enum StartError {
    #[error("invalid setting: {0}")]
    Setting(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("start-up task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// What the blocking part of start-up reads from the store.
struct Prepared {
    store: Store,
    secret: String,
    device_rows: Vec<devices::Device>,
    open_alerts: Vec<alerts::Alert>,
    open_commands: Vec<commands::Command>,
    taxi_boot: TaxiBoot,
    parking_boot: ParkingBoot,
    revocations: crate::auth::Revocations,
    receivers: Vec<crate::store::models::receivers::Receiver>,
}

/// Opens and migrates the store and reads what the services start from. Blocking.
fn prepare(config: &Config) -> Result<Prepared, StoreError> {
    let store = Store::open(&config.database_url)?;
    let ran = store.migrate()?;
    log::info!("store ready backend={:?} migrations_run={}", store.backend(), ran.len());
    ensure_admin(&store, config)?;
    store.ensure_fences(
        config.ownership().partitions.count(),
        config.node_id,
        Millis::now().as_i64(),
    )?;
    let secret = signing_secret(&store, config.jwt_secret.as_deref())?;
    let device_rows = store.read_blocking(devices::all)?;
    let open_alerts = store.read_blocking(alerts::unresolved)?;
    let open_commands = store.read_blocking(commands::open)?;
    let taxi_boot = TaxiBoot::read(&store)?;
    let parking_boot = ParkingBoot::read(&store)?;
    let revocations = crate::accounts::load_blocking(&store)?;
    let receivers = store.read_blocking(crate::store::models::receivers::all)?;
    Ok(Prepared {
        receivers,
        revocations,
        store,
        secret,
        device_rows,
        open_alerts,
        open_commands,
        taxi_boot,
        parking_boot,
    })
}

/// The token signing key: configured, or generated once and kept in the store.
pub fn signing_secret(store: &Store, configured: Option<&str>) -> Result<String, StoreError> {
    if let Some(secret) = configured {
        return Ok(secret.to_owned());
    }
    let fresh = Alphanumeric.sample_string(&mut rand::rng(), GENERATED_SECRET_LEN);
    store.write_blocking(|c| settings::get_or_insert(c, JWT_SECRET_KEY, &fresh))
}

/// Creates `admin` on first start with an empty user table.
fn ensure_admin(store: &Store, config: &Config) -> Result<(), StoreError> {
    if store.read_blocking(users::count)? > 0 {
        return Ok(());
    }
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.clone(), false),
        None => (password::generate(), true),
    };
    let user = users::User {
        username: "admin".into(),
        password_hash: password::hash(&password),
        role: Role::Admin.as_str().into(),
        created_ms: Millis::now().0,
        disabled: false,
    };
    store.write_blocking(|c| users::insert(c, &user))?;
    if generated {
        log::warn!("admin user created username=admin password={password} (generated; shown only this once)");
    } else {
        log::info!("admin user created username=admin password=from KWANJE_ADMIN_PASSWORD");
    }
    Ok(())
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// The plain TCP STOMP address, when `KWANJE_STOMP_TCP` is set (the port chosen for `:0`).
    pub stomp_tcp: Option<SocketAddr>,
    pub state: web::Data<AppState>,
    handle: ServerHandle,
    server: actix_web::dev::Server,
    tcp: Option<tcp::Listener>,
    arbiters: Vec<Arbiter>,
    /// Reloads the TLS certificate on SIGHUP, when TLS is on.
    tls_reload: Option<actix_web::rt::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("stomp_tcp", &self.stomp_tcp)
            .finish()
    }
}

impl Running {
    /// A handle that stops the server (gracefully when `graceful`).
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Serves until the server stops (a signal, or [`ServerHandle::stop`]), then shuts the
    /// actors down in order.
    pub async fn wait(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(reload) = &self.tls_reload {
            reload.abort();
        }
        if let Some(tcp) = self.tcp {
            tcp.stop(self.state.config.shutdown_timeout()).await;
        }
        log::info!("http stopped; stopping device and taxi actors");
        self.state.devices.stop_all();
        self.state.taxis.shutdown().await;
        if let Some(node) = &self.state.cluster {
            // Released only once this node's actors have stopped: the next owner starts at once.
            node.shutdown().await;
        }
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
        log::info!("shutdown complete");
        result
    }
}

/// Starts everything and binds `config.bind`. With `signals`, SIGINT/SIGTERM stop it
/// gracefully; tests pass `false` and stop it through the handle.
pub async fn start(config: Config, signals: bool) -> Result<Running, StartError> {
    start_with_clock(config, signals, Arc::new(SystemClock)).await
}

/// [`start`] with a given clock (tests step a [`crate::time::ManualClock`] through a morning).
pub async fn start_with_clock(config: Config, signals: bool, clock: Arc<dyn Clock>) -> Result<Running, StartError> {
    let taxi_settings = config.taxi_settings().parse().map_err(StartError::Setting)?;
    // Cluster mode's settings are checked before the store opens: SQLite is refused at once.
    let cluster_settings = crate::cluster::ClusterSettings::from_config(&config)?;
    let config = Arc::new(config);
    let cfg = config.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(&cfg))
        .await
        .map_err(|e| StartError::Task(e.to_string()))??;
    let (cluster, changes) = match cluster_settings {
        Some(settings) => {
            let (node, changes) =
                crate::cluster::ClusterNode::start(settings, config.bind.clone(), Millis::now().0).await?;
            (Some(node), Some(changes))
        }
        None => (None, None),
    };
    // One owner check for every part: devices, their records, commands and taxis ask the same.
    let ownership = cluster
        .as_ref()
        .map_or_else(|| config.ownership(), |node| node.ownership());
    let ids = Arc::new(IdGen::new(config.node_id));
    let store = prepared.store;

    // Alert receivers (webhooks): routed in the alert service's transactions, delivered by the
    // dispatcher from the store.
    let receivers = Arc::new(crate::notify::Receivers::default());
    receivers.replace(&prepared.receivers);
    // Open alerts of devices no longer in service: a decommissioning whose resolutions a crash
    // cut off. Resolved here once the service runs (on a single node: in a cluster each
    // device's owner resolves them when told).
    let orphaned: Vec<crate::alert::Intent> = if cluster.is_none() {
        let in_service: std::collections::HashSet<&str> = prepared.device_rows.iter().map(|r| r.id.as_str()).collect();
        prepared
            .open_alerts
            .iter()
            .filter(|a| a.subject_type == "device" && !in_service.contains(a.subject_id.as_str()))
            .filter_map(|a| {
                Some(crate::alert::Intent::Retire {
                    subject: crate::alert::Subject {
                        kind: crate::alert::SubjectType::Device,
                        id: a.subject_id.clone(),
                    },
                    kind: a.kind.parse().ok()?,
                    by: "system".into(),
                    why: "device decommissioned".into(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let alerts = AlertService::new(store.clone(), ids.clone(), clock.clone(), prepared.open_alerts)
        .renotify_every(Duration::from_secs(config.renotify_secs.max(1)))
        .with_fanout(receivers.clone())
        .start();
    actix_web::rt::spawn(
        crate::notify::dispatcher::Dispatcher {
            store: store.clone(),
            receivers: receivers.clone(),
            ownership: ownership.clone(),
            clock: clock.clone(),
        }
        .run(),
    );
    let commands = CommandService::new(
        store.clone(),
        ids.clone(),
        clock.clone(),
        alerts.clone(),
        config.command_ack_timeout(),
        prepared.open_commands,
    )
    .with_ownership(ownership.clone())
    .start();
    let arbiters: Vec<Arbiter> = (0..config.device_threads()).map(|_| Arbiter::new()).collect();
    let shared = Arc::new(
        DeviceShared::new(clock.clone(), alerts.clone(), ids.clone(), config.flap_policy())
            .with_ownership(ownership.clone()),
    );
    let devices = Devices::start(
        store.clone(),
        prepared.device_rows,
        shared,
        arbiters.iter().map(Arbiter::handle).collect(),
        RestartPolicy::default(),
        ownership.clone(),
    );
    let taxis = Taxis::start(
        TaxiDeps {
            store: store.clone(),
            clock: clock.clone(),
            ids: ids.clone(),
            alerts: alerts.clone(),
            arbiters: arbiters.iter().map(Arbiter::handle).collect(),
            policy: RestartPolicy::default(),
            ownership: ownership.clone(),
        },
        prepared.taxi_boot,
        &taxi_settings,
    )
    .map_err(|e| StartError::Setting(e.to_string()))?;
    // The broker fans out to thousands of sessions: its own thread, off the HTTP workers.
    let broker_arbiter = Arbiter::new();
    let broker_clock = clock.clone();
    let grace = Duration::from_millis(config.client_disconnect_grace_ms);
    let broker = Broker::start_in_arbiter(&broker_arbiter.handle(), move |_| {
        Broker::new(broker_clock).with_disconnect_grace(grace)
    });
    // One node: the bus is this node's broker. In a cluster it also reaches every other node's.
    let local = LocalBus::new(broker.clone());
    let bus: Arc<dyn Bus> = match &cluster {
        Some(node) => Arc::new(node.bus(local).await?),
        None => Arc::new(local),
    };
    Relay::start(bus.clone(), &broker, &devices, &alerts, &commands, &taxis);
    crate::device::failover_watch::start(
        &devices,
        &commands,
        &alerts,
        config.command_ttl(),
        config.auto_failback(),
    );
    let parking = Parking::start(
        prepared.parking_boot,
        config.parking(),
        devices.clone(),
        commands.clone(),
        store.clone(),
        bus.clone(),
        clock.clone(),
        ids.clone(),
    );
    // In a cluster, what a client's session here sends for a partition another node owns goes
    // there, and what other nodes send here is applied as if the session were here.
    let elsewhere = match &cluster {
        Some(node) => {
            let services = transport::routes::Services {
                devices: devices.clone(),
                commands: commands.clone(),
                taxis: taxis.clone(),
                parking: parking.clone(),
                elsewhere: None,
            };
            let to = broker.clone();
            let forward = node
                .forward(move |message| transport::forwarded::apply(&services, &to, message))
                .await?;
            let elsewhere = crate::ownership::Elsewhere {
                ownership: ownership.clone(),
                forward: Arc::new(forward),
            };
            actix_web::rt::spawn(transport::forwarded::vouch_for_sessions(
                broker.clone(),
                elsewhere.clone(),
                node.settings.renew,
                node.settings.lease,
            ));
            Some(elsewhere)
        }
        None => None,
    };
    // In a cluster, a device registered, edited or decommissioned at any node is taken up by
    // every node (its owner runs it as the store now has it).
    if let Some(node) = &cluster {
        let reconciling = devices.clone();
        node.on_device_announced(move |id| {
            let devices = reconciling.clone();
            async move { devices.reconcile(id).await }
        })
        .await?;
    }
    // Every subscriber of alert changes is wired above this line: replay what a crash left
    // unpublished only now, so nobody misses it.
    alerts.do_send(ReplayOutbox);
    if !orphaned.is_empty() {
        log::warn!(
            "alerts of decommissioned devices resolved at start count={}",
            orphaned.len()
        );
        alerts.do_send(crate::alert::Record {
            writes: None,
            state: None,
            intents: orphaned,
            committed: None,
            fence: None,
        });
    }
    let logins = Logins {
        guard: LoginGuard::new(config.login_throttle(), clock.clone(), alerts.clone()).start(),
        checks: PasswordChecks::new(config.login_concurrency),
    };
    let mut keys = Keys::hs256(prepared.secret.as_bytes());
    if let Some((url, settings)) = config.outside_issuer().map_err(StartError::Setting)? {
        if settings.audience.is_none() {
            log::warn!("jwks without audience: any token of issuer={} with a kwanje role is accepted, whatever application it was made for; set KWANJE_JWT_AUDIENCE", settings.issuer);
        }
        let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
        if url.starts_with("http://") && !local.iter().any(|l| url.starts_with(l)) {
            log::warn!("jwks over plain http url={url}: whoever sits on the path can hand this server keys; use https");
        }
        let issuer = Arc::new(crate::auth::outside::OutsideIssuer::new(settings));
        let source = crate::accounts::jwks::KeySource::new(&url);
        // Fetched before serving, so the first outside token is checked against real keys.
        crate::accounts::jwks::refresh(&source, &issuer).await;
        actix_web::rt::spawn(crate::accounts::jwks::run(source, issuer.clone()));
        keys = keys.with_outside(issuer);
    }
    let accounts = crate::accounts::Accounts::new(store.clone(), broker.clone(), clock.clone(), prepared.revocations);
    let state = web::Data::new(AppState {
        config: config.clone(),
        store,
        keys: Arc::new(keys),
        devices,
        taxis,
        alerts,
        commands,
        broker,
        bus,
        ids,
        logins,
        clock,
        cluster: cluster.clone(),
        elsewhere,
        limits: Limits::new(
            config.max_connections_per_addr,
            config.max_sessions_per_principal,
            config.login_throttle(),
        ),
        parking,
        accounts: accounts.clone(),
        receivers,
        stomp: Arc::default(),
    });
    actix_web::rt::spawn(crate::accounts::sync::run(accounts, crate::accounts::SYNC_EVERY));
    let app_state = state.clone();
    let request_metrics = web::Data::new(http::request_metrics::RequestMetrics::default());
    let sessions = web::Data::new(transport::driver::Shared::new(&state));
    let tcp_sessions = sessions.clone().into_inner();
    let conformance = config.conformance;
    let keepalive = config.tcp_keepalive();
    let connections = state.limits.connections.clone();
    let origins = web::Data::new(AllowedOrigins::parse(&config.allowed_origins).map_err(StartError::Setting)?);
    config.client_cert_mode().map_err(StartError::Setting)?;
    let tls = match (config.tls_files()?, config.tls_client_ca()) {
        (Some((cert, key)), client_ca) => Some(ListenerTls::load(cert, key, client_ca)?),
        (None, Some(_)) => return Err(crate::tls::TlsError::ClientCaWithoutTls.into()),
        (None, None) => None,
    };
    // One registry of SockJS sessions for every worker: a session's requests land on any of them.
    let sockjs = web::Data::new(transport::sockjs::SockJs::start(&config));
    // The SockJS test suite's services (conformance mode only), one registry each.
    let sockjs_tests: Vec<(&'static str, web::Data<transport::sockjs::SockJs>)> = if conformance {
        transport::sockjs::SockJs::conformance(&config)
            .into_iter()
            .map(|(name, service)| (name, web::Data::new(service)))
            .collect()
    } else {
        Vec::new()
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(sessions.clone())
            .app_data(origins.clone())
            .app_data(request_metrics.clone())
            .wrap(middleware::from_fn(origin_guard::check))
            .wrap(middleware::from_fn(upgrade_guard::check))
            .wrap(middleware::from_fn(conn_guard::check))
            .wrap(middleware::from_fn(http::request_metrics::record))
            // A WebSocket's response lives as long as its session: the logger would hold a
            // copy of its format per session until then. Sessions log their own opening and end.
            .wrap(
                middleware::Logger::new("http request=\"%r\" status=%s bytes=%b ms=%D")
                    .exclude_regex(transport::LONG_LIVED_PATHS),
            )
            .configure(|cfg| transport::routes(cfg, conformance, &sockjs, &sockjs_tests))
            .configure(crate::console::routes)
            .configure(http::routes)
    })
    .on_connect(move |connection, data| {
        let tcp = connection.downcast_ref::<TcpStream>().or_else(|| {
            connection
                .downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>()
                .map(|tls| tls.get_ref().0)
        });
        let Some(tcp) = tcp else {
            return;
        };
        conn_guard::admit(&connections, tcp.peer_addr().ok(), data);
        if let Some(tls) = connection.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>() {
            if let Some(client) = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(crate::tls::client_named_by)
            {
                data.insert(client);
            }
        }
        let Some(idle) = keepalive else {
            return;
        };
        if let Err(err) = transport::keepalive::enable(tcp, idle) {
            log::warn!("http keepalive failed error={err}");
        }
    })
    .client_request_timeout(Duration::from_millis(config.request_head_timeout_ms.max(1)))
    .keep_alive(KeepAlive::Timeout(Duration::from_millis(config.keep_alive_ms.max(1))))
    .workers(config.http_workers())
    .shutdown_timeout(config.shutdown_timeout().as_secs())
    // A client that closes its side is gone: browsers never half-close, and a long poll or a
    // SockJS streaming response must notice a closed tab at once, not at its next write.
    .h1_allow_half_closed(false)
    .disable_signals();
    let server = match &tls {
        Some(tls) => server.bind_rustls_0_23(&config.bind, tls.http.clone()),
        None => server.bind(&config.bind),
    }
    .map_err(|source| StartError::Bind {
        addr: config.bind.clone(),
        source,
    })?;
    let addr = server.addrs().first().copied().ok_or_else(|| StartError::Bind {
        addr: config.bind.clone(),
        source: std::io::Error::other("no address bound"),
    })?;
    let tcp = match config.stomp_tcp() {
        Some(addr) => Some(
            tcp::Listener::start(
                addr,
                tcp_sessions,
                config.http_workers(),
                config.tcp_keepalive(),
                tls.as_ref().map(|tls| tls.tcp.clone()),
            )
            .await
            .map_err(|source| StartError::Bind {
                addr: addr.to_owned(),
                source,
            })?,
        ),
        None => None,
    };
    if let (Some(node), Some(changes)) = (&cluster, changes) {
        let advertised = config.advertise_addr.clone().unwrap_or_else(|| addr.to_string());
        if advertised.starts_with("0.0.0.0:") || advertised.starts_with("[::]:") {
            log::warn!(
                "cluster advertise address is unspecified addr={advertised}: set KWANJE_ADVERTISE_ADDR so other nodes can pass requests here"
            );
        }
        node.set_addr(advertised);
        actix_web::rt::spawn(act_on_ownership(
            changes,
            state.devices.clone(),
            state.taxis.clone(),
            state.store.clone(),
            ownership.partitions,
            config.node_id,
            state.alerts.clone(),
        ));
    }
    let server = server.run();
    let handle = server.handle();
    if signals {
        actix_web::rt::spawn(stop_on_signal(handle.clone()));
    }
    let tls_reload = match &tls {
        Some(tls) => Some(
            crate::tls::reload_on_sighup(tls.slot.clone()).map_err(|source| StartError::Bind {
                addr: "SIGHUP".into(),
                source,
            })?,
        ),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    log::info!(
        "serving addr={addr} scheme={scheme} device_threads={} fault_injection={}",
        arbiters.len(),
        config.fault_injection
    );
    if tls.is_none() && !addr.ip().is_loopback() {
        log::warn!(
            "serving plain http on a non-loopback address addr={addr}: set KWANJE_TLS_CERT and KWANJE_TLS_KEY, \
             or keep a TLS proxy in front"
        );
    }
    let mut arbiters = arbiters;
    arbiters.push(broker_arbiter);
    Ok(Running {
        addr,
        stomp_tcp: tcp.as_ref().map(tcp::Listener::addr),
        state,
        handle,
        server,
        tcp,
        arbiters,
        tls_reload,
    })
}

/// Resolves on SIGINT or SIGTERM (logged as `signal=... stopping gracefully`).
pub async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                log::warn!("cannot listen for SIGTERM error={e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => log::info!("signal=SIGINT stopping gracefully"),
        _ = term => log::info!("signal=SIGTERM stopping gracefully"),
    }
}

/// SIGINT and SIGTERM both stop the server gracefully: in-flight requests finish (up to the
/// shutdown timeout), then [`Running::wait`] stops the actors.
async fn stop_on_signal(handle: ServerHandle) {
    stop_signal().await;
    handle.stop(true).await;
}

/// Starts a partition's devices and taxi actors when this node gains it, stops them when it
/// loses it (cluster mode), in the order the lease task reports.
async fn act_on_ownership(
    mut changes: tokio::sync::mpsc::UnboundedReceiver<crate::cluster::Change>,
    devices: Devices,
    taxis: Taxis,
    store: Store,
    partitions: crate::ownership::Partitions,
    node_id: u16,
    alerts: Addr<AlertService>,
) {
    use crate::cluster::Change;
    while let Some(first) = changes.recv().await {
        // The changes a lease round sent together: their takeovers make one alert per node.
        let mut taken = Vec::new();
        let mut next = Some(first);
        while let Some(change) = next {
            match change {
                Change::Gained { fence, from } => {
                    if let Some(from) = from {
                        log::info!(
                            "node_takeover partition={} from_node={from} token={}",
                            fence.partition,
                            fence.token
                        );
                    }
                    if record_fence(&store, fence, node_id).await {
                        if let Some(from) = from {
                            taken.push((from, fence.partition));
                        }
                        taxis.partition_gained(partitions, fence.partition).await;
                        devices.partition_gained(partitions, fence.partition).await;
                    }
                }
                Change::Lost { partition } => {
                    devices.partition_lost(partitions, partition);
                    taxis.partition_lost(partitions, partition);
                }
            }
            next = changes.try_recv().ok();
        }
        let intents = crate::cluster::takeover::intents(node_id, &taken);
        if !intents.is_empty() {
            alerts.do_send(crate::alert::messages::Record {
                writes: None,
                state: None,
                intents,
                committed: None,
                // About the cluster, not a partition's subject.
                fence: None,
            });
        }
    }
}

/// Records a gained lease's token with the store, so that writes under an older token (the
/// previous owner's) are refused from now on. False when the partition must not be acted for:
/// a newer token is recorded (this lease is stale), or the store stayed unreachable.
async fn record_fence(store: &Store, fence: crate::ownership::Fence, node: u16) -> bool {
    for attempt in 1..=5 {
        match store.advance_fence(fence, node, Millis::now().0).await {
            Ok(true) => return true,
            Ok(false) => {
                // A newer owner recorded its token first: this lease was handed over or taken
                // while the gain waited its turn (the fence doing its work, not a fault).
                log::warn!(
                    "partition fence stale partition={} token={}; a newer owner recorded its token, not acting for it",
                    fence.partition,
                    fence.token
                );
                return false;
            }
            Err(e) => {
                log::warn!(
                    "partition fence not recorded partition={} attempt={attempt} error={e}",
                    fence.partition
                );
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
        }
    }
    false
}
