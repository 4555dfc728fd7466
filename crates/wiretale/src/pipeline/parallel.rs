//! The pipeline on several threads (`AnalyzerConfig::threads`, `--threads N`), with output
//! identical, byte for byte, to the single-threaded run.
//!
//! ```text
//!                 ┌─ shard 0: TcpTracker + Dispatcher ─┐
//! reader + net ───┼─ shard 1: TcpTracker + Dispatcher ─┼── merger (calling thread) ── sink
//! (defrag)   │    └─ shard …                           ┘        ▲
//!            └── non-TCP frame summaries ───────────────────────┘
//! ```
//!
//! * **Reader** (one thread): reads records, decodes link and IP (IPv4 reassembly stays here,
//!   it needs every fragment), counts non-TCP frames, and routes each TCP segment to shard
//!   `hash(endpoint pair) % N`, so both directions of a connection meet in the same shard.
//!   Segments travel in *rounds* (up to [`ROUND_FRAMES`] frames or [`ROUND_BYTES`] payload
//!   bytes): every shard gets one batch per round, possibly empty, whose header fields and
//!   payload bytes are copied into one reusable buffer (buffers come back through a return
//!   channel, so there is no allocation per packet).
//! * **Shards** (N threads): each runs the single-threaded code, a [`TcpTracker`] driving a
//!   [`Dispatcher`], on its share of the connections, with local stream ids. Everything they
//!   produce is tagged with the frame being processed when it was produced and sent in
//!   chunks, then an end-of-round mark.
//! * **Merger** (the calling thread, which owns the sink): for each round, merges the reader's
//!   frame summaries and the shards' output by frame (a frame belongs to exactly one source,
//!   and within a frame a source's order is the single-threaded order). It numbers streams in
//!   order of their first frame, as the single table does (it learns "new stream" from the
//!   merged order), and rewrites `stream` in events, frame summaries and flow summaries; no
//!   stream id is baked into any text. At the end of the capture each shard flushes its
//!   table in local stream order and the merger interleaves them by global stream, which is
//!   the single table's order (ascending stream).
//!
//! **Closed connections.** The single table keeps a closed connection for its late packets
//! until `max_closed_flows` newer ones have closed, and reports its summary when it leaves.
//! Which one leaves when depends on every connection, so no shard can decide it: each shard
//! keeps its closed connections as long as the single table would at least (the same
//! `max_closed_flows` each, so a shard never lets go of one the single table still holds), and
//! reports each closing and each late packet with the connection's current summary
//! ([`StreamHandler::lingering`]). The merger mirrors the single table's queue of closed
//! connections and reports a summary exactly where the single table would; the shard's own
//! report of that connection, later, is dropped. (A connection that restarts after closing is
//! queued afresh in its shard, so that an entry from before the restart cannot let it go
//! earlier than the single table does.)
//!
//! **When the output can differ** (detected and counted in [`Divergence`]):
//! * a packet of a closed connection arrives after the single table retired it (more than
//!   `max_closed_flows` connections closed since) but while its shard still holds it: the
//!   single table starts a new stream for it, the shard counts it as a late packet;
//! * a shard's table fills up: each shard may hold `max_flows / N` connections, so a shard
//!   evicts where the single table (with `max_flows` for all) might not, and the other way
//!   round.
//!
//! Memory stays bounded: every channel is bounded (in rounds or chunks), the merger holds one
//! chunk per source, the mirror at most `max_closed_flows` summaries, and the stream-id maps
//! only connections still in a shard's table.

use super::dispatch::{Conn, Dispatcher};
use super::reading::ReadCounters;
use super::{AnalyzerConfig, Limit, LimitHits, Report, Stats};
use crate::capture::{CaptureError, CaptureReader, LinkType, Record, Timestamp};
use crate::net::{Decoded, NetDecoder, Segment, TcpHeader};
use crate::tcp::{
    ConnEvent, ConnInfo, Dir, EndReason, Feed, FlowSummary, FrameMap, Gap, StreamHandler,
    TcpConfig, TcpStats, TcpTracker,
};
use crate::timeline::{Event, EventSink, FrameSummary};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Most shards: more threads than this are not useful for one capture.
pub const MAX_THREADS: usize = 64;
/// Frames per round (all shards together).
const ROUND_FRAMES: usize = 2048;
/// Captured TCP payload bytes per round (all shards together).
const ROUND_BYTES: usize = 1 << 20;
/// Rounds a shard's input channel holds.
const INPUT_ROUNDS: usize = 4;
/// Items per message to the merger.
const CHUNK_ITEMS: usize = 256;
/// Messages a shard's output channel holds (chunks and end-of-round marks).
const OUTPUT_MESSAGES: usize = 8;
/// Batch buffers larger than this are dropped instead of reused (one huge record).
const MAX_KEPT_BUFFER: usize = 4 * ROUND_BYTES;

/// Where a sharded analysis knows its output may differ from the single-threaded one (see the
/// module docs). All zero: the output is identical.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// Packets (late packets or restarts) of closed connections that the single table would
    /// already have retired while their shard still held them.
    pub after_retirement: u64,
    /// Shards whose flow table reached its share of `TcpConfig::max_flows`.
    pub full_shards: u64,
    /// Connections a shard forgot the sequence numbers of after they left its table (a
    /// frame listing's memory for `[TCP Port numbers reused]` was full): a single table,
    /// which forgets sooner, may not mark a 4-tuple reused that long after.
    pub forgotten_for_port_reuse: u64,
}

impl Divergence {
    /// Whether the output is known to be identical to the single-threaded run's.
    pub fn is_none(&self) -> bool {
        *self == Divergence::default()
    }
}

