//! The console against the real use cases with mocked ports.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use minstrel_app::ports::{
    InProcessEventBus, MockClock, MockHistoryRepo, MockPlayer, MockPlaylistRepo, MockQueueStore,
    MockSettingsRepo, MockTrackResolver, ResolveError, TrackInfo,
};
use minstrel_app::{
    FilterService, HistoryService, MusicPorts, MusicService, PlaylistService, RateLimit,
    SettingsService,
};
use minstrel_domain::{FilterSpec, GuildSettings, SourceKind};
use tokio::sync::broadcast;

use crate::{Console, ConsoleServices, Mode, ReplyAction};

fn info(title: &str) -> TrackInfo {
    TrackInfo {
        title: title.to_owned(),
        artist: None,
        duration: Some(Duration::from_secs(95)),
        source_kind: SourceKind::Local,
        locator: format!("{title}.wav"),
        thumbnail: None,
    }
}

fn console(resolver: MockTrackResolver, player: MockPlayer) -> Console {
    let mut settings = MockSettingsRepo::new();
    settings.expect_guild().returning(|_| Ok(None));
    settings.expect_user().returning(|_| Ok(None));
    console_with_settings(resolver, player, settings)
}

fn console_with_settings(
    resolver: MockTrackResolver,
    player: MockPlayer,
    settings: MockSettingsRepo,
) -> Console {
    let mut queue_store = MockQueueStore::new();
    queue_store.expect_save().returning(|_| Ok(()));
    let mut clock = MockClock::new();
    clock.expect_now().return_const(SystemTime::UNIX_EPOCH);
    let resolver: Arc<MockTrackResolver> = Arc::new(resolver);
    let playlists: Arc<MockPlaylistRepo> = Arc::new(MockPlaylistRepo::new());
    let settings = Arc::new(settings);
    let history = Arc::new(MockHistoryRepo::new());
    let events = Arc::new(InProcessEventBus::default());
    let music = Arc::new(MusicService::new(
        MusicPorts {
            resolver: resolver.clone(),
            player: Arc::new(player),
            settings: settings.clone(),
            playlists: playlists.clone(),
            history: history.clone(),
            queue_store: Arc::new(queue_store),
            events: events.clone(),
            clock: Arc::new(clock),
        },
        RateLimit::default(),
    ));
    Console::new(ConsoleServices {
        music: music.clone(),
        filters: FilterService::new(music.clone()),
        playlists: Arc::new(PlaylistService::new(playlists, resolver, music.clone())),
        settings: Arc::new(SettingsService::new(settings, music)),
        history: Arc::new(HistoryService::new(history)),
        events,
    })
}

fn playing_player() -> MockPlayer {
    let mut player = MockPlayer::new();
    player.expect_play().returning(|_, _, _, _, _, _| Ok(()));
    player.expect_set_filters().returning(|_, _| Ok(()));
    player
        .expect_position()
        .returning(|_| Some(Duration::from_secs(30)));
    let (sender, _) = broadcast::channel(4);
    player.expect_events().returning(move || sender.subscribe());
    player
}

#[tokio::test]
async fn play_then_queue_then_np() {
    let resolver = resolving();
    let console = console(resolver, playing_player());
    assert_eq!(
        console.execute("play first").await.text,
        "playing first [1:35]"
    );
    assert_eq!(
        console.execute("play second").await.text,
        "queued second [1:35] at position 1"
    );
    let queue = console.execute("queue").await.text;
    assert!(
        queue.starts_with("now: first [1:35]\n  1. second [1:35]"),
        "{queue}"
    );
    assert!(queue.contains("page 1/1 · 1 track(s) · 1:35"), "{queue}");
    let now = console.execute("np").await.text;
    assert!(now.starts_with("playing first [======"), "{now}");
    assert!(now.contains("0:30/1:35"), "{now}");
    assert_eq!(
        console.execute("filter nightcore").await.text,
        "filters: nightcore",
        "the reply names the preset chosen, not its effects"
    );
}

