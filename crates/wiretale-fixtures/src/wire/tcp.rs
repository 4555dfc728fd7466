//! TCP headers with options and a correct checksum.

use std::fmt;
use std::ops::BitOr;

use super::checksum::Checksum;
use super::{ip_proto, PseudoHeader};
use crate::error::{fit, Result};

/// TCP flag bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// No flags.
    pub const NONE: TcpFlags = TcpFlags(0);
    /// FIN.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// SYN.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// RST.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// PSH.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// ACK.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// URG.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECE.
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// CWR.
    pub const CWR: TcpFlags = TcpFlags(0x080);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    /// Wireshark's order and spelling: `SYN, ACK`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (TcpFlags::FIN, "FIN"),
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::ACK, "ACK"),
            (TcpFlags::URG, "URG"),
            (TcpFlags::ECE, "ECE"),
            (TcpFlags::CWR, "CWR"),
        ];
        let mut first = true;
        for (flag, name) in names {
            if self.contains(flag) {
                if !first {
                    f.write_str(", ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("<none>")?;
        }
        Ok(())
    }
}

/// A TCP option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOption {
    /// End of option list (kind 0).
    End,
    /// No-operation (kind 1), used for alignment.
    Nop,
    /// Maximum segment size (kind 2).
    Mss(u16),
    /// Window scale shift count (kind 3).
    WindowScale(u8),
    /// SACK permitted (kind 4).
    SackPermitted,
    /// SACK blocks (kind 5): `(left edge, right edge)` sequence numbers.
    Sack(Vec<(u32, u32)>),
    /// Timestamps (kind 8): value and echo reply.
    Timestamps(u32, u32),
}

impl TcpOption {
    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            TcpOption::End => out.push(0),
            TcpOption::Nop => out.push(1),
            TcpOption::Mss(mss) => {
                out.extend_from_slice(&[2, 4]);
                out.extend_from_slice(&mss.to_be_bytes());
            }
            TcpOption::WindowScale(shift) => out.extend_from_slice(&[3, 3, *shift]),
            TcpOption::SackPermitted => out.extend_from_slice(&[4, 2]),
            TcpOption::Sack(blocks) => {
                let len: u8 = fit(
                    blocks.len().saturating_mul(8).saturating_add(2),
                    "SACK option",
                    34,
                )?;
                out.extend_from_slice(&[5, len]);
                for (left, right) in blocks {
                    out.extend_from_slice(&left.to_be_bytes());
                    out.extend_from_slice(&right.to_be_bytes());
                }
            }
            TcpOption::Timestamps(val, ecr) => {
                out.extend_from_slice(&[8, 10]);
                out.extend_from_slice(&val.to_be_bytes());
                out.extend_from_slice(&ecr.to_be_bytes());
            }
        }
        Ok(())
    }

    /// The options a Windows host puts on a SYN: MSS, NOP, WS, NOP, NOP, SACK_PERM.
    pub fn syn_set(mss: u16, window_scale: u8) -> Vec<TcpOption> {
        vec![
            TcpOption::Mss(mss),
            TcpOption::Nop,
            TcpOption::WindowScale(window_scale),
            TcpOption::Nop,
            TcpOption::Nop,
            TcpOption::SackPermitted,
        ]
    }
}

/// The fields of a TCP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (written even without the ACK flag, as stacks do; usually 0 then).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window field (unscaled).
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options, in order; the end is padded with End-of-list bytes to a multiple of 4.
    pub options: Vec<TcpOption>,
}

impl TcpHeader {
    /// A header with the given ports and everything else zero.
    pub fn new(src_port: u16, dst_port: u16) -> Self {
        TcpHeader {
            src_port,
            dst_port,
            seq: 0,
            ack: 0,
            flags: TcpFlags::NONE,
            window: 0,
            urgent: 0,
            options: Vec::new(),
        }
    }

