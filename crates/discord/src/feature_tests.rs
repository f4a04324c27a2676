//! The handler against the fake REST API: autocomplete suggestions, the `/filter` select menu,
//! `/preview` attachments (multipart) and the live `/nowplaying` message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use minstrel_app::Actor;
use minstrel_app::ports::{
    LoadProgress, MockHistoryRepo, MockPlayer, MockPlaylistRepo, MockPreviewRenderer,
    MockQueueStore, MockSettingsRepo, MockTrackResolver, PlayerEvent, PlayerEventKind, PreviewClip,
    PreviewRenderer, ProgressSink, QueueSnapshot, QueueStore, ResolveError, StoreError, TrackInfo,
    TrackResolver,
};
use minstrel_domain::{
    AddPosition, ChannelId, GuildId, HistoryEntry, Preset, RequesterId, SourceKind, TrackId, UserId,
};
use minstrel_testkit::discord::{
    FakeMember, FakeRest, RecordedRequest, WAIT, autocomplete, select_menu_choice, slash_command,
};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use twilight_model::application::interaction::Interaction;

use crate::handler::{DiscordServices, InteractionHandler};
use crate::test_support::{ServicePorts, handler};

const GUILD: u64 = 300_000_000_000_000_001;
const MEMBER: u64 = 400_000_000_000_000_001;

fn guild() -> GuildId {
    GuildId::new(GUILD).unwrap()
}

fn info(title: &str, locator: &str) -> TrackInfo {
    TrackInfo {
        title: title.to_owned(),
        artist: Some("Artist".to_owned()),
        duration: Some(Duration::from_mins(3)),
        source_kind: SourceKind::YouTube,
        locator: locator.to_owned(),
        thumbnail: None,
    }
}

/// The mocks a test sets up; everything else answers permissively.
struct Mocks {
    resolver: MockTrackResolver,
    history: MockHistoryRepo,
    player: MockPlayer,
    preview: Option<Arc<dyn PreviewRenderer>>,
    /// Replaces the resolver mock when set.
    custom_resolver: Option<Arc<dyn TrackResolver>>,
    /// Replaces the permissive queue store when set.
    custom_queue_store: Option<Arc<dyn QueueStore>>,
}

/// A queue store whose saves wait while its gate is shut (`false`), like a slow database.
struct GatedQueueStore(tokio::sync::watch::Sender<bool>);

#[async_trait::async_trait]
impl QueueStore for GatedQueueStore {
    async fn save(&self, _: &QueueSnapshot) -> Result<(), StoreError> {
        let _ = self.0.subscribe().wait_for(|open| *open).await;
        Ok(())
    }

    async fn load(&self, _: GuildId) -> Result<Option<QueueSnapshot>, StoreError> {
        Ok(None)
    }

    async fn load_all(&self) -> Result<Vec<QueueSnapshot>, StoreError> {
        Ok(Vec::new())
    }

