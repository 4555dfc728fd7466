//! A capture file read through a memory map instead of `read` calls: the records are parsed
//! and handed out where the kernel's page cache holds them, so the file is never copied
//! (with `read`, copying it into the reader's buffer was about a fifth of the time of a whole
//! analysis of a 1 GB capture: ~0.15 s of system time a gigabyte).
//!
//! [`MappedPcap`] is a [`PcapReaderIterator`], so [`super::CaptureReader`] reads through it
//! exactly as through pcap-parser's own readers: it behaves as they do over a regular file
//! (each refill fills the buffer, up to its capacity, from the file), with the same parsers,
//! the same errors and the same limits (a block larger than the buffer may grow to is an
//! error). Only a window of the file is mapped at a time ([`WINDOW`]), so the resident memory
//! does not grow with the file; a window moves on when a refill needs bytes beyond it. A
//! window that cannot be mapped (an address-space limit) is copied from the file instead, as
//! the `read` path would, and reading goes on.
//!
//! The hazard of a map: if another program truncates the file while it is read, touching the
//! lost pages kills the process with `SIGBUS`, and bytes rewritten in place may be read half
//! old, half new (ripgrep takes the same risk, and offers `--no-mmap`). A file that grows (a capture still being written) is read to its new end.
//! That is why it is not the default: [`super::CaptureReader::open`] reads with `read` calls,
//! and only [`super::CaptureReader::open_mapped`] (`wiretale --mmap`) maps.

use super::{CaptureFormat, HEADER_PREFIX};
use pcap_parser::nom;
use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{parse_pcap_header, LegacyPcapBlock, PcapBlockOwned, PcapError, PcapHeader};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Bytes of the file mapped at a time (more when the buffer has grown beyond it).
pub(super) const WINDOW: usize = 4 << 20;

type FrameParser =
    for<'a> fn(&'a [u8]) -> nom::IResult<&'a [u8], LegacyPcapBlock<'a>, PcapError<&'a [u8]>>;

/// What the file holds, as pcap-parser's readers know it.
enum Format {
    /// Classic pcap: the header (handed out first, as `LegacyPcapReader` does) and the frame
    /// parser it calls for.
    Legacy {
        header: PcapHeader,
        parse: FrameParser,
    },
    /// pcapng, with the byte order of the current section.
    Ng { big_endian: bool },
}

/// A capture file read through a moving memory-mapped window.
pub(super) struct MappedPcap {
    file: File,
    /// Length of the file as last seen (looked at again when the reader reaches it).
    file_len: u64,
    format: Format,
    /// `None` only if moving it failed (the reader then reports a read error).
    window: Option<Window>,
    /// The emulated buffer: file offsets of its start (where the last refill shifted it),
    /// of the first unconsumed byte, and of its end; and its capacity.
    buf_start: u64,
    pos: u64,
    buf_end: u64,
    capacity: usize,
    consumed: usize,
    exhausted: bool,
    /// Bytes mapped at a time (a field so that tests can move the window often).
    window_len: usize,
    /// False only in tests, to read every window as if no map could be made.
    map_windows: bool,
}

/// The part of the file the reader is in.
struct Window {
    bytes: WindowBytes,
    /// File offset of its first byte.
    start: u64,
}

/// A window's bytes: mapped, or, where a map could not be made (an address-space limit),
/// read into memory like the `read` path would, so that reading goes on.
enum WindowBytes {
    Mapped(memmap2::Mmap),
    Copied(Vec<u8>),
}

impl Window {
    /// `len` bytes of `file` from `offset`: mapped, or copied if `map_it` is false or the
    /// map cannot be made.
    fn of(file: &File, offset: u64, len: usize, map_it: bool) -> io::Result<Window> {
        let bytes = match map_it.then(|| map(file, offset, len)) {
            Some(Ok(map)) => WindowBytes::Mapped(map),
            _ => {
                let mut copy = vec![0; len];
                let mut reader = file;
                reader.seek(SeekFrom::Start(offset))?;
                reader.read_exact(&mut copy)?;
                WindowBytes::Copied(copy)
            }
        };
        Ok(Window {
            bytes,
            start: offset,
        })
    }

    fn as_slice(&self) -> &[u8] {
        match &self.bytes {
            WindowBytes::Mapped(map) => map,
            WindowBytes::Copied(copy) => copy,
        }
    }

