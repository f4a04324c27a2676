//! Builds the adapters, the use cases and the front-ends, and runs them until Ctrl-C or the
//! console's `quit`.

use std::collections::HashMap;
use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use minstrel_app::ports::{
    AudioOpener, Cache, Clock, EventBus, HistoryRepo, InProcessEventBus, Player, PlaylistRepo,
    QueueStore, SettingsRepo, StoreError, SystemClock, TrackResolver,
};
use minstrel_app::{
    BridgePorts, BridgeService, FilterService, HistoryService, MusicPorts, MusicService,
    PlaylistService, RateLimit, SettingsService,
};
use minstrel_cache::{
    CacheCapacity, LayeredCache, LayeredCacheConfig, MokaCache, RedisCache, RedisCacheConfig,
};
use minstrel_console::{Console, ConsoleServices, Mode};
use minstrel_db::SqlDatabase;
use minstrel_discord::{
    CommandRegistration, DiscordConfig, DiscordFrontEnd, DiscordServices, GatewayEvent,
    MessageSender, RestProxy, VoiceGateway,
};
use minstrel_domain::GuildId;
use minstrel_sources::{
    CachingResolver, HttpAudioOpener, HttpLimits, HttpResolver, LocalAudioOpener,
    LocalFileResolver, NormalisationConfig, NormalisingOpener, Resolvers, RoutingResolver,
    SafeHttpClient, SearchProvider, SearchSite, SourceAudioOpener, SpotifyConfig, SpotifyResolver,
    YtDlpAudioOpener, YtDlpConfig, YtDlpResolver,
};
use minstrel_telegram::{TelegramConfig, TelegramExit, TelegramFrontend, TelegramServices};
use minstrel_voice::{LocalPlayer, Pace, SinkKind, SongbirdPlayer};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{error, info, warn};

use crate::config::{Config, Output};
use crate::ops::{self, ComponentStatus, OpsState, Readiness, StatusCell};
use metrics_exporter_prometheus::PrometheusHandle;

/// How often the queues of playing guilds are saved with their position.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the chat front-ends get to close their connections after Ctrl-C.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Everything the front-ends need, built once.
pub(crate) struct App {
    pub(crate) music: Arc<MusicService>,
    pub(crate) console: ConsoleServices,
    /// The audio output: songbird when Discord runs, a local sink otherwise.
    pub(crate) player: AudioOutput,
    pub(crate) bridge: Arc<BridgeService>,
    pub(crate) database: SqlDatabase,
    /// The Redis-backed cache, for the readiness report; `None` with memory alone.
    pub(crate) layered_cache: Option<LayeredCache>,
}

/// Opens the database of `config.database_url` (a `SQLite` file is created when missing).
pub(crate) async fn connect_database(config: &Config) -> anyhow::Result<SqlDatabase> {
    SqlDatabase::connect(&config.database_url)
        .await
        .map_err(|error| store_failure(&error))
        .context("could not open the database (MINSTREL_DATABASE_URL)")
}

/// Applies the pending migrations and returns their names.
pub(crate) async fn migrate(database: &SqlDatabase) -> anyhow::Result<Vec<String>> {
    database
        .migrate_up()
        .await
        .map_err(|error| store_failure(&error))
        .context("could not apply the database migrations")
}

/// A storage error for the operator: the sentence and the cause a user would not see.
fn store_failure(error: &StoreError) -> anyhow::Error {
    match error {
        StoreError::Unavailable(cause) | StoreError::Internal(cause) => {
            anyhow::anyhow!("{error}: {cause}")
        }
        StoreError::Conflict(_) | StoreError::NotFound(_) => anyhow::anyhow!("{error}"),
    }
}

