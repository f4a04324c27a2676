//! Redis failing under a `LayeredCache`: callers keep getting answers from memory, the cache
//! says it is degraded, and it recovers when Redis is back.

use std::time::{Duration, Instant};

use minstrel_app::ports::Cache;
use minstrel_cache::{
    DEGRADED_GAUGE, LayeredCache, LayeredCacheConfig, MokaCache, RedisCache, RedisCacheConfig,
    conformance,
};

use crate::support::{
    Observer, Proxy, ProxyMode, SilentServer, closed_port, eventually, fresh_prefix, redis_url,
};

const DEGRADED_LOG: &str = "serving from memory alone";
const RECOVERED_LOG: &str = "answers again";

const MINUTE: Duration = Duration::from_mins(1);
/// Bounds every wait for the breaker; generous, as the machine may be loaded.
const DEADLINE: Duration = Duration::from_secs(15);
/// Long enough that no background probe runs during a test that must not see one.
const NEVER: Duration = Duration::from_hours(1);

fn layered_at(url: &str, prefix: &str, config: LayeredCacheConfig) -> LayeredCache {
    let redis = RedisCache::new(
        RedisCacheConfig::new(url)
            .with_key_prefix(prefix)
            .with_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    LayeredCache::new(MokaCache::default(), redis, config)
}

/// A layered cache under a fresh prefix (`label`) that reaches Redis through a proxy the test
/// can cut, and a Redis cache that looks at the same keys directly, past the proxy.
async fn behind_a_proxy(
    real_url: &str,
    label: &str,
    config: LayeredCacheConfig,
) -> (Proxy, LayeredCache, RedisCache) {
    let (proxy, proxied_url) = Proxy::in_front_of(real_url).await;
    let prefix = fresh_prefix(label);
    let cache = layered_at(&proxied_url, &prefix, config);
    let direct = RedisCache::new(RedisCacheConfig::new(real_url).with_key_prefix(&prefix)).unwrap();
    (proxy, cache, direct)
}

#[tokio::test]
async fn the_circuit_opens_after_the_threshold_of_consecutive_failures() {
    let observer = Observer::new("minstrel_cache", DEGRADED_GAUGE);
    let _logs = tracing::subscriber::set_default(observer.subscriber());
    let _metrics = metrics::set_default_local_recorder(&observer);
    let url = format!("redis://minstrel:hunter2@127.0.0.1:{}", closed_port());
    let config = LayeredCacheConfig::default()
        .with_failure_threshold(3)
        .with_cool_down(NEVER);
    let cache = layered_at(&url, "p:", config);

    // Misses in memory go to Redis, which refuses: each is one failure, none an error.
    assert_eq!(cache.get("missing:1").await.unwrap(), None);
    assert_eq!(cache.get("missing:2").await.unwrap(), None);
    assert!(!cache.is_degraded(), "two failures are below the threshold");
    assert_eq!(observer.gauge(), Some(0.0));
    assert_eq!(cache.get("missing:3").await.unwrap(), None);
    assert!(cache.is_degraded());
    assert_eq!(observer.gauge(), Some(1.0));

    // Memory keeps answering.
    cache
        .set("user_settings:1", b"v".to_vec(), MINUTE)
        .await
        .unwrap();
    assert_eq!(
        cache.get("user_settings:1").await.unwrap(),
        Some(b"v".to_vec())
    );
    cache.delete("user_settings:1").await.unwrap();
    assert_eq!(cache.get("user_settings:1").await.unwrap(), None);

    // One warning when it degrades, naming the server without its password.
    assert_eq!(
        observer.lines("WARN", DEGRADED_LOG),
        1,
        "{}",
        observer.logs()
    );
    assert_eq!(
        observer.lines("WARN", "redis://***@127.0.0.1:"),
        1,
        "{}",
        observer.logs()
    );
    assert!(!observer.logs().contains("hunter2"), "{}", observer.logs());
}

/// A Redis that accepts and then says nothing costs each caller at most the timeout, and once
/// the circuit is open it costs nothing: Redis is not even asked.
#[tokio::test]
async fn a_silent_redis_does_not_hang_callers_and_is_skipped_once_open() {
    let silent = SilentServer::start().await;
    let url = format!("redis://127.0.0.1:{}", silent.port);
    let config = LayeredCacheConfig::default()
        .with_failure_threshold(3)
        .with_cool_down(NEVER);
    let cache = layered_at(&url, "p:", config);

    cache
        .set("track_metadata:a", b"meta".to_vec(), MINUTE)
        .await
        .unwrap();
    let started = Instant::now();
    for n in 0..3 {
        assert_eq!(cache.get(&format!("missing:{n}")).await.unwrap(), None);
    }
    assert!(started.elapsed() < DEADLINE, "{:?}", started.elapsed());
    assert!(cache.is_degraded());

    let accepted = silent.accepted();
    for n in 0..20 {
        assert_eq!(cache.get(&format!("missing:{n}")).await.unwrap(), None);
        cache
            .set(&format!("new:{n}"), b"x".to_vec(), MINUTE)
            .await
            .unwrap();
    }
    assert_eq!(
        cache.get("track_metadata:a").await.unwrap(),
        Some(b"meta".to_vec())
    );
    assert_eq!(
        silent.accepted(),
        accepted,
        "an open circuit does not call Redis"
    );
}

/// The whole story on a real Redis behind a proxy: cut it mid-test, keep working from memory,
/// bring it back, recover without serving what changed meanwhile from Redis's stale copies.
#[tokio::test]
async fn redis_cut_mid_test_degrades_to_memory_and_recovers_without_stale_entries() {
    let Some(real_url) = redis_url() else { return };
    let observer = Observer::new("minstrel_cache", DEGRADED_GAUGE);
    let _logs = tracing::subscriber::set_default(observer.subscriber());
    let _metrics = metrics::set_default_local_recorder(&observer);
    let config = LayeredCacheConfig::default()
        .with_failure_threshold(3)
        .with_cool_down(Duration::from_millis(100));
    let (proxy, cache, direct) = behind_a_proxy(&real_url, "cut", config).await;

    let (kept, deleted, written) = (
        conformance::key("kept"),
        conformance::key("deleted"),
        conformance::key("written"),
    );
    cache.set(&kept, b"kept".to_vec(), MINUTE).await.unwrap();
    cache.set(&deleted, b"old".to_vec(), MINUTE).await.unwrap();
    cache.set(&written, b"old".to_vec(), MINUTE).await.unwrap();
    assert_eq!(direct.get(&deleted).await.unwrap(), Some(b"old".to_vec()));
    assert!(!cache.is_degraded());

    proxy.set_mode(ProxyMode::Cut);
    // Memory misses go to Redis and fail until the circuit opens; none is an error.
    for n in 0..10 {
        assert_eq!(
            cache
                .get(&conformance::key(&format!("miss{n}")))
                .await
                .unwrap(),
            None
        );
        if cache.is_degraded() {
            break;
        }
    }
    assert!(cache.is_degraded(), "three failed calls open the circuit");
    assert_eq!(observer.gauge(), Some(1.0));
    assert_eq!(
        observer.lines("WARN", DEGRADED_LOG),
        1,
        "{}",
        observer.logs()
    );

    // Degraded: every call answers from memory.
    assert_eq!(cache.get(&kept).await.unwrap(), Some(b"kept".to_vec()));
    cache.delete(&deleted).await.unwrap();
    cache.set(&written, b"new".to_vec(), MINUTE).await.unwrap();
    assert_eq!(cache.get(&deleted).await.unwrap(), None);
    assert_eq!(cache.get(&written).await.unwrap(), Some(b"new".to_vec()));
    // Redis itself still holds the old copies it could not be told about.
    assert_eq!(direct.get(&deleted).await.unwrap(), Some(b"old".to_vec()));

    // Stays degraded while the probes keep failing.
    let probes_failed =
        !eventually(Duration::from_millis(500), async || !cache.is_degraded()).await;
    assert!(probes_failed, "recovered while Redis was still cut");

    proxy.set_mode(ProxyMode::Forward);
    assert!(
        eventually(DEADLINE, async || !cache.is_degraded()).await,
        "did not recover within {DEADLINE:?} of Redis coming back"
    );
    assert_eq!(observer.gauge(), Some(0.0));
    assert_eq!(
        observer.lines("INFO", RECOVERED_LOG),
        1,
        "{}",
        observer.logs()
    );
    assert_eq!(
        observer.lines("WARN", DEGRADED_LOG),
        1,
        "{}",
        observer.logs()
    );

    // Recovery first deleted the Redis copies that went stale while degraded.
    assert_eq!(direct.get(&deleted).await.unwrap(), None);
    assert_eq!(direct.get(&written).await.unwrap(), None);
    assert_eq!(direct.get(&kept).await.unwrap(), Some(b"kept".to_vec()));
    cache.memory().delete(&deleted).await.unwrap();
    assert_eq!(
        cache.get(&deleted).await.unwrap(),
        None,
        "no stale copy resurfaces"
    );

    // And Redis is used again.
    let after = conformance::key("after");
    cache.set(&after, b"a".to_vec(), MINUTE).await.unwrap();
    assert_eq!(direct.get(&after).await.unwrap(), Some(b"a".to_vec()));
    direct.forget_all().await.unwrap();
}

/// Failures separated by a success do not add up to an open circuit.
#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let Some(real_url) = redis_url() else { return };
    let (proxy, proxied_url) = Proxy::in_front_of(&real_url).await;
    let config = LayeredCacheConfig::default()
        .with_failure_threshold(3)
        .with_cool_down(NEVER);
    let cache = layered_at(&proxied_url, &fresh_prefix("reset"), config);

    for round in 0..3 {
        proxy.set_mode(ProxyMode::Cut);
        for n in 0..2 {
            let miss = conformance::key(&format!("miss{round}-{n}"));
            assert_eq!(cache.get(&miss).await.unwrap(), None);
        }
        proxy.set_mode(ProxyMode::Forward);
        assert_eq!(
            cache.get(&conformance::key("hit-redis")).await.unwrap(),
            None
        );
        assert!(!cache.is_degraded(), "round {round}");
    }
}

