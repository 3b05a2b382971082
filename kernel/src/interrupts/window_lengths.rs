//! A histogram of interrupts-off window lengths, in TSC cycles, with one
//! bucket per power of two: what `atomic` records for every outermost
//! window, and what the demo's report prints per phase.
//!
//! ```text
//!   bucket k counts windows of 2^k ..= 2^(k+1) - 1 cycles (bucket 0: 0 and 1;
//!   the last bucket also counts every longer window)
//!
//!   cycles          windows
//!   512..1023         1,204  ####
//!   1024..2047       15,630  ##################################
//!   2048..4095          310  #
//!                                       p50 <= 2047, p99 <= 4095: the upper edge
//!                                       of the bucket holding that rank
//! ```
//!
//! A percentile read from log2 buckets is only known to a factor of two,
//! so it is reported as the upper edge of its bucket (never above the
//! longest window, which is measured exactly).

use core::sync::atomic::{AtomicU64, Ordering};

/// Buckets: 2^32 cycles (seconds at any TSC rate) and more land in the last.
pub const BUCKETS: usize = 32;

/// The bucket of a window of `cycles`.
pub fn bucket_of(cycles: u64) -> usize {
    ((u64::BITS - 1 - (cycles | 1).leading_zeros()) as usize).min(BUCKETS - 1)
}

/// The lengths bucket `bucket` counts: `(first, last)` in cycles.
pub fn bucket_bounds(bucket: usize) -> (u64, u64) {
    let first = if bucket == 0 { 0 } else { 1 << bucket };
    let last = if bucket == BUCKETS - 1 {
        u64::MAX
    } else {
        (1 << (bucket + 1)) - 1
    };
    (first, last)
}

/// Counters that interrupt-free code updates (one per bucket).
pub struct Recorder {
    buckets: [AtomicU64; BUCKETS],
}

impl Recorder {
    /// An empty histogram.
    pub const fn new() -> Self {
        Recorder {
            buckets: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }

    /// Count one window of `cycles`.
    #[inline]
    pub fn record(&self, cycles: u64) {
        self.buckets[bucket_of(cycles)].fetch_add(1, Ordering::Relaxed);
    }

    /// Forget every window counted.
    pub fn reset(&self) {
        for bucket in &self.buckets {
            bucket.store(0, Ordering::Relaxed);
        }
    }

    /// The counts as they stand.
    pub fn snapshot(&self) -> WindowLengths {
        WindowLengths {
            buckets: core::array::from_fn(|bucket| self.buckets[bucket].load(Ordering::Relaxed)),
        }
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// A snapshot of the histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowLengths {
    /// Windows per bucket (see [`bucket_bounds`]).
    pub buckets: [u64; BUCKETS],
}

impl WindowLengths {
    /// Windows counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The upper edge of the bucket holding the window of rank
    /// `ceil(percent / 100 × count)`, at most `longest`; 0 if there is none.
    pub fn percentile(&self, percent: u64, longest: u64) -> u64 {
        let count = self.count();
        if count == 0 {
            return 0;
        }
        let rank = (count * percent).div_ceil(100).max(1);
        let mut seen = 0;
        for (bucket, &windows) in self.buckets.iter().enumerate() {
            seen += windows;
            if seen >= rank {
                return bucket_bounds(bucket).1.min(longest);
            }
        }
        longest
    }

    /// The buckets from the first to the last non-empty one.
    pub fn occupied(&self) -> core::ops::Range<usize> {
        let first = self.buckets.iter().position(|&windows| windows != 0);
        let last = self.buckets.iter().rposition(|&windows| windows != 0);
        match (first, last) {
            (Some(first), Some(last)) => first..last + 1,
            _ => 0..0,
        }
    }
}
