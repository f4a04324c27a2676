//! minstrel: the composition root. Reads the configuration, builds every adapter, wires them
//! into the use cases and starts the front-ends. The only crate that knows every other one.

#[cfg(feature = "bench")]
mod bench;
mod config;
mod doctor;
mod logging;
mod ops;
mod preview;
mod render;
mod wiring;

use std::path::PathBuf;

#[cfg(feature = "bench")]
use anyhow::Context;
use clap::{Parser, Subcommand};
use minstrel_app::vocabulary::{self, CommandId, Surface};

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "minstrel",
    version,
    about = "A self-hosted Discord + Telegram music bot"
)]
struct Cli {
    /// Path of the configuration file; unset: `minstrel.toml` when it exists. A file named
    /// here must exist.
    #[arg(long, env = "MINSTREL_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bot (default): Discord with `DISCORD_TOKEN`, Telegram with `TELEGRAM_TOKEN`, the
    /// console front-end when neither is set.
    Run(RunArgs),
    /// Render a file through the filter chain to a 48 kHz WAV (filter preview).
    Render(render::RenderArgs),
    /// Apply the database migrations.
    Migrate,
    /// Check the configuration and the environment.
    Doctor,
    /// Render N concurrent guild streams through the full pipeline (decode, DSP, Opus, RTP
    /// encryption; no network) and report streams per core, the Opus-only ceiling and memory.
    #[cfg(feature = "bench")]
    Bench(bench::BenchArgs),
    /// Discord tools that need no connection.
    #[command(subcommand)]
    Discord(DiscordCommand),
    /// Print every command against the front-ends that offer it (the parity table).
    Commands {
        /// As the Markdown table the README carries.
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DiscordCommand {
    /// Print the slash command definitions minstrel registers with Discord.
    Commands {
        /// As the JSON body of Discord's bulk overwrite (`PUT /applications/{id}/commands`).
        #[arg(long)]
        json: bool,
    },
}

/// Which part of a sharded deployment this process is.
#[derive(Debug, Default, clap::Args)]
struct RunArgs {
    /// The shards this process runs: `A-B` (inclusive), `A`, or `none` (Telegram only); also
    /// `MINSTREL_SHARDS`. Unset: every shard of `--shard-total`.
    #[arg(long, value_name = "A-B|none")]
    shards: Option<String>,
    /// The shard count of the whole deployment, the same in every process; also
    /// `MINSTREL_SHARD_TOTAL`. Unset: this process runs everything.
    #[arg(long, value_name = "N")]
    shard_total: Option<u32>,
}

/// How long the runtime waits for its blocking threads once the bot has stopped. The console
/// reads stdin on one, and that read ends only when stdin closes: waiting for it would keep a
/// process that was told to stop (SIGTERM) running for as long as its stdin stays open.
const RUNTIME_SHUTDOWN: std::time::Duration = std::time::Duration::from_secs(1);

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("minstrel: could not start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("minstrel: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The definitions are built into the binary: no configuration is needed, or read.
    if let Some(Command::Discord(DiscordCommand::Commands { json })) = &cli.command {
        print_discord_commands(*json);
        return Ok(());
    }
    if let Some(Command::Commands { markdown }) = &cli.command {
        print_parity(*markdown);
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref())?;
    // Whatever fails from here on may quote the configuration (a driver's message quotes the
    // database URL): every secret is blanked out of the one line printed.
    let redactor = config.redactor();
    run_with(cli, config)
        .await
        .map_err(|error| anyhow::anyhow!(redactor.scrub(&format!("{error:#}")).into_owned()))
}

async fn run_with(cli: Cli, mut config: Config) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Run(RunArgs::default()));
    if let Command::Run(args) = &command {
        // The flags win over the environment and the file, and are checked the same way.
        config = config.with_shards(args.shards.clone(), args.shard_total)?;
    }
    logging::init(&config)?;
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    match command {
        Command::Run(_) => {
            logging::log_start(&config);
            wiring::run(config).await
        }
        Command::Render(args) => render::run(&args),
        Command::Migrate => {
            let database = wiring::connect_database(&config).await?;
            let applied = wiring::migrate(&database).await?;
            let backend = database.backend().name();
            if applied.is_empty() {
                println!("the {backend} database is up to date: no migration to apply");
            }
            for name in &applied {
                println!("applied {name}");
            }
            if !applied.is_empty() {
                println!(
                    "the {backend} database is up to date ({} applied)",
                    applied.len()
                );
            }
            database.close().await.ok();
            Ok(())
        }
        Command::Doctor => doctor::run(&config).await,
        // Compute-bound and synchronous: its own threads, off the async runtime.
        #[cfg(feature = "bench")]
        Command::Bench(args) => tokio::task::spawn_blocking(move || bench::run(&args))
            .await
            .context("the bench stopped unexpectedly")?,
        Command::Discord(DiscordCommand::Commands { json }) => {
            print_discord_commands(json);
            Ok(())
        }
        Command::Commands { markdown } => {
            print_parity(markdown);
            Ok(())
        }
    }
}

/// Every front-end's way of offering each command, with the reasons for what one leaves out.
pub(crate) const FRONT_ENDS: [vocabulary::FrontEnd<'static>; 3] = [
    ("Discord", minstrel_discord::parity::surface),
    ("Telegram", minstrel_telegram::parity::surface),
    ("console", minstrel_console::parity::surface),
];

/// The parity table on stdout: Markdown, or one line per command.
fn print_parity(markdown: bool) {
    if markdown {
        print!("{}", vocabulary::parity_markdown(&FRONT_ENDS));
        return;
    }
    for id in CommandId::ALL {
        let spec = id.spec();
        let offered: Vec<String> = FRONT_ENDS
            .iter()
            .map(|(title, surface)| match surface(id) {
                Surface::Offered(spelling) => format!("{title}: {spelling}"),
                Surface::Absent(_) => format!("{title}: —"),
            })
            .collect();
        println!("{} — {} ({})", spec.name, spec.summary, offered.join(", "));
    }
}

/// The slash command definitions on stdout: JSON for tools, or one line per command.
fn print_discord_commands(json: bool) {
    if json {
        println!("{}", minstrel_discord::definitions_json());
        return;
    }
    for command in minstrel_discord::definitions() {
        println!("/{}: {}", command.name, command.description);
    }
}

#[cfg(test)]
mod parity_tests {
    use super::{FRONT_ENDS, vocabulary};

    /// The README's parity table is the one the code generates: a command added, or a front-end
    /// that drops one, changes it.
    #[test]
    fn the_readme_carries_the_generated_parity_table() {
        let readme = include_str!("../../../README.md");
        let start = "<!-- parity table: minstrel commands --markdown -->\n";
        let end = "<!-- end of parity table -->";
        let table = readme
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(table, _)| table)
            .expect("README.md has the parity table between its markers");
        assert_eq!(
            table,
            vocabulary::parity_markdown(&FRONT_ENDS),
            "regenerate it with `cargo run -- commands --markdown`"
        );
    }
}
