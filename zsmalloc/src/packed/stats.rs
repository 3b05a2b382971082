//! The packed layout's statistics and its table:
//!
//! ```text
//!  packed layout: 17 zspages, 250 pages, open zspage filled to byte 24576
//!  zspages by fullness:  10%  20% ...  99% 100%
//!                          0    1 ...   15    0
//!  live 1012345 B, holes 2345 B, lost 96 B, freeable <= 2 pages
//!  compaction moved 81920 B since the pool was created
//!  holes  size  count   bytes
//!           48      3     144
//! ```

use alloc::vec::Vec;
use core::fmt;
use core::mem::size_of;
use thin_vec::ThinVec;

use super::candidates::Candidate;
use super::compact::LiveObject;
use super::holes::{Hole, List};
use super::zspage::{PackedState, PackedZspage};
use crate::backend::Backend;
use crate::fullness::{group_label, FULLNESS_GROUPS};
use crate::layout::PoolCore;
use crate::stats::{LayoutDetail, LayoutStats};
use crate::sync::SpinLock;

/// Statistics of the packed layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedStats {
    /// Zspages (the open one included) per fullness group of live bytes
    /// over the bytes of their pages: empty, <10%, ..., <100%, full.
    pub zspages_by_fullness: [usize; FULLNESS_GROUPS],
    /// Live zspages.
    pub zspages: usize,
    /// Fill pointer of the open zspage, if there is one.
    pub open_end: Option<usize>,
    /// Valid holes per size class: (smallest hole size of the class, holes,
    /// bytes), only classes that have holes.
    pub holes_by_class: Vec<(usize, usize, usize)>,
    /// Bytes occupied by live objects (rounded up to 8 bytes).
    pub live_bytes: usize,
    /// Bytes in holes.
    pub hole_bytes: usize,
    /// Bytes below the fill pointers that are neither live nor in a hole
    /// (leftovers too small for an object): only compaction recovers them.
    pub lost_bytes: usize,
    /// Pages held.
    pub pages: usize,
    /// Upper bound on the pages compaction could free.
    pub freeable: usize,
    /// Bytes compaction moved since the pool was created (asked for and
    /// automatic).
    pub compaction_bytes_moved: usize,
}

/// Zspage records, or hole entries, read per atomic section: the figures
/// of a large pool are gathered in many short sections, never in one long
/// one (they are statistics, not a snapshot: on a busy pool they may mix
/// moments, as Linux's per-class figures do).
const STATS_BATCH: usize = 64;

/// Run `read` on the state, in an atomic section of its own.
fn with_state<B: Backend, R>(
    state: &SpinLock<PackedState<B::Page>>,
    core: &PoolCore<B>,
    read: impl FnOnce(&PackedState<B::Page>) -> R,
) -> R {
    let atomic = core.enter_atomic();
    let state = state.lock(&atomic);
    read(&state)
}

