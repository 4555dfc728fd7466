//! The per-connection HTTP/1.x stream parser ([`ConnectionParser`] implementation).

use core::ops::Range;
use std::collections::VecDeque;

use super::chunked::{ChunkStep, ChunkedDecoder};
use super::error::HttpError;
use super::framing::{request_framing, response_framing, BodyFraming, NoBody};
use super::head::{
    parse_request_head, parse_response_head, HeadScan, HeadScanResult, HttpVersion, RequestHead,
    ResponseHead,
};
use super::message::{
    BodyInfo, ChunkedInfo, Completion, HttpMessage, HttpRequest, HttpResponse, MessagePart,
    RequestSummary, ResyncCause, TruncationCause,
};
use super::persistence::{keep_alive, KeepAliveReason};
use super::sniff::{find_resync, ResyncScan, StartLineKind};
use super::HttpConfig;
use crate::proto::{ConnectionParser, Dir, EndReason, Feed};

type Emit<'a> = dyn FnMut(Range<usize>, Box<HttpMessage>) + 'a;

/// What the connection turned into after HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionSwitch {
    /// A CONNECT tunnel (usually TLS follows).
    Tunnel,
    /// `101 Switching Protocols` (WebSocket, h2c, ...).
    Upgrade,
}

/// HTTP/1.x decoder for one TCP connection, both directions. See the module docs of
/// [`crate::proto::http`] for what it reports and when.
#[derive(Debug)]
pub struct HttpConnectionParser {
    config: HttpConfig,
    /// Index 0: client to server; 1: server to client.
    sides: [Side; 2],
    /// Requests whose final response has not been seen, oldest first.
    outstanding: VecDeque<Outstanding>,
    next_exchange: u32,
    /// A CONNECT or Upgrade request awaiting its response: client bytes wait until then.
    client_blocked_by: Option<u32>,
    switched: Option<ConnectionSwitch>,
    pairing_uncertain: bool,
    overflow_reported: bool,
    ended: [Option<EndReason>; 2],
    first_to_close: Option<Dir>,
}

#[derive(Debug, Clone)]
struct Outstanding {
    exchange: u32,
    method: String,
    target: String,
    version: HttpVersion,
    keep_alive: bool,
}

#[derive(Debug, Default)]
struct Side {
    state: SideState,
    scan: HeadScan,
    /// Open while the parser is searching for its place again.
    episode: Option<Episode>,
    /// A message completed by a gap, reported at the next feed or end. Boxed: it is rare,
    /// and inline it made every connection's parser three times larger.
    deferred: Option<Box<HttpMessage>>,
    /// The skip returned by the last feed. A later feed proves those bytes arrived; if the
    /// direction ends first, some may be missing.
    unconfirmed_skip: u64,
}

#[derive(Debug, Clone, Copy)]
struct Episode {
    cause: ResyncCause,
    discarded: u64,
}

#[derive(Debug, Default)]
enum SideState {
    /// Expecting a head (possibly partially present at offset 0).
    #[default]
    Idle,
    /// Inside a message body. Held inline (a box and a few words): a response whose body
    /// came with its head went through a box of its own per message.
    Body(Pending),
    /// Looking for a start line; offset 0 of the next input counts as a line start if
    /// `at_zero_ok`.
    Resync { at_zero_ok: bool },
}

#[derive(Debug)]
struct Pending {
    /// The request or response whose body is being read, boxed as it will be reported (a
    /// message is several hundred bytes: it is not moved again once boxed).
    message: Box<HttpMessage>,
    body: BodyProgress,
    /// Offset of the head in the current input, while it is still there.
    head_start: Option<usize>,
}

#[derive(Debug)]
enum BodyProgress {
    Length {
        remaining: u64,
    },
    /// Boxed: the decoder is several times the size of the other kinds, and few bodies are
    /// chunked.
    Chunked(Box<ChunkedDecoder>),
    UntilClose,
}

enum BodyStep {
    NeedMore { consumed: usize, skip: u64 },
    Done { consumed: usize },
    Error { consumed: usize, error: HttpError },
}

fn side_index(dir: Dir) -> usize {
    match dir {
        Dir::ToServer => 0,
        Dir::ToClient => 1,
    }
}

fn start_line_kind(dir: Dir) -> StartLineKind {
    match dir {
        Dir::ToServer => StartLineKind::Request,
        Dir::ToClient => StartLineKind::Status,
    }
}

