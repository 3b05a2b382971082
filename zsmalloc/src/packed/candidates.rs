//! Compaction's candidates: which zspages it drains, and in what order.
//!
//! ```text
//!   scan        every record, 32 per lock section: closed, unpinned,
//!               not draining, with at least `min free` bytes free
//!               (pages held × 4096 − live bytes); sorted outside any
//!               section, sparsest (live / held) last, to be popped first
//!
//!                        min free            worth draining when popped
//!   a step               a page              its objects appended at the open
//!   (`compact_step`)                         zspage would take fewer pages than
//!                                            it holds
//!   a full pass          1/8 page            that, or: its free bytes + those
//!   (`compact`)                              of the candidates left + the open
//!                                            zspage's unused tail >= a page
//! ```
//!
//! **Why the full pass counts bytes.** A zspage a few hundred bytes short
//! of full gives back no page by itself. But the free bytes of a drained
//! zspage leave the pool with its pages, while its objects go into holes
//! of other zspages or at the open zspage's fill pointer, whose last page
//! takes them until it is full: after draining zspages with `f₁ + f₂ + …`
//! free bytes, the pool holds about
//!
//! ```text
//!   ⌊(open zspage's unused tail + f₁ + f₂ + …) / 4096⌋   pages fewer
//! ```
//!
//! (more if the moved objects fill holes of other zspages, less if the
//! open zspage fills up and leaves the end of its last page unused). So
//! the fractions add up, and a
//! candidate is worth draining while it and the candidates after it, with
//! the open tail, still make a page; once what is left cannot, the pass
//! stops. The candidates' free bytes are those of the scan (moved objects
//! may have filled some holes since): the sum is an upper bound, and each
//! candidate is judged on its own free bytes when its turn comes. Why an
//! eighth of a page, and what it costs: [`super::compact`].

use alloc::vec::Vec;

use super::zspage::{PackedState, NONE};
use crate::backend::{Backend, PAGE_SIZE};
use crate::layout::PoolCore;
use crate::sync::SpinLock;

/// Records examined per lock section by a scan for candidates.
const SCAN_RECORDS: usize = 32;
/// Least free bytes of a candidate in a full pass (`compact`); a step
/// alone wants a page.
pub(crate) const FULL_PASS_MIN_FREE: usize = PAGE_SIZE / 8;

/// A zspage found by a scan, worth a look when its turn comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub zspage: u32,
    /// Its generation when found.
    pub generation: u32,
    /// Its free bytes when found (pages held × 4096 − live bytes).
    pub free: u32,
}

/// Refresh the candidate list: scan the records, a batch per lock
/// section, and sort outside.
pub(crate) fn scan<B: Backend>(state: &SpinLock<PackedState<B::Page>>, core: &PoolCore<B>) {
    let mut found: Vec<(usize, Candidate)> = Vec::new();
    let mut next = 0;
    loop {
        // Room for a batch, taken with interrupts on.
        found.reserve(SCAN_RECORDS);
        let atomic = core.enter_atomic();
        let mut state = state.lock(&atomic);
        if next == 0 {
            state.compaction.rescan = false;
            state.compaction.freed_since_scan = 0;
        }
        let end = (next + SCAN_RECORDS).min(state.zspages.len());
        for zspage in next as u32..end as u32 {
            if let Some((fill, free)) = state.candidate_fill(zspage) {
                let generation = state.zspages[zspage as usize].generation;
                found.push((
                    fill,
                    Candidate {
                        zspage,
                        generation,
                        free: free as u32,
                    },
                ));
            }
        }
        next = end;
        if end == state.zspages.len() {
            break;
        }
    }
    // The sparsest last: the next to be taken.
    found.sort_unstable_by_key(|(fill, found)| core::cmp::Reverse((*fill, found.zspage)));
    let pending_free = found.iter().map(|(_, found)| found.free as usize).sum();
    let mut candidates: Vec<Candidate> = found.into_iter().map(|(_, found)| found).collect();
    {
        let atomic = core.enter_atomic();
        let mut state = state.lock(&atomic);
        core::mem::swap(&mut state.compaction.candidates, &mut candidates);
        state.compaction.pending_free = pending_free;
    }
    // The old list (used up) is dropped here, with interrupts on.
    drop(candidates);
}

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    /// A closed, unpinned zspage with at least a page of free bytes (or
    /// [`FULL_PASS_MIN_FREE`] in a full pass): its fill (live / held, as a
    /// fraction of 2^16) and its free bytes, or `None`.
    pub(crate) fn candidate_fill(&self, zspage: u32) -> Option<(usize, usize)> {
        let record = &self.zspages[zspage as usize];
        let held = record.pages.len() * PAGE_SIZE;
        let free = held - record.live_bytes;
        let min_free = if self.compaction.full_passes > 0 {
            FULL_PASS_MIN_FREE
        } else {
            PAGE_SIZE
        };
        let fits = record.alive
            && !record.draining
            && record.pins == 0
            && zspage != self.open
            && free >= min_free;
        fits.then(|| ((record.live_bytes << 16) / held, free))
    }

    /// `zspage` is still the closed, unpinned zspage of `generation` it was
    /// when found, and draining it pays: its live bytes appended at the
    /// open zspage would take fewer pages than it holds (holes can only
    /// lower that). It may have less than a page free by now (moved objects
    /// filled its holes): draining it still packs its objects tighter. In a
    /// full pass it also pays if its free bytes, those of the candidates
    /// left and the open zspage's unused tail add up to a page: draining
    /// them all gives back at least one.
    pub(crate) fn still_candidate(&self, zspage: u32, generation: u32) -> bool {
        let Some(record) = self.zspages.get(zspage as usize) else {
            return false;
        };
        let free = record.pages.len() * PAGE_SIZE - record.live_bytes;
        record.generation == generation
            && record.alive
            && !record.draining
            && record.pins == 0
            && zspage != self.open
            && (self.pages_to_append(record.live_bytes) < record.pages.len()
                || (self.compaction.full_passes > 0
                    && free >= FULL_PASS_MIN_FREE
                    && free + self.compaction.pending_free + self.open_tail() >= PAGE_SIZE))
    }

    /// Bytes of the open zspage's pages past its fill pointer: what
    /// objects appended there take before a page is added.
    fn open_tail(&self) -> usize {
        match self.open {
            NONE => 0,
            open => {
                let record = &self.zspages[open as usize];
                record.pages.len() * PAGE_SIZE - record.end
            }
        }
    }

    /// Pages that appending `bytes` at the open zspage would add, about
    /// (as one extent: objects cut the open zspage's end a little earlier).
    fn pages_to_append(&self, bytes: usize) -> usize {
        let end = match self.open {
            NONE => self.capacity,
            open => self.zspages[open as usize].end,
        };
        if end + bytes <= self.capacity {
            (end + bytes).div_ceil(PAGE_SIZE) - end.div_ceil(PAGE_SIZE)
        } else {
            // The rest of the open zspage, then new ones.
            let first = self.capacity.div_ceil(PAGE_SIZE) - end.div_ceil(PAGE_SIZE);
            first + (bytes - (self.capacity - end)).div_ceil(PAGE_SIZE)
        }
    }
}
