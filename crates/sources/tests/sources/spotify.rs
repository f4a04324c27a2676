//! `SpotifyResolver` against a fake Spotify on 127.0.0.1 (axum): the accounts token endpoint and
//! the Web API's track, album-tracks and playlist-items endpoints answer with realistic JSON;
//! the matching search is a fake of the default provider.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use minstrel_app::ports::{ResolveError, TrackInfo, TrackResolver};
use minstrel_domain::SourceKind;
use minstrel_sources::{SearchSite, SpotifyConfig, SpotifyCredentials, SpotifyResolver};
use serde_json::{Value, json};

const CLIENT_ID: &str = "fake-client-id";
const CLIENT_SECRET: &str = "fake-client-secret-do-not-log";
const TOKEN: &str = "fake-access-token";

const TRACK_ID: &str = "4uLU6hMCjMI75M1A2tKUQC";
const ALBUM_ID: &str = "1DFixLWuPkv3KT3TnV35m3";
const PLAYLIST_ID: &str = "37i9dQZF1DXcBWIGoYBM5M";

/// A request the fake saw: method, path and query, and the `Authorization` header.
#[derive(Debug, Clone)]
struct Request {
    method: Method,
    path: String,
    query: String,
    authorization: String,
}

#[derive(Default)]
struct FakeState {
    requests: Mutex<Vec<Request>>,
    /// Status the Web API answers with instead of data (the token endpoint still works).
    api_status: Mutex<Option<u16>>,
    /// Status the token endpoint answers with instead of a token.
    token_status: Mutex<Option<u16>>,
}

struct FakeSpotify {
    address: SocketAddr,
    state: Arc<FakeState>,
}

impl FakeSpotify {
    async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { address, state }
    }

    fn config(&self) -> SpotifyConfig {
        SpotifyConfig {
            credentials: Some(SpotifyCredentials {
                client_id: CLIENT_ID.to_owned(),
                client_secret: CLIENT_SECRET.to_owned(),
            }),
            search_site: SearchSite::YouTube,
            api_base_url: format!("http://{}/v1/", self.address),
            accounts_base_url: format!("http://{}/", self.address),
            ..SpotifyConfig::default()
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    fn token_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|request| request.path == "/api/token")
            .count()
    }

    fn api_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|request| request.path.starts_with("/v1/"))
            .collect()
    }

    fn fail_api_with(&self, status: Option<u16>) {
        *self.state.api_status.lock().unwrap() = status;
    }

    fn fail_token_with(&self, status: u16) {
        *self.state.token_status.lock().unwrap() = Some(status);
    }
}

