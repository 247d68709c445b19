//! The writer's loop, run by a small owner actor against a real store (a SQLite file; the
//! lost-acknowledgement case on PostgreSQL too when `TEST_DATABASE_URL` is set). Faults are
//! carried by the items themselves: an outage that lasts a number of attempts, a statement the
//! database refuses, a panic, a commit whose acknowledgement is lost. Every test waits for
//! the writer to have written everything ([`Owner::when_written`]) and then checks what it
//! reported and what the database holds.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tokio::sync::{mpsc, oneshot};

use super::*;
use crate::store::models::outbox::{self, OutboxRow};
use crate::store::schema::outbox as outbox_table;

enum Fault {
    None,
    /// The store is unreachable for this many more attempts at the item's batch.
    Outage(Arc<AtomicUsize>),
    /// A statement the database refuses, every time.
    Poison,
    Panic,
    /// The batch is committed (through `Store`, on another connection), but the writer is told
    /// the connection dropped: what a lost `COMMIT` acknowledgement looks like. Once.
    LoseAck(Arc<AtomicBool>, Store),
}

struct Item {
    row: OutboxRow,
    fault: Fault,
    fence: Option<Fence>,
    waiter: Option<oneshot::Sender<Result<(), String>>>,
}

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Stored(Vec<i64>),
    Dropped(i64, String),
}

struct TestOwner {
    writer: Writer<Item>,
    events: mpsc::UnboundedSender<Event>,
}

impl Actor for TestOwner {
    type Context = Context<Self>;
}

fn closed_connection() -> DieselError {
    DieselError::DatabaseError(
        DatabaseErrorKind::ClosedConnection,
        Box::new("server closed the connection unexpectedly".to_owned()),
    )
}

impl Owner for TestOwner {
    type Item = Item;

    fn writer(&mut self) -> &mut Writer<Item> {
        &mut self.writer
    }

    fn write(batch: &[Item], conn: &mut DbConnection) -> diesel::QueryResult<()> {
        for item in batch {
            if let Fault::LoseAck(armed, store) = &item.fault {
                if armed.swap(false, Ordering::SeqCst) {
                    store
                        .write_blocking(|c| batch.iter().try_for_each(|i| outbox::insert(c, &i.row)))
                        .expect("the commit that is then lost");
                    return Err(closed_connection());
                }
            }
        }
        for item in batch {
            outbox::insert(conn, &item.row)?;
            match &item.fault {
                Fault::Outage(left) if left.load(Ordering::SeqCst) > 0 => {
                    left.fetch_sub(1, Ordering::SeqCst);
                    return Err(closed_connection());
                }
                Fault::Poison => {
                    diesel::sql_query("INSERT INTO no_such_table VALUES (1)").execute(conn)?;
                }
                Fault::Panic => panic!("a write that panics"),
                _ => {}
            }
        }
        Ok(())
    }

    fn stored(&mut self, batch: Vec<Item>, _: &mut Context<Self>) {
        let ids = batch.iter().map(|i| i.row.id).collect();
        let _ = self.events.send(Event::Stored(ids));
        for item in batch {
            if let Some(waiter) = item.waiter {
                let _ = waiter.send(Ok(()));
            }
        }
    }

    fn fence(item: &Item) -> Option<Fence> {
        item.fence
    }

