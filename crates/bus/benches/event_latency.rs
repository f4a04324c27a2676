//! How long a player event takes from one process to another over the Redis event bus: two
//! `RedisEventBus`es with their default settings (as two minstrel processes run them) against
//! the Redis at `MINSTREL_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`), one event at a
//! time, idle pauses between some of them so blocked reads are measured too. Prints the
//! percentiles; docs/BENCHMARKS.md keeps the current figures.
//!
//! `cargo bench -p minstrel-bus --bench event_latency [-- EVENTS]`

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use minstrel_app::ports::EventBus as _;
use minstrel_bus::{RedisEventBus, RedisEventBusConfig};
use minstrel_domain::{DomainEvent, GuildId};

fn bus(url: &str, prefix: &str, process: &str) -> RedisEventBus {
    let bus = RedisEventBus::new(
        RedisEventBusConfig::new(url)
            .with_key_prefix(prefix)
            .with_process_id(process),
    )
    .expect("a usable Redis URL");
    bus.start();
    bus
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    let events: u64 = std::env::args()
        .skip(1)
        .find_map(|argument| argument.parse().ok())
        .unwrap_or(500);
    let url = std::env::var("MINSTREL_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let prefix = format!("minstrel-bench:{started}:");
    let (sender, receiver) = (bus(&url, &prefix, "sender"), bus(&url, &prefix, "receiver"));
    let mut heard = receiver.subscribe();
    let wait = Duration::from_secs(10);
    assert!(sender.wait_until_reading(wait).await && receiver.wait_until_reading(wait).await);

    let mut latencies = Vec::new();
    for guild in 1..=events {
        // Every tenth event comes after a pause longer than a blocking read.
        if guild % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(1_200)).await;
        }
        let event = DomainEvent::Paused {
            guild: GuildId::new(guild).expect("non-zero"),
        };
        let sent = Instant::now();
        sender.publish(event.clone());
        loop {
            let got = tokio::time::timeout(wait, heard.recv())
                .await
                .expect("the event arrives")
                .expect("the bus is open");
            if got == event {
                break;
            }
        }
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    println!(
        "event_latency: {events} events between two processes, p50 {:.2} ms, p99 {:.2} ms, \
         max {:.2} ms, outages {}",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        sender.outages() + receiver.outages(),
    );
}
