//! The TCP layer's handler: detects each connection's protocol, runs its decoder, and turns
//! what it reports into timeline events.

use super::opaque::{FrameAt, OpaqueRun, OpaqueRuns};
use super::{AnalyzerConfig, AppProtocol, Limit, LimitHits, Stats};
use crate::capture::{Record, Timestamp};
use crate::net::{describe_other, OtherPacket, Segment, SkipReason, SocketAddrText};
use crate::proto::http::{
    self, Completion, ConnectionSwitch, HttpConfig, HttpConnectionParser, HttpError, HttpMessage,
};
use crate::proto::ntlm::{self, TokenContent};
use crate::proto::tls::{self, TlsConnectionParser, TlsMessage, TlsParserConfig};
use crate::proto::ConnectionParser;
use crate::tcp::{
    ConnEvent, ConnInfo, Dir, EndReason, Feed, FlowSummary, FrameMap, FrameSpan, Gap, GapCause,
    SegmentInfo, StreamHandler, DATA_RUN_PAUSE_SECS,
};
use crate::timeline::{Detail, Event, EventSink, FrameSummary, Frames, NtlmEvent};
use core::ops::Range;
use std::borrow::Cow;

/// Per-connection decoding state.
pub(crate) enum App {
    /// Not decided yet (no payload seen).
    Undecided,
    /// TLS.
    Tls(Box<TlsConnectionParser>),
    /// HTTP/1.x.
    Http(Box<HttpConnectionParser>),
    /// Not decoded: bytes are counted, told in runs ([`OpaqueRuns`]), and dropped.
    Opaque(Box<OpaqueRuns>),
    /// Both directions ended: nothing more to decode (the decoder was dropped).
    Done,
}

impl App {
    fn opaque() -> App {
        App::Opaque(Box::default())
    }
}

pub(crate) struct Conn {
    app: App,
    /// The TCP layer guessed the roles wrong (picked up mid-way); the content says otherwise.
    swapped: bool,
    /// `host:port` of the CONNECT tunnel this TLS runs in.
    tunnel: Option<String>,
    /// Per direction (index: `Dir as usize`): the last frame that carried its bytes.
    last_data: [Option<FrameAt>; 2],
    /// Per direction: the frame of its FIN.
    fin: [Option<FrameAt>; 2],
    /// The frame of the RST, or of the connection's last packet when the capture ended or the
    /// flow was evicted.
    closed_at: Option<FrameAt>,
    /// The last frame this connection reported anything at (last resort for an end frame).
    last_seen: Option<FrameAt>,
    /// Per direction: where the current run of TLS application-data records began (its
    /// summary is reported there, spanning to the run's last frame).
    app_run_start: [Option<FrameAt>; 2],
    /// Per direction: the frame where the current run's last record ended so far (or its
    /// last bytes came, while its body is still arriving): where the run is reported when the
    /// pipeline ends it (see [`Dispatcher::end_app_runs`]).
    app_run_last: [Option<FrameAt>; 2],
    /// Per direction: it ended ([`StreamHandler::end`]). Once both have, the decoder is
    /// dropped: nothing more will be decoded on the connection, which stays in the flow
    /// table for thousands of connections more (its late packets), and its decoder freed
    /// then would have left the caches long before.
    ended: [bool; 2],
}

/// Where the messages reported by a decoder's `end` go: which direction ended and how.
#[derive(Clone, Copy)]
struct Ending {
    /// The frame that completed the direction: its FIN, the RST, or the last packet at the end
    /// of the capture.
    end_frame: FrameAt,
    /// The last frame that carried this direction's bytes, if any.
    last_data: Option<FrameAt>,
    reason: EndReason,
}

impl Ending {
    /// The frames of a message the decoder completed at the end, with no bytes of its own
    /// left (an empty range): a message completed by its sender's FIN (a close-delimited
    /// body) is reported at the FIN, as tshark does; a note about the connection closing at
    /// the frame that closed it; anything else (cut short by a RST or the capture's end, or a
    /// summary of earlier records) at the last frame that carried the direction's bytes.
    fn span(&self, msg: &Msg) -> FrameSpan {
        // (reported at the end frame?, does the direction's last data frame carry it?)
        let (at_end, has_bytes) = match msg {
            Msg::Http(m) => match m.as_ref() {
                HttpMessage::ConnectionClosedWithOutstandingRequest { .. } => (true, false),
                HttpMessage::Request(_) | HttpMessage::Response(_) => {
                    (self.reason == EndReason::Fin, true)
                }
                _ => (false, true),
            },
            Msg::Tls(_) => (false, true),
        };
        let (frame, time) = match (at_end, self.last_data) {
            (false, Some(last)) => last,
            _ => self.end_frame,
        };
        let mut frames = Frames::one(frame);
        if let Some((data, _)) = self.last_data {
            if at_end && has_bytes && data < frame {
                frames.insert(0, data);
            }
        }
        FrameSpan {
            first: frames.first().copied().unwrap_or(frame),
            last: frame,
            time,
            frames,
        }
    }
}

/// What happened in the frame being processed (for frame summaries).
#[derive(Default)]
struct FrameNotes {
    frame: u64,
    time: Timestamp,
    relative: f64,
    cap_len: u32,
    len: u32,
    /// Highest protocol seen in this frame's events, and their summaries (with a TLS
    /// application-data record ending in the frame as `Application Data`, as in tshark).
    protocol: Option<&'static str>,
    info: Vec<Cow<'static, str>>,
}

