//! # buddy — the algorithm behind the kernel's physical frame allocator
//!
//! A *buddy allocator* hands out runs of physical frames (4 KiB pages). It
//! works on frame *numbers* and on a table of per-frame records; it never
//! touches the frames themselves, so it runs unchanged in the kernel (one
//! allocator per memory zone, over the kernel's frame table) and in host
//! tests (over a `Vec`), where Miri checks it.
//!
//! ## Blocks and buddies
//!
//! A zone keeps its free memory as *blocks* of 2^order frames (order 0 = one
//! frame ... order [`MAX_ORDER`] = 1024 frames = 4 MiB). A block of order `n`
//! always starts at a frame number that is a multiple of 2^n, so each block
//! has exactly one *buddy*: the other half of the order `n + 1` block that
//! contains it. Its frame number differs in a single bit:
//! `buddy = number ^ (1 << n)`.
//!
//! ```text
//!   order 3  [ 0  1  2  3  4  5  6  7 ]          one block of 8 frames
//!   order 2  [ 0  1  2  3 ][ 4  5  6  7 ]        buddies: 0 ^ 4 = 4
//!   order 1  [ 0  1 ][ 2  3 ]                    buddies: 0 ^ 2 = 2
//!   order 0  [0][1]                              buddies: 0 ^ 1 = 1
//!
//!   free_lists[0] ─► 5
//!   free_lists[1] ─► 2 ─► 10                     (doubly linked, through
//!   free_lists[2] ─► (empty)                      the records below)
//!   free_lists[3] ─► 16
//! ```
//!
//! * **Allocate** order `n`: take a block from the smallest non-empty list of
//!   order `>= n`; while it is too big, split it in two and put the upper half
//!   (the buddy) on the list one order lower.
//! * **Free** a block of order `n`: while its buddy is free *and whole* (a free
//!   block of the same order, in the same zone), take the buddy off its list
//!   and merge the two into one block of order `n + 1`. Then put the result on
//!   its list.
//!
//! Both loops run at most `MAX_ORDER` times, so order-0 allocation and free
//! are O(1). A run of `count` frames takes the smallest block that holds it
//! and gives the excess back; it fails when memory is *fragmented*: plenty of
//! free frames, but no free block large enough (zsmalloc, which only ever asks
//! for single frames, does not care).
//!
//! ## The records (Linux's `struct page`)
//!
//! The lists cannot live inside the free frames themselves, as a textbook
//! allocator would do: the kernel cannot reach HIGHMEM frames without mapping
//! them. So every frame has a small [`FrameRecord`] in a table indexed by frame
//! number, which the kernel keeps in LOWMEM (its *frame table*, Linux's
//! `mem_map`). Each zone's allocator owns its slice of that table:
//!
//! ```text
//!   records of one zone       state          order  next/prev (or count)
//!   [first + 0]    Reserved  (not RAM, or firmware, kernel, page tables, ...)
//!   [first + 256]  FreeHead       1      list links     ─┐ a free block of 2 frames
//!   [first + 257]  FreeTail                             ─┘
//!   [first + 258]  AllocatedHead         count = 1         an allocation of 1 frame
//! ```
//!
//! Only the first frame of an allocation can be freed, and only with the
//! frame count it was allocated with; anything else (a double free, a frame
//! the allocator does not manage, the middle of an allocation) is reported as
//! a [`FrameError`] and changes nothing.
//!
//! ## The interface the kernel uses: [`ZoneAllocator`]
//!
//! The kernel reaches the algorithm only through the [`ZoneAllocator`] trait
//! (one allocator per zone; the kernel names its choice once, in
//! `kernel::memory::frame::ZoneFrames`). Another allocator that implements the
//! trait can replace [`BuddyAllocator`]; the kernel's frame tests then run on
//! it in QEMU.
//!
//! Modules: [`buddy_allocator`] (the algorithm), [`check`] (its invariants,
//! for tests and debugging).
#![no_std]

#[cfg_attr(feature = "lab-buddy", path = "../../labs/buddy/buddy_allocator.rs")]
pub mod buddy_allocator;
pub mod check;

pub use buddy_allocator::{BuddyAllocator, FrameRecord};

use core::fmt;
use core::mem::MaybeUninit;

/// The largest block order: 2^10 frames = 4 MiB, as in Linux.
pub const MAX_ORDER: usize = 10;
/// Number of free lists per zone (orders 0 ..= MAX_ORDER).
pub const ORDERS: usize = MAX_ORDER + 1;

