//! The swap region's page tables: one level-2 table carved out of the
//! kernel's tables at first use (like kmap's level-1 table, it then belongs
//! to the region alone), and one level-1 table per 512 pages of the region,
//! made from LOWMEM so that the region reaches every entry through the
//! direct map without a walk:
//!
//! ```text
//!   REGION_BASE (1 GiB aligned)
//!   level 2 (carved out once) ─► level 1 #0 ─► PTE of pages 0..511
//!                             ─► level 1 #1 ─► PTE of pages 512..1023
//!                             ─► ...
//!   entry(k) = level_1[k / 512] + (k % 512)   (a pointer into the direct map)
//! ```

use crate::memory::frame::{self, Frame, GFP_KERNEL};
use crate::memory::{direct_map_address, paging, PAGE_SIZE};
use alloc::vec::Vec;
use spin::Mutex;
use x86_64::structures::paging::{PageTable, PageTableFlags};
use x86_64::{PhysAddr, VirtAddr};

/// Where the swap region starts (above the kernel heap, 1 GiB aligned).
pub const REGION_BASE: u64 = 0x0000_5000_0000_0000;
/// The most pages a region holds: what one level-2 table maps (1 GiB).
pub const MAX_PAGES: usize = 512 * 512;

/// The carved-out level-2 table, once it exists.
static LEVEL_2: Mutex<Option<&'static mut PageTable>> = Mutex::new(None);

/// The level-1 tables of one region.
pub struct RegionTables {
    /// Each level-1 table's first entry, through the direct map.
    level_1: Vec<*mut u64>,
    frames: Vec<Frame>,
    pages: usize,
}

// SAFETY: the pointers reach LOWMEM page tables that this value owns alone;
// the kernel has one CPU, and the swap state that holds them is behind a
// lock.
unsafe impl Send for RegionTables {}

impl RegionTables {
    /// Empty page tables (every entry zero: demand-zero) for `pages` pages
    /// from [`REGION_BASE`]. Panics if `pages` exceeds [`MAX_PAGES`] or
    /// LOWMEM has no frame for a table.
    pub fn new(pages: usize) -> RegionTables {
        assert!(
            pages <= MAX_PAGES,
            "a swap region holds at most {MAX_PAGES} pages, not {pages}"
        );
        let mut level_2 = LEVEL_2.lock();
        let level_2 = level_2.get_or_insert_with(|| {
            paging::with(|tables| tables.carve_out_level_2(VirtAddr::new(REGION_BASE)))
        });
        let count = pages.div_ceil(512);
        let mut level_1 = Vec::with_capacity(count);
        let mut frames = Vec::with_capacity(count);
        for index in 0..count {
            let frame = frame::allocate(GFP_KERNEL).expect("no LOWMEM frame for a swap page table");
            let table = direct_map_address(frame.start_address())
                .expect("GFP_KERNEL frames are in LOWMEM")
                .cast::<u64>();
            // SAFETY: the frame is ours alone and reachable through the
            // direct map; 512 zero entries are a table with nothing present.
            unsafe { table.write_bytes(0, 512) };
            level_2[index].set_addr(
                PhysAddr::new(frame.start_address()),
                PageTableFlags::PRESENT | PageTableFlags::WRITABLE,
            );
            level_1.push(table);
            frames.push(frame);
        }
        RegionTables {
            level_1,
            frames,
            pages,
        }
    }

    /// The number of pages.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Frames of page tables the region made (its metadata in LOWMEM).
    pub fn table_frames(&self) -> usize {
        self.frames.len()
    }

    /// The page-table entry of page `page` (below [`pages`](Self::pages)).
    #[inline(always)]
    pub fn entry(&self, page: usize) -> *mut u64 {
        debug_assert!(page < self.pages);
        // SAFETY: `page / 512` indexes one of the tables made for the
        // region's pages, and `page % 512` stays inside it.
        unsafe { self.level_1.get_unchecked(page >> 9).add(page & 511) }
    }

    /// Page `page`'s virtual address.
    #[inline(always)]
    pub fn address(page: usize) -> u64 {
        REGION_BASE + (page * PAGE_SIZE) as u64
    }
}

impl Drop for RegionTables {
    /// Unhook the level-1 tables and free them (the caller has freed the
    /// frames they mapped), then drop every cached translation of the region.
    fn drop(&mut self) {
        let mut level_2 = LEVEL_2.lock();
        let level_2 = level_2.as_mut().expect("the tables were made");
        for (index, frame) in self.frames.drain(..).enumerate() {
            level_2[index].set_unused();
            frame::free(frame).expect("a page table's frame was allocated");
        }
        paging::flush_entire_tlb();
    }
}
