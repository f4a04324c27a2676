//! Who may do what, and how often: the DJ-role permission policy and per-user rate limits.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use minstrel_domain::{GuildSettings, Requester, RequesterId, RoleId, Track};

/// The person behind a command, as a front-end saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub requester: Requester,
    /// Manage Server on Discord, chat administrator on Telegram, always on the console.
    pub is_admin: bool,
    pub roles: Vec<RoleId>,
}

impl Actor {
    /// The local operator at the console: trusted with everything.
    pub fn console() -> Self {
        Self {
            requester: Requester::console(),
            is_admin: true,
            roles: Vec::new(),
        }
    }

    pub fn member(requester: Requester, roles: Vec<RoleId>, is_admin: bool) -> Self {
        Self {
            requester,
            is_admin,
            roles,
        }
    }
}

/// Actions the policy decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Play,
    Join,
    Pause,
    Resume,
    Skip,
    SkipTo,
    Previous,
    Stop,
    Seek,
    Volume,
    Repeat,
    Shuffle,
    Remove,
    Move,
    Clear,
    Filter,
    Leave,
    ChangeGuildSettings,
}

impl Action {
    /// Actions limited to DJs when the guild has a DJ role.
    fn needs_dj(self) -> bool {
        !matches!(self, Self::Play | Self::Join)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    #[error("only members with the DJ role can do that")]
    NeedsDj,
    #[error("only members with the DJ role can skip someone else's track; try voteskip")]
    NotYourTrack,
    #[error("only server managers can change the server settings")]
    NeedsAdmin,
}

/// Decides whether `actor` may perform `action` in a guild with `settings`.
/// `track` is the track the action touches, when there is one (a requester may always skip or
/// remove their own track).
///
/// # Errors
/// A [`PermissionError`] saying what is needed.
pub fn authorize(
    actor: &Actor,
    action: Action,
    settings: &GuildSettings,
    track: Option<&Track>,
) -> Result<(), PermissionError> {
    if actor.is_admin {
        return Ok(());
    }
    if action == Action::ChangeGuildSettings {
        return Err(PermissionError::NeedsAdmin);
    }
    let Some(dj_role) = settings.dj_role else {
        return Ok(());
    };
    if !action.needs_dj() || actor.roles.contains(&dj_role) {
        return Ok(());
    }
    let own_track = track.is_some_and(|track| track.requested_by.id == actor.requester.id);
    match action {
        Action::Skip | Action::Remove if own_track => Ok(()),
        Action::Skip => Err(PermissionError::NotYourTrack),
        _ => Err(PermissionError::NeedsDj),
    }
}

/// Per-user command rate limit (governor, keyed by requester). The console is exempt.
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<RequesterId>,
    clock: DefaultClock,
}

impl RateLimit {
    /// `burst` commands at once, refilled one every `period`.
    pub fn new(burst: u32, period: Duration) -> Self {
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `requester` must wait before the next command.
    pub fn check(&self, requester: &RequesterId) -> Result<(), Duration> {
        if *requester == RequesterId::Console {
            return Ok(());
        }
        self.limiter
            .check_key(requester)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

impl Default for RateLimit {
    /// Five commands in a burst, then one every two seconds.
    fn default() -> Self {
        Self::new(5, Duration::from_secs(2))
    }
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("RateLimit").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minstrel_domain::{GuildId, SourceKind, TrackId, UserId};

    fn user(id: u64) -> Requester {
        Requester {
            id: RequesterId::Discord(UserId::new(id).unwrap()),
            display_name: format!("user{id}"),
        }
    }

    fn track_by(requester: Requester) -> Track {
        Track {
            id: TrackId(1),
            title: "t".into(),
            artist: None,
            duration: None,
            source_kind: SourceKind::Local,
            locator: "t.wav".into(),
            thumbnail: None,
            requested_by: requester,
        }
    }

    fn guild_with_dj() -> GuildSettings {
        let mut settings = GuildSettings::new(GuildId::new(1).unwrap());
        settings.dj_role = Some(RoleId::new(99).unwrap());
        settings
    }

    #[test]
    fn without_a_dj_role_everyone_may_control_playback() {
        let settings = GuildSettings::new(GuildId::new(1).unwrap());
        let member = Actor::member(user(1), vec![], false);
        assert_eq!(authorize(&member, Action::Stop, &settings, None), Ok(()));
        assert_eq!(
            authorize(&member, Action::ChangeGuildSettings, &settings, None),
            Err(PermissionError::NeedsAdmin)
        );
    }

    #[test]
    fn dj_role_gates_control_but_requesters_may_skip_their_own_track() {
        let settings = guild_with_dj();
        let member = Actor::member(user(1), vec![], false);
        let dj = Actor::member(user(2), vec![RoleId::new(99).unwrap()], false);
        let own = track_by(user(1));
        let other = track_by(user(3));
        assert_eq!(authorize(&member, Action::Play, &settings, None), Ok(()));
        assert_eq!(
            authorize(&member, Action::Volume, &settings, None),
            Err(PermissionError::NeedsDj)
        );
        assert_eq!(
            authorize(&member, Action::Skip, &settings, Some(&own)),
            Ok(())
        );
        assert_eq!(
            authorize(&member, Action::Skip, &settings, Some(&other)),
            Err(PermissionError::NotYourTrack)
        );
        assert_eq!(
            authorize(&dj, Action::Skip, &settings, Some(&other)),
            Ok(())
        );
        assert_eq!(
            authorize(&Actor::console(), Action::Clear, &settings, None),
            Ok(())
        );
    }

    #[test]
    fn rate_limit_allows_a_burst_then_asks_to_wait() {
        let limit = RateLimit::new(2, Duration::from_mins(1));
        let key = user(1).id;
        assert!(limit.check(&key).is_ok());
        assert!(limit.check(&key).is_ok());
        let wait = limit.check(&key).unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(
            limit.check(&user(2).id).is_ok(),
            "other users are not limited"
        );
        for _ in 0..100 {
            assert!(limit.check(&RequesterId::Console).is_ok());
        }
    }
}
