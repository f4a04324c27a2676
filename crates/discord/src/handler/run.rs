//! Running a slash command: acknowledging it, then one arm per command (`execute`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use minstrel_app::ports::{LoadProgress, ProgressSink};
use minstrel_app::{
    Actor, BridgeService, CommandReply, GuildCommand, LocalCommandBus, MusicError, MusicService,
    PlayOutcome,
};
use minstrel_domain::{AddPosition, ChannelId, GuildId};
use tracing::info;
use twilight_model::application::interaction::application_command::CommandData;
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::channel::message::MessageFlags;
use twilight_model::http::interaction::{InteractionResponseData, InteractionResponseType};

use crate::filter_edit;
use crate::live::LiveMessage;
use crate::metrics::{Outcome, record_command};
use crate::reply::{self, Reply};
use crate::request::{self, Request};

use super::manual::manual_spec;
use super::{Context, Failure, InteractionHandler};

impl InteractionHandler {
    pub(super) async fn command(&self, interaction: &Interaction, received: Instant) {
        let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else {
            return;
        };
        let name = data.name.as_str();
        let outcome = self.run_command(interaction, received, data).await;
        record_command(name, outcome);
    }

    pub(super) async fn run_command(
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
        let live = matches!(parsed, Ok(Request::Player(GuildCommand::NowPlaying)));
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
    pub(super) async fn play_showing_progress(
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
    pub(super) async fn keep_live(&self, interaction: &Interaction, guild: GuildId, shown: Reply) {
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

    #[allow(clippy::too_many_lines)] // one arm per command reads as a table
    pub(super) async fn execute(
        &self,
        interaction: &Interaction,
        context: &Context,
        request: Request,
    ) -> Result<Reply, Failure> {
        let services = &self.services;
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
            Request::Player(command) => self.player(context, command).await?,
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
                self.player(context, GuildCommand::VoteSkip { listeners })
                    .await?
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

    /// A player command of the vocabulary: run through the command bus as on every
    /// front-end, its reply rendered for Discord.
    pub(super) async fn player(
        &self,
        context: &Context,
        command: GuildCommand,
    ) -> Result<Reply, Failure> {
        let bus = LocalCommandBus::new(Arc::clone(&self.services.music));
        let reply = bus
            .execute(context.guild, &context.actor, command.clone())
            .await?;
        if reply == CommandReply::Left {
            self.voice.set_bot_channel(context.guild, None);
        }
        Ok(super::render::render(&command, reply))
    }

    pub(super) fn bridge(&self) -> Result<&BridgeService, Failure> {
        self.services
            .bridge
            .as_deref()
            .ok_or_else(|| Failure::usage("the Telegram bridge is not set up on this bot"))
    }

    /// `/play` while the bot is not in voice joins the member's channel first.
    pub(super) async fn join_member_channel(&self, context: &Context) -> Result<(), Failure> {
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
    pub(super) async fn join_checked(
        &self,
        context: &Context,
        channel: ChannelId,
    ) -> Result<(), Failure> {
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
}

/// `MusicService::shuffle` keeps a thread-local RNG alive across an `.await`, so its future is
/// not `Send` and cannot run inside a spawned interaction task. Until the app scopes the RNG,
/// it runs to completion on a blocking thread.
pub(super) async fn shuffle(
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

pub(super) fn play_reply(outcome: &minstrel_app::PlayOutcome) -> Reply {
    let mut text = String::new();
    if let Some(started) = &outcome.started {
        let _ = write!(text, "Now playing {}.", reply::describe(started));
    }
    let later = outcome.queued_later();
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
