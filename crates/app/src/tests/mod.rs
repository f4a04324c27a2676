//! Use-case tests: every service driven through mockall mocks of its ports.
//!
//! [`Fixture`] holds one mock per port. A test sets the expectations it cares about, then calls
//! [`Fixture::build`], which adds permissive defaults *after* them (mockall matches in FIFO
//! order and skips expectations that are done), so a test's own expectations win. Defaults of a
//! port can be switched off through [`Defaults`] when a test needs exact call counts on it.
//! The permissive player and store defaults log what they were asked, so tests can assert on the
//! exact calls without restating expectations.

mod autoplay;
mod filters;
mod long_playlists;
mod music;
mod opening;
mod player_events;
mod playlists;
mod preview;
mod queue_control;
mod recent;
mod remote_play;
mod settings;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use minstrel_domain::{
    AddPosition, ChannelId, DomainEvent, FilterSpec, GuildId, GuildSettings, HistoryEntry,
    Requester, RequesterId, RoleId, SourceKind, Track, TrackId, UserId, Volume,
};
use tokio::sync::broadcast;

use crate::music::{MusicPorts, MusicService};
use crate::policy::{Actor, RateLimit};
use crate::ports::{
    EventBus, InProcessEventBus, MockClock, MockHistoryRepo, MockPlayer, MockPlaylistRepo,
    MockQueueStore, MockRelatedTracks, MockSettingsRepo, MockTrackResolver, OpenOptions,
    PlayerEvent, QueueSnapshot, TrackInfo, TrackResolver,
};

/// The guild every test plays in.
fn guild() -> GuildId {
    GuildId::new(1).unwrap()
}

fn voice_channel() -> ChannelId {
    ChannelId::new(10).unwrap()
}

fn dj_role() -> RoleId {
    RoleId::new(99).unwrap()
}

fn user_id(id: u64) -> UserId {
    UserId::new(id).unwrap()
}

fn requester(id: u64) -> Requester {
    Requester {
        id: RequesterId::Discord(user_id(id)),
        display_name: format!("user{id}"),
    }
}

/// A Discord member without roles or admin rights.
fn member(id: u64) -> Actor {
    Actor::member(requester(id), Vec::new(), false)
}

/// A Discord member with the DJ role.
fn dj(id: u64) -> Actor {
    Actor::member(requester(id), vec![dj_role()], false)
}

/// A Discord member with Manage Server.
fn admin(id: u64) -> Actor {
    Actor::member(requester(id), Vec::new(), true)
}

fn volume(percent: i64) -> Volume {
    Volume::new(percent).unwrap()
}

/// What a resolver returns for `title`: three minutes long, a local file.
fn info(title: &str) -> TrackInfo {
    TrackInfo {
        title: title.to_owned(),
        artist: None,
        duration: Some(Duration::from_mins(3)),
        source_kind: SourceKind::Local,
        locator: format!("{title}.wav"),
        thumbnail: None,
    }
}

fn infos(titles: &[&str]) -> Vec<TrackInfo> {
    titles.iter().map(|title| info(title)).collect()
}

/// A queued track as the queue store would have saved it.
fn saved_track(id: u64, title: &str, requested_by: Requester) -> Track {
    info(title).into_track(TrackId(id), requested_by)
}

fn the_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A call the permissive player default received.
#[derive(Debug, Clone, PartialEq)]
enum PlayerCall {
    Join(ChannelId),
    Leave,
    Play {
        title: String,
        track: TrackId,
        start_at: Duration,
        volume: Volume,
        filters: FilterSpec,
        options: OpenOptions,
    },
    Pause,
    Resume,
    Stop,
    Seek(Duration),
    SetVolume(Volume),
    SetFilters(FilterSpec),
}

/// Which ports get permissive defaults in [`Fixture::build`].
#[allow(clippy::struct_excessive_bools)] // one switch per port reads best
struct Defaults {
    resolver: bool,
    player: bool,
    settings: bool,
    playlists: bool,
    history: bool,
    queue_store: bool,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            resolver: true,
            player: true,
            settings: true,
            playlists: true,
            history: true,
            queue_store: true,
        }
    }
}

