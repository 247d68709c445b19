//! SockJS 0.3 at `/sockjs` with a STOMP session inside, over each transport, against the real
//! server: the info endpoint and CORS, xhr-polling, xhr-streaming, eventsource, the SockJS
//! WebSocket and the raw one, the protocol's errors, the one-receiver rule, the disconnect
//! delay (noticed by presence), and the slow-consumer limit for a browser that stops polling.

use std::time::{Duration, Instant};

use kwanje::auth::Role;
use kwanje::stomp::Command;

use super::client::{frame, Stomp};
use super::session;
use super::sockjs_client::{http, new_session_id, parse, read_exact, SockFrame, SockJs, Transport};
use crate::support::{Backend, Server};

/// Opens a session over `transport` and CONNECTs as `sub` in `role`.
async fn connected(s: &Server, transport: Transport, sub: &str, role: Role) -> SockJs {
    let client = (role == Role::Client).then_some(sub);
    let token = s.token(sub, role, client);
    let mut sock = SockJs::open(s, transport).await;
    let connected = sock.connect(&token).await;
    assert_eq!(connected.header("version"), Some("1.2"));
    assert!(connected.header("server").unwrap().starts_with("kwanje/"));
    sock
}

/// An operator's WebSocket session publishing to `/topic/ops/{channel}`, with a receipt.
async fn publish(op: &mut Stomp, channel: &str, body: &str, receipt: &str) {
    op.send_with_receipt(&format!("/topic/ops/{channel}"), &[], body, receipt)
        .await;
}

