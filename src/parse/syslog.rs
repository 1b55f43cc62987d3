//! Splits one log line into its prefix (time, host, program tag, pid) and its message.
//!
//! The TFTP and DHCP servers reach us through several writers, each with its own prefix. Every
//! example below is a real captured line (formats.md) unless marked *constructed*:
//!
//! | flavour | example |
//! |---|---|
//! | RFC 3164, rsyslog traditional, `journalctl -o short` | `Nov 21 08:18:09 router in.tftpd[27389]: RRQ from …` |
//! | dnsmasq `--log-facility=<file>` (no host) | `Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 DHCPACK(br0) …` |
//! | Debian 12 rsyslog (RFC 3339) | `2026-11-21T08:16:16.352543+00:00 router dnsmasq-dhcp[26562]: DHCPACK(br0) …` |
//! | `journalctl -o short-iso` (*constructed*) | `2026-11-21T08:18:09+0000 router in.tftpd[27389]: …` |
//! | atftpd `--logfile` | `Nov 21 08:20:35 router atftpd[28892.140131057186496]: Serving …` |
//! | OpenWrt `logread` | `Fri Nov  6 10:10:08 2020 daemon.info dnsmasq-dhcp[4703]: DHCPACK(eth0) …` |
//! | Kea's own log file | `2026-11-21 08:22:56.401 INFO  [kea-dhcp4.leases/29606.140084106318336] DHCP4_LEASE_ALLOC …` |
//!
//! How each prefix is read:
//!
//! - **Year-less stamps** (`Nov 21 08:18:09`, RFC 3164 and atftpd) take the year `now` has in
//!   the local zone, or the year before when that would put the line more than a day after
//!   `now` (a December line read in January). The day may be space-padded (`Nov  1`, syslog,
//!   dnsmasq), zero-padded (`Nov 01`, atftpd) or bare; fractional seconds (`-o short-precise`)
//!   are skipped.
//! - **Zone-less stamps are local time.** RFC 3164, dnsmasq's and atftpd's files, logread and
//!   Kea's own file (log4cplus writes local time, `%Y-%m-%d %H:%M:%S.%q`) carry no offset: the
//!   writer formatted its clock with `localtime(3)`. They are read in the [`LocalZone`] the
//!   caller passes (the system's, loaded by the edge; UTC in tests), DST included; a time a DST
//!   change skips or repeats is read as [`LocalZone::to_utc`] says. RFC 3339 and
//!   `journalctl -o short-iso` stamps carry their offset and keep it; an RFC 3339 stamp without
//!   one is local time too.
//! - **Host or not.** dnsmasq's own file has no host field. The token after the time is a tag
//!   when it ends in `:` (`dnsmasq-dhcp[25848]:`), otherwise it is the host. A `facility.priority`
//!   token is skipped where logread (no host) and busybox syslogd (after the host) put one.
//! - **Tag and pid.** `tag[pid]:` or `tag:`. The pid is the text between the brackets, kept as
//!   text: atftpd's file writes `pid.thread`, and dnsmasq in an OpenWrt jail is `[1]`.
//! - **OpenWrt logread** writes ctime with the year and, with `-t`, `[sec.msec] ` after it; it
//!   has no host. Kernel lines read `kern.info kernel: …`, so their tag is `kernel`.
//! - **Kea** writes `date time.ms LEVEL [logger/pid.thread] MESSAGE_ID text`: the tag is the
//!   logger name (`kea-dhcp4.leases`) and the pid is `pid.thread`. Its packet dumps continue on
//!   lines without a prefix; those lines fit no flavour.
//! - A `<PRI>` prefix (a raw syslog datagram, `logread -r`) is skipped. A line with no time
//!   at all is accepted only as `tag[pid]: message`, the form syslog(3) writes to stderr with
//!   `LOG_PERROR`; its `time` is `None`.
//!
//! Lines that fit no flavour give `None`. The parser never panics and never allocates: it
//! inspects bytes and slices the line only next to ASCII delimiters, which are always char
//! boundaries, so any `&str` is safe, whatever its length or content.

use crate::civil::days_from_civil;
use crate::localtime::{LocalZone, WallClock};

/// One log line split into its prefix fields and its message. Borrows from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// Unix seconds of the line's timestamp, or `None` when the line carries no timestamp.
    /// Stamps without an offset are read in the local zone (see the module docs).
    pub time: Option<i64>,
    /// The host name, for the flavours that write one (RFC 3164, RFC 3339, atftpd's file).
    pub host: Option<&'a str>,
    /// The program name (`dnsmasq-tftp`, `in.tftpd`, `atftpd`, `dhcpd`, `dnsmasq-dhcp`), or
    /// the logger name for Kea's own file (`kea-dhcp4.leases`).
    pub tag: &'a str,
    /// The text inside `[...]` after the tag: a pid, `pid.thread` for atftpd's file and Kea;
    /// `None` when the tag has no brackets.
    pub pid: Option<&'a str>,
    /// The text after `tag[pid]: `, with trailing whitespace trimmed.
    pub message: &'a str,
}

