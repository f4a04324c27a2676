//! Fault test: the Postgres connection drops while the bot writes. A TCP proxy between the pool
//! and Postgres is cut (every open connection closed, every new one closed at once) and then
//! restored. Writes made meanwhile go through the outbox of minstrel-app: each is
//! acknowledged, held, and saved in order once Postgres answers again; the rows are then
//! exactly those written. The saved settings read back from the cache while the database is
//! away.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use minstrel_app::ports::{HistoryRepo, SettingsRepo};
use minstrel_app::{Outbox, OutboxConfig, OutboxHistoryRepo};
use minstrel_cache::{CacheCapacity, CachedSettingsRepo, MokaCache};
use minstrel_db::conformance::fixtures;
use minstrel_db::{SqlDatabase, SqlTimeouts};
use minstrel_domain::{GuildId, HistoryEntry, RequesterId, UserId, UserSettings, Volume};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::support::TestDatabase;

/// Writes made while the connection is cut.
const WRITES_WHILE_CUT: u64 = 40;
/// Generous: the flush itself takes milliseconds; this only stops a broken run from hanging.
const FLUSH_DEADLINE: Duration = Duration::from_mins(1);

/// A TCP proxy on 127.0.0.1 that can be cut and restored.
struct CuttableProxy {
    address: SocketAddr,
    cut: watch::Sender<bool>,
}

impl CuttableProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("a bound address");
        let (cut, cut_watch) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if *cut_watch.borrow() {
                    // Refused: closed before a byte is answered.
                    drop(client);
                    continue;
                }
                let mut cut_watch = cut_watch.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        // Cut: both sockets are dropped, so each side sees its connection end.
                        _ = cut_watch.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { address, cut }
    }

    fn cut(&self) {
        self.cut.send_replace(true);
    }

    fn restore(&self) {
        self.cut.send_replace(false);
    }
}

/// `host:port` of a `postgres://user@host:port/db` URL, resolved.
async fn upstream_of(url: &str) -> SocketAddr {
    let authority = authority_of(url);
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    tokio::net::lookup_host(host_port.as_str())
        .await
        .expect("the Postgres host resolves")
        .next()
        .expect("an address for the Postgres host")
}

fn authority_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .split(['/', '?'])
        .next()
        .unwrap_or(after_scheme)
}

/// `url` with its host and port replaced by `address` (user, database and query kept).
fn through(url: &str, address: SocketAddr) -> String {
    let authority = authority_of(url);
    let replacement = match authority.rsplit_once('@') {
        Some((user, _)) => format!("{user}@{address}"),
        None => address.to_string(),
    };
    url.replacen(authority, &replacement, 1)
}

fn played(guild: GuildId, user: UserId, n: u64) -> HistoryEntry {
    HistoryEntry {
        guild_id: guild,
        requester: RequesterId::Discord(user),
        title: format!("song {n}"),
        locator: format!("https://example.com/{n}"),
        duration: Some(Duration::from_secs(n + 1)),
        played_at: fixtures::at(n),
    }
}

async fn dropped_connection(url: String, direct: SqlDatabase) {
    let proxy = CuttableProxy::start(upstream_of(&url).await).await;
    let short = SqlTimeouts {
        acquire: Duration::from_millis(500),
        connect: Duration::from_millis(500),
    };
    let proxied = SqlDatabase::connect_with(&through(&url, proxy.address), short)
        .await
        .expect("Postgres answers through the proxy");
    let outbox = Outbox::spawn(OutboxConfig {
        capacity: 100,
        retry_min_delay: Duration::from_millis(50),
        retry_max_delay: Duration::from_millis(500),
    });
    let history = OutboxHistoryRepo::new(Arc::new(proxied.history_repo()), outbox.clone());
    let cache = Arc::new(MokaCache::new(CacheCapacity::default()));
    let settings = CachedSettingsRepo::new(Arc::new(proxied.settings_repo()), cache)
        .with_outbox(outbox.clone());
    let (guild, user) = (fixtures::guild(), fixtures::user());
    let played = |n| played(guild, user, n);
    let stored = direct.history_repo();

    // Connected: the write goes straight to Postgres.
    history.record(&[played(0)]).await.unwrap();
    assert_eq!(outbox.depth(), 0);
    assert_eq!(settings.user(user).await.unwrap(), None, "warms the cache");

    proxy.cut();
    for n in 1..=WRITES_WHILE_CUT {
        history
            .record(&[played(n)])
            .await
            .unwrap_or_else(|error| panic!("write {n} was not acknowledged: {error:?}"));
    }
    let mut louder = UserSettings::new(user);
    louder.default_volume = Volume::new(150).unwrap();
    settings.save_user(&louder).await.unwrap();
    assert_eq!(
        outbox.depth(),
        usize::try_from(WRITES_WHILE_CUT).unwrap() + 1
    );
    assert!(outbox.is_degraded());
    // Postgres has none of them yet, and the saved settings read back from the cache.
    assert_eq!(stored.for_user(user, 0, usize::MAX).await.unwrap().len(), 1);
    assert_eq!(direct.settings_repo().user(user).await.unwrap(), None);
    assert_eq!(settings.user(user).await.unwrap(), Some(louder.clone()));

    proxy.restore();
    tokio::time::timeout(FLUSH_DEADLINE, outbox.drained())
        .await
        .expect("the outbox is flushed once Postgres answers again");
    assert!(!outbox.is_degraded());

    let rows = stored.for_user(user, 0, usize::MAX).await.unwrap();
    let titles: Vec<String> = rows.iter().map(|entry| entry.title.clone()).collect();
    let expected: Vec<String> = (0..=WRITES_WHILE_CUT)
        .rev()
        .map(|n| format!("song {n}"))
        .collect();
    assert_eq!(titles, expected, "every write exactly once, in order");
    assert_eq!(
        rows,
        (0..=WRITES_WHILE_CUT).rev().map(played).collect::<Vec<_>>(),
        "every field as written"
    );
    assert_eq!(
        direct.settings_repo().user(user).await.unwrap(),
        Some(louder)
    );
    // And the connection through the proxy works again, without the outbox.
    history
        .record(&[played(WRITES_WHILE_CUT + 1)])
        .await
        .unwrap();
    assert_eq!(outbox.depth(), 0);
    assert_eq!(
        stored.for_user(user, 0, 1).await.unwrap()[0].title,
        format!("song {}", WRITES_WHILE_CUT + 1)
    );
    proxied.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connection_dropped_the_outbox_holds_writes_and_flushes_them_in_order() {
    let Some(database) = TestDatabase::postgres(true).await else {
        return;
    };
    let url = database.url().to_owned();
    database
        .run(move |direct| dropped_connection(url, direct))
        .await;
}

#[test]
fn urls_are_pointed_at_the_proxy() {
    let proxy: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    assert_eq!(
        through("postgres://postgres@127.0.0.1:5432/minstrel_test_1", proxy),
        "postgres://postgres@127.0.0.1:40000/minstrel_test_1"
    );
    assert_eq!(
        through("postgres://u:p@db.example:5432/x?sslmode=disable", proxy),
        "postgres://u:p@127.0.0.1:40000/x?sslmode=disable"
    );
    assert_eq!(authority_of("postgres://host/x"), "host");
}
