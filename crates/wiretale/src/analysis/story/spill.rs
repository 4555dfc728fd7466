//! Story steps on disk, so a story's memory does not grow with the capture: the steps are
//! written in sorted runs of [`super::MEMORY_STEPS`] to an anonymous temporary file. Each
//! telling merges the runs into frame order rather than reading a merged copy (writing and
//! reading every step once more cost more than the merge), and names each step's roles as
//! it comes ([`Runs::settle_measured`]: the columns were measured as the steps were
//! recorded). Only when that measure cannot be trusted (steps the pipeline would not make)
//! is every step read once more when the story is complete, to name its roles (kept in file
//! order, 10 bytes a step) and measure the columns ([`Runs::settle`]).

use super::{Step, FIXED_PHRASES};
use crate::capture::Timestamp;
use std::cmp::Reverse;
use std::collections::binary_heap::{BinaryHeap, PeekMut};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::Mutex;

/// Protocol names a step can carry, by their code on disk.
const PROTOS: [&str; 4] = ["TCP", "TLS", "HTTP", "NTLM"];

/// Sorted runs of steps in a temporary file.
#[derive(Debug)]
pub(super) struct Runs {
    file: RecordWriter,
    /// Each run: where it starts, and how many steps it holds.
    runs: Vec<(u64, u64)>,
}

impl Runs {
    pub(super) fn new() -> io::Result<Self> {
        Ok(Runs {
            file: RecordWriter::new(tempfile::tempfile()?),
            runs: Vec::new(),
        })
    }

    /// Writes `steps` (with their recording sequence numbers, sorted by frame then sequence)
    /// as one run.
    pub(super) fn write_run(&mut self, steps: &[(u64, Step)]) -> io::Result<()> {
        let start = self.file.written();
        for (seq, step) in steps {
            self.file.push(*seq, step)?;
        }
        self.runs.push((start, steps.len() as u64));
        Ok(())
    }

    /// Readies the runs and `tail` (sorted like a run) to be told in frame order: merges the
    /// runs down to at most [`MAX_FAN_IN`], names each step's roles with `resolve` (the tail's
    /// in place) and calls `measure` with every step, run by run, then the tail: each line
    /// measured where it opens in a run or the tail, which for the columns is the same as in
    /// frame order (a line continued from another run has the same frame, stream and sender,
    /// so the same receiver). No merge is needed for that, and the merged order is never
    /// written out: each telling merges the runs ([`Sorted::for_each`]), which costs less
    /// than writing and reading back every step once more. Only what `resolve` filled in is
    /// kept for the run steps, in file order: in a second temporary file or, if that cannot
    /// be written (a full disk), in memory (10 bytes a step); `measure` then sees the steps
    /// again from the start.
    pub(super) fn settle(
        self,
        tail: Vec<(u64, Step)>,
        resolve: impl FnMut(&mut Step),
        measure: impl FnMut(&Step),
    ) -> io::Result<Sorted> {
        self.settle_with(MAX_FAN_IN, tail, resolve, measure, tempfile::tempfile)
    }

    /// Readies the runs and `tail` (sorted like a run) to be told in frame order when the
    /// columns are already known: no pass over the runs (merged down to at most
    /// [`MAX_FAN_IN`]); the tail's roles are named with `resolve`, the run steps' each time
    /// they are told ([`Sorted::for_each`]).
    pub(super) fn settle_measured(
        self,
        mut tail: Vec<(u64, Step)>,
        mut resolve: impl FnMut(&mut Step),
    ) -> io::Result<Sorted> {
        let file = self.file.into_inner()?;
        let (file, runs) = reduce(file, self.runs, MAX_FAN_IN)?;
        for (_, step) in &mut tail {
            resolve(step);
        }
        let run_steps = runs.iter().map(|&(_, count)| count).sum::<u64>();
        Ok(Sorted {
            file: Mutex::new(file),
            runs,
            count: run_steps + tail.len() as u64,
            tail,
            resolutions: Resolutions::AtTelling,
        })
    }

    /// [`Runs::settle`], merging at most `fan_in` runs at a time, the roles written to what
    /// `roles_file` makes.
    fn settle_with(
        self,
        fan_in: usize,
        mut tail: Vec<(u64, Step)>,
        mut resolve: impl FnMut(&mut Step),
        mut measure: impl FnMut(&Step),
        roles_file: impl FnOnce() -> io::Result<File>,
    ) -> io::Result<Sorted> {
        let file = self.file.into_inner()?;
        let (file, runs) = reduce(file, self.runs, fan_in.max(2))?;
        let file = Mutex::new(file);
        for (_, step) in &mut tail {
            resolve(step);
        }
        // One pass over the runs in file order (no merge: naming roles and measuring
        // columns need no order) that resolves each run step and hands its resolution to
        // `keep`: into the roles file, or, if that cannot be written, into memory. Only the
        // fields roles and columns depend on are read back, not the text.
        let mut resolve_in_file_order = |keep: &mut dyn FnMut(Resolution) -> io::Result<()>| {
            let mut count = 0u64;
            let (mut scratch, mut step) = (Vec::new(), Step::default());
            for &(start, steps) in &runs {
                let mut reader = SharedReader::new(&file, start, SETTLE_BUFFER);
                for _ in 0..steps {
                    let record = reader.next_record(&mut scratch)?;
                    parse_into(record, &mut step, Part::Head)
                        .ok_or_else(|| bad("damaged record"))?;
                    resolve(&mut step);
                    keep(Resolution::of(&step))?;
                    measure(&step);
                    count += 1;
                }
            }
            for (_, step) in &tail {
                measure(step);
                count += 1;
            }
            Ok::<_, io::Error>(count)
        };
        let to_file = (|| {
            let mut out = BufWriter::with_capacity(1 << 16, roles_file()?);
            let count = resolve_in_file_order(&mut |r| out.write_all(&r.0))?;
            let roles = out.into_inner().map_err(|e| e.into_error())?;
            Ok::<_, io::Error>((Resolutions::File(Mutex::new(roles)), count))
        })();
        let (resolutions, count) = match to_file {
            Ok(done) => done,
            Err(_) => {
                // Reserved up front: exactly one resolution per run step (doubling would
                // need up to twice that), and a story too large for memory fails here, as
                // an error, rather than aborting the process.
                let run_steps = runs.iter().map(|&(_, count)| count).sum::<u64>();
                let mut kept = Vec::new();
                usize::try_from(run_steps)
                    .ok()
                    .and_then(|n| kept.try_reserve_exact(n).ok())
                    .ok_or_else(|| bad("no room in memory for the roles of the steps"))?;
                let count = resolve_in_file_order(&mut |r| {
                    kept.push(r);
                    Ok(())
                })?;
                (Resolutions::Memory(kept), count)
            }
        };
        Ok(Sorted {
            file,
            runs,
            tail,
            resolutions,
            count,
        })
    }
}