    async fn delete(&self, _: GuildId) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Mocks {
    fn new() -> Self {
        Self {
            resolver: MockTrackResolver::new(),
            history: MockHistoryRepo::new(),
            player: MockPlayer::new(),
            preview: None,
            custom_resolver: None,
            custom_queue_store: None,
        }
    }

    /// A player that plays anything; its position moves 5 s on at every question.
    fn playing(mut self) -> Self {
        self.resolver
            .expect_resolve()
            .returning(|query| Ok(vec![info(query, &format!("{query}.wav"))]));
        self.resolver
            .expect_resolve_with_progress()
            .returning(|query, _| Ok(vec![info(query, &format!("{query}.wav"))]));
        self.player.expect_join().returning(|_, _| Ok(()));
        self.player
            .expect_play()
            .returning(|_, _, _, _, _, _| Ok(()));
        self.player.expect_stop().returning(|_| Ok(()));
        self.player.expect_set_filters().returning(|_, _| Ok(()));
        let position = AtomicU64::new(0);
        self.player
            .expect_position()
            .returning(move |_| Some(Duration::from_secs(position.fetch_add(5, Ordering::SeqCst))));
        let (sender, _) = broadcast::channel::<PlayerEvent>(4);
        self.player
            .expect_events()
            .returning(move || sender.subscribe());
        self.history.expect_record().returning(|_| Ok(()));
        self
    }

    fn services(mut self) -> DiscordServices {
        let mut settings = MockSettingsRepo::new();
        settings.expect_guild().returning(|_| Ok(None));
        settings.expect_user().returning(|_| Ok(None));
        let mut queue_store = MockQueueStore::new();
        queue_store.expect_save().returning(|_| Ok(()));
        queue_store.expect_delete().returning(|_| Ok(()));
        let mut playlists = MockPlaylistRepo::new();
        playlists.expect_active().returning(|_| Ok(None));
        self.history
            .expect_for_user()
            .returning(|_, _, _| Ok(Vec::new()));
        let mut ports = ServicePorts::new(settings);
        ports.playlists = Arc::new(playlists);
        ports.resolver = match self.custom_resolver {
            Some(resolver) => resolver,
            None => Arc::new(self.resolver),
        };
        ports.history = Arc::new(self.history);
        ports.player = Arc::new(self.player);
        ports.queue_store = self
            .custom_queue_store
            .unwrap_or_else(|| Arc::new(queue_store));
        ports.preview = self.preview;
        ports.services()
    }
}

fn parse(value: &Value) -> Interaction {
    serde_json::from_value(value.clone()).unwrap()
}

fn member() -> FakeMember {
    FakeMember::new(MEMBER, "ada")
}

async fn command(handler: &InteractionHandler, id: u64, name: &str, options: &Value) {
    let value = slash_command(id, &format!("token-{id}"), GUILD, &member(), name, options);
    Box::pin(handler.handle(parse(&value))).await;
}

async fn start_playing(services: &DiscordServices) -> TrackId {
    let outcome = services
        .music
        .play(guild(), &Actor::console(), "tone", AddPosition::End)
        .await
        .unwrap();
    outcome.started.unwrap().id
}

fn choices(callback: &RecordedRequest) -> Vec<(String, String)> {
    assert_eq!(callback.body["type"], json!(8), "{}", callback.body);
    callback.body["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|choice| {
            (
                choice["name"].as_str().unwrap().to_owned(),
                choice["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn autocomplete_offers_history_then_search_results_within_discords_limits() {
    let rest = FakeRest::start().await;
    let mut mocks = Mocks::new();
    let long_title = "a very long title ".repeat(10);
    mocks
        .resolver
        .expect_search()
        .withf(|words, limit| words == "lofi" && *limit == 25)
        .times(1)
        .returning(move |_, _| {
            Ok((0..30)
                .map(|index| {
                    info(
                        &format!("{long_title}{index}"),
                        &format!("https://www.youtube.com/watch?v=id{index}"),
                    )
                })
                .collect())
        });
    mocks.history.expect_for_user().returning(|_, _, _| {
        Ok(vec![HistoryEntry {
            guild_id: guild(),
            requester: RequesterId::Discord(UserId::new(MEMBER).unwrap()),
            title: "Lofi Girl radio".to_owned(),
            locator: "https://www.youtube.com/watch?v=history".to_owned(),
            duration: None,
            played_at: SystemTime::UNIX_EPOCH,
        }])
    });
    let handler = handler(mocks.services(), &rest);

    let typed = |id: u64, text: &str| {
        parse(&autocomplete(
            id,
            "token-ac",
            GUILD,
            &member(),
            "play",
            "query",
            text,
        ))
    };
    Box::pin(handler.handle(typed(11, "lofi"))).await;
    let found = choices(&rest.wait_for_callback(11).await);
    assert_eq!(found.len(), 25);
    assert_eq!(found[0].0, "Lofi Girl radio", "history first: {found:?}");
    for (name, value) in &found {
        assert!(name.chars().count() <= 100 && value.chars().count() <= 100);
    }
    assert!(found[1].0.ends_with('…'), "{found:?}");
    assert_eq!(found[1].1, "https://www.youtube.com/watch?v=id0");

    // The same words again: from the cache (the search mock allows one call).
    Box::pin(handler.handle(typed(12, "lofi"))).await;
    assert_eq!(choices(&rest.wait_for_callback(12).await).len(), 25);

    // A link is offered back as it is; nothing is searched.
    Box::pin(handler.handle(typed(13, "https://youtu.be/abc"))).await;
    assert_eq!(
        choices(&rest.wait_for_callback(13).await),
        [(
            "https://youtu.be/abc".to_owned(),
            "https://youtu.be/abc".to_owned()
        )]
    );
    let too_long = format!("https://example.com/{}", "x".repeat(120));
    Box::pin(handler.handle(typed(14, &too_long))).await;
    assert!(choices(&rest.wait_for_callback(14).await).is_empty());

    // Nothing typed: the member's recent tracks, no search.
    Box::pin(handler.handle(typed(15, ""))).await;
    assert_eq!(
        choices(&rest.wait_for_callback(15).await),
        [(
            "Lofi Girl radio".to_owned(),
            "https://www.youtube.com/watch?v=history".to_owned()
        )]
    );
}

/// Well inside Discord's 3 s deadline for an interaction's first answer.
const ACKNOWLEDGED_AT_ONCE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_menu_is_acknowledged_at_once_then_applies_a_preset_and_redraws_its_message() {
    let rest = FakeRest::start().await;
    let mut mocks = Mocks::new().playing();
    let (gate, _) = tokio::sync::watch::channel(true);
    mocks.custom_queue_store = Some(Arc::new(GatedQueueStore(gate.clone())));
    let handler = Arc::new(handler(mocks.services(), &rest));

    command(&handler, 21, "filter", &json!([])).await;
    let edit = rest.wait_for_original_edit("token-21").await;
    let menu = &edit.body["components"][0]["components"][0];
    assert_eq!(menu["type"], json!(3), "{}", edit.body);
    assert_eq!(menu["custom_id"], json!("filter:preset"));
    assert_eq!(menu["options"].as_array().unwrap().len(), Preset::ALL.len());

    let choose = |id: u64, value: &str| {
        parse(&select_menu_choice(
            id,
            &format!("token-{id}"),
            GUILD,
            &member(),
            "filter:preset",
            &[value],
        ))
    };
    // While saving the queue hangs (a slow database), the choice is still
    // acknowledged at once: Discord's 3 s deadline must not depend on the filter change.
    gate.send_replace(false);
    let sent = std::time::Instant::now();
    let chosen = tokio::spawn({
        let handler = Arc::clone(&handler);
        let choice = choose(22, "nightcore");
        async move { Box::pin(handler.handle(choice)).await }
    });
    let callback = rest.wait_for_callback(22).await;
    // Type 6: acknowledged, the menu's message is edited afterwards.
    assert_eq!(callback.body["type"], json!(6), "{}", callback.body);
    let waited = callback.at.duration_since(sent);
    assert!(
        waited < ACKNOWLEDGED_AT_ONCE,
        "acknowledged after {waited:?}"
    );
    assert!(
        !rest.requests().iter().any(
            |request| request.is_original_edit() && request.path_segment(5) == Some("token-22")
        ),
        "the menu was redrawn before the filter was applied"
    );
    gate.send_replace(true);
    chosen.await.unwrap();
    let edit = rest.wait_for_original_edit("token-22").await;
    let said = edit.embed_description().unwrap();
    assert!(
        said.contains("Nightcore added by ada") && said.contains("Active filters: nightcore"),
        "{said}"
    );
    assert_eq!(
        edit.body["components"][0]["components"][0]["type"],
        json!(3)
    );
    assert_eq!(
        handler_filters(&handler).await,
        Preset::Nightcore.spec(),
        "applied through the use case"
    );

    // An unknown value: only the chooser hears why (ephemeral), the menu stays.
    Box::pin(handler.handle(choose(23, "warp speed"))).await;
    let callback = rest.wait_for_callback(23).await;
    assert_eq!(callback.body["type"], json!(6), "{}", callback.body);
    let followup = rest
        .wait_for("the follow-up of interaction 23", |request| {
            request.is_followup() && request.path_segment(5) == Some("token-23")
        })
        .await;
    assert_eq!(followup.body["flags"], json!(64), "{}", followup.body);
    assert!(followup.embed_description().unwrap().contains("warp speed"));
    assert!(
        !rest.requests().iter().any(
            |request| request.is_original_edit() && request.path_segment(5) == Some("token-23")
        ),
        "the menu stays as it was"
    );

    // The options of /filter still work without the menu.
    command(
        &handler,
        24,
        "filter",
        &json!([{"name": "speed", "type": 10, "value": 1.5}]),
    )
    .await;
    let edit = rest.wait_for_original_edit("token-24").await;
    assert!(
        edit.embed_description().unwrap().contains("timescale"),
        "{:?}",
        edit.body
    );
}

async fn handler_filters(handler: &InteractionHandler) -> minstrel_domain::FilterSpec {
    handler.services().filters.active(guild()).await.unwrap()
}

#[tokio::test]
async fn a_preview_is_sent_as_a_wav_attachment_in_a_multipart_edit() {
    let rest = FakeRest::start().await;
    let wav: Vec<u8> = b"RIFF\x00\x01WAVEfmt binary \x00\xff\r\n--not-a-boundary".to_vec();
    let clip = PreviewClip {
        wav: wav.clone(),
        duration: Duration::from_secs(10),
    };
    let mut renderer = MockPreviewRenderer::new();
    renderer
        .expect_render()
        .withf(|_, _, length, filters, _| {
            *length == Duration::from_secs(10) && *filters == Preset::Nightcore.spec()
        })
        .times(1)
        .returning(move |_, _, _, _, _| Ok(clip.clone()));
    let mut mocks = Mocks::new().playing();
    mocks.preview = Some(Arc::new(renderer));
    let services = mocks.services();
    let handler = handler(services.clone(), &rest);

    // Nothing playing: a clear sentence, no file.
    command(&handler, 31, "preview", &json!([])).await;
    let edit = rest.wait_for_original_edit("token-31").await;
    assert_eq!(
        edit.embed_description().as_deref(),
        Some("Nothing is playing.")
    );
    assert!(edit.files.is_empty());

    start_playing(&services).await;
    command(
        &handler,
        32,
        "preview",
        &json!([{"name": "preset", "type": 3, "value": "nightcore"}]),
    )
    .await;
    let edit = rest.wait_for_original_edit("token-32").await;
    assert_eq!(edit.files.len(), 1, "{:?}", edit.body);
    assert_eq!(edit.files[0].filename, "nightcore.wav");
    assert_eq!(edit.files[0].field, "files[0]");
    assert_eq!(edit.files[0].bytes, wav, "the file arrives byte for byte");
    assert_eq!(
        edit.body["attachments"][0]["filename"],
        json!("nightcore.wav")
    );
    assert!(
        edit.embed_description().unwrap().contains("nightcore"),
        "{:?}",
        edit.body
    );
}

fn edits_of<'a>(requests: &'a [RecordedRequest], token: &str) -> Vec<&'a RecordedRequest> {
    requests
        .iter()
        .filter(|request| request.is_original_edit() && request.path_segment(5) == Some(token))
        .collect()
}

/// The `m:ss/` position in a now-playing description.
fn shown_position(edit: &RecordedRequest) -> String {
    let text = edit.embed_description().unwrap();
    let start = text.find('`').unwrap() + 1;
    let end = text[start..].find('/').unwrap() + start;
    text[start..end].to_owned()
}

async fn wait_for_edits(rest: &FakeRest, token: &str, count: usize) -> Vec<RecordedRequest> {
    rest.wait_for_count(&format!("{count} edits of {token}"), count, |request| {
        request.is_original_edit() && request.path_segment(5) == Some(token)
    })
    .await
}

#[tokio::test]
async fn the_now_playing_message_moves_on_while_the_track_plays_and_stops_after_it() {
    let rest = FakeRest::start().await;
    let services = Mocks::new().playing().services();
    let handler =
        handler(services.clone(), &rest).with_now_playing_interval(Duration::from_millis(50));
    let track = start_playing(&services).await;

    command(&handler, 41, "nowplaying", &json!([])).await;
    let edits = wait_for_edits(&rest, "token-41", 3).await;
    let positions: Vec<String> = edits.iter().map(shown_position).collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] != pair[1]),
        "every edit shows a later position: {positions:?}"
    );

    // A newer /nowplaying takes over: the first message stops changing.
    command(&handler, 42, "nowplaying", &json!([])).await;
    wait_for_edits(&rest, "token-42", 2).await;
    let first = edits_of(&rest.requests(), "token-41").len();
    wait_for_edits(&rest, "token-42", 4).await;
    assert_eq!(edits_of(&rest.requests(), "token-41").len(), first);

    // The track ends: the updates stop (or this waits forever and the timeout fails).
    services
        .music
        .handle_player_event(PlayerEvent {
            guild: guild(),
            track,
            kind: PlayerEventKind::Finished,
        })
        .await;
    tokio::time::timeout(WAIT, handler.live_stopped(guild()))
        .await
        .expect("the live updates stop when the track ends");
    let after = edits_of(&rest.requests(), "token-42").len();
    // Another /nowplaying now says nothing plays, and starts nothing live.
    command(&handler, 43, "nowplaying", &json!([])).await;
    let edit = rest.wait_for_original_edit("token-43").await;
    assert_eq!(
        edit.embed_description().as_deref(),
        Some("Nothing is playing.")
    );
    tokio::time::timeout(WAIT, handler.live_stopped(guild()))
        .await
        .unwrap();
    assert_eq!(edits_of(&rest.requests(), "token-42").len(), after);
}

