//! The TLS stream parser: one [`TlsConnectionParser`] per TCP connection, fed the in-order bytes
//! of both directions (see [`crate::proto`] for the contract).
//!
//! # Records and handshake messages
//!
//! Records may be split across segments and several may arrive in one `feed`. Handshake bytes
//! are reassembled per direction across records, so a message fragmented over many records and
//! several messages in one record are both reported once each. A message is emitted with the
//! range from the start of the record where it began to the end of the record that completed
//! it: to keep that start addressable the parser leaves the records of a message that is still
//! incomplete unconsumed (bounded: see [`TlsParserConfig::max_handshake_message`]; beyond the
//! bound the start is given up and the range starts at 0). A message declared longer than the
//! cap is reported as [`TlsMessage::HandshakeTooLarge`] and its bytes are dropped as they come.
//!
//! # Encryption
//!
//! After a ChangeCipherSpec in a direction (TLS ≤ 1.2), its handshake records are reported as
//! [`TlsMessage::EncryptedHandshake`] and its alerts as [`TlsMessage::EncryptedAlert`]. When the
//! ServerHello selects TLS 1.3, everything after it is encrypted in both directions and the
//! ChangeCipherSpec records are compatibility no-ops; TLS 1.3 sends its encrypted handshake in
//! application-data records, so the server's application-data records until the client's first
//! encrypted record, and that first client record (its Finished), are reported as encrypted
//! handshake. This is a heuristic: records cannot be told apart without keys. An alert record
//! of exactly two bytes is decoded even after encryption started (no cipher suite produces a
//! two-byte encrypted alert; some stacks send plaintext alerts on failure).
//!
//! # Application data
//!
//! Application data is never buffered or reported per record. After reading an
//! application-data record header the parser consumes the header and whatever part of the body
//! is present and answers `skip` = the rest of the body, so the reassembler drops it unseen.
//! Records and bytes are counted per direction; the run is reported as one
//! [`TlsMessage::ApplicationData`] when the direction's next non-application-data record is
//! complete (with an empty range at that record's start, so it sorts just before it), and at
//! `end` (range `0..0`). The parser sees neither time nor which side spoke last, so alone it
//! reports one summary per direction per burst between other records; a caller that knows
//! ends runs earlier with [`TlsConnectionParser::take_application_data_run`] (the pipeline
//! ends a run when the other side sends and after a pause, so that a request and its response
//! are told apart and in order).
//!
//! # Damaged input
//!
//! After a `gap` (or an implausible header) the parser scans for a plausible record header
//! (content type 20..=24, version 0x0300..=0x0304, length ≤ 2^14+2048, and the next header
//! plausible too when it is in view) and reports a [`TlsMessage::Resync`] (at `end` if no header
//! shows up before the direction ends, so the skipped bytes are never lost silently). A
//! direction whose
//! first bytes are printable text, or in which no header is found in the first
//! [`START_SCAN_LIMIT`] bytes, is reported once as [`TlsMessage::NotTls`] and everything it sends
//! afterwards is consumed unread.

use core::ops::Range;

use super::handshake::{self, DecodeContext};
use super::message::{
    Alert, ApplicationDataSummary, EncryptedRecord, HandshakeBody, HandshakeMessage,
    HandshakeTooLarge, NotTls, RecordFormat, Resync, Truncated,
};
use super::names::{is_known_handshake_type, sslv2_message_name, version_name};
use super::reader::hex;
use super::record::{
    check_header, find_plausible_header, HeaderCheck, RecordHeader, ALERT, APPLICATION_DATA,
    CHANGE_CIPHER_SPEC, HANDSHAKE, HEARTBEAT, MAX_RECORD_LEN, RECORD_HEADER_LEN,
};
use super::sslv2::{self, Sslv2Header, Sslv2HeaderCheck};
use super::state::{
    LastMessage, Resumption, SentAlert, StreamSpan, TlsConnectionState, MAX_REMEMBERED_ALERTS,
};
use super::TlsMessage;
use crate::proto::{ConnectionParser, Dir, EndReason, Feed};

/// Default cap on one reassembled handshake message (256 KiB).
pub const DEFAULT_MAX_HANDSHAKE_MESSAGE: usize = 256 * 1024;
/// A direction in which no plausible record header shows up within this many first bytes is
/// not TLS.
pub const START_SCAN_LIMIT: u64 = 2 * (MAX_RECORD_LEN as u64 + RECORD_HEADER_LEN as u64);
/// Messages produced by `gap` (which cannot emit) wait for the next `feed`/`end`; at most this
/// many per direction.
const MAX_QUEUED: usize = 8;
/// At most this many alerts in one plaintext alert record are decoded.
const MAX_ALERTS_PER_RECORD: usize = 8;

/// Tunables of the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsParserConfig {
    /// Largest handshake message reassembled (bytes of body). Larger ones are reported as
    /// [`TlsMessage::HandshakeTooLarge`] and skipped.
    pub max_handshake_message: usize,
}

impl Default for TlsParserConfig {
    fn default() -> Self {
        TlsParserConfig {
            max_handshake_message: DEFAULT_MAX_HANDSHAKE_MESSAGE,
        }
    }
}

/// Where a direction is in finding records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing decided yet.
    Start,
    /// At a record boundary.
    Records,
    /// Looking for a record boundary.
    Resyncing { skipped: u64, reason: &'static str },
    /// Not TLS: everything is consumed unread.
    Stopped,
}