/// The in-process cache, with Redis behind it when `MINSTREL_REDIS_URL` is set. A Redis that
/// is down at startup is not fatal: the layered cache serves from memory and reconnects.
fn build_cache(config: &Config) -> anyhow::Result<(Arc<dyn Cache>, Option<LayeredCache>)> {
    let memory = MokaCache::new(CacheCapacity::default());
    let Some(url) = &config.redis_url else {
        return Ok((Arc::new(memory), None));
    };
    let redis = RedisCache::new(RedisCacheConfig::new(url.clone()))
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("MINSTREL_REDIS_URL is not a usable Redis address")?;
    info!(redis = %redis.display_url(), "shared cache: Redis behind the in-process cache");
    let layered = LayeredCache::new(memory, redis, LayeredCacheConfig::default());
    Ok((Arc::new(layered.clone()), Some(layered)))
}

struct Sources {
    resolver: Arc<dyn TrackResolver>,
    opener: Arc<dyn AudioOpener>,
}

/// Every source: the local library, web links (SSRF-safe), yt-dlp sites and Spotify links,
/// routed by what the user typed, with resolved metadata cached and loudness normalised.
fn build_sources(config: &Config, cache: Arc<dyn Cache>) -> anyhow::Result<Sources> {
    let library_error = |error: std::io::Error| {
        anyhow::anyhow!("{error}").context(format!(
            "the music library {} is not usable",
            config.library_dir.display()
        ))
    };
    let runtime = tokio::runtime::Handle::current();
    let http_client = SafeHttpClient::new(HttpLimits::default());
    let search_site = match config.search_provider()? {
        SearchProvider::SoundCloud => SearchSite::SoundCloud,
        SearchProvider::YouTube | SearchProvider::Local => SearchSite::YouTube,
    };
    let ytdlp = YtDlpResolver::new(YtDlpConfig {
        binary: config.ytdlp.clone(),
        playlist_cap: config.playlist_cap,
        ..YtDlpConfig::default()
    })
    .with_default_search(search_site);
    let ytdlp_resolver: Arc<dyn TrackResolver> = Arc::new(ytdlp.clone());
    let spotify = SpotifyResolver::new(
        SpotifyConfig {
            credentials: config.spotify_credentials(),
            search_site,
            ..SpotifyConfig::default()
        },
        ytdlp_resolver.clone(),
    );
    let router = RoutingResolver::new(
        Resolvers {
            local: Some(Arc::new(
                LocalFileResolver::new(&config.library_dir).map_err(library_error)?,
            )),
            http: Some(Arc::new(HttpResolver::new(http_client.clone()))),
            ytdlp: Some(ytdlp_resolver),
            spotify: Some(Arc::new(spotify)),
        },
        config.search_provider()?,
    );
    let opener = SourceAudioOpener {
        local: Some(LocalAudioOpener::new(&config.library_dir).map_err(library_error)?),
        http: Some(HttpAudioOpener::new(http_client.clone(), runtime.clone())),
        ytdlp: Some(YtDlpAudioOpener::new(ytdlp, http_client, runtime)),
    };
    let normalisation = NormalisationConfig {
        enabled: config.normalisation,
        target_lufs: config.loudness_target,
        ..NormalisationConfig::default()
    };
    Ok(Sources {
        resolver: Arc::new(CachingResolver::new(Arc::new(router), cache)),
        opener: Arc::new(NormalisingOpener::new(Arc::new(opener), normalisation)),
    })
}

