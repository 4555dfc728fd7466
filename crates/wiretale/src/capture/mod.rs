//! Capture records: reads pcap and pcapng as a stream from any [`std::io::Read`].
//!
//! [`CaptureReader`] yields one [`Record`] per packet record in file order, numbered like
//! Wireshark (1-based, every packet record counts). Memory is constant in file size: only the
//! current block is buffered (the buffer grows up to [`MAX_BLOCK_LEN`] for large blocks).
//!
//! Damage in a file yields a [`CaptureError`] naming the frame number that could not be read
//! and the byte offset of its block. The reader then looks past the damage for records that
//! look sound again (`resync`, as `pcapfix` does): when it finds them, the error says where
//! ([`CaptureError::resumed_at`]) and the next call goes on reading there, numbering the
//! records on; otherwise reading stops at the damage. A file cut short stops there.
//!
//! ```no_run
//! use wiretale::capture::CaptureReader;
//! let mut reader = CaptureReader::open("trace.pcap")?;
//! while let Some(record) = reader.next_record()? {
//!     println!("frame {} at {} ({} bytes)", record.frame, record.time, record.data.len());
//! }
//! # Ok::<(), wiretale::capture::CaptureError>(())
//! ```

mod error;
mod resync;
mod time;

pub use error::{CaptureError, CaptureErrorKind};

mod mapped;
pub use time::Timestamp;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};
use serde::Serialize;
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

/// Largest block the reader will buffer (a record's captured length cannot exceed this).
pub const MAX_BLOCK_LEN: usize = 16 * 1024 * 1024;
const INITIAL_BUFFER: usize = 256 * 1024;
/// The most bytes a run of records found after damage may span (half the largest buffer:
/// see [`CaptureReader::resync`]).
const RESYNC_HORIZON: usize = MAX_BLOCK_LEN / 2;
/// Bytes read up front to hold the file header (a pcapng section header with its options).
const HEADER_PREFIX: usize = 64 * 1024;
/// pcapng block type of the Enhanced Packet Block.
const ENHANCED_PACKET_BLOCK: u32 = 6;
/// pcapng block type of the obsolete Packet Block (pcap-parser reports it as unknown).
const OBSOLETE_PACKET_BLOCK: u32 = 2;
/// Cap on kept comment text, so a file full of comments cannot grow memory.
const MAX_COMMENTS: usize = 64;

/// A link-layer header type (LINKTYPE_* number as stored in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct LinkType(pub u32);

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureFormat {
    /// Classic libpcap (either byte order).
    Pcap {
        /// Timestamps have nanosecond resolution (magic `a1b23c4d`).
        nanosecond: bool,
        /// The file was written big-endian.
        big_endian: bool,
    },
    /// pcapng.
    Pcapng,
}

/// One capture interface (pcapng IDB; classic pcap has exactly one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// The interface's link type.
    pub link_type: LinkType,
    /// Snapshot length, 0 when unlimited.
    pub snaplen: u32,
    /// Timestamp units per second (1_000_000 for microseconds).
    pub ticks_per_second: u64,
    /// Offset in seconds added to every timestamp (`if_tsoffset`).
    pub ts_offset: i64,
    /// Interface name, when the file gives one.
    pub name: Option<String>,
}

/// One packet record from the capture.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Wireshark's frame number: 1-based, file order.
    pub frame: u64,
    /// Capture time.
    pub time: Timestamp,
    /// Index of the interface the packet was captured on.
    pub interface: u32,
    /// Link type of that interface.
    pub link_type: LinkType,
    /// The captured bytes (possibly fewer than `original_len`: snaplen truncation).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub original_len: u32,
    /// Byte offset of the record's block in the file.
    pub file_offset: u64,
}

impl Record<'_> {
    /// Whether the capture kept fewer bytes than were on the wire.
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.original_len)
    }
}

/// Streaming reader of pcap and pcapng files.
pub struct CaptureReader<'r> {
    inner: Box<dyn PcapReaderIterator + Send + 'r>,
    format: CaptureFormat,
    interfaces: Vec<Interface>,
    section_big_endian: bool,
    comments: Vec<String>,
    next_frame: u64,
    /// File offset of the first unconsumed byte in the reader's buffer.
    offset: u64,
    /// Bytes of the previously returned block, consumed lazily so the record can borrow it.
    pending_consume: usize,
    /// Current size of the reader's buffer.
    capacity: usize,
    finished: bool,
    /// Whether plain packet records skip pcap-parser (off only to test the general path).
    fast_path: bool,
    /// Size of the input, when it is a regular file.
    total_len: Option<u64>,
    /// The time of the classic pcap records read so far (a record found after damage must be
    /// near it).
    pcap_time: resync::TimeAnchor,
}

