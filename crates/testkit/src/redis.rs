//! What tests against a real Redis share: where it is, key prefixes no other test uses, and a
//! port where nothing answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable that names the Redis under test.
pub const REDIS_URL_VARIABLE: &str = "MINSTREL_TEST_REDIS_URL";

/// The Redis under test, from `MINSTREL_TEST_REDIS_URL`.
///
/// Unset: under CI (`CI` set and not `false`/`0`) the test fails, since `suite` (e.g. "the
/// Redis bus tests") must run there; elsewhere it prints a note and the caller returns early.
pub fn redis_url(suite: &str) -> Option<String> {
    if let Ok(url) = std::env::var(REDIS_URL_VARIABLE)
        && !url.trim().is_empty()
    {
        return Some(url.trim().to_owned());
    }
    let in_ci =
        std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "false" | "0"));
    assert!(
        !in_ci,
        "{REDIS_URL_VARIABLE} is not set, and CI is: {suite} must run in CI. Start Redis and set \
         e.g. {REDIS_URL_VARIABLE}=redis://127.0.0.1:6379"
    );
    eprintln!(
        "note: {REDIS_URL_VARIABLE} is not set, so this test skips its Redis part; set it \
         (e.g. redis://127.0.0.1:6379) to run it"
    );
    None
}

/// A key prefix no other test or run uses: `minstrel-test:{pid}:{clock}:{n}:{label}:`.
pub fn fresh_prefix(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("minstrel-test:{}:{clock}:{n}:{label}:", std::process::id())
}

/// A loopback port nothing listens on: bound by the OS, then released.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
