//! OpenWrt odhcpd's state file (UCI `dhcp.odhcpd.leasefile`: `/tmp/hosts/odhcpd` by default,
//! `/tmp/odhcpd.leases` in some setups).
//!
//! odhcpd serves DHCPv4 only with `maindhcp=1`, that is when dnsmasq is not installed; with
//! dnsmasq the phones' v4 leases are in `/tmp/dhcp.leases` (formats.md 8.3). Not captured:
//! the format comes from `statefiles_write_state4()` in openwrt/odhcpd `src/statefiles.c`
//! (HEAD 68f3826, 2026-06-28) and its older forms in the same file and in `src/dhcpv6-ia.c`.
//! One line per bound lease, each starting with `# `:
//!
//! ```text
//! # <iface> <hexduid> <hexiaid> <hostname> <valid_until> <host_id|subnet_id hex> <len> <addr>/<len> …   (DHCPv6)
//! # <iface> <mac> ipv4 <hostname> <valid_until> <ipv4 hex> 32 <ipv4>/32                                 (DHCPv4)
//! # br-lan 00:1B:0C:18:BD:C1 ipv4 SEP001B0C18BDC1 1795252463 c6120097 32 198.18.0.151/32
//! ```
//!
//! - The MAC is `ether_ntoa()` since 7fddd39 (2025-11-30): upper-case and zero-padded on
//!   OpenWrt's musl (`00:1B:0C:18:BD:C1`), lower-case and not padded on glibc
//!   (`0:1b:c:18:bd:c1`). Before, it was bare hex (`001b0c18bdc1`, `odhcpd_hexlify()`). All
//!   three are read.
//! - `valid_until` is wall-clock Unix seconds, `-1` for infinite and `0` for expired.
//! - The hostname is `-` when the client sent none, and is prefixed with the literal text
//!   `broken\x20` when odhcpd found it invalid; both give `None`. Since 68f3826 every byte
//!   outside `[0-9A-Za-z._-]` is escaped `\xNN`, which is decoded here. Older versions wrote
//!   a broken hostname raw, blanks included, so the fields after it are counted from the end.
//! - Older versions also wrote hosts-file lines (`198.18.0.151\tSEP001B0C18BDC1.lan\tSEP…`)
//!   before each lease line that has a valid hostname; since def8ade (2025-11-30) those go to
//!   separate files under `hostsdir`. Hosts lines, DHCPv6 lines and blank lines are skipped.
//! - The IPv4 address is written twice, in hex and dotted; the two must agree.
//!
//! odhcpd writes the file to a temporary file and renames it over the old one, so a reader
//! never sees it half-written.

use std::net::{IpAddr, Ipv4Addr};

use crate::mac::Mac;
use crate::parse::{ParseError, Parsed};

/// One DHCPv4 lease line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdhcpdLease {
    /// The leased address.
    pub ip: Ipv4Addr,
    /// The client's hardware address.
    pub mac: Mac,
    /// Option 12, unescaped; `None` for `-` and for hostnames odhcpd marked `broken`.
    pub hostname: Option<String>,
    /// End of the lease in Unix seconds; `-1` infinite, `0` expired.
    pub valid_until: i64,
    /// The interface the lease was given on (`br-lan`).
    pub interface: String,
    /// 1-based line number.
    pub line: usize,
}

/// DHCPv6 lines, hosts lines and blank lines are skipped (not errors). `-` hostname → None;
/// `broken\x20` prefix → None; `\xNN` escapes decoded.
pub fn parse(text: &str) -> Parsed<OdhcpdLease> {
    let mut out = Parsed::default();
    for (index, line) in text.lines().enumerate() {
        match parse_line(line, index + 1) {
            Ok(Some(lease)) => out.items.push(lease),
            Ok(None) => {}
            Err(reason) => out.errors.push(ParseError {
                line: index + 1,
                reason,
            }),
        }
    }
    out
}

/// The literal prefix odhcpd puts before an invalid hostname.
const BROKEN: &str = "broken\\x20";

