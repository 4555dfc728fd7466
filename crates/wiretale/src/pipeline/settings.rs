//! The limits of [`AnalyzerConfig`] by name, so a command line (`wiretale story --set NAME=VALUE`)
//! or a configuration file can raise the one a `limits-reached` finding names.

use super::AnalyzerConfig;

/// Every limit that can be set by name, in the order of [`super::Limit::ALL`]'s settings.
pub const SETTINGS: [&str; 10] = [
    "tcp.max_flows",
    "tcp.half.max_buffer",
    "tcp.half.max_ooo_bytes",
    "defrag.max_datagrams",
    "defrag.max_age_frames",
    "tls.max_handshake_message",
    "http.max_head_len",
    "http.max_headers",
    "http.max_outstanding_requests",
    "http.max_chunk_line_len",
];

/// A setting that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// No limit has that name.
    #[error("unknown setting {0:?} (settings: {list})", list = SETTINGS.join(", "))]
    Unknown(String),
    /// The value is not a count or size.
    #[error("{name}: {value:?} is not a number (e.g. 5000, 64K, 16M, 1G)")]
    NotANumber {
        /// The setting.
        name: String,
        /// What was given.
        value: String,
    },
    /// Zero (every limit needs room for at least one item or byte).
    #[error("{0} must be at least 1")]
    Zero(String),
    /// Outside the range the decoder accepts (it would clamp the value).
    #[error("{name} must be from {min} to {max}")]
    OutOfRange {
        /// The setting.
        name: String,
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
    },
}

impl AnalyzerConfig {
    /// Sets the limit `name` (one of [`SETTINGS`]) to `value`.
    ///
    /// ```
    /// use wiretale::pipeline::AnalyzerConfig;
    ///
    /// let mut config = AnalyzerConfig::default();
    /// config.set("tls.max_handshake_message", 1 << 20)?;
    /// assert_eq!(config.tls.max_handshake_message, 1 << 20);
    /// assert!(config.set("tls.max_cats", 3).is_err());
    /// # Ok::<(), wiretale::pipeline::SettingError>(())
    /// ```
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), SettingError> {
        if value == 0 {
            return Err(SettingError::Zero(name.to_string()));
        }
        // Beyond the address space, as large as it gets.
        let size = usize::try_from(value).unwrap_or(usize::MAX);
        let previous_http = self.http.clone();
        match name {
            "tcp.max_flows" => self.tcp.max_flows = size,
            "tcp.half.max_buffer" => self.tcp.half.max_buffer = size,
            "tcp.half.max_ooo_bytes" => self.tcp.half.max_ooo_bytes = size,
            "defrag.max_datagrams" => self.defrag.max_datagrams = size,
            "defrag.max_age_frames" => self.defrag.max_age_frames = value,
            "tls.max_handshake_message" => self.tls.max_handshake_message = size,
            "http.max_head_len" => self.http.max_head_len = size,
            "http.max_headers" => self.http.max_headers = size,
            "http.max_outstanding_requests" => self.http.max_outstanding_requests = size,
            "http.max_chunk_line_len" => self.http.max_chunk_line_len = size,
            _ => return Err(SettingError::Unknown(name.to_string())),
        }
        // The HTTP decoder clamps its limits: say so rather than use another value.
        let in_force = match name {
            "http.max_head_len" => self.http.max_head_len(),
            "http.max_headers" => self.http.max_headers(),
            "http.max_outstanding_requests" => self.http.max_outstanding_requests(),
            "http.max_chunk_line_len" => self.http.max_chunk_line_len(),
            _ => size,
        };
        if in_force != size {
            let mut probe = self.http.clone();
            probe.max_head_len = 0;
            probe.max_headers = 0;
            probe.max_outstanding_requests = 0;
            probe.max_chunk_line_len = 0;
            let min = self.get_clamped(&probe, name);
            probe.max_head_len = usize::MAX;
            probe.max_headers = usize::MAX;
            probe.max_outstanding_requests = usize::MAX;
            probe.max_chunk_line_len = usize::MAX;
            let max = self.get_clamped(&probe, name);
            self.http = previous_http;
            return Err(SettingError::OutOfRange {
                name: name.to_string(),
                min,
                max,
            });
        }
        Ok(())
    }

    /// The HTTP limit `name` as the decoder applies it under `http`.
    fn get_clamped(&self, http: &crate::proto::http::HttpConfig, name: &str) -> u64 {
        let v = match name {
            "http.max_head_len" => http.max_head_len(),
            "http.max_headers" => http.max_headers(),
            "http.max_outstanding_requests" => http.max_outstanding_requests(),
            _ => http.max_chunk_line_len(),
        };
        u64::try_from(v).unwrap_or(u64::MAX)
    }

    /// The value of the limit `name` (one of [`SETTINGS`]).
    pub fn get(&self, name: &str) -> Option<u64> {
        let size = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        Some(match name {
            "tcp.max_flows" => size(self.tcp.max_flows),
            "tcp.half.max_buffer" => size(self.tcp.half.max_buffer),
            "tcp.half.max_ooo_bytes" => size(self.tcp.half.max_ooo_bytes),
            "defrag.max_datagrams" => size(self.defrag.max_datagrams),
            "defrag.max_age_frames" => self.defrag.max_age_frames,
            "tls.max_handshake_message" => size(self.tls.max_handshake_message),
            "http.max_head_len" => size(self.http.max_head_len),
            "http.max_headers" => size(self.http.max_headers),
            "http.max_outstanding_requests" => size(self.http.max_outstanding_requests),
            "http.max_chunk_line_len" => size(self.http.max_chunk_line_len),
            _ => return None,
        })
    }

    /// Applies `NAME=VALUE`, where VALUE is a count or a size with an optional binary suffix
    /// (`K`, `M`, `G`: KiB, MiB, GiB).
    ///
    /// ```
    /// use wiretale::pipeline::AnalyzerConfig;
    ///
    /// let mut config = AnalyzerConfig::default();
    /// config.set_from_str("http.max_head_len=256K")?;
    /// assert_eq!(config.http.max_head_len, 256 * 1024);
    /// # Ok::<(), wiretale::pipeline::SettingError>(())
    /// ```
    pub fn set_from_str(&mut self, spec: &str) -> Result<(), SettingError> {
        let (name, value) = spec.split_once('=').unwrap_or((spec, ""));
        let name = name.trim();
        if self.get(name).is_none() {
            return Err(SettingError::Unknown(name.to_string()));
        }
        let number = parse_size(value).ok_or_else(|| SettingError::NotANumber {
            name: name.to_string(),
            value: value.to_string(),
        })?;
        self.set(name, number)
    }
}