fn header<'a>(resp: &'a awc::ClientResponse<impl Sized>, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[actix_web::test]
async fn info_greeting_and_preflights_answer_with_cors_and_cache_headers() {
    let s = Server::start(Backend::Sqlite).await;
    let http = http();

    let mut resp = http.get(s.url("/sockjs")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(&resp.body().await.unwrap()[..], b"Welcome to SockJS!\n");

    let mut entropies = Vec::new();
    for origin in [Some("http://console.example"), None, Some("null")] {
        let mut req = http.get(s.url("/sockjs/info"));
        if let Some(origin) = origin {
            req = req.insert_header(("Origin", origin));
        }
        let mut resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            header(&resp, "content-type").replace(' ', ""),
            "application/json;charset=UTF-8"
        );
        assert_eq!(
            header(&resp, "cache-control"),
            "no-store, no-cache, no-transform, must-revalidate, max-age=0"
        );
        assert!(resp.headers().get("set-cookie").is_none());
        match origin {
            Some(origin) => {
                assert_eq!(header(&resp, "access-control-allow-origin"), origin);
                assert_eq!(header(&resp, "access-control-allow-credentials"), "true");
            }
            None => assert_eq!(header(&resp, "access-control-allow-origin"), "*"),
        }
        let info: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(info["websocket"], true);
        assert_eq!(info["cookie_needed"], false);
        assert_eq!(info["origins"], serde_json::json!(["*:*"]));
        entropies.push(info["entropy"].as_u64().expect("entropy is an integer"));
    }
    assert!(entropies.iter().all(|e| *e <= u64::from(u32::MAX)));
    assert!(
        entropies[0] != entropies[1] || entropies[1] != entropies[2],
        "{entropies:?}"
    );

    for (path, methods) in [
        ("/sockjs/info", "OPTIONS, GET"),
        ("/sockjs/abc/abc/xhr", "OPTIONS, POST"),
        ("/sockjs/abc/abc/xhr_send", "OPTIONS, POST"),
        ("/sockjs/abc/abc/xhr_streaming", "OPTIONS, POST"),
    ] {
        let resp = http
            .request(awc::http::Method::OPTIONS, s.url(path))
            .insert_header(("Origin", "http://console.example"))
            .insert_header(("Access-Control-Request-Headers", "content-type, x-a"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 204, "{path}");
        assert_eq!(header(&resp, "access-control-allow-methods"), methods);
        assert_eq!(header(&resp, "access-control-allow-origin"), "http://console.example");
        assert_eq!(header(&resp, "access-control-allow-headers"), "content-type, x-a");
        assert!(header(&resp, "cache-control").contains("public"));
        assert!(header(&resp, "access-control-max-age").parse::<u64>().unwrap() > 1_000_000);
        assert!(!header(&resp, "expires").is_empty());
    }
}

#[actix_web::test]
async fn xhr_polling_carries_a_stomp_session_and_its_subscriptions() {
    let s = Server::start(Backend::Sqlite).await;
    let mut sock = SockJs::open(&s, Transport::Polling).await;
    let token = s.token("viewer-1", Role::Viewer, None);
    let bearer = format!("Bearer {token}");
    let connect = frame(
        "CONNECT",
        &[
            ("accept-version", "1.2"),
            ("host", "kwanje"),
            ("Authorization", &bearer),
        ],
        "",
    );
    let (status, body) = sock.send_raw(&serde_json::to_string(&[&connect]).unwrap()).await;
    assert_eq!((status, body.as_str()), (204, ""));
    let poll = sock.poll().await;
    assert!(
        poll.starts_with("a[\"CONNECTED\\n") && poll.ends_with("\\u0000\"]\n"),
        "{poll:?}"
    );
    let SockFrame::Messages(messages) = parse(poll.trim_end()) else {
        panic!("{poll}")
    };
    assert_eq!(messages.len(), 1, "one STOMP frame per SockJS message");
    assert!(messages[0].contains("\nversion:1.2\n"), "{:?}", messages[0]);

    // The server id is for load balancers: another one reaches the same session.
    let (prefix, session_id) = sock.url.rsplit_once('/').unwrap();
    let (base, _server) = prefix.rsplit_once('/').unwrap();
    sock.url = format!("{base}/999/{session_id}");
    sock.subscribe("ops", "/topic/ops/shift").await;

    let mut op = session(&s, "op-1", Role::Operator).await;
    publish(&mut op, "shift", "{\"note\":\"handover at 14:00 — 관제\"}", "r1").await;
    let message = sock.expect_stomp(Command::Message).await;
    assert_eq!(message.header("destination"), Some("/topic/ops/shift"));
    assert_eq!(message.header("sender"), Some("op-1"));
    assert_eq!(&message.body[..], "{\"note\":\"handover at 14:00 — 관제\"}".as_bytes());

    // The session's own SENDs work too: an operator over SockJS publishes to the WebSocket one.
    let mut op_sock = connected(&s, Transport::Polling, "op-2", Role::Operator).await;
    op.subscribe("o", "/topic/ops/notices", "auto").await;
    op_sock
        .send_stomp(
            "SEND",
            &[("destination", "/topic/ops/notices"), ("receipt", "n1")],
            "runway 2 closed",
        )
        .await;
    op_sock.expect_stomp(Command::Receipt).await;
    let notice = op.expect(Command::Message).await;
    assert_eq!(
        (notice.header("sender"), &notice.body[..]),
        (Some("op-2"), &b"runway 2 closed"[..])
    );
}

#[actix_web::test]
async fn xhr_streaming_sends_its_prelude_heartbeats_and_frames_and_ends_at_its_byte_limit() {
    const LIMIT: usize = 4096;
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.sockjs_stream_limit_bytes = LIMIT;
        c.sockjs_heartbeat_ms = 300;
    })
    .await;
    // The prelude and `o` are checked by `open`; headers here.
    let resp = http()
        .post(s.url(&format!("/sockjs/000/{}/xhr_streaming", new_session_id())))
        .insert_header(("Origin", "http://console.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&resp, "content-type").replace(' ', ""),
        "application/javascript;charset=UTF-8"
    );
    assert_eq!(
        header(&resp, "cache-control"),
        "no-store, no-cache, no-transform, must-revalidate, max-age=0"
    );
    assert_eq!(header(&resp, "access-control-allow-origin"), "http://console.example");
    drop(resp);

    let mut sock = connected(&s, Transport::Streaming, "viewer-1", Role::Viewer).await;
    // Idle for longer than the heartbeat period: `h` keeps the response alive.
    assert_eq!(sock.next_frame().await, Some(SockFrame::Heartbeat));
    sock.subscribe("ops", "/topic/ops/flood").await;
    let mut op = session(&s, "op-1", Role::Operator).await;
    let body = "x".repeat(512);
    let mut received = 0;
    for n in 0..10 {
        publish(&mut op, "flood", &body, &n.to_string()).await;
    }
    // 10 messages of 512 bytes pass 4 KiB: the response ends on the way, and the next one
    // (opened as a browser would) carries the rest; nothing is lost.
    let mut responses = 1;
    while received < 10 {
        match sock.next_frame().await {
            Some(SockFrame::Messages(messages)) => {
                for message in messages {
                    assert!(
                        message.starts_with("MESSAGE\n") && message.contains(&body),
                        "{message:?}"
                    );
                    received += 1;
                }
            }
            Some(SockFrame::Heartbeat) => {}
            Some(other) => panic!("{other:?}"),
            None => {
                responses += 1;
                sock.receive().await;
            }
        }
    }
    assert!(responses >= 2, "the response ended at its byte limit");
}

