//! Type 3, AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3): the client's answer to the challenge.
//!
//! ```text
//!  0  Signature "NTLMSSP\0"      52  EncryptedRandomSessionKeyFields  [optional: only when the
//!  8  MessageType = 3            60  NegotiateFlags                    payload starts at 64 or
//! 12  LmChallengeResponseFields  64  Version                           later]
//! 20  NtChallengeResponseFields  72  MIC (16)                         [when the payload starts
//! 28  DomainNameFields                                                  at 88 or later]
//! 36  UserNameFields
//! 44  WorkstationFields
//! ```
//!
//! The responses themselves are password-equivalent material for offline cracking, so only their
//! lengths, their kind and the NTLMv2 blob's public parts (timestamp, client challenge, AV pairs)
//! are reported, never the proofs.

use nom::number::complete::{le_u32, le_u64, u8 as byte};
use nom::{IResult, Parser};

use super::av_pairs::{av_flags, parse_av_pairs, AvPair, AV_FLAG_MIC_PROVIDED};
use super::filetime::FileTime;
use super::flags::{NegotiateFlags, NEGOTIATE_EXTENDED_SESSIONSECURITY, NEGOTIATE_UNICODE};
use super::problems::Problems;
use super::text::{decode_text, hex, Encoding};
use super::version::{Version, VERSION_LEN};
use super::wire::{require_len, Layout, SecurityBuffer, PREFIX_LEN};
use super::NtlmError;

/// Up to and including WorkstationFields: the oldest Type 3 header.
const MANDATORY_LEN: usize = 52;
const FLAGS_END: usize = 64;
const VERSION_END: usize = FLAGS_END + VERSION_LEN;
const MIC_END: usize = 88;
/// NTProofStr (16) plus the fixed part of NTLMv2_CLIENT_CHALLENGE (28).
const NTLMV2_FIXED_LEN: usize = 44;
const NTLMV1_RESPONSE_LEN: usize = 24;

/// What kind of challenge response the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseKind {
    /// Anonymous: no NT response, and an empty or single zero byte LM response.
    Anonymous,
    /// NTLMv1: a 24-byte NT response.
    NtlmV1,
    /// NTLMv1 with extended session security ("NTLM2 session response"): a 24-byte NT response
    /// and an LM response holding an 8-byte client challenge followed by 16 zero bytes.
    NtlmV1ExtendedSessionSecurity,
    /// NTLMv2: an NT response longer than 24 bytes (NTProofStr plus client challenge blob).
    NtlmV2,
    /// Only a 24-byte LM response, no NT response.
    LmOnly,
    /// Any other combination of lengths.
    Unrecognised,
}

impl ResponseKind {
    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            ResponseKind::Anonymous => "anonymous",
            ResponseKind::NtlmV1 => "NTLMv1",
            ResponseKind::NtlmV1ExtendedSessionSecurity => "NTLMv1 with extended session security",
            ResponseKind::NtlmV2 => "NTLMv2",
            ResponseKind::LmOnly => "LM only",
            ResponseKind::Unrecognised => "unrecognised response",
        }
    }
}

/// The public parts of an NTLMv2 response (NTLMv2_CLIENT_CHALLENGE, MS-NLMP 2.2.2.7).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ntlmv2Response {
    /// RespType (1).
    pub resp_type: u8,
    /// HiRespType (1).
    pub hi_resp_type: u8,
    /// The client's timestamp.
    pub timestamp: FileTime,
    /// ChallengeFromClient, 8 bytes as hex.
    pub client_challenge: String,
    /// The AV pairs the client echoes (the server's target info plus its own additions).
    pub av_pairs: Vec<AvPair>,
}

