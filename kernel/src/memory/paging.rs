//! The kernel's page tables, and the one way to each of them.
//!
//! The CPU walks one tree of page tables (CR3 → level 4 → 3 → 2 → 1). The
//! kernel edits that tree through `&mut PageTable` references, so Rust's
//! rule about `&mut` becomes the kernel's rule: **every page table has
//! exactly one owner, and code reaches a table only through its owner.**
//! There are two owners:
//!
//! ```text
//!   PageTables (this module; after boot behind a lock)      kmap (memory::kmap)
//!   ┌───────────────────────────────────────────────────┐    ┌───────────────────────┐
//!   │ level 4 ─► level 3 ─► level 2 ─► level 1 ...      │    │ the level-1 table of  │
//!   │ direct map, kernel image, stack, ramdisk, heap;   │    │ the kmap window: one  │
//!   │ the level-2 entry that points at kmap's table ────┼───►│ entry per slot        │
//!   └───────────────────────────────────────────────────┘    └───────────────────────┘
//! ```
//!
//! 1. At boot, `memory::init` takes the bootloader's tables once
//!    ([`PageTables::take_active`]) and, running alone, uses them to find and
//!    move the ramdisk and to cut the direct map down to LOWMEM
//!    (`direct_map`, which walks the tree holding `&mut PageTables`).
//! 2. It then *carves out* the level-1 table of the kmap window
//!    ([`PageTables::carve_out`]) and hands it to kmap, which keeps it as
//!    its own: mapping a slot is one entry write, without a lock or a walk.
//!    From then on `PageTables` refuses every address that table maps.
//! 3. Finally the tables go behind a lock ([`install`]); the heap maps its
//!    new pages through [`with`]. The lock is taken with interrupts off.
//!
//! All page tables live in LOWMEM, so the kernel reaches any of them through
//! the direct map ([`table_at`]).

use super::frame::{self, Frame, GFP_KERNEL};
use core::ops::Range;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::registers::control::{Cr3, Cr4, Cr4Flags};
use x86_64::structures::paging::mapper::MapToError;
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
    Translate,
};
use x86_64::{PhysAddr, VirtAddr};

/// Bytes one level-1 table maps (512 entries of 4 KiB).
const LEVEL_1_SPAN: u64 = 2 << 20;

/// Why a page could not be mapped. Nothing changes on error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The page is in the kmap window, whose table belongs to kmap.
    KmapWindow,
    /// Something is mapped at the page already.
    AlreadyMapped,
    /// The page lies inside a huge page.
    InsideHugePage,
    /// No LOWMEM frame was left for a missing page table.
    OutOfFrames,
}

/// The kernel's page tables, except the level-1 table kmap owns.
pub struct PageTables {
    mapper: OffsetPageTable<'static>,
    /// The virtual range mapped by the carved-out level-1 table.
    carved_out: Option<Range<u64>>,
}

static PAGE_TABLES: Mutex<Option<PageTables>> = Mutex::new(None);

impl PageTables {
    /// The page tables the CPU uses now.
    ///
    /// # Safety
    /// Called once, at boot: every page table must be mapped at
    /// `physical_memory_offset` + its physical address (the bootloader maps
    /// all of physical memory there), and nothing else may refer to them.
    pub(super) unsafe fn take_active(physical_memory_offset: u64) -> PageTables {
        // SAFETY: per this function's contract.
        let mapper = unsafe { Self::mapper(physical_memory_offset) };
        PageTables {
            mapper,
            carved_out: None,
        }
    }

