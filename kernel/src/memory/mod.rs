//! Memory management: page tables, physical frames and the kernel heap.
//!
//! At boot the bootloader hands us its page tables, a memory map of physical
//! RAM and a direct map of all physical memory at `physical_memory_offset`.
//! `init` wraps the page tables in an `OffsetPageTable`, builds the frame
//! allocator from the usable regions and maps the kernel heap.

pub mod frame;
pub mod heap;

use bootloader_api::BootInfo;
use spin::Mutex;
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::{OffsetPageTable, PageTable};
use x86_64::VirtAddr;

/// Size of one page / frame.
pub const PAGE_SIZE: usize = 4096;

/// The active page tables, reachable through the direct map.
pub static PAGE_TABLE: Mutex<Option<OffsetPageTable<'static>>> = Mutex::new(None);

static PHYSICAL_MEMORY_OFFSET: spin::Once<u64> = spin::Once::new();

/// The virtual address where the direct map of physical memory starts.
pub fn physical_memory_offset() -> u64 {
    *PHYSICAL_MEMORY_OFFSET
        .get()
        .expect("memory::init has not run")
}

/// Set up page tables, frames and the heap from the bootloader's information.
pub fn init(boot_info: &'static mut BootInfo) {
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("the bootloader did not map physical memory");
    PHYSICAL_MEMORY_OFFSET.call_once(|| offset);
    // SAFETY: the bootloader maps all physical memory at `offset` (we asked
    // for it in BOOTLOADER_CONFIG) and CR3 holds the active level-4 table; we
    // create the only `&mut` to it here, stored behind a lock.
    let page_table = unsafe { active_page_table(VirtAddr::new(offset)) };
    *PAGE_TABLE.lock() = Some(page_table);
    frame::init(&boot_info.memory_regions);
    heap::init().expect("could not map the kernel heap");
}

/// # Safety
/// All physical memory must be mapped at `offset`, and this must be called
/// only once (it hands out a `&'static mut` to the level-4 table).
unsafe fn active_page_table(offset: VirtAddr) -> OffsetPageTable<'static> {
    let (level_4_frame, _) = Cr3::read();
    let address = offset + level_4_frame.start_address().as_u64();
    let table: *mut PageTable = address.as_mut_ptr();
    // SAFETY: per this function's contract the table is mapped at `address`
    // and no other reference to it exists.
    unsafe { OffsetPageTable::new(&mut *table, offset) }
}
