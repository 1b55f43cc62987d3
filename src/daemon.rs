//! The daemon: one event loop on a current-thread tokio runtime.
//!
//! ```text
//! inotify (source dirs) ─┐
//! SIGHUP (reload) ───────┼─► select! ─► read changed sources ─► Provisioner ─► files, state
//! SIGTERM/SIGINT ────────┤
//! retry / save timers ───┤   (armed only while there is something to retry or save)
//! diagnosis deadline ────┤   (armed only while a phone waits for its first TFTP request
//!                             or for its config; see `diagnose::deadline`)
//! reload timer, SIGCHLD ─┘   (armed only while a PBX/DHCP reload command waits for its
//!                             interval or runs; see `reload`)
//! ```
//!
//! Nothing wakes the loop when nothing happens: no polling, no periodic timer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use tokio::net::UnixDatagram;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{debug, error, info, warn};

use crate::commands::{load_config, load_templates};
use crate::config::{self, Config};
use crate::fsutil;
use crate::hook::{self, BadDatagram, Datagram};
use crate::parse::tftp_log;
use crate::provision::{now, Provisioner};
use crate::sources::command::{CommandLine, CommandSource};
use crate::sources::tail::StartAt;
use crate::sources::watch::{WatchEvent, Watcher};
use crate::sources::{CommandReader, Source};
use crate::state::{Position, StateStore};

/// How long read positions may wait before they are saved (they are saved at exit too).
const SAVE_POSITIONS_AFTER: Duration = Duration::from_secs(5);
/// Firmware files are read again this long after the last change in the TFTP root (a
/// package being copied changes many files).
const RESCAN_FIRMWARE_AFTER: Duration = Duration::from_millis(500);
/// Would-be phones turned away are summarised in the log at most this often.
const REJECTION_SUMMARY_EVERY: Duration = Duration::from_secs(60);
/// How long changed phone records (boot state, model) may wait before they are saved.
const SAVE_PHONES_AFTER: Duration = Duration::from_millis(300);
/// How long changed phone records wait before they are saved: `save_interval_s`, else
/// [`SAVE_PHONES_AFTER`].
fn save_phones_after(config: &Config) -> Duration {
    config
        .save_interval_s
        .map_or(SAVE_PHONES_AFTER, Duration::from_secs)
}

/// How long read positions wait before they are saved: `save_interval_s`, at least
/// [`SAVE_POSITIONS_AFTER`].
fn save_positions_after(config: &Config) -> Duration {
    save_phones_after(config).max(SAVE_POSITIONS_AFTER)
}

/// First and longest wait before writing failed files again.
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// How long one slice of queued phone writes may take before the loop reads its sources
/// again (a burst of new phones is written in slices of about this much).
const WRITE_SLICE: Duration = Duration::from_millis(20);

/// How many command-output lines may wait for the event loop.
const COMMAND_QUEUE: usize = 1024;

/// The sources and the watches that serve them.
struct SourceSet {
    /// File sources (lease files and logs), watched with inotify.
    sources: Vec<Source>,
    /// Command sources and the readers of their lines; dropping them kills the commands.
    commands: Vec<(CommandSource, CommandReader)>,
    /// Lines from every command source, tagged with their index in `commands`.
    command_lines: tokio::sync::mpsc::Receiver<CommandLine>,
    /// Sources whose directory does not exist; an ancestor is watched instead.
    pending: BTreeSet<usize>,
    /// For sources whose path is a symlink: the file it points to, whose directory is
    /// watched too (writes to the target do not show up in the link's directory).
    targets: Vec<Option<PathBuf>>,
    watcher: Watcher,
    /// Lines that overflowed the kernel queue were reported once.
    overflow_reported: bool,
    /// Sources whose last read failed: the failure was logged at warn once, repeats go to
    /// debug until a read succeeds again (a log written to while unreadable would otherwise
    /// log a warning per line).
    failing: BTreeSet<usize>,
    /// The TFTP root, watched for firmware files coming and going.
    tftp_root: PathBuf,
    /// A firmware file in the TFTP root changed since the last scan (with
    /// `tftp_unique_root`: any shared name, which the phones' directories link to).
    firmware_changed: bool,
    /// `tftp_unique_root` is on: every shared name of the root counts as a change.
    unique_root: bool,
    /// A hook reported a TFTP request: requests can be seen even without a log.
    hook_tftp: bool,
}

