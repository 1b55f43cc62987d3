//! The system's time zone as a value (pure): the offset from UTC at an instant, and the
//! instant a wall-clock time names. Year-less and zone-less log stamps (RFC 3164, atftpd,
//! logread, Kea) are local time; `status` and `explain` print local time with its offset.
//!
//! A [`LocalZone`] is built from what the edge read (`commands::system_zone`): the bytes of a
//! TZif file (`/etc/localtime`, a `TZ=:path`) or a POSIX TZ string (`TZ`, OpenWrt's `/etc/TZ`,
//! uci `system.timezone`). Both formats are read by the `tz-rs` crate (`tz`), which holds the
//! DST rules too: the transitions a TZif file lists, and its footer's POSIX rule (or the POSIX
//! string's) for the years after them.
//!
//! A wall-clock time is not always one instant. At a DST change ([`LocalZone::to_utc`]):
//!
//! - **skipped** (spring forward, 02:30 on 2026-03-08 in New York): read with the offset before
//!   the change, so it lands as far after the change as it was written after it (03:30 EDT);
//! - **ambiguous** (fall back, 01:30 on 2026-11-01 in New York happens at -04:00 and again at
//!   -05:00): the later of the two instants unless it lies after `now`, then the earlier. A line
//!   just read is recent: during the first pass the later instant is still in the future, during
//!   the second pass both have passed and the line is the second one. Reading a second-pass
//!   lease an hour early would make it look an hour old (a false `no-tftp-after-lease`).
//!
//! Instants the zone cannot place (beyond its rules, or absurdly far from 1970) are read at
//! UTC. Nothing here panics; once the zone is built, only formatting allocates.

use crate::civil::{civil_from_days, days_from_civil};
use std::fmt;

const SECONDS_PER_DAY: i64 = 86_400;

/// The zone the system's clock shows; UTC unless the edge found another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalZone {
    /// `None` is UTC.
    rule: Option<tz::TimeZone>,
    /// Where the zone came from, for the log and `check` (`/etc/TZ: CET-1CEST,…`).
    origin: String,
}

/// UTC, for contexts that know no zone (tests, fuzzers, a system without one).
pub static UTC: LocalZone = LocalZone::utc();

/// A zone that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneError {
    /// Not a TZif file (or a damaged or truncated one).
    Tzif,
    /// Not a POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`); the text given.
    Posix(String),
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneError::Tzif => f.write_str("not a usable TZif file (damaged or truncated?)"),
            ZoneError::Posix(text) => write!(
                f,
                "{text:?} is not a usable POSIX TZ string (like \"CET-1CEST,M3.5.0,M10.5.0/3\")"
            ),
        }
    }
}

impl std::error::Error for ZoneError {}

/// A wall-clock date and time, as a log line writes it (no zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31; not checked against the month (day 31 of a 30-day month is the 1st of the next).
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    /// 0–60.
    pub second: u32,
}

