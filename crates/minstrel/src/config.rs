//! Configuration: defaults, then `minstrel.toml`, then the environment. Validated at startup.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A token: never printed, never logged.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn is_set(&self) -> bool {
        !self.0.trim().is_empty()
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
    pub(crate) redis_url: Option<String>,
    pub(crate) log: String,
    pub(crate) log_format: LogFormat,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            discord_token: Secret::default(),
            telegram_token: Secret::default(),
            library_dir: PathBuf::from("music"),
            output: "null-realtime".to_owned(),
            database_url: "sqlite://minstrel.db".to_owned(),
            redis_url: None,
            log: "info".to_owned(),
            log_format: LogFormat::Pretty,
        }
    }
}

impl Config {
    /// Loads the configuration: defaults < `config_path` (if it exists) < `MINSTREL_*` env <
    /// `DISCORD_TOKEN` / `TELEGRAM_TOKEN`.
    pub(crate) fn load(config_path: &Path) -> anyhow::Result<Self> {
        let config: Self = Figment::from(Serialized::defaults(Self::default()))
            .merge(Toml::file(config_path))
            .merge(Env::prefixed("MINSTREL_").ignore(&["config"]))
            .merge(
                Env::raw()
                    .only(&["DISCORD_TOKEN", "TELEGRAM_TOKEN"])
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
        Ok(())
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
