//! What the cache tests share: the Redis under test, fresh key prefixes, ports that refuse or
//! never answer, a TCP proxy that can be cut mid-test, and a cache that always fails.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use minstrel_app::ports::{Cache, CacheError};
use minstrel_cache::{RedisCache, RedisCacheConfig};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) const REDIS_URL_VARIABLE: &str = "MINSTREL_TEST_REDIS_URL";

/// The Redis under test, from `MINSTREL_TEST_REDIS_URL`.
///
/// Unset: under CI (`CI` set and not `false`/`0`) the test fails, since the Redis half of the
/// cache suite must run there; elsewhere it prints a note and the caller returns early.
pub(crate) fn redis_url() -> Option<String> {
    if let Ok(url) = std::env::var(REDIS_URL_VARIABLE)
        && !url.trim().is_empty()
    {
        return Some(url.trim().to_owned());
    }
    let in_ci =
        std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "false" | "0"));
    assert!(
        !in_ci,
        "{REDIS_URL_VARIABLE} is not set, and CI is: the Redis cache suite must run in CI. Start \
         Redis and set e.g. {REDIS_URL_VARIABLE}=redis://127.0.0.1:6379"
    );
    eprintln!(
        "note: {REDIS_URL_VARIABLE} is not set, so this test skips its Redis part; set it \
         (e.g. redis://127.0.0.1:6379) to run it"
    );
    None
}

/// A key prefix no other test or run uses: `minstrel-test:{pid}:{clock}:{n}:{label}:`.
pub(crate) fn fresh_prefix(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("minstrel-test:{}:{clock}:{n}:{label}:", std::process::id())
}

/// A Redis cache under a fresh prefix, with the production timeout.
pub(crate) fn redis_cache(url: &str, label: &str) -> RedisCache {
    RedisCache::new(RedisCacheConfig::new(url).with_key_prefix(fresh_prefix(label))).unwrap()
}

/// A loopback port nothing listens on: bound by the OS, then released.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Polls `condition` every 20 ms until it holds or `deadline` has passed; returns whether it
/// held.
pub(crate) async fn eventually(
    deadline: Duration,
    mut condition: impl AsyncFnMut() -> bool,
) -> bool {
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= give_up {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server that accepts connections, reads whatever comes and never answers.
pub(crate) struct SilentServer {
    pub(crate) port: u16,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SilentServer {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(tokio::spawn(async move {
                    let mut sink = [0; 4096];
                    while matches!(socket.read(&mut sink).await, Ok(read) if read > 0) {}
                }));
            }
        });
        Self {
            port,
            accepted,
            task,
        }
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyMode {
    /// Passes bytes both ways.
    Forward,
    /// Cuts every open connection and closes new ones at once, like a Redis that went away.
    Cut,
}

/// A TCP proxy on a loopback port in front of the Redis under test.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    mode: watch::Sender<ProxyMode>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// A proxy in front of the Redis `url` names, and the URL that goes through it (user
    /// information, database and query kept).
    pub(crate) async fn in_front_of(url: &str) -> (Self, String) {
        let parts = UrlParts::of(url);
        let upstream = tokio::net::lookup_host(parts.host_port.as_str())
            .await
            .ok()
            .and_then(|mut addresses| addresses.next())
            .unwrap_or_else(|| panic!("{REDIS_URL_VARIABLE} names no address I can resolve"));
        let proxy = Self::start(upstream).await;
        let proxied = format!(
            "{}://{}127.0.0.1:{}{}",
            parts.scheme, parts.userinfo, proxy.port, parts.tail
        );
        (proxy, proxied)
    }

    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mode, watcher) = watch::channel(ProxyMode::Forward);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *watcher.borrow() == ProxyMode::Forward {
                    tokio::spawn(forward(client, upstream, watcher.clone()));
                }
                // Cut: `client` is dropped here, closing the connection.
            }
        });
        Self { port, mode, task }
    }

    pub(crate) fn set_mode(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        // Dropping `mode` ends every forwarding task.
    }
}

