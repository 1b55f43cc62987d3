//! The site's time zone, an IANA name such as `Europe/Berlin`, turned into what each firmware
//! family can represent (pure: the caller reads `/etc/localtime` or the config).
//!
//! - **XML firmware** (79x1/79x2/79x5/797x, 7906/7911): `<timeZone>` must be one of the 55
//!   names of the firmware's own list (usecallmanager.nz `sepmac-cnf-xml.html`, copied in
//!   `real-configs/usecallmanager-site/timezones.tsv`); an unknown name is silently GMT
//!   (field-evidence.md §3). The name carries the offset and, when it says
//!   `Standard/Daylight`, a daylight-saving rule built into the firmware; a name that says
//!   only `Standard Time` (or `Daylight Time`) is a fixed offset.
//! - **7940/7960 SIP firmware**: `time_zone: <short name>` gives the standard offset, and the
//!   `dst_*` keys of `SIPDefault.cnf` give the daylight-saving rule. `dst_auto_adjust: 1`
//!   without explicit keys applies the pre-2007 US rule (field-evidence.md §3), so a zone
//!   with daylight saving always gets the whole rule written out ([`SiteClock::sipdefault_lines`]).
//!
//! A zone is supported only when both families show the right time all year: its standard
//! offset is a Cisco name's offset and its current daylight-saving rule (tzdata 2025b) is the
//! rule that name applies, or neither has one. Anything else is an error naming the closest
//! zones that are supported ([`resolve`]).
//!
//! # Which Cisco name, when several share an offset
//!
//! The firmware's rules are not published; we assume a `Standard/Daylight` name applies the
//! current rule of the region it is named after, and prefer, among names that behave the same,
//! the one named after a region that still behaves that way:
//!
//! | offset | used | left unused, and why |
//! |---|---|---|
//! | −06:00 | `Central Standard/Daylight Time` (US rule); `Canada Central Standard Time` (none: Saskatchewan, Mexico City, Central America) | `Mexico Standard/Daylight Time`: Mexico dropped daylight saving in 2022, the name keeps it |
//! | −05:00 | `Eastern Standard/Daylight Time` (US rule); `SA Pacific Standard Time` (none: Bogotá, Lima, Panama) | `US Eastern Standard Time`: Indiana without daylight saving (before 2006); same behaviour as SA Pacific, whose region still has it |
//! | −04:00 | `Atlantic Standard/Daylight Time` (US rule); `SA Western Standard Time` (none) | `Pacific SA Standard Time`: named after Chile, which has daylight saving; same behaviour as SA Western |
//! | −03:00 | `SA Eastern Standard Time` (none: Brazil, Argentina) | `E. South America Standard/Daylight Time`: Brazil dropped daylight saving in 2019; `Pacific SA Daylight Time`: a fixed −03:00 named after Chile's summer |
//! | −02:00 | none | `Mid-Atlantic Standard/Daylight Time`: no region keeps a −02:00 zone with its rule |
//! | ±00:00 | `GMT Standard/Daylight Time` (EU rule); `Greenwich Standard Time` (none, and UTC) | |
//! | +01:00 | `W. Europe Standard/Daylight Time` (EU rule) | `GTB`, `Egypt`, `E. Europe Standard/Daylight Time`: see "Disputed offsets" |
//! | +02:00 | `South Africa Standard Time` (none: Johannesburg, Kaliningrad, Tripoli) | `Romance`, `Central Europe Standard/Daylight Time`: see "Disputed offsets"; `Jerusalem Standard/Daylight Time`: Israel starts on the Friday before the last Sunday of March, which the 7940 cannot express, and the firmware's rule is unknown |
//! | +03:00 | `Saudi Arabia Standard Time` (none: Moscow, Istanbul, Riyadh, Nairobi) | `Russian Standard/Daylight Time`: Russia dropped daylight saving in 2011 |
//! | +03:30 | none | `Iran Standard/Daylight Time`: Iran dropped daylight saving in 2022 |
//! | +04:00 | `Arabian Standard Time` (none) | `Caucasus Standard/Daylight Time`: Armenia (2012) and Azerbaijan (2016) dropped daylight saving |
//! | +05:00 | `West Asia Standard Time`; `Ekaterinburg Standard Time` (Yekaterinburg only) | |
//! | +08:00 | `Taipei Standard Time` (none: China, Singapore, Perth…) | `China Standard/Daylight Time`: China has no daylight saving, the name says it has |
//! | +09:30, +10:00 | `Cen. Australia`, `AUS Eastern`, `Tasmania` `Standard/Daylight Time` (south-east Australian rule); `AUS Central`, `E. Australia`, `West Pacific Standard Time` (none) | |
//! | +12:00 | `New Zealand Standard/Daylight Time` (NZ rule); `Fiji Standard Time` (none) | |
//!
//! # Disputed offsets
//!
//! usecallmanager's list gives `GTB`, `Egypt` and `E. Europe Standard/Daylight Time` +01:00 and
//! `Romance` and `Central Europe Standard/Daylight Time` +02:00. Microsoft's zones of the same
//! names (Cisco's list shares Microsoft's names) say the reverse (Romance = Paris, Central Europe =
//! Budapest at +01:00; GTB = Athens, E. Europe, Egypt at +02:00), and working configurations
//! use `Central Europe Standard/Daylight Time` for +01:00 (`real-configs/mkirbst-configs_cisco7961`
//! from Germany, `buba0-freepbx`; wazo maps `Europe/Paris` to it). We use none of these five:
//! +01:00 with EU rules gets `W. Europe Standard/Daylight Time`, on which every source agrees,
//! and +02:00 with EU rules (Athens, Helsinki, Kyiv, Bucharest…) is an error until a phone
//! shows which offset the firmware gives them.
//!
//! # The 7940/7960 keys (Cisco SIP IP Phone 7960 Administrator Guide, 78-10497-02, p. 3-26)
//!
//! A relative rule: `dst_start_day`/`dst_stop_day` 0 or empty (ignored), month name,
//! `dst_*_day_of_week` (`Sun`…`Sat`, case-sensitive), `dst_*_week_of_month` 1–6 or 8 for the
//! last week, `dst_*_time` an hour (`02`) or hour/minute (`02/30`), `dst_offset` in hours.
//! Values are written the way the working files write them (`german-fritzbox-7960`,
//! `provisioner/sip79xx-SIP$mac.cnf`, fusionpbx `7940/SIPDefault.cnf`): three-letter month
//! and weekday names, `""` (not the guide's 0) for the ignored day of month, `dst_offset: 1`.
//!
//! # Caveats
//!
//! - Which short names the 7940 knows is not in our references. `GMT`, `CET`, `EST`, `CST` and
//!   `PST` appear in working files; the others ([`sip_zone_for_offset`]) are the usual
//!   abbreviations of their offset and are a guess. A name the firmware does not know probably
//!   falls back to GMT, like the XML firmware's.
//! - A transition's time is the local time in effect just before it (standard time for the
//!   start, daylight time for the stop), as tzdata's POSIX rules and the EU rule ("02:00
//!   standard time → 03:00 summer time → 02:00") state it. Whether the 7940 reads
//!   `dst_stop_time` in daylight or standard time is not documented: at worst its clock
//!   changes an hour late or early, once a year.
//! - "Week 2" is read as the second such weekday of the month (the US start), as the working
//!   US files use it, not as the second row of a calendar.
//! - The XML firmware's built-in rules are assumed current for the names we use (the US rule
//!   of 2007, the Australian of 2008, New Zealand's of 2007): a load older than those changes
//!   would be wrong for a few weeks a year, and nothing here can tell it the rule.

use std::fmt::Write as _;

/// A day of the week, as the 7940 names it in `dst_*_day_of_week`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weekday {
    /// Sunday, the day of every transition in the table.
    Sunday,
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
}

impl Weekday {
    /// The 7940's spelling: the guide allows `Sun` or `Sunday` (case-sensitive); the working
    /// files use both, we write the short one.
    pub fn sip_name(self) -> &'static str {
        match self {
            Weekday::Sunday => "Sun",
            Weekday::Monday => "Mon",
            Weekday::Tuesday => "Tue",
            Weekday::Wednesday => "Wed",
            Weekday::Thursday => "Thu",
            Weekday::Friday => "Fri",
            Weekday::Saturday => "Sat",
        }
    }

    /// 0 for Sunday to 6 for Saturday, the numbering of POSIX `TZ` rules (`Mm.w.d`).
    pub fn number_from_sunday(self) -> u32 {
        self as u32
    }
}

/// Which occurrence of the weekday in the month a transition falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Week {
    /// The first such weekday of the month (days 1–7).
    First,
    /// The second (days 8–14): the US start.
    Second,
    /// The third (days 15–21).
    Third,
    /// The fourth (days 22–28).
    Fourth,
    /// The last (the last 7 days of the month): every EU transition.
    Last,
}

impl Week {
    /// The 7940's `dst_*_week_of_month` value: 1–4, and 8 for the last week "regardless of
    /// which week the last week is" (admin guide p. 3-26; german-fritzbox writes 8).
    pub fn sip_value(self) -> u8 {
        match self {
            Week::First => 1,
            Week::Second => 2,
            Week::Third => 3,
            Week::Fourth => 4,
            Week::Last => 8,
        }
    }
}

/// One daylight-saving change: "the `week` `weekday` of `month` at `local_minutes`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// 1 (January) to 12.
    pub month: u8,
    /// Which occurrence of `weekday` in the month.
    pub week: Week,
    /// The day of the week.
    pub weekday: Weekday,
    /// Minutes after midnight, in the local time in effect just before the change (standard
    /// time for the start, daylight time for the stop), as tzdata states rules.
    pub local_minutes: u16,
}

/// A zone's yearly daylight-saving rule, as it is today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DstRule {
    /// When the clocks go forward.
    pub start: Transition,
    /// When they go back; before `start` in the year south of the equator.
    pub stop: Transition,
    /// How far they go forward, in minutes (60 for every zone in the table).
    pub offset_minutes: u32,
}

/// The site's clock, in the words of each firmware family. Built by [`resolve`], so every
/// value here is one the firmware knows and shows the right time with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteClock {
    /// The IANA name as configured (or read from `/etc/localtime`).
    pub iana: String,
    /// The XML firmware's `<timeZone>`: one of the 55 names of its list.
    pub xml_zone: &'static str,
    /// The 7940/7960 `time_zone:` short name; it gives the standard offset only.
    pub sip_zone: &'static str,
    /// The standard (winter) offset from UTC in minutes, east positive.
    pub utc_offset_minutes: i32,
    /// The daylight-saving rule; `None`: the zone has none (`dst_auto_adjust: 0`).
    pub dst: Option<DstRule>,
}

impl SiteClock {
    /// The `time_zone` and `dst_*` lines for `SIPDefault.cnf`, each ending in a newline, in the
    /// firmware's value format (module docs). With daylight saving the whole rule is written,
    /// because `dst_auto_adjust: 1` alone means the pre-2007 US rule; without, only
    /// `dst_auto_adjust: 0` follows the zone.
    pub fn sipdefault_lines(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "time_zone: {}", self.sip_zone);
        let Some(rule) = self.dst else {
            out.push_str("dst_auto_adjust: 0\n");
            return out;
        };
        let _ = writeln!(out, "dst_offset: {}", sip_offset(rule.offset_minutes));
        for (prefix, transition) in [("dst_start", rule.start), ("dst_stop", rule.stop)] {
            let _ = writeln!(out, "{prefix}_month: {}", month_name(transition.month));
            let _ = writeln!(out, "{prefix}_day: \"\"");
            let _ = writeln!(
                out,
                "{prefix}_day_of_week: {}",
                transition.weekday.sip_name()
            );
            let _ = writeln!(
                out,
                "{prefix}_week_of_month: {}",
                transition.week.sip_value()
            );
            let _ = writeln!(
                out,
                "{prefix}_time: {}",
                sip_time(u32::from(transition.local_minutes))
            );
        }
        out.push_str("dst_auto_adjust: 1\n");
        out
    }
}

