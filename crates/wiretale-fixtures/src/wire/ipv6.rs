//! IPv6 headers with extension headers (hop-by-hop, destination options, fragment) and
//! fragmentation.

use std::net::Ipv6Addr;

use super::ip_proto;
use super::ipv4::split_fragment_payload;
use crate::error::{fit, FixtureError, Result};

/// One IPv6 extension header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv6Ext {
    /// Hop-by-hop options (must come first). `options` are raw TLV options; padding to a
    /// multiple of 8 bytes (Pad1/PadN) is added.
    HopByHop {
        /// Option TLVs without the padding.
        options: Vec<u8>,
    },
    /// Destination options, padded like [`Ipv6Ext::HopByHop`].
    DestinationOptions {
        /// Option TLVs without the padding.
        options: Vec<u8>,
    },
    /// Fragment header. With `offset` 0 and `more` false it is an atomic fragment (RFC 6946).
    Fragment {
        /// Offset in 8-byte units (13 bits).
        offset: u16,
        /// The M flag.
        more: bool,
        /// Identification.
        id: u32,
    },
}

impl Ipv6Ext {
    /// The Next Header value that announces this header.
    pub fn protocol(&self) -> u8 {
        match self {
            Ipv6Ext::HopByHop { .. } => ip_proto::HOP_BY_HOP,
            Ipv6Ext::DestinationOptions { .. } => ip_proto::DEST_OPTS,
            Ipv6Ext::Fragment { .. } => ip_proto::FRAGMENT,
        }
    }

    /// A hop-by-hop header carrying a Router Alert option (RFC 2711, value 0), as MLD uses it.
    pub fn router_alert() -> Self {
        Ipv6Ext::HopByHop {
            options: vec![0x05, 0x02, 0x00, 0x00],
        }
    }

    /// An atomic fragment header with identification `id`.
    pub fn atomic_fragment(id: u32) -> Self {
        Ipv6Ext::Fragment {
            offset: 0,
            more: false,
            id,
        }
    }

    fn encode(&self, next: u8, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Ipv6Ext::HopByHop { options } | Ipv6Ext::DestinationOptions { options } => {
                let unpadded = options.len().saturating_add(2);
                let pad = (8 - unpadded % 8) % 8;
                let total = unpadded.saturating_add(pad);
                let len_units: u8 = fit(total / 8 - 1, "IPv6 options header", 255)?;
                out.extend_from_slice(&[next, len_units]);
                out.extend_from_slice(options);
                match pad {
                    0 => {}
                    1 => out.push(0), // Pad1
                    n => {
                        // PadN: type 1, length n-2, zeros. `n` is at most 7 here.
                        out.extend_from_slice(&[1, u8::try_from(n - 2).unwrap_or(0)]);
                        out.resize(out.len().saturating_add(n - 2), 0);
                    }
                }
            }
            Ipv6Ext::Fragment { offset, more, id } => {
                if *offset > 0x1fff {
                    return Err(FixtureError::Fragmentation(
                        "fragment offset exceeds 13 bits",
                    ));
                }
                let field = (offset << 3) | u16::from(*more);
                out.extend_from_slice(&[next, 0]);
                out.extend_from_slice(&field.to_be_bytes());
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
        Ok(())
    }
}

/// Encodes a chain of extension headers ending in `upper`; returns the first Next Header value
/// and the bytes.
fn encode_chain(exts: &[Ipv6Ext], upper: u8) -> Result<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, ext) in exts.iter().enumerate() {
        let next = exts.get(i + 1).map_or(upper, Ipv6Ext::protocol);
        ext.encode(next, &mut out)?;
    }
    Ok((exts.first().map_or(upper, Ipv6Ext::protocol), out))
}

/// The fields of an IPv6 header and the extension headers that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Header {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Protocol of the payload after the extension headers (6 = TCP).
    pub protocol: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Hop limit.
    pub hop_limit: u8,
    /// Extension headers, in order.
    pub ext: Vec<Ipv6Ext>,
}

impl Ipv6Header {
    /// A header with hop limit 64, no flow label and no extension headers.
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8) -> Self {
        Ipv6Header {
            src,
            dst,
            protocol,
            traffic_class: 0,
            flow_label: 0,
            hop_limit: 64,
            ext: Vec::new(),
        }
    }

    fn fixed_header(&self, next: u8, payload_len: usize) -> Result<Vec<u8>> {
        let len: u16 = fit(payload_len, "IPv6 payload length", 65_535)?;
        let word =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0xf_ffff);
        let mut out = Vec::with_capacity(40usize.saturating_add(payload_len));
        out.extend_from_slice(&word.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&[next, self.hop_limit]);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        Ok(out)
    }

    /// Header, extension headers, then `payload`.
    pub fn encode(&self, payload: &[u8]) -> Result<Vec<u8>> {
        let (first, chain) = encode_chain(&self.ext, self.protocol)?;
        let mut out = self.fixed_header(first, chain.len().saturating_add(payload.len()))?;
        out.extend_from_slice(&chain);
        out.extend_from_slice(payload);
        Ok(out)
    }
}

