//! Songbird's events turned into the port's: a track's end or error ([`Reporter`]), and a voice
//! connection's drops, reconnects and ends ([`ConnectionWatcher`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use minstrel_app::ports::{PlayerEvent, PlayerEventKind};
use minstrel_domain::{GuildId, TrackId};
use songbird::Songbird;
use songbird::events::context_data::{DisconnectKind, DisconnectReason};
use songbird::events::{Event, EventContext, EventHandler};
use songbird::model::CloseCode as VoiceCloseCode;
use tokio::sync::{Notify, broadcast};
use tracing::{debug, info, warn};

use crate::metrics::VOICE_RECONNECTS;

use super::{Playing, songbird_guild};

/// Turns songbird's track events into the port's, for the track that is still current.
#[derive(Clone)]
pub(super) struct Reporter {
    pub(super) guild: GuildId,
    pub(super) track: TrackId,
    pub(super) generation: u64,
    pub(super) playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
    pub(super) events: broadcast::Sender<PlayerEvent>,
}

impl Reporter {
    /// Whether this reporter's track is still the guild's current one; if so it no longer is,
    /// so the track's end is reported exactly once.
    fn take_current(&self) -> bool {
        let mut playing = self
            .playing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = playing
            .get(&self.guild)
            .is_some_and(|playing| playing.generation == self.generation);
        if current {
            playing.remove(&self.guild);
        }
        current
    }

    fn send(&self, kind: PlayerEventKind) {
        debug!(guild = %self.guild, ?kind, "track ended in voice");
        let _ = self.events.send(PlayerEvent {
            guild: self.guild,
            track: self.track,
            kind,
        });
    }

    /// The track played without audio for the stuck window (called on the mixer thread; it
    /// only takes a short lock and sends).
    pub(super) fn stuck(&self) {
        if self.take_current() {
            warn!(guild = %self.guild, track = %self.track, "the track produced no audio; skipping it");
            self.send(PlayerEventKind::Stuck);
        }
    }
}