/// One failed write does not open the circuit, but Redis's copy of that key is stale: it is
/// not read back, and the background repair deletes it once Redis answers.
#[tokio::test]
async fn a_single_failed_write_is_repaired_without_opening_the_circuit() {
    let Some(real_url) = redis_url() else { return };
    let config = LayeredCacheConfig::default()
        .with_failure_threshold(3)
        .with_cool_down(Duration::from_millis(100));
    let (proxy, cache, direct) = behind_a_proxy(&real_url, "one-failure", config).await;
    let key = conformance::key("settings");
    cache.set(&key, b"old".to_vec(), MINUTE).await.unwrap();

    proxy.set_mode(ProxyMode::Cut);
    cache.set(&key, b"new".to_vec(), MINUTE).await.unwrap();
    proxy.set_mode(ProxyMode::Forward);
    assert!(!cache.is_degraded());

    // Memory lost its copy (evicted, expired): Redis's "old" must not come back.
    cache.memory().delete(&key).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), None);
    assert!(
        eventually(DEADLINE, async || direct.get(&key).await.unwrap().is_none()).await,
        "the stale Redis copy was not deleted within {DEADLINE:?}"
    );

    // Repaired: the key goes to Redis again. The repair forgets the key just after its
    // delete reaches Redis, so a write in between still stays in memory (and is marked again):
    // the write is repeated until one reaches Redis.
    assert!(
        eventually(DEADLINE, async || {
            cache.set(&key, b"newer".to_vec(), MINUTE).await.unwrap();
            direct.get(&key).await.unwrap() == Some(b"newer".to_vec())
        })
        .await,
        "writes did not reach Redis again within {DEADLINE:?}"
    );
    direct.forget_all().await.unwrap();
}

