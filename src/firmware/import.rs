//! Unpacks Cisco firmware packages into the TFTP root. Edge module: it reads an archive and
//! writes files directly under the root, each as `fsutil::write_atomic` does (a temporary
//! file, fsync, rename).
//!
//! Formats, recognised by their bytes rather than their names:
//! - zip: `cmterm-7941_7961-sip.9-3-1SR1-1.zip` (files under a directory inside);
//! - tar.gz: `.cop` packages, `.tar.gz`, `.tgz`;
//! - a signed `.cop.sgn`: a `.sgn` header (Cisco's signature block), then the tar.gz. The
//!   header says its own length; failing that, the first gzip magic (`1f 8b 08`) in the first
//!   64 KiB starts the archive;
//! - plain tar (`P0S3-8-12-00.tar`), and one archive inside another (a zip holding that tar).
//!
//! Rules:
//! - Firmware (`.loads` and image files) is written under the root by its base name, exact
//!   case, mode 0644. Everything else (`copstart.sh`, `load115.txt`, readmes) is skipped.
//! - An entry with an absolute path or a `..` component, a link, a device or a FIFO is refused
//!   and never written. A base name is always a plain name, so nothing lands outside the root.
//! - A file already there with the same bytes is left as it is; with other bytes it is
//!   refused unless `force`.
//! - `.loads` files are written last, after every image of the archive, so a phone never finds
//!   a `.loads` whose images are not there yet; they are not written at all when the archive
//!   turns out to be damaged. A gzip stream is checked to its end (CRC) before anything is
//!   written; zip entries are checked one by one.
//! - Memory does not grow with the entries: an image is streamed from the decompressor into a
//!   temporary file in the root (`.cisco-autoprov.<name>.…`: no phone asks for a dot file, and
//!   start-up removes one a crash left), its size bounded as it comes and a zip entry's CRC-32
//!   checked at its end, then renamed over the target; an entry refused on the way leaves no
//!   file. Bytes equal to the file already there are compared from that temporary file, which
//!   is then removed. An archive inside the archive is streamed into an unnamed scratch file in
//!   the root and unpacked from there. Only `.loads` files (64 KiB at most each) are held in
//!   memory, until the end.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::gzip::GzReader;
use super::tar;
use super::zip::{self, Source};
use super::{is_image_name, is_loads_name, signed_body_offset};
use crate::fsutil;
use crate::fsutil::is_plain_name;

/// The largest entry we unpack (streamed to disk, never held in memory). Phone images are a
/// few MB; the largest known (99xx) are tens of MB.
const ENTRY_LIMIT: u64 = 256 << 20;

/// The most a `.loads` entry may hold: it is a signed list of a few image names (about 1
/// KB); each is held in memory until the archive's end, so a big one would cost RAM
/// (field-evidence.md §4: a 1.5 MB zip held 1.5 GB).
const LOADS_LIMIT: u64 = 64 << 10;

/// The most one import unpacks in all (written, compared with what is there, held, or put in
/// a scratch file): Cisco's largest 79xx packages unpack to some tens of MB.
const TOTAL_LIMIT: u64 = 1 << 30;

/// How far into a signed package the archive may start.
const SNIFF_LEN: usize = 64 << 10;

/// What an import did, entry by entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Files written into the TFTP root (base names).
    pub written: Vec<String>,
    /// Files already there with the same bytes (base names).
    pub unchanged: Vec<String>,
    /// Entries not written, with the reason (entry names as stored in the archive).
    pub refused: Vec<(String, String)>,
    /// Entries that are not firmware (entry names as stored in the archive).
    pub skipped: Vec<String>,
}

