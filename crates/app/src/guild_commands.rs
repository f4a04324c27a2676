//! Guild commands as values, so that a front-end in one process can drive a guild whose live
//! state lives in another (see [`crate::shards`]).
//!
//! - [`GuildCommand`] / [`CommandReply`] (defined in [`crate::vocabulary`]): the commands a
//!   front-end sends to a guild's player and what each answers.
//! - [`LocalCommandBus`]: runs a command here, through `MusicService` and `FilterService`.
//! - [`ShardedCommandBus`]: runs a command here when this process owns the guild's shard, and
//!   hands it to another [`CommandBus`] (Redis Streams, in the binary) otherwise.
//! - [`GuildCommands`]: the typed face front-ends call (`play` returns a `PlayOutcome`, …).

use std::sync::Arc;

use async_trait::async_trait;
use minstrel_domain::{FilterSpec, GuildId, Preset, RepeatMode, RequesterId, Volume};
use tracing::debug;

use crate::error::MusicError;
use crate::filters::FilterService;
use crate::music::MusicService;
use crate::policy::Actor;
use crate::ports::{CommandBus, ProgressSink};
use crate::shards::ShardOwnership;
pub use crate::vocabulary::{
    CommandReply, GuildCommand, NowPlaying, PlayOutcome, QueuePage, SeekTarget, SkipOutcome,
};
use minstrel_domain::AddPosition;

/// Why a command did not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// The use case refused or failed here.
    #[error(transparent)]
    Music(#[from] MusicError),
    /// The use case refused or failed in the process that owns the guild; `message` is its
    /// sentence for the user.
    #[error("{message}")]
    Remote { message: String, internal: bool },
    /// The owning process did not answer in time (down, restarting, or overloaded).
    #[error("the process that plays this server did not answer; try again in a moment")]
    OwnerUnreachable,
    /// The command could not be sent or its answer not read.
    #[error("the command could not reach the process that plays this server")]
    Transport(String),
}

impl CommandError {
    /// True for failures of the bot rather than of the request.
    pub fn is_internal(&self) -> bool {
        match self {
            Self::Music(error) => error.is_internal(),
            Self::Remote { internal, .. } => *internal,
            Self::OwnerUnreachable | Self::Transport(_) => true,
        }
    }
}

/// Runs commands in this process.
#[derive(Debug, Clone)]
pub struct LocalCommandBus {
    music: Arc<MusicService>,
    filters: FilterService,
}

impl LocalCommandBus {
    pub fn new(music: Arc<MusicService>) -> Self {
        Self {
            filters: FilterService::new(music.clone()),
            music,
        }
    }

    /// Runs `command` through the use cases.
    ///
    /// # Errors
    /// The use case's own error.
    pub async fn execute(
        &self,
        guild: GuildId,
        actor: &Actor,
        command: GuildCommand,
    ) -> Result<CommandReply, MusicError> {
        self.execute_reporting(guild, actor, command, None).await
    }