impl std::fmt::Debug for CaptureReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("interfaces", &self.interfaces)
            .field("next_frame", &self.next_frame)
            .field("offset", &self.offset)
            .finish()
    }
}

impl CaptureReader<'static> {
    /// Opens a capture file by path; `-` reads standard input. The file is read with `read`
    /// calls into the reader's buffer, which is safe whatever another program does to the
    /// file meanwhile ([`CaptureReader::open_mapped`] maps it instead).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        Self::open_as(path.as_ref(), false)
    }

    /// [`CaptureReader::open`], reading a regular file through a memory map instead of
    /// copying it (`wiretale --mmap`). Records, errors and counts are the same. Faster on
    /// some machines and slower on others (docs/performance.md: the copy costs about 0.1 s
    /// of system time a gigabyte, but reading fresh mapped pages can cost the parser more).
    /// A map has hazards `read` does not: if another program truncates the file while it is
    /// being read, the process is killed by `SIGBUS`, and bytes rewritten in place may be
    /// read half-rewritten; use it only for a file that will not shrink or change under you.
    pub fn open_mapped(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        Self::open_as(path.as_ref(), true)
    }

    /// The same as [`CaptureReader::open`], which no longer maps the file.
    #[deprecated(note = "`open` reads without a map; `open_mapped` maps")]
    pub fn open_unmapped(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        Self::open(path)
    }

    fn open_as(path: &Path, mmap: bool) -> Result<Self, CaptureError> {
        if path.as_os_str() == "-" {
            return CaptureReader::new(std::io::stdin());
        }
        let file = File::open(path).map_err(|e| CaptureError::io(e, 0, 0))?;
        let total_len = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        if let (true, Some(len)) = (mmap, total_len) {
            let mapped = (file.try_clone().ok())
                .and_then(|f| mapped::MappedPcap::open(f, len, INITIAL_BUFFER));
            if let Some(mapped) = mapped {
                let mut reader = CaptureReader::from_iterator(Box::new(mapped), len)?;
                reader.total_len = total_len;
                return Ok(reader);
            }
        }
        let mut reader = CaptureReader::new(BufReader::with_capacity(1 << 16, file))?;
        reader.total_len = total_len;
        Ok(reader)
    }

    /// A mapped reader with a small buffer and window, so that tests cross windows and grow
    /// the buffer often; `None` where [`CaptureReader::open_mapped`] would read without a map.
    #[cfg(test)]
    pub(crate) fn open_mapped_with(path: &Path, capacity: usize, window: usize) -> Option<Self> {
        Self::open_mapped_as(path, capacity, window, false)
    }

    /// [`CaptureReader::open_mapped_with`], every window after the first copied from the file
    /// as when no map can be made.
    #[cfg(test)]
    pub(crate) fn open_copying_windows(
        path: &Path,
        capacity: usize,
        window: usize,
    ) -> Option<Self> {
        Self::open_mapped_as(path, capacity, window, true)
    }

    #[cfg(test)]
    fn open_mapped_as(path: &Path, capacity: usize, window: usize, copy: bool) -> Option<Self> {
        let file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut mapped = mapped::MappedPcap::open_with(file, len, capacity, window)?;
        if copy {
            mapped = mapped.copying_windows();
        }
        let mut reader = CaptureReader::from_iterator(Box::new(mapped), len).ok()?;
        reader.capacity = capacity;
        reader.total_len = Some(len);
        Some(reader)
    }

    /// A reader of a mapped file whose header parsed ([`mapped::MappedPcap::open`], which
    /// accepts only what [`format_of`] knows).
    fn from_iterator(
        inner: Box<dyn PcapReaderIterator + Send + 'static>,
        len: u64,
    ) -> Result<Self, CaptureError> {
        let magic: Option<[u8; 4]> = inner.data().get(..4).and_then(|m| m.try_into().ok());
        let format = magic.and_then(format_of).ok_or(CaptureError::new(
            CaptureErrorKind::TooShort { len: len as usize },
            0,
            0,
        ))?;
        Ok(CaptureReader::with_inner(inner, format))
    }
}

