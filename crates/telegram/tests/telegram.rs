//! The real teloxide dispatcher and handler tree, driven over HTTP by the fake Bot API of
//! `minstrel-testkit` on 127.0.0.1, with a real `MusicService` on in-memory and mocked ports.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use minstrel_app::ports::{
    ChatLink, ChatLinkRepo, Clock, EventBus, GuildDirectory, GuildMemberInfo, GuildMemberList,
    InProcessEventBus, MemberListScope, MockGuildDirectory, MockPlayer, MockTrackResolver,
    StoreError, SystemClock, TrackInfo,
};
use minstrel_app::{
    Actor, BridgeError, BridgePorts, BridgeService, GuildCommands, MusicPorts, MusicService,
    RateLimit,
};
use minstrel_db::{
    MemoryAuditLog, MemoryChatLinkRepo, MemoryHistoryRepo, MemoryLinkCodeRepo, MemoryPlaylistRepo,
    MemoryQueueStore, MemorySettingsRepo, MemoryTelegramMemberRepo,
};
use minstrel_domain::{
    DomainEvent, EndReason, GuildId, PlaybackState, Requester, RequesterId, SourceKind,
    TelegramChatId, Track, TrackId, UserId, Volume,
};
use minstrel_telegram::{
    MESSAGE_LIMIT, MirrorConfig, PaceLimits, StartError, TelegramConfig, TelegramExit,
    TelegramFrontend, TelegramServices,
};
use minstrel_testkit::telegram::{
    FakeTelegram, callback_update, conflict_error, migration_update, text_update,
};
use serde_json::json;
use tokio::sync::broadcast;

/// 35-character secret, the usual shape.
const TOKEN: &str = "4242424242:AAF-test_secret_0123456789abcdefghijkl";
const GROUP: i64 = -4_000_000_001;
const OTHER_GROUP: i64 = -4_000_000_002;
const ADMIN: i64 = 501;
const MEMBER: i64 = 502;
const WAIT: Duration = Duration::from_secs(10);

/// A clock the test moves by hand.
#[derive(Debug)]
struct TestClock(Mutex<SystemTime>);

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

struct Harness {
    fake: FakeTelegram,
    frontend: Option<TelegramFrontend>,
    music: Arc<MusicService>,
    bridge: Arc<BridgeService>,
    links: Arc<MemoryChatLinkRepo>,
    audit: Arc<MemoryAuditLog>,
    events: Arc<InProcessEventBus>,
    clock: Arc<TestClock>,
    /// Every volume the player was told, and when.
    volumes: VolumeLog,
    /// Keeps the mocked player's event channel open.
    _player_events: broadcast::Sender<minstrel_app::ports::PlayerEvent>,
}

fn guild() -> GuildId {
    GuildId::new(777).unwrap()
}

/// The voice channel a play from the linked chat joins (the guild's default).
fn default_voice_channel() -> minstrel_domain::ChannelId {
    minstrel_domain::ChannelId::new(7_770).unwrap()
}

/// Settings where [`guild`] has a default voice channel, so a `/play` from the chat joins it
/// (without one, it answers how to start playback).
fn settings_with_a_voice_channel() -> Arc<MemorySettingsRepo> {
    let repo = MemorySettingsRepo::new();
    let mut settings = minstrel_domain::GuildSettings::new(guild());
    settings.default_voice_channel = Some(default_voice_channel());
    futures::executor::block_on(minstrel_app::ports::SettingsRepo::save_guild(
        &repo, &settings,
    ))
    .unwrap();
    Arc::new(repo)
}

/// Where the harness's player plays.
#[derive(Clone, Copy)]
enum Voice {
    /// A local output: no voice channel to join.
    Local,
    /// Discord voice, and the guild has a default voice channel.
    DefaultChannel,
    /// Discord voice, and no channel is known.
    NoChannel,
}

type VolumeLog = Arc<Mutex<Vec<(u16, Instant)>>>;

fn permissive_player(
    events: &broadcast::Sender<minstrel_app::ports::PlayerEvent>,
    volumes: &VolumeLog,
) -> MockPlayer {
    let mut player = MockPlayer::new();
    player.expect_join().returning(|_, _| Ok(()));
    player.expect_leave().returning(|_| Ok(()));
    player.expect_play().returning(|_, _, _, _, _, _| Ok(()));
    player.expect_pause().returning(|_| Ok(()));
    player.expect_resume().returning(|_| Ok(()));
    player.expect_stop().returning(|_| Ok(()));
    player.expect_seek().returning(|_, _| Ok(()));
    let log = Arc::clone(volumes);
    player.expect_set_volume().returning(move |_, volume| {
        log.lock().unwrap().push((volume.percent(), Instant::now()));
        Ok(())
    });
    player.expect_set_filters().returning(|_, _| Ok(()));
    player.expect_position().returning(|_| None);
    let sender = events.clone();
    player.expect_events().returning(move || sender.subscribe());
    player
}

fn echo_resolver() -> MockTrackResolver {
    let mut resolver = MockTrackResolver::new();
    resolver.expect_resolve().returning(|query| {
        Ok(vec![TrackInfo {
            title: query.to_owned(),
            artist: None,
            duration: Some(Duration::from_secs(200)),
            source_kind: SourceKind::Local,
            locator: format!("{query}.wav"),
            thumbnail: None,
        }])
    });
    resolver
}

impl Harness {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(prepare: impl FnOnce(&FakeTelegram)) -> Self {
        Self::start_with_directory(prepare, None).await
    }

    async fn start_with_directory(
        prepare: impl FnOnce(&FakeTelegram),
        directory: Option<Arc<dyn GuildDirectory>>,
    ) -> Self {
        // Loose limits: these tests are about what is said, not how fast.
        let limits = PaceLimits {
            chat_interval: Duration::from_millis(50),
            group_messages: 1000,
            group_window: Duration::from_mins(1),
            overall_per_second: 1000,
        };
        Self::build(prepare, directory, limits).await
    }

    /// With the limits the bot runs with: Telegram's.
    async fn start_paced() -> Self {
        Self::build(|_| {}, None, PaceLimits::default()).await
    }

    async fn build(
        prepare: impl FnOnce(&FakeTelegram),
        directory: Option<Arc<dyn GuildDirectory>>,
        limits: PaceLimits,
    ) -> Self {
        Self::build_with_voice(prepare, directory, limits, Voice::Local).await
    }