/// Runs merged at once: each has a read buffer ([`RUN_BUFFER`]), so this bounds the memory
/// of a merge and of each telling (4 MiB); a story of more runs (over 8 M steps) is first
/// merged in rounds.
const MAX_FAN_IN: usize = 512;

/// Read buffer of each run during a merge.
const RUN_BUFFER: usize = 1 << 13;

/// Merges groups of `fan_in` runs into single runs, in a new file, until at most `fan_in`
/// remain (a round re-reads and re-writes every step).
fn reduce(
    mut file: File,
    mut runs: Vec<(u64, u64)>,
    fan_in: usize,
) -> io::Result<(File, Vec<(u64, u64)>)> {
    while runs.len() > fan_in {
        let source = Mutex::new(file);
        let mut out = RecordWriter::new(tempfile::tempfile()?);
        let mut merged = Vec::new();
        for group in runs.chunks(fan_in) {
            let start = out.written();
            let steps = merge_into(
                &source,
                group,
                &[],
                |_, _| Ok(()),
                |seq, step| out.push(seq, step),
            )?;
            merged.push((start, steps));
        }
        file = out.into_inner()?;
        runs = merged;
    }
    Ok((file, runs))
}

/// What [`Runs::settle`]'s `resolve` fills in for a step: its roles and its connection's
/// last frame.
#[derive(Debug, Clone, Copy)]
struct Resolution([u8; RESOLUTION_LEN]);

/// Bytes of a [`Resolution`].
const RESOLUTION_LEN: usize = 10;

/// Read buffer of each run's resolutions during a telling (100 steps).
const RESOLUTION_BUFFER: usize = 100 * RESOLUTION_LEN;

/// Read buffer of the pass that names the run steps' roles (one run at a time).
const SETTLE_BUFFER: usize = 1 << 16;

impl Resolution {
    fn of(step: &Step) -> Self {
        let mut bytes = [0u8; RESOLUTION_LEN];
        let (roles, last) = bytes.split_at_mut(2);
        roles.copy_from_slice(&step.roles);
        last.copy_from_slice(&step.stream_last_frame.to_le_bytes());
        Resolution(bytes)
    }

    fn apply(&self, step: &mut Step) {
        let (roles, last) = self.0.split_at(2);
        if let (Ok(roles), Ok(last)) = (roles.try_into(), last.try_into()) {
            step.roles = roles;
            step.stream_last_frame = u64::from_le_bytes(last);
        }
    }
}

/// The run steps' [`Resolution`]s in file order.
#[derive(Debug)]
enum Resolutions {
    File(Mutex<File>),
    Memory(Vec<Resolution>),
    /// None kept: named as each step is told ([`Runs::settle_measured`]).
    AtTelling,
}

/// The k-way merge of the runs in `file` and `tail`, by (frame, recording order): each run
/// step is first completed by `complete`, then every step goes to `out` in order. One file
/// handle serves every run: each run reads from its own position ([`SharedReader`]; a handle
/// per run would run out of descriptors on a huge story). Each run's current step is
/// refilled in place, so a merge allocates per run, not per step.
fn merge_into(
    file: &Mutex<File>,
    runs: &[(u64, u64)],
    tail: &[(u64, Step)],
    mut complete: impl FnMut(usize, &mut Step) -> io::Result<()>,
    mut out: impl FnMut(u64, &Step) -> io::Result<()>,
) -> io::Result<u64> {
    let mut readers: Vec<RunReader> = runs
        .iter()
        .map(|&(start, count)| RunReader {
            reader: SharedReader::new(file, start, RUN_BUFFER),
            left: count,
            scratch: Vec::new(),
            current: (0, Step::default()),
        })
        .collect();
    // Heads of each source: (frame, sequence) keys, smallest first. Source `runs.len()` is the
    // tail in memory.
    let mut heads: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if r.advance()? {
            heads.push(Reverse((r.current.1.frame, r.current.0, i)));
        }
    }
    let tail_source = readers.len();
    let mut tail_at = 0;
    if let Some((seq, step)) = tail.first() {
        heads.push(Reverse((step.frame, *seq, tail_source)));
    }
    let mut count = 0u64;
    // The smallest head is replaced in place by its source's next step (or removed when the
    // source is spent): runs of a capture barely overlap, so the next step usually stays on
    // top and the heap checks two children instead of a pop and a push through every level.
    while let Some(mut top) = heads.peek_mut() {
        let Reverse((_, _, source)) = *top;
        let next = if source == tail_source {
            if let Some((seq, step)) = tail.get(tail_at) {
                out(*seq, step)?;
            }
            tail_at += 1;
            tail.get(tail_at).map(|(seq, step)| (step.frame, *seq))
        } else if let Some(r) = readers.get_mut(source) {
            complete(source, &mut r.current.1)?;
            out(r.current.0, &r.current.1)?;
            (r.advance()?).then_some((r.current.1.frame, r.current.0))
        } else {
            None
        };
        match next {
            Some((frame, seq)) => *top = Reverse((frame, seq, source)),
            None => {
                PeekMut::pop(top);
            }
        }
        count += 1;
    }
    Ok(count)
}

/// All the steps, ready to be told in frame order ([`Runs::settle`]): sorted runs in an
/// anonymous temporary file (gone when the process ends, however it ends), the tail in
/// memory, and the run steps' roles.
#[derive(Debug)]
pub(super) struct Sorted {
    /// Each telling reads from its own positions; the lock is held only to seek and fill a
    /// buffer, so tellings may overlap (from two threads, or one inside another).
    file: Mutex<File>,
    runs: Vec<(u64, u64)>,
    tail: Vec<(u64, Step)>,
    resolutions: Resolutions,
    count: u64,
}

impl Sorted {
    /// How many steps.
    pub(super) fn len(&self) -> u64 {
        self.count
    }

    /// Calls `each` with every step in order, run steps named by `resolve` if their roles
    /// were not kept ([`Runs::settle_measured`]).
    pub(super) fn for_each(
        &self,
        mut resolve: impl FnMut(&mut Step),
        mut each: impl FnMut(&Step),
    ) -> io::Result<()> {
        // Each run step takes the next resolution of its run; there must be exactly one per
        // run step, and the merge must give back every step: a damaged file is an error,
        // never roles silently given to the wrong steps' neighbours.
        let mut readers = match self.resolutions {
            Resolutions::AtTelling => None,
            _ => Some(self.resolutions.readers(&self.runs)?),
        };
        let told = merge_into(
            &self.file,
            &self.runs,
            &self.tail,
            |run, step| match readers.as_mut().map(|r| r.get_mut(run)) {
                None => {
                    resolve(step);
                    Ok(())
                }
                Some(Some(reader)) => reader.next().map(|r| r.apply(step)),
                Some(None) => Err(bad("roles missing for a run")),
            },
            |_, step| {
                each(step);
                Ok(())
            },
        )?;
        if told != self.count {
            return Err(bad("roles file does not match the steps"));
        }
        Ok(())
    }
}

