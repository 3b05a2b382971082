//! The census: who owns each physical frame, for the frame grid.
//!
//! No single place knows every frame's owner, so the census asks each one
//! in turn, later answers overriding earlier ones:
//!
//! ```text
//!   1. the zones' allocators   reserved | free (a free block's first frame apart) | allocated
//!   2. the page tables         every table of the tree                  → page table
//!   3. the heap's mapping      HEAP_START .. HEAP_START + mapped        → heap
//!   4. the ramdisk's mapping   the corpus' pages                        → ramdisk
//!   5. the pool's walk         every page of every zspage               → zsmalloc
//!   allocated and claimed by none of them                               → kernel
//! ```
//!
//! Each step holds its own lock (interrupts off) only while it runs; none
//! runs inside a map window.

use crate::memory::frame::{self, Frame, FrameUse};
use crate::memory::{heap, paging, PAGE_SIZE};
use alloc::vec::Vec;
use x86_64::VirtAddr;

/// Who owns a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Not managed by the allocators: firmware, bootloader, the kernel's
    /// image and frame table, or no RAM at all.
    Reserved,
    /// Free, inside a free block of the buddy allocator.
    Free,
    /// Free, the first frame of a free block (so the blocks can be told apart).
    FreeBlockStart,
    /// Allocated by the kernel for anything else (e.g. kmap's bookkeeping).
    Kernel,
    /// The kernel heap.
    Heap,
    /// A page table.
    PageTable,
    /// The ramdisk (the page corpus).
    Ramdisk,
    /// A page of a zspage.
    Zsmalloc,
}

impl Owner {
    /// Every owner, in the legend's order.
    pub const ALL: [Owner; 8] = [
        Owner::Reserved,
        Owner::Free,
        Owner::FreeBlockStart,
        Owner::Kernel,
        Owner::Heap,
        Owner::PageTable,
        Owner::Ramdisk,
        Owner::Zsmalloc,
    ];

    /// Its name in the legend.
    pub const fn name(self) -> &'static str {
        match self {
            Owner::Reserved => "reserved",
            Owner::Free => "free",
            Owner::FreeBlockStart => "free block start",
            Owner::Kernel => "kernel",
            Owner::Heap => "heap",
            Owner::PageTable => "page tables",
            Owner::Ramdisk => "ramdisk",
            Owner::Zsmalloc => "zsmalloc",
        }
    }
}

/// The owner of every frame both zones span.
pub struct Census {
    /// The first frame number described.
    pub first: u64,
    /// The first HIGHMEM frame number.
    pub highmem_start: u64,
    /// `owners[i]` owns frame `first + i`.
    pub owners: Vec<Owner>,
}

impl Census {
    /// An empty census; [`Census::take`] fills it.
    pub const fn new() -> Census {
        Census {
            first: 0,
            highmem_start: 0,
            owners: Vec::new(),
        }
    }

    /// Ask every owner, the pool's frames being `zsmalloc_frames`.
    pub fn take(&mut self, zsmalloc_frames: &[Frame]) {
        let span = frame::spanned_frames();
        self.first = span.start;
        self.highmem_start = (crate::memory::lowmem_limit() / PAGE_SIZE as u64).min(span.end);
        self.owners.clear();
        self.owners
            .resize((span.end - span.start) as usize, Owner::Reserved);
        let first = self.first;
        let owners = &mut self.owners;
        frame::frame_uses(|number, count, used| {
            let owner = match used {
                FrameUse::Reserved => Owner::Reserved,
                FrameUse::FreeBlockStart { .. } => Owner::FreeBlockStart,
                FrameUse::Free => Owner::Free,
                FrameUse::Allocated => Owner::Kernel,
            };
            let start = (number - first) as usize;
            if let Some(run) = owners.get_mut(start..start + count) {
                run.fill(owner);
            }
        });
        // (The heap's lock before, not inside, the page tables': growing,
        // the heap takes them in that order.)
        let mapped = heap::statistics().mapped;
        paging::with(|tables| {
            tables.table_frames(&mut |table| self.claim(table, Owner::PageTable));
            for address in (heap::HEAP_START..heap::HEAP_START + mapped).step_by(PAGE_SIZE) {
                if let Some(physical) = tables.translate(VirtAddr::new(address)) {
                    self.claim(Frame::containing_address(physical.as_u64()), Owner::Heap);
                }
            }
            if let Some(ramdisk) = crate::ramdisk::contents() {
                let start = ramdisk.as_ptr() as u64;
                for address in (start..start + ramdisk.len() as u64).step_by(PAGE_SIZE) {
                    if let Some(physical) = tables.translate(VirtAddr::new(address)) {
                        self.claim(Frame::containing_address(physical.as_u64()), Owner::Ramdisk);
                    }
                }
            }
        });
        for &page in zsmalloc_frames {
            self.claim(page, Owner::Zsmalloc);
        }
    }

    /// Frames of each owner, in the order of [`Owner::ALL`].
    pub fn counts(&self) -> [usize; 8] {
        let mut counts = [0; 8];
        for &owner in &self.owners {
            counts[owner as usize] += 1;
        }
        counts
    }

    fn claim(&mut self, frame: Frame, owner: Owner) {
        if let Some(index) = frame.number().checked_sub(self.first) {
            if let Some(slot) = self.owners.get_mut(index as usize) {
                *slot = owner;
            }
        }
    }
}

impl Default for Census {
    fn default() -> Self {
        Census::new()
    }
}