impl Pending {
    /// A request or a response about to read its body.
    fn new(message: Box<HttpMessage>, body: BodyProgress, head_start: usize) -> Pending {
        debug_assert!(
            matches!(*message, HttpMessage::Request(_) | HttpMessage::Response(_)),
            "only a request or a response has a body to read"
        );
        Pending {
            message,
            body,
            head_start: Some(head_start),
        }
    }

    /// The message's body counters (a `Pending` only ever holds a request or a response, so
    /// this is always `Some`).
    fn body_info(&mut self) -> Option<&mut BodyInfo> {
        match &mut *self.message {
            HttpMessage::Request(r) => Some(&mut r.body),
            HttpMessage::Response(r) => Some(&mut r.body),
            _ => None,
        }
    }

    fn add_body(&mut self, payload: u64, wire: u64) {
        if let Some(body) = self.body_info() {
            body.len = body.len.saturating_add(payload);
            body.wire_len = body.wire_len.saturating_add(wire);
        }
    }

    fn add_gap(&mut self, len: u64) {
        self.add_body(len, len);
        if let Some(body) = self.body_info() {
            body.gap_bytes = body.gap_bytes.saturating_add(len);
        }
    }

    fn finish(mut self, completion: Completion) -> Box<HttpMessage> {
        if let BodyProgress::Chunked(dec) = &self.body {
            let info = ChunkedInfo {
                chunks: dec.chunks,
                extensions: dec.extensions,
                trailers: dec.trailer_names.clone(),
            };
            let payload = dec.payload;
            if let Some(body) = self.body_info() {
                body.len = payload.saturating_sub(body.skipped_unconfirmed);
                body.chunked = Some(info);
            }
        }
        match &mut *self.message {
            HttpMessage::Request(r) => {
                r.wire_len = (r.head_len as u64).saturating_add(r.body.wire_len);
                r.completion = completion;
            }
            HttpMessage::Response(r) => {
                r.wire_len = (r.head_len as u64).saturating_add(r.body.wire_len);
                r.completion = completion;
            }
            _ => {}
        }
        self.message
    }
}

impl Default for HttpConnectionParser {
    fn default() -> Self {
        HttpConnectionParser::new(HttpConfig::default())
    }
}

impl HttpConnectionParser {
    /// A parser for a new connection.
    pub fn new(config: HttpConfig) -> HttpConnectionParser {
        HttpConnectionParser {
            config,
            sides: Default::default(),
            // Room for the usual one request at a time, reserved now: growing from empty
            // on the first request cost three times the allocation.
            outstanding: VecDeque::with_capacity(1),
            next_exchange: 0,
            client_blocked_by: None,
            switched: None,
            pairing_uncertain: false,
            overflow_reported: false,
            ended: [None, None],
            first_to_close: None,
        }
    }

    /// A parser for a connection whose start was not captured (no SYN): each direction first
    /// searches for a start line at a line start, and reports
    /// [`HttpMessage::Resynchronized`] (`after: mid_stream`) with the bytes it skipped.
    pub fn new_midstream(config: HttpConfig) -> HttpConnectionParser {
        let mut parser = HttpConnectionParser::new(config);
        for side in &mut parser.sides {
            side.state = SideState::Resync { at_zero_ok: true };
            side.episode = Some(Episode {
                cause: ResyncCause::MidStream,
                discarded: 0,
            });
        }
        parser.pairing_uncertain = true;
        parser
    }

    /// Set once the connection became a tunnel or switched protocols; from then on the parser
    /// consumes nothing and the unconsumed bytes belong to the next protocol.
    pub fn switched(&self) -> Option<ConnectionSwitch> {
        self.switched
    }

    /// Number of requests still waiting for a final response.
    pub fn outstanding_requests(&self) -> usize {
        self.outstanding.len()
    }

    fn side(&mut self, dir: Dir) -> &mut Side {
        &mut self.sides[side_index(dir)]
    }

    fn flush_deferred(&mut self, dir: Dir, emit: &mut Emit<'_>) {
        if let Some(m) = self.side(dir).deferred.take() {
            emit(0..0, m);
        }
    }

