//! File-system helpers shared by the state store and the file writer.
//!
//! Every file cisco-autoprov writes goes through [`write_atomic`]: a temporary file in the same
//! directory, fsync, rename over the target, fsync of the directory. A reader (a TFTP server,
//! dnsmasq, `status`) sees the old file or the new one, never a part of one, even across a
//! crash or a full disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Prefix of our temporary files; a crash can leave one behind, and start-up removes them.
pub const TEMP_PREFIX: &str = ".cisco-autoprov.";

/// Replaces `path` with `contents` atomically, with permission bits `mode` (before umask).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_as(path, contents, mode, Owner::default())
}

/// Owner and group for [`write_atomic_as`]; `None` leaves the creator's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Owner {
    uid: Option<u32>,
    gid: Option<u32>,
}

/// Replaces a file another program reads under its own user (a PBX reading the PJSIP
/// include) while keeping it readable to that program: the new file gets the owner, group
/// and permission bits of the file it replaces (never any bit for others: it holds secrets),
/// `new_mode` when there is none, and `group` when given. If the owner or group cannot be
/// set (the daemon is not root and not in that group), nothing is replaced: a file the PBX
/// cannot read would break its whole configuration (field-evidence.md §2), the old one keeps
/// it working until the next try.
pub fn replace_keeping_owner(
    path: &Path,
    contents: &[u8],
    new_mode: u32,
    group: Option<u32>,
) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (mut owner, mode) = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => (
            Owner {
                uid: Some(meta.uid()),
                gid: Some(meta.gid()),
            },
            meta.mode() & 0o770,
        ),
        _ => (Owner::default(), new_mode),
    };
    if group.is_some() {
        owner.gid = group;
    }
    write_atomic_as(path, contents, mode, owner)
}

/// [`write_atomic`], the temporary file given `owner` before the rename.
fn write_atomic_as(path: &Path, contents: &[u8], mode: u32, owner: Owner) -> io::Result<()> {
    let mut temp = TempFile::new(path, mode)?;
    temp.file().write_all(contents)?;
    if owner != Owner::default() {
        std::os::unix::fs::fchown(temp.file(), owner.uid, owner.gid)?;
    }
    temp.commit()
}

