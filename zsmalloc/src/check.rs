//! The invariant checker: `Pool::check` walks every structure and verifies
//! that they agree with each other.
//!
//! ```text
//!   handle slot --location--> (class, zspage, object) --header/owner--> slot
//!   zspage: in_use + |free list| = objects_per_zspage, group = fullness(in_use)
//!   class:  group lists hold exactly the live zspages; counters add up
//!   pool:   total pages = sum of live zspages' pages; no page owned twice
//! ```
//!
//! It expects a quiescent pool (no operation running on another thread);
//! open map windows are fine and are checked against the zspages' pins.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::fmt;

use crate::backend::{AtomicSection, Backend, MappedPage};
use crate::handle::{allocated_slots, HandleTable, Location};
use crate::pool::Pool;
use crate::zspage::{fullness_group, ClassState, FULLNESS_GROUPS, NO_OBJECT, NO_OWNER, NO_ZSPAGE};

/// A broken invariant, described for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantError {
    /// What is wrong.
    pub description: String,
}

impl fmt::Display for InvariantError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "zsmalloc invariant broken: {}", self.description)
    }
}

fn broken(description: String) -> InvariantError {
    InvariantError { description }
}

macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(broken(format!($($message)+)));
        }
    };
}

impl<B: Backend> Pool<B> {
    /// Verify every invariant of the pool (see the module docs).
    pub fn check(&self) -> Result<(), InvariantError> {
        let issued = self.handles.issued_count() as usize;
        let mut owners_seen = vec![false; issued];
        let mut pages_in_classes = 0;
        let mut objects_in_classes = 0;
        for class in 0..self.classes.len() {
            let atomic = AtomicSection::enter(&self.backend);
            let state = self.lock_class(&atomic, class);
            check_class(&state, &self.backend, &self.handles, &mut owners_seen).map_err(
                |error| {
                    broken(format!(
                        "class {} (size {}): {}",
                        class, state.geometry.size, error.description
                    ))
                },
            )?;
            pages_in_classes += state.live_zspages * state.geometry.pages_per_zspage;
            objects_in_classes += state.objects_used;
        }
        ensure!(
            pages_in_classes == self.total_pages(),
            "total_pages is {} but the classes hold {}",
            self.total_pages(),
            pages_in_classes
        );
        let allocated = allocated_slots(&self.handles);
        ensure!(
            allocated.len() == objects_in_classes,
            "{} handles allocated but {} objects in use",
            allocated.len(),
            objects_in_classes
        );
        for slot in allocated {
            ensure!(
                owners_seen[slot as usize],
                "allocated handle slot {} owns no object",
                slot
            );
        }
        check_pages_distinct(&self.all_pages())
    }
}

fn check_pages_distinct<P: Eq + fmt::Debug>(pages: &[P]) -> Result<(), InvariantError> {
    for (index, page) in pages.iter().enumerate() {
        ensure!(
            !pages[index + 1..].contains(page),
            "page {:?} is owned twice",
            page
        );
    }
    Ok(())
}

fn check_class<B: Backend>(
    state: &ClassState<B::Page>,
    backend: &B,
    handles: &HandleTable,
    owners_seen: &mut [bool],
) -> Result<(), InvariantError> {
    let geometry = state.geometry;
    let mut live = 0;
    let mut in_use_total = 0;
    for (zspage, record) in state.zspages.iter().enumerate() {
        let first = zspage * geometry.pages_per_zspage;
        let pages = &state.pages[first..first + geometry.pages_per_zspage];
        if !record.live {
            ensure!(
                pages.iter().all(Option::is_none),
                "dead zspage {} still has pages",
                zspage
            );
            continue;
        }
        ensure!(
            pages.iter().all(Option::is_some),
            "live zspage {} lacks a page",
            zspage
        );
        live += 1;
        in_use_total += record.in_use as usize;
        check_zspage(state, backend, handles, zspage as u32, owners_seen)?;
    }
    ensure!(
        live == state.live_zspages,
        "{} live zspages counted as {}",
        live,
        state.live_zspages
    );
    ensure!(
        in_use_total == state.objects_used,
        "{} objects in use counted as {}",
        in_use_total,
        state.objects_used
    );
    check_group_lists(state)
}

