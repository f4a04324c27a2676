//! A symphonia [`MediaSource`] over an HTTP body that is still downloading.
//!
//! A background task on the tokio runtime appends the body to a shared segment; the decoder
//! thread reads from it and blocks (with a deadline) only when it catches up with the download,
//! so playback starts after the first bytes. A seek outside what is buffered restarts the
//! download with a `Range` request when the server takes them; otherwise the reader waits for
//! the sequential download to get there.
//!
//! When the server takes ranges the download stays at most [`READ_AHEAD`] bytes ahead of the
//! reader: a seek then finds the target not yet fetched and skips the bytes in between with a
//! `Range` request instead of racing the download for them, and a paused track does not pull
//! the whole file. A connection that breaks off (a server closing an idle download) is resumed
//! from where the reader is. Without ranges nothing could be resumed or skipped, so the body
//! is downloaded as fast as it comes, and a break fails the read with a clear error instead of
//! starting the track again.
//!
//! A stream URL that expires mid-track (the range request answers 403 or 410) is asked for
//! again through the track's [`Relocator`] (yt-dlp hands out a fresh URL) and the download
//! carries on from the same byte, at most [`MAX_RELOCATIONS`] times per track.

use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

use symphonia::core::io::MediaSource;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use url::Url;

use super::client::{Fetched, HttpError, SafeHttpClient};

/// A seek this far past the downloaded end restarts the download instead of waiting for it.
const RESTART_DISTANCE: u64 = 256 * 1024;

/// How far the download may run ahead of the reader on a server that takes ranges: several
/// seconds of compressed audio. A seek more than `READ_AHEAD + RESTART_DISTANCE` past the
/// reader therefore always lands beyond the download and is served by a range request.
const READ_AHEAD: u64 = 256 * 1024;

/// Broken or stalled downloads resumed in a row, without a byte arriving in between, before
/// the error is reported.
const MAX_RESUMES: u32 = 3;

/// A search for a fresh stream URL; the error is a sentence for the user.
type FoundUrl = Pin<Box<dyn Future<Output = Result<Url, String>> + Send>>;

/// Fresh stream URLs asked for per track when the one in use has expired.
const MAX_RELOCATIONS: u32 = 3;

/// Finds a track's stream URL again when the one in use stops working (a signed CDN link that
/// expired); plain links have none and keep their URL.
#[derive(Clone)]
pub(crate) struct Relocator {
    find: Arc<dyn Fn() -> FoundUrl + Send + Sync>,
    /// Longest one search may take, added to how long a read waits for bytes.
    patience: Duration,
}

