//! The shell's views of the machine: `stats`, `classes`, `pool`, `frames`
//! and `kmap`. They change nothing.
//!
//! The pool map (`pool`) draws one row per zspage, about 64 cells split
//! among its pages (16 cells of 256 bytes per page for a zspage of 4
//! pages), pages separated by `|`:
//!
//! ```text
//!      #  pages  objs  span  payload  map (#: object bytes, +: partly, .: free; | between pages)
//!      0    4 4H    13     3    15584  |################|################|###########+....|................|
//! ```
//!
//! `H` counts the zspage's HIGHMEM pages; an object that spans two pages
//! is counted in the `span` column.

use crate::memory::frame::{self, Frame, Zone};
use crate::memory::kmap::{self, KMAP_SLOTS};
use crate::memory::zsmalloc_backend::KernelPages;
use crate::memory::PAGE_SIZE;
use crate::{print, println};
use alloc::string::String;
use alloc::vec::Vec;
use zram::CompressedStore;
use zsmalloc::{ObjectView, PoolVisitor, ZspageView};

type Outcome = Result<(), String>;

/// `stats`: Linux's mm_stat line, then each figure with its name.
pub fn stats(store: &CompressedStore<KernelPages>, configuration: &str) -> Outcome {
    let statistics = store.statistics();
    let mm = statistics.mm_stat;
    let (low, high) = store.pool().backend().frames_in_use();
    println!("mm_stat          {mm}");
    println!(
        "orig_data_size   {:>12} bytes  ({} pages stored)",
        mm.orig_data_size,
        mm.orig_data_size / PAGE_SIZE as u64
    );
    println!("compr_data_size  {:>12} bytes", mm.compr_data_size);
    println!(
        "mem_used_total   {:>12} bytes  ({} pool pages)",
        mm.mem_used_total,
        mm.mem_used_total / PAGE_SIZE as u64
    );
    println!("mem_limit        {:>12} bytes", mm.mem_limit);
    println!("mem_used_max     {:>12} bytes", mm.mem_used_max);
    println!("same_pages       {:>12}", mm.same_pages);
    println!("pages_compacted  {:>12}", mm.pages_compacted);
    println!("huge_pages       {:>12}", mm.huge_pages);
    println!(
        "compression ratio {:.2}, allocator efficiency {:.3}",
        mm.compression_ratio(),
        mm.allocator_efficiency()
    );
    println!(
        "slots: {} of {} hold a page; {} writes ({} refused), {} reads, {} discards",
        statistics.slots_used,
        store.slot_count(),
        statistics.writes,
        statistics.failed_writes,
        statistics.reads,
        statistics.discards
    );
    println!("zsmalloc configuration {configuration}: frames {low} LOWMEM, {high} HIGHMEM");
    let automatic = store.pool().auto_compaction();
    println!(
        "automatic compaction {}: {} steps, {} bytes moved, {} pages freed",
        if automatic.enabled { "on" } else { "off" },
        automatic.steps,
        automatic.bytes_moved,
        automatic.pages_freed
    );
    Ok(())
}

/// `classes`: the pool's own table.
pub fn classes(store: &CompressedStore<KernelPages>) -> Outcome {
    println!("{}", store.pool().stats());
    Ok(())
}

/// Cells per row of the pool map (split among the zspage's pages).
const ROW_CELLS: usize = 64;
/// Pages drawn per row; a longer zspage is cut short with `>`.
const PAGES_DRAWN: usize = 32;
/// Rows drawn; the rest are counted.
const ROWS_DRAWN: usize = 48;

/// One zspage of the map.
struct Row {
    pages: usize,
    highmem_pages: usize,
    objects: usize,
    spanning: usize,
    payload: usize,
    /// Object bytes in each drawn cell.
    cells: Vec<usize>,
}

impl Row {
    fn cells_per_page(&self) -> usize {
        (ROW_CELLS / self.pages.max(1)).max(2)
    }

    fn cell_bytes(&self) -> usize {
        PAGE_SIZE / self.cells_per_page()
    }
}

#[derive(Default)]
struct MapVisitor {
    rows: Vec<Row>,
    zspages: usize,
    objects: usize,
}

