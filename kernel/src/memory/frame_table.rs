//! Building the frame table at boot, from the bootloader's memory map.
//!
//! Every managed frame needs a record (Linux: `struct page`, in the array
//! `mem_map`). The records cannot live in the frames they describe, since
//! HIGHMEM frames are not mapped, so they form one table indexed by frame
//! number, carved out of LOWMEM before anything else is allocated:
//!
//! ```text
//!   memory map (usable regions)   [ ][######][ ][##################][ ]
//!   frame table: the first usable LOWMEM run large enough, not the ramdisk
//!                                     [table]
//!   records:  [ 0 .. lowmem_frames ) → LOWMEM's allocator
//!             [ lowmem_frames .. frame_count ) → HIGHMEM's allocator
//!   then every usable frame (not the first MiB, the table or the ramdisk)
//!   is handed to its zone: add_frame(number)
//! ```
//!
//! The table may use at most a quarter of LOWMEM: RAM beyond what such a
//! table can describe is left unmanaged, and the boot log says so.

use super::frame::{self, ZoneFrames, Zones, FIRST_MANAGED_ADDRESS};
use super::PAGE_SIZE;
use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use buddy::ZoneAllocator;
use core::mem::{size_of, MaybeUninit};
use core::ops::Range;

/// A range of physical addresses, `start..end`.
pub type PhysRange = Range<u64>;

/// One record of the frame table.
type Record = <ZoneFrames as ZoneAllocator<'static>>::Record;

/// What `init` did, for the boot log.
#[derive(Clone, Debug)]
pub struct FrameTableInfo {
    /// Where the frame table lives (physical, in LOWMEM).
    pub table: PhysRange,
    /// Usable RAM at or above this address is not managed (the frame table
    /// would not fit in LOWMEM); `None` if everything is managed.
    pub ignored_above: Option<u64>,
}

/// The usable regions of the memory map, in whole frames, above the first MiB.
fn usable_ranges(regions: &MemoryRegions) -> impl Iterator<Item = PhysRange> + '_ {
    let page = PAGE_SIZE as u64;
    regions
        .iter()
        .filter(|region| region.kind == MemoryRegionKind::Usable)
        .map(move |region| {
            region
                .start
                .max(FIRST_MANAGED_ADDRESS)
                .next_multiple_of(page)..region.end & !(page - 1)
        })
        .filter(|range| range.start < range.end)
}

/// Build both zones' allocators from the memory map and start serving frames.
///
/// `direct_map(physical)` gives the virtual address of a LOWMEM physical
/// address; `reserved` lists extra ranges never to hand out (the ramdisk).
pub fn init(
    regions: &MemoryRegions,
    lowmem_limit: u64,
    reserved: &[PhysRange],
    direct_map: impl Fn(u64) -> *mut u8,
) -> FrameTableInfo {
    let page = PAGE_SIZE as u64;
    let record = size_of::<Record>() as u64;
    let top_of_ram = usable_ranges(regions).map(|r| r.end).max().unwrap_or(0);
    let max_frames = lowmem_limit / 4 / record;
    let managed_end = top_of_ram.min(max_frames * page);
    let frame_count = managed_end / page;
    let table_bytes = (frame_count * record).next_multiple_of(page);
    let table = usable_ranges(regions)
        .map(|r| r.start..r.end.min(lowmem_limit))
        .find(|r| r.start < r.end && r.end - r.start >= table_bytes && !overlaps(r, reserved))
        .map(|r| r.start..r.start + table_bytes)
        .expect("no LOWMEM region is large enough for the frame table: raise lowmem=");
    let records = table_memory(direct_map(table.start), frame_count as usize);

    let lowmem_frames = (lowmem_limit / page).min(frame_count);
    let (low, high) = records.split_at_mut(lowmem_frames as usize);
    let mut zones = Zones {
        allocators: [
            ZoneFrames::new(low, 0),
            ZoneFrames::new(high, lowmem_frames),
        ],
        spans: [0..lowmem_frames, lowmem_frames..frame_count],
    };
    for range in usable_ranges(regions) {
        for address in (range.start..range.end.min(managed_end)).step_by(PAGE_SIZE) {
            let is_reserved =
                table.contains(&address) || reserved.iter().any(|r| r.contains(&address));
            if !is_reserved {
                let number = address / page;
                let zone = usize::from(number >= lowmem_frames);
                zones.allocators[zone]
                    .add_frame(number)
                    .expect("each usable frame is added once");
            }
        }
    }
    frame::install(zones);
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

/// The memory at `address`, room for `count` records, not yet initialised
/// (the zone allocators initialise it).
fn table_memory(address: *mut u8, count: usize) -> &'static mut [MaybeUninit<Record>] {
    // SAFETY: `init` chose `count` records' worth of usable LOWMEM frames
    // that nothing else uses (reserved ranges excluded, and they are never
    // handed out afterwards), mapped by the direct map at `address`, which
    // is page-aligned and so aligned for a record. Uninitialised memory is a
    // valid `MaybeUninit`, and this is the only reference to it for the rest
    // of the kernel's life.
    unsafe { core::slice::from_raw_parts_mut(address.cast::<MaybeUninit<Record>>(), count) }
}
