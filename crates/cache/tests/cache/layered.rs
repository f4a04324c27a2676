use std::time::Duration;

use minstrel_app::ports::Cache;
use minstrel_cache::{
    LayeredCache, LayeredCacheConfig, MokaCache, RedisCache, RedisCacheConfig, conformance,
};

use crate::support::{closed_port, fresh_prefix, redis_cache, redis_url};

fn layered(redis: RedisCache) -> LayeredCache {
    LayeredCache::new(MokaCache::default(), redis, LayeredCacheConfig::default())
}

#[tokio::test]
async fn conformance_on_layered_over_redis() {
    let Some(url) = redis_url() else { return };
    let cache = layered(redis_cache(&url, "layered-conformance"));
    conformance::all(&cache).await;
    assert!(!cache.is_degraded());
    cache.redis().forget_all().await.unwrap();
}

/// With Redis gone from the start, memory alone still passes the whole suite.
#[tokio::test]
async fn conformance_on_layered_whose_redis_is_down() {
    let redis = RedisCache::new(RedisCacheConfig::new(format!(
        "redis://127.0.0.1:{}",
        closed_port()
    )))
    .unwrap();
    let cache = layered(redis);
    conformance::all(&cache).await;
    assert!(cache.is_degraded());
}

#[tokio::test]
async fn writes_and_deletes_reach_both_layers() {
    let Some(url) = redis_url() else { return };
    let cache = layered(redis_cache(&url, "both-layers"));
    let key = conformance::key("both");
    cache
        .set(&key, b"v".to_vec(), Duration::from_mins(10))
        .await
        .unwrap();
    assert_eq!(cache.memory().get(&key).await.unwrap(), Some(b"v".to_vec()));
    let (value, left) = cache.redis().get_with_ttl(&key).await.unwrap().unwrap();
    assert_eq!(value, b"v");
    assert!(
        left.unwrap() > Duration::from_mins(9),
        "Redis keeps the full TTL"
    );

    cache.delete(&key).await.unwrap();
    assert_eq!(cache.memory().get(&key).await.unwrap(), None);
    assert_eq!(cache.redis().get(&key).await.unwrap(), None);
    cache.redis().forget_all().await.unwrap();
}

/// Two processes sharing one Redis: what one writes, the other reads from Redis and keeps in
/// memory only as long as Redis would.
#[tokio::test]
async fn another_process_reads_through_redis_and_refills_its_memory() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("two-processes");
    let process = |config: LayeredCacheConfig| {
        LayeredCache::new(
            MokaCache::default(),
            RedisCache::new(RedisCacheConfig::new(&url).with_key_prefix(&prefix)).unwrap(),
            config,
        )
    };
    let writer = process(LayeredCacheConfig::default());
    let reader = process(LayeredCacheConfig::default().with_memory_ttl(Duration::from_mins(1)));

    let (lasting, brief) = (conformance::key("lasting"), conformance::key("brief"));
    writer
        .set(&lasting, b"l".to_vec(), Duration::from_mins(10))
        .await
        .unwrap();
    writer
        .set(&brief, b"b".to_vec(), Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(reader.memory().get(&lasting).await.unwrap(), None);
    assert_eq!(reader.get(&lasting).await.unwrap(), Some(b"l".to_vec()));
    assert_eq!(reader.get(&brief).await.unwrap(), Some(b"b".to_vec()));
    assert_eq!(
        reader.memory().get(&lasting).await.unwrap(),
        Some(b"l".to_vec()),
        "a Redis hit is copied into memory"
    );

    // The refilled copy lives no longer than the Redis entry did: the one behaviour under test
    // is expiry, so this waits for it (with a wide margin).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(reader.get(&brief).await.unwrap(), None);
    assert_eq!(reader.get(&lasting).await.unwrap(), Some(b"l".to_vec()));
    writer.redis().forget_all().await.unwrap();
}
