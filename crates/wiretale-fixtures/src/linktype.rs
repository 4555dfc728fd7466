//! Link-layer header types (the `network` field of pcap, `LinkType` of a pcapng IDB).

use std::fmt;

/// The link types this crate can write. Numbers are tcpdump.org's `LINKTYPE_*` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// 0, BSD loopback: a 4-byte address family in the capturing host's byte order.
    Null,
    /// 1, Ethernet II (optionally with 802.1Q/802.1ad tags).
    Ethernet,
    /// 101, raw IP: IPv4 or IPv6, told apart by the version nibble.
    Raw,
    /// 12, the legacy `DLT_RAW` number some BSD-era writers stored in files (raw IP).
    RawLegacy12,
    /// 14, the legacy OpenBSD `DLT_RAW` number (raw IP).
    RawLegacy14,
    /// 113, Linux "cooked" capture v1 (SLL), 16-byte pseudo header.
    LinuxSll,
    /// 276, Linux "cooked" capture v2 (SLL2), 20-byte pseudo header.
    LinuxSll2,
    /// 228, raw IPv4 only.
    Ipv4,
    /// 229, raw IPv6 only.
    Ipv6,
}

impl LinkType {
    /// The number written in files.
    pub const fn number(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::RawLegacy12 => 12,
            LinkType::RawLegacy14 => 14,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
        }
    }

    /// tcpdump.org's name for it.
    pub const fn name(self) -> &'static str {
        match self {
            LinkType::Null => "LINKTYPE_NULL",
            LinkType::Ethernet => "LINKTYPE_ETHERNET",
            LinkType::Raw => "LINKTYPE_RAW",
            LinkType::RawLegacy12 => "DLT_RAW (12)",
            LinkType::RawLegacy14 => "DLT_RAW (14, OpenBSD)",
            LinkType::LinuxSll => "LINKTYPE_LINUX_SLL",
            LinkType::LinuxSll2 => "LINKTYPE_LINUX_SLL2",
            LinkType::Ipv4 => "LINKTYPE_IPV4",
            LinkType::Ipv6 => "LINKTYPE_IPV6",
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.number())
    }
}
