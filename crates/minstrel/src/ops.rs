//! The operations HTTP endpoint (off unless `MINSTREL_HTTP_ADDR` is set):
//!
//! - `GET /health`: liveness, `200 ok` while the process serves requests at all.
//! - `GET /ready`: readiness, a JSON report of every [`Readiness`] check (database, cache,
//!   Discord, Telegram), each `healthy`, `degraded` or `unhealthy` with a reason. 200 while the
//!   worst check is `degraded` or better, 503 once one is `unhealthy`.
//! - `GET /metrics`: the Prometheus text of the process-wide recorder that
//!   [`install_metrics_recorder`] installs; [`metric`] names what it reports.
//!
//! Nothing here writes a token or a URL into a reply: reasons are the sentences the adapters'
//! errors show to users, without their causes.
//!
//! A connection must send a request's headers within [`HEADER_READ_TIMEOUT`] and, kept alive,
//! start its next request within the same time; otherwise it is closed, so idle or slow
//! clients cannot hold connections open forever.

// Until `wiring::run` starts the endpoint (the lead's change), only the tests use this module.
#![allow(dead_code, reason = "started by wiring::run; remove once it is wired")]

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use futures::future::{BoxFuture, FutureExt, join_all};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use minstrel_cache::LayeredCache;
use minstrel_db::SqlDatabase;
use minstrel_domain::{DomainEvent, GuildId, SourceKind};
use serde::Serialize;
use tokio::sync::broadcast;
use tracing::{debug, info, warn};

/// The names of minstrel's metrics. Those the adapters and front-ends record are their own
/// constants (they cannot see this crate), so a name cannot drift between the code that
/// records it and the exporter that describes it; `describe_metrics` gives each its help text.
pub(crate) mod metric {
    /// Counter, labels `frontend` (`discord`, `telegram`), `command` and `outcome` (`ok`,
    /// `user_error`, `internal_error`). The Telegram front-end counts into the same name.
    pub(crate) const COMMANDS: &str = minstrel_discord::metrics::COMMANDS_TOTAL;
    /// Histogram: from a Discord interaction arriving to its acknowledgement.
    pub(crate) const INTERACTION_ACK_SECONDS: &str =
        minstrel_discord::metrics::INTERACTION_ACK_SECONDS;
    /// Gauge: guilds with a current track (paused ones included).
    pub(crate) const PLAYING_GUILDS: &str = "minstrel_playing_guilds";
    /// Counter, label `source` ([`minstrel_domain::SourceKind::as_str`]).
    pub(crate) const TRACKS_STARTED: &str = "minstrel_tracks_started_total";
    /// Counter, label `source`.
    pub(crate) const TRACKS_FAILED: &str = "minstrel_tracks_failed_total";
    /// Counter: Discord voice connections re-established after a drop.
    pub(crate) const VOICE_RECONNECTS: &str = minstrel_voice::metrics::VOICE_RECONNECTS;
    /// Histogram: DSP time for one 20 ms block of one guild.
    pub(crate) const DSP_BLOCK_SECONDS: &str = minstrel_voice::metrics::DSP_BLOCK_SECONDS;
    /// Counter, label `layer` (`memory`, `redis`): cache reads that layer answered. Each layer
    /// counts its own reads (a memory miss that Redis answers is a memory miss and a Redis
    /// hit); a Redis call that fails is neither.
    pub(crate) const CACHE_HITS: &str = minstrel_cache::MokaCache::HITS_COUNTER;
    /// Counter, label `layer`: cache reads that layer found nothing for.
    pub(crate) const CACHE_MISSES: &str = minstrel_cache::MokaCache::MISSES_COUNTER;
    /// Gauge: 1 while the layered cache runs on memory alone (set by minstrel-cache).
    pub(crate) const CACHE_DEGRADED: &str = minstrel_cache::DEGRADED_GAUGE;
    /// Gauge, label `component`: 1 while that component reports degraded or unhealthy.
    pub(crate) const COMPONENT_DEGRADED: &str = "minstrel_component_degraded";
    /// Gauge: database writes held in the outbox while the database is unreachable (set by
    /// minstrel-app's outbox).
    pub(crate) const OUTBOX_DEPTH: &str = minstrel_app::OUTBOX_DEPTH_GAUGE;
    /// Counter, label `reason` ([`minstrel_sources::YtDlpFailure::as_str`]): yt-dlp runs that
    /// failed (resolve or stream).
    pub(crate) const YT_DLP_FAILURES: &str = minstrel_sources::YT_DLP_FAILURES_COUNTER;
}

