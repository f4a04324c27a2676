//! Configuration: defaults, then `minstrel.toml`, then the environment. Validated at startup.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use minstrel_app::ShardOwnership;
use minstrel_app::redact::{Redactor, redact_url};
use minstrel_sources::{SearchProvider, SpotifyCredentials};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// A token: never printed, never logged, wiped from memory when dropped.
#[derive(Clone)]
pub(crate) struct Secret(SecretString);

impl Secret {
    #[cfg(test)]
    pub(crate) fn new(text: &str) -> Self {
        Self(SecretString::new(text.to_owned()))
    }

    pub(crate) fn is_set(&self) -> bool {
        !self.expose().is_empty()
    }

    /// The secret itself, for the one client that needs it; never for a log line.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret().trim()
    }
}

impl Default for Secret {
    fn default() -> Self {
        Self(SecretString::new(String::new()))
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl Eq for Secret {}

/// Written out only as figment's defaults layer, which holds no token.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose_secret())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self(SecretString::new(text)))
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

/// An empty value (`MINSTREL_HTTP_ADDR=`) is the same as an unset one: off.
fn empty_is_unset<'de, D>(deserializer: D) -> Result<Option<SocketAddr>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum AddressOrText {
        Address(SocketAddr),
        Text(String),
    }
    match Option::<AddressOrText>::deserialize(deserializer)? {
        None => Ok(None),
        Some(AddressOrText::Address(address)) => Ok(Some(address)),
        Some(AddressOrText::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(AddressOrText::Text(text)) => text.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!(
                "\"{text}\" is not an address such as 127.0.0.1:8080"
            ))
        }),
    }
}

/// The most shards a deployment may have. Discord's largest bots run a few tens of thousands;
/// past this a typing slip (`--shard-total 4294967295`) would make the process set up billions
/// of shard streams.
pub(crate) const MAX_SHARD_TOTAL: u32 = 65_536;
/// The most tracks one playlist link may add: the largest queue a guild may allow.
const MAX_PLAYLIST_CAP: usize = minstrel_domain::GuildSettings::MAX_QUEUE_LIMIT;
/// The most writes the outbox may hold in memory while the database is away.
const MAX_OUTBOX_CAPACITY: usize = 1_000_000;
/// One week: the longest the bot may wait alone in a voice channel before leaving.
const MAX_LEAVE_WHEN_ALONE_AFTER: u64 = 7 * 24 * 60 * 60;
/// One hour: the longest a track may stay silent before it counts as stuck.
const MAX_TRACK_STUCK_AFTER: f64 = 3600.0;

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
    /// Where the ops endpoint (`/health`, `/ready`, `/metrics`) listens; off when unset or
    /// empty.
    #[serde(deserialize_with = "empty_is_unset", default)]
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
    /// What loading found odd but not wrong (a key this version does not know), to log once
    /// logging runs. Not a setting, so not `pub(crate)`: read it through [`Config::warnings`].
    #[serde(skip)]
    warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            discord_token: Secret::default(),
            telegram_token: Secret::default(),
            library_dir: PathBuf::from("music"),
            output: "null-realtime".to_owned(),
            database_url: "sqlite://minstrel.db".to_owned(),
            outbox_capacity: minstrel_app::OutboxConfig::DEFAULT_CAPACITY,
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
            warnings: Vec::new(),
        }
    }
}

/// The file read when neither `--config` nor `MINSTREL_CONFIG` names one.
const DEFAULT_CONFIG_PATH: &str = "minstrel.toml";
/// Settings that hold a token, by their key in the file.
const SECRET_KEYS: &[&str] = &["discord_token", "telegram_token", "spotify_client_secret"];
/// Settings that hold a URL that may carry a password, by their key in the file.
const URL_KEYS: &[&str] = &["database_url", "redis_url"];
/// Environment variables that hold a token.
const SECRET_VARIABLES: &[&str] = &[
    "DISCORD_TOKEN",
    "TELEGRAM_TOKEN",
    "SPOTIFY_CLIENT_SECRET",
    "MINSTREL_DISCORD_TOKEN",
    "MINSTREL_TELEGRAM_TOKEN",
    "MINSTREL_SPOTIFY_CLIENT_SECRET",
];
/// Environment variables that hold a URL that may carry a password.
const URL_VARIABLES: &[&str] = &["MINSTREL_DATABASE_URL", "MINSTREL_REDIS_URL"];

