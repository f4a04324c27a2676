use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{Cache, SettingsRepo, StoreError};
use minstrel_app::{Outbox, Written, outbox_write};
use minstrel_domain::{
    ChannelId, GuildId, GuildSettings, Preset, RoleId, UserId, UserSettings, Volume,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::read_through;

/// A [`SettingsRepo`] decorator: reads through the cache (`user_settings:{user}`,
/// `guild_settings:{guild}`), writes to the inner repository first and deletes the key only
/// once it took the write.
///
/// "Never saved" is cached too, since `play` reads every requester's settings and most never
/// save any. A cache that fails never fails a call: the inner repository answers.
///
/// With an [`Outbox`] ([`CachedSettingsRepo::with_outbox`]) a save the database cannot take
/// while it is away is held there, and the saved value is put in the cache, so the user reads
/// back what they saved until the outbox delivers it (which then deletes the key as usual).
#[derive(Clone)]
pub struct CachedSettingsRepo {
    inner: Arc<dyn SettingsRepo>,
    cache: Arc<dyn Cache>,
    outbox: Option<Outbox>,
}

impl CachedSettingsRepo {
    pub fn new(inner: Arc<dyn SettingsRepo>, cache: Arc<dyn Cache>) -> Self {
        Self {
            inner,
            cache,
            outbox: None,
        }
    }

    /// A read of either kind: the cached entry when `cached` turns it into the settings asked
    /// for ("never saved" is cached too); otherwise, or when it does not fit, the inner
    /// repository's answer from `load`, which then fills the cache as `stored`.
    async fn read_through<V, S>(
        &self,
        key: String,
        cached: impl FnOnce(S) -> Option<V>,
        load: impl Future<Output = Result<Option<V>, StoreError>>,
        stored: impl Fn(&V) -> S,
        ttl: Duration,
    ) -> Result<Option<V>, StoreError>
    where
        S: Serialize + DeserializeOwned,
    {
        match read_through::read::<Option<S>>(self.cache.as_ref(), &key).await {
            Some(None) => return Ok(None),
            Some(Some(entry)) => {
                if let Some(settings) = cached(entry) {
                    return Ok(Some(settings));
                }
                tracing::debug!(key, "a cached entry does not fit; asking the repository");
            }
            None => {}
        }
        let settings = load.await?;
        let entry = settings.as_ref().map(stored);
        read_through::fill(self.cache.as_ref(), &key, &entry, ttl).await;
        Ok(settings)
    }

    /// A save of either kind: to the inner repository first, then the key is deleted. With an
    /// outbox, a save the database cannot take now waits there and the cache holds
    /// `stored(value)` meanwhile, so the user reads back what they saved.
    async fn save_through<V, S, Fut>(
        &self,
        what: &'static str,
        key: String,
        value: &V,
        stored: impl FnOnce(&V) -> S,
        ttl: Duration,
        save: impl Fn(Arc<dyn SettingsRepo>, Arc<V>) -> Fut + Send + Sync + 'static,
    ) -> Result<(), StoreError>
    where
        V: Clone + Send + Sync + 'static,
        S: Serialize,
        Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let Some(outbox) = &self.outbox else {
            save(Arc::clone(&self.inner), Arc::new(value.clone())).await?;
            read_through::invalidate(self.cache.as_ref(), &key).await;
            return Ok(());
        };
        let (inner, cache) = (Arc::clone(&self.inner), Arc::clone(&self.cache));
        let (saved, write_key) = (Arc::new(value.clone()), key.clone());
        let write = outbox_write(move || {
            let (inner, cache) = (Arc::clone(&inner), Arc::clone(&cache));
            let (saved, key) = (Arc::clone(&saved), write_key.clone());
            let saving = save(inner, saved);
            async move {
                saving.await?;
                read_through::invalidate(cache.as_ref(), &key).await;
                Ok(())
            }
        });
        if outbox.submit(what, Some(key.clone()), write).await? == Written::Held {
            read_through::fill(self.cache.as_ref(), &key, &stored(value), ttl).await;
        }
        Ok(())
    }

    /// Sends the saves through `outbox`.
    #[must_use]
    pub fn with_outbox(mut self, outbox: Outbox) -> Self {
        self.outbox = Some(outbox);
        self
    }
}

impl std::fmt::Debug for CachedSettingsRepo {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CachedSettingsRepo")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SettingsRepo for CachedSettingsRepo {
    async fn user(&self, user: UserId) -> Result<Option<UserSettings>, StoreError> {
        self.read_through(
            keys::user_settings(user),
            |stored: StoredUserSettings| {
                stored
                    .into_settings()
                    .filter(|settings| settings.user_id == user)
            },
            self.inner.user(user),
            StoredUserSettings::from_settings,
            keys::USER_SETTINGS_TTL,
        )
        .await
    }

