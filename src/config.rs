//! Configuration: environment variables (names in API.md) with defaults that need no setup.

use std::time::Duration;

use clap::Args;

use crate::auth::throttle;

/// Default bytes queued for one WebSocket client before it is dropped as a slow consumer: room
/// for an alert storm (10,000 alerts are about 4.5 MB to each console), still a hard bound.
pub const DEFAULT_WS_OUTBOUND_LIMIT: usize = 16 * 1024 * 1024;
/// Default STOMP heart-beat, both directions (the server's `sx,sy`).
pub const DEFAULT_STOMP_HEART_BEAT_MS: u64 = 10_000;
/// The lowest heart-beat interval a client's wish is honoured down to.
pub const DEFAULT_STOMP_HEART_BEAT_MIN_MS: u64 = crate::stomp::heartbeat::DEFAULT_HEART_BEAT_FLOOR_MS;
/// Seconds a connection may be silent before TCP keep-alive probes start.
pub const DEFAULT_TCP_KEEPALIVE_SECS: u64 = 60;
/// A request head must be complete within 5 s (actix-web's own default, now a setting).
pub const DEFAULT_REQUEST_HEAD_TIMEOUT_MS: u64 = 5_000;
/// Idle keep-alive connections close after 15 s: longer than the 10 s heartbeat interval an
/// HTTP gate PC typically uses, so its connection is reused.
pub const DEFAULT_KEEP_ALIVE_MS: u64 = 15_000;
/// SockJS 0.3's defaults: a heartbeat frame every 25 s, a session gone 5 s after its last
/// receiving request, a streaming response ended after 128 KiB.
pub const DEFAULT_SOCKJS_HEARTBEAT_MS: u64 = 25_000;
pub const DEFAULT_SOCKJS_DISCONNECT_DELAY_MS: u64 = 5_000;
/// Long enough for a blink (the reconnect storm bench has 5,000 sessions back within 3.5 s),
/// well under a device's heartbeat deadline.
pub const DEFAULT_CLIENT_DISCONNECT_GRACE_MS: u64 = 5_000;
pub const DEFAULT_SOCKJS_STREAM_LIMIT_BYTES: usize = 128 * 1024;

