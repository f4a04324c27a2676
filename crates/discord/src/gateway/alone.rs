//! Leaving a voice channel nobody listens in: once the grace period is over, the bot leaves
//! unless somebody came back or the guild stays 24/7 (`/settings stay247`).

use minstrel_app::{MusicService, SettingsService};
use minstrel_domain::GuildId;
use tracing::{debug, info, warn};

use crate::voice_state::VoiceStates;

/// Leaves `guild`'s voice channel if the bot is still alone there and the guild does not stay
/// 24/7; returns whether it left. The queue is kept, the current track back at its front, so
/// the next `/join` or `/play` carries on.
///
/// The setting is read when the grace period ends, so turning stay247 on while the bot waits
/// keeps it. When the settings cannot be read the bot stays; the idle timeout still applies.
pub(super) async fn leave_if_still_alone(
    voice: &VoiceStates,
    settings: &SettingsService,
    music: &MusicService,
    guild: GuildId,
) -> bool {
    if voice.humans_with_bot(guild) != Some(0) {
        return false;
    }
    match settings.guild(guild).await {
        Ok(settings) if settings.stay_24_7 => {
            debug!(%guild, "alone in the voice channel, staying: the guild stays 24/7");
            return false;
        }
        Ok(_) => {}
        Err(error) => {
            warn!(%guild, %error, "could not read the guild settings; staying in the voice channel");
            return false;
        }
    }
    match music.leave_keeping_queue(guild).await {
        Ok(queued) => {
            voice.set_bot_channel(guild, None);
            info!(%guild, queued, "left the voice channel: nobody was listening; the queue is kept");
            true
        }
        Err(error) => {
            warn!(%guild, %error, "could not leave an empty voice channel");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use minstrel_app::Actor;
    use minstrel_app::ports::{
        InProcessEventBus, MockHistoryRepo, MockPlayer, MockPlaylistRepo, MockQueueStore,
        MockSettingsRepo, MockTrackResolver, SettingsRepo, StoreError, SystemClock, TrackInfo,
    };
    use minstrel_app::{
        FilterService, HistoryService, MusicPorts, MusicService, PlaylistService, RateLimit,
        SearchService,
    };
    use minstrel_domain::{AddPosition, ChannelId, GuildSettings, SourceKind, UserId};
    use twilight_http::Client;

    use super::*;
    use crate::handler::{DiscordServices, InteractionHandler};

    const GUILD: u64 = 300_000_000_000_000_001;
    const CHANNEL: u64 = 600_000_000_000_000_001;
    const BOT: u64 = 500_000_000_000_000_001;
    const MEMBER: u64 = 400_000_000_000_000_001;

    fn guild() -> GuildId {
        GuildId::new(GUILD).unwrap()
    }

    /// The guild's stored settings: stay247 `on`, or a store that fails with `None`.
    fn settings_repo(stay_24_7: Option<bool>) -> Arc<dyn SettingsRepo> {
        let mut repo = MockSettingsRepo::new();
        repo.expect_guild().returning(move |guild| match stay_24_7 {
            Some(on) => {
                let mut settings = GuildSettings::new(guild);
                settings.stay_24_7 = on;
                Ok(Some(settings))
            }
            None => Err(StoreError::Unavailable("the database is down".to_owned())),
        });
        Arc::new(repo)
    }

    /// A handler whose player plays anything and must be asked to leave exactly `leaves`
    /// times; its saved queue is never deleted.
    fn handler(settings: &Arc<dyn SettingsRepo>, leaves: usize) -> InteractionHandler {
        let mut player = MockPlayer::new();
        player.expect_leave().times(leaves).returning(|_| Ok(()));
        player.expect_stop().returning(|_| Ok(()));
        player.expect_join().returning(|_, _| Ok(()));
        player.expect_play().returning(|_, _, _, _, _, _| Ok(()));
        player.expect_position().returning(|_| None);
        let mut resolver = MockTrackResolver::new();
        resolver.expect_resolve().returning(|query| {
            Ok(vec![TrackInfo {
                title: query.to_owned(),
                artist: None,
                duration: Some(Duration::from_mins(3)),
                source_kind: SourceKind::Local,
                locator: format!("{query}.wav"),
                thumbnail: None,
            }])
        });
        let mut queue_store = MockQueueStore::new();
        queue_store.expect_delete().never();
        queue_store.expect_save().returning(|_| Ok(()));
        let resolver: Arc<dyn minstrel_app::ports::TrackResolver> = Arc::new(resolver);
        let playlists: Arc<dyn minstrel_app::ports::PlaylistRepo> =
            Arc::new(MockPlaylistRepo::new());
        let history: Arc<dyn minstrel_app::ports::HistoryRepo> = Arc::new(MockHistoryRepo::new());
        let music = Arc::new(MusicService::new(
            MusicPorts {
                resolver: Arc::clone(&resolver),
                player: Arc::new(player),
                settings: Arc::clone(settings),
                playlists: Arc::clone(&playlists),
                history: Arc::clone(&history),
                queue_store: Arc::new(queue_store),
                events: Arc::new(InProcessEventBus::default()),
                clock: Arc::new(SystemClock),
            },
            RateLimit::new(10_000, Duration::from_millis(1)),
        ));
        let services = DiscordServices {
            filters: FilterService::new(Arc::clone(&music)),
            playlists: Arc::new(PlaylistService::new(
                playlists,
                Arc::clone(&resolver),
                Arc::clone(&music),
            )),
            settings: Arc::new(SettingsService::new(
                Arc::clone(settings),
                Arc::clone(&music),
            )),
            history: Arc::new(HistoryService::new(history)),
            bridge: None,
            search: Arc::new(SearchService::new(resolver)),
            preview: None,
            music,
        };
        let http = Client::builder()
            .token("Bot test-token".to_owned())
            .ratelimiter(None)
            .build();
        InteractionHandler::new(services, Arc::new(http), Arc::new(VoiceStates::default()))
    }

    /// The bot in the voice channel, with the member there too when `member_stays`.
    fn bot_in_voice(voice: &VoiceStates, member_stays: bool) {
        let channel = ChannelId::new(CHANNEL).unwrap();
        voice.set_bot_user(UserId::new(BOT).unwrap());
        voice.update(guild(), UserId::new(BOT).unwrap(), Some(channel), true);
        let member = UserId::new(MEMBER).unwrap();
        voice.update(guild(), member, Some(channel), false);
        if !member_stays {
            voice.update(guild(), member, None, false);
        }
    }

    /// Whether the bot, alone in voice (or with the member when `member_stays`), leaves with
    /// the guild's stored stay247 `stay_24_7`; its player must be asked to leave `leaves` times.
    async fn leaves_when(stay_24_7: Option<bool>, member_stays: bool, leaves: usize) -> bool {
        let handler = handler(&settings_repo(stay_24_7), leaves);
        let voice = handler.voice_states();
        bot_in_voice(voice, member_stays);
        let settings = &handler.services().settings;
        let music = &handler.services().music;
        let left = leave_if_still_alone(voice, settings, music, guild()).await;
        assert_eq!(
            voice.bot_channel(guild()).is_none(),
            left,
            "the bot's channel"
        );
        left
    }

    #[tokio::test]
    async fn a_guild_that_stays_24_7_keeps_the_bot_and_its_saved_queue_when_everyone_leaves() {
        assert!(!leaves_when(Some(true), false, 0).await);
    }

    #[tokio::test]
    async fn without_stay247_the_bot_leaves_once_nobody_listens() {
        assert!(leaves_when(Some(false), false, 1).await);
    }

    #[tokio::test]
    async fn leaving_alone_keeps_the_queue_with_the_current_track_first() {
        let handler = handler(&settings_repo(Some(false)), 1);
        let music = &handler.services().music;
        let actor = Actor::console();
        let channel = ChannelId::new(CHANNEL).unwrap();
        music.join(guild(), &actor, channel, None).await.unwrap();
        for song in ["first", "second"] {
            music
                .play(guild(), &actor, song, AddPosition::End)
                .await
                .unwrap();
        }
        let voice = handler.voice_states();
        bot_in_voice(voice, false);
        let settings = &handler.services().settings;
        assert!(leave_if_still_alone(voice, settings, music, guild()).await);
        let page = music.queue_page(guild(), 1, 10).await.unwrap();
        let titles: Vec<&str> = page
            .items
            .iter()
            .map(|(_, track)| track.title.as_str())
            .collect();
        assert_eq!(
            titles,
            ["first", "second"],
            "the queue is kept for the next /play"
        );
        assert!(page.current.is_none());
        assert_eq!(music.voice_channel(guild()).await, None);
    }

    #[tokio::test]
    async fn the_bot_stays_while_somebody_listens_or_when_the_settings_cannot_be_read() {
        assert!(!leaves_when(Some(false), true, 0).await);
        assert!(!leaves_when(None, false, 0).await);
    }
}
