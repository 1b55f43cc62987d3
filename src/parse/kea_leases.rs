//! Kea's memfile lease file for DHCPv4 (`lease-database { type memfile; name … }`;
//! Debian: `/var/lib/kea/kea-leases4.csv`).
//!
//! A CSV file with a header line, written by `CSVLeaseFile4` in isc-projects/kea
//! `src/lib/dhcpsrv/csv_lease_file4.cc`. Kea 2.2.0 wrote (formats.md 5.1):
//!
//! ```text
//! address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
//! 198.18.0.100,00:1b:0c:18:bd:c1,01:00:1b:0c:18:bd:c1,3600,1795252976,1,0,0,sep001b0c18bdc1,0,
//! 198.18.0.100,00:1b:0c:18:bd:c1,01:00:1b:0c:18:bd:c1,0,1795249378,1,0,0,sep001b0c18bdc1,0,
//! ```
//!
//! - **Append-only, the last row per address wins.** Every allocation, renew and release adds
//!   a row; a release is a row with `valid_lifetime` 0 and `expire` = the release time.
//! - **Columns are found by header name**: Kea versions add columns (`state` came after 1.0,
//!   `user_context` later, `pool_id` in Kea 3), and Kea refuses rows whose field count differs
//!   from the header's, as this parser does. `state` is optional (0 when missing).
//! - No quoting: `CSVRow::escapeCharacters()` (`src/lib/util/csv_file.cc`) writes a comma in a
//!   hostname or user context as `&#x2c`, and newer versions every byte below 0x20 or above
//!   0x7e and `&` itself as `&#xHH`. Fields are decoded the same way; a tag without two hex
//!   digits stays as it is.
//! - **Kea lower-cases hostnames** (`sep001b0c18bdc1`); the vendor class is not stored.
//! - A declined lease has an empty `hwaddr`, which gives no MAC.
//! - Lease file cleanup (LFC, every `lfc-interval` seconds) renames `leases4.csv` to `.1`,
//!   starts a new `leases4.csv` holding only the header, and leaves the compacted rows in
//!   `leases4.csv.2` (formats.md 5.2; `captures/kea/leasedir-inotify.log`). A header line in
//!   the middle of the text therefore restarts the column layout.
//!
//! [`KeaCsv`] takes one line at a time for a tailer; [`parse`] takes a whole file.

use std::net::Ipv4Addr;

use crate::mac::Mac;
use crate::parse::{ParseError, Parsed};

/// One row of the lease file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaLease {
    /// `address`: the leased address.
    pub ip: Ipv4Addr,
    /// `hwaddr`; `None` when empty (a declined lease) or not six bytes long.
    pub mac: Option<Mac>,
    /// `hostname` as stored (Kea lower-cases it), unescaped; `None` when empty.
    pub hostname: Option<String>,
    /// `valid_lifetime` in seconds; 0 means released (Kea writes a row with
    /// `valid_lifetime` 0 on release).
    pub valid_lifetime: u64,
    /// `expire`: when the lease ends, in Unix seconds (the release time for a released one).
    pub expire: i64,
    /// `state`: 0 default, 1 declined, 2 expired-reclaimed; 0 when the file has no such column.
    pub state: u32,
    /// 1-based line number of the row.
    pub line: usize,
}

/// Column layout learned from a header line. `KeaCsv::default()` has no header yet.
#[derive(Debug, Clone, Default)]
pub struct KeaCsv {
    columns: Option<Columns>,
}

/// Indices of the columns this parser reads.
#[derive(Debug, Clone)]
struct Columns {
    count: usize,
    address: usize,
    hwaddr: usize,
    valid_lifetime: usize,
    expire: usize,
    hostname: Option<usize>,
    state: Option<usize>,
}

