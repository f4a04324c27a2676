//! [`DeadlinePlayer`]: a [`Player`] decorator that bounds how long any call may take, so no
//! command ever waits on a voice connection that stopped answering.
//!
//! The music use cases hold a guild's session lock while they call the player. An adapter
//! call that never returns (a voice driver that never started, a track handle whose mixer is
//! gone) would then hold that lock for good and every later command of the guild would hang
//! behind it. Wrapped in this decorator, every control (pause, resume, stop, volume, filters,
//! leave) and every query (position) answers within [`CONTROL_DEADLINE`]; a join within
//! [`JOIN_DEADLINE`]; starting a track within [`START_DEADLINE`] (it opens the source).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_domain::{ChannelId, FilterSpec, GuildId, Track, Volume};
use tokio::sync::broadcast;
use tracing::warn;

use crate::ports::{OpenOptions, Player, PlayerError, PlayerEvent};

/// The longest a control or a query of the player may take.
pub const CONTROL_DEADLINE: Duration = Duration::from_secs(2);
/// The longest a voice join may take, from the request to a connected voice session.
pub const JOIN_DEADLINE: Duration = Duration::from_secs(12);
/// The longest starting a track may take: the source is opened first (a web stream or a
/// yt-dlp lookup can be slow), so this is the adapter's own open deadline plus a margin.
pub const START_DEADLINE: Duration = Duration::from_secs(35);

/// Bounds every call of the wrapped player by a deadline (see the module doc).
pub struct DeadlinePlayer {
    inner: Arc<dyn Player>,
    control: Duration,
    join: Duration,
    start: Duration,
}

impl DeadlinePlayer {
    pub fn new(inner: Arc<dyn Player>) -> Self {
        Self {
            inner,
            control: CONTROL_DEADLINE,
            join: JOIN_DEADLINE,
            start: START_DEADLINE,
        }
    }

    /// Other deadlines, for tests.
    #[must_use]
    pub fn with_deadlines(mut self, control: Duration, join: Duration, start: Duration) -> Self {
        self.control = control;
        self.join = join;
        self.start = start;
        self
    }

    async fn bounded<T>(
        &self,
        guild: GuildId,
        action: &'static str,
        deadline: Duration,
        call: impl Future<Output = Result<T, PlayerError>> + Send,
    ) -> Result<T, PlayerError> {
        if let Ok(result) = tokio::time::timeout(deadline, call).await {
            result
        } else {
            warn!(
                %guild,
                action,
                deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
                "the player did not answer in time"
            );
            Err(PlayerError::TimedOut { action })
        }
    }
}

#[async_trait]
impl Player for DeadlinePlayer {
    async fn join(&self, guild: GuildId, channel: ChannelId) -> Result<(), PlayerError> {
        let joined = self
            .bounded(guild, "join", self.join, self.inner.join(guild, channel))
            .await;
        if matches!(joined, Err(PlayerError::TimedOut { .. })) {
            // The adapter gave up on nothing: leave, so Discord and the adapter both forget
            // the half-made connection and the next join starts afresh.
            if let Err(error) = self
                .bounded(guild, "leave", self.control, self.inner.leave(guild))
                .await
            {
                warn!(%guild, ?error, "could not leave after a join that timed out");
            }
            return Err(PlayerError::JoinFailed(format!(
                "Discord did not complete the voice connection within {} s",
                self.join.as_secs()
            )));
        }
        joined
    }

    async fn leave(&self, guild: GuildId) -> Result<(), PlayerError> {
        self.bounded(guild, "leave", self.control, self.inner.leave(guild))
            .await
    }

    async fn play(
        &self,
        guild: GuildId,
        track: &Track,
        start_at: Duration,
        volume: Volume,
        filters: FilterSpec,
        options: OpenOptions,
    ) -> Result<(), PlayerError> {
        let play = self
            .inner
            .play(guild, track, start_at, volume, filters, options);
        self.bounded(guild, "play", self.start, play).await
    }

    async fn pause(&self, guild: GuildId) -> Result<(), PlayerError> {
        self.bounded(guild, "pause", self.control, self.inner.pause(guild))
            .await
    }

    async fn resume(&self, guild: GuildId) -> Result<(), PlayerError> {
        self.bounded(guild, "resume", self.control, self.inner.resume(guild))
            .await
    }

