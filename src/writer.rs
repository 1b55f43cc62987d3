//! The file writer: the only code that writes into the TFTP root.
//!
//! - Names are checked before anything is written: a plain file name, no separators, no
//!   leading dot, at most 255 bytes. Names are built by `render` from a parsed `Mac`, never
//!   copied from a request, so this check is a second fence, not the first.
//! - Files are world-readable (0644): TFTP servers serve as an unprivileged user.
//! - A file is only replaced when it is absent, holds exactly what we last wrote (its
//!   fingerprint is in the registry), or already holds the new contents. Anything else was
//!   edited or put there by a person: it is left alone and that is logged once per file.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tracing::warn;

use crate::fsutil;

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The file was written.
    Written,
    /// It already held these contents.
    Unchanged,
    /// It holds something we did not write; it was left alone.
    KeptForeign,
}

/// Largest existing file compared with what we would write: ours are a few KB (a phone's file
/// with all its buttons, the shared files), so anything bigger is not ours.
pub const MAX_EXISTING: u64 = 1 << 20;

/// Writes files into one directory, remembering which ones are ours.
#[derive(Debug)]
pub struct FileWriter {
    root: PathBuf,
    /// Files we already warned about, so a phone asking every 30 s does not flood the log.
    warned: HashSet<String>,
}

impl FileWriter {
    /// A writer for the TFTP root.
    pub fn new(root: &Path) -> FileWriter {
        FileWriter {
            root: root.to_path_buf(),
            warned: HashSet::new(),
        }
    }

    /// The directory written into.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `name` with `contents` unless a person owns the file. `registry` maps names we
    /// wrote to the hex fingerprint of what we wrote; it is updated on success.
    pub fn write(
        &mut self,
        name: &str,
        contents: &str,
        registry: &mut BTreeMap<String, String>,
    ) -> io::Result<WriteOutcome> {
        if !is_plain_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("refusing to write {name:?}: not a plain file name"),
            ));
        }
        let path = self.root.join(name);
        let new_print = format!("{:016x}", fsutil::fingerprint(contents.as_bytes()));
        match fsutil::read_existing(&path, MAX_EXISTING)? {
            fsutil::Existing::NotRegular | fsutil::Existing::TooLarge => {
                // A link, FIFO or device at a phone's file name (a world-writable root), or a
                // file bigger than any we write: not ours; never opened or read whole.
                if self.warned.insert(name.to_string()) {
                    warn!(
                        file = %path.display(),
                        "not a plain file of cisco-autoprov (a link, fifo, device or a very large file); leaving it alone (delete it to let cisco-autoprov manage it)"
                    );
                }
                return Ok(WriteOutcome::KeptForeign);
            }
            fsutil::Existing::Bytes(existing) => {
                let old_print = format!("{:016x}", fsutil::fingerprint(&existing));
                if existing == contents.as_bytes() {
                    registry.insert(name.to_string(), new_print);
                    return Ok(WriteOutcome::Unchanged);
                }
                if registry.get(name) != Some(&old_print) {
                    if self.warned.insert(name.to_string()) {
                        warn!(
                            file = %path.display(),
                            "file was not written by cisco-autoprov or was edited by hand; leaving it alone (delete it to let cisco-autoprov manage it)"
                        );
                    }
                    return Ok(WriteOutcome::KeptForeign);
                }
            }
            fsutil::Existing::Missing => {}
        }
        fsutil::write_atomic(&path, contents.as_bytes(), 0o644)?;
        self.warned.remove(name);
        registry.insert(name.to_string(), new_print);
        Ok(WriteOutcome::Written)
    }
}

