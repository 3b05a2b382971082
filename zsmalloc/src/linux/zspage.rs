//! Zspages of one size class: their records, their fullness-group lists,
//! and how a zspage is created and destroyed.
//!
//! Objects are laid end to end across the pages of a zspage, so an object
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
//! ```
//!
//! The zspage *record* (on the heap) holds the bookkeeping: objects in use,
//! head of the free list ([`super::object`]), its fullness group, how many
//! of its objects are mapped right now (*pins*), and the links of its
//! fullness-group list. Records of destroyed zspages are kept on a list of
//! dead records and reused.
//!
//! ## Fullness groups
//!
//! Each class sorts its zspages by how full they are, in Linux's 10% steps
//! ([`crate::fullness`]). Allocation takes from the fullest non-full group;
//! compaction empties the sparsest into the fullest:
//!
//! ```text
//!   group:  0 (empty)  1 (<10%)  2 (<20%) ...  10 (<100%)   11 (full)
//!            (freed     [z7]      [z3]-[z9]     [z1]-[z4]    [z2]-[z5]-[z6]
//!             at once)    ^ compaction source      ^ malloc and compaction target
//! ```

use alloc::vec::Vec;

use super::object::{free_word, NO_OBJECT, NO_OWNER};
use super::size_class::ClassGeometry;
use crate::backend::{Backend, OutOfPages, PAGE_SIZE};
use crate::config::MAX_CHAIN_LENGTH;
use crate::fullness::{fullness_group, EMPTY_GROUP, FULLNESS_GROUPS, FULL_GROUP};
use crate::layout::PoolCore;
use crate::pages::{MappedPage, PagePosition};

/// No zspage (end of a list).
pub(crate) const NO_ZSPAGE: u32 = u32::MAX;

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

/// The pages of a zspage of one class, its free list threaded (objects
/// 0 -> 1 -> ... -> last), not yet part of the class: made before the
/// class lock is taken, as Linux's `alloc_zspage` runs outside its lock.
pub(crate) struct NewZspage<P> {
    pages: [Option<P>; MAX_CHAIN_LENGTH],
}

impl<P: Copy> NewZspage<P> {
    /// Allocate the pages (outside any atomic section) and thread the free
    /// list, one short atomic section per page. On failure every page taken
    /// is given back.
    pub(crate) fn make<B: Backend<Page = P>>(
        core: &PoolCore<B>,
        geometry: &ClassGeometry,
    ) -> Result<Self, OutOfPages> {
        let mut new = NewZspage {
            pages: [None; MAX_CHAIN_LENGTH],
        };
        for index in 0..geometry.pages_per_zspage {
            match core.alloc_page() {
                Ok(page) => new.pages[index] = Some(page),
                Err(error) => {
                    new.release(core);
                    return Err(error);
                }
            }
        }
        let (objects, size) = (geometry.objects_per_zspage, geometry.size);
        let mut object = 0;
        for (page_index, page) in new.pages.iter().flatten().enumerate() {
            let page_end = (page_index + 1) * PAGE_SIZE;
            let atomic = core.enter_atomic();
            // SAFETY: the page was just allocated for the pool and nobody
            // else knows it; the guard is dropped before the section ends.
            let mapped = unsafe { MappedPage::new(core.backend(), *page) };
            while object < objects && object * size < page_end {
                let next = if object + 1 < objects {
                    (object + 1) as u16
                } else {
                    NO_OBJECT
                };
                mapped.write_word(object * size % PAGE_SIZE, free_word(next));
                object += 1;
            }
            drop(mapped);
            drop(atomic);
        }
        Ok(new)
    }

    /// Give the pages back (the zspage was not needed after all).
    pub(crate) fn release<B: Backend<Page = P>>(self, core: &PoolCore<B>) {
        for page in self.pages.iter().flatten() {
            // SAFETY: the page was allocated for this zspage, which never
            // joined a class: nothing maps or references it.
            unsafe { core.free_page(*page) };
        }
    }
}

