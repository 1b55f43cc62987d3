//! DHCP server configuration that points Cisco phones at the TFTP server: option 150 (Cisco's,
//! a list of addresses) and option 66 (`tftp-server-name`, text), for Cisco phones only.
//!
//! Pure: each function takes a [`SnippetInput`] and returns the text of one file, in the
//! dialect of one server. The daemon writes them (atomically) to the paths under `[dhcp]`;
//! `cisco-autoprov snippet …` prints them. Nothing here edits a server's main config: each
//! text is a file the server includes (a conf-dir drop-in, an `include`, an `<?include?>`) or,
//! for OpenWrt, a `uci batch` script the administrator or the package's first-boot script runs.
//! The output does not depend on the order of the input lists (they are sorted and
//! deduplicated), so an unchanged set of phones never rewrites a file or reloads a server.
//!
//! # Which clients get the options
//!
//! A Cisco phone says what it is in option 60, e.g. `Cisco Systems, Inc. IP Phone CP-7941G`
//! followed by a NUL byte (cisco-facts.md 5a). Every server matches a part that survives the
//! NUL; the Cisco OUI list catches phones that send no such vendor class (6901, 7921, MPP
//! firmware) and is optional ([`SnippetInput::cisco_ouis`] may be empty).
//!
//! | server | vendor class | OUI list (1,044 blocks) |
//! |---|---|---|
//! | dnsmasq | `dhcp-vendorclass=set:ciscophone,IP Phone`: dnsmasq matches a substring, and a comma would end the value (`Cisco Systems, Inc.` cannot be written) | one `dhcp-mac=set:ciscophone,00:1b:0c:*:*:*` per block: a list walk per packet, ~40 KB of config |
//! | isc-dhcp | `match if option vendor-class-identifier ~= "IP Phone"`: a regular expression, so "contains"; the NUL ends the C string after the model | `class … { match substring(hardware, 1, 3); }` + one `subclass` per block: a hash lookup per packet |
//! | Kea | `substring(option[60].hex,0,28) == 'Cisco Systems, Inc. IP Phone'`: Kea 2.2 has no "contains", and every phone VCI with "IP Phone" starts with this prefix | `or substring(pkt4.mac,0,3) == 0x001B0C` per block in the same test: 1,044 comparisons per packet (microseconds) |
//! | OpenWrt uci | `config vendorclass` with `vendorclass 'IP Phone'` (becomes the dnsmasq line above) | none: 1,044 `config mac` sections would sit in `/etc/config/dhcp` on flash, in every LuCI page and `uci show`; use the dnsmasq drop-in on tmpfs for them |
//!
//! Provisioned phones can also get a fixed address (dnsmasq `dhcp-host`, which tags them too),
//! so a phone keeps its IP and the TFTP-log correlation stays exact.

mod dnsmasq;
mod isc;
mod kea;
mod uci;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::mac::Mac;

pub use dnsmasq::dnsmasq;
pub use isc::isc;
pub use kea::kea;
pub use uci::uci;

/// The dnsmasq tag (and uci `networkid`) the phones get.
pub const TAG: &str = "ciscophone";

/// The part of option 60 dnsmasq and isc match: in every Cisco IP phone vendor class, free of
/// commas (cisco-facts.md 5a).
pub const VENDOR_CLASS_SUBSTRING: &str = "IP Phone";

/// The prefix Kea matches: every vendor class containing [`VENDOR_CLASS_SUBSTRING`] starts
/// with it (the 79xx, 89xx, 99xx, and the old 7940/7960 loader's bare `…IP Phone`).
pub const VENDOR_CLASS_PREFIX: &str = "Cisco Systems, Inc. IP Phone";

pub use crate::config::DEFAULT_DNSMASQ_SCRIPT;

/// Where the binary is installed (and what the shipped hook files call).
pub const DEFAULT_BINARY: &str = "/usr/sbin/cisco-autoprov";

/// A provisioned phone and the address it keeps.
pub type Reservation = (Mac, Ipv4Addr);