/// A name for a temporary file in `dir`: [`TEMP_PREFIX`] (a dot: no phone asks for it, and
/// start-up removes what a crash left), `name`, the process id and a counter. The counter is
/// pointer-sized: 32-bit MIPS (ath79, MT7621) has no 64-bit atomics. Wrapping after 2^32 files
/// is harmless: only concurrent temporary files must differ, and they are created exclusively.
fn temp_path(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    dir.join(format!(
        "{TEMP_PREFIX}{}.{}.{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The new contents of a file, being written next to it: [`TempFile::commit`] puts them in
/// place as [`write_atomic`] does; dropped without that, the temporary file is removed. For
/// contents too large to hold in memory (firmware images), written as they are read.
#[derive(Debug)]
pub struct TempFile {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    mode: u32,
    /// Renamed over the target: nothing left to remove.
    committed: bool,
}

impl TempFile {
    /// Creates the temporary file for `target` in its directory (never over an existing file),
    /// with permission bits `mode`.
    pub fn new(target: &Path, mode: u32) -> io::Result<TempFile> {
        let file_name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
        let temp = temp_path(parent_dir(target), file_name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        Ok(TempFile {
            file,
            temp,
            target: target.to_path_buf(),
            mode,
            committed: false,
        })
    }

    /// The file, open for reading and writing.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Sets the mode, flushes the file to disk, renames it over the target and flushes the
    /// directory.
    pub fn commit(mut self) -> io::Result<()> {
        // The umask may have taken bits away; files for the TFTP server must be readable by
        // the unprivileged user it runs as.
        self.file
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(self.mode))?;
        self.file.sync_all()?;
        fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        sync_dir(parent_dir(&self.target))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// The directory a file is in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A scratch file in `dir` with no name: created under a temporary name (never over an
/// existing file, mode 0600) and unlinked at once, so its blocks are freed when it is closed.
/// For data too large for memory that is read back once (an archive inside an archive).
pub fn anonymous_file(dir: &Path) -> io::Result<File> {
    let temp = temp_path(dir, std::ffi::OsStr::new("scratch"));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    fs::remove_file(&temp)?;
    Ok(file)
}

/// The buffer of [`copy_at_most`] and [`same_contents`].
const CHUNK: usize = 64 << 10;

/// Why [`copy_at_most`] stopped before the end of its reader.
#[derive(Debug)]
pub enum CopyError {
    Read(io::Error),
    Write(io::Error),
    /// The reader had more than the limit.
    TooLarge,
}

/// Copies `reader` to `writer` through one 64 KiB buffer, to the reader's end, and returns
/// how many bytes it copied. Stops, without reading further, at the first read that goes past
/// `limit` bytes; what was written before stays (a [`TempFile`] dropped removes it).
pub fn copy_at_most(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    limit: u64,
) -> Result<u64, CopyError> {
    let mut buffer = vec![0u8; CHUNK];
    let mut copied = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(CopyError::Read(err)),
        };
        copied += n as u64;
        if copied > limit {
            return Err(CopyError::TooLarge);
        }
        writer.write_all(&buffer[..n]).map_err(CopyError::Write)?;
    }
}

/// Whether the regular file at `path` holds exactly the bytes of `file` (read from its
/// start), compared 64 KiB at a time. Like [`read_existing`], `path` is opened without
/// following a symlink or blocking on a FIFO; anything but a regular file is not the same.
pub fn same_contents(file: &mut File, path: &Path) -> io::Result<bool> {
    use std::io::{BufRead, BufReader, Seek, SeekFrom};
    let existing = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(existing) => existing,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Ok(false),
        Err(err) => return Err(err),
    };
    let meta = existing.metadata()?;
    if !meta.file_type().is_file() || meta.len() != file.metadata()?.len() {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(0))?;
    let mut ours = BufReader::with_capacity(CHUNK, &mut *file);
    let mut theirs = BufReader::with_capacity(CHUNK, existing);
    loop {
        let (a, b) = (ours.fill_buf()?, theirs.fill_buf()?);
        if a.is_empty() || b.is_empty() {
            return Ok(a.is_empty() && b.is_empty());
        }
        let n = a.len().min(b.len());
        if a[..n] != b[..n] {
            return Ok(false);
        }
        ours.consume(n);
        theirs.consume(n);
    }
}

/// What is at a path where we expect a file of ours, read without trusting it.
#[derive(Debug, PartialEq, Eq)]
pub enum Existing {
    /// Nothing.
    Missing,
    /// A symlink, FIFO, device, socket or directory: never opened (a FIFO blocks the
    /// reader, a link to `/dev/zero` never ends; field-evidence.md §4).
    NotRegular,
    /// A regular file larger than the limit: not ours, and not read.
    TooLarge,
    /// A regular file's bytes.
    Bytes(Vec<u8>),
}

/// Reads the regular file at `path` (not following a symlink, never blocking, at most
/// `limit` bytes) for comparing it with what we would write. The TFTP root may be
/// world-writable (the how-tos say `chmod -R 777`), so anything can be there.
pub fn read_existing(path: &Path, limit: u64) -> io::Result<Existing> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Existing::Missing),
        Err(err) => return Err(err),
    };
    if !meta.file_type().is_file() {
        return Ok(Existing::NotRegular);
    }
    if meta.len() > limit {
        return Ok(Existing::TooLarge);
    }
    // O_NOFOLLOW and O_NONBLOCK: if the file was swapped for a link or a FIFO since the
    // check, the open fails or returns at once instead of following or blocking.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let file = match file {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Existing::Missing),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Ok(Existing::NotRegular),
        Err(err) => return Err(err),
    };
    if !file.metadata()?.file_type().is_file() {
        return Ok(Existing::NotRegular);
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(Existing::TooLarge);
    }
    Ok(Existing::Bytes(bytes))
}

/// The id of group `name` (a number is taken as it is), from `/etc/group`; `None` when no
/// such group exists.
pub fn group_id(name: &str) -> io::Result<Option<u32>> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(Some(gid));
    }
    let text = fs::read_to_string("/etc/group")?;
    Ok(text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(name))
            .then(|| fields.nth(1)?.parse().ok())
            .flatten()
    }))
}

/// The uid of user `name` (a number is taken as it is), from `/etc/passwd`; `None` when no
/// such user exists.
pub fn user_id(name: &str) -> io::Result<Option<u32>> {
    if let Ok(uid) = name.parse::<u32>() {
        return Ok(Some(uid));
    }
    let text = fs::read_to_string("/etc/passwd")?;
    Ok(text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(name))
            .then(|| fields.nth(1)?.parse().ok())
            .flatten()
    }))
}