impl SourceSet {
    /// Whether TFTP requests can be seen at all: a log source that has a file open (it was
    /// read; a rotation keeps the old one open until the new one is there, so the answer does
    /// not flicker, and no file is looked at on every wake-up), a command or journal source,
    /// or a hook that reported one.
    fn tftp_visible(&self) -> bool {
        self.hook_tftp
            || !self.commands.is_empty()
            || self.sources.iter().enumerate().any(|(index, source)| {
                source.kind() == config::SourceKind::Log
                    && !self.failing.contains(&index)
                    && source.position().is_some()
            })
    }
}

impl SourceSet {
    fn new(
        configs: &[config::Source],
        positions: &BTreeMap<String, Position>,
        tftp_root: &Path,
    ) -> std::io::Result<SourceSet> {
        let (sender, command_lines) = tokio::sync::mpsc::channel(COMMAND_QUEUE);
        let commands = configs
            .iter()
            .filter(|source| source.kind.is_command())
            .enumerate()
            .map(|(index, source)| {
                (
                    CommandSource::start(index, source.command.clone(), sender.clone()),
                    CommandReader::new(source),
                )
            })
            .collect();
        let sources: Vec<Source> = configs
            .iter()
            .filter(|source| !source.kind.is_command())
            .map(|source| {
                let start = match positions.get(&source.path.to_string_lossy().into_owned()) {
                    Some(position) => StartAt::Resume(*position),
                    None => StartAt::End,
                };
                Source::new(source, start)
            })
            .collect();
        let n_sources = sources.len();
        let mut set = SourceSet {
            targets: vec![None; n_sources],
            sources,
            commands,
            command_lines,
            pending: BTreeSet::new(),
            watcher: Watcher::new()?,
            overflow_reported: false,
            failing: BTreeSet::new(),
            tftp_root: tftp_root.to_path_buf(),
            firmware_changed: false,
            unique_root: false,
            hook_tftp: false,
        };
        if let Err(err) = set.watcher.watch_dir(tftp_root) {
            warn!(root = %tftp_root.display(), %err, "cannot watch the TFTP root; firmware changes need a reload (SIGHUP)");
        }
        for index in 0..set.sources.len() {
            set.watch(index);
        }
        Ok(set)
    }

    /// Watches the directory of source `index`, or its nearest existing ancestor.
    fn watch(&mut self, index: usize) {
        let path = self.sources[index].path().to_path_buf();
        let dir = parent(&path);
        match self.watcher.watch_dir_or_ancestor(&dir) {
            Ok(watched) if watched == dir => {
                if self.pending.remove(&index) {
                    info!(source = %path.display(), "source directory appeared; watching it");
                }
                // The directory's own deletion is not reported while we hold a file in it
                // open; its parent reports the entry going. Best effort.
                if let Some(grandparent) = dir.parent() {
                    let _ = self.watcher.watch_dir(grandparent);
                }
            }
            Ok(watched) => {
                if self.pending.insert(index) {
                    warn!(source = %path.display(), waiting_in = %watched.display(), "source directory does not exist yet; waiting for it");
                }
            }
            Err(err) => {
                if self.pending.insert(index) {
                    error!(source = %path.display(), %err, "cannot watch source directory");
                }
            }
        }
        self.resolve_target(index);
    }

    /// Follows a symlinked source to its target and watches the target's directory.
    fn resolve_target(&mut self, index: usize) {
        let path = self.sources[index].path();
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        let target = if is_link {
            std::fs::canonicalize(path).ok()
        } else {
            None
        };
        if target != self.targets[index] {
            if let Some(target) = &target {
                let dir = parent(target);
                match self.watcher.watch_dir(&dir) {
                    Ok(()) => {
                        info!(source = %path.display(), target = %target.display(), "source is a symlink; watching its target")
                    }
                    Err(err) => {
                        warn!(source = %path.display(), target = %target.display(), %err, "cannot watch the target of a symlinked source")
                    }
                }
            }
            self.targets[index] = target;
        }
    }

    /// A watched directory is gone (deleted or moved away): watch its path again, or the
    /// nearest ancestor until it comes back, and read its sources.
    fn rewatch_dir(&mut self, dir: &Path, dirty: &mut BTreeSet<usize>) {
        self.watcher.unwatch(dir);
        for index in 0..self.sources.len() {
            if parent(self.sources[index].path()) == *dir {
                self.watch(index);
                dirty.insert(index);
            }
        }
    }

