//! Type 2, CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2): the server's challenge.
//!
//! ```text
//!  0  Signature "NTLMSSP\0"      32  Reserved / context (8)      [optional, by layout]
//!  8  MessageType = 2            40  TargetInfoFields             [optional, by layout or
//! 12  TargetNameFields           48  Version                       NEGOTIATE_TARGET_INFO]
//! 20  NegotiateFlags
//! 24  ServerChallenge (8)
//! ```
//!
//! A target name or target info buffer that points outside the message is a per-field problem:
//! squid's `ntlm_fake_auth` really sends a target name at offset 0xaaaaaaae.

use nom::bytes::complete::take;
use nom::number::complete::le_u32;
use nom::{IResult, Parser};

use super::av_pairs::{parse_av_pairs, AvPair};
use super::flags::{NegotiateFlags, NEGOTIATE_TARGET_INFO, NEGOTIATE_UNICODE};
use super::problems::Problems;
use super::text::{decode_text, hex, Encoding};
use super::version::Version;
use super::wire::{require_len, Layout, SecurityBuffer, PREFIX_LEN};
use super::NtlmError;

/// Up to and including the server challenge.
const MANDATORY_LEN: usize = 32;
const CONTEXT_END: usize = 40;
const TARGET_INFO_END: usize = 48;

/// A decoded Type 2 message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChallengeMessage {
    /// NegotiateFlags the server chose.
    pub flags: NegotiateFlags,
    /// The server's target name (UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE, else OEM); `None`
    /// when empty or unreadable (see `problems`).
    pub target_name: Option<String>,
    /// The 8-byte server challenge as lowercase hex.
    pub server_challenge: String,
    /// The 8 reserved ("context") bytes as hex, when the header has them.
    pub context: Option<String>,
    /// Target info AV pairs, when the message has a readable target info field.
    pub target_info: Option<Vec<AvPair>>,
    /// The server's OS version, when present.
    pub version: Option<Version>,
    /// Fields that could not be decoded as MS-NLMP says, one note each.
    pub problems: Vec<String>,
}

type Fixed<'a> = (SecurityBuffer, u32, &'a [u8]);

fn fixed_fields(input: &[u8]) -> IResult<&[u8], Fixed<'_>> {
    (SecurityBuffer::parse, le_u32, take(8usize)).parse(input)
}

