//! Checks for [`LinkCodeRepo`] adapters.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minstrel_app::ports::{LinkCode, LinkCodeRepo, LinkCodeTarget, StoreError};

use super::fixtures;

pub async fn all(repo: &dyn LinkCodeRepo) {
    a_code_is_taken_exactly_once(repo).await;
    a_duplicate_code_is_a_conflict(repo).await;
    purge_removes_only_expired_codes(repo).await;
}

fn code(target: LinkCodeTarget, expires_at: SystemTime) -> LinkCode {
    LinkCode {
        code: format!("C{}", fixtures::unique()),
        target,
        created_at: fixtures::at(0),
        expires_at,
    }
}

fn chat_target() -> LinkCodeTarget {
    LinkCodeTarget::Chat {
        chat: fixtures::chat(),
        issued_by: fixtures::telegram_user(),
    }
}

fn guild_target() -> LinkCodeTarget {
    LinkCodeTarget::Guild {
        guild: fixtures::guild(),
        issued_by: fixtures::user(),
    }
}

/// Both kinds of code come back whole from the first `take`; later takes and unknown codes give
/// `None`.
pub async fn a_code_is_taken_exactly_once(repo: &dyn LinkCodeRepo) {
    let from_chat = code(chat_target(), fixtures::at(600_000));
    let from_guild = code(guild_target(), fixtures::at(600_000));
    repo.insert(&from_chat).await.unwrap();
    repo.insert(&from_guild).await.unwrap();

    assert_eq!(
        repo.take(&from_guild.code).await.unwrap(),
        Some(from_guild.clone())
    );
    assert_eq!(repo.take(&from_guild.code).await.unwrap(), None);
    assert_eq!(
        repo.take(&from_chat.code).await.unwrap(),
        Some(from_chat.clone())
    );
    assert_eq!(repo.take(&from_chat.code).await.unwrap(), None);
    assert_eq!(repo.take("NO-SUCH-CODE").await.unwrap(), None);
}

/// Storing a code string that is already stored is a `Conflict` (the caller draws another).
pub async fn a_duplicate_code_is_a_conflict(repo: &dyn LinkCodeRepo) {
    let first = code(chat_target(), fixtures::at(600_000));
    repo.insert(&first).await.unwrap();
    let again = LinkCode {
        target: guild_target(),
        ..first.clone()
    };
    assert_eq!(
        repo.insert(&again).await,
        Err(StoreError::Conflict(
            "that link code already exists".to_owned()
        ))
    );
    assert_eq!(repo.take(&first.code).await.unwrap(), Some(first));
}

/// Codes that expired at or before `now` go, the others stay; the count is exact.
///
/// The expiries here lie in 1971, before every other check's, so purging at those instants
/// never touches another check's codes in a shared store.
pub async fn purge_removes_only_expired_codes(repo: &dyn LinkCodeRepo) {
    let early = |seconds: u64| UNIX_EPOCH + Duration::from_secs(31_536_000 + seconds);
    let expired = code(chat_target(), early(10));
    let expiring_now = code(guild_target(), early(20));
    let later = code(chat_target(), early(30));
    for stored in [&expired, &expiring_now, &later] {
        repo.insert(stored).await.unwrap();
    }

    assert_eq!(repo.purge_expired(early(20)).await.unwrap(), 2);
    assert_eq!(repo.take(&expired.code).await.unwrap(), None);
    assert_eq!(repo.take(&expiring_now.code).await.unwrap(), None);
    assert_eq!(repo.purge_expired(early(20)).await.unwrap(), 0);
    assert_eq!(repo.take(&later.code).await.unwrap(), Some(later));
}