/// The user id this process runs as (the owner of `/proc/self`); `None` without `/proc`.
pub fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").map(|meta| meta.uid()).ok()
}

/// An IO error in the admin's words: the system's message without Rust's ` (os error N)`,
/// lowercase (`no such file or directory`, `permission denied`). Every IO error that reaches
/// the user goes through here.
pub fn plain(err: &io::Error) -> String {
    // std's own "stream did not contain valid UTF-8" (`read_to_string`) carries no inner error.
    if err.kind() == io::ErrorKind::InvalidData
        && err.raw_os_error().is_none()
        && err.get_ref().is_none()
    {
        return "not text (not valid utf-8)".to_string();
    }
    let text = err.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The pid of the process holding a `flock` on `path`, from `/proc/locks`, without taking
/// the lock (a probe that took it, however briefly, could make a starting daemon fail).
/// `Ok(None)`: nobody holds it (or the file does not exist).
pub fn flock_holder(path: &Path) -> io::Result<Option<u32>> {
    use std::os::unix::fs::MetadataExt;
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let locks = fs::read_to_string("/proc/locks")?;
    Ok(lock_holder(&locks, meta.dev(), meta.ino()))
}

/// The holder of a `FLOCK` on (device, inode) in the text of `/proc/locks`:
/// `1: FLOCK  ADVISORY  WRITE 1234 08:01:131090 0 EOF` (major and minor in hex). A waiter
/// (`1: -> FLOCK …`) holds nothing.
fn lock_holder(locks: &str, dev: u64, ino: u64) -> Option<u32> {
    // glibc's gnu_dev_major/minor.
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&"FLOCK") {
            return None;
        }
        let mut place = fields.get(5)?.split(':');
        let line_major = u64::from_str_radix(place.next()?, 16).ok()?;
        let line_minor = u64::from_str_radix(place.next()?, 16).ok()?;
        let line_ino: u64 = place.next()?.parse().ok()?;
        (line_major == major && line_minor == minor && line_ino == ino)
            .then(|| fields.get(4)?.parse().ok())
            .flatten()
    })
}

/// Flushes a directory's entries (a rename is durable only after this).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes temporary files a crash left in `dir`. Returns how many were removed.
pub fn remove_stale_temp_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
        .filter(|entry| fs::remove_file(entry.path()).is_ok())
        .count()
}

/// FNV-1a, 64 bits: a stable fingerprint of a file's contents, stored in the state file to
/// recognise files we wrote. Not a security measure.
pub fn fingerprint(data: &[u8]) -> u64 {
    let mut print = Fingerprint::new();
    print.update(data);
    print.value()
}

/// [`fingerprint`] of bytes that come in pieces: the pieces' fingerprint is that of their
/// concatenation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Fingerprint {
    pub fn new() -> Fingerprint {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }

    pub fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn value(&self) -> u64 {
        self.0
    }
}

impl Default for Fingerprint {
    fn default() -> Fingerprint {
        Fingerprint::new()
    }
}