/// What a snippet is made of.
#[derive(Debug, Clone, Copy)]
pub struct SnippetInput<'a> {
    /// The address options 150 and 66 carry. `0.0.0.0` means "the DHCP server's own address"
    /// to dnsmasq (and so to uci); option 66 is then left out, being text. isc and Kea have no
    /// such placeholder: their snippets then carry no options, only the classes.
    pub tftp_server: Ipv4Addr,
    /// Path of cisco-autoprov in the isc hook lines, e.g. [`DEFAULT_BINARY`].
    pub binary: &'a str,
    /// Passed as `-c` in the hook lines unless `None` or the default config path.
    pub config_path: Option<&'a str>,
    /// The dnsmasq `dhcp-script` line, e.g. [`DEFAULT_DNSMASQ_SCRIPT`]; `None` leaves it out.
    /// dnsmasq refuses to start with two `dhcp-script` lines ("illegal repeated keyword"),
    /// so leave it out where dnsmasq already has one (OpenWrt sets its own when hotplug
    /// handlers exist; elsewhere, chain the old one through `dhcp-script.chain`).
    pub dnsmasq_script: Option<&'a str>,
    /// Provisioned phones and their addresses: dnsmasq `dhcp-host` reservations. Sorted by
    /// MAC; a second entry for a MAC or an address is left out (dnsmasq refuses to start on
    /// a duplicate address), as is `0.0.0.0`.
    pub reservations: &'a [Reservation],
    /// Cisco OUIs (24-bit, e.g. `0x001B0C`) for phones without a phone vendor class; empty
    /// for the vendor class alone. Sorted and deduplicated; values above 24 bits are ignored.
    pub cisco_ouis: &'a [u32],
    /// `tftp_unique_root = "mac"`: the dnsmasq drop-in sets `tftp-unique-root=mac`, so dnsmasq
    /// serves each phone its own directory.
    pub tftp_unique_root: bool,
}

impl SnippetInput<'static> {
    /// Options for `tftp_server`, nothing else: the default binary, no config path, no
    /// `dhcp-script` line, no reservations, the vendor class alone, no unique roots.
    pub fn new(tftp_server: Ipv4Addr) -> SnippetInput<'static> {
        SnippetInput {
            tftp_server,
            binary: DEFAULT_BINARY,
            config_path: None,
            dnsmasq_script: None,
            reservations: &[],
            cisco_ouis: &[],
            tftp_unique_root: false,
        }
    }
}

impl SnippetInput<'_> {
    /// The `-c` argument of the hook lines, if one is needed.
    fn config_arg(&self) -> Option<&str> {
        self.config_path
            .filter(|path| *path != crate::config::DEFAULT_PATH)
    }

    /// The config file named in the header.
    fn config_name(&self) -> &str {
        self.config_path.unwrap_or(crate::config::DEFAULT_PATH)
    }

    /// Whether the TFTP server is a real address (not the `0.0.0.0` placeholder).
    fn has_address(&self) -> bool {
        !self.tftp_server.is_unspecified()
    }

    /// The OUIs: 24-bit values only, sorted, without duplicates.
    fn ouis(&self) -> Vec<u32> {
        let set: BTreeSet<u32> = self
            .cisco_ouis
            .iter()
            .copied()
            .filter(|oui| *oui <= 0x00FF_FFFF)
            .collect();
        set.into_iter().collect()
    }

    /// The reservations sorted by MAC: the kept ones, and the ones left out (a MAC or an
    /// address already reserved, or `0.0.0.0`).
    fn reservations(&self) -> (Vec<Reservation>, Vec<Reservation>) {
        let mut sorted = self.reservations.to_vec();
        sorted.sort_unstable();
        let mut macs = BTreeSet::new();
        let mut addresses = BTreeSet::new();
        let (mut kept, mut skipped) = (Vec::new(), Vec::new());
        for (mac, ip) in sorted {
            if ip.is_unspecified() || macs.contains(&mac) || addresses.contains(&ip) {
                // An exact repeat of a kept or skipped entry is not worth a second mention.
                if !kept.contains(&(mac, ip)) && !skipped.contains(&(mac, ip)) {
                    skipped.push((mac, ip));
                }
            } else {
                macs.insert(mac);
                addresses.insert(ip);
                kept.push((mac, ip));
            }
        }
        (kept, skipped)
    }
}

/// The 32-bit form tftpd32/tftpd64 and some DHCP GUIs want for option 150:
/// `192.168.1.1` → `0x0101A8C0`.
///
/// It is the address's four bytes in network order (C0 A8 01 01) read as a little-endian
/// integer, i.e. the in-memory `in_addr` printed by a program on x86: the bytes appear
/// reversed. The seed's example checks out (192 = C0, 168 = A8, 1 = 01: reversed, 01 01 A8 C0);
/// the big-endian reading would be `0xC0A80101`. Windows DHCP tools print the server
/// identifier the same way (`c0 a8 28 01` shown as `0x0128a8c0`).
pub fn hex(ip: Ipv4Addr) -> String {
    format!("0x{:08X}", u32::from_le_bytes(ip.octets()))
}

/// The words every snippet starts with, after its comment sign (`#` or `//`).
const GENERATED: &str = " Generated by cisco-autoprov;";

