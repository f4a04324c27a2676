//! Whether the bot may join a voice channel, checked before it asks Discord: its effective
//! permissions there (roles and channel overwrites) and the channel's user limit.
//!
//! Discord answers a join the bot may not make with silence: the voice state changes but no
//! voice server ever arrives, and the user waits for a deadline. Everything needed to know
//! better comes with the gateway (`GUILD_CREATE` carries the roles, the channels with their
//! overwrites, the bot's own member and the voice states), so twilight's in-memory cache keeps
//! exactly those and its permission calculator does the arithmetic. What the cache does not
//! know yet (a guild still loading) is not refused: the join is tried.

use minstrel_domain::{ChannelId, GuildId};
use twilight_cache_inmemory::{DefaultInMemoryCache, ResourceType};
use twilight_gateway::Event;
use twilight_model::guild::Permissions;
use twilight_model::id::Id;

/// The permissions a voice join needs, with the names Discord's settings show.
const NEEDED: [(Permissions, &str); 3] = [
    (Permissions::VIEW_CHANNEL, "View Channel"),
    (Permissions::CONNECT, "Connect"),
    (Permissions::SPEAK, "Speak"),
];

/// The gateway's view of roles, channels, members and voice states, for join checks.
pub(crate) struct JoinCheck {
    cache: DefaultInMemoryCache,
}

impl std::fmt::Debug for JoinCheck {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("JoinCheck").finish_non_exhaustive()
    }
}

impl Default for JoinCheck {
    fn default() -> Self {
        let cache = DefaultInMemoryCache::builder()
            .resource_types(
                ResourceType::GUILD
                    | ResourceType::CHANNEL
                    | ResourceType::ROLE
                    | ResourceType::MEMBER
                    | ResourceType::VOICE_STATE
                    | ResourceType::USER_CURRENT,
            )
            .message_cache_size(0)
            .build();
        Self { cache }
    }
}

impl JoinCheck {
    pub(crate) fn observe(&self, event: &Event) {
        self.cache.update(event);
    }