#[tokio::test]
async fn play_now_replay_and_removing_many_tracks_at_once() {
    let resolver = resolving();
    let mut player = playing_player();
    player.expect_seek().returning(|_, _| Ok(()));
    player.expect_stop().returning(|_| Ok(()));
    let console = console(resolver, player);
    for title in ["first", "a", "b", "a", "c", "d"] {
        console.execute(&format!("play {title}")).await;
    }

    assert_eq!(
        console.execute("remove dupes").await.text,
        "removed 1 track(s)"
    );
    assert_eq!(
        console.execute("remove 2-3").await.text,
        "removed 2 track(s)"
    );
    assert_eq!(
        console.execute("replay").await.text,
        "playing it again from the start"
    );
    let now = console.execute("playnow later").await.text;
    assert_eq!(now, "playing later [1:35]");
    let queue = console.execute("queue").await.text;
    assert!(
        queue.starts_with("now: later [1:35]\n  1. a [1:35]\n  2. d [1:35]"),
        "{queue}"
    );
    assert_eq!(
        console.execute("remove mine").await.text,
        "removed 2 track(s)"
    );
    assert_eq!(
        console.execute("remove 5-2").await.text,
        "usage: remove <position>|<from>-<to>|dupes|mine (positions start at 1, as the queue shows them)"
    );
}

fn recording_player(sent: &Arc<Mutex<Vec<FilterSpec>>>) -> MockPlayer {
    let mut player = MockPlayer::new();
    player.expect_play().returning(|_, _, _, _, _, _| Ok(()));
    let log = Arc::clone(sent);
    player.expect_set_filters().returning(move |_, spec| {
        log.lock().unwrap().push(spec);
        Ok(())
    });
    let (sender, _) = broadcast::channel(4);
    player.expect_events().returning(move || sender.subscribe());
    player
}

fn resolving() -> MockTrackResolver {
    let mut resolver = MockTrackResolver::new();
    resolver
        .expect_resolve()
        .returning(|query| Ok(vec![info(query)]));
    resolver
}

#[tokio::test]
async fn one_filter_is_set_shown_and_removed_by_name() {
    let sent: Arc<Mutex<Vec<FilterSpec>>> = Arc::default();
    let console = console(resolving(), recording_player(&sent));
    console.execute("play first").await;

    assert_eq!(console.execute("filter 8d").await.text, "filters: 8d");
    assert_eq!(
        console
            .execute("filter set distortion sinOffset=0.1 scale=2")
            .await
            .text,
        "filters:\n  rotation rotationHz=0.2 (8d)\n  distortion sinOffset=0.1 sinScale=1 \
         cosOffset=0 cosScale=1 tanOffset=0 tanScale=1 offset=0 scale=2\n  \
         reverb roomSize=0.3 damping=0.5 wet=0.15 (8d)"
    );
    let distortion = sent.lock().unwrap().last().unwrap().distortion.unwrap();
    assert_eq!((distortion.sin_offset, distortion.scale), (0.1, 2.0));

    console
        .execute("filter set channelMix leftToRight=0.5 rightToLeft=0.5")
        .await;
    console.execute("filter eq 0=0.2").await;
    let show = console.execute("filter show").await.text;
    assert!(
        show.contains("channelMix leftToLeft=1 leftToRight=0.5 rightToLeft=0.5 rightToRight=1")
            && show.contains("equalizer 0=0.2"),
        "{show}"
    );

    assert_eq!(
        console.execute("filter remove reverb").await.text,
        "reverb off; filters: equalizer, rotation, distortion, channelMix"
    );
    let last = *sent.lock().unwrap().last().unwrap();
    assert_eq!(last.reverb, None);
    assert!(last.rotation.is_some() && last.distortion.is_some());
}

#[tokio::test]
async fn a_bad_filter_setting_names_what_is_allowed() {
    let sent: Arc<Mutex<Vec<FilterSpec>>> = Arc::default();
    let console = console(resolving(), recording_player(&sent));
    console.execute("play first").await;
    assert_eq!(
        console
            .execute("filter set distortion sinOffset=11")
            .await
            .text,
        "error: distortion: sinOffset must be between -10 and 10 (got 11)"
    );
    let unknown = console.execute("filter set wobble x=1").await.text;
    assert!(
        unknown.starts_with("error: unknown filter \"wobble\"") && unknown.contains("channelMix"),
        "{unknown}"
    );
    let key = console.execute("filter set karaoke pitch=1").await.text;
    assert!(
        key.contains("karaoke has no parameter \"pitch\"") && key.contains("monoLevel"),
        "{key}"
    );
    assert!(
        console
            .execute("filter remove")
            .await
            .text
            .ends_with("(e.g. remove reverb)")
    );
    assert!(
        sent.lock().unwrap().is_empty(),
        "nothing reached the player"
    );
}

