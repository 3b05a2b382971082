//! A backend that hands zsmalloc pages carved out of physically *contiguous*
//! blocks of frames — what an allocator needs when it cannot stitch single
//! frames together. The benchmark runs zsmalloc on it and on plain order-0
//! frames (`KernelPages`) side by side on a fragmented machine, to show why
//! zsmalloc is built from single pages.
//!
//! ```text
//!   block of 4 contiguous frames:  [ f | f+1 | f+2 | f+3 ]  → four pages for zsmalloc
//!   checkerboard free memory:      [ free | used | free | used | ... ]  → no block at all
//! ```
//!
//! Pages given back are kept for reuse; the blocks return to the frame
//! allocator when the backend is dropped.

use alloc::vec::Vec;
use core::ptr::NonNull;
use kernel::interrupts::atomic::{self, InterruptsOff};
use kernel::memory::frame::{self, AllocationFlags, Frame};
use kernel::memory::kmap;
use spin::Mutex;
use zsmalloc::{Backend, OutOfPages};

/// Pages from contiguous blocks of `block_frames` frames.
pub struct HighOrderPages {
    flags: AllocationFlags,
    block_frames: usize,
    state: Mutex<BlockState>,
}

#[derive(Default)]
struct BlockState {
    /// First frame of every block taken from the frame allocator.
    blocks: Vec<Frame>,
    /// Pages of those blocks not lent to zsmalloc right now.
    spare: Vec<Frame>,
}

impl HighOrderPages {
    pub fn new(flags: AllocationFlags, block_frames: usize) -> Self {
        HighOrderPages {
            flags,
            block_frames,
            state: Mutex::new(BlockState::default()),
        }
    }
}

impl Backend for HighOrderPages {
    type Page = Frame;
    type AtomicState = InterruptsOff;

    fn alloc_page(&self) -> Result<Frame, OutOfPages> {
        let mut state = self.state.lock();
        if let Some(page) = state.spare.pop() {
            return Ok(page);
        }
        let first =
            frame::allocate_contiguous(self.block_frames, self.flags).map_err(|_| OutOfPages)?;
        state.blocks.push(first);
        state.spare.extend(
            (1..self.block_frames as u64)
                .rev()
                .map(|index| first.offset(index)),
        );
        Ok(first)
    }

    unsafe fn free_page(&self, page: Frame) {
        self.state.lock().spare.push(page);
    }

    unsafe fn map_page(&self, page: Frame) -> NonNull<u8> {
        NonNull::new(kmap::kmap_raw(page)).expect("kmap never maps at address zero")
    }

    unsafe fn unmap_page(&self, page: Frame, address: NonNull<u8>) {
        kmap::kunmap_raw(page, address.as_ptr());
    }

    fn enter_atomic(&self) -> InterruptsOff {
        atomic::enter()
    }

    fn leave_atomic(&self, state: InterruptsOff) {
        atomic::leave(state)
    }
}

impl Drop for HighOrderPages {
    fn drop(&mut self) {
        for &first in &self.state.get_mut().blocks {
            frame::free_contiguous(first, self.block_frames)
                .expect("blocks came from allocate_contiguous");
        }
    }
}
