//! Checks for [`AuditLog`] adapters.

use minstrel_app::ports::{AuditEntry, AuditLog};
use minstrel_domain::{GuildId, RequesterId};

use super::fixtures;

pub async fn all(repo: &dyn AuditLog) {
    a_guilds_entries_come_newest_first(repo).await;
    every_kind_of_actor_roundtrips(repo).await;
}

fn entry(guild: Option<GuildId>, actor: Option<RequesterId>, action: &str, at: u64) -> AuditEntry {
    AuditEntry {
        guild,
        actor,
        action: action.to_owned(),
        detail: format!("details of {action} – “quoted”"),
        at: fixtures::at(at),
    }
}

fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.action.as_str()).collect()
}

/// A guild's entries come last recorded first, `limit` at most; other guilds' and guild-less
/// entries are not among them.
pub async fn a_guilds_entries_come_newest_first(repo: &dyn AuditLog) {
    let (guild, other) = (fixtures::guild(), fixtures::guild());
    let admin = Some(RequesterId::Discord(fixtures::user()));
    assert!(repo.for_guild(guild, 10).await.unwrap().is_empty());
    for (target, action, at) in [
        (Some(guild), "first", 1),
        (Some(other), "theirs", 2),
        (None, "nowhere", 3),
        (Some(guild), "second", 4),
        (Some(guild), "third", 5),
    ] {
        repo.record(&entry(target, admin.clone(), action, at))
            .await
            .unwrap();
    }

    assert_eq!(
        actions(&repo.for_guild(guild, 10).await.unwrap()),
        ["third", "second", "first"]
    );
    assert_eq!(
        actions(&repo.for_guild(guild, 2).await.unwrap()),
        ["third", "second"]
    );
    assert!(repo.for_guild(guild, 0).await.unwrap().is_empty());
    assert_eq!(repo.for_guild(guild, usize::MAX).await.unwrap().len(), 3);
    assert_eq!(
        actions(&repo.for_guild(other, 10).await.unwrap()),
        ["theirs"]
    );
}

/// Discord, Telegram, console and system (no actor) entries come back as recorded.
pub async fn every_kind_of_actor_roundtrips(repo: &dyn AuditLog) {
    let guild = fixtures::guild();
    let recorded = [
        entry(
            Some(guild),
            Some(RequesterId::Discord(fixtures::user())),
            "telegram.link",
            10,
        ),
        entry(
            Some(guild),
            Some(RequesterId::Telegram(fixtures::telegram_user())),
            "telegram.relink",
            20,
        ),
        entry(
            Some(guild),
            Some(RequesterId::Console),
            "settings.update",
            30,
        ),
        entry(Some(guild), None, "telegram.migrate", 40),
    ];
    for stored in &recorded {
        repo.record(stored).await.unwrap();
    }
    let mut read = repo.for_guild(guild, 10).await.unwrap();
    read.reverse();
    assert_eq!(read, recorded);
}