#[allow(clippy::too_many_lines)] // one branch per faked endpoint reads as a table
async fn answer(
    State(state): State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    state.requests.lock().unwrap().push(Request {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        authorization: authorization.clone(),
    });
    let reply = |status: u16, body: Value| {
        (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            body.to_string(),
        )
    };
    if path == "/api/token" {
        if let Some(status) = *state.token_status.lock().unwrap() {
            return reply(
                status,
                json!({"error": "invalid_client", "error_description": "Invalid client"}),
            );
        }
        if method != Method::POST || !authorization.starts_with("Basic ") {
            return reply(400, json!({"error": "invalid_request"}));
        }
        return reply(
            200,
            json!({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}),
        );
    }
    if let Some(status) = *state.api_status.lock().unwrap() {
        let message = match status {
            401 => "The access token expired",
            429 => "API rate limit exceeded",
            _ => "Service unavailable",
        };
        return reply(
            status,
            json!({"error": {"status": status, "message": message}}),
        );
    }
    if authorization != format!("Bearer {TOKEN}") {
        return reply(
            401,
            json!({"error": {"status": 401, "message": "No token provided"}}),
        );
    }
    let offset: u32 = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("offset="))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let base = format!("http://{}", headers["host"].to_str().unwrap());
    match path.as_str() {
        p if p == format!("/v1/tracks/{TRACK_ID}") => reply(
            200,
            full_track(TRACK_ID, "One More Time", "Daft Punk", 320_357),
        ),
        p if p == format!("/v1/albums/{ALBUM_ID}/tracks") => {
            // Two pages: the resolver has to follow `next`.
            let first = [
                simplified_track("0DiWol3AO6WpXZgp0goxAV", "One More Time", 320_357),
                simplified_track("2VEZx7NWsZ1D0eJ4uv5Fym", "Aerodynamic", 207_000),
            ];
            let second = [simplified_track(
                "63SevszngYpZOwf63o61K4",
                "Digital Love",
                301_000,
            )];
            if offset == 0 {
                let next = format!("{base}{p}?offset=2&limit=2");
                reply(200, page(&first, Some(&next), 0, 3))
            } else {
                reply(200, page(&second, None, offset, 3))
            }
        }
        p if p == format!("/v1/playlists/{PLAYLIST_ID}/items") => {
            let items = [
                json!({
                    "added_at": "2024-01-01T00:00:00Z",
                    "added_by": null,
                    "is_local": false,
                    "item": full_track("5W3cjX2J3tjhG8zb6u0qHn", "Harder Better Faster Stronger", "Daft Punk", 224_000),
                }),
                // A track removed from Spotify: `item` is null and must be skipped quietly.
                json!({"added_at": null, "added_by": null, "is_local": false, "item": null}),
                json!({
                    "added_at": "2024-01-02T00:00:00Z",
                    "added_by": null,
                    "is_local": false,
                    "item": full_track("0DiWol3AO6WpXZgp0goxAV", "One More Time", "Daft Punk", 320_357),
                }),
            ];
            reply(200, page(&items, None, 0, 3))
        }
        _ => reply(
            404,
            json!({"error": {"status": 404, "message": "Non existing id"}}),
        ),
    }
}

fn artist(name: &str) -> Value {
    json!({
        "external_urls": {"spotify": "https://open.spotify.com/artist/4tZwfgrHOc3mvqYlEYSvVi"},
        "href": "https://api.spotify.com/v1/artists/4tZwfgrHOc3mvqYlEYSvVi",
        "id": "4tZwfgrHOc3mvqYlEYSvVi",
        "name": name,
        "type": "artist",
        "uri": "spotify:artist:4tZwfgrHOc3mvqYlEYSvVi"
    })
}

fn album() -> Value {
    json!({
        "album_type": "album",
        "total_tracks": 3,
        "artists": [artist("Daft Punk")],
        "external_urls": {"spotify": format!("https://open.spotify.com/album/{ALBUM_ID}")},
        "href": format!("https://api.spotify.com/v1/albums/{ALBUM_ID}"),
        "id": ALBUM_ID,
        "images": [{"url": "https://i.scdn.co/image/ab67616d0000b273", "height": 640, "width": 640}],
        "name": "Discovery",
        "release_date": "2001-03-12",
        "release_date_precision": "day",
        "type": "album",
        "uri": format!("spotify:album:{ALBUM_ID}")
    })
}

fn full_track(id: &str, name: &str, artist_name: &str, millis: u64) -> Value {
    json!({
        "album": album(),
        "artists": [artist(artist_name)],
        "disc_number": 1,
        "duration_ms": millis,
        "explicit": false,
        "external_ids": {"isrc": "GBDUW0000053"},
        "external_urls": {"spotify": format!("https://open.spotify.com/track/{id}")},
        "href": format!("https://api.spotify.com/v1/tracks/{id}"),
        "id": id,
        "is_local": false,
        "name": name,
        "popularity": 80,
        "preview_url": null,
        "track_number": 1,
        "type": "track",
        "uri": format!("spotify:track:{id}")
    })
}

fn simplified_track(id: &str, name: &str, millis: u64) -> Value {
    json!({
        "artists": [artist("Daft Punk")],
        "disc_number": 1,
        "duration_ms": millis,
        "explicit": false,
        "external_urls": {"spotify": format!("https://open.spotify.com/track/{id}")},
        "href": format!("https://api.spotify.com/v1/tracks/{id}"),
        "id": id,
        "is_local": false,
        "is_playable": true,
        "name": name,
        "preview_url": null,
        "track_number": 1,
        "type": "track",
        "uri": format!("spotify:track:{id}")
    })
}

