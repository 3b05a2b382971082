//! Our efficient layout ([`crate::Layout::Packed`], [`crate::Config::efficient`]):
//! one shared open zspage instead of one partly filled zspage per size class.
//!
//! Linux gives every size class its own zspages of equal slots, so each of
//! the ~150 classes a zram workload touches has a partly filled *last*
//! zspage: on the project's corpus that tail costs 11% of the pages (chain
//! 4) or 22% (chain 8). The packed layout puts objects of *every* size end
//! to end into one open zspage, and turns the size classes into free lists
//! of *holes* left by freed objects:
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
//!   objects of any size, rounded up to 16 B, end to end; o3 spans pages 0 and 1
//!
//!   the pool:
//!     open zspage ──> [o o o o o o o|.....]   new objects are appended at `end`
//!     closed zspages: [o o hole o o o o o ]   (the open one is closed when the next
//!                     [o hole o o hole o o]    object does not fit; the rest of its
//!                                              last page becomes a hole)
//!     holes by size class:  16: -   32: (z3,+96)   48: -  ...  208: (z7,+0) (z2,+416)
//!                           ^ malloc(n) takes the smallest hole of its class or of up
//!                             to `reuse_window` larger classes, else appends
//! ```
//!
//! * **Placement.** `malloc(n)` rounds `n` up to the class spacing (16 B,
//!   at least `min_object_size`) and takes a hole from the free list of its
//!   class, or of the nearest non-empty of the next `reuse_window` classes (a
//!   bitmap of non-empty lists makes this O(1)). What is left of a larger
//!   hole becomes a smaller hole if it can still hold a minimal object,
//!   otherwise it is lost until compaction. With no hole it appends at the
//!   open zspage's `end`, allocating the next page when `end` crosses into
//!   it: pages still come one at a time from the backend (no high-order
//!   allocation).
//! * **Holes** are not merged. A hole entry names its zspage and that
//!   zspage's *generation*: when a zspage dies its generation changes, so
//!   its stale entries are dropped when popped (or swept in bulk once they
//!   outnumber the valid ones).
//! * **Handles** are kept out of band: each zspage keeps its live objects
//!   in a vector of (offset, handle slot); the handle's `Location` stores
//!   the index in that vector (`class` field), the zspage, and the offset in
//!   16-byte units (`object` field), so free is a swap-remove, O(1).
//! * **Freeing** the last object of a zspage gives all its pages back at once.
//! * **Compaction** ([`Pool::compact`]) sorts the closed zspages by fullness
//!   (live bytes / bytes of pages held), sparsest first, and evacuates each
//!   whose objects fit elsewhere (holes of other zspages or the open zspage)
//!   in fewer pages than it holds, then frees it. Pinned zspages (an object
//!   is mapped) are skipped. Handles stay valid: only their slots change.
//!   [`Pool::pages_compactable`] is the bound `pages held -
//!   ceil(live bytes / PAGE_SIZE)`: compaction may free fewer (holes too
//!   small to reuse, pinned zspages), never more.
//! * **Locking.** The whole packed state sits behind *one* spin lock, taken
//!   inside an atomic section and never together with another lock, and not
//!   held while a map window is open (windows pin their zspage instead), as
//!   for Linux's class locks. The trade-off: one lock instead of one per
//!   class means more contention between CPUs allocating different sizes.
//!   The critical sections are short (a bitmap search, a vector push/pop).
//!   Compaction takes the lock once per evacuated zspage.
//! * **Fullness groups** (Linux's 10% steps, of live bytes over the bytes of
//!   the pages held) are computed when needed, by compaction and
//!   statistics, rather than kept in lists, so `malloc` and `free` never
//!   relink anything.
//! * **Compaction allocates**, unlike Linux's: moved objects may go to the
//!   open zspage, which may need pages. It takes all the pages an
//!   evacuation could need *before* moving anything and gives back the
//!   unused ones, so a backend out of pages stops compaction cleanly.
//! * **Huge objects** do not exist: `huge_class_size()` is `PAGE_SIZE`,
//!   and a 4096-byte object is simply packed like the others.

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use crate::backend::{AtomicSection, Backend, OutOfPages, PAGE_SIZE};
use crate::config::Config;
use crate::handle::{HandleTable, Location};
use crate::pool::{AllocError, Pool};
use crate::zspage::{
    copy_between_zspages, copy_payload, PagePosition, PayloadBuffer, FULLNESS_GROUPS, FULL_GROUP,
};

