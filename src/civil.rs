//! Calendar arithmetic on the proleptic Gregorian calendar, in days since 1970-01-01
//! (Howard Hinnant's `days_from_civil` and `civil_from_days`). Pure; used by the log and
//! lease parsers to read dates and by the log sink to write them.

/// Days since 1970-01-01 of a date. `month` is 1–12; the day is not checked.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day counted from 1970-01-01: `(year, month 1–12, day 1–31)`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // The era starts on 1 March: January and February belong to the next civil year.
    let march_based_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * march_based_month + 2) / 5 + 1) as u32;
    let month = if march_based_month < 10 {
        march_based_month + 3
    } else {
        march_based_month - 9
    } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days() {
        for (year, month, day, days) in [
            (1970, 1, 1, 0),
            (1969, 12, 31, -1),
            (2000, 2, 29, 11_016),
            (2000, 3, 1, 11_017),
            (2026, 11, 21, 20_778),
            (2100, 3, 1, 47_541),
            (1600, 1, 1, -135_140),
        ] {
            assert_eq!(
                days_from_civil(year, month, day),
                days,
                "{year}-{month}-{day}"
            );
            assert_eq!(civil_from_days(days), (year, month, day), "{days}");
        }
    }

    /// Every day from 1900 to 2200 round-trips.
    #[test]
    fn round_trip() {
        let first = days_from_civil(1900, 1, 1);
        let last = days_from_civil(2200, 1, 1);
        let mut expected = (1900, 1, 1);
        for days in first..last {
            let date = civil_from_days(days);
            assert_eq!(date, expected, "{days}");
            assert_eq!(days_from_civil(date.0, date.1, date.2), days);
            let (year, month, day) = date;
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let month_days = match month {
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => 31,
            };
            expected = if day < month_days {
                (year, month, day + 1)
            } else if month < 12 {
                (year, month + 1, 1)
            } else {
                (year + 1, 1, 1)
            };
        }
    }
}
