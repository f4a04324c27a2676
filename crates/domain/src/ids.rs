//! Identifiers of the chat platforms. Discord snowflakes are non-zero `u64`; Telegram chat ids
//! are signed and may exceed 32 bits.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{input}\" is not a valid {kind}")]
pub struct IdError {
    pub kind: &'static str,
    pub input: String,
}

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(NonZeroU64);

        impl $name {
            pub fn new(raw: u64) -> Result<Self, IdError> {
                NonZeroU64::new(raw).map(Self).ok_or_else(|| IdError {
                    kind: $kind,
                    input: raw.to_string(),
                })
            }

            pub fn get(self) -> u64 {
                self.0.get()
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                let error = || IdError { kind: $kind, input: input.to_owned() };
                input.trim().parse::<u64>().map_err(|_| error()).and_then(|raw| Self::new(raw).map_err(|_| error()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}", self.0)
            }
        }
    };
}

snowflake!(
    /// A Discord guild (server). Also the scope of one player and one queue; the console
    /// front-end uses a fixed local guild id.
    GuildId,
    "guild id"
);
snowflake!(
    /// A Discord user.
    UserId,
    "user id"
);
snowflake!(
    /// A Discord channel (voice or text).
    ChannelId,
    "channel id"
);
snowflake!(
    /// A Discord role.
    RoleId,
    "role id"
);

macro_rules! telegram_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            pub fn new(raw: i64) -> Result<Self, IdError> {
                if raw == 0 {
                    return Err(IdError { kind: $kind, input: raw.to_string() });
                }
                Ok(Self(raw))
            }

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                let error = || IdError { kind: $kind, input: input.to_owned() };
                input.trim().parse::<i64>().map_err(|_| error()).and_then(|raw| Self::new(raw).map_err(|_| error()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}", self.0)
            }
        }
    };
}

telegram_id!(
    /// A Telegram chat (negative for groups and supergroups).
    TelegramChatId,
    "Telegram chat id"
);
telegram_id!(
    /// A Telegram user.
    TelegramUserId,
    "Telegram user id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_parse_and_refuse_zero_and_garbage() {
        assert_eq!(
            "81384788765712384".parse::<GuildId>().unwrap().get(),
            81_384_788_765_712_384
        );
        assert!("0".parse::<GuildId>().is_err());
        assert!("-5".parse::<UserId>().is_err());
        let error = "abc".parse::<ChannelId>().unwrap_err();
        assert_eq!(error.to_string(), "\"abc\" is not a valid channel id");
    }

    #[test]
    fn telegram_ids_may_be_negative_and_large() {
        let chat: TelegramChatId = "-1001234567890".parse().unwrap();
        assert_eq!(chat.get(), -1_001_234_567_890);
        assert!(TelegramChatId::new(0).is_err());
    }
}
