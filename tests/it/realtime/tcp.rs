//! Plain TCP STOMP (`KWANJE_STOMP_TCP`): the sessions of the WebSocket tests, with the frames as
//! the bytes on the socket, as a stomp.py or Java client sends them to a broker's STOMP port.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kwanje::auth::Role;
use kwanje::broker::messages::{BrokerStats, GetBrokerStats};
use kwanje::stomp::Command;

use super::client::{frame, Stomp, WAIT};
use super::{session, slow, tcp_session};
use crate::support::{Backend, Server};

/// A server with the TCP listener on a free port.
async fn server() -> Server {
    server_with(|_| {}).await
}

async fn server_with(tweak: impl FnOnce(&mut kwanje::config::Config)) -> Server {
    Server::start_with(Backend::Sqlite, |c| {
        c.stomp_tcp = Some("127.0.0.1:0".into());
        tweak(c);
    })
    .await
}

fn tcp(s: &Server) -> SocketAddr {
    s.stomp_tcp.expect("the server listens for STOMP over TCP")
}

/// Polls the broker until `check` holds, or panics after [`WAIT`].
async fn broker_until(s: &Server, check: impl Fn(&BrokerStats) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let stats = s.state.broker.send(GetBrokerStats).await.unwrap();
        if check(&stats) {
            return;
        }
        assert!(Instant::now() < deadline, "{stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn connects_with_the_token_as_passcode_or_bearer_header_in_every_version() {
    let s = server().await;
    let token = s.token("viewer-1", Role::Viewer, None);

    let mut stomp = Stomp::open_tcp(tcp(&s)).await;
    let headers = [
        ("accept-version", "1.0,1.1,1.2"),
        ("host", "kwanje"),
        ("login", "ignored"),
        ("passcode", token.as_str()),
    ];
    stomp.send_text(&frame("CONNECT", &headers, "")).await;
    let connected = stomp.expect(Command::Connected).await;
    assert_eq!(connected.header("version"), Some("1.2"));
    assert_eq!(connected.header("heart-beat"), Some("10000,10000"));
    assert!(connected.header("session").is_some_and(|id| !id.is_empty()));
    assert!(connected.header("server").unwrap().starts_with("kwanje/"));

    let mut stomp = Stomp::open_tcp(tcp(&s)).await;
    let bearer = format!("Bearer {token}");
    let headers = [
        ("accept-version", "1.1"),
        ("host", "kwanje"),
        ("Authorization", &bearer),
    ];
    stomp.send_text(&frame("STOMP", &headers, "")).await;
    assert_eq!(stomp.expect(Command::Connected).await.header("version"), Some("1.1"));

    // No accept-version: STOMP 1.0, as an old client speaks it.
    let mut stomp = Stomp::open_tcp(tcp(&s)).await;
    stomp.send_text(&frame("CONNECT", &[("passcode", &token)], "")).await;
    let connected = stomp.expect(Command::Connected).await;
    assert_eq!(connected.header("version"), Some("1.0"));
    broker_until(&s, |stats| stats.sessions == 3).await;
}

#[actix_web::test]
async fn a_bad_token_gets_an_error_then_the_socket_closes() {
    let s = server().await;
    for headers in [
        vec![("passcode", "not-a-jwt")],
        vec![("Authorization", "Bearer a.b.c")],
        vec![("login", "guest"), ("passcode", "guest")],
        vec![],
    ] {
        let mut stomp = Stomp::open_tcp(tcp(&s)).await;
        let mut all = vec![("accept-version", "1.2")];
        all.extend_from_slice(&headers);
        stomp.send_text(&frame("CONNECT", &all, "")).await;
        let error = stomp.expect_error().await;
        assert_eq!(error.header("message"), Some("authentication failed"), "{headers:?}");
    }
    assert_eq!(s.state.broker.send(GetBrokerStats).await.unwrap().sessions, 0);
}

#[actix_web::test]
async fn subscribers_over_tcp_and_websocket_receive_what_operators_send_over_either() {
    let s = server().await;
    let mut tcp_viewer = tcp_session(&s, "viewer-tcp", Role::Viewer).await;
    tcp_viewer.subscribe("ops", "/topic/ops/x", "auto").await;
    let mut ws_viewer = session(&s, "viewer-ws", Role::Viewer).await;
    ws_viewer.subscribe("ops", "/topic/ops/x", "auto").await;

    let mut ws_op = session(&s, "op-ws", Role::Operator).await;
    ws_op
        .send_with_receipt("/topic/ops/x", &[("x-shift", "night")], "from ws", "s1")
        .await;
    let mut tcp_op = tcp_session(&s, "op-tcp", Role::Operator).await;
    tcp_op.send_with_receipt("/topic/ops/x", &[], "from tcp", "s2").await;

    for viewer in [&mut tcp_viewer, &mut ws_viewer] {
        let first = viewer.expect(Command::Message).await;
        assert_eq!(&first.body[..], b"from ws");
        assert_eq!(first.header("sender"), Some("op-ws"));
        assert_eq!(first.header("x-shift"), Some("night"));
        assert_eq!(first.header("subscription"), Some("ops"));
        let second = viewer.expect(Command::Message).await;
        assert_eq!(&second.body[..], b"from tcp");
        assert_eq!(second.header("sender"), Some("op-tcp"));
    }
}

#[actix_web::test]
async fn a_gate_pc_over_tcp_feeds_its_devices_and_its_dropped_connection_is_noticed() {
    let s = server().await;
    s.register("gate-1", &["cam-1", "cam-2"], 60_000, 3).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("p", "/topic/presence", "auto").await;
    let mut gate = tcp_session(&s, "gate-1", Role::Client).await;
    let online = viewer.recv_json().await.1;
    assert_eq!(
        (online["client_id"].as_str(), online["online"].as_bool()),
        (Some("gate-1"), Some(true))
    );

    let beat = r#"{"devices":[{"id":"cam-1","status":"ok"},{"id":"cam-2","status":"fault","detail":"lens"}]}"#;
    gate.send_with_receipt("/app/heartbeat", &[("content-type", "application/json")], beat, "hb")
        .await;
    s.wait_for("/api/v1/devices/cam-1", WAIT, |d| d["state"] == "up").await;
    let cam2 = s
        .wait_for("/api/v1/devices/cam-2", WAIT, |d| d["state"] == "down")
        .await;
    let alert = &cam2["alerts"][0];
    assert_eq!(
        (alert["kind"].as_str(), alert["detail"].as_str()),
        (Some("device_fault"), Some("lens")),
        "{cam2}"
    );

    // The socket just closes: no DISCONNECT, no heart-beat timeout needed.
    gate.drop_connection();
    let offline = viewer.recv_json().await.1;
    assert_eq!(
        (offline["client_id"].as_str(), offline["online"].as_bool()),
        (Some("gate-1"), Some(false))
    );
}

#[actix_web::test]
async fn frames_split_across_writes_and_several_in_one_write() {
    let s = server().await;
    let token = s.token("viewer-1", Role::Viewer, None);
    let mut stomp = Stomp::open_tcp(tcp(&s)).await;
    let connect = frame("STOMP", &[("accept-version", "1.2"), ("passcode", &token)], "");
    let (head, tail) = connect.split_at(9);
    stomp.send_text(head).await;
    stomp.expect_silence(Duration::from_millis(100)).await;
    stomp.send_text(tail).await;
    stomp.expect(Command::Connected).await;

    // Two frames and heart-beat EOLs in one write.
    let two = frame(
        "SUBSCRIBE",
        &[("id", "a"), ("destination", "/topic/alerts"), ("receipt", "r1")],
        "",
    ) + "\r\n\n"
        + &frame(
            "SUBSCRIBE",
            &[("id", "b"), ("destination", "/topic/devices"), ("receipt", "r2")],
            "",
        );
    stomp.send_text(&two).await;
    assert_eq!(stomp.expect(Command::Receipt).await.header("receipt-id"), Some("r1"));
    assert_eq!(stomp.expect(Command::Receipt).await.header("receipt-id"), Some("r2"));

    // A frame whose bytes straddle three writes, the last also carrying the next frame; a
    // body with a NUL inside, framed by content-length.
    let body = "bin\0ary";
    let length = body.len().to_string();
    let op_token = s.token("op-1", Role::Operator, None);
    let mut op = Stomp::open_tcp(tcp(&s)).await;
    op.connect(&op_token, "1.2").await;
    stomp.subscribe("c", "/topic/ops/split", "auto").await;
    let all = frame(
        "SEND",
        &[
            ("destination", "/topic/ops/split"),
            ("content-length", &length),
            ("receipt", "s"),
        ],
        body,
    ) + &frame("DISCONNECT", &[("receipt", "bye")], "");
    for piece in [&all[..5], &all[5..40], &all[40..]] {
        op.send_text(piece).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(op.expect(Command::Receipt).await.header("receipt-id"), Some("s"));
    assert_eq!(op.expect(Command::Receipt).await.header("receipt-id"), Some("bye"));
    op.expect_closed().await;
    assert_eq!(&stomp.expect(Command::Message).await.body[..], body.as_bytes());
}

#[actix_web::test]
async fn a_silent_tcp_client_is_dropped_and_a_beating_one_is_not() {
    let s = server_with(|c| {
        c.stomp_heart_beat_ms = 100;
        c.stomp_heart_beat_min_ms = 100;
    })
    .await;
    let token = s.token("viewer-1", Role::Viewer, None);
    let connect = frame(
        "CONNECT",
        &[
            ("accept-version", "1.2"),
            ("passcode", &token),
            ("heart-beat", "100,100"),
        ],
        "",
    );

    let mut beating = Stomp::open_tcp(tcp(&s)).await;
    beating.send_text(&connect).await;
    assert_eq!(
        beating.expect(Command::Connected).await.header("heart-beat"),
        Some("100,100")
    );
    // Beats every 60 ms for about half a second, well past the 200 ms silence limit.
    for _ in 0..8 {
        beating.send_text("\n").await;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    beating.send_text(&frame("DISCONNECT", &[("receipt", "bye")], "")).await;
    beating.await_receipt("bye").await;
    // The server beat too, as EOLs on the socket.
    assert!(beating.beats >= 2, "beats received: {}", beating.beats);

    let mut silent = Stomp::open_tcp(tcp(&s)).await;
    silent.send_text(&connect).await;
    silent.expect(Command::Connected).await;
    silent.expect_heart_beat_timeout().await;
}

#[actix_web::test]
async fn disconnect_gets_its_receipt_then_the_server_closes() {
    let s = server().await;
    let mut stomp = tcp_session(&s, "viewer-1", Role::Viewer).await;
    stomp.subscribe("a", "/topic/alerts", "auto").await;
    broker_until(&s, |stats| stats.sessions == 1 && stats.subscriptions == 1).await;
    stomp.send_text(&frame("DISCONNECT", &[("receipt", "bye")], "")).await;
    stomp.await_receipt("bye").await;
    stomp.expect_closed().await;
    broker_until(&s, |stats| stats.sessions == 0 && stats.subscriptions == 0).await;
}

#[actix_web::test]
async fn a_client_that_sends_and_half_closes_still_gets_its_answers() {
    // As `printf 'CONNECT...' | nc host 61613` does: everything, then EOF, then read.
    let s = server().await;
    s.register("gate-1", &["cam-1"], 60_000, 3).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("d", "/topic/devices/cam-1", "auto").await;
    let token = s.token("gate-1", Role::Client, Some("gate-1"));
    let mut gate = Stomp::open_tcp(tcp(&s)).await;
    let all = frame("CONNECT", &[("accept-version", "1.2"), ("passcode", &token)], "")
        + &frame(
            "SEND",
            &[("destination", "/app/heartbeat"), ("receipt", "hb")],
            r#"{"devices":[{"id":"cam-1","status":"ok"}]}"#,
        );
    gate.send_text(&all).await;
    gate.shutdown_tcp().await;
    gate.expect(Command::Connected).await;
    gate.await_receipt("hb").await;
    gate.expect_closed().await;
    // The heartbeat took effect (then the gate PC went offline, and its device with it).
    viewer.recv_json_until(|d| d["state"] == "up").await;
    broker_until(&s, |stats| stats.sessions == 1).await;
}

#[actix_web::test]
async fn a_slow_tcp_consumer_is_dropped_while_a_fast_one_keeps_receiving() {
    let s = server_with(|c| c.ws_outbound_limit_bytes = slow::LIMIT).await;
    let token = s.token("viewer-slow", Role::Viewer, None);
    let mut slow = Stomp::open_tcp_with(tcp(&s), Some(4 * 1024)).await;
    slow.connect(&token, "1.2").await;
    let fast = tcp_session(&s, "viewer-fast", Role::Viewer).await;
    let op = tcp_session(&s, "op-1", Role::Operator).await;
    slow::slow_and_fast(&s, slow, fast, op).await;
}

#[actix_web::test]
async fn stopping_the_server_closes_tcp_sessions_and_the_port() {
    let s = server().await;
    let addr = tcp(&s);
    let mut stomp = tcp_session(&s, "viewer-1", Role::Viewer).await;
    s.stop().await;
    stomp.expect_closed().await;
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "{addr} still accepts after the server stopped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `kwanje serve` process, killed if a test fails before it stops it.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `kwanje serve` listens for STOMP over TCP where `KWANJE_STOMP_TCP` says, logs the address
/// (port 0 picks one), stops with SIGTERM, and does not listen when the variable is unset.
#[test]
fn serve_listens_for_tcp_stomp_only_when_configured() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as Process, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let serve = |tcp: Option<&str>| {
        let mut command = Process::new(env!("CARGO_BIN_EXE_kwanje"));
        command
            .arg("serve")
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("KWANJE_STOMP_TCP")
            .env("KWANJE_JWT_SECRET", "tcp-cli-secret")
            .env("KWANJE_ADMIN_PASSWORD", "pw")
            .env("KWANJE_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(addr) = tcp {
            command.env("KWANJE_STOMP_TCP", addr);
        }
        let mut child = Serving(command.spawn().unwrap());
        let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
        // The TCP listener is up before the `serving` line.
        let mut listening = None;
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(rest) = line.split("stomp tcp listening addr=").nth(1) {
                listening = rest.split_whitespace().next().map(str::to_owned);
            }
            if line.contains("serving addr=") {
                break;
            }
        }
        (child, lines, listening)
    };

    let (unset, _, listening) = serve(None);
    drop(unset);
    assert_eq!(listening, None, "no TCP listener unless configured");

    let (mut child, lines, listening) = serve(Some("127.0.0.1:0"));
    let addr: SocketAddr = listening.expect("the listening line").parse().unwrap();
    assert_ne!(addr.port(), 0);
    let token = kwanje::auth::Keys::hs256(b"tcp-cli-secret")
        .issue(&kwanje::auth::Claims::new(
            "viewer-1",
            Role::Viewer,
            kwanje::time::Millis::now(),
            Duration::from_secs(60),
        ))
        .unwrap();
    let connected = actix_web::rt::System::new().block_on(async move {
        let mut stomp = Stomp::open_tcp(addr).await;
        stomp.connect(&token, "1.2").await
    });
    assert_eq!(connected.header("version"), Some("1.2"));

    // SIGTERM: the listener stops with the rest, and the process exits 0.
    Process::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}\n{rest:#?}");
    assert!(rest.iter().any(|l| l.contains("stomp tcp stopped")), "{rest:#?}");
    assert!(std::net::TcpStream::connect(addr).is_err(), "{addr} still accepts");
}
