//! Reload commands: what makes a PBX or a DHCP server read the files the daemon wrote.
//!
//! A command is run (no shell) after its files changed, at most once per interval, never two
//! at once: changes that come while one runs or within the interval are picked up by one
//! run at the end of it. So a storm of new phones costs one `module reload res_pjsip.so`
//! per interval, not one per phone, and every change is still followed by a run. A command
//! that fails (exit status, a signal, cannot start) is logged at error with the fix; one that
//! hangs is killed after [`RUN_TIMEOUT`].
//!
//! The daemon loop calls [`Reloader::poll`] at [`Reloader::next_deadline`] and on `SIGCHLD`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tracing::{error, info};

/// A reload command that runs longer than this is killed (and counts as failed).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// One reload command and its schedule.
#[derive(Debug)]
pub struct Reloader {
    /// `pbx` or `dhcp`, for the log.
    what: &'static str,
    /// Program and arguments; empty: reloading is off.
    command: Vec<String>,
    /// Shortest time between two starts.
    interval: Duration,
    /// When the last run started.
    last_start: Option<Instant>,
    /// A change waits for a run.
    pending: bool,
    /// The run in progress and when it started.
    running: Option<(Child, Instant)>,
    /// Runs started, and runs that failed.
    pub n_runs: u64,
    pub n_failed: u64,
}

impl Reloader {
    /// A reloader for `command` (empty: never runs anything).
    pub fn new(what: &'static str, command: Vec<String>, interval: Duration) -> Reloader {
        Reloader {
            what,
            command,
            interval,
            last_start: None,
            pending: false,
            running: None,
            n_runs: 0,
            n_failed: 0,
        }
    }

    /// Takes a new command and interval (config reload); a run in progress goes on.
    pub fn configure(&mut self, command: Vec<String>, interval: Duration) {
        if command.is_empty() {
            self.pending = false;
        }
        self.command = command;
        self.interval = interval;
    }

    /// Files changed: run the command now, or as soon as the interval and a run in progress
    /// allow.
    pub fn request(&mut self, now: Instant) {
        if self.command.is_empty() {
            return;
        }
        self.pending = true;
        self.poll(now);
    }

    /// Reaps a finished run (logging its outcome), kills one past [`RUN_TIMEOUT`], and starts
    /// the pending run when it is due.
    pub fn poll(&mut self, now: Instant) {
        self.reap(now);
        if !self.pending || self.running.is_some() || self.command.is_empty() {
            return;
        }
        if self
            .last_start
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            return;
        }
        self.pending = false;
        self.last_start = Some(now);
        self.n_runs += 1;
        let command = self.command.join(" ");
        match Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdin(Stdio::null())
            .spawn()
        {
            Ok(child) => {
                info!(what = self.what, %command, "reload command started");
                self.running = Some((child, now));
            }
            Err(err) => {
                self.n_failed += 1;
                error!(what = self.what, %command, %err, "cannot run the reload command; check the program name in the config");
            }
        }
    }

    /// When [`Reloader::poll`] must run next: the end of the interval while a change waits,
    /// the kill deadline while a run is in progress (its exit also arrives as `SIGCHLD`).
    pub fn next_deadline(&self) -> Option<Instant> {
        if let Some((_, started)) = &self.running {
            return Some(*started + RUN_TIMEOUT);
        }
        if !self.pending || self.command.is_empty() {
            return None;
        }
        Some(
            self.last_start
                .map_or_else(Instant::now, |last| last + self.interval),
        )
    }

    /// True while a run is in progress or a change waits for one.
    pub fn is_busy(&self) -> bool {
        self.pending || self.running.is_some()
    }

    fn reap(&mut self, now: Instant) {
        let Some((child, started)) = &mut self.running else {
            return;
        };
        let command = self.command.join(" ");
        let status = match child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) if now.duration_since(*started) >= RUN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                self.n_failed += 1;
                error!(what = self.what, %command, timeout_s = RUN_TIMEOUT.as_secs(), "reload command did not finish; killed it");
                self.running = None;
                return;
            }
            Ok(None) => return,
            Err(err) => {
                self.n_failed += 1;
                error!(what = self.what, %command, %err, "cannot wait for the reload command");
                self.running = None;
                return;
            }
        };
        let elapsed_ms = now.duration_since(*started).as_millis() as u64;
        self.running = None;
        if status.success() {
            info!(what = self.what, %command, elapsed_ms, "reload command finished");
        } else {
            self.n_failed += 1;
            error!(what = self.what, %command, %status, "reload command failed; the server may still use the old files");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_done(reloader: &mut Reloader) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while reloader.running.is_some() {
            assert!(Instant::now() < deadline, "reload command did not finish");
            std::thread::sleep(Duration::from_millis(5));
            reloader.poll(Instant::now());
        }
    }

    #[test]
    fn one_run_per_interval_and_every_change_followed_by_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("runs");
        let command = vec![
            "sh".to_string(),
            "-c".to_string(),
            format!("echo run >> {}", log.display()),
        ];
        let mut reloader = Reloader::new("pbx", command, Duration::from_secs(10));
        let t0 = Instant::now();
        reloader.request(t0);
        wait_done(&mut reloader);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "run\n");
        // Three changes inside the interval: nothing now, one run at its end.
        for ms in [10, 20, 30] {
            reloader.request(t0 + Duration::from_millis(ms));
        }
        assert_eq!(reloader.n_runs, 1);
        assert_eq!(reloader.next_deadline(), Some(t0 + Duration::from_secs(10)));
        reloader.poll(t0 + Duration::from_secs(9));
        assert_eq!(reloader.n_runs, 1);
        reloader.poll(t0 + Duration::from_secs(10));
        wait_done(&mut reloader);
        assert_eq!(reloader.n_runs, 2);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "run\nrun\n");
        assert_eq!(reloader.next_deadline(), None);
        assert_eq!(reloader.n_failed, 0);
    }

    #[test]
    fn failures_are_counted() {
        let mut reloader = Reloader::new("pbx", vec!["false".into()], Duration::ZERO);
        reloader.request(Instant::now());
        wait_done(&mut reloader);
        assert_eq!((reloader.n_runs, reloader.n_failed), (1, 1));
        let mut missing = Reloader::new("pbx", vec!["/nonexistent/reload".into()], Duration::ZERO);
        missing.request(Instant::now());
        assert_eq!((missing.n_runs, missing.n_failed), (1, 1));
        assert!(!missing.is_busy());
    }

    #[test]
    fn a_hanging_command_is_killed() {
        let mut reloader = Reloader::new("pbx", vec!["sleep".into(), "30".into()], Duration::ZERO);
        let t0 = Instant::now();
        reloader.request(t0);
        assert_eq!(reloader.next_deadline(), Some(t0 + RUN_TIMEOUT));
        reloader.poll(t0 + RUN_TIMEOUT);
        assert!(reloader.running.is_none());
        assert_eq!(reloader.n_failed, 1);
    }

    #[test]
    fn no_command_no_runs() {
        let mut reloader = Reloader::new("dhcp", Vec::new(), Duration::ZERO);
        reloader.request(Instant::now());
        assert!(!reloader.is_busy());
        assert_eq!(reloader.next_deadline(), None);
    }
}
