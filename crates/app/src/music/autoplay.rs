//! Autoplay: when a guild's queue runs out, one track related to the one that just ended is
//! queued and started, if the requester of that track turned autoplay on (`/settings
//! autoplay`). The related track comes from the [`RelatedTracks`] port (`YouTube`'s mix, the
//! library); when it finds nothing, from the requester's history in the guild (a track by the
//! same artist, played before but not lately).
//!
//! The queued track keeps the seed's requester id (so that requester's setting keeps autoplay
//! going, and history counts it for them) and shows [`AUTOPLAY_REQUESTER_NAME`] as the name,
//! so every front-end can tell it was not asked for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use minstrel_domain::{
    AddPosition, Advance, DomainEvent, GuildId, Requester, RequesterId, Track, TrackId, UserId,
};
use tokio::sync::OwnedMutexGuard;
use tracing::{debug, info, warn};

use super::{MusicPorts, MusicService, Session};
use crate::ports::{RelatedTracks, TrackInfo};

/// The requester name shown on a track autoplay queued.
pub const AUTOPLAY_REQUESTER_NAME: &str = "autoplay";

/// How many of the queue's played tracks autoplay avoids repeating.
const RECENT_LIMIT: usize = 50;

/// How many of the requester's history entries the history fallback looks through.
const HISTORY_LOOKBACK: usize = 100;

/// What autoplay needs besides the ports: where related tracks come from and the service's
/// track ids.
#[derive(Clone)]
pub(super) struct Autoplayer {
    related: Arc<dyn RelatedTracks>,
    next_track_id: Arc<AtomicU64>,
}

/// What autoplay did when the queue ran out.
pub(super) enum Autoplayed {
    /// The queue has a current track again (the related one) to start.
    Queued,
    /// A command (a play, a stop, a leave) came while the related track was looked up; the
    /// session is its business now.
    Replaced,
    /// Nothing was queued: autoplay is off, or nothing related was found.
    Nothing,
}

impl MusicService {
    pub(super) fn autoplayer(&self) -> Option<Autoplayer> {
        self.related.as_ref().map(|related| Autoplayer {
            related: Arc::clone(related),
            next_track_id: Arc::clone(&self.next_track_id),
        })
    }
}

impl MusicPorts {
    /// Queues a track related to the one that just ended when its requester has autoplay on.
    /// The session is unlocked while the related track is looked up (a yt-dlp call can take
    /// seconds), like a start while the player opens.
    pub(super) async fn autoplay(
        &self,
        guild: GuildId,
        session: OwnedMutexGuard<Session>,
        autoplayer: &Autoplayer,
    ) -> (OwnedMutexGuard<Session>, Autoplayed) {
        let Some(seed) = session.queue.history().next_back().cloned() else {
            return (session, Autoplayed::Nothing);
        };
        let Some(user) = self.autoplay_user(guild, &seed).await else {
            return (session, Autoplayed::Nothing);
        };
        let recent: Vec<String> = session
            .queue
            .history()
            .rev()
            .take(RECENT_LIMIT)
            .map(|track| track.locator.clone())
            .collect();
        let mut session = session;
        session.start_seq = session.start_seq.wrapping_add(1);
        let seq = session.start_seq;
        let slot = Arc::clone(OwnedMutexGuard::mutex(&session));
        drop(session);
        let found = match autoplayer.related.related(&seed, &recent).await {
            Ok(infos) => infos
                .into_iter()
                .find(|info| info.locator != seed.locator && !recent.contains(&info.locator)),
            Err(error) => {
                warn!(%guild, seed = %seed.display_title(), ?error, "autoplay found no related track");
                None
            }
        };
        let found = match found {
            Some(info) => Some(info),
            None => {
                self.same_artist_in_history(guild, user, &seed, &recent)
                    .await
            }
        };
        let mut session = slot.lock_owned().await;
        if session.start_seq != seq {
            debug!(%guild, "a command came while autoplay looked for a track");
            return (session, Autoplayed::Replaced);
        }
        if session.queue.current().is_some() {
            // Something was queued meanwhile without starting: it goes first.
            return (session, Autoplayed::Queued);
        }
        let Some(info) = found else {
            debug!(%guild, seed = %seed.display_title(), "nothing related to autoplay");
            return (session, Autoplayed::Nothing);
        };
        let requester = Requester {
            id: seed.requested_by.id.clone(),
            display_name: AUTOPLAY_REQUESTER_NAME.to_owned(),
        };
        let id = TrackId(autoplayer.next_track_id.fetch_add(1, Ordering::Relaxed));
        let track = info.into_track(id, requester);
        let position = match session.queue.add(track.clone(), AddPosition::End) {
            Ok(position) => position,
            Err(error) => {
                warn!(%guild, ?error, "autoplay could not queue its track");
                return (session, Autoplayed::Nothing);
            }
        };
        info!(%guild, seed = %seed.display_title(), track = %track.display_title(), "autoplay queued a related track");
        self.events.publish(DomainEvent::TrackQueued {
            guild,
            track,
            position,
        });
        session.queue.advance(Advance::Skipped);
        (session, Autoplayed::Queued)
    }

    /// The requester of `seed` when they turned autoplay on. Only Discord users have
    /// settings; an unreadable setting counts as off.
    async fn autoplay_user(&self, guild: GuildId, seed: &Track) -> Option<UserId> {
        let RequesterId::Discord(user) = seed.requested_by.id else {
            return None;
        };
        match self.settings.user(user).await {
            Ok(settings) => settings
                .is_some_and(|settings| settings.autoplay)
                .then_some(user),
            Err(error) => {
                warn!(%guild, ?error, "could not read the autoplay setting");
                None
            }
        }
    }

    /// A track by the seed's artist from `user`'s history in this guild, not played lately,
    /// resolved again (history keeps no source kind).
    async fn same_artist_in_history(
        &self,
        guild: GuildId,
        user: UserId,
        seed: &Track,
        recent: &[String],
    ) -> Option<TrackInfo> {
        let artist = seed
            .artist
            .as_deref()
            .map(str::trim)
            .filter(|artist| !artist.is_empty())?;
        // History keeps the display title, "Artist – Title".
        let prefix = format!("{artist} – ").to_lowercase();
        let entries = self
            .history
            .for_user(user, 0, HISTORY_LOOKBACK)
            .await
            .inspect_err(|error| warn!(%guild, ?error, "autoplay could not read the history"))
            .ok()?;
        let entry = entries.into_iter().find(|entry| {
            entry.guild_id == guild
                && entry.locator != seed.locator
                && !recent.contains(&entry.locator)
                && entry.title.to_lowercase().starts_with(&prefix)
        })?;
        match self.resolver.resolve(&entry.locator).await {
            Ok(infos) => infos.into_iter().next(),
            Err(error) => {
                warn!(%guild, ?error, "autoplay could not load a track from the history");
                None
            }
        }
    }
}
