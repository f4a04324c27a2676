//! Who is around in a guild, for the other front-ends (Telegram's `/list`), from the gateway
//! events the bot already receives without privileged intents.
//!
//! Presence (online, idle, do-not-disturb) needs `GUILD_PRESENCES` and `GUILD_MEMBERS`, which
//! Discord makes privileged; minstrel asks only for `GUILDS | GUILD_VOICE_STATES`. What those
//! do give: `GUILD_CREATE` carries the guild's voice states, its channels, and the members in
//! voice channels (Discord sends just those and the bot when it withholds presences), and every
//! `VOICE_STATE_UPDATE` carries the member. Somebody in a voice channel is certainly online,
//! so the directory lists exactly them and says so ([`MemberListScope::InVoice`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use minstrel_app::ports::{
    GuildDirectory, GuildMemberInfo, GuildMemberList, MemberListScope, StoreError,
};
use minstrel_domain::{ChannelId, GuildId, UserId};
use twilight_gateway::Event;
use twilight_model::gateway::payload::incoming::GuildCreate;
use twilight_model::guild::Member;
use twilight_model::voice::VoiceState;

#[derive(Debug, Clone)]
struct Person {
    name: String,
    is_bot: bool,
}

#[derive(Debug, Default)]
struct Guild {
    channel_names: HashMap<ChannelId, String>,
    people: HashMap<UserId, Person>,
    in_voice: HashMap<UserId, ChannelId>,
}

#[derive(Debug, Default)]
struct Inner {
    bot_user: Option<UserId>,
    /// Only guilds whose `GUILD_CREATE` arrived: for the others nothing is known.
    guilds: HashMap<GuildId, Guild>,
}

/// A [`GuildDirectory`] of the members in each guild's voice channels, fed with every gateway
/// event by [`VoiceChannelDirectory::observe`].
#[derive(Debug, Default)]
pub struct VoiceChannelDirectory {
    inner: Mutex<Inner>,
}

impl VoiceChannelDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes in what a gateway event says about guilds, members and voice channels; any other
    /// event is ignored.
    pub fn observe(&self, event: &Event) {
        match event {
            Event::Ready(ready) => {
                if let Ok(bot) = UserId::new(ready.user.id.get()) {
                    self.lock().bot_user = Some(bot);
                }
            }
            Event::GuildCreate(created) => {
                if let GuildCreate::Available(guild) = created.as_ref() {
                    self.guild_created(guild);
                }
            }
            Event::GuildDelete(deleted) => {
                if let Ok(guild) = GuildId::new(deleted.id.get()) {
                    self.lock().guilds.remove(&guild);
                }
            }
            Event::VoiceStateUpdate(update) => {
                if let Some(guild) = update.0.guild_id {
                    self.voice_state(guild.get(), &update.0);
                }
            }
            _ => {}
        }
    }

    /// A full snapshot of the guild: replaces whatever was known about it.
    fn guild_created(&self, created: &twilight_model::guild::Guild) {
        let Ok(id) = GuildId::new(created.id.get()) else {
            return;
        };
        let mut guild = Guild::default();
        for channel in &created.channels {
            if let (Ok(channel_id), Some(name)) = (ChannelId::new(channel.id.get()), &channel.name)
            {
                guild.channel_names.insert(channel_id, name.clone());
            }
        }
        for member in &created.members {
            if let Ok(user) = UserId::new(member.user.id.get()) {
                guild.people.insert(user, person(member));
            }
        }
        self.lock().guilds.insert(id, guild);
        for state in &created.voice_states {
            self.voice_state(created.id.get(), state);
        }
    }

    fn voice_state(&self, guild: u64, state: &VoiceState) {
        let (Ok(guild), Ok(user)) = (GuildId::new(guild), UserId::new(state.user_id.get())) else {
            return;
        };
        let mut inner = self.lock();
        // Voice updates of a guild whose snapshot has not arrived start it: what is in voice
        // is known even if the channel names are not.
        let guild = inner.guilds.entry(guild).or_default();
        if let Some(member) = &state.member {
            guild.people.insert(user, person(member));
        }
        match state
            .channel_id
            .and_then(|channel| ChannelId::new(channel.get()).ok())
        {
            Some(channel) => guild.in_voice.insert(user, channel),
            None => guild.in_voice.remove(&user),
        };
    }

    /// The humans in `guild`'s voice channels, by name; `None` while nothing is known about it.
    pub fn in_voice(&self, guild: GuildId) -> Option<Vec<GuildMemberInfo>> {
        let inner = self.lock();
        let known = inner.guilds.get(&guild)?;
        let mut members: Vec<GuildMemberInfo> = known
            .in_voice
            .iter()
            .filter(|(user, _)| Some(**user) != inner.bot_user)
            .filter(|(user, _)| !known.people.get(user).is_some_and(|person| person.is_bot))
            .map(|(user, channel)| GuildMemberInfo {
                user: *user,
                display_name: known
                    .people
                    .get(user)
                    .map_or_else(|| format!("user {user}"), |person| person.name.clone()),
                voice_channel: known.channel_names.get(channel).cloned(),
            })
            .collect();
        members.sort_by(|left, right| {
            left.display_name
                .to_lowercase()
                .cmp(&right.display_name.to_lowercase())
                .then(left.user.get().cmp(&right.user.get()))
        });
        Some(members)
    }
}

/// The name the guild shows: nickname, then display name, then username.
fn person(member: &Member) -> Person {
    let name = member
        .nick
        .clone()
        .or_else(|| member.user.global_name.clone())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| member.user.name.clone());
    Person {
        name,
        is_bot: member.user.bot,
    }
}

#[async_trait]
impl GuildDirectory for VoiceChannelDirectory {
    async fn online_members(&self, guild: GuildId) -> Result<GuildMemberList, StoreError> {
        let members = self.in_voice(guild).ok_or_else(|| {
            StoreError::Unavailable(format!("no gateway data for guild {guild} yet"))
        })?;
        Ok(GuildMemberList {
            scope: MemberListScope::InVoice,
            members,
        })
    }
}

#[cfg(test)]
mod tests;
