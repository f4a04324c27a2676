use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use minstrel_domain::{FilterSpec, RepeatMode, RequesterId, Volume};

use super::*;
use crate::ports::{MockHistoryRepo, MockQueueStore};

fn guild(id: u64) -> GuildId {
    GuildId::new(id).unwrap()
}

fn entry(n: u64) -> HistoryEntry {
    HistoryEntry {
        guild_id: guild(1),
        requester: RequesterId::Discord(UserId::new(7).unwrap()),
        title: format!("song {n}"),
        locator: format!("https://example.com/{n}"),
        duration: None,
        played_at: SystemTime::UNIX_EPOCH + Duration::from_secs(n),
    }
}

fn titles(entries: &[HistoryEntry]) -> Vec<String> {
    entries.iter().map(|entry| entry.title.clone()).collect()
}

/// A mock history that keeps every batch it is given.
fn recording_history() -> (MockHistoryRepo, Arc<Mutex<Vec<Vec<String>>>>) {
    let batches = Arc::new(Mutex::new(Vec::new()));
    let mut history = MockHistoryRepo::new();
    let seen = Arc::clone(&batches);
    history.expect_record().returning(move |entries| {
        seen.lock().unwrap().push(titles(entries));
        Ok(())
    });
    (history, batches)
}

fn batching() -> HistoryBatching {
    HistoryBatching {
        max_entries: 4,
        max_delay: Duration::from_secs(2),
    }
}

/// Lets spawned tasks run without moving the paused clock.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn history_entries_are_written_in_one_batch_after_the_delay() {
    let (history, batches) = recording_history();
    let repo = Arc::new(BatchedHistoryRepo::new(Arc::new(history), batching()));
    tokio::spawn(Arc::clone(&repo).run());
    settle().await;
    for n in 0..3 {
        repo.record(&[entry(n)]).await.unwrap();
        settle().await;
        tokio::time::advance(Duration::from_millis(500)).await;
    }
    settle().await;
    assert!(batches.lock().unwrap().is_empty(), "nothing before 2 s");
    // 2 s after the first entry.
    tokio::time::advance(Duration::from_millis(500)).await;
    settle().await;
    assert_eq!(
        *batches.lock().unwrap(),
        [vec!["song 0", "song 1", "song 2"]]
    );
    // The next entry starts a new delay.
    repo.record(&[entry(3)]).await.unwrap();
    settle().await;
    tokio::time::advance(Duration::from_millis(1_999)).await;
    settle().await;
    assert_eq!(batches.lock().unwrap().len(), 1);
    tokio::time::advance(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(batches.lock().unwrap()[1], ["song 3"]);
}

#[tokio::test(start_paused = true)]
async fn a_full_batch_is_written_at_once() {
    let (history, batches) = recording_history();
    let repo = BatchedHistoryRepo::new(Arc::new(history), batching());
    for n in 0..4 {
        repo.record(&[entry(n)]).await.unwrap();
    }
    assert_eq!(
        *batches.lock().unwrap(),
        [vec!["song 0", "song 1", "song 2", "song 3"]]
    );
}

#[tokio::test(start_paused = true)]
async fn flush_writes_what_waits_and_nothing_when_empty() {
    let (history, batches) = recording_history();
    let repo = BatchedHistoryRepo::new(Arc::new(history), batching());
    assert_eq!(repo.flush().await, Ok(0));
    repo.record(&[entry(0), entry(1)]).await.unwrap();
    assert_eq!(repo.flush().await, Ok(2));
    assert_eq!(repo.flush().await, Ok(0));
    assert_eq!(*batches.lock().unwrap(), [vec!["song 0", "song 1"]]);
}