pub(crate) struct Dispatcher<'s> {
    sink: &'s mut dyn EventSink,
    decode_as: Vec<super::DecodeAs>,
    wants_frames: bool,
    /// The sink wants [`EventSink::closing`]: the tracker then reports each connection as
    /// it closes ([`StreamHandler::lingering`]).
    wants_closing: bool,
    notes: FrameNotes,
    /// The frame summary handed to the sink for a TCP frame, refilled for each (a listing
    /// of ten million frames made five strings for every one).
    summary: FrameSummary,
    /// Events emitted, by `proto` (a counter per [`Detail`] variant: a map entry per event
    /// cost more than the rest of counting).
    events: [u64; 4],
    gap_bytes: u64,
    http_config: HttpConfig,
    tls_config: TlsParserConfig,
    /// The frame being processed (where a flow-table eviction happens).
    frame: u64,
    /// Its time.
    time: Timestamp,
    /// Limits reached, as seen in the events.
    limits: std::collections::BTreeMap<Limit, LimitHits>,
    /// The messages a decoder reports in one call, until they become events: kept from call
    /// to call (up to [`KEPT_MESSAGES`] of capacity) so that the list is not allocated anew
    /// for every call that reports a message.
    messages: Vec<(Range<usize>, Msg)>,
    /// Where the TLS application-data records of one decoder call ended (input positions),
    /// for frame listings; kept from call to call like `messages`.
    record_ends: Vec<usize>,
}

impl<'s> Dispatcher<'s> {
    pub fn new(config: &AnalyzerConfig, sink: &'s mut dyn EventSink) -> Self {
        let wants_frames = sink.wants_frames();
        let wants_closing = sink.wants_closing();
        Dispatcher {
            sink,
            decode_as: config.decode_as.clone(),
            wants_frames,
            wants_closing,
            notes: FrameNotes::default(),
            summary: FrameSummary::default(),
            events: [0; 4],
            gap_bytes: 0,
            http_config: HttpConfig {
                show_secrets: config.show_secrets || config.http.show_secrets,
                ..config.http.clone()
            },
            tls_config: config.tls,
            frame: 0,
            time: Timestamp::default(),
            limits: Default::default(),
            messages: Vec::new(),
            record_ends: Vec::new(),
        }
    }

    /// A TLS decoder with the analysis' limits.
    fn tls_parser(&self) -> Box<TlsConnectionParser> {
        Box::new(TlsConnectionParser::with_config(self.tls_config))
    }

    /// The capture's first frame was read: passed on to the sink.
    pub fn capture_start(&mut self, first_frame_time: Timestamp) {
        self.sink.capture_start(first_frame_time);
    }

    /// The frame being processed, where [`Dispatcher::begin_frame`] is not called (a shard
    /// that builds no frame summaries).
    pub fn at_frame(&mut self, frame: u64, time: Timestamp) {
        self.frame = frame;
        self.time = time;
    }

    pub fn begin_frame(&mut self, record: &Record<'_>, first: Timestamp) {
        self.at_frame(record.frame, record.time);
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
        use std::fmt::Write as _;
        let flags = seg.header.flags();
        let notes = std::mem::take(&mut self.notes);
        // Refilled in place: its strings keep their capacity from frame to frame.
        let f = &mut self.summary;
        f.frame = notes.frame;
        f.time = notes.time;
        f.relative_time = notes.relative;
        f.stream = Some(info.stream);
        f.src.clear();
        f.src.push_str(SocketAddrText::new(&seg.src).as_str());
        f.dst.clear();
        f.dst.push_str(SocketAddrText::new(&seg.dst).as_str());
        f.protocol.clear();
        f.protocol.push_str(notes.protocol.unwrap_or("TCP"));
        let names = f.flags.get_or_insert_with(String::new);
        names.clear();
        flags.push_names(names);
        f.tcp_len = Some(seg.payload_len);
        f.info.clear();
        // tshark's expert markers lead the line, a decoded one too.
        info.analysis.push_info_prefix(&mut f.info);
        f.tcp_analysis = Some(info.analysis);
        if notes.protocol.is_some() {
            for (i, text) in notes.info.iter().enumerate() {
                if i > 0 {
                    f.info.push_str(", ");
                }
                f.info.push_str(text);
            }
        } else {
            // Writing into a String cannot fail.
            let _ = write!(
                f.info,
                "{} → {} [{names}] Seq={}",
                seg.src.port(),
                seg.dst.port(),
                info.relative_seq
            );
            if let Some(ack) = info.relative_ack {
                let _ = write!(f.info, " Ack={ack}");
            }
            let _ = write!(f.info, " Win={} Len={}", info.window, seg.payload_len);
        }
        f.skipped = None;
        f.cap_len = notes.cap_len;
        f.len = notes.len;
        f.src_ip = Some(seg.src.ip());
        f.dst_ip = Some(seg.dst.ip());
        f.src_port = Some(seg.src.port());
        f.dst_port = Some(seg.dst.port());
        f.tcp_flags = Some(flags.0);
        self.sink.frame(&self.summary);
    }