/// Analyses everything `reader` yields on `config.threads` shard threads (at least one) plus a
/// reader thread, merging into `sink` on the calling thread. The events, frame and flow
/// summaries and [`Report`] are those of [`super::analyze`] on one thread, unless
/// [`Divergence`] says otherwise (a flow-table cap was hit).
pub fn analyze_parallel(
    reader: &mut CaptureReader<'_>,
    config: &AnalyzerConfig,
    sink: &mut dyn EventSink,
) -> (Report, Divergence) {
    let shards = config.threads.clamp(1, MAX_THREADS);
    let wants_frames = sink.wants_frames();
    let shard_tcp = TcpConfig {
        max_flows: (config.tcp.max_flows / shards).max(1),
        ..config.tcp
    };
    let mut mirror = Mirror::new(config.tcp.max_closed_flows);
    let (read, totals) = std::thread::scope(|scope| {
        let (recycle_tx, recycle_rx) = channel::<Batch>();
        let mut to_shards = Vec::with_capacity(shards);
        let mut sources = Vec::with_capacity(shards + 1);
        let mut shard_threads = Vec::with_capacity(shards);
        let (reader_tx, reader_rx) = sync_channel::<Msg>(2 * INPUT_ROUNDS);
        sources.push(Source::new(reader_rx, None));
        for _ in 0..shards {
            let (in_tx, in_rx) = sync_channel::<ToShard>(INPUT_ROUNDS);
            let (out_tx, out_rx) = sync_channel::<Msg>(OUTPUT_MESSAGES);
            let (chunks_tx, chunks_rx) = channel::<Vec<Tagged>>();
            let recycle = recycle_tx.clone();
            shard_threads.push(scope.spawn(move || {
                run_shard(
                    config,
                    shard_tcp,
                    wants_frames,
                    in_rx,
                    out_tx,
                    chunks_rx,
                    recycle,
                )
            }));
            to_shards.push(in_tx);
            sources.push(Source::new(out_rx, Some(chunks_tx)));
        }
        drop(recycle_tx);
        let capture = &mut *reader;
        let reading = scope.spawn(move || {
            run_reader(
                capture,
                config,
                wants_frames,
                to_shards,
                reader_tx,
                recycle_rx,
            )
        });
        // `merge` drops the receivers when it returns, so no thread stays blocked on a send.
        let totals = merge(sources, &mut mirror, sink);
        let read = match reading.join() {
            Ok(read) => read,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // Joined by hand, not left to the scope: the scope returns once each thread's closure
        // has, possibly before the thread has run its thread-local destructors (the TLS
        // decoder's certificate cache), which then outlive the analysis (a leak report under
        // LeakSanitizer, found by the `pipeline` fuzz target).
        for shard in shard_threads {
            if let Err(panic) = shard.join() {
                std::panic::resume_unwind(panic);
            }
        }
        (read, totals)
    });
    let mut stats = read.stats;
    let full_shards = totals
        .iter()
        .filter(|t| t.tcp.peak_flows >= shard_tcp.max_flows as u64)
        .count() as u64;
    let mut tcp = TcpStats::default();
    for t in &totals {
        tcp.segments += t.tcp.segments;
        tcp.streams += t.tcp.streams;
        tcp.evicted_open += t.tcp.evicted_open;
        tcp.buffer_cap_hits = tcp.buffer_cap_hits.saturating_add(t.tcp.buffer_cap_hits);
        tcp.overlap_conflicts = tcp
            .overlap_conflicts
            .saturating_add(t.tcp.overlap_conflicts);
        for (proto, n) in &t.events {
            *stats.events.entry(proto).or_insert(0) += n;
        }
        stats.gap_bytes += t.gap_bytes;
        for (limit, hits) in &t.limits {
            stats.limits.entry(*limit).or_default().merge(hits);
        }
    }
    tcp.retired_closed = mirror.retired_closed;
    tcp.peak_flows = mirror.peak_flows;
    stats.tcp = tcp;
    stats.settle_limits(config);
    ReadCounters::report_done(reader, config);
    let report = Report {
        stats,
        error: read.error,
        format: reader.format(),
        interfaces: reader.interfaces().to_vec(),
        comments: reader.comments().to_vec(),
    };
    let divergence = Divergence {
        after_retirement: mirror.after_retirement,
        full_shards,
        forgotten_for_port_reuse: totals.iter().map(|t| t.retired_forgotten).sum(),
    };
    (report, divergence)
}

// ---------------------------------------------------------------------------------------------
// Messages

/// One TCP segment as the reader decoded it, its bytes in the batch's buffer.
struct SegmentCopy {
    frame: u64,
    time: Timestamp,
    cap_len: u32,
    original_len: u32,
    src: SocketAddr,
    dst: SocketAddr,
    /// The fixed TCP header rebuilt from the decoded fields (ports, sequence and
    /// acknowledgment numbers, data offset, flags, window), then, for a SYN, its window-scale
    /// option (the TCP layer scales windows by it), else an end-of-options byte. Checksum,
    /// urgent pointer and the other options are not carried: nothing reads them.
    header: [u8; 24],
    /// The captured payload, in [`Batch::bytes`].
    payload: Range<usize>,
    /// Payload length on the wire.
    payload_len: u32,
}

impl SegmentCopy {
    /// `window_scale`: carry a SYN's window-scale option (only a frame listing reads it).
    fn new(
        record: &Record<'_>,
        seg: &Segment<'_>,
        bytes: &mut Vec<u8>,
        window_scale: bool,
    ) -> Self {
        let h = &seg.header;
        let mut header = [0u8; 24];
        header[0..2].copy_from_slice(&h.src_port().to_be_bytes());
        header[2..4].copy_from_slice(&h.dst_port().to_be_bytes());
        header[4..8].copy_from_slice(&h.seq().to_be_bytes());
        header[8..12].copy_from_slice(&h.ack().to_be_bytes());
        let flags = h.flags().0;
        // Data offset (header_len / 4, at most 15) in the high nibble, the flags' top 4 bits
        // in the low nibble.
        let words = (h.header_len() / 4).min(15) as u8;
        header[12] = (words << 4) | ((flags >> 8) as u8 & 0x0f);
        header[13] = (flags & 0xff) as u8;
        header[14..16].copy_from_slice(&h.window().to_be_bytes());
        if window_scale && h.flags().syn() {
            // Fits: a header with this option is at least 24 bytes long (its data offset).
            if let Some(shift) = h.options().window_scale {
                header[20..24].copy_from_slice(&[3, 3, shift, 0]);
            }
        }
        let start = bytes.len();
        bytes.extend_from_slice(seg.payload);
        SegmentCopy {
            frame: record.frame,
            time: record.time,
            cap_len: u32::try_from(record.data.len()).unwrap_or(u32::MAX),
            original_len: record.original_len,
            src: seg.src,
            dst: seg.dst,
            header,
            payload: start..bytes.len(),
            payload_len: seg.payload_len,
        }
    }
}

/// One shard's segments of one round.
#[derive(Default)]
struct Batch {
    segments: Vec<SegmentCopy>,
    bytes: Vec<u8>,
}

enum ToShard {
    /// A round's segments; `first_time` is the capture's first frame time (relative times).
    Round { batch: Batch, first_time: Timestamp },
    /// The capture ended at `capture_end`: flush the table, report the totals.
    Finish { capture_end: Timestamp },
}

/// What a source sends the merger.
enum Msg {
    Items(Vec<Tagged>),
    EndOfRound,
    Finished(Box<ShardTotals>),
}

/// An item with its merge key: the frame being processed when it was produced, or during the
/// end-of-capture flush the (local) stream being flushed.
struct Tagged {
    key: u64,
    item: Item,
}

enum Item {
    /// The capture's first frame time (from the reader, merged first).
    Start(Timestamp),
    Event(Event),
    Frame(FrameSummary),
    /// A connection left the shard's table (local stream id in the summary).
    Flow(FlowSummary),
    /// The shard started a stream (local id).
    NewStream(u64),
    /// A stream that had ended started over with the same id (local id).
    Reopened(u64),
    /// A connection closed (`late == false`) or counted a late packet, with its summary now.
    Lingering {
        summary: FlowSummary,
        late: bool,
    },
    /// Moved out by the merger.
    Taken,
}

/// A shard's counters, sent at the end.
#[derive(Default)]
struct ShardTotals {
    tcp: TcpStats,
    /// Connections whose sequence bases the shard's table forgot (its memory was full).
    retired_forgotten: u64,
    events: BTreeMap<&'static str, u64>,
    gap_bytes: u64,
    limits: BTreeMap<Limit, LimitHits>,
}

/// The reader's counters.
#[derive(Default)]
struct ReadTotals {
    stats: Stats,
    error: Option<CaptureError>,
}

// ---------------------------------------------------------------------------------------------
// Reader

/// Hashes endpoint pairs to shards. Fixed, so a capture's work is split the same way each
/// run (which shard a connection lands in never changes the output, only the balance).
type ShardHasher = foldhash::fast::FixedState;

fn shard_hasher() -> ShardHasher {
    foldhash::fast::FixedState::with_seed(0x5749_5245_5441_4c45)
}

/// The shard of a connection: the same for both directions.
fn shard_of(src: SocketAddr, dst: SocketAddr, shards: usize, hasher: &ShardHasher) -> usize {
    let a = (src.ip(), src.port());
    let b = (dst.ip(), dst.port());
    let pair = if a <= b { (a, b) } else { (b, a) };
    (hasher.hash_one(pair) % shards as u64) as usize
}

/// Collects the reader's frame summaries (non-TCP frames), tagged with their frame.
struct FrameCollector<'a> {
    items: &'a RefCell<Vec<Tagged>>,
    wants_frames: bool,
}

