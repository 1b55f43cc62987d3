//! The state store: `state.json` in the state directory.
//!
//! It holds every known phone with its extension and secret, which files under the TFTP root
//! we wrote (with a fingerprint of what we wrote, so a hand-edited file is recognised), and the
//! read position of each log. The format is versioned (`"version": "1"`) and replaced
//! atomically; the directory is created 0700 because the file holds SIP secrets.
//!
//! A lock file (`lock`, `flock`ed) keeps two writers (a daemon and a `scan`) apart. Readers
//! (`status`) need no lock: they always see a whole file.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::detect::{Counters, Phone};
use crate::fsutil;

/// The state file's name in the state directory.
pub const STATE_FILE: &str = "state.json";
/// Phones whose assignment changed since `state.json` was written: one JSON record per line,
/// appended and fsynced before any file carrying the assignment is written, replayed over
/// `state.json` at load, emptied by the next full save. A new phone then costs one small
/// append, not a rewrite of the whole state (which grows with the phones: 1,000 phones made
/// each new lease 2 ms slower, BENCHMARKS.md "Latency"), and wears flash less.
pub const JOURNAL_FILE: &str = "assignments.journal";
const LOCK_FILE: &str = "lock";

/// Where a log source was read up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Device of the file that was being read.
    pub dev: u64,
    /// Inode of the file that was being read.
    pub ino: u64,
    /// Bytes consumed: everything before is read (a trailing partial line is not).
    pub offset: u64,
}

/// Everything persisted between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Known phones.
    pub phones: Vec<Phone>,
    /// Files under the TFTP root we wrote → hex fingerprint of what we wrote.
    pub written: BTreeMap<String, String>,
    /// Log read positions by source path.
    pub positions: BTreeMap<String, Position>,
    /// Skipped-input counters, carried across restarts.
    pub counters: Counters,
}

/// The state file: the [`State`] fields plus `"version": "1"`, in one flat object. Written
/// from borrows (no copy of the state per save) and read without serde's `#[serde(tag)]`,
/// which would buffer the whole file in a generic tree first.
#[derive(Serialize)]
struct FileOut<'a> {
    version: &'static str,
    phones: Vec<&'a Phone>,
    written: &'a BTreeMap<String, String>,
    positions: &'a BTreeMap<String, Position>,
    counters: &'a Counters,
}

#[derive(Deserialize)]
struct FileIn {
    version: String,
    phones: Vec<Phone>,
    written: BTreeMap<String, String>,
    positions: BTreeMap<String, Position>,
    counters: Counters,
}

/// The one version this build writes and reads.
const VERSION: &str = "1";

/// Failures of the state store.
#[derive(Debug)]
pub enum StateError {
    /// The directory could not be created or opened.
    Dir(PathBuf, io::Error),
    /// Another process holds the lock.
    Locked(PathBuf),
    /// Reading or writing the state file failed.
    Io(PathBuf, io::Error),
    /// The directory is not one we may keep secrets in: a symlink, not a directory, or
    /// another user's (the reason, in the admin's words).
    Unsafe(PathBuf, String),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Dir(path, err) => {
                write!(
                    f,
                    "state directory {}: {}",
                    path.display(),
                    fsutil::plain(err)
                )
            }
            StateError::Locked(path) => write!(
                f,
                "state directory {} is in use by another cisco-autoprov (daemon or scan)",
                path.display()
            ),
            StateError::Io(path, err) => write!(f, "{}: {}", path.display(), fsutil::plain(err)),
            StateError::Unsafe(path, why) => {
                write!(f, "state directory {}: {why}", path.display())
            }
        }
    }
}

impl std::error::Error for StateError {}

/// The locked state directory.
#[derive(Debug)]
pub struct StateStore {
    dir: PathBuf,
    /// Held for the store's lifetime; the lock goes with the file descriptor.
    _lock: File,
}

