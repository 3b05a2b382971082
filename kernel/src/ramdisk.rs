//! The ramdisk: a file the bootloader loads into memory next to the kernel.
//! The host runner puts the page corpus there (`--corpus FILE`).
//!
//! The bootloader maps the ramdisk at a virtual address of its choosing
//! (`BootInfo::ramdisk_addr`, a mapping separate from the direct map, so it
//! stays reachable whatever the size of LOWMEM) and marks its frames as used
//! in the memory map. At boot, `memory::init` asks this module two things:
//!
//! ```text
//!   frames()              where it lies physically (one run), so that the
//!                         frame table never hands those frames out
//!   move_out_of_lowmem()  the BIOS loader puts it low, where it would crowd
//!                         out the heap: each page in LOWMEM is copied to a
//!                         HIGHMEM frame and remapped at the same address
//!
//!   virtual (unchanged)   [ page 0 | page 1 | page 2 | ... ]
//!   physical before       [ LOWMEM run ............................ ]
//!   physical after        [ HIGHMEM | HIGHMEM | HIGHMEM | ... ]   LOWMEM frames freed
//! ```
//!
//! Afterwards [`contents`] gives its bytes, read-only, for the kernel's life.

use crate::memory::frame::{self, GFP_HIGHMEM_ONLY};
use crate::memory::paging::PageTables;
use crate::memory::{lowmem_limit, physical_memory_offset, PAGE_SIZE};
use bootloader_api::BootInfo;
use core::ops::Range;
use spin::Once;
use x86_64::structures::paging::{Page, PageTableFlags};
use x86_64::VirtAddr;

static RAMDISK: Once<Option<&'static [u8]>> = Once::new();

/// The ramdisk's virtual range, if the bootloader loaded one.
fn virtual_range(boot_info: &BootInfo) -> Option<Range<u64>> {
    let start = boot_info.ramdisk_addr.into_option()?;
    (boot_info.ramdisk_len > 0).then(|| start..start + boot_info.ramdisk_len)
}

/// The physical frames behind the ramdisk's virtual mapping, found through
/// the page tables (the bootloader loads it into one physical run).
pub fn frames(boot_info: &BootInfo, tables: &PageTables) -> Option<Range<u64>> {
    let range = virtual_range(boot_info)?;
    let translate = |address: u64| {
        tables
            .translate(VirtAddr::new(address))
            .expect("the ramdisk is not mapped")
            .as_u64()
    };
    let physical_start = translate(range.start);
    for address in range.clone().step_by(PAGE_SIZE) {
        assert_eq!(
            translate(address),
            physical_start + (address - range.start),
            "the ramdisk is not physically contiguous"
        );
    }
    let page = PAGE_SIZE as u64;
    let length = range.end - range.start;
    Some(physical_start & !(page - 1)..(physical_start + length).next_multiple_of(page))
}

/// Copy each ramdisk page that lies in LOWMEM into a HIGHMEM frame, point the
/// ramdisk's mapping at the copy, and give the LOWMEM frame to the allocator.
/// The ramdisk's virtual address and contents do not change. Stops early,
/// leaving the rest in place, when HIGHMEM runs out. Returns the pages moved.
///
/// Must run at boot, with interrupts off, while the direct map still covers
/// all memory (both frames are reached through it).
pub fn move_out_of_lowmem(boot_info: &BootInfo, tables: &mut PageTables) -> usize {
    let Some(range) = virtual_range(boot_info) else {
        return 0;
    };
    let offset = physical_memory_offset();
    let mut moved = 0;
    for address in range.step_by(PAGE_SIZE) {
        let page = Page::containing_address(VirtAddr::new(address));
        let Some(old) = tables.translate(page.start_address()) else {
            continue; // the ramdisk is mapped with 4 KiB pages; nothing else is expected
        };
        if old.as_u64() >= lowmem_limit() {
            continue;
        }
        let Ok(new) = frame::allocate(GFP_HIGHMEM_ONLY) else {
            break;
        };
        let old_bytes = (offset + old.as_u64()) as *const [u8; PAGE_SIZE];
        // SAFETY: `old` backs the ramdisk page and `new` was just allocated;
        // both are distinct frames, reachable through the full direct map.
        unsafe {
            core::ptr::copy_nonoverlapping(
                old_bytes.cast::<u8>(),
                (offset + new.start_address()) as *mut u8,
                PAGE_SIZE,
            );
        }
        let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
        // SAFETY: the copy holds the page's contents identically; interrupts
        // are off at boot, so nothing reads the page between the two writes;
        // `new` is ours.
        let old = unsafe { tables.remap(page, new, flags) };
        // SAFETY: the ramdisk page is mapped (to `new`) and the old frame is
        // still in the direct map; both are 4096 readable bytes nobody writes.
        let same = unsafe { *(address as *const [u8; PAGE_SIZE]) == *old_bytes };
        assert!(
            same,
            "the ramdisk page at {:#x} did not move intact",
            address
        );
        frame::release_reserved(old).expect("the ramdisk's frames are reserved");
        moved += 1;
    }
    moved
}

/// Remember where the ramdisk is (called once at boot, after `memory::init`).
pub fn init(boot_info: &BootInfo) {
    RAMDISK.call_once(|| {
        let range = virtual_range(boot_info)?;
        // SAFETY: the bootloader loaded the ramdisk into this range and keeps
        // it mapped for the kernel's lifetime (moving a page to HIGHMEM keeps
        // its address and contents); nothing writes to it (the kernel only
        // ever reads the ramdisk), and the frame allocator never hands out
        // its frames (reserved in the frame table).
        let bytes = unsafe {
            core::slice::from_raw_parts(
                range.start as *const u8,
                (range.end - range.start) as usize,
            )
        };
        Some(bytes)
    });
}

/// The ramdisk's bytes, if the bootloader loaded one.
pub fn contents() -> Option<&'static [u8]> {
    RAMDISK.get().copied().flatten()
}