/// Parses one line: `Ok(None)` for a line that is valid but not a DHCPv4 lease.
fn parse_line(line: &str, line_no: usize) -> Result<Option<OdhcpdLease>, String> {
    let Some(rest) = line.strip_prefix('#') else {
        // A hosts line (`<ip>\t<name>…`), or nothing.
        return match line.split_ascii_whitespace().next() {
            None => Ok(None),
            Some(first) if first.parse::<IpAddr>().is_ok() => Ok(None),
            Some(_) => Err("neither a lease line nor a hosts line".to_string()),
        };
    };
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    if fields.get(2) != Some(&"ipv4") {
        // DHCPv6: the third field is the IAID.
        return Ok(None);
    }
    let n = fields.len();
    if n < 8 {
        return Err(format!(
            "expected 8 fields after '#': iface mac ipv4 hostname valid_until hexaddr 32 addr/32, got {n}"
        ));
    }
    let (interface, mac) = (fields[0], fields[1]);
    let host_fields = &fields[3..n - 4];
    let (valid_until, hex, prefix_len, address) =
        (fields[n - 4], fields[n - 3], fields[n - 2], fields[n - 1]);
    let broken = host_fields[0].starts_with(BROKEN);
    if host_fields.len() > 1 && !broken {
        return Err(format!("{n} fields, expected 8"));
    }
    let mac: Mac = mac.parse().map_err(|err| format!("{err}"))?;
    if prefix_len != "32" {
        return Err(format!("bad prefix length {:?}", truncate(prefix_len)));
    }
    let ip: Ipv4Addr = address
        .strip_suffix("/32")
        .and_then(|ip| ip.parse().ok())
        .ok_or_else(|| format!("bad ipv4 address {:?}", truncate(address)))?;
    match u32::from_str_radix(hex, 16) {
        Ok(value) if value == u32::from(ip) => {}
        _ => {
            return Err(format!(
                "hex address {:?} does not match {ip}",
                truncate(hex)
            ))
        }
    }
    let valid_until: i64 = valid_until
        .parse()
        .map_err(|_| format!("bad valid_until {:?}", truncate(valid_until)))?;
    let hostname = match host_fields[0] {
        _ if broken => None,
        "-" => None,
        name => Some(unescape(name)),
    };
    Ok(Some(OdhcpdLease {
        ip,
        mac,
        hostname,
        valid_until,
        interface: interface.to_string(),
        line: line_no,
    }))
}

