//! Counters of one analysis: nothing is dropped silently.

use crate::capture::{CaptureError, Timestamp};
use crate::net::SkipReason;
use crate::tcp::TcpStats;
use serde::Serialize;
use std::collections::BTreeMap;

/// Places of damage kept in [`Stats::damage`] (each is counted in
/// [`Stats::damaged_places`]).
pub const MAX_DAMAGE_KEPT: usize = 64;

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
    /// Limits of [`AnalyzerConfig`](super::AnalyzerConfig) that this capture reached: how
    /// often each, and where first. Empty when none was (the normal case).
    pub limits: BTreeMap<Limit, LimitHits>,
    /// Damage the reader found in the file and read past (where, what, and where reading
    /// resumed), the first [`MAX_DAMAGE_KEPT`] places; damage that stopped reading is the
    /// report's error instead. Empty for an intact file.
    pub damage: Vec<CaptureError>,
    /// Places the file was damaged and read past, all of them (also beyond those kept).
    pub damaged_places: u64,
    /// Bytes skipped over those places.
    pub damaged_bytes: u64,
    /// Time of the first frame.
    pub first_time: Option<Timestamp>,
    /// Time of the last frame.
    pub last_time: Option<Timestamp>,
}

impl Stats {
    /// Moves the frames held as IPv4 fragments whose datagram was never reassembled from
    /// `ip_fragment` to `ip_fragment_unassembled`, once the analysis is over (the total of
    /// the skipped frames does not change).
    pub(crate) fn settle_fragments(&mut self, unassembled: u64) {
        let held = self
            .skipped
            .get(&SkipReason::IpFragment)
            .copied()
            .unwrap_or(0);
        let moved = unassembled.min(held);
        if moved == 0 {
            return;
        }
        if held == moved {
            self.skipped.remove(&SkipReason::IpFragment);
        } else {
            self.skipped.insert(SkipReason::IpFragment, held - moved);
        }
        *self
            .skipped
            .entry(SkipReason::IpFragmentUnassembled)
            .or_insert(0) += moved;
    }

    /// Sets the counts of the limits whose counters live in other layers (the TCP tracker,
    /// the fragment table) once those are final in `self.tcp` and `self.fragments_evicted`;
    /// first frames already noted are kept. `buffer_cap` and `out_of_order_cap` were noted gap
    /// by gap (with their first frames); the TCP layer's `buffer_cap_hits` counts both its
    /// buffer caps, so the out-of-order count is the rest (a cap hit with nothing to give up
    /// makes no gap).
    pub(crate) fn settle_limits(&mut self, config: &super::AnalyzerConfig) {
        let buffer_caps = self.limits.get(&Limit::BufferCap).map_or(0, |h| h.count);
        let counts = [
            (Limit::FlowsEvicted, self.tcp.evicted_open),
            (
                Limit::OutOfOrderCap,
                self.tcp.buffer_cap_hits.saturating_sub(buffer_caps),
            ),
            (Limit::FragmentsEvicted, self.fragments_evicted),
        ];
        for (limit, count) in counts {
            if count > 0 {
                self.limits.entry(limit).or_default().count = count;
            } else {
                self.limits.remove(&limit);
            }
        }
        for (limit, hits) in &mut self.limits {
            hits.value = limit.value_in(config);
        }
    }

    /// Notes that IPv4 datagrams were dropped from the fragment table by the time `frame` was
    /// decoded (`evicted`: the table's running count).
    pub(crate) fn note_fragments_evicted(&mut self, evicted: u64, frame: u64) {
        if evicted > self.fragments_evicted {
            self.fragments_evicted = evicted;
            self.limits
                .entry(Limit::FragmentsEvicted)
                .or_default()
                .first_frame
                .get_or_insert(frame);
        }
    }

