//! The phones' network locale: the tones (dial tone, ringback, busy) of the local phone
//! network, chosen by country.
//!
//! The XML firmware names it in `<networkLocale>` and downloads the tones from a directory of
//! that name in the TFTP root, which Cisco's locale installer creates; without the files
//! the phone keeps the default `United_States` (usecallmanager.nz `sepmac-cnf-xml`, in
//! `real-configs/usecallmanager-site/`: "If you do not have the locale file use the
//! default of United_States"). So the edge asks for a locale only when its directory is in
//! the TFTP root, and `check` says when it is not. The 7940/7960 SIP firmware has no network
//! locale setting in any working configuration.

/// `(ISO 3166 country code, network locale)`: the directory names of Cisco's network locale
/// installer.
const LOCALES: &[(&str, &str)] = &[
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("BE", "Belgium"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("CH", "Switzerland"),
    ("CN", "China"),
    ("CZ", "Czech_Republic"),
    ("DE", "Germany"),
    ("DK", "Denmark"),
    ("ES", "Spain"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GB", "United_Kingdom"),
    ("GR", "Greece"),
    ("HU", "Hungary"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IN", "India"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("MX", "Mexico"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NZ", "New_Zealand"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RU", "Russian_Federation"),
    ("SE", "Sweden"),
    ("SK", "Slovakia"),
    ("TR", "Turkey"),
    ("US", "United_States"),
    ("ZA", "South_Africa"),
];

/// The firmware's default, built into every phone.
pub const DEFAULT_NETWORK_LOCALE: &str = "United_States";

/// The network locale of a country (`DE`, any case), when Cisco ships one.
pub fn network_locale(country: &str) -> Option<&'static str> {
    LOCALES
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(country))
        .map(|(_, locale)| *locale)
}

/// The country codes that have a network locale, for error messages.
pub fn countries() -> impl Iterator<Item = &'static str> {
    LOCALES.iter().map(|(code, _)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_map_to_locale_directories() {
        assert_eq!(network_locale("de"), Some("Germany"));
        assert_eq!(network_locale("GB"), Some("United_Kingdom"));
        assert_eq!(network_locale("US"), Some(DEFAULT_NETWORK_LOCALE));
        assert_eq!(network_locale("XX"), None);
        // Directory names: no blanks or path characters.
        for (code, locale) in LOCALES {
            assert_eq!(code.len(), 2);
            assert!(locale.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_'));
        }
        let codes: Vec<&str> = countries().collect();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(codes, sorted, "kept sorted");
    }
}