    /// Lists a frame that is not analysed: what it is (ARP, DNS, ICMP, ... as far as
    /// [`describe_other`] tells from `record`'s bytes), else why it was skipped.
    pub fn end_other_frame(
        &mut self,
        reason: SkipReason,
        packet: Option<OtherPacket>,
        record: &Record<'_>,
    ) {
        if !self.wants_frames {
            return;
        }
        let notes = std::mem::take(&mut self.notes);
        let described = match reason {
            // Damaged or cut frames say so rather than what their first bytes suggest.
            SkipReason::NonIp | SkipReason::NonTcp => describe_other(record.link_type, record.data),
            _ => None,
        };
        let udp_ports = described.as_ref().and_then(|d| d.udp_ports);
        let (protocol, src, dst, info) = match (described, packet) {
            (Some(d), _) => (d.protocol.to_string(), d.src, d.dst, d.info),
            (None, Some(p)) => (
                p.protocol.to_string(),
                p.src.map(|a| a.to_string()).unwrap_or_default(),
                p.dst.map(|a| a.to_string()).unwrap_or_default(),
                reason.describe().to_string(),
            ),
            (None, None) => (
                String::new(),
                String::new(),
                String::new(),
                reason.describe().to_string(),
            ),
        };
        let (src_ip, dst_ip) = packet.map(|p| (p.src, p.dst)).unwrap_or_default();
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
            info,
            skipped: Some(reason),
            cap_len: notes.cap_len,
            len: notes.len,
            src_ip,
            dst_ip,
            src_port: udp_ports.map(|(src, _)| src),
            dst_port: udp_ports.map(|(_, dst)| dst),
            tcp_flags: None,
            tcp_analysis: None,
        });
    }

    pub fn finish(&mut self, stats: &mut Stats) {
        for (proto, n) in Detail::PROTOS
            .into_iter()
            .zip(std::mem::take(&mut self.events))
        {
            if n > 0 {
                stats.events.insert(proto, n);
            }
        }
        stats.gap_bytes = self.gap_bytes;
        stats.limits.append(&mut self.limits);
    }

    fn emit(&mut self, event: Event) {
        self.events[event.detail.proto_index()] += 1;
        if let Some(limit) = limit_reached(&event.detail) {
            // An eviction is reported at the evicted flow's last frame; the table was full
            // when the current one arrived.
            let frame = match limit {
                Limit::FlowsEvicted => self.frame,
                _ => event.frame,
            };
            self.limits.entry(limit).or_default().record(Some(frame));
        }
        if self.wants_frames && event.frame == self.notes.frame {
            self.note_frame_event(&event);
        }
        self.sink.take_event(event);
    }

    /// Adds `event` to the notes of the current frame (protocol and info column). Out of
    /// line: only a sink that wants per-frame summaries needs it, and inlined it doubled the
    /// code `emit` runs through for every event.
    #[inline(never)]
    fn note_frame_event(&mut self, event: &Event) {
        let proto = match &event.detail {
            Detail::Tcp(_) => None,
            // The summary of a run of application-data records describes earlier frames;
            // this frame's own records are noted one by one (`note_record_end`).
            Detail::Tls(TlsMessage::ApplicationData(_)) => None,
            Detail::Tls(_) => Some("TLS"),
            Detail::Http(_) | Detail::Ntlm(_) => Some("HTTP"),
        };
        if let Some(p) = proto {
            self.note_protocol(p);
            if !matches!(event.detail, Detail::Ntlm(_)) {
                self.notes.info.push(Cow::Owned(event.summary()));
            }
        }
    }

    /// Raises the current frame's protocol to `p` (HTTP stays HTTP: TLS in a CONNECT
    /// tunnel is listed under the proxy's HTTP, as tshark does).
    fn note_protocol(&mut self, p: &'static str) {
        if !(p == "TLS" && self.notes.protocol == Some("HTTP")) {
            self.notes.protocol = Some(p);
        }
    }

    /// A TLS application-data record of `conn` ended in `frame`: the frame carries TLS, and
    /// its Info lists the record, as tshark's does (`Application Data`, comma-separated with
    /// the frame's other records). Records are not events (a run is summarized once), so
    /// without this a frame of application data only was listed as bare TCP.
    fn note_record_end(&mut self, frame: Option<u64>, name: &'static str) {
        if self.wants_frames && frame == Some(self.notes.frame) {
            self.note_protocol("TLS");
            self.notes.info.push(Cow::Borrowed(name));
        }
    }

    /// Keeps the (drained) message list for the next decoder call, unless it grew large.
    fn keep_messages(&mut self, messages: Vec<(Range<usize>, Msg)>) {
        if messages.capacity() <= KEPT_MESSAGES {
            self.messages = messages;
        }
    }

    fn forced_protocol(&self, info: &ConnInfo) -> Option<AppProtocol> {
        self.decode_as
            .iter()
            .find(|d| d.port == info.server.port() || d.port == info.client.port())
            .map(|d| d.protocol)
    }
}

/// Capacity of the message list kept between decoder calls; one call that reported more
/// (a burst of pipelined requests, a run of TLS records) does not keep its room.
const KEPT_MESSAGES: usize = 64;

/// A decoded message waiting to become an event.
enum Msg {
    Tls(TlsMessage),
    Http(Box<HttpMessage>),
}

