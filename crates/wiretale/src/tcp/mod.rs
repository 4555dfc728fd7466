//! TCP: the flow table, per-direction reassembly and connection events.
//!
//! [`TcpTracker`] takes TCP segments in file order and drives a [`StreamHandler`] (the next
//! layer up) with, per connection:
//!
//! * `open` when a new stream starts (stream ids equal Wireshark's `tcp.stream`: numbered in
//!   order of first appearance; a SYN on a known 4-tuple whose sequence number differs from
//!   that direction's first one starts a new stream, as in Wireshark),
//! * `data` with in-order bytes and their [`FrameMap`], honouring the handler's
//!   [`Feed`] (consumed/skip),
//! * `gap` for bytes that will never arrive, `end` per direction (FIN, RST, capture end),
//! * `event` for connection events (SYN, SYN-ACK, handshake complete, FIN, RST, gaps, ...),
//! * `closed` with the connection's [`FlowSummary`] when it leaves the table.
//!
//! Memory is bounded by [`TcpConfig`]: flows in the table, bytes buffered per direction,
//! out-of-order bytes held. Hitting a cap is reported as an event, never silent.

mod flow_table;
mod frame_map;
mod half;
mod history;
mod segment_analysis;
mod window;

pub use frame_map::{FrameMap, FrameSpan, Mark, MAX_FRAMES_PER_SPAN};
pub use half::{Gap, GapCause, HalfConfig, HalfStats};
pub use history::History;
pub use segment_analysis::{DupAck, Marker, SegmentAnalysis, MAX_RETIRED_CONNECTIONS_REMEMBERED};
pub use window::{ZeroWindowEpisode, ZeroWindowStats, ZeroWindows, MAX_REPORTED_EPISODES};

use crate::capture::Timestamp;
use crate::net::{Segment, TcpFlags};
use flow_table::{FlowKey, FlowTable};
use half::{ByteSink, HalfStream};
use serde::Serialize;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Limits of the TCP layer.
#[derive(Debug, Clone, Copy)]
pub struct TcpConfig {
    /// Connections kept in the table (open and recently closed). When full, the oldest closed
    /// one leaves first, then the oldest open one (reported as evicted).
    pub max_flows: usize,
    /// Closed connections kept in the table for their late packets (a last ACK, a
    /// retransmitted FIN) and so that those keep their stream id, as in tshark. Beyond this
    /// many, the one that closed first leaves; memory stays bounded however many connections
    /// a capture holds.
    pub max_closed_flows: usize,
    /// Per-direction buffer limits.
    pub half: HalfConfig,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            max_flows: 200_000,
            max_closed_flows: 4_096,
            half: HalfConfig::default(),
        }
    }
}

/// How the client and server of a connection were told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleBasis {
    /// The client sent the SYN.
    Syn,
    /// The server sent the SYN-ACK (its SYN was not captured).
    SynAck,
    /// Guess: the server's port is a well-known or registered service port.
    ServicePort,
    /// Guess: the client's port is in the ephemeral range.
    EphemeralPort,
    /// Guess: the first captured packet was sent by the client.
    FirstPacket,
}

impl RoleBasis {
    /// Whether the roles are a guess (connection picked up mid-way).
    pub fn is_guess(self) -> bool {
        !matches!(self, RoleBasis::Syn | RoleBasis::SynAck)
    }
}

/// Who is who in a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConnInfo {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// The client (initiator).
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub client: SocketAddr,
    /// The server (responder).
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub server: SocketAddr,
    /// How the roles were decided.
    pub role_basis: RoleBasis,
}

impl ConnInfo {
    /// (source, destination) of a direction.
    pub fn endpoints(&self, dir: Dir) -> (SocketAddr, SocketAddr) {
        match dir {
            Dir::ToServer => (self.client, self.server),
            Dir::ToClient => (self.server, self.client),
        }
    }
}

/// A connection-level event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnEvent {
    /// The client's SYN (the first one; retransmissions are counted in the summary).
    Syn,
    /// The server's SYN-ACK.
    SynAck,
    /// The client acknowledged the SYN-ACK: three-way handshake complete.
    Established {
        /// Seconds from SYN to this ACK.
        handshake_secs: Option<f64>,
    },
    /// A side closed its direction.
    Fin {
        /// Direction closed (the sender's).
        dir: Dir,
    },
    /// A side reset the connection.
    Rst {
        /// Direction of the RST (its sender's).
        dir: Dir,
        /// Seconds since the previous packet of this connection (either direction).
        idle_secs: f64,
    },
    /// Bytes missing from the capture in one direction.
    Gap {
        /// Direction.
        dir: Dir,
        /// Stream offset of the first missing byte.
        offset: u64,
        /// Missing bytes.
        len: u64,
        /// Why they are considered missing.
        cause: GapCause,
    },
    /// Overlapping segments carried different bytes for the same stream offset (first wins).
    OverlapConflict {
        /// Direction.
        dir: Dir,
        /// Stream offset.
        offset: u64,
    },
    /// The capture ended with the connection still open.
    OpenAtEnd {
        /// Seconds from the connection's last packet to the end of the capture.
        idle_secs: f64,
        /// The client's SYNs, when no SYN-ACK ever answered them (the connection never
        /// opened); absent otherwise.
        #[serde(skip_serializing_if = "Option::is_none")]
        unanswered: Option<UnansweredSyns>,
    },
    /// The flow table was full and this open connection was dropped from it.
    Evicted,
    /// A side advertised a zero receive window (the first such segment of an episode, without
    /// SYN, FIN or RST, as tshark's `tcp.analysis.zero_window`): its receive buffer is full and
    /// its peer must stop sending. At most [`MAX_REPORTED_EPISODES`] episodes a connection are
    /// reported; the summary counts them all ([`FlowSummary::zero_window`]).
    ZeroWindow {
        /// Direction of the segment (its sender's: the side whose window is zero).
        dir: Dir,
    },
    /// A side whose receive window was zero advertised a non-zero window again (tshark's
    /// `[TCP Window Update]` when the segment carries no data): its peer may send again.
    WindowReopened {
        /// Direction of the segment (its sender's: the side whose window reopened).
        dir: Dir,
        /// Seconds since the [`ConnEvent::ZeroWindow`] that began the episode.
        closed_secs: f64,
        /// Zero-window probes the peer sent meanwhile.
        probes: u32,
    },
    /// A run of one side's bytes on a connection whose protocol wiretale does not decode
    /// (neither TLS nor HTTP, `--decode-as …,none`, or what follows an HTTP `Upgrade`),
    /// reported once the run ends, at the frame of its last bytes: when the other side sends
    /// (the turn passes), when its side sends again after a pause of
    /// [`DATA_RUN_PAUSE_SECS`] or more, or when its direction ends. The pipeline reports it,
    /// not the TCP layer (which does not know what is decoded).
    Data {
        /// Direction of the bytes (their sender's).
        dir: Dir,
        /// Bytes in the run, as reassembled (a retransmission counts once, missing bytes
        /// not at all).
        bytes: u64,
        /// The run's first line, when its bytes begin with printable text (SMTP, FTP, POP3,
        /// IMAP, SSH banners…): up to [`DATA_PREVIEW_CHARS`] characters, `…` where cut.
        #[serde(skip_serializing_if = "Option::is_none")]
        preview: Option<String>,
    },
}

