//! Zspages: a few pages stitched together to hold objects of one size class.
//!
//! Objects are laid end to end across the pages of the zspage, so an object
//! may *span* the boundary between two pages. Here is class 208 (3 pages,
//! 59 objects, 16 bytes wasted at the end):
//!
//! ```text
//!        page 0 (4096 B)              page 1 (4096 B)              page 2 (4096 B)
//!  +----+----+ .. +----+-----+  +-----+----+ .. +----+--+  +----+----+ .. +----+---+
//!  | o0 | o1 |    | o18| o19 ~  ~ o19 | o20|    | o38|o3~  ~ 39 | o40|    | o58|///|
//!  +----+----+ .. +----+-----+  +-----+----+ .. +----+--+  +----+----+ .. +----+---+
//!                        \_____________/                                16 B wasted
//!                 object 19 spans pages 0 and 1 (and object 39 pages 1 and 2)
//!
//!  an allocated object:      +--------------+------------------------+
//!                            | handle (8 B) | payload (<= size - 8)  |
//!                            +--------------+------------------------+
//!  a free object:            +--------------+
//!                            | next free    |   (a free list threaded
//!                            +--------------+    through the objects)
//! ```
//!
//! The first word of an object says what it is: `slot << 1 | 1` for an
//! allocated object (its handle-table slot), `next << 1` for a free one. Both
//! fit before any page boundary because sizes are multiples of 8. Huge
//! classes (and the out-of-band configuration) keep the owner in a side table
//! instead, so the payload starts at byte 0.
//!
//! The zspage *record* (on the heap) holds the bookkeeping: objects in use,
//! head of the free list, its fullness group, how many of its objects are
//! mapped right now (*pins*), and links of its fullness-group list.
//!
//! ## Fullness groups
//!
//! Each class sorts its zspages by how full they are, in Linux's 10% steps.
//! Allocation takes from the fullest non-full group; compaction empties the
//! sparsest into the fullest:
//!
//! ```text
//!   group:  0 (empty)  1 (<10%)  2 (<20%) ...  10 (<100%)   11 (full)
//!            (freed     [z7]      [z3]-[z9]     [z1]-[z4]    [z2]-[z5]-[z6]
//!             at once)    ^ compaction source      ^ malloc and compaction target
//! ```

use alloc::vec::Vec;

use crate::backend::{Backend, MappedPage, OutOfPages, PAGE_SIZE};
use crate::handle::Location;
use crate::size_class::ClassGeometry;

/// Number of fullness groups: empty, ten 10% steps, full.
pub const FULLNESS_GROUPS: usize = 12;
/// Group of a zspage with no object in use.
pub const EMPTY_GROUP: usize = 0;
/// Group of a zspage with every object in use.
pub const FULL_GROUP: usize = 11;

/// Linux's `get_fullness_group`: 0 empty, 11 full, else `ratio / 10 + 1`.
pub fn fullness_group(in_use: usize, objects_per_zspage: usize) -> usize {
    if in_use == 0 {
        return EMPTY_GROUP;
    }
    if in_use == objects_per_zspage {
        return FULL_GROUP;
    }
    let percent = 100 * in_use / objects_per_zspage;
    percent / 10 + 1
}

pub(crate) const NO_ZSPAGE: u32 = u32::MAX;
pub(crate) const NO_OBJECT: u16 = u16::MAX;
pub(crate) const NO_OWNER: u32 = u32::MAX;

/// Header word of an allocated object owned by handle slot `slot`.
pub(crate) fn allocated_word(slot: u32) -> u64 {
    (slot as u64) << 1 | 1
}

/// Link word of a free object whose successor is `next`.
pub(crate) fn free_word(next: u16) -> u64 {
    (next as u64) << 1
}

/// Bookkeeping of one zspage.
#[derive(Debug, Clone)]
pub(crate) struct Zspage {
    pub in_use: u16,
    pub free_head: u16,
    pub group: u8,
    pub live: bool,
    /// Objects of this zspage mapped right now: compaction leaves it alone.
    pub pins: u16,
    /// Fullness-group list links (or the dead-record list through `next`).
    pub previous: u32,
    pub next: u32,
}

/// A page and a byte offset inside it: where a byte of a zspage lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PagePosition<P> {
    pub page: P,
    pub offset: usize,
}