impl FileWriter {
    /// Removes `name` if it is ours (holds exactly what we last wrote). Returns whether it
    /// was removed; a file a person changed is left alone.
    pub fn remove(
        &mut self,
        name: &str,
        registry: &mut BTreeMap<String, String>,
    ) -> io::Result<bool> {
        if !is_plain_name(name) {
            return Ok(false);
        }
        let path = self.root.join(name);
        let existing = match fsutil::read_existing(&path, MAX_EXISTING)? {
            fsutil::Existing::Bytes(existing) => existing,
            fsutil::Existing::Missing => {
                registry.remove(name);
                return Ok(false);
            }
            fsutil::Existing::NotRegular | fsutil::Existing::TooLarge => return Ok(false),
        };
        let print = format!("{:016x}", fsutil::fingerprint(&existing));
        if registry.get(name) != Some(&print) {
            return Ok(false);
        }
        fs::remove_file(&path)?;
        registry.remove(name);
        Ok(true)
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
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    use super::*;

    /// A FIFO or a symlink to `/dev/zero` at a phone's file name in a world-writable TFTP root
    /// hung the daemon or ate gigabytes (field-evidence.md §4): neither is opened now, both
    /// are left alone, and a link to a real file is not followed.
    #[test]
    fn links_fifos_and_devices_are_never_opened() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let mut writer = FileWriter::new(dir.path());
        let mut registry = BTreeMap::new();
        let fifo = dir.path().join("SEP001B0C18BDC1.cnf.xml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
        symlink("/dev/zero", dir.path().join("SEP001B0C18BDC2.cnf.xml")).unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, "someone's file").unwrap();
        symlink(&target, dir.path().join("SEP001B0C18BDC3.cnf.xml")).unwrap();
        fs::write(
            dir.path().join("SEP001B0C18BDC4.cnf.xml"),
            vec![b'x'; 2 << 20],
        )
        .unwrap();
        let started = std::time::Instant::now();
        for n in 1..=4 {
            let name = format!("SEP001B0C18BDC{n}.cnf.xml");
            let outcome = writer.write(&name, "<device/>", &mut registry).unwrap();
            assert_eq!(outcome, WriteOutcome::KeptForeign, "{name}");
            assert!(!writer.remove(&name, &mut registry).unwrap());
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "nothing blocks"
        );
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(fs::read_to_string(&target).unwrap(), "someone's file");
    }

    #[test]
    fn ownership_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = FileWriter::new(dir.path());
        let mut registry = BTreeMap::new();
        let path = dir.path().join("SEP001B0C18BDC1.cnf.xml");

        assert_eq!(
            writer
                .write("SEP001B0C18BDC1.cnf.xml", "v1", &mut registry)
                .unwrap(),
            WriteOutcome::Written
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(
            writer
                .write("SEP001B0C18BDC1.cnf.xml", "v1", &mut registry)
                .unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(
            writer
                .write("SEP001B0C18BDC1.cnf.xml", "v2", &mut registry)
                .unwrap(),
            WriteOutcome::Written
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "v2");

        // A person edits it: it is theirs now.
        fs::write(&path, "hand edited").unwrap();
        assert_eq!(
            writer
                .write("SEP001B0C18BDC1.cnf.xml", "v3", &mut registry)
                .unwrap(),
            WriteOutcome::KeptForeign
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "hand edited");

        // A file that was there before us is not ours either.
        fs::write(dir.path().join("XMLDefault.cnf.xml"), "admin's").unwrap();
        assert_eq!(
            writer
                .write("XMLDefault.cnf.xml", "ours", &mut registry)
                .unwrap(),
            WriteOutcome::KeptForeign
        );

        // Deleting it hands it back.
        fs::remove_file(&path).unwrap();
        assert_eq!(
            writer
                .write("SEP001B0C18BDC1.cnf.xml", "v3", &mut registry)
                .unwrap(),
            WriteOutcome::Written
        );
    }

    #[test]
    fn refuses_names_outside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = FileWriter::new(dir.path());
        let mut registry = BTreeMap::new();
        for name in [
            "../x",
            "/etc/passwd",
            "a/b",
            "",
            ".hidden",
            "a\0b",
            &"A".repeat(256),
        ] {
            assert!(writer.write(name, "x", &mut registry).is_err(), "{name:?}");
        }
        assert!(registry.is_empty());
    }
}
