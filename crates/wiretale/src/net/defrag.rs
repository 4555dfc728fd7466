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
    /// Fragments held (each one frame), to count them if the datagram never completes.
    frames: u64,
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
    /// Held fragments of datagrams dropped since (evicted, or after a conflicting fragment).
    abandoned_frames: u64,
}

impl std::fmt::Debug for Defragmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Defragmenter")
            .field("in_progress", &self.table.len())
            .field("evicted", &self.evicted)
            .field("abandoned_frames", &self.abandoned_frames)
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
            abandoned_frames: 0,
        }
    }

    /// Frames held as fragments ([`FragmentOutcome::Held`]) whose datagram has not been
    /// reassembled: dropped from the table (evicted, or after a conflicting fragment) or
    /// still incomplete now. At the end of a capture, the fragments never reassembled.
    pub fn unassembled_frames(&self) -> u64 {
        let waiting: u64 = self.table.values().map(|v| v.frames).sum();
        self.abandoned_frames.saturating_add(waiting)
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
                    frames: 0,
                },
            );
        }
        let Some(entry) = self.table.get_mut(&key) else {
            return FragmentOutcome::Dropped;
        };
        let added = IpFragOffset::try_new(offset_units & 0x1fff)
            .ok()
            .is_some_and(|offset| entry.buf.add(offset, more_fragments, payload).is_ok());
        if !added {
            // This fragment counts as dropped; the ones held before it will not be
            // reassembled either.
            self.abandon(&key);
            return FragmentOutcome::Dropped;
        }
        if entry.buf.is_complete() {
            if let Some(done) = self.table.remove(&key) {
                let (data, _) = done.buf.take_bufs();
                self.completed = data;
            }
            return FragmentOutcome::Completed;
        }
        entry.frames += 1;
        FragmentOutcome::Held
    }

    /// Drops datagram `key` unfinished, counting the fragments it held.
    fn abandon(&mut self, key: &Key) {
        if let Some(dropped) = self.table.remove(key) {
            self.abandoned_frames = self.abandoned_frames.saturating_add(dropped.frames);
        }
    }

    fn make_room(&mut self, frame: u64) {
        let max_age = self.config.max_age_frames;
        let before = self.table.len();
        let mut abandoned = 0u64;
        self.table.retain(|_, v| {
            let keep = frame.saturating_sub(v.first_frame) <= max_age;
            if !keep {
                abandoned = abandoned.saturating_add(v.frames);
            }
            keep
        });
        self.abandoned_frames = self.abandoned_frames.saturating_add(abandoned);
        self.evicted += (before - self.table.len()) as u64;
        while self.table.len() >= self.config.max_datagrams.max(1) {
            let oldest = self
                .table
                .iter()
                .min_by_key(|(_, v)| v.first_frame)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    self.abandon(&k);
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

    /// Held fragments are counted as never reassembled when their datagram is dropped
    /// (table full, too old, a conflicting fragment) or left incomplete; not when it
    /// completes.
    #[test]
    fn held_fragments_of_datagrams_never_completed_are_counted() {
        let config = DefragConfig {
            max_datagrams: 2,
            max_age_frames: 10,
        };
        let mut d = Defragmenter::new(config);
        let (a, b) = (Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2));
        let part = [7u8; 16];
        // Datagram 1 completes from two held fragments and the last one: nothing counted.
        assert_eq!(
            d.offer(1, a, b, 1, 6, 0, true, &part),
            FragmentOutcome::Held
        );
        assert_eq!(
            d.offer(2, a, b, 1, 6, 2, true, &part),
            FragmentOutcome::Held
        );
        assert_eq!(
            d.offer(3, a, b, 1, 6, 4, false, &part),
            FragmentOutcome::Completed
        );
        assert_eq!(d.unassembled_frames(), 0);
        // Datagram 2: two held, then a conflicting copy of its end (different length).
        assert_eq!(
            d.offer(4, a, b, 2, 6, 0, true, &part),
            FragmentOutcome::Held
        );
        assert_eq!(
            d.offer(5, a, b, 2, 6, 4, false, &part),
            FragmentOutcome::Held
        );
        assert_eq!(d.unassembled_frames(), 2, "incomplete so far");
        assert_eq!(
            d.offer(6, a, b, 2, 6, 6, false, &part),
            FragmentOutcome::Dropped
        );
        assert_eq!(d.unassembled_frames(), 2, "dropped: its two held fragments");
        // Datagrams 3, 4, 5 of one fragment each: the table holds two, so 3 is evicted.
        assert_eq!(
            d.offer(7, a, b, 3, 6, 0, true, &part),
            FragmentOutcome::Held
        );
        assert_eq!(
            d.offer(8, a, b, 4, 6, 0, true, &part),
            FragmentOutcome::Held
        );
        assert_eq!(
            d.offer(9, a, b, 5, 6, 0, true, &part),
            FragmentOutcome::Held
        );
        assert_eq!(d.evicted, 1);
        assert_eq!(d.unassembled_frames(), 5);
        // Much later: 4 and 5 are too old and dropped when a new datagram starts; the
        // count stays the same (they were already waiting), plus the new one.
        assert_eq!(
            d.offer(100, a, b, 6, 6, 0, true, &part),
            FragmentOutcome::Held
        );
        assert_eq!(d.evicted, 3);
        assert_eq!(d.unassembled_frames(), 6);
    }

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