/// The format a file's first four bytes announce: pcapng, or classic pcap in either byte
/// order, with micro- or nanosecond times; `None` for anything else (pcap-parser also reads
/// the "modified" pcap format, which this reader does not accept).
fn format_of(magic: [u8; 4]) -> Option<CaptureFormat> {
    let magic_le = u32::from_le_bytes(magic);
    match magic_le {
        0x0A0D_0D0A => Some(CaptureFormat::Pcapng),
        0xA1B2_C3D4 | 0xD4C3_B2A1 | 0xA1B2_3C4D | 0x4D3C_B2A1 => Some(CaptureFormat::Pcap {
            nanosecond: matches!(magic_le, 0xA1B2_3C4D | 0x4D3C_B2A1),
            big_endian: matches!(magic_le, 0xD4C3_B2A1 | 0x4D3C_B2A1),
        }),
        _ => None,
    }
}

impl<'r> CaptureReader<'r> {
    /// Starts reading a capture from any reader. Fails when the input is not pcap or pcapng.
    pub fn new<R: Read + Send + 'r>(mut reader: R) -> Result<Self, CaptureError> {
        // pcap-parser parses the file header from its first `read`, so hand it a prefix that
        // holds the whole header even when the underlying reader trickles (pipes, stdin).
        let mut prefix = vec![0u8; HEADER_PREFIX];
        let got = read_up_to(&mut reader, &mut prefix).map_err(|e| CaptureError::io(e, 0, 0))?;
        prefix.truncate(got);
        if got < 4 {
            return Err(CaptureError::new(
                CaptureErrorKind::TooShort { len: got },
                0,
                0,
            ));
        }
        let magic = [prefix[0], prefix[1], prefix[2], prefix[3]];
        let magic_le = u32::from_le_bytes(magic);
        let chained = Cursor::new(prefix).chain(reader);
        let format = format_of(magic).ok_or(CaptureError::new(
            CaptureErrorKind::NotACapture {
                magic: u32::from_be_bytes(magic),
            },
            0,
            0,
        ))?;
        let inner: Box<dyn PcapReaderIterator + Send + 'r> = match format {
            CaptureFormat::Pcapng => Box::new(
                PcapNGReader::new(INITIAL_BUFFER, chained)
                    .map_err(|e| header_error(&e, magic_le))?,
            ),
            CaptureFormat::Pcap { .. } => Box::new(
                LegacyPcapReader::new(INITIAL_BUFFER, chained)
                    .map_err(|e| header_error(&e, magic_le))?,
            ),
        };
        Ok(CaptureReader::with_inner(inner, format))
    }

    fn with_inner(inner: Box<dyn PcapReaderIterator + Send + 'r>, format: CaptureFormat) -> Self {
        CaptureReader {
            inner,
            format,
            interfaces: Vec::new(),
            section_big_endian: false,
            comments: Vec::new(),
            next_frame: 1,
            offset: 0,
            pending_consume: 0,
            capacity: INITIAL_BUFFER,
            finished: false,
            fast_path: true,
            total_len: None,
            pcap_time: resync::TimeAnchor::default(),
        }
    }

    /// Reads every record through pcap-parser (the general path), for equivalence tests.
    #[cfg(test)]
    pub(crate) fn without_fast_path(mut self) -> Self {
        self.fast_path = false;
        self
    }

    /// The file format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Interfaces described so far (pcapng may add more as it goes).
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// Comments found so far (section and packet comments, prefixed with where they were found).
    pub fn comments(&self) -> &[String] {
        &self.comments
    }

    /// Bytes of the input read so far, up to the end of the last record returned (for
    /// progress bars: cheap to call for every record).
    pub fn bytes_read(&self) -> u64 {
        self.offset + self.pending_consume as u64
    }

    /// Size of the input when known: a regular file opened with [`CaptureReader::open`]
    /// (not standard input, a pipe or [`CaptureReader::new`]).
    pub fn total_len(&self) -> Option<u64> {
        self.total_len
    }

    /// Number of packet records returned so far.
    pub fn frames_read(&self) -> u64 {
        self.next_frame - 1
    }

    /// Returns the next packet record, `Ok(None)` at the end of the file, or damage. Damage
    /// read past ([`CaptureError::resumed_at`] set) leaves the reader going: the next call
    /// returns the first record after it. Otherwise the error stopped reading, and the reader
    /// stays finished. A caller that stops at any error (`?`) reads exactly up to the first
    /// damage.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, CaptureError> {
        if self.pending_consume > 0 {
            self.consume(self.pending_consume);
            self.pending_consume = 0;
        }
        if self.finished {
            return Ok(None);
        }
        // The common case, a plain packet record already in the buffer, is read here without
        // pcap-parser (which would parse it twice and allocate an options list per pcapng
        // block); anything else (other blocks, options, short or damaged data) takes the
        // general path below, which keeps its exact behaviour.
        if let Some(packet) = self.plain_packet().filter(|_| self.fast_path) {
            return Ok(Some(self.fast_record(packet)));
        }
        loop {
            let damaged = match self.format {
                CaptureFormat::Pcapng => {
                    check_ng_block_len(self.inner.data(), self.section_big_endian)
                }
                // Once the file header is read (it makes the one interface).
                CaptureFormat::Pcap { big_endian, .. } => (self.interfaces.first())
                    .and_then(|i| check_pcap_record_len(self.inner.data(), big_endian, i.snaplen)),
            };
            if let Some(kind) = damaged {
                return Err(self.damaged(kind));
            }
            // A non-packet block is handled and consumed inside this loop; a packet record is
            // returned borrowing the reader's buffer and consumed on the next call.
            let step = match self.inner.next() {
                Ok((len, block)) => classify(
                    block,
                    len,
                    &mut self.interfaces,
                    &mut self.section_big_endian,
                    &mut self.comments,
                    self.next_frame,
                ),
                Err(PcapError::Eof) => Step::End,
                Err(PcapError::Incomplete(_)) => Step::Refill,
                Err(PcapError::BufferTooSmall) => Step::Grow,
                Err(e) => Step::Fail(parse_error_kind(&e)),
            };
            match step {
                Step::Skip(len) => self.consume(len),
                Step::Packet(len) => {
                    self.pending_consume = len;
                    let frame = self.next_frame;
                    return self.current_record(frame).map(Some);
                }
                Step::End => {
                    self.finished = true;
                    return Ok(None);
                }
                Step::Refill => {
                    if self.inner.reader_exhausted() {
                        let available = self.inner.data().len();
                        if available == 0 {
                            self.finished = true;
                            return Ok(None);
                        }
                        // A file cut short, or a damaged length that runs past its end:
                        // records may still follow in the bytes left.
                        return Err(self.damaged(CaptureErrorKind::TruncatedRecord {
                            available: available as u64,
                        }));
                    }
                    if let Err(e) = self.inner.refill() {
                        self.finished = true;
                        let kind = parse_error_kind(&e);
                        return Err(self.error(kind));
                    }
                }
                Step::Grow => {
                    if !self.grow_buffer() {
                        return Err(self.damaged(CaptureErrorKind::BlockTooLarge {
                            limit: MAX_BLOCK_LEN as u64,
                        }));
                    }
                    if let Err(e) = self.inner.refill() {
                        self.finished = true;
                        let kind = parse_error_kind(&e);
                        return Err(self.error(kind));
                    }
                }
                Step::Fail(kind) => {
                    return Err(self.damaged(kind));
                }
            }
        }
    }

    /// Drops `len` bytes from the front of the buffer. No shift: the buffer moves its data
    /// only when it must refill (pcap-parser's `consume` would move the rest of the buffer
    /// every half buffer, copying the file once more).
    fn consume(&mut self, len: usize) {
        self.inner.consume_noshift(len);
        self.offset += len as u64;
    }

    /// The packet record at the front of the buffer, if it is a plain one: a classic pcap
    /// record, or an Enhanced Packet Block without options. Only reads; returns positions.
    fn plain_packet(&self) -> Option<PlainPacket> {
        let buf = self.inner.data();
        match self.format {
            CaptureFormat::Pcap { big_endian, .. } => {
                // The file header has been read once an interface exists.
                let snaplen = self.interfaces.first()?.snaplen;
                let u32_at = |o: usize| read_u32(buf, o, big_endian);
                let caplen = u32_at(8)?;
                let len = 16usize.checked_add(caplen as usize)?;
                // A damaged length is for the general path to report.
                if buf.len() < len || caplen > record_limit(snaplen) {
                    return None;
                }
                Some(PlainPacket {
                    len,
                    data_end: len,
                    interface: 0,
                    ts_high: u32_at(0)?,
                    ts_low: u32_at(4)?,
                    original_len: u32_at(12)?,
                })
            }
            CaptureFormat::Pcapng => {
                let big_endian = self.section_big_endian;
                let u32_at = |o: usize| read_u32(buf, o, big_endian);
                if u32_at(0)? != ENHANCED_PACKET_BLOCK {
                    return None;
                }
                let len = u32_at(4)? as usize;
                let caplen = u32_at(20)?;
                let padded = (caplen as usize).checked_add(3)? & !3;
                // Options (comments) or inconsistent lengths: leave it to the general path.
                if 32usize.checked_add(padded)? != len || buf.len() < len {
                    return None;
                }
                if u32_at(len.checked_sub(4)?)? as usize != len {
                    return None;
                }
                Some(PlainPacket {
                    len,
                    data_end: 28usize.checked_add(caplen as usize)?,
                    interface: u32_at(8)?,
                    ts_high: u32_at(12)?,
                    ts_low: u32_at(16)?,
                    original_len: u32_at(24)?,
                })
            }
        }
    }

    /// The record of a packet found by [`CaptureReader::plain_packet`].
    fn fast_record(&mut self, p: PlainPacket) -> Record<'_> {
        self.pending_consume = p.len;
        let frame = self.next_frame;
        self.next_frame += 1;
        let file_offset = self.offset;
        let (data_start, time, link_type) = match self.format {
            CaptureFormat::Pcap { nanosecond, .. } => {
                self.pcap_time.note(p.ts_high, p.data_end - 16);
                let per_second = if nanosecond { 1_000_000_000 } else { 1_000_000 };
                let time =
                    Timestamp::from_parts(i64::from(p.ts_high), u64::from(p.ts_low), per_second);
                let link = self.interfaces.first().map(|i| i.link_type);
                (16, time, link.unwrap_or(LinkType(1)))
            }
            CaptureFormat::Pcapng => {
                let iface = self.interfaces.get(p.interface as usize);
                let ticks = (u64::from(p.ts_high) << 32) | u64::from(p.ts_low);
                let link = iface.map(|i| i.link_type).unwrap_or(LinkType(u32::MAX));
                (28, ng_time(iface, ticks), link)
            }
        };
        let data = self
            .inner
            .data()
            .get(data_start..p.data_end)
            .unwrap_or_default();
        Record {
            frame,
            time,
            interface: p.interface,
            link_type,
            data,
            original_len: p.original_len,
            file_offset,
        }
    }

    /// The error for damage at the front of the buffer, after looking past it for the next
    /// record ([`CaptureReader::resync`]): reading goes on there, or stops for good when no
    /// record follows or the damage is a failure to read.
    fn damaged(&mut self, kind: CaptureErrorKind) -> CaptureError {
        let mut error = self.error(kind);
        if !matches!(
            error.kind,
            CaptureErrorKind::Read | CaptureErrorKind::Io { .. }
        ) {
            error.resumed_at = self.resync();
        }
        self.finished = error.resumed_at.is_none();
        error
    }

    /// Skips from the damaged record at the front of the buffer to the next position where
    /// records look sound again ([`resync`]), reading on as far as it takes; the file offset
    /// reading resumes at, or `None` when the file ends first (everything is then consumed)
    /// or cannot be read.
    fn resync(&mut self) -> Option<u64> {
        // The damaged record's first byte is passed over, so the search cannot land on it.
        let mut from = 1;
        loop {
            let at_eof = self.inner.reader_exhausted();
            let data = self.inner.data();
            let search = match self.format {
                CaptureFormat::Pcap {
                    big_endian,
                    nanosecond,
                } => {
                    let snaplen = self.interfaces.first().map_or(0, |i| i.snaplen);
                    let shape = resync::PcapShape {
                        big_endian,
                        fraction_per_second: if nanosecond { 1_000_000_000 } else { 1_000_000 },
                        record_limit: record_limit(snaplen).min(MAX_BLOCK_LEN as u32),
                        last_secs: self.pcap_time.secs(),
                        horizon: RESYNC_HORIZON,
                    };
                    resync::find_pcap_record(data, from, at_eof, &shape)
                }
                CaptureFormat::Pcapng => {
                    let shape = resync::NgShape {
                        big_endian: self.section_big_endian,
                        interfaces: self.interfaces.len(),
                        max_block_len: MAX_BLOCK_LEN as u32,
                        horizon: RESYNC_HORIZON,
                    };
                    resync::find_ng_block(data, from, at_eof, &shape)
                }
            };
            let held = data.len();
            match search {
                resync::Search::Found(at) => {
                    self.consume(at);
                    return Some(self.offset);
                }
                resync::Search::NotFound => {
                    self.consume(held);
                    from = 0;
                    if at_eof {
                        return None;
                    }
                }
                resync::Search::NeedMore(at) => {
                    if at_eof {
                        return None; // not returned at the end of the file; never loop on it
                    }
                    // Each refill moves the bytes kept to the front of the buffer: drop those
                    // behind the position only when they are at least half of it, so a move
                    // costs no more than the bytes it gets past; otherwise keep them, search
                    // on from the position, and make room by growing the buffer when it is
                    // full. (A run spans at most half the largest buffer, so a full largest
                    // buffer always has the position past its middle.)
                    let full = held >= self.capacity;
                    if at >= held / 2 || (full && !self.grow_buffer()) {
                        if full && at == 0 {
                            // Cannot happen (see above); were it to, give the position up
                            // rather than refill a full buffer for ever.
                            from = 1;
                            continue;
                        }
                        self.consume(at);
                        from = 0;
                    } else {
                        from = at;
                    }
                }
            }
            if self.inner.refill().is_err() {
                return None;
            }
        }
    }

    /// Doubles the reader's buffer, up to [`MAX_BLOCK_LEN`]; false when it cannot grow.
    fn grow_buffer(&mut self) -> bool {
        let wanted = self.capacity.saturating_mul(2);
        let grown = wanted <= MAX_BLOCK_LEN && self.inner.grow(wanted);
        if grown {
            self.capacity = wanted;
        }
        grown
    }

    fn error(&self, kind: CaptureErrorKind) -> CaptureError {
        let kind = match kind {
            // Say how much of the cut record the file still holds.
            CaptureErrorKind::TruncatedRecord { available: 0 } => {
                CaptureErrorKind::TruncatedRecord {
                    available: self.inner.data().len() as u64,
                }
            }
            other => other,
        };
        CaptureError::new(kind, self.next_frame, self.offset)
    }

    /// Re-parses the block at the front of the buffer (cheap: it was just validated) to build
    /// the record borrowing the reader's buffer.
    fn current_record(&mut self, frame: u64) -> Result<Record<'_>, CaptureError> {
        // Every error below stops reading for good, like the others of `next_record`.
        self.finished = true;
        let file_offset = self.offset;
        let format = self.format;
        let big_endian = self.section_big_endian;
        let interfaces = &self.interfaces;
        let next = self.inner.next();
        let block = match next {
            Ok((_, block)) => block,
            Err(_) => {
                return Err(CaptureError::new(
                    CaptureErrorKind::Malformed {
                        detail: "block changed while reading".into(),
                    },
                    frame,
                    file_offset,
                ))
            }
        };
        let mut legacy_time = None;
        let record = match block {
            PcapBlockOwned::Legacy(b) => {
                legacy_time = Some((b.ts_sec, b.caplen as usize));
                let iface = interfaces.first();
                let nanos = matches!(
                    format,
                    CaptureFormat::Pcap {
                        nanosecond: true,
                        ..
                    }
                );
                let time = if nanos {
                    Timestamp::from_parts(i64::from(b.ts_sec), u64::from(b.ts_usec), 1_000_000_000)
                } else {
                    Timestamp::from_parts(i64::from(b.ts_sec), u64::from(b.ts_usec), 1_000_000)
                };
                Record {
                    frame,
                    time,
                    interface: 0,
                    link_type: iface.map(|i| i.link_type).unwrap_or(LinkType(1)),
                    data: clip(b.data, b.caplen),
                    original_len: b.origlen,
                    file_offset,
                }
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(b)) => {
                let iface = interfaces.get(b.if_id as usize);
                let ticks = (u64::from(b.ts_high) << 32) | u64::from(b.ts_low);
                Record {
                    frame,
                    time: ng_time(iface, ticks),
                    interface: b.if_id,
                    link_type: iface.map(|i| i.link_type).unwrap_or(LinkType(u32::MAX)),
                    data: clip(b.data, b.caplen),
                    original_len: b.origlen,
                    file_offset,
                }
            }
            PcapBlockOwned::NG(Block::SimplePacket(b)) => {
                let iface = interfaces.first();
                let snap = iface.map(|i| i.snaplen).unwrap_or(0);
                let captured = if snap > 0 {
                    b.origlen.min(snap)
                } else {
                    b.origlen
                };
                Record {
                    frame,
                    time: Timestamp::default(),
                    interface: 0,
                    link_type: iface.map(|i| i.link_type).unwrap_or(LinkType(u32::MAX)),
                    data: clip(b.data, captured),
                    original_len: b.origlen,
                    file_offset,
                }
            }
            PcapBlockOwned::NG(Block::Unknown(b)) if b.block_type == OBSOLETE_PACKET_BLOCK => {
                let p = parse_obsolete_packet(b.data, big_endian).ok_or_else(|| {
                    CaptureError::new(
                        CaptureErrorKind::Malformed {
                            detail: "obsolete packet block too short".into(),
                        },
                        frame,
                        file_offset,
                    )
                })?;
                let iface = interfaces.get(usize::from(p.interface));
                Record {
                    frame,
                    time: ng_time(iface, p.ticks),
                    interface: u32::from(p.interface),
                    link_type: iface.map(|i| i.link_type).unwrap_or(LinkType(u32::MAX)),
                    data: p.data,
                    original_len: p.original_len,
                    file_offset,
                }
            }
            _ => {
                return Err(CaptureError::new(
                    CaptureErrorKind::Malformed {
                        detail: "expected a packet block".into(),
                    },
                    frame,
                    file_offset,
                ))
            }
        };
        self.finished = false;
        self.next_frame = frame + 1;
        if let Some((secs, captured)) = legacy_time {
            self.pcap_time.note(secs, captured);
        }
        Ok(record)
    }
}

