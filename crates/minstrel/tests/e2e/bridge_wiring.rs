//! The binary with both tokens, against the fake Discord gateway and REST API and the fake
//! Telegram Bot API on 127.0.0.1: a chat linked through `/id` and `/connect_telegram` asks
//! `/list`, and learns who sits in the guild's voice channels from the Discord gateway events,
//! or, with `MINSTREL_DISCORD_PRESENCE=true`, who is online from the presences.

use std::time::Duration;

use minstrel_testkit::discord::{
    FakeGateway, FakeMember, FakeRest, guild_create_json, presence_update_json, slash_command,
    voice_state_json, with_presences,
};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::telegram::{FakeTelegram, text_update};
use serde_json::json;

const DISCORD_TOKEN: &str = "MTIzNDU2.SECRET-discord-token.never-printed";
const TELEGRAM_TOKEN: &str = "424242:SECRET-telegram-token-never-printed";
const GUILD: u64 = 300_000_000_000_000_001;
const MUSIC: u64 = 600_000_000_000_000_055;
const LOUNGE: u64 = 600_000_000_000_000_056;
const GROUP: i64 = -4001;
const CHAT_ADMIN: i64 = 77;
/// Discord's Manage Server permission bit.
const MANAGE_GUILD: u64 = 32;
/// `GUILDS` (1) | `GUILD_VOICE_STATES` (128).
const UNPRIVILEGED_INTENTS: u64 = 1 | 128;
/// ... | `GUILD_MEMBERS` (2) | `GUILD_PRESENCES` (256).
const PRESENCE_INTENTS: u64 = UNPRIVILEGED_INTENTS | 2 | 256;

fn spawn_bot(
    gateway: &FakeGateway,
    rest: &FakeRest,
    telegram: &FakeTelegram,
    extra_env: &[(&str, &str)],
) -> BotProcess {
    crate::minstrel()
        .discord(DISCORD_TOKEN, gateway, rest)
        .telegram(TELEGRAM_TOKEN, telegram)
        .library()
        .local_search()
        .output("null")
        .log("info")
        .envs(extra_env.iter().copied())
        .spawn()
}

/// Sends `text` in the group and returns the bot's answer.
async fn say(telegram: &FakeTelegram, text: &str) -> String {
    let before = telegram.sent_texts(GROUP).len();
    telegram.push_update(text_update(GROUP, CHAT_ADMIN, "Ann", text));
    telegram
        .wait_until(Duration::from_secs(20), |_| {
            telegram.sent_texts(GROUP).len() > before
        })
        .await;
    telegram.sent_texts(GROUP)[before..].join("\n")
}

/// Links the group to the guild: `/id` in Telegram, `/connect_telegram <code>` by a Discord
/// manager. The interaction comes after every dispatch sent before it on the same shard, so
/// once it is answered the bot has seen them all.
async fn link_chat(gateway: &FakeGateway, rest: &FakeRest, telegram: &FakeTelegram) {
    let issued = say(telegram, "/id").await;
    let code = issued
        .lines()
        .find_map(|line| line.strip_prefix("Link code: "))
        .unwrap_or_else(|| panic!("no code in {issued:?}"))
        .to_owned();
    let mut manager = FakeMember::new(100_000_000_000_000_010, "manager");
    manager.permissions = MANAGE_GUILD;
    let connect = slash_command(
        2_001,
        "token-connect",
        GUILD,
        &manager,
        "connect_telegram",
        &json!([{"name": "code", "type": 3, "value": code}]),
    );
    assert!(gateway.inject_interaction(&connect));
    let linked = rest.wait_for_original_edit("token-connect").await;
    let said = linked.embed_description().unwrap_or_default();
    assert!(said.contains("now linked"), "{said}");
}

