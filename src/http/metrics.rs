//! `GET /metrics`: Prometheus text format (the `prometheus-client` encoder). Anyone on
//! loopback may scrape; from elsewhere it takes an admin token.
//!
//! Values are read at scrape time from the live views (registry, supervisor, alert service),
//! so the hot paths carry no metric updates of their own.

use actix_web::{web, HttpRequest, HttpResponse};
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::error::ApiError;
use super::extract::Caller;
use super::login_guard::GetLoginStats;
use super::AppState;
use crate::alert::messages::GetAlertStats;
use crate::auth::Role;
use crate::broker::messages::GetBrokerStats;
use crate::command::messages::GetCommandStats;
use crate::supervision::GetStats;

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let g: Gauge = Gauge::default();
    g.set(value);
    registry.register(name, help, g);
}

fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let c: Counter = Counter::default();
    c.inc_by(value);
    registry.register(name, help, c);
}

/// A counter family with one label (`label`), one series per `(value, count)`.
fn labelled(registry: &mut Registry, name: &str, help: &str, label: &str, series: impl Iterator<Item = (String, u64)>) {
    let family: Family<Vec<(String, String)>, Counter> = Family::default();
    for (value, count) in series {
        family.get_or_create(&vec![(label.to_owned(), value)]).inc_by(count);
    }
    registry.register(name, help, family);
}

