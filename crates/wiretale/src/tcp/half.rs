//! Reassembly of one direction of a TCP connection.
//!
//! # Policy
//!
//! * Sequence numbers are unwrapped to 64-bit stream offsets around the next expected byte, so
//!   wrap-around is invisible above this module.
//! * **First data wins.** Bytes already delivered are never replaced. A retransmission or an
//!   overlapping segment contributes only bytes beyond what was delivered; where it overlaps
//!   bytes still buffered and differs, a conflict is counted (and reported by the caller).
//! * Out-of-order segments are held (capped in bytes) and delivered once the hole before them
//!   fills. A hole is declared a **gap** (bytes that will never arrive) when the peer has already
//!   acknowledged data beyond it, when the held bytes reach their cap, when more than
//!   `max_ooo_wait` segments arrived while it stayed open, or when the direction ends.
//! * Keep-alive probes (one byte or none at next-1) are ignored.
//! * Bytes a parser asked to skip are counted and dropped as they arrive, never buffered.
//! * Bytes that were on the wire but not captured (snaplen) are reported as a gap right
//!   after the captured part of their segment.

use super::frame_map::{FrameMap, Mark};
use super::Feed;
use crate::capture::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// Held segments after a new out-of-order segment's start that it is compared with.
const MAX_OVERLAP_CHECKS: usize = 8;

/// Limits of one direction's buffers.
#[derive(Debug, Clone, Copy)]
pub struct HalfConfig {
    /// Unconsumed in-order bytes kept for a parser.
    pub max_buffer: usize,
    /// Out-of-order bytes held waiting for a hole to fill.
    pub max_ooo_bytes: usize,
    /// Segments that may arrive while a hole stays open before it is declared a gap.
    pub max_ooo_wait: u32,
}

impl Default for HalfConfig {
    fn default() -> Self {
        HalfConfig {
            max_buffer: 1 << 20,
            max_ooo_bytes: 1 << 20,
            max_ooo_wait: 64,
        }
    }
}

/// Why bytes are missing from a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapCause {
    /// The peer acknowledged bytes the capture never saw.
    AckedUnseen,
    /// The hole stayed open while `max_ooo_wait` segments arrived (how a lost segment is
    /// recognised).
    NeverFilled,
    /// The direction ended with a hole before its end.
    AtEnd,
    /// The frame was cut by the snapshot length.
    Snaplen,
    /// A parser left more unconsumed bytes than the buffer cap; they were dropped.
    BufferCap,
    /// More bytes waited behind the hole than the out-of-order cap (`max_ooo_bytes`)
    /// allows: the hole was given up and the bytes behind it delivered.
    OutOfOrderCap,
}

/// Bytes missing from a direction's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Stream offset where the missing bytes start.
    pub offset: u64,
    /// How many bytes are missing.
    pub len: u64,
    /// Why.
    pub cause: GapCause,
    /// The frame in which the gap became known.
    pub frame: u64,
    /// Whether the parser had to be told (the bytes were not ones it had asked to skip).
    pub parser_affected: bool,
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HalfStats {
    /// Segments sent in this direction.
    pub packets: u64,
    /// Payload bytes on the wire (retransmissions included).
    pub payload_bytes: u64,
    /// Stream bytes handed to the parser.
    pub delivered_bytes: u64,
    /// Stream bytes skipped at a parser's request.
    pub skipped_bytes: u64,
    /// Segments carrying only already-delivered bytes, or partly so.
    pub retransmissions: u64,
    /// Segments that arrived before a hole in front of them filled.
    pub out_of_order: u64,
    /// Keep-alive probes.
    pub keepalives: u64,
    /// Segments advertising a zero window.
    pub zero_windows: u64,
    /// Gaps reported.
    pub gaps: u64,
    /// Bytes missing in those gaps.
    pub gap_bytes: u64,
    /// Overlapping bytes that differed from what was buffered.
    pub conflicts: u64,
    /// Times a buffer cap was hit.
    pub cap_hits: u64,
}

