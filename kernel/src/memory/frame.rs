//! Physical frames: the two zones, LOWMEM and HIGHMEM, the flags that choose
//! between them, and the kernel's interface for allocating frames.
//!
//! # Zones
//!
//! Like 32-bit Linux, physical memory is split at the *LOWMEM limit* (the
//! `lowmem=` boot option, see `memory::mod`). Frames below it are permanently
//! mapped by the kernel's direct map; frames above it are not mapped at all
//! and must be mapped on demand with `kmap`:
//!
//! ```text
//!   physical  0      1 MiB                  LOWMEM limit                  top of RAM
//!             [ BIOS ][ LOWMEM zone ........ ][ HIGHMEM zone ................ ]
//!              never    direct-mapped:          no permanent mapping:
//!              managed  kernel metadata,        anything that can go
//!                       page tables, the heap   through kmap (zsmalloc pages)
//! ```
//!
//! A request says which zones it accepts with [`AllocationFlags`], in the
//! spirit of Linux's GFP flags: [`GFP_KERNEL`] (kernel metadata, which the
//! kernel must reach at any time) is served from LOWMEM only;
//! [`GFP_HIGHUSER`] prefers HIGHMEM and falls back to LOWMEM.
//!
//! # Behind the interface
//!
//! Each zone has its own allocator, [`ZoneFrames`]: the buddy algorithm of
//! the `buddy` crate, over the zone's slice of the *frame table* (one record
//! per frame, Linux's `mem_map`), which `frame_table` builds at boot. This
//! module only picks the zone and turns frame numbers into [`Frame`]s:
//!
//! ```text
//!   allocate(GFP_HIGHUSER) ─► zones in order: HIGHMEM, LOWMEM
//!                               └─► ZoneFrames::allocate(1) ─► frame number ─► Frame
//!   free(frame)            ─► zone_of(frame) ─► ZoneFrames::free(number, 1)
//! ```
//!
//! Every call runs with interrupts off, under one lock: an interrupt handler
//! may allocate too.

use super::PAGE_SIZE;
pub use buddy::FrameUse;
/// The largest run [`allocate_contiguous`] can serve is 2^`MAX_ORDER` frames.
pub use buddy::MAX_ORDER;
use buddy::{FrameError, ZoneAllocator, ZoneCounters, ORDERS};
use core::fmt;
use core::ops::Range;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::PhysFrame;
use x86_64::PhysAddr;

/// The allocator of one zone's frames. Any implementation of
/// [`buddy::ZoneAllocator`] can take the buddy allocator's place here; the
/// kernel uses nothing else of it.
pub type ZoneFrames = buddy::BuddyAllocator<'static>;

/// The first MiB (BIOS data, real-mode area) is never managed, as in Linux.
pub(super) const FIRST_MANAGED_ADDRESS: u64 = 0x10_0000;

// ---------------------------------------------------------------------------
// Frames, zones and flags
// ---------------------------------------------------------------------------

/// One 4 KiB physical frame, named by its frame number (address / 4096).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Frame {
    number: u64,
}

impl Frame {
    /// The frame with this frame number.
    pub const fn from_number(number: u64) -> Frame {
        Frame { number }
    }

    /// The frame that contains physical address `address`.
    pub const fn containing_address(address: u64) -> Frame {
        Frame {
            number: address / PAGE_SIZE as u64,
        }
    }

    /// The frame number (physical address / 4096).
    pub const fn number(self) -> u64 {
        self.number
    }

    /// The physical address of the frame's first byte.
    pub const fn start_address(self) -> u64 {
        self.number * PAGE_SIZE as u64
    }

    /// The zone this frame belongs to.
    pub fn zone(self) -> Zone {
        zone_of(self)
    }

    /// The same frame as the `x86_64` crate's type, for page-table code.
    pub fn to_phys_frame(self) -> PhysFrame {
        PhysFrame::containing_address(PhysAddr::new(self.start_address()))
    }

    /// The frame `count` frames further on.
    pub const fn offset(self, count: u64) -> Frame {
        Frame {
            number: self.number + count,
        }
    }
}

/// A memory zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// Frames inside the kernel's direct map.
    Low,
    /// Frames above the direct map, reachable only through `kmap`.
    High,
}

impl Zone {
    /// Both zones, in the order of [`statistics`].
    pub const ALL: [Zone; 2] = [Zone::Low, Zone::High];

    /// The zone's name as Linux prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Zone::Low => "LOWMEM",
            Zone::High => "HIGHMEM",
        }
    }

    /// The zone's position in [`Zone::ALL`] and [`statistics`].
    pub const fn index(self) -> usize {
        match self {
            Zone::Low => 0,
            Zone::High => 1,
        }
    }
}

/// Which zones an allocation may use: a tiny version of Linux's GFP flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationFlags(u32);