    async fn build_with_voice(
        prepare: impl FnOnce(&FakeTelegram),
        directory: Option<Arc<dyn GuildDirectory>>,
        limits: PaceLimits,
        voice: Voice,
    ) -> Self {
        let fake = FakeTelegram::start().await;
        prepare(&fake);
        let events = Arc::new(InProcessEventBus::default());
        let (player_events, _) = broadcast::channel(16);
        let volumes = VolumeLog::default();
        let settings = match voice {
            Voice::Local | Voice::DefaultChannel => settings_with_a_voice_channel(),
            Voice::NoChannel => Arc::new(MemorySettingsRepo::new()),
        };
        let music = MusicService::new(
            MusicPorts {
                resolver: Arc::new(echo_resolver()),
                player: Arc::new(permissive_player(&player_events, &volumes)),
                settings,
                playlists: Arc::new(MemoryPlaylistRepo::new()),
                history: Arc::new(MemoryHistoryRepo::new()),
                queue_store: Arc::new(MemoryQueueStore::new()),
                events: events.clone(),
                clock: Arc::new(SystemClock),
            },
            RateLimit::new(10_000, Duration::from_millis(1)),
        );
        let music = Arc::new(match voice {
            Voice::Local => music,
            Voice::DefaultChannel | Voice::NoChannel => music.with_voice_channels(),
        });
        let links = Arc::new(MemoryChatLinkRepo::new());
        let audit = Arc::new(MemoryAuditLog::new());
        let clock = Arc::new(TestClock(Mutex::new(SystemTime::now())));
        let bridge = Arc::new(BridgeService::new(BridgePorts {
            links: links.clone(),
            codes: Arc::new(MemoryLinkCodeRepo::new()),
            members: Arc::new(MemoryTelegramMemberRepo::new()),
            audit: audit.clone(),
            clock: clock.clone(),
        }));
        let mut config = TelegramConfig::new(TOKEN);
        config.api_url = Some(fake.api_url());
        config.poll_timeout = Duration::from_secs(1);
        config.limits = limits;
        config.mirror = MirrorConfig {
            coalesce_window: Duration::from_millis(150),
            ..MirrorConfig::default()
        };
        let frontend = TelegramFrontend::start(
            config,
            TelegramServices {
                commands: GuildCommands::local(music.clone()),
                bridge: bridge.clone(),
                events: events.clone(),
                directory,
            },
        )
        .await
        .expect("the Telegram front-end starts against the fake");
        fake.set_admin(GROUP, ADMIN);
        fake.set_admin(OTHER_GROUP, ADMIN);
        Self {
            fake,
            frontend: Some(frontend),
            music,
            bridge,
            links,
            audit,
            events,
            clock,
            volumes,
            _player_events: player_events,
        }
    }

    /// Sends `text` from `user` in `chat` and returns the bot's reply (all parts joined).
    async fn say(&self, chat: i64, user: i64, text: &str) -> String {
        let before = self.fake.sent_texts(chat).len();
        self.fake
            .push_update(text_update(chat, user, &format!("user{user}"), text));
        self.fake
            .wait_until(WAIT, |requests| {
                requests
                    .iter()
                    .filter(|request| {
                        request.method == "sendmessage" && request.chat_id() == Some(chat)
                    })
                    .count()
                    > before
            })
            .await;
        self.fake.sent_texts(chat)[before..].join("\n")
    }

    async fn link_directly(&self, chat: i64) {
        self.links
            .link(&ChatLink {
                guild: guild(),
                chat: TelegramChatId::new(chat).unwrap(),
                linked_by: UserId::new(9).unwrap(),
                linked_at: SystemTime::now(),
            })
            .await
            .unwrap();
    }

    async fn flushes_reach(&self, count: u64) {
        let mut flushes = self.frontend.as_ref().unwrap().mirror_flushes();
        tokio::time::timeout(WAIT, flushes.wait_for(|seen| *seen >= count))
            .await
            .expect("the bridge flushes in time")
            .expect("the bridge runs");
    }

    async fn stop(mut self) {
        if let Some(frontend) = self.frontend.take() {
            assert_eq!(frontend.shutdown().await, TelegramExit::Shutdown);
        }
    }
}

fn discord_admin() -> Actor {
    Actor::member(
        Requester {
            id: RequesterId::Discord(UserId::new(42).unwrap()),
            display_name: "boss".to_owned(),
        },
        Vec::new(),
        true,
    )
}

fn code_in(reply: &str) -> String {
    reply
        .lines()
        .find_map(|line| line.strip_prefix("Link code: "))
        .unwrap_or_else(|| panic!("no code in {reply:?}"))
        .to_owned()
}

#[tokio::test]
async fn registers_commands_helps_and_tells_an_unlinked_chat_how_to_link() {
    let harness = Harness::start().await;
    let registered = harness.fake.requests_of("setmycommands");
    let commands = registered[0].body["commands"].as_array().unwrap();
    let names: Vec<&str> = commands
        .iter()
        .map(|command| command["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "start", "id", "link", "unlink", "list", "play", "playnext", "playnow", "replay",
            "queue", "np", "skip", "skipto", "previous", "seek", "pause", "resume", "stop",
            "volume", "filter", "repeat", "shuffle", "remove", "move", "clear", "help"
        ]
    );

    // What Telegram's Start button sends, and every new user first.
    let welcome = harness.say(ADMIN, ADMIN, "/start").await;
    assert!(welcome.starts_with("Hi! I'm minstrel"), "{welcome}");
    assert!(
        welcome.contains("/id") && welcome.contains("/connect_telegram"),
        "says how to link: {welcome}"
    );
    assert!(!welcome.contains("don't know"), "{welcome}");

    let help = harness.say(GROUP, MEMBER, "/help").await;
    assert!(help.starts_with("minstrel plays music"), "{help}");
    assert!(help.contains("/play — play a song"), "{help}");
    assert!(help.contains("/volume"), "{help}");
    assert!(!help.contains("handlers"), "no code comment: {help}");

    for command in [
        "/np",
        "/play song",
        "/queue",
        "/skip",
        "/list",
        "/volume 50",
    ] {
        let reply = harness.say(GROUP, MEMBER, command).await;
        assert!(
            reply.contains("Link this chat first: run /id"),
            "{command}: {reply}"
        );
    }
    let unknown = harness.say(ADMIN, ADMIN, "/dance").await;
    assert!(unknown.contains("/help"), "{unknown}");
    harness.stop().await;
}

