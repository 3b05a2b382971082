//! The store's statistics, with the meaning of Linux's `mm_stat` file.
//!
//! ```text
//!   /sys/block/zram0/mm_stat:
//!   orig_data_size compr_data_size mem_used_total mem_limit mem_used_max same_pages pages_compacted huge_pages
//!   (bytes)        (bytes)         (bytes)        (bytes)   (bytes)      (pages)    (pages)         (pages)
//! ```
//!
//! - `orig_data_size`: pages stored (same-filled ones included) × 4096;
//! - `compr_data_size`: the compressed bytes kept in the pool (a huge page counts 4096);
//! - `mem_used_total`: pool pages × 4096 — what the allocator really holds, waste included;
//! - `mem_limit`, `mem_used_max`: the limit (0: none) and the high-water mark of `mem_used_total`;
//! - `same_pages`, `huge_pages`: how many pages are same-filled / stored uncompressed;
//! - `pages_compacted`: pages freed by compaction so far, asked for or automatic (the pool's count, as Linux's `zs_pool_stats`).
//!
//! The ratio students look at first: `orig_data_size / mem_used_total` (the
//! compression ratio the machine really gets) and the allocator's efficiency
//! `compr_data_size / mem_used_total`. zsmalloc's own metadata (handle
//! table, zspage records) is on the heap and not in `mem_used_total`, as in
//! Linux; `allocator_efficiency_with_metadata` counts it too.

use core::fmt;

/// The `mm_stat` figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MmStat {
    /// Pages stored (same-filled ones included) × 4096, in bytes.
    pub orig_data_size: u64,
    /// Compressed bytes kept in the pool (a huge page counts 4096).
    pub compr_data_size: u64,
    /// Pool pages × 4096: what the allocator really holds, waste included.
    pub mem_used_total: u64,
    /// The memory limit in bytes (0: none).
    pub mem_limit: u64,
    /// The high-water mark of `mem_used_total`.
    pub mem_used_max: u64,
    /// Pages stored as one repeated word, without memory.
    pub same_pages: u64,
    /// Pages freed by compaction so far.
    pub pages_compacted: u64,
    /// Pages stored uncompressed.
    pub huge_pages: u64,
}

impl MmStat {
    /// orig_data_size / mem_used_total (0 when nothing is stored).
    pub fn compression_ratio(&self) -> f64 {
        ratio(self.orig_data_size, self.mem_used_total)
    }

    /// compr_data_size / mem_used_total: how well the allocator packs.
    pub fn allocator_efficiency(&self) -> f64 {
        ratio(self.compr_data_size, self.mem_used_total)
    }

    /// compr_data_size / (mem_used_total + `metadata_bytes`): how well the
    /// allocator packs, counting its own metadata (zsmalloc's handle table
    /// and records live on the heap, outside `mem_used_total`).
    pub fn allocator_efficiency_with_metadata(&self, metadata_bytes: u64) -> f64 {
        ratio(self.compr_data_size, self.mem_used_total + metadata_bytes)
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

impl fmt::Display for MmStat {
    /// One line in the order of Linux's `mm_stat` file.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} {} {} {} {} {} {} {}",
            self.orig_data_size,
            self.compr_data_size,
            self.mem_used_total,
            self.mem_limit,
            self.mem_used_max,
            self.same_pages,
            self.pages_compacted,
            self.huge_pages
        )
    }
}

/// Everything the store counts: `mm_stat` plus the I/O counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStatistics {
    /// The `mm_stat` figures.
    pub mm_stat: MmStat,
    /// Successful reads.
    pub reads: u64,
    /// Successful writes.
    pub writes: u64,
    /// Writes refused (memory limit, out of memory).
    pub failed_writes: u64,
    /// Discards.
    pub discards: u64,
    /// Slots that hold a page (same-filled or stored).
    pub slots_used: u64,
}