/// Prometheus metrics.
///
/// Text format: devices by state, actor restarts and escalations, open alerts and alerts opened
/// and resolved by kind, the alert writer's queue, retries and transaction time, the broker's
/// deliveries and evictions, STOMP sessions by transport and frames by command, taxi dispatch
/// (served, waits, lines) per terminal run here, webhook deliveries by receiver, refused and
/// throttled logins.
///
/// **Role:** none from loopback; admin from anywhere else.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "the metrics", body = String, content_type = CONTENT_TYPE),
        (status = 401, description = "not from loopback, and no valid token"),
        (status = 403, description = "not from loopback, and the token is not an admin's"),
    )
)]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    if !loopback {
        let caller = Caller::from_request_sync(&req)?;
        caller.require(Role::Admin)?;
    }
    let mut registry = Registry::with_prefix("kwanje");
    let by_state: Family<Vec<(String, String)>, Gauge> = Family::default();
    for (device_state, count) in state.devices.registry().count_by_state() {
        by_state
            .get_or_create(&vec![("state".to_owned(), device_state.as_str().to_owned())])
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    registry.register("devices", "Registered devices by state", by_state);
    let sup = state
        .devices
        .supervisor()
        .send(GetStats)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    counter(
        &mut registry,
        "device_actor_restarts",
        "Device actors restarted after a crash",
        sup.restarts,
    );
    counter(
        &mut registry,
        "device_actor_escalations",
        "Devices quarantined after a crash loop",
        sup.escalations,
    );
    gauge(
        &mut registry,
        "device_actor_pending_restarts",
        "Device actors waiting out a backoff",
        sup.pending_restarts as i64,
    );
    let alerts = state
        .alerts
        .send(GetAlertStats)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    gauge(
        &mut registry,
        "alerts_open",
        "Alerts open or acknowledged",
        alerts.open as i64,
    );
    gauge(
        &mut registry,
        "alert_queue",
        "Records waiting to be stored",
        alerts.queued as i64,
    );
    counter(
        &mut registry,
        "alert_batches_written",
        "Alert transactions committed",
        alerts.batches_written,
    );
    counter(
        &mut registry,
        "alerts_published",
        "Alert changes published",
        alerts.published,
    );
    counter(
        &mut registry,
        "alert_records_fenced",
        "Records refused by their partition's fence: another node owns the partition now",
        alerts.refused,
    );
    labelled(
        &mut registry,
        "alerts_opened",
        "Alerts opened since start, by kind",
        "kind",
        alerts.opened.iter().map(|(k, n)| ((*k).to_owned(), *n)),
    );
    labelled(
        &mut registry,
        "alerts_resolved",
        "Alerts resolved since start, by kind",
        "kind",
        alerts.resolved.iter().map(|(k, n)| ((*k).to_owned(), *n)),
    );
    counter(
        &mut registry,
        "alert_store_writes",
        "Alert transactions attempted (committed or not)",
        alerts.writer.writes,
    );
    let seconds: Counter<f64, std::sync::atomic::AtomicU64> = Counter::default();
    seconds.inc_by(alerts.writer.write_micros as f64 / 1e6);
    registry.register(
        "alert_store_write_seconds",
        "Time alert transactions took, in seconds (divide by kwanje_alert_store_writes_total for the mean)",
        seconds,
    );
    counter(
        &mut registry,
        "alert_store_pauses",
        "Times the store was unavailable and the alert writer paused to retry",
        alerts.writer.pauses,
    );
    counter(
        &mut registry,
        "alert_store_splits",
        "Alert batches that failed and were retried one record at a time",
        alerts.writer.splits,
    );
    let broker = state
        .broker
        .send(GetBrokerStats)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    gauge(
        &mut registry,
        "broker_subscriptions",
        "STOMP subscriptions held by this node's broker",
        broker.subscriptions as i64,
    );
    counter(
        &mut registry,
        "broker_published",
        "Messages published to topics and user destinations",
        broker.published,
    );
    counter(
        &mut registry,
        "broker_delivered",
        "Messages handed to subscribed sessions",
        broker.delivered,
    );
    counter(
        &mut registry,
        "broker_evicted",
        "Sessions evicted by the broker (slow consumers, revoked tokens)",
        broker.evicted,
    );
    let commands = state
        .commands
        .send(GetCommandStats)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let open_commands: Family<Vec<(String, String)>, Gauge> = Family::default();
    for (command_state, count) in &commands.open {
        open_commands
            .get_or_create(&vec![("state".to_owned(), (*command_state).to_owned())])
            .set(i64::try_from(*count).unwrap_or(i64::MAX));
    }
    registry.register("commands_open", "Commands not finished, by state", open_commands);
    labelled(
        &mut registry,
        "commands_finished",
        "Commands finished since start, by final state (acked, failed, timed_out, expired)",
        "state",
        commands.finished.iter().map(|(s, n)| ((*s).to_owned(), *n)),
    );
    let deliveries = state.receivers.counts();
    labelled(
        &mut registry,
        "receiver_deliveries",
        "Webhook deliveries accepted since start, by receiver",
        "receiver",
        deliveries.iter().map(|(r, (ok, _))| (r.clone(), *ok)),
    );
    labelled(
        &mut registry,
        "receiver_failures",
        "Webhook delivery attempts failed since start, by receiver",
        "receiver",
        deliveries.iter().map(|(r, (_, failed))| (r.clone(), *failed)),
    );
    let logins = state
        .logins
        .guard
        .send(GetLoginStats)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    counter(
        &mut registry,
        "login_failures",
        "Logins refused for a wrong password or an unknown user",
        logins.failed,
    );
    counter(
        &mut registry,
        "login_throttled",
        "Logins answered 429 before any password check",
        logins.throttled,
    );
    counter(
        &mut registry,
        "login_busy",
        "Logins answered 503 because too many password checks were waiting",
        state.logins.checks.refused_busy(),
    );
    gauge(
        &mut registry,
        "login_flood",
        "1 while the auth_flood alert is open",
        i64::from(logins.flooding),
    );
    gauge(
        &mut registry,
        "login_tracked_addresses",
        "Client addresses the login throttle keeps a record of (at most 65536)",
        logins.tracked_addresses as i64,
    );
    gauge(
        &mut registry,
        "login_tracked_usernames",
        "Usernames the login throttle keeps a record of (at most 65536)",
        logins.tracked_usernames as i64,
    );
    let connections = state.limits.connections.stats();
    gauge(
        &mut registry,
        "connections_open",
        "Open connections counted against KWANJE_MAX_CONNECTIONS_PER_ADDR (HTTP and TCP STOMP)",
        connections.held as i64,
    );
    counter(
        &mut registry,
        "connections_refused",
        "Connections refused because their address held KWANJE_MAX_CONNECTIONS_PER_ADDR",
        connections.refused,
    );
    let sessions = state.limits.sessions.stats();
    gauge(
        &mut registry,
        "stomp_sessions_open",
        "Connected STOMP sessions, every transport",
        sessions.held as i64,
    );
    counter(
        &mut registry,
        "stomp_sessions_refused",
        "CONNECTs refused because their principal held KWANJE_MAX_SESSIONS_PER_PRINCIPAL sessions",
        sessions.refused,
    );
    stomp_metrics(&mut registry, &state.stomp.snapshot());
    super::dispatch_metrics::register(&mut registry, &state).await;
    let (connect_failed, connect_throttled) = state.limits.connects.refused();
    counter(
        &mut registry,
        "stomp_connect_failures",
        "STOMP CONNECTs refused for a missing, invalid or expired token",
        connect_failed,
    );
    counter(
        &mut registry,
        "stomp_connect_throttled",
        "STOMP CONNECTs refused unchecked: their address failed too often",
        connect_throttled,
    );
    counter(
        &mut registry,
        "realtime_requests_throttled",
        "WebSocket upgrades and SockJS requests answered 429: their address failed too many CONNECTs",
        state.limits.connects.refused_requests(),
    );
    let (revoked, disabled) = state.accounts.revocations().update(|r| r.counts());
    gauge(
        &mut registry,
        "token_revocations",
        "Subjects (users, clients, drivers) whose earlier tokens are revoked",
        revoked as i64,
    );
    gauge(
        &mut registry,
        "users_disabled",
        "Disabled user accounts",
        disabled as i64,
    );
    if let Some(requests) = req.app_data::<web::Data<super::request_metrics::RequestMetrics>>() {
        requests.register(&mut registry);
    }
    let mut body = String::new();
    cluster_metrics(&mut registry, &state);
    encode_registry(&mut body, &registry).map_err(|e| ApiError::Internal(e.to_string()))?;
    encode_registry(&mut body, &process_registry()).map_err(|e| ApiError::Internal(e.to_string()))?;
    encode_eof(&mut body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(body))
}