impl KeaCsv {
    /// Feeds one line (without its newline). A header line (starts with `address,`) (re)sets
    /// the columns and returns `Ok(None)`; a data row before any header is an error; a row
    /// gives `Ok(Some(lease))`. Kea escapes commas in hostnames as `&#x2c`: unescape.
    ///
    /// A blank line gives `Ok(None)`, and a trailing `\r` is ignored. A header that lacks one
    /// of `address`, `hwaddr`, `valid_lifetime` and `expire` is an error and leaves no
    /// header, so the rows after it are errors too.
    pub fn feed_line(
        &mut self,
        line: &str,
        line_no: usize,
    ) -> Result<Option<KeaLease>, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let error = |reason: String| ParseError {
            line: line_no,
            reason,
        };
        if line.trim().is_empty() {
            return Ok(None);
        }
        if line.starts_with("address,") {
            return match Columns::from_header(line) {
                Ok(columns) => {
                    self.columns = Some(columns);
                    Ok(None)
                }
                Err(reason) => {
                    self.columns = None;
                    Err(error(reason))
                }
            };
        }
        let Some(columns) = &self.columns else {
            return Err(error("data row before the header line".to_string()));
        };
        columns.row(line, line_no).map(Some).map_err(error)
    }
}

/// Most columns a header may have (Kea's lease files have 10 to 16).
const MAX_COLUMNS: usize = 256;

impl Columns {
    fn from_header(line: &str) -> Result<Columns, String> {
        let names: Vec<&str> = line
            .split(',')
            .map(str::trim)
            .take(MAX_COLUMNS + 1)
            .collect();
        if names.len() > MAX_COLUMNS {
            return Err(format!("header has more than {MAX_COLUMNS} columns"));
        }
        let find = |name: &str| names.iter().position(|&column| column == name);
        let need = |name: &str| find(name).ok_or_else(|| format!("header has no {name} column"));
        Ok(Columns {
            count: names.len(),
            address: need("address")?,
            hwaddr: need("hwaddr")?,
            valid_lifetime: need("valid_lifetime")?,
            expire: need("expire")?,
            hostname: find("hostname"),
            state: find("state"),
        })
    }

    fn row(&self, line: &str, line_no: usize) -> Result<KeaLease, String> {
        // Counted before splitting: a row of millions of commas allocates nothing.
        let n_fields = line.bytes().filter(|&byte| byte == b',').count() + 1;
        if n_fields != self.count {
            return Err(format!(
                "row has {n_fields} fields, the header has {}",
                self.count
            ));
        }
        let fields: Vec<&str> = line.split(',').collect();
        // The indices come from the header, whose length was just checked.
        let field = |index: usize| fields.get(index).copied().unwrap_or_default();
        let address = field(self.address);
        let ip: Ipv4Addr = address
            .parse()
            .map_err(|_| format!("bad ipv4 address {:?}", truncate(address)))?;
        let mac = parse_hwaddr(field(self.hwaddr))?;
        let valid_lifetime = field(self.valid_lifetime);
        let valid_lifetime: u64 = valid_lifetime
            .parse()
            .map_err(|_| format!("bad valid_lifetime {:?}", truncate(valid_lifetime)))?;
        let expire = field(self.expire);
        let expire: i64 = expire
            .parse()
            .map_err(|_| format!("bad expire {:?}", truncate(expire)))?;
        let state = match self.state.map(field) {
            None => 0,
            Some(state) => state
                .parse()
                .map_err(|_| format!("bad state {:?}", truncate(state)))?,
        };
        let hostname = self
            .hostname
            .map(field)
            .filter(|hostname| !hostname.is_empty())
            .map(unescape);
        Ok(KeaLease {
            ip,
            mac,
            hostname,
            valid_lifetime,
            expire,
            state,
            line: line_no,
        })
    }
}

/// `hwaddr`: colon-separated hex. Empty (declined leases) and hardware addresses that are
/// not six bytes long give `None`.
fn parse_hwaddr(text: &str) -> Result<Option<Mac>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let is_hex_list = text.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    if is_hex_list && text.split(':').count() != 6 {
        return Ok(None);
    }
    text.parse::<Mac>().map(Some).map_err(|err| err.to_string())
}

