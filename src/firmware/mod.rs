//! Phone firmware in the TFTP root: which loads are there, and whether each is complete.
//!
//! A Cisco firmware package holds one `<load>.loads` file and the images it names. The
//! `.loads` file is signed: a binary header (Cisco's `.sgn` layout: tag-length-value fields
//! with the signer, the signature and the file name, then padding) and a plain-text body that
//! names the images, e.g. `jar41sip.9-4-2ES26.sbn`, `cnu41.…`, `apps41.…`, `dsp41.…`,
//! `cvm41sip.…` for a 7941, or `P003-8-12-00.sbn` and `P0S3-8-12-00.sb2` for a 7940. A phone
//! told to run a load (`<loadInformation>` in its config, without `.loads`) fetches that file,
//! then every image it names, by exact name: a load is only usable when all of them are there.
//!
//! `termNN.default.loads` files ship in the Java 79xx packages too. They are not loads but
//! pointers: a phone after a factory reset asks for its `termNN.default.loads` and fetches the
//! images it names. The SIP and SCCP packages ship files of the same name.
//!
//! This module is pure: [`inventory_of`] takes file names and the bytes of the `.loads` files.
//! [`scan`] reads a TFTP root, [`import`] unpacks packages into it, [`cli`] formats both.

pub mod cli;
mod gzip;
pub mod import;
pub mod scan;
mod tar;
pub mod version;
mod zip;

use std::collections::BTreeSet;

pub use import::{import, ImportError, ImportReport};
pub use scan::scan;
pub use version::Version;

/// Which call-control protocol a load speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `SIP41.…`, `sip78xx.…`, `P0S3-…` (7940/7960 SIP).
    Sip,
    /// `SCCP11.…`, `P003…` (7940/7960 SCCP).
    Sccp,
    /// Anything else (`P0M3` MGCP, wireless and conference phones, locale packages).
    Other,
}

impl Protocol {
    /// The protocol a load prefix names: `SIP…`, `SCCP…`, `P0S…`, `P00…`.
    pub fn of_prefix(prefix: &str) -> Protocol {
        let upper = prefix.to_ascii_uppercase();
        if upper.starts_with("SIP") || upper.starts_with("P0S") {
            Protocol::Sip
        } else if upper.starts_with("SCCP") || upper.starts_with("P00") {
            Protocol::Sccp
        } else {
            Protocol::Other
        }
    }

    /// `sip`, `sccp`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Sip => "sip",
            Protocol::Sccp => "sccp",
            Protocol::Other => "other",
        }
    }
}

/// One `<name>.loads` file in the TFTP root and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    /// The file name without `.loads`, exact case: what `<loadInformation>` must hold.
    pub name: String,
    /// The part before the version: `SIP41`, `SCCP11`, `P0S3`, `P003`.
    pub prefix: String,
    /// The protocol the prefix names.
    pub protocol: Protocol,
    /// The version in the name, when it has one.
    pub version: Option<Version>,
    /// Image names found in the file's body, exact case, in file order.
    pub images: Vec<String>,
    /// Those of `images` not in the TFTP root (names compared exactly, as TFTP servers do).
    pub missing: Vec<String>,
}

impl Load {
    /// Every image the load names is present. A load whose body names no image (unreadable,
    /// or a layout we do not recognise) is not complete: nothing says it is usable.
    pub fn is_complete(&self) -> bool {
        !self.images.is_empty() && self.missing.is_empty()
    }
}

/// The firmware in a TFTP root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Every `.loads` file except the `termNN.default.loads` pointers, sorted by name.
    pub loads: Vec<Load>,
    /// Every image file present (by extension: `.sbn`, `.sb2`, `.bin`, …).
    pub images: BTreeSet<String>,
    /// Every `termNN.default.loads` and the images it names, sorted by name.
    pub term_files: Vec<(String, Vec<String>)>,
}

impl Inventory {
    /// The newest complete load whose prefix is `prefix` (`SIP41`, `P0S3`; compared without
    /// regard to case). Loads without a version rank below every versioned one.
    pub fn newest_complete(&self, prefix: &str) -> Option<&Load> {
        self.loads
            .iter()
            .filter(|load| load.prefix.eq_ignore_ascii_case(prefix) && load.is_complete())
            .max_by(|a, b| (&a.version, &a.name).cmp(&(&b.version, &b.name)))
    }

