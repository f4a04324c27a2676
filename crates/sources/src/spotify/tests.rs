use std::sync::Mutex;

use minstrel_domain::SourceKind;

use super::*;

#[test]
fn parses_track_album_and_playlist_links() {
    let cases = [
        (
            "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=abc",
            SpotifyKind::Track,
        ),
        (
            "https://open.spotify.com/intl-de/album/1DFixLWuPkv3KT3TnV35m3",
            SpotifyKind::Album,
        ),
        (
            "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M",
            SpotifyKind::Playlist,
        ),
        ("spotify:track:4uLU6hMCjMI75M1A2tKUQC", SpotifyKind::Track),
    ];
    for (text, kind) in cases {
        let link = parse_spotify_link(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(link.kind, kind, "{text}");
        assert!(is_spotify_link(text));
    }
    assert_eq!(
        parse_spotify_link("spotify:track:4uLU6hMCjMI75M1A2tKUQC")
            .unwrap()
            .id,
        "4uLU6hMCjMI75M1A2tKUQC"
    );
    for bad in [
        "https://open.spotify.com/episode/4uLU6hMCjMI75M1A2tKUQC",
        "https://open.spotify.com/track/../../x",
        "https://evil.com/track/4uLU6hMCjMI75M1A2tKUQC",
        "spotify:track:",
        "https://open.spotify.com/track/",
    ] {
        assert_eq!(parse_spotify_link(bad), None, "{bad}");
    }
    assert!(is_spotify_link(
        "https://open.spotify.com/episode/4uLU6hMCjMI75M1A2tKUQC"
    ));
    assert!(!is_spotify_link("https://notspotify.com/track/x"));
}

fn candidate(title: &str, artist: &str, seconds: Option<u64>) -> TrackInfo {
    TrackInfo {
        title: title.to_owned(),
        artist: Some(artist.to_owned()),
        duration: seconds.map(Duration::from_secs),
        source_kind: SourceKind::YouTube,
        locator: format!("https://www.youtube.com/watch?v={}", title.len()),
        thumbnail: None,
    }
}

fn wanted() -> SpotifyTrack {
    SpotifyTrack {
        title: "Never Gonna Give You Up".to_owned(),
        artists: vec!["Rick Astley".to_owned()],
        duration: Duration::from_millis(213_573),
    }
}

#[test]
fn picks_the_same_song_within_three_seconds() {
    let candidates = [
        candidate("Never Gonna Give You Up (Live)", "Rick Astley", Some(214)),
        candidate("Never Gonna Give You Up - 10 hours", "Loops", Some(36_000)),
        candidate(
            "Rick Astley - Never Gonna Give You Up (Official Video)",
            "Rick Astley",
            Some(213),
        ),
        candidate("Never Gonna Give You Up (Cover)", "Someone", Some(212)),
    ];
    let found = best_match(&wanted(), &candidates).unwrap();
    assert_eq!(
        found.title,
        "Rick Astley - Never Gonna Give You Up (Official Video)"
    );
}

#[test]
fn a_wrong_length_loses_to_the_right_length() {
    let candidates = [
        candidate("Never Gonna Give You Up", "Rick Astley", Some(260)),
        candidate("Never Gonna Give You Up", "RickAstleyVEVO", Some(216)),
    ];
    let found = best_match(&wanted(), &candidates).unwrap();
    assert_eq!(found.duration, Some(Duration::from_secs(216)));
}

#[test]
fn an_unrelated_song_is_no_match() {
    let candidates = [
        candidate("Bohemian Rhapsody", "Queen", Some(213)),
        candidate("Something else entirely", "Nobody", None),
    ];
    assert_eq!(best_match(&wanted(), &candidates), None);
    assert_eq!(best_match(&wanted(), &[]), None);
}

#[test]
fn the_search_words_name_artist_and_title() {
    assert_eq!(
        search_words(&wanted()),
        "Rick Astley - Never Gonna Give You Up"
    );
}

/// Records queries; must never be called when credentials are missing.
struct RecordingSearch(Mutex<Vec<String>>);

#[async_trait]
impl TrackResolver for RecordingSearch {
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        self.0.lock().unwrap().push(query.to_owned());
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn without_credentials_the_error_says_what_to_do() {
    let search = Arc::new(RecordingSearch(Mutex::new(Vec::new())));
    let resolver = SpotifyResolver::new(SpotifyConfig::default(), search.clone());
    let error = resolver
        .resolve("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC")
        .await
        .unwrap_err();
    match error {
        ResolveError::Unavailable(message) => {
            assert!(message.contains("credentials"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(search.0.lock().unwrap().is_empty());
    assert!(matches!(
        resolver
            .resolve("https://open.spotify.com/episode/4uLU6hMCjMI75M1A2tKUQC")
            .await,
        Err(ResolveError::Unsupported(_))
    ));
}

#[test]
fn credentials_are_not_printed() {
    let credentials = SpotifyCredentials {
        client_id: "id".to_owned(),
        client_secret: "hunter2".to_owned(),
    };
    assert!(!format!("{credentials:?}").contains("hunter2"));
}
