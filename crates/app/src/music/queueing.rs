//! Queueing tracks (play, playlists) and the queue's own commands: shuffle, remove, move, clear, and the views of it.

use minstrel_domain::{
    AddPosition, Advance, DomainEvent, GuildId, PlaybackState, RequesterId, Track, Volume,
};
use std::sync::Arc;

use rand::Rng;
use tokio::sync::Mutex;
use tracing::warn;

use super::loading::{BackgroundLoad, PageLoad};
use super::{MusicService, NowPlaying, PlayOutcome, QueuePage, Session};
use crate::error::MusicError;
use crate::policy::{Action, Actor, authorize};
use crate::ports::{ProgressSink, TrackInfo};
use crate::vocabulary::Removal;

/// What [`MusicService::queue_and_start`] did, and the session's load count it saw.
struct Queued {
    outcome: PlayOutcome,
    loads: u64,
}

impl MusicService {
    /// Resolves `query` and queues the result (`placement` End or Next). An empty query plays
    /// the guild's active playlist. Starts playback when the player is idle.
    pub async fn play(
        &self,
        guild: GuildId,
        actor: &Actor,
        query: &str,
        placement: AddPosition,
    ) -> Result<PlayOutcome, MusicError> {
        self.play_reporting(guild, actor, query, placement, None)
            .await
    }

    /// [`MusicService::play`], telling `progress` how far loading a playlist got (page by
    /// page) so a front-end can show it while a long playlist loads.
    ///
    /// A playlist the resolver delivers page by page answers as soon as its first page is
    /// queued (and started when the player was idle); the rest is appended in the background
    /// (see [`super::loading`]) and the outcome says more is loading.
    pub async fn play_reporting(
        &self,
        guild: GuildId,
        actor: &Actor,
        query: &str,
        placement: AddPosition,
        progress: Option<ProgressSink>,
    ) -> Result<PlayOutcome, MusicError> {
        self.check_rate(actor)?;
        let session = self.session(guild).await?;
        authorize(actor, Action::Play, &session.lock().await.settings, None)?;
        let query = query.trim();
        if query.is_empty() {
            let infos = self.active_playlist(guild).await?;
            let queued = self
                .queue_and_start(guild, actor, session, infos, placement)
                .await?;
            return Ok(queued.outcome);
        }
        let mut load = PageLoad::start(&self.ports.resolver, query, progress);
        let first = load.first_page(query).await?;
        let more = first.more;
        let mut queued = self
            .queue_and_start(guild, actor, Arc::clone(&session), first.tracks, placement)
            .await?;
        if more && queued.outcome.rejected == 0 {
            queued.outcome.loading = true;
            load.continue_in_background(BackgroundLoad {
                ports: self.ports.clone(),
                next_track_id: Arc::clone(&self.next_track_id),
                guild,
                requester: actor.requester.clone(),
                session,
                loads: queued.loads,
                placement,
                last: queued.outcome.queued.last().map(|track| track.id),
            });
        } else {
            load.finish();
        }
        Ok(queued.outcome)
    }

    /// Queues `infos` (`placement` End or Next) and starts playback when the player is idle.
    async fn queue_and_start(
        &self,
        guild: GuildId,
        actor: &Actor,
        session: Arc<Mutex<Session>>,
        infos: Vec<TrackInfo>,
        placement: AddPosition,
    ) -> Result<Queued, MusicError> {
        let tracks: Vec<Track> = infos
            .into_iter()
            .map(|info| self.new_track(info, actor))
            .collect();
        let mut session = session.lock_owned().await;
        let loads = session.loads;
        let was_idle = session.queue.current().is_none();
        let (queued, first_index, rejected) = if tracks.len() == 1 {
            let index = session.queue.add(tracks[0].clone(), placement)?;
            (tracks, index, 0)
        } else {
            let (start, refused) = session.queue.add_all(tracks.iter().cloned(), placement);
            if refused.len() == tracks.len() {
                return Err(minstrel_domain::QueueError::Full {
                    max: session.queue.max_size(),
                }
                .into());
            }
            let kept = tracks.len() - refused.len();
            (tracks[..kept].to_vec(), start, refused.len())
        };
        let mut position = Some(first_index);
        for (offset, track) in queued.iter().enumerate() {
            self.ports.events.publish(DomainEvent::TrackQueued {
                guild,
                track: track.clone(),
                position: first_index + offset,
            });
        }
        let mut started = None;
        if was_idle {
            self.apply_user_defaults(actor, &mut session).await;
            session.queue.advance(Advance::Skipped);
            // The start saves the queue when it is done.
            started = self.start_for_reply(guild, session).await;
            if started
                .as_ref()
                .is_some_and(|track| track.id == queued[0].id)
            {
                position = None;
            }
        } else {
            self.persist(guild, &session).await;
        }
        Ok(Queued {
            outcome: PlayOutcome {
                queued,
                position,
                started,
                rejected,
                loading: false,
            },
            loads,
        })
    }

