//! The frames an event rests on.

use serde::{Serialize, Serializer};
use smallvec::SmallVec;
use std::borrow::Borrow;
use std::fmt;
use std::ops::{Deref, DerefMut};

/// Frames held without an allocation: a TCP event rests on one frame, most messages on one
/// or two.
const INLINE: usize = 2;

/// The frames an event rests on (Wireshark's frame numbers), ascending. Used like a `Vec<u64>`
/// (it dereferences to a slice, mutably too, iterates by reference or by value, compares and
/// hashes like one) and serialized as a JSON array.
///
/// Up to two frames are held inline, so that the events of a capture of short connections
/// (a million of them make ten million events) do not each allocate a list of one frame;
/// longer lists go to the heap, as a `Vec` would.
///
/// ```
/// use wiretale::timeline::Frames;
///
/// let mut frames = Frames::one(7);
/// frames.push(9);
/// assert_eq!(frames, [7, 9]);
/// assert_eq!(frames.first(), Some(&7));
/// assert_eq!(serde_json::to_string(&frames).unwrap(), "[7,9]");
/// let from_vec: Frames = vec![1, 2, 3].into();
/// assert_eq!(from_vec.into_vec(), vec![1, 2, 3]);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Frames(SmallVec<[u64; INLINE]>);

impl Frames {
    /// No frames.
    pub fn new() -> Self {
        Frames::default()
    }

    /// Just `frame`.
    pub fn one(frame: u64) -> Self {
        let mut frames = Frames::new();
        frames.push(frame);
        frames
    }

    /// Appends `frame` (the caller keeps the list ascending).
    pub fn push(&mut self, frame: u64) {
        self.0.push(frame);
    }

    /// Inserts `frame` at `index`; an index past the end appends (where `Vec::insert` would
    /// panic).
    pub fn insert(&mut self, index: usize, frame: u64) {
        self.0.insert(index.min(self.0.len()), frame);
    }

    /// Removes every frame.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Sorts the frames and removes repeats.
    pub fn sort_dedup(&mut self) {
        self.0.sort_unstable();
        self.0.dedup();
    }

    /// The frames as a slice.
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }

    /// The frames as a `Vec`.
    pub fn into_vec(self) -> Vec<u64> {
        self.0.into_vec()
    }
}

impl Deref for Frames {
    type Target = [u64];

    fn deref(&self) -> &[u64] {
        &self.0
    }
}

impl DerefMut for Frames {
    fn deref_mut(&mut self) -> &mut [u64] {
        &mut self.0
    }
}

impl AsRef<[u64]> for Frames {
    fn as_ref(&self) -> &[u64] {
        &self.0
    }
}

// Hash, Eq and Ord agree with the slice's (smallvec hashes and compares as its slice).
impl Borrow<[u64]> for Frames {
    fn borrow(&self) -> &[u64] {
        &self.0
    }
}

impl fmt::Debug for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Serialize for Frames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

impl From<Vec<u64>> for Frames {
    fn from(frames: Vec<u64>) -> Self {
        Frames(SmallVec::from_vec(frames))
    }
}

impl From<&[u64]> for Frames {
    fn from(frames: &[u64]) -> Self {
        Frames(SmallVec::from_slice(frames))
    }
}

impl<const N: usize> From<[u64; N]> for Frames {
    fn from(frames: [u64; N]) -> Self {
        Frames::from(frames.as_slice())
    }
}

impl From<Frames> for Vec<u64> {
    fn from(frames: Frames) -> Self {
        frames.into_vec()
    }
}

impl FromIterator<u64> for Frames {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        Frames(iter.into_iter().collect())
    }
}

impl Extend<u64> for Frames {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// The frames of a [`Frames`], by value ([`Frames`]'s `IntoIterator`).
pub struct FramesIntoIter(smallvec::IntoIter<[u64; INLINE]>);

impl Iterator for FramesIntoIter {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for FramesIntoIter {
    fn next_back(&mut self) -> Option<u64> {
        self.0.next_back()
    }
}

impl ExactSizeIterator for FramesIntoIter {}

impl IntoIterator for Frames {
    type Item = u64;
    type IntoIter = FramesIntoIter;

    fn into_iter(self) -> FramesIntoIter {
        FramesIntoIter(self.0.into_iter())
    }
}

impl<'a> IntoIterator for &'a Frames {
    type Item = &'a u64;
    type IntoIter = std::slice::Iter<'a, u64>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl PartialEq<[u64]> for Frames {
    fn eq(&self, other: &[u64]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u64]> for Frames {
    fn eq(&self, other: &&[u64]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<[u64; N]> for Frames {
    fn eq(&self, other: &[u64; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Vec<u64>> for Frames {
    fn eq(&self, other: &Vec<u64>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Frames> for Vec<u64> {
    fn eq(&self, other: &Frames) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Frames> for [u64] {
    fn eq(&self, other: &Frames) -> bool {
        self == other.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_stay_inline_and_long_ones_grow() {
        let mut frames = Frames::one(3);
        assert!(!frames.0.spilled());
        frames.insert(0, 1);
        assert!(!frames.0.spilled(), "two frames are held inline");
        assert_eq!(frames, [1, 3]);
        frames.extend([5, 7, 9]);
        assert!(frames.0.spilled());
        assert_eq!(frames, vec![1, 3, 5, 7, 9]);
        frames.insert(99, 11);
        assert_eq!(frames.last(), Some(&11), "an index past the end appends");
        let mut unsorted: Frames = [9, 1, 9, 4, 1].into();
        unsorted.sort_dedup();
        assert_eq!(unsorted, [1, 4, 9]);
        assert_eq!(format!("{unsorted:?}"), "[1, 4, 9]");
        assert_eq!(serde_json::to_string(&Frames::new()).unwrap(), "[]");
        assert_eq!(Vec::from(unsorted.clone()), vec![1, 4, 9]);
        assert_eq!(unsorted.iter().copied().collect::<Frames>(), unsorted);
        // By value, both ends, in place, as a slice key.
        assert_eq!(
            unsorted.clone().into_iter().rev().collect::<Vec<_>>(),
            [9, 4, 1]
        );
        assert_eq!(Frames::from([1, 2, 3]).into_iter().len(), 3);
        let mut changed = unsorted.clone();
        changed[0] = 5;
        changed.sort_unstable();
        assert_eq!(changed, [4, 5, 9]);
        let set: std::collections::HashSet<Frames> = [unsorted.clone()].into();
        assert!(set.contains([1u64, 4, 9].as_slice()));
        let (low, high): (Frames, Frames) = ([1, 2].into(), [1, 3].into());
        assert!(low < high && high.cmp(&low).is_gt());
        assert_eq!(AsRef::<[u64]>::as_ref(&unsorted), [1, 4, 9]);
    }

    #[test]
    fn a_frame_list_is_as_small_as_a_vec() {
        // Events are moved from decoder to sink: inline frames must not make them larger.
        assert_eq!(
            std::mem::size_of::<Frames>(),
            std::mem::size_of::<Vec<u64>>()
        );
    }
}
