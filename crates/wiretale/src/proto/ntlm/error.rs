//! The ways an NTLMSSP message can fail to decode as a whole.
//!
//! Only damage to the fixed header is an error; a security buffer that points outside the message,
//! a bad string or a malformed AV pair list is a per-field problem recorded in the message's
//! `problems` list instead, so a half-broken message still tells what it can.

/// Why [`parse_message`](super::parse_message) could not decode a message at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NtlmError {
    /// The bytes end before the fixed header of the message does.
    #[error("NTLMSSP message too short: needs at least {needed} bytes, got {got}")]
    TooShort {
        /// Bytes the fixed header needs.
        needed: usize,
        /// Bytes there were.
        got: usize,
    },
    /// The message does not start with `NTLMSSP\0`.
    #[error("not an NTLMSSP message (signature is not \"NTLMSSP\\0\")")]
    BadSignature,
    /// The MessageType field is not 1, 2 or 3.
    #[error("unknown NTLMSSP message type {0}")]
    UnknownType(u32),
}
