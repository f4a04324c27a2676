//! minstrel-sources: where tracks come from and how their audio is decoded.
//!
//! Resolvers turn what a user typed into [`minstrel_app::ports::TrackInfo`]: the local music
//! library ([`LocalFileResolver`]), direct web links through an SSRF-safe client
//! ([`HttpResolver`]), `YouTube` and other sites through yt-dlp ([`YtDlpResolver`]), Spotify
//! links matched to a search ([`SpotifyResolver`]), all behind one [`RoutingResolver`] and an
//! optional [`CachingResolver`]. Autoplay's related tracks come from `YouTube`'s mix through
//! yt-dlp or the library's same folder and artist ([`RoutingRelatedTracks`]). Openers turn a
//! track into a [`minstrel_app::ports::PcmStream`] of interleaved stereo `f32` at 48 kHz,
//! decoded with symphonia (plus libopus for Opus) and resampled with rubato
//! ([`SymphoniaStream`]);
//! [`NormalisedStream`] evens loudness out with EBU R128.
//!
//! This crate implements `minstrel-app`'s ports and knows nothing of players, voice
//! connections, DSP filters, storage technologies or chat front-ends.

mod caching;
mod decode;
mod http;
mod local;
mod normalise;
mod opener;
mod related;
mod resample;
mod retry;
mod routing;
mod spotify;
#[cfg(test)]
mod test_support;
mod ytdlp;

pub use caching::{CachingResolver, METADATA_TTL};
pub use decode::{AudioInfo, MAX_TRACK_DURATION, MAX_TRACK_MEMORY, SymphoniaStream, probe_info};
pub use http::{
    HostResolver, HttpAudioOpener, HttpError, HttpLimits, HttpResolver, SafeHttpClient,
    SystemHostResolver, forbidden_reason,
};
pub use local::{AUDIO_EXTENSIONS, LocalAudioOpener, LocalFileResolver};
pub use normalise::{NormalisationConfig, NormalisedStream, NormalisingOpener};
pub use opener::SourceAudioOpener;
pub use related::RoutingRelatedTracks;
pub use routing::{Resolvers, Route, RoutingResolver, SearchProvider};
pub use spotify::{
    DURATION_TOLERANCE, SpotifyConfig, SpotifyCredentials, SpotifyKind, SpotifyLink,
    SpotifyResolver, SpotifyTrack, best_match, is_spotify_link, parse_spotify_link, search_words,
};
pub use ytdlp::{
    INHERITED_ENVIRONMENT, SearchSite, YT_DLP_FAILURES_COUNTER, YtDlpAudioOpener, YtDlpConfig,
    YtDlpFailure, YtDlpResolver, is_playlist_url, site_of,
};