#[tokio::test]
async fn link_codes_come_from_chat_admins_work_once_and_expire() {
    let harness = Harness::start().await;

    let refused = harness.say(GROUP, MEMBER, "/id").await;
    assert!(refused.contains(&GROUP.to_string()), "{refused}");
    assert!(refused.contains("Only chat administrators"), "{refused}");
    assert!(!refused.contains("Link code"), "{refused}");

    let issued = harness.say(GROUP, ADMIN, "/id").await;
    assert!(issued.contains("/connect_telegram"), "{issued}");
    let code = code_in(&issued);

    // A Discord member without Manage Server cannot use it.
    let member = Actor::member(
        Requester {
            id: RequesterId::Discord(UserId::new(43).unwrap()),
            display_name: "member".to_owned(),
        },
        Vec::new(),
        false,
    );
    assert_eq!(
        harness.bridge.link_with_code(guild(), &member, &code).await,
        Err(BridgeError::NeedsManageServer)
    );
    // Lower case and without the dash works too.
    let typed = code.replace('-', "").to_lowercase();
    let outcome = harness
        .bridge
        .link_with_code(guild(), &discord_admin(), &typed)
        .await
        .unwrap();
    assert_eq!(outcome.link.chat.get(), GROUP);
    assert!(outcome.replaced.is_empty());
    assert_eq!(
        harness
            .bridge
            .link_with_code(guild(), &discord_admin(), &code)
            .await,
        Err(BridgeError::UnknownCode),
        "a code works once"
    );

    // A second code from another chat relinks the guild, audited.
    let other = code_in(&harness.say(OTHER_GROUP, ADMIN, "/id").await);
    let relinked = harness
        .bridge
        .link_with_code(guild(), &discord_admin(), &other)
        .await
        .unwrap();
    assert_eq!(relinked.replaced.len(), 1);
    let actions: Vec<String> = harness
        .audit
        .entries()
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(actions, ["telegram.link", "telegram.relink"]);

    // Expired after ten minutes.
    let late = code_in(&harness.say(GROUP, ADMIN, "/id").await);
    harness.clock.advance(Duration::from_secs(601));
    assert_eq!(
        harness
            .bridge
            .link_with_code(guild(), &discord_admin(), &late)
            .await,
        Err(BridgeError::ExpiredCode)
    );

    // A Telegram code used in Telegram (here in another chat) is refused, and burnt.
    let wrong_way = code_in(&harness.say(GROUP, ADMIN, "/id").await);
    let reply = harness
        .say(OTHER_GROUP, ADMIN, &format!("/link {wrong_way}"))
        .await;
    assert!(reply.contains("made in Telegram"), "{reply}");

    // The Discord-made way round: a guild code redeemed with /link by a chat admin only.
    let guild_code = harness
        .bridge
        .issue_guild_code(guild(), &discord_admin())
        .await
        .unwrap();
    let refused = harness
        .say(GROUP, MEMBER, &format!("/link {}", guild_code.code))
        .await;
    assert!(refused.contains("only chat administrators"), "{refused}");
    let linked = harness
        .say(GROUP, ADMIN, &format!("/link {}", guild_code.code))
        .await;
    assert!(linked.contains("Linked to Discord server 777"), "{linked}");
    assert_eq!(
        harness
            .bridge
            .link_of_guild(guild())
            .await
            .unwrap()
            .unwrap()
            .chat
            .get(),
        GROUP
    );

    let refused = harness.say(GROUP, MEMBER, "/unlink").await;
    assert!(refused.contains("only chat administrators"), "{refused}");
    let unlinked = harness.say(GROUP, ADMIN, "/unlink").await;
    assert!(unlinked.contains("Unlinked"), "{unlinked}");
    assert_eq!(harness.bridge.link_of_guild(guild()).await.unwrap(), None);
    assert_eq!(
        harness.audit.entries().last().unwrap().action,
        "telegram.unlink"
    );
    harness.stop().await;
}

#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one scripted conversation walks every command in order"
)]
async fn every_command_in_a_linked_chat_drives_the_linked_guilds_player() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;

    let played = harness.say(GROUP, MEMBER, "/play first song").await;
    assert!(played.contains("Now playing: first song"), "{played}");
    let now = harness.music.now_playing(guild()).await.unwrap();
    assert_eq!(now.track.title, "first song");
    assert_eq!(
        now.track.requested_by.id,
        RequesterId::Telegram(minstrel_domain::TelegramUserId::new(MEMBER).unwrap())
    );
    assert_eq!(now.track.requested_by.display_name, format!("user{MEMBER}"));
    let with_keyboard = harness.fake.requests_of("sendmessage");
    assert!(
        with_keyboard.last().unwrap().body["reply_markup"]["inline_keyboard"].is_array(),
        "now playing carries the player keyboard"
    );

    let queued = harness.say(GROUP, MEMBER, "/play second song").await;
    assert!(
        queued.contains("Queued second song at position 1"),
        "{queued}"
    );
    let queue = harness.say(GROUP, MEMBER, "/queue").await;
    assert!(queue.contains("1. second song"), "{queue}");
    let np = harness.say(GROUP, MEMBER, "/np").await;
    assert!(
        np.contains("Now playing: first song") && np.contains("volume 100 %"),
        "{np}"
    );

    assert!(
        harness
            .say(GROUP, MEMBER, "/pause")
            .await
            .contains("Paused")
    );
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Paused);
    assert!(
        harness
            .say(GROUP, MEMBER, "/pause")
            .await
            .starts_with("Sorry:")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/resume")
            .await
            .contains("Resumed")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/volume 150")
            .await
            .contains("150 %")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/volume loud")
            .await
            .contains("Usage: /volume")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/volume 300")
            .await
            .starts_with("Sorry:")
    );
    let filter = harness.say(GROUP, MEMBER, "/filter Nightcore").await;
    assert_eq!(filter, "🎛 Filter nightcore on.", "named as chosen");
    assert!(
        harness
            .say(GROUP, MEMBER, "/filter")
            .await
            .contains("Presets:")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/filter reset")
            .await
            .contains("Filters off")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/filter nosuch")
            .await
            .starts_with("Sorry:")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/repeat queue")
            .await
            .contains("Repeat: queue")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/repeat sometimes")
            .await
            .contains("Usage")
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/shuffle")
            .await
            .contains("Shuffled 1")
    );
    let list = harness.say(GROUP, MEMBER, "/list").await;
    assert!(list.contains("not available"), "{list}");
    let empty_play = harness.say(GROUP, MEMBER, "/play").await;
    assert!(empty_play.starts_with("Usage: /play"), "{empty_play}");
    let skipped = harness.say(GROUP, MEMBER, "/skip").await;
    assert!(
        skipped.contains("Skipped first song. Now playing: second song"),
        "{skipped}"
    );
    let stopped = harness.say(GROUP, MEMBER, "/stop").await;
    assert!(stopped.contains("Stopped"), "{stopped}");
    assert!(
        harness
            .say(GROUP, MEMBER, "/np")
            .await
            .contains("nothing is playing")
    );

    // Members seen writing are cached for Discord's /all (bots are not).
    let members = harness.bridge.chat_members(guild()).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user.get(), MEMBER);
    harness.stop().await;
}

