//! File-system helpers shared by the state store and the file writer.
//!
//! Every file cisco-autoprov writes goes through [`write_atomic`]: a temporary file in the same
//! directory, fsync, rename over the target, fsync of the directory. A reader (a TFTP server,
//! dnsmasq, `status`) sees the old file or the new one, never a part of one, even across a
//! crash or a full disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

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
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{}.{}.{}",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        file.write_all(contents)?;
        if owner != Owner::default() {
            std::os::unix::fs::fchown(&file, owner.uid, owner.gid)?;
        }
        // The umask may have taken bits away; files for the TFTP server must be readable by
        // the unprivileged user it runs as.
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
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
    use std::io::Read;
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
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in data {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

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
    }
}