impl StateStore {
    /// Creates the directory (0700) if needed and takes the lock.
    pub fn open(dir: &Path) -> Result<StateStore, StateError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| StateError::Dir(dir.to_path_buf(), err))?;
        // The secrets live here: the directory itself must be ours and no symlink (another
        // user could point it anywhere, or read what we write), and nothing is chmodded or
        // created through a link (field-evidence.md §4, issue 13).
        let handle = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
            .open(dir)
            .map_err(|err| match err.raw_os_error() {
                Some(libc::ELOOP) | Some(libc::ENOTDIR) => StateError::Unsafe(
                    dir.to_path_buf(),
                    "is a symbolic link or not a directory: point state_dir at a real directory"
                        .to_string(),
                ),
                _ => StateError::Dir(dir.to_path_buf(), err),
            })?;
        let meta = handle
            .metadata()
            .map_err(|err| StateError::Dir(dir.to_path_buf(), err))?;
        if let Some(me) = fsutil::effective_uid().filter(|&me| me != meta.uid()) {
            return Err(StateError::Unsafe(
                dir.to_path_buf(),
                format!(
                    "belongs to user {} while cisco-autoprov runs as user {me}: chown it to that user or choose another state_dir",
                    meta.uid(),
                ),
            ));
        }
        // An existing directory keeps its mode from `create`; make sure secrets stay private
        // (through the handle: fchmod, not a path that could have become a link).
        handle
            .set_permissions(fs::Permissions::from_mode(0o700))
            .map_err(|err| StateError::Dir(dir.to_path_buf(), err))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_path)
            .map_err(|err| StateError::Dir(lock_path.clone(), err))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StateError::Locked(dir.to_path_buf())),
            Err(fs::TryLockError::Error(err)) => return Err(StateError::Dir(lock_path, err)),
        }
        fsutil::remove_stale_temp_files(dir);
        Ok(StateStore {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// Loads the state. A missing file is an empty state. A file that cannot be parsed is
    /// renamed aside (`state.json.bad`) and an empty state returned with the reason, so the
    /// daemon starts; the files it wrote are then no longer known as ours and are left alone.
    pub fn load(&self) -> Result<(State, Option<String>), StateError> {
        let path = self.dir.join(STATE_FILE);
        match read_state(&path).map(|state| replay_journal(&self.dir, state)) {
            Ok(state) => Ok((state, None)),
            Err(StateError::Io(_, err)) if err.kind() == io::ErrorKind::InvalidData => {
                let aside = self.dir.join(format!("{STATE_FILE}.bad"));
                fs::rename(&path, &aside).map_err(|err| StateError::Io(path.clone(), err))?;
                Ok((
                    State::default(),
                    Some(format!("{err}; moved to {}", aside.display())),
                ))
            }
            Err(err) => Err(err),
        }
    }

    /// Writes the state atomically (0600).
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        self.save_with_phones(state, state.phones.iter())
    }

    /// Writes `state` with `phones` in place of `state.phones`: the daemon's phones live in
    /// the engine, and are written from there without a copy.
    pub fn save_with_phones<'a>(
        &self,
        state: &State,
        phones: impl Iterator<Item = &'a Phone>,
    ) -> Result<(), StateError> {
        let path = self.dir.join(STATE_FILE);
        let file = FileOut {
            version: VERSION,
            phones: phones.collect(),
            written: &state.written,
            positions: &state.positions,
            counters: &state.counters,
        };
        // Streamed into the temporary file: no buffer the size of the state (a megabyte
        // with 1,000 phones) that the allocator would keep afterwards.
        let io_error = |err| StateError::Io(path.clone(), err);
        let mut temp = fsutil::TempFile::new(&path, 0o600).map_err(io_error)?;
        {
            let mut out = io::BufWriter::with_capacity(16 << 10, temp.file());
            serde_json::to_writer(&mut out, &file)
                .map_err(|err| StateError::Io(path.clone(), io::Error::other(err)))?;
            io::Write::flush(&mut out).map_err(io_error)?;
        }
        temp.commit().map_err(io_error)?;
        // Everything the journal held is in the state file now.
        let journal = self.dir.join(JOURNAL_FILE);
        match fs::remove_file(&journal) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(StateError::Io(journal, err)),
        }
    }

    /// Appends `phones`' records and the fingerprints of files just `written` (name, hex)
    /// to the journal ([`JOURNAL_FILE`]) and fsyncs it: assignments are on disk before any
    /// file carrying them is written, fingerprints once the files are, without rewriting the
    /// whole state.
    pub fn append_assignments<'a>(
        &self,
        phones: impl Iterator<Item = &'a Phone>,
        written: &[(&str, &str)],
    ) -> Result<(), StateError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(JOURNAL_FILE);
        let mut text = Vec::new();
        for phone in phones {
            serde_json::to_writer(&mut text, phone)
                .map_err(|err| StateError::Io(path.clone(), io::Error::other(err)))?;
            text.push(b'\n');
        }
        for &(file, print) in written {
            serde_json::to_writer(&mut text, &WrittenRecord { file, print })
                .map_err(|err| StateError::Io(path.clone(), io::Error::other(err)))?;
            text.push(b'\n');
        }
        if text.is_empty() {
            return Ok(());
        }
        let io_error = |err| StateError::Io(path.clone(), err);
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io_error)?;
        file.write_all(&text).map_err(io_error)?;
        file.sync_data().map_err(io_error)
    }
}

