//! A small per-thread memo of recent results, for decoding work that repeats across the
//! connections of a capture (a server's certificate chain, a client's fingerprint lists):
//! keyed by a hash of the input and compared in full, a fixed number of entries replaced
//! round robin, so its memory is bounded and a miss costs one scan of a short list.

use std::hash::{BuildHasher, Hash};

/// The last [`Recent::ENTRIES`] results, with the keys they were made from.
pub(super) struct Recent<K, V> {
    entries: Vec<(u64, K, V)>,
    /// Next entry to replace once full.
    next: usize,
}

impl<K, V: Clone> Recent<K, V> {
    /// Entries kept (per thread, per memo).
    pub(super) const ENTRIES: usize = 64;

    pub(super) const fn new() -> Self {
        Recent {
            entries: Vec::new(),
            next: 0,
        }
    }

    /// The hash [`Recent::find`] and [`Recent::keep`] are given for `key`.
    pub(super) fn hash_of(key: &(impl Hash + ?Sized)) -> u64 {
        foldhash::fast::FixedState::default().hash_one(key)
    }

    /// The result kept for the key with `hash` that `is_key` recognises.
    pub(super) fn find(&self, hash: u64, is_key: impl Fn(&K) -> bool) -> Option<V> {
        (self.entries.iter())
            .find(|(h, k, _)| *h == hash && is_key(k))
            .map(|(_, _, v)| v.clone())
    }

    /// Keeps `value` for `key`, in place of the oldest entry once full.
    pub(super) fn keep(&mut self, hash: u64, key: K, value: V) {
        let entry = (hash, key, value);
        if self.entries.len() < Self::ENTRIES {
            self.entries.push(entry);
        } else if let Some(slot) = self.entries.get_mut(self.next) {
            *slot = entry;
        }
        self.next = (self.next + 1) % Self::ENTRIES;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_entries_and_finds_only_the_same_key() {
        let mut recent: Recent<String, usize> = Recent::new();
        for i in 0..100usize {
            let key = i.to_string();
            let hash = Recent::<String, usize>::hash_of(key.as_str());
            assert_eq!(recent.find(hash, |k| *k == key), None);
            recent.keep(hash, key, i);
        }
        for i in 0..100usize {
            let key = i.to_string();
            let hash = Recent::<String, usize>::hash_of(key.as_str());
            let kept = i >= 100 - Recent::<String, usize>::ENTRIES;
            assert_eq!(recent.find(hash, |k| *k == key), kept.then_some(i), "{i}");
            // The same hash with another key is not a hit.
            assert_eq!(recent.find(hash, |k| *k == "other"), None);
        }
    }
}
