use std::fs;
use std::path::Path;

use super::*;
use crate::test_support::{SampleFormat, track as seed, write_sine_wav, write_tagged_wav};

fn tone(path: &Path) {
    write_sine_wav(path, 8000, 1, 440.0, 0.1, 0.5, SampleFormat::Int16);
}

/// An album folder of three tracks, a folder with one track tagged "The Sines" and one
/// untagged, and a lone track.
fn library() -> tempfile::TempDir {
    let library = tempfile::tempdir().unwrap();
    let root = library.path();
    fs::create_dir_all(root.join("Album")).unwrap();
    fs::create_dir_all(root.join("Mixed")).unwrap();
    fs::create_dir_all(root.join("Lone")).unwrap();
    tone(&root.join("Album/01 One.wav"));
    tone(&root.join("Album/02 Two.wav"));
    tone(&root.join("Album/03 Three.wav"));
    fs::write(root.join("Album/cover.txt"), "not audio").unwrap();
    write_tagged_wav(&root.join("Mixed/Sine Song.wav"), "The Sines");
    tone(&root.join("Mixed/Untagged.wav"));
    tone(&root.join("Lone/Alone.wav"));
    library
}

fn locators(found: &[TrackInfo]) -> Vec<&str> {
    found.iter().map(|info| info.locator.as_str()).collect()
}

#[tokio::test]
async fn a_local_seed_is_followed_by_the_rest_of_its_folder_in_order() {
    let library = library();
    let resolver = LocalFileResolver::new(library.path()).unwrap();

    let found = resolver
        .related(&seed(SourceKind::Local, "Album/02 Two.wav", None), &[])
        .await
        .unwrap();

    assert_eq!(locators(&found), ["Album/03 Three.wav", "Album/01 One.wav"]);
}

#[tokio::test]
async fn tracks_played_lately_are_not_repeated() {
    let library = library();
    let resolver = LocalFileResolver::new(library.path()).unwrap();

    let found = resolver
        .related(
            &seed(SourceKind::Local, "Album/02 Two.wav", None),
            &["Album/03 Three.wav".to_owned()],
        )
        .await
        .unwrap();

    assert_eq!(locators(&found), ["Album/01 One.wav"]);
}

#[tokio::test]
async fn a_seed_from_another_source_finds_the_library_files_of_its_artist() {
    let library = library();
    let resolver = LocalFileResolver::new(library.path()).unwrap();

    let found = resolver
        .related(
            &seed(
                SourceKind::YouTube,
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                Some("the sines"),
            ),
            &[],
        )
        .await
        .unwrap();

    assert_eq!(locators(&found), ["Mixed/Sine Song.wav"]);
    assert_eq!(found[0].artist.as_deref(), Some("The Sines"));
}

#[tokio::test]
async fn nothing_related_is_not_found() {
    let library = library();
    let resolver = LocalFileResolver::new(library.path()).unwrap();

    let lone = resolver
        .related(&seed(SourceKind::Local, "Lone/Alone.wav", None), &[])
        .await;
    let outside = resolver
        .related(&seed(SourceKind::Local, "../../etc/passwd", None), &[])
        .await;

    assert!(matches!(lone, Err(ResolveError::NotFound(_))), "{lone:?}");
    assert!(
        matches!(outside, Err(ResolveError::NotFound(_))),
        "{outside:?}"
    );
}
