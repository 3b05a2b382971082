//! The direct map, cut down to LOWMEM.
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
//!
//! Both walks run once, at boot, and visit every table: they hold
//! `&mut PageTables`, the owner of the whole tree (see `paging`).

use super::paging::{flush_entire_tlb, level_4_address, new_table, table_at, PageTables};
use core::ops::Range;
use x86_64::structures::paging::page_table::{PageTableEntry, PageTableLevel};
use x86_64::structures::paging::{PageTable, PageTableFlags};
use x86_64::{PhysAddr, VirtAddr};

/// Bytes one entry maps at each level (level 1 = 4 KiB ... level 4 = 512 GiB).
const fn entry_span(level: PageTableLevel) -> u64 {
    level.entry_address_space_alignment()
}

/// Virtual addresses are compared on their low 48 bits (no sign extension).
const ADDRESS_MASK: u64 = (1 << 48) - 1;

// ---------------------------------------------------------------------------
// Relocating page tables into LOWMEM
// ---------------------------------------------------------------------------

/// Cut `range` (the direct map above LOWMEM) out of the page tables: first
/// copy every page table that is at or above `lowmem_limit` and still needed
/// afterwards into LOWMEM, then cut, then flush the TLB. Returns how many
/// tables were copied. Runs once, at boot.
pub(super) fn restrict_to_lowmem(
    tables: &mut PageTables,
    lowmem_limit: u64,
    range: Range<VirtAddr>,
) -> usize {
    let range = (range.start.as_u64() & ADDRESS_MASK)..(range.end.as_u64() & ADDRESS_MASK);
    let relocated = relocate_page_tables(tables, lowmem_limit, &range);
    cut(tables.level_4(), PageTableLevel::Four, 0, &range);
    flush_entire_tlb();
    relocated
}

/// Copy every page table at or above `lowmem_limit` into LOWMEM, except those
/// that only map inside `doomed` (they are about to be cut away). Must run
/// while the direct map still covers all memory.
fn relocate_page_tables(tables: &mut PageTables, lowmem_limit: u64, doomed: &Range<u64>) -> usize {
    let mut moved = 0;
    let level_4 = level_4_address();
    if level_4.as_u64() >= lowmem_limit {
        tables.switch_level_4(copy_table(level_4));
        moved += 1;
    }
    moved
        + relocate_children(
            tables.level_4(),
            PageTableLevel::Four,
            0,
            lowmem_limit,
            doomed,
        )
}

/// Relocate the children of `table`, a table of the tree whose owner
/// (`&mut PageTables`) the caller holds for the whole walk.
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
        // SAFETY: the entry points at a child table of the tree the caller
        // owns, in LOWMEM now; the walk visits each table once and keeps no
        // other reference to it.
        let child = unsafe { &mut *table_at(entry.addr()) };
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
/// at its edges. The caller holds the tree's owner (`&mut PageTables`) for
/// the whole walk.
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
        // SAFETY: the entry points at a table of the caller's tree in LOWMEM
        // (relocated, or just made by the split); the walk visits each table
        // once and keeps no other reference to it.
        let child = unsafe { &mut *table_at(entry.addr()) };
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
