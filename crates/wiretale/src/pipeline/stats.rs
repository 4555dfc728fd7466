//! Counters of one analysis: nothing is dropped silently.

use crate::capture::Timestamp;
use crate::net::SkipReason;
use crate::tcp::TcpStats;
use serde::Serialize;
use std::collections::BTreeMap;

/// What was read, decoded and skipped. `frames_read == frames_tcp + sum(skipped)`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Packet records read from the file.
    pub frames_read: u64,
    /// Frames analysed as TCP.
    pub frames_tcp: u64,
    /// Frames not analysed, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Captured bytes read.
    pub bytes_captured: u64,
    /// TCP-layer counters (segments, streams, evictions, peak table size).
    pub tcp: TcpStats,
    /// IPv4 datagrams dropped from the fragment table.
    pub fragments_evicted: u64,
    /// Events produced, by protocol.
    pub events: BTreeMap<&'static str, u64>,
    /// Bytes missing from TCP streams (gaps), all connections.
    pub gap_bytes: u64,
    /// Time of the first frame.
    pub first_time: Option<Timestamp>,
    /// Time of the last frame.
    pub last_time: Option<Timestamp>,
}

impl Stats {
    /// Frames skipped for any reason.
    pub fn frames_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Capture duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        match (self.first_time, self.last_time) {
            (Some(a), Some(b)) => b.seconds_since(a).max(0.0),
            _ => 0.0,
        }
    }
}
