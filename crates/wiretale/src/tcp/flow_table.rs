//! The flow table: connections by 4-tuple.
//!
//! Flows are large (two reassembly halves, counters, the handler's state) and a short
//! connection is inserted and removed once each, so they live in a slab and never move while
//! in the table, each beside its key. The hash table holds only slot numbers (8 bytes, not a
//! 56-byte key and slot): a capture of short connections keeps a few thousand closed ones for
//! their late packets, and a table of keys (half a megabyte) missed the processor's caches on
//! every packet, where one of slot numbers (64 KiB) stays in them; the key is compared in the
//! slot, which a lookup reads next anyway. Hashes use foldhash, seeded per process: hashing
//! the 4-tuple with the standard SipHash was 17 % of a whole analysis, and the random seed
//! still keeps crafted captures from choosing colliding keys.
//!
//! The slab grows by adding a chunk of slots, never by moving the flows into a larger
//! vector: at a kilobyte a flow, a table of a few thousand flows copied megabytes each time
//! it doubled (2 % of analysing 5 000 short connections), and held the old and the new
//! copy at once while doing so.

use hashbrown::hash_table::{Entry, HashTable};
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};

type FlowHasher = foldhash::fast::RandomState;

/// A connection's 4-tuple, the same for both directions: the two endpoints in a fixed order
/// as integers (compared and hashed without a byte-wise `memcmp`, which took 16 % of the
/// samples with a byte-array key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct FlowKey {
    low: u128,
    high: u128,
    /// The low endpoint's port in the high 16 bits, the high endpoint's in the low 16.
    ports: u32,
    ipv6: bool,
}

fn endpoint(a: SocketAddr) -> (u128, u16) {
    let ip = match a.ip() {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    };
    (ip, a.port())
}

impl FlowKey {
    /// The key of the connection between `a` and `b` (in either order).
    pub(super) fn of(a: SocketAddr, b: SocketAddr) -> Self {
        let ipv6 = a.is_ipv6();
        let (a, b) = (endpoint(a), endpoint(b));
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            low: low.0,
            high: high.0,
            ports: u32::from(low.1) << 16 | u32::from(high.1),
            ipv6,
        }
    }
}

/// Whether `a` is the low endpoint of `FlowKey::of(a, b)` (the first of the two in its order).
pub(super) fn is_low(a: SocketAddr, b: SocketAddr) -> bool {
    endpoint(a) <= endpoint(b)
}

/// A flow in its slot, with its key.
struct Held<F> {
    key: FlowKey,
    flow: F,
}

/// Numbered slots in chunks of [`CHUNK`]: a slot never moves. Chunks of a fixed size (not
/// doubling ones) keep finding a slot to a shift and a mask, as a lookup does it for every
/// packet; at most a chunk's slots are reserved and unused.
struct Slab<T> {
    chunks: Vec<Vec<Option<T>>>,
    len: usize,
}

/// Slots in a chunk of [`Slab`] (a power of two).
const CHUNK: usize = 32;

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn get(&self, slot: usize) -> Option<&Option<T>> {
        self.chunks.get(slot / CHUNK)?.get(slot % CHUNK)
    }

    #[inline]
    fn get_mut(&mut self, slot: usize) -> Option<&mut Option<T>> {
        self.chunks.get_mut(slot / CHUNK)?.get_mut(slot % CHUNK)
    }

    /// Adds an empty slot and gives its number.
    fn push_empty(&mut self) -> usize {
        let slot = self.len;
        if slot % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(None);
        }
        self.len += 1;
        slot
    }

    /// Slot `slot`, added (with any before it) if the slab does not reach it yet.
    fn place(&mut self, slot: usize) -> &mut Option<T> {
        while self.len <= slot {
            // Not reached: a slot is only ever added.
            self.push_empty();
        }
        &mut self.chunks[slot / CHUNK][slot % CHUNK]
    }

    /// Every slot with its number, in order.
    fn iter(&self) -> impl Iterator<Item = (usize, &Option<T>)> {
        self.chunks.iter().flatten().enumerate()
    }
}

/// Flows by key, stored in a slab.
pub(super) struct FlowTable<F> {
    /// Slot numbers, placed by the hash of their flow's key.
    index: HashTable<usize>,
    hasher: FlowHasher,
    slots: Slab<Held<F>>,
    /// Empty slots, reused before the slab grows (it never grows past the most flows held at
    /// once).
    free: Vec<usize>,
}

