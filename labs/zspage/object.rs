//! Objects inside a zspage: the header word, the free list, and allocating
//! and freeing one object.
//!
//! ```text
//!  an allocated object:      +--------------+------------------------+
//!                            | handle (8 B) | payload (<= size - 8)  |
//!                            +--------------+------------------------+
//!  a free object:            +--------------+
//!                            | next free    |   (a free list threaded
//!                            +--------------+    through the objects)
//! ```
//!
//! The first word of an object says what it is: `entry << 1 | 1` for an
//! allocated object (its handle-table entry), `next << 1` for a free one.
//! Both fit before any page boundary because sizes are multiples of 8. Huge
//! classes (and the out-of-band configuration) keep the owner in a side
//! table instead, so the payload starts at byte 0.
//!
//! Lab skeleton (labs/zspage/README.md): write every function that says `todo!`.
#![allow(unused)]

use alloc::vec::Vec;

use super::zspage::ClassState;
use super::Location;
use crate::backend::{Backend, OutOfPages, PAGE_SIZE};
use crate::handle_table::Entry;
use crate::layout::PoolCore;
use crate::pages::{MappedPage, ObjectPages};

/// No object (end of a free list).
pub(crate) const NO_OBJECT: u16 = u16::MAX;
/// No owner (a free object, in the side table).
pub(crate) const NO_OWNER: u32 = u32::MAX;

/// Header word of an allocated object owned by `entry`.
pub(crate) fn allocated_word(entry: Entry) -> u64 {
    (entry.index() as u64) << 1 | 1
}

/// Link word of a free object whose successor is `next`.
pub(crate) fn free_word(next: u16) -> u64 {
    (next as u64) << 1
}

impl<P: Copy + Eq + core::fmt::Debug> ClassState<P> {
    fn owner_index(&self, zspage: u32, object: u16) -> usize {
        zspage as usize * self.geometry.objects_per_zspage + object as usize
    }

    /// Take the first free object of `zspage` for `owner`.
    /// Does not touch the fullness lists.
    pub(crate) fn pop_object<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        zspage: u32,
        owner: Entry,
    ) -> u16 {
        todo!("lab zspage: take the head of the free list of `zspage` and write its header word")
    }

    /// Put `object` back on the free list of `zspage`.
    /// Does not touch the fullness lists.
    pub(crate) fn push_object<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        zspage: u32,
        object: u16,
    ) {
        todo!("lab zspage: put `object` back at the head of the free list of `zspage`")
    }

    /// The entry owning `object`, or `None` if the object is free.
    pub(crate) fn owner_of<B: Backend<Page = P>>(
        &self,
        backend: &B,
        zspage: u32,
        object: u16,
    ) -> Option<Entry> {
        todo!("lab zspage: read the owner of `object` from its header word or the side table")
    }

    /// The first word of every object of `zspage` (a header or a free-list
    /// link), mapping each page once (for the checker and walks).
    pub(crate) fn first_words<B: Backend<Page = P>>(&self, backend: &B, zspage: u32) -> Vec<u64> {
        let objects = self.geometry.objects_per_zspage;
        let size = self.geometry.size;
        let mut words = Vec::with_capacity(objects);
        for page_index in 0..self.geometry.pages_per_zspage {
            let page_end = (page_index + 1) * PAGE_SIZE;
            // SAFETY: as in `pop_object`; the guard is dropped at the end of
            // the iteration, before the next map.
            let mapped = unsafe { MappedPage::new(backend, self.page(zspage, page_index)) };
            while words.len() < objects && words.len() * size < page_end {
                words.push(mapped.read_word(words.len() * size % PAGE_SIZE));
            }
        }
        words
    }

    /// The entry owning `object`, given its first word, or `None` if free.
    pub(crate) fn owner_from_word(&self, zspage: u32, object: u16, word: u64) -> Option<Entry> {
        if self.owners_outside() {
            let owner = self.owners[self.owner_index(zspage, object)];
            return (owner != NO_OWNER).then_some(Entry::from_index(owner));
        }
        (word & 1 == 1).then_some(Entry::from_index((word >> 1) as u32))
    }

    /// Allocate an object for `owner` with a payload of `length` bytes: from
    /// the fullest partial zspage, or from a new zspage. Returns its location.
    pub(crate) fn allocate<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        owner: Entry,
        length: usize,
    ) -> Result<Location, OutOfPages> {
        todo!("lab zspage: pop an object from the fullest partial zspage (or a new one) and relink it")
    }

    /// Free the object at `location`; an emptied zspage is destroyed at once.
    pub(crate) fn free<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        location: Location,
        length: usize,
    ) {
        todo!("lab zspage: push the object back; relink its zspage or destroy it when empty")
    }

    /// Where the first `length` bytes of the payload of the object at
    /// `location` are.
    pub(crate) fn payload_pages(&self, location: Location, length: usize) -> ObjectPages<P> {
        todo!("lab zspage: where the payload of the object at `location` is: one page or two")
    }
}