impl Resolutions {
    /// A reader of each run's resolutions (they are kept run after run, in file order),
    /// once it is checked that there is exactly one per run step.
    fn readers(&self, runs: &[(u64, u64)]) -> io::Result<Vec<ResolutionReader<'_>>> {
        let run_steps = runs.iter().map(|&(_, count)| count).sum::<u64>();
        let matches = match self {
            Resolutions::File(file) => {
                let file = file.lock().map_err(|_| bad("a reader panicked"))?;
                let len = file.metadata()?.len();
                Some(len) == run_steps.checked_mul(RESOLUTION_LEN as u64)
            }
            Resolutions::Memory(kept) => kept.len() as u64 == run_steps,
            Resolutions::AtTelling => true,
        };
        if !matches {
            return Err(bad("roles file does not match the steps"));
        }
        let mut first = 0u64;
        let mut readers = Vec::with_capacity(runs.len());
        for &(_, count) in runs {
            readers.push(match self {
                Resolutions::File(file) => ResolutionReader::File(SharedReader::new(
                    file,
                    first * RESOLUTION_LEN as u64,
                    RESOLUTION_BUFFER,
                )),
                Resolutions::Memory(kept) => {
                    let (from, to) = (usize::try_from(first), usize::try_from(first + count));
                    let run = match (from, to) {
                        (Ok(from), Ok(to)) => kept.get(from..to).unwrap_or_default(),
                        _ => &[],
                    };
                    ResolutionReader::Memory(run.iter())
                }
                // Not called for these: `Sorted::for_each` names their roles itself.
                Resolutions::AtTelling => return Err(bad("no roles kept for the steps")),
            });
            first += count;
        }
        Ok(readers)
    }
}

/// Reads one run's [`Resolutions`] in order, for one telling.
enum ResolutionReader<'r> {
    File(SharedReader<'r>),
    Memory(std::slice::Iter<'r, Resolution>),
}

impl ResolutionReader<'_> {
    fn next(&mut self) -> io::Result<Resolution> {
        match self {
            ResolutionReader::File(reader) => {
                let bytes =
                    (reader.read_array()).map_err(|_| bad("roles file ends before the steps"))?;
                Ok(Resolution(bytes))
            }
            ResolutionReader::Memory(kept) => {
                (kept.next().copied()).ok_or_else(|| bad("roles missing for a step"))
            }
        }
    }
}

/// Reads a file shared under a lock from its own position, a buffer at a time: the lock is
/// held only to seek and fill the buffer, so several readers may interleave.
struct SharedReader<'f> {
    file: &'f Mutex<File>,
    at: u64,
    buffer: Vec<u8>,
    used: usize,
    size: usize,
}

impl<'f> SharedReader<'f> {
    fn new(file: &'f Mutex<File>, at: u64, size: usize) -> Self {
        SharedReader {
            file,
            at,
            buffer: Vec::new(),
            used: 0,
            size,
        }
    }
}

impl SharedReader<'_> {
    /// The next record written by [`encode_into`] (its length, then that many bytes): borrowed
    /// from the buffer when it lies there whole (most do), else gathered in `scratch`.
    fn next_record<'s>(&'s mut self, scratch: &'s mut Vec<u8>) -> io::Result<&'s [u8]> {
        let len = u32::from_le_bytes(self.read_array()?);
        if len > MAX_RECORD {
            return Err(bad("record too long"));
        }
        let len = len as usize;
        let (start, end) = (self.used, self.used.saturating_add(len));
        if end <= self.buffer.len() {
            self.used = end;
            return Ok(self.buffer.get(start..end).unwrap_or_default());
        }
        scratch.clear();
        scratch.resize(len, 0);
        self.read_exact(scratch)?;
        Ok(scratch)
    }

    /// The next `N` bytes: from the buffer when they lie there whole (a `read_exact` per
    /// record length or resolution cost a hundred instructions), else read across a refill.
    fn read_array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut out = [0u8; N];
        let end = self.used.saturating_add(N);
        match self.buffer.get(self.used..end) {
            Some(bytes) => {
                out.copy_from_slice(bytes);
                self.used = end;
            }
            None => self.read_exact(&mut out)?,
        }
        Ok(out)
    }
}

impl Read for SharedReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.used >= self.buffer.len() {
            let mut file = self
                .file
                .lock()
                .map_err(|_| io::Error::other("story spill file: a reader panicked"))?;
            self.buffer.resize(self.size, 0);
            file.seek(SeekFrom::Start(self.at))?;
            let n = file.read(&mut self.buffer)?;
            self.buffer.truncate(n);
            self.at += n as u64;
            self.used = 0;
        }
        let available = self.buffer.get(self.used..).unwrap_or_default();
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.used += n;
        Ok(n)
    }
}

/// Reads the steps of one run, one at a time into `current` (refilled in place).
struct RunReader<'f> {
    reader: SharedReader<'f>,
    left: u64,
    scratch: Vec<u8>,
    /// The step last read, with its sequence number.
    current: (u64, Step),
}

impl RunReader<'_> {
    /// Reads the run's next step into `current`; false at the end of the run.
    fn advance(&mut self) -> io::Result<bool> {
        if self.left == 0 {
            return Ok(false);
        }
        self.left -= 1;
        let record = self.reader.next_record(&mut self.scratch)?;
        self.current.0 = parse_into(record, &mut self.current.1, Part::Whole)
            .ok_or_else(|| bad("damaged record"))?;
        Ok(true)
    }
}

/// Writes records to a file through its own buffer, each built where it is buffered (through
/// a `BufWriter`, each record was built apart and copied: 2 % of a `story` run).
#[derive(Debug)]
struct RecordWriter {
    file: File,
    buffer: Vec<u8>,
    /// Bytes written to the file so far.
    flushed: u64,
    /// A write failed: how much of the buffer reached the file is unknown, so every later
    /// write fails too (the runs' offsets would be wrong).
    failed: bool,
}

impl RecordWriter {
    /// Buffer size: written out once it holds this much.
    const BUFFER: usize = 1 << 16;

