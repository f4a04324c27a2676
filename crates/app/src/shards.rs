//! Which process owns which guild: Discord's shard formula and the shards a process runs.
//!
//! A guild belongs to shard `(guild_id >> 22) % shard_total` (Discord's rule); the process that
//! runs that shard holds the guild's live state (queue, player, voice connection). Everything
//! else that acts on the guild (Telegram, the HTTP API) sends its commands there.

use std::fmt;

use minstrel_domain::GuildId;

/// The shard of `guild` among `total` shards (Discord's `(guild_id >> 22) % total`); shard 0
/// when `total` is 0, which no validated plan has.
pub fn shard_of(guild: GuildId, total: u32) -> u32 {
    if total == 0 {
        return 0;
    }
    let shard = (guild.get() >> 22) % u64::from(total);
    // Below `total`, which is a u32.
    u32::try_from(shard).unwrap_or(0)
}

/// The shards this process runs, out of the deployment's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardOwnership {
    total: u32,
    /// Inclusive range `first..=last`; `None` owns no shard (a Telegram-only process).
    owned: Option<(u32, u32)>,
}

/// Why a shard plan is refused; the message names the setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardPlanError {
    #[error("the shard total must be at least 1")]
    NoShards,
    #[error("the shard range {first}-{last} is backwards: write the lower shard first")]
    Backwards { first: u32, last: u32 },
    #[error(
        "the shard range {first}-{last} does not fit in {total} shards (shards are numbered 0 to \
         {})",
        total.saturating_sub(1)
    )]
    OutOfRange { first: u32, last: u32, total: u32 },
}

impl ShardOwnership {
    /// One process for everything: the single shard 0 of 1.
    pub fn everything() -> Self {
        Self {
            total: 1,
            owned: Some((0, 0)),
        }
    }

    /// Shards `first..=last` of `total`.
    ///
    /// # Errors
    /// When `total` is 0, `first > last`, or `last >= total`.
    pub fn range(first: u32, last: u32, total: u32) -> Result<Self, ShardPlanError> {
        if total == 0 {
            return Err(ShardPlanError::NoShards);
        }
        if first > last {
            return Err(ShardPlanError::Backwards { first, last });
        }
        if last >= total {
            return Err(ShardPlanError::OutOfRange { first, last, total });
        }
        Ok(Self {
            total,
            owned: Some((first, last)),
        })
    }

    /// No shard of `total`: this process plays nothing and sends every command elsewhere.
    ///
    /// # Errors
    /// When `total` is 0.
    pub fn none(total: u32) -> Result<Self, ShardPlanError> {
        if total == 0 {
            return Err(ShardPlanError::NoShards);
        }
        Ok(Self { total, owned: None })
    }

    pub fn total(&self) -> u32 {
        self.total
    }

    /// The owned range `(first, last)`, inclusive.
    pub fn owned_range(&self) -> Option<(u32, u32)> {
        self.owned
    }

    /// Every owned shard, in order.
    pub fn owned_shards(&self) -> impl Iterator<Item = u32> + use<> {
        let (first, last) = self.owned.map_or((1, 0), |range| range);
        first..=last
    }

    /// Whether this process runs `shard`.
    pub fn owns_shard(&self, shard: u32) -> bool {
        self.owned
            .is_some_and(|(first, last)| (first..=last).contains(&shard))
    }

    /// Whether `guild`'s live state belongs in this process.
    pub fn owns(&self, guild: GuildId) -> bool {
        self.owns_shard(shard_of(guild, self.total))
    }

    /// Whether this process owns every shard (one process, nothing to route).
    pub fn owns_everything(&self) -> bool {
        self.owned == Some((0, self.total - 1))
    }
}

impl Default for ShardOwnership {
    fn default() -> Self {
        Self::everything()
    }
}

impl fmt::Display for ShardOwnership {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.owned {
            Some((first, last)) => write!(formatter, "shards {first}-{last} of {}", self.total),
            None => write!(formatter, "no shard of {}", self.total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guild(raw: u64) -> GuildId {
        GuildId::new(raw).unwrap()
    }

    #[test]
    fn the_shard_is_discords_formula() {
        // The guild id of Discord's sharding documentation.
        let id = 81_384_788_765_712_384;
        assert_eq!(shard_of(guild(id), 1), 0);
        assert_eq!(
            shard_of(guild(id), 16),
            u32::try_from((id >> 22) % 16).unwrap()
        );
        assert_eq!(shard_of(guild(3 << 22), 2), 1);
        assert_eq!(shard_of(guild(4 << 22), 2), 0);
        assert_eq!(shard_of(guild(5 << 22), 0), 0);
    }

    #[test]
    fn ranges_are_inclusive_and_checked() {
        let plan = ShardOwnership::range(0, 3, 8).unwrap();
        assert!(plan.owns_shard(0) && plan.owns_shard(3) && !plan.owns_shard(4));
        assert_eq!(plan.owned_shards().collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert!(!plan.owns_everything());
        assert!(plan.owns(guild(3 << 22)));
        assert!(!plan.owns(guild(5 << 22)));
        assert_eq!(plan.to_string(), "shards 0-3 of 8");
        assert!(ShardOwnership::range(0, 7, 8).unwrap().owns_everything());
        assert_eq!(
            ShardOwnership::range(3, 1, 8),
            Err(ShardPlanError::Backwards { first: 3, last: 1 })
        );
        let error = ShardOwnership::range(0, 8, 8).unwrap_err();
        assert!(error.to_string().contains("0 to 7"), "{error}");
        assert_eq!(
            ShardOwnership::range(0, 0, 0),
            Err(ShardPlanError::NoShards)
        );
    }

    #[test]
    fn no_shards_owns_no_guild_and_everything_owns_all() {
        let none = ShardOwnership::none(2).unwrap();
        assert!(!none.owns(guild(1 << 22)) && !none.owns(guild(2 << 22)));
        assert_eq!(none.owned_shards().count(), 0);
        assert_eq!(none.to_string(), "no shard of 2");
        let all = ShardOwnership::everything();
        assert!(all.owns(guild(12_345_678_901)) && all.owns_everything());
    }
}
