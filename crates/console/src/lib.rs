//! minstrel's console front-end: a line-oriented local interface (stdin → replies on stdout)
//! with the same command names as Discord, for running the bot without any network.
//!
//! Talks only to the application services; knows no infrastructure crate.

mod commands;
pub mod parity;

use std::sync::Arc;
use std::time::Duration;

use minstrel_app::ports::EventBus;
use minstrel_app::{
    Actor, FilterService, HistoryService, LocalCommandBus, MusicService, PlaylistService,
    SettingsService,
};
use minstrel_domain::events::{DEFAULT_TRACK_STUCK_AFTER, stuck_window_text};
use minstrel_domain::{DomainEvent, EndReason, GuildId, PlaylistOwner};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast;

pub use commands::{Reply, ReplyAction};

/// The services the console drives.
#[derive(Clone)]
pub struct ConsoleServices {
    pub music: Arc<MusicService>,
    pub filters: FilterService,
    pub playlists: Arc<PlaylistService>,
    pub settings: Arc<SettingsService>,
    pub history: Arc<HistoryService>,
    pub events: Arc<dyn EventBus>,
}

/// How `quit` behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A person is typing: `quit` stops at once.
    Interactive,
    /// A script is piped in: `quit` (and the end of input) first lets the queue finish, so
    /// `play x` / `filter nightcore` / `quit` renders the whole track.
    Script,
}

/// The console front-end for one local "guild".
pub struct Console {
    services: ConsoleServices,
    /// Runs the player commands the console parses, as every front-end does.
    commands: LocalCommandBus,
    guild: GuildId,
    actor: Actor,
    /// The player's silence window (`MINSTREL_TRACK_STUCK_AFTER`), which the stuck notice names.
    track_stuck_after: Duration,
}

impl Console {
    /// The guild id the console plays in.
    pub const LOCAL_GUILD: u64 = 1;

    pub fn new(services: ConsoleServices) -> Self {
        Self {
            commands: LocalCommandBus::new(Arc::clone(&services.music)),
            services,
            guild: GuildId::new(Self::LOCAL_GUILD).unwrap_or_else(|_| unreachable!("non-zero")),
            actor: Actor::console(),
            track_stuck_after: DEFAULT_TRACK_STUCK_AFTER,
        }
    }

    /// The player skips a track after `track_stuck_after` without audio; the notice says so.
    #[must_use]
    pub fn with_track_stuck_after(mut self, track_stuck_after: Duration) -> Self {
        self.track_stuck_after = track_stuck_after;
        self
    }

    pub fn guild(&self) -> GuildId {
        self.guild
    }

    fn playlist_owner(&self) -> PlaylistOwner {
        PlaylistOwner::Guild(self.guild)
    }

