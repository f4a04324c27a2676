//! The Redis event bus against the Redis under test (a fresh stream per test), and against a
//! Redis that is not there.

use std::time::Duration;

use deadpool_redis::redis::{self, Value};
use minstrel_app::ports::EventBus;
use minstrel_bus::{EVENT_BUS_DEGRADED_GAUGE, RedisEventBus, RedisEventBusConfig};
use minstrel_domain::{DomainEvent, GuildId};
use tokio::sync::broadcast;

use crate::support::{Observer, closed_port, eventually, fresh_prefix, redis_url};

const WAIT: Duration = Duration::from_secs(10);

fn paused(guild: u64) -> DomainEvent {
    DomainEvent::Paused {
        guild: GuildId::new(guild).unwrap(),
    }
}

fn bus(url: &str, prefix: &str, process: &str) -> RedisEventBus {
    let mut config = RedisEventBusConfig::new(url)
        .with_key_prefix(prefix)
        .with_process_id(process);
    config.claim_idle = Duration::ZERO;
    RedisEventBus::new(config).unwrap()
}

async fn next(events: &mut broadcast::Receiver<DomainEvent>) -> DomainEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event arrives in time")
        .expect("the bus is open")
}

/// One command on a connection of its own, as another process would send it.
async fn raw(url: &str, command: &redis::Cmd) -> Value {
    let pool = deadpool_redis::Config::from_url(url)
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let mut connection = pool.get().await.unwrap();
    command.query_async(&mut connection).await.unwrap()
}

#[tokio::test]
async fn two_processes_see_each_others_events_once_and_their_own_once() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("event-bus-pair");
    let (first, second) = (bus(&url, &prefix, "first"), bus(&url, &prefix, "second"));
    let (mut at_first, mut at_second) = (first.subscribe(), second.subscribe());
    first.start();
    second.start();
    assert!(first.wait_until_reading(WAIT).await);
    assert!(second.wait_until_reading(WAIT).await);

    // Each event is waited for where it must arrive before the next is published, so the
    // stream order fixes what each side must have seen.
    first.publish(paused(1));
    assert_eq!(next(&mut at_first).await, paused(1), "local delivery");
    assert_eq!(next(&mut at_second).await, paused(1), "over Redis");
    second.publish(paused(2));
    assert_eq!(next(&mut at_second).await, paused(2));
    assert_eq!(next(&mut at_first).await, paused(2));
    first.publish(paused(3));
    assert_eq!(next(&mut at_first).await, paused(3));
    assert_eq!(next(&mut at_second).await, paused(3));
    // The second's marker reaches the first after the first's reader has gone past every
    // earlier entry: a duplicate of any of them would have come before it.
    second.publish(paused(4));
    assert_eq!(next(&mut at_second).await, paused(4));
    assert_eq!(next(&mut at_first).await, paused(4));
    assert!(at_first.try_recv().is_err(), "nothing twice at the first");
    assert_eq!(first.received_from_others(), 2);
    // And the first's marker for the second.
    first.publish(paused(5));
    assert_eq!(next(&mut at_first).await, paused(5));
    assert_eq!(next(&mut at_second).await, paused(5));
    assert!(at_second.try_recv().is_err(), "nothing twice at the second");
    assert_eq!(second.received_from_others(), 3);
    assert!(!first.is_degraded() && !second.is_degraded());
}