struct Fixture {
    resolver: MockTrackResolver,
    player: MockPlayer,
    settings: MockSettingsRepo,
    playlists: MockPlaylistRepo,
    history: MockHistoryRepo,
    queue_store: MockQueueStore,
    /// Where autoplay finds related tracks; `None` leaves autoplay without a source.
    related: Option<MockRelatedTracks>,
    /// What the default `SettingsRepo::guild` returns for [`guild()`].
    guild_settings: GuildSettings,
    rate_limit: RateLimit,
    defaults: Defaults,
    /// The player plays into voice channels (as on Discord).
    in_voice: bool,
    /// A resolver that replaces `resolver` in the service (one whose `resolve_pages` a test
    /// scripts).
    resolver_override: Option<Arc<dyn TrackResolver>>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            resolver: MockTrackResolver::new(),
            player: MockPlayer::new(),
            settings: MockSettingsRepo::new(),
            playlists: MockPlaylistRepo::new(),
            history: MockHistoryRepo::new(),
            queue_store: MockQueueStore::new(),
            related: None,
            guild_settings: GuildSettings::new(guild()),
            // Generous enough that no test but the rate-limit ones ever meets it.
            rate_limit: RateLimit::new(10_000, Duration::from_millis(1)),
            defaults: Defaults::default(),
            in_voice: false,
            resolver_override: None,
        }
    }

    fn build(mut self) -> Harness {
        let player_calls = Arc::new(Mutex::new(Vec::new()));
        let saves = Arc::new(Mutex::new(Vec::new()));
        let history = Arc::new(Mutex::new(Vec::new()));

        if self.defaults.resolver {
            self.resolver
                .expect_resolve()
                .returning(|query| Ok(vec![info(query)]));
        }
        if self.defaults.player {
            permissive_player(&mut self.player, &player_calls);
        }
        if self.defaults.settings {
            let settings = self.guild_settings.clone();
            self.settings
                .expect_guild()
                .returning(move |_| Ok(Some(settings.clone())));
            self.settings.expect_user().returning(|_| Ok(None));
        }
        if self.defaults.playlists {
            self.playlists.expect_active().returning(|_| Ok(None));
        }
        if self.defaults.history {
            let log = Arc::clone(&history);
            self.history.expect_record().returning(move |entries| {
                log.lock().unwrap().extend_from_slice(entries);
                Ok(())
            });
        }
        if self.defaults.queue_store {
            let log = Arc::clone(&saves);
            self.queue_store.expect_save().returning(move |snapshot| {
                log.lock().unwrap().push(snapshot.clone());
                Ok(())
            });
            self.queue_store.expect_delete().returning(|_| Ok(()));
        }
        let mut clock = MockClock::new();
        clock.expect_now().return_const(the_time());

        let bus = Arc::new(InProcessEventBus::default());
        // Subscribed before anything happens, so no event is missed.
        let events = bus.subscribe();
        let resolver = Arc::new(self.resolver);
        let playlists = Arc::new(self.playlists);
        let settings = Arc::new(self.settings);
        let ports = MusicPorts {
            resolver: self
                .resolver_override
                .unwrap_or_else(|| resolver.clone() as Arc<dyn TrackResolver>),
            player: Arc::new(self.player),
            settings: settings.clone(),
            playlists: playlists.clone(),
            history: Arc::new(self.history),
            queue_store: Arc::new(self.queue_store),
            events: bus,
            clock: Arc::new(clock),
        };
        let mut music = MusicService::new(ports, self.rate_limit);
        if let Some(related) = self.related {
            music = music.with_related_tracks(Arc::new(related));
        }
        if self.in_voice {
            music = music.with_voice_channels();
        }
        Harness {
            music: Arc::new(music),
            resolver,
            playlists,
            settings,
            events,
            player_calls,
            saves,
            history,
        }
    }
}

