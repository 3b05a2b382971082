//! The invariant checker: `Pool::check` walks every structure and verifies
//! that they agree with each other.
//!
//! ```text
//!   handle slot --location--> (class, zspage, object) --header/owner--> slot
//!   zspage: in_use + |free list| = objects_per_zspage, group = fullness(in_use)
//!   class:  group lists hold exactly the live zspages; counters add up
//!   pool:   total pages = sum of live zspages' pages; no page owned twice
//!
//!   packed layout (crate::packed):
//!   zspage: pages = exactly those touched by [0, end); live extents and
//!           valid holes lie in [0, end) and never overlap; counters add up;
//!           slot --location--> (index in live list, zspage, offset) --> slot
//!   pool:   hole bitmap = non-empty lists; stale entries counted
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
use crate::packed::PackedState;
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
        if self.packed.is_some() {
            let atomic = AtomicSection::enter(&self.backend);
            let state = self.lock_packed(&atomic);
            check_packed(&state, &self.handles, &mut owners_seen)
                .map_err(|error| broken(format!("packed layout: {}", error.description)))?;
            pages_in_classes += state.pages;
            objects_in_classes += state.objects;
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

fn check_packed<P: Copy + Eq + fmt::Debug>(
    state: &PackedState<P>,
    handles: &HandleTable,
    owners_seen: &mut [bool],
) -> Result<(), InvariantError> {
    use crate::backend::PAGE_SIZE;
    use alloc::vec::Vec;
    // Valid holes per zspage, and the stale entry count.
    let mut holes: Vec<Vec<(usize, usize)>> = vec![Vec::new(); state.zspages.len()];
    let mut stale = 0;
    for (class, list) in state.holes.iter().enumerate() {
        let bit = state.non_empty[class / 64] >> (class % 64) & 1 == 1;
        ensure!(
            bit == !list.is_empty(),
            "hole bitmap wrong for class {}",
            class
        );
        for hole in list {
            ensure!(
                (hole.zspage as usize) < state.zspages.len(),
                "hole names unknown zspage {}",
                hole.zspage
            );
            if !state.is_valid(hole) {
                stale += 1;
                continue;
            }
            let length = hole.length as usize;
            ensure!(
                length >= state.class_size(class) && state.class_of(length) == class,
                "hole of {} bytes on the list of class {}",
                length,
                class
            );
            holes[hole.zspage as usize].push((hole.offset as usize, length));
        }
    }
    ensure!(
        stale == state.stale_holes,
        "{} stale holes counted as {}",
        stale,
        state.stale_holes
    );
    let listed: usize = state.holes.iter().map(Vec::len).sum();
    ensure!(
        listed == state.listed_holes,
        "{} hole entries counted as {}",
        listed,
        state.listed_holes
    );
    let (mut live_zspages, mut pages, mut objects, mut live_bytes, mut payload) = (0, 0, 0, 0, 0);
    for (zspage, record) in state.zspages.iter().enumerate() {
        if !record.alive {
            ensure!(
                record.pages.is_empty() && record.live.is_empty() && holes[zspage].is_empty(),
                "dead zspage {} still has pages, objects or holes",
                zspage
            );
            ensure!(
                zspage as u32 != state.open,
                "the open zspage {} is dead",
                zspage
            );
            continue;
        }
        live_zspages += 1;
        pages += record.pages.len();
        ensure!(
            record.end <= state.capacity,
            "zspage {} filled past its capacity",
            zspage
        );
        ensure!(
            record.pages.len() == record.end.div_ceil(PAGE_SIZE),
            "zspage {} holds {} pages for {} bytes",
            zspage,
            record.pages.len(),
            record.end
        );
        ensure!(!record.live.is_empty(), "empty zspage {} was kept", zspage);
        let mut extents: Vec<(usize, usize)> = holes[zspage].clone();
        ensure!(
            extents.len() == record.holes
                && extents.iter().map(|&(_, length)| length).sum::<usize>() == record.hole_bytes,
            "zspage {} hole counters are wrong",
            zspage
        );
        let mut zspage_live = 0;
        let mut mapped = 0;
        for (index, object) in record.live.iter().enumerate() {
            let owner = object.slot;
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
                "zspage {} object owned by free slot {}",
                zspage,
                owner
            );
            let offset = object.offset as usize;
            ensure!(
                offset.is_multiple_of(state.spacing),
                "object at unaligned offset {}",
                offset
            );
            let expected = Location {
                class: index as u16,
                zspage: zspage as u32,
                object: (offset / state.spacing) as u16,
            };
            ensure!(
                handles.location(owner) == expected,
                "slot {} points elsewhere",
                owner
            );
            let length = handles.length(owner);
            payload += length;
            let extent = state.extent(length);
            zspage_live += extent;
            extents.push((offset, extent));
            mapped += usize::from(is_mapped);
        }
        ensure!(
            mapped == record.pins as usize,
            "zspage {} has {} mapped objects but {} pins",
            zspage,
            mapped,
            record.pins
        );
        ensure!(
            zspage_live == record.live_bytes,
            "zspage {} has {} live bytes counted as {}",
            zspage,
            zspage_live,
            record.live_bytes
        );
        extents.sort_unstable();
        let mut covered = 0;
        for &(offset, length) in &extents {
            ensure!(
                offset >= covered,
                "zspage {}: extents overlap at byte {}",
                zspage,
                offset
            );
            covered = offset + length;
        }
        ensure!(
            covered <= record.end,
            "zspage {}: an extent passes the fill pointer",
            zspage
        );
        objects += record.live.len();
        live_bytes += zspage_live;
    }
    ensure!(
        live_zspages == state.live_zspages,
        "{} live zspages counted as {}",
        live_zspages,
        state.live_zspages
    );
    ensure!(
        pages == state.pages,
        "{} pages counted as {}",
        pages,
        state.pages
    );
    ensure!(
        objects == state.objects,
        "{} objects counted as {}",
        objects,
        state.objects
    );
    ensure!(
        live_bytes == state.live_bytes,
        "{} live bytes counted as {}",
        live_bytes,
        state.live_bytes
    );
    ensure!(
        payload == state.payload_bytes,
        "{} payload bytes counted as {}",
        payload,
        state.payload_bytes
    );
    Ok(())
}
