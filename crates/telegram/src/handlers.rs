//! The update handler tree: commands, buttons, member caching and chat migrations.

use std::sync::Arc;
use std::time::SystemTime;

use futures::future::BoxFuture;
use minstrel_app::ports::{
    GuildMemberInfo, GuildMemberList, MemberListScope, PresenceStatus, StoreError, TelegramMember,
};
use minstrel_app::vocabulary::{Surface, parse_filter, parse_text};
use minstrel_app::{Actor, BridgeError, BridgeService, CommandError};
use minstrel_domain::{
    GuildId, Requester as Person, RequesterId, TelegramChatId, TelegramUserId, TrackId,
};
use teloxide::RequestError;
use teloxide::dispatching::{HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::types::{Chat, InlineKeyboardMarkup, Me, User};
use tracing::Instrument as _;
use tracing::{error, warn};

use crate::commands::{Command, WELCOME, help_text};
use crate::keyboard::player_keyboard;
use crate::metrics::{Outcome, command_label, record_command};
use crate::pacer::Origin;
use crate::redact::describe;
use crate::replies::ReplyHold;
use crate::text::{shorten, split_message};
use crate::{Context, TelegramBot};

mod filters;
mod render;

type HandlerResult = Result<(), RequestError>;

/// Telegram's stand-in sender for anonymous group administrators.
const GROUP_ANONYMOUS_BOT: u64 = 1_087_968_824;

const NOT_LINKED: &str = "This chat is not linked to a Discord server yet. Link this chat \
                          first: run /id here (as a chat admin) and give the code to someone \
                          with Manage Server on Discord, who runs /connect_telegram <code>.";

pub(crate) fn schema() -> UpdateHandler<RequestError> {
    let messages = Update::filter_message()
        .inspect_async(remember_sender)
        .branch(
            dptree::filter_map(|message: Message| message.migrate_to_chat_id().copied())
                .endpoint(on_migration),
        )
        .branch(
            dptree::entry()
                .filter_command::<Command>()
                .endpoint(on_command),
        )
        .branch(dptree::filter(is_unknown_command_for_us).endpoint(on_unknown_command));
    dptree::entry()
        .branch(messages)
        .branch(Update::filter_callback_query().endpoint(crate::buttons::on_callback))
}

/// Logs handler errors with the token redacted.
pub(crate) struct LoggingErrorHandler {
    pub(crate) token: String,
}

impl ErrorHandler<RequestError> for LoggingErrorHandler {
    fn handle_error(self: Arc<Self>, error: RequestError) -> BoxFuture<'static, ()> {
        let text = describe(&error, &self.token);
        Box::pin(async move { warn!(error = %text, "a Telegram request failed") })
    }
}

/// A reply: plain text, and a keyboard for the last part.
struct Reply {
    text: String,
    keyboard: Option<InlineKeyboardMarkup>,
    /// The track this reply shows as now playing (with the player keyboard).
    shows_track: Option<TrackId>,
    /// Set while a command for a linked guild runs; released once the reply is sent.
    hold: Option<ReplyHold>,
    /// How the command that made this reply ended, for the commands counter.
    outcome: Outcome,
}

impl Reply {
    fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            keyboard: None,
            shows_track: None,
            hold: None,
            outcome: Outcome::Ok,
        }
    }

    /// A command refused because of what was asked or where: a usage line, an unlinked chat.
    fn refusal(text: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::UserError,
            ..Self::text(text)
        }
    }

    /// A command that failed on our side.
    fn failure(text: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::InternalError,
            ..Self::text(text)
        }
    }

    fn with_player_keyboard(text: impl Into<String>, paused: bool) -> Self {
        Self {
            keyboard: Some(player_keyboard(paused, None)),
            ..Self::text(text)
        }
    }

    /// A now-playing reply for `track`: the bridge keeps it up to date from now on.
    fn now_playing(text: impl Into<String>, paused: bool, track: TrackId) -> Self {
        Self {
            shows_track: Some(track),
            ..Self::with_player_keyboard(text, paused)
        }
    }
}

