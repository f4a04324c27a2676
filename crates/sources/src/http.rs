//! Direct HTTP(S) audio links and chat attachments, fetched SSRF-safely and streamed.

mod address;
mod client;
mod source;

use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{
    AudioError, AudioOpener, OpenOptions, PcmStream, ResolveError, TrackInfo, TrackResolver,
};
use minstrel_domain::{SourceKind, Track};
use tokio::runtime::Handle;
use url::Url;

pub use address::{HostResolver, SystemHostResolver, forbidden_reason};
pub use client::{HttpError, HttpLimits, SafeHttpClient};
pub(crate) use source::{HttpMediaSource, Relocator};

use crate::decode::{SymphoniaStream, probe_source_info};

/// The file extension of a URL's last path segment, as a format hint.
fn extension_of(url: &Url) -> Option<String> {
    let name = url.path_segments()?.next_back()?;
    let (_, extension) = name.rsplit_once('.')?;
    (!extension.is_empty() && extension.len() <= 5).then(|| extension.to_ascii_lowercase())
}

/// A readable title from the URL's file name (`My%20Song.mp3` → `My Song`).
fn title_of(url: &Url) -> String {
    let name = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .filter(|name| !name.is_empty())
        .map(|name| {
            let decoded = percent_decode(name);
            match decoded.rsplit_once('.') {
                Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
                _ => decoded,
            }
        });
    name.unwrap_or_else(|| url.host_str().unwrap_or("audio").to_owned())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |byte: u8| char::from(byte).to_digit(16);
        if bytes[index] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(index + 1).copied().and_then(hex),
                bytes.get(index + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            index += 3;
            continue;
        }
        out.push(if bytes[index] == b'+' {
            b' '
        } else {
            bytes[index]
        });
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolves direct audio links: the body must probe as audio (the `Content-Type` header is
/// not trusted) and respect the size and duration caps.
#[derive(Debug, Clone)]
pub struct HttpResolver {
    client: SafeHttpClient,
}

impl HttpResolver {
    pub fn new(client: SafeHttpClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl TrackResolver for HttpResolver {
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        let url = SafeHttpClient::parse_url(query)?;
        let client = self.client.clone();
        let runtime = Handle::current();
        let probe_url = url.clone();
        let info = tokio::task::spawn_blocking(move || {
            let source = HttpMediaSource::open(&client, &probe_url, None, &runtime)?;
            let hint = extension_of(&probe_url);
            probe_source_info(Box::new(source), hint.as_deref()).map_err(|error| match error {
                AudioError::Unsupported(_) | AudioError::Corrupt(_) => ResolveError::Unsupported(
                    "that link is not an audio file I can play".to_owned(),
                ),
                other => ResolveError::Unavailable(format!("the audio could not be read: {other}")),
            })
        })
        .await
        .map_err(|error| ResolveError::Internal(format!("the download task failed: {error}")))??;
        let max = self.client.limits().max_duration;
        if info.duration.is_some_and(|duration| duration > max) {
            return Err(ResolveError::Forbidden(format!(
                "that track is longer than the {} minutes I play",
                max.as_secs() / 60
            )));
        }
        Ok(vec![TrackInfo {
            title: info.title.unwrap_or_else(|| title_of(&url)),
            artist: info.artist,
            duration: info.duration,
            source_kind: SourceKind::Http,
            locator: url.to_string(),
            thumbnail: None,
        }])
    }
}

/// Opens a stream URL through the safe client and decodes it while it downloads; `relocator`
/// finds the URL again if it expires mid-track.
pub(crate) fn open_url(
    client: &SafeHttpClient,
    runtime: &Handle,
    url: &Url,
    relocator: Option<Relocator>,
    start_at: Duration,
) -> Result<Box<dyn PcmStream>, AudioError> {
    let source = HttpMediaSource::open(client, url, relocator, runtime)?;
    let hint = extension_of(url);
    Ok(Box::new(SymphoniaStream::open(
        Box::new(source),
        hint.as_deref(),
        start_at,
    )?))
}

/// Plays `Http` tracks; `open` blocks while the response headers arrive, so call it from a
/// blocking or mixer thread as the port says.
#[derive(Debug, Clone)]
pub struct HttpAudioOpener {
    client: SafeHttpClient,
    runtime: Handle,
}

impl HttpAudioOpener {
    /// Downloads run as tasks on `runtime`.
    pub fn new(client: SafeHttpClient, runtime: Handle) -> Self {
        Self { client, runtime }
    }
}

impl AudioOpener for HttpAudioOpener {
    fn open(
        &self,
        track: &Track,
        start_at: Duration,
        _options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError> {
        if track.source_kind != SourceKind::Http {
            return Err(AudioError::Unsupported(format!(
                "{} tracks are not played over plain HTTP",
                track.source_kind.as_str()
            )));
        }
        let url = SafeHttpClient::parse_url(&track.locator)?;
        // A plain link keeps its URL: a break resumes it with a range request.
        open_url(&self.client, &self.runtime, &url, None, start_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_hints_come_from_the_file_name() {
        let url = Url::parse("https://cdn.example.com/a/My%20Song.MP3?x=1").unwrap();
        assert_eq!(title_of(&url), "My Song");
        assert_eq!(extension_of(&url).as_deref(), Some("mp3"));
        let bare = Url::parse("https://example.com/").unwrap();
        assert_eq!(title_of(&bare), "example.com");
        assert_eq!(extension_of(&bare), None);
    }
}
