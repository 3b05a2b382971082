//! Compaction of the packed layout: drain the sparsest closed zspages, in
//! steps of short atomic sections.
//!
//! ```text
//!   candidates  closed, unpinned zspages with at least a page of free bytes
//!               (an eighth of a page in a full pass, below), found by a scan
//!               of the records (32 per lock section), sorted outside any
//!               section, sparsest first; kept between steps and scanned
//!               again only when used up and a page's worth of objects was
//!               freed (or a window closed) since the last scan, or for
//!               `compact`: a step with nothing to do costs two short lock
//!               sections
//!   source      the next candidate still worth draining (its objects would
//!               take fewer pages at the open zspage than it holds, or, in a
//!               full pass, its free bytes help make up a page, below), see
//!               [`super::drain`]: its live list copied into a plan in one
//!               section, sorted outside
//!   a move      one lock section: the source's highest object goes into a
//!               hole of another zspage, or at the open zspage (a page from
//!               the reserve if it needs one); the source's tail pages that
//!               no live object reaches any more are given back
//!   a step      moves until `max_bytes` have moved or nothing is left to do
//!               (`compact` = steps until done)
//!
//!   one step, in time:   [scan][scan] [snapshot] [move][move]   [move][move]
//!                        |lock|  lock released in between  |alloc_page|
//! ```
//!
//! Each lock section runs inside an atomic section of its own (interrupts
//! off on the kernel): it moves at most one object (at most a page of
//! bytes), examines at most 32 records or plan entries (64 when draining
//! stops) or copies one zspage's live list (8 bytes an object), and
//! neither allocates a page nor asks the heap for more room for
//! compaction's own lists (the plan and the candidate list are built
//! outside, then swapped in; the bookkeeping of the moves themselves, a
//! zspage's live list and the hole lists, may grow as in `malloc`). When
//! a move needs a page and the reserve is empty, the section ends, pages
//! are taken from the backend with interrupts on, and the move is
//! retried; pages left in the reserve go back at the end of the step.
//!
//! **Under a page limit.** Draining from the highest offset down gives
//! back each tail page of the source as soon as no live object reaches
//! into it, into the reserve, where the next move finds it: a sparse
//! zspage shrinks before compaction needs a new page. A source *owes*
//! pages while its moves took more than its draining gave back. It owes
//! at most [`FLOAT_PAGES`], so when it owes none and needs a page, that
//! many are taken at once, or none: if the backend has not got them, the
//! source stops draining (its gaps become holes again, its empty tail
//! pages go back) and the step reports done. A step also ends only where
//! its source owes nothing. So nothing is lost, and the pool is never
//! larger after a step than before it (unless another CPU maps an object
//! of the source in the middle of the step: draining stops at once, and
//! what it owes, at most [`FLOAT_PAGES`], stays with the pool).
//!
//! A source left half-drained by a last step keeps its objects where they
//! are and lists no holes until later steps finish it.
//!
//! **Full pass.** Steps alone (all that automatic compaction runs) drain a
//! zspage only if it gives back a page by itself, and leave nearly full
//! zspages, each with a few hundred bytes of holes and of leftovers too
//! small to list: on the project corpus after churn, 30 KiB over some 60
//! zspages. `compact` also drains zspages with [`FULL_PASS_MIN_FREE`]
//! free bytes, sparsest first, while their free bytes add up to a page
//! ([`super::candidates`]). The price: a zspage of `p` pages with `f` free
//! bytes moves `p × 4096 − f` bytes to give back `f`, 127 times as many
//! at an eighth of a 16-page zspage. Measured on the host (the project
//! corpus's LZ4 objects stored, then churned as the demo does, with
//! automatic compaction; `compact`'s bytes moved, and the pool's pages
//! after it: at least ⌈live bytes / 4096⌉ = 976) and in the demo
//! (`./run-qemu.sh --icount`, compact phase: at least 968):
//!
//! ```text
//!   least free           host: moved  pages   demo: moved  pages    cycles  with metadata
//!   a page (steps alone)       148 KB   983         102 KB   978     147 k      0.9645
//!   1/2 page                   148 KB   983              -     -         -           -
//!   1/4 page                   534 KB   981         740 KB   973   1,062 k      0.9695
//!   1/8 page (chosen)          1.7 MB   978         1.9 MB   971   2,640 k      0.9717
//!   1/16 page                  2.3 MB   977         2.4 MB   970   3,241 k      0.9725
//! ```
//!
//! Other page sets on the host, the same way (pages after `compact`, and
//! its bytes moved):
//!
//! ```text
//!   least free      program binaries     text                corpus 18 times
//!   a page          2,670   177 KB       4,346   352 KB      17,471   1.4 MB
//!   1/4 page        2,668   306 KB       4,342   848 KB      17,462   2.6 MB
//!   1/8 page        2,666   1.4 MB       4,339   1.4 MB      17,448   7.8 MB
//!   1/16 page       2,664   3.8 MB       4,339   2.7 MB      17,431    22 MB
//!   at least        2,659                4,331               17,409
//! ```
//!
//! An eighth is the knee: it gives back about twice the pages a quarter
//! does, while a sixteenth moves 1.3 to 2.9 times the bytes again for at
//! most one page in a thousand more. The 1.7 MB moved on the host took
//! 0.5 to 1.3 ms, in a pass that is asked for. (These tables were measured
//! while objects were still rounded to 16 bytes; with 8-byte placement
//! and hole classes 8 bytes apart, the demo's compact phase ends at 968
//! pages, 0.976 counting metadata, in 1.28 million cycles.) Each move is still one
//! object in one lock section, a mapped zspage is still never a source,
//! and the page-limit rule above holds for any source.
//!
//! **Exclusion.** One compaction at a time (as Linux's
//! `compaction_in_progress`): a step that finds another under way returns
//! at once, reporting done.
//!
//! [`FULL_PASS_MIN_FREE`]: super::candidates::FULL_PASS_MIN_FREE

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use super::candidates::{scan, Candidate};
use super::drain::Action;
use super::zspage::{PackedState, NONE};
use super::Location;
use crate::backend::{Backend, PAGE_SIZE};
use crate::config::MAX_CHAIN_LENGTH;
use crate::handle_table::Entry;
use crate::layout::{CompactStep, PoolCore};
use crate::sync::SpinLock;