    /// The entries of the guild's active playlist, for a play without a query.
    async fn active_playlist(&self, guild: GuildId) -> Result<Vec<TrackInfo>, MusicError> {
        let playlist = self
            .ports
            .playlists
            .active(guild)
            .await?
            .filter(|playlist| !playlist.entries.is_empty())
            .ok_or(MusicError::NoActivePlaylist)?;
        Ok(playlist
            .entries
            .into_iter()
            .map(|entry| TrackInfo {
                title: entry.title,
                artist: None,
                duration: entry.duration,
                source_kind: entry.source_kind,
                locator: entry.locator,
                thumbnail: None,
            })
            .collect())
    }

    /// A user who saved a default volume or preferred filters gets them when they start an
    /// idle player.
    pub(super) async fn apply_user_defaults(&self, actor: &Actor, session: &mut Session) {
        let RequesterId::Discord(user) = actor.requester.id else {
            return;
        };
        match self.ports.settings.user(user).await {
            Ok(Some(settings)) => {
                // A saved personal volume wins over the server default, but not over a volume
                // somebody already set on this player.
                if settings.default_volume != Volume::DEFAULT
                    && session.volume == session.settings.default_volume
                {
                    session.volume = settings.default_volume;
                }
                let preferred = settings.preferred_spec();
                if !preferred.is_neutral() && session.filters.is_neutral() {
                    session.filters = preferred;
                }
            }
            Ok(None) => {}
            Err(error) => warn!(%user, ?error, "could not read user settings; using defaults"),
        }
    }

