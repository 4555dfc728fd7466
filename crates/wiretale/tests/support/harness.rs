//! Fuzz harnesses, shared by the cargo-fuzz targets in `fuzz/` (which include this file by
//! path) and by the regression tests in `tests/regressions.rs`, so a crash input kept as a
//! regression is replayed through exactly the code that found it.
//!
//! Each harness takes arbitrary bytes, drives one public entry point of wiretale with them and
//! checks invariants that must hold for any input (beyond "no panic"): bounds of reported
//! ranges, accounting identities, caps. A violated invariant panics, which the fuzzer reports
//! as a crash and a regression test reports as a failure.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;

use wiretale::capture::{CaptureReader, LinkType, Record, Timestamp, MAX_BLOCK_LEN};
use wiretale::filter::{Field, FieldSource, Protocol, Value};
use wiretale::net::{Decoded, DefragConfig, NetDecoder, Segment, TcpHeader};
use wiretale::pipeline::{analyze, AnalyzerConfig};
use wiretale::proto::http::{HttpConfig, HttpConnectionParser};
use wiretale::proto::tls::{TlsConnectionParser, TlsParserConfig};
use wiretale::proto::{ConnectionParser, Dir, EndReason, Feed};
use wiretale::tcp::{
    ConnEvent, ConnInfo, FlowSummary, FrameMap, Gap, HalfConfig, StreamHandler, TcpConfig,
    TcpTracker, MAX_FRAMES_PER_SPAN, MAX_REPORTED_EPISODES,
};
use wiretale::timeline::Collector;

/// Names of the harnesses, as used for fuzz targets and regression folders.
pub const TARGETS: &[&str] = &[
    "capture_reader",
    "net_decode",
    "tcp_reassembly",
    "tls_stream",
    "http_stream",
    "ntlm_message",
    "display_filter",
    "pipeline",
];

/// Runs the harness called `target` on `data`; false if there is no such harness.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "capture_reader" => capture_reader(data),
        "net_decode" => net_decode(data),
        "tcp_reassembly" => tcp_reassembly(data),
        "tls_stream" => tls_stream(data),
        "http_stream" => http_stream(data),
        "ntlm_message" => ntlm_message(data),
        "display_filter" => display_filter(data),
        "pipeline" => pipeline(data),
        _ => return false,
    }
    true
}

/// A cursor over fuzz bytes that never fails: past the end it yields zeros.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    /// Reads from the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The next four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.pos = self.pos.saturating_add(n);
        &self.data[start..end]
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        self.pos = self.data.len();
        &self.data[start..]
    }
}

/// A tiny deterministic PRNG (xorshift64*), so handlers can vary their behaviour per input.
pub struct Rng(u64);

impl Rng {
    /// Seeded with `seed` (0 is replaced by a constant).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next value.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

fn seed_of(data: &[u8]) -> u64 {
    // FNV-1a: cheap and stable.
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------------
// capture_reader
// ---------------------------------------------------------------------------------------------

/// Reads every record of a fuzzed file: records are numbered 1, 2, ... with increasing block
/// offsets inside the file; an error names the next frame number and an offset inside the file.
pub fn capture_reader(data: &[u8]) {
    let len = data.len() as u64;
    let mut reader = match CaptureReader::new(Cursor::new(data)) {
        Ok(r) => r,
        Err(e) => {
            assert_eq!(e.frame, 0, "header error must name frame 0: {e}");
            let _ = e.to_string();
            return;
        }
    };
    let mut expected_frame = 1u64;
    let mut last_offset: Option<u64> = None;
    // Where reading last resumed after damage: later records and damage lie at or after it.
    let mut resumed_at: Option<u64> = None;
    loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                if let Some(at) = resumed_at {
                    assert!(
                        record.file_offset >= at,
                        "record before where reading resumed"
                    );
                }
                assert_eq!(record.frame, expected_frame, "frames numbered in order");
                assert!(record.data.len() <= MAX_BLOCK_LEN);
                assert!(record.file_offset < len, "record offset inside the file");
                if let Some(prev) = last_offset {
                    assert!(record.file_offset > prev, "record offsets increase");
                }
                last_offset = Some(record.file_offset);
                let _ = record.time.as_secs_f64();
                let _ = record.is_truncated();
                expected_frame += 1;
            }
            Ok(None) => {
                // Finished readers stay finished.
                assert!(matches!(reader.next_record(), Ok(None)));
                break;
            }
            Err(e) => {
                assert_eq!(e.frame, expected_frame, "error names the unread frame: {e}");
                assert!(
                    e.offset <= len,
                    "error offset {} beyond file ({len})",
                    e.offset
                );
                if let Some(prev) = last_offset {
                    assert!(e.offset > prev, "error offset after the last record");
                }
                if let Some(at) = resumed_at {
                    assert!(e.offset >= at, "damage before where reading resumed");
                }
                let _ = serde_json::to_string(&e);
                match e.resumed_at {
                    // Read past: reading goes on from there, forward.
                    Some(at) => {
                        assert!(at > e.offset && at <= len, "resumed at {at}: {e}");
                        assert_eq!(e.skipped_bytes(), at - e.offset);
                        resumed_at = Some(at);
                    }
                    None => {
                        assert!(matches!(reader.next_record(), Ok(None)));
                        break;
                    }
                }
            }
        }
    }
    assert_eq!(reader.frames_read(), expected_frame - 1);
    let _ = serde_json::to_string(reader.interfaces());
}