/// All state of one size class, protected by the class lock.
pub(crate) struct ClassState<P> {
    pub geometry: ClassGeometry,
    /// Physical class number.
    pub class: u16,
    pub zspages: Vec<Zspage>,
    /// `pages_per_zspage` entries per zspage record, `None` when dead.
    pub pages: Vec<Option<P>>,
    /// Owner slot per object (only when owners are kept outside objects).
    pub owners: Vec<u32>,
    pub dead_head: u32,
    pub group_heads: [u32; FULLNESS_GROUPS],
    pub group_counts: [usize; FULLNESS_GROUPS],
    pub live_zspages: usize,
    pub objects_used: usize,
    /// Sum of the payload lengths of the allocated objects.
    pub payload_bytes: usize,
}

impl<P: Copy + Eq + core::fmt::Debug> ClassState<P> {
    pub(crate) fn new(class: u16, geometry: ClassGeometry) -> Self {
        ClassState {
            geometry,
            class,
            zspages: Vec::new(),
            pages: Vec::new(),
            owners: Vec::new(),
            dead_head: NO_ZSPAGE,
            group_heads: [NO_ZSPAGE; FULLNESS_GROUPS],
            group_counts: [0; FULLNESS_GROUPS],
            live_zspages: 0,
            objects_used: 0,
            payload_bytes: 0,
        }
    }

    /// Owners are kept in `owners` rather than in object headers.
    pub(crate) fn owners_outside(&self) -> bool {
        self.geometry.header_size == 0
    }

    /// Object slots of all live zspages (`OBJS_ALLOCATED` in Linux).
    pub(crate) fn objects_allocated(&self) -> usize {
        self.live_zspages * self.geometry.objects_per_zspage
    }

    /// Pages that compaction could free (Linux's `zs_can_compact`).
    pub(crate) fn compactable_pages(&self) -> usize {
        let wasted = self.objects_allocated() - self.objects_used;
        wasted / self.geometry.objects_per_zspage * self.geometry.pages_per_zspage
    }

    /// Page `page_index` of zspage `zspage`.
    pub(crate) fn page(&self, zspage: u32, page_index: usize) -> P {
        let slot = zspage as usize * self.geometry.pages_per_zspage + page_index;
        self.pages[slot].expect("live zspage has all its pages")
    }

    /// Where byte `offset` of zspage `zspage` lives.
    pub(crate) fn position(&self, zspage: u32, offset: usize) -> PagePosition<P> {
        PagePosition {
            page: self.page(zspage, offset / PAGE_SIZE),
            offset: offset % PAGE_SIZE,
        }
    }

    /// Byte offset of object `object` inside its zspage.
    pub(crate) fn object_offset(&self, object: u16) -> usize {
        object as usize * self.geometry.size
    }

    fn owner_index(&self, zspage: u32, object: u16) -> usize {
        zspage as usize * self.geometry.objects_per_zspage + object as usize
    }

    // ----- fullness-group lists -------------------------------------------

    /// Insert a zspage at the head of the list of its current fullness group.
    pub(crate) fn link(&mut self, zspage: u32) {
        let record = &self.zspages[zspage as usize];
        let group = fullness_group(record.in_use as usize, self.geometry.objects_per_zspage);
        let old_head = self.group_heads[group];
        if old_head != NO_ZSPAGE {
            self.zspages[old_head as usize].previous = zspage;
        }
        let record = &mut self.zspages[zspage as usize];
        record.group = group as u8;
        record.previous = NO_ZSPAGE;
        record.next = old_head;
        self.group_heads[group] = zspage;
        self.group_counts[group] += 1;
    }

    /// Remove a zspage from its fullness-group list.
    pub(crate) fn unlink(&mut self, zspage: u32) {
        let Zspage {
            previous,
            next,
            group,
            ..
        } = self.zspages[zspage as usize];
        if previous == NO_ZSPAGE {
            self.group_heads[group as usize] = next;
        } else {
            self.zspages[previous as usize].next = next;
        }
        if next != NO_ZSPAGE {
            self.zspages[next as usize].previous = previous;
        }
        self.group_counts[group as usize] -= 1;
    }

    /// Move a zspage to the list its fullness now calls for.
    fn relink(&mut self, zspage: u32) {
        let record = &self.zspages[zspage as usize];
        let group = fullness_group(record.in_use as usize, self.geometry.objects_per_zspage);
        if group != record.group as usize {
            self.unlink(zspage);
            self.link(zspage);
        }
    }