    /// [`Self::execute`], telling `progress` how far a play's playlist has loaded (a
    /// front-end in this process shows it while a long playlist loads).
    ///
    /// # Errors
    /// The use case's own error.
    pub async fn execute_reporting(
        &self,
        guild: GuildId,
        actor: &Actor,
        command: GuildCommand,
        progress: Option<ProgressSink>,
    ) -> Result<CommandReply, MusicError> {
        let music = &self.music;
        let filters = &self.filters;
        // A play from outside Discord (a linked Telegram chat) joins a voice channel first:
        // its user is in none the bot could follow.
        if command.query().is_some() && matches!(actor.requester.id, RequesterId::Telegram(_)) {
            music.join_for_remote_play(guild, actor).await?;
        }
        Ok(match command {
            GuildCommand::Join {
                channel,
                text_channel,
            } => {
                music.join(guild, actor, channel, text_channel).await?;
                CommandReply::Joined
            }
            GuildCommand::Leave => {
                music.leave(guild, actor).await?;
                CommandReply::Left
            }
            GuildCommand::Play { query } => CommandReply::Played(
                music
                    .play_reporting(guild, actor, &query, AddPosition::End, progress)
                    .await?,
            ),
            GuildCommand::PlayNext { query } => CommandReply::Played(
                music
                    .play_reporting(guild, actor, &query, AddPosition::Next, progress)
                    .await?,
            ),
            GuildCommand::PlayNow { query } => {
                CommandReply::Played(music.play_now(guild, actor, &query, progress).await?)
            }
            GuildCommand::Replay => {
                music.seek(guild, actor, std::time::Duration::ZERO).await?;
                CommandReply::Sought(std::time::Duration::ZERO)
            }
            GuildCommand::Pause => {
                music.pause(guild, actor).await?;
                CommandReply::Paused
            }
            GuildCommand::Resume => {
                music.resume(guild, actor).await?;
                CommandReply::Resumed
            }
            GuildCommand::Skip => CommandReply::Skipped(music.skip(guild, actor).await?),
            GuildCommand::VoteSkip { listeners } => {
                CommandReply::Voted(music.vote_skip(guild, actor, listeners).await?)
            }
            GuildCommand::SkipTo { index } => {
                CommandReply::Jumped(music.skip_to(guild, actor, index).await?)
            }
            GuildCommand::Previous => CommandReply::Jumped(music.previous(guild, actor).await?),
            GuildCommand::Stop => CommandReply::Stopped(music.stop(guild, actor).await?),
            GuildCommand::Seek { target } => {
                let position = match target {
                    SeekTarget::At(position) => position,
                    relative => relative.resolve(music.now_playing(guild).await?.position),
                };
                music.seek(guild, actor, position).await?;
                CommandReply::Sought(position)
            }
            GuildCommand::Queue { page, per_page } => {
                CommandReply::Queue(music.queue_page(guild, page, per_page).await?)
            }
            GuildCommand::NowPlaying => {
                CommandReply::NowPlaying(Box::new(music.now_playing(guild).await?))
            }
            GuildCommand::SetVolume { percent } => {
                CommandReply::Volume(music.set_volume(guild, actor, percent).await?)
            }
            GuildCommand::SetRepeat { mode } => {
                music.set_repeat(guild, actor, mode).await?;
                CommandReply::Repeat(mode)
            }
            GuildCommand::Shuffle => CommandReply::Shuffled(music.shuffle(guild, actor).await?),
            GuildCommand::Remove { index } => {
                CommandReply::Removed(music.remove(guild, actor, index).await?)
            }
            GuildCommand::RemoveMany { removal } => {
                CommandReply::RemovedMany(music.remove_many(guild, actor, removal).await?)
            }
            GuildCommand::Move { from, to } => {
                CommandReply::Moved(music.move_track(guild, actor, from, to).await?, to)
            }
            GuildCommand::Clear => CommandReply::Cleared(music.clear(guild, actor).await?),
            GuildCommand::ApplyPreset { name } => {
                CommandReply::Filters(filters.apply_preset(guild, actor, &name).await?)
            }
            GuildCommand::SetFilter { text } => {
                CommandReply::Filters(filters.set_filter_params(guild, actor, &text).await?)
            }
            GuildCommand::RemoveFilter { name } => {
                CommandReply::Filters(filters.remove_filter(guild, actor, &name).await?)
            }
            GuildCommand::ShowFilters => CommandReply::Filters(filters.active(guild).await?),
            GuildCommand::ResetFilters => CommandReply::Filters(filters.reset(guild, actor).await?),
        })
    }
}

#[async_trait]
impl CommandBus for LocalCommandBus {
    async fn dispatch(
        &self,
        guild: GuildId,
        actor: &Actor,
        command: GuildCommand,
    ) -> Result<CommandReply, CommandError> {
        Ok(self.execute(guild, actor, command).await?)
    }
}

/// Runs a command here when this process owns the guild's shard, elsewhere otherwise.
pub struct ShardedCommandBus {
    local: Arc<dyn CommandBus>,
    remote: Arc<dyn CommandBus>,
    shards: ShardOwnership,
}

impl ShardedCommandBus {
    pub fn new(
        local: Arc<dyn CommandBus>,
        remote: Arc<dyn CommandBus>,
        shards: ShardOwnership,
    ) -> Self {
        Self {
            local,
            remote,
            shards,
        }
    }
}

impl std::fmt::Debug for ShardedCommandBus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ShardedCommandBus")
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CommandBus for ShardedCommandBus {
    async fn dispatch(
        &self,
        guild: GuildId,
        actor: &Actor,
        command: GuildCommand,
    ) -> Result<CommandReply, CommandError> {
        if self.shards.owns(guild) {
            self.local.dispatch(guild, actor, command).await
        } else {
            debug!(%guild, command = command.name(), "sending a command to the guild's owner");
            self.remote.dispatch(guild, actor, command).await
        }
    }
}

/// The typed face of a [`CommandBus`]: one method per command, as `MusicService` has them.
#[derive(Clone)]
pub struct GuildCommands {
    bus: Arc<dyn CommandBus>,
}

impl std::fmt::Debug for GuildCommands {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GuildCommands")
            .finish_non_exhaustive()
    }
}

/// A reply of the wrong kind: the other process runs an incompatible version.
fn unexpected(command: &str, reply: &CommandReply) -> CommandError {
    CommandError::Transport(format!("{command} was answered with {reply:?}"))
}

