//! Builds the adapters, the use cases and the front-ends, and runs them until Ctrl-C or the
//! console's `quit`.

use std::collections::HashMap;
use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use minstrel_app::ports::{
    AudioOpener, Cache, Clock, CommandBus, EventBus, GuildDirectory, HistoryRepo,
    InProcessEventBus, Player, PlaylistRepo, QueueStore, RelatedTracks, SettingsRepo, StoreError,
    SystemClock, TrackResolver,
};
use minstrel_app::{
    BridgePorts, BridgeService, FilterService, GuildCommands, HistoryService, LocalCommandBus,
    MusicPorts, MusicService, PlaylistService, PreviewService, RateLimit, SearchService,
    SettingsService, ShardOwnership, ShardedCommandBus,
};
use minstrel_bus::{RedisCommandBus, RedisCommandBusConfig, RedisEventBus, RedisEventBusConfig};
use minstrel_cache::{
    CacheCapacity, LayeredCache, LayeredCacheConfig, MokaCache, RedisCache, RedisCacheConfig,
};
use minstrel_console::{Console, ConsoleServices, Mode};
use minstrel_db::SqlDatabase;
use minstrel_discord::{
    CommandRegistration, DiscordConfig, DiscordFrontEnd, DiscordServices, DiscordState,
    GatewayEvent, MessageSender, RestProxy, ShardSelection, VoiceChannelDirectory, VoiceGateway,
};
use minstrel_domain::GuildId;
use minstrel_sources::{
    CachingResolver, HttpAudioOpener, HttpLimits, HttpResolver, LocalAudioOpener,
    LocalFileResolver, NormalisationConfig, NormalisingOpener, Resolvers, RoutingRelatedTracks,
    RoutingResolver, SafeHttpClient, SearchProvider, SearchSite, SourceAudioOpener, SpotifyConfig,
    SpotifyResolver, YtDlpAudioOpener, YtDlpConfig, YtDlpResolver,
};
use minstrel_telegram::{TelegramConfig, TelegramExit, TelegramFrontend, TelegramServices};
use minstrel_voice::{LocalPlayer, Pace, SinkKind, SongbirdPlayer};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{error, info, warn};

use crate::config::{CommandBusKind, Config, EventBusKind, Output};
use crate::ops::{self, ComponentStatus, OpsState, Readiness, StatusCell};
use metrics_exporter_prometheus::PrometheusHandle;

/// How often the queues of playing guilds are saved with their position.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Everything after SIGTERM or Ctrl-C fits in this, with a margin under the 10 s that
/// `docker stop` and systemd wait before they kill: whatever hangs (a broken guild, an
/// unreachable database) is given up on rather than holding the exit.
const SHUTDOWN_BUDGET: std::time::Duration = std::time::Duration::from_secs(9);
/// The part of [`SHUTDOWN_BUDGET`] for the last checkpoint of the playing queues.
const CHECKPOINT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);
/// The part of [`SHUTDOWN_BUDGET`] kept for the outbox once the front-ends stopped.
const OUTBOX_SHUTDOWN_RESERVE: std::time::Duration = std::time::Duration::from_secs(2);

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
    /// What the database has not been given yet, for shutdown.
    pub(crate) unsaved: Unsaved,
    /// `/preview` clips, through the same opener and filter chain as playback.
    pub(crate) preview: Arc<PreviewService>,
    /// Who is in the Discord guilds' voice channels (fed by the gateway), for Telegram's
    /// `/list`; `None` without Discord.
    pub(crate) guild_directory: Option<Arc<VoiceChannelDirectory>>,
    /// Guild commands of the chat front-ends without a gateway of their own (Telegram): run
    /// here for this process's shards, sent to the owning process otherwise.
    pub(crate) commands: GuildCommands,
    /// The shards whose guilds live in this process.
    pub(crate) shards: ShardOwnership,
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
        StoreError::Conflict(_) | StoreError::NotFound(_) | StoreError::Backlogged { .. } => {
            anyhow::anyhow!("{error}")
        }
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

