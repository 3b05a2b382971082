//! The kernel heap: a `linked_list_allocator` over a fixed virtual range.
//!
//! ```text
//!   HEAP_START                              HEAP_START + HEAP_SIZE
//!   [ mapped 4 KiB pages, each backed by a frame ...................... ]
//! ```
//!
//! The global allocator disables interrupts while it holds the heap lock, so
//! an interrupt handler can never deadlock on it.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spin::Mutex;
use x86_64::structures::paging::mapper::MapToError;
use x86_64::structures::paging::{Mapper, Page, PageTableFlags, Size4KiB};
use x86_64::VirtAddr;

/// Where the heap starts in virtual memory.
pub const HEAP_START: u64 = 0x4444_4444_0000;
/// Heap size in bytes.
pub const HEAP_SIZE: u64 = 16 * 1024 * 1024;

struct KernelHeap(Mutex<Heap>);

#[global_allocator]
static ALLOCATOR: KernelHeap = KernelHeap(Mutex::new(Heap::empty()));

// SAFETY: the heap hands out disjoint blocks from memory it owns; the lock
// (taken with interrupts off) serialises every access to its free list.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        x86_64::instructions::interrupts::without_interrupts(|| {
            self.0
                .lock()
                .allocate_first_fit(layout)
                .map_or(core::ptr::null_mut(), |block| block.as_ptr())
        })
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        x86_64::instructions::interrupts::without_interrupts(|| {
            if let Some(block) = NonNull::new(pointer) {
                // SAFETY: GlobalAlloc's contract: `pointer` came from `alloc`
                // with this `layout` and is not used after this call.
                unsafe { self.0.lock().deallocate(block, layout) };
            }
        })
    }
}

/// Bytes of heap in use and free.
pub fn usage() -> (usize, usize) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let heap = ALLOCATOR.0.lock();
        (heap.used(), heap.free())
    })
}

/// Map the heap's pages and hand them to the allocator.
pub fn init() -> Result<(), MapToError<Size4KiB>> {
    let mut guard = super::PAGE_TABLE.lock();
    let page_table = guard.as_mut().expect("page table not initialised");
    let first = Page::containing_address(VirtAddr::new(HEAP_START));
    let last = Page::containing_address(VirtAddr::new(HEAP_START + HEAP_SIZE - 1));
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
    for page in Page::range_inclusive(first, last) {
        let frame = super::frame::allocate().ok_or(MapToError::FrameAllocationFailed)?;
        // SAFETY: the page lies in the heap range, which nothing else maps,
        // and the frame is fresh from the allocator, so no alias exists.
        unsafe {
            page_table
                .map_to(page, frame, flags, &mut super::frame::GlobalFrames)?
                .flush()
        };
    }
    drop(guard);
    // SAFETY: the range was just mapped writable and is used by nothing else.
    unsafe {
        ALLOCATOR
            .0
            .lock()
            .init(HEAP_START as *mut u8, HEAP_SIZE as usize)
    };
    Ok(())
}

mod tests {
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    fn boxes_and_vectors_work() {
        let boxed = Box::new(41u64 + 1);
        assert_eq!(*boxed, 42);
        let numbers: Vec<u64> = (0..10_000).collect();
        assert_eq!(numbers.iter().sum::<u64>(), 49_995_000);
    }
    crate::kernel_test!(boxes_and_vectors_work);

    fn freed_memory_is_reused() {
        let (used_before, _) = super::usage();
        for round in 0..1000u64 {
            let block = Box::new([round; 64]);
            assert_eq!(block[63], round);
        }
        assert_eq!(super::usage().0, used_before);
    }
    crate::kernel_test!(freed_memory_is_reused);
}