    /// Header plus `payload`, with the checksum computed over `pseudo` (its protocol is ignored:
    /// TCP's number is used).
    pub fn encode(&self, pseudo: &PseudoHeader, payload: &[u8]) -> Result<Vec<u8>> {
        let mut opts = Vec::new();
        for o in &self.options {
            o.encode(&mut opts)?;
        }
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        let header_len = opts.len().saturating_add(20);
        let words: u8 = fit(header_len / 4, "TCP header", 15)?;
        let mut out = Vec::with_capacity(header_len.saturating_add(payload.len()));
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        let offset_flags = (u16::from(words) << 12) | (self.flags.0 & 0x01ff);
        out.extend_from_slice(&offset_flags.to_be_bytes());
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.urgent.to_be_bytes());
        out.extend_from_slice(&opts);
        out.extend_from_slice(payload);
        let mut sum = Checksum::new();
        PseudoHeader {
            protocol: ip_proto::TCP,
            ..*pseudo
        }
        .add_to(&mut sum, out.len())?;
        sum.add(&out);
        let value = sum.finish();
        if let Some(field) = out.get_mut(16..18) {
            field.copy_from_slice(&value.to_be_bytes());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn v4() -> PseudoHeader {
        PseudoHeader {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            protocol: 6,
        }
    }

    /// Verifies a checksum the way a receiver does: summing everything including the field.
    fn verifies(pseudo: &PseudoHeader, seg: &[u8]) -> bool {
        let mut sum = Checksum::new();
        pseudo.add_to(&mut sum, seg.len()).unwrap();
        sum.add(seg);
        sum.finish() == 0
    }

    #[test]
    fn syn_with_options_layout_and_checksum() {
        let mut h = TcpHeader::new(49152, 80);
        h.seq = 0xfffffff0;
        h.flags = TcpFlags::SYN;
        h.window = 64240;
        h.options = TcpOption::syn_set(1460, 8);
        let seg = h.encode(&v4(), &[]).unwrap();
        assert_eq!(seg.len(), 32);
        assert_eq!(seg[12], 0x80, "data offset 8 words");
        assert_eq!(seg[13], 0x02);
        assert_eq!(&seg[20..32], &[2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2]);
        assert!(verifies(&v4(), &seg));
    }

    #[test]
    fn checksum_over_ipv6_pseudo_header_with_odd_payload() {
        let p = PseudoHeader {
            src: IpAddr::V6(Ipv6Addr::LOCALHOST),
            dst: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            protocol: 6,
        };
        let mut h = TcpHeader::new(1, 2);
        h.flags = TcpFlags::ACK | TcpFlags::PSH;
        let seg = h.encode(&p, b"abc").unwrap();
        assert!(verifies(&p, &seg));
        assert!(!verifies(&v4(), &seg));
    }

    #[test]
    fn options_are_padded_and_bounded() {
        let mut h = TcpHeader::new(1, 2);
        h.options = vec![TcpOption::WindowScale(7)];
        assert_eq!(h.encode(&v4(), &[]).unwrap().len(), 24);
        h.options = vec![
            TcpOption::Sack(vec![(1, 2); 4]),
            TcpOption::Timestamps(1, 2),
        ];
        assert!(h.encode(&v4(), &[]).is_err(), "44 option bytes exceed 40");
    }

    #[test]
    fn mixed_families_are_an_error() {
        let p = PseudoHeader {
            src: IpAddr::V4(Ipv4Addr::LOCALHOST),
            dst: IpAddr::V6(Ipv6Addr::LOCALHOST),
            protocol: 6,
        };
        assert!(TcpHeader::new(1, 2).encode(&p, &[]).is_err());
    }

    #[test]
    fn flags_display_like_wireshark() {
        assert_eq!((TcpFlags::SYN | TcpFlags::ACK).to_string(), "SYN, ACK");
        assert_eq!(
            (TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK).to_string(),
            "FIN, PSH, ACK"
        );
    }
}
