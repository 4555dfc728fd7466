//! Records produced in any order, handed back in key order (a stream number, a table's sort
//! key), in memory independent of their number: an external merge sort. Records gather in
//! memory up to [`RUN_BYTES`], are sorted and appended to an anonymous temporary file as one
//! run; at the end the runs are merged, each read through a small buffer (`flows` on a
//! million connections, whose summaries arrive as connections retire; the rows of `tls`,
//! `http` and `ntlm`). Without a temporary file every record stays in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

/// A record's key: what it is sorted by.
pub type Key = (u64, u64);

/// Bytes of records gathered in memory before they are sorted and written as a run.
const RUN_BYTES: usize = 4 << 20;

/// Runs merged at once (each with its [`RUN_BUFFER`]); more are first merged into longer
/// runs, this many at a time.
const MAX_FAN_IN: usize = 256;

/// Bytes read at a time from each run while merging.
const RUN_BUFFER: usize = 32 * 1024;

/// A record on disk: its length (4 bytes), its key (16), then its bytes.
const HEADER: usize = 4 + 16;

/// One record of the run being gathered.
struct Pending {
    key: Key,
    start: usize,
    len: usize,
}

/// A sorted run in the file.
#[derive(Clone, Copy)]
struct Run {
    start: u64,
    records: u64,
}

/// Records by key; records with the same key come back in the order they were pushed.
pub struct ByKey {
    /// Where the runs go; `None`: no temporary file, every record stays in `bytes`.
    file: Option<BufWriter<File>>,
    /// [`RUN_BYTES`] and [`MAX_FAN_IN`] (smaller in tests).
    run_bytes: usize,
    fan_in: usize,
    pending: Vec<Pending>,
    bytes: Vec<u8>,
    runs: Vec<Run>,
    written: u64,
    count: u64,
    error: Option<io::Error>,
}

impl ByKey {
    /// Runs go to a temporary file, or stay in memory if none can be made.
    pub fn new() -> Self {
        let file = tempfile::tempfile()
            .ok()
            .map(|f| BufWriter::with_capacity(1 << 16, f));
        ByKey {
            file,
            run_bytes: RUN_BYTES,
            fan_in: MAX_FAN_IN,
            pending: Vec::new(),
            bytes: Vec::new(),
            runs: Vec::new(),
            written: 0,
            count: 0,
            error: None,
        }
    }

    /// Records kept in memory whatever happens (tests).
    #[cfg(test)]
    pub fn in_memory() -> Self {
        ByKey {
            file: None,
            ..ByKey::new()
        }
    }

    /// Adds a record (the first write error is kept for [`ByKey::for_each`]).
    pub fn push(&mut self, key: Key, record: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if u32::try_from(record.len()).is_err() {
            self.error = Some(io::Error::other("record larger than 4 GiB"));
            return;
        }
        self.pending.push(Pending {
            key,
            start: self.bytes.len(),
            len: record.len(),
        });
        self.bytes.extend_from_slice(record);
        self.count += 1;
        if self.bytes.len() >= self.run_bytes && self.file.is_some() {
            if let Err(e) = self.write_run() {
                self.error = Some(e);
            }
        }
    }

