//! The `Mac` newtype: an Ethernet address parsed once at the edge.
//!
//! Leases, hooks, logs and the config spell MAC addresses in many ways: `00:1b:0c:18:bd:c1`
//! (dnsmasq, Kea), `00:1B:0C:18:BD:C1` (odhcpd on musl), `0:1b:c:18:bd:c1` (isc-dhcp's
//! `binary-to-ascii`, not zero-padded), `00-1B-0C-18-BD-C1` (Windows), `001b.0c18.bdc1`
//! (Cisco IOS) and `001B0C18BDC1` (the phone's own file names). All of them become the same
//! six bytes here; nothing deeper in the program handles MAC text.

use std::fmt;
use std::str::FromStr;

/// A 48-bit Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac([u8; 6]);

/// Why a text is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacError(String);

impl fmt::Display for MacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid mac address {:?}", self.0)
    }
}

impl std::error::Error for MacError {}

impl Mac {
    /// Builds a MAC from its six bytes.
    pub const fn from_bytes(bytes: [u8; 6]) -> Mac {
        Mac(bytes)
    }

    /// The six bytes.
    pub const fn bytes(&self) -> [u8; 6] {
        self.0
    }

    /// The organisationally unique identifier: the first three bytes as a number.
    pub fn oui(&self) -> u32 {
        u32::from(self.0[0]) << 16 | u32::from(self.0[1]) << 8 | u32::from(self.0[2])
    }

    /// `00:1b:0c:18:bd:c1`: the form dnsmasq and most DHCP servers write.
    pub fn colon_lower(&self) -> String {
        let b = self.0;
        format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }

    /// Parses exactly 12 hex digits (either case), the form phones put in file names.
    pub fn from_hex12(text: &str) -> Option<Mac> {
        let bytes = text.as_bytes();
        if bytes.len() != 12 {
            return None;
        }
        let mut out = [0u8; 6];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = hex_value(pair[0])? << 4 | hex_value(pair[1])?;
        }
        Some(Mac(out))
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

impl FromStr for Mac {
    type Err = MacError;

    /// Accepts every common spelling; see the module docs.
    fn from_str(text: &str) -> Result<Mac, MacError> {
        let err = || MacError(text.chars().take(64).collect());
        let trimmed = text.trim();
        // Six groups of one or two digits separated by ':' or '-'.
        for separator in [':', '-'] {
            if trimmed.contains(separator) {
                let mut out = [0u8; 6];
                let mut n_groups = 0;
                for group in trimmed.split(separator) {
                    if n_groups == 6 || group.is_empty() || group.len() > 2 {
                        return Err(err());
                    }
                    let mut value = 0u8;
                    for &byte in group.as_bytes() {
                        value = value << 4 | hex_value(byte).ok_or_else(err)?;
                    }
                    out[n_groups] = value;
                    n_groups += 1;
                }
                return if n_groups == 6 {
                    Ok(Mac(out))
                } else {
                    Err(err())
                };
            }
        }
        // Cisco's dotted form: three groups of four digits.
        if trimmed.contains('.') {
            let groups: Vec<&str> = trimmed.split('.').collect();
            if groups.len() != 3 || groups.iter().any(|group| group.len() != 4) {
                return Err(err());
            }
            return Mac::from_hex12(&groups.concat()).ok_or_else(err);
        }
        Mac::from_hex12(trimmed).ok_or_else(err)
    }
}

impl Mac {
    /// The 12 upper-case hex digits, without formatting machinery (the state file holds a
    /// MAC per phone and per event, and is written often).
    /// The name of this phone's directory under dnsmasq's `tftp-unique-root=mac`: lower-case,
    /// zero-padded, dash-separated (`00-1b-54-aa-bb-cc`), as dnsmasq 2.90 looks it up.
    pub fn dashed(&self) -> String {
        let [a, b, c, d, e, f] = self.0;
        format!("{a:02x}-{b:02x}-{c:02x}-{d:02x}-{e:02x}-{f:02x}")
    }

