//! A FreePBX Bulk Handler "Extensions" export (`[provision] pool_csv`): extensions that
//! already exist on FreePBX, with their secrets, handed to phones before the range.
//!
//! Admin → Bulk Handler → Export → Extensions writes one row per extension with PHP's
//! `fputcsv` (FreePBX/bulkhandler `Bulkhandler.class.php`, `export`): the header is the
//! union of the keys every module returns from `bulkhandlerExport('extensions')`, and the
//! `core` module's rows are the user merged with its device (FreePBX/core `Core.class.php`),
//! so the columns this parser reads are there under their database names: `extension`,
//! `name` (the user's display name), `tech` and `secret` (the device's SIP secret). A
//! FreePBX 16 PJSIP export has about 120 columns:
//!
//! ```text
//! extension,password,name,voicemail,ringtimer,…,id,tech,dial,devicetype,user,description,…,secret,…
//! 2001,,Reception,novm,0,…,2001,pjsip,PJSIP/2001,fixed,2001,Reception,…,5ac9b2f18e0d4c7a,…
//! ```
//!
//! - **Columns are found by header name**, trimmed and case-insensitive (FreePBX 16/17 lower-case
//!   the keys on import, and hand-made files in the Bulk Handler docs' style use capitals):
//!   `extension` and `secret` must be there, `name` and `tech` may be.
//! - **CSV as `fgetcsv` reads it** (RFC 4180): fields quoted with `"` may hold commas, line
//!   breaks and doubled quotes `""`; lines end in `\n`, `\r\n` or `\r`; a UTF-8 byte-order
//!   mark (a spreadsheet's "CSV UTF-8") is skipped; rows with nothing but empty fields are
//!   skipped. Unlike `fgetcsv`, a backslash is an ordinary character (PHP's `fputcsv` does
//!   not double a quote that follows a backslash: such a value is misread, and FreePBX's
//!   generated secrets are hex).
//! - **Every row must have the header's number of fields**, as Bulk Handler's import
//!   demands.
//! - A row is an entry when its extension is a number (FreePBX allows nothing else), its
//!   `tech` (when given) is `pjsip` or `sip` (a `virtual`, `dahdi`, `iax2` or `custom`
//!   extension cannot take a SIP phone), and its secret is one the phones can carry: at most
//!   [`MAX_FIELD_LEN`] characters, no control character, no double quote (the 7940/7960
//!   files), not `REGEN` (an import placeholder). Surrounding blanks are trimmed from all
//!   three, as Asterisk's config parser trims the secret FreePBX writes.
//!   **FreePBX generates 32-character secrets**, two more than the 79xx accept: give the
//!   pool extensions shorter secrets in FreePBX before exporting.
//! - The name is reduced to one plain line (no control characters, `"`, `<`, `>` or `\`) of
//!   at most [`MAX_FIELD_LEN`] characters, the phone's label; empty means none.
//! - An extension listed twice is an error on its second row.
//!
//! Errors name the line where the row starts and never quote a secret.

use std::collections::HashMap;

use crate::config::MAX_FIELD_LEN;
use crate::parse::{ParseError, Parsed};

/// An extension FreePBX already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEntry {
    /// The extension number.
    pub extension: String,
    /// Its display name, as a phone label.
    pub name: Option<String>,
    /// Its SIP secret.
    pub secret: String,
}