/// Queues `reply` for `chat` and returns at once: the command is done, only its sending is
/// paced. Parts are queued now, so replies keep the order of their commands.
fn send_reply(context: &Context, chat: ChatId, reply: Reply) {
    let Reply {
        text,
        keyboard,
        shows_track,
        mut hold,
        ..
    } = reply;
    let chunks = split_message(&text);
    let last = chunks.len().saturating_sub(1);
    let deliveries: Vec<_> = chunks
        .into_iter()
        .enumerate()
        .map(|(index, chunk)| {
            let keyboard = keyboard.clone().filter(|_| index == last);
            context.pacer.send(chat, chunk, keyboard, Origin::Reply)
        })
        .collect();
    let token = context.token.clone();
    tokio::spawn(async move {
        for delivery in deliveries {
            match delivery.await {
                Ok(delivered) => {
                    if let (true, Some(track), Some(hold)) =
                        (delivered.keyboard, shows_track, hold.as_mut())
                    {
                        hold.shows_player(chat, delivered.message, track);
                    }
                }
                Err(error) => {
                    warn!(error = %describe(&error, &token), "could not send a Telegram reply");
                }
            }
        }
        // Dropping the hold after the reply went out lets the bridge speak again.
        drop(hold);
    });
}

pub(crate) fn chat_id(chat: ChatId) -> Option<TelegramChatId> {
    TelegramChatId::new(chat.0).ok()
}

fn display_name(user: &User) -> String {
    let full = user.full_name();
    if full.trim().is_empty() {
        user.username.clone().unwrap_or_else(|| user.id.to_string())
    } else {
        full
    }
}

pub(crate) fn requester(user: &User) -> Option<Person> {
    let id = TelegramUserId::new(i64::try_from(user.id.0).ok()?).ok()?;
    Some(Person {
        id: RequesterId::Telegram(id),
        display_name: display_name(user),
    })
}

/// Whether `user` administers `chat`: always in a private chat, else `getChatMember` (cached).
pub(crate) async fn is_chat_admin(
    bot: &TelegramBot,
    context: &Context,
    chat: &Chat,
    user: UserId,
) -> bool {
    if chat.is_private() {
        return true;
    }
    if let Some(admin) = context.cached_admin(chat.id, user) {
        return admin;
    }
    match bot.get_chat_member(chat.id, user).await {
        Ok(member) => {
            let admin = member.kind.is_privileged();
            context.remember_admin(chat.id, user, admin);
            admin
        }
        Err(error) => {
            warn!(error = %describe(&error, &context.token), "could not check a chat administrator");
            false
        }
    }
}

/// The person behind a message, as the use cases see them.
async fn message_actor(bot: &TelegramBot, context: &Context, message: &Message) -> Option<Actor> {
    let user = message.from.as_ref()?;
    let requester = requester(user)?;
    // An anonymous administrator writes "as the group": only administrators can.
    let anonymous_admin = user.id.0 == GROUP_ANONYMOUS_BOT
        && message
            .sender_chat
            .as_ref()
            .is_some_and(|sender| sender.id == message.chat.id);
    let admin = anonymous_admin || is_chat_admin(bot, context, &message.chat, user.id).await;
    Some(Actor::member(requester, Vec::new(), admin))
}

async fn remember_sender(message: Message, context: Arc<Context>) {
    let (Some(user), Some(chat)) = (message.from.as_ref(), chat_id(message.chat.id)) else {
        return;
    };
    if message.chat.is_private() || user.is_bot {
        return;
    }
    let Some(Person {
        id: RequesterId::Telegram(user_id),
        ..
    }) = requester(user)
    else {
        return;
    };
    let member = TelegramMember {
        chat,
        user: user_id,
        username: user.username.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        is_bot: user.is_bot,
        updated_at: SystemTime::now(),
    };
    if let Err(error) = context.services.bridge.remember_member(&member).await {
        warn!(?error, "could not cache a Telegram chat member");
    }
}

