use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use minstrel_app::ports::{ChatLink, ChatLinkRepo, StoreError};
use minstrel_domain::{GuildId, TelegramChatId};

use super::lock;

/// [`ChatLinkRepo`] kept in memory. A guild has at most one chat and a chat at most one guild.
#[derive(Debug, Default)]
pub struct MemoryChatLinkRepo {
    links: Mutex<Links>,
}

/// Both directions of the one-to-one relation, always changed together under one lock.
#[derive(Debug, Default)]
struct Links {
    by_guild: HashMap<GuildId, ChatLink>,
    guild_of_chat: HashMap<TelegramChatId, GuildId>,
}

impl Links {
    fn remove_guild(&mut self, guild: GuildId) -> Option<ChatLink> {
        let link = self.by_guild.remove(&guild)?;
        self.guild_of_chat.remove(&link.chat);
        Some(link)
    }

    fn remove_chat(&mut self, chat: TelegramChatId) -> Option<ChatLink> {
        let guild = self.guild_of_chat.remove(&chat)?;
        self.by_guild.remove(&guild)
    }
}

impl MemoryChatLinkRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ChatLinkRepo for MemoryChatLinkRepo {
    async fn link(&self, link: &ChatLink) -> Result<(), StoreError> {
        let mut links = lock(&self.links);
        links.remove_guild(link.guild);
        links.remove_chat(link.chat);
        links.guild_of_chat.insert(link.chat, link.guild);
        links.by_guild.insert(link.guild, link.clone());
        Ok(())
    }

    async fn unlink_chat(&self, chat: TelegramChatId) -> Result<bool, StoreError> {
        Ok(lock(&self.links).remove_chat(chat).is_some())
    }

    async fn by_guild(&self, guild: GuildId) -> Result<Option<ChatLink>, StoreError> {
        Ok(lock(&self.links).by_guild.get(&guild).cloned())
    }

    async fn by_chat(&self, chat: TelegramChatId) -> Result<Option<ChatLink>, StoreError> {
        let links = lock(&self.links);
        Ok(links
            .guild_of_chat
            .get(&chat)
            .and_then(|guild| links.by_guild.get(guild))
            .cloned())
    }
}