/// The file's table, or where its syntax is wrong: the line and column and the parser's
/// sentence, never the parser's quote of the line (which may hold a token).
fn parse_toml(path: &Path, text: &str) -> anyhow::Result<toml::Table> {
    text.parse::<toml::Table>().map_err(|error| {
        let place = error
            .span()
            .and_then(|span| text.get(..span.start))
            .map(|before| {
                let line_start = before.rfind('\n').map_or(0, |at| at + 1);
                format!(
                    " at line {}, column {}",
                    before.matches('\n').count() + 1,
                    before[line_start..].chars().count() + 1
                )
            })
            .unwrap_or_default();
        anyhow::anyhow!(
            "{} is not valid TOML{place}: {}",
            path.display(),
            error.message().trim()
        )
    })
}

/// The secrets as written in the file and the environment, before they are read into a
/// [`Config`]: what an error about reading them must not quote.
fn raw_secrets(table: Option<&toml::Table>) -> Redactor {
    let text = |value: &toml::Value| match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let mut redactor = Redactor::new();
    for key in SECRET_KEYS {
        if let Some(value) = table.and_then(|table| table.get(*key)) {
            redactor = redactor.with_secret(&text(value));
        }
    }
    for key in URL_KEYS {
        if let Some(value) = table.and_then(|table| table.get(*key)) {
            redactor = redactor.with_url(&text(value));
        }
    }
    for name in SECRET_VARIABLES {
        if let Ok(value) = std::env::var(name) {
            redactor = redactor.with_secret(&value);
        }
    }
    for name in URL_VARIABLES {
        if let Ok(value) = std::env::var(name) {
            redactor = redactor.with_url(&value);
        }
    }
    redactor
}

/// A warning for each key of the file that names no setting (a typo would otherwise be
/// silently ignored).
fn unknown_keys(path: &Path, table: &toml::Table) -> Vec<String> {
    let Ok(serde_json::Value::Object(known)) = serde_json::to_value(Config::default()) else {
        return Vec::new();
    };
    table
        .keys()
        .filter(|key| !known.contains_key(key.as_str()))
        .map(|key| {
            format!(
                "{}: unknown key \"{key}\" is ignored (the README's configuration table lists \
                 every setting)",
                path.display()
            )
        })
        .collect()
}

