//! The demo's report: a readable block per phase, and the same figures as
//! one JSON line prefixed `ZRAM-REPORT ` so that tools can read them.
//!
//! ```text
//!   ZRAM-REPORT {"phase":"fill","orig_data_size":17203200,...,"cycles_per_read":9000}
//! ```
//!
//! The interrupts-off figures of a phase: `max_irq_off_cycles` (also
//! `irq_off_max_cycles`) and `max_irq_off_us`, the longest window;
//! `irq_off_p50_cycles` and `irq_off_p99_cycles`, the upper edges of the
//! log2 buckets holding the median and the 99th percentile; and
//! `irq_off_buckets`, the histogram (bucket k: windows of 2^k to 2^(k+1) - 1
//! cycles, see `interrupts::window_lengths`).
//!
//! Field names follow Linux's mm_stat (bytes for sizes, pages for counts);
//! see `zram::stats` for their meaning. `mem_used_total` keeps Linux's
//! meaning (pool pages × 4096); the heap the allocator and the store use
//! for bookkeeping is reported apart:
//!
//! ```text
//!   metadata_bytes            zsmalloc's own: handle table, zspage records,
//!                             reverse maps, hole lists (`PoolStats::metadata_bytes`)
//!   efficiency_with_metadata  compr_data_size / (mem_used_total + metadata_bytes)
//!   slot_table_bytes          zram's slot table (Linux's `zram->table`, not in
//!                             mm_stat either): counted in neither of the above
//! ```
//!
//! Explicit compaction: `compact_cycles`, the TSC cycles of the `compact`
//! phase's call to compact (0 in the other phases); the packed layout's
//! table, printed after that phase, says the bytes compaction moved since
//! boot.
//!
//! Automatic compaction (`zsmalloc::auto_compaction`): `auto_compaction`
//! (true or false), and since boot `auto_compaction_steps`,
//! `auto_compaction_bytes_moved` and `auto_compaction_pages` (also counted in
//! `pages_compacted`, with the pages of explicit compaction).

use crate::interrupts::atomic;
use crate::interrupts::window_lengths::bucket_bounds;
use crate::memory::zsmalloc_backend::KernelPages;
use crate::memory::{frame, kmap, PAGE_SIZE};
use crate::{println, tsc};
use zram::CompressedStore;

/// What one phase did and measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct PhaseFigures {
    /// Slots written in the phase.
    pub pages: u64,
    /// Writes the store refused.
    pub failed_writes: u64,
    /// Slots discarded.
    pub discards: u64,
    /// Slots read back.
    pub reads: u64,
    /// Pages read back and found equal (of every kind).
    pub verified_pages: u64,
    /// Pages read back different, or not at all.
    pub failed_pages: u64,
    /// TSC cycles spent in writes.
    pub write_cycles: u64,
    /// TSC cycles spent in reads.
    pub read_cycles: u64,
    /// TSC cycles spent in discards.
    pub discard_cycles: u64,
    /// Cycles of the fill phase's writes (pages per second).
    pub fill_cycles: u64,
    /// Pages compaction gave back.
    pub pages_freed_by_compaction: usize,
    /// TSC cycles spent in explicit compaction (the `compact` call).
    pub compact_cycles: u64,
    violations_at_start: u64,
}

impl PhaseFigures {
    /// Begin a phase: the window measurements (longest, histogram) start
    /// afresh.
    pub fn start() -> Self {
        atomic::reset_window_lengths();
        PhaseFigures {
            violations_at_start: atomic::statistics().violations,
            ..Default::default()
        }
    }

    /// End a phase: the figures as they stand.
    pub fn finish(self) -> Self {
        self
    }
}