/// A name that stays inside the directory: no separators, no leading dot, no NUL, ≤ 255 bytes.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn io_errors_in_plain_words() {
        let missing = fs::read("/nonexistent/config.toml").unwrap_err();
        assert_eq!(plain(&missing), "no such file or directory");
        let not_text = fs::read_to_string("/proc/self/exe").unwrap_err();
        assert_eq!(plain(&not_text), "not text (not valid utf-8)");
        assert_eq!(plain(&io::Error::other("disk gone")), "disk gone");
        let bad_state = io::Error::new(io::ErrorKind::InvalidData, "unreadable state file");
        assert_eq!(plain(&bad_state), "unreadable state file");
    }

    /// The holder of a lock is found in /proc/locks without taking the lock.
    #[test]
    fn flock_holder_reads_proc_locks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let file = File::create(&path).unwrap();
        assert_eq!(flock_holder(&path).unwrap(), None);
        file.try_lock().unwrap();
        assert_eq!(flock_holder(&path).unwrap(), Some(std::process::id()));
        drop(file);
        assert_eq!(flock_holder(&path).unwrap(), None);
        assert_eq!(flock_holder(&dir.path().join("nope")).unwrap(), None);
        let text = "1: POSIX  ADVISORY  WRITE 7 08:01:99 0 EOF\n2: -> FLOCK  ADVISORY  WRITE 8 08:01:99 0 EOF\n3: FLOCK  ADVISORY  WRITE 9 103:02:99 0 EOF\n";
        let dev = (0x103 << 8) | 2;
        assert_eq!(lock_holder(text, dev, 99), Some(9));
        assert_eq!(lock_holder(text, (8 << 8) | 1, 99), None);
    }

    #[test]
    fn replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"one", 0o644).unwrap();
        write_atomic(&path, b"two", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }

    /// The PJSIP include must stay readable by the PBX's group across every rewrite: a
    /// one-time `chgrp asterisk` was lost at the next change, and Asterisk then refused the
    /// whole pjsip.conf (field-evidence.md §2).
    #[test]
    fn replacing_keeps_owner_group_and_mode() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pjsip.cisco-autoprov.conf");
        replace_keeping_owner(&path, b"one", 0o640, None).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o640);
        // The admin gives it to the PBX's group (any group we are in works without root)
        // and opens it to that group only.
        let my_gid = meta.gid();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o660)).unwrap();
        replace_keeping_owner(&path, b"two", 0o640, None).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!((meta.mode() & 0o777, meta.gid()), (0o660, my_gid));
        // Never a bit for others, whatever the old file had.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        replace_keeping_owner(&path, b"three", 0o640, Some(my_gid)).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o640);
    }

    #[test]
    fn a_group_that_cannot_be_given_leaves_the_old_file() {
        // Only meaningful without CAP_CHOWN: root may give any group.
        if effective_uid() == Some(0) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"old").unwrap();
        assert!(replace_keeping_owner(&path, b"new", 0o640, Some(0)).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temp_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(format!("{TEMP_PREFIX}x.1.2")), b"partial").unwrap();
        fs::write(dir.path().join("keep"), b"").unwrap();
        assert_eq!(remove_stale_temp_files(dir.path()), 1);
        assert!(dir.path().join("keep").exists());
    }

    #[test]
    fn fingerprint_is_stable() {
        // Persisted in state files: must never change between versions.
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut pieces = Fingerprint::new();
        for piece in [&b"firm"[..], b"", b"ware image"] {
            pieces.update(piece);
        }
        assert_eq!(pieces.value(), fingerprint(b"firmware image"));
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// A big file written as it is read: at most the limit, and a temporary file that is not
    /// committed leaves nothing behind.
    #[test]
    fn streamed_temp_files_commit_or_vanish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.sbn");
        fs::write(&path, b"old").unwrap();

        let mut temp = TempFile::new(&path, 0o644).unwrap();
        let mut zeros = io::repeat(0).take(300 << 10);
        let err = copy_at_most(&mut zeros, temp.file(), 200 << 10).unwrap_err();
        assert!(matches!(err, CopyError::TooLarge), "{err:?}");
        assert_eq!(names(dir.path()).len(), 2, "the temporary file is there");
        drop(temp);
        assert_eq!(names(dir.path()), ["image.sbn"]);
        assert_eq!(fs::read(&path).unwrap(), b"old");

        let mut temp = TempFile::new(&path, 0o644).unwrap();
        let mut bytes = &b"new bytes"[..];
        assert_eq!(copy_at_most(&mut bytes, temp.file(), 9).unwrap(), 9);
        assert!(!same_contents(temp.file(), &path).unwrap());
        temp.commit().unwrap();
        assert_eq!(names(dir.path()), ["image.sbn"]);
        assert_eq!(fs::read(&path).unwrap(), b"new bytes");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );

        let mut file = anonymous_file(dir.path()).unwrap();
        assert_eq!(
            names(dir.path()),
            ["image.sbn"],
            "the scratch file has no name"
        );
        file.write_all(b"new bytes").unwrap();
        assert!(same_contents(&mut file, &path).unwrap());
        file.write_all(b"!").unwrap();
        assert!(!same_contents(&mut file, &path).unwrap());
        std::os::unix::fs::symlink(&path, dir.path().join("link")).unwrap();
        file.set_len(9).unwrap();
        assert!(same_contents(&mut file, &path).unwrap());
        assert!(!same_contents(&mut file, &dir.path().join("link")).unwrap());
        assert!(!same_contents(&mut file, &dir.path().join("missing")).unwrap());
    }
}