    fn end(&self) -> u64 {
        self.start + self.as_slice().len() as u64
    }
}

/// Maps `len` bytes of `file` from `offset`.
#[allow(unsafe_code)]
fn map(file: &File, offset: u64, len: usize) -> io::Result<memmap2::Mmap> {
    // SAFETY: the map is only read, and only through `MappedPcap`, which never hands out a
    // slice that outlives the window it came from (records and `data()` borrow the reader,
    // and the window is replaced only by `refill(&mut self)`). Each window ends at the file's
    // length when it is made, so bytes a writer appends are never inside a live slice. What
    // Rust cannot rule out is another process truncating the file meanwhile (reading a lost
    // page raises SIGBUS) or rewriting bytes in place under a live slice. That is the
    // documented price of mapping (module comment); `CaptureReader::open` (the default) avoids it.
    unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map(file)
    }
}

impl MappedPcap {
    /// Maps the start of `file` (of length `len`, a regular file) and reads its header the
    /// way pcap-parser's readers do. `None` when the file cannot be mapped or its header does
    /// not parse: the caller reads it the usual way, which reports the same error.
    pub(super) fn open(file: File, len: u64, capacity: usize) -> Option<Self> {
        Self::open_with(file, len, capacity, WINDOW)
    }

    /// [`MappedPcap::open`] with a window of `window_len` bytes (tests move it often).
    pub(super) fn open_with(
        file: File,
        len: u64,
        capacity: usize,
        window_len: usize,
    ) -> Option<Self> {
        // The header is read from the same prefix `CaptureReader::new` hands pcap-parser,
        // so that a header too long for it fails here as it does there.
        let first = (usize::try_from(len).ok()?).min(window_len.max(capacity).max(HEADER_PREFIX));
        if first == 0 {
            return None;
        }
        let window = Window {
            bytes: WindowBytes::Mapped(map(&file, 0, first).ok()?),
            start: 0,
        };
        let head = window.as_slice().get(..first.min(HEADER_PREFIX))?;
        let head_len = first.min(capacity) as u64;
        // Exactly the magics `CaptureReader::new` accepts (pcap-parser would also take the
        // "modified" pcap format, which the read path rejects as not a capture).
        let magic: [u8; 4] = head.get(..4)?.try_into().ok()?;
        let format = match super::format_of(magic)? {
            CaptureFormat::Pcapng => {
                parse_sectionheaderblock(head).ok()?;
                Format::Ng { big_endian: false }
            }
            CaptureFormat::Pcap { .. } => {
                let (_, header) = parse_pcap_header(head).ok()?;
                // Never the "modified" format: `format_of` turned it away.
                let parse: FrameParser = if header.is_bigendian() {
                    parse_pcap_frame_be
                } else {
                    parse_pcap_frame
                };
                Format::Legacy { header, parse }
            }
        };
        Some(MappedPcap {
            file,
            file_len: len,
            format,
            window: Some(window),
            buf_start: 0,
            pos: 0,
            buf_end: head_len,
            capacity,
            consumed: 0,
            exhausted: false,
            window_len,
            map_windows: true,
        })
    }

    /// Reads every window after the first as if no map could be made (copied from the file).
    #[cfg(test)]
    pub(super) fn copying_windows(mut self) -> Self {
        self.map_windows = false;
        self
    }

    /// Bytes in the buffer, not yet consumed.
    fn available(&self) -> usize {
        (self.buf_end - self.pos) as usize
    }

    /// Moves the window so that it holds `[self.pos, end)`.
    fn cover(&mut self, end: u64) -> io::Result<()> {
        if let Some(w) = &self.window {
            if self.pos >= w.start && end <= w.end() {
                return Ok(());
            }
        }
        let want = usize::try_from(end - self.pos).unwrap_or(usize::MAX);
        let room = usize::try_from(self.file_len - self.pos).unwrap_or(usize::MAX);
        let len = want.max(self.window_len).min(room);
        // The old window goes first: two would be resident at once.
        self.window = None;
        self.window = Some(Window::of(&self.file, self.pos, len, self.map_windows)?);
        Ok(())
    }
}

