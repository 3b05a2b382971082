//! The invariant checker: `Pool::check` verifies that the pool's structures
//! agree with each other.
//!
//! ```text
//!   the layout's own check      its lists, counters and recorded locations
//!   + a walk of every zspage:   (the same for every layout)
//!       each object's entry exists, is allocated, owns no other object
//!       each allocated entry owns exactly one object
//!       mapped objects of a zspage = its pins
//!       pages of all zspages = the pool's page count; no page owned twice
//! ```
//!
//! It expects a quiescent pool (no operation running on another thread);
//! open map windows are fine and are checked against the zspages' pins.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::backend::Backend;
use crate::handle_table::HandleTable;
use crate::layout::{ObjectView, PoolVisitor, ZspageView};
use crate::pool::Pool;

/// A broken invariant, described for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantError {
    /// What is wrong.
    pub description: String,
}

impl InvariantError {
    /// An error saying `description`.
    pub fn new(description: impl Into<String>) -> InvariantError {
        InvariantError {
            description: description.into(),
        }
    }
}

impl fmt::Display for InvariantError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "zsmalloc invariant broken: {}", self.description)
    }
}

/// `ensure!(condition, "format", args...)`: return an [`InvariantError`]
/// with that message unless the condition holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err($crate::check::InvariantError::new(alloc::format!($($message)+)));
        }
    };
}
pub(crate) use ensure;

impl<B: Backend> Pool<B> {
    /// Verify every invariant of the pool (see the module docs).
    pub fn check(&self) -> Result<(), InvariantError> {
        let core = self.core();
        self.layout().check(core).map_err(|error| {
            let layout = self.layout().name();
            InvariantError::new(format!("{layout} layout: {}", error.description))
        })?;
        let mut census = Census::new(core.entries());
        self.layout().walk(core, &mut census);
        census.finish(core.total_pages())
    }
}

/// What a walk found, checked as it goes.
struct Census<'t, P> {
    entries: &'t HandleTable,
    owners_seen: Vec<bool>,
    pages: Vec<P>,
    objects: usize,
    zspages: usize,
    /// Pins of the current zspage, and its mapped objects so far.
    pins: usize,
    mapped: usize,
    error: Option<InvariantError>,
}

impl<'t, P: Copy + Eq + fmt::Debug> Census<'t, P> {
    fn new(entries: &'t HandleTable) -> Self {
        Census {
            entries,
            owners_seen: vec![false; entries.issued_count() as usize],
            pages: Vec::new(),
            objects: 0,
            zspages: 0,
            pins: 0,
            mapped: 0,
            error: None,
        }
    }

    fn fail(&mut self, description: String) {
        if self.error.is_none() {
            self.error = Some(InvariantError::new(description));
        }
    }

    /// The pins of the zspage seen last agree with its mapped objects.
    fn close_zspage(&mut self) {
        if self.zspages > 0 && self.mapped != self.pins {
            let (zspage, mapped, pins) = (self.zspages - 1, self.mapped, self.pins);
            self.fail(format!(
                "zspage {zspage} of the walk has {mapped} mapped objects but {pins} pins"
            ));
        }
    }

    fn finish(mut self, total_pages: usize) -> Result<(), InvariantError> {
        self.close_zspage();
        if let Some(error) = self.error {
            return Err(error);
        }
        ensure!(
            self.pages.len() == total_pages,
            "total_pages is {} but the zspages hold {}",
            total_pages,
            self.pages.len()
        );
        let allocated = self.entries.allocated_entries();
        ensure!(
            allocated.len() == self.objects,
            "{} handles allocated but {} objects in use",
            allocated.len(),
            self.objects
        );
        for entry in allocated {
            ensure!(
                self.owners_seen[entry.index() as usize],
                "allocated handle entry {} owns no object",
                entry.index()
            );
        }
        for (index, page) in self.pages.iter().enumerate() {
            ensure!(
                !self.pages[index + 1..].contains(page),
                "page {:?} is owned twice",
                page
            );
        }
        Ok(())
    }
}

impl<P: Copy + Eq + fmt::Debug> PoolVisitor<P> for Census<'_, P> {
    fn zspage(&mut self, zspage: &ZspageView<'_, P>) {
        self.close_zspage();
        self.zspages += 1;
        self.pages.extend_from_slice(zspage.pages);
        self.pins = zspage.pins;
        self.mapped = 0;
    }

    fn object(&mut self, object: &ObjectView) {
        let index = object.entry.index() as usize;
        let Some(seen) = self.owners_seen.get_mut(index) else {
            self.fail(format!("object owned by unknown entry {index}"));
            return;
        };
        if *seen {
            self.fail(format!("entry {index} owns two objects"));
            return;
        }
        *seen = true;
        self.objects += 1;
        match self.entries.state(object.entry) {
            None => self.fail(format!("entry {index} does not exist")),
            Some(state) if !state.allocated => {
                let zspage = self.zspages.saturating_sub(1);
                let offset = object.offset;
                self.fail(format!(
                    "object at byte {offset} of zspage {zspage} owned by free entry {index}"
                ));
            }
            Some(state) => self.mapped += usize::from(state.mapped),
        }
    }
}
