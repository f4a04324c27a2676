//! Checks for [`PlaylistRepo`] adapters.

use minstrel_app::ports::{PlaylistRepo, StoreError};
use minstrel_domain::{GuildId, Playlist, PlaylistEntry, PlaylistId, PlaylistOwner};

use super::fixtures::{self, entry, name};

pub async fn all(repo: &dyn PlaylistRepo) {
    create_then_find_ignoring_case(repo).await;
    names_are_unique_per_owner_ignoring_case(repo).await;
    list_is_sorted_by_name_and_paginated(repo).await;
    list_order_does_not_depend_on_the_locale(repo).await;
    append_and_remove_entries(repo).await;
    append_respects_max_entries(repo).await;
    unknown_playlist_is_not_found(repo).await;
    delete_removes_the_playlist_and_frees_its_name(repo).await;
    active_playlist_per_guild(repo).await;
    delete_clears_the_active_playlist(repo).await;
}

fn user_owner() -> PlaylistOwner {
    PlaylistOwner::User(fixtures::user())
}

fn names(playlists: &[Playlist]) -> Vec<&str> {
    playlists
        .iter()
        .map(|playlist| playlist.name.as_str())
        .collect()
}

fn entries(range: std::ops::Range<usize>) -> Vec<PlaylistEntry> {
    range.map(entry).collect()
}

/// A new playlist is empty, keeps its name as typed and is found by any casing of it, by its
/// owner only.
pub async fn create_then_find_ignoring_case(repo: &dyn PlaylistRepo) {
    let owner = user_owner();
    let created = repo.create(owner, &name("Road Trip")).await.unwrap();
    assert_eq!(created.owner, owner);
    assert_eq!(created.name.as_str(), "Road Trip");
    assert!(created.entries.is_empty());

    let found = repo.find(owner, &name("rOAD tRIP")).await.unwrap();
    assert_eq!(found, Some(created.clone()));
    assert_eq!(
        found.unwrap().name.as_str(),
        "Road Trip",
        "the stored casing is kept"
    );
    assert_eq!(repo.find(owner, &name("Road")).await.unwrap(), None);
    assert_eq!(
        repo.find(user_owner(), &name("Road Trip")).await.unwrap(),
        None
    );

    let second = repo.create(owner, &name("Other")).await.unwrap();
    assert_ne!(second.id, created.id, "every playlist gets its own id");
}

