//! `FilterService`: presets and manual filters on a guild's player, live.

use std::sync::Arc;

use minstrel_domain::filters::{FilterChange, FilterKind};
use minstrel_domain::{DomainEvent, FilterSpec, GuildId, Preset};

use crate::error::MusicError;
use crate::music::MusicService;
use crate::policy::{Action, Actor, authorize};

#[derive(Debug, Clone)]
pub struct FilterService {
    music: Arc<MusicService>,
}

impl FilterService {
    pub fn new(music: Arc<MusicService>) -> Self {
        Self { music }
    }

    /// Every preset with its description, for menus and `filter list`.
    pub fn presets(&self) -> Vec<(&'static str, &'static str)> {
        Preset::ALL
            .iter()
            .map(|preset| (preset.name(), preset.description()))
            .collect()
    }

    /// Adds a preset on top of the active filters.
    pub async fn apply_preset(
        &self,
        guild: GuildId,
        actor: &Actor,
        name: &str,
    ) -> Result<FilterSpec, MusicError> {
        let preset = Preset::parse(name)?;
        self.update(guild, actor, Some(preset), false, |current| {
            Ok(current.merged_with(&preset.spec()))
        })
        .await
    }

    /// Sets parameters of one filter, typed as `distortion sinOffset=0.1 scale=2`; the
    /// parameters not named keep their current values. Several filters separated by `;`
    /// change together, or none does when one part is wrong.
    ///
    /// # Errors
    /// The parse error (one sentence naming what is allowed), or the guild allows only presets.
    pub async fn set_filter_params(
        &self,
        guild: GuildId,
        actor: &Actor,
        text: &str,
    ) -> Result<FilterSpec, MusicError> {
        let changes = FilterChange::parse_all(text)?;
        self.update(guild, actor, None, true, |current| {
            changes
                .iter()
                .try_fold(current, |spec, change| Ok(change.apply(spec)?))
        })
        .await
    }

    /// Turns one filter off (by its Lavalink name: `reverb`, `channelMix`, …), the others stay.
    ///
    /// # Errors
    /// An unknown filter name, or as [`Self::reset`].
    pub async fn remove_filter(
        &self,
        guild: GuildId,
        actor: &Actor,
        name: &str,
    ) -> Result<FilterSpec, MusicError> {
        let kind = FilterKind::parse(name)?;
        self.update(guild, actor, None, false, |current| {
            Ok(current.without(kind))
        })
        .await
    }

    /// Turns every filter off.
    pub async fn reset(&self, guild: GuildId, actor: &Actor) -> Result<FilterSpec, MusicError> {
        self.update(guild, actor, None, false, |_| Ok(FilterSpec::default()))
            .await
    }

    pub async fn active(&self, guild: GuildId) -> Result<FilterSpec, MusicError> {
        let session = self.music.session(guild).await?;
        Ok(session.lock().await.filters)
    }

    async fn update(
        &self,
        guild: GuildId,
        actor: &Actor,
        preset: Option<Preset>,
        manual: bool,
        change: impl FnOnce(FilterSpec) -> Result<FilterSpec, MusicError>,
    ) -> Result<FilterSpec, MusicError> {
        self.music.check_rate(actor)?;
        let session = self.music.session(guild).await?;
        let mut session = session.lock().await;
        authorize(actor, Action::Filter, &session.settings, None)?;
        match preset {
            Some(preset) if !session.settings.allows(preset) => {
                return Err(MusicError::FilterNotAllowed(preset.name().to_owned()));
            }
            // A server that restricts presets also rules out hand-made filters, which could
            // rebuild a forbidden preset.
            None if manual && session.settings.allowed_filters.is_some() => {
                return Err(MusicError::ManualFiltersNotAllowed);
            }
            _ => {}
        }
        let filters = change(session.filters)?;
        if session.queue.current().is_some() {
            self.music
                .ports()
                .player
                .set_filters(guild, filters)
                .await?;
        }
        session.filters = filters;
        self.music
            .ports()
            .events
            .publish(DomainEvent::FiltersChanged { guild, filters });
        self.music.persist(guild, &session).await;
        Ok(filters)
    }
}
