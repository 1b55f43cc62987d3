//! Firmware versions as Cisco writes them in load and image names.
//!
//! The spellings seen in real packages (`cisco-facts.md` §3, the seeds):
//! - Java 79xx loads: `SIP41.9-4-2SR3-1S`, `SIP41.8-5-4S`, `SCCP11.8-3-3SR2S`, `SIP11.9-4-2-1S`:
//!   major-minor-patch, an optional `SRn`, a build number, and a trailing `S` (signed).
//! - Their images: `jar11sccp.8-5-2TH1-9.sbn`, `apps41.9-4-2ES26.sbn`, `cnu11.8-4-1-23.sbn`.
//! - 7940/7960: `P0S3-8-12-00`, `P0S3-08-11-00`, and the compact forms `P00308010200` (8.1.2)
//!   and `P0030801SR02` (8.1 SR2), two digits per number.
//! - Newer families: `SIP8941_8945.9-3-1-18`, `sip78xx.12-5-1SR2-2`, `CP7921G-1.4.6.3`.
//!
//! Ordering compares the first three numbers, then the `SR`/`ES`/`TH` suffix, then the build
//! numbers. A suffix we do not know (`MPP`, `MSR`) sorts below no suffix at all.

use std::fmt;

/// A firmware version parsed from a load or image name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major, minor, patch; a missing number is 0.
    main: [u32; 3],
    /// The service-release or special-build suffix.
    tag: Tag,
    /// Numbers after the first three: `1` in `9-4-2SR3-1`, `18` in `9-3-1-18`.
    build: Vec<u32>,
}

/// The suffix after the version numbers. The variant order is the sort order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Tag {
    /// Text we do not know, kept for display (`MPP`).
    Unknown(String),
    /// No suffix: the first release of that version.
    None,
    /// `THn` (image names of 8.x and 9.x loads).
    Th(u32),
    /// `ESn`, engineering special (image names of 9.x loads).
    Es(u32),
    /// `SRn`, service release.
    Sr(u32),
}

impl Version {
    /// Parses a load name (`SIP41.9-4-2SR3-1S`, `P0S3-8-12-00`), an image name
    /// (`jar11sccp.8-5-2TH1-9.sbn`) or a bare version (`9-4-2SR3-1`, `8.5.2`). `None` when no
    /// version number can be found.
    pub fn parse(text: &str) -> Option<Version> {
        let mut text = text.trim();
        while let Some(stem) = strip_file_extension(text) {
            text = stem;
        }
        if text.starts_with(|c: char| c.is_ascii_digit()) {
            return parse_numbers(text, false);
        }
        let (_, version, compact) = split_name(text);
        parse_numbers(version?, compact)
    }

    /// Whether this version is `major.minor.patch` or later (any suffix).
    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.main >= [major, minor, patch]
    }

    /// Whether the first three numbers are exactly `major.minor.patch` (any suffix or build).
    pub fn is(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.main == [major, minor, patch]
    }

    /// Major, minor and patch.
    pub fn numbers(&self) -> [u32; 3] {
        self.main
    }
}

impl fmt::Display for Version {
    /// `9.4.2SR3-1`, `8.12.0`, `8.5.2TH1-9`, `9.3.1-18`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.main;
        write!(f, "{major}.{minor}.{patch}")?;
        match &self.tag {
            Tag::Unknown(text) => write!(f, "{text}")?,
            Tag::None => {}
            Tag::Th(n) => write!(f, "TH{n}")?,
            Tag::Es(n) => write!(f, "ES{n}")?,
            Tag::Sr(n) => write!(f, "SR{n}")?,
        }
        for number in &self.build {
            write!(f, "-{number}")?;
        }
        Ok(())
    }
}

/// File extensions that end a load or image name; stripped before the version is read.
const NAME_EXTENSIONS: &[&str] = &[
    ".loads", ".sbn", ".sb2", ".bin", ".zup", ".sbin", ".sebn", ".sgn", ".zz",
];

fn strip_file_extension(text: &str) -> Option<&str> {
    NAME_EXTENSIONS.iter().find_map(|ext| {
        let cut = text.len().checked_sub(ext.len())?;
        let (stem, tail) = (text.get(..cut)?, text.get(cut..)?);
        (tail.eq_ignore_ascii_case(ext) && !stem.is_empty()).then_some(stem)
    })
}