/// Reads a byte of each cache line of `bytes`, in order, so that the processor fetches them
/// all at once rather than one record header at a time. Parsing touches the mapped bytes
/// sparsely (a record's header, and only the payloads a decoder reads), and each touch of
/// a line not yet cached went to memory: on large packets that was a fifth of a `story`
/// run and twice the time of reading the file with `read`, whose copy in the kernel
/// brought every line in, in order. Sequential reads the processor prefetches, and the
/// buffer's 256 KiB stays in its caches until parsed.
fn warm(bytes: &[u8]) {
    let seen = bytes.iter().step_by(64).fold(0u8, |seen, &b| seen ^ b);
    std::hint::black_box(seen);
}

/// The bytes of the file from offset `from` to `to`, which the window holds.
fn window_slice(window: &Option<Window>, from: u64, to: u64) -> &[u8] {
    let Some(window) = window else { return &[] };
    let at = |offset: u64| usize::try_from(offset.saturating_sub(window.start)).ok();
    match (at(from), at(to)) {
        (Some(from), Some(to)) => window.as_slice().get(from..to).unwrap_or_default(),
        _ => &[],
    }
}

impl PcapReaderIterator for MappedPcap {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        let (available, position) = (self.available(), self.position());
        if let Format::Legacy { header, .. } = &self.format {
            if self.consumed == 0 {
                return Ok((header.size(), PcapBlockOwned::from(header.clone())));
            }
        }
        if available == 0 && position == 0 && self.exhausted {
            return Err(PcapError::Eof);
        }
        let data = window_slice(&self.window, self.pos, self.buf_end);
        let parsed = match &mut self.format {
            Format::Legacy { parse, .. } => {
                (parse)(data).map(|(rem, b)| (data.len() - rem.len(), PcapBlockOwned::from(b)))
            }
            Format::Ng { big_endian } => {
                let parse = if *big_endian {
                    parse_block_be
                } else {
                    parse_block_le
                };
                parse(data).map(|(rem, b)| {
                    if let Block::SectionHeader(ref shb) = b {
                        *big_endian = shb.big_endian();
                    }
                    (data.len() - rem.len(), PcapBlockOwned::from(b))
                })
            }
        };
        match parsed {
            Ok(done) => Ok(done),
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(_)) if self.exhausted => Err(PcapError::UnexpectedEof),
            Err(nom::Err::Incomplete(nom::Needed::Size(n))) => {
                if available + usize::from(n) >= self.capacity {
                    Err(PcapError::BufferTooSmall)
                } else {
                    Err(PcapError::Incomplete(n.into()))
                }
            }
            Err(nom::Err::Incomplete(nom::Needed::Unknown)) => Err(PcapError::Incomplete(0)),
        }
    }

    fn consume(&mut self, offset: usize) {
        self.consume_noshift(offset);
    }

    fn consume_noshift(&mut self, offset: usize) {
        let offset = offset.min(self.available());
        self.pos += offset as u64;
        self.consumed += offset;
    }

    fn consumed(&self) -> usize {
        self.consumed
    }

    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        // As a reader's buffer: shift what is left to the front, then fill the space from
        // the file (nothing read, if there is no space, leaves the end-of-input flag alone).
        self.buf_start = self.pos;
        let space = self.capacity.saturating_sub(self.available());
        if space == 0 {
            return Ok(());
        }
        if self.buf_end >= self.file_len {
            // At the end as last seen: a capture still being written may have grown.
            if let Ok(meta) = self.file.metadata() {
                self.file_len = self.file_len.max(meta.len());
            }
        }
        let end = (self.buf_end + space as u64).min(self.file_len);
        if self.cover(end).is_err() {
            return Err(PcapError::ReadError);
        }
        warm(window_slice(&self.window, self.buf_end, end));
        self.exhausted = end == self.buf_end;
        self.buf_end = end;
        Ok(())
    }

    fn position(&self) -> usize {
        (self.pos - self.buf_start) as usize
    }

    fn grow(&mut self, new_size: usize) -> bool {
        if new_size <= self.capacity {
            return false;
        }
        self.capacity = new_size;
        true
    }

    fn data(&self) -> &[u8] {
        window_slice(&self.window, self.pos, self.buf_end)
    }

    fn reader_exhausted(&self) -> bool {
        self.exhausted
    }
}
