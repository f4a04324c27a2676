//! Configuration: defaults, then `minstrel.toml`, then the environment. Validated at startup.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use minstrel_app::ShardOwnership;
use minstrel_sources::{SearchProvider, SpotifyCredentials};
use serde::{Deserialize, Serialize};

/// A token: never printed, never logged.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn is_set(&self) -> bool {
        !self.0.trim().is_empty()
    }

    /// The secret itself, for the one client that needs it; never for a log line.
    pub(crate) fn expose(&self) -> &str {
        self.0.trim()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(if self.is_set() {
            "<redacted>"
        } else {
            "<unset>"
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// How domain events travel (`MINSTREL_EVENT_BUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventBusKind {
    /// Within this process.
    Memory,
    /// Over a Redis stream, between every process of a deployment.
    Redis,
}

/// How guild commands travel (`MINSTREL_COMMAND_BUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandBusKind {
    /// Run here: this process owns every guild.
    Memory,
    /// Over Redis Streams to the process that owns the guild's shard.
    Redis,
}

/// `--shards 3` arrives from the environment as a number; both spell the same setting.
fn text_or_number<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Number(u64),
    }
    Ok(
        Option::<TextOrNumber>::deserialize(deserializer)?.map(|value| match value {
            TextOrNumber::Text(text) => text,
            TextOrNumber::Number(number) => number.to_string(),
        }),
    )
}

/// Where the console front-end's audio goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    /// Discard, as fast as decoding allows.
    Null,
    /// Discard, paced at real time (what a listener would hear, minus the speaker).
    NullRealtime,
    /// Record to a WAV file at real time.
    Wav(PathBuf),
    /// Render to a WAV file as fast as possible.
    WavFast(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    pub(crate) discord_token: Secret,
    pub(crate) telegram_token: Secret,
    pub(crate) library_dir: PathBuf,
    pub(crate) output: String,
    pub(crate) database_url: String,
    /// Writes held in memory at most while the database is unreachable; past that a write is
    /// refused with a sentence for the user.
    pub(crate) outbox_capacity: usize,
    pub(crate) redis_url: Option<String>,
    /// How domain events travel: `memory` (this process only) or `redis` (a Redis stream
    /// every process of a deployment reads; needs `redis_url`).
    pub(crate) event_bus: String,
    /// This process's name on the Redis event stream; unset: unique per run. A stable name lets
    /// a restarted process deliver what its previous run read but did not handle; two running
    /// processes must never share one.
    pub(crate) event_bus_process_id: Option<String>,
    /// The shards this process runs (`--shards`): `A-B` (inclusive), `A`, or `none` for a
    /// process that plays nothing (Telegram only). Unset: every shard of `shard_total`.
    #[serde(deserialize_with = "text_or_number", default)]
    pub(crate) shards: Option<String>,
    /// The deployment's shard count (`--shard-total`), the same in every process; unset: one
    /// process runs everything.
    pub(crate) shard_total: Option<u32>,
    /// How guild commands reach the process that owns the guild: `memory` (one process) or
    /// `redis` (Redis Streams); unset: `redis` when this process does not own every shard.
    pub(crate) command_bus: Option<String>,
    pub(crate) log: String,
    pub(crate) log_format: LogFormat,
    /// Where the ops endpoint (`/health`, `/ready`, `/metrics`) listens; off when unset.
    pub(crate) http_addr: Option<SocketAddr>,
    /// Where plain words are searched: `youtube`, `soundcloud`, `local`, or `auto` (`YouTube`
    /// when yt-dlp is installed, else the music library).
    pub(crate) search_provider: String,
    /// The yt-dlp executable (a name on `PATH` or a path).
    pub(crate) ytdlp: PathBuf,
    /// Most tracks taken from one playlist link.
    pub(crate) playlist_cap: usize,
    pub(crate) spotify_client_id: Option<String>,
    pub(crate) spotify_client_secret: Secret,
    /// EBU R128 loudness normalisation, the master switch: off, no guild gets it; on, each
    /// guild's own `normalisation` setting decides.
    pub(crate) normalisation: bool,
    /// Integrated loudness normalisation aims at, in LUFS.
    pub(crate) loudness_target: f64,
    /// `false` keeps Telegram off even with a token (`ENABLE_TELEGRAM=false`).
    pub(crate) enable_telegram: bool,
    /// The Bot API server; unset for Telegram's own (set it for a self-hosted Bot API server).
    pub(crate) telegram_api_url: Option<String>,
    /// `ws://host:port` of a gateway proxy to use instead of Discord's.
    pub(crate) discord_gateway_url: Option<String>,
    /// `host:port` of a plain-HTTP REST proxy (e.g. twilight-http-proxy) that rate-limits;
    /// twilight's own rate limiter is off behind it.
    pub(crate) discord_rest_proxy: Option<String>,
    /// Guild ids (comma-separated) to register the slash commands in; empty registers them
    /// globally.
    pub(crate) discord_command_guilds: String,
    /// Seconds the bot stays in a voice channel nobody listens in; 0 stays for good.
    pub(crate) leave_when_alone_after: u64,
    /// Seconds a playing track may produce no audio (a stalled stream) before it is skipped
    /// as stuck; pausing does not count. Meant for tests: the notices say "10 s".
    pub(crate) track_stuck_after: f64,
    /// Ask Discord for the privileged presence and server-members intents, so Telegram's
    /// `/list` shows everyone online rather than only who is in voice. They must be enabled
    /// for the application in Discord's developer portal.
    pub(crate) discord_presence: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            discord_token: Secret::default(),
            telegram_token: Secret::default(),
            library_dir: PathBuf::from("music"),
            output: "null-realtime".to_owned(),
            database_url: "sqlite://minstrel.db".to_owned(),
            outbox_capacity: minstrel_cache::OutboxConfig::DEFAULT_CAPACITY,
            redis_url: None,
            event_bus: "memory".to_owned(),
            event_bus_process_id: None,
            shards: None,
            shard_total: None,
            command_bus: None,
            log: "info".to_owned(),
            log_format: LogFormat::Pretty,
            http_addr: None,
            search_provider: "auto".to_owned(),
            ytdlp: PathBuf::from("yt-dlp"),
            playlist_cap: 500,
            spotify_client_id: None,
            spotify_client_secret: Secret::default(),
            normalisation: true,
            loudness_target: -14.0,
            enable_telegram: true,
            telegram_api_url: None,
            discord_gateway_url: None,
            discord_rest_proxy: None,
            discord_command_guilds: String::new(),
            leave_when_alone_after: 60,
            track_stuck_after: 10.0,
            discord_presence: false,
        }
    }
}