/// Why an archive could not be imported.
#[derive(Debug)]
pub enum ImportError {
    /// The archive could not be opened or read.
    Read { archive: PathBuf, source: io::Error },
    /// Not a zip, tar, tar.gz or signed package.
    UnknownFormat { archive: PathBuf },
    /// The archive is damaged. `written` lists the images written before the damage showed
    /// (each one complete; the archive's `.loads` files were held back).
    Damaged {
        archive: PathBuf,
        reason: String,
        written: Vec<String>,
    },
    /// The TFTP root is missing or not a directory.
    Root { root: PathBuf, source: io::Error },
    /// A file in the TFTP root could not be read or written.
    Write { file: PathBuf, source: io::Error },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Read { archive, source } => {
                write!(
                    f,
                    "{}: cannot read: {}",
                    archive.display(),
                    crate::fsutil::plain(source)
                )
            }
            ImportError::UnknownFormat { archive } => write!(
                f,
                "{}: not a firmware package (a zip, tar, tar.gz, .cop or .cop.sgn)",
                archive.display()
            ),
            ImportError::Damaged {
                archive,
                reason,
                written,
            } => {
                write!(f, "{}: damaged archive: {reason}", archive.display())?;
                if !written.is_empty() {
                    write!(
                        f,
                        " (written before the damage showed: {}; no .loads file was written)",
                        written.join(", ")
                    )?;
                }
                Ok(())
            }
            ImportError::Root { root, source } => {
                write!(
                    f,
                    "tftp root {}: {}",
                    root.display(),
                    crate::fsutil::plain(source)
                )
            }
            ImportError::Write { file, source } => {
                write!(
                    f,
                    "cannot write {}: {}",
                    file.display(),
                    crate::fsutil::plain(source)
                )
            }
        }
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImportError::Read { source, .. }
            | ImportError::Root { source, .. }
            | ImportError::Write { source, .. } => Some(source),
            ImportError::UnknownFormat { .. } | ImportError::Damaged { .. } => None,
        }
    }
}

/// Unpacks the firmware of package `archive` into `root`. See the module documentation.
pub fn import(archive: &Path, root: &Path, force: bool) -> Result<ImportReport, ImportError> {
    let root_error = |source| ImportError::Root {
        root: root.to_path_buf(),
        source,
    };
    if !fs::metadata(root).map_err(root_error)?.is_dir() {
        return Err(root_error(io::Error::other("not a directory")));
    }
    let read_error = |source| ImportError::Read {
        archive: archive.to_path_buf(),
        source,
    };
    let mut file = File::open(archive).map_err(read_error)?;
    let name = archive
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut sink = Sink {
        root,
        force,
        report: ImportReport::default(),
        placed: Vec::new(),
        held: Vec::new(),
        total: 0,
    };
    let result = unpack(&mut file, &name, &mut sink, 0, "").and_then(|()| sink.write_held());
    match result {
        Ok(()) => Ok(sink.report),
        Err(Failure::Unknown) => Err(ImportError::UnknownFormat {
            archive: archive.to_path_buf(),
        }),
        Err(Failure::Damaged(reason)) => Err(ImportError::Damaged {
            archive: archive.to_path_buf(),
            reason,
            written: sink.report.written,
        }),
        Err(Failure::Read(source)) => Err(read_error(source)),
        Err(Failure::Write(file, source)) => Err(ImportError::Write { file, source }),
    }
}

/// Why unpacking stopped.
#[derive(Debug)]
enum Failure {
    Unknown,
    Damaged(String),
    Read(io::Error),
    Write(PathBuf, io::Error),
}