    fn new(file: File) -> Self {
        RecordWriter {
            file,
            buffer: Vec::with_capacity(Self::BUFFER + 256),
            flushed: 0,
            failed: false,
        }
    }

    /// Where the next record goes in the file.
    fn written(&self) -> u64 {
        self.flushed + self.buffer.len() as u64
    }

    fn push(&mut self, seq: u64, step: &Step) -> io::Result<()> {
        if self.failed {
            return Err(bad("an earlier write failed"));
        }
        encode_into(&mut self.buffer, seq, step)?;
        if self.buffer.len() >= Self::BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed {
            return Err(bad("an earlier write failed"));
        }
        if let Err(e) = self.file.write_all(&self.buffer) {
            self.failed = true;
            return Err(e);
        }
        self.flushed += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// The file, every record written.
    fn into_inner(mut self) -> io::Result<File> {
        self.flush()?;
        Ok(self.file)
    }
}

/// Writes one step as a record (see [`encode_into`]).
#[cfg(test)]
fn encode(out: &mut impl Write, seq: u64, s: &Step, r: &mut Vec<u8>) -> io::Result<()> {
    r.clear();
    encode_into(r, seq, s)?;
    out.write_all(r)
}

/// A record after its length: the step's fields of fixed size at fixed places (written and
/// read as one block: field by field, each appended or taken with its own checks, they cost
/// twice as much), then its variable parts, in this order: the frame list (8 bytes a frame),
/// the sender's and the receiver's address ([`ADDR_V4`] or [`ADDR_V6`] bytes, or none), and
/// the text's bytes unless it is a fixed phrase.
mod layout {
    /// Recording sequence number (u64).
    pub(super) const SEQ: usize = 0;
    /// The step's frame (u64).
    pub(super) const FRAME: usize = 8;
    /// Seconds (i64) and nanoseconds (u32) of its time.
    pub(super) const SECS: usize = 16;
    pub(super) const NANOS: usize = 24;
    /// Stream number (u64), when [`HAS_STREAM`] is set.
    pub(super) const STREAM: usize = 28;
    /// Frames in the list (u32); `u32::MAX`: just the step's own frame, no list.
    pub(super) const FRAMES: usize = 36;
    /// The text's length in bytes (u32), or the place of its fixed phrase when
    /// [`PHRASE`] is set.
    pub(super) const TEXT: usize = 40;
    /// Four bytes: the flags ([`HAS_STREAM`], [`ONGOING`], [`PHRASE`]), the protocol's
    /// place in `PROTOS`, and the kinds of the sender's and the receiver's address (0:
    /// none, 4 or 6).
    pub(super) const FLAGS: usize = 44;
    pub(super) const LEN: usize = 48;

    pub(super) const HAS_STREAM: u8 = 1;
    pub(super) const ONGOING: u8 = 2;
    /// The text is a fixed phrase, stored as its place in the list (read back without
    /// reading or checking its bytes).
    pub(super) const PHRASE: u8 = 4;

    /// Writes `bytes` at `at`.
    pub(super) fn put<const N: usize>(head: &mut [u8; LEN], at: usize, bytes: [u8; N]) {
        if let Some(place) = head.get_mut(at..at + N) {
            place.copy_from_slice(&bytes);
        }
    }

    /// The `N` bytes at `at`.
    pub(super) fn get<const N: usize>(head: &[u8; LEN], at: usize) -> [u8; N] {
        let mut bytes = [0; N];
        if let Some(place) = head.get(at..at + N) {
            bytes.copy_from_slice(place);
        }
        bytes
    }
}

/// Bytes of an IPv4 address on disk: the address, the port.
const ADDR_V4: usize = 4 + 2;
/// Bytes of an IPv6 address on disk: the address, the port, the flow label, the scope.
const ADDR_V6: usize = 16 + 2 + 4 + 4;

/// Appends one step to `r` as a record: its length (u32), then its fields ([`layout`]). On an
/// error `r` is left as it was.
fn encode_into(r: &mut Vec<u8>, seq: u64, s: &Step) -> io::Result<()> {
    // A fixed phrase is stored as its place in the list, any other text as its bytes. A
    // step read back holds its phrase as an owned copy (a merge round writes it again):
    // compared by content.
    let text: &str = &s.text;
    let phrase = FIXED_PHRASES.iter().position(|p| *p == text);
    let text = match phrase {
        Some(_) => "",
        // A record must come back: a text beyond what decode accepts is cut (at a
        // character).
        None if text.len() > MAX_TEXT => {
            let mut cut = MAX_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.get(..cut).unwrap_or_default()
        }
        None => text,
    };
    let frames: &[u64] = match u32::try_from(s.frames.len()) {
        Ok(n) if n < u32::MAX => &s.frames,
        _ => s.frames.get(..u32::MAX as usize - 1).unwrap_or_default(),
    };
    let flags = if s.stream.is_some() {
        layout::HAS_STREAM
    } else {
        0
    } | if s.ongoing { layout::ONGOING } else { 0 }
        | if phrase.is_some() { layout::PHRASE } else { 0 };
    let mut fixed = [0u8; layout::LEN];
    layout::put(&mut fixed, layout::SEQ, seq.to_le_bytes());
    layout::put(&mut fixed, layout::FRAME, s.frame.to_le_bytes());
    layout::put(&mut fixed, layout::SECS, s.time.secs.to_le_bytes());
    layout::put(&mut fixed, layout::NANOS, s.time.nanos.to_le_bytes());
    layout::put(
        &mut fixed,
        layout::STREAM,
        s.stream.unwrap_or(0).to_le_bytes(),
    );
    // An empty list is just the step's own frame. `frames` and `MAX_TEXT` fit 32 bits.
    let listed = if s.frames.is_empty() {
        u32::MAX
    } else {
        frames.len() as u32
    };
    layout::put(&mut fixed, layout::FRAMES, listed.to_le_bytes());
    let text_field = phrase.map_or(text.len(), |code| code) as u32;
    layout::put(&mut fixed, layout::TEXT, text_field.to_le_bytes());
    // Not the roles nor the connection's last frame: a step is spilled before they are
    // named (`Runs::settle` keeps them apart for each telling), and comes back without them.
    let proto = PROTOS.iter().position(|p| *p == s.proto).unwrap_or(0) as u8;
    let [src, dst] = [s.src, s.dst].map(addr_kind);
    layout::put(&mut fixed, layout::FLAGS, [flags, proto, src, dst]);
    let start = r.len();
    r.reserve(4 + layout::LEN + 8 * frames.len() + 2 * ADDR_V6 + text.len());
    r.extend_from_slice(&[0; 4]);
    r.extend_from_slice(&fixed);
    for f in frames {
        r.extend_from_slice(&f.to_le_bytes());
    }
    encode_addr(r, s.src);
    encode_addr(r, s.dst);
    r.extend_from_slice(text.as_bytes());
    finish_record(r, start)
}

/// Writes the length of the record built in `r` from `start` in the four bytes left for it.
fn finish_record(r: &mut Vec<u8>, start: usize) -> io::Result<()> {
    let body = r.len().saturating_sub(start + 4);
    let Ok(len) = u32::try_from(body) else {
        r.truncate(start);
        return Err(bad("step too large"));
    };
    if let Some(at) = r.get_mut(start..start + 4) {
        at.copy_from_slice(&len.to_le_bytes());
    }
    Ok(())
}

/// The kind of an address in a record's [`layout`].
fn addr_kind(addr: Option<SocketAddr>) -> u8 {
    match addr {
        None => 0,
        Some(SocketAddr::V4(_)) => 4,
        Some(SocketAddr::V6(_)) => 6,
    }
}

/// Appends the bytes of an address ([`ADDR_V4`], [`ADDR_V6`]).
fn encode_addr(r: &mut Vec<u8>, addr: Option<SocketAddr>) {
    match addr {
        None => {}
        Some(SocketAddr::V4(a)) => {
            let mut bytes = [0u8; ADDR_V4];
            let (ip, port) = bytes.split_at_mut(4);
            ip.copy_from_slice(&a.ip().octets());
            port.copy_from_slice(&a.port().to_le_bytes());
            r.extend_from_slice(&bytes);
        }
        Some(SocketAddr::V6(a)) => {
            r.extend_from_slice(&a.ip().octets());
            r.extend_from_slice(&a.port().to_le_bytes());
            r.extend_from_slice(&a.flowinfo().to_le_bytes());
            r.extend_from_slice(&a.scope_id().to_le_bytes());
        }
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("story spill file: {what}"),
    )
}

/// Largest record accepted back (a step's text is a line of the story; its frame list is
/// capped when events are made).
const MAX_RECORD: u32 = 1 << 24;
/// Longest text a record carries: what fits a record beside the other fields and a frame
/// list of any length events carry.
const MAX_TEXT: usize = (1 << 24) - 64 * 1024;

/// Reads one record written by [`encode`] as a new step, with its sequence number.
#[cfg(test)]
fn decode(r: &mut impl Read, scratch: &mut Vec<u8>) -> io::Result<(u64, Step)> {
    let mut step = Step::default();
    let seq = decode_into(r, scratch, &mut step)?;
    Ok((seq, step))
}

/// Reads one record written by [`encode`] (through `scratch`, reused between records) into
/// `step`, reusing its text and frame list; gives its sequence number.
#[cfg(test)]
fn decode_into(r: &mut impl Read, scratch: &mut Vec<u8>, step: &mut Step) -> io::Result<u64> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > MAX_RECORD {
        return Err(bad("record too long"));
    }
    scratch.clear();
    scratch.resize(len as usize, 0);
    r.read_exact(scratch)?;
    parse_into(scratch, step, Part::Whole).ok_or_else(|| bad("damaged record"))
}

