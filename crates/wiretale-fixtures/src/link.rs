//! Link-layer encapsulation: Ethernet II (with VLAN tags), Linux SLL/SLL2, BSD loopback, raw IP.

use std::fmt;
use std::net::IpAddr;

use crate::endian::Endian;
use crate::error::{FixtureError, Result};
use crate::linktype::LinkType;

/// EtherType values used here.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q customer VLAN tag.
    pub const DOT1Q: u16 = 0x8100;
    /// 802.1ad service VLAN tag (QinQ outer tag).
    pub const DOT1AD: u16 = 0x88a8;
}

/// A 48-bit MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// 00:00:00:00:00:00 (ARP request target).
    pub const ZERO: Mac = Mac([0; 6]);
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Mac = Mac([0xff; 6]);

    /// A locally administered address derived from an IP address, so every host of a scenario
    /// has a stable, distinct MAC: `02:00:a:b:c:d` for IPv4, `02:` + the last 5 bytes for IPv6.
    pub fn derived_from(ip: IpAddr) -> Mac {
        match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                Mac([0x02, 0x00, a, b, c, d])
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                let mut m = [0x02, 0, 0, 0, 0, 0];
                if let (Some(dst), Some(src)) = (m.get_mut(1..6), o.get(11..16)) {
                    dst.copy_from_slice(src);
                }
                Mac(m)
            }
        }
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// One VLAN tag (TPID + TCI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// Tag protocol identifier: 0x8100 (802.1Q) or 0x88a8 (802.1ad).
    pub tpid: u16,
    /// Priority code point (3 bits).
    pub priority: u8,
    /// Drop eligible indicator.
    pub drop_eligible: bool,
    /// VLAN id (12 bits).
    pub vid: u16,
}

impl VlanTag {
    /// An 802.1Q (C-tag) with VLAN id `vid`.
    pub fn dot1q(vid: u16) -> Self {
        VlanTag {
            tpid: ethertype::DOT1Q,
            priority: 0,
            drop_eligible: false,
            vid,
        }
    }

    /// An 802.1ad (S-tag, the outer tag of QinQ) with VLAN id `vid`.
    pub fn dot1ad(vid: u16) -> Self {
        VlanTag {
            tpid: ethertype::DOT1AD,
            priority: 0,
            drop_eligible: false,
            vid,
        }
    }

    fn tci(self) -> u16 {
        (u16::from(self.priority & 7) << 13)
            | (u16::from(self.drop_eligible) << 12)
            | (self.vid & 0x0fff)
    }
}

/// A network-layer packet and the EtherType that names its protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPacket {
    /// EtherType of `bytes` (see [`ethertype`]).
    pub ethertype: u16,
    /// The packet, starting with its network header.
    pub bytes: Vec<u8>,
}

/// What a link header needs besides the packet: addresses, tags and direction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkMeta {
    /// Source MAC (Ethernet source; SLL/SLL2 link-layer address).
    pub src_mac: Mac,
    /// Destination MAC (Ethernet only).
    pub dst_mac: Mac,
    /// VLAN tags, outermost first (Ethernet only; ignored by other link types).
    pub vlan_tags: Vec<VlanTag>,
    /// Sent by the capturing host (SLL packet type 4 "outgoing") rather than received by it
    /// (type 0 "to us").
    pub outgoing: bool,
}

/// How a BSD loopback (`LINKTYPE_NULL`) header is written: the 4-byte address family is in the
/// capturing host's byte order, and AF_INET6 differs between BSDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NullFormat {
    /// Byte order of the family value.
    pub endian: Endian,
    /// AF_INET6 value: 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS).
    pub inet6_family: u32,
}

impl Default for NullFormat {
    /// Little-endian with macOS's AF_INET6 (30): what a loopback capture on a Mac looks like.
    fn default() -> Self {
        NullFormat {
            endian: Endian::Little,
            inet6_family: 30,
        }
    }
}

/// SLL/SLL2 ARPHRD_ETHER.
const ARPHRD_ETHER: u16 = 1;
/// Interface index written in SLL2 headers.
const SLL2_IFINDEX: u32 = 2;

