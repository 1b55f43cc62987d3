//! dnsmasq's lease file (`--dhcp-leasefile`; `/tmp/dhcp.leases` on OpenWrt).
//!
//! One lease per line, newest first, written by `lease_update_file()` in dnsmasq's
//! `src/lease.c`:
//!
//! ```text
//! <expiry epoch> <mac> <ip> <hostname|*> <client-id|*>
//! 1795252463 00:1b:0c:18:bd:c1 198.18.0.151 SEP001B0C18BDC1 01:00:1b:0c:18:bd:c1
//! ```
//!
//! - A non-Ethernet hardware address is written `<hwtype hex>-<mac>`; such lines are skipped
//!   (no phone has one), not reported as errors.
//! - With DHCPv6 the v4 lines are followed by `duid <server duid>` and v6 lines whose second
//!   field is an IAID; everything after the `duid` line is DHCPv6 and is skipped.
//! - The vendor class is not stored.
//!
//! dnsmasq truncates the file and rewrites it in place, so a reader can catch it half-written.
//! A last line without its newline is therefore reported in [`LeaseFile::incomplete_tail`] and
//! not parsed: the writer will produce another change event when it finishes.

use std::net::Ipv4Addr;

use crate::mac::Mac;
use crate::parse::{ParseError, Parsed};

/// One DHCPv4 lease from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsmasqLease {
    /// Expiry time (Unix seconds), or the lease length on builds with `HAVE_BROKEN_RTC`;
    /// `0` means infinite.
    pub expires: i64,
    /// The client's hardware address.
    pub mac: Mac,
    /// The leased address.
    pub ip: Ipv4Addr,
    /// Option 12, `None` when dnsmasq wrote `*`.
    pub hostname: Option<String>,
}

/// The parsed lease file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseFile {
    /// Every good lease line and every bad one.
    pub parsed: Parsed<DnsmasqLease>,
    /// True when the text did not end in a newline: the file was read while dnsmasq was still
    /// writing it, and its last line was left out.
    pub incomplete_tail: bool,
}

/// Parses the whole file.
pub fn parse(text: &str) -> LeaseFile {
    let mut out = LeaseFile::default();
    let (complete, tail) = match text.rfind('\n') {
        Some(end) => (&text[..=end], &text[end + 1..]),
        None => ("", text),
    };
    out.incomplete_tail = !tail.is_empty();
    for (index, line) in complete.lines().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with("duid ") {
            // Everything after the server DUID is DHCPv6.
            break;
        }
        match parse_line(line) {
            Ok(Some(lease)) => out.parsed.items.push(lease),
            Ok(None) => {}
            Err(reason) => out.parsed.errors.push(ParseError {
                line: line_no,
                reason,
            }),
        }
    }
    out
}

/// Parses one line of the file (not a `duid` line): `Ok(None)` for a line that is valid but
/// not an Ethernet v4 lease.
pub fn parse_line(line: &str) -> Result<Option<DnsmasqLease>, String> {
    let mut fields = line.split_ascii_whitespace();
    let (Some(expires), Some(mac), Some(ip), Some(hostname)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err("expected at least 4 fields: expiry mac ip hostname".to_string());
    };
    let expires: i64 = expires
        .parse()
        .map_err(|_| format!("bad expiry time {:?}", truncate(expires)))?;
    // `<hwtype>-<mac>` marks a non-Ethernet client (hwtype 1 is written without a prefix).
    if mac.len() > 17 && mac.as_bytes().get(2) == Some(&b'-') {
        return Ok(None);
    }
    let mac: Mac = mac.parse().map_err(|err| format!("{err}"))?;
    let ip: Ipv4Addr = ip
        .parse()
        .map_err(|_| format!("bad ipv4 address {:?}", truncate(ip)))?;
    let hostname = (hostname != "*").then(|| hostname.to_string());
    Ok(Some(DnsmasqLease {
        expires,
        mac,
        ip,
        hostname,
    }))
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOTS: &str = "tests/data/dnsmasq/lease-snapshots";

    fn read(name: &str) -> String {
        crate::parse::testing::read(SNAPSHOTS, name)
    }

    #[test]
    fn captured_two_phones() {
        let file = parse(&read("03-phone2-bound--dnsmasq.leases"));
        assert!(file.parsed.errors.is_empty());
        assert!(!file.incomplete_tail);
        let macs: Vec<String> = file
            .parsed
            .items
            .iter()
            .map(|l| l.mac.to_string())
            .collect();
        assert_eq!(macs, ["001B0C18BDC2", "001B0C18BDC1"]);
        let first = &file.parsed.items[1];
        assert_eq!(first.ip, Ipv4Addr::new(198, 18, 0, 151));
        assert_eq!(first.hostname.as_deref(), Some("SEP001B0C18BDC1"));
        assert_eq!(first.expires, 1795252463);
    }

    #[test]
    fn captured_empty_after_release() {
        let file = parse(&read("07-phone2-release--dnsmasq.leases"));
        assert_eq!(file, LeaseFile::default());
    }

    #[test]
    fn half_written_file() {
        let text = read("03-phone2-bound--dnsmasq.leases");
        let cut = &text[..text.len() - 20];
        let file = parse(cut);
        assert!(file.incomplete_tail);
        assert_eq!(file.parsed.items.len(), 1);
        assert!(file.parsed.errors.is_empty());
    }

    #[test]
    fn odd_lines() {
        let text = "\
1795252463 00:1b:0c:18:bd:c1 198.18.0.151 * *
0 00:1b:0c:18:bd:c3 198.18.0.153 SEP001B0C18BDC3 *
1795252463 06-00:1b:0c:18:bd:c4:00:00 198.18.0.154 host *
garbage
1795252463 00:1b:0c:18:bd 198.18.0.155 host *
x 00:1b:0c:18:bd:c5 198.18.0.155 host *
1795252463 00:1b:0c:18:bd:c6 198.18.0.999 host *
duid 00:01:00:01:2a:2b:2c:2d
1795252463 12345 fd00::1 host 00:01
";
        let file = parse(text);
        let macs: Vec<String> = file
            .parsed
            .items
            .iter()
            .map(|l| l.mac.to_string())
            .collect();
        assert_eq!(macs, ["001B0C18BDC1", "001B0C18BDC3"]);
        assert_eq!(file.parsed.items[0].hostname, None);
        let lines: Vec<usize> = file.parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5, 6, 7]);
    }
}
