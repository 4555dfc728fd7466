//! NegotiateFlags (MS-NLMP 2.2.2.5): the raw value and the names of the bits that are set.
//!
//! Names follow MS-NLMP; bits the spec calls reserved (r1..r10) use Wireshark's
//! `NTLMSSP_NEGOTIATE_<hex>` form, and bit 0x400 uses Wireshark's historic `NT_ONLY` name.

/// NTLMSSP_NEGOTIATE_UNICODE: strings are UTF-16LE.
pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
/// NTLMSSP_NEGOTIATE_OEM: strings are in the OEM code page.
pub const NEGOTIATE_OEM: u32 = 0x0000_0002;
/// NTLMSSP_REQUEST_TARGET: the client asks for the server's target name.
pub const REQUEST_TARGET: u32 = 0x0000_0004;
/// NTLMSSP_NEGOTIATE_ANONYMOUS: the connection should be anonymous.
pub const NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;
/// NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED: a Type 1 carries a domain name.
pub const NEGOTIATE_OEM_DOMAIN_SUPPLIED: u32 = 0x0000_1000;
/// NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED: a Type 1 carries a workstation name.
pub const NEGOTIATE_OEM_WORKSTATION_SUPPLIED: u32 = 0x0000_2000;
/// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (NTLM2 session security).
pub const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
/// NTLMSSP_NEGOTIATE_TARGET_INFO: a Type 2 carries target info AV pairs.
pub const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
/// NTLMSSP_NEGOTIATE_VERSION: the Version field is filled in.
pub const NEGOTIATE_VERSION: u32 = 0x0200_0000;

/// Every bit with its name, lowest bit first.
const FLAG_NAMES: [(u32, &str); 32] = [
    (0x0000_0001, "NTLMSSP_NEGOTIATE_UNICODE"),
    (0x0000_0002, "NTLMSSP_NEGOTIATE_OEM"),
    (0x0000_0004, "NTLMSSP_REQUEST_TARGET"),
    (0x0000_0008, "NTLMSSP_NEGOTIATE_00000008"),
    (0x0000_0010, "NTLMSSP_NEGOTIATE_SIGN"),
    (0x0000_0020, "NTLMSSP_NEGOTIATE_SEAL"),
    (0x0000_0040, "NTLMSSP_NEGOTIATE_DATAGRAM"),
    (0x0000_0080, "NTLMSSP_NEGOTIATE_LM_KEY"),
    (0x0000_0100, "NTLMSSP_NEGOTIATE_00000100"),
    (0x0000_0200, "NTLMSSP_NEGOTIATE_NTLM"),
    (0x0000_0400, "NTLMSSP_NEGOTIATE_NT_ONLY"),
    (0x0000_0800, "NTLMSSP_NEGOTIATE_ANONYMOUS"),
    (0x0000_1000, "NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED"),
    (0x0000_2000, "NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED"),
    (0x0000_4000, "NTLMSSP_NEGOTIATE_00004000"),
    (0x0000_8000, "NTLMSSP_NEGOTIATE_ALWAYS_SIGN"),
    (0x0001_0000, "NTLMSSP_TARGET_TYPE_DOMAIN"),
    (0x0002_0000, "NTLMSSP_TARGET_TYPE_SERVER"),
    (0x0004_0000, "NTLMSSP_TARGET_TYPE_SHARE"),
    (0x0008_0000, "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY"),
    (0x0010_0000, "NTLMSSP_NEGOTIATE_IDENTIFY"),
    (0x0020_0000, "NTLMSSP_NEGOTIATE_00200000"),
    (0x0040_0000, "NTLMSSP_REQUEST_NON_NT_SESSION_KEY"),
    (0x0080_0000, "NTLMSSP_NEGOTIATE_TARGET_INFO"),
    (0x0100_0000, "NTLMSSP_NEGOTIATE_01000000"),
    (0x0200_0000, "NTLMSSP_NEGOTIATE_VERSION"),
    (0x0400_0000, "NTLMSSP_NEGOTIATE_04000000"),
    (0x0800_0000, "NTLMSSP_NEGOTIATE_08000000"),
    (0x1000_0000, "NTLMSSP_NEGOTIATE_10000000"),
    (0x2000_0000, "NTLMSSP_NEGOTIATE_128"),
    (0x4000_0000, "NTLMSSP_NEGOTIATE_KEY_EXCH"),
    (0x8000_0000, "NTLMSSP_NEGOTIATE_56"),
];

/// A NegotiateFlags field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NegotiateFlags {
    /// The field as sent (little-endian u32).
    pub raw: u32,
    /// Names of the bits that are set, lowest bit first.
    pub names: Vec<&'static str>,
}

impl NegotiateFlags {
    /// Decodes a raw flags value.
    pub fn new(raw: u32) -> Self {
        let names = FLAG_NAMES
            .iter()
            .filter(|(bit, _)| raw & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        NegotiateFlags { raw, names }
    }

    /// Whether every bit of `bits` is set.
    pub fn has(&self, bits: u32) -> bool {
        self.raw & bits == bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_has_exactly_one_name_in_order() {
        for (i, (bit, _)) in FLAG_NAMES.iter().enumerate() {
            assert_eq!(*bit, 1u32 << i);
        }
        assert_eq!(NegotiateFlags::new(u32::MAX).names.len(), 32);
        assert!(NegotiateFlags::new(0).names.is_empty());
    }

    #[test]
    fn curl_type1_flags_by_name() {
        // curl's Type 1 flags as tshark shows them: 0x00088206.
        let flags = NegotiateFlags::new(0x0008_8206);
        assert_eq!(
            flags.names,
            [
                "NTLMSSP_NEGOTIATE_OEM",
                "NTLMSSP_REQUEST_TARGET",
                "NTLMSSP_NEGOTIATE_NTLM",
                "NTLMSSP_NEGOTIATE_ALWAYS_SIGN",
                "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY",
            ]
        );
        assert!(flags.has(NEGOTIATE_OEM | REQUEST_TARGET));
        assert!(!flags.has(NEGOTIATE_UNICODE));
    }
}