/// Splits `payload` into `count` fragments (RFC 8200 section 4.5). A leading hop-by-hop header
/// stays in every fragment (unfragmentable part); the other extension headers of `header` and
/// the payload form the fragmentable part. A fragment header with identification `id` is
/// inserted; `header.ext` must not already contain one.
pub fn fragment(
    header: &Ipv6Header,
    payload: &[u8],
    count: usize,
    id: u32,
) -> Result<Vec<Vec<u8>>> {
    if header
        .ext
        .iter()
        .any(|e| matches!(e, Ipv6Ext::Fragment { .. }))
    {
        return Err(FixtureError::Fragmentation(
            "header already has a fragment header",
        ));
    }
    let split = usize::from(matches!(header.ext.first(), Some(Ipv6Ext::HopByHop { .. })));
    let (unfrag, frag_exts) = header.ext.split_at(split);
    let (frag_next, mut fragmentable) = encode_chain(frag_exts, header.protocol)?;
    fragmentable.extend_from_slice(payload);
    let pieces = split_fragment_payload(fragmentable.len(), count)?;
    let last = pieces.len().saturating_sub(1);
    let mut out = Vec::with_capacity(pieces.len());
    for (i, (start, end)) in pieces.into_iter().enumerate() {
        let mut exts = unfrag.to_vec();
        exts.push(Ipv6Ext::Fragment {
            offset: fit(start / 8, "IPv6 fragment offset", 0x1fff)?,
            more: i < last,
            id,
        });
        let (first, mut chain) = encode_chain(&exts, frag_next)?;
        let piece = fragmentable
            .get(start..end)
            .ok_or(FixtureError::Fragmentation("piece outside payload"))?;
        chain.extend_from_slice(piece);
        let mut bytes = header.fixed_header(first, chain.len())?;
        bytes.extend_from_slice(&chain);
        out.push(bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u16) -> Ipv6Addr {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)
    }

    #[test]
    fn plain_header_layout() {
        let mut h = Ipv6Header::new(addr(1), addr(2), 6);
        h.flow_label = 0x12345;
        let b = h.encode(&[1, 2, 3]).unwrap();
        assert_eq!(&b[..8], &[0x60, 0x01, 0x23, 0x45, 0, 3, 6, 64]);
        assert_eq!(b.len(), 43);
    }

    #[test]
    fn hop_by_hop_and_atomic_fragment_chain() {
        let mut h = Ipv6Header::new(addr(1), addr(2), 6);
        h.ext = vec![Ipv6Ext::router_alert(), Ipv6Ext::atomic_fragment(0xabcd)];
        let b = h.encode(&[]).unwrap();
        assert_eq!(b[6], 0, "first next header: hop-by-hop");
        // Hop-by-hop: next=44, len 0 (8 bytes), router alert, PadN(0).
        assert_eq!(&b[40..48], &[44, 0, 5, 2, 0, 0, 1, 0]);
        // Fragment: next=6, reserved, offset 0 M 0, id.
        assert_eq!(&b[48..56], &[6, 0, 0, 0, 0, 0, 0xab, 0xcd]);
        assert_eq!(u16::from_be_bytes([b[4], b[5]]), 16);
    }

    #[test]
    fn empty_options_get_padn() {
        let mut h = Ipv6Header::new(addr(1), addr(2), 59);
        h.ext = vec![
            Ipv6Ext::DestinationOptions { options: vec![] },
            Ipv6Ext::HopByHop {
                options: vec![0xaa; 5],
            },
        ];
        let b = h.encode(&[]).unwrap();
        assert_eq!(&b[40..48], &[0, 0, 1, 4, 0, 0, 0, 0]);
        assert_eq!(
            &b[48..56],
            &[59, 0, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0],
            "Pad1"
        );
    }

    #[test]
    fn fragments_keep_hop_by_hop_and_reassemble() {
        let mut h = Ipv6Header::new(addr(1), addr(2), 6);
        h.ext = vec![
            Ipv6Ext::router_alert(),
            Ipv6Ext::DestinationOptions { options: vec![] },
        ];
        let payload: Vec<u8> = (0..100u8).collect();
        let frags = fragment(&h, &payload, 2, 7).unwrap();
        let mut joined = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            assert_eq!(f[6], 0, "hop-by-hop first in every fragment");
            assert_eq!(f[40], 44, "then the fragment header");
            let field = u16::from_be_bytes([f[50], f[51]]);
            assert_eq!(usize::from(field >> 3) * 8, joined.len());
            assert_eq!(field & 1 == 1, i == 0);
            assert_eq!(
                f[48], 60,
                "fragmentable part starts with destination options"
            );
            assert_eq!(u32::from_be_bytes([f[52], f[53], f[54], f[55]]), 7);
            assert_eq!(usize::from(u16::from_be_bytes([f[4], f[5]])), f.len() - 40);
            joined.extend_from_slice(&f[56..]);
        }
        assert_eq!(&joined[..8], &[6, 0, 1, 4, 0, 0, 0, 0]);
        assert_eq!(&joined[8..], &payload[..]);
    }
}
