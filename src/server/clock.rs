//! Time as FTP writes it: RFC 3659's `YYYYMMDDHHMMSS` (MDTM, MFMT, the `modify` fact), the
//! UTC calendar behind it and behind `ls -l`'s date column, and the one fixed time of `--lab`.
//!
//! Written by hand rather than with a date crate: a few lines of arithmetic (Howard Hinnant's
//! calendar algorithms) are all FTP needs, and a student can read them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The one time `--lab` shows for every file: 2000-01-01 00:00:00 UTC.
pub fn lab_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(946_684_800)
}

/// A time as RFC 3659 §2.3 writes it: `YYYYMMDDHHMMSS`, UTC (the reply to MDTM).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use localftp::server::clock::timeval;
/// assert_eq!(timeval(UNIX_EPOCH + Duration::from_secs(1_000_000_000)), "20010909014640");
/// ```
pub fn timeval(time: SystemTime) -> String {
    let c = Civil::from_system_time(time);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// A time as ISO 8601 writes it, UTC, to the second: `2001-09-09T01:46:40Z` (the grade sheet).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use localftp::server::clock::iso8601;
/// assert_eq!(iso8601(UNIX_EPOCH + Duration::from_secs(1_000_000_000)), "2001-09-09T01:46:40Z");
/// ```
pub fn iso8601(time: SystemTime) -> String {
    let c = Civil::from_system_time(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Read `YYYYMMDDHHMMSS` (UTC; a `.sss` fraction is allowed and ignored) into Unix seconds.
///
/// ```
/// use localftp::server::clock::parse_timeval;
/// assert_eq!(parse_timeval("20010909014640"), Some(1_000_000_000));
/// assert_eq!(parse_timeval("20010909014640.123"), Some(1_000_000_000));
/// assert_eq!(parse_timeval("2001090901464"), None);
/// assert_eq!(parse_timeval("20011309014640"), None); // month 13
/// ```
pub fn parse_timeval(text: &str) -> Option<i64> {
    let whole = text.split_once('.').map_or(text, |(whole, _)| whole);
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| whole[range].parse::<i64>().ok();
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // 60 allows a leap second, which RFC 3659 permits.
    if second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// A UTC calendar date and time.
pub(super) struct Civil {
    pub(super) year: i64,
    pub(super) month: u8,
    pub(super) day: u8,
    pub(super) hour: u8,
    pub(super) minute: u8,
    pub(super) second: u8,
}

impl Civil {
    pub(super) fn from_system_time(time: SystemTime) -> Civil {
        let secs = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_secs() as i64,
            Err(before) => -(before.duration().as_secs() as i64),
        };
        let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rest / 3600) as u8,
            minute: (rest % 3600 / 60) as u8,
            second: (rest % 60) as u8,
        }
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
///
/// This is Howard Hinnant's `civil_from_days`: shift the year to start in March so the leap
/// day is the last day of the year, then count 400-year eras of 146,097 days.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * mp + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for days in [
            -800_000, -1, 0, 1, 59, 60, 365, 10_957, 11_016, 20_000, 2_932_896,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