/// Where a plain packet record lies in the buffer (see [`CaptureReader::plain_packet`]).
#[derive(Debug, Clone, Copy)]
struct PlainPacket {
    /// Bytes of the whole record or block.
    len: usize,
    /// End of the captured bytes (they start after the record or block header).
    data_end: usize,
    interface: u32,
    /// Seconds (pcap) or the high timestamp word (pcapng).
    ts_high: u32,
    /// Fraction (pcap) or the low timestamp word (pcapng).
    ts_low: u32,
    original_len: u32,
}

fn read_u32(buf: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

enum Step {
    Skip(usize),
    Packet(usize),
    End,
    Refill,
    Grow,
    Fail(CaptureErrorKind),
}

/// Decides what a block is; records interface and comment metadata on the way.
fn classify(
    block: PcapBlockOwned<'_>,
    len: usize,
    interfaces: &mut Vec<Interface>,
    section_big_endian: &mut bool,
    comments: &mut Vec<String>,
    frame: u64,
) -> Step {
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            interfaces.clear();
            interfaces.push(Interface {
                link_type: LinkType(h.network.0 as u32),
                snaplen: h.snaplen,
                ticks_per_second: if h.is_nanosecond_precision() {
                    1_000_000_000
                } else {
                    1_000_000
                },
                ts_offset: 0,
                name: None,
            });
            Step::Skip(len)
        }
        PcapBlockOwned::Legacy(_) => Step::Packet(len),
        PcapBlockOwned::NG(block) => match block {
            Block::SectionHeader(shb) => {
                // Interface numbering restarts in each section.
                interfaces.clear();
                *section_big_endian = shb.big_endian();
                collect_comments(&shb.options, "section", comments);
                Step::Skip(len)
            }
            Block::InterfaceDescription(idb) => {
                if interfaces.len() < u16::MAX as usize {
                    interfaces.push(Interface {
                        link_type: LinkType(idb.linktype.0 as u32),
                        snaplen: idb.snaplen,
                        ticks_per_second: idb.ts_resolution().unwrap_or(1_000_000),
                        ts_offset: idb.ts_offset(),
                        name: idb.if_name().and_then(|r| r.ok()).map(str::to_owned),
                    });
                }
                Step::Skip(len)
            }
            Block::EnhancedPacket(ref epb) => {
                collect_comments(&epb.options, &format!("frame {frame}"), comments);
                Step::Packet(len)
            }
            Block::SimplePacket(_) => Step::Packet(len),
            Block::Unknown(ref b) if b.block_type == OBSOLETE_PACKET_BLOCK => Step::Packet(len),
            _ => Step::Skip(len),
        },
    }
}