pub(crate) async fn build(config: &Config) -> anyhow::Result<App> {
    std::fs::create_dir_all(&config.library_dir).with_context(|| {
        format!(
            "could not create the music library folder {}",
            config.library_dir.display()
        )
    })?;
    let (cache, layered_cache) = build_cache(config)?;
    let sources = build_sources(config, cache.clone())?;
    let resolver = sources.resolver;
    let opener = sources.opener;
    let (sink, pace) = match config.output()? {
        Output::Null => (SinkKind::Null, Pace::Fast),
        Output::NullRealtime => (SinkKind::Null, Pace::Realtime),
        Output::Wav(path) => (SinkKind::Wav(path), Pace::Realtime),
        Output::WavFast(path) => (SinkKind::Wav(path), Pace::Fast),
    };
    let player = if config.discord_token.is_set() {
        AudioOutput::Discord(Arc::new(SongbirdPlayer::new(opener)))
    } else {
        AudioOutput::Local(Arc::new(
            LocalPlayer::new(opener, &sink, pace).context("could not open the audio output")?,
        ))
    };
    let database = connect_database(config).await?;
    let applied = migrate(&database).await?;
    info!(
        backend = database.backend().name(),
        migrations_applied = applied.len(),
        "database ready"
    );
    // SQL is the source of truth; the cache holds copies that every write deletes.
    let settings: Arc<dyn SettingsRepo> = Arc::new(minstrel_cache::CachedSettingsRepo::new(
        Arc::new(database.settings_repo()),
        cache.clone(),
    ));
    let playlists: Arc<dyn PlaylistRepo> = Arc::new(minstrel_cache::CachedPlaylistRepo::new(
        Arc::new(database.playlist_repo()),
        cache,
    ));
    let history: Arc<dyn HistoryRepo> = Arc::new(database.history_repo());
    let queue_store: Arc<dyn QueueStore> = Arc::new(database.queue_store());
    let events: Arc<dyn EventBus> = Arc::new(InProcessEventBus::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let player_port: Arc<dyn Player> = match &player {
        AudioOutput::Discord(songbird) => songbird.clone(),
        AudioOutput::Local(local) => local.clone(),
    };
    let music = Arc::new(MusicService::new(
        MusicPorts {
            resolver: resolver.clone(),
            player: player_port,
            settings: settings.clone(),
            playlists: playlists.clone(),
            history: history.clone(),
            queue_store,
            events: events.clone(),
            clock,
        },
        RateLimit::default(),
    ));
    let console = ConsoleServices {
        music: music.clone(),
        filters: FilterService::new(music.clone()),
        playlists: Arc::new(PlaylistService::new(playlists, resolver, music.clone())),
        settings: Arc::new(SettingsService::new(settings, music.clone())),
        history: Arc::new(HistoryService::new(history)),
        events,
    };
    let bridge = Arc::new(BridgeService::new(BridgePorts {
        links: Arc::new(database.chat_link_repo()),
        codes: Arc::new(database.link_code_repo()),
        members: Arc::new(database.telegram_member_repo()),
        audit: Arc::new(database.audit_log()),
        clock: Arc::new(SystemClock),
    }));
    Ok(App {
        music,
        console,
        player,
        bridge,
        database,
        layered_cache,
    })
}

/// Turns true once, when the bot stops; every long-running part waits on it.
#[derive(Clone)]
struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stopped = self.0.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    }
}

/// What `/ready` reports about each chat front-end.
struct FrontEndStatus {
    discord: StatusCell,
    telegram: StatusCell,
}

pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let metrics = ops::install_metrics_recorder();
    let app = build(&config).await?;
    let metrics_task =
        tokio::spawn(ops::EventMetrics::default().run(app.console.events.subscribe()));
    let events_task = tokio::spawn(app.music.clone().run_player_events());
    let checkpoints_task = tokio::spawn(app.music.clone().run_checkpoints(CHECKPOINT_EVERY));
    match app.music.restore_all().await {
        Ok(0) => {}
        Ok(restored) => info!(restored, "restored the saved queues"),
        Err(error) => warn!(%error, "could not restore the saved queues"),
    }
    let (stop, stopped) = watch::channel(false);
    let stop_signal = StopSignal(stopped);
    let status = FrontEndStatus {
        discord: StatusCell::new("discord", ComponentStatus::disabled("no DISCORD_TOKEN")),
        telegram: StatusCell::new("telegram", ComponentStatus::disabled("no TELEGRAM_TOKEN")),
    };
    let ops_task = start_ops(&config, &app, metrics, &status, &stop_signal).await?;
    let mut front_ends = JoinSet::new();
    spawn_discord(&config, &app, &mut front_ends, &status, &stop_signal)?;
    spawn_telegram(&config, &app, &mut front_ends, &status, &stop_signal).await;
    let result = if front_ends.is_empty() {
        run_console(&config, &app).await
    } else {
        info!("running until Ctrl-C");
        ctrl_c().await;
        let _ = stop.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while front_ends.join_next().await.is_some() {}
        });
        if drained.await.is_err() {
            warn!("a front-end did not stop in time; stopping it hard");
            front_ends.abort_all();
        }
        Ok(())
    };
    // The last word on every queue, so the next start resumes where this one stopped.
    checkpoints_task.abort();
    app.music.checkpoint_playing().await;
    if let AudioOutput::Local(player) = &app.player
        && let Err(error) = player.shutdown()
    {
        warn!(%error, "the audio output did not close cleanly");
    }
    let _ = stop.send(true);
    events_task.abort();
    metrics_task.abort();
    if let Some(task) = ops_task {
        task.abort();
    }
    result
}

