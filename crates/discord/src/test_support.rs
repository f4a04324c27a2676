//! The one way the crate's tests build the Discord services on mocks and an interaction
//! handler talking to the fake REST API.

use std::sync::Arc;
use std::time::Duration;

use minstrel_app::ports::{
    HistoryRepo, InProcessEventBus, MockHistoryRepo, MockPlayer, MockPlaylistRepo, MockQueueStore,
    MockSettingsRepo, MockTrackResolver, Player, PlaylistRepo, PreviewRenderer, QueueStore,
    SettingsRepo, SystemClock, TrackResolver,
};
use minstrel_app::{
    BridgeService, FilterService, HistoryService, MusicPorts, MusicService, PlaylistService,
    PreviewService, RateLimit, SearchService, SettingsService,
};
use minstrel_testkit::discord::FakeRest;
use twilight_http::Client;

use crate::handler::{DiscordServices, InteractionHandler};
use crate::voice_state::VoiceStates;

/// The ports the services run on: bare mocks unless a test puts its own in.
pub(crate) struct ServicePorts {
    pub(crate) settings: Arc<dyn SettingsRepo>,
    pub(crate) playlists: Arc<dyn PlaylistRepo>,
    pub(crate) resolver: Arc<dyn TrackResolver>,
    pub(crate) history: Arc<dyn HistoryRepo>,
    pub(crate) player: Arc<dyn Player>,
    pub(crate) queue_store: Arc<dyn QueueStore>,
    pub(crate) bridge: Option<Arc<BridgeService>>,
    pub(crate) preview: Option<Arc<dyn PreviewRenderer>>,
}

impl ServicePorts {
    /// Bare mocks around `settings`, no bridge and no previews.
    pub(crate) fn new(settings: MockSettingsRepo) -> Self {
        Self {
            settings: Arc::new(settings),
            playlists: Arc::new(MockPlaylistRepo::new()),
            resolver: Arc::new(MockTrackResolver::new()),
            history: Arc::new(MockHistoryRepo::new()),
            player: Arc::new(MockPlayer::new()),
            queue_store: Arc::new(MockQueueStore::new()),
            bridge: None,
            preview: None,
        }
    }

    pub(crate) fn services(self) -> DiscordServices {
        let music = Arc::new(MusicService::new(
            MusicPorts {
                resolver: Arc::clone(&self.resolver),
                player: self.player,
                settings: Arc::clone(&self.settings),
                playlists: Arc::clone(&self.playlists),
                history: Arc::clone(&self.history),
                queue_store: self.queue_store,
                events: Arc::new(InProcessEventBus::default()),
                clock: Arc::new(SystemClock),
            },
            RateLimit::new(10_000, Duration::from_millis(1)),
        ));
        DiscordServices {
            filters: FilterService::new(Arc::clone(&music)),
            playlists: Arc::new(PlaylistService::new(
                self.playlists,
                Arc::clone(&self.resolver),
                Arc::clone(&music),
            )),
            settings: Arc::new(SettingsService::new(self.settings, Arc::clone(&music))),
            history: Arc::new(HistoryService::new(self.history)),
            bridge: self.bridge,
            search: Arc::new(SearchService::new(self.resolver)),
            preview: self
                .preview
                .map(|renderer| Arc::new(PreviewService::new(Arc::clone(&music), renderer))),
            music,
        }
    }
}

/// A handler for `services` whose REST calls go to `rest`.
pub(crate) fn handler(services: DiscordServices, rest: &FakeRest) -> InteractionHandler {
    let http = Client::builder()
        .token("Bot test-token".to_owned())
        .proxy(rest.proxy_address(), true)
        .ratelimiter(None)
        .build();
    InteractionHandler::new(services, Arc::new(http), Arc::new(VoiceStates::default()))
}