    /// Notes damage the reader read past ([`CaptureError::resumed_at`] is set).
    pub(crate) fn note_damage(&mut self, damage: CaptureError) {
        self.damaged_places += 1;
        self.damaged_bytes = self.damaged_bytes.saturating_add(damage.skipped_bytes());
        if self.damage.len() < MAX_DAMAGE_KEPT {
            self.damage.push(damage);
        }
    }

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

/// A cap on memory or work that an analysis can reach. Each one is a setting of
/// [`AnalyzerConfig`](super::AnalyzerConfig); when reached, data is dropped or not decoded, so
/// the analysis says so (here, and as the `limits-reached` finding). Serialized in snake_case,
/// named after what happened (the TLS and HTTP ones after the decoders' error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `tcp.max_flows`: the flow table was full and an open connection was dropped from it
    /// (its `ending` is `evicted`; later packets of it start a new stream).
    FlowsEvicted,
    /// `tcp.half.max_buffer`: a decoder left more bytes unconsumed than the per-direction
    /// buffer holds; they were dropped as a `buffer_cap` gap.
    BufferCap,
    /// `tcp.half.max_ooo_bytes`: more bytes waited out of order behind a hole than allowed; the
    /// hole was given up as an `out_of_order_cap` gap.
    OutOfOrderCap,
    /// `defrag.max_datagrams` / `defrag.max_age_frames`: an incomplete IPv4 datagram was
    /// dropped from the fragment table (its held fragments are counted as
    /// `ip_fragment_unassembled`).
    FragmentsEvicted,
    /// `tls.max_handshake_message`: a TLS handshake message larger than the cap was skipped.
    HandshakeTooLarge,
    /// `http.max_head_len`: an HTTP head without its end within the cap.
    HeadTooLarge,
    /// `http.max_head_len`: a chunked body's trailer section longer than the cap.
    TrailersTooLarge,
    /// `http.max_headers`: an HTTP head with more header fields than the cap.
    TooManyHeaders,
    /// `http.max_outstanding_requests`: more pipelined requests awaiting responses than the
    /// cap; later responses are not paired (reported once per connection).
    TooManyOutstandingRequests,
    /// `http.max_chunk_line_len`: a chunk-size line longer than the cap.
    ChunkLineTooLong,
}

impl Limit {
    /// Every limit, in serialization order.
    pub const ALL: [Limit; 10] = [
        Limit::FlowsEvicted,
        Limit::BufferCap,
        Limit::OutOfOrderCap,
        Limit::FragmentsEvicted,
        Limit::HandshakeTooLarge,
        Limit::HeadTooLarge,
        Limit::TrailersTooLarge,
        Limit::TooManyHeaders,
        Limit::TooManyOutstandingRequests,
        Limit::ChunkLineTooLong,
    ];