#[tokio::test]
async fn one_filter_is_set_shown_and_removed_by_name_and_replies_keep_the_preset_names() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;
    harness.say(GROUP, MEMBER, "/play first song").await;

    let preset = harness.say(GROUP, MEMBER, "/filter 8d").await;
    assert_eq!(preset, "🎛 Filter 8d on.");
    let set = harness
        .say(
            GROUP,
            MEMBER,
            "/filter set distortion sinOffset=0.1 scale=2",
        )
        .await;
    assert!(
        set.contains("• rotation rotationHz=0.2 (8d)")
            && set.contains("• distortion sinOffset=0.1 sinScale=1")
            && set.contains("scale=2"),
        "{set}"
    );
    let live = harness.music.now_playing(guild()).await.unwrap().filters;
    let distortion = live
        .distortion
        .expect("the guild's player has the distortion");
    assert_eq!((distortion.sin_offset, distortion.scale), (0.1, 2.0));

    let nightcore = harness.say(GROUP, MEMBER, "/filter nightcore").await;
    assert_eq!(
        nightcore,
        "🎛 Filter nightcore on (filters now: nightcore, 8d, distortion)."
    );
    let shown = harness.say(GROUP, MEMBER, "/filter show").await;
    assert!(
        shown.contains("• timescale speed=1 pitch=1 rate=1.25 (nightcore)")
            && shown.contains("• reverb roomSize=0.3 damping=0.5 wet=0.15 (8d)"),
        "{shown}"
    );

    let removed = harness.say(GROUP, MEMBER, "/filter remove Reverb").await;
    assert_eq!(
        removed,
        "🎛 reverb off. Filters now: nightcore, rotation, distortion."
    );
    let live = harness.music.now_playing(guild()).await.unwrap().filters;
    assert_eq!(live.reverb, None);
    assert!(live.rotation.is_some());

    let refused = harness
        .say(GROUP, MEMBER, "/filter set distortion sinOffset=11")
        .await;
    assert_eq!(
        refused,
        "Sorry: distortion: sinOffset must be between -10 and 10 (got 11)."
    );
    let unknown = harness.say(GROUP, MEMBER, "/filter remove echo").await;
    assert!(
        unknown.starts_with("Sorry: unknown filter \"echo\"") && unknown.contains("channelMix"),
        "{unknown}"
    );
    assert!(
        harness
            .say(GROUP, MEMBER, "/filter set")
            .await
            .starts_with("Usage: /filter set")
    );
    harness.stop().await;
}

#[tokio::test]
async fn list_names_who_is_in_voice_on_discord_and_says_what_it_covers() {
    let mut directory = MockGuildDirectory::new();
    let mut answers = vec![
        Ok(GuildMemberList {
            scope: MemberListScope::InVoice,
            members: vec![
                GuildMemberInfo {
                    user: UserId::new(11).unwrap(),
                    display_name: "Ann_*[x]".to_owned(),
                    voice_channel: Some("Music".to_owned()),
                    status: None,
                },
                GuildMemberInfo {
                    user: UserId::new(12).unwrap(),
                    display_name: "Bo".to_owned(),
                    voice_channel: None,
                    status: None,
                },
            ],
        }),
        Ok(GuildMemberList {
            scope: MemberListScope::InVoice,
            members: Vec::new(),
        }),
        Err(StoreError::Unavailable("no gateway data".to_owned())),
    ]
    .into_iter();
    directory
        .expect_online_members()
        .withf(|asked| *asked == guild())
        .times(3)
        .returning(move |_| answers.next().unwrap());
    let harness = Harness::start_with_directory(|_| {}, Some(Arc::new(directory))).await;
    // Unlinked: nothing is asked.
    let unlinked = harness.say(GROUP, MEMBER, "/list").await;
    assert!(unlinked.contains("/id"), "{unlinked}");
    harness.link_directly(GROUP).await;

    let listed = harness.say(GROUP, MEMBER, "/list").await;
    assert!(
        listed.starts_with("In a voice channel on Discord (2):\n• Ann_*[x] (🔊 Music)\n• Bo\n"),
        "{listed}"
    );
    assert!(listed.contains("only see who is in voice"), "{listed}");
    let empty = harness.say(GROUP, MEMBER, "/list").await;
    assert!(
        empty.starts_with("Nobody is in a voice channel on Discord right now."),
        "{empty}"
    );
    let unknown = harness.say(GROUP, MEMBER, "/list").await;
    assert!(
        unknown.contains("don't know who is on the Discord server yet"),
        "{unknown}"
    );
    assert!(
        !unknown.contains("no gateway data"),
        "internals stay in the log: {unknown}"
    );
    harness.stop().await;
}

#[tokio::test]
async fn buttons_act_on_the_player_and_answer_the_press() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;
    harness.say(GROUP, MEMBER, "/play a song").await;

    harness
        .fake
        .push_update(callback_update(GROUP, 100, MEMBER, "mp:pause"));
    let answers = harness.fake.wait_for("answercallbackquery", 1).await;
    assert_eq!(answers[0].body["text"], "Paused");
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Paused);
    let edits = harness.fake.wait_for("editmessagetext", 1).await;
    assert!(
        edits[0].body["text"]
            .as_str()
            .unwrap()
            .contains("Paused: a song")
    );

    harness
        .fake
        .push_update(callback_update(GROUP, 100, MEMBER, "mp:vol+"));
    let answers = harness.fake.wait_for("answercallbackquery", 2).await;
    assert_eq!(answers[1].body["text"], "Volume 110 %");

    harness
        .fake
        .push_update(callback_update(GROUP, 100, MEMBER, "mp:loop"));
    let answers = harness.fake.wait_for("answercallbackquery", 3).await;
    assert_eq!(answers[2].body["text"], "Repeat: track");
    // The message under the button shows the new mode, in its text and on the button.
    harness
        .fake
        .wait_until(WAIT, |requests| {
            requests.iter().any(|request| {
                request.method == "editmessagetext"
                    && request.body["message_id"] == json!(100)
                    && request
                        .text()
                        .is_some_and(|text| text.contains("repeat track"))
                    && request.body["reply_markup"]
                        .to_string()
                        .contains("🔂 Loop: track")
            })
        })
        .await;

    harness
        .fake
        .push_update(callback_update(OTHER_GROUP, 100, MEMBER, "mp:skip"));
    let answers = harness.fake.wait_for("answercallbackquery", 4).await;
    assert!(
        answers[3].body["text"]
            .as_str()
            .unwrap()
            .contains("Link this chat first")
    );
    harness.stop().await;
}

#[tokio::test]
async fn long_queries_are_echoed_shortened_and_markdown_specials_arrive_verbatim() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;
    let specials = r"_*[]()~`>#+-=|{}.!\ <b>&amp;";
    let reply = harness
        .say(GROUP, MEMBER, &format!("/play {specials}"))
        .await;
    assert!(reply.contains(specials), "{reply}");

    // A 5,000-character query: the reply repeats about a hundred characters of it, once.
    let long_title = "la ".repeat(1700);
    harness.say(GROUP, MEMBER, "/stop").await;
    let before = harness.fake.sent_texts(GROUP).len();
    let reply = harness
        .say(GROUP, MEMBER, &format!("/play {long_title}"))
        .await;
    assert!(reply.starts_with("▶ Now playing: la la"), "{reply}");
    assert!(
        reply.chars().count() < 200,
        "{} characters",
        reply.chars().count()
    );
    assert!(reply.ends_with('…'), "{reply}");
    let sent: Vec<_> = harness.fake.requests_of("sendmessage")[before..].to_vec();
    assert_eq!(sent.len(), 1, "one message: {sent:?}");
    for request in &sent {
        assert!(request.body.get("parse_mode").is_none(), "plain text only");
        assert!(request.text().unwrap().encode_utf16().count() <= MESSAGE_LIMIT);
    }
    harness.stop().await;
}

