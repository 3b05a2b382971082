//! Linux's layout, kept exactly: size classes, each with its own zspages.
//!
//! Read the files in this order:
//!
//! 1. [`config`]: the knobs ([`LinuxConfig::with_chain`] is Linux's
//!    geometry; `Config::linux(chain)` selects this layout).
//! 2. [`size_class`]: a request of `n` bytes gets an 8-byte handle header
//!    and is rounded up to the next *size class*: 32, 48, 64, ... 4096
//!    bytes (16 bytes apart, 255 classes). Each class chains the number of
//!    pages (1..=chain) into one *zspage* that wastes the fewest bytes at
//!    its end, and neighbouring classes with identical zspages are merged.
//! 3. [`zspage`]: objects laid end to end over the pages of a zspage (one
//!    may span a page boundary), the zspage records, and the fullness-group
//!    lists that sort each class's zspages by how full they are.
//! 4. [`object`]: an object's header word (its handle-table entry) or, when
//!    free, its link in the zspage's free list; allocating and freeing.
//! 5. [`compact`]: moving objects from the sparsest zspages of a class into
//!    the fullest, so that the emptied zspages give their pages back, in
//!    short steps (one atomic section each, bounded by [`CompactLimits`]).
//! 6. [`check`] and [`stats`]: the invariants, and the class table (Linux's
//!    debugfs `classes` file).
//!
//! This file ties them to the pool ([`crate::Layout`]): one `ClassState`
//! per physical class, each behind its own spin lock, and the location an
//! object's handle-table entry records:
//!
//! ```text
//!   entry's location word (40 bits): class (9) | zspage (19) | object (12)
//!   malloc(n):  class_for(n) ──lock──► fullest non-full zspage ──► pop a free object
//!               (none: unlock, make a zspage with interrupts on, lock, add it, pop)
//!   free(h):    class of the location ──lock──► push the object, relink or destroy
//! ```
//!
//! The class of an object never changes, so the class (and its lock) can be
//! read from the location before locking; the zspage and object may change
//! (compaction) until the lock is held, so they are read again under it.

pub mod check;
#[cfg_attr(
    feature = "lab-compaction",
    path = "../../../labs/compaction/compact.rs"
)]
pub mod compact;
pub mod config;
#[cfg_attr(feature = "lab-zspage", path = "../../../labs/zspage/object.rs")]
pub mod object;
#[cfg_attr(
    feature = "lab-size-classes",
    path = "../../../labs/size-classes/size_class.rs"
)]
pub mod size_class;
pub mod stats;
pub mod zspage;

pub use compact::ClassStep;
pub use config::{CompactLimits, HandlePlacement, LinuxConfig, HANDLE_HEADER_SIZE};
pub use size_class::{ClassGeometry, SizeClassTable};
pub(crate) use stats::write_class_table;
pub use stats::ClassStats;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::backend::{Backend, OutOfPages};
use crate::check::InvariantError;
use crate::handle_table::Entry;
use crate::layout::{CompactStep, Layout, ObjectView, PoolCore, PoolVisitor, ZspageView};
use crate::pages::{ObjectPages, PayloadBuffer};
use crate::stats::{LayoutDetail, LayoutStats};
use crate::sync::SpinLock;
use zspage::{ClassState, NewZspage};

/// Where an object of Linux's layout lives: physical class, zspage, object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    pub class: u16,
    pub zspage: u32,
    pub object: u16,
}

impl Location {
    /// The word the handle-table entry stores (below `1 << LOCATION_BITS`).
    pub(crate) fn encode(self) -> u64 {
        assert!(
            self.class < 1 << 9 && self.zspage < 1 << 19 && self.object < 1 << 12,
            "location {self:?} does not fit in 40 bits"
        );
        (self.class as u64) << 31 | (self.zspage as u64) << 12 | self.object as u64
    }

    /// The location a word stores.
    pub(crate) fn decode(word: u64) -> Location {
        Location {
            class: (word >> 31) as u16,
            zspage: (word >> 12) as u32 & ((1 << 19) - 1),
            object: word as u16 & ((1 << 12) - 1),
        }
    }
}

/// Linux's layout: the size classes and their zspages.
pub struct LinuxLayout<P> {
    size_classes: SizeClassTable,
    classes: Box<[SpinLock<ClassState<P>>]>,
    /// The class automatic compaction's next step starts with.
    step_class: AtomicUsize,
}

impl<P: Copy + Eq + core::fmt::Debug> LinuxLayout<P> {
    /// The layout for `config` (assumed validated).
    pub fn new(config: LinuxConfig) -> Self {
        let size_classes = SizeClassTable::new(&config);
        let classes: Box<[SpinLock<ClassState<P>>]> = size_classes
            .classes()
            .iter()
            .enumerate()
            .map(|(class, geometry)| SpinLock::new(ClassState::new(class as u16, *geometry)))
            .collect();
        let step_class = AtomicUsize::new(classes.len() - 1);
        LinuxLayout {
            size_classes,
            classes,
            step_class,
        }
    }