impl GuildCommands {
    pub fn new(bus: Arc<dyn CommandBus>) -> Self {
        Self { bus }
    }

    /// Every command runs in this process.
    pub fn local(music: Arc<MusicService>) -> Self {
        Self::new(Arc::new(LocalCommandBus::new(music)))
    }

    /// Every preset with its description (known everywhere; nothing to send).
    pub fn presets(&self) -> Vec<(&'static str, &'static str)> {
        Preset::ALL
            .iter()
            .map(|preset| (preset.name(), preset.description()))
            .collect()
    }

    /// # Errors
    /// The command's error, or the owner did not answer.
    pub async fn dispatch(
        &self,
        guild: GuildId,
        actor: &Actor,
        command: GuildCommand,
    ) -> Result<CommandReply, CommandError> {
        self.bus.dispatch(guild, actor, command).await
    }

    /// # Errors
    /// As [`MusicService::play`], or the owner did not answer.
    pub async fn play(
        &self,
        guild: GuildId,
        actor: &Actor,
        query: &str,
    ) -> Result<PlayOutcome, CommandError> {
        let command = GuildCommand::Play {
            query: query.to_owned(),
        };
        match self.dispatch(guild, actor, command).await? {
            CommandReply::Played(outcome) => Ok(outcome),
            other => Err(unexpected("play", &other)),
        }
    }

    /// # Errors
    /// As [`MusicService::skip`], or the owner did not answer.
    pub async fn skip(&self, guild: GuildId, actor: &Actor) -> Result<SkipOutcome, CommandError> {
        match self.dispatch(guild, actor, GuildCommand::Skip).await? {
            CommandReply::Skipped(outcome) => Ok(outcome),
            other => Err(unexpected("skip", &other)),
        }
    }

    /// # Errors
    /// As [`MusicService::pause`], or the owner did not answer.
    pub async fn pause(&self, guild: GuildId, actor: &Actor) -> Result<(), CommandError> {
        match self.dispatch(guild, actor, GuildCommand::Pause).await? {
            CommandReply::Paused => Ok(()),
            other => Err(unexpected("pause", &other)),
        }
    }

    /// # Errors
    /// As [`MusicService::resume`], or the owner did not answer.
    pub async fn resume(&self, guild: GuildId, actor: &Actor) -> Result<(), CommandError> {
        match self.dispatch(guild, actor, GuildCommand::Resume).await? {
            CommandReply::Resumed => Ok(()),
            other => Err(unexpected("resume", &other)),
        }
    }

    /// # Errors
    /// As [`MusicService::set_repeat`], or the owner did not answer.
    pub async fn set_repeat(
        &self,
        guild: GuildId,
        actor: &Actor,
        mode: RepeatMode,
    ) -> Result<(), CommandError> {
        match self
            .dispatch(guild, actor, GuildCommand::SetRepeat { mode })
            .await?
        {
            CommandReply::Repeat(_) => Ok(()),
            other => Err(unexpected("repeat", &other)),
        }
    }

    /// # Errors
    /// As [`MusicService::stop`], or the owner did not answer.
    pub async fn stop(&self, guild: GuildId, actor: &Actor) -> Result<usize, CommandError> {
        match self.dispatch(guild, actor, GuildCommand::Stop).await? {
            CommandReply::Stopped(removed) => Ok(removed),
            other => Err(unexpected("stop", &other)),
        }
    }

    /// `actor` is who asks (a read needs no permission, but travels with the command).
    ///
    /// # Errors
    /// As [`MusicService::queue_page`], or the owner did not answer.
    pub async fn queue_page(
        &self,
        guild: GuildId,
        actor: &Actor,
        page: usize,
        per_page: usize,
    ) -> Result<QueuePage, CommandError> {
        match self
            .dispatch(guild, actor, GuildCommand::Queue { page, per_page })
            .await?
        {
            CommandReply::Queue(page) => Ok(page),
            other => Err(unexpected("queue", &other)),
        }
    }

    /// # Errors
    /// As [`MusicService::now_playing`], or the owner did not answer.
    pub async fn now_playing(
        &self,
        guild: GuildId,
        actor: &Actor,
    ) -> Result<NowPlaying, CommandError> {
        match self
            .dispatch(guild, actor, GuildCommand::NowPlaying)
            .await?
        {
            CommandReply::NowPlaying(now) => Ok(*now),
            other => Err(unexpected("np", &other)),
        }
    }

    /// # Errors
    /// As [`MusicService::set_volume`], or the owner did not answer.
    pub async fn set_volume(
        &self,
        guild: GuildId,
        actor: &Actor,
        percent: i64,
    ) -> Result<Volume, CommandError> {
        match self
            .dispatch(guild, actor, GuildCommand::SetVolume { percent })
            .await?
        {
            CommandReply::Volume(volume) => Ok(volume),
            other => Err(unexpected("volume", &other)),
        }
    }

