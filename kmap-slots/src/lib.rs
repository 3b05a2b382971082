//! # kmap-slots — which page is in which kmap slot
//!
//! The kernel maps a HIGHMEM frame for a moment by writing its address into
//! one of a few page-table entries, the *slots* (Linux: `kmap_local_page`).
//! The slots form a **stack**: a mapping takes the next slot, and only the
//! most recent mapping may be undone. This crate keeps that bookkeeping —
//! which page each slot holds, how deep the stack is, what happened — and
//! refuses every misuse, without touching any page table: the kernel's
//! `memory::kmap` writes the entry for the slot this crate hands out.
//!
//! ```text
//!   push(A) → slot 0    push(B) → slot 1    push(C) → slot 2
//!   pop(C, 2) ok        pop(A, 0) → OutOfOrder { slot: 0, top: 1 }
//!   pop(B, 1) ok        pop(A, 0) ok        pop(A, 0) → NotHeld { slot: 0 }
//!
//!   slot:   0     1     2     3 ...   SLOTS-1
//!         [ A ][ B ][    ][    ]     [    ]     depth = 2: slots 0 and 1 in use
//! ```
//!
//! Nested mappings are undone in reverse order naturally (RAII guards are
//! dropped in reverse order); an interrupt handler may map too, as long as it
//! unmaps before it returns, which keeps the stack in order.
#![no_std]

use core::fmt;

/// Why a slot could not be taken or given back. Nothing changes on error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotError {
    /// Every slot is in use (mappings nested too deeply, or leaked).
    Exhausted,
    /// The slot is in use, but it is not the most recent one.
    OutOfOrder {
        /// The slot given back.
        slot: usize,
        /// The most recent slot, the only one that may be given back.
        top: usize,
    },
    /// The slot is not in use, or holds another page.
    NotHeld {
        /// The slot given back.
        slot: usize,
    },
}

impl fmt::Display for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            SlotError::Exhausted => write!(f, "every slot is in use"),
            SlotError::OutOfOrder { slot, top } => write!(
                f,
                "slot {slot} given back out of order: the most recent is slot {top}"
            ),
            SlotError::NotHeld { slot } => write!(f, "slot {slot} does not hold that page"),
        }
    }
}

/// What the stack has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotStatistics {
    /// Slots taken (successful pushes).
    pub taken: u64,
    /// Slots given back (successful pops).
    pub released: u64,
    /// Slots in use now.
    pub in_use: usize,
    /// The most slots ever in use at once.
    pub high_water: usize,
}

/// A stack of `SLOTS` slots, each holding a page of type `P` (the kernel:
/// a frame) while in use.
#[derive(Debug)]
pub struct SlotStack<P, const SLOTS: usize> {
    /// The page in each slot; `pages[..depth]` are in use.
    pages: [Option<P>; SLOTS],
    depth: usize,
    statistics: SlotStatistics,
}

impl<P: Copy + Eq, const SLOTS: usize> SlotStack<P, SLOTS> {
    /// An empty stack.
    pub const fn new() -> Self {
        SlotStack {
            pages: [None; SLOTS],
            depth: 0,
            statistics: SlotStatistics {
                taken: 0,
                released: 0,
                in_use: 0,
                high_water: 0,
            },
        }
    }

    /// Put `page` in the next slot and return that slot.
    #[inline]
    pub fn push(&mut self, page: P) -> Result<usize, SlotError> {
        let slot = self.depth;
        if slot == SLOTS {
            return Err(SlotError::Exhausted);
        }
        self.pages[slot] = Some(page);
        self.depth += 1;
        self.statistics.taken += 1;
        self.statistics.in_use = self.depth;
        self.statistics.high_water = self.statistics.high_water.max(self.depth);
        Ok(slot)
    }

    /// Give back `slot`, which must be the most recent one and hold `page`.
    #[inline]
    pub fn pop(&mut self, page: P, slot: usize) -> Result<(), SlotError> {
        if slot >= self.depth {
            return Err(SlotError::NotHeld { slot });
        }
        let top = self.depth - 1;
        if slot != top {
            return Err(SlotError::OutOfOrder { slot, top });
        }
        if self.pages[slot] != Some(page) {
            return Err(SlotError::NotHeld { slot });
        }
        self.pages[slot] = None;
        self.depth = top;
        self.statistics.released += 1;
        self.statistics.in_use = self.depth;
        Ok(())
    }

    /// The page in `slot`, if it is in use.
    pub fn page(&self, slot: usize) -> Option<P> {
        self.pages.get(slot).copied().flatten()
    }

    /// Slots in use now.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// What the stack has done so far.
    pub fn statistics(&self) -> SlotStatistics {
        self.statistics
    }
}

impl<P: Copy + Eq, const SLOTS: usize> Default for SlotStack<P, SLOTS> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests;