/// What reassembly hands upward.
pub(crate) trait ByteSink {
    /// In-order bytes; see [`crate::proto::ConnectionParser::feed`].
    fn data(&mut self, input: &[u8], map: FrameMap<'_>) -> Feed;
    /// Missing bytes.
    fn gap(&mut self, gap: Gap);
    /// Overlapping bytes that differ from buffered ones.
    fn conflict(&mut self, offset: u64, frame: u64);
    /// The bytes the parser asked to skip ran out in `frame`'s payload: what the skip
    /// stepped over (a TLS application-data record's body) ends there.
    fn skip_ended(&mut self, frame: u64) {
        let _ = frame;
    }
}

#[derive(Debug)]
struct Held {
    data: Vec<u8>,
    /// Bytes of the segment on the wire (more than `data.len()` when truncated).
    wire_len: u64,
    frame: u64,
    time: Timestamp,
}

/// One direction's reassembly state.
#[derive(Debug, Default)]
pub(crate) struct HalfStream {
    pub started: bool,
    /// Sequence number of stream offset 0.
    isn: u32,
    /// Next expected stream offset: everything before it was delivered, skipped or gapped.
    pub next: u64,
    buf: Vec<u8>,
    buf_start: u64,
    marks: Vec<Mark>,
    skip: u64,
    held: BTreeMap<u64, Held>,
    held_bytes: usize,
    /// Segments seen since the current hole opened.
    hole_wait: u32,
    /// Highest stream offset the peer acknowledged.
    acked: u64,
    fin_at: Option<u64>,
    pub ended: bool,
    pub last_frame: u64,
    pub stats: HalfStats,
}

impl HalfStream {
    /// Starts the stream: `first_seq` is the sequence number of stream offset 0.
    pub fn start(&mut self, first_seq: u32) {
        self.started = true;
        self.isn = first_seq;
        self.next = 0;
        self.buf_start = 0;
    }

    /// Unwraps a sequence number to a stream offset near `next` (negative: before the start).
    pub fn offset_of(&self, seq: u32) -> i64 {
        let next_seq = self.isn.wrapping_add(self.next as u32);
        self.next as i64 + i64::from(seq.wrapping_sub(next_seq) as i32)
    }

    /// The peer acknowledged `ack` (a sequence number of this direction).
    pub fn on_ack(&mut self, ack: u32, frame: u64, sink: &mut dyn ByteSink, cfg: &HalfConfig) {
        if !self.started {
            return;
        }
        let mut at = self.offset_of(ack);
        if let Some(fin) = self.fin_at {
            // The FIN takes one sequence number.
            if at == fin as i64 + 1 {
                at = fin as i64;
            }
        }
        if at > self.acked as i64 {
            self.acked = at as u64;
        }
        self.close_acked_hole(frame, sink, cfg);
    }

    /// Data held beyond a hole the receiver has acknowledged: the hole will never fill. Checked
    /// when the ACK arrives and when data beyond an already acknowledged hole arrives.
    fn close_acked_hole(&mut self, frame: u64, sink: &mut dyn ByteSink, cfg: &HalfConfig) {
        if let Some((&first, _)) = self.held.first_key_value() {
            if self.acked >= first {
                self.fill_hole(first, GapCause::AckedUnseen, frame, sink);
                self.drain_held(sink, cfg);
            }
        }
    }

    /// One segment's payload (and FIN) in this direction.
    #[allow(clippy::too_many_arguments)]
    pub fn on_segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        wire_len: u32,
        fin: bool,
        frame: u64,
        time: Timestamp,
        sink: &mut dyn ByteSink,
        cfg: &HalfConfig,
    ) {
        self.last_frame = frame;
        if !self.started || self.ended {
            return;
        }
        let wire_len = u64::from(wire_len);
        let off = self.offset_of(seq);
        if wire_len <= 1 && !fin && off == self.next as i64 - 1 {
            self.stats.keepalives += 1;
            return;
        }
        if fin {
            let fin_at = (off + wire_len as i64).max(0) as u64;
            if self.fin_at.is_none() {
                self.fin_at = Some(fin_at);
            }
        }
        if wire_len > 0 {
            let end = off + wire_len as i64;
            if end <= self.next as i64 {
                self.stats.retransmissions += 1;
                self.check_conflict(off, payload, frame, sink);
            } else if off > self.next as i64 {
                self.stats.out_of_order += 1;
                self.hold(off as u64, payload, wire_len, frame, time, sink, cfg);
                self.close_acked_hole(frame, sink, cfg);
            } else {
                let cut = (self.next as i64 - off) as u64;
                if cut > 0 {
                    self.stats.retransmissions += 1;
                    self.check_conflict(off, payload, frame, sink);
                }
                // Bytes that fill a hole must agree with held bytes beyond it; where they do
                // not, the held bytes (the first data) are delivered.
                let fresh = payload.get(cut as usize..).unwrap_or(&[]);
                let mut owned: Option<Vec<u8>> = None;
                if let Some(at) = self.held_conflict(self.next, fresh) {
                    self.stats.conflicts += 1;
                    sink.conflict(at, frame);
                    let mut copy = payload.to_vec();
                    if let Some(tail) = copy.get_mut(cut as usize..) {
                        self.overlay_held(self.next, tail);
                    }
                    owned = Some(copy);
                }
                let payload = owned.as_deref().unwrap_or(payload);
                let mark = Mark {
                    offset: 0,
                    frame,
                    time,
                };
                self.accept(payload, wire_len, cut, mark, sink, cfg);
                self.drain_held(sink, cfg);
            }
            if !self.held.is_empty() {
                self.hole_wait = self.hole_wait.saturating_add(1);
                if self.hole_wait > cfg.max_ooo_wait {
                    if let Some((&first, _)) = self.held.first_key_value() {
                        self.fill_hole(first, GapCause::NeverFilled, frame, sink);
                        self.drain_held(sink, cfg);
                    }
                }
            }
        }
    }