/// Per-direction parsing state.
#[derive(Debug, Clone)]
struct DirState {
    phase: Phase,
    /// Bytes at the front of the current input already walked but left unconsumed.
    scan: usize,
    /// Handshake bytes not yet forming a complete message.
    hs: Vec<u8>,
    /// Input offset of the record that carried `hs[0]`; `None` with `hs` non-empty means it was
    /// consumed already.
    hs_start: Option<usize>,
    /// Records that contributed to the pending message.
    hs_records: u32,
    hs_record_version: u16,
    /// Handshake bytes of an over-cap message still to drop.
    discard: u64,
    encrypted: Option<&'static str>,
    burst: ApplicationDataSummary,
    /// Stream offset of `input[0]`.
    base: u64,
    /// Input length minus consumed at the last return (what the reassembler still holds).
    held: usize,
    seen_record: bool,
    /// The direction's first bytes (up to [`OPENING_KEPT`]), kept when they did not start
    /// with a record header: the scan for one consumes them, and a `NotTls` report quotes
    /// them (reported at the end of the stream, it would otherwise quote what was left).
    opening: Option<Box<[u8]>>,
    /// Encrypted SSLv2 records seen (the first ones are handshake).
    sslv2_encrypted_records: u32,
    queued: Vec<TlsMessage>,
}

/// Bytes of a non-TLS opening kept for its `NotTls` report (its text preview reads 64).
const OPENING_KEPT: usize = 64;

impl Default for DirState {
    fn default() -> Self {
        DirState {
            phase: Phase::Start,
            scan: 0,
            hs: Vec::new(),
            hs_start: None,
            hs_records: 0,
            hs_record_version: 0,
            discard: 0,
            encrypted: None,
            burst: ApplicationDataSummary::default(),
            base: 0,
            held: 0,
            seen_record: false,
            opening: None,
            sslv2_encrypted_records: 0,
            queued: Vec::new(),
        }
    }
}

/// What handling one record asks the loop to do next.
enum Step {
    /// Go on at this input offset.
    Continue(usize),
    /// Wait for more bytes.
    NeedMore,
    /// Return this answer now (application-data body to skip).
    Return(Feed),
}

/// Connection-wide facts that change how records are read.
#[derive(Debug, Clone, Copy, Default)]
struct ConnFlags {
    /// A ServerHello or HelloRetryRequest selected TLS 1.3.
    tls13: bool,
    /// A real (non-HRR) TLS 1.3 ServerHello was seen: everything after it is encrypted.
    tls13_encrypted: bool,
    /// The server answered in SSLv2: both directions use SSLv2 records.
    sslv2: bool,
    /// The first ClientHello offered TLS 1.3.
    client_offered_tls13: bool,
    /// The server sent Certificate, ServerKeyExchange or ServerHelloDone after its hello.
    server_full_handshake: bool,
    /// Some direction carried a plausible record.
    any_record: bool,
    /// The direction the ServerHello came in (normally `ToClient`; differs when the caller
    /// guessed the client wrong, e.g. a capture without the SYN).
    server_dir: Option<Dir>,
}

/// The TLS decoder of one TCP connection. See the module documentation for its behaviour.
#[derive(Debug, Clone, Default)]
pub struct TlsConnectionParser {
    config: TlsParserConfig,
    dirs: [DirState; 2],
    flags: ConnFlags,
    state: TlsConnectionState,
    /// During [`TlsConnectionParser::feed_noting_records`] only: where the application-data
    /// records read so far ended (input positions). The caller's list, lent for the call.
    record_ends: Option<Vec<usize>>,
}

/// Application-data record ends noted in one feed at most: past that, a listing of frames
/// would show the same word thousands of times over for a buffer of tiny records.
const MAX_NOTED_RECORD_ENDS: usize = 1024;

