//! [`BuddyAllocator`]: the buddy algorithm over one zone's frame records
//! (see the crate documentation for the idea and the pictures).
//!
//! Free blocks are kept on one doubly linked list per order, linked through
//! the records of their first frames. Links are record indices within the
//! zone (`u32`; [`NONE`] ends a list), frame numbers are `first + index`.
//!
//! Lab skeleton (labs/buddy/README.md): write every function that says `todo!`.
#![allow(unused)]

use crate::{largest_aligned_order, order_for, FrameError, FrameUse, ZoneAllocator, ZoneCounters};
use crate::{MAX_ORDER, ORDERS};
use core::mem::MaybeUninit;

/// "No record": the end of a free list.
const NONE: u32 = u32::MAX;

/// What a frame is doing right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FrameState {
    /// Not managed: no RAM, or used by the firmware, bootloader or kernel.
    Reserved,
    /// First frame of a free block, on the free list of its order.
    FreeHead,
    /// Inside a free block (not its first frame).
    FreeTail,
    /// First frame of an allocation; `next` holds its frame count.
    AllocatedHead,
    /// Inside an allocation (not its first frame).
    AllocatedTail,
}

/// One frame's record (Linux: `struct page`), 12 bytes.
#[derive(Clone, Copy, Debug)]
pub struct FrameRecord {
    /// Free-list link; for an `AllocatedHead`, the allocation's frame count.
    pub(crate) next: u32,
    /// Free-list link.
    pub(crate) prev: u32,
    /// Block order of a `FreeHead`.
    pub(crate) order: u8,
    pub(crate) state: FrameState,
}

impl FrameRecord {
    /// The record of a frame the allocator does not manage.
    pub const RESERVED: FrameRecord = FrameRecord {
        next: NONE,
        prev: NONE,
        order: 0,
        state: FrameState::Reserved,
    };
}

/// The buddy allocator of one zone (Linux: `struct zone` and its `free_area`).
pub struct BuddyAllocator<'t> {
    /// One record per frame of the zone, indexed by frame number - `first`.
    pub(crate) records: &'t mut [FrameRecord],
    /// The zone's first frame number.
    pub(crate) first: u64,
    /// Index of the first free block of each order.
    pub(crate) free_lists: [u32; ORDERS],
    pub(crate) counters: ZoneCounters,
}

impl<'t> ZoneAllocator<'t> for BuddyAllocator<'t> {
    type Record = FrameRecord;

    fn new(records: &'t mut [MaybeUninit<FrameRecord>], first_frame: u64) -> Self {
        assert!(
            records.len() < NONE as usize,
            "a zone has fewer than 2^32 - 1 frames"
        );
        for record in records.iter_mut() {
            record.write(FrameRecord::RESERVED);
        }
        // SAFETY: every record was initialised just above.
        let records = unsafe { records.assume_init_mut() };
        BuddyAllocator {
            records,
            first: first_frame,
            free_lists: [NONE; ORDERS],
            counters: ZoneCounters::default(),
        }
    }

    fn add_frame(&mut self, frame: u64) -> Result<(), FrameError> {
        let index = self.index_of(frame)?;
        if self.records[index].state != FrameState::Reserved {
            return Err(FrameError::AlreadyManaged(frame));
        }
        self.counters.managed += 1;
        self.counters.free += 1;
        self.free_block(index, 0);
        Ok(())
    }

    /// Allocate `count` frames (1..=2^MAX_ORDER): the first frame number, or
    /// `None` when no block is big enough. The excess of the block goes back.
    fn allocate(&mut self, count: usize) -> Option<u64> {
        todo!("lab buddy: take a block of order_for(count), mark its frames allocated, give back the excess")
    }

    /// Give back an allocation; any mismatch is an error that changes nothing
    /// (see [`FrameError`]'s variants for which one to return).
    fn free(&mut self, first: u64, count: usize) -> Result<(), FrameError> {
        todo!("lab buddy: check that `first` starts an allocation of exactly `count` frames, then give the frames back")
    }

    fn counters(&self) -> ZoneCounters {
        self.counters
    }

    fn frame_uses(&self, visit: &mut dyn FnMut(u64, usize, FrameUse)) {
        let use_of = |record: &FrameRecord| match record.state {
            FrameState::Reserved => FrameUse::Reserved,
            FrameState::FreeHead => FrameUse::FreeBlockStart {
                order: record.order as usize,
            },
            FrameState::FreeTail => FrameUse::Free,
            FrameState::AllocatedHead | FrameState::AllocatedTail => FrameUse::Allocated,
        };
        let mut start = 0;
        while start < self.records.len() {
            let used = use_of(&self.records[start]);
            let mut end = start + 1;
            if !matches!(used, FrameUse::FreeBlockStart { .. }) {
                while end < self.records.len() && use_of(&self.records[end]) == used {
                    end += 1;
                }
            }
            visit(self.first + start as u64, end - start, used);
            start = end;
        }
    }
}

impl BuddyAllocator<'_> {
    /// The record index of frame `frame`, if it is in the zone.
    fn index_of(&self, frame: u64) -> Result<usize, FrameError> {
        frame
            .checked_sub(self.first)
            .map(|index| index as usize)
            .filter(|&index| index < self.records.len())
            .ok_or(FrameError::OutsideZone(frame))
    }

    // -- the free lists ----------------------------------------------------

    /// Make the record at `index` the head of a free block of `order` and put
    /// it first on that order's list (count it in `free_blocks`).
    fn push(&mut self, order: usize, index: usize) {
        todo!("lab buddy: put the free block at `index` on the free list of `order`")
    }

    /// Take the free block at `index` off the list of `order` (anywhere in the
    /// list: the links are doubly linked), and uncount it.
    fn unlink(&mut self, order: usize, index: usize) {
        todo!("lab buddy: take the free block at `index` off the free list of `order`")
    }

    // -- blocks ------------------------------------------------------------

    /// Take a block of 2^order frames, splitting a bigger one if needed. Its
    /// first record is returned marked `AllocatedHead`.
    fn allocate_block(&mut self, order: usize) -> Option<usize> {
        todo!("lab buddy: find the smallest non-empty free list at or above `order` and split down to `order`")
    }

    /// Is frame `number` the first frame of a whole free block of `order` in
    /// this zone?
    fn is_free_block(&self, number: u64, order: usize) -> bool {
        self.index_of(number).is_ok_and(|index| {
            let record = &self.records[index];
            record.state == FrameState::FreeHead && record.order as usize == order
        })
    }

    /// Give back a block of 2^order frames, merging it with free buddies.
    /// Buddies are found by frame number, so blocks stay aligned in physical
    /// memory; a buddy outside the zone is never merged with.
    fn free_block(&mut self, mut index: usize, mut order: usize) {
        todo!("lab buddy: merge the block with its free buddy while possible, then push it")
    }

    /// Give back `count` frames from `index` as naturally aligned blocks.
    fn free_run(&mut self, mut index: usize, mut count: usize) {
        todo!("lab buddy: give back `count` frames from `index` as naturally aligned blocks")
    }
}
