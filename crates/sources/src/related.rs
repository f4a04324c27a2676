//! Autoplay's related tracks from every source that can find some: `YouTube`'s mix through
//! yt-dlp for a `YouTube` seed, else (or when that finds nothing) the local library.

use async_trait::async_trait;
use minstrel_app::ports::{RelatedTracks, ResolveError, TrackInfo};
use minstrel_domain::{SourceKind, Track};
use tracing::warn;

use crate::{LocalFileResolver, YtDlpResolver};

/// Tries yt-dlp for `YouTube` seeds, then the library; either may be absent.
#[derive(Debug, Clone, Default)]
pub struct RoutingRelatedTracks {
    ytdlp: Option<YtDlpResolver>,
    library: Option<LocalFileResolver>,
}

impl RoutingRelatedTracks {
    pub fn new(ytdlp: Option<YtDlpResolver>, library: Option<LocalFileResolver>) -> Self {
        Self { ytdlp, library }
    }
}

#[async_trait]
impl RelatedTracks for RoutingRelatedTracks {
    /// The first source's non-empty answer. When none has one, the first failure that is not
    /// a plain `NotFound` (yt-dlp down says more than an empty library), else `NotFound`.
    async fn related(
        &self,
        seed: &Track,
        recent: &[String],
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        let mut failure: Option<ResolveError> = None;
        let youtube = matches!(
            seed.source_kind,
            SourceKind::YouTube | SourceKind::YouTubeMusic
        );
        if youtube && let Some(ytdlp) = &self.ytdlp {
            match ytdlp.related(seed, recent).await {
                Ok(found) if !found.is_empty() => return Ok(found),
                Ok(_) | Err(ResolveError::NotFound(_)) => {}
                Err(error) => {
                    warn!(
                        ?error,
                        "YouTube's mix could not be read; trying the library"
                    );
                    failure = Some(error);
                }
            }
        }
        if let Some(library) = &self.library {
            match library.related(seed, recent).await {
                Ok(found) if !found.is_empty() => return Ok(found),
                Ok(_) | Err(ResolveError::NotFound(_)) => {}
                Err(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
        Err(failure.unwrap_or_else(|| ResolveError::NotFound(seed.display_title())))
    }
}

#[cfg(test)]
mod tests;