/// The histogram of the phase's interrupts-off windows, one line per
/// log2 bucket from the first to the last non-empty one.
fn print_window_lengths(windows: &atomic::WindowStatistics) {
    let lengths = &windows.lengths;
    println!(
        "  interrupts-off windows: {} in the phase; p50 <= {} cycles, p99 <= {} cycles",
        lengths.count(),
        windows.p50_cycles(),
        windows.p99_cycles()
    );
    let widest = lengths.buckets.iter().copied().max().unwrap_or(0).max(1);
    for bucket in lengths.occupied() {
        let (first, last) = bucket_bounds(bucket);
        let count = lengths.buckets[bucket];
        let bar = (count * 40).div_ceil(widest) as usize;
        let range = if last == u64::MAX {
            alloc::format!("{first}..")
        } else {
            alloc::format!("{first}..{last}")
        };
        println!("    {:>22} cycles {:>9}  {}", range, count, "#".repeat(bar));
    }
}

/// A JSON array of numbers.
struct JsonArray<'a>(&'a [u64]);

impl core::fmt::Display for JsonArray<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str("[")?;
        for (index, value) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str(",")?;
            }
            write!(formatter, "{value}")?;
        }
        formatter.write_str("]")
    }
}

fn per(total: u64, count: u64) -> u64 {
    total.checked_div(count).unwrap_or(0)
}