// ---------------------------------------------------------------------------------------------
// net_decode
// ---------------------------------------------------------------------------------------------

const LINK_TYPES: [u32; 12] = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 105, 1];

/// Decodes a sequence of fuzzed frames (`[link selector][len u16][bytes]...`) with one decoder,
/// so IPv4 fragments accumulate in its table. Checks the bounds of what it returns.
pub fn net_decode(data: &[u8]) {
    let mut input = Bytes::new(data);
    let cfg = input.u8();
    let mut net = NetDecoder::new(DefragConfig {
        max_datagrams: usize::from(cfg & 0x7) + 1,
        max_age_frames: u64::from(cfg >> 3) + 1,
    });
    let mut frame = 0u64;
    while !input.is_empty() {
        frame += 1;
        let link = LINK_TYPES[usize::from(input.u8()) % LINK_TYPES.len()];
        let len = usize::from(input.u16());
        let bytes = input.take(len);
        let record = Record {
            frame,
            time: Timestamp::from_parts(frame as i64, 0, 1_000_000),
            interface: 0,
            link_type: LinkType(link),
            data: bytes,
            original_len: len as u32,
            file_offset: 0,
        };
        match net.decode(&record) {
            Decoded::Tcp(seg) => {
                assert!(
                    seg.payload.len() as u64 <= u64::from(seg.payload_len),
                    "captured payload longer than the wire payload"
                );
                let _ = seg.header.flags().names();
                let _ = seg.header.options();
            }
            Decoded::Skipped { offset, .. } => {
                assert!(offset <= bytes.len(), "skip offset beyond the frame");
                // What a frame listing says of it (DNS names, ARP, ICMP, NBNS): bounded text.
                if let Some(text) = wiretale::net::describe_other(LinkType(link), bytes) {
                    assert!(text.info.len() <= 64 * 1024, "description without bound");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tcp_reassembly
// ---------------------------------------------------------------------------------------------

/// What the checking handler knows about one direction of one connection.
#[derive(Default)]
struct DirCheck {
    /// Stream offset the next input must start at (if no gap intervenes), and the bytes it must
    /// start with (what the parser left unconsumed).
    expect: Option<(u64, Vec<u8>)>,
    ended: bool,
}

/// Handler that consumes and skips at random, and checks the reassembler's promises.
pub struct CheckingHandler {
    rng: Rng,
    /// Current frame (spans must not name later frames).
    pub frame: u64,
    dirs: HashMap<(u64, u8), DirCheck>,
    /// Events seen, by kind.
    pub events: HashMap<&'static str, u64>,
    /// Largest input handed to `data`.
    pub peak_input: usize,
    /// Flow summaries seen.
    pub closed: u64,
    /// Whether `data` checks input continuity (off when gaps make it unknowable).
    pub strict: bool,
    /// Zero-window episodes reported, by stream.
    zero_windows: HashMap<u64, u32>,
}

impl CheckingHandler {
    /// A handler whose consumption pattern comes from `seed`.
    pub fn new(seed: u64) -> Self {
        CheckingHandler {
            rng: Rng::new(seed),
            frame: 0,
            dirs: HashMap::new(),
            events: HashMap::new(),
            peak_input: 0,
            closed: 0,
            strict: true,
            zero_windows: HashMap::new(),
        }
    }

    fn key(info: &ConnInfo, dir: Dir) -> (u64, u8) {
        (info.stream, dir as u8)
    }

    fn check_map(&self, input: &[u8], map: &FrameMap<'_>) {
        if input.is_empty() {
            return;
        }
        let span = map.span(0..input.len());
        let span = span.expect("non-empty input has frames");
        assert!(span.last <= self.frame && span.first <= self.frame);
        assert!(!span.frames.is_empty() && span.frames.len() <= MAX_FRAMES_PER_SPAN);
        assert!(span.frames.windows(2).all(|w| w[0] < w[1]));
        let _ = map.span(input.len()..input.len());
        let _ = map.frame_at(input.len() - 1);
    }
}

impl StreamHandler for CheckingHandler {
    type Conn = ();

    fn open(&mut self, info: &ConnInfo) {
        // A stream id comes back only when its connection ended and the client retried with
        // the same SYN (tshark keeps the id): the byte streams then start over.
        self.dirs.retain(|(s, _), _| *s != info.stream);
    }

    fn data(
        &mut self,
        _: &mut (),
        info: &ConnInfo,
        dir: Dir,
        input: &[u8],
        map: FrameMap<'_>,
    ) -> Feed {
        assert!(!input.is_empty(), "data called without bytes");
        self.peak_input = self.peak_input.max(input.len());
        self.check_map(input, &map);
        let strict = self.strict;
        let state = self.dirs.entry(Self::key(info, dir)).or_default();
        assert!(!state.ended, "data after end");
        if let Some((offset, leftover)) = &state.expect {
            assert!(
                map.base() >= *offset,
                "input starts at {} before the expected {offset}",
                map.base()
            );
            if strict && map.base() == *offset {
                let n = leftover.len().min(input.len());
                assert_eq!(&input[..n], &leftover[..n], "unconsumed bytes changed");
            }
        }
        let consumed = match self.rng.below(4) {
            0 => 0,
            1 => input.len(),
            _ => self.rng.below(input.len() as u64 + 1) as usize,
        };
        let skip = match self.rng.below(6) {
            0 => self.rng.below(5000),
            1 => u64::MAX / 2,
            _ => 0,
        };
        let state = self.dirs.entry(Self::key(info, dir)).or_default();
        let after = consumed as u64 + skip;
        let leftover = input
            .get(after.min(input.len() as u64) as usize..)
            .unwrap_or(&[]);
        state.expect = Some((map.base() + after.min(u64::MAX / 4), leftover.to_vec()));
        Feed { consumed, skip }
    }

    fn gap(&mut self, _: &mut (), info: &ConnInfo, dir: Dir, gap: &Gap) {
        assert!(gap.len > 0, "empty gap");
        let state = self.dirs.entry(Self::key(info, dir)).or_default();
        assert!(!state.ended, "gap after end");
        // After a gap the parser resynchronises; anything buffered was dropped.
        state.expect = Some((gap.offset.saturating_add(gap.len), Vec::new()));
    }

    fn end(
        &mut self,
        _: &mut (),
        info: &ConnInfo,
        dir: Dir,
        _: EndReason,
        input: &[u8],
        map: FrameMap<'_>,
    ) {
        let state = self.dirs.entry(Self::key(info, dir)).or_default();
        assert!(!state.ended, "direction ended twice");
        state.ended = true;
        if !input.is_empty() {
            let _ = map.span(0..input.len());
        }
    }

    fn event(&mut self, _: &mut (), info: &ConnInfo, frame: u64, _: Timestamp, event: ConnEvent) {
        assert!(frame <= self.frame, "event at a future frame");
        let kind = match event {
            ConnEvent::Syn => "syn",
            ConnEvent::SynAck => "syn_ack",
            ConnEvent::Established { .. } => "established",
            ConnEvent::Fin { .. } => "fin",
            ConnEvent::Rst { .. } => "rst",
            ConnEvent::Gap { len, .. } => {
                assert!(len > 0, "empty gap event");
                "gap"
            }
            ConnEvent::OverlapConflict { .. } => "overlap_conflict",
            ConnEvent::OpenAtEnd { .. } => "open_at_end",
            ConnEvent::Evicted => "evicted",
            ConnEvent::ZeroWindow { .. } => {
                let reported = self.zero_windows.entry(info.stream).or_insert(0);
                *reported += 1;
                assert!(
                    *reported <= MAX_REPORTED_EPISODES,
                    "zero-window episodes reported beyond the cap"
                );
                "zero_window"
            }
            ConnEvent::WindowReopened { closed_secs, .. } => {
                assert!(closed_secs >= 0.0, "a window reopened before it closed");
                "window_reopened"
            }
            ConnEvent::Data { .. } => panic!("the TCP layer reported a run of data"),
        };
        *self.events.entry(kind).or_insert(0) += 1;
    }

    fn closed(&mut self, _: (), summary: FlowSummary) {
        self.closed += 1;
        for half in [&summary.to_server, &summary.to_client] {
            // Per segment at most: the hole before it, its own uncaptured tail, a buffer-cap
            // drop; plus a hole before the FIN at the end.
            assert!(half.gaps <= 3 * half.packets + 2, "runaway gap reporting");
        }
        let windows = summary.zero_window.as_deref().copied().unwrap_or_default();
        for (zw, half) in [
            (windows.to_server, &summary.to_server),
            (windows.to_client, &summary.to_client),
        ] {
            let Some(zw) = zw else { continue };
            assert!(
                u64::from(zw.episodes) <= half.zero_windows,
                "an episode per zero window at most"
            );
            assert!(zw.not_reported <= zw.episodes);
            assert!(zw.longest.closed_secs >= zw.first.closed_secs);
            assert!(zw.longest.closed_secs >= zw.last.closed_secs);
            assert!(zw.closed_secs + 1e-6 >= zw.longest.closed_secs);
            assert!(zw.first.frame <= zw.last.frame);
        }
        let _ = serde_json::to_string(&summary);
    }
}

/// Builds a 20-byte TCP header (plus `payload`) for the tracker, window 64240.
pub fn tcp_bytes(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    tcp_bytes_with_window(sport, dport, seq, ack, flags, 64_240, payload)
}

/// [`tcp_bytes`] advertising `window`.
pub fn tcp_bytes_with_window(
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(20 + payload.len());
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&ack.to_be_bytes());
    b.push(5 << 4);
    b.push(flags);
    b.extend_from_slice(&window.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(payload);
    b
}

/// Drives a [`TcpTracker`] with fuzzed segments between a few endpoints: each op picks a flow,
/// a direction, flags, a sequence number near the last one, an acknowledgment, a payload and
/// how much of it was "not captured". Small caps make every cap reachable.
pub fn tcp_reassembly(data: &[u8]) {
    let mut input = Bytes::new(data);
    let c = input.u8();
    let sizes = [16usize, 100, 1500, 1 << 20];
    let config = TcpConfig {
        max_flows: usize::from(c & 0x3) + 1,
        half: HalfConfig {
            max_buffer: sizes[usize::from((c >> 2) & 3)],
            max_ooo_bytes: sizes[usize::from((c >> 4) & 3)],
            max_ooo_wait: [1, 4, 64, 1000][usize::from(c >> 6)],
        },
        ..TcpConfig::default()
    };
    let mut handler = CheckingHandler::new(seed_of(data));
    let mut tracker: TcpTracker<CheckingHandler> = TcpTracker::new(config);
    // Last sequence number used per (flow, direction), so deltas stay near the stream.
    let mut seqs = [[1000u32, 5000u32]; 6];
    let mut frame = 0u64;
    while !input.is_empty() && frame < 2000 {
        frame += 1;
        handler.frame = frame;
        let sel = input.u8();
        let flow = usize::from(sel % 6);
        let dir = (sel >> 3) & 1;
        let raw_flags = input.u8();
        let flags = raw_flags & 0x1f; // FIN SYN RST PSH ACK
                                      // A zero window now and then: windows that close, reopen and flap.
        let window = if raw_flags & 0x20 != 0 { 0 } else { 64_240 };
        let flags = flags | if sel & 0x80 != 0 { 0x10 } else { 0 };
        let delta = input.u16() as i16;
        let seq = if sel & 0x40 != 0 {
            input.u32()
        } else {
            seqs[flow][usize::from(dir)].wrapping_add(delta as i32 as u32)
        };
        let ack_delta = input.u8() as i8;
        let ack = seqs[flow][usize::from(1 - dir)].wrapping_add(ack_delta as i32 as u32);
        let len = usize::from(input.u8());
        let extra = if sel & 0x20 != 0 {
            u32::from(input.u8())
        } else {
            0
        };
        let payload = input.take(len);
        seqs[flow][usize::from(dir)] = seq.wrapping_add(payload.len() as u32);
        let client = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + flow as u8 / 2)),
            40_000 + (flow as u16 % 2),
        );
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)), 443);
        let (src, dst) = if dir == 0 {
            (client, server)
        } else {
            (server, client)
        };
        let bytes = tcp_bytes_with_window(src.port(), dst.port(), seq, ack, flags, window, payload);
        let Ok(header) = TcpHeader::parse(&bytes) else {
            panic!("built header must parse");
        };
        let segment = Segment {
            src,
            dst,
            header,
            payload: header.payload(),
            payload_len: payload.len() as u32 + extra,
        };
        let time = Timestamp::from_parts(frame as i64, 0, 1);
        let info = tracker.segment(frame, time, &segment, &mut handler);
        assert!(
            tracker.flows_in_table() <= config.max_flows,
            "flow table above its cap"
        );
        let _ = info.relative_seq;
    }
    tracker.finish(&mut handler, Timestamp::from_parts(frame as i64 + 1, 0, 1));
    assert_eq!(tracker.flows_in_table(), 0);
    let stats = tracker.stats();
    assert!(stats.peak_flows <= config.max_flows as u64);
    assert_eq!(
        handler.closed, stats.streams,
        "every stream is summarised once"
    );
    assert_eq!(
        handler.events.get("evicted").copied().unwrap_or(0),
        stats.evicted_open,
        "every eviction is reported"
    );
    assert!(
        handler.peak_input <= config.half.max_buffer + 2 * 255 + 64,
        "input {} beyond the buffer cap {}",
        handler.peak_input,
        config.half.max_buffer
    );
}

