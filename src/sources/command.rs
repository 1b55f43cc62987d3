//! Command sources: a long-running program whose standard output is a log.
//!
//! `logread -f` on OpenWrt, `journalctl -f -o short-iso -u tftpd-hpa` on systemd hosts. Each
//! command runs under a supervisor task: its stdout is split into lines (bounded, like a
//! tailed file) and sent to the event loop; its stderr is logged; when it exits it is
//! started again after a back-off that doubles from 1 s to 60 s, and starts over at 1 s once
//! a run lasted 30 s. Dropping the [`CommandSource`] stops the task and kills the program.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::tail::LineSplitter;

/// Shortest and longest wait before restarting a command that exited.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A run this long resets the back-off.
const STABLE_RUN: Duration = Duration::from_secs(30);

/// A line of output: which source sent it, and the line without its newline.
pub type CommandLine = (usize, Vec<u8>);

/// A running command source. Dropping it kills the command.
#[derive(Debug)]
pub struct CommandSource {
    task: JoinHandle<()>,
}

impl Drop for CommandSource {
    fn drop(&mut self) {
        // Aborting drops the child handle, and `kill_on_drop` kills the program.
        self.task.abort();
    }
}

impl CommandSource {
    /// Starts supervising `command` (program and arguments); its lines go to `lines`,
    /// tagged with `index`. Must be called inside the tokio runtime.
    pub fn start(
        index: usize,
        command: Vec<String>,
        lines: mpsc::Sender<CommandLine>,
    ) -> CommandSource {
        CommandSource {
            task: tokio::spawn(supervise(index, command, lines)),
        }
    }
}

async fn supervise(index: usize, command: Vec<String>, lines: mpsc::Sender<CommandLine>) {
    let label = command.join(" ");
    let mut backoff = BACKOFF_FIRST;
    loop {
        let started = Instant::now();
        let spawned = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Ok(mut child) => {
                info!(command = %label, pid = child.id(), "command source started");
                let stdout = child.stdout.take();
                let stderr = child.stderr.take();
                let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
                    error!(command = %label, "command source has no output pipes");
                    return;
                };
                if !pump(index, &label, stdout, stderr, &lines).await {
                    // The event loop is gone: the daemon is stopping.
                    return;
                }
                match child.wait().await {
                    Ok(status) => warn!(command = %label, %status, "command source exited"),
                    Err(err) => warn!(command = %label, %err, "command source ended"),
                }
            }
            Err(err) => error!(command = %label, %err, "cannot start command source"),
        }
        if started.elapsed() >= STABLE_RUN {
            backoff = BACKOFF_FIRST;
        }
        info!(command = %label, delay_s = backoff.as_secs(), "restarting command source after a pause");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// How long the last stderr lines are waited for once stdout closed: a command that exits
/// writes both at once, but the two pipes are read in either order.
const STDERR_DRAIN: std::time::Duration = std::time::Duration::from_millis(500);

fn log_stderr(label: &str, line: &str) {
    warn!(command = %label, line = %line.chars().take(512).collect::<String>(), "command source stderr");
}

/// Forwards stdout lines and logs stderr lines until stdout closes, then what is left of
/// stderr (for at most [`STDERR_DRAIN`]). Returns false when the receiver is gone.
async fn pump(
    index: usize,
    label: &str,
    mut stdout: tokio::process::ChildStdout,
    stderr: tokio::process::ChildStderr,
    lines: &mpsc::Sender<CommandLine>,
) -> bool {
    let mut splitter = LineSplitter::default();
    let mut buffer = vec![0u8; 16 * 1024];
    let mut stderr_lines = BufReader::new(stderr).lines();
    let mut stderr_open = true;
    loop {
        tokio::select! {
            // CANCEL-SAFETY: `read` is cancel-safe; nothing is read when it loses the race.
            read = stdout.read(&mut buffer) => {
                let n_read = match read {
                    Ok(0) | Err(_) => {
                        let mut ready = Vec::new();
                        splitter.finish(&mut |line| ready.push(line.to_vec()));
                        for line in ready {
                            if lines.send((index, line)).await.is_err() {
                                return false;
                            }
                        }
                        if stderr_open {
                            // A command's last words (why it exits) often come on stderr
                            // just after its stdout closed: not to be lost.
                            let _ = tokio::time::timeout(STDERR_DRAIN, async {
                                while let Ok(Some(line)) = stderr_lines.next_line().await {
                                    log_stderr(label, &line);
                                }
                            })
                            .await;
                        }
                        return true;
                    }
                    Ok(n) => n,
                };
                let mut ready = Vec::new();
                splitter.feed(&buffer[..n_read], &mut |line| ready.push(line.to_vec()));
                for line in ready {
                    if lines.send((index, line)).await.is_err() {
                        return false;
                    }
                }
            }
            // CANCEL-SAFETY: `next_line` is cancel-safe.
            line = stderr_lines.next_line(), if stderr_open => {
                match line {
                    Ok(Some(line)) => log_stderr(label, &line),
                    Ok(None) | Err(_) => stderr_open = false,
                }
            }
        }
    }
}
