//! The packed layout (ours, [`crate::Config::packed`]): one shared open
//! zspage instead of one partly filled zspage per size class.
//!
//! Linux gives every size class its own zspages of equal-sized objects, so each of
//! the ~150 classes a zram workload touches has a partly filled *last*
//! zspage: on the project's corpus that tail costs 11% of the pages (chain
//! 4) or 22% (chain 8). The packed layout puts objects of *every* size end
//! to end into one open zspage, and turns the size classes into free lists
//! of *holes* left by freed objects:
//!
//! ```text
//!   Linux:   class 48  [o o o o o o . . .]     class 208 [o o o o . . . . .]  ...
//!            class 64  [o o o . . . . . .]     class 3632[o . . . . . . . .]
//!                       ^ ~150 partly filled tails
//!   packed:  open zspage [o48|o3632|o208|o64|o208|...........]   one tail
//!            closed      [o|o|hole|o|o|o|hole|o|o]   holes on size-class lists
//! ```
//!
//! Read the files in this order:
//!
//! 1. [`config`]: the knobs ([`PackedConfig::DEFAULT`] is what the project
//!    measures and the demo uses).
//! 2. [`zspage`]: zspages filled end to end, their pages allocated one at
//!    a time as the fill pointer reaches them; placing and removing objects.
//! 3. [`holes`]: the free lists of holes by size class, and how `malloc`
//!    takes a hole of the first class whose every hole fits, or of up to
//!    `reuse_window` larger ones (a bitmap of non-empty lists makes this O(1)).
//! 4. [`compact`], [`candidates`] and [`drain`]: compaction in steps of
//!    short atomic sections, draining the sparsest closed zspages from
//!    their highest object down.
//! 5. [`check`] and [`stats`]: the invariants, and the table.
//!
//! This file ties them to the pool ([`crate::Layout`]). Decisions that
//! differ from Linux's layout:
//!
//! * **Locking.** The whole state sits behind *one* spin lock, taken inside
//!   an atomic section, never together with another lock, and not held
//!   while a map window is open (windows pin their zspage instead), as for
//!   Linux's class locks. The trade-off: one lock instead of one per class
//!   means more contention between CPUs allocating different sizes. The
//!   critical sections are short (a bitmap search, a vector push/pop).
//! * **Fullness groups** (Linux's 10% steps, of live bytes over the bytes of
//!   the pages held) are computed when needed, by statistics, rather than
//!   kept in lists, so `malloc` and `free` never relink anything.
//! * **No headers, no huge objects**: owners are kept out of band, so an
//!   object is only its payload rounded to 8 bytes; `huge_class_size()`
//!   is `PAGE_SIZE`, and a 4096-byte object is packed like the others.
//! * **Compaction may allocate** (moved objects may go to the open
//!   zspage), but in steps that give back a source's tail pages before
//!   taking new ones, with pages taken outside atomic sections (see
//!   [`compact`]); [`Layout::compact_step`] is supported, and
//!   [`Layout::pages_compactable`] is the bound `pages held - ceil(live
//!   bytes / PAGE_SIZE)`: compaction may free fewer (holes too small to
//!   reuse, pinned zspages), never more.
//!
//! The location an object's handle-table entry records:
//!
//! ```text
//!   40 bits: index in its zspage's live list (12) | zspage (15) | offset / 8 (13)
//! ```
//!
//! ## Its metadata, byte by byte
//!
//! Everything the layout keeps outside the data pages, on the heap (the
//! pool reports it as `metadata_bytes`):
//!
//! ```text
//!   per object       handle-table entry (the pool's)    8 B   the location above
//!                    reverse-map slot                   4 B   owner entry, in `live`
//!   per listed hole  hole entry                        16 B   zspage, generation, offset, length
//!   per zspage       record                            56 B   counters, generation, pins, and
//!                                                             two one-pointer lists (ThinVec):
//!                    page list                      8 B/page  + a 16 B header each when not
//!                    reverse map                    4 B/obj     empty
//!   per hole class   list head (511 classes)            8 B   a ThinVec: one pointer
//!   per layout       up to 4 spare hole-list rooms (80 B each), compaction's
//!                    lists, the zspage table's spare room
//! ```
//!
//! What each choice bought, on the project corpus after the fill (4,161
//! objects; the README's "Metadata: every byte counted" has the table): the
//! offset kept only in the entry's location halves the reverse map (26.7
//! → 21.7 bytes per object); vectors that grow by a quarter and give back
//! room when three quarters empty, 1 KiB handle-table chunks, and dead
//! zspages that give back their records and page vectors bring it to 19.5.
//! Room for 7/8 of its expected objects given to an open zspage's reverse
//! map at once (fewer heap requests, too), hole classes 8 bytes apart
//! (twice as many lists; churn leaves fewer leftovers nothing fits) and
//! one-pointer lists: 18.7 bytes per object. Leftovers under 64 bytes are
//! not listed as holes, so that churn does not fill the lists with holes
//! nothing takes.