async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<ProxyMode>,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = mode.wait_for(|mode| *mode != ProxyMode::Forward) => {}
    }
}

/// A Redis URL taken apart: `{scheme}://{userinfo}{host_port}{tail}`.
pub(crate) struct UrlParts<'a> {
    pub(crate) scheme: &'a str,
    /// `user:password@`, or empty.
    pub(crate) userinfo: &'a str,
    /// With the default port added when the URL has none.
    pub(crate) host_port: String,
    /// The database and query, if any.
    pub(crate) tail: &'a str,
}

impl<'a> UrlParts<'a> {
    pub(crate) fn of(url: &'a str) -> Self {
        let (scheme, rest) = url
            .split_once("://")
            .unwrap_or_else(|| panic!("{REDIS_URL_VARIABLE} is not a redis:// URL"));
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (userinfo, host_port) = match authority.rfind('@') {
            Some(at) => authority.split_at(at + 1),
            None => ("", authority),
        };
        let has_port = host_port
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.ends_with(':') && port.parse::<u16>().is_ok());
        let host_port = if has_port {
            host_port.to_owned()
        } else {
            format!("{host_port}:6379")
        };
        Self {
            scheme,
            userinfo,
            host_port,
            tail,
        }
    }
}

/// Captures, on this thread, what `minstrel_cache` logs (debug and up) and the value of one
/// gauge. `#[tokio::test]` runs spawned tasks on the test's thread, so the layered cache's
/// background task is captured too.
pub(crate) struct Observer {
    logs: Arc<Mutex<Vec<u8>>>,
    gauge: Arc<GaugeCell>,
    gauge_name: &'static str,
}

impl Observer {
    pub(crate) fn new(gauge_name: &'static str) -> Self {
        Self {
            logs: Arc::default(),
            gauge: Arc::default(),
            gauge_name,
        }
    }

    /// Install with `tracing::subscriber::set_default`.
    pub(crate) fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let logs = self.logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("minstrel_cache=debug"))
            .with_ansi(false)
            .with_writer(move || SharedBuffer(logs.clone()))
            .finish()
    }

    pub(crate) fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap()).into_owned()
    }

    /// Log lines at `level` (`"WARN"`, `"INFO"`) that contain `text`.
    pub(crate) fn lines(&self, level: &str, text: &str) -> usize {
        self.logs()
            .lines()
            .filter(|line| line.contains(&format!(" {level} ")) && line.contains(text))
            .count()
    }

    /// The gauge's last value; `None` when it was never set.
    pub(crate) fn gauge(&self) -> Option<f64> {
        *self.gauge.0.lock().unwrap()
    }
}

impl metrics::Recorder for Observer {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }

    fn register_gauge(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        if key.name() == self.gauge_name {
            metrics::Gauge::from_arc(self.gauge.clone())
        } else {
            metrics::Gauge::noop()
        }
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

#[derive(Default)]
struct GaugeCell(Mutex<Option<f64>>);

impl metrics::GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        let mut gauge = self.0.lock().unwrap();
        *gauge = Some(gauge.unwrap_or(0.0) + value);
    }

    fn decrement(&self, value: f64) {
        self.increment(-value);
    }

    fn set(&self, value: f64) {
        *self.0.lock().unwrap() = Some(value);
    }
}

struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A cache that refuses every call, as one whose server is gone does.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BrokenCache;

#[async_trait]
impl Cache for BrokenCache {
    async fn get(&self, _key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Err(broken())
    }

    async fn set(&self, _key: &str, _value: Vec<u8>, _ttl: Duration) -> Result<(), CacheError> {
        Err(broken())
    }

    async fn delete(&self, _key: &str) -> Result<(), CacheError> {
        Err(broken())
    }
}

fn broken() -> CacheError {
    CacheError::Unavailable("the test cache always refuses".to_owned())
}