/// How long one readiness check may take before it counts as unhealthy: a probe that hangs
/// must not hang `/ready` (orchestrators time out and restart the container).
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// How long each ping of a service (database, Redis) may take: well inside [`CHECK_TIMEOUT`], so
/// the reply names the service that does not answer.
const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a client may take to send a request's headers, and how long a kept-alive
/// connection may sit idle before its next request.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause after a failed `accept` (out of file descriptors), so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// How often histogram samples are folded into their buckets between scrapes, so memory stays
/// bounded when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Every source kind, so each `source` label exists (at 0) before its first track.
const SOURCE_KINDS: [SourceKind; 10] = [
    SourceKind::Local,
    SourceKind::Http,
    SourceKind::YouTube,
    SourceKind::YouTubeMusic,
    SourceKind::SoundCloud,
    SourceKind::Bandcamp,
    SourceKind::Twitch,
    SourceKind::Vimeo,
    SourceKind::Spotify,
    SourceKind::Other,
];

/// The `layer` labels of the cache counters, so each exists (at 0) before its first read.
const CACHE_LAYERS: [&str; 2] = [
    minstrel_cache::MokaCache::MEMORY_LAYER,
    minstrel_cache::LayeredCache::REDIS_LAYER,
];

/// Ordered from best to worst, so the report's status is the maximum of its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Health {
    Healthy,
    Degraded,
    Unhealthy,
}

/// What one check found, with the reason an operator reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ComponentStatus {
    pub(crate) status: Health,
    pub(crate) reason: String,
}

impl ComponentStatus {
    pub(crate) fn healthy(reason: impl Into<String>) -> Self {
        Self {
            status: Health::Healthy,
            reason: reason.into(),
        }
    }

    pub(crate) fn degraded(reason: impl Into<String>) -> Self {
        Self {
            status: Health::Degraded,
            reason: reason.into(),
        }
    }

    pub(crate) fn unhealthy(reason: impl Into<String>) -> Self {
        Self {
            status: Health::Unhealthy,
            reason: reason.into(),
        }
    }

    /// A component the configuration turned off ("no `TELEGRAM_TOKEN`"): healthy, since
    /// nothing that should run is failing.
    pub(crate) fn disabled(reason: &str) -> Self {
        Self::healthy(format!("disabled: {reason}"))
    }
}

/// A component's status as its own task last reported it (the Discord shards, the Telegram
/// poller). Clones share the value; `set` is cheap enough for every state change.
#[derive(Debug, Clone)]
pub(crate) struct StatusCell {
    component: &'static str,
    status: Arc<ArcSwap<ComponentStatus>>,
}

impl StatusCell {
    pub(crate) fn new(component: &'static str, initial: ComponentStatus) -> Self {
        let cell = Self {
            component,
            status: Arc::new(ArcSwap::from_pointee(initial.clone())),
        };
        cell.set(initial);
        cell
    }

    pub(crate) fn set(&self, status: ComponentStatus) {
        let flag = if status.status == Health::Healthy {
            0.0
        } else {
            1.0
        };
        metrics::gauge!(metric::COMPONENT_DEGRADED, "component" => self.component).set(flag);
        self.status.store(Arc::new(status));
    }

    pub(crate) fn get(&self) -> ComponentStatus {
        ComponentStatus::clone(&self.status.load())
    }
}

/// One readiness check, asked anew on every `GET /ready`.
type Check = Arc<dyn Fn() -> BoxFuture<'static, ComponentStatus> + Send + Sync>;

/// The checks behind `GET /ready`, by name.
#[derive(Clone, Default)]
pub(crate) struct Readiness {
    checks: Vec<(&'static str, Check)>,
}

impl Readiness {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the check called `name`.
    #[must_use]
    pub(crate) fn with_check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ComponentStatus> + Send + 'static,
    {
        self.checks.retain(|(existing, _)| *existing != name);
        self.checks.push((name, Arc::new(move || check().boxed())));
        self
    }

