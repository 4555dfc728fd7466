//! Unrelated background traffic (DNS, ARP, ICMP) to put between the frames a scenario is about,
//! so frame numbers can be steered and the interesting frames are not the only ones.

use std::net::{IpAddr, Ipv4Addr};

use crate::capture::Capture;
use crate::error::Result;
use crate::link::{ethertype, LinkMeta, Mac, NetPacket};
use crate::linktype::LinkType;
use crate::wire::arp::{self, ArpOp};
use crate::wire::ipv4::Ipv4Header;
use crate::wire::{dns, icmp, ip_proto, udp, PseudoHeader};

/// Names the filler's DNS queries ask for (documentation domains only).
const DEFAULT_NAMES: [&str; 6] = [
    "intranet.example.com",
    "mail.example.com",
    "time.example.net",
    "updates.example.org",
    "files.example.com",
    "news.example.net",
];

/// Windows `ping`'s 32-byte payload.
const PING_DATA: &[u8; 32] = b"abcdefghijklmnopqrstuvwabcdefghi";

/// A generator of background frames. Each [`Filler::push_one`] pushes exactly one frame, in a
/// fixed cycle: DNS query, DNS response, ARP request, ARP reply, ICMP echo request, ICMP echo
/// reply (ARP is skipped on link types that cannot carry it). Deterministic: the n-th frame of
/// a filler is always the same.
#[derive(Debug, Clone)]
pub struct Filler {
    host: Ipv4Addr,
    dns_server: Ipv4Addr,
    gateway: Ipv4Addr,
    interface: u32,
    names: Vec<String>,
    counter: u32,
}

impl Filler {
    /// Background traffic of `host` (which queries `dns_server` and pings `gateway`), with ARP
    /// between other hosts of the host's /24 and the gateway.
    pub fn new(host: Ipv4Addr, dns_server: Ipv4Addr, gateway: Ipv4Addr) -> Self {
        Filler {
            host,
            dns_server,
            gateway,
            interface: 0,
            names: DEFAULT_NAMES.iter().map(|s| (*s).to_owned()).collect(),
            counter: 0,
        }
    }

    /// Pushes onto capture interface `interface`.
    pub fn interface(mut self, interface: u32) -> Self {
        self.interface = interface;
        self
    }

    /// The names DNS queries cycle through.
    pub fn names(mut self, names: &[&str]) -> Self {
        if !names.is_empty() {
            self.names = names.iter().map(|s| (*s).to_owned()).collect();
        }
        self
    }

    fn meta(src: Ipv4Addr, dst: Mac, outgoing: bool) -> LinkMeta {
        LinkMeta {
            src_mac: Mac::derived_from(IpAddr::V4(src)),
            dst_mac: dst,
            vlan_tags: Vec::new(),
            outgoing,
        }
    }

    fn udp_packet(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        id: u16,
        payload: &[u8],
    ) -> Result<NetPacket> {
        let pseudo = PseudoHeader {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(dst),
            protocol: ip_proto::UDP,
        };
        let mut h = Ipv4Header::new(src, dst, ip_proto::UDP);
        h.id = id;
        h.dont_fragment = false;
        Ok(NetPacket {
            ethertype: ethertype::IPV4,
            bytes: h.encode(&udp::datagram(sport, dport, &pseudo, payload)?)?,
        })
    }

    fn icmp_packet(src: Ipv4Addr, dst: Ipv4Addr, id: u16, payload: &[u8]) -> Result<NetPacket> {
        let mut h = Ipv4Header::new(src, dst, ip_proto::ICMP);
        h.id = id;
        h.dont_fragment = false;
        Ok(NetPacket {
            ethertype: ethertype::IPV4,
            bytes: h.encode(payload)?,
        })
    }

