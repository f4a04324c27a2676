//! Messages the bot posts on its own, unasked, in the text channel where `/play` was last used
//! in a guild: a track that failed to start or died mid-play, one that produced no audio and
//! was skipped, and a voice connection Discord ended for good (kicked, channel deleted), after which the bot does not rejoin by itself.
//!
//! Interaction replies cannot carry these: the interaction may be long over. A guild nobody
//! used `/play` in since the start gets no notice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use minstrel_domain::events::{DEFAULT_TRACK_STUCK_AFTER, stuck_window_text};
use minstrel_domain::{ChannelId, DomainEvent, EndReason, GuildId};
use tokio::sync::broadcast;
use tracing::{debug, warn};
use twilight_http::Client;
use twilight_model::id::Id;

/// Where each guild's notices go, and what they say about a stuck track.
#[derive(Debug)]
pub(crate) struct GuildNotices {
    channels: Mutex<HashMap<GuildId, ChannelId>>,
    /// The player's silence window (`MINSTREL_TRACK_STUCK_AFTER`), which the stuck notice names.
    track_stuck_after: Duration,
}

impl Default for GuildNotices {
    fn default() -> Self {
        Self::new(DEFAULT_TRACK_STUCK_AFTER)
    }
}

impl GuildNotices {
    /// Notices for a player that skips a track after `track_stuck_after` without audio.
    pub(crate) fn new(track_stuck_after: Duration) -> Self {
        Self {
            channels: Mutex::default(),
            track_stuck_after,
        }
    }

    /// `/play` was used in `channel`: the guild's notices go there from now on.
    pub(crate) fn remember(&self, guild: GuildId, channel: ChannelId) {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(guild, channel);
    }

    fn channel(&self, guild: GuildId) -> Option<ChannelId> {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&guild)
            .copied()
    }
}

/// "1 track", "3 tracks".
fn tracks(count: usize) -> String {
    if count == 1 {
        "1 track".to_owned()
    } else {
        format!("{count} tracks")
    }
}

/// The notice for `event`, if it deserves one; a stuck track is one that gave no audio for
/// `track_stuck_after`.
pub(crate) fn notice(event: &DomainEvent, track_stuck_after: Duration) -> Option<String> {
    match event {
        DomainEvent::TrackEnded {
            track,
            reason: EndReason::Stuck,
            ..
        } => Some(format!(
            "⚠️ **{}** produced no audio for {} and was skipped.",
            crate::reply::escape(&track.display_title()),
            stuck_window_text(track_stuck_after)
        )),
        DomainEvent::TrackFailed { track, reason, .. } => Some(format!(
            "⚠️ **{}** could not be played and was skipped: {}.",
            crate::reply::escape(&track.display_title()),
            reason.trim_end_matches('.')
        )),
        DomainEvent::VoiceLost { queued: 0, .. } => Some(
            "⏏️ I was disconnected from the voice channel, so I stopped. Use `/join` or `/play` \
             to bring me back."
                .to_owned(),
        ),
        DomainEvent::VoiceLost { queued, .. } => Some(format!(
            "⏏️ I was disconnected from the voice channel, so I stopped. The queue was kept \
             ({}): use `/join` or `/play` to carry on where it left off.",
            tracks(*queued)
        )),
        _ => None,
    }
}

/// The running notice task; dropping it stops the task.
#[derive(Debug)]
pub(crate) struct Running(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Posts the notices of `events` until the event bus closes.
pub(crate) async fn run(
    mut events: broadcast::Receiver<DomainEvent>,
    http: Arc<Client>,
    notices: Arc<GuildNotices>,
) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                warn!(
                    missed,
                    "the notice task fell behind; some notices were not sent"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(text) = notice(&event, notices.track_stuck_after) else {
            continue;
        };
        let guild = event.guild();
        let Some(channel) = notices.channel(guild) else {
            debug!(%guild, "no text channel known for a notice");
            continue;
        };
        let Some(channel_id) = Id::new_checked(channel.get()) else {
            continue;
        };
        if let Err(error) = http.create_message(channel_id).content(&text).await {
            warn!(%guild, %channel, %error, "could not post a notice");
        }
    }
}

#[cfg(test)]
mod tests {
    use minstrel_domain::{Requester, SourceKind, Track, TrackId};
    use minstrel_testkit::discord::FakeRest;

    use super::*;

    fn guild() -> GuildId {
        GuildId::new(1).unwrap()
    }

