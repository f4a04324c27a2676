use std::sync::atomic::AtomicBool;

use backon::BackoffBuilder;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

use super::*;

/// A database stand-in: answers while `up`, records what it took in order.
#[derive(Clone, Default)]
struct FakeDatabase {
    down: Arc<AtomicBool>,
    taken: Arc<Mutex<Vec<String>>>,
    attempts: Arc<AtomicUsize>,
}

impl FakeDatabase {
    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn taken(&self) -> Vec<String> {
        self.taken.lock().unwrap().clone()
    }

    /// A write of `value`: `Unavailable` while the database is down.
    fn write(&self, value: &str) -> OutboxWrite {
        let database = self.clone();
        let value = value.to_owned();
        outbox_write(move || {
            let database = database.clone();
            let value = value.clone();
            async move {
                database.attempts.fetch_add(1, Ordering::SeqCst);
                if database.down.load(Ordering::SeqCst) {
                    return Err(StoreError::Unavailable("connection refused".to_owned()));
                }
                database.taken.lock().unwrap().push(value);
                Ok(())
            }
        })
    }
}

fn small(capacity: usize) -> OutboxConfig {
    OutboxConfig {
        capacity,
        retry_min_delay: Duration::from_millis(100),
        retry_max_delay: Duration::from_secs(1),
    }
}

fn depth_gauge(snapshotter: &Snapshotter) -> Option<f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find_map(|(key, _, _, value)| match value {
            DebugValue::Gauge(value) if key.key().name() == OUTBOX_DEPTH_GAUGE => Some(value.0),
            _ => None,
        })
}

/// Lets the flusher run until `done` holds; paused time jumps over its backoff pauses.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the condition never held");
}

#[tokio::test(start_paused = true)]
async fn writes_go_straight_through_while_the_database_answers() {
    let database = FakeDatabase::default();
    let outbox = Outbox::spawn(small(4));
    for value in ["a", "b"] {
        let written = outbox.submit("test", None, database.write(value)).await;
        assert_eq!(written, Ok(Written::Now));
    }
    assert_eq!(database.taken(), ["a", "b"]);
    assert_eq!(outbox.depth(), 0);
    assert!(!outbox.is_degraded());
}