    /// Whether the FIN's position has been reached (all bytes before it are accounted for).
    pub fn fin_reached(&self) -> bool {
        matches!(self.fin_at, Some(f) if self.next >= f)
    }

    /// Whether a FIN was seen (reached or not).
    pub fn fin_seen(&self) -> bool {
        self.fin_at.is_some()
    }

    /// Ends the direction: holes become gaps, held data is delivered, and the unconsumed
    /// buffer is returned through `finish` along with its frame map.
    pub fn finish(
        &mut self,
        frame: u64,
        sink: &mut dyn ByteSink,
        cfg: &HalfConfig,
        finish: &mut dyn FnMut(&[u8], FrameMap<'_>),
    ) {
        if self.ended {
            return;
        }
        while let Some((&first, _)) = self.held.first_key_value() {
            self.fill_hole(first, GapCause::AtEnd, frame, sink);
            self.drain_held(sink, cfg);
        }
        if let Some(fin) = self.fin_at {
            if fin > self.next {
                self.fill_hole(fin, GapCause::AtEnd, frame, sink);
            }
        }
        self.ended = true;
        finish(&self.buf, FrameMap::new(self.buf_start, &self.marks));
        self.release();
    }

    /// Frees buffers (the direction is over).
    pub fn release(&mut self) {
        self.buf = Vec::new();
        self.marks = Vec::new();
        self.held = BTreeMap::new();
        self.held_bytes = 0;
    }

    fn check_conflict(&mut self, off: i64, payload: &[u8], frame: u64, sink: &mut dyn ByteSink) {
        // Only bytes still buffered can be compared; consumed ones are gone by design.
        let buf_end = self.buf_start + self.buf.len() as u64;
        for (i, &b) in payload.iter().enumerate() {
            let at = off + i as i64;
            if at < self.buf_start as i64 {
                continue;
            }
            let at = at as u64;
            if at >= buf_end {
                break;
            }
            if self.buf.get((at - self.buf_start) as usize) != Some(&b) {
                self.stats.conflicts += 1;
                sink.conflict(at, frame);
                return;
            }
        }
    }

    /// Held segments `payload` (at stream offset `off`) overlaps: the one starting at or before
    /// `off` and at most [`MAX_OVERLAP_CHECKS`] after it, so the cost per segment stays bounded.
    fn overlapping_held(&self, off: u64, len: usize) -> impl Iterator<Item = (u64, &Held)> {
        let end = off.saturating_add(len as u64);
        let before = self.held.range(..=off).next_back();
        let after = self
            .held
            .range(off.saturating_add(1)..end.max(off.saturating_add(1)))
            .take(MAX_OVERLAP_CHECKS);
        before
            .into_iter()
            .chain(after)
            .map(|(&start, held)| (start, held))
            .filter(move |(start, held)| {
                *start < end && start.saturating_add(held.data.len() as u64) > off
            })
    }

    /// The first stream offset where `payload` (at `off`) differs from held out-of-order
    /// bytes it overlaps.
    fn held_conflict(&self, off: u64, payload: &[u8]) -> Option<u64> {
        // Nearly every in-order segment finds nothing held; the range lookups below are not free.
        if self.held.is_empty() {
            return None;
        }
        let end = off.saturating_add(payload.len() as u64);
        for (start, held) in self.overlapping_held(off, payload.len()) {
            let from = start.max(off);
            let to = end.min(start.saturating_add(held.data.len() as u64));
            for at in from..to {
                let mine = payload.get((at - off) as usize);
                let theirs = held.data.get((at - start) as usize);
                if mine != theirs {
                    return Some(at);
                }
            }
        }
        None
    }

    /// Copies the held bytes that `data` (at `off`) overlaps into it: first data wins.
    fn overlay_held(&self, off: u64, data: &mut [u8]) {
        let end = off.saturating_add(data.len() as u64);
        let overlaps: Vec<(u64, &Held)> = self.overlapping_held(off, data.len()).collect();
        for (start, held) in overlaps {
            let from = start.max(off);
            let to = end.min(start.saturating_add(held.data.len() as u64));
            let (Ok(d0), Ok(d1), Ok(h0), Ok(h1)) = (
                usize::try_from(from - off),
                usize::try_from(to - off),
                usize::try_from(from - start),
                usize::try_from(to - start),
            ) else {
                continue;
            };
            if let (Some(dst), Some(src)) = (data.get_mut(d0..d1), held.data.get(h0..h1)) {
                dst.copy_from_slice(src);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn hold(
        &mut self,
        off: u64,
        payload: &[u8],
        wire_len: u64,
        frame: u64,
        time: Timestamp,
        sink: &mut dyn ByteSink,
        cfg: &HalfConfig,
    ) {
        // Held segments this one overlaps must agree with it (first data wins).
        if let Some(at) = self.held_conflict(off, payload) {
            self.stats.conflicts += 1;
            sink.conflict(at, frame);
        }
        if let Some(existing) = self.held.get(&off) {
            if existing.wire_len >= wire_len {
                return;
            }
        }
        // Where it overlaps held bytes, those (the first data) are what will be delivered.
        let mut merged = payload.to_vec();
        self.overlay_held(off, &mut merged);
        let payload: &[u8] = &merged;
        if self.held.is_empty() {
            self.hole_wait = 0;
        }
        if self.held_bytes + payload.len() > cfg.max_ooo_bytes {
            // Too much waiting on a hole: give up on it and deliver what is held.
            self.stats.cap_hits += 1;
            if let Some((&first, _)) = self.held.first_key_value() {
                self.fill_hole(first.min(off), GapCause::OutOfOrderCap, frame, sink);
                self.drain_held(sink, cfg);
            } else {
                self.fill_hole(off, GapCause::OutOfOrderCap, frame, sink);
            }
            if off < self.next {
                return;
            }
            if off == self.next {
                let mark = Mark {
                    offset: 0,
                    frame,
                    time,
                };
                self.accept(payload, wire_len, 0, mark, sink, cfg);
                self.drain_held(sink, cfg);
                return;
            }
        }
        self.held_bytes += payload.len();
        if let Some(old) = self.held.insert(
            off,
            Held {
                data: payload.to_vec(),
                wire_len,
                frame,
                time,
            },
        ) {
            self.held_bytes -= old.data.len();
        }
    }

    /// Delivers held segments that now start at or before `next`.
    fn drain_held(&mut self, sink: &mut dyn ByteSink, cfg: &HalfConfig) {
        while let Some((&first, _)) = self.held.first_key_value() {
            if first > self.next {
                break;
            }
            let Some((_, seg)) = self.held.pop_first() else {
                break;
            };
            self.held_bytes -= seg.data.len();
            let end = first + seg.wire_len;
            if end <= self.next {
                continue;
            }
            let cut = self.next - first;
            let mark = Mark {
                offset: 0,
                frame: seg.frame,
                time: seg.time,
            };
            self.accept(&seg.data, seg.wire_len, cut, mark, sink, cfg);
        }
        if self.held.is_empty() {
            self.hole_wait = 0;
        }
    }

    /// Declares the bytes from `next` to `upto` missing.
    fn fill_hole(&mut self, upto: u64, cause: GapCause, frame: u64, sink: &mut dyn ByteSink) {
        if upto <= self.next {
            return;
        }
        let len = upto - self.next;
        self.report_gap(len, cause, frame, sink);
    }

    fn report_gap(&mut self, len: u64, cause: GapCause, frame: u64, sink: &mut dyn ByteSink) {
        let offset = self.next;
        self.next += len;
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        // Missing bytes the parser wanted skipped anyway do not disturb it.
        let skipped = self.skip.min(len);
        self.skip -= skipped;
        let parser_affected = len > skipped;
        if parser_affected {
            self.buf.clear();
            self.marks.clear();
        }
        self.buf_start = self.next;
        sink.gap(Gap {
            offset,
            len,
            cause,
            frame,
            parser_affected,
        });
    }

    /// Takes a segment whose first `cut` bytes were already delivered; the rest starts at
    /// `next`. Bytes beyond the captured part are reported as a snaplen gap.
    fn accept(
        &mut self,
        payload: &[u8],
        wire_len: u64,
        cut: u64,
        mark: Mark,
        sink: &mut dyn ByteSink,
        cfg: &HalfConfig,
    ) {
        let captured = payload.get(cut as usize..).unwrap_or(&[]);
        let missing = wire_len
            .saturating_sub(cut)
            .saturating_sub(captured.len() as u64);
        if !captured.is_empty() {
            self.push(captured, mark, sink, cfg);
        }
        if missing > 0 {
            self.report_gap(missing, GapCause::Snaplen, mark.frame, sink);
        }
    }

    /// Hands in-order bytes starting at `next` to the parser, buffering what it leaves.
    fn push(&mut self, data: &[u8], mark: Mark, sink: &mut dyn ByteSink, cfg: &HalfConfig) {
        let mut data = data;
        let mut at = self.next;
        self.next += data.len() as u64;
        if self.skip > 0 {
            let n = self.skip.min(data.len() as u64);
            self.skip -= n;
            self.stats.skipped_bytes += n;
            data = data.get(n as usize..).unwrap_or(&[]);
            at += n;
            if self.skip == 0 {
                sink.skip_ended(mark.frame);
            }
        }
        if data.is_empty() {
            if self.buf.is_empty() {
                self.buf_start = self.next;
            }
            return;
        }
        let mark = Mark { offset: at, ..mark };
        if self.buf.is_empty() {
            // Fast path: feed straight from the packet; copy only what the parser leaves.
            let marks = [mark];
            let mut input = data;
            let mut base = at;
            loop {
                let feed = sink.data(input, FrameMap::new(base, &marks));
                let consumed = feed.consumed.min(input.len());
                self.stats.delivered_bytes += consumed as u64;
                input = &input[consumed..];
                base += consumed as u64;
                let skipped = self.apply_skip(feed.skip, input.len());
                input = &input[skipped..];
                base += skipped as u64;
                if input.is_empty() {
                    self.buf_start = self.next;
                    return;
                }
                if consumed == 0 && feed.skip == 0 {
                    break;
                }
            }
            self.buf.extend_from_slice(input);
            self.buf_start = base;
            self.marks.push(Mark {
                offset: base,
                ..mark
            });
        } else {
            self.buf.extend_from_slice(data);
            self.marks.push(mark);
            self.feed_buffer(sink);
        }
        if self.buf.len() > cfg.max_buffer {
            self.stats.cap_hits += 1;
            let dropped = self.buf.len() as u64;
            // The parser never consumed these: treat them like a hole so it resynchronises.
            self.buf.clear();
            self.marks.clear();
            self.buf_start = self.next;
            self.stats.gaps += 1;
            self.stats.gap_bytes += dropped;
            sink.gap(Gap {
                offset: self.next - dropped,
                len: dropped,
                cause: GapCause::BufferCap,
                frame: mark.frame,
                parser_affected: true,
            });
        }
    }

    /// Applies a parser's skip request to the `available` bytes after what it consumed;
    /// returns how many of them to drop now (the rest of the request applies to later bytes).
    fn apply_skip(&mut self, skip: u64, available: usize) -> usize {
        let now = skip.min(available as u64);
        self.skip += skip - now;
        self.stats.skipped_bytes += now;
        now as usize
    }

    fn feed_buffer(&mut self, sink: &mut dyn ByteSink) {
        let mut pos = 0usize;
        while let Some(input) = self.buf.get(pos..) {
            if input.is_empty() {
                break;
            }
            let feed = sink.data(
                input,
                FrameMap::new(self.buf_start + pos as u64, &self.marks),
            );
            let consumed = feed.consumed.min(input.len());
            self.stats.delivered_bytes += consumed as u64;
            pos += consumed;
            let available = self.buf.len() - pos;
            pos += self.apply_skip(feed.skip, available);
            if consumed == 0 && feed.skip == 0 {
                break;
            }
        }
        if pos > 0 {
            self.buf.drain(..pos.min(self.buf.len()));
            self.buf_start += pos as u64;
        }
        if self.buf.is_empty() {
            self.marks.clear();
            self.buf_start = self.next;
        } else {
            // Keep only marks that still cover buffered bytes (the one covering buf_start on).
            let keep_from = self
                .marks
                .partition_point(|m| m.offset <= self.buf_start)
                .saturating_sub(1);
            self.marks.drain(..keep_from);
        }
    }
}

#[cfg(test)]
mod tests;