/// Too many keys changed while degraded to remember one by one: recovery drops every entry
/// under the prefix instead, and only then uses Redis again.
#[tokio::test]
async fn past_the_unsynced_key_limit_recovery_drops_the_whole_prefix() {
    let Some(real_url) = redis_url() else { return };
    let config = LayeredCacheConfig::default()
        .with_failure_threshold(1)
        .with_cool_down(Duration::from_millis(100))
        .with_unsynced_key_limit(2);
    let (proxy, cache, direct) = behind_a_proxy(&real_url, "many-changes", config).await;
    let untouched = conformance::key("untouched");
    cache.set(&untouched, b"u".to_vec(), MINUTE).await.unwrap();

    proxy.set_mode(ProxyMode::Cut);
    for n in 0..5 {
        cache
            .set(
                &conformance::key(&format!("changed{n}")),
                b"x".to_vec(),
                MINUTE,
            )
            .await
            .unwrap();
    }
    assert!(cache.is_degraded());
    proxy.set_mode(ProxyMode::Forward);
    assert!(eventually(DEADLINE, async || !cache.is_degraded()).await);

    assert_eq!(
        direct.get(&untouched).await.unwrap(),
        None,
        "the whole prefix was dropped"
    );
    assert_eq!(
        cache.get(&untouched).await.unwrap(),
        Some(b"u".to_vec()),
        "memory kept it"
    );
    direct.forget_all().await.unwrap();
}
