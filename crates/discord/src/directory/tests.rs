use minstrel_testkit::discord::{FakeMember, guild_create_json, voice_state_json};
use serde_json::{Value, json};
use twilight_model::gateway::payload::incoming::{GuildDelete, Ready, VoiceStateUpdate};

use super::*;

const GUILD: u64 = 300_000_000_000_000_001;
const GENERAL: u64 = 600_000_000_000_000_010;
const MUSIC: u64 = 600_000_000_000_000_011;
const BOT: u64 = 700_000_000_000_000_002;

fn guild() -> GuildId {
    GuildId::new(GUILD).unwrap()
}

fn guild_create(value: Value) -> Event {
    Event::GuildCreate(Box::new(serde_json::from_value(value).unwrap()))
}

fn voice_update(value: Value) -> Event {
    Event::VoiceStateUpdate(Box::new(VoiceStateUpdate(
        serde_json::from_value(value).unwrap(),
    )))
}

fn ready(bot: u64) -> Event {
    let ready: Ready = serde_json::from_value(json!({
        "v": 10,
        "session_id": "s",
        "resume_gateway_url": "ws://127.0.0.1:1",
        "application": {"id": "1", "flags": 0},
        "guilds": [],
        "user": {"id": bot.to_string(), "username": "minstrel", "discriminator": "0000",
                 "avatar": null, "bot": true, "mfa_enabled": false},
    }))
    .unwrap();
    Event::Ready(ready)
}

fn names(directory: &VoiceChannelDirectory) -> Vec<(String, Option<String>)> {
    directory
        .in_voice(guild())
        .expect("the guild is known")
        .into_iter()
        .map(|member| (member.display_name, member.voice_channel))
        .collect()
}

#[tokio::test]
async fn nothing_is_known_before_the_guild_arrives() {
    let directory = VoiceChannelDirectory::new();
    let error = directory.online_members(guild()).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn guild_create_lists_the_members_in_voice_with_their_channels() {
    let directory = VoiceChannelDirectory::new();
    let (ann, bo) = (
        FakeMember::new(100_000_000_000_000_001, "ann"),
        FakeMember::new(100_000_000_000_000_002, "bo"),
    );
    directory.observe(&guild_create(guild_create_json(
        GUILD,
        &[(GENERAL, "General"), (MUSIC, "Music")],
        &[(&bo, MUSIC), (&ann, GENERAL)],
    )));
    let list = directory.online_members(guild()).await.unwrap();
    assert_eq!(list.scope, MemberListScope::InVoice);
    assert_eq!(
        names(&directory),
        [
            ("ann".to_owned(), Some("General".to_owned())),
            ("bo".to_owned(), Some("Music".to_owned())),
        ]
    );
}

#[test]
fn voice_updates_add_move_and_remove_members_and_prefer_the_nickname() {
    let directory = VoiceChannelDirectory::new();
    directory.observe(&guild_create(guild_create_json(
        GUILD,
        &[(GENERAL, "General"), (MUSIC, "Music")],
        &[],
    )));
    assert_eq!(names(&directory), []);
    let cy = FakeMember::new(100_000_000_000_000_003, "cy");
    let mut joined = voice_state_json(GUILD, &cy, Some(GENERAL));
    joined["member"]["nick"] = json!("Cyrus");
    directory.observe(&voice_update(joined));
    assert_eq!(
        names(&directory),
        [("Cyrus".to_owned(), Some("General".to_owned()))]
    );
    let mut moved = voice_state_json(GUILD, &cy, Some(MUSIC));
    moved["member"]["user"]["global_name"] = json!("Cy Global");
    directory.observe(&voice_update(moved));
    assert_eq!(
        names(&directory),
        [("Cy Global".to_owned(), Some("Music".to_owned()))]
    );
    directory.observe(&voice_update(voice_state_json(GUILD, &cy, None)));
    assert_eq!(names(&directory), []);
}

#[test]
fn bots_and_the_bot_itself_are_not_listed() {
    let directory = VoiceChannelDirectory::new();
    directory.observe(&ready(BOT));
    let ann = FakeMember::new(100_000_000_000_000_001, "ann");
    let other_bot = FakeMember::new(100_000_000_000_000_005, "jukebox");
    let itself = FakeMember::new(BOT, "minstrel");
    let mut other_bot_create = guild_create_json(
        GUILD,
        &[(MUSIC, "Music")],
        &[(&ann, MUSIC), (&other_bot, MUSIC), (&itself, MUSIC)],
    );
    other_bot_create["members"][1]["user"]["bot"] = json!(true);
    directory.observe(&guild_create(other_bot_create));
    assert_eq!(
        names(&directory),
        [("ann".to_owned(), Some("Music".to_owned()))]
    );
}

#[test]
fn a_voice_update_before_the_guild_still_counts_and_guild_delete_forgets() {
    let directory = VoiceChannelDirectory::new();
    let ann = FakeMember::new(100_000_000_000_000_001, "ann");
    directory.observe(&voice_update(voice_state_json(GUILD, &ann, Some(MUSIC))));
    assert_eq!(names(&directory), [("ann".to_owned(), None)]);
    // A fresh snapshot replaces what was known: ann left while the bot was away.
    directory.observe(&guild_create(guild_create_json(
        GUILD,
        &[(MUSIC, "Music")],
        &[],
    )));
    assert_eq!(names(&directory), []);
    directory.observe(&Event::GuildDelete(GuildDelete {
        id: twilight_model::id::Id::new(GUILD),
        unavailable: Some(true),
    }));
    assert!(directory.in_voice(guild()).is_none());
}

#[test]
fn a_member_without_a_known_name_is_shown_by_id() {
    let directory = VoiceChannelDirectory::new();
    directory.observe(&guild_create(guild_create_json(
        GUILD,
        &[(MUSIC, "Music")],
        &[],
    )));
    let ann = FakeMember::new(100_000_000_000_000_001, "ann");
    let mut state = voice_state_json(GUILD, &ann, Some(MUSIC));
    state.as_object_mut().unwrap().remove("member");
    directory.observe(&voice_update(state));
    assert_eq!(
        names(&directory),
        [(
            "user 100000000000000001".to_owned(),
            Some("Music".to_owned())
        )]
    );
}
