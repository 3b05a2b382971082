//! The direct map, cut down to LOWMEM; and the small page-table toolkit the
//! rest of `memory` uses.
//!
//! The bootloader maps *all* physical memory (at least 4 GiB of it) at
//! `physical_memory_offset`, with 2 MiB pages. A 32-bit Linux kernel cannot
//! do that: its direct map ends at the LOWMEM limit. We get the same picture
//! by cutting the bootloader's map at the limit, once, at boot:
//!
//! ```text
//!   virtual                      physical
//!   offset + 0          ──────►  0
//!   ...  (2 MiB pages)           ...        LOWMEM: stays mapped
//!   offset + limit - 1  ──────►  limit - 1
//!   offset + limit      ──╳      limit      HIGHMEM: entries removed; a
//!   ...                          ...        touch here page-faults
//!   offset + end        ──╳      end (top of RAM, at least 4 GiB)
//! ```
//!
//! Cutting a range out of a page-table tree, level by level: an entry whose
//! whole area lies inside the range is cleared; an entry that straddles the
//! range's edge is descended into; a *huge* entry (a 1 GiB or 2 MiB page)
//! that straddles it is first *split* into a table of 512 smaller entries
//! mapping the same memory.
//!
//! ```text
//!   level 4 entry (512 GiB) ─► level 3 table
//!     level 3 entry (1 GiB)  ─► level 2 table          [ keep | keep | cut | cut ... ]
//!       level 2 entry (2 MiB huge page): keep, cut, or split into a level 1 table
//! ```
//!
//! Before cutting, every page table itself must be reachable through what is
//! left: the kernel edits page tables through the direct map. The bootloader
//! allocates its tables low, but nothing promises it, so any table found at
//! or above the limit is copied into a LOWMEM frame first ("relocated").
//! Afterwards the whole TLB is flushed, since the CPU may still cache
//! translations for the cut range.

use super::frame::{self, Frame, GFP_KERNEL};
use core::ops::Range;
use x86_64::registers::control::{Cr3, Cr4, Cr4Flags};
use x86_64::structures::paging::page_table::{PageTableEntry, PageTableLevel};
use x86_64::structures::paging::{PageTable, PageTableFlags, PhysFrame};
use x86_64::{PhysAddr, VirtAddr};

/// Bytes one entry maps at each level (level 1 = 4 KiB ... level 4 = 512 GiB).
const fn entry_span(level: PageTableLevel) -> u64 {
    level.entry_address_space_alignment()
}

/// Virtual addresses are compared on their low 48 bits (no sign extension).
const ADDRESS_MASK: u64 = (1 << 48) - 1;

/// The page table stored in LOWMEM frame `address`, through the direct map.
///
/// # Safety
/// `address` must be a page table's frame below the LOWMEM limit, and the
/// caller must not create another reference to that table while the returned
/// one is in use (callers hold the page-table lock, or run at boot).
pub unsafe fn table_at(address: PhysAddr) -> &'static mut PageTable {
    let virt = super::direct_map_address(address.as_u64())
        .expect("page tables must live in LOWMEM, inside the direct map");
    // SAFETY: per this function's contract the direct map covers `address`
    // (checked above) and holds a page table there, referenced nowhere else.
    unsafe { &mut *virt.cast::<PageTable>() }
}

/// A fresh, zeroed LOWMEM frame for a page table.
fn new_table() -> (Frame, &'static mut PageTable) {
    let frame = frame::allocate(GFP_KERNEL).expect("no LOWMEM frame left for a page table");
    // SAFETY: the frame is LOWMEM, just allocated and thus ours alone; an
    // all-zero page table is valid (no entry present).
    let table = unsafe { table_at(PhysAddr::new(frame.start_address())) };
    table.zero();
    (frame, table)
}

/// The active level-4 table.
fn level_4_address() -> PhysAddr {
    Cr3::read().0.start_address()
}

/// Flush the whole TLB, global pages included (toggling CR4.PGE does that;
/// reloading CR3 alone keeps global entries).
pub fn flush_entire_tlb() {
    let flags = Cr4::read();
    if flags.contains(Cr4Flags::PAGE_GLOBAL) {
        // SAFETY: clearing and restoring PGE changes no mapping; it only
        // makes the CPU drop every cached translation.
        unsafe {
            Cr4::write(flags - Cr4Flags::PAGE_GLOBAL);
            Cr4::write(flags);
        }
    } else {
        x86_64::instructions::tlb::flush_all();
    }
}

// ---------------------------------------------------------------------------
// Relocating page tables into LOWMEM
// ---------------------------------------------------------------------------

/// Cut `range` (the direct map above LOWMEM) out of the page tables: first
/// copy every page table that is at or above `lowmem_limit` and still needed
/// afterwards into LOWMEM, then cut, then flush the TLB. Returns how many
/// tables were copied. Runs once, at boot.
pub fn restrict_to_lowmem(lowmem_limit: u64, range: Range<VirtAddr>) -> usize {
    let range = (range.start.as_u64() & ADDRESS_MASK)..(range.end.as_u64() & ADDRESS_MASK);
    let relocated = relocate_page_tables(lowmem_limit, &range);
    // SAFETY: all page tables are in LOWMEM now, and this runs at boot,
    // before anything else edits page tables.
    let level_4 = unsafe { table_at(level_4_address()) };
    cut(level_4, PageTableLevel::Four, 0, &range);
    flush_entire_tlb();
    relocated
}