/// A direction's run of bytes (of TLS application data, or of a protocol not decoded) ends
/// when its next bytes come this many seconds or more after the run's last ones: the story
/// then tells the pause between them as idle time.
pub const DATA_RUN_PAUSE_SECS: f64 = 1.0;

/// Longest [`ConnEvent::Data`] preview, in characters (before the `…` that marks a cut).
pub const DATA_PREVIEW_CHARS: usize = 60;

/// SYNs that no SYN-ACK answered, by the end of the capture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UnansweredSyns {
    /// SYNs sent (the first and its retransmissions).
    pub syns: u32,
    /// Seconds from the first SYN to the connection's last packet.
    pub over_secs: f64,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Ending {
    /// Closed with FIN; `first` closed first, `both` whether the other side closed too.
    Fin {
        /// Who sent the first FIN.
        first: Dir,
        /// Both sides sent FIN.
        both: bool,
    },
    /// Reset.
    Rst {
        /// Who sent the (first) RST.
        by: Dir,
        /// Frame of the RST.
        frame: u64,
        /// Idle seconds before it.
        idle_secs: f64,
    },
    /// Still open when the capture ended.
    Open,
    /// Dropped from the flow table (cap).
    Evicted,
}

/// Counters and facts about one connection, emitted when it leaves the table.
#[derive(Debug, Clone, Serialize)]
pub struct FlowSummary {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// Client address.
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub client: SocketAddr,
    /// Server address.
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub server: SocketAddr,
    /// How client and server were decided.
    pub role_basis: RoleBasis,
    /// First frame.
    pub first_frame: u64,
    /// Last frame.
    pub last_frame: u64,
    /// Time of the first frame.
    pub start: Timestamp,
    /// Time of the last frame.
    pub end: Timestamp,
    /// Seconds from first to last frame.
    pub duration_secs: f64,
    /// SYNs sent by the client (more than one: retransmitted).
    pub syns: u32,
    /// Whether a SYN-ACK was seen.
    pub syn_ack: bool,
    /// SYN-ACKs sent by the server (more than one: retransmitted, or answers to resent SYNs).
    pub syn_acks: u32,
    /// Whether the three-way handshake completed.
    pub established: bool,
    /// Client → server counters.
    pub to_server: HalfStats,
    /// Server → client counters.
    pub to_client: HalfStats,
    /// Zeek conn.log-style history (upper case: client, lower case: server).
    pub history: String,
    /// How it ended.
    pub ending: Ending,
    /// Zero-window episodes per side; `None` (left out of the JSON) when neither side
    /// advertised a zero window. Boxed: summaries are moved about by value, and few
    /// connections have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_window: Option<Box<ZeroWindows>>,
}

/// Receives what the TCP layer finds. `Conn` is the handler's own per-connection state.
pub trait StreamHandler {
    /// Per-connection state of the handler (e.g. its protocol parser).
    type Conn;

    /// A new connection (stream) starts. Called again with the same stream id when a
    /// connection that ended (typically refused with RST) is retried with the same SYN: tshark
    /// keeps the id, and the byte streams start over with fresh state.
    fn open(&mut self, info: &ConnInfo) -> Self::Conn;

    /// In-order bytes of `dir`; `input` holds every unconsumed byte.
    fn data(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Dir,
        input: &[u8],
        map: FrameMap<'_>,
    ) -> Feed;

    /// Bytes of `dir` that will never arrive (only called when the parser must resynchronise;
    /// every gap is also reported as a [`ConnEvent::Gap`]).
    fn gap(&mut self, conn: &mut Self::Conn, info: &ConnInfo, dir: Dir, gap: &Gap);

    /// `dir` ended; `input` is what the parser left unconsumed.
    fn end(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Dir,
        reason: EndReason,
        input: &[u8],
        map: FrameMap<'_>,
    );

    /// The bytes of `dir` that the parser asked to skip (its [`Feed::skip`]) ran out in
    /// `frame`'s payload. For a listing of frames: what was skipped (a TLS application-data
    /// record's body) ends in that frame, which the parser never sees.
    fn skip_ended(&mut self, conn: &mut Self::Conn, info: &ConnInfo, dir: Dir, frame: u64) {
        let _ = (conn, info, dir, frame);
    }

    /// A connection event, found in `frame` at `time`.
    fn event(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        frame: u64,
        time: Timestamp,
        event: ConnEvent,
    );

    /// The connection left the table; its final summary (the handler's to keep).
    fn closed(&mut self, conn: Self::Conn, summary: FlowSummary);

