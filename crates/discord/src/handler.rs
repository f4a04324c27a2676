//! Interactions: acknowledge first, run the use case, then edit the original response.
//!
//! Discord drops an interaction that is not acknowledged within 3 s, and resolving a source can
//! take far longer, so every command is deferred (callback type 5, or 6 for buttons) before
//! anything else happens. Interaction tokens are credentials for 15 minutes: they are never
//! logged, and neither is an `Interaction` value (its `Debug` shows the token).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use minstrel_app::ports::{LoadProgress, ProgressSink};
use minstrel_app::{
    Actor, BridgeError, BridgeService, FilterService, GuildSettingChange, HistoryService,
    MusicError, MusicService, PlayOutcome, PlaylistService, PreviewError, PreviewService,
    SearchService, SettingsService,
};
use minstrel_domain::filters::{Equalizer, LowPass, Oscillation, Rotation, Timescale};
use minstrel_domain::track::format_duration;
use minstrel_domain::{
    AddPosition, ChannelId, FilterSpec, GuildId, PlaybackState, PlaylistOwner, Preset, RepeatMode,
    Requester, RequesterId, RoleId, UserId,
};
use tracing::Instrument as _;
use tracing::{debug, error, info, warn};
use twilight_http::Client;
use twilight_model::application::command::{CommandOptionChoice, CommandOptionChoiceValue};
use twilight_model::application::interaction::application_command::CommandData;
use twilight_model::application::interaction::message_component::MessageComponentInteractionData;
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::channel::message::MessageFlags;
use twilight_model::guild::Permissions;
use twilight_model::http::attachment::Attachment;
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};

