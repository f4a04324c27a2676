//! The cache suite: one set of checks every cache adapter of this crate must pass.
//!
//! Each check is an `async fn` taking `&dyn Cache`, so [`crate::MokaCache`] runs it today and a
//! Redis cache runs the very same checks later. Every check uses fresh keys (see [`key`]), so
//! checks may share one cache, run in parallel and run against a server that already holds keys.
//!
//! Compiled for this crate's tests and behind the `conformance` feature for other test code.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minstrel_app::ports::Cache;

/// Long enough never to run out during a check.
const LONG: Duration = Duration::from_mins(10);

/// Every check except [`entries_expire_after_their_own_ttl`], which has to wait.
pub async fn all_but_expiry(cache: &dyn Cache) {
    missing_key_is_none(cache).await;
    set_then_get(cache).await;
    set_overwrites(cache).await;
    delete_removes_only_that_key(cache).await;
    keys_are_independent(cache).await;
    values_are_kept_byte_for_byte(cache).await;
}

/// Every check.
pub async fn all(cache: &dyn Cache) {
    all_but_expiry(cache).await;
    entries_expire_after_their_own_ttl(cache).await;
}

/// A key no other call in this process returned, and (starting from the clock) no earlier run:
/// `conformance:{unique number}:{label}`.
pub fn key(label: &str) -> String {
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| u64::try_from(since.as_micros()).ok())
            .unwrap_or(0)
    });
    let unique = base + NEXT.fetch_add(1, Ordering::Relaxed);
    format!("conformance:{unique}:{label}")
}

pub async fn missing_key_is_none(cache: &dyn Cache) {
    assert_eq!(cache.get(&key("never-set")).await.unwrap(), None);
}

pub async fn set_then_get(cache: &dyn Cache) {
    let key = key("greeting");
    cache.set(&key, b"hello".to_vec(), LONG).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), Some(b"hello".to_vec()));
    // Reading does not consume the entry.
    assert_eq!(cache.get(&key).await.unwrap(), Some(b"hello".to_vec()));
}

/// A second `set` replaces the value, also by a shorter or empty one.
pub async fn set_overwrites(cache: &dyn Cache) {
    let key = key("counter");
    cache
        .set(&key, b"first value".to_vec(), LONG)
        .await
        .unwrap();
    cache.set(&key, b"2nd".to_vec(), LONG).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), Some(b"2nd".to_vec()));
    cache.set(&key, Vec::new(), LONG).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), Some(Vec::new()));
}

/// `delete` removes the key and nothing else; deleting a missing key is fine.
pub async fn delete_removes_only_that_key(cache: &dyn Cache) {
    let (doomed, kept) = (key("doomed"), key("kept"));
    cache.set(&doomed, b"x".to_vec(), LONG).await.unwrap();
    cache.set(&kept, b"y".to_vec(), LONG).await.unwrap();

    cache.delete(&doomed).await.unwrap();
    assert_eq!(cache.get(&doomed).await.unwrap(), None);
    assert_eq!(cache.get(&kept).await.unwrap(), Some(b"y".to_vec()));
    cache.delete(&doomed).await.unwrap();
    cache.delete(&key("never-set")).await.unwrap();

    // A deleted key can be set again.
    cache.set(&doomed, b"back".to_vec(), LONG).await.unwrap();
    assert_eq!(cache.get(&doomed).await.unwrap(), Some(b"back".to_vec()));
}

/// Keys that look alike (prefixes, case, a trailing space) are different entries.
pub async fn keys_are_independent(cache: &dyn Cache) {
    let base = key("user_settings:7");
    let lookalikes = [
        base.clone(),
        format!("{base}0"),
        format!("{base}:7"),
        format!("{base} "),
        base.to_uppercase(),
        base[..base.len() - 1].to_owned(),
    ];
    for (n, key) in lookalikes.iter().enumerate() {
        cache
            .set(key, n.to_string().into_bytes(), LONG)
            .await
            .unwrap();
    }
    for (n, key) in lookalikes.iter().enumerate() {
        assert_eq!(
            cache.get(key).await.unwrap(),
            Some(n.to_string().into_bytes()),
            "{key:?}"
        );
    }

    cache.delete(&base).await.unwrap();
    assert_eq!(cache.get(&base).await.unwrap(), None);
    for key in &lookalikes[1..] {
        assert!(cache.get(key).await.unwrap().is_some(), "{key:?}");
    }
}

/// Any bytes come back unchanged: not UTF-8, NUL bytes, a megabyte.
pub async fn values_are_kept_byte_for_byte(cache: &dyn Cache) {
    let every_byte: Vec<u8> = (0..=u8::MAX).collect();
    let megabyte: Vec<u8> = every_byte.iter().copied().cycle().take(1 << 20).collect();
    let (small, large) = (key("every-byte"), key("megabyte"));
    cache.set(&small, every_byte.clone(), LONG).await.unwrap();
    cache.set(&large, megabyte.clone(), LONG).await.unwrap();
    assert_eq!(cache.get(&small).await.unwrap(), Some(every_byte));
    assert_eq!(cache.get(&large).await.unwrap(), Some(megabyte));
}

/// Each entry lives as long as the TTL of its latest `set`.
///
/// The one check that waits on the clock: expiry is the behaviour under test. The margin
/// (50 ms lifetimes, 200 ms wait) keeps it reliable on a loaded machine.
pub async fn entries_expire_after_their_own_ttl(cache: &dyn Cache) {
    const SHORT: Duration = Duration::from_millis(50);
    let short = key("short");
    let long = key("long");
    let lengthened = key("short-then-long");
    let shortened = key("long-then-short");
    cache.set(&short, b"s".to_vec(), SHORT).await.unwrap();
    cache.set(&long, b"l".to_vec(), LONG).await.unwrap();
    cache.set(&lengthened, b"1".to_vec(), SHORT).await.unwrap();
    cache.set(&lengthened, b"2".to_vec(), LONG).await.unwrap();
    cache.set(&shortened, b"1".to_vec(), LONG).await.unwrap();
    cache.set(&shortened, b"2".to_vec(), SHORT).await.unwrap();

    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(cache.get(&short).await.unwrap(), None, "expired");
    assert_eq!(cache.get(&long).await.unwrap(), Some(b"l".to_vec()));
    assert_eq!(
        cache.get(&lengthened).await.unwrap(),
        Some(b"2".to_vec()),
        "an overwrite's longer TTL replaces the old one"
    );
    assert_eq!(
        cache.get(&shortened).await.unwrap(),
        None,
        "an overwrite's shorter TTL replaces the old one"
    );
}
