//! Long playlists: the first page is queued (and played) at once, the rest is appended in the
//! background as the resolver delivers it, page by page and in order.
//!
//! A page that could not be loaded is skipped and counted (the final [`LoadProgress`] says how
//! many entries were left out); a stop or a leave of the guild ends the load, and nothing more
//! is appended after it.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex as StdMutex};

use minstrel_domain::{AddPosition, Advance, DomainEvent, GuildId, Requester, TrackId};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::{MusicPorts, Session, new_track};
use crate::error::MusicError;
use crate::ports::{LoadProgress, PageSink, ProgressSink, ResolveError, TrackPage, TrackResolver};

/// Pages the resolver may read ahead of the ones appended.
const PAGES_AHEAD: usize = 2;

/// A resolve delivering its result page by page, on a task of its own.
pub(super) struct PageLoad {
    pages: mpsc::Receiver<TrackPage>,
    resolving: JoinHandle<Result<(), ResolveError>>,
    progress: Option<Progress>,
    /// Tracks delivered so far.
    delivered: usize,
    /// Entries the resolver could not load so far.
    skipped: usize,
}

impl PageLoad {
    /// Starts resolving `query`; `progress` hears how far it got.
    pub(super) fn start(
        resolver: &Arc<dyn TrackResolver>,
        query: &str,
        progress: Option<ProgressSink>,
    ) -> Self {
        let (sender, pages) = mpsc::channel(PAGES_AHEAD);
        let progress = progress.map(Progress::new);
        let resolver_progress = progress.as_ref().map(Progress::recording);
        let resolver = Arc::clone(resolver);
        let query = query.to_owned();
        let sink = PageSink::new(sender, resolver_progress);
        let resolving = tokio::spawn(async move { resolver.resolve_pages(&query, sink).await });
        Self {
            pages,
            resolving,
            progress,
            delivered: 0,
            skipped: 0,
        }
    }

    /// The next page, counted; `None` when the resolver is done.
    async fn next_page(&mut self) -> Option<TrackPage> {
        let page = self.pages.recv().await?;
        self.delivered += page.tracks.len();
        self.skipped += page.skipped;
        Some(page)
    }

    /// The first page that holds tracks (pages that failed before it are skipped and
    /// counted).
    ///
    /// # Errors
    /// The resolver's error when it found nothing, `NotFound` when it ended without tracks.
    pub(super) async fn first_page(&mut self, query: &str) -> Result<TrackPage, MusicError> {
        while let Some(page) = self.next_page().await {
            if !page.tracks.is_empty() {
                return Ok(page);
            }
            if !page.more {
                break;
            }
        }
        self.pages.close();
        match (&mut self.resolving).await {
            Ok(Err(error)) => Err(error.into()),
            Ok(Ok(())) => Err(ResolveError::NotFound(query.to_owned()).into()),
            Err(error) => Err(ResolveError::Internal(error.to_string()).into()),
        }
    }

    /// Ends a load that goes no further than what was queued: the resolver stops and
    /// `progress` hears the final count when it heard anything.
    pub(super) fn finish(self) {
        self.resolving.abort();
        if let Some(progress) = &self.progress {
            progress.finish(self.delivered, self.skipped, false);
        }
    }

    /// Appends the pages after the first on a task of its own.
    pub(super) fn continue_in_background(self, load: BackgroundLoad) {
        tokio::spawn(load.run(self));
    }
}

/// What the background part of a load needs of the play that started it.
pub(super) struct BackgroundLoad {
    pub(super) ports: MusicPorts,
    pub(super) next_track_id: Arc<AtomicU64>,
    pub(super) guild: GuildId,
    pub(super) requester: Requester,
    pub(super) session: Arc<Mutex<Session>>,
    /// The session's load count when the first page was queued.
    pub(super) loads: u64,
    pub(super) placement: AddPosition,
    /// The last track this load queued.
    pub(super) last: Option<TrackId>,
}

