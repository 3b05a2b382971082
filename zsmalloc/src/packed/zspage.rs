//! The packed layout's state: zspages filled end to end, and placing and
//! removing objects.
//!
//! ```text
//!   one packed zspage: up to 16 pages, each taken from the backend when `end` reaches it
//!
//!         page 0                     page 1                    page 2        pages 3..15
//!   +------+---------+----+-----+  +---+-------+----+------+  +-----+.....+ . . . . . . .
//!   |  o0  |   o1    |hole|  o3 ~  ~o3 |  o4   |hole|  o5  |  | o6  |     :   not yet    :
//!   +------+---------+----+-----+  +---+-------+----+------+  +-----+.....+   allocated  .
//!   0                                                               ^                      ^
//!                                                      end (fill pointer)       capacity
//!   objects of any size, rounded up to 8 B, end to end; o3 spans pages 0 and 1
//! ```
//!
//! * **Placement** (`place`): a hole that fits ([`super::holes`]), else
//!   `append` at the open zspage's `end`, allocating the next page when
//!   `end` crosses into it; when the object does not fit, the open zspage
//!   is closed (the rest of its last page becomes a hole; the pages it
//!   never reached are never allocated) and a new one is opened.
//! * **Owners** are kept out of band ([`super::objects`]), in a *reverse map*: each zspage keeps
//!   the owner entries of its live objects in a vector (4 bytes each); an
//!   entry's location records its zspage, its index in that vector and its
//!   offset (so the reverse map need not), and free is a swap-remove, O(1):
//!
//! ```text
//!   zspage 7: live = [ e12, e40, e3 ]        4 bytes per object
//!                       │
//!   handle-table entry e12: location = (zspage 7, index 0, offset in 8 B units)
//! ```
//! * **Freeing** the last object of a zspage gives all its pages back at once.
//!   An object freed from a zspage that compaction is draining
//!   ([`super::drain`]) leaves no hole: nothing new may land there.

use alloc::vec::Vec;
use thin_vec::ThinVec;

use super::compact::{Compaction, RESERVE_PAGES};
use super::config::PackedConfig;
use super::holes::{grow_by_a_quarter, shrink_if_sparse, Hole, SPARE_LISTS};
use super::{Location, GRANULE};
use crate::backend::{Backend, OutOfPages, PAGE_SIZE};
use crate::fullness::fullness_group;
use crate::layout::PoolCore;
use crate::pages::{ObjectPages, PagePosition};

/// A hole's leftover, after an object took its start, is listed as a hole
/// of its own only from this many class spacings up (64 bytes by default).
pub(crate) const LEFTOVER_SPACINGS: usize = 4;

/// No zspage (the pool has no open zspage).
pub(crate) const NONE: u32 = u32::MAX;

/// Bookkeeping of one packed zspage.
#[derive(Debug, Clone)]
pub(crate) struct PackedZspage<P> {
    /// The pages allocated so far: exactly those touched by `[0, end)`.
    pub pages: ThinVec<P>,
    /// Fill pointer: bytes at or past it were never used.
    pub end: usize,
    /// The reverse map: the owner entry (index) of each live object, in no
    /// particular order; an object's offset is in its entry's location.
    pub live: ThinVec<u32>,
    /// Sum of the rounded lengths of the live objects.
    pub live_bytes: usize,
    /// Valid hole entries of this zspage, and their bytes.
    pub holes: usize,
    pub hole_bytes: usize,
    /// Given at birth, and again when compaction starts draining it, from
    /// the layout's count of generations given: hole entries of an earlier
    /// zspage of this record, or of this one before it drained, never match.
    pub generation: u32,
    /// Objects of this zspage mapped right now: compaction leaves it alone.
    pub pins: u16,
    pub alive: bool,
    /// Compaction is moving its objects out ([`super::drain`]): it lists no
    /// holes, so no new object lands in it.
    pub draining: bool,
}

impl<P> PackedZspage<P> {
    /// Fullness group (Linux's 10% steps) of live bytes over the bytes of
    /// the pages held.
    pub(crate) fn group(&self) -> usize {
        fullness_group(self.live_bytes, self.pages.len() * PAGE_SIZE)
    }
}