    /// First zspage of the fullest non-full group (Linux's `find_get_zspage`).
    pub(crate) fn fullest_partial(&self) -> Option<u32> {
        (EMPTY_GROUP..FULL_GROUP)
            .rev()
            .map(|group| self.group_heads[group])
            .find(|&head| head != NO_ZSPAGE)
    }

    /// First zspage of the sparsest non-empty, non-full group.
    pub(crate) fn sparsest_partial(&self) -> Option<u32> {
        (EMPTY_GROUP + 1..FULL_GROUP)
            .map(|group| self.group_heads[group])
            .find(|&head| head != NO_ZSPAGE)
    }

    // ----- creating and destroying zspages --------------------------------

    /// Allocate the pages of a new zspage and thread its free list.
    /// On failure every page taken is given back and nothing changes.
    fn create_zspage<B: Backend<Page = P>>(&mut self, backend: &B) -> Result<u32, OutOfPages> {
        let pages_per_zspage = self.geometry.pages_per_zspage;
        let mut new_pages: [Option<P>; crate::config::MAX_CHAIN_LENGTH] =
            [None; crate::config::MAX_CHAIN_LENGTH];
        for index in 0..pages_per_zspage {
            match backend.alloc_page() {
                Ok(page) => new_pages[index] = Some(page),
                Err(error) => {
                    for page in new_pages.iter().take(index).flatten() {
                        // SAFETY: the page was just allocated from this
                        // backend, never mapped, and is dropped from our hands.
                        unsafe { backend.free_page(*page) };
                    }
                    return Err(error);
                }
            }
        }
        let zspage = self.take_record();
        let first = zspage as usize * pages_per_zspage;
        self.pages[first..first + pages_per_zspage].copy_from_slice(&new_pages[..pages_per_zspage]);
        self.zspages[zspage as usize] = Zspage {
            in_use: 0,
            free_head: 0,
            group: EMPTY_GROUP as u8,
            live: true,
            pins: 0,
            previous: NO_ZSPAGE,
            next: NO_ZSPAGE,
        };
        self.thread_free_list(backend, zspage);
        self.live_zspages += 1;
        Ok(zspage)
    }

    /// A record for a new zspage: a dead one, or a new one at the end.
    fn take_record(&mut self) -> u32 {
        if self.dead_head != NO_ZSPAGE {
            let zspage = self.dead_head;
            self.dead_head = self.zspages[zspage as usize].next;
            return zspage;
        }
        let zspage = self.zspages.len() as u32;
        assert!(zspage < NO_ZSPAGE, "zspage table full");
        self.zspages.push(Zspage {
            in_use: 0,
            free_head: NO_OBJECT,
            group: EMPTY_GROUP as u8,
            live: false,
            pins: 0,
            previous: NO_ZSPAGE,
            next: NO_ZSPAGE,
        });
        let pages_per_zspage = self.geometry.pages_per_zspage;
        self.pages.resize(self.pages.len() + pages_per_zspage, None);
        if self.owners_outside() {
            let objects = self.geometry.objects_per_zspage;
            self.owners.resize(self.owners.len() + objects, NO_OWNER);
        }
        zspage
    }

    /// Write "next free" links into every object: 0 -> 1 -> ... -> last.
    fn thread_free_list<B: Backend<Page = P>>(&mut self, backend: &B, zspage: u32) {
        let objects = self.geometry.objects_per_zspage;
        let size = self.geometry.size;
        let mut object = 0;
        for page_index in 0..self.geometry.pages_per_zspage {
            let page_end = (page_index + 1) * PAGE_SIZE;
            // SAFETY: the page belongs to this live zspage; the guard is
            // dropped at the end of the iteration, before the next map.
            let mapped = unsafe { MappedPage::new(backend, self.page(zspage, page_index)) };
            while object < objects && object * size < page_end {
                let next = if object + 1 < objects {
                    (object + 1) as u16
                } else {
                    NO_OBJECT
                };
                mapped.write_word(object * size % PAGE_SIZE, free_word(next));
                object += 1;
            }
        }
        if self.owners_outside() {
            let first = self.owner_index(zspage, 0);
            self.owners[first..first + objects].fill(NO_OWNER);
        }
    }