    /// The standard four: `database`, `cache`, `discord`, `telegram`.
    pub(crate) fn standard(
        database: SqlDatabase,
        cache: Option<LayeredCache>,
        discord: StatusCell,
        telegram: StatusCell,
    ) -> Self {
        Self::new()
            .with_check("database", database_check(database))
            .with_check("cache", cache_check(cache))
            .with_check("discord", status_check(discord))
            .with_check("telegram", status_check(telegram))
    }

    /// Runs every check at once, each bounded by [`CHECK_TIMEOUT`].
    pub(crate) async fn evaluate(&self) -> ReadinessReport {
        let results = join_all(self.checks.iter().map(|(name, check)| async move {
            let status = tokio::time::timeout(CHECK_TIMEOUT, check())
                .await
                .unwrap_or_else(|_| {
                    ComponentStatus::unhealthy(format!(
                        "the check did not answer within {} s",
                        CHECK_TIMEOUT.as_secs()
                    ))
                });
            (*name, status)
        }))
        .await;
        let status = results
            .iter()
            .map(|(_, result)| result.status)
            .max()
            .unwrap_or(Health::Healthy);
        ReadinessReport {
            status,
            checks: results.into_iter().collect(),
        }
    }
}

/// The body of `GET /ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ReadinessReport {
    pub(crate) status: Health,
    pub(crate) checks: BTreeMap<&'static str, ComponentStatus>,
}

/// Pings the database.
pub(crate) fn database_check(
    database: SqlDatabase,
) -> impl Fn() -> BoxFuture<'static, ComponentStatus> + Send + Sync + 'static {
    move || {
        let database = database.clone();
        async move {
            let backend = database.backend().name();
            match tokio::time::timeout(PING_TIMEOUT, database.ping()).await {
                Ok(Ok(())) => ComponentStatus::healthy(format!("{backend} answers")),
                Ok(Err(error)) => {
                    // The cause may name the host; it goes to the debug log, not the reply.
                    debug!(?error, "readiness: the database ping failed");
                    ComponentStatus::unhealthy(format!("{backend} does not answer: {error}"))
                }
                Err(_) => ComponentStatus::unhealthy(format!(
                    "{backend} does not answer: no reply to a ping within {} s",
                    PING_TIMEOUT.as_secs()
                )),
            }
        }
        .boxed()
    }
}

/// Pings Redis behind the memory cache: unhealthy when it does not answer within
/// [`PING_TIMEOUT`], degraded while it answers but the cache's circuit breaker is still open.
/// Without Redis configured the memory cache is all there is, which is healthy.
pub(crate) fn cache_check(
    cache: Option<LayeredCache>,
) -> impl Fn() -> BoxFuture<'static, ComponentStatus> + Send + Sync + 'static {
    move || {
        let cache = cache.clone();
        async move {
            let Some(cache) = cache else {
                return ComponentStatus::healthy("memory only (no MINSTREL_REDIS_URL)");
            };
            match tokio::time::timeout(PING_TIMEOUT, cache.redis().ping()).await {
                Ok(Ok(())) if cache.is_degraded() => ComponentStatus::degraded(
                    "Redis answers again; answering from process memory until the cache \
                     reconnects",
                ),
                Ok(Ok(())) => ComponentStatus::healthy("Redis and process memory"),
                Ok(Err(error)) => {
                    debug!(%error, "readiness: the Redis ping failed");
                    ComponentStatus::unhealthy(
                        "Redis does not answer; answering from process memory alone",
                    )
                }
                Err(_) => ComponentStatus::unhealthy(format!(
                    "Redis does not answer a ping within {} s; answering from process memory \
                     alone",
                    PING_TIMEOUT.as_secs()
                )),
            }
        }
        .boxed()
    }
}

/// The database outbox: degraded while writes wait in it for the database.
pub(crate) fn outbox_check(
    outbox: minstrel_app::Outbox,
) -> impl Fn() -> BoxFuture<'static, ComponentStatus> + Send + Sync + 'static {
    move || {
        let status = match outbox.depth() {
            0 => ComponentStatus::healthy("no writes waiting"),
            waiting => ComponentStatus::degraded(format!(
                "{waiting} writes wait for the database to answer again"
            )),
        };
        futures::future::ready(status).boxed()
    }
}