impl AllocationFlags {
    /// `__GFP_HIGHMEM`: the caller maps the frame with `kmap`, so HIGHMEM is fine.
    pub const HIGHMEM: u32 = 1 << 0;
    /// Do not fall back to LOWMEM when HIGHMEM is exhausted (tests and demos
    /// use it to look at one zone alone).
    pub const NO_FALLBACK: u32 = 1 << 1;

    /// Flags from raw bits.
    pub const fn from_bits(bits: u32) -> AllocationFlags {
        AllocationFlags(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The zones to try, in order of preference.
    pub const fn zones(self) -> &'static [Zone] {
        let highmem = self.0 & Self::HIGHMEM != 0;
        let fallback = self.0 & Self::NO_FALLBACK == 0;
        match (highmem, fallback) {
            (false, _) => &[Zone::Low],
            (true, true) => &[Zone::High, Zone::Low],
            (true, false) => &[Zone::High],
        }
    }
}

/// Kernel metadata: LOWMEM only, so it is always reachable by the direct map.
pub const GFP_KERNEL: AllocationFlags = AllocationFlags(0);
/// Data pages the kernel maps with `kmap`: HIGHMEM first, then LOWMEM.
pub const GFP_HIGHUSER: AllocationFlags = AllocationFlags(AllocationFlags::HIGHMEM);
/// HIGHMEM and nothing else (for tests and demos of one zone).
pub const GFP_HIGHMEM_ONLY: AllocationFlags =
    AllocationFlags(AllocationFlags::HIGHMEM | AllocationFlags::NO_FALLBACK);

/// No zone allowed by the flags has a free block of the requested size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfFrames {
    /// How many contiguous frames were requested.
    pub count: usize,
    /// With which flags.
    pub flags: AllocationFlags,
}

impl fmt::Display for OutOfFrames {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "out of frames: no free run of {} frame(s) in",
            self.count
        )?;
        for zone in self.flags.zones() {
            write!(f, " {}", zone.name())?;
        }
        Ok(())
    }
}

/// Why a frame could not be freed. Nothing is changed when this is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The allocator does not manage this frame (reserved, or no RAM there).
    NotManaged(Frame),
    /// The frame is free already: a double free.
    NotAllocated(Frame),
    /// The frame is inside an allocation, not its first frame.
    NotStartOfAllocation(Frame),
    /// The allocation starting here has a different number of frames.
    WrongCount {
        /// The first frame of the allocation.
        frame: Frame,
        /// Its frame count.
        allocated: usize,
        /// The count that was passed to the free.
        freed: usize,
    },
}

