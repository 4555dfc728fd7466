//! IPv4 headers (no options) and fragmentation.

use std::net::Ipv4Addr;

use super::checksum::internet_checksum;
use crate::error::{fit, FixtureError, Result};

/// The fields of an IPv4 header without options (IHL 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload (6 = TCP).
    pub protocol: u8,
    /// Identification.
    pub id: u16,
    /// Time to live.
    pub ttl: u8,
    /// DSCP and ECN bits (the old TOS byte).
    pub tos: u8,
    /// The DF flag.
    pub dont_fragment: bool,
    /// The MF flag.
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units (13 bits).
    pub fragment_offset: u16,
}

impl Ipv4Header {
    /// A header with TTL 64, DF set, id 0, not a fragment.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8) -> Self {
        Ipv4Header {
            src,
            dst,
            protocol,
            id: 0,
            ttl: 64,
            tos: 0,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        }
    }

    /// Header (with correct checksum) followed by `payload`.
    pub fn encode(&self, payload: &[u8]) -> Result<Vec<u8>> {
        let total: u16 = fit(
            payload.len().saturating_add(20),
            "IPv4 total length",
            65_535,
        )?;
        if self.fragment_offset > 0x1fff {
            return Err(FixtureError::Fragmentation(
                "fragment offset exceeds 13 bits",
            ));
        }
        let mut flags_offset = self.fragment_offset;
        if self.dont_fragment {
            flags_offset |= 0x4000;
        }
        if self.more_fragments {
            flags_offset |= 0x2000;
        }
        let mut out = Vec::with_capacity(usize::from(total));
        out.extend_from_slice(&[0x45, self.tos]);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&flags_offset.to_be_bytes());
        out.extend_from_slice(&[self.ttl, self.protocol, 0, 0]);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        let sum = internet_checksum(&out);
        if let Some(field) = out.get_mut(10..12) {
            field.copy_from_slice(&sum.to_be_bytes());
        }
        out.extend_from_slice(payload);
        Ok(out)
    }
}

/// Splits `payload` (the complete upper-layer bytes, e.g. an encoded TCP segment) into `count`
/// IPv4 fragments of `header`'s datagram, in offset order. Every fragment but the last carries a
/// multiple of 8 bytes; the pieces are as equal as that allows. DF is cleared.
pub fn fragment(header: &Ipv4Header, payload: &[u8], count: usize) -> Result<Vec<Vec<u8>>> {
    let pieces = split_fragment_payload(payload.len(), count)?;
    let mut out = Vec::with_capacity(pieces.len());
    let last = pieces.len().saturating_sub(1);
    for (i, (start, end)) in pieces.into_iter().enumerate() {
        let mut h = header.clone();
        h.dont_fragment = false;
        h.more_fragments = i < last;
        h.fragment_offset = fit(start / 8, "IPv4 fragment offset", 0x1fff)?;
        let piece = payload
            .get(start..end)
            .ok_or(FixtureError::Fragmentation("piece outside payload"))?;
        out.push(h.encode(piece)?);
    }
    Ok(out)
}

/// Byte ranges of `count` fragments of a `len`-byte payload (all but the last a multiple of 8).
pub(crate) fn split_fragment_payload(len: usize, count: usize) -> Result<Vec<(usize, usize)>> {
    if count == 0 {
        return Err(FixtureError::Fragmentation("zero fragments requested"));
    }
    let blocks = len.div_ceil(8);
    if count > blocks.max(1) {
        return Err(FixtureError::Fragmentation(
            "more fragments than 8-byte blocks",
        ));
    }
    let per = blocks.div_ceil(count).saturating_mul(8);
    let mut ranges = Vec::with_capacity(count);
    let mut start = 0usize;
    for i in 0..count {
        let end = if i + 1 == count {
            len
        } else {
            start.saturating_add(per).min(len)
        };
        if start >= end && len > 0 {
            return Err(FixtureError::Fragmentation("a fragment would be empty"));
        }
        ranges.push((start, end));
        start = end;
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::internet_checksum;

    fn hdr() -> Ipv4Header {
        let mut h = Ipv4Header::new(
            Ipv4Addr::new(192, 168, 0, 1),
            Ipv4Addr::new(192, 168, 0, 199),
            17,
        );
        h.id = 0;
        h
    }

    #[test]
    fn header_matches_known_bytes() {
        // Same header as the checksum module's known example (total length 0x73, DF, UDP).
        let bytes = hdr().encode(&[0u8; 0x73 - 20]).unwrap();
        assert_eq!(
            &bytes[..20],
            &[
                0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7
            ]
        );
        assert_eq!(internet_checksum(&bytes[..20]), 0);
    }

    #[test]
    fn too_long_payload_is_an_error() {
        assert!(matches!(
            hdr().encode(&vec![0; 65_516]),
            Err(FixtureError::TooLong { .. })
        ));
    }

    #[test]
    fn fragments_reassemble_to_payload() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let frags = fragment(&hdr(), &payload, 3).unwrap();
        assert_eq!(frags.len(), 3);
        let mut joined = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            assert_eq!(internet_checksum(&f[..20]), 0);
            let flags_off = u16::from_be_bytes([f[6], f[7]]);
            assert_eq!(flags_off & 0x4000, 0, "DF cleared");
            assert_eq!(flags_off & 0x2000 != 0, i < 2, "MF on all but the last");
            assert_eq!(usize::from(flags_off & 0x1fff) * 8, joined.len());
            joined.extend_from_slice(&f[20..]);
        }
        assert_eq!(joined, payload);
        assert_eq!(frags[0].len() - 20, 336);
    }

    #[test]
    fn impossible_fragmentation_is_refused() {
        assert!(fragment(&hdr(), &[0; 16], 3).is_err());
        assert!(fragment(&hdr(), &[0; 16], 0).is_err());
        assert_eq!(fragment(&hdr(), &[0; 16], 2).unwrap().len(), 2);
    }
}
