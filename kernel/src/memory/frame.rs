//! The physical frame allocator: a *buddy allocator* over two zones, LOWMEM
//! and HIGHMEM, built from the bootloader's memory map.
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
//! # The buddy allocator
//!
//! Each zone keeps its free memory as *blocks* of 2^order frames (order 0 =
//! one frame ... order [`MAX_ORDER`] = 1024 frames = 4 MiB). A block of order
//! `n` always starts at a frame number that is a multiple of 2^n, so each
//! block has exactly one *buddy*: the other half of the order `n + 1` block
//! that contains it. Its frame number differs in a single bit:
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
//!   free_lists[2] ─► (empty)                      the frame table below)
//!   free_lists[3] ─► 16
//! ```
//!
//! * **Allocate** order `n`: take a block from the smallest non-empty list of
//!   order `>= n`; while it is too big, split it in two and put the upper half
//!   (the buddy) on the list one order lower.
//! * **Free** a block of order `n`: while its buddy is free *and whole* (a free
//!   block of the same order), take the buddy off its list and merge the two
//!   into one block of order `n + 1`. Then put the result on its list.
//!
//! Both loops run at most `MAX_ORDER` times, so order-0 allocation and free
//! are O(1). Contiguous allocations round up to a power of two and give the
//! excess back; they fail when memory is *fragmented*: plenty of free frames,
//! but no free block large enough (a test shows this, and why zsmalloc, which
//! only ever asks for single frames, does not care).
//!
//! # The frame table (Linux's `mem_map`)
//!
//! The lists cannot live inside the free frames themselves, as a textbook
//! allocator would do: HIGHMEM frames are not mapped. So, like Linux's array
//! of `struct page`, every frame has a small [`FrameInfo`] record in a table
//! indexed by frame number. The table is carved out of LOWMEM at boot, before
//! anything else, and its own frames are never handed out.
//!
//! ```text
//!   frame table (in LOWMEM)      state         order  next/prev (or count)
//!   [0]      Reserved  (BIOS, kernel, page tables, boot info, ramdisk, table)
//!   [256]    FreeHead      1      list links     ─┐ a free block of 2 frames
//!   [257]    FreeTail                            ─┘
//!   [258]    AllocatedHead        count = 1         an allocation of 1 frame
//!   ...
//! ```
//!
//! Only the first frame of an allocation can be freed, and only with the
//! frame count it was allocated with; anything else (a double free, a frame
//! the allocator does not manage, the middle of an allocation) is reported as
//! a [`FreeError`] and changes nothing.

use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use core::fmt;
use core::ops::Range;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::structures::paging::{FrameAllocator, PhysFrame, Size4KiB};
use x86_64::PhysAddr;

/// Size of one frame in bytes.
pub const FRAME_SIZE: u64 = 4096;
/// The largest block order: 2^10 frames = 4 MiB, as in Linux.
pub const MAX_ORDER: usize = 10;
/// Number of free lists per zone (orders 0 ..= MAX_ORDER).
pub const ORDERS: usize = MAX_ORDER + 1;
/// The first MiB (BIOS data, real-mode area) is never managed, as in Linux.
const FIRST_MANAGED_ADDRESS: u64 = 0x10_0000;
/// "No frame" in the intrusive lists.
const NO_FRAME: u32 = u32::MAX;

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
            number: address / FRAME_SIZE,
        }
    }

    /// The frame number (physical address / 4096).
    pub const fn number(self) -> u64 {
        self.number
    }

    /// The physical address of the frame's first byte.
    pub const fn start_address(self) -> u64 {
        self.number * FRAME_SIZE
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
        frame: Frame,
        allocated: usize,
        freed: usize,
    },
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
// The frame table and the zones
// ---------------------------------------------------------------------------