async fn on_migration(message: Message, to: ChatId, context: Arc<Context>) -> HandlerResult {
    let (Some(from), Some(to)) = (chat_id(message.chat.id), chat_id(to)) else {
        return Ok(());
    };
    match context.services.bridge.migrate_chat(from, to).await {
        Ok(Some(link)) => {
            tracing::info!(guild = %link.guild, %from, %to, "link follows the chat to its supergroup");
        }
        Ok(None) => {}
        Err(error) => error!(?error, %from, %to, "could not move the link of a migrated chat"),
    }
    Ok(())
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "dptree injects handler arguments by value"
)]
fn is_unknown_command_for_us(message: Message, me: Me) -> bool {
    let Some(first) = message
        .text()
        .and_then(|text| text.split_whitespace().next())
    else {
        return false;
    };
    let Some(command) = first.strip_prefix('/') else {
        return false;
    };
    match command.split_once('@') {
        Some((_, bot)) => bot.eq_ignore_ascii_case(me.username()),
        // In a group a bare unknown command may be meant for another bot: stay quiet.
        None => message.chat.is_private(),
    }
}

#[allow(
    clippy::unused_async,
    clippy::needless_pass_by_value,
    reason = "dptree wants an async endpoint and injects its arguments by value"
)]
async fn on_unknown_command(message: Message, context: Arc<Context>) -> HandlerResult {
    send_reply(
        &context,
        message.chat.id,
        Reply::text("I don't know that command. /help lists what I can do."),
    );
    Ok(())
}

async fn on_command(
    bot: TelegramBot,
    message: Message,
    command: Command,
    context: Arc<Context>,
) -> HandlerResult {
    let name = command_label(&command);
    // Every log line of this command carries the chat and the user; never the token.
    let span = tracing::info_span!(
        "telegram_command",
        command = name,
        chat = message.chat.id.0,
        user = message.from.as_ref().map(|user| user.id.0),
    );
    async {
        let reply = run_command(&bot, &message, command, &context).await;
        record_command(name, reply.outcome);
        send_reply(&context, message.chat.id, reply);
        Ok(())
    }
    .instrument(span)
    .await
}

fn music_reply(error: &CommandError) -> Reply {
    let text = format!("Sorry: {error}.");
    if error.is_internal() {
        error!(?error, "a Telegram command failed");
        Reply::failure(text)
    } else {
        Reply::refusal(text)
    }
}

fn bridge_reply(error: &BridgeError) -> Reply {
    let text = format!("Sorry: {error}.");
    if error.is_internal() {
        error!(?error, "a Telegram link command failed");
        Reply::failure(text)
    } else {
        Reply::refusal(text)
    }
}

#[allow(clippy::too_many_lines)] // one arm per command reads as a table
async fn run_command(
    bot: &TelegramBot,
    message: &Message,
    command: Command,
    context: &Context,
) -> Reply {
    let services = &context.services;
    let Some(chat) = chat_id(message.chat.id) else {
        return Reply::refusal("This chat cannot be used.");
    };
    match command {
        Command::Start => return Reply::text(WELCOME),
        Command::Help => return Reply::text(help_text()),
        Command::Id => return issue_code(bot, message, chat, context).await,
        Command::Link(code) => return link(bot, message, chat, &code, context).await,
        Command::Unlink => return unlink(bot, message, chat, context).await,
        _ => {}
    }
    let guild = match services.bridge.link_of_chat(chat).await {
        Ok(Some(link)) => link.guild,
        Ok(None) => return Reply::refusal(NOT_LINKED),
        Err(error) => return bridge_reply(&error),
    };
    if command == Command::List {
        return list_members(guild, context).await;
    }
    let Some(actor) = message_actor(bot, context, message).await else {
        return Reply::refusal("I can only take commands from people.");
    };
    let hold = context.replies.begin(guild);
    let mut reply = music_command(command, guild, &actor, context).await;
    reply.hold = Some(hold);
    reply
}

/// A command that acts on the linked guild's player: parsed into the vocabulary's
/// [`GuildCommand`], run where the guild plays, and its reply rendered for Telegram.
async fn music_command(
    command: Command,
    guild: GuildId,
    actor: &Actor,
    context: &Context,
) -> Reply {
    let (id, arguments) = command.entry();
    let parsed = if matches!(command, Command::Filter(_)) {
        if matches!(arguments.trim(), "" | "list") {
            return Reply::text(filters::usage(&context.services.commands.presets()));
        }
        parse_filter(arguments)
    } else {
        parse_text(id, arguments)
    };
    let guild_command = match parsed {
        Ok(guild_command) => guild_command,
        Err(error) => {
            let spelling = match crate::parity::surface(id) {
                Surface::Offered(spelling) => spelling,
                Surface::Absent(_) => id.spec().name,
            };
            return Reply::refusal(
                error.sentence("/", spelling.split(' ').next().unwrap_or(spelling)),
            );
        }
    };
    match context
        .services
        .commands
        .dispatch(guild, actor, guild_command.clone())
        .await
    {
        Ok(reply) => render::render(&guild_command, reply, guild, actor, context).await,
        Err(error) => {
            let mut reply = music_reply(&error);
            // An error may quote the query: a long one is not repeated in full.
            if let Some(query) = guild_command.query() {
                reply.text = reply.text.replace(query, &shorten(query));
            }
            reply
        }
    }
}

