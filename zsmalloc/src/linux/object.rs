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
        let object = self.zspages[zspage as usize].free_head;
        assert!(object != NO_OBJECT, "pop from a full zspage");
        let position = self.position(zspage, self.object_offset(object));
        // SAFETY: the page belongs to this live zspage and the caller holds
        // the class lock inside an atomic section; scoped guard.
        let mapped = unsafe { MappedPage::new(backend, position.page) };
        let link = mapped.read_word(position.offset);
        debug_assert!(link & 1 == 0, "free list reached an allocated object");
        if !self.owners_outside() {
            mapped.write_word(position.offset, allocated_word(owner));
        }
        drop(mapped);
        if self.owners_outside() {
            let index = self.owner_index(zspage, object);
            self.owners[index] = owner.index();
        }
        let record = &mut self.zspages[zspage as usize];
        record.free_head = (link >> 1) as u16;
        record.in_use += 1;
        self.objects_used += 1;
        object
    }

    /// Put `object` back on the free list of `zspage`.
    /// Does not touch the fullness lists.
    pub(crate) fn push_object<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        zspage: u32,
        object: u16,
    ) {
        let position = self.position(zspage, self.object_offset(object));
        let head = self.zspages[zspage as usize].free_head;
        // SAFETY: as in `pop_object`.
        let mapped = unsafe { MappedPage::new(backend, position.page) };
        mapped.write_word(position.offset, free_word(head));
        drop(mapped);
        if self.owners_outside() {
            let index = self.owner_index(zspage, object);
            self.owners[index] = NO_OWNER;
        }
        let record = &mut self.zspages[zspage as usize];
        record.free_head = object;
        record.in_use -= 1;
        self.objects_used -= 1;
    }

    /// The entry owning `object`, or `None` if the object is free.
    pub(crate) fn owner_of<B: Backend<Page = P>>(
        &self,
        backend: &B,
        zspage: u32,
        object: u16,
    ) -> Option<Entry> {
        if self.owners_outside() {
            let owner = self.owners[self.owner_index(zspage, object)];
            return (owner != NO_OWNER).then_some(Entry::from_index(owner));
        }
        let position = self.position(zspage, self.object_offset(object));
        // SAFETY: as in `pop_object`.
        let mapped = unsafe { MappedPage::new(backend, position.page) };
        let word = mapped.read_word(position.offset);
        (word & 1 == 1).then_some(Entry::from_index((word >> 1) as u32))
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
        let zspage = match self.fullest_partial() {
            Some(zspage) => zspage,
            None => {
                let zspage = self.create_zspage(core)?;
                self.link(zspage);
                zspage
            }
        };
        let object = self.pop_object(core.backend(), zspage, owner);
        self.relink(zspage);
        self.payload_bytes += length;
        Ok(Location {
            class: self.class,
            zspage,
            object,
        })
    }

    /// Free the object at `location`; an emptied zspage is destroyed at once.
    pub(crate) fn free<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        location: Location,
        length: usize,
    ) {
        let zspage = location.zspage;
        self.payload_bytes -= length;
        self.push_object(core.backend(), zspage, location.object);
        if self.zspages[zspage as usize].in_use > 0 {
            self.relink(zspage);
            return;
        }
        self.unlink(zspage);
        self.destroy_zspage(core, zspage);
    }

    /// Where the first `length` bytes of the payload of the object at
    /// `location` are.
    pub(crate) fn payload_pages(&self, location: Location, length: usize) -> ObjectPages<P> {
        let start = self.object_offset(location.object) + self.geometry.header_size;
        ObjectPages::locate(start, length, |page_index| {
            self.page(location.zspage, page_index)
        })
    }
}
