//! Typed errors of the capture reader.

use serde::Serialize;
use thiserror::Error;

/// Damage in a capture, with where it is: why reading stopped, or, when records could be
/// found again after it ([`CaptureError::resumed_at`]), what was skipped.
#[derive(Debug, Clone, Error, Serialize)]
#[error("{kind} (frame {frame}, byte offset {offset}){}", resumed_text(*.offset, *.resumed_at))]
pub struct CaptureError {
    /// What went wrong.
    pub kind: CaptureErrorKind,
    /// The frame number that could not be read (0 when the file header itself is bad). When
    /// reading resumed, the first record found after the damage gets this number: the
    /// damaged record is not counted, and Wireshark, which stops at the damage, shows the
    /// frames before it only.
    pub frame: u64,
    /// Byte offset in the file of the block that could not be read.
    pub offset: u64,
    /// Where reading went on: the byte offset of the first record found after the damage
    /// (the bytes from [`CaptureError::offset`] up to it were skipped), or `None` when
    /// reading stopped at the damage.
    pub resumed_at: Option<u64>,
}

fn resumed_text(offset: u64, resumed_at: Option<u64>) -> String {
    match resumed_at {
        Some(at) => format!(
            "; {} bytes skipped, reading resumed at byte offset {at}",
            at.saturating_sub(offset)
        ),
        None => String::new(),
    }
}

/// What went wrong while reading a capture.
#[derive(Debug, Clone, Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaptureErrorKind {
    /// The first bytes are not a pcap or pcapng magic number.
    #[error("not a pcap or pcapng file (magic 0x{magic:08x})")]
    NotACapture {
        /// The first four bytes, big-endian.
        magic: u32,
    },
    /// Fewer than four bytes in the whole input.
    #[error("not a pcap or pcapng file (only {len} bytes)")]
    TooShort {
        /// Bytes available.
        len: usize,
    },
    /// The magic was right but the file header is cut short.
    #[error("capture file header is truncated")]
    TruncatedHeader,
    /// The magic was right but the header could not be parsed.
    #[error("bad capture file header (magic 0x{magic:08x}): {detail}")]
    BadHeader {
        /// The first four bytes, big-endian.
        magic: u32,
        /// Parser detail.
        detail: String,
    },
    /// The file ends in the middle of a record.
    #[error("file ends in the middle of a record ({available} bytes left)")]
    TruncatedRecord {
        /// Bytes of the incomplete record present in the file.
        available: u64,
    },
    /// A classic pcap record declares more captured bytes than any record of the file may
    /// hold (its snapshot length, and at least 256 KiB as libpcap allows): its length field
    /// is damaged, and the records after it cannot be found.
    #[error("record declares {declared} captured bytes, more than the {limit} a record may hold: its length field is damaged")]
    BadRecordLength {
        /// The captured length the record header declares.
        declared: u32,
        /// The most a record of this file may hold.
        limit: u32,
    },
    /// A block claims to be larger than the reader accepts.
    #[error("record larger than {limit} bytes")]
    BlockTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A block could not be parsed.
    #[error("malformed record: {detail}")]
    Malformed {
        /// Parser detail.
        detail: String,
    },
    /// The underlying reader failed.
    #[error("read error")]
    Read,
    /// Opening or reading the file failed.
    #[error("{message}")]
    Io {
        /// The operating system's message.
        message: String,
    },
}

impl CaptureError {
    pub(crate) fn new(kind: CaptureErrorKind, frame: u64, offset: u64) -> Self {
        CaptureError {
            kind,
            frame,
            offset,
            resumed_at: None,
        }
    }

    pub(crate) fn io(e: std::io::Error, frame: u64, offset: u64) -> Self {
        CaptureError::new(
            CaptureErrorKind::Io {
                message: e.to_string(),
            },
            frame,
            offset,
        )
    }

    /// Whether this error happened before any record could be read (the input is not a usable
    /// capture at all), as opposed to damage part-way through.
    pub fn is_fatal_at_start(&self) -> bool {
        self.frame <= 1 && self.offset == 0
    }

    /// Bytes skipped over the damage when reading resumed after it (0 when it stopped).
    pub fn skipped_bytes(&self) -> u64 {
        self.resumed_at
            .map_or(0, |at| at.saturating_sub(self.offset))
    }
}
