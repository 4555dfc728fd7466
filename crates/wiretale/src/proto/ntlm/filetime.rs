//! Windows FILETIME (100-nanosecond ticks since 1601-01-01 UTC) as Unix time and ISO 8601.

/// Seconds from 1601-01-01 to 1970-01-01.
const SECONDS_1601_TO_1970: i64 = 11_644_473_600;
const TICKS_PER_SECOND: u64 = 10_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// A FILETIME value, with the same instant in friendlier forms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileTime {
    /// The 64-bit value as sent.
    pub raw: u64,
    /// Whole seconds since 1970-01-01 UTC (negative before 1970).
    pub unix_seconds: i64,
    /// The instant in UTC, to the 100 ns tick, e.g. `2024-07-11T08:29:38.6453538Z`.
    pub iso8601: String,
}

impl FileTime {
    /// Converts a raw FILETIME. Every u64 converts: the largest is in year 60056.
    pub fn from_raw(raw: u64) -> Self {
        // Both quotients are far below i64::MAX (u64::MAX / 10^7 < 2^41), so the casts and the
        // arithmetic below cannot overflow.
        let seconds_since_1601 = (raw / TICKS_PER_SECOND) as i64;
        let ticks = raw % TICKS_PER_SECOND;
        let unix_seconds = seconds_since_1601 - SECONDS_1601_TO_1970;
        let days = unix_seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = unix_seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let iso8601 = format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ticks:07}Z",
            second_of_day / 3600,
            second_of_day % 3600 / 60,
            second_of_day % 60
        );
        FileTime {
            raw,
            unix_seconds,
            iso8601,
        }
    }
}

/// Proleptic Gregorian (year, month, day) of a day count from 1970-01-01 (H. Hinnant's
/// `civil_from_days`). Valid for any `days` within ±2^50.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is 1..=12 and day 1..=31 by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs() {
        let start = FileTime::from_raw(0);
        assert_eq!(start.iso8601, "1601-01-01T00:00:00.0000000Z");
        assert_eq!(start.unix_seconds, -SECONDS_1601_TO_1970);
        let unix = FileTime::from_raw(116_444_736_000_000_000);
        assert_eq!(unix.unix_seconds, 0);
        assert_eq!(unix.iso8601, "1970-01-01T00:00:00.0000000Z");
    }

    #[test]
    fn leap_day_and_extremes() {
        // 2024-02-29T12:00:00Z = Unix 1709208000.
        let raw = (1_709_208_000 + 11_644_473_600) * 10_000_000 + 1;
        let t = FileTime::from_raw(raw);
        assert_eq!(t.iso8601, "2024-02-29T12:00:00.0000001Z");
        assert_eq!(t.unix_seconds, 1_709_208_000);
        assert_eq!(
            FileTime::from_raw(u64::MAX).iso8601,
            "60056-05-28T05:36:10.9551615Z"
        );
    }
}
