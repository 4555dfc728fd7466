//! Why HTTP bytes could not be decoded.

use serde::Serialize;

/// A decoding problem. Each one is reported once, either inside the message it spoiled
/// (`Completion::Error`) or as an [`HttpMessage::DecodeError`](super::HttpMessage::DecodeError)
/// when there is no message to attach it to; the parser then resynchronises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum HttpError {
    /// The bytes do not begin like an HTTP start line for this direction.
    #[error("not an HTTP {expected}: {excerpt:?}")]
    NotHttp {
        /// "request line" or "status line".
        expected: &'static str,
        /// The first bytes, printable ASCII only (at most 32).
        excerpt: String,
    },
    /// No end of the header block within the configured limit.
    #[error("header block longer than {limit} bytes")]
    HeadTooLarge {
        /// The configured `max_head_len`.
        limit: usize,
    },
    /// More header fields than the configured limit.
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The configured `max_headers`.
        limit: usize,
    },
    /// The header block is syntactically broken.
    #[error("malformed header block: {detail}")]
    MalformedHead {
        /// What the head parser objected to.
        detail: String,
    },
    /// A `Content-Length` that is not a decimal number that fits in 64 bits.
    #[error("invalid Content-Length {value:?}")]
    InvalidContentLength {
        /// The offending value (at most 64 characters).
        value: String,
    },
    /// Several `Content-Length` values that disagree.
    #[error("conflicting Content-Length values {values:?}")]
    ConflictingContentLength {
        /// The values seen (at most 8).
        values: Vec<String>,
    },
    /// A request whose `Transfer-Encoding` does not end in `chunked`: its length is unknowable.
    #[error("request Transfer-Encoding {value:?} does not end in chunked")]
    UnframedRequestBody {
        /// The Transfer-Encoding value (at most 64 characters).
        value: String,
    },
    /// A chunk-size line that is not hexadecimal digits (plus optional extensions).
    #[error("invalid chunk size line")]
    InvalidChunkSize,
    /// A chunk size larger than 2^64-1.
    #[error("chunk size overflows 64 bits")]
    ChunkSizeOverflow,
    /// A chunk-size line (with its extensions) longer than the configured limit.
    #[error("chunk-size line longer than {limit} bytes")]
    ChunkLineTooLong {
        /// The configured `max_chunk_line_len`.
        limit: usize,
    },
    /// Chunk data not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    ChunkNotTerminated,
    /// A trailer section longer than the configured head limit.
    #[error("trailer section longer than {limit} bytes")]
    TrailersTooLarge {
        /// The configured `max_head_len`.
        limit: usize,
    },
    /// The direction ended inside a header block that could not be read even leniently.
    #[error("direction ended inside an unreadable header block of {len} bytes")]
    TruncatedHead {
        /// Bytes of the partial head.
        len: usize,
    },
    /// More requests awaiting responses than the configured limit; later ones are not paired.
    #[error("more than {limit} requests outstanding; pairing of later responses is lost")]
    TooManyOutstandingRequests {
        /// The configured `max_outstanding_requests`.
        limit: usize,
    },
}

/// Printable-ASCII excerpt of untrusted bytes for error messages (at most `max` characters).
pub(crate) fn excerpt(bytes: &[u8], max: usize) -> String {
    bytes
        .iter()
        .take(max)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

/// A string cut to at most `max` characters (for values copied into errors).
pub(crate) fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_replaces_non_printable_bytes_and_caps_length() {
        assert_eq!(excerpt(b"\x16\x03\x01GET", 32), "...GET");
        assert_eq!(excerpt(&[b'a'; 100], 4), "aaaa");
    }

    #[test]
    fn errors_serialize_with_a_code() {
        let json = serde_json::to_string(&HttpError::HeadTooLarge { limit: 10 }).unwrap();
        assert_eq!(json, r#"{"code":"head_too_large","limit":10}"#);
        assert_eq!(
            HttpError::ChunkSizeOverflow.to_string(),
            "chunk size overflows 64 bits"
        );
    }
}
