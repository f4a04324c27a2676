//! Who is around in a guild, for the other front-ends (Telegram's `/list`), from the gateway
//! events the bot receives.
//!
//! Presence (online, idle, do-not-disturb) needs `GUILD_PRESENCES` and `GUILD_MEMBERS`, which
//! Discord makes privileged; by default minstrel asks only for `GUILDS | GUILD_VOICE_STATES`.
//! What those do give: `GUILD_CREATE` carries the guild's voice states, its channels, and the
//! members in voice channels (Discord sends just those and the bot when it withholds
//! presences), and every `VOICE_STATE_UPDATE` carries the member. Somebody in a voice channel
//! is certainly online, so the directory lists exactly them and says so
//! ([`MemberListScope::InVoice`]).
//!
//! With presences turned on ([`VoiceChannelDirectory::with_presences`], when the gateway asks
//! for the privileged intents), `GUILD_CREATE` also carries the presences and members (for
//! large guilds, the online ones), `PRESENCE_UPDATE` keeps the statuses current and
//! `GUILD_MEMBER_ADD`/`UPDATE`/`REMOVE` the names; the directory then lists every human whose
//! status is online, idle or do-not-disturb ([`MemberListScope::Online`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use minstrel_app::ports::{
    GuildDirectory, GuildMemberInfo, GuildMemberList, MemberListScope, PresenceStatus, StoreError,
};
use minstrel_domain::{ChannelId, GuildId, UserId};
use twilight_gateway::Event;
use twilight_model::gateway::payload::incoming::{GuildCreate, MemberUpdate};
use twilight_model::gateway::presence::{Presence, Status, UserOrId};
use twilight_model::guild::Member;
use twilight_model::user::User;
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
    /// Members whose presence is not offline or invisible (only with presences on).
    online: HashMap<UserId, PresenceStatus>,
}

#[derive(Debug, Default)]
struct Inner {
    bot_user: Option<UserId>,
    /// Only guilds whose `GUILD_CREATE` arrived: for the others nothing is known.
    guilds: HashMap<GuildId, Guild>,
}

/// A [`GuildDirectory`] of the members in each guild's voice channels or, with presences on,
/// of every member who is online, fed with every gateway event by
/// [`VoiceChannelDirectory::observe`].
#[derive(Debug, Default)]
pub struct VoiceChannelDirectory {
    inner: Mutex<Inner>,
    presences: bool,
}

impl VoiceChannelDirectory {
    /// Lists the members in voice channels: all the unprivileged intents show.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists every member who is online, idle or do-not-disturb. Only useful when the gateway
    /// asks for `GUILD_PRESENCES | GUILD_MEMBERS` (`DiscordConfig::presences`).
    pub fn with_presences() -> Self {
        Self {
            inner: Mutex::default(),
            presences: true,
        }
    }