/// Sessions by transport and frames by command and direction.
fn stomp_metrics(registry: &mut Registry, tally: &crate::stomp::tally::TallySnapshot) {
    let open: Family<Vec<(String, String)>, Gauge> = Family::default();
    let connected: Family<Vec<(String, String)>, Counter> = Family::default();
    for (transport, now, since_start) in &tally.sessions {
        let key = vec![("transport".to_owned(), transport.as_str().to_owned())];
        open.get_or_create(&key).set(*now);
        connected.get_or_create(&key).inc_by(*since_start);
    }
    registry.register("stomp_sessions", "Connected STOMP sessions now, by transport", open);
    registry.register(
        "stomp_sessions_connected",
        "STOMP sessions connected since start, by transport",
        connected,
    );
    let by_command = |counts: &crate::stomp::tally::FrameCounts| {
        counts
            .by_command
            .iter()
            .map(|(c, n)| ((*c).to_owned(), *n))
            .collect::<Vec<_>>()
            .into_iter()
    };
    labelled(
        registry,
        "stomp_frames_received",
        "STOMP frames received from clients, by command (`other`: a command STOMP does not have)",
        "command",
        by_command(&tally.received),
    );
    labelled(
        registry,
        "stomp_frames_sent",
        "STOMP frames queued for clients, by command",
        "command",
        by_command(&tally.sent),
    );
    counter(
        registry,
        "stomp_heart_beats_received",
        "Heart-beats received from STOMP clients",
        tally.received.heart_beats,
    );
    counter(
        registry,
        "stomp_heart_beats_sent",
        "Heart-beats sent to STOMP clients",
        tally.sent.heart_beats,
    );
}

