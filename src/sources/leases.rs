//! Lease files as snapshots: re-read whole on every change and diffed ([`LeaseTable`]).
//!
//! dnsmasq's lease file and odhcpd's state file are rewritten whole on every change (odhcpd
//! by rename, dnsmasq in place).
//!
//! dnsmasq truncates the file and rewrites it in place (two IN_MODIFY per change, no
//! IN_CLOSE_WRITE, one `write` per line), so a read can catch it empty or half-written:
//! - a half-written last line is left out by the parser and comes with the next event;
//! - a lease missing from one read is not reported gone at once: it waits [`SETTLE_S`] for
//!   the file to settle ([`LeaseSnapshot::settle`], driven by the daemon's timer while a lease
//!   waits), so a partial read causes no gone/back churn. A vanished lease never removes a
//!   phone or its files: it only unbinds the IP, so the delay costs nothing.
//!
//! Only changes are reported: a lease whose IP and hostname are unchanged is not reported
//! again when dnsmasq rewrites the file for another client. For dnsmasq's file each read
//! parses only the lines that were not in the last read (a hash of every line is kept): a
//! 50,000-lease table rewritten for one new phone costs one parsed line, not 50,000
//! (BENCHMARKS.md, "Big lease table").

use std::collections::{HashMap, HashSet};
use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::event::{LeaseSeen, Observation};
use crate::mac::Mac;
use crate::parse::{dnsmasq_leases, odhcpd_leases, ParseError};

/// Seconds a lease missing from a snapshot waits before it is reported gone: dnsmasq's
/// in-place rewrite of a large file takes milliseconds; the next second is safe.
pub const SETTLE_S: i64 = 1;

/// An Fx-style hasher for keys that come from our own parsers (MACs, line hashes): SipHash's
/// resistance to chosen keys buys nothing there and cost a fifth of a big table's diff.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply carries only upwards; hashbrown picks buckets with the low bits, which
        // for MACs sharing an OUI would all be the same without this rotation.
        self.0.rotate_left(26)
    }
}

/// `HashMap`/`HashSet` state for [`FxHasher`].
pub type FxBuild = BuildHasherDefault<FxHasher>;

/// A 64-bit hash of a line's bytes, eight at a time.
fn line_hash(line: &[u8]) -> u64 {
    let mut hasher = FxHasher(line.len() as u64);
    hasher.write(line);
    // One more round so that lines differing only in their last bytes spread well.
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    hasher.0
}

/// One current lease, whatever file it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseRecord {
    /// The client.
    pub mac: Mac,
    /// Its address.
    pub ip: Ipv4Addr,
    /// Option 12.
    pub hostname: Option<String>,
    /// Option 60, where the file stores it (isc).
    pub vendor_class: Option<String>,
    /// Expiry (Unix seconds) or 0; a change is a renewal.
    pub expires: i64,
}

/// What a [`LeaseTable`] keeps of a lease: its address, to report it gone, and a digest of
/// the whole record, to see a change. The records themselves (two strings each) were 180 KB
/// of the idle heap with 1,000 phones (BENCHMARKS.md, "Router builds").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    ip: Ipv4Addr,
    digest: u64,
}

/// The current leases of one source, to report only what changed between two reads.
#[derive(Debug, Default)]
pub struct LeaseTable {
    last: HashMap<Mac, Held, FxBuild>,
    /// SipHash with this table's own random keys: a client cannot pick a hostname whose
    /// change the digest would miss.
    keys: std::hash::RandomState,
    /// Leases missing from the latest read, and since when: reported gone by
    /// [`LeaseTable::settle`] once they stay missing [`SETTLE_S`].
    missing: HashMap<Mac, i64, FxBuild>,
}

impl LeaseTable {
    fn held(&self, record: &LeaseRecord) -> Held {
        use std::hash::BuildHasher;
        Held {
            ip: record.ip,
            digest: self.keys.hash_one(record),
        }
    }

    /// Replaces the table with `current` and returns the differences: a `Lease` for every new
    /// or changed lease, a `LeaseGone` for every lease no longer there (journals, whose reads
    /// are never partial).
    pub fn update(
        &mut self,
        current: impl IntoIterator<Item = LeaseRecord>,
        now: i64,
    ) -> Vec<Observation> {
        let mut observations = Vec::new();
        let mut next = HashMap::with_capacity_and_hasher(self.last.len(), FxBuild::default());
        for record in current {
            let held = self.held(&record);
            next.insert(record.mac, held);
            if self.last.get(&record.mac) != Some(&held) {
                observations.push(lease_seen(record, now));
            }
        }
        for (mac, record) in &self.last {
            if !next.contains_key(mac) {
                observations.push(Observation::LeaseGone {
                    mac: *mac,
                    ip: record.ip,
                    time: now,
                });
            }
        }
        self.last = next;
        observations
    }