#[tokio::test]
async fn bursts_of_events_coalesce_into_one_message_and_later_changes_edit_it() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;
    let track = |id, title: &str| Track {
        id: TrackId(id),
        title: title.to_owned(),
        artist: None,
        duration: None,
        source_kind: SourceKind::Local,
        locator: format!("{title}.wav"),
        thumbnail: None,
        requested_by: Requester::console(),
    };
    let guild = guild();
    let burst = [
        DomainEvent::TrackStarted {
            guild,
            track: track(1, "A"),
        },
        DomainEvent::Paused { guild },
        DomainEvent::Resumed { guild },
        DomainEvent::VolumeChanged {
            guild,
            volume: Volume::new(150).unwrap(),
        },
        DomainEvent::Skipped {
            guild,
            track: track(1, "A"),
        },
        DomainEvent::TrackEnded {
            guild,
            track: track(1, "A"),
            reason: EndReason::Skipped,
        },
        DomainEvent::TrackStarted {
            guild,
            track: track(2, "B"),
        },
    ];
    for event in burst {
        harness.events.publish(event);
    }
    // Another guild, not linked: nothing is sent for it.
    harness.events.publish(DomainEvent::Paused {
        guild: GuildId::new(888).unwrap(),
    });
    harness.flushes_reach(2).await;
    let sent = harness.fake.sent_texts(GROUP);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("Skipped: A"), "{}", sent[0]);
    assert!(sent[0].contains("Now playing: B"), "{}", sent[0]);
    assert!(sent[0].contains("volume 150 %"), "{}", sent[0]);
    assert!(harness.fake.requests_of("editmessagetext").is_empty());

    harness.events.publish(DomainEvent::Paused { guild });
    harness.events.publish(DomainEvent::VolumeChanged {
        guild,
        volume: Volume::new(80).unwrap(),
    });
    harness.flushes_reach(3).await;
    let edits = harness.fake.requests_of("editmessagetext");
    assert_eq!(edits.len(), 1);
    assert!(edits[0].text().unwrap().contains("Paused: B"));
    assert!(edits[0].text().unwrap().contains("volume 80 %"));

    harness.events.publish(DomainEvent::QueueFinished { guild });
    harness.flushes_reach(4).await;
    let edits = harness.fake.requests_of("editmessagetext");
    assert_eq!(edits.len(), 2);
    assert!(edits[1].text().unwrap().contains("The queue has finished"));
    assert_eq!(harness.fake.sent_texts(GROUP).len(), 1, "still one message");
    harness.stop().await;
}

#[tokio::test]
async fn a_reply_refused_with_retry_after_is_delivered_once_after_the_wait() {
    let harness = Harness::start().await;
    harness.fake.retry_after("sendMessage", 2, 1);
    harness
        .fake
        .push_update(text_update(GROUP, MEMBER, "Mo", "/help"));
    harness
        .fake
        .wait_until(WAIT, |_| !harness.fake.delivered_texts(GROUP).is_empty())
        .await;
    let attempts = harness.fake.requests_of("sendmessage");
    assert_eq!(
        attempts.len(),
        3,
        "two refused, then accepted: {attempts:?}"
    );
    assert!(attempts[..2].iter().all(|attempt| attempt.status == 429));
    assert!(
        attempts
            .iter()
            .all(|attempt| attempt.text() == attempts[0].text())
    );
    // A later reply arrives after any stray duplicate of the first would have.
    let after = harness.say(GROUP, MEMBER, "/np").await;
    assert!(after.contains("not linked"), "{after}");
    let delivered = harness.fake.delivered_texts(GROUP);
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert!(delivered[0].contains("/play"), "{delivered:?}");
    harness.stop().await;
}

#[tokio::test]
async fn mirrored_changes_refused_with_retry_after_arrive_once_after_the_wait() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;
    let guild = guild();
    let track = Track {
        id: TrackId(1),
        title: "Song".to_owned(),
        artist: None,
        duration: None,
        source_kind: SourceKind::Local,
        locator: "song.wav".to_owned(),
        thumbnail: None,
        requested_by: Requester::console(),
    };
    // A new message: the bridge waits out the 429 and sends it once.
    harness.fake.retry_after("sendMessage", 1, 1);
    harness.events.publish(DomainEvent::TrackStarted {
        guild,
        track: track.clone(),
    });
    harness
        .fake
        .wait_until(WAIT, |_| !harness.fake.delivered_texts(GROUP).is_empty())
        .await;
    let message = last_message_id(&harness);
    // An edit: the bridge itself waits and sends the same change once.
    harness.fake.retry_after("editMessageText", 2, 1);
    harness.events.publish(DomainEvent::Paused { guild });
    harness
        .fake
        .wait_until(WAIT, |requests| {
            requests
                .iter()
                .any(|request| request.method == "editmessagetext" && request.accepted())
        })
        .await;
    // Another change, so any late duplicate of the paused edit would show before it.
    harness.events.publish(DomainEvent::Resumed { guild });
    wait_for_edit(&harness, message, &["Now playing: Song"]).await;

    let edits = harness.fake.requests_of("editmessagetext");
    let statuses: Vec<u16> = edits.iter().map(|edit| edit.status).collect();
    assert_eq!(statuses, [429, 429, 200, 200], "{edits:?}");
    assert!(
        edits[2].text().unwrap().contains("Paused: Song"),
        "{edits:?}"
    );
    assert!(
        edits
            .iter()
            .all(|edit| edit.body["message_id"] == json!(message))
    );
    let delivered = harness.fake.delivered_texts(GROUP);
    assert_eq!(
        delivered.len(),
        1,
        "one now-playing message, edited: {delivered:?}"
    );
    assert_eq!(
        harness.fake.requests_of("sendmessage").len(),
        2,
        "one refused, one sent"
    );
    harness.stop().await;
}

/// Waits until message `message` was edited to a text with every one of `parts`.
async fn wait_for_edit(harness: &Harness, message: i64, parts: &[&str]) {
    harness
        .fake
        .wait_until(WAIT, |requests| {
            requests.iter().any(|request| {
                request.method == "editmessagetext"
                    && request.message_id == Some(message)
                    && request
                        .text()
                        .is_some_and(|text| parts.iter().all(|part| text.contains(part)))
            })
        })
        .await;
}

fn last_message_id(harness: &Harness) -> i64 {
    harness
        .fake
        .requests_of("sendmessage")
        .last()
        .and_then(|request| request.message_id)
        .expect("a message was sent")
}