impl PoolVisitor<Frame> for MapVisitor {
    fn zspage(&mut self, zspage: &ZspageView<'_, Frame>) {
        self.zspages += 1;
        if self.rows.len() < ROWS_DRAWN {
            let mut row = Row {
                pages: zspage.pages.len(),
                highmem_pages: zspage
                    .pages
                    .iter()
                    .filter(|frame| frame.zone() == Zone::High)
                    .count(),
                objects: 0,
                spanning: 0,
                payload: 0,
                cells: Vec::new(),
            };
            row.cells = alloc::vec![0; row.cells_per_page() * row.pages.min(PAGES_DRAWN)];
            self.rows.push(row);
        }
    }

    fn object(&mut self, object: &ObjectView) {
        self.objects += 1;
        if self.zspages > ROWS_DRAWN {
            return;
        }
        let Some(row) = self.rows.last_mut() else {
            return;
        };
        row.objects += 1;
        row.payload += object.length;
        let end = object.offset + object.size;
        if end > object.offset && object.offset / PAGE_SIZE != (end - 1) / PAGE_SIZE {
            row.spanning += 1;
        }
        let cell_bytes = row.cell_bytes();
        let mut at = object.offset;
        while at < end && at / cell_bytes < row.cells.len() {
            let cell_end = (at / cell_bytes + 1) * cell_bytes;
            let piece = cell_end.min(end) - at;
            row.cells[at / cell_bytes] += piece;
            at += piece;
        }
    }
}

/// `pool`: one row per zspage.
pub fn pool(store: &CompressedStore<KernelPages>) -> Outcome {
    let mut visitor = MapVisitor::default();
    store.pool().walk(&mut visitor);
    println!(
        "pool: {} zspages, {} pages, {} objects (layout {})",
        visitor.zspages,
        store.pool().total_pages(),
        visitor.objects,
        store.pool().layout().name()
    );
    if visitor.zspages == 0 {
        return Ok(());
    }
    println!(
        "   #  pages  objs  span  payload  map (#: object bytes, +: partly, .: free; | between pages)"
    );
    for (index, row) in visitor.rows.iter().enumerate() {
        print!(
            "{index:>4}  {:>3} {}H {:>5} {:>5} {:>8}  |",
            row.pages, row.highmem_pages, row.objects, row.spanning, row.payload
        );
        let cell_bytes = row.cell_bytes();
        for page in row.cells.chunks(row.cells_per_page()) {
            let drawn: String = page
                .iter()
                .map(|&bytes| match bytes {
                    0 => '.',
                    full if full >= cell_bytes => '#',
                    _ => '+',
                })
                .collect();
            print!("{drawn}|");
        }
        println!("{}", if row.pages > PAGES_DRAWN { ">" } else { "" });
    }
    if visitor.zspages > ROWS_DRAWN {
        println!("  ... and {} more zspages", visitor.zspages - ROWS_DRAWN);
    }
    Ok(())
}

/// `frames`: both zones and the buddy allocator's free lists.
pub fn frames() -> Outcome {
    let zones = frame::statistics();
    println!("zone     physical range              frames     free  allocated  high-water");
    for zone in &zones {
        println!(
            "{:<7}  [{:#011x}-{:#011x})  {:>7}  {:>7}  {:>9}  {:>10}",
            zone.zone.name(),
            zone.start,
            zone.end,
            zone.total,
            zone.free,
            zone.allocated,
            zone.high_water
        );
    }
    println!("free lists: free blocks of 2^order frames");
    print!("order  ");
    for order in 0..zones[0].free_blocks.len() {
        print!("{order:>6}");
    }
    println!();
    for zone in &zones {
        print!("{:<7}", zone.zone.name());
        for blocks in zone.free_blocks {
            print!("{blocks:>6}");
        }
        println!();
    }
    Ok(())
}

/// `kmap`: the temporary mappings of HIGHMEM frames.
pub fn kmap() -> Outcome {
    let statistics = kmap::statistics();
    println!("kmap calls        {:>10}", statistics.calls);
    println!(
        "  HIGHMEM         {:>10}   (took a slot)",
        statistics.highmem_calls
    );
    println!("TLB flushes       {:>10}", statistics.tlb_flushes);
    println!(
        "slots in use      {:>10}   of {KMAP_SLOTS}",
        statistics.slots_in_use
    );
    println!("slots at most     {:>10}", statistics.slot_high_water);
    Ok(())
}