/// Wraps `packet` in the link header of `link`.
pub fn encapsulate(
    link: LinkType,
    null: NullFormat,
    meta: &LinkMeta,
    packet: &NetPacket,
) -> Result<Vec<u8>> {
    let what = match packet.ethertype {
        ethertype::IPV4 => "IPv4",
        ethertype::IPV6 => "IPv6",
        ethertype::ARP => "ARP",
        _ => "this EtherType",
    };
    let cannot = || FixtureError::LinkCannotCarry { link, what };
    let mut out = Vec::with_capacity(packet.bytes.len().saturating_add(32));
    match link {
        LinkType::Ethernet => {
            out.extend_from_slice(&meta.dst_mac.0);
            out.extend_from_slice(&meta.src_mac.0);
            for tag in &meta.vlan_tags {
                out.extend_from_slice(&tag.tpid.to_be_bytes());
                out.extend_from_slice(&tag.tci().to_be_bytes());
            }
            out.extend_from_slice(&packet.ethertype.to_be_bytes());
        }
        LinkType::LinuxSll => {
            let packet_type: u16 = if meta.outgoing { 4 } else { 0 };
            out.extend_from_slice(&packet_type.to_be_bytes());
            out.extend_from_slice(&ARPHRD_ETHER.to_be_bytes());
            out.extend_from_slice(&6u16.to_be_bytes());
            out.extend_from_slice(&meta.src_mac.0);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&packet.ethertype.to_be_bytes());
        }
        LinkType::LinuxSll2 => {
            out.extend_from_slice(&packet.ethertype.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&SLL2_IFINDEX.to_be_bytes());
            out.extend_from_slice(&ARPHRD_ETHER.to_be_bytes());
            out.push(if meta.outgoing { 4 } else { 0 });
            out.push(6);
            out.extend_from_slice(&meta.src_mac.0);
            out.extend_from_slice(&[0, 0]);
        }
        LinkType::Null => {
            let family = match packet.ethertype {
                ethertype::IPV4 => 2,
                ethertype::IPV6 => null.inet6_family,
                _ => return Err(cannot()),
            };
            null.endian.put_u32(&mut out, family);
        }
        LinkType::Raw | LinkType::RawLegacy12 | LinkType::RawLegacy14 => {
            if !matches!(packet.ethertype, ethertype::IPV4 | ethertype::IPV6) {
                return Err(cannot());
            }
        }
        LinkType::Ipv4 => {
            if packet.ethertype != ethertype::IPV4 {
                return Err(cannot());
            }
        }
        LinkType::Ipv6 => {
            if packet.ethertype != ethertype::IPV6 {
                return Err(cannot());
            }
        }
    }
    out.extend_from_slice(&packet.bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> LinkMeta {
        LinkMeta {
            src_mac: Mac([2, 0, 0, 0, 0, 1]),
            dst_mac: Mac([2, 0, 0, 0, 0, 2]),
            vlan_tags: vec![
                VlanTag::dot1ad(100),
                VlanTag {
                    priority: 5,
                    ..VlanTag::dot1q(42)
                },
            ],
            outgoing: true,
        }
    }

    fn ipv4() -> NetPacket {
        NetPacket {
            ethertype: ethertype::IPV4,
            bytes: vec![0x45, 0xaa],
        }
    }

    #[test]
    fn qinq_ethernet() {
        let f = encapsulate(LinkType::Ethernet, NullFormat::default(), &meta(), &ipv4()).unwrap();
        assert_eq!(
            &f[12..22],
            &[0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0xa0, 42, 0x08, 0x00]
        );
        assert_eq!(&f[22..], &[0x45, 0xaa]);
    }

    #[test]
    fn sll_v1_and_v2_headers() {
        let f = encapsulate(LinkType::LinuxSll, NullFormat::default(), &meta(), &ipv4()).unwrap();
        assert_eq!(&f[..16], &[0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 8, 0]);
        let f = encapsulate(LinkType::LinuxSll2, NullFormat::default(), &meta(), &ipv4()).unwrap();
        assert_eq!(
            &f[..20],
            &[8, 0, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn null_family_in_host_order() {
        let v6 = NetPacket {
            ethertype: ethertype::IPV6,
            bytes: vec![0x60],
        };
        let f = encapsulate(LinkType::Null, NullFormat::default(), &meta(), &v6).unwrap();
        assert_eq!(&f[..4], &[30, 0, 0, 0]);
        let be = NullFormat {
            endian: Endian::Big,
            inet6_family: 24,
        };
        assert_eq!(
            &encapsulate(LinkType::Null, be, &meta(), &ipv4()).unwrap()[..4],
            &[0, 0, 0, 2]
        );
    }

    #[test]
    fn raw_links_refuse_what_they_cannot_carry() {
        let arp = NetPacket {
            ethertype: ethertype::ARP,
            bytes: vec![0; 28],
        };
        let v6 = NetPacket {
            ethertype: ethertype::IPV6,
            bytes: vec![0x60],
        };
        assert!(encapsulate(LinkType::Raw, NullFormat::default(), &meta(), &arp).is_err());
        assert!(encapsulate(LinkType::Ipv4, NullFormat::default(), &meta(), &v6).is_err());
        assert!(encapsulate(LinkType::Ipv6, NullFormat::default(), &meta(), &ipv4()).is_err());
        assert!(encapsulate(LinkType::Null, NullFormat::default(), &meta(), &arp).is_err());
        assert_eq!(
            encapsulate(LinkType::RawLegacy14, NullFormat::default(), &meta(), &v6).unwrap(),
            vec![0x60]
        );
    }

    #[test]
    fn derived_macs_are_distinct_and_local() {
        let a = Mac::derived_from("10.1.1.5".parse().unwrap());
        let b = Mac::derived_from("2001:db8::5".parse().unwrap());
        assert_eq!(a.to_string(), "02:00:0a:01:01:05");
        assert_eq!(b.0, [2, 0, 0, 0, 0, 5]);
    }
}
