//! Capture timestamps.

use std::fmt;
use std::time::Duration;

/// A point in time, as seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// `secs` seconds and `nanos` nanoseconds after the epoch (`nanos` over 10^9 carry into the
    /// seconds; the result saturates instead of overflowing).
    pub fn from_unix(secs: u64, nanos: u32) -> Self {
        Timestamp(Duration::from_secs(secs).saturating_add(Duration::from_nanos(u64::from(nanos))))
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0.as_secs()
    }

    /// Nanoseconds within the second (0..10^9).
    pub fn subsec_nanos(self) -> u32 {
        self.0.subsec_nanos()
    }

    /// This time plus `d`, saturating at the largest representable time.
    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(d))
    }

    /// Time elapsed since `earlier` (zero if `earlier` is later).
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// The time in units of 10^-`exponent` seconds, as pcapng's `if_tsresol` counts them.
    /// `None` if `exponent > 9` or the value does not fit 64 bits.
    pub fn in_decimal_units(self, exponent: u8) -> Option<u64> {
        if exponent > 9 {
            return None;
        }
        let per_sec = 10u64.checked_pow(u32::from(exponent))?;
        let nanos_per_unit = 1_000_000_000u64.checked_div(per_sec)?;
        self.secs()
            .checked_mul(per_sec)?
            .checked_add(u64::from(self.subsec_nanos()).checked_div(nanos_per_unit)?)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs(), self.subsec_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_units_truncate_like_pcapng_writers() {
        let t = Timestamp::from_unix(1_700_000_000, 123_456_789);
        assert_eq!(t.in_decimal_units(9), Some(1_700_000_000_123_456_789));
        assert_eq!(t.in_decimal_units(6), Some(1_700_000_000_123_456));
        assert_eq!(t.in_decimal_units(0), Some(1_700_000_000));
        assert_eq!(t.in_decimal_units(10), None);
        assert_eq!(Timestamp::from_unix(u64::MAX, 0).in_decimal_units(9), None);
    }

    #[test]
    fn nanos_carry_and_saturate() {
        assert_eq!(
            Timestamp::from_unix(1, 1_500_000_000),
            Timestamp::from_unix(2, 500_000_000)
        );
        let max = Timestamp::from_unix(u64::MAX, 999_999_999);
        assert_eq!(max.saturating_add(Duration::from_secs(5)), max);
        assert_eq!(t(3).saturating_since(t(5)), Duration::ZERO);
    }

    fn t(s: u64) -> Timestamp {
        Timestamp::from_unix(s, 0)
    }
}