/// The ops endpoint, when `MINSTREL_HTTP_ADDR` is set.
async fn start_ops(
    config: &Config,
    app: &App,
    metrics: PrometheusHandle,
    status: &FrontEndStatus,
    stop: &StopSignal,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    let Some(address) = config.http_addr else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("could not listen on MINSTREL_HTTP_ADDR {address}"))?;
    info!(%address, "ops endpoint: /health, /ready, /metrics");
    let readiness = Readiness::standard(
        app.database.clone(),
        app.layered_cache.clone(),
        status.discord.clone(),
        status.telegram.clone(),
    );
    let state = OpsState::new(readiness, metrics);
    let shutdown = stop.stopped();
    Ok(Some(tokio::spawn(async move {
        if let Err(error) = ops::serve(listener, state, shutdown).await {
            error!(%error, "the ops endpoint stopped");
        }
    })))
}

/// Starts Discord when a token is set; a fatal gateway error stops only Discord.
fn spawn_discord(
    config: &Config,
    app: &App,
    front_ends: &mut JoinSet<()>,
    status: &FrontEndStatus,
    stop: &StopSignal,
) -> anyhow::Result<()> {
    let Some(mut discord) = discord_config(config)? else {
        return Ok(());
    };
    if let AudioOutput::Discord(songbird) = &app.player {
        discord.voice = Some(Arc::new(SongbirdVoice(songbird.clone())));
    }
    let services = discord_services(app);
    let shutdown = stop.stopped();
    let status = status.discord.clone();
    status.set(ComponentStatus::healthy("running"));
    front_ends.spawn(async move {
        match DiscordFrontEnd::run(discord, services, shutdown).await {
            Ok(()) => info!("the Discord front-end stopped"),
            Err(error) => {
                status.set(ComponentStatus::unhealthy(
                    "stopped with an error; see the log",
                ));
                error!(%error, "Discord is off; the rest of the bot keeps running");
            }
        }
    });
    Ok(())
}

/// Starts Telegram when it is configured and says in `/ready` why it is not running.
async fn spawn_telegram(
    config: &Config,
    app: &App,
    front_ends: &mut JoinSet<()>,
    status: &FrontEndStatus,
    stop: &StopSignal,
) {
    let status = status.telegram.clone();
    match start_telegram(config, app).await {
        Some(telegram) => {
            let shutdown = stop.stopped();
            status.set(ComponentStatus::healthy("running"));
            front_ends.spawn(async move {
                match telegram.run_until(shutdown).await {
                    TelegramExit::Shutdown => info!("the Telegram front-end stopped"),
                    exit => {
                        status.set(ComponentStatus::unhealthy("stopped; see the log"));
                        warn!(
                            ?exit,
                            "the Telegram front-end stopped; the rest of the bot keeps running"
                        );
                    }
                }
            });
        }
        None if !config.telegram_token.is_set() => {}
        None if !config.enable_telegram => {
            status.set(ComponentStatus::disabled("ENABLE_TELEGRAM=false"));
        }
        None => status.set(ComponentStatus::unhealthy("did not start; see the log")),
    }
}

