//! `minstrel doctor`: checks the configuration and the environment and says what to fix.

use std::process::Command;

use crate::config::Config;

pub(crate) async fn run(config: &Config) -> anyhow::Result<()> {
    let database = database_answers(config).await;
    let redis = redis_answers(config).await;
    let mut problems = 0;
    let mut report = |ok: bool, what: &str, advice: &str| {
        if ok {
            println!("ok      {what}");
        } else {
            problems += 1;
            println!("problem {what}: {advice}");
        }
    };
    report(
        config.library_dir.is_dir(),
        &format!("music library {}", config.library_dir.display()),
        "the folder does not exist; create it or set MINSTREL_LIBRARY_DIR",
    );
    report(
        database.is_ok(),
        "database (MINSTREL_DATABASE_URL)",
        database.as_ref().err().map_or("", String::as_str),
    );
    if let Some(redis) = &redis {
        report(
            redis.is_ok(),
            "Redis (MINSTREL_REDIS_URL)",
            redis.as_ref().err().map_or("", String::as_str),
        );
    }
    report(
        config.output().is_ok(),
        "MINSTREL_OUTPUT",
        "see the README for valid values",
    );
    // yt-dlp is optional: without it the web sources say how to install it and local files
    // still play, so its absence is a warning, not a failed check.
    let yt_dlp = Command::new("yt-dlp").arg("--version").output();
    if yt_dlp.is_ok_and(|output| output.status.success()) {
        println!("ok      yt-dlp (YouTube, SoundCloud, … sources)");
    } else {
        println!(
            "warning yt-dlp is not installed: `pip install yt-dlp` enables YouTube, SoundCloud, … (local files work without it)"
        );
    }
    println!(
        "info    Discord: {}",
        if config.discord_token.is_set() {
            "token set"
        } else {
            "no DISCORD_TOKEN"
        }
    );
    println!(
        "info    Telegram: {}",
        if config.telegram_token.is_set() {
            "token set"
        } else {
            "no TELEGRAM_TOKEN"
        }
    );
    if problems == 0 {
        println!("all checks passed");
        Ok(())
    } else {
        anyhow::bail!("{problems} problem(s) found")
    }
}

/// Opens the database and runs one query; the error says what to fix, never a password.
async fn database_answers(config: &Config) -> Result<(), String> {
    let redactor = config.redactor();
    let database = crate::wiring::connect_database(config)
        .await
        .map_err(|error| redactor.scrub(&format!("{error:#}")).into_owned())?;
    let answered = database.ping().await.map_err(|error| {
        redactor
            .scrub(&format!("it does not answer: {error}"))
            .into_owned()
    });
    database.close().await.ok();
    answered
}

/// `None` when no Redis is configured.
async fn redis_answers(config: &Config) -> Option<Result<(), String>> {
    let url = config.redis_url.as_ref()?;
    let redis =
        match minstrel_cache::RedisCache::new(minstrel_cache::RedisCacheConfig::new(url.clone())) {
            Ok(redis) => redis,
            Err(error) => return Some(Err(error.to_string())),
        };
    Some(redis.ping().await.map_err(|error| {
        format!("it does not answer ({error}); the bot would run on memory alone")
    }))
}
