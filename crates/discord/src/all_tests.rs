//! `/all` on Discord: the call goes to the linked Telegram chat (as a domain event the
//! Telegram bridge sends), and the reply says so without listing the chat's members.

use std::sync::Arc;
use std::time::SystemTime;

use minstrel_app::ports::{
    ChatLink, EventBus, InProcessEventBus, MockAuditLog, MockChatLinkRepo, MockLinkCodeRepo,
    MockSettingsRepo, MockTelegramMemberRepo, SystemClock, TelegramMember,
};
use minstrel_app::{BridgePorts, BridgeService};
use minstrel_domain::{DomainEvent, GuildId, TelegramChatId, TelegramUserId, UserId};
use minstrel_testkit::discord::{FakeMember, FakeRest, RecordedRequest, slash_command};
use serde_json::json;
use tokio::sync::broadcast::error::TryRecvError;

use crate::handler::DiscordServices;
use crate::test_support::{ServicePorts, handler};

const GUILD: u64 = 310_000_000_000_000_001;
const CHAT: i64 = -1_001_234_567_890;

fn member(user: i64, username: Option<&str>, first_name: &str, is_bot: bool) -> TelegramMember {
    TelegramMember {
        chat: TelegramChatId::new(CHAT).unwrap(),
        user: TelegramUserId::new(user).unwrap(),
        username: username.map(str::to_owned),
        first_name: first_name.to_owned(),
        last_name: None,
        is_bot,
        updated_at: SystemTime::UNIX_EPOCH,
    }
}

/// Services on mocks whose guild is linked (`linked`) to a chat with `members` known; the
/// bridge sends its calls through `events` (`None`: it has no way to Telegram).
fn services(
    linked: bool,
    members: Vec<TelegramMember>,
    events: Option<Arc<InProcessEventBus>>,
) -> DiscordServices {
    let mut settings = MockSettingsRepo::new();
    settings.expect_guild().returning(|_| Ok(None));
    let mut links = MockChatLinkRepo::new();
    links.expect_by_guild().returning(move |guild| {
        Ok(linked.then(|| ChatLink {
            guild,
            chat: TelegramChatId::new(CHAT).unwrap(),
            linked_by: UserId::new(9).unwrap(),
            linked_at: SystemTime::UNIX_EPOCH,
        }))
    });
    let mut known = MockTelegramMemberRepo::new();
    known.expect_list().returning(move |_| Ok(members.clone()));
    let mut bridge = BridgeService::new(BridgePorts {
        links: Arc::new(links),
        codes: Arc::new(MockLinkCodeRepo::new()),
        members: Arc::new(known),
        audit: Arc::new(MockAuditLog::new()),
        clock: Arc::new(SystemClock),
    });
    if let Some(events) = events {
        bridge = bridge.with_events(events);
    }
    ServicePorts {
        bridge: Some(Arc::new(bridge)),
        ..ServicePorts::new(settings)
    }
    .services()
}

/// Runs `/all` (with `message`, if any) as the member "grace" and returns the reply's text.
async fn call(services: DiscordServices, message: Option<&str>) -> String {
    let rest = FakeRest::start().await;
    let handler = handler(services, &rest);
    let options = match message {
        Some(message) => json!([{ "name": "message", "type": 3, "value": message }]),
        None => json!([]),
    };
    let member = FakeMember::new(400_000_000_000_000_001, "grace");
    let value = slash_command(1, "token-1", GUILD, &member, "all", &options);
    Box::pin(handler.handle(serde_json::from_value(value).unwrap())).await;
    let replies = rest
        .wait_for_count("the /all reply", 1, |request| {
            request.embed_description().is_some()
        })
        .await;
    replies
        .iter()
        .filter_map(RecordedRequest::embed_description)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn all_sends_the_call_to_telegram_and_says_how_many_it_reaches() {
    let events = Arc::new(InProcessEventBus::default());
    let mut heard = events.subscribe();
    let members = vec![
        member(11, Some("ada_tg"), "Ada", false),
        member(12, None, "Eve", false),
        member(13, Some("helper_bot"), "Helper", true),
    ];
    let reply = call(
        services(true, members, Some(events.clone())),
        Some("movie night"),
    )
    .await;

    assert_eq!(
        reply,
        "Sent to the linked Telegram chat, mentioning 2 members."
    );
    for name in ["ada_tg", "Eve", "helper_bot"] {
        assert!(!reply.contains(name), "no names on Discord: {reply}");
    }
    assert_eq!(
        heard.try_recv().unwrap(),
        DomainEvent::CallToChat {
            guild: GuildId::new(GUILD).unwrap(),
            caller: "grace".to_owned(),
            reason: Some("movie night".to_owned()),
        }
    );
}

#[tokio::test]
async fn all_without_known_members_or_a_link_says_so_and_calls_nobody() {
    let events = Arc::new(InProcessEventBus::default());
    let mut heard = events.subscribe();
    let bots_only = vec![member(13, Some("helper_bot"), "Helper", true)];
    let reply = call(services(true, bots_only, Some(events.clone())), None).await;
    assert!(
        reply.contains("Nobody in the linked chat is known yet"),
        "{reply}"
    );

    let reply = call(services(false, Vec::new(), Some(events.clone())), None).await;
    assert!(reply.contains("not linked to a Telegram chat"), "{reply}");
    assert!(matches!(heard.try_recv(), Err(TryRecvError::Empty)));
}

#[tokio::test]
async fn all_says_so_when_the_bot_has_no_way_to_telegram() {
    let members = vec![member(11, Some("ada_tg"), "Ada", false)];
    let reply = call(services(true, members, None), Some("movie night")).await;
    assert!(reply.contains("cannot be reached"), "{reply}");
    assert!(!reply.contains("ada_tg"), "{reply}");
}
