//! Helpers shared by the unit tests: the shared capture corpus and its tshark oracle
//! ([`corpus`]), and the TCP segments of a capture read through the crate's own capture reader
//! and network decoder, for tests that drive a decoder without the `tcp` reassembler.

mod corpus;

use std::net::SocketAddr;
use std::path::Path;

pub use corpus::{
    capture_files, oracle_rows, shared_capture, shared_capture_files, shared_captures,
};

use crate::capture::CaptureReader;
use crate::net::{Decoded, NetDecoder, TcpFlags};

/// A TCP segment of a capture, with its payload copied out of the frame.
#[derive(Debug, Clone)]
pub struct TcpSegment {
    /// Frame number (1-based, as in tshark).
    pub frame: u64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when `flags.ack()`).
    pub ack: u32,
    /// TCP flags.
    pub flags: TcpFlags,
    /// Captured payload bytes (the frame's part only when it was truncated).
    pub payload: Vec<u8>,
}

/// Every TCP segment of a capture file in frame order, decoded exactly as the pipeline decodes
/// frames ([`CaptureReader`] and [`NetDecoder`]: pcap and pcapng, every supported link type,
/// VLAN tags, IPv6, IPv4 defragmentation). Reading stops at the first damaged record, as the
/// pipeline's does.
pub fn tcp_segments(capture: &Path) -> Vec<TcpSegment> {
    let mut reader =
        CaptureReader::open(capture).unwrap_or_else(|e| panic!("open {}: {e}", capture.display()));
    let mut net = NetDecoder::default();
    let mut out = Vec::new();
    while let Ok(Some(record)) = reader.next_record() {
        if let Decoded::Tcp(seg) = net.decode(&record) {
            out.push(TcpSegment {
                frame: record.frame,
                src: seg.src,
                dst: seg.dst,
                seq: seg.header.seq(),
                ack: seg.header.ack(),
                flags: seg.header.flags(),
                payload: seg.payload.to_vec(),
            });
        }
    }
    out
}

/// `connections` short connections of the many-connections workload
/// (`wiretale_fixtures::workload`), written to a temporary pcap file that is removed when
/// dropped, even if a test fails.
pub fn short_connections_file(connections: u64) -> tempfile::NamedTempFile {
    use wiretale_fixtures::workload::{write_workload, Format, Shape, Size};
    let mut capture = Vec::new();
    write_workload(
        Shape::ManyConns,
        Size::Connections(connections),
        Format::Pcap,
        &mut capture,
    )
    .expect("writing a workload into memory");
    let file = tempfile::Builder::new()
        .suffix(".pcap")
        .tempfile()
        .expect("a temporary file");
    std::fs::write(file.path(), &capture).expect("writing the temporary file");
    file
}
