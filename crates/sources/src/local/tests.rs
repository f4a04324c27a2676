use std::fs;
use std::path::Path;
use std::time::Duration;

use minstrel_domain::{Requester, TrackId};

use super::*;
use crate::test_support::{SampleFormat, channel, pitch, track, write_sine_wav};

struct Fixture {
    // Held so the folders live as long as the test.
    _outside: tempfile::TempDir,
    library: tempfile::TempDir,
    outside_file: PathBuf,
}

fn tone(path: &Path) {
    write_sine_wav(path, 48_000, 2, 440.0, 0.25, 0.5, SampleFormat::Int16);
}

/// A library with a few songs, a non-audio file, and a secret outside it.
fn fixture() -> Fixture {
    let library = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = library.path();
    fs::create_dir_all(root.join("Jazz/Late Night")).unwrap();
    fs::create_dir_all(root.join("Rock")).unwrap();
    tone(&root.join("Jazz/Late Night/Blue Moon.wav"));
    tone(&root.join("Jazz/Blue Moon (Live Extended Version).wav"));
    tone(&root.join("Rock/Highway Song.WAV"));
    tone(&root.join("top.wav"));
    fs::write(root.join("Rock/notes.txt"), "not audio").unwrap();
    let outside_file = outside.path().join("secret.wav");
    tone(&outside_file);
    Fixture {
        _outside: outside,
        library,
        outside_file,
    }
}

fn resolver(fixture: &Fixture) -> LocalFileResolver {
    LocalFileResolver::new(fixture.library.path()).unwrap()
}