/// `kwanje serve` settings. Every field has an environment variable and a default.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address for HTTP and WebSocket.
    #[arg(long, env = "KWANJE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// `sqlite://FILE` (default, embedded) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://kwanje.db")]
    pub database_url: String,
    /// Password for the `admin` user created on first start (generated and logged once if unset).
    #[arg(long, env = "KWANJE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// HS256 signing key for tokens (generated once and kept in the database if unset).
    #[arg(long, env = "KWANJE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// An outside identity provider's keys (a JWKS): an `http(s)://` URL or a file. Set, RS256
    /// and ES256 tokens of `KWANJE_JWT_ISSUER` are accepted beside the server's own.
    #[arg(long, env = "KWANJE_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// The `iss` the outside tokens must carry (needed with `KWANJE_JWKS_URL`).
    #[arg(long, env = "KWANJE_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// The `aud` the outside tokens must carry; unset, the audience is not checked.
    #[arg(long, env = "KWANJE_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// The outside tokens' claim that holds the kwanje role (a string, or a list).
    #[arg(long, env = "KWANJE_JWT_ROLE_CLAIM", default_value = "role")]
    pub jwt_role_claim: String,
    /// Enables the `/faults/crash` endpoints (drills and supervisor tests only).
    #[arg(long, env = "KWANJE_FAULT_INJECTION", value_parser = parse_flag, default_value = "0")]
    pub fault_injection: bool,
    /// This node's number (0-15), part of every generated id.
    #[arg(long, env = "KWANJE_NODE_ID", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=15))]
    pub node_id: u16,
    /// Threads running device actors (default: one per core).
    #[arg(long, env = "KWANJE_DEVICE_THREADS")]
    pub device_threads: Option<usize>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "KWANJE_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// Seconds between re-notifications of an unacknowledged critical alert.
    #[arg(long, env = "KWANJE_RENOTIFY_SECS", default_value_t = 300)]
    pub renotify_secs: u64,
    /// Milliseconds without an up/down change before a flapping device settles on what its
    /// heartbeats say (and its `flapping` alert resolves). Values under 1000 count as 1000.
    #[arg(long, env = "KWANJE_FLAP_HOLD_DOWN_MS", default_value_t = DEFAULT_FLAP_HOLD_DOWN_MS)]
    pub flap_hold_down_ms: u64,
    /// Milliseconds a delivered command waits for the client's ack before it times out.
    #[arg(long, env = "KWANJE_COMMAND_ACK_TIMEOUT_MS", default_value_t = 10_000)]
    pub command_ack_timeout_ms: u64,
    /// Milliseconds an undelivered command waits for its client, when the request names none.
    #[arg(long, env = "KWANJE_COMMAND_TTL_MS", default_value_t = 300_000)]
    pub command_ttl_ms: u64,
    /// Seconds a switched-away primary must stay up before an automatic `failback`; 0 (the
    /// default) leaves failback to operators.
    #[arg(long, env = "KWANJE_AUTO_FAILBACK_SECS", default_value_t = 0)]
    pub auto_failback_secs: u64,
    /// Seconds to finish in-flight requests at shutdown.
    #[arg(long, env = "KWANJE_SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,
    /// Also serves `/ws-echo`, a plain WebSocket echo for the Autobahn suite, and the SockJS test
    /// suite's services under `/sockjs-test/` (never by default).
    #[arg(long, env = "KWANJE_CONFORMANCE", value_parser = parse_flag, default_value = "0")]
    pub conformance: bool,
    /// The airport's time zone (IANA name): the operator console shows times in it.
    #[arg(long, env = "KWANJE_TIME_ZONE", default_value = "Asia/Seoul")]
    pub time_zone: String,
    /// The STOMP heart-beat the server offers, in ms, both directions, when a client names no
    /// wish of its own (0: the server never beats nor checks).
    #[arg(long, env = "KWANJE_STOMP_HEART_BEAT_MS", default_value_t = DEFAULT_STOMP_HEART_BEAT_MS)]
    pub stomp_heart_beat_ms: u64,
    /// The lowest STOMP heart-beat interval (ms) a client may ask for; a client asking less gets
    /// this, one asking more gets what it asked.
    #[arg(long, env = "KWANJE_STOMP_HEART_BEAT_MIN_MS", default_value_t = DEFAULT_STOMP_HEART_BEAT_MIN_MS)]
    pub stomp_heart_beat_min_ms: u64,
    /// Seconds of silence on an accepted connection (HTTP, WebSocket, TCP STOMP) before TCP
    /// keep-alive probes start; a peer whose network died is dropped about 30 s later. 0: off.
    #[arg(long, env = "KWANJE_TCP_KEEPALIVE_SECS", default_value_t = DEFAULT_TCP_KEEPALIVE_SECS)]
    pub tcp_keepalive_secs: u64,
    /// Milliseconds a connection has to send a whole request head; a slow or half-sent head is
    /// answered 408 and closed.
    #[arg(long, env = "KWANJE_REQUEST_HEAD_TIMEOUT_MS", default_value_t = DEFAULT_REQUEST_HEAD_TIMEOUT_MS)]
    pub request_head_timeout_ms: u64,
    /// Milliseconds an idle HTTP keep-alive connection stays open between requests.
    #[arg(long, env = "KWANJE_KEEP_ALIVE_MS", default_value_t = DEFAULT_KEEP_ALIVE_MS)]
    pub keep_alive_ms: u64,
    /// Web origins (comma-separated `scheme://host[:port]`) whose pages may open `/ws` and
    /// `/sockjs` sessions; the server's own origin always may, and clients that send no
    /// `Origin` (not browsers) always may. Empty (default) or `*`: every origin.
    #[arg(long, env = "KWANJE_ALLOWED_ORIGINS", default_value = "")]
    pub allowed_origins: String,
    /// Bytes queued for one STOMP client (WebSocket or TCP) past which it is dropped as a slow
    /// consumer.
    #[arg(long, env = "KWANJE_WS_OUTBOUND_LIMIT_BYTES", default_value_t = DEFAULT_WS_OUTBOUND_LIMIT)]
    pub ws_outbound_limit_bytes: usize,
    /// Milliseconds of silence on a SockJS receiving connection before a heartbeat frame (`h`).
    #[arg(long, env = "KWANJE_SOCKJS_HEARTBEAT_MS", default_value_t = DEFAULT_SOCKJS_HEARTBEAT_MS)]
    pub sockjs_heartbeat_ms: u64,
    /// Milliseconds a SockJS session lives with no receiving request (a browser that left).
    #[arg(long, env = "KWANJE_SOCKJS_DISCONNECT_DELAY_MS", default_value_t = DEFAULT_SOCKJS_DISCONNECT_DELAY_MS)]
    pub sockjs_disconnect_delay_ms: u64,
    /// Milliseconds a gate PC or kiosk stays online after its last session closed: one that
    /// reconnects within it (a network blink) never counts as disconnected, so no
    /// `client_disconnected` alert and no unreachable devices; 0 ends presence at once.
    #[arg(long, env = "KWANJE_CLIENT_DISCONNECT_GRACE_MS", default_value_t = DEFAULT_CLIENT_DISCONNECT_GRACE_MS)]
    pub client_disconnect_grace_ms: u64,
    /// Bytes one SockJS xhr-streaming or eventsource response carries before the client reconnects.
    #[arg(long, env = "KWANJE_SOCKJS_STREAM_LIMIT_BYTES", default_value_t = DEFAULT_SOCKJS_STREAM_LIMIT_BYTES)]
    pub sockjs_stream_limit_bytes: usize,
    /// Address for TCP STOMP (`127.0.0.1:61613`; port 0 picks one); unset or empty: none. It
    /// speaks TLS when `KWANJE_TLS_CERT` is set, as the HTTP listener does.
    #[arg(long, env = "KWANJE_STOMP_TCP")]
    pub stomp_tcp: Option<String>,
    /// PEM file with the server's certificate chain (its own first). With `KWANJE_TLS_KEY`,
    /// every listener (HTTP, WebSocket, SockJS, TCP STOMP) serves TLS only; SIGHUP reads both
    /// files again. Unset (default): plain listeners.
    #[arg(long, env = "KWANJE_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM file with the private key of `KWANJE_TLS_CERT` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "KWANJE_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,
    /// PEM file with the CA(s) that sign gate PCs' client certificates (mutual TLS): a client
    /// certificate whose subject CN is a client id stands for that client. Unset: none.
    #[arg(long, env = "KWANJE_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<std::path::PathBuf>,
    /// What a client certificate is worth: `instead` (in place of the client's token) or `also`
    /// (clients need both the token and the certificate).
    #[arg(long, env = "KWANJE_TLS_CLIENT_CERT", default_value = "instead")]
    pub tls_client_cert: String,
    /// Terminals with a taxi holding lot and a dispatcher, comma-separated.
    #[arg(long, env = "KWANJE_TERMINALS", default_value = DEFAULT_TERMINALS)]
    pub terminals: String,
    /// Regions taxis may serve, comma-separated.
    #[arg(long, env = "KWANJE_TAXI_REGIONS", default_value = DEFAULT_TAXI_REGIONS)]
    pub taxi_regions: String,
    /// Joint zones: `licence:service` pairs (`gyeonggi:seoul`), or `a<>b` both ways, comma-separated.
    #[arg(long, env = "KWANJE_TAXI_JOINT_ZONES", default_value = "")]
    pub taxi_joint_zones: String,
    /// A waiting taxi whose driver app is silent this long is suspended (keeps its place).
    #[arg(long, env = "KWANJE_TAXI_SUSPEND_AFTER_MS", default_value_t = DEFAULT_TAXI_SUSPEND_AFTER_MS)]
    pub taxi_suspend_after_ms: u64,
    /// A suspended taxi still silent this long leaves its line.
    #[arg(long, env = "KWANJE_TAXI_GRACE_MS", default_value_t = DEFAULT_TAXI_GRACE_MS)]
    pub taxi_grace_ms: u64,
    /// A completed trip shorter than this (km) arms a priority re-entry.
    #[arg(long, env = "KWANJE_TAXI_SHORT_TRIP_KM", default_value_t = DEFAULT_TAXI_SHORT_TRIP_KM)]
    pub taxi_short_trip_km: f64,
    /// The priority re-entry must be seen by the lot's camera within this time.
    #[arg(long, env = "KWANJE_TAXI_PRIORITY_LIMIT_MS", default_value_t = DEFAULT_TAXI_PRIORITY_LIMIT_MS)]
    pub taxi_priority_limit_ms: u64,
    /// A short trip arms a priority only when its completed distance agrees with the request's
    /// within this fraction of it (and at least 1 km).
    #[arg(long, env = "KWANJE_TAXI_TRIP_DISTANCE_TOLERANCE", default_value_t = crate::taxi::core::rules::DEFAULT_TRIP_DISTANCE_TOLERANCE)]
    pub taxi_trip_distance_tolerance: f64,
    /// A priority re-entry sooner after the pickup than the request's distance there and back
    /// at this average speed (km/h) is refused; 0 turns the time check off.
    #[arg(long, env = "KWANJE_TAXI_MAX_SPEED_KMH", default_value_t = crate::taxi::core::rules::DEFAULT_MAX_TRIP_SPEED_KMH)]
    pub taxi_max_speed_kmh: f64,
    /// What a no-show costs a taxi: `keep_ticket` (back at its place) or `back_of_line`.
    #[arg(long, env = "KWANJE_TAXI_NO_SHOW_POLICY", default_value = "keep_ticket")]
    pub taxi_no_show_policy: String,
    /// Partitions devices (by their gate PC or kiosk) and taxis (by terminal) are hashed into;
    /// ownership is handed out by partition. Must be the same on every node of a cluster.
    #[arg(long, env = "KWANJE_PARTITIONS", default_value_t = crate::ownership::Partitions::DEFAULT.count(),
          value_parser = clap::value_parser!(u16).range(1..))]
    pub partitions: u16,
    /// Password checks (argon2) run at once, each on its own blocking thread; more wait, and
    /// past a short queue are refused with 503. 1 keeps a login flood to one core.
    #[arg(long, env = "KWANJE_LOGIN_CONCURRENCY", default_value_t = DEFAULT_LOGIN_CONCURRENCY)]
    pub login_concurrency: usize,
    /// Login attempts a client address or a username may make in a row before it must wait.
    #[arg(long, env = "KWANJE_LOGIN_FREE_ATTEMPTS", default_value_t = throttle::DEFAULT_FREE_ATTEMPTS)]
    pub login_free_attempts: u32,
    /// The longest wait (ms) a throttled address or username is told (429 `Retry-After`); the
    /// wait starts at 1 s and doubles with each further failure. Values under 1000 count as 1000.
    #[arg(long, env = "KWANJE_LOGIN_MAX_DELAY_MS", default_value_t = DEFAULT_LOGIN_MAX_DELAY_MS)]
    pub login_max_delay_ms: u64,
    /// Refused or failed logins within 10 s that open the `auth_flood` alert.
    #[arg(long, env = "KWANJE_LOGIN_FLOOD_THRESHOLD", default_value_t = throttle::DEFAULT_FLOOD_THRESHOLD)]
    pub login_flood_threshold: u32,
    /// NATS server of the cluster (`nats://host:4222`); set, the node runs in cluster mode
    /// (needs a PostgreSQL `DATABASE_URL`). Unset: a single node owning every partition.
    #[arg(long, env = "KWANJE_NATS_URL")]
    pub nats_url: Option<String>,
    /// The cluster's name: prefixes its NATS subjects and KV buckets, so several clusters can
    /// share one NATS server.
    #[arg(long, env = "KWANJE_CLUSTER", default_value = DEFAULT_CLUSTER)]
    pub cluster: String,
    /// Milliseconds a partition lease (and a node's registration) lives unrenewed.
    #[arg(long, env = "KWANJE_LEASE_MS", default_value_t = DEFAULT_LEASE_MS)]
    pub lease_ms: u64,
    /// Milliseconds between lease renewals; must be well under `KWANJE_LEASE_MS`.
    #[arg(long, env = "KWANJE_LEASE_RENEW_MS", default_value_t = DEFAULT_LEASE_RENEW_MS)]
    pub lease_renew_ms: u64,
    /// Cluster mode: the `host:port` the other nodes reach this node's HTTP listener at (an
    /// operator's request for a device another node owns is passed there). Default: the bound
    /// address, which must then not be `0.0.0.0`.
    #[arg(long, env = "KWANJE_ADVERTISE_ADDR")]
    pub advertise_addr: Option<String>,
    /// Connections (HTTP, WebSocket, SockJS, TCP STOMP) one client address may hold open at
    /// once; more are answered 503 (HTTP) or an ERROR frame (TCP STOMP) and closed. Hundreds of
    /// gate PCs behind one NAT address fit in the default; raise it for more, or behind a
    /// reverse proxy (every connection then comes from the proxy). 0: no limit.
    #[arg(long, env = "KWANJE_MAX_CONNECTIONS_PER_ADDR", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_ADDR)]
    pub max_connections_per_addr: usize,
    /// STOMP sessions (every transport) one principal (a gate PC, a taxi, a user) may hold open
    /// at once; a CONNECT past it gets an ERROR frame naming the limit. 0: no limit.
    #[arg(long, env = "KWANJE_MAX_SESSIONS_PER_PRINCIPAL", default_value_t = DEFAULT_MAX_SESSIONS_PER_PRINCIPAL)]
    pub max_sessions_per_principal: usize,
    /// Seconds a car paid in full has to reach the exit before the fee runs on.
    #[arg(long, env = "KWANJE_PARKING_EXIT_GRACE_SECS", default_value_t = 900)]
    pub parking_exit_grace_secs: u64,
    /// Plate readings below this confidence (0 to 1) fall back to a printed ticket.
    #[arg(long, env = "KWANJE_LPR_MIN_CONFIDENCE", default_value_t = crate::parking::core::lpr::DEFAULT_MIN_CONFIDENCE,
          value_parser = parse_confidence)]
    pub lpr_min_confidence: f64,
    /// The tariff of a zone without its own: `short_term` or `long_term` (see README, Parking).
    #[arg(long, env = "KWANJE_PARKING_DEFAULT_TARIFF", default_value = "short_term", value_parser = parse_tariff)]
    pub parking_default_tariff: crate::parking::core::tariff::Tariff,
}