/// Where the audio goes.
pub(crate) enum AudioOutput {
    /// Discord voice channels.
    Discord(Arc<SongbirdPlayer>),
    /// A WAV file or nothing (`MINSTREL_OUTPUT`), for the console and Telegram alone.
    Local(Arc<LocalPlayer>),
}

/// Hands the gateway's voice events to songbird.
struct SongbirdVoice(Arc<SongbirdPlayer>);

#[async_trait::async_trait]
impl VoiceGateway for SongbirdVoice {
    fn shards_started(&self, senders: HashMap<u32, MessageSender>) {
        self.0.shards_started(senders);
    }

    async fn event(&self, event: &GatewayEvent) {
        self.0.process(event).await;
    }
}

/// The Discord front-end's settings, when a token is set.
fn discord_config(config: &Config) -> anyhow::Result<Option<DiscordConfig>> {
    if !config.discord_token.is_set() {
        return Ok(None);
    }
    let mut discord = DiscordConfig::new(config.discord_token.expose().to_owned());
    discord.leave_when_alone_after = (config.leave_when_alone_after > 0)
        .then(|| std::time::Duration::from_secs(config.leave_when_alone_after));
    discord.gateway_url.clone_from(&config.discord_gateway_url);
    if let Some(address) = &config.discord_rest_proxy {
        discord.rest_proxy = Some(RestProxy {
            address: address.clone(),
            plain_http: true,
        });
        discord.rest_ratelimiter = false;
    }
    let guilds = config.discord_command_guilds()?;
    if !guilds.is_empty() {
        discord.registration = CommandRegistration::Guilds(
            guilds
                .into_iter()
                .map(GuildId::new)
                .collect::<Result<_, _>>()
                .map_err(|error| anyhow::anyhow!("MINSTREL_DISCORD_COMMAND_GUILDS: {error}"))?,
        );
    }
    Ok(Some(discord))
}

fn discord_services(app: &App) -> DiscordServices {
    DiscordServices {
        music: app.music.clone(),
        filters: FilterService::new(app.music.clone()),
        playlists: app.console.playlists.clone(),
        settings: app.console.settings.clone(),
        history: app.console.history.clone(),
        bridge: Some(app.bridge.clone()),
    }
}

/// Ctrl-C (SIGINT), or SIGTERM as `docker stop` and systemd send it.
async fn ctrl_c() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler can be installed: never stop on this signal rather than at once.
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    info!("shutting down");
}

/// Starts Telegram when it is configured, or says why it stays off; `None` leaves the bot
/// running without it.
async fn start_telegram(config: &Config, app: &App) -> Option<TelegramFrontend> {
    if !config.telegram_token.is_set() {
        return None;
    }
    if !config.enable_telegram {
        info!("Telegram is off: ENABLE_TELEGRAM=false");
        return None;
    }
    let mut telegram = TelegramConfig::new(config.telegram_token.expose());
    telegram.api_url.clone_from(&config.telegram_api_url);
    let services = TelegramServices {
        music: app.music.clone(),
        filters: FilterService::new(app.music.clone()),
        bridge: app.bridge.clone(),
        events: app.console.events.clone(),
        directory: None,
    };
    match TelegramFrontend::start(telegram, services).await {
        Ok(frontend) => Some(frontend),
        Err(error) => {
            // StartError never carries the token.
            error!(%error, "Telegram is off; the rest of the bot keeps running");
            None
        }
    }
}

async fn run_console(config: &Config, app: &App) -> anyhow::Result<()> {
    info!(library = %config.library_dir.display(), output = %config.output, "starting the console front-end");
    let console = Console::new(app.console.clone());
    let mode = if std::io::stdin().is_terminal() {
        Mode::Interactive
    } else {
        Mode::Script
    };
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    tokio::select! {
        result = console.run(stdin, tokio::io::stdout(), mode) => {
            result.context("the console could not write its output")
        }
        () = ctrl_c() => Ok(()),
    }
}