/// No zspage (the pool has no open zspage).
const NONE: u32 = u32::MAX;

/// An object in a packed zspage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LiveObject {
    /// Byte offset in the zspage.
    pub offset: u32,
    /// Handle-table slot of the owner.
    pub slot: u32,
}

/// A free extent of a zspage, on the free list of its size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hole {
    pub zspage: u32,
    /// The zspage's generation when the hole was made.
    pub generation: u32,
    pub offset: u32,
    pub length: u32,
}

/// Bookkeeping of one packed zspage.
#[derive(Debug, Clone)]
pub(crate) struct PackedZspage<P> {
    /// The pages allocated so far: exactly those touched by `[0, end)`.
    pub pages: Vec<P>,
    /// Fill pointer: bytes at or past it were never used.
    pub end: usize,
    /// Live objects, in no particular order.
    pub live: Vec<LiveObject>,
    /// Sum of the rounded lengths of the live objects.
    pub live_bytes: usize,
    /// Valid hole entries of this zspage, and their bytes.
    pub holes: usize,
    pub hole_bytes: usize,
    /// Changes when the zspage dies, which invalidates its hole entries.
    pub generation: u32,
    /// Objects of this zspage mapped right now: compaction leaves it alone.
    pub pins: u16,
    pub alive: bool,
}

impl<P> PackedZspage<P> {
    /// Fullness group as in Linux's 10% steps, of live bytes over the bytes
    /// of the pages held: 0 empty, 11 no free byte at all.
    pub(crate) fn group(&self) -> usize {
        let held = self.pages.len() * PAGE_SIZE;
        if self.live_bytes == 0 {
            0
        } else if self.live_bytes == held {
            FULL_GROUP
        } else {
            100 * self.live_bytes / held / 10 + 1
        }
    }
}

