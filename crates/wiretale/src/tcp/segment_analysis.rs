//! tshark's TCP sequence analysis, for frame listings: the expert markers Wireshark's
//! `tcp_analyze_sequence_number` (`epan/dissectors/packet-tcp.c`) sets on a segment —
//! `[TCP Window Update]`, `[TCP Dup ACK 8#1]`, `[TCP Retransmission]`, ... — computed by its
//! rules on the same per-direction state (absolute sequence numbers, 0 meaning "not seen yet",
//! the raw window field), so that a frame listing agrees with tshark's Info column frame for
//! frame. Checked against tshark 4.0.17 on every capture of the corpus and on the scenarios
//! of the tests below; what still differs is in `docs/known-differences.md`.
//!
//! The state ([`SeqAnalyzer`]) exists only for a handler that wants segment details
//! ([`super::StreamHandler::wants_segment_details`]): it is allocated once per connection then,
//! and never otherwise, so the story's hot path neither stores nor updates it.

use super::flow_table::{is_low, FlowKey};
use super::ConnInfo;
use crate::capture::Timestamp;
use crate::net::{Segment, TcpFlags};
use std::collections::{HashMap, VecDeque};

/// One of tshark's TCP analysis markers. The variants are in the order tshark prints them at
/// the head of the Info column (`[TCP ZeroWindow] [TCP Previous segment not captured] ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marker {
    /// A zero-window ACK answering a zero-window probe (`[TCP ZeroWindowProbeAck]`).
    ZeroWindowProbeAck,
    /// The window is zero and none of SYN, FIN, RST is set (`[TCP ZeroWindow]`).
    ZeroWindow,
    /// One byte at the next sequence number while the peer's window is zero
    /// (`[TCP ZeroWindowProbe]`).
    ZeroWindowProbe,
    /// A pure ACK repeating the previous one with the same window (`[TCP Dup ACK F#N]`, with
    /// [`SegmentAnalysis::dup_ack`]).
    DuplicateAck,
    /// A pure ACK answering a keep-alive (`[TCP Keep-Alive ACK]`).
    KeepAliveAck,
    /// No byte or one at the next sequence number minus one (`[TCP Keep-Alive]`).
    KeepAlive,
    /// The data reaches the right edge of the window the peer advertised (`[TCP Window Full]`).
    WindowFull,
    /// A pure ACK repeating the previous one with another (non-zero) window
    /// (`[TCP Window Update]`).
    WindowUpdate,
    /// The segment acknowledges bytes the capture never saw (`[TCP ACKed unseen segment]`).
    AckedUnseenSegment,
    /// The segment starts past the next expected sequence number (`[TCP Previous segment not
    /// captured]`).
    PreviousSegmentNotCaptured,
    /// Sent again soon after the highest sequence number so far, not by a timeout
    /// (`[TCP Out-Of-Order]`).
    OutOfOrder,
    /// Data the peer had already acknowledged (`[TCP Spurious Retransmission]`).
    SpuriousRetransmission,
    /// Sent again right after the peer's second duplicate ACK asking for it
    /// (`[TCP Fast Retransmission]`).
    FastRetransmission,
    /// Sent again: the sequence number does not advance (`[TCP Retransmission]`).
    Retransmission,
    /// A SYN (or SYN-ACK) with a new initial sequence number on a known address and port
    /// pair: a new connection (`[TCP Port numbers reused]`).
    PortNumbersReused,
}

impl Marker {
    /// Every marker, in the order tshark prints them.
    pub const ALL: [Marker; 15] = [
        Marker::ZeroWindowProbeAck,
        Marker::ZeroWindow,
        Marker::ZeroWindowProbe,
        Marker::DuplicateAck,
        Marker::KeepAliveAck,
        Marker::KeepAlive,
        Marker::WindowFull,
        Marker::WindowUpdate,
        Marker::AckedUnseenSegment,
        Marker::PreviousSegmentNotCaptured,
        Marker::OutOfOrder,
        Marker::SpuriousRetransmission,
        Marker::FastRetransmission,
        Marker::Retransmission,
        Marker::PortNumbersReused,
    ];

    fn bit(self) -> u16 {
        1 << self as u16
    }

