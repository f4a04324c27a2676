//! minstrel's application layer: the use cases (music, filters, playlists, settings, history,
//! the Discord↔Telegram bridge),
//! the permission and rate-limit policy, and the ports they call.
//!
//! Knows the domain and nothing of the adapters: no sea-orm, redis, twilight, teloxide,
//! songbird or symphonia. Adapters implement [`ports`]; front-ends call the services.

pub mod bridge;
pub mod deadline_player;
pub mod error;
pub mod filters;
pub mod guild_commands;
pub mod music;
pub mod outbox;
pub mod playlists;
pub mod policy;
pub mod ports;
pub mod preview;
mod recent;
pub mod redact;
pub mod search;
pub mod settings;
pub mod shards;
pub mod vocabulary;
pub mod write_behind;

#[cfg(test)]
mod tests;

/// docs/EXTENDING.md, whose examples (a source, a storage adapter, a front-end) compile and run
/// as this crate's doctests so the guide stays true to the ports.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/EXTENDING.md")]
pub struct ExtendingGuide;

pub use bridge::{BridgeError, BridgePorts, BridgeService, CallOutcome, LinkOutcome};
pub use deadline_player::DeadlinePlayer;
pub use error::MusicError;
pub use filters::FilterService;
pub use guild_commands::{
    CommandError, CommandReply, GuildCommand, GuildCommands, LocalCommandBus, SeekTarget,
    ShardedCommandBus,
};
pub use music::{
    MusicPorts, MusicService, NowPlaying, PlayOutcome, QueuePage, SkipOutcome, VoteOutcome,
};
pub use outbox::{
    OUTBOX_DEPTH_GAUGE, Outbox, OutboxAuditLog, OutboxConfig, OutboxHistoryRepo, OutboxQueueStore,
    OutboxWrite, Written, outbox_write,
};
pub use playlists::PlaylistService;
pub use policy::{Action, Actor, PermissionError, RateLimit};
pub use preview::{PREVIEW_LENGTH, Preview, PreviewError, PreviewService};
pub use search::SearchService;
pub use settings::{GuildSettingChange, HistoryService, SettingsService};
pub use shards::{ShardOwnership, ShardPlanError, shard_of};
pub use write_behind::{BatchedHistoryRepo, HistoryBatching};