/// Why one entry's bytes could not be had.
enum EntryFailure {
    /// Only this entry is affected: it is refused with this reason.
    Refuse(String),
    /// The archive cannot be read further.
    Stop(Failure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Directory,
    Symlink,
    HardLink,
    Special,
    Unsupported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    Tar { offset: u64, gzip: bool },
}

/// Finds the archive in `reader`: at its start, after a `.sgn` header, or (for names ending
/// in `.sgn`, or after a header) at the first gzip magic.
fn sniff(reader: &mut dyn Source, name: &str) -> Result<Format, Failure> {
    reader.seek(SeekFrom::Start(0)).map_err(Failure::Read)?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    Read::take(&mut *reader, SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(Failure::Read)?;
    let at = |offset: usize| head.get(offset..).unwrap_or_default();
    let kind_at = |offset: usize| {
        let bytes = at(offset);
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Some(Format::Zip)
        } else if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
            Some(Format::Tar {
                offset: offset as u64,
                gzip: true,
            })
        } else if tar::is_header(bytes) {
            Some(Format::Tar {
                offset: offset as u64,
                gzip: false,
            })
        } else {
            None
        }
    };
    if let Some(format) = kind_at(0) {
        return Ok(format);
    }
    let signed = signed_body_offset(&head);
    if let Some(format) = signed.and_then(kind_at) {
        return Ok(format);
    }
    if signed.is_some() || name.to_ascii_lowercase().ends_with(".sgn") {
        if let Some(offset) = head.windows(3).position(|w| w == [0x1f, 0x8b, 0x08]) {
            return Ok(Format::Tar {
                offset: offset as u64,
                gzip: true,
            });
        }
    }
    // A zip after some prefix (a self-extractor, a wrapper we do not know).
    if zip::looks_like_zip(reader).map_err(Failure::Read)? {
        return Ok(Format::Zip);
    }
    Err(Failure::Unknown)
}

fn unpack(
    reader: &mut dyn Source,
    name: &str,
    sink: &mut Sink<'_>,
    depth: u8,
    label: &str,
) -> Result<(), Failure> {
    match sniff(reader, name)? {
        Format::Zip => unpack_zip(reader, sink, depth, label),
        Format::Tar { offset, gzip } => {
            reader
                .seek(SeekFrom::Start(offset))
                .map_err(Failure::Read)?;
            if !gzip {
                return unpack_tar(&mut BufReader::new(reader), sink, depth, label);
            }
            // Check the whole gzip stream (deflate data, CRC, length) before writing a byte.
            let mut check = GzReader::new(BufReader::new(&mut *reader))
                .map_err(|err| stream_failure(err, "gzip"))?;
            io::copy(&mut check, &mut io::sink()).map_err(|err| stream_failure(err, "gzip"))?;
            reader
                .seek(SeekFrom::Start(offset))
                .map_err(Failure::Read)?;
            let mut body =
                GzReader::new(BufReader::new(reader)).map_err(|err| stream_failure(err, "gzip"))?;
            unpack_tar(&mut body, sink, depth, label)
        }
    }
}

/// An error from a compressed or archived stream: damage, unless the disk itself failed.
fn stream_failure(err: io::Error, what: &str) -> Failure {
    match err.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::InvalidData
        | io::ErrorKind::InvalidInput
        | io::ErrorKind::Other => Failure::Damaged(format!("{what}: {err}")),
        _ => Failure::Read(err),
    }
}

fn unpack_tar(
    reader: &mut dyn Read,
    sink: &mut Sink<'_>,
    depth: u8,
    label: &str,
) -> Result<(), Failure> {
    let mut archive = tar::Reader::new(reader);
    while let Some(entry) = archive
        .next_entry()
        .map_err(|err| stream_failure(err, "tar"))?
    {
        let kind = match entry.kind {
            tar::Kind::File => Kind::File,
            tar::Kind::Directory => Kind::Directory,
            tar::Kind::Symlink => Kind::Symlink,
            tar::Kind::HardLink => Kind::HardLink,
            tar::Kind::Special => Kind::Special,
            tar::Kind::Unsupported => Kind::Unsupported,
        };
        let Some(wanted) = sink.admit(&entry.path, kind, entry.size, depth, label) else {
            continue;
        };
        // A tar stream cannot go on past a damaged entry.
        sink.take(wanted, &mut archive.data(), &|err| {
            EntryFailure::Stop(stream_failure(err, "tar"))
        })?;
    }
    Ok(())
}

