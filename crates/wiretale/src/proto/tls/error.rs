//! Typed errors of the TLS message decoders.

/// Why a handshake message body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body ended before a field.
    #[error("{0}: message too short")]
    Truncated(&'static str),
    /// A field had an impossible value.
    #[error("{0}: invalid value")]
    Invalid(&'static str),
}