    /// # Errors
    /// As [`FilterService::apply_preset`], or the owner did not answer.
    pub async fn apply_preset(
        &self,
        guild: GuildId,
        actor: &Actor,
        name: &str,
    ) -> Result<FilterSpec, CommandError> {
        let command = GuildCommand::ApplyPreset {
            name: name.to_owned(),
        };
        self.filters(guild, actor, command).await
    }

    /// # Errors
    /// As [`FilterService::reset`], or the owner did not answer.
    pub async fn reset_filters(
        &self,
        guild: GuildId,
        actor: &Actor,
    ) -> Result<FilterSpec, CommandError> {
        self.filters(guild, actor, GuildCommand::ResetFilters).await
    }

    /// # Errors
    /// As [`FilterService::set_filter_params`], or the owner did not answer.
    pub async fn set_filter(
        &self,
        guild: GuildId,
        actor: &Actor,
        text: &str,
    ) -> Result<FilterSpec, CommandError> {
        let command = GuildCommand::SetFilter {
            text: text.to_owned(),
        };
        self.filters(guild, actor, command).await
    }

    /// # Errors
    /// As [`FilterService::remove_filter`], or the owner did not answer.
    pub async fn remove_filter(
        &self,
        guild: GuildId,
        actor: &Actor,
        name: &str,
    ) -> Result<FilterSpec, CommandError> {
        let command = GuildCommand::RemoveFilter {
            name: name.to_owned(),
        };
        self.filters(guild, actor, command).await
    }

    /// `actor` is who asks (a read needs no permission, but travels with the command).
    ///
    /// # Errors
    /// As [`FilterService::active`], or the owner did not answer.
    pub async fn active_filters(
        &self,
        guild: GuildId,
        actor: &Actor,
    ) -> Result<FilterSpec, CommandError> {
        self.filters(guild, actor, GuildCommand::ShowFilters).await
    }

    async fn filters(
        &self,
        guild: GuildId,
        actor: &Actor,
        command: GuildCommand,
    ) -> Result<FilterSpec, CommandError> {
        match self.dispatch(guild, actor, command).await? {
            CommandReply::Filters(spec) => Ok(spec),
            other => Err(unexpected("filter", &other)),
        }
    }

    /// # Errors
    /// As [`MusicService::shuffle`], or the owner did not answer.
    pub async fn shuffle(&self, guild: GuildId, actor: &Actor) -> Result<usize, CommandError> {
        match self.dispatch(guild, actor, GuildCommand::Shuffle).await? {
            CommandReply::Shuffled(count) => Ok(count),
            other => Err(unexpected("shuffle", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::ports::MockCommandBus;

    fn guild(shard: u64) -> GuildId {
        GuildId::new((shard << 22) | 1).unwrap()
    }

    fn answering(reply: CommandReply, times: usize) -> MockCommandBus {
        let mut bus = MockCommandBus::new();
        bus.expect_dispatch()
            .times(times)
            .returning(move |_, _, _| Ok(reply.clone()));
        bus
    }

    #[tokio::test]
    async fn owned_guilds_run_here_and_the_others_go_to_their_owner() {
        let mut remote = MockCommandBus::new();
        remote
            .expect_dispatch()
            .with(
                eq(guild(1)),
                eq(Actor::console()),
                eq(GuildCommand::Shuffle),
            )
            .times(1)
            .returning(|_, _, _| Ok(CommandReply::Shuffled(2)));
        let bus = ShardedCommandBus::new(
            Arc::new(answering(CommandReply::Shuffled(5), 1)),
            Arc::new(remote),
            ShardOwnership::range(0, 0, 2).unwrap(),
        );
        let commands = GuildCommands::new(Arc::new(bus));
        assert_eq!(commands.shuffle(guild(0), &Actor::console()).await, Ok(5));
        assert_eq!(commands.shuffle(guild(1), &Actor::console()).await, Ok(2));
    }

    #[tokio::test]
    async fn a_reply_of_the_wrong_kind_is_a_transport_error_not_a_panic() {
        let commands = GuildCommands::new(Arc::new(answering(CommandReply::Paused, 1)));
        let error = commands
            .stop(guild(0), &Actor::console())
            .await
            .unwrap_err();
        assert!(matches!(error, CommandError::Transport(_)), "{error:?}");
        assert!(error.is_internal());
        assert!(!CommandError::Music(MusicError::NothingPlaying).is_internal());
        assert!(CommandError::OwnerUnreachable.is_internal());
    }
}