/// Decodes `\xNN` (either case); a backslash not followed by `x` and two hex digits stays.
/// Bytes that are not UTF-8 become U+FFFD.
fn unescape(text: &str) -> String {
    if !text.contains("\\x") {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'\\' && bytes.get(index + 1) == Some(&b'x') {
            if let Some(&[high, low]) = bytes.get(index + 2..index + 4) {
                if let (Some(high), Some(low)) = (hex_value(high), hex_value(low)) {
                    out.push(high << 4 | low);
                    index += 4;
                    continue;
                }
            }
        }
        out.push(byte);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::Errors;

    const DATA: &str = "tests/data/odhcpd";

    fn read(name: &str) -> String {
        crate::parse::testing::read(DATA, name)
    }

    /// `line iface mac ip hostname valid_until`, `-` for `None`.
    fn summary(lease: &OdhcpdLease) -> String {
        format!(
            "{} {} {} {} {} {}",
            lease.line,
            lease.interface,
            lease.mac,
            lease.ip,
            lease.hostname.as_deref().unwrap_or("-"),
            lease.valid_until,
        )
    }

    #[track_caller]
    fn check(text: &str, leases: &[&str], errors: Errors<'_>) {
        crate::parse::testing::check(text, &parse(text), summary, leases, errors);
    }

    #[test]
    fn constructed_files() {
        // Both files are built from odhcpd's format strings (tests/data/odhcpd/SOURCE.md).
        let table: &[(&str, &[&str])] = &[
            (
                "statefile-current",
                &[
                    "3 br-lan 001B0C18BDC1 198.18.0.151 SEP001B0C18BDC1 1795252463",
                    "4 br-lan 001B0C18BDC2 198.18.0.152 - 1795252470",
                    "5 br-lan 001B0C18BDC3 198.18.0.153 - 1795252480",
                    "6 br-lan 001B0C18BDC4 198.18.0.154 SEP001B0C18BDC4 -1",
                    "7 voice 001B0C18BDC5 192.168.100.5 SEP001B0C18BDC5.voice 1795252490",
                ],
            ),
            (
                "statefile-older",
                &[
                    "5 br-lan 001B0C18BDC1 198.18.0.151 SEP001B0C18BDC1 1795252463",
                    "6 br-lan 001B0C18BDC2 198.18.0.152 - 1795252470",
                    "7 br-lan 001B0C18BDC3 198.18.0.153 - 1795252480",
                    "9 br-lan 001B0C18BDC4 198.18.0.154 SEP001B0C18BDC4 0",
                    "11 voice 001B0C18BDC5 192.168.100.5 SEP001B0C18BDC5 -1",
                ],
            ),
        ];
        for &(file, leases) in table {
            check(&read(file), leases, &[]);
        }
    }

    #[test]
    fn constructed_lines() {
        let table: &[(&str, &[&str], Errors<'_>)] = &[
            // The example of formats.md 8.3; glibc's ether_ntoa; CRLF; a line without '\n'.
            (
                "# br-lan 00:1B:0C:18:BD:C1 ipv4 SEP001B0C18BDC1 1795252463 c6120097 32 198.18.0.151/32\r\n# lan 0:1b:c:18:bd:c2 ipv4 - 0 a000001 32 10.0.0.1/32",
                &[
                    "1 br-lan 001B0C18BDC1 198.18.0.151 SEP001B0C18BDC1 1795252463",
                    "2 lan 001B0C18BDC2 10.0.0.1 - 0",
                ],
                &[],
            ),
            // `\xNN` escapes since 68f3826, in either case; stray backslashes stay.
            (
                "# lan 001b0c18bdc1 ipv4 caf\\xc3\\xA9\\x2fx\\x\\y\\x4 1 a000001 32 10.0.0.1/32\n",
                &["1 lan 001B0C18BDC1 10.0.0.1 café/x\\x\\y\\x4 1"],
                &[],
            ),
            // Broken hostnames, escaped (HEAD) and raw with blanks (older).
            (
                "# lan 001b0c18bdc1 ipv4 broken\\x20a\\x20b 1 a000001 32 10.0.0.1/32\n# lan 001b0c18bdc1 ipv4 broken\\x20a b\tc 1 a000001 32 10.0.0.1/32\n",
                &["1 lan 001B0C18BDC1 10.0.0.1 - 1", "2 lan 001B0C18BDC1 10.0.0.1 - 1"],
                &[],
            ),
            // DHCPv6 lines (with and without addresses), hosts lines, blank lines, a bare '#'.
            (
                "\n  \n#\n# lan 0001000100 1 - 0 8 128\n# lan 0001000100 ipv6 - 0 8 128 fd00::1/128\nfd00::1\thost\n10.0.0.1\thost.lan\thost\n",
                &[],
                &[],
            ),
            // Errors: one per line; the other lines still parse.
            (
                "garbage\n# lan 001b0c18bdc1 ipv4 - 1 a000001 32\n# lan 001b0c18bdc1 ipv4 a b 1 a000001 32 10.0.0.1/32\n# lan 001b0c18bd ipv4 - 1 a000001 32 10.0.0.1/32\n# lan 001b0c18bdc1 ipv4 - 1 a000001 24 10.0.0.1/24\n# lan 001b0c18bdc1 ipv4 - 1 a000001 32 10.0.0.1\n# lan 001b0c18bdc1 ipv4 - 1 a000002 32 10.0.0.1/32\n# lan 001b0c18bdc1 ipv4 - x a000001 32 10.0.0.1/32\n# lan 001b0c18bdc1 ipv4 - 1 a000001 32 10.0.0.1/32\n",
                &["9 lan 001B0C18BDC1 10.0.0.1 - 1"],
                &[
                    (1, "neither a lease line nor a hosts line"),
                    (2, "expected 8 fields after '#': iface mac ipv4 hostname valid_until hexaddr 32 addr/32, got 7"),
                    (3, "9 fields, expected 8"),
                    (4, "invalid mac address \"001b0c18bd\""),
                    (5, "bad prefix length \"24\""),
                    (6, "bad ipv4 address \"10.0.0.1\""),
                    (7, "hex address \"a000002\" does not match 10.0.0.1"),
                    (8, "bad valid_until \"x\""),
                ],
            ),
        ];
        for &(text, leases, errors) in table {
            check(text, leases, errors);
        }
    }

    #[test]
    fn never_panics() {
        let real = read("statefile-current") + &read("statefile-older");
        for (cut, _) in real.char_indices() {
            let _ = parse(&real[..cut]);
            let _ = parse(&real[cut..]);
        }
        for cut in 0..real.len() {
            for wide in ["é", "€", "𝄞", "\0", "\\", "\\x", "#", " ", "\n"] {
                let _ = parse(&format!("{}{wide}{}", &real[..cut], &real[cut + 1..]));
            }
        }
        for text in [
            "",
            "#",
            "# ",
            "# a b ipv4",
            "# a b ipv4 c d e f g",
            "# é é ipv4 é é é é é/32",
            "# lan 001b0c18bdc1 ipv4 \\x 1 a000001 32 10.0.0.1/32",
            "# lan 001b0c18bdc1 ipv4 é\\xé 1 a000001 32 10.0.0.1/32",
            "# lan 001b0c18bdc1 ipv4 broken\\x20 1 ffffffffffffffffff 32 10.0.0.1/32",
            "\0\0\0\0",
        ] {
            let _ = parse(text);
        }
        let mega = "A".repeat(1 << 20);
        for text in [
            mega.clone(),
            format!("# {mega}"),
            format!("# lan 001b0c18bdc1 ipv4 {mega} 1 a000001 32 10.0.0.1/32"),
            format!(
                "# lan 001b0c18bdc1 ipv4 broken\\x20{} 1 a000001 32 10.0.0.1/32",
                " a".repeat(1 << 19)
            ),
            "\\x41".repeat(1 << 18),
        ] {
            let _ = parse(&text);
        }
        let parsed = parse(&format!(
            "# lan 001b0c18bdc1 ipv4 {} 1 a000001 32 10.0.0.1/32",
            "\\x41".repeat(1 << 18)
        ));
        assert_eq!(
            parsed.items[0].hostname.as_deref().map(str::len),
            Some(1 << 18)
        );
    }
}