impl EventSink for FrameCollector<'_> {
    fn frame(&mut self, frame: &FrameSummary) {
        self.items.borrow_mut().push(Tagged {
            key: frame.frame,
            item: Item::Frame(frame.clone()),
        });
    }
    fn wants_frames(&self) -> bool {
        self.wants_frames
    }
}

fn run_reader(
    reader: &mut CaptureReader<'_>,
    config: &AnalyzerConfig,
    wants_frames: bool,
    to_shards: Vec<SyncSender<ToShard>>,
    to_merger: SyncSender<Msg>,
    recycled: Receiver<Batch>,
) -> ReadTotals {
    let shards = to_shards.len().max(1);
    let hasher = shard_hasher();
    let mut net = NetDecoder::new(config.defrag);
    let frames = RefCell::new(Vec::new());
    let mut collector = FrameCollector {
        items: &frames,
        wants_frames,
    };
    let mut dispatcher = Dispatcher::new(config, &mut collector);
    let mut stats = Stats::default();
    let mut counters = ReadCounters::new(config);
    let mut pending: Vec<Batch> = (0..shards).map(|_| Batch::default()).collect();
    let mut round_frames = 0usize;
    let mut round_bytes = 0usize;
    let mut connected = true;
    let error = loop {
        counters.before_record(reader, config);
        let record = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break None,
            // Damage read past: noted, and the records after it are analysed.
            Err(e) if e.resumed_at.is_some() => {
                stats.note_damage(e);
                continue;
            }
            Err(e) => break Some(e),
        };
        let first_record = counters.first_time().is_none();
        let start = counters.on_record(&mut stats, &record);
        if first_record {
            // Key 0: merged before anything of frame 1.
            frames.borrow_mut().push(Tagged {
                key: 0,
                item: Item::Start(start),
            });
        }
        match net.decode(&record) {
            Decoded::Tcp(seg) => {
                stats.frames_tcp += 1;
                let shard = shard_of(seg.src, seg.dst, shards, &hasher);
                if let Some(batch) = pending.get_mut(shard) {
                    let copy = SegmentCopy::new(&record, &seg, &mut batch.bytes, wants_frames);
                    batch.segments.push(copy);
                }
                round_bytes += seg.payload.len();
            }
            Decoded::Skipped { reason, packet, .. } => {
                *stats.skipped.entry(reason).or_insert(0) += 1;
                if wants_frames {
                    dispatcher.begin_frame(&record, start);
                    dispatcher.end_other_frame(reason, packet, &record);
                }
            }
        }
        stats.note_fragments_evicted(net.fragments_evicted(), record.frame);
        round_frames += 1;
        if round_frames >= ROUND_FRAMES || round_bytes >= ROUND_BYTES {
            round_frames = 0;
            round_bytes = 0;
            let first = counters.first_time().unwrap_or_default();
            connected = send_round(
                &mut pending,
                first,
                &frames,
                &to_shards,
                &to_merger,
                &recycled,
            );
            if !connected {
                // The merger or a shard is gone (it panicked); the scope reports it.
                break None;
            }
        }
    };
    if connected {
        let first = counters.first_time().unwrap_or_default();
        if send_round(
            &mut pending,
            first,
            &frames,
            &to_shards,
            &to_merger,
            &recycled,
        ) {
            for tx in &to_shards {
                let _ = tx.send(ToShard::Finish {
                    capture_end: counters.last_time(),
                });
            }
            let _ = to_merger.send(Msg::Finished(Box::default()));
        }
    }
    stats.fragments_evicted = net.fragments_evicted();
    stats.settle_fragments(net.unassembled_fragment_frames());
    counters.finish(&mut stats);
    ReadTotals { stats, error }
}

