//! Running a slash command: acknowledging it, then one arm per command (`execute`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use minstrel_app::ports::{LoadProgress, PlayerError, ProgressSink};
use minstrel_app::vocabulary::Removal;
use minstrel_app::{BridgeService, CommandReply, GuildCommand, LocalCommandBus, MusicError};
use minstrel_domain::{ChannelId, FilterSpec, GuildId, RequesterId};
use tracing::info;
use twilight_model::application::interaction::application_command::CommandData;
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::channel::message::MessageFlags;
use twilight_model::http::interaction::{InteractionResponseData, InteractionResponseType};

use crate::live::LiveMessage;
use crate::metrics::{Outcome, record_command};
use crate::reply::{self, Reply};
use crate::request::{self, Request};

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

    /// Runs a play of the vocabulary; while a long playlist loads page by page, the deferred
    /// answer shows how many tracks are in so far (only the latest count: edits never queue
    /// up behind a load).
    pub(super) async fn play_showing_progress(
        &self,
        interaction: &Interaction,
        context: &Context,
        command: GuildCommand,
    ) -> Result<Reply, Failure> {
        let (sender, mut updates) = tokio::sync::watch::channel(None::<LoadProgress>);
        let sink: ProgressSink = Arc::new(move |progress| {
            sender.send_replace(Some(progress));
        });
        let play = self.run_player(context, command.clone(), Some(sink));
        tokio::pin!(play);
        let reply = loop {
            tokio::select! {
                biased;
                reply = &mut play => break reply?,
                changed = updates.changed() => {
                    if changed.is_err() {
                        // The resolver is done with the sink; the tracks are being queued.
                        break play.await?;
                    }
                    let latest = *updates.borrow_and_update();
                    if let Some(progress) = latest.filter(|progress| !progress.done) {
                        self.edit_original(interaction, &reply::loading(progress)).await;
                    }
                }
            }
        };
        Ok(super::render::render(&command, reply))
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
                let command = GuildCommand::Join {
                    channel,
                    text_channel: context.text_channel,
                };
                self.player(context, command).await?;
                Reply::info("Joined", format!("Connected to <#{channel}>."))
            }
            Request::Help => Reply::info(
                "Commands",
                minstrel_app::vocabulary::help_lines("/", crate::parity::surface).join("\n"),
            ),
            Request::Player(command) if command.query().is_some() => {
                self.play_showing_progress(interaction, context, command)
                    .await?
            }
            Request::Player(command) => self.player(context, command).await?,
            Request::Filter(commands) => {
                // A preset, then the hand-set filters: the last reply shows them all.
                let mut last = None;
                for command in commands {
                    last = Some(self.player(context, command).await?);
                }
                last.ok_or_else(|| Failure::usage("pick a preset or set a filter"))?
            }
            Request::FilterMenu => {
                let spec = self.filters_now(context).await?;
                reply::filter_menu(&spec, &services.filters.presets(), None)
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
            Request::RemoveAbsent => {
                let listeners = self
                    .voice
                    .humans_in_bot_channel(guild)
                    .ok_or_else(|| Failure::usage("I am in no voice channel here"))?
                    .into_iter()
                    .map(RequesterId::Discord)
                    .collect();
                let removal = Removal::Absent { listeners };
                self.player(context, GuildCommand::RemoveMany { removal })
                    .await?
            }
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

    /// A player command of the vocabulary, run as on every front-end and its reply rendered
    /// for Discord.
    pub(super) async fn player(
        &self,
        context: &Context,
        command: GuildCommand,
    ) -> Result<Reply, Failure> {
        let reply = self.run_player(context, command.clone(), None).await?;
        Ok(super::render::render(&command, reply))
    }

    /// The active filters, asked of the player like every other read.
    pub(super) async fn filters_now(&self, context: &Context) -> Result<FilterSpec, Failure> {
        match self
            .run_player(context, GuildCommand::ShowFilters, None)
            .await?
        {
            CommandReply::Filters(spec) => Ok(spec),
            other => Err(mismatched("filters", &other)),
        }
    }

    /// Runs a command of the vocabulary through the command bus, with what only Discord
    /// knows around it: a play first joins the member's voice channel and remembers where
    /// to post notices, a join is checked against the channel's permissions and room, and
    /// the bot's own voice state follows joins and leaves.
    pub(super) async fn run_player(
        &self,
        context: &Context,
        command: GuildCommand,
        progress: Option<ProgressSink>,
    ) -> Result<CommandReply, Failure> {
        if let GuildCommand::Join { channel, .. } = &command {
            self.join_checked(context, *channel).await?;
            return Ok(CommandReply::Joined);
        }
        if command.query().is_some() {
            if let Some(channel) = context.text_channel {
                self.notices.remember(context.guild, channel);
            }
            self.join_member_channel(context).await?;
        }
        let reply = self
            .bus()
            .execute_reporting(context.guild, &context.actor, command, progress)
            .await?;
        if reply == CommandReply::Left {
            self.voice.set_bot_channel(context.guild, None);
        }
        Ok(reply)
    }

    fn bus(&self) -> LocalCommandBus {
        LocalCommandBus::new(Arc::clone(&self.services.music))
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
        let command = GuildCommand::Join {
            channel,
            text_channel: context.text_channel,
        };
        let joined = self
            .bus()
            .execute(context.guild, &context.actor, command)
            .await;
        match joined {
            Ok(_) => {
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

/// A reply of another kind than the command's: a bug of the bot, not of the request.
pub(super) fn mismatched(command: &str, reply: &CommandReply) -> Failure {
    Failure::Music(MusicError::Player(PlayerError::Internal(format!(
        "{command} was answered with {reply:?}"
    ))))
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
    if outcome.loading {
        text.push_str("\nThe rest of the playlist is loading; it joins the queue as it arrives.");
    }
    let title = if outcome.started.is_some() {
        "Now playing"
    } else {
        "Queued"
    };
    Reply::info(title, text)
}