    /// The [`AnalyzerConfig`](super::AnalyzerConfig) field that raises it.
    pub fn setting(self) -> &'static str {
        match self {
            Limit::FlowsEvicted => "tcp.max_flows",
            Limit::BufferCap => "tcp.half.max_buffer",
            Limit::OutOfOrderCap => "tcp.half.max_ooo_bytes",
            Limit::FragmentsEvicted => "defrag.max_datagrams (or defrag.max_age_frames)",
            Limit::HandshakeTooLarge => "tls.max_handshake_message",
            Limit::HeadTooLarge | Limit::TrailersTooLarge => "http.max_head_len",
            Limit::TooManyHeaders => "http.max_headers",
            Limit::TooManyOutstandingRequests => "http.max_outstanding_requests",
            Limit::ChunkLineTooLong => "http.max_chunk_line_len",
        }
    }

    /// Its name in `stats.limits` (and in the `limits-reached` finding's facts).
    pub fn name(self) -> &'static str {
        match self {
            Limit::FlowsEvicted => "flows_evicted",
            Limit::BufferCap => "buffer_cap",
            Limit::OutOfOrderCap => "out_of_order_cap",
            Limit::FragmentsEvicted => "fragments_evicted",
            Limit::HandshakeTooLarge => "handshake_too_large",
            Limit::HeadTooLarge => "head_too_large",
            Limit::TrailersTooLarge => "trailers_too_large",
            Limit::TooManyHeaders => "too_many_headers",
            Limit::TooManyOutstandingRequests => "too_many_outstanding_requests",
            Limit::ChunkLineTooLong => "chunk_line_too_long",
        }
    }

    /// The value of its setting in `config`, as the layer applies it (HTTP limits clamped).
    pub fn value_in(self, config: &super::AnalyzerConfig) -> u64 {
        let value = match self {
            Limit::FlowsEvicted => config.tcp.max_flows.max(1),
            Limit::BufferCap => config.tcp.half.max_buffer,
            Limit::OutOfOrderCap => config.tcp.half.max_ooo_bytes,
            Limit::FragmentsEvicted => config.defrag.max_datagrams.max(1),
            Limit::HandshakeTooLarge => config.tls.max_handshake_message,
            Limit::HeadTooLarge | Limit::TrailersTooLarge => config.http.max_head_len(),
            Limit::TooManyHeaders => config.http.max_headers(),
            Limit::TooManyOutstandingRequests => config.http.max_outstanding_requests(),
            Limit::ChunkLineTooLong => config.http.max_chunk_line_len(),
        };
        u64::try_from(value).unwrap_or(u64::MAX)
    }

    /// What happened each time, as a plural phrase before a count ("open connections ...: 3").
    pub fn describe(self) -> &'static str {
        match self {
            Limit::FlowsEvicted => "open connections dropped from the full flow table",
            Limit::BufferCap => {
                "times a decoder's unconsumed bytes overflowed the stream buffer (bytes dropped)"
            }
            Limit::OutOfOrderCap => "holes given up because too many bytes waited behind them",
            Limit::FragmentsEvicted => "incomplete IPv4 datagrams dropped from the fragment table",
            Limit::HandshakeTooLarge => "TLS handshake messages too large to decode",
            Limit::HeadTooLarge => "HTTP heads too long to decode",
            Limit::TrailersTooLarge => "HTTP trailer sections too long to decode",
            Limit::TooManyHeaders => "HTTP heads with too many header fields",
            Limit::TooManyOutstandingRequests => {
                "HTTP connections with too many unanswered requests (later responses unpaired)"
            }
            Limit::ChunkLineTooLong => "HTTP chunk-size lines too long to decode",
        }
    }
}

/// How often one [`Limit`] was reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LimitHits {
    /// Times it was reached.
    pub count: u64,
    /// The first frame at which it was: the frame whose arrival filled the flow or fragment
    /// table, or the frame of the gap or decoder error it caused. `None` when the layer that
    /// hit it does not say (`out_of_order_cap`).
    pub first_frame: Option<u64>,
    /// The limit in force: bytes, header fields, requests, connections or datagrams (see
    /// [`Limit`]); HTTP limits as clamped by the decoder.
    pub value: u64,
}

impl LimitHits {
    /// Counts one more hit, at `frame` when known.
    pub(crate) fn record(&mut self, frame: Option<u64>) {
        self.count = self.count.saturating_add(1);
        self.first_frame = self.first_frame.or(frame);
    }

    /// Adds the hits of another part of the same capture (e.g. another shard of its flows):
    /// counts add up, the earlier first frame wins.
    pub fn merge(&mut self, other: &LimitHits) {
        self.count = self.count.saturating_add(other.count);
        self.first_frame = match (self.first_frame, other.first_frame) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.value = self.value.max(other.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_hits_add_up_and_keep_the_earliest_frame() {
        let mut a = LimitHits {
            count: 2,
            first_frame: Some(40),
            value: 64,
        };
        a.merge(&LimitHits {
            count: 3,
            first_frame: Some(7),
            value: 64,
        });
        assert_eq!((a.count, a.first_frame), (5, Some(7)));
        a.merge(&LimitHits::default());
        assert_eq!((a.count, a.first_frame), (5, Some(7)));
        let mut b = LimitHits::default();
        b.merge(&LimitHits {
            count: 1,
            first_frame: None,
            value: 1,
        });
        assert_eq!((b.count, b.first_frame, b.value), (1, None, 1));
    }
}