impl<F> Default for FlowTable<F> {
    fn default() -> Self {
        FlowTable {
            index: HashTable::new(),
            hasher: FlowHasher::default(),
            slots: Slab::default(),
            free: Vec::new(),
        }
    }
}

/// Whether slot `slot` holds the flow of `key`.
fn holds<F>(slots: &Slab<Held<F>>, slot: usize, key: &FlowKey) -> bool {
    matches!(slots.get(slot), Some(Some(held)) if held.key == *key)
}

/// The hash of the key in slot `slot` (for the table's growth; every slot it lists is held).
fn rehash<F>(hasher: &FlowHasher, slots: &Slab<Held<F>>, slot: usize) -> u64 {
    match slots.get(slot) {
        Some(Some(held)) => hasher.hash_one(held.key),
        _ => 0,
    }
}

impl<F> FlowTable<F> {
    /// Flows in the table.
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    /// The slot that holds the flow of `key`: a flow keeps its slot until it leaves the
    /// table ([`FlowTable::prefetch`]).
    pub(super) fn slot_of(&self, key: &FlowKey) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        let slots = &self.slots;
        self.index
            .find(hash, |&slot| holds(slots, slot, key))
            .copied()
    }

    /// Asks the processor to bring the flow in slot `slot` into its caches, ahead of its
    /// use ([`crate::cache_hint`]). Only a hint: a slot emptied or reused since it was noted
    /// is prefetched for nothing.
    pub(super) fn prefetch(&self, slot: usize) {
        if let Some(held) = self.slots.get(slot) {
            crate::cache_hint::prefetch(held);
        }
    }

    #[cfg(test)]
    pub(super) fn get(&self, key: &FlowKey) -> Option<&F> {
        let slot = self.slot_of(key)?;
        Some(&self.slots.get(slot)?.as_ref()?.flow)
    }

    #[cfg(test)]
    pub(super) fn get_mut(&mut self, key: &FlowKey) -> Option<&mut F> {
        let slot = self.slot_of(key)?;
        self.get_at_mut(slot)
    }

    /// The flow in slot `slot`, if one is there.
    pub(super) fn get_at(&self, slot: usize) -> Option<&F> {
        Some(&self.slots.get(slot)?.as_ref()?.flow)
    }

    /// The flow in slot `slot`, if one is there.
    pub(super) fn get_at_mut(&mut self, slot: usize) -> Option<&mut F> {
        Some(&mut self.slots.get_mut(slot)?.as_mut()?.flow)
    }

    /// The key of the flow in slot `slot`, if one is there.
    pub(super) fn key_at(&self, slot: usize) -> Option<FlowKey> {
        Some(self.slots.get(slot)?.as_ref()?.key)
    }

    /// Adds `flow` under `key`, returning the flow it replaces.
    #[cfg(test)]
    pub(super) fn insert(&mut self, key: FlowKey, flow: F) -> Option<F> {
        if let Some(held) = self.get_mut(&key) {
            return Some(std::mem::replace(held, flow));
        }
        self.insert_with(key, || flow);
        None
    }

    /// Puts the flow `make` makes under `key` and gives it back with its slot: it is made
    /// where it is kept, not made, filled and then moved there (a flow is about a kilobyte: a
    /// move is a copy). A flow already under `key` is dropped, not retired: the caller
    /// retires it first.
    pub(super) fn insert_with(
        &mut self,
        key: FlowKey,
        make: impl FnOnce() -> F,
    ) -> (usize, &mut F) {
        let slot = match self.slot_of(&key) {
            Some(slot) => slot,
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => self.slots.push_empty(),
                };
                // Growing the table rehashes the slots it lists, not this one (still empty).
                let (hasher, slots) = (&self.hasher, &self.slots);
                self.index
                    .insert_unique(hasher.hash_one(key), slot, |&s| rehash(hasher, slots, s));
                slot
            }
        };
        (
            slot,
            &mut self
                .slots
                .place(slot)
                .insert(Held { key, flow: make() })
                .flow,
        )
    }

    /// Removes the flow of `key` if it is `wanted` (one lookup), handing it to `last` where
    /// it lies rather than moving it out (a flow is about a kilobyte: a move is a copy),
    /// then dropping it there; gives what `last` returns.
    pub(super) fn remove_if_with<R>(
        &mut self,
        key: FlowKey,
        wanted: impl FnOnce(&F) -> bool,
        last: impl FnOnce(&mut F) -> R,
    ) -> Option<R> {
        let hash = self.hasher.hash_one(key);
        let (hasher, slots) = (&self.hasher, &mut self.slots);
        let entry = self.index.entry(
            hash,
            |&slot| holds(slots, slot, &key),
            |&slot| rehash(hasher, slots, slot),
        );
        let Entry::Occupied(entry) = entry else {
            return None;
        };
        let slot = *entry.get();
        let held = slots.get_mut(slot)?;
        if !held.as_ref().is_some_and(|h| wanted(&h.flow)) {
            return None;
        }
        entry.remove();
        let done = held.as_mut().map(|h| last(&mut h.flow));
        *held = None;
        self.free.push(slot);
        done
    }

    pub(super) fn remove(&mut self, key: &FlowKey) -> Option<F> {
        let hash = self.hasher.hash_one(key);
        let slots = &self.slots;
        let entry = self
            .index
            .find_entry(hash, |&slot| holds(slots, slot, key))
            .ok()?;
        let (slot, _) = entry.remove();
        let flow = self.slots.get_mut(slot)?.take().map(|h| h.flow);
        self.free.push(slot);
        flow
    }

    /// Takes every flow out, in the order of `order` (a flow's sort key). Only the order
    /// (a key and a slot number per flow) is allocated: collecting the flows into a vector
    /// to sort them held a second copy of every flow at the end of a capture (4 MiB of the
    /// library's peak on a 1 GB capture with 10 000 connections open).
    pub(super) fn drain_by_key<K: Ord>(&mut self, order: impl Fn(&F) -> K) -> Drain<F> {
        self.index.clear();
        self.free.clear();
        let mut by_key: Vec<(K, usize)> = self
            .slots
            .iter()
            .filter_map(|(slot, held)| Some((order(&held.as_ref()?.flow), slot)))
            .collect();
        by_key.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        Drain {
            slots: std::mem::take(&mut self.slots),
            order: by_key
                .into_iter()
                .map(|(_, slot)| slot)
                .collect::<Vec<_>>()
                .into_iter(),
        }
    }
}

