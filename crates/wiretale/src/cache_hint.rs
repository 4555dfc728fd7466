//! A hint to the processor to start loading memory that will be read soon.
//!
//! The flow table knows which connection it retires next (the oldest of the closed
//! connections kept for late packets) long before it does: by then, 4 096 closings later,
//! the flow's kilobyte is out of every cache, and retiring it waited on a cache miss for
//! each line it read (its key, its uid, whether it closed, its counters for the summary, the
//! buffers it frees). Asking for those lines as soon as the flow becomes the next to go
//! lets them arrive while other packets are processed: `story` on 1 M connections 3.80 →
//! 3.52 s, 3.98 → 3.64 s (docs/performance.md). Reading them instead (a safe load per line)
//! gained less than half of that: a load that misses holds the processor's reorder window
//! until it completes, a prefetch does not.

/// Asks the processor to bring the cache lines of `value` into its caches. Only a hint: no
/// effect on what the program computes, and a no-op where no stable prefetch exists (on
/// processors other than x86-64).
#[inline]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = (value as *const T).cast::<i8>();
        for offset in (0..std::mem::size_of::<T>()).step_by(64) {
            // SAFETY: `prefetch` (SSE, part of every x86-64 processor) never faults and
            // neither reads nor writes memory as the program sees it; the addresses are
            // those of `value`'s own bytes in any case.
            #[allow(unsafe_code)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::prefetch;

    /// A hint changes nothing: values of every size, the empty one included, read the same
    /// after it.
    #[test]
    fn a_prefetched_value_is_unchanged() {
        let big = [7u8; 5000];
        prefetch(&big);
        assert!(big.iter().all(|&b| b == 7));
        prefetch(&());
        let small = 3u16;
        prefetch(&small);
        assert_eq!(small, 3);
    }
}
