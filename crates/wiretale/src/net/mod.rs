//! Network layers: link → IPv4/IPv6 (IPv4 fragments reassembled) → TCP segment views.
//!
//! [`NetDecoder::decode`] turns one capture record into a [`Decoded`] value: a TCP segment
//! (borrowed from the record, or from the fragment table when the frame completed an IPv4
//! datagram), another protocol (for frame listings), or a skip with its reason. It never
//! panics and never allocates per packet except to reassemble fragments.

pub(crate) mod addr_text;
mod defrag;
mod describe;
mod link;
mod tcp_header;

pub use addr_text::SocketAddrText;
pub use defrag::{DefragConfig, Defragmenter, FragmentOutcome};
pub use describe::{describe_other, OtherFrameText};
pub use link::{network_layer, LinkError, Network};
pub use tcp_header::{TcpFlags, TcpHeader, TcpHeaderError, TcpOptions};

use crate::capture::Record;
use etherparse::{IpNumber, LaxIpSlice};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

/// Why a frame was not analysed as TCP. Counted in the analysis statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The interface's link type is not decoded.
    UnsupportedLinkType,
    /// Not an IP packet (ARP, LLDP, ...).
    NonIp,
    /// IP but not TCP (UDP, ICMP, ...).
    NonTcp,
    /// Headers cut short by the snapshot length or a broken record.
    Truncated,
    /// Headers that contradict themselves.
    Malformed,
    /// An IP fragment held until its datagram completes (counted at the completing frame).
    IpFragment,
    /// An IP fragment refused on arrival (it conflicts with its datagram's others, or does
    /// not fit): its datagram is dropped.
    IpFragmentDropped,
    /// An IP fragment held for a datagram that was never reassembled: dropped from the
    /// table (full, too old, or a later fragment conflicted) or still incomplete at the end.
    /// Counted when the analysis ends (while it runs, such frames are `IpFragment`).
    IpFragmentUnassembled,
    /// An IPv6 fragment (not reassembled).
    Ipv6Fragment,
}

impl SkipReason {
    /// A short human phrase for one frame, as it is read.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::UnsupportedLinkType => "unsupported link type",
            SkipReason::NonIp => "not IP",
            SkipReason::NonTcp => "IP but not TCP",
            SkipReason::Truncated => "headers truncated",
            SkipReason::Malformed => "malformed headers",
            SkipReason::IpFragment => "IPv4 fragment (held for reassembly)",
            SkipReason::IpFragmentDropped => "IPv4 fragment dropped (conflict or cap)",
            SkipReason::IpFragmentUnassembled => "IPv4 fragment never reassembled",
            SkipReason::Ipv6Fragment => "IPv6 fragment (not reassembled)",
        }
    }

    /// The phrase for frames counted under this reason in the totals of a finished analysis
    /// ([`crate::pipeline::Stats::skipped`]): [`SkipReason::describe`], except that a held
    /// fragment's datagram is known by then to have been reassembled (the others are
    /// [`SkipReason::IpFragmentUnassembled`]).
    ///
    /// ```
    /// use wiretale::net::SkipReason;
    ///
    /// assert_eq!(SkipReason::IpFragment.describe(), "IPv4 fragment (held for reassembly)");
    /// assert_eq!(
    ///     SkipReason::IpFragment.describe_in_totals(),
    ///     "IPv4 fragment (reassembled at a later frame)"
    /// );
    /// assert_eq!(SkipReason::NonTcp.describe_in_totals(), SkipReason::NonTcp.describe());
    /// ```
    pub fn describe_in_totals(self) -> &'static str {
        match self {
            SkipReason::IpFragment => "IPv4 fragment (reassembled at a later frame)",
            other => other.describe(),
        }
    }
}

/// A TCP segment found in a frame.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// The TCP header.
    pub header: TcpHeader<'a>,
    /// Captured payload bytes (fewer than `payload_len` when the frame was truncated).
    pub payload: &'a [u8],
    /// Payload length on the wire, from the IP header.
    pub payload_len: u32,
}

/// A frame that is not TCP, summarised for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OtherPacket {
    /// Protocol name as Wireshark's Protocol column would show it (roughly).
    pub protocol: &'static str,
    /// Source address, when IP.
    pub src: Option<IpAddr>,
    /// Destination address, when IP.
    pub dst: Option<IpAddr>,
}

