use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use minstrel_app::ports::{SettingsRepo, StoreError};
use minstrel_domain::{GuildId, GuildSettings, UserId, UserSettings};

use super::lock;

/// [`SettingsRepo`] kept in memory.
#[derive(Debug, Default)]
pub struct MemorySettingsRepo {
    users: Mutex<HashMap<UserId, UserSettings>>,
    guilds: Mutex<HashMap<GuildId, GuildSettings>>,
}

impl MemorySettingsRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SettingsRepo for MemorySettingsRepo {
    async fn user(&self, user: UserId) -> Result<Option<UserSettings>, StoreError> {
        Ok(lock(&self.users).get(&user).cloned())
    }

    async fn save_user(&self, settings: &UserSettings) -> Result<(), StoreError> {
        lock(&self.users).insert(settings.user_id, settings.clone());
        Ok(())
    }

    async fn guild(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError> {
        Ok(lock(&self.guilds).get(&guild).cloned())
    }

    async fn save_guild(&self, settings: &GuildSettings) -> Result<(), StoreError> {
        lock(&self.guilds).insert(settings.guild_id, settings.clone());
        Ok(())
    }
}
