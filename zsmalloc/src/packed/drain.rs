//! Draining a zspage: compaction's moves, one object per lock section,
//! from the highest offset down, giving back each tail page as soon as no
//! live object reaches into it.
//!
//! ```text
//!   source (draining: its holes are unlisted, so no malloc lands in it)
//!     page 0       page 1       page 2       page 3
//!   [o0 |  o1  ][~~o1| ..... ][....  o2  ][ o3 | .... ]     plan: o0 o1 o2 o3
//!                                                                         ^ next
//!   move o3 (into a hole, or at the open zspage)  -> page 3 holds nothing: given back
//!   move o2                                        -> page 2 given back
//!   move o1, o0                                    -> the zspage is empty: it dies
//! ```
//!
//! The *plan* is a copy of the source's live list, sorted by offset, taken
//! when draining starts; as nothing new lands in a draining zspage, every
//! object still in it is on the plan. Each move first checks, under the
//! lock, that the plan's entry is still that object (it may have been
//! freed), that the source is still the same zspage (it dies with its last
//! object, and its record may be reused: its generation then differs) and
//! that no window pins it. A pinned source, or one whose next object finds
//! no room, stops draining: the gaps between its objects are listed as
//! holes again ([`PackedState::undrain_chunk`]).
//!
//! Tail pages given back go to the compaction reserve (up to
//! [`RESERVE_PAGES`]), where the next move that needs a page finds them:
//! draining frees a page before it needs one.

use super::candidates::Candidate;
use super::compact::{LiveObject, RESERVE_PAGES};
use super::zspage::{PackedState, NONE};
use super::Location;
use crate::backend::{Backend, PAGE_SIZE};
use crate::handle_table::Entry;
use crate::layout::{CompactStep, PoolCore};
use crate::pages::copy_between;

/// Plan entries or candidates examined per lock section when skipping.
const SKIP_BATCH: usize = 32;
/// Plan entries re-listed per lock section when draining stops.
const UNDRAIN_BATCH: usize = 64;

