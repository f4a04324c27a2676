//! Who sits in which voice channel, from `GUILD_CREATE` and `VOICE_STATE_UPDATE` (intent
//! `GUILD_VOICE_STATES`): `/join` without an option, `/play` auto-join and the vote-skip count.

use std::collections::HashMap;
use std::sync::Mutex;

use minstrel_domain::{ChannelId, GuildId, UserId};

use crate::join_check::JoinCheck;

#[derive(Debug, Default)]
struct Inner {
    members: HashMap<(GuildId, UserId), (ChannelId, bool)>,
    bot_user: Option<UserId>,
    bot_channels: HashMap<GuildId, ChannelId>,
}

/// The voice channels of guild members, kept from gateway events.
#[derive(Debug, Default)]
pub struct VoiceStates {
    inner: Mutex<Inner>,
    join_check: JoinCheck,
}

impl VoiceStates {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps what the join check needs from every gateway event.
    pub fn observe(&self, event: &twilight_gateway::Event) {
        self.join_check.observe(event);
    }

    /// Why the bot may not join `channel` (missing permissions, a full channel), in one
    /// sentence; `None` when it may, or when the gateway has not said enough to know.
    pub fn join_refusal(&self, guild: GuildId, channel: ChannelId) -> Option<String> {
        self.join_check.refusal(guild, channel)
    }

    /// The bot's own user, from READY: its voice states say where the bot is.
    pub fn set_bot_user(&self, user: UserId) {
        self.lock().bot_user = Some(user);
    }

    /// A member moved to `channel` (`None`: left voice).
    pub fn update(&self, guild: GuildId, user: UserId, channel: Option<ChannelId>, is_bot: bool) {
        let mut inner = self.lock();
        if inner.bot_user == Some(user) {
            match channel {
                Some(channel) => inner.bot_channels.insert(guild, channel),
                None => inner.bot_channels.remove(&guild),
            };
            return;
        }
        match channel {
            Some(channel) => inner.members.insert((guild, user), (channel, is_bot)),
            None => inner.members.remove(&(guild, user)),
        };
    }

    /// Forgets a guild the bot left or lost.
    pub fn forget_guild(&self, guild: GuildId) {
        let mut inner = self.lock();
        inner
            .members
            .retain(|(member_guild, _), _| *member_guild != guild);
        inner.bot_channels.remove(&guild);
    }

    pub fn channel_of(&self, guild: GuildId, user: UserId) -> Option<ChannelId> {
        self.lock()
            .members
            .get(&(guild, user))
            .map(|(channel, _)| *channel)
    }

    pub fn bot_channel(&self, guild: GuildId) -> Option<ChannelId> {
        self.lock().bot_channels.get(&guild).copied()
    }

    /// The bot's own user, once READY said it.
    pub fn bot_user(&self) -> Option<UserId> {
        self.lock().bot_user
    }

    /// Every guild where the bot is in a voice channel (left at shutdown).
    pub fn bot_guilds(&self) -> Vec<GuildId> {
        self.lock().bot_channels.keys().copied().collect()
    }

    /// Where the player was connected (`None`: disconnected).
    pub fn set_bot_channel(&self, guild: GuildId, channel: Option<ChannelId>) {
        let mut inner = self.lock();
        match channel {
            Some(channel) => inner.bot_channels.insert(guild, channel),
            None => inner.bot_channels.remove(&guild),
        };
    }

    /// The people (not bots) in the bot's voice channel, `None` while the bot is in none.
    pub fn humans_in_bot_channel(&self, guild: GuildId) -> Option<Vec<UserId>> {
        let inner = self.lock();
        let channel = inner.bot_channels.get(&guild)?;
        Some(
            inner
                .members
                .iter()
                .filter(|((member_guild, _), (member_channel, is_bot))| {
                    *member_guild == guild && member_channel == channel && !is_bot
                })
                .map(|((_, user), _)| *user)
                .collect(),
        )
    }

    /// How many people (not bots) are in the bot's voice channel, `None` while it is in none.
    pub fn humans_with_bot(&self, guild: GuildId) -> Option<usize> {
        self.humans_in_bot_channel(guild).map(|humans| humans.len())
    }

    /// People (not bots) in the bot's voice channel; at least 1, so a vote can pass.
    pub fn listeners(&self, guild: GuildId) -> usize {
        self.humans_with_bot(guild).unwrap_or(1).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_count_people_in_the_bots_channel() {
        let states = VoiceStates::default();
        let guild = GuildId::new(1).unwrap();
        let (music, other) = (ChannelId::new(10).unwrap(), ChannelId::new(11).unwrap());
        let bot = UserId::new(99).unwrap();
        states.set_bot_user(bot);
        assert_eq!(states.listeners(guild), 1);
        states.update(guild, bot, Some(music), true);
        for (user, channel, is_bot) in [
            (1, music, false),
            (2, music, false),
            (3, other, false),
            (4, music, true),
        ] {
            states.update(guild, UserId::new(user).unwrap(), Some(channel), is_bot);
        }
        assert_eq!(states.bot_channel(guild), Some(music));
        assert_eq!(states.listeners(guild), 2);
        let mut humans = states.humans_in_bot_channel(guild).unwrap();
        humans.sort_unstable();
        assert_eq!(humans, [UserId::new(1).unwrap(), UserId::new(2).unwrap()]);
        assert_eq!(states.humans_in_bot_channel(GuildId::new(2).unwrap()), None);
        states.update(guild, UserId::new(2).unwrap(), None, false);
        assert_eq!(states.listeners(guild), 1);
        assert_eq!(
            states.channel_of(guild, UserId::new(3).unwrap()),
            Some(other)
        );
    }
}