/// What a frame is doing right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum FrameState {
    /// Not managed: no RAM, or used by the firmware/bootloader/kernel image.
    Reserved,
    /// First frame of a free block, on the free list of its order.
    FreeHead,
    /// Inside a free block (not its first frame).
    FreeTail,
    /// First frame of an allocation; `next` holds its frame count.
    AllocatedHead,
    /// Inside an allocation (not its first frame).
    AllocatedTail,
}

/// Per-frame record (Linux: `struct page`), 12 bytes.
#[derive(Clone, Copy)]
struct FrameInfo {
    /// Free list link; for an `AllocatedHead`, the allocation's frame count.
    next: u32,
    /// Free list link.
    prev: u32,
    /// Block order of a `FreeHead`.
    order: u8,
    state: FrameState,
}

const RESERVED_FRAME: FrameInfo = FrameInfo {
    next: NO_FRAME,
    prev: NO_FRAME,
    order: 0,
    state: FrameState::Reserved,
};

/// One zone's buddy allocator state (Linux: `struct zone`, `free_area`).
struct ZoneAllocator {
    /// Frame numbers this zone spans (managed or not).
    span: Range<u64>,
    /// First frame of the first free block of each order.
    free_lists: [u32; ORDERS],
    /// Number of free blocks of each order.
    free_blocks: [usize; ORDERS],
    managed: usize,
    free: usize,
    high_water: usize,
}

impl ZoneAllocator {
    const fn new(span: Range<u64>) -> ZoneAllocator {
        ZoneAllocator {
            span,
            free_lists: [NO_FRAME; ORDERS],
            free_blocks: [0; ORDERS],
            managed: 0,
            free: 0,
            high_water: 0,
        }
    }

    fn allocated(&self) -> usize {
        self.managed - self.free
    }

    fn take(&mut self, count: usize) {
        self.free -= count;
        self.high_water = self.high_water.max(self.allocated());
    }
}

/// The whole allocator: the frame table and the two zones.
struct BuddyAllocator {
    /// Indexed by frame number; covers every frame below the highest managed one.
    frames: &'static mut [FrameInfo],
    zones: [ZoneAllocator; 2],
}

impl BuddyAllocator {
    fn info(&mut self, number: u64) -> &mut FrameInfo {
        &mut self.frames[number as usize]
    }

    // -- the free lists ----------------------------------------------------

    fn push(&mut self, zone: usize, order: usize, number: u64) {
        let head = self.zones[zone].free_lists[order];
        *self.info(number) = FrameInfo {
            next: head,
            prev: NO_FRAME,
            order: order as u8,
            state: FrameState::FreeHead,
        };
        if head != NO_FRAME {
            self.info(head as u64).prev = number as u32;
        }
        self.zones[zone].free_lists[order] = number as u32;
        self.zones[zone].free_blocks[order] += 1;
    }

    fn unlink(&mut self, zone: usize, order: usize, number: u64) {
        let FrameInfo { next, prev, .. } = *self.info(number);
        if prev == NO_FRAME {
            self.zones[zone].free_lists[order] = next;
        } else {
            self.info(prev as u64).next = next;
        }
        if next != NO_FRAME {
            self.info(next as u64).prev = prev;
        }
        self.zones[zone].free_blocks[order] -= 1;
    }

    // -- blocks ------------------------------------------------------------

    /// Take a block of 2^order frames from `zone`, splitting a bigger one if
    /// needed. Its first frame is returned marked `AllocatedHead`.
    fn allocate_block(&mut self, zone: usize, order: usize) -> Option<u64> {
        let found = (order..ORDERS).find(|&o| self.zones[zone].free_lists[o] != NO_FRAME)?;
        let number = self.zones[zone].free_lists[found] as u64;
        self.unlink(zone, found, number);
        self.info(number).state = FrameState::AllocatedHead;
        for lower in (order..found).rev() {
            // Split: keep the lower half, free the upper half (the buddy).
            self.push(zone, lower, number + (1 << lower));
        }
        Some(number)
    }