/// Every player method succeeds and is logged; `position` knows nothing; `events` hands out
/// receivers of a channel nothing is sent on.
fn permissive_player(player: &mut MockPlayer, calls: &Arc<Mutex<Vec<PlayerCall>>>) {
    let log = |calls: &Arc<Mutex<Vec<PlayerCall>>>| {
        let calls = Arc::clone(calls);
        move |call: PlayerCall| calls.lock().unwrap().push(call)
    };
    let record = log(calls);
    player.expect_join().returning(move |_, channel| {
        record(PlayerCall::Join(channel));
        Ok(())
    });
    let record = log(calls);
    player.expect_leave().returning(move |_| {
        record(PlayerCall::Leave);
        Ok(())
    });
    let record = log(calls);
    player
        .expect_play()
        .returning(move |_, track, start_at, volume, filters, options| {
            record(PlayerCall::Play {
                title: track.title.clone(),
                track: track.id,
                start_at,
                volume,
                filters,
                options,
            });
            Ok(())
        });
    let record = log(calls);
    player.expect_pause().returning(move |_| {
        record(PlayerCall::Pause);
        Ok(())
    });
    let record = log(calls);
    player.expect_resume().returning(move |_| {
        record(PlayerCall::Resume);
        Ok(())
    });
    let record = log(calls);
    player.expect_stop().returning(move |_| {
        record(PlayerCall::Stop);
        Ok(())
    });
    let record = log(calls);
    player.expect_seek().returning(move |_, position| {
        record(PlayerCall::Seek(position));
        Ok(())
    });
    let record = log(calls);
    player.expect_set_volume().returning(move |_, volume| {
        record(PlayerCall::SetVolume(volume));
        Ok(())
    });
    let record = log(calls);
    player.expect_set_filters().returning(move |_, filters| {
        record(PlayerCall::SetFilters(filters));
        Ok(())
    });
    player.expect_position().returning(|_| None);
    let (sender, _) = broadcast::channel::<PlayerEvent>(16);
    player.expect_events().returning(move || sender.subscribe());
}

struct Harness {
    music: Arc<MusicService>,
    resolver: Arc<MockTrackResolver>,
    playlists: Arc<MockPlaylistRepo>,
    settings: Arc<MockSettingsRepo>,
    events: broadcast::Receiver<DomainEvent>,
    player_calls: Arc<Mutex<Vec<PlayerCall>>>,
    saves: Arc<Mutex<Vec<QueueSnapshot>>>,
    history: Arc<Mutex<Vec<HistoryEntry>>>,
}

impl Harness {
    /// `query` played from the console at the end of the queue, which must succeed.
    async fn play_console(&self, query: &str) -> crate::PlayOutcome {
        self.music
            .play(guild(), &Actor::console(), query, AddPosition::End)
            .await
            .unwrap()
    }

    /// Every domain event published since the last call.
    fn take_events(&mut self) -> Vec<DomainEvent> {
        let mut events = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            events.push(event);
        }
        events
    }

    /// Every player call the permissive default logged since the last call.
    fn take_player_calls(&self) -> Vec<PlayerCall> {
        std::mem::take(&mut *self.player_calls.lock().unwrap())
    }

    /// Titles of the tracks the player was asked to play since the last call.
    fn take_played_titles(&self) -> Vec<String> {
        self.take_player_calls()
            .into_iter()
            .filter_map(|call| match call {
                PlayerCall::Play { title, .. } => Some(title),
                _ => None,
            })
            .collect()
    }

    fn last_save(&self) -> QueueSnapshot {
        self.saves
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a snapshot was saved")
    }

    fn recorded_history(&self) -> Vec<HistoryEntry> {
        self.history.lock().unwrap().clone()
    }

    /// Titles of the upcoming tracks, in queue order.
    async fn upcoming_titles(&self) -> Vec<String> {
        let page = self.music.queue_page(guild(), 1, 50).await.unwrap();
        page.items
            .into_iter()
            .map(|(_, track)| track.title)
            .collect()
    }

    async fn current_title(&self) -> Option<String> {
        let page = self.music.queue_page(guild(), 1, 1).await.unwrap();
        page.current.map(|track| track.title)
    }
}

/// Names of events, for asserting on their order without restating every field.
fn names(events: &[DomainEvent]) -> Vec<&'static str> {
    events.iter().map(DomainEvent::name).collect()
}