    fn dropped(&mut self, item: Item, error: &StoreError, _: &mut Context<Self>) {
        let _ = self.events.send(Event::Dropped(item.row.id, error.to_string()));
        if let Some(waiter) = item.waiter {
            let _ = waiter.send(Err(error.to_string()));
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Push(Vec<Item>);

impl Handler<Push> for TestOwner {
    type Result = ();
    fn handle(&mut self, msg: Push, ctx: &mut Context<Self>) {
        for item in msg.0 {
            self.enqueue(item, ctx);
        }
    }
}

#[derive(Message)]
#[rtype(result = "WriterStats")]
struct Written;

impl Handler<Written> for TestOwner {
    type Result = ResponseFuture<WriterStats>;
    fn handle(&mut self, _: Written, ctx: &mut Context<Self>) -> Self::Result {
        let done = self.when_written(ctx);
        let addr = ctx.address();
        Box::pin(async move {
            let _ = done.await;
            addr.send(Stats).await.expect("owner alive")
        })
    }
}

#[derive(Message)]
#[rtype(result = "WriterStats")]
struct Stats;

impl Handler<Stats> for TestOwner {
    type Result = MessageResult<Stats>;
    fn handle(&mut self, _: Stats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.writer.stats())
    }
}

const SETTINGS: Settings = Settings {
    name: "test",
    max_batch: 64,
    gather: Duration::from_millis(2),
    backlog_warning: 1_000,
    retry_delay: Duration::from_millis(10),
};

struct Harness {
    store: Store,
    /// The same database through other pools (SQLite's writer is a pool of one).
    side: Store,
    owner: Addr<TestOwner>,
    events: mpsc::UnboundedReceiver<Event>,
    _dir: Option<tempfile::TempDir>,
}

impl Harness {
    fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("writer.db").display());
        Harness::on(&url, Some(dir))
    }

    fn on(url: &str, dir: Option<tempfile::TempDir>) -> Harness {
        let store = Store::open(url).expect("open the store");
        store.migrate().expect("migrate");
        let (tx, events) = mpsc::unbounded_channel();
        let owner = TestOwner {
            writer: Writer::new(store.clone(), SETTINGS),
            events: tx,
        }
        .start();
        Harness {
            store,
            side: Store::open(url).expect("open the store again"),
            owner,
            events,
            _dir: dir,
        }
    }

    async fn push(&self, items: Vec<Item>) {
        self.owner.send(Push(items)).await.unwrap();
    }

    async fn written(&self) -> WriterStats {
        self.owner.send(Written).await.unwrap()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.events.try_recv().ok()).collect()
    }

    /// The ids stored, in id order, with repeats (there must be none).
    fn stored_ids(&self) -> Vec<i64> {
        self.store
            .read_blocking(|c| match c {
                DbConnection::Sqlite(c) => outbox_table::table
                    .select(outbox_table::id)
                    .order(outbox_table::id)
                    .load(c),
                DbConnection::Pg(c) => outbox_table::table
                    .select(outbox_table::id)
                    .order(outbox_table::id)
                    .load(c),
            })
            .unwrap()
    }
}

fn row(id: i64) -> OutboxRow {
    OutboxRow {
        id,
        topic: "/topic/test".into(),
        subject: "test:1".into(),
        payload: format!("{{\"n\":{id}}}"),
        created_ms: 0,
        delivered_ms: None,
    }
}

fn item(id: i64) -> Item {
    with_fault(id, Fault::None)
}

fn with_fault(id: i64, fault: Fault) -> Item {
    Item {
        row: row(id),
        fault,
        fence: None,
        waiter: None,
    }
}

/// The ids of every `Stored` event, in the order they were reported.
fn stored_in_order(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .flat_map(|e| match e {
            Event::Stored(ids) => ids.clone(),
            Event::Dropped(..) => Vec::new(),
        })
        .collect()
}

#[actix_web::test]
async fn an_outage_mid_batch_pauses_then_resumes_losing_and_reordering_nothing() {
    let mut h = Harness::sqlite();
    let outage = Arc::new(AtomicUsize::new(3));
    let mut first: Vec<Item> = (1..=4).map(item).collect();
    first.push(with_fault(5, Fault::Outage(outage.clone())));
    first.extend((6..=8).map(item));
    h.push(first).await;
    // Handed over while the writer waits out its pauses: written after, in order.
    h.push((9..=12).map(item).collect()).await;

    let stats = h.written().await;
    assert_eq!(outage.load(Ordering::SeqCst), 0, "the outage was waited out");
    assert_eq!(stats.pauses, 3, "one pause per failed attempt: {stats:?}");
    assert_eq!((stats.splits, stats.dropped), (0, 0), "an outage is not a bad item");
    let events = h.events();
    assert_eq!(stored_in_order(&events), (1..=12).collect::<Vec<_>>(), "{events:?}");
    assert!(events.iter().all(|e| matches!(e, Event::Stored(_))));
    assert_eq!(h.stored_ids(), (1..=12).collect::<Vec<_>>(), "each row once");
}

