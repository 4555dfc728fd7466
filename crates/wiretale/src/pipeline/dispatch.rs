//! The TCP layer's handler: detects each connection's protocol, runs its decoder, and turns
//! what it reports into timeline events.

use super::{AnalyzerConfig, AppProtocol, Stats};
use crate::capture::{Record, Timestamp};
use crate::net::{OtherPacket, Segment, SkipReason};
use crate::tcp::{
    ConnEvent, ConnInfo, Dir, EndReason, Feed, FlowSummary, FrameMap, Gap, SegmentInfo,
    StreamHandler,
};
use crate::timeline::{Detail, Event, EventSink, FrameSummary};

/// Per-connection decoding state.
pub(crate) enum App {
    /// Not decided yet (no payload seen).
    Undecided,
    /// Not decoded: bytes are counted and dropped.
    Opaque,
}

pub(crate) struct Conn {
    app: App,
}

/// What happened in the frame being processed (for frame summaries).
#[derive(Default)]
struct FrameNotes {
    frame: u64,
    time: Timestamp,
    relative: f64,
    cap_len: u32,
    len: u32,
    /// Highest protocol seen in this frame's events, and their summaries.
    protocol: Option<&'static str>,
    info: Vec<String>,
}

pub(crate) struct Dispatcher<'s> {
    sink: &'s mut dyn EventSink,
    decode_as: Vec<super::DecodeAs>,
    wants_frames: bool,
    notes: FrameNotes,
    events: std::collections::BTreeMap<&'static str, u64>,
    gap_bytes: u64,
}

impl<'s> Dispatcher<'s> {
    pub fn new(config: &AnalyzerConfig, sink: &'s mut dyn EventSink) -> Self {
        let wants_frames = sink.wants_frames();
        Dispatcher {
            sink,
            decode_as: config.decode_as.clone(),
            wants_frames,
            notes: FrameNotes::default(),
            events: Default::default(),
            gap_bytes: 0,
        }
    }

    pub fn begin_frame(&mut self, record: &Record<'_>, first: Timestamp) {
        if self.wants_frames {
            self.notes = FrameNotes {
                frame: record.frame,
                time: record.time,
                relative: record.time.seconds_since(first),
                cap_len: record.data.len() as u32,
                len: record.original_len,
                protocol: None,
                info: Vec::new(),
            };
        }
    }

    pub fn end_tcp_frame(&mut self, seg: &Segment<'_>, info: &SegmentInfo) {
        if !self.wants_frames {
            return;
        }
        let flags = seg.header.flags();
        let notes = std::mem::take(&mut self.notes);
        let mut text = format!(
            "{} → {} [{}] Seq={}",
            seg.src.port(),
            seg.dst.port(),
            flags.names(),
            info.relative_seq
        );
        if let Some(ack) = info.relative_ack {
            text.push_str(&format!(" Ack={ack}"));
        }
        text.push_str(&format!(
            " Win={} Len={}",
            seg.header.window(),
            seg.payload_len
        ));
        let (protocol, info_text) = match notes.protocol {
            Some(p) => (p.to_string(), notes.info.join(", ")),
            None => ("TCP".to_string(), text),
        };
        self.sink.frame(&FrameSummary {
            frame: notes.frame,
            time: notes.time,
            relative_time: notes.relative,
            stream: Some(info.stream),
            src: seg.src.to_string(),
            dst: seg.dst.to_string(),
            protocol,
            flags: Some(flags.names()),
            tcp_len: Some(seg.payload_len),
            info: info_text,
            skipped: None,
            cap_len: notes.cap_len,
            len: notes.len,
        });
    }

    pub fn end_other_frame(&mut self, reason: SkipReason, packet: Option<OtherPacket>) {
        if !self.wants_frames {
            return;
        }
        let notes = std::mem::take(&mut self.notes);
        let (protocol, src, dst) = match packet {
            Some(p) => (
                p.protocol.to_string(),
                p.src.map(|a| a.to_string()).unwrap_or_default(),
                p.dst.map(|a| a.to_string()).unwrap_or_default(),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        self.sink.frame(&FrameSummary {
            frame: notes.frame,
            time: notes.time,
            relative_time: notes.relative,
            stream: None,
            src,
            dst,
            protocol,
            flags: None,
            tcp_len: None,
            info: reason.describe().to_string(),
            skipped: Some(reason),
            cap_len: notes.cap_len,
            len: notes.len,
        });
    }

    pub fn finish(&mut self, stats: &mut Stats) {
        stats.events = std::mem::take(&mut self.events);
        stats.gap_bytes = self.gap_bytes;
    }

    fn emit(&mut self, event: Event) {
        *self.events.entry(event.proto()).or_insert(0) += 1;
        if self.wants_frames && event.frame == self.notes.frame {
            let proto = match &event.detail {
                Detail::Tcp(_) => None,
            };
            if let Some(p) = proto {
                self.notes.protocol = Some(p);
            }
        }
        self.sink.event(&event);
    }

    fn forced_protocol(&self, info: &ConnInfo) -> Option<AppProtocol> {
        self.decode_as
            .iter()
            .find(|d| d.port == info.server.port() || d.port == info.client.port())
            .map(|d| d.protocol)
    }
}

impl StreamHandler for Dispatcher<'_> {
    type Conn = Conn;

    fn open(&mut self, _info: &ConnInfo) -> Conn {
        Conn {
            app: App::Undecided,
        }
    }

    fn data(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        _dir: Dir,
        input: &[u8],
        _map: FrameMap<'_>,
    ) -> Feed {
        if let App::Undecided = conn.app {
            conn.app = match self.forced_protocol(info) {
                Some(_) | None => App::Opaque,
            };
        }
        match &mut conn.app {
            App::Undecided | App::Opaque => Feed {
                consumed: input.len(),
                skip: 0,
            },
        }
    }

    fn gap(&mut self, _conn: &mut Conn, _info: &ConnInfo, _dir: Dir, _gap: &Gap) {}

    fn end(
        &mut self,
        _conn: &mut Conn,
        _info: &ConnInfo,
        _dir: Dir,
        _reason: EndReason,
        _input: &[u8],
        _map: FrameMap<'_>,
    ) {
    }

    fn event(
        &mut self,
        _conn: &mut Conn,
        info: &ConnInfo,
        frame: u64,
        time: Timestamp,
        event: ConnEvent,
    ) {
        let (src, dst) = match &event {
            ConnEvent::Syn | ConnEvent::Established { .. } => (info.client, info.server),
            ConnEvent::SynAck => (info.server, info.client),
            ConnEvent::Fin { dir }
            | ConnEvent::Rst { dir, .. }
            | ConnEvent::Gap { dir, .. }
            | ConnEvent::OverlapConflict { dir, .. } => info.endpoints(*dir),
            ConnEvent::OpenAtEnd { .. } | ConnEvent::Evicted => (info.client, info.server),
        };
        if let ConnEvent::Gap { len, .. } = &event {
            self.gap_bytes += len;
        }
        self.emit(Event {
            frame,
            frames: vec![frame],
            time,
            stream: Some(info.stream),
            src: Some(src),
            dst: Some(dst),
            detail: Detail::Tcp(event),
        });
    }

    fn closed(&mut self, _conn: Conn, summary: &FlowSummary) {
        self.sink.flow(summary);
    }
}
