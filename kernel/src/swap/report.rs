//! The swap's report: per phase a readable block and one line
//! `SWAP-REPORT {json}` with the same figures.
//!
//! ```text
//!   SWAP-REPORT {"phase":"scan1","pages":4200,"resident_limit":2100,...,"verified":null}
//! ```
//!
//! Memory, honestly: the budget's frames are allocated when the region is
//! made (`workload_frames` = `resident_limit`, of which `resident_max` were
//! mapped at most), the pool holds `mem_used_total` bytes, and the swap's own
//! metadata is its page tables (one LOWMEM frame per 512 pages) plus its
//! per-page arrays (`metadata_bytes`). `memory_total_bytes` adds them all;
//! the store's slot array and zsmalloc's handle tables live on the heap
//! (the kernel heap line at the end of the run).

use super::space::SwapSpace;
use super::stats::{per, percentile, SwapCounters};
use crate::memory::PAGE_SIZE;
use crate::{println, tsc};
use zram::MmStat;

/// What one phase did and measured.
#[derive(Debug, Clone, Copy)]
pub struct PhaseReport {
    /// `load`, `scan1`..`scan3` or `verify`.
    pub phase: &'static str,
    /// The region's pages.
    pub pages: usize,
    /// The resident budget, in pages.
    pub resident_limit: usize,
    /// The phase's counters.
    pub counters: SwapCounters,
    /// The store's figures at the end of the phase.
    pub mm: MmStat,
    /// Median and 99th percentile of the phase's fault lengths, in cycles.
    pub fault_cycles_p50: u64,
    /// See `fault_cycles_p50`.
    pub fault_cycles_p99: u64,
    /// Cycles of the whole phase.
    pub phase_cycles: u64,
    /// A scan pass's checksum.
    pub checksum: Option<u64>,
    /// Verify's verdict.
    pub verified: Option<bool>,
    /// Frames of the swap's page tables.
    pub page_table_frames: usize,
    /// Bytes of the swap's per-page arrays.
    pub metadata_bytes: usize,
}

impl PhaseReport {
    /// The figures of the phase that just ended on `space`.
    pub fn collect(
        phase: &'static str,
        space: &mut SwapSpace,
        phase_cycles: u64,
        checksum: Option<u64>,
        verified: Option<bool>,
    ) -> PhaseReport {
        let (page_table_frames, metadata_bytes) = space.metadata();
        PhaseReport {
            phase,
            pages: space.pages(),
            resident_limit: space.limit(),
            counters: space.counters,
            mm: space.store().statistics().mm_stat,
            fault_cycles_p50: percentile(&mut space.fault_cycles, 50),
            fault_cycles_p99: percentile(&mut space.fault_cycles, 99),
            phase_cycles,
            checksum,
            verified,
            page_table_frames,
            metadata_bytes,
        }
    }

    /// Everything the swap holds: the budget's frames, the pool, the page
    /// tables and the per-page arrays.
    pub fn memory_total_bytes(&self) -> u64 {
        (self.resident_limit * PAGE_SIZE + self.page_table_frames * PAGE_SIZE + self.metadata_bytes)
            as u64
            + self.mm.mem_used_total
    }

    /// The phase's length in seconds of the TSC (guest seconds under `--icount`).
    pub fn seconds(&self) -> f64 {
        self.phase_cycles as f64 / tsc::cycles_per_second().max(1) as f64
    }
}

struct Optional<T>(Option<T>);

impl<T: core::fmt::Display> core::fmt::Display for Optional<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Some(value) => write!(f, "{value}"),
            None => f.write_str("null"),
        }
    }
}

