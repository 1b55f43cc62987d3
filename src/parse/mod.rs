//! Parsers for the files and log lines the sources read.
//!
//! One file per on-disk format. Every parser is pure: text in, records out, no IO. A parser
//! never fails as a whole: it returns every good record together with every bad line, each
//! tagged with its 1-based line number ([`Parsed`]), and the caller decides what to log.

pub mod dnsmasq_leases;
pub mod freepbx_csv;
pub mod isc_leases;
pub mod journal_json;
pub mod kea_leases;
pub mod odhcpd_leases;
pub mod phone_file;
pub mod syslog;
pub mod tftp_log;

/// The result of parsing a text: every good record and every error, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    /// Records from the lines that parsed.
    pub items: Vec<T>,
    /// One entry per line that was recognised as this format but could not be parsed.
    pub errors: Vec<ParseError>,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            items: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// A line that could not be parsed: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number in the text handed to the parser.
    pub line: usize,
    /// Lowercase reason, no trailing period.
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Helpers shared by the parsers' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Parsed;

    /// `(line, reason)` of each expected error.
    pub type Errors<'a> = &'a [(usize, &'a str)];

    /// A captured file: `dir` is relative to the crate root.
    pub fn read(dir: &str, name: &str) -> String {
        let path = format!("{}/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    /// Checks a parse of `text`: the records, each as `summary` writes it, and the errors as
    /// `(line, reason)`.
    #[track_caller]
    pub fn check<T>(
        text: &str,
        parsed: &Parsed<T>,
        summary: impl Fn(&T) -> String,
        items: &[&str],
        errors: Errors<'_>,
    ) {
        let got: Vec<String> = parsed.items.iter().map(summary).collect();
        assert_eq!(got, items, "{text}");
        let got: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.reason.as_str()))
            .collect();
        assert_eq!(got, errors, "{text}");
    }
}
