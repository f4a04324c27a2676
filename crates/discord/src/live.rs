//! The live `/nowplaying` message: its progress bar is redrawn while the track plays.
//!
//! One live message per guild: a newer `/nowplaying` takes over and the older message stops
//! changing. Updates stop when the track ends or changes, when an edit fails (the message was
//! deleted) and before the interaction token expires (15 minutes). An update that would show
//! nothing new (a paused track) is not sent, so a guild costs at most one edit per interval,
//! far below Discord's webhook rate limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minstrel_app::MusicService;
use minstrel_domain::{GuildId, TrackId};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::debug;
use twilight_http::Client;
use twilight_model::id::Id;
use twilight_model::id::marker::ApplicationMarker;

use crate::reply::{self, Reply};

/// How often a live message is redrawn.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(12);
/// Interaction tokens last 15 minutes; stop a little before.
const TOKEN_LIFETIME: Duration = Duration::from_mins(14);

/// The message a live update edits: the original response of one interaction.
pub(crate) struct LiveMessage {
    pub(crate) application: Id<ApplicationMarker>,
    pub(crate) token: String,
    /// The track it shows; when another plays (or none), updates stop.
    pub(crate) track: TrackId,
    /// What it shows now.
    pub(crate) shown: Reply,
}

struct Running {
    generation: u64,
    task: JoinHandle<()>,
}

type Registry = Arc<Mutex<HashMap<GuildId, Running>>>;

/// The live `/nowplaying` messages of every guild.
pub(crate) struct LiveNowPlaying {
    interval: Duration,
    running: Registry,
    generation: AtomicU64,
}

impl LiveNowPlaying {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval: interval.max(Duration::from_millis(10)),
            running: Arc::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// Keeps `message` up to date, replacing the guild's earlier live message.
    pub(crate) fn start(
        &self,
        guild: GuildId,
        message: LiveMessage,
        music: Arc<MusicService>,
        http: Arc<Client>,
    ) {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let running = Arc::clone(&self.running);
        let interval = self.interval;
        // The lock is held while spawning, so the task's own clean-up cannot run before it is
        // registered.
        let mut guard = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let task = tokio::spawn(async move {
            update_until_done(guild, message, &music, &http, interval).await;
            let mut running = running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if running
                .get(&guild)
                .is_some_and(|entry| entry.generation == generation)
            {
                running.remove(&guild);
            }
        });
        if let Some(older) = guard.insert(guild, Running { generation, task }) {
            older.task.abort();
        }
    }

    /// Waits until the guild's live message stops changing (tests).
    #[cfg(test)]
    pub(crate) async fn stopped(&self, guild: GuildId) {
        let task = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&guild)
            .map(|running| running.task);
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for LiveNowPlaying {
    fn drop(&mut self) {
        for (_, running) in self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain()
        {
            running.task.abort();
        }
    }
}

async fn update_until_done(
    guild: GuildId,
    mut message: LiveMessage,
    music: &MusicService,
    http: &Client,
    interval: Duration,
) {
    let deadline = Instant::now() + TOKEN_LIFETIME;
    let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
    // A slow edit must not be followed by a burst of catch-up edits.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if Instant::now() >= deadline {
            debug!(%guild, "live now-playing message: the token is about to expire");
            return;
        }
        let now = match music.now_playing(guild).await {
            Ok(now) if now.track.id == message.track => now,
            _ => {
                debug!(%guild, "live now-playing message: the track ended");
                return;
            }
        };
        let reply = reply::now_playing(&now, None);
        if reply == message.shown {
            continue;
        }
        let embeds = [reply.embed.clone()];
        if let Err(error) = http
            .interaction(message.application)
            .update_response(&message.token)
            .embeds(Some(&embeds))
            .components(Some(&reply.components))
            .await
        {
            debug!(%guild, %error, "live now-playing message: the edit failed, stopping");
            return;
        }
        message.shown = reply;
    }
}
