//! Every internal address is refused before anything connects, redirects included.

use std::net::IpAddr;
use std::sync::Arc;

use minstrel_app::ports::{ResolveError, TrackResolver};
use minstrel_sources::{HttpLimits, HttpResolver, SafeHttpClient, SystemHostResolver};

use crate::server::{Reply, TestServer};
use crate::support::{TestResolver, wav_bytes};

fn refused(result: Result<Vec<minstrel_app::ports::TrackInfo>, ResolveError>, what: &str) {
    match result {
        Err(ResolveError::Forbidden(message)) => {
            assert!(
                message.contains("not allowed to reach"),
                "{what}: {message}"
            );
        }
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_are_refused() {
    let server = TestServer::start();
    let mut names = TestResolver::for_server(server.address);
    names
        .names
        .insert("evil.test".to_owned(), vec!["127.0.0.1".parse().unwrap()]);
    // One internal answer among public ones is enough to refuse.
    let mixed: Vec<IpAddr> = vec![
        "93.184.216.34".parse().unwrap(),
        "10.0.0.7".parse().unwrap(),
    ];
    names.names.insert("mixed.test".to_owned(), mixed);
    names.names.insert(
        "metadata.test".to_owned(),
        vec!["169.254.169.254".parse().unwrap()],
    );
    names
        .names
        .insert("six.test".to_owned(), vec!["::1".parse().unwrap()]);
    let resolver = HttpResolver::new(SafeHttpClient::with_resolver(
        HttpLimits::default(),
        Arc::new(names),
    ));
    let port = server.address.port();
    let other_port = port.wrapping_add(1).max(1);
    for url in [
        format!("http://127.0.0.1:{other_port}/a.mp3"),
        "http://127.0.0.1/a.mp3".to_owned(),
        "http://127.1.2.3/a.mp3".to_owned(),
        "http://2130706433/a.mp3".to_owned(),
        "http://0x7f000001/a.mp3".to_owned(),
        format!("http://[::1]:{port}/a.mp3"),
        format!("http://[::ffff:127.0.0.1]:{port}/a.mp3"),
        "http://[::ffff:7f00:1]/a.mp3".to_owned(),
        "http://0.0.0.0/a.mp3".to_owned(),
        "http://[::]/a.mp3".to_owned(),
        "http://10.0.0.1/a.mp3".to_owned(),
        "http://10.255.255.255/a.mp3".to_owned(),
        "http://172.16.0.1/a.mp3".to_owned(),
        "http://172.31.1.1/a.mp3".to_owned(),
        "http://192.168.0.1/a.mp3".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://100.64.0.1/a.mp3".to_owned(),
        "http://100.127.1.1/a.mp3".to_owned(),
        "http://[fd00::1]/a.mp3".to_owned(),
        "http://[fe80::1]/a.mp3".to_owned(),
        "http://224.0.0.1/a.mp3".to_owned(),
        format!("http://evil.test:{port}/a.mp3"),
        "http://mixed.test/a.mp3".to_owned(),
        "https://metadata.test/a.mp3".to_owned(),
        "http://six.test/a.mp3".to_owned(),
    ] {
        refused(resolver.resolve(&url).await, &url);
    }
    assert!(server.seen().is_empty(), "nothing reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localhost_through_the_system_resolver_is_refused() {
    let resolver = HttpResolver::new(SafeHttpClient::with_resolver(
        HttpLimits::default(),
        Arc::new(SystemHostResolver),
    ));
    refused(
        resolver.resolve("http://localhost/a.mp3").await,
        "localhost",
    );
    refused(
        resolver.resolve("http://localhost:8080/a.mp3").await,
        "localhost:8080",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_internal_addresses_are_refused() {
    let server = TestServer::start();
    server.file("/tone.wav", wav_bytes(48_000, 1, 0.25));
    let port = server.address.port();
    let other_port = port.wrapping_add(1).max(1);
    let targets = [
        format!("http://127.0.0.1:{other_port}/tone.wav"),
        format!("http://[::1]:{port}/tone.wav"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://192.168.1.1/".to_owned(),
        format!("http://localhost:{port}/tone.wav"),
        "file:///etc/passwd".to_owned(),
    ];
    for (index, target) in targets.iter().enumerate() {
        server.route(&format!("/bounce{index}"), Reply::Redirect(target.clone()));
    }
    let resolver = HttpResolver::new(SafeHttpClient::with_resolver(
        HttpLimits::default(),
        Arc::new(TestResolver::for_server(server.address)),
    ));
    for (index, target) in targets.iter().enumerate() {
        let url = server.url("audio.test", &format!("/bounce{index}"));
        let result = resolver.resolve(&url).await;
        if target.starts_with("file:") {
            assert!(
                matches!(result, Err(ResolveError::Unsupported(_))),
                "{target}: {result:?}"
            );
        } else if target.contains("localhost") {
            // The test resolver knows no `localhost`: refused as an unknown host, never reached.
            assert!(result.is_err(), "{target}");
        } else {
            refused(result, target);
        }
    }
    // Only the first hops reached the server; the permitted address itself still works.
    assert!(
        server
            .seen()
            .iter()
            .all(|seen| seen.path.starts_with("/bounce"))
    );
    let ok = resolver
        .resolve(&server.url("audio.test", "/tone.wav"))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_a_name_of_an_internal_address_is_refused_by_the_resolver() {
    let server = TestServer::start();
    server.file("/tone.wav", wav_bytes(48_000, 1, 0.25));
    let port = server.address.port();
    // `rebound.test` answers with the test server's own address, which only `audio.test` may
    // reach: the hop is refused when reqwest resolves the name, before it connects.
    let mut names = TestResolver::for_server(server.address);
    names
        .names
        .insert("rebound.test".to_owned(), vec![server.address.ip()]);
    server.route(
        "/bounce",
        Reply::Redirect(format!("http://rebound.test:{port}/tone.wav")),
    );
    let resolver = HttpResolver::new(SafeHttpClient::with_resolver(
        HttpLimits::default(),
        Arc::new(names),
    ));
    refused(
        resolver.resolve(&server.url("audio.test", "/bounce")).await,
        "rebound.test",
    );
    let paths: Vec<String> = server.seen().into_iter().map(|seen| seen.path).collect();
    assert_eq!(
        paths,
        ["/bounce"],
        "the second hop never reached the server"
    );
    // The same client, the same server under its permitted name: still reachable.
    let ok = resolver
        .resolve(&server.url("audio.test", "/tone.wav"))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}
