//! The VERSION structure (MS-NLMP 2.2.2.10): the sender's OS version and NTLM revision.

use nom::number::complete::{le_u16, u8 as byte};
use nom::{IResult, Parser};

use super::flags::{NegotiateFlags, NEGOTIATE_VERSION};
use super::wire::Layout;

/// Bytes of the VERSION structure.
pub(crate) const VERSION_LEN: usize = 8;

/// The sender's Windows version and NTLM revision (debugging information only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Version {
    /// ProductMajorVersion.
    pub major: u8,
    /// ProductMinorVersion.
    pub minor: u8,
    /// ProductBuild.
    pub build: u16,
    /// NTLMRevisionCurrent (15 = NTLMSSP_REVISION_W2K3).
    pub ntlm_revision: u8,
}

impl Version {
    /// Parses the 8-byte structure (3 reserved bytes are skipped).
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Version> {
        let (rest, (major, minor, build, _reserved, ntlm_revision)) =
            (byte, byte, le_u16, nom::bytes::complete::take(3usize), byte).parse(input)?;
        Ok((
            rest,
            Version {
                major,
                minor,
                build,
                ntlm_revision,
            },
        ))
    }

    /// The optional VERSION field of a message's header, at `message[at..at + 8]`: there when
    /// the payload starts after it (`layout`) and either `NEGOTIATE_VERSION` is set or, the
    /// payload start being known, the field is not all zeros (senders fill it without the flag,
    /// and set the flag over zeros).
    pub(crate) fn optional_field(
        message: &[u8],
        at: usize,
        layout: &Layout,
        flags: &NegotiateFlags,
    ) -> Option<Version> {
        let end = at + VERSION_LEN;
        if !layout.fits(end) {
            return None;
        }
        let field = message.get(at..end).unwrap_or_default();
        let filled = field.iter().any(|&b| b != 0);
        if flags.has(NEGOTIATE_VERSION) || (layout.known() && filled) {
            Version::parse(field).ok().map(|(_, v)| v)
        } else {
            None
        }
    }

    /// The Windows release this major.minor usually means, for a human reader.
    pub fn windows_hint(&self) -> Option<&'static str> {
        Some(match (self.major, self.minor) {
            (5, 0) => "Windows 2000",
            (5, 1) => "Windows XP",
            (5, 2) => "Windows XP x64 / Server 2003",
            (6, 0) => "Windows Vista / Server 2008",
            (6, 1) => "Windows 7 / Server 2008 R2",
            (6, 2) => "Windows 8 / Server 2012",
            (6, 3) => "Windows 8.1 / Server 2012 R2",
            (10, 0) => "Windows 10 / 11 / Server 2016+",
            _ => return None,
        })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{} build {} (NTLM revision {})",
            self.major, self.minor, self.build, self.ntlm_revision
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_xp_version_from_case_study() {
        // Bytes 32..40 of the case study's Type 1: 05 01 28 0a 00 00 00 0f.
        let (rest, version) = Version::parse(&[0x05, 0x01, 0x28, 0x0a, 0, 0, 0, 0x0f]).unwrap();
        assert!(rest.is_empty());
        assert_eq!(version.to_string(), "5.1 build 2600 (NTLM revision 15)");
        assert_eq!(version.windows_hint(), Some("Windows XP"));
    }

    #[test]
    fn optional_field_is_read_when_flagged_or_filled_before_a_known_payload() {
        use super::super::wire::SecurityBuffer;
        const AT: usize = 32;
        let xp = [0x05, 0x01, 0x28, 0x0a, 0, 0, 0, 0x0f];
        let message = |field: [u8; 8]| [[0u8; AT].as_slice(), &field, &[0xaa; 8]].concat();
        // A payload at 40 (known), at 36 (the field would overlap it), or none (the message
        // end bounds the header).
        let layout = |payload_at: Option<u32>| {
            let mut layout = Layout::new(48, AT);
            if let Some(offset) = payload_at {
                layout.observe(&SecurityBuffer {
                    len: 4,
                    max_len: 4,
                    offset,
                });
            }
            layout
        };
        let flagged = NegotiateFlags::new(NEGOTIATE_VERSION);
        let unflagged = NegotiateFlags::new(0);
        let read = |field, payload_at, flags: &NegotiateFlags| {
            Version::optional_field(&message(field), AT, &layout(payload_at), flags)
        };
        let build = |v: Option<Version>| v.map(|v| v.build);
        assert_eq!(build(read(xp, Some(40), &flagged)), Some(2600));
        assert_eq!(build(read(xp, Some(40), &unflagged)), Some(2600), "filled");
        assert_eq!(build(read([0; 8], Some(40), &flagged)), Some(0), "flagged");
        assert_eq!(read([0; 8], Some(40), &unflagged), None);
        assert_eq!(read(xp, Some(36), &flagged), None, "overlaps the payload");
        assert_eq!(build(read(xp, None, &flagged)), Some(2600));
        assert_eq!(read(xp, None, &unflagged), None, "payload start unknown");
        let short = &message(xp)[..AT + 4];
        let whole = Layout::new(short.len(), AT);
        assert_eq!(Version::optional_field(short, AT, &whole, &flagged), None);
    }
}