/// Splits a load name into its prefix and its version text: `SIP41` + `9-4-2SR3-1S`,
/// `P0S3` + `8-12-00`, `P003` + `0801SR02` (compact). The version starts after the first `.`
/// or `-` that is followed by a digit; a 7940/7960 name without one (`P00308010200`) has a
/// four-character prefix and a compact version. The flag says the version is compact.
pub fn split_name(name: &str) -> (&str, Option<&str>, bool) {
    let bytes = name.as_bytes();
    for i in 1..bytes.len().saturating_sub(1) {
        if matches!(bytes[i], b'.' | b'-') && bytes[i + 1].is_ascii_digit() {
            return (&name[..i], Some(&name[i + 1..]), false);
        }
    }
    let is_7940_family = bytes.len() > 4
        && bytes[..2].eq_ignore_ascii_case(b"P0")
        && bytes[..4].iter().all(u8::is_ascii_alphanumeric)
        && bytes[4].is_ascii_digit();
    if is_7940_family {
        return (&name[..4], Some(&name[4..]), true);
    }
    (name, None, false)
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Number(u32),
    Word(&'a str),
}

/// Numbers and words of a version text. `compact` reads digit runs two digits at a time.
fn tokens(text: &str, compact: bool) -> Option<Vec<Token<'_>>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let byte = bytes[i];
        if byte.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &text[start..i];
            if compact {
                if !digits.len().is_multiple_of(2) {
                    return None;
                }
                for pair in digits.as_bytes().chunks(2) {
                    out.push(Token::Number(u32::from(
                        (pair[0] - b'0') * 10 + (pair[1] - b'0'),
                    )));
                }
            } else {
                out.push(Token::Number(digits.parse().ok()?));
            }
        } else if byte.is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Token::Word(&text[start..i]));
        } else if matches!(byte, b'.' | b'-' | b'_' | b'(' | b')') {
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

fn parse_numbers(text: &str, compact: bool) -> Option<Version> {
    // The `S` that ends signed load names (`8-5-4S`, `9-4-2SR3-1S`) is not part of the version.
    let text = match text.strip_suffix(['S', 's']) {
        Some(stem) if stem.ends_with(|c: char| c.is_ascii_digit()) => stem,
        _ => text,
    };
    let tokens = tokens(text, compact)?;
    if !matches!(tokens.first(), Some(Token::Number(_))) {
        return None;
    }
    let mut main = [0u32; 3];
    let mut n_main = 0;
    let mut tag = Tag::None;
    let mut build = Vec::new();
    let mut rest = tokens.iter().enumerate().peekable();
    while let Some((index, token)) = rest.next() {
        match token {
            Token::Number(number) if n_main < 3 && tag == Tag::None && build.is_empty() => {
                main[n_main] = *number;
                n_main += 1;
            }
            Token::Number(number) => build.push(*number),
            Token::Word(word) if tag == Tag::None => {
                let number = match rest.peek() {
                    Some((_, Token::Number(number))) => Some(*number),
                    _ => None,
                };
                tag = match (word.to_ascii_uppercase().as_str(), number) {
                    ("SR", Some(number)) => Tag::Sr(number),
                    ("ES", Some(number)) => Tag::Es(number),
                    ("TH", Some(number)) => Tag::Th(number),
                    _ => Tag::Unknown(word.to_string()),
                };
                if !matches!(tag, Tag::Unknown(_)) {
                    rest.next();
                }
            }
            Token::Word(_) => {
                // A second word: keep everything from the first word on as unknown text.
                let first_word = tokens[..index]
                    .iter()
                    .position(|token| matches!(token, Token::Word(_)))
                    .unwrap_or(index);
                let offset = word_offset(text, &tokens, first_word);
                tag = Tag::Unknown(text[offset..].to_string());
                break;
            }
        }
    }
    Some(Version { main, tag, build })
}

/// Byte offset in `text` of the `index`-th token (which is a word).
fn word_offset(text: &str, tokens: &[Token<'_>], index: usize) -> usize {
    match tokens[index] {
        Token::Word(word) => word.as_ptr() as usize - text.as_ptr() as usize,
        Token::Number(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, version as displayed, or "" when it has none).
    const PARSED: &[(&str, &str)] = &[
        // Load names from the seeds, the facts file and public TFTP roots.
        ("SIP41.9-4-2SR3-1S", "9.4.2SR3-1"),
        ("SIP41.8-5-4S", "8.5.4"),
        ("SIP41.9-3-1SR1-1S", "9.3.1SR1-1"),
        ("SIP11.9-4-2SR1-1S", "9.4.2SR1-1"),
        ("SIP11.9-4-2-1S", "9.4.2-1"),
        ("SCCP11.8-5-2S", "8.5.2"),
        ("SCCP11.8-3-3SR2S", "8.3.3SR2"),
        ("SCCP45.9-4-2SR4-3S", "9.4.2SR4-3"),
        ("SIP8941_8945.9-3-1-18", "9.3.1-18"),
        ("sip78xx.12-5-1SR2-2", "12.5.1SR2-2"),
        ("sip8845_65.12-7-1-0001-393", "12.7.1-1-393"),
        ("SIP69xx.9-4-1-3SR3", "9.4.1SR3-3"),
        ("sip88xx.12-0-7MPP0201-66", "12.0.7MPP-201-66"),
        ("CP7921G-1.4.6.3.LOADS", "1.4.6-3"),
        ("P0S3-8-12-00", "8.12.0"),
        ("P0S3-08-11-00", "8.11.0"),
        ("P0S3-8-12-00.loads", "8.12.0"),
        ("P00308010200", "8.1.2-0"),
        ("P00308000900", "8.0.9-0"),
        ("P0030801SR02", "8.1.0SR2"),
        ("P0S30203", "2.3.0"),
        // Images.
        ("jar11sccp.8-5-2TH1-9.sbn", "8.5.2TH1-9"),
        ("cvm11sip.9-4-2ES9.sbn", "9.4.2ES9"),
        ("apps41.9-4-2ES26.sbn", "9.4.2ES26"),
        ("cnu11.8-4-1-23.sbn", "8.4.1-23"),
        ("P0S3-8-12-00.sb2", "8.12.0"),
        ("P003-8-12-00.sbn", "8.12.0"),
        ("BOOT69xx.0-0-0-14.zz.sgn", "0.0.0-14"),
        ("APPS-1.4.6.3.SBN", "1.4.6-3"),
        // Bare versions.
        ("9-4-2SR3-1", "9.4.2SR3-1"),
        ("8.5.2", "8.5.2"),
        ("8.1(2)SR2", "8.1.2SR2"),
        ("8.5.2sr1", "8.5.2SR1"),
        // No version.
        ("P003AM30", ""),
        ("term41.default.loads", ""),
        ("CIPC_Locale.loads", ""),
        ("XMLDefault.cnf.xml", ""),
        ("", ""),
        ("SIP41.", ""),
        ("SIP41.9-4-2SR3-1S!", ""),
        ("P0S3-99999999999-1", ""),
        ("P003080", ""),
    ];

    #[test]
    fn parses_real_names() {
        for (name, want) in PARSED {
            let got = Version::parse(name)
                .map(|v| v.to_string())
                .unwrap_or_default();
            assert_eq!(&got, want, "{name}");
        }
    }

    /// Each row is newer than the row before it.
    const ASCENDING: &[&str] = &[
        "SIP41.1-0-0",
        "P0S30203",
        "SIP41.8-0-3S",
        "SIP11.8-3-3MPP1-1",
        "SCCP11.8-3-3S",
        "SCCP11.8-3-3SR2S",
        "SIP41.8-5-2S",
        "jar11sccp.8-5-2TH1-9.sbn",
        "SIP41.8-5-2SR1S",
        "SIP41.8-5-4S",
        "P0S3-8-12-00",
        "SIP41.9-3-1SR1-1S",
        "SIP41.9-4-2-1S",
        "SIP41.9-4-2SR1-1S",
        "SIP41.9-4-2SR3-1S",
        "SIP41.9-4-2SR4-3S",
        "sip78xx.12-5-1SR2-2",
    ];

    #[test]
    fn orders_versions() {
        let versions: Vec<Version> = ASCENDING
            .iter()
            .map(|name| Version::parse(name).unwrap_or_else(|| panic!("{name}")))
            .collect();
        for (pair, names) in versions.windows(2).zip(ASCENDING.windows(2)) {
            assert!(pair[0] < pair[1], "{} < {}", names[0], names[1]);
        }
        // No version sorts below every version (Option's order).
        assert!(Version::parse("P003AM30") < Version::parse("SIP41.1-0-0"));
        // Spelling does not matter, numbers do.
        assert_eq!(
            Version::parse("P0S3-08-12-00"),
            Version::parse("P0S3-8-12-00")
        );
        assert_eq!(
            Version::parse("SIP41.9-4-2SR3-1S"),
            Version::parse("9.4.2SR3-1")
        );
    }

    #[test]
    fn compares_with_numbers() {
        let v = Version::parse("SIP11.8-5-2S").unwrap();
        assert!(v.is(8, 5, 2));
        assert!(v.at_least(8, 3, 3));
        assert!(v.at_least(8, 5, 2));
        assert!(!v.at_least(8, 5, 3));
        assert!(!v.at_least(9, 0, 0));
        let sr = Version::parse("SCCP11.8-5-2SR1S").unwrap();
        assert!(sr.is(8, 5, 2) && sr > v);
        assert!(!Version::parse("SIP11.8-5-3S").unwrap().is(8, 5, 2));
        assert_eq!(
            Version::parse("P0S3-8-12-00").unwrap().numbers(),
            [8, 12, 0]
        );
    }

    #[test]
    fn splits_load_names() {
        let table: &[(&str, &str, Option<&str>)] = &[
            ("SIP41.9-4-2SR3-1S", "SIP41", Some("9-4-2SR3-1S")),
            ("P0S3-8-12-00", "P0S3", Some("8-12-00")),
            ("P0030801SR02", "P003", Some("0801SR02")),
            ("SIP8941_8945.9-3-1-18", "SIP8941_8945", Some("9-3-1-18")),
            ("CP7921G-1.4.6.3", "CP7921G", Some("1.4.6.3")),
            ("CIPC_Locale", "CIPC_Locale", None),
            ("-9", "-9", None),
        ];
        for (name, prefix, version) in table {
            let (got_prefix, got_version, _) = split_name(name);
            assert_eq!((got_prefix, got_version), (*prefix, *version), "{name}");
        }
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "é",
            "P0é",
            "SIP41.9é",
            "1-",
            "-",
            ".",
            "S",
            "9S",
            "SR",
            "9SR",
            "9.SR.",
            "P0S",
        ] {
            let _ = Version::parse(text);
        }
    }
}