/// What one frame turned out to be.
#[derive(Debug, Clone, Copy)]
pub enum Decoded<'a> {
    /// A TCP segment.
    Tcp(Segment<'a>),
    /// Something else, not analysed further.
    Skipped {
        /// Why.
        reason: SkipReason,
        /// What it was, as far as it was decoded.
        packet: Option<OtherPacket>,
        /// Byte offset in the frame where decoding stopped (for damaged frames); always inside
        /// the frame. For a reassembled IPv4 datagram it is where this fragment's data starts.
        offset: usize,
    },
}

/// Decodes frames to TCP segments; holds the IPv4 fragment table.
#[derive(Debug)]
pub struct NetDecoder {
    defrag: Defragmenter,
}

impl Default for NetDecoder {
    fn default() -> Self {
        NetDecoder::new(DefragConfig::default())
    }
}

impl NetDecoder {
    /// A decoder with the given fragment-table limits.
    pub fn new(defrag: DefragConfig) -> Self {
        NetDecoder {
            defrag: Defragmenter::new(defrag),
        }
    }

    /// IPv4 datagrams dropped from the fragment table (cap or age).
    pub fn fragments_evicted(&self) -> u64 {
        self.defrag.evicted
    }

    /// Frames skipped as [`SkipReason::IpFragment`] whose datagram has not been reassembled
    /// (dropped, or still incomplete now): at the end of a capture, those never reassembled.
    pub fn unassembled_fragment_frames(&self) -> u64 {
        self.defrag.unassembled_frames()
    }

    /// Decodes one record.
    pub fn decode<'a>(&'a mut self, record: &Record<'a>) -> Decoded<'a> {
        let frame = record.data;
        let ip = match network_layer(record.link_type, frame) {
            Ok(Network::Ip(ip)) => ip,
            Ok(Network::Other { ethertype, .. }) => {
                return skipped(
                    SkipReason::NonIp,
                    Some(OtherPacket {
                        protocol: ethertype_name(ethertype),
                        src: None,
                        dst: None,
                    }),
                    0,
                )
            }
            Err(LinkError::Unsupported(_)) => {
                return skipped(SkipReason::UnsupportedLinkType, None, 0)
            }
            Err(LinkError::Truncated) => return skipped(SkipReason::Truncated, None, 0),
        };
        let link_len = frame.len() - ip.len();
        if let Some(v4) = PlainIpv4Tcp::parse(ip) {
            let payload = IpPayload {
                src: IpAddr::V4(v4.src),
                dst: IpAddr::V4(v4.dst),
                wire_len: v4.wire_len,
                bytes: v4.payload,
                offset: link_len + (ip.len() - v4.payload.len()),
                reassembled: false,
            };
            return tcp_segment(frame, payload);
        }
        let Ok((slice, _ext_err)) = LaxIpSlice::from_slice(ip) else {
            let reason = if ip.len() < 20 {
                SkipReason::Truncated
            } else {
                SkipReason::Malformed
            };
            return skipped(reason, None, link_len);
        };
        let src_ip = slice.source_addr();
        let dst_ip = slice.destination_addr();
        let payload = slice.payload();
        let proto = payload.ip_number;
        let other = |protocol| OtherPacket {
            protocol,
            src: Some(src_ip),
            dst: Some(dst_ip),
        };
        let transport_offset = link_len + (ip.len() - payload.payload.len().min(ip.len()));

        // On-wire transport length from the IP header (the captured slice may be shorter).
        let mut reassembled = false;
        let (wire_len, transport): (u32, &'a [u8]) = match &slice {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                let wire = u32::from(h.total_len()).saturating_sub(u32::from(h.ihl()) * 4);
                if h.is_fragmenting_payload() {
                    if proto != IpNumber::TCP {
                        return skipped(SkipReason::NonTcp, Some(other(ip_name(proto))), 0);
                    }
                    let outcome = self.defrag.offer(
                        record.frame,
                        h.source_addr(),
                        h.destination_addr(),
                        h.identification(),
                        proto.0,
                        h.fragments_offset().value(),
                        h.more_fragments(),
                        payload.payload,
                    );
                    match outcome {
                        FragmentOutcome::Held => {
                            return skipped(SkipReason::IpFragment, Some(other("IPv4")), 0)
                        }
                        FragmentOutcome::Dropped => {
                            return skipped(SkipReason::IpFragmentDropped, Some(other("IPv4")), 0)
                        }
                        FragmentOutcome::Completed => {
                            reassembled = true;
                            let data = self.defrag.completed();
                            (data.len() as u32, data)
                        }
                    }
                } else {
                    (wire, payload.payload)
                }
            }
            LaxIpSlice::Ipv6(v6) => {
                if v6.is_payload_fragmented() {
                    return skipped(SkipReason::Ipv6Fragment, Some(other("IPv6")), 0);
                }
                let h = v6.header();
                let ext_len = v6.extensions().slice().len() as u32;
                let wire = u32::from(h.payload_length()).saturating_sub(ext_len);
                (wire, payload.payload)
            }
        };
        if proto != IpNumber::TCP {
            return skipped(SkipReason::NonTcp, Some(other(ip_name(proto))), 0);
        }
        let payload = IpPayload {
            src: src_ip,
            dst: dst_ip,
            wire_len,
            bytes: transport,
            offset: transport_offset,
            reassembled,
        };
        tcp_segment(frame, payload)
    }
}