    /// tshark's field for it, without the `tcp.analysis.` prefix (`zero_window`,
    /// `duplicate_ack`, `lost_segment`, `ack_lost_segment`, `reused_ports`, ...).
    pub fn field_name(self) -> &'static str {
        match self {
            Marker::ZeroWindowProbeAck => "zero_window_probe_ack",
            Marker::ZeroWindow => "zero_window",
            Marker::ZeroWindowProbe => "zero_window_probe",
            Marker::DuplicateAck => "duplicate_ack",
            Marker::KeepAliveAck => "keep_alive_ack",
            Marker::KeepAlive => "keep_alive",
            Marker::WindowFull => "window_full",
            Marker::WindowUpdate => "window_update",
            Marker::AckedUnseenSegment => "ack_lost_segment",
            Marker::PreviousSegmentNotCaptured => "lost_segment",
            Marker::OutOfOrder => "out_of_order",
            Marker::SpuriousRetransmission => "spurious_retransmission",
            Marker::FastRetransmission => "fast_retransmission",
            Marker::Retransmission => "retransmission",
            Marker::PortNumbersReused => "reused_ports",
        }
    }

    /// The text tshark puts between the brackets (`TCP Window Update`); for
    /// [`Marker::DuplicateAck`] without its numbers (`TCP Dup ACK`).
    pub fn label(self) -> &'static str {
        match self {
            Marker::ZeroWindowProbeAck => "TCP ZeroWindowProbeAck",
            Marker::ZeroWindow => "TCP ZeroWindow",
            Marker::ZeroWindowProbe => "TCP ZeroWindowProbe",
            Marker::DuplicateAck => "TCP Dup ACK",
            Marker::KeepAliveAck => "TCP Keep-Alive ACK",
            Marker::KeepAlive => "TCP Keep-Alive",
            Marker::WindowFull => "TCP Window Full",
            Marker::WindowUpdate => "TCP Window Update",
            Marker::AckedUnseenSegment => "TCP ACKed unseen segment",
            Marker::PreviousSegmentNotCaptured => "TCP Previous segment not captured",
            Marker::OutOfOrder => "TCP Out-Of-Order",
            Marker::SpuriousRetransmission => "TCP Spurious Retransmission",
            Marker::FastRetransmission => "TCP Fast Retransmission",
            Marker::Retransmission => "TCP Retransmission",
            Marker::PortNumbersReused => "TCP Port numbers reused",
        }
    }
}

/// A duplicate ACK's numbers, as tshark prints them in `[TCP Dup ACK 8#2]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DupAck {
    /// The last frame of this direction whose acknowledgment number differed from the one
    /// before it: the ACK this one duplicates (`8`).
    pub frame: u64,
    /// How many times in a row it was duplicated, counting this one (`2`).
    pub number: u32,
}

/// What tshark's TCP analysis says of one segment: its markers, in tshark's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentAnalysis {
    markers: u16,
    dup_ack_number: u32,
    dup_ack_frame: u64,
}

impl SegmentAnalysis {
    /// Whether `marker` is set.
    pub fn has(&self, marker: Marker) -> bool {
        self.markers & marker.bit() != 0
    }

    /// Whether no marker is set.
    pub fn is_empty(&self) -> bool {
        self.markers == 0
    }

    /// The markers set, in the order tshark prints them.
    pub fn markers(&self) -> impl Iterator<Item = Marker> + '_ {
        Marker::ALL.into_iter().filter(|m| self.has(*m))
    }

    /// The duplicate ACK's numbers, when [`Marker::DuplicateAck`] is set.
    pub fn dup_ack(&self) -> Option<DupAck> {
        self.has(Marker::DuplicateAck).then_some(DupAck {
            frame: self.dup_ack_frame,
            number: self.dup_ack_number,
        })
    }

    /// Sets `marker`.
    pub fn set(&mut self, marker: Marker) {
        self.markers |= marker.bit();
    }

    /// Appends tshark's Info prefix: `[TCP ...] ` per marker, in tshark's order (nothing
    /// when no marker is set).
    pub fn push_info_prefix(&self, out: &mut String) {
        for marker in self.markers() {
            out.push('[');
            out.push_str(marker.label());
            if let Some(dup) = self.dup_ack().filter(|_| marker == Marker::DuplicateAck) {
                out.push(' ');
                out.push_str(itoa::Buffer::new().format(dup.frame));
                out.push('#');
                out.push_str(itoa::Buffer::new().format(dup.number));
            }
            out.push_str("] ");
        }
    }

    fn set_dup_ack(&mut self, frame: u64, number: u32) {
        self.set(Marker::DuplicateAck);
        self.dup_ack_frame = frame;
        self.dup_ack_number = number;
    }
}

