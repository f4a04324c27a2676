//! Per-user and per-guild settings with their validated defaults.

use std::time::Duration;

use crate::filters::{FilterSpec, Preset};
use crate::ids::{ChannelId, GuildId, RoleId, UserId};
use crate::volume::Volume;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("the maximum queue size must be between 1 and {max} (got {value})", max = GuildSettings::MAX_QUEUE_LIMIT)]
    MaxQueue { value: usize },
    #[error("the vote-skip ratio must be between 0 and 1 (got {value})")]
    VoteSkipRatio { value: f32 },
    #[error("the idle timeout must be between 10 seconds and 24 hours (got {seconds} s)")]
    IdleTimeout { seconds: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserSettings {
    pub user_id: UserId,
    pub default_volume: Volume,
    /// Presets applied when this user starts playback.
    pub preferred_filters: Vec<Preset>,
    pub autoplay: bool,
}

impl UserSettings {
    pub fn new(user_id: UserId) -> Self {
        Self {
            user_id,
            default_volume: Volume::DEFAULT,
            preferred_filters: Vec::new(),
            autoplay: false,
        }
    }

    pub fn preferred_spec(&self) -> FilterSpec {
        self.preferred_filters
            .iter()
            .fold(FilterSpec::default(), |spec, preset| {
                spec.merged_with(&preset.spec())
            })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GuildSettings {
    pub guild_id: GuildId,
    max_queue: usize,
    pub default_volume: Volume,
    /// `None` = every preset is allowed.
    pub allowed_filters: Option<Vec<Preset>>,
    pub dj_role: Option<RoleId>,
    pub stay_24_7: bool,
    idle_timeout: Duration,
    vote_skip_ratio: f32,
    pub normalisation: bool,
    pub locale: String,
    /// The voice channel the player joins when a command from outside Discord (a linked
    /// Telegram chat) asks it to play while it is in none and has not been in one since it
    /// started.
    pub default_voice_channel: Option<ChannelId>,
}

impl GuildSettings {
    pub const MAX_QUEUE_LIMIT: usize = 10_000;
    pub const DEFAULT_MAX_QUEUE: usize = 500;
    /// The longest idle timeout [`GuildSettings::set_idle_timeout`] accepts.
    pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_hours(24);

    pub fn new(guild_id: GuildId) -> Self {
        Self {
            guild_id,
            max_queue: Self::DEFAULT_MAX_QUEUE,
            default_volume: Volume::DEFAULT,
            allowed_filters: None,
            dj_role: None,
            default_voice_channel: None,
            stay_24_7: false,
            idle_timeout: Duration::from_mins(5),
            vote_skip_ratio: 0.5,
            normalisation: true,
            locale: "en".to_owned(),
        }
    }

    pub fn max_queue(&self) -> usize {
        self.max_queue
    }

    pub fn set_max_queue(&mut self, value: usize) -> Result<(), SettingsError> {
        if value == 0 || value > Self::MAX_QUEUE_LIMIT {
            return Err(SettingsError::MaxQueue { value });
        }
        self.max_queue = value;
        Ok(())
    }

    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    pub fn set_idle_timeout(&mut self, timeout: Duration) -> Result<(), SettingsError> {
        let seconds = timeout.as_secs();
        if !(10..=Self::MAX_IDLE_TIMEOUT.as_secs()).contains(&seconds) {
            return Err(SettingsError::IdleTimeout { seconds });
        }
        self.idle_timeout = timeout;
        Ok(())
    }

    pub fn vote_skip_ratio(&self) -> f32 {
        self.vote_skip_ratio
    }

    pub fn set_vote_skip_ratio(&mut self, ratio: f32) -> Result<(), SettingsError> {
        if !ratio.is_finite() || !(0.0..=1.0).contains(&ratio) {
            return Err(SettingsError::VoteSkipRatio { value: ratio });
        }
        self.vote_skip_ratio = ratio;
        Ok(())
    }

    pub fn allows(&self, preset: Preset) -> bool {
        self.allowed_filters
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&preset))
    }

    /// Votes needed to skip when `listeners` people (bots excluded) are in the channel.
    pub fn votes_needed(&self, listeners: usize) -> usize {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let needed = (listeners as f32 * self.vote_skip_ratio).ceil() as usize;
        needed.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guild() -> GuildSettings {
        GuildSettings::new(GuildId::new(1).unwrap())
    }

    #[test]
    fn guild_settings_validate() {
        let mut settings = guild();
        assert!(settings.set_max_queue(0).is_err());
        assert!(settings.set_max_queue(20_000).is_err());
        settings.set_max_queue(50).unwrap();
        assert_eq!(settings.max_queue(), 50);
        assert!(settings.set_vote_skip_ratio(1.5).is_err());
        assert!(settings.set_vote_skip_ratio(f32::NAN).is_err());
        assert!(settings.set_idle_timeout(Duration::from_secs(1)).is_err());
        settings.set_vote_skip_ratio(0.5).unwrap();
        assert_eq!(settings.votes_needed(5), 3);
        assert_eq!(settings.votes_needed(0), 1);
    }

    #[test]
    fn allowed_filters() {
        let mut settings = guild();
        assert!(settings.allows(Preset::Nightcore));
        settings.allowed_filters = Some(vec![Preset::Slow]);
        assert!(!settings.allows(Preset::Nightcore));
        assert!(settings.allows(Preset::Slow));
    }

    #[test]
    fn preferred_filters_combine() {
        let mut user = UserSettings::new(UserId::new(7).unwrap());
        user.preferred_filters = vec![Preset::Nightcore, Preset::BassBoostLow];
        let spec = user.preferred_spec();
        assert!(spec.timescale.is_some() && spec.bass_boost.is_some());
    }
}