/// Whatever the component's task last wrote into `cell`.
pub(crate) fn status_check(
    cell: StatusCell,
) -> impl Fn() -> BoxFuture<'static, ComponentStatus> + Send + Sync + 'static {
    move || futures::future::ready(cell.get()).boxed()
}

/// What the HTTP handlers share.
#[derive(Clone)]
pub(crate) struct OpsState {
    readiness: Arc<Readiness>,
    metrics: PrometheusHandle,
}

impl OpsState {
    pub(crate) fn new(readiness: Readiness, metrics: PrometheusHandle) -> Self {
        Self {
            readiness: Arc::new(readiness),
            metrics,
        }
    }
}

pub(crate) fn router(state: OpsState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

/// Serves the endpoint on `listener` until `shutdown` completes.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    state: OpsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_header_timeout(listener, state, shutdown, HEADER_READ_TIMEOUT).await
}

/// [`serve`], closing connections that take longer than `header_timeout` to send a request's
/// headers or to start the next request.
async fn serve_with_header_timeout(
    listener: tokio::net::TcpListener,
    state: OpsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    header_timeout: Duration,
) -> std::io::Result<()> {
    if let Ok(address) = listener.local_addr() {
        info!(%address, "ops endpoint listening (/health, /ready, /metrics)");
    }
    let metrics = state.metrics.clone();
    let upkeep = tokio::spawn(async move {
        let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            interval.tick().await;
            metrics.run_upkeep();
        }
    });
    let service = hyper_util::service::TowerToHyperService::new(router(state));
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper starts the header timer whenever it waits for a request's head: on a new
    // connection and between the requests of a kept-alive one, so it is the idle timeout too.
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    warn!(%error, "the ops endpoint could not accept a connection");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        let connection = connections
            .watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service.clone()));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(%error, "an ops endpoint connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
    upkeep.abort();
    Ok(())
}

async fn health() -> &'static str {
    "ok"
}

async fn ready(State(state): State<OpsState>) -> impl IntoResponse {
    let report = state.readiness.evaluate().await;
    let code = if report.status == Health::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(report))
}

async fn render_metrics(State(state): State<OpsState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// Interaction acknowledgements: Discord allows 3 s.
const ACK_BUCKETS: &[f64] = &[0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0];
/// One block is 20 ms of audio; anything near that is a guild about to stutter.
const DSP_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.02,
];

fn prometheus_builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(metric::INTERACTION_ACK_SECONDS.to_owned()),
            ACK_BUCKETS,
        )
        .and_then(|builder| {
            builder.set_buckets_for_metric(
                Matcher::Full(metric::DSP_BLOCK_SECONDS.to_owned()),
                DSP_BUCKETS,
            )
        })
        .expect("the bucket lists are not empty")
}

/// Installs the process-wide Prometheus recorder (once; later calls return the same handle)
/// and describes every metric in [`metric`]. Call it before building the adapters, so their
/// first metrics are recorded.
pub(crate) fn install_metrics_recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = prometheus_builder().build_recorder();
            let handle = recorder.handle();
            if let Err(error) = metrics::set_global_recorder(recorder) {
                warn!(%error, "another metrics recorder is installed; /metrics stays empty");
            }
            describe_metrics();
            handle
        })
        .clone()
}