/// Smallest pcapng block: type, total length, total length again.
const MIN_NG_BLOCK_LEN: u32 = 12;
/// pcapng Section Header Block type; its byte order is given by the magic after the length.
const SECTION_HEADER_BLOCK: u32 = 0x0A0D_0D0A;

/// Rejects a pcapng block at the front of `data` whose total length is below the 12 bytes of
/// its own framing. pcap-parser 0.17 computes `length - 12` for some block types (Process
/// Information) before checking, which overflows (a panic with overflow checks on). `None` when
/// the header looks sane or is not complete yet (the parser asks for more bytes).
/// The most captured bytes a classic pcap record of a file with snapshot length `snaplen` may
/// declare: the snapshot length, or 256 KiB if that is more (libpcap accepts records up to
/// 256 KiB whatever the header says, as some writers set a smaller snapshot length).
fn record_limit(snaplen: u32) -> u32 {
    snaplen.max(MAX_PCAP_RECORD)
}

/// libpcap's largest record for most link types (`MAXIMUM_SNAPLEN`).
const MAX_PCAP_RECORD: u32 = 262_144;

/// The damage of the classic pcap record at the front of `data`, if its header declares
/// more captured bytes than a record may hold ([`record_limit`]): read as is, it would take
/// the records after it as its data, or the rest of the file, and be reported as a file cut
/// short.
fn check_pcap_record_len(data: &[u8], big_endian: bool, snaplen: u32) -> Option<CaptureErrorKind> {
    let declared = read_u32(data, 8, big_endian)?;
    let limit = record_limit(snaplen);
    (declared > limit).then_some(CaptureErrorKind::BadRecordLength { declared, limit })
}