/// A second playlist whose name differs only in case is a `Conflict` with a sentence for the
/// user; another owner, even a guild with the same raw id, may use the name.
pub async fn names_are_unique_per_owner_ignoring_case(repo: &dyn PlaylistRepo) {
    let user = fixtures::user();
    let owner = PlaylistOwner::User(user);
    repo.create(owner, &name("Chill")).await.unwrap();

    let error = repo.create(owner, &name("CHILL")).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Conflict(message)
            if message.contains("you already have a playlist called")
                && message.to_lowercase().contains("\"chill\"")),
        "unexpected error: {error:?}"
    );
    assert_eq!(repo.list(owner, 0, 10).await.unwrap().len(), 1);

    repo.create(user_owner(), &name("chill")).await.unwrap();
    let same_raw_id_guild = PlaylistOwner::Guild(GuildId::new(user.get()).unwrap());
    let guilds = repo
        .create(same_raw_id_guild, &name("Chill"))
        .await
        .unwrap();
    assert!(matches!(
        repo.create(same_raw_id_guild, &name("chill")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        repo.find(owner, &name("chill"))
            .await
            .unwrap()
            .map(|found| found.id),
        repo.find(owner, &name("Chill"))
            .await
            .unwrap()
            .map(|found| found.id),
    );
    assert_ne!(
        repo.find(owner, &name("chill"))
            .await
            .unwrap()
            .map(|found| found.id),
        Some(guilds.id)
    );
}

/// An owner's playlists come sorted by name ignoring case, `limit` from `offset`, and nobody
/// else's are among them.
pub async fn list_is_sorted_by_name_and_paginated(repo: &dyn PlaylistRepo) {
    let owner = user_owner();
    for text in ["delta", "Bravo", "alpha", "Charlie"] {
        repo.create(owner, &name(text)).await.unwrap();
    }
    repo.create(user_owner(), &name("Aardvark")).await.unwrap();

    let list = |offset, limit| async move { repo.list(owner, offset, limit).await.unwrap() };
    assert_eq!(
        names(&list(0, 10).await),
        ["alpha", "Bravo", "Charlie", "delta"]
    );
    assert_eq!(names(&list(1, 2).await), ["Bravo", "Charlie"]);
    assert_eq!(names(&list(3, 5).await), ["delta"]);
    assert!(list(4, 5).await.is_empty());
    assert!(list(0, 0).await.is_empty());
    // A store with narrower integers than `usize` must clamp, not fail.
    assert_eq!(list(0, usize::MAX).await.len(), 4);
    assert!(list(usize::MAX, 1).await.is_empty());
    assert!(repo.list(user_owner(), 0, 10).await.unwrap().is_empty());
}

/// Names sort by their lowercased form in code point order on every store, whatever a database
/// server's locale would say: punctuation is not ignored and accented letters come after `z`.
pub async fn list_order_does_not_depend_on_the_locale(repo: &dyn PlaylistRepo) {
    let owner = user_owner();
    for text in ["Émile", "Zebra", "apple", "_under", "Ärger"] {
        repo.create(owner, &name(text)).await.unwrap();
    }
    assert_eq!(
        names(&repo.list(owner, 0, 10).await.unwrap()),
        ["_under", "apple", "Zebra", "Ärger", "Émile"]
    );
}

/// Appended entries keep their order and every field; removing by 0-based index returns the
/// entry; an index past the end is `NotFound` naming the 1-based entry.
pub async fn append_and_remove_entries(repo: &dyn PlaylistRepo) {
    let owner = user_owner();
    let playlist = repo.create(owner, &name("Mix")).await.unwrap();
    repo.append(&playlist.id, &entries(0..2)).await.unwrap();
    repo.append(&playlist.id, &entries(2..4)).await.unwrap();
    repo.append(&playlist.id, &[]).await.unwrap();
    let stored = repo.find(owner, &name("Mix")).await.unwrap().unwrap();
    assert_eq!(stored.entries, entries(0..4));

    assert_eq!(repo.remove_entry(&playlist.id, 1).await.unwrap(), entry(1));
    assert_eq!(repo.remove_entry(&playlist.id, 2).await.unwrap(), entry(3));
    let stored = repo.find(owner, &name("Mix")).await.unwrap().unwrap();
    assert_eq!(stored.entries, [entry(0), entry(2)]);

    let error = repo.remove_entry(&playlist.id, 2).await.unwrap_err();
    assert_eq!(error, StoreError::NotFound("entry 3".to_owned()));
    assert_eq!(error.to_string(), "entry 3 was not found");
    assert!(matches!(
        repo.remove_entry(&playlist.id, usize::MAX).await,
        Err(StoreError::NotFound(_))
    ));

    repo.remove_entry(&playlist.id, 0).await.unwrap();
    repo.remove_entry(&playlist.id, 0).await.unwrap();
    assert_eq!(
        repo.remove_entry(&playlist.id, 0).await,
        Err(StoreError::NotFound("entry 1".to_owned()))
    );
}

/// A playlist holds at most [`Playlist::MAX_ENTRIES`]; a batch that would go over is a
/// `Conflict` stating the limit and adds nothing.
pub async fn append_respects_max_entries(repo: &dyn PlaylistRepo) {
    let owner = user_owner();
    let playlist = repo.create(owner, &name("Huge")).await.unwrap();
    let max = Playlist::MAX_ENTRIES;
    repo.append(&playlist.id, &entries(0..max - 1))
        .await
        .unwrap();

    let error = repo.append(&playlist.id, &entries(0..2)).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Conflict(message) if message.contains(&max.to_string())),
        "unexpected error: {error:?}"
    );
    let stored = repo.find(owner, &name("Huge")).await.unwrap().unwrap();
    assert_eq!(
        stored.entries.len(),
        max - 1,
        "a refused batch adds nothing"
    );

    repo.append(&playlist.id, &[entry(max)]).await.unwrap();
    assert!(matches!(
        repo.append(&playlist.id, &[entry(0)]).await,
        Err(StoreError::Conflict(_))
    ));
    repo.append(&playlist.id, &[]).await.unwrap();
    let stored = repo.find(owner, &name("Huge")).await.unwrap().unwrap();
    assert_eq!(stored.entries.len(), max);
    assert_eq!(stored.entries.last(), Some(&entry(max)));
}