    /// # Safety
    /// The tables are mapped at `offset` + physical, and the caller owns them.
    unsafe fn mapper(offset: u64) -> OffsetPageTable<'static> {
        let level_4 = (offset + level_4_address().as_u64()) as *mut PageTable;
        // SAFETY: per this function's contract the level-4 table is mapped at
        // `level_4`, and no other reference to it exists.
        unsafe { OffsetPageTable::new(&mut *level_4, VirtAddr::new(offset)) }
    }

    /// Let the CPU use the level-4 table at `level_4` instead (a copy with the
    /// same entries, made by `direct_map`), and edit that one from now on.
    pub(super) fn switch_level_4(&mut self, level_4: PhysAddr) {
        // SAFETY: the caller made a copy holding exactly the active table's
        // entries, so switching changes no translation.
        unsafe { Cr3::write(PhysFrame::containing_address(level_4), Cr3::read().1) };
        let offset = self.mapper.phys_offset().as_u64();
        // SAFETY: `self` owns every table (the new level-4 table included),
        // all reachable at `offset`; the old handle is replaced here.
        self.mapper = unsafe { Self::mapper(offset) };
    }

    /// The physical address `address` maps to, if any. Panics for an
    /// address in the kmap window: its table is kmap's.
    pub fn translate(&self, address: VirtAddr) -> Option<PhysAddr> {
        self.check_not_carved_out(address);
        self.mapper.translate_addr(address)
    }

    /// Map `page` to `frame`, making the tables that are missing from LOWMEM.
    /// Fails, changing nothing, where something is mapped already or the page
    /// belongs to kmap's window.
    ///
    /// # Safety
    /// The caller must own `frame` (mapping it makes its bytes reachable at
    /// `page`) and the virtual page.
    pub unsafe fn map(
        &mut self,
        page: Page,
        frame: Frame,
        flags: PageTableFlags,
    ) -> Result<(), MapError> {
        if self.is_carved_out(page.start_address()) {
            return Err(MapError::KmapWindow);
        }
        // SAFETY: per this function's contract.
        let result = unsafe {
            self.mapper
                .map_to(page, frame.to_phys_frame(), flags, &mut PageTableFrames)
        };
        match result {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::PageAlreadyMapped(_)) => Err(MapError::AlreadyMapped),
            Err(MapToError::ParentEntryHugePage) => Err(MapError::InsideHugePage),
            Err(MapToError::FrameAllocationFailed) => Err(MapError::OutOfFrames),
        }
    }

    /// Point the mapped `page` at `frame` instead, with `flags`; returns the
    /// frame it mapped before.
    ///
    /// # Safety
    /// `frame` must hold what `page` is expected to show (nothing may
    /// observe the page between the two writes: run with interrupts off), and
    /// the caller must own it.
    pub unsafe fn remap(&mut self, page: Page, frame: Frame, flags: PageTableFlags) -> Frame {
        self.check_not_carved_out(page.start_address());
        let (old, flush) = self.mapper.unmap(page).expect("the page is mapped");
        flush.ignore();
        // SAFETY: per this function's contract; the entry was just emptied,
        // and its table exists.
        unsafe { self.map(page, frame, flags) }.expect("the page's table exists");
        Frame::containing_address(old.start_address().as_u64())
    }

    /// The level-4 table, for walks over the whole tree at boot
    /// (`direct_map`), before anything is carved out.
    pub(super) fn level_4(&mut self) -> &mut PageTable {
        assert!(self.carved_out.is_none(), "whole-tree walks end at boot");
        self.mapper.level_4_table_mut()
    }

    /// Show the frame of every page table of the tree to `visit`: the
    /// level-4 table and, through present entries that are not huge pages,
    /// every table below it (kmap's level-1 table included: its frame is
    /// shown, its entries are not read).
    pub fn table_frames(&self, visit: &mut dyn FnMut(Frame)) {
        let level_4 = level_4_address();
        visit(Frame::containing_address(level_4.as_u64()));
        self.visit_below(level_4, 4, visit);
    }

    /// Visit the tables that the level-`level` table at `table` points to.
    fn visit_below(&self, table: PhysAddr, level: u8, visit: &mut dyn FnMut(Frame)) {
        if level == 1 {
            return;
        }
        // SAFETY: `table` is a table of this tree (reached from the level-4
        // table through present, non-huge entries) in LOWMEM, and `&self`
        // keeps every table of the tree unchanged while it is read here.
        // Level-1 tables, kmap's among them, are never read.
        let entries = unsafe { &*table_at(table) };
        for entry in entries.iter() {
            let flags = entry.flags();
            if flags.contains(PageTableFlags::PRESENT) && !flags.contains(PageTableFlags::HUGE_PAGE)
            {
                visit(Frame::containing_address(entry.addr().as_u64()));
                self.visit_below(entry.addr(), level - 1, visit);
            }
        }
    }

    /// Hand over the level-1 table that maps `address` (made, with its
    /// parents, if missing), for its new owner to keep: from now on these
    /// tables refuse every address it maps. Used once, for kmap's window.
    pub(super) fn carve_out(&mut self, address: VirtAddr) -> &'static mut PageTable {
        assert!(self.carved_out.is_none(), "only kmap's table is carved out");
        let start = address.as_u64() & !(LEVEL_1_SPAN - 1);
        let mut table = self.mapper.level_4_table_mut() as *mut PageTable;
        for index in [address.p4_index(), address.p3_index(), address.p2_index()] {
            // SAFETY: `table` is a page table of this tree, reached from the
            // level-4 table through present entries; `&mut self` makes this
            // the only reference to it.
            let entry = unsafe { &mut (&mut *table)[index] };
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
            table = table_at(entry.addr());
        }
        self.carved_out = Some(start..start + LEVEL_1_SPAN);
        // SAFETY: `table` is the level-1 table for `address`, in LOWMEM; from
        // here on `PageTables` never reaches it again (every operation checks
        // `carved_out`), so the returned reference is its only one.
        unsafe { &mut *table }
    }

    /// Is `address` mapped by the table carved out for kmap?
    pub fn is_carved_out(&self, address: VirtAddr) -> bool {
        self.carved_out
            .as_ref()
            .is_some_and(|range| range.contains(&address.as_u64()))
    }

    fn check_not_carved_out(&self, address: VirtAddr) {
        assert!(
            !self.is_carved_out(address),
            "{:#x} is in the kmap window, whose table belongs to kmap",
            address.as_u64()
        );
    }
}

