//! Tracks of the local library related to a seed, for autoplay: the rest of the seed's folder
//! (an album is usually one folder: the files after the seed first, then those before it),
//! then files tagged with the seed's artist anywhere in the library.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use minstrel_app::ports::{RelatedTracks, ResolveError, TrackInfo};
use minstrel_domain::{SourceKind, Track};

use super::{LocalFileResolver, is_audio_file_name};

/// Most related tracks one lookup returns.
const RELATED_LIMIT: usize = 5;

/// Most files whose tags are read while looking for the seed's artist.
const ARTIST_MAX_PROBES: usize = 500;

impl LocalFileResolver {
    /// The blocking part of [`RelatedTracks::related`].
    fn related_blocking(&self, seed: &Track, recent: &[String]) -> Vec<TrackInfo> {
        let mut found: Vec<TrackInfo> = Vec::new();
        let wanted = |locator: &str, found: &[TrackInfo]| {
            locator != seed.locator
                && !recent.iter().any(|played| played == locator)
                && !found.iter().any(|info| info.locator == locator)
        };
        if seed.source_kind == SourceKind::Local {
            for path in self.folder_neighbours(&seed.locator) {
                if found.len() >= RELATED_LIMIT {
                    return found;
                }
                let Some(locator) = self.library.locator_of(&path) else {
                    continue;
                };
                if wanted(&locator, &found)
                    && let Ok(info) = self.describe(&locator, &path)
                {
                    found.push(info);
                }
            }
        }
        let Some(artist) = seed
            .artist
            .as_deref()
            .map(str::trim)
            .filter(|artist| !artist.is_empty())
        else {
            return found;
        };
        for path in self.library_files().into_iter().take(ARTIST_MAX_PROBES) {
            if found.len() >= RELATED_LIMIT {
                break;
            }
            let Some(locator) = self.library.locator_of(&path) else {
                continue;
            };
            if !wanted(&locator, &found) {
                continue;
            }
            if let Ok(info) = self.describe(&locator, &path)
                && info
                    .artist
                    .as_deref()
                    .is_some_and(|tagged| tagged.trim().eq_ignore_ascii_case(artist))
            {
                found.push(info);
            }
        }
        found
    }

    /// The audio files of the folder holding `locator`, in name order starting after it and
    /// wrapping round; empty when the locator is not a file of the library.
    fn folder_neighbours(&self, locator: &str) -> Vec<PathBuf> {
        let Ok(seed) = self.library.root.join(locator).canonicalize() else {
            return Vec::new();
        };
        let Some(folder) = seed
            .parent()
            .filter(|folder| folder.starts_with(&self.library.root))
        else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .filter_map(|entry| self.library_file(&entry.path()))
            .collect();
        files.sort();
        let after = files.partition_point(|file| file.file_name() <= seed.file_name());
        files.rotate_left(after);
        files
    }

    /// `path` canonicalised when it is an audio file inside the library.
    fn library_file(&self, path: &Path) -> Option<PathBuf> {
        if !is_audio_file_name(path) {
            return None;
        }
        let canonical = path.canonicalize().ok()?;
        (canonical.starts_with(&self.library.root) && canonical.is_file()).then_some(canonical)
    }

    /// The library's audio files in path order, within the search's depth and file bounds.
    fn library_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        self.for_each_file(|path, _, _| files.extend(self.library_file(&path)));
        files.sort();
        files
    }
}

#[async_trait]
impl RelatedTracks for LocalFileResolver {
    /// The rest of a local seed's folder, then the library's files tagged with the seed's
    /// artist (a seed from any source), none of them played lately.
    async fn related(
        &self,
        seed: &Track,
        recent: &[String],
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        let resolver = self.clone();
        let (owned_seed, recent) = (seed.clone(), recent.to_vec());
        let found =
            tokio::task::spawn_blocking(move || resolver.related_blocking(&owned_seed, &recent))
                .await
                .map_err(|error| {
                    ResolveError::Internal(format!("the library lookup failed: {error}"))
                })?;
        if found.is_empty() {
            return Err(ResolveError::NotFound(seed.display_title()));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests;