/// What the analysis reads of one segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentFacts {
    /// Frame number.
    pub frame: u64,
    /// Capture time.
    pub time: Timestamp,
    /// Sequence number (absolute).
    pub seq: u32,
    /// Acknowledgment field (absolute; read whether or not ACK is set, as tshark does).
    pub ack: u32,
    /// Payload length on the wire (`tcp.len`).
    pub len: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// The window field, unscaled.
    pub window: u16,
    /// A SYN's window-scale option (`None` on other segments or without one).
    pub window_scale: Option<u8>,
}

/// What tshark knows of a direction's window scaling (its `win_scale`: -1, -2 or the shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum WinScale {
    /// No SYN seen (-1).
    #[default]
    Unknown,
    /// The handshake did not agree on scaling (-2).
    NotUsed,
    /// The shift its SYN announced.
    Shift(u8),
}

/// One direction's state, tshark's `tcp_flow_t` and `tcp_analyze_seq_flow_info_t` fields
/// that the markers read.
#[derive(Debug, Clone, Copy)]
struct DirState {
    /// `base_seq`, when set (`TCP_S_BASE_SEQ_SET`).
    base_seq: Option<u32>,
    /// The highest sequence number seen plus its length (0: none yet).
    nextseq: u32,
    nextseq_time: Timestamp,
    /// The highest sequence number seen in order (0: none yet).
    maxseqtobeacked: u32,
    /// The last acknowledgment field sent.
    lastack: u32,
    lastack_time: Timestamp,
    /// The last window field sent (unscaled; `u32::MAX` before any).
    window: u32,
    /// Duplicate ACKs in a row; -1 after an ACK of unseen bytes (tshark's neutralisation).
    dupacknum: i32,
    /// The last frame whose acknowledgment number changed.
    lastnondupack: u64,
    /// The markers of the last segment sent (only keep-alive and zero-window probe are read).
    last_markers: SegmentAnalysis,
    win_scale: WinScale,
    /// A SYN was sent and no pure ACK since (the scale does not apply yet).
    is_first_ack: bool,
}

impl Default for DirState {
    fn default() -> Self {
        DirState {
            base_seq: None,
            nextseq: 0,
            nextseq_time: Timestamp::default(),
            maxseqtobeacked: 0,
            lastack: 0,
            lastack_time: Timestamp::default(),
            window: u32::MAX,
            dupacknum: 0,
            lastnondupack: 0,
            last_markers: SegmentAnalysis::default(),
            win_scale: WinScale::Unknown,
            is_first_ack: false,
        }
    }
}