/// Waits until the bot has handled every dispatch sent so far: an interaction after them on
/// the same shard is answered only once they are.
async fn seen_so_far(gateway: &FakeGateway, rest: &FakeRest, id: u64) {
    let token = format!("token-barrier-{id}");
    let queue = slash_command(
        id,
        &token,
        GUILD,
        &FakeMember::new(100_000_000_000_000_011, "asker"),
        "queue",
        &json!([]),
    );
    assert!(gateway.inject_interaction(&queue));
    rest.wait_for_original_edit(&token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_list_shows_who_is_in_discord_voice() {
    let gateway = FakeGateway::start().await;
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let telegram = FakeTelegram::start().await;
    telegram.set_admin(GROUP, CHAT_ADMIN);
    let mut bot = spawn_bot(&gateway, &rest, &telegram, &[]);
    assert_eq!(
        gateway.identify_intents(1).await,
        UNPRIVILEGED_INTENTS,
        "nothing privileged unless asked"
    );
    telegram.wait_for("setMyCommands", 1).await;

    // The gateway tells the bot about the guild: ann in Music, and later bo joins the Lounge
    // while a bot and cy (who then leaves) come and go.
    let ann = FakeMember::new(100_000_000_000_000_001, "ann");
    let bo = FakeMember::new(100_000_000_000_000_002, "bo");
    let cy = FakeMember::new(100_000_000_000_000_003, "cy");
    assert!(gateway.dispatch(
        "GUILD_CREATE",
        &guild_create_json(
            GUILD,
            &[(MUSIC, "Music"), (LOUNGE, "Lounge")],
            &[(&ann, MUSIC), (&cy, MUSIC)],
        ),
    ));
    assert!(gateway.dispatch(
        "VOICE_STATE_UPDATE",
        &voice_state_json(GUILD, &bo, Some(LOUNGE))
    ));
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &voice_state_json(GUILD, &cy, None)));
    let mut jukebox = voice_state_json(
        GUILD,
        &FakeMember::new(100_000_000_000_000_009, "jukebox"),
        Some(MUSIC),
    );
    jukebox["member"]["user"]["bot"] = json!(true);
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &jukebox));

    link_chat(&gateway, &rest, &telegram).await;

    let listed = say(&telegram, "/list").await;
    assert!(
        listed.starts_with(
            "In a voice channel on Discord (2):\n• ann (🔊 Music)\n• bo (🔊 Lounge)\n"
        ),
        "{listed}\n{}",
        bot.stderr()
    );
    assert!(listed.contains("only see who is in voice"), "{listed}");
    assert!(
        listed.contains("MINSTREL_DISCORD_PRESENCE=true"),
        "names the setting: {listed}"
    );

    assert!(bot.is_running(), "it keeps running");
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
    bot.assert_never_printed("SECRET-telegram");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_presence_on_telegram_list_shows_who_is_online_on_discord() {
    let gateway = FakeGateway::start().await;
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let telegram = FakeTelegram::start().await;
    telegram.set_admin(GROUP, CHAT_ADMIN);
    let mut bot = spawn_bot(
        &gateway,
        &rest,
        &telegram,
        &[("MINSTREL_DISCORD_PRESENCE", "true")],
    );
    assert_eq!(gateway.identify_intents(1).await, PRESENCE_INTENTS);
    telegram.wait_for("setMyCommands", 1).await;

    // ann is in Music and online, dee is idle and in no voice channel, eve is offline, and a
    // bot is online.
    let ann = FakeMember::new(100_000_000_000_000_001, "ann");
    let dee = FakeMember::new(100_000_000_000_000_004, "dee");
    let eve = FakeMember::new(100_000_000_000_000_005, "eve");
    let mut jukebox = FakeMember::new(100_000_000_000_000_009, "jukebox");
    jukebox.bot = true;
    assert!(gateway.dispatch(
        "GUILD_CREATE",
        &with_presences(
            guild_create_json(
                GUILD,
                &[(MUSIC, "Music"), (LOUNGE, "Lounge")],
                &[(&ann, MUSIC)]
            ),
            &[
                (&ann, "online"),
                (&dee, "idle"),
                (&eve, "offline"),
                (&jukebox, "online")
            ],
        ),
    ));
    link_chat(&gateway, &rest, &telegram).await;

    let listed = say(&telegram, "/list").await;
    assert_eq!(
        listed,
        "Online on Discord (2):\n• ann (online, 🔊 Music)\n• dee (idle)",
        "{}",
        bot.stderr()
    );

    // dee goes offline, eve comes online: the next /list follows.
    assert!(gateway.dispatch(
        "PRESENCE_UPDATE",
        &presence_update_json(GUILD, &dee, "offline")
    ));
    assert!(gateway.dispatch("PRESENCE_UPDATE", &presence_update_json(GUILD, &eve, "dnd")));
    seen_so_far(&gateway, &rest, 2_002).await;
    let listed = say(&telegram, "/list").await;
    assert_eq!(
        listed,
        "Online on Discord (2):\n• ann (online, 🔊 Music)\n• eve (do not disturb)",
        "{}",
        bot.stderr()
    );

    assert!(bot.is_running(), "it keeps running");
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
    bot.assert_never_printed("SECRET-telegram");
}
