//! What the cache tests share: the Redis under test, fresh key prefixes, ports that refuse or
//! never answer, a TCP proxy that can be cut mid-test, and a cache that always fails.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{Cache, CacheError};
use minstrel_cache::{RedisCache, RedisCacheConfig};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) use minstrel_testkit::observer::{Observer, eventually};
pub(crate) use minstrel_testkit::redis::{REDIS_URL_VARIABLE, closed_port, fresh_prefix};

/// The Redis under test (`minstrel_testkit::redis::redis_url`): the Redis half of the cache
/// suite must run in CI.
pub(crate) fn redis_url() -> Option<String> {
    minstrel_testkit::redis::redis_url("the Redis half of the cache suite")
}

/// A Redis cache under a fresh prefix, with the production timeout.
pub(crate) fn redis_cache(url: &str, label: &str) -> RedisCache {
    RedisCache::new(RedisCacheConfig::new(url).with_key_prefix(fresh_prefix(label))).unwrap()
}

/// A server that accepts connections, reads whatever comes and never answers.
pub(crate) struct SilentServer {
    pub(crate) port: u16,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SilentServer {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(tokio::spawn(async move {
                    let mut sink = [0; 4096];
                    while matches!(socket.read(&mut sink).await, Ok(read) if read > 0) {}
                }));
            }
        });
        Self {
            port,
            accepted,
            task,
        }
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyMode {
    /// Passes bytes both ways.
    Forward,
    /// Cuts every open connection and closes new ones at once, like a Redis that went away.
    Cut,
}

/// A TCP proxy on a loopback port in front of the Redis under test.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    mode: watch::Sender<ProxyMode>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// A proxy in front of the Redis `url` names, and the URL that goes through it (user
    /// information, database and query kept).
    pub(crate) async fn in_front_of(url: &str) -> (Self, String) {
        let parts = UrlParts::of(url);
        let upstream = tokio::net::lookup_host(parts.host_port.as_str())
            .await
            .ok()
            .and_then(|mut addresses| addresses.next())
            .unwrap_or_else(|| panic!("{REDIS_URL_VARIABLE} names no address I can resolve"));
        let proxy = Self::start(upstream).await;
        let proxied = format!(
            "{}://{}127.0.0.1:{}{}",
            parts.scheme, parts.userinfo, proxy.port, parts.tail
        );
        (proxy, proxied)
    }

    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mode, watcher) = watch::channel(ProxyMode::Forward);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *watcher.borrow() == ProxyMode::Forward {
                    tokio::spawn(forward(client, upstream, watcher.clone()));
                }
                // Cut: `client` is dropped here, closing the connection.
            }
        });
        Self { port, mode, task }
    }

    pub(crate) fn set_mode(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        // Dropping `mode` ends every forwarding task.
    }
}

async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<ProxyMode>,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = mode.wait_for(|mode| *mode != ProxyMode::Forward) => {}
    }
}

/// A Redis URL taken apart: `{scheme}://{userinfo}{host_port}{tail}`.
pub(crate) struct UrlParts<'a> {
    pub(crate) scheme: &'a str,
    /// `user:password@`, or empty.
    pub(crate) userinfo: &'a str,
    /// With the default port added when the URL has none.
    pub(crate) host_port: String,
    /// The database and query, if any.
    pub(crate) tail: &'a str,
}

impl<'a> UrlParts<'a> {
    pub(crate) fn of(url: &'a str) -> Self {
        let (scheme, rest) = url
            .split_once("://")
            .unwrap_or_else(|| panic!("{REDIS_URL_VARIABLE} is not a redis:// URL"));
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (userinfo, host_port) = match authority.rfind('@') {
            Some(at) => authority.split_at(at + 1),
            None => ("", authority),
        };
        let has_port = host_port
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.ends_with(':') && port.parse::<u16>().is_ok());
        let host_port = if has_port {
            host_port.to_owned()
        } else {
            format!("{host_port}:6379")
        };
        Self {
            scheme,
            userinfo,
            host_port,
            tail,
        }
    }
}

/// A cache that refuses every call, as one whose server is gone does.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BrokenCache;

#[async_trait]
impl Cache for BrokenCache {
    async fn get(&self, _key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Err(broken())
    }

    async fn set(&self, _key: &str, _value: Vec<u8>, _ttl: Duration) -> Result<(), CacheError> {
        Err(broken())
    }

    async fn delete(&self, _key: &str) -> Result<(), CacheError> {
        Err(broken())
    }
}

fn broken() -> CacheError {
    CacheError::Unavailable("the test cache always refuses".to_owned())
}