    /// Takes in the leases of one snapshot read given as what changed: `changed` (new or
    /// changed lines: a lease that was missing comes back as a new line), `present` (their
    /// MACs) and `vanished` (MACs of lines gone since the last read). New and changed leases
    /// are reported at once; a vanished one waits in `missing` until [`LeaseTable::settle`].
    fn apply(
        &mut self,
        changed: Vec<LeaseRecord>,
        present: &HashSet<Mac, FxBuild>,
        vanished: Vec<Mac>,
        now: i64,
    ) -> Vec<Observation> {
        let mut observations = Vec::new();
        if !self.missing.is_empty() {
            self.missing.retain(|mac, _| !present.contains(mac));
        }
        for record in changed {
            let held = self.held(&record);
            if self.last.get(&record.mac) != Some(&held) {
                self.last.insert(record.mac, held);
                observations.push(lease_seen(record, now));
            }
        }
        for mac in vanished {
            if !present.contains(&mac) && self.last.contains_key(&mac) {
                self.missing.entry(mac).or_insert(now);
            }
        }
        observations
    }

    /// Reports the leases missing for at least [`SETTLE_S`] at `now` as gone.
    pub fn settle(&mut self, now: i64) -> Vec<Observation> {
        let due: Vec<Mac> = self
            .missing
            .iter()
            .filter(|(_, since)| now - **since >= SETTLE_S)
            .map(|(mac, _)| *mac)
            .collect();
        let mut observations = Vec::new();
        for mac in due {
            self.missing.remove(&mac);
            if let Some(record) = self.last.remove(&mac) {
                observations.push(Observation::LeaseGone {
                    mac,
                    ip: record.ip,
                    time: now,
                });
            }
        }
        observations
    }

    /// When the oldest missing lease is due, if one waits.
    pub fn settle_at(&self) -> Option<i64> {
        self.missing.values().min().map(|since| since + SETTLE_S)
    }
}

fn lease_seen(record: LeaseRecord, now: i64) -> Observation {
    Observation::Lease(LeaseSeen {
        mac: record.mac,
        ip: record.ip,
        hostname: record.hostname,
        vendor_class: record.vendor_class,
        time: now,
    })
}

/// Which snapshot format a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotFormat {
    /// dnsmasq's `--dhcp-leasefile`.
    Dnsmasq,
    /// OpenWrt odhcpd's DHCPv4 state file.
    Odhcpd,
}

/// A lease file that is rewritten whole on every change (dnsmasq, odhcpd).
#[derive(Debug)]
pub struct LeaseSnapshot {
    path: PathBuf,
    format: SnapshotFormat,
    table: LeaseTable,
    /// dnsmasq: the hash of every line of the last read, with the read that last saw it and
    /// the MAC of the lease it held (`None`: a line that is no Ethernet lease or did not
    /// parse). Only the current lines are kept; the leases themselves are in the table.
    lines: HashMap<u64, (u64, Option<Mac>), FxBuild>,
    /// Reads so far (dnsmasq), to tell the lines of this read from the older ones.
    generation: u64,
}

