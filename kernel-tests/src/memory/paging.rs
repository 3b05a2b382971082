//! Page tables: the kmap window's table belongs to kmap alone.

use kernel::memory::frame::{self, GFP_HIGHMEM_ONLY, GFP_KERNEL};
use kernel::memory::kmap::{self, KMAP_BASE};
use kernel::memory::paging::{self, MapError};
use x86_64::structures::paging::{Page, PageTableFlags};
use x86_64::VirtAddr;

/// The kernel's page tables refuse to map into the kmap window (its table
/// is kmap's), change nothing, and kmap goes on working.
fn the_page_tables_refuse_the_kmap_window() {
    let frame = frame::allocate(GFP_KERNEL).unwrap();
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
    for address in [KMAP_BASE, KMAP_BASE + 0x1f_f000] {
        let page = Page::containing_address(VirtAddr::new(address));
        // SAFETY: the frame was just allocated; the call must fail without
        // mapping anything.
        let result = paging::with(|tables| unsafe { tables.map(page, frame, flags) });
        assert_eq!(result, Err(MapError::KmapWindow), "{address:#x}");
        assert!(paging::with(
            |tables| tables.is_carved_out(page.start_address())
        ));
    }
    frame::free(frame).unwrap();
    if let Ok(highmem) = frame::allocate(GFP_HIGHMEM_ONLY) {
        let guard = kmap::kmap(highmem);
        assert_eq!(guard.as_ptr() as u64, KMAP_BASE, "slot 0 still works");
        drop(guard);
        frame::free(highmem).unwrap();
    }
}
crate::kernel_test!(the_page_tables_refuse_the_kmap_window);

/// Mapping twice at one page is an error, not a silent overwrite.
fn mapping_a_mapped_page_is_an_error() {
    let frame = frame::allocate(GFP_KERNEL).unwrap();
    let heap_start = Page::containing_address(VirtAddr::new(kernel::memory::heap::HEAP_START));
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
    // SAFETY: the heap's first page is mapped, so this must fail without
    // touching it; the frame was just allocated.
    let result = paging::with(|tables| unsafe { tables.map(heap_start, frame, flags) });
    assert_eq!(result, Err(MapError::AlreadyMapped));
    frame::free(frame).unwrap();
}
crate::kernel_test!(mapping_a_mapped_page_is_an_error);
