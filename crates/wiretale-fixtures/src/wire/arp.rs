//! ARP for IPv4 over Ethernet.

use std::net::Ipv4Addr;

use crate::link::Mac;

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    /// Who-has (1).
    Request,
    /// Is-at (2).
    Reply,
}

/// An ARP packet (28 bytes): hardware Ethernet, protocol IPv4.
pub fn packet(
    op: ArpOp,
    sender_mac: Mac,
    sender_ip: Ipv4Addr,
    target_mac: Mac,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(28);
    out.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0]);
    out.push(match op {
        ArpOp::Request => 1,
        ArpOp::Reply => 2,
    });
    out.extend_from_slice(&sender_mac.0);
    out.extend_from_slice(&sender_ip.octets());
    out.extend_from_slice(&target_mac.0);
    out.extend_from_slice(&target_ip.octets());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let p = packet(
            ArpOp::Request,
            Mac([2, 0, 0, 0, 0, 1]),
            Ipv4Addr::new(10, 0, 0, 1),
            Mac::ZERO,
            Ipv4Addr::new(10, 0, 0, 2),
        );
        assert_eq!(p.len(), 28);
        assert_eq!(&p[..8], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&p[24..], &[10, 0, 0, 2]);
    }
}
