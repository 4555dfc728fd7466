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
}