// ---------------------------------------------------------------------------------------------
// Stream parsers (TLS, HTTP): a reassembler stand-in
// ---------------------------------------------------------------------------------------------

/// Feeds a [`ConnectionParser`] like the TCP layer does: per direction, unconsumed bytes are
/// kept (up to `max_buffer`, past which they are dropped as a gap), `skip` drops later bytes
/// unseen. Checks that the parser's answers and emitted ranges stay inside its input.
pub struct StreamDriver<P: ConnectionParser> {
    /// The parser under test.
    pub parser: P,
    buf: [Vec<u8>; 2],
    skip: [u64; 2],
    /// Most bytes the parser left unconsumed in one direction.
    pub peak_buffered: usize,
    /// Cap on unconsumed bytes (the reassembler's `max_buffer`).
    pub max_buffer: usize,
    /// Times the cap was hit (the driver dropped the buffer and reported a gap).
    pub buffer_cap_hits: u64,
    /// Messages emitted, in order (kept up to `max_messages`).
    pub messages: Vec<P::Message>,
    /// Messages emitted in total.
    pub message_count: u64,
    /// How many messages to keep.
    pub max_messages: usize,
    /// Bytes skipped at the parser's request.
    pub skipped: u64,
}

fn dir_index(dir: Dir) -> usize {
    match dir {
        Dir::ToServer => 0,
        Dir::ToClient => 1,
    }
}

