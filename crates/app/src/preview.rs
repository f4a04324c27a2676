//! `PreviewService`: a short clip of the current track with a filter, to hear before choosing.

use std::sync::Arc;
use std::time::Duration;

use minstrel_domain::{FilterSpec, GuildId, Preset, Track};

use crate::error::MusicError;
use crate::music::MusicService;
use crate::policy::Actor;
use crate::ports::{AudioError, PreviewClip, PreviewRenderer};

/// How long a preview plays.
pub const PREVIEW_LENGTH: Duration = Duration::from_secs(10);

/// Why there is no preview.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Music(#[from] MusicError),
    #[error("the preview could not be made: {0}")]
    Audio(#[from] AudioError),
}

impl PreviewError {
    /// True for failures of the bot rather than of the request.
    pub fn is_internal(&self) -> bool {
        match self {
            Self::Music(error) => error.is_internal(),
            Self::Audio(error) => matches!(error, AudioError::Internal(_)),
        }
    }
}

/// A rendered preview and what it is of.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub track: Track,
    /// Where in the track the clip starts.
    pub start: Duration,
    /// The preset tried, if any (otherwise the active filters alone).
    pub preset: Option<Preset>,
    /// The filters the clip was rendered with.
    pub filters: FilterSpec,
    pub clip: PreviewClip,
}

#[derive(Clone)]
pub struct PreviewService {
    music: Arc<MusicService>,
    renderer: Arc<dyn PreviewRenderer>,
}

impl std::fmt::Debug for PreviewService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PreviewService")
            .finish_non_exhaustive()
    }
}

impl PreviewService {
    pub fn new(music: Arc<MusicService>, renderer: Arc<dyn PreviewRenderer>) -> Self {
        Self { music, renderer }
    }

    /// Renders [`PREVIEW_LENGTH`] of the guild's current track from where it is playing, with
    /// `preset` added to the active filters (or the active filters alone). Nothing on the
    /// player changes.
    ///
    /// # Errors
    /// `NothingPlaying`, an unknown or disallowed preset, the rate limit, or an
    /// [`AudioError`] when the track cannot be decoded.
    pub async fn preview(
        &self,
        guild: GuildId,
        actor: &Actor,
        preset: Option<&str>,
    ) -> Result<Preview, PreviewError> {
        self.music.check_rate(actor)?;
        let preset = preset
            .filter(|name| !name.trim().is_empty())
            .map(Preset::parse)
            .transpose()
            .map_err(MusicError::from)?;
        {
            let session = self.music.session(guild).await?;
            // A preview changes nothing anybody hears, so no DJ role is needed; a preset the
            // server turned off stays off here too.
            let session = session.lock().await;
            if let Some(preset) = preset
                && !session.settings.allows(preset)
            {
                return Err(MusicError::FilterNotAllowed(preset.name().to_owned()).into());
            }
        }
        let now = self.music.now_playing(guild).await?;
        let filters = match preset {
            Some(preset) => now.filters.merged_with(&preset.spec()),
            None => now.filters,
        };
        let clip = self
            .renderer
            .render(
                &now.track,
                now.position,
                PREVIEW_LENGTH,
                filters,
                now.volume,
            )
            .await?;
        Ok(Preview {
            track: now.track,
            start: now.position,
            preset,
            filters,
            clip,
        })
    }
}