/// The whole state of the packed layout, behind the pool's one packed lock.
pub(crate) struct PackedState<P> {
    /// Rounding unit (the class spacing) and smallest extent.
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
    pub holes: Vec<Vec<Hole>>,
    pub non_empty: Vec<u64>,
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
    /// Pages taken from the backend before an evacuation starts, so that
    /// compaction never fails half-way (empty outside `evacuate`).
    pub reserve: Vec<P>,
}

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    pub(crate) fn new(config: &Config, reuse_window: usize) -> Self {
        let classes = (PAGE_SIZE - config.min_object_size) / config.class_spacing + 1;
        PackedState {
            spacing: config.class_spacing,
            min_object: config.min_object_size,
            capacity: config.max_pages_per_zspage * PAGE_SIZE,
            reuse_window,
            zspages: Vec::new(),
            dead: Vec::new(),
            open: NONE,
            holes: (0..classes).map(|_| Vec::new()).collect(),
            non_empty: alloc::vec![0; classes.div_ceil(64)],
            listed_holes: 0,
            stale_holes: 0,
            live_zspages: 0,
            pages: 0,
            objects: 0,
            live_bytes: 0,
            payload_bytes: 0,
            reserve: Vec::new(),
        }
    }

    /// Bytes an object of `length` payload bytes occupies.
    pub(crate) fn extent(&self, length: usize) -> usize {
        length.max(self.min_object).next_multiple_of(self.spacing)
    }

    /// Size class of a hole (or extent) of `length >= min_object` bytes.
    pub(crate) fn class_of(&self, length: usize) -> usize {
        ((length - self.min_object) / self.spacing).min(self.holes.len() - 1)
    }

    /// Lower bound on the bytes of a hole of class `class`.
    pub(crate) fn class_size(&self, class: usize) -> usize {
        self.min_object + class * self.spacing
    }

    /// Where byte `offset` of `zspage` lives.
    pub(crate) fn position(&self, zspage: u32, offset: usize) -> PagePosition<P> {
        PagePosition {
            page: self.zspages[zspage as usize].pages[offset / PAGE_SIZE],
            offset: offset % PAGE_SIZE,
        }
    }

    /// Where a payload of `length` bytes at `offset` starts, and its second
    /// page if it crosses a page boundary.
    pub(crate) fn payload_pages(
        &self,
        zspage: u32,
        offset: usize,
        length: usize,
    ) -> (PagePosition<P>, Option<P>) {
        let first = self.position(zspage, offset);
        let last_page = (offset + length.max(1) - 1) / PAGE_SIZE;
        let pages = &self.zspages[zspage as usize].pages;
        let second = (last_page != offset / PAGE_SIZE).then(|| pages[last_page]);
        (first, second)
    }

    /// Hole entry still describes free bytes of a live zspage.
    pub(crate) fn is_valid(&self, hole: &Hole) -> bool {
        let record = &self.zspages[hole.zspage as usize];
        record.alive && record.generation == hole.generation
    }

    // ----- holes ----------------------------------------------------------

    /// Put `[offset, offset + length)` of `zspage` on its class's free list;
    /// an extent too small for any object is lost until compaction.
    fn push_hole(&mut self, zspage: u32, offset: usize, length: usize) {
        if length < self.min_object {
            return;
        }
        let class = self.class_of(length);
        let record = &mut self.zspages[zspage as usize];
        record.holes += 1;
        record.hole_bytes += length;
        let hole = Hole {
            zspage,
            generation: record.generation,
            offset: offset as u32,
            length: length as u32,
        };
        self.holes[class].push(hole);
        self.listed_holes += 1;
        self.non_empty[class / 64] |= 1 << (class % 64);
    }

    /// First non-empty hole class in `from..=to`.
    fn first_non_empty(&self, from: usize, to: usize) -> Option<usize> {
        let mut class = from;
        while class <= to {
            let word = self.non_empty[class / 64] >> (class % 64);
            if word != 0 {
                let found = class + word.trailing_zeros() as usize;
                return (found <= to).then_some(found);
            }
            class = (class / 64 + 1) * 64;
        }
        None
    }

    /// Take the smallest hole that fits an extent of `length` bytes, from its
    /// class or the next `reuse_window` ones, skipping holes of `exclude`.
    /// Stale entries met on the way are dropped.
    fn take_hole(&mut self, length: usize, exclude: u32) -> Option<Hole> {
        let from = self.class_of(length);
        let to = (from + self.reuse_window).min(self.holes.len() - 1);
        loop {
            let class = self.first_non_empty(from, to)?;
            while let Some(hole) = self.holes[class].pop() {
                self.listed_holes -= 1;
                if !self.is_valid(&hole) {
                    self.stale_holes -= 1;
                    continue;
                }
                let record = &mut self.zspages[hole.zspage as usize];
                record.holes -= 1;
                record.hole_bytes -= hole.length as usize;
                if hole.zspage == exclude {
                    // The zspage being evacuated: its holes die with it.
                    continue;
                }
                if self.holes[class].is_empty() {
                    self.non_empty[class / 64] &= !(1 << (class % 64));
                }
                return Some(hole);
            }
            self.non_empty[class / 64] &= !(1 << (class % 64));
        }
    }

    /// Drop every stale hole entry (when they outnumber the valid ones).
    fn sweep_stale_holes(&mut self) {
        let mut holes = core::mem::take(&mut self.holes);
        for (class, list) in holes.iter_mut().enumerate() {
            list.retain(|hole| self.is_valid(hole));
            if list.is_empty() {
                self.non_empty[class / 64] &= !(1 << (class % 64));
            }
        }
        self.holes = holes;
        self.listed_holes -= self.stale_holes;
        self.stale_holes = 0;
    }

    // ----- zspages ------------------------------------------------------------

    /// A record for a new zspage (no pages yet).
    fn new_zspage(&mut self) -> u32 {
        self.live_zspages += 1;
        if let Some(zspage) = self.dead.pop() {
            self.zspages[zspage as usize].alive = true;
            return zspage;
        }
        let zspage = self.zspages.len() as u32;
        assert!(zspage < NONE, "zspage table full");
        self.zspages.push(PackedZspage {
            pages: Vec::new(),
            end: 0,
            live: Vec::new(),
            live_bytes: 0,
            holes: 0,
            hole_bytes: 0,
            generation: 0,
            pins: 0,
            alive: true,
        });
        zspage
    }

    /// Give back the pages of an empty, unpinned zspage. Returns them.
    fn destroy_zspage<B: Backend<Page = P>>(&mut self, backend: &B, zspage: u32) -> usize {
        let record = &mut self.zspages[zspage as usize];
        debug_assert!(record.alive && record.live.is_empty() && record.pins == 0);
        let freed = record.pages.len();
        for page in record.pages.drain(..) {
            // SAFETY: the page belonged to this zspage, which is empty and
            // unpinned, so nothing maps or references it any more.
            unsafe { backend.free_page(page) };
        }
        self.stale_holes += record.holes;
        record.holes = 0;
        record.hole_bytes = 0;
        record.end = 0;
        record.live_bytes = 0;
        record.generation = record.generation.wrapping_add(1);
        record.alive = false;
        record.live = Vec::new();
        self.dead.push(zspage);
        self.live_zspages -= 1;
        self.pages -= freed;
        if zspage == self.open {
            self.open = NONE;
        }
        let valid = self.listed_holes - self.stale_holes;
        if self.stale_holes > 64 && self.stale_holes > valid {
            self.sweep_stale_holes();
        }
        freed
    }

    /// Give back every page (pool teardown).
    pub(crate) fn release_all<B: Backend<Page = P>>(&mut self, backend: &B) {
        for record in &mut self.zspages {
            for page in record.pages.drain(..) {
                // SAFETY: the pool is being dropped: no handle can reach the
                // page and no window is open (windows borrow the pool).
                unsafe { backend.free_page(page) };
            }
        }
        self.pages = 0;
    }

    /// Reserve room for an extent of `length` bytes at the open zspage,
    /// allocating the pages it needs first, so that on failure nothing
    /// changed. Returns (zspage, offset, pages added).
    fn append<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        length: usize,
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
        let mut new_pages: [Option<P>; 2] = [None; 2];
        for index in 0..needed - held {
            let page = self.reserve.pop().map_or_else(|| backend.alloc_page(), Ok);
            match page {
                Ok(page) => new_pages[index] = Some(page),
                Err(error) => {
                    for page in new_pages.iter().flatten() {
                        // SAFETY: just allocated from this backend, never
                        // mapped, dropped from our hands.
                        unsafe { backend.free_page(*page) };
                    }
                    return Err(error);
                }
            }
        }
        if !fits {
            self.close_open();
            self.open = self.new_zspage();
        }
        let added = needed - held;
        let record = &mut self.zspages[self.open as usize];
        record.pages.extend(new_pages.iter().flatten());
        record.end = start + length;
        self.pages += added;
        Ok((self.open, start, added))
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

    /// Find room for an extent: a hole, else the open zspage.
    /// Returns (zspage, offset, pages added).
    fn place<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        length: usize,
        exclude: u32,
    ) -> Result<(u32, usize, usize), OutOfPages> {
        if let Some(hole) = self.take_hole(length, exclude) {
            let leftover = hole.length as usize - length;
            let offset = hole.offset as usize;
            self.push_hole(hole.zspage, offset + length, leftover);
            return Ok((hole.zspage, offset, 0));
        }
        self.append(backend, length)
    }

    /// Record a live object placed at (zspage, offset); returns its location.
    fn add_object(&mut self, zspage: u32, offset: usize, length: usize, slot: u32) -> Location {
        let record = &mut self.zspages[zspage as usize];
        let index = record.live.len();
        record.live.push(LiveObject {
            offset: offset as u32,
            slot,
        });
        record.live_bytes += length;
        self.objects += 1;
        self.live_bytes += length;
        Location {
            class: index as u16,
            zspage,
            object: (offset / self.spacing) as u16,
        }
    }

    /// Forget the live object at `location` (swap-remove, fixing the slot of
    /// the object moved into its place). Returns its byte offset.
    fn remove_object(&mut self, handles: &HandleTable, location: Location, length: usize) -> usize {
        let record = &mut self.zspages[location.zspage as usize];
        let index = location.class as usize;
        let removed = record.live.swap_remove(index);
        record.live_bytes -= length;
        if let Some(moved) = record.live.get(index).copied() {
            handles.set_location(
                moved.slot,
                Location {
                    class: index as u16,
                    zspage: location.zspage,
                    object: (moved.offset as usize / self.spacing) as u16,
                },
            );
        }
        self.objects -= 1;
        self.live_bytes -= length;
        removed.offset as usize
    }

    /// Allocate an object for handle slot `slot`. Returns its location and
    /// the pages added.
    pub(crate) fn allocate<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        slot: u32,
        length: usize,
    ) -> Result<(Location, usize), OutOfPages> {
        let extent = self.extent(length);
        let (zspage, offset, added) = self.place(backend, extent, NONE)?;
        self.payload_bytes += length;
        Ok((self.add_object(zspage, offset, extent, slot), added))
    }

    /// Free the object at `location`. Returns the pages given back.
    pub(crate) fn free<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        handles: &HandleTable,
        location: Location,
        length: usize,
    ) -> usize {
        let extent = self.extent(length);
        let offset = self.remove_object(handles, location, extent);
        self.payload_bytes -= length;
        let zspage = location.zspage;
        if self.zspages[zspage as usize].live.is_empty() {
            return self.destroy_zspage(backend, zspage);
        }
        self.push_hole(zspage, offset, extent);
        0
    }

    /// `pages held - ceil(live bytes / PAGE_SIZE)`: an upper bound on what
    /// compaction can give back.
    pub(crate) fn compactable_pages(&self) -> usize {
        self.pages - self.live_bytes.div_ceil(PAGE_SIZE)
    }

    /// Closed, unpinned zspages worth evacuating, sparsest first.
    fn compaction_candidates(&self) -> Vec<(u32, u32)> {
        let mut candidates: Vec<(usize, u32, u32)> = self
            .zspages
            .iter()
            .enumerate()
            .filter(|&(zspage, record)| {
                record.alive
                    && zspage as u32 != self.open
                    && record.pins == 0
                    && record.pages.len() * PAGE_SIZE - record.live_bytes >= PAGE_SIZE
            })
            .map(|(zspage, record)| {
                // live / held, as a fraction of 2^16, for sorting.
                let fill = (record.live_bytes << 16) / (record.pages.len() * PAGE_SIZE);
                (fill, zspage as u32, record.generation)
            })
            .collect();
        candidates.sort_unstable();
        candidates
            .into_iter()
            .map(|(_, zspage, generation)| (zspage, generation))
            .collect()
    }

    /// Pages that appending `extents` at the open zspage would add (holes
    /// can only lower this).
    fn pages_to_append(&self, extents: impl Iterator<Item = usize>) -> usize {
        let (mut end, mut open) = if self.open == NONE {
            (self.capacity, false)
        } else {
            (self.zspages[self.open as usize].end, true)
        };
        let mut pages = 0;
        for extent in extents {
            if end + extent > self.capacity || !open {
                end = 0;
                open = true;
            }
            pages += (end + extent).div_ceil(PAGE_SIZE) - end.div_ceil(PAGE_SIZE);
            end += extent;
        }
        pages
    }

    /// Move every object of `source` elsewhere and free it, if that needs
    /// fewer pages than it holds. Returns (pages freed, pages added); stops
    /// early (leaving `source` alive) if the backend has no page.
    fn evacuate<B: Backend<Page = P>>(
        &mut self,
        backend: &B,
        handles: &HandleTable,
        source: u32,
    ) -> (usize, usize) {
        let record = &self.zspages[source as usize];
        let extents = record
            .live
            .iter()
            .map(|object| self.extent(handles.length(object.slot)));
        let needed = self.pages_to_append(extents);
        if needed >= record.pages.len() {
            return (0, 0);
        }
        // Take every page the move may need first: if the backend has none,
        // nothing has moved yet.
        for _ in 0..needed {
            match backend.alloc_page() {
                Ok(page) => self.reserve.push(page),
                Err(OutOfPages) => {
                    self.release_reserve(backend);
                    return (0, 0);
                }
            }
        }
        let mut added = 0;
        while let Some(&object) = self.zspages[source as usize].live.last() {
            let length = handles.length(object.slot);
            let extent = self.extent(length);
            let Ok((target, offset, new_pages)) = self.place(backend, extent, source) else {
                self.release_reserve(backend);
                return (0, added);
            };
            added += new_pages;
            copy_between_zspages(
                backend,
                |zspage, offset| self.position(zspage, offset),
                (source, object.offset as usize),
                (target, offset),
                length,
            );
            let index = self.zspages[source as usize].live.len() - 1;
            let old = Location {
                class: index as u16,
                zspage: source,
                object: 0,
            };
            self.remove_object(handles, old, extent);
            let location = self.add_object(target, offset, extent, object.slot);
            handles.set_location(object.slot, location);
        }
        self.release_reserve(backend);
        (self.destroy_zspage(backend, source), added)
    }

    /// Give back the reserved pages an evacuation did not use.
    fn release_reserve<B: Backend<Page = P>>(&mut self, backend: &B) {
        for page in self.reserve.drain(..) {
            // SAFETY: reserved pages were allocated from this backend, never
            // mapped, and are dropped from our hands.
            unsafe { backend.free_page(page) };
        }
    }

    /// Heap bytes of the packed state.
    pub(crate) fn metadata_bytes(&self) -> usize {
        use core::mem::size_of;
        let mut bytes = size_of::<Self>()
            + self.zspages.capacity() * size_of::<PackedZspage<P>>()
            + self.dead.capacity() * size_of::<u32>()
            + self.holes.capacity() * size_of::<Vec<Hole>>()
            + self.non_empty.capacity() * size_of::<u64>();
        for record in &self.zspages {
            bytes += record.pages.capacity() * size_of::<P>();
            bytes += record.live.capacity() * size_of::<LiveObject>();
        }
        for list in &self.holes {
            bytes += list.capacity() * size_of::<Hole>();
        }
        bytes
    }

    /// Zspages per fullness group (the open one included).
    pub(crate) fn zspages_by_fullness(&self) -> [usize; FULLNESS_GROUPS] {
        let mut groups = [0; FULLNESS_GROUPS];
        for record in self.zspages.iter().filter(|record| record.alive) {
            groups[record.group()] += 1;
        }
        groups
    }
}