/// A decoded Type 3 message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthenticateMessage {
    /// NegotiateFlags, absent in the oldest 52-byte header form.
    pub flags: Option<NegotiateFlags>,
    /// LmChallengeResponse length in bytes.
    pub lm_response_len: usize,
    /// NtChallengeResponse length in bytes.
    pub nt_response_len: usize,
    /// What the response lengths (and contents) say about the protocol used.
    pub response_kind: ResponseKind,
    /// The NTLMv2 client challenge blob, for NTLMv2 responses that are readable.
    pub ntlmv2_response: Option<Ntlmv2Response>,
    /// The user's domain; `None` when empty or unreadable.
    pub domain: Option<String>,
    /// The user name; `None` when empty or unreadable.
    pub user: Option<String>,
    /// The client's workstation name; `None` when empty or unreadable.
    pub workstation: Option<String>,
    /// Length of the EncryptedRandomSessionKey, when one is present (non-empty).
    pub encrypted_session_key_len: Option<usize>,
    /// The client's OS version, when present.
    pub version: Option<Version>,
    /// The MIC as hex, when the header has a MIC field that is filled in (or announced by
    /// MsvAvFlags).
    pub mic: Option<String>,
    /// Whether the NTLMv2 AV pairs' MsvAvFlags says a MIC is provided.
    pub mic_flag_in_av_pairs: bool,
    /// Fields that could not be decoded as MS-NLMP says, one note each.
    pub problems: Vec<String>,
}

type Buffers = [SecurityBuffer; 5];

fn mandatory_buffers(input: &[u8]) -> IResult<&[u8], Buffers> {
    let (rest, (lm, nt, domain, user, workstation)) = (
        SecurityBuffer::parse,
        SecurityBuffer::parse,
        SecurityBuffer::parse,
        SecurityBuffer::parse,
        SecurityBuffer::parse,
    )
        .parse(input)?;
    Ok((rest, [lm, nt, domain, user, workstation]))
}

/// Decodes a Type 3 message (`message` starts with the signature).
pub(crate) fn parse(message: &[u8]) -> Result<AuthenticateMessage, NtlmError> {
    require_len(message, MANDATORY_LEN)?;
    let too_short = NtlmError::TooShort {
        needed: MANDATORY_LEN,
        got: message.len(),
    };
    let after_prefix = message.get(PREFIX_LEN..).ok_or(too_short.clone())?;
    let (_, buffers) = mandatory_buffers(after_prefix).map_err(|_| too_short)?;
    let [lm_buffer, nt_buffer, domain_buffer, user_buffer, workstation_buffer] = buffers;
    let mut problems = Problems::default();
    let mut layout = Layout::new(message.len(), MANDATORY_LEN);
    for buffer in &buffers {
        layout.observe(buffer);
    }

    let (session_key_buffer, flags) = if layout.fits(FLAGS_END) {
        let key = SecurityBuffer::read_at(message, MANDATORY_LEN);
        let flags = message
            .get(60..)
            .and_then(|rest| le_u32::<_, nom::error::Error<&[u8]>>(rest).ok())
            .map(|(_, raw)| NegotiateFlags::new(raw));
        (key, flags)
    } else {
        (None, None)
    };
    if let Some(key) = &session_key_buffer {
        layout.observe(key);
    }

    let lm = lm_buffer.resolve(message, "LM response", &mut problems);
    let nt = nt_buffer.resolve(message, "NT response", &mut problems);
    let response_kind = classify(&lm_buffer, lm, &nt_buffer, flags.as_ref());
    let ntlmv2_response = match (response_kind, nt) {
        (ResponseKind::NtlmV2, Some(nt)) => parse_ntlmv2(nt, &mut problems),
        _ => None,
    };
    let mic_flag_in_av_pairs = ntlmv2_response
        .as_ref()
        .and_then(|r| av_flags(&r.av_pairs))
        .is_some_and(|f| f & AV_FLAG_MIC_PROVIDED != 0);

    let encoding = string_encoding(flags.as_ref(), message, &buffers);
    let mut text = |buffer: &SecurityBuffer, field: &str| {
        buffer
            .resolve(message, field, &mut problems)
            .filter(|bytes| !bytes.is_empty())
            .map(|bytes| decode_text(bytes, encoding, &field, &mut problems))
    };
    let domain = text(&domain_buffer, "domain");
    let user = text(&user_buffer, "user");
    let workstation = text(&workstation_buffer, "workstation");

    let encrypted_session_key_len = session_key_buffer.filter(|b| b.len > 0).map(|buffer| {
        buffer.resolve(message, "encrypted session key", &mut problems);
        usize::from(buffer.len)
    });

    let version = flags
        .as_ref()
        .and_then(|flags| Version::optional_field(message, FLAGS_END, &layout, flags));

    let mic_slot = (flags.is_some() && layout.known() && layout.fits(MIC_END))
        .then(|| message.get(VERSION_END..MIC_END))
        .flatten();
    let mic = match mic_slot {
        Some(slot) if mic_flag_in_av_pairs || slot.iter().any(|&b| b != 0) => Some(hex(slot)),
        Some(_) => None,
        None => {
            if mic_flag_in_av_pairs {
                problems.push("MsvAvFlags announces a MIC but the header has no room for one");
            }
            None
        }
    };

    Ok(AuthenticateMessage {
        flags,
        lm_response_len: usize::from(lm_buffer.len),
        nt_response_len: usize::from(nt_buffer.len),
        response_kind,
        ntlmv2_response,
        domain,
        user,
        workstation,
        encrypted_session_key_len,
        version,
        mic,
        mic_flag_in_av_pairs,
        problems: problems.into_vec(),
    })
}