    /// Whether the tracker calls [`StreamHandler::lingering`] (each call costs a summary).
    const WANTS_LINGERING: bool = false;

    /// Whether the tracker calls [`StreamHandler::lingering`]: [`StreamHandler::WANTS_LINGERING`]
    /// unless a handler decides at run time (the pipeline's dispatcher asks its sink).
    fn wants_lingering(&self) -> bool {
        Self::WANTS_LINGERING
    }

    /// Whether [`StreamHandler::lingering`] is also called after late packets (`late ==
    /// true`), or only as connections close: by default whenever it is called at all. (A
    /// short connection's last ACK is a late packet: a handler that only wants closings
    /// saves a summary per connection.)
    fn wants_late_lingering(&self) -> bool {
        self.wants_lingering()
    }

    /// Whether each segment's [`SegmentInfo`] carries the scaled window and the
    /// [`SegmentAnalysis`] markers (a frame listing wants them; reading the SYNs' options and
    /// judging every segment costs ~80 instructions a segment that nothing else reads).
    /// Without it `window` is the raw field and `analysis` is all false.
    fn wants_segment_details(&self) -> bool {
        false
    }

    /// A closed connection stays in the table for its late packets until
    /// [`TcpConfig::max_closed_flows`] newer ones closed. Called, when
    /// [`StreamHandler::wants_lingering`] says so, as it closes (`late == false`; before any
    /// other connection is retired to make room for it) and, when
    /// [`StreamHandler::wants_late_lingering`] says so too, after each late packet it counted
    /// (`late == true`), with the summary it would report if it left the table then. Lets a
    /// handler mirror which closed connections a single table would hold (the parallel
    /// pipeline's merger, `pipeline::parallel`: only such a handler, with
    /// [`StreamHandler::WANTS_LINGERING`], has a restarted connection's place in the table
    /// renewed), or pass closings on (the dispatcher, to a sink that wants them).
    fn lingering(&mut self, summary: FlowSummary, late: bool) {
        let _ = (summary, late);
    }
}

struct Flow<C> {
    uid: u64,
    info: ConnInfo,
    conn: Option<C>,
    halves: [HalfStream; 2],
    /// Wireshark's per-direction base sequence number (for port-reuse decisions).
    base_seq: [Option<u32>; 2],
    /// Per direction, from its SYN: `None` before one was seen, then the window-scale shift
    /// it announced (`Some(None)`: none). Windows are scaled only when both announced one.
    window_scale: [Option<Option<u8>>; 2],
    /// tshark's sequence analysis, only for a handler that wants segment details (allocated
    /// at the connection's first segment then, never otherwise).
    seq_analysis: Option<Box<segment_analysis::SeqAnalyzer>>,
    syns: u32,
    syn_time: Option<Timestamp>,
    syn_ack: bool,
    syn_acks: u32,
    established: bool,
    first_fin: Option<Dir>,
    fin_announced: [bool; 2],
    rst: Option<(Dir, u64, f64)>,
    first_frame: u64,
    last_frame: u64,
    start: Timestamp,
    last_time: Timestamp,
    history: History,
    closed: bool,
    /// Zero-window episodes, from the connection's first zero window on (boxed: most
    /// connections never see one).
    windows: Option<Box<window::WindowWatch>>,
}

fn idx(dir: Dir) -> usize {
    match dir {
        Dir::ToServer => 0,
        Dir::ToClient => 1,
    }
}

/// Counters of the whole TCP layer.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TcpStats {
    /// TCP segments processed.
    pub segments: u64,
    /// Streams started.
    pub streams: u64,
    /// Open connections dropped because the flow table was full.
    pub evicted_open: u64,
    /// Closed connections retired from the table (past `max_closed_flows`, or to make room).
    pub retired_closed: u64,
    /// Most connections in the table at once.
    pub peak_flows: u64,
    /// Times a per-direction buffer cap was hit, all connections (sum of the flows'
    /// `cap_hits`, counted as they leave the table).
    pub buffer_cap_hits: u64,
    /// Overlapping segments whose bytes differed, all connections (sum of the flows'
    /// `conflicts`).
    pub overlap_conflicts: u64,
}

/// A closed flow waiting in the table for late packets.
#[derive(Debug, Clone, Copy)]
struct Closed {
    /// Where the flow is: a flow keeps its slot until it leaves the table.
    slot: usize,
    /// Which of the flows ever held there (it may have left since and another taken the
    /// slot, or a restarted connection a new uid; see `restart`).
    uid: u64,
}

/// The flow table. See the module docs.
pub struct TcpTracker<H: StreamHandler> {
    config: TcpConfig,
    flows: FlowTable<Flow<H::Conn>>,
    /// Closed flows, oldest first (retired first when the table is full). Flows are named
    /// by slot and uid, not by key: 16 bytes an entry, not 64 or 80, in queues of thousands
    /// that were regrown (and copied) a dozen times on a capture of short connections.
    closed_order: VecDeque<Closed>,
    /// All flows by creation (slot and uid), oldest first (evicted when no closed flow
    /// remains).
    created_order: VecDeque<(usize, u64)>,
    next_stream: u64,
    next_uid: u64,
    stats: TcpStats,
    /// For tshark's port-reuse marker: what connections that left the table started with
    /// (empty unless the handler wants segment details).
    retired_bases: segment_analysis::RetiredBases,
}

impl<H: StreamHandler> std::fmt::Debug for TcpTracker<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTracker")
            .field("flows", &self.flows.len())
            .field("stats", &self.stats)
            .finish()
    }
}

/// What the tracker learned about one segment (for frame listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// Direction of the segment.
    pub dir: Dir,
    /// Relative sequence number (Wireshark's `tcp.seq`).
    pub relative_seq: u32,
    /// Relative acknowledgment number, when ACK is set.
    pub relative_ack: Option<u32>,
    /// The advertised window as Wireshark's `tcp.window_size`: scaled by the sender's shift
    /// when both SYNs carried the window-scale option, the raw field otherwise (a SYN's own
    /// window is never scaled; without the handshake the scale is unknown).
    pub window: u32,
    /// tshark's TCP analysis markers of the segment (all unset without
    /// [`StreamHandler::wants_segment_details`]).
    pub analysis: SegmentAnalysis,
}

