//! `PlaylistService`: saved playlists and the guild's active playlist.

use std::time::Duration;

use minstrel_domain::{
    Playlist, PlaylistEntry, PlaylistId, PlaylistName, PlaylistNameError, PlaylistOwner, SourceKind,
};
use mockall::predicate::eq;

use super::{Fixture, Harness, guild, info, user_id};
use crate::error::MusicError;
use crate::playlists::PlaylistService;
use crate::ports::{ResolveError, StoreError, TrackInfo};

fn owner() -> PlaylistOwner {
    PlaylistOwner::User(user_id(5))
}

fn chill(entries: Vec<PlaylistEntry>) -> Playlist {
    Playlist {
        id: PlaylistId(7),
        owner: owner(),
        name: PlaylistName::new("Chill").unwrap(),
        entries,
    }
}

fn entry(title: &str) -> PlaylistEntry {
    PlaylistEntry {
        title: title.to_owned(),
        locator: format!("{title}.wav"),
        source_kind: SourceKind::Local,
        duration: Some(Duration::from_mins(3)),
    }
}

fn service(harness: &Harness) -> PlaylistService {
    PlaylistService::new(
        harness.playlists.clone(),
        harness.resolver.clone(),
        harness.music.clone(),
    )
}

/// The repo finds "chill" (any case) for [`owner()`], exactly once.
fn finds_chill(fixture: &mut Fixture) {
    fixture
        .playlists
        .expect_find()
        .withf(|who, name| *who == owner() && name.key() == "chill")
        .times(1)
        .returning(|_, _| Ok(Some(chill(vec![entry("one"), entry("two")]))));
}

#[tokio::test]
async fn create_trims_the_name_and_saves_it() {
    let mut fixture = Fixture::new();
    fixture
        .playlists
        .expect_create()
        .withf(|who, name| *who == owner() && name.as_str() == "Road Trip")
        .times(1)
        .returning(|who, name| {
            Ok(Playlist {
                id: PlaylistId(3),
                owner: who,
                name: name.clone(),
                entries: Vec::new(),
            })
        });
    let harness = fixture.build();

    let created = service(&harness)
        .create(owner(), "  Road Trip ")
        .await
        .unwrap();

    assert_eq!(created.id, PlaylistId(3));
    assert_eq!(created.name.as_str(), "Road Trip");
}

#[tokio::test]
async fn create_refuses_a_bad_name_without_touching_the_repo() {
    // No expect_create: a call would panic.
    let harness = Fixture::new().build();
    let playlists = service(&harness);

    let empty = playlists.create(owner(), "   ").await.unwrap_err();
    let long = playlists
        .create(owner(), &"x".repeat(65))
        .await
        .unwrap_err();

    assert_eq!(empty, MusicError::PlaylistName(PlaylistNameError::Empty));
    assert_eq!(empty.to_string(), "a playlist name cannot be empty");
    assert_eq!(
        long.to_string(),
        "a playlist name can have at most 64 characters"
    );
}

#[tokio::test]
async fn create_passes_a_name_conflict_through() {
    let mut fixture = Fixture::new();
    fixture
        .playlists
        .expect_create()
        .times(1)
        .returning(|_, _| {
            Err(StoreError::Conflict(
                "you already have a playlist called \"Chill\"".to_owned(),
            ))
        });
    let harness = fixture.build();

    let error = service(&harness)
        .create(owner(), "chill")
        .await
        .unwrap_err();

    assert_eq!(
        error,
        MusicError::Store(StoreError::Conflict(
            "you already have a playlist called \"Chill\"".to_owned()
        ))
    );
    assert_eq!(
        error.to_string(),
        "you already have a playlist called \"Chill\""
    );
    assert!(!error.is_internal());
}