/// The whole state of the packed layout, behind its one lock.
pub(crate) struct PackedState<P> {
    /// Distance between hole classes, and the smallest extent.
    pub spacing: usize,
    pub min_object: usize,
    /// Capacity of a zspage in bytes.
    pub capacity: usize,
    pub reuse_window: usize,
    pub zspages: Vec<PackedZspage<P>>,
    /// Records of dead zspages, for reuse.
    pub dead: Vec<u32>,
    /// The zspage new objects are appended to, or `NONE`.
    pub open: u32,
    /// One free list of holes per size class, and a bitmap of non-empty ones.
    pub holes: Vec<ThinVec<Hole>>,
    pub non_empty: Vec<u64>,
    /// Empty hole-list buffers kept for reuse ([`super::holes`]).
    pub spare_lists: Vec<ThinVec<Hole>>,
    /// Entries on all hole lists, and those of them whose zspage died
    /// (dropped lazily).
    pub listed_holes: usize,
    pub stale_holes: usize,
    /// Counters over all zspages.
    pub live_zspages: usize,
    pub pages: usize,
    pub objects: usize,
    pub live_bytes: usize,
    /// Sum of the payload lengths given to malloc.
    pub payload_bytes: usize,
    /// Where the sweep of stale hole entries goes on: a class and an index
    /// in its list.
    pub sweep_class: usize,
    pub sweep_index: usize,
    /// Generations given so far (wrapping): the next one.
    pub births: u32,
    /// Pages compaction took before entering an atomic section, or gave
    /// back from a draining zspage's tail, for its next moves (at most
    /// [`RESERVE_PAGES`]; empty between compaction steps).
    pub reserve: Vec<P>,
    /// What compaction remembers between its steps.
    pub compaction: Compaction,
}

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    pub(crate) fn new(config: &PackedConfig) -> Self {
        let classes = (PAGE_SIZE - config.min_object_size) / config.class_spacing + 1;
        PackedState {
            spacing: config.class_spacing,
            min_object: config.min_object_size,
            capacity: config.max_pages_per_zspage * PAGE_SIZE,
            reuse_window: config.reuse_window,
            zspages: Vec::new(),
            dead: Vec::new(),
            open: NONE,
            holes: (0..classes).map(|_| ThinVec::new()).collect(),
            non_empty: alloc::vec![0; classes.div_ceil(64)],
            spare_lists: Vec::with_capacity(SPARE_LISTS),
            listed_holes: 0,
            stale_holes: 0,
            live_zspages: 0,
            pages: 0,
            objects: 0,
            live_bytes: 0,
            payload_bytes: 0,
            sweep_class: 0,
            sweep_index: 0,
            births: 0,
            reserve: Vec::with_capacity(RESERVE_PAGES),
            compaction: Compaction::new(),
        }
    }

    /// Bytes an object of `length` payload bytes occupies.
    pub(crate) fn extent(&self, length: usize) -> usize {
        length.max(self.min_object).next_multiple_of(GRANULE)
    }

    /// Where byte `offset` of `zspage` lives.
    pub(crate) fn position(&self, zspage: u32, offset: usize) -> PagePosition<P> {
        PagePosition {
            page: self.zspages[zspage as usize].pages[offset / PAGE_SIZE],
            offset: offset % PAGE_SIZE,
        }
    }

    /// Byte offset of the object at `location` in its zspage.
    pub(crate) fn offset_of(&self, location: Location) -> usize {
        location.offset()
    }

    /// Where the first `length` bytes of the object at `location` are.
    pub(crate) fn payload_pages(&self, location: Location, length: usize) -> ObjectPages<P> {
        let pages = &self.zspages[location.zspage as usize].pages;
        ObjectPages::locate(self.offset_of(location), length, |index| pages[index])
    }

    // ----- zspages ------------------------------------------------------------

    /// A record for a new zspage (no pages yet).
    fn new_zspage(&mut self) -> u32 {
        self.live_zspages += 1;
        let generation = self.births;
        self.births = self.births.wrapping_add(1);
        if let Some(zspage) = self.dead.pop() {
            let record = &mut self.zspages[zspage as usize];
            record.alive = true;
            record.generation = generation;
            return zspage;
        }
        let zspage = self.zspages.len() as u32;
        assert!(zspage < NONE, "zspage table full");
        grow_by_a_quarter(&mut self.zspages);
        self.zspages.push(PackedZspage {
            pages: ThinVec::new(),
            end: 0,
            live: ThinVec::new(),
            live_bytes: 0,
            holes: 0,
            hole_bytes: 0,
            generation,
            pins: 0,
            alive: true,
            draining: false,
        });
        zspage
    }

    /// Give back the pages of an empty, unpinned zspage. Returns how many.
    pub(crate) fn destroy_zspage<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        zspage: u32,
    ) -> usize {
        let record = &mut self.zspages[zspage as usize];
        debug_assert!(record.alive && record.live.is_empty() && record.pins == 0);
        let freed = record.pages.len();
        for page in core::mem::take(&mut record.pages) {
            // SAFETY: the page belonged to this zspage, which is empty and
            // unpinned, so nothing maps or references it any more.
            unsafe { core.free_page(page) };
        }
        self.stale_holes += record.holes;
        record.holes = 0;
        record.hole_bytes = 0;
        record.end = 0;
        record.live_bytes = 0;
        record.alive = false;
        record.draining = false;
        record.live = ThinVec::new();
        self.dead.push(zspage);
        self.live_zspages -= 1;
        self.pages -= freed;
        if zspage == self.open {
            self.open = NONE;
        }
        if self.live_zspages == 0 {
            // Nothing left to compact: its lists give back their room too.
            self.compaction.candidates = Vec::new();
            self.compaction.plan = Vec::new();
        }
        self.give_back_dead_records();
        freed
    }

    /// Give back the records of dead zspages at the end of the table (a
    /// pool that shrinks keeps no records for its largest moment).
    fn give_back_dead_records(&mut self) {
        let before = self.zspages.len();
        while self.zspages.last().is_some_and(|record| !record.alive) {
            self.zspages.pop();
        }
        if self.zspages.len() < before {
            let remaining = self.zspages.len() as u32;
            self.dead.retain(|&zspage| zspage < remaining);
            shrink_if_sparse(&mut self.zspages);
            shrink_if_sparse(&mut self.dead);
        }
    }

    /// Give back every page (pool teardown).
    pub(crate) fn release_all<B: Backend<Page = P>>(&mut self, core: &PoolCore<B>) {
        for record in &mut self.zspages {
            for page in record.pages.drain(..) {
                // SAFETY: the pool is being dropped: no handle can reach the
                // page and no window is open (windows borrow the pool).
                unsafe { core.free_page(page) };
            }
        }
        self.pages = 0;
    }

    /// Reserve room for an extent of `length` bytes at the open zspage,
    /// taking the pages it needs first (from the reserve, then, if
    /// `may_allocate`, from the backend), so that on failure nothing
    /// changed. Returns (zspage, offset, pages added).
    fn append<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        length: usize,
        may_allocate: bool,
    ) -> Result<(u32, usize, usize), OutOfPages> {
        let fits =
            self.open != NONE && self.zspages[self.open as usize].end + length <= self.capacity;
        let (start, held) = if fits {
            let record = &self.zspages[self.open as usize];
            (record.end, record.pages.len())
        } else {
            (0, 0)
        };
        let needed = (start + length).div_ceil(PAGE_SIZE);
        if !may_allocate && self.reserve.len() < needed - held {
            return Err(OutOfPages);
        }
        let mut new_pages: [Option<P>; 2] = [None; 2];
        for index in 0..needed - held {
            let page = self.reserve.pop().map_or_else(|| core.alloc_page(), Ok);
            match page {
                Ok(page) => new_pages[index] = Some(page),
                Err(error) => {
                    for page in new_pages.iter().flatten() {
                        // SAFETY: just allocated for the pool, never mapped,
                        // dropped from our hands.
                        unsafe { core.free_page(*page) };
                    }
                    return Err(error);
                }
            }
        }
        if !fits {
            self.close_open();
            self.open = self.new_zspage();
            self.reserve_reverse_map();
        }
        let added = needed - held;
        let record = &mut self.zspages[self.open as usize];
        record.pages.extend(new_pages.iter().flatten().copied());
        record.end = start + length;
        self.pages += added;
        Ok((self.open, start, added))
    }

    /// Give the new open zspage's reverse map room for 7/8 of the objects
    /// it should hold (its capacity at the pool's average extent) at once:
    /// growing by quarters as it fills would leave a dozen odd-sized freed
    /// blocks that a first-fit heap (the kernel's) walks on every request.
    fn reserve_reverse_map(&mut self) {
        if let Some(expected) = (self.capacity * self.objects).checked_div(self.live_bytes) {
            let live = &mut self.zspages[self.open as usize].live;
            live.reserve_exact((expected * 7 / 8).saturating_sub(live.len()));
        }
    }

    /// Close the open zspage: the rest of its last page becomes a hole, and
    /// the pages it never reached are never allocated.
    fn close_open(&mut self) {
        if self.open == NONE {
            return;
        }
        let zspage = self.open;
        self.open = NONE;
        let end = self.zspages[zspage as usize].end;
        let page_end = end.next_multiple_of(PAGE_SIZE);
        self.zspages[zspage as usize].end = page_end;
        self.push_hole(zspage, end, page_end - end);
    }

    /// Find room for an extent: a hole (not of `exclude`), else the open
    /// zspage (new pages from the backend only if `may_allocate`). Returns
    /// (zspage, offset, pages added).
    pub(crate) fn place<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        length: usize,
        exclude: u32,
        may_allocate: bool,
    ) -> Result<(u32, usize, usize), OutOfPages> {
        if let Some(hole) = self.take_hole(length, exclude) {
            let leftover = hole.length as usize - length;
            let offset = hole.offset as usize;
            // A small leftover is not listed: it would rarely fit a later
            // object, and every listed hole costs 16 bytes of metadata (a
            // pool under churn would collect thousands). Its bytes count as
            // lost until compaction drains the zspage.
            if leftover >= LEFTOVER_SPACINGS * self.spacing.max(self.min_object) {
                self.push_hole(hole.zspage, offset + length, leftover);
            }
            return Ok((hole.zspage, offset, 0));
        }
        self.append(core, length, may_allocate)
    }
}