fn classify(
    lm_buffer: &SecurityBuffer,
    lm: Option<&[u8]>,
    nt_buffer: &SecurityBuffer,
    flags: Option<&NegotiateFlags>,
) -> ResponseKind {
    let nt_len = usize::from(nt_buffer.len);
    let lm_len = usize::from(lm_buffer.len);
    match nt_len {
        0 if lm_len == 0 || lm == Some(&[0u8][..]) => ResponseKind::Anonymous,
        0 if lm_len == NTLMV1_RESPONSE_LEN => ResponseKind::LmOnly,
        NTLMV1_RESPONSE_LEN => {
            let ess = flags.is_some_and(|f| f.has(NEGOTIATE_EXTENDED_SESSIONSECURITY));
            let client_challenge_form = lm
                .filter(|lm| lm.len() == NTLMV1_RESPONSE_LEN)
                .and_then(|lm| lm.get(8..))
                .is_some_and(|zeros| zeros.iter().all(|&b| b == 0));
            if ess && client_challenge_form {
                ResponseKind::NtlmV1ExtendedSessionSecurity
            } else {
                ResponseKind::NtlmV1
            }
        }
        n if n > NTLMV1_RESPONSE_LEN => ResponseKind::NtlmV2,
        _ => ResponseKind::Unrecognised,
    }
}

/// Parses NTProofStr (skipped) + NTLMv2_CLIENT_CHALLENGE.
fn parse_ntlmv2(nt: &[u8], problems: &mut Problems) -> Option<Ntlmv2Response> {
    type Blob<'a> = (u8, u8, &'a [u8], u64, &'a [u8], &'a [u8]);
    fn blob(input: &[u8]) -> IResult<&[u8], Blob<'_>> {
        use nom::bytes::complete::take;
        let (input, _proof) = take(16usize)(input)?;
        (byte, byte, take(6usize), le_u64, take(8usize), take(4usize)).parse(input)
    }
    let Ok((av_bytes, (resp_type, hi_resp_type, _, timestamp, client_challenge, _))) = blob(nt)
    else {
        problems.push(format!(
            "NT response: {} bytes, too short for an NTLMv2 response ({NTLMV2_FIXED_LEN} needed)",
            nt.len()
        ));
        return None;
    };
    if (resp_type, hi_resp_type) != (1, 1) {
        problems.push(format!(
            "NTLMv2 response: RespType {resp_type} / HiRespType {hi_resp_type}, expected 1 / 1"
        ));
    }
    Some(Ntlmv2Response {
        resp_type,
        hi_resp_type,
        timestamp: FileTime::from_raw(timestamp),
        client_challenge: hex(client_challenge),
        av_pairs: parse_av_pairs(av_bytes, "NTLMv2 response AV pairs", problems),
    })
}