#[actix_web::test]
async fn eventsource_carries_each_frame_as_an_event() {
    let s = Server::start(Backend::Sqlite).await;
    let url = s.url(&format!("/sockjs/000/{}", new_session_id()));
    let resp = http().get(format!("{url}/eventsource")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(header(&resp, "content-type").replace(' ', ""), "text/event-stream");
    assert_eq!(
        header(&resp, "cache-control"),
        "no-store, no-cache, no-transform, must-revalidate, max-age=0"
    );
    let mut body: std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>> = Box::pin(resp);
    let mut buf = Vec::new();
    let expected = "\r\ndata: o\r\n\r\n";
    assert_eq!(
        read_exact(&mut body, &mut buf, expected.len()).await,
        expected.as_bytes()
    );

    let token = s.token("viewer-1", Role::Viewer, None);
    let connect = frame("CONNECT", &[("accept-version", "1.2"), ("passcode", &token)], "");
    let sent = http()
        .post(format!("{url}/xhr_send"))
        .send_body(serde_json::to_string(&[&connect]).unwrap())
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 204);
    let head = "data: a[\"CONNECTED\\n";
    let got = read_exact(&mut body, &mut buf, head.len()).await;
    assert_eq!(String::from_utf8(got).unwrap(), head);

    // The client helper over the same transport: a whole STOMP exchange.
    let mut sock = connected(&s, Transport::EventSource, "viewer-2", Role::Viewer).await;
    sock.subscribe("a", "/topic/ops/x").await;
}

#[actix_web::test]
async fn the_sockjs_websocket_carries_stomp_end_to_end() {
    let s = Server::start(Backend::Sqlite).await;
    let mut sock = connected(&s, Transport::WebSocket, "viewer-1", Role::Viewer).await;
    sock.subscribe("ops", "/topic/ops/shift").await;
    let mut op = session(&s, "op-1", Role::Operator).await;
    publish(&mut op, "shift", "hello", "r1").await;
    let message = sock.expect_stomp(Command::Message).await;
    assert_eq!(&message.body[..], b"hello");

    // A single JSON string works as well as an array; an empty message is ignored.
    sock.send(&[]).await;
    let unsubscribe = frame("UNSUBSCRIBE", &[("id", "ops"), ("receipt", "u")], "");
    sock.send_ws_text(&serde_json::to_string(&unsubscribe).unwrap()).await;
    assert_eq!(
        sock.expect_stomp(Command::Receipt).await.header("receipt-id"),
        Some("u")
    );

    // DISCONNECT: its receipt, the close frame, the end.
    sock.send_stomp("DISCONNECT", &[("receipt", "bye")], "").await;
    assert_eq!(
        sock.expect_stomp(Command::Receipt).await.header("receipt-id"),
        Some("bye")
    );
    assert_eq!(
        sock.next_frame().await,
        Some(SockFrame::Close(1000, "Normal closure".into()))
    );
    assert_eq!(sock.next_frame().await, None);

    // Broken JSON ends the socket at once.
    let mut broken = SockJs::open(&s, Transport::WebSocket).await;
    broken.send_ws_text("[\"CONNECT").await;
    assert_eq!(broken.next_frame().await, None);

    // Session ids may repeat on WebSockets: each socket is its own session.
    let mut twin = SockJs::open(&s, Transport::WebSocket).await;
    twin.url = broken.url.clone();
    twin.receive().await;
    assert_eq!(twin.next_frame().await, Some(SockFrame::Open));
}

