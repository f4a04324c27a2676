//! The log: where it goes, what it shows at each level, and the start-up line.
//!
//! At `info` a start says what runs and where in a few lines (this module's start-up line, the
//! database, the ops endpoint, the front-end); the details of getting there (each migration
//! checked or applied) are at debug.

use anyhow::Context as _;
use minstrel_app::redact::redact_url;
use tracing::info;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::config::{Config, LogFormat};

/// Libraries whose INFO lines are start-up details: sea-orm's migrator logs every migration it
/// checks and applies. Shown when the filter's default level is debug or trace, or when the
/// filter names them.
const DETAIL_TARGETS: &[&str] = &["sea_orm_migration"];

/// Starts logging to stderr, so the console front-end's replies on stdout stay clean.
///
/// # Errors
/// `MINSTREL_LOG` is not a valid filter, or logging was already started.
pub(crate) fn init(config: &Config) -> anyhow::Result<()> {
    // Colours only on a terminal: a log file or journald gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(&config.log)?)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let result = match config.log_format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|error| anyhow::anyhow!("could not start logging: {error}"))
}

/// The filter `log` (`MINSTREL_LOG`) asks for, with the noise of some libraries turned down.
fn filter(log: &str) -> anyhow::Result<EnvFilter> {
    let mut filter = EnvFilter::try_new(log)
        .with_context(|| format!("MINSTREL_LOG \"{log}\" is not a valid log filter"))?;
    // symphonia's probe logs an ERROR for every file it cannot identify; minstrel already
    // answers that itself, with a friendly error to whoever asked, so the log line is only
    // noise (and a second line under `minstrel render`'s one-line error). A filter that names
    // symphonia keeps it.
    if !log.contains("symphonia") {
        filter = filter.add_directive("symphonia_core::probe=off".parse()?);
    }
    // The level of every target the filter does not name: a bare `debug` or `trace` entry.
    let details = log
        .split(',')
        .filter_map(|directive| directive.trim().parse::<LevelFilter>().ok())
        .any(|level| level >= LevelFilter::DEBUG);
    if !details {
        for target in DETAIL_TARGETS
            .iter()
            .filter(|target| !log.contains(**target))
        {
            filter = filter.add_directive(format!("{target}=warn").parse()?);
        }
    }
    Ok(filter)
}

/// The first line of `minstrel run`: the version, the front-ends, the database and the cache,
/// with every password blanked out.
pub(crate) fn log_start(config: &Config) {
    let mut front_ends = Vec::new();
    if config.runs_discord() {
        front_ends.push("Discord");
    }
    if config.telegram_token.is_set() && config.enable_telegram {
        front_ends.push("Telegram");
    }
    if front_ends.is_empty() {
        front_ends.push("console");
    }
    let cache = config.redis_url.as_deref().map_or_else(
        || "in-process".to_owned(),
        |url| format!("in-process, then Redis at {}", redact_url(url)),
    );
    info!(
        version = env!("CARGO_PKG_VERSION"),
        front_ends = %front_ends.join(", "),
        database = %redact_url(&config.database_url),
        cache = %cache,
        "minstrel starting"
    );
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::filter;

    /// Whether an event of `level` from sea-orm's migrator passes `log`.
    fn migration_line_shown(log: &str, level: Level) -> bool {
        let subscriber = tracing_subscriber::registry().with(filter(log).unwrap());
        tracing::subscriber::with_default(subscriber, || match level {
            Level::INFO => {
                tracing::enabled!(target: "sea_orm_migration::migrator::exec", Level::INFO)
            }
            Level::DEBUG => {
                tracing::enabled!(target: "sea_orm_migration::migrator::exec", Level::DEBUG)
            }
            _ => tracing::enabled!(target: "sea_orm_migration::migrator::exec", Level::WARN),
        })
    }

    fn minstrel_info_shown(log: &str) -> bool {
        let subscriber = tracing_subscriber::registry().with(filter(log).unwrap());
        tracing::subscriber::with_default(
            subscriber,
            || tracing::enabled!(target: "minstrel::wiring", Level::INFO),
        )
    }

    #[test]
    fn migration_details_are_hidden_at_info_and_shown_at_debug() {
        assert!(!migration_line_shown("info", Level::INFO));
        assert!(migration_line_shown("info", Level::WARN));
        assert!(minstrel_info_shown("info"));
        assert!(migration_line_shown("debug", Level::INFO));
        assert!(migration_line_shown("debug", Level::DEBUG));
        assert!(migration_line_shown("trace", Level::INFO));
        // Debugging minstrel alone does not bring the migrator's lines back.
        assert!(!migration_line_shown("info,minstrel=debug", Level::INFO));
    }

    #[test]
    fn a_filter_that_names_the_migrator_keeps_its_lines() {
        assert!(migration_line_shown(
            "info,sea_orm_migration=info",
            Level::INFO
        ));
        assert!(!migration_line_shown("sea_orm_migration=warn", Level::INFO));
    }

    #[test]
    fn a_bad_filter_is_one_sentence_naming_the_setting() {
        let error = filter("info,minstrel=loud").unwrap_err();
        assert!(
            format!("{error:#}")
                .starts_with("MINSTREL_LOG \"info,minstrel=loud\" is not a valid log filter"),
            "{error:#}"
        );
    }
}