    /// Is `number` the first frame of a whole free block of `order` in `zone`?
    fn is_free_block(&self, zone: usize, number: u64, order: usize) -> bool {
        let info = self.frames.get(number as usize);
        self.zones[zone].span.contains(&number)
            && info.is_some_and(|info| {
                info.state == FrameState::FreeHead && info.order as usize == order
            })
    }

    /// Give back a block of 2^order frames, merging it with free buddies.
    fn free_block(&mut self, zone: usize, mut number: u64, mut order: usize) {
        while order < MAX_ORDER {
            let buddy = number ^ (1 << order);
            if !self.is_free_block(zone, buddy, order) {
                break;
            }
            self.unlink(zone, order, buddy);
            let (lower, upper) = (number.min(buddy), number.max(buddy));
            self.info(upper).state = FrameState::FreeTail;
            number = lower;
            order += 1;
        }
        self.push(zone, order, number);
    }

    /// Give back `count` frames from `number` as naturally aligned blocks.
    fn free_run(&mut self, zone: usize, mut number: u64, mut count: u64) {
        while count > 0 {
            let order = largest_aligned_order(number, count);
            for tail in number + 1..number + (1 << order) {
                self.info(tail).state = FrameState::FreeTail;
            }
            self.free_block(zone, number, order);
            number += 1 << order;
            count -= 1 << order;
        }
    }

    // -- allocations -------------------------------------------------------

    fn allocate_run(&mut self, zone: usize, count: usize) -> Option<u64> {
        let order = order_for(count)?;
        let number = self.allocate_block(zone, order)?;
        self.info(number).next = count as u32;
        for tail in number + 1..number + count as u64 {
            self.info(tail).state = FrameState::AllocatedTail;
        }
        let excess = (1u64 << order) - count as u64;
        self.free_run(zone, number + count as u64, excess);
        self.zones[zone].take(count);
        Some(number)
    }

    fn check_free(&self, frame: Frame, count: usize) -> Result<usize, FreeError> {
        let info = self
            .frames
            .get(frame.number() as usize)
            .filter(|info| info.state != FrameState::Reserved)
            .ok_or(FreeError::NotManaged(frame))?;
        match info.state {
            FrameState::AllocatedHead if info.next as usize == count => {
                Ok(self.zone_index_of(frame.number()))
            }
            FrameState::AllocatedHead => Err(FreeError::WrongCount {
                frame,
                allocated: info.next as usize,
                freed: count,
            }),
            FrameState::AllocatedTail => Err(FreeError::NotStartOfAllocation(frame)),
            _ => Err(FreeError::NotAllocated(frame)),
        }
    }

    fn free_allocation(&mut self, frame: Frame, count: usize) -> Result<(), FreeError> {
        let zone = self.check_free(frame, count)?;
        self.free_run(zone, frame.number(), count as u64);
        self.zones[zone].free += count;
        Ok(())
    }

    fn zone_index_of(&self, number: u64) -> usize {
        if self.zones[Zone::Low.index()].span.contains(&number) {
            Zone::Low.index()
        } else {
            Zone::High.index()
        }
    }

    /// Hand a reserved frame to the allocator (boot memory no longer used).
    fn release_reserved(&mut self, frame: Frame) -> Result<(), FreeError> {
        let number = frame.number();
        let is_reserved = self
            .frames
            .get(number as usize)
            .is_some_and(|info| info.state == FrameState::Reserved);
        if !is_reserved || frame.start_address() < FIRST_MANAGED_ADDRESS {
            return Err(FreeError::NotManaged(frame));
        }
        self.add_free_frame(number);
        Ok(())
    }

    /// Boot: hand one usable frame to its zone.
    fn add_free_frame(&mut self, number: u64) {
        let zone = self.zone_index_of(number);
        self.zones[zone].managed += 1;
        self.zones[zone].free += 1;
        self.free_block(zone, number, 0);
    }
}

/// The order of the smallest block holding `count` frames, if any can.
fn order_for(count: usize) -> Option<usize> {
    let order = count.max(1).next_power_of_two().trailing_zeros() as usize;
    (count > 0 && order <= MAX_ORDER).then_some(order)
}