#[tokio::test]
async fn a_missing_playlist_is_named_in_the_error() {
    let mut fixture = Fixture::new();
    fixture
        .playlists
        .expect_find()
        .times(1)
        .returning(|_, _| Ok(None));
    let harness = fixture.build();

    let error = service(&harness)
        .show(owner(), " Summer ")
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::NoSuchPlaylist("Summer".to_owned()));
    assert_eq!(error.to_string(), "no playlist called \"Summer\"");
}

#[tokio::test]
async fn add_current_with_nothing_playing_says_so() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    // No expect_append: saving anything would panic.
    let harness = fixture.build();

    let error = service(&harness)
        .add_current(owner(), "chill", guild())
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::NothingPlaying);
}

#[tokio::test]
async fn add_current_saves_the_playing_track() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    fixture
        .resolver
        .expect_resolve()
        .with(eq("daft"))
        .returning(|_| {
            Ok(vec![TrackInfo {
                artist: Some("Daft Punk".to_owned()),
                ..info("One More Time")
            }])
        });
    let expected = PlaylistEntry {
        title: "Daft Punk – One More Time".to_owned(),
        locator: "One More Time.wav".to_owned(),
        source_kind: SourceKind::Local,
        duration: Some(Duration::from_mins(3)),
    };
    let saved = expected.clone();
    fixture
        .playlists
        .expect_append()
        .withf(move |id, entries| *id == PlaylistId(7) && entries == [saved.clone()])
        .times(1)
        .returning(|_, _| Ok(()));
    let harness = fixture.build();
    harness.play_console("daft").await;

    let added = service(&harness)
        .add_current(owner(), "CHILL", guild())
        .await
        .unwrap();

    assert_eq!(added, expected);
}

#[tokio::test]
async fn add_query_saves_everything_the_resolver_found() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    fixture
        .resolver
        .expect_resolve()
        .with(eq("some album"))
        .times(1)
        .returning(|_| {
            Ok(vec![
                TrackInfo {
                    artist: Some("Artist".to_owned()),
                    ..info("Intro")
                },
                info("Outro"),
            ])
        });
    fixture
        .playlists
        .expect_append()
        .withf(|id, entries| *id == PlaylistId(7) && entries.len() == 2)
        .times(1)
        .returning(|_, _| Ok(()));
    let harness = fixture.build();

    let added = service(&harness)
        .add_query(owner(), "chill", "  some album ")
        .await
        .unwrap();

    let titles: Vec<&str> = added.iter().map(|entry| entry.title.as_str()).collect();
    assert_eq!(titles, ["Artist – Intro", "Outro"]);
    assert_eq!(added[1].locator, "Outro.wav");
}

#[tokio::test]
async fn add_query_with_an_empty_query_asks_for_one() {
    // Neither find nor the resolver may be asked.
    let mut fixture = Fixture::new();
    fixture.defaults.resolver = false;
    let harness = fixture.build();

    let error = service(&harness)
        .add_query(owner(), "chill", "  ")
        .await
        .unwrap_err();

    assert_eq!(error, MusicError::EmptyQuery);
    assert_eq!(error.to_string(), "give me something to search for");
}

#[tokio::test]
async fn add_query_passes_resolver_errors_through_and_saves_nothing() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    fixture.defaults.resolver = false;
    fixture.resolver.expect_resolve().times(1).returning(|_| {
        Err(ResolveError::Forbidden(
            "that site is not allowed".to_owned(),
        ))
    });
    let harness = fixture.build();

    let error = service(&harness)
        .add_query(owner(), "chill", "https://bad.example")
        .await
        .unwrap_err();

    assert_eq!(error.to_string(), "that site is not allowed");
}

#[tokio::test]
async fn remove_uses_one_based_positions() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    fixture
        .playlists
        .expect_remove_entry()
        .with(eq(PlaylistId(7)), eq(1))
        .times(1)
        .returning(|_, _| Ok(entry("two")));
    let harness = fixture.build();

    let removed = service(&harness).remove(owner(), "chill", 2).await.unwrap();

    assert_eq!(removed.title, "two");
}

