//! The slow-consumer policy: a client that does not read is sent an ERROR and dropped once
//! its backlog passes the limit, while a fast one keeps receiving everything.

use std::time::Duration;

use kwanje::auth::Role;
use kwanje::broker::messages::GetBrokerStats;
use kwanje::stomp::Command;

use super::client::{frame, Event, Stomp};
use super::session;
use crate::support::{Backend, Server};

pub(super) const LIMIT: usize = 256 * 1024;
const MESSAGES: usize = 400;
const BODY: usize = 8 * 1024;

#[actix_web::test]
async fn a_slow_consumer_is_dropped_while_a_fast_one_keeps_receiving() {
    let s = Server::start_with(Backend::Sqlite, |c| c.ws_outbound_limit_bytes = LIMIT).await;
    let token = s.token("viewer-slow", Role::Viewer, None);
    let mut slow = Stomp::open_path(&s.base, "/ws", &["v12.stomp"], Some(4 * 1024)).await;
    slow.connect(&token, "1.2").await;
    let fast = session(&s, "viewer-fast", Role::Viewer).await;
    let op = session(&s, "op-1", Role::Operator).await;
    slow_and_fast(&s, slow, fast, op).await;
}

/// `slow` (connected, reading nothing) and `fast` subscribe to one topic; `op` publishes 3 MiB
/// to it. The server's limit is [`LIMIT`]: `slow` gets some messages, then the ERROR "slow
/// consumer" and the end, and leaves the broker; `fast` gets every message and is still served.
/// Shared by every transport's slow-consumer test.
pub(super) async fn slow_and_fast(s: &Server, mut slow: Stomp, mut fast: Stomp, mut op: Stomp) {
    slow.subscribe("s", "/topic/ops/flood", "auto").await;
    fast.subscribe("f", "/topic/ops/flood", "auto").await;
    broker_until(s, |subscriptions| subscriptions == 2).await;

    // The slow client reads nothing while 3 MiB are published; the fast one reads as it goes.
    // The publisher waits for the fast client's read before the next send, so on a loaded
    // machine the fast client's backlog is one message, never the limit.
    let (read_one, mut reads) = tokio::sync::mpsc::unbounded_channel::<()>();
    let reader = actix_web::rt::spawn(async move {
        for _ in 0..MESSAGES {
            let frame = fast.recv().await;
            assert_eq!(frame.command, Command::Message, "{frame:?}");
            assert_eq!(frame.body.len(), BODY);
            let _ = read_one.send(());
        }
        fast
    });
    let body = "x".repeat(BODY);
    for n in 0..MESSAGES {
        let receipt = n.to_string();
        op.send_with_receipt("/topic/ops/flood", &[], &body, &receipt).await;
        reads.recv().await.expect("the fast client reads");
    }
    let mut fast = reader.await.expect("the fast client received every message");

    // Now the slow client reads: some messages, then the ERROR, then the end.
    let mut before_error = 0;
    let error = loop {
        match slow.next_within(Duration::from_secs(5)).await {
            Some(Event::Frame(frame)) if frame.command == Command::Message => before_error += 1,
            Some(Event::Frame(frame)) if frame.command == Command::Error => break frame,
            other => panic!("expected MESSAGEs then an ERROR, got {other:?} after {before_error}"),
        }
    };
    assert_eq!(error.header("message"), Some("slow consumer"));
    assert!(
        before_error < MESSAGES,
        "the slow client got everything: {before_error}"
    );
    slow.expect_closed().await;
    // The closed session deregisters asynchronously: wait for the broker to drop it.
    broker_until(s, |subscriptions| subscriptions == 1).await;

    // The fast client is still served.
    op.send_text(&frame(
        "SEND",
        &[("destination", "/topic/ops/flood"), ("receipt", "r")],
        "after",
    ))
    .await;
    op.await_receipt("r").await;
    assert_eq!(&fast.expect(Command::Message).await.body[..], b"after");
}

