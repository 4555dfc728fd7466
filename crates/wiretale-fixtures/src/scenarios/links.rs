//! Link-type scenarios: QinQ Ethernet, Linux SLL and SLL2, raw IP, BSD loopback.

use super::tcp::exchange;
use super::{v4, v6, Format, Scenario};
use crate::capture::Capture;
use crate::link::VlanTag;
use crate::linktype::LinkType;
use crate::pcap::PcapOptions;
use crate::session::TcpSession;

/// 5a. 802.1ad outer tag + 802.1Q inner tag.
pub(super) fn vlan_qinq() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(v4([10, 20, 0, 10], 51200), v4([10, 20, 0, 80], 80))
        .isns(0x0a0a_0000, 0x0b0b_0000)
        .vlan(vec![
            VlanTag::dot1ad(100),
            VlanTag {
                priority: 3,
                ..VlanTag::dot1q(42)
            },
        ]);
    let x = exchange(&mut cap, &mut s, "qinq.example.com");
    let mut sc = Scenario::new(
        "vlan-qinq.pcap",
        "802.1ad + 802.1Q double tag",
        "A short HTTP exchange whose every Ethernet frame carries two VLAN tags: an outer 802.1ad \
         S-tag (TPID 0x88a8, VID 100) and an inner 802.1Q C-tag (TPID 0x8100, PCP 3, VID 42), \
         then EtherType 0x0800. The IPv4 header starts at byte 22 of each frame.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    sc.fact(x.fact("tcp.stream 0 (10.20.0.10:51200 → 10.20.0.80:80)"));
    sc.fact("Every frame: bytes 12..22 are `88 a8 00 64 81 00 60 2a 08 00`.");
    sc
}

/// 5b. Linux cooked capture v1.
pub(super) fn sll() -> Scenario {
    let mut cap = Capture::new(LinkType::LinuxSll);
    let mut s = TcpSession::new(v4([192, 168, 56, 10], 51300), v4([192, 168, 56, 20], 8000))
        .isns(0x0c0c_0000, 0x0d0d_0000);
    let x = exchange(&mut cap, &mut s, "sll.example.com");
    let mut sc = Scenario::new(
        "sll.pcap",
        "Linux cooked capture (SLL v1)",
        "A short HTTP exchange captured on the client with `-i any`: LINKTYPE_LINUX_SLL, 16-byte \
         pseudo header. Client frames have packet type 4 (outgoing), server frames 0 (to us); \
         ARPHRD 1, the sender's MAC as link-layer address, protocol 0x0800.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    sc.fact(x.fact("tcp.stream 0 (192.168.56.10:51300 → 192.168.56.20:8000)"));
    sc.fact("Frames from the client start `00 04 00 01 00 06`, frames from the server `00 00 00 01 00 06`.");
    sc
}

/// 5c. Linux cooked capture v2.
pub(super) fn sll2() -> Scenario {
    let mut cap = Capture::new(LinkType::LinuxSll2);
    let mut s = TcpSession::new(v4([192, 168, 57, 10], 51400), v4([192, 168, 57, 20], 8000))
        .isns(0x0e0e_0000, 0x0f0f_0000);
    let x = exchange(&mut cap, &mut s, "sll2.example.com");
    let mut sc = Scenario::new(
        "sll2.pcap",
        "Linux cooked capture v2 (SLL2)",
        "The same kind of exchange as `sll.pcap` with LINKTYPE_LINUX_SLL2: 20-byte pseudo header \
         (protocol 0x0800 first, interface index 2, ARPHRD 1, packet type 4 outgoing / 0 to us, \
         address length 6, the sender's MAC).",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    sc.fact(x.fact("tcp.stream 0 (192.168.57.10:51400 → 192.168.57.20:8000)"));
    sc.fact("Every frame starts `08 00 00 00 00 00 00 02 00 01`; byte 10 is 4 for client frames and 0 for server frames.");
    sc
}

/// 5d. Raw IP (linktype 101) with both IPv4 and IPv6.
pub(super) fn rawip() -> Scenario {
    let mut cap = Capture::new(LinkType::Raw);
    let mut a = TcpSession::new(v4([172, 16, 0, 2], 51500), v4([172, 16, 0, 1], 80))
        .isns(0x1010_0000, 0x1111_0000);
    let mut b = TcpSession::new(
        v6([0x2001, 0xdb8, 0, 0x10, 0, 0, 0, 2], 51501),
        v6([0x2001, 0xdb8, 0, 0x10, 0, 0, 0, 1], 80),
    )
    .isns(0x1212_0000, 0x1313_0000);
    let xa = exchange(&mut cap, &mut a, "v4.example.com");
    let xb = exchange(&mut cap, &mut b, "v6.example.com");
    let mut sc = Scenario::new(
        "rawip.pcap",
        "raw IP (linktype 101), IPv4 and IPv6",
        "No link header at all: each frame starts with the IP header, and only its version nibble \
         tells IPv4 from IPv6. An IPv4 exchange is followed by an IPv6 one.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    sc.fact(xa.fact("tcp.stream 0, IPv4 (172.16.0.2:51500 → 172.16.0.1:80)"));
    sc.fact(xb.fact("tcp.stream 1, IPv6 ([2001:db8:0:10::2]:51501 → [2001:db8:0:10::1]:80)"));
    sc
}

/// 5e. BSD loopback.
pub(super) fn null_loopback() -> Scenario {
    let mut cap = Capture::new(LinkType::Null);
    let mut a = TcpSession::new(v4([127, 0, 0, 1], 51600), v4([127, 0, 0, 1], 8080))
        .isns(0x1414_0000, 0x1515_0000);
    let mut b = TcpSession::new(
        v6([0, 0, 0, 0, 0, 0, 0, 1], 51601),
        v6([0, 0, 0, 0, 0, 0, 0, 1], 8080),
    )
    .isns(0x1616_0000, 0x1717_0000);
    let xa = exchange(&mut cap, &mut a, "localhost");
    let xb = exchange(&mut cap, &mut b, "localhost");
    let mut sc = Scenario::new(
        "null-loopback.pcap",
        "BSD loopback (linktype 0), IPv4 and IPv6",
        "Loopback traffic as captured on macOS (`lo0`): LINKTYPE_NULL with a 4-byte address family in \
         the host's (little-endian) byte order: 2 for IPv4, 30 (macOS AF_INET6) for IPv6.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    sc.fact(xa.fact("tcp.stream 0, IPv4 127.0.0.1:51600 → 127.0.0.1:8080"));
    sc.fact(xb.fact("tcp.stream 1, IPv6 [::1]:51601 → [::1]:8080"));
    sc.fact("IPv4 frames start `02 00 00 00`, IPv6 frames `1e 00 00 00`.");
    sc
}