    /// Shuffles the upcoming tracks; returns how many were shuffled.
    pub async fn shuffle(&self, guild: GuildId, actor: &Actor) -> Result<usize, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Shuffle).await?;
        if session.queue.is_empty() {
            return Err(minstrel_domain::QueueError::Empty.into());
        }
        {
            // `ThreadRng` is not `Send`: it must be gone before the next `.await`, or the
            // future cannot run on a multi-threaded runtime (teloxide's dispatcher).
            let mut rng = rand::rng();
            session
                .queue
                .shuffle_with(|below| rng.random_range(0..below));
        }
        self.persist(guild, &session).await;
        Ok(session.queue.len())
    }

    /// Removes the track at 0-based `index`. Members may remove their own tracks.
    pub async fn remove(
        &self,
        guild: GuildId,
        actor: &Actor,
        index: usize,
    ) -> Result<Track, MusicError> {
        self.check_rate(actor)?;
        let session = self.session(guild).await?;
        let mut session = session.lock().await;
        let target = session.queue.get(index).cloned();
        authorize(actor, Action::Remove, &session.settings, target.as_ref())?;
        let removed = session.queue.remove(index)?;
        self.persist(guild, &session).await;
        Ok(removed)
    }

    /// Queues what `query` finds right after the current track and starts it at once (the
    /// current track is skipped). For DJs: it jumps everyone's queue.
    ///
    /// # Errors
    /// As [`MusicService::play`], or a member without the DJ role.
    pub async fn play_now(
        &self,
        guild: GuildId,
        actor: &Actor,
        query: &str,
        progress: Option<ProgressSink>,
    ) -> Result<PlayOutcome, MusicError> {
        {
            let session = self.session(guild).await?;
            authorize(actor, Action::Clear, &session.lock().await.settings, None)?;
        }
        let mut outcome = self
            .play_reporting(guild, actor, query, AddPosition::Next, progress)
            .await?;
        if outcome.started.is_some() || outcome.queued.is_empty() {
            return Ok(outcome);
        }
        let session = self.session(guild).await?.lock_owned().await;
        let Some(current) = session.queue.current().cloned() else {
            return Ok(outcome);
        };
        let skipped = self.skip_locked(guild, session, current).await;
        outcome.started = skipped.next;
        outcome.position = None;
        Ok(outcome)
    }

    /// Removes several upcoming tracks at once (a range, the duplicates, or one requester's);
    /// returns how many went. A member may remove their own tracks; the rest is for DJs.
    pub async fn remove_many(
        &self,
        guild: GuildId,
        actor: &Actor,
        selection: Removal,
    ) -> Result<usize, MusicError> {
        self.check_rate(actor)?;
        let session = self.session(guild).await?;
        let mut session = session.lock().await;
        let own = match &selection {
            Removal::RequestedBy(None) => true,
            Removal::RequestedBy(Some(requester)) => *requester == actor.requester.id,
            Removal::Range { .. } | Removal::Duplicates | Removal::Absent { .. } => false,
        };
        if !own {
            authorize(actor, Action::Clear, &session.settings, None)?;
        }
        let removed = match selection {
            Removal::Absent { listeners } => session.queue.remove_upcoming_where(|track| {
                matches!(track.requested_by.id, RequesterId::Discord(_))
                    && !listeners.contains(&track.requested_by.id)
            }),
            Removal::Range { from, to } => session.queue.remove_range(from, to)?.len(),
            Removal::Duplicates => session.queue.dedupe(),
            Removal::RequestedBy(requester) => {
                let requester = requester.unwrap_or_else(|| actor.requester.id.clone());
                session
                    .queue
                    .remove_upcoming_where(|track| track.requested_by.id == requester)
            }
        };
        if removed > 0 {
            self.persist(guild, &session).await;
        }
        Ok(removed)
    }

    /// Moves a track between 0-based positions.
    pub async fn move_track(
        &self,
        guild: GuildId,
        actor: &Actor,
        from: usize,
        to: usize,
    ) -> Result<Track, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Move).await?;
        session.queue.move_track(from, to)?;
        let moved = session
            .queue
            .get(to)
            .cloned()
            .ok_or(MusicError::NothingPlaying)?;
        self.persist(guild, &session).await;
        Ok(moved)
    }

    /// Removes every upcoming track (the current one keeps playing).
    pub async fn clear(&self, guild: GuildId, actor: &Actor) -> Result<usize, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Clear).await?;
        let removed = session.queue.clear();
        self.persist(guild, &session).await;
        Ok(removed)
    }

    pub async fn now_playing(&self, guild: GuildId) -> Result<NowPlaying, MusicError> {
        let session = self.session(guild).await?;
        let session = session.lock().await;
        let track = session
            .queue
            .current()
            .cloned()
            .ok_or(MusicError::NothingPlaying)?;
        let position = self
            .ports
            .player
            .position(guild)
            .await
            .unwrap_or(session.queue.position());
        Ok(NowPlaying {
            track,
            position,
            state: session.state,
            volume: session.volume,
            filters: session.filters,
            repeat: session.queue.repeat(),
            upcoming: session.queue.len(),
        })
    }

    /// One page (1-based) of the upcoming tracks.
    pub async fn queue_page(
        &self,
        guild: GuildId,
        page: usize,
        per_page: usize,
    ) -> Result<QueuePage, MusicError> {
        let per_page = per_page.clamp(1, 50);
        let session = self.session(guild).await?;
        let session = session.lock().await;
        let total = session.queue.len();
        let pages = total.div_ceil(per_page).max(1);
        let page = page.clamp(1, pages);
        let items = session
            .queue
            .upcoming()
            .enumerate()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|(index, track)| (index, track.clone()))
            .collect();
        Ok(QueuePage {
            current: session.queue.current().cloned(),
            items,
            page,
            pages,
            total,
            total_duration: session.queue.total_duration(),
            repeat: session.queue.repeat(),
        })
    }

    /// Current playback state of a guild (Idle for a guild never seen).
    pub async fn state(&self, guild: GuildId) -> PlaybackState {
        match self.existing_session(guild) {
            Some(session) => session.lock().await.state,
            None => PlaybackState::Idle,
        }
    }
}