/// tshark's `GT_SEQ(a, b)`: `a` after `b`, modulo 2^32.
fn gt_seq(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

/// tshark's `LT_SEQ(a, b)`.
fn lt_seq(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// tshark's `LE_SEQ(a, b)`.
fn le_seq(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) >= 0
}

/// Nanoseconds from `earlier` to `later` as tshark's unsigned arithmetic has them: a negative
/// span wraps to a huge number (so it is never "within" a threshold).
fn span_ns(later: Timestamp, earlier: Timestamp) -> u64 {
    let secs = later.secs.wrapping_sub(earlier.secs);
    let nanos = i64::from(later.nanos) - i64::from(earlier.nanos);
    secs.wrapping_mul(1_000_000_000).wrapping_add(nanos) as u64
}

fn is_zero(t: Timestamp) -> bool {
    t.secs == 0 && t.nanos == 0
}

/// A duplicate ACK and the sequence number it asks for, within this of a segment: a fast
/// retransmission (tshark: 20 ms).
const FAST_RETRANSMISSION_NS: u64 = 20_000_000;
/// Without a handshake's round-trip time, a segment sent again within this of the highest one
/// is out of order (tshark: 3 ms).
const DEFAULT_OUT_OF_ORDER_NS: u64 = 3_000_000;

/// tshark's sequence analysis state of one connection (both directions).
#[derive(Debug, Default)]
pub(crate) struct SeqAnalyzer {
    dirs: [DirState; 2],
    /// The time of the most recent pure SYN (`ts_mru_syn`; zero: none).
    mru_syn: Timestamp,
    /// The handshake's round-trip time, SYN to the first pure ACK, in nanoseconds as tshark's
    /// unsigned arithmetic has it (`ts_first_rtt`; zero: none).
    first_rtt_ns: u64,
}

impl SeqAnalyzer {
    /// Analyses one segment sent in direction `dir` (0: to the server, 1: to the client; any
    /// fixed numbering of the two) and updates the state, as tshark's first pass does.
    pub(crate) fn segment(&mut self, dir: usize, s: &SegmentFacts) -> SegmentAnalysis {
        let [a, b] = &mut self.dirs;
        let (fwd, rev) = if dir == 0 { (a, b) } else { (b, a) };
        let mut ta = SegmentAnalysis::default();
        let (seq, ack, len, flags) = (s.seq, s.ack, s.len, s.flags);
        let window = u32::from(s.window);
        let syn_fin_rst = flags.0 & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) != 0;
        let pure_ack = flags.0 & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::ACK;

        // A SYN-ACK with another initial sequence number than the one its side was first
        // seen with (dissect_tcp): a new connection on the same ports; its numbers count from
        // here. (A pure SYN of that kind starts a new stream: see `TcpTracker::segment`.)
        if flags.syn() && flags.ack() {
            if let Some(base) = fwd.base_seq {
                if base != seq {
                    fwd.base_seq = Some(seq);
                    ta.set(Marker::PortNumbersReused);
                }
            }
        }
        if fwd.base_seq.is_none() {
            fwd.base_seq = Some(if flags.syn() {
                seq
            } else {
                seq.wrapping_sub(1)
            });
        }
        if rev.base_seq.is_none() && flags.ack() {
            rev.base_seq = Some(ack.wrapping_sub(1));
        }

        Self::forward_checks(fwd, rev, s, &mut ta, window, syn_fin_rst);

        // "finished_fwd": the duplicate-ACK count restarts when the acknowledgment moves.
        if ack != fwd.lastack {
            fwd.lastnondupack = s.frame;
            fwd.dupacknum = 0;
        }

        // ACKED LOST PACKET: beyond what the other direction was seen sending in order.
        if rev.maxseqtobeacked != 0 && gt_seq(ack, rev.maxseqtobeacked) && flags.ack() {
            // tshark 4.0 compares so (plainly, not in sequence space; later versions the
            // other way round): bytes seen beyond the hole count as seen from now on.
            if rev.maxseqtobeacked < rev.nextseq {
                rev.maxseqtobeacked = rev.nextseq;
                ta.set(Marker::AckedUnseenSegment);
            } else {
                // Told once per run of such ACKs: the next duplicate-ACK count starts over.
                if rev.dupacknum == 0 {
                    ta.set(Marker::AckedUnseenSegment);
                }
                rev.dupacknum = -1;
            }
        }

        if len > 0 || flags.0 & (TcpFlags::SYN | TcpFlags::FIN) != 0 {
            self.retransmission_kind(dir, s, &mut ta);
        }
        let [a, b] = &mut self.dirs;
        let fwd = if dir == 0 { a } else { b };

        // "finished_checking_retransmission_type": the highest sequence number so far.
        let mut nextseq = seq.wrapping_add(len);
        if flags.0 & (TcpFlags::SYN | TcpFlags::FIN) != 0 {
            nextseq = nextseq.wrapping_add(1);
        }
        let probe = ta.has(Marker::ZeroWindowProbe);
        if (gt_seq(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !probe {
            fwd.nextseq = nextseq;
            fwd.nextseq_time = s.time;
        }
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && !probe {
            fwd.maxseqtobeacked = fwd.nextseq;
        }
        fwd.window = window;
        fwd.lastack = ack;
        fwd.lastack_time = s.time;
        fwd.last_markers = ta;

        // What dissect_tcp notes after the analysis, for the segments to come.
        if flags.syn() {
            if !flags.ack() {
                self.mru_syn = s.time;
            }
            fwd.is_first_ack = true;
        }
        if pure_ack && !is_zero(self.mru_syn) && self.first_rtt_ns == 0 {
            self.first_rtt_ns = span_ns(s.time, self.mru_syn);
        }
        if pure_ack {
            fwd.is_first_ack = false;
        }
        if flags.syn() {
            if let Some(shift) = s.window_scale {
                fwd.win_scale = WinScale::Shift(shift.min(14));
            }
            // verify_tcp_window_scaling
            let [a, b] = &mut self.dirs;
            let (fwd, rev) = if dir == 0 { (a, b) } else { (b, a) };
            if fwd.win_scale == WinScale::Unknown {
                fwd.win_scale = WinScale::NotUsed;
                rev.win_scale = WinScale::NotUsed;
            } else if flags.ack() && rev.win_scale == WinScale::NotUsed {
                fwd.win_scale = WinScale::NotUsed;
            }
        }
        ta
    }

    /// tshark's checks up to its `finished_fwd` label: probes, zero window, lost segment,
    /// keep-alive, window update and full, keep-alive ACK, zero-window probe ACK, duplicate
    /// ACK (each `goto finished_fwd` skips the ones after it).
    fn forward_checks(
        fwd: &mut DirState,
        rev: &DirState,
        s: &SegmentFacts,
        ta: &mut SegmentAnalysis,
        window: u32,
        syn_fin_rst: bool,
    ) {
        let (seq, ack, len, flags) = (s.seq, s.ack, s.len, s.flags);
        if len == 1 && seq == fwd.nextseq && rev.window == 0 {
            ta.set(Marker::ZeroWindowProbe);
            return;
        }
        if window == 0 && !syn_fin_rst {
            ta.set(Marker::ZeroWindow);
        }
        if fwd.nextseq != 0 && gt_seq(seq, fwd.nextseq) && !flags.rst() {
            ta.set(Marker::PreviousSegmentNotCaptured);
        }
        if len <= 1 && seq == fwd.nextseq.wrapping_sub(1) && !syn_fin_rst {
            ta.set(Marker::KeepAlive);
        }
        let repeats = len == 0 && seq == fwd.nextseq && ack == fwd.lastack && !syn_fin_rst;
        if repeats && window != 0 && window != fwd.window {
            ta.set(Marker::WindowUpdate);
        }
        if len > 0 && rev.win_scale != WinScale::Unknown && !syn_fin_rst {
            let shift = match rev.win_scale {
                WinScale::Shift(shift) if !rev.is_first_ack => u32::from(shift),
                _ => 0,
            };
            let edge = rev.lastack.wrapping_add(rev.window.wrapping_shl(shift));
            if seq.wrapping_add(len) == edge {
                ta.set(Marker::WindowFull);
            }
        }
        if repeats && window != 0 && window == fwd.window && rev.last_markers.has(Marker::KeepAlive)
        {
            ta.set(Marker::KeepAliveAck);
            return;
        }
        if repeats
            && window == 0
            && window == fwd.window
            && rev.last_markers.has(Marker::ZeroWindowProbe)
        {
            ta.set(Marker::ZeroWindowProbeAck);
            return;
        }
        if repeats && window != 0 && window == fwd.window {
            fwd.dupacknum = if fwd.dupacknum == -1 {
                1
            } else {
                fwd.dupacknum.saturating_add(1)
            };
            let number = u32::try_from(fwd.dupacknum).unwrap_or(0);
            ta.set_dup_ack(fwd.lastnondupack, number);
        }
    }

    /// A segment with data, SYN or FIN whose sequence number does not advance: spurious,
    /// fast retransmission, out of order or (generic) retransmission, in tshark's order.
    fn retransmission_kind(&self, dir: usize, s: &SegmentFacts, ta: &mut SegmentAnalysis) {
        let (fwd, rev) = if dir == 0 {
            (&self.dirs[0], &self.dirs[1])
        } else {
            (&self.dirs[1], &self.dirs[0])
        };
        let (seq, len, flags) = (s.seq, s.len, s.flags);
        if ta.has(Marker::KeepAlive) {
            return;
        }
        let mut not_advanced = fwd.nextseq != 0 && lt_seq(seq, fwd.nextseq);
        // More than one byte at the next sequence number minus one: new data after a
        // zero-window probe, not sent again.
        if len > 1 && fwd.nextseq.wrapping_sub(1) == seq {
            not_advanced = false;
        }
        if len > 0 && rev.lastack != 0 && le_seq(seq.wrapping_add(len), rev.lastack) {
            ta.set(Marker::SpuriousRetransmission);
            return;
        }
        // tshark's default `tcp.fastrt_supersedes_ooo`: fast retransmission is tried first.
        if not_advanced
            && rev.dupacknum >= 2
            && rev.lastack == seq
            && span_ns(s.time, rev.lastack_time) < FAST_RETRANSMISSION_NS
        {
            ta.set(Marker::FastRetransmission);
            return;
        }
        let threshold = if self.first_rtt_ns == 0 {
            DEFAULT_OUT_OF_ORDER_NS
        } else {
            self.first_rtt_ns
        };
        let syn_fin = u32::from(flags.0 & (TcpFlags::SYN | TcpFlags::FIN) != 0);
        if not_advanced
            && span_ns(s.time, fwd.nextseq_time) < threshold
            && fwd.nextseq != seq.wrapping_add(len).wrapping_add(syn_fin)
        {
            ta.set(Marker::OutOfOrder);
            return;
        }
        if not_advanced {
            ta.set(Marker::Retransmission);
        }
    }
}

/// The sequence bases of connections that left the flow table, by 4-tuple: a SYN with
/// another initial sequence number on the ports of one of them is `[TCP Port numbers
/// reused]`, however many connections closed in between, up to the last
/// [`MAX_RETIRED_CONNECTIONS_REMEMBERED`] to leave (tshark forgets none; that would make a frame listing's
/// memory grow with the capture). Only connections analysed for segment details leave an
/// entry (a frame listing's); an entry goes when a connection takes its 4-tuple again, or
/// when it is the oldest of a full memory. Each shard of a parallel analysis holds its closed
/// connections longer than one table does and keeps its own memory of this size, so once a
/// memory is full the two may answer differently for a 4-tuple reused that long after
/// (counted in [`RetiredBases::forgotten`], reported as a possible divergence).
#[derive(Debug, Default)]
pub(crate) struct RetiredBases {
    /// Per 4-tuple: the base sequence number of the client's and of the server's direction,
    /// whether the client is the key's low endpoint, and the entry's number (its place in
    /// `order`).
    bases: HashMap<FlowKey, ([Option<u32>; 2], bool, u64), foldhash::fast::RandomState>,
    /// Entries in the order they were made, by 4-tuple and number (an entry replaced or
    /// taken since leaves its place here, skipped when it comes up).
    order: VecDeque<(FlowKey, u64)>,
    /// Entries made so far (numbers them).
    made: u64,
    /// Entries dropped because the memory was full.
    forgotten: u64,
}

/// Connections that left the flow table whose sequence numbers a frame listing remembers, to
/// mark a later SYN on the same ports `[TCP Port numbers reused]` (about 100 bytes each).
pub const MAX_RETIRED_CONNECTIONS_REMEMBERED: usize = 1 << 14;

impl RetiredBases {
    /// A connection leaves the table with its analysis (if it had one).
    pub(crate) fn note(&mut self, info: &ConnInfo, analyzer: Option<&SeqAnalyzer>) {
        let Some(a) = analyzer else { return };
        let bases = [a.dirs[0].base_seq, a.dirs[1].base_seq];
        let key = FlowKey::of(info.client, info.server);
        let number = self.made;
        self.made += 1;
        self.bases
            .insert(key, (bases, is_low(info.client, info.server), number));
        self.order.push_back((key, number));
        while self.order.len() > MAX_RETIRED_CONNECTIONS_REMEMBERED {
            let Some((oldest, number)) = self.order.pop_front() else {
                break;
            };
            if self.bases.get(&oldest).is_some_and(|e| e.2 == number) {
                self.bases.remove(&oldest);
                self.forgotten += 1;
            }
        }
    }

    /// A new connection takes `seg`'s 4-tuple: forgets the one that had it and tells whether
    /// `seg` is a pure SYN that reuses its ports (another initial sequence number than the
    /// one its sender started with).
    pub(crate) fn take_reused(&mut self, seg: &Segment<'_>) -> bool {
        if self.bases.is_empty() {
            return false;
        }
        let Some((bases, client_is_low, _)) = self.bases.remove(&FlowKey::of(seg.src, seg.dst))
        else {
            return false;
        };
        let flags = seg.header.flags();
        let sender = usize::from(is_low(seg.src, seg.dst) != client_is_low);
        flags.syn() && !flags.ack() && bases[sender].is_some_and(|base| base != seg.header.seq())
    }

    /// Entries dropped because the memory was full.
    pub(crate) fn forgotten(&self) -> u64 {
        self.forgotten
    }
}

#[cfg(test)]
mod tests;
