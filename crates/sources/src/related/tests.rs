use std::path::Path;
use std::time::Duration;

use super::*;
use crate::YtDlpConfig;
use crate::test_support::{SampleFormat, track as seed, write_sine_wav, write_tagged_wav};

/// A yt-dlp that runs `body` and leaves a file named `called` beside itself.
fn fake_ytdlp(folder: &Path, body: &str) -> YtDlpResolver {
    let binary = folder.join("yt-dlp");
    let script = format!("touch '{}'\n{body}", folder.join("called").display());
    minstrel_testkit::process::write_script(&binary, &script);
    YtDlpResolver::new(YtDlpConfig {
        binary,
        timeout: Duration::from_secs(20),
        ..YtDlpConfig::default()
    })
}

/// A library with an album folder and a track tagged "Rick Astley".
fn library() -> tempfile::TempDir {
    let library = tempfile::tempdir().unwrap();
    let root = library.path();
    std::fs::create_dir_all(root.join("Album")).unwrap();
    for name in ["1.wav", "2.wav"] {
        write_sine_wav(
            &root.join("Album").join(name),
            8000,
            1,
            440.0,
            0.1,
            0.5,
            SampleFormat::Int16,
        );
    }
    write_tagged_wav(&root.join("Rick.wav"), "Rick Astley");
    library
}

fn youtube_seed(artist: &str) -> Track {
    seed(
        SourceKind::YouTube,
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        Some(artist),
    )
}

/// yt-dlp refuses (the bot check), the library under `library` answers.
fn refused_by_youtube(folder: &Path, library: &Path) -> RoutingRelatedTracks {
    RoutingRelatedTracks::new(
        Some(fake_ytdlp(
            folder,
            "echo 'ERROR: Sign in to confirm you are not a bot' >&2\nexit 1",
        )),
        Some(LocalFileResolver::new(library).unwrap()),
    )
}

#[tokio::test]
async fn a_youtube_seed_falls_back_to_the_library_when_yt_dlp_fails() {
    let (folder, library) = (tempfile::tempdir().unwrap(), library());
    let related = refused_by_youtube(folder.path(), library.path());

    let found = related
        .related(&youtube_seed("Rick Astley"), &[])
        .await
        .unwrap();

    assert!(
        folder.path().join("called").exists(),
        "yt-dlp was asked first"
    );
    assert_eq!(found[0].locator, "Rick.wav");
}

#[tokio::test]
async fn when_nothing_is_found_the_yt_dlp_failure_is_reported() {
    let (folder, library) = (tempfile::tempdir().unwrap(), library());
    let related = refused_by_youtube(folder.path(), library.path());

    let result = related
        .related(&youtube_seed("Nobody In The Library"), &[])
        .await;

    match result {
        Err(ResolveError::Unavailable(message)) => {
            assert!(message.contains("Sign in"), "{message}");
        }
        other => panic!("expected yt-dlp's failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_local_seed_asks_the_library_only() {
    let folder = tempfile::tempdir().unwrap();
    let library = library();
    let related = RoutingRelatedTracks::new(
        Some(fake_ytdlp(folder.path(), "exit 1")),
        Some(LocalFileResolver::new(library.path()).unwrap()),
    );

    let found = related
        .related(&seed(SourceKind::Local, "Album/1.wav", None), &[])
        .await
        .unwrap();

    assert_eq!(found[0].locator, "Album/2.wav");
    assert!(
        !folder.path().join("called").exists(),
        "yt-dlp was not asked"
    );
}

#[tokio::test]
async fn no_source_finds_nothing() {
    let related = RoutingRelatedTracks::default();
    let result = related
        .related(&seed(SourceKind::Local, "Album/1.wav", None), &[])
        .await;
    assert!(
        matches!(result, Err(ResolveError::NotFound(_))),
        "{result:?}"
    );
}