/// Decodes Kea's `&#xHH` escapes; bytes that are not UTF-8 become U+FFFD.
fn unescape(text: &str) -> String {
    const TAG: &str = "&#x";
    if !text.contains(TAG) {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index..].starts_with(TAG.as_bytes()) {
            let digits = bytes.get(index + 3..index + 5);
            if let Some(&[high, low]) = digits {
                if let (Some(high), Some(low)) = (hex_value(high), hex_value(low)) {
                    out.push(high << 4 | low);
                    index += 5;
                    continue;
                }
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// Whole text convenience (for `.csv.2` snapshots after LFC and tests).
///
/// Every line is fed to one [`KeaCsv`], including a last line without its newline; a caller
/// tailing the live file should feed complete lines itself.
pub fn parse(text: &str) -> Parsed<KeaLease> {
    let mut out = Parsed::default();
    let mut csv = KeaCsv::default();
    for (index, line) in text.lines().enumerate() {
        match csv.feed_line(line, index + 1) {
            Ok(Some(lease)) => out.items.push(lease),
            Ok(None) => {}
            Err(error) => out.errors.push(error),
        }
    }
    out
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::Errors;
    use std::collections::BTreeMap;

    const SNAPSHOTS: &str = "tests/data/kea/lease-snapshots";

    const HEADER: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context";

    fn read(name: &str) -> String {
        crate::parse::testing::read(SNAPSHOTS, name)
    }

    /// `ip mac hostname valid_lifetime expire state`, `-` for `None`.
    fn summary(lease: &KeaLease) -> String {
        format!(
            "{} {} {} {} {} {}",
            lease.ip,
            lease.mac.map_or("-".to_string(), |mac| mac.to_string()),
            lease.hostname.as_deref().unwrap_or("-"),
            lease.valid_lifetime,
            lease.expire,
            lease.state,
        )
    }

    /// The last row per address, the way a reader of the file must see it.
    fn last_wins<'a>(leases: impl IntoIterator<Item = &'a KeaLease>) -> Vec<String> {
        let mut view = BTreeMap::new();
        for lease in leases {
            view.insert(lease.ip, summary(lease));
        }
        view.into_values().collect()
    }

    #[test]
    fn captured_sequence() {
        let p1 = |ip: &str, lifetime: u64, expire: i64| {
            format!("198.18.0.{ip} 001B0C18BDC1 sep001b0c18bdc1 {lifetime} {expire} 0")
        };
        let p2 = |lifetime: u64, expire: i64| {
            format!("198.18.0.101 001B0C18BDC2 sep001b0c18bdc2 {lifetime} {expire} 0")
        };
        // (file, rows, last-row-per-address view)
        let want: &[(&str, usize, Vec<String>)] = &[
            ("01-start--kea-leases4.csv", 0, vec![]),
            (
                "02-phone-bound--kea-leases4.csv",
                1,
                vec![p1("100", 3600, 1795252976)],
            ),
            (
                "03-phone2-bound--kea-leases4.csv",
                2,
                vec![p1("100", 3600, 1795252976), p2(3600, 1795252977)],
            ),
            // Kea writes a row for every renew.
            (
                "04-phone-renew--kea-leases4.csv",
                3,
                vec![p1("100", 3600, 1795252978), p2(3600, 1795252977)],
            ),
            (
                "05-phone2-reboot--kea-leases4.csv",
                4,
                vec![p1("100", 3600, 1795252978), p2(3600, 1795252983)],
            ),
            // A release is a row with valid_lifetime 0, expire = release time.
            (
                "06-phone-release--kea-leases4.csv",
                5,
                vec![p1("100", 0, 1795249378), p2(3600, 1795252983)],
            ),
            (
                "07-phone2-release--kea-leases4.csv",
                6,
                vec![p1("100", 0, 1795249378), p2(0, 1795249383)],
            ),
            // The phone came back on another address.
            (
                "08-phone-rebound--kea-leases4.csv",
                7,
                vec![
                    p1("100", 0, 1795249378),
                    p2(0, 1795249383),
                    p1("102", 3600, 1795252990),
                ],
            ),
            // After LFC: the new main file holds only the header, `.2` the compacted rows.
            ("09-after-lfc--kea-leases4.csv", 0, vec![]),
            (
                "09-after-lfc--kea-leases4.csv.2",
                1,
                vec![p1("102", 3600, 1795252990)],
            ),
            ("10-after-stop--kea-leases4.csv", 0, vec![]),
            (
                "10-after-stop--kea-leases4.csv.2",
                1,
                vec![p1("102", 3600, 1795252990)],
            ),
            ("11-after-restart--kea-leases4.csv", 0, vec![]),
            (
                "11-after-restart--kea-leases4.csv.2",
                1,
                vec![p1("102", 3600, 1795252990)],
            ),
        ];
        for (file, rows, view) in want {
            let parsed = parse(&read(file));
            assert_eq!(parsed.errors, [], "{file}");
            assert_eq!(parsed.items.len(), *rows, "{file}");
            assert_eq!(&last_wins(&parsed.items), view, "{file}");
            let lines: Vec<usize> = parsed.items.iter().map(|l| l.line).collect();
            assert_eq!(lines, (2..*rows + 2).collect::<Vec<_>>(), "{file}");
        }
        // What a reader that knew the file before LFC must end up with: `.2`, then the main
        // file, with the released addresses gone (no row at all) rather than free.
        let compacted = parse(&read("09-after-lfc--kea-leases4.csv.2"));
        let main = parse(&read("09-after-lfc--kea-leases4.csv"));
        assert_eq!(
            last_wins(compacted.items.iter().chain(&main.items)),
            [p1("102", 3600, 1795252990)]
        );
    }

    #[test]
    fn captured_files_are_append_only() {
        let files = [
            "01-start--kea-leases4.csv",
            "02-phone-bound--kea-leases4.csv",
            "03-phone2-bound--kea-leases4.csv",
            "04-phone-renew--kea-leases4.csv",
            "05-phone2-reboot--kea-leases4.csv",
            "06-phone-release--kea-leases4.csv",
            "07-phone2-release--kea-leases4.csv",
            "08-phone-rebound--kea-leases4.csv",
        ];
        for pair in files.windows(2) {
            assert!(read(pair[1]).starts_with(&read(pair[0])), "{pair:?}");
        }
        // A tailer feeding line by line sees the same rows as a whole parse.
        let text = read(files[7]);
        let mut csv = KeaCsv::default();
        let fed: Vec<KeaLease> = text
            .lines()
            .enumerate()
            .filter_map(|(index, line)| csv.feed_line(line, index + 1).unwrap())
            .collect();
        assert_eq!(fed, parse(&text).items);
    }

    #[track_caller]
    fn check(text: &str, leases: &[&str], errors: Errors<'_>) {
        crate::parse::testing::check(text, &parse(text), summary, leases, errors);
    }

    #[test]
    fn constructed_rows() {
        // Constructed from the captured header and Kea's `CSVLeaseFile4`/`CSVRow` sources.
        let row = "198.18.0.100,00:1b:0c:18:bd:c1,01:00:1b:0c:18:bd:c1,3600,1795252976,1,0,0,sep001b0c18bdc1,0,";
        let table: &[(String, &[&str], Errors<'_>)] = &[
            // Only a line starting with `address,` is a header (Kea always writes it first).
            (
                "hwaddr,address,hostname,expire,valid_lifetime,pool_id\n00:1b:0c:18:bd:c1,198.18.0.100,sep001b0c18bdc1,1795252976,3600,0\n".to_string(),
                &[],
                &[(1, "data row before the header line"), (2, "data row before the header line")],
            ),
            // Columns found by name: reordered, one more (Kea 3's pool_id), no user_context.
            (
                "address,pool_id,expire,valid_lifetime,hwaddr,state,hostname\n198.18.0.100,7,1795252976,3600,00:1b:0c:18:bd:c1,2,sep\r\n".to_string(),
                &["198.18.0.100 001B0C18BDC1 sep 3600 1795252976 2"],
                &[],
            ),
            // The Kea 1.0 layout: no state, no user_context.
            (
                "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname\n198.18.0.100,00:1b:0c:18:bd:c1,,3600,1795252976,1,0,0,\n".to_string(),
                &["198.18.0.100 001B0C18BDC1 - 3600 1795252976 0"],
                &[],
            ),
            // Escapes, an empty (declined) hwaddr, a 20-byte InfiniBand address, blank lines.
            (
                format!("{HEADER}\n\n198.18.0.100,,,3600,1795252976,1,0,0,a&#x2cb&#x26&#xzz&#x,1,\n198.18.0.101,00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13,,0,1,1,0,0,&#xc3&#xa9,0,{{}}\n"),
                &["198.18.0.100 - a,b&&#xzz&#x 3600 1795252976 1", "198.18.0.101 - é 0 1 0"],
                &[],
            ),
            // A new header (after LFC) restarts the layout.
            (
                format!("{HEADER}\n{row}\naddress,hwaddr,valid_lifetime,expire\n198.18.0.101,00:1b:0c:18:bd:c2,60,5\n{row}\n"),
                &[
                    "198.18.0.100 001B0C18BDC1 sep001b0c18bdc1 3600 1795252976 0",
                    "198.18.0.101 001B0C18BDC2 - 60 5 0",
                ],
                &[(5, "row has 11 fields, the header has 4")],
            ),
            // Bad rows: each is one error, the next row still parses.
            (
                format!("{HEADER}\n198.18.0.999,,,1,1,1,0,0,,0,\n198.18.0.1,00:1b:0c:18:bd:g1,,1,1,1,0,0,,0,\n198.18.0.1,zz,,1,1,1,0,0,,0,\n198.18.0.1,,,-1,1,1,0,0,,0,\n198.18.0.1,,,1,x,1,0,0,,0,\n198.18.0.1,,,1,1,1,0,0,,-1,\n198.18.0.1,,,1,1,1,0,0,a,b,0,\n198.18.0.1,,,1,1\n{row}\n"),
                &["198.18.0.100 001B0C18BDC1 sep001b0c18bdc1 3600 1795252976 0"],
                &[
                    (2, "bad ipv4 address \"198.18.0.999\""),
                    (3, "invalid mac address \"00:1b:0c:18:bd:g1\""),
                    (4, "invalid mac address \"zz\""),
                    (5, "bad valid_lifetime \"-1\""),
                    (6, "bad expire \"x\""),
                    (7, "bad state \"-1\""),
                    (8, "row has 12 fields, the header has 11"),
                    (9, "row has 5 fields, the header has 11"),
                ],
            ),
            // A header without a needed column leaves no header.
            (
                format!("address,hwaddr,expire\n{row}\n"),
                &[],
                &[(1, "header has no valid_lifetime column"), (2, "data row before the header line")],
            ),
        ];
        for (text, leases, errors) in table {
            check(text, leases, errors);
        }
    }

    #[test]
    fn never_panics() {
        let real = read("08-phone-rebound--kea-leases4.csv");
        let run = |text: &str| {
            let _ = parse(text);
            let mut csv = KeaCsv::default();
            let _ = csv.feed_line(HEADER, 1);
            let _ = csv.feed_line(text, 2);
        };
        for (cut, _) in real.char_indices() {
            run(&real[..cut]);
            run(&real[cut..]);
        }
        for cut in 0..real.len() {
            for wide in ["é", "€", "𝄞", "\0", ",", "&#x", "&", "\n", "\r"] {
                run(&format!("{}{wide}{}", &real[..cut], &real[cut + 1..]));
            }
        }
        for text in [
            "",
            ",",
            "address,",
            "address,address,address",
            "\0\0\0\0",
            "address,hwaddr,valid_lifetime,expire\né,é,é,é",
            "address,hwaddr,valid_lifetime,expire,hostname\n1.2.3.4,,1,1,&#x",
            "address,hwaddr,valid_lifetime,expire,hostname\n1.2.3.4,,1,1,&#xé&#x𝄞",
            "address,hwaddr,valid_lifetime,expire,hostname\n1.2.3.4,,18446744073709551616,1,",
        ] {
            run(text);
        }
        let mega = "A".repeat(1 << 20);
        for text in [
            mega.clone(),
            ",".repeat(1 << 20),
            format!("{HEADER}\n1.2.3.4,,1,1,1,0,0,0,{mega},0,"),
            format!(
                "{HEADER}\n1.2.3.4,,1,1,1,0,0,0,{},0,",
                "&#x2c".repeat(1 << 18)
            ),
            format!("address,{mega}"),
        ] {
            run(&text);
        }
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    /// Rows and headers of millions of commas are refused without splitting them.
    #[test]
    fn wide_rows_and_headers() {
        let header = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context";
        let mut csv = KeaCsv::default();
        assert!(csv.feed_line(header, 1).unwrap().is_none());
        let wide = format!("198.18.0.10{}", ",".repeat(1_000_000));
        let err = csv.feed_line(&wide, 2).unwrap_err();
        assert_eq!(err.reason, "row has 1000001 fields, the header has 11");
        let wide_header = format!("address,hwaddr{}", ",x".repeat(300));
        let err = KeaCsv::default().feed_line(&wide_header, 1).unwrap_err();
        assert_eq!(err.reason, "header has more than 256 columns");
    }
}