    #[test]
    fn a_lost_voice_connection_says_the_queue_was_kept_and_how_to_resume() {
        let text = notice(
            &DomainEvent::VoiceLost {
                guild: guild(),
                queued: 3,
            },
            DEFAULT_TRACK_STUCK_AFTER,
        )
        .unwrap();
        assert!(text.contains("disconnected"), "{text}");
        assert!(text.contains("queue was kept (3 tracks)"), "{text}");
        assert!(text.contains("/join") && text.contains("/play"), "{text}");
        let empty = notice(
            &DomainEvent::VoiceLost {
                guild: guild(),
                queued: 0,
            },
            DEFAULT_TRACK_STUCK_AFTER,
        )
        .unwrap();
        assert!(!empty.contains("queue"), "{empty}");
    }

    fn radio() -> Track {
        Track {
            id: TrackId(1),
            title: "Radio".to_owned(),
            artist: None,
            duration: None,
            source_kind: SourceKind::Http,
            locator: "https://example.com/radio".to_owned(),
            thumbnail: None,
            requested_by: Requester::console(),
        }
    }

    fn stuck() -> DomainEvent {
        DomainEvent::TrackEnded {
            guild: guild(),
            track: radio(),
            reason: EndReason::Stuck,
        }
    }

    #[tokio::test]
    async fn the_posted_stuck_notice_names_the_window_its_notices_were_made_with() {
        let rest = FakeRest::start().await;
        let http = Client::builder()
            .token("Bot test-token".to_owned())
            .proxy(rest.proxy_address(), true)
            .ratelimiter(None)
            .build();
        let notices = Arc::new(GuildNotices::new(Duration::from_millis(2500)));
        notices.remember(guild(), ChannelId::new(10).unwrap());
        let (events, receiver) = broadcast::channel(4);
        let _running = Running(tokio::spawn(run(receiver, Arc::new(http), notices)));
        events.send(stuck()).unwrap();
        let posted = rest
            .wait_for("the stuck notice", |request| {
                request.method == "POST" && request.path.ends_with("/channels/10/messages")
            })
            .await;
        assert_eq!(
            posted.body["content"],
            "⚠️ **Radio** produced no audio for 2.5 s and was skipped."
        );
    }

    #[test]
    fn a_stuck_track_is_named_and_other_events_say_nothing() {
        let track = radio();
        let stuck = stuck();
        assert_eq!(
            notice(&stuck, DEFAULT_TRACK_STUCK_AFTER).as_deref(),
            Some("⚠️ **Radio** produced no audio for 10 s and was skipped.")
        );
        assert_eq!(
            notice(&stuck, Duration::from_millis(2500)).as_deref(),
            Some("⚠️ **Radio** produced no audio for 2.5 s and was skipped."),
            "the notice names the configured window, not the default"
        );
        assert_eq!(
            notice(
                &stuck,
                GuildNotices::new(Duration::from_secs(90)).track_stuck_after
            )
            .as_deref(),
            Some("⚠️ **Radio** produced no audio for 1 min 30 s and was skipped.")
        );
        let finished = DomainEvent::TrackEnded {
            guild: guild(),
            track: track.clone(),
            reason: EndReason::Finished,
        };
        assert_eq!(notice(&finished, DEFAULT_TRACK_STUCK_AFTER), None);
        let failed = DomainEvent::TrackFailed {
            guild: guild(),
            track: track.clone(),
            reason: "the stream was reset".to_owned(),
        };
        assert_eq!(
            notice(&failed, DEFAULT_TRACK_STUCK_AFTER).as_deref(),
            Some("⚠️ **Radio** could not be played and was skipped: the stream was reset.")
        );
        assert_eq!(
            notice(
                &DomainEvent::Paused { guild: guild() },
                DEFAULT_TRACK_STUCK_AFTER
            ),
            None
        );
    }

    #[test]
    fn the_last_play_channel_of_each_guild_is_kept() {
        let notices = GuildNotices::default();
        let other = GuildId::new(2).unwrap();
        assert_eq!(notices.channel(guild()), None);
        notices.remember(guild(), ChannelId::new(10).unwrap());
        notices.remember(guild(), ChannelId::new(11).unwrap());
        notices.remember(other, ChannelId::new(20).unwrap());
        assert_eq!(notices.channel(guild()), ChannelId::new(11).ok());
        assert_eq!(notices.channel(other), ChannelId::new(20).ok());
    }
}