#[actix_web::test]
async fn the_raw_sockjs_websocket_is_plain_stomp() {
    let s = Server::start(Backend::Sqlite).await;
    let token = s.token("viewer-1", Role::Viewer, None);
    let mut stomp = Stomp::open_path(&s.base, "/sockjs/websocket", &[], None).await;
    stomp.connect(&token, "1.2").await;
    stomp.subscribe("a", "/topic/alerts", "auto").await;
}

#[actix_web::test]
async fn a_bad_token_gets_an_error_frame_then_a_close_frame_on_every_transport() {
    let s = Server::start(Backend::Sqlite).await;
    for transport in [
        Transport::Polling,
        Transport::Streaming,
        Transport::EventSource,
        Transport::WebSocket,
    ] {
        let mut sock = SockJs::open(&s, transport).await;
        sock.send_stomp("CONNECT", &[("accept-version", "1.2"), ("passcode", "not-a-jwt")], "")
            .await;
        let error = sock.expect_stomp(Command::Error).await;
        assert!(error.header("message").is_some(), "{transport:?}: {error:?}");
        let close = loop {
            match sock.next_frame().await {
                Some(SockFrame::Close(code, reason)) => break (code, reason),
                Some(SockFrame::Heartbeat) => {}
                // A streaming response may end right after the ERROR; the next one gets the close.
                None if transport != Transport::WebSocket => sock.receive().await,
                other => panic!("{transport:?}: expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(close, (1008, "Policy violation".to_owned()), "{transport:?}");
        if transport == Transport::Polling {
            // Every later receiving request gets the close frame; the session takes no more.
            assert_eq!(sock.poll().await, "c[1008,\"Policy violation\"]\n");
            assert_eq!(sock.send_raw("[\"x\"]").await.0, 404);
        }
    }
}

#[actix_web::test]
async fn bad_xhr_send_payloads_get_500_with_the_protocols_text_and_unknown_sessions_404() {
    let s = Server::start(Backend::Sqlite).await;
    let sock = SockJs::open(&s, Transport::Polling).await;
    assert_eq!(sock.send_raw("").await, (500, "Payload expected.".to_owned()));
    assert_eq!(sock.send_raw("[\"x").await, (500, "Broken JSON encoding.".to_owned()));
    assert_eq!(sock.send_raw("[1]").await, (500, "Broken JSON encoding.".to_owned()));
    assert_eq!(
        sock.send_raw("[\"\\n\"]").await,
        (204, String::new()),
        "a STOMP heart-beat"
    );

    let http = http();
    let unknown = s.url(&format!("/sockjs/000/{}/xhr_send", new_session_id()));
    let resp = http.post(unknown).send_body("[\"x\"]").await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    for path in [
        "/sockjs/a./a/xhr",
        "/sockjs/a/a./xhr",
        "/sockjs/./././xhr",
        "/sockjs//a/xhr",
        "/sockjs/a/a/nope",
    ] {
        let resp = http.post(s.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
}

#[actix_web::test]
async fn a_second_receiving_request_gets_2010_while_the_first_goes_on() {
    let s = Server::start(Backend::Sqlite).await;
    // A streaming response is the receiving request (its prelude and `o` were read, so it is
    // attached, whatever the machine's load).
    let mut sock = SockJs::open(&s, Transport::Streaming).await;
    assert_eq!(sock.poll().await, "c[2010,\"Another connection still open\"]\n");
    let mut second = http().post(format!("{}/xhr_streaming", sock.url)).send().await.unwrap();
    let body = second.body().await.unwrap();
    assert_eq!(
        String::from_utf8(body.to_vec()).unwrap(),
        format!("{}\nc[2010,\"Another connection still open\"]\n", "h".repeat(2048))
    );

    // The first one goes on.
    let token = s.token("viewer-1", Role::Viewer, None);
    sock.send_stomp("CONNECT", &[("accept-version", "1.2"), ("passcode", &token)], "")
        .await;
    sock.expect_stomp(Command::Connected).await;
    assert!(!sock.ended);
}

#[actix_web::test]
async fn a_session_nobody_polls_is_gone_after_the_disconnect_delay_and_presence_notices() {
    const DELAY: Duration = Duration::from_millis(400);
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.sockjs_disconnect_delay_ms = DELAY.as_millis() as u64
    })
    .await;
    s.register("gate-1", &[], 60_000, 3).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("p", "/topic/presence", "auto").await;

    let sock = connected(&s, Transport::Polling, "gate-1", Role::Client).await;
    viewer.expect_presence("gate-1", true).await;

    // The gate's browser stops polling: the session goes after the delay, and the STOMP
    // session with it.
    let stopped = Instant::now();
    viewer.expect_presence("gate-1", false).await;
    let after = stopped.elapsed();
    assert!(after >= DELAY / 2 && after < Duration::from_secs(3), "{after:?}");
    assert_eq!(sock.send_raw("[\"x\"]").await.0, 404);
    // A poll under the same id starts afresh.
    assert_eq!(sock.poll().await, "o\n");
}

#[actix_web::test]
async fn a_browser_that_stops_polling_is_dropped_as_a_slow_consumer_at_the_byte_limit() {
    const LIMIT: usize = 8 * 1024;
    let s = Server::start_with(Backend::Sqlite, |c| c.ws_outbound_limit_bytes = LIMIT).await;
    let mut sock = connected(&s, Transport::Polling, "viewer-1", Role::Viewer).await;
    sock.subscribe("f", "/topic/ops/flood").await;
    let mut op = session(&s, "op-1", Role::Operator).await;
    let body = "x".repeat(1024);
    for n in 0..40 {
        publish(&mut op, "flood", &body, &n.to_string()).await;
    }
    // Nobody polled meanwhile: some MESSAGEs wait, then the ERROR, then the close; not all 40.
    let mut messages = 0;
    let error = loop {
        let frame = sock.next_stomp().await;
        match frame.command {
            Command::Message => messages += 1,
            Command::Error => break frame,
            other => panic!("{other:?}"),
        }
    };
    assert!(error.header("message").unwrap().contains("slow consumer"), "{error:?}");
    assert!((4..=10).contains(&messages), "{messages} messages before the ERROR");
    assert_eq!(
        sock.next_frame().await,
        Some(SockFrame::Close(1008, "Policy violation".into()))
    );
}

#[actix_web::test]
async fn a_receiving_request_cut_off_mid_way_ends_the_session_at_once() {
    let s = Server::start(Backend::Sqlite).await;
    s.register("gate-1", &[], 60_000, 3).await;
    let mut viewer = session(&s, "viewer-1", Role::Viewer).await;
    viewer.subscribe("p", "/topic/presence", "auto").await;
    for transport in [Transport::Streaming, Transport::EventSource] {
        let mut sock = connected(&s, transport, "gate-1", Role::Client).await;
        assert_eq!(viewer.recv_json().await.1["online"], true);
        let cut = Instant::now();
        sock.drop_receiver();
        viewer.expect_presence("gate-1", false).await;
        assert!(
            cut.elapsed() < Duration::from_secs(2),
            "{transport:?}: {:?}",
            cut.elapsed()
        );
        assert_eq!(
            sock.poll().await,
            "c[1002,\"Connection interrupted\"]\n",
            "{transport:?}"
        );
    }
}
