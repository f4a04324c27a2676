//! Builds the adapters, the use cases and the front-ends, and runs them until Ctrl-C or the
//! console's `quit`.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use minstrel_app::ports::{
    AudioOpener, Clock, EventBus, HistoryRepo, InProcessEventBus, Player, PlaylistRepo, QueueStore,
    SettingsRepo, StoreError, SystemClock, TrackResolver,
};
use minstrel_app::{
    FilterService, HistoryService, MusicPorts, MusicService, PlaylistService, RateLimit,
    SettingsService,
};
use minstrel_console::{Console, ConsoleServices, Mode};
use minstrel_db::{SqlChatLinkRepo, SqlDatabase};
use minstrel_sources::{LocalAudioOpener, LocalFileResolver};
use minstrel_voice::{LocalPlayer, Pace, SinkKind};
use tracing::{info, warn};

use crate::config::{Config, Output};

/// Everything the front-ends need, built once.
pub(crate) struct App {
    pub(crate) music: Arc<MusicService>,
    pub(crate) console: ConsoleServices,
    pub(crate) player: Arc<LocalPlayer>,
    _chat_links: Arc<SqlChatLinkRepo>,
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

pub(crate) async fn build(config: &Config) -> anyhow::Result<App> {
    std::fs::create_dir_all(&config.library_dir).with_context(|| {
        format!(
            "could not create the music library folder {}",
            config.library_dir.display()
        )
    })?;
    let resolver: Arc<dyn TrackResolver> = Arc::new(
        LocalFileResolver::new(&config.library_dir)
            .map_err(|error| anyhow::anyhow!("{error}"))
            .with_context(|| {
                format!(
                    "the music library {} is not usable",
                    config.library_dir.display()
                )
            })?,
    );
    let opener: Arc<dyn AudioOpener> = Arc::new(
        LocalAudioOpener::new(&config.library_dir).map_err(|error| anyhow::anyhow!("{error}"))?,
    );
    let (sink, pace) = match config.output()? {
        Output::Null => (SinkKind::Null, Pace::Fast),
        Output::NullRealtime => (SinkKind::Null, Pace::Realtime),
        Output::Wav(path) => (SinkKind::Wav(path), Pace::Realtime),
        Output::WavFast(path) => (SinkKind::Wav(path), Pace::Fast),
    };
    let player =
        Arc::new(LocalPlayer::new(opener, &sink, pace).context("could not open the audio output")?);
    if config.redis_url.is_some() {
        warn!("MINSTREL_REDIS_URL is set but the Redis cache is not built yet; using memory");
    }
    let database = connect_database(config).await?;
    let applied = migrate(&database).await?;
    info!(
        backend = database.backend().name(),
        migrations_applied = applied.len(),
        "database ready"
    );
    let settings: Arc<dyn SettingsRepo> = Arc::new(database.settings_repo());
    let playlists: Arc<dyn PlaylistRepo> = Arc::new(database.playlist_repo());
    let history: Arc<dyn HistoryRepo> = Arc::new(database.history_repo());
    let queue_store: Arc<dyn QueueStore> = Arc::new(database.queue_store());
    let events: Arc<dyn EventBus> = Arc::new(InProcessEventBus::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let player_port: Arc<dyn Player> = player.clone();
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
    Ok(App {
        music,
        console,
        player,
        _chat_links: Arc::new(database.chat_link_repo()),
    })
}

pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let app = build(&config).await?;
    let events_task = tokio::spawn(app.music.clone().run_player_events());
    if config.discord_token.is_set() {
        warn!("DISCORD_TOKEN is set, but the Discord front-end is not part of this build yet");
    }
    if config.telegram_token.is_set() {
        warn!("TELEGRAM_TOKEN is set, but the Telegram front-end is not part of this build yet");
    }
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
            result.context("the console could not write its output")?;
        }
        _ = tokio::signal::ctrl_c() => {
            info!("Ctrl-C: shutting down");
        }
    }
    if let Err(error) = app.player.shutdown() {
        warn!(%error, "the audio output did not close cleanly");
    }
    events_task.abort();
    Ok(())
}
