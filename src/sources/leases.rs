//! Lease files as snapshots: re-read whole on every change and diffed ([`LeaseTable`]).
//!
//! dnsmasq's lease file and odhcpd's state file are rewritten whole on every change (odhcpd
//! by rename, dnsmasq in place).
//!
//! dnsmasq truncates the file and rewrites it in place (two IN_MODIFY per change, no
//! IN_CLOSE_WRITE), so a read can catch it empty or half-written. That is harmless here:
//! - a half-written last line is left out by the parser and comes with the next event;
//! - leases missing from a partial read show up as `LeaseGone` and come back as `Lease` on
//!   the next read. A vanished lease never removes a phone or its files: it only unbinds the IP.
//!
//! Only changes are reported: a lease whose IP and hostname are unchanged is not reported
//! again when dnsmasq rewrites the file for another client.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::event::{LeaseSeen, Observation};
use crate::mac::Mac;
use crate::parse::{dnsmasq_leases, odhcpd_leases, ParseError};

/// One current lease, whatever file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The current leases of one source, to report only what changed between two reads.
#[derive(Debug, Default)]
pub struct LeaseTable {
    last: HashMap<Mac, LeaseRecord>,
}

impl LeaseTable {
    /// Replaces the table with `current` and returns the differences: a `Lease` for every new
    /// or changed lease, a `LeaseGone` for every lease no longer there.
    pub fn update(
        &mut self,
        current: impl IntoIterator<Item = LeaseRecord>,
        now: i64,
    ) -> Vec<Observation> {
        let mut observations = Vec::new();
        let mut next = HashMap::with_capacity(self.last.len());
        for record in current {
            if self.last.get(&record.mac) != Some(&record) {
                observations.push(Observation::Lease(LeaseSeen {
                    mac: record.mac,
                    ip: record.ip,
                    hostname: record.hostname.clone(),
                    vendor_class: record.vendor_class.clone(),
                    time: now,
                }));
            }
            next.insert(record.mac, record);
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
}

impl LeaseSnapshot {
    /// A snapshot source for `path`; nothing is read until [`LeaseSnapshot::read`].
    pub fn new(path: &Path, format: SnapshotFormat) -> LeaseSnapshot {
        LeaseSnapshot {
            path: path.to_path_buf(),
            format,
            table: LeaseTable::default(),
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
        let text = String::from_utf8_lossy(&bytes);
        let (records, errors): (Vec<LeaseRecord>, Vec<ParseError>) = match self.format {
            SnapshotFormat::Dnsmasq => {
                let file = dnsmasq_leases::parse(&text);
                let records = file
                    .parsed
                    .items
                    .into_iter()
                    .map(|lease| LeaseRecord {
                        mac: lease.mac,
                        ip: lease.ip,
                        hostname: lease.hostname,
                        vendor_class: None,
                        expires: lease.expires,
                    })
                    .collect();
                (records, file.parsed.errors)
            }
            SnapshotFormat::Odhcpd => {
                let parsed = odhcpd_leases::parse(&text);
                let records = parsed
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
                (records, parsed.errors)
            }
        };
        Ok((self.table.update(records, now), errors))
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
        for snapshot in names {
            fs::copy(&snapshot, &path).unwrap();
            let (observations, errors) = source.read(0).unwrap();
            assert!(errors.is_empty());
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
