//! Compaction of the packed layout: evacuate the sparsest closed zspages.
//!
//! ```text
//!   candidates: closed, unpinned zspages with at least a page of free bytes,
//!               sparsest (live bytes / bytes of pages held) first
//!   for each:   would its objects fit elsewhere (holes, the open zspage) in
//!               fewer pages than it holds? then reserve those pages, move
//!               every object (handles stay valid: only their entries change),
//!               and free the zspage
//! ```
//!
//! Pinned zspages (an object is mapped) are skipped. Unlike Linux's, this
//! compaction allocates: moved objects may go to the open zspage, which may
//! need pages. It takes all the pages an evacuation could need *before*
//! moving anything and gives back the unused ones, so a backend out of
//! pages stops compaction cleanly. The lock is taken once per evacuated
//! zspage, each time in a new atomic section.

use alloc::vec::Vec;

use super::zspage::{PackedState, NONE};
use super::Location;
use crate::backend::{Backend, OutOfPages, PAGE_SIZE};
use crate::handle_table::Entry;
use crate::layout::PoolCore;
use crate::pages::copy_between;
use crate::sync::SpinLock;

/// Compact the layout whose state `state` guards. Returns the pages given
/// back, net of the pages the moved objects needed.
pub(crate) fn compact<B: Backend>(
    state: &SpinLock<PackedState<B::Page>>,
    core: &PoolCore<B>,
) -> usize {
    let candidates = {
        let atomic = core.enter_atomic();
        let candidates = state.lock(&atomic).compaction_candidates();
        candidates
    };
    let mut freed_total = 0;
    let mut added_total = 0;
    for (zspage, generation) in candidates {
        let atomic = core.enter_atomic();
        let mut state = state.lock(&atomic);
        let record = &state.zspages[zspage as usize];
        let still_candidate = record.alive
            && record.generation == generation
            && record.pins == 0
            && zspage != state.open;
        if !still_candidate {
            continue;
        }
        let (freed, added) = state.evacuate(core, zspage);
        freed_total += freed;
        added_total += added;
        if freed == 0 && added > 0 {
            // The backend ran out of pages: stop here.
            break;
        }
    }
    freed_total.saturating_sub(added_total)
}

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    /// `pages held - ceil(live bytes / PAGE_SIZE)`: an upper bound on what
    /// compaction can give back.
    pub(crate) fn compactable_pages(&self) -> usize {
        self.pages - self.live_bytes.div_ceil(PAGE_SIZE)
    }

    /// Closed, unpinned zspages worth evacuating, sparsest first, with their
    /// generations (to notice a zspage that died and was reborn meanwhile).
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
        core: &PoolCore<B>,
        source: u32,
    ) -> (usize, usize) {
        let record = &self.zspages[source as usize];
        let extents = record
            .live
            .iter()
            .map(|&owner| self.extent(core.object_size(Entry::from_index(owner))));
        let needed = self.pages_to_append(extents);
        if needed >= record.pages.len() {
            return (0, 0);
        }
        // Take every page the move may need first: if there is none, nothing
        // has moved yet.
        for _ in 0..needed {
            match core.alloc_page() {
                Ok(page) => self.reserve.push(page),
                Err(OutOfPages) => {
                    self.release_reserve(core);
                    return (0, 0);
                }
            }
        }
        let mut added = 0;
        while let Some(&owner) = self.zspages[source as usize].live.last() {
            let owner = Entry::from_index(owner);
            let length = core.object_size(owner);
            let extent = self.extent(length);
            let Ok((target, offset, new_pages)) = self.place(core, extent, source) else {
                self.release_reserve(core);
                return (0, added);
            };
            added += new_pages;
            let old = Location::decode(core.location(owner));
            let from = old.unit as usize * self.spacing;
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
            self.remove_object(core, old, extent);
            let location = self.add_object(target, offset, extent, owner);
            core.set_location(owner, location.encode());
        }
        self.release_reserve(core);
        (self.destroy_zspage(core, source), added)
    }

    /// Give back the reserved pages an evacuation did not use.
    fn release_reserve<B: Backend<Page = P>>(&mut self, core: &PoolCore<B>) {
        for page in self.reserve.drain(..) {
            // SAFETY: reserved pages were allocated for the pool, never
            // mapped, and are dropped from our hands.
            unsafe { core.free_page(page) };
        }
    }
}