/// A journal line for a file we wrote: its name under the TFTP root and fingerprint.
#[derive(Serialize, Deserialize)]
struct WrittenRecord<S> {
    file: S,
    print: S,
}

/// Replays the journal over `state`: a phone record replaces the phone of its MAC (or adds
/// it), a file record sets that file's fingerprint. A last line cut by a crash is ignored;
/// so is anything unreadable, which only the next full save would have superseded anyway.
fn replay_journal(dir: &Path, mut state: State) -> State {
    let Ok(bytes) = fs::read(dir.join(JOURNAL_FILE)) else {
        return state;
    };
    // Where each MAC's record is: one pass over the phones, not one per journal line.
    let mut at: std::collections::HashMap<crate::mac::Mac, usize> = state
        .phones
        .iter()
        .enumerate()
        .map(|(index, phone)| (phone.mac, index))
        .collect();
    for line in bytes.split(|&b| b == b'\n') {
        if let Ok(record) = serde_json::from_slice::<WrittenRecord<String>>(line) {
            state.written.insert(record.file, record.print);
            continue;
        }
        let Ok(phone) = serde_json::from_slice::<Phone>(line) else {
            continue;
        };
        match at.get(&phone.mac) {
            Some(&index) => state.phones[index] = phone,
            None => {
                at.insert(phone.mac, state.phones.len());
                state.phones.push(phone);
            }
        }
    }
    state
}

/// The daemon's record in the state directory, for `status`: which process runs it and
/// since when. Written at start (while the lock is held) and again, with `stopped`, at a
/// clean exit; a record without `stopped` whose process no longer holds the lock is a crash.
pub const DAEMON_FILE: &str = "daemon.json";

/// The content of [`DAEMON_FILE`]: `{"pid":1234,"started":1796380803,"stopped":null}`.
/// Three numbers, written and read by hand: serde's derives for them cost about 5 KB of
/// binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonRecord {
    /// The daemon's process id.
    pub pid: u32,
    /// When it started (Unix seconds).
    pub started: i64,
    /// When it stopped cleanly; `None` while it runs or after a crash.
    pub stopped: Option<i64>,
}

impl DaemonRecord {
    /// The record as JSON.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"pid\":{},\"started\":{},\"stopped\":{}}}",
            self.pid,
            self.started,
            json_number(self.stopped)
        )
    }

    /// Reads what [`DaemonRecord::to_json`] wrote; `None` for anything else.
    pub fn from_json(text: &str) -> Option<DaemonRecord> {
        let field = |name: &str| -> Option<&str> {
            let (_, rest) = text.split_once(&format!("\"{name}\":"))?;
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            Some(rest[..end].trim())
        };
        Some(DaemonRecord {
            pid: field("pid")?.parse().ok()?,
            started: field("started")?.parse().ok()?,
            stopped: match field("stopped")? {
                "null" => None,
                number => Some(number.parse().ok()?),
            },
        })
    }
}

/// A JSON number or `null`.
fn json_number(value: Option<impl std::fmt::Display>) -> String {
    value.map_or_else(|| "null".to_string(), |value| value.to_string())
}

/// Writes the daemon's record atomically (0600).
pub fn record_daemon(dir: &Path, record: &DaemonRecord) -> Result<(), StateError> {
    let path = dir.join(DAEMON_FILE);
    fsutil::write_atomic(&path, record.to_json().as_bytes(), 0o600)
        .map_err(|err| StateError::Io(path, err))
}

/// Whether a daemon runs on a state directory, as `status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonStatus {
    /// A daemon holds the state directory's lock.
    pub running: bool,
    /// The running daemon's pid; else the last one's, from its record.
    pub pid: Option<u32>,
    /// When the running (or last) daemon started.
    pub started: Option<i64>,
    /// When the last daemon stopped cleanly.
    pub stopped: Option<i64>,
    /// Another process (a `scan`, `approve`) holds the lock: its pid.
    pub other_holder: Option<u32>,
}

/// Finds out whether a daemon runs on `dir`: the lock is held (by the pid of the daemon's
/// record) without taking it. Errors when `/proc/locks` cannot be read.
pub fn daemon_status(dir: &Path) -> Result<DaemonStatus, String> {
    let holder = fsutil::flock_holder(&dir.join(LOCK_FILE)).map_err(|err| {
        format!(
            "cannot tell whether the daemon runs: /proc/locks: {}",
            fsutil::plain(&err)
        )
    })?;
    let record = fs::read_to_string(dir.join(DAEMON_FILE))
        .ok()
        .and_then(|text| DaemonRecord::from_json(&text));
    let running = matches!((&record, holder), (Some(record), Some(pid)) if record.pid == pid && record.stopped.is_none());
    Ok(DaemonStatus {
        running,
        pid: record.as_ref().map(|record| record.pid),
        started: record.as_ref().map(|record| record.started),
        stopped: record.as_ref().and_then(|record| record.stopped),
        other_holder: holder.filter(|_| !running),
    })
}