/// Whether `existing` (a file's text) is a snippet we wrote: its first line is our header.
/// The daemon replaces only such a file (or none), so a snippet path pointed at a server's
/// own config by mistake (`/etc/dnsmasq.conf`) is refused rather than overwritten.
pub fn is_generated(existing: &str) -> bool {
    let first = existing.lines().next().unwrap_or_default();
    ["#", "//"].iter().any(|comment| {
        first
            .strip_prefix(comment)
            .is_some_and(|rest| rest.starts_with(GENERATED))
    })
}

/// The comment lines every snippet starts with: generated, not to be edited.
fn header(comment: &str, kind: &str, input: &SnippetInput) -> String {
    format!(
        "{comment}{GENERATED} do not edit: it is regenerated and edits are lost.\n\
         {comment} Change [dhcp] in {config} instead; `cisco-autoprov snippet {kind}` prints it.\n",
        config = input.config_name(),
    )
}

/// The OUI as six lower-case hex digits with colons: `00:1b:0c`.
fn oui_colon(oui: u32) -> String {
    let [_, a, b, c] = oui.to_be_bytes();
    format!("{a:02x}:{b:02x}:{c:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_table() {
        for (ip, expected) in [
            ("192.168.1.1", "0x0101A8C0"),
            ("192.168.2.2", "0x0202A8C0"),
            ("10.0.0.1", "0x0100000A"),
            ("198.18.0.1", "0x010012C6"),
            ("0.0.0.0", "0x00000000"),
            ("255.255.255.255", "0xFFFFFFFF"),
        ] {
            assert_eq!(hex(ip.parse().unwrap()), expected, "{ip}");
        }
    }

    #[test]
    fn input_lists_are_normalised() {
        let a: Mac = "00:1b:0c:00:00:02".parse().unwrap();
        let b: Mac = "00:1b:0c:00:00:01".parse().unwrap();
        let c: Mac = "00:1b:0c:00:00:03".parse().unwrap();
        let ip = |host| Ipv4Addr::new(192, 0, 2, host);
        let d: Mac = "00:1b:0c:00:00:04".parse().unwrap();
        let reservations = [
            (a, ip(150)),
            (b, ip(151)),
            (a, ip(152)),
            (c, ip(151)),
            (c, Ipv4Addr::UNSPECIFIED),
            (b, ip(151)),
            (c, ip(153)),
            (d, ip(152)),
        ];
        let input = SnippetInput {
            reservations: &reservations,
            cisco_ouis: &[0x001B0C, 0x00000C, 0x001B0C, 0x0100_0000],
            ..SnippetInput::new(ip(1))
        };
        assert_eq!(input.ouis(), [0x00000C, 0x001B0C]);
        let (kept, skipped) = input.reservations();
        // A skipped entry does not use up its MAC (c keeps .153) or its address (d gets .152).
        assert_eq!(
            kept,
            [(b, ip(151)), (a, ip(150)), (c, ip(153)), (d, ip(152))]
        );
        assert_eq!(
            skipped,
            [(a, ip(152)), (c, Ipv4Addr::UNSPECIFIED), (c, ip(151))]
        );
    }

    #[test]
    fn config_argument_only_when_not_the_default() {
        let mut input = SnippetInput::new(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(input.config_arg(), None);
        input.config_path = Some(crate::config::DEFAULT_PATH);
        assert_eq!(input.config_arg(), None);
        input.config_path = Some("/var/etc/cisco-autoprov.toml");
        assert_eq!(input.config_arg(), Some("/var/etc/cisco-autoprov.toml"));
    }

    #[test]
    fn generated_files_are_recognised() {
        let input = SnippetInput {
            dnsmasq_script: Some(DEFAULT_DNSMASQ_SCRIPT),
            cisco_ouis: &[0x001B0C],
            ..SnippetInput::new(Ipv4Addr::new(192, 0, 2, 1))
        };
        for text in [dnsmasq(&input), isc(&input), kea(&input), uci(&input)] {
            assert!(is_generated(&text), "{text}");
        }
        for text in [
            "",
            "port=0\n",
            "# dnsmasq.conf\n# Generated by cisco-autoprov; do not edit\n",
            "option domain-name \"lan\";\n",
            "{ \"Dhcp4\": {} }\n",
            "## Generated by cisco-autoprov;\n",
        ] {
            assert!(!is_generated(text), "{text:?}");
        }
    }

    #[test]
    fn oui_spelling() {
        assert_eq!(oui_colon(0x001B0C), "00:1b:0c");
        assert_eq!(oui_colon(0xF8A5C5), "f8:a5:c5");
    }
}
