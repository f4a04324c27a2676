use std::time::SystemTime;

use minstrel_domain::{GuildId, RequesterId};

use super::*;
use crate::ports::MockHistoryRepo;

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
