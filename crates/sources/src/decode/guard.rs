//! Calls into symphonia under `catch_unwind`, with a panic hook that turns a caught panic into
//! one log line.
//!
//! Rust's default hook prints every panic's message (and a backtrace when `RUST_BACKTRACE` is
//! set) to stderr before `catch_unwind` sees it. A decoder panic on a hostile file is an
//! expected, handled outcome: it becomes [`AudioError::Corrupt`] and a single WARN line. Panics
//! anywhere else still reach the hook that was installed before, unchanged.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::sync::Once;

use minstrel_app::ports::AudioError;

pub(super) const CRASHED: &str = "the decoder crashed on this file";

thread_local! {
    /// Whether this thread is inside [`guarded`]: only those panics are caught and logged.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Wraps the panic hook in place when the first guarded call runs (after the binary set its
/// own, if any) so that panics inside [`guarded`] are logged once and not printed.
fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(wrap_current_hook);
}

/// Puts a hook in front of the current one that logs guarded panics and passes on the rest.
fn wrap_current_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if GUARDED.with(Cell::get) {
            log_caught(info);
        } else {
            previous(info);
        }
    }));
}

fn log_caught(info: &PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-text panic");
    let location = info
        .location()
        .map(|location| format!("{}:{}", location.file(), location.line()))
        .unwrap_or_default();
    tracing::warn!(
        %message,
        %location,
        "the decoder panicked on a malformed file; the track is refused"
    );
}

/// Leaves the guarded state when dropped, so an unwinding panic cannot leave it set.
struct GuardedScope {
    was_guarded: bool,
}

impl GuardedScope {
    fn enter() -> Self {
        Self {
            was_guarded: GUARDED.with(|guarded| guarded.replace(true)),
        }
    }
}

impl Drop for GuardedScope {
    fn drop(&mut self) {
        GUARDED.with(|guarded| guarded.set(self.was_guarded));
    }
}

/// Runs a call into symphonia, turning a panic into a clean error and one log line.
pub(super) fn guarded<T>(call: impl FnOnce() -> T) -> Result<T, AudioError> {
    install_quiet_hook();
    let scope = GuardedScope::enter();
    let result = catch_unwind(AssertUnwindSafe(call));
    drop(scope);
    result.map_err(|_| AudioError::Corrupt(CRASHED.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the tracing subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    static PASSED_ON: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn a_caught_panic_is_one_log_line_and_never_reaches_the_previous_hook() {
        const THIS_TEST: &str = "panic-hook-test";
        // A hook standing for the default one, which prints the message and a backtrace; the
        // decoder's hook goes in front of it as it does in front of whatever the binary set.
        let default_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(THIS_TEST) {
                PASSED_ON.fetch_add(1, Ordering::SeqCst);
            }
            default_hook(info);
        }));
        wrap_current_hook();

        let captured = Captured::default();
        let writer = captured.clone();
        std::thread::Builder::new()
            .name(THIS_TEST.to_owned())
            .spawn(move || {
                let subscriber = tracing_subscriber_for(writer);
                tracing::subscriber::with_default(subscriber, || {
                    let result: Result<(), AudioError> = guarded(|| panic!("symphonia bug"));
                    assert_eq!(result, Err(AudioError::Corrupt(CRASHED.to_owned())));
                });
                // Outside the guard a panic still goes to the previous hook.
                let outside = catch_unwind(|| panic!("not the decoder"));
                assert!(outside.is_err());
            })
            .unwrap()
            .join()
            .unwrap();

        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("symphonia bug"), "{text}");
        assert!(lines[0].contains("WARN"), "{text}");
        assert_eq!(
            PASSED_ON.load(Ordering::SeqCst),
            1,
            "only the unguarded panic reached the previous hook"
        );
    }

    fn tracing_subscriber_for(writer: Captured) -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
    }
}