/// Maps an IANA zone name to what the phones can show. The name is matched exactly, else
/// ignoring ASCII case (an admin typing `europe/berlin` means Berlin).
///
/// Errors (lowercase, for the admin) when no Cisco name shows the zone's time all year, naming
/// the closest zones that are supported, or when the name is not in our tables.
pub fn resolve(iana: &str) -> Result<SiteClock, String> {
    if let Some(row) = find(ZONES, iana, |row| row.iana) {
        return Ok(SiteClock {
            iana: iana.to_string(),
            xml_zone: row.xml_zone,
            sip_zone: sip_zone_for_offset(row.utc_offset_minutes)
                .expect("every row's offset has a short name (tested)"),
            utc_offset_minutes: row.utc_offset_minutes,
            dst: row.dst,
        });
    }
    if let Some(zone) = find(UNREPRESENTABLE, iana, |zone| zone.iana) {
        let closest = closest(zone);
        return Err(format!(
            "time zone \"{iana}\" ({}) has no cisco equivalent: the phones can show {}; {}",
            describe(zone.utc_offset_minutes, zone.has_dst),
            join_or(&closest),
            zone.why
        ));
    }
    let region = iana.split_once('/').map(|(region, _)| region);
    let mut examples: Vec<String> = Vec::new();
    if let Some(region) = region {
        for row in representatives() {
            if row.region() == Some(region) && examples.len() < 3 {
                examples.push(row.iana.to_string());
            }
        }
    }
    if examples.is_empty() {
        examples = ["Europe/Berlin", "America/New_York", "Asia/Tokyo"]
            .map(String::from)
            .to_vec();
    }
    Err(format!(
        "unknown time zone \"{iana}\": use an iana name such as {}",
        join_or(&examples)
    ))
}

/// The IANA names [`resolve`] maps, in table order (by offset, west to east).
pub fn iana_names() -> impl Iterator<Item = &'static str> {
    ZONES.iter().map(|row| row.iana)
}

/// The 7940/7960 `time_zone` short name for a standard offset (see "Caveats": only `GMT`,
/// `CET`, `EST`, `CST` and `PST` are seen in working files). `None` for an offset no table
/// row has.
pub fn sip_zone_for_offset(utc_offset_minutes: i32) -> Option<&'static str> {
    SIP_ZONES
        .iter()
        .find(|(offset, _)| *offset == utc_offset_minutes)
        .map(|(_, name)| *name)
}

/// One supported IANA zone: the Cisco name and the rule that show its time all year.
struct ZoneRow {
    /// IANA name (canonical, or a backward link people still have).
    iana: &'static str,
    /// One of the 55 names of the XML firmware.
    xml_zone: &'static str,
    /// Standard offset, equal to `xml_zone`'s in usecallmanager's list (tested).
    utc_offset_minutes: i32,
    /// Today's rule, `Some` exactly when `xml_zone` says `Standard/Daylight` (tested).
    dst: Option<DstRule>,
}

impl ZoneRow {
    /// The continent or ocean of the name (`Europe`), `None` for `UTC`, `Etc/…`, `CET`, `US/…`
    /// and other legacy names, which are never suggested.
    fn region(&self) -> Option<&'static str> {
        let (region, _) = self.iana.split_once('/')?;
        REGIONS.contains(&region).then_some(region)
    }
}

/// A zone we know and cannot represent: why, and its offset for the message.
struct Unrepresentable {
    /// IANA name.
    iana: &'static str,
    /// Standard offset in minutes, east positive.
    utc_offset_minutes: i32,
    /// Whether it has daylight saving today.
    has_dst: bool,
    /// The reason, in admin words, lowercase.
    why: &'static str,
}

/// The regions of IANA names whose zones may be suggested.
const REGIONS: [&str; 8] = [
    "Africa",
    "America",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
];

fn find<'t, T>(table: &'t [T], name: &str, key: impl Fn(&T) -> &'static str) -> Option<&'t T> {
    table.iter().find(|item| key(item) == name).or_else(|| {
        table
            .iter()
            .find(|item| key(item).eq_ignore_ascii_case(name))
    })
}

/// The first row of each (Cisco name, region) pair: the zones worth suggesting.
fn representatives() -> impl Iterator<Item = &'static ZoneRow> {
    ZONES.iter().enumerate().filter_map(|(index, row)| {
        let region = row.region()?;
        let first = ZONES[..index]
            .iter()
            .all(|earlier| earlier.xml_zone != row.xml_zone || earlier.region() != Some(region));
        first.then_some(row)
    })
}

/// Supported zones closest to `zone`: nearest standard offset, then the same daylight-saving
/// behaviour, then the same region; one per Cisco name; the nearest tier, plus the next one
/// when the nearest has a single zone; at most three.
fn closest(zone: &Unrepresentable) -> Vec<String> {
    let region = zone.iana.split_once('/').map(|(region, _)| region);
    let mut candidates: Vec<(u32, bool, bool, usize, &ZoneRow)> = representatives()
        .enumerate()
        .map(|(order, row)| {
            (
                zone.utc_offset_minutes.abs_diff(row.utc_offset_minutes),
                row.dst.is_some() != zone.has_dst,
                row.region() != region,
                order,
                row,
            )
        })
        .collect();
    candidates.sort_unstable_by_key(|&(distance, other_dst, other_region, order, _)| {
        (distance, other_dst, other_region, order)
    });
    let mut seen: Vec<&str> = Vec::new();
    let mut tiers: Vec<u32> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for (distance, _, _, _, row) in candidates {
        if seen.contains(&row.xml_zone) {
            continue;
        }
        if !tiers.contains(&distance) {
            if tiers.len() == 2 || (tiers.len() == 1 && out.len() > 1) {
                break;
            }
            tiers.push(distance);
        }
        seen.push(row.xml_zone);
        out.push(format!(
            "{} ({})",
            row.iana,
            describe(row.utc_offset_minutes, row.dst.is_some())
        ));
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// `utc+05:45`, `utc-03:00 with daylight saving`.
fn describe(utc_offset_minutes: i32, has_dst: bool) -> String {
    let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
    let minutes = utc_offset_minutes.unsigned_abs();
    let dst = if has_dst { " with daylight saving" } else { "" };
    format!("utc{sign}{:02}:{:02}{dst}", minutes / 60, minutes % 60)
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [head @ .., last] => format!("{} or {last}", head.join(", ")),
    }
}

/// A time of day as an hour, `02`, or hour/minute, `02/30` (admin guide p. 3-26;
/// german-fritzbox writes `02`).
fn sip_time(minutes: u32) -> String {
    if minutes.is_multiple_of(60) {
        format!("{:02}", minutes / 60)
    } else {
        format!("{:02}/{:02}", minutes / 60, minutes % 60)
    }
}

/// The daylight-saving offset in hours, `1`, as every working file writes it, or
/// hour/minute, `00/30`, for a rule that is not whole hours.
fn sip_offset(minutes: u32) -> String {
    if minutes.is_multiple_of(60) {
        format!("{}", minutes / 60)
    } else {
        format!("{:02}/{:02}", minutes / 60, minutes % 60)
    }
}

/// Three-letter month names, as the working files write `Mar`, `Oct`, `Nov`.
fn month_name(month: u8) -> &'static str {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    NAMES[usize::from(month.clamp(1, 12)) - 1]
}

/// The 7940 short name per standard offset (see "Caveats"). Names that mean another offset
/// elsewhere are avoided (`BST` is British summer time and Bangladesh, `GST` the Gulf and
/// Guam): +04:00 to +06:00 use the old `ZP4`–`ZP6` ("zone plus").
const SIP_ZONES: [(i32, &str); 31] = [
    (-720, "IDLW"),
    (-660, "SST"),
    (-600, "HST"),
    (-540, "AKST"),
    (-480, "PST"),
    (-420, "MST"),
    (-360, "CST"),
    (-300, "EST"),
    (-240, "AST"),
    (-210, "NST"),
    (-180, "BRT"),
    (-60, "AZOT"),
    (0, "GMT"),
    (60, "CET"),
    (120, "EET"),
    (180, "MSK"),
    (240, "ZP4"),
    (270, "AFT"),
    (300, "ZP5"),
    (330, "IST"),
    (360, "ZP6"),
    (420, "ICT"),
    (480, "CCT"),
    (540, "JST"),
    (570, "ACST"),
    (600, "AEST"),
    (660, "SBT"),
    (720, "NZST"),
    // Offsets no row has today; kept so an added row finds a name.
    (-120, "FNT"),
    (210, "IRST"),
    (390, "MMT"),
];

const fn transition(month: u8, week: Week, local_minutes: u16) -> Transition {
    Transition {
        month,
        week,
        weekday: Weekday::Sunday,
        local_minutes,
    }
}

const fn rule(start: Transition, stop: Transition) -> Option<DstRule> {
    Some(DstRule {
        start,
        stop,
        offset_minutes: 60,
    })
}

/// US and Canada since 2007: second Sunday of March 02:00 → first Sunday of November 02:00
/// (Energy Policy Act of 2005, Cisco field notice 62682).
const US: Option<DstRule> = rule(
    transition(3, Week::Second, 120),
    transition(11, Week::First, 120),
);
/// EU: last Sunday of March 01:00 UTC → last Sunday of October 01:00 UTC, for ±00:00
/// (01:00 GMT → 02:00 BST).
const EU_UTC0: Option<DstRule> = rule(
    transition(3, Week::Last, 60),
    transition(10, Week::Last, 120),
);
/// The EU rule for +01:00: 02:00 standard time → 03:00 summer time.
const EU_UTC1: Option<DstRule> = rule(
    transition(3, Week::Last, 120),
    transition(10, Week::Last, 180),
);
/// The EU rule for −01:00 (the Azores): 00:00 → 01:00.
const EU_UTCM1: Option<DstRule> =
    rule(transition(3, Week::Last, 0), transition(10, Week::Last, 60));
/// South-east Australia since 2008: first Sunday of October 02:00 → first Sunday of April
/// 03:00 daylight time.
const AU_SOUTH_EAST: Option<DstRule> = rule(
    transition(10, Week::First, 120),
    transition(4, Week::First, 180),
);
/// New Zealand since 2007: last Sunday of September 02:00 → first Sunday of April 03:00.
const NEW_ZEALAND: Option<DstRule> = rule(
    transition(9, Week::Last, 120),
    transition(4, Week::First, 180),
);

