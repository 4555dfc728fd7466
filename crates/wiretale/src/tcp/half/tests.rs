use super::*;
use proptest::prelude::*;

/// A parser stand-in: consumes in chunks of `chunk` (or waits until that many bytes are
/// there), and every `skip_every`-th call asks to skip `skip_len` bytes. Records what it saw.
#[derive(Default)]
struct Recorder {
    chunk: usize,
    skip_every: usize,
    skip_len: u64,
    calls: usize,
    /// (stream offset, byte) of every consumed byte.
    seen: Vec<(u64, u8)>,
    /// Stream ranges skipped (requested).
    skips: Vec<(u64, u64)>,
    gaps: Vec<Gap>,
    conflicts: usize,
}

impl ByteSink for Recorder {
    fn data(&mut self, input: &[u8], map: FrameMap<'_>) -> Feed {
        self.calls += 1;
        let chunk = self.chunk.max(1);
        if input.len() < chunk {
            return Feed::default();
        }
        let take = chunk;
        for (i, &b) in input[..take].iter().enumerate() {
            self.seen.push((map.base() + i as u64, b));
        }
        let skip = if self.skip_every > 0 && self.calls % self.skip_every == 0 {
            self.skips.push((map.base() + take as u64, self.skip_len));
            self.skip_len
        } else {
            0
        };
        Feed {
            consumed: take,
            skip,
        }
    }
    fn gap(&mut self, gap: Gap) {
        self.gaps.push(gap);
    }
    fn conflict(&mut self, _offset: u64, _frame: u64) {
        self.conflicts += 1;
    }
}

fn t(frame: u64) -> Timestamp {
    Timestamp::from_parts(frame as i64, 0, 1)
}

/// Cuts `stream` into segments at the given cut points.
fn segments(stream: &[u8], cuts: &[usize]) -> Vec<(usize, Vec<u8>)> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| (w[0], stream[w[0]..w[1]].to_vec()))
        .collect()
}

fn run(isn: u32, order: &[(usize, Vec<u8>)], sink: &mut Recorder, cfg: &HalfConfig) -> HalfStream {
    let mut half = HalfStream::default();
    half.start(isn);
    for (frame, (off, data)) in order.iter().enumerate() {
        let seq = isn.wrapping_add(*off as u32);
        half.on_segment(
            seq,
            data,
            data.len() as u32,
            false,
            frame as u64 + 1,
            t(frame as u64),
            sink,
            cfg,
        );
    }
    half.finish(order.len() as u64 + 1, sink, cfg, &mut |rest, map| {
        for (i, &b) in rest.iter().enumerate() {
            sink_rest(map.base() + i as u64, b);
        }
    });
    half
}

fn sink_rest(_offset: u64, _b: u8) {}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any segmentation, reordering, duplication and retransmission of a byte stream
    /// reassembles to exactly that stream.
    #[test]
    fn any_segmentation_order_and_duplication_gives_the_stream(
        stream in proptest::collection::vec(any::<u8>(), 1..3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
        shuffle in proptest::collection::vec(any::<u32>(), 0..80),
        dups in proptest::collection::vec(any::<usize>(), 0..10),
        isn in any::<u32>(),
    ) {
        let segs = segments(&stream, &cuts);
        let mut order: Vec<(usize, Vec<u8>)> = segs.clone();
        // Duplicates (retransmissions), possibly overlapping two neighbours.
        for d in &dups {
            let i = d % segs.len();
            let (off, data) = &segs[i];
            let mut merged = data.clone();
            if let Some((_, next)) = segs.get(i + 1) {
                merged.extend_from_slice(next);
            }
            order.push((*off, merged));
        }
        // A bounded reordering: swap pairs chosen by `shuffle`.
        for s in shuffle.chunks(2) {
            if s.len() == 2 {
                let a = s[0] as usize % order.len();
                let b = s[1] as usize % order.len();
                order.swap(a, b);
            }
        }
        let mut sink = Recorder { chunk: 1, ..Default::default() };
        let cfg = HalfConfig { max_ooo_wait: u32::MAX, ..HalfConfig::default() };
        let half = run(isn, &order, &mut sink, &cfg);
        let got: Vec<u8> = sink.seen.iter().map(|&(_, b)| b).collect();
        prop_assert_eq!(&got, &stream);
        for (i, &(off, _)) in sink.seen.iter().enumerate() {
            prop_assert_eq!(off, i as u64);
        }
        prop_assert!(sink.gaps.is_empty());
        prop_assert_eq!(sink.conflicts, 0);
        prop_assert_eq!(half.next, stream.len() as u64);
    }

    /// A parser that consumes in chunks and skips ranges sees every non-skipped byte exactly
    /// once at its right offset, and consumed + skipped + left over covers the stream.
    #[test]
    fn chunked_consumption_and_skips_are_exact(
        stream in proptest::collection::vec(any::<u8>(), 1..4000),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
        chunk in 1usize..50,
        skip_every in 0usize..5,
        skip_len in 0u64..300,
    ) {
        let segs = segments(&stream, &cuts);
        let mut sink = Recorder { chunk, skip_every, skip_len, ..Default::default() };
        let cfg = HalfConfig::default();
        let mut leftover = 0usize;
        let mut half = HalfStream::default();
        half.start(1000);
        for (frame, (off, data)) in segs.iter().enumerate() {
            half.on_segment(1000 + *off as u32, data, data.len() as u32, false,
                frame as u64 + 1, t(frame as u64), &mut sink, &cfg);
        }
        half.finish(999, &mut sink, &cfg, &mut |rest, _| leftover = rest.len());
        for &(off, b) in &sink.seen {
            prop_assert_eq!(stream[off as usize], b);
        }
        let consumed = sink.seen.len() as u64;
        let stats = half.stats;
        prop_assert_eq!(consumed, stats.delivered_bytes);
        prop_assert_eq!(
            stats.delivered_bytes + stats.skipped_bytes + leftover as u64,
            stream.len() as u64
        );
    }
}