impl<P: ConnectionParser> StreamDriver<P> {
    /// A driver around `parser` with the reassembler's default buffer cap.
    pub fn new(parser: P) -> Self {
        StreamDriver {
            parser,
            buf: [Vec::new(), Vec::new()],
            skip: [0, 0],
            peak_buffered: 0,
            max_buffer: 1 << 20,
            buffer_cap_hits: 0,
            messages: Vec::new(),
            message_count: 0,
            max_messages: 10_000,
            skipped: 0,
        }
    }

    fn emit_into<'m>(
        messages: &'m mut Vec<P::Message>,
        count: &'m mut u64,
        max: usize,
        len: usize,
    ) -> impl FnMut(Range<usize>, P::Message) + 'm {
        move |range: Range<usize>, message| {
            assert!(
                range.start <= range.end && range.end <= len,
                "emitted range {range:?} outside input of {len} bytes"
            );
            *count += 1;
            if messages.len() < max {
                messages.push(message);
            }
        }
    }

    /// New bytes in direction `dir`.
    pub fn push(&mut self, dir: Dir, mut bytes: &[u8]) {
        let d = dir_index(dir);
        if self.skip[d] > 0 {
            let n = self.skip[d].min(bytes.len() as u64);
            self.skip[d] -= n;
            self.skipped += n;
            bytes = &bytes[n as usize..];
        }
        if bytes.is_empty() {
            return;
        }
        self.buf[d].extend_from_slice(bytes);
        let mut pos = 0usize;
        loop {
            let input = &self.buf[d][pos..];
            if input.is_empty() {
                break;
            }
            let len = input.len();
            let mut emit = Self::emit_into(
                &mut self.messages,
                &mut self.message_count,
                self.max_messages,
                len,
            );
            let feed = self.parser.feed(dir, input, &mut emit);
            assert!(feed.consumed <= len, "consumed {} of {len}", feed.consumed);
            pos += feed.consumed;
            let available = (len - feed.consumed) as u64;
            let now = feed.skip.min(available);
            self.skip[d] += feed.skip - now;
            self.skipped += now;
            pos += now as usize;
            if feed.consumed == 0 && feed.skip == 0 {
                break;
            }
        }
        self.buf[d].drain(..pos);
        self.peak_buffered = self.peak_buffered.max(self.buf[d].len());
        if self.buf[d].len() > self.max_buffer {
            self.buffer_cap_hits += 1;
            let dropped = self.buf[d].len() as u64;
            self.buf[d].clear();
            self.parser.gap(dir, dropped);
        }
    }

    /// `len` bytes of `dir` are missing (a hole).
    pub fn gap(&mut self, dir: Dir, len: u64) {
        let d = dir_index(dir);
        let skipped = self.skip[d].min(len);
        self.skip[d] -= skipped;
        if len > skipped {
            self.buf[d].clear();
            self.parser.gap(dir, len - skipped);
        }
    }

    /// `dir` ends.
    pub fn end(&mut self, dir: Dir, reason: EndReason) {
        let d = dir_index(dir);
        let input = std::mem::take(&mut self.buf[d]);
        let mut emit = Self::emit_into(
            &mut self.messages,
            &mut self.message_count,
            self.max_messages,
            input.len(),
        );
        self.parser.end(dir, reason, &input, &mut emit);
    }
}

