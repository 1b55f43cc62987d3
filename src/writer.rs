//! The file writer: the only code that writes into the TFTP root.
//!
//! - Names are checked before anything is written: a plain file name, no separators, no
//!   leading dot, at most 255 bytes. Names are built by `render` from a parsed `Mac`, never
//!   copied from a request, so this check is a second fence, not the first.
//! - Files are world-readable (0644): TFTP servers serve as an unprivileged user.
//! - A file is only replaced when it is absent, holds exactly what we last wrote (its
//!   fingerprint is in the registry), or already holds the new contents. Anything else was
//!   edited or put there by a person: it is left alone and that is logged once per file.
//! - With `tftp_unique_root = "mac"` a phone's files go to its own directory
//!   (`<root>/00-1b-54-aa-bb-cc/`, [`Mac::dashed`]), which dnsmasq's `tftp-unique-root=mac`
//!   serves to that phone only. dnsmasq then serves that phone nothing from the root itself
//!   (verified on 2.90: no fallback per file), so the directory also holds a relative link
//!   (`../name`) to every shared name of the root ([`FileWriter::sync_links`]). The
//!   directory is ours only if it is a real directory owned by us: it is opened without
//!   following links and every write goes through that open descriptor
//!   (`/proc/self/fd/N/…`), so a link swapped in by another user of a world-writable root
//!   never redirects a write.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use tracing::warn;

use crate::fsutil;
use crate::mac::Mac;

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

/// Most names of the root linked into a phone's directory.
pub const MAX_LINKS: usize = 4096;

/// Where a file goes: the root, or a phone's own directory in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The TFTP root.
    Root,
    /// `<root>/<mac dashed>/`, for dnsmasq's `tftp-unique-root=mac`.
    PhoneDir(Mac),
}

impl Place {
    /// The key of `name` here in the registry of written files (`name`, or `dir/name`).
    pub fn key(self, name: &str) -> String {
        match self {
            Place::Root => name.to_string(),
            Place::PhoneDir(mac) => format!("{}/{name}", mac.dashed()),
        }
    }
}