fn unpack_zip(
    reader: &mut dyn Source,
    sink: &mut Sink<'_>,
    depth: u8,
    label: &str,
) -> Result<(), Failure> {
    let list = zip::entries(reader).map_err(|err| stream_failure(err, "zip"))?;
    for entry in &list {
        let kind = match entry.kind {
            zip::Kind::File => Kind::File,
            zip::Kind::Directory => Kind::Directory,
            zip::Kind::Symlink => Kind::Symlink,
            zip::Kind::Special => Kind::Special,
        };
        let Some(wanted) = sink.admit(&entry.name, kind, entry.size, depth, label) else {
            continue;
        };
        let mut data = match zip::open(reader, entry, wanted.limit) {
            Ok(data) => data,
            Err(err) => match zip_failure(err) {
                EntryFailure::Refuse(reason) => {
                    sink.refuse(&wanted.label, reason);
                    continue;
                }
                EntryFailure::Stop(failure) => return Err(failure),
            },
        };
        // Each zip entry stands alone: a damaged one is refused, the next one is read.
        sink.take(wanted, &mut data, &|err| {
            zip_failure(zip::stream_error(err))
        })?;
    }
    Ok(())
}

fn zip_failure(err: zip::EntryError) -> EntryFailure {
    match err {
        zip::EntryError::Unsupported(reason) => EntryFailure::Refuse(reason),
        zip::EntryError::Damaged(reason) => EntryFailure::Refuse(format!("damaged: {reason}")),
        zip::EntryError::TooLarge => EntryFailure::Refuse(too_large(ENTRY_LIMIT)),
        zip::EntryError::Io(err) => EntryFailure::Stop(Failure::Read(err)),
    }
}

fn too_much() -> String {
    format!(
        "the package would unpack to more than {} MiB",
        TOTAL_LIMIT >> 20
    )
}

fn too_large(limit: u64) -> String {
    if limit >= 1 << 20 {
        format!("larger than {} MiB", limit >> 20)
    } else {
        format!("larger than {} KiB", limit >> 10)
    }
}

/// Where entries go: the TFTP root, and the report.
struct Sink<'a> {
    root: &'a Path,
    force: bool,
    report: ImportReport,
    /// Base names placed by this import, with the length and fingerprint of their bytes (a
    /// few dozen: a list is enough).
    placed: Vec<(String, (u64, u64))>,
    /// `.loads` files waiting for the archive's end: base name, bytes, entry label.
    held: Vec<(String, Vec<u8>, String)>,
    /// Bytes unpacked so far (written, compared and held), against [`TOTAL_LIMIT`].
    total: u64,
}

/// An entry whose bytes are wanted: [`Sink::admit`] says so, [`Sink::take`] reads them.
struct Wanted {
    /// The entry's name for the report.
    label: String,
    base: String,
    /// An archive inside the archive.
    nested: bool,
    /// The most its bytes may be.
    limit: u64,
}

/// Passes bytes through, fingerprinting them.
struct Fingerprinting<'r> {
    inner: &'r mut dyn Read,
    print: fsutil::Fingerprint,
}

impl Read for Fingerprinting<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.print.update(&out[..n]);
        Ok(n)
    }
}