    /// Which sources an inotify batch concerns.
    fn dirty_sources(&mut self, events: &[WatchEvent]) -> BTreeSet<usize> {
        let mut dirty = BTreeSet::new();
        for event in events {
            match event {
                WatchEvent::Changed { dir, name } => {
                    if *dir == self.tftp_root {
                        let name = name.to_string_lossy();
                        if crate::firmware::is_loads_name(&name)
                            || crate::firmware::is_image_name(&name)
                            || (self.unique_root && crate::writer::is_shared_name(&name))
                        {
                            self.firmware_changed = true;
                        }
                    }
                    let names = |path: &Path| {
                        path.parent() == Some(dir.as_path())
                            && path.file_name() == Some(name.as_os_str())
                    };
                    let mut relinked = Vec::new();
                    let mut entries_gone = Vec::new();
                    for (index, source) in self.sources.iter().enumerate() {
                        if source.companion_path().is_some_and(names) {
                            dirty.insert(index);
                        }
                        if names(source.path()) {
                            dirty.insert(index);
                            relinked.push(index);
                        } else if self.targets[index].as_deref().is_some_and(names) {
                            dirty.insert(index);
                        }
                        // An entry of a source directory's parent: the directory itself may
                        // have gone, which its own watch does not report while we hold a log
                        // in it open (see `Watcher::is_stale`).
                        if let Some(source_dir) = source.path().parent().filter(|d| names(d)) {
                            entries_gone.push(source_dir.to_path_buf());
                        }
                    }
                    for source_dir in entries_gone {
                        if self.watcher.is_stale(&source_dir) {
                            self.rewatch_dir(&source_dir, &mut dirty);
                        }
                    }
                    // The link itself changed: it may point somewhere else now.
                    for index in relinked {
                        self.resolve_target(index);
                    }
                    if !self.pending.is_empty() {
                        // Something appeared on the way to a missing directory: try again.
                        for index in self.pending.clone() {
                            if parent(self.sources[index].path()).starts_with(dir) {
                                self.watch(index);
                                dirty.insert(index);
                            }
                        }
                    }
                }
                WatchEvent::DirGone(dir) => self.rewatch_dir(dir, &mut dirty),
                WatchEvent::Overflow => {
                    if !self.overflow_reported {
                        warn!("inotify queue overflowed; re-reading every source");
                        self.overflow_reported = true;
                    }
                    dirty.extend(0..self.sources.len());
                }
            }
        }
        dirty
    }

    fn positions(&self) -> BTreeMap<String, Position> {
        self.sources
            .iter()
            .filter_map(|source| {
                Some((
                    source.path().to_string_lossy().into_owned(),
                    source.position()?,
                ))
            })
            .collect()
    }
}

fn parent(path: &Path) -> PathBuf {
    path.parent().unwrap_or(Path::new("/")).to_path_buf()
}

/// Reads the given sources and hands what they saw to the provisioner.
fn read_sources(
    set: &mut SourceSet,
    indexes: impl IntoIterator<Item = usize>,
    provisioner: &mut Provisioner,
) -> bool {
    let roots = vec![provisioner
        .config()
        .tftp_root
        .to_string_lossy()
        .into_owned()];
    let context = tftp_log::Context {
        now: now(),
        tftp_roots: &roots,
        zone: &provisioner.config().local_zone,
    };
    let mut observations = Vec::new();
    let mut tagged = Vec::new();
    let mut any_log = false;
    for index in indexes {
        let source = &mut set.sources[index];
        let result = source.read(&context, &mut observations);
        match result {
            Ok(stats) => {
                any_log |= source.position().is_some();
                debug!(source = %source.path().display(), n_lines = stats.n_lines, "source read");
                if set.failing.remove(&index) {
                    info!(source = %source.path().display(), "source readable again");
                }
            }
            Err(err) if set.failing.insert(index) => {
                warn!(source = %source.path().display(), %err, "cannot read source");
            }
            Err(err) => {
                debug!(source = %source.path().display(), %err, "cannot read source");
            }
        }
        tagged.extend(observations.drain(..).map(|o| (file_source_id(index), o)));
    }
    // After the reads are logged, in one batch: what one wake-up brought makes one decision
    // (a lease from the lease file and its vendor class from the log go to the PBX together).
    if !tagged.is_empty() {
        provisioner.observe_batch(tagged.iter().map(|(source, o)| (Some(*source), o)));
    }
    any_log
}

