//! The kernel heap: a `linked_list_allocator` over a virtual range that grows
//! on demand with LOWMEM frames, up to a limit.
//!
//! ```text
//!   HEAP_START                       HEAP_START + mapped         HEAP_START + limit
//!   [ mapped pages, each a LOWMEM frame ][ not mapped yet ..................... ]
//!                                        ▲
//!        an allocation that does not fit └─ maps more pages here (GROWTH_STEP or
//!        more), hands them to the allocator, and tries again
//! ```
//!
//! The heap holds kernel metadata, so its frames come from LOWMEM
//! (`GFP_KERNEL`), like Linux's slab. When the limit is reached, or LOWMEM
//! runs out, `alloc` returns null: `Vec::try_reserve` and friends get an
//! error, and infallible allocations end in Rust's allocation-error panic
//! ("memory allocation of N bytes failed"). Nothing is ever written outside
//! the mapped range. The heap never shrinks.
//!
//! The allocator disables interrupts while it holds the heap lock, so an
//! interrupt handler can never deadlock on it. Lock order: heap, then the
//! page tables (`paging::with`), then the frame allocator.

use super::frame::{self, GFP_KERNEL};
use super::{paging, PAGE_SIZE};
use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::{Page, PageTableFlags};
use x86_64::VirtAddr;

/// Where the heap starts in virtual memory.
pub const HEAP_START: u64 = 0x4444_4444_0000;
/// Heap mapped at boot.
pub const INITIAL_HEAP_SIZE: u64 = 1024 * 1024;
/// The heap never grows beyond this, nor beyond half of LOWMEM's free frames.
pub const MAX_HEAP_SIZE: u64 = 64 * 1024 * 1024;
/// The heap grows by at least this much at a time.
pub const GROWTH_STEP: u64 = 256 * 1024;

/// The heap's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStatistics {
    /// Bytes mapped (the heap's current size).
    pub mapped: u64,
    /// The most it may grow to.
    pub limit: u64,
    /// Bytes in allocated blocks.
    pub used: usize,
    /// Bytes free inside the mapped range.
    pub free: usize,
    /// Times the heap grew.
    pub growths: u64,
    /// Allocations refused (null returned).
    pub failed_allocations: u64,
}

impl fmt::Display for HeapStatistics {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "heap: {} KiB mapped of {} KiB limit; {} KiB used, {} KiB free; grew {} times, {} failed allocations",
            self.mapped >> 10,
            self.limit >> 10,
            self.used >> 10,
            self.free >> 10,
            self.growths,
            self.failed_allocations
        )
    }
}

struct GrowableHeap {
    heap: Heap,
    mapped: u64,
    limit: u64,
    growths: u64,
    failed_allocations: u64,
}

struct KernelHeap(Mutex<GrowableHeap>);

#[global_allocator]
static ALLOCATOR: KernelHeap = KernelHeap(Mutex::new(GrowableHeap {
    heap: Heap::empty(),
    mapped: 0,
    limit: 0,
    growths: 0,
    failed_allocations: 0,
}));

impl GrowableHeap {
    fn allocate(&mut self, layout: Layout) -> *mut u8 {
        if let Ok(block) = self.heap.allocate_first_fit(layout) {
            return block.as_ptr();
        }
        if self.grow_for(layout) {
            if let Ok(block) = self.heap.allocate_first_fit(layout) {
                return block.as_ptr();
            }
        }
        self.failed_allocations += 1;
        core::ptr::null_mut()
    }

    /// Grow enough for `layout` (with room for alignment), if the limit allows.
    fn grow_for(&mut self, layout: Layout) -> bool {
        let wanted = (layout.size() + layout.align()) as u64;
        let room = self.limit - self.mapped;
        if wanted > room + self.heap.free() as u64 {
            return false; // could never fit: do not take frames for nothing
        }
        let step = wanted.next_multiple_of(GROWTH_STEP).min(room);
        let added = map_pages(HEAP_START + self.mapped, step);
        if added == 0 {
            return false;
        }
        // SAFETY: `map_pages` just mapped `added` bytes right after the heap's
        // end, writable and used by nothing else.
        unsafe { self.heap.extend(added as usize) };
        self.mapped += added;
        self.growths += 1;
        true
    }
}

/// Map up to `bytes` of fresh LOWMEM frames at `start`; returns the bytes mapped
/// (less than asked when LOWMEM runs out).
fn map_pages(start: u64, bytes: u64) -> u64 {
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
    paging::with(|tables| {
        let mut mapped = 0;
        while mapped < bytes {
            let page = Page::containing_address(VirtAddr::new(start + mapped));
            let Ok(frame) = frame::allocate(GFP_KERNEL) else {
                break;
            };
            // SAFETY: the page lies in the heap's range above what is mapped,
            // which nothing else maps; the frame is fresh from the allocator,
            // so no alias exists.
            if unsafe { tables.map(page, frame, flags) }.is_err() {
                frame::free(frame).expect("the frame was just allocated");
                break;
            }
            mapped += PAGE_SIZE as u64;
        }
        mapped
    })
}

// SAFETY: the heap hands out disjoint blocks from memory it owns (mapped by
// `map_pages`); the lock (taken with interrupts off) serialises every access
// to its free list.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        without_interrupts(|| self.0.lock().allocate(layout))
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        without_interrupts(|| {
            if let Some(block) = NonNull::new(pointer) {
                // SAFETY: GlobalAlloc's contract: `pointer` came from `alloc`
                // with this `layout` and is not used after this call.
                unsafe { self.0.lock().heap.deallocate(block, layout) };
            }
        })
    }
}

/// Bytes of heap in use and free (in the mapped part).
pub fn usage() -> (usize, usize) {
    let statistics = statistics();
    (statistics.used, statistics.free)
}

/// The heap's counters.
pub fn statistics() -> HeapStatistics {
    without_interrupts(|| {
        let heap = ALLOCATOR.0.lock();
        HeapStatistics {
            mapped: heap.mapped,
            limit: heap.limit,
            used: heap.heap.used(),
            free: heap.heap.free(),
            growths: heap.growths,
            failed_allocations: heap.failed_allocations,
        }
    })
}

/// Map the initial heap and set its limit (half of LOWMEM's free frames, at
/// most `MAX_HEAP_SIZE`). Panics if LOWMEM cannot even hold the initial heap.
pub fn init() {
    let page = PAGE_SIZE as u64;
    let lowmem_free = frame::statistics()[0].free as u64 * page;
    let limit = (lowmem_free / 2).min(MAX_HEAP_SIZE) & !(page - 1);
    assert!(
        limit >= INITIAL_HEAP_SIZE,
        "LOWMEM is too small for the kernel heap: raise lowmem="
    );
    let mapped = map_pages(HEAP_START, INITIAL_HEAP_SIZE);
    assert_eq!(mapped, INITIAL_HEAP_SIZE, "could not map the initial heap");
    without_interrupts(|| {
        let mut heap = ALLOCATOR.0.lock();
        // SAFETY: the range was just mapped writable and is used by nothing else.
        unsafe { heap.heap.init(HEAP_START as *mut u8, mapped as usize) };
        heap.mapped = mapped;
        heap.limit = limit;
    });
}