async fn issue_code(
    bot: &TelegramBot,
    message: &Message,
    chat: TelegramChatId,
    context: &Context,
) -> Reply {
    let Some(actor) = message_actor(bot, context, message).await else {
        return Reply::refusal("I can only take commands from people.");
    };
    let bridge = &context.services.bridge;
    match bridge.issue_chat_code(chat, &actor).await {
        Ok(code) => {
            let current = match bridge.link_of_chat(chat).await {
                Ok(Some(link)) => format!(
                    "\nThis chat is linked to Discord server {} now; a new link replaces it.",
                    link.guild
                ),
                _ => String::new(),
            };
            let minutes = code
                .expires_at
                .duration_since(code.created_at)
                .map_or(10, |ttl| ttl.as_secs().div_ceil(60));
            Reply::text(format!(
                "This chat's id: {chat}\nLink code: {code}\nOn Discord, someone with Manage Server \
                 runs /connect_telegram {code} — within {minutes} minutes; the code works \
                 once.{current}",
                code = BridgeService::format_code(&code.code),
            ))
        }
        Err(BridgeError::NeedsChatAdmin) => Reply::refusal(format!(
            "This chat's id: {chat}\nOnly chat administrators can make a link code."
        )),
        Err(error) => bridge_reply(&error),
    }
}

async fn link(
    bot: &TelegramBot,
    message: &Message,
    chat: TelegramChatId,
    code: &str,
    context: &Context,
) -> Reply {
    if code.trim().is_empty() {
        return Reply::refusal(
            "Usage: /link <code> with a code from Discord. Or run /id here and use that code \
             on Discord with /connect_telegram.",
        );
    }
    let Some(actor) = message_actor(bot, context, message).await else {
        return Reply::refusal("I can only take commands from people.");
    };
    match context
        .services
        .bridge
        .link_chat_with_code(chat, &actor, code)
        .await
    {
        Ok(outcome) => Reply::text(format!(
            "✅ Linked to Discord server {}. Commands here now control its player, and its \
             music news appears here.",
            outcome.link.guild
        )),
        Err(error) => bridge_reply(&error),
    }
}

async fn unlink(
    bot: &TelegramBot,
    message: &Message,
    chat: TelegramChatId,
    context: &Context,
) -> Reply {
    let Some(actor) = message_actor(bot, context, message).await else {
        return Reply::refusal("I can only take commands from people.");
    };
    match context.services.bridge.unlink_chat(chat, &actor).await {
        Ok(link) => Reply::text(format!("Unlinked from Discord server {}.", link.guild)),
        Err(error) => bridge_reply(&error),
    }
}

async fn list_members(guild: GuildId, context: &Context) -> Reply {
    let Some(directory) = &context.services.directory else {
        return Reply::failure(
            "The Discord member list is not available: the Discord side of the bot is not running.",
        );
    };
    match directory.online_members(guild).await {
        Ok(list) => Reply::text(member_list_text(&list)),
        Err(StoreError::Unavailable(_)) => Reply::failure(
            "I don't know who is on the Discord server yet (the Discord connection has not \
             sent it). Try again in a minute.",
        ),
        Err(error) => Reply::failure(format!("Sorry: {error}.")),
    }
}

/// Most members `/list` names: a busy server's online list would otherwise be dozens of
/// messages (the reply is split at Telegram's limit), more than a chat wants or Telegram's
/// rate limits allow.
const MEMBER_LIST_CAP: usize = 300;