    async fn save_user(&self, settings: &UserSettings) -> Result<(), StoreError> {
        self.save_through(
            "user settings",
            keys::user_settings(settings.user_id),
            settings,
            |settings| Some(StoredUserSettings::from_settings(settings)),
            keys::USER_SETTINGS_TTL,
            |inner, saved| async move { inner.save_user(&saved).await },
        )
        .await
    }

    async fn guild(&self, guild: GuildId) -> Result<Option<GuildSettings>, StoreError> {
        self.read_through(
            keys::guild_settings(guild),
            |stored: StoredGuildSettings| {
                stored
                    .into_settings()
                    .filter(|settings| settings.guild_id == guild)
            },
            self.inner.guild(guild),
            StoredGuildSettings::from_settings,
            keys::GUILD_SETTINGS_TTL,
        )
        .await
    }

    async fn save_guild(&self, settings: &GuildSettings) -> Result<(), StoreError> {
        self.save_through(
            "guild settings",
            keys::guild_settings(settings.guild_id),
            settings,
            |settings| Some(StoredGuildSettings::from_settings(settings)),
            keys::GUILD_SETTINGS_TTL,
            |inner, saved| async move { inner.save_guild(&saved).await },
        )
        .await
    }
}

// The cached shapes. The domain types stay free of serde; these carry plain values and go back
// through the domain's own constructors and setters, so a damaged entry is a miss, never an
// invalid value.

#[derive(Debug, Serialize, Deserialize)]
struct StoredUserSettings {
    user_id: u64,
    default_volume: u16,
    preferred_filters: Vec<String>,
    autoplay: bool,
}

impl StoredUserSettings {
    fn from_settings(settings: &UserSettings) -> Self {
        Self {
            user_id: settings.user_id.get(),
            default_volume: settings.default_volume.percent(),
            preferred_filters: preset_names(&settings.preferred_filters),
            autoplay: settings.autoplay,
        }
    }

    fn into_settings(self) -> Option<UserSettings> {
        Some(UserSettings {
            user_id: UserId::new(self.user_id).ok()?,
            default_volume: Volume::new(i64::from(self.default_volume)).ok()?,
            preferred_filters: presets(&self.preferred_filters)?,
            autoplay: self.autoplay,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredGuildSettings {
    guild_id: u64,
    max_queue: usize,
    default_volume: u16,
    allowed_filters: Option<Vec<String>>,
    dj_role: Option<u64>,
    stay_24_7: bool,
    idle_timeout_ms: u64,
    vote_skip_ratio: f32,
    normalisation: bool,
    locale: String,
    /// Absent from entries cached before it existed.
    #[serde(default)]
    default_voice_channel: Option<u64>,
}

impl StoredGuildSettings {
    fn from_settings(settings: &GuildSettings) -> Self {
        Self {
            guild_id: settings.guild_id.get(),
            max_queue: settings.max_queue(),
            default_volume: settings.default_volume.percent(),
            allowed_filters: settings.allowed_filters.as_deref().map(preset_names),
            dj_role: settings.dj_role.map(RoleId::get),
            stay_24_7: settings.stay_24_7,
            idle_timeout_ms: u64::try_from(settings.idle_timeout().as_millis()).unwrap_or(u64::MAX),
            vote_skip_ratio: settings.vote_skip_ratio(),
            normalisation: settings.normalisation,
            locale: settings.locale.clone(),
            default_voice_channel: settings.default_voice_channel.map(ChannelId::get),
        }
    }

    fn into_settings(self) -> Option<GuildSettings> {
        let mut settings = GuildSettings::new(GuildId::new(self.guild_id).ok()?);
        settings.set_max_queue(self.max_queue).ok()?;
        settings.default_volume = Volume::new(i64::from(self.default_volume)).ok()?;
        settings.allowed_filters = match self.allowed_filters {
            Some(names) => Some(presets(&names)?),
            None => None,
        };
        settings.dj_role = match self.dj_role {
            Some(role) => Some(RoleId::new(role).ok()?),
            None => None,
        };
        settings.stay_24_7 = self.stay_24_7;
        settings
            .set_idle_timeout(Duration::from_millis(self.idle_timeout_ms))
            .ok()?;
        settings.set_vote_skip_ratio(self.vote_skip_ratio).ok()?;
        settings.normalisation = self.normalisation;
        settings.locale = self.locale;
        settings.default_voice_channel = match self.default_voice_channel {
            Some(channel) => Some(ChannelId::new(channel).ok()?),
            None => None,
        };
        Some(settings)
    }
}

fn preset_names(presets: &[Preset]) -> Vec<String> {
    presets
        .iter()
        .map(|preset| preset.name().to_owned())
        .collect()
}

fn presets(names: &[String]) -> Option<Vec<Preset>> {
    names.iter().map(|name| Preset::parse(name).ok()).collect()
}
