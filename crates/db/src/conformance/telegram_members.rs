//! Checks for [`TelegramMemberRepo`] adapters.

use minstrel_app::ports::{TelegramMember, TelegramMemberRepo};
use minstrel_domain::{TelegramChatId, TelegramUserId};

use super::fixtures;

pub async fn all(repo: &dyn TelegramMemberRepo) {
    members_are_listed_per_chat_by_display_name(repo).await;
    upsert_replaces_and_remove_forgets(repo).await;
    move_chat_carries_every_member_over(repo).await;
}

fn member(chat: TelegramChatId, first_name: &str, last_name: Option<&str>) -> TelegramMember {
    TelegramMember {
        chat,
        user: fixtures::telegram_user(),
        username: Some(format!("{}_handle", first_name.to_lowercase())),
        first_name: first_name.to_owned(),
        last_name: last_name.map(str::to_owned),
        is_bot: false,
        updated_at: fixtures::at(1_000),
    }
}

fn users(members: &[TelegramMember]) -> Vec<TelegramUserId> {
    members.iter().map(|member| member.user).collect()
}

/// A chat lists its own members only, sorted by display name ignoring case; every field comes
/// back.
pub async fn members_are_listed_per_chat_by_display_name(repo: &dyn TelegramMemberRepo) {
    let (chat, other_chat) = (fixtures::chat(), fixtures::chat());
    assert!(repo.list(chat).await.unwrap().is_empty());
    let zoe = member(chat, "zoë", None);
    let mut bot = member(chat, "Alpha", Some("Bot"));
    bot.is_bot = true;
    bot.username = None;
    let bea = member(chat, "Bea", Some("Smith"));
    let elsewhere = member(other_chat, "Aaron", None);
    for stored in [&zoe, &bot, &bea, &elsewhere] {
        repo.upsert(stored).await.unwrap();
    }

    assert_eq!(
        repo.list(chat).await.unwrap(),
        [bot.clone(), bea.clone(), zoe.clone()]
    );
    assert_eq!(repo.list(other_chat).await.unwrap(), [elsewhere]);
}

/// Upserting a known member replaces the row; removing forgets one member only, and removing an
/// unknown one is fine.
pub async fn upsert_replaces_and_remove_forgets(repo: &dyn TelegramMemberRepo) {
    let chat = fixtures::chat();
    let mut renamed = member(chat, "Old", None);
    let kept = member(chat, "Kept", None);
    repo.upsert(&renamed).await.unwrap();
    repo.upsert(&kept).await.unwrap();

    "New".clone_into(&mut renamed.first_name);
    renamed.last_name = Some("Name".to_owned());
    renamed.username = None;
    renamed.updated_at = fixtures::at(2_000);
    repo.upsert(&renamed).await.unwrap();
    assert_eq!(
        repo.list(chat).await.unwrap(),
        [kept.clone(), renamed.clone()]
    );

    repo.remove(chat, renamed.user).await.unwrap();
    repo.remove(chat, renamed.user).await.unwrap();
    repo.remove(chat, fixtures::telegram_user()).await.unwrap();
    assert_eq!(repo.list(chat).await.unwrap(), [kept]);
}

/// A group that became a supergroup: every member moves to the new chat id, one already known
/// there is replaced by the moved row, and the old chat is empty.
pub async fn move_chat_carries_every_member_over(repo: &dyn TelegramMemberRepo) {
    let (from, to) = (fixtures::chat(), fixtures::chat());
    let first = member(from, "First", None);
    let second = member(from, "Second", None);
    let mut stale = second.clone();
    stale.chat = to;
    "Stale".clone_into(&mut stale.first_name);
    let only_in_new = member(to, "Third", None);
    for stored in [&first, &second, &stale, &only_in_new] {
        repo.upsert(stored).await.unwrap();
    }

    repo.move_chat(from, to).await.unwrap();
    assert!(repo.list(from).await.unwrap().is_empty());
    let moved = repo.list(to).await.unwrap();
    assert_eq!(users(&moved), [first.user, second.user, only_in_new.user]);
    assert_eq!(moved[1].first_name, "Second", "the moved row wins");
    assert!(moved.iter().all(|member| member.chat == to));

    repo.move_chat(to, to).await.unwrap();
    assert_eq!(repo.list(to).await.unwrap().len(), 3);
}
