//! [`BuddyAllocator`]: the buddy algorithm over one zone's frame records
//! (see the crate documentation for the idea and the pictures).
//!
//! Free blocks are kept on one doubly linked list per order, linked through
//! the records of their first frames. Links are record indices within the
//! zone (`u32`; [`NONE`] ends a list), frame numbers are `first + index`.

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

    fn allocate(&mut self, count: usize) -> Option<u64> {
        let order = order_for(count)?;
        let index = self.allocate_block(order)?;
        self.records[index].next = count as u32;
        for tail in &mut self.records[index + 1..index + count] {
            tail.state = FrameState::AllocatedTail;
        }
        let excess = (1 << order) - count;
        self.free_run(index + count, excess);
        self.counters.free -= count;
        self.counters.high_water = self.counters.high_water.max(self.counters.allocated());
        Some(self.first + index as u64)
    }

    fn free(&mut self, first: u64, count: usize) -> Result<(), FrameError> {
        let index = self.index_of(first)?;
        let record = self.records[index];
        match record.state {
            FrameState::AllocatedHead if record.next as usize == count => {}
            FrameState::AllocatedHead => {
                return Err(FrameError::WrongCount {
                    frame: first,
                    allocated: record.next as usize,
                    freed: count,
                })
            }
            FrameState::AllocatedTail => return Err(FrameError::NotStartOfAllocation(first)),
            FrameState::Reserved => return Err(FrameError::NotManaged(first)),
            FrameState::FreeHead | FrameState::FreeTail => {
                return Err(FrameError::NotAllocated(first))
            }
        }
        self.free_run(index, count);
        self.counters.free += count;
        Ok(())
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

    fn push(&mut self, order: usize, index: usize) {
        let head = self.free_lists[order];
        self.records[index] = FrameRecord {
            next: head,
            prev: NONE,
            order: order as u8,
            state: FrameState::FreeHead,
        };
        if head != NONE {
            self.records[head as usize].prev = index as u32;
        }
        self.free_lists[order] = index as u32;
        self.counters.free_blocks[order] += 1;
    }

    fn unlink(&mut self, order: usize, index: usize) {
        let FrameRecord { next, prev, .. } = self.records[index];
        if prev == NONE {
            self.free_lists[order] = next;
        } else {
            self.records[prev as usize].next = next;
        }
        if next != NONE {
            self.records[next as usize].prev = prev;
        }
        self.counters.free_blocks[order] -= 1;
    }

    // -- blocks ------------------------------------------------------------

    /// Take a block of 2^order frames, splitting a bigger one if needed. Its
    /// first record is returned marked `AllocatedHead`.
    fn allocate_block(&mut self, order: usize) -> Option<usize> {
        let found = (order..ORDERS).find(|&o| self.free_lists[o] != NONE)?;
        let index = self.free_lists[found] as usize;
        self.unlink(found, index);
        self.records[index].state = FrameState::AllocatedHead;
        for lower in (order..found).rev() {
            // Split: keep the lower half, free the upper half (the buddy).
            self.push(lower, index + (1 << lower));
        }
        Some(index)
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
        while order < MAX_ORDER {
            let number = self.first + index as u64;
            let buddy = number ^ (1 << order);
            if !self.is_free_block(buddy, order) {
                break;
            }
            let buddy_index = (buddy - self.first) as usize;
            self.unlink(order, buddy_index);
            let (lower, upper) = (index.min(buddy_index), index.max(buddy_index));
            self.records[upper].state = FrameState::FreeTail;
            index = lower;
            order += 1;
        }
        self.push(order, index);
    }

    /// Give back `count` frames from `index` as naturally aligned blocks.
    fn free_run(&mut self, mut index: usize, mut count: usize) {
        while count > 0 {
            let order = largest_aligned_order(self.first + index as u64, count as u64);
            for tail in &mut self.records[index + 1..index + (1 << order)] {
                tail.state = FrameState::FreeTail;
            }
            self.free_block(index, order);
            index += 1 << order;
            count -= 1 << order;
        }
    }
}