fn parse_confidence(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{s:?} is not a number: {e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0 and 1"))
    }
}

fn parse_tariff(s: &str) -> Result<crate::parking::core::tariff::Tariff, String> {
    crate::parking::core::tariff::preset(s)
        .ok_or_else(|| format!("{s:?} is not a tariff preset; use short_term or long_term"))
}

/// The cluster name when none is configured.
pub const DEFAULT_CLUSTER: &str = "kwanje";
/// A lease lives 3 s unrenewed and is renewed every second (issue #12).
pub const DEFAULT_LEASE_MS: u64 = 3_000;
pub const DEFAULT_LEASE_RENEW_MS: u64 = 1_000;

/// 4096 connections per client address: 500 gate PCs behind one NAT address, each with its
/// STOMP session and a few HTTP connections, fit with room to spare.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDR: usize = 4_096;
/// 64 sessions per principal: a gate PC reconnecting while its old session times out, or an
/// operator with a console in many tabs, never reach it; a leaked token opening thousands does.
pub const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL: usize = 64;

/// One password check at a time: a flood of logins takes one core at most.
pub const DEFAULT_LOGIN_CONCURRENCY: usize = 1;
pub const DEFAULT_FLAP_HOLD_DOWN_MS: u64 = crate::device::lifecycle::DEFAULT_FLAP_HOLD_DOWN.as_millis() as u64;
pub const DEFAULT_LOGIN_MAX_DELAY_MS: u64 = throttle::DEFAULT_MAX_DELAY.as_millis() as u64;

