use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use minstrel_app::ports::{StoreError, TelegramMember, TelegramMemberRepo};
use minstrel_domain::{TelegramChatId, TelegramUserId};

use super::lock;

/// [`TelegramMemberRepo`] kept in memory.
#[derive(Debug, Default)]
pub struct MemoryTelegramMemberRepo {
    members: Mutex<BTreeMap<(TelegramChatId, TelegramUserId), TelegramMember>>,
}

impl MemoryTelegramMemberRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TelegramMemberRepo for MemoryTelegramMemberRepo {
    async fn upsert(&self, member: &TelegramMember) -> Result<(), StoreError> {
        lock(&self.members).insert((member.chat, member.user), member.clone());
        Ok(())
    }

    async fn list(&self, chat: TelegramChatId) -> Result<Vec<TelegramMember>, StoreError> {
        let mut members: Vec<TelegramMember> = lock(&self.members)
            .values()
            .filter(|member| member.chat == chat)
            .cloned()
            .collect();
        members.sort_by_key(|member| (member.display_name().to_lowercase(), member.user));
        Ok(members)
    }

    async fn remove(&self, chat: TelegramChatId, user: TelegramUserId) -> Result<(), StoreError> {
        lock(&self.members).remove(&(chat, user));
        Ok(())
    }

    async fn move_chat(&self, from: TelegramChatId, to: TelegramChatId) -> Result<(), StoreError> {
        let mut members = lock(&self.members);
        let moved: Vec<TelegramMember> = members
            .extract_if(.., |(chat, _), _| *chat == from)
            .map(|(_, member)| TelegramMember { chat: to, ..member })
            .collect();
        for member in moved {
            members.insert((to, member.user), member);
        }
        Ok(())
    }
}
