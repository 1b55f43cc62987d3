//! Lease journals: isc-dhcp's `dhcpd.leases` and Kea's memfile CSV, read incrementally.
//!
//! Both servers append a record per lease event and periodically rewrite the file (isc: a
//! new file renamed over the old one, `dhcpd.leases~` kept; Kea: the main file renamed to
//! `.1`, a fresh one started, the compacted result left in `.2`). So:
//! - appended bytes are read and parsed as they come: the cost of an event is the size of
//!   what was added, not of the file;
//! - when the file is replaced (new inode) or shrinks, it is read again from the start and
//!   the lease table rebuilt;
//! - what reaches the engine is the *difference* between the lease table before and after a
//!   read ([`LeaseTable`]), so a rewrite that changes nothing announces nothing.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::event::Observation;
use crate::parse::isc_leases::{self, IscLease};
use crate::parse::kea_leases::{KeaCsv, KeaLease};
use crate::parse::ParseError;

use super::leases::{LeaseRecord, LeaseTable};

/// Longest run of bytes held while waiting for the end of a record (a lease block is well
/// under 1 KiB; a writer that never ends its record must not grow memory).
const MAX_PENDING: usize = 256 * 1024;

/// Bytes appended to a file since the last read.
#[derive(Debug)]
struct AppendReader {
    path: PathBuf,
    file: Option<(File, (u64, u64))>,
    offset: u64,
}

impl AppendReader {
    fn new(path: &Path) -> AppendReader {
        AppendReader {
            path: path.to_path_buf(),
            file: None,
            offset: 0,
        }
    }

    /// Appends what is new to `out`. Returns true when reading started over from the
    /// beginning of a new or shrunk file (the caller rebuilds from scratch).
    fn read(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        let metadata = match fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            // Between a rewrite's unlink and rename; the rename brings an event.
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(err) => return Err(err),
        };
        let identity = (metadata.dev(), metadata.ino());
        let mut restarted = false;
        if self.file.as_ref().map(|(_, id)| *id) != Some(identity) || metadata.len() < self.offset {
            self.file = Some((File::open(&self.path)?, identity));
            self.offset = 0;
            restarted = true;
        }
        let (file, _) = self.file.as_mut().expect("opened above");
        file.seek(SeekFrom::Start(self.offset))?;
        let n_read = file.read_to_end(out)?;
        self.offset += n_read as u64;
        Ok(restarted)
    }
}

/// The longest prefix of `bytes` that is text, as text (invalid bytes replaced), and how
/// many bytes it covers; an incomplete character at the end is left for the next read.
fn text_prefix(bytes: &[u8]) -> (String, usize) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), bytes.len()),
        Err(err) if err.error_len().is_none() => {
            let valid = err.valid_up_to();
            (String::from_utf8_lossy(&bytes[..valid]).into_owned(), valid)
        }
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), bytes.len()),
    }
}

/// isc-dhcp-server's `dhcpd.leases`.
#[derive(Debug)]
pub struct IscJournal {
    reader: AppendReader,
    /// Bytes read but not yet parsed: the start of a block still being written.
    pending: Vec<u8>,
    /// The last block for each address.
    by_ip: HashMap<Ipv4Addr, IscLease>,
    table: LeaseTable,
}

impl IscJournal {
    /// A journal source for `path`.
    pub fn new(path: &Path) -> IscJournal {
        IscJournal {
            reader: AppendReader::new(path),
            pending: Vec::new(),
            by_ip: HashMap::new(),
            table: LeaseTable::default(),
        }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.reader.path
    }

    /// Reads what was appended (or the whole file after a rewrite) and returns the lease
    /// changes and the bad blocks.
    pub fn read(&mut self, now: i64) -> io::Result<(Vec<Observation>, Vec<ParseError>)> {
        let mut fresh = Vec::new();
        if self.reader.read(&mut fresh)? {
            self.pending.clear();
            self.by_ip.clear();
        }
        self.pending.extend_from_slice(&fresh);
        let (text, n_text_bytes) = text_prefix(&self.pending);
        let (parsed, consumed) = isc_leases::parse_incremental(&text);
        // `consumed` counts bytes of `text`, which equals the bytes of `pending` unless
        // invalid UTF-8 was replaced; then everything up to `n_text_bytes` is dropped.
        let drop = if text.len() == n_text_bytes {
            consumed
        } else if consumed == text.len() {
            n_text_bytes
        } else {
            0
        };
        self.pending.drain(..drop);
        if self.pending.len() > MAX_PENDING {
            self.pending.clear();
        }
        for lease in parsed.items {
            self.by_ip.insert(lease.ip, lease);
        }
        let current = self.by_ip.values().filter_map(|lease| {
            let active = matches!(lease.binding_state.as_str(), "active" | "backup");
            Some(LeaseRecord {
                mac: lease.mac.filter(|_| active)?,
                ip: lease.ip,
                hostname: lease.hostname.clone(),
                vendor_class: lease.vendor_class.clone(),
                expires: lease.ends.unwrap_or(0),
            })
        });
        Ok((self.table.update(current, now), parsed.errors))
    }
}