impl DaemonStatus {
    /// `status --daemon --json`: `running`, `pid`, `started`, `stopped`, `other_holder`.
    pub fn to_json(&self) -> String {
        format!(
            "{{\n  \"running\": {},\n  \"pid\": {},\n  \"started\": {},\n  \"stopped\": {},\n  \"other_holder\": {}\n}}",
            self.running,
            json_number(self.pid),
            json_number(self.started),
            json_number(self.stopped),
            json_number(self.other_holder)
        )
    }

    /// The first line of `status`: `daemon: running since … (pid …)` or `daemon: not running
    /// (…)`. `time` writes Unix seconds as the admin reads them.
    pub fn line(&self, time: impl Fn(i64) -> String) -> String {
        let mut line = if self.running {
            format!(
                "daemon: running since {} (pid {})",
                time(self.started.unwrap_or_default()),
                self.pid.unwrap_or_default()
            )
        } else {
            match (self.started, self.stopped) {
                (_, Some(stopped)) => format!("daemon: not running (last stopped {})", time(stopped)),
                (Some(started), None) => format!(
                    "daemon: not running (the last one, pid {}, started {} and did not stop cleanly)",
                    self.pid.unwrap_or_default(),
                    time(started)
                ),
                (None, None) => "daemon: not running (no daemon has run on this state directory)".to_string(),
            }
        };
        if let Some(pid) = self.other_holder {
            let _ = std::fmt::Write::write_fmt(
                &mut line,
                format_args!("; pid {pid} (a scan, approve, deny or forget) holds the state"),
            );
        }
        line
    }
}

/// Reads a state file without taking the lock (for `status`). Missing → empty state.
pub fn read(dir: &Path) -> Result<State, StateError> {
    read_state(&dir.join(STATE_FILE)).map(|state| replay_journal(dir, state))
}