#[actix_web::test]
async fn a_poisoned_record_is_dropped_alone_its_waiter_answered_and_the_rest_stored() {
    let mut h = Harness::sqlite();
    let (tx, poisoned) = oneshot::channel();
    let (ok_tx, kept) = oneshot::channel();
    let mut items: Vec<Item> = vec![item(1), item(2)];
    items.push(Item {
        waiter: Some(tx),
        ..with_fault(3, Fault::Poison)
    });
    items.push(Item {
        waiter: Some(ok_tx),
        ..item(4)
    });
    items.push(item(5));
    h.push(items).await;

    let stats = h.written().await;
    let error = poisoned
        .await
        .expect("the waiter is answered")
        .expect_err("with the error");
    assert!(error.contains("no_such_table"), "{error}");
    assert_eq!(kept.await.unwrap(), Ok(()), "the others' waiters hear of their commit");
    assert_eq!(stats.dropped, 1, "{stats:?}");
    let events = h.events();
    assert!(events.iter().any(|e| matches!(e, Event::Dropped(3, _))), "{events:?}");
    assert_eq!(stored_in_order(&events), vec![1, 2, 4, 5]);
    assert_eq!(h.stored_ids(), vec![1, 2, 4, 5], "nothing of the poisoned record stays");
}

#[actix_web::test]
async fn a_failed_batch_is_split_one_per_transaction_then_batches_again() {
    let mut h = Harness::sqlite();
    let mut items: Vec<Item> = (1..=3).map(item).collect();
    items.push(with_fault(4, Fault::Panic));
    items.extend((5..=6).map(item));
    h.push(items).await;
    let stats = h.written().await;
    assert_eq!((stats.splits, stats.dropped), (1, 1), "{stats:?}");
    let events = h.events();
    let stored: Vec<&Event> = events.iter().filter(|e| matches!(e, Event::Stored(_))).collect();
    assert_eq!(
        stored,
        [1, 2, 3, 5, 6]
            .map(|id| Event::Stored(vec![id]))
            .iter()
            .collect::<Vec<_>>(),
        "after the split each item is its own transaction"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Dropped(4, error) if error.contains("panicked"))),
        "a panicking write is dropped like a refused one: {events:?}"
    );

    h.push((7..=9).map(item).collect()).await;
    let after = h.written().await;
    assert_eq!(h.events(), vec![Event::Stored(vec![7, 8, 9])], "one batch again");
    assert_eq!(after.batches, stats.batches + 1);
    assert_eq!(h.stored_ids(), vec![1, 2, 3, 5, 6, 7, 8, 9]);
}

async fn a_lost_commit_acknowledgement_is_retried_without_storing_twice(mut h: Harness, base: i64) {
    let armed = Arc::new(AtomicBool::new(true));
    let mut items: Vec<Item> = (base..base + 3).map(item).collect();
    items.push(with_fault(base + 3, Fault::LoseAck(armed.clone(), h.side.clone())));
    items.extend((base + 4..base + 6).map(item));
    h.push(items).await;

    let stats = h.written().await;
    assert!(!armed.load(Ordering::SeqCst), "the acknowledgement was lost once");
    assert_eq!(
        stats.pauses, 1,
        "a lost acknowledgement looks like an outage: {stats:?}"
    );
    assert_eq!(
        (stats.splits, stats.dropped),
        (0, 0),
        "the retry is not refused as a conflict"
    );
    let ids: Vec<i64> = (base..base + 6).collect();
    assert_eq!(
        h.events(),
        vec![Event::Stored(ids.clone())],
        "told once, after the retry"
    );
    let stored: Vec<i64> = h.stored_ids().into_iter().filter(|id| ids.contains(id)).collect();
    assert_eq!(stored, ids, "each row once");
}

