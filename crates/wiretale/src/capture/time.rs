//! Capture timestamps.

use serde::{Serialize, Serializer};
use std::fmt;

/// A capture timestamp: seconds since the Unix epoch plus nanoseconds.
///
/// Serialized as epoch seconds (a float), like tshark's `frame.time_epoch`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since the epoch.
    pub secs: i64,
    /// Nanoseconds within the second (0..1e9).
    pub nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp from whole seconds and a fraction counted in `per_second` units.
    pub fn from_parts(secs: i64, fraction: u64, per_second: u64) -> Self {
        let per_second = per_second.max(1);
        // Fractions at or above one second (malformed files) carry into the seconds.
        let carry = fraction / per_second;
        let fraction = fraction % per_second;
        let nanos = (u128::from(fraction) * 1_000_000_000 / u128::from(per_second)) as u32;
        Timestamp {
            secs: secs.saturating_add(i64::try_from(carry).unwrap_or(i64::MAX)),
            nanos,
        }
    }

    /// Seconds since the epoch as a float.
    pub fn as_secs_f64(&self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// `self - earlier` in seconds (negative when `earlier` is later).
    pub fn seconds_since(&self, earlier: Timestamp) -> f64 {
        (self.secs.saturating_sub(earlier.secs)) as f64
            + (f64::from(self.nanos) - f64::from(earlier.nanos)) / 1e9
    }

    /// This time moved back by `secs` seconds, rounded to the nanosecond (the inverse of
    /// [`Timestamp::seconds_since`] up to that rounding). A negative or non-finite `secs`
    /// leaves it as it is.
    pub(crate) fn minus_secs(self, secs: f64) -> Timestamp {
        if !(secs.is_finite() && secs > 0.0) {
            return self;
        }
        const NANOS: i128 = 1_000_000_000;
        let total = i128::from(self.secs) * NANOS + i128::from(self.nanos);
        // `as` saturates: a span beyond i128 nanoseconds is not a capture's.
        let back = total.saturating_sub((secs * 1e9).round() as i128);
        Timestamp {
            secs: i64::try_from(back.div_euclid(NANOS)).unwrap_or(i64::MIN),
            nanos: back.rem_euclid(NANOS) as u32,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_scale_to_nanoseconds() {
        assert_eq!(
            Timestamp::from_parts(5, 250_000, 1_000_000).nanos,
            250_000_000
        );
        assert_eq!(Timestamp::from_parts(5, 7, 1_000_000_000).nanos, 7);
        let t = Timestamp::from_parts(5, 1_500_000, 1_000_000);
        assert_eq!((t.secs, t.nanos), (6, 500_000_000));
    }

    #[test]
    fn difference_in_seconds() {
        let a = Timestamp::from_parts(10, 0, 1);
        let b = Timestamp::from_parts(40, 100_000, 1_000_000);
        assert!((b.seconds_since(a) - 30.1).abs() < 1e-9);
        assert!((a.seconds_since(b) + 30.1).abs() < 1e-9);
    }

    #[test]
    fn moving_back_undoes_seconds_since() {
        let end = Timestamp::from_parts(1_709_629_230, 5_000, 1_000_000);
        let last = Timestamp::from_parts(1_709_629_210, 9_000, 1_000_000);
        assert_eq!(end.minus_secs(end.seconds_since(last)), last);
        // Across a second boundary, and before the epoch.
        let t = Timestamp::from_parts(0, 100, 1_000_000_000);
        let back = t.minus_secs(0.5);
        assert_eq!((back.secs, back.nanos), (-1, 500_000_100));
        for odd in [-1.0, 0.0, f64::NAN, f64::INFINITY] {
            assert_eq!(t.minus_secs(odd), t);
        }
        let far = Timestamp::from_parts(i64::MIN + 1, 0, 1).minus_secs(1e300);
        assert_eq!(far.secs, i64::MIN);
    }
}
