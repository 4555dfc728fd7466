//! What a frame wiretale does not analyse is, in the words of tshark's Protocol and Info
//! columns: ARP requests and replies, ICMP and ICMPv6 messages, DNS, LLMNR and multicast DNS
//! queries and responses, NetBIOS name queries, other UDP datagrams by their ports. Only a frame listing asks (`wiretale
//! frames`), so that an analyst reading it next to Wireshark recognises every line; the
//! analysis never calls it. Pure functions of the frame's bytes: anything short or odd falls
//! back to less detail, never to an error.
//!
//! ```
//! use wiretale::capture::LinkType;
//! use wiretale::net::describe_other;
//!
//! // An Ethernet broadcast ARP request: who has 10.1.1.1? tell 10.1.1.20.
//! let mut frame = vec![0xff; 6];
//! frame.extend_from_slice(&[2, 0, 10, 1, 1, 20, 0x08, 0x06]);
//! frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 10, 1, 1, 20, 10, 1, 1, 20]);
//! frame.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 1, 1, 1]);
//! let text = describe_other(LinkType(1), &frame).unwrap();
//! assert_eq!(text.protocol, "ARP");
//! assert_eq!(text.info, "Who has 10.1.1.1? Tell 10.1.1.20");
//! assert_eq!((text.src.as_str(), text.dst.as_str()), ("02:00:0a:01:01:14", "Broadcast"));
//! ```

use super::link::{be16, network_layer, Network};
use crate::capture::LinkType;
use etherparse::{IpNumber, LaxIpSlice};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A frame described for a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherFrameText {
    /// The Protocol column (`ARP`, `DNS`, `ICMP`, `UDP`, ...).
    pub protocol: &'static str,
    /// Source: an IP address, or a MAC address for ARP (empty when unknown).
    pub src: String,
    /// Destination, likewise (`Broadcast` for the Ethernet broadcast address, as tshark).
    pub dst: String,
    /// The Info column.
    pub info: String,
    /// Source and destination ports of a UDP datagram (for `udp.port` in display filters).
    pub udp_ports: Option<(u16, u16)>,
}

/// Names at most this many DNS questions and answers, as tshark lists them.
const MAX_DNS_RECORDS: usize = 16;

/// Describes a frame that is not TCP, or `None` when there is nothing to say beyond why it
/// was not analysed (an unknown link type, a protocol not described here).
pub fn describe_other(link_type: LinkType, frame: &[u8]) -> Option<OtherFrameText> {
    match network_layer(link_type, frame).ok()? {
        Network::Other {
            ethertype: 0x0806,
            payload,
        } => arp(link_type, frame, payload),
        Network::Other { .. } => None,
        Network::Ip(ip) => ip_packet(ip),
    }
}

fn arp(link_type: LinkType, frame: &[u8], arp: &[u8]) -> Option<OtherFrameText> {
    // Ethernet / IPv4 only: hardware type 1, protocol 0x0800, lengths 6 and 4.
    let [0, 1, 0x08, 0x00, 6, 4, 0, op, rest @ ..] = arp else {
        return None;
    };
    let sender_mac = rest.get(0..6)?;
    let sender_ip = ipv4(rest.get(6..10)?)?;
    let target_ip = ipv4(rest.get(16..20)?)?;
    let info = match op {
        1 if sender_ip == target_ip => format!("ARP Announcement for {sender_ip}"),
        1 if sender_ip == IpAddr::V4(Ipv4Addr::UNSPECIFIED) => {
            format!("Who has {target_ip}? (ARP Probe)")
        }
        1 => format!("Who has {target_ip}? Tell {sender_ip}"),
        2 => format!("{sender_ip} is at {}", mac(sender_mac)),
        _ => return None,
    };
    // The link layer's addresses, as tshark shows them for ARP (Ethernet only).
    let (src, dst) = match (link_type.0, frame.get(0..6), frame.get(6..12)) {
        (1, Some(dst), Some(src)) => (mac(src), ethernet_destination(dst)),
        _ => (mac(sender_mac), String::new()),
    };
    Some(OtherFrameText {
        protocol: "ARP",
        src,
        dst,
        info,
        udp_ports: None,
    })
}

