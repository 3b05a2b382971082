//! The physical frame allocator (boot version): hands out the usable 4 KiB
//! frames of the bootloader's memory map one after the other.
//!
//! ```text
//!   memory map:  [reserved][ usable ........ ][reserved][ usable .... ]
//!                           ^ next frame handed out
//! ```

use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use spin::Mutex;
use x86_64::structures::paging::{FrameAllocator, PhysFrame, Size4KiB};
use x86_64::PhysAddr;

const MAX_REGIONS: usize = 64;

struct BootFrameAllocator {
    regions: [(u64, u64); MAX_REGIONS],
    region_count: usize,
    current_region: usize,
    next_address: u64,
    usable_bytes: u64,
}

static FRAMES: Mutex<BootFrameAllocator> = Mutex::new(BootFrameAllocator {
    regions: [(0, 0); MAX_REGIONS],
    region_count: 0,
    current_region: 0,
    next_address: 0,
    usable_bytes: 0,
});

/// Record the usable regions of the memory map.
pub fn init(memory_regions: &MemoryRegions) {
    let mut frames = FRAMES.lock();
    for region in memory_regions
        .iter()
        .filter(|region| region.kind == MemoryRegionKind::Usable)
    {
        let start = region.start.next_multiple_of(4096);
        let end = region.end & !4095;
        if end > start && frames.region_count < MAX_REGIONS {
            let index = frames.region_count;
            frames.regions[index] = (start, end);
            frames.region_count += 1;
            frames.usable_bytes += end - start;
        }
    }
    frames.next_address = frames.regions[0].0;
}

/// Total usable physical memory in bytes.
pub fn usable_bytes() -> u64 {
    FRAMES.lock().usable_bytes
}

/// Allocate one frame, or `None` when all are used.
pub fn allocate() -> Option<PhysFrame> {
    let mut frames = FRAMES.lock();
    while frames.current_region < frames.region_count {
        let (_, end) = frames.regions[frames.current_region];
        if frames.next_address < end {
            let address = frames.next_address;
            frames.next_address += 4096;
            return Some(PhysFrame::containing_address(PhysAddr::new(address)));
        }
        frames.current_region += 1;
        if frames.current_region < frames.region_count {
            frames.next_address = frames.regions[frames.current_region].0;
        }
    }
    None
}

/// Adapter so the `x86_64` paging code can take frames for new page tables.
pub struct GlobalFrames;

// SAFETY: `allocate` returns each usable frame at most once.
unsafe impl FrameAllocator<Size4KiB> for GlobalFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        allocate()
    }
}
