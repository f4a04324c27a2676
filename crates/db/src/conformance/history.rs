//! Checks for [`HistoryRepo`] adapters.

use std::time::{Duration, SystemTime};

use minstrel_app::ports::HistoryRepo;
use minstrel_domain::{GuildId, HistoryEntry, RequesterId};

use super::fixtures;

pub async fn all(repo: &dyn HistoryRepo) {
    unknown_user_has_no_history(repo).await;
    newest_first_and_only_the_users_own(repo).await;
    pagination(repo).await;
}

fn played(guild: GuildId, requester: RequesterId, title: &str, at: SystemTime) -> HistoryEntry {
    HistoryEntry {
        guild_id: guild,
        requester,
        title: title.to_owned(),
        locator: format!("https://example.com/{title}"),
        duration: Some(Duration::from_millis(180_500)),
        played_at: at,
    }
}

fn titles(entries: &[HistoryEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.title.as_str()).collect()
}

pub async fn unknown_user_has_no_history(repo: &dyn HistoryRepo) {
    assert!(
        repo.for_user(fixtures::user(), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A user's history holds the entries they requested, in every guild, newest first, whatever
/// order and batches they were recorded in. Other users', Telegram and console requests are not
/// in it.
pub async fn newest_first_and_only_the_users_own(repo: &dyn HistoryRepo) {
    let (user, other_user) = (fixtures::user(), fixtures::user());
    let (guild, other_guild) = (fixtures::guild(), fixtures::guild());
    let mine = RequesterId::Discord(user);
    let mut middle = played(other_guild, mine.clone(), "middle", fixtures::at(2_000));
    middle.duration = None;
    repo.record(&[
        played(guild, mine.clone(), "oldest", fixtures::at(1_000)),
        played(guild, mine.clone(), "newest", fixtures::at(3_000)),
        played(
            guild,
            RequesterId::Discord(other_user),
            "theirs",
            fixtures::at(2_500),
        ),
        played(
            guild,
            RequesterId::Telegram(fixtures::telegram_user()),
            "telegram",
            fixtures::at(2_600),
        ),
        played(guild, RequesterId::Console, "console", fixtures::at(2_700)),
    ])
    .await
    .unwrap();
    repo.record(&[middle.clone()]).await.unwrap();
    repo.record(&[]).await.unwrap();

    let history = repo.for_user(user, 0, 10).await.unwrap();
    assert_eq!(titles(&history), ["newest", "middle", "oldest"]);
    assert_eq!(history[1], middle, "an entry comes back as it was recorded");
    assert_eq!(
        titles(&repo.for_user(other_user, 0, 10).await.unwrap()),
        ["theirs"]
    );
}

/// `limit` entries from `offset`, counted in newest-first order.
pub async fn pagination(repo: &dyn HistoryRepo) {
    let user = fixtures::user();
    let guild = fixtures::guild();
    let entries: Vec<HistoryEntry> = (0..5)
        .map(|n| {
            let title = format!("song {n}");
            played(
                guild,
                RequesterId::Discord(user),
                &title,
                fixtures::at(n * 1_000),
            )
        })
        .collect();
    repo.record(&entries).await.unwrap();

    let page = |offset, limit| async move { repo.for_user(user, offset, limit).await.unwrap() };
    assert_eq!(titles(&page(0, 2).await), ["song 4", "song 3"]);
    assert_eq!(titles(&page(2, 2).await), ["song 2", "song 1"]);
    assert_eq!(titles(&page(4, 2).await), ["song 0"]);
    assert!(page(5, 2).await.is_empty());
    assert!(page(0, 0).await.is_empty());
    // A store with narrower integers than `usize` must clamp, not fail.
    assert_eq!(page(0, usize::MAX).await.len(), 5);
    assert!(page(usize::MAX, 1).await.is_empty());
}
