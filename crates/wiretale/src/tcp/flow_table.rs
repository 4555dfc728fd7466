//! The flow table: connections by 4-tuple.
//!
//! Flows are large (two reassembly halves, counters, the handler's state) and a short
//! connection is inserted and removed once each, so they live in a slab and never move while
//! in the table; the hash map holds only a compact key and a slot number, which keeps lookups
//! in cache. The map uses foldhash, seeded per process: hashing the 4-tuple with the standard
//! SipHash was 17 % of a whole analysis, and the random seed still keeps crafted captures from
//! choosing colliding keys.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

type FlowHasher = foldhash::fast::RandomState;

/// A connection's 4-tuple, the same for both directions: the two endpoints in a fixed order
/// as integers (compared and hashed without a byte-wise `memcmp`, which took 16 % of the
/// samples with a byte-array key).
/// 48 bytes, so that a map entry (key and slot) fills one cache line.
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

/// Flows by key, stored in a slab.
pub(super) struct FlowTable<F> {
    index: HashMap<FlowKey, usize, FlowHasher>,
    slots: Vec<Option<F>>,
    /// Empty slots, reused before the slab grows (it never grows past the most flows held at
    /// once).
    free: Vec<usize>,
}

impl<F> Default for FlowTable<F> {
    fn default() -> Self {
        FlowTable {
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<F> FlowTable<F> {
    /// Flows in the table.
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    pub(super) fn get(&self, key: &FlowKey) -> Option<&F> {
        let slot = *self.index.get(key)?;
        self.slots.get(slot)?.as_ref()
    }

    pub(super) fn get_mut(&mut self, key: &FlowKey) -> Option<&mut F> {
        let slot = *self.index.get(key)?;
        self.slots.get_mut(slot)?.as_mut()
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

    /// Puts the flow `make` makes under `key` and gives it back: it is made where it is
    /// kept, not made, filled and then moved there (a flow is about a kilobyte: a move is a
    /// copy). A flow already under `key` is dropped, not retired: the caller retires it first.
    pub(super) fn insert_with(&mut self, key: FlowKey, make: impl FnOnce() -> F) -> &mut F {
        let slot = match self.index.entry(key) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        self.slots.push(None);
                        self.slots.len() - 1
                    }
                };
                *entry.insert(slot)
            }
        };
        if slot >= self.slots.len() {
            // Not reached: a slot is only ever added.
            self.slots.resize_with(slot + 1, || None);
        }
        self.slots[slot].insert(make())
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
        let Entry::Occupied(entry) = self.index.entry(key) else {
            return None;
        };
        let slot = *entry.get();
        let held = self.slots.get_mut(slot)?;
        if !held.as_ref().is_some_and(wanted) {
            return None;
        }
        entry.remove();
        let done = held.as_mut().map(last);
        *held = None;
        self.free.push(slot);
        done
    }

    pub(super) fn remove(&mut self, key: &FlowKey) -> Option<F> {
        let slot = self.index.remove(key)?;
        let flow = self.slots.get_mut(slot)?.take();
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
            .enumerate()
            .filter_map(|(slot, flow)| Some((order(flow.as_ref()?), slot)))
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
    slots: Vec<Option<F>>,
    order: std::vec::IntoIter<usize>,
}

impl<F> Iterator for Drain<F> {
    type Item = F;

    fn next(&mut self) -> Option<F> {
        loop {
            let slot = self.order.next()?;
            if let Some(flow) = self.slots.get_mut(slot).and_then(Option::take) {
                return Some(flow);
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
        *t.insert_with(k(100), || 100) += 1;
        assert_eq!(t.get(&k(100)), Some(&101));
        assert_eq!(*t.insert_with(k(100), || 100), 100);
        assert_eq!(t.slots.len(), 10, "the freed slot was reused");
        assert_eq!(t.get(&k(100)), Some(&100));
        *t.get_mut(&k(5)).unwrap() += 1;
        assert_eq!(t.len(), 10);
        let all: Vec<_> = t.drain_by_key(|&f| std::cmp::Reverse(f)).collect();
        assert_eq!(all, [100, 33, 9, 8, 7, 6, 6, 2, 1, 0]);
        assert_eq!(t.len(), 0);
    }
}