fn idx(dir: Dir) -> usize {
    match dir {
        Dir::ToServer => 0,
        Dir::ToClient => 1,
    }
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Whether the bytes look like text (a request line, a banner): printable ASCII.
fn looks_like_text(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .take(8)
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\r' || b == b'\n' || b == b'\t')
}

fn message_name(message: &TlsMessage) -> (&'static str, Option<&'static str>) {
    match message {
        TlsMessage::Handshake(h) => ("handshake", Some(h.handshake_name)),
        TlsMessage::EncryptedHandshake(_) => ("encrypted_handshake", None),
        TlsMessage::ChangeCipherSpec { .. } => ("change_cipher_spec", None),
        TlsMessage::Alert(a) => ("alert", Some(a.description_name)),
        TlsMessage::EncryptedAlert(_) => ("encrypted_alert", None),
        TlsMessage::ApplicationData(_) => ("application_data", None),
        TlsMessage::Heartbeat(_) => ("heartbeat", None),
        TlsMessage::HandshakeTooLarge(h) => ("handshake_too_large", Some(h.handshake_name)),
        TlsMessage::Truncated(_) => ("truncated", None),
        TlsMessage::Resync(_) => ("resync", None),
        TlsMessage::NotTls(_) => ("not_tls", None),
    }
}

impl TlsConnectionParser {
    /// A parser with the default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser with the given configuration.
    pub fn with_config(config: TlsParserConfig) -> Self {
        TlsConnectionParser {
            config,
            ..Self::default()
        }
    }

    /// A copy of what is known about the connection so far.
    pub fn state(&self) -> TlsConnectionState {
        self.state.clone()
    }

    /// What is known about the connection so far, borrowed.
    pub fn state_ref(&self) -> &TlsConnectionState {
        &self.state
    }

    /// [`ConnectionParser::feed`], also noting in `ends` (cleared first) the input position
    /// just past each application-data record read whose body ends within `input`, in order,
    /// for a listing that says which frames carried records (tshark labels each frame with
    /// the records that end in it). Such records are not reported one by one otherwise (see
    /// the module docs), and their bodies are still skipped unseen: a record whose body goes
    /// on past `input` is not noted, its end is where the answer's `skip` runs out.
    pub fn feed_noting_records(
        &mut self,
        dir: Dir,
        input: &[u8],
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
        ends: &mut Vec<usize>,
    ) -> Feed {
        let mut lent = std::mem::take(ends);
        lent.clear();
        self.record_ends = Some(lent);
        let feed = self.feed_inner(dir, input, emit);
        if let Some(noted) = self.record_ends.take() {
            *ends = noted;
        }
        feed
    }

    /// Ends `dir`'s current run of application-data records and returns its counters, if it
    /// has read any record since its last report; the parser then reports it no more (the next
    /// record starts a new run). A caller that knows what the bytes cannot tell splits runs
    /// with it: the pipeline ends a run when the other side speaks (a request and its response
    /// are two runs, told in order) or after a pause, and reports it where its last record
    /// ended. A record whose body is still arriving belongs to the run taken.
    ///
    /// ```
    /// use wiretale::proto::tls::stream::TlsConnectionParser;
    /// use wiretale::proto::{ConnectionParser, Dir};
    ///
    /// let mut parser = TlsConnectionParser::new();
    /// // An application-data record of 3 bytes from the client (no handshake in view).
    /// let record = [23, 3, 3, 0, 3, 1, 2, 3];
    /// parser.feed(Dir::ToServer, &record, &mut |_, _| {});
    /// let run = parser.take_application_data_run(Dir::ToServer).unwrap();
    /// assert_eq!((run.records, run.bytes), (1, 3));
    /// assert!(parser.take_application_data_run(Dir::ToServer).is_none());
    /// ```
    pub fn take_application_data_run(&mut self, dir: Dir) -> Option<ApplicationDataSummary> {
        let burst = std::mem::take(&mut self.dirs[idx(dir)].burst);
        (burst.records > 0).then_some(burst)
    }

    /// Whether `dir` has a run of application-data records not reported yet (see
    /// [`TlsConnectionParser::take_application_data_run`]).
    pub fn has_application_data_run(&self, dir: Dir) -> bool {
        self.dirs[idx(dir)].burst.records > 0
    }

    /// What tshark calls an application-data record of this connection: `Encrypted Data` in
    /// SSLv2, `Application Data` otherwise.
    pub fn application_data_name(&self) -> &'static str {
        if self.flags.sslv2 {
            "Encrypted Data"
        } else {
            "Application Data"
        }
    }

    /// Notes that an application-data record ended at input position `end` (when asked to).
    fn note_record_end(&mut self, end: usize) {
        if let Some(ends) = &mut self.record_ends {
            if ends.len() < MAX_NOTED_RECORD_ENDS {
                ends.push(end);
            }
        }
    }

    fn span(&self, dir: Dir, range: &Range<usize>) -> StreamSpan {
        let base = self.dirs[idx(dir)].base;
        StreamSpan {
            start: base.saturating_add(len_u64(range.start)),
            end: base.saturating_add(len_u64(range.end)),
        }
    }

    /// The direction the server sends in.
    fn server_dir(&self) -> Dir {
        self.flags.server_dir.unwrap_or(Dir::ToClient)
    }

    fn context(&self) -> DecodeContext {
        DecodeContext {
            version: self.state.negotiated_version,
            cipher_suite: self.state.cipher_suite.as_ref().map(|c| c.id),
        }
    }

    /// Emits a message and notes it as the connection's last one.
    fn report(
        &mut self,
        dir: Dir,
        range: Range<usize>,
        message: TlsMessage,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) {
        let (kind, name) = message_name(&message);
        if !matches!(
            message,
            TlsMessage::ApplicationData(_) | TlsMessage::Resync(_) | TlsMessage::Truncated(_)
        ) {
            self.state.last_message = Some(LastMessage { dir, kind, name });
        }
        emit(range, message);
    }

    fn flush_queued(&mut self, dir: Dir, emit: &mut dyn FnMut(Range<usize>, TlsMessage)) {
        let queued = std::mem::take(&mut self.dirs[idx(dir)].queued);
        for message in queued {
            self.report(dir, 0..0, message, emit);
        }
    }

    fn flush_burst(&mut self, dir: Dir, at: usize, emit: &mut dyn FnMut(Range<usize>, TlsMessage)) {
        let burst = std::mem::take(&mut self.dirs[idx(dir)].burst);
        if burst.records > 0 {
            self.report(dir, at..at, TlsMessage::ApplicationData(burst), emit);
        }
    }

    /// Drops a partly reassembled handshake message, reporting it as truncated.
    fn abandon_handshake(&mut self, dir: Dir, cause: &'static str) -> Option<TlsMessage> {
        let d = &mut self.dirs[idx(dir)];
        d.discard = 0;
        if d.hs.is_empty() {
            d.hs_start = None;
            return None;
        }
        let handshake_type = d.hs.first().copied();
        let expected = match d.hs.get(1..4) {
            Some([a, b, c]) => u64::from(u32::from_be_bytes([0, *a, *b, *c])).saturating_add(4),
            _ => 0,
        };
        let message = TlsMessage::Truncated(Truncated {
            what: "handshake_message",
            handshake_type,
            expected,
            available: len_u64(d.hs.len()),
            cause,
        });
        d.hs.clear();
        d.hs_start = None;
        d.hs_records = 0;
        Some(message)
    }

    fn set_encrypted(&mut self, dir: Dir, reason: &'static str) {
        let d = &mut self.dirs[idx(dir)];
        if d.encrypted.is_none() {
            d.encrypted = Some(reason);
            // No plaintext handshake message follows in this direction, so the buffer's
            // capacity (a certificate chain's worth) is given back rather than held for the
            // rest of a long connection.
            if d.hs.is_empty() {
                d.hs = Vec::new();
            }
        }
    }

    fn update_completed(&mut self) {
        self.state.completed = self.state.client_finished && self.state.server_finished;
    }

    fn mark_finished(&mut self, dir: Dir, span: StreamSpan) {
        match dir {
            Dir::ToServer if !self.state.client_finished => {
                self.state.client_finished = true;
                self.state.client_finished_at = Some(span);
            }
            Dir::ToClient if !self.state.server_finished => {
                self.state.server_finished = true;
                self.state.server_finished_at = Some(span);
            }
            _ => {}
        }
        self.update_completed();
    }

    // ---- handshake messages -------------------------------------------------------------

    fn on_handshake(&mut self, dir: Dir, message: &HandshakeMessage, span: StreamSpan) {
        match &message.body {
            HandshakeBody::ClientHello(hello) => {
                self.state.client_hello_count = self.state.client_hello_count.saturating_add(1);
                if self.state.client_hello.is_none() {
                    self.flags.client_offered_tls13 = hello.highest_version >= 0x0304;
                    self.state.client_hello = Some((**hello).clone());
                    self.state.first_client_hello_at = Some(span);
                }
            }
            HandshakeBody::ServerHello(hello) => {
                self.flags.server_dir = Some(dir);
                let is13 = hello.selected_version == 0x0304
                    || (0x7f00..=0x7fff).contains(&hello.selected_version);
                self.flags.tls13 |= is13;
                self.state.negotiated_version = Some(hello.selected_version);
                self.state.negotiated_version_name = Some(version_name(hello.selected_version));
                self.state.cipher_suite = Some(hello.cipher_suite.clone());
                if hello.hello_retry_request {
                    self.state.hello_retry_request = true;
                } else {
                    self.state.server_hello = Some((**hello).clone());
                    self.state.server_hello_at = Some(span);
                    self.state.alpn.clone_from(&hello.alpn);
                    if is13 {
                        self.flags.tls13_encrypted = true;
                        self.set_encrypted(Dir::ToClient, "tls13_after_server_hello");
                        self.set_encrypted(Dir::ToServer, "tls13_after_server_hello");
                        if hello.psk_selected {
                            self.state.resumed = Some(Resumption::Tls13Psk);
                        }
                    } else {
                        let offered = self
                            .state
                            .client_hello
                            .as_ref()
                            .map(|c| c.session_id.as_str())
                            .unwrap_or_default();
                        if !offered.is_empty() && offered == hello.session_id {
                            self.state.resumed = Some(Resumption::SessionId);
                        }
                    }
                }
            }
            HandshakeBody::Certificate(chain) => {
                if dir == self.server_dir() {
                    self.flags.server_full_handshake = true;
                    self.state
                        .server_certificates
                        .clone_from(&chain.certificates);
                } else {
                    self.state
                        .client_certificates
                        .clone_from(&chain.certificates);
                }
            }
            HandshakeBody::ServerKeyExchange(ske) => {
                self.flags.server_full_handshake = true;
                self.state.key_exchange_group = ske.named_group;
            }
            HandshakeBody::CertificateRequest(_) => self.state.certificate_requested = true,
            HandshakeBody::NewSessionTicket { .. } => self.state.session_ticket_issued = true,
            HandshakeBody::Finished { .. } => self.mark_finished(dir, span),
            HandshakeBody::Sslv2ServerHello(hello) => {
                self.flags.server_dir = Some(dir);
                self.flags.sslv2 = true;
                self.state.negotiated_version = Some(0x0002);
                self.state.negotiated_version_name = Some(version_name(0x0002));
                self.state.server_hello_at = Some(span);
                self.state.server_certificates = hello.certificate.iter().cloned().collect();
                if hello.session_id_hit {
                    self.state.resumed = Some(Resumption::SessionId);
                    self.set_encrypted(Dir::ToClient, "sslv2_after_master_key");
                    self.set_encrypted(Dir::ToServer, "sslv2_after_master_key");
                }
            }
            HandshakeBody::Sslv2ClientMasterKey(cmk) => {
                self.state.sslv2_cipher_spec = Some(cmk.cipher_spec.clone());
                self.set_encrypted(Dir::ToClient, "sslv2_after_master_key");
                self.set_encrypted(Dir::ToServer, "sslv2_after_master_key");
            }
            _ => {
                if dir == self.server_dir() && message.handshake_type == 14 {
                    self.flags.server_full_handshake = true;
                }
            }
        }
    }

    /// Decodes the complete handshake messages at the front of the direction's buffer.
    fn drain_handshake(
        &mut self,
        dir: Dir,
        record_end: usize,
        record_start: usize,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) {
        let cap = self.config.max_handshake_message;
        loop {
            let context = self.context();
            let d = &mut self.dirs[idx(dir)];
            let (handshake_type, length) = match d.hs.get(..4) {
                Some([t, a, b, c]) => (*t, u32::from_be_bytes([0, *a, *b, *c])),
                _ => return,
            };
            let body_len = usize::try_from(length).unwrap_or(usize::MAX);
            let start = d.hs_start.unwrap_or(0);
            if body_len > cap {
                let have = d.hs.len().saturating_sub(4);
                d.discard = u64::from(length).saturating_sub(len_u64(have));
                d.hs.clear();
                d.hs_start = None;
                d.hs_records = 0;
                let message = TlsMessage::HandshakeTooLarge(HandshakeTooLarge {
                    handshake_type,
                    handshake_name: super::names::handshake_type_name(handshake_type),
                    declared_length: length,
                    cap,
                });
                self.report(dir, start..record_end, message, emit);
                return;
            }
            let Some(body) = d.hs.get(4..4usize.saturating_add(body_len)) else {
                return;
            };
            let fragmented = d.hs_records > 1;
            let record_version = d.hs_record_version;
            let (handshake_name, decoded) = handshake::decode_body(handshake_type, body, &context);
            let message = HandshakeMessage {
                handshake_type,
                handshake_name,
                length,
                record_version,
                record_format: RecordFormat::Tls,
                fragmented,
                body: decoded,
            };
            let d = &mut self.dirs[idx(dir)];
            d.hs.drain(..4usize.saturating_add(body_len).min(d.hs.len()));
            if d.hs.is_empty() {
                d.hs_start = None;
                d.hs_records = 0;
            } else {
                d.hs_start = Some(record_start);
                d.hs_records = 1;
            }
            let range = start..record_end;
            let span = self.span(dir, &range);
            self.on_handshake(dir, &message, span);
            self.report(dir, range, TlsMessage::Handshake(message), emit);
        }
    }

    fn handshake_record(
        &mut self,
        dir: Dir,
        header: &RecordHeader,
        body: &[u8],
        range: Range<usize>,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) {
        let d = &mut self.dirs[idx(dir)];
        let pending = !d.hs.is_empty() || d.discard > 0;
        let encrypted_reason = match d.encrypted {
            Some(reason) => Some(reason),
            None if !pending && body.first().is_some_and(|&t| !is_known_handshake_type(t)) => {
                Some("not_a_handshake_header")
            }
            None => None,
        };
        if let Some(reason) = encrypted_reason {
            let message = TlsMessage::EncryptedHandshake(EncryptedRecord {
                record_version: header.version,
                length: u32::from(header.length),
                reason,
            });
            let span = self.span(dir, &range);
            let finishes = reason == "after_change_cipher_spec"
                || (reason == "tls13_after_server_hello" && dir == Dir::ToClient);
            if finishes {
                self.mark_finished(dir, span);
            }
            self.report(dir, range, message, emit);
            return;
        }
        let mut data = body;
        if d.discard > 0 {
            let n = usize::try_from(d.discard)
                .unwrap_or(usize::MAX)
                .min(data.len());
            data = data.get(n..).unwrap_or_default();
            d.discard = d.discard.saturating_sub(len_u64(n));
        }
        if data.is_empty() {
            return;
        }
        if d.hs.is_empty() {
            d.hs_start = Some(range.start);
            d.hs_records = 0;
            d.hs_record_version = header.version;
        }
        d.hs_records = d.hs_records.saturating_add(1);
        d.hs.extend_from_slice(data);
        self.drain_handshake(dir, range.end, range.start, emit);
    }

    fn change_cipher_spec_record(
        &mut self,
        dir: Dir,
        header: &RecordHeader,
        range: Range<usize>,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) {
        if let Some(message) = self.abandon_handshake(dir, "interleaved_record") {
            self.report(dir, range.start..range.start, message, emit);
        }
        match dir {
            Dir::ToServer => self.state.client_change_cipher_spec = true,
            Dir::ToClient => self.state.server_change_cipher_spec = true,
        }
        let version_unknown_but_13_possible =
            self.state.negotiated_version.is_none() && self.flags.client_offered_tls13;
        if !self.flags.tls13 && !version_unknown_but_13_possible {
            self.set_encrypted(dir, "after_change_cipher_spec");
            if dir == self.server_dir()
                && self.state.server_hello.is_some()
                && !self.flags.server_full_handshake
            {
                self.state.abbreviated_handshake = true;
                if self.state.resumed.is_none() {
                    let ticket = self
                        .state
                        .client_hello
                        .as_ref()
                        .and_then(|c| c.session_ticket_length)
                        .unwrap_or(0);
                    if ticket > 0 {
                        self.state.resumed = Some(Resumption::SessionTicket);
                    }
                }
            }
        }
        self.report(
            dir,
            range,
            TlsMessage::ChangeCipherSpec {
                record_version: header.version,
            },
            emit,
        );
    }

    fn alert_record(
        &mut self,
        dir: Dir,
        header: &RecordHeader,
        body: &[u8],
        range: Range<usize>,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) {
        let encrypted = self.dirs[idx(dir)].encrypted;
        let readable = body.len() == 2
            || (encrypted.is_none()
                && !body.is_empty()
                && body.len() % 2 == 0
                && body.len() <= 2 * MAX_ALERTS_PER_RECORD);
        if !readable {
            self.state.encrypted_alerts = self.state.encrypted_alerts.saturating_add(1);
            let message = TlsMessage::EncryptedAlert(EncryptedRecord {
                record_version: header.version,
                length: u32::from(header.length),
                reason: encrypted.unwrap_or("unreadable_alert"),
            });
            self.report(dir, range, message, emit);
            return;
        }
        for pair in body.chunks_exact(2) {
            let (Some(&level), Some(&description)) = (pair.first(), pair.get(1)) else {
                continue;
            };
            let alert = Alert::new(level, description, header.version);
            if self.state.alerts.len() < MAX_REMEMBERED_ALERTS {
                self.state.alerts.push(SentAlert {
                    dir,
                    alert: alert.clone(),
                });
            }
            self.report(dir, range.clone(), TlsMessage::Alert(alert), emit);
        }
    }

    /// Whether an application-data record in `dir` is really TLS 1.3 encrypted handshake.
    /// The server's records count until the client's first encrypted record; the client's
    /// first encrypted record is its Finished.
    fn tls13_handshake_record(&self) -> bool {
        self.flags.tls13_encrypted && !self.state.client_finished
    }

    fn tls_record(
        &mut self,
        dir: Dir,
        header: RecordHeader,
        input: &[u8],
        pos: usize,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) -> Step {
        let body_start = pos.saturating_add(RECORD_HEADER_LEN);
        let total = header.total_len();
        let end = pos.saturating_add(total);
        self.flags.any_record = true;
        self.dirs[idx(dir)].seen_record = true;

        if header.content_type == APPLICATION_DATA && !self.tls13_handshake_record() {
            if let Some(message) = self.abandon_handshake(dir, "interleaved_record") {
                self.report(dir, pos..pos, message, emit);
            }
            let length = u64::from(header.length);
            let d = &mut self.dirs[idx(dir)];
            d.burst.records = d.burst.records.saturating_add(1);
            d.burst.bytes = d.burst.bytes.saturating_add(length);
            let totals = match dir {
                Dir::ToServer => &mut self.state.client_application_data,
                Dir::ToClient => &mut self.state.server_application_data,
            };
            totals.records = totals.records.saturating_add(1);
            totals.bytes = totals.bytes.saturating_add(length);
            self.state.last_message = Some(LastMessage {
                dir,
                kind: "application_data",
                name: None,
            });
            let available = input.len().saturating_sub(body_start);
            let body_len = usize::from(header.length);
            if available < body_len {
                let consumed = body_start.saturating_add(available).min(input.len());
                return Step::Return(Feed {
                    consumed,
                    skip: len_u64(body_len - available),
                });
            }
            self.note_record_end(end);
            return Step::Continue(end);
        }

        let Some(body) = input.get(body_start..end) else {
            return Step::NeedMore;
        };
        self.flush_burst(dir, pos, emit);
        let range = pos..end;
        match header.content_type {
            HANDSHAKE => self.handshake_record(dir, &header, body, range, emit),
            CHANGE_CIPHER_SPEC => self.change_cipher_spec_record(dir, &header, range, emit),
            ALERT => self.alert_record(dir, &header, body, range, emit),
            HEARTBEAT => {
                let message = TlsMessage::Heartbeat(EncryptedRecord {
                    record_version: header.version,
                    length: u32::from(header.length),
                    reason: self.dirs[idx(dir)].encrypted.unwrap_or("not_encrypted"),
                });
                self.report(dir, range, message, emit);
            }
            _ => {
                // TLS 1.3 encrypted handshake carried as application data.
                let span = self.span(dir, &range);
                self.mark_finished(dir, span);
                let message = TlsMessage::EncryptedHandshake(EncryptedRecord {
                    record_version: header.version,
                    length: u32::from(header.length),
                    reason: "tls13_after_server_hello",
                });
                self.report(dir, range, message, emit);
            }
        }
        Step::Continue(end)
    }

    fn sslv2_record(
        &mut self,
        dir: Dir,
        header: Sslv2Header,
        input: &[u8],
        pos: usize,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) -> Step {
        let body_start = pos.saturating_add(header.header_len);
        let end = pos.saturating_add(header.total_len());
        self.flags.any_record = true;
        self.dirs[idx(dir)].seen_record = true;
        let encrypted = self.dirs[idx(dir)].encrypted;

        if encrypted.is_some() {
            // After CLIENT-MASTER-KEY every record is encrypted: the client's first one is its
            // CLIENT-FINISHED, the server's first two SERVER-VERIFY and SERVER-FINISHED; the
            // rest is application data.
            let handshake_records = if dir == Dir::ToServer { 1 } else { 2 };
            let d = &mut self.dirs[idx(dir)];
            if d.sslv2_encrypted_records >= handshake_records {
                d.burst.records = d.burst.records.saturating_add(1);
                d.burst.bytes = d.burst.bytes.saturating_add(len_u64(header.length));
                let totals = match dir {
                    Dir::ToServer => &mut self.state.client_application_data,
                    Dir::ToClient => &mut self.state.server_application_data,
                };
                totals.records = totals.records.saturating_add(1);
                totals.bytes = totals.bytes.saturating_add(len_u64(header.length));
                let available = input.len().saturating_sub(body_start);
                if available < header.length {
                    let consumed = body_start.saturating_add(available).min(input.len());
                    return Step::Return(Feed {
                        consumed,
                        skip: len_u64(header.length - available),
                    });
                }
                self.note_record_end(end);
                return Step::Continue(end);
            }
            if input.len() < end {
                return Step::NeedMore;
            }
            d.sslv2_encrypted_records = d.sslv2_encrypted_records.saturating_add(1);
            self.flush_burst(dir, pos, emit);
            let range = pos..end;
            let span = self.span(dir, &range);
            self.mark_finished(dir, span);
            let message = TlsMessage::EncryptedHandshake(EncryptedRecord {
                record_version: 0x0002,
                length: len_u32(header.length),
                reason: "sslv2_after_master_key",
            });
            self.report(dir, range, message, emit);
            return Step::Continue(end);
        }

        let content_end = end.saturating_sub(usize::from(header.padding));
        let Some(body) = input.get(body_start..content_end) else {
            return Step::NeedMore;
        };
        if input.len() < end {
            return Step::NeedMore;
        }
        self.flush_burst(dir, pos, emit);
        let range = pos..end;
        let Some((&message_type, rest)) = body.split_first() else {
            return Step::Continue(end);
        };
        let decoded = sslv2::decode_message(message_type, rest);
        let message = HandshakeMessage {
            handshake_type: message_type,
            handshake_name: sslv2_message_name(message_type),
            length: len_u32(rest.len()),
            record_version: 0x0002,
            record_format: RecordFormat::Sslv2,
            fragmented: false,
            body: decoded,
        };
        let span = self.span(dir, &range);
        self.on_handshake(dir, &message, span);
        self.report(dir, range, TlsMessage::Handshake(message), emit);
        Step::Continue(end)
    }

    /// Reads the record at `pos` (TLS or SSLv2).
    fn record_at(
        &mut self,
        dir: Dir,
        input: &[u8],
        pos: usize,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) -> Option<Step> {
        let rest = input.get(pos..).unwrap_or_default();
        let first = *rest.first()?;
        if self.flags.sslv2 || first & 0x80 != 0 {
            // Outside an SSLv2 connection only an SSLv2 hello may use an SSLv2 header.
            if !self.flags.sslv2 {
                let client = sslv2::looks_like_client_hello(rest);
                let server = sslv2::looks_like_server_hello(rest);
                if client != Some(true) && server != Some(true) {
                    return if client.is_none() || server.is_none() {
                        Some(Step::NeedMore)
                    } else {
                        None
                    };
                }
            }
            return match sslv2::parse_header(rest, self.flags.sslv2) {
                Sslv2HeaderCheck::Header(header) => {
                    Some(self.sslv2_record(dir, header, input, pos, emit))
                }
                Sslv2HeaderCheck::NeedMore => Some(Step::NeedMore),
                Sslv2HeaderCheck::Invalid => None,
            };
        }
        match check_header(rest) {
            HeaderCheck::Plausible(header) => Some(self.tls_record(dir, header, input, pos, emit)),
            HeaderCheck::NeedMore => Some(Step::NeedMore),
            HeaderCheck::Implausible => None,
        }
    }

    /// Decides what the first bytes of a direction are.
    fn start(
        &mut self,
        dir: Dir,
        rest: &[u8],
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) -> Option<Phase> {
        match super::looks_like_tls(rest) {
            Some(true) => return Some(Phase::Records),
            None => return None,
            Some(false) => {}
        }
        match sslv2::looks_like_server_hello(rest) {
            Some(true) => return Some(Phase::Records),
            None => return None,
            Some(false) => {}
        }
        if rest.len() < 4 && !self.flags.any_record {
            return None;
        }
        if !self.flags.any_record && looks_like_text(rest) {
            self.not_tls(dir, rest, "plaintext", emit);
            return Some(Phase::Stopped);
        }
        Some(Phase::Resyncing {
            skipped: 0,
            reason: "midstream",
        })
    }

    fn not_tls(
        &mut self,
        dir: Dir,
        bytes: &[u8],
        reason: &'static str,
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) {
        // The range reported is in the current input; the bytes quoted are the direction's
        // first ones when the scan for a record header consumed some of them.
        let range = 0..bytes.len().min(16);
        let opening = self.dirs[idx(dir)].opening.take();
        let bytes = opening.as_deref().unwrap_or(bytes);
        let head = bytes.get(..bytes.len().min(16)).unwrap_or_default();
        let text_preview = if !head.is_empty() && looks_like_text(head) {
            let cut = bytes
                .get(..bytes.len().min(OPENING_KEPT))
                .unwrap_or_default();
            let line = cut
                .split(|&b| b == b'\r' || b == b'\n')
                .next()
                .unwrap_or(cut);
            Some(String::from_utf8_lossy(line).into_owned())
        } else {
            None
        };
        match dir {
            Dir::ToServer => self.state.client_not_tls = true,
            Dir::ToClient => self.state.server_not_tls = true,
        }
        self.dirs[idx(dir)].phase = Phase::Stopped;
        let message = TlsMessage::NotTls(NotTls {
            reason,
            first_bytes: hex(head),
            text_preview,
        });
        self.report(dir, range, message, emit);
    }

    fn feed_inner(
        &mut self,
        dir: Dir,
        input: &[u8],
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) -> Feed {
        self.flush_queued(dir, emit);
        let i = idx(dir);
        if self.dirs[i].phase == Phase::Stopped {
            return Feed {
                consumed: input.len(),
                skip: 0,
            };
        }
        if self.dirs[i].scan > input.len() {
            // The caller did not hand back the bytes left unconsumed: start over at a boundary.
            let d = &mut self.dirs[i];
            d.scan = 0;
            d.hs.clear();
            d.hs_start = None;
            d.discard = 0;
            d.phase = Phase::Resyncing {
                skipped: 0,
                reason: "invalid_record",
            };
        }
        let mut pos = self.dirs[i].scan;
        while let Some(rest) = input.get(pos..) {
            if rest.is_empty() {
                break;
            }
            match self.dirs[i].phase {
                Phase::Stopped => {
                    pos = input.len();
                    break;
                }
                Phase::Start => match self.start(dir, rest, emit) {
                    Some(Phase::Stopped) => {
                        pos = input.len();
                        break;
                    }
                    Some(phase) => {
                        let d = &mut self.dirs[i];
                        if matches!(phase, Phase::Resyncing { .. }) && !d.seen_record {
                            let kept = rest.get(..rest.len().min(OPENING_KEPT));
                            d.opening = kept.map(Box::from);
                        }
                        d.phase = phase;
                    }
                    None => break,
                },
                Phase::Resyncing { skipped, reason } => match find_plausible_header(rest) {
                    Some(offset) => {
                        let total = skipped.saturating_add(len_u64(offset));
                        self.dirs[i].phase = Phase::Records;
                        self.dirs[i].opening = None;
                        // Landing right on a record boundary (e.g. a gap of whole records)
                        // loses nothing more: no message.
                        if total > 0 {
                            self.state.resyncs = self.state.resyncs.saturating_add(1);
                            let message = TlsMessage::Resync(Resync {
                                skipped_bytes: total,
                                reason,
                            });
                            self.report(dir, pos..pos.saturating_add(offset), message, emit);
                        }
                        pos = pos.saturating_add(offset);
                    }
                    None => {
                        let advance = rest.len().saturating_sub(RECORD_HEADER_LEN - 1);
                        let total = skipped.saturating_add(len_u64(advance));
                        pos = pos.saturating_add(advance);
                        self.dirs[i].phase = Phase::Resyncing {
                            skipped: total,
                            reason,
                        };
                        if !self.dirs[i].seen_record && total > START_SCAN_LIMIT {
                            self.not_tls(dir, input, "no_record_header", emit);
                            pos = input.len();
                        }
                        break;
                    }
                },
                Phase::Records => match self.record_at(dir, input, pos, emit) {
                    Some(Step::Continue(next)) => pos = next.max(pos.saturating_add(1)),
                    Some(Step::NeedMore) => break,
                    Some(Step::Return(feed)) => {
                        let d = &mut self.dirs[i];
                        d.scan = 0;
                        d.base = d
                            .base
                            .saturating_add(len_u64(feed.consumed))
                            .saturating_add(feed.skip);
                        d.held = 0;
                        return feed;
                    }
                    None => {
                        if let Some(message) = self.abandon_handshake(dir, "interleaved_record") {
                            self.report(dir, pos..pos, message, emit);
                        }
                        // Step over the byte that failed so the scan cannot land on it again
                        // (an SSLv2 connection reads headers differently from the scan).
                        pos = pos.saturating_add(1);
                        self.dirs[i].phase = Phase::Resyncing {
                            skipped: 1,
                            reason: "invalid_record",
                        };
                    }
                },
            }
        }
        let pos = pos.min(input.len());
        let max_held = self.config.max_handshake_message.saturating_add(64 * 1024);
        let d = &mut self.dirs[i];
        let mut consumed = match d.hs_start {
            Some(start) if !d.hs.is_empty() => start.min(pos),
            _ => pos,
        };
        if pos - consumed > max_held {
            consumed = pos;
            d.hs_start = None;
        }
        d.hs_start = d.hs_start.map(|s| s.saturating_sub(consumed));
        d.scan = pos - consumed;
        d.base = d.base.saturating_add(len_u64(consumed));
        d.held = input.len() - consumed;
        Feed { consumed, skip: 0 }
    }
}