#[tokio::test(start_paused = true)]
async fn reading_a_users_history_writes_the_buffer_first() {
    let (mut history, batches) = recording_history();
    let seen = Arc::clone(&batches);
    history.expect_for_user().returning(move |_, _, _| {
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "the buffer was written before the read"
        );
        Ok(vec![entry(0)])
    });
    let repo = BatchedHistoryRepo::new(Arc::new(history), batching());
    repo.record(&[entry(0)]).await.unwrap();
    let read = repo.for_user(UserId::new(7).unwrap(), 0, 10).await.unwrap();
    assert_eq!(titles(&read), ["song 0"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_batch_is_reported_to_flush() {
    let mut history = MockHistoryRepo::new();
    history
        .expect_record()
        .returning(|_| Err(StoreError::Internal("disk full".to_owned())));
    let repo = BatchedHistoryRepo::new(Arc::new(history), batching());
    repo.record(&[entry(0)]).await.unwrap();
    assert_eq!(
        repo.flush().await,
        Err(StoreError::Internal("disk full".to_owned()))
    );
}

fn snapshot(guild_id: u64, percent: i64) -> QueueSnapshot {
    QueueSnapshot {
        guild: guild(guild_id),
        voice_channel: None,
        text_channel: None,
        current: None,
        upcoming: Vec::new(),
        position: Duration::ZERO,
        repeat: RepeatMode::Off,
        filters: FilterSpec::default(),
        volume: Volume::new(percent).unwrap(),
        paused: false,
        updated_at: SystemTime::UNIX_EPOCH,
    }
}

/// Each saved snapshot as (guild id, track count).
type SavedSnapshots = Arc<Mutex<Vec<(u64, u16)>>>;

/// A mock store that keeps every snapshot it is given.
fn recording_store() -> (MockQueueStore, SavedSnapshots) {
    let saved = Arc::new(Mutex::new(Vec::new()));
    let mut store = MockQueueStore::new();
    let seen = Arc::clone(&saved);
    store.expect_save().returning(move |snapshot| {
        seen.lock()
            .unwrap()
            .push((snapshot.guild.get(), snapshot.volume.percent()));
        Ok(())
    });
    (store, saved)
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_queue_changes_is_one_write_of_the_final_state_within_a_second() {
    let (store, saved) = recording_store();
    let debounced = Arc::new(DebouncedQueueStore::new(
        Arc::new(store),
        DebouncedQueueStore::DEFAULT_DELAY,
    ));
    tokio::spawn(Arc::clone(&debounced).run());
    settle().await;
    for percent in 1..=50 {
        debounced.save(&snapshot(1, percent)).await.unwrap();
        settle().await;
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    settle().await;
    assert!(
        saved.lock().unwrap().is_empty(),
        "nothing written during the burst"
    );
    // One second after the burst's first change.
    tokio::time::advance(Duration::from_millis(500)).await;
    settle().await;
    assert_eq!(*saved.lock().unwrap(), [(1, 50)]);
    // Nothing more: the state was written.
    tokio::time::advance(Duration::from_secs(10)).await;
    settle().await;
    assert_eq!(saved.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn each_guild_keeps_its_own_latest_snapshot() {
    let (store, saved) = recording_store();
    let debounced = Arc::new(DebouncedQueueStore::new(
        Arc::new(store),
        DebouncedQueueStore::DEFAULT_DELAY,
    ));
    tokio::spawn(Arc::clone(&debounced).run());
    settle().await;
    for (guild_id, percent) in [(1, 10), (2, 20), (1, 11), (2, 21), (3, 30)] {
        debounced.save(&snapshot(guild_id, percent)).await.unwrap();
    }
    settle().await;
    tokio::time::advance(Duration::from_secs(1)).await;
    settle().await;
    let mut written = saved.lock().unwrap().clone();
    written.sort_unstable();
    assert_eq!(written, [(1, 11), (2, 21), (3, 30)]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_flush_writes_the_latest_state_without_waiting() {
    let (store, saved) = recording_store();
    let debounced = DebouncedQueueStore::new(Arc::new(store), DebouncedQueueStore::DEFAULT_DELAY);
    debounced.save(&snapshot(1, 5)).await.unwrap();
    debounced.save(&snapshot(1, 6)).await.unwrap();
    assert_eq!(debounced.flush().await, 1);
    assert_eq!(*saved.lock().unwrap(), [(1, 6)]);
    assert_eq!(debounced.flush().await, 0);
}

#[tokio::test(start_paused = true)]
async fn delete_forgets_a_waiting_save_and_loads_see_waiting_saves() {
    let (mut store, saved) = recording_store();
    let deletes = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&deletes);
    store.expect_delete().returning(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    store.expect_load().returning(|_| Ok(None));
    store
        .expect_load_all()
        .returning(|| Ok(vec![snapshot(1, 1), snapshot(2, 2)]));
    let debounced = DebouncedQueueStore::new(Arc::new(store), DebouncedQueueStore::DEFAULT_DELAY);
    debounced.save(&snapshot(2, 42)).await.unwrap();
    debounced.save(&snapshot(3, 33)).await.unwrap();
    assert_eq!(
        debounced
            .load(guild(2))
            .await
            .unwrap()
            .map(|s| s.volume.percent()),
        Some(42)
    );
    assert_eq!(debounced.load(guild(9)).await.unwrap(), None);
    let all: Vec<(u64, u16)> = debounced
        .load_all()
        .await
        .unwrap()
        .iter()
        .map(|s| (s.guild.get(), s.volume.percent()))
        .collect();
    assert_eq!(all, [(1, 1), (2, 42), (3, 33)]);
    debounced.delete(guild(3)).await.unwrap();
    assert_eq!(deletes.load(Ordering::SeqCst), 1);
    assert_eq!(debounced.flush().await, 1);
    assert_eq!(
        *saved.lock().unwrap(),
        [(2, 42)],
        "the deleted guild's save is gone"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_snapshot_is_tried_again_unless_a_newer_one_came() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&attempts);
    let mut store = MockQueueStore::new();
    store.expect_save().returning(move |_| {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(StoreError::Backlogged { waiting: 1_000 })
        } else {
            Ok(())
        }
    });
    let debounced = DebouncedQueueStore::new(Arc::new(store), DebouncedQueueStore::DEFAULT_DELAY);
    debounced.save(&snapshot(1, 5)).await.unwrap();
    assert_eq!(debounced.flush().await, 0);
    assert_eq!(
        debounced
            .load(guild(1))
            .await
            .unwrap()
            .unwrap()
            .volume
            .percent(),
        5
    );
    assert_eq!(debounced.flush().await, 1);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}