use crate::filter_edit;
use crate::live::{self, LiveMessage, LiveNowPlaying};
use crate::metrics::{Outcome, record_ack, record_command};
use crate::notices::{self, GuildNotices};
use crate::reply::{self, Reply, button};
use crate::request::{
    self, GuildSettingsRequest, ManualFilters, PlaylistRequest, Request, SettingsRequest,
    UsageError,
};
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

    async fn command(&self, interaction: &Interaction, received: Instant) {
        let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else {
            return;
        };
        let name = data.name.as_str();
        let outcome = self.run_command(interaction, received, data).await;
        record_command(name, outcome);
    }

    async fn run_command(
        &self,
        interaction: &Interaction,
        received: Instant,
        data: &CommandData,
    ) -> Outcome {
        let name = data.name.as_str();
        let Some(context) = Self::context(interaction) else {
            let reply = Reply::error("music commands work inside a server");
            self.acknowledge_privately(interaction, received, reply)
                .await;
            return Outcome::UserError;
        };
        // Personal answers (codes, settings, history) are shown only to the member.
        let private = matches!(name, "connect_telegram" | "settings" | "history");
        let defer_data = private.then(|| InteractionResponseData {
            flags: Some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        });
        if !self
            .acknowledge(
                interaction,
                received,
                InteractionResponseType::DeferredChannelMessageWithSource,
                defer_data,
            )
            .await
        {
            // Unacknowledged, the command never runs and the member sees Discord's error.
            return Outcome::InternalError;
        }
        info!(interaction = %interaction.id, command = name, guild = %context.guild, "command");
        let parsed = request::parse(data);
        let live = matches!(parsed, Ok(Request::NowPlaying));
        let result = match parsed {
            Ok(request) => self.execute(interaction, &context, request).await,
            Err(usage) => Err(Failure::Usage(usage)),
        };
        let (reply, outcome) = match result {
            Ok(reply) => (reply, Outcome::Ok),
            Err(failure) => (failure.reply(name), failure.outcome()),
        };
        self.edit_original(interaction, &reply).await;
        if live && outcome == Outcome::Ok {
            self.keep_live(interaction, context.guild, reply).await;
        }
        outcome
    }

    /// Plays `query`; while a long playlist loads page by page, the deferred answer shows how
    /// many tracks are in so far (only the latest count: edits never queue up behind a load).
    async fn play_showing_progress(
        &self,
        interaction: &Interaction,
        context: &Context,
        query: &str,
        placement: AddPosition,
    ) -> Result<PlayOutcome, MusicError> {
        let (sender, mut updates) = tokio::sync::watch::channel(None::<LoadProgress>);
        let sink: ProgressSink = Arc::new(move |progress| {
            sender.send_replace(Some(progress));
        });
        let play = self.services.music.play_reporting(
            context.guild,
            &context.actor,
            query,
            placement,
            Some(sink),
        );
        tokio::pin!(play);
        loop {
            tokio::select! {
                biased;
                outcome = &mut play => return outcome,
                changed = updates.changed() => {
                    if changed.is_err() {
                        // The resolver is done with the sink; the tracks are being queued.
                        return play.await;
                    }
                    let latest = *updates.borrow_and_update();
                    if let Some(progress) = latest.filter(|progress| !progress.done) {
                        self.edit_original(interaction, &reply::loading(progress)).await;
                    }
                }
            }
        }
    }

    /// Keeps a `/nowplaying` answer up to date while its track plays.
    async fn keep_live(&self, interaction: &Interaction, guild: GuildId, shown: Reply) {
        let Ok(now) = self.services.music.now_playing(guild).await else {
            return;
        };
        self.live.start(
            guild,
            LiveMessage {
                application: interaction.application_id,
                token: interaction.token.clone(),
                track: now.track.id,
                shown,
            },
            Arc::clone(&self.services.music),
            Arc::clone(&self.http),
        );
    }

    /// Autocomplete of `query`: a link is offered back as it is; otherwise the member's recent
    /// tracks that match what they typed, then the search's suggestions (within a time budget,
    /// so the answer always beats Discord's 3 s).
    async fn autocomplete(&self, interaction: &Interaction) {
        let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else {
            return;
        };
        let typed = request::focused(data)
            .map(|(_, text)| text.trim().to_owned())
            .unwrap_or_default();
        let choices = self.suggestions(interaction, &typed).await;
        let data = InteractionResponseData {
            choices: Some(choices),
            ..InteractionResponseData::default()
        };
        self.respond(
            interaction,
            InteractionResponseType::ApplicationCommandAutocompleteResult,
            Some(data),
        )
        .await;
    }

    async fn suggestions(
        &self,
        interaction: &Interaction,
        typed: &str,
    ) -> Vec<CommandOptionChoice> {
        if looks_like_link(typed) {
            // Nothing to search: the link itself is the only sensible choice (when it fits).
            return choice(typed, typed).into_iter().collect();
        }
        let lowered = typed.to_lowercase();
        let mut choices: Vec<CommandOptionChoice> = Vec::new();
        let add = |choices: &mut Vec<CommandOptionChoice>, name: &str, locator: &str| {
            let Some(choice) = choice(name, locator).or_else(|| choice(name, name)) else {
                return;
            };
            let duplicate = choices.iter().any(|known| known.value == choice.value);
            if !duplicate && choices.len() < MAX_CHOICES {
                choices.push(choice);
            }
        };
        if let Some((user, _)) = actor_of(interaction)
            && let Ok(entries) = self.services.history.page(user, 1).await
        {
            for entry in entries {
                if lowered.is_empty() || entry.title.to_lowercase().contains(&lowered) {
                    add(&mut choices, &entry.title, &entry.locator);
                }
            }
        }
        if !typed.is_empty() {
            for info in self.services.search.suggest(typed).await {
                add(&mut choices, &suggestion_name(&info), &info.locator);
            }
        }
        choices
    }

    /// Buttons under `nowplaying` and `queue`: act, then redraw the message they sit on.
    async fn component(&self, interaction: &Interaction, received: Instant) {
        let Some(InteractionData::MessageComponent(data)) = &interaction.data else {
            return;
        };
        let Some(context) = Self::context(interaction) else {
            return;
        };
        if data.custom_id == button::FILTER_MENU {
            Box::pin(self.choose_preset(interaction, received, &context, data)).await;
            return;
        }
        if !self
            .acknowledge(
                interaction,
                received,
                InteractionResponseType::DeferredUpdateMessage,
                None,
            )
            .await
        {
            return;
        }
        let custom_id = data.custom_id.as_str();
        info!(interaction = %interaction.id, button = custom_id, guild = %context.guild, "button");
        match self.press(&context, custom_id).await {
            Ok(reply) => self.edit_original(interaction, &reply).await,
            Err(failure) => {
                // The message stays as it was; the presser alone learns why nothing happened.
                self.ephemeral_followup(interaction, &failure.reply(custom_id))
                    .await;
            }
        }
    }

    /// A preset chosen in the `/filter` menu: acknowledged at once (type 6, so Discord's 3 s
    /// deadline never depends on how long the filter change takes), applied like
    /// `/filter preset:…`, then the menu's message is redrawn with the new filters.
    async fn choose_preset(
        &self,
        interaction: &Interaction,
        received: Instant,
        context: &Context,
        data: &MessageComponentInteractionData,
    ) {
        let filters = &self.services.filters;
        let chosen = data.values.first().map(String::as_str).unwrap_or_default();
        info!(interaction = %interaction.id, preset = chosen, guild = %context.guild, "filter menu");
        if !self
            .acknowledge(
                interaction,
                received,
                InteractionResponseType::DeferredUpdateMessage,
                None,
            )
            .await
        {
            return;
        }
        let applied = filters
            .apply_preset(context.guild, &context.actor, chosen)
            .await;
        let outcome = match applied {
            Ok(spec) => {
                let note = format!(
                    "{chosen} added by {}",
                    reply::escape(&context.actor.requester.display_name)
                );
                let reply = reply::filter_menu(&spec, &filters.presets(), Some(&note));
                self.edit_original(interaction, &reply).await;
                Outcome::Ok
            }
            Err(failure) => {
                let failure = Failure::from(failure);
                // The menu stays as it was; the chooser alone learns why nothing happened.
                self.ephemeral_followup(interaction, &failure.reply("filter menu"))
                    .await;
                failure.outcome()
            }
        };
        record_command("filter", outcome);
    }

    async fn ephemeral_followup(&self, interaction: &Interaction, reply: &Reply) {
        let embeds = [reply.embed.clone()];
        if let Err(source) = self
            .http
            .interaction(interaction.application_id)
            .create_followup(&interaction.token)
            .embeds(&embeds)
            .flags(MessageFlags::EPHEMERAL)
            .await
        {
            warn!(interaction = %interaction.id, error = %source, "could not send a follow-up");
        }
    }

    async fn press(&self, context: &Context, custom_id: &str) -> Result<Reply, Failure> {
        let music = &self.services.music;
        let (guild, actor) = (context.guild, &context.actor);
        if let Some(page) = custom_id.strip_prefix(button::QUEUE_PAGE) {
            let page = page.parse().unwrap_or(1);
            return Ok(reply::queue(&music.queue_page(guild, page, 10).await?));
        }
        let who = &actor.requester.display_name;
        let note = match custom_id {
            button::PLAY_PAUSE => {
                if music.state(guild).await == PlaybackState::Paused {
                    music.resume(guild, actor).await?;
                    format!("resumed by {who}")
                } else {
                    music.pause(guild, actor).await?;
                    format!("paused by {who}")
                }
            }
            button::SKIP => {
                let outcome = music.skip(guild, actor).await?;
                format!(
                    "{} skipped {}",
                    who,
                    reply::escape(&outcome.skipped.display_title())
                )
            }
            button::STOP => {
                music.stop(guild, actor).await?;
                return Ok(Reply::info("Stopped", format!("Stopped by {who}.")));
            }
            button::LOOP => {
                let next = match music.now_playing(guild).await?.repeat {
                    RepeatMode::Off => RepeatMode::Track,
                    RepeatMode::Track => RepeatMode::Queue,
                    RepeatMode::Queue => RepeatMode::Off,
                };
                music.set_repeat(guild, actor, next).await?;
                format!("repeat {next}, set by {who}")
            }
            button::SHUFFLE => {
                let count = shuffle(music, guild, actor).await?;
                format!("{count} track(s) shuffled by {who}")
            }
            _ => return Err(Failure::usage("that button is no longer in use")),
        };
        match music.now_playing(guild).await {
            Ok(now) => Ok(reply::now_playing(&now, Some(&note))),
            Err(MusicError::NothingPlaying) => Ok(Reply::info(
                "Now playing",
                format!("{}\n\nNothing is playing.", reply::sentence_case(&note)),
            )),
            Err(error) => Err(error.into()),
        }
    }

    #[allow(clippy::too_many_lines)] // one arm per command reads as a table
    async fn execute(
        &self,
        interaction: &Interaction,
        context: &Context,
        request: Request,
    ) -> Result<Reply, Failure> {
        let services = &self.services;
        let music = &services.music;
        let (guild, actor) = (context.guild, &context.actor);
        let reply = match request {
            Request::Join { channel } => {
                let channel = channel
                    .or_else(|| self.voice.channel_of(guild, context.user))
                    .ok_or_else(|| {
                        Failure::usage("join a voice channel first, or pick one with the option")
                    })?;
                self.join_checked(context, channel).await?;
                Reply::info("Joined", format!("Connected to <#{channel}>."))
            }
            Request::Help => Reply::info(
                "Commands",
                minstrel_app::vocabulary::help_lines("/", crate::parity::surface).join("\n"),
            ),
            Request::Leave => {
                music.leave(guild, actor).await?;
                self.voice.set_bot_channel(guild, None);
                Reply::info("Left", "Disconnected and cleared the queue.")
            }
            Request::Play { query, placement } => {
                if let Some(channel) = context.text_channel {
                    self.notices.remember(guild, channel);
                }
                self.join_member_channel(context).await?;
                let outcome = self
                    .play_showing_progress(interaction, context, &query, placement)
                    .await?;
                play_reply(&outcome)
            }
            Request::Pause => {
                music.pause(guild, actor).await?;
                Reply::info("Paused", "Playback is paused; /resume carries on.")
            }
            Request::Resume => {
                music.resume(guild, actor).await?;
                Reply::info("Resumed", "Playing again.")
            }
            Request::Skip => {
                let outcome = music.skip(guild, actor).await?;
                let mut text = format!("Skipped {}.", reply::describe(&outcome.skipped));
                if let Some(next) = &outcome.next {
                    let _ = write!(text, "\nNow playing {}.", reply::describe(next));
                }
                Reply::info("Skipped", text)
            }
            Request::SkipTo(index) => {
                let track = music.skip_to(guild, actor, index).await?;
                Reply::info(
                    "Jumped",
                    format!("Now playing {}.", reply::describe(&track)),
                )
            }
            Request::Previous => {
                let track = music.previous(guild, actor).await?;
                Reply::info(
                    "Back",
                    format!("Playing {} again.", reply::describe(&track)),
                )
            }
            Request::Stop => {
                let removed = music.stop(guild, actor).await?;
                Reply::info(
                    "Stopped",
                    format!("Stopped and cleared {removed} queued track(s)."),
                )
            }
            Request::Seek(position) => {
                music.seek(guild, actor, position).await?;
                Reply::info("Seek", format!("Jumped to {}.", format_duration(position)))
            }
            Request::Queue { page } => reply::queue(&music.queue_page(guild, page, 10).await?),
            Request::NowPlaying => reply::now_playing(&music.now_playing(guild).await?, None),
            Request::Volume(percent) => {
                let volume = music.set_volume(guild, actor, percent).await?;
                Reply::info("Volume", format!("Volume set to {volume}."))
            }
            Request::Repeat(mode) => {
                music.set_repeat(guild, actor, mode).await?;
                Reply::info("Repeat", format!("Repeat: {mode}."))
            }
            Request::Shuffle => {
                let count = shuffle(music, guild, actor).await?;
                Reply::info("Shuffled", format!("Shuffled {count} track(s)."))
            }
            Request::Remove(index) => {
                let track = music.remove(guild, actor, index).await?;
                Reply::info("Removed", format!("Removed {}.", reply::describe(&track)))
            }
            Request::Move { from, to } => {
                let track = music.move_track(guild, actor, from, to).await?;
                Reply::info(
                    "Moved",
                    format!("Moved {} to position {}.", reply::describe(&track), to + 1),
                )
            }
            Request::Clear => {
                let removed = music.clear(guild, actor).await?;
                Reply::info("Cleared", format!("Cleared {removed} track(s)."))
            }
            Request::Filter { preset, manual } => {
                let mut spec = None;
                if let Some(name) = preset {
                    spec = Some(services.filters.apply_preset(guild, actor, &name).await?);
                }
                if !manual.is_empty() {
                    let manual = manual_spec(&manual)?;
                    spec = Some(services.filters.apply_spec(guild, actor, manual).await?);
                }
                let spec = match spec {
                    Some(spec) => spec,
                    None => services.filters.active(guild).await?,
                };
                Reply::info(
                    "Filters",
                    format!("Active filters: {}.", reply::format_filters(&spec)),
                )
            }
            Request::FilterMenu => {
                let spec = services.filters.active(guild).await?;
                reply::filter_menu(&spec, &services.filters.presets(), None)
            }
            Request::FiltersReset => {
                services.filters.reset(guild, actor).await?;
                Reply::info("Filters", "Every filter is off.")
            }
            Request::FiltersShow => filter_edit::show(&services.filters, guild).await?,
            Request::FiltersSet { filter, params } => {
                filter_edit::set(&services.filters, guild, actor, &filter, &params).await?
            }
            Request::FiltersRemove { filter } => {
                filter_edit::remove(&services.filters, guild, actor, &filter).await?
            }
            Request::FiltersList => {
                let mut text = String::new();
                for (name, description) in services.filters.presets() {
                    let _ = writeln!(text, "`{name}` — {description}");
                }
                Reply::info("Presets", text)
            }
            Request::Preview { preset } => {
                let previews = services.preview.as_ref().ok_or_else(|| {
                    Failure::usage(
                        "previews are not available on this bot; try the filter live with /filter",
                    )
                })?;
                let preview = previews.preview(guild, actor, preset.as_deref()).await?;
                reply::preview(&preview)
            }
            Request::Playlist(request) => self.playlist(context, request).await?,
            Request::Settings(request) => self.settings(context, request).await?,
            Request::History { page } => {
                let entries = services.history.page(context.user, page).await?;
                if entries.is_empty() {
                    Reply::info("History", "Nothing yet: the songs you play show up here.")
                } else {
                    let mut text = String::new();
                    for entry in entries {
                        let _ = writeln!(text, "• {}", reply::escape(&entry.title));
                    }
                    Reply::info("History", text)
                }
            }
            Request::GuildSettings(request) => self.guild_settings(context, request).await?,
            Request::VoteSkip => {
                let listeners = self.voice.listeners(guild);
                let outcome = music.vote_skip(guild, actor, listeners).await?;
                match outcome.skipped {
                    Some(skip) => Reply::info(
                        "Vote skip",
                        format!(
                            "The vote passed: skipped {}.",
                            reply::describe(&skip.skipped)
                        ),
                    ),
                    None => Reply::info(
                        "Vote skip",
                        format!("{} of {} votes to skip.", outcome.votes, outcome.needed),
                    ),
                }
            }
            Request::ConnectTelegram { code } => {
                let bridge = self.bridge()?;
                if let Some(code) = code {
                    let outcome = bridge.link_with_code(guild, actor, &code).await?;
                    Reply::info(
                        "Telegram",
                        format!(
                            "This server is now linked with the Telegram chat {}.",
                            outcome.link.chat
                        ),
                    )
                } else {
                    let code = bridge.issue_guild_code(guild, actor).await?;
                    let code = BridgeService::format_code(&code.code);
                    Reply::info(
                        "Telegram",
                        format!(
                            "Your code is `{code}`. A Telegram chat administrator sends \
                             `/link {code}` in the chat within 10 minutes."
                        ),
                    )
                }
            }
            Request::All { message } => {
                let caller = &actor.requester.display_name;
                let bridge = self.bridge()?;
                crate::all::reply(bridge.call_chat(guild, caller, message.as_deref()).await?)
            }
        };
        Ok(reply)
    }

    fn bridge(&self) -> Result<&BridgeService, Failure> {
        self.services
            .bridge
            .as_deref()
            .ok_or_else(|| Failure::usage("the Telegram bridge is not set up on this bot"))
    }

    /// `/play` while the bot is not in voice joins the member's channel first.
    async fn join_member_channel(&self, context: &Context) -> Result<(), Failure> {
        // The player's own state decides, not the bot's voice state from the gateway: Discord
        // reports the bot in a channel as soon as it asks to join, even when the voice
        // connection then never comes up.
        if self
            .services
            .music
            .voice_channel(context.guild)
            .await
            .is_some()
        {
            return Ok(());
        }
        let Some(channel) = self.voice.channel_of(context.guild, context.user) else {
            // Nothing would be heard: say so before anything is queued.
            return Err(Failure::usage(
                "join a voice channel first, then use this command again",
            ));
        };
        self.join_checked(context, channel).await
    }

    /// Joins `channel` after checking the bot may connect and speak there and that it has
    /// room; a failed join leaves nothing behind (the player has left again).
    async fn join_checked(&self, context: &Context, channel: ChannelId) -> Result<(), Failure> {
        if let Some(refusal) = self.voice.join_refusal(context.guild, channel) {
            return Err(Failure::usage(&refusal));
        }
        let joined = self
            .services
            .music
            .join(context.guild, &context.actor, channel, context.text_channel)
            .await;
        match joined {
            Ok(()) => {
                self.voice.set_bot_channel(context.guild, Some(channel));
                Ok(())
            }
            Err(error) => {
                self.voice.set_bot_channel(context.guild, None);
                Err(error.into())
            }
        }
    }

    async fn playlist(
        &self,
        context: &Context,
        request: PlaylistRequest,
    ) -> Result<Reply, Failure> {
        let playlists = &self.services.playlists;
        // Playlists belong to the member who made them; `use` makes one the server's active one.
        let owner = PlaylistOwner::User(context.user);
        let reply = match request {
            PlaylistRequest::Create(name) => {
                let playlist = playlists.create(owner, &name).await?;
                Reply::info(
                    "Playlist",
                    format!("Created \"{}\".", reply::escape(playlist.name.as_str())),
                )
            }
            PlaylistRequest::AddCurrent(name) => {
                let entry = playlists.add_current(owner, &name, context.guild).await?;
                Reply::info(
                    "Playlist",
                    format!(
                        "Added **{}** to \"{}\".",
                        reply::escape(&entry.title),
                        reply::escape(&name)
                    ),
                )
            }
            PlaylistRequest::AddQuery { name, query } => {
                let entries = playlists.add_query(owner, &name, &query).await?;
                Reply::info(
                    "Playlist",
                    format!(
                        "Added {} track(s) to \"{}\".",
                        entries.len(),
                        reply::escape(&name)
                    ),
                )
            }
            PlaylistRequest::Remove { name, position } => {
                let entry = playlists.remove(owner, &name, position).await?;
                Reply::info(
                    "Playlist",
                    format!(
                        "Removed **{}** from \"{}\".",
                        reply::escape(&entry.title),
                        reply::escape(&name)
                    ),
                )
            }
            PlaylistRequest::Use(name) => {
                let playlist = playlists.use_playlist(context.guild, owner, &name).await?;
                Reply::info(
                    "Playlist",
                    format!(
                        "\"{}\" is now the active playlist: /play without a song plays it.",
                        reply::escape(playlist.name.as_str())
                    ),
                )
            }
            PlaylistRequest::Show(name) => {
                let playlist = playlists.show(owner, &name).await?;
                let mut text = format!("{} track(s)\n", playlist.entries.len());
                for (index, entry) in playlist.entries.iter().enumerate().take(50) {
                    let _ = write!(
                        text,
                        "\n`{:>3}.` {}",
                        index + 1,
                        reply::escape(&entry.title)
                    );
                }
                Reply::info(&format!("Playlist {}", playlist.name.as_str()), text)
            }
            PlaylistRequest::List { page } => {
                let lists = playlists.list(owner, page).await?;
                if lists.is_empty() {
                    Reply::info(
                        "Playlists",
                        "No playlists yet: make one with /playlist create.",
                    )
                } else {
                    let text = lists
                        .iter()
                        .map(|playlist| {
                            format!(
                                "• {} ({} tracks)",
                                reply::escape(playlist.name.as_str()),
                                playlist.entries.len()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    Reply::info("Playlists", text)
                }
            }
            PlaylistRequest::Delete(name) => {
                let playlist = playlists.delete(owner, &name).await?;
                Reply::info(
                    "Playlist",
                    format!("Deleted \"{}\".", reply::escape(playlist.name.as_str())),
                )
            }
        };
        Ok(reply)
    }

    async fn settings(
        &self,
        context: &Context,
        request: SettingsRequest,
    ) -> Result<Reply, Failure> {
        let settings = &self.services.settings;
        let user = context.user;
        let current = match request {
            SettingsRequest::Show => settings.user(user).await?,
            SettingsRequest::Volume(percent) => settings.set_user_volume(user, percent).await?,
            SettingsRequest::Filters(names) => settings.set_user_filters(user, &names).await?,
            SettingsRequest::Autoplay(on) => settings.set_user_autoplay(user, on).await?,
        };
        let filters = if current.preferred_filters.is_empty() {
            "none".to_owned()
        } else {
            current
                .preferred_filters
                .iter()
                .map(|preset| preset.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        Ok(Reply::info(
            "Your settings",
            format!(
                "Volume {} · filters {} · autoplay {}",
                current.default_volume,
                filters,
                if current.autoplay { "on" } else { "off" }
            ),
        ))
    }

    async fn guild_settings(
        &self,
        context: &Context,
        request: GuildSettingsRequest,
    ) -> Result<Reply, Failure> {
        let service = &self.services.settings;
        let change = match request {
            GuildSettingsRequest::Show => None,
            GuildSettingsRequest::DjRole(role) => Some(GuildSettingChange::DjRole(role)),
            GuildSettingsRequest::MaxQueue(value) => Some(GuildSettingChange::MaxQueue(value)),
            GuildSettingsRequest::Stay247(on) => Some(GuildSettingChange::Stay247(on)),
            GuildSettingsRequest::DefaultVoiceChannel(channel) => {
                Some(GuildSettingChange::DefaultVoiceChannel(channel))
            }
            GuildSettingsRequest::IdleTimeout(timeout) => {
                Some(GuildSettingChange::IdleTimeout(timeout))
            }
            GuildSettingsRequest::VoteSkipRatio(ratio) => {
                Some(GuildSettingChange::VoteSkipRatio(ratio))
            }
            GuildSettingsRequest::Normalisation(on) => Some(GuildSettingChange::Normalisation(on)),
            GuildSettingsRequest::DefaultVolume(percent) => {
                Some(GuildSettingChange::DefaultVolume(percent))
            }
            GuildSettingsRequest::AllowedFilters(names) => {
                Some(GuildSettingChange::AllowedFilters(names))
            }
        };
        let settings = match change {
            Some(change) => {
                service
                    .update_guild(context.guild, &context.actor, change)
                    .await?
            }
            None => service.guild(context.guild).await?,
        };
        let allowed = settings.allowed_filters.as_ref().map_or_else(
            || "all".to_owned(),
            |presets| {
                presets
                    .iter()
                    .map(|preset| preset.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        let text = format!(
            "DJ role: {}\nMax queue: {}\n24/7: {}\nVoice channel for Telegram plays: {}\n\
             Idle timeout: {}\nVote-skip ratio: {:.2}\nNormalisation: {}\nDefault volume: {}\n\
             Allowed filters: {}",
            settings
                .dj_role
                .map_or_else(|| "none".to_owned(), |role| format!("<@&{role}>")),
            settings.max_queue(),
            if settings.stay_24_7 { "on" } else { "off" },
            settings.default_voice_channel.map_or_else(
                || "the last one I was in".to_owned(),
                |channel| format!("<#{channel}>")
            ),
            format_duration(settings.idle_timeout()),
            settings.vote_skip_ratio(),
            if settings.normalisation { "on" } else { "off" },
            settings.default_volume,
            allowed,
        );
        Ok(Reply::info("Server settings", text))
    }
}

/// Discord shows at most 25 autocomplete choices.
const MAX_CHOICES: usize = minstrel_app::search::MAX_SUGGESTIONS;
/// Discord's limit for a choice's name and (string) value.
const CHOICE_LIMIT: usize = 100;

fn looks_like_link(text: &str) -> bool {
    let lowered = text.to_ascii_lowercase();
    lowered.contains("://") || lowered.starts_with("www.")
}

/// An autocomplete choice, or `None` when `value` is empty or too long for Discord (the
/// name is shortened instead).
fn choice(name: &str, value: &str) -> Option<CommandOptionChoice> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > CHOICE_LIMIT {
        return None;
    }
    let name = name.trim();
    let name: String = if name.chars().count() > CHOICE_LIMIT {
        let mut cut: String = name.chars().take(CHOICE_LIMIT - 1).collect();
        cut.push('…');
        cut
    } else if name.is_empty() {
        value.to_owned()
    } else {
        name.to_owned()
    };
    Some(CommandOptionChoice {
        name,
        name_localizations: None,
        value: CommandOptionChoiceValue::String(value.to_owned()),
    })
}

/// "Title — Artist (3:45)".
fn suggestion_name(info: &minstrel_app::ports::TrackInfo) -> String {
    let mut name = info.title.clone();
    if let Some(artist) = info.artist.as_deref().filter(|artist| !artist.is_empty())
        && !name.to_lowercase().contains(&artist.to_lowercase())
    {
        let _ = write!(name, " — {artist}");
    }
    if let Some(duration) = info.duration {
        let _ = write!(name, " ({})", format_duration(duration));
    }
    name
}

/// `MusicService::shuffle` keeps a thread-local RNG alive across an `.await`, so its future is
/// not `Send` and cannot run inside a spawned interaction task. Until the app scopes the RNG,
/// it runs to completion on a blocking thread.
async fn shuffle(
    music: &Arc<MusicService>,
    guild: GuildId,
    actor: &Actor,
) -> Result<usize, MusicError> {
    let music = Arc::clone(music);
    let actor = actor.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(music.shuffle(guild, &actor)))
        .await
        .unwrap_or_else(|join_error| {
            Err(MusicError::Player(
                minstrel_app::ports::PlayerError::Internal(join_error.to_string()),
            ))
        })
}

fn play_reply(outcome: &minstrel_app::PlayOutcome) -> Reply {
    let mut text = String::new();
    if let Some(started) = &outcome.started {
        let _ = write!(text, "Now playing {}.", reply::describe(started));
    }
    let later: Vec<_> = outcome
        .queued
        .iter()
        .filter(|track| {
            outcome
                .started
                .as_ref()
                .is_none_or(|started| started.id != track.id)
        })
        .collect();
    if let Some(first) = later.first() {
        if !text.is_empty() {
            text.push('\n');
        }
        if later.len() == 1 {
            let position = outcome.position.map_or(1, |position| position + 1);
            let _ = write!(
                text,
                "Queued {} at position {position}.",
                reply::describe(first)
            );
        } else {
            let _ = write!(text, "Queued {} tracks.", later.len());
        }
    }
    if outcome.rejected > 0 {
        let _ = write!(
            text,
            "\n{} track(s) did not fit in the queue.",
            outcome.rejected
        );
    }
    let title = if outcome.started.is_some() {
        "Now playing"
    } else {
        "Queued"
    };
    Reply::info(title, text)
}

#[allow(clippy::cast_possible_truncation)] // option ranges are far inside f32
fn manual_spec(manual: &ManualFilters) -> Result<FilterSpec, Failure> {
    let float = |value: f64| value as f32;
    let mut spec = FilterSpec::default();
    if manual.speed.is_some() || manual.pitch.is_some() || manual.rate.is_some() {
        spec.timescale = Some(Timescale::new(
            float(manual.speed.unwrap_or(1.0)),
            float(manual.pitch.unwrap_or(1.0)),
            float(manual.rate.unwrap_or(1.0)),
        )?);
    }
    if let Some(hz) = manual.rotation {
        spec.rotation = Some(Rotation::new(float(hz))?);
    }
    if manual.tremolo_frequency.is_some() || manual.tremolo_depth.is_some() {
        spec.tremolo = Some(Oscillation::tremolo(
            float(manual.tremolo_frequency.unwrap_or(2.0)),
            float(manual.tremolo_depth.unwrap_or(0.5)),
        )?);
    }
    if manual.vibrato_frequency.is_some() || manual.vibrato_depth.is_some() {
        spec.vibrato = Some(Oscillation::vibrato(
            float(manual.vibrato_frequency.unwrap_or(2.0)),
            float(manual.vibrato_depth.unwrap_or(0.5)),
        )?);
    }
    if let Some(smoothing) = manual.low_pass {
        spec.low_pass = Some(LowPass::new(float(smoothing))?);
    }
    if let Some(volume) = manual.volume {
        spec = spec.with_volume(float(volume))?;
    }
    if let Some(bands) = &manual.equalizer {
        spec.equalizer = Some(Equalizer::from_bands(&parse_bands(bands)?)?);
    }
    if manual.karaoke {
        spec.karaoke = Preset::Karaoke.spec().karaoke;
    }
    Ok(spec)
}

fn parse_bands(text: &str) -> Result<Vec<(usize, f32)>, Failure> {
    let malformed = || Failure::usage("write the equalizer as band:gain pairs, e.g. 0:0.2,1:0.15");
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (band, gain) = part.split_once(':').ok_or_else(malformed)?;
            Ok((
                band.trim().parse().map_err(|_| malformed())?,
                gain.trim().parse().map_err(|_| malformed())?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use minstrel_app::ports::{
        InProcessEventBus, MockHistoryRepo, MockPlayer, MockPlaylistRepo, MockQueueStore,
        MockSettingsRepo, MockTrackResolver, StoreError, SystemClock,
    };
    use minstrel_app::{MusicPorts, RateLimit};
    use minstrel_testkit::discord::{FakeMember, FakeRest, slash_command};

    use super::*;
    use crate::metrics::{COMMANDS_TOTAL, INTERACTION_ACK_SECONDS};

    const WORKING_GUILD: u64 = 300_000_000_000_000_001;
    const BROKEN_GUILD: u64 = 300_000_000_000_000_002;

    /// Services on mocks: guild settings load in one guild and fail in the other.
    fn services() -> DiscordServices {
        let mut settings = MockSettingsRepo::new();
        settings.expect_guild().returning(|guild| {
            if guild.get() == BROKEN_GUILD {
                Err(StoreError::Internal("the disk is on fire".to_owned()))
            } else {
                Ok(None)
            }
        });
        let settings: Arc<dyn minstrel_app::ports::SettingsRepo> = Arc::new(settings);
        let playlists: Arc<dyn minstrel_app::ports::PlaylistRepo> =
            Arc::new(MockPlaylistRepo::new());
        let resolver: Arc<dyn minstrel_app::ports::TrackResolver> =
            Arc::new(MockTrackResolver::new());
        let history: Arc<dyn minstrel_app::ports::HistoryRepo> = Arc::new(MockHistoryRepo::new());
        let music = Arc::new(MusicService::new(
            MusicPorts {
                resolver: Arc::clone(&resolver),
                player: Arc::new(MockPlayer::new()),
                settings: Arc::clone(&settings),
                playlists: Arc::clone(&playlists),
                history: Arc::clone(&history),
                queue_store: Arc::new(MockQueueStore::new()),
                events: Arc::new(InProcessEventBus::default()),
                clock: Arc::new(SystemClock),
            },
            RateLimit::new(10_000, Duration::from_millis(1)),
        ));
        DiscordServices {
            filters: FilterService::new(Arc::clone(&music)),
            playlists: Arc::new(PlaylistService::new(
                playlists,
                Arc::clone(&resolver),
                Arc::clone(&music),
            )),
            settings: Arc::new(SettingsService::new(settings, Arc::clone(&music))),
            history: Arc::new(HistoryService::new(history)),
            bridge: None,
            search: Arc::new(SearchService::new(resolver)),
            preview: None,
            music,
        }
    }

    /// The command counts by labels and the number of acknowledgement latencies recorded,
    /// since the last snapshot (which drains the recorder).
    fn recorded_since(snapshotter: &Snapshotter) -> (BTreeMap<Vec<String>, u64>, usize) {
        let mut commands = BTreeMap::new();
        let mut acks = 0;
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            match value {
                DebugValue::Counter(count) if key.name() == COMMANDS_TOTAL => {
                    let labels = key
                        .labels()
                        .map(|label| format!("{}={}", label.key(), label.value()))
                        .collect();
                    commands.insert(labels, count);
                }
                DebugValue::Histogram(samples) if key.name() == INTERACTION_ACK_SECONDS => {
                    acks += samples.len();
                }
                _ => {}
            }
        }
        (commands, acks)
    }

    fn labels(command: &str, outcome: &str) -> Vec<String> {
        vec![
            "frontend=discord".to_owned(),
            format!("command={command}"),
            format!("outcome={outcome}"),
        ]
    }

    #[tokio::test]
    async fn commands_count_by_name_and_outcome_and_acks_are_timed() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        // A current-thread test: the thread's recorder sees every await of the handler.
        let _guard = metrics::set_default_local_recorder(&recorder);
        let rest = FakeRest::start().await;
        let http = Client::builder()
            .token("Bot test-token".to_owned())
            .proxy(rest.proxy_address(), true)
            .ratelimiter(None)
            .build();
        let handler =
            InteractionHandler::new(services(), Arc::new(http), Arc::new(VoiceStates::default()));
        let member = FakeMember::new(400_000_000_000_000_001, "ada");
        let interaction = |id: u64, guild: u64, name: &str| -> Interaction {
            let value = slash_command(
                id,
                &format!("token-{id}"),
                guild,
                &member,
                name,
                &serde_json::json!([]),
            );
            serde_json::from_value(value).unwrap()
        };

        // Boxed: the handler's future is large.
        Box::pin(handler.handle(interaction(1, WORKING_GUILD, "queue"))).await;
        // `playnext` needs a query.
        Box::pin(handler.handle(interaction(2, WORKING_GUILD, "playnext"))).await;
        Box::pin(handler.handle(interaction(3, BROKEN_GUILD, "queue"))).await;

        let (commands, acks) = recorded_since(&snapshotter);
        assert_eq!(
            commands,
            BTreeMap::from([
                (labels("playnext", "user_error"), 1),
                (labels("queue", "internal_error"), 1),
                (labels("queue", "ok"), 1),
            ])
        );
        assert_eq!(acks, 3);
        assert_eq!(
            rest.requests().iter().filter(|r| r.is_callback()).count(),
            3
        );
    }

    #[test]
    fn each_acknowledgement_records_its_latency() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let received = Instant::now()
            .checked_sub(Duration::from_millis(30))
            .unwrap();
        metrics::with_local_recorder(&recorder, || crate::metrics::record_ack(received));
        let latencies: Vec<f64> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .find_map(|(key, _, _, value)| match value {
                DebugValue::Histogram(samples) if key.key().name() == INTERACTION_ACK_SECONDS => {
                    Some(samples.into_iter().map(|sample| sample.0).collect())
                }
                _ => None,
            })
            .unwrap_or_default();
        assert_eq!(latencies.len(), 1, "{latencies:?}");
        assert!((0.03..1.0).contains(&latencies[0]), "{latencies:?}");
    }

    #[test]
    fn manual_filters_use_the_domain_ranges() {
        let spec = manual_spec(&ManualFilters {
            speed: Some(1.25),
            equalizer: Some("0:0.2, 1:0.1".into()),
            ..ManualFilters::default()
        })
        .unwrap();
        assert!(spec.timescale.is_some() && spec.equalizer.is_some());
        let error = manual_spec(&ManualFilters {
            equalizer: Some("0=1".into()),
            ..ManualFilters::default()
        })
        .unwrap_err();
        assert!(error.to_string().contains("band:gain"), "{error}");
        assert!(
            manual_spec(&ManualFilters {
                equalizer: Some("99:0.1".into()),
                ..ManualFilters::default()
            })
            .is_err()
        );
    }
}
