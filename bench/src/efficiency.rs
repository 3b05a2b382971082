//! Part 1: memory efficiency with every object live at once.
//!
//! ```text
//!   store every object of the workload (corpus order), then count:
//!
//!   efficiency                 =  stored bytes / (data pages × 4096)
//!   efficiency with metadata   =  stored bytes / (data pages × 4096 + metadata bytes)
//!
//!   stored bytes: compressed lengths, a huge page counting 4096 (compr_data_size)
//!   data pages:   pages holding objects (mem_used_total / 4096)
//! ```
//!
//! The objects are read back and compared before anything is counted, and
//! freed afterwards (every allocator must then hold no page at all).

use alloc::string::String;
use alloc::vec::Vec;

use crate::corpus::Workload;
use crate::fill::{free_all, store_all, verify, ExperimentError};
use crate::object_allocator::ObjectAllocator;
use crate::PAGE_SIZE;

/// The efficiency of one allocator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfficiencyResult {
    /// The allocator's name.
    pub allocator: String,
    /// Objects stored.
    pub objects: usize,
    /// Their bytes.
    pub stored_bytes: usize,
    /// Pages holding them.
    pub data_pages: usize,
    /// The allocator's bookkeeping outside those pages.
    pub metadata_bytes: usize,
    /// Pages still held after every object was freed (0 for a sound allocator).
    pub pages_after_free: usize,
}

/// `stored / (pages × 4096 + extra bytes)`, 0 for nothing stored.
pub fn efficiency(stored_bytes: usize, pages: usize, extra_bytes: usize) -> f64 {
    let used = pages * PAGE_SIZE + extra_bytes;
    if used == 0 {
        0.0
    } else {
        stored_bytes as f64 / used as f64
    }
}

impl EfficiencyResult {
    /// Stored bytes per byte of data pages.
    pub fn efficiency(&self) -> f64 {
        efficiency(self.stored_bytes, self.data_pages, 0)
    }

    /// Stored bytes per byte of data pages and metadata.
    pub fn efficiency_with_metadata(&self) -> f64 {
        efficiency(self.stored_bytes, self.data_pages, self.metadata_bytes)
    }

    /// Metadata bytes per object stored (0 for none).
    pub fn metadata_per_object(&self) -> f64 {
        if self.objects == 0 {
            0.0
        } else {
            self.metadata_bytes as f64 / self.objects as f64
        }
    }
}

/// Store the whole workload in `allocator`, verify it, count, free it.
pub fn measure_efficiency(
    allocator: &mut dyn ObjectAllocator,
    workload: &Workload,
) -> Result<EfficiencyResult, ExperimentError> {
    let objects = || {
        workload
            .objects
            .iter()
            .map(|object| object.bytes.as_slice())
    };
    let ids: Vec<_> = store_all(allocator, objects())?;
    verify(allocator, objects(), &ids)?;
    let data_pages = allocator.data_pages();
    let metadata_bytes = allocator.metadata_bytes();
    free_all(allocator, &ids);
    Ok(EfficiencyResult {
        allocator: allocator.name(),
        objects: ids.len(),
        stored_bytes: workload.stored_bytes(),
        data_pages,
        metadata_bytes,
        pages_after_free: allocator.data_pages(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ideal::IdealAllocator;
    use crate::slab::SlabAllocator;
    use crate::zbud::Zbud;
    use crate::zsmalloc_allocator::ZsmallocAllocator;
    use alloc::vec;
    use zsmalloc::testing::HeapBackend;
    use zsmalloc::Config;

    /// 100 objects of 100 bytes and 2 huge pages: 10,000 + 8,192 = 18,192 bytes.
    fn tiny_workload() -> Workload {
        let mut objects: Vec<Vec<u8>> = (0..100u8).map(|n| vec![n; 100]).collect();
        objects.push(vec![0xAA; PAGE_SIZE]);
        objects.push(vec![0xBB; PAGE_SIZE]);
        Workload::from_objects(objects)
    }

    fn pages_of(allocator: &mut dyn ObjectAllocator) -> usize {
        let result = measure_efficiency(allocator, &tiny_workload()).unwrap();
        assert_eq!(result.stored_bytes, 18_192);
        assert_eq!(result.pages_after_free, 0);
        result.data_pages
    }

    /// By hand, Linux geometry: 100 B + 8 B header = 108 B → class 112
    /// (32 + 5 × 16), its own class (class 128 is 1 page / 32 objects).
    /// Waste of a chain of k pages, (k × 4096) mod 112:
    ///   k = 1: 64, 2: 16, 3: 80, 4: 32, 5: 96, 6: 48, 7: 0.
    /// Chain 4 → 2 pages of 73 objects: 100 objects need 2 zspages = 4 pages.
    /// Chain 8 → 7 pages of 256 objects: 1 zspage = 7 pages.
    /// Each 4096-byte page is alone in a huge class page: + 2.
    #[test]
    fn linux_geometry_gives_the_page_counts_computed_by_hand() {
        let chain_4 = ZsmallocAllocator::new("chain 4", HeapBackend::new(), Config::linux(4));
        assert_eq!(pages_of(&mut chain_4.unwrap()), 4 + 2);
        let chain_8 = ZsmallocAllocator::new("chain 8", HeapBackend::new(), Config::linux(8));
        assert_eq!(pages_of(&mut chain_8.unwrap()), 7 + 2);
    }

    /// zbud: 2 chunks each, two per page → 50 pages, + 2 whole pages.
    /// slab: class 128, 32 per page → 4 pages, + 2 of class 4096.
    /// ideal: ceil(18,192 / 4096) = 5.
    #[test]
    fn baselines_give_the_page_counts_computed_by_hand() {
        assert_eq!(pages_of(&mut Zbud::new()), 52);
        assert_eq!(pages_of(&mut SlabAllocator::new(0)), 6);
        assert_eq!(pages_of(&mut IdealAllocator::new()), 5);
    }

    #[test]
    fn efficiency_is_stored_bytes_over_used_bytes() {
        let result = EfficiencyResult {
            allocator: String::from("x"),
            objects: 3,
            stored_bytes: 6144,
            data_pages: 2,
            metadata_bytes: 4096,
            pages_after_free: 0,
        };
        assert_eq!(result.efficiency(), 0.75);
        assert_eq!(result.efficiency_with_metadata(), 0.5);
        assert_eq!(result.metadata_per_object(), 4096.0 / 3.0);
        assert_eq!(efficiency(0, 0, 0), 0.0);
    }
}