fn check_ng_block_len(data: &[u8], section_big_endian: bool) -> Option<CaptureErrorKind> {
    let word = |at: usize| -> Option<[u8; 4]> { data.get(at..at + 4)?.try_into().ok() };
    let block_type = u32::from_le_bytes(word(0)?);
    let len_bytes = word(4)?;
    let big_endian = if block_type == SECTION_HEADER_BLOCK {
        word(8)? == [0x1A, 0x2B, 0x3C, 0x4D]
    } else {
        section_big_endian
    };
    let len = if big_endian {
        u32::from_be_bytes(len_bytes)
    } else {
        u32::from_le_bytes(len_bytes)
    };
    (len < MIN_NG_BLOCK_LEN).then(|| CaptureErrorKind::Malformed {
        detail: format!("pcapng block of type 0x{block_type:08x} declares {len} bytes, below the minimum of {MIN_NG_BLOCK_LEN}"),
    })
}

fn collect_comments(
    options: &[pcap_parser::pcapng::PcapNGOption<'_>],
    place: &str,
    comments: &mut Vec<String>,
) {
    for opt in options {
        if opt.code == pcap_parser::pcapng::OptionCode::Comment && comments.len() < MAX_COMMENTS {
            let text = String::from_utf8_lossy(opt.value());
            let text: String = text.chars().take(4096).collect();
            comments.push(format!("{place}: {}", text.trim_end_matches('\0')));
        }
    }
}

struct ObsoletePacket<'a> {
    interface: u16,
    ticks: u64,
    original_len: u32,
    data: &'a [u8],
}