    /// How many records.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Sorts the gathered records by key (stable) and appends them to the file as a run.
    fn write_run(&mut self) -> io::Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending.sort_by_key(|p| p.key);
        let start = self.written;
        for p in &self.pending {
            let record = self.bytes.get(p.start..p.start + p.len).unwrap_or_default();
            write_record(file, p.key, record)?;
            self.written += (HEADER + record.len()) as u64;
        }
        self.runs.push(Run {
            start,
            records: self.pending.len() as u64,
        });
        self.pending.clear();
        self.bytes.clear();
        // A run's worth of memory is kept for the next run, not a burst's.
        self.bytes.shrink_to(2 * self.run_bytes);
        Ok(())
    }

    /// Calls `each` with every record, by key (records of one key in the order they came).
    pub fn for_each(mut self, mut each: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.runs.is_empty() {
            // Everything is still in memory: no file to read.
            self.pending.sort_by_key(|p| p.key);
            for p in &self.pending {
                each(self.bytes.get(p.start..p.start + p.len).unwrap_or_default())?;
            }
            return Ok(());
        }
        self.write_run()?;
        let Some(writer) = self.file.take() else {
            return Ok(());
        };
        let mut file = writer.into_inner().map_err(|e| e.into_error())?;
        let mut runs = std::mem::take(&mut self.runs);
        let mut end = self.written;
        // Too many runs to read at once: merge them into longer ones, appended to the file.
        let fan_in = self.fan_in.max(2);
        while runs.len() > fan_in {
            let mut longer = Vec::new();
            for group in runs.chunks(fan_in) {
                let start = end;
                let mut out = Vec::with_capacity(RUN_BUFFER);
                let mut records = 0u64;
                merge(&mut file, group, |key, record, file| {
                    write_record(&mut out, key, record)?;
                    records += 1;
                    if out.len() >= RUN_BUFFER {
                        end = append(file, end, &out)?;
                        out.clear();
                    }
                    Ok(())
                })?;
                end = append(&mut file, end, &out)?;
                longer.push(Run { start, records });
            }
            runs = longer;
        }
        merge(&mut file, &runs, |_, record, _| each(record))
    }
}

/// Writes one record: its length, its key, its bytes.
fn write_record(out: &mut impl Write, key: Key, record: &[u8]) -> io::Result<()> {
    out.write_all(&(record.len() as u32).to_le_bytes())?;
    out.write_all(&key.0.to_le_bytes())?;
    out.write_all(&key.1.to_le_bytes())?;
    out.write_all(record)
}

/// Writes `bytes` at `end` of `file`; gives the new end.
fn append(file: &mut File, end: u64, bytes: &[u8]) -> io::Result<u64> {
    file.seek(SeekFrom::Start(end))?;
    file.write_all(bytes)?;
    Ok(end + bytes.len() as u64)
}

/// Calls `each` with the records of `runs` by key (ties: the earlier run first, then the
/// order within the run), with the file for its own writes.
fn merge(
    file: &mut File,
    runs: &[Run],
    mut each: impl FnMut(Key, &[u8], &mut File) -> io::Result<()>,
) -> io::Result<()> {
    let mut readers: Vec<RunReader> = runs.iter().map(|&r| RunReader::new(r)).collect();
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some(key) = reader.advance(file)? {
            heap.push(Reverse((key, i)));
        }
    }
    while let Some(Reverse((key, i))) = heap.pop() {
        let Some(reader) = readers.get_mut(i) else {
            continue;
        };
        each(key, reader.record(), file)?;
        if let Some(next) = reader.advance(file)? {
            heap.push(Reverse((next, i)));
        }
    }
    Ok(())
}

/// Reads one run's records in order, through its own buffer.
struct RunReader {
    /// File offset of the first byte not yet in `buf`.
    pos: u64,
    /// Records not yet read.
    left: u64,
    buf: Vec<u8>,
    /// The current record's place in `buf`.
    record: (usize, usize),
    /// Where the next record starts in `buf`.
    at: usize,
}

impl RunReader {
    fn new(run: Run) -> Self {
        RunReader {
            pos: run.start,
            left: run.records,
            buf: Vec::new(),
            record: (0, 0),
            at: 0,
        }
    }

    /// The current record.
    fn record(&self) -> &[u8] {
        self.buf
            .get(self.record.0..self.record.0 + self.record.1)
            .unwrap_or_default()
    }