/// Waits (at most 10 s) until the broker's subscription count passes `check`.
async fn broker_until(s: &Server, check: impl Fn(usize) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = s.state.broker.send(GetBrokerStats).await.unwrap();
        if check(stats.subscriptions) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

mod batches {
    //! A batch of messages takes one place in a session's bounded mailbox: a storm published
    //! together does not evict a session that is momentarily busy, while the same storm
    //! published message by message does.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use actix::prelude::*;
    use kwanje::broker::messages::{Deliver, Evict, Outlet, Publish, PublishBatch, Register, Subscribe};
    use kwanje::broker::{Broker, SessionKey};
    use kwanje::time::SystemClock;

    const STORM: usize = 2_000;
    const MAILBOX: usize = 1_024;

    #[derive(Default)]
    struct Seen {
        messages: AtomicUsize,
        evicted: AtomicUsize,
    }

    /// A session whose thread is busy for a while: deliveries pile up in its mailbox.
    struct BusySession(Arc<Seen>);

    impl Actor for BusySession {
        type Context = Context<Self>;
        fn started(&mut self, ctx: &mut Context<Self>) {
            ctx.set_mailbox_capacity(MAILBOX);
        }
    }

    impl Handler<Deliver> for BusySession {
        type Result = ();
        fn handle(&mut self, msg: Deliver, _: &mut Context<Self>) {
            self.0.messages.fetch_add(msg.messages.len(), Ordering::SeqCst);
        }
    }

    impl Handler<Evict> for BusySession {
        type Result = ();
        fn handle(&mut self, _: Evict, _: &mut Context<Self>) {
            self.0.evicted.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Keeps the session's thread busy until the test lets go.
    #[derive(Message)]
    #[rtype(result = "()")]
    struct Busy(std::sync::mpsc::Receiver<()>);

    impl Handler<Busy> for BusySession {
        type Result = ();
        fn handle(&mut self, msg: Busy, _: &mut Context<Self>) {
            let _ = msg.0.recv_timeout(Duration::from_secs(10));
        }
    }

    async fn storm(batched: bool) -> Arc<Seen> {
        let seen = Arc::new(Seen::default());
        let arbiter = Arbiter::new();
        let s2 = seen.clone();
        let session = BusySession::start_in_arbiter(&arbiter.handle(), move |_| BusySession(s2));
        let broker = Broker::new(Arc::new(SystemClock)).start();
        let key = SessionKey(1);
        let outlet = Outlet {
            deliver: session.clone().recipient(),
            evict: session.clone().recipient(),
        };
        broker.do_send(Register {
            session: key,
            user: "op".into(),
            client: None,
            outlet,
        });
        broker.do_send(Subscribe {
            session: key,
            id: "a".into(),
            destination: "/topic/alerts".into(),
        });
        let (release, hold) = std::sync::mpsc::channel();
        session.do_send(Busy(hold));
        let bodies: Vec<bytes::Bytes> = (0..STORM)
            .map(|i| bytes::Bytes::from(format!("{{\"n\":{i}}}")))
            .collect();
        if batched {
            broker.do_send(PublishBatch {
                destination: "/topic/alerts".into(),
                headers: vec![],
                bodies,
            });
        } else {
            for body in bodies {
                broker.do_send(Publish {
                    destination: "/topic/alerts".into(),
                    headers: vec![],
                    body,
                });
            }
        }
        // The broker handles its mailbox in order: once this answers, every publish above has
        // been pushed into the (still busy) session's mailbox. Then let the session drain it.
        broker.send(kwanje::broker::messages::GetBrokerStats).await.unwrap();
        release.send(()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while seen.messages.load(Ordering::SeqCst) + seen.evicted.load(Ordering::SeqCst) == 0
            || (seen.evicted.load(Ordering::SeqCst) == 0 && seen.messages.load(Ordering::SeqCst) < STORM)
        {
            assert!(std::time::Instant::now() < deadline, "the session never drained");
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        arbiter.stop();
        seen
    }

    #[actix_web::test]
    async fn a_storm_published_as_a_batch_reaches_a_busy_session_whole() {
        let seen = storm(true).await;
        assert_eq!(seen.evicted.load(Ordering::SeqCst), 0);
        assert_eq!(seen.messages.load(Ordering::SeqCst), STORM);
    }

    #[actix_web::test]
    async fn the_same_storm_message_by_message_overflows_it() {
        let seen = storm(false).await;
        assert_eq!(
            seen.evicted.load(Ordering::SeqCst),
            1,
            "the control: without batches the mailbox fills"
        );
        assert!(seen.messages.load(Ordering::SeqCst) < STORM);
    }
}