/// Obsolete Packet Block body: if_id u16, drops u16, ts_high u32, ts_low u32, caplen u32,
/// len u32, data.
fn parse_obsolete_packet(body: &[u8], big_endian: bool) -> Option<ObsoletePacket<'_>> {
    let u16_at = |o: usize| -> Option<u16> {
        let b: [u8; 2] = body.get(o..o + 2)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = body.get(o..o + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let interface = u16_at(0)?;
    let ticks = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
    let caplen = u32_at(12)?;
    let original_len = u32_at(16)?;
    let rest = body.get(20..)?;
    Some(ObsoletePacket {
        interface,
        ticks,
        original_len,
        data: clip(rest, caplen),
    })
}

fn ng_time(iface: Option<&Interface>, ticks: u64) -> Timestamp {
    let (per_second, offset) = iface
        .map(|i| (i.ticks_per_second, i.ts_offset))
        .unwrap_or((1_000_000, 0));
    let per_second = per_second.max(1);
    Timestamp::from_parts(
        offset.saturating_add(i64::try_from(ticks / per_second).unwrap_or(i64::MAX)),
        ticks % per_second,
        per_second,
    )
}

/// The captured bytes: the block's data clipped to its declared captured length (block data
/// includes padding).
fn clip(data: &[u8], caplen: u32) -> &[u8] {
    let n = (caplen as usize).min(data.len());
    data.get(..n).unwrap_or(data)
}

fn header_error(e: &PcapError<&[u8]>, magic: u32) -> CaptureError {
    match e {
        PcapError::Eof | PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
            CaptureError::new(CaptureErrorKind::TruncatedHeader, 0, 0)
        }
        _ => CaptureError::new(
            CaptureErrorKind::BadHeader {
                magic: magic.swap_bytes(),
                detail: format!("{e}"),
            },
            0,
            0,
        ),
    }
}

fn parse_error_kind(e: &PcapError<&[u8]>) -> CaptureErrorKind {
    match e {
        PcapError::UnexpectedEof | PcapError::Incomplete(_) => {
            CaptureErrorKind::TruncatedRecord { available: 0 }
        }
        PcapError::ReadError => CaptureErrorKind::Read,
        other => CaptureErrorKind::Malformed {
            detail: format!("{other}"),
        },
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests;