/// The process's own figures, unprefixed as Prometheus client libraries name them (empty off
/// Linux).
fn process_registry() -> Registry {
    let mut registry = Registry::default();
    let Some((f, fds)) = super::process_metrics::read() else {
        return registry;
    };
    let seconds: Counter<f64, std::sync::atomic::AtomicU64> = Counter::default();
    seconds.inc_by(f.cpu_seconds);
    registry.register(
        "process_cpu_seconds",
        "User and system CPU time spent, in seconds",
        seconds,
    );
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    gauge(
        &mut registry,
        "process_resident_memory_bytes",
        "Resident memory, in bytes",
        clamp(f.resident_bytes),
    );
    gauge(&mut registry, "process_open_fds", "Open file descriptors", clamp(fds));
    gauge(
        &mut registry,
        "process_threads",
        "Operating-system threads",
        clamp(f.threads),
    );
    let start: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
    start.set(f.start_time_seconds);
    registry.register(
        "process_start_time_seconds",
        "Start time since the Unix epoch, in seconds",
        start,
    );
    registry
}

/// Leases held now and the lease counters (cluster mode; a single node holds every partition).
fn cluster_metrics(registry: &mut Registry, state: &AppState) {
    use std::sync::atomic::Ordering::Relaxed;
    let Some(node) = &state.cluster else {
        let all = i64::from(state.config.ownership().partitions.count());
        gauge(registry, "cluster_leases_held", "Partition leases this node holds", all);
        return;
    };
    let held = i64::try_from(node.leases_held()).unwrap_or(i64::MAX);
    gauge(
        registry,
        "cluster_leases_held",
        "Partition leases this node holds",
        held,
    );
    let stats = node.stats();
    counter(
        registry,
        "cluster_leases_acquired",
        "Partition leases acquired",
        stats.acquired.load(Relaxed),
    );
    counter(
        registry,
        "cluster_takeovers",
        "Partitions taken over from a node no longer registered (not hand-overs)",
        stats.takeovers.load(Relaxed),
    );
    counter(
        registry,
        "cluster_leases_released",
        "Partition leases released",
        stats.released.load(Relaxed),
    );
    counter(
        registry,
        "cluster_leases_lost",
        "Partition leases lost without release (taken, or lapsed before renewal)",
        stats.lost.load(Relaxed),
    );
    let bus = node.bus_stats();
    counter(
        registry,
        "cluster_bus_sent",
        "Topic and user messages sent to the other nodes",
        bus.sent.load(Relaxed),
    );
    counter(
        registry,
        "cluster_bus_received",
        "Topic and user messages received from other nodes and delivered here",
        bus.received.load(Relaxed),
    );
    counter(
        registry,
        "cluster_bus_dropped",
        "Messages not sent to the other nodes (the queue to NATS full, or NATS refused them)",
        bus.dropped.load(Relaxed),
    );
    counter(
        registry,
        "cluster_bus_refused",
        "Messages received from the bus that could not be read",
        bus.refused.load(Relaxed),
    );
    let forwarded = node.forward_stats();
    counter(
        registry,
        "cluster_forwarded_sent",
        "Heartbeats, acks, subscriptions and presence of clients here sent to the owner of their partition",
        forwarded.sent.load(Relaxed),
    );
    counter(
        registry,
        "cluster_forwarded_received",
        "Messages other nodes forwarded here and applied",
        forwarded.received.load(Relaxed),
    );
    counter(
        registry,
        "cluster_forwarded_dropped",
        "Forwarded messages dropped (no owner known, queue full, or arrived at a node no longer owning the partition)",
        forwarded.dropped.load(Relaxed),
    );
    gauge(
        registry,
        "cluster_nats_connected",
        "1 while connected to NATS",
        i64::from(node.connected()),
    );
}