/// Sends every shard its batch of the round and the merger the round's frame summaries.
/// `false`: a receiver is gone.
fn send_round(
    pending: &mut [Batch],
    first_time: Timestamp,
    frames: &RefCell<Vec<Tagged>>,
    to_shards: &[SyncSender<ToShard>],
    to_merger: &SyncSender<Msg>,
    recycled: &Receiver<Batch>,
) -> bool {
    for (batch, tx) in pending.iter_mut().zip(to_shards) {
        let fresh = recycled.try_recv().unwrap_or_default();
        let batch = std::mem::replace(batch, fresh);
        if tx.send(ToShard::Round { batch, first_time }).is_err() {
            return false;
        }
    }
    let items = std::mem::take(&mut *frames.borrow_mut());
    if !items.is_empty() && to_merger.send(Msg::Items(items)).is_err() {
        return false;
    }
    to_merger.send(Msg::EndOfRound).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Shards

/// A shard's output on its way to the merger.
struct ShardOut {
    items: Vec<Tagged>,
    /// The merge key of what is produced now.
    key: u64,
    /// During the end-of-capture flush, keys are the stream being flushed.
    flushing: bool,
    tx: SyncSender<Msg>,
    /// Chunks the merger is done with, empty.
    recycled: Receiver<Vec<Tagged>>,
    /// The merger is gone.
    broken: bool,
}

impl ShardOut {
    fn push(&mut self, item: Item) {
        self.items.push(Tagged {
            key: self.key,
            item,
        });
        if self.items.len() >= CHUNK_ITEMS {
            self.send_items();
        }
    }

    fn send_items(&mut self) {
        if self.items.is_empty() {
            return;
        }
        let fresh = match self.recycled.try_recv() {
            Ok(chunk) => chunk,
            Err(_) => Vec::with_capacity(CHUNK_ITEMS),
        };
        let items = std::mem::replace(&mut self.items, fresh);
        if !self.broken && self.tx.send(Msg::Items(items)).is_err() {
            self.broken = true;
        }
    }

    fn send(&mut self, msg: Msg) {
        self.send_items();
        if !self.broken && self.tx.send(msg).is_err() {
            self.broken = true;
        }
    }

    /// During the flush, what is produced belongs to `stream` (local id).
    fn flushing_stream(&mut self, stream: u64) {
        if self.flushing {
            self.key = stream;
        }
    }
}

/// The dispatcher's sink in a shard: everything goes to [`ShardOut`].
struct ShardSink<'a> {
    out: &'a RefCell<ShardOut>,
    wants_frames: bool,
}

impl EventSink for ShardSink<'_> {
    fn event(&mut self, event: &Event) {
        self.out.borrow_mut().push(Item::Event(event.clone()));
    }
    fn take_event(&mut self, event: Event) {
        self.out.borrow_mut().push(Item::Event(event));
    }
    fn frame(&mut self, frame: &FrameSummary) {
        self.out.borrow_mut().push(Item::Frame(frame.clone()));
    }
    fn flow(&mut self, flow: &FlowSummary) {
        self.out.borrow_mut().push(Item::Flow(flow.clone()));
    }
    fn take_flow(&mut self, flow: FlowSummary) {
        self.out.borrow_mut().push(Item::Flow(flow));
    }
    fn wants_frames(&self) -> bool {
        self.wants_frames
    }
}

/// The dispatcher plus what the merger needs to know about the table: new and restarted
/// streams, closed connections and their late packets.
struct ShardHandler<'a, 's> {
    inner: Dispatcher<'s>,
    out: &'a RefCell<ShardOut>,
    next_stream: u64,
}

impl StreamHandler for ShardHandler<'_, '_> {
    type Conn = Conn;
    const WANTS_LINGERING: bool = true;

    fn open(&mut self, info: &ConnInfo) -> Conn {
        {
            let mut out = self.out.borrow_mut();
            if info.stream >= self.next_stream {
                self.next_stream = info.stream.saturating_add(1);
                out.push(Item::NewStream(info.stream));
            } else {
                out.push(Item::Reopened(info.stream));
            }
        }
        self.inner.open(info)
    }

    fn data(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        dir: Dir,
        input: &[u8],
        map: FrameMap<'_>,
    ) -> Feed {
        self.out.borrow_mut().flushing_stream(info.stream);
        self.inner.data(conn, info, dir, input, map)
    }

    fn gap(&mut self, conn: &mut Conn, info: &ConnInfo, dir: Dir, gap: &Gap) {
        self.out.borrow_mut().flushing_stream(info.stream);
        self.inner.gap(conn, info, dir, gap)
    }

    fn wants_segment_details(&self) -> bool {
        self.inner.wants_segment_details()
    }

    fn skip_ended(&mut self, conn: &mut Conn, info: &ConnInfo, dir: Dir, frame: u64) {
        // Notes the frame in progress only: nothing goes out.
        self.inner.skip_ended(conn, info, dir, frame)
    }

    fn end(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        dir: Dir,
        reason: EndReason,
        input: &[u8],
        map: FrameMap<'_>,
    ) {
        self.out.borrow_mut().flushing_stream(info.stream);
        self.inner.end(conn, info, dir, reason, input, map)
    }

    fn event(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        frame: u64,
        time: Timestamp,
        event: ConnEvent,
    ) {
        self.out.borrow_mut().flushing_stream(info.stream);
        self.inner.event(conn, info, frame, time, event)
    }