#[tokio::test]
async fn an_entry_a_crashed_reader_took_but_never_acknowledged_is_delivered() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("event-bus-crash");
    let stream = format!("{prefix}events");
    // An earlier run of process "restarted" created its group and read one entry of another
    // process, then died before acknowledging it.
    raw(
        &url,
        redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream)
            .arg("restarted")
            .arg("$")
            .arg("MKSTREAM"),
    )
    .await;
    raw(
        &url,
        redis::cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("origin")
            .arg("elsewhere")
            .arg("event")
            .arg(r#"{"type":"paused","guild":77}"#),
    )
    .await;
    let read = raw(
        &url,
        redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("restarted")
            .arg("crashed-reader")
            .arg("COUNT")
            .arg(10)
            .arg("STREAMS")
            .arg(&stream)
            .arg(">"),
    )
    .await;
    assert_ne!(read, Value::Nil, "the crashed reader took the entry");

    let restarted = bus(&url, &prefix, "restarted");
    let mut events = restarted.subscribe();
    restarted.start();
    assert_eq!(next(&mut events).await, paused(77));
    // Acknowledged: nothing is pending in the group any more.
    let acknowledged = eventually(WAIT, async || {
        let pending = raw(&url, redis::cmd("XPENDING").arg(&stream).arg("restarted")).await;
        matches!(&pending, Value::Array(parts) if parts.first() == Some(&Value::Int(0)))
    })
    .await;
    assert!(acknowledged, "the taken-over entry was acknowledged");
    assert_eq!(restarted.received_from_others(), 1);
}

#[tokio::test]
async fn without_redis_publish_neither_fails_nor_waits_and_local_subscribers_get_events() {
    let observer = Observer::new("minstrel_bus", EVENT_BUS_DEGRADED_GAUGE);
    let _logs = tracing::subscriber::set_default(observer.subscriber());
    let _metrics = metrics::set_default_local_recorder(&observer);
    let url = format!("redis://minstrel:hunter2@127.0.0.1:{}", closed_port());
    let bus = bus(&url, &fresh_prefix("event-bus-down"), "alone");
    let mut events = bus.subscribe();
    bus.start();
    for guild in 1..=50 {
        bus.publish(paused(guild));
    }
    for guild in 1..=50 {
        assert_eq!(
            events.try_recv().expect("delivered during publish"),
            paused(guild)
        );
    }
    assert!(
        eventually(WAIT, async || observer.gauge() == Some(1.0)).await,
        "the degraded gauge is raised"
    );
    assert!(bus.is_degraded());
    assert!(
        eventually(WAIT, async || {
            observer.lines("WARN", "events reach only this process") == 1
        })
        .await,
        "one warning:\n{}",
        observer.logs()
    );
    // Still publishing while degraded, still local, and the password never shows.
    bus.publish(paused(99));
    assert_eq!(events.try_recv().unwrap(), paused(99));
    assert!(!observer.logs().contains("hunter2"), "{}", observer.logs());
    assert!(observer.logs().contains("***"), "{}", observer.logs());
}

/// With their default settings (reads that block for a second), both buses idle against a
/// healthy Redis without ever taking it for down, and an event still crosses at once after the
/// idle time. The redis client's own response timeout must not cut the blocking reads short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_idle_redis_is_never_taken_for_down() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("event-bus-idle");
    let events = RedisEventBus::new(
        RedisEventBusConfig::new(url.as_str())
            .with_key_prefix(&prefix)
            .with_process_id("idle-events"),
    )
    .unwrap();
    let listener = RedisEventBus::new(
        RedisEventBusConfig::new(url.as_str())
            .with_key_prefix(&prefix)
            .with_process_id("idle-listener"),
    )
    .unwrap();
    let commands = minstrel_bus::RedisCommandBus::new(
        minstrel_bus::RedisCommandBusConfig::new(url.as_str(), "idle-commands", 2)
            .with_key_prefix(&prefix),
    )
    .unwrap();
    let mut heard = listener.subscribe();
    events.start();
    listener.start();
    commands.start();
    assert!(events.wait_until_reading(WAIT).await);
    assert!(listener.wait_until_reading(WAIT).await);

    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        events.outages(),
        0,
        "the event bus took an idle Redis for down"
    );
    assert_eq!(
        listener.outages(),
        0,
        "the event bus took an idle Redis for down"
    );
    assert_eq!(
        commands.outages(),
        0,
        "the command bus took an idle Redis for down"
    );

    events.publish(paused(7));
    assert_eq!(next(&mut heard).await, paused(7));
}
