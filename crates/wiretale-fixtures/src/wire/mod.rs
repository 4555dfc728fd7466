//! Encoders of the network and transport headers (all fields big-endian, checksums correct).
//!
//! Each function takes the fields a test cares about and returns the bytes of one header plus
//! its payload. Nothing here knows about sessions or captures.

pub mod arp;
pub mod checksum;
pub mod dns;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

use std::net::IpAddr;

use crate::error::{FixtureError, Result};

/// IANA protocol numbers used here.
pub mod ip_proto {
    /// IPv6 hop-by-hop options header.
    pub const HOP_BY_HOP: u8 = 0;
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 fragment header.
    pub const FRAGMENT: u8 = 44;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const NO_NEXT: u8 = 59;
    /// IPv6 destination options header.
    pub const DEST_OPTS: u8 = 60;
}

/// The checksum pseudo header of TCP/UDP: both addresses (of one family) and the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PseudoHeader {
    /// Source address.
    pub src: IpAddr,
    /// Destination address (the final one).
    pub dst: IpAddr,
    /// Upper-layer protocol number.
    pub protocol: u8,
}

impl PseudoHeader {
    /// Sums the pseudo header for an upper-layer length of `len` bytes.
    pub(crate) fn add_to(&self, sum: &mut checksum::Checksum, len: usize) -> Result<()> {
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let len16: u16 = crate::error::fit(len, "IPv4 upper-layer length", 65_515)?;
                sum.add(&s.octets());
                sum.add(&d.octets());
                sum.add(&[0, self.protocol]);
                sum.add(&len16.to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let len32: u32 = crate::error::fit(len, "IPv6 upper-layer length", 65_535)?;
                sum.add(&s.octets());
                sum.add(&d.octets());
                sum.add(&len32.to_be_bytes());
                sum.add(&[0, 0, 0, self.protocol]);
            }
            (src, dst) => return Err(FixtureError::MixedAddressFamilies { src, dst }),
        }
        Ok(())
    }
}