/// The frames of one zone: what the kernel needs from a frame allocator.
///
/// A zone spans the frame numbers `first_frame .. first_frame + records.len()`
/// given to [`new`](ZoneAllocator::new). All of them start out *reserved*
/// (not managed); the kernel then hands each usable frame over with
/// [`add_frame`](ZoneAllocator::add_frame). Frame numbers are physical
/// address / 4096.
pub trait ZoneAllocator<'t>: Sized {
    /// The per-frame record kept in the frame table (Linux: `struct page`).
    type Record;

    /// An allocator for a zone whose first frame is `first_frame`, keeping
    /// one record per frame of the zone in `records` (which it initialises).
    /// Every frame starts out reserved.
    fn new(records: &'t mut [MaybeUninit<Self::Record>], first_frame: u64) -> Self;

    /// Start managing a reserved frame: it becomes free. Fails, changing
    /// nothing, for a frame outside the zone or already managed.
    fn add_frame(&mut self, frame: u64) -> Result<(), FrameError>;

    /// Allocate `count` physically contiguous frames (1 ..= 2^MAX_ORDER);
    /// return the first one's number, or `None` when no free run is large
    /// enough.
    fn allocate(&mut self, count: usize) -> Option<u64>;

    /// Free the `count` frames from `first`, as returned by
    /// `allocate(count)`. Fails, changing nothing, on anything else.
    fn free(&mut self, first: u64, count: usize) -> Result<(), FrameError>;

    /// The zone's counters.
    fn counters(&self) -> ZoneCounters;

    /// Show what every frame of the zone is doing to `visit`, as runs
    /// `(first frame, frames, use)` of equal use in ascending order (a
    /// picture of the zone: reserved frames, allocations, and free blocks
    /// with their first frames marked, each a run of its own).
    fn frame_uses(&self, visit: &mut dyn FnMut(u64, usize, FrameUse));
}

/// What one frame is doing, as [`ZoneAllocator::frame_uses`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameUse {
    /// Not managed: no RAM, or used by the firmware, bootloader or kernel.
    Reserved,
    /// The first frame of a free block of 2^order frames.
    FreeBlockStart {
        /// The block's order.
        order: usize,
    },
    /// Inside a free block, not its first frame.
    Free,
    /// Part of an allocation.
    Allocated,
}

/// A zone's counters (Linux: `/proc/zoneinfo`, `/proc/buddyinfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZoneCounters {
    /// Frames the allocator manages (free or allocated).
    pub managed: usize,
    /// Frames free now.
    pub free: usize,
    /// The most frames ever allocated at once.
    pub high_water: usize,
    /// Free blocks of each order.
    pub free_blocks: [usize; ORDERS],
}

impl ZoneCounters {
    /// Frames allocated now.
    pub fn allocated(&self) -> usize {
        self.managed - self.free
    }
}

/// Why a frame could not be added or freed. Nothing changes when this is
/// returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The frame is not in this zone.
    OutsideZone(u64),
    /// The frame is reserved: the allocator does not manage it.
    NotManaged(u64),
    /// `add_frame` of a frame the allocator already manages.
    AlreadyManaged(u64),
    /// The frame is free already: a double free.
    NotAllocated(u64),
    /// The frame is inside an allocation, not its first frame.
    NotStartOfAllocation(u64),
    /// The allocation starting here has a different number of frames.
    WrongCount {
        /// The first frame of the allocation.
        frame: u64,
        /// Its frame count.
        allocated: usize,
        /// The count that was passed to `free`.
        freed: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            FrameError::OutsideZone(frame) => write!(f, "frame {frame:#x} is not in this zone"),
            FrameError::NotManaged(frame) => write!(f, "frame {frame:#x} is not managed"),
            FrameError::AlreadyManaged(frame) => write!(f, "frame {frame:#x} is already managed"),
            FrameError::NotAllocated(frame) => {
                write!(f, "frame {frame:#x} is not allocated (double free?)")
            }
            FrameError::NotStartOfAllocation(frame) => {
                write!(f, "frame {frame:#x} is in the middle of an allocation")
            }
            FrameError::WrongCount {
                frame,
                allocated,
                freed,
            } => write!(
                f,
                "frame {frame:#x} starts an allocation of {allocated} frame(s), not {freed}"
            ),
        }
    }
}

/// The order of the smallest block holding `count` frames, if any can.
pub fn order_for(count: usize) -> Option<usize> {
    let order = count.max(1).next_power_of_two().trailing_zeros() as usize;
    (count > 0 && order <= MAX_ORDER).then_some(order)
}

/// The largest order whose block starts at frame `number` (aligned to its
/// size) and fits in `count` frames (`count > 0`).
pub fn largest_aligned_order(number: u64, count: u64) -> usize {
    let alignment = number.trailing_zeros() as usize;
    let fits = (63 - count.leading_zeros()) as usize;
    alignment.min(fits).min(MAX_ORDER)
}

#[cfg(test)]
mod tests;