const DATELINE: &str = "Dateline Standard Time";
const SAMOA: &str = "Samoa Standard Time";
const HAWAIIAN: &str = "Hawaiian Standard Time";
const ALASKAN: &str = "Alaskan Standard/Daylight Time";
const PACIFIC: &str = "Pacific Standard/Daylight Time";
const MOUNTAIN: &str = "Mountain Standard/Daylight Time";
const US_MOUNTAIN: &str = "US Mountain Standard Time";
const CENTRAL: &str = "Central Standard/Daylight Time";
const CANADA_CENTRAL: &str = "Canada Central Standard Time";
const SA_PACIFIC: &str = "SA Pacific Standard Time";
const EASTERN: &str = "Eastern Standard/Daylight Time";
const ATLANTIC: &str = "Atlantic Standard/Daylight Time";
const SA_WESTERN: &str = "SA Western Standard Time";
const NEWFOUNDLAND: &str = "Newfoundland Standard/Daylight Time";
const SA_EASTERN: &str = "SA Eastern Standard Time";
const AZORES: &str = "Azores Standard/Daylight Time";
const GMT: &str = "GMT Standard/Daylight Time";
const GREENWICH: &str = "Greenwich Standard Time";
const W_EUROPE: &str = "W. Europe Standard/Daylight Time";
const SOUTH_AFRICA: &str = "South Africa Standard Time";
const SAUDI_ARABIA: &str = "Saudi Arabia Standard Time";
const ARABIAN: &str = "Arabian Standard Time";
const AFGHANISTAN: &str = "Afghanistan Standard Time";
const WEST_ASIA: &str = "West Asia Standard Time";
const EKATERINBURG: &str = "Ekaterinburg Standard Time";
const INDIA: &str = "India Standard Time";
const CENTRAL_ASIA: &str = "Central Asia Standard Time";
const SE_ASIA: &str = "SE Asia Standard Time";
const TAIPEI: &str = "Taipei Standard Time";
const TOKYO: &str = "Tokyo Standard Time";
const CEN_AUSTRALIA: &str = "Cen. Australia Standard/Daylight Time";
const AUS_CENTRAL: &str = "AUS Central Standard Time";
const E_AUSTRALIA: &str = "E. Australia Standard Time";
const AUS_EASTERN: &str = "AUS Eastern Standard/Daylight Time";
const WEST_PACIFIC: &str = "West Pacific Standard Time";
const TASMANIA: &str = "Tasmania Standard/Daylight Time";
const CENTRAL_PACIFIC: &str = "Central Pacific Standard Time";
const FIJI: &str = "Fiji Standard Time";
const NEW_ZEALAND_NAME: &str = "New Zealand Standard/Daylight Time";

const fn zone(
    iana: &'static str,
    xml_zone: &'static str,
    utc_offset_minutes: i32,
    dst: Option<DstRule>,
) -> ZoneRow {
    ZoneRow {
        iana,
        xml_zone,
        utc_offset_minutes,
        dst,
    }
}