/// The payload of an IP packet, as the TCP layer is given it.
struct IpPayload<'a> {
    src: IpAddr,
    dst: IpAddr,
    /// Its length on the wire, from the IP header (more than its captured bytes when the
    /// frame was cut short).
    wire_len: u32,
    /// Its captured bytes.
    bytes: &'a [u8],
    /// Where it starts in the frame.
    offset: usize,
    /// It is an IPv4 datagram reassembled from fragments, the last of which the frame carried.
    reassembled: bool,
}

/// The TCP segment carried by `ip`, the IP payload of a packet in `frame`. Inlined into both
/// of [`NetDecoder::decode`]'s paths: called, with its arguments passed through memory, it
/// cost a sixth of decoding a packet.
#[inline(always)]
fn tcp_segment<'a>(frame: &[u8], ip: IpPayload<'a>) -> Decoded<'a> {
    let IpPayload {
        src: src_ip,
        dst: dst_ip,
        wire_len,
        bytes: transport,
        offset: transport_offset,
        reassembled,
    } = ip;
    let other = |protocol| OtherPacket {
        protocol,
        src: Some(src_ip),
        dst: Some(dst_ip),
    };
    // Where in this frame a TCP header problem is. A reassembled datagram's header came in
    // its first fragment, not in this (completing) frame: point at this fragment's data.
    let tcp_offset = |within: usize| {
        let at = if reassembled {
            transport_offset
        } else {
            transport_offset.saturating_add(within)
        };
        at.min(frame.len())
    };
    let header = match TcpHeader::parse(transport) {
        Ok(h) => h,
        Err(TcpHeaderError::Truncated) => {
            return skipped(SkipReason::Truncated, Some(other("TCP")), tcp_offset(0))
        }
        Err(TcpHeaderError::BadDataOffset) => {
            return skipped(SkipReason::Malformed, Some(other("TCP")), tcp_offset(12))
        }
    };
    let payload_len = wire_len.saturating_sub(header.header_len() as u32);
    let payload_bytes = header.payload();
    let captured = payload_bytes
        .get(..(payload_len as usize).min(payload_bytes.len()))
        .unwrap_or(payload_bytes);
    let (src, dst) = socket_addrs(src_ip, dst_ip, header.src_port(), header.dst_port());
    Decoded::Tcp(Segment {
        src,
        dst,
        header,
        payload: captured,
        payload_len,
    })
}

/// An IPv4 packet carrying a whole TCP segment (not a fragment) without an authentication
/// header: nearly every packet of a capture. Read here rather than through etherparse's
/// general IP slice, which was more than a third of decoding such a packet.
struct PlainIpv4Tcp<'a> {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    /// The segment's length on the wire, from the header's total length.
    wire_len: u32,
    /// Its captured bytes: exactly the payload `LaxIpSlice` gives (up to the total length,
    /// or to the end of the capture when the total length is shorter than the header or
    /// longer than what was captured).
    payload: &'a [u8],
}

