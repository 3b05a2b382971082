//! Holes: the free extents freed objects leave, on one free list per size
//! class.
//!
//! ```text
//!   holes by size class:  16: -   32: (z3,+96)   48: -  ...  208: (z7,+0) (z2,+416)
//!   non-empty bitmap:     0 1 0 ... 1 ...        one bit per class: finds the next
//!                                                non-empty list in O(1)
//!   malloc(n): extent e = n rounded up; take a hole of the first class whose
//!              every hole fits e, or of up to `reuse_window` larger classes; the
//!              rest of a larger hole becomes a smaller hole if it is at least
//!              64 bytes (4 class spacings), else its bytes are lost until
//!              compaction drains the zspage
//! ```
//!
//! A list grows by a quarter, and gives back most of its room when it
//! empties to a quarter of it (after churn the lists would otherwise keep
//! the room of their busiest moment). A list that empties from its first,
//! smallest room (4 entries) hands that room to a small stock of spares
//! (at most [`SPARE_LISTS`]) that the next empty list to get a hole takes
//! back: under churn lists empty and refill all the time, and each round
//! trip to the heap costs a walk of its free list. Holes are not merged. A hole entry
//! names its zspage and that zspage's *generation* (every zspage born gets
//! a new one): once a zspage dies its entries are stale, and they are
//! dropped when popped, or by a sweep that goes round the lists a few
//! entries per free or malloc while they are more than a quarter of all.

use alloc::vec::Vec;
use thin_vec::ThinVec;

use super::zspage::PackedState;

