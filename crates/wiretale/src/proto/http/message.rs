//! What the HTTP stream parser reports.

use serde::Serialize;

use super::error::HttpError;
use super::framing::BodyFraming;
use super::head::{HttpVersion, RequestHead, ResponseHead};
use super::persistence::KeepAliveReason;
use crate::proto::{Dir, EndReason};

/// One event of an HTTP/1.x connection, reported through the `emit` callback of
/// [`HttpConnectionParser`](super::HttpConnectionParser).
///
/// Requests and responses are reported **once, when complete** (after the last body byte), so
/// the range's end maps to the frame that completes the message, as Wireshark reports a
/// reassembled message. See the module docs for the exact range rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpMessage {
    /// A request (head and body).
    Request(HttpRequest),
    /// A response (head and body), paired with its request.
    Response(HttpResponse),
    /// A 2xx answered a CONNECT: from here on both directions carry the tunnelled protocol and
    /// this parser consumes nothing more.
    TunnelEstablished {
        /// The exchange of the CONNECT.
        exchange: u32,
        /// The CONNECT target (`host:port`).
        authority: String,
        /// The 2xx status.
        status: u16,
    },
    /// `101 Switching Protocols`: the parser consumes nothing more.
    ProtocolSwitched {
        /// The exchange of the request that asked for it, if known.
        exchange: Option<u32>,
        /// The response's `Upgrade` value.
        upgrade: Option<String>,
    },
    /// The server's direction ended while this request still had no (final) response.
    ConnectionClosedWithOutstandingRequest {
        /// The request's exchange index.
        exchange: u32,
        /// Its method.
        method: String,
        /// Its target.
        target: String,
        /// Which direction ended first.
        first_to_close: Dir,
        /// How the server-to-client direction ended.
        server_end: EndReason,
        /// How the client-to-server direction ended, if it had.
        client_end: Option<EndReason>,
    },
    /// Bytes that are not HTTP where a message should start (reported once per stretch of
    /// garbage; the parser then searches for the next start line).
    DecodeError {
        /// The direction.
        dir: Dir,
        /// What was wrong.
        error: HttpError,
        /// The error as text.
        message: String,
    },
    /// The parser found a start line again after garbage or a gap.
    Resynchronized {
        /// The direction.
        dir: Dir,
        /// Bytes dropped while searching (not counting bytes missing in gaps).
        discarded: u64,
        /// What made it lose its place.
        after: ResyncCause,
    },
}

/// Why the parser had to resynchronise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResyncCause {
    /// Bytes were missing from the capture.
    Gap,
    /// Bytes could not be decoded.
    Error,
    /// The capture joined the connection after it began (no SYN): the first bytes may be the
    /// middle of a message.
    MidStream,
}

/// A complete (or ended) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRequest {
    /// Index of this request on its connection (0 for the first).
    pub exchange: u32,
    /// Method, target, version and headers.
    #[serde(flatten)]
    pub head: RequestHead,
    /// Whether the client expects the connection to stay open.
    pub keep_alive: bool,
    /// Why.
    pub keep_alive_reason: KeepAliveReason,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
    /// The body.
    pub body: BodyInfo,
    /// Whether the message was seen whole.
    pub completion: Completion,
    /// Bytes of the head.
    pub head_len: usize,
    /// Bytes of the whole message on the wire (head + body with its framing).
    pub wire_len: u64,
}

/// The request a response answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestSummary {
    /// Its method.
    pub method: String,
    /// Its target.
    pub target: String,
    /// Its version.
    pub version: HttpVersion,
    /// Whether the client asked to keep the connection open.
    pub keep_alive: bool,
}

/// A complete (or ended) response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpResponse {
    /// The exchange index of the request it answers (`None` when no request was outstanding).
    pub exchange: Option<u32>,
    /// The request it answers.
    pub request: Option<RequestSummary>,
    /// True when a gap or an overflow may have misaligned requests and responses.
    #[serde(skip_serializing_if = "is_false")]
    pub pairing_uncertain: bool,
    /// Version, status, reason and headers.
    #[serde(flatten)]
    pub head: ResponseHead,
    /// A 1xx other than 101: the final response follows.
    pub interim: bool,
    /// Whether the server keeps the connection open after it.
    pub keep_alive: bool,
    /// Why.
    pub keep_alive_reason: KeepAliveReason,
    /// The body.
    pub body: BodyInfo,
    /// Whether the message was seen whole.
    pub completion: Completion,
    /// Bytes of the head.
    pub head_len: usize,
    /// Bytes of the whole message on the wire (head + body with its framing).
    pub wire_len: u64,
}

