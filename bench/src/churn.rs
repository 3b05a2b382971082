//! Part 2: efficiency under churn, before and after compaction.
//!
//! A zram device does not only fill up: pages are swapped in (freed) and
//! others swapped out (written), leaving holes all over the pages.
//!
//! ```text
//!   1. fill      store all n objects, in workload order
//!   2. free      the n/2 objects at the first n/2 positions of
//!                permutation(n, FREE_SEED), in that order
//!   3. write     n/2 "other pages": the objects at the first n/2 positions
//!                of permutation(n, WRITE_SEED), in that order (an object
//!                still stored is written again as a new copy, as when a
//!                program swaps out a page equal to one already in zram)
//!   4. count     pages before compaction
//!   5. compact   (zsmalloc only; others return 0 freed pages)
//!   6. count     pages after compaction
//! ```
//!
//! The live objects are read back and compared after steps 3 and 5 (so
//! compaction is checked to move bytes correctly). Efficiency counts the
//! bytes live at that moment.

use alloc::string::String;
use alloc::vec::Vec;

use crate::corpus::Workload;
use crate::efficiency::efficiency;
use crate::fill::{free_all, store, store_all, verify, ExperimentError};
use crate::object_allocator::{ObjectAllocator, ObjectId};
use crate::shuffle::permutation;

/// Seed of the order of the objects freed.
pub const FREE_SEED: u64 = 0x5EED_0001;
/// Seed of the order of the objects written after the frees.
pub const WRITE_SEED: u64 = 0x5EED_0002;

/// Pages and metadata at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Data pages.
    pub data_pages: usize,
    /// Metadata bytes.
    pub metadata_bytes: usize,
}

impl Snapshot {
    fn of(allocator: &dyn ObjectAllocator) -> Snapshot {
        Snapshot {
            data_pages: allocator.data_pages(),
            metadata_bytes: allocator.metadata_bytes(),
        }
    }
}

/// The churn experiment's figures for one allocator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChurnResult {
    /// The allocator's name.
    pub allocator: String,
    /// Objects freed, then objects written (n/2 each).
    pub churned: usize,
    /// Bytes live after the fill.
    pub stored_bytes_after_fill: usize,
    /// Bytes live after the frees and writes.
    pub stored_bytes_after_churn: usize,
    /// After step 1.
    pub after_fill: Snapshot,
    /// After step 3.
    pub before_compaction: Snapshot,
    /// After step 5.
    pub after_compaction: Snapshot,
    /// What `compact` returned.
    pub pages_compacted: usize,
}

impl ChurnResult {
    /// Efficiency after the fill (data pages only).
    pub fn efficiency_after_fill(&self) -> f64 {
        efficiency(self.stored_bytes_after_fill, self.after_fill.data_pages, 0)
    }

    /// Efficiency of a snapshot taken after the churn, data pages only or
    /// with metadata.
    pub fn efficiency_after_churn(&self, snapshot: Snapshot, with_metadata: bool) -> f64 {
        let metadata = if with_metadata {
            snapshot.metadata_bytes
        } else {
            0
        };
        efficiency(self.stored_bytes_after_churn, snapshot.data_pages, metadata)
    }
}

/// Run the churn experiment on an empty `allocator` (left empty again).
pub fn measure_churn(
    allocator: &mut dyn ObjectAllocator,
    workload: &Workload,
) -> Result<ChurnResult, ExperimentError> {
    let bytes = |index: usize| workload.objects[index].bytes.as_slice();
    let count = workload.objects.len();
    let half = count / 2;

    let mut ids: Vec<ObjectId> = store_all(allocator, (0..count).map(bytes))?;
    // live[i]: the workload object that ids[i] holds.
    let mut live: Vec<usize> = (0..count).collect();
    let after_fill = Snapshot::of(allocator);

    let mut freed = permutation(count, FREE_SEED);
    freed.truncate(half);
    for &position in &freed {
        allocator.free(ids[position]);
    }
    let written = &permutation(count, WRITE_SEED)[..half];
    for (&position, &object) in freed.iter().zip(written) {
        ids[position] = store(allocator, bytes(object))?;
        live[position] = object;
    }
    verify(allocator, live.iter().map(|&object| bytes(object)), &ids)?;
    let before_compaction = Snapshot::of(allocator);

    let pages_compacted = allocator.compact();
    verify(allocator, live.iter().map(|&object| bytes(object)), &ids)?;
    let after_compaction = Snapshot::of(allocator);
    free_all(allocator, &ids);

    Ok(ChurnResult {
        allocator: allocator.name(),
        churned: half,
        stored_bytes_after_fill: workload.stored_bytes(),
        stored_bytes_after_churn: live.iter().map(|&object| bytes(object).len()).sum(),
        after_fill,
        before_compaction,
        after_compaction,
        pages_compacted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ideal::IdealAllocator;
    use crate::zsmalloc_allocator::ZsmallocAllocator;
    use alloc::vec;
    use zsmalloc::testing::HeapBackend;
    use zsmalloc::Config;

    fn workload() -> Workload {
        let sizes = (0..2000usize).map(|n| 40 + (n * 7919) % 3000);
        Workload::from_objects(sizes.map(|size| vec![(size % 251) as u8; size]).collect())
    }

    #[test]
    fn compaction_gives_pages_back_and_keeps_the_data() {
        let pool = ZsmallocAllocator::new("chain 4", HeapBackend::new(), Config::linux(4));
        let mut pool = pool.unwrap();
        let result = measure_churn(&mut pool, &workload()).unwrap();
        assert_eq!(result.churned, 1000);
        assert!(result.pages_compacted > 0);
        let before = result.before_compaction.data_pages;
        assert_eq!(
            result.after_compaction.data_pages,
            before - result.pages_compacted
        );
        assert_eq!(pool.data_pages(), 0);
    }

    #[test]
    fn the_ideal_follows_the_live_bytes() {
        let workload = workload();
        let result = measure_churn(&mut IdealAllocator::new(), &workload).unwrap();
        assert_eq!(
            result.after_fill.data_pages,
            workload.stored_bytes().div_ceil(4096)
        );
        let live_pages = result.stored_bytes_after_churn.div_ceil(4096);
        assert_eq!(result.before_compaction.data_pages, live_pages);
        assert_eq!(result.after_compaction, result.before_compaction);
        assert_eq!(result.pages_compacted, 0);
    }
}
