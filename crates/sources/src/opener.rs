//! One [`AudioOpener`] for every kind of track, dispatching on the track's source.

use std::time::Duration;

use minstrel_app::ports::{AudioError, AudioOpener, OpenOptions, PcmStream};
use minstrel_domain::{SourceKind, Track};

use crate::http::HttpAudioOpener;
use crate::local::LocalAudioOpener;
use crate::ytdlp::YtDlpAudioOpener;

/// Opens local, direct-link and site tracks with the opener set up for each; a missing one
/// fails that kind of track with a sentence saying so.
#[derive(Debug, Clone, Default)]
pub struct SourceAudioOpener {
    pub local: Option<LocalAudioOpener>,
    pub http: Option<HttpAudioOpener>,
    pub ytdlp: Option<YtDlpAudioOpener>,
}

fn not_set_up(what: &str) -> AudioError {
    AudioError::Unsupported(format!("{what} is not set up on this bot"))
}

impl AudioOpener for SourceAudioOpener {
    fn open(
        &self,
        track: &Track,
        start_at: Duration,
        options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError> {
        match track.source_kind {
            SourceKind::Local => self
                .local
                .as_ref()
                .ok_or_else(|| not_set_up("the local music library"))?
                .open(track, start_at, options),
            SourceKind::Http => self
                .http
                .as_ref()
                .ok_or_else(|| not_set_up("playing web links"))?
                .open(track, start_at, options),
            SourceKind::YouTube
            | SourceKind::YouTubeMusic
            | SourceKind::SoundCloud
            | SourceKind::Bandcamp
            | SourceKind::Twitch
            | SourceKind::Vimeo
            | SourceKind::Spotify
            | SourceKind::Other => self
                .ytdlp
                .as_ref()
                .ok_or_else(|| not_set_up("playing from YouTube and similar sites"))?
                .open(track, start_at, options),
        }
    }
}