/// Most pages compaction keeps at hand between its lock sections: a
/// zspage's worth of tail pages, and one more.
pub(crate) const RESERVE_PAGES: usize = MAX_CHAIN_LENGTH + 1;
/// Pages a draining source may need beyond those its tail gives back: the
/// moved objects fill pages of the open zspage while the object that holds
/// the source's top page has not moved yet (two), and the open zspage may
/// fill up and leave the rest of its last page unused (one).
const FLOAT_PAGES: usize = 3;
/// Lock sections a step runs at most, besides those that move objects
/// while its source owes pages (a step that moved nothing yet may have
/// skipped, scanned or snapshotted that many times).
const STEP_SECTIONS: usize = 256;
/// Bytes `compact` asks of each step.
const COMPACT_STEP_BYTES: usize = 16 * PAGE_SIZE;

/// An object of the zspage being drained, as compaction's plan lists it:
/// where it was when draining started, and its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LiveObject {
    /// Byte offset in the zspage.
    pub offset: u32,
    /// Index of its owner's handle-table entry.
    pub owner: u32,
}

/// What compaction remembers between its steps.
#[derive(Debug)]
pub(crate) struct Compaction {
    /// The candidates left, sparsest last.
    pub candidates: Vec<Candidate>,
    /// The sum of their `free` (what draining them all could give back).
    pub pending_free: usize,
    /// Full passes (`compact`) under way: while there is one, zspages with
    /// an eighth of a page free are candidates too (see
    /// [`super::candidates`]).
    pub full_passes: u32,
    /// Bytes moved since the pool was created.
    pub bytes_moved: usize,
    /// The zspage being drained, or `NONE`, and its generation.
    pub source: u32,
    pub generation: u32,
    /// The source's objects when draining started, by offset (the next to
    /// move last).
    pub plan: Vec<LiveObject>,
    /// Pages the source's moves took, and pages its draining gave back.
    pub taken: usize,
    pub given: usize,
    /// Bytes freed since the last scan: a step scans again (when its list
    /// is used up) only once a page's worth was freed ...
    pub freed_since_scan: usize,
    /// ... or a window closed, or `compact` asks for a full pass.
    pub rescan: bool,
}

