//! Per-frame summaries, like a line of tshark's default output.

use crate::capture::Timestamp;
use crate::net::SkipReason;
use crate::tcp::SegmentAnalysis;
use serde::Serialize;
use std::net::IpAddr;

/// One frame, summarised for listings (`wiretale frames`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FrameSummary {
    /// Frame number.
    pub frame: u64,
    /// Capture time (epoch seconds).
    pub time: Timestamp,
    /// Seconds since the first frame.
    pub relative_time: f64,
    /// `tcp.stream`, for TCP frames.
    pub stream: Option<u64>,
    /// Source (`ip:port` for TCP, `ip` for other IP, empty otherwise).
    pub src: String,
    /// Destination.
    pub dst: String,
    /// The highest protocol decoded in this frame (TCP, TLS, HTTP, NTLM, UDP, ARP, ...).
    pub protocol: String,
    /// TCP flags (`SYN, ACK`), for TCP frames.
    pub flags: Option<String>,
    /// TCP payload length on the wire (`tcp.len`).
    pub tcp_len: Option<u32>,
    /// Human summary, like Wireshark's Info column.
    pub info: String,
    /// Why the frame was not analysed, when it was not.
    pub skipped: Option<SkipReason>,
    /// Captured length.
    pub cap_len: u32,
    /// Length on the wire.
    pub len: u32,
    /// Source IP address, for IP frames (typed form of `src`, for display filters).
    #[serde(skip)]
    pub src_ip: Option<IpAddr>,
    /// Destination IP address, for IP frames.
    #[serde(skip)]
    pub dst_ip: Option<IpAddr>,
    /// TCP source port, for TCP frames.
    #[serde(skip)]
    pub src_port: Option<u16>,
    /// TCP destination port, for TCP frames.
    #[serde(skip)]
    pub dst_port: Option<u16>,
    /// Raw TCP flag bits (FIN = 0x001, SYN = 0x002, RST = 0x004, ACK = 0x010, ...), for TCP
    /// frames.
    #[serde(skip)]
    pub tcp_flags: Option<u16>,
    /// tshark's TCP analysis markers, for TCP frames (their text also leads `info`).
    #[serde(skip)]
    pub tcp_analysis: Option<SegmentAnalysis>,
}