/// Splits fuzz bytes into a script of pushes, gaps and ends for both directions.
fn drive_stream<P: ConnectionParser>(driver: &mut StreamDriver<P>, input: &mut Bytes<'_>) {
    let mut ended = [false, false];
    while !input.is_empty() {
        let op = input.u8();
        let dir = if op & 1 == 0 {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        if ended[dir_index(dir)] {
            continue;
        }
        match op >> 1 {
            0..=99 => {
                let n = usize::from(input.u16() % 2048);
                let bytes = input.take(n);
                driver.push(dir, bytes);
            }
            100..=109 => {
                let len = u64::from(input.u16()) + 1;
                driver.gap(dir, len);
            }
            110..=114 => {
                let reason = match input.u8() % 3 {
                    0 => EndReason::Fin,
                    1 => EndReason::Reset,
                    _ => EndReason::CaptureEnd,
                };
                driver.end(dir, reason);
                ended[dir_index(dir)] = true;
            }
            _ => {
                // A run of the rest as one push (large messages).
                let bytes = input.rest();
                driver.push(dir, bytes);
            }
        }
    }
    for dir in [Dir::ToServer, Dir::ToClient] {
        if !ended[dir_index(dir)] {
            driver.end(dir, EndReason::CaptureEnd);
        }
    }
}

/// TLS stream parser on a fuzzed script of both directions.
pub fn tls_stream(data: &[u8]) {
    let mut input = Bytes::new(data);
    let c = input.u8();
    let config = TlsParserConfig {
        max_handshake_message: [64usize, 1024, 16 * 1024, 256 * 1024][usize::from(c & 3)],
    };
    let mut driver = StreamDriver::new(TlsConnectionParser::with_config(config));
    // Either the reassembler's cap applies, or none, to check the parser's own bound.
    let unbounded = (c >> 2) & 1 == 1;
    driver.max_buffer = if unbounded { usize::MAX } else { 4096 };
    drive_stream(&mut driver, &mut input);
    if unbounded {
        // The parser's own bound: a pending handshake message plus one record in view.
        let held_cap = config.max_handshake_message + 64 * 1024 + 2 * (1 << 14) + 2048;
        assert!(
            driver.peak_buffered <= held_cap,
            "TLS parser held {} bytes (cap {held_cap})",
            driver.peak_buffered
        );
    }
    let _ = serde_json::to_string(&driver.messages);
    let _ = serde_json::to_string(&driver.parser.state());
}

/// HTTP stream parser on a fuzzed script of both directions (start-of-connection or
/// mid-stream, small caps so each is reachable).
pub fn http_stream(data: &[u8]) {
    let mut input = Bytes::new(data);
    let c = input.u8();
    let config = HttpConfig {
        max_head_len: [64usize, 512, 64 * 1024, 1 << 20][usize::from(c & 3)],
        max_headers: [1usize, 8, 256, 8192][usize::from((c >> 2) & 3)],
        max_outstanding_requests: [1usize, 4, 128, 65536][usize::from((c >> 4) & 3)],
        max_chunk_line_len: [16usize, 4096][usize::from((c >> 6) & 1)],
        show_secrets: c & 0x80 != 0,
    };
    let parser = if input.u8() & 1 == 0 {
        HttpConnectionParser::new(config.clone())
    } else {
        HttpConnectionParser::new_midstream(config.clone())
    };
    let mut driver = StreamDriver::new(parser);
    drive_stream(&mut driver, &mut input);
    assert!(
        driver.parser.outstanding_requests() <= config.max_outstanding_requests.clamp(1, 65536)
    );
    let _ = serde_json::to_string(&driver.messages);
}

// ---------------------------------------------------------------------------------------------
// ntlm_message
// ---------------------------------------------------------------------------------------------

/// NTLMSSP messages and `NTLM` / `Negotiate` header values: the bytes raw, as a header value
/// text, and base64-encoded under both schemes (which reaches the SPNEGO decoder).
pub fn ntlm_message(data: &[u8]) {
    use base64::Engine as _;
    use wiretale::proto::ntlm::{decode_auth_header_value, parse_message};

    let mut bytes = data.to_vec();
    // Most inputs should start with the signature so the fuzzer reaches the message bodies.
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        let mut with_sig = b"NTLMSSP\0".to_vec();
        with_sig.extend_from_slice(bytes.get(1..).unwrap_or(&[]));
        bytes = with_sig;
    }
    if let Ok(message) = parse_message(&bytes) {
        let _ = message.summary();
        let _ = message.message_type();
        let _ = message.flags();
        assert!(message.problems().len() <= 64);
        let _ = serde_json::to_string(&message);
    }
    let text = String::from_utf8_lossy(data);
    for value in [
        text.to_string(),
        format!(
            "NTLM {}",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        ),
        format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(data)
        ),
    ] {
        if let Some(token) = decode_auth_header_value(&value) {
            let _ = token.summary();
            let _ = token.ntlm_message();
            let _ = serde_json::to_string(&token);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// display_filter
// ---------------------------------------------------------------------------------------------

/// A frame with a value for every field, derived from a seed.
struct EveryField(u64);

impl FieldSource for EveryField {
    fn has_protocol(&self, protocol: Protocol) -> bool {
        (self.0 >> (protocol as u64 % 64)) & 1 == 1
    }

    fn values(&self, field: Field, out: &mut dyn FnMut(Value<'_>)) {
        let v = self.0.rotate_left(field as u32);
        out(Value::Unsigned(v & 0xffff));
        out(Value::Bool(v & 1 == 1));
        out(Value::Str("Client Hello"));
        out(Value::Addr(IpAddr::V4(Ipv4Addr::from(v as u32))));
        out(Value::Addr(IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(v),
        ))));
        if v & 2 == 2 {
            out(Value::Present);
        }
    }
}

/// Parses a fuzzed display filter; an accepted one prints to a canonical form that parses back
/// to the same filter (the documented round trip), and evaluates; a rejected one renders its
/// error with a column inside the text.
pub fn display_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match wiretale::filter::parse(text) {
        Ok(filter) => {
            let canonical = filter.to_string();
            // Escapes can make the canonical form longer than the input (`\x00` for a raw NUL,
            // `\\` for a backslash of a raw string); past the length cap it is rejected as too
            // long, and only that way (a documented limit, see docs/robustness.md).
            if canonical.chars().count() > wiretale::filter::MAX_FILTER_CHARS {
                let kind = wiretale::filter::parse(&canonical).err().map(|e| e.kind);
                assert_eq!(kind, Some(wiretale::filter::FilterErrorKind::TooLong));
                return;
            }
            let again = wiretale::filter::parse(&canonical).unwrap_or_else(|e| {
                panic!("canonical form {canonical:?} of {text:?} rejected: {e}")
            });
            assert_eq!(again, filter, "round trip of {text:?} via {canonical:?}");
            assert_eq!(again.to_string(), canonical);
            let _ = filter.matches(&EveryField(seed_of(data)));
            let _ = filter.layer();
            let _ = filter.is_frame_level();
        }
        Err(e) => {
            let chars = text.chars().count();
            assert!(
                e.column <= chars.max(wiretale::filter::MAX_FILTER_CHARS),
                "column {} beyond {chars}",
                e.column
            );
            assert!(e.width >= 1);
            let _ = e.render(text);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pipeline
// ---------------------------------------------------------------------------------------------

/// The whole analysis on a fuzzed capture file: frame accounting adds up, errors name the
/// frame after the last one read, and everything serialises.
pub fn pipeline(data: &[u8]) {
    let mut reader = match CaptureReader::new(Cursor::new(data)) {
        Ok(r) => r,
        Err(_) => return,
    };
    let mut config = AnalyzerConfig::default();
    // Small caps, so the fuzzer reaches them with small files.
    config.tcp.max_flows = 8;
    config.tcp.half.max_buffer = 4096;
    config.tcp.half.max_ooo_bytes = 4096;
    config.defrag.max_datagrams = 4;
    let mut collector = Collector {
        keep_frames: true,
        ..Collector::default()
    };
    let report = analyze(&mut reader, &config, &mut collector);
    let stats = &report.stats;
    assert_eq!(
        stats.frames_read,
        stats.frames_tcp + stats.frames_skipped(),
        "frame accounting"
    );
    assert_eq!(
        collector.frames.len() as u64,
        stats.frames_read,
        "one summary per frame"
    );
    if let Some(e) = &report.error {
        assert_eq!(
            e.frame,
            stats.frames_read + 1,
            "error names the unread frame"
        );
        assert!(e.offset <= data.len() as u64);
    }
    // Damage read past is all counted, each place with where reading resumed.
    assert!(stats.damage.len() as u64 <= stats.damaged_places);
    assert!(stats.damage.len() <= wiretale::pipeline::MAX_DAMAGE_KEPT);
    if stats.damaged_places as usize <= wiretale::pipeline::MAX_DAMAGE_KEPT {
        assert_eq!(stats.damage.len() as u64, stats.damaged_places);
        let skipped: u64 = stats.damage.iter().map(|d| d.skipped_bytes()).sum();
        assert_eq!(skipped, stats.damaged_bytes);
    }
    for place in &stats.damage {
        let at = place
            .resumed_at
            .expect("damage read past says where reading resumed");
        assert!(place.offset < at && at <= data.len() as u64, "{place}");
    }
    assert!(stats.tcp.peak_flows <= config.tcp.max_flows as u64);
    assert_eq!(collector.flows.len() as u64, stats.tcp.streams);
    // The CLI's JSON writer gives serde's text for every event, whatever the bytes made.
    let mut line = Vec::new();
    for event in &collector.events {
        line.clear();
        event
            .write_json(&mut line)
            .expect("an event writes as JSON");
        assert!(
            line == serde_json::to_vec(event).expect("an event serialises"),
            "Event::write_json differs from serde_json at frame {}",
            event.frame
        );
    }
    let single = transcript(&report, &collector);
    story_and_diagnosis(&report, &collector);
    tables_taken_by_connection(data, &config, &collector);

    // The same bytes on 2 shards (`--threads 2`): the same output, unless the run reports a
    // flow-table cap that makes it differ (documented in `pipeline::parallel`).
    let Ok(mut reader) = CaptureReader::new(Cursor::new(data)) else {
        panic!("the capture opened once and not twice");
    };
    config.threads = 2;
    let mut sharded = Collector {
        keep_frames: true,
        ..Collector::default()
    };
    let (report, divergence) =
        wiretale::pipeline::analyze_parallel(&mut reader, &config, &mut sharded);
    if divergence.after_retirement == 0 && divergence.full_shards == 0 {
        assert!(
            transcript(&report, &sharded) == single,
            "the sharded run differs from the single-threaded one"
        );
    }
}

/// The summary tables with their complete rows taken as they come (`drain_ended` after
/// every event and flow summary, as `wiretale tls|http|ntlm` take them) are the
/// tables replayed from the collected events: the same rows in the CLI's order (first frame
/// and stream, ties as taken).
fn tables_taken_by_connection(data: &[u8], config: &AnalyzerConfig, c: &Collector) {
    use wiretale::summary::{HttpSummary, NtlmSummary, TlsSummary};
    use wiretale::tcp::FlowSummary;
    use wiretale::timeline::{Event, EventSink};

    #[derive(Default)]
    struct Taking {
        tls: TlsSummary,
        http: HttpSummary,
        ntlm: NtlmSummary,
        rows: (
            Vec<wiretale::summary::TlsConnectionRow>,
            Vec<wiretale::summary::HttpExchangeRow>,
            Vec<wiretale::summary::NtlmExchangeRow>,
        ),
    }
    impl EventSink for Taking {
        fn event(&mut self, e: &Event) {
            self.tls.event(e);
            self.http.event(e);
            self.ntlm.event(e);
            self.take();
        }
        fn flow(&mut self, f: &FlowSummary) {
            self.tls.flow(f);
            self.http.flow(f);
            self.ntlm.flow(f);
            self.take();
        }
    }
    impl Taking {
        fn take(&mut self) {
            let (tls, http, ntlm) = &mut self.rows;
            self.tls.drain_ended(|r| tls.push(r));
            self.http.drain_ended(|r| http.push(r));
            self.ntlm.drain_ended(|r| ntlm.push(r));
        }
    }

    let Ok(mut reader) = CaptureReader::new(Cursor::new(data)) else {
        panic!("the capture opened once and not twice");
    };
    let mut taking = Taking::default();
    analyze(&mut reader, config, &mut taking);
    let Taking {
        tls,
        http,
        ntlm,
        rows: (mut tls_rows, mut http_rows, mut ntlm_rows),
    } = taking;
    tls_rows.extend(tls.finish().connections);
    for row in &mut http_rows {
        row.server_is_proxy = http.is_proxy(row.server);
    }
    http_rows.extend(http.finish().exchanges);
    ntlm_rows.extend(ntlm.finish().exchanges);
    tls_rows.sort_by_key(|r| (r.first_frame, r.stream));
    http_rows.sort_by_key(|r| (r.first_frame(), r.stream));
    ntlm_rows.sort_by_key(|r| (r.first_frame(), r.stream));
    assert!(
        tls_rows == TlsSummary::from_events(&c.events, &c.flows).connections,
        "TLS rows taken by connection differ from the table"
    );
    assert!(
        http_rows == HttpSummary::from_events(&c.events).exchanges,
        "HTTP rows taken by connection differ from the table"
    );
    assert!(
        ntlm_rows == NtlmSummary::from_events(&c.events).exchanges,
        "NTLM rows taken by connection differ from the table"
    );
}

/// The analyses on top: the diagnosis and the story from the collected events, and the same
/// from a [`StoryRecorder`] fed the events first and the flow summaries last (the order the
/// index must not depend on), its story spilled to a temporary file.
fn story_and_diagnosis(report: &wiretale::pipeline::Report, c: &Collector) {
    use wiretale::analysis::{Analysis, StoryOptions, StoryRecorder};
    use wiretale::timeline::EventSink;
    let opts = StoryOptions::default();
    let analysis = Analysis::from_parts(c.events.clone(), c.flows.clone(), report.clone());
    let story = analysis.story(&opts);
    // Few steps in memory, so the spill file path (sorted runs, merge, read back) runs too.
    let mut recorder = StoryRecorder::default().memory_steps(3);
    for e in &c.events {
        recorder.event(e);
    }
    for f in &c.flows {
        recorder.flow(f);
    }
    let told = recorder.finish(report.clone(), &opts);
    let json = |v: Result<String, serde_json::Error>| v.unwrap_or_default();
    assert!(
        json(serde_json::to_string(&told.lines())) == json(serde_json::to_string(&story)),
        "the recorder's story differs from the collected analysis's"
    );
    assert!(
        json(serde_json::to_string(&told.diagnosis))
            == json(serde_json::to_string(&analysis.diagnosis)),
        "the recorder's diagnosis differs from the collected analysis's"
    );
    conversations(report, c, &analysis);
}

/// `compare`'s streaming description of the capture, fed as the pipeline feeds it (each
/// connection's summary after its last event): the conversations `compare` builds from the
/// collected analysis, with a large and a small step cap; and the capture equals itself.
fn conversations(
    report: &wiretale::pipeline::Report,
    c: &Collector,
    analysis: &wiretale::analysis::Analysis,
) {
    use wiretale::analysis::compare::{
        compare_described, conversations, CompareOptions, ConversationRecorder,
    };
    use wiretale::timeline::EventSink;
    let json = |v: Result<String, serde_json::Error>| v.unwrap_or_default();
    let mut last_event: HashMap<u64, usize> = HashMap::new();
    for (i, e) in c.events.iter().enumerate() {
        if let Some(stream) = e.stream {
            last_event.insert(stream, i);
        }
    }
    let mut flows_after: std::collections::BTreeMap<Option<usize>, Vec<&FlowSummary>> =
        Default::default();
    for f in &c.flows {
        flows_after
            .entry(last_event.get(&f.stream).copied())
            .or_default()
            .push(f);
    }
    for max_steps in [1000, 3] {
        let mut recorder = ConversationRecorder::new(max_steps);
        for f in flows_after.get(&None).into_iter().flatten() {
            recorder.flow(f);
        }
        for (i, e) in c.events.iter().enumerate() {
            recorder.event(e);
            for f in flows_after.get(&Some(i)).into_iter().flatten() {
                recorder.flow(f);
            }
        }
        let described = recorder.finish(report.clone());
        assert!(
            json(serde_json::to_string(&described.conversations))
                == json(serde_json::to_string(&conversations(analysis, max_steps))),
            "the recorded conversations differ from the collected analysis's"
        );
        if max_steps == 1000 {
            let same = compare_described(&described, &described, &CompareOptions::default());
            assert!(!same.different, "a capture differs from itself");
        }
    }
}

/// Everything an analysis produced, serialised.
fn transcript(report: &wiretale::pipeline::Report, c: &Collector) -> [String; 4] {
    let json = |v: Result<String, serde_json::Error>| v.unwrap_or_default();
    [
        json(serde_json::to_string(report)),
        json(serde_json::to_string(&c.events)),
        json(serde_json::to_string(&c.frames)),
        json(serde_json::to_string(&c.flows)),
    ]
}