impl Sink<'_> {
    fn refuse(&mut self, label: &str, reason: impl Into<String>) {
        self.report.refused.push((label.to_string(), reason.into()));
    }

    /// Decides, from its header, whether an entry's bytes are wanted; `None` when it is
    /// refused or skipped (and said so in the report).
    fn admit(
        &mut self,
        path: &[u8],
        kind: Kind,
        size: u64,
        depth: u8,
        prefix: &str,
    ) -> Option<Wanted> {
        let label = format!("{prefix}{}", String::from_utf8_lossy(path));
        let Ok(path) = std::str::from_utf8(path) else {
            self.refuse(&label, "name is not valid utf-8");
            return None;
        };
        if let Err(reason) = check_path(path) {
            self.refuse(&label, reason);
            return None;
        }
        let refusal = match kind {
            Kind::File => None,
            Kind::Directory => return None,
            Kind::Symlink => Some("symbolic link"),
            Kind::HardLink => Some("hard link"),
            Kind::Special => Some("device, fifo or socket"),
            Kind::Unsupported => Some("unsupported entry type"),
        };
        if let Some(reason) = refusal {
            self.refuse(&label, reason);
            return None;
        }
        let base = base_name(path)?;
        let nested = is_archive_name(base);
        let wanted = if nested {
            depth == 0
        } else {
            is_firmware_name(base)
        };
        if !wanted || !is_plain_name(base) {
            self.report.skipped.push(label);
            return None;
        }
        let limit = if is_loads_name(base) {
            LOADS_LIMIT
        } else {
            ENTRY_LIMIT
        };
        if size > limit {
            self.refuse(&label, too_large(limit));
            return None;
        }
        if self.total.saturating_add(size) > TOTAL_LIMIT {
            self.refuse(&label, too_much());
            return None;
        }
        Some(Wanted {
            label,
            base: base.to_string(),
            nested,
            limit,
        })
    }

    /// Reads a wanted entry's bytes from `data` and puts them where they go: an image
    /// straight into a temporary file in the root, a nested archive into a scratch file, a
    /// `.loads` file into memory until the archive's end. `failed` says what a read error
    /// means for the entry or the archive.
    fn take(
        &mut self,
        wanted: Wanted,
        data: &mut dyn Read,
        failed: &dyn Fn(io::Error) -> EntryFailure,
    ) -> Result<(), Failure> {
        let Wanted {
            label,
            base,
            nested,
            limit,
        } = wanted;
        let mut data = Fingerprinting {
            inner: data,
            print: fsutil::Fingerprint::new(),
        };
        if nested {
            let mut file = fsutil::anonymous_file(self.root)
                .map_err(|err| Failure::Write(self.root.to_path_buf(), err))?;
            if self
                .stream(&mut data, &mut file, self.root, limit, &label, failed)?
                .is_none()
            {
                return Ok(());
            }
            return self.nested(&base, &mut file, &label);
        }
        if is_loads_name(&base) {
            let mut bytes = Vec::new();
            if self
                .stream(&mut data, &mut bytes, self.root, limit, &label, failed)?
                .is_some()
            {
                self.held.push((base, bytes, label));
            }
            return Ok(());
        }
        let target = self.root.join(&base);
        if self.placed_print(&base).is_some() {
            // Only its fingerprint is needed, to compare with the one placed.
            let Some(len) =
                self.stream(&mut data, &mut io::sink(), &target, limit, &label, failed)?
            else {
                return Ok(());
            };
            self.already_placed(&base, &label, (len, data.print.value()));
            return Ok(());
        }
        let mut temp = fsutil::TempFile::new(&target, 0o644)
            .map_err(|err| Failure::Write(target.clone(), err))?;
        let Some(len) = self.stream(&mut data, temp.file(), &target, limit, &label, failed)? else {
            return Ok(());
        };
        self.place(&base, &label, temp, (len, data.print.value()))
    }

    /// Copies an entry's bytes to `out`, at most `limit` of them and no more than
    /// [`TOTAL_LIMIT`] allows, and counts them in the total. `None` when the entry was
    /// refused; `path` names the file being written for a write error.
    fn stream(
        &mut self,
        data: &mut dyn Read,
        out: &mut dyn Write,
        path: &Path,
        limit: u64,
        label: &str,
        failed: &dyn Fn(io::Error) -> EntryFailure,
    ) -> Result<Option<u64>, Failure> {
        let room = TOTAL_LIMIT.saturating_sub(self.total);
        match fsutil::copy_at_most(data, out, limit.min(room)) {
            Ok(len) => {
                self.total += len;
                Ok(Some(len))
            }
            Err(fsutil::CopyError::TooLarge) => {
                let reason = if limit <= room {
                    too_large(limit)
                } else {
                    too_much()
                };
                self.refuse(label, reason);
                Ok(None)
            }
            Err(fsutil::CopyError::Read(err)) => match failed(err) {
                EntryFailure::Refuse(reason) => {
                    self.refuse(label, reason);
                    Ok(None)
                }
                EntryFailure::Stop(failure) => Err(failure),
            },
            Err(fsutil::CopyError::Write(err)) => Err(Failure::Write(path.to_path_buf(), err)),
        }
    }

    /// An archive inside the archive (`P0S3-8-12-00.tar` in a zip), in a scratch file:
    /// unpacked in place, one level deep. When it is damaged it is refused as a whole entry;
    /// images already written from it stay, its `.loads` files are dropped.
    fn nested(&mut self, base: &str, file: &mut File, label: &str) -> Result<(), Failure> {
        let held_before = self.held.len();
        match unpack(file, base, self, 1, &format!("{label}!")) {
            Ok(()) => Ok(()),
            Err(Failure::Unknown) => {
                self.refuse(label, "not an archive");
                Ok(())
            }
            Err(Failure::Damaged(reason)) => {
                self.held.truncate(held_before);
                self.refuse(label, format!("damaged archive: {reason}"));
                Ok(())
            }
            Err(failure) => Err(failure),
        }
    }

    /// Writes `.loads` files held back until every image of the archive was placed.
    fn write_held(&mut self) -> Result<(), Failure> {
        for (base, data, label) in std::mem::take(&mut self.held) {
            let print = (data.len() as u64, fsutil::fingerprint(&data));
            if self.already_placed(&base, &label, print) {
                continue;
            }
            let target = self.root.join(&base);
            let write_failure = |err| Failure::Write(target.clone(), err);
            let mut temp = fsutil::TempFile::new(&target, 0o644).map_err(write_failure)?;
            temp.file().write_all(&data).map_err(write_failure)?;
            self.place(&base, &label, temp, print)?;
        }
        Ok(())
    }

    /// The length and fingerprint of the bytes this import placed at `base`, if it did.
    fn placed_print(&self, base: &str) -> Option<(u64, u64)> {
        self.placed
            .iter()
            .find(|(name, _)| name == base)
            .map(|(_, print)| *print)
    }

    /// Whether this import already placed a file at `base`; an entry of the same name with
    /// other bytes is refused.
    fn already_placed(&mut self, base: &str, label: &str, print: (u64, u64)) -> bool {
        let Some(previous) = self.placed_print(base) else {
            return false;
        };
        if previous != print {
            self.refuse(
                label,
                "another entry of this archive has the same file name",
            );
        }
        true
    }

    /// Puts the bytes of `temp` (length and fingerprint `print`) at `root/base` unless a
    /// different file is there (and not `force`). When they are not put there, `temp` is
    /// dropped, which removes it.
    fn place(
        &mut self,
        base: &str,
        label: &str,
        mut temp: fsutil::TempFile,
        print: (u64, u64),
    ) -> Result<(), Failure> {
        let target = self.root.join(base);
        let write_failure = |err| Failure::Write(target.clone(), err);
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_file() => {
                let same = meta.len() == print.0
                    && fsutil::same_contents(temp.file(), &target).map_err(write_failure)?;
                if same {
                    self.report.unchanged.push(base.to_string());
                    self.placed.push((base.to_string(), print));
                    return Ok(());
                }
                if !self.force {
                    self.refuse(
                        label,
                        format!("{base} is already in the tftp root with other contents (force replaces it)"),
                    );
                    return Ok(());
                }
            }
            Ok(_) => {
                self.refuse(
                    label,
                    format!("{base} is in the tftp root and is not a regular file"),
                );
                return Ok(());
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(write_failure(err)),
        }
        temp.commit().map_err(write_failure)?;
        self.report.written.push(base.to_string());
        self.placed.push((base.to_string(), print));
        Ok(())
    }
}