impl Compaction {
    pub(crate) fn new() -> Self {
        Compaction {
            candidates: Vec::new(),
            pending_free: 0,
            full_passes: 0,
            bytes_moved: 0,
            source: NONE,
            generation: 0,
            plan: Vec::new(),
            taken: 0,
            given: 0,
            freed_since_scan: 0,
            rescan: false,
        }
    }
}

/// Compact until nothing is left worth doing. Returns the pages given
/// back, net of the pages the moved objects needed.
pub(crate) fn compact<B: Backend>(
    state: &SpinLock<PackedState<B::Page>>,
    running: &AtomicBool,
    core: &PoolCore<B>,
) -> usize {
    {
        // A full pass: the records are scanned again once the candidate
        // list is used up, however little was freed since the last scan,
        // and zspages with less than a page free are drained too.
        let atomic = core.enter_atomic();
        let mut state = state.lock(&atomic);
        state.compaction.rescan = true;
        state.compaction.full_passes += 1;
    }
    let (mut freed, mut added) = (0, 0);
    loop {
        let step = step(state, running, core, COMPACT_STEP_BYTES);
        freed += step.pages_freed;
        added += step.pages_added;
        if step.done {
            break;
        }
    }
    let atomic = core.enter_atomic();
    state.lock(&atomic).compaction.full_passes -= 1;
    freed.saturating_sub(added)
}

/// One step: move at most about `max_bytes` of objects (see the module
/// documentation).
pub(crate) fn step<B: Backend>(
    state: &SpinLock<PackedState<B::Page>>,
    running: &AtomicBool,
    core: &PoolCore<B>,
    max_bytes: usize,
) -> CompactStep {
    let mut step = CompactStep::default();
    if running.swap(true, Ordering::Acquire) {
        step.done = true;
        return step;
    }
    let mut sections_left = STEP_SECTIONS;
    loop {
        sections_left = sections_left.saturating_sub(1);
        let action = {
            let atomic = core.enter_atomic();
            let action = state
                .lock(&atomic)
                .advance(core, &mut step, max_bytes, sections_left);
            action
        };
        match action {
            Action::Continue => {}
            Action::Spent => break,
            Action::Idle => {
                step.done = true;
                break;
            }
            Action::Scan => scan(state, core),
            Action::Snapshot {
                zspage,
                generation,
                objects,
            } => snapshot(state, core, zspage, generation, objects),
            Action::NeedPage => {
                if !take_pages(state, core) {
                    abandon(state, core, &mut step);
                    step.done = true;
                    break;
                }
            }
            Action::Abandon => abandon(state, core, &mut step),
        }
    }
    release_reserve(state, core);
    if step.done {
        release_used_up_lists(state, core);
    }
    running.store(false, Ordering::Release);
    step
}

/// Make `zspage` the source: copy its live list (into room of `objects`
/// entries taken beforehand), stop malloc from using it, sort the copy
/// outside and install it as the plan.
fn snapshot<B: Backend>(
    state: &SpinLock<PackedState<B::Page>>,
    core: &PoolCore<B>,
    zspage: u32,
    generation: u32,
    objects: usize,
) {
    let mut plan: Vec<LiveObject> = Vec::with_capacity(objects);
    let generation = {
        let atomic = core.enter_atomic();
        let mut state = state.lock(&atomic);
        if !state.still_candidate(zspage, generation)
            || state.zspages[zspage as usize].live.len() > plan.capacity()
        {
            // Gone, pinned, or grew meanwhile: leave it for the next scan.
            state.compaction.rescan = true;
            return;
        }
        // The reverse map keeps owners only: offsets come from their
        // entries' locations.
        plan.extend(
            state.zspages[zspage as usize]
                .live
                .iter()
                .map(|&owner| LiveObject {
                    offset: Location::decode(core.location(Entry::from_index(owner))).offset()
                        as u32,
                    owner,
                }),
        );
        state.start_draining(zspage)
    };
    plan.sort_unstable_by_key(|object| object.offset);
    let atomic = core.enter_atomic();
    let mut state = state.lock(&atomic);
    state.compaction.source = zspage;
    state.compaction.generation = generation;
    state.compaction.taken = 0;
    state.compaction.given = 0;
    core::mem::swap(&mut state.compaction.plan, &mut plan);
    drop(state);
    drop(atomic);
    // The previous plan (empty) is dropped with interrupts on.
    drop(plan);
}

