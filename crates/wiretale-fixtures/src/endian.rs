//! Byte order of the file formats' own header fields (network headers are always big-endian).

/// Byte order used for a file's headers (pcap global/record headers, pcapng blocks, the BSD
/// loopback family value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Endian {
    /// Least significant byte first (what x86 and ARM hosts write).
    #[default]
    Little,
    /// Most significant byte first (what SPARC/PowerPC hosts wrote).
    Big,
}

impl Endian {
    pub(crate) fn put_u16(self, out: &mut Vec<u8>, value: u16) {
        match self {
            Endian::Little => out.extend_from_slice(&value.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&value.to_be_bytes()),
        }
    }

    pub(crate) fn put_u32(self, out: &mut Vec<u8>, value: u32) {
        match self {
            Endian::Little => out.extend_from_slice(&value.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&value.to_be_bytes()),
        }
    }

    pub(crate) fn put_i64(self, out: &mut Vec<u8>, value: i64) {
        match self {
            Endian::Little => out.extend_from_slice(&value.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&value.to_be_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_both_orders() {
        let mut out = Vec::new();
        Endian::Little.put_u32(&mut out, 0xa1b2_c3d4);
        Endian::Big.put_u32(&mut out, 0xa1b2_c3d4);
        Endian::Big.put_u16(&mut out, 0x0102);
        assert_eq!(
            out,
            [0xd4, 0xc3, 0xb2, 0xa1, 0xa1, 0xb2, 0xc3, 0xd4, 0x01, 0x02]
        );
    }
}