    /// The universal application loader that the 7940/7960 SIP load `load` (`P0S3-8-12-00`)
    /// ships: `P003-8-12-00`, when its `.bin` or `.sbn` is in the TFTP root. `OS79XX.TXT`
    /// names it: old loaders read that file first, and the two working 8.12 guides
    /// (`real-configs/teo-lkml-7960`, `german-fritzbox-7960`) put `P003-8-12-00` there; the
    /// SIP load's own name has no `.bin`/`.sbn` to boot (field-evidence.md §3).
    pub fn universal_loader(&self, load: &str) -> Option<String> {
        let rest = load
            .get(..4)
            .filter(|prefix| prefix.eq_ignore_ascii_case("P0S3"))
            .and_then(|_| load.get(4..))?;
        let stem = format!("P003{rest}");
        self.images.iter().find_map(|image| {
            let (name, extension) = image.rsplit_once('.')?;
            (name.eq_ignore_ascii_case(&stem)
                && (extension.eq_ignore_ascii_case("bin") || extension.eq_ignore_ascii_case("sbn")))
            .then(|| name.to_string())
        })
    }

    /// The load with exactly this name (without `.loads`).
    pub fn get(&self, name: &str) -> Option<&Load> {
        self.loads.iter().find(|load| load.name == name)
    }

    /// The complete 8.5.2 load of a Java 79xx family, the stepping stone for phones below
    /// 8.3.3 that must reach 9.x (`cisco-facts.md` §7). `prefix` names the family in either
    /// protocol (`SIP11` or `SCCP11` for the 7906/7911); a load of that protocol is preferred,
    /// then the newest 8.5.2 (an SR over the first release).
    pub fn ladder_step(&self, prefix: &str) -> Option<&Load> {
        let upper = prefix.to_ascii_uppercase();
        let (protocol, family) = if let Some(family) = upper.strip_prefix("SIP") {
            (Protocol::Sip, family)
        } else if let Some(family) = upper.strip_prefix("SCCP") {
            (Protocol::Sccp, family)
        } else {
            return None;
        };
        if family.is_empty() {
            return None;
        }
        let sip = format!("SIP{family}");
        let sccp = format!("SCCP{family}");
        self.loads
            .iter()
            .filter(|load| {
                (load.prefix.eq_ignore_ascii_case(&sip) || load.prefix.eq_ignore_ascii_case(&sccp))
                    && load.version.as_ref().is_some_and(|v| v.is(8, 5, 2))
                    && load.is_complete()
            })
            .max_by(|a, b| {
                (a.protocol == protocol, &a.version, &a.name).cmp(&(
                    b.protocol == protocol,
                    &b.version,
                    &b.name,
                ))
            })
    }

    /// The load whose body names image `image` (exact name); the first by name when several do.
    pub fn load_containing(&self, image: &str) -> Option<&Load> {
        self.loads
            .iter()
            .find(|load| load.images.iter().any(|name| name == image))
    }

    /// Images present that no load and no term file names, sorted.
    pub fn stray_images(&self) -> Vec<&str> {
        self.images
            .iter()
            .filter(|image| {
                !self.loads.iter().any(|load| load.images.contains(image))
                    && !self
                        .term_files
                        .iter()
                        .any(|(_, names)| names.contains(image))
            })
            .map(String::as_str)
            .collect()
    }
}

/// Extensions of firmware images, lower case. From real packages: `.sbn` (Java 79xx, 7940
/// loader), `.sb2` and `.bin` (7940/7960), `.zup` and `.sbin` (7905/7912), `.sebn` (89xx/99xx),
/// `.zz` and `.sgn` (69xx `*.zz.sgn`, 894x `*.bin.sgn`).
const IMAGE_EXTENSIONS: &[&str] = &["sbn", "sb2", "bin", "zup", "sbin", "sebn", "sgn", "zz"];