    /// The MAC of a `tftp-unique-root=mac` directory name ([`Mac::dashed`]'s spelling only).
    pub fn from_dashed(name: &str) -> Option<Mac> {
        let bytes = name.as_bytes();
        if bytes.len() != 17 {
            return None;
        }
        let mut out = [0u8; 6];
        for (index, byte) in out.iter_mut().enumerate() {
            let at = 3 * index;
            if index > 0 && bytes[at - 1] != b'-' {
                return None;
            }
            let pair = name.get(at..at + 2)?;
            if !pair
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return None;
            }
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Mac(out))
    }

    pub fn hex(&self) -> [u8; 12] {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; 12];
        for (index, byte) in self.0.iter().enumerate() {
            out[2 * index] = DIGITS[usize::from(byte >> 4)];
            out[2 * index + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        out
    }
}

impl fmt::Display for Mac {
    /// 12 upper-case hex digits, the spelling of `SEP<MAC>.cnf.xml`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hex();
        // ASCII hex digits: always UTF-8.
        f.pad(std::str::from_utf8(&hex).unwrap_or_default())
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

impl serde::Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let hex = self.hex();
        serializer.serialize_str(std::str::from_utf8(&hex).unwrap_or_default())
    }
}

impl<'de> serde::Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Mac, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: Option<&str>) {
        let got = input.parse::<Mac>().ok().map(|mac| mac.to_string());
        assert_eq!(got.as_deref(), expected, "input {input:?}");
    }

    #[test]
    fn spellings() {
        let want = Some("001B0C18BDC1");
        // dnsmasq lease file and Kea CSV.
        check("00:1b:0c:18:bd:c1", want);
        // odhcpd on musl.
        check("00:1B:0C:18:BD:C1", want);
        // isc-dhcp `binary-to-ascii(16, 8, ":", …)`: not zero-padded.
        check("0:1b:c:18:bd:c1", want);
        check("00-1B-0C-18-BD-C1", want);
        check("001b.0c18.bdc1", want);
        check("001B0C18BDC1", want);
        check(" 001b0c18bdc1\n", want);
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "001B0C18BDC",
            "001B0C18BDC1A",
            "00:1b:0c:18:bd",
            "00:1b:0c:18:bd:c1:00",
            "00:1b:0c:18:bd:c1x",
            "00::0c:18:bd:c1",
            "001:b0:c1:8b:dc:1",
            "001B0C18BDG1",
            "../../etc/passwd",
            "001b.0c18.bdc",
            "00:1b-0c:18:bd:c1",
        ] {
            check(bad, None);
        }
    }

    #[test]
    fn oui_and_forms() {
        let mac: Mac = "00:1b:0c:18:bd:c1".parse().unwrap();
        assert_eq!(mac.oui(), 0x001B0C);
        assert_eq!(mac.colon_lower(), "00:1b:0c:18:bd:c1");
        assert_eq!(Mac::from_hex12("001b0C18BDC1"), Some(mac));
    }

    #[test]
    fn dashed_is_dnsmasq_unique_root_spelling() {
        // dnsmasq 2.90 logged `sent /tmp/urroot/00-11-22-33-44-55/SEP001122334455.cnf.xml`
        // for a client with MAC 00:11:22:33:44:55 under `--tftp-unique-root=mac`
        // (field-evidence.md §4; tests/e2e_unique_root.rs fetches from such a directory).
        let mac = Mac::from_bytes([0x00, 0x1b, 0x54, 0xaa, 0xbb, 0x0c]);
        assert_eq!(mac.dashed(), "00-1b-54-aa-bb-0c");
        assert_eq!(Mac::from_dashed("00-1b-54-aa-bb-0c"), Some(mac));
        for bad in [
            "00-1B-54-AA-BB-0C",
            "00:1b:54:aa:bb:0c",
            "001b54aabb0c",
            "00-1b-54-aa-bb-0",
            "00-1b-54-aa-bb-0c/",
            "0g-1b-54-aa-bb-0c",
            "00-1b-54-aa-bb€",
        ] {
            assert_eq!(Mac::from_dashed(bad), None, "{bad}");
        }
    }
}
