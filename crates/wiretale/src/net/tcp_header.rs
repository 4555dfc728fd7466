//! A checked, borrowed view of a TCP header (smoltcp style): validated once by
//! [`TcpHeader::parse`], after which every accessor is infallible.

use serde::Serialize;

/// TCP flag bits as a compact set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
    /// ECE.
    pub const ECE: u16 = 0x040;
    /// CWR.
    pub const CWR: u16 = 0x080;
    /// AE (formerly NS).
    pub const AE: u16 = 0x100;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u16) -> bool {
        self.0 & bits == bits
    }
    /// SYN set.
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// ACK set.
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    /// FIN set.
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// RST set.
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }

    /// Wireshark's `tcp.flags.str` form, e.g. `·······AP···`.
    pub fn wireshark_str(self) -> String {
        const LETTERS: [(u16, char); 12] = [
            (0x800, 'R'),
            (0x400, 'R'),
            (0x200, 'R'),
            (TcpFlags::AE, 'N'),
            (TcpFlags::CWR, 'C'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ACK, 'A'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::FIN, 'F'),
        ];
        LETTERS
            .iter()
            .map(|&(bit, c)| if self.0 & bit != 0 { c } else { '·' })
            .collect()
    }

    /// Short names of the set flags, e.g. `SYN, ACK`.
    pub fn names(self) -> String {
        let mut out = String::new();
        self.push_names(&mut out);
        out
    }

    /// Appends [`TcpFlags::names`] to `out` (no allocation when it has room).
    pub fn push_names(self, out: &mut String) {
        const NAMES: [(u16, &str); 9] = [
            (TcpFlags::FIN, "FIN"),
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::ACK, "ACK"),
            (TcpFlags::URG, "URG"),
            (TcpFlags::ECE, "ECE"),
            (TcpFlags::CWR, "CWR"),
            (TcpFlags::AE, "AE"),
        ];
        let mut first = true;
        for (bit, name) in NAMES {
            if self.0 & bit != 0 {
                if !first {
                    out.push_str(", ");
                }
                out.push_str(name);
                first = false;
            }
        }
    }
}

impl Serialize for TcpFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.names())
    }
}

/// Options of interest carried by a segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size.
    pub mss: Option<u16>,
    /// Window scale shift.
    pub window_scale: Option<u8>,
    /// SACK permitted.
    pub sack_permitted: bool,
}

/// A validated TCP header.
#[derive(Debug, Clone, Copy)]
pub struct TcpHeader<'a> {
    bytes: &'a [u8],
    /// The first 20 bytes of `bytes`: the fixed fields are read from an array of known size,
    /// without a bounds check per byte (every segment's flags, sequence and acknowledgment
    /// numbers are read several times).
    fixed: &'a [u8; 20],
    header_len: usize,
}

/// Why a TCP header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpHeaderError {
    /// Fewer than 20 bytes were captured.
    Truncated,
    /// The data offset is below 5 words.
    BadDataOffset,
}

impl<'a> TcpHeader<'a> {
    /// Validates the fixed header. Options may be cut short by the snapshot length: then the
    /// header length still comes from the data offset and [`TcpHeader::options`] reads what is
    /// there.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, TcpHeaderError> {
        let Some(fixed) = bytes.first_chunk::<20>() else {
            return Err(TcpHeaderError::Truncated);
        };
        let header_len = usize::from(fixed[12] >> 4) * 4;
        if header_len < 20 {
            return Err(TcpHeaderError::BadDataOffset);
        }
        Ok(TcpHeader {
            bytes,
            fixed,
            header_len,
        })
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.fixed[at], self.fixed[at + 1]])
    }
    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes([
            self.fixed[at],
            self.fixed[at + 1],
            self.fixed[at + 2],
            self.fixed[at + 3],
        ])
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.u16_at(0)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.u16_at(2)
    }
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        self.u32_at(4)
    }
    /// Acknowledgment number.
    pub fn ack(&self) -> u32 {
        self.u32_at(8)
    }
    /// Header length in bytes (data offset × 4).
    pub fn header_len(&self) -> usize {
        self.header_len
    }
    /// Flags (including the three reserved bits and AE).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(u16::from_be_bytes([self.fixed[12] & 0x0f, self.fixed[13]]))
    }
    /// Raw (unscaled) window.
    pub fn window(&self) -> u16 {
        self.u16_at(14)
    }
    /// The captured bytes after the header (empty when the header itself was cut short).
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.header_len..).unwrap_or(&[])
    }
    /// Parses the options that were captured.
    pub fn options(&self) -> TcpOptions {
        let end = self.header_len.min(self.bytes.len());
        let mut opts = TcpOptions::default();
        let mut rest = self.bytes.get(20..end).unwrap_or(&[]);
        while let Some((&kind, tail)) = rest.split_first() {
            match kind {
                0 => break,
                1 => rest = tail,
                _ => {
                    let Some(&len) = tail.first() else { break };
                    let len = usize::from(len);
                    if len < 2 || len > rest.len() {
                        break;
                    }
                    let body = &rest[2..len];
                    match (kind, body.len()) {
                        (2, 2) => opts.mss = Some(u16::from_be_bytes([body[0], body[1]])),
                        (3, 1) => opts.window_scale = Some(body[0].min(14)),
                        (4, 0) => opts.sack_permitted = true,
                        _ => {}
                    }
                    rest = &rest[len..];
                }
            }
        }
        opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_options() {
        let mut h = vec![
            0xdb, 0xba, 0x0c, 0x38, 0, 0, 0, 1, 0, 0, 0, 0, 0x80, 0x02, 0xff, 0xd7, 0, 0, 0, 0,
        ];
        h.extend_from_slice(&[2, 4, 0xff, 0xd7, 4, 2, 1, 3, 3, 7, 0, 0]);
        let t = TcpHeader::parse(&h).unwrap();
        assert_eq!((t.src_port(), t.dst_port(), t.seq()), (56250, 3128, 1));
        assert!(t.flags().syn() && !t.flags().ack());
        assert_eq!(t.flags().wireshark_str(), "··········S·");
        let o = t.options();
        assert_eq!(o.mss, Some(65495));
        assert_eq!(o.window_scale, Some(7));
        assert!(o.sack_permitted);
        assert!(t.payload().is_empty());
    }

    #[test]
    fn hostile_options_do_not_panic() {
        let mut h = vec![0u8; 20];
        h[12] = 0xf0;
        h.extend_from_slice(&[2, 0, 3, 200, 8, 1]);
        let t = TcpHeader::parse(&h).unwrap();
        let _ = t.options();
        assert!(t.payload().is_empty());
        assert_eq!(
            TcpHeader::parse(&h[..19]).unwrap_err(),
            TcpHeaderError::Truncated
        );
    }
}