/// The largest order whose block starts at `number` and fits in `count` frames.
fn largest_aligned_order(number: u64, count: u64) -> usize {
    let alignment = number.trailing_zeros() as usize;
    let fits = (63 - count.leading_zeros()) as usize;
    alignment.min(fits).min(MAX_ORDER)
}

static ALLOCATOR: Mutex<Option<BuddyAllocator>> = Mutex::new(None);

/// Run `f` on the allocator, with interrupts off (an interrupt handler may
/// allocate too, and must not find the lock held by the code it interrupted).
fn with_allocator<T>(f: impl FnOnce(&mut BuddyAllocator) -> T) -> T {
    without_interrupts(|| {
        let mut guard = ALLOCATOR.lock();
        f(guard.as_mut().expect("memory::frame::init has not run"))
    })
}

// ---------------------------------------------------------------------------
// Boot
// ---------------------------------------------------------------------------

/// A range of physical addresses, `start..end`.
pub type PhysRange = Range<u64>;

/// What `init` did, for the boot log.
#[derive(Clone, Debug)]
pub struct FrameTableInfo {
    /// Where the frame table lives (physical, in LOWMEM).
    pub table: PhysRange,
    /// Usable RAM at or above this address is not managed (the frame table
    /// would not fit in LOWMEM); `None` if everything is managed.
    pub ignored_above: Option<u64>,
}

fn usable_ranges(regions: &MemoryRegions) -> impl Iterator<Item = PhysRange> + '_ {
    regions
        .iter()
        .filter(|region| region.kind == MemoryRegionKind::Usable)
        .map(|region| {
            region
                .start
                .max(FIRST_MANAGED_ADDRESS)
                .next_multiple_of(FRAME_SIZE)..region.end & !(FRAME_SIZE - 1)
        })
        .filter(|range| range.start < range.end)
}

/// Build the allocator from the memory map.
///
/// `direct_map(physical)` gives the virtual address of a LOWMEM physical
/// address; `reserved` lists extra ranges never to hand out (the ramdisk).
/// The frame table itself goes into LOWMEM, and may use at most a quarter of
/// it: memory beyond what such a table can describe is ignored (and said so).
pub fn init(
    regions: &MemoryRegions,
    lowmem_limit: u64,
    reserved: &[PhysRange],
    direct_map: impl Fn(u64) -> *mut u8,
) -> FrameTableInfo {
    let top_of_ram = usable_ranges(regions).map(|r| r.end).max().unwrap_or(0);
    let table_budget = lowmem_limit / 4;
    let max_frames = table_budget / core::mem::size_of::<FrameInfo>() as u64;
    let managed_end = top_of_ram.min(max_frames * FRAME_SIZE);
    let frame_count = managed_end / FRAME_SIZE;
    let table_bytes =
        (frame_count * core::mem::size_of::<FrameInfo>() as u64).next_multiple_of(FRAME_SIZE);
    let table = usable_ranges(regions)
        .map(|r| r.start..r.end.min(lowmem_limit))
        .find(|r| r.start < r.end && r.end - r.start >= table_bytes && !overlaps(r, reserved))
        .map(|r| r.start..r.start + table_bytes)
        .expect("no LOWMEM region is large enough for the frame table: raise lowmem=");
    let frames = frame_table(direct_map(table.start), frame_count as usize);

    let lowmem_frames = (lowmem_limit / FRAME_SIZE).min(frame_count);
    let mut allocator = BuddyAllocator {
        frames,
        zones: [
            ZoneAllocator::new(0..lowmem_frames),
            ZoneAllocator::new(lowmem_frames..frame_count),
        ],
    };
    for range in usable_ranges(regions) {
        for address in (range.start..range.end.min(managed_end)).step_by(FRAME_SIZE as usize) {
            let is_reserved =
                table.contains(&address) || reserved.iter().any(|r| r.contains(&address));
            if !is_reserved {
                allocator.add_free_frame(address / FRAME_SIZE);
            }
        }
    }
    without_interrupts(|| *ALLOCATOR.lock() = Some(allocator));
    FrameTableInfo {
        table,
        ignored_above: (managed_end < top_of_ram).then_some(managed_end),
    }
}