/// Whether a file name may stand for a load or an image: no control character, quote or
/// backslash. Load names reach `SIPDefault.cnf` (`image_version: "…"`) and the XML files;
/// a newline in one would add `key: value` lines every 7940/7960 reads (field-evidence.md
/// §4). Such a file is not firmware to us.
pub fn is_plain_firmware_name(name: &str) -> bool {
    !name
        .chars()
        .any(|c| c.is_control() || matches!(c, '"' | '\\' | '\''))
}

/// Whether `name` ends in an image extension (any case) after a non-empty stem.
pub fn is_image_name(name: &str) -> bool {
    if !is_plain_firmware_name(name) {
        return false;
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) => {
            stem.bytes().any(|b| b.is_ascii_alphanumeric())
                && IMAGE_EXTENSIONS
                    .iter()
                    .any(|known| ext.eq_ignore_ascii_case(known))
        }
        None => false,
    }
}

/// Whether `name` is a `.loads` file (any case), term files included.
pub fn is_loads_name(name: &str) -> bool {
    loads_stem(name).is_some()
}

/// Whether `name` is a `termNN.default.loads` pointer (any case: old CUCM releases wrote
/// `TERMNN.DEFAULT.loads`).
pub fn is_term_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower
        .strip_prefix("term")
        .and_then(|rest| rest.strip_suffix(".default.loads"))
        .is_some_and(|code| !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `name` without its `.loads` extension.
fn loads_stem(name: &str) -> Option<&str> {
    if !is_plain_firmware_name(name) {
        return None;
    }
    let cut = name.len().checked_sub(".loads".len())?;
    let (stem, ext) = (name.get(..cut)?, name.get(cut..)?);
    (ext.eq_ignore_ascii_case(".loads") && !stem.is_empty()).then_some(stem)
}

/// Where the body of a file signed with Cisco's `.sgn` header starts, when `bytes` begins with
/// one: tag 1 (version, 2 bytes), tag 2 (header length, 2 bytes, big-endian), and the length
/// covers at least those fields and no more than the file.
pub fn signed_body_offset(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [1, 0, 2, _, _, 2, 0, 2, high, low, ..] => {
            let length = usize::from(u16::from_be_bytes([*high, *low]));
            (10..=bytes.len()).contains(&length).then_some(length)
        }
        _ => None,
    }
}

/// The image names a `.loads` or `termNN.default.loads` file names, in order, without
/// duplicates. Any run of file-name characters (`A-Z a-z 0-9 . - _`) that ends in an image
/// extension counts, wherever it is: the body layout is not assumed. When the file starts
/// with a `.sgn` header only the body after it is read, so header bytes cannot run into the
/// first name.
pub fn image_names(bytes: &[u8]) -> Vec<String> {
    let body = &bytes[signed_body_offset(bytes).unwrap_or(0)..];
    let mut names: Vec<String> = Vec::new();
    let is_name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
    for run in body.split(|b| !is_name_byte(b)) {
        let run = trim_bytes(run, |b| matches!(b, b'.' | b'-' | b'_'));
        if run.is_empty() || run.len() > 255 {
            continue;
        }
        // The run holds only ASCII, so this cannot fail.
        let Ok(name) = std::str::from_utf8(run) else {
            continue;
        };
        if is_image_name(name) && !names.iter().any(|seen| seen == name) {
            names.push(name.to_string());
        }
    }
    names
}