    /// Reads commands line by line until `quit` or the end of input, writing replies and
    /// player notifications to `output`.
    ///
    /// # Errors
    /// Only when `output` cannot be written.
    pub async fn run<R, W>(&self, input: R, mut output: W, mode: Mode) -> std::io::Result<()>
    where
        R: AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut events = self.services.events.subscribe();
        let mut lines = input.lines();
        if mode == Mode::Interactive {
            write_line(&mut output, "minstrel console — type `help` for commands").await?;
        }
        loop {
            tokio::select! {
                line = lines.next_line() => {
                    let line = match line {
                        Ok(Some(line)) => line,
                        Ok(None) => {
                            self.finish(&mut events, &mut output, mode).await?;
                            return Ok(());
                        }
                        Err(error) => {
                            write_line(&mut output, &format!("could not read input: {error}")).await?;
                            return Ok(());
                        }
                    };
                    let reply = self.execute(&line).await;
                    if !reply.text.is_empty() {
                        write_line(&mut output, &reply.text).await?;
                    }
                    match reply.action {
                        ReplyAction::Continue => {}
                        ReplyAction::Wait => self.wait_until_idle(&mut events, &mut output).await?,
                        ReplyAction::Quit { now } => {
                            if !now {
                                self.finish(&mut events, &mut output, mode).await?;
                            }
                            return Ok(());
                        }
                    }
                }
                event = events.recv() => {
                    if let Ok(event) = event
                        && let Some(text) = describe_event(&event, self.guild, self.track_stuck_after)
                    {
                        write_line(&mut output, &text).await?;
                    }
                }
            }
        }
    }

    async fn finish<W: AsyncWrite + Unpin>(
        &self,
        events: &mut broadcast::Receiver<DomainEvent>,
        output: &mut W,
        mode: Mode,
    ) -> std::io::Result<()> {
        if mode == Mode::Script {
            self.wait_until_idle(events, output).await?;
        }
        Ok(())
    }

    /// Waits while something plays, echoing notifications. A paused player is not waited for.
    async fn wait_until_idle<W: AsyncWrite + Unpin>(
        &self,
        events: &mut broadcast::Receiver<DomainEvent>,
        output: &mut W,
    ) -> std::io::Result<()> {
        loop {
            let state = self.services.music.state(self.guild).await;
            if state != minstrel_domain::PlaybackState::Playing {
                return Ok(());
            }
            // The state is re-checked every second, so a missed event cannot hang the wait.
            match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
                Ok(Ok(event)) => {
                    if let Some(text) = describe_event(&event, self.guild, self.track_stuck_after) {
                        write_line(output, &text).await?;
                    }
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => return Ok(()),
                Ok(Err(broadcast::error::RecvError::Lagged(_))) | Err(_) => {}
            }
        }
    }
}

async fn write_line<W: AsyncWrite + Unpin>(output: &mut W, text: &str) -> std::io::Result<()> {
    output.write_all(text.as_bytes()).await?;
    output.write_all(b"\n").await?;
    output.flush().await
}

/// One line for the events a person at the console wants to see; a stuck track is one that
/// gave no audio for `track_stuck_after`.
fn describe_event(
    event: &DomainEvent,
    guild: GuildId,
    track_stuck_after: Duration,
) -> Option<String> {
    if event.guild() != guild {
        return None;
    }
    match event {
        DomainEvent::TrackStarted { track, .. } => {
            Some(format!("▶ now playing: {}", track.display_title()))
        }
        DomainEvent::TrackFailed { track, reason, .. } => Some(format!(
            "✖ could not play {}: {reason}",
            track.display_title()
        )),
        DomainEvent::TrackEnded {
            track,
            reason: EndReason::Stuck,
            ..
        } => Some(format!(
            "✖ {} produced no audio for {} and was skipped",
            track.display_title(),
            stuck_window_text(track_stuck_after)
        )),
        DomainEvent::QueueFinished { .. } => Some("■ the queue has finished".to_owned()),
        _ => None,
    }
}

impl std::fmt::Debug for Console {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Console")
            .field("guild", &self.guild)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod stuck_notice_tests {
    use minstrel_domain::{Requester, SourceKind, Track, TrackId};

    use super::*;

    #[test]
    fn the_stuck_notice_names_the_configured_window() {
        let guild = GuildId::new(Console::LOCAL_GUILD).unwrap();
        let stuck = DomainEvent::TrackEnded {
            guild,
            track: Track {
                id: TrackId(1),
                title: "Radio".to_owned(),
                artist: None,
                duration: None,
                source_kind: SourceKind::Http,
                locator: "https://example.com/radio".to_owned(),
                thumbnail: None,
                requested_by: Requester::console(),
            },
            reason: EndReason::Stuck,
        };
        assert_eq!(
            describe_event(&stuck, guild, Duration::from_millis(2500)).as_deref(),
            Some("✖ Radio produced no audio for 2.5 s and was skipped")
        );
        assert_eq!(
            describe_event(&stuck, guild, DEFAULT_TRACK_STUCK_AFTER).as_deref(),
            Some("✖ Radio produced no audio for 10 s and was skipped")
        );
    }
}
