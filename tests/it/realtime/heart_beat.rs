//! Heart-beat negotiation as a field client sees it: a gate PC that asks for 1 s beats (stomp.py's
//! `heartbeats=(1000, 1000)`) is answered 1 s, hears a beat within about a second, and stays
//! connected through 30 s of idle on WebSocket, TCP and SockJS, beating both ways. Asking below
//! the floor gets the floor; asking nothing gets the server's offer and no beats.

use std::time::{Duration, Instant};

use kwanje::auth::Role;
use kwanje::stomp::Command;

use super::client::{frame, Stomp};
use super::sockjs_client::{SockFrame, SockJs, Transport};
use crate::support::{Backend, Server};

/// The idle time a session must survive.
const IDLE: Duration = Duration::from_secs(30);
/// How often the client beats: within its promised 1 s.
const CLIENT_BEAT: Duration = Duration::from_millis(500);
/// A server beat promised every 1 s must arrive within this (timer and scheduling slack).
const FIRST_BEAT_WITHIN: Duration = Duration::from_millis(1_600);

async fn server() -> Server {
    Server::start_with(Backend::Sqlite, |c| c.stomp_tcp = Some("127.0.0.1:0".into())).await
}

fn connect_frame(token: &str, heart_beat: &str) -> String {
    frame(
        "CONNECT",
        &[
            ("accept-version", "1.2"),
            ("passcode", token),
            ("heart-beat", heart_beat),
        ],
        "",
    )
}

/// A connected WebSocket or TCP session idles for [`IDLE`], beating every [`CLIENT_BEAT`]: the
/// first server beat comes within [`FIRST_BEAT_WITHIN`], beats keep coming about every second,
/// no frame and no close arrives, and a receipt at the end proves the session alive.
async fn idles_with_beats_both_ways(mut stomp: Stomp, token: &str, what: &str) {
    stomp.send_text(&connect_frame(token, "1000,1000")).await;
    let connected = stomp.expect(Command::Connected).await;
    assert_eq!(connected.header("heart-beat"), Some("1000,1000"), "{what}");
    let started = Instant::now();
    let mut first_beat = None;
    while started.elapsed() < IDLE {
        let before = stomp.beats;
        if let Some(event) = stomp.next_within(CLIENT_BEAT).await {
            panic!("{what}: nothing but beats while idle, got {event:?}");
        }
        if first_beat.is_none() && stomp.beats > before {
            first_beat = Some(started.elapsed());
        }
        stomp.send_text("\n").await;
    }
    let first = first_beat.unwrap_or_else(|| panic!("{what}: no beat in {IDLE:?}"));
    assert!(
        first <= FIRST_BEAT_WITHIN,
        "{what}: the first beat came after {first:?}"
    );
    // About one a second; a 10 s beat (what the server used to impose) would give 3.
    assert!(stomp.beats >= 25, "{what}: {} beats in {IDLE:?}", stomp.beats);
    stomp.send_text(&frame("DISCONNECT", &[("receipt", "bye")], "")).await;
    stomp.await_receipt("bye").await;
}

#[actix_web::test]
async fn a_client_asking_one_second_beats_gets_them_and_stays_connected_on_every_transport() {
    let s = server().await;
    let token = s.token("gate-pc-1", Role::Client, Some("gate-pc-1"));
    let ws = Stomp::open(&s.base, &["v12.stomp"]).await;
    let tcp = Stomp::open_tcp(s.stomp_tcp.unwrap()).await;
    let sockjs = async {
        let mut sock = SockJs::open(&s, Transport::WebSocket).await;
        sock.send_stomp(
            "CONNECT",
            &[
                ("accept-version", "1.2"),
                ("passcode", &token),
                ("heart-beat", "1000,1000"),
            ],
            "",
        )
        .await;
        let connected = sock.expect_stomp(Command::Connected).await;
        assert_eq!(connected.header("heart-beat"), Some("1000,1000"), "sockjs");
        let started = Instant::now();
        let (mut beats, mut first_beat) = (0, None);
        let mut next_client_beat = started + CLIENT_BEAT;
        while started.elapsed() < IDLE {
            if Instant::now() >= next_client_beat {
                sock.send(&["\n"]).await;
                next_client_beat += CLIENT_BEAT;
            }
            let frame = tokio::time::timeout(CLIENT_BEAT, sock.next_frame()).await;
            match frame {
                Err(_) => {}
                Ok(Some(SockFrame::Messages(messages))) if messages.iter().all(|m| m == "\n") => {
                    beats += messages.len();
                    first_beat.get_or_insert(started.elapsed());
                }
                // SockJS's own heartbeat frame is not a STOMP beat.
                Ok(Some(SockFrame::Heartbeat)) => {}
                Ok(other) => panic!("sockjs: nothing but beats while idle, got {other:?}"),
            }
        }
        let first = first_beat.expect("sockjs: no beat");
        assert!(
            first <= FIRST_BEAT_WITHIN,
            "sockjs: the first beat came after {first:?}"
        );
        assert!(beats >= 25, "sockjs: {beats} beats in {IDLE:?}");
        sock.send_stomp("DISCONNECT", &[("receipt", "bye")], "").await;
        let receipt = sock.expect_stomp(Command::Receipt).await;
        assert_eq!(receipt.header("receipt-id"), Some("bye"));
    };
    tokio::join!(
        idles_with_beats_both_ways(ws, &token, "websocket"),
        idles_with_beats_both_ways(tcp, &token, "tcp"),
        sockjs
    );
}

#[actix_web::test]
async fn a_wish_below_the_floor_gets_the_floor_and_no_wish_gets_the_offer_without_beats() {
    let s = Server::start_with(Backend::Sqlite, |c| c.stomp_heart_beat_min_ms = 2_000).await;
    let token = s.token("viewer-1", Role::Viewer, None);

    let mut eager = Stomp::open(&s.base, &["v12.stomp"]).await;
    eager.send_text(&connect_frame(&token, "100,200")).await;
    let connected = eager.expect(Command::Connected).await;
    assert_eq!(connected.header("heart-beat"), Some("2000,2000"));

    let mut quiet = Stomp::open(&s.base, &["v12.stomp"]).await;
    quiet.send_text(&connect_frame(&token, "0,0")).await;
    let connected = quiet.expect(Command::Connected).await;
    assert_eq!(
        connected.header("heart-beat"),
        Some("10000,10000"),
        "the server's offer"
    );
    // No beats were agreed: silence both ways is fine.
    quiet.expect_silence(Duration::from_millis(2_500)).await;
    assert_eq!(quiet.beats, 0, "no beats were agreed");
}