#[tokio::test]
async fn replies_in_the_linked_chat_become_the_now_playing_message_and_are_not_repeated() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;

    harness.say(GROUP, MEMBER, "/play first").await;
    let played = last_message_id(&harness);
    harness.say(GROUP, MEMBER, "/volume 120").await;
    // The bridge brings the /play reply up to date instead of sending its own message.
    wait_for_edit(&harness, played, &["Now playing: first", "volume 120 %"]).await;

    harness.say(GROUP, MEMBER, "/play second").await;
    let skipped = harness.say(GROUP, MEMBER, "/skip").await;
    assert!(skipped.contains("Now playing: second"), "{skipped}");
    let skip_reply = last_message_id(&harness);
    // A change made on Discord edits the /skip reply, the chat's now-playing message now.
    harness.events.publish(DomainEvent::VolumeChanged {
        guild: guild(),
        volume: Volume::new(90).unwrap(),
    });
    wait_for_edit(
        &harness,
        skip_reply,
        &["Now playing: second", "volume 90 %"],
    )
    .await;

    let sent = harness.fake.sent_texts(GROUP);
    assert_eq!(
        sent.len(),
        4,
        "one message per command; the bridge repeated none: {sent:?}"
    );
    assert!(
        sent.iter().all(|text| !text.contains("⏭ Skipped: first")),
        "the skip was told once: {sent:?}"
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_group_that_becomes_a_supergroup_keeps_its_link() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;
    let supergroup = -1_009_000_000_001;
    harness
        .fake
        .push_update(migration_update(GROUP, supergroup, ADMIN));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let link = harness
            .bridge
            .link_of_guild(guild())
            .await
            .unwrap()
            .unwrap();
        if link.chat.get() == supergroup {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the link did not move"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        harness.audit.entries().last().unwrap().action,
        "telegram.migrate"
    );
    let reply = harness.say(supergroup, MEMBER, "/play x").await;
    assert!(reply.contains("Now playing: x"), "{reply}");
    harness.stop().await;
}

#[tokio::test]
async fn a_second_poller_conflict_stops_only_telegram() {
    let harness = Harness::start().await;
    harness
        .fake
        .respond_always("getupdates", 409, conflict_error());
    let mut harness = harness;
    let frontend = harness.frontend.take().unwrap();
    let exit = tokio::time::timeout(WAIT, frontend.wait())
        .await
        .expect("the front-end stops on 409");
    assert_eq!(exit, TelegramExit::Conflict);
    // The rest keeps working.
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Idle);
}

/// Captures log lines of the current thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buffer);
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_token_never_reaches_logs_or_errors() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A token whose secret is not 35 characters: teloxide's own hiding misses it.
    let odd_token = "5151:short-secret_xyz";
    let unreachable = {
        let mut config = TelegramConfig::new(odd_token);
        config.api_url = Some("http://127.0.0.1:9/".to_owned());
        let harness_services = services_for_errors();
        TelegramFrontend::start(config, harness_services).await
    };
    let error = unreachable.expect_err("nothing listens on port 9");
    assert!(matches!(error, StartError::Unreachable(_)), "{error}");
    assert!(!error.to_string().contains("short-secret_xyz"), "{error}");
    assert!(error.to_string().contains("<redacted>"), "{error}");

    let rejected = {
        let fake = FakeTelegram::start().await;
        fake.respond_always(
            "getme",
            401,
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        );
        let mut config = TelegramConfig::new(TOKEN);
        config.api_url = Some(fake.api_url());
        TelegramFrontend::start(config, services_for_errors()).await
    };
    assert!(matches!(rejected, Err(StartError::TokenRejected(_))));

    // A failing request whose error text echoes the URL (as proxies do) is logged redacted.
    let harness = Harness::start_with(|fake| {
        fake.respond_always(
            "getchatmember",
            400,
            json!({"ok": false, "error_code": 400,
                   "description": format!("Bad Request: see http://proxy/bot{TOKEN}/GetChatMember")}),
        );
    })
    .await;
    harness.link_directly(GROUP).await;
    let reply = harness.say(GROUP, MEMBER, "/pause").await;
    assert!(!reply.contains(TOKEN));
    harness.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("could not check a chat administrator"),
        "{logs}"
    );
    assert!(logs.contains("<redacted>"), "{logs}");
    assert!(!logs.contains(TOKEN), "the token leaked:\n{logs}");
    assert!(
        !logs.contains("short-secret_xyz"),
        "the token leaked:\n{logs}"
    );
    assert!(!logs.contains(TOKEN.split_once(':').unwrap().1), "{logs}");
}

fn services_for_errors() -> TelegramServices {
    let events = Arc::new(InProcessEventBus::default());
    let (player_events, _) = broadcast::channel(16);
    let music = Arc::new(MusicService::new(
        MusicPorts {
            resolver: Arc::new(echo_resolver()),
            player: Arc::new(permissive_player(&player_events, &VolumeLog::default())),
            settings: settings_with_a_voice_channel(),
            playlists: Arc::new(MemoryPlaylistRepo::new()),
            history: Arc::new(MemoryHistoryRepo::new()),
            queue_store: Arc::new(MemoryQueueStore::new()),
            events: events.clone(),
            clock: Arc::new(SystemClock),
        },
        RateLimit::default(),
    ));
    TelegramServices {
        commands: GuildCommands::local(music),
        bridge: Arc::new(BridgeService::new(BridgePorts {
            links: Arc::new(MemoryChatLinkRepo::new()),
            codes: Arc::new(MemoryLinkCodeRepo::new()),
            members: Arc::new(MemoryTelegramMemberRepo::new()),
            audit: Arc::new(MemoryAuditLog::new()),
            clock: Arc::new(SystemClock),
        })),
        events,
        directory: None,
    }
}

/// Telegram's command counts since the last snapshot (which drains the recorder), as
/// `(command, outcome) → count`.
fn telegram_commands_since(
    snapshotter: &metrics_util::debugging::Snapshotter,
) -> std::collections::BTreeMap<(String, String), u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let key = key.key();
            let label = |name: &str| {
                key.labels()
                    .find(|label| label.key() == name)
                    .map(|label| label.value().to_owned())
            };
            match value {
                metrics_util::debugging::DebugValue::Counter(count)
                    if count > 0
                        && key.name() == minstrel_telegram::metrics::COMMANDS_TOTAL
                        && label("frontend").as_deref() == Some("telegram") =>
                {
                    Some(((label("command")?, label("outcome")?), count))
                }
                _ => None,
            }
        })
        .collect()
}