pub mod candidates;
pub mod check;
pub mod compact;
pub mod config;
pub mod drain;
pub mod holes;
pub mod objects;
pub mod stats;
pub mod zspage;

pub use config::{PackedConfig, MAX_REUSE_WINDOW};
pub use stats::PackedStats;

use alloc::vec::Vec;
use core::sync::atomic::AtomicBool;

use crate::backend::{Backend, OutOfPages, PAGE_SIZE};
use crate::check::InvariantError;
use crate::handle_table::Entry;
use crate::layout::{CompactStep, Layout, ObjectView, PoolCore, PoolVisitor, ZspageView};
use crate::pages::{ObjectPages, PayloadBuffer};
use crate::stats::LayoutStats;
use crate::sync::SpinLock;
use zspage::PackedState;

/// Where an object of the packed layout lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    /// Its index in its zspage's list of live objects.
    pub index: u16,
    /// Its zspage.
    pub zspage: u32,
    /// Its byte offset in the zspage, in granules ([`GRANULE`]).
    pub unit: u16,
}

/// Objects are placed on 8-byte boundaries, their extents rounded up to
/// it: 13 bits of a location reach every offset of a 16-page zspage. (The
/// class spacing only sizes the hole lists: rounding objects to 16 bytes
/// instead would waste 4 more bytes per object on average.)
pub(crate) const GRANULE: usize = 8;

impl Location {
    /// The word the handle-table entry stores (below `1 << LOCATION_BITS`).
    pub(crate) fn encode(self) -> u64 {
        assert!(
            self.index < 1 << 12 && self.zspage < 1 << 15 && self.unit < 1 << 13,
            "location {self:?} does not fit in 40 bits"
        );
        (self.index as u64) << 28 | (self.zspage as u64) << 13 | self.unit as u64
    }

    /// The location of the object at byte `offset` (a multiple of
    /// [`GRANULE`]) of `zspage`, `index` in its live list.
    pub(crate) fn at(zspage: u32, index: usize, offset: usize) -> Location {
        debug_assert!(offset.is_multiple_of(GRANULE));
        Location {
            index: index as u16,
            zspage,
            unit: (offset / GRANULE) as u16,
        }
    }

    /// Byte offset of the object in its zspage.
    pub(crate) fn offset(self) -> usize {
        self.unit as usize * GRANULE
    }

    /// The word `word` stores with its index replaced by `index` (below
    /// the index of the object it replaces, so it fits).
    #[inline]
    pub(crate) fn with_index(word: u64, index: usize) -> u64 {
        debug_assert!(index < 1 << 12);
        word & !(((1 << 12) - 1) << 28) | (index as u64) << 28
    }

    /// The location a word stores.
    pub(crate) fn decode(word: u64) -> Location {
        Location {
            index: (word >> 28) as u16 & ((1 << 12) - 1),
            zspage: (word >> 13) as u32 & ((1 << 15) - 1),
            unit: word as u16 & ((1 << 13) - 1),
        }
    }
}

/// The packed layout: its state behind one lock.
pub struct PackedLayout<P> {
    state: SpinLock<PackedState<P>>,
    /// A compaction step is under way (one at a time).
    compacting: AtomicBool,
}

impl<P: Copy + Eq + core::fmt::Debug> PackedLayout<P> {
    /// The layout for `config` (assumed validated).
    pub fn new(config: PackedConfig) -> Self {
        PackedLayout {
            state: SpinLock::new(PackedState::new(&config)),
            compacting: AtomicBool::new(false),
        }
    }
}