/// Parses a whole export: every usable row, and one error per bad row (or one for a header
/// without the needed columns). An empty text gives nothing.
pub fn parse(text: &str) -> Parsed<PoolEntry> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parsed = Parsed::default();
    let mut records = Records::new(text).filter(|record| !record.is_blank());
    let Some(header) = records.next() else {
        return parsed;
    };
    let error = |line: usize, reason: String| ParseError { line, reason };
    if header.unterminated {
        parsed.errors.push(error(
            header.line,
            "quoted field not closed before the end of the file".into(),
        ));
        return parsed;
    }
    if header.oversized {
        parsed.errors.push(error(
            header.line,
            format!(
                "header has more than {MAX_FIELDS} columns or a name over {MAX_CELL_LEN} bytes"
            ),
        ));
        return parsed;
    }
    let columns = match Columns::from_header(&header.fields) {
        Ok(columns) => columns,
        Err(reason) => {
            parsed.errors.push(error(header.line, reason));
            return parsed;
        }
    };
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for record in records {
        if record.unterminated {
            let reason = "quoted field not closed before the end of the file".to_string();
            parsed.errors.push(error(record.line, reason));
            continue;
        }
        if record.oversized {
            let reason =
                format!("row has more than {MAX_FIELDS} fields or one over {MAX_CELL_LEN} bytes");
            parsed.errors.push(error(record.line, reason));
            continue;
        }
        if record.fields.len() != columns.count {
            let reason = format!(
                "row has {} fields, the header has {}",
                record.fields.len(),
                columns.count
            );
            parsed.errors.push(error(record.line, reason));
            continue;
        }
        match columns.entry(&record.fields) {
            Ok(entry) => match first_line.get(&entry.extension) {
                Some(first) => {
                    let reason =
                        format!("extension {} is already on line {first}", entry.extension);
                    parsed.errors.push(error(record.line, reason));
                }
                None => {
                    first_line.insert(entry.extension.clone(), record.line);
                    parsed.items.push(entry);
                }
            },
            Err(reason) => parsed.errors.push(error(record.line, reason)),
        }
    }
    parsed
}

/// Where the columns this parser reads are.
struct Columns {
    count: usize,
    extension: usize,
    secret: usize,
    name: Option<usize>,
    tech: Option<usize>,
}

impl Columns {
    fn from_header(fields: &[String]) -> Result<Columns, String> {
        let find = |name: &str| {
            fields
                .iter()
                .position(|field| field.trim().eq_ignore_ascii_case(name))
        };
        let need = |name: &str| find(name).ok_or_else(|| format!("header has no {name} column"));
        Ok(Columns {
            count: fields.len(),
            extension: need("extension")?,
            secret: need("secret")?,
            name: find("name"),
            tech: find("tech"),
        })
    }

    /// The entry of a row with the header's number of fields.
    fn entry(&self, fields: &[String]) -> Result<PoolEntry, String> {
        let extension = fields[self.extension].trim();
        if extension.is_empty() {
            return Err("row has no extension".to_string());
        }
        if !extension.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "extension {:?} is not a number",
                truncate(extension)
            ));
        }
        let n_chars = extension.len();
        if n_chars > MAX_FIELD_LEN {
            return Err(format!(
                "extension {} is {n_chars} digits, the phones accept at most {MAX_FIELD_LEN}",
                truncate(extension)
            ));
        }
        if let Some(tech) = self.tech {
            let tech = fields[tech].trim().to_ascii_lowercase();
            if !tech.is_empty() && tech != "pjsip" && tech != "sip" {
                return Err(format!(
                    "extension {extension} is a {:?} device, not pjsip or sip",
                    truncate(&tech)
                ));
            }
        }
        let secret = fields[self.secret].trim();
        if secret.is_empty() {
            return Err(format!("extension {extension} has no secret"));
        }
        if secret == "REGEN" {
            return Err(format!(
                "extension {extension}: secret is REGEN (FreePBX makes a new one on import), not the secret"
            ));
        }
        if secret.chars().any(char::is_control) {
            return Err(format!(
                "extension {extension}: secret contains a control character"
            ));
        }
        if secret.contains('"') {
            return Err(format!(
                "extension {extension}: secret contains a double quote, which the 7940/7960 files cannot carry"
            ));
        }
        let n_chars = secret.chars().count();
        if n_chars > MAX_FIELD_LEN {
            return Err(format!(
                "extension {extension}: secret is {n_chars} characters, the phones accept at most {MAX_FIELD_LEN}"
            ));
        }
        let name = self
            .name
            .and_then(|name| crate::label::plain_name(&fields[name]))
            .map(|name| {
                let cut: String = name.chars().take(MAX_FIELD_LEN).collect();
                cut.trim_end().to_string()
            });
        Ok(PoolEntry {
            extension: extension.to_string(),
            name,
            secret: secret.to_string(),
        })
    }
}

