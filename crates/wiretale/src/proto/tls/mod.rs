//! TLS decoder: SSL 2.0, SSL 3.0 and TLS 1.0–1.3 as seen on the wire, without keys.
//!
//! * [`TlsConnectionParser`] implements [`crate::proto::ConnectionParser`] for one TCP
//!   connection and reports [`TlsMessage`]s: handshake messages (with Wireshark's
//!   `handshake_type` numbers), ChangeCipherSpec, alerts, encrypted handshake/alert records,
//!   application-data summaries and decoding trouble. [`TlsConnectionParser::state`] tells
//!   how far the handshake got.
//! * Pure decoders for single messages: [`decode_handshake_body`] (+ [`DecodeContext`]),
//!   [`hello::decode_client_hello`], [`hello::decode_server_hello`],
//!   [`CertificateInfo::from_der`], the SSLv2 messages in [`sslv2`], record headers in
//!   [`record`], and the JA3/JA4 fingerprints in [`fingerprint`].
//! * [`looks_like_tls`] sniffs the first bytes of a stream.
//!
//! Parsing leans on tls-parser (records, hellos, extensions, certificates lists, key exchange
//! parameters) and x509-parser (certificates); each module says what had to be written by hand.
//! Nothing here panics on any input, and every buffer and list built from input is capped.

pub mod cert;
pub mod error;
pub mod fingerprint;
pub mod handshake;
pub mod hello;
pub mod message;
pub mod names;
mod reader;
mod recent;
pub mod record;
pub mod sslv2;
pub mod state;
pub mod stream;

#[cfg(test)]
mod capture_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod test_pcap;

pub use cert::CertificateInfo;
pub use error::DecodeError;
pub use handshake::{decode_body as decode_handshake_body, DecodeContext};
pub use message::*;
pub use state::{LastMessage, Resumption, SentAlert, StreamSpan, TlsConnectionState};
pub use stream::{TlsConnectionParser, TlsParserConfig, DEFAULT_MAX_HANDSHAKE_MESSAGE};

/// Whether a stream starting with `first_bytes` is TLS: a plausible TLS record header (content
/// type 20..=24, version 3.0..3.4, length ≤ 2^14+2048) or an SSLv2-format ClientHello.
/// `None` means more bytes are needed to tell.
pub fn looks_like_tls(first_bytes: &[u8]) -> Option<bool> {
    let first = *first_bytes.first()?;
    if first & 0x80 != 0 {
        return sslv2::looks_like_client_hello(first_bytes);
    }
    match record::check_header(first_bytes) {
        record::HeaderCheck::Plausible(_) => Some(true),
        record::HeaderCheck::NeedMore => None,
        record::HeaderCheck::Implausible => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(looks_like_tls(&[]), None);
        assert_eq!(looks_like_tls(&[0x16]), None);
        assert_eq!(looks_like_tls(&[0x16, 0x03, 0x01, 0x00]), None);
        assert_eq!(looks_like_tls(&[0x16, 0x03, 0x01, 0x00, 0xb5]), Some(true));
        assert_eq!(looks_like_tls(&[0x17, 0x03, 0x03, 0x40, 0x00]), Some(true));
        assert_eq!(looks_like_tls(&[0x16, 0x03, 0x01, 0xff, 0xff]), Some(false));
        assert_eq!(looks_like_tls(b"GET / HTTP/1.1\r\n"), Some(false));
        assert_eq!(looks_like_tls(b"CONNECT a:443"), Some(false));
        assert_eq!(looks_like_tls(&[0x80, 0x67, 0x01, 0x03, 0x01]), Some(true));
        assert_eq!(looks_like_tls(&[0x80, 0x2e, 0x01, 0x00, 0x02]), Some(true));
        assert_eq!(looks_like_tls(&[0x80, 0x2e]), None);
        assert_eq!(looks_like_tls(&[0x80, 0x2e, 0x05, 0x00, 0x02]), Some(false));
    }
}
