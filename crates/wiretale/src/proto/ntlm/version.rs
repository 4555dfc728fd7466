//! The VERSION structure (MS-NLMP 2.2.2.10): the sender's OS version and NTLM revision.

use nom::number::complete::{le_u16, u8 as byte};
use nom::{IResult, Parser};

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
}