    /// Give the pages of an empty, unlinked zspage back to the backend.
    pub(crate) fn destroy_zspage<B: Backend<Page = P>>(&mut self, backend: &B, zspage: u32) {
        let record = &self.zspages[zspage as usize];
        debug_assert!(record.live && record.in_use == 0 && record.pins == 0);
        let pages_per_zspage = self.geometry.pages_per_zspage;
        let first = zspage as usize * pages_per_zspage;
        for slot in &mut self.pages[first..first + pages_per_zspage] {
            if let Some(page) = slot.take() {
                // SAFETY: the page belonged to this zspage, which is empty and
                // unpinned, so nothing maps or references it any more.
                unsafe { backend.free_page(page) };
            }
        }
        let record = &mut self.zspages[zspage as usize];
        record.live = false;
        record.free_head = NO_OBJECT;
        record.next = self.dead_head;
        self.dead_head = zspage;
        self.live_zspages -= 1;
    }

    /// Give back every page (pool teardown).
    pub(crate) fn release_all<B: Backend<Page = P>>(&mut self, backend: &B) {
        for slot in &mut self.pages {
            if let Some(page) = slot.take() {
                // SAFETY: the pool is being dropped: no handle can reach the
                // page and no window is open (windows borrow the pool).
                unsafe { backend.free_page(page) };
            }
        }
        self.live_zspages = 0;
        self.objects_used = 0;
        self.payload_bytes = 0;
    }

    // ----- objects ----------------------------------------------------------

    /// Take the first free object of `zspage` for handle slot `owner`.
    /// Does not touch the fullness lists.
    pub(crate) fn pop_object<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        zspage: u32,
        owner: u32,
    ) -> u16 {
        let object = self.zspages[zspage as usize].free_head;
        assert!(object != NO_OBJECT, "pop from a full zspage");
        let position = self.position(zspage, self.object_offset(object));
        // SAFETY: the page belongs to this live zspage; scoped guard.
        let mapped = unsafe { MappedPage::new(backend, position.page) };
        let link = mapped.read_word(position.offset);
        debug_assert!(link & 1 == 0, "free list reached an allocated object");
        if !self.owners_outside() {
            mapped.write_word(position.offset, allocated_word(owner));
        }
        drop(mapped);
        if self.owners_outside() {
            let index = self.owner_index(zspage, object);
            self.owners[index] = owner;
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
        // SAFETY: the page belongs to this live zspage; scoped guard.
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

    /// The handle slot owning `object`, or `None` if the object is free.
    pub(crate) fn owner_of<B: Backend<Page = P>>(
        &self,
        backend: &B,
        zspage: u32,
        object: u16,
    ) -> Option<u32> {
        if self.owners_outside() {
            let owner = self.owners[self.owner_index(zspage, object)];
            return (owner != NO_OWNER).then_some(owner);
        }
        let position = self.position(zspage, self.object_offset(object));
        // SAFETY: the page belongs to this live zspage; scoped guard.
        let mapped = unsafe { MappedPage::new(backend, position.page) };
        let word = mapped.read_word(position.offset);
        (word & 1 == 1).then_some((word >> 1) as u32)
    }

    /// Allocate an object for handle slot `owner` with a payload of `length`
    /// bytes: from the fullest partial zspage, or from a new zspage. Returns
    /// its location and the pages added.
    pub(crate) fn allocate<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        owner: u32,
        length: usize,
    ) -> Result<(Location, usize), OutOfPages> {
        let (zspage, pages_added) = match self.fullest_partial() {
            Some(zspage) => (zspage, 0),
            None => {
                let zspage = self.create_zspage(backend)?;
                self.link(zspage);
                (zspage, self.geometry.pages_per_zspage)
            }
        };
        let object = self.pop_object(backend, zspage, owner);
        self.relink(zspage);
        self.payload_bytes += length;
        let location = Location {
            class: self.class,
            zspage,
            object,
        };
        Ok((location, pages_added))
    }

    /// Free the object at `location`; an emptied zspage is destroyed at once.
    /// Returns the pages given back.
    pub(crate) fn free<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        location: Location,
        length: usize,
    ) -> usize {
        let zspage = location.zspage;
        self.payload_bytes -= length;
        self.push_object(backend, zspage, location.object);
        if self.zspages[zspage as usize].in_use > 0 {
            self.relink(zspage);
            return 0;
        }
        self.unlink(zspage);
        self.destroy_zspage(backend, zspage);
        self.geometry.pages_per_zspage
    }

    /// Where the payload of `object` starts, and where its last byte is.
    pub(crate) fn payload_pages(
        &self,
        zspage: u32,
        object: u16,
        length: usize,
    ) -> (PagePosition<P>, Option<P>) {
        let start = self.object_offset(object) + self.geometry.header_size;
        let first = self.position(zspage, start);
        let last_page = (start + length.max(1) - 1) / PAGE_SIZE;
        let second = (last_page != start / PAGE_SIZE).then(|| self.page(zspage, last_page));
        (first, second)
    }

    /// Heap bytes of this class's records.
    pub(crate) fn metadata_bytes(&self) -> usize {
        self.zspages.capacity() * core::mem::size_of::<Zspage>()
            + self.pages.capacity() * core::mem::size_of::<Option<P>>()
            + self.owners.capacity() * core::mem::size_of::<u32>()
            + core::mem::size_of::<Self>()
    }
}

