//! dnsmasq's lease file as a snapshot: re-read whole on every change and diffed.
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
use crate::parse::dnsmasq_leases;
use crate::parse::ParseError;

/// A followed dnsmasq lease file.
#[derive(Debug)]
pub struct LeaseSnapshot {
    path: PathBuf,
    /// The leases of the last complete read: MAC → (IP, hostname, expiry).
    last: HashMap<Mac, (Ipv4Addr, Option<String>, i64)>,
}

impl LeaseSnapshot {
    /// A snapshot source for `path`; nothing is read until [`LeaseSnapshot::read`].
    pub fn new(path: &Path) -> LeaseSnapshot {
        LeaseSnapshot {
            path: path.to_path_buf(),
            last: HashMap::new(),
        }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file; returns what changed since the last read and the bad lines.
    /// A missing file reads as "no change": dnsmasq never deletes its lease file.
    pub fn read(&mut self, now: i64) -> io::Result<(Vec<Observation>, Vec<ParseError>)> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok((Vec::new(), Vec::new()))
            }
            Err(err) => return Err(err),
        };
        let text = String::from_utf8_lossy(&bytes);
        let file = dnsmasq_leases::parse(&text);
        let mut observations = Vec::new();
        let mut current = HashMap::with_capacity(file.parsed.items.len());
        for lease in file.parsed.items {
            let entry = (lease.ip, lease.hostname.clone(), lease.expires);
            let changed = self.last.get(&lease.mac) != Some(&entry);
            if changed {
                observations.push(Observation::Lease(LeaseSeen {
                    mac: lease.mac,
                    ip: lease.ip,
                    hostname: lease.hostname,
                    vendor_class: None,
                    time: now,
                }));
            }
            current.insert(lease.mac, entry);
        }
        for (mac, (ip, _, _)) in &self.last {
            if !current.contains_key(mac) {
                observations.push(Observation::LeaseGone {
                    mac: *mac,
                    ip: *ip,
                    time: now,
                });
            }
        }
        self.last = current;
        Ok((observations, file.parsed.errors))
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
        let mut source = LeaseSnapshot::new(&path);
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
}