/// The event bus `MINSTREL_EVENT_BUS` names: this process alone, or a Redis stream shared by
/// every process of a deployment. A Redis that is down at startup is not fatal: events keep
/// reaching this process and the bus reconnects in the background.
fn build_event_bus(config: &Config) -> anyhow::Result<Arc<dyn EventBus>> {
    let url = match (config.event_bus()?, &config.redis_url) {
        (EventBusKind::Memory, _) => return Ok(Arc::new(InProcessEventBus::default())),
        (EventBusKind::Redis, Some(url)) => url,
        (EventBusKind::Redis, None) => {
            anyhow::bail!("MINSTREL_EVENT_BUS=redis needs MINSTREL_REDIS_URL")
        }
    };
    let mut bus_config = RedisEventBusConfig::new(url.clone());
    if let Some(process_id) = &config.event_bus_process_id {
        bus_config = bus_config.with_process_id(process_id.trim());
    }
    let bus = RedisEventBus::new(bus_config)
        .map_err(|minstrel_app::ports::CacheError::Unavailable(cause)| anyhow::anyhow!(cause))
        .context("MINSTREL_REDIS_URL is not a usable Redis address for the event bus")?;
    bus.start();
    info!(
        redis = %bus.display_url(),
        stream = bus.stream_key(),
        process = bus.process_id(),
        "event bus: a Redis stream shared with the other minstrel processes"
    );
    Ok(Arc::new(bus))
}

/// The command bus `MINSTREL_COMMAND_BUS` names: a direct call when this process owns every
/// shard; otherwise Redis Streams, which also start serving this process's own shards.
fn build_command_bus(
    config: &Config,
    music: &Arc<MusicService>,
    shards: ShardOwnership,
) -> anyhow::Result<GuildCommands> {
    let local: Arc<dyn CommandBus> = Arc::new(LocalCommandBus::new(music.clone()));
    let url = match (config.command_bus()?, &config.redis_url) {
        (CommandBusKind::Memory, _) => return Ok(GuildCommands::new(local)),
        (CommandBusKind::Redis, Some(url)) => url,
        (CommandBusKind::Redis, None) => {
            anyhow::bail!("MINSTREL_COMMAND_BUS=redis needs MINSTREL_REDIS_URL")
        }
    };
    // A stable id (MINSTREL_EVENT_BUS_PROCESS_ID) lets a restarted process answer what its
    // previous run took but did not answer; without one the next owner takes it over.
    let process_id = config.event_bus_process_id.as_ref().map_or_else(
        || {
            let started = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_millis());
            format!("minstrel-{}-{started}", std::process::id())
        },
        |id| id.trim().to_owned(),
    );
    let bus = RedisCommandBus::new(RedisCommandBusConfig::new(
        url.clone(),
        process_id,
        shards.total(),
    ))
    .map_err(|minstrel_app::ports::CacheError::Unavailable(cause)| anyhow::anyhow!(cause))
    .context("MINSTREL_REDIS_URL is not a usable Redis address for the command bus")?;
    bus.start();
    bus.serve(shards.owned_shards(), local.clone());
    info!(
        redis = %bus.display_url(),
        process = bus.process_id(),
        %shards,
        "command bus: guild commands go to the process that owns the guild's shard over Redis"
    );
    if config
        .event_bus()
        .is_ok_and(|kind| kind == EventBusKind::Memory)
    {
        warn!(
            "MINSTREL_EVENT_BUS=memory with shards in other processes: their player news does \
             not reach this process's Telegram chats (set MINSTREL_EVENT_BUS=redis)"
        );
    }
    Ok(GuildCommands::new(Arc::new(ShardedCommandBus::new(
        local,
        Arc::new(bus),
        shards,
    ))))
}

struct Sources {
    resolver: Arc<dyn TrackResolver>,
    opener: Arc<dyn AudioOpener>,
    /// Autoplay's related tracks: `YouTube`'s mix through yt-dlp, else the library.
    related: Arc<dyn RelatedTracks>,
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
    let library = LocalFileResolver::new(&config.library_dir).map_err(library_error)?;
    let related = RoutingRelatedTracks::new(Some(ytdlp.clone()), Some(library.clone()));
    let router = RoutingResolver::new(
        Resolvers {
            local: Some(Arc::new(library)),
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
        related: Arc::new(related),
    })
}

