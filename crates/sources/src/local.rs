//! Tracks from a local music library folder.
//!
//! Everything a user types is confined to the library root: paths are canonicalised (which
//! resolves `..` and symlinks) and must stay under the canonical root. Refusals quote only the
//! user's own input, never a host path.

use std::ffi::OsStr;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{
    AudioError, AudioOpener, OpenOptions, PcmStream, ResolveError, TrackInfo, TrackResolver,
};
use minstrel_domain::{SourceKind, Track};

use crate::decode::{SymphoniaStream, probe_info};

/// File extensions the local library plays.
pub const AUDIO_EXTENSIONS: [&str; 15] = [
    "wav", "mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "alac", "caf", "mka", "webm",
    "aiff", "aif",
];

/// How deep a word search descends below the root.
const SEARCH_MAX_DEPTH: usize = 8;

/// How many files a word search looks at before it gives up on the rest.
const SEARCH_MAX_FILES: usize = 10_000;

fn is_audio_file_name(path: &Path) -> bool {
    path.extension()
        .and_then(OsStr::to_str)
        .is_some_and(|extension| {
            AUDIO_EXTENSIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(extension))
        })
}

fn supported_list() -> String {
    AUDIO_EXTENSIONS.join(", ")
}

/// The canonical library root and the confinement rule shared by resolver and opener.
#[derive(Debug, Clone)]
struct Library {
    root: PathBuf,
}

impl Library {
    fn new(root: &Path) -> io::Result<Self> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "the music library must be a folder",
            ));
        }
        Ok(Self { root })
    }

    /// The locator of a file under the root: its relative path with forward slashes.
    fn locator_of(&self, canonical: &Path) -> Option<String> {
        let relative = canonical.strip_prefix(&self.root).ok()?;
        let mut parts = Vec::new();
        for component in relative.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_str()?),
                _ => return None,
            }
        }
        (!parts.is_empty()).then(|| parts.join("/"))
    }
}

/// Whether a relative path climbs above its starting folder, judged on its text alone.
fn escapes_lexically(relative: &Path) -> bool {
    let mut depth: usize = 0;
    for component in relative.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(shallower) => depth = shallower,
                None => return true,
            },
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

/// Normalises `.` and `..` of an absolute path on its text, without touching the disk.
fn normalise_lexically(absolute: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

/// Resolves paths and search words to tracks in a local music folder.
#[derive(Debug, Clone)]
pub struct LocalFileResolver {
    library: Library,
}

/// What a query turned out to be.
enum Located {
    File(PathBuf),
    Words,
}

impl LocalFileResolver {
    /// Serves the library under `root`, which is canonicalised now.
    ///
    /// # Errors
    /// When `root` does not exist or is not a folder.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self {
            library: Library::new(root.as_ref())?,
        })
    }

    /// The canonical library root.
    pub fn root(&self) -> &Path {
        &self.library.root
    }

    fn outside(query: &str) -> ResolveError {
        ResolveError::Forbidden(format!(
            "\"{query}\" is outside the music library; I only play files from the library folder"
        ))
    }

    /// Decides whether `query` names a file (and which) or is search words.
    fn locate(&self, query: &str) -> Result<Located, ResolveError> {
        let typed = Path::new(query);
        let looks_like_path = typed.is_absolute()
            || query.contains('/')
            || query.contains(std::path::MAIN_SEPARATOR)
            || typed
                .components()
                .any(|component| matches!(component, Component::ParentDir));
        let candidate = if typed.is_absolute() {
            let normal = normalise_lexically(typed);
            if !normal.exists() && !normal.starts_with(&self.library.root) {
                return Err(Self::outside(query));
            }
            normal
        } else {
            if escapes_lexically(typed) {
                return Err(Self::outside(query));
            }
            self.library.root.join(typed)
        };
        match candidate.canonicalize() {
            // Plain words that happen to name a folder are still search words.
            Ok(canonical) if !looks_like_path && canonical.is_dir() => Ok(Located::Words),
            Ok(canonical) if canonical.starts_with(&self.library.root) => {
                Ok(Located::File(canonical))
            }
            // Exists, but a symlink (or an absolute path) leads out of the library.
            Ok(_) => Err(Self::outside(query)),
            Err(_) if looks_like_path => Err(ResolveError::NotFound(query.to_owned())),
            Err(_) => Ok(Located::Words),
        }
    }

    fn describe(&self, query: &str, canonical: &Path) -> Result<TrackInfo, ResolveError> {
        if canonical.is_dir() {
            return Err(ResolveError::Unsupported(format!(
                "\"{query}\" is a folder; name an audio file in it"
            )));
        }
        if !is_audio_file_name(canonical) {
            return Err(ResolveError::Unsupported(format!(
                "\"{query}\" is not an audio file I can play (I play {})",
                supported_list()
            )));
        }
        let locator = self.library.locator_of(canonical).ok_or_else(|| {
            ResolveError::Unsupported(format!(
                "\"{query}\" has a file name I cannot handle; rename it with plain characters"
            ))
        })?;
        let info = probe_info(canonical).map_err(|error| {
            ResolveError::Unsupported(format!("\"{query}\" could not be read as audio: {error}"))
        })?;
        let title = info.title.unwrap_or_else(|| {
            canonical.file_stem().map_or_else(
                || locator.clone(),
                |stem| stem.to_string_lossy().into_owned(),
            )
        });
        Ok(TrackInfo {
            title,
            artist: info.artist,
            duration: info.duration,
            source_kind: SourceKind::Local,
            locator,
            thumbnail: None,
        })
    }

    /// Walks the library for the audio file whose name contains every word.
    fn search(&self, query: &str) -> Result<PathBuf, ResolveError> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return Err(ResolveError::NotFound(query.to_owned()));
        }
        // Rank: the file whose stem is exactly the query, then the shortest name, then the
        // shallowest path, then alphabetical, so the result never depends on directory order.
        let joined = words.join(" ");
        let mut best: Option<((bool, usize, usize, String), PathBuf)> = None;
        self.for_each_file(|path, symlink, depth| {
            let Some(name) = path.file_name().and_then(OsStr::to_str) else {
                return;
            };
            let name_length = name.chars().count();
            let lower = name.to_lowercase();
            if !is_audio_file_name(&path) || !words.iter().all(|word| lower.contains(word)) {
                return;
            }
            let canonical = if symlink {
                match path.canonicalize() {
                    Ok(target) if target.starts_with(&self.library.root) && target.is_file() => {
                        target
                    }
                    _ => return,
                }
            } else {
                path
            };
            let stem = Path::new(&lower)
                .file_stem()
                .and_then(OsStr::to_str)
                .unwrap_or_default()
                .to_owned();
            let rank = (stem != joined, name_length, depth, lower);
            if best.as_ref().is_none_or(|(best_rank, _)| rank < *best_rank) {
                best = Some((rank, canonical));
            }
        });
        best.map(|(_, path)| path)
            .ok_or_else(|| ResolveError::NotFound(query.to_owned()))
    }

    /// Visits the library's files below the root, at most [`SEARCH_MAX_DEPTH`] folders deep
    /// and [`SEARCH_MAX_FILES`] files; `visit` gets each file's path, whether it is a
    /// symlink, and its depth. Symlinked folders are not followed: no loops, no escapes.
    fn for_each_file(&self, mut visit: impl FnMut(PathBuf, bool, usize)) {
        let mut visited = 0_usize;
        let mut folders = vec![(self.library.root.clone(), 0_usize)];
        while let Some((folder, depth)) = folders.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if depth < SEARCH_MAX_DEPTH {
                        folders.push((entry.path(), depth + 1));
                    }
                    continue;
                }
                visited += 1;
                if visited > SEARCH_MAX_FILES {
                    tracing::debug!("library walk stopped after {SEARCH_MAX_FILES} files");
                    return;
                }
                visit(entry.path(), kind.is_symlink(), depth);
            }
        }
    }

    /// The blocking part of [`TrackResolver::resolve`].
    fn resolve_blocking(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        let query = query.trim();
        let query = query
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(query)
            .trim();
        if query.is_empty() {
            return Err(ResolveError::NotFound(String::new()));
        }
        let (path, shown) = match self.locate(query)? {
            Located::File(path) => (path, query.to_owned()),
            Located::Words => {
                let path = self.search(query)?;
                // A search hit is described by its place in the library, not the words typed.
                let shown = self
                    .library
                    .locator_of(&path)
                    .unwrap_or_else(|| query.to_owned());
                (path, shown)
            }
        };
        Ok(vec![self.describe(&shown, &path)?])
    }
}