/// Print the report of one phase.
pub fn print_phase(phase: &str, store: &CompressedStore<KernelPages>, figures: &PhaseFigures) {
    let statistics = store.statistics();
    let mm = statistics.mm_stat;
    let windows = atomic::statistics();
    let violations = windows.violations - figures.violations_at_start;
    let cycles_per_write = per(figures.write_cycles, figures.pages);
    let cycles_per_read = per(figures.read_cycles, figures.reads);
    let cycles_per_discard = per(figures.discard_cycles, figures.discards);
    let pool = store.pool().stats();
    let metadata_bytes = pool.metadata_bytes as u64;
    let efficiency_with_metadata = mm.allocator_efficiency_with_metadata(metadata_bytes);
    let slot_table_bytes = store.slot_table_bytes();
    let automatic = pool.auto_compaction;
    let pages_per_second = if figures.fill_cycles == 0 {
        0
    } else {
        (figures.pages as f64 * tsc::cycles_per_second() as f64 / figures.fill_cycles as f64) as u64
    };
    let (low_frames, high_frames) = store.pool().backend().frames_in_use();
    let kmaps = kmap::statistics();

    println!();
    println!(
        "== phase {}: {} slots written, {} pages verified, {} failed ==",
        phase, figures.pages, figures.verified_pages, figures.failed_pages
    );
    println!("  mm_stat          {}", mm);
    println!(
        "  orig_data_size   {:>12} bytes  ({} pages stored)",
        mm.orig_data_size,
        mm.orig_data_size / PAGE_SIZE as u64
    );
    println!("  compr_data_size  {:>12} bytes", mm.compr_data_size);
    println!(
        "  mem_used_total   {:>12} bytes  ({} pages)",
        mm.mem_used_total,
        mm.mem_used_total / PAGE_SIZE as u64
    );
    println!("  mem_limit        {:>12} bytes", mm.mem_limit);
    println!("  mem_used_max     {:>12} bytes", mm.mem_used_max);
    println!("  same_pages       {:>12}", mm.same_pages);
    println!("  pages_compacted  {:>12}", mm.pages_compacted);
    println!("  huge_pages       {:>12}", mm.huge_pages);
    println!(
        "  compression ratio (orig / mem_used_total)     {:.2}",
        mm.compression_ratio()
    );
    println!(
        "  allocator efficiency (compr / mem_used_total) {:.3}",
        mm.allocator_efficiency()
    );
    println!(
        "  zsmalloc metadata {:>11} bytes  ({:.1} per object; on the heap, not in mem_used_total)",
        metadata_bytes,
        pool.metadata_per_object()
    );
    println!(
        "  efficiency counting metadata (compr / (mem_used_total + metadata)) {:.3}",
        efficiency_with_metadata
    );
    println!(
        "  zram slot table  {:>12} bytes  ({} slots; counted apart, as Linux's zram->table)",
        slot_table_bytes,
        store.slot_count()
    );
    println!(
        "  zsmalloc frames: {} LOWMEM, {} HIGHMEM",
        low_frames, high_frames
    );
    println!(
        "  kmap: {} calls, {} slots at most, {} TLB flushes",
        kmaps.calls, kmaps.slot_high_water, kmaps.tlb_flushes
    );
    println!(
        "  interrupts off: longest window {} cycles ({:.1} us), {} timer ticks inside a window",
        windows.longest_cycles,
        tsc::cycles_to_microseconds(windows.longest_cycles),
        violations
    );
    print_window_lengths(&windows);
    println!(
        "  speed: {} cycles per write, {} cycles per read, {} cycles per discard",
        cycles_per_write, cycles_per_read, cycles_per_discard
    );
    if pages_per_second != 0 {
        println!("  fill rate: {} pages/s", pages_per_second);
    }
    println!(
        "  automatic compaction {}: {} steps, {} bytes moved, {} pages freed since boot",
        if automatic.enabled { "on" } else { "off" },
        automatic.steps,
        automatic.bytes_moved,
        automatic.pages_freed
    );
    if figures.pages_freed_by_compaction != 0 || phase == "compact" {
        println!(
            "  compaction freed {} pages",
            figures.pages_freed_by_compaction
        );
        println!("  compaction took {} cycles", figures.compact_cycles);
    }
    if phase == "compact" {
        println!("\n{}", pool);
    }
    println!(
        "ZRAM-REPORT {{\"phase\":\"{}\",\"orig_data_size\":{},\"compr_data_size\":{},\"mem_used_total\":{},\"mem_limit\":{},\"mem_used_max\":{},\"same_pages\":{},\"pages_compacted\":{},\"huge_pages\":{},\"pages\":{},\"verified_pages\":{},\"failed_pages\":{},\"failed_writes\":{},\"discards\":{},\"irq_in_map_window\":{},\"max_irq_off_cycles\":{},\"max_irq_off_us\":{:.2},\"irq_off_p50_cycles\":{},\"irq_off_p99_cycles\":{},\"irq_off_max_cycles\":{},\"irq_off_buckets\":{},\"cycles_per_write\":{},\"cycles_per_read\":{},\"cycles_per_discard\":{},\"compact_cycles\":{},\"metadata_bytes\":{},\"efficiency_with_metadata\":{:.4},\"slot_table_bytes\":{},\"auto_compaction\":{},\"auto_compaction_steps\":{},\"auto_compaction_bytes_moved\":{},\"auto_compaction_pages\":{},\"fill_pages_per_second\":{},\"lowmem_frames\":{},\"highmem_frames\":{},\"kmap_calls\":{},\"tlb_flushes\":{},\"lowmem_free_frames\":{},\"highmem_free_frames\":{}}}",
        phase,
        mm.orig_data_size,
        mm.compr_data_size,
        mm.mem_used_total,
        mm.mem_limit,
        mm.mem_used_max,
        mm.same_pages,
        mm.pages_compacted,
        mm.huge_pages,
        figures.pages,
        figures.verified_pages,
        figures.failed_pages,
        figures.failed_writes,
        figures.discards,
        violations,
        windows.longest_cycles,
        tsc::cycles_to_microseconds(windows.longest_cycles),
        windows.p50_cycles(),
        windows.p99_cycles(),
        windows.longest_cycles,
        JsonArray(&windows.lengths.buckets),
        cycles_per_write,
        cycles_per_read,
        cycles_per_discard,
        figures.compact_cycles,
        metadata_bytes,
        efficiency_with_metadata,
        slot_table_bytes,
        automatic.enabled,
        automatic.steps,
        automatic.bytes_moved,
        automatic.pages_freed,
        pages_per_second,
        low_frames,
        high_frames,
        kmaps.calls,
        kmaps.tlb_flushes,
        frame::statistics()[0].free,
        frame::statistics()[1].free,
    );
}
