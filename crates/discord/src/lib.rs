//! minstrel's Discord front-end: slash command definitions, the gateway shards (twilight-gateway),
//! the REST client (twilight-http) and interaction handling that turns commands into calls on the
//! application services.
//!
//! Knows the application layer, the domain and twilight; no infrastructure crate (no database,
//! cache, source resolver or audio player). Voice playback is the Player port's business.

mod all;
#[cfg(test)]
mod all_tests;
mod boot;
mod commands;
mod directory;
#[cfg(test)]
mod feature_tests;
mod gateway;
mod handler;
mod join_check;
mod live;
pub mod metrics;
mod notices;
pub mod parity;
mod reply;
mod request;
#[cfg(test)]
mod test_support;
mod voice_state;

pub use commands::{COMMAND_NAMES, definitions, definitions_json};
pub use directory::VoiceChannelDirectory;
pub use gateway::{
    CommandRegistration, DiscordConfig, DiscordError, DiscordFrontEnd, DiscordState, INTENTS,
    PRESENCE_INTENTS, RestProxy, ShardSelection, StateListener, VoiceGateway,
};
pub use handler::{DiscordServices, InteractionHandler};
pub use reply::{ACCENT, ERROR, Reply, ReplyFile};
/// The gateway types a [`VoiceGateway`] sees.
pub use twilight_gateway::{Event as GatewayEvent, MessageSender};
pub use voice_state::VoiceStates;