/// Print the readable block and the JSON line of one phase.
pub fn print_phase(report: &PhaseReport) {
    let c = &report.counters;
    let mm = &report.mm;
    let swap_in = per(c.swap_in_cycles, c.swap_ins);
    let swap_out = per(c.swap_out_cycles, c.swap_outs);
    // What the swap cache saved: each hit would have been a swap-out.
    let saved_cycles = c.swap_cache_hits * swap_out;
    let reclaim_other = c
        .reclaim_cycles
        .saturating_sub(c.swap_out_cycles + c.compaction_cycles);
    let other_fault = c
        .fault_cycles
        .saturating_sub(c.swap_in_cycles + c.reclaim_cycles);
    println!();
    println!(
        "== swap phase {}: {} pages, {:.4} s ({} cycles) ==",
        report.phase,
        report.pages,
        report.seconds(),
        report.phase_cycles
    );
    println!(
        "  resident         {} at most of a budget of {} pages",
        c.resident_max, report.resident_limit
    );
    println!(
        "  faults           {:>8}  ({} demand-zero, {} swap-ins); p50 {} cycles, p99 {} cycles",
        c.faults, c.demand_zero, c.swap_ins, report.fault_cycles_p50, report.fault_cycles_p99
    );
    println!(
        "  evictions        {:>8}  ({} swap-outs: {} same-filled, {} huge; {} swap-cache hits)",
        c.evictions, c.swap_outs, c.same_filled_outs, c.huge_outs, c.swap_cache_hits
    );
    println!(
        "  swap cache       {} clean evictions wrote nothing: ~{} cycles of compression saved",
        c.swap_cache_hits, saved_cycles
    );
    println!(
        "  clock            {} second chances, {} dirty pages passed over (clean first); compaction: {} runs, {} pages freed",
        c.second_chances, c.dirty_passed_over, c.compactions, c.pages_compacted
    );
    println!(
        "  cycles           per swap-in {} (copy out of the pool, LZ4, PTE, invlpg); per swap-out {}",
        swap_in, swap_out
    );
    println!(
        "  fault time       {} cycles: swap-in {}, swap-out {}, compaction {}, clock and PTEs {}, other {}",
        c.fault_cycles,
        c.swap_in_cycles,
        c.swap_out_cycles,
        c.compaction_cycles,
        reclaim_other,
        other_fault
    );
    println!(
        "  store            orig {} B, compr {} B, pool {} B ({} same-filled, {} huge)",
        mm.orig_data_size, mm.compr_data_size, mm.mem_used_total, mm.same_pages, mm.huge_pages
    );
    println!(
        "  memory           {} B = budget {} frames + pool {} pages + page tables {} frames + arrays {} B",
        report.memory_total_bytes(),
        report.resident_limit,
        mm.mem_used_total / PAGE_SIZE as u64,
        report.page_table_frames,
        report.metadata_bytes
    );
    if let Some(checksum) = report.checksum {
        println!("  checksum         {checksum:#018x}");
    }
    if let Some(verified) = report.verified {
        println!(
            "  verified         {}",
            if verified {
                "every page"
            } else {
                "NO: see the errors above"
            }
        );
    }
    println!(
        "SWAP-REPORT {{\"phase\":\"{}\",\"pages\":{},\"resident_limit\":{},\"resident_max\":{},\"faults\":{},\"demand_zero\":{},\"swap_ins\":{},\"swap_outs\":{},\"swap_cache_hits\":{},\"same_filled_outs\":{},\"huge_outs\":{},\"evictions\":{},\"second_chances\":{},\"dirty_passed_over\":{},\"compactions\":{},\"pages_compacted\":{},\"orig_data_size\":{},\"compr_data_size\":{},\"mem_used_total\":{},\"mem_used_max\":{},\"page_table_frames\":{},\"metadata_bytes\":{},\"memory_total_bytes\":{},\"fault_cycles_p50\":{},\"fault_cycles_p99\":{},\"swap_in_cycles\":{},\"swap_out_cycles\":{},\"swap_cache_saved_cycles\":{},\"fault_cycles_total\":{},\"phase_cycles\":{},\"phase_seconds\":{:.6},\"checksum\":{},\"verified\":{}}}",
        report.phase,
        report.pages,
        report.resident_limit,
        c.resident_max,
        c.faults,
        c.demand_zero,
        c.swap_ins,
        c.swap_outs,
        c.swap_cache_hits,
        c.same_filled_outs,
        c.huge_outs,
        c.evictions,
        c.second_chances,
        c.dirty_passed_over,
        c.compactions,
        c.pages_compacted,
        mm.orig_data_size,
        mm.compr_data_size,
        mm.mem_used_total,
        mm.mem_used_max,
        report.page_table_frames,
        report.metadata_bytes,
        report.memory_total_bytes(),
        report.fault_cycles_p50,
        report.fault_cycles_p99,
        swap_in,
        swap_out,
        saved_cycles,
        c.fault_cycles,
        report.phase_cycles,
        report.seconds(),
        Optional(report.checksum.map(|checksum| alloc::format!("\"{checksum:#x}\""))),
        Optional(report.verified),
    );
}