impl<'a> PlainIpv4Tcp<'a> {
    /// `None` for anything else, and for a header that is too short or cut short (which
    /// etherparse reports).
    fn parse(ip: &'a [u8]) -> Option<PlainIpv4Tcp<'a>> {
        // The fixed header; indexing an array of known length cannot fail.
        let h = ip.first_chunk::<20>()?;
        let (version, header_len) = (h[0] >> 4, usize::from(h[0] & 0xf) * 4);
        let more_fragments = h[6] & 0x20 != 0;
        let fragment_offset = u16::from_be_bytes([h[6] & 0x1f, h[7]]);
        if version != 4
            || IpNumber(h[9]) != IpNumber::TCP
            || more_fragments
            || fragment_offset != 0
            || header_len < 20
        {
            return None;
        }
        let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let payload_end = if total_len < header_len || ip.len() < total_len {
            ip.len()
        } else {
            total_len
        };
        Some(PlainIpv4Tcp {
            src: Ipv4Addr::new(h[12], h[13], h[14], h[15]),
            dst: Ipv4Addr::new(h[16], h[17], h[18], h[19]),
            wire_len: total_len.saturating_sub(header_len) as u32,
            payload: ip.get(header_len..payload_end)?,
        })
    }
}

/// The segment's sender and receiver. Out of line, and two IPv4 addresses (most segments)
/// made into IPv4 socket addresses as such: built inside [`NetDecoder::decode`] from
/// addresses of either kind, the sixteen bytes an IPv6 address would have were carried through
/// it and written out one by one for every segment, about a hundred instructions a packet.
#[inline(never)]
fn socket_addrs(
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
) -> (SocketAddr, SocketAddr) {
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => (
            SocketAddr::V4(SocketAddrV4::new(src, src_port)),
            SocketAddr::V4(SocketAddrV4::new(dst, dst_port)),
        ),
        _ => other_socket_addrs(src, dst, src_port, dst_port),
    }
}

/// [`socket_addrs`] of any other pair, apart so that its general form does not spread to the
/// IPv4 one.
#[inline(never)]
fn other_socket_addrs(
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
) -> (SocketAddr, SocketAddr) {
    (
        SocketAddr::new(src, src_port),
        SocketAddr::new(dst, dst_port),
    )
}

fn skipped<'a>(reason: SkipReason, packet: Option<OtherPacket>, offset: usize) -> Decoded<'a> {
    Decoded::Skipped {
        reason,
        packet,
        offset,
    }
}

fn ip_name(proto: IpNumber) -> &'static str {
    match proto.0 {
        1 => "ICMP",
        2 => "IGMP",
        6 => "TCP",
        17 => "UDP",
        47 => "GRE",
        50 => "ESP",
        58 => "ICMPv6",
        132 => "SCTP",
        _ => "IP",
    }
}

fn ethertype_name(ethertype: u16) -> &'static str {
    match ethertype {
        0x0806 => "ARP",
        0x8035 => "RARP",
        0x88CC => "LLDP",
        0x8863 | 0x8864 => "PPPoE",
        0x888E => "EAPOL",
        0x8847 | 0x8848 => "MPLS",
        t if t < 0x0600 => "LLC",
        _ => "Ethernet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `LaxIpSlice` makes of `ip` when it is a plain IPv4 TCP packet: the fields
    /// [`PlainIpv4Tcp`] reads.
    fn by_etherparse(ip: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u32, &[u8])> {
        let Ok((LaxIpSlice::Ipv4(v4), _)) = LaxIpSlice::from_slice(ip) else {
            return None;
        };
        let h = v4.header();
        let plain = v4.payload().ip_number == IpNumber::TCP
            && h.protocol() == IpNumber::TCP
            && !h.is_fragmenting_payload();
        plain.then(|| {
            let wire = u32::from(h.total_len()).saturating_sub(u32::from(h.ihl()) * 4);
            let payload = v4.payload().payload;
            (h.source_addr(), h.destination_addr(), wire, payload)
        })
    }

    proptest! {
        /// The fast IPv4 read agrees with etherparse on every header it takes, and takes
        /// every plain one: headers of any length, total length and fragment fields.
        #[test]
        fn plain_ipv4_tcp_reads_as_etherparse_does(
            ihl in 0u8..16,
            total_len in prop_oneof![0u16..80, any::<u16>()],
            protocol in prop_oneof![Just(6u8), Just(51u8), any::<u8>()],
            fragment in prop_oneof![Just((0u8, 0u8)), (0u8..0x40, any::<u8>())],
            rest in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut ip = vec![0x40 | ihl, 0];
            ip.extend_from_slice(&total_len.to_be_bytes());
            ip.extend_from_slice(&[1, 2, fragment.0, fragment.1, 64, protocol, 0, 0]);
            ip.extend_from_slice(&rest);
            let fast = PlainIpv4Tcp::parse(&ip).map(|v4| (v4.src, v4.dst, v4.wire_len, v4.payload));
            let slow = by_etherparse(&ip);
            prop_assert_eq!(fast, slow);
            if let (Some(fast), Some(slow)) = (fast, slow) {
                prop_assert_eq!(fast.3.as_ptr(), slow.3.as_ptr());
            }
        }
    }
}