    /// Starts (or continues) a resynchronisation episode; reports `error` if it starts one.
    fn lose_place(
        &mut self,
        dir: Dir,
        cause: ResyncCause,
        error: Option<(HttpError, Range<usize>)>,
        emit: &mut Emit<'_>,
    ) {
        let side = self.side(dir);
        if side.episode.is_none() {
            side.episode = Some(Episode {
                cause,
                discarded: 0,
            });
            if let Some((error, range)) = error {
                emit(
                    range,
                    Box::new(HttpMessage::DecodeError {
                        dir,
                        message: error.to_string(),
                        error,
                    }),
                );
            }
        }
        if cause == ResyncCause::Gap {
            self.pairing_uncertain = true;
        }
    }

    /// A head parsed: close the resync episode, if any.
    fn regain_place(&mut self, dir: Dir, range: Range<usize>, emit: &mut Emit<'_>) {
        if let Some(ep) = self.side(dir).episode.take() {
            emit(
                range,
                Box::new(HttpMessage::Resynchronized {
                    dir,
                    discarded: ep.discarded,
                    after: ep.cause,
                }),
            );
        }
    }

    /// The loop behind `feed` and `end`: parses as many messages as `input` holds.
    /// `more_to_come` is false when called from `end` (no bytes will follow, so nothing is
    /// handed to the reassembler to skip).
    fn run(&mut self, dir: Dir, input: &[u8], more_to_come: bool, emit: &mut Emit<'_>) -> Feed {
        let i = side_index(dir);
        let kind = start_line_kind(dir);
        let limit = self.config.max_head_len();
        let mut pos = 0usize;
        let mut skip = 0u64;
        // Every iteration consumes bytes or changes state towards consuming; the guard only
        // protects against a bug turning into a hang.
        let mut budget = input.len().saturating_mul(4).saturating_add(64);
        while self.switched.is_none() && budget > 0 {
            budget -= 1;
            let state = core::mem::take(&mut self.sides[i].state);
            match state {
                SideState::Idle => {
                    if dir == Dir::ToServer && self.client_blocked_by.is_some() {
                        if input.len().saturating_sub(pos) < limit {
                            break;
                        }
                        // Far more unanswered client bytes than a head: the answer that would
                        // have unblocked them was probably lost.
                        self.client_blocked_by = None;
                        self.pairing_uncertain = true;
                    }
                    if self.sides[i].scan.is_fresh() {
                        // Empty lines between messages are ignored (RFC 9112 §2.2).
                        while matches!(input.get(pos), Some(b'\r' | b'\n')) {
                            pos += 1;
                        }
                    }
                    let rest = input.get(pos..).unwrap_or(&[]);
                    if rest.is_empty() {
                        break;
                    }
                    match self.sides[i].scan.scan(rest, kind, limit) {
                        HeadScanResult::NeedMore => break,
                        HeadScanResult::Invalid(error) => {
                            self.head_failed(dir, error, pos, emit);
                        }
                        HeadScanResult::End(n) => {
                            self.sides[i].scan = HeadScan::default();
                            let head_bytes = rest.get(..n).unwrap_or(rest);
                            match self.parse_head(dir, head_bytes, pos, emit) {
                                Ok(len) => pos += len,
                                Err(error) => self.head_failed(dir, error, pos, emit),
                            }
                        }
                    }
                }
                SideState::Body(mut pending) => {
                    let rest = input.get(pos..).unwrap_or(&[]);
                    match self.advance_body(&mut pending, rest, more_to_come) {
                        BodyStep::NeedMore { consumed, skip: s } => {
                            pos += consumed;
                            skip = s;
                            self.sides[i].state = SideState::Body(pending);
                            break;
                        }
                        BodyStep::Done { consumed } => {
                            pos += consumed;
                            let start = pending.head_start.unwrap_or(0);
                            emit(start..pos, pending.finish(Completion::Complete));
                        }
                        BodyStep::Error { consumed, error } => {
                            pos += consumed;
                            let start = pending.head_start.unwrap_or(0);
                            emit(start..pos, pending.finish(Completion::Error { error }));
                            // Reported inside the message; the episode only counts discards.
                            self.lose_place(dir, ResyncCause::Error, None, emit);
                            self.sides[i].state = SideState::Resync { at_zero_ok: false };
                        }
                    }
                }
                SideState::Resync { at_zero_ok } => {
                    let rest = input.get(pos..).unwrap_or(&[]);
                    let scan = find_resync(rest, kind, at_zero_ok, limit);
                    let dropped = match scan {
                        ResyncScan::Found(off) | ResyncScan::Discard(off) => off,
                    };
                    pos += dropped;
                    if let Some(ep) = &mut self.sides[i].episode {
                        ep.discarded = ep.discarded.saturating_add(dropped as u64);
                    }
                    match scan {
                        ResyncScan::Found(_) => {} // state is Idle again
                        ResyncScan::Discard(n) => {
                            let at_zero_ok = if n > 0 {
                                rest.get(n - 1) == Some(&b'\n')
                            } else {
                                at_zero_ok
                            };
                            self.sides[i].state = SideState::Resync { at_zero_ok };
                            break;
                        }
                    }
                }
            }
        }
        if let SideState::Body(pending) = &mut self.sides[i].state {
            // Offsets refer to this input only.
            pending.head_start = None;
        }
        Feed {
            consumed: pos,
            skip,
        }
    }

