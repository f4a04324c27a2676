use minstrel_testkit::discord::{
    FakeMember, guild_create_json, presence_update_json, voice_state_json, with_presences,
};
use serde_json::{Value, json};
use twilight_model::gateway::payload::incoming::{
    GuildDelete, MemberAdd, MemberRemove, PresenceUpdate, Ready, VoiceStateUpdate,
};

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

fn presence_update(value: Value) -> Event {
    Event::PresenceUpdate(Box::new(PresenceUpdate(
        serde_json::from_value(value).unwrap(),
    )))
}

/// Name, status and voice channel of everyone the presence directory lists.
fn online(directory: &VoiceChannelDirectory) -> Vec<(String, PresenceStatus, Option<String>)> {
    directory
        .online(guild())
        .expect("the guild is known")
        .into_iter()
        .map(|member| {
            (
                member.display_name,
                member.status.expect("a status"),
                member.voice_channel,
            )
        })
        .collect()
}

fn people() -> (FakeMember, FakeMember, FakeMember, FakeMember) {
    let mut jukebox = FakeMember::new(100_000_000_000_000_009, "jukebox");
    jukebox.bot = true;
    (
        FakeMember::new(100_000_000_000_000_001, "ann"),
        FakeMember::new(100_000_000_000_000_002, "bo"),
        FakeMember::new(100_000_000_000_000_003, "cy"),
        jukebox,
    )
}

#[tokio::test]
async fn with_presences_everyone_not_offline_is_listed_with_status_and_channel() {
    let directory = VoiceChannelDirectory::with_presences();
    assert!(directory.tracks_presences());
    directory.observe(&ready(BOT));
    let (ann, bo, cy, jukebox) = people();
    let itself = FakeMember::new(BOT, "minstrel");
    directory.observe(&guild_create(with_presences(
        guild_create_json(GUILD, &[(MUSIC, "Music")], &[(&bo, MUSIC)]),
        &[
            (&cy, "dnd"),
            (&ann, "online"),
            (&bo, "idle"),
            (&jukebox, "online"),
            (&itself, "online"),
        ],
    )));
    let list = directory.online_members(guild()).await.unwrap();
    assert_eq!(list.scope, MemberListScope::Online);
    assert_eq!(
        online(&directory),
        [
            ("ann".to_owned(), PresenceStatus::Online, None),
            (
                "bo".to_owned(),
                PresenceStatus::Idle,
                Some("Music".to_owned())
            ),
            ("cy".to_owned(), PresenceStatus::DoNotDisturb, None),
        ]
    );
}

#[test]
fn presence_updates_add_change_and_remove_members() {
    let directory = VoiceChannelDirectory::with_presences();
    let (ann, bo, cy, _) = people();
    directory.observe(&guild_create(with_presences(
        guild_create_json(GUILD, &[], &[]),
        &[(&ann, "online"), (&bo, "offline")],
    )));
    assert_eq!(
        online(&directory),
        [("ann".to_owned(), PresenceStatus::Online, None)]
    );
    // bo comes online, ann goes idle.
    directory.observe(&presence_update(presence_update_json(GUILD, &bo, "online")));
    directory.observe(&presence_update(presence_update_json(GUILD, &ann, "idle")));
    assert_eq!(
        online(&directory),
        [
            ("ann".to_owned(), PresenceStatus::Idle, None),
            ("bo".to_owned(), PresenceStatus::Online, None),
        ]
    );
    // ann goes offline; cy, never seen as a member, shows up by id until her name is known.
    directory.observe(&presence_update(presence_update_json(
        GUILD, &ann, "offline",
    )));
    directory.observe(&presence_update(presence_update_json(GUILD, &cy, "dnd")));
    assert_eq!(
        online(&directory),
        [
            ("bo".to_owned(), PresenceStatus::Online, None),
            (
                "user 100000000000000003".to_owned(),
                PresenceStatus::DoNotDisturb,
                None
            ),
        ]
    );
    // Invisible looks offline to everyone else.
    directory.observe(&presence_update(presence_update_json(
        GUILD,
        &bo,
        "invisible",
    )));
    assert_eq!(
        online(&directory),
        [(
            "user 100000000000000003".to_owned(),
            PresenceStatus::DoNotDisturb,
            None
        )]
    );
}

