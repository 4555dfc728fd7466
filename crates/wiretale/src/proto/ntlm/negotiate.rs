//! Type 1, NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1): the client's opening offer.
//!
//! ```text
//!  0  Signature "NTLMSSP\0"      16  DomainNameFields (OEM)       [from here on optional:
//!  8  MessageType = 1            24  WorkstationFields (OEM)       16-byte Type 1s exist]
//! 12  NegotiateFlags             32  Version (when the payload starts at 40 or later)
//! ```

use nom::number::complete::le_u32;

use super::flags::NegotiateFlags;
use super::problems::Problems;
use super::text::{decode_text, Encoding};
use super::version::Version;
use super::wire::{require_len, Layout, SecurityBuffer, PREFIX_LEN};
use super::NtlmError;

/// Signature, type and flags: the oldest clients send nothing more.
const MANDATORY_LEN: usize = 16;
/// With the domain and workstation descriptors (what curl sends: 32 bytes, no Version).
const WITH_BUFFERS_LEN: usize = 32;

/// A decoded Type 1 message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NegotiateMessage {
    /// NegotiateFlags the client offers.
    pub flags: NegotiateFlags,
    /// The client's domain (OEM string), when the message carries one.
    pub domain: Option<String>,
    /// The client's workstation name (OEM string), when the message carries one.
    pub workstation: Option<String>,
    /// The client's OS version, when the header has a Version field.
    pub version: Option<Version>,
    /// Fields that could not be decoded as MS-NLMP says, one note each.
    pub problems: Vec<String>,
}

/// Decodes a Type 1 message (`message` starts with the signature).
pub(crate) fn parse(message: &[u8]) -> Result<NegotiateMessage, NtlmError> {
    require_len(message, MANDATORY_LEN)?;
    let raw_flags = message
        .get(PREFIX_LEN..)
        .and_then(|rest| le_u32::<_, nom::error::Error<&[u8]>>(rest).ok())
        .map(|(_, raw)| raw)
        .ok_or(NtlmError::TooShort {
            needed: MANDATORY_LEN,
            got: message.len(),
        })?;
    let flags = NegotiateFlags::new(raw_flags);
    let mut problems = Problems::default();
    let mut layout = Layout::new(message.len(), WITH_BUFFERS_LEN);

    let buffers = if message.len() >= WITH_BUFFERS_LEN {
        SecurityBuffer::read_at(message, 16).zip(SecurityBuffer::read_at(message, 24))
    } else {
        if message.len() > MANDATORY_LEN {
            problems.push(format!(
                "{} bytes after the flags: too few for the domain and workstation fields",
                message.len() - MANDATORY_LEN
            ));
        }
        None
    };
    let mut domain = None;
    let mut workstation = None;
    if let Some((domain_buffer, workstation_buffer)) = buffers {
        layout.observe(&domain_buffer);
        layout.observe(&workstation_buffer);
        // Decoded whenever non-empty, whatever the *_SUPPLIED flags say: real clients (and
        // Wireshark) do not always keep the two consistent.
        domain = oem_field(message, &domain_buffer, "domain", &mut problems);
        workstation = oem_field(message, &workstation_buffer, "workstation", &mut problems);
    }

    let version =
        buffers.and_then(|_| Version::optional_field(message, WITH_BUFFERS_LEN, &layout, &flags));

    Ok(NegotiateMessage {
        flags,
        domain,
        workstation,
        version,
        problems: problems.into_vec(),
    })
}