    /// Pushes the next background frame; returns its number (0 on error, kept by the capture).
    pub fn push_one(&mut self, cap: &mut Capture) -> u32 {
        let link = usize::try_from(self.interface)
            .ok()
            .and_then(|i| cap.interfaces().get(i))
            .map(|i| i.link_type);
        let arp_ok = matches!(
            link,
            Some(LinkType::Ethernet | LinkType::LinuxSll | LinkType::LinuxSll2)
        );
        let cycle: &[u8] = if arp_ok {
            &[0, 1, 2, 3, 4, 5]
        } else {
            &[0, 1, 4, 5]
        };
        let len = u32::try_from(cycle.len()).unwrap_or(1).max(1);
        let round = self.counter / len;
        let step = usize::try_from(self.counter % len)
            .ok()
            .and_then(|i| cycle.get(i))
            .copied()
            .unwrap_or(0);
        self.counter = self.counter.wrapping_add(1);
        let name_count = u32::try_from(self.names.len()).unwrap_or(1).max(1);
        let name = usize::try_from(round % name_count)
            .ok()
            .and_then(|i| self.names.get(i))
            .cloned()
            .unwrap_or_default();
        // Round-derived fields keep successive cycles distinct but reproducible.
        let r16 = u16::try_from(round & 0xffff).unwrap_or(0);
        let dns_id = 0x3a00u16.wrapping_add(r16.wrapping_mul(0x0101));
        let sport = 50_000u16.wrapping_add(r16.wrapping_mul(7) % 10_000);
        let ip_id = 0x7000u16.wrapping_add(r16.wrapping_mul(3));
        let [a, b, c, _] = self.host.octets();
        let neighbour = Ipv4Addr::new(
            a,
            b,
            c,
            20u8.wrapping_add(u8::try_from(round % 40).unwrap_or(0)),
        );
        let gw_mac = Mac::derived_from(IpAddr::V4(self.gateway));
        let answer = {
            let h = name
                .bytes()
                .fold(0u8, |h, b| h.wrapping_mul(31).wrapping_add(b));
            Ipv4Addr::new(192, 0, 2, h.max(1))
        };
        let built = match step {
            0 => dns::query_a(dns_id, &name)
                .and_then(|q| Self::udp_packet(self.host, self.dns_server, sport, 53, ip_id, &q))
                .map(|p| {
                    (
                        p,
                        Self::meta(self.host, gw_mac, true),
                        format!("DNS query A {name} ({} -> {})", self.host, self.dns_server),
                    )
                }),
            1 => dns::response_a(dns_id, &name, &[answer], 300)
                .and_then(|r| {
                    Self::udp_packet(
                        self.dns_server,
                        self.host,
                        53,
                        sport,
                        ip_id.wrapping_add(1),
                        &r,
                    )
                })
                .map(|p| {
                    (
                        p,
                        Self::meta(
                            self.gateway,
                            Mac::derived_from(IpAddr::V4(self.host)),
                            false,
                        ),
                        format!("DNS response {name} A {answer}"),
                    )
                }),
            2 => Ok((
                NetPacket {
                    ethertype: ethertype::ARP,
                    bytes: arp::packet(
                        ArpOp::Request,
                        Mac::derived_from(IpAddr::V4(neighbour)),
                        neighbour,
                        Mac::ZERO,
                        self.gateway,
                    ),
                },
                Self::meta(neighbour, Mac::BROADCAST, false),
                format!("ARP who-has {} tell {neighbour}", self.gateway),
            )),
            3 => Ok((
                NetPacket {
                    ethertype: ethertype::ARP,
                    bytes: arp::packet(
                        ArpOp::Reply,
                        gw_mac,
                        self.gateway,
                        Mac::derived_from(IpAddr::V4(neighbour)),
                        neighbour,
                    ),
                },
                Self::meta(
                    self.gateway,
                    Mac::derived_from(IpAddr::V4(neighbour)),
                    false,
                ),
                format!("ARP {} is-at {gw_mac}", self.gateway),
            )),
            4 => Self::icmp_packet(
                self.host,
                self.gateway,
                ip_id.wrapping_add(2),
                &icmp::echo(true, 1, r16, PING_DATA),
            )
            .map(|p| {
                (
                    p,
                    Self::meta(self.host, gw_mac, true),
                    format!(
                        "ICMP echo request {} -> {} seq={r16}",
                        self.host, self.gateway
                    ),
                )
            }),
            _ => Self::icmp_packet(
                self.gateway,
                self.host,
                ip_id.wrapping_add(3),
                &icmp::echo(false, 1, r16, PING_DATA),
            )
            .map(|p| {
                (
                    p,
                    Self::meta(
                        self.gateway,
                        Mac::derived_from(IpAddr::V4(self.host)),
                        false,
                    ),
                    format!(
                        "ICMP echo reply {} -> {} seq={r16}",
                        self.gateway, self.host
                    ),
                )
            }),
        };
        match built {
            Ok((packet, meta, summary)) => {
                let n = cap.push(self.interface, &packet, &meta, summary);
                if n != 0 {
                    cap.set_filler(n);
                }
                n
            }
            Err(e) => {
                cap.fail(e);
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn filler() -> Filler {
        Filler::new(
            Ipv4Addr::new(10, 1, 1, 5),
            Ipv4Addr::new(10, 1, 1, 2),
            Ipv4Addr::new(10, 1, 1, 1),
        )
    }

    #[test]
    fn fill_until_lands_exactly_and_spreads_time() {
        let mut cap = Capture::new(LinkType::Ethernet);
        let t0 = cap.now();
        cap.fill_until(11, &mut filler(), Duration::from_secs(10));
        assert_eq!(cap.next_frame_number(), 11);
        assert_eq!(cap.now().saturating_since(t0), Duration::from_secs(10));
        assert_eq!(cap.step(), Duration::from_millis(1), "step restored");
        assert!(cap.frames().iter().all(|f| f.filler));
        cap.fill(4, &mut filler(), Duration::ZERO);
        assert_eq!(cap.next_frame_number(), 15);
        let arp = &cap.frame(3).unwrap().data;
        assert_eq!(&arp[12..14], &[0x08, 0x06]);
        assert!(cap.check().is_ok());
    }

    #[test]
    fn raw_ip_links_skip_arp_and_output_is_reproducible() {
        let mut a = Capture::new(LinkType::Raw);
        let mut b = Capture::new(LinkType::Raw);
        a.fill_until(9, &mut filler(), Duration::ZERO);
        b.fill_until(9, &mut filler(), Duration::ZERO);
        assert_eq!(a.frames(), b.frames());
        assert!(a.frames().iter().all(|f| f.data[0] == 0x45));
        assert!(a.check().is_ok());
    }
}