/// The `/list` answer, saying plainly what the list covers.
fn member_list_text(list: &GuildMemberList) -> String {
    let (heading, nobody) = match list.scope {
        MemberListScope::InVoice => (
            "In a voice channel on Discord",
            "Nobody is in a voice channel on Discord right now.",
        ),
        MemberListScope::Online => ("Online on Discord", "Nobody is online on Discord."),
    };
    let mut text = if list.members.is_empty() {
        nobody.to_owned()
    } else {
        let mut lines: Vec<String> = list
            .members
            .iter()
            .take(MEMBER_LIST_CAP)
            .map(member_line)
            .collect();
        if list.members.len() > MEMBER_LIST_CAP {
            lines.push(format!(
                "… and {} more.",
                list.members.len() - MEMBER_LIST_CAP
            ));
        }
        format!("{heading} ({}):\n{}", list.members.len(), lines.join("\n"))
    };
    if list.scope == MemberListScope::InVoice {
        text.push_str(
            "\n\nI can only see who is in voice: Discord shares who else is online only with \
             bots granted the presence intent. The bot's operator can turn that on with \
             MINSTREL_DISCORD_PRESENCE=true (and the Presence and Server Members intents in \
             Discord's developer portal).",
        );
    }
    text
}

/// `• name (status, 🔊 channel)`, leaving out what is not known.
fn member_line(member: &GuildMemberInfo) -> String {
    let status = member.status.map(|status| match status {
        PresenceStatus::Online => "online".to_owned(),
        PresenceStatus::Idle => "idle".to_owned(),
        PresenceStatus::DoNotDisturb => "do not disturb".to_owned(),
    });
    let channel = member
        .voice_channel
        .as_ref()
        .map(|channel| format!("🔊 {channel}"));
    let details: Vec<String> = status.into_iter().chain(channel).collect();
    if details.is_empty() {
        format!("• {}", member.display_name)
    } else {
        format!("• {} ({})", member.display_name, details.join(", "))
    }
}

#[cfg(test)]
mod member_list_tests {
    use minstrel_domain::UserId;

    use super::*;

    fn member(
        id: u64,
        name: &str,
        status: PresenceStatus,
        channel: Option<&str>,
    ) -> GuildMemberInfo {
        GuildMemberInfo {
            user: UserId::new(id).unwrap(),
            display_name: name.to_owned(),
            voice_channel: channel.map(str::to_owned),
            status: Some(status),
        }
    }

    #[test]
    fn the_online_list_shows_each_status_and_no_voice_only_note() {
        let text = member_list_text(&GuildMemberList {
            scope: MemberListScope::Online,
            members: vec![
                member(1, "ann", PresenceStatus::Online, None),
                member(2, "bo", PresenceStatus::Idle, Some("Music")),
                member(3, "cy", PresenceStatus::DoNotDisturb, None),
            ],
        });
        assert_eq!(
            text,
            "Online on Discord (3):\n• ann (online)\n• bo (idle, 🔊 Music)\n• cy (do not disturb)"
        );
        let nobody = member_list_text(&GuildMemberList {
            scope: MemberListScope::Online,
            members: Vec::new(),
        });
        assert_eq!(nobody, "Nobody is online on Discord.");
    }

    #[test]
    fn the_voice_list_names_the_setting_that_shows_more() {
        let text = member_list_text(&GuildMemberList {
            scope: MemberListScope::InVoice,
            members: Vec::new(),
        });
        assert!(text.contains("MINSTREL_DISCORD_PRESENCE=true"), "{text}");
    }

    #[test]
    fn a_huge_list_is_cut_with_a_count_of_the_rest() {
        let members: Vec<GuildMemberInfo> = (1..=MEMBER_LIST_CAP as u64 + 5)
            .map(|id| member(id, &format!("user{id}"), PresenceStatus::Online, None))
            .collect();
        let text = member_list_text(&GuildMemberList {
            scope: MemberListScope::Online,
            members,
        });
        assert!(text.starts_with(&format!("Online on Discord ({}):", MEMBER_LIST_CAP + 5)));
        assert_eq!(
            text.lines().filter(|line| line.starts_with("• ")).count(),
            MEMBER_LIST_CAP
        );
        assert!(text.ends_with("… and 5 more."), "{text}");
    }
}
