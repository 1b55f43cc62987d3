//! The Cisco phone model table, and the `Model` newtype that points into it.
//!
//! The table is data: `data/cisco-models.toml`, a copy of the verified facts in
//! `shared/reference/cisco-models.toml` (sources and conflicts in `cisco-facts.md`). `build.rs`
//! compiles it into a static array. Models are found three ways:
//! - from the DHCP vendor class (option 60): `Cisco Systems, Inc. IP Phone CP-7941G\0`;
//! - from the first file a phone asks for after a reset: `term41.default.loads`;
//! - by name, from the config or the state file.

use std::fmt;

/// Which configuration files a model's SIP firmware reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFamily {
    /// `SEP<MAC>.cnf.xml` (Java 79xx and newer).
    Sepxml,
    /// `SIPDefault.cnf` + `SIP<MAC>.cnf` (7940/7960 SIP firmware).
    Sipcnf,
}

/// One row of the model table. Fields are absent where no source verified them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// Model name as Cisco writes it, without the `CP-` prefix: `7941`, `7941G-GE`.
    pub name: &'static str,
    /// `NN` of `termNN.default.loads`.
    pub term_code: Option<&'static str>,
    /// CUCM device type: the `NNN` of `<loadInformationNNN>`.
    pub device_type: Option<u32>,
    /// First part of the SIP load name: `SIP41` in `SIP41.9-4-2SR3-1S`.
    pub loads_prefix: Option<&'static str>,
    /// The config files the SIP firmware reads.
    pub config: Option<ConfigFamily>,
    /// The full DHCP option 60 string where verified (may end in a NUL).
    pub vendor_class: Option<&'static str>,
    /// Longest SIP secret the firmware accepts.
    pub max_password_len: Option<usize>,
    /// Line/feature buttons on the phone itself (Cisco data sheets).
    pub line_buttons: Option<usize>,
    /// Key expansion modules the phone takes (`7914`, `7915`, `7916`).
    pub addon_modules: Option<&'static [&'static str]>,
}

// `MODELS`: the rows of data/cisco-models.toml, compiled by build.rs (the source notes stay
// in the data file).
include!(concat!(env!("OUT_DIR"), "/models.rs"));

/// Every model row.
pub fn all() -> &'static [ModelInfo] {
    MODELS
}

/// A phone model: a reference to its row in the table.
#[derive(Clone, Copy)]
pub struct Model(&'static ModelInfo);

impl Model {
    /// The model a SIP load's prefix (`SIP41`, `P0S3`) is for, when the table names one: the
    /// first plain-numbered row with that prefix (`SIP41` is shared by the 7941 and the
    /// 7961: it gives the 7941, whose files are the 7961's but for the button count, so a
    /// later vendor class or `term61.default.loads` can still name the 7961). Used only for
    /// a phone whose model nothing else named: an SCCP phone converting to SIP from
    /// `XMLDefault.cnf.xml` asks for its SIP load before any `term` file.
    pub fn by_loads_prefix(prefix: &str) -> Option<Model> {
        let mut fallback = None;
        for row in all().iter().filter(|row| {
            row.loads_prefix
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        }) {
            if row.name.bytes().all(|b| b.is_ascii_digit()) {
                return Some(Model(row));
            }
            fallback.get_or_insert(Model(row));
        }
        fallback
    }

    /// The model with exactly this name (`7941`, `7941G-GE`), case-insensitive, with or without
    /// a `CP-` prefix.
    pub fn by_name(name: &str) -> Option<Model> {
        let name = name.trim();
        let name = name
            .strip_prefix("CP-")
            .or_else(|| name.strip_prefix("cp-"))
            .unwrap_or(name);
        all()
            .iter()
            .find(|row| row.name.eq_ignore_ascii_case(name))
            .map(Model)
    }

    /// The model that asks for `term<code>.default.loads`. Where several rows share a code
    /// (7941 and 7941G-GE both use term41), the plain model wins.
    pub fn from_term_code(code: &str) -> Option<Model> {
        let rows = all().iter().filter(|row| row.term_code == Some(code));
        let mut fallback = None;
        for row in rows {
            if row.name.bytes().all(|b| b.is_ascii_digit()) {
                return Some(Model(row));
            }
            fallback.get_or_insert(Model(row));
        }
        fallback
    }

    /// The model named by a DHCP vendor class: `Cisco Systems, Inc. IP Phone CP-7941G`,
    /// `… CP-7941G-GE\0`, `Cisco Systems, Inc. IP Phone 7912`, `Cisco Systems Inc. Wireless
    /// Phone 7921`. `None` when the string names no model we know (e.g. `Cisco Systems, Inc.
    /// IP Phone` from old 7940 loaders).
    pub fn from_vendor_class(vendor_class: &str) -> Option<Model> {
        let text = vendor_class.trim_end_matches(['\0', ' ']);
        let (_, after) = text.rsplit_once("Phone ")?;
        let after = after.strip_prefix("CP-").unwrap_or(after);
        let token = after.split_whitespace().next()?;
        // Exact row first (7941G-GE), then the digits alone (7941G -> 7941).
        Model::by_name(token).or_else(|| {
            let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
            (digits.len() == 4)
                .then(|| Model::by_name(&digits))
                .flatten()
        })
    }

    /// The row.
    pub fn info(&self) -> &'static ModelInfo {
        self.0
    }

    /// The full name: `7941G-GE`.
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// The base model number, the leading digits of the name: `7941` for a 7941G-GE.
    pub fn base(&self) -> &'static str {
        let name = self.name();
        let end = name
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(name.len());
        &name[..end]
    }

    /// Buttons for lines and speed dials with `addon_modules` attached, when known.
    pub fn buttons_with(&self, addon_modules: &[String]) -> Option<usize> {
        let own = self.0.line_buttons?;
        Some(
            own + addon_modules
                .iter()
                .map(|kem| addon_module_buttons(kem))
                .sum::<usize>(),
        )
    }

    /// True when the phone takes this key expansion module.
    pub fn takes_addon_module(&self, kem: &str) -> bool {
        self.0
            .addon_modules
            .as_ref()
            .is_some_and(|kems| kems.contains(&kem))
    }

    /// The config family, when the firmware is known to be SIP-capable.
    pub fn family(&self) -> Option<ConfigFamily> {
        self.0.config
    }
}