    /// One sentence saying why the bot cannot join `channel`, or `None` when it may (or when
    /// the gateway has not said enough to know).
    pub(crate) fn refusal(&self, guild: GuildId, channel: ChannelId) -> Option<String> {
        let bot = self.cache.current_user()?.id;
        let channel_id = Id::new(channel.get());
        let (guild_of_channel, user_limit) = {
            let cached = self.cache.channel(channel_id)?;
            (cached.guild_id?, cached.user_limit)
        };
        if guild_of_channel.get() != guild.get() {
            return None;
        }
        let permissions = self.cache.permissions().in_channel(bot, channel_id).ok()?;
        let missing: Vec<&str> = NEEDED
            .iter()
            .filter(|(permission, _)| !permissions.contains(*permission))
            .map(|(_, name)| *name)
            .collect();
        if !missing.is_empty() {
            let (noun, list) = match missing.as_slice() {
                [one] => ("permission", format!("**{one}**")),
                [first, second] => ("permissions", format!("**{first}** and **{second}**")),
                _ => (
                    "permissions",
                    "**View Channel**, **Connect** and **Speak**".to_owned(),
                ),
            };
            return Some(format!(
                "I can't join <#{channel}>: I'm missing the {list} {noun} there. Ask a server \
                 admin to allow it for my role in that channel, or pick another channel."
            ));
        }
        let limit = user_limit.filter(|limit| *limit > 0)?;
        let present = self
            .cache
            .voice_channel_states(channel_id)
            .map(|states| states.map(|state| state.user_id()).collect::<Vec<_>>())
            .unwrap_or_default();
        let full = !present.contains(&bot) && present.len() >= limit as usize;
        // Members who may move members join full channels; Discord lets the bot in too.
        (full && !permissions.contains(Permissions::MOVE_MEMBERS)).then(|| {
            format!(
                "I can't join <#{channel}>: it is full ({limit} of {limit}). Make room, raise \
                 its user limit, or pick another channel."
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minstrel_testkit::discord::{FakeMember, guild_create_json};
    use serde_json::{Value, json};
    use twilight_model::gateway::payload::incoming::GuildCreate;

    const GUILD: u64 = 300_000_000_000_000_001;
    const BOT: u64 = 700_000_000_000_000_002;
    const BOT_ROLE: u64 = 800_000_000_000_000_001;
    const VOICE: u64 = 600_000_000_000_000_077;

    fn ready() -> Event {
        let ready = json!({
            "v": 10, "session_id": "s", "resume_gateway_url": "ws://x", "shard": [0, 1],
            "application": {"id": "1", "flags": 0}, "guilds": [],
            "user": {"id": BOT.to_string(), "username": "minstrel", "discriminator": "0000",
                     "avatar": null, "bot": true, "mfa_enabled": false, "verified": true},
        });
        Event::Ready(serde_json::from_value(ready).unwrap())
    }

    /// A guild where @everyone may view, connect and speak, the bot's role adds
    /// `bot_role_allow`, the voice channel has `overwrites` and `user_limit`, and `others`
    /// members sit in it.
    fn guild(bot_role_allow: Permissions, overwrites: &Value, limit: u32, others: u64) -> Event {
        let members: Vec<FakeMember> = (0..others)
            .map(|index| FakeMember::new(100 + index, "listener"))
            .collect();
        let in_voice: Vec<_> = members.iter().map(|member| (member, VOICE)).collect();
        let mut guild = guild_create_json(GUILD, &[(VOICE, "Lounge")], &in_voice);
        let everyone = Permissions::VIEW_CHANNEL | Permissions::CONNECT | Permissions::SPEAK;
        let role = |id: u64, permissions: Permissions| {
            json!({"id": id.to_string(), "name": "role", "permissions": permissions.bits().to_string(),
                   "position": 0, "color": 0,
                   "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
                   "hoist": false, "managed": false, "mentionable": false, "flags": 0})
        };
        guild["roles"] = json!([role(GUILD, everyone), role(BOT_ROLE, bot_role_allow)]);
        guild["channels"][0]["permission_overwrites"] = overwrites.clone();
        guild["channels"][0]["user_limit"] = json!(limit);
        let mut bot = FakeMember::new(BOT, "minstrel");
        bot.roles = vec![BOT_ROLE];
        bot.bot = true;
        guild["members"].as_array_mut().unwrap().push(bot.to_json());
        let guild = serde_json::from_value(guild).unwrap();
        Event::GuildCreate(Box::new(GuildCreate::Available(guild)))
    }

    fn check(event: &Event) -> JoinCheck {
        let check = JoinCheck::default();
        check.observe(&ready());
        check.observe(event);
        check
    }

    fn ids() -> (GuildId, ChannelId) {
        (GuildId::new(GUILD).unwrap(), ChannelId::new(VOICE).unwrap())
    }

    #[test]
    fn a_channel_the_bot_may_use_is_not_refused() {
        let (guild_id, channel) = ids();
        let check = check(&guild(Permissions::empty(), &json!([]), 0, 3));
        assert_eq!(check.refusal(guild_id, channel), None);
    }

    #[test]
    fn a_channel_overwrite_denying_connect_names_the_permission_and_the_channel() {
        let (guild_id, channel) = ids();
        let deny = json!([{"id": GUILD.to_string(), "type": 0, "allow": "0",
                           "deny": Permissions::CONNECT.bits().to_string()}]);
        let refusal = check(&guild(Permissions::empty(), &deny, 0, 0))
            .refusal(guild_id, channel)
            .expect("refused");
        assert!(refusal.contains("**Connect** permission"), "{refusal}");
        assert!(refusal.contains(&format!("<#{VOICE}>")), "{refusal}");
        assert!(!refusal.contains("Speak"), "{refusal}");
    }

    #[test]
    fn a_role_allow_wins_over_an_everyone_deny_and_missing_speak_is_named() {
        let (guild_id, channel) = ids();
        let deny = json!([{"id": GUILD.to_string(), "type": 0, "allow": "0",
                           "deny": (Permissions::CONNECT | Permissions::SPEAK).bits().to_string()},
                          {"id": BOT_ROLE.to_string(), "type": 0,
                           "allow": Permissions::CONNECT.bits().to_string(), "deny": "0"}]);
        let refusal = check(&guild(Permissions::empty(), &deny, 0, 0))
            .refusal(guild_id, channel)
            .expect("refused");
        assert!(refusal.contains("**Speak** permission"), "{refusal}");
        assert!(!refusal.contains("Connect"), "{refusal}");
    }

    #[test]
    fn a_full_channel_is_refused_unless_the_bot_may_move_members() {
        let (guild_id, channel) = ids();
        let refusal = check(&guild(Permissions::empty(), &json!([]), 2, 2))
            .refusal(guild_id, channel)
            .expect("refused");
        assert!(refusal.contains("full (2 of 2)"), "{refusal}");
        let room = check(&guild(Permissions::empty(), &json!([]), 3, 2));
        assert_eq!(room.refusal(guild_id, channel), None);
        let mover = check(&guild(Permissions::MOVE_MEMBERS, &json!([]), 2, 2));
        assert_eq!(mover.refusal(guild_id, channel), None);
    }

    #[test]
    fn an_unknown_channel_is_tried_not_refused() {
        let check = JoinCheck::default();
        check.observe(&ready());
        let (guild_id, channel) = ids();
        assert_eq!(check.refusal(guild_id, channel), None);
    }
}