impl<H: StreamHandler> TcpTracker<H> {
    /// An empty table.
    pub fn new(config: TcpConfig) -> Self {
        TcpTracker {
            config,
            flows: FlowTable::default(),
            closed_order: VecDeque::new(),
            created_order: VecDeque::new(),
            next_stream: 0,
            next_uid: 0,
            stats: TcpStats::default(),
            retired_bases: segment_analysis::RetiredBases::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> TcpStats {
        self.stats
    }

    /// Connections that left the table whose sequence numbers were then forgotten, the memory
    /// for `[TCP Port numbers reused]` being full (only for a frame listing).
    pub fn retired_connections_forgotten(&self) -> u64 {
        self.retired_bases.forgotten()
    }

    /// Connections currently in the table.
    pub fn flows_in_table(&self) -> usize {
        self.flows.len()
    }

    /// Processes one segment from frame `frame`.
    pub fn segment(
        &mut self,
        frame: u64,
        time: Timestamp,
        seg: &Segment<'_>,
        handler: &mut H,
    ) -> SegmentInfo {
        self.stats.segments += 1;
        let key = FlowKey::of(seg.src, seg.dst);
        let flags = seg.header.flags();
        let pure_syn = flags.syn() && !flags.ack();

        // A pure SYN that starts a new stream on a known 4-tuple (tshark: port numbers reused).
        let mut reused = false;
        // One lookup for the common case: a segment of a known stream.
        let known = self.flows.slot_of(&key);
        if let Some((slot, flow)) = known.and_then(|s| Some((s, self.flows.get_at_mut(s)?))) {
            // Wireshark (4.0): a SYN on a known 4-tuple starts a new conversation when its
            // sequence number differs from the base sequence number of its direction; the
            // same number is a retransmission, even after a RST.
            let new_conversation = pure_syn && {
                let dir = flow_dir(&flow.info, seg.src);
                matches!(flow.base_seq[idx(dir)], Some(base) if base != seg.header.seq())
            };
            reused = new_conversation;
            if !new_conversation {
                let was_closed = flow.closed;
                let info = process_segment(flow, frame, time, seg, handler, &self.config.half);
                // Only for a handler mirroring the table (a shard's, `WANTS_LINGERING`), not
                // for one that asks for closings at run time: a new uid changes which queue
                // entries retire the connection, and the single table must keep its own rule.
                if H::WANTS_LINGERING && was_closed && !flow.closed {
                    // Restarted: for a handler mirroring the table, the place it queued at
                    // when it closed before no longer retires it, so that this table never
                    // lets a connection go before a single table would.
                    flow.uid = self.next_uid;
                    self.next_uid += 1;
                }
                let wanted = if was_closed {
                    handler.wants_late_lingering()
                } else {
                    handler.wants_lingering()
                };
                if flow.closed && wanted {
                    handler.lingering(summarize(flow, ending_of(flow)), was_closed);
                }
                if flow.closed && !was_closed {
                    let uid = flow.uid;
                    self.closed_order.push_back(Closed { slot, uid });
                    self.retire_lingering(handler);
                }
                return info;
            }
        }
        if let Some(old) = self.flows.remove(&key) {
            self.retire(old, handler);
        }
        // A SYN on the ports of a connection the table let go (tshark keeps them all).
        reused |= self.retired_bases.take_reused(seg);
        self.make_room(handler);
        let info = self.new_info(seg, flags);
        let conn = handler.open(&info);
        let uid = self.next_uid;
        self.next_uid += 1;
        let (slot, flow) = self.flows.insert_with(key, || Flow {
            uid,
            info,
            conn: Some(conn),
            halves: [HalfStream::default(), HalfStream::default()],
            base_seq: [None, None],
            window_scale: [None, None],
            seq_analysis: None,
            syns: 0,
            syn_acks: 0,
            syn_time: None,
            syn_ack: false,
            established: false,
            first_fin: None,
            fin_announced: [false, false],
            rst: None,
            first_frame: frame,
            last_frame: frame,
            start: time,
            last_time: time,
            history: History::default(),
            closed: false,
            windows: None,
        });
        let mut info = process_segment(flow, frame, time, seg, handler, &self.config.half);
        if reused && handler.wants_segment_details() {
            info.analysis.set(Marker::PortNumbersReused);
        }
        let closed = flow.closed;
        let lingering =
            (closed && handler.wants_lingering()).then(|| summarize(flow, ending_of(flow)));
        self.created_order.push_back((slot, uid));
        self.stats.streams += 1;
        self.stats.peak_flows = self.stats.peak_flows.max(self.flows.len() as u64);
        if closed {
            if let Some(summary) = lingering {
                handler.lingering(summary, false);
            }
            self.closed_order.push_back(Closed { slot, uid });
            self.retire_lingering(handler);
        }
        info
    }

    /// Retires the connections that closed first once more than `max_closed_flows` closed
    /// ones are in the table.
    fn retire_lingering(&mut self, handler: &mut H) {
        if self.closed_order.len() <= self.config.max_closed_flows {
            return;
        }
        while self.closed_order.len() > self.config.max_closed_flows {
            let Some(Closed { slot, uid }) = self.closed_order.pop_front() else {
                break;
            };
            let Some(key) = self.flows.key_at(slot) else {
                continue;
            };
            // A closed connection may have been restarted since (see `restart`). Retired
            // where it lies in the table, not moved out first.
            let (stats, cfg) = (&mut self.stats, &self.config.half);
            let retired_bases = &mut self.retired_bases;
            let wanted = |f: &Flow<H::Conn>| f.uid == uid && f.closed;
            let retired = self.flows.remove_if_with(key, wanted, |flow| {
                retired_bases.note(&flow.info, flow.seq_analysis.as_deref());
                let ending = ending_of(flow);
                retire_flow(flow, handler, stats, cfg, ending, None);
            });
            if retired.is_some() {
                self.stats.retired_closed += 1;
            }
        }
        // The next to go (at the next closing, some packets from now) will be read from end
        // to end, long after it was last touched.
        if let Some(&Closed { slot, .. }) = self.closed_order.front() {
            self.flows.prefetch(slot);
        }
    }

    /// Ends every connection still in the table (end of capture) and reports their summaries.
    /// `capture_end` is the time of the capture's last frame.
    pub fn finish(&mut self, handler: &mut H, capture_end: Timestamp) {
        for mut flow in self.flows.drain_by_key(|f| f.info.stream) {
            let ending = ending_of(&flow);
            self.retire_with(&mut flow, handler, ending, Some(capture_end));
        }
        self.closed_order.clear();
        self.created_order.clear();
    }

    fn new_info(&mut self, seg: &Segment<'_>, flags: TcpFlags) -> ConnInfo {
        let stream = self.next_stream;
        self.next_stream += 1;
        let (client, server, role_basis) = if flags.syn() && !flags.ack() {
            (seg.src, seg.dst, RoleBasis::Syn)
        } else if flags.syn() && flags.ack() {
            (seg.dst, seg.src, RoleBasis::SynAck)
        } else {
            guess_roles(seg.src, seg.dst)
        };
        ConnInfo {
            stream,
            client,
            server,
            role_basis,
        }
    }

    fn make_room(&mut self, handler: &mut H) {
        while self.flows.len() >= self.config.max_flows.max(1) {
            if let Some(Closed { slot, uid }) = self.closed_order.pop_front() {
                // A closed connection may have been restarted since (see `restart`).
                if self.flows.get_at(slot).map(|f| (f.uid, f.closed)) == Some((uid, true)) {
                    let key = self.flows.key_at(slot);
                    if let Some(flow) = key.and_then(|key| self.flows.remove(&key)) {
                        self.stats.retired_closed += 1;
                        self.retire(flow, handler);
                    }
                }
                continue;
            }
            let Some((slot, uid)) = self.created_order.pop_front() else {
                break;
            };
            if self.flows.get_at(slot).map(|f| f.uid) == Some(uid) {
                let key = self.flows.key_at(slot);
                if let Some(mut flow) = key.and_then(|key| self.flows.remove(&key)) {
                    self.stats.evicted_open += 1;
                    if let Some(conn) = flow.conn.as_mut() {
                        handler.event(
                            conn,
                            &flow.info,
                            flow.last_frame,
                            flow.last_time,
                            ConnEvent::Evicted,
                        );
                    }
                    self.retire_with(&mut flow, handler, Ending::Evicted, None);
                }
            }
        }
        // Keep the bookkeeping queues from growing without bound with stale entries.
        if self.created_order.len() > self.flows.len().saturating_mul(2) + 1024 {
            let flows = &self.flows;
            self.created_order
                .retain(|&(slot, uid)| flows.get_at(slot).map(|f| f.uid) == Some(uid));
        }
    }

    fn retire(&mut self, mut flow: Flow<H::Conn>, handler: &mut H) {
        let ending = ending_of(&flow);
        self.retire_with(&mut flow, handler, ending, None);
    }

    fn retire_with(
        &mut self,
        flow: &mut Flow<H::Conn>,
        handler: &mut H,
        ending: Ending,
        capture_end: Option<Timestamp>,
    ) {
        if capture_end.is_none() {
            self.retired_bases
                .note(&flow.info, flow.seq_analysis.as_deref());
        }
        retire_flow(
            flow,
            handler,
            &mut self.stats,
            &self.config.half,
            ending,
            capture_end,
        );
    }
}

/// Ends a connection that leaves the table: ends both directions, reports its summary and
/// hands its handler state back (`flow` is left without it).
fn retire_flow<H: StreamHandler>(
    flow: &mut Flow<H::Conn>,
    handler: &mut H,
    stats: &mut TcpStats,
    cfg: &HalfConfig,
    ending: Ending,
    capture_end: Option<Timestamp>,
) {
    let end_time = flow.last_time;
    if let Some(mut conn) = flow.conn.take() {
        let reason = if matches!(ending, Ending::Rst { .. }) {
            EndReason::Reset
        } else {
            EndReason::CaptureEnd
        };
        if let (Ending::Open, Some(capture_end)) = (ending, capture_end) {
            handler.event(
                &mut conn,
                &flow.info,
                flow.last_frame,
                capture_end,
                ConnEvent::OpenAtEnd {
                    idle_secs: capture_end.seconds_since(end_time).max(0.0),
                    unanswered: (flow.syns > 0 && !flow.syn_ack).then(|| UnansweredSyns {
                        syns: flow.syns,
                        over_secs: (flow.syn_time)
                            .map_or(0.0, |t| end_time.seconds_since(t).max(0.0)),
                    }),
                },
            );
        }
        for dir in [Dir::ToServer, Dir::ToClient] {
            let why = if flow.halves[idx(dir)].fin_reached() {
                EndReason::Fin
            } else {
                reason
            };
            let at = LastSeen::of(flow);
            end_half(
                &mut flow.halves[idx(dir)],
                &at,
                &mut conn,
                dir,
                why,
                handler,
                cfg,
            );
        }
        let summary = summarize(flow, ending);
        for half in [&summary.to_server, &summary.to_client] {
            stats.buffer_cap_hits = stats.buffer_cap_hits.saturating_add(half.cap_hits);
            stats.overlap_conflicts = stats.overlap_conflicts.saturating_add(half.conflicts);
        }
        handler.closed(conn, summary);
    }
}

fn flow_dir(info: &ConnInfo, src: SocketAddr) -> Dir {
    if src == info.client && info.client != info.server {
        Dir::ToServer
    } else if src == info.server {
        Dir::ToClient
    } else {
        Dir::ToServer
    }
}

/// Ports that identify a server when a connection is picked up without its handshake.
const SERVICE_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 80, 110, 143, 389, 443, 445, 465, 587, 636, 993, 995, 1080, 1433, 1723,
    3128, 3268, 3389, 5060, 5061, 5222, 8000, 8008, 8080, 8081, 8088, 8443, 8888, 9090,
];

fn guess_roles(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr, RoleBasis) {
    let (sp, dp) = (src.port(), dst.port());
    let service = |p: u16| SERVICE_PORTS.contains(&p);
    if service(dp) && !service(sp) {
        return (src, dst, RoleBasis::ServicePort);
    }
    if service(sp) && !service(dp) {
        return (dst, src, RoleBasis::ServicePort);
    }
    if sp < 1024 && dp >= 1024 {
        return (dst, src, RoleBasis::ServicePort);
    }
    if dp < 1024 && sp >= 1024 {
        return (src, dst, RoleBasis::ServicePort);
    }
    if sp >= 49152 && dp < 49152 {
        return (src, dst, RoleBasis::EphemeralPort);
    }
    if dp >= 49152 && sp < 49152 {
        return (dst, src, RoleBasis::EphemeralPort);
    }
    (src, dst, RoleBasis::FirstPacket)
}

/// Adapts the handler to reassembly's byte sink for one direction.
struct SinkAdapter<'a, H: StreamHandler> {
    handler: &'a mut H,
    conn: &'a mut H::Conn,
    info: &'a ConnInfo,
    dir: Dir,
    time: Timestamp,
}

