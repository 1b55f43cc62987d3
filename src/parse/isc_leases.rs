//! isc-dhcp-server's lease database, `dhcpd.leases` (`-lf`; Debian: `/var/lib/dhcp/dhcpd.leases`).
//!
//! The file is a journal of statements in dhcpd's config syntax, written by `write_lease()` in
//! isc-projects/dhcp `server/db.c` and described in dhcpd.leases(5). A lease is a block:
//!
//! ```text
//! lease 198.18.0.100 {
//!   starts 6 2026/11/21 08:18:06;
//!   ends 6 2026/11/21 09:18:06;
//!   cltt 6 2026/11/21 08:18:06;
//!   binding state active;
//!   next binding state free;
//!   rewind binding state free;
//!   hardware ethernet 00:1b:0c:18:bd:c1;
//!   uid "\001\000\033\014\030\275\301";
//!   set vendor-class-identifier = "Cisco Systems, Inc. IP Phone CP-7941G";
//!   client-hostname "SEP001B0C18BDC1";
//!   on release {
//!     execute ("/var/lib/phonelab/bin/dump-hook.sh", "release", …);
//!   }
//! }
//! ```
//!
//! - **The last block for an address wins.** dhcpd appends a whole block per commit and per
//!   release (a release appends `binding state free;` without `client-hostname` and without the
//!   vendor class), and rewrites the whole file through a temporary file, a `dhcpd.leases~` hard
//!   link and a rename at startup, hourly, or after 1000 writes (formats.md 2.3; the captures'
//!   `leasedir-inotify.log`). Between rewrites the file only grows, so a reader keeps its offset
//!   and feeds the new bytes to [`parse_incremental`], which reports how far it got.
//! - Times are `<weekday> YYYY/MM/DD HH:MM:SS` in **UTC**, `never`, or with
//!   `db-time-format local;` `epoch <seconds>; # <local time>` (`print_time()` in
//!   `common/print.c`).
//! - Strings are written by `quotify_string()`/`quotify_buf()`: `"` and `\` are escaped with a
//!   backslash and every unprintable byte as `\ooo` octal, so a vendor class sent with a
//!   trailing NUL ends in `\000`. [`IscLease::hostname`] and [`IscLease::vendor_class`] are
//!   decoded; bytes that are not UTF-8 become U+FFFD.
//! - `hardware ethernet` is zero-padded by dhcpd itself, but files edited by hand or by hooks
//!   may hold isc's non-padded `binary-to-ascii` form (`0:1b:c:18:bd:c1`); both are read.
//!   Other hardware types (`token-ring`, `fddi`, `infiniband`, …) give no MAC.
//! - With `on commit/release/expiry` hooks, dhcpd copies the hook's statement blocks into every
//!   lease (`captures/isc-dhcpd/lease-snapshots/03-*`), and `set var = …;` statements of the
//!   hooks persist as lease variables; nested blocks and other variables are skipped.
//! - Top-level statements other than `lease` (`authoring-byte-order`, `server-duid`,
//!   `failover peer … state { … }`, `host`, `group`, `class`, `subclass`, DHCPv6 `ia-na`, …)
//!   and `#` comments are skipped, not reported.
//!
//! A block that ends with the text (the writer is mid-block) is not an error: it is left
//! unconsumed, and the returned byte count stops before it.

use std::net::Ipv4Addr;

use crate::civil::days_from_civil;
use crate::mac::Mac;
use crate::parse::{ParseError, Parsed};

/// The last state of one address, from one `lease <ip> { … }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscLease {
    /// The leased address.
    pub ip: Ipv4Addr,
    /// `hardware ethernet <mac>;`; `None` without a `hardware` statement or for another
    /// hardware type.
    pub mac: Option<Mac>,
    /// `client-hostname "…";` (option 12 as the client sent it), unescaped.
    pub hostname: Option<String>,
    /// `set vendor-class-identifier = "…";` (option 60), unescaped; a trailing NUL the client
    /// sent is kept as `'\0'`.
    pub vendor_class: Option<String>,
    /// The word after `binding state`: `active`, `free`, `backup`, `expired`, `released`,
    /// `abandoned`, `reset`, `bootp` or `reserved`.
    pub binding_state: String,
    /// `ends`: the end of the lease in Unix seconds; `None` for `ends never;` or when the block
    /// has no `ends`.
    pub ends: Option<i64>,
    /// 1-based line of the `lease` keyword in the parsed text.
    pub line: usize,
}