/// All state of one size class, behind the class lock.
pub(crate) struct ClassState<P> {
    pub geometry: ClassGeometry,
    /// Physical class number.
    pub class: u16,
    pub zspages: Vec<Zspage>,
    /// `pages_per_zspage` entries per zspage record, `None` when dead.
    pub pages: Vec<Option<P>>,
    /// Owner entry per object (only when owners are kept outside objects).
    pub owners: Vec<u32>,
    pub dead_head: u32,
    pub group_heads: [u32; FULLNESS_GROUPS],
    pub group_counts: [u32; FULLNESS_GROUPS],
    pub live_zspages: usize,
    pub objects_used: usize,
    /// Sum of the payload lengths of the allocated objects.
    pub payload_bytes: usize,
    /// The object of its source where compaction's next step scans on.
    pub scan_resume: u16,
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
            scan_resume: 0,
        }
    }

    /// Owners are kept in `owners` rather than in object headers.
    pub(crate) fn owners_outside(&self) -> bool {
        self.geometry.header_size == 0
    }

    /// Objects, allocated or free, of all live zspages (`OBJS_ALLOCATED` in Linux).
    pub(crate) fn objects_allocated(&self) -> usize {
        self.live_zspages * self.geometry.objects_per_zspage
    }

    /// Pages that compaction could free (Linux's `zs_can_compact`).
    pub(crate) fn compactable_pages(&self) -> usize {
        let wasted = self.objects_allocated() - self.objects_used;
        wasted / self.geometry.objects_per_zspage * self.geometry.pages_per_zspage
    }

    /// The pages of zspage `zspage` (`None` entries when it is dead).
    pub(crate) fn zspage_pages(&self, zspage: u32) -> &[Option<P>] {
        let first = zspage as usize * self.geometry.pages_per_zspage;
        &self.pages[first..first + self.geometry.pages_per_zspage]
    }

    /// Page `page_index` of zspage `zspage`.
    pub(crate) fn page(&self, zspage: u32, page_index: usize) -> P {
        self.zspage_pages(zspage)[page_index].expect("live zspage has all its pages")
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
    pub(crate) fn relink(&mut self, zspage: u32) {
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

    /// Make a new zspage and add it to the class, unlinked (a fallback:
    /// [`crate::linux::LinuxLayout`] makes zspages outside the class lock
    /// with [`NewZspage::make`] and [`ClassState::install_zspage`]).
    /// On failure every page taken is given back and nothing changes.
    pub(crate) fn create_zspage<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
    ) -> Result<u32, OutOfPages> {
        let new = NewZspage::make(core, &self.geometry)?;
        Ok(self.install_zspage(new))
    }

    /// Add a zspage made by [`NewZspage::make`] to the class, unlinked.
    /// Allocates no page (and heap memory only when the record table grows).
    pub(crate) fn install_zspage(&mut self, new: NewZspage<P>) -> u32 {
        let pages_per_zspage = self.geometry.pages_per_zspage;
        let zspage = self.take_record();
        let first = zspage as usize * pages_per_zspage;
        self.pages[first..first + pages_per_zspage].copy_from_slice(&new.pages[..pages_per_zspage]);
        self.zspages[zspage as usize] = Zspage {
            in_use: 0,
            free_head: 0,
            group: EMPTY_GROUP as u8,
            live: true,
            pins: 0,
            previous: NO_ZSPAGE,
            next: NO_ZSPAGE,
        };
        if self.owners_outside() {
            let objects = self.geometry.objects_per_zspage;
            let first = zspage as usize * objects;
            self.owners[first..first + objects].fill(NO_OWNER);
        }
        self.live_zspages += 1;
        zspage
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

    /// Give the pages of an empty, unlinked zspage back.
    pub(crate) fn destroy_zspage<B: Backend<Page = P>>(&mut self, core: &PoolCore<B>, zspage: u32) {
        let record = &self.zspages[zspage as usize];
        debug_assert!(record.live && record.in_use == 0 && record.pins == 0);
        let pages_per_zspage = self.geometry.pages_per_zspage;
        let first = zspage as usize * pages_per_zspage;
        for held in &mut self.pages[first..first + pages_per_zspage] {
            if let Some(page) = held.take() {
                // SAFETY: the page belonged to this zspage, which is empty and
                // unpinned, so nothing maps or references it any more.
                unsafe { core.free_page(page) };
            }
        }
        let record = &mut self.zspages[zspage as usize];
        record.live = false;
        record.free_head = NO_OBJECT;
        record.next = self.dead_head;
        self.dead_head = zspage;
        self.live_zspages -= 1;
        if self.live_zspages == 0 {
            // An empty class keeps no records for its largest moment.
            debug_assert!(self.group_heads.iter().all(|&head| head == NO_ZSPAGE));
            self.zspages = Vec::new();
            self.pages = Vec::new();
            self.owners = Vec::new();
            self.dead_head = NO_ZSPAGE;
        }
    }

    /// Give back every page (pool teardown).
    pub(crate) fn release_all<B: Backend<Page = P>>(&mut self, core: &PoolCore<B>) {
        for held in &mut self.pages {
            if let Some(page) = held.take() {
                // SAFETY: the pool is being dropped: no handle can reach the
                // page and no window is open (windows borrow the pool).
                unsafe { core.free_page(page) };
            }
        }
        self.live_zspages = 0;
        self.objects_used = 0;
        self.payload_bytes = 0;
    }

    /// Heap bytes of this class's records.
    pub(crate) fn metadata_bytes(&self) -> usize {
        self.zspages.capacity() * core::mem::size_of::<Zspage>()
            + self.pages.capacity() * core::mem::size_of::<Option<P>>()
            + self.owners.capacity() * core::mem::size_of::<u32>()
            + core::mem::size_of::<Self>()
    }
}
