//! `YouTube`'s mix of a video (the `RD<id>` playlist `YouTube` builds from it) through yt-dlp,
//! for autoplay.

use async_trait::async_trait;
use minstrel_app::ports::{RelatedTracks, ResolveError, TrackInfo};
use minstrel_domain::{SourceKind, Track};
use url::Url;

use super::{Entry, YtDlpResolver, site_of};

/// Most entries read from a mix.
const MIX_ENTRIES: usize = 25;

/// The id of a `YouTube` video page (`watch?v=`, `youtu.be/<id>`, `/shorts/<id>`), when it
/// is a plain id.
fn video_id(url: &Url) -> Option<String> {
    if !matches!(
        site_of(url),
        Some(SourceKind::YouTube | SourceKind::YouTubeMusic)
    ) {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let id = if host == "youtu.be" || host.ends_with(".youtu.be") {
        url.path_segments()?.next().map(str::to_owned)
    } else if let Some(short) = url.path().strip_prefix("/shorts/") {
        Some(short.trim_end_matches('/').to_owned())
    } else {
        url.query_pairs()
            .find(|(key, _)| key == "v")
            .map(|(_, value)| value.into_owned())
    }?;
    let plain = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then_some(id)
}

/// What identifies a track when comparing it with the recent ones: its video id, else its
/// locator.
fn identity(locator: &str) -> String {
    Url::parse(locator)
        .ok()
        .and_then(|url| video_id(&url))
        .unwrap_or_else(|| locator.to_owned())
}

impl YtDlpResolver {
    /// The seed's mix, without the seed and the tracks played lately.
    async fn mix(&self, seed: &Track, recent: &[String]) -> Result<Vec<TrackInfo>, ResolveError> {
        let id = Url::parse(&seed.locator)
            .ok()
            .and_then(|url| video_id(&url))
            .ok_or_else(|| {
                ResolveError::Unsupported(
                    "YouTube's related tracks need a YouTube video to start from".to_owned(),
                )
            })?;
        let mix = format!("https://www.youtube.com/watch?v={id}&list=RD{id}");
        let items = format!("1:{MIX_ENTRIES}");
        let answer = self
            .run(&["--flat-playlist", "--playlist-items", &items, "-J"], &mix)
            .await?;
        let entry = Self::parse(&answer)?;
        let played: Vec<String> = std::iter::once(id)
            .chain(recent.iter().map(|locator| identity(locator)))
            .collect();
        let mut found: Vec<TrackInfo> = Vec::new();
        for info in entry
            .entries
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(Entry::into_track)
        {
            let this = identity(&info.locator);
            let repeated =
                played.contains(&this) || found.iter().any(|seen| identity(&seen.locator) == this);
            if !repeated {
                found.push(info);
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl RelatedTracks for YtDlpResolver {
    /// The `YouTube` mix of a `YouTube` seed, in the mix's order, without the seed and the
    /// tracks played lately.
    ///
    /// # Errors
    /// `Unsupported` for a seed that is not a `YouTube` video, `NotFound` when the mix holds
    /// nothing new, and yt-dlp's own failures.
    async fn related(
        &self,
        seed: &Track,
        recent: &[String],
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        let found = self.mix(seed, recent).await?;
        if found.is_empty() {
            return Err(ResolveError::NotFound(seed.display_title()));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn video_ids_are_read_from_every_youtube_page_shape() {
        for page in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42",
            "https://youtu.be/dQw4w9WgXcQ?si=abc",
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        ] {
            assert_eq!(
                video_id(&url(page)).as_deref(),
                Some("dQw4w9WgXcQ"),
                "{page}"
            );
        }
    }

    #[test]
    fn other_sites_and_odd_ids_have_no_video_id() {
        for page in [
            "https://soundcloud.com/artist/song",
            "https://www.youtube.com/watch?v=a%26list%3DPLx",
            "https://www.youtube.com/playlist?list=PL123",
            "https://example.com/watch?v=dQw4w9WgXcQ",
        ] {
            assert_eq!(video_id(&url(page)), None, "{page}");
        }
    }
}