impl Config {
    /// Loads the configuration: defaults < the file (`named`, else `minstrel.toml` if it
    /// exists) < `MINSTREL_*` env < `DISCORD_TOKEN`, `TELEGRAM_TOKEN`, `ENABLE_TELEGRAM`,
    /// `SPOTIFY_CLIENT_ID` and `SPOTIFY_CLIENT_SECRET`. A named file must exist; keys the file
    /// holds that no setting has become [`Config::warnings`]. No error quotes a secret.
    pub(crate) fn load(named: Option<&Path>) -> anyhow::Result<Self> {
        let path = named.unwrap_or(Path::new(DEFAULT_CONFIG_PATH));
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if named.is_some() {
                    bail!(
                        "the configuration file {} (--config, MINSTREL_CONFIG) does not exist",
                        path.display()
                    );
                }
                None
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("could not read the configuration file {}", path.display())
                });
            }
        };
        let table = text
            .as_deref()
            .map(|text| parse_toml(path, text))
            .transpose()?;
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        if text.is_some() {
            figment = figment.merge(Toml::file(path));
        }
        let mut config: Self = figment
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
            .map_err(|error| {
                let redactor = raw_secrets(table.as_ref());
                anyhow::anyhow!(
                    "the configuration in {} or the environment is invalid: {}",
                    path.display(),
                    redactor.scrub(&error.to_string())
                )
            })?;
        if let Some(table) = &table {
            config.warnings = unknown_keys(path, table);
        }
        config.validate().map_err(|error| {
            anyhow::anyhow!(config.redactor().scrub(&format!("{error:#}")).into_owned())
        })?;
        Ok(config)
    }

    /// What loading found odd but not wrong, one sentence each.
    pub(crate) fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What hides every secret of this configuration (tokens, the passwords of its URLs) from
    /// an error message.
    pub(crate) fn redactor(&self) -> Redactor {
        let mut redactor = Redactor::new()
            .with_secret(self.discord_token.expose())
            .with_secret(self.telegram_token.expose())
            .with_secret(self.spotify_client_secret.expose())
            .with_url(&self.database_url);
        if let Some(url) = &self.redis_url {
            redactor = redactor.with_url(url);
        }
        redactor
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.output()?;
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            bail!(
                "MINSTREL_DATABASE_URL must start with sqlite: or postgres:// (got \"{}\")",
                redact_url(&self.database_url)
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
        if !(self.track_stuck_after > 0.0 && self.track_stuck_after <= MAX_TRACK_STUCK_AFTER) {
            bail!(
                "MINSTREL_TRACK_STUCK_AFTER must be a number of seconds above 0 and at most \
                 {MAX_TRACK_STUCK_AFTER} (got {})",
                self.track_stuck_after
            );
        }
        if !(1..=MAX_PLAYLIST_CAP).contains(&self.playlist_cap) {
            bail!(
                "MINSTREL_PLAYLIST_CAP must be between 1 and {MAX_PLAYLIST_CAP} (got {})",
                self.playlist_cap
            );
        }
        if !(1..=MAX_OUTBOX_CAPACITY).contains(&self.outbox_capacity) {
            bail!(
                "MINSTREL_OUTBOX_CAPACITY must be between 1 and {MAX_OUTBOX_CAPACITY} (got {})",
                self.outbox_capacity
            );
        }
        if self.leave_when_alone_after > MAX_LEAVE_WHEN_ALONE_AFTER {
            bail!(
                "MINSTREL_LEAVE_WHEN_ALONE_AFTER must be between 0 (stay) and \
                 {MAX_LEAVE_WHEN_ALONE_AFTER} seconds (got {})",
                self.leave_when_alone_after
            );
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
        if total > MAX_SHARD_TOTAL {
            bail!(
                "--shard-total (MINSTREL_SHARD_TOTAL) must be between 1 and {MAX_SHARD_TOTAL} \
                 (got {total})"
            );
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
            discord_token: Secret::new("abc.def.ghi"),
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
            let config = Config::load(Some(&path)).map_err(|error| error.to_string())?;
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
        figment::Jail::expect_with(|jail| {
            jail.set_env("MINSTREL_DISCORD_PRESENCE", "true");
            let config = Config::load(None).map_err(|error| error.to_string())?;
            assert!(config.discord_presence);
            jail.set_env("MINSTREL_DISCORD_PRESENCE", "false");
            let config = Config::load(None).map_err(|error| error.to_string())?;
            assert!(!config.discord_presence);
            jail.set_env("MINSTREL_DISCORD_PRESENCE", "maybe");
            assert!(Config::load(None).is_err(), "not a boolean");
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
        let token = Secret::new("a.b.c");
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
        figment::Jail::expect_with(|jail| {
            jail.set_env("MINSTREL_REDIS_URL", "redis://127.0.0.1:6379");
            jail.set_env("MINSTREL_SHARD_TOTAL", "8");
            jail.set_env("MINSTREL_SHARDS", "2");
            let config = Config::load(None).map_err(|error| error.to_string())?;
            assert_eq!(
                config.shard_plan().unwrap(),
                ShardOwnership::range(2, 2, 8).unwrap()
            );
            jail.set_env("MINSTREL_SHARDS", "4-7");
            let config = Config::load(None).map_err(|error| error.to_string())?;
            assert_eq!(
                config.shard_plan().unwrap(),
                ShardOwnership::range(4, 7, 8).unwrap()
            );
            Ok(())
        });
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment's own error type"
    )]
    fn an_unknown_key_in_the_file_is_a_warning_that_names_it() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("minstrel.toml", "playlist_cap = 7\nplaylist_cpa = 9\n")?;
            let config = Config::load(None).map_err(|error| error.to_string())?;
            assert_eq!(config.playlist_cap, 7);
            assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
            assert!(
                config.warnings[0].contains("\"playlist_cpa\""),
                "{:?}",
                config.warnings
            );
            jail.create_file(
                "minstrel.toml",
                "playlist_cap = 7\nhttp_addr = \"127.0.0.1:1\"\n",
            )?;
            let config = Config::load(None).map_err(|error| error.to_string())?;
            assert_eq!(config.warnings, Vec::<String>::new());
            Ok(())
        });
    }

    #[test]
    fn a_named_configuration_file_that_does_not_exist_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("minstrel.tmol");
        let error = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(
            error.contains("does not exist") && error.contains("minstrel.tmol"),
            "{error}"
        );
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment's own error type"
    )]
    fn an_empty_ops_address_means_off() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MINSTREL_HTTP_ADDR", "");
            assert_eq!(
                Config::load(None)
                    .map_err(|error| error.to_string())?
                    .http_addr,
                None
            );
            jail.set_env("MINSTREL_HTTP_ADDR", "127.0.0.1:8080");
            assert_eq!(
                Config::load(None)
                    .map_err(|error| error.to_string())?
                    .http_addr,
                Some(SocketAddr::from(([127, 0, 0, 1], 8080)))
            );
            jail.set_env("MINSTREL_HTTP_ADDR", "everywhere");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.contains("everywhere"), "{error}");
            Ok(())
        });
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment's own error type"
    )]
    fn a_toml_syntax_error_on_the_token_line_does_not_quote_the_token() {
        figment::Jail::expect_with(|jail| {
            // The closing quote is missing.
            jail.create_file(
                "minstrel.toml",
                "log = \"info\"\ndiscord_token = \"MTIz.secret-token-value\n",
            )?;
            let error = format!("{:#}", Config::load(None).unwrap_err());
            assert!(!error.contains("secret-token-value"), "{error}");
            assert!(error.contains("line 2"), "{error}");
            // A token of the wrong type is not quoted either.
            jail.create_file("minstrel.toml", "telegram_token = 123456789987654321\n")?;
            let error = format!("{:#}", Config::load(None).unwrap_err());
            assert!(!error.contains("123456789987654321"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_database_url_is_never_shown_with_its_password() {
        let config = Config {
            database_url: "mysql://minstrel:hunter2@db.internal/minstrel".to_owned(),
            ..Config::default()
        };
        let error = format!("{:#}", config.validate().unwrap_err());
        assert!(error.contains("MINSTREL_DATABASE_URL"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let redactor = Config {
            database_url: "postgres://minstrel:pa/ss@db:port/x".to_owned(),
            ..Config::default()
        }
        .redactor();
        let quoted =
            "The connection string 'postgres://minstrel:pa/ss@db:port/x' cannot be parsed.";
        assert!(
            !redactor.scrub(quoted).contains("pa/ss"),
            "{}",
            redactor.scrub(quoted)
        );
    }

    #[test]
    fn every_number_has_bounds() {
        let refused = |config: Config, setting: &str| {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(setting), "{error}");
        };
        refused(
            Config {
                playlist_cap: 10_001,
                ..Config::default()
            },
            "MINSTREL_PLAYLIST_CAP",
        );
        refused(
            Config {
                outbox_capacity: usize::MAX,
                ..Config::default()
            },
            "MINSTREL_OUTBOX_CAPACITY",
        );
        refused(
            Config {
                leave_when_alone_after: u64::MAX,
                ..Config::default()
            },
            "MINSTREL_LEAVE_WHEN_ALONE_AFTER",
        );
        refused(
            Config {
                track_stuck_after: 1e300,
                ..Config::default()
            },
            "MINSTREL_TRACK_STUCK_AFTER",
        );
        // The command line of the report: refused before any shard is set up.
        refused(
            with_shards(Some("0-4294967293"), Some(u32::MAX)),
            "between 1 and 65536",
        );
        assert!(
            with_shards(Some("0-65535"), Some(MAX_SHARD_TOTAL))
                .validate()
                .is_ok()
        );
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
