//! Interactions: acknowledge first, run the use case, then edit the original response.
//!
//! Discord drops an interaction that is not acknowledged within 3 s, and resolving a source can
//! take far longer, so every command is deferred (callback type 5, or 6 for buttons) before
//! anything else happens. Interaction tokens are credentials for 15 minutes: they are never
//! logged, and neither is an `Interaction` value (its `Debug` shows the token).

mod components;
mod render;
mod run;
mod settings;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Instant;

use minstrel_app::{
    Actor, BridgeError, BridgeService, FilterService, HistoryService, MusicError, MusicService,
    PlaylistService, PreviewError, PreviewService, SearchService, SettingsService,
};
use minstrel_domain::{ChannelId, GuildId, Requester, RequesterId, RoleId, UserId};
use tracing::Instrument as _;
use tracing::{debug, error, info, warn};
use twilight_http::Client;
use twilight_model::application::interaction::{Interaction, InteractionType};
use twilight_model::channel::message::MessageFlags;
use twilight_model::guild::Permissions;
use twilight_model::http::attachment::Attachment;
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};

use crate::live::{self, LiveNowPlaying};
use crate::metrics::{Outcome, record_ack};
use crate::notices::{self, GuildNotices};
use crate::reply::Reply;
use crate::request::UsageError;
use crate::voice_state::VoiceStates;

/// The application services the Discord front-end drives.
#[derive(Clone)]
pub struct DiscordServices {
    pub music: Arc<MusicService>,
    pub filters: FilterService,
    pub playlists: Arc<PlaylistService>,
    pub settings: Arc<SettingsService>,
    pub history: Arc<HistoryService>,
    /// `None` when the Telegram bridge is not configured.
    pub bridge: Option<Arc<BridgeService>>,
    /// Suggestions for `/play` while the member types.
    pub search: Arc<SearchService>,
    /// `None` when this bot renders no previews.
    pub preview: Option<Arc<PreviewService>>,
}

impl std::fmt::Debug for DiscordServices {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DiscordServices")
            .field("bridge", &self.bridge.is_some())
            .field("preview", &self.preview.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a command did not do what was asked.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Music(#[from] MusicError),
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error(transparent)]
    Preview(#[from] PreviewError),
}

impl From<minstrel_domain::FilterError> for Failure {
    fn from(error: minstrel_domain::FilterError) -> Self {
        Self::Music(error.into())
    }
}

impl Failure {
    fn usage(text: &str) -> Self {
        Self::Usage(UsageError(text.to_owned()))
    }

    fn is_internal(&self) -> bool {
        match self {
            Self::Usage(_) => false,
            Self::Music(error) => error.is_internal(),
            Self::Bridge(error) => error.is_internal(),
            Self::Preview(error) => error.is_internal(),
        }
    }

    fn outcome(&self) -> Outcome {
        if self.is_internal() {
            Outcome::InternalError
        } else {
            Outcome::UserError
        }
    }

    fn reply(&self, command: &str) -> Reply {
        if self.is_internal() {
            // The chain goes to the log; the member gets the error's own sentence.
            error!(command, error = ?self, "command failed");
        } else {
            debug!(command, error = %self, "command refused");
        }
        Reply::error(&self.to_string())
    }
}

/// Who sent an interaction, where.
#[derive(Debug, Clone)]
struct Context {
    guild: GuildId,
    user: UserId,
    actor: Actor,
    text_channel: Option<ChannelId>,
}

/// Handles interactions: one call of [`InteractionHandler::handle`] per `INTERACTION_CREATE`.
pub struct InteractionHandler {
    services: DiscordServices,
    http: Arc<Client>,
    voice: Arc<VoiceStates>,
    live: LiveNowPlaying,
    /// Where each guild's unasked notices go: the channel of its last `/play`.
    notices: Arc<GuildNotices>,
}

impl std::fmt::Debug for InteractionHandler {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("InteractionHandler")
            .finish_non_exhaustive()
    }
}

/// Builds the [`Actor`] for a guild member: Administrator or Manage Server makes a server
/// manager; roles feed the DJ-role policy.
fn actor_of(interaction: &Interaction) -> Option<(UserId, Actor)> {
    let member = interaction.member.as_ref();
    let user = member
        .and_then(|member| member.user.as_ref())
        .or(interaction.user.as_ref())?;
    let user_id = UserId::new(user.id.get()).ok()?;
    let display_name = member
        .and_then(|member| member.nick.clone())
        .or_else(|| user.global_name.clone())
        .unwrap_or_else(|| user.name.clone());
    let permissions = member
        .and_then(|member| member.permissions)
        .unwrap_or_else(Permissions::empty);
    let is_admin = permissions.intersects(Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD);
    let roles = member
        .map(|member| {
            member
                .roles
                .iter()
                .filter_map(|role| RoleId::new(role.get()).ok())
                .collect()
        })
        .unwrap_or_default();
    let requester = Requester {
        id: RequesterId::Discord(user_id),
        display_name,
    };
    Some((user_id, Actor::member(requester, roles, is_admin)))
}

impl InteractionHandler {
    pub fn new(services: DiscordServices, http: Arc<Client>, voice: Arc<VoiceStates>) -> Self {
        Self {
            services,
            http,
            voice,
            live: LiveNowPlaying::new(live::DEFAULT_INTERVAL),
            notices: Arc::default(),
        }
    }