/// Parses complete blocks from `text`. Returns the leases, the errors, and how many bytes
/// were consumed: up to the end of the last complete top-level statement/block, so a caller
/// reading an append-only file incrementally can keep the rest for the next read.
///
/// The count includes the line break right after the last complete statement, when it is
/// there, so the rest starts on a fresh line. Top-level statements other than `lease`
/// (authoring-byte-order, server-duid, failover, host, class, subclass, comments) are skipped,
/// not errors. A malformed `lease` block gives one [`ParseError`] at the line of its `lease`
/// keyword and parsing continues after the block; a block cut off by the end of `text` is not
/// an error and is not consumed.
pub fn parse_incremental(text: &str) -> (Parsed<IscLease>, usize) {
    let mut out = Parsed::default();
    let mut lexer = Lexer::new(text);
    let mut consumed = 0;
    while let Some(statement) = read_statement(&mut lexer) {
        consumed = after_line_break(text, lexer.pos);
        let first = statement[0];
        if statement.len() > MAX_TOKENS {
            out.errors.push(ParseError {
                line: first.line,
                reason: format!("statement of more than {MAX_TOKENS} tokens skipped"),
            });
            continue;
        }
        match first.kind {
            Kind::Word(word) if word.eq_ignore_ascii_case("lease") => {
                match parse_lease(&statement) {
                    Ok(lease) => out.items.push(lease),
                    Err(reason) => out.errors.push(ParseError {
                        line: first.line,
                        reason,
                    }),
                }
            }
            Kind::Close => out.errors.push(ParseError {
                line: first.line,
                reason: "unexpected '}' outside a block".to_string(),
            }),
            // Other top-level statements and empty ones (`;`).
            _ => {}
        }
    }
    (out, consumed)
}

/// Moves `pos` past blanks and one line break, if only blanks separate it from the break.
fn after_line_break(text: &str, pos: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = pos;
    while let Some(&byte) = bytes.get(end) {
        match byte {
            b' ' | b'\t' | b'\r' => end += 1,
            b'\n' => return end + 1,
            _ => break,
        }
    }
    pos
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    /// A name, number, address or date: a run of bytes up to a blank or a delimiter.
    Word(&'a str),
    /// The raw text between double quotes, escapes not yet decoded.
    Str(&'a str),
    Open,
    Close,
    Semi,
    /// `(`, `)`, `,` or `=`.
    Punct(u8),
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind<'a>,
    /// 1-based line where the token starts.
    line: usize,
}

enum Lexed<'a> {
    Token(Token<'a>),
    /// The text ended between tokens.
    End,
    /// The text ended inside a quoted string.
    Cut,
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            text,
            pos: 0,
            line: 1,
        }
    }

    fn next(&mut self) -> Lexed<'a> {
        let bytes = self.text.as_bytes();
        // Blanks and comments.
        loop {
            match bytes.get(self.pos) {
                None => return Lexed::End,
                Some(b'\n') => {
                    self.line += 1;
                    self.pos += 1;
                }
                Some(byte) if byte.is_ascii_whitespace() => self.pos += 1,
                Some(b'#') => {
                    // To the end of the line; the newline itself is counted above.
                    match bytes[self.pos..].iter().position(|&b| b == b'\n') {
                        Some(offset) => self.pos += offset,
                        None => {
                            self.pos = bytes.len();
                            return Lexed::End;
                        }
                    }
                }
                Some(_) => break,
            }
        }
        let start = self.pos;
        let line = self.line;
        let kind = match bytes[start] {
            b'{' => Kind::Open,
            b'}' => Kind::Close,
            b';' => Kind::Semi,
            byte @ (b'(' | b')' | b',' | b'=') => Kind::Punct(byte),
            b'"' => {
                let mut index = start + 1;
                loop {
                    match bytes.get(index) {
                        None => return Lexed::Cut,
                        Some(b'"') => break,
                        Some(b'\\') => {
                            if bytes.get(index + 1) == Some(&b'\n') {
                                self.line += 1;
                            }
                            index += 2;
                        }
                        Some(b'\n') => {
                            self.line += 1;
                            index += 1;
                        }
                        Some(_) => index += 1,
                    }
                }
                self.pos = index + 1;
                // Both ends are ASCII quotes, so the slice is on character boundaries.
                return Lexed::Token(Token {
                    kind: Kind::Str(&self.text[start + 1..index]),
                    line,
                });
            }
            _ => {
                let end = bytes[start..]
                    .iter()
                    .position(|&b| b.is_ascii_whitespace() || b"#\"{};(),=".contains(&b))
                    .map_or(bytes.len(), |offset| start + offset);
                self.pos = end;
                // Delimiters are ASCII, so `end` is a character boundary.
                return Lexed::Token(Token {
                    kind: Kind::Word(&self.text[start..end]),
                    line,
                });
            }
        };
        self.pos = start + 1;
        Lexed::Token(Token { kind, line })
    }
}

