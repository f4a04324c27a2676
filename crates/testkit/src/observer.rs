//! Watching an adapter work: what it logs and the value of one gauge it sets, and polling until
//! a condition holds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Polls `condition` every 20 ms until it holds or `deadline` has passed; returns whether it
/// held.
pub async fn eventually(deadline: Duration, mut condition: impl AsyncFnMut() -> bool) -> bool {
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

/// Captures, on this thread, what one crate logs (debug and up) and the value of one gauge.
/// `#[tokio::test]` runs spawned tasks on the test's thread, so the background tasks of the
/// adapter under test are captured too.
pub struct Observer {
    logs: Arc<Mutex<Vec<u8>>>,
    gauge: Arc<GaugeCell>,
    target: &'static str,
    gauge_name: &'static str,
}

impl Observer {
    /// Observes what the crate `target` (e.g. `minstrel_bus`) logs and the gauge `gauge_name`.
    pub fn new(target: &'static str, gauge_name: &'static str) -> Self {
        Self {
            logs: Arc::default(),
            gauge: Arc::default(),
            target,
            gauge_name,
        }
    }

    /// Install with `tracing::subscriber::set_default`.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let logs = self.logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
                "{}=debug",
                self.target
            )))
            .with_ansi(false)
            .with_writer(move || SharedBuffer(logs.clone()))
            .finish()
    }

    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap()).into_owned()
    }

    /// Log lines at `level` (`"WARN"`, `"INFO"`) that contain `text`.
    pub fn lines(&self, level: &str, text: &str) -> usize {
        self.logs()
            .lines()
            .filter(|line| line.contains(&format!(" {level} ")) && line.contains(text))
            .count()
    }

    /// The gauge's last value; `None` when it was never set.
    pub fn gauge(&self) -> Option<f64> {
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
