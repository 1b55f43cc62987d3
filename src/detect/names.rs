//! What a requested TFTP file name says about the phone that asked for it.
//!
//! Names come from logs and are untrusted: anything with a path separator, a NUL, a control
//! character or more than [`MAX_NAME_LEN`] bytes is [`TftpName::Suspicious`] and is never used
//! to find a phone or to build a file name.

use crate::mac::Mac;

/// Longest name a phone asks for that we look at (`ITLSEP<MAC>.tlv` is 22; firmware images
/// run to about 40).
pub const MAX_NAME_LEN: usize = 64;

/// A requested name, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TftpName {
    /// `SEP<MAC>.cnf.xml` (also `.cnf.xml.sgn`): the per-phone config of the XML firmware.
    SepConfig(Mac),
    /// `SIP<MAC>.cnf`: the per-phone config of 7940/7960 SIP firmware.
    SipConfig(Mac),
    /// `CTLSEP<MAC>.tlv` or `ITLSEP<MAC>.tlv`: trust lists, asked for first at every boot.
    TrustList(Mac),
    /// `termNN.default.loads`: the first file after a reset; `NN` names the model.
    TermLoads(String),
    /// Another `.loads` file: a firmware load.
    Loads,
    /// A firmware image (`.sbn`, `.sb2`, `.bin`, `.zup`, `.sbin`).
    Image,
    /// `XMLDefault.cnf.xml`, `SIPDefault.cnf`, `OS79XX.TXT`: shared configuration.
    Shared,
    /// Any other plain name (locales, ring lists, dial plans).
    Other,
    /// A name with `/`, `\`, `..`, NUL, control characters, or too long.
    Suspicious,
}

impl TftpName {
    /// The MAC the name carries, when it carries one.
    pub fn mac(&self) -> Option<Mac> {
        match self {
            TftpName::SepConfig(mac) | TftpName::SipConfig(mac) | TftpName::TrustList(mac) => {
                Some(*mac)
            }
            _ => None,
        }
    }
}

/// Classifies a requested name. Matching is case-insensitive (phones ask in upper case, people
/// typing by hand do not), but the MAC is always parsed from exactly 12 hex digits.
pub fn classify(name: &str) -> TftpName {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || name.contains(['/', '\\'])
        || name.contains("..")
        || name.chars().any(char::is_control)
    {
        return TftpName::Suspicious;
    }
    let lower = name.to_ascii_lowercase();
    let mac_between = |prefix: &str, suffix: &str| -> Option<Mac> {
        let middle = lower.strip_prefix(prefix)?.strip_suffix(suffix)?;
        Mac::from_hex12(middle)
    };
    if let Some(mac) = mac_between("sep", ".cnf.xml").or_else(|| mac_between("sep", ".cnf.xml.sgn"))
    {
        return TftpName::SepConfig(mac);
    }
    if let Some(mac) = mac_between("sip", ".cnf") {
        return TftpName::SipConfig(mac);
    }
    if let Some(mac) = mac_between("ctlsep", ".tlv").or_else(|| mac_between("itlsep", ".tlv")) {
        return TftpName::TrustList(mac);
    }
    if let Some(code) = lower
        .strip_prefix("term")
        .and_then(|rest| rest.strip_suffix(".default.loads"))
    {
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) {
            return TftpName::TermLoads(code.to_string());
        }
    }
    match lower.as_str() {
        "xmldefault.cnf.xml" | "sipdefault.cnf" | "os79xx.txt" => return TftpName::Shared,
        _ => {}
    }
    let extension = lower.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    match extension {
        "loads" => TftpName::Loads,
        "sbn" | "sb2" | "bin" | "zup" | "sbin" => TftpName::Image,
        _ => TftpName::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(name: &str, expected: TftpName) {
        assert_eq!(classify(name), expected, "{name:?}");
    }

    #[test]
    fn names_from_the_captures_and_seeds() {
        let mac = Mac::from_hex12("001B0C18BDC1").unwrap();
        check("SEP001B0C18BDC1.cnf.xml", TftpName::SepConfig(mac));
        check("SEP001b0c18bdc1.cnf.xml", TftpName::SepConfig(mac));
        check("SEP001B0C18BDC1.cnf.xml.sgn", TftpName::SepConfig(mac));
        check("SIP001B0C18BDC1.cnf", TftpName::SipConfig(mac));
        check("CTLSEP001B0C18BDC1.tlv", TftpName::TrustList(mac));
        check("ITLSEP001B0C18BDC1.tlv", TftpName::TrustList(mac));
        check("term41.default.loads", TftpName::TermLoads("41".into()));
        check("term06.default.loads", TftpName::TermLoads("06".into()));
        check("SIP41.9-4-2SR3-1S.loads", TftpName::Loads);
        check("jar11sccp.8-5-2TH1-9.sbn", TftpName::Image);
        check("P0S3-8-12-00.sb2", TftpName::Image);
        check("XMLDefault.cnf.xml", TftpName::Shared);
        check("SIPDefault.cnf", TftpName::Shared);
        check("OS79XX.TXT", TftpName::Shared);
        check("RINGLIST.DAT", TftpName::Other);
        check("ITLFile.tlv", TftpName::Other);
        check("SEPDefault.cnf", TftpName::Other);
        check("term4.default.loads", TftpName::Loads);
    }

    #[test]
    fn hostile_names() {
        check("../../etc/passwd", TftpName::Suspicious);
        check("/etc/passwd", TftpName::Suspicious);
        check("etc/passwd", TftpName::Suspicious);
        check("..", TftpName::Suspicious);
        check("SEP001B0C18BDC1.cnf.xml\0", TftpName::Suspicious);
        check("", TftpName::Suspicious);
        let long = format!("{}SEP001B0C18BDC1.cnf.xml", "A".repeat(300));
        check(&long, TftpName::Suspicious);
        check("SEP001B0C18BDC1X.cnf.xml", TftpName::Other);
        check("SEPZZ1B0C18BDC1.cnf.xml", TftpName::Other);
    }
}