    /// Parses the complete head `bytes` (found at `pos`) and handles it; returns its length.
    fn parse_head(
        &mut self,
        dir: Dir,
        bytes: &[u8],
        pos: usize,
        emit: &mut Emit<'_>,
    ) -> Result<usize, HttpError> {
        let incomplete = || HttpError::MalformedHead {
            detail: "header block does not end at the empty line".into(),
        };
        match dir {
            Dir::ToServer => {
                let (head, len) =
                    parse_request_head(bytes, &self.config)?.ok_or_else(incomplete)?;
                self.on_request_head(head, len, pos, emit);
                Ok(len)
            }
            Dir::ToClient => {
                let (head, len) =
                    parse_response_head(bytes, &self.config)?.ok_or_else(incomplete)?;
                self.on_response_head(head, len, pos, emit);
                Ok(len)
            }
        }
    }

    fn head_failed(&mut self, dir: Dir, error: HttpError, pos: usize, emit: &mut Emit<'_>) {
        let i = side_index(dir);
        self.sides[i].scan = HeadScan::default();
        self.lose_place(dir, ResyncCause::Error, Some((error, pos..pos + 1)), emit);
        self.sides[i].state = SideState::Resync { at_zero_ok: false };
    }

    fn advance_body(&self, p: &mut Pending, rest: &[u8], more_to_come: bool) -> BodyStep {
        let available = rest.len() as u64;
        match &mut p.body {
            BodyProgress::Length { remaining } => {
                if available >= *remaining {
                    let n = *remaining;
                    *remaining = 0;
                    p.add_body(n, n);
                    // `n <= available`, so it fits in usize.
                    BodyStep::Done {
                        consumed: n as usize,
                    }
                } else if more_to_come {
                    // Skip all but the final byte: seeing it makes the message complete in the
                    // frame that carries it.
                    let skip = *remaining - available - 1;
                    *remaining = 1;
                    p.add_body(available + skip, available + skip);
                    BodyStep::NeedMore {
                        consumed: rest.len(),
                        skip,
                    }
                } else {
                    *remaining -= available;
                    p.add_body(available, available);
                    BodyStep::NeedMore {
                        consumed: rest.len(),
                        skip: 0,
                    }
                }
            }
            BodyProgress::Chunked(dec) => {
                let step = dec.advance(
                    rest,
                    self.config.max_chunk_line_len(),
                    self.config.max_head_len(),
                    more_to_come,
                );
                let (wire, result) = match step {
                    ChunkStep::NeedMore { consumed, skip } => (
                        (consumed as u64).saturating_add(skip),
                        BodyStep::NeedMore { consumed, skip },
                    ),
                    ChunkStep::Done { consumed } => (consumed as u64, BodyStep::Done { consumed }),
                    ChunkStep::Error { consumed, error } => {
                        (consumed as u64, BodyStep::Error { consumed, error })
                    }
                };
                p.add_body(0, wire);
                result
            }
            BodyProgress::UntilClose => {
                // Consumed as it arrives (nothing accumulates) so the length stays exact; a
                // skip would lose count of how much arrived before the close.
                p.add_body(available, available);
                BodyStep::NeedMore {
                    consumed: rest.len(),
                    skip: 0,
                }
            }
        }
    }

