//! The minstrel binary as a child process: described by a [`BotBuilder`], run with its
//! output in files of a scratch folder, killed when dropped. Every wait is bounded; a hang
//! fails the test.

mod builder;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use builder::{BotBuilder, Finished};

/// One of the process's two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (the console's replies, command output).
    Stdout,
    /// Standard error (the log).
    Stderr,
}

/// A running bot process.
#[derive(Debug)]
pub struct BotProcess {
    child: Child,
    dir: tempfile::TempDir,
}

impl BotProcess {
    /// Runs `command` in `working_dir`, its stdout and stderr going to `stdout.log` and
    /// `stderr.log` in `dir`. Standard input is whatever `command` says.
    ///
    /// # Panics
    /// When the log files cannot be created or the process cannot start.
    fn spawn(mut command: Command, working_dir: &Path, dir: tempfile::TempDir) -> Self {
        let stdout = File::create(dir.path().join("stdout.log")).expect("create stdout.log");
        let stderr = File::create(dir.path().join("stderr.log")).expect("create stderr.log");
        let child = command
            .current_dir(working_dir)
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start the bot");
        Self { child, dir }
    }

    /// The operating system's process id (for `/proc/<id>/status` in benchmarks).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The process's scratch folder (its logs; its working directory unless the builder
    /// named another).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        self.read("stdout.log")
    }

    /// What it wrote to stderr (the log) so far.
    pub fn stderr(&self) -> String {
        self.read("stderr.log")
    }

    /// What it wrote to `stream` so far.
    pub fn output(&self, stream: Stream) -> String {
        match stream {
            Stream::Stdout => self.stdout(),
            Stream::Stderr => self.stderr(),
        }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// The first line of `stream` that `matches`, or `None` while there is none and the
    /// `deadline` has not passed (only complete lines count: a line still being written could
    /// match on a part of it).
    ///
    /// # Panics
    /// When there is none and `deadline` has passed, with both logs.
    fn line_before(
        &self,
        stream: Stream,
        deadline: Instant,
        matches: &impl Fn(&str) -> bool,
    ) -> Option<String> {
        let text = self.output(stream);
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        let found = complete
            .lines()
            .find(|line| matches(line))
            .map(str::to_owned);
        assert!(
            found.is_some() || Instant::now() <= deadline,
            "no line of the bot's {stream:?} matched in time\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        found
    }

    /// Waits until a line the process wrote to `stream` `matches`, and returns that line; the
    /// wait for an async test, which sleeps without holding its thread.
    ///
    /// # Panics
    /// When no line matches within `limit`, with both logs.
    pub async fn wait_for_line(
        &self,
        stream: Stream,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        self.poll_for_line(stream, limit, matches, async || {
            tokio::time::sleep(POLL).await;
        })
        .await
    }

    /// [`BotProcess::wait_for_line`] for a test without a runtime.
    ///
    /// # Panics
    /// When no line matches within `limit`, with both logs.
    pub fn wait_for_line_blocking(
        &self,
        stream: Stream,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        // The only future on this thread: `block_on` polls it, and the pause blocks the thread.
        futures::executor::block_on(self.poll_for_line(stream, limit, matches, async || {
            std::thread::sleep(POLL);
        }))
    }

    /// The one wait both of them are: looks for the line every [`POLL`], with `pause` between
    /// looks.
    async fn poll_for_line(
        &self,
        stream: Stream,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
        pause: impl AsyncFn(),
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.line_before(stream, deadline, &matches) {
                return line;
            }
            pause().await;
        }
    }

    /// Waits until the log (stderr) has a line containing `text`; returns the whole log.
    ///
    /// # Panics
    /// When it has none within `limit`, with both logs.
    pub async fn log_says(&self, text: &str, limit: Duration) -> String {
        self.wait_for_line(Stream::Stderr, limit, |line| line.contains(text))
            .await;
        self.stderr()
    }

    /// True while the process has not exited.
    ///
    /// # Panics
    /// When the process state cannot be read.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("process state").is_none()
    }

    /// Waits for the process to end by itself.
    ///
    /// # Panics
    /// When it is still running after `limit` (it is killed first), with its log.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("process state") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "minstrel did not stop within {limit:?}\nstderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    ///
    /// # Panics
    /// When `kill` cannot deliver it.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
    }

    /// Writes `bytes` to the process's standard input (spawned with `Stdio::piped()`).
    ///
    /// # Panics
    /// When its standard input is not a pipe or cannot be written.
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        stdin.write_all(bytes).expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Sends SIGTERM, as `docker stop` and systemd do.
    ///
    /// # Panics
    /// When `kill` cannot deliver it.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Fails when `secret` appears in anything the process wrote.
    ///
    /// # Panics
    /// When it does.
    pub fn assert_never_printed(&self, secret: &str) {
        for (name, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
            assert!(!text.contains(secret), "{name} shows a secret:\n{text}");
        }
    }
}

/// How often a wait looks at the logs again.
const POLL: Duration = Duration::from_millis(20);

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment variable on which a script from [`write_script`] exits at once.
const PROBE: &str = "MINSTREL_FAKE_PROBE";

/// Writes `body` as an executable `/bin/sh` script at `path` (a fake of some program) and
/// returns once it can be run.
///
/// A program written a moment ago can fail to start with "Text file busy" (`ETXTBSY`): a
/// process that another test thread forked while the write was open still holds the file
/// until it execs. So the script starts with a line that exits when [`PROBE`] is set, and is
/// run that way until it starts (for at most ten seconds). After one start nothing holds it
/// for writing any more: the writer is closed, and later forks cannot inherit it.
///
/// # Panics
/// When the script cannot be written, or does not start within ten seconds.
pub fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let script = format!("#!/bin/sh\n[ -n \"${PROBE}\" ] && exit 0\n{body}\n");
    std::fs::write(path, script).expect("write the fake script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("make the fake script executable");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Command::new(path)
            .env(PROBE, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(status) if status.success() => return,
            Err(error)
                if error.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => panic!("the fake script {} does not run: {other:?}", path.display()),
        }
    }
}