/// Every supported zone, west to east; within one Cisco name the zone it is named after (or
/// the best known) first, since the first of each region is the one suggested in errors.
/// Checked against the host's tzdata by `every_row_matches_the_tzdata_rules`.
#[rustfmt::skip]
static ZONES: &[ZoneRow] = &[
    zone("Etc/GMT+12", DATELINE, -720, None),
    zone("Pacific/Pago_Pago", SAMOA, -660, None),
    zone("Pacific/Midway", SAMOA, -660, None),
    zone("Pacific/Niue", SAMOA, -660, None),
    zone("Pacific/Samoa", SAMOA, -660, None),
    zone("US/Samoa", SAMOA, -660, None),
    zone("Etc/GMT+11", SAMOA, -660, None),
    zone("Pacific/Honolulu", HAWAIIAN, -600, None),
    zone("Pacific/Tahiti", HAWAIIAN, -600, None),
    zone("Pacific/Rarotonga", HAWAIIAN, -600, None),
    zone("Pacific/Johnston", HAWAIIAN, -600, None),
    zone("US/Hawaii", HAWAIIAN, -600, None),
    zone("HST", HAWAIIAN, -600, None),
    zone("Etc/GMT+10", HAWAIIAN, -600, None),
    zone("America/Anchorage", ALASKAN, -540, US),
    zone("America/Juneau", ALASKAN, -540, US),
    zone("America/Sitka", ALASKAN, -540, US),
    zone("America/Nome", ALASKAN, -540, US),
    zone("America/Yakutat", ALASKAN, -540, US),
    zone("America/Metlakatla", ALASKAN, -540, US),
    zone("US/Alaska", ALASKAN, -540, US),
    zone("America/Los_Angeles", PACIFIC, -480, US),
    zone("America/Vancouver", PACIFIC, -480, US),
    zone("America/Tijuana", PACIFIC, -480, US),
    zone("US/Pacific", PACIFIC, -480, US),
    zone("Canada/Pacific", PACIFIC, -480, US),
    zone("PST8PDT", PACIFIC, -480, US),
    zone("America/Denver", MOUNTAIN, -420, US),
    zone("America/Edmonton", MOUNTAIN, -420, US),
    zone("America/Boise", MOUNTAIN, -420, US),
    zone("America/Ciudad_Juarez", MOUNTAIN, -420, US),
    zone("America/Cambridge_Bay", MOUNTAIN, -420, US),
    zone("America/Inuvik", MOUNTAIN, -420, US),
    zone("America/Yellowknife", MOUNTAIN, -420, US),
    zone("US/Mountain", MOUNTAIN, -420, US),
    zone("Canada/Mountain", MOUNTAIN, -420, US),
    zone("MST7MDT", MOUNTAIN, -420, US),
    zone("America/Phoenix", US_MOUNTAIN, -420, None),
    zone("America/Hermosillo", US_MOUNTAIN, -420, None),
    zone("America/Mazatlan", US_MOUNTAIN, -420, None),
    zone("America/Whitehorse", US_MOUNTAIN, -420, None),
    zone("America/Dawson", US_MOUNTAIN, -420, None),
    zone("America/Dawson_Creek", US_MOUNTAIN, -420, None),
    zone("America/Fort_Nelson", US_MOUNTAIN, -420, None),
    zone("America/Creston", US_MOUNTAIN, -420, None),
    zone("US/Arizona", US_MOUNTAIN, -420, None),
    zone("Canada/Yukon", US_MOUNTAIN, -420, None),
    zone("MST", US_MOUNTAIN, -420, None),
    zone("Etc/GMT+7", US_MOUNTAIN, -420, None),
    zone("America/Chicago", CENTRAL, -360, US),
    zone("America/Winnipeg", CENTRAL, -360, US),
    zone("America/Matamoros", CENTRAL, -360, US),
    zone("America/Ojinaga", CENTRAL, -360, US),
    zone("America/Indiana/Knox", CENTRAL, -360, US),
    zone("America/Indiana/Tell_City", CENTRAL, -360, US),
    zone("America/Menominee", CENTRAL, -360, US),
    zone("America/North_Dakota/Center", CENTRAL, -360, US),
    zone("America/North_Dakota/New_Salem", CENTRAL, -360, US),
    zone("America/North_Dakota/Beulah", CENTRAL, -360, US),
    zone("America/Rankin_Inlet", CENTRAL, -360, US),
    zone("America/Resolute", CENTRAL, -360, US),
    zone("US/Central", CENTRAL, -360, US),
    zone("Canada/Central", CENTRAL, -360, US),
    zone("CST6CDT", CENTRAL, -360, US),
    zone("America/Regina", CANADA_CENTRAL, -360, None),
    zone("America/Swift_Current", CANADA_CENTRAL, -360, None),
    zone("America/Mexico_City", CANADA_CENTRAL, -360, None),
    zone("America/Monterrey", CANADA_CENTRAL, -360, None),
    zone("America/Merida", CANADA_CENTRAL, -360, None),
    zone("America/Chihuahua", CANADA_CENTRAL, -360, None),
    zone("America/Bahia_Banderas", CANADA_CENTRAL, -360, None),
    zone("America/Guatemala", CANADA_CENTRAL, -360, None),
    zone("America/Belize", CANADA_CENTRAL, -360, None),
    zone("America/Costa_Rica", CANADA_CENTRAL, -360, None),
    zone("America/El_Salvador", CANADA_CENTRAL, -360, None),
    zone("America/Tegucigalpa", CANADA_CENTRAL, -360, None),
    zone("America/Managua", CANADA_CENTRAL, -360, None),
    zone("Pacific/Galapagos", CANADA_CENTRAL, -360, None),
    zone("Canada/Saskatchewan", CANADA_CENTRAL, -360, None),
    zone("Etc/GMT+6", CANADA_CENTRAL, -360, None),
    zone("America/New_York", EASTERN, -300, US),
    zone("America/Toronto", EASTERN, -300, US),
    zone("America/Detroit", EASTERN, -300, US),
    zone("America/Indiana/Indianapolis", EASTERN, -300, US),
    zone("America/Indiana/Marengo", EASTERN, -300, US),
    zone("America/Indiana/Petersburg", EASTERN, -300, US),
    zone("America/Indiana/Vevay", EASTERN, -300, US),
    zone("America/Indiana/Vincennes", EASTERN, -300, US),
    zone("America/Indiana/Winamac", EASTERN, -300, US),
    zone("America/Kentucky/Louisville", EASTERN, -300, US),
    zone("America/Kentucky/Monticello", EASTERN, -300, US),
    zone("America/Iqaluit", EASTERN, -300, US),
    zone("America/Nassau", EASTERN, -300, US),
    zone("America/Port-au-Prince", EASTERN, -300, US),
    zone("America/Grand_Turk", EASTERN, -300, US),
    zone("America/Indianapolis", EASTERN, -300, US),
    zone("America/Montreal", EASTERN, -300, US),
    zone("US/Eastern", EASTERN, -300, US),
    zone("US/East-Indiana", EASTERN, -300, US),
    zone("US/Michigan", EASTERN, -300, US),
    zone("Canada/Eastern", EASTERN, -300, US),
    zone("EST5EDT", EASTERN, -300, US),
    zone("America/Bogota", SA_PACIFIC, -300, None),
    zone("America/Lima", SA_PACIFIC, -300, None),
    zone("America/Guayaquil", SA_PACIFIC, -300, None),
    zone("America/Panama", SA_PACIFIC, -300, None),
    zone("America/Jamaica", SA_PACIFIC, -300, None),
    zone("America/Cancun", SA_PACIFIC, -300, None),
    zone("America/Cayman", SA_PACIFIC, -300, None),
    zone("America/Atikokan", SA_PACIFIC, -300, None),
    zone("America/Eirunepe", SA_PACIFIC, -300, None),
    zone("America/Rio_Branco", SA_PACIFIC, -300, None),
    zone("EST", SA_PACIFIC, -300, None),
    zone("Etc/GMT+5", SA_PACIFIC, -300, None),
    zone("America/Halifax", ATLANTIC, -240, US),
    zone("America/Glace_Bay", ATLANTIC, -240, US),
    zone("America/Moncton", ATLANTIC, -240, US),
    zone("America/Goose_Bay", ATLANTIC, -240, US),
    zone("America/Thule", ATLANTIC, -240, US),
    zone("Atlantic/Bermuda", ATLANTIC, -240, US),
    zone("Canada/Atlantic", ATLANTIC, -240, US),
    zone("America/Caracas", SA_WESTERN, -240, None),
    zone("America/La_Paz", SA_WESTERN, -240, None),
    zone("America/Manaus", SA_WESTERN, -240, None),
    zone("America/Boa_Vista", SA_WESTERN, -240, None),
    zone("America/Porto_Velho", SA_WESTERN, -240, None),
    zone("America/Cuiaba", SA_WESTERN, -240, None),
    zone("America/Campo_Grande", SA_WESTERN, -240, None),
    zone("America/Puerto_Rico", SA_WESTERN, -240, None),
    zone("America/Santo_Domingo", SA_WESTERN, -240, None),
    zone("America/Port_of_Spain", SA_WESTERN, -240, None),
    zone("America/Barbados", SA_WESTERN, -240, None),
    zone("America/Martinique", SA_WESTERN, -240, None),
    zone("America/Guadeloupe", SA_WESTERN, -240, None),
    zone("America/Guyana", SA_WESTERN, -240, None),
    zone("America/Curacao", SA_WESTERN, -240, None),
    zone("America/Aruba", SA_WESTERN, -240, None),
    zone("America/Antigua", SA_WESTERN, -240, None),
    zone("America/Anguilla", SA_WESTERN, -240, None),
    zone("America/Dominica", SA_WESTERN, -240, None),
    zone("America/Grenada", SA_WESTERN, -240, None),
    zone("America/Montserrat", SA_WESTERN, -240, None),
    zone("America/St_Kitts", SA_WESTERN, -240, None),
    zone("America/St_Lucia", SA_WESTERN, -240, None),
    zone("America/St_Thomas", SA_WESTERN, -240, None),
    zone("America/St_Vincent", SA_WESTERN, -240, None),
    zone("America/Tortola", SA_WESTERN, -240, None),
    zone("America/Blanc-Sablon", SA_WESTERN, -240, None),
    zone("America/Kralendijk", SA_WESTERN, -240, None),
    zone("America/Lower_Princes", SA_WESTERN, -240, None),
    zone("America/Marigot", SA_WESTERN, -240, None),
    zone("America/St_Barthelemy", SA_WESTERN, -240, None),
    zone("Etc/GMT+4", SA_WESTERN, -240, None),
    zone("America/St_Johns", NEWFOUNDLAND, -210, US),
    zone("Canada/Newfoundland", NEWFOUNDLAND, -210, US),
    zone("America/Sao_Paulo", SA_EASTERN, -180, None),
    zone("America/Argentina/Buenos_Aires", SA_EASTERN, -180, None),
    zone("America/Argentina/Cordoba", SA_EASTERN, -180, None),
    zone("America/Argentina/Mendoza", SA_EASTERN, -180, None),
    zone("America/Argentina/Salta", SA_EASTERN, -180, None),
    zone("America/Argentina/Jujuy", SA_EASTERN, -180, None),
    zone("America/Argentina/Tucuman", SA_EASTERN, -180, None),
    zone("America/Argentina/Catamarca", SA_EASTERN, -180, None),
    zone("America/Argentina/La_Rioja", SA_EASTERN, -180, None),
    zone("America/Argentina/San_Juan", SA_EASTERN, -180, None),
    zone("America/Argentina/San_Luis", SA_EASTERN, -180, None),
    zone("America/Argentina/Rio_Gallegos", SA_EASTERN, -180, None),
    zone("America/Argentina/Ushuaia", SA_EASTERN, -180, None),
    zone("America/Buenos_Aires", SA_EASTERN, -180, None),
    zone("America/Montevideo", SA_EASTERN, -180, None),
    zone("America/Asuncion", SA_EASTERN, -180, None),
    zone("America/Bahia", SA_EASTERN, -180, None),
    zone("America/Belem", SA_EASTERN, -180, None),
    zone("America/Fortaleza", SA_EASTERN, -180, None),
    zone("America/Recife", SA_EASTERN, -180, None),
    zone("America/Maceio", SA_EASTERN, -180, None),
    zone("America/Araguaina", SA_EASTERN, -180, None),
    zone("America/Santarem", SA_EASTERN, -180, None),
    zone("America/Cayenne", SA_EASTERN, -180, None),
    zone("America/Paramaribo", SA_EASTERN, -180, None),
    zone("America/Punta_Arenas", SA_EASTERN, -180, None),
    zone("Atlantic/Stanley", SA_EASTERN, -180, None),
    zone("Etc/GMT+3", SA_EASTERN, -180, None),
    zone("Atlantic/Azores", AZORES, -60, EU_UTCM1),
    zone("Europe/London", GMT, 0, EU_UTC0),
    zone("Europe/Dublin", GMT, 0, EU_UTC0),
    zone("Europe/Lisbon", GMT, 0, EU_UTC0),
    zone("Atlantic/Canary", GMT, 0, EU_UTC0),
    zone("Atlantic/Madeira", GMT, 0, EU_UTC0),
    zone("Atlantic/Faroe", GMT, 0, EU_UTC0),
    zone("Europe/Guernsey", GMT, 0, EU_UTC0),
    zone("Europe/Isle_of_Man", GMT, 0, EU_UTC0),
    zone("Europe/Jersey", GMT, 0, EU_UTC0),
    zone("GB", GMT, 0, EU_UTC0),
    zone("Eire", GMT, 0, EU_UTC0),
    zone("Portugal", GMT, 0, EU_UTC0),
    zone("WET", GMT, 0, EU_UTC0),
    zone("UTC", GREENWICH, 0, None),
    zone("Etc/UTC", GREENWICH, 0, None),
    zone("Etc/GMT", GREENWICH, 0, None),
    zone("GMT", GREENWICH, 0, None),
    zone("Etc/Universal", GREENWICH, 0, None),
    zone("Etc/Zulu", GREENWICH, 0, None),
    zone("Etc/UCT", GREENWICH, 0, None),
    zone("Etc/Greenwich", GREENWICH, 0, None),
    zone("Universal", GREENWICH, 0, None),
    zone("Zulu", GREENWICH, 0, None),
    zone("UCT", GREENWICH, 0, None),
    zone("Greenwich", GREENWICH, 0, None),
    zone("Atlantic/Reykjavik", GREENWICH, 0, None),
    zone("Africa/Abidjan", GREENWICH, 0, None),
    zone("Africa/Accra", GREENWICH, 0, None),
    zone("Africa/Bamako", GREENWICH, 0, None),
    zone("Africa/Banjul", GREENWICH, 0, None),
    zone("Africa/Bissau", GREENWICH, 0, None),
    zone("Africa/Conakry", GREENWICH, 0, None),
    zone("Africa/Dakar", GREENWICH, 0, None),
    zone("Africa/Freetown", GREENWICH, 0, None),
    zone("Africa/Lome", GREENWICH, 0, None),
    zone("Africa/Monrovia", GREENWICH, 0, None),
    zone("Africa/Nouakchott", GREENWICH, 0, None),
    zone("Africa/Ouagadougou", GREENWICH, 0, None),
    zone("Africa/Sao_Tome", GREENWICH, 0, None),
    zone("Atlantic/St_Helena", GREENWICH, 0, None),
    zone("America/Danmarkshavn", GREENWICH, 0, None),
    zone("Iceland", GREENWICH, 0, None),
    zone("Europe/Berlin", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Amsterdam", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Andorra", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Belgrade", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Bratislava", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Brussels", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Budapest", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Busingen", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Copenhagen", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Gibraltar", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Ljubljana", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Luxembourg", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Madrid", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Malta", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Monaco", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Oslo", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Paris", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Podgorica", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Prague", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Rome", W_EUROPE, 60, EU_UTC1),
    zone("Europe/San_Marino", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Sarajevo", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Skopje", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Stockholm", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Tirane", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Vaduz", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Vatican", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Vienna", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Warsaw", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Zagreb", W_EUROPE, 60, EU_UTC1),
    zone("Europe/Zurich", W_EUROPE, 60, EU_UTC1),
    zone("Africa/Ceuta", W_EUROPE, 60, EU_UTC1),
    zone("Arctic/Longyearbyen", W_EUROPE, 60, EU_UTC1),
    zone("Poland", W_EUROPE, 60, EU_UTC1),
    zone("CET", W_EUROPE, 60, EU_UTC1),
    zone("MET", W_EUROPE, 60, EU_UTC1),
    zone("Africa/Johannesburg", SOUTH_AFRICA, 120, None),
    zone("Africa/Maputo", SOUTH_AFRICA, 120, None),
    zone("Africa/Harare", SOUTH_AFRICA, 120, None),
    zone("Africa/Lusaka", SOUTH_AFRICA, 120, None),
    zone("Africa/Lubumbashi", SOUTH_AFRICA, 120, None),
    zone("Africa/Kigali", SOUTH_AFRICA, 120, None),
    zone("Africa/Bujumbura", SOUTH_AFRICA, 120, None),
    zone("Africa/Blantyre", SOUTH_AFRICA, 120, None),
    zone("Africa/Gaborone", SOUTH_AFRICA, 120, None),
    zone("Africa/Maseru", SOUTH_AFRICA, 120, None),
    zone("Africa/Mbabane", SOUTH_AFRICA, 120, None),
    zone("Africa/Windhoek", SOUTH_AFRICA, 120, None),
    zone("Africa/Tripoli", SOUTH_AFRICA, 120, None),
    zone("Africa/Khartoum", SOUTH_AFRICA, 120, None),
    zone("Africa/Juba", SOUTH_AFRICA, 120, None),
    zone("Europe/Kaliningrad", SOUTH_AFRICA, 120, None),
    zone("Libya", SOUTH_AFRICA, 120, None),
    zone("Etc/GMT-2", SOUTH_AFRICA, 120, None),
    zone("Asia/Riyadh", SAUDI_ARABIA, 180, None),
    zone("Asia/Baghdad", SAUDI_ARABIA, 180, None),
    zone("Asia/Kuwait", SAUDI_ARABIA, 180, None),
    zone("Asia/Qatar", SAUDI_ARABIA, 180, None),
    zone("Asia/Bahrain", SAUDI_ARABIA, 180, None),
    zone("Asia/Aden", SAUDI_ARABIA, 180, None),
    zone("Asia/Amman", SAUDI_ARABIA, 180, None),
    zone("Asia/Damascus", SAUDI_ARABIA, 180, None),
    zone("Asia/Istanbul", SAUDI_ARABIA, 180, None),
    zone("Europe/Moscow", SAUDI_ARABIA, 180, None),
    zone("Europe/Istanbul", SAUDI_ARABIA, 180, None),
    zone("Europe/Minsk", SAUDI_ARABIA, 180, None),
    zone("Europe/Simferopol", SAUDI_ARABIA, 180, None),
    zone("Europe/Kirov", SAUDI_ARABIA, 180, None),
    zone("Europe/Volgograd", SAUDI_ARABIA, 180, None),
    zone("Africa/Nairobi", SAUDI_ARABIA, 180, None),
    zone("Africa/Addis_Ababa", SAUDI_ARABIA, 180, None),
    zone("Africa/Dar_es_Salaam", SAUDI_ARABIA, 180, None),
    zone("Africa/Kampala", SAUDI_ARABIA, 180, None),
    zone("Africa/Mogadishu", SAUDI_ARABIA, 180, None),
    zone("Africa/Djibouti", SAUDI_ARABIA, 180, None),
    zone("Africa/Asmara", SAUDI_ARABIA, 180, None),
    zone("Indian/Antananarivo", SAUDI_ARABIA, 180, None),
    zone("Indian/Comoro", SAUDI_ARABIA, 180, None),
    zone("Indian/Mayotte", SAUDI_ARABIA, 180, None),
    zone("Turkey", SAUDI_ARABIA, 180, None),
    zone("W-SU", SAUDI_ARABIA, 180, None),
    zone("Etc/GMT-3", SAUDI_ARABIA, 180, None),
    zone("Asia/Dubai", ARABIAN, 240, None),
    zone("Asia/Muscat", ARABIAN, 240, None),
    zone("Asia/Baku", ARABIAN, 240, None),
    zone("Asia/Tbilisi", ARABIAN, 240, None),
    zone("Asia/Yerevan", ARABIAN, 240, None),
    zone("Europe/Samara", ARABIAN, 240, None),
    zone("Europe/Astrakhan", ARABIAN, 240, None),
    zone("Europe/Saratov", ARABIAN, 240, None),
    zone("Europe/Ulyanovsk", ARABIAN, 240, None),
    zone("Indian/Mauritius", ARABIAN, 240, None),
    zone("Indian/Reunion", ARABIAN, 240, None),
    zone("Indian/Mahe", ARABIAN, 240, None),
    zone("Etc/GMT-4", ARABIAN, 240, None),
    zone("Asia/Kabul", AFGHANISTAN, 270, None),
    zone("Asia/Karachi", WEST_ASIA, 300, None),
    zone("Asia/Tashkent", WEST_ASIA, 300, None),
    zone("Asia/Samarkand", WEST_ASIA, 300, None),
    zone("Asia/Dushanbe", WEST_ASIA, 300, None),
    zone("Asia/Ashgabat", WEST_ASIA, 300, None),
    zone("Asia/Almaty", WEST_ASIA, 300, None),
    zone("Asia/Qostanay", WEST_ASIA, 300, None),
    zone("Asia/Aqtobe", WEST_ASIA, 300, None),
    zone("Asia/Aqtau", WEST_ASIA, 300, None),
    zone("Asia/Atyrau", WEST_ASIA, 300, None),
    zone("Asia/Oral", WEST_ASIA, 300, None),
    zone("Asia/Qyzylorda", WEST_ASIA, 300, None),
    zone("Indian/Maldives", WEST_ASIA, 300, None),
    zone("Indian/Kerguelen", WEST_ASIA, 300, None),
    zone("Etc/GMT-5", WEST_ASIA, 300, None),
    zone("Asia/Yekaterinburg", EKATERINBURG, 300, None),
    zone("Asia/Kolkata", INDIA, 330, None),
    zone("Asia/Calcutta", INDIA, 330, None),
    zone("Asia/Colombo", INDIA, 330, None),
    zone("Asia/Dhaka", CENTRAL_ASIA, 360, None),
    zone("Asia/Dacca", CENTRAL_ASIA, 360, None),
    zone("Asia/Thimphu", CENTRAL_ASIA, 360, None),
    zone("Asia/Bishkek", CENTRAL_ASIA, 360, None),
    zone("Asia/Omsk", CENTRAL_ASIA, 360, None),
    zone("Asia/Urumqi", CENTRAL_ASIA, 360, None),
    zone("Indian/Chagos", CENTRAL_ASIA, 360, None),
    zone("Etc/GMT-6", CENTRAL_ASIA, 360, None),
    zone("Asia/Bangkok", SE_ASIA, 420, None),
    zone("Asia/Jakarta", SE_ASIA, 420, None),
    zone("Asia/Ho_Chi_Minh", SE_ASIA, 420, None),
    zone("Asia/Saigon", SE_ASIA, 420, None),
    zone("Asia/Phnom_Penh", SE_ASIA, 420, None),
    zone("Asia/Vientiane", SE_ASIA, 420, None),
    zone("Asia/Pontianak", SE_ASIA, 420, None),
    zone("Asia/Novosibirsk", SE_ASIA, 420, None),
    zone("Asia/Krasnoyarsk", SE_ASIA, 420, None),
    zone("Asia/Barnaul", SE_ASIA, 420, None),
    zone("Asia/Tomsk", SE_ASIA, 420, None),
    zone("Asia/Novokuznetsk", SE_ASIA, 420, None),
    zone("Asia/Hovd", SE_ASIA, 420, None),
    zone("Indian/Christmas", SE_ASIA, 420, None),
    zone("Etc/GMT-7", SE_ASIA, 420, None),
    zone("Asia/Shanghai", TAIPEI, 480, None),
    zone("Asia/Taipei", TAIPEI, 480, None),
    zone("Asia/Hong_Kong", TAIPEI, 480, None),
    zone("Asia/Macau", TAIPEI, 480, None),
    zone("Asia/Singapore", TAIPEI, 480, None),
    zone("Asia/Kuala_Lumpur", TAIPEI, 480, None),
    zone("Asia/Kuching", TAIPEI, 480, None),
    zone("Asia/Manila", TAIPEI, 480, None),
    zone("Asia/Makassar", TAIPEI, 480, None),
    zone("Asia/Brunei", TAIPEI, 480, None),
    zone("Asia/Irkutsk", TAIPEI, 480, None),
    zone("Asia/Ulaanbaatar", TAIPEI, 480, None),
    zone("Australia/Perth", TAIPEI, 480, None),
    zone("Australia/West", TAIPEI, 480, None),
    zone("PRC", TAIPEI, 480, None),
    zone("ROC", TAIPEI, 480, None),
    zone("Hongkong", TAIPEI, 480, None),
    zone("Singapore", TAIPEI, 480, None),
    zone("Etc/GMT-8", TAIPEI, 480, None),
    zone("Asia/Tokyo", TOKYO, 540, None),
    zone("Asia/Seoul", TOKYO, 540, None),
    zone("Asia/Pyongyang", TOKYO, 540, None),
    zone("Asia/Jayapura", TOKYO, 540, None),
    zone("Asia/Dili", TOKYO, 540, None),
    zone("Asia/Yakutsk", TOKYO, 540, None),
    zone("Asia/Chita", TOKYO, 540, None),
    zone("Asia/Khandyga", TOKYO, 540, None),
    zone("Pacific/Palau", TOKYO, 540, None),
    zone("Japan", TOKYO, 540, None),
    zone("ROK", TOKYO, 540, None),
    zone("Etc/GMT-9", TOKYO, 540, None),
    zone("Australia/Adelaide", CEN_AUSTRALIA, 570, AU_SOUTH_EAST),
    zone("Australia/Broken_Hill", CEN_AUSTRALIA, 570, AU_SOUTH_EAST),
    zone("Australia/South", CEN_AUSTRALIA, 570, AU_SOUTH_EAST),
    zone("Australia/Darwin", AUS_CENTRAL, 570, None),
    zone("Australia/North", AUS_CENTRAL, 570, None),
    zone("Australia/Sydney", AUS_EASTERN, 600, AU_SOUTH_EAST),
    zone("Australia/Melbourne", AUS_EASTERN, 600, AU_SOUTH_EAST),
    zone("Australia/Canberra", AUS_EASTERN, 600, AU_SOUTH_EAST),
    zone("Australia/ACT", AUS_EASTERN, 600, AU_SOUTH_EAST),
    zone("Australia/NSW", AUS_EASTERN, 600, AU_SOUTH_EAST),
    zone("Australia/Victoria", AUS_EASTERN, 600, AU_SOUTH_EAST),
    zone("Australia/Hobart", TASMANIA, 600, AU_SOUTH_EAST),
    zone("Australia/Tasmania", TASMANIA, 600, AU_SOUTH_EAST),
    zone("Australia/Brisbane", E_AUSTRALIA, 600, None),
    zone("Australia/Lindeman", E_AUSTRALIA, 600, None),
    zone("Australia/Queensland", E_AUSTRALIA, 600, None),
    zone("Pacific/Port_Moresby", WEST_PACIFIC, 600, None),
    zone("Pacific/Guam", WEST_PACIFIC, 600, None),
    zone("Pacific/Saipan", WEST_PACIFIC, 600, None),
    zone("Pacific/Chuuk", WEST_PACIFIC, 600, None),
    zone("Asia/Vladivostok", WEST_PACIFIC, 600, None),
    zone("Asia/Ust-Nera", WEST_PACIFIC, 600, None),
    zone("Etc/GMT-10", WEST_PACIFIC, 600, None),
    zone("Pacific/Guadalcanal", CENTRAL_PACIFIC, 660, None),
    zone("Pacific/Noumea", CENTRAL_PACIFIC, 660, None),
    zone("Pacific/Efate", CENTRAL_PACIFIC, 660, None),
    zone("Pacific/Pohnpei", CENTRAL_PACIFIC, 660, None),
    zone("Pacific/Kosrae", CENTRAL_PACIFIC, 660, None),
    zone("Pacific/Bougainville", CENTRAL_PACIFIC, 660, None),
    zone("Asia/Magadan", CENTRAL_PACIFIC, 660, None),
    zone("Asia/Sakhalin", CENTRAL_PACIFIC, 660, None),
    zone("Asia/Srednekolymsk", CENTRAL_PACIFIC, 660, None),
    zone("Etc/GMT-11", CENTRAL_PACIFIC, 660, None),
    zone("Pacific/Auckland", NEW_ZEALAND_NAME, 720, NEW_ZEALAND),
    zone("Antarctica/McMurdo", NEW_ZEALAND_NAME, 720, NEW_ZEALAND),
    zone("NZ", NEW_ZEALAND_NAME, 720, NEW_ZEALAND),
    zone("Pacific/Fiji", FIJI, 720, None),
    zone("Pacific/Tarawa", FIJI, 720, None),
    zone("Pacific/Majuro", FIJI, 720, None),
    zone("Pacific/Kwajalein", FIJI, 720, None),
    zone("Pacific/Funafuti", FIJI, 720, None),
    zone("Pacific/Wake", FIJI, 720, None),
    zone("Pacific/Wallis", FIJI, 720, None),
    zone("Pacific/Nauru", FIJI, 720, None),
    zone("Asia/Kamchatka", FIJI, 720, None),
    zone("Asia/Anadyr", FIJI, 720, None),
    zone("Etc/GMT-12", FIJI, 720, None),
];

const NO_NAME: &str = "no cisco name has this utc offset";
const ONLY_FIXED: &str = "the cisco names with this utc offset have no daylight saving";
const ONLY_DST: &str = "every cisco name with this utc offset applies daylight saving";
const OTHER_RULE: &str = "its daylight saving changes at other times than the cisco name's";
const DISPUTED: &str = "the cisco names for this zone (gtb, e. europe, egypt) have a utc offset \
                        our sources disagree about";

const fn unrepresentable(
    iana: &'static str,
    utc_offset_minutes: i32,
    has_dst: bool,
    why: &'static str,
) -> Unrepresentable {
    Unrepresentable {
        iana,
        utc_offset_minutes,
        has_dst,
        why,
    }
}

/// Zones people use that no Cisco name shows right all year, with the reason; they get an
/// error naming the closest supported zones instead of "unknown".
#[rustfmt::skip]
static UNREPRESENTABLE: &[Unrepresentable] = &[
    unrepresentable("Pacific/Marquesas", -570, false, NO_NAME),
    unrepresentable("Pacific/Gambier", -540, false, ONLY_DST),
    unrepresentable("Etc/GMT+9", -540, false, ONLY_DST),
    unrepresentable("Pacific/Pitcairn", -480, false, ONLY_DST),
    unrepresentable("Etc/GMT+8", -480, false, ONLY_DST),
    unrepresentable("America/Adak", -600, true, ONLY_FIXED),
    unrepresentable("Pacific/Easter", -360, true, OTHER_RULE),
    unrepresentable("America/Havana", -300, true, OTHER_RULE),
    unrepresentable("America/Santiago", -240, true,
        "chile's daylight saving: its cisco names (pacific sa standard time, pacific sa daylight \
         time) are fixed offsets"),
    unrepresentable("America/Miquelon", -180, true, OTHER_RULE),
    unrepresentable("America/Noronha", -120, false, ONLY_DST),
    unrepresentable("Atlantic/South_Georgia", -120, false, ONLY_DST),
    unrepresentable("Etc/GMT+2", -120, false, ONLY_DST),
    unrepresentable("America/Nuuk", -120, true, OTHER_RULE),
    unrepresentable("America/Scoresbysund", -120, true, OTHER_RULE),
    unrepresentable("Atlantic/Cape_Verde", -60, false, ONLY_DST),
    unrepresentable("Etc/GMT+1", -60, false, ONLY_DST),
    unrepresentable("Africa/Casablanca", 60, false,
        "morocco suspends its utc+01:00 during ramadan, which no cisco name does"),
    unrepresentable("Africa/El_Aaiun", 60, false,
        "morocco suspends its utc+01:00 during ramadan, which no cisco name does"),
    unrepresentable("Africa/Lagos", 60, false, ONLY_DST),
    unrepresentable("Africa/Algiers", 60, false, ONLY_DST),
    unrepresentable("Africa/Tunis", 60, false, ONLY_DST),
    unrepresentable("Africa/Kinshasa", 60, false, ONLY_DST),
    unrepresentable("Africa/Luanda", 60, false, ONLY_DST),
    unrepresentable("Africa/Douala", 60, false, ONLY_DST),
    unrepresentable("Africa/Ndjamena", 60, false, ONLY_DST),
    unrepresentable("Africa/Niamey", 60, false, ONLY_DST),
    unrepresentable("Etc/GMT-1", 60, false, ONLY_DST),
    unrepresentable("Europe/Athens", 120, true, DISPUTED),
    unrepresentable("Europe/Helsinki", 120, true, DISPUTED),
    unrepresentable("Europe/Kyiv", 120, true, DISPUTED),
    unrepresentable("Europe/Kiev", 120, true, DISPUTED),
    unrepresentable("Europe/Bucharest", 120, true, DISPUTED),
    unrepresentable("Europe/Sofia", 120, true, DISPUTED),
    unrepresentable("Europe/Riga", 120, true, DISPUTED),
    unrepresentable("Europe/Tallinn", 120, true, DISPUTED),
    unrepresentable("Europe/Vilnius", 120, true, DISPUTED),
    unrepresentable("Europe/Mariehamn", 120, true, DISPUTED),
    unrepresentable("Asia/Nicosia", 120, true, DISPUTED),
    unrepresentable("Europe/Nicosia", 120, true, DISPUTED),
    unrepresentable("Asia/Famagusta", 120, true, DISPUTED),
    unrepresentable("EET", 120, true, DISPUTED),
    unrepresentable("Africa/Cairo", 120, true, DISPUTED),
    unrepresentable("Egypt", 120, true, DISPUTED),
    unrepresentable("Europe/Chisinau", 120, true, OTHER_RULE),
    unrepresentable("Asia/Beirut", 120, true, OTHER_RULE),
    unrepresentable("Asia/Jerusalem", 120, true,
        "israel's daylight saving starts on the friday before the last sunday of march, which \
         the 7940/7960 cannot express"),
    unrepresentable("Asia/Tel_Aviv", 120, true,
        "israel's daylight saving starts on the friday before the last sunday of march, which \
         the 7940/7960 cannot express"),
    unrepresentable("Israel", 120, true,
        "israel's daylight saving starts on the friday before the last sunday of march, which \
         the 7940/7960 cannot express"),
    unrepresentable("Asia/Gaza", 120, true, OTHER_RULE),
    unrepresentable("Asia/Hebron", 120, true, OTHER_RULE),
    unrepresentable("Asia/Tehran", 210, false,
        "iran dropped daylight saving in 2022 and its cisco name still applies it"),
    unrepresentable("Iran", 210, false,
        "iran dropped daylight saving in 2022 and its cisco name still applies it"),
    unrepresentable("Asia/Kathmandu", 345, false, NO_NAME),
    unrepresentable("Asia/Katmandu", 345, false, NO_NAME),
    unrepresentable("Asia/Yangon", 390, false, NO_NAME),
    unrepresentable("Asia/Rangoon", 390, false, NO_NAME),
    unrepresentable("Indian/Cocos", 390, false, NO_NAME),
    unrepresentable("Australia/Eucla", 525, false, NO_NAME),
    unrepresentable("Australia/Lord_Howe", 630, true, NO_NAME),
    unrepresentable("Pacific/Norfolk", 660, true, ONLY_FIXED),
    unrepresentable("Pacific/Chatham", 765, true, NO_NAME),
    unrepresentable("Pacific/Tongatapu", 780, false, NO_NAME),
    unrepresentable("Pacific/Apia", 780, false, NO_NAME),
    unrepresentable("Pacific/Fakaofo", 780, false, NO_NAME),
    unrepresentable("Pacific/Kanton", 780, false, NO_NAME),
    unrepresentable("Etc/GMT-13", 780, false, NO_NAME),
    unrepresentable("Pacific/Kiritimati", 840, false, NO_NAME),
    unrepresentable("Etc/GMT-14", 840, false, NO_NAME),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil;

    /// The XML firmware's 55 names with their offsets in minutes, as usecallmanager.nz
    /// `sepmac-cnf-xml.html` lists them (`real-configs/usecallmanager-site/timezones.tsv`):
    /// the firmware's vocabulary, kept apart from the table so the two check each other.
    const FIRMWARE_ZONES: [(&str, i32); 55] = [
        ("Dateline Standard Time", -720),
        ("Samoa Standard Time", -660),
        ("Hawaiian Standard Time", -600),
        ("Alaskan Standard/Daylight Time", -540),
        ("Pacific Standard/Daylight Time", -480),
        ("Mountain Standard/Daylight Time", -420),
        ("US Mountain Standard Time", -420),
        ("Central Standard/Daylight Time", -360),
        ("Mexico Standard/Daylight Time", -360),
        ("Canada Central Standard Time", -360),
        ("SA Pacific Standard Time", -300),
        ("Eastern Standard/Daylight Time", -300),
        ("US Eastern Standard Time", -300),
        ("Atlantic Standard/Daylight Time", -240),
        ("SA Western Standard Time", -240),
        ("Pacific SA Standard Time", -240),
        ("Newfoundland Standard/Daylight Time", -210),
        ("E. South America Standard/Daylight Time", -180),
        ("SA Eastern Standard Time", -180),
        ("Pacific SA Daylight Time", -180),
        ("Mid-Atlantic Standard/Daylight Time", -120),
        ("Azores Standard/Daylight Time", -60),
        ("GMT Standard/Daylight Time", 0),
        ("Greenwich Standard Time", 0),
        ("W. Europe Standard/Daylight Time", 60),
        ("GTB Standard/Daylight Time", 60),
        ("Egypt Standard/Daylight Time", 60),
        ("E. Europe Standard/Daylight Time", 60),
        ("Romance Standard/Daylight Time", 120),
        ("Central Europe Standard/Daylight Time", 120),
        ("South Africa Standard Time", 120),
        ("Jerusalem Standard/Daylight Time", 120),
        ("Saudi Arabia Standard Time", 180),
        ("Russian Standard/Daylight Time", 180),
        ("Iran Standard/Daylight Time", 210),
        ("Caucasus Standard/Daylight Time", 240),
        ("Arabian Standard Time", 240),
        ("Afghanistan Standard Time", 270),
        ("West Asia Standard Time", 300),
        ("Ekaterinburg Standard Time", 300),
        ("India Standard Time", 330),
        ("Central Asia Standard Time", 360),
        ("SE Asia Standard Time", 420),
        ("China Standard/Daylight Time", 480),
        ("Taipei Standard Time", 480),
        ("Tokyo Standard Time", 540),
        ("Cen. Australia Standard/Daylight Time", 570),
        ("AUS Central Standard Time", 570),
        ("E. Australia Standard Time", 600),
        ("AUS Eastern Standard/Daylight Time", 600),
        ("West Pacific Standard Time", 600),
        ("Tasmania Standard/Daylight Time", 600),
        ("Central Pacific Standard Time", 660),
        ("Fiji Standard Time", 720),
        ("New Zealand Standard/Daylight Time", 720),
    ];

    /// Names whose offset usecallmanager's list and Microsoft's zones of the same name (and
    /// the working German and Polish configurations) disagree on: see the module docs.
    const DISPUTED_NAMES: [&str; 5] = [
        "GTB Standard/Daylight Time",
        "Egypt Standard/Daylight Time",
        "E. Europe Standard/Daylight Time",
        "Romance Standard/Daylight Time",
        "Central Europe Standard/Daylight Time",
    ];

    /// The names the table leaves unused, each for the reason in the module docs.
    const UNUSED_NAMES: [&str; 16] = [
        "Mexico Standard/Daylight Time",
        "US Eastern Standard Time",
        "Pacific SA Standard Time",
        "E. South America Standard/Daylight Time",
        "Pacific SA Daylight Time",
        "Mid-Atlantic Standard/Daylight Time",
        "GTB Standard/Daylight Time",
        "Egypt Standard/Daylight Time",
        "E. Europe Standard/Daylight Time",
        "Romance Standard/Daylight Time",
        "Central Europe Standard/Daylight Time",
        "Jerusalem Standard/Daylight Time",
        "Russian Standard/Daylight Time",
        "Iran Standard/Daylight Time",
        "Caucasus Standard/Daylight Time",
        "China Standard/Daylight Time",
    ];

    /// The day of the month a transition falls on in `year`, read as the n-th (or last) such
    /// weekday of the month.
    fn day_of(transition: Transition, year: i64) -> u32 {
        let month = u32::from(transition.month);
        let first = civil::days_from_civil(year, month, 1);
        // 1970-01-01 was a Thursday (4 counted from Sunday).
        let first_weekday = (first + 4).rem_euclid(7) as u32;
        let wanted = transition.weekday.number_from_sunday();
        let first_match = 1 + (wanted + 7 - first_weekday) % 7;
        let (next_year, next_month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let days_in_month = (civil::days_from_civil(next_year, next_month, 1) - first) as u32;
        match transition.week {
            Week::First => first_match,
            Week::Second => first_match + 7,
            Week::Third => first_match + 14,
            Week::Fourth => first_match + 21,
            Week::Last => first_match + 7 * ((days_in_month - first_match) / 7),
        }
    }

    #[track_caller]
    fn clock(iana: &str) -> SiteClock {
        resolve(iana).unwrap_or_else(|err| panic!("{iana}: {err}"))
    }

    // german-fritzbox-7960/SIPDefault.cnf (a working 7960 in Germany) writes the same keys in
    // the same order and spelling: `time_zone: CET`, `dst_offset: 1`, month names,
    // `dst_start_day: ""`, `Sun`, `dst_stop_week_of_month: 8` ("8=last week of month"),
    // `dst_start_time: 02`. Its rule (first Sunday of April) is not the EU's: the EU's is the
    // last Sunday of March and of October at 01:00 UTC (directive 2000/84/EC; "02:00 standard
    // time → 03:00 summer time → 02:00", timing.se), 2026-03-29 and 2026-10-25.
    #[test]
    fn europe_berlin_7940_rule_is_last_sunday_of_march_to_last_sunday_of_october() {
        let berlin = clock("Europe/Berlin");
        assert_eq!(berlin.xml_zone, "W. Europe Standard/Daylight Time");
        assert_eq!(berlin.utc_offset_minutes, 60);
        assert_eq!(
            berlin.sipdefault_lines(),
            "time_zone: CET\n\
             dst_offset: 1\n\
             dst_start_month: Mar\n\
             dst_start_day: \"\"\n\
             dst_start_day_of_week: Sun\n\
             dst_start_week_of_month: 8\n\
             dst_start_time: 02\n\
             dst_stop_month: Oct\n\
             dst_stop_day: \"\"\n\
             dst_stop_day_of_week: Sun\n\
             dst_stop_week_of_month: 8\n\
             dst_stop_time: 03\n\
             dst_auto_adjust: 1\n"
        );
        let lines = berlin.sipdefault_lines();
        let keys: Vec<&str> = lines
            .lines()
            .map(|line| line.split(": ").next().unwrap())
            .collect();
        let fritzbox_keys = [
            "time_zone",
            "dst_offset",
            "dst_start_month",
            "dst_start_day",
            "dst_start_day_of_week",
            "dst_start_week_of_month",
            "dst_start_time",
            "dst_stop_month",
            "dst_stop_day",
            "dst_stop_day_of_week",
            "dst_stop_week_of_month",
            "dst_stop_time",
            "dst_auto_adjust",
        ];
        assert_eq!(keys, fritzbox_keys);
        let rule = berlin.dst.unwrap();
        assert_eq!(
            (day_of(rule.start, 2026), day_of(rule.stop, 2026)),
            (29, 25)
        );
        assert_eq!(
            (day_of(rule.start, 2027), day_of(rule.stop, 2027)),
            (28, 31)
        );
    }

    // US rule since 2007: 02:00 on the second Sunday of March to 02:00 on the first Sunday of
    // November (Cisco field notice 62682). provisioner/sip79xx-SIP$mac.cnf and fusionpbx's
    // 7940 SIPDefault.cnf write it as week 2 of March and week 1 of November, `EST`;
    // 2026-03-08/2026-11-01, 2027-03-14/2027-11-07.
    #[test]
    fn america_new_york_is_second_sunday_of_march_to_first_sunday_of_november() {
        let new_york = clock("America/New_York");
        assert_eq!(new_york.xml_zone, "Eastern Standard/Daylight Time");
        assert_eq!(
            new_york.sipdefault_lines(),
            "time_zone: EST\n\
             dst_offset: 1\n\
             dst_start_month: Mar\n\
             dst_start_day: \"\"\n\
             dst_start_day_of_week: Sun\n\
             dst_start_week_of_month: 2\n\
             dst_start_time: 02\n\
             dst_stop_month: Nov\n\
             dst_stop_day: \"\"\n\
             dst_stop_day_of_week: Sun\n\
             dst_stop_week_of_month: 1\n\
             dst_stop_time: 02\n\
             dst_auto_adjust: 1\n"
        );
        let rule = new_york.dst.unwrap();
        assert_eq!((day_of(rule.start, 2026), day_of(rule.stop, 2026)), (8, 1));
        assert_eq!((day_of(rule.start, 2027), day_of(rule.stop, 2027)), (14, 7));
    }

    // South-east Australia since 2008 (tzdata `australasia`, Rule AN/AV/AS/AT): 02:00 standard
    // time on the first Sunday of October to 03:00 daylight time on the first Sunday of April;
    // 2026-10-04 and 2026-04-05. The start is later in the year than the stop.
    #[test]
    fn australia_sydney_starts_in_october_and_stops_in_april() {
        let sydney = clock("Australia/Sydney");
        assert_eq!(sydney.xml_zone, "AUS Eastern Standard/Daylight Time");
        assert_eq!(sydney.utc_offset_minutes, 600);
        assert_eq!(
            sydney.sipdefault_lines(),
            "time_zone: AEST\n\
             dst_offset: 1\n\
             dst_start_month: Oct\n\
             dst_start_day: \"\"\n\
             dst_start_day_of_week: Sun\n\
             dst_start_week_of_month: 1\n\
             dst_start_time: 02\n\
             dst_stop_month: Apr\n\
             dst_stop_day: \"\"\n\
             dst_stop_day_of_week: Sun\n\
             dst_stop_week_of_month: 1\n\
             dst_stop_time: 03\n\
             dst_auto_adjust: 1\n"
        );
        let rule = sydney.dst.unwrap();
        assert!(rule.start.month > rule.stop.month);
        assert_eq!((day_of(rule.start, 2026), day_of(rule.stop, 2026)), (4, 5));
        // New Zealand since 2007 (tzdata Rule NZ): last Sunday of September to the first
        // Sunday of April; 2026-09-27 and 2026-04-05.
        let auckland = clock("Pacific/Auckland").dst.unwrap();
        assert_eq!(auckland.start.month, 9);
        assert_eq!(
            (day_of(auckland.start, 2026), day_of(auckland.stop, 2026)),
            (27, 5)
        );
        // Brisbane, same offset, no daylight saving: another Cisco name.
        let brisbane = clock("Australia/Brisbane");
        assert_eq!(brisbane.xml_zone, "E. Australia Standard Time");
        assert_eq!(brisbane.dst, None);
    }

    // Japan has had no daylight saving since 1951 (tzdata `asia`); field-evidence.md §3: the
    // 7940 needs `dst_auto_adjust: 0`, or it shifts in summer.
    #[test]
    fn asia_tokyo_has_no_daylight_saving() {
        let tokyo = clock("Asia/Tokyo");
        assert_eq!(tokyo.xml_zone, "Tokyo Standard Time");
        assert_eq!(tokyo.dst, None);
        assert_eq!(
            tokyo.sipdefault_lines(),
            "time_zone: JST\ndst_auto_adjust: 0\n"
        );
    }

    // `GMT` is the 7940 default (our built-in config and field-evidence.md §3);
    // `Greenwich Standard Time` is the XML firmware's fixed-offset name for UTC.
    #[test]
    fn utc_is_greenwich_without_daylight_saving() {
        for name in ["UTC", "Etc/UTC", "Etc/GMT", "GMT"] {
            let utc = clock(name);
            assert_eq!(utc.iana, name);
            assert_eq!(utc.xml_zone, "Greenwich Standard Time");
            assert_eq!(utc.utc_offset_minutes, 0);
            assert_eq!(
                utc.sipdefault_lines(),
                "time_zone: GMT\ndst_auto_adjust: 0\n"
            );
        }
        // London has the EU rule at 01:00 UTC: 01:00 GMT → 02:00 BST.
        let london = clock("Europe/London");
        assert_eq!(london.xml_zone, "GMT Standard/Daylight Time");
        let rule = london.dst.unwrap();
        assert_eq!(
            (rule.start.local_minutes, rule.stop.local_minutes),
            (60, 120)
        );
    }

    // Kathmandu is +05:45 (tzdata `asia`), a quarter hour from India's +05:30 and
    // Bangladesh's +06:00; no name of timezones.tsv has +05:45.
    #[test]
    fn an_unrepresentable_zone_names_the_closest_supported_ones() {
        assert_eq!(
            resolve("Asia/Kathmandu").unwrap_err(),
            "time zone \"Asia/Kathmandu\" (utc+05:45) has no cisco equivalent: the phones can \
             show Asia/Kolkata (utc+05:30) or Asia/Dhaka (utc+06:00); no cisco name has this \
             utc offset"
        );
        // Lord Howe's half-hour daylight saving (tzdata Rule LH), Chatham's +12:45.
        let lord_howe = resolve("Australia/Lord_Howe").unwrap_err();
        assert!(
            lord_howe.contains("Australia/Sydney (utc+10:00 with daylight saving)"),
            "{lord_howe}"
        );
        let chatham = resolve("Pacific/Chatham").unwrap_err();
        assert!(
            chatham.contains("Pacific/Auckland (utc+12:00 with daylight saving)"),
            "{chatham}"
        );
        // Athens: the +02:00 names with EU rules are the disputed ones (module docs); the
        // closest are Kaliningrad (same offset, no daylight saving) and Berlin (same rule).
        let athens = resolve("Europe/Athens").unwrap_err();
        assert!(
            athens.starts_with(
                "time zone \"Europe/Athens\" (utc+02:00 with daylight saving) has no cisco \
                 equivalent: the phones can show Europe/Kaliningrad (utc+02:00), \
                 Europe/Berlin (utc+01:00 with daylight saving)"
            ),
            "{athens}"
        );
        // Every suggestion resolves, and no message is empty of suggestions.
        for zone in UNREPRESENTABLE {
            let message = resolve(zone.iana).unwrap_err();
            let suggestions = closest(zone);
            assert!(
                !suggestions.is_empty() && suggestions.len() <= 3,
                "{message}"
            );
            for suggestion in suggestions {
                let name = suggestion.split(' ').next().unwrap();
                assert!(resolve(name).is_ok(), "{message}");
            }
            // Lowercase admin words, but for the zone names.
            let mut words = message.clone();
            for name in iana_names().chain([zone.iana]) {
                words = words.replace(name, "");
            }
            assert_eq!(words, words.to_lowercase(), "{message}");
        }
    }

    #[test]
    fn an_unknown_name_suggests_zones_of_its_region() {
        assert_eq!(
            resolve("Europe/Atlantis").unwrap_err(),
            "unknown time zone \"Europe/Atlantis\": use an iana name such as Europe/London, \
             Europe/Berlin or Europe/Kaliningrad"
        );
        assert_eq!(
            resolve("Mars/Olympus_Mons").unwrap_err(),
            "unknown time zone \"Mars/Olympus_Mons\": use an iana name such as Europe/Berlin, \
             America/New_York or Asia/Tokyo"
        );
        assert!(resolve("").is_err());
    }

    #[test]
    fn names_match_ignoring_case_and_keep_the_configured_spelling() {
        let berlin = clock("europe/berlin");
        assert_eq!(berlin.iana, "europe/berlin");
        assert_eq!(berlin.xml_zone, "W. Europe Standard/Daylight Time");
        assert!(resolve("asia/kathmandu")
            .unwrap_err()
            .contains("Asia/Kolkata"));
    }

    // timezones.tsv: an unknown <timeZone> is silently GMT (field-evidence.md §3).
    #[test]
    fn every_xml_zone_is_one_of_the_55_firmware_names() {
        for row in ZONES {
            assert!(
                FIRMWARE_ZONES.iter().any(|(name, _)| *name == row.xml_zone),
                "{}: {:?} is not in the firmware's list",
                row.iana,
                row.xml_zone
            );
        }
    }

    // timezones.tsv gives each name's offset; the row's own offset (its tzdata standard
    // offset, checked against tzdata below) must be the same.
    #[test]
    fn every_row_offset_equals_its_cisco_name_offset() {
        for row in ZONES {
            let (_, offset) = FIRMWARE_ZONES
                .iter()
                .find(|(name, _)| *name == row.xml_zone)
                .unwrap();
            assert_eq!(row.utc_offset_minutes, *offset, "{}", row.iana);
        }
    }

    // The firmware's names say `Standard/Daylight` when they apply daylight saving and
    // `Standard Time` (or `Daylight Time`, a fixed summer offset) when not.
    #[test]
    fn daylight_saving_exactly_when_the_cisco_name_has_it() {
        for row in ZONES {
            assert_eq!(
                row.dst.is_some(),
                row.xml_zone.contains("Standard/Daylight"),
                "{} → {}",
                row.iana,
                row.xml_zone
            );
        }
    }

    #[test]
    fn the_disputed_and_unused_names_are_not_used() {
        for row in ZONES {
            assert!(!DISPUTED_NAMES.contains(&row.xml_zone), "{}", row.iana);
        }
        let unused: Vec<&str> = FIRMWARE_ZONES
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| ZONES.iter().all(|row| row.xml_zone != *name))
            .collect();
        assert_eq!(unused, UNUSED_NAMES);
    }

    #[test]
    fn names_are_unique_and_each_offset_has_a_short_name() {
        let mut names: Vec<&str> = iana_names()
            .chain(UNREPRESENTABLE.iter().map(|zone| zone.iana))
            .collect();
        let count = names.len();
        names.sort_unstable_by_key(|name| name.to_ascii_lowercase());
        names.dedup_by_key(|name| name.to_ascii_lowercase());
        assert_eq!(names.len(), count, "a name is in the tables twice");
        for row in ZONES {
            assert!(
                sip_zone_for_offset(row.utc_offset_minutes).is_some(),
                "{}",
                row.iana
            );
        }
        let mut offsets: Vec<i32> = SIP_ZONES.iter().map(|(offset, _)| *offset).collect();
        offsets.sort_unstable();
        offsets.dedup();
        assert_eq!(offsets.len(), SIP_ZONES.len());
        // The short names seen in working files (german-fritzbox and mkirbst `CET`,
        // fusionpbx `EST`, provisioner `CST` and `PST`, our default `GMT`).
        for (offset, name) in [
            (60, "CET"),
            (-300, "EST"),
            (-360, "CST"),
            (-480, "PST"),
            (0, "GMT"),
        ] {
            assert_eq!(sip_zone_for_offset(offset), Some(name));
        }
    }

    // Admin guide 78-10497-02 p. 3-26: day of week `Sun`…`Sat` (case-sensitive), week of
    // month 1–6 or 8, times as hour or hour/minute; day of month ignored when empty.
    #[test]
    fn every_row_writes_values_the_7940_accepts() {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        let is_time = |value: &str| {
            let (hour, minute) = value.split_once('/').unwrap_or((value, "00"));
            hour.len() == 2
                && minute.len() == 2
                && hour.parse::<u32>().is_ok_and(|hour| hour < 24)
                && minute.parse::<u32>().is_ok_and(|minute| minute < 60)
        };
        for name in iana_names() {
            let lines = clock(name).sipdefault_lines();
            assert!(lines.ends_with('\n'));
            for line in lines.lines() {
                let (key, value) = line.split_once(": ").unwrap();
                let ok = match key {
                    "time_zone" => {
                        !value.is_empty()
                            && value
                                .bytes()
                                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                    }
                    "dst_offset" => value == "1",
                    "dst_start_month" | "dst_stop_month" => MONTHS.contains(&value),
                    "dst_start_day" | "dst_stop_day" => value == "\"\"",
                    "dst_start_day_of_week" | "dst_stop_day_of_week" => WEEKDAYS.contains(&value),
                    "dst_start_week_of_month" | "dst_stop_week_of_month" => {
                        ["1", "2", "3", "4", "8"].contains(&value)
                    }
                    "dst_start_time" | "dst_stop_time" => is_time(value),
                    "dst_auto_adjust" => value == "0" || value == "1",
                    _ => false,
                };
                assert!(ok, "{name}: {line}");
            }
        }
    }

    /// A rule of a POSIX `TZ` string (`Mm.w.d[/time]`), time in minutes.
    #[derive(Debug, PartialEq)]
    struct PosixRule {
        month: u32,
        week: u32,
        weekday: u32,
        minutes: i32,
    }

    /// A POSIX `TZ` string: standard offset and, with daylight saving, its offset and rules;
    /// offsets east-positive minutes. A zone whose "standard" time is its summer time (tzdata
    /// writes Ireland's so) is turned around: standard is the lower offset.
    #[derive(Debug, PartialEq)]
    struct Posix {
        std: i32,
        dst: Option<(i32, PosixRule, PosixRule)>,
    }

    fn parse_posix(text: &str) -> Result<Posix, String> {
        let mut rest = text;
        let name = |rest: &mut &str| -> Result<(), String> {
            let end = if let Some(quoted) = rest.strip_prefix('<') {
                quoted.find('>').map(|end| end + 2)
            } else {
                rest.find(|c: char| !c.is_ascii_alphabetic())
                    .or(Some(rest.len()))
            };
            match end {
                Some(end) if end > 0 => {
                    *rest = &rest[end..];
                    Ok(())
                }
                _ => Err(format!("no zone name in {text:?}")),
            }
        };
        // `[+-]hh[:mm[:ss]]` in minutes.
        let clock_time = |rest: &mut &str| -> Result<i32, String> {
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '+' || c == '-'))
                .unwrap_or(rest.len());
            let (field, after) = rest.split_at(end);
            *rest = after;
            let (sign, digits) = match field.strip_prefix('-') {
                Some(digits) => (-1, digits),
                None => (1, field.trim_start_matches('+')),
            };
            let mut parts = digits.split(':').map(|part| part.parse::<i32>());
            let hours = parts
                .next()
                .and_then(Result::ok)
                .ok_or(format!("bad time in {text:?}"))?;
            let minutes = parts
                .next()
                .transpose()
                .map_err(|err| err.to_string())?
                .unwrap_or(0);
            Ok(sign * (hours * 60 + minutes))
        };
        let rule = |rest: &mut &str| -> Result<PosixRule, String> {
            let body = rest
                .strip_prefix(",M")
                .ok_or(format!("not an Mm.w.d rule in {text:?}"))?;
            let end = body.find(['/', ',']).unwrap_or(body.len());
            let fields: Vec<u32> = body[..end]
                .split('.')
                .map(|field| field.parse().map_err(|_| format!("bad rule in {text:?}")))
                .collect::<Result<_, _>>()?;
            let [month, week, weekday] = fields[..] else {
                return Err(format!("bad rule in {text:?}"));
            };
            *rest = &body[end..];
            let minutes = match rest.strip_prefix('/') {
                Some(time) => {
                    *rest = time;
                    clock_time(rest)?
                }
                None => 120,
            };
            Ok(PosixRule {
                month,
                week,
                weekday,
                minutes,
            })
        };
        name(&mut rest)?;
        let std = -clock_time(&mut rest)?;
        if rest.is_empty() {
            return Ok(Posix { std, dst: None });
        }
        name(&mut rest)?;
        let dst = if rest.starts_with(',') {
            std + 60
        } else {
            -clock_time(&mut rest)?
        };
        let start = rule(&mut rest)?;
        let stop = rule(&mut rest)?;
        if !rest.is_empty() {
            return Err(format!("trailing {rest:?} in {text:?}"));
        }
        Ok(if dst < std {
            Posix {
                std: dst,
                dst: Some((std, stop, start)),
            }
        } else {
            Posix {
                std,
                dst: Some((dst, start, stop)),
            }
        })
    }

    #[test]
    fn posix_strings_parse() {
        let berlin = parse_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(berlin.std, 60);
        let (dst, start, stop) = berlin.dst.unwrap();
        assert_eq!(dst, 120);
        assert_eq!(
            start,
            PosixRule {
                month: 3,
                week: 5,
                weekday: 0,
                minutes: 120
            }
        );
        assert_eq!(
            stop,
            PosixRule {
                month: 10,
                week: 5,
                weekday: 0,
                minutes: 180
            }
        );
        // Ireland: IST is "standard", GMT the winter "daylight" time.
        let dublin = parse_posix("IST-1GMT0,M10.5.0,M3.5.0/1").unwrap();
        let (dst, start, stop) = dublin.dst.unwrap();
        assert_eq!((dublin.std, dst), (0, 60));
        assert_eq!(
            (start.month, start.minutes, stop.month, stop.minutes),
            (3, 60, 10, 120)
        );
        assert_eq!(
            parse_posix("<+0545>-5:45").unwrap(),
            Posix {
                std: 345,
                dst: None
            }
        );
        assert_eq!(
            parse_posix("HST10").unwrap(),
            Posix {
                std: -600,
                dst: None
            }
        );
    }

    /// The POSIX `TZ` string at the end of a TZif v2+ file: the rule for all future years.
    fn tzdata_rule(root: &std::path::Path, iana: &str) -> Result<Posix, String> {
        let bytes = std::fs::read(root.join(iana)).map_err(|err| format!("{iana}: {err}"))?;
        if !bytes.starts_with(b"TZif") || bytes.last() != Some(&b'\n') {
            return Err(format!("{iana}: not a TZif file with a footer"));
        }
        let body = &bytes[..bytes.len() - 1];
        let start = body
            .iter()
            .rposition(|&b| b == b'\n')
            .ok_or(format!("{iana}: no footer"))?;
        let footer = std::str::from_utf8(&body[start + 1..]).map_err(|err| err.to_string())?;
        parse_posix(footer).map_err(|err| format!("{iana}: {err}"))
    }

    // The table against tzdata 2025b as the host has it: every row's standard offset and
    // rule equal the zone's POSIX rule for future years, and every unrepresentable zone's
    // offset and daylight saving are what its message says. Skips (with a message) when the
    // host has no tzdata or an older one; a newer one that changed a rule makes it fail,
    // which is when the table needs a look.
    #[test]
    fn every_row_matches_the_tzdata_rules() {
        let root = std::path::Path::new("/usr/share/zoneinfo");
        let version = std::fs::read_to_string(root.join("tzdata.zi"))
            .ok()
            .and_then(|text| text.lines().next().map(str::to_string))
            .and_then(|line| line.strip_prefix("# version ").map(str::to_string));
        match version {
            Some(version) if version.as_str() >= "2025b" => {}
            other => {
                let why = format!("no tzdata 2025b or later in /usr/share/zoneinfo ({other:?})");
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
                eprintln!("skipping: {why}");
                return;
            }
        }
        let mut problems = Vec::new();
        for row in ZONES {
            let tzdata = match tzdata_rule(root, row.iana) {
                Ok(tzdata) => tzdata,
                Err(err) => {
                    problems.push(err);
                    continue;
                }
            };
            let ours = Posix {
                std: row.utc_offset_minutes,
                dst: row.dst.map(|rule| {
                    let posix = |transition: Transition| PosixRule {
                        month: u32::from(transition.month),
                        week: match transition.week {
                            Week::Last => 5,
                            week => u32::from(week.sip_value()),
                        },
                        weekday: transition.weekday.number_from_sunday(),
                        minutes: i32::from(transition.local_minutes),
                    };
                    (
                        row.utc_offset_minutes + rule.offset_minutes as i32,
                        posix(rule.start),
                        posix(rule.stop),
                    )
                }),
            };
            if ours != tzdata {
                problems.push(format!("{}: table {ours:?}, tzdata {tzdata:?}", row.iana));
            }
        }
        for zone in UNREPRESENTABLE {
            match tzdata_rule(root, zone.iana) {
                Ok(tzdata) => {
                    if tzdata.std != zone.utc_offset_minutes || tzdata.dst.is_some() != zone.has_dst
                    {
                        problems.push(format!(
                            "{}: table {} {}, tzdata {tzdata:?}",
                            zone.iana, zone.utc_offset_minutes, zone.has_dst
                        ));
                    }
                }
                Err(err) => problems.push(err),
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    // What the table covers, for the record (module docs): the zones people have in
    // /etc/localtime in every region the 55 names can show right.
    #[test]
    fn the_table_covers_the_main_zones_of_every_region() {
        for name in [
            "Europe/London",
            "Europe/Paris",
            "Europe/Madrid",
            "Europe/Warsaw",
            "Europe/Moscow",
            "Europe/Istanbul",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Anchorage",
            "Pacific/Honolulu",
            "America/Toronto",
            "America/Halifax",
            "America/St_Johns",
            "America/Mexico_City",
            "America/Bogota",
            "America/Sao_Paulo",
            "America/Argentina/Buenos_Aires",
            "Africa/Lagos",
            "Africa/Johannesburg",
            "Africa/Nairobi",
            "Asia/Dubai",
            "Asia/Karachi",
            "Asia/Kolkata",
            "Asia/Dhaka",
            "Asia/Bangkok",
            "Asia/Shanghai",
            "Asia/Singapore",
            "Asia/Seoul",
            "Australia/Perth",
            "Australia/Adelaide",
            "Australia/Darwin",
            "Australia/Brisbane",
            "Australia/Melbourne",
            "Australia/Hobart",
            "Pacific/Fiji",
        ] {
            if name == "Africa/Lagos" {
                // +01:00 without daylight saving: every +01:00 name has it.
                assert!(resolve(name).is_err());
                continue;
            }
            clock(name);
        }
        assert!(iana_names().count() > 400);
    }
}
