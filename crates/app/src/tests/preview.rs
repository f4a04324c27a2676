//! `PreviewService`: a clip of the current track with a preset, without touching the player.

use std::sync::Arc;
use std::time::Duration;

use minstrel_domain::{FilterError, Preset};

use super::{Fixture, guild, member};
use crate::error::MusicError;
use crate::filters::FilterService;
use crate::policy::Actor;
use crate::ports::{MockPreviewRenderer, PreviewClip};
use crate::preview::{PREVIEW_LENGTH, PreviewError, PreviewService};

fn clip() -> PreviewClip {
    PreviewClip {
        wav: b"RIFF".to_vec(),
        duration: PREVIEW_LENGTH,
    }
}

#[tokio::test]
async fn a_preview_adds_the_preset_to_the_active_filters_and_leaves_the_player_alone() {
    let harness = Fixture::new().build();
    harness.play_console("A").await;
    FilterService::new(harness.music.clone())
        .apply_preset(guild(), &Actor::console(), "bassboost")
        .await
        .unwrap();
    harness.take_player_calls();
    let wanted = Preset::BassBoostMedium
        .spec()
        .merged_with(&Preset::Nightcore.spec());
    let mut renderer = MockPreviewRenderer::new();
    renderer
        .expect_render()
        .withf(move |track, start, length, filters, _| {
            track.title == "A"
                && *start == Duration::ZERO
                && *length == PREVIEW_LENGTH
                && *filters == wanted
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(clip()));
    let service = PreviewService::new(harness.music.clone(), Arc::new(renderer));

    // A member without the DJ role may listen: nothing changes for anybody else.
    let preview = service
        .preview(guild(), &member(5), Some("nightcore"))
        .await
        .unwrap();

    assert_eq!(preview.preset, Some(Preset::Nightcore));
    assert_eq!(preview.filters, wanted);
    assert_eq!(preview.clip, clip());
    assert!(harness.take_player_calls().is_empty());
}

#[tokio::test]
async fn nothing_playing_or_an_unknown_preset_is_refused_before_rendering() {
    let harness = Fixture::new().build();
    let mut renderer = MockPreviewRenderer::new();
    renderer.expect_render().never();
    let service = PreviewService::new(harness.music.clone(), Arc::new(renderer));

    let error = service
        .preview(guild(), &member(5), None)
        .await
        .unwrap_err();
    assert_eq!(error, PreviewError::Music(MusicError::NothingPlaying));
    let error = service
        .preview(guild(), &member(5), Some("warp speed"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            PreviewError::Music(MusicError::Filter(FilterError::UnknownPreset(_)))
        ),
        "{error:?}"
    );
}
