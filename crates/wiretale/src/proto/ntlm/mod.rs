//! NTLM (MS-NLMP) decoding: NTLMSSP Type 1/2/3 messages and the HTTP `NTLM` / `Negotiate`
//! authentication headers that carry them (raw, or wrapped in SPNEGO).
//!
//! Everything here is a pure function of bytes: no I/O, no panics, every string and list capped,
//! nothing allocated beyond a small multiple of the input length. The fixed header of a message
//! is all that must be intact; any variable field (security buffer) that is out of bounds or
//! malformed is recorded in the message's `problems` list, so e.g. squid's `ntlm_fake_auth`
//! challenge, whose target name points to offset 0xaaaaaaae, still yields its flags and challenge.
//!
//! Parsing borrows the input (nom over `&[u8]`); the decoded output is owned, since it outlives
//! the base64-decoded buffer of a header value and becomes part of the timeline.
//!
//! ```
//! use wiretale::proto::ntlm::{decode_auth_header_value, TokenContent};
//!
//! let token = decode_auth_header_value("NTLM TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
//! let message = token.ntlm_message().unwrap();
//! assert_eq!(message.message_type(), 1);
//! assert_eq!(message.summary(), "NTLM Type 1 negotiate");
//! assert!(matches!(token.content, TokenContent::Ntlmssp { spnego: None, .. }));
//! ```

mod auth_header;
mod authenticate;
pub mod av_pairs;
mod challenge;
mod error;
mod filetime;
pub mod flags;
mod negotiate;
mod problems;
mod spnego;
mod text;
mod version;
mod wire;

#[cfg(test)]
mod capture_tests;
#[cfg(test)]
mod crosscheck_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod test_support;

pub use auth_header::{decode_auth_header_value, AuthScheme, AuthToken, TokenContent};
pub use authenticate::{AuthenticateMessage, Ntlmv2Response, ResponseKind};
pub use av_pairs::{AvPair, AvValue};
pub use challenge::ChallengeMessage;
pub use error::NtlmError;
pub use filetime::FileTime;
pub use flags::NegotiateFlags;
pub use negotiate::NegotiateMessage;
pub use spnego::{Mech, NegState, SpnegoForm, SpnegoInfo};
pub use text::{MAX_HEX_BYTES, MAX_TEXT_CHARS};
pub use version::Version;
pub use wire::{SecurityBuffer, SIGNATURE};

/// A decoded NTLMSSP message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NtlmMessage {
    /// Type 1, from the client.
    Negotiate(NegotiateMessage),
    /// Type 2, from the server.
    Challenge(ChallengeMessage),
    /// Type 3, from the client.
    Authenticate(AuthenticateMessage),
}

/// Decodes one NTLMSSP message (it starts with `NTLMSSP\0`).
///
/// Fails only when the signature is wrong, the type unknown, or the bytes end inside the fixed
/// header (16 bytes for Type 1, 32 for Type 2, 52 for Type 3); everything else is a per-field
/// problem inside the returned message.
pub fn parse_message(bytes: &[u8]) -> Result<NtlmMessage, NtlmError> {
    match wire::parse_prefix(bytes)? {
        1 => negotiate::parse(bytes).map(NtlmMessage::Negotiate),
        2 => challenge::parse(bytes).map(NtlmMessage::Challenge),
        3 => authenticate::parse(bytes).map(NtlmMessage::Authenticate),
        other => Err(NtlmError::UnknownType(other)),
    }
}

impl NtlmMessage {
    /// The MessageType: 1, 2 or 3.
    pub fn message_type(&self) -> u8 {
        match self {
            NtlmMessage::Negotiate(_) => 1,
            NtlmMessage::Challenge(_) => 2,
            NtlmMessage::Authenticate(_) => 3,
        }
    }

    /// The message's flags (a Type 3 in the oldest header form has none).
    pub fn flags(&self) -> Option<&NegotiateFlags> {
        match self {
            NtlmMessage::Negotiate(m) => Some(&m.flags),
            NtlmMessage::Challenge(m) => Some(&m.flags),
            NtlmMessage::Authenticate(m) => m.flags.as_ref(),
        }
    }

    /// Per-field problems found while decoding.
    pub fn problems(&self) -> &[String] {
        match self {
            NtlmMessage::Negotiate(m) => &m.problems,
            NtlmMessage::Challenge(m) => &m.problems,
            NtlmMessage::Authenticate(m) => &m.problems,
        }
    }

    /// One line for a human, e.g. `NTLM Type 2 challenge d1cb3331634e8638 (target FG)` or
    /// `NTLM Type 3 user DOMAIN\user from WS (NTLMv2, MIC)`.
    pub fn summary(&self) -> String {
        let mut line = match self {
            NtlmMessage::Negotiate(m) => negotiate_summary(m),
            NtlmMessage::Challenge(m) => challenge_summary(m),
            NtlmMessage::Authenticate(m) => authenticate_summary(m),
        };
        match self.problems() {
            [] => {}
            [only] => line.push_str(&format!("; problem: {only}")),
            [first, rest @ ..] => {
                line.push_str(&format!("; {} problems, first: {first}", rest.len() + 1))
            }
        }
        line
    }
}