fn trim_bytes(mut bytes: &[u8], trim: impl Fn(u8) -> bool) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !trim(*first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !trim(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// Builds the inventory of a directory from its file names and, for `.loads` files, their
/// contents (`None` for other files, or a `.loads` that could not be read). Names starting
/// with a dot (temporary files) are ignored.
pub fn inventory_of(files: &[(String, Option<Vec<u8>>)]) -> Inventory {
    // A sorted set of the names gives the order of the loads and term files (no sort needed).
    let present: BTreeSet<&str> = files
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !name.starts_with('.'))
        .collect();
    let mut inventory = Inventory::default();
    for &name in &present {
        if is_image_name(name) {
            inventory.images.insert(name.to_string());
        }
        let Some(stem) = loads_stem(name) else {
            continue;
        };
        let images = files
            .iter()
            .find(|(file, _)| file == name)
            .and_then(|(_, contents)| contents.as_deref())
            .map(image_names)
            .unwrap_or_default();
        if is_term_file(name) {
            inventory.term_files.push((name.to_string(), images));
            continue;
        }
        let (prefix, _, _) = version::split_name(stem);
        let missing = images
            .iter()
            .filter(|image| !present.contains(image.as_str()))
            .cloned()
            .collect();
        inventory.loads.push(Load {
            name: stem.to_string(),
            prefix: prefix.to_string(),
            protocol: Protocol::of_prefix(prefix),
            version: Version::parse(stem),
            images,
            missing,
        });
    }
    inventory
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/firmware/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    /// The names and, for `.loads` files, the contents of a TFTP root holding `names`; `.loads`
    /// contents come from `tests/data/firmware/` (a `.loads` not there is unreadable: `None`).
    fn root(names: &[&str]) -> Vec<(String, Option<Vec<u8>>)> {
        names
            .iter()
            .map(|name| {
                let path = format!("{}/tests/data/firmware/{name}", env!("CARGO_MANIFEST_DIR"));
                let exists = std::path::Path::new(&path).exists();
                let contents = (is_loads_name(name) && exists).then(|| data(name));
                (name.to_string(), contents)
            })
            .collect()
    }

    const SIP41_IMAGES: &[&str] = &[
        "jar41sip.9-4-2ES26.sbn",
        "cnu41.9-4-2ES26.sbn",
        "apps41.9-4-2ES26.sbn",
        "dsp41.9-4-2ES26.sbn",
        "cvm41sip.9-4-2ES26.sbn",
    ];

    /// (test-data file, the image names its body lists).
    const BODIES: &[(&str, &[&str])] = &[
        ("SIP41.9-4-2SR3-1S.loads", SIP41_IMAGES),
        ("term41.default.loads", SIP41_IMAGES),
        (
            "P0S3-8-12-00.loads",
            &["P003-8-12-00.sbn", "P0S3-8-12-00.sb2"],
        ),
        (
            "SCCP11.8-5-2S.loads",
            &[
                "jar11sccp.8-5-2TH1-9.sbn",
                "cnu11.8-5-2TH1-9.sbn",
                "apps11.8-5-2TH1-9.sbn",
                "dsp11.8-5-2TH1-9.sbn",
                "cvm11sccp.8-5-2TH1-9.sbn",
            ],
        ),
        (
            "SIP11.9-4-2SR1-1S.loads",
            &[
                "jar11sip.9-4-2ES9.sbn",
                "cnu11.9-4-2ES9.sbn",
                "apps11.9-4-2ES9.sbn",
                "dsp11.9-4-2ES9.sbn",
                "cvm11sip.9-4-2ES9.sbn",
            ],
        ),
        (
            "SIP69xx.9-4-1-3.loads",
            &[
                "BOOT69xx.0-0-0-14.zz.sgn",
                "DSP69xx.0-0-0-5.zz.sgn",
                "SIP69xx.9-4-1-3.zz.sgn",
            ],
        ),
        (
            "unsigned-junk.loads",
            &["apps41.9-3-1ES9.sbn", "dsp41.9-3-1ES9.sbn"],
        ),
    ];

    #[test]
    fn reads_image_names_from_loads_files() {
        for (file, want) in BODIES {
            assert_eq!(image_names(&data(file)), *want, "{file}");
        }
    }

    #[test]
    fn image_names_in_any_layout() {
        let table: &[(&[u8], &[&str])] = &[
            (
                b"jar41sip.9-4-2ES26.sbn\ncnu41.9-4-2ES26.sbn\r\n",
                &["jar41sip.9-4-2ES26.sbn", "cnu41.9-4-2ES26.sbn"],
            ),
            (
                b"<image>apps41.9-4-2ES26.sbn</image>",
                &["apps41.9-4-2ES26.sbn"],
            ),
            (b"LOAD=P0S3-8-12-00.sb2;size=123", &["P0S3-8-12-00.sb2"]),
            (
                b"\x00\x13dsp41.9-4-2ES26.sbn\x00 dsp41.9-4-2ES26.sbn",
                &["dsp41.9-4-2ES26.sbn"],
            ),
            (
                b"see apps11.8-5-2TH1-9.sbn. and -cnu11.8-5-2TH1-9.sbn-",
                &["apps11.8-5-2TH1-9.sbn", "cnu11.8-5-2TH1-9.sbn"],
            ),
            (
                b"APPS-1.4.6.3.SBN GUI-1.4.6.3.SBN",
                &["APPS-1.4.6.3.SBN", "GUI-1.4.6.3.SBN"],
            ),
            (
                b"CP7912080004SCCP080108A.sbin CP7905080003SCCP070409A.zup",
                &[
                    "CP7912080004SCCP080108A.sbin",
                    "CP7905080003SCCP070409A.zup",
                ],
            ),
            // Not images: the load itself, a version line, a config file, a bare extension.
            (
                b"SIP41.9-4-2SR3-1S.loads LA_VERSION=PAS30830 XMLDefault.cnf.xml .sbn ..sbn",
                &[],
            ),
            (b"", &[]),
        ];
        for (bytes, want) in table {
            assert_eq!(
                image_names(bytes),
                *want,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn image_names_never_panic_on_garbage() {
        // A small xorshift generator: the same bytes on every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..200 {
            let len = (next() % 4096) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 3 == 0 {
                // A plausible header with a length pointing anywhere.
                bytes.splice(
                    0..0,
                    [1, 0, 2, 1, 2, 2, 0, 2, (next() >> 8) as u8, next() as u8],
                );
            }
            if round % 5 == 0 {
                bytes.extend_from_slice(b"x.sbn");
            }
            for name in image_names(&bytes) {
                assert!(is_image_name(&name) && name.len() <= 255);
            }
        }
        let long = format!("{}.sbn", "a".repeat(300));
        assert!(image_names(long.as_bytes()).is_empty());
    }

    #[test]
    fn recognises_a_signed_header() {
        assert_eq!(
            signed_body_offset(&data("SIP41.9-4-2SR3-1S.loads")),
            Some(304)
        );
        assert_eq!(signed_body_offset(&data("unsigned-junk.loads")), None);
        assert_eq!(signed_body_offset(&[1, 0, 2, 1, 2, 2, 0, 2, 0, 9]), None);
        assert_eq!(
            signed_body_offset(&[1, 0, 2, 1, 2, 2, 0, 2, 0, 10]),
            Some(10)
        );
        assert_eq!(signed_body_offset(&[1, 0, 2, 1, 2, 2, 0, 2, 0, 11]), None);
        assert_eq!(signed_body_offset(&[1, 0, 2]), None);
    }

    #[test]
    fn classifies_file_names() {
        // (name, image, loads, term file)
        let table: &[(&str, bool, bool, bool)] = &[
            ("jar41sip.9-4-2ES26.sbn", true, false, false),
            ("P0S3-8-12-00.sb2", true, false, false),
            ("P003-8-12-00.bin", true, false, false),
            ("CP7912080004SCCP080108A.sbin", true, false, false),
            ("SIP69xx.9-4-1-3.zz.sgn", true, false, false),
            ("APPS-1.4.6.3.SBN", true, false, false),
            ("SIP41.9-4-2SR3-1S.loads", false, true, false),
            ("CP7921G-1.4.6.3.LOADS", false, true, false),
            ("term41.default.loads", false, true, true),
            ("TERM06.DEFAULT.loads", false, true, true),
            ("term.default.loads", false, true, false),
            ("SEP001B0C18BDC1.cnf.xml", false, false, false),
            ("OS79XX.TXT", false, false, false),
            ("load115.txt", false, false, false),
            (".sbn", false, false, false),
            (".loads", false, false, false),
            ("sbn", false, false, false),
        ];
        for (name, image, loads, term) in table {
            assert_eq!(
                (is_image_name(name), is_loads_name(name), is_term_file(name)),
                (*image, *loads, *term),
                "{name}"
            );
        }
    }

    #[test]
    fn complete_and_incomplete_loads() {
        let mut names = vec![
            "SIP41.9-4-2SR3-1S.loads",
            "term41.default.loads",
            "term61.default.loads",
        ];
        names.extend(
            SIP41_IMAGES
                .iter()
                .filter(|image| !image.starts_with("dsp")),
        );
        let inventory = inventory_of(&root(&names));
        let load = inventory.get("SIP41.9-4-2SR3-1S").unwrap();
        assert_eq!(load.prefix, "SIP41");
        assert_eq!(load.protocol, Protocol::Sip);
        assert_eq!(load.version, Version::parse("9.4.2SR3-1"));
        assert_eq!(load.images, SIP41_IMAGES);
        assert_eq!(load.missing, ["dsp41.9-4-2ES26.sbn"]);
        assert!(!load.is_complete());
        assert_eq!(inventory.newest_complete("SIP41"), None);

        names.push("dsp41.9-4-2ES26.sbn");
        let inventory = inventory_of(&root(&names));
        assert!(inventory.get("SIP41.9-4-2SR3-1S").unwrap().is_complete());
        assert_eq!(
            inventory.newest_complete("SIP41").unwrap().name,
            "SIP41.9-4-2SR3-1S"
        );
        assert_eq!(
            inventory.newest_complete("sip41").unwrap().name,
            "SIP41.9-4-2SR3-1S"
        );
        assert_eq!(inventory.newest_complete("SIP42"), None);
        assert_eq!(inventory.stray_images(), Vec::<&str>::new());
    }

    #[test]
    fn case_mismatch_counts_as_missing() {
        let mut names = vec!["SIP41.9-4-2SR3-1S.loads"];
        names.extend(
            SIP41_IMAGES
                .iter()
                .filter(|image| !image.starts_with("apps")),
        );
        names.push("APPS41.9-4-2ES26.SBN");
        let inventory = inventory_of(&root(&names));
        let load = inventory.get("SIP41.9-4-2SR3-1S").unwrap();
        assert_eq!(load.missing, ["apps41.9-4-2ES26.sbn"]);
        assert!(!load.is_complete());
        assert_eq!(inventory.stray_images(), ["APPS41.9-4-2ES26.SBN"]);
        // The load's own name is exact too.
        assert_eq!(inventory.get("sip41.9-4-2sr3-1s"), None);
    }

    #[test]
    fn newest_complete_skips_a_newer_incomplete_load() {
        let names = [
            "SIP11.9-4-2SR1-1S.loads",
            "SCCP11.8-5-2S.loads",
            // All of 8.5.2, none of 9.4.2SR1 but its jar.
            "jar11sccp.8-5-2TH1-9.sbn",
            "cnu11.8-5-2TH1-9.sbn",
            "apps11.8-5-2TH1-9.sbn",
            "dsp11.8-5-2TH1-9.sbn",
            "cvm11sccp.8-5-2TH1-9.sbn",
            "jar11sip.9-4-2ES9.sbn",
        ];
        let inventory = inventory_of(&root(&names));
        assert_eq!(inventory.newest_complete("SIP11"), None);
        assert_eq!(
            inventory.newest_complete("SCCP11").unwrap().name,
            "SCCP11.8-5-2S"
        );
        assert_eq!(
            inventory.get("SIP11.9-4-2SR1-1S").unwrap().missing,
            [
                "cnu11.9-4-2ES9.sbn",
                "apps11.9-4-2ES9.sbn",
                "dsp11.9-4-2ES9.sbn",
                "cvm11sip.9-4-2ES9.sbn"
            ]
        );
        // The 8.5.2 step for the 7906/7911 family, asked for by its SIP prefix or its SCCP one.
        assert_eq!(
            inventory.ladder_step("SIP11").unwrap().name,
            "SCCP11.8-5-2S"
        );
        assert_eq!(
            inventory.ladder_step("SCCP11").unwrap().name,
            "SCCP11.8-5-2S"
        );
        assert_eq!(inventory.ladder_step("SIP41"), None);
        assert_eq!(inventory.ladder_step("P0S3"), None);
        assert_eq!(inventory.ladder_step("SIP"), None);
        assert_eq!(
            inventory
                .load_containing("cnu11.8-5-2TH1-9.sbn")
                .unwrap()
                .name,
            "SCCP11.8-5-2S"
        );
        assert_eq!(
            inventory
                .load_containing("jar11sip.9-4-2ES9.sbn")
                .unwrap()
                .name,
            "SIP11.9-4-2SR1-1S"
        );
        assert_eq!(inventory.load_containing("nothing.sbn"), None);
    }

    #[test]
    fn newest_of_several_complete_loads() {
        // Two SIP41 loads, both complete: the version decides, not the name's sort order.
        let older = b"\x00jar41sip.8-5-4TH1-6.sbn\x00".to_vec();
        let newer = b"\x00jar41sip.9-4-2ES26.sbn\x00".to_vec();
        let files = vec![
            ("SIP41.8-5-4S.loads".to_string(), Some(older)),
            ("SIP41.9-4-2SR3-1S.loads".to_string(), Some(newer)),
            (
                "SIP41.custom.loads".to_string(),
                Some(b"jar41sip.8-5-4TH1-6.sbn".to_vec()),
            ),
            ("jar41sip.8-5-4TH1-6.sbn".to_string(), None),
            ("jar41sip.9-4-2ES26.sbn".to_string(), None),
        ];
        let inventory = inventory_of(&files);
        assert_eq!(
            inventory.newest_complete("SIP41").unwrap().name,
            "SIP41.9-4-2SR3-1S"
        );
        let custom = inventory.get("SIP41.custom").unwrap();
        assert_eq!(
            (custom.prefix.as_str(), custom.version.as_ref()),
            ("SIP41.custom", None)
        );
    }

    #[test]
    fn ladder_prefers_the_asked_protocol() {
        let body = |images: &[&str]| Some(images.join("\n").into_bytes());
        let sip = ["jar11sip.8-5-2TH1-9.sbn"];
        let sccp = ["jar11sccp.8-5-2TH1-9.sbn"];
        let mut files = vec![
            ("SIP11.8-5-2S.loads".to_string(), body(&sip)),
            ("SCCP11.8-5-2SR1S.loads".to_string(), body(&sccp)),
            ("SIP11.8-5-3S.loads".to_string(), body(&sip)),
        ];
        files.extend(sip.iter().chain(&sccp).map(|name| (name.to_string(), None)));
        let inventory = inventory_of(&files);
        assert_eq!(inventory.ladder_step("SIP11").unwrap().name, "SIP11.8-5-2S");
        assert_eq!(
            inventory.ladder_step("SCCP11").unwrap().name,
            "SCCP11.8-5-2SR1S"
        );
    }

    #[test]
    fn term_files_are_pointers_not_loads() {
        let names = [
            "term41.default.loads",
            "term61.default.loads",
            "TERM06.DEFAULT.loads",
        ];
        let mut files = root(&names[..2]);
        files.push((names[2].to_string(), None));
        files.push(("jar41sip.9-4-2ES26.sbn".to_string(), None));
        let inventory = inventory_of(&files);
        assert!(inventory.loads.is_empty());
        let term_names: Vec<&str> = inventory
            .term_files
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            term_names,
            [
                "TERM06.DEFAULT.loads",
                "term41.default.loads",
                "term61.default.loads"
            ]
        );
        assert_eq!(inventory.term_files[1].1, SIP41_IMAGES);
        assert!(inventory.term_files[0].1.is_empty());
        // An image a term file names is not stray.
        assert_eq!(inventory.stray_images(), Vec::<&str>::new());
    }

    #[test]
    fn seventy_nine_forty_loads() {
        let names = [
            "P0S3-8-12-00.loads",
            "P0S3-8-12-00.sb2",
            "P003-8-12-00.sbn",
            "P003-8-12-00.bin",
            "P0S3-8-12-00.bin",
            "OS79XX.TXT",
            ".cisco-autoprov.SEP001B0C18BDC1.cnf.xml.1.0",
        ];
        let inventory = inventory_of(&root(&names));
        let load = inventory.newest_complete("P0S3").unwrap();
        assert_eq!(load.name, "P0S3-8-12-00");
        assert_eq!(load.protocol, Protocol::Sip);
        assert!(load.version.as_ref().unwrap().is(8, 12, 0));
        assert_eq!(inventory.images.len(), 4);
        // The .bin files ship in the package but the .loads does not name them.
        assert_eq!(
            inventory.stray_images(),
            ["P003-8-12-00.bin", "P0S3-8-12-00.bin"]
        );
    }

    #[test]
    fn unreadable_or_empty_loads_is_incomplete() {
        let files = vec![
            ("SIP41.9-4-2SR3-1S.loads".to_string(), None),
            (
                "SIP42.9-4-2SR3-1S.loads".to_string(),
                Some(b"\x01\x00\x02garbage".to_vec()),
            ),
        ];
        let inventory = inventory_of(&files);
        assert_eq!(inventory.loads.len(), 2);
        assert!(inventory
            .loads
            .iter()
            .all(|load| !load.is_complete() && load.images.is_empty()));
        assert_eq!(inventory.newest_complete("SIP41"), None);
    }

    /// A `.loads` file whose name holds a newline would put `key: value` lines into
    /// `SIPDefault.cnf` for every 7940/7960 (field-evidence.md §4): it is not firmware.
    #[test]
    fn firmware_names_with_control_characters_are_ignored() {
        let body = b"P003-8-12-00.sbn\nP0S3-8-12-00.sb2\n".to_vec();
        let files = vec![
            (
                "P0S3-8-12-00\nimage_version: \"evil\".loads".to_string(),
                Some(body.clone()),
            ),
            ("P0S3-8-12-00\".loads".to_string(), Some(body)),
            ("P003-8-12-00\r.sbn".to_string(), None),
        ];
        let inventory = inventory_of(&files);
        assert!(inventory.loads.is_empty(), "{inventory:?}");
        assert!(inventory.images.is_empty(), "{inventory:?}");
        assert!(!is_plain_firmware_name("a\u{7f}.loads"));
        assert!(is_plain_firmware_name("SIP41.9-4-2SR3-1S.loads"));
    }

    #[test]
    fn universal_loader_is_the_p003_image_the_sip_load_ships() {
        // Cisco's 8.12 package: P0S3-8-12-00.loads names P003-8-12-00.sbn and
        // P0S3-8-12-00.sb2; P003-8-12-00.bin sits beside them (cisco-facts.md §5, S2).
        let inventory = |images: &[&str]| Inventory {
            images: images.iter().map(|name| name.to_string()).collect(),
            ..Inventory::default()
        };
        let full = inventory(&["P003-8-12-00.sbn", "P003-8-12-00.bin", "P0S3-8-12-00.sb2"]);
        assert_eq!(
            full.universal_loader("P0S3-8-12-00").as_deref(),
            Some("P003-8-12-00")
        );
        let lower = inventory(&["p003-8-12-00.bin"]);
        assert_eq!(
            lower.universal_loader("P0S3-8-12-00").as_deref(),
            Some("p003-8-12-00"),
            "the name as it is in the root"
        );
        assert_eq!(
            inventory(&["P0S3-8-12-00.sb2"]).universal_loader("P0S3-8-12-00"),
            None
        );
        assert_eq!(
            inventory(&["P003-8-11-00.sbn"]).universal_loader("P0S3-8-12-00"),
            None
        );
        assert_eq!(full.universal_loader("SIP41.9-4-2SR3-1S"), None);
        assert_eq!(full.universal_loader("P0€"), None);
    }

    #[test]
    fn protocols_of_prefixes() {
        let table = [
            ("SIP41", Protocol::Sip),
            ("sip78xx", Protocol::Sip),
            ("SIP8941_8945", Protocol::Sip),
            ("P0S3", Protocol::Sip),
            ("SCCP11", Protocol::Sccp),
            ("P003", Protocol::Sccp),
            ("P0M3", Protocol::Other),
            ("CP7921G", Protocol::Other),
            ("CIPC_Locale", Protocol::Other),
        ];
        for (prefix, want) in table {
            assert_eq!(Protocol::of_prefix(prefix), want, "{prefix}");
        }
    }
}