/// Why an entry's path may not be used, if it may not.
fn check_path(path: &str) -> Result<(), &'static str> {
    let bytes = path.as_bytes();
    if path.is_empty() {
        return Err("empty name");
    }
    if path.contains('\0') {
        return Err("name contains a nul byte");
    }
    if path.starts_with(['/', '\\'])
        || (bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic())
    {
        return Err("absolute path");
    }
    if path.split(['/', '\\']).any(|component| component == "..") {
        return Err("path with a .. component");
    }
    Ok(())
}

/// The last component of an entry path; `None` for a path made only of separators and dots.
fn base_name(path: &str) -> Option<&str> {
    path.split(['/', '\\'])
        .rfind(|component| !component.is_empty() && *component != ".")
}

/// A package inside a package.
fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".zip", ".tar", ".tar.gz", ".tgz", ".cop", ".cop.sgn"]
        .iter()
        .any(|ext| lower.ends_with(ext) && lower.len() > ext.len())
}

/// A file the phones fetch: a `.loads` file or an image.
fn is_firmware_name(name: &str) -> bool {
    !is_archive_name(name) && (is_loads_name(name) || is_image_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths() {
        // (path, accepted, base name)
        let table: &[(&str, Result<(), &str>, Option<&str>)] = &[
            (
                "SIP41.9-4-2SR3-1S.loads",
                Ok(()),
                Some("SIP41.9-4-2SR3-1S.loads"),
            ),
            (
                "cmterm-7941_7961-sip.9-3-1SR1-1/apps41.9-3-1ES9.sbn",
                Ok(()),
                Some("apps41.9-3-1ES9.sbn"),
            ),
            (
                "./jar11sip.9-4-2ES9.sbn",
                Ok(()),
                Some("jar11sip.9-4-2ES9.sbn"),
            ),
            (
                "firmware\\dsp41.9-3-1ES9.sbn",
                Ok(()),
                Some("dsp41.9-3-1ES9.sbn"),
            ),
            ("dir/", Ok(()), Some("dir")),
            ("./", Ok(()), None),
            ("../../etc/x", Err("path with a .. component"), Some("x")),
            (
                "a/../../b.sbn",
                Err("path with a .. component"),
                Some("b.sbn"),
            ),
            (
                "..\\..\\evil.sbn",
                Err("path with a .. component"),
                Some("evil.sbn"),
            ),
            ("/abs/x", Err("absolute path"), Some("x")),
            ("\\abs\\x", Err("absolute path"), Some("x")),
            ("C:\\tftp\\x.sbn", Err("absolute path"), Some("x.sbn")),
            ("", Err("empty name"), None),
            ("a\0b", Err("name contains a nul byte"), Some("a\0b")),
            ("..sbn", Ok(()), Some("..sbn")),
        ];
        for (path, accepted, base) in table {
            assert_eq!(
                (check_path(path), base_name(path)),
                (*accepted, *base),
                "{path:?}"
            );
        }
    }

    #[test]
    fn firmware_and_archive_names() {
        // (name, firmware, archive)
        let table = [
            ("SIP41.9-4-2SR3-1S.loads", true, false),
            ("term41.default.loads", true, false),
            ("apps41.9-4-2ES26.sbn", true, false),
            ("P0S3-8-12-00.sb2", true, false),
            ("SIP69xx.9-4-1-3.zz.sgn", true, false),
            ("cmterm-7911_7906-sccp.8-5-2.cop.sgn", false, true),
            ("cmterm-7941_7961-sip.9-3-1SR1-1.zip", false, true),
            ("P0S3-8-12-00.tar", false, true),
            ("x.TGZ", false, true),
            ("copstart.sh", false, false),
            ("load115.txt", false, false),
            (".zip", false, false),
        ];
        for (name, firmware, archive) in table {
            assert_eq!(
                (is_firmware_name(name), is_archive_name(name)),
                (firmware, archive),
                "{name}"
            );
        }
    }

    #[test]
    fn tar_header_detection() {
        let mut header = ::tar::Header::new_ustar();
        header.set_path("a.sbn").unwrap();
        header.set_size(0);
        header.set_cksum();
        assert!(tar::is_header(header.as_bytes()));
        let mut old = ::tar::Header::new_old();
        old.set_path("a.sbn").unwrap();
        old.set_size(0);
        old.set_cksum();
        assert!(tar::is_header(old.as_bytes()));
        let mut bad = *old.as_bytes();
        bad[0] ^= 1;
        assert!(!tar::is_header(&bad));
        assert!(!tar::is_header(&[0u8; 512]));
        assert!(!tar::is_header(b"short"));
    }
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod scenario_tests;