    /// Starts posting the guilds' notices (a stuck track, a lost voice connection) in the
    /// channel of their last `/play`; they stop when the returned guard is dropped.
    pub(crate) fn spawn_notices(&self) -> notices::Running {
        notices::Running(tokio::spawn(notices::run(
            self.services.music.events(),
            Arc::clone(&self.http),
            Arc::clone(&self.notices),
        )))
    }

    /// The stuck-track notice names `track_stuck_after`, the player's silence window.
    #[must_use]
    pub fn with_track_stuck_after(mut self, track_stuck_after: std::time::Duration) -> Self {
        self.notices = Arc::new(GuildNotices::new(track_stuck_after));
        self
    }

    /// Redraws live `/nowplaying` messages this often instead of every 12 s.
    #[must_use]
    pub fn with_now_playing_interval(mut self, interval: std::time::Duration) -> Self {
        self.live = LiveNowPlaying::new(interval);
        self
    }

    pub fn voice_states(&self) -> &Arc<VoiceStates> {
        &self.voice
    }

    #[cfg(test)]
    pub(crate) fn services(&self) -> &DiscordServices {
        &self.services
    }

    /// Waits until the guild's live `/nowplaying` message stops changing.
    #[cfg(test)]
    pub(crate) async fn live_stopped(&self, guild: GuildId) {
        self.live.stopped(guild).await;
    }

    /// Handles one interaction to the end. Spawn it: a slow source must not hold up the
    /// gateway loop.
    pub async fn handle(&self, interaction: Interaction) {
        self.handle_received(interaction, Instant::now()).await;
    }

    /// [`handle`](Self::handle) for an interaction that arrived at `received`: the
    /// acknowledgement latency is measured from then.
    pub async fn handle_received(&self, interaction: Interaction, received: Instant) {
        // Every log line of this interaction carries who and where; never its token.
        let span = tracing::info_span!(
            "interaction",
            guild = interaction.guild_id.map(twilight_model::id::Id::get),
            user = interaction.author_id().map(twilight_model::id::Id::get),
        );
        // Boxed: a command's future is large, and it is spawned once per interaction.
        Box::pin(self.dispatch(interaction, received))
            .instrument(span)
            .await;
    }

    async fn dispatch(&self, interaction: Interaction, received: Instant) {
        match interaction.kind {
            InteractionType::ApplicationCommand => self.command(&interaction, received).await,
            InteractionType::ApplicationCommandAutocomplete => {
                self.autocomplete(&interaction).await;
            }
            InteractionType::MessageComponent => self.component(&interaction, received).await,
            other => debug!(interaction = %interaction.id, kind = ?other, "interaction ignored"),
        }
    }

    /// Everybody left the bot's voice channel: stop, clear the queue and disconnect.
    pub async fn leave_alone(&self, guild: GuildId) {
        match self.services.music.leave(guild, &Actor::console()).await {
            Ok(()) => {
                self.voice.set_bot_channel(guild, None);
                info!(%guild, "left the voice channel: nobody was listening");
            }
            Err(error) => warn!(%guild, %error, "could not leave an empty voice channel"),
        }
    }

    fn context(interaction: &Interaction) -> Option<Context> {
        let guild = GuildId::new(interaction.guild_id?.get()).ok()?;
        let (user, actor) = actor_of(interaction)?;
        let text_channel = interaction
            .channel
            .as_ref()
            .and_then(|channel| ChannelId::new(channel.id.get()).ok());
        Some(Context {
            guild,
            user,
            actor,
            text_channel,
        })
    }

    async fn respond(
        &self,
        interaction: &Interaction,
        kind: InteractionResponseType,
        data: Option<InteractionResponseData>,
    ) -> bool {
        let response = InteractionResponse { kind, data };
        match self
            .http
            .interaction(interaction.application_id)
            .create_response(interaction.id, &interaction.token, &response)
            .await
        {
            Ok(_) => true,
            Err(source) => {
                warn!(interaction = %interaction.id, error = %source, "could not acknowledge an interaction");
                false
            }
        }
    }

    /// The first response to an interaction: records how long after `received` Discord
    /// accepted it.
    async fn acknowledge(
        &self,
        interaction: &Interaction,
        received: Instant,
        kind: InteractionResponseType,
        data: Option<InteractionResponseData>,
    ) -> bool {
        let acknowledged = self.respond(interaction, kind, data).await;
        if acknowledged {
            record_ack(received);
        }
        acknowledged
    }

    /// The first response, as a message only the member sees.
    async fn acknowledge_privately(
        &self,
        interaction: &Interaction,
        received: Instant,
        reply: Reply,
    ) -> bool {
        let data = InteractionResponseData {
            embeds: Some(vec![reply.embed]),
            flags: Some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        };
        self.acknowledge(
            interaction,
            received,
            InteractionResponseType::ChannelMessageWithSource,
            Some(data),
        )
        .await
    }

    async fn edit_original(&self, interaction: &Interaction, reply: &Reply) {
        let embeds = [reply.embed.clone()];
        let attachments: Vec<Attachment> = reply
            .file
            .iter()
            .map(|file| Attachment::from_bytes(file.name.clone(), file.bytes.clone(), 0))
            .collect();
        let client = self.http.interaction(interaction.application_id);
        let mut request = client
            .update_response(&interaction.token)
            .embeds(Some(&embeds))
            .components(Some(&reply.components));
        if !attachments.is_empty() {
            // Sent as multipart/form-data: the JSON part and the file.
            request = request.attachments(&attachments);
        }
        if let Err(source) = request.await {
            warn!(interaction = %interaction.id, error = %source, "could not edit the response");
        }
    }
}