// SAFETY: pages come from `core.alloc_page` and are freed once (when their
// zspage dies, unused reserve pages at once, the rest in `release_all`);
// live extents and holes of a zspage never overlap (checked by `check`),
// and the layout writes no byte of a zspage itself; a pinned zspage is
// never evacuated, nor destroyed (it holds a live object); `copy` runs
// under the lock.
unsafe impl<B: Backend> Layout<B> for PackedLayout<B::Page> {
    fn name(&self) -> &'static str {
        "packed"
    }

    fn huge_class_size(&self) -> usize {
        PAGE_SIZE
    }

    fn allocate(&self, core: &PoolCore<B>, entry: Entry, size: usize) -> Result<(), OutOfPages> {
        let atomic = core.enter_atomic();
        let mut state = self.state.lock(&atomic);
        let location = state.allocate(core, entry, size)?;
        core.set_location(entry, location.encode());
        Ok(())
    }

    fn free(&self, core: &PoolCore<B>, entry: Entry, size: usize) {
        let atomic = core.enter_atomic();
        let mut state = self.state.lock(&atomic);
        let location = Location::decode(core.location(entry));
        state.free(core, location, size);
    }

    fn pin(&self, core: &PoolCore<B>, entry: Entry, length: usize) -> ObjectPages<B::Page> {
        let atomic = core.enter_atomic();
        let mut state = self.state.lock(&atomic);
        let location = Location::decode(core.location(entry));
        state.zspages[location.zspage as usize].pins += 1;
        state.payload_pages(location, length)
    }

    fn unpin(&self, core: &PoolCore<B>, entry: Entry) {
        let atomic = core.enter_atomic();
        let mut state = self.state.lock(&atomic);
        // Other objects of the zspage may have been freed meanwhile, which
        // changes this one's index, but never its zspage.
        let location = Location::decode(core.location(entry));
        let record = &mut state.zspages[location.zspage as usize];
        record.pins -= 1;
        if record.pins == 0 {
            // The zspage may be worth compacting again.
            state.compaction.rescan = true;
        }
    }

    fn copy(&self, core: &PoolCore<B>, entry: Entry, buffer: PayloadBuffer<'_>) {
        let atomic = core.enter_atomic();
        let state = self.state.lock(&atomic);
        let location = Location::decode(core.location(entry));
        let pages = state.payload_pages(location, buffer.len());
        // SAFETY: the lock is held, so the object neither moves nor loses
        // its pages; the pool has claimed the entry, so nobody else uses
        // these bytes.
        unsafe { pages.copy(core.backend(), buffer) };
    }

    fn compact(&self, core: &PoolCore<B>) -> usize {
        compact::compact(&self.state, &self.compacting, core)
    }

    /// Drains the sparsest closed zspages, one object per lock section (see
    /// [`compact`]).
    fn compact_step(&self, core: &PoolCore<B>, max_bytes: usize) -> CompactStep {
        compact::step(&self.state, &self.compacting, core, max_bytes)
    }

    /// An upper bound: `pages held - ceil(live bytes / PAGE_SIZE)`.
    fn pages_compactable(&self, core: &PoolCore<B>) -> usize {
        let atomic = core.enter_atomic();
        let pages = self.state.lock(&atomic).compactable_pages();
        pages
    }

    /// Read in many short atomic sections (see [`stats::read_stats`]).
    fn stats(&self, core: &PoolCore<B>) -> LayoutStats {
        stats::read_stats(&self.state, core, core::mem::size_of::<Self>())
    }

    fn check(&self, core: &PoolCore<B>) -> Result<(), InvariantError> {
        let atomic = core.enter_atomic();
        let state = self.state.lock(&atomic);
        state.check(core)
    }

    /// Objects are shown in the order of their offsets.
    fn walk(&self, core: &PoolCore<B>, visitor: &mut dyn PoolVisitor<B::Page>) {
        let atomic = core.enter_atomic();
        let state = self.state.lock(&atomic);
        for record in state.zspages.iter().filter(|record| record.alive) {
            visitor.zspage(&ZspageView {
                pages: &record.pages,
                pins: record.pins as usize,
            });
            let mut objects: Vec<ObjectView> = record
                .live
                .iter()
                .map(|&owner| {
                    let entry = Entry::from_index(owner);
                    let length = core.object_size(entry);
                    ObjectView {
                        entry,
                        offset: Location::decode(core.location(entry)).offset(),
                        size: state.extent(length),
                        length,
                    }
                })
                .collect();
            objects.sort_unstable_by_key(|object| object.offset);
            for object in &objects {
                visitor.object(object);
            }
        }
    }

    fn release_all(&mut self, core: &PoolCore<B>) {
        self.state.get_mut().release_all(core);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_round_trips() {
        let location = Location {
            index: 4095,
            zspage: 0x7eef,
            unit: 8191,
        };
        assert_eq!(Location::decode(location.encode()), location);
    }
}
