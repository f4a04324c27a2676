//! What the bus tests share: the Redis under test, fresh key prefixes, a port that refuses,
//! polling, and an observer of the log lines and a gauge.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) const REDIS_URL_VARIABLE: &str = "MINSTREL_TEST_REDIS_URL";

/// The Redis under test, from `MINSTREL_TEST_REDIS_URL`.
///
/// Unset: under CI (`CI` set and not `false`/`0`) the test fails, since the Redis bus tests
/// must run there; elsewhere it prints a note and the caller returns early.
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
        "{REDIS_URL_VARIABLE} is not set, and CI is: the Redis bus tests must run in CI. Start \
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

/// Captures, on this thread, what `minstrel_bus` logs (debug and up) and the value of one
/// gauge. `#[tokio::test]` runs spawned tasks on the test's thread, so the buses' background
/// tasks are captured too.
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
            .with_env_filter(tracing_subscriber::EnvFilter::new("minstrel_bus=debug"))
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