impl Dispatcher<'_> {
    /// Chooses the decoder for a connection from `--decode-as` or its first bytes.
    /// `None`: not enough bytes yet to tell.
    fn decide(&mut self, conn: &mut Conn, info: &ConnInfo, dir: Dir, input: &[u8]) -> Option<App> {
        let midstream = info.role_basis.is_guess();
        let http_parser = |config: &HttpConfig| {
            Box::new(if midstream {
                HttpConnectionParser::new_midstream(config.clone())
            } else {
                HttpConnectionParser::new(config.clone())
            })
        };
        match self.forced_protocol(info) {
            Some(AppProtocol::Tls) => return Some(App::Tls(self.tls_parser())),
            Some(AppProtocol::Http) => return Some(App::Http(http_parser(&self.http_config))),
            Some(AppProtocol::Opaque) => return Some(App::opaque()),
            None => {}
        }
        let is_tls = tls::looks_like_tls(input);
        let is_request = http::looks_like_http_request(input);
        let is_response = http::looks_like_http_response(input);
        if is_tls.is_none() && is_request.is_none() && is_response.is_none() {
            // Every sniffer wants more bytes; wait (they need at most a few dozen).
            return if input.len() < 64 {
                None
            } else {
                Some(App::opaque())
            };
        }
        // A guessed role is corrected by what the content says: clients send requests and
        // ClientHellos, servers send responses. (The TLS parser finds the server side from
        // the ServerHello itself.)
        let client_speaks = is_request == Some(true) || client_hello(input);
        let server_speaks = is_response == Some(true);
        if midstream
            && (dir == Dir::ToClient && client_speaks || dir == Dir::ToServer && server_speaks)
        {
            conn.swapped = true;
        }
        if is_tls == Some(true) {
            return Some(App::Tls(self.tls_parser()));
        }
        if is_request == Some(true) || is_response == Some(true) {
            return Some(App::Http(http_parser(&self.http_config)));
        }
        if is_tls.is_none() || is_request.is_none() || is_response.is_none() {
            return if input.len() < 64 {
                None
            } else {
                Some(App::opaque())
            };
        }
        Some(App::opaque())
    }

    /// Ends the runs of TLS application data that new bytes of `dir` show are over, and
    /// reports each where its last record ended: the other direction's, because the turn
    /// passed (a request's records and its response's are two runs, told in the order they
    /// were sent, not when the connection closes), and `dir`'s own after a pause of
    /// [`DATA_RUN_PAUSE_SECS`] (so that the story tells the pause as idle time). The parser
    /// alone reports a run only at its direction's next other record or end: it sees bytes,
    /// neither turns nor time.
    fn end_app_runs(&mut self, conn: &mut Conn, info: &ConnInfo, dir: Dir, adir: Dir) {
        let App::Tls(p) = &mut conn.app else { return };
        let other = dir.flip();
        let turn = p.take_application_data_run(adir.flip());
        let paused = conn.app_run_last[dir as usize]
            .is_some_and(|(_, t)| self.time.seconds_since(t) >= DATA_RUN_PAUSE_SECS);
        let pause = if paused {
            p.take_application_data_run(adir)
        } else {
            None
        };
        let mut runs = [(other, turn), (dir, pause)];
        // In the order of their last frames, as the single-threaded timeline tells them.
        let last_frame = |d: Dir| conn.app_run_last[d as usize].map_or(0, |(f, _)| f);
        if last_frame(dir) < last_frame(other) {
            runs.swap(0, 1);
        }
        for (d, run) in runs {
            if let Some(run) = run {
                self.emit_app_run(conn, info, d, run);
            }
        }
    }

    /// Reports a run of application data ended by [`Dispatcher::end_app_runs`].
    fn emit_app_run(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        dir: Dir,
        run: tls::ApplicationDataSummary,
    ) {
        let d = dir as usize;
        let last = conn.app_run_last[d]
            .take()
            .or(conn.last_data[d])
            .or(conn.last_seen)
            .unwrap_or((self.frame, self.time));
        let first = conn.app_run_start[d].take().map(|(frame, _)| frame);
        let detail = Detail::Tls(TlsMessage::ApplicationData(run));
        self.emit_run(info, dir, first, last, conn.tunnel.clone(), detail);
    }

    /// Reports a run of bytes of a protocol not decoded, at the frame of its last bytes.
    fn emit_opaque_run(&mut self, info: &ConnInfo, dir: Dir, run: OpaqueRun) {
        let detail = Detail::Tcp(ConnEvent::Data {
            dir,
            bytes: run.bytes,
            preview: run.preview,
        });
        self.emit_run(info, dir, Some(run.first), run.last, None, detail);
    }

    /// Reports a run of `dir` (TLS application data, or bytes not decoded) at its last frame,
    /// listing the frame where it began too when that is an earlier one.
    fn emit_run(
        &mut self,
        info: &ConnInfo,
        dir: Dir,
        first: Option<u64>,
        (frame, time): FrameAt,
        tunnel: Option<String>,
        detail: Detail,
    ) {
        let mut frames = Frames::one(frame);
        if let Some(first) = first.filter(|first| *first < frame) {
            frames.insert(0, first);
        }
        let (src, dst) = info.endpoints(dir);
        self.emit(Event {
            frame,
            frames,
            time,
            stream: Some(info.stream),
            src: Some(src),
            dst: Some(dst),
            tunnel,
            detail,
        });
    }

    /// Turns decoded messages into events; `offset` is where the messages' input started
    /// within the map's input. `ending` is set for what a decoder's `end` reported.
    /// `record_ends`: where the TLS application-data records of the same input ended, noted
    /// for the frame listing in order with the messages around them.
    #[allow(clippy::too_many_arguments)]
    fn emit_all(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        dir: Dir,
        map: &FrameMap<'_>,
        offset: usize,
        messages: &mut Vec<(Range<usize>, Msg)>,
        ending: Option<Ending>,
        record_ends: &[usize],
    ) {
        let (src, dst) = info.endpoints(dir);
        // Only a frame listing notes record ends (`record_ends` is empty otherwise).
        let record_name = match &conn.app {
            App::Tls(p) if !record_ends.is_empty() => p.application_data_name(),
            _ => "Application Data",
        };
        let frame_of_end = |end: usize| {
            let last = (end + offset).checked_sub(1)?;
            map.frame_at(last).map(|(frame, _)| frame)
        };
        let mut ends = record_ends.iter().copied().peekable();
        for (range, msg) in messages.drain(..) {
            while let Some(end) = ends.next_if(|&end| end <= range.start) {
                self.note_record_end(frame_of_end(end), record_name);
            }
            let mapped = match ending {
                Some(e) if range.is_empty() => Some(e.span(&msg)),
                _ => map.span(range.start + offset..range.end + offset),
            };
            let span = mapped.unwrap_or_else(|| {
                let (frame, time) = conn.last_data[dir as usize]
                    .or(conn.last_seen)
                    .unwrap_or_default();
                FrameSpan {
                    first: frame,
                    last: frame,
                    time,
                    frames: Frames::one(frame),
                }
            });
            conn.last_seen = Some((span.last, span.time));
            let mut span = span;
            if let Msg::Tls(TlsMessage::ApplicationData(_)) = &msg {
                // A summary of a run of records, reported at its last record: list the frame
                // where the run began too, so readers know data flowed from there on.
                if let Some((frame, _)) = conn.app_run_start[dir as usize].take() {
                    if frame < span.last && !span.frames.contains(&frame) {
                        span.frames.insert(0, frame);
                    }
                }
            }
            let FrameSpan {
                last, time, frames, ..
            } = span;
            let event = |frames: Frames, detail: Detail, tunnel: Option<String>| Event {
                frame: last,
                frames,
                time,
                stream: Some(info.stream),
                src: Some(src),
                dst: Some(dst),
                tunnel,
                detail,
            };
            match msg {
                Msg::Tls(m) => {
                    let tunnel = conn.tunnel.clone();
                    self.emit(event(frames, Detail::Tls(m), tunnel));
                }
                Msg::Http(m) => {
                    if let HttpMessage::TunnelEstablished { authority, .. } = m.as_ref() {
                        conn.tunnel = Some(authority.clone());
                    }
                    // The message and each token it carries rest on the same frames: copies
                    // for all but the last event, which takes them.
                    let mut frames = frames;
                    let mut share = |more: bool| {
                        if more {
                            frames.clone()
                        } else {
                            std::mem::take(&mut frames)
                        }
                    };
                    let tokens = auth_tokens(&m);
                    let count = tokens.len();
                    self.emit(event(share(count > 0), Detail::Http(m), None));
                    for (i, t) in tokens.into_iter().enumerate() {
                        let ntlm = share(i + 1 < count);
                        self.emit(event(ntlm, Detail::Ntlm(Box::new(t)), None));
                    }
                }
            }
        }
        for end in ends {
            self.note_record_end(frame_of_end(end), record_name);
        }
    }
}