impl FreeError {
    /// The kernel's view of a zone allocator's complaint.
    fn from_zone(error: FrameError) -> FreeError {
        match error {
            FrameError::OutsideZone(number)
            | FrameError::NotManaged(number)
            | FrameError::AlreadyManaged(number) => {
                FreeError::NotManaged(Frame::from_number(number))
            }
            FrameError::NotAllocated(number) => FreeError::NotAllocated(Frame::from_number(number)),
            FrameError::NotStartOfAllocation(number) => {
                FreeError::NotStartOfAllocation(Frame::from_number(number))
            }
            FrameError::WrongCount {
                frame,
                allocated,
                freed,
            } => FreeError::WrongCount {
                frame: Frame::from_number(frame),
                allocated,
                freed,
            },
        }
    }
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            FreeError::NotManaged(frame) => write!(
                f,
                "frame {:#x} is not managed by the frame allocator",
                frame.start_address()
            ),
            FreeError::NotAllocated(frame) => write!(
                f,
                "frame {:#x} is not allocated (double free?)",
                frame.start_address()
            ),
            FreeError::NotStartOfAllocation(frame) => write!(
                f,
                "frame {:#x} is in the middle of an allocation",
                frame.start_address()
            ),
            FreeError::WrongCount {
                frame,
                allocated,
                freed,
            } => write!(
                f,
                "frame {:#x} starts an allocation of {} frame(s), not {}",
                frame.start_address(),
                allocated,
                freed
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// The zones' allocators
// ---------------------------------------------------------------------------

/// Both zones' allocators, and the frame numbers each zone spans.
pub(super) struct Zones {
    /// `[LOWMEM, HIGHMEM]`.
    pub(super) allocators: [ZoneFrames; 2],
    /// The frame numbers each zone spans (managed or not).
    pub(super) spans: [Range<u64>; 2],
}

static ZONES: Mutex<Option<Zones>> = Mutex::new(None);

/// Boot: start serving frames from `zones` (built by `frame_table::init`).
pub(super) fn install(zones: Zones) {
    without_interrupts(|| *ZONES.lock() = Some(zones));
}

/// Run `f` on the zones, with interrupts off (an interrupt handler may
/// allocate too, and must not find the lock held by the code it interrupted).
fn with_zones<T>(f: impl FnOnce(&mut Zones) -> T) -> T {
    without_interrupts(|| {
        let mut guard = ZONES.lock();
        f(guard
            .as_mut()
            .expect("memory::frame_table::init has not run"))
    })
}

// ---------------------------------------------------------------------------
// The public interface
// ---------------------------------------------------------------------------

/// Allocate one frame from the zones `flags` allows (O(1)).
pub fn allocate(flags: AllocationFlags) -> Result<Frame, OutOfFrames> {
    allocate_contiguous(1, flags)
}

/// Free one frame returned by [`allocate`] (O(1)).
pub fn free(frame: Frame) -> Result<(), FreeError> {
    free_contiguous(frame, 1)
}

/// Allocate `count` physically contiguous frames (at most 2^MAX_ORDER), all
/// in one zone. Fails when no free run is large enough, even if enough
/// single frames are free (fragmentation).
pub fn allocate_contiguous(count: usize, flags: AllocationFlags) -> Result<Frame, OutOfFrames> {
    with_zones(|zones| {
        flags
            .zones()
            .iter()
            .find_map(|zone| zones.allocators[zone.index()].allocate(count))
            .map(Frame::from_number)
            .ok_or(OutOfFrames { count, flags })
    })
}

/// Free `count` frames returned by [`allocate_contiguous`] with that count.
pub fn free_contiguous(frame: Frame, count: usize) -> Result<(), FreeError> {
    with_zones(|zones| zones.allocators[zone_of(frame).index()].free(frame.number(), count))
        .map_err(FreeError::from_zone)
}

/// Hand a frame that was reserved at boot (the bootloader's, say) to the
/// allocator, once nothing uses it any more (Linux: `free_reserved_page`).
/// Fails, changing nothing, for a frame that is already managed or that the
/// frame table does not cover.
pub fn release_reserved(frame: Frame) -> Result<(), FreeError> {
    if frame.start_address() < FIRST_MANAGED_ADDRESS {
        return Err(FreeError::NotManaged(frame));
    }
    with_zones(|zones| zones.allocators[zone_of(frame).index()].add_frame(frame.number()))
        .map_err(FreeError::from_zone)
}

/// The zone a frame belongs to (by address: below the LOWMEM limit or not).
#[inline]
pub fn zone_of(frame: Frame) -> Zone {
    if frame.start_address() < super::lowmem_limit() {
        Zone::Low
    } else {
        Zone::High
    }
}

/// The counters of one zone (Linux: `/proc/zoneinfo`, `/proc/buddyinfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneStatistics {
    /// Which zone.
    pub zone: Zone,
    /// The first physical address the zone spans.
    pub start: u64,
    /// The end of the physical addresses the zone spans.
    pub end: u64,
    /// Frames managed by the allocator.
    pub total: usize,
    /// Frames free now.
    pub free: usize,
    /// Frames allocated now.
    pub allocated: usize,
    /// The most frames ever allocated at once.
    pub high_water: usize,
    /// Free blocks of each order.
    pub free_blocks: [usize; ORDERS],
}

impl fmt::Display for ZoneStatistics {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{:<7} [{:#011x}-{:#011x}) {:>6} frames ({:>4} MiB): {:>6} free, {:>6} allocated, high-water {:>6}; free blocks by order {:?}",
            self.zone.name(),
            self.start,
            self.end,
            self.total,
            (self.total * PAGE_SIZE) >> 20,
            self.free,
            self.allocated,
            self.high_water,
            self.free_blocks
        )
    }
}

/// Counters of both zones: `[LOWMEM, HIGHMEM]`.
pub fn statistics() -> [ZoneStatistics; 2] {
    with_zones(|zones| {
        Zone::ALL.map(|zone| {
            let counters: ZoneCounters = zones.allocators[zone.index()].counters();
            let span = &zones.spans[zone.index()];
            ZoneStatistics {
                zone,
                start: span.start * PAGE_SIZE as u64,
                end: span.end * PAGE_SIZE as u64,
                total: counters.managed,
                free: counters.free,
                allocated: counters.allocated(),
                high_water: counters.high_water,
                free_blocks: counters.free_blocks,
            }
        })
    })
}

/// Show what every frame of both zones is doing to `visit`, as runs
/// `(first frame, frames, use)` (LOWMEM first; see
/// [`buddy::ZoneAllocator::frame_uses`]), with the zones' lock held and
/// interrupts off: `visit` must be short and must not allocate frames.
pub fn frame_uses(mut visit: impl FnMut(u64, usize, FrameUse)) {
    with_zones(|zones| {
        for allocator in &zones.allocators {
            allocator.frame_uses(&mut visit);
        }
    })
}

/// The frame numbers both zones span: LOWMEM's start to HIGHMEM's end.
pub fn spanned_frames() -> Range<u64> {
    with_zones(|zones| zones.spans[0].start..zones.spans[1].end)
}

/// Managed physical memory in bytes (both zones).
pub fn usable_bytes() -> u64 {
    statistics()
        .iter()
        .map(|zone| (zone.total * PAGE_SIZE) as u64)
        .sum()
}
