//! Link layers: finds the network-layer packet inside a frame.
//!
//! Supported: Ethernet II with any number (up to 8) of 802.1Q / 802.1ad / QinQ tags, Linux
//! cooked capture v1 (SLL) and v2 (SLL2), raw IP (LINKTYPE_RAW 101, the legacy DLT numbers 12
//! and 14, LINKTYPE_IPV4 228 and LINKTYPE_IPV6 229) and BSD null/loopback (0 and 108).

use crate::capture::LinkType;

/// The network-layer bytes of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network<'a> {
    /// An IPv4 or IPv6 packet (the version nibble says which).
    Ip(&'a [u8]),
    /// A network protocol other than IP (ARP, LLDP, ...), by EtherType.
    Other {
        /// EtherType (or 0 when the link layer has no such notion).
        ethertype: u16,
        /// Its bytes (after the link header and any VLAN tags).
        payload: &'a [u8],
    },
}

/// Why a frame's link layer could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The link type is not one wiretale decodes.
    Unsupported(LinkType),
    /// The frame is shorter than its link-layer header.
    Truncated,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const MAX_VLAN_TAGS: usize = 8;

/// Returns the network-layer packet of `frame` captured with `link_type`.
pub fn network_layer(link_type: LinkType, frame: &[u8]) -> Result<Network<'_>, LinkError> {
    match link_type.0 {
        1 => ethernet(frame),
        0 => null_loopback(frame, false),
        108 => null_loopback(frame, true),
        101 | 12 | 14 | 228 | 229 => Ok(raw_ip(frame)),
        113 => {
            let ethertype = be16(frame, 14).ok_or(LinkError::Truncated)?;
            after_ethertype(ethertype, frame.get(16..).ok_or(LinkError::Truncated)?)
        }
        276 => {
            let ethertype = be16(frame, 0).ok_or(LinkError::Truncated)?;
            after_ethertype(ethertype, frame.get(20..).ok_or(LinkError::Truncated)?)
        }
        _ => Err(LinkError::Unsupported(link_type)),
    }
}

fn ethernet(frame: &[u8]) -> Result<Network<'_>, LinkError> {
    let ethertype = be16(frame, 12).ok_or(LinkError::Truncated)?;
    after_ethertype(ethertype, frame.get(14..).ok_or(LinkError::Truncated)?)
}

/// Follows VLAN tags after an EtherType field to the IP packet.
fn after_ethertype(mut ethertype: u16, mut rest: &[u8]) -> Result<Network<'_>, LinkError> {
    for _ in 0..=MAX_VLAN_TAGS {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(Network::Ip(rest)),
            0x8100 | 0x88A8 | 0x9100 | 0x9200 => {
                ethertype = be16(rest, 2).ok_or(LinkError::Truncated)?;
                rest = rest.get(4..).ok_or(LinkError::Truncated)?;
            }
            other => {
                return Ok(Network::Other {
                    ethertype: other,
                    payload: rest,
                })
            }
        }
    }
    Ok(Network::Other {
        ethertype,
        payload: rest,
    })
}

/// BSD loopback: a 4-byte address family in the writer's byte order (null) or network order
/// (loop). IPv6 has a different AF_INET6 value on each BSD.
fn null_loopback(frame: &[u8], network_order: bool) -> Result<Network<'_>, LinkError> {
    let header: [u8; 4] = frame
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(LinkError::Truncated)?;
    let family = if network_order || (header[0] == 0 && header[1] == 0) {
        u32::from_be_bytes(header)
    } else {
        u32::from_le_bytes(header)
    };
    let rest = frame.get(4..).ok_or(LinkError::Truncated)?;
    match family {
        2 | 24 | 28 | 30 => Ok(Network::Ip(rest)),
        _ => Ok(Network::Other {
            ethertype: 0,
            payload: rest,
        }),
    }
}

fn raw_ip(frame: &[u8]) -> Network<'_> {
    Network::Ip(frame)
}

/// The big-endian `u16` at `at`, if the bytes are there.
pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_two_vlan_tags() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xA8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00, 0x45]);
        assert_eq!(network_layer(LinkType(1), &f), Ok(Network::Ip(&[0x45][..])));
    }

    #[test]
    fn arp_is_other() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(
            network_layer(LinkType(1), &f),
            Ok(Network::Other {
                ethertype: 0x0806,
                payload: &[0, 1][..]
            })
        );
    }

    #[test]
    fn null_loopback_both_byte_orders() {
        assert_eq!(
            network_layer(LinkType(0), &[2, 0, 0, 0, 0x45]),
            Ok(Network::Ip(&[0x45][..]))
        );
        assert_eq!(
            network_layer(LinkType(0), &[0, 0, 0, 30, 0x60]),
            Ok(Network::Ip(&[0x60][..]))
        );
    }

    #[test]
    fn sll_and_sll2() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00, 0x45]);
        assert_eq!(
            network_layer(LinkType(113), &sll),
            Ok(Network::Ip(&[0x45][..]))
        );
        let mut sll2 = vec![0x86, 0xDD];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.push(0x60);
        assert_eq!(
            network_layer(LinkType(276), &sll2),
            Ok(Network::Ip(&[0x60][..]))
        );
    }

    #[test]
    fn short_and_unknown() {
        assert_eq!(
            network_layer(LinkType(1), &[0; 5]),
            Err(LinkError::Truncated)
        );
        assert_eq!(
            network_layer(LinkType(105), &[0; 50]),
            Err(LinkError::Unsupported(LinkType(105)))
        );
    }
}