/// Take pages from the backend into the reserve: [`FLOAT_PAGES`] when the
/// source owes none (all or nothing: a drain that starts borrowing must be
/// able to finish paying back), one more when it does. False if the
/// backend has not got them.
fn take_pages<B: Backend>(state: &SpinLock<PackedState<B::Page>>, core: &PoolCore<B>) -> bool {
    let wanted = {
        let atomic = core.enter_atomic();
        let in_debt = state.lock(&atomic).in_debt();
        if in_debt {
            1
        } else {
            FLOAT_PAGES
        }
    };
    let mut pages: [Option<B::Page>; FLOAT_PAGES] = [None; FLOAT_PAGES];
    for slot in pages.iter_mut().take(wanted) {
        match core.alloc_page() {
            Ok(page) => *slot = Some(page),
            Err(_) => {
                for page in pages.into_iter().flatten() {
                    // SAFETY: just allocated for the pool and never used.
                    unsafe { core.free_page(page) };
                }
                return false;
            }
        }
    }
    {
        let atomic = core.enter_atomic();
        let mut state = state.lock(&atomic);
        for slot in &mut pages {
            if state.reserve.len() < RESERVE_PAGES {
                if let Some(page) = slot.take() {
                    state.reserve.push(page);
                }
            }
        }
    }
    for page in pages.into_iter().flatten() {
        // SAFETY: just allocated for the pool and never used.
        unsafe { core.free_page(page) };
    }
    true
}

/// Stop draining the source, one batch of its plan per lock section.
fn abandon<B: Backend>(
    state: &SpinLock<PackedState<B::Page>>,
    core: &PoolCore<B>,
    step: &mut CompactStep,
) {
    let (mut covered, mut index) = (0, 0);
    loop {
        let atomic = core.enter_atomic();
        if state
            .lock(&atomic)
            .undrain_chunk(core, &mut covered, &mut index, step)
        {
            return;
        }
    }
}

/// Give back the pages left in the reserve.
fn release_reserve<B: Backend>(state: &SpinLock<PackedState<B::Page>>, core: &PoolCore<B>) {
    let mut pages: [Option<B::Page>; RESERVE_PAGES] = [None; RESERVE_PAGES];
    {
        let atomic = core.enter_atomic();
        let mut state = state.lock(&atomic);
        for slot in &mut pages {
            *slot = state.reserve.pop();
        }
        debug_assert!(state.reserve.is_empty());
    }
    for page in pages.into_iter().flatten() {
        // SAFETY: reserved pages belong to the pool, hold no object and are
        // dropped from the state's hands.
        unsafe { core.free_page(page) };
    }
}

/// Give back the room of the candidate list and the plan once both are
/// used up (a full pass may have found many candidates).
fn release_used_up_lists<B: Backend>(state: &SpinLock<PackedState<B::Page>>, core: &PoolCore<B>) {
    let (mut candidates, mut plan) = (Vec::new(), Vec::new());
    {
        let atomic = core.enter_atomic();
        let mut state = state.lock(&atomic);
        let compaction = &mut state.compaction;
        if compaction.candidates.is_empty() && compaction.plan.is_empty() {
            core::mem::swap(&mut compaction.candidates, &mut candidates);
            core::mem::swap(&mut compaction.plan, &mut plan);
        }
    }
    // Dropped here, with interrupts on.
    drop((candidates, plan));
}

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    /// `pages held - ceil(live bytes / PAGE_SIZE)`: an upper bound on what
    /// compaction can give back.
    pub(crate) fn compactable_pages(&self) -> usize {
        self.pages - self.live_bytes.div_ceil(PAGE_SIZE)
    }
}