/// `5000`, `64K`, `16M`, `1G` (binary multiples, case-insensitive, optional `B`/`iB`).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, suffix) = lower.split_at(digits_end);
    let number: u64 = digits.parse().ok()?;
    let shift = match suffix.trim() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    number.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Limit;

    #[test]
    fn every_setting_can_be_read_and_set() {
        let mut config = AnalyzerConfig::default();
        for (i, name) in SETTINGS.iter().enumerate() {
            assert!(config.get(name).is_some_and(|v| v > 0), "{name}");
            let value = 1000 + i as u64;
            config.set(name, value).unwrap();
            assert_eq!(config.get(name), Some(value), "{name}");
        }
    }

    #[test]
    fn every_limit_names_settings_that_exist() {
        for limit in Limit::ALL {
            let named = SETTINGS
                .iter()
                .filter(|s| limit.setting().contains(*s))
                .count();
            assert!(named >= 1, "{limit:?} names {}", limit.setting());
        }
    }

    #[test]
    fn sizes_and_errors() {
        assert_eq!(parse_size("5000"), Some(5000));
        assert_eq!(parse_size("64K"), Some(65536));
        assert_eq!(parse_size("16MiB"), Some(16 << 20));
        assert_eq!(parse_size(" 1g "), Some(1 << 30));
        assert_eq!(parse_size("1.5M"), None);
        assert_eq!(parse_size("99999999999999999999"), None);
        assert_eq!(parse_size("18446744073709551615G"), None);
        let mut config = AnalyzerConfig::default();
        assert!(matches!(
            config.set_from_str("tcp.max_flows=lots"),
            Err(SettingError::NotANumber { .. })
        ));
        assert!(matches!(
            config.set_from_str("tcp.max_flows"),
            Err(SettingError::NotANumber { .. })
        ));
        assert_eq!(
            config.set_from_str("tcp.max_flows=0"),
            Err(SettingError::Zero("tcp.max_flows".into()))
        );
        assert!(matches!(
            config.set_from_str("max_flows=10"),
            Err(SettingError::Unknown(_))
        ));
        config.set_from_str("tcp.max_flows = 10").unwrap();
        assert_eq!(config.tcp.max_flows, 10);
        assert_eq!(
            config.set_from_str("http.max_head_len=1G"),
            Err(SettingError::OutOfRange {
                name: "http.max_head_len".into(),
                min: 64,
                max: 16 << 20
            })
        );
        assert_eq!(config.http.max_head_len, 64 * 1024, "unchanged by an error");
        config.set_from_str("http.max_head_len=16M").unwrap();
    }
}
