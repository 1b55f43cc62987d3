//! inotify on the directories that hold the sources. No polling.
//!
//! Directories are watched, not files: a file that does not exist yet, one replaced by a
//! rename (rsyslog rotation, isc-dhcp and odhcpd rewrites) and one truncated in place
//! (dnsmasq's lease file) all show up as events on their directory, by name.
//!
//! Only write-side events are asked for (modify, close-after-write, create, move, delete):
//! no IN_ACCESS or IN_OPEN, so our own reads of a source can never wake us up again.
//!
//! A directory that does not exist is replaced by a watch on its nearest existing ancestor;
//! when something is created there the caller retries (see `daemon`). A queue overflow is
//! reported as [`WatchEvent::Overflow`]: the caller re-reads every source.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};
use tokio::io::unix::AsyncFd;

/// What happened in a watched directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// A file named `name` in `dir` was written, created, moved or deleted.
    Changed {
        /// The watched directory.
        dir: PathBuf,
        /// The file's name in it.
        name: OsString,
    },
    /// The watched directory itself was deleted or moved away.
    DirGone(PathBuf),
    /// The kernel's event queue overflowed: events were lost.
    Overflow,
}

fn mask() -> WatchMask {
    WatchMask::MODIFY
        | WatchMask::CLOSE_WRITE
        | WatchMask::CREATE
        | WatchMask::MOVED_TO
        | WatchMask::MOVED_FROM
        | WatchMask::DELETE
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF
        | WatchMask::ONLYDIR
}

/// One inotify instance and the directories it watches.
pub struct Watcher {
    inotify: AsyncFd<Inotify>,
    dirs: HashMap<WatchDescriptor, PathBuf>,
    /// The (device, inode) of each watched directory when its watch was added.
    identities: HashMap<PathBuf, (u64, u64)>,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").field("dirs", &self.dirs).finish()
    }
}

impl Watcher {
    /// A new inotify instance. Must be called inside the tokio runtime.
    #[allow(unsafe_code)]
    pub fn new() -> io::Result<Watcher> {
        let inotify = Inotify::init()?;
        // SAFETY: `Inotify` owns its descriptor (an `OwnedFd` opened by `inotify_init1`),
        // keeps it open until dropped and always returns it from `as_raw_fd`; the `AsyncFd`
        // takes ownership of the `Inotify`, so the descriptor outlives the registration.
        let inotify =
            unsafe { AsyncFd::register_with_interest(inotify, tokio::io::Interest::READABLE) }
                .map_err(io::Error::from)?;
        Ok(Watcher {
            inotify,
            dirs: HashMap::new(),
            identities: HashMap::new(),
            buffer: vec![0u8; 16 * 1024],
        })
    }

    /// Watches `dir`. Watching the same directory twice is a no-op.
    pub fn watch_dir(&mut self, dir: &Path) -> io::Result<()> {
        if self.dirs.values().any(|watched| watched == dir) {
            return Ok(());
        }
        let wd = self.inotify.get_ref().watches().add(dir, mask())?;
        self.dirs.insert(wd, dir.to_path_buf());
        if let Ok(metadata) = std::fs::metadata(dir) {
            self.identities
                .insert(dir.to_path_buf(), (metadata.dev(), metadata.ino()));
        }
        Ok(())
    }

    /// True when `dir` no longer names the directory its watch was added on: it was deleted
    /// (and maybe created again). The kernel says so only once the deleted directory's last
    /// reference goes, and a log file we hold open inside it is one: so the caller watches
    /// the parent too and asks when the parent reports the entry changing.
    pub fn is_stale(&self, dir: &Path) -> bool {
        let Some(identity) = self.identities.get(dir) else {
            return false;
        };
        std::fs::metadata(dir).map_or(true, |metadata| {
            (metadata.dev(), metadata.ino()) != *identity
        })
    }

    /// Watches `dir`, or when it does not exist its nearest existing ancestor. Returns the
    /// directory actually watched.
    pub fn watch_dir_or_ancestor(&mut self, dir: &Path) -> io::Result<PathBuf> {
        let mut candidate = dir;
        loop {
            match self.watch_dir(candidate) {
                Ok(()) => return Ok(candidate.to_path_buf()),
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    candidate = candidate.parent().ok_or(err)?;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Stops watching `dir` (after it moved away: the kernel keeps following it).
    pub fn unwatch(&mut self, dir: &Path) {
        let wds: Vec<WatchDescriptor> = self
            .dirs
            .iter()
            .filter(|(_, watched)| watched.as_path() == dir)
            .map(|(wd, _)| wd.clone())
            .collect();
        let mut watches = self.inotify.get_ref().watches();
        for wd in wds {
            self.dirs.remove(&wd);
            let _ = watches.remove(wd);
        }
        self.identities.remove(dir);
    }

    /// Stops watching every directory.
    pub fn clear(&mut self) {
        let mut watches = self.inotify.get_ref().watches();
        self.identities.clear();
        for (wd, _) in self.dirs.drain() {
            // The kernel already dropped watches of deleted directories.
            let _ = watches.remove(wd);
        }
    }

    /// Waits for events and returns all that are queued.
    ///
    /// CANCEL-SAFETY: cancel-safe. Events are only taken from the kernel inside `try_io`,
    /// after readiness, and returned in the same poll.
    pub async fn next_batch(&mut self) -> io::Result<Vec<WatchEvent>> {
        loop {
            let mut guard = self.inotify.readable_mut().await?;
            let buffer = &mut self.buffer;
            let dirs = &mut self.dirs;
            let result = guard.try_io(|inner| {
                let mut out = Vec::new();
                for event in inner.get_mut().read_events(buffer)? {
                    if event.mask.contains(EventMask::Q_OVERFLOW) {
                        out.push(WatchEvent::Overflow);
                        continue;
                    }
                    let Some(dir) = dirs.get(&event.wd) else {
                        continue;
                    };
                    if event.mask.intersects(
                        EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED,
                    ) {
                        out.push(WatchEvent::DirGone(dir.clone()));
                        if event.mask.contains(EventMask::IGNORED) {
                            dirs.remove(&event.wd);
                        }
                        continue;
                    }
                    if let Some(name) = event.name {
                        out.push(WatchEvent::Changed {
                            dir: dir.clone(),
                            name: name.to_os_string(),
                        });
                    }
                }
                Ok(out)
            });
            match result {
                Ok(Ok(events)) => return Ok(events),
                Ok(Err(err)) => return Err(err),
                // Spurious readiness: wait again.
                Err(_would_block) => continue,
            }
        }
    }
}