#[tokio::test(start_paused = true)]
async fn unavailable_writes_are_held_and_saved_in_order_when_the_database_is_back() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let database = FakeDatabase::default();
    let outbox = Outbox::spawn(small(10));
    database.set_down(true);
    for value in ["1", "2", "3", "4", "5"] {
        let written = outbox.submit("test", None, database.write(value)).await;
        assert_eq!(written, Ok(Written::Held), "{value}");
    }
    assert_eq!(outbox.depth(), 5);
    assert!(outbox.is_degraded());
    assert_eq!(depth_gauge(&snapshotter), Some(5.0));
    // Down for a while: the flusher keeps trying, and nothing is lost or reordered.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(database.taken().is_empty());
    assert!(
        database.attempts.load(Ordering::SeqCst) > 5,
        "the flusher retried"
    );
    database.set_down(false);
    // A write made now still queues behind the held ones.
    assert_eq!(
        outbox.submit("test", None, database.write("6")).await,
        Ok(Written::Held)
    );
    outbox.drained().await;
    assert_eq!(database.taken(), ["1", "2", "3", "4", "5", "6"]);
    assert_eq!(outbox.depth(), 0);
    assert!(!outbox.is_degraded());
    assert_eq!(depth_gauge(&snapshotter), Some(0.0));
    // Back to normal: the next write goes straight through.
    assert_eq!(
        outbox.submit("test", None, database.write("7")).await,
        Ok(Written::Now)
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_outbox_refuses_the_write_with_a_sentence_for_the_user() {
    let database = FakeDatabase::default();
    let outbox = Outbox::spawn(small(3));
    database.set_down(true);
    for value in ["1", "2", "3"] {
        outbox
            .submit("test", None, database.write(value))
            .await
            .unwrap();
    }
    let refused = outbox
        .submit("test", None, database.write("refused"))
        .await
        .unwrap_err();
    assert_eq!(refused, StoreError::Backlogged { waiting: 3 });
    assert_eq!(
        refused.to_string(),
        "the database is unreachable and 3 changes are already waiting to be saved, so this one \
         was not saved; please try again in a minute"
    );
    assert_eq!(outbox.depth(), 3, "the refused write is not held");
    database.set_down(false);
    outbox.drained().await;
    assert_eq!(
        database.taken(),
        ["1", "2", "3"],
        "the refused write never runs"
    );
}

#[tokio::test(start_paused = true)]
async fn a_held_write_of_the_same_key_is_replaced_by_the_newer_one() {
    let database = FakeDatabase::default();
    let outbox = Outbox::spawn(small(3));
    database.set_down(true);
    let key = || Some("queue_snapshot:1".to_owned());
    outbox
        .submit("a", key(), database.write("guild 1 v1"))
        .await
        .unwrap();
    // Let the flusher start on the first write: from now on it is in flight.
    tokio::time::sleep(Duration::from_millis(10)).await;
    outbox
        .submit("b", None, database.write("other"))
        .await
        .unwrap();
    outbox
        .submit("a", key(), database.write("guild 1 v2"))
        .await
        .unwrap();
    outbox
        .submit("a", key(), database.write("guild 1 v3"))
        .await
        .unwrap();
    // v1 is in flight and stays; v2 gave way to v3, so a full outbox of 3 still takes it.
    assert_eq!(outbox.depth(), 3);
    database.set_down(false);
    outbox.drained().await;
    assert_eq!(database.taken(), ["guild 1 v1", "other", "guild 1 v3"]);
}

#[tokio::test(start_paused = true)]
async fn a_write_the_database_refuses_for_good_does_not_block_the_rest() {
    let database = FakeDatabase::default();
    let outbox = Outbox::spawn(small(5));
    database.set_down(true);
    outbox
        .submit("first", None, database.write("1"))
        .await
        .unwrap();
    let gone = outbox_write(|| async { Err(StoreError::NotFound("the playlist".to_owned())) });
    outbox.submit("gone", None, gone).await.unwrap();
    outbox
        .submit("last", None, database.write("3"))
        .await
        .unwrap();
    database.set_down(false);
    outbox.drained().await;
    assert_eq!(database.taken(), ["1", "3"]);
}

#[tokio::test(start_paused = true)]
async fn other_errors_reach_the_caller_and_nothing_is_held() {
    let outbox = Outbox::spawn(small(5));
    let conflict = outbox_write(|| async { Err(StoreError::Conflict("taken".to_owned())) });
    let error = outbox.submit("conflict", None, conflict).await.unwrap_err();
    assert_eq!(error, StoreError::Conflict("taken".to_owned()));
    assert_eq!(outbox.depth(), 0);
}

#[tokio::test(start_paused = true)]
async fn writes_that_cannot_wait_are_refused_while_others_are_held() {
    let database = FakeDatabase::default();
    let outbox = Outbox::spawn(small(5));
    assert_eq!(outbox.ensure_nothing_held(), Ok(()));
    database.set_down(true);
    outbox
        .submit("held", None, database.write("1"))
        .await
        .unwrap();
    let error = outbox.ensure_nothing_held().unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    database.set_down(false);
    until(|| outbox.depth() == 0).await;
    assert_eq!(outbox.ensure_nothing_held(), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn drained_returns_at_once_when_nothing_is_held() {
    let outbox = Outbox::spawn(small(5));
    tokio::time::timeout(Duration::from_millis(1), outbox.drained())
        .await
        .expect("nothing held");
}

#[test]
fn retry_pauses_are_jittered_and_never_longer_than_the_most() {
    let config = small(5);
    let pauses: Vec<Duration> = config.retry_pauses().build().take(40).collect();
    assert!(pauses[0] >= config.retry_min_delay, "{pauses:?}");
    assert!(
        pauses.iter().all(|pause| *pause <= config.retry_max_delay),
        "{pauses:?}"
    );
    // At the cap every step is the same; jitter keeps the pauses apart.
    let capped: std::collections::BTreeSet<Duration> = pauses[10..].iter().copied().collect();
    assert!(capped.len() > 1, "no jitter: {pauses:?}");
}

#[test]
fn a_zero_capacity_still_holds_one_write() {
    let outbox = Outbox::new(small(0));
    assert_eq!(outbox.shared.config.capacity, 1);
}
