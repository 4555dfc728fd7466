//! The one error type of this crate.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::linktype::LinkType;

/// Why a fixture could not be built or written.
///
/// Scripting operations ([`crate::TcpSession`], [`crate::Capture::push`]) never return errors
/// directly: the first error is kept by the [`crate::Capture`] and returned when the capture is
/// written, so scenario scripts stay a flat list of steps.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FixtureError {
    /// A length does not fit the field that must hold it (IPv4 total length, TCP options, ...).
    #[error("{what} of {len} bytes exceeds the maximum of {max}")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The largest length the format allows.
        max: usize,
    },
    /// The interface's link type has no way to carry this kind of packet.
    #[error("{link} cannot carry {what}")]
    LinkCannotCarry {
        /// The link type of the interface.
        link: LinkType,
        /// The packet kind, e.g. "IPv6" or "ARP".
        what: &'static str,
    },
    /// Source and destination of one packet are of different address families.
    #[error("address families differ: {src} -> {dst}")]
    MixedAddressFamilies {
        /// Source address.
        src: IpAddr,
        /// Destination address.
        dst: IpAddr,
    },
    /// A fragmentation request cannot be met (zero pieces, more pieces than 8-byte blocks, ...).
    #[error("invalid fragmentation: {0}")]
    Fragmentation(&'static str),
    /// A timestamp does not fit the fields of the file format.
    #[error("timestamp {secs} s does not fit {format}")]
    TimestampOutOfRange {
        /// Seconds since the Unix epoch.
        secs: u64,
        /// The format whose field overflowed.
        format: &'static str,
    },
    /// A frame names an interface the capture does not have.
    #[error("interface {0} does not exist in this capture")]
    UnknownInterface(u32),
    /// Classic pcap has one link type; a frame was put on another interface.
    #[error(
        "classic pcap holds a single interface, but frame {frame} is on interface {interface}"
    )]
    PcapSingleInterface {
        /// Frame number (1-based).
        frame: u32,
        /// Its interface.
        interface: u32,
    },
    /// A Simple Packet Block always belongs to interface 0.
    #[error("frame {frame} is a simple packet block but is on interface {interface} (must be 0)")]
    SimpleBlockInterface {
        /// Frame number (1-based).
        frame: u32,
        /// Its interface.
        interface: u32,
    },
    /// `if_tsresol` values other than decimal exponents 0..=9 are not supported.
    #[error("if_tsresol {0} is not supported (decimal exponents 0..=9 only)")]
    TsResolution(u8),
    /// A frame number that the capture does not hold.
    #[error("frame {0} does not exist")]
    UnknownFrame(u32),
    /// A scenario step did not land on the frame number it must have.
    #[error("expected this step at frame {expected}, it is frame {actual}")]
    FrameNumber {
        /// The frame number the script requires.
        expected: u32,
        /// The frame number it got.
        actual: u32,
    },
    /// A frame that is not a TCP segment of the session asked to retransmit it.
    #[error("frame {0} is not a segment sent by this session")]
    NotASessionSegment(u32),
    /// A byte range of a direction that was never sent.
    #[error("stream bytes {start}..{end} were never sent in this direction ({sent} sent)")]
    UnsentRange {
        /// Start offset (0 = first byte after the SYN).
        start: u64,
        /// End offset, exclusive.
        end: u64,
        /// Bytes sent so far.
        sent: u64,
    },
    /// A DNS name that cannot be encoded (empty label or label over 63 bytes).
    #[error("DNS name {0:?} cannot be encoded")]
    DnsName(String),
    /// An NTLM message that cannot be used (too short, wrong signature, bad offsets).
    #[error("NTLM: {0}")]
    Ntlm(&'static str),
    /// Text that is not valid base64.
    #[error("base64: {0}")]
    Base64(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error (shared so the error can be cloned).
        source: std::sync::Arc<std::io::Error>,
    },
    /// A streaming writer's output failed.
    #[error("writing the capture: {0}")]
    Write(std::sync::Arc<std::io::Error>),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, FixtureError>;

/// Converts a length to the integer type of a header field, or says which field overflowed.
pub(crate) fn fit<T: TryFrom<usize>>(len: usize, what: &'static str, max: usize) -> Result<T> {
    if len > max {
        return Err(FixtureError::TooLong { what, len, max });
    }
    T::try_from(len).map_err(|_| FixtureError::TooLong { what, len, max })
}

impl FixtureError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        FixtureError::Io {
            path: path.to_path_buf(),
            source: std::sync::Arc::new(source),
        }
    }

    /// An error of a streaming writer's output.
    pub fn write(source: std::io::Error) -> Self {
        FixtureError::Write(std::sync::Arc::new(source))
    }
}