#[async_trait]
impl EventHandler for Reporter {
    async fn act(&self, context: &EventContext<'_>) -> Option<Event> {
        if !self.take_current() {
            // Stopped, replaced, reopened by a seek or reported stuck: nothing to report.
            return None;
        }
        let kind = match context {
            EventContext::Track(states)
                if states.iter().any(|(state, _)| {
                    matches!(state.playing, songbird::tracks::PlayMode::Errored(_))
                }) =>
            {
                let reason = states
                    .iter()
                    .find_map(|(state, _)| match &state.playing {
                        songbird::tracks::PlayMode::Errored(error) => Some(error.to_string()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "the audio could not be played".to_owned());
                PlayerEventKind::Failed(reason)
            }
            _ => PlayerEventKind::Finished,
        };
        self.send(kind);
        None
    }
}

/// Counts and logs what songbird's driver says about a guild's voice connection, reports a
/// connection Discord ended for good as [`PlayerEventKind::Disconnected`], and rejoins when
/// songbird gave up on one Discord would take back (see [`ConnectionWatcher::rejoin`]).
#[derive(Clone)]
pub(super) struct ConnectionWatcher {
    guild: GuildId,
    reconnects: metrics::Counter,
    playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
    events: broadcast::Sender<PlayerEvent>,
    /// Weak: songbird owns the `Call` whose driver owns this watcher.
    songbird: Weak<Songbird>,
    /// Woken by every (re)connection of the driver.
    connected: Arc<Notify>,
    /// When the recent rejoins started, to give up on a voice session that keeps failing.
    rejoins: Arc<Mutex<VecDeque<Instant>>>,
}

/// The voice close codes after which Discord will not take the session back and songbird does
/// not reconnect: 4014 (kicked, moved out, or the channel went away) and 4022 (call
/// terminated). Rejoining on our own would fight a moderator, so the app keeps the queue.
pub(super) fn ended_for_good(reason: Option<&DisconnectReason>) -> Option<u16> {
    match reason? {
        DisconnectReason::WsClosed(Some(
            code @ (VoiceCloseCode::Disconnected | VoiceCloseCode::CallTerminated),
        )) => Some(*code as u16),
        _ => None,
    }
}

/// Whether a dropped connection is worth a rejoin: songbird gave up on it at run time (4006
/// "session no longer valid", a failed resume, a lost server), it was not asked for and
/// Discord did not end it for good. A first connection that fails is the join's own error.
pub(super) fn worth_rejoining(kind: DisconnectKind, reason: Option<&DisconnectReason>) -> bool {
    reason.is_some_and(|reason| !matches!(reason, DisconnectReason::Requested))
        && ended_for_good(reason).is_none()
        && matches!(kind, DisconnectKind::Runtime | DisconnectKind::Reconnect)
}

/// Rejoins allowed within [`REJOIN_WINDOW`]; past that a session that keeps failing is left
/// alone (it is logged), so a broken voice server is not hammered.
const MAX_REJOINS: usize = 3;
const REJOIN_WINDOW: Duration = Duration::from_mins(2);
/// How long a rejoin waits for songbird to connect with the session Discord sends, before it
/// connects with it itself.
const REJOIN_WAIT: Duration = Duration::from_secs(2);

impl ConnectionWatcher {
    /// Bound to the metrics recorder in force now (the global one in the binary).
    pub(super) fn new(
        guild: GuildId,
        playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
        events: broadcast::Sender<PlayerEvent>,
        songbird: Weak<Songbird>,
    ) -> Self {
        Self {
            guild,
            reconnects: metrics::counter!(VOICE_RECONNECTS),
            playing,
            events,
            songbird,
            connected: Arc::new(Notify::new()),
            rejoins: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    fn ended(&self, code: u16) {
        warn!(guild = %self.guild, code, "Discord ended the voice connection; not reconnecting");
        self.lost(format!("Discord closed the voice connection ({code})"));
    }

    /// Reports the connection gone for good: the app releases it and keeps the queue.
    fn lost(&self, reason: String) {
        let track = self
            .playing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&self.guild)
            .map_or(TrackId(0), |playing| playing.track.id);
        let _ = self.events.send(PlayerEvent {
            guild: self.guild,
            track,
            kind: PlayerEventKind::Disconnected(reason),
        });
    }

    fn reconnected(&self, channel: impl std::fmt::Display) {
        self.reconnects.increment(1);
        info!(guild = %self.guild, %channel, "the voice connection was re-established");
    }

    /// Takes a place for one more rejoin now; `false` when the recent ones used them up.
    fn may_rejoin(&self, now: Instant) -> bool {
        let mut rejoins = self
            .rejoins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while rejoins
            .front()
            .is_some_and(|started| now.duration_since(*started) >= REJOIN_WINDOW)
        {
            rejoins.pop_front();
        }
        if rejoins.len() >= MAX_REJOINS {
            return false;
        }
        rejoins.push_back(now);
        true
    }

    /// Gets a new voice session for the channel the `Call` is still in, keeping its tracks:
    /// the voice state update (op 4) is sent again, as Discord's clients do after 4006, and
    /// Discord answers with a fresh voice session. songbird connects on its own when that
    /// session differs from the old one; when it does not (same endpoint and token), songbird
    /// sees nothing new, so after [`REJOIN_WAIT`] the driver is connected with it here.
    async fn rejoin(&self) {
        let (Some(songbird), Ok(guild)) = (self.songbird.upgrade(), songbird_guild(self.guild))
        else {
            return;
        };
        let Some(call) = songbird.get(guild) else {
            return;
        };
        let connected = self.connected.notified();
        tokio::pin!(connected);
        connected.as_mut().enable();
        {
            let mut call = call.lock().await;
            if call.current_channel().is_none() {
                // Left in the meantime.
                return;
            }
            // `deafen` with the current setting is the one public way to send the voice state
            // update for the channel the call is in, without leaving it.
            let deaf = call.is_deaf();
            if let Err(error) = call.deafen(deaf).await {
                warn!(guild = %self.guild, %error, "could not ask Discord for a new voice session");
                return;
            }
        }
        if tokio::time::timeout(REJOIN_WAIT, connected).await.is_ok() {
            return;
        }
        let connect = {
            let mut call = call.lock().await;
            let Some(info) = call.current_connection().cloned() else {
                return;
            };
            call.connect(info)
        };
        match connect.await {
            Ok(()) => info!(guild = %self.guild, "rejoined the voice channel with a new session"),
            // Replaced by songbird's own connection with the session Discord sent meanwhile.
            Err(songbird::error::ConnectionError::AttemptDiscarded) => {}
            Err(error) => {
                warn!(guild = %self.guild, %error, "could not rejoin the voice channel; leaving it");
                self.lost(format!(
                    "the voice connection could not be made again ({error})"
                ));
            }
        }
    }
}

#[async_trait]
impl EventHandler for ConnectionWatcher {
    async fn act(&self, context: &EventContext<'_>) -> Option<Event> {
        match context {
            EventContext::DriverConnect(_) => self.connected.notify_waiters(),
            EventContext::DriverReconnect(connect) => {
                self.connected.notify_waiters();
                self.reconnected(connect.channel_id);
            }
            // No reason: asked for (a leave or a move to another channel).
            EventContext::DriverDisconnect(disconnect) => {
                if let Some(code) = ended_for_good(disconnect.reason.as_ref()) {
                    self.ended(code);
                    return None;
                }
                if !worth_rejoining(disconnect.kind, disconnect.reason.as_ref()) {
                    return None;
                }
                if !self.may_rejoin(Instant::now()) {
                    // A defined end instead of a call that plays into nothing: the app leaves
                    // the channel, keeps the queue and tells the guild.
                    warn!(
                        guild = %self.guild,
                        reason = ?disconnect.reason,
                        "the voice connection keeps failing; leaving the channel"
                    );
                    self.lost("the voice connection kept failing".to_owned());
                    return None;
                }
                info!(
                    guild = %self.guild,
                    channel = %disconnect.channel_id,
                    kind = ?disconnect.kind,
                    reason = ?disconnect.reason,
                    "the voice connection dropped and songbird gave up; rejoining"
                );
                self.reconnects.increment(1);
                // Not awaited here: songbird delivers its events on this task, and the rejoin
                // waits for one.
                let watcher = self.clone();
                tokio::spawn(async move { watcher.rejoin().await });
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests;