impl<B: Backend> Pool<B> {
    /// Lock the packed state. The atomic section is the proof that
    /// interrupts are off.
    pub(crate) fn lock_packed<'a>(
        &'a self,
        _atomic: &AtomicSection<'_, B>,
    ) -> spin::MutexGuard<'a, PackedState<B::Page>> {
        self.packed
            .as_ref()
            .expect("the pool has the packed layout")
            .lock()
    }

    /// `malloc` for the packed layout, returning the handle-table slot.
    pub(crate) fn allocate_packed(&self, size: usize) -> Result<u32, AllocError> {
        let atomic = AtomicSection::enter(&self.backend);
        let slot = self.handles.allocate(size);
        let result = {
            let mut state = self.lock_packed(&atomic);
            let result = state.allocate(&self.backend, slot, size);
            if let Ok((location, pages_added)) = result {
                self.handles.set_location(slot, location);
                self.total_pages.fetch_add(pages_added, Ordering::Relaxed);
            }
            result
        };
        match result {
            Ok(_) => Ok(slot),
            Err(OutOfPages) => {
                self.handles.abandon(slot);
                Err(AllocError::OutOfPages)
            }
        }
    }

    /// `free` for the packed layout, after the handle was claimed.
    pub(crate) fn free_packed(&self, atomic: &AtomicSection<'_, B>, index: u32, length: usize) {
        let mut state = self.lock_packed(atomic);
        let location = self.handles.location(index);
        let pages_freed = state.free(&self.backend, &self.handles, location, length);
        self.total_pages.fetch_sub(pages_freed, Ordering::Relaxed);
    }

    /// Compaction of the packed layout (see the module docs). Returns the
    /// pages given back, net of the pages the moved objects needed.
    pub(crate) fn compact_packed(&self) -> usize {
        let candidates = {
            let atomic = AtomicSection::enter(&self.backend);
            self.lock_packed(&atomic).compaction_candidates()
        };
        let mut freed_total = 0;
        let mut added_total = 0;
        for (zspage, generation) in candidates {
            let atomic = AtomicSection::enter(&self.backend);
            let mut state = self.lock_packed(&atomic);
            let record = &state.zspages[zspage as usize];
            let still_candidate = record.alive
                && record.generation == generation
                && record.pins == 0
                && zspage != state.open;
            if !still_candidate {
                continue;
            }
            let (freed, added) = state.evacuate(&self.backend, &self.handles, zspage);
            self.total_pages.fetch_add(added, Ordering::Relaxed);
            self.total_pages.fetch_sub(freed, Ordering::Relaxed);
            freed_total += freed;
            added_total += added;
            if freed == 0 && added > 0 {
                // The backend ran out of pages: stop here.
                break;
            }
        }
        freed_total.saturating_sub(added_total)
    }

    /// Copy an object's payload in or out (for `read`/`write`).
    pub(crate) fn copy_packed(
        &self,
        atomic: &AtomicSection<'_, B>,
        index: u32,
        buffer: PayloadBuffer<'_>,
    ) {
        let state = self.lock_packed(atomic);
        let location = self.handles.location(index);
        let offset = location.object as usize * state.spacing;
        let (first, second) = state.payload_pages(location.zspage, offset, buffer.len());
        copy_payload(&self.backend, first, second, buffer);
    }
}