impl<H: StreamHandler> ByteSink for SinkAdapter<'_, H> {
    fn data(&mut self, input: &[u8], map: FrameMap<'_>) -> Feed {
        self.handler
            .data(self.conn, self.info, self.dir, input, map)
    }
    fn gap(&mut self, gap: Gap) {
        self.handler.event(
            self.conn,
            self.info,
            gap.frame,
            self.time,
            ConnEvent::Gap {
                dir: self.dir,
                offset: gap.offset,
                len: gap.len,
                cause: gap.cause,
            },
        );
        if gap.parser_affected {
            self.handler.gap(self.conn, self.info, self.dir, &gap);
        }
    }
    fn skip_ended(&mut self, frame: u64) {
        self.handler
            .skip_ended(self.conn, self.info, self.dir, frame);
    }
    fn conflict(&mut self, offset: u64, frame: u64) {
        self.handler.event(
            self.conn,
            self.info,
            frame,
            self.time,
            ConnEvent::OverlapConflict {
                dir: self.dir,
                offset,
            },
        );
    }
}

/// Where a connection is when one of its halves ends: its last frame and time.
struct LastSeen {
    info: ConnInfo,
    frame: u64,
    time: Timestamp,
}

impl LastSeen {
    fn of<C>(flow: &Flow<C>) -> Self {
        LastSeen {
            info: flow.info,
            frame: flow.last_frame,
            time: flow.last_time,
        }
    }
}