fn page(items: &[Value], next: Option<&str>, offset: u32, total: u32) -> Value {
    json!({
        "href": "https://api.spotify.com/v1/page",
        "items": items,
        "limit": 50,
        "next": next,
        "offset": offset,
        "previous": null,
        "total": total
    })
}

/// The default search provider: answers `ytsearch5:<artist> - <title>` with candidates of
/// which only one is the studio recording of the right length.
#[derive(Default)]
struct FakeSearch {
    queries: Mutex<Vec<String>>,
}

fn candidate(title: &str, uploader: &str, seconds: u64, video: &str) -> TrackInfo {
    TrackInfo {
        title: title.to_owned(),
        artist: Some(uploader.to_owned()),
        duration: Some(Duration::from_secs(seconds)),
        source_kind: SourceKind::YouTube,
        locator: format!("https://www.youtube.com/watch?v={video}"),
        thumbnail: None,
    }
}

#[async_trait]
impl TrackResolver for FakeSearch {
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        self.queries.lock().unwrap().push(query.to_owned());
        let words = query
            .strip_prefix("ytsearch5:")
            .ok_or_else(|| ResolveError::Unsupported(format!("unexpected query {query}")))?;
        let (_, title) = words.split_once(" - ").unwrap_or(("", words));
        let seconds: HashMap<&str, u64> = [
            ("One More Time", 320),
            ("Aerodynamic", 207),
            ("Digital Love", 301),
            ("Harder Better Faster Stronger", 224),
        ]
        .into_iter()
        .collect();
        let Some(&length) = seconds.get(title) else {
            return Ok(Vec::new());
        };
        let video = title.replace(' ', "");
        Ok(vec![
            candidate(
                &format!("Daft Punk - {title} (Live)"),
                "Daft Punk",
                length,
                "live",
            ),
            candidate(
                &format!("Daft Punk - {title} (Extended Mix)"),
                "Daft Punk",
                length + 95,
                "extended",
            ),
            candidate(
                &format!("{title} (Official Audio)"),
                "Daft Punk",
                length + 2,
                &video,
            ),
        ])
    }
}

fn resolver(config: SpotifyConfig) -> (SpotifyResolver, Arc<FakeSearch>) {
    let search = Arc::new(FakeSearch::default());
    let resolver = SpotifyResolver::new(config, Arc::clone(&search) as Arc<dyn TrackResolver>);
    (resolver, search)
}

#[tokio::test]
async fn a_track_link_becomes_the_best_matching_search_result() {
    let spotify = FakeSpotify::start().await;
    let (resolver, search) = resolver(spotify.config());

    let tracks = resolver
        .resolve(&format!("https://open.spotify.com/track/{TRACK_ID}?si=abc"))
        .await
        .unwrap();

    assert_eq!(tracks.len(), 1);
    let track = &tracks[0];
    assert_eq!(track.title, "One More Time", "Spotify's title is kept");
    assert_eq!(track.artist.as_deref(), Some("Daft Punk"));
    assert_eq!(
        track.locator, "https://www.youtube.com/watch?v=OneMoreTime",
        "the live version and the 95 s longer mix lose to the studio length"
    );
    assert_eq!(track.duration, Some(Duration::from_secs(322)));
    assert_eq!(
        *search.queries.lock().unwrap(),
        ["ytsearch5:Daft Punk - One More Time"]
    );
    assert_eq!(spotify.token_requests(), 1);
    let token = &spotify.requests()[0];
    assert_eq!(token.method, Method::POST);
    let api = spotify.api_requests();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].path, format!("/v1/tracks/{TRACK_ID}"));
    assert_eq!(api[0].authorization, format!("Bearer {TOKEN}"));
}

#[tokio::test]
async fn an_album_is_read_page_by_page_and_kept_in_order() {
    let spotify = FakeSpotify::start().await;
    let (resolver, search) = resolver(spotify.config());

    let tracks = resolver
        .resolve(&format!("spotify:album:{ALBUM_ID}"))
        .await
        .unwrap();

    let titles: Vec<&str> = tracks.iter().map(|track| track.title.as_str()).collect();
    assert_eq!(titles, ["One More Time", "Aerodynamic", "Digital Love"]);
    assert!(
        tracks
            .iter()
            .all(|track| track.locator.ends_with(&track.title.replace(' ', "")))
    );
    assert_eq!(search.queries.lock().unwrap().len(), 3);
    let pages: Vec<String> = spotify
        .api_requests()
        .into_iter()
        .map(|request| request.query)
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[0].contains("offset=0"), "{pages:?}");
    assert!(pages[1].contains("offset=2"), "{pages:?}");
    assert_eq!(spotify.token_requests(), 1, "one token serves every page");
}