    /// Physical size classes (the classes of [`LinuxLayout::compact_class_step`]).
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// One bounded step of compacting physical class `class`, in its own
    /// atomic section under the class lock (see [`compact`]), within the
    /// configuration's [`CompactLimits`]; the class is consistent again when
    /// the lock is released. [`ClassStep::finished`] says when to stop.
    pub fn compact_class_step<B: Backend<Page = P>>(
        &self,
        core: &PoolCore<B>,
        class: usize,
    ) -> ClassStep {
        let atomic = core.enter_atomic();
        let step = self.classes[class]
            .lock(&atomic)
            .compact_step(core, self.size_classes.config().compact_step);
        drop(atomic);
        step
    }

    /// Under the lock of `class`: place the object of `entry` in its fullest
    /// partial zspage or, if none has room, in `spare` (taken). Returns
    /// `false`, with nothing changed, when neither is there.
    fn allocate_in<B: Backend<Page = P>>(
        &self,
        core: &PoolCore<B>,
        class: usize,
        entry: Entry,
        size: usize,
        spare: &mut Option<NewZspage<P>>,
    ) -> Result<bool, OutOfPages> {
        let atomic = core.enter_atomic();
        let mut state = self.classes[class].lock(&atomic);
        if state.fullest_partial().is_none() {
            let Some(new) = spare.take() else {
                return Ok(false);
            };
            let zspage = state.install_zspage(new);
            state.link(zspage);
        }
        // A partial zspage has room: no page is allocated here.
        let location = state.allocate(core, entry, size)?;
        // Under the class lock, so compaction sees the location.
        core.set_location(entry, location.encode());
        Ok(true)
    }

    /// The class an entry's object belongs to (never changes).
    fn class_of<B: Backend>(core: &PoolCore<B>, entry: Entry) -> usize {
        Location::decode(core.location(entry)).class as usize
    }
}