fn oem_field(
    message: &[u8],
    buffer: &SecurityBuffer,
    field: &str,
    problems: &mut Problems,
) -> Option<String> {
    let bytes = buffer.resolve(message, field, problems)?;
    (!bytes.is_empty()).then(|| decode_text(bytes, Encoding::Oem, &field, problems))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::b64;
    use super::*;

    /// The case study's Type 1 (WinInet on Windows XP, frame 416), checked byte by byte.
    #[test]
    fn case_study_type1_golden() {
        let bytes = b64("TlRMTVNTUAABAAAAB7IIogUABQAwAAAACAAIACgAAAAFASgKAAAAD1Q2Q0s5NDNZTUFQTEU=");
        // 53 bytes: 40-byte header + "T6CK943Y" (8) + "MAPLE" (5).
        assert_eq!(bytes.len(), 53);
        let msg = parse(&bytes).unwrap();
        // @12..16: 07 b2 08 a2 -> 0xa208b207.
        assert_eq!(msg.flags.raw, 0xa208_b207);
        assert_eq!(
            msg.flags.names,
            [
                "NTLMSSP_NEGOTIATE_UNICODE",                  // 0x00000001
                "NTLMSSP_NEGOTIATE_OEM",                      // 0x00000002
                "NTLMSSP_REQUEST_TARGET",                     // 0x00000004
                "NTLMSSP_NEGOTIATE_NTLM",                     // 0x00000200
                "NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED",      // 0x00001000
                "NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED", // 0x00002000
                "NTLMSSP_NEGOTIATE_ALWAYS_SIGN",              // 0x00008000
                "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY", // 0x00080000
                "NTLMSSP_NEGOTIATE_VERSION",                  // 0x02000000
                "NTLMSSP_NEGOTIATE_128",                      // 0x20000000
                "NTLMSSP_NEGOTIATE_56",                       // 0x80000000
            ]
        );
        // @16: 05 00 05 00 30 00 00 00 -> domain len 5 at 0x30 = 48: "MAPLE" (bytes 48..53).
        assert_eq!(msg.domain.as_deref(), Some("MAPLE"));
        // @24: 08 00 08 00 28 00 00 00 -> workstation len 8 at 0x28 = 40: "T6CK943Y" (40..48).
        assert_eq!(msg.workstation.as_deref(), Some("T6CK943Y"));
        // @32: 05 01 28 0a 00 00 00 0f -> 5.1, build 0x0a28 = 2600, NTLM revision 15.
        assert_eq!(
            msg.version,
            Some(Version {
                major: 5,
                minor: 1,
                build: 2600,
                ntlm_revision: 15
            })
        );
        assert!(msg.problems.is_empty());
    }

    /// curl's 32-byte Type 1: no Version field, empty buffers at offset 0.
    #[test]
    fn curl_32_byte_type1() {
        let bytes = b64("TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(bytes.len(), 32);
        let msg = parse(&bytes).unwrap();
        assert_eq!(msg.flags.raw, 0x0008_8206);
        assert_eq!(
            (msg.domain, msg.workstation, msg.version),
            (None, None, None)
        );
        assert!(msg.problems.is_empty());
    }

    #[test]
    fn minimal_16_byte_type1_and_too_short() {
        let bytes = b64("TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=");
        let msg = parse(&bytes[..16]).unwrap();
        assert_eq!(msg.flags.raw, 0x0008_8206);
        assert!(msg.problems.is_empty());
        assert_eq!(parse(&bytes[..20]).unwrap().problems.len(), 1);
        assert_eq!(
            parse(&bytes[..15]),
            Err(NtlmError::TooShort {
                needed: 16,
                got: 15
            })
        );
    }

    #[test]
    fn domain_pointing_outside_is_a_problem() {
        let mut bytes =
            b64("TlRMTVNTUAABAAAAB7IIogUABQAwAAAACAAIACgAAAAFASgKAAAAD1Q2Q0s5NDNZTUFQTEU=");
        bytes[20] = 0x31; // domain offset 0x31: 0x31 + 5 = 54 > 53
        let msg = parse(&bytes).unwrap();
        assert_eq!(msg.domain, None);
        assert_eq!(msg.workstation.as_deref(), Some("T6CK943Y"));
        assert_eq!(msg.problems.len(), 1);
        assert!(msg.problems[0].starts_with("domain: security buffer"));
    }
}