/// Copy every page table at or above `lowmem_limit` into LOWMEM, except those
/// that only map inside `doomed` (they are about to be cut away). Must run
/// while the direct map still covers all memory.
fn relocate_page_tables(lowmem_limit: u64, doomed: &Range<u64>) -> usize {
    let mut moved = 0;
    let mut level_4 = level_4_address();
    if level_4.as_u64() >= lowmem_limit {
        level_4 = copy_table(level_4);
        moved += 1;
        // SAFETY: the copy holds exactly the same entries as the active
        // table, so switching to it changes no translation.
        unsafe { Cr3::write(PhysFrame::containing_address(level_4), Cr3::read().1) };
    }
    // SAFETY: at boot nothing else references the page tables; the level-4
    // table is in LOWMEM (moved there just above if needed).
    let table = unsafe { table_at(level_4) };
    moved + relocate_children(table, PageTableLevel::Four, 0, lowmem_limit, doomed)
}

fn relocate_children(
    table: &mut PageTable,
    level: PageTableLevel,
    base: u64,
    lowmem_limit: u64,
    doomed: &Range<u64>,
) -> usize {
    let Some(child_level) = level.next_lower_level() else {
        return 0;
    };
    let span = entry_span(level);
    let mut moved = 0;
    for (index, entry) in table.iter_mut().enumerate() {
        let start = base + index as u64 * span;
        let flags = entry.flags();
        let is_table =
            flags.contains(PageTableFlags::PRESENT) && !flags.contains(PageTableFlags::HUGE_PAGE);
        if !is_table || (doomed.start <= start && start + span <= doomed.end) {
            continue;
        }
        if entry.addr().as_u64() >= lowmem_limit {
            entry.set_addr(copy_table(entry.addr()), flags);
            moved += 1;
        }
        // SAFETY: the child table is in LOWMEM now, and only this walk,
        // which runs at boot, touches page tables.
        let child = unsafe { table_at(entry.addr()) };
        moved += relocate_children(child, child_level, start, lowmem_limit, doomed);
    }
    moved
}

/// Copy the page table at `source` (anywhere in the still-full direct map)
/// into a new LOWMEM frame; return the copy's address.
fn copy_table(source: PhysAddr) -> PhysAddr {
    let (frame, copy) = new_table();
    let from = (super::physical_memory_offset() + source.as_u64()) as *const PageTable;
    // SAFETY: at boot the bootloader's direct map still covers all physical
    // memory, so `from` points at the page table in frame `source`; the copy
    // is a different, freshly allocated frame.
    unsafe { core::ptr::copy_nonoverlapping(from, copy, 1) };
    PhysAddr::new(frame.start_address())
}

// ---------------------------------------------------------------------------
// Cutting a virtual range out of the page tables
// ---------------------------------------------------------------------------

/// Remove every mapping of `range` (4 KiB aligned, low 48 bits) from `table`
/// (of `level`, mapping from virtual address `base`), splitting huge pages
/// at its edges.
fn cut(table: &mut PageTable, level: PageTableLevel, base: u64, range: &Range<u64>) {
    let span = entry_span(level);
    for (index, entry) in table.iter_mut().enumerate() {
        let start = base + index as u64 * span;
        let end = start + span;
        let outside = end <= range.start || start >= range.end;
        if outside || !entry.flags().contains(PageTableFlags::PRESENT) {
            continue;
        }
        if range.start <= start && end <= range.end {
            entry.set_unused();
            continue;
        }
        let child_level = level
            .next_lower_level()
            .expect("a 4 KiB page is cut whole or not at all");
        if entry.flags().contains(PageTableFlags::HUGE_PAGE) {
            split_huge_page(entry, child_level);
        }
        // SAFETY: the entry points at a table in LOWMEM (relocated, or just
        // made by the split); the walk runs at boot, alone.
        let child = unsafe { table_at(entry.addr()) };
        cut(child, child_level, start, range);
    }
}

/// Replace a huge-page entry by a table of 512 entries of the next level
/// down that map the same physical memory with the same flags.
fn split_huge_page(entry: &mut PageTableEntry, child_level: PageTableLevel) {
    let flags = entry.flags();
    let child_flags = if child_level == PageTableLevel::One {
        flags - PageTableFlags::HUGE_PAGE
    } else {
        flags
    };
    let (frame, table) = new_table();
    let span = entry_span(child_level);
    for (index, child) in table.iter_mut().enumerate() {
        child.set_addr(entry.addr() + index as u64 * span, child_flags);
    }
    let table_flags = flags - PageTableFlags::HUGE_PAGE - PageTableFlags::GLOBAL;
    entry.set_addr(PhysAddr::new(frame.start_address()), table_flags);
}

// ---------------------------------------------------------------------------
// Tables for the kernel's own windows
// ---------------------------------------------------------------------------

/// The level-1 table that maps `address`, created (with its parents) from
/// LOWMEM frames if missing. Used to pre-build the kmap slots' table, so
/// that installing a slot later is a single entry write.
///
/// # Safety
/// The caller must hold the page-table lock (`memory::PAGE_TABLE`) or run
/// before it exists, and must not keep another reference to the table.
pub unsafe fn leaf_table_for(address: VirtAddr) -> &'static mut PageTable {
    // SAFETY: the level-4 table is in LOWMEM; the caller's contract excludes
    // concurrent page-table edits.
    let mut table = unsafe { table_at(level_4_address()) };
    let indices = [address.p4_index(), address.p3_index(), address.p2_index()];
    for index in indices {
        let entry = &mut table[index];
        if entry.is_unused() {
            let (frame, _) = new_table();
            let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
            entry.set_addr(PhysAddr::new(frame.start_address()), flags);
        }
        assert!(
            !entry.flags().contains(PageTableFlags::HUGE_PAGE),
            "{:#x} is inside a huge page",
            address.as_u64()
        );
        // SAFETY: as above; the entry points at a LOWMEM table.
        table = unsafe { table_at(entry.addr()) };
    }
    table
}