#[async_trait]
impl TrackResolver for LocalFileResolver {
    /// Resolves a path under the library (relative or absolute) or search words; a search
    /// yields the single best match.
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        let resolver = self.clone();
        let query = query.to_owned();
        tokio::task::spawn_blocking(move || resolver.resolve_blocking(&query))
            .await
            .map_err(|error| {
                ResolveError::Internal(format!("the library lookup failed: {error}"))
            })?
    }
}

/// Opens local tracks (by their library-relative locator) with symphonia.
#[derive(Debug, Clone)]
pub struct LocalAudioOpener {
    library: Library,
}

impl LocalAudioOpener {
    /// Opens files under `root`, which is canonicalised now.
    ///
    /// # Errors
    /// When `root` does not exist or is not a folder.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self {
            library: Library::new(root.as_ref())?,
        })
    }

    /// The canonical file a locator names, refused when it is not inside the library.
    fn file_of(&self, locator: &str) -> Result<PathBuf, AudioError> {
        let relative = Path::new(locator);
        let plain = relative
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
        if relative.is_absolute() || !plain {
            return Err(AudioError::Io(format!(
                "\"{locator}\" is not a path inside the music library"
            )));
        }
        let canonical = self
            .library
            .root
            .join(relative)
            .canonicalize()
            .map_err(|_| {
                AudioError::Io(format!("\"{locator}\" is no longer in the music library"))
            })?;
        // Defence in depth: a symlink swapped in after resolving must not lead out.
        if !canonical.starts_with(&self.library.root) {
            return Err(AudioError::Io(format!(
                "\"{locator}\" leads outside the music library"
            )));
        }
        Ok(canonical)
    }
}

impl AudioOpener for LocalAudioOpener {
    fn open(
        &self,
        track: &Track,
        start_at: Duration,
        _options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError> {
        if track.source_kind != SourceKind::Local {
            return Err(AudioError::Unsupported(format!(
                "{} tracks cannot play yet; that lands with the sources issue",
                track.source_kind.as_str()
            )));
        }
        let path = self.file_of(&track.locator)?;
        Ok(Box::new(SymphoniaStream::open_file(&path, start_at)?))
    }
}

mod related;

#[cfg(test)]
mod tests;