#[tokio::test]
async fn history_lists_what_this_player_played_newest_first() {
    let mut player = playing_player();
    player.expect_stop().returning(|_| Ok(()));
    let console = console(resolving(), player);
    assert_eq!(console.execute("history").await.text, "nothing played yet");
    console.execute("play first").await;
    console.execute("play second").await;
    console.execute("play third").await;
    console.execute("skip").await;
    console.execute("skip").await;
    assert_eq!(
        console.execute("history").await.text,
        "played lately, newest first:\n  1. second [1:35]\n  2. first [1:35]"
    );
    assert_eq!(
        console.execute("history 2").await.text,
        "no tracks on that page"
    );
}

#[tokio::test]
async fn mistakes_get_one_clear_sentence() {
    let mut resolver = MockTrackResolver::new();
    resolver
        .expect_resolve()
        .returning(|query| Err(ResolveError::NotFound(query.to_owned())));
    let console = console(resolver, MockPlayer::new());
    assert_eq!(
        console.execute("play nothing here").await.text,
        "error: nothing found for \"nothing here\""
    );
    assert_eq!(
        console.execute("volume loud").await.text,
        "usage: volume <0-200> (a percentage, e.g. 80)"
    );
    assert_eq!(
        console.execute("volume 300").await.text,
        "error: volume must be between 0 and 200 % (got 300)"
    );
    assert_eq!(
        console.execute("remove 0").await.text,
        "usage: remove <position>|<from>-<to>|dupes|mine (positions start at 1, as the queue shows them)"
    );
    assert!(
        console
            .execute("filter chipmunk")
            .await
            .text
            .contains("unknown preset \"chipmunk\"")
    );
    assert_eq!(
        console.execute("pause").await.text,
        "error: nothing is playing"
    );
    assert_eq!(
        console.execute("dance").await.text,
        "unknown command \"dance\"; type `help` for the list"
    );
    assert!(console.execute("help").await.text.contains("playnext"));
}

#[tokio::test]
async fn quit_and_wait_actions() {
    let console = console(MockTrackResolver::new(), MockPlayer::new());
    assert_eq!(
        console.execute("quit").await.action,
        ReplyAction::Quit { now: false }
    );
    assert_eq!(
        console.execute("quit!").await.action,
        ReplyAction::Quit { now: true }
    );
    assert_eq!(console.execute("wait").await.action, ReplyAction::Wait);
}

#[tokio::test]
async fn a_script_runs_to_the_end_of_input() {
    let console = console(MockTrackResolver::new(), MockPlayer::new());
    let mut output = Vec::new();
    let script: &[u8] = b"dance\nvolume 50\n";
    console
        .run(script, &mut output, Mode::Script)
        .await
        .unwrap();
    let output = String::from_utf8(output).unwrap();
    assert_eq!(
        output,
        "unknown command \"dance\"; type `help` for the list\nvolume set to 50 %\n"
    );
}

#[tokio::test]
async fn settings_turn_normalisation_off_for_the_next_track() {
    let stored: Arc<Mutex<Option<GuildSettings>>> = Arc::default();
    let mut settings = MockSettingsRepo::new();
    let read = Arc::clone(&stored);
    settings
        .expect_guild()
        .returning(move |_| Ok(read.lock().unwrap().clone()));
    settings.expect_user().returning(|_| Ok(None));
    let write = Arc::clone(&stored);
    settings.expect_save_guild().returning(move |saved| {
        *write.lock().unwrap() = Some(saved.clone());
        Ok(())
    });
    let normalise_flags: Arc<Mutex<Vec<bool>>> = Arc::default();
    let log_of_plays = Arc::clone(&normalise_flags);
    let mut player = MockPlayer::new();
    player
        .expect_play()
        .returning(move |_, _, _, _, _, options| {
            log_of_plays.lock().unwrap().push(options.normalise);
            Ok(())
        });
    let (sender, _) = broadcast::channel(4);
    player.expect_events().returning(move || sender.subscribe());
    let resolver = resolving();
    let console = console_with_settings(resolver, player, settings);

    assert_eq!(console.execute("settings").await.text, "normalisation: on");
    assert_eq!(
        console.execute("settings normalisation off").await.text,
        "normalisation: off (from the next track)"
    );
    assert_eq!(console.execute("settings").await.text, "normalisation: off");
    assert_eq!(
        console.execute("settings normalisation loud").await.text,
        "usage: settings normalisation on|off"
    );
    assert_eq!(
        console.execute("settings volume 3").await.text,
        "usage: settings [normalisation on|off]"
    );
    console.execute("play first").await;

    assert_eq!(*normalise_flags.lock().unwrap(), [false]);
    assert_eq!(
        stored.lock().unwrap().as_ref().map(|s| s.normalisation),
        Some(false)
    );
}
