//! Configuration: defaults, then `minstrel.toml`, then the environment. Validated at startup.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
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