/// At most 40 characters of a value quoted in an error.
fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// One CSV row: the line it starts on and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    line: usize,
    fields: Vec<String>,
    /// The text ended inside a quoted field.
    unterminated: bool,
    /// It had more than [`MAX_FIELDS`] fields or a field longer than [`MAX_CELL_LEN`]; it
    /// is read to its end, but not kept whole.
    oversized: bool,
}

/// Most fields kept of one row (FreePBX's extension export has about 100 columns).
const MAX_FIELDS: usize = 1024;
/// Longest field kept, in bytes.
const MAX_CELL_LEN: usize = 64 * 1024;

impl Record {
    fn is_blank(&self) -> bool {
        !self.unterminated
            && !self.oversized
            && self.fields.iter().all(|field| field.trim().is_empty())
    }
}

/// Splits a text into CSV records (RFC 4180, the line ends `fgetcsv` accepts).
struct Records<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl<'a> Records<'a> {
    fn new(text: &'a str) -> Records<'a> {
        Records {
            chars: text.chars().peekable(),
            line: 1,
        }
    }

    /// Consumes the rest of a line break whose first character was `c`: `\r\n` is one.
    fn end_of_line(&mut self, c: char) {
        if c == '\r' && self.chars.peek() == Some(&'\n') {
            self.chars.next();
        }
        self.line += 1;
    }
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        self.chars.peek()?;
        let mut record = Record {
            line: self.line,
            fields: Vec::new(),
            unterminated: false,
            oversized: false,
        };
        let mut field = String::new();
        let mut quoted = false;
        // Inside a quoted field, before its closing quote.
        let mut in_quotes = false;
        while let Some(c) = self.chars.next() {
            if field.len() > MAX_CELL_LEN {
                record.oversized = true;
                field.clear();
            }
            if in_quotes {
                match c {
                    '"' if self.chars.peek() == Some(&'"') => {
                        self.chars.next();
                        field.push('"');
                    }
                    '"' => in_quotes = false,
                    '\r' | '\n' => {
                        field.push(c);
                        if c == '\r' && self.chars.peek() == Some(&'\n') {
                            field.push('\n');
                        }
                        self.end_of_line(c);
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                // Past MAX_FIELDS a row is read to its end but its fields are not kept.
                ',' if record.fields.len() >= MAX_FIELDS => {
                    record.oversized = true;
                    field.clear();
                    quoted = false;
                }
                ',' => {
                    record.fields.push(std::mem::take(&mut field));
                    quoted = false;
                }
                '\r' | '\n' => {
                    self.end_of_line(c);
                    record.fields.push(field);
                    return Some(record);
                }
                // A quote opens a quoted field only at the field's start; elsewhere (and
                // after a closing quote) it is taken as it is, as fgetcsv does.
                '"' if field.is_empty() && !quoted => {
                    quoted = true;
                    in_quotes = true;
                }
                _ => field.push(c),
            }
        }
        record.unterminated = in_quotes;
        record.fields.push(field);
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::Errors;

    const DATA: &str = "tests/data/freepbx";

    fn read(name: &str) -> String {
        crate::parse::testing::read(DATA, name)
    }

    /// `extension name secret`, `-` for no name.
    fn summary(entry: &PoolEntry) -> String {
        format!(
            "{} {} {}",
            entry.extension,
            entry.name.as_deref().unwrap_or("-"),
            entry.secret
        )
    }

    #[track_caller]
    fn check(text: &str, entries: &[&str], errors: Errors<'_>) {
        crate::parse::testing::check(text, &parse(text), summary, entries, errors);
    }

    /// `(line, fields, unterminated)` of each expected record.
    type Want<'a> = &'a [(usize, &'a [&'a str], bool)];

    #[test]
    fn records() {
        let table: &[(&str, Want<'_>)] = &[
            ("", &[]),
            ("a", &[(1, &["a"], false)]),
            ("a,b\n", &[(1, &["a", "b"], false)]),
            (
                "a,b\r\nc,\r\n",
                &[(1, &["a", "b"], false), (2, &["c", ""], false)],
            ),
            (
                "a\rb\n\nc",
                &[
                    (1, &["a"], false),
                    (2, &["b"], false),
                    (3, &[""], false),
                    (4, &["c"], false),
                ],
            ),
            (
                "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\nnext",
                &[
                    (1, &["x,y", "say \"hi\"", "two\nlines"], false),
                    (3, &["next"], false),
                ],
            ),
            (
                "\"a\r\nb\",c\r\nd",
                &[(1, &["a\r\nb", "c"], false), (3, &["d"], false)],
            ),
            ("ab\"c\",\"d\"e", &[(1, &["ab\"c\"", "de"], false)]),
            ("\"\",\"\"\"\"", &[(1, &["", "\""], false)]),
            ("a,\"open\nstill", &[(1, &["a", "open\nstill"], true)]),
            (
                "back\\,\"sl\\\"\"ash\"",
                &[(1, &["back\\", "sl\\\"ash"], false)],
            ),
        ];
        for (text, want) in table {
            let got: Vec<Record> = Records::new(text).collect();
            let want: Vec<Record> = want
                .iter()
                .map(|(line, fields, unterminated)| Record {
                    oversized: false,
                    line: *line,
                    fields: fields.iter().map(|f| f.to_string()).collect(),
                    unterminated: *unterminated,
                })
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn constructed_files() {
        const H: &str = "extension,name,tech,secret";
        let table: &[(String, &[&str], Errors<'_>)] = &[
            (String::new(), &[], &[]),
            ("\n\n".to_string(), &[], &[]),
            (format!("{H}\n"), &[], &[]),
            (
                format!("{H}\n2001,Reception,pjsip,5ac9b2f18e0d\n2002,,sip,abc\n"),
                &["2001 Reception 5ac9b2f18e0d", "2002 - abc"],
                &[],
            ),
            // By header name: reordered, capitals, blanks, extra and missing optional columns.
            (
                " Secret ,EXTENSION,voicemail\r\nabc,2001,novm\r\n".to_string(),
                &["2001 - abc"],
                &[],
            ),
            // The header needs extension and secret.
            (
                "ext,name,secret\n2001,A,abc\n".to_string(),
                &[],
                &[(1, "header has no extension column")],
            ),
            (
                "extension,name,password\n2001,A,abc\n".to_string(),
                &[],
                &[(1, "header has no secret column")],
            ),
            // Byte-order mark, blank rows, quoted values, a name over two lines.
            (
                format!("\u{feff}{H}\n\n,,,\n2001,\"Müller, \"\"Jo\"\"\nSales\",pjsip,\"a,b c\"\n2002,x,pjsip,y\n"),
                &["2001 Müller, Jo Sales a,b c", "2002 x y"],
                &[],
            ),
            // Trimmed values; a long name is cut to 30 characters.
            (
                format!("{H}\n 2001 , {} ,PJSIP, s3cret \n", "n".repeat(40)),
                &["2001 nnnnnnnnnnnnnnnnnnnnnnnnnnnnnn s3cret"],
                &[],
            ),
            // Bad rows: one error each, the rows after them still count.
            (
                format!(
                    "{H}\n\
                     2001,A,pjsip\n\
                     2002,A,pjsip,s,extra\n\
                     ,A,pjsip,s\n\
                     20a3,A,pjsip,s\n\
                     {long},A,pjsip,s\n\
                     2004,A,virtual,s\n\
                     2005,A,pjsip,\n\
                     2006,A,pjsip,REGEN\n\
                     2007,A,pjsip,\"tab\tbed\"\n\
                     2008,A,pjsip,a\"b\n\
                     2009,A,pjsip,0123456789abcdef0123456789abcdef\n\
                     2010,A,pjsip,ok\n\
                     2010,B,pjsip,again\n\
                     2011,A,pjsip,\"never closed\n",
                    long = "1".repeat(31)
                ),
                &["2010 A ok"],
                &[
                    (2, "row has 3 fields, the header has 4"),
                    (3, "row has 5 fields, the header has 4"),
                    (4, "row has no extension"),
                    (5, "extension \"20a3\" is not a number"),
                    (6, "extension 1111111111111111111111111111111 is 31 digits, the phones accept at most 30"),
                    (7, "extension 2004 is a \"virtual\" device, not pjsip or sip"),
                    (8, "extension 2005 has no secret"),
                    (9, "extension 2006: secret is REGEN (FreePBX makes a new one on import), not the secret"),
                    (10, "extension 2007: secret contains a control character"),
                    (11, "extension 2008: secret contains a double quote, which the 7940/7960 files cannot carry"),
                    (12, "extension 2009: secret is 32 characters, the phones accept at most 30"),
                    (14, "extension 2010 is already on line 13"),
                    (15, "quoted field not closed before the end of the file"),
                ],
            ),
            // A header cut by an open quote.
            ("extension,\"secret\n".to_string(), &[], &[(1, "quoted field not closed before the end of the file")]),
        ];
        for (text, entries, errors) in table {
            check(text, entries, errors);
        }
    }

    #[test]
    fn errors_never_quote_a_secret() {
        let secrets = [
            "bed\tbed",
            "a\"quote",
            "0123456789abcdef0123456789abcdef",
            "REGEN",
        ];
        let text = format!(
            "extension,secret\n{}\n",
            secrets
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{},\"{}\"", 2000 + i, s.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let parsed = parse(&text);
        assert_eq!(parsed.errors.len(), secrets.len());
        for error in &parsed.errors {
            for secret in &secrets[..3] {
                assert!(!error.reason.contains(secret), "{error}");
            }
        }
    }

    #[test]
    fn freepbx16_pjsip_export() {
        check(
            &read("freepbx16-pjsip-export.csv"),
            &[
                "2001 Reception 5ac9b2f18e0d4c7a91e3",
                "2002 Müller, Jürgen (Sales) 7f3e0a9c2b6d48e1",
                "2003 Lager Nord 9b1c",
                "2010 Conference room c4d2e8f1a7b3",
            ],
            &[
                (
                    6,
                    "extension 2004: secret is 32 characters, the phones accept at most 30",
                ),
                (
                    7,
                    "extension 2005 is a \"virtual\" device, not pjsip or sip",
                ),
                (8, "extension 2006 is a \"custom\" device, not pjsip or sip"),
            ],
        );
    }

    #[test]
    fn spreadsheet_saved_export() {
        check(
            &read("spreadsheet-bom-crlf.csv"),
            &[
                "2001 Reception 5ac9b2f18e0d4c7a91e3",
                "2002 Müller, Jürgen (Sales) 7f3e0a9c2b6d48e1",
                "2010 Conference room c4d2e8f1a7b3",
            ],
            &[(5, "extension 2004 has no secret")],
        );
    }

    #[test]
    fn freepbx13_chan_sip_export() {
        check(
            &read("freepbx13-sip-export.csv"),
            &["146 Front Office 8d1f0c2a", "818 Workshop 3e9b7a41"],
            &[(4, "row has no extension")],
        );
    }

    #[test]
    fn never_panics() {
        let real = read("freepbx16-pjsip-export.csv");
        for end in 0..real.len() {
            if real.is_char_boundary(end) {
                let _ = parse(&real[..end]);
            }
        }
        for text in [
            "\"",
            "\"\"\"",
            ",\r",
            "\r\r\n\"",
            "\u{feff}",
            "\u{feff}\"",
            "a,\"b\"\"",
            "\"\n\"\n",
        ] {
            let _ = parse(text);
        }
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    /// A row of a million commas, or with a field of a megabyte, is reported, not kept.
    #[test]
    fn oversized_rows() {
        let text = format!(
            "extension,secret\n2001,{}\n2002,{}\n2003,abcdefghijklmnop\n",
            ",".repeat(1_000_000),
            "x".repeat(1 << 20)
        );
        let parsed = parse(&text);
        let reasons: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|error| (error.line, error.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (2, "row has more than 1024 fields or one over 65536 bytes"),
                (3, "row has more than 1024 fields or one over 65536 bytes"),
            ]
        );
        assert_eq!(parsed.items.len(), 1);
    }
}