/// UTF-16LE when the flags say Unicode; OEM when they say otherwise. Without flags (old header
/// form) the user/domain/workstation bytes decide: UTF-16LE if they all look like it.
fn string_encoding(flags: Option<&NegotiateFlags>, message: &[u8], buffers: &Buffers) -> Encoding {
    if let Some(flags) = flags {
        return if flags.has(NEGOTIATE_UNICODE) {
            Encoding::Utf16Le
        } else {
            Encoding::Oem
        };
    }
    let mut texts = buffers[2..]
        .iter()
        .filter_map(|b| b.range(message.len()).and_then(|r| message.get(r)))
        .filter(|bytes| !bytes.is_empty())
        .peekable();
    let looks_utf16 = texts.peek().is_some()
        && texts.all(|bytes| {
            bytes.len() % 2 == 0 && bytes.iter().skip(1).step_by(2).all(|&high| high == 0)
        });
    if looks_utf16 {
        Encoding::Utf16Le
    } else {
        Encoding::Oem
    }
}

#[cfg(test)]
mod tests {
    use super::super::av_pairs::AvValue;
    use super::super::test_support::b64;
    use super::*;

    /// Anonymous Type 3 (Windows 7 in http-ntlm-wpad-401-smb, frame 1329), byte by byte.
    #[test]
    fn anonymous_type3_with_mic() {
        let bytes = b64(concat!(
            "TlRMTVNTUAADAAAAAQABAHIAAAAAAAAAcwAAAAAAAABYAAAAAAAAAFgAAAAaABoAWAAAAAAAAABzAAAABQqI",
            "ogYBsR0AAAAPeKIrftl/3v/eTmH0DQZG+VUATABBAEkAUgAtAFMAVQBSAEYALQBQAEMAAA=="
        ));
        assert_eq!(bytes.len(), 115);
        let msg = parse(&bytes).unwrap();
        // @12: LM len 1 at 0x72 (the single byte 00 at 114); @20: NT len 0.
        assert_eq!((msg.lm_response_len, msg.nt_response_len), (1, 0));
        assert_eq!(msg.response_kind, ResponseKind::Anonymous);
        // @28, @36: domain and user empty; @44: workstation len 0x1a at 0x58 = 88.
        assert_eq!((msg.domain.as_deref(), msg.user.as_deref()), (None, None));
        assert_eq!(msg.workstation.as_deref(), Some("ULAIR-SURF-PC"));
        // @60: 05 0a 88 a2 -> 0xa2880a05, ANONYMOUS (0x800) set, UNICODE.
        let flags = msg.flags.unwrap();
        assert_eq!(flags.raw, 0xa288_0a05);
        assert!(flags.names.contains(&"NTLMSSP_NEGOTIATE_ANONYMOUS"));
        // @64: 06 01 b1 1d 00 00 00 0f -> 6.1 build 7601.
        assert_eq!(
            msg.version.unwrap().to_string(),
            "6.1 build 7601 (NTLM revision 15)"
        );
        // Payload starts at 88, so 72..88 is the MIC.
        assert_eq!(msg.mic.as_deref(), Some("78a22b7ed97fdeffde4e61f40d0646f9"));
        assert!(!msg.mic_flag_in_av_pairs);
        assert_eq!(msg.encrypted_session_key_len, None);
        assert!(msg.problems.is_empty());
    }

    /// The oldest header form: 52 bytes of descriptors, no session key, flags or version.
    #[test]
    fn old_52_byte_header_guesses_encoding() {
        let mut bytes = b"NTLMSSP\0\x03\0\0\0".to_vec();
        let descriptor = |len: u16, offset: u32| {
            let mut d = len.to_le_bytes().repeat(2);
            d.extend_from_slice(&offset.to_le_bytes());
            d
        };
        bytes.extend(descriptor(24, 52)); // LM
        bytes.extend(descriptor(24, 76)); // NT
        bytes.extend(descriptor(4, 100)); // domain "DM" in UTF-16
        bytes.extend(descriptor(4, 104)); // user "ab"
        bytes.extend(descriptor(0, 0)); // workstation
        bytes.extend([0x11; 48]);
        bytes.extend(b"D\0M\0a\0b\0");
        let msg = parse(&bytes).unwrap();
        assert_eq!(msg.flags, None);
        assert_eq!(msg.response_kind, ResponseKind::NtlmV1);
        assert_eq!(msg.domain.as_deref(), Some("DM"));
        assert_eq!(msg.user.as_deref(), Some("ab"));
        assert_eq!((msg.version, msg.mic), (None, None));
        assert_eq!(
            parse(&bytes[..51]),
            Err(NtlmError::TooShort {
                needed: 52,
                got: 51
            })
        );
    }