impl Config {
    /// Loads the configuration: defaults < `config_path` (if it exists) < `MINSTREL_*` env <
    /// `DISCORD_TOKEN`, `TELEGRAM_TOKEN`, `ENABLE_TELEGRAM`, `SPOTIFY_CLIENT_ID` and
    /// `SPOTIFY_CLIENT_SECRET`.
    pub(crate) fn load(config_path: &Path) -> anyhow::Result<Self> {
        let config: Self = Figment::from(Serialized::defaults(Self::default()))
            .merge(Toml::file(config_path))
            .merge(Env::prefixed("MINSTREL_").ignore(&["config"]))
            .merge(
                Env::raw()
                    .only(&[
                        "DISCORD_TOKEN",
                        "TELEGRAM_TOKEN",
                        "ENABLE_TELEGRAM",
                        "SPOTIFY_CLIENT_ID",
                        "SPOTIFY_CLIENT_SECRET",
                    ])
                    .lowercase(true),
            )
            .extract()
            .with_context(|| {
                format!(
                    "the configuration in {} or the environment is invalid",
                    config_path.display()
                )
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.output()?;
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            bail!(
                "MINSTREL_DATABASE_URL must start with sqlite: or postgres:// (got \"{}\")",
                self.database_url
            );
        }
        if let Some(url) = &self.redis_url
            && !url.starts_with("redis://")
            && !url.starts_with("rediss://")
        {
            bail!("MINSTREL_REDIS_URL must start with redis:// or rediss://");
        }
        if self.event_bus()? == EventBusKind::Redis && self.redis_url.is_none() {
            bail!("MINSTREL_EVENT_BUS=redis needs MINSTREL_REDIS_URL");
        }
        if self
            .event_bus_process_id
            .as_ref()
            .is_some_and(|id| id.trim().is_empty())
        {
            bail!(
                "MINSTREL_EVENT_BUS_PROCESS_ID must not be empty (leave it unset for a unique id)"
            );
        }
        self.search_provider()?;
        let shards = self.shard_plan()?;
        if self.command_bus()? == CommandBusKind::Redis && self.redis_url.is_none() {
            bail!(
                "the shards of {shards} need MINSTREL_REDIS_URL: commands for the other \
                 processes' servers travel over Redis (MINSTREL_COMMAND_BUS=redis)"
            );
        }
        if !(self.track_stuck_after.is_finite() && self.track_stuck_after > 0.0) {
            bail!(
                "MINSTREL_TRACK_STUCK_AFTER must be a number of seconds above 0 (got {})",
                self.track_stuck_after
            );
        }
        if self.playlist_cap == 0 {
            bail!("MINSTREL_PLAYLIST_CAP must be at least 1");
        }
        if self.outbox_capacity == 0 {
            bail!("MINSTREL_OUTBOX_CAPACITY must be at least 1");
        }
        if !(-70.0..=0.0).contains(&self.loudness_target) {
            bail!(
                "MINSTREL_LOUDNESS_TARGET must be between -70 and 0 LUFS (got {})",
                self.loudness_target
            );
        }
        self.discord_command_guilds()?;
        if self.spotify_client_id.is_some() != self.spotify_client_secret.is_set() {
            bail!("set both SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET, or neither");
        }
        Ok(())
    }

    pub(crate) fn event_bus(&self) -> anyhow::Result<EventBusKind> {
        match self.event_bus.trim().to_ascii_lowercase().as_str() {
            "memory" | "" => Ok(EventBusKind::Memory),
            "redis" => Ok(EventBusKind::Redis),
            other => bail!("MINSTREL_EVENT_BUS must be memory or redis (got \"{other}\")"),
        }
    }

    /// The configuration with `--shards` / `--shard-total` applied over it, checked again.
    pub(crate) fn with_shards(
        mut self,
        shards: Option<String>,
        shard_total: Option<u32>,
    ) -> anyhow::Result<Self> {
        if shards.is_none() && shard_total.is_none() {
            return Ok(self);
        }
        if shards.is_some() {
            self.shards = shards;
        }
        if shard_total.is_some() {
            self.shard_total = shard_total;
        }
        self.validate()?;
        Ok(self)
    }

    /// The shards this process owns, from `--shards`/`MINSTREL_SHARDS` and
    /// `--shard-total`/`MINSTREL_SHARD_TOTAL`.
    pub(crate) fn shard_plan(&self) -> anyhow::Result<ShardOwnership> {
        let shards = self
            .shards
            .as_deref()
            .map(str::trim)
            .filter(|shards| !shards.is_empty());
        let Some(total) = self.shard_total else {
            if let Some(shards) = shards {
                bail!(
                    "--shards {shards} needs --shard-total (MINSTREL_SHARD_TOTAL): the number of \
                     shards of the whole deployment"
                );
            }
            return Ok(ShardOwnership::everything());
        };
        let refuse = |error: minstrel_app::ShardPlanError| {
            anyhow::anyhow!(
                "--shards / --shard-total (MINSTREL_SHARDS, MINSTREL_SHARD_TOTAL): {error}"
            )
        };
        if total == 0 {
            return Err(refuse(minstrel_app::ShardPlanError::NoShards));
        }
        let Some(shards) = shards else {
            return ShardOwnership::range(0, total - 1, total).map_err(refuse);
        };
        if shards.eq_ignore_ascii_case("none") {
            return ShardOwnership::none(total).map_err(refuse);
        }
        let number = |text: &str| {
            text.trim().parse::<u32>().with_context(|| {
                format!(
                    "--shards (MINSTREL_SHARDS) must be a range such as 0-3, one shard such as 2, \
                     or none (got \"{shards}\")"
                )
            })
        };
        let (first, last) = if let Some((first, last)) = shards.split_once('-') {
            (number(first)?, number(last)?)
        } else {
            let shard = number(shards)?;
            (shard, shard)
        };
        ShardOwnership::range(first, last, total).map_err(refuse)
    }

    /// How guild commands travel: explicit, or Redis when another process owns some shards.
    pub(crate) fn command_bus(&self) -> anyhow::Result<CommandBusKind> {
        let owns_everything = self.shard_plan()?.owns_everything();
        let kind = match self
            .command_bus
            .as_deref()
            .map(|kind| kind.trim().to_ascii_lowercase())
        {
            None => {
                if owns_everything {
                    CommandBusKind::Memory
                } else {
                    CommandBusKind::Redis
                }
            }
            Some(kind) if kind.is_empty() || kind == "memory" => CommandBusKind::Memory,
            Some(kind) if kind == "redis" => CommandBusKind::Redis,
            Some(other) => {
                bail!("MINSTREL_COMMAND_BUS must be memory or redis (got \"{other}\")")
            }
        };
        if kind == CommandBusKind::Memory && !owns_everything {
            bail!(
                "MINSTREL_COMMAND_BUS=memory cannot reach the servers of the other processes' \
                 shards; use redis (with MINSTREL_REDIS_URL) or leave it unset"
            );
        }
        Ok(kind)
    }

    /// Whether this process runs Discord: a token is set and it owns at least one shard.
    pub(crate) fn runs_discord(&self) -> bool {
        self.discord_token.is_set()
            && self
                .shard_plan()
                .is_ok_and(|plan| plan.owned_range().is_some())
    }

    pub(crate) fn search_provider(&self) -> anyhow::Result<SearchProvider> {
        if self.search_provider.trim().eq_ignore_ascii_case("auto") {
            return Ok(if self.ytdlp_installed() {
                SearchProvider::YouTube
            } else {
                SearchProvider::Local
            });
        }
        SearchProvider::parse(&self.search_provider).with_context(|| {
            format!(
                "MINSTREL_SEARCH_PROVIDER must be auto, youtube, soundcloud or local (got \"{}\")",
                self.search_provider
            )
        })
    }

    /// How long a playing track may produce no audio before it is skipped.
    pub(crate) fn track_stuck_after(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.track_stuck_after)
    }

