//! zsmalloc's backend in the kernel: pages are physical frames from the
//! frame allocator (HIGHMEM preferred), reached through `kmap`, and atomic
//! sections disable interrupts.
//!
//! ```text
//!   zsmalloc                 KernelPages                   kernel
//!   alloc_page()      ──►    frame::allocate(GFP_HIGHUSER)  buddy allocator, HIGHMEM first
//!   map_page(frame)   ──►    kmap_raw(frame)                LOWMEM: direct map; HIGHMEM: a kmap slot
//!   unmap_page        ──►    kunmap_raw                     slot freed, TLB entry flushed
//!   map_page_pair     ──►    two consecutive kmap slots     an object spanning two pages in place
//!   enter_atomic()    ──►    interrupts::atomic::enter()    cli, measured
//!   leave_atomic()    ──►    interrupts::atomic::leave()    sti once the last section ends
//! ```
//!
//! zsmalloc's own metadata (zspage records, handle table) is ordinary heap
//! memory, and the kernel heap lives in LOWMEM, as in Linux.
//!
//! The backend's methods are `#[inline]`, as are the kmap and interrupt
//! functions they call: zsmalloc's code is generic, so it is
//! compiled in the crate that uses the pool (the demo here, or the benchmark
//! kernel), and calls from there into this crate are only inlined when the
//! callee says so.

use super::frame::{self, AllocationFlags, Frame, Zone};
use super::{kmap, PAGE_SIZE};
use crate::interrupts::atomic::{self, InterruptsOff};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use zsmalloc::{Backend, OutOfPages};

// zsmalloc's pages are the kernel's frames.
const _: () = assert!(PAGE_SIZE == zsmalloc::PAGE_SIZE);

/// Frames for a zsmalloc pool, counted by zone.
pub struct KernelPages {
    flags: AllocationFlags,
    frames_in_use: [AtomicUsize; 2],
}

impl KernelPages {
    /// A backend that allocates with `flags` (e.g. `GFP_HIGHUSER`).
    pub const fn new(flags: AllocationFlags) -> Self {
        KernelPages {
            flags,
            frames_in_use: [AtomicUsize::new(0), AtomicUsize::new(0)],
        }
    }

    /// Frames the pool holds now: (LOWMEM, HIGHMEM).
    pub fn frames_in_use(&self) -> (usize, usize) {
        (
            self.frames_in_use[0].load(Ordering::Relaxed),
            self.frames_in_use[1].load(Ordering::Relaxed),
        )
    }

    #[inline]
    fn counter(&self, frame: Frame) -> &AtomicUsize {
        match frame::zone_of(frame) {
            Zone::Low => &self.frames_in_use[0],
            Zone::High => &self.frames_in_use[1],
        }
    }
}

impl Backend for KernelPages {
    type Page = Frame;
    type AtomicState = InterruptsOff;

    #[inline]
    fn alloc_page(&self) -> Result<Frame, OutOfPages> {
        let frame = frame::allocate(self.flags).map_err(|_| OutOfPages)?;
        self.counter(frame).fetch_add(1, Ordering::Relaxed);
        Ok(frame)
    }

    #[inline]
    unsafe fn free_page(&self, page: Frame) {
        self.counter(page).fetch_sub(1, Ordering::Relaxed);
        if let Err(error) = frame::free(page) {
            panic!(
                "zsmalloc gave back a frame the kernel did not lend it: {:?}",
                error
            );
        }
    }

    #[inline]
    unsafe fn map_page(&self, page: Frame) -> NonNull<u8> {
        NonNull::new(kmap::kmap_raw(page)).expect("kmap never maps at address zero")
    }

    #[inline]
    unsafe fn unmap_page(&self, page: Frame, address: NonNull<u8>) {
        kmap::kunmap_raw(page, address.as_ptr());
    }

    /// Two HIGHMEM frames mapped one after the other take two consecutive
    /// kmap slots, which are adjacent in virtual memory: an object spanning
    /// them is then used in place. LOWMEM frames come back at their
    /// direct-map addresses, which are adjacent only by chance: no pair.
    #[inline]
    unsafe fn map_page_pair(&self, first: Frame, second: Frame) -> Option<NonNull<u8>> {
        if frame::zone_of(first) != Zone::High || frame::zone_of(second) != Zone::High {
            return None;
        }
        let first_address = kmap::try_kmap_raw(first).ok()?;
        let Ok(second_address) = kmap::try_kmap_raw(second) else {
            kmap::kunmap_raw(first, first_address);
            return None;
        };
        if second_address as usize == first_address as usize + PAGE_SIZE {
            NonNull::new(first_address)
        } else {
            kmap::kunmap_raw(second, second_address);
            kmap::kunmap_raw(first, first_address);
            None
        }
    }

    #[inline]
    unsafe fn unmap_page_pair(&self, first: Frame, second: Frame, address: NonNull<u8>) {
        kmap::kunmap_raw(second, address.as_ptr().wrapping_add(PAGE_SIZE));
        kmap::kunmap_raw(first, address.as_ptr());
    }

    #[inline]
    fn enter_atomic(&self) -> InterruptsOff {
        atomic::enter()
    }

    #[inline]
    fn leave_atomic(&self, state: InterruptsOff) {
        atomic::leave(state)
    }
}