#[tokio::test]
async fn a_playlist_skips_removed_items_and_matches_the_rest() {
    let spotify = FakeSpotify::start().await;
    let (resolver, _search) = resolver(spotify.config());

    let tracks = resolver
        .resolve(&format!("https://open.spotify.com/playlist/{PLAYLIST_ID}"))
        .await
        .unwrap();

    let titles: Vec<&str> = tracks.iter().map(|track| track.title.as_str()).collect();
    assert_eq!(titles, ["Harder Better Faster Stronger", "One More Time"]);
    assert_eq!(
        spotify.api_requests()[0].path,
        format!("/v1/playlists/{PLAYLIST_ID}/items")
    );
}

#[tokio::test]
async fn without_credentials_a_link_fails_clearly_and_nothing_is_asked() {
    let spotify = FakeSpotify::start().await;
    let (resolver, search) = resolver(SpotifyConfig {
        credentials: None,
        ..spotify.config()
    });

    let error = resolver
        .resolve(&format!("spotify:track:{TRACK_ID}"))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ResolveError::Unavailable(message) if message.contains("Spotify API credentials")),
        "{error:?}"
    );
    assert!(spotify.requests().is_empty());
    assert!(search.queries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn refused_credentials_fail_clearly_without_the_secret() {
    let spotify = FakeSpotify::start().await;
    spotify.fail_token_with(400);
    let (resolver, search) = resolver(spotify.config());

    let error = resolver
        .resolve(&format!("spotify:track:{TRACK_ID}"))
        .await
        .unwrap_err();

    let message = error.to_string();
    assert!(
        message.contains("refused this bot's credentials"),
        "{message}"
    );
    assert!(!message.contains(CLIENT_SECRET) && !message.contains(CLIENT_ID));
    assert!(spotify.api_requests().is_empty());
    assert!(search.queries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_401_from_the_api_fails_clearly_and_the_next_link_gets_a_new_token() {
    let spotify = FakeSpotify::start().await;
    let (resolver, _search) = resolver(spotify.config());
    spotify.fail_api_with(Some(401));

    let error = resolver
        .resolve(&format!("spotify:track:{TRACK_ID}"))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ResolveError::Unavailable(message) if message.contains("refused this bot's credentials")),
        "{error:?}"
    );
    assert!(!error.to_string().contains(TOKEN));
    spotify.fail_api_with(None);
    let tracks = resolver
        .resolve(&format!("spotify:track:{TRACK_ID}"))
        .await
        .unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(spotify.token_requests(), 2);
}

#[tokio::test]
async fn a_429_or_a_server_error_from_the_api_fails_clearly() {
    let spotify = FakeSpotify::start().await;
    let (resolver, search) = resolver(spotify.config());
    for (status, expected) in [
        (429, "limiting how often this bot may ask"),
        (503, "Spotify did not answer"),
    ] {
        spotify.fail_api_with(Some(status));
        for link in [
            format!("spotify:track:{TRACK_ID}"),
            format!("spotify:album:{ALBUM_ID}"),
            format!("spotify:playlist:{PLAYLIST_ID}"),
        ] {
            let error = resolver.resolve(&link).await.unwrap_err();
            assert!(
                matches!(&error, ResolveError::Unavailable(message) if message.contains(expected)),
                "{status} {link}: {error:?}"
            );
        }
    }
    assert!(search.queries.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_unknown_id_is_not_found() {
    let spotify = FakeSpotify::start().await;
    let (resolver, _search) = resolver(spotify.config());

    let error = resolver
        .resolve("spotify:track:0000000000000000000000")
        .await
        .unwrap_err();

    assert!(matches!(error, ResolveError::NotFound(_)), "{error:?}");
}
