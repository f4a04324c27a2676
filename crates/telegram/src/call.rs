//! Discord's `/all` in the linked chat: one message (split at Telegram's limit) that names who
//! called and why, and mentions every known human member of the chat.
//!
//! Messages go out as plain text with explicit entities rather than in a parse mode: a member
//! with a username is mentioned as `@username`, one without as their name linked to
//! `tg://user/?id=…`. Names, the caller and the reason are never parsed, so nothing in them
//! can add markup or a mention of its own.

use std::sync::Arc;

use minstrel_app::BridgeService;
use minstrel_app::ports::TelegramMember;
use minstrel_domain::GuildId;
use teloxide::prelude::*;
use teloxide::types::{MessageEntity, MessageEntityKind};
use tracing::{debug, warn};

use crate::pacer::Pacer;
use crate::redact::describe;
use crate::text::{MESSAGE_LIMIT, shorten, split_message};

/// What goes between two mentions.
const SEPARATOR: &str = ", ";

/// One message of a call: its text and the mentions in it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallMessage {
    pub(crate) text: String,
    pub(crate) entities: Vec<MessageEntity>,
}

fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// A name as one line: control characters (line breaks) become spaces.
fn one_line(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    name.trim().to_owned()
}

/// How `member` is mentioned: the text and its entity at `offset` (UTF-16 units).
fn mention(member: &TelegramMember, offset: usize) -> (String, MessageEntity) {
    if let Some(username) = member
        .username
        .as_deref()
        .map(str::trim)
        .filter(|username| !username.is_empty())
    {
        let text = format!("@{username}");
        let length = units(&text);
        return (
            text,
            MessageEntity::new(MessageEntityKind::Mention, offset, length),
        );
    }
    let mut name = shorten(&one_line(&member.display_name()));
    if name.is_empty() {
        name = format!("user {}", member.user);
    }
    let length = units(&name);
    let entity = match u64::try_from(member.user.get()) {
        Ok(id) => MessageEntity::text_mention_id(UserId(id), offset, length),
        // Telegram's user ids are positive; a stored negative one cannot be linked.
        Err(_) => MessageEntity::bold(offset, length),
    };
    (name, entity)
}

/// The messages of a call by `caller` (a Discord member) for `reason` mentioning `members`:
/// each within [`MESSAGE_LIMIT`], no mention cut in two, every member mentioned once.
pub(crate) fn call_messages(
    caller: &str,
    reason: Option<&str>,
    members: &[TelegramMember],
) -> Vec<CallMessage> {
    let caller = one_line(caller);
    let header = match reason.map(str::trim).filter(|reason| !reason.is_empty()) {
        Some(reason) => format!("📣 {caller} is calling everyone from Discord: {reason}"),
        None => format!("📣 {caller} is calling everyone from Discord (no reason given)"),
    };
    let mut messages: Vec<CallMessage> = split_message(&header)
        .into_iter()
        .map(|text| CallMessage {
            text,
            entities: Vec::new(),
        })
        .collect();
    let mut current = messages.pop().map_or_else(String::new, |last| last.text);
    let mut entities = Vec::new();
    // The mentions start on their own line under the header.
    let mut start = if current.is_empty() { "" } else { "\n" };
    for member in members {
        let separator = if entities.is_empty() {
            start
        } else {
            SEPARATOR
        };
        let (text, _) = mention(member, 0);
        if units(&current) + units(separator) + units(&text) > MESSAGE_LIMIT {
            messages.push(CallMessage {
                text: std::mem::take(&mut current),
                entities: std::mem::take(&mut entities),
            });
            start = "";
            let (text, entity) = mention(member, 0);
            current = text;
            entities.push(entity);
            continue;
        }
        current.push_str(separator);
        let (text, entity) = mention(member, units(&current));
        current.push_str(&text);
        entities.push(entity);
    }
    if !current.trim().is_empty() {
        messages.push(CallMessage {
            text: current,
            entities,
        });
    }
    messages
}

