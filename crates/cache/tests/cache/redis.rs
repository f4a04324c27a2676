use std::time::{Duration, Instant};

use minstrel_app::ports::{Cache, CacheError};
use minstrel_cache::{RedisCache, RedisCacheConfig, conformance};

use crate::support::{SilentServer, closed_port, fresh_prefix, redis_cache, redis_url};

/// Generous: proves "fails fast instead of hanging", not a latency.
const FAST: Duration = Duration::from_secs(5);

#[tokio::test]
async fn conformance_on_redis() {
    let Some(url) = redis_url() else { return };
    let cache = redis_cache(&url, "conformance");
    conformance::all(&cache).await;
    cache.forget_all().await.unwrap();
}

#[tokio::test]
async fn values_are_written_with_their_ttl() {
    let Some(url) = redis_url() else { return };
    let cache = redis_cache(&url, "ttl");
    cache
        .set("user_settings:1", b"v".to_vec(), Duration::from_mins(10))
        .await
        .unwrap();
    let (value, left) = cache
        .get_with_ttl("user_settings:1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value, b"v");
    let left = left.expect("SET PX gives the entry an expiry");
    assert!(
        left <= Duration::from_mins(10) && left > Duration::from_mins(9),
        "{left:?}"
    );
    assert_eq!(cache.get_with_ttl("user_settings:2").await.unwrap(), None);
    cache.forget_all().await.unwrap();
}

#[tokio::test]
async fn key_prefixes_keep_deployments_apart() {
    let Some(url) = redis_url() else { return };
    let first = redis_cache(&url, "first");
    let second = redis_cache(&url, "second");
    first
        .set("playlist:1", b"first".to_vec(), Duration::from_mins(1))
        .await
        .unwrap();
    second
        .set("playlist:1", b"second".to_vec(), Duration::from_mins(1))
        .await
        .unwrap();
    first
        .set("playlist:2", b"first".to_vec(), Duration::from_mins(1))
        .await
        .unwrap();
    assert_eq!(
        first.get("playlist:1").await.unwrap(),
        Some(b"first".to_vec())
    );
    assert_eq!(
        second.get("playlist:1").await.unwrap(),
        Some(b"second".to_vec())
    );

    assert_eq!(first.forget_all().await.unwrap(), 2);
    assert_eq!(first.get("playlist:1").await.unwrap(), None);
    assert_eq!(
        second.get("playlist:1").await.unwrap(),
        Some(b"second".to_vec())
    );
    second.forget_all().await.unwrap();
}

#[tokio::test]
async fn glob_characters_in_a_prefix_match_only_themselves() {
    let Some(url) = redis_url() else { return };
    let base = fresh_prefix("glob");
    let starred =
        RedisCache::new(RedisCacheConfig::new(&url).with_key_prefix(format!("{base}*"))).unwrap();
    let plain =
        RedisCache::new(RedisCacheConfig::new(&url).with_key_prefix(format!("{base}x"))).unwrap();
    plain
        .set("k", b"kept".to_vec(), Duration::from_mins(1))
        .await
        .unwrap();
    starred
        .set("k", b"gone".to_vec(), Duration::from_mins(1))
        .await
        .unwrap();
    assert_eq!(starred.forget_all().await.unwrap(), 1);
    assert_eq!(plain.get("k").await.unwrap(), Some(b"kept".to_vec()));
    plain.forget_all().await.unwrap();
}

#[tokio::test]
async fn a_closed_port_fails_fast_and_never_shows_the_password() {
    let port = closed_port();
    let cache = RedisCache::new(RedisCacheConfig::new(format!(
        "redis://minstrel:hunter2@127.0.0.1:{port}/0"
    )))
    .unwrap();
    let started = Instant::now();
    let errors = [
        cache.get("k").await.unwrap_err(),
        cache
            .set("k", b"v".to_vec(), Duration::from_mins(1))
            .await
            .unwrap_err(),
        cache.delete("k").await.unwrap_err(),
        cache.ping().await.unwrap_err(),
    ];
    assert!(started.elapsed() < FAST, "{:?}", started.elapsed());
    for CacheError::Unavailable(message) in errors {
        assert!(!message.contains("hunter2"), "{message}");
        assert!(
            message.contains(&format!("redis://***@127.0.0.1:{port}/0")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let silent = SilentServer::start().await;
    let cache = RedisCache::new(
        RedisCacheConfig::new(format!("redis://127.0.0.1:{}", silent.port))
            .with_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let started = Instant::now();
    let CacheError::Unavailable(message) = cache.get("k").await.unwrap_err();
    assert!(started.elapsed() < FAST, "{:?}", started.elapsed());
    assert!(
        message.contains(&format!("127.0.0.1:{}", silent.port)),
        "{message}"
    );
}

#[tokio::test]
async fn a_refused_password_is_not_shown() {
    let Some(url) = redis_url() else { return };
    let parts = crate::support::UrlParts::of(&url);
    // The same server, with credentials it does not accept.
    let wrong = format!(
        "{}://minstrel:hunter2@{}{}",
        parts.scheme, parts.host_port, parts.tail
    );
    let cache = RedisCache::new(RedisCacheConfig::new(&wrong)).unwrap();
    let CacheError::Unavailable(message) = cache.get("k").await.unwrap_err();
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("redis://***@"), "{message}");
}