/// Copy a payload of `buffer.len()` bytes that starts at `first` and may
/// continue at offset 0 of `second`, out of the object or into it. This is
/// the one routine that knows a payload can straddle two pages.
/// Copy `length` bytes from one zspage position to another, page piece by
/// page piece (either side may cross page boundaries). `position` turns a
/// (zspage, byte offset) into its page and offset — the layouts differ in
/// where they keep a zspage's pages, not in how the copy goes.
pub(crate) fn copy_between_zspages<B: Backend>(
    backend: &B,
    position: impl Fn(u32, usize) -> PagePosition<B::Page>,
    (from_zspage, mut from_offset): (u32, usize),
    (to_zspage, mut to_offset): (u32, usize),
    mut length: usize,
) {
    while length > 0 {
        let from = position(from_zspage, from_offset);
        let to = position(to_zspage, to_offset);
        let piece = length
            .min(PAGE_SIZE - from.offset)
            .min(PAGE_SIZE - to.offset);
        // SAFETY: the caller holds the lock of the state owning both
        // zspages, which are live; the guards are dropped in reverse order.
        let source = unsafe { MappedPage::new(backend, from.page) };
        // SAFETY: as above.
        let target = unsafe { MappedPage::new(backend, to.page) };
        source.copy_to(from.offset, &target, to.offset, piece);
        drop(target);
        drop(source);
        from_offset += piece;
        to_offset += piece;
        length -= piece;
    }
}

pub(crate) fn copy_payload<B: Backend>(
    backend: &B,
    first: PagePosition<B::Page>,
    second: Option<B::Page>,
    mut buffer: PayloadBuffer<'_>,
) {
    let length = buffer.len();
    let first_part = length.min(PAGE_SIZE - first.offset);
    {
        // SAFETY: the caller holds the class lock or a pin on the zspage, so
        // the page stays allocated; scoped guard.
        let mapped = unsafe { MappedPage::new(backend, first.page) };
        match &mut buffer {
            PayloadBuffer::Into(destination) => {
                mapped.read_bytes(first.offset, &mut destination[..first_part])
            }
            PayloadBuffer::From(source) => mapped.write_bytes(first.offset, &source[..first_part]),
        }
    }
    if first_part == length {
        return;
    }
    let second = second.expect("a payload that crosses a page has a second page");
    // SAFETY: as above.
    let mapped = unsafe { MappedPage::new(backend, second) };
    match buffer {
        PayloadBuffer::Into(destination) => mapped.read_bytes(0, &mut destination[first_part..]),
        PayloadBuffer::From(source) => mapped.write_bytes(0, &source[first_part..]),
    }
}

/// Direction of a [`copy_payload`].
pub(crate) enum PayloadBuffer<'a> {
    /// Copy the object's bytes into this buffer.
    Into(&'a mut [u8]),
    /// Copy this buffer into the object.
    From(&'a [u8]),
}

impl<'a> PayloadBuffer<'a> {
    /// The same buffer cut to at most `length` bytes.
    pub(crate) fn truncated(self, length: usize) -> PayloadBuffer<'a> {
        match self {
            PayloadBuffer::Into(destination) => {
                let length = length.min(destination.len());
                PayloadBuffer::Into(&mut destination[..length])
            }
            PayloadBuffer::From(source) => PayloadBuffer::From(&source[..length.min(source.len())]),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            PayloadBuffer::Into(destination) => destination.len(),
            PayloadBuffer::From(source) => source.len(),
        }
    }
}