    /// Registers a request head; returns the message and its framing. The message is boxed
    /// here, as it will be reported: returned and handed on unboxed, its several hundred bytes
    /// were copied three more times on the way to its box.
    fn register_request(
        &mut self,
        head: RequestHead,
        len: usize,
        emit: &mut Emit<'_>,
        range: Range<usize>,
    ) -> (Box<HttpMessage>, Result<BodyFraming, HttpError>) {
        let exchange = self.next_exchange;
        self.next_exchange = self.next_exchange.saturating_add(1);
        let (keep, reason) = keep_alive(head.version, &head.headers);
        let framing = request_framing(&head.headers);
        let blocks_client =
            head.method.eq_ignore_ascii_case("CONNECT") || head.headers.contains("Upgrade");
        if self.outstanding.len() < self.config.max_outstanding_requests() {
            self.outstanding.push_back(Outstanding {
                exchange,
                method: head.method.clone(),
                target: head.target.clone(),
                version: head.version,
                keep_alive: keep,
            });
            if blocks_client {
                self.client_blocked_by = Some(exchange);
            }
        } else {
            self.pairing_uncertain = true;
            if !self.overflow_reported {
                self.overflow_reported = true;
                let error = HttpError::TooManyOutstandingRequests {
                    limit: self.config.max_outstanding_requests(),
                };
                emit(
                    range,
                    Box::new(HttpMessage::DecodeError {
                        dir: Dir::ToServer,
                        message: error.to_string(),
                        error,
                    }),
                );
            }
        }
        let request = Box::new(HttpMessage::Request(HttpRequest {
            exchange,
            expect_continue: head.headers.has_token("Expect", "100-continue"),
            head,
            keep_alive: keep,
            keep_alive_reason: reason,
            body: BodyInfo::new(framing.as_ref().ok().copied()),
            completion: Completion::Complete,
            head_len: len,
            wire_len: len as u64,
        }));
        (request, framing)
    }

    fn on_request_head(&mut self, head: RequestHead, len: usize, pos: usize, emit: &mut Emit<'_>) {
        let range = pos..pos + len;
        self.regain_place(Dir::ToServer, range.clone(), emit);
        let (request, framing) = self.register_request(head, len, emit, range.clone());
        self.start_body(Dir::ToServer, request, framing, range, emit);
    }

    /// Pairs a response head with the oldest outstanding request; returns the message (boxed,
    /// as [`HttpConnectionParser::register_request`] does) and its framing.
    fn register_response(
        &mut self,
        head: ResponseHead,
        len: usize,
    ) -> (Box<HttpMessage>, Result<BodyFraming, HttpError>) {
        let interim = (100..200).contains(&head.status) && head.status != 101;
        let pairing_uncertain = self.pairing_uncertain;
        // The request answered: taken from the queue by a final response, copied for an
        // interim one (the final response still answers it).
        let front = if interim {
            self.outstanding.front().cloned()
        } else {
            let popped = self.outstanding.pop_front();
            if popped.is_some() && popped.as_ref().map(|o| o.exchange) == self.client_blocked_by {
                self.client_blocked_by = None;
            }
            if self.outstanding.is_empty() {
                self.pairing_uncertain = false;
            }
            popped
        };
        let method = front.as_ref().map(|o| o.method.as_str());
        let framing = response_framing(head.status, method, &head.headers);
        let (mut keep, mut reason) = keep_alive(head.version, &head.headers);
        if keep && framing == Ok(BodyFraming::UntilClose) {
            (keep, reason) = (false, KeepAliveReason::CloseDelimitedBody);
        }
        let response = Box::new(HttpMessage::Response(HttpResponse {
            exchange: front.as_ref().map(|o| o.exchange),
            request: front.map(|o| RequestSummary {
                method: o.method,
                target: o.target,
                version: o.version,
                keep_alive: o.keep_alive,
            }),
            pairing_uncertain,
            head,
            interim,
            keep_alive: keep,
            keep_alive_reason: reason,
            body: BodyInfo::new(framing.as_ref().ok().copied()),
            completion: Completion::Complete,
            head_len: len,
            wire_len: len as u64,
        }));
        (response, framing)
    }