impl LeaseSnapshot {
    /// A snapshot source for `path`; nothing is read until [`LeaseSnapshot::read`].
    pub fn new(path: &Path, format: SnapshotFormat) -> LeaseSnapshot {
        LeaseSnapshot {
            path: path.to_path_buf(),
            format,
            table: LeaseTable::default(),
            lines: HashMap::default(),
            generation: 0,
        }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file; returns what changed since the last read and the bad lines.
    /// A missing file reads as "no change": between odhcpd's unlink and rename, or before
    /// the server first writes it.
    pub fn read(&mut self, now: i64) -> io::Result<(Vec<Observation>, Vec<ParseError>)> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok((Vec::new(), Vec::new()))
            }
            Err(err) => return Err(err),
        };
        match self.format {
            SnapshotFormat::Dnsmasq => Ok(self.read_dnsmasq(&bytes, now)),
            SnapshotFormat::Odhcpd => {
                let text = String::from_utf8_lossy(&bytes);
                let parsed = odhcpd_leases::parse(&text);
                let records: Vec<LeaseRecord> = parsed
                    .items
                    .into_iter()
                    .filter(|lease| lease.valid_until != 0)
                    .map(|lease| LeaseRecord {
                        mac: lease.mac,
                        ip: lease.ip,
                        hostname: lease.hostname,
                        vendor_class: None,
                        expires: lease.valid_until,
                    })
                    .collect();
                // Replaced by rename: a read is never partial.
                Ok((self.table.update(records, now), parsed.errors))
            }
        }
    }

    /// dnsmasq's file: only lines not in the last read are parsed; a lease whose line went
    /// waits to be reported gone (see the module docs).
    fn read_dnsmasq(&mut self, bytes: &[u8], now: i64) -> (Vec<Observation>, Vec<ParseError>) {
        // Only complete lines: the last one may be half-written.
        let complete = match bytes.iter().rposition(|&b| b == b'\n') {
            Some(end) => &bytes[..=end],
            None => &[][..],
        };
        self.generation += 1;
        let generation = self.generation;
        let mut changed = Vec::new();
        let mut errors = Vec::new();
        for (index, line) in complete.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if line.starts_with(b"duid ") {
                // Everything after the server DUID is DHCPv6.
                break;
            }
            let hash = line_hash(line);
            if let Some(entry) = self.lines.get_mut(&hash) {
                entry.0 = generation;
                continue;
            }
            let text = String::from_utf8_lossy(line);
            let mac = match dnsmasq_leases::parse_line(&text) {
                Ok(Some(lease)) => {
                    changed.push(LeaseRecord {
                        mac: lease.mac,
                        ip: lease.ip,
                        hostname: lease.hostname,
                        vendor_class: None,
                        expires: lease.expires,
                    });
                    Some(lease.mac)
                }
                Ok(None) => None,
                Err(reason) => {
                    errors.push(ParseError {
                        line: index + 1,
                        reason,
                    });
                    None
                }
            };
            self.lines.insert(hash, (generation, mac));
        }
        // Lines not seen in this read went: their leases wait to be reported gone, unless
        // their MAC has a new line (a renewal, a new address).
        let mut vanished = Vec::new();
        self.lines.retain(|_, (seen, mac)| {
            if *seen == generation {
                return true;
            }
            vanished.extend(*mac);
            false
        });
        let present: HashSet<Mac, FxBuild> = changed.iter().map(|record| record.mac).collect();
        (self.table.apply(changed, &present, vanished, now), errors)
    }

    /// Reports the leases that stayed missing for [`SETTLE_S`] as gone.
    pub fn settle(&mut self, now: i64) -> Vec<Observation> {
        self.table.settle(now)
    }

    /// When [`LeaseSnapshot::settle`] has something to report, if anything waits.
    pub fn settle_at(&self) -> Option<i64> {
        self.table.settle_at()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOTS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/dnsmasq/lease-snapshots"
    );

    fn kinds(observations: &[Observation]) -> Vec<String> {
        observations
            .iter()
            .map(|observation| match observation {
                Observation::Lease(lease) => format!("lease {} {}", lease.mac, lease.ip),
                Observation::LeaseGone { mac, .. } => format!("gone {mac}"),
                Observation::Tftp(_) => unreachable!(),
            })
            .collect()
    }

    /// Replays the captured snapshots of the lab run in order, as dnsmasq rewrote the file.
    #[test]
    fn captured_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsmasq.leases");
        let mut source = LeaseSnapshot::new(&path, SnapshotFormat::Dnsmasq);
        assert_eq!(source.read(0).unwrap().0, []);
        let mut names: Vec<_> = fs::read_dir(SNAPSHOTS)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        let mut steps = Vec::new();
        for (n, snapshot) in names.into_iter().enumerate() {
            fs::copy(&snapshot, &path).unwrap();
            let now = 10 * n as i64;
            let (mut observations, errors) = source.read(now).unwrap();
            assert!(errors.is_empty());
            // A release is reported once the file has settled.
            observations.extend(source.settle(now + SETTLE_S));
            steps.push(kinds(&observations));
        }
        let expected: Vec<Vec<&str>> = vec![
            vec![],                                  // 01 start
            vec!["lease 001B0C18BDC1 198.18.0.151"], // 02 phone bound
            vec!["lease 001B0C18BDC2 198.18.0.152"], // 03 phone2 bound
            vec!["lease 001B0C18BDC1 198.18.0.151"], // 04 renew: expiry moved
            vec!["lease 001B0C18BDC2 198.18.0.152"], // 05 phone2 reboot
            vec!["gone 001B0C18BDC1"],               // 06 release
            vec!["gone 001B0C18BDC2"],               // 07 release
            vec!["lease 001B0C18BDC1 198.18.0.151"], // 08 rebound
            vec![],                                  // 09 after stop
            vec![],                                  // 10 after restart
        ];
        assert_eq!(steps, expected);
    }

    /// dnsmasq rewrites in place (`ftruncate`, then the whole file again: two `IN_MODIFY` per
    /// change, `captures/dnsmasq/lease-file-stat.log` and `leasedir-inotify.log`, formats.md
    /// "Write behaviour"): a read may catch the file empty or half-written. That is no release: the leases come back with the next
    /// read and nothing is reported; a lease really gone is reported once the file settled.
    #[test]
    fn partial_reads_cause_no_churn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsmasq.leases");
        let line = |n: u32| {
            format!(
                "1795252463 00:1b:0c:00:{:02x}:{:02x} 198.18.{}.{} * *\n",
                n / 256,
                n % 256,
                n / 200,
                n % 200 + 1
            )
        };
        let full: String = (0..500).map(line).collect();
        fs::write(&path, &full).unwrap();
        let mut source = LeaseSnapshot::new(&path, SnapshotFormat::Dnsmasq);
        assert_eq!(source.read(100).unwrap().0.len(), 500);
        // Caught truncated, then half-written (a cut line at the end), then whole again.
        for partial in ["", &full[..full.len() / 3]] {
            fs::write(&path, partial).unwrap();
            let (observations, errors) = source.read(100).unwrap();
            assert_eq!(observations, [], "a partial read reports nothing");
            assert_eq!(errors, []);
        }
        fs::write(&path, &full).unwrap();
        assert_eq!(source.read(100).unwrap().0, []);
        assert_eq!(source.settle(200), [], "nothing stayed missing");
        assert_eq!(source.settle_at(), None);
        // One lease released, one renewed: the renewal at once, the release after settling.
        let renewed = line(7).replacen("1795252463", "1795256063", 1);
        let next: String = (0..500)
            .filter(|&n| n != 3)
            .map(|n| if n == 7 { renewed.clone() } else { line(n) })
            .collect();
        fs::write(&path, next).unwrap();
        assert_eq!(
            kinds(&source.read(300).unwrap().0),
            ["lease 001B0C000007 198.18.0.8"]
        );
        assert_eq!(source.settle_at(), Some(300 + SETTLE_S));
        assert_eq!(source.settle(300), []);
        assert_eq!(kinds(&source.settle(300 + SETTLE_S)), ["gone 001B0C000003"]);
        assert_eq!(source.settle_at(), None);
    }

    /// The line memo holds the current lines only.
    #[test]
    fn the_line_memo_is_bounded_by_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnsmasq.leases");
        let mut source = LeaseSnapshot::new(&path, SnapshotFormat::Dnsmasq);
        for round in 0..20u32 {
            let text: String = (0..100)
                .map(|n| {
                    format!(
                        "{} 00:1b:0c:00:00:{n:02x} 198.18.0.{} * *\n",
                        1_795_252_463 + round,
                        n + 1
                    )
                })
                .collect();
            fs::write(&path, text).unwrap();
            source.read(i64::from(round)).unwrap();
        }
        assert_eq!(source.lines.len(), 100);
    }

    /// odhcpd replaces its state file by rename; both formats give the same leases.
    #[test]
    fn odhcpd_state_files() {
        for name in ["statefile-current", "statefile-older"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("odhcpd");
            let mut source = LeaseSnapshot::new(&path, SnapshotFormat::Odhcpd);
            let temp = dir.path().join("odhcpd.tmp");
            fs::copy(
                format!("{}/tests/data/odhcpd/{name}", env!("CARGO_MANIFEST_DIR")),
                &temp,
            )
            .unwrap();
            fs::rename(&temp, &path).unwrap();
            let (observations, errors) = source.read(0).unwrap();
            assert_eq!(errors, [], "{name}");
            let leases = kinds(&observations);
            assert!(
                leases.contains(&"lease 001B0C18BDC1 198.18.0.151".to_string()),
                "{name}: {leases:?}"
            );
            // Rewritten with the same contents: nothing new.
            fs::copy(&path, &temp).unwrap();
            fs::rename(&temp, &path).unwrap();
            assert_eq!(source.read(0).unwrap().0, []);
        }
    }
}
