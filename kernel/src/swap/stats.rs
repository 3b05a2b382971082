//! What the swap counts in a phase, and the percentiles of fault lengths.
//!
//! ```text
//!   faults = demand_zero + swap_ins          (each fault maps one frame)
//!   evictions = swap_outs + swap_cache_hits  (each frees one frame)
//!   swap_outs ⊇ same_filled_outs, huge_outs  (what the store made of them)
//! ```
//!
//! Cycle figures are TSC cycles (one per instruction under `--icount`).

/// The counters of one phase.
#[derive(Debug, Default, Clone, Copy)]
pub struct SwapCounters {
    /// Faults resolved (each mapped a frame).
    pub faults: u64,
    /// Faults on never-touched pages: a zeroed frame.
    pub demand_zero: u64,
    /// Faults that read the page back from the store.
    pub swap_ins: u64,
    /// Evictions that wrote the page to the store (compressed, same-filled
    /// or whole).
    pub swap_outs: u64,
    /// Evictions of clean pages whose copy was still valid: nothing written.
    pub swap_cache_hits: u64,
    /// Swap-outs the store kept as one repeated word.
    pub same_filled_outs: u64,
    /// Swap-outs the store kept uncompressed.
    pub huge_outs: u64,
    /// Pages evicted (swap-outs + swap-cache hits).
    pub evictions: u64,
    /// Accessed bits the clock cleared (second chances given).
    pub second_chances: u64,
    /// Unused dirty (or copy-less) pages the clock passed over while
    /// looking for a clean one (clean first).
    pub dirty_passed_over: u64,
    /// Times the pool was compacted, and the pages that freed.
    pub compactions: u64,
    /// Pages the compactions gave back.
    pub pages_compacted: u64,
    /// The most pages resident at once.
    pub resident_max: usize,
    /// Cycles inside the fault handler, in total.
    pub fault_cycles: u64,
    /// Of which: reading pages back (pool copy, decompression, PTE, invlpg).
    pub swap_in_cycles: u64,
    /// Of which: finding and evicting victims (writes to the store included).
    pub reclaim_cycles: u64,
    /// Of which (inside reclaim): writing pages to the store.
    pub swap_out_cycles: u64,
    /// Of which (inside reclaim): compacting the pool.
    pub compaction_cycles: u64,
}

/// The `p`-th percentile (0..=100) of `samples`, which it sorts; 0 if empty.
pub fn percentile(samples: &mut [u32], p: usize) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    let index = (samples.len() * p).div_ceil(100).clamp(1, samples.len()) - 1;
    u64::from(samples[index])
}

/// `total / count`, 0 when nothing was counted.
pub fn per(total: u64, count: u64) -> u64 {
    total.checked_div(count).unwrap_or(0)
}
