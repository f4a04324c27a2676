//! A list the fakes append to and tests wait on, shared by the fakes in this crate.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// How long the `wait_*` helpers wait before failing the test.
pub const WAIT: Duration = Duration::from_secs(15);

/// A list that tests can wait on.
pub(crate) struct Recorder<T> {
    items: Mutex<Vec<T>>,
    changed: Notify,
}

impl<T: Clone> Recorder<T> {
    pub(crate) fn new() -> Self {
        Self {
            items: Mutex::new(Vec::new()),
            changed: Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn push(&self, item: T) {
        self.lock().push(item);
        self.changed.notify_waiters();
    }

    /// Wakes the waiters without recording anything (state beside the list changed).
    pub(crate) fn notify(&self) {
        self.changed.notify_waiters();
    }

    pub(crate) fn snapshot(&self) -> Vec<T> {
        self.lock().clone()
    }

    /// Waits up to [`WAIT`] until `found` returns `Some` for the recorded items.
    pub(crate) async fn wait_for<R>(&self, what: &str, found: impl Fn(&[T]) -> Option<R>) -> R {
        self.wait_for_within(what, WAIT, found).await
    }

    /// Waits up to `timeout` until `found` returns `Some` for the recorded items.
    ///
    /// # Panics
    /// After `timeout` without it: a hang is a test failure.
    pub(crate) async fn wait_for_within<R>(
        &self,
        what: &str,
        timeout: Duration,
        found: impl Fn(&[T]) -> Option<R>,
    ) -> R {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = found(&self.lock()) {
                return result;
            }
            let woke = tokio::time::timeout_at(deadline, notified).await;
            assert!(woke.is_ok(), "waited {timeout:?} for {what}");
        }
    }
}