/// The fields of a record, read front to back.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }
    /// An address of the kind its record's [`layout`] gives.
    fn addr(&mut self, kind: u8) -> Option<Option<SocketAddr>> {
        Some(match kind {
            0 => None,
            4 => {
                let [a, b, c, d, p0, p1] = self.array::<ADDR_V4>()?;
                let ip = Ipv4Addr::new(a, b, c, d);
                Some(SocketAddr::new(
                    IpAddr::V4(ip),
                    u16::from_le_bytes([p0, p1]),
                ))
            }
            6 => {
                let ip = Ipv6Addr::from(self.array::<16>()?);
                let port = self.u16()?;
                let flowinfo = self.u32()?;
                let scope = self.u32()?;
                Some(SocketAddr::V6(SocketAddrV6::new(ip, port, flowinfo, scope)))
            }
            _ => return None,
        })
    }
}

/// A record's text, as stored.
enum Text<'a> {
    Phrase(&'static str),
    Inline(&'a [u8]),
}

/// How much of a record [`parse_into`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Every field.
    Whole,
    /// What roles and columns depend on: the frame, stream, addresses, protocol (the frame
    /// list and text are skipped, and left as they were).
    Head,
}

/// Reads one record (after its length) into `step` and gives its sequence number; `None`
/// if it is damaged.
fn parse_into(record: &[u8], step: &mut Step, part: Part) -> Option<u64> {
    let (fixed, rest) = record.split_first_chunk::<{ layout::LEN }>()?;
    let u64_at = |at| u64::from_le_bytes(layout::get(fixed, at));
    let u32_at = |at| u32::from_le_bytes(layout::get(fixed, at));
    let [flags, proto, src, dst] = layout::get(fixed, layout::FLAGS);
    step.frame = u64_at(layout::FRAME);
    step.time = Timestamp {
        secs: i64::from_le_bytes(layout::get(fixed, layout::SECS)),
        nanos: u32_at(layout::NANOS),
    };
    step.stream = (flags & layout::HAS_STREAM != 0).then(|| u64_at(layout::STREAM));
    step.proto = PROTOS.get(usize::from(proto)).copied().unwrap_or("TCP");
    step.ongoing = flags & layout::ONGOING != 0;
    // Not stored: named later, and given back to each telling apart.
    step.roles = [0, 0];
    step.stream_last_frame = u64::MAX;
    let mut f = Fields(rest);
    let frames = match u32_at(layout::FRAMES) {
        u32::MAX => None,
        n => Some(f.take(usize::try_from(n).ok()?.checked_mul(8)?)?),
    };
    step.src = f.addr(src)?;
    step.dst = f.addr(dst)?;
    let text = match u32_at(layout::TEXT) {
        code if flags & layout::PHRASE != 0 => {
            Text::Phrase(FIXED_PHRASES.get(usize::try_from(code).ok()?)?)
        }
        len => Text::Inline(f.take(usize::try_from(len).ok()?)?),
    };
    if part == Part::Whole {
        let list = &mut step.frames;
        list.clear();
        if let Some(bytes) = frames {
            list.extend(
                (bytes.chunks_exact(8)).filter_map(|c| c.try_into().ok().map(u64::from_le_bytes)),
            );
        }
        // Refilled in place, the step's one text buffer reused for every record.
        let refill = step.text.to_mut();
        refill.clear();
        refill.push_str(match text {
            Text::Phrase(phrase) => phrase,
            Text::Inline(bytes) => std::str::from_utf8(bytes).ok()?,
        });
    }
    Some(u64_at(layout::SEQ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Frames;
    use std::borrow::Cow;

    fn step(frame: u64, frames: Option<Vec<u64>>, src: Option<&str>, text: &str) -> Step {
        Step {
            frame,
            frames: frames.map(Frames::from).unwrap_or_default(),
            time: Timestamp {
                secs: -5,
                nanos: 999_999_999,
            },
            stream: (frame % 2 == 0).then(|| frame.wrapping_mul(1000)),
            src: src.map(|s| s.parse().unwrap()),
            dst: Some("[fe80::1%7]:443".parse().unwrap()),
            // Unresolved, as every spilled step is.
            roles: [0, 0],
            proto: PROTOS[(frame % 4) as usize],
            text: text.to_owned().into(),
            ongoing: frame % 3 == 0,
            stream_last_frame: u64::MAX,
        }
    }

    #[test]
    fn steps_survive_the_round_trip() {
        let steps = [
            step(1, None, Some("10.0.0.1:5"), "starts 3-way handshake"),
            step(2, Some(vec![]), None, ""),
            step(
                3,
                Some(vec![1, 2, 3]),
                Some("[::1]:80"),
                "Application Data … ✓",
            ),
            step(u64::MAX, None, Some("255.255.255.255:65535"), "x"),
        ];
        // One record buffer and one step refilled for all: nothing of a record stays behind
        // in the next.
        let (mut record, mut reused) = (Vec::new(), Step::default());
        for (i, s) in steps.iter().chain(steps.iter().rev()).enumerate() {
            let mut bytes = Vec::new();
            encode(&mut bytes, i as u64, s, &mut record).unwrap();
            let (seq, back) = decode(&mut bytes.as_slice(), &mut Vec::new()).unwrap();
            assert_eq!(seq, i as u64);
            assert_eq!(format!("{back:?}"), format!("{s:?}"));
            let seq = decode_into(&mut bytes.as_slice(), &mut Vec::new(), &mut reused).unwrap();
            assert_eq!(seq, i as u64);
            assert_eq!(format!("{reused:?}"), format!("{s:?}"));
        }
        // Roles and the connection's last frame are named after the spill, not stored: a
        // step read back has them unresolved, even into a step that had them.
        let named = Step {
            roles: [1, 2],
            stream_last_frame: 9,
            ..steps[0].clone()
        };
        let mut bytes = Vec::new();
        encode(&mut bytes, 0, &named, &mut record).unwrap();
        let (_, back) = decode(&mut bytes.as_slice(), &mut Vec::new()).unwrap();
        assert_eq!(format!("{back:?}"), format!("{:?}", steps[0]));
        decode_into(&mut bytes.as_slice(), &mut Vec::new(), &mut reused).unwrap();
        assert_eq!((reused.roles, reused.stream_last_frame), ([0, 0], u64::MAX));
    }

    #[test]
    fn fixed_phrases_are_stored_by_their_place() {
        let mut record = Vec::new();
        for (code, phrase) in FIXED_PHRASES.iter().enumerate() {
            let mut borrowed = step(4, None, Some("10.0.0.1:5"), "");
            borrowed.text = Cow::Borrowed(phrase);
            let owned = step(4, None, Some("10.0.0.1:5"), phrase);
            let (mut short, mut long) = (Vec::new(), Vec::new());
            encode(&mut short, 1, &borrowed, &mut record).unwrap();
            encode(&mut long, 1, &owned, &mut record).unwrap();
            // The phrase's bytes are not in the record, only its place, whether the step
            // borrows the phrase or holds a copy (as one read back does).
            assert_eq!(short, long);
            let fixed: &[u8; layout::LEN] = short[4..].first_chunk().unwrap();
            assert_ne!(fixed[layout::FLAGS] & layout::PHRASE, 0);
            assert_eq!(
                layout::get(fixed, layout::TEXT),
                (code as u32).to_le_bytes()
            );
            // The length, the fixed fields, the two addresses (IPv4, IPv6), no text.
            assert_eq!(short.len(), 4 + layout::LEN + ADDR_V4 + ADDR_V6);
            let mut other = Vec::new();
            let not_phrase = step(4, None, Some("10.0.0.1:5"), &phrase[1..]);
            encode(&mut other, 1, &not_phrase, &mut record).unwrap();
            assert_eq!(short.len() + phrase.len() - 1, other.len());
            for (bytes, text) in [(&short, *phrase), (&other, &phrase[1..])] {
                let (_, back) = decode(&mut bytes.as_slice(), &mut Vec::new()).unwrap();
                assert_eq!(back.text, text);
                let mut head = Step::default();
                let record = &bytes[4..];
                assert_eq!(parse_into(record, &mut head, Part::Head), Some(1));
                assert_eq!((head.frame, head.text.as_ref()), (4, ""));
            }
            // A place beyond the list, or an inline text longer than the record, is damage.
            for (flags, text) in [(fixed[layout::FLAGS], 0xee), (0, 1)] {
                let mut damaged = short.clone();
                damaged[4 + layout::FLAGS] = flags;
                damaged[4 + layout::TEXT] = text;
                assert!(decode(&mut damaged.as_slice(), &mut Vec::new()).is_err());
            }
        }
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        encode(
            &mut bytes,
            0,
            &step(3, Some(vec![1]), Some("10.0.0.1:5"), "text"),
            &mut Vec::new(),
        )
        .unwrap();
        for cut in 0..bytes.len() {
            assert!(
                decode(&mut &bytes[..cut], &mut Vec::new()).is_err(),
                "cut at {cut}"
            );
        }
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0xff;
            let _ = decode(&mut damaged.as_slice(), &mut Vec::new());
        }
    }

    #[test]
    fn runs_merge_in_frame_then_recording_order() {
        let mut runs = Runs::new().unwrap();
        runs.write_run(&[(0, step(5, None, None, "a")), (2, step(9, None, None, "c"))])
            .unwrap();
        runs.write_run(&[(1, step(5, None, None, "b")), (3, step(7, None, None, "d"))])
            .unwrap();
        let tail = vec![(4, step(1, None, None, "e")), (5, step(9, None, None, "f"))];
        let (mut resolved, mut measured) = (0, Vec::new());
        let sorted = runs
            .settle(
                tail,
                |s| {
                    resolved += 1;
                    s.roles = [1, 2];
                    s.stream_last_frame = s.frame * 10;
                },
                |s| measured.push(s.frame),
            )
            .unwrap();
        assert_eq!(sorted.len(), 6);
        assert_eq!(resolved, 6);
        // Measured run by run, then the tail: no merge is needed for the columns.
        assert_eq!(measured, [5, 9, 5, 7, 1, 9]);
        let mut texts = String::new();
        sorted
            .for_each(
                |_| {},
                |s| {
                    assert_eq!((s.roles, s.stream_last_frame), ([1, 2], s.frame * 10));
                    texts.push_str(&s.text);
                },
            )
            .unwrap();
        assert_eq!(texts, "eabdcf");
        // Told twice, the same; and one telling inside another does not disturb it.
        let mut again = String::new();
        let mut nested = 0;
        sorted
            .for_each(
                |_| {},
                |s| {
                    again.push_str(&s.text);
                    sorted.for_each(|_| {}, |_| nested += 1).unwrap();
                },
            )
            .unwrap();
        assert_eq!(again, texts);
        assert_eq!(nested, 36);
    }

    /// Roles that cannot be written (a full disk: `/dev/full`) are kept in memory; the story
    /// is whole and in order, with the roles resolved, whether the write fails only when the
    /// buffer is flushed at the end (3 steps a run) or part-way, when the 64 KiB buffer first
    /// fills (10 000 steps a run), after some steps were measured.
    #[test]
    fn roles_that_cannot_be_written_are_kept_in_memory() {
        for steps_per_run in [3u64, 10_000] {
            let mut runs = Runs::new().unwrap();
            let mut seq = 0;
            for run in 0..3u64 {
                let steps: Vec<(u64, Step)> = (0..steps_per_run)
                    .map(|i| {
                        seq += 1;
                        (seq, step(i * 4 + run, None, None, &format!("{seq};")))
                    })
                    .collect();
                runs.write_run(&steps).unwrap();
            }
            let tail: Vec<(u64, Step)> = (0..steps_per_run)
                .map(|i| {
                    seq += 1;
                    (seq, step(i * 4 + 3, None, None, &format!("{seq};")))
                })
                .collect();
            // Frames i*4 + run (run 3: the tail) are distinct, so frame order is the order.
            let mut all: Vec<(u64, String)> = Vec::new();
            for i in 0..steps_per_run {
                for run in 0..4u64 {
                    let seq = if run < 3 {
                        run * steps_per_run + i + 1
                    } else {
                        3 * steps_per_run + i + 1
                    };
                    all.push((i * 4 + run, format!("{seq};")));
                }
            }
            all.sort();
            let expected: String = all.iter().map(|(_, t)| t.as_str()).collect();
            let full = || std::fs::OpenOptions::new().write(true).open("/dev/full");
            let resolve = |s: &mut Step| {
                s.roles = [2, 1];
                s.stream_last_frame = s.frame + 1;
            };
            let mut measured = 0u64;
            let sorted = runs
                .settle_with(MAX_FAN_IN, tail, resolve, |_| measured += 1, full)
                .unwrap();
            assert!(matches!(sorted.resolutions, Resolutions::Memory(_)));
            assert!(measured >= 4 * steps_per_run);
            let mut texts = String::new();
            sorted
                .for_each(
                    |_| {},
                    |s| {
                        assert_eq!((s.roles, s.stream_last_frame), ([2, 1], s.frame + 1));
                        texts.push_str(&s.text);
                    },
                )
                .unwrap();
            assert_eq!(texts, expected, "{steps_per_run} steps a run");
        }
    }

    /// More runs than are merged at once: merged in rounds, same order.
    #[test]
    fn many_runs_merge_in_rounds() {
        for fan_in in [2, 3, 7, 100] {
            let mut runs = Runs::new().unwrap();
            let mut seq = 0;
            let mut expected = Vec::new();
            for run in 0..20u64 {
                // Frames interleave across runs; equal frames keep recording order.
                let steps: Vec<(u64, Step)> = (0..5u64)
                    .map(|i| {
                        seq += 1;
                        let frame = (i * 7 + run * 3) % 11;
                        expected.push((frame, seq));
                        (seq, step(frame, None, None, &format!("{seq};")))
                    })
                    .collect();
                let mut steps = steps;
                steps.sort_by_key(|(q, s)| (s.frame, *q));
                runs.write_run(&steps).unwrap();
            }
            let tail = vec![(seq + 1, step(4, None, None, "tail;"))];
            expected.push((4, seq + 1));
            expected.sort();
            let sorted = runs
                .settle_with(fan_in, tail, |_| {}, |_| {}, tempfile::tempfile)
                .unwrap();
            let mut texts = String::new();
            sorted
                .for_each(|_| {}, |s| texts.push_str(&s.text))
                .unwrap();
            let want: String = (expected.iter())
                .map(|(_, q)| match *q {
                    q if q == seq + 1 => "tail;".to_string(),
                    q => format!("{q};"),
                })
                .collect();
            assert_eq!(texts, want, "fan-in {fan_in}");
        }
    }

    /// Records read through buffers of every small size: whole in the buffer (borrowed) or
    /// across a refill (gathered), the same steps come back, and a cut file is an error.
    #[test]
    fn records_come_back_whole_or_across_buffer_refills() {
        let steps: Vec<Step> = (0..40u64)
            .map(|i| {
                step(
                    i,
                    (i % 3 == 0).then(|| vec![i, i + 1]),
                    None,
                    &"t".repeat(i as usize * 7),
                )
            })
            .collect();
        let (mut bytes, mut record) = (Vec::new(), Vec::new());
        for (i, s) in steps.iter().enumerate() {
            encode(&mut bytes, i as u64, s, &mut record).unwrap();
        }
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&bytes).unwrap();
        let file = Mutex::new(file);
        for size in [1, 3, 7, 64, 300, 1 << 16] {
            let mut reader = SharedReader::new(&file, 0, size);
            let (mut scratch, mut back) = (Vec::new(), Step::default());
            for (i, s) in steps.iter().enumerate() {
                let record = reader.next_record(&mut scratch).unwrap();
                let mut head = Step {
                    text: "left as it was".into(),
                    ..Step::default()
                };
                assert_eq!(parse_into(record, &mut head, Part::Head), Some(i as u64));
                assert_eq!(
                    (head.frame, head.stream, head.src, head.dst, head.proto),
                    (s.frame, s.stream, s.src, s.dst, s.proto),
                    "size {size}: the head"
                );
                assert_eq!(head.text, "left as it was");
                assert_eq!(parse_into(record, &mut back, Part::Whole), Some(i as u64));
                assert_eq!(format!("{back:?}"), format!("{s:?}"), "size {size}");
            }
            assert!(
                reader.next_record(&mut scratch).is_err(),
                "size {size}: past the end"
            );
        }
    }

    /// The step's number: its stream, which naming roles reads (the text is `"17;"` too,
    /// for the tellings).
    fn id(s: &Step) -> u64 {
        let id = s.stream.unwrap();
        if !s.text.is_empty() {
            assert_eq!(s.text, format!("{id};"));
        }
        id
    }

    /// Roles and last frame derived from the step's number, so a misplaced one shows.
    fn resolve_by_id(s: &mut Step) {
        let q = id(s);
        s.roles = [(q % 3) as u8, ((q / 3) % 3) as u8];
        s.stream_last_frame = q * 1000 + 7;
    }

    fn check_by_id(s: &Step) {
        let q = id(s);
        assert_eq!(
            s.roles,
            [(q % 3) as u8, ((q / 3) % 3) as u8],
            "roles of {q}"
        );
        assert_eq!(s.stream_last_frame, q * 1000 + 7, "last frame of {q}");
    }

    /// `runs` runs of `per_run` steps on five frames, and a tail on the same frames; with
    /// `equal_keys`, runs repeat each other's (frame, sequence) keys.
    fn crowded(runs_n: u64, per_run: u64, equal_keys: bool) -> (Runs, Vec<(u64, Step)>) {
        let mut runs = Runs::new().unwrap();
        let mut n = 0u64;
        let mut make = |i: u64, frame: u64| {
            n += 1;
            let seq = if equal_keys { i } else { n };
            let mut step = step(frame, None, None, &format!("{n};"));
            step.stream = Some(n);
            (seq, step)
        };
        for run in 0..runs_n {
            let mut steps: Vec<(u64, Step)> = (0..per_run)
                .map(|i| make(i, (i * 13 + run * 7) % 5))
                .collect();
            steps.sort_by_key(|(q, s)| (s.frame, *q));
            runs.write_run(&steps).unwrap();
        }
        let mut tail: Vec<(u64, Step)> = (0..per_run).map(|i| make(i, i % 5)).collect();
        tail.sort_by_key(|(q, s)| (s.frame, *q));
        (runs, tail)
    }

    /// Every telling merges in the order of the first merge, so each step gets its own
    /// roles: with equal keys, merges in rounds, roles on disk or in memory, tellings one
    /// after another, nested and from several threads at once.
    #[test]
    fn each_step_gets_its_own_roles_in_every_telling() {
        let full = || std::fs::OpenOptions::new().write(true).open("/dev/full");
        for equal_keys in [false, true] {
            for (runs_n, per_run) in [(7u64, 5u64), (9, 1000)] {
                for fan_in in [2usize, 3, MAX_FAN_IN] {
                    for on_disk in [true, false] {
                        let (runs, tail) = crowded(runs_n, per_run, equal_keys);
                        let mut measured = Vec::new();
                        let measure = |s: &Step| measured.push(id(s));
                        let sorted = if on_disk {
                            runs.settle_with(
                                fan_in,
                                tail,
                                resolve_by_id,
                                measure,
                                tempfile::tempfile,
                            )
                        } else {
                            runs.settle_with(fan_in, tail, resolve_by_id, measure, full)
                        }
                        .unwrap();
                        let mut told = Vec::new();
                        sorted
                            .for_each(
                                |_| {},
                                |s| {
                                    check_by_id(s);
                                    told.push(id(s));
                                },
                            )
                            .unwrap();
                        assert_eq!(told.len() as u64, (runs_n + 1) * per_run);
                        // Every step measured (after a failed attempt to keep the roles
                        // on disk, again from the start).
                        let mut last = measured[measured.len() - told.len()..].to_vec();
                        let mut sorted_told = told.clone();
                        last.sort_unstable();
                        sorted_told.sort_unstable();
                        assert_eq!(last, sorted_told);
                        let mut outer = 0;
                        sorted
                            .for_each(
                                |_| {},
                                |s| {
                                    check_by_id(s);
                                    outer += 1;
                                    if outer % 997 == 1 {
                                        let mut inner = Vec::new();
                                        sorted.for_each(|_| {}, |s| inner.push(id(s))).unwrap();
                                        assert_eq!(inner, told);
                                    }
                                },
                            )
                            .unwrap();
                        std::thread::scope(|scope| {
                            let tellings: Vec<_> = (0..3)
                                .map(|_| {
                                    scope.spawn(|| {
                                        let mut ids = Vec::new();
                                        sorted
                                            .for_each(
                                                |_| {},
                                                |s| {
                                                    check_by_id(s);
                                                    ids.push(id(s));
                                                },
                                            )
                                            .unwrap();
                                        ids
                                    })
                                })
                                .collect();
                            for t in tellings {
                                assert_eq!(t.join().unwrap(), told);
                            }
                        });
                    }
                }
            }
        }
    }

    /// A roles file shorter or longer than the steps need is an error, not roles given to
    /// the wrong steps.
    #[test]
    fn a_roles_file_of_the_wrong_length_is_an_error() {
        for change in [-5i64, -10, 10, 1] {
            let (runs, tail) = crowded(3, 100, false);
            let sorted = runs
                .settle_with(MAX_FAN_IN, tail, resolve_by_id, |_| {}, tempfile::tempfile)
                .unwrap();
            let Resolutions::File(file) = &sorted.resolutions else {
                panic!("roles kept in memory");
            };
            {
                let file = file.lock().unwrap();
                let len = file.metadata().unwrap().len();
                assert_eq!(len, 300 * 10);
                file.set_len(len.checked_add_signed(change).unwrap())
                    .unwrap();
            }
            let err = sorted.for_each(|_| {}, |_| {}).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{change}: {err}");
            assert!(err.to_string().starts_with("story spill file: "), "{err}");
        }
    }

    #[test]
    fn an_overlong_text_is_cut_so_that_it_comes_back() {
        let long = "é".repeat(MAX_TEXT);
        let mut bytes = Vec::new();
        encode(&mut bytes, 9, &step(1, None, None, &long), &mut Vec::new()).unwrap();
        let (_, back) = decode(&mut bytes.as_slice(), &mut Vec::new()).unwrap();
        assert!(back.text.len() <= MAX_TEXT && back.text.len() > MAX_TEXT - 4);
        assert!(long.starts_with(&*back.text));
    }

    #[test]
    fn after_a_failed_write_every_record_writer_call_fails() {
        // A file opened for reading only: its writes fail.
        let named = tempfile::NamedTempFile::new().unwrap();
        let read_only = File::open(named.path()).unwrap();
        let mut w = RecordWriter::new(read_only);
        let s = step(1, None, Some("10.0.0.1:5"), "text");
        w.push(0, &s).unwrap();
        assert!(w.flush().is_err());
        // How much reached the file is unknown: nothing more is taken.
        assert!(w.push(1, &s).is_err());
        assert!(w.flush().is_err());
        assert!(w.into_inner().is_err());
    }
}