/// Kea's memfile lease CSV, with the `.2` file its lease-file cleanup leaves behind.
#[derive(Debug)]
pub struct KeaJournal {
    reader: AppendReader,
    /// `<file>.2`: the compacted leases of the last cleanup.
    compacted: PathBuf,
    /// Identity and size of `.2` when last read; a change means a cleanup ran.
    compacted_seen: Option<(u64, u64, u64)>,
    csv: KeaCsv,
    /// A line still being written.
    pending: Vec<u8>,
    /// Lines of the main file read so far (for error line numbers).
    n_lines: usize,
    /// The last row for each address.
    by_ip: HashMap<Ipv4Addr, KeaLease>,
    table: LeaseTable,
}

impl KeaJournal {
    /// A journal source for `path` (and `path.2`).
    pub fn new(path: &Path) -> KeaJournal {
        let mut compacted = path.as_os_str().to_owned();
        compacted.push(".2");
        KeaJournal {
            reader: AppendReader::new(path),
            compacted: PathBuf::from(compacted),
            compacted_seen: None,
            csv: KeaCsv::default(),
            pending: Vec::new(),
            n_lines: 0,
            by_ip: HashMap::new(),
            table: LeaseTable::default(),
        }
    }

    /// The main file.
    pub fn path(&self) -> &Path {
        &self.reader.path
    }

    /// The other file whose changes matter (`.2`).
    pub fn compacted_path(&self) -> &Path {
        &self.compacted
    }

    /// Reads what changed and returns the lease changes and the bad rows.
    pub fn read(&mut self, now: i64) -> io::Result<(Vec<Observation>, Vec<ParseError>)> {
        let mut errors = Vec::new();
        let compacted_now = fs::metadata(&self.compacted)
            .ok()
            .map(|m| (m.dev(), m.ino(), m.len()));
        let mut fresh = Vec::new();
        let restarted = self.reader.read(&mut fresh)?;
        if restarted || compacted_now != self.compacted_seen {
            // A cleanup ran or the file was replaced: start from `.2`, then the main file.
            self.compacted_seen = compacted_now;
            self.by_ip.clear();
            if compacted_now.is_some() {
                let text = String::from_utf8_lossy(&fs::read(&self.compacted)?).into_owned();
                let parsed = crate::parse::kea_leases::parse(&text);
                errors.extend(parsed.errors);
                for lease in parsed.items {
                    self.by_ip.insert(lease.ip, lease);
                }
            }
            if !restarted {
                // Read the main file again from its start.
                self.reader = AppendReader::new(&self.reader.path.clone());
                fresh.clear();
                self.reader.read(&mut fresh)?;
            }
            self.csv = KeaCsv::default();
            self.pending.clear();
            self.n_lines = 0;
        }
        self.pending.extend_from_slice(&fresh);
        let complete = self
            .pending
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |end| end + 1);
        let text = String::from_utf8_lossy(&self.pending[..complete]).into_owned();
        self.pending.drain(..complete);
        if self.pending.len() > MAX_PENDING {
            self.pending.clear();
        }
        for line in text.lines() {
            self.n_lines += 1;
            match self.csv.feed_line(line, self.n_lines) {
                Ok(Some(lease)) => {
                    self.by_ip.insert(lease.ip, lease);
                }
                Ok(None) => {}
                Err(err) => errors.push(err),
            }
        }
        let current = self.by_ip.values().filter_map(|lease| {
            let active = lease.valid_lifetime > 0 && lease.state == 0;
            Some(LeaseRecord {
                mac: lease.mac.filter(|_| active)?,
                ip: lease.ip,
                hostname: lease.hostname.clone(),
                vendor_class: None,
                expires: lease.expire,
            })
        });
        Ok((self.table.update(current, now), errors))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

    fn summary(observations: &[Observation]) -> Vec<String> {
        let mut out: Vec<String> = observations
            .iter()
            .map(|observation| match observation {
                Observation::Lease(lease) => format!(
                    "lease {} {} {}",
                    lease.mac,
                    lease.ip,
                    lease.vendor_class.as_deref().unwrap_or("-")
                ),
                Observation::LeaseGone { mac, .. } => format!("gone {mac}"),
                Observation::Tftp(_) => unreachable!(),
            })
            .collect();
        out.sort();
        out
    }