/// Boot: put the page tables behind the lock, for [`with`].
pub(super) fn install(tables: PageTables) {
    without_interrupts(|| *PAGE_TABLES.lock() = Some(tables));
}

/// Run `f` on the page tables, with interrupts off. The heap grows from
/// inside the allocator and takes this lock, so `f` must not allocate.
pub fn with<T>(f: impl FnOnce(&mut PageTables) -> T) -> T {
    without_interrupts(|| {
        let mut tables = PAGE_TABLES.lock();
        f(tables.as_mut().expect("memory::init has not run"))
    })
}

/// The page table in LOWMEM frame `address`, through the direct map.
///
/// Turning the pointer into a reference is the caller's business: it must
/// own the table, i.e. hold `&mut PageTables` or be kmap with its table.
pub(super) fn table_at(address: PhysAddr) -> *mut PageTable {
    super::direct_map_address(address.as_u64())
        .expect("page tables must live in LOWMEM, inside the direct map")
        .cast()
}

/// A fresh, zeroed LOWMEM frame for a page table.
pub(super) fn new_table() -> (Frame, &'static mut PageTable) {
    let frame = frame::allocate(GFP_KERNEL).expect("no LOWMEM frame left for a page table");
    // SAFETY: the frame is LOWMEM, just allocated and thus ours alone; an
    // all-zero page table is valid (no entry present).
    let table = unsafe { &mut *table_at(PhysAddr::new(frame.start_address())) };
    table.zero();
    (frame, table)
}

/// The active level-4 table.
pub(super) fn level_4_address() -> PhysAddr {
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

/// Adapter for the `x86_64` crate's page-table code: new page tables come
/// from LOWMEM ([`GFP_KERNEL`]), where the direct map can reach them.
pub struct PageTableFrames;

// SAFETY: every frame comes from the frame allocator, which hands out each
// free frame to one owner only; page tables are never freed.
unsafe impl FrameAllocator<Size4KiB> for PageTableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        frame::allocate(GFP_KERNEL).ok().map(Frame::to_phys_frame)
    }
}