/// A decoded name made safe for a one-line summary: control characters (a newline in a user
/// name, an escape sequence) are shown escaped instead of acting on the reader's terminal.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn negotiate_summary(m: &NegotiateMessage) -> String {
    let mut line = String::from("NTLM Type 1 negotiate");
    if let Some(workstation) = &m.workstation {
        line.push_str(&format!(" from {}", printable(workstation)));
    }
    if let Some(domain) = &m.domain {
        line.push_str(&format!(" (domain {})", printable(domain)));
    }
    line
}

fn challenge_summary(m: &ChallengeMessage) -> String {
    let mut line = format!("NTLM Type 2 challenge {}", m.server_challenge);
    if let Some(target) = &m.target_name {
        line.push_str(&format!(" (target {})", printable(target)));
    }
    line
}

fn authenticate_summary(m: &AuthenticateMessage) -> String {
    let mut line = String::from("NTLM Type 3 ");
    let domain = m.domain.as_deref().map(printable);
    let user = m.user.as_deref().map(printable);
    match (domain, user) {
        (_, None) if m.response_kind == ResponseKind::Anonymous => line.push_str("anonymous"),
        (Some(domain), Some(user)) => line.push_str(&format!("user {domain}\\{user}")),
        (None, Some(user)) => line.push_str(&format!("user {user}")),
        (Some(domain), None) => line.push_str(&format!("no user (domain {domain})")),
        (None, None) => line.push_str("no user"),
    }
    if let Some(workstation) = &m.workstation {
        line.push_str(&format!(" from {}", printable(workstation)));
    }
    let mut notes = Vec::new();
    if m.response_kind != ResponseKind::Anonymous {
        notes.push(m.response_kind.label());
    }
    if m.mic.is_some() {
        notes.push("MIC");
    }
    if !notes.is_empty() {
        line.push_str(&format!(" ({})", notes.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::test_support::b64;
    use super::*;

    #[test]
    fn dispatch_and_errors() {
        assert_eq!(
            parse_message(b"NTLMSSP\0\x04\0\0\0"),
            Err(NtlmError::UnknownType(4))
        );
        assert_eq!(
            parse_message(b"\x60\x82\x01\x00"),
            Err(NtlmError::BadSignature)
        );
        assert_eq!(
            parse_message(b"NTLMSSP\0\x02\0\0\0"),
            Err(NtlmError::TooShort {
                needed: 32,
                got: 12
            })
        );
        assert_eq!(
            parse_message(b"NTLMSSP\0\x03\0\0\0\0"),
            Err(NtlmError::TooShort {
                needed: 52,
                got: 13
            })
        );
    }

    #[test]
    fn summaries() {
        let type1 = parse_message(&b64(
            "TlRMTVNTUAABAAAAB7IIogUABQAwAAAACAAIACgAAAAFASgKAAAAD1Q2Q0s5NDNZTUFQTEU=",
        ))
        .unwrap();
        assert_eq!(type1.message_type(), 1);
        assert_eq!(
            type1.summary(),
            "NTLM Type 1 negotiate from T6CK943Y (domain MAPLE)"
        );
        let squid = parse_message(&b64(
            "TlRMTVNTUAACAAAACQAJAK6qqqoGgggALRtbmNZ4a3cAAAAAAAA6AFdPUktHUk9VUA==",
        ))
        .unwrap();
        assert_eq!(squid.message_type(), 2);
        assert_eq!(
            squid.summary(),
            "NTLM Type 2 challenge 2d1b5b98d6786b77; problem: target name: security buffer \
             (length 9, offset 0xaaaaaaae) points outside the 49-byte message"
        );
    }

    #[test]
    fn summaries_escape_control_characters() {
        let mut bytes =
            b64("TlRMTVNTUAABAAAAB7IIogUABQAwAAAACAAIACgAAAAFASgKAAAAD1Q2Q0s5NDNZTUFQTEU=");
        bytes[42] = b'\n'; // workstation "T6\nK943Y"
        bytes[49] = 0x1b; // domain "M\x1bPLE"
        let message = parse_message(&bytes).unwrap();
        assert_eq!(
            message.summary(),
            "NTLM Type 1 negotiate from T6\\nK943Y (domain M\\u{1b}PLE)"
        );
        let NtlmMessage::Negotiate(m) = message else {
            panic!("not a Type 1");
        };
        assert_eq!(
            m.workstation.as_deref(),
            Some("T6\nK943Y"),
            "the field itself stays exact"
        );
    }

    #[test]
    fn serializes_with_a_type_tag() {
        let msg = parse_message(&b64("TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=")).unwrap();
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(json["type"], "negotiate");
        assert_eq!(json["flags"]["raw"], 0x0008_8206);
        assert_eq!(json["flags"]["names"][0], "NTLMSSP_NEGOTIATE_OEM");
        assert_eq!(
            serde_json::to_value(NtlmError::TooShort { needed: 32, got: 3 }).unwrap(),
            serde_json::json!({"too_short": {"needed": 32, "got": 3}})
        );
    }
}