/// Splits `line` into prefix and message; `now` (Unix seconds) picks the year of year-less
/// stamps, `zone` reads stamps without an offset. `None` when the line fits no known flavour.
pub fn split<'a>(line: &'a str, now: i64, zone: &LocalZone) -> Option<LogLine<'a>> {
    split_raw(line).map(|raw| raw.resolve(now, zone))
}

/// A split line whose timestamp has not been turned into Unix seconds yet.
///
/// [`crate::parse::tftp_log`] looks at the tag first and only pays for the date arithmetic
/// when the line is one of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawLine<'a> {
    /// The timestamp as written, if any.
    pub(crate) stamp: Option<Stamp>,
    /// See [`LogLine::host`].
    pub(crate) host: Option<&'a str>,
    /// See [`LogLine::tag`].
    pub(crate) tag: &'a str,
    /// See [`LogLine::pid`].
    pub(crate) pid: Option<&'a str>,
    /// See [`LogLine::message`].
    pub(crate) message: &'a str,
}

impl<'a> RawLine<'a> {
    /// The timestamp in Unix seconds; `now` picks the year of year-less stamps, `zone` reads
    /// stamps without an offset.
    pub(crate) fn time(&self, now: i64, zone: &LocalZone) -> Option<i64> {
        self.stamp.map(|stamp| stamp.unix_time(now, zone))
    }

    /// Turns the stamp into Unix seconds.
    pub(crate) fn resolve(self, now: i64, zone: &LocalZone) -> LogLine<'a> {
        LogLine {
            time: self.time(now, zone),
            host: self.host,
            tag: self.tag,
            pid: self.pid,
            message: self.message,
        }
    }
}

/// A timestamp as written: fields validated, year possibly missing, offset in seconds east
/// (`None`: local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    year: Option<i64>,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    offset: Option<i64>,
}

const SECONDS_PER_DAY: i64 = 86_400;

/// `now` is clamped to about ±34,000 years so that the date arithmetic cannot overflow.
const MAX_ABS_NOW: i64 = 1 << 40;

impl Stamp {
    /// Unix seconds. A missing year is the year of `now` in `zone`, or the one before when
    /// the stamp would otherwise lie more than a day after `now`.
    fn unix_time(self, now: i64, zone: &LocalZone) -> i64 {
        let now = now.clamp(-MAX_ABS_NOW, MAX_ABS_NOW);
        let year = match self.year {
            Some(year) => year,
            None => {
                let this_year = zone.wall_clock(now).0.year;
                if self.at_year(this_year, now, zone) > now + SECONDS_PER_DAY {
                    this_year - 1
                } else {
                    this_year
                }
            }
        };
        self.at_year(year, now, zone)
    }

    fn at_year(self, year: i64, now: i64, zone: &LocalZone) -> i64 {
        match self.offset {
            Some(offset) => {
                days_from_civil(year, self.month.into(), self.day.into()) * SECONDS_PER_DAY
                    + i64::from(self.hour) * 3600
                    + i64::from(self.minute) * 60
                    + i64::from(self.second)
                    - offset
            }
            None => zone.to_utc(
                WallClock {
                    year,
                    month: self.month.into(),
                    day: self.day.into(),
                    hour: self.hour.into(),
                    minute: self.minute.into(),
                    second: self.second.into(),
                },
                now,
            ),
        }
    }
}

/// Splits a line without converting its timestamp; see [`split`].
pub(crate) fn split_raw(line: &str) -> Option<RawLine<'_>> {
    let line = strip_pri(line);
    let parsed = match line.as_bytes().first()? {
        b'0'..=b'9' => split_iso(line),
        b'A'..=b'Z' => split_named(line),
        _ => None,
    };
    parsed.or_else(|| split_bare(line))
}

