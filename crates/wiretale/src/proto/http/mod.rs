//! HTTP/1.x decoder: request and response heads (via `httparse`), body framing, authentication
//! headers, connection persistence, and a stream parser for both directions of a connection.
//!
//! # What the stream parser reports
//!
//! [`HttpConnectionParser`] implements [`ConnectionParser`](crate::proto::ConnectionParser)
//! with `Box<HttpMessage>` as its message (a message is several hundred bytes; it is boxed
//! once and handed on as is, as [`crate::timeline::Detail::Http`] keeps it). One instance
//! serves one TCP connection.
//!
//! * **One message per request and per response, emitted when it is complete** — after the
//!   last body byte (or the head, for messages without a body). Its `range` ends at the byte
//!   that completed it, so it maps to the completing frame, as Wireshark reports a reassembled
//!   message. `range.start` is the head's first byte when the head is in the same `input`;
//!   when the body was spread over several calls it is `0` (the head was consumed earlier).
//!   `wire_len` (head + body on the wire) lets a caller that tracks stream offsets compute
//!   where the message began: `absolute_end - wire_len`.
//! * Interim responses (1xx other than 101) are emitted as responses with `interim: true`; the
//!   request stays outstanding for the final response.
//! * Responses are paired with requests in order (pipelining): each carries the `exchange`
//!   index of its request and a summary of it (method, target, version, keep-alive).
//! * Bodies are never buffered. Content-Length bodies are consumed as far as present and the
//!   rest returned as `skip`, **except the final byte**, which the parser asks to see so the
//!   completion lands in the frame carrying it. Chunked bodies: chunk-size lines and trailers
//!   are parsed, chunk data is skipped. Close-delimited bodies are consumed as they arrive (so
//!   their length is exact) and complete at `end`.
//! * After a 2xx to CONNECT the parser emits [`HttpMessage::TunnelEstablished`], after a 101
//!   [`HttpMessage::ProtocolSwitched`]; from then on it consumes nothing in either direction
//!   and [`HttpConnectionParser::switched`] says so: the unconsumed bytes belong to the next
//!   decoder. While a CONNECT (or Upgrade) request awaits its response, client bytes are left
//!   unconsumed (up to `max_head_len`, after which the answer is presumed lost); they are
//!   parsed at the next client feed or at `end`.
//! * `end` completes close-delimited bodies (FIN: complete; RST or capture end: truncated),
//!   reports truncated heads and bodies, and — when the server's direction ends — one
//!   [`HttpMessage::ConnectionClosedWithOutstandingRequest`] per request left unanswered.
//!   Messages completed by `end` or by a gap have the range `0..0`.
//! * `gap`: a hole inside a Content-Length or close-delimited body is counted in the body's
//!   `len` and `gap_bytes`; elsewhere the parser resynchronises on the next request or status
//!   line at a line start and reports [`HttpMessage::Resynchronized`]. Holes inside a region
//!   the parser asked to skip are assumed to be counted as skipped by the reassembler (no
//!   `gap` call).
//! * Garbage where a head should start: one [`HttpMessage::DecodeError`] per stretch, then the
//!   bytes are consumed line by line (a partial line is kept only while it can still become a
//!   start line, at most 8 KiB) until a start line is found.
//! * A connection whose SYN was not captured should get
//!   [`HttpConnectionParser::new_midstream`]: it searches for the first start line instead of
//!   reporting the leading bytes as garbage. Which side is the client is the caller's call;
//!   [`looks_like_http_request`] / [`looks_like_http_response`] help decide it from content.
//! * Directions are fed in capture order: a response is paired with the oldest request whose
//!   head was already parsed.
//!
//! Memory is bounded by [`HttpConfig`]: heads and trailers by `max_head_len`, header count by
//! `max_headers`, the pairing queue by `max_outstanding_requests`, chunk-size lines by
//! `max_chunk_line_len`; auth challenges and params by fixed caps in [`auth`].

mod ascii;
pub mod auth;
mod chunked;
pub mod error;
pub mod framing;
pub mod head;
pub mod message;
pub mod persistence;
pub mod sniff;
mod stream;
pub mod target;

#[cfg(test)]
mod capture_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod test_driver;

pub use auth::{AuthScheme, BasicCredentials, Challenge, Credentials, Secret};
pub use error::HttpError;
pub use framing::{BodyFraming, NoBody};
pub use head::{
    parse_request_head, parse_response_head, HeaderBlock, HeaderLine, HttpVersion, RequestHead,
    ResponseHead,
};
pub use message::{
    BodyInfo, Completion, HttpMessage, HttpRequest, HttpResponse, MessagePart, RequestSummary,
    ResyncCause, TruncationCause,
};
pub use persistence::KeepAliveReason;
pub use sniff::{looks_like_http, looks_like_http_request, looks_like_http_response};
pub use stream::{ConnectionSwitch, HttpConnectionParser};
pub use target::RequestTarget;

/// Limits and options of the HTTP decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Longest head (start line + headers + empty line), also the limit of a trailer section.
    /// Default 64 KiB; clamped to 64 B..=16 MiB.
    pub max_head_len: usize,
    /// Most header fields in one head. Default 256; clamped to 1..=8192.
    pub max_headers: usize,
    /// Most requests awaiting responses on one connection. Default 128; clamped to 1..=65536.
    pub max_outstanding_requests: usize,
    /// Longest chunk-size line (with extensions). Default 4 KiB; clamped to 16 B..=1 MiB.
    pub max_chunk_line_len: usize,
    /// Keep secrets (Basic passwords, Bearer tokens) in serialized output. Default false.
    pub show_secrets: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_head_len: 64 * 1024,
            max_headers: 256,
            max_outstanding_requests: 128,
            max_chunk_line_len: 4 * 1024,
            show_secrets: false,
        }
    }
}

impl HttpConfig {
    pub(crate) fn max_head_len(&self) -> usize {
        self.max_head_len.clamp(64, 16 << 20)
    }

    pub(crate) fn max_headers(&self) -> usize {
        self.max_headers.clamp(1, 8192)
    }

    pub(crate) fn max_outstanding_requests(&self) -> usize {
        self.max_outstanding_requests.clamp(1, 65536)
    }

    pub(crate) fn max_chunk_line_len(&self) -> usize {
        self.max_chunk_line_len.clamp(16, 1 << 20)
    }
}
