//! Buttons, the filter menu and autocomplete.

use std::fmt::Write as _;
use std::time::Instant;

use minstrel_app::vocabulary::QUEUE_PAGE_SIZE;
use minstrel_app::{CommandReply, GuildCommand, MusicError, NowPlaying};
use minstrel_domain::track::format_duration;
use minstrel_domain::{PlaybackState, RepeatMode};
use tracing::{info, warn};
use twilight_model::application::command::{CommandOptionChoice, CommandOptionChoiceValue};
use twilight_model::application::interaction::message_component::MessageComponentInteractionData;
use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::channel::message::MessageFlags;
use twilight_model::http::interaction::{InteractionResponseData, InteractionResponseType};

use crate::metrics::{Outcome, record_command};
use crate::reply::{self, Reply, button};
use crate::request::{self};

use super::run::mismatched;
use super::{Context, Failure, InteractionHandler, actor_of};

impl InteractionHandler {
    /// Autocomplete of `query`: a link is offered back as it is; otherwise the member's recent
    /// tracks that match what they typed, then the search's suggestions (within a time budget,
    /// so the answer always beats Discord's 3 s).
    pub(super) async fn autocomplete(&self, interaction: &Interaction) {
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

    pub(super) async fn suggestions(
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
    pub(super) async fn component(&self, interaction: &Interaction, received: Instant) {
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
    pub(super) async fn choose_preset(
        &self,
        interaction: &Interaction,
        received: Instant,
        context: &Context,
        data: &MessageComponentInteractionData,
    ) {
        let presets = self.services.filters.presets();
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
        let command = GuildCommand::ApplyPreset {
            name: chosen.to_owned(),
        };
        let applied = match self.run_player(context, command, None).await {
            Ok(CommandReply::Filters(spec)) => Ok(spec),
            Ok(_) => self.filters_now(context).await,
            Err(failure) => Err(failure),
        };
        let outcome = match applied {
            Ok(spec) => {
                let note = format!(
                    "{chosen} added by {}",
                    reply::escape(&context.actor.requester.display_name)
                );
                let reply = reply::filter_menu(&spec, &presets, Some(&note));
                self.edit_original(interaction, &reply).await;
                Outcome::Ok
            }
            Err(failure) => {
                // The menu stays as it was; the chooser alone learns why nothing happened.
                self.ephemeral_followup(interaction, &failure.reply("filter menu"))
                    .await;
                failure.outcome()
            }
        };
        record_command("filter", outcome);
    }

    pub(super) async fn ephemeral_followup(&self, interaction: &Interaction, reply: &Reply) {
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

    pub(super) async fn press(&self, context: &Context, custom_id: &str) -> Result<Reply, Failure> {
        if let Some(page) = custom_id.strip_prefix(button::QUEUE_PAGE) {
            let page = page.parse().unwrap_or(1);
            let command = GuildCommand::Queue {
                page,
                per_page: QUEUE_PAGE_SIZE,
            };
            return self.player(context, command).await;
        }
        let who = &context.actor.requester.display_name;
        let note = match custom_id {
            button::PLAY_PAUSE => {
                let paused = matches!(
                    self.now_playing(context).await,
                    Ok(now) if now.state == PlaybackState::Paused
                );
                if paused {
                    self.run_player(context, GuildCommand::Resume, None).await?;
                    format!("resumed by {who}")
                } else {
                    self.run_player(context, GuildCommand::Pause, None).await?;
                    format!("paused by {who}")
                }
            }
            button::SKIP => match self.run_player(context, GuildCommand::Skip, None).await? {
                CommandReply::Skipped(outcome) => format!(
                    "{} skipped {}",
                    who,
                    reply::escape(&outcome.skipped.display_title())
                ),
                _ => format!("skipped by {who}"),
            },
            button::STOP => {
                self.run_player(context, GuildCommand::Stop, None).await?;
                return Ok(Reply::info("Stopped", format!("Stopped by {who}.")));
            }
            button::LOOP => {
                let next = match self.now_playing(context).await?.repeat {
                    RepeatMode::Off => RepeatMode::Track,
                    RepeatMode::Track => RepeatMode::Queue,
                    RepeatMode::Queue => RepeatMode::Off,
                };
                let command = GuildCommand::SetRepeat { mode: next };
                self.run_player(context, command, None).await?;
                format!("repeat {next}, set by {who}")
            }
            button::SHUFFLE => match self
                .run_player(context, GuildCommand::Shuffle, None)
                .await?
            {
                CommandReply::Shuffled(count) => format!("{count} track(s) shuffled by {who}"),
                _ => format!("shuffled by {who}"),
            },
            _ => return Err(Failure::usage("that button is no longer in use")),
        };
        match self.now_playing(context).await {
            Ok(now) => Ok(reply::now_playing(&now, Some(&note))),
            Err(Failure::Music(MusicError::NothingPlaying)) => Ok(Reply::info(
                "Now playing",
                format!("{}\n\nNothing is playing.", reply::sentence_case(&note)),
            )),
            Err(failure) => Err(failure),
        }
    }

    /// What plays now, asked through the command bus.
    async fn now_playing(&self, context: &Context) -> Result<NowPlaying, Failure> {
        match self
            .run_player(context, GuildCommand::NowPlaying, None)
            .await?
        {
            CommandReply::NowPlaying(now) => Ok(*now),
            other => Err(mismatched("np", &other)),
        }
    }
}

/// Discord shows at most 25 autocomplete choices.
pub(super) const MAX_CHOICES: usize = minstrel_app::search::MAX_SUGGESTIONS;

/// Discord's limit for a choice's name and (string) value.
pub(super) const CHOICE_LIMIT: usize = 100;

pub(super) fn looks_like_link(text: &str) -> bool {
    let lowered = text.to_ascii_lowercase();
    lowered.contains("://") || lowered.starts_with("www.")
}

/// An autocomplete choice, or `None` when `value` is empty or too long for Discord (the
/// name is shortened instead).
pub(super) fn choice(name: &str, value: &str) -> Option<CommandOptionChoice> {
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
pub(super) fn suggestion_name(info: &minstrel_app::ports::TrackInfo) -> String {
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