/// What appending one page did.
enum Appended {
    All,
    /// The guild stopped or left since the load began: nothing was appended.
    Stopped,
    /// The queue is full; this many tracks did not fit.
    Full(usize),
}

impl BackgroundLoad {
    async fn run(mut self, mut load: PageLoad) {
        let guild = self.guild;
        while let Some(page) = load.next_page().await {
            let more = page.more;
            if !page.tracks.is_empty() {
                match self.append(page).await {
                    Appended::All => {}
                    Appended::Stopped => {
                        debug!(%guild, "the guild stopped; the playlist stops loading");
                        load.finish();
                        return;
                    }
                    Appended::Full(rejected) => {
                        warn!(%guild, rejected, "the queue is full; the playlist stops loading");
                        load.finish();
                        return;
                    }
                }
            }
            if !more {
                break;
            }
        }
        load.pages.close();
        match (&mut load.resolving).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                warn!(%guild, %error, "the playlist stopped loading; what loaded stays queued");
            }
            Err(error) => warn!(%guild, %error, "the playlist's load ended abnormally"),
        }
        if let Some(progress) = &load.progress {
            progress.finish(load.delivered, load.skipped, true);
        }
    }

    /// Appends one page after the tracks this load queued before, and starts it when the
    /// queue ran out meanwhile.
    async fn append(&mut self, page: TrackPage) -> Appended {
        let guild = self.guild;
        let mut session = Arc::clone(&self.session).lock_owned().await;
        if session.loads != self.loads {
            return Appended::Stopped;
        }
        let position = match self.placement {
            AddPosition::End => AddPosition::End,
            // Right after the tracks queued before, so the playlist keeps its order.
            AddPosition::Next | AddPosition::At(_) => self
                .last
                .and_then(|last| session.queue.upcoming().position(|track| track.id == last))
                .map_or(AddPosition::Next, |index| AddPosition::At(index + 1)),
        };
        let tracks: Vec<_> = page
            .tracks
            .into_iter()
            .map(|info| new_track(&self.next_track_id, info, &self.requester))
            .collect();
        let count = tracks.len();
        let (start, refused) = session.queue.add_all(tracks.iter().cloned(), position);
        let kept = count - refused.len();
        for (offset, track) in tracks.into_iter().take(kept).enumerate() {
            self.last = Some(track.id);
            self.ports.events.publish(DomainEvent::TrackQueued {
                guild,
                track,
                position: start + offset,
            });
        }
        if kept > 0 && session.queue.current().is_none() {
            // The tracks queued before have all played: the player goes on with these.
            session.queue.advance(Advance::Skipped);
            let (restarted, _) = self.ports.start_current(guild, session).await;
            session = restarted;
        }
        self.ports.persist(guild, &session).await;
        if refused.is_empty() {
            Appended::All
        } else {
            Appended::Full(refused.len())
        }
    }
}

/// A front-end's progress sink, and the latest report the resolver gave it.
#[derive(Clone)]
struct Progress {
    sink: ProgressSink,
    latest: Arc<StdMutex<Option<LoadProgress>>>,
}

impl Progress {
    fn new(sink: ProgressSink) -> Self {
        Self {
            sink,
            latest: Arc::default(),
        }
    }

    /// A sink for the resolver: reports go on to the front-end and are remembered.
    fn recording(&self) -> ProgressSink {
        let progress = self.clone();
        Arc::new(move |report| {
            *progress
                .latest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(report);
            (progress.sink)(report);
        })
    }

    /// The last report of a load: how many tracks arrived and how many entries were skipped.
    /// Sent when the resolver reported anything, or `always`.
    fn finish(&self, delivered: usize, skipped: usize, always: bool) {
        let latest = *self
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if latest.is_none() && !always {
            return;
        }
        (self.sink)(LoadProgress {
            loaded: delivered,
            cap: latest.map_or(delivered, |latest| latest.cap.max(delivered)),
            done: true,
            skipped,
        });
    }
}