// The composition root: one long list of adapters, each built from the config.
#[allow(clippy::too_many_lines)]
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
    let related = sources.related;
    let preview_renderer = Arc::new(crate::preview::DspPreviewRenderer::new(opener.clone()));
    let (sink, pace) = match config.output()? {
        Output::Null => (SinkKind::Null, Pace::Fast),
        Output::NullRealtime => (SinkKind::Null, Pace::Realtime),
        Output::Wav(path) => (SinkKind::Wav(path), Pace::Realtime),
        Output::WavFast(path) => (SinkKind::Wav(path), Pace::Fast),
    };
    let player = if config.runs_discord() {
        AudioOutput::Discord(Arc::new(
            SongbirdPlayer::new(opener).with_stuck_after(config.track_stuck_after()),
        ))
    } else {
        AudioOutput::Local(Arc::new(
            LocalPlayer::new(opener, &sink, pace)
                .context("could not open the audio output")?
                .with_stuck_after(config.track_stuck_after()),
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
    // While the database is unreachable, acknowledged writes wait in the outbox, in order.
    let outbox = minstrel_app::Outbox::spawn(minstrel_app::OutboxConfig {
        capacity: config.outbox_capacity,
        ..minstrel_app::OutboxConfig::default()
    });
    let settings: Arc<dyn SettingsRepo> = Arc::new(
        minstrel_cache::CachedSettingsRepo::new(Arc::new(database.settings_repo()), cache.clone())
            .with_outbox(outbox.clone()),
    );
    let playlists: Arc<dyn PlaylistRepo> = Arc::new(
        minstrel_cache::CachedPlaylistRepo::new(Arc::new(database.playlist_repo()), cache)
            .with_outbox(outbox.clone()),
    );
    let unsaved = Unsaved::start(&database, outbox);
    let history: Arc<dyn HistoryRepo> = unsaved.history.clone();
    let queue_store: Arc<dyn QueueStore> = unsaved.queues.clone();
    let events = build_event_bus(config)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (adapter, in_voice): (Arc<dyn Player>, bool) = match &player {
        AudioOutput::Discord(songbird) => (songbird.clone(), true),
        AudioOutput::Local(local) => (local.clone(), false),
    };
    // No command waits on the player for longer than its deadline, whatever voice does.
    let player_port: Arc<dyn Player> = Arc::new(minstrel_app::DeadlinePlayer::new(adapter));
    let music = MusicService::new(
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
    )
    .with_related_tracks(related);
    let music = Arc::new(if in_voice {
        music.with_voice_channels()
    } else {
        music
    });
    let console = ConsoleServices {
        music: music.clone(),
        filters: FilterService::new(music.clone()),
        playlists: Arc::new(PlaylistService::new(playlists, resolver, music.clone())),
        settings: Arc::new(SettingsService::new(settings, music.clone())),
        history: Arc::new(HistoryService::new(history)),
        events,
    };
    let bridge = Arc::new(
        BridgeService::new(BridgePorts {
            links: Arc::new(database.chat_link_repo()),
            codes: Arc::new(database.link_code_repo()),
            members: Arc::new(database.telegram_member_repo()),
            audit: Arc::new(minstrel_app::OutboxAuditLog::new(
                Arc::new(database.audit_log()),
                unsaved.outbox.clone(),
            )),
            clock: Arc::new(SystemClock),
        })
        // Discord's /all reaches the Telegram bridge (maybe in another process) as an event.
        .with_events(console.events.clone()),
    );
    let guild_directory = config.runs_discord().then(|| {
        Arc::new(if config.discord_presence {
            VoiceChannelDirectory::with_presences()
        } else {
            VoiceChannelDirectory::new()
        })
    });
    let preview = Arc::new(PreviewService::new(music.clone(), preview_renderer));
    let shards = config.shard_plan()?;
    let commands = build_command_bus(config, &music, shards)?;
    Ok(App {
        music,
        console,
        player,
        bridge,
        database,
        layered_cache,
        unsaved,
        preview,
        guild_directory,
        commands,
        shards,
    })
}

/// How long shutdown waits for the outbox to reach the database.
const OUTBOX_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Writes on their way to the database: history in batches, and the outbox under both history
/// and queue snapshots while the database is away.
///
/// Queue snapshots are written at once on every change, not debounced: a trailing debounce
/// loses the last acknowledged change when the process is killed inside its window, and
/// "nothing acknowledged is lost" wins over saving writes.
pub(crate) struct Unsaved {
    pub(crate) outbox: minstrel_app::Outbox,
    history: Arc<minstrel_app::BatchedHistoryRepo>,
    queues: Arc<minstrel_app::OutboxQueueStore>,
}

impl Unsaved {
    fn start(database: &SqlDatabase, outbox: minstrel_app::Outbox) -> Self {
        let history = Arc::new(minstrel_app::BatchedHistoryRepo::new(
            Arc::new(minstrel_app::OutboxHistoryRepo::new(
                Arc::new(database.history_repo()),
                outbox.clone(),
            )),
            minstrel_app::HistoryBatching::default(),
        ));
        let queues = Arc::new(minstrel_app::OutboxQueueStore::new(
            Arc::new(database.queue_store()),
            outbox.clone(),
        ));
        tokio::spawn(history.clone().run());
        Self {
            outbox,
            history,
            queues,
        }
    }

    /// Hands everything buffered to the database, and waits for the outbox up to `grace`.
    async fn flush(&self, grace: std::time::Duration) {
        if let Err(error) = self.history.flush().await {
            warn!(?error, "could not record history");
        }
        if tokio::time::timeout(grace, self.outbox.drained())
            .await
            .is_err()
        {
            error!(
                waiting = self.outbox.depth(),
                "the database is still unreachable; writes held in the outbox are lost"
            );
        }
    }
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
    // Only this process's shards: the others' queues are their owners' to bring back. With
    // Discord, rejoining a voice channel needs the gateway's READY (songbird is made then),
    // so the queues come back once it arrives.
    let (voice_ready, mut voice_ready_seen) = watch::channel(false);
    let restore = restore_owned_queues(app.music.clone(), app.shards);
    if matches!(app.player, AudioOutput::Discord(_)) && config.runs_discord() {
        tokio::spawn(async move {
            if voice_ready_seen.wait_for(|ready| *ready).await.is_ok() {
                restore.await;
            }
        });
    } else {
        restore.await;
    }
    let (stop, stopped) = watch::channel(false);
    let stop_signal = StopSignal(stopped);
    let status = FrontEndStatus {
        discord: StatusCell::new("discord", ComponentStatus::disabled("no DISCORD_TOKEN")),
        telegram: StatusCell::new("telegram", ComponentStatus::disabled("no TELEGRAM_TOKEN")),
    };
    let ops_task = start_ops(&config, &app, metrics, &status, &stop_signal).await?;
    let mut front_ends = JoinSet::new();
    spawn_discord(
        &config,
        &app,
        &mut front_ends,
        &status,
        &stop_signal,
        voice_ready,
    )?;
    spawn_telegram(&config, &app, &mut front_ends, &status, &stop_signal).await;
    let result = if front_ends.is_empty() {
        let result = run_console(&config, &app).await;
        // The last word on every queue, so the next start resumes where this one stopped.
        checkpoints_task.abort();
        app.music.checkpoint_at_shutdown().await;
        app.unsaved.flush(OUTBOX_SHUTDOWN_GRACE).await;
        result
    } else {
        info!("running until Ctrl-C");
        ctrl_c().await;
        shut_down(&app, &stop, &mut front_ends, checkpoints_task, &events_task).await;
        Ok(())
    };
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

/// After SIGTERM or Ctrl-C, within [`SHUTDOWN_BUDGET`]: saves the queues of the playing
/// guilds, has the front-ends leave the voice channels and close their connections for good
/// (the Discord shards close with 1000 and do not reconnect), then hands what is buffered to
/// the database.
async fn shut_down(
    app: &App,
    stop: &watch::Sender<bool>,
    front_ends: &mut JoinSet<()>,
    checkpoints: JoinHandle<()>,
    player_events: &JoinHandle<()>,
) {
    let deadline = tokio::time::Instant::now() + SHUTDOWN_BUDGET;
    // The queues are saved first, with their voice channels, and no player event changes
    // them after that: leaving voice below must not read as the listeners' doing, or the
    // next start would not join again.
    checkpoints.abort();
    player_events.abort();
    if tokio::time::timeout(
        CHECKPOINT_SHUTDOWN_GRACE,
        app.music.checkpoint_at_shutdown(),
    )
    .await
    .is_err()
    {
        warn!("saving the playing queues took too long; the last checkpoint stands");
    }
    let _ = stop.send(true);
    let drained = tokio::time::timeout_at(deadline - OUTBOX_SHUTDOWN_RESERVE, async {
        while front_ends.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        warn!("a front-end did not stop in time; stopping it hard");
        front_ends.abort_all();
    }
    app.unsaved
        .flush(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await;
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
    let readiness = Readiness::standard(
        app.database.clone(),
        app.layered_cache.clone(),
        status.discord.clone(),
        status.telegram.clone(),
    )
    .with_check("outbox", ops::outbox_check(app.unsaved.outbox.clone()));
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
    voice_ready: watch::Sender<bool>,
) -> anyhow::Result<()> {
    let Some(mut discord) = discord_config(config)? else {
        return Ok(());
    };
    if let AudioOutput::Discord(songbird) = &app.player {
        discord.voice = Some(Arc::new(SongbirdVoice {
            player: songbird.clone(),
            ready: voice_ready,
        }));
    }
    discord.directory.clone_from(&app.guild_directory);
    let services = discord_services(app);
    let shutdown = stop.stopped();
    let status = status.discord.clone();
    discord.on_state = Some(Arc::new(move |state| status.set(discord_status(&state))));
    front_ends.spawn(async move {
        match DiscordFrontEnd::run(discord, services, shutdown).await {
            Ok(()) => info!("the Discord front-end stopped"),
            Err(error) => {
                error!(%error, "Discord is off; the rest of the bot keeps running");
            }
        }
    });
    Ok(())
}

/// What `/ready` says about the Discord front-end in `state`.
fn discord_status(state: &DiscordState) -> ComponentStatus {
    match state {
        DiscordState::Starting => ComponentStatus::degraded("connecting to Discord"),
        DiscordState::Retrying {
            attempt,
            error,
            retry_in,
        } => ComponentStatus::unhealthy(format!(
            "could not reach Discord ({error}); attempt {next} in {seconds:.1} s",
            next = attempt + 1,
            seconds = retry_in.as_secs_f64(),
        )),
        DiscordState::Running => ComponentStatus::healthy("running"),
        DiscordState::Stopped { reason } => {
            ComponentStatus::unhealthy(format!("stopped: {reason}"))
        }
    }
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

/// Hands the gateway's voice events to songbird, and says when READY made it usable.
struct SongbirdVoice {
    player: Arc<SongbirdPlayer>,
    ready: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl VoiceGateway for SongbirdVoice {
    fn shards_started(&self, senders: HashMap<u32, MessageSender>) {
        self.player.shards_started(senders);
    }

    async fn event(&self, event: &GatewayEvent) {
        self.player.process(event).await;
        if matches!(event, GatewayEvent::Ready(_)) {
            self.ready.send_replace(true);
        }
    }
}

/// Brings back the saved queues of the guilds of `shards`.
async fn restore_owned_queues(music: Arc<MusicService>, shards: ShardOwnership) {
    match music.restore_owned(|guild| shards.owns(guild)).await {
        Ok(0) => {}
        Ok(restored) => info!(restored, %shards, "restored the saved queues"),
        Err(error) => warn!(%error, "could not restore the saved queues"),
    }
}

/// The Discord front-end's settings, when a token is set.
fn discord_config(config: &Config) -> anyhow::Result<Option<DiscordConfig>> {
    if !config.runs_discord() {
        return Ok(None);
    }
    let mut discord = DiscordConfig::new(config.discord_token.expose().to_owned());
    if config.shard_total.is_some()
        && let Some((first, last)) = config.shard_plan()?.owned_range()
    {
        discord.shards = ShardSelection::Range {
            start: first,
            end: last + 1,
            total: config.shard_plan()?.total(),
        };
    }
    discord.presences = config.discord_presence;
    discord.track_stuck_after = config.track_stuck_after();
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
        search: Arc::new(SearchService::for_music(&app.music)),
        preview: Some(app.preview.clone()),
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
    telegram.mirror.track_stuck_after = config.track_stuck_after();
    let services = TelegramServices {
        commands: app.commands.clone(),
        bridge: app.bridge.clone(),
        events: app.console.events.clone(),
        directory: app
            .guild_directory
            .clone()
            .map(|directory| directory as Arc<dyn GuildDirectory>),
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
    let console =
        Console::new(app.console.clone()).with_track_stuck_after(config.track_stuck_after());
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
