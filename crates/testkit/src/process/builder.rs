//! How a [`BotProcess`] is started: the one place the end-to-end tests describe a bot process
//! (front-ends and the fakes they talk to, library, environment, arguments, standard input).

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use super::BotProcess;
use crate::discord::{FakeGateway, FakeRest};
use crate::telegram::FakeTelegram;
use crate::voice::FakeVoiceServer;

/// Variables that pick front-ends or a config file: unset unless the test sets them, so what
/// the developer's shell exports cannot change what a test starts.
const FRONT_END_VARIABLES: [&str; 4] = [
    "DISCORD_TOKEN",
    "TELEGRAM_TOKEN",
    "ENABLE_TELEGRAM",
    "MINSTREL_CONFIG",
];

/// What the process reads on standard input.
#[derive(Debug)]
enum Input {
    /// End of file at once.
    Null,
    /// A pipe that stays open while the [`BotProcess`] lives ([`BotProcess::write_stdin`]).
    Piped,
    /// This text, then end of file.
    Text(String),
}

/// A bot process to start: made by [`BotProcess::builder`], started by [`BotBuilder::spawn`]
/// (a running process, killed when dropped) or [`BotBuilder::run`] (a command that ends).
///
/// It runs in a scratch folder of its own (unless [`BotBuilder::working_dir`] names another),
/// where its logs go; no front-end runs unless a method here turns it on, so without one the
/// bot runs its console.
#[derive(Debug)]
#[must_use = "nothing starts until `spawn` or `run`"]
pub struct BotBuilder {
    command: Command,
    scratch: tempfile::TempDir,
    working_dir: Option<PathBuf>,
    input: Input,
}

/// How a process that was [run](BotBuilder::run) to its end ended, and what it wrote.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// What it wrote to stdout.
    pub stdout: String,
    /// What it wrote to stderr (the log).
    pub stderr: String,
}