/// Sends the call of `caller` to the chat linked to `guild`, mentioning its known members as
/// they are now. Failures are logged (with the token masked): Discord's reply has gone.
pub(crate) async fn send_call(
    bridge: Arc<BridgeService>,
    pacer: Pacer,
    token: String,
    guild: GuildId,
    caller: String,
    reason: Option<String>,
) {
    let chat = match bridge.link_of_guild(guild).await {
        Ok(Some(link)) => ChatId(link.chat.get()),
        Ok(None) => {
            debug!(%guild, "/all for a guild that is no longer linked");
            return;
        }
        Err(error) => {
            warn!(%guild, ?error, "could not look up the chat /all calls");
            return;
        }
    };
    let members = match bridge.chat_members(guild).await {
        Ok(members) => members,
        Err(error) => {
            warn!(%guild, ?error, "could not read the members /all mentions");
            return;
        }
    };
    if members.is_empty() {
        return;
    }
    for message in call_messages(&caller, reason.as_deref(), &members) {
        if let Err(error) = pacer
            .send_formatted(chat, message.text, message.entities)
            .await
        {
            warn!(%guild, error = %describe(&error, &token), "could not send the /all call to Telegram");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use minstrel_domain::{TelegramChatId, TelegramUserId};

    use super::*;

    fn member(user: i64, username: Option<&str>, first_name: &str) -> TelegramMember {
        TelegramMember {
            chat: TelegramChatId::new(-100).unwrap(),
            user: TelegramUserId::new(user).unwrap(),
            username: username.map(str::to_owned),
            first_name: first_name.to_owned(),
            last_name: None,
            is_bot: false,
            updated_at: SystemTime::UNIX_EPOCH,
        }
    }

    /// The text each entity covers.
    fn covered(message: &CallMessage) -> Vec<String> {
        let units: Vec<u16> = message.text.encode_utf16().collect();
        message
            .entities
            .iter()
            .map(|entity| {
                String::from_utf16(&units[entity.offset..entity.offset + entity.length]).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_call_names_the_caller_and_the_reason_and_mentions_everyone() {
        let members = [
            member(11, Some("ada"), "Ada"),
            member(12, None, "Ëve *bold* <b>x</b>\n@mallory"),
        ];
        let messages = call_messages("Grace", Some("  movie night 🎬 "), &members);
        assert_eq!(messages.len(), 1);
        let message = &messages[0];
        assert_eq!(
            message.text,
            "📣 Grace is calling everyone from Discord: movie night 🎬\n@ada, Ëve *bold* <b>x</b> @mallory"
        );
        assert_eq!(
            covered(message),
            ["@ada", "Ëve *bold* <b>x</b> @mallory"],
            "offsets count UTF-16 units (the emoji takes two)"
        );
        assert_eq!(message.entities[0].kind, MessageEntityKind::Mention);
        assert_eq!(
            message.entities[1].kind,
            MessageEntityKind::TextLink {
                url: UserId(12).url()
            }
        );
    }

    #[test]
    fn a_call_without_a_reason_says_so() {
        let messages = call_messages("Grace", Some("  "), &[member(11, Some("ada"), "Ada")]);
        assert_eq!(
            messages[0].text,
            "📣 Grace is calling everyone from Discord (no reason given)\n@ada"
        );
    }

    #[test]
    fn a_long_call_is_split_between_mentions_within_the_limit() {
        let members: Vec<TelegramMember> = (1..=600)
            .map(|user| member(user, Some(&format!("member_number_{user:04}")), "M"))
            .collect();
        let messages = call_messages("Grace", Some(&"why ".repeat(1100)), &members);
        assert!(messages.len() > 2, "{}", messages.len());
        let mut mentioned = Vec::new();
        for message in &messages {
            assert!(message.text.encode_utf16().count() <= MESSAGE_LIMIT);
            mentioned.extend(covered(message));
        }
        let expected: Vec<String> = (1..=600)
            .map(|user| format!("@member_number_{user:04}"))
            .collect();
        assert_eq!(mentioned, expected);
    }

    /// Through the bridge as it runs: Discord's `/all` arrives as an event, and the linked
    /// chat of the fake Bot API receives one message mentioning each known human.
    #[tokio::test]
    async fn the_bridge_sends_a_call_from_discord_to_the_linked_chat() {
        use std::collections::HashMap;
        use std::sync::Mutex;
        use std::time::Duration;

        use minstrel_app::BridgePorts;
        use minstrel_app::ports::{
            ChatLink, ChatLinkRepo, EventBus, InProcessEventBus, SystemClock,
        };
        use minstrel_db::{
            MemoryAuditLog, MemoryChatLinkRepo, MemoryLinkCodeRepo, MemoryTelegramMemberRepo,
        };
        use minstrel_domain::DomainEvent;
        use minstrel_testkit::telegram::FakeTelegram;
        use serde_json::json;
        use tokio::sync::watch;

        use crate::PaceLimits;
        use crate::mirror::{Mirror, MirrorConfig, RepeatModes};
        use crate::replies::CommandReplies;

        const CHAT: i64 = -1_001_234_567_890;
        let guild = GuildId::new(77).unwrap();
        let fake = FakeTelegram::start().await;
        let bot = Bot::new("123:secret").set_api_url(fake.api_url().parse().unwrap());
        let links = Arc::new(MemoryChatLinkRepo::new());
        links
            .link(&ChatLink {
                guild,
                chat: TelegramChatId::new(CHAT).unwrap(),
                linked_by: minstrel_domain::UserId::new(9).unwrap(),
                linked_at: SystemTime::now(),
            })
            .await
            .unwrap();
        let bridge = Arc::new(BridgeService::new(BridgePorts {
            links,
            codes: Arc::new(MemoryLinkCodeRepo::new()),
            members: Arc::new(MemoryTelegramMemberRepo::new()),
            audit: Arc::new(MemoryAuditLog::new()),
            clock: Arc::new(SystemClock),
        }));
        let mut known = vec![
            member(11, Some("ada"), "Ada"),
            member(12, None, "Eve <b>x</b>"),
            member(13, Some("helper_bot"), "Helper"),
        ];
        known[2].is_bot = true;
        for member in &mut known {
            member.chat = TelegramChatId::new(CHAT).unwrap();
            bridge.remember_member(member).await.unwrap();
        }
        let now_playing = Arc::new(Mutex::new(HashMap::new()));
        let (mirror, _flushes) = Mirror::new(
            Pacer::new(bot, PaceLimits::default()),
            RepeatModes::default(),
            bridge,
            MirrorConfig::default(),
            Arc::clone(&now_playing),
            Arc::new(CommandReplies::new(now_playing)),
            "123:secret".to_owned(),
        );
        let events = InProcessEventBus::default();
        let (_stop, stop) = watch::channel(false);
        let running = tokio::spawn(mirror.run(events.subscribe(), stop));
        events.publish(DomainEvent::CallToChat {
            guild,
            caller: "Grace".to_owned(),
            reason: Some("movie night".to_owned()),
        });

        let requests = fake
            .wait_until(Duration::from_secs(5), |requests| {
                requests
                    .iter()
                    .any(|request| request.method == "sendmessage")
            })
            .await;
        let sent: Vec<_> = requests
            .iter()
            .filter(|request| request.method == "sendmessage")
            .collect();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].chat_id(), Some(CHAT));
        assert_eq!(
            sent[0].text(),
            Some("📣 Grace is calling everyone from Discord: movie night\n@ada, Eve <b>x</b>")
        );
        // The offsets count UTF-16 units: the megaphone takes two.
        assert_eq!(
            sent[0].body["entities"],
            json!([
                { "type": "mention", "offset": 55, "length": 4 },
                { "type": "text_link", "offset": 61, "length": 12, "url": "tg://user/?id=12" },
            ])
        );
        assert!(
            sent[0].body.get("parse_mode").is_none(),
            "plain text: names are not parsed"
        );
        running.abort();
    }
}
