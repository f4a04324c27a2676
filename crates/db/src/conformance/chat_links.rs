//! Checks for [`ChatLinkRepo`] adapters.

use minstrel_app::ports::{ChatLink, ChatLinkRepo};
use minstrel_domain::{GuildId, TelegramChatId};

use super::fixtures;

pub async fn all(repo: &dyn ChatLinkRepo) {
    link_is_found_from_both_sides(repo).await;
    relinking_a_guild_replaces_its_chat(repo).await;
    relinking_a_chat_replaces_its_guild(repo).await;
    linking_two_linked_sides_replaces_both_links(repo).await;
    unlink_chat(repo).await;
}

fn link(guild: GuildId, chat: TelegramChatId, millis: u64) -> ChatLink {
    ChatLink {
        guild,
        chat,
        linked_by: fixtures::user(),
        linked_at: fixtures::at(millis),
    }
}

/// A link comes back whole from the guild side and from the chat side.
pub async fn link_is_found_from_both_sides(repo: &dyn ChatLinkRepo) {
    let (guild, chat) = (fixtures::guild(), fixtures::chat());
    assert_eq!(repo.by_guild(guild).await.unwrap(), None);
    assert_eq!(repo.by_chat(chat).await.unwrap(), None);

    let linked = link(guild, chat, 1);
    repo.link(&linked).await.unwrap();
    assert_eq!(repo.by_guild(guild).await.unwrap(), Some(linked.clone()));
    assert_eq!(repo.by_chat(chat).await.unwrap(), Some(linked.clone()));

    // Linking the same pair again replaces who linked it and when.
    let again = link(guild, chat, 2);
    repo.link(&again).await.unwrap();
    assert_eq!(repo.by_guild(guild).await.unwrap(), Some(again.clone()));
    assert_eq!(repo.by_chat(chat).await.unwrap(), Some(again));
}

/// Linking a linked guild to a new chat frees the old chat.
pub async fn relinking_a_guild_replaces_its_chat(repo: &dyn ChatLinkRepo) {
    let (guild, old_chat, new_chat) = (fixtures::guild(), fixtures::chat(), fixtures::chat());
    repo.link(&link(guild, old_chat, 1)).await.unwrap();

    let replacement = link(guild, new_chat, 2);
    repo.link(&replacement).await.unwrap();
    assert_eq!(
        repo.by_guild(guild).await.unwrap(),
        Some(replacement.clone())
    );
    assert_eq!(repo.by_chat(new_chat).await.unwrap(), Some(replacement));
    assert_eq!(repo.by_chat(old_chat).await.unwrap(), None);
}

/// Linking a linked chat to a new guild frees the old guild.
pub async fn relinking_a_chat_replaces_its_guild(repo: &dyn ChatLinkRepo) {
    let (old_guild, new_guild, chat) = (fixtures::guild(), fixtures::guild(), fixtures::chat());
    repo.link(&link(old_guild, chat, 1)).await.unwrap();

    let replacement = link(new_guild, chat, 2);
    repo.link(&replacement).await.unwrap();
    assert_eq!(repo.by_chat(chat).await.unwrap(), Some(replacement.clone()));
    assert_eq!(repo.by_guild(new_guild).await.unwrap(), Some(replacement));
    assert_eq!(repo.by_guild(old_guild).await.unwrap(), None);
}

/// Linking guild A (linked to chat 1) with chat 2 (linked to guild B) ends both earlier links.
pub async fn linking_two_linked_sides_replaces_both_links(repo: &dyn ChatLinkRepo) {
    let (guild_a, guild_b) = (fixtures::guild(), fixtures::guild());
    let (chat_1, chat_2) = (fixtures::chat(), fixtures::chat());
    repo.link(&link(guild_a, chat_1, 1)).await.unwrap();
    repo.link(&link(guild_b, chat_2, 2)).await.unwrap();

    let crossed = link(guild_a, chat_2, 3);
    repo.link(&crossed).await.unwrap();
    assert_eq!(repo.by_guild(guild_a).await.unwrap(), Some(crossed.clone()));
    assert_eq!(repo.by_chat(chat_2).await.unwrap(), Some(crossed));
    assert_eq!(repo.by_chat(chat_1).await.unwrap(), None);
    assert_eq!(repo.by_guild(guild_b).await.unwrap(), None);
}

/// Unlinking a chat removes its link from both sides and says whether there was one; other links
/// stay.
pub async fn unlink_chat(repo: &dyn ChatLinkRepo) {
    let (guild, chat) = (fixtures::guild(), fixtures::chat());
    let other = link(fixtures::guild(), fixtures::chat(), 1);
    repo.link(&link(guild, chat, 1)).await.unwrap();
    repo.link(&other).await.unwrap();

    assert!(repo.unlink_chat(chat).await.unwrap());
    assert_eq!(repo.by_chat(chat).await.unwrap(), None);
    assert_eq!(repo.by_guild(guild).await.unwrap(), None);
    assert!(!repo.unlink_chat(chat).await.unwrap());
    assert!(!repo.unlink_chat(fixtures::chat()).await.unwrap());
    assert_eq!(repo.by_chat(other.chat).await.unwrap(), Some(other));

    // The freed sides can be linked again.
    let relinked = link(guild, chat, 2);
    repo.link(&relinked).await.unwrap();
    assert_eq!(repo.by_guild(guild).await.unwrap(), Some(relinked));
}