// SAFETY: pages come from `core.alloc_page` and are freed once (when their
// zspage dies, in `release_all`, or at once when a new zspage is not
// needed); objects of a class are disjoint extents of its zspages, and an
// object's header is written only while the object is free or being
// allocated; a pinned zspage is never a compaction source
// nor destroyed (a pinned object is allocated, so its zspage is not empty);
// `copy` runs under the class lock.
unsafe impl<B: Backend> Layout<B> for LinuxLayout<B::Page> {
    fn name(&self) -> &'static str {
        "linux"
    }

    fn huge_class_size(&self) -> usize {
        self.size_classes.huge_class_size()
    }

    /// Like Linux's `zs_malloc`: when no zspage of the class has room, a
    /// new one is made outside the class lock (its pages allocated with
    /// interrupts on), then added under the lock. If another CPU made room
    /// meanwhile, the new zspage's pages go back.
    fn allocate(&self, core: &PoolCore<B>, entry: Entry, size: usize) -> Result<(), OutOfPages> {
        let class = self.size_classes.class_for(size);
        let mut spare = None;
        if !self.allocate_in(core, class, entry, size, &mut spare)? {
            let geometry = &self.size_classes.classes()[class];
            spare = Some(NewZspage::make(core, geometry)?);
            let placed = self.allocate_in(core, class, entry, size, &mut spare)?;
            debug_assert!(placed, "a new zspage has room");
        }
        if let Some(unused) = spare {
            unused.release(core);
        }
        Ok(())
    }

    fn free(&self, core: &PoolCore<B>, entry: Entry, size: usize) {
        let atomic = core.enter_atomic();
        let mut state = self.classes[Self::class_of(core, entry)].lock(&atomic);
        let location = Location::decode(core.location(entry));
        state.free(core, location, size);
    }

    fn pin(&self, core: &PoolCore<B>, entry: Entry, length: usize) -> ObjectPages<B::Page> {
        let atomic = core.enter_atomic();
        let mut state = self.classes[Self::class_of(core, entry)].lock(&atomic);
        let location = Location::decode(core.location(entry));
        state.zspages[location.zspage as usize].pins += 1;
        state.payload_pages(location, length)
    }

    fn unpin(&self, core: &PoolCore<B>, entry: Entry) {
        // A pinned object does not move: its location is read once.
        let location = Location::decode(core.location(entry));
        let atomic = core.enter_atomic();
        let mut state = self.classes[location.class as usize].lock(&atomic);
        state.zspages[location.zspage as usize].pins -= 1;
    }

    fn copy(&self, core: &PoolCore<B>, entry: Entry, buffer: PayloadBuffer<'_>) {
        let atomic = core.enter_atomic();
        let state = self.classes[Self::class_of(core, entry)].lock(&atomic);
        let location = Location::decode(core.location(entry));
        let pages = state.payload_pages(location, buffer.len());
        // SAFETY: the class lock is held, so the object neither moves nor
        // loses its pages; the pool has claimed the entry, so nobody else
        // uses these bytes.
        unsafe { pages.copy(core.backend(), buffer) };
    }

    /// Class by class, largest first as Linux does, in bounded steps
    /// ([`LinuxLayout::compact_class_step`]): interrupts are off for one
    /// step at a time, and frees, mallocs and windows run in between.
    fn compact(&self, core: &PoolCore<B>) -> usize {
        let mut pages_freed = 0;
        for class in (0..self.classes.len()).rev() {
            loop {
                let step = self.compact_class_step(core, class);
                pages_freed += step.pages_freed;
                if step.finished {
                    break;
                }
            }
        }
        pages_freed
    }

    /// For automatic compaction: class steps, going down from the class
    /// where the last call stopped, until `max_bytes` of payload moved or
    /// every class said it has nothing to gain (then `done`). A call with
    /// nothing to do takes one short section per class.
    fn compact_step(&self, core: &PoolCore<B>, max_bytes: usize) -> CompactStep {
        let classes = self.classes.len();
        let mut step = CompactStep::default();
        let mut finished_in_a_row = 0;
        while finished_in_a_row < classes {
            if step.bytes_moved >= max_bytes {
                return step;
            }
            let class = self.step_class.load(Ordering::Relaxed) % classes;
            let class_step = self.compact_class_step(core, class);
            step.bytes_moved += class_step.bytes_copied;
            step.pages_freed += class_step.pages_freed;
            if class_step.finished {
                finished_in_a_row += 1;
                self.step_class
                    .store((class + classes - 1) % classes, Ordering::Relaxed);
            } else {
                finished_in_a_row = 0;
            }
        }
        step.done = true;
        step
    }

    /// Exact, as Linux's `zs_can_compact`, summed over the classes.
    fn pages_compactable(&self, core: &PoolCore<B>) -> usize {
        self.classes
            .iter()
            .map(|class| {
                let atomic = core.enter_atomic();
                let pages = class.lock(&atomic).compactable_pages();
                pages
            })
            .sum()
    }

    fn stats(&self, core: &PoolCore<B>) -> LayoutStats {
        let mut metadata_bytes = core::mem::size_of::<Self>() + self.size_classes.metadata_bytes();
        let rows: Vec<ClassStats> = self
            .classes
            .iter()
            .map(|class| {
                let atomic = core.enter_atomic();
                let state = class.lock(&atomic);
                metadata_bytes += state.metadata_bytes();
                state.stats()
            })
            .collect();
        LayoutStats {
            objects_used: rows.iter().map(|row| row.objects_used).sum(),
            payload_bytes: rows.iter().map(|row| row.payload_bytes).sum(),
            freeable: rows.iter().map(|row| row.freeable).sum(),
            metadata_bytes,
            detail: LayoutDetail::Linux(rows),
        }
    }

    fn check(&self, core: &PoolCore<B>) -> Result<(), InvariantError> {
        for class in self.classes.iter() {
            let atomic = core.enter_atomic();
            let state = class.lock(&atomic);
            state.check(core).map_err(|error| {
                let (class, size) = (state.class, state.geometry.size);
                InvariantError::new(alloc::format!(
                    "class {class} (size {size}): {}",
                    error.description
                ))
            })?;
        }
        Ok(())
    }

    fn walk(&self, core: &PoolCore<B>, visitor: &mut dyn PoolVisitor<B::Page>) {
        for class in self.classes.iter() {
            let atomic = core.enter_atomic();
            let state = class.lock(&atomic);
            for zspage in 0..state.zspages.len() as u32 {
                let record = &state.zspages[zspage as usize];
                if !record.live {
                    continue;
                }
                let pages: Vec<B::Page> = state
                    .zspage_pages(zspage)
                    .iter()
                    .flatten()
                    .copied()
                    .collect();
                visitor.zspage(&ZspageView {
                    pages: &pages,
                    pins: record.pins as usize,
                });
                let words = state.first_words(core.backend(), zspage);
                for (object, &word) in words.iter().enumerate() {
                    let object = object as u16;
                    if let Some(entry) = state.owner_from_word(zspage, object, word) {
                        visitor.object(&ObjectView {
                            entry,
                            offset: state.object_offset(object),
                            size: state.geometry.size,
                            length: core.object_size(entry),
                        });
                    }
                }
            }
        }
    }

    fn release_all(&mut self, core: &PoolCore<B>) {
        for class in self.classes.iter_mut() {
            class.get_mut().release_all(core);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_round_trips() {
        let location = Location {
            class: 510,
            zspage: 0x7_beef,
            object: 4095,
        };
        assert_eq!(Location::decode(location.encode()), location);
    }
}