#[test]
fn member_events_name_people_and_a_leaver_is_forgotten() {
    let directory = VoiceChannelDirectory::with_presences();
    let (ann, _, cy, jukebox) = people();
    directory.observe(&guild_create(guild_create_json(GUILD, &[], &[])));
    directory.observe(&presence_update(presence_update_json(GUILD, &cy, "online")));
    let mut added: serde_json::Map<String, Value> =
        serde_json::from_value(voice_state_json(GUILD, &cy, None)["member"].clone()).unwrap();
    added.insert("guild_id".to_owned(), json!(GUILD.to_string()));
    directory.observe(&Event::MemberAdd(Box::new(
        serde_json::from_value::<MemberAdd>(Value::Object(added)).unwrap(),
    )));
    assert_eq!(
        online(&directory),
        [("cy".to_owned(), PresenceStatus::Online, None)]
    );
    // A nickname arrives with GUILD_MEMBER_UPDATE.
    directory.observe(&Event::MemberUpdate(Box::new(
        serde_json::from_value(json!({
            "guild_id": GUILD.to_string(),
            "nick": "Cyrus",
            "roles": [],
            "user": {"id": cy.user_id.to_string(), "username": "cy", "discriminator": "0",
                     "avatar": null},
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "avatar": null,
            "communication_disabled_until": null,
            "premium_since": null,
            "deaf": false,
            "mute": false,
        }))
        .unwrap(),
    )));
    assert_eq!(
        online(&directory),
        [("Cyrus".to_owned(), PresenceStatus::Online, None)]
    );
    // A bot that joins is known as one and never listed, whatever its presence.
    let mut bot_added: serde_json::Map<String, Value> =
        serde_json::from_value(voice_state_json(GUILD, &jukebox, None)["member"].clone()).unwrap();
    bot_added.insert("guild_id".to_owned(), json!(GUILD.to_string()));
    directory.observe(&Event::MemberAdd(Box::new(
        serde_json::from_value::<MemberAdd>(Value::Object(bot_added)).unwrap(),
    )));
    directory.observe(&presence_update(presence_update_json(
        GUILD, &jukebox, "online",
    )));
    directory.observe(&presence_update(presence_update_json(
        GUILD, &ann, "online",
    )));
    assert_eq!(
        online(&directory),
        [
            ("Cyrus".to_owned(), PresenceStatus::Online, None),
            (
                "user 100000000000000001".to_owned(),
                PresenceStatus::Online,
                None
            ),
        ]
    );
    directory.observe(&Event::MemberRemove(MemberRemove {
        guild_id: twilight_model::id::Id::new(GUILD),
        user: serde_json::from_value(json!({
            "id": cy.user_id.to_string(), "username": "cy", "discriminator": "0", "avatar": null,
        }))
        .unwrap(),
    }));
    assert_eq!(
        online(&directory),
        [(
            "user 100000000000000001".to_owned(),
            PresenceStatus::Online,
            None
        )]
    );
}

#[tokio::test]
async fn without_presences_the_list_stays_voice_only_and_presence_events_change_nothing() {
    let directory = VoiceChannelDirectory::new();
    assert!(!directory.tracks_presences());
    let (ann, bo, _, _) = people();
    directory.observe(&guild_create(with_presences(
        guild_create_json(GUILD, &[(MUSIC, "Music")], &[(&ann, MUSIC)]),
        &[(&ann, "online"), (&bo, "online")],
    )));
    directory.observe(&presence_update(presence_update_json(
        GUILD, &ann, "offline",
    )));
    let list = directory.online_members(guild()).await.unwrap();
    assert_eq!(list.scope, MemberListScope::InVoice);
    let listed: Vec<(String, Option<String>, Option<PresenceStatus>)> = list
        .members
        .into_iter()
        .map(|member| (member.display_name, member.voice_channel, member.status))
        .collect();
    assert_eq!(listed, [("ann".to_owned(), Some("Music".to_owned()), None)]);
    assert_eq!(directory.online(guild()), Some(Vec::new()));
}
