//! Checks for [`SettingsRepo`] adapters.

use std::time::Duration;

use minstrel_app::ports::SettingsRepo;
use minstrel_domain::{ChannelId, GuildSettings, Preset, RoleId, UserSettings, Volume};

use super::fixtures;

pub async fn all(repo: &dyn SettingsRepo) {
    unknown_user_and_guild_have_none(repo).await;
    user_settings_roundtrip(repo).await;
    guild_settings_roundtrip(repo).await;
}

/// A user or guild that never saved anything has `None`, not defaults and not an error.
pub async fn unknown_user_and_guild_have_none(repo: &dyn SettingsRepo) {
    assert_eq!(repo.user(fixtures::user()).await.unwrap(), None);
    assert_eq!(repo.guild(fixtures::guild()).await.unwrap(), None);
}

/// Saved user settings come back equal; saving again replaces them; other users are untouched.
pub async fn user_settings_roundtrip(repo: &dyn SettingsRepo) {
    let mut settings = UserSettings::new(fixtures::user());
    settings.default_volume = Volume::new(35).unwrap();
    settings.preferred_filters = vec![Preset::Nightcore, Preset::BassBoostLow];
    settings.autoplay = true;
    repo.save_user(&settings).await.unwrap();
    assert_eq!(
        repo.user(settings.user_id).await.unwrap(),
        Some(settings.clone())
    );

    settings.preferred_filters = Vec::new();
    settings.autoplay = false;
    settings.default_volume = Volume::new(200).unwrap();
    repo.save_user(&settings).await.unwrap();
    assert_eq!(
        repo.user(settings.user_id).await.unwrap(),
        Some(settings.clone())
    );

    let other = UserSettings::new(fixtures::user());
    repo.save_user(&other).await.unwrap();
    assert_eq!(repo.user(settings.user_id).await.unwrap(), Some(settings));
    assert_eq!(repo.user(other.user_id).await.unwrap(), Some(other));
}

/// Saved guild settings come back equal, including every validated field, and saving again
/// replaces them.
pub async fn guild_settings_roundtrip(repo: &dyn SettingsRepo) {
    let defaults = GuildSettings::new(fixtures::guild());
    repo.save_guild(&defaults).await.unwrap();
    assert_eq!(repo.guild(defaults.guild_id).await.unwrap(), Some(defaults));

    let mut settings = GuildSettings::new(fixtures::guild());
    settings.set_max_queue(42).unwrap();
    settings.default_volume = Volume::new(0).unwrap();
    settings.allowed_filters = Some(vec![Preset::Slow, Preset::Reverb]);
    settings.dj_role = Some(RoleId::new(fixtures::unique()).unwrap());
    settings.stay_24_7 = true;
    settings.set_idle_timeout(Duration::from_secs(90)).unwrap();
    settings.set_vote_skip_ratio(0.75).unwrap();
    settings.normalisation = false;
    "pt-BR".clone_into(&mut settings.locale);
    settings.default_voice_channel = Some(ChannelId::new(fixtures::unique()).unwrap());
    repo.save_guild(&settings).await.unwrap();
    assert_eq!(
        repo.guild(settings.guild_id).await.unwrap(),
        Some(settings.clone())
    );

    // An empty allow-list (nothing allowed) differs from `None` (everything allowed).
    settings.allowed_filters = Some(Vec::new());
    settings.dj_role = None;
    settings.default_voice_channel = None;
    repo.save_guild(&settings).await.unwrap();
    assert_eq!(repo.guild(settings.guild_id).await.unwrap(), Some(settings));
}