/// A playlist loaded in three pages; each page waits for the test's go-ahead.
struct PagedPlaylist {
    pages: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<()>>,
}

#[async_trait::async_trait]
impl TrackResolver for PagedPlaylist {
    async fn resolve(&self, _: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        Err(ResolveError::Internal(
            "the handler must ask for progress".to_owned(),
        ))
    }

    async fn resolve_with_progress(
        &self,
        _: &str,
        progress: ProgressSink,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        let mut pages = self.pages.lock().await;
        for loaded in [100, 200, 250] {
            progress(LoadProgress {
                loaded,
                cap: 500,
                done: loaded == 250,
                skipped: 0,
            });
            if loaded < 250 {
                pages.recv().await;
            }
        }
        Ok((0..250)
            .map(|index| info(&format!("Track {index}"), &format!("t{index}.wav")))
            .collect())
    }
}

#[tokio::test]
async fn a_long_playlist_shows_how_far_it_has_loaded_before_the_answer() {
    let rest = FakeRest::start().await;
    let (next_page, pages) = tokio::sync::mpsc::unbounded_channel();
    let mut mocks = Mocks::new().playing();
    mocks.custom_resolver = Some(Arc::new(PagedPlaylist {
        pages: tokio::sync::Mutex::new(pages),
    }));
    let handler = Arc::new(handler(mocks.services(), &rest));
    handler.voice_states().update(
        guild(),
        UserId::new(MEMBER).unwrap(),
        Some(ChannelId::new(600_000_000_000_000_001).unwrap()),
        false,
    );

    let playlist = "https://www.youtube.com/playlist?list=PL1";
    let running = tokio::spawn({
        let handler = Arc::clone(&handler);
        async move {
            command(
                &handler,
                31,
                "play",
                &json!([{"name": "query", "type": 3, "value": playlist}]),
            )
            .await;
        }
    });
    let edit_saying = |text: &'static str| {
        rest.wait_for("a progress edit", move |request| {
            request.is_original_edit()
                && request.path_segment(5) == Some("token-31")
                && request
                    .embed_description()
                    .is_some_and(|said| said.contains(text))
        })
    };
    let first = edit_saying("100 track(s) found so far").await;
    assert!(first.embed_description().unwrap().contains("at most 500"));
    next_page.send(()).unwrap();
    edit_saying("200 track(s) found so far").await;
    next_page.send(()).unwrap();
    edit_saying("Queued 249 tracks").await;
    running.await.unwrap();
    // The finished load is not shown as progress: the answer is the last edit.
    let last = rest
        .requests()
        .into_iter()
        .rfind(RecordedRequest::is_original_edit)
        .unwrap();
    assert!(
        last.embed_description()
            .unwrap()
            .contains("Queued 249 tracks"),
        "{:?}",
        last.body
    );
}

