//! UDP datagrams with a correct checksum.

use super::checksum::Checksum;
use super::{ip_proto, PseudoHeader};
use crate::error::{fit, Result};

/// UDP header plus `payload`, checksummed over `pseudo` (its protocol is ignored: UDP's is used).
pub fn datagram(
    src_port: u16,
    dst_port: u16,
    pseudo: &PseudoHeader,
    payload: &[u8],
) -> Result<Vec<u8>> {
    let len: u16 = fit(payload.len().saturating_add(8), "UDP length", 65_535)?;
    let mut out = Vec::with_capacity(usize::from(len));
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let mut sum = Checksum::new();
    PseudoHeader {
        protocol: ip_proto::UDP,
        ..*pseudo
    }
    .add_to(&mut sum, out.len())?;
    sum.add(&out);
    // A computed 0 is sent as 0xffff (0 means "no checksum").
    let value = match sum.finish() {
        0 => 0xffff,
        v => v,
    };
    if let Some(field) = out.get_mut(6..8) {
        field.copy_from_slice(&value.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn checksum_verifies() {
        let p = PseudoHeader {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)),
            protocol: 17,
        };
        let d = datagram(5353, 53, &p, b"hello").unwrap();
        assert_eq!(&d[4..6], &[0, 13]);
        let mut sum = Checksum::new();
        p.add_to(&mut sum, d.len()).unwrap();
        sum.add(&d);
        assert_eq!(sum.finish(), 0);
    }
}