/// A free extent of a zspage, on the free list of its size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hole {
    pub zspage: u32,
    /// The zspage's generation when the hole was made.
    pub generation: u32,
    pub offset: u32,
    pub length: u32,
}

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    /// Size class of a hole (or extent) of `length >= min_object` bytes.
    pub(crate) fn class_of(&self, length: usize) -> usize {
        ((length - self.min_object) / self.spacing).min(self.holes.len() - 1)
    }

    /// Lower bound on the bytes of a hole of class `class`.
    pub(crate) fn class_size(&self, class: usize) -> usize {
        self.min_object + class * self.spacing
    }

    /// Hole entry still describes free bytes of a live zspage (its record
    /// may even have been given back).
    pub(crate) fn is_valid(&self, hole: &Hole) -> bool {
        self.zspages
            .get(hole.zspage as usize)
            .is_some_and(|record| record.alive && record.generation == hole.generation)
    }

    /// Put `[offset, offset + length)` of `zspage` on its class's free list;
    /// an extent too small for any object is lost until compaction.
    #[inline]
    pub(crate) fn push_hole(&mut self, zspage: u32, offset: usize, length: usize) {
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
        if self.holes[class].capacity() == 0 {
            if let Some(spare) = self.spare_lists.pop() {
                self.holes[class] = spare;
            }
        }
        grow_by_a_quarter(&mut self.holes[class]);
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

    /// Take a hole that fits an extent of `length` bytes, from the first class
    /// whose every hole fits or the next `reuse_window` ones, skipping holes
    /// of `exclude`. Stale entries met on the way are dropped.
    pub(crate) fn take_hole(&mut self, length: usize, exclude: u32) -> Option<Hole> {
        let last = self.holes.len() - 1;
        // The first class all of whose holes fit: the class of `length`
        // itself also holds shorter holes, unless `length` is exactly its
        // lower bound.
        let from = (length - self.min_object).div_ceil(self.spacing).min(last);
        let to = (from + self.reuse_window).min(last);
        loop {
            let class = self.first_non_empty(from, to)?;
            while let Some(hole) = self.holes[class].pop() {
                self.listed_holes -= 1;
                if !self.is_valid(&hole) {
                    self.stale_holes -= 1;
                    continue;
                }
                if (hole.length as usize) < length {
                    // Only in the last class, whose holes may be shorter
                    // than its requests: leave it, and append instead.
                    self.holes[class].push(hole);
                    self.listed_holes += 1;
                    return None;
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
                self.shrink_hole_list(class);
                return Some(hole);
            }
            self.non_empty[class / 64] &= !(1 << (class % 64));
            self.shrink_hole_list(class);
        }
    }

    /// Drop stale hole entries when they are more than a quarter of the
    /// listed ones: [`SWEEP_BATCH`] entries (or lists) at most per call,
    /// going round the lists, so that a sweep never holds the lock long
    /// whatever the pool's size. Called after every free and malloc (the
    /// test is inlined there: most calls have nothing to sweep).
    #[inline]
    pub(crate) fn sweep_some_stale_holes(&mut self) {
        if self.stale_holes * 4 > self.listed_holes {
            self.sweep_stale_batch();
        }
    }

    /// One batch of [`Self::sweep_some_stale_holes`].
    #[inline(never)]
    fn sweep_stale_batch(&mut self) {
        let classes = self.holes.len();
        let mut budget = SWEEP_BATCH;
        while budget > 0 && self.stale_holes > 0 {
            let class = self.sweep_class;
            let mut list = core::mem::take(&mut self.holes[class]);
            let mut index = self.sweep_index.min(list.len());
            while index < list.len() && budget > 0 {
                budget -= 1;
                if self.is_valid(&list[index]) {
                    index += 1;
                } else {
                    list.swap_remove(index);
                    self.listed_holes -= 1;
                    self.stale_holes -= 1;
                }
            }
            if index < list.len() {
                self.sweep_index = index;
            } else {
                // This list is done: on to the next one (each list visited
                // costs one entry of the budget, so empty ones end a sweep too).
                budget = budget.saturating_sub(1);
                if list.is_empty() {
                    self.non_empty[class / 64] &= !(1 << (class % 64));
                }
                self.sweep_class = (class + 1) % classes;
                self.sweep_index = 0;
            }
            self.holes[class] = list;
            self.shrink_hole_list(class);
        }
    }
}

impl<P> PackedState<P> {
    /// Give back room of the hole list of `class` if it is sparse (see
    /// [`shrink_if_sparse`]); an emptied list's smallest room goes to the
    /// spares instead while they are fewer than [`SPARE_LISTS`].
    fn shrink_hole_list(&mut self, class: usize) {
        let list = &mut self.holes[class];
        if list.is_empty()
            && list.capacity() == SMALLEST_LIST
            && self.spare_lists.len() < SPARE_LISTS
        {
            self.spare_lists.push(core::mem::take(list));
        } else {
            shrink_if_sparse(list);
        }
    }
}

/// Room a list is first given (the least [`grow_by_a_quarter`] adds).
const SMALLEST_LIST: usize = 4;
/// Emptied hole-list rooms kept for the next list that needs one (256
/// bytes of metadata at most).
pub(crate) const SPARE_LISTS: usize = 4;

/// Hole entries (or lists) a sweep looks at per call.
const SWEEP_BATCH: usize = 64;

/// Give back half the room of a list that uses less than a quarter of it
/// (amortised O(1): a list shrunk to twice its length must grow or shrink
/// by that length again before the next reallocation).
/// An empty list gives back all its room.
#[inline]
pub(crate) fn shrink_if_sparse<L: List>(list: &mut L) {
    // One test on the common path (a list at least a quarter full).
    if list.len() * 4 < list.capacity() {
        shrink_sparse(list);
    }
}

#[inline(never)]
fn shrink_sparse<L: List>(list: &mut L) {
    if list.len() == 0 {
        list.give_back_room(0);
    } else if list.capacity() > 8 {
        list.give_back_room(list.len() * 2);
    }
}

/// Make room for one more element in a full list by growing it a quarter
/// (not doubling, as `push` would): metadata stays within a quarter of
/// what it needs, still in amortised O(1).
pub(crate) fn grow_by_a_quarter<L: List>(list: &mut L) {
    if list.len() == list.capacity() {
        list.make_room(list.len() / 4 + SMALLEST_LIST);
    }
}

/// The lists whose room the layout manages itself: the zspage table
/// (`Vec`), and the many small lists, which are `ThinVec`s: one pointer
/// where a `Vec` takes three words, its length and capacity in a 16-byte
/// header of its heap block, and an empty one allocates nothing. (With
/// 511 hole classes and a record per zspage holding two lists, that is
/// 12 KiB less metadata on the project corpus.)
pub(crate) trait List {
    fn len(&self) -> usize;
    fn capacity(&self) -> usize;
    /// Room for `additional` more elements, exactly.
    fn make_room(&mut self, additional: usize);
    /// Keep room for `capacity` elements (at least the length); none if 0.
    fn give_back_room(&mut self, capacity: usize);
    /// Heap bytes the list holds.
    fn heap_bytes(&self) -> usize;
}

impl<T> List for Vec<T> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn capacity(&self) -> usize {
        Vec::capacity(self)
    }
    fn make_room(&mut self, additional: usize) {
        self.reserve_exact(additional);
    }
    fn give_back_room(&mut self, capacity: usize) {
        if capacity == 0 && self.is_empty() {
            *self = Vec::new();
        } else {
            self.shrink_to(capacity);
        }
    }
    fn heap_bytes(&self) -> usize {
        Vec::capacity(self) * size_of::<T>()
    }
}

impl<T> List for ThinVec<T> {
    fn len(&self) -> usize {
        ThinVec::len(self)
    }
    fn capacity(&self) -> usize {
        ThinVec::capacity(self)
    }
    fn make_room(&mut self, additional: usize) {
        self.reserve_exact(additional);
    }
    fn give_back_room(&mut self, capacity: usize) {
        let capacity = capacity.max(ThinVec::len(self));
        if capacity < ThinVec::capacity(self) {
            // ThinVec cannot shrink to a given size: move the elements to a
            // smaller list (a reallocation, as `Vec::shrink_to` would do).
            let mut smaller = ThinVec::with_capacity(capacity);
            smaller.extend(self.drain(..));
            *self = smaller;
        }
    }
    fn heap_bytes(&self) -> usize {
        // Nothing while empty (it points at a shared static header).
        match ThinVec::capacity(self) {
            0 => 0,
            capacity => THIN_HEADER_BYTES + capacity * size_of::<T>(),
        }
    }
}

/// A `ThinVec`'s header in its heap block: length and capacity.
const THIN_HEADER_BYTES: usize = 2 * size_of::<usize>();