impl ConnectionParser for TlsConnectionParser {
    type Message = TlsMessage;

    fn feed(
        &mut self,
        dir: Dir,
        input: &[u8],
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) -> Feed {
        self.feed_inner(dir, input, emit)
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        let truncated = self.abandon_handshake(dir, "gap");
        let d = &mut self.dirs[idx(dir)];
        d.base = d.base.saturating_add(len_u64(d.held)).saturating_add(len);
        d.held = 0;
        d.scan = 0;
        if let Some(message) = truncated {
            if d.queued.len() < MAX_QUEUED {
                d.queued.push(message);
            }
        }
        if d.phase != Phase::Stopped {
            d.phase = Phase::Resyncing {
                skipped: 0,
                reason: "gap",
            };
        }
    }

    fn end(
        &mut self,
        dir: Dir,
        _reason: EndReason,
        input: &[u8],
        emit: &mut dyn FnMut(Range<usize>, TlsMessage),
    ) {
        self.flush_queued(dir, emit);
        self.flush_burst(dir, 0, emit);
        if let Some(message) = self.abandon_handshake(dir, "end") {
            self.report(dir, 0..0, message, emit);
            return;
        }
        let d = &self.dirs[idx(dir)];
        let rest = input.get(d.scan.min(input.len())..).unwrap_or_default();
        match d.phase {
            Phase::Records if !rest.is_empty() => {
                let expected = match check_header(rest) {
                    HeaderCheck::Plausible(h) => len_u64(h.total_len()),
                    _ => match sslv2::parse_header(rest, self.flags.sslv2) {
                        Sslv2HeaderCheck::Header(h) => len_u64(h.total_len()),
                        _ => 0,
                    },
                };
                let message = TlsMessage::Truncated(Truncated {
                    what: "record",
                    handshake_type: None,
                    expected,
                    available: len_u64(rest.len()),
                    cause: "end",
                });
                self.report(dir, 0..0, message, emit);
            }
            Phase::Start | Phase::Resyncing { .. } if !d.seen_record && !rest.is_empty() => {
                let reason = if d.phase == Phase::Start {
                    "too_short"
                } else {
                    "no_record_header"
                };
                self.not_tls(dir, rest, reason, emit);
            }
            Phase::Resyncing { skipped, reason } => {
                // The search for a record boundary never succeeded: the bytes it dropped are
                // still reported, not lost silently.
                let total = skipped.saturating_add(len_u64(rest.len()));
                if total > 0 {
                    let message = TlsMessage::Resync(Resync {
                        skipped_bytes: total,
                        reason,
                    });
                    self.report(dir, 0..0, message, emit);
                }
            }
            _ => {}
        }
    }
}