impl WallClock {
    /// The wall-clock time as if it were UTC: Unix seconds plus the offset.
    fn as_utc(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * SECONDS_PER_DAY
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

impl LocalZone {
    /// UTC.
    pub const fn utc() -> LocalZone {
        LocalZone {
            rule: None,
            origin: String::new(),
        }
    }

    /// A zone from the bytes of a TZif file, versions 1 to 3 (tz-rs 0.7 refuses version 4, which
    /// zic writes only for truncated leap-second tables). `origin` says where they came from.
    pub fn from_tzif(bytes: &[u8], origin: &str) -> Result<LocalZone, ZoneError> {
        let rule = tz::TimeZone::from_tz_data(bytes).map_err(|_| ZoneError::Tzif)?;
        Ok(LocalZone {
            rule: Some(rule),
            origin: origin.to_string(),
        })
    }

    /// A zone from a POSIX TZ string (`EST5EDT,M3.2.0,M11.1.0`, `CET-1CEST,M3.5.0,M10.5.0/3`,
    /// `<+0330>-3:30`). A `:path` or a zone name is the edge's to resolve to a file.
    pub fn from_posix(text: &str, origin: &str) -> Result<LocalZone, ZoneError> {
        let text = text.trim();
        if text.is_empty() || text.starts_with(':') || text == "localtime" {
            return Err(ZoneError::Posix(text.to_string()));
        }
        // A designation without an offset is not POSIX, but `TZ=UTC` is everywhere.
        if matches!(text, "UTC" | "GMT") {
            return Ok(LocalZone {
                rule: Some(tz::TimeZone::utc()),
                origin: origin.to_string(),
            });
        }
        // No directories and a reader that finds nothing: the crate parses the string only.
        let settings = tz::TimeZoneSettings::new(&[], |_| Err("no files here".into()));
        // The crate's error texts cost 21 KB of binary: the admin gets the input and an example.
        let rule = settings
            .parse_posix_tz(text)
            .map_err(|_| ZoneError::Posix(text.to_string()))?;
        Ok(LocalZone {
            rule: Some(rule),
            origin: origin.to_string(),
        })
    }

    /// Where the zone came from (`/etc/localtime`, `TZ`, `/etc/TZ`); `UTC` when nothing was found.
    pub fn origin(&self) -> &str {
        if self.origin.is_empty() {
            "UTC"
        } else {
            &self.origin
        }
    }

    /// Seconds east of UTC at Unix time `time` (`-18000` in New York in winter).
    pub fn offset_at_utc(&self, time: i64) -> i64 {
        match &self.rule {
            None => 0,
            Some(rule) => rule
                .find_local_time_type(time)
                .map_or(0, |kind| i64::from(kind.ut_offset())),
        }
    }

    /// The Unix time a wall-clock time names; see the module docs for the times a DST change
    /// skips (read with the offset before it) or repeats (the later instant unless it lies
    /// after `now`).
    pub fn to_utc(&self, wall: WallClock, now: i64) -> i64 {
        let naive = wall.as_utc();
        if self.rule.is_none() {
            return naive;
        }
        // Real zones change their offset at most once in two days: the offsets a day either
        // side are the candidates.
        let before = self.offset_at_utc(naive.saturating_sub(SECONDS_PER_DAY));
        let after = self.offset_at_utc(naive.saturating_add(SECONDS_PER_DAY));
        let holds = |offset: i64| {
            let time = naive.saturating_sub(offset);
            (self.offset_at_utc(time) == offset).then_some(time)
        };
        match (holds(before), holds(after)) {
            (Some(early), Some(late)) if early != late => {
                let (early, late) = (early.min(late), early.max(late));
                if late <= now {
                    late
                } else {
                    early
                }
            }
            (Some(time), _) | (None, Some(time)) => time,
            // Skipped: the offset before the change carries it past the change.
            (None, None) => naive.saturating_sub(before),
        }
    }

    /// The wall-clock time at Unix time `time`, and the offset (seconds east).
    pub fn wall_clock(&self, time: i64) -> (WallClock, i64) {
        let offset = self.offset_at_utc(time);
        let local = time.saturating_add(offset);
        let (year, month, day) = civil_from_days(local.div_euclid(SECONDS_PER_DAY));
        let second_of_day = local.rem_euclid(SECONDS_PER_DAY) as u32;
        (
            WallClock {
                year,
                month,
                day,
                hour: second_of_day / 3600,
                minute: second_of_day % 3600 / 60,
                second: second_of_day % 60,
            },
            offset,
        )
    }

    /// Unix time `time` as local time with its offset: `2026-11-21 03:18:09 -05:00`.
    pub fn format(&self, time: i64) -> String {
        let (wall, offset) = self.wall_clock(time);
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.unsigned_abs();
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {sign}{:02}:{:02}",
            wall.year,
            wall.month,
            wall.day,
            wall.hour,
            wall.minute,
            wall.second,
            offset / 3600,
            offset % 3600 / 60
        )
    }
}

impl LocalZone {
    /// Unix time `time` as RFC 3339 local time: `2026-11-21T03:18:09-05:00` (`Z` never: the
    /// offset is always written).
    pub fn rfc3339(&self, time: i64) -> String {
        let text = self.format(time);
        // `YYYY-MM-DD HH:MM:SS ±HH:MM`: the separators are ASCII at fixed places for 4-digit
        // years; other years keep the spaces replaced the same way.
        text.replacen(' ', "T", 1).replacen(' ', "", 1)
    }
}

impl Default for LocalZone {
    fn default() -> LocalZone {
        LocalZone::utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// America/New_York from tzdata 2025b (tests/data/zoneinfo/SOURCE.md).
    const NEW_YORK: &[u8] = include_bytes!("../tests/data/zoneinfo/America/New_York");

    fn wall(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> WallClock {
        WallClock {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    fn zones() -> [LocalZone; 2] {
        [
            LocalZone::from_tzif(NEW_YORK, "test").unwrap(),
            LocalZone::from_posix("EST5EDT,M3.2.0,M11.1.0", "test").unwrap(),
        ]
    }

    /// Unix seconds below were checked with `TZ=America/New_York date -d @… '+%F %T %z'`.
    #[test]
    fn new_york_offsets_and_format() {
        for zone in zones() {
            // 2026-11-21T08:18:09Z is 03:18:09 EST.
            assert_eq!(zone.offset_at_utc(1_795_249_089), -5 * 3600);
            assert_eq!(zone.format(1_795_249_089), "2026-11-21 03:18:09 -05:00");
            // 2026-07-01T12:00:00Z is 08:00 EDT.
            assert_eq!(zone.offset_at_utc(1_782_907_200), -4 * 3600);
            assert_eq!(zone.format(1_782_907_200), "2026-07-01 08:00:00 -04:00");
            assert_eq!(
                zone.to_utc(wall(2026, 11, 21, 3, 18, 9), i64::MAX),
                1_795_249_089
            );
            assert_eq!(
                zone.to_utc(wall(2026, 7, 1, 8, 0, 0), i64::MAX),
                1_782_907_200
            );
        }
    }

    /// 2026-03-08: at 02:00 EST the clocks go to 03:00 EDT (07:00Z).
    #[test]
    fn skipped_hour_is_read_with_the_offset_before() {
        let change = 1_772_953_200; // 2026-03-08T07:00:00Z
        for zone in zones() {
            assert_eq!(zone.offset_at_utc(change - 1), -5 * 3600);
            assert_eq!(zone.offset_at_utc(change), -4 * 3600);
            assert_eq!(
                zone.to_utc(wall(2026, 3, 8, 1, 59, 59), i64::MAX),
                change - 1
            );
            assert_eq!(zone.to_utc(wall(2026, 3, 8, 3, 0, 0), i64::MAX), change);
            // 02:30 does not exist: read as EST, it is 07:30Z, which the clocks show as 03:30.
            assert_eq!(
                zone.to_utc(wall(2026, 3, 8, 2, 30, 0), i64::MAX),
                change + 1800
            );
            assert_eq!(zone.format(change + 1800), "2026-03-08 03:30:00 -04:00");
        }
    }

    /// 2026-11-01: at 02:00 EDT the clocks go back to 01:00 EST (06:00Z); 01:30 happens twice.
    #[test]
    fn repeated_hour_is_the_later_instant_once_it_has_passed() {
        let change = 1_793_512_800; // 2026-11-01T06:00:00Z
        let first = change - 1800; // 01:30 EDT, 05:30Z
        let second = change + 1800; // 01:30 EST, 06:30Z
        for zone in zones() {
            assert_eq!(zone.format(first), "2026-11-01 01:30:00 -04:00");
            assert_eq!(zone.format(second), "2026-11-01 01:30:00 -05:00");
            let half_past_one = wall(2026, 11, 1, 1, 30, 0);
            // Read live during the first pass: the second is still to come.
            assert_eq!(zone.to_utc(half_past_one, first + 1), first);
            // Read during the second pass or later: the second.
            assert_eq!(zone.to_utc(half_past_one, second), second);
            assert_eq!(zone.to_utc(half_past_one, i64::MAX), second);
            // Either side of the repeated hour is unambiguous.
            assert_eq!(
                zone.to_utc(wall(2026, 11, 1, 0, 59, 59), i64::MAX),
                change - 3601
            );
            assert_eq!(zone.to_utc(wall(2026, 11, 1, 2, 0, 0), 0), change + 3600);
        }
    }

    #[test]
    fn posix_strings() {
        // OpenWrt's /etc/TZ for Europe/Berlin: CEST from 2026-03-29T01:00Z to 2026-10-25T01:00Z.
        let berlin = LocalZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3\n", "/etc/TZ").unwrap();
        assert_eq!(berlin.origin(), "/etc/TZ");
        assert_eq!(berlin.offset_at_utc(1_774_746_000 - 1), 3600);
        assert_eq!(berlin.offset_at_utc(1_774_746_000), 7200);
        assert_eq!(berlin.offset_at_utc(1_792_890_000 - 1), 7200);
        assert_eq!(berlin.offset_at_utc(1_792_890_000), 3600);
        assert_eq!(berlin.format(1_795_249_089), "2026-11-21 09:18:09 +01:00");
        // Fixed offsets, with names in brackets and minutes.
        let tehran = LocalZone::from_posix("<+0330>-3:30", "TZ").unwrap();
        assert_eq!(tehran.format(1_795_249_089), "2026-11-21 11:48:09 +03:30");
        for utc in ["UTC0", "UTC", "GMT", "<+00>0"] {
            let zone = LocalZone::from_posix(utc, "TZ").unwrap();
            assert_eq!(zone.format(1_795_249_089), "2026-11-21 08:18:09 +00:00");
        }
        for bad in [
            "",
            "  ",
            ":/etc/localtime",
            "America/New_York",
            "EST5EDT",
            "CET-1CEST,M13.5.0,M10.5.0",
            "localtime",
        ] {
            assert!(
                matches!(LocalZone::from_posix(bad, "TZ"), Err(ZoneError::Posix(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn utc_and_bad_files() {
        assert_eq!(UTC.origin(), "UTC");
        assert_eq!(UTC.offset_at_utc(1_795_249_089), 0);
        assert_eq!(UTC.format(1_795_249_089), "2026-11-21 08:18:09 +00:00");
        assert_eq!(UTC.to_utc(wall(2026, 11, 21, 8, 18, 9), 0), 1_795_249_089);
        assert_eq!(LocalZone::default(), UTC);
        for bad in [
            &b""[..],
            b"TZif",
            &NEW_YORK[..40],
            b"CET-1CEST,M3.5.0,M10.5.0/3",
        ] {
            let err = LocalZone::from_tzif(bad, "x").unwrap_err();
            assert_eq!(err, ZoneError::Tzif, "{err}");
        }
        // A truncated file is refused, not half-read.
        assert!(LocalZone::from_tzif(&NEW_YORK[..NEW_YORK.len() - 10], "x").is_err());
    }

    /// Absurd instants neither panic nor overflow.
    #[test]
    fn extremes() {
        for zone in zones().into_iter().chain([UTC.clone()]) {
            for time in [i64::MIN, -(1 << 40), -1, 0, 1 << 40, i64::MAX] {
                let _ = zone.offset_at_utc(time);
            }
            for year in [-(1 << 30), -1, 0, 1 << 30] {
                let _ = zone.to_utc(wall(year, 12, 31, 23, 59, 60), 0);
            }
            let _ = zone.format(1 << 40);
            let _ = zone.format(-(1 << 40));
        }
    }
}