/// The terminals when none are configured.
pub const DEFAULT_TERMINALS: &str = "T1,T2";
/// The regions when none are configured (API.md).
pub const DEFAULT_TAXI_REGIONS: &str = "seoul,incheon,gyeonggi";
/// DOMAIN.md's defaults: suspended after 30 s of silence, removed 2 min later; short trips
/// under 10 km earn a priority re-entry if the lot sees the taxi within 60 min.
pub const DEFAULT_TAXI_SUSPEND_AFTER_MS: u64 = 30_000;
pub const DEFAULT_TAXI_GRACE_MS: u64 = 120_000;
pub const DEFAULT_TAXI_SHORT_TRIP_KM: f64 = 10.0;
pub const DEFAULT_TAXI_PRIORITY_LIMIT_MS: u64 = 3_600_000;

/// Accepts `1/0`, `true/false`, `yes/no`, `on/off`.
fn parse_flag(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected 1 or 0, got {other:?}")),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Config {
    /// Defaults for a database URL, as `kwanje serve` would have with nothing else set.
    pub fn with_database(database_url: &str) -> Config {
        Config {
            bind: "127.0.0.1:8080".into(),
            database_url: database_url.into(),
            admin_password: None,
            jwt_secret: None,
            jwks_url: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_role_claim: "role".into(),
            fault_injection: false,
            node_id: 0,
            device_threads: None,
            http_workers: None,
            renotify_secs: 300,
            flap_hold_down_ms: DEFAULT_FLAP_HOLD_DOWN_MS,
            command_ack_timeout_ms: 10_000,
            command_ttl_ms: 300_000,
            shutdown_timeout_secs: 10,
            auto_failback_secs: 0,
            conformance: false,
            time_zone: "Asia/Seoul".into(),
            stomp_heart_beat_ms: DEFAULT_STOMP_HEART_BEAT_MS,
            stomp_heart_beat_min_ms: DEFAULT_STOMP_HEART_BEAT_MIN_MS,
            tcp_keepalive_secs: DEFAULT_TCP_KEEPALIVE_SECS,
            request_head_timeout_ms: DEFAULT_REQUEST_HEAD_TIMEOUT_MS,
            keep_alive_ms: DEFAULT_KEEP_ALIVE_MS,
            allowed_origins: String::new(),
            ws_outbound_limit_bytes: DEFAULT_WS_OUTBOUND_LIMIT,
            sockjs_heartbeat_ms: DEFAULT_SOCKJS_HEARTBEAT_MS,
            sockjs_disconnect_delay_ms: DEFAULT_SOCKJS_DISCONNECT_DELAY_MS,
            client_disconnect_grace_ms: DEFAULT_CLIENT_DISCONNECT_GRACE_MS,
            sockjs_stream_limit_bytes: DEFAULT_SOCKJS_STREAM_LIMIT_BYTES,
            stomp_tcp: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            tls_client_cert: "instead".into(),
            terminals: DEFAULT_TERMINALS.into(),
            taxi_regions: DEFAULT_TAXI_REGIONS.into(),
            taxi_joint_zones: String::new(),
            taxi_suspend_after_ms: DEFAULT_TAXI_SUSPEND_AFTER_MS,
            taxi_grace_ms: DEFAULT_TAXI_GRACE_MS,
            taxi_short_trip_km: DEFAULT_TAXI_SHORT_TRIP_KM,
            taxi_priority_limit_ms: DEFAULT_TAXI_PRIORITY_LIMIT_MS,
            taxi_trip_distance_tolerance: crate::taxi::core::rules::DEFAULT_TRIP_DISTANCE_TOLERANCE,
            taxi_max_speed_kmh: crate::taxi::core::rules::DEFAULT_MAX_TRIP_SPEED_KMH,
            taxi_no_show_policy: "keep_ticket".into(),
            partitions: crate::ownership::Partitions::DEFAULT.count(),
            login_concurrency: DEFAULT_LOGIN_CONCURRENCY,
            login_free_attempts: throttle::DEFAULT_FREE_ATTEMPTS,
            login_max_delay_ms: DEFAULT_LOGIN_MAX_DELAY_MS,
            login_flood_threshold: throttle::DEFAULT_FLOOD_THRESHOLD,
            nats_url: None,
            cluster: DEFAULT_CLUSTER.into(),
            lease_ms: DEFAULT_LEASE_MS,
            lease_renew_ms: DEFAULT_LEASE_RENEW_MS,
            advertise_addr: None,
            max_connections_per_addr: DEFAULT_MAX_CONNECTIONS_PER_ADDR,
            max_sessions_per_principal: DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
            parking_exit_grace_secs: 900,
            lpr_min_confidence: crate::parking::core::lpr::DEFAULT_MIN_CONFIDENCE,
            parking_default_tariff: crate::parking::core::tariff::Tariff::SHORT_TERM,
        }
    }

    /// How this node places devices and taxis in partitions and which it owns: every one, until
    /// cluster mode exists.
    pub fn ownership(&self) -> crate::ownership::Ownership {
        let partitions = crate::ownership::Partitions::new(self.partitions).unwrap_or_default();
        crate::ownership::Ownership::single_node(partitions)
    }

    /// The NATS URL when cluster mode is on.
    pub fn nats_url(&self) -> Option<&str> {
        self.nats_url.as_deref().map(str::trim).filter(|url| !url.is_empty())
    }

    /// When changing state counts as flapping, and how long a flapping device is held.
    pub fn flap_policy(&self) -> crate::device::lifecycle::FlapPolicy {
        crate::device::lifecycle::FlapPolicy {
            hold_down: Duration::from_millis(self.flap_hold_down_ms.max(1_000)),
            ..Default::default()
        }
    }

    /// The outside identity provider: where its keys are and what its tokens must say; `None`
    /// without `KWANJE_JWKS_URL`, an error when it lacks its issuer.
    pub fn outside_issuer(&self) -> Result<Option<(String, crate::auth::outside::OutsideSettings)>, String> {
        let nonempty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let Some(url) = nonempty(&self.jwks_url) else {
            return Ok(None);
        };
        let issuer = nonempty(&self.jwt_issuer)
            .ok_or("KWANJE_JWKS_URL needs KWANJE_JWT_ISSUER: the iss an outside token must carry")?;
        let role_claim = self.jwt_role_claim.trim();
        if role_claim.is_empty() {
            return Err("KWANJE_JWT_ROLE_CLAIM must name a claim".into());
        }
        Ok(Some((
            url,
            crate::auth::outside::OutsideSettings {
                issuer,
                audience: nonempty(&self.jwt_audience),
                role_claim: role_claim.to_owned(),
            },
        )))
    }

    /// The login throttle's settings.
    pub fn login_throttle(&self) -> throttle::ThrottleSettings {
        throttle::ThrottleSettings {
            free_attempts: self.login_free_attempts.max(1),
            base_delay: throttle::DEFAULT_BASE_DELAY,
            max_delay: Duration::from_millis(self.login_max_delay_ms.max(1_000)),
            flood_threshold: self.login_flood_threshold.max(1),
        }
    }

    /// The taxi settings as written, for [`crate::taxi::core::settings::RawSettings::parse`].
    pub fn taxi_settings(&self) -> crate::taxi::core::settings::RawSettings<'_> {
        crate::taxi::core::settings::RawSettings {
            terminals: &self.terminals,
            regions: &self.taxi_regions,
            joint_zones: &self.taxi_joint_zones,
            suspend_after_ms: self.taxi_suspend_after_ms,
            removal_grace_ms: self.taxi_grace_ms,
            short_trip_km: self.taxi_short_trip_km,
            priority_reentry_ms: self.taxi_priority_limit_ms,
            trip_distance_tolerance: self.taxi_trip_distance_tolerance,
            max_trip_speed_kmh: self.taxi_max_speed_kmh,
            no_show_policy: &self.taxi_no_show_policy,
        }
    }

    pub fn device_threads(&self) -> usize {
        self.device_threads.unwrap_or_else(cores).max(1)
    }

    pub fn http_workers(&self) -> usize {
        self.http_workers.unwrap_or_else(cores).max(1)
    }

    pub fn command_ack_timeout(&self) -> Duration {
        Duration::from_millis(self.command_ack_timeout_ms.max(1))
    }

    pub fn command_ttl(&self) -> Duration {
        Duration::from_millis(self.command_ttl_ms)
    }

    /// The parking sessions' settings.
    pub fn parking(&self) -> crate::parking::ParkingSettings {
        crate::parking::ParkingSettings {
            exit_grace: Duration::from_secs(self.parking_exit_grace_secs),
            min_confidence: self.lpr_min_confidence,
            default_tariff: self.parking_default_tariff,
        }
    }

    /// The automatic failback period, if automatic failback is on.
    pub fn auto_failback(&self) -> Option<Duration> {
        (self.auto_failback_secs > 0).then(|| Duration::from_secs(self.auto_failback_secs))
    }

    /// The certificate and key files when TLS is on; one without the other is an error.
    pub fn tls_files(&self) -> Result<Option<(&std::path::Path, &std::path::Path)>, crate::tls::TlsError> {
        fn set(path: &Option<std::path::PathBuf>) -> Option<&std::path::Path> {
            path.as_deref().filter(|path| !path.as_os_str().is_empty())
        }
        match (set(&self.tls_cert), set(&self.tls_key)) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(crate::tls::TlsError::Half {
                missing: "KWANJE_TLS_KEY",
            }),
            (None, Some(_)) => Err(crate::tls::TlsError::Half {
                missing: "KWANJE_TLS_CERT",
            }),
        }
    }

    /// The client CA's file, when client certificates are verified.
    pub fn tls_client_ca(&self) -> Option<&std::path::Path> {
        self.tls_client_ca
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
    }

    /// What a verified client certificate is worth (off without a client CA).
    pub fn client_cert_mode(&self) -> Result<crate::auth::client_cert::ClientCertMode, String> {
        match self.tls_client_ca() {
            None => Ok(crate::auth::client_cert::ClientCertMode::Off),
            Some(_) => crate::auth::client_cert::ClientCertMode::parse(&self.tls_client_cert),
        }
    }

    /// The TCP STOMP address, if that listener is on.
    pub fn stomp_tcp(&self) -> Option<&str> {
        self.stomp_tcp.as_deref().map(str::trim).filter(|addr| !addr.is_empty())
    }

    /// Idle time before keep-alive probes, or none when off.
    pub fn tcp_keepalive(&self) -> Option<Duration> {
        (self.tcp_keepalive_secs > 0).then(|| Duration::from_secs(self.tcp_keepalive_secs))
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_accept_the_usual_spellings() {
        assert_eq!(parse_flag("1"), Ok(true));
        assert_eq!(parse_flag("ON"), Ok(true));
        assert_eq!(parse_flag("0"), Ok(false));
        assert!(parse_flag("maybe").is_err());
    }
}