/// Ends one half (`flow.halves[dir]`, passed alone so the caller may hold the connection's
/// state, another field of the flow, at the same time).
fn end_half<H: StreamHandler>(
    half: &mut HalfStream,
    at: &LastSeen,
    conn: &mut H::Conn,
    dir: Dir,
    reason: EndReason,
    handler: &mut H,
    cfg: &HalfConfig,
) {
    let LastSeen { info, frame, time } = *at;
    if half.ended {
        return;
    }
    if !half.started {
        half.ended = true;
        handler.end(conn, &info, dir, reason, &[], FrameMap::new(0, &[]));
        return;
    }
    // `finish` needs the sink for gaps and a callback for the leftover bytes; both want the
    // handler, so collect the leftover first and hand it over afterwards.
    let mut leftover: Vec<u8> = Vec::new();
    let mut leftover_marks: Vec<Mark> = Vec::new();
    let mut leftover_base = 0;
    {
        let mut sink = SinkAdapter {
            handler: &mut *handler,
            conn: &mut *conn,
            info: &info,
            dir,
            time,
        };
        half.finish(frame, &mut sink, cfg, &mut |rest, map| {
            leftover.extend_from_slice(rest);
            leftover_base = map.base();
            if let Some((f, t)) = map.frame_at(0) {
                leftover_marks.push(Mark {
                    offset: map.base(),
                    frame: f,
                    time: t,
                });
            }
        });
    }
    handler.end(
        conn,
        &info,
        dir,
        reason,
        &leftover,
        FrameMap::new(leftover_base, &leftover_marks),
    );
}