    fn closed(&mut self, conn: Conn, summary: FlowSummary) {
        self.out.borrow_mut().flushing_stream(summary.stream);
        self.inner.closed(conn, summary)
    }

    fn lingering(&mut self, summary: FlowSummary, late: bool) {
        self.out
            .borrow_mut()
            .push(Item::Lingering { summary, late });
    }
}

fn run_shard(
    config: &AnalyzerConfig,
    tcp_config: TcpConfig,
    wants_frames: bool,
    input: Receiver<ToShard>,
    output: SyncSender<Msg>,
    recycled_chunks: Receiver<Vec<Tagged>>,
    recycle: Sender<Batch>,
) {
    let out = RefCell::new(ShardOut {
        items: Vec::with_capacity(CHUNK_ITEMS),
        key: 0,
        flushing: false,
        tx: output,
        recycled: recycled_chunks,
        broken: false,
    });
    let mut sink = ShardSink {
        out: &out,
        wants_frames,
    };
    let mut handler = ShardHandler {
        inner: Dispatcher::new(config, &mut sink),
        out: &out,
        next_stream: 0,
    };
    let mut tcp: TcpTracker<ShardHandler<'_, '_>> = TcpTracker::new(tcp_config);
    // Frame summaries take the captured length from the record's bytes, which the shard does
    // not have: it lends the dispatcher zeros of that length.
    let mut zeros: Vec<u8> = Vec::new();
    while let Ok(msg) = input.recv() {
        match msg {
            ToShard::Round {
                mut batch,
                first_time,
            } => {
                for copy in &batch.segments {
                    out.borrow_mut().key = copy.frame;
                    // Cannot fail: 24 bytes with a data offset of at least 5 words.
                    let Ok(header) = TcpHeader::parse(&copy.header) else {
                        continue;
                    };
                    let seg = Segment {
                        src: copy.src,
                        dst: copy.dst,
                        header,
                        payload: batch.bytes.get(copy.payload.clone()).unwrap_or(&[]),
                        payload_len: copy.payload_len,
                    };
                    if wants_frames {
                        let cap_len = copy.cap_len as usize;
                        if zeros.len() < cap_len {
                            zeros.resize(cap_len, 0);
                        }
                        let record = Record {
                            frame: copy.frame,
                            time: copy.time,
                            interface: 0,
                            link_type: LinkType(0),
                            data: zeros.get(..cap_len).unwrap_or(&[]),
                            original_len: copy.original_len,
                            file_offset: 0,
                        };
                        handler.inner.begin_frame(&record, first_time);
                    } else {
                        handler.inner.at_frame(copy.frame, copy.time);
                    }
                    let info = tcp.segment(copy.frame, copy.time, &seg, &mut handler);
                    handler.inner.end_tcp_frame(&seg, &info);
                }
                batch.segments.clear();
                batch.bytes.clear();
                if batch.bytes.capacity() <= MAX_KEPT_BUFFER {
                    let _ = recycle.send(batch);
                }
                let mut o = out.borrow_mut();
                o.send(Msg::EndOfRound);
                if o.broken {
                    return;
                }
            }
            ToShard::Finish { capture_end } => {
                out.borrow_mut().flushing = true;
                tcp.finish(&mut handler, capture_end);
                let mut stats = Stats::default();
                handler.inner.finish(&mut stats);
                let totals = ShardTotals {
                    tcp: tcp.stats(),
                    retired_forgotten: tcp.retired_connections_forgotten(),
                    events: stats.events,
                    gap_bytes: stats.gap_bytes,
                    limits: stats.limits,
                };
                out.borrow_mut().send(Msg::Finished(Box::new(totals)));
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Merger

/// A shard's local stream ids and their global ones.
#[derive(Default)]
struct StreamIds {
    /// Local stream id → global stream id, for streams still in the shard's table.
    map: HashMap<u64, u64, foldhash::fast::RandomState>,
    /// Streams that left the shard's table while it processed frame (or flushed stream)
    /// `left_at`: the frame's summary still names them, so they are forgotten after it.
    left: Vec<u64>,
    left_at: u64,
}

impl StreamIds {
    /// Forgets the streams that left the table before the item keyed `key`.
    fn forget_left(&mut self, key: u64) {
        if key != self.left_at {
            for local in self.left.drain(..) {
                self.map.remove(&local);
            }
        }
    }

    fn global(&self, local: u64) -> u64 {
        // Every stream is announced (NewStream) before anything mentions it.
        self.map.get(&local).copied().unwrap_or(local)
    }
}

/// One source's messages, read as needed.
struct Source {
    rx: Receiver<Msg>,
    /// The chunk being merged, and where its next item is.
    buf: Vec<Tagged>,
    pos: usize,
    /// Where merged chunks go back to, emptied, to be filled again (a chunk is ~100 kB:
    /// allocating one per message showed in profiles).
    recycle: Option<Sender<Vec<Tagged>>>,
    /// The current round (or the flush) has no more items.
    at_end: bool,
    totals: Option<Box<ShardTotals>>,
    /// The sender is gone without finishing (its thread panicked).
    broken: bool,
    ids: StreamIds,
}

impl Source {
    fn new(rx: Receiver<Msg>, recycle: Option<Sender<Vec<Tagged>>>) -> Self {
        Source {
            rx,
            buf: Vec::new(),
            pos: 0,
            recycle,
            at_end: false,
            totals: None,
            broken: false,
            ids: StreamIds::default(),
        }
    }

    /// The key of the next item of the current round, pulling messages as needed; `None` at
    /// the end of the round.
    fn peek(&mut self) -> Option<u64> {
        loop {
            if let Some(t) = self.buf.get(self.pos) {
                return Some(t.key);
            }
            if self.at_end {
                return None;
            }
            match self.rx.recv() {
                Ok(Msg::Items(items)) => {
                    let mut done = std::mem::replace(&mut self.buf, items);
                    self.pos = 0;
                    done.clear();
                    if let Some(tx) = &self.recycle {
                        let _ = tx.send(done);
                    }
                }
                Ok(Msg::EndOfRound) => self.at_end = true,
                Ok(Msg::Finished(totals)) => {
                    self.totals = Some(totals);
                    self.at_end = true;
                }
                Err(_) => {
                    self.broken = true;
                    self.at_end = true;
                }
            }
        }
    }

    fn finished(&self) -> bool {
        self.totals.is_some() || self.broken
    }

    /// Hands the items keyed `key` at the front of the current chunk to `mirror`.
    fn merge_key(&mut self, key: u64, mirror: &mut Mirror, sink: &mut dyn EventSink) {
        while let Some(tagged) = self.buf.get_mut(self.pos) {
            if tagged.key != key {
                break;
            }
            self.pos += 1;
            mirror.handle(&mut self.ids, tagged, sink);
        }
    }
}

/// The single table's view of closed connections and its size, rebuilt from the merged order.
struct Mirror {
    max_closed: usize,
    next_stream: u64,
    /// Closed connections the single table would still hold, with their summary.
    closed: HashMap<u64, FlowSummary, foldhash::fast::RandomState>,
    /// The single table's queue of closed connections (stale entries included, as there).
    queue: VecDeque<u64>,
    /// Retired here, not yet by their shard (whose report is then dropped).
    retired: HashSet<u64, foldhash::fast::RandomState>,
    table: u64,
    peak_flows: u64,
    retired_closed: u64,
    after_retirement: u64,
}

impl Mirror {
    fn new(max_closed: usize) -> Self {
        Mirror {
            max_closed,
            next_stream: 0,
            closed: HashMap::default(),
            queue: VecDeque::new(),
            retired: HashSet::default(),
            table: 0,
            peak_flows: 0,
            retired_closed: 0,
            after_retirement: 0,
        }
    }

    /// Handles one item of a shard with stream ids `ids`, writing what the single-threaded
    /// run writes to `sink`. The item stays in its chunk (dropped with it) unless the mirror
    /// keeps it.
    fn handle(&mut self, ids: &mut StreamIds, tagged: &mut Tagged, sink: &mut dyn EventSink) {
        ids.forget_left(tagged.key);
        match &mut tagged.item {
            Item::Event(_) => {
                let Item::Event(mut event) = std::mem::replace(&mut tagged.item, Item::Taken)
                else {
                    return;
                };
                event.stream = event.stream.map(|s| ids.global(s));
                sink.take_event(event);
            }
            Item::Frame(frame) => {
                frame.stream = frame.stream.map(|s| ids.global(s));
                sink.frame(frame);
            }
            Item::Start(first_frame_time) => sink.capture_start(*first_frame_time),
            Item::NewStream(local) => {
                let global = self.next_stream;
                self.next_stream += 1;
                ids.map.insert(*local, global);
                self.table += 1;
                self.peak_flows = self.peak_flows.max(self.table);
            }
            Item::Reopened(local) => {
                let global = ids.global(*local);
                if self.retired.contains(&global) {
                    self.after_retirement += 1;
                }
                self.closed.remove(&global);
            }
            Item::Lingering { .. } => {
                let Item::Lingering { mut summary, late } =
                    std::mem::replace(&mut tagged.item, Item::Taken)
                else {
                    return;
                };
                let global = ids.global(summary.stream);
                summary.stream = global;
                if !late {
                    // Where the single table's dispatcher passes the closing on: after the
                    // connection's last event, before another connection retires.
                    if sink.wants_closing() {
                        sink.closing(summary.clone());
                    }
                    self.closed.insert(global, summary);
                    self.queue.push_back(global);
                    self.retire_lingering(sink);
                } else if self.retired.contains(&global) {
                    self.after_retirement += 1;
                } else {
                    // A late packet (or a restart that closed again at once, which the single
                    // table does not queue again either).
                    self.closed.insert(global, summary);
                }
            }
            Item::Flow(_) => {
                let Item::Flow(mut summary) = std::mem::replace(&mut tagged.item, Item::Taken)
                else {
                    return;
                };
                let global = ids.global(summary.stream);
                ids.left.push(summary.stream);
                ids.left_at = tagged.key;
                summary.stream = global;
                if self.retired.remove(&global) {
                    return;
                }
                self.closed.remove(&global);
                self.table = self.table.saturating_sub(1);
                sink.take_flow(summary);
            }
            Item::Taken => {}
        }
    }

    /// Retires the connections that closed first once more than `max_closed` closed ones are
    /// queued, as `TcpTracker` does.
    fn retire_lingering(&mut self, sink: &mut dyn EventSink) {
        while self.queue.len() > self.max_closed {
            let Some(stream) = self.queue.pop_front() else {
                break;
            };
            if let Some(summary) = self.closed.remove(&stream) {
                self.retired.insert(stream);
                self.retired_closed += 1;
                self.table = self.table.saturating_sub(1);
                sink.take_flow(summary);
            }
        }
    }
}

/// Merges every source into `sink`; returns the shards' totals.
fn merge(
    mut sources: Vec<Source>,
    mirror: &mut Mirror,
    sink: &mut dyn EventSink,
) -> Vec<ShardTotals> {
    // Rounds: the reader (source 0) says whether another one comes.
    loop {
        for s in sources.iter_mut() {
            s.at_end = false;
        }
        let Some(reader) = sources.first_mut() else {
            return Vec::new();
        };
        reader.peek();
        if reader.finished() {
            break;
        }
        // Each frame comes from one source only: repeatedly take the lowest frame.
        loop {
            let mut best: Option<(usize, u64)> = None;
            for (i, s) in sources.iter_mut().enumerate() {
                if let Some(key) = s.peek() {
                    if best.is_none_or(|(_, k)| key < k) {
                        best = Some((i, key));
                    }
                }
            }
            let Some((i, key)) = best else { break };
            if let Some(source) = sources.get_mut(i) {
                source.merge_key(key, mirror, sink);
            }
        }
        if sources.iter().any(|s| s.broken) {
            return Vec::new();
        }
    }
    // End of capture: each shard flushes its table in stream order; interleave by global
    // stream, the single table's order.
    let shards = sources.get_mut(1..).unwrap_or_default();
    for s in shards.iter_mut() {
        s.at_end = false;
    }
    loop {
        let mut best: Option<(usize, u64)> = None;
        for (i, s) in shards.iter_mut().enumerate() {
            if let Some(local) = s.peek() {
                let global = s.ids.global(local);
                if best.is_none_or(|(_, g)| global < g) {
                    best = Some((i, global));
                }
            }
        }
        let Some((i, _)) = best else { break };
        let Some(source) = shards.get_mut(i) else {
            break;
        };
        // This stream's items, up to its summary.
        let Some(local) = source.peek() else { break };
        while source.peek() == Some(local) {
            source.merge_key(local, mirror, sink);
        }
    }
    shards
        .iter_mut()
        .filter_map(|s| s.totals.take().map(|t| *t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::analyze;
    use crate::test_support::{capture_files, shared_capture_files};
    use std::fmt::Write as _;
    use std::path::PathBuf;
    use wiretale_fixtures::workload::{write_workload, Format, Shape, Size};
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType as FLink, PcapOptions, TcpSession};

    /// Writes everything it receives, in order, one JSON line each (`E` event, `F` frame,
    /// `S` flow summary).
    struct Transcript {
        text: String,
        frames: bool,
    }

    impl EventSink for Transcript {
        fn event(&mut self, event: &Event) {
            let _ = writeln!(self.text, "E {}", serde_json::to_string(event).unwrap());
        }
        fn frame(&mut self, frame: &FrameSummary) {
            let _ = writeln!(self.text, "F {}", serde_json::to_string(frame).unwrap());
        }
        fn flow(&mut self, flow: &FlowSummary) {
            let _ = writeln!(self.text, "S {}", serde_json::to_string(flow).unwrap());
        }
        fn wants_frames(&self) -> bool {
            self.frames
        }
        fn capture_start(&mut self, first_frame_time: Timestamp) {
            let _ = writeln!(self.text, "T {first_frame_time:?}");
        }
    }

    /// The transcript and report of one analysis of `bytes`; `shards: None` is the
    /// single-threaded path.
    fn run(
        bytes: &[u8],
        config: &AnalyzerConfig,
        frames: bool,
        shards: Option<usize>,
    ) -> (String, Divergence) {
        let mut reader = CaptureReader::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sink = Transcript {
            text: String::new(),
            frames,
        };
        let (report, divergence) = match shards {
            None => (
                analyze(&mut reader, config, &mut sink),
                Divergence::default(),
            ),
            Some(n) => {
                let config = AnalyzerConfig {
                    threads: n,
                    ..config.clone()
                };
                analyze_parallel(&mut reader, &config, &mut sink)
            }
        };
        let _ = writeln!(sink.text, "R {}", serde_json::to_string(&report).unwrap());
        (sink.text, divergence)
    }

    /// Asserts that 1 to 4 shards write exactly what one thread writes, with and without
    /// frame summaries.
    fn assert_identical(name: &str, bytes: &[u8], config: &AnalyzerConfig) {
        for frames in [false, true] {
            let (expected, _) = run(bytes, config, frames, None);
            for shards in 1..=4 {
                let (got, divergence) = run(bytes, config, frames, Some(shards));
                assert_eq!(divergence, Divergence::default(), "{name}: {shards} shards");
                assert!(
                    got == expected,
                    "{name}, {shards} shards, frames {frames}: {}",
                    first_difference(&expected, &got)
                );
            }
        }
    }

    fn first_difference(expected: &str, got: &str) -> String {
        let line = expected
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(got.lines().count()));
        format!(
            "line {line} differs\nsingle:  {}\nsharded: {}",
            expected.lines().nth(line).unwrap_or("(none)"),
            got.lines().nth(line).unwrap_or("(none)"),
        )
    }

    fn testdata_files() -> Vec<PathBuf> {
        capture_files(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata"))
    }

    /// Every capture of `files`, as a whole file, on 1 to 4 shards.
    fn assert_all_identical(files: Vec<PathBuf>) {
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            assert_identical(
                &path.display().to_string(),
                &bytes,
                &AnalyzerConfig::default(),
            );
        }
    }

    #[test]
    fn every_testdata_capture_is_identical_on_1_to_4_shards() {
        let files = testdata_files();
        assert!(files.len() >= 20, "{} captures in testdata", files.len());
        assert_all_identical(files);
    }

    #[test]
    fn every_shared_capture_is_identical_on_1_to_4_shards() {
        assert_all_identical(shared_capture_files());
    }

    /// `analyze` takes the sharded path when `threads > 1`.
    #[test]
    fn analyze_honours_threads() {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/case-study.pcapng");
        let bytes = std::fs::read(path).unwrap();
        let (expected, _) = run(&bytes, &AnalyzerConfig::default(), true, None);
        let config = AnalyzerConfig {
            threads: 3,
            ..AnalyzerConfig::default()
        };
        let (got, _) = run(&bytes, &config, true, None);
        assert_eq!(got, expected);
    }

    fn workload(shape: Shape, size: Size) -> Vec<u8> {
        let mut out = Vec::new();
        write_workload(shape, size, Format::Pcap, &mut out).unwrap();
        out
    }

    fn with_closed(max_closed_flows: usize) -> AnalyzerConfig {
        let mut config = AnalyzerConfig::default();
        config.tcp.max_closed_flows = max_closed_flows;
        config
    }

    /// Generated traffic: many interleaved connections, several rounds of input, with the
    /// retention of closed connections busy (the merger decides when each summary is due).
    #[test]
    fn generated_workloads_are_identical() {
        let mixed = workload(Shape::Mixed, Size::Connections(120));
        assert_identical("mixed", &mixed, &AnalyzerConfig::default());
        // 256 connections open at a time, each one's last ACK comes after at most ~256 others
        // closed: a retention of 300 keeps every late ACK where the single table has it, and
        // 2 000 connections make the merger retire ~1 700 of them.
        let many = workload(Shape::ManyConns, Size::Connections(2_000));
        assert_identical("many-conns", &many, &with_closed(300));
        assert_identical("many-conns", &many, &AnalyzerConfig::default());
        let bulk = workload(Shape::BulkTls, Size::Bytes(3 << 20));
        assert_identical("bulk-tls", &bulk, &AnalyzerConfig::default());
    }

    /// A tiny deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n.max(1)
        }
    }

    /// What a scripted connection does next.
    #[derive(Clone, Copy)]
    enum Step {
        Handshake,
        Request,
        Response,
        Fragmented,
        Close,
        LateAck,
        Rst,
        Refused,
        Retry,
        Retransmit,
    }

    /// Connections on a small pool of ports (so 4-tuples are reused, with new ISNs: new
    /// streams), interleaved at random: refused and retried (the same stream reopened),
    /// reset, closed with late ACKs, fragmented segments, retransmissions.
    fn random_capture(seed: u64, connections: usize) -> Vec<u8> {
        let mut rng = Rng(seed | 1);
        let mut cap = Capture::new(FLink::Ethernet);
        let mut live: Vec<(TcpSession, VecDeque<Step>, Option<u32>)> = Vec::new();
        let mut started = 0;
        while started < connections || !live.is_empty() {
            if started < connections && (live.len() < 2 || rng.below(3) == 0) {
                let client_port = 40_000 + rng.below(12) as u16;
                let server = if rng.below(2) == 0 {
                    "10.0.0.1:80"
                } else {
                    "10.0.0.2:3128"
                };
                let client = SocketAddr::from(([10, 1, 0, rng.below(3) as u8 + 1], client_port));
                let isn = rng.below(1 << 31) as u32;
                let session =
                    TcpSession::new(client, server.parse().unwrap()).isns(isn, isn ^ 0x5555);
                use Step::*;
                let script: &[Step] = match rng.below(5) {
                    0 => &[Refused, Retry, Handshake, Request, Response, Close, LateAck],
                    1 => &[Handshake, Request, Rst],
                    2 => &[Handshake, Request, Fragmented, Response, Retransmit, Close],
                    3 => &[Request, Response, Close, LateAck, LateAck],
                    _ => &[
                        Handshake, Request, Response, Request, Response, Close, LateAck,
                    ],
                };
                live.push((session, script.iter().copied().collect(), None));
                started += 1;
                continue;
            }
            let i = rng.below(live.len() as u64) as usize;
            let Some((s, script, data_frame)) = live.get_mut(i) else {
                continue;
            };
            let Some(step) = script.pop_front() else {
                live.swap_remove(i);
                continue;
            };
            let request = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
            let response = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
            match step {
                Step::Handshake => {
                    s.handshake(&mut cap);
                }
                Step::Request => {
                    let sent = s.send(&mut cap, FDir::ToServer, request);
                    *data_frame = sent.data.first().copied();
                }
                Step::Response => {
                    s.send(&mut cap, FDir::ToClient, response);
                }
                Step::Fragmented => {
                    s.send_fragmented(&mut cap, FDir::ToServer, request, 3, &[2, 0, 1]);
                }
                Step::Close => {
                    s.fin(&mut cap, FDir::ToServer);
                    s.fin(&mut cap, FDir::ToClient);
                }
                Step::LateAck => {
                    s.ack(&mut cap, FDir::ToServer);
                }
                Step::Rst => {
                    s.rst(&mut cap, FDir::ToClient);
                }
                Step::Refused => {
                    s.syn(&mut cap);
                    s.refuse(&mut cap);
                }
                Step::Retry => {
                    s.syn(&mut cap);
                }
                Step::Retransmit => {
                    if let Some(frame) = *data_frame {
                        s.retransmit(&mut cap, frame);
                    }
                }
            }
        }
        cap.to_pcap(&PcapOptions::default()).unwrap()
    }

    /// A flow table too small for the traffic: each shard holds a share of `max_flows`, and
    /// says so.
    #[test]
    fn full_shard_tables_are_reported() {
        let many = workload(Shape::ManyConns, Size::Connections(600));
        let mut config = AnalyzerConfig::default();
        config.tcp.max_flows = 64;
        let (_, divergence) = run(&many, &config, false, Some(2));
        assert_eq!(divergence.full_shards, 2);
        let (_, divergence) = run(&many, &AnalyzerConfig::default(), false, Some(2));
        assert!(divergence.is_none());
    }

    /// The progress hook is called from the reader thread as the file is read, and once at
    /// the end.
    #[test]
    fn progress_is_reported_when_sharded() {
        use std::sync::{Arc, Mutex};
        let bytes = workload(Shape::Mixed, Size::Connections(60));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&calls);
        let config = AnalyzerConfig {
            progress: Some(super::super::ProgressHook::new(64 * 1024, move |p| {
                seen.lock().unwrap().push(*p)
            })),
            threads: 2,
            ..AnalyzerConfig::default()
        };
        let mut reader = CaptureReader::new(std::io::Cursor::new(&bytes[..])).unwrap();
        let report = analyze_parallel(
            &mut reader,
            &config,
            &mut Transcript {
                text: String::new(),
                frames: false,
            },
        )
        .0;
        let calls = calls.lock().unwrap();
        assert!(
            calls.len() as u64 > bytes.len() as u64 / (64 * 1024) / 2,
            "{} calls",
            calls.len()
        );
        let last = calls.last().unwrap();
        assert!(last.done);
        assert_eq!(last.bytes_read, bytes.len() as u64);
        assert_eq!(last.frames, report.stats.frames_read);
        assert_eq!(calls.iter().filter(|p| p.done).count(), 1);
        assert!(calls.windows(2).all(|w| w[0].bytes_read <= w[1].bytes_read));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Random interleavings: identical with the default retention of closed connections.
        /// With a retention of 0-47, the output is identical exactly when no divergence is
        /// reported (a late packet the single table no longer holds starts a stream there,
        /// so a divergence always shows).
        #[test]
        fn random_interleavings_are_identical(seed in proptest::prelude::any::<u64>(), closed in 0usize..48) {
            let bytes = random_capture(seed, 40);
            assert_identical("random", &bytes, &AnalyzerConfig::default());
            let config = with_closed(closed);
            let (expected, _) = run(&bytes, &config, true, None);
            for shards in 2..=3 {
                let (got, divergence) = run(&bytes, &config, true, Some(shards));
                proptest::prop_assert!(
                    divergence.is_none() == (got == expected),
                    "{divergence:?}, {}",
                    first_difference(&expected, &got)
                );
            }
        }
    }
}