impl Relocator {
    pub(crate) fn new<F, Fut>(patience: Duration, find: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Url, String>> + Send + 'static,
    {
        Self {
            find: Arc::new(move || Box::pin(find())),
            patience,
        }
    }
}

/// How a download ended.
#[derive(Debug, Clone)]
enum Ending {
    Complete,
    Failed {
        kind: io::ErrorKind,
        reason: String,
        /// The body broke off or stalled: a range request from the reader's position may
        /// carry on where it stopped.
        resumable: bool,
    },
}

#[derive(Debug)]
struct Segment {
    /// Which download feeds the segment; a restarted download makes older tasks stop.
    generation: u64,
    /// Absolute offset of `data[0]`.
    start: u64,
    data: Vec<u8>,
    ending: Option<Ending>,
    ranges: bool,
    /// Where the reader last read from; the download keeps within [`READ_AHEAD`] of it.
    reader_position: u64,
    /// The stream URL in use: the track's, or the last one its relocator found.
    url: Url,
    /// Fresh URLs asked for so far (at most [`MAX_RELOCATIONS`]).
    relocations: u32,
}

#[derive(Debug)]
struct Shared {
    segment: Mutex<Segment>,
    /// Signals the reader: bytes arrived or the download ended.
    changed: Condvar,
    /// Signals the download task: the reader moved, so there may be room to read ahead.
    reader_moved: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Segment> {
        // A panic while holding the lock leaves plain bytes behind: still usable.
        self.segment.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn end(&self, generation: u64, ending: Ending) {
        let mut segment = self.lock();
        if segment.generation == generation && segment.ending.is_none() {
            segment.ending = Some(ending);
        }
        drop(segment);
        self.changed.notify_all();
    }

    /// Waits until download `generation` may fetch more; `false` once it has been replaced.
    async fn room_to_read_ahead(&self, generation: u64) -> bool {
        loop {
            // Registered before the check, so a reader moving in between is not missed.
            let moved = self.reader_moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            {
                let segment = self.lock();
                if segment.generation != generation {
                    return false;
                }
                let end = segment.start + segment.data.len() as u64;
                if !segment.ranges || end < segment.reader_position.saturating_add(READ_AHEAD) {
                    return true;
                }
            }
            moved.await;
        }
    }
}

/// The HTTP body of one track, readable while it downloads.
pub(crate) struct HttpMediaSource {
    shared: Arc<Shared>,
    client: SafeHttpClient,
    url: Url,
    relocator: Option<Relocator>,
    runtime: Handle,
    task: Option<AbortHandle>,
    position: u64,
    total: Option<u64>,
    /// Broken downloads resumed since the last byte was read.
    resumes: u32,
}

impl std::fmt::Debug for HttpMediaSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("HttpMediaSource")
            .field("url", &self.url.as_str())
            .field("position", &self.position)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// Appends the body of `fetched` to the segment until it ends, fails or is replaced.
async fn pump(shared: Arc<Shared>, generation: u64, mut fetched: Fetched, client: SafeHttpClient) {
    let limits = client.limits().clone();
    loop {
        if !shared.room_to_read_ahead(generation).await {
            return;
        }
        let chunk = tokio::time::timeout(limits.stall_timeout, fetched.response.chunk()).await;
        let bytes = match chunk {
            Err(_) => {
                shared.end(
                    generation,
                    Ending::Failed {
                        kind: io::ErrorKind::TimedOut,
                        reason: "the server stopped sending audio".to_owned(),
                        resumable: true,
                    },
                );
                return;
            }
            Ok(Err(_)) => {
                // Without ranges only a download from byte 0 could carry on, and the track
                // would stall for it: the read fails saying why instead.
                let reason = if shared.lock().ranges {
                    "the download broke off"
                } else {
                    "the download broke off and the server cannot resume it mid-file"
                };
                shared.end(
                    generation,
                    Ending::Failed {
                        kind: io::ErrorKind::Other,
                        reason: reason.to_owned(),
                        resumable: true,
                    },
                );
                return;
            }
            Ok(Ok(None)) => {
                shared.end(generation, Ending::Complete);
                return;
            }
            Ok(Ok(Some(bytes))) => bytes,
        };
        let mut segment = shared.lock();
        if segment.generation != generation {
            return;
        }
        let end = segment.start + segment.data.len() as u64 + bytes.len() as u64;
        if end > limits.max_bytes {
            drop(segment);
            let reason = client.too_large().to_string();
            shared.end(
                generation,
                Ending::Failed {
                    kind: io::ErrorKind::FileTooLarge,
                    reason,
                    resumable: false,
                },
            );
            return;
        }
        segment.data.extend_from_slice(&bytes);
        drop(segment);
        shared.changed.notify_all();
    }
}

/// Fetches from `from` and pumps the body; a server ignoring the range restarts at 0. An
/// expired URL (403, 410) is found again through `relocator`, when the track has one.
async fn restart(
    shared: Arc<Shared>,
    generation: u64,
    from: u64,
    total: Option<u64>,
    client: SafeHttpClient,
    relocator: Option<Relocator>,
) {
    let url = shared.lock().url.clone();
    let answer = client.get(&url, Some(from)).await;
    let answer = match (answer, &relocator) {
        (Err(HttpError::Status(403 | 410)), Some(relocator)) => {
            relocate(&shared, generation, from, &client, relocator).await
        }
        (answer, _) => answer.map_err(|error| error.to_string()),
    };
    let fetched = answer.and_then(|fetched| match (total, fetched.total) {
        // A different file behind the URL (another format): its bytes do not continue ours.
        (Some(known), Some(now)) if known != now => {
            Err("the audio stream changed while it played".to_owned())
        }
        _ => Ok(fetched),
    });
    match fetched {
        Ok(fetched) => {
            {
                let mut segment = shared.lock();
                if segment.generation != generation {
                    return;
                }
                if fetched.start != from {
                    segment.ranges = false;
                    segment.start = fetched.start;
                    segment.data.clear();
                }
            }
            pump(shared, generation, fetched, client).await;
        }
        Err(reason) => shared.end(
            generation,
            Ending::Failed {
                kind: io::ErrorKind::Other,
                reason,
                resumable: false,
            },
        ),
    }
}

/// Asks `relocator` for a fresh stream URL, keeps it for later requests and fetches from
/// `from` there.
async fn relocate(
    shared: &Shared,
    generation: u64,
    from: u64,
    client: &SafeHttpClient,
    relocator: &Relocator,
) -> Result<Fetched, String> {
    {
        let mut segment = shared.lock();
        if segment.relocations >= MAX_RELOCATIONS {
            return Err("the audio link kept expiring".to_owned());
        }
        segment.relocations += 1;
    }
    tracing::debug!(
        position = from,
        "the stream URL expired; asking for a fresh one"
    );
    let url = (relocator.find)()
        .await
        .map_err(|reason| format!("the audio link expired and was not found again: {reason}"))?;
    let fetched = client
        .get(&url, Some(from))
        .await
        .map_err(|error| error.to_string())?;
    let mut segment = shared.lock();
    if segment.generation == generation {
        segment.url = url;
    }
    Ok(fetched)
}

impl HttpMediaSource {
    /// Requests `url` and returns once the response headers arrived; the body keeps
    /// downloading on `runtime`. Blocks the calling thread: call it off the async workers.
    /// `relocator`, when given, finds the stream URL again once `url` has expired.
    pub(crate) fn open(
        client: &SafeHttpClient,
        url: &Url,
        relocator: Option<Relocator>,
        runtime: &Handle,
    ) -> Result<Self, HttpError> {
        let (sender, receiver) = mpsc::sync_channel(1);
        let shared = Arc::new(Shared {
            segment: Mutex::new(Segment {
                generation: 0,
                start: 0,
                data: Vec::new(),
                ending: None,
                ranges: false,
                reader_position: 0,
                url: url.clone(),
                relocations: 0,
            }),
            changed: Condvar::new(),
            reader_moved: Notify::new(),
        });
        let task_shared = Arc::clone(&shared);
        let task_client = client.clone();
        let task_url = url.clone();
        let task = runtime.spawn(async move {
            match task_client.get(&task_url, None).await {
                Ok(fetched) => {
                    task_shared.lock().ranges = fetched.ranges;
                    let _ = sender.send(Ok(fetched.total));
                    pump(task_shared, 0, fetched, task_client).await;
                }
                Err(error) => {
                    let _ = sender.send(Err(error));
                }
            }
        });
        let limits = client.limits();
        let hops = u32::try_from(limits.max_redirects + 1).unwrap_or(u32::MAX);
        // Each hop may spend the response timeout on DNS and again on the answer.
        let deadline = limits
            .response_timeout
            .saturating_mul(hops.saturating_mul(2));
        let total = match receiver.recv_timeout(deadline) {
            Ok(Ok(total)) => total,
            Ok(Err(error)) => return Err(error),
            Err(_) => {
                task.abort();
                return Err(HttpError::Timeout);
            }
        };
        Ok(Self {
            shared,
            client: client.clone(),
            url: url.clone(),
            relocator,
            runtime: runtime.clone(),
            task: Some(task.abort_handle()),
            position: 0,
            total,
            resumes: 0,
        })
    }

