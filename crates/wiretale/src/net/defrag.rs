//! IPv4 fragment reassembly with a bounded table.
//!
//! Datagrams in progress are keyed by (source, destination, identification, protocol). The
//! table holds at most [`DefragConfig::max_datagrams`]; when full, the oldest datagram is
//! dropped and counted. Overlaps are resolved by etherparse's `IpDefragBuf` (first data wins
//! where it detects conflicts, otherwise it errors and the datagram is dropped).

use etherparse::defrag::IpDefragBuf;
use etherparse::{IpFragOffset, IpNumber};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Limits of the fragment table.
#[derive(Debug, Clone, Copy)]
pub struct DefragConfig {
    /// Datagrams reassembled at the same time.
    pub max_datagrams: usize,
    /// A datagram not completed within this many frames is dropped.
    pub max_age_frames: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 256,
            max_age_frames: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    proto: u8,
}

struct InProgress {
    buf: IpDefragBuf,
    first_frame: u64,
}

/// Outcome of offering one fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum FragmentOutcome {
    /// Kept; the datagram is not complete yet.
    Held,
    /// This fragment completed the datagram; its payload is in [`Defragmenter::completed`].
    Completed,
    /// The fragment was inconsistent (overlap conflict, too long) and its datagram dropped.
    Dropped,
}

/// Bounded IPv4 reassembly table.
pub struct Defragmenter {
    config: DefragConfig,
    table: HashMap<Key, InProgress>,
    completed: Vec<u8>,
    /// Datagrams dropped because the table was full or they grew too old.
    pub evicted: u64,
}

impl std::fmt::Debug for Defragmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Defragmenter")
            .field("in_progress", &self.table.len())
            .field("evicted", &self.evicted)
            .finish()
    }
}

impl Defragmenter {
    /// An empty table.
    pub fn new(config: DefragConfig) -> Self {
        Defragmenter {
            config,
            table: HashMap::new(),
            completed: Vec::new(),
            evicted: 0,
        }
    }

    /// The payload of the datagram completed by the last [`FragmentOutcome::Completed`].
    pub fn completed(&self) -> &[u8] {
        &self.completed
    }

    /// Offers one fragment. `offset_units` is the fragment offset in 8-byte units.
    #[allow(clippy::too_many_arguments)]
    pub fn offer(
        &mut self,
        frame: u64,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        id: u16,
        proto: u8,
        offset_units: u16,
        more_fragments: bool,
        payload: &[u8],
    ) -> FragmentOutcome {
        let key = Key {
            src,
            dst,
            id,
            proto,
        };
        if !self.table.contains_key(&key) {
            self.make_room(frame);
            self.table.insert(
                key,
                InProgress {
                    buf: IpDefragBuf::new(IpNumber(proto), Vec::new(), Vec::new()),
                    first_frame: frame,
                },
            );
        }
        let Some(entry) = self.table.get_mut(&key) else {
            return FragmentOutcome::Dropped;
        };
        let Ok(offset) = IpFragOffset::try_new(offset_units & 0x1fff) else {
            self.table.remove(&key);
            return FragmentOutcome::Dropped;
        };
        if entry.buf.add(offset, more_fragments, payload).is_err() {
            self.table.remove(&key);
            return FragmentOutcome::Dropped;
        }
        if entry.buf.is_complete() {
            if let Some(done) = self.table.remove(&key) {
                let (data, _) = done.buf.take_bufs();
                self.completed = data;
            }
            return FragmentOutcome::Completed;
        }
        FragmentOutcome::Held
    }

    fn make_room(&mut self, frame: u64) {
        let max_age = self.config.max_age_frames;
        let before = self.table.len();
        self.table
            .retain(|_, v| frame.saturating_sub(v.first_frame) <= max_age);
        self.evicted += (before - self.table.len()) as u64;
        while self.table.len() >= self.config.max_datagrams.max(1) {
            let oldest = self
                .table
                .iter()
                .min_by_key(|(_, v)| v.first_frame)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    self.table.remove(&k);
                    self.evicted += 1;
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_fragments_complete() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let a = Ipv4Addr::new(1, 1, 1, 1);
        let b = Ipv4Addr::new(2, 2, 2, 2);
        let data: Vec<u8> = (0..48u8).collect();
        assert_eq!(
            d.offer(1, a, b, 7, 6, 2, true, &data[16..32]),
            FragmentOutcome::Held
        );
        assert_eq!(
            d.offer(2, a, b, 7, 6, 4, false, &data[32..]),
            FragmentOutcome::Held
        );
        assert_eq!(
            d.offer(3, a, b, 7, 6, 0, true, &data[..16]),
            FragmentOutcome::Completed
        );
        assert_eq!(d.completed(), &data[..]);
    }

    #[test]
    fn table_is_bounded() {
        let mut d = Defragmenter::new(DefragConfig {
            max_datagrams: 4,
            max_age_frames: 1000,
        });
        let a = Ipv4Addr::new(1, 1, 1, 1);
        for id in 0..100u16 {
            d.offer(u64::from(id), a, a, id, 6, 0, true, &[0u8; 8]);
        }
        assert!(d.table.len() <= 4);
        assert_eq!(d.evicted, 96);
    }
}