fn ip_packet(ip: &[u8]) -> Option<OtherFrameText> {
    let (slice, _) = LaxIpSlice::from_slice(ip).ok()?;
    let (src, dst) = (slice.source_addr(), slice.destination_addr());
    let payload = slice.payload();
    let hop_limit = match &slice {
        LaxIpSlice::Ipv4(v4) => v4.header().ttl(),
        LaxIpSlice::Ipv6(v6) => v6.header().hop_limit(),
    };
    // A fragment after the first carries no transport header.
    if payload.fragmented
        && !matches!(&slice, LaxIpSlice::Ipv4(v4) if v4.header().fragments_offset().value() == 0)
    {
        return None;
    }
    let body = payload.payload;
    let (protocol, info, udp_ports) = match payload.ip_number {
        IpNumber::UDP => udp(body)?,
        IpNumber::ICMP => ("ICMP", icmpv4(body, hop_limit)?, None),
        IpNumber::IPV6_ICMP => ("ICMPv6", icmpv6(body, hop_limit)?, None),
        _ => return None,
    };
    Some(OtherFrameText {
        protocol,
        src: src.to_string(),
        dst: dst.to_string(),
        info,
        udp_ports,
    })
}

/// A frame's Protocol and Info columns, and its UDP ports when it is UDP.
type Columns = (&'static str, String, Option<(u16, u16)>);

/// The columns of a UDP datagram.
fn udp(datagram: &[u8]) -> Option<Columns> {
    let src_port = be16(datagram, 0)?;
    let dst_port = be16(datagram, 2)?;
    let length = be16(datagram, 4)?;
    let body = datagram.get(8..).unwrap_or_default();
    let ports = Some((src_port, dst_port));
    let dns_like = |port| match port {
        53 => Some("DNS"),
        5355 => Some("LLMNR"),
        5353 => Some("MDNS"),
        _ => None,
    };
    if let Some(protocol) = dns_like(src_port).or(dns_like(dst_port)) {
        if let Some(info) = dns(body, protocol == "MDNS") {
            return Some((protocol, info, ports));
        }
    }
    if src_port == 137 || dst_port == 137 {
        if let Some(info) = nbns(body) {
            return Some(("NBNS", info, ports));
        }
    }
    let len = length.saturating_sub(8);
    Some(("UDP", format!("{src_port} → {dst_port} Len={len}"), ports))
}

/// NetBIOS name service (the WPAD and proxy lookups of Windows clients): `Name query NB
/// WPAD<00>`, `Name query response NB 192.168.75.1`, `Registration NB WORKGROUP<1e>`.
fn nbns(message: &[u8]) -> Option<String> {
    let flags = be16(message, 2)?;
    let response = flags & 0x8000 != 0;
    let operation = match (flags >> 11) & 0xf {
        0 => "Name query",
        5 => "Registration",
        6 => "Release",
        7 => "WACK",
        8 | 9 => "Refresh",
        _ => return None,
    };
    let questions = be16(message, 4)?;
    let answers = be16(message, 6)?;
    // The name: a length byte of 32, then 16 bytes each written as two letters 'A'..='P'.
    let encoded = message.get(12..46)?;
    let [32, letters @ .., 0] = encoded else {
        return None;
    };
    let mut decoded = [0u8; 16];
    for (byte, pair) in decoded.iter_mut().zip(letters.chunks_exact(2)) {
        let [high, low] = pair else { return None };
        let nibble = |c: u8| c.checked_sub(b'A').filter(|n| *n < 16);
        *byte = (nibble(*high)? << 4) | nibble(*low)?;
    }
    let (chars, suffix) = decoded.split_at(15);
    let padded = chars.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    let mut name = String::new();
    for &c in &chars[..padded] {
        if c.is_ascii_graphic() {
            name.push(char::from(c));
        } else {
            let _ = write!(name, "<{c:02x}>");
        }
    }
    let _ = write!(name, "<{:02x}>", suffix[0]);
    if !response {
        return (questions > 0).then(|| format!("{operation} NB {name}"));
    }
    if answers == 0 {
        return Some(format!("{operation} response NB {name}"));
    }
    // The answer: the name again (or a pointer), type, class, TTL, length, flags, address.
    let rdata = match message.get(12) {
        Some(32) => 12 + 34 + 10,
        _ => 12 + 2 + 10,
    };
    match (operation, message.get(rdata + 2..rdata + 6).and_then(ipv4)) {
        ("Name query", Some(address)) => Some(format!("Name query response NB {address}")),
        _ => Some(format!("{operation} response NB {name}")),
    }
}

fn icmpv4(message: &[u8], ttl: u8) -> Option<String> {
    let [kind, code, ..] = message else {
        return None;
    };
    let echo = |name: &str| -> Option<String> {
        let id = be16(message, 4)?;
        let seq = be16(message, 6)?;
        Some(format!(
            "{name}id=0x{id:04x}, seq={seq}/{}, ttl={ttl}",
            seq.swap_bytes()
        ))
    };
    Some(match kind {
        0 => echo("Echo (ping) reply    ")?,
        8 => echo("Echo (ping) request  ")?,
        3 => format!("Destination unreachable ({})", unreachable(*code)),
        11 => match code {
            0 => "Time-to-live exceeded (Time to live exceeded in transit)".to_string(),
            1 => "Time-to-live exceeded (Fragment reassembly time exceeded)".to_string(),
            _ => "Time-to-live exceeded".to_string(),
        },
        5 => "Redirect".to_string(),
        12 => "Parameter problem".to_string(),
        13 => "Timestamp request".to_string(),
        14 => "Timestamp reply".to_string(),
        _ => format!("Type {kind}, code {code}"),
    })
}

fn unreachable(code: u8) -> String {
    match code {
        0 => "Network unreachable".to_string(),
        1 => "Host unreachable".to_string(),
        2 => "Protocol unreachable".to_string(),
        3 => "Port unreachable".to_string(),
        4 => "Fragmentation needed".to_string(),
        5 => "Source route failed".to_string(),
        9 => "Network administratively prohibited".to_string(),
        10 => "Host administratively prohibited".to_string(),
        13 => "Communication administratively filtered".to_string(),
        other => format!("code {other}"),
    }
}

fn icmpv6(message: &[u8], hop_limit: u8) -> Option<String> {
    let [kind, _code, ..] = message else {
        return None;
    };
    let target = || -> Option<Ipv6Addr> {
        let bytes: [u8; 16] = message.get(8..24)?.try_into().ok()?;
        Some(Ipv6Addr::from(bytes))
    };
    // The link-layer address option (source: 1, target: 2) after the target address.
    let link_address = |wanted: u8| -> Option<String> {
        let mut options = message.get(24..)?;
        while let [kind, len, ..] = options {
            let size = usize::from(*len) * 8;
            if size == 0 {
                return None;
            }
            if *kind == wanted {
                return options.get(2..8).map(mac);
            }
            options = options.get(size..)?;
        }
        None
    };
    Some(match kind {
        128 | 129 => {
            let id = be16(message, 4)?;
            let seq = be16(message, 6)?;
            let name = if *kind == 128 {
                "Echo (ping) request"
            } else {
                "Echo (ping) reply"
            };
            format!("{name} id=0x{id:04x}, seq={seq}, hop limit={hop_limit}")
        }
        133 => "Router Solicitation".to_string(),
        134 => "Router Advertisement".to_string(),
        135 => {
            let mut text = format!("Neighbor Solicitation for {}", target()?);
            if let Some(from) = link_address(1) {
                let _ = write!(text, " from {from}");
            }
            text
        }
        136 => {
            let flags = message.get(4).copied().unwrap_or(0);
            let names: Vec<&str> = [(0x80, "rtr"), (0x40, "sol"), (0x20, "ovr")]
                .into_iter()
                .filter(|(bit, _)| flags & bit != 0)
                .map(|(_, name)| name)
                .collect();
            let mut text = format!("Neighbor Advertisement {}", target()?);
            if !names.is_empty() {
                let _ = write!(text, " ({})", names.join(", "));
            }
            if let Some(at) = link_address(2) {
                let _ = write!(text, " is at {at}");
            }
            text
        }
        1 => "Destination Unreachable".to_string(),
        3 => "Time Exceeded".to_string(),
        143 => "Multicast Listener Report Message v2".to_string(),
        _ => format!("Type {kind}"),
    })
}

/// `Standard query 0x3a00 A intranet.example.com`, `Standard query response 0x3a00 A
/// intranet.example.com A 192.0.2.14`, with `No such name` (and the like) after the id of a
/// response that failed; the records of every section follow, as tshark lists them (`OPT`
/// for EDNS, `SOA` with the primary server of a negative answer). Multicast DNS questions
/// say whether they ask for a multicast (`"QM"`) or unicast (`"QU"`) answer.
fn dns(message: &[u8], multicast: bool) -> Option<String> {
    let id = be16(message, 0)?;
    let flags = be16(message, 2)?;
    let questions = usize::from(be16(message, 4)?);
    let records = [6, 8, 10]
        .into_iter()
        .map(|at| be16(message, at).map(usize::from))
        .sum::<Option<usize>>()?;
    let response = flags & 0x8000 != 0;
    if (flags >> 11) & 0xf != 0 {
        return None; // Not a standard query (update, notify, ...): left to the UDP line.
    }
    let mut info = String::from(if response {
        "Standard query response"
    } else {
        "Standard query"
    });
    let _ = write!(info, " 0x{id:04x}");
    if response {
        if let Some(error) = rcode_name(flags & 0xf) {
            let _ = write!(info, " {error}");
        }
    }
    let mut at = 12;
    for _ in 0..questions.min(MAX_DNS_RECORDS) {
        let (name, next) = dns_name(message, at)?;
        let kind = be16(message, next)?;
        let _ = write!(info, " {} {name}", rr_type_name(kind));
        if multicast && !response {
            let unicast = be16(message, next + 2)? & 0x8000 != 0;
            info.push_str(if unicast {
                ", \"QU\" question"
            } else {
                ", \"QM\" question"
            });
        }
        at = next.checked_add(4)?;
    }
    if questions > MAX_DNS_RECORDS {
        return Some(info);
    }
    for _ in 0..records.min(MAX_DNS_RECORDS) {
        let Some((_, next)) = dns_name(message, at) else {
            break;
        };
        let (Some(kind), Some(len)) = (be16(message, next), be16(message, next + 8)) else {
            break;
        };
        let data_at = next + 10;
        let Some(data) = message.get(data_at..data_at + usize::from(len)) else {
            break;
        };
        let _ = write!(info, " {}", rr_type_name(kind));
        match kind {
            1 => {
                if let Some(a) = ipv4(data) {
                    let _ = write!(info, " {a}");
                }
            }
            28 => {
                if let Ok(bytes) = <[u8; 16]>::try_from(data) {
                    let _ = write!(info, " {}", Ipv6Addr::from(bytes));
                }
            }
            2 | 5 | 6 | 12 => {
                // NS, CNAME, PTR: the name; SOA: its primary server, the first name.
                if let Some((name, _)) = dns_name(message, data_at) {
                    let _ = write!(info, " {name}");
                }
            }
            15 => {
                if let (Some(preference), Some((name, _))) =
                    (be16(message, data_at), dns_name(message, data_at + 2))
                {
                    let _ = write!(info, " {preference} {name}");
                }
            }
            33 => {
                let numbers = (
                    be16(message, data_at),
                    be16(message, data_at + 2),
                    be16(message, data_at + 4),
                );
                if let ((Some(p), Some(w), Some(port)), Some((name, _))) =
                    (numbers, dns_name(message, data_at + 6))
                {
                    let _ = write!(info, " {p} {w} {port} {name}");
                }
            }
            _ => {}
        }
        at = data_at + usize::from(len);
    }
    Some(info)
}

/// A domain name at `at` (following compression pointers, a bounded number of them) and
/// where the bytes after it start.
fn dns_name(message: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut after = None;
    // Pointers must point backwards (RFC 1035: to earlier names); a chain of them that
    // loops anyway is cut by this bound on labels and jumps together.
    for _ in 0..256 {
        let len = *message.get(at)?;
        match len {
            0 => {
                if name.is_empty() {
                    name.push_str("<Root>");
                }
                return Some((name, after.unwrap_or(at + 1)));
            }
            l if l & 0xc0 == 0xc0 => {
                let target = usize::from(be16(message, at)? & 0x3fff);
                if target >= at {
                    return None;
                }
                after.get_or_insert(at + 2);
                at = target;
            }
            l if l & 0xc0 == 0 => {
                let label = message.get(at + 1..at + 1 + usize::from(l))?;
                if !name.is_empty() {
                    name.push('.');
                }
                name.extend(label.iter().map(|&b| {
                    if b.is_ascii_graphic() {
                        char::from(b)
                    } else {
                        '?'
                    }
                }));
                if name.len() > 255 {
                    return None;
                }
                at += 1 + usize::from(l);
            }
            _ => return None,
        }
    }
    None
}

fn rr_type_name(kind: u16) -> String {
    let name = match kind {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        255 => "ANY",
        other => return format!("Unknown ({other})"),
    };
    name.to_string()
}

fn rcode_name(rcode: u16) -> Option<&'static str> {
    Some(match rcode {
        0 => return None,
        1 => "Format error",
        2 => "Server failure",
        3 => "No such name",
        4 => "Not implemented",
        5 => "Refused",
        _ => "Error",
    })
}