impl Finished {
    /// Stdout and stderr, one after the other.
    pub fn said(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl BotProcess {
    /// A bot process of the `binary` (in minstrel's tests `env!("CARGO_BIN_EXE_minstrel")`)
    /// to describe and start.
    ///
    /// # Panics
    /// When no scratch folder can be made.
    pub fn builder(binary: impl AsRef<OsStr>) -> BotBuilder {
        let mut command = Command::new(binary);
        for variable in FRONT_END_VARIABLES {
            command.env_remove(variable);
        }
        BotBuilder {
            command,
            scratch: tempfile::tempdir().expect("a scratch folder"),
            working_dir: None,
            input: Input::Null,
        }
    }
}

impl BotBuilder {
    /// The process's scratch folder (its logs, and its working directory by default).
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Adds command-line arguments.
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.command.args(args);
        self
    }

    /// Sets an environment variable (the last setting of a name wins).
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    /// Sets environment variables.
    pub fn envs<K, V>(mut self, variables: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.command.envs(variables);
        self
    }

    /// Unsets an environment variable the test runner may have.
    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Self {
        self.command.env_remove(name);
        self
    }

    /// Runs in `folder` instead of the scratch folder (a database file that outlives one
    /// process); the logs stay in the scratch folder.
    pub fn working_dir(mut self, folder: &Path) -> Self {
        self.working_dir = Some(folder.to_owned());
        self
    }

    /// `MINSTREL_CONFIG`: the config file to read.
    pub fn config(self, path: &Path) -> Self {
        self.env("MINSTREL_CONFIG", path)
    }

    /// `MINSTREL_LOG`: the log filter.
    pub fn log(self, filter: &str) -> Self {
        self.env("MINSTREL_LOG", filter)
    }

    /// `MINSTREL_OUTPUT`: where the local player's audio goes (`null`, `null-realtime`, a WAV
    /// path, `fast:<path>`).
    pub fn output(self, output: impl AsRef<OsStr>) -> Self {
        self.env("MINSTREL_OUTPUT", output)
    }

    /// `MINSTREL_LIBRARY_DIR`: the folder of local files.
    pub fn library_dir(self, folder: &Path) -> Self {
        self.env("MINSTREL_LIBRARY_DIR", folder)
    }

    /// Plain words search the library, whether or not yt-dlp is installed here.
    pub fn local_search(self) -> Self {
        self.env("MINSTREL_SEARCH_PROVIDER", "local")
    }

    /// The library is `music` in the scratch folder, made empty if it is not there yet.
    ///
    /// # Panics
    /// When the folder cannot be made.
    pub fn library(self) -> Self {
        let folder = self.scratch.path().join("music");
        std::fs::create_dir_all(&folder).expect("make the library folder");
        self.library_dir(&folder)
    }

    /// Adds `name` to the [library](Self::library): `seconds` of a sine at `frequency` Hz,
    /// peak `amplitude` of 32 767 ([`crate::audio::write_tone`]).
    pub fn tone(self, name: &str, seconds: u32, frequency: f32, amplitude: f32) -> Self {
        let this = self.library();
        let path = this.scratch.path().join("music").join(name);
        crate::audio::write_tone(&path, seconds, frequency, amplitude);
        this
    }

    /// Runs Discord with `token` against the fake gateway and REST API.
    pub fn discord(self, token: &str, gateway: &FakeGateway, rest: &FakeRest) -> Self {
        self.env("DISCORD_TOKEN", token)
            .env("MINSTREL_DISCORD_GATEWAY_URL", gateway.url())
            .env("MINSTREL_DISCORD_REST_PROXY", rest.proxy_address())
    }

    /// Trusts the fake voice server's certificate authority (through `SSL_CERT_FILE`).
    pub fn voice(self, voice: &FakeVoiceServer) -> Self {
        self.trust(voice.ca_file())
    }

    /// Trusts the certificate authorities in `ca_file` (PEM) instead of the system's.
    pub fn trust(self, ca_file: &Path) -> Self {
        self.env("SSL_CERT_FILE", ca_file)
    }

    /// Runs Telegram with `token` against the fake Bot API.
    pub fn telegram(self, token: &str, telegram: &FakeTelegram) -> Self {
        self.env("TELEGRAM_TOKEN", token)
            .env("MINSTREL_TELEGRAM_API_URL", telegram.api_url())
    }

    /// Standard input is a pipe that stays open while the process lives: the console keeps
    /// running, and [`BotProcess::write_stdin`] types into it.
    pub fn stdin_piped(mut self) -> Self {
        self.input = Input::Piped;
        self
    }

    /// Standard input is `text`, then end of file (a script for the console).
    pub fn stdin_text(mut self, text: impl Into<String>) -> Self {
        self.input = Input::Text(text.into());
        self
    }

    /// Starts the process.
    ///
    /// # Panics
    /// When it cannot start.
    pub fn spawn(self) -> BotProcess {
        let Self {
            mut command,
            scratch,
            working_dir,
            input,
        } = self;
        let stdin = match input {
            Input::Null => Stdio::null(),
            Input::Piped => Stdio::piped(),
            Input::Text(text) => {
                let path = scratch.path().join("stdin.txt");
                std::fs::write(&path, text).expect("write the standard input");
                Stdio::from(File::open(path).expect("open the standard input"))
            }
        };
        command.stdin(stdin);
        let folder = working_dir.unwrap_or_else(|| scratch.path().to_owned());
        BotProcess::spawn(command, &folder, scratch)
    }

    /// Starts the process and waits for it to end by itself.
    ///
    /// # Panics
    /// When it cannot start, or is still running after `limit` (then it is killed).
    pub fn run(self, limit: Duration) -> Finished {
        let mut process = self.spawn();
        let status = process.wait(limit);
        Finished {
            status,
            stdout: process.stdout(),
            stderr: process.stderr(),
        }
    }
}