/// Describes every metric and registers those without free-form labels at zero, so a scrape
/// lists them before their first event (the exporter prints only registered metrics).
fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

    describe_counter!(
        metric::COMMANDS,
        "Commands handled, by front-end, command name and outcome."
    );
    describe_histogram!(
        metric::INTERACTION_ACK_SECONDS,
        Unit::Seconds,
        "Time from a Discord interaction arriving to its acknowledgement."
    );
    // Taking the handle registers the histogram; recording is for the code that measures.
    let _ = metrics::histogram!(metric::INTERACTION_ACK_SECONDS);
    describe_gauge!(
        metric::PLAYING_GUILDS,
        "Guilds with a current track (paused ones included)."
    );
    metrics::gauge!(metric::PLAYING_GUILDS).set(0.0);
    describe_counter!(metric::TRACKS_STARTED, "Tracks started, by source.");
    describe_counter!(
        metric::TRACKS_FAILED,
        "Tracks that failed to start or to play, by source."
    );
    for kind in SOURCE_KINDS {
        metrics::counter!(metric::TRACKS_STARTED, "source" => kind.as_str()).absolute(0);
        metrics::counter!(metric::TRACKS_FAILED, "source" => kind.as_str()).absolute(0);
    }
    describe_counter!(
        metric::VOICE_RECONNECTS,
        "Discord voice connections re-established after a drop."
    );
    metrics::counter!(metric::VOICE_RECONNECTS).absolute(0);
    describe_histogram!(
        metric::DSP_BLOCK_SECONDS,
        Unit::Seconds,
        "DSP time for one 20 ms block of one guild."
    );
    // Taking the handle registers the histogram; recording is for the code that measures.
    let _ = metrics::histogram!(metric::DSP_BLOCK_SECONDS);
    describe_counter!(
        metric::CACHE_HITS,
        "Cache reads answered, by cache layer (memory, redis)."
    );
    describe_counter!(
        metric::CACHE_MISSES,
        "Cache reads that found nothing, by cache layer."
    );
    for layer in CACHE_LAYERS {
        metrics::counter!(metric::CACHE_HITS, "layer" => layer).absolute(0);
        metrics::counter!(metric::CACHE_MISSES, "layer" => layer).absolute(0);
    }
    describe_gauge!(
        metric::CACHE_DEGRADED,
        "1 while the cache runs on process memory alone because Redis is down."
    );
    metrics::gauge!(metric::CACHE_DEGRADED).set(0.0);
    describe_gauge!(
        metric::COMPONENT_DEGRADED,
        "1 while a component (discord, telegram, …) reports degraded or unhealthy."
    );
    describe_gauge!(
        metric::OUTBOX_DEPTH,
        "Database writes held in the outbox until the database answers again."
    );
    metrics::gauge!(metric::OUTBOX_DEPTH).set(0.0);
    describe_counter!(
        metric::YT_DLP_FAILURES,
        "yt-dlp runs that failed (resolving or streaming), by reason."
    );
    for reason in minstrel_sources::YtDlpFailure::ALL {
        metrics::counter!(metric::YT_DLP_FAILURES, "reason" => reason.as_str()).absolute(0);
    }
}

/// Turns domain events into metrics: tracks started and failed by source, playing guilds.
#[derive(Debug, Default)]
pub(crate) struct EventMetrics {
    playing: HashSet<GuildId>,
}