fn filters_sub(sub: &str, options: &Value) -> Value {
    json!([{"name": sub, "type": 1, "options": options}])
}

#[tokio::test]
async fn one_filter_is_set_shown_and_removed_with_filters_sub_commands() {
    let rest = FakeRest::start().await;
    let services = Mocks::new().playing().services();
    let handler = handler(services.clone(), &rest);
    start_playing(&services).await;
    let said = |token: &'static str| {
        let rest = &rest;
        async move {
            rest.wait_for_original_edit(token)
                .await
                .embed_description()
                .unwrap()
        }
    };

    command(
        &handler,
        51,
        "filter",
        &json!([{"name": "preset", "type": 3, "value": "8d"}]),
    )
    .await;
    let preset = said("token-51").await;
    assert!(preset.contains("Active filters: 8d."), "{preset}");

    let set = filters_sub(
        "set",
        &json!([
            {"name": "filter", "type": 3, "value": "distortion"},
            {"name": "params", "type": 3, "value": "sinOffset=0.1 scale=2"},
        ]),
    );
    command(&handler, 52, "filters", &set).await;
    let reply = said("token-52").await;
    assert!(
        reply.contains("`distortion sinOffset=0.1 sinScale=1")
            && reply.contains("scale=2`")
            && reply.contains("`rotation rotationHz=0.2 (8d)`"),
        "{reply}"
    );
    let live = handler_filters(&handler).await;
    let distortion = live.distortion.unwrap();
    assert_eq!((distortion.sin_offset, distortion.scale), (0.1, 2.0));

    let mix = filters_sub(
        "set",
        &json!([
            {"name": "filter", "type": 3, "value": "channelMix"},
            {"name": "params", "type": 3, "value": "leftToRight=0.5 rightToLeft=0.5"},
        ]),
    );
    command(&handler, 53, "filters", &mix).await;
    said("token-53").await;
    command(&handler, 54, "filters", &filters_sub("show", &json!([]))).await;
    let shown = said("token-54").await;
    assert!(
        shown.contains("`channelMix leftToLeft=1 leftToRight=0.5 rightToLeft=0.5 rightToRight=1`")
            && shown.contains("`reverb roomSize=0.3 damping=0.5 wet=0.15 (8d)`"),
        "{shown}"
    );

    let remove = filters_sub(
        "remove",
        &json!([{"name": "filter", "type": 3, "value": "reverb"}]),
    );
    command(&handler, 55, "filters", &remove).await;
    let removed = said("token-55").await;
    assert_eq!(
        removed,
        "`reverb` is off. Active filters: rotation, distortion, channelMix."
    );
    let live = handler_filters(&handler).await;
    assert_eq!(live.reverb, None);
    assert!(live.rotation.is_some() && live.channel_mix.is_some());

    let wrong = filters_sub(
        "set",
        &json!([
            {"name": "filter", "type": 3, "value": "distortion"},
            {"name": "params", "type": 3, "value": "sinOffset=11"},
        ]),
    );
    command(&handler, 56, "filters", &wrong).await;
    let refused = said("token-56").await;
    assert!(
        refused.contains("sinOffset must be between -10 and 10 (got 11)"),
        "{refused}"
    );
    assert_eq!(handler_filters(&handler).await, live, "nothing changed");
}