impl PartialEq for Model {
    fn eq(&self, other: &Model) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Model {}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Model({})", self.name())
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Key expansion modules: 7914 has 14 buttons, 7915 and 7916 two pages of 12.
pub const ADDON_MODULES: &[(&str, usize)] = &[("7914", 14), ("7915", 24), ("7916", 24)];

/// Buttons of a key expansion module (0 for an unknown one).
pub fn addon_module_buttons(kem: &str) -> usize {
    ADDON_MODULES
        .iter()
        .find(|(name, _)| *name == kem)
        .map_or(0, |(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn table_is_valid() {
        let rows = all();
        assert!(rows.len() >= 40);
        let mut names = HashSet::new();
        let mut device_types = HashSet::new();
        for row in rows {
            assert!(names.insert(row.name), "duplicate {}", row.name);
            if let Some(device_type) = row.device_type {
                assert!(device_types.insert(device_type), "duplicate {device_type}");
            }
            if let Some(code) = &row.term_code {
                assert!(code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }

    #[track_caller]
    fn check_vci(vendor_class: &str, expected: Option<&str>) {
        let got = Model::from_vendor_class(vendor_class).map(|m| m.name());
        assert_eq!(got, expected, "{vendor_class:?}");
    }

    #[test]
    fn vendor_classes() {
        // Strings from cisco-facts.md section 5a and the lab capture.
        check_vci("Cisco Systems, Inc. IP Phone CP-7941G", Some("7941"));
        check_vci("Cisco Systems, Inc. IP Phone CP-7941G\0", Some("7941"));
        check_vci("Cisco Systems, Inc. IP Phone CP-7911G\0", Some("7911"));
        check_vci("Cisco Systems, Inc. IP Phone CP-7940\0", Some("7940"));
        check_vci(
            "Cisco Systems, Inc. IP Phone CP-7961G-GE\0",
            Some("7961G-GE"),
        );
        check_vci("Cisco Systems, Inc. IP Phone CP-7971G-GE\0", Some("7971"));
        check_vci("Cisco Systems, Inc. IP Phone 7912", Some("7912"));
        check_vci("Cisco Systems Inc. Wireless Phone 7921", Some("7921"));
        check_vci("Cisco Systems, Inc. IP Phone CP-8961\0", Some("8961"));
        check_vci("Cisco Systems, Inc. IP Phone\0", None);
        check_vci("Cisco Systems, Inc.", None);
        check_vci("MSFT 5.0", None);
        check_vci("", None);
    }

    #[test]
    fn term_codes_and_bases() {
        for (code, name) in [
            ("06", "7906"),
            ("11", "7911"),
            ("41", "7941"),
            ("61", "7961"),
            ("42", "7942"),
            ("62", "7962"),
            ("45", "7945"),
            ("65", "7965"),
            ("70", "7970"),
            ("71", "7971"),
            ("75", "7975"),
            ("31", "7931"),
        ] {
            assert_eq!(Model::from_term_code(code).map(|m| m.name()), Some(name));
        }
        assert_eq!(Model::from_term_code("99"), None);
        assert_eq!(Model::by_name("7941G-GE").unwrap().base(), "7941");
        assert_eq!(Model::by_name("CP-7941G-GE").unwrap().base(), "7941");
        assert_eq!(Model::by_name("8851NR").unwrap().base(), "8851");
        assert_eq!(
            Model::by_name("7906").unwrap().info().device_type,
            Some(369)
        );
    }
}