    #[test]
    fn ntlmv1_extended_session_security_and_bad_buffers() {
        let mut bytes = b"NTLMSSP\0\x03\0\0\0".to_vec();
        let descriptor = |len: u16, offset: u32| {
            let mut d = len.to_le_bytes().repeat(2);
            d.extend_from_slice(&offset.to_le_bytes());
            d
        };
        bytes.extend(descriptor(24, 64)); // LM: client challenge + 16 zeros
        bytes.extend(descriptor(24, 88)); // NT
        bytes.extend(descriptor(2, 0xffff_fff0)); // domain points outside
        bytes.extend(descriptor(3, 112)); // user "bob" (OEM)
        bytes.extend(descriptor(0, 0));
        bytes.extend(descriptor(16, 0x8000_0000)); // session key points outside
        bytes.extend(0x0008_0202u32.to_le_bytes()); // OEM | NTLM | ESS
        bytes.extend([7u8; 8]);
        bytes.extend([0u8; 16]);
        bytes.extend([9u8; 24]);
        bytes.extend(b"bob");
        let msg = parse(&bytes).unwrap();
        assert_eq!(
            msg.response_kind,
            ResponseKind::NtlmV1ExtendedSessionSecurity
        );
        assert_eq!(msg.user.as_deref(), Some("bob"));
        assert_eq!(msg.domain, None);
        assert_eq!(msg.encrypted_session_key_len, Some(16));
        assert_eq!(msg.problems.len(), 2, "{:?}", msg.problems);
        assert!(msg.problems[0].starts_with("domain:"));
        assert!(msg.problems[1].starts_with("encrypted session key:"));
    }

    #[test]
    fn ntlmv2_blob_with_mic_flag() {
        let mut blob = vec![0xaa; 16]; // NTProofStr
        blob.extend([1, 1, 0, 0, 0, 0, 0, 0]);
        blob.extend(116_444_736_000_000_000u64.to_le_bytes());
        blob.extend([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
        blob.extend([6, 0, 4, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut bytes = b"NTLMSSP\0\x03\0\0\0".to_vec();
        let descriptor = |len: usize, offset: usize| {
            let mut d = (len as u16).to_le_bytes().repeat(2);
            d.extend_from_slice(&(offset as u32).to_le_bytes());
            d
        };
        bytes.extend(descriptor(24, 88));
        bytes.extend(descriptor(blob.len(), 112));
        for _ in 0..4 {
            bytes.extend(descriptor(0, 88));
        }
        bytes.extend(0xa288_8205u32.to_le_bytes());
        bytes.extend([10, 0, 0x61, 0x4a, 0, 0, 0, 15]);
        bytes.extend([0u8; 16]); // MIC slot, zero but announced
        bytes.extend([0u8; 24]);
        bytes.extend(&blob);
        let msg = parse(&bytes).unwrap();
        assert_eq!(msg.response_kind, ResponseKind::NtlmV2);
        let v2 = msg.ntlmv2_response.unwrap();
        assert_eq!(v2.client_challenge, "0102030405060708");
        assert_eq!(v2.timestamp.unix_seconds, 0);
        assert_eq!(v2.av_pairs[1].value, AvValue::Eol);
        assert!(msg.mic_flag_in_av_pairs);
        assert_eq!(msg.mic.as_deref(), Some("00000000000000000000000000000000"));
        assert_eq!(msg.version.unwrap().build, 19041);
        assert!(msg.problems.is_empty(), "{:?}", msg.problems);
    }
}