fn overlaps(range: &PhysRange, others: &[PhysRange]) -> bool {
    others
        .iter()
        .any(|other| other.start < range.end && range.start < other.end)
}

/// Make the frame table at `address`: `count` records, all `Reserved`.
fn frame_table(address: *mut u8, count: usize) -> &'static mut [FrameInfo] {
    let table = address.cast::<FrameInfo>();
    for index in 0..count {
        // SAFETY: `init` chose `count` records' worth of usable LOWMEM frames
        // that nothing else uses (reserved ranges excluded, and they are never
        // handed out afterwards), mapped by the direct map at `address`, which
        // is page-aligned and so aligned for `FrameInfo`.
        unsafe { table.add(index).write(RESERVED_FRAME) };
    }
    // SAFETY: all `count` records were just initialised, and this is the only
    // reference to them for the rest of the kernel's life.
    unsafe { core::slice::from_raw_parts_mut(table, count) }
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
/// in one zone. Fails when no free block is large enough, even if enough
/// single frames are free (fragmentation).
pub fn allocate_contiguous(count: usize, flags: AllocationFlags) -> Result<Frame, OutOfFrames> {
    with_allocator(|allocator| {
        flags
            .zones()
            .iter()
            .find_map(|zone| allocator.allocate_run(zone.index(), count))
            .map(Frame::from_number)
            .ok_or(OutOfFrames { count, flags })
    })
}

/// Free `count` frames returned by [`allocate_contiguous`] with that count.
pub fn free_contiguous(frame: Frame, count: usize) -> Result<(), FreeError> {
    with_allocator(|allocator| allocator.free_allocation(frame, count))
}

/// Hand a frame that was reserved at boot (the bootloader's, say) to the
/// allocator, once nothing uses it any more (Linux: `free_reserved_page`).
/// Fails, changing nothing, for a frame that is already managed or that the
/// frame table does not cover.
pub fn release_reserved(frame: Frame) -> Result<(), FreeError> {
    with_allocator(|allocator| allocator.release_reserved(frame))
}

/// The zone a frame belongs to (by address: below the LOWMEM limit or not).
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
    pub zone: Zone,
    /// Physical addresses the zone spans.
    pub start: u64,
    pub end: u64,
    /// Frames managed by the allocator.
    pub total: usize,
    pub free: usize,
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
            (self.total as u64 * FRAME_SIZE) >> 20,
            self.free,
            self.allocated,
            self.high_water,
            self.free_blocks
        )
    }
}

/// Counters of both zones: `[LOWMEM, HIGHMEM]`.
pub fn statistics() -> [ZoneStatistics; 2] {
    with_allocator(|allocator| {
        Zone::ALL.map(|zone| {
            let state = &allocator.zones[zone.index()];
            ZoneStatistics {
                zone,
                start: state.span.start * FRAME_SIZE,
                end: state.span.end * FRAME_SIZE,
                total: state.managed,
                free: state.free,
                allocated: state.allocated(),
                high_water: state.high_water,
                free_blocks: state.free_blocks,
            }
        })
    })
}

/// Managed physical memory in bytes (both zones).
pub fn usable_bytes() -> u64 {
    statistics()
        .iter()
        .map(|zone| zone.total as u64 * FRAME_SIZE)
        .sum()
}

/// Adapter for the `x86_64` crate's page-table code: new page tables come
/// from LOWMEM ([`GFP_KERNEL`]), where the direct map can reach them.
pub struct PageTableFrames;

// SAFETY: every frame comes from the buddy allocator, which hands out each
// free frame to one owner only; page tables are never freed.
unsafe impl FrameAllocator<Size4KiB> for PageTableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        allocate(GFP_KERNEL).ok().map(Frame::to_phys_frame)
    }
}

mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Room to record every frame of `zone`: a frame list and a bitmap.
    /// Made *before* draining a zone, as the heap cannot grow once LOWMEM is
    /// empty.
    fn bookkeeping(zone: Zone) -> (Vec<Frame>, Vec<u64>) {
        let statistics = statistics()[zone.index()];
        let bitmap_words = (statistics.end / FRAME_SIZE).div_ceil(64) as usize;
        (
            Vec::with_capacity(statistics.free + 64),
            vec![0; bitmap_words],
        )
    }

    /// Allocate every frame of `zone`, checking each is new and in the zone.
    fn drain(zone: Zone, flags: AllocationFlags, frames: &mut Vec<Frame>, seen: &mut [u64]) {
        while let Ok(frame) = allocate(flags) {
            assert_eq!(
                zone_of(frame),
                zone,
                "frame {:?} is in the wrong zone",
                frame
            );
            let (word, bit) = ((frame.number() / 64) as usize, frame.number() % 64);
            assert!(
                seen[word] & (1 << bit) == 0,
                "frame {:?} handed out twice",
                frame
            );
            seen[word] |= 1 << bit;
            assert!(frames.len() < frames.capacity(), "more frames than counted");
            frames.push(frame);
        }
        assert_eq!(statistics()[zone.index()].free, 0);
    }

    fn drain_highmem() -> Vec<Frame> {
        let (mut frames, mut seen) = bookkeeping(Zone::High);
        drain(Zone::High, GFP_HIGHMEM_ONLY, &mut frames, &mut seen);
        frames
    }

    fn every_frame_of_each_zone_is_allocated_once_then_freed() {
        let (mut highmem, mut high_seen) = bookkeeping(Zone::High);
        let (mut lowmem, mut low_seen) = bookkeeping(Zone::Low);
        let before = statistics();
        drain(Zone::High, GFP_HIGHMEM_ONLY, &mut highmem, &mut high_seen);
        assert_eq!(highmem.len(), before[Zone::High.index()].free);
        drain(Zone::Low, GFP_KERNEL, &mut lowmem, &mut low_seen);
        assert_eq!(lowmem.len(), before[Zone::Low.index()].free);
        assert!(allocate(GFP_HIGHUSER).is_err(), "both zones are empty");
        for frame in highmem.iter().chain(lowmem.iter()) {
            free(*frame).expect("freeing an allocated frame");
        }
        for (before, after) in before.iter().zip(statistics().iter()) {
            let counters = |s: &ZoneStatistics| (s.total, s.free, s.allocated, s.free_blocks);
            assert_eq!(
                counters(after),
                counters(before),
                "{} is back as it was",
                after.zone.name()
            );
            assert!(after.high_water >= before.allocated + before.free);
        }
    }
    crate::kernel_test!(every_frame_of_each_zone_is_allocated_once_then_freed);

    fn flags_choose_zones() {
        if crate::memory::skip_without_highmem() {
            return;
        }
        let kernel = allocate(GFP_KERNEL).unwrap();
        let user = allocate(GFP_HIGHUSER).unwrap();
        assert_eq!(zone_of(kernel), Zone::Low);
        assert_eq!(zone_of(user), Zone::High, "HIGHMEM is preferred");
        free(kernel).unwrap();
        free(user).unwrap();
    }
    crate::kernel_test!(flags_choose_zones);

    fn highuser_falls_back_to_lowmem() {
        let highmem = drain_highmem();
        let fallback = allocate(GFP_HIGHUSER).expect("LOWMEM still has frames");
        assert_eq!(zone_of(fallback), Zone::Low);
        free(fallback).unwrap();
        highmem.into_iter().for_each(|frame| free(frame).unwrap());
    }
    crate::kernel_test!(highuser_falls_back_to_lowmem);

    fn bad_frees_are_reported() {
        let frame = allocate(GFP_HIGHUSER).unwrap();
        free(frame).unwrap();
        assert_eq!(free(frame), Err(FreeError::NotAllocated(frame)));
        let below_managed = Frame::containing_address(0x1000);
        assert_eq!(
            free(below_managed),
            Err(FreeError::NotManaged(below_managed))
        );
        let beyond_ram = Frame::from_number(u32::MAX as u64);
        assert_eq!(free(beyond_ram), Err(FreeError::NotManaged(beyond_ram)));
        let run = allocate_contiguous(4, GFP_HIGHUSER).unwrap();
        assert_eq!(
            free(run.offset(1)),
            Err(FreeError::NotStartOfAllocation(run.offset(1)))
        );
        assert_eq!(
            free(run),
            Err(FreeError::WrongCount {
                frame: run,
                allocated: 4,
                freed: 1
            })
        );
        free_contiguous(run, 4).unwrap();
    }
    crate::kernel_test!(bad_frees_are_reported);

    fn odd_sized_contiguous_runs_give_back_their_excess() {
        if crate::memory::skip_without_highmem() {
            return;
        }
        let before = statistics()[Zone::High.index()];
        let run = allocate_contiguous(5, GFP_HIGHMEM_ONLY).unwrap();
        assert_eq!(statistics()[Zone::High.index()].free, before.free - 5);
        free_contiguous(run, 5).unwrap();
        let after = statistics()[Zone::High.index()];
        assert_eq!(
            (after.free, after.free_blocks),
            (before.free, before.free_blocks)
        );
        assert!(allocate_contiguous(0, GFP_KERNEL).is_err());
        assert!(allocate_contiguous((1 << MAX_ORDER) + 1, GFP_KERNEL).is_err());
    }
    crate::kernel_test!(odd_sized_contiguous_runs_give_back_their_excess);

    /// The argument for zsmalloc: after a checkerboard of frees, half of
    /// HIGHMEM is free, yet not even two contiguous frames can be found;
    /// single frames are still there for the asking.
    fn fragmentation_defeats_contiguous_allocation_but_not_single_frames() {
        if crate::memory::skip_without_highmem() {
            return;
        }
        let run = allocate_contiguous(8, GFP_HIGHMEM_ONLY).expect("a fresh zone has runs");
        free_contiguous(run, 8).unwrap();
        let highmem = drain_highmem();
        let is_black = |frame: &&Frame| frame.number().is_multiple_of(2);
        highmem
            .iter()
            .filter(is_black)
            .for_each(|frame| free(*frame).unwrap());
        let freed = highmem.iter().filter(is_black).count();
        let zone = statistics()[Zone::High.index()];
        assert_eq!(zone.free, freed);
        assert_eq!(
            zone.free_blocks[0], freed,
            "no free block is larger than one frame"
        );
        assert!(
            allocate_contiguous(2, GFP_HIGHMEM_ONLY).is_err(),
            "{} frames free, none adjacent",
            zone.free
        );
        let single = allocate(GFP_HIGHMEM_ONLY).expect("single frames are still available");
        free(single).unwrap();
        let is_white = |frame: &&Frame| !frame.number().is_multiple_of(2);
        highmem
            .iter()
            .filter(is_white)
            .for_each(|frame| free(*frame).unwrap());
        let run = allocate_contiguous(8, GFP_HIGHMEM_ONLY).expect("buddies merged back");
        free_contiguous(run, 8).unwrap();
    }
    crate::kernel_test!(fragmentation_defeats_contiguous_allocation_but_not_single_frames);

    fn orders_and_alignment() {
        assert_eq!(order_for(1), Some(0));
        assert_eq!(order_for(3), Some(2));
        assert_eq!(order_for(1024), Some(10));
        assert_eq!(order_for(1025), None);
        assert_eq!(largest_aligned_order(8, 100), 3);
        assert_eq!(largest_aligned_order(1024, 7), 2);
        assert_eq!(largest_aligned_order(0, 1 << 20), MAX_ORDER);
    }
    crate::kernel_test!(orders_and_alignment);
}