/// Changing a playlist that does not exist is `NotFound`.
pub async fn unknown_playlist_is_not_found(repo: &dyn PlaylistRepo) {
    // Create and delete one so the id is certainly unused, whatever scheme the store uses.
    let playlist = repo.create(user_owner(), &name("Gone")).await.unwrap();
    repo.delete(&playlist.id).await.unwrap();
    let gone = playlist.id;

    let not_found = |result: Result<(), StoreError>| matches!(result, Err(StoreError::NotFound(_)));
    assert!(not_found(repo.append(&gone, &[entry(0)]).await));
    assert!(not_found(repo.remove_entry(&gone, 0).await.map(drop)));
    assert!(not_found(repo.delete(&gone).await));
    assert!(not_found(
        repo.set_active(fixtures::guild(), Some(gone)).await
    ));
}

/// A deleted playlist is gone from `find` and `list`, and its name is free again.
pub async fn delete_removes_the_playlist_and_frees_its_name(repo: &dyn PlaylistRepo) {
    let owner = user_owner();
    let doomed = repo.create(owner, &name("Doomed")).await.unwrap();
    repo.append(&doomed.id, &entries(0..3)).await.unwrap();
    let kept = repo.create(owner, &name("Kept")).await.unwrap();

    repo.delete(&doomed.id).await.unwrap();
    assert_eq!(repo.find(owner, &name("doomed")).await.unwrap(), None);
    assert_eq!(names(&repo.list(owner, 0, 10).await.unwrap()), ["Kept"]);
    assert_eq!(
        repo.find(owner, &name("Kept"))
            .await
            .unwrap()
            .map(|found| found.id),
        Some(kept.id)
    );

    let again = repo.create(owner, &name("DOOMED")).await.unwrap();
    assert_ne!(again.id, doomed.id);
    assert!(again.entries.is_empty(), "old entries do not come back");
}

/// Each guild has at most one active playlist; `active` shows its current entries; `None`
/// clears it.
pub async fn active_playlist_per_guild(repo: &dyn PlaylistRepo) {
    let (guild, other_guild) = (fixtures::guild(), fixtures::guild());
    let owner = PlaylistOwner::Guild(guild);
    let first = repo.create(owner, &name("First")).await.unwrap();
    let second = repo.create(user_owner(), &name("Second")).await.unwrap();
    assert_eq!(repo.active(guild).await.unwrap(), None);

    repo.set_active(guild, Some(first.id.clone()))
        .await
        .unwrap();
    repo.append(&first.id, &entries(0..2)).await.unwrap();
    let active = repo.active(guild).await.unwrap().unwrap();
    assert_eq!(active.id, first.id);
    assert_eq!(
        active.entries,
        entries(0..2),
        "active shows the current entries"
    );
    assert_eq!(repo.active(other_guild).await.unwrap(), None);

    repo.set_active(guild, Some(second.id.clone()))
        .await
        .unwrap();
    repo.set_active(other_guild, Some(second.id.clone()))
        .await
        .unwrap();
    assert_eq!(active_id(repo, guild).await, Some(second.id.clone()));
    assert_eq!(active_id(repo, other_guild).await, Some(second.id));

    repo.set_active(guild, None).await.unwrap();
    assert_eq!(repo.active(guild).await.unwrap(), None);
    repo.set_active(guild, None).await.unwrap();
    assert!(repo.active(other_guild).await.unwrap().is_some());
}

/// Deleting a playlist clears it as active in every guild.
pub async fn delete_clears_the_active_playlist(repo: &dyn PlaylistRepo) {
    let (guild, other_guild) = (fixtures::guild(), fixtures::guild());
    let doomed = repo.create(user_owner(), &name("Doomed")).await.unwrap();
    let kept = repo.create(user_owner(), &name("Kept")).await.unwrap();
    repo.set_active(guild, Some(doomed.id.clone()))
        .await
        .unwrap();
    repo.set_active(other_guild, Some(kept.id.clone()))
        .await
        .unwrap();

    repo.delete(&doomed.id).await.unwrap();
    assert_eq!(repo.active(guild).await.unwrap(), None);
    assert_eq!(active_id(repo, other_guild).await, Some(kept.id));
}

async fn active_id(repo: &dyn PlaylistRepo, guild: GuildId) -> Option<PlaylistId> {
    repo.active(guild)
        .await
        .unwrap()
        .map(|playlist| playlist.id)
}