/// A message body, described without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BodyInfo {
    /// How it is delimited (`None` when the framing headers were invalid).
    pub framing: Option<BodyFraming>,
    /// Payload bytes (chunk data for chunked), including bytes missing in gaps.
    pub len: u64,
    /// Bytes on the wire after the head (with chunk framing).
    pub wire_len: u64,
    /// Bytes of the body that were missing from the capture.
    #[serde(skip_serializing_if = "is_zero")]
    pub gap_bytes: u64,
    /// For a body cut short: bytes the parser had asked the reassembler to skip just before
    /// the direction ended. Some or all of them may never have arrived; they are not counted
    /// in `len`.
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_unconfirmed: u64,
    /// Details of a chunked body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunked: Option<ChunkedInfo>,
}

/// Details of a chunked body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkedInfo {
    /// Number of non-empty chunks.
    pub chunks: u64,
    /// True if any chunk carried extensions.
    pub extensions: bool,
    /// Names of the trailer fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trailers: Vec<String>,
}

/// Whether a message was seen whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Completion {
    /// Seen whole (a close-delimited body ended by FIN counts as whole).
    Complete,
    /// Cut short.
    Truncated {
        /// Which part was cut.
        part: MessagePart,
        /// What cut it.
        cause: TruncationCause,
    },
    /// The framing was invalid; the parser resynchronised after it.
    Error {
        /// What was wrong.
        error: HttpError,
    },
}

/// Part of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessagePart {
    /// The start line and headers.
    Head,
    /// The body.
    Body,
}

/// What cut a message short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TruncationCause {
    /// The sender closed (FIN).
    Fin,
    /// The connection was reset.
    Reset,
    /// The capture ended.
    CaptureEnd,
    /// Bytes were missing and the framing was lost.
    Gap,
}

impl From<EndReason> for TruncationCause {
    fn from(r: EndReason) -> TruncationCause {
        match r {
            EndReason::Fin => TruncationCause::Fin,
            EndReason::Reset => TruncationCause::Reset,
            EndReason::CaptureEnd => TruncationCause::CaptureEnd,
        }
    }
}

impl BodyInfo {
    pub(crate) fn new(framing: Option<BodyFraming>) -> BodyInfo {
        BodyInfo {
            framing,
            len: 0,
            wire_len: 0,
            gap_bytes: 0,
            skipped_unconfirmed: 0,
            chunked: None,
        }
    }
}

impl HttpMessage {
    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&HttpRequest> {
        match self {
            HttpMessage::Request(r) => Some(r),
            _ => None,
        }
    }

    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&HttpResponse> {
        match self {
            HttpMessage::Response(r) => Some(r),
            _ => None,
        }
    }

    /// For [`HttpMessage::ConnectionClosedWithOutstandingRequest`], the direction whose FIN
    /// closed the connection first; `None` when it did not end that way: a reset and the
    /// capture's end stop both directions at once (`first_to_close` then names whichever the
    /// parser heard of first), and who sent a reset is told by the TCP event at its frame.
    ///
    /// ```
    /// use wiretale::proto::http::HttpMessage;
    /// use wiretale::proto::{Dir, EndReason};
    /// let closed = |server_end, client_end| HttpMessage::ConnectionClosedWithOutstandingRequest {
    ///     exchange: 0,
    ///     method: "GET".into(),
    ///     target: "/".into(),
    ///     first_to_close: Dir::ToServer,
    ///     server_end,
    ///     client_end,
    /// };
    /// let fin = closed(EndReason::Fin, Some(EndReason::Fin));
    /// assert_eq!(fin.unanswered_closed_by(), Some(Dir::ToServer));
    /// let reset = closed(EndReason::Reset, Some(EndReason::Reset));
    /// assert_eq!(reset.unanswered_closed_by(), None);
    /// assert_eq!(closed(EndReason::CaptureEnd, None).unanswered_closed_by(), None);
    /// ```
    pub fn unanswered_closed_by(&self) -> Option<Dir> {
        match self {
            HttpMessage::ConnectionClosedWithOutstandingRequest {
                first_to_close,
                server_end,
                client_end,
                ..
            } => {
                let first_end = match first_to_close {
                    Dir::ToServer => *client_end,
                    Dir::ToClient => Some(*server_end),
                };
                (first_end == Some(EndReason::Fin)).then_some(*first_to_close)
            }
            _ => None,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