/// What compaction must do next, outside the lock ([`super::compact`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Progress was made (or skipped entries dropped): ask again.
    Continue,
    /// Nothing to do until objects are freed or windows closed.
    Idle,
    /// The candidate list is exhausted and the pool changed: refresh it.
    Scan,
    /// Start draining `zspage` (of `generation`, holding `objects` live
    /// objects): copy its live list into a plan of that capacity.
    Snapshot {
        zspage: u32,
        generation: u32,
        objects: usize,
    },
    /// The next move needs a page and the reserve is empty.
    NeedPage,
    /// The step has used its budget (bytes, or lock sections), and the
    /// source owes no page.
    Spent,
    /// The source must stop draining (a window pins it).
    Abandon,
}

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    /// The location of the plan entry `object` if it is still a live object
    /// of `zspage`.
    fn live_location<B: Backend<Page = P>>(
        &self,
        core: &PoolCore<B>,
        zspage: u32,
        object: LiveObject,
    ) -> Option<Location> {
        let location = Location::decode(core.location(Entry::from_index(object.owner)));
        let record = &self.zspages[zspage as usize];
        let live = location.zspage == zspage
            && record.live.get(location.index as usize) == Some(&object.owner)
            && location.offset() == object.offset as usize;
        live.then_some(location)
    }

    /// Stop draining `zspage` from now on: its hole entries become stale (a
    /// new generation), so nothing new is placed in it. Returns the new
    /// generation.
    pub(crate) fn start_draining(&mut self, zspage: u32) -> u32 {
        let generation = self.births;
        self.births = self.births.wrapping_add(1);
        let record = &mut self.zspages[zspage as usize];
        record.generation = generation;
        record.draining = true;
        self.stale_holes += record.holes;
        record.holes = 0;
        record.hole_bytes = 0;
        record.generation
    }

    /// Forget the source and its plan.
    fn drop_source(&mut self) {
        self.compaction.source = NONE;
        self.compaction.plan.clear();
    }

    /// Give back the pages of `zspage` that `[0, boundary)` does not touch
    /// (to the reserve while it has room). Returns how many.
    fn trim<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        zspage: u32,
        boundary: usize,
    ) -> usize {
        let keep = boundary.div_ceil(PAGE_SIZE);
        let record = &mut self.zspages[zspage as usize];
        let freed = record.pages.len().saturating_sub(keep);
        for page in record.pages.drain(keep.min(record.pages.len())..) {
            if self.reserve.len() < RESERVE_PAGES {
                self.reserve.push(page);
            } else {
                // SAFETY: no live object of the zspage reaches past
                // `boundary`, the zspage is unpinned and lists no holes (it
                // is draining): nothing references the page any more.
                unsafe { core.free_page(page) };
            }
        }
        if freed > 0 {
            record.end = keep * PAGE_SIZE;
            self.pages -= freed;
            self.compaction.given += freed;
        }
        freed
    }

    /// The source's moves took more pages than its draining gave back.
    pub(crate) fn in_debt(&self) -> bool {
        self.compaction.source != NONE && self.compaction.taken > self.compaction.given
    }

    /// One lock section of compaction: pick a source, or move the source's
    /// highest object (see the module documentation). The step's budget
    /// (`max_bytes`, and `sections_left`) stops it only where the source
    /// owes no page (so a step may move up to a few pages more): then a
    /// step that ends, or a backend that has no page, leaves the pool no
    /// larger than it was. Adds what it did to `step`.
    pub(crate) fn advance<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        step: &mut CompactStep,
        max_bytes: usize,
        sections_left: usize,
    ) -> Action {
        let spent = step.bytes_moved >= max_bytes || sections_left == 0;
        if spent && !self.in_debt() {
            return Action::Spent;
        }
        let source = self.compaction.source;
        if source == NONE {
            return self.next_source();
        }
        // Its last objects were freed: it died (its record may be gone, or
        // live again).
        let Some(record) = self
            .zspages
            .get(source as usize)
            .filter(|record| record.alive && record.generation == self.compaction.generation)
        else {
            self.drop_source();
            return Action::Continue;
        };
        if record.pins > 0 {
            return Action::Abandon;
        }
        let mut skipped = 0;
        let (object, location) = loop {
            let Some(&object) = self.compaction.plan.last() else {
                // Unreachable while the plan holds every object of the
                // source (an emptied source dies); should it not, stop
                // draining without listing or giving back anything.
                self.zspages[source as usize].draining = false;
                self.drop_source();
                return Action::Continue;
            };
            if let Some(location) = self.live_location(core, source, object) {
                break (object, location);
            }
            self.compaction.plan.pop();
            skipped += 1;
            if skipped == SKIP_BATCH {
                return Action::Continue;
            }
        };
        let owner = Entry::from_index(object.owner);
        let length = core.object_size(owner);
        let extent = self.extent(length);
        if step.bytes_moved > 0 && step.bytes_moved + extent > max_bytes && !self.in_debt() {
            return Action::Spent;
        }
        let from = object.offset as usize;
        step.pages_freed += self.trim(core, source, from + extent);
        let Ok((target, offset, added)) = self.place(core, extent, source, false) else {
            return Action::NeedPage;
        };
        // SAFETY: both zspages are live and belong to this layout, whose
        // lock the caller holds; the source is not pinned, and the target
        // extent was free (a hole or past the fill pointer) until now.
        unsafe {
            copy_between(
                core.backend(),
                |byte| self.position(source, from + byte),
                |byte| self.position(target, offset + byte),
                length,
            )
        };
        self.remove_object(core, location, extent);
        let moved = self.add_object(target, offset, extent, owner);
        core.set_location(owner, moved.encode());
        self.compaction.plan.pop();
        step.bytes_moved += extent;
        self.compaction.bytes_moved += extent;
        step.pages_added += added;
        self.compaction.taken += added;
        if self.zspages[source as usize].live.is_empty() {
            step.pages_freed += self.destroy_zspage(core, source);
            self.drop_source();
        }
        Action::Continue
    }

    /// The next candidate worth draining, or what to do instead.
    fn next_source(&mut self) -> Action {
        for _ in 0..SKIP_BATCH {
            let Some(Candidate {
                zspage,
                generation,
                free,
            }) = self.compaction.candidates.pop()
            else {
                let compaction = &self.compaction;
                return if compaction.rescan || compaction.freed_since_scan >= PAGE_SIZE {
                    Action::Scan
                } else {
                    Action::Idle
                };
            };
            self.compaction.pending_free =
                self.compaction.pending_free.saturating_sub(free as usize);
            if self.still_candidate(zspage, generation) {
                return Action::Snapshot {
                    zspage,
                    generation,
                    objects: self.zspages[zspage as usize].live.len(),
                };
            }
        }
        Action::Continue
    }

    /// One lock section of stopping the source's draining: list the gaps
    /// between the objects of up to [`UNDRAIN_BATCH`] plan entries (from
    /// `*index`, in offset order; `*covered` is where the last object
    /// listed ends) as holes; at the end give back the pages past the last
    /// object and let malloc use the zspage again. Returns true when done.
    pub(crate) fn undrain_chunk<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        covered: &mut usize,
        index: &mut usize,
        step: &mut CompactStep,
    ) -> bool {
        let source = self.compaction.source;
        if source == NONE {
            return true;
        }
        let alive = self
            .zspages
            .get(source as usize)
            .is_some_and(|record| record.alive && record.generation == self.compaction.generation);
        if !alive {
            self.drop_source();
            return true;
        }
        let stop = (*index + UNDRAIN_BATCH).min(self.compaction.plan.len());
        for position in *index..stop {
            let object = self.compaction.plan[position];
            if self.live_location(core, source, object).is_some() {
                let offset = object.offset as usize;
                self.push_hole(source, *covered, offset - *covered);
                let length = core.object_size(Entry::from_index(object.owner));
                *covered = offset + self.extent(length);
            }
        }
        *index = stop;
        if stop < self.compaction.plan.len() {
            return false;
        }
        // Past the last object: whole pages go back (a pinned zspage
        // keeps them: pages are never freed under a window).
        if self.zspages[source as usize].pins == 0 {
            step.pages_freed += self.trim(core, source, *covered);
        }
        let end = self.zspages[source as usize].end;
        self.push_hole(source, *covered, end - *covered);
        self.zspages[source as usize].draining = false;
        self.drop_source();
        true
    }
}