impl EventMetrics {
    pub(crate) fn record(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::TrackStarted { guild, track } => {
                metrics::counter!(metric::TRACKS_STARTED, "source" => track.source_kind.as_str())
                    .increment(1);
                self.playing.insert(*guild);
            }
            DomainEvent::TrackFailed { guild, track, .. } => {
                metrics::counter!(metric::TRACKS_FAILED, "source" => track.source_kind.as_str())
                    .increment(1);
                self.playing.remove(guild);
            }
            // The next track's `TrackStarted` follows its predecessor's end.
            DomainEvent::TrackEnded { guild, .. } | DomainEvent::QueueFinished { guild } => {
                self.playing.remove(guild);
            }
            _ => return,
        }
        #[expect(
            clippy::cast_precision_loss,
            reason = "a guild count is far below 2^52"
        )]
        metrics::gauge!(metric::PLAYING_GUILDS).set(self.playing.len() as f64);
    }

    /// Records every event of `events` until the bus closes. The composition root spawns it.
    pub(crate) async fn run(mut self, mut events: broadcast::Receiver<DomainEvent>) {
        loop {
            match events.recv().await {
                Ok(event) => self.record(&event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    debug!(
                        missed,
                        "event metrics fell behind; some events were not counted"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use minstrel_domain::{Requester, Track, TrackId};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::oneshot;

    use super::*;

    /// A recorder of the test's own (not the global one), with every metric described.
    fn local_metrics() -> (
        metrics_exporter_prometheus::PrometheusRecorder,
        PrometheusHandle,
    ) {
        let recorder = prometheus_builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, describe_metrics);
        (recorder, handle)
    }

    struct Server {
        address: std::net::SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Server {
        async fn start(readiness: Readiness, metrics: PrometheusHandle) -> Self {
            Self::start_with_header_timeout(readiness, metrics, HEADER_READ_TIMEOUT).await
        }

        async fn start_with_header_timeout(
            readiness: Readiness,
            metrics: PrometheusHandle,
            header_timeout: Duration,
        ) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(serve_with_header_timeout(
                listener,
                OpsState::new(readiness, metrics),
                async move {
                    stopped.await.ok();
                },
                header_timeout,
            ));
            Self {
                address,
                stop: Some(stop),
                task,
            }
        }

        /// A plain HTTP/1.1 GET; returns the status code and the body.
        async fn get(&self, path: &str) -> (u16, String) {
            let mut stream = TcpStream::connect(self.address).await.unwrap();
            stream
                .write_all(
                    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await
                .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            let (head, body) = response.split_once("\r\n\r\n").unwrap();
            let status = head.split(' ').nth(1).unwrap().parse().unwrap();
            (status, body.to_owned())
        }

        async fn stop(mut self) {
            self.stop.take().unwrap().send(()).unwrap();
            self.task.await.unwrap().unwrap();
        }
    }

    fn passing() -> Readiness {
        Readiness::new()
            .with_check("database", || async {
                ComponentStatus::healthy("SQLite answers")
            })
            .with_check("cache", cache_check(None))
            .with_check(
                "discord",
                status_check(StatusCell::new(
                    "discord",
                    ComponentStatus::healthy("1 shard connected"),
                )),
            )
            .with_check(
                "telegram",
                status_check(StatusCell::new(
                    "telegram",
                    ComponentStatus::disabled("no TELEGRAM_TOKEN"),
                )),
            )
    }

    #[tokio::test]
    async fn health_answers_ok() {
        let (_recorder, handle) = local_metrics();
        let server = Server::start(passing(), handle).await;
        assert_eq!(server.get("/health").await, (200, "ok".to_owned()));
        assert_eq!(server.get("/nothing-here").await.0, 404);
        server.stop().await;
    }

    #[tokio::test]
    async fn ready_is_200_with_every_check_when_all_pass() {
        let (_recorder, handle) = local_metrics();
        let server = Server::start(passing(), handle).await;
        let (status, body) = server.get("/ready").await;
        assert_eq!(status, 200, "{body}");
        let report: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(report["status"], "healthy", "{body}");
        for check in ["database", "cache", "discord", "telegram"] {
            assert_eq!(report["checks"][check]["status"], "healthy", "{body}");
        }
        assert_eq!(
            report["checks"]["telegram"]["reason"],
            "disabled: no TELEGRAM_TOKEN"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn ready_is_503_when_a_check_fails_and_200_when_only_degraded() {
        let (_recorder, handle) = local_metrics();
        let discord = StatusCell::new("discord", ComponentStatus::unhealthy("gateway refused"));
        let readiness = passing().with_check("discord", status_check(discord.clone()));
        let server = Server::start(readiness, handle).await;

        let (status, body) = server.get("/ready").await;
        assert_eq!(status, 503, "{body}");
        let report: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(report["status"], "unhealthy");
        assert_eq!(report["checks"]["discord"]["reason"], "gateway refused");
        assert_eq!(report["checks"]["database"]["status"], "healthy");

        discord.set(ComponentStatus::degraded("1 of 2 shards reconnecting"));
        let (status, body) = server.get("/ready").await;
        assert_eq!(status, 200, "{body}");
        let report: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(report["status"], "degraded");
        server.stop().await;
    }

    #[tokio::test]
    async fn the_database_check_pings_the_database() {
        let database = SqlDatabase::connect("sqlite::memory:").await.unwrap();
        let check = database_check(database.clone());
        assert_eq!(check().await.status, Health::Healthy);
        database.close().await.unwrap();
        let status = check().await;
        assert_eq!(status.status, Health::Unhealthy, "{status:?}");
        assert!(
            status.reason.starts_with("SQLite does not answer"),
            "{status:?}"
        );
    }

    /// A layered cache whose Redis is at `address`.
    fn cache_at(address: std::net::SocketAddr) -> LayeredCache {
        let redis = minstrel_cache::RedisCache::new(minstrel_cache::RedisCacheConfig::new(
            format!("redis://{address}"),
        ))
        .unwrap();
        LayeredCache::new(
            minstrel_cache::MokaCache::new(minstrel_cache::CacheCapacity::Entries(100)),
            redis,
            minstrel_cache::LayeredCacheConfig::default(),
        )
    }

    #[tokio::test]
    async fn the_cache_check_pings_redis_and_a_dead_one_is_unhealthy_within_the_deadline() {
        // A port nothing listens on: the connection is refused.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let started = std::time::Instant::now();
        let status = cache_check(Some(cache_at(closed)))().await;
        assert_eq!(status.status, Health::Unhealthy, "{status:?}");
        assert!(
            status.reason.contains("Redis does not answer"),
            "{status:?}"
        );
        assert!(started.elapsed() < CHECK_TIMEOUT, "{:?}", started.elapsed());

        // A port that accepts connections and never answers: the ping's deadline decides.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let started = std::time::Instant::now();
        let report = Readiness::new()
            .with_check(
                "cache",
                cache_check(Some(cache_at(silent.local_addr().unwrap()))),
            )
            .evaluate()
            .await;
        let status = &report.checks["cache"];
        assert_eq!(status.status, Health::Unhealthy, "{status:?}");
        assert!(
            status.reason.contains("Redis does not answer"),
            "{status:?}"
        );
        assert!(started.elapsed() < CHECK_TIMEOUT, "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_connection_that_sends_half_a_header_or_nothing_is_closed_at_the_timeout() {
        let (_recorder, handle) = local_metrics();
        let header_timeout = Duration::from_millis(300);
        let server = Server::start_with_header_timeout(passing(), handle, header_timeout).await;
        // Bounds the wait for the close: far past the timeout, far short of forever.
        let limit = Duration::from_secs(10);
        for sent in [&b"GET /health HTTP/1.1\r\nHost: loc"[..], &b""[..]] {
            let mut stream = TcpStream::connect(server.address).await.unwrap();
            stream.write_all(sent).await.unwrap();
            let started = std::time::Instant::now();
            let mut rest = Vec::new();
            let read = tokio::time::timeout(limit, stream.read_to_end(&mut rest)).await;
            assert!(
                read.is_ok(),
                "the connection stayed open after sending {sent:?}"
            );
            assert!(
                started.elapsed() >= header_timeout / 2,
                "{:?}",
                started.elapsed()
            );
            // No request was answered.
            assert!(
                !String::from_utf8_lossy(&rest).contains("200 OK"),
                "{rest:?}"
            );
        }
        // A complete request on a kept-alive connection is answered, then the idle connection
        // is closed too.
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the idle kept-alive connection stayed open");
        assert!(
            String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200 OK"),
            "{answer:?}"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_check_that_never_answers_counts_as_unhealthy() {
        tokio::time::pause();
        let readiness = Readiness::new().with_check("database", || async {
            futures::future::pending::<ComponentStatus>().await
        });
        let report = readiness.evaluate().await;
        assert_eq!(report.status, Health::Unhealthy);
        assert!(
            report.checks["database"].reason.contains("did not answer"),
            "{report:?}"
        );
    }

    #[tokio::test]
    async fn metrics_lists_the_described_metrics_in_prometheus_text() {
        let (_recorder, handle) = local_metrics();
        let server = Server::start(passing(), handle).await;
        let (status, body) = server.get("/metrics").await;
        assert_eq!(status, 200);
        for name in [
            metric::PLAYING_GUILDS,
            metric::TRACKS_STARTED,
            metric::VOICE_RECONNECTS,
            metric::OUTBOX_DEPTH,
            metric::YT_DLP_FAILURES,
            metric::CACHE_DEGRADED,
        ] {
            assert!(
                body.contains(&format!("# TYPE {name} ")),
                "{name} in {body}"
            );
        }
        assert!(
            body.contains("# HELP minstrel_voice_reconnects_total Discord voice connections"),
            "{body}"
        );
        assert!(
            body.contains("minstrel_dsp_block_seconds_bucket{le=\"0.02\"} 0"),
            "{body}"
        );
        server.stop().await;
    }

    fn track(id: u64, source_kind: SourceKind) -> Track {
        Track {
            id: TrackId(id),
            title: format!("track {id}"),
            artist: None,
            duration: None,
            source_kind,
            locator: format!("{id}.wav"),
            thumbnail: None,
            requested_by: Requester::console(),
        }
    }

    #[test]
    fn domain_events_count_tracks_by_source_and_playing_guilds() {
        let (recorder, handle) = local_metrics();
        let first = GuildId::new(1).unwrap();
        let second = GuildId::new(2).unwrap();
        let mut event_metrics = EventMetrics::default();
        metrics::with_local_recorder(&recorder, || {
            for event in [
                DomainEvent::TrackStarted {
                    guild: first,
                    track: track(1, SourceKind::Local),
                },
                DomainEvent::TrackStarted {
                    guild: second,
                    track: track(2, SourceKind::YouTube),
                },
                DomainEvent::TrackFailed {
                    guild: second,
                    track: track(3, SourceKind::YouTube),
                    reason: "HTTP 403".to_owned(),
                },
                DomainEvent::Paused { guild: first },
            ] {
                event_metrics.record(&event);
            }
        });
        let text = handle.render();
        assert!(
            text.contains("minstrel_tracks_started_total{source=\"local\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("minstrel_tracks_started_total{source=\"youtube\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("minstrel_tracks_failed_total{source=\"youtube\"} 1"),
            "{text}"
        );
        assert!(text.contains("minstrel_playing_guilds 1\n"), "{text}");

        metrics::with_local_recorder(&recorder, || {
            event_metrics.record(&DomainEvent::QueueFinished { guild: first });
        });
        assert!(
            handle.render().contains("minstrel_playing_guilds 0\n"),
            "{text}"
        );
    }

    #[test]
    fn metric_names_are_the_ones_the_crates_record() {
        // The exporter's names are the crates' constants; these pin the public names, which
        // dashboards and alerts depend on, and the two front-ends' shared counter.
        assert_eq!(metric::COMMANDS, "minstrel_commands_total");
        assert_eq!(metric::COMMANDS, minstrel_telegram::metrics::COMMANDS_TOTAL);
        assert_eq!(
            metric::INTERACTION_ACK_SECONDS,
            "minstrel_interaction_ack_seconds"
        );
        assert_eq!(metric::VOICE_RECONNECTS, "minstrel_voice_reconnects_total");
        assert_eq!(metric::DSP_BLOCK_SECONDS, "minstrel_dsp_block_seconds");
        assert_eq!(metric::CACHE_HITS, "minstrel_cache_hits_total");
        assert_eq!(metric::CACHE_MISSES, "minstrel_cache_misses_total");
        assert_eq!(metric::CACHE_DEGRADED, "minstrel_cache_degraded");
        assert_eq!(metric::YT_DLP_FAILURES, "minstrel_yt_dlp_failures_total");
        // Both front-ends label outcomes with the vocabulary's one Outcome.
        let labels: Vec<&str> = minstrel_app::vocabulary::Outcome::ALL
            .iter()
            .map(|outcome| outcome.as_str())
            .collect();
        assert_eq!(labels, ["ok", "user_error", "internal_error"]);
    }

    #[test]
    fn labelled_counters_are_listed_at_zero_for_every_label() {
        let (_recorder, handle) = local_metrics();
        let text = handle.render();
        for line in [
            "minstrel_cache_hits_total{layer=\"memory\"} 0",
            "minstrel_cache_misses_total{layer=\"redis\"} 0",
            "minstrel_yt_dlp_failures_total{reason=\"timeout\"} 0",
            "minstrel_yt_dlp_failures_total{reason=\"not_installed\"} 0",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(
            !text.contains("minstrel_cache_hits_total 0"),
            "an unlabelled series would stay 0 forever: {text}"
        );
    }

    #[test]
    fn status_cells_raise_the_degraded_flag() {
        let (recorder, handle) = local_metrics();
        metrics::with_local_recorder(&recorder, || {
            let cell = StatusCell::new("telegram", ComponentStatus::disabled("no TELEGRAM_TOKEN"));
            cell.set(ComponentStatus::degraded("long polling retries"));
        });
        let text = handle.render();
        assert!(
            text.contains("minstrel_component_degraded{component=\"telegram\"} 1"),
            "{text}"
        );
    }
}