/// Decodes a Type 2 message (`message` starts with the signature).
pub(crate) fn parse(message: &[u8]) -> Result<ChallengeMessage, NtlmError> {
    require_len(message, MANDATORY_LEN)?;
    let too_short = NtlmError::TooShort {
        needed: MANDATORY_LEN,
        got: message.len(),
    };
    let after_prefix = message.get(PREFIX_LEN..).ok_or(too_short.clone())?;
    let (_, (target_name_buffer, raw_flags, challenge)) =
        fixed_fields(after_prefix).map_err(|_| too_short)?;
    let flags = NegotiateFlags::new(raw_flags);
    let mut problems = Problems::default();
    let mut layout = Layout::new(message.len(), MANDATORY_LEN);
    layout.observe(&target_name_buffer);

    let encoding = if flags.has(NEGOTIATE_UNICODE) {
        Encoding::Utf16Le
    } else {
        Encoding::Oem
    };
    let target_name = target_name_buffer
        .resolve(message, "target name", &mut problems)
        .filter(|bytes| !bytes.is_empty())
        .map(|bytes| decode_text(bytes, encoding, &"target name", &mut problems));

    let context = layout
        .fits(CONTEXT_END)
        .then(|| message.get(MANDATORY_LEN..CONTEXT_END).map(hex))
        .flatten();

    let wants_target_info = flags.has(NEGOTIATE_TARGET_INFO);
    let target_info_buffer =
        if layout.fits(TARGET_INFO_END) && (wants_target_info || layout.known()) {
            SecurityBuffer::read_at(message, CONTEXT_END)
        } else {
            if wants_target_info {
                problems.push(
                    "NTLMSSP_NEGOTIATE_TARGET_INFO is set but the header has no target info field",
                );
            }
            None
        };
    let target_info = target_info_buffer.and_then(|buffer| {
        layout.observe(&buffer);
        let bytes = buffer.resolve(message, "target info", &mut problems)?;
        Some(if bytes.is_empty() {
            Vec::new()
        } else {
            parse_av_pairs(bytes, "target info", &mut problems)
        })
    });

    let version = target_info_buffer
        .and_then(|_| Version::optional_field(message, TARGET_INFO_END, &layout, &flags));

    Ok(ChallengeMessage {
        flags,
        target_name,
        server_challenge: hex(challenge),
        context,
        target_info,
        version,
        problems: problems.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::av_pairs::AvValue;
    use super::super::test_support::b64;
    use super::*;

    /// The case study's Type 2 (the proxy's 407, frame 417), reassembled from the debugger's
    /// `da` lines, checked byte by byte.
    #[test]
    fn case_study_type2_golden() {
        let bytes = b64(concat!(
            "TlRMTVNTUAACAAAABAAEADgAAAAFgomi0cszMWNOhjgAAAAAAAAAAHoAegA8AAAABQLODgAAAA9GAEcAAgAE",
            "AEYARwABABAAUwAzAFcAMAA0ADEANQA2AAQAFABmAGcALgByAGIAYwAuAGMAbwBtAAMAJgBTADMAVwAwADQA",
            "MQA1ADYALgBmAGcALgByAGIAYwAuAGMAbwBtAAUAFABmAGcALgByAGIAYwAuAGMAbwBtAAAAAAA="
        ));
        // 182 bytes = 56-byte header + target name (4) + target info (0x7a = 122).
        assert_eq!(bytes.len(), 182);
        let msg = parse(&bytes).unwrap();
        // @20..24: 05 82 89 a2 -> 0xa2898205.
        assert_eq!(msg.flags.raw, 0xa289_8205);
        assert_eq!(
            msg.flags.names,
            [
                "NTLMSSP_NEGOTIATE_UNICODE",                  // 0x00000001
                "NTLMSSP_REQUEST_TARGET",                     // 0x00000004
                "NTLMSSP_NEGOTIATE_NTLM",                     // 0x00000200
                "NTLMSSP_NEGOTIATE_ALWAYS_SIGN",              // 0x00008000
                "NTLMSSP_TARGET_TYPE_DOMAIN",                 // 0x00010000
                "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY", // 0x00080000
                "NTLMSSP_NEGOTIATE_TARGET_INFO",              // 0x00800000
                "NTLMSSP_NEGOTIATE_VERSION",                  // 0x02000000
                "NTLMSSP_NEGOTIATE_128",                      // 0x20000000
                "NTLMSSP_NEGOTIATE_56",                       // 0x80000000
            ]
        );
        // @12: 04 00 04 00 38 00 00 00 -> target name len 4 at 56: 46 00 47 00 = "FG" (UTF-16LE,
        // the UNICODE flag is set).
        assert_eq!(msg.target_name.as_deref(), Some("FG"));
        // @24..32: d1 cb 33 31 63 4e 86 38.
        assert_eq!(msg.server_challenge, "d1cb3331634e8638");
        // @32..40: all zero.
        assert_eq!(msg.context.as_deref(), Some("0000000000000000"));
        // @48..56: 05 02 ce 0e 00 00 00 0f -> 5.2 build 0x0ece = 3790 (Server 2003), revision 15.
        assert_eq!(
            msg.version,
            Some(Version {
                major: 5,
                minor: 2,
                build: 3790,
                ntlm_revision: 15
            })
        );
        // @40: 7a 00 7a 00 3c 00 00 00 -> target info len 122 at 60 (bytes 60..182):
        //  @60  02 00 04 00 "FG"                      MsvAvNbDomainName
        //  @68  01 00 10 00 "S3W04156"                MsvAvNbComputerName
        //  @88  04 00 14 00 "fg.rbc.com"              MsvAvDnsDomainName
        //  @112 03 00 26 00 "S3W04156.fg.rbc.com"     MsvAvDnsComputerName
        //  @154 05 00 14 00 "fg.rbc.com"              MsvAvDnsTreeName
        //  @178 00 00 00 00                           MsvAvEOL
        let text = |id: u16, name: &'static str, value: &str| AvPair {
            id,
            name,
            value: AvValue::Text(value.to_owned()),
        };
        assert_eq!(
            msg.target_info.unwrap(),
            [
                text(2, "MsvAvNbDomainName", "FG"),
                text(1, "MsvAvNbComputerName", "S3W04156"),
                text(4, "MsvAvDnsDomainName", "fg.rbc.com"),
                text(3, "MsvAvDnsComputerName", "S3W04156.fg.rbc.com"),
                text(5, "MsvAvDnsTreeName", "fg.rbc.com"),
                AvPair {
                    id: 0,
                    name: "MsvAvEOL",
                    value: AvValue::Eol
                },
            ]
        );
        assert!(msg.problems.is_empty());
    }

    /// squid's `ntlm_fake_auth` Type 2: the target name buffer points to 0xaaaaaaae.
    #[test]
    fn squid_fake_auth_type2_keeps_flags_and_challenge() {
        let bytes = b64("TlRMTVNTUAACAAAACQAJAK6qqqoGgggALRtbmNZ4a3cAAAAAAAA6AFdPUktHUk9VUA==");
        assert_eq!(bytes.len(), 49);
        let msg = parse(&bytes).unwrap();
        // @20: 06 82 08 00; @24: 2d 1b 5b 98 d6 78 6b 77.
        assert_eq!(msg.flags.raw, 0x0008_8206);
        assert_eq!(msg.server_challenge, "2d1b5b98d6786b77");
        assert_eq!(msg.target_name, None);
        assert_eq!(
            msg.problems,
            ["target name: security buffer (length 9, offset 0xaaaaaaae) points outside the 49-byte message"]
        );
        // No NEGOTIATE_TARGET_INFO and no buffer to pin the layout: bytes 40.. ("WORKGROUP",
        // which squid meant as the target name) are not misread as a target info descriptor.
        assert_eq!(msg.target_info, None);
        assert_eq!(msg.version, None);
    }

    #[test]
    fn minimal_32_byte_type2_and_too_short() {
        let bytes = b64("TlRMTVNTUAACAAAACQAJAK6qqqoGgggALRtbmNZ4a3cAAAAAAAA6AFdPUktHUk9VUA==");
        let msg = parse(&bytes[..32]).unwrap();
        assert_eq!(msg.server_challenge, "2d1b5b98d6786b77");
        assert_eq!(msg.context, None);
        assert_eq!(
            parse(&bytes[..31]),
            Err(NtlmError::TooShort {
                needed: 32,
                got: 31
            })
        );
    }
}