fn read_state(path: &Path) -> Result<State, StateError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
        Err(err) => return Err(StateError::Io(path.to_path_buf(), err)),
    };
    let invalid = |message: String| {
        StateError::Io(
            path.to_path_buf(),
            io::Error::new(io::ErrorKind::InvalidData, message),
        )
    };
    match serde_json::from_slice::<FileIn>(&bytes) {
        Ok(file) if file.version == VERSION => Ok(State {
            phones: file.phones,
            written: file.written,
            positions: file.positions,
            counters: file.counters,
        }),
        Ok(file) => Err(invalid(format!(
            "unreadable state file: version {:?}, this build reads {VERSION:?}",
            file.version.chars().take(16).collect::<String>()
        ))),
        Err(err) => Err(invalid(format!("unreadable state file: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::PhoneState;

    fn sample() -> State {
        let mut state = State::default();
        state.phones.push(Phone {
            mac: "001B0C18BDC1".parse().unwrap(),
            ip: Some("198.18.0.151".parse().unwrap()),
            model: Some("7941".into()),
            hostname: Some("SEP001B0C18BDC1".into()),
            vendor_class: None,
            extension: Some("2000".into()),
            secret: Some("secret".into()),
            label: None,
            state: PhoneState::LoadingFirmware,
            first_seen: 1,
            last_seen: 2,
            written_at: 3,
            files: ["SEP001B0C18BDC1.cnf.xml".to_string()].into(),
            needs_ladder: false,
            loads_streak: None,
            decision: None,
            origin: None,
            leaks: Vec::new(),
            timeline: Default::default(),
            awaiting_tftp: None,
            tftp_at: None,
            tftp_since_write: false,
            fetched_since_write: false,
            loads_times: Vec::new(),
            diagnoses: Vec::new(),
            lines: vec![crate::detect::Line {
                extension: "2001".into(),
                secret: "line-2-secret".into(),
                label: Some("Sales".into()),
            }],
            phone_password: Some("p4ss".into()),
            needs_approval: false,
            leased: true,
        });
        state.positions.insert(
            "/var/log/syslog".into(),
            Position {
                dev: 1,
                ino: 2,
                offset: 3,
            },
        );
        state
    }

    #[test]
    fn round_trip_and_privacy() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let store = StateStore::open(&state_dir).unwrap();
        assert_eq!(store.load().unwrap(), (State::default(), None));
        store.save(&sample()).unwrap();
        assert_eq!(store.load().unwrap().0, sample());
        assert_eq!(read(&state_dir).unwrap(), sample());
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state_dir), 0o700);
        assert_eq!(mode(&state_dir.join(STATE_FILE)), 0o600);
        let text = fs::read_to_string(state_dir.join(STATE_FILE)).unwrap();
        assert!(text.starts_with(r#"{"version":"1","#), "{text}");
        assert!(text.contains(r#""state":"loading firmware""#));
    }

    /// The journal: assignments and fingerprints appended (mode 0600) are in the state as
    /// loaded, a record cut by a crash is ignored, and the next full save takes them in and
    /// removes the journal.
    #[test]
    fn the_journal_is_replayed_and_emptied() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let store = StateStore::open(&state_dir).unwrap();
        let mut base = sample();
        store.save(&base).unwrap();
        let mut changed = base.phones[0].clone();
        changed.extension = Some("2001".into());
        let mut new = base.phones[0].clone();
        new.mac = "001B0C18BDC2".parse().unwrap();
        new.extension = Some("2002".into());
        store
            .append_assignments(
                [&changed, &new].into_iter(),
                &[("SEP001B0C18BDC2.cnf.xml", "00ff")],
            )
            .unwrap();
        let journal = state_dir.join(JOURNAL_FILE);
        assert_eq!(
            fs::metadata(&journal).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A crash in the middle of the next record.
        fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .unwrap()
            .write_all(br#"{"mac":"001B0C18BDC3","ext"#)
            .unwrap();
        let (loaded, warning) = store.load().unwrap();
        assert_eq!(warning, None);
        assert_eq!(loaded.phones, [changed.clone(), new.clone()]);
        assert_eq!(
            loaded
                .written
                .get("SEP001B0C18BDC2.cnf.xml")
                .map(String::as_str),
            Some("00ff")
        );
        assert_eq!(read(&state_dir).unwrap(), loaded);
        base.phones = loaded.phones.clone();
        store.save(&loaded).unwrap();
        assert!(!journal.exists());
        assert_eq!(store.load().unwrap().0, loaded);
    }

    /// A state directory reached through a symlink, or another user's, is refused: the
    /// secrets would go where someone else points them or can read them (issue 13); nothing
    /// is chmodded through the link.
    #[test]
    fn a_symlinked_or_foreign_state_dir_is_refused() {
        use std::os::unix::fs::{symlink, MetadataExt};
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o755)).unwrap();
        let link = dir.path().join("state");
        symlink(&real, &link).unwrap();
        let err = StateStore::open(&link).unwrap_err();
        assert!(
            err.to_string()
                .contains("is a symbolic link or not a directory"),
            "{err}"
        );
        assert_eq!(
            fs::metadata(&real).unwrap().mode() & 0o777,
            0o755,
            "not chmodded through the link"
        );
        assert!(
            !real.join(LOCK_FILE).exists(),
            "nothing created through the link"
        );
        // Another user's directory (only root can make one here).
        let me = fsutil::effective_uid().unwrap();
        if me == 0 {
            let theirs = dir.path().join("theirs");
            fs::create_dir(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
            let err = StateStore::open(&theirs).unwrap_err();
            assert!(err.to_string().contains("belongs to user 65534"), "{err}");
        }
    }

    #[test]
    fn daemon_record_round_trip() {
        for record in [
            DaemonRecord {
                pid: 1234,
                started: 1_796_380_803,
                stopped: None,
            },
            DaemonRecord {
                pid: 1,
                started: 5,
                stopped: Some(9),
            },
        ] {
            assert_eq!(
                DaemonRecord::from_json(&record.to_json()),
                Some(record.clone())
            );
            let json: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
            assert_eq!(json["pid"], record.pid);
        }
        assert_eq!(DaemonRecord::from_json("{}"), None);
        let status = DaemonStatus {
            running: true,
            pid: Some(7),
            started: Some(1),
            stopped: None,
            other_holder: None,
        };
        let json: serde_json::Value = serde_json::from_str(&status.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"running": true, "pid": 7, "started": 1, "stopped": null, "other_holder": null})
        );
    }

    #[test]
    fn second_writer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = StateStore::open(dir.path()).unwrap();
        assert!(matches!(
            StateStore::open(dir.path()),
            Err(StateError::Locked(_))
        ));
    }

    #[test]
    fn corrupt_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), b"{\"version\":\"9\"}").unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let (state, warning) = store.load().unwrap();
        assert_eq!(state, State::default());
        assert!(warning.unwrap().contains("state.json.bad"));
        assert!(dir.path().join("state.json.bad").exists());
    }
}