#[actix_web::test]
async fn a_lost_commit_acknowledgement_is_not_stored_twice_on_sqlite() {
    a_lost_commit_acknowledgement_is_retried_without_storing_twice(Harness::sqlite(), 1).await;
}

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "needs TEST_DATABASE_URL")]
async fn a_lost_commit_acknowledgement_is_not_stored_twice_on_postgres() {
    a_lost_commit_acknowledgement_is_retried_without_storing_twice(postgres_harness("writer"), 1).await;
}

#[actix_web::test]
async fn written_answers_at_once_when_nothing_waits() {
    let h = Harness::sqlite();
    assert_eq!(h.written().await, WriterStats::default());
}

/// A fresh PostgreSQL schema of its own on `TEST_DATABASE_URL`.
fn postgres_harness(name: &str) -> Harness {
    let base = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let schema = format!("kw_{name}_{}", rand::random::<u64>());
    let mut conn = diesel::PgConnection::establish(&base).expect("connect to TEST_DATABASE_URL");
    diesel::connection::SimpleConnection::batch_execute(&mut conn, &format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    Harness::on(&format!("{base}{sep}options=-csearch_path%3D{schema}"), None)
}

fn fenced(id: i64, partition: u16, token: u64) -> Item {
    Item {
        fence: Some(Fence {
            partition: crate::ownership::Partition(partition),
            token,
        }),
        ..item(id)
    }
}

/// Another node took partition 3 over with token 5: what this node still writes for it under
/// token 4 is refused in the batch's own transaction, and nothing else of the batch is held up.
async fn a_write_under_a_superseded_fence_is_refused_and_the_rest_stored(mut h: Harness) {
    let takeover = Fence {
        partition: crate::ownership::Partition(3),
        token: 5,
    };
    let recorded = h
        .side
        .write_blocking(|c| fences::advance(c, takeover, 2, 0))
        .expect("record the new owner's token");
    assert!(recorded, "a newer token is recorded");
    let stale = Fence { token: 4, ..takeover };
    assert!(
        !h.side.write_blocking(|c| fences::advance(c, stale, 1, 0)).unwrap(),
        "tokens only grow"
    );

    let (tx, refused) = oneshot::channel();
    h.push(vec![
        item(1),
        Item {
            waiter: Some(tx),
            ..fenced(2, 3, 4)
        },
        fenced(3, 3, 5),
        fenced(4, 7, 0),
        fenced(5, 3, 4),
        item(6),
    ])
    .await;

    let stats = h.written().await;
    let error = refused.await.expect("answered").expect_err("refused");
    assert!(
        error.contains("fence of partition 3") && error.contains("token 5"),
        "{error}"
    );
    assert_eq!((stats.refused, stats.splits, stats.dropped), (2, 0, 0), "{stats:?}");
    let events = h.events();
    assert_eq!(stored_in_order(&events), vec![1, 3, 4, 6], "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Dropped(5, _))), "{events:?}");
    assert_eq!(
        h.stored_ids(),
        vec![1, 3, 4, 6],
        "nothing written under the stale token"
    );

    // The new owner's own writes go on; a later batch of the old one is refused again.
    h.push(vec![fenced(7, 3, 5), fenced(8, 3, 4)]).await;
    let after = h.written().await;
    assert_eq!(after.refused, 3, "one more refused: {after:?}");
    assert_eq!(h.stored_ids(), vec![1, 3, 4, 6, 7]);
}

#[actix_web::test]
async fn a_superseded_fence_refuses_the_write_on_sqlite() {
    a_write_under_a_superseded_fence_is_refused_and_the_rest_stored(Harness::sqlite()).await;
}

#[actix_web::test]
#[cfg_attr(not(pg_tests), ignore = "needs TEST_DATABASE_URL")]
async fn a_superseded_fence_refuses_the_write_on_postgres() {
    a_write_under_a_superseded_fence_is_refused_and_the_rest_stored(postgres_harness("fence")).await;
}
