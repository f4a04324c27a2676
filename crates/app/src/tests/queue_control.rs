//! Queue control beyond one track: play now, replay, and removing many tracks at once.

use minstrel_domain::{AddPosition, RequesterId};

use super::{Fixture, PlayerCall, dj_role, guild, member};
use crate::error::MusicError;
use crate::guild_commands::LocalCommandBus;
use crate::policy::{Actor, PermissionError};
use crate::vocabulary::{CommandReply, GuildCommand, Removal};

#[tokio::test]
async fn play_now_skips_the_current_track_and_starts_the_new_one() {
    let harness = Fixture::new().build();
    for title in ["A", "B", "C"] {
        harness.play_console(title).await;
    }
    harness.take_player_calls();

    let outcome = harness
        .music
        .play_now(guild(), &Actor::console(), "N", None)
        .await
        .unwrap();

    assert_eq!(
        outcome.started.map(|track| track.title).as_deref(),
        Some("N")
    );
    assert_eq!(outcome.position, None);
    assert_eq!(harness.current_title().await.as_deref(), Some("N"));
    assert_eq!(
        harness.upcoming_titles().await,
        ["B", "C"],
        "the rest waits"
    );
    assert!(
        harness
            .take_player_calls()
            .iter()
            .any(|call| matches!(call, PlayerCall::Stop)),
        "the current track was stopped"
    );
}

#[tokio::test]
async fn play_now_jumps_everyones_queue_so_it_is_for_djs() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(dj_role());
    let harness = fixture.build();
    harness
        .music
        .play(guild(), &member(1), "A", AddPosition::End)
        .await
        .unwrap();

    assert_eq!(
        harness.music.play_now(guild(), &member(1), "N", None).await,
        Err(MusicError::Permission(PermissionError::NeedsDj))
    );
    assert_eq!(harness.current_title().await.as_deref(), Some("A"));
    assert!(harness.upcoming_titles().await.is_empty(), "nothing queued");
}

#[tokio::test]
async fn a_range_the_duplicates_and_ones_own_tracks_are_removed_at_once() {
    let mut fixture = Fixture::new();
    fixture.guild_settings.dj_role = Some(dj_role());
    let harness = fixture.build();
    for (user, title) in [
        (1, "now"),
        (1, "a"),
        (2, "b"),
        (1, "c"),
        (2, "a"),
        (2, "d"),
        (2, "e"),
    ] {
        harness
            .music
            .play(guild(), &member(user), title, AddPosition::End)
            .await
            .unwrap();
    }
    let remove = |actor: Actor, removal: Removal| {
        let music = &harness.music;
        async move { music.remove_many(guild(), &actor, removal).await }
    };

    assert_eq!(
        remove(member(1), Removal::Duplicates).await,
        Err(MusicError::Permission(PermissionError::NeedsDj)),
        "others' tracks need the DJ role"
    );
    assert_eq!(remove(member(1), Removal::RequestedBy(None)).await, Ok(2));
    assert_eq!(harness.upcoming_titles().await, ["b", "a", "d", "e"]);
    assert_eq!(remove(super::dj(9), Removal::Duplicates).await, Ok(0));
    assert_eq!(
        remove(super::dj(9), Removal::Range { from: 1, to: 2 }).await,
        Ok(2)
    );
    assert_eq!(harness.upcoming_titles().await, ["b", "e"]);
    let two = RequesterId::Discord(super::user_id(2));
    assert_eq!(
        remove(super::dj(9), Removal::RequestedBy(Some(two))).await,
        Ok(2)
    );
    assert!(harness.upcoming_titles().await.is_empty());
    assert_eq!(harness.current_title().await.as_deref(), Some("now"));
}

#[tokio::test]
async fn duplicates_of_queued_songs_go_and_the_first_copy_stays() {
    let harness = Fixture::new().build();
    for title in ["A", "B", "A", "C", "B"] {
        harness.play_console(title).await;
    }

    let removed = harness
        .music
        .remove_many(guild(), &Actor::console(), Removal::Duplicates)
        .await;

    assert_eq!(removed, Ok(2));
    assert_eq!(harness.upcoming_titles().await, ["B", "C"]);
}

#[tokio::test]
async fn replay_through_the_bus_seeks_the_current_track_to_its_start() {
    let harness = Fixture::new().build();
    harness.play_console("A").await;
    harness.take_player_calls();
    let bus = LocalCommandBus::new(harness.music.clone());

    let reply = bus
        .execute(guild(), &Actor::console(), GuildCommand::Replay)
        .await;

    assert_eq!(reply, Ok(CommandReply::Sought(std::time::Duration::ZERO)));
    assert!(
        harness
            .take_player_calls()
            .iter()
            .any(|call| matches!(call, PlayerCall::Seek(position) if position.is_zero())),
        "{:?}",
        harness.take_player_calls()
    );
}

#[tokio::test]
async fn the_tracks_of_members_who_left_the_voice_channel_go_and_the_others_stay() {
    let harness = Fixture::new().build();
    for (user, title) in [(1, "now"), (1, "stays"), (2, "goes"), (3, "goes too")] {
        harness
            .music
            .play(guild(), &member(user), title, AddPosition::End)
            .await
            .unwrap();
    }
    harness.play_console("from the console").await;
    let listeners = vec![RequesterId::Discord(super::user_id(1))];

    let removed = harness
        .music
        .remove_many(guild(), &super::dj(9), Removal::Absent { listeners })
        .await;

    assert_eq!(removed, Ok(2));
    assert_eq!(
        harness.upcoming_titles().await,
        ["stays", "from the console"],
        "a console or Telegram track is nobody's to leave with"
    );
}