fn ipv4(bytes: &[u8]) -> Option<IpAddr> {
    let octets: [u8; 4] = bytes.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(octets)))
}

fn mac(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(17);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        let _ = write!(text, "{b:02x}");
    }
    text
}

fn ethernet_destination(bytes: &[u8]) -> String {
    if bytes.iter().all(|&b| b == 0xff) {
        "Broadcast".to_string()
    } else {
        mac(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(src_port: u16, dst_port: u16, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(8 + body.len()).unwrap();
        let mut p = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = 20 + len;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&src_port.to_be_bytes());
        p.extend_from_slice(&dst_port.to_be_bytes());
        p.extend_from_slice(&len.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(body);
        p
    }

    fn raw(packet: &[u8]) -> Option<OtherFrameText> {
        describe_other(LinkType(101), packet)
    }

    #[test]
    fn dns_query_and_response_as_tshark_writes_them() {
        let mut query = vec![0x3a, 0x00, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        query.extend_from_slice(b"\x08intranet\x07example\x03com\x00\x00\x01\x00\x01");
        let text = raw(&ipv4_udp(52000, 53, &query)).unwrap();
        assert_eq!(text.protocol, "DNS");
        assert_eq!(text.info, "Standard query 0x3a00 A intranet.example.com");
        assert_eq!(text.udp_ports, Some((52000, 53)));
        assert_eq!(
            (text.src.as_str(), text.dst.as_str()),
            ("10.0.0.1", "10.0.0.2")
        );

        let mut response = query.clone();
        response[2] = 0x81;
        response[3] = 0x80;
        response[7] = 2;
        // A CNAME to a name pointing into the question, then an A record.
        response.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6]);
        response.extend_from_slice(b"\x03www\xc0\x15");
        response.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 14]);
        let text = raw(&ipv4_udp(53, 52000, &response)).unwrap();
        assert_eq!(
            text.info,
            "Standard query response 0x3a00 A intranet.example.com CNAME www.example.com A 192.0.2.14"
        );

        response[3] = 0x83;
        response[7] = 0;
        response.truncate(query.len());
        let text = raw(&ipv4_udp(53, 52000, &response)).unwrap();
        assert_eq!(
            text.info,
            "Standard query response 0x3a00 No such name A intranet.example.com"
        );
    }

    #[test]
    fn hostile_dns_names_end_without_looping_or_panicking() {
        // A pointer to itself, a pointer forwards, a label running off the end.
        for name in [&[0xc0u8, 12][..], &[0xc0, 40], &[0x3f, b'a']] {
            let mut query = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            query.extend_from_slice(name);
            let text = raw(&ipv4_udp(1000, 53, &query)).unwrap();
            assert_eq!(text.protocol, "UDP");
        }
        // Every short prefix of a real query.
        let mut query = vec![0x3a, 0x00, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        query.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        for n in 0..query.len() {
            let _ = raw(&ipv4_udp(1000, 53, &query[..n]));
        }
    }

    #[test]
    fn netbios_name_queries_name_the_name() {
        let mut query = vec![0x80, 0x01, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 32];
        for c in b"WPAD           \x00" {
            query.extend_from_slice(&[b'A' + (c >> 4), b'A' + (c & 0xf)]);
        }
        query.extend_from_slice(&[0, 0, 0x20, 0, 1]);
        let text = raw(&ipv4_udp(137, 137, &query)).unwrap();
        assert_eq!(
            (text.protocol, text.info.as_str()),
            ("NBNS", "Name query NB WPAD<00>")
        );
        for n in 0..query.len() {
            let _ = raw(&ipv4_udp(137, 137, &query[..n]));
        }
    }

    #[test]
    fn other_udp_is_told_by_ports() {
        let text = raw(&ipv4_udp(1900, 56421, &[0; 50])).unwrap();
        assert_eq!(
            (text.protocol, text.info.as_str()),
            ("UDP", "1900 → 56421 Len=50")
        );
    }

    #[test]
    fn icmp_echo_and_unreachable() {
        let mut p = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]);
        assert_eq!(
            raw(&p).unwrap().info,
            "Echo (ping) request  id=0x0001, seq=1/256, ttl=64"
        );
        p[20] = 3;
        p[21] = 3;
        assert_eq!(
            raw(&p).unwrap().info,
            "Destination unreachable (Port unreachable)"
        );
    }

    #[test]
    fn arp_reply_and_announcement() {
        let mut frame = vec![2, 0, 10, 1, 1, 20, 2, 0, 10, 1, 1, 1, 0x08, 0x06];
        frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 10, 1, 1, 1, 10, 1, 1, 1]);
        frame.extend_from_slice(&[2, 0, 10, 1, 1, 20, 10, 1, 1, 20]);
        let text = describe_other(LinkType(1), &frame).unwrap();
        assert_eq!(text.info, "10.1.1.1 is at 02:00:0a:01:01:01");
        assert_eq!(text.dst, "02:00:0a:01:01:14");
        frame[21] = 1;
        frame[38..42].copy_from_slice(&[10, 1, 1, 1]);
        let text = describe_other(LinkType(1), &frame).unwrap();
        assert_eq!(text.info, "ARP Announcement for 10.1.1.1");
        // Cut anywhere: less said, never a panic.
        for n in 0..frame.len() {
            let _ = describe_other(LinkType(1), &frame[..n]);
        }
    }
}