    /// The guilds `MINSTREL_DISCORD_COMMAND_GUILDS` names; empty for global commands.
    pub(crate) fn discord_command_guilds(&self) -> anyhow::Result<Vec<u64>> {
        self.discord_command_guilds
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                id.parse::<u64>().ok().filter(|id| *id > 0).with_context(|| {
                    format!("MINSTREL_DISCORD_COMMAND_GUILDS must be guild ids separated by commas (got \"{id}\")")
                })
            })
            .collect()
    }

    /// Whether the yt-dlp executable exists (a path, or a name found on `PATH`).
    pub(crate) fn ytdlp_installed(&self) -> bool {
        if self.ytdlp.components().count() > 1 {
            return self.ytdlp.is_file();
        }
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|folder| folder.join(&self.ytdlp).is_file())
        })
    }

    /// The Spotify app credentials, when both halves are set.
    pub(crate) fn spotify_credentials(&self) -> Option<SpotifyCredentials> {
        let client_id = self.spotify_client_id.clone()?;
        self.spotify_client_secret
            .is_set()
            .then(|| SpotifyCredentials {
                client_id,
                client_secret: self.spotify_client_secret.expose().to_owned(),
            })
    }

    pub(crate) fn output(&self) -> anyhow::Result<Output> {
        let output = self.output.trim();
        Ok(match output {
            "null" => Output::Null,
            "null-realtime" | "" => Output::NullRealtime,
            _ => {
                let (fast, path) = match output.strip_prefix("fast:") {
                    Some(path) => (true, path),
                    None => (false, output),
                };
                if !Path::new(path)
                    .extension()
                    .is_some_and(|extension| extension.eq_ignore_ascii_case("wav"))
                {
                    bail!(
                        "MINSTREL_OUTPUT must be `null`, `null-realtime`, a .wav path or fast:<path>.wav (got \"{output}\")"
                    );
                }
                if fast {
                    Output::WavFast(PathBuf::from(path))
                } else {
                    Output::Wav(PathBuf::from(path))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ops_address_is_off_by_default_and_parses_from_toml_and_env_values() {
        assert_eq!(Config::default().http_addr, None);
        let from_toml: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string("http_addr = \"127.0.0.1:8080\""))
            .extract()
            .unwrap();
        assert_eq!(
            from_toml.http_addr,
            Some(SocketAddr::from(([127, 0, 0, 1], 8080)))
        );
        // An environment variable's text is parsed as a figment `Value`, as `Env` does.
        let from_env: figment::value::Value = "0.0.0.0:8080".parse().unwrap();
        let address: SocketAddr = from_env.deserialize().unwrap();
        assert_eq!(address, SocketAddr::from(([0, 0, 0, 0], 8080)));
    }

    #[test]
    fn the_event_bus_is_memory_by_default_and_redis_needs_a_redis_url() {
        assert_eq!(Config::default().event_bus().unwrap(), EventBusKind::Memory);
        let redis = Config {
            event_bus: "Redis".to_owned(),
            ..Config::default()
        };
        assert_eq!(redis.event_bus().unwrap(), EventBusKind::Redis);
        let error = redis.validate().unwrap_err().to_string();
        assert!(error.contains("MINSTREL_REDIS_URL"), "{error}");
        let with_url = Config {
            redis_url: Some("redis://127.0.0.1:6379".to_owned()),
            ..redis
        };
        assert!(with_url.validate().is_ok());
        let wrong = Config {
            event_bus: "kafka".to_owned(),
            ..Config::default()
        };
        let error = wrong.validate().unwrap_err().to_string();
        assert!(
            error.contains("memory or redis") && error.contains("kafka"),
            "{error}"
        );
        let blank_id = Config {
            event_bus_process_id: Some(" ".to_owned()),
            ..Config::default()
        };
        assert!(blank_id.validate().is_err());
    }

    #[test]
    fn secrets_never_print() {
        let config = Config {
            discord_token: Secret("abc.def.ghi".to_owned()),
            ..Config::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("abc.def"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }

    #[test]
    fn outputs_parse_and_bad_ones_are_explained() {
        let with = |output: &str| Config {
            output: output.to_owned(),
            ..Config::default()
        };
        assert_eq!(with("null").output().unwrap(), Output::Null);
        assert_eq!(
            with("out.wav").output().unwrap(),
            Output::Wav(PathBuf::from("out.wav"))
        );
        assert_eq!(
            with("fast:x/out.WAV").output().unwrap(),
            Output::WavFast(PathBuf::from("x/out.WAV"))
        );
        let error = with("speakers").output().unwrap_err().to_string();
        assert!(error.contains("MINSTREL_OUTPUT"), "{error}");
    }

    #[test]
    fn auto_search_uses_the_library_without_yt_dlp() {
        let config = Config {
            ytdlp: PathBuf::from("/definitely/not/yt-dlp"),
            ..Config::default()
        };
        assert!(!config.ytdlp_installed());
        assert_eq!(config.search_provider().unwrap(), SearchProvider::Local);
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("yt-dlp");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        let config = Config {
            ytdlp: fake,
            ..Config::default()
        };
        assert_eq!(config.search_provider().unwrap(), SearchProvider::YouTube);
        let config = Config {
            search_provider: "bing".to_owned(),
            ..Config::default()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("MINSTREL_SEARCH_PROVIDER"), "{error}");
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment's own error type"
    )]
    fn the_toml_file_is_read_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("minstrel.toml");
        std::fs::write(
            &path,
            "library_dir = \"/srv/music\"\nplaylist_cap = 42\nlog = \"debug\"\n",
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("MINSTREL_LOG", "warn");
            let config = Config::load(&path).map_err(|error| error.to_string())?;
            assert_eq!(config.library_dir, PathBuf::from("/srv/music"));
            assert_eq!(config.playlist_cap, 42);
            assert_eq!(config.log, "warn");
            Ok(())
        });
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment's own error type"
    )]
    fn discord_presence_is_off_by_default_and_read_from_the_environment() {
        assert!(!Config::default().discord_presence);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.toml");
        figment::Jail::expect_with(|jail| {
            jail.set_env("MINSTREL_DISCORD_PRESENCE", "true");
            let config = Config::load(&path).map_err(|error| error.to_string())?;
            assert!(config.discord_presence);
            jail.set_env("MINSTREL_DISCORD_PRESENCE", "false");
            let config = Config::load(&path).map_err(|error| error.to_string())?;
            assert!(!config.discord_presence);
            jail.set_env("MINSTREL_DISCORD_PRESENCE", "maybe");
            assert!(Config::load(&path).is_err(), "not a boolean");
            Ok(())
        });
    }

    #[test]
    fn the_stuck_window_defaults_to_10_s_and_must_be_positive() {
        let config = Config::default();
        assert_eq!(
            config.track_stuck_after(),
            std::time::Duration::from_secs(10)
        );
        assert!(config.validate().is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let config = Config {
                track_stuck_after: bad,
                ..Config::default()
            };
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains("MINSTREL_TRACK_STUCK_AFTER"), "{error}");
        }
    }

    fn with_shards(shards: Option<&str>, total: Option<u32>) -> Config {
        Config {
            shards: shards.map(str::to_owned),
            shard_total: total,
            redis_url: Some("redis://127.0.0.1:6379".to_owned()),
            ..Config::default()
        }
    }

    #[test]
    fn shard_ranges_parse_inclusively_and_bad_ones_are_explained() {
        assert_eq!(
            Config::default().shard_plan().unwrap(),
            ShardOwnership::everything()
        );
        assert_eq!(
            with_shards(Some("0-3"), Some(8)).shard_plan().unwrap(),
            ShardOwnership::range(0, 3, 8).unwrap()
        );
        assert_eq!(
            with_shards(Some(" 5 "), Some(8)).shard_plan().unwrap(),
            ShardOwnership::range(5, 5, 8).unwrap()
        );
        assert_eq!(
            with_shards(None, Some(4)).shard_plan().unwrap(),
            ShardOwnership::range(0, 3, 4).unwrap()
        );
        assert_eq!(
            with_shards(Some("None"), Some(2)).shard_plan().unwrap(),
            ShardOwnership::none(2).unwrap()
        );
        for (shards, total, expected) in [
            (Some("0-3"), None, "needs --shard-total"),
            (Some("3-1"), Some(8), "backwards"),
            (Some("0-8"), Some(8), "0 to 7"),
            (Some("a-b"), Some(8), "a range such as 0-3"),
            (Some("1-"), Some(8), "a range such as 0-3"),
            (None, Some(0), "at least 1"),
        ] {
            let error = with_shards(shards, total)
                .validate()
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{shards:?}/{total:?}: {error}");
        }
    }

    #[test]
    fn a_partial_process_talks_over_redis_and_needs_it() {
        assert_eq!(
            Config::default().command_bus().unwrap(),
            CommandBusKind::Memory
        );
        let partial = with_shards(Some("1-1"), Some(2));
        assert_eq!(partial.command_bus().unwrap(), CommandBusKind::Redis);
        assert!(partial.validate().is_ok());
        let no_redis = Config {
            redis_url: None,
            ..partial.clone()
        };
        let error = no_redis.validate().unwrap_err().to_string();
        assert!(error.contains("MINSTREL_REDIS_URL"), "{error}");
        let memory = Config {
            command_bus: Some("memory".to_owned()),
            ..partial.clone()
        };
        assert!(
            memory
                .validate()
                .unwrap_err()
                .to_string()
                .contains("cannot reach")
        );
        let kafka = Config {
            command_bus: Some("kafka".to_owned()),
            ..partial
        };
        assert!(kafka.validate().unwrap_err().to_string().contains("kafka"));
        // Owning all of one shard needs nothing shared.
        assert_eq!(
            with_shards(Some("0-0"), Some(1)).command_bus().unwrap(),
            CommandBusKind::Memory
        );
    }

    #[test]
    fn a_process_without_shards_runs_no_discord_even_with_a_token() {
        let token = Secret("a.b.c".to_owned());
        let telegram_only = Config {
            discord_token: token.clone(),
            ..with_shards(Some("none"), Some(2))
        };
        assert!(!telegram_only.runs_discord());
        let bot = Config {
            discord_token: token,
            ..with_shards(Some("0-0"), Some(2))
        };
        assert!(bot.runs_discord());
        assert!(!Config::default().runs_discord(), "no token");
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment's own error type"
    )]
    fn shards_come_from_the_environment_as_text_or_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.toml");
        figment::Jail::expect_with(|jail| {
            jail.set_env("MINSTREL_REDIS_URL", "redis://127.0.0.1:6379");
            jail.set_env("MINSTREL_SHARD_TOTAL", "8");
            jail.set_env("MINSTREL_SHARDS", "2");
            let config = Config::load(&path).map_err(|error| error.to_string())?;
            assert_eq!(
                config.shard_plan().unwrap(),
                ShardOwnership::range(2, 2, 8).unwrap()
            );
            jail.set_env("MINSTREL_SHARDS", "4-7");
            let config = Config::load(&path).map_err(|error| error.to_string())?;
            assert_eq!(
                config.shard_plan().unwrap(),
                ShardOwnership::range(4, 7, 8).unwrap()
            );
            Ok(())
        });
    }

    #[test]
    fn bad_database_url_is_refused() {
        let config = Config {
            database_url: "mysql://x".to_owned(),
            ..Config::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("MINSTREL_DATABASE_URL")
        );
    }
}