    fn on_response_head(
        &mut self,
        head: ResponseHead,
        len: usize,
        pos: usize,
        emit: &mut Emit<'_>,
    ) {
        let range = pos..pos + len;
        self.regain_place(Dir::ToClient, range.clone(), emit);
        let status = head.status;
        let (response, framing) = self.register_response(head, len);
        let response_fields = response.as_response();
        let exchange = response_fields.and_then(|r| r.exchange);
        if status == 101 {
            let upgrade = response_fields
                .and_then(|r| r.head.headers.get("Upgrade"))
                .map(str::to_string);
            emit(range.clone(), response);
            emit(
                range,
                Box::new(HttpMessage::ProtocolSwitched { exchange, upgrade }),
            );
            self.switched = Some(ConnectionSwitch::Upgrade);
            return;
        }
        if framing
            == Ok(BodyFraming::None {
                why: NoBody::ConnectEstablished,
            })
        {
            let authority = response_fields
                .and_then(|r| r.request.as_ref())
                .map(|r| r.target.clone())
                .unwrap_or_default();
            emit(range.clone(), response);
            emit(
                range,
                Box::new(HttpMessage::TunnelEstablished {
                    exchange: exchange.unwrap_or(0),
                    authority,
                    status,
                }),
            );
            self.switched = Some(ConnectionSwitch::Tunnel);
            return;
        }
        self.start_body(Dir::ToClient, response, framing, range, emit);
    }

    /// After a head: emit a body-less message now, or enter the body state.
    fn start_body(
        &mut self,
        dir: Dir,
        message: Box<HttpMessage>,
        framing: Result<BodyFraming, HttpError>,
        range: Range<usize>,
        emit: &mut Emit<'_>,
    ) {
        let body = match framing {
            Err(error) => {
                let pending = Pending::new(message, BodyProgress::UntilClose, range.start);
                emit(range, pending.finish(Completion::Error { error }));
                // The body length is unknowable: search for the next start line after the head.
                self.lose_place(dir, ResyncCause::Error, None, emit);
                self.side(dir).state = SideState::Resync { at_zero_ok: true };
                return;
            }
            Ok(BodyFraming::None { .. }) | Ok(BodyFraming::ContentLength { length: 0 }) => {
                let pending =
                    Pending::new(message, BodyProgress::Length { remaining: 0 }, range.start);
                emit(range, pending.finish(Completion::Complete));
                return;
            }
            Ok(BodyFraming::ContentLength { length }) => BodyProgress::Length { remaining: length },
            Ok(BodyFraming::Chunked { .. }) => {
                BodyProgress::Chunked(Box::new(ChunkedDecoder::new()))
            }
            Ok(BodyFraming::UntilClose) => BodyProgress::UntilClose,
        };
        self.side(dir).state = SideState::Body(Pending::new(message, body, range.start));
    }

    /// The direction ended inside a head: report it as leniently as possible.
    fn truncated_head(
        &mut self,
        dir: Dir,
        rest: &[u8],
        start: usize,
        cause: TruncationCause,
        emit: &mut Emit<'_>,
    ) {
        let range = start..start + rest.len();
        let terminator: &[u8] = if rest.ends_with(b"\n") {
            b"\r\n"
        } else {
            b"\r\n\r\n"
        };
        let mut closed = Vec::with_capacity(rest.len() + terminator.len());
        closed.extend_from_slice(rest);
        closed.extend_from_slice(terminator);
        let mut config = self.config.clone();
        config.max_head_len = config.max_head_len().saturating_add(terminator.len());
        let truncated = Completion::Truncated {
            part: MessagePart::Head,
            cause,
        };
        let mut message = match dir {
            Dir::ToServer => match parse_request_head(&closed, &config) {
                Ok(Some((head, _))) => Some(
                    self.register_request(head, rest.len(), emit, range.clone())
                        .0,
                ),
                _ => None,
            },
            Dir::ToClient => match parse_response_head(&closed, &config) {
                Ok(Some((head, _))) => Some(self.register_response(head, rest.len()).0),
                _ => None,
            },
        };
        if let Some(
            HttpMessage::Request(HttpRequest {
                completion, body, ..
            })
            | HttpMessage::Response(HttpResponse {
                completion, body, ..
            }),
        ) = message.as_deref_mut()
        {
            *completion = truncated;
            *body = BodyInfo::new(None);
        }
        match message {
            Some(m) => {
                self.regain_place(dir, range.clone(), emit);
                emit(range, m);
            }
            None => {
                let error = HttpError::TruncatedHead { len: rest.len() };
                self.lose_place(dir, ResyncCause::Error, Some((error, range)), emit);
            }
        }
    }
}

impl ConnectionParser for HttpConnectionParser {
    type Message = Box<HttpMessage>;