/// A directory opened without following links; paths below it resolve through the
/// descriptor, not the name.
struct OpenDir {
    /// Kept open while `path` is used.
    _file: File,
    path: PathBuf,
}

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

    /// Writes `name` in the root with `contents` unless a person owns the file. `registry`
    /// maps names we wrote to the hex fingerprint of what we wrote; it is updated on success.
    pub fn write(
        &mut self,
        name: &str,
        contents: &str,
        registry: &mut BTreeMap<String, String>,
    ) -> io::Result<WriteOutcome> {
        self.write_in(Place::Root, name, contents, registry)
    }

    /// [`FileWriter::write`] at `place`; a phone's directory is created (0755) when missing.
    pub fn write_in(
        &mut self,
        place: Place,
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
        let dir = match place {
            Place::Root => None,
            Place::PhoneDir(mac) => match self.phone_dir(mac, true)? {
                Some(dir) => Some(dir),
                None => return Ok(WriteOutcome::KeptForeign),
            },
        };
        let path = match &dir {
            Some(dir) => dir.path.join(name),
            None => self.root.join(name),
        };
        let key = place.key(name);
        let new_print = format!("{:016x}", fsutil::fingerprint(contents.as_bytes()));
        match fsutil::read_existing(&path, MAX_EXISTING)? {
            fsutil::Existing::NotRegular | fsutil::Existing::TooLarge => {
                // A link, FIFO or device at a phone's file name (a world-writable root), or a
                // file bigger than any we write: not ours; never opened or read whole.
                if self.warned.insert(key.clone()) {
                    warn!(
                        file = %self.root.join(&key).display(),
                        "not a plain file of cisco-autoprov (a link, fifo, device or a very large file); leaving it alone (delete it to let cisco-autoprov manage it)"
                    );
                }
                return Ok(WriteOutcome::KeptForeign);
            }
            fsutil::Existing::Bytes(existing) => {
                let old_print = format!("{:016x}", fsutil::fingerprint(&existing));
                if existing == contents.as_bytes() {
                    registry.insert(key, new_print);
                    return Ok(WriteOutcome::Unchanged);
                }
                if registry.get(&key) != Some(&old_print) {
                    if self.warned.insert(key.clone()) {
                        warn!(
                            file = %self.root.join(&key).display(),
                            "file was not written by cisco-autoprov or was edited by hand; leaving it alone (delete it to let cisco-autoprov manage it)"
                        );
                    }
                    return Ok(WriteOutcome::KeptForeign);
                }
            }
            fsutil::Existing::Missing => {}
        }
        fsutil::write_atomic(&path, contents.as_bytes(), 0o644)?;
        self.warned.remove(&key);
        registry.insert(key, new_print);
        Ok(WriteOutcome::Written)
    }

    /// Removes `name` from the root if it is ours (holds exactly what we last wrote).
    /// Returns whether it was removed; a file a person changed is left alone.
    pub fn remove(
        &mut self,
        name: &str,
        registry: &mut BTreeMap<String, String>,
    ) -> io::Result<bool> {
        self.remove_in(Place::Root, name, registry)
    }

    /// [`FileWriter::remove`] at `place`.
    pub fn remove_in(
        &mut self,
        place: Place,
        name: &str,
        registry: &mut BTreeMap<String, String>,
    ) -> io::Result<bool> {
        if !is_plain_name(name) {
            return Ok(false);
        }
        let key = place.key(name);
        // Only a file the registry says we wrote is ever removed: without its entry there is
        // nothing to look at (the common case: the other place of every phone write).
        if !registry.contains_key(&key) {
            return Ok(false);
        }
        let dir = match place {
            Place::Root => None,
            Place::PhoneDir(mac) => match self.phone_dir(mac, false)? {
                Some(dir) => Some(dir),
                None => {
                    registry.remove(&key);
                    return Ok(false);
                }
            },
        };
        let path = match &dir {
            Some(dir) => dir.path.join(name),
            None => self.root.join(name),
        };
        let existing = match fsutil::read_existing(&path, MAX_EXISTING)? {
            fsutil::Existing::Bytes(existing) => existing,
            fsutil::Existing::Missing => {
                registry.remove(&key);
                return Ok(false);
            }
            fsutil::Existing::NotRegular | fsutil::Existing::TooLarge => return Ok(false),
        };
        let print = format!("{:016x}", fsutil::fingerprint(&existing));
        if registry.get(&key) != Some(&print) {
            return Ok(false);
        }
        fs::remove_file(&path)?;
        registry.remove(&key);
        Ok(true)
    }

    /// The names of the root a phone's directory links to: every plain name but the
    /// phones' own files (`SEP<MAC>.cnf.xml`, `SIP<MAC>.cnf`, their trust lists) and the
    /// phones' directories, sorted, at most [`MAX_LINKS`].
    pub fn link_names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let Ok(name) = entry?.file_name().into_string() else {
                continue;
            };
            if is_shared_name(&name) {
                names.push(name);
            }
        }
        names.sort_unstable();
        names.truncate(MAX_LINKS);
        Ok(names)
    }

    /// Makes `mac`'s directory link (`name -> ../name`) exactly the `wanted` names of the
    /// root: missing links are made, our links to names no longer wanted are removed.
    /// Anything else in the directory (its files, a person's) is left alone. Returns the
    /// number of links made and removed.
    pub fn sync_links(&mut self, mac: Mac, wanted: &[String]) -> io::Result<(usize, usize)> {
        let Some(dir) = self.phone_dir(mac, true)? else {
            return Ok((0, 0));
        };
        let mut present = BTreeSet::new();
        let mut removed = 0;
        for entry in fs::read_dir(&dir.path)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !entry.file_type()?.is_symlink() {
                present.insert(name);
                continue;
            }
            let ours = fs::read_link(entry.path())
                .is_ok_and(|target| target == Path::new("..").join(&name));
            if ours && wanted.binary_search(&name).is_err() {
                fs::remove_file(entry.path())?;
                removed += 1;
            } else {
                present.insert(name);
            }
        }
        let mut made = 0;
        for name in wanted {
            if is_plain_name(name) && !present.contains(name) {
                match std::os::unix::fs::symlink(Path::new("..").join(name), dir.path.join(name)) {
                    Ok(()) => made += 1,
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok((made, removed))
    }

    /// Takes `mac`'s directory away when unique roots are off: our links and files in it
    /// go, then the directory if it is empty (dnsmasq would otherwise keep serving that
    /// phone from it). Returns whether it is gone.
    pub fn remove_phone_dir(
        &mut self,
        mac: Mac,
        registry: &mut BTreeMap<String, String>,
    ) -> io::Result<bool> {
        let Some(dir) = self.phone_dir(mac, false)? else {
            return Ok(true);
        };
        let prefix = format!("{}/", mac.dashed());
        let ours: Vec<String> = registry
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .map(|(key, _)| key[prefix.len()..].to_string())
            .collect();
        for name in ours {
            self.remove_in(Place::PhoneDir(mac), &name, registry)?;
        }
        self.sync_links(mac, &[])?;
        drop(dir);
        match fs::remove_dir(self.root.join(mac.dashed())) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(_) => {
                if self.warned.insert(prefix.clone()) {
                    warn!(dir = %self.root.join(mac.dashed()).display(), "a phone's directory holds files cisco-autoprov did not write; dnsmasq serves that phone from it (tftp-unique-root): move them to the tftp root or delete the directory");
                }
                Ok(false)
            }
        }
    }

    /// Opens `mac`'s directory (creating it when `create`), without following a link, and
    /// checks it is ours. `None` when it is missing (and not `create`) or not ours (logged
    /// once).
    fn phone_dir(&mut self, mac: Mac, create: bool) -> io::Result<Option<OpenDir>> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
        let name = mac.dashed();
        let path = self.root.join(&name);
        if create {
            match fs::DirBuilder::new().mode(0o755).create(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err),
            }
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(&path);
        let file = match file {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
            Err(err) if matches!(err.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                self.not_ours(&path);
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        let owner = file.metadata()?.uid();
        if fsutil::effective_uid().is_some_and(|uid| uid != owner) {
            self.not_ours(&path);
            return Ok(None);
        }
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", {
            use std::os::fd::AsRawFd;
            file.as_raw_fd()
        }));
        let path = if by_fd.is_dir() { by_fd } else { path };
        Ok(Some(OpenDir { _file: file, path }))
    }

    fn not_ours(&mut self, path: &Path) {
        if self.warned.insert(path.display().to_string()) {
            warn!(dir = %path.display(), "a phone's directory name in the tftp root is a link, a file or another user's directory; leaving that phone's files out (delete it to let cisco-autoprov manage it)");
        }
    }
}