#[test]
fn a_hole_acked_by_the_peer_becomes_a_gap_and_delivery_continues() {
    let mut sink = Recorder {
        chunk: 1,
        ..Default::default()
    };
    let cfg = HalfConfig::default();
    let mut half = HalfStream::default();
    half.start(0);
    half.on_segment(0, b"abc", 3, false, 1, t(1), &mut sink, &cfg);
    // bytes 3..6 never captured
    half.on_segment(6, b"ghi", 3, false, 3, t(3), &mut sink, &cfg);
    assert!(sink.gaps.is_empty());
    half.on_ack(9, 4, &mut sink, &cfg);
    assert_eq!(sink.gaps.len(), 1);
    let gap = sink.gaps[0];
    assert_eq!(
        (gap.offset, gap.len, gap.cause),
        (3, 3, GapCause::AckedUnseen)
    );
    let got: Vec<u8> = sink.seen.iter().map(|&(_, b)| b).collect();
    assert_eq!(got, b"abcghi");
    assert_eq!(half.stats.gap_bytes, 3);
}

/// large-http-espn-browse.pcapng, stream 3: the client acknowledges bytes never captured
/// (frame 615) long before the server's next segment arrives (frame 893). The hole is known
/// to be permanent as soon as that segment is there: it is delivered at once, not held until
/// some later ACK.
#[test]
fn data_beyond_an_already_acknowledged_hole_is_delivered_when_it_arrives() {
    let mut sink = Recorder {
        chunk: 1,
        ..Default::default()
    };
    let cfg = HalfConfig::default();
    let mut half = HalfStream::default();
    half.start(0);
    half.on_segment(0, b"abc", 3, false, 1, t(1), &mut sink, &cfg);
    half.on_ack(6, 2, &mut sink, &cfg); // 3..6 received by the peer, not captured
    assert!(sink.gaps.is_empty());
    half.on_segment(6, b"ghi", 3, false, 3, t(3), &mut sink, &cfg);
    assert_eq!(sink.gaps.len(), 1);
    let gap = sink.gaps[0];
    assert_eq!(
        (gap.offset, gap.len, gap.cause, gap.frame),
        (3, 3, GapCause::AckedUnseen, 3)
    );
    let got: Vec<u8> = sink.seen.iter().map(|&(_, b)| b).collect();
    assert_eq!(got, b"abcghi");
}

#[test]
fn keepalive_and_wraparound() {
    let mut sink = Recorder {
        chunk: 1,
        ..Default::default()
    };
    let cfg = HalfConfig::default();
    let mut half = HalfStream::default();
    let isn = u32::MAX - 2;
    half.start(isn);
    half.on_segment(isn, b"12345", 5, false, 1, t(1), &mut sink, &cfg);
    // keep-alive: one byte at next-1
    half.on_segment(
        isn.wrapping_add(4),
        b"5",
        1,
        false,
        2,
        t(2),
        &mut sink,
        &cfg,
    );
    half.on_segment(
        isn.wrapping_add(5),
        b"678",
        3,
        false,
        3,
        t(3),
        &mut sink,
        &cfg,
    );
    let got: Vec<u8> = sink.seen.iter().map(|&(_, b)| b).collect();
    assert_eq!(got, b"12345678");
    assert_eq!(half.stats.keepalives, 1);
    assert_eq!(half.stats.retransmissions, 0);
}