fn check_zspage<B: Backend>(
    state: &ClassState<B::Page>,
    backend: &B,
    handles: &HandleTable,
    zspage: u32,
    owners_seen: &mut [bool],
) -> Result<(), InvariantError> {
    let objects = state.geometry.objects_per_zspage;
    let record = &state.zspages[zspage as usize];
    let mut is_free = vec![false; objects];
    let mut free_count = 0;
    let mut object = record.free_head;
    while object != NO_OBJECT {
        ensure!(
            (object as usize) < objects,
            "zspage {} free list leaves the zspage",
            zspage
        );
        ensure!(
            !is_free[object as usize],
            "zspage {} free list has a cycle",
            zspage
        );
        is_free[object as usize] = true;
        free_count += 1;
        let position = state.position(zspage, state.object_offset(object));
        // SAFETY: the page belongs to a live zspage of a class whose lock is
        // held by the caller; scoped guard.
        let word = unsafe { MappedPage::new(backend, position.page) }.read_word(position.offset);
        ensure!(
            word & 1 == 0,
            "zspage {} free object {} is tagged allocated",
            zspage,
            object
        );
        if state.owners_outside() {
            let owner = state.owners[zspage as usize * objects + object as usize];
            ensure!(
                owner == NO_OWNER,
                "zspage {} free object {} has an owner",
                zspage,
                object
            );
        }
        object = (word >> 1) as u16;
    }
    ensure!(
        free_count + record.in_use as usize == objects,
        "zspage {}: {} free + {} in use != {}",
        zspage,
        free_count,
        record.in_use,
        objects
    );
    let mut mapped = 0;
    for object in 0..objects as u16 {
        if is_free[object as usize] {
            continue;
        }
        let owner = state.owner_of(backend, zspage, object);
        let Some(owner) = owner else {
            return Err(broken(format!(
                "zspage {} object {} is neither free nor owned",
                zspage, object
            )));
        };
        ensure!(
            (owner as usize) < owners_seen.len(),
            "object owned by unknown slot {}",
            owner
        );
        ensure!(
            !owners_seen[owner as usize],
            "slot {} owns two objects",
            owner
        );
        owners_seen[owner as usize] = true;
        let Some((allocated, is_mapped)) = handles.flags(owner) else {
            return Err(broken(format!("slot {} does not exist", owner)));
        };
        ensure!(
            allocated,
            "object {} of zspage {} owned by free slot {}",
            object,
            zspage,
            owner
        );
        let expected = Location {
            class: state.class,
            zspage,
            object,
        };
        ensure!(
            handles.location(owner) == expected,
            "slot {} points elsewhere",
            owner
        );
        mapped += usize::from(is_mapped);
    }
    ensure!(
        mapped == record.pins as usize,
        "zspage {} has {} mapped objects but {} pins",
        zspage,
        mapped,
        record.pins
    );
    Ok(())
}

fn check_group_lists<P: Copy + Eq + fmt::Debug>(
    state: &ClassState<P>,
) -> Result<(), InvariantError> {
    let objects = state.geometry.objects_per_zspage;
    let mut listed = 0;
    for group in 0..FULLNESS_GROUPS {
        let mut count = 0;
        let mut previous = NO_ZSPAGE;
        let mut zspage = state.group_heads[group];
        while zspage != NO_ZSPAGE {
            ensure!(
                count <= state.zspages.len(),
                "group {} list has a cycle",
                group
            );
            let record = &state.zspages[zspage as usize];
            ensure!(record.live, "dead zspage {} in group {}", zspage, group);
            ensure!(
                record.previous == previous,
                "zspage {} has a wrong back link",
                zspage
            );
            ensure!(
                record.group as usize == group,
                "zspage {} is listed in the wrong group",
                zspage
            );
            ensure!(
                fullness_group(record.in_use as usize, objects) == group,
                "zspage {} with {} objects in use belongs elsewhere than group {}",
                zspage,
                record.in_use,
                group
            );
            count += 1;
            previous = zspage;
            zspage = record.next;
        }
        ensure!(
            count == state.group_counts[group],
            "group {} counts {} but lists {}",
            group,
            state.group_counts[group],
            count
        );
        listed += count;
    }
    ensure!(state.group_counts[0] == 0, "empty zspages were kept");
    ensure!(
        listed == state.live_zspages,
        "{} zspages listed but {} live",
        listed,
        state.live_zspages
    );
    Ok(())
}