    /// Moves to the next record; gives its key, or `None` at the end of the run.
    fn advance(&mut self, file: &mut File) -> io::Result<Option<Key>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.fill(file, HEADER)?;
        let damaged = || io::Error::other("sorted records file damaged");
        let header = self
            .buf
            .get(self.at..self.at + HEADER)
            .ok_or_else(damaged)?;
        let word = |i: usize| header.get(i..i + 8).and_then(|b| b.try_into().ok());
        let len = header
            .first_chunk::<4>()
            .map(|b| u32::from_le_bytes(*b) as usize)
            .ok_or_else(damaged)?;
        let key = (
            u64::from_le_bytes(word(4).ok_or_else(damaged)?),
            u64::from_le_bytes(word(12).ok_or_else(damaged)?),
        );
        self.fill(file, HEADER + len)?;
        self.record = (self.at + HEADER, len);
        self.at += HEADER + len;
        Ok(Some(key))
    }

    /// Makes sure `want` bytes from `at` are in the buffer, reading from the file.
    fn fill(&mut self, file: &mut File, want: usize) -> io::Result<()> {
        if self.buf.len() - self.at >= want {
            return Ok(());
        }
        // Keep the unread tail, then read at least a buffer's worth after it.
        self.buf.drain(..self.at);
        self.at = 0;
        let have = self.buf.len();
        let size = want.max(RUN_BUFFER);
        self.buf.resize(size, 0);
        file.seek(SeekFrom::Start(self.pos))?;
        let mut filled = have;
        while filled < want {
            let n = file.read(&mut self.buf[filled..])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "sorted records file ended early",
                ));
            }
            filled += n;
        }
        self.pos += (filled - have) as u64;
        self.buf.truncate(filled);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(mut b: ByKey, pushes: &[(Key, String)]) -> Vec<String> {
        for (k, r) in pushes {
            b.push(*k, r.as_bytes());
        }
        let mut out = Vec::new();
        b.for_each(|r| {
            out.push(String::from_utf8(r.to_vec()).unwrap());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn records_come_back_by_key_from_file_or_memory() {
        let pushes: Vec<(Key, String)> = [
            ((3, 0), "three"),
            ((0, 1), "zero"),
            ((2, 0), ""),
            ((0, 0), "one"),
            ((5, 0), "five"),
        ]
        .iter()
        .map(|(k, s)| (*k, s.to_string()))
        .collect();
        let expected = ["one", "zero", "", "three", "five"];
        assert_eq!(collect(ByKey::new(), &pushes), expected);
        assert_eq!(collect(ByKey::in_memory(), &pushes), expected);
        assert!(collect(ByKey::new(), &[]).is_empty());
    }

    /// Many runs, more than are merged at once (so longer runs are made first, twice over),
    /// records in a scrambled order with repeated keys, some larger than a run reader's
    /// buffer: they come back by key, ties in the order pushed, from the file and from
    /// memory alike; and no more than a run's bytes wait in memory at a time.
    #[test]
    fn many_runs_merge_into_key_order_and_keep_ties_in_order() {
        let mut pushes = Vec::new();
        let mut x: u64 = 12345;
        for i in 0..100_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = ((x >> 40) % 5_000, x % 3);
            let body = if i % 5_000 == 0 {
                format!("{i}:{}", "L".repeat(3 * RUN_BUFFER))
            } else {
                format!("{i}")
            };
            pushes.push((key, body));
        }
        let mut expected = pushes.clone();
        expected.sort_by_key(|(k, _)| *k);
        let expected: Vec<String> = expected.into_iter().map(|(_, s)| s).collect();

        let mut b = ByKey::new();
        (b.run_bytes, b.fan_in) = (4096, 8);
        let mut most_held = 0;
        for (k, r) in &pushes {
            b.push(*k, r.as_bytes());
            most_held = most_held.max(b.bytes.len());
        }
        // 8 runs at a time: more than 64 runs need two passes before the last merge.
        assert!(b.runs.len() > 64, "{} runs", b.runs.len());
        assert!(most_held < 4096 + 4 * RUN_BUFFER, "{most_held} bytes held");
        assert_eq!(b.len(), pushes.len() as u64);
        let mut got = Vec::new();
        b.for_each(|r| {
            got.push(String::from_utf8(r.to_vec()).unwrap());
            Ok(())
        })
        .unwrap();
        assert!(got == expected, "order differs");
        assert!(collect(ByKey::in_memory(), &pushes) == expected);
    }
}
