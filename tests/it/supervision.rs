//! Supervision by counting and by breaking things (DESIGN.md; actix's test_supervisor.rs).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use kwanje::ownership::{Fence, OwnerCheck, Ownership, Partition, Partitions};
use kwanje::supervision::{
    guarded, ChildExited, ChildFactory, ChildSlot, Crash, Exit, ExitReport, GetStats, Guarded, RestartPolicy,
    StartChild, Supervisor, SupervisorStats,
};
use kwanje::time::{Clock, Millis};

use crate::support::{Backend, Server};

const WAIT: Duration = Duration::from_secs(10);

fn fault_injection(c: &mut kwanje::config::Config) {
    c.fault_injection = true;
    c.device_threads = Some(1);
}

async fn crash(s: &Server, id: &str) {
    let (status, body) = s
        .post(&format!("/api/v1/devices/{id}/faults/crash"), serde_json::json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
}

/// Waits until device `id` has been restarted `restarts` times and its new actor runs (the
/// backoff doubles from 50 ms), so that it can be crashed again.
async fn running_again(s: &Server, id: &str, restarts: u32) {
    let path = format!("/api/v1/devices/{id}");
    s.wait_for(&path, WAIT, |d| d["restarts"] == restarts).await;
    let deadline = std::time::Instant::now() + WAIT;
    while s.state.devices.get(id).unwrap().slot.addr().is_none() {
        assert!(std::time::Instant::now() < deadline, "{id} never ran again");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn stats(s: &Server) -> kwanje::supervision::SupervisorStats {
    s.state.devices.supervisor().send(GetStats).await.unwrap()
}

#[actix_web::test]
async fn a_crashed_device_is_restarted_once_and_serves_from_its_stored_state() {
    let s = Server::start_with(Backend::Sqlite, fault_injection).await;
    s.register("pc-1", &["cam-1"], 100, 2).await;
    let _gate_pc = s.gate_pc_online("pc-1").await;
    s.heartbeat("pc-1", "cam-1", "ok").await;
    s.wait_for("/api/v1/devices/cam-1", WAIT, |d| d["state"] == "down")
        .await;
    s.wait_for("/api/v1/alerts?state=open", WAIT, |b| {
        b["items"].as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    let before = stats(&s).await;

    crash(&s, "cam-1").await;
    let after = s.wait_for("/api/v1/devices/cam-1", WAIT, |d| d["restarts"] == 1).await;
    assert_eq!(
        after["state"], "down",
        "rebuilt from the stored state, not the crashed value: {after}"
    );
    let now = stats(&s).await;
    assert_eq!(now.restarts - before.restarts, 1);
    assert_eq!(now.escalations, 0);

    // It serves again: a heartbeat brings it up and resolves the stored alert.
    let (status, body) = s.heartbeat("pc-1", "cam-1", "ok").await;
    assert_eq!((status, body["state"].as_str()), (200, Some("up")), "{body}");
    s.wait_for("/api/v1/alerts?state=open", WAIT, |b| {
        b["items"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    // The restart count is stored.
    s.wait_for("/api/v1/devices/cam-1", WAIT, |d| d["restarts"] == 1).await;
    let count: i32 = s
        .state
        .store
        .read(|c| kwanje::store::models::devices::find(c, "cam-1").map(|d| d.unwrap().restarts))
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[actix_web::test]
async fn a_crash_loop_quarantines_the_device_and_raises_one_critical_alert() {
    let s = Server::start_with(Backend::Sqlite, fault_injection).await;
    s.register("pc-1", &["gate-1"], 5_000, 3).await;
    // Default policy: 5 restarts within 60 s; the 6th crash escalates.
    for n in 1..=5u32 {
        crash(&s, "gate-1").await;
        running_again(&s, "gate-1", n).await;
    }
    crash(&s, "gate-1").await;
    let q = s
        .wait_for("/api/v1/devices/gate-1", WAIT, |d| d["state"] == "quarantined")
        .await;
    assert_eq!(q["restarts"], 5);
    let st = stats(&s).await;
    assert_eq!((st.restarts, st.escalations), (5, 1));
    let open = s
        .wait_for("/api/v1/alerts?state=open&kind=crash_loop", WAIT, |b| {
            b["items"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    assert_eq!(open["items"][0]["severity"], "critical");
    // A quarantined device refuses heartbeats with a clear 409.
    let (status, body) = s.heartbeat("pc-1", "gate-1", "ok").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("quarantined"));
    // Lifting the quarantine starts it afresh and resolves the crash-loop alert.
    s.state.devices.restart("gate-1").await.unwrap();
    let (status, _) = s.heartbeat("pc-1", "gate-1", "ok").await;
    assert_eq!(status, 200);
    s.wait_for("/api/v1/alerts?state=open&kind=crash_loop", WAIT, |b| {
        b["items"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
}

#[actix_web::test]
async fn other_devices_on_the_same_arbiter_keep_running_through_a_panic() {
    // One device thread: every device actor shares the arbiter of the one that panics.
    let s = Server::start_with(Backend::Sqlite, fault_injection).await;
    s.register("pc-1", &["a", "b"], 150, 2).await;
    let _gate_pc = s.gate_pc_online("pc-1").await;
    s.heartbeat("pc-1", "b", "ok").await;
    for n in 1..=3 {
        crash(&s, "a").await;
        let (status, body) = s.heartbeat("pc-1", "b", "ok").await;
        assert_eq!((status, body["state"].as_str()), (200, Some("up")), "{body}");
        running_again(&s, "a", n).await;
    }
    // b's own timer still fires on that arbiter: it goes down when silent.
    s.wait_for("/api/v1/devices/b", WAIT, |d| d["state"] == "down").await;
    let (_, a) = s.get("/api/v1/devices/a").await;
    assert_eq!(a["restarts"], 3, "{a}");
}

// A generic child, counted as actix's own supervisor test does.

#[derive(Default)]
struct Counts {
    starts: AtomicU32,
    stops: AtomicU32,
}

struct Child {
    counts: Arc<Counts>,
    exit: ExitReport<u32>,
}

impl Actor for Child {
    type Context = Context<Self>;
    fn started(&mut self, _: &mut Context<Self>) {
        self.counts.starts.fetch_add(1, Ordering::SeqCst);
    }
    fn stopped(&mut self, _: &mut Context<Self>) {
        self.counts.stops.fetch_add(1, Ordering::SeqCst);
        self.exit.report(1);
    }
}

impl Guarded for Child {
    fn crashed(&mut self, ctx: &mut Context<Self>, crash: Crash) {
        self.exit.crashed(ctx, "test", &1, crash);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
enum Order {
    Panic,
    Stop,
}

impl Handler<Order> for Child {
    type Result = ();
    fn handle(&mut self, msg: Order, ctx: &mut Context<Self>) {
        guarded(self, ctx, |_, ctx| match msg {
            Order::Panic => panic!("child told to panic"),
            Order::Stop => ctx.stop(),
        });
    }
}

struct Factory {
    counts: Arc<Counts>,
    current: Arc<std::sync::Mutex<Option<Addr<Child>>>>,
    escalated: Arc<AtomicU32>,
    /// Starts still to fail (as a child whose stored state cannot be read).
    failing_starts: Arc<AtomicU32>,
    /// The generation of the child started last.
    generation: Arc<AtomicU64>,
    slot: ChildSlot<Child>,
}

impl ChildFactory for Factory {
    type Id = u32;
    type Actor = Child;
    fn with_partition_key<R>(&self, id: &u32, f: impl FnOnce(&str) -> R) -> Option<R> {
        Some(f(&id.to_string()))
    }
    fn start_child(&mut self, _: &u32, _: Fence, _: u32, exit: ExitReport<u32>) -> Result<Addr<Child>, String> {
        let failing = self.failing_starts.load(Ordering::SeqCst);
        if failing > 0 {
            self.failing_starts.store(failing - 1, Ordering::SeqCst);
            return Err("stored state unreadable".into());
        }
        self.generation.store(exit.generation(), Ordering::SeqCst);
        let addr = Child {
            counts: self.counts.clone(),
            exit,
        }
        .start();
        *self.current.lock().unwrap() = Some(addr.clone());
        Ok(addr)
    }
    fn with_slot<R>(&self, _: &u32, f: impl FnOnce(&ChildSlot<Child>) -> R) -> Option<R> {
        Some(f(&self.slot))
    }
    fn escalate(&mut self, _: &u32, _: &str, _: u32) {
        self.escalated.fetch_add(1, Ordering::SeqCst);
    }
}

/// Virtual time for a supervisor under test: tokio's clock, paused, read as epoch
/// milliseconds. The supervisor's backoff delays are tokio timers and its restart window reads
/// this clock, so both run on the same virtual time. Paused, the runtime moves the time on only
/// when every task waits for a timer, and then straight to the next one: a backoff passes at
/// once, and always after the work already under way (what a [`ManualClock`] gives the pure
/// cores, for the actors' timers too).
///
/// [`ManualClock`]: kwanje::time::ManualClock
#[derive(Debug)]
struct VirtualClock(tokio::time::Instant);

impl Clock for VirtualClock {
    fn now(&self) -> Millis {
        Millis(1_000_000_000 + i64::try_from(self.0.elapsed().as_millis()).unwrap())
    }
}

/// Longer (in virtual time) than any backoff these tests wait out.
const PAST_ANY_BACKOFF: Duration = Duration::from_secs(10);

/// A supervisor of one test child (id 1), started, on virtual time.
struct Harness {
    sup: Addr<Supervisor<Factory>>,
    counts: Arc<Counts>,
    current: Arc<std::sync::Mutex<Option<Addr<Child>>>>,
    escalated: Arc<AtomicU32>,
    failing_starts: Arc<AtomicU32>,
    generation: Arc<AtomicU64>,
    /// Whether this node owns the child's partition; switched off, ownership has moved.
    owned: Arc<AtomicBool>,
}

/// An owner check switched by the test: this node owns every partition or none.
#[derive(Debug)]
struct Switch(Arc<AtomicBool>);

impl OwnerCheck for Switch {
    fn fence(&self, partition: Partition) -> Option<Fence> {
        self.0.load(Ordering::SeqCst).then_some(Fence { partition, token: 7 })
    }
}

impl Harness {
    async fn start(backoff_initial: Duration) -> Harness {
        tokio::time::pause();
        let counts = Arc::new(Counts::default());
        let current = Arc::new(std::sync::Mutex::new(None));
        let escalated = Arc::new(AtomicU32::new(0));
        let failing_starts = Arc::new(AtomicU32::new(0));
        let generation = Arc::new(AtomicU64::new(0));
        let factory = Factory {
            counts: counts.clone(),
            current: current.clone(),
            escalated: escalated.clone(),
            failing_starts: failing_starts.clone(),
            generation: generation.clone(),
            slot: ChildSlot::new(0),
        };
        let policy = RestartPolicy {
            backoff_initial,
            ..RestartPolicy::default()
        };
        let clock = Arc::new(VirtualClock(tokio::time::Instant::now()));
        let owned = Arc::new(AtomicBool::new(true));
        let ownership = Ownership {
            partitions: Partitions::DEFAULT,
            check: Arc::new(Switch(owned.clone())),
        };
        let sup = Supervisor::new("test", factory, policy, clock)
            .with_ownership(ownership)
            .start();
        sup.send(StartChild { id: 1, reset: false }).await.unwrap().unwrap();
        Harness {
            sup,
            counts,
            current,
            escalated,
            failing_starts,
            generation,
            owned,
        }
    }

    /// Tells the child running now to `order`.
    async fn order(&self, order: Order) {
        let child = self.current.lock().unwrap().clone().unwrap();
        child.send(order).await.unwrap();
    }

    /// Waits until the `stops`-th child has stopped, then for the supervisor to have handled
    /// its exit (the exit is in the supervisor's mailbox before the count moves, and the stats
    /// query behind it). No virtual time passes: what it shows was done at once.
    async fn exited(&self, stops: u32) -> SupervisorStats {
        for _ in 0..10_000 {
            if self.counts.stops.load(Ordering::SeqCst) >= stops {
                return self.sup.send(GetStats).await.unwrap();
            }
            tokio::task::yield_now().await;
        }
        panic!("child stop number {stops} never came");
    }

    /// Lets `virtual_time` pass: every timer due within it fires, in order.
    async fn wait(&self, virtual_time: Duration) {
        tokio::time::sleep(virtual_time).await;
    }

    /// Two crashes in a row: the first is restarted at once, the second waits out a backoff.
    async fn crash_into_backoff(&self) {
        self.order(Order::Panic).await;
        assert_eq!(self.exited(1).await.restarts, 1, "the first crash restarts at once");
        self.order(Order::Panic).await;
        let st = self.exited(2).await;
        assert_eq!((st.restarts, st.pending_restarts), (1, 1));
    }

    fn starts_and_stops(&self) -> (u32, u32) {
        (
            self.counts.starts.load(Ordering::SeqCst),
            self.counts.stops.load(Ordering::SeqCst),
        )
    }
}

#[actix_web::test]
async fn panics_restart_a_child_and_a_deliberate_stop_does_not() {
    let h = Harness::start(Duration::from_millis(10)).await;
    for _ in 0..2 {
        h.order(Order::Panic).await;
        h.wait(PAST_ANY_BACKOFF).await;
    }
    assert_eq!(h.starts_and_stops(), (3, 2));
    let st = h.sup.send(GetStats).await.unwrap();
    assert_eq!((st.starts, st.restarts, st.escalations), (1, 2, 0));

    h.order(Order::Stop).await;
    let st = h.exited(3).await;
    assert_eq!(st.pending_restarts, 0, "no restart waits for a deliberate stop");
    h.wait(PAST_ANY_BACKOFF).await;
    assert_eq!(h.starts_and_stops(), (3, 3), "a deliberate stop is not restarted");
    assert_eq!(h.escalated.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn an_operators_start_during_a_backoff_supersedes_the_pending_restart() {
    // The first crash restarts at once, the second waits 400 ms.
    let h = Harness::start(Duration::from_millis(400)).await;
    h.crash_into_backoff().await;
    // The operator restarts it while the supervisor waits out the backoff.
    h.sup.send(StartChild { id: 1, reset: true }).await.unwrap().unwrap();
    // The stale timer fires in this time.
    h.wait(PAST_ANY_BACKOFF).await;
    assert_eq!(
        h.starts_and_stops(),
        (3, 2),
        "first start, one restart, the operator's start: one child alive, none started by the stale timer"
    );
    let st = h.sup.send(GetStats).await.unwrap();
    assert_eq!((st.starts, st.restarts, st.pending_restarts), (2, 1, 0));

    // The history was forgotten: the next crash restarts at once again.
    h.order(Order::Panic).await;
    h.exited(3).await;
    assert_eq!(h.starts_and_stops().0, 4);
}

#[actix_web::test]
async fn an_operators_start_that_fails_during_a_backoff_leaves_the_child_supervised() {
    let h = Harness::start(Duration::from_millis(100)).await;
    h.crash_into_backoff().await;
    // The operator's start replaces the waiting restart, and fails.
    h.failing_starts.store(1, Ordering::SeqCst);
    let answer = h.sup.send(StartChild { id: 1, reset: false }).await.unwrap();
    assert!(answer.is_err(), "the operator is told");
    assert_eq!(h.starts_and_stops(), (2, 2));
    // The failure went back under the policy: the child is restarted after its backoff.
    h.wait(PAST_ANY_BACKOFF).await;
    assert_eq!(
        h.starts_and_stops(),
        (3, 2),
        "first start, one restart, then the policy's restart"
    );
    let st = h.sup.send(GetStats).await.unwrap();
    assert_eq!((st.pending_restarts, st.escalations), (0, 0));
}

#[actix_web::test]
async fn a_late_exit_of_a_child_an_operator_replaced_starts_nothing() {
    let h = Harness::start(Duration::from_millis(10)).await;
    let first = h.generation.load(Ordering::SeqCst);
    // The operator starts the child again before the first one's exit came (it crashed, and
    // its exit is still on the way): then that exit arrives.
    h.sup.send(StartChild { id: 1, reset: true }).await.unwrap().unwrap();
    assert_ne!(h.generation.load(Ordering::SeqCst), first);
    h.sup
        .send(ChildExited {
            id: 1,
            exit: Exit::Crashed("crashed before the operator's start".into()),
            generation: Some(first),
        })
        .await
        .unwrap();
    h.wait(PAST_ANY_BACKOFF).await;
    assert_eq!(
        h.starts_and_stops().0,
        2,
        "the first start and the operator's, nothing for the late exit"
    );
    let st = h.sup.send(GetStats).await.unwrap();
    assert_eq!((st.starts, st.restarts, st.pending_restarts), (2, 0, 0));

    // The current child's own crash is restarted as always.
    h.order(Order::Panic).await;
    h.exited(1).await;
    assert_eq!(h.starts_and_stops().0, 3);
}

#[actix_web::test]
async fn a_crash_loop_escalates_once_after_the_restarts_its_period_allows() {
    let h = Harness::start(Duration::from_millis(50)).await;
    // Default policy: 5 restarts within 60 s. Each crash waits out its backoff (0, 50, 100,
    // 200, 400 ms, with jitter); all of it well within the period.
    for n in 1..=5 {
        h.order(Order::Panic).await;
        h.wait(Duration::from_secs(1)).await;
        assert_eq!(h.starts_and_stops(), (n + 1, n));
    }
    h.order(Order::Panic).await;
    let st = h.exited(6).await;
    assert_eq!((st.restarts, st.escalations, st.pending_restarts), (5, 1, 0));
    assert_eq!(h.escalated.load(Ordering::SeqCst), 1);
    h.wait(PAST_ANY_BACKOFF).await;
    assert_eq!(h.starts_and_stops(), (6, 6), "an escalated child stays down");
}

#[actix_web::test]
async fn crashes_a_period_apart_restart_at_once_and_never_escalate() {
    let h = Harness::start(Duration::from_millis(50)).await;
    // Twice the restarts the period allows, each after longer than the period (and than
    // `stable_after`) of running: ten minutes, on virtual time.
    for n in 1..=10 {
        h.wait(Duration::from_secs(61)).await;
        h.order(Order::Panic).await;
        let st = h.exited(n).await;
        assert_eq!(
            (st.restarts, st.pending_restarts),
            (u64::from(n), 0),
            "crash {n} restarts at once"
        );
    }
    assert_eq!(h.escalated.load(Ordering::SeqCst), 0);
    assert_eq!(h.starts_and_stops(), (11, 10));
}

#[actix_web::test]
async fn a_child_runs_only_where_its_partition_is_owned() {
    let h = Harness::start(Duration::from_millis(10)).await;
    h.order(Order::Panic).await;
    assert_eq!(h.exited(1).await.restarts, 1, "owned: the crash restarts the child");
    // Ownership moves to another node while the child runs; it crashes and waits out a backoff.
    h.owned.store(false, Ordering::SeqCst);
    h.order(Order::Panic).await;
    h.exited(2).await;
    h.wait(PAST_ANY_BACKOFF).await;
    let st = h.sup.send(GetStats).await.unwrap();
    assert_eq!(h.starts_and_stops(), (2, 2), "no restart beside the new owner's child");
    assert_eq!((st.restarts, st.pending_restarts), (1, 0));
    let refused = h.sup.send(StartChild { id: 1, reset: false }).await.unwrap();
    assert_eq!(refused, Err("another node owns the partition of 1".to_owned()));
    assert_eq!(h.starts_and_stops(), (2, 2));
    // Ownership comes back: an operator's start runs the child here again.
    h.owned.store(true, Ordering::SeqCst);
    h.sup.send(StartChild { id: 1, reset: false }).await.unwrap().unwrap();
    assert_eq!(h.starts_and_stops(), (3, 2));
}

/// Two parts asking at once (an edit and a restart after a crash) must not start a second
/// actor beside the running one: a plain start of a running child changes nothing, and only an
/// operator's start (`reset`) replaces it.
#[actix_web::test]
async fn a_plain_start_of_a_running_child_changes_nothing() {
    let h = Harness::start(Duration::from_millis(10)).await;
    let first = h.generation.load(Ordering::SeqCst);
    h.sup.send(StartChild { id: 1, reset: false }).await.unwrap().unwrap();
    h.wait(PAST_ANY_BACKOFF).await;
    assert_eq!(h.starts_and_stops(), (1, 0), "still the one child");
    assert_eq!(h.generation.load(Ordering::SeqCst), first);
    assert_eq!(h.sup.send(GetStats).await.unwrap().starts, 1);

    h.sup.send(StartChild { id: 1, reset: true }).await.unwrap().unwrap();
    h.exited(1).await;
    assert_eq!(h.starts_and_stops(), (2, 1), "the operator's start replaced it");
    assert_ne!(h.generation.load(Ordering::SeqCst), first);
}
