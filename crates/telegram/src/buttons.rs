//! The player keyboard's buttons: each press acts at once and is answered within a second,
//! whatever backlog the chat's replies have; the message under it is refreshed afterwards.

use std::sync::Arc;
use std::time::Duration;

use minstrel_app::{Actor, CommandError};
use minstrel_domain::{GuildId, PlaybackState, RepeatMode};
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, MessageId};
use tracing::Instrument as _;
use tracing::{error, warn};

use crate::handlers::{chat_id, is_chat_admin, requester};
use crate::keyboard::{Button, VOLUME_STEP, player_keyboard};
use crate::pacer::Origin;
use crate::redact::describe;
use crate::text::{PlayerView, player_text};
use crate::{Context, TelegramBot};

/// A button press is answered within this long even when its action takes longer: Telegram
/// gives up on an unanswered press (the user sees a spinner, then nothing).
const ANSWER_WITHIN: Duration = Duration::from_millis(700);

/// What a button press did: the answer for the presser, and the player to show afterwards.
struct ButtonOutcome {
    answer: String,
    refresh: Option<(GuildId, Actor)>,
}

impl ButtonOutcome {
    fn answer(answer: impl Into<String>) -> Self {
        Self {
            answer: answer.into(),
            refresh: None,
        }
    }
}

pub(crate) async fn on_callback(
    bot: TelegramBot,
    query: CallbackQuery,
    context: Arc<Context>,
) -> Result<(), RequestError> {
    let span = tracing::info_span!(
        "telegram_button",
        chat = query.message.as_ref().map(|message| message.chat().id.0),
        user = query.from.id.0,
    );
    async {
        let mut press = std::pin::pin!(handle_button(&bot, &query, &context));
        let outcome = if let Ok(outcome) = tokio::time::timeout(ANSWER_WITHIN, &mut press).await {
            answer_press(&bot, &query, &outcome.answer, &context).await;
            outcome
        } else {
            answer_press(&bot, &query, "⏳ Working on it…", &context).await;
            press.await
        };
        // The answer went first: the message's new state waits for the chat's pacing.
        if let (Some((guild, actor)), Some(message)) = (outcome.refresh, &query.message) {
            refresh_player_message(&context, message.chat().id, message.id(), guild, &actor).await;
        }
    }
    .instrument(span)
    .await;
    Ok(())
}

async fn answer_press(bot: &TelegramBot, query: &CallbackQuery, text: &str, context: &Context) {
    if let Err(error) = bot.answer_callback_query(query.id.clone()).text(text).await {
        warn!(error = %describe(&error, &context.token), "could not answer a button press");
    }
}

async fn handle_button(
    bot: &TelegramBot,
    query: &CallbackQuery,
    context: &Context,
) -> ButtonOutcome {
    let Some(button) = query.data.as_deref().and_then(Button::parse) else {
        return ButtonOutcome::answer("This button is not mine.");
    };
    let Some(message) = &query.message else {
        return ButtonOutcome::answer("This message is too old; use /np.");
    };
    let chat = message.chat();
    let Some(chat_id) = chat_id(chat.id) else {
        return ButtonOutcome::answer("This chat cannot be used.");
    };
    let services = &context.services;
    let guild = match services.bridge.link_of_chat(chat_id).await {
        Ok(Some(link)) => link.guild,
        Ok(None) => return ButtonOutcome::answer("Link this chat first: run /id."),
        Err(error) => return ButtonOutcome::answer(format!("Sorry: {error}.")),
    };
    let Some(requester) = requester(&query.from) else {
        return ButtonOutcome::answer("I can only take commands from people.");
    };
    let admin = is_chat_admin(bot, context, chat, query.from.id).await;
    let actor = Actor::member(requester, Vec::new(), admin);
    let answer = match press_button(button, guild, &actor, context).await {
        Ok(answer) => answer,
        Err(error) => {
            if error.is_internal() {
                error!(?error, "a Telegram button failed");
            }
            return ButtonOutcome::answer(format!("Sorry: {error}"));
        }
    };
    // The bridge keeps its own now-playing message up to date from the player's events; other
    // messages are refreshed here so their buttons match the player. The repeat mode has no
    // event, so the Loop button refreshes whichever message it is under.
    let refresh = button == Button::Loop || !context.is_bridge_message(chat.id, message.id());
    ButtonOutcome {
        answer,
        refresh: refresh.then_some((guild, actor)),
    }
}

async fn press_button(
    button: Button,
    guild: GuildId,
    actor: &Actor,
    context: &Context,
) -> Result<String, CommandError> {
    let music = &context.services.commands;
    match button {
        Button::Pause => music
            .pause(guild, actor)
            .await
            .map(|()| "Paused".to_owned()),
        Button::Resume => music
            .resume(guild, actor)
            .await
            .map(|()| "Resumed".to_owned()),
        Button::Skip => music
            .skip(guild, actor)
            .await
            .map(|outcome| format!("Skipped {}", outcome.skipped.display_title())),
        Button::Stop => music.stop(guild, actor).await.map(|_| "Stopped".to_owned()),
        Button::Shuffle => music
            .shuffle(guild, actor)
            .await
            .map(|count| format!("Shuffled {count} tracks")),
        Button::Loop => {
            let page = music.queue_page(guild, actor, 1, 1).await?;
            let next = match page.repeat {
                RepeatMode::Off => RepeatMode::Track,
                RepeatMode::Track => RepeatMode::Queue,
                RepeatMode::Queue => RepeatMode::Off,
            };
            music.set_repeat(guild, actor, next).await?;
            context.repeat_modes.set(guild, next);
            Ok(format!("Repeat: {next}"))
        }
        Button::VolumeDown | Button::VolumeUp => {
            let now = music.now_playing(guild, actor).await?;
            let step = if button == Button::VolumeUp {
                VOLUME_STEP
            } else {
                -VOLUME_STEP
            };
            let percent = (i64::from(now.volume.percent()) + step).clamp(0, 200);
            music
                .set_volume(guild, actor, percent)
                .await
                .map(|volume| format!("Volume {volume}"))
        }
    }
}

/// Shows the player as it is now in `message`: its text and buttons (the repeat mode on the
/// Loop button). Paced like every message; the latest state wins when presses pile up.
async fn refresh_player_message(
    context: &Context,
    chat: ChatId,
    message: MessageId,
    guild: GuildId,
    actor: &Actor,
) {
    let (text, keyboard) = match context.services.commands.now_playing(guild, actor).await {
        Ok(now) => (
            player_text(&PlayerView::from_now_playing(&now)),
            Some(player_keyboard(
                now.state == PlaybackState::Paused,
                Some(now.repeat),
            )),
        ),
        Err(_) => ("Nothing is playing.".to_owned(), None),
    };
    let result = context
        .pacer
        .edit(chat, message, text, keyboard, Origin::Reply)
        .await;
    if let Err(error) = result {
        warn!(error = %describe(&error, &context.token), "could not refresh a player message");
    }
}