/// A name of the TFTP root every phone may read, which a phone's own directory links to: a
/// plain name that is not a phone's directory or a phone's own file (`SEP<MAC>.cnf.xml`,
/// `SIP<MAC>.cnf`, `CTLSEP<MAC>.tlv`, `ITLSEP<MAC>.tlv`).
pub fn is_shared_name(name: &str) -> bool {
    use crate::detect::names::{classify, TftpName};
    is_plain_name(name)
        && Mac::from_dashed(name).is_none()
        && !matches!(
            classify(name),
            TftpName::SepConfig(_) | TftpName::SipConfig(_) | TftpName::TrustList(_)
        )
}

pub use crate::fsutil::is_plain_name;

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

    const PHONE: Mac = Mac::from_bytes([0x00, 0x1b, 0x0c, 0x18, 0xbd, 0xc1]);

    /// `tftp_unique_root`: the phone's file goes to its directory, which links the root's
    /// shared names (dnsmasq 2.90 serves that phone nothing else; tests/e2e_unique_root.rs
    /// fetches through the links from real dnsmasq), and not the other phones' files.
    #[test]
    fn a_phone_directory_holds_its_files_and_links_the_shared_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut writer = FileWriter::new(root);
        let mut registry = BTreeMap::new();
        for name in [
            "XMLDefault.cnf.xml",
            "term41.default.loads",
            "SEP001B0C18BDC2.cnf.xml",
            "SIP001B0C18BDC3.cnf",
            ".cisco-autoprov.tmp",
        ] {
            fs::write(root.join(name), name).unwrap();
        }
        fs::create_dir(root.join("00-1b-0c-18-bd-c2")).unwrap();
        fs::create_dir(root.join("United_States")).unwrap();
        let place = Place::PhoneDir(PHONE);
        let outcome = writer
            .write_in(place, "SEP001B0C18BDC1.cnf.xml", "<device/>", &mut registry)
            .unwrap();
        assert_eq!(outcome, WriteOutcome::Written);
        let phone_dir = root.join("00-1b-0c-18-bd-c1");
        assert_eq!(
            fs::read_to_string(phone_dir.join("SEP001B0C18BDC1.cnf.xml")).unwrap(),
            "<device/>"
        );
        assert!(registry.contains_key("00-1b-0c-18-bd-c1/SEP001B0C18BDC1.cnf.xml"));
        assert!(!root.join("SEP001B0C18BDC1.cnf.xml").exists());

        let wanted = writer.link_names().unwrap();
        assert_eq!(
            wanted,
            [
                "United_States",
                "XMLDefault.cnf.xml",
                "term41.default.loads"
            ]
        );
        assert_eq!(writer.sync_links(PHONE, &wanted).unwrap(), (3, 0));
        assert_eq!(
            fs::read_to_string(phone_dir.join("term41.default.loads")).unwrap(),
            "term41.default.loads"
        );
        assert!(phone_dir.join("United_States").is_dir());
        // Idempotent; a name gone from the root loses its link, a person's file stays.
        assert_eq!(writer.sync_links(PHONE, &wanted).unwrap(), (0, 0));
        fs::write(phone_dir.join("admin-note.txt"), "mine").unwrap();
        assert_eq!(writer.sync_links(PHONE, &wanted[1..]).unwrap(), (0, 1));
        assert!(!phone_dir.join("United_States").exists());
        assert!(phone_dir.join("admin-note.txt").exists());

        // Unique roots switched off: our file and links go; the person's file keeps the
        // directory (and is reported), until it is gone too.
        assert!(!writer.remove_phone_dir(PHONE, &mut registry).unwrap());
        assert!(!phone_dir.join("SEP001B0C18BDC1.cnf.xml").exists());
        assert!(!phone_dir.join("XMLDefault.cnf.xml").exists());
        assert!(registry.is_empty());
        fs::remove_file(phone_dir.join("admin-note.txt")).unwrap();
        assert!(writer.remove_phone_dir(PHONE, &mut registry).unwrap());
        assert!(!phone_dir.exists());
        // Nothing there: nothing to do.
        assert!(writer.remove_phone_dir(PHONE, &mut registry).unwrap());
    }

    /// In a world-writable root (the how-tos' `chmod -R 777`, field-evidence.md §4) another
    /// user may put a link, or a file, where a phone's directory goes: nothing is written
    /// through it or into it.
    #[test]
    fn a_link_or_a_file_at_a_phone_directory_is_not_followed() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tftp");
        let elsewhere = dir.path().join("etc");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&elsewhere).unwrap();
        symlink(&elsewhere, root.join("00-1b-0c-18-bd-c1")).unwrap();
        fs::write(root.join("00-1b-0c-18-bd-c2"), "a file").unwrap();
        let mut writer = FileWriter::new(&root);
        let mut registry = BTreeMap::new();
        for (mac, name) in [
            (PHONE, "SEP001B0C18BDC1.cnf.xml"),
            (
                Mac::from_bytes([0x00, 0x1b, 0x0c, 0x18, 0xbd, 0xc2]),
                "SEP001B0C18BDC2.cnf.xml",
            ),
        ] {
            let outcome = writer
                .write_in(Place::PhoneDir(mac), name, "<device/>", &mut registry)
                .unwrap();
            assert_eq!(outcome, WriteOutcome::KeptForeign, "{name}");
            assert_eq!(writer.sync_links(mac, &["x".into()]).unwrap(), (0, 0));
        }
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        assert!(registry.is_empty());
    }
}