    fn restart_at(&mut self, segment: &mut Segment) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        segment.generation += 1;
        segment.start = self.position;
        segment.data.clear();
        segment.ending = None;
        let task = self.runtime.spawn(restart(
            Arc::clone(&self.shared),
            segment.generation,
            self.position,
            self.total,
            self.client.clone(),
            self.relocator.clone(),
        ));
        self.task = Some(task.abort_handle());
    }

    /// How long a read may wait for bytes before it gives up (a search for a fresh URL
    /// included).
    fn read_deadline(&self) -> Duration {
        let limits = self.client.limits();
        let relocating = self
            .relocator
            .as_ref()
            .map_or(Duration::ZERO, |relocator| relocator.patience);
        limits.stall_timeout + limits.response_timeout + relocating
    }
}

impl Read for HttpMediaSource {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if buffer.is_empty() || self.total.is_some_and(|total| self.position >= total) {
            return Ok(0);
        }
        let deadline = Instant::now() + self.read_deadline();
        let shared = Arc::clone(&self.shared);
        let mut segment = shared.lock();
        if segment.reader_position != self.position {
            segment.reader_position = self.position;
            shared.reader_moved.notify_waiters();
        }
        loop {
            let end = segment.start + segment.data.len() as u64;
            if (segment.start..end).contains(&self.position) {
                let offset = usize::try_from(self.position - segment.start)
                    .map_err(|_| io::Error::other("the position does not fit in memory"))?;
                let available = &segment.data[offset..];
                let count = available.len().min(buffer.len());
                buffer[..count].copy_from_slice(&available[..count]);
                self.position += count as u64;
                self.resumes = 0;
                return Ok(count);
            }
            let far = self.position < segment.start
                || self.position.saturating_sub(end) > RESTART_DISTANCE;
            if far && segment.ranges {
                self.restart_at(&mut segment);
                continue;
            }
            let broke_off = matches!(
                segment.ending,
                Some(Ending::Failed {
                    resumable: true,
                    ..
                })
            );
            if broke_off && segment.ranges && self.resumes < MAX_RESUMES {
                self.resumes += 1;
                tracing::debug!(position = self.position, "resuming a broken download");
                self.restart_at(&mut segment);
                continue;
            }

            match &segment.ending {
                Some(Ending::Complete) => return Ok(0),
                Some(Ending::Failed { kind, reason, .. }) => {
                    return Err(io::Error::new(*kind, reason.clone()));
                }
                None => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the server stopped sending audio",
                ));
            }
            segment = shared
                .changed
                .wait_timeout(segment, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Seek for HttpMediaSource {
    fn seek(&mut self, target: SeekFrom) -> io::Result<u64> {
        let position = match target {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            SeekFrom::End(delta) => match self.total {
                Some(total) => total.checked_add_signed(delta),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "the server did not say how long the file is",
                    ));
                }
            },
        };
        self.position = position
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.position)
    }
}

impl MediaSource for HttpMediaSource {
    fn is_seekable(&self) -> bool {
        self.total.is_some()
    }

    fn byte_len(&self) -> Option<u64> {
        self.total
    }
}

impl Drop for HttpMediaSource {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