/// Hands the memory start-up used and freed (reading the state file, the first rewrite)
/// back to the system: glibc keeps freed heap pages otherwise, and a router counts them
/// (BENCHMARKS.md "Idle"). musl returns them by itself.
fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointer of ours.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The tokio instant of Unix second `at` (now, when it has passed; at most a day ahead, so a
/// line stamped far in the future cannot overflow the clock).
fn instant_of_unix_s(at: i64) -> Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let at_ms = u128::try_from(at).unwrap_or(0).saturating_mul(1000);
    let wait = u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(u64::MAX);
    Instant::now() + Duration::from_millis(wait.min(86_400_000))
}

/// The dedup id of the hook socket.
const HOOK_SOURCE_ID: crate::detect::dedup::SourceId = 0;

/// The dedup id of file source `index` (the hook is 0, command sources come after).
fn file_source_id(index: usize) -> crate::detect::dedup::SourceId {
    u8::try_from(index + 1).unwrap_or(u8::MAX)
}

/// The dedup id of command source `index`: counted down from the last of the 64 bits the
/// dedup tells sources apart by, so that each command source has its own (file sources count
/// up from 1; only past 63 sources in all would two share one).
fn command_source_id(index: usize) -> crate::detect::dedup::SourceId {
    u8::try_from(63usize.saturating_sub(index)).unwrap_or(63)
}

/// Handles a line from a command source and whatever else is already queued.
fn on_command_lines(set: &mut SourceSet, first: CommandLine, provisioner: &mut Provisioner) {
    let roots = vec![provisioner
        .config()
        .tftp_root
        .to_string_lossy()
        .into_owned()];
    let context = tftp_log::Context {
        now: now(),
        tftp_roots: &roots,
        zone: &provisioner.config().local_zone,
    };
    let mut observations = Vec::new();
    let mut tagged = Vec::new();
    let mut next = Some(first);
    while let Some((index, line)) = next {
        if let Some((_, reader)) = set.commands.get_mut(index) {
            reader.line(&line, &context, &mut observations);
        }
        tagged.extend(
            observations
                .drain(..)
                .map(|o| (command_source_id(index), o)),
        );
        next = set.command_lines.try_recv().ok();
    }
    if !tagged.is_empty() {
        provisioner.observe_batch(tagged.iter().map(|(source, o)| (Some(*source), o)));
    }
}

/// Binds the hook socket (0600), replacing a stale one: the state lock is held, so no other
/// daemon owns it.
fn bind_notify_socket(path: &Path) -> std::io::Result<UnixDatagram> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let socket = UnixDatagram::bind(path)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(socket)
}

/// Handles one hook datagram. Bad ones are logged (rate-limited) and counted.
/// Returns whether it reported a TFTP request.
fn on_datagram(datagram: &[u8], provisioner: &mut Provisioner, n_bad: &mut u64) -> bool {
    let roots = vec![provisioner
        .config()
        .tftp_root
        .to_string_lossy()
        .into_owned()];
    match hook::decode_datagram(datagram, now(), &roots) {
        Ok(Datagram::Decision(mac, decision)) => provisioner.decide(mac, decision),
        Err(BadDatagram::Decision(reason)) => warn!(reason, "ignoring a bad decision"),
        Ok(Datagram::Observation(observation)) => {
            debug!(?observation, "hook event");
            let tftp = matches!(observation, crate::event::Observation::Tftp(_));
            provisioner.observe_from(Some(HOOK_SOURCE_ID), &[observation]);
            return tftp;
        }
        Err(BadDatagram::Event(reason)) => {
            *n_bad += 1;
            if *n_bad <= 10 {
                warn!(reason, n_bad = *n_bad, "ignoring a bad hook event");
            } else {
                debug!(reason, n_bad = *n_bad, "ignoring a bad hook event");
            }
        }
    }
    false
}

/// Logs the time zone log stamps without an offset are read in, and why a source was skipped.
fn log_zone(config: &Config) {
    for problem in &config.zone_problems {
        warn!(%problem, "time zone source skipped");
    }
    let zone = &config.local_zone;
    info!(
        origin = zone.origin(),
        now = %zone.format(now()),
        "local time zone"
    );
}

