//! The buddy allocator's invariants, checked by walking every record and
//! every free list. O(frames): for tests and debugging, not for the kernel's
//! fast paths.
//!
//! ```text
//!   every free list:  links agree both ways, every entry a FreeHead of its
//!                     order, aligned to its size, followed by 2^order - 1 FreeTails
//!   every record:     FreeTail only inside a free block, AllocatedTail only
//!                     inside an allocation, nothing else in between
//!   counters:         free = frames in free blocks, managed = free + allocated,
//!                     free_blocks[order] = length of list `order`
//!   no two free buddies of the same order (they would have been merged)
//! ```

use crate::buddy_allocator::{BuddyAllocator, FrameState};
use crate::ORDERS;

impl BuddyAllocator<'_> {
    /// Check every invariant; the first broken one is returned as a sentence.
    pub fn check(&self) -> Result<(), &'static str> {
        let mut free_frames = 0;
        for order in 0..ORDERS {
            free_frames += self.check_list(order)?;
        }
        if free_frames != self.counters.free {
            return Err("the free counter disagrees with the free lists");
        }
        let (free_in_records, allocated) = self.check_records()?;
        if free_in_records != free_frames {
            return Err("a free block is on no free list");
        }
        if self.counters.free + allocated != self.counters.managed {
            return Err("managed frames are neither free nor allocated");
        }
        Ok(())
    }

    /// Check list `order`; return the frames its blocks hold.
    fn check_list(&self, order: usize) -> Result<usize, &'static str> {
        let mut previous = u32::MAX;
        let mut current = self.free_lists[order];
        let mut blocks = 0;
        while current != u32::MAX {
            let index = current as usize;
            let record = self
                .records
                .get(index)
                .ok_or("a free-list link is out of range")?;
            if record.state != FrameState::FreeHead || record.order as usize != order {
                return Err("a free list holds a record that is not a free block of its order");
            }
            if record.prev != previous {
                return Err("a free list's back link is wrong");
            }
            let number = self.first + index as u64;
            if !number.is_multiple_of(1 << order) || index + (1 << order) > self.records.len() {
                return Err("a free block is misaligned or runs past the zone");
            }
            let tails = &self.records[index + 1..index + (1 << order)];
            if tails.iter().any(|tail| tail.state != FrameState::FreeTail) {
                return Err("a free block's frames are not all free tails");
            }
            let buddy = number ^ (1 << order);
            let buddy_is_free = buddy
                .checked_sub(self.first)
                .and_then(|buddy| self.records.get(buddy as usize))
                .is_some_and(|buddy| {
                    buddy.state == FrameState::FreeHead && buddy.order as usize == order
                });
            if buddy_is_free && order + 1 < ORDERS {
                return Err("two free buddies were not merged");
            }
            blocks += 1;
            if blocks > self.records.len() {
                return Err("a free list loops");
            }
            previous = current;
            current = record.next;
        }
        if blocks != self.counters.free_blocks[order] {
            return Err("a free-block counter disagrees with its list");
        }
        Ok(blocks << order)
    }

    /// Check that tails follow their heads; return the frames free and
    /// allocated.
    fn check_records(&self) -> Result<(usize, usize), &'static str> {
        let mut free = 0;
        let mut allocated = 0;
        let mut index = 0;
        while index < self.records.len() {
            let record = self.records[index];
            let length = match record.state {
                FrameState::Reserved => 1,
                FrameState::FreeHead => {
                    free += 1 << record.order;
                    1 << record.order
                }
                FrameState::AllocatedHead => {
                    let count = record.next as usize;
                    let tails = self.records.get(index + 1..index + count);
                    let whole = tails.is_some_and(|tails| {
                        tails
                            .iter()
                            .all(|tail| tail.state == FrameState::AllocatedTail)
                    });
                    if count == 0 || !whole {
                        return Err("an allocation's frames are not all allocated tails");
                    }
                    allocated += count;
                    count
                }
                FrameState::FreeTail | FrameState::AllocatedTail => {
                    return Err("a tail record outside any block")
                }
            };
            index += length;
        }
        Ok((free, allocated))
    }
}