#[tokio::test]
async fn commands_are_counted_by_name_and_outcome() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // A current-thread test: the dispatcher's tasks run on this thread, under its recorder.
    let _guard = metrics::set_default_local_recorder(&recorder);
    let harness = Harness::start().await;
    let count = |command: &str, outcome: &str, count: u64| {
        ((command.to_owned(), outcome.to_owned()), count)
    };

    harness.say(GROUP, MEMBER, "/help").await;
    harness.say(GROUP, MEMBER, "/queue").await;
    assert_eq!(
        telegram_commands_since(&snapshotter),
        [count("help", "ok", 1), count("queue", "user_error", 1)].into()
    );

    harness.link_directly(GROUP).await;
    harness.say(GROUP, MEMBER, "/queue").await;
    harness.say(GROUP, MEMBER, "/volume loud").await;
    harness.say(GROUP, MEMBER, "/queue").await;
    assert_eq!(
        telegram_commands_since(&snapshotter),
        [count("queue", "ok", 2), count("volume", "user_error", 1)].into()
    );
    harness.stop().await;
}

/// Waits until every one of `parts` was delivered to `chat` (in any message).
async fn wait_for_delivered(harness: &Harness, chat: i64, parts: &[String]) {
    harness
        .fake
        .wait_until(Duration::from_mins(1), |_| {
            let delivered = harness.fake.delivered_texts(chat).join("\n");
            parts.iter().all(|part| delivered.contains(part.as_str()))
        })
        .await;
}