#[tokio::test]
async fn remove_of_position_zero_is_not_found() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    // No expect_remove_entry: a call would panic.
    let harness = fixture.build();

    let error = service(&harness)
        .remove(owner(), "chill", 0)
        .await
        .unwrap_err();

    assert_eq!(
        error,
        MusicError::Store(StoreError::NotFound("entry 0".to_owned()))
    );
    assert_eq!(error.to_string(), "entry 0 was not found");
}

#[tokio::test]
async fn remove_past_the_end_passes_the_repo_error_through() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    fixture
        .playlists
        .expect_remove_entry()
        .times(1)
        .returning(|_, index| Err(StoreError::NotFound(format!("entry {}", index + 1))));
    let harness = fixture.build();

    let error = service(&harness)
        .remove(owner(), "chill", 9)
        .await
        .unwrap_err();

    assert_eq!(error.to_string(), "entry 9 was not found");
}

#[tokio::test]
async fn use_playlist_makes_it_the_guilds_active_one() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    fixture
        .playlists
        .expect_set_active()
        .with(eq(guild()), eq(Some(PlaylistId(7))))
        .times(1)
        .returning(|_, _| Ok(()));
    let harness = fixture.build();

    let active = service(&harness)
        .use_playlist(guild(), owner(), "chill")
        .await
        .unwrap();

    assert_eq!(active.id, PlaylistId(7));
    assert_eq!(active.entries.len(), 2);
}

#[tokio::test]
async fn use_of_a_missing_playlist_changes_nothing() {
    let mut fixture = Fixture::new();
    fixture
        .playlists
        .expect_find()
        .times(1)
        .returning(|_, _| Ok(None));
    // No expect_set_active: a call would panic.
    let harness = fixture.build();

    assert_eq!(
        service(&harness)
            .use_playlist(guild(), owner(), "gone")
            .await,
        Err(MusicError::NoSuchPlaylist("gone".to_owned()))
    );
}

#[tokio::test]
async fn show_returns_the_playlist_with_its_entries() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    let harness = fixture.build();

    let shown = service(&harness).show(owner(), "Chill").await.unwrap();

    assert_eq!(shown, chill(vec![entry("one"), entry("two")]));
}

#[tokio::test]
async fn list_pages_ten_at_a_time() {
    let mut fixture = Fixture::new();
    fixture
        .playlists
        .expect_list()
        .with(eq(owner()), eq(20), eq(10))
        .times(1)
        .returning(|_, _, _| Ok(vec![chill(Vec::new())]));
    fixture
        .playlists
        .expect_list()
        .with(eq(owner()), eq(0), eq(10))
        .times(2)
        .returning(|_, _, _| Ok(Vec::new()));
    let harness = fixture.build();
    let playlists = service(&harness);

    assert_eq!(playlists.list(owner(), 3).await.unwrap().len(), 1);
    assert!(playlists.list(owner(), 1).await.unwrap().is_empty());
    assert!(
        playlists.list(owner(), 0).await.unwrap().is_empty(),
        "page 0 is the first page"
    );
}

#[tokio::test]
async fn delete_removes_the_playlist_it_found() {
    let mut fixture = Fixture::new();
    finds_chill(&mut fixture);
    fixture
        .playlists
        .expect_delete()
        .with(eq(PlaylistId(7)))
        .times(1)
        .returning(|_| Ok(()));
    let harness = fixture.build();

    let deleted = service(&harness).delete(owner(), "chill").await.unwrap();

    assert_eq!(deleted.name.as_str(), "Chill");
}

#[tokio::test]
async fn repo_outages_are_internal_errors() {
    let mut fixture = Fixture::new();
    fixture
        .playlists
        .expect_find()
        .times(1)
        .returning(|_, _| Err(StoreError::Unavailable("db down".to_owned())));
    let harness = fixture.build();

    let error = service(&harness)
        .delete(owner(), "chill")
        .await
        .unwrap_err();

    assert!(error.is_internal());
    assert_eq!(
        error.to_string(),
        "storage is unavailable right now, please try again shortly"
    );
}