    /// Whether this directory lists presences rather than voice channels.
    pub fn tracks_presences(&self) -> bool {
        self.presences
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
            Event::PresenceUpdate(update) if self.presences => self.presence(&update.0),
            Event::MemberAdd(added) if self.presences => {
                self.member(added.guild_id.get(), &added.member);
            }
            Event::MemberUpdate(updated) if self.presences => self.member_updated(updated),
            Event::MemberRemove(removed) if self.presences => {
                self.member_removed(removed.guild_id.get(), &removed.user);
            }
            _ => {}
        }
    }

    fn presence(&self, presence: &Presence) {
        let (Ok(guild), Ok(user)) = (
            GuildId::new(presence.guild_id.get()),
            UserId::new(presence.user.id().get()),
        ) else {
            return;
        };
        let mut inner = self.lock();
        let guild = inner.guilds.entry(guild).or_default();
        if let UserOrId::User(full) = &presence.user {
            // A presence's user has no nickname: it names only someone not known yet.
            guild
                .people
                .entry(user)
                .and_modify(|known| known.is_bot = full.bot)
                .or_insert_with(|| person_of_user(full, None));
        }
        match listed_status(presence.status) {
            Some(status) => guild.online.insert(user, status),
            None => guild.online.remove(&user),
        };
    }

    fn member(&self, guild: u64, member: &Member) {
        let (Ok(guild), Ok(user)) = (GuildId::new(guild), UserId::new(member.user.id.get())) else {
            return;
        };
        self.lock()
            .guilds
            .entry(guild)
            .or_default()
            .people
            .insert(user, person(member));
    }

    fn member_updated(&self, updated: &MemberUpdate) {
        let (Ok(guild), Ok(user)) = (
            GuildId::new(updated.guild_id.get()),
            UserId::new(updated.user.id.get()),
        ) else {
            return;
        };
        self.lock()
            .guilds
            .entry(guild)
            .or_default()
            .people
            .insert(user, person_of_user(&updated.user, updated.nick.as_deref()));
    }

    fn member_removed(&self, guild: u64, user: &User) {
        let (Ok(guild), Ok(user)) = (GuildId::new(guild), UserId::new(user.id.get())) else {
            return;
        };
        if let Some(guild) = self.lock().guilds.get_mut(&guild) {
            guild.people.remove(&user);
            guild.online.remove(&user);
            guild.in_voice.remove(&user);
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
        if self.presences {
            for presence in &created.presences {
                if let (Ok(user), Some(status)) = (
                    UserId::new(presence.user.id().get()),
                    listed_status(presence.status),
                ) {
                    guild.online.insert(user, status);
                }
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
                display_name: known.display_name(*user),
                voice_channel: known.channel_names.get(channel).cloned(),
                status: None,
            })
            .collect();
        sort_by_name(&mut members);
        Some(members)
    }

    /// The humans in `guild` who are online, idle or do-not-disturb, by name, with the voice
    /// channel they are in; `None` while nothing is known about it.
    pub fn online(&self, guild: GuildId) -> Option<Vec<GuildMemberInfo>> {
        let inner = self.lock();
        let known = inner.guilds.get(&guild)?;
        let mut members: Vec<GuildMemberInfo> = known
            .online
            .iter()
            .filter(|(user, _)| Some(**user) != inner.bot_user)
            .filter(|(user, _)| !known.people.get(user).is_some_and(|person| person.is_bot))
            .map(|(user, status)| GuildMemberInfo {
                user: *user,
                display_name: known.display_name(*user),
                voice_channel: known
                    .in_voice
                    .get(user)
                    .and_then(|channel| known.channel_names.get(channel).cloned()),
                status: Some(*status),
            })
            .collect();
        sort_by_name(&mut members);
        Some(members)
    }
}

impl Guild {
    fn display_name(&self, user: UserId) -> String {
        self.people
            .get(&user)
            .map_or_else(|| format!("user {user}"), |person| person.name.clone())
    }
}

fn sort_by_name(members: &mut [GuildMemberInfo]) {
    members.sort_by(|left, right| {
        left.display_name
            .to_lowercase()
            .cmp(&right.display_name.to_lowercase())
            .then(left.user.get().cmp(&right.user.get()))
    });
}

/// Online, idle and do-not-disturb are listed; offline and invisible (which others see as
/// offline) are not.
fn listed_status(status: Status) -> Option<PresenceStatus> {
    match status {
        Status::Online => Some(PresenceStatus::Online),
        Status::Idle => Some(PresenceStatus::Idle),
        Status::DoNotDisturb => Some(PresenceStatus::DoNotDisturb),
        Status::Offline | Status::Invisible => None,
    }
}

fn person(member: &Member) -> Person {
    person_of_user(&member.user, member.nick.as_deref())
}

/// The name the guild shows: nickname, then display name, then username.
fn person_of_user(user: &User, nick: Option<&str>) -> Person {
    let name = nick
        .map(str::to_owned)
        .or_else(|| user.global_name.clone())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| user.name.clone());
    Person {
        name,
        is_bot: user.bot,
    }
}

#[async_trait]
impl GuildDirectory for VoiceChannelDirectory {
    async fn online_members(&self, guild: GuildId) -> Result<GuildMemberList, StoreError> {
        let (scope, members) = if self.presences {
            (MemberListScope::Online, self.online(guild))
        } else {
            (MemberListScope::InVoice, self.in_voice(guild))
        };
        let members = members.ok_or_else(|| {
            StoreError::Unavailable(format!("no gateway data for guild {guild} yet"))
        })?;
        Ok(GuildMemberList { scope, members })
    }
}

#[cfg(test)]
mod tests;