    fn feed(
        &mut self,
        dir: Dir,
        input: &[u8],
        emit: &mut dyn FnMut(Range<usize>, Box<HttpMessage>),
    ) -> Feed {
        self.flush_deferred(dir, emit);
        let feed = self.run(dir, input, true, emit);
        self.side(dir).unconfirmed_skip = feed.skip;
        feed
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        if self.switched.is_some() || len == 0 {
            return;
        }
        let i = side_index(dir);
        self.sides[i].scan = HeadScan::default();
        // Holes inside a skipped region are the reassembler's to count; this one comes after.
        self.sides[i].unconfirmed_skip = 0;
        let state = core::mem::take(&mut self.sides[i].state);
        let lost = |p: &mut Self| {
            p.sides[i].state = SideState::Resync { at_zero_ok: true };
            if p.sides[i].episode.is_none() {
                p.sides[i].episode = Some(Episode {
                    cause: ResyncCause::Gap,
                    discarded: 0,
                });
            }
            p.pairing_uncertain = true;
        };
        match state {
            SideState::Idle | SideState::Resync { .. } => lost(self),
            SideState::Body(mut pending) => match pending.body {
                BodyProgress::UntilClose => {
                    pending.add_gap(len);
                    self.sides[i].state = SideState::Body(pending);
                }
                BodyProgress::Length { remaining } if len < remaining => {
                    pending.add_gap(len);
                    pending.body = BodyProgress::Length {
                        remaining: remaining - len,
                    };
                    self.sides[i].state = SideState::Body(pending);
                }
                BodyProgress::Length { remaining } => {
                    // The hole covers the end of the body: it is complete (with a gap).
                    pending.add_gap(remaining);
                    self.sides[i].deferred = Some(pending.finish(Completion::Complete));
                    if len > remaining {
                        lost(self);
                    }
                }
                BodyProgress::Chunked(_) => {
                    self.sides[i].deferred = Some(pending.finish(Completion::Truncated {
                        part: MessagePart::Body,
                        cause: TruncationCause::Gap,
                    }));
                    lost(self);
                }
            },
        }
    }

    fn end(
        &mut self,
        dir: Dir,
        reason: EndReason,
        input: &[u8],
        emit: &mut dyn FnMut(Range<usize>, Box<HttpMessage>),
    ) {
        self.flush_deferred(dir, emit);
        let i = side_index(dir);
        if self.ended[i].is_none() {
            self.ended[i] = Some(reason);
            self.first_to_close.get_or_insert(dir);
        }
        if self.switched.is_some() {
            return;
        }
        let fed = self.run(dir, input, false, emit);
        let cause = TruncationCause::from(reason);
        match core::mem::take(&mut self.sides[i].state) {
            SideState::Idle => {
                let mut start = fed.consumed;
                while matches!(input.get(start), Some(b'\r' | b'\n')) {
                    start += 1;
                }
                let rest = input.get(start..).unwrap_or(&[]);
                let blocked = dir == Dir::ToServer && self.client_blocked_by.is_some();
                if !rest.is_empty() && !blocked && self.switched.is_none() {
                    self.truncated_head(dir, rest, start, cause, emit);
                }
            }
            SideState::Body(mut pending) => {
                let unconfirmed = core::mem::take(&mut self.sides[i].unconfirmed_skip);
                if unconfirmed > 0 && input.is_empty() {
                    if let Some(body) = pending.body_info() {
                        body.len = body.len.saturating_sub(unconfirmed);
                        body.wire_len = body.wire_len.saturating_sub(unconfirmed);
                        body.skipped_unconfirmed = unconfirmed;
                    }
                }
                let completion = match (&pending.body, reason) {
                    (BodyProgress::UntilClose, EndReason::Fin) => Completion::Complete,
                    _ => Completion::Truncated {
                        part: MessagePart::Body,
                        cause,
                    },
                };
                emit(0..0, pending.finish(completion));
            }
            SideState::Resync { .. } => {}
        }
        self.sides[i].scan = HeadScan::default();
        if dir == Dir::ToClient {
            let client_end = self.ended[side_index(Dir::ToServer)];
            let first_to_close = self.first_to_close.unwrap_or(dir);
            for o in self.outstanding.drain(..) {
                emit(
                    0..0,
                    Box::new(HttpMessage::ConnectionClosedWithOutstandingRequest {
                        exchange: o.exchange,
                        method: o.method,
                        target: o.target,
                        first_to_close,
                        server_end: reason,
                        client_end,
                    }),
                );
            }
            self.client_blocked_by = None;
        }
    }
}