    async fn stop(&self, guild: GuildId) -> Result<(), PlayerError> {
        self.bounded(guild, "stop", self.control, self.inner.stop(guild))
            .await
    }

    async fn seek(&self, guild: GuildId, position: Duration) -> Result<(), PlayerError> {
        // A seek reopens the source at the position: it may take as long as a start.
        self.bounded(guild, "seek", self.start, self.inner.seek(guild, position))
            .await
    }

    async fn set_volume(&self, guild: GuildId, volume: Volume) -> Result<(), PlayerError> {
        let call = self.inner.set_volume(guild, volume);
        self.bounded(guild, "volume", self.control, call).await
    }

    async fn set_filters(&self, guild: GuildId, filters: FilterSpec) -> Result<(), PlayerError> {
        let call = self.inner.set_filters(guild, filters);
        self.bounded(guild, "filters", self.control, call).await
    }

    async fn position(&self, guild: GuildId) -> Option<Duration> {
        let position = async { Ok(self.inner.position(guild).await) };
        self.bounded(guild, "position", self.control, position)
            .await
            .ok()
            .flatten()
    }

    fn events(&self) -> broadcast::Receiver<PlayerEvent> {
        self.inner.events()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A player whose every call hangs, as a voice driver that never started.
    struct Hanging {
        events: broadcast::Sender<PlayerEvent>,
        left: std::sync::atomic::AtomicUsize,
    }

    impl Hanging {
        fn new() -> Self {
            Self {
                events: broadcast::channel(4).0,
                left: std::sync::atomic::AtomicUsize::new(0),
            }
        }
    }

    #[async_trait]
    impl Player for Hanging {
        async fn join(&self, _: GuildId, _: ChannelId) -> Result<(), PlayerError> {
            std::future::pending().await
        }
        async fn leave(&self, _: GuildId) -> Result<(), PlayerError> {
            self.left.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
        async fn play(
            &self,
            _: GuildId,
            _: &Track,
            _: Duration,
            _: Volume,
            _: FilterSpec,
            _: OpenOptions,
        ) -> Result<(), PlayerError> {
            std::future::pending().await
        }
        async fn pause(&self, _: GuildId) -> Result<(), PlayerError> {
            std::future::pending().await
        }
        async fn resume(&self, _: GuildId) -> Result<(), PlayerError> {
            std::future::pending().await
        }
        async fn stop(&self, _: GuildId) -> Result<(), PlayerError> {
            std::future::pending().await
        }
        async fn seek(&self, _: GuildId, _: Duration) -> Result<(), PlayerError> {
            std::future::pending().await
        }
        async fn set_volume(&self, _: GuildId, _: Volume) -> Result<(), PlayerError> {
            std::future::pending().await
        }
        async fn set_filters(&self, _: GuildId, _: FilterSpec) -> Result<(), PlayerError> {
            std::future::pending().await
        }
        async fn position(&self, _: GuildId) -> Option<Duration> {
            std::future::pending().await
        }
        fn events(&self) -> broadcast::Receiver<PlayerEvent> {
            self.events.subscribe()
        }
    }

    fn guild() -> GuildId {
        GuildId::new(7).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn every_control_and_query_of_a_hanging_player_answers_within_its_deadline() {
        let player = DeadlinePlayer::new(Arc::new(Hanging::new()));
        let started = tokio::time::Instant::now();
        assert_eq!(
            player.pause(guild()).await,
            Err(PlayerError::TimedOut { action: "pause" })
        );
        assert!(player.resume(guild()).await.is_err());
        assert!(player.stop(guild()).await.is_err());
        assert!(player.set_volume(guild(), Volume::default()).await.is_err());
        let filters = FilterSpec::default();
        assert!(player.set_filters(guild(), filters).await.is_err());
        assert_eq!(player.position(guild()).await, None);
        assert_eq!(started.elapsed(), CONTROL_DEADLINE * 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_join_that_never_completes_times_out_and_leaves() {
        let hanging = Arc::new(Hanging::new());
        let player = DeadlinePlayer::new(hanging.clone());
        let started = tokio::time::Instant::now();
        let joined = player.join(guild(), ChannelId::new(9).unwrap()).await;
        assert!(
            matches!(&joined, Err(PlayerError::JoinFailed(cause)) if cause.contains("12 s")),
            "{joined:?}"
        );
        assert_eq!(started.elapsed(), JOIN_DEADLINE);
        assert_eq!(hanging.left.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
