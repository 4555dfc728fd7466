//! Mapping from reassembled stream offsets back to the frames that carried them.
//!
//! Each direction keeps a short list of [`Mark`]s, one per frame whose bytes are still
//! buffered: "the bytes from stream offset `offset` on came in frame `frame`". A message that
//! occupies a byte range is then reported at the frame that carried its last byte (as Wireshark
//! reports reassembled PDUs), together with every frame that carried part of it.

use crate::capture::Timestamp;
use crate::timeline::Frames;
use core::ops::Range;

/// "Bytes from `offset` on (until the next mark) arrived in `frame` at `time`."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Stream offset of the first byte this frame contributed.
    pub offset: u64,
    /// Frame number.
    pub frame: u64,
    /// Frame time.
    pub time: Timestamp,
}

/// The frames behind the bytes handed to a parser in one call: `input[0]` is at stream offset
/// `base`.
#[derive(Debug, Clone, Copy)]
pub struct FrameMap<'a> {
    base: u64,
    marks: &'a [Mark],
}

/// Where a message sits in the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSpan {
    /// The frame that carried the message's first byte.
    pub first: u64,
    /// The frame that completed it: the last of its frames to arrive. That is the one that
    /// carried its last byte, unless segments came out of order.
    pub last: u64,
    /// Time of the completing frame.
    pub time: Timestamp,
    /// Every frame that carried part of it, ascending.
    pub frames: Frames,
}

/// Frames listed per message at most, so a huge message cannot grow a huge list.
pub const MAX_FRAMES_PER_SPAN: usize = 1024;

impl<'a> FrameMap<'a> {
    /// A map for input starting at stream offset `base`. `marks` must be sorted by offset, and
    /// the first mark must be at or before `base`.
    pub fn new(base: u64, marks: &'a [Mark]) -> Self {
        FrameMap { base, marks }
    }

    /// Stream offset of `input[0]`.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Index of the mark covering stream offset `at`.
    fn mark_index(&self, at: u64) -> Option<usize> {
        if self.marks.is_empty() {
            return None;
        }
        // The last mark whose offset is <= at.
        let idx = self.marks.partition_point(|m| m.offset <= at);
        Some(idx.saturating_sub(1))
    }

    /// The frames behind `range` of the input. An empty range maps to the frame of the byte
    /// just before it (for messages completed by the end of a direction).
    pub fn span(&self, range: Range<usize>) -> Option<FrameSpan> {
        let start = self.base + range.start as u64;
        let end_byte = if range.end > range.start {
            self.base + range.end as u64 - 1
        } else {
            (self.base + range.start as u64).saturating_sub(1)
        };
        let first_idx = self.mark_index(start.min(end_byte))?;
        let last_idx = self.mark_index(end_byte)?;
        let first = self.marks.get(first_idx)?;
        let carriers = self.marks.get(first_idx..=last_idx)?;
        // Frame numbers follow arrival: the highest is the frame the message became whole in
        // (as Wireshark reports reassembled PDUs), even when an earlier byte arrived late.
        let last = carriers.iter().max_by_key(|m| m.frame)?;
        let mut frames: Frames = carriers
            .iter()
            .map(|m| m.frame)
            .take(MAX_FRAMES_PER_SPAN)
            .collect();
        frames.sort_dedup();
        Some(FrameSpan {
            first: first.frame,
            last: last.frame,
            time: last.time,
            frames,
        })
    }

    /// The frame and time carrying the byte at input offset `at`.
    pub fn frame_at(&self, at: usize) -> Option<(u64, Timestamp)> {
        let idx = self.mark_index(self.base + at as u64)?;
        self.marks.get(idx).map(|m| (m.frame, m.time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(offset: u64, frame: u64) -> Mark {
        Mark {
            offset,
            frame,
            time: Timestamp::from_parts(frame as i64, 0, 1),
        }
    }

    #[test]
    fn message_spanning_three_frames_reports_the_last() {
        let marks = [mark(100, 7), mark(110, 9), mark(120, 12)];
        let map = FrameMap::new(105, &marks);
        // input[0..25] = offsets 105..130: frames 7, 9, 12
        let span = map.span(0..25).unwrap();
        assert_eq!((span.first, span.last), (7, 12));
        assert_eq!(span.frames, vec![7, 9, 12]);
        // offsets 105..110 only in frame 7
        assert_eq!(map.span(0..5).unwrap().frames, vec![7]);
        // offsets 110..111: frame 9
        assert_eq!(map.span(5..6).unwrap().last, 9);
        // empty range at the end maps to the frame of the previous byte
        assert_eq!(map.span(25..25).unwrap().last, 12);
    }

    /// tls13-hello-retry-request.pcap: the record's first 1368 bytes arrive in frame 11, after
    /// its last 45 bytes in frame 9. It is complete in frame 11.
    #[test]
    fn message_whose_earlier_bytes_arrived_late_completes_in_the_late_frame() {
        let marks = [mark(0, 11), mark(1368, 9)];
        let span = FrameMap::new(0, &marks).span(0..1413).unwrap();
        assert_eq!(
            (span.first, span.last, span.time),
            (11, 11, mark(0, 11).time)
        );
        assert_eq!(span.frames, vec![9, 11]);
        // A message entirely in frame 9 is still at frame 9.
        assert_eq!(FrameMap::new(0, &marks).span(1400..1413).unwrap().last, 9);
    }
}