/// The daemon's record in the state directory (`status` reads it): written at start, and
/// with the stop time when dropped (a clean exit, an error return, a panic; not a kill -9).
struct DaemonRecordGuard {
    dir: PathBuf,
    record: crate::state::DaemonRecord,
}

impl DaemonRecordGuard {
    fn start(dir: &std::path::Path) -> DaemonRecordGuard {
        let record = crate::state::DaemonRecord {
            pid: std::process::id(),
            started: now(),
            stopped: None,
        };
        if let Err(err) = crate::state::record_daemon(dir, &record) {
            warn!(%err, "cannot record the daemon's start; status will not see it running");
        }
        DaemonRecordGuard {
            dir: dir.to_path_buf(),
            record,
        }
    }
}

impl Drop for DaemonRecordGuard {
    fn drop(&mut self) {
        self.record.stopped = Some(now());
        if let Err(err) = crate::state::record_daemon(&self.dir, &self.record) {
            warn!(%err, "cannot record the daemon's stop");
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT. `config_path` is re-read on SIGHUP.
pub async fn run(config_path: Option<PathBuf>, config: Config) -> Result<(), String> {
    if !config.tftp_root.is_dir() {
        return Err(format!(
            "tftp_root {} is not a directory (create it, or point tftp_root at your TFTP server's root)",
            config.tftp_root.display()
        ));
    }
    let store = StateStore::open(&config.state_dir).map_err(|err| err.to_string())?;
    let (state, warning) = store.load().map_err(|err| err.to_string())?;
    if let Some(warning) = warning {
        error!(%warning, "state file unreadable; starting with an empty state");
    }
    let n_stale = fsutil::remove_stale_temp_files(&config.tftp_root);
    if n_stale > 0 {
        info!(n_stale, "removed temporary files left by an earlier crash");
    }
    let positions = state.positions.clone();
    let templates = load_templates(&config).map_err(|errors| errors.join("\n"))?;
    let mut provisioner = Provisioner::new(config.clone(), templates, store, state);
    provisioner.set_tftp_visible(crate::commands::tftp_source_exists(&config));
    provisioner.adopt_from_root();
    // After the provisioner (which holds the lock), so that it is dropped first: the record
    // says "stopped" while the lock is still ours.
    let _record = DaemonRecordGuard::start(&config.state_dir);
    provisioner.set_write_budget(WRITE_SLICE);
    provisioner.set_firmware(crate::provision::firmware_in(&config.tftp_root));
    provisioner.write_shared();
    provisioner.rewrite_all();
    provisioner.write_snippets();
    provisioner.write_pbx_files();
    for problem in &config.provision.pool_problems {
        warn!(%problem, "skipping a pool_csv row");
    }
    for problem in &config.dialplan_problems {
        warn!(%problem, "the dial plan will not work as configured");
    }
    log_zone(&config);

    let mut set = SourceSet::new(&config.sources, &positions, &config.tftp_root)
        .map_err(|err| format!("cannot start inotify: {}", fsutil::plain(&err)))?;
    set.unique_root = config.tftp_unique_root;
    provisioner.set_tftp_visible(set.tftp_visible());
    let mut sigterm = signal(SignalKind::terminate()).map_err(|err| err.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|err| err.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|err| err.to_string())?;
    // A reload command finished: reap it and log how it went.
    let mut sigchld = signal(SignalKind::child()).map_err(|err| err.to_string())?;

    let notify = bind_notify_socket(&config.notify_socket).map_err(|err| {
        format!(
            "cannot listen for hook events on {}: {}",
            config.notify_socket.display(),
            fsutil::plain(&err)
        )
    })?;
    let mut datagram = vec![0u8; hook::MAX_DATAGRAM];
    let mut n_bad_datagrams = 0u64;

    let all: Vec<usize> = (0..set.sources.len()).collect();
    let mut positions_dirty = read_sources(&mut set, all, &mut provisioner);
    info!(
        notify_socket = %config.notify_socket.display(),
        n_sources = set.sources.len() + set.commands.len(),
        n_phones = provisioner.engine().phones().len(),
        tftp_root = %config.tftp_root.display(),
        "daemon ready"
    );
    release_free_memory();

    let mut retry_delay = RETRY_FIRST;
    let mut retry_at: Option<Instant> = None;
    let mut save_at: Option<Instant> = None;
    let mut firmware_at: Option<Instant> = None;
    let mut summary_at: Option<Instant> = None;
    loop {
        provisioner.set_tftp_visible(set.tftp_visible());
        // A real deadline: the earliest moment a phone waiting for its first TFTP request
        // (or for its config) counts as stuck. None while no phone waits.
        // Times are whole seconds (a lease read at 10.9 s is stamped 10): wake when second
        // `at` is over, so that no phone is called stuck early.
        let diagnose_at = provisioner
            .next_deadline()
            .map(|at| instant_of_unix_s(at.saturating_add(1)));
        if provisioner.has_unreported_rejections() && summary_at.is_none() {
            summary_at = Some(Instant::now() + REJECTION_SUMMARY_EVERY);
        }
        if std::mem::take(&mut set.firmware_changed) {
            firmware_at = Some(Instant::now() + RESCAN_FIRMWARE_AFTER);
        }
        if provisioner.has_failed_writes() && retry_at.is_none() {
            retry_at = Some(Instant::now() + retry_delay);
        }
        if provisioner.has_unsaved_changes() {
            let soon = Instant::now() + save_phones_after(provisioner.config());
            save_at = Some(save_at.map_or(soon, |at| at.min(soon)));
        } else if positions_dirty && save_at.is_none() {
            save_at = Some(Instant::now() + save_positions_after(provisioner.config()));
        }
        let reload_at = provisioner.next_reload_deadline().map(Instant::from_std);
        // Armed only while a lease missing from a snapshot waits to be reported gone.
        let settle_at = set
            .sources
            .iter()
            .filter_map(Source::settle_at)
            .min()
            .map(|at| instant_of_unix_s(at) + Duration::from_millis(50));
        tokio::select! {
            // CANCEL-SAFETY: next_batch only takes events after readiness (see watch.rs).
            batch = set.watcher.next_batch() => {
                match batch {
                    Ok(events) => {
                        let dirty = set.dirty_sources(&events);
                        positions_dirty |= read_sources(&mut set, dirty, &mut provisioner);
                    }
                    Err(err) => {
                        error!(%err, "inotify read failed");
                        return Err(format!("inotify read failed: {}", fsutil::plain(&err)));
                    }
                }
            }
            // CANCEL-SAFETY: recv on a datagram socket is cancel-safe (a datagram is taken
            // whole or not at all).
            received = notify.recv(&mut datagram) => {
                match received {
                    Ok(n_bytes) => {
                        if on_datagram(&datagram[..n_bytes], &mut provisioner, &mut n_bad_datagrams) && !set.hook_tftp {
                            set.hook_tftp = true;
                            provisioner.set_tftp_visible(true);
                        }
                    }
                    Err(err) => warn!(%err, "hook socket receive failed"),
                }
            }
            // CANCEL-SAFETY: mpsc recv is cancel-safe.
            Some(line) = set.command_lines.recv() => on_command_lines(&mut set, line, &mut provisioner),
            // CANCEL-SAFETY: signal streams are cancel-safe.
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sigchld.recv() => provisioner.poll_reloads(),
            // Armed only while a reload command waits for its interval or runs.
            _ = sleep_until(reload_at.unwrap_or_else(Instant::now)), if reload_at.is_some() => {
                provisioner.poll_reloads();
            }
            _ = sighup.recv() => {
                let loaded = load_config(config_path.as_deref())
                    .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .and_then(|config| Ok((load_templates(&config)?, config)));
                match loaded {
                    Ok((new_templates, new_config)) => {
                        info!("configuration reloaded");
                        if new_config.local_zone != provisioner.config().local_zone {
                            log_zone(&new_config);
                        }
                        if new_config.sources != provisioner.config().sources {
                            let mut positions = provisioner.state_mut().positions.clone();
                            positions.extend(set.positions());
                            match SourceSet::new(&new_config.sources, &positions, &new_config.tftp_root) {
                                Ok(new_set) => set = new_set,
                                Err(err) => error!(%err, "cannot rebuild sources; keeping the old ones"),
                            }
                        }
                        set.unique_root = new_config.tftp_unique_root;
                        provisioner.reload(new_config, new_templates);
                        let all: Vec<usize> = (0..set.sources.len()).collect();
                        positions_dirty |= read_sources(&mut set, all, &mut provisioner);
                    }
                    Err(errors) => {
                        for err in errors {
                            error!(%err, "new configuration rejected; keeping the old one");
                        }
                    }
                }
            }
            _ = sleep_until(settle_at.unwrap_or_else(Instant::now)), if settle_at.is_some() => {
                let now = now();
                for index in 0..set.sources.len() {
                    let gone = set.sources[index].settle(now);
                    if !gone.is_empty() {
                        provisioner.observe_from(Some(file_source_id(index)), &gone);
                    }
                }
            }
            // A real deadline, armed only while files wait to be written.
            _ = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                retry_at = None;
                provisioner.retry();
                retry_delay = if provisioner.has_failed_writes() { (retry_delay * 2).min(RETRY_MAX) } else { RETRY_FIRST };
            }
            // Armed only while turned-away phones wait to be summarised.
            _ = sleep_until(summary_at.unwrap_or_else(Instant::now)), if summary_at.is_some() => {
                summary_at = None;
                provisioner.report_rejections();
            }
            // Armed only after a firmware file changed.
            _ = sleep_until(firmware_at.unwrap_or_else(Instant::now)), if firmware_at.is_some() => {
                firmware_at = None;
                provisioner.set_firmware(crate::provision::firmware_in(&provisioner.config().tftp_root.clone()));
            }
            // Armed only while a phone waits for a file request (see above).
            _ = sleep_until(diagnose_at.unwrap_or_else(Instant::now)), if diagnose_at.is_some() => {
                provisioner.tick(now());
                // A phone found stuck: `status` shows it at once (a rare event).
                if provisioner.has_unsaved_changes() {
                    provisioner.state_mut().positions = set.positions();
                    let _ = provisioner.save();
                    positions_dirty = false;
                }
            }
            // Armed only while a storm's phones wait to be written: one slice, then the loop
            // looks at its sources again (a rotated log must be read before it is renamed
            // over), then the next slice.
            () = std::future::ready(()), if provisioner.has_queued_writes() => {
                provisioner.write_queued();
            }
            // Armed only while read positions are unsaved.
            _ = sleep_until(save_at.unwrap_or_else(Instant::now)), if save_at.is_some() => {
                save_at = None;
                provisioner.state_mut().positions = set.positions();
                let _ = provisioner.save();
                positions_dirty = false;
            }
        }
    }
    info!("stopping");
    let _ = std::fs::remove_file(&config.notify_socket);
    provisioner.state_mut().positions = set.positions();
    provisioner.save().map_err(|err| err.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;

    /// A lost-events report (queue overflow) re-reads every source; a moved-away directory
    /// is watched again through its ancestor.
    #[tokio::test(flavor = "current_thread")]
    async fn overflow_and_vanished_directories_mean_rescans() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        let configs = vec![
            config::Source::file(SourceKind::Log, dir.path().join("logs/a.log")),
            config::Source::file(SourceKind::DnsmasqLeases, dir.path().join("b.leases")),
        ];
        let mut set = SourceSet::new(&configs, &BTreeMap::new(), dir.path()).unwrap();
        assert!(set.pending.is_empty());
        let dirty = set.dirty_sources(&[WatchEvent::Overflow, WatchEvent::Overflow]);
        assert_eq!(dirty, BTreeSet::from([0, 1]));
        assert!(set.overflow_reported);

        std::fs::rename(dir.path().join("logs"), dir.path().join("old-logs")).unwrap();
        let dirty = set.dirty_sources(&[WatchEvent::DirGone(dir.path().join("logs"))]);
        assert_eq!(dirty, BTreeSet::from([0]));
        assert_eq!(
            set.pending,
            BTreeSet::from([0]),
            "waiting for logs/ to come back"
        );
    }

    /// Every source has its own dedup bit: two command sources (`logread -f` and a journal)
    /// that carry the same event count it once. All command sources shared bit 63 before.
    #[test]
    fn sources_have_distinct_dedup_bits() {
        let mut ids = vec![HOOK_SOURCE_ID];
        ids.extend((0..8).map(file_source_id));
        ids.extend((0..4).map(command_source_id));
        assert!(ids.iter().all(|&id| id < 64), "{ids:?}");
        let distinct: BTreeSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    }
}