    /// Replays the captured isc lab run the way dhcpd wrote it: appends while it runs, a
    /// rewrite by rename at restart. Appends are delivered in small pieces, as a reader
    /// woken in the middle of a write would see them.
    #[test]
    fn isc_captured_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dhcpd.leases");
        let mut journal = IscJournal::new(&path);
        let mut written: Vec<u8> = Vec::new();
        let mut steps = Vec::new();
        let mut names: Vec<_> = fs::read_dir(format!("{DATA}/isc-dhcpd/lease-snapshots"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for snapshot in names {
            let next = fs::read(&snapshot).unwrap();
            let mut observations = Vec::new();
            if next.starts_with(&written) {
                // dhcpd appended: deliver the new bytes in 37-byte pieces.
                for piece in next[written.len()..].chunks(37) {
                    fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .unwrap()
                        .write_all(piece)
                        .unwrap();
                    let (changes, errors) = journal.read(0).unwrap();
                    assert_eq!(errors, [], "{}", snapshot.display());
                    observations.extend(changes);
                }
            } else {
                // dhcpd rewrote the file: a new file renamed over the old one.
                let temp = dir.path().join("dhcpd.leases.new");
                fs::write(&temp, &next).unwrap();
                fs::rename(&temp, &path).unwrap();
                let (changes, errors) = journal.read(0).unwrap();
                assert_eq!(errors, []);
                observations.extend(changes);
            }
            written = next;
            steps.push(summary(&observations));
        }
        let vc1 = "Cisco Systems, Inc. IP Phone CP-7941G";
        let vc2 = "Cisco Systems, Inc. IP Phone CP-7940G";
        let lease1 = format!("lease 001B0C18BDC1 198.18.0.100 {vc1}");
        let lease2 = format!("lease 001B0C18BDC2 198.18.0.101 {vc2}");
        let expected: Vec<Vec<String>> = vec![
            vec![],                           // 01 start
            vec![lease1.clone()],             // 02 phone bound
            vec![lease2.clone()],             // 03 phone2 bound
            vec![],                           // 04 renew under 25 %: nothing written
            vec![],                           // 05 phone2 reboot: nothing written
            vec!["gone 001B0C18BDC1".into()], // 06 release
            vec!["gone 001B0C18BDC2".into()], // 07 release
            vec![lease1.clone()],             // 08 rebound
            vec![],                           // 09 stop
            vec![],                           // 10 restart: rewritten, nothing new
        ];
        assert_eq!(steps, expected);
    }

    /// Replays the captured Kea run: appended rows, a release row, the lease-file cleanup
    /// (main file renamed to .1, a fresh main file, the compacted .2), a restart.
    #[test]
    fn kea_captured_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kea-leases4.csv");
        let compacted = dir.path().join("kea-leases4.csv.2");
        let mut journal = KeaJournal::new(&path);
        let snapshots = format!("{DATA}/kea/lease-snapshots");
        let mut written: Vec<u8> = Vec::new();
        let mut steps = Vec::new();
        for step in [
            "01-start",
            "02-phone-bound",
            "03-phone2-bound",
            "04-phone-renew",
            "05-phone2-reboot",
            "06-phone-release",
            "07-phone2-release",
            "08-phone-rebound",
            "09-after-lfc",
            "10-after-stop",
            "11-after-restart",
        ] {
            let next = fs::read(format!("{snapshots}/{step}--kea-leases4.csv")).unwrap();
            let next_compacted = fs::read(format!("{snapshots}/{step}--kea-leases4.csv.2")).ok();
            if let Some(bytes) = &next_compacted {
                if fs::read(&compacted).ok().as_ref() != Some(bytes) {
                    // The cleanup: .1, fresh main file, then the compacted .2.
                    fs::rename(&path, dir.path().join("kea-leases4.csv.1")).unwrap();
                    fs::write(&path, &next).unwrap();
                    fs::write(&compacted, bytes).unwrap();
                    fs::remove_file(dir.path().join("kea-leases4.csv.1")).unwrap();
                    written = next.clone();
                }
            }
            if next.starts_with(&written) {
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap()
                    .write_all(&next[written.len()..])
                    .unwrap();
            }
            written = next;
            let (observations, errors) = journal.read(0).unwrap();
            assert_eq!(errors, [], "{step}");
            steps.push(summary(&observations));
        }
        let lease = |mac: &str, ip: &str| format!("lease {mac} {ip} -");
        let expected: Vec<Vec<String>> = vec![
            vec![],
            vec![lease("001B0C18BDC1", "198.18.0.100")],
            vec![lease("001B0C18BDC2", "198.18.0.101")],
            vec![lease("001B0C18BDC1", "198.18.0.100")], // renew: new expiry
            vec![lease("001B0C18BDC2", "198.18.0.101")],
            vec!["gone 001B0C18BDC1".into()],
            vec!["gone 001B0C18BDC2".into()],
            vec![lease("001B0C18BDC1", "198.18.0.102")], // a different address after release
            vec![],                                      // cleanup: same leases, nothing announced
            vec![],
            vec![],
        ];
        assert_eq!(steps, expected);
    }
}