/// The layout's statistics, read in short sections; `own_bytes` is the
/// size of the layout's own struct (counted as metadata).
pub(crate) fn read_stats<B: Backend>(
    state: &SpinLock<PackedState<B::Page>>,
    core: &PoolCore<B>,
    own_bytes: usize,
) -> LayoutStats {
    // The counters, and the metadata of the state's own vectors.
    let (objects, payload_bytes, zspages, open_end, pages, live_bytes, records, classes) =
        with_state(state, core, |state| {
            (
                state.objects,
                state.payload_bytes,
                state.live_zspages,
                state
                    .zspages
                    .get(state.open as usize)
                    .map(|record| record.end),
                state.pages,
                state.live_bytes,
                state.zspages.len(),
                state.holes.len(),
            )
        });
    let mut metadata = own_bytes
        + with_state(state, core, |state| {
            size_of::<PackedState<B::Page>>()
                + state.zspages.capacity() * size_of::<PackedZspage<B::Page>>()
                + state.dead.capacity() * size_of::<u32>()
                + state.holes.capacity() * size_of::<ThinVec<Hole>>()
                + state.spare_lists.capacity() * size_of::<ThinVec<Hole>>()
                + state
                    .spare_lists
                    .iter()
                    .map(List::heap_bytes)
                    .sum::<usize>()
                + state.non_empty.capacity() * size_of::<u64>()
                + state.reserve.capacity() * size_of::<B::Page>()
                + state.compaction.candidates.capacity() * size_of::<Candidate>()
                + state.compaction.plan.capacity() * size_of::<LiveObject>()
        });
    // The zspage records, a batch at a time.
    let mut used = 0;
    let mut zspages_by_fullness = [0; FULLNESS_GROUPS];
    for first in (0..records).step_by(STATS_BATCH) {
        with_state(state, core, |state| {
            let end = (first + STATS_BATCH).min(state.zspages.len());
            for record in state.zspages.get(first..end).unwrap_or(&[]) {
                metadata += record.pages.heap_bytes() + record.live.heap_bytes();
                if record.alive {
                    used += record.end;
                    zspages_by_fullness[record.group()] += 1;
                }
            }
        });
    }
    // The hole lists, a batch of entries at a time.
    let mut holes_by_class = Vec::new();
    let mut hole_bytes = 0;
    for class in 0..classes {
        let (mut count, mut bytes, mut next) = (0, 0, 0);
        let mut size = 0;
        loop {
            let more = with_state(state, core, |state| {
                let list = &state.holes[class];
                if next == 0 {
                    metadata += list.heap_bytes();
                    size = state.class_size(class);
                }
                let end = (next + STATS_BATCH).min(list.len());
                for hole in list.get(next..end).unwrap_or(&[]) {
                    if state.is_valid(hole) {
                        count += 1;
                        bytes += hole.length as usize;
                    }
                }
                next = end;
                end < list.len()
            });
            if !more {
                break;
            }
        }
        if count > 0 {
            holes_by_class.push((size, count, bytes));
            hole_bytes += bytes;
        }
    }
    let (freeable, compaction_bytes_moved) = with_state(state, core, |state| {
        (state.compactable_pages(), state.compaction.bytes_moved)
    });
    LayoutStats {
        objects_used: objects,
        payload_bytes,
        freeable,
        metadata_bytes: metadata,
        detail: LayoutDetail::Packed(PackedStats {
            zspages_by_fullness,
            zspages,
            open_end,
            holes_by_class,
            live_bytes,
            hole_bytes,
            lost_bytes: used.saturating_sub(live_bytes + hole_bytes),
            pages,
            freeable,
            compaction_bytes_moved,
        }),
    }
}

impl fmt::Display for PackedStats {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "packed layout: {} zspages, {} pages",
            self.zspages, self.pages
        )?;
        match self.open_end {
            Some(end) => writeln!(formatter, ", open zspage filled to byte {end}")?,
            None => writeln!(formatter, ", no open zspage")?,
        }
        write!(formatter, "zspages by fullness:")?;
        for group in 1..FULLNESS_GROUPS {
            write!(formatter, " {:>4}", group_label(group))?;
        }
        writeln!(formatter)?;
        write!(formatter, "{:20}", "")?;
        for count in &self.zspages_by_fullness[1..] {
            write!(formatter, " {:>4}", count)?;
        }
        writeln!(formatter)?;
        writeln!(
            formatter,
            "live {} B, holes {} B, lost {} B, freeable <= {} pages",
            self.live_bytes, self.hole_bytes, self.lost_bytes, self.freeable
        )?;
        writeln!(
            formatter,
            "compaction moved {} B since the pool was created",
            self.compaction_bytes_moved
        )?;
        writeln!(
            formatter,
            "{:>5} {:>5} {:>6} {:>8}",
            "holes", "size", "count", "bytes"
        )?;
        for (size, count, bytes) in &self.holes_by_class {
            writeln!(formatter, "{:>5} {:>5} {:>6} {:>8}", "", size, count, bytes)?;
        }
        Ok(())
    }
}
