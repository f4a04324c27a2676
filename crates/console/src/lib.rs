//! minstrel's console front-end: a line-oriented local interface (stdin → replies on stdout)
//! with the same command names as Discord, for running the bot without any network.
//!
//! Talks only to the application services; knows no infrastructure crate.

mod commands;

use std::sync::Arc;
use std::time::Duration;

use minstrel_app::ports::EventBus;
use minstrel_app::{
    Actor, FilterService, HistoryService, MusicService, PlaylistService, SettingsService,
};
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
    guild: GuildId,
    actor: Actor,
}

impl Console {
    /// The guild id the console plays in.
    pub const LOCAL_GUILD: u64 = 1;

    pub fn new(services: ConsoleServices) -> Self {
        Self {
            services,
            guild: GuildId::new(Self::LOCAL_GUILD).unwrap_or_else(|_| unreachable!("non-zero")),
            actor: Actor::console(),
        }
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
                        && let Some(text) = describe_event(&event, self.guild)
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
                    if let Some(text) = describe_event(&event, self.guild) {
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

/// One line for the events a person at the console wants to see.
fn describe_event(event: &DomainEvent, guild: GuildId) -> Option<String> {
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
            "✖ {} produced no audio for 10 s and was skipped",
            track.display_title()
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