fn forbidden(result: Result<Vec<TrackInfo>, ResolveError>) -> String {
    match result {
        Err(ResolveError::Forbidden(message)) => message,
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn resolves_a_relative_path() {
    let fixture = fixture();
    let infos = resolver(&fixture)
        .resolve("Rock/Highway Song.WAV")
        .await
        .unwrap();
    assert_eq!(infos.len(), 1);
    let info = &infos[0];
    assert_eq!(info.title, "Highway Song");
    assert_eq!(info.artist, None);
    assert_eq!(info.source_kind, SourceKind::Local);
    assert_eq!(info.locator, "Rock/Highway Song.WAV");
    assert_eq!(info.duration, Some(Duration::from_millis(250)));
}

#[tokio::test]
async fn resolves_an_absolute_path_inside_the_library() {
    let fixture = fixture();
    let absolute = fixture.library.path().join("Jazz/Late Night/Blue Moon.wav");
    let infos = resolver(&fixture)
        .resolve(absolute.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(infos[0].locator, "Jazz/Late Night/Blue Moon.wav");
}

#[tokio::test]
async fn a_harmless_dot_dot_that_stays_inside_is_fine() {
    let fixture = fixture();
    let infos = resolver(&fixture).resolve("Rock/../top.wav").await.unwrap();
    assert_eq!(infos[0].locator, "top.wav");
}

#[tokio::test]
async fn searches_by_words_and_prefers_the_shortest_match() {
    let fixture = fixture();
    let resolver = resolver(&fixture);
    let infos = resolver.resolve("blue moon").await.unwrap();
    assert_eq!(infos.len(), 1, "a search plays the best match only");
    assert_eq!(infos[0].locator, "Jazz/Late Night/Blue Moon.wav");
    assert_eq!(infos[0].title, "Blue Moon");

    let infos = resolver.resolve("MOON live").await.unwrap();
    assert_eq!(
        infos[0].locator,
        "Jazz/Blue Moon (Live Extended Version).wav"
    );

    let infos = resolver.resolve("highway").await.unwrap();
    assert_eq!(infos[0].locator, "Rock/Highway Song.WAV");
}

#[tokio::test]
async fn a_search_that_matches_nothing_is_not_found() {
    let fixture = fixture();
    let resolver = resolver(&fixture);
    assert_eq!(
        resolver.resolve("polka accordion").await,
        Err(ResolveError::NotFound("polka accordion".to_owned()))
    );
    // Words that match only a non-audio file find nothing either.
    assert!(matches!(
        resolver.resolve("notes").await,
        Err(ResolveError::NotFound(_))
    ));
    // A folder name is searched as words, not played.
    assert!(matches!(
        resolver.resolve("Jazz").await,
        Err(ResolveError::NotFound(_))
    ));
    assert!(matches!(
        resolver.resolve("   ").await,
        Err(ResolveError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_missing_path_is_not_found() {
    let fixture = fixture();
    assert_eq!(
        resolver(&fixture).resolve("Rock/missing.wav").await,
        Err(ResolveError::NotFound("Rock/missing.wav".to_owned()))
    );
}

#[tokio::test]
async fn refuses_dot_dot_escapes() {
    let fixture = fixture();
    let resolver = resolver(&fixture);
    let message = forbidden(resolver.resolve("../x.wav").await);
    assert!(message.contains("\"../x.wav\""), "{message}");
    assert!(
        !message.contains(fixture.library.path().to_str().unwrap()),
        "{message}"
    );

    // Even when the target exists next to the library.
    let sneaky = format!(
        "../{}/secret.wav",
        fixture
            .outside_file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
    );
    forbidden(resolver.resolve(&sneaky).await);
    forbidden(resolver.resolve("Rock/../../x.wav").await);
}

#[tokio::test]
async fn refuses_an_absolute_path_outside() {
    let fixture = fixture();
    let resolver = resolver(&fixture);
    let outside = fixture.outside_file.to_str().unwrap();
    let message = forbidden(resolver.resolve(outside).await);
    assert!(
        message.contains(outside),
        "quotes the user's input: {message}"
    );
    assert!(
        !message.contains(fixture.library.path().to_str().unwrap()),
        "{message}"
    );
    forbidden(resolver.resolve("/etc/passwd").await);
    forbidden(resolver.resolve("/no/such/file.wav").await);
}

#[cfg(unix)]
#[tokio::test]
async fn refuses_a_symlink_pointing_outside() {
    let fixture = fixture();
    let root = fixture.library.path();
    std::os::unix::fs::symlink(&fixture.outside_file, root.join("link.wav")).unwrap();
    std::os::unix::fs::symlink(
        fixture.outside_file.parent().unwrap(),
        root.join("elsewhere"),
    )
    .unwrap();
    let resolver = resolver(&fixture);
    let message = forbidden(resolver.resolve("link.wav").await);
    assert!(
        !message.contains(fixture.outside_file.to_str().unwrap()),
        "{message}"
    );
    forbidden(resolver.resolve("elsewhere/secret.wav").await);
    // The search skips the escaping link and the linked folder.
    assert!(matches!(
        resolver.resolve("secret").await,
        Err(ResolveError::NotFound(_))
    ));
    assert!(matches!(
        resolver.resolve("link").await,
        Err(ResolveError::NotFound(_))
    ));
}

#[cfg(unix)]
#[tokio::test]
async fn follows_a_symlink_that_stays_inside() {
    let fixture = fixture();
    let root = fixture.library.path();
    std::os::unix::fs::symlink(root.join("top.wav"), root.join("Rock/alias.wav")).unwrap();
    let infos = resolver(&fixture).resolve("Rock/alias.wav").await.unwrap();
    assert_eq!(infos[0].locator, "top.wav");
}

#[tokio::test]
async fn refuses_non_audio_files_and_folders() {
    let fixture = fixture();
    let resolver = resolver(&fixture);
    match resolver.resolve("Rock/notes.txt").await {
        Err(ResolveError::Unsupported(message)) => {
            assert!(message.contains("not an audio file"), "{message}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(matches!(
        resolver.resolve("Jazz/Late Night").await,
        Err(ResolveError::Unsupported(_))
    ));
}

#[tokio::test]
async fn a_damaged_file_with_an_audio_name_is_refused_cleanly() {
    let fixture = fixture();
    fs::write(
        fixture.library.path().join("broken.mp3"),
        b"definitely not mpeg",
    )
    .unwrap();
    assert!(matches!(
        resolver(&fixture).resolve("broken.mp3").await,
        Err(ResolveError::Unsupported(_))
    ));
}

#[test]
fn a_missing_root_is_an_error() {
    assert!(LocalFileResolver::new("/definitely/not/a/folder").is_err());
    assert!(LocalAudioOpener::new("/definitely/not/a/folder").is_err());
}

fn read_all(mut stream: Box<dyn PcmStream>) -> Vec<f32> {
    let mut all = Vec::new();
    let mut block = [0.0_f32; 1920];
    loop {
        let count = stream.read(&mut block).unwrap();
        if count == 0 {
            return all;
        }
        all.extend_from_slice(&block[..count]);
    }
}

#[tokio::test]
async fn the_opener_plays_what_the_resolver_found() {
    let fixture = fixture();
    let info = resolver(&fixture)
        .resolve("highway")
        .await
        .unwrap()
        .remove(0);
    let opener = LocalAudioOpener::new(fixture.library.path()).unwrap();
    let stream = opener
        .open(
            &info.into_track(TrackId(7), Requester::console()),
            Duration::ZERO,
            OpenOptions::default(),
        )
        .unwrap();
    let samples = read_all(stream);
    assert_eq!(samples.len(), 2 * 12_000);
    let measured = pitch(&channel(&samples, 0), 48_000);
    assert!((measured - 440.0).abs() < 4.4, "pitch {measured}");
}

#[test]
fn the_opener_refuses_locators_leading_outside() {
    let fixture = fixture();
    let opener = LocalAudioOpener::new(fixture.library.path()).unwrap();
    for locator in [
        "../secret.wav",
        "Rock/../../secret.wav",
        fixture.outside_file.to_str().unwrap(),
    ] {
        let error = opener
            .open(
                &track(SourceKind::Local, locator, None),
                Duration::ZERO,
                OpenOptions::default(),
            )
            .err()
            .unwrap();
        assert!(matches!(error, AudioError::Io(_)), "{locator}: {error:?}");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&fixture.outside_file, fixture.library.path().join("l.wav"))
            .unwrap();
        let error = opener
            .open(
                &track(SourceKind::Local, "l.wav", None),
                Duration::ZERO,
                OpenOptions::default(),
            )
            .err()
            .unwrap();
        assert!(error.to_string().contains("outside"), "{error}");
    }
}

#[test]
fn the_opener_leaves_other_sources_for_later() {
    let fixture = fixture();
    let opener = LocalAudioOpener::new(fixture.library.path()).unwrap();
    let error = opener
        .open(
            &track(SourceKind::Http, "https://example.com/a.mp3", None),
            Duration::ZERO,
            OpenOptions::default(),
        )
        .err()
        .unwrap();
    match error {
        AudioError::Unsupported(message) => assert!(message.contains("sources issue")),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn the_opener_seeks() {
    let fixture = fixture();
    let opener = LocalAudioOpener::new(fixture.library.path()).unwrap();
    let stream = opener
        .open(
            &track(SourceKind::Local, "top.wav", None),
            Duration::from_millis(125),
            OpenOptions::default(),
        )
        .unwrap();
    let frames = read_all(stream).len() / 2;
    assert!((5_900..=6_100).contains(&frames), "{frames}");
}