/// Telegram's limits hold for `chat`: a second between messages, twenty a minute in a group.
fn assert_within_chat_limits(harness: &Harness, chat: i64) {
    let limits = PaceLimits::default();
    let times = harness.fake.message_times(chat);
    for pair in times.windows(2) {
        // The fake sees arrival times, which jitter by the HTTP round trip.
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap + Duration::from_millis(50) >= limits.chat_interval,
            "two messages {gap:?} apart in {chat}"
        );
    }
    for (index, first) in times.iter().enumerate() {
        let in_window = times[index..]
            .iter()
            .take_while(|at| at.duration_since(*first) < limits.group_window)
            .count();
        assert!(
            in_window <= limits.group_messages,
            "{in_window} in a minute"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_fifty_commands_runs_each_on_arrival_and_replies_keep_to_the_limits() {
    let harness = Harness::start_paced().await;
    harness.link_directly(GROUP).await;
    // A current track, so every volume reaches the player.
    harness.say(GROUP, ADMIN, "/play warm up").await;

    let mut arrivals = Vec::new();
    // The burst's own pace: fifty commands over two seconds.
    let mut pace = tokio::time::interval(Duration::from_millis(40));
    for index in 0..50 {
        pace.tick().await;
        let percent: u16 = 21 + index;
        harness.fake.push_update(text_update(
            GROUP,
            ADMIN,
            "Ann",
            &format!("/volume {percent}"),
        ));
        arrivals.push((percent, Instant::now()));
    }
    let answers: Vec<String> = arrivals
        .iter()
        .map(|(percent, _)| format!("Volume set to {percent} %."))
        .collect();
    wait_for_delivered(&harness, GROUP, &answers).await;

    // Each command acted on the player within a second of its arrival.
    let volumes = harness.volumes.lock().unwrap().clone();
    let mut to_effect = Vec::new();
    for (percent, arrived) in &arrivals {
        let (_, acted) = volumes
            .iter()
            .find(|(volume, _)| volume == percent)
            .unwrap_or_else(|| panic!("the player never got volume {percent}"));
        let latency = acted.duration_since(*arrived);
        assert!(
            latency < Duration::from_secs(1),
            "volume {percent} took {latency:?}"
        );
        to_effect.push(latency);
    }
    // Replies are coalesced rather than queued one by one; their latency is printed for
    // docs/BENCHMARKS.md, not asserted.
    let accepted: Vec<_> = harness
        .fake
        .requests_of("sendmessage")
        .into_iter()
        .filter(|request| request.chat_id() == Some(GROUP) && request.accepted())
        .collect();
    let to_reply: Vec<Duration> = arrivals
        .iter()
        .zip(&answers)
        .map(|((_, arrived), answer)| {
            let reply = accepted
                .iter()
                .find(|request| {
                    request
                        .text()
                        .is_some_and(|text| text.contains(answer.as_str()))
                })
                .expect("answered");
            reply.at.duration_since(*arrived)
        })
        .collect();
    report_latencies("command to effect", &mut to_effect);
    report_latencies("command to reply", &mut to_reply.clone());
    eprintln!("messages sent to the chat: {}", accepted.len());
    assert_within_chat_limits(&harness, GROUP);
    harness.stop().await;
}

fn report_latencies(what: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let at = |share: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((latencies.len() - 1) as f64 * share).round() as usize;
        latencies[index]
    };
    eprintln!(
        "{what}: median {:?}, p90 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn button_presses_are_answered_within_a_second_behind_a_backlog() {
    let harness = Harness::start_paced().await;
    // Telegram's spinner gives up after a while; here a second is already too late.
    harness.fake.set_callback_expiry(Duration::from_secs(1));
    harness.link_directly(GROUP).await;
    harness.say(GROUP, ADMIN, "/play warm up").await;
    let player = last_message_id(&harness);
    for percent in 30..60 {
        harness.fake.push_update(text_update(
            GROUP,
            ADMIN,
            "Ann",
            &format!("/volume {percent}"),
        ));
    }
    let presses = [
        "mp:pause",
        "mp:vol+",
        "mp:resume",
        "mp:vol-",
        "mp:loop",
        "mp:pause",
    ];
    for data in presses {
        harness
            .fake
            .push_update(callback_update(GROUP, player, ADMIN, data));
    }
    harness
        .fake
        .wait_until(WAIT, |_| {
            harness.fake.callback_answers().len() == presses.len()
        })
        .await;
    for answer in harness.fake.callback_answers() {
        assert!(answer.accepted, "{answer:?}");
        assert!(answer.delay < Duration::from_secs(1), "{answer:?}");
    }
    // The last press took effect, not just its answer.
    assert_eq!(harness.music.state(guild()).await, PlaybackState::Paused);
    assert_within_chat_limits(&harness, GROUP);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_in_one_chat_delays_only_that_chat() {
    let harness = Harness::start_paced().await;
    harness.fake.retry_after_in_chat(GROUP, 1, 3);
    harness
        .fake
        .push_update(text_update(GROUP, MEMBER, "Mo", "/help"));
    let refused = harness
        .fake
        .wait_until(WAIT, |requests| {
            requests
                .iter()
                .any(|request| request.chat_id() == Some(GROUP) && request.status == 429)
        })
        .await;
    let refused_at = refused
        .iter()
        .find(|request| request.status == 429)
        .map(|request| request.at)
        .unwrap();

    let asked = Instant::now();
    let other = harness.say(OTHER_GROUP, MEMBER, "/help").await;
    assert!(other.contains("/play"), "{other}");
    let other_latency = asked.elapsed();
    assert!(
        other_latency < Duration::from_secs(1),
        "the other chat waited {other_latency:?}"
    );

    harness
        .fake
        .wait_until(WAIT, |_| !harness.fake.delivered_texts(GROUP).is_empty())
        .await;
    let delivered: Vec<_> = harness
        .fake
        .requests_of("sendmessage")
        .into_iter()
        .filter(|request| request.chat_id() == Some(GROUP) && request.accepted())
        .collect();
    assert_eq!(delivered.len(), 1, "delivered once: {delivered:?}");
    assert!(
        delivered[0].at.duration_since(refused_at) >= Duration::from_secs(3),
        "the refused chat waited out its retry_after"
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_skipped_tracks_message_loses_its_buttons_and_says_it_was_skipped() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;
    harness.say(GROUP, ADMIN, "/play first").await;
    let first = last_message_id(&harness);
    harness.say(GROUP, ADMIN, "/play second").await;
    let skipped = harness.say(GROUP, ADMIN, "/skip").await;
    assert!(skipped.contains("Now playing: second"), "{skipped}");
    let edits = harness
        .fake
        .wait_until(WAIT, |requests| {
            requests.iter().any(|request| {
                request.method == "editmessagetext" && request.body["message_id"] == json!(first)
            })
        })
        .await;
    let edit = edits
        .iter()
        .rfind(|request| {
            request.method == "editmessagetext" && request.body["message_id"] == json!(first)
        })
        .unwrap();
    assert_eq!(edit.text(), Some("⏭ Skipped: first"), "{edit:?}");
    assert!(
        edit.body.get("reply_markup").is_none(),
        "no buttons: {edit:?}"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_the_bot_does_not_handle_are_logged_at_debug_without_personal_data() {
    // teloxide logs through the `log` crate: the global subscriber (the only one this test
    // binary installs) takes those records too, as the binary's does.
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("no other global subscriber");

    let harness = Harness::start().await;
    harness.fake.push_update(text_update(
        GROUP,
        MEMBER,
        "Zebediah",
        "an ordinary message about Quillfeather",
    ));
    harness.fake.push_update(text_update(
        GROUP,
        MEMBER,
        "Zebediah",
        "/dance@some_other_bot Quillfeather",
    ));
    // A chat's updates are handled in order: once this is answered, the others were handled.
    harness.say(GROUP, MEMBER, "/help").await;
    harness.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("ignored a Telegram update"), "{logs}");
    for personal in ["Zebediah", "Quillfeather", "u502"] {
        assert!(!logs.contains(personal), "{personal} was logged:\n{logs}");
    }
    assert!(
        !logs
            .lines()
            .any(|line| line.contains("WARN") && line.contains("update")),
        "{logs}"
    );
}

/// A `/play` from the chat while the bot is in no voice channel and none is known is refused
/// with how to start playback, and nothing is queued; with a default channel it joins it.
#[tokio::test]
async fn a_play_with_no_voice_channel_to_join_says_how_to_start_and_queues_nothing() {
    let quick = PaceLimits {
        chat_interval: Duration::from_millis(50),
        group_messages: 1000,
        group_window: Duration::from_mins(1),
        overall_per_second: 1000,
    };
    let harness = Harness::build_with_voice(|_| {}, None, quick, Voice::NoChannel).await;
    harness.link_directly(GROUP).await;
    let refused = harness.say(GROUP, MEMBER, "/play first song").await;
    assert!(
        refused.starts_with("Sorry: I am not in a voice channel")
            && refused.contains("/guildsettings voicechannel"),
        "{refused}"
    );
    assert!(harness.music.now_playing(guild()).await.is_err());
    let queue = harness.music.queue_page(guild(), 1, 10).await.unwrap();
    assert_eq!(queue.total, 0, "nothing was queued");
    harness.stop().await;

    let harness = Harness::build_with_voice(|_| {}, None, quick, Voice::DefaultChannel).await;
    harness.link_directly(GROUP).await;
    let played = harness.say(GROUP, MEMBER, "/play first song").await;
    assert!(played.contains("Now playing: first song"), "{played}");
    assert_eq!(
        harness.music.voice_channel(guild()).await,
        Some(default_voice_channel())
    );
    harness.stop().await;
}

/// The queue commands Telegram gained from the vocabulary: play next, skip to, previous,
/// seek (to a time and relative), remove, move and clear, each with its usage line.
#[tokio::test]
async fn queue_commands_from_the_chat_act_on_the_linked_guilds_queue() {
    let harness = Harness::start().await;
    harness.link_directly(GROUP).await;
    for song in ["one", "two", "three"] {
        harness.say(GROUP, MEMBER, &format!("/play {song}")).await;
    }
    let next = harness.say(GROUP, MEMBER, "/playnext four").await;
    assert!(next.contains("Queued four at position 1"), "{next}");
    let moved = harness.say(GROUP, MEMBER, "/move 1 3").await;
    assert_eq!(moved, "↕ Moved four to position 3.");
    let removed = harness.say(GROUP, MEMBER, "/remove 1").await;
    assert_eq!(removed, "🗑 Removed two.");
    let sought = harness.say(GROUP, MEMBER, "/seek 1:30").await;
    assert_eq!(sought, "⏩ Playing from 1:30.");
    assert!(
        harness
            .say(GROUP, MEMBER, "/seek soon")
            .await
            .starts_with("Usage: /seek <time>")
    );
    let jumped = harness.say(GROUP, MEMBER, "/skipto 2").await;
    assert!(jumped.contains("Now playing: four"), "{jumped}");
    let back = harness.say(GROUP, MEMBER, "/previous").await;
    assert!(back.contains("Now playing: three"), "{back}");
    assert!(
        harness
            .say(GROUP, MEMBER, "/remove 0")
            .await
            .starts_with("Usage: /remove <position>")
    );
    let cleared = harness.say(GROUP, MEMBER, "/clear").await;
    assert!(cleared.starts_with("🧹 Cleared"), "{cleared}");
    let page = harness.music.queue_page(guild(), 1, 10).await.unwrap();
    assert_eq!(page.items.len(), 0, "{page:?}");

    for title in ["five", "six", "five", "seven"] {
        harness.say(GROUP, MEMBER, &format!("/play {title}")).await;
    }
    assert_eq!(
        harness.say(GROUP, MEMBER, "/remove dupes").await,
        "🗑 Removed 1 track(s)."
    );
    let now = harness.say(GROUP, MEMBER, "/playnow eight").await;
    assert!(now.contains("eight"), "{now}");
    assert_eq!(
        harness
            .music
            .now_playing(guild())
            .await
            .unwrap()
            .track
            .title,
        "eight"
    );
    assert_eq!(
        harness.say(GROUP, MEMBER, "/replay").await,
        "⏮ Playing the track again from its start."
    );
    assert_eq!(
        harness.say(GROUP, MEMBER, "/remove 1-2").await,
        "🗑 Removed 2 track(s)."
    );
    assert_eq!(
        harness.say(GROUP, MEMBER, "/remove mine").await,
        "🗑 Removed 1 track(s)."
    );
    let page = harness.music.queue_page(guild(), 1, 10).await.unwrap();
    assert_eq!(page.items.len(), 0, "{page:?}");
    harness.stop().await;
}