fn process_segment<H: StreamHandler>(
    flow: &mut Flow<H::Conn>,
    frame: u64,
    time: Timestamp,
    seg: &Segment<'_>,
    handler: &mut H,
    cfg: &HalfConfig,
) -> SegmentInfo {
    let flags = seg.header.flags();
    let dir = flow_dir(&flow.info, seg.src);
    let i = idx(dir);
    let seq = seg.header.seq();
    let idle_secs = time.seconds_since(flow.last_time).max(0.0);
    flow.last_frame = frame;
    flow.last_time = time;
    // Wireshark's relative sequence numbers: a direction's base is the ISN of its SYN, or
    // one before the first sequence number it was seen sending. A direction not seen yet
    // takes its base from the first acknowledgment of it (one before the acked number, its
    // ISN when the ack is the handshake's): a capture picked up mid-connection then counts
    // both directions from where it starts, as tshark does, instead of the silent side's
    // acks all reading 1 until it speaks and its first data restarting at 1.
    if flow.base_seq[i].is_none() {
        flow.base_seq[i] = Some(if flags.syn() {
            seq
        } else {
            seq.wrapping_sub(1)
        });
    }
    let other = idx(dir.flip());
    if flags.ack() && flow.base_seq[other].is_none() {
        flow.base_seq[other] = Some(seg.header.ack().wrapping_sub(1));
    }
    // A pure SYN that did not start a new stream carries the client's initial sequence number
    // again. After the connection ended (typically refused with RST), that is the client
    // trying again, and the peers really start over: tshark keeps the stream id, and so do we,
    // but the new connection is decoded from its SYN on instead of being ignored as late
    // packets of a closed one.
    let restarted = flow.closed && flags.syn() && !flags.ack() && dir == Dir::ToServer;
    if restarted {
        restart(flow);
        flow.conn = Some(handler.open(&flow.info));
    }
    let details = handler.wants_segment_details();
    let mut analysis = SegmentAnalysis::default();
    if details {
        // Options are read from SYNs only: a handful of packets per connection.
        let syn_scale = flags.syn().then(|| seg.header.options().window_scale);
        if let Some(scale) = syn_scale.filter(|_| flow.window_scale[i].is_none()) {
            flow.window_scale[i] = Some(scale);
        }
        // Every segment, late ones of a closed connection too, as tshark analyses them.
        analysis = flow.seq_analysis.get_or_insert_with(Box::default).segment(
            i,
            &segment_analysis::SegmentFacts {
                frame,
                time,
                seq,
                ack: seg.header.ack(),
                len: seg.payload_len,
                flags,
                window: seg.header.window(),
                window_scale: syn_scale.flatten(),
            },
        );
    }
    let info = flow.info;
    let closed_before = flow.closed;

    // History letters.
    let orig = dir == Dir::ToServer;
    let payload_len = seg.payload_len;
    if flags.syn() && flags.fin() || flags.syn() && flags.rst() {
        flow.history.note(orig, 'q');
    } else if flags.syn() {
        flow.history.note(orig, if flags.ack() { 'h' } else { 's' });
    }
    if flags.fin() {
        flow.history.note(orig, 'f');
    }
    if flags.rst() {
        flow.history.note(orig, 'r');
    }
    if payload_len > 0 {
        flow.history.note(orig, 'd');
    } else if flags.ack() && !flags.syn() && !flags.fin() && !flags.rst() {
        flow.history.note(orig, 'a');
    }
    if seg.header.window() == 0 && !flags.rst() && !flags.syn() {
        flow.halves[i].stats.zero_windows += 1;
        flow.history.note_counted(orig, 'w');
    }

    let half_stats_before = flow.halves[i].stats;
    flow.halves[i].stats.packets += 1;
    flow.halves[i].stats.payload_bytes += u64::from(payload_len);

    if closed_before {
        // A late packet of a closed connection: counted, not analysed.
        return segment_info(flow, dir, seq, seg, flags, analysis);
    }
    // Borrowed beside the flow's other fields, not taken out and put back: the state is
    // hundreds of bytes, and moving it twice per segment cost ~3 % of an analysis.
    let Some(conn) = flow.conn.as_mut() else {
        // Unreachable: flows without state are never in the table.
        return segment_info(flow, dir, seq, seg, flags, analysis);
    };

    // Handshake events.
    if flags.syn() && !flags.ack() {
        flow.syns += 1;
        if flow.syns == 1 || restarted {
            flow.syn_time = Some(time);
            handler.event(conn, &info, frame, time, ConnEvent::Syn);
        }
        if !flow.halves[i].started {
            flow.halves[i].start(seq.wrapping_add(1));
        }
    } else if flags.syn() && flags.ack() {
        flow.syn_acks = flow.syn_acks.saturating_add(1);
        if !flow.syn_ack {
            flow.syn_ack = true;
            handler.event(conn, &info, frame, time, ConnEvent::SynAck);
        }
        if !flow.halves[i].started {
            flow.halves[i].start(seq.wrapping_add(1));
        }
    } else if !flow.halves[i].started {
        flow.halves[i].start(seq);
    }
    if flags.ack()
        && !flags.syn()
        && dir == Dir::ToServer
        && flow.syn_ack
        && !flow.established
        && !flags.rst()
    {
        flow.established = true;
        let handshake_secs = flow.syn_time.map(|t| time.seconds_since(t));
        handler.event(
            conn,
            &info,
            frame,
            time,
            ConnEvent::Established { handshake_secs },
        );
    }

    // Acknowledgments first: they can prove holes in the other direction.
    if flags.ack() {
        let other = dir.flip();
        let mut sink = SinkAdapter {
            handler: &mut *handler,
            conn: &mut *conn,
            info: &info,
            dir: other,
            time,
        };
        flow.halves[idx(other)].on_ack(seg.header.ack(), frame, &mut sink, cfg);
    }

    if !flags.rst() {
        let mut sink = SinkAdapter {
            handler: &mut *handler,
            conn: &mut *conn,
            info: &info,
            dir,
            time,
        };
        let data_seq = if flags.syn() {
            seq.wrapping_add(1)
        } else {
            seq
        };
        flow.halves[i].on_segment(
            data_seq,
            seg.payload,
            seg.payload_len,
            flags.fin(),
            frame,
            time,
            &mut sink,
            cfg,
        );
    }
    let stats = flow.halves[i].stats;
    if stats.retransmissions > half_stats_before.retransmissions {
        flow.history.note_counted(orig, 't');
    }
    if stats.gaps > half_stats_before.gaps {
        flow.history.note_counted(orig, 'g');
    }

    if flags.fin() {
        if flow.first_fin.is_none() {
            flow.first_fin = Some(dir);
        }
        let announce = !flow.fin_announced[i];
        flow.fin_announced[i] = true;
        // The direction ends before its FIN is announced, so a message the FIN completes (a
        // body that ends at the close, a head cut short) comes before the close, in the
        // order the sender wrote them, as a message that completed before the FIN does.
        if flow.halves[i].fin_reached() {
            let at = LastSeen {
                info,
                frame: flow.last_frame,
                time: flow.last_time,
            };
            end_half(
                &mut flow.halves[i],
                &at,
                conn,
                dir,
                EndReason::Fin,
                handler,
                cfg,
            );
        }
        if announce {
            handler.event(conn, &info, frame, time, ConnEvent::Fin { dir });
        }
    }
    if flags.rst() {
        if flow.rst.is_none() {
            flow.rst = Some((dir, frame, idle_secs));
            handler.event(conn, &info, frame, time, ConnEvent::Rst { dir, idle_secs });
        }
        for d in [Dir::ToServer, Dir::ToClient] {
            let reason = if flow.halves[idx(d)].fin_reached() {
                EndReason::Fin
            } else {
                EndReason::Reset
            };
            let at = LastSeen {
                info,
                frame: flow.last_frame,
                time: flow.last_time,
            };
            end_half(&mut flow.halves[idx(d)], &at, conn, d, reason, handler, cfg);
        }
    }
    // Zero-window episodes: one test a segment unless the connection had a zero window
    // (after the segment's other events: a FIN that reopens a window is told first).
    if seg.header.window() == 0 || flow.windows.is_some() {
        let s = window::WindowSegment {
            dir,
            frame,
            time,
            window: seg.header.window(),
            flags,
            payload_len,
            keepalives: flow.halves[i].stats.keepalives,
        };
        watch_windows(&mut flow.windows, &s, conn, &info, handler);
    }
    if flow.halves[0].ended && flow.halves[1].ended {
        flow.closed = true;
        if let Some(windows) = flow.windows.as_mut() {
            windows.close(time);
        }
        for h in &mut flow.halves {
            h.release();
        }
    }
    segment_info(flow, dir, seq, seg, flags, analysis)
}