/// Most tokens kept of one statement (a lease block has about 40). A longer statement is
/// read to its end but keeps only its first tokens and its last, and is reported.
const MAX_TOKENS: usize = 1024;

/// Reads one complete statement: tokens up to a `;` outside braces, or up to the `}` that
/// closes its block. `None` at the end of the text or when the statement is cut off.
fn read_statement<'a>(lexer: &mut Lexer<'a>) -> Option<Vec<Token<'a>>> {
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    loop {
        let token = match lexer.next() {
            Lexed::Token(token) => token,
            Lexed::End | Lexed::Cut => return None,
        };
        if tokens.len() > MAX_TOKENS {
            // Over-long: the last slot holds the latest token (the one that ends it).
            tokens.pop();
        }
        tokens.push(token);
        match token.kind {
            Kind::Semi if depth == 0 => return Some(tokens),
            Kind::Open => depth += 1,
            Kind::Close if depth <= 1 => return Some(tokens),
            Kind::Close => depth -= 1,
            _ => {}
        }
    }
}

/// Interprets `lease <ip> { … }`.
fn parse_lease(tokens: &[Token<'_>]) -> Result<IscLease, String> {
    let Some(Kind::Word(address)) = tokens.get(1).map(|t| t.kind) else {
        return Err("lease without an address".to_string());
    };
    let ip: Ipv4Addr = address
        .parse()
        .map_err(|_| format!("bad lease address {:?}", truncate(address)))?;
    let (Some(Kind::Open), Some(Kind::Close)) =
        (tokens.get(2).map(|t| t.kind), tokens.last().map(|t| t.kind))
    else {
        return Err(format!("lease {ip}: expected '{{' after the address"));
    };
    let body = tokens.get(3..tokens.len() - 1).unwrap_or_default();
    let mut lease = IscLease {
        ip,
        mac: None,
        hostname: None,
        vendor_class: None,
        binding_state: String::new(),
        ends: None,
        line: tokens[0].line,
    };
    let mut has_state = false;
    for statement in split_statements(body) {
        apply(&mut lease, &mut has_state, statement).map_err(|reason| {
            let line = statement[0].line;
            if line == lease.line {
                format!("lease {ip}: {reason}")
            } else {
                format!("lease {ip}: {reason} (line {line})")
            }
        })?;
    }
    if !has_state {
        return Err(format!("lease {ip}: no binding state"));
    }
    Ok(lease)
}

/// Splits a block's body into its statements, each ending with its `;` or with the `}` of
/// its nested block.
fn split_statements<'t, 'a>(body: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    for (index, token) in body.iter().enumerate() {
        let end = match token.kind {
            Kind::Semi => depth == 0,
            Kind::Open => {
                depth += 1;
                false
            }
            Kind::Close => {
                depth = depth.saturating_sub(1);
                depth == 0
            }
            _ => false,
        };
        if end {
            out.push(&body[start..=index]);
            start = index + 1;
        }
    }
    if start < body.len() {
        // A last statement without its `;`.
        out.push(&body[start..]);
    }
    out
}

/// Applies one statement of a lease block.
fn apply(
    lease: &mut IscLease,
    has_state: &mut bool,
    statement: &[Token<'_>],
) -> Result<(), String> {
    let words: Vec<Option<&str>> = statement
        .iter()
        .map(|t| match t.kind {
            Kind::Word(word) => Some(word),
            _ => None,
        })
        .collect();
    let Some(keyword) = words[0] else {
        // An empty statement (`;`), or one that does not start with a name.
        return Ok(());
    };
    let is = |index: usize, want: &str| {
        words
            .get(index)
            .copied()
            .flatten()
            .is_some_and(|word| word.eq_ignore_ascii_case(want))
    };
    let ends_with_semi = statement.last().map(|t| t.kind) == Some(Kind::Semi);
    let keyword = keyword.to_ascii_lowercase();
    match keyword.as_str() {
        "ends" => {
            if !ends_with_semi {
                return Err("'ends' without ';'".to_string());
            }
            lease.ends = parse_time(&statement[1..statement.len() - 1])?;
        }
        "binding" if is(1, "state") => match (words.get(2).copied().flatten(), statement.get(3)) {
            (
                Some(state),
                Some(Token {
                    kind: Kind::Semi, ..
                }),
            ) if statement.len() == 4 => {
                lease.binding_state = state.to_ascii_lowercase();
                *has_state = true;
            }
            _ => return Err("bad 'binding state' statement".to_string()),
        },
        "hardware" => {
            let (Some(Some(kind)), Some(Some(address)), true, 4) =
                (words.get(1), words.get(2), ends_with_semi, statement.len())
            else {
                return Err("bad 'hardware' statement".to_string());
            };
            lease.mac = if kind.eq_ignore_ascii_case("ethernet") {
                Some(
                    address
                        .parse::<Mac>()
                        .map_err(|err| format!("hardware ethernet: {err}"))?,
                )
            } else {
                None
            };
        }
        "client-hostname" => match statement {
            [_, Token {
                kind: Kind::Str(raw),
                ..
            }, Token {
                kind: Kind::Semi, ..
            }] => lease.hostname = Some(unquote(raw)),
            _ => return Err("client-hostname is not one quoted string".to_string()),
        },
        "set" if is(1, "vendor-class-identifier") => match statement {
            [_, _, Token {
                kind: Kind::Punct(b'='),
                ..
            }, Token {
                kind: Kind::Str(raw),
                ..
            }, Token {
                kind: Kind::Semi, ..
            }] => lease.vendor_class = Some(unquote(raw)),
            _ => return Err("vendor-class-identifier is not one quoted string".to_string()),
        },
        // starts, cltt, tstp, tsfp, atsfp, next/rewind binding state, uid, other `set`s,
        // `on … { … }`, `option agent.…`, `ddns-…`, `abandoned`, `reserved`, `dynamic-bootp`,
        // `billing class`: not needed.
        _ => {}
    }
    Ok(())
}

/// Parses the value of a time statement (the tokens between the keyword and the `;`).
fn parse_time(tokens: &[Token<'_>]) -> Result<Option<i64>, String> {
    let words: Vec<&str> = tokens
        .iter()
        .map_while(|t| match t.kind {
            Kind::Word(word) => Some(word),
            _ => None,
        })
        .collect();
    let bad = || {
        let text: Vec<String> = tokens
            .iter()
            .map(|t| match t.kind {
                Kind::Word(word) | Kind::Str(word) => truncate(word),
                Kind::Open => "{".to_string(),
                Kind::Close => "}".to_string(),
                Kind::Semi => ";".to_string(),
                Kind::Punct(byte) => char::from(byte).to_string(),
            })
            .collect();
        format!("bad ends time {:?}", text.join(" "))
    };
    if words.len() != tokens.len() {
        return Err(bad());
    }
    match words.as_slice() {
        [never] if never.eq_ignore_ascii_case("never") => Ok(None),
        [epoch, seconds] if epoch.eq_ignore_ascii_case("epoch") => {
            seconds.parse::<i64>().map(Some).map_err(|_| bad())
        }
        [weekday, date, time] if weekday.bytes().all(|b| b.is_ascii_digit()) => {
            utc_seconds(date, time).map(Some).ok_or_else(bad)
        }
        [date, time] => utc_seconds(date, time).map(Some).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// `YYYY/MM/DD` and `HH:MM:SS`, in UTC, to Unix seconds.
fn utc_seconds(date: &str, time: &str) -> Option<i64> {
    let number = |text: &str| -> Option<i64> {
        if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    let mut date = date.split('/');
    let (year, month, day) = (
        number(date.next()?)?,
        number(date.next()?)?,
        number(date.next()?)?,
    );
    let mut time = time.split(':');
    let (hour, minute, second) = (
        number(time.next()?)?,
        number(time.next()?)?,
        number(time.next()?)?,
    );
    if date.next().is_some() || time.next().is_some() {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > month_days || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(
        days_from_civil(year, month as u32, day as u32) * 86_400
            + hour * 3600
            + minute * 60
            + second,
    )
}

/// Decodes the inside of a dhcpd string: `\ooo` octal (one to three digits), `\t`, `\r`,
/// `\n`, `\b`, and a backslash before any other character stands for that character.
fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        index += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let Some(&next) = bytes.get(index) else {
            out.push(b'\\');
            break;
        };
        index += 1;
        match next {
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                for _ in 0..2 {
                    match bytes.get(index) {
                        Some(&digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            index += 1;
                        }
                        _ => break,
                    }
                }
                // `\777` does not fit a byte; dhcpd keeps the low eight bits.
                out.push((value & 0xff) as u8);
            }
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b'b' => out.push(0x08),
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SNAPSHOTS: &str = "tests/data/isc-dhcpd/lease-snapshots";

    /// The captured files, in lab order (`captures/isc-dhcpd/steps.log`).
    const FILES: [&str; 10] = [
        "01-start--dhcpd.leases",
        "02-phone-bound--dhcpd.leases",
        "03-phone2-bound--dhcpd.leases",
        "04-phone-renew--dhcpd.leases",
        "05-phone2-reboot--dhcpd.leases",
        "06-phone-release--dhcpd.leases",
        "07-phone2-release--dhcpd.leases",
        "08-phone-rebound--dhcpd.leases",
        "09-after-stop--dhcpd.leases",
        "10-after-restart--dhcpd.leases",
    ];

    const VC1: &str = "Cisco Systems, Inc. IP Phone CP-7941G";
    const VC2: &str = "Cisco Systems, Inc. IP Phone CP-7940G";

    fn read(name: &str) -> String {
        crate::parse::testing::read(SNAPSHOTS, name)
    }

    /// One line per lease: `ip state mac hostname vendor-class ends`, `-` for `None`.
    fn summary(lease: &IscLease) -> String {
        format!(
            "{} {} {} {} {} {}",
            lease.ip,
            lease.binding_state,
            lease.mac.map_or("-".to_string(), |mac| mac.to_string()),
            lease.hostname.as_deref().unwrap_or("-"),
            lease.vendor_class.as_deref().unwrap_or("-"),
            lease.ends.map_or("-".to_string(), |ends| ends.to_string()),
        )
    }

    /// The last block per address, the way a reader of the journal must see it.
    fn last_wins(leases: &[IscLease]) -> Vec<String> {
        let mut view = BTreeMap::new();
        for lease in leases {
            view.insert(lease.ip, summary(lease));
        }
        view.into_values().collect()
    }

    fn active1(ends: i64) -> String {
        format!("198.18.0.100 active 001B0C18BDC1 SEP001B0C18BDC1 {VC1} {ends}")
    }

    fn active2() -> String {
        format!("198.18.0.101 active 001B0C18BDC2 SEP001B0C18BDC2 {VC2} 1795252688")
    }

    #[test]
    fn captured_sequence() {
        // 2026-11-21 09:18:06 UTC and so on.
        let bound1 = active1(1795252686);
        let rebound1 = active1(1795252778);
        let freed1 = "198.18.0.100 free 001B0C18BDC1 - - 1795249172".to_string();
        let freed2 = "198.18.0.101 free 001B0C18BDC2 - - 1795249176".to_string();
        // (file, blocks in the file, last-block-wins view)
        let want: [(&str, usize, Vec<String>); 10] = [
            (FILES[0], 0, vec![]),
            (FILES[1], 1, vec![bound1.clone()]),
            (FILES[2], 2, vec![bound1.clone(), active2()]),
            // A renew and an INIT-REBOOT younger than 25 % of the lease write nothing.
            (FILES[3], 2, vec![bound1.clone(), active2()]),
            (FILES[4], 2, vec![bound1.clone(), active2()]),
            // The release block: free, no hostname, no vendor class.
            (FILES[5], 3, vec![freed1.clone(), active2()]),
            (FILES[6], 4, vec![freed1, freed2.clone()]),
            (FILES[7], 5, vec![rebound1.clone(), freed2.clone()]),
            (FILES[8], 5, vec![rebound1.clone(), freed2.clone()]),
            // Rewritten at startup: one block per address.
            (FILES[9], 2, vec![rebound1, freed2]),
        ];
        for (file, blocks, view) in want {
            let text = read(file);
            let (parsed, consumed) = parse_incremental(&text);
            assert_eq!(parsed.errors, [], "{file}");
            assert_eq!(parsed.items.len(), blocks, "{file}");
            assert_eq!(last_wins(&parsed.items), view, "{file}");
            assert!(text[consumed..].trim().is_empty(), "{file}: {consumed}");
        }
    }

    #[test]
    fn captured_lines_and_rewrite_order() {
        let (parsed, _) = parse_incremental(&read(FILES[9]));
        let lines: Vec<(String, usize)> = parsed
            .items
            .iter()
            .map(|l| (l.ip.to_string(), l.line))
            .collect();
        assert_eq!(
            lines,
            [
                ("198.18.0.101".to_string(), 7),
                ("198.18.0.100".to_string(), 16)
            ]
        );
        let (parsed, _) = parse_incremental(&read(FILES[5]));
        let lines: Vec<usize> = parsed.items.iter().map(|l| l.line).collect();
        assert_eq!(lines, [9, 33, 57]);
    }

    #[test]
    fn captured_files_are_append_only() {
        // 01 to 09 each extend the one before; 10 is a new file (rename at startup).
        for pair in FILES[..9].windows(2) {
            let (old, new) = (read(pair[0]), read(pair[1]));
            assert!(new.starts_with(&old), "{} -> {}", pair[0], pair[1]);
        }
        assert!(!read(FILES[9]).starts_with(&read(FILES[8])));
    }

    /// Feeds `text` in chunks of `size` bytes the way a tailer does, keeping the unconsumed
    /// rest, and returns the leases with their lines made absolute.
    fn feed_in_chunks(text: &str, size: usize) -> Parsed<IscLease> {
        let mut out = Parsed::default();
        let mut pending = String::new();
        let mut base_line = 0;
        let mut start = 0;
        while start < text.len() {
            let mut end = (start + size).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            pending.push_str(&text[start..end]);
            start = end;
            let (parsed, consumed) = parse_incremental(&pending);
            for mut lease in parsed.items {
                lease.line += base_line;
                out.items.push(lease);
            }
            for mut error in parsed.errors {
                error.line += base_line;
                out.errors.push(error);
            }
            base_line += pending[..consumed].matches('\n').count();
            pending.drain(..consumed);
        }
        out
    }

    #[test]
    fn incremental_equals_full_parse() {
        let text = read(FILES[8]);
        let (full, _) = parse_incremental(&text);
        assert_eq!(full.items.len(), 5);
        for size in [1, 2, 3, 7, 13, 64, 100, 1000, 4096] {
            assert_eq!(feed_in_chunks(&text, size), full, "chunk size {size}");
        }
        // The growing file, step by step, as the inotify MODIFY events delivered it.
        let mut offset = 0;
        let mut leases = Vec::new();
        let mut base_line = 0;
        for file in &FILES[..9] {
            let grown = read(file);
            let (parsed, consumed) = parse_incremental(&grown[offset..]);
            assert_eq!(parsed.errors, [], "{file}");
            leases.extend(parsed.items.into_iter().map(|mut lease| {
                lease.line += base_line;
                lease
            }));
            base_line += grown[offset..offset + consumed].matches('\n').count();
            offset += consumed;
            assert_eq!(leases, parse_incremental(&grown).0.items, "{file}");
        }
    }

    #[test]
    fn every_truncation_is_a_clean_prefix() {
        let text = read(FILES[8]);
        let (full, _) = parse_incremental(&text);
        for cut in 0..=text.len() {
            let (parsed, consumed) = parse_incremental(&text[..cut]);
            assert_eq!(parsed.errors, [], "cut at {cut}");
            assert!(consumed <= cut, "cut at {cut}");
            assert_eq!(
                parsed.items[..],
                full.items[..parsed.items.len()],
                "cut at {cut}"
            );
            // Nothing complete is left behind, and the rest holds no complete block.
            assert_eq!(
                parse_incremental(&text[..consumed]).0,
                parsed,
                "cut at {cut}"
            );
            assert_eq!(parse_incremental(&text[consumed..cut]).0.items, []);
        }
    }

    struct Want<'a> {
        leases: &'a [&'a str],
        /// `(line, reason)` of each error.
        errors: &'a [(usize, &'a str)],
    }

    #[track_caller]
    fn check(text: &str, want: &Want<'_>) {
        let (parsed, consumed) = parse_incremental(text);
        let leases: Vec<String> = parsed.items.iter().map(summary).collect();
        assert_eq!(leases, want.leases, "{text}");
        let errors: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.reason.as_str()))
            .collect();
        assert_eq!(errors, want.errors, "{text}");
        assert!(text[consumed..].trim().is_empty(), "{text}: {consumed}");
    }

    #[test]
    fn constructed_blocks() {
        // Constructed from dhcpd.leases(5) and `write_lease()`; no capture holds these.
        let table: &[(&str, Want<'_>)] = &[
            // Non-padded MAC, octal and backslash escapes, braces and ';' in strings.
            (
                "lease 10.0.0.1 {\n  binding state active;\n  hardware ethernet 0:1b:c:18:bd:c1;\n  client-hostname \"a\\\"b{c};d\\\\e\\303\\251\";\n  set vendor-class-identifier = \"Cisco Systems, Inc. IP Phone CP-7960\\000\";\n}\n",
                Want {
                    leases: &["10.0.0.1 active 001B0C18BDC1 a\"b{c};d\\eé Cisco Systems, Inc. IP Phone CP-7960\0 -"],
                    errors: &[],
                },
            ),
            // `ends never;`, `db-time-format local;` epochs with their comment.
            (
                "lease 10.0.0.2 { ends never; binding state backup; }\nlease 10.0.0.3 {\n  ends epoch 1795252686; # Sat Nov 21 09:18:06 2026\n  binding state expired;\n}\n",
                Want {
                    leases: &["10.0.0.2 backup - - - -", "10.0.0.3 expired - - - 1795252686"],
                    errors: &[],
                },
            ),
            // Other hardware types, a uid in hex, other variables, `on … or release`.
            (
                "lease 10.0.0.4 {\n  starts 4 2020/02/29 23:59:59;\n  ends 0 2021/01/03 00:00:00;\n  binding state abandoned;\n  hardware token-ring 00:11:22:33:44:55;\n  uid 01:00:11:22:33:44:55;\n  set ddns-fwd-name = \"x.example\";\n  set hit = %5;\n  on expiry or release { if exists x { log (\"}\"); } else { } }\n}\n",
                Want {
                    leases: &["10.0.0.4 abandoned - - - 1609632000"],
                    errors: &[],
                },
            ),
            // Top-level statements that are not leases, DHCPv6 blocks, comments.
            (
                "# comment { ;\nauthoring-byte-order little-endian;\nserver-duid \"\\000\\001}\";\nfailover peer \"p\" state {\n  my state normal at 1 2026/11/23 10:00:00;\n}\nhost h1 { dynamic; hardware ethernet 00:11:22:33:44:55; fixed-address 10.0.0.9; }\nclass \"c\" { match hardware; }\nsubclass \"c\" 1:0:11:22:33:44:55;\nsubclass \"c\" \"x\" { }\nia-na \"\\001\" {\n  cltt 1 2026/11/23 10:00:00;\n  iaaddr fd00::1 {\n    binding state active;\n  }\n}\nlease 10.0.0.5 { binding state free; }\n",
                Want {
                    leases: &["10.0.0.5 free - - - -"],
                    errors: &[],
                },
            ),
            // A malformed block is one error at its `lease` line; the next block still parses.
            (
                "lease 10.0.0.6 {\n  binding state active;\n  hardware ethernet 00:1b:0c:18:bd;\n}\nlease 10.0.0.7 { binding state active; }\n",
                Want {
                    leases: &["10.0.0.7 active - - - -"],
                    errors: &[(1, "lease 10.0.0.6: hardware ethernet: invalid mac address \"00:1b:0c:18:bd\" (line 3)")],
                },
            ),
            (
                "lease 10.0.0.999 { binding state active; }\nlease 10.0.0.8;\nlease { }\nlease 10.0.0.9 { hardware ethernet 00:1b:0c:18:bd:c1; }\n}\nlease 10.0.0.10 { ends 6 2026/02/30 00:00:00; binding state active; }\nlease 10.0.0.11 { ends soon; binding state active; }\nlease 10.0.0.12 { binding state; }\nlease 10.0.0.13 { client-hostname SEP; binding state active; }\nlease 10.0.0.14 { binding state active; }\n",
                Want {
                    leases: &["10.0.0.14 active - - - -"],
                    errors: &[
                        (1, "bad lease address \"10.0.0.999\""),
                        (2, "lease 10.0.0.8: expected '{' after the address"),
                        (3, "lease without an address"),
                        (4, "lease 10.0.0.9: no binding state"),
                        (5, "unexpected '}' outside a block"),
                        (6, "lease 10.0.0.10: bad ends time \"6 2026/02/30 00:00:00\""),
                        (7, "lease 10.0.0.11: bad ends time \"soon\""),
                        (8, "lease 10.0.0.12: bad 'binding state' statement"),
                        (9, "lease 10.0.0.13: client-hostname is not one quoted string"),
                    ],
                },
            ),
        ];
        for (text, want) in table {
            check(text, want);
        }
    }

    #[test]
    fn cut_blocks_are_kept_for_later() {
        // (text, leases, bytes consumed)
        let table: &[(&str, usize, usize)] = &[
            ("", 0, 0),
            ("lease 10.0.0.1 { binding state active; }", 1, 40),
            ("lease 10.0.0.1 { binding state active; }\n", 1, 41),
            ("lease 10.0.0.1 { binding state active; }  \r\n\n", 1, 44),
            (
                "lease 10.0.0.1 { binding state active; }\nlease 10.0.0.2 {",
                1,
                41,
            ),
            // Cut inside a string that holds a '}' and a ';'.
            (
                "lease 10.0.0.1 { binding state active; client-hostname \"a};",
                0,
                0,
            ),
            // Cut inside a nested block.
            (
                "lease 10.0.0.1 { binding state active; on release { x; }",
                0,
                0,
            ),
            // Cut inside a comment, after a complete statement.
            ("authoring-byte-order little-endian; # note", 0, 35),
        ];
        for &(text, leases, consumed) in table {
            let (parsed, used) = parse_incremental(text);
            assert_eq!((parsed.items.len(), used), (leases, consumed), "{text:?}");
            assert_eq!(parsed.errors, [], "{text:?}");
        }
    }

    #[test]
    fn times() {
        let table: &[(&str, &str, Option<i64>)] = &[
            ("1970/01/01", "00:00:00", Some(0)),
            ("2026/11/21", "09:18:06", Some(1795252686)),
            ("2000/02/29", "12:00:00", Some(951825600)),
            ("2100/02/29", "12:00:00", None),
            ("2038/01/19", "03:14:08", Some(2147483648)),
            ("1969/12/31", "23:59:59", Some(-1)),
            ("2026/13/01", "00:00:00", None),
            ("2026/11/21", "24:00:00", None),
            ("2026/11/21", "09:18", None),
            ("2026/11", "09:18:06", None),
            ("2026/11/21/1", "09:18:06", None),
            ("+2026/11/21", "09:18:06", None),
            ("99999/11/21", "09:18:06", None),
        ];
        for &(date, time, want) in table {
            assert_eq!(utc_seconds(date, time), want, "{date} {time}");
        }
    }

    #[test]
    fn unquoting() {
        let table: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("\\\"q\\\"", "\"q\""),
            ("\\\\", "\\"),
            ("\\000", "\0"),
            ("\\0", "\0"),
            ("\\1010", "A0"),
            ("\\303\\251", "é"),
            ("\\377", "\u{fffd}"),
            ("\\t\\n", "\t\n"),
            ("trailing\\", "trailing\\"),
            ("\\{", "{"),
        ];
        for &(raw, want) in table {
            assert_eq!(unquote(raw), want, "{raw}");
        }
    }

    #[test]
    fn never_panics() {
        let real = read(FILES[8]);
        let run = |text: &str| {
            let (parsed, consumed) = parse_incremental(text);
            assert!(consumed <= text.len());
            assert!(text.is_char_boundary(consumed));
            parsed
        };
        for (cut, _) in real.char_indices() {
            run(&real[..cut]);
            run(&real[cut..]);
        }
        for cut in 0..real.len() {
            for wide in ["é", "€", "𝄞", "\0", "\"", "{", "}", ";", "#", "\\", "\n"] {
                run(&format!("{}{wide}{}", &real[..cut], &real[cut + 1..]));
            }
        }
        for text in [
            "",
            " ",
            "\0",
            "\0\0\0\0\0\0\0;\0\0\0}",
            "lease",
            "lease ;",
            "lease é { binding state é; hardware é é; ends é é é; }",
            "lease 1.2.3.4 { ends 𝄞 𝄞/𝄞/𝄞 𝄞:𝄞:𝄞; binding state active; }",
            "lease 1.2.3.4 { client-hostname \"\\",
            "lease 1.2.3.4 { client-hostname \"\\\"; }",
            "lease 1.2.3.4 { set vendor-class-identifier = ; binding state x; }",
            "lease 1.2.3.4 { set ; = \"\" ; hardware ; }",
            "}}}}{{{{;;;;",
            "\"",
            "#",
            "ÃĀ€𝄞 { } ; \" \\ \"",
        ] {
            run(text);
        }
        let mega = "A".repeat(1 << 20);
        for text in [
            mega.clone(),
            format!("lease {mega} {{ binding state active; }}"),
            format!("lease 1.2.3.4 {{ client-hostname \"{mega}\"; binding state active; }}"),
            format!("\"{mega}"),
            format!("#{mega}"),
            "{".repeat(1 << 20),
            "}".repeat(1 << 16),
            format!(
                "lease 1.2.3.4 {{ binding state active; {} }}",
                "{ ".repeat(1 << 16)
            ),
        ] {
            run(&text);
        }
        let parsed = run(&format!(
            "lease 1.2.3.4 {{ client-hostname \"{mega}\"; binding state active; }}"
        ));
        assert_eq!(
            parsed.items[0].hostname.as_deref().map(str::len),
            Some(1 << 20)
        );
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    /// A statement of thousands of tokens is reported and skipped; the lease after it is read.
    #[test]
    fn long_statements() {
        let text = format!(
            "option{} ;\nlease 198.18.0.100 {{\n  binding state active;\n  hardware ethernet 00:1b:0c:18:bd:c1;\n}}\n",
            " x".repeat(5000)
        );
        let (parsed, consumed) = parse_incremental(&text);
        assert_eq!(consumed, text.len());
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 1);
        assert_eq!(
            parsed.errors[0].reason,
            "statement of more than 1024 tokens skipped"
        );
    }
}