/// The flows [`FlowTable::drain_by_key`] took out, handed over one at a time.
pub(super) struct Drain<F> {
    slots: Slab<Held<F>>,
    order: std::vec::IntoIter<usize>,
}

impl<F> Iterator for Drain<F> {
    type Item = F;

    fn next(&mut self) -> Option<F> {
        loop {
            let slot = self.order.next()?;
            if let Some(held) = self.slots.get_mut(slot).and_then(Option::take) {
                return Some(held.flow);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn keys_ignore_direction_and_tell_families_apart() {
        let (a, b) = (addr("10.0.0.1:4000"), addr("10.0.0.2:80"));
        assert_eq!(FlowKey::of(a, b), FlowKey::of(b, a));
        assert_ne!(FlowKey::of(a, b), FlowKey::of(a, addr("10.0.0.2:81")));
        let mapped = addr("[::ffff:10.0.0.1]:4000");
        assert_ne!(FlowKey::of(a, b), FlowKey::of(mapped, b));
        let v6 = (addr("[2001:db8::1]:4000"), addr("[2001:db8::2]:443"));
        assert_eq!(FlowKey::of(v6.0, v6.1), FlowKey::of(v6.1, v6.0));
    }

    #[test]
    fn key_fills_half_a_cache_line() {
        assert_eq!(std::mem::size_of::<FlowKey>(), 48);
        let (a, b) = (addr("10.0.0.1:80"), addr("10.0.0.1:81"));
        assert_ne!(
            FlowKey::of(a, b),
            FlowKey::of(addr("10.0.0.1:81"), addr("10.0.0.1:82"))
        );
        assert_eq!(FlowKey::of(a, b), FlowKey::of(b, a));
    }

    #[test]
    fn slab_numbers_slots_in_order_across_chunks() {
        let mut slab: Slab<usize> = Slab::default();
        for n in 0..1000 {
            assert_eq!(slab.push_empty(), n);
            *slab.place(n) = Some(n);
        }
        assert_eq!(slab.chunks.len(), 1000usize.div_ceil(CHUNK));
        assert_eq!(slab.len(), 1000);
        assert!(slab.iter().all(|(n, v)| *v == Some(n)));
        assert_eq!(slab.get(999), Some(&Some(999)));
        assert_eq!(slab.get(1000), None);
    }

    #[test]
    fn slots_are_reused_and_flows_do_not_mix() {
        let mut t: FlowTable<u32> = FlowTable::default();
        let k = |p: u16| FlowKey::of(addr("10.0.0.1:1"), SocketAddr::from(([10, 0, 0, 2], p)));
        for p in 0..10 {
            assert_eq!(t.insert(k(p), u32::from(p)), None);
        }
        assert_eq!(t.insert(k(3), 33), Some(3));
        // `last` sees the flow only when it is wanted, and it is gone after.
        assert_eq!(t.insert(k(4), 40), Some(4));
        assert_eq!(t.remove_if_with(k(4), |&f| f == 5, |f| *f + 1), None);
        assert_eq!(t.get(&k(4)), Some(&40));
        assert_eq!(t.remove_if_with(k(4), |&f| f == 40, |f| *f + 1), Some(41));
        assert_eq!(t.get(&k(4)), None);
        assert_eq!(t.remove_if_with(k(4), |_| true, |f| *f), None);
        assert_eq!(t.remove(&k(4)), None);
        assert_eq!(t.get(&k(4)), None);
        // A flow made in its slot can be changed there; a second one under its key
        // replaces it.
        *t.insert_with(k(100), || 100).1 += 1;
        assert_eq!(t.get(&k(100)), Some(&101));
        let (slot, flow) = t.insert_with(k(100), || 100);
        assert_eq!(*flow, 100);
        assert_eq!(t.get_at(slot), Some(&100));
        assert_eq!(t.key_at(slot), Some(k(100)));
        assert_eq!(t.slot_of(&k(100)), Some(slot));
        assert_eq!(t.slots.len(), 10, "the freed slot was reused");
        assert_eq!(t.get(&k(100)), Some(&100));
        *t.get_mut(&k(5)).unwrap() += 1;
        assert_eq!(t.len(), 10);
        let all: Vec<_> = t.drain_by_key(|&f| std::cmp::Reverse(f)).collect();
        assert_eq!(all, [100, 33, 9, 8, 7, 6, 6, 2, 1, 0]);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn the_table_agrees_with_a_map_through_growth_and_churn() {
        // A short-connection capture in miniature: keys come and go, the slab and the
        // index grow past several resizes and shrink back, slots are reused. Every answer
        // is checked against a standard map.
        use std::collections::HashMap;
        let mut t: FlowTable<u64> = FlowTable::default();
        let mut model: HashMap<FlowKey, u64> = HashMap::new();
        let key = |n: u64| {
            let port = (n % 60_000) as u16;
            let host = [10, 0, (n / 60_000 % 256) as u8, 1];
            FlowKey::of(SocketAddr::from((host, port)), addr("192.0.2.1:80"))
        };
        let mut peak = 0;
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for round in 0..40_000u64 {
            // Up to ~3 000 keys live at once, then the range moves on.
            let n = round / 4 + next() % 3_000;
            let k = key(n);
            match next() % 4 {
                0 | 1 => {
                    *t.insert_with(k, || round).1 += 1;
                    model.insert(k, round + 1);
                }
                2 => {
                    let wanted = next() % 2 == 0;
                    let got = t.remove_if_with(k, |_| wanted, |f| *f);
                    let expected = if wanted { model.remove(&k) } else { None };
                    assert_eq!(got, expected, "round {round}");
                }
                _ => assert_eq!(t.remove(&k), model.remove(&k), "round {round}"),
            }
            assert_eq!(t.get(&k), model.get(&k), "round {round}");
            assert_eq!(t.len(), model.len(), "round {round}");
            peak = peak.max(model.len());
        }
        for (k, v) in &model {
            assert_eq!(t.get(k), Some(v));
        }
        // The slab never grows past the most flows held at once.
        assert!(t.slots.len() <= peak, "{} slots for {peak}", t.slots.len());
        assert!(
            peak > 3_000,
            "the index grew through several sizes ({peak})"
        );
        let mut all: Vec<u64> = t.drain_by_key(|&f| f).collect();
        let mut expected: Vec<u64> = model.into_values().collect();
        expected.sort_unstable();
        all.sort_unstable();
        assert_eq!(all, expected);
    }
}