/// The limit an event shows was reached, if any.
fn limit_reached(detail: &Detail) -> Option<Limit> {
    let http_error = |e: &HttpError| match e {
        HttpError::HeadTooLarge { .. } => Some(Limit::HeadTooLarge),
        HttpError::TrailersTooLarge { .. } => Some(Limit::TrailersTooLarge),
        HttpError::TooManyHeaders { .. } => Some(Limit::TooManyHeaders),
        HttpError::TooManyOutstandingRequests { .. } => Some(Limit::TooManyOutstandingRequests),
        HttpError::ChunkLineTooLong { .. } => Some(Limit::ChunkLineTooLong),
        _ => None,
    };
    match detail {
        Detail::Tcp(ConnEvent::Evicted) => Some(Limit::FlowsEvicted),
        Detail::Tcp(ConnEvent::Gap {
            cause: GapCause::BufferCap,
            ..
        }) => Some(Limit::BufferCap),
        Detail::Tcp(ConnEvent::Gap {
            cause: GapCause::OutOfOrderCap,
            ..
        }) => Some(Limit::OutOfOrderCap),
        Detail::Tls(TlsMessage::HandshakeTooLarge(_)) => Some(Limit::HandshakeTooLarge),
        Detail::Http(m) => match m.as_ref() {
            HttpMessage::DecodeError { error, .. } => http_error(error),
            HttpMessage::Request(r) => match &r.completion {
                Completion::Error { error } => http_error(error),
                _ => None,
            },
            HttpMessage::Response(r) => match &r.completion {
                Completion::Error { error } => http_error(error),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Whether `input` starts with a TLS record carrying a ClientHello.
fn client_hello(input: &[u8]) -> bool {
    matches!(input, [0x16, 0x03, _, _, _, 0x01, ..])
        || matches!(input, [b, _, 0x01, ..] if b & 0x80 != 0)
}

/// NTLM / Negotiate tokens carried in an HTTP message's authentication headers.
fn auth_tokens(m: &HttpMessage) -> Vec<NtlmEvent> {
    let (headers, exchange) = match m {
        HttpMessage::Request(r) => (&r.head.headers, Some(r.exchange)),
        HttpMessage::Response(r) => (&r.head.headers, r.exchange),
        _ => return Vec::new(),
    };
    if headers.credentials.is_empty() && headers.challenges.is_empty() {
        return Vec::new();
    }
    decode_auth_tokens(headers, exchange)
}

/// The tokens of [`auth_tokens`], decoded. Kept out of line: inlined into
/// `Dispatcher::emit_all` (which runs for every message, and most messages carry no
/// credentials or challenges), the NTLM decoding made it 36 KB of code, and the common path
/// was spread over more instruction-cache lines.
#[cold]
#[inline(never)]
fn decode_auth_tokens(headers: &http::HeaderBlock, exchange: Option<u32>) -> Vec<NtlmEvent> {
    let mut out = Vec::new();
    let values = headers
        .credentials
        .iter()
        .map(|c| (c.header, c.scheme.as_str(), c.token.as_deref()))
        .chain(
            headers
                .challenges
                .iter()
                .map(|c| (c.header, c.scheme.as_str(), c.token.as_deref())),
        );
    for (header, scheme, token) in values {
        let Some(token) = token else { continue };
        let Some(decoded) = ntlm::decode_auth_header_value(&format!("{scheme} {token}")) else {
            continue;
        };
        out.push(ntlm_event(header.as_str(), exchange, decoded));
    }
    out
}

fn ntlm_event(header: &'static str, exchange: Option<u32>, token: ntlm::AuthToken) -> NtlmEvent {
    let summary = token.summary();
    let mut e = NtlmEvent {
        kind: "unknown",
        message_type: None,
        header,
        scheme: token.scheme,
        exchange,
        challenge: None,
        target: None,
        user: None,
        domain: None,
        workstation: None,
        summary,
        spnego: None,
        message: None,
        error: None,
    };
    match token.content {
        TokenContent::Ntlmssp { spnego, message } => {
            e.spnego = spnego;
            match message {
                Ok(msg) => {
                    e.message_type = Some(msg.message_type());
                    match &msg {
                        ntlm::NtlmMessage::Negotiate(n) => {
                            e.kind = "negotiate";
                            e.domain = n.domain.clone();
                            e.workstation = n.workstation.clone();
                        }
                        ntlm::NtlmMessage::Challenge(c) => {
                            e.kind = "challenge";
                            e.challenge = Some(c.server_challenge.clone());
                            e.target = c.target_name.clone();
                        }
                        ntlm::NtlmMessage::Authenticate(a) => {
                            e.kind = "authenticate";
                            e.user = a.user.clone();
                            e.domain = a.domain.clone();
                            e.workstation = a.workstation.clone();
                        }
                    }
                    e.message = Some(msg);
                }
                Err(err) => {
                    e.kind = "undecodable";
                    e.error = Some(err.to_string());
                }
            }
        }
        TokenContent::Kerberos { spnego, .. } => {
            e.kind = "kerberos";
            e.spnego = spnego;
        }
        TokenContent::Spnego { spnego } => {
            e.kind = "spnego";
            e.spnego = Some(spnego);
        }
        TokenContent::Unknown { spnego, reason, .. } => {
            e.spnego = spnego;
            e.error = Some(reason);
        }
        TokenContent::Undecodable { reason } => {
            e.kind = "undecodable";
            e.error = Some(reason);
        }
    }
    e
}

impl StreamHandler for Dispatcher<'_> {
    type Conn = Conn;

    fn open(&mut self, _info: &ConnInfo) -> Conn {
        Conn {
            app: App::Undecided,
            swapped: false,
            tunnel: None,
            last_data: [None, None],
            fin: [None, None],
            closed_at: None,
            last_seen: None,
            app_run_start: [None, None],
            app_run_last: [None, None],
            ended: [false, false],
        }
    }

    fn data(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        dir: Dir,
        input: &[u8],
        map: FrameMap<'_>,
    ) -> Feed {
        if let Some(last) = input.len().checked_sub(1).and_then(|i| map.frame_at(i)) {
            conn.last_data[dir as usize] = Some(last);
            conn.last_seen = Some(last);
        }
        if let App::Undecided = conn.app {
            match self.decide(conn, info, dir, input) {
                Some(app) => conn.app = app,
                None => return Feed::default(),
            }
        }
        let adir = if conn.swapped { dir.flip() } else { dir };
        self.end_app_runs(conn, info, dir, adir);
        let mut messages = std::mem::take(&mut self.messages);
        let feed = match &mut conn.app {
            App::Opaque(runs) => {
                let first = map.frame_at(0).unwrap_or((self.frame, self.time));
                let last = conn.last_data[dir as usize].unwrap_or(first);
                for (d, run) in runs.add(dir, first, last, input).into_iter().flatten() {
                    self.emit_opaque_run(info, d, run);
                }
                Feed {
                    consumed: input.len(),
                    skip: 0,
                }
            }
            App::Undecided | App::Done => Feed {
                consumed: input.len(),
                skip: 0,
            },
            App::Tls(p) => {
                let records = |p: &TlsConnectionParser| {
                    let s = p.state_ref();
                    match adir {
                        Dir::ToServer => s.client_application_data.records,
                        Dir::ToClient => s.server_application_data.records,
                    }
                };
                let before = records(p);
                let mut ends = std::mem::take(&mut self.record_ends);
                let emit = &mut |r, m| messages.push((r, Msg::Tls(m)));
                let feed = if self.wants_frames {
                    p.feed_noting_records(adir, input, emit, &mut ends)
                } else {
                    ends.clear();
                    p.feed(adir, input, emit)
                };
                let grew = records(p) > before;
                let open = p.has_application_data_run(adir);
                if grew && conn.app_run_start[dir as usize].is_none() {
                    conn.app_run_start[dir as usize] = map.frame_at(0);
                }
                self.emit_all(conn, info, dir, &map, 0, &mut messages, None, &ends);
                self.record_ends = ends;
                if grew && open {
                    // A run the parser reported in this input took the start noted above; a
                    // run that began after it starts in this input.
                    let d = dir as usize;
                    if conn.app_run_start[d].is_none() {
                        conn.app_run_start[d] = conn.last_data[d];
                    }
                    conn.app_run_last[d] = conn.last_data[d];
                }
                feed
            }
            App::Http(p) => {
                let feed = p.feed(adir, input, &mut |r, m| messages.push((r, Msg::Http(m))));
                let switch = p.switched();
                self.emit_all(conn, info, dir, &map, 0, &mut messages, None, &[]);
                match switch {
                    None => feed,
                    Some(ConnectionSwitch::Upgrade) => {
                        conn.app = App::opaque();
                        feed
                    }
                    Some(ConnectionSwitch::Tunnel) => {
                        // The rest of this input (and everything after) is the tunnel's.
                        let mut tls_parser = self.tls_parser();
                        let rest = input.get(feed.consumed..).unwrap_or(&[]);
                        let mut more = Feed::default();
                        if !rest.is_empty() {
                            let mut ends = std::mem::take(&mut self.record_ends);
                            more = tls_parser.feed_noting_records(
                                adir,
                                rest,
                                &mut |r, m| messages.push((r, Msg::Tls(m))),
                                &mut ends,
                            );
                            conn.app = App::Tls(tls_parser);
                            let consumed = feed.consumed;
                            self.emit_all(
                                conn,
                                info,
                                dir,
                                &map,
                                consumed,
                                &mut messages,
                                None,
                                &ends,
                            );
                            self.record_ends = ends;
                        } else {
                            conn.app = App::Tls(tls_parser);
                        }
                        Feed {
                            consumed: feed.consumed + more.consumed,
                            skip: more.skip,
                        }
                    }
                }
            }
        };
        self.keep_messages(messages);
        feed
    }

    fn gap(&mut self, conn: &mut Conn, _info: &ConnInfo, dir: Dir, gap: &Gap) {
        let adir = if conn.swapped { dir.flip() } else { dir };
        match &mut conn.app {
            App::Tls(p) => p.gap(adir, gap.len),
            App::Http(p) => p.gap(adir, gap.len),
            App::Undecided | App::Opaque(_) | App::Done => {}
        }
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
        let adir = if conn.swapped { dir.flip() } else { dir };
        if matches!(conn.app, App::Undecided) && !input.is_empty() {
            // Too few bytes to tell the protocol by, and no more will come: they are data
            // of a protocol not decoded.
            conn.app = App::opaque();
        }
        if let App::Opaque(runs) = &mut conn.app {
            // What the direction still held (sent before the protocol was known) belongs to
            // its run, which ends here.
            if let Some(first) = map.frame_at(0) {
                let last = input
                    .len()
                    .checked_sub(1)
                    .and_then(|i| map.frame_at(i))
                    .unwrap_or(first);
                for (d, run) in runs.add(dir, first, last, input).into_iter().flatten() {
                    self.emit_opaque_run(info, d, run);
                }
            }
            if let Some(run) = runs.take(dir) {
                self.emit_opaque_run(info, dir, run);
            }
        }
        let mut messages = std::mem::take(&mut self.messages);
        match &mut conn.app {
            App::Tls(p) => p.end(adir, reason, input, &mut |r, m| {
                messages.push((r, Msg::Tls(m)))
            }),
            App::Http(p) => p.end(adir, reason, input, &mut |r, m| {
                messages.push((r, Msg::Http(m)))
            }),
            App::Undecided | App::Opaque(_) | App::Done => {}
        }
        let end_frame = match reason {
            // The tracker ends a direction before it announces the FIN that ends it (so that
            // what the FIN completes comes first): that FIN is in the frame being processed.
            EndReason::Fin => conn.fin[dir as usize].or(Some((self.frame, self.time))),
            EndReason::Reset | EndReason::CaptureEnd => conn.closed_at,
        };
        let last_data = conn.last_data[dir as usize];
        let ending = end_frame
            .or(last_data)
            .or(conn.last_seen)
            .map(|end_frame| Ending {
                end_frame,
                last_data,
                reason,
            });
        self.emit_all(conn, info, dir, &map, 0, &mut messages, ending, &[]);
        self.keep_messages(messages);
        if let Some(ended) = conn.ended.get_mut(dir as usize) {
            *ended = true;
        }
        if conn.ended == [true, true] {
            conn.app = App::Done;
        }
    }

    fn skip_ended(&mut self, conn: &mut Conn, _info: &ConnInfo, dir: Dir, frame: u64) {
        // Only application-data record bodies are skipped on a TLS connection: one ends here.
        if let App::Tls(p) = &conn.app {
            let name = p.application_data_name();
            self.note_record_end(Some(frame), name);
            let adir = if conn.swapped { dir.flip() } else { dir };
            if p.has_application_data_run(adir) {
                conn.app_run_last[dir as usize] = Some((frame, self.time));
            }
        }
    }

    fn event(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        frame: u64,
        time: Timestamp,
        event: ConnEvent,
    ) {
        // What was sent comes before the note that the connection is over: a reset, the
        // capture's end and an eviction are announced before the directions end.
        if let App::Opaque(runs) = &mut conn.app {
            if matches!(
                event,
                ConnEvent::Rst { .. } | ConnEvent::OpenAtEnd { .. } | ConnEvent::Evicted
            ) {
                for (dir, run) in runs.take_all().into_iter().flatten() {
                    self.emit_opaque_run(info, dir, run);
                }
            }
        }
        // Remember where directions end, for the messages their end completes.
        match &event {
            ConnEvent::Fin { dir } => conn.fin[*dir as usize] = Some((frame, time)),
            ConnEvent::Rst { .. } | ConnEvent::Evicted => conn.closed_at = Some((frame, time)),
            // The note carries the capture's end as its time; what the end completes (an
            // unanswered request, a cut message) is reported at the connection's last frame
            // and at that frame's time, so that an event's frame and time agree.
            ConnEvent::OpenAtEnd { idle_secs, .. } => {
                conn.closed_at = Some((frame, time.minus_secs(*idle_secs)))
            }
            _ => {}
        }
        conn.last_seen = Some((frame, time));
        let (src, dst) = match &event {
            ConnEvent::Syn | ConnEvent::Established { .. } => (info.client, info.server),
            ConnEvent::SynAck => (info.server, info.client),
            ConnEvent::Fin { dir }
            | ConnEvent::Rst { dir, .. }
            | ConnEvent::Gap { dir, .. }
            | ConnEvent::OverlapConflict { dir, .. }
            | ConnEvent::ZeroWindow { dir }
            | ConnEvent::WindowReopened { dir, .. }
            | ConnEvent::Data { dir, .. } => info.endpoints(*dir),
            ConnEvent::OpenAtEnd { .. } | ConnEvent::Evicted => (info.client, info.server),
        };
        if let ConnEvent::Gap { len, .. } = &event {
            self.gap_bytes += len;
        }
        self.emit(Event {
            frame,
            frames: Frames::one(frame),
            time,
            stream: Some(info.stream),
            src: Some(src),
            dst: Some(dst),
            tunnel: None,
            detail: Detail::Tcp(event),
        });
    }

    fn closed(&mut self, _conn: Conn, summary: FlowSummary) {
        self.sink.take_flow(summary);
    }

    fn wants_lingering(&self) -> bool {
        self.wants_closing
    }

    fn wants_late_lingering(&self) -> bool {
        // Late packets change only what the final summary will carry anyway.
        false
    }

    fn wants_segment_details(&self) -> bool {
        // Only the frame listing reads the scaled window and the markers.
        self.wants_frames
    }

    fn lingering(&mut self, summary: FlowSummary, late: bool) {
        if !late {
            self.sink.closing(summary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{EndReason, Mark};
    use crate::timeline::Collector;

    #[test]
    fn a_connection_ended_both_ways_lets_its_decoder_go() {
        let (mut sink, config) = (Collector::default(), AnalyzerConfig::default());
        let mut d = Dispatcher::new(&config, &mut sink);
        let info = ConnInfo {
            stream: 0,
            client: "10.0.0.1:49152".parse().unwrap(),
            server: "192.0.2.1:80".parse().unwrap(),
            role_basis: crate::tcp::RoleBasis::Syn,
        };
        let mark = |frame| Mark {
            offset: 0,
            frame,
            time: Timestamp::default(),
        };
        let mut conn = d.open(&info);
        let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let marks = [mark(4)];
        d.data(
            &mut conn,
            &info,
            Dir::ToServer,
            request,
            FrameMap::new(0, &marks),
        );
        assert!(matches!(conn.app, App::Http(_)));
        d.end(
            &mut conn,
            &info,
            Dir::ToServer,
            EndReason::Fin,
            b"",
            FrameMap::new(0, &marks),
        );
        // One direction may still bring a response.
        assert!(matches!(conn.app, App::Http(_)));
        let marks = [mark(5)];
        d.end(
            &mut conn,
            &info,
            Dir::ToClient,
            EndReason::Fin,
            b"",
            FrameMap::new(0, &marks),
        );
        assert!(matches!(conn.app, App::Done));
        drop(d);
        // The request was told before.
        assert!(sink
            .events
            .iter()
            .any(|e| matches!(e.detail, Detail::Http(_))));
    }
}
