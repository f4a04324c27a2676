//! A play from a linked Telegram chat, whose user is in no Discord voice channel: the player
//! joins the channel it was last in, or the guild's default one, or says how to start.

use minstrel_domain::{Requester, RequesterId, TelegramUserId};

use super::{Fixture, Harness, PlayerCall, guild, member, voice_channel};
use crate::error::MusicError;
use crate::guild_commands::{CommandError, GuildCommands};
use crate::policy::Actor;

fn telegram_user() -> Actor {
    let requester = Requester {
        id: RequesterId::Telegram(TelegramUserId::new(42).unwrap()),
        display_name: "tg-ann".to_owned(),
    };
    Actor::member(requester, Vec::new(), false)
}

async fn telegram_play(harness: &Harness, query: &str) -> Result<(), CommandError> {
    GuildCommands::local(harness.music.clone())
        .play(guild(), &telegram_user(), query)
        .await
        .map(|_| ())
}

/// A harness whose player plays into voice channels, as on Discord.
fn in_voice() -> Fixture {
    let mut fixture = Fixture::new();
    fixture.in_voice = true;
    fixture
}

#[tokio::test]
async fn with_no_channel_known_it_says_how_to_start_and_plays_nothing() {
    let harness = in_voice().build();
    let refused = telegram_play(&harness, "song").await;
    assert!(
        matches!(
            refused,
            Err(CommandError::Music(MusicError::NoVoiceChannel))
        ),
        "{refused:?}"
    );
    assert_eq!(harness.take_player_calls(), []);
}

#[tokio::test]
async fn it_joins_the_guilds_default_voice_channel_then_plays() {
    let mut fixture = in_voice();
    fixture.guild_settings.default_voice_channel = Some(voice_channel());
    let harness = fixture.build();
    telegram_play(&harness, "song").await.unwrap();
    let calls = harness.take_player_calls();
    assert_eq!(
        calls.first(),
        Some(&PlayerCall::Join(voice_channel())),
        "{calls:?}"
    );
    assert!(plays(&calls, "song"), "{calls:?}");
}

#[tokio::test]
async fn it_rejoins_the_channel_the_player_was_last_in() {
    let harness = in_voice().build();
    let channel = minstrel_domain::ChannelId::new(77).unwrap();
    harness
        .music
        .join(guild(), &member(1), channel, None)
        .await
        .unwrap();
    harness.music.leave(guild(), &member(1)).await.unwrap();
    harness.take_player_calls();
    telegram_play(&harness, "song").await.unwrap();
    assert_eq!(
        harness.take_player_calls().first(),
        Some(&PlayerCall::Join(channel))
    );
    // Connected now: the next play does not join again.
    telegram_play(&harness, "another").await.unwrap();
    assert!(
        !harness
            .take_player_calls()
            .iter()
            .any(|call| matches!(call, PlayerCall::Join(_)))
    );
}

#[tokio::test]
async fn a_local_output_plays_without_a_voice_channel() {
    let harness = Fixture::new().build();
    telegram_play(&harness, "song").await.unwrap();
    let calls = harness.take_player_calls();
    assert!(
        !calls.iter().any(|call| matches!(call, PlayerCall::Join(_))),
        "{calls:?}"
    );
    assert!(plays(&calls, "song"), "{calls:?}");
}

/// Whether `calls` include playing the track `wanted`.
fn plays(calls: &[PlayerCall], wanted: &str) -> bool {
    calls
        .iter()
        .any(|call| matches!(call, PlayerCall::Play { title, .. } if title == wanted))
}
