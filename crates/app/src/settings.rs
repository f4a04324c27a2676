//! `SettingsService` (user and guild settings) and `HistoryService`.

use std::sync::Arc;
use std::time::Duration;

use minstrel_domain::{
    ChannelId, GuildId, GuildSettings, HistoryEntry, Preset, RoleId, UserId, UserSettings, Volume,
};

use crate::error::MusicError;
use crate::music::MusicService;
use crate::policy::{Action, Actor, authorize};
use crate::ports::{HistoryRepo, SettingsRepo};

/// One change to a guild's settings.
#[derive(Debug, Clone, PartialEq)]
pub enum GuildSettingChange {
    MaxQueue(usize),
    DefaultVolume(i64),
    DjRole(Option<RoleId>),
    Stay247(bool),
    /// The channel a play from a linked Telegram chat joins; `None` removes it.
    DefaultVoiceChannel(Option<ChannelId>),
    IdleTimeout(Duration),
    VoteSkipRatio(f32),
    Normalisation(bool),
    /// Preset names; `None` allows every preset.
    AllowedFilters(Option<Vec<String>>),
}

pub struct SettingsService {
    settings: Arc<dyn SettingsRepo>,
    music: Arc<MusicService>,
}

impl SettingsService {
    pub fn new(settings: Arc<dyn SettingsRepo>, music: Arc<MusicService>) -> Self {
        Self { settings, music }
    }

    pub async fn user(&self, user: UserId) -> Result<UserSettings, MusicError> {
        Ok(self
            .settings
            .user(user)
            .await?
            .unwrap_or_else(|| UserSettings::new(user)))
    }

    pub async fn set_user_volume(
        &self,
        user: UserId,
        percent: i64,
    ) -> Result<UserSettings, MusicError> {
        let volume = Volume::new(percent)?;
        let mut settings = self.user(user).await?;
        settings.default_volume = volume;
        self.settings.save_user(&settings).await?;
        Ok(settings)
    }

    /// Replaces the user's preferred presets (empty clears them).
    pub async fn set_user_filters(
        &self,
        user: UserId,
        names: &[String],
    ) -> Result<UserSettings, MusicError> {
        let presets = names
            .iter()
            .map(|name| Preset::parse(name))
            .collect::<Result<Vec<_>, _>>()?;
        let mut settings = self.user(user).await?;
        settings.preferred_filters = presets;
        self.settings.save_user(&settings).await?;
        Ok(settings)
    }

    pub async fn set_user_autoplay(
        &self,
        user: UserId,
        autoplay: bool,
    ) -> Result<UserSettings, MusicError> {
        let mut settings = self.user(user).await?;
        settings.autoplay = autoplay;
        self.settings.save_user(&settings).await?;
        Ok(settings)
    }

    pub async fn guild(&self, guild: GuildId) -> Result<GuildSettings, MusicError> {
        Ok(self
            .settings
            .guild(guild)
            .await?
            .unwrap_or_else(|| GuildSettings::new(guild)))
    }

    /// Changes one guild setting; only server managers may.
    pub async fn update_guild(
        &self,
        guild: GuildId,
        actor: &Actor,
        change: GuildSettingChange,
    ) -> Result<GuildSettings, MusicError> {
        let mut settings = self.guild(guild).await?;
        authorize(actor, Action::ChangeGuildSettings, &settings, None)?;
        match change {
            GuildSettingChange::MaxQueue(value) => settings.set_max_queue(value)?,
            GuildSettingChange::DefaultVolume(percent) => {
                settings.default_volume = Volume::new(percent)?;
            }
            GuildSettingChange::DjRole(role) => settings.dj_role = role,
            GuildSettingChange::Stay247(on) => settings.stay_24_7 = on,
            GuildSettingChange::DefaultVoiceChannel(channel) => {
                settings.default_voice_channel = channel;
            }
            GuildSettingChange::IdleTimeout(timeout) => settings.set_idle_timeout(timeout)?,
            GuildSettingChange::VoteSkipRatio(ratio) => settings.set_vote_skip_ratio(ratio)?,
            GuildSettingChange::Normalisation(on) => settings.normalisation = on,
            GuildSettingChange::AllowedFilters(names) => {
                settings.allowed_filters = names
                    .map(|names| {
                        names
                            .iter()
                            .map(|name| Preset::parse(name))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()?;
            }
        }
        self.settings.save_guild(&settings).await?;
        self.music.refresh_settings(settings.clone()).await;
        Ok(settings)
    }
}

impl std::fmt::Debug for SettingsService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SettingsService")
            .finish_non_exhaustive()
    }
}

pub struct HistoryService {
    history: Arc<dyn HistoryRepo>,
}

impl HistoryService {
    pub const PER_PAGE: usize = 10;

    pub fn new(history: Arc<dyn HistoryRepo>) -> Self {
        Self { history }
    }

    /// One page (1-based) of a user's history, newest first.
    pub async fn page(&self, user: UserId, page: usize) -> Result<Vec<HistoryEntry>, MusicError> {
        Ok(self
            .history
            .for_user(
                user,
                page.saturating_sub(1) * Self::PER_PAGE,
                Self::PER_PAGE,
            )
            .await?)
    }
}

impl std::fmt::Debug for HistoryService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("HistoryService")
            .finish_non_exhaustive()
    }
}