#[test]
fn conflicting_overlap_is_counted_first_data_wins() {
    // A parser that never consumes, so the bytes stay buffered and can be compared.
    let mut sink = Recorder {
        chunk: 1000,
        ..Default::default()
    };
    let cfg = HalfConfig::default();
    let mut half = HalfStream::default();
    half.start(0);
    half.on_segment(0, b"hello", 5, false, 1, t(1), &mut sink, &cfg);
    half.on_segment(2, b"LLO world", 9, false, 2, t(2), &mut sink, &cfg);
    assert_eq!(sink.conflicts, 1);
    let mut rest = Vec::new();
    half.finish(3, &mut sink, &cfg, &mut |r, _| rest = r.to_vec());
    assert_eq!(rest, b"hello world");
}

#[test]
fn endless_out_of_order_segments_stay_bounded() {
    let mut sink = Recorder {
        chunk: 1,
        ..Default::default()
    };
    let cfg = HalfConfig {
        max_ooo_bytes: 10_000,
        max_ooo_wait: u32::MAX,
        max_buffer: 10_000,
    };
    let mut half = HalfStream::default();
    half.start(0);
    // Byte 0 never arrives; 100-byte segments keep coming after it.
    for i in 0..10_000u32 {
        half.on_segment(
            1 + i * 100,
            &[7u8; 100],
            100,
            false,
            u64::from(i),
            t(1),
            &mut sink,
            &cfg,
        );
        assert!(half.held_bytes <= 10_000);
    }
    assert!(half.stats.cap_hits >= 1);
    assert_eq!(sink.gaps.first().map(|g| g.len), Some(1));
}

#[test]
fn snaplen_truncated_segments_report_the_missing_tail() {
    let mut sink = Recorder {
        chunk: 1,
        ..Default::default()
    };
    let cfg = HalfConfig::default();
    let mut half = HalfStream::default();
    half.start(0);
    half.on_segment(0, b"ab", 10, false, 1, t(1), &mut sink, &cfg);
    half.on_segment(10, b"cd", 10, false, 2, t(2), &mut sink, &cfg);
    assert_eq!(sink.gaps.len(), 2);
    assert!(sink
        .gaps
        .iter()
        .all(|g| g.cause == GapCause::Snaplen && g.len == 8));
    let offsets: Vec<u64> = sink.seen.iter().map(|&(o, _)| o).collect();
    assert_eq!(offsets, vec![0, 1, 10, 11]);
}

/// Regression (hostile-shape test): a segment overlapping two held out-of-order segments with
/// different bytes was held without comparison, so the conflict went unreported.
#[test]
fn conflicting_partial_overlap_of_held_segments_is_reported() {
    let mut sink = Recorder {
        chunk: 1,
        ..Default::default()
    };
    let cfg = HalfConfig::default();
    let mut half = HalfStream::default();
    half.start(0);
    half.on_segment(10, b"bbbbbbbbbb", 10, false, 1, t(1), &mut sink, &cfg);
    half.on_segment(20, b"cccccccccc", 10, false, 2, t(2), &mut sink, &cfg);
    half.on_segment(15, b"zzzzzzzzzz", 10, false, 3, t(3), &mut sink, &cfg);
    assert_eq!(sink.conflicts, 1);
    // A longer copy at a held offset keeps the held bytes (first data wins).
    half.on_segment(
        10,
        b"XXXXXXXXXXXXXXXXXXXXXXXX",
        24,
        false,
        4,
        t(4),
        &mut sink,
        &cfg,
    );
    assert_eq!(sink.conflicts, 2);
    // The hole fills with bytes that disagree with nothing: no new conflict.
    half.on_segment(0, b"aaaaaaaaaa", 10, false, 5, t(5), &mut sink, &cfg);
    assert_eq!(sink.conflicts, 2);
    let got: Vec<u8> = sink.seen.iter().map(|&(_, b)| b).collect();
    assert_eq!(got, b"aaaaaaaaaabbbbbbbbbbccccccccccXXXX");
}

/// Regression: in-order bytes filling a hole are compared with the held bytes they overlap.
#[test]
fn hole_filler_conflicting_with_held_bytes_is_reported() {
    let mut sink = Recorder {
        chunk: 1,
        ..Default::default()
    };
    let cfg = HalfConfig::default();
    let mut half = HalfStream::default();
    half.start(0);
    half.on_segment(5, b"world", 5, false, 1, t(1), &mut sink, &cfg);
    half.on_segment(0, b"helloWORLD", 10, false, 2, t(2), &mut sink, &cfg);
    assert_eq!(sink.conflicts, 1);
    let got: Vec<u8> = sink.seen.iter().map(|&(_, b)| b).collect();
    assert_eq!(got, b"helloworld", "the held (first) bytes win");
}