/// Skips a `<PRI>` prefix (one to three digits).
fn strip_pri(line: &str) -> &str {
    let bytes = line.as_bytes();
    if bytes.first() != Some(&b'<') {
        return line;
    }
    match bytes.iter().take(5).position(|&byte| byte == b'>') {
        Some(end) if end > 1 && bytes[1..end].iter().all(u8::is_ascii_digit) => {
            // `end` indexes an ASCII byte, so `end + 1` is a char boundary.
            &line[end + 1..]
        }
        _ => line,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac][offset] …` (RFC 3339, short-iso) or Kea's
/// `YYYY-MM-DD HH:MM:SS.mmm LEVEL [logger/pid] …`.
fn split_iso(line: &str) -> Option<RawLine<'_>> {
    let bytes = line.as_bytes();
    let year = number(bytes, 0, 4)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = two_digits(bytes, 5)?;
    let day = two_digits(bytes, 8)?;
    let (hour, minute, second) = clock(bytes, 11)?;
    let mut at = skip_fraction(bytes, 19);
    let mut stamp = Stamp {
        year: Some(year),
        month,
        day,
        hour,
        minute,
        second,
        offset: None,
    };
    valid_date(&stamp)?;
    match bytes.get(10)? {
        b'T' | b't' => {
            (stamp.offset, at) = utc_offset(bytes, at)?;
            if bytes.get(at) != Some(&b' ') {
                return None;
            }
            with_tail(Some(stamp), &line[at + 1..])
        }
        b' ' => split_kea(stamp, line, at),
        _ => None,
    }
}

/// The offset after an RFC 3339 time: `Z`, `+HH:MM`, `+HHMM` (journalctl), or nothing (local
/// time, `None`). Returns seconds east and the index after the offset.
fn utc_offset(bytes: &[u8], at: usize) -> Option<(Option<i64>, usize)> {
    match bytes.get(at) {
        Some(b'Z' | b'z') => Some((Some(0), at + 1)),
        Some(&sign @ (b'+' | b'-')) => {
            let hours = number(bytes, at + 1, 2)?;
            let (minutes_at, end) = if bytes.get(at + 3) == Some(&b':') {
                (at + 4, at + 6)
            } else {
                (at + 3, at + 5)
            };
            let minutes = number(bytes, minutes_at, 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            Some((Some(if sign == b'-' { -seconds } else { seconds }), end))
        }
        _ => Some((None, at)),
    }
}

/// The rest of a Kea line after its time: `LEVEL [logger/pid.thread] message`.
fn split_kea(stamp: Stamp, line: &str, at: usize) -> Option<RawLine<'_>> {
    let bytes = line.as_bytes();
    if bytes.get(at) != Some(&b' ') {
        return None;
    }
    let level_start = at + 1;
    let mut at = level_start;
    while bytes.get(at).is_some_and(u8::is_ascii_uppercase) {
        at += 1;
    }
    // The level is padded to five characters: `INFO  [`, `DEBUG [`.
    if at == level_start || bytes.get(at) != Some(&b' ') {
        return None;
    }
    while bytes.get(at) == Some(&b' ') {
        at += 1;
    }
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    let inside = &line[at + 1..];
    let close = inside.find(']')?;
    let (logger, after) = (&inside[..close], &inside[close + 1..]);
    let message = match after.strip_prefix(' ') {
        Some(message) => message,
        None if after.is_empty() => after,
        None => return None,
    };
    let (tag, pid) = match logger.rsplit_once('/') {
        Some((tag, pid)) => (tag, Some(pid)),
        None => (logger, None),
    };
    if tag.is_empty() || tag.contains(' ') {
        return None;
    }
    Some(RawLine {
        stamp: Some(stamp),
        host: None,
        tag,
        pid,
        message: message.trim_end(),
    })
}

/// Lines that open with a name: `Nov 21 08:18:09 …` (RFC 3164, dnsmasq and atftpd files) or
/// `Fri Nov  6 10:10:08 2020 …` (OpenWrt logread).
fn split_named(line: &str) -> Option<RawLine<'_>> {
    let bytes = line.as_bytes();
    if bytes.get(3) != Some(&b' ') {
        return None;
    }
    if month_number(&bytes[..3]).is_some() {
        let (stamp, at) = month_day_clock(bytes, 0)?;
        return with_tail(Some(stamp), &line[at..]);
    }
    if !is_weekday(&bytes[..3]) {
        return None;
    }
    let (mut stamp, at) = month_day_clock(bytes, 4)?;
    stamp.year = Some(number(bytes, at, 4)?);
    valid_date(&stamp)?;
    if bytes.get(at + 4) != Some(&b' ') {
        return None;
    }
    let mut rest = &line[at + 5..];
    // `logread -t` puts `[sec.msec] ` between the year and the facility.
    if rest.starts_with('[') {
        let close = rest.find("] ")?;
        rest = &rest[close + 2..];
    }
    with_tail(Some(stamp), rest)
}

/// `Mmm dd HH:MM:SS[.frac] ` starting at `start`, the day space-padded, zero-padded or bare.
/// Returns the stamp (no year) and the index after the trailing space.
fn month_day_clock(bytes: &[u8], start: usize) -> Option<(Stamp, usize)> {
    let month = month_number(bytes.get(start..start + 3)?)?;
    if bytes.get(start + 3) != Some(&b' ') {
        return None;
    }
    let mut at = start + 4;
    if bytes.get(at) == Some(&b' ') {
        at += 1;
    }
    let day_start = at;
    while at < day_start + 2 && bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    let day = u8::try_from(number(bytes, day_start, at - day_start)?).ok()?;
    if bytes.get(at) != Some(&b' ') {
        return None;
    }
    let (hour, minute, second) = clock(bytes, at + 1)?;
    let at = skip_fraction(bytes, at + 9);
    if bytes.get(at) != Some(&b' ') {
        return None;
    }
    let stamp = Stamp {
        year: None,
        month,
        day,
        hour,
        minute,
        second,
        offset: None,
    };
    valid_date(&stamp)?;
    Some((stamp, at + 1))
}

/// A line with no time: accepted only as `tag[pid]: message`.
fn split_bare(line: &str) -> Option<RawLine<'_>> {
    let (token, after) = next_token(line);
    match parse_tag(token)? {
        (tag, Some(pid)) => Some(RawLine {
            stamp: None,
            host: None,
            tag,
            pid: Some(pid),
            message: after.trim_end(),
        }),
        (_, None) => None,
    }
}

/// What follows the time: `[host ][facility.priority ]tag[pid]: message`.
fn with_tail(stamp: Option<Stamp>, rest: &str) -> Option<RawLine<'_>> {
    let (first, after) = next_token(rest);
    let (host, rest) = if let Some((tag, pid)) = parse_tag(first) {
        return Some(RawLine {
            stamp,
            host: None,
            tag,
            pid,
            message: after.trim_end(),
        });
    } else if is_facility_priority(first) {
        // OpenWrt logread: no host, then the facility.
        (None, after)
    } else if first.is_empty() {
        return None;
    } else {
        // Busybox syslogd writes the facility after the host.
        let (second, after_second) = next_token(after);
        if is_facility_priority(second) {
            (Some(first), after_second)
        } else {
            (Some(first), after)
        }
    };
    let (token, after) = next_token(rest);
    let (tag, pid) = parse_tag(token)?;
    Some(RawLine {
        stamp,
        host,
        tag,
        pid,
        message: after.trim_end(),
    })
}

/// The text up to the first space and the text after that space.
fn next_token(text: &str) -> (&str, &str) {
    match text.find(' ') {
        Some(space) => (&text[..space], &text[space + 1..]),
        None => (text, ""),
    }
}

/// `tag[pid]:` or `tag:` → tag and pid.
fn parse_tag(token: &str) -> Option<(&str, Option<&str>)> {
    let body = token.strip_suffix(':')?;
    match body.find('[') {
        Some(open) => {
            let pid = body[open + 1..].strip_suffix(']')?;
            let tag = &body[..open];
            if tag.is_empty() || pid.is_empty() {
                return None;
            }
            Some((tag, Some(pid)))
        }
        None if body.is_empty() || body.contains(']') => None,
        None => Some((body, None)),
    }
}

const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "security", "console", "mark", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

const PRIORITIES: [&str; 12] = [
    "emerg", "panic", "alert", "crit", "err", "error", "warn", "warning", "notice", "info",
    "debug", "none",
];

/// `daemon.info` and the like, as logread and busybox syslogd write them.
fn is_facility_priority(token: &str) -> bool {
    match token.split_once('.') {
        Some((facility, priority)) => {
            FACILITIES.contains(&facility) && PRIORITIES.contains(&priority)
        }
        None => false,
    }
}

fn month_number(name: &[u8]) -> Option<u8> {
    let month = match name {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    Some(month)
}

fn is_weekday(name: &[u8]) -> bool {
    matches!(
        name,
        b"Mon" | b"Tue" | b"Wed" | b"Thu" | b"Fri" | b"Sat" | b"Sun"
    )
}

/// `len` (1 to 4) ASCII digits at `at` as a number.
fn number(bytes: &[u8], at: usize, len: usize) -> Option<i64> {
    let digits = bytes.get(at..at.checked_add(len)?)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0, |value, &digit| value * 10 + i64::from(digit - b'0')),
    )
}

/// Two ASCII digits at `at`.
fn two_digits(bytes: &[u8], at: usize) -> Option<u8> {
    u8::try_from(number(bytes, at, 2)?).ok()
}

/// `HH:MM:SS` at `at`; the second may be 60 (a leap second).
fn clock(bytes: &[u8], at: usize) -> Option<(u8, u8, u8)> {
    let hour = two_digits(bytes, at)?;
    let minute = two_digits(bytes, at + 3)?;
    let second = two_digits(bytes, at + 6)?;
    if bytes.get(at + 2) != Some(&b':') || bytes.get(at + 5) != Some(&b':') {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((hour, minute, second))
}

/// Skips `.digits` at `at`, if present.
fn skip_fraction(bytes: &[u8], at: usize) -> usize {
    if bytes.get(at) != Some(&b'.') || !bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
        return at;
    }
    let mut end = at + 1;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    end
}

/// Month 1 to 12 and a day that exists in that month in some year (29 February is allowed
/// without a year; with a known non-leap year it is rejected).
fn valid_date(stamp: &Stamp) -> Option<()> {
    const DAYS: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let max = *DAYS.get(usize::from(stamp.month).checked_sub(1)?)?;
    let leap = |year: i64| year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let max = match stamp.year {
        Some(year) if stamp.month == 2 && !leap(year) => 28,
        _ => max,
    };
    (1..=max).contains(&stamp.day).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::localtime::UTC;

    /// 2026-11-21T12:00:00Z, the afternoon of the capture day.
    const NOW: i64 = 1_795_262_400;

    type Want<'a> = Option<(
        Option<i64>,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        &'a str,
    )>;

    #[track_caller]
    fn check_at(now: i64, line: &str, want: Want<'_>) {
        let got = split(line, now, &UTC).map(|l| (l.time, l.host, l.tag, l.pid, l.message));
        assert_eq!(got, want, "line {line:?}");
    }

    #[track_caller]
    fn check(line: &str, want: Want<'_>) {
        check_at(NOW, line, want);
    }

    /// Unix seconds of a UTC date, checked against `date -u -d … +%s` when the test was written.
    const T_08_18_09: i64 = 1_795_249_089;
    const T_08_14_23: i64 = 1_795_248_863;

    #[test]
    fn traditional_rfc3164() {
        // captures/isc-dhcpd/syslog.traditional.
        check(
            "Nov 21 08:18:09 router in.tftpd[27389]: RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv",
            Some((Some(T_08_18_09), Some("router"), "in.tftpd", Some("27389"), "RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv")),
        );
        // A tag without pid.
        check(
            "Nov 21 08:18:04 router rsyslogd: [origin software=\"rsyslogd\" swVersion=\"8.2302.0\" x-pid=\"27216\" x-info=\"https://www.rsyslog.com\"] start",
            Some((Some(T_08_18_09 - 5), Some("router"), "rsyslogd", None, "[origin software=\"rsyslogd\" swVersion=\"8.2302.0\" x-pid=\"27216\" x-info=\"https://www.rsyslog.com\"] start")),
        );
        // Trailing blanks go.
        check(
            "Nov 21 08:18:06 router dhcpd[27240]: execute_statement argv[8] = ",
            Some((
                Some(T_08_18_09 - 3),
                Some("router"),
                "dhcpd",
                Some("27240"),
                "execute_statement argv[8] =",
            )),
        );
        // The seed blog post (2015): read on its own day, and read today (so last year).
        let seed = "Dec 30 10:15:32 localhost in.tftpd[24929]: RRQ from 192.168.0.224 filename term06.default.loads";
        let message = "RRQ from 192.168.0.224 filename term06.default.loads";
        check_at(
            1_451_480_000,
            seed,
            Some((
                Some(1_451_470_532),
                Some("localhost"),
                "in.tftpd",
                Some("24929"),
                message,
            )),
        );
        check(
            seed,
            Some((
                Some(1_767_089_732),
                Some("localhost"),
                "in.tftpd",
                Some("24929"),
                message,
            )),
        );
        // Constructed: a space-padded day, a bare day, and `journalctl -o short-precise`.
        let first = 1_793_521_089; // 2026-11-01T08:18:09Z
        check(
            "Nov  1 08:18:09 router tftpd: x",
            Some((Some(first), Some("router"), "tftpd", None, "x")),
        );
        check(
            "Nov 1 08:18:09 router tftpd: x",
            Some((Some(first), Some("router"), "tftpd", None, "x")),
        );
        check(
            "Nov 21 08:18:09.198444 router in.tftpd[27389]: x",
            Some((
                Some(T_08_18_09),
                Some("router"),
                "in.tftpd",
                Some("27389"),
                "x",
            )),
        );
        // Constructed: busybox syslogd puts the facility after the host.
        check(
            "Nov 21 08:18:09 router daemon.info in.tftpd[27389]: x",
            Some((
                Some(T_08_18_09),
                Some("router"),
                "in.tftpd",
                Some("27389"),
                "x",
            )),
        );
        // Constructed: a raw datagram with its priority.
        check(
            "<30>Nov 21 08:18:09 in.tftpd[27389]: x",
            Some((Some(T_08_18_09), None, "in.tftpd", Some("27389"), "x")),
        );
    }

    #[test]
    fn dnsmasq_log_file() {
        // captures/dnsmasq/dnsmasq.log.1: no host field.
        check(
            "Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 SEP001B0C18BDC1",
            Some((Some(T_08_14_23), None, "dnsmasq-dhcp", Some("25848"), "2633243775 DHCPACK(br0) 198.18.0.151 00:1b:0c:18:bd:c1 SEP001B0C18BDC1")),
        );
        // Two trailing spaces in the capture.
        check(
            "Nov 21 08:14:20 dnsmasq-tftp[25848]: TFTP root is /srv/tftp  ",
            Some((
                Some(T_08_14_23 - 3),
                None,
                "dnsmasq-tftp",
                Some("25848"),
                "TFTP root is /srv/tftp",
            )),
        );
        check(
            "Nov 21 08:14:23 dnsmasq-dhcp[25848]: 2633243775 DHCPDISCOVER(br0) 00:1b:0c:18:bd:c1 ",
            Some((
                Some(T_08_14_23),
                None,
                "dnsmasq-dhcp",
                Some("25848"),
                "2633243775 DHCPDISCOVER(br0) 00:1b:0c:18:bd:c1",
            )),
        );
    }

    #[test]
    fn rfc3339() {
        // captures/isc-dhcpd/syslog (Debian 12 rsyslog).
        check(
            "2026-11-21T08:18:09.198444+00:00 router in.tftpd[27389]: RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv",
            Some((Some(T_08_18_09), Some("router"), "in.tftpd", Some("27389"), "RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv")),
        );
        check(
            "2026-11-21T08:18:04.244003+00:00 router rsyslogd: [origin software=\"rsyslogd\"] start",
            Some((Some(T_08_18_09 - 5), Some("router"), "rsyslogd", None, "[origin software=\"rsyslogd\"] start")),
        );
        // Constructed: other offsets, no fraction, journalctl's offset without colon.
        let want = |host| Some((Some(T_08_18_09), Some(host), "in.tftpd", Some("27389"), "x"));
        check(
            "2026-11-21T03:18:09-05:00 router in.tftpd[27389]: x",
            want("router"),
        );
        check(
            "2026-11-21T13:48:09.5+05:30 router in.tftpd[27389]: x",
            want("router"),
        );
        check(
            "2026-11-21T08:18:09Z router in.tftpd[27389]: x",
            want("router"),
        );
        check(
            "2026-11-21T08:18:09 router in.tftpd[27389]: x",
            want("router"),
        );
        check(
            "2026-11-21T08:18:09+0000 router in.tftpd[27389]: x",
            want("router"),
        );
        check(
            "2026-11-21T09:18:09.198444+0100 box in.tftpd[27389]: x",
            want("box"),
        );
        // Year known: 29 February only in leap years.
        check(
            "2024-02-29T00:00:00Z h t: x",
            Some((Some(1_709_164_800), Some("h"), "t", None, "x")),
        );
        check("2026-02-29T00:00:00Z h t: x", None);
    }

    #[test]
    fn atftpd_log_file() {
        // captures/atftpd/atftpd.log.1: pid.thread, zero-padded day.
        check(
            "Nov 21 08:20:35 router atftpd[28892.140131057186496]: Serving CTLSEP001B0C18BDC1.tlv to 198.18.0.41:60111",
            Some((Some(1_795_249_235), Some("router"), "atftpd", Some("28892.140131057186496"), "Serving CTLSEP001B0C18BDC1.tlv to 198.18.0.41:60111")),
        );
        // Constructed: the first of the month.
        check(
            "Nov 01 08:18:09 router atftpd[1.2]: Serving a to 1.2.3.4:5",
            Some((
                Some(1_793_521_089),
                Some("router"),
                "atftpd",
                Some("1.2"),
                "Serving a to 1.2.3.4:5",
            )),
        );
    }

    #[test]
    fn openwrt_logread() {
        // formats.md 8.1, from real reports.
        let nov_6_2020 = 1_604_657_408;
        check(
            "Fri Nov  6 10:10:08 2020 daemon.info dnsmasq-dhcp[4703]: DHCPACK(eth0) 192.168.100.132 4c:cc:6a:4f:2d:06 G00R00",
            Some((Some(nov_6_2020), None, "dnsmasq-dhcp", Some("4703"), "DHCPACK(eth0) 192.168.100.132 4c:cc:6a:4f:2d:06 G00R00")),
        );
        check(
            "Mon Oct 28 10:27:05 2024 daemon.info dnsmasq-dhcp[1]: DHCP, IP range 10.0.0.2 -- 10.0.0.254, lease time 12h",
            Some((Some(1_730_111_225), None, "dnsmasq-dhcp", Some("1"), "DHCP, IP range 10.0.0.2 -- 10.0.0.254, lease time 12h")),
        );
        check(
            "Mon Apr 11 02:38:40 2022 daemon.notice netifd: wan (2702): udhcpc: sending renew to 192.168.0.1",
            Some((Some(1_649_644_720), None, "netifd", None, "wan (2702): udhcpc: sending renew to 192.168.0.1")),
        );
        // Constructed: `logread -t` and a kernel line.
        check(
            "Fri Nov  6 10:10:08 2020 [1604657408.123] daemon.info dnsmasq-dhcp[4703]: DHCPACK(eth0) x",
            Some((Some(nov_6_2020), None, "dnsmasq-dhcp", Some("4703"), "DHCPACK(eth0) x")),
        );
        check(
            "Fri Nov  6 10:10:08 2020 kern.info kernel: [   12.345678] br-lan: port 1(lan1) entered forwarding state",
            Some((Some(nov_6_2020), None, "kernel", None, "[   12.345678] br-lan: port 1(lan1) entered forwarding state")),
        );
    }

    #[test]
    fn kea_log_file() {
        // captures/kea/kea-dhcp4.log.
        check(
            "2026-11-21 08:22:56.401 INFO  [kea-dhcp4.leases/29606.140084106318336] DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], cid=[01:00:1b:0c:18:bd:c1], tid=0xa584152e: lease 198.18.0.100 has been allocated for 3600 seconds",
            Some((Some(1_795_249_376), None, "kea-dhcp4.leases", Some("29606.140084106318336"), "DHCP4_LEASE_ALLOC [hwtype=1 00:1b:0c:18:bd:c1], cid=[01:00:1b:0c:18:bd:c1], tid=0xa584152e: lease 198.18.0.100 has been allocated for 3600 seconds")),
        );
        check(
            "2026-11-21 08:22:55.296 WARN  [kea-dhcp4.dhcp4/29606.140084106318336] DHCP4_MULTI_THREADING_INFO enabled: no, number of threads: 0, queue size: 0",
            Some((Some(1_795_249_375), None, "kea-dhcp4.dhcp4", Some("29606.140084106318336"), "DHCP4_MULTI_THREADING_INFO enabled: no, number of threads: 0, queue size: 0")),
        );
        check(
            "2026-11-21 08:22:55.278 INFO  [kea-dhcp4.hosts/29606.140084106318336] HOSTS_BACKENDS_REGISTERED the following host backend types are available: mysql postgresql ",
            Some((Some(1_795_249_375), None, "kea-dhcp4.hosts", Some("29606.140084106318336"), "HOSTS_BACKENDS_REGISTERED the following host backend types are available: mysql postgresql")),
        );
        // Packet dump continuation lines (kea-dhcp4-packets-debug.log).
        check("options:", None);
        check(
            "  type=060, len=037: \"Cisco Systems, Inc. IP Phone CP-7941G\" (string)",
            None,
        );
    }

    #[test]
    fn no_time() {
        // syslog(3) with LOG_PERROR writes `tag[pid]: message` to stderr.
        check(
            "in.tftpd[27389]: RRQ from 198.18.0.100 filename x",
            Some((
                None,
                None,
                "in.tftpd",
                Some("27389"),
                "RRQ from 198.18.0.100 filename x",
            )),
        );
        // dhcpd's stderr (captures/isc-dhcpd/dhcpd.stderr) has no prefix at all.
        check(
            "DHCPACK on 198.18.0.100 to 00:1b:0c:18:bd:c1 (SEP001B0C18BDC1) via br0",
            None,
        );
        check("router kernel: x", None);
    }

    #[test]
    fn rejects() {
        for line in [
            "",
            " ",
            "\n",
            "hello world",
            "Nov 21 08:18:09",
            "Nov 21 08:18:09 ",
            "Nov 21 08:18:09 router",
            "Nov 21 08:18:09 router -- MARK --",
            "Nov 21 08:18:09 router last message repeated 3 times",
            "Nov 21 24:18:09 router t[1]: x",
            "Nov 21 08:60:09 router t[1]: x",
            "Nov 32 08:18:09 router t[1]: x",
            "Nov 31 08:18:09 router t[1]: x",
            "Nov 00 08:18:09 router t[1]: x",
            "Nov 123 08:18:09 router t[1]: x",
            "Foo 21 08:18:09 router t[1]: x",
            "Nov 21 08:18:09 router t[]: x",
            "Nov 21 08:18:09 router [1]: x",
            "Nov 21 08:18:09 router t[1]x: x",
            "Nov 21 08:18:09  router t[1]: x",
            "Fri Nov  6 10:10:08 20 daemon.info t[1]: x",
            "Fri Nov  6 10:10:08 2020 [1604657408.123 daemon.info t[1]: x",
            "2026-13-21T08:18:09Z router t[1]: x",
            "2026-11-21T08:18:09+24:00 router t[1]: x",
            "2026-11-21T08:18:09+00: router t[1]: x",
            "2026-11-21X08:18:09Z router t[1]: x",
            "2026-11-21T08:18:09Zrouter t[1]: x",
            "2026-11-21 08:22:56.369 info [kea/1] x",
            "2026-11-21 08:22:56.369 INFO kea/1] x",
            "2026-11-21 08:22:56.369 INFO  [kea/1]x",
            "2026-11-21 08:22:56.369 INFO  [/1] x",
            "<30>",
            "<>Nov 21 08:18:09 router t[1]: x",
        ] {
            check(line, None);
        }
    }

    #[test]
    fn year_rollover() {
        let line = |stamp: &str| format!("{stamp} router t[1]: x");
        let time = |now: i64, stamp: &str| split(&line(stamp), now, &UTC).and_then(|l| l.time);
        // 2027-01-01T00:30:00Z: last night was last year, this morning is this year.
        let new_year = 1_798_763_400;
        assert_eq!(time(new_year, "Dec 31 23:59:59"), Some(1_798_761_599));
        assert_eq!(time(new_year, "Jan  1 00:10:00"), Some(1_798_762_200));
        // Up to a day ahead of `now` stays this year (clock skew); beyond is last year.
        assert_eq!(time(NOW, "Nov 22 11:59:59"), Some(NOW + 86_399));
        assert_eq!(
            time(NOW, "Nov 22 12:00:01"),
            Some(NOW + 86_401 - 365 * 86_400)
        );
        // A year-less 29 February read in a non-leap year rolls over to 1 March.
        assert_eq!(time(NOW, "Feb 29 00:00:00"), Some(1_772_323_200));
        // Absurd clocks do not overflow.
        assert!(time(i64::MAX, "Nov 21 08:18:09").is_some());
        assert!(time(i64::MIN, "Nov 21 08:18:09").is_some());
    }

    fn new_york() -> LocalZone {
        LocalZone::from_tzif(
            include_bytes!("../../tests/data/zoneinfo/America/New_York"),
            "test",
        )
        .unwrap()
    }

    /// Year-less stamps are local time (field-evidence.md §5: read as UTC, a New York box
    /// warned "no TFTP request for 5 h" one second after boot). The real in.tftpd line of
    /// `traditional_rfc3164` read on a box in New York (tzdata's file) and, with the date
    /// changed, around both 2026 DST changes. Expected Unix times:
    /// `TZ=America/New_York date -d '2026-… …' +%s`.
    #[test]
    fn year_less_stamps_are_local_time() {
        let zone = new_york();
        let message =
            "router in.tftpd[27389]: RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv";
        let time = |stamp: &str, now: i64| {
            split(&format!("{stamp} {message}"), now, &zone).and_then(|l| l.time)
        };
        // 08:18:09 EST is 13:18:09Z.
        assert_eq!(time("Nov 21 08:18:09", NOW), Some(T_08_18_09 + 5 * 3600));
        // Spring forward, 2026-03-08 07:00Z: 01:59:59 EST, then 03:00:00 EDT one second later;
        // 02:30, which the clocks skip, is read as EST (07:30Z, shown as 03:30 EDT).
        let spring = 1_772_953_200;
        assert_eq!(time("Mar  8 01:59:59", NOW), Some(spring - 1));
        assert_eq!(time("Mar  8 03:00:00", NOW), Some(spring));
        assert_eq!(time("Mar  8 02:30:00", NOW), Some(spring + 1800));
        assert_eq!(time("Jul  1 08:00:00", NOW), Some(1_782_907_200));
        // Fall back, 2026-11-01 06:00Z: 01:30 happens at 05:30Z (EDT) and at 06:30Z (EST).
        let fall = 1_793_512_800;
        assert_eq!(time("Nov  1 00:59:59", NOW), Some(fall - 3601));
        assert_eq!(time("Nov  1 02:00:00", NOW), Some(fall + 3600));
        // Read live in the first pass, it is the first; read later, the second.
        assert_eq!(time("Nov  1 01:30:00", fall - 1800 + 1), Some(fall - 1800));
        assert_eq!(time("Nov  1 01:30:00", NOW), Some(fall + 1800));
        // The year comes from local time: on 2027-01-01 at 03:00Z it is still 2026 in New York.
        assert_eq!(time("Dec 31 21:59:59", 1_798_772_400), Some(1_798_772_399));
        // An offset in the line wins over the zone.
        let offset = split(
            "2026-11-21T08:18:09.198444+00:00 router in.tftpd[27389]: x",
            NOW,
            &zone,
        );
        assert_eq!(offset.and_then(|l| l.time), Some(T_08_18_09));
        let offset = split(
            "2026-11-21T08:18:09+0000 router in.tftpd[27389]: x",
            NOW,
            &zone,
        );
        assert_eq!(offset.and_then(|l| l.time), Some(T_08_18_09));
        // Kea's own file writes local time (log4cplus `%D`): zone-less, so local.
        let kea = split(
            "2026-11-21 08:22:56.401 INFO  [kea-dhcp4.leases/29606.140084106318336] DHCP4_LEASE_ALLOC x",
            NOW,
            &zone,
        );
        assert_eq!(kea.and_then(|l| l.time), Some(1_795_249_376 + 5 * 3600));
    }

    /// OpenWrt keeps its zone as a POSIX string in /etc/TZ (from uci `system.timezone`):
    /// Europe/Berlin's. The real logread line (formats.md 8.1) of 2020-11-06 is CET (+01:00);
    /// a constructed one of July is CEST (+02:00).
    #[test]
    fn openwrt_posix_zone() {
        let berlin = LocalZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3", "/etc/TZ").unwrap();
        let time = |line: &str| split(line, NOW, &berlin).and_then(|l| l.time);
        assert_eq!(
            time("Fri Nov  6 10:10:08 2020 daemon.info dnsmasq-dhcp[4703]: DHCPACK(eth0) 192.168.100.132 4c:cc:6a:4f:2d:06 G00R00"),
            Some(1_604_657_408 - 3600)
        );
        assert_eq!(
            time("Wed Jul  1 10:10:08 2026 daemon.info dnsmasq-dhcp[4703]: DHCPACK(eth0) x"),
            Some(1_782_900_608 - 7200)
        );
        // And a year-less syslog line of the same box.
        assert_eq!(
            time("Nov 21 09:18:09 router in.tftpd[27389]: x"),
            Some(T_08_18_09)
        );
    }

    #[test]
    fn never_panics() {
        let real = [
            "Nov 21 08:18:09 router in.tftpd[27389]: RRQ from 198.18.0.100 filename CTLSEP001B0C18BDC1.tlv",
            "2026-11-21T08:18:09.198444+00:00 router in.tftpd[27389]: RRQ from 198.18.0.100 filename x",
            "Fri Nov  6 10:10:08 2020 [1604657408.123] daemon.info dnsmasq-dhcp[4703]: DHCPACK(eth0) x",
            "2026-11-21 08:22:56.401 INFO  [kea-dhcp4.leases/29606.140084106318336] DHCP4_LEASE_ALLOC x",
            "<30>Nov  1 08:18:09 router daemon.info in.tftpd[27389]: x",
        ];
        for line in real {
            for (cut, _) in line.char_indices() {
                let _ = split(&line[..cut], NOW, &UTC);
                let _ = split(&line[cut..], NOW, &UTC);
            }
            // A multi-byte char in place of every byte and between every two bytes.
            for cut in 0..line.len() {
                for wide in ["é", "€", "𝄞", "\0"] {
                    let _ = split(
                        &format!("{}{wide}{}", &line[..cut], &line[cut + 1..]),
                        NOW,
                        &UTC,
                    );
                    let _ = split(
                        &format!("{}{wide}{}", &line[..cut], &line[cut..]),
                        NOW,
                        &UTC,
                    );
                }
            }
        }
        let long = format!("Nov 21 08:18:09 router t[1]: {}", "A".repeat(10 << 20));
        assert_eq!(
            split(&long, NOW, &UTC).map(|l| l.message.len()),
            Some(10 << 20)
        );
        assert_eq!(split(&"A".repeat(1 << 20), NOW, &UTC), None);
    }
}
