//! Records produced in any order, handed back in key order (a stream number, a table's sort
//! key), with memory independent of their size: each record is appended to an anonymous
//! temporary file as it comes (to memory if no file can be made) and only its key, place and
//! a small extra value stay in memory (`flows` on a million connections, whose summaries
//! arrive as connections retire; the rows of `tls`, `http` and `ntlm`).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};

/// Where the records wait.
enum Store {
    File(BufWriter<File>),
    Memory(Vec<u8>),
}

/// One record's place.
struct Entry<K, X> {
    key: K,
    offset: u64,
    len: u32,
    extra: X,
}

/// Records by key, each with an extra value kept in memory.
pub struct ByKey<K, X> {
    store: Store,
    entries: Vec<Entry<K, X>>,
    written: u64,
    error: Option<io::Error>,
}

/// Records by stream number.
pub type ByStream<X> = ByKey<u64, X>;

impl<K: Ord + Copy, X: Copy> ByKey<K, X> {
    /// Records go to a temporary file, or to memory if none can be made.
    pub fn new() -> Self {
        let store = match tempfile::tempfile() {
            Ok(f) => Store::File(BufWriter::with_capacity(1 << 16, f)),
            Err(_) => Store::Memory(Vec::new()),
        };
        ByKey {
            store,
            entries: Vec::new(),
            written: 0,
            error: None,
        }
    }

    /// Records kept in memory whatever happens (tests).
    #[cfg(test)]
    pub fn in_memory() -> Self {
        ByKey {
            store: Store::Memory(Vec::new()),
            ..ByKey::new()
        }
    }

    /// Adds the record of `key` (the first write error is kept for [`ByStream::for_each`]).
    pub fn push(&mut self, key: K, record: &[u8], extra: X) {
        if self.error.is_some() {
            return;
        }
        let Ok(len) = u32::try_from(record.len()) else {
            self.error = Some(io::Error::other("record larger than 4 GiB"));
            return;
        };
        let written = match &mut self.store {
            Store::File(w) => w.write_all(record),
            Store::Memory(v) => {
                v.extend_from_slice(record);
                Ok(())
            }
        };
        if let Err(e) = written {
            self.error = Some(e);
            return;
        }
        self.entries.push(Entry {
            key,
            offset: self.written,
            len,
            extra,
        });
        self.written += u64::from(len);
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Calls `each` with every record and its extra value, by key (records of one key in the
    /// order they came). Reads sequentially while the records came in order, seeking only
    /// where they did not.
    pub fn for_each(mut self, mut each: impl FnMut(&[u8], X) -> io::Result<()>) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        // Stable (records of one key keep the order they came), over 4-byte positions rather
        // than the entries themselves: the sort's scratch space is then a few MiB for a
        // million records instead of half the entries (20 MiB), at the end of a run when the
        // entries are at their largest.
        let count = u32::try_from(self.entries.len())
            .map_err(|_| io::Error::other("more than 4 billion records"))?;
        let mut order: Vec<u32> = (0..count).collect();
        let entries = &self.entries;
        let key = |i: &u32| entries.get(*i as usize).map(|e| e.key);
        if !order.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
            order.sort_by_key(key);
        }
        let mut reader: Box<dyn ReadSeek> = match self.store {
            Store::File(w) => {
                let mut file = w.into_inner().map_err(|e| e.into_error())?;
                file.seek(SeekFrom::Start(0))?;
                Box::new(BufReader::with_capacity(1 << 16, file))
            }
            Store::Memory(v) => Box::new(Cursor::new(v)),
        };
        let mut at = 0u64;
        let mut record = Vec::new();
        for e in order.iter().filter_map(|&i| entries.get(i as usize)) {
            if e.offset != at {
                reader.seek(SeekFrom::Start(e.offset))?;
            }
            record.resize(e.len as usize, 0);
            reader.read_exact(&mut record)?;
            at = e.offset + u64::from(e.len);
            each(&record, e.extra)?;
        }
        Ok(())
    }
}

trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(mut b: ByStream<u8>, pushes: &[(u64, &str)]) -> Vec<(String, u8)> {
        for (i, (k, r)) in pushes.iter().enumerate() {
            b.push(*k, r.as_bytes(), i as u8);
        }
        let mut out = Vec::new();
        b.for_each(|r, x| {
            out.push((String::from_utf8(r.to_vec()).unwrap(), x));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn records_come_back_by_key_from_file_or_memory() {
        let pushes = [(3, "three"), (0, "zero"), (2, ""), (1, "one"), (5, "five")];
        let expected: Vec<(String, u8)> =
            [("zero", 1), ("one", 3), ("", 2), ("three", 0), ("five", 4)]
                .iter()
                .map(|(s, x)| (s.to_string(), *x))
                .collect();
        assert_eq!(collect(ByStream::new(), &pushes), expected);
        assert_eq!(collect(ByStream::in_memory(), &pushes), expected);
        assert!(collect(ByStream::new(), &[]).is_empty());
    }
}