/// Follows the windows of a segment that advertises a zero window or belongs to a connection
/// that had one ([`window::on_segment`]), and reports the event it makes. Out of line: few
/// segments come here, and the segment's path stays as it was without it.
#[cold]
#[inline(never)]
fn watch_windows<H: StreamHandler>(
    windows: &mut Option<Box<window::WindowWatch>>,
    s: &window::WindowSegment,
    conn: &mut H::Conn,
    info: &ConnInfo,
    handler: &mut H,
) {
    if let Some(event) = window::on_segment(windows, s) {
        handler.event(conn, info, s.frame, s.time, event);
    }
}

fn segment_info<C>(
    flow: &Flow<C>,
    dir: Dir,
    seq: u32,
    seg: &Segment<'_>,
    flags: TcpFlags,
    analysis: SegmentAnalysis,
) -> SegmentInfo {
    let base = flow.base_seq[idx(dir)].unwrap_or(seq);
    let raw_window = u32::from(seg.header.window());
    let window = match flow.window_scale {
        [Some(Some(to_server)), Some(Some(to_client))] if !flags.syn() => {
            let shift = match dir {
                Dir::ToServer => to_server,
                Dir::ToClient => to_client,
            };
            raw_window << shift.min(14)
        }
        _ => raw_window,
    };
    let other_base = flow.base_seq[idx(dir.flip())];
    SegmentInfo {
        stream: flow.info.stream,
        dir,
        relative_seq: seq.wrapping_sub(base),
        // An ACK has set the other direction's base (`process_segment`).
        relative_ack: flags
            .ack()
            .then(|| seg.header.ack().wrapping_sub(other_base.unwrap_or(0))),
        window,
        analysis,
    }
}

/// Forgets an ended connection's state so that its restart (same 4-tuple, same stream id) is
/// reassembled and decoded from the new SYN on. Counters and history carry over.
fn restart<C>(flow: &mut Flow<C>) {
    for half in &mut flow.halves {
        let stats = half.stats;
        *half = HalfStream::default();
        half.stats = stats;
    }
    // The client's SYN is the same one again (tshark: a retransmission); the server's
    // answer is new.
    flow.base_seq[idx(Dir::ToClient)] = None;
    flow.window_scale[idx(Dir::ToClient)] = None;
    flow.syn_ack = false;
    flow.established = false;
    flow.first_fin = None;
    flow.fin_announced = [false, false];
    flow.rst = None;
    flow.closed = false;
}

fn ending_of<C>(flow: &Flow<C>) -> Ending {
    if let Some((by, frame, idle_secs)) = flow.rst {
        return Ending::Rst {
            by,
            frame,
            idle_secs,
        };
    }
    if let Some(first) = flow.first_fin {
        let both = flow.halves[0].fin_seen() && flow.halves[1].fin_seen();
        return Ending::Fin { first, both };
    }
    Ending::Open
}

fn summarize<C>(flow: &Flow<C>, ending: Ending) -> FlowSummary {
    FlowSummary {
        stream: flow.info.stream,
        client: flow.info.client,
        server: flow.info.server,
        role_basis: flow.info.role_basis,
        first_frame: flow.first_frame,
        last_frame: flow.last_frame,
        start: flow.start,
        end: flow.last_time,
        duration_secs: flow.last_time.seconds_since(flow.start).max(0.0),
        syns: flow.syns,
        syn_ack: flow.syn_ack,
        syn_acks: flow.syn_acks,
        established: flow.established,
        to_server: flow.halves[0].stats,
        to_client: flow.halves[1].stats,
        // Copied as it is rather than formatted: `to_string` goes through the formatting
        // machinery and grows its string from empty, for every connection's summary.
        history: flow.history.as_str().to_owned(),
        ending,
        zero_window: (flow.windows.as_ref()).map(|w| Box::new(w.summary(flow.last_time))),
    }
}

/// One direction of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// From the client (the side that sent the SYN, or the guessed client) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Dir {
    /// The other direction.
    pub fn flip(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}

/// What a parser did with the bytes it was offered (see [`crate::proto`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Feed {
    /// Bytes at the front of the input the parser is done with.
    pub consumed: usize,
    /// Bytes after the consumed ones that the parser does not need to see.
    pub skip: u64,
}

/// Why a direction ended, as told to [`ConnectionParser::end`](crate::proto::ConnectionParser::end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The sender closed its side (FIN).
    Fin,
    /// The connection was reset.
    Reset,
    /// The capture ended with the direction still open.
    CaptureEnd,
}

#[cfg(test)]
mod tests;