#[tokio::test]
async fn help_lists_every_command_discord_offers_with_its_arguments() {
    let rest = FakeRest::start().await;
    let services = Mocks::new().services();
    let handler = handler(services, &rest);
    command(&handler, 61, "help", &json!([])).await;
    let listed = rest
        .wait_for_original_edit("token-61")
        .await
        .embed_description()
        .unwrap();
    for id in minstrel_app::vocabulary::CommandId::ALL {
        match crate::parity::surface(id) {
            minstrel_app::vocabulary::Surface::Offered(name) => {
                assert!(
                    listed.contains(&format!("/{name}")),
                    "/{name} missing:\n{listed}"
                );
            }
            minstrel_app::vocabulary::Surface::Absent(_) => {}
        }
    }
    assert!(
        listed.contains("/volume <0-200> — set the volume"),
        "{listed}"
    );
    assert!(
        listed.len() <= 4096,
        "over an embed's limit: {}",
        listed.len()
    );
}

#[tokio::test]
async fn filter_options_apply_together_and_a_bad_one_changes_nothing() {
    let rest = FakeRest::start().await;
    let services = Mocks::new().playing().services();
    let handler = handler(services.clone(), &rest);
    start_playing(&services).await;

    command(
        &handler,
        61,
        "filter",
        &json!([
            {"name": "preset", "type": 3, "value": "nightcore"},
            {"name": "rotation", "type": 10, "value": 0.2},
            {"name": "tremolo_depth", "type": 10, "value": 0.9},
            {"name": "karaoke", "type": 5, "value": true},
        ]),
    )
    .await;
    let said = rest
        .wait_for_original_edit("token-61")
        .await
        .embed_description()
        .unwrap();
    assert!(
        said.contains("nightcore") && said.contains("karaoke"),
        "{said}"
    );
    let live = handler_filters(&handler).await;
    assert_eq!(live.timescale, Preset::Nightcore.spec().timescale);
    assert_eq!(live.karaoke, Preset::Karaoke.spec().karaoke);
    assert!(live.rotation.is_some());
    assert_eq!(
        live.tremolo.map(|tremolo| tremolo.depth.to_bits()),
        Some(0.9_f32.to_bits())
    );

    command(
        &handler,
        62,
        "filter",
        &json!([
            {"name": "speed", "type": 10, "value": 2.0},
            {"name": "equalizer", "type": 3, "value": "99:0.1"},
        ]),
    )
    .await;
    let refused = rest
        .wait_for_original_edit("token-62")
        .await
        .embed_description()
        .unwrap();
    assert!(refused.contains("99"), "{refused}");
    assert_eq!(
        handler_filters(&handler).await,
        live,
        "the speed did not change without the equalizer"
    );
}
