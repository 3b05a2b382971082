//! Memory management: physical frames in two zones, the direct map, kmap and
//! the kernel heap, arranged like a 32-bit Linux kernel's.
//!
//! ```text
//!   physical memory    [ 1st MiB ][ LOWMEM ............ ][ HIGHMEM ..................... ]
//!                                 │ direct map            │ no permanent mapping
//!                                 ▼ (phys + offset)       ▼ kmap: one of 16 slots, briefly
//!   kernel virtual     direct map of LOWMEM only     kmap slots     growable heap
//! ```
//!
//! Modules, one concept each:
//!
//! ```text
//!   frame            frames, zones, GFP flags: allocate / free (the kernel's interface)
//!   frame_table      building the frame table and each zone's allocator at boot
//!                    (the algorithm: the `buddy` crate)
//!   paging           the page tables and their owners
//!   direct_map       cutting the bootloader's map of all memory down to LOWMEM
//!   kmap             mapping a frame for a moment: 16 stack-ordered slots
//!   heap             the kernel heap, growing with LOWMEM frames
//!   zsmalloc_backend zsmalloc's pages: frames, kmap, interrupts off
//! ```
//!
//! `init` runs once at boot, in this order:
//!
//! 1. choose the LOWMEM limit: boot option `lowmem=SIZE` (default 32 MiB),
//!    rounded down to 2 MiB and clamped to a sane range;
//! 2. take the bootloader's page tables (`paging`) and find the ramdisk's
//!    physical frames through them (`crate::ramdisk`);
//! 3. build the frame table and the zones' allocators (`frame_table`) from
//!    the bootloader's memory map, never handing out the ramdisk's frames;
//! 4. move the ramdisk's pages that lie in LOWMEM to HIGHMEM frames (the
//!    BIOS bootloader loads it low, where it would crowd out the heap), and
//!    give the LOWMEM frames to the allocator;
//! 5. move any page table above the limit into LOWMEM, then cut the
//!    bootloader's direct map down to LOWMEM (`direct_map`);
//! 6. give kmap the level-1 table of its window (`kmap`), put the other
//!    page tables behind their lock, and map the heap (`heap`).
//!
//! The kernel's virtual memory layout is drawn in the project's README.

pub mod direct_map;
pub mod frame;
pub mod frame_table;
pub mod heap;
#[cfg_attr(feature = "lab-kmap", path = "../../../labs/kmap/kmap.rs")]
pub mod kmap;
pub mod paging;
pub mod zsmalloc_backend;

use bootloader_api::info::MemoryRegions;
use bootloader_api::BootInfo;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};
use paging::PageTables;
use spin::Once;
use x86_64::VirtAddr;

/// Size of one page, and of one physical frame: the kernel's only definition.
pub const PAGE_SIZE: usize = 4096;
/// LOWMEM when no `lowmem=` option is given.
pub const DEFAULT_LOWMEM: u64 = 32 << 20;
/// The smallest LOWMEM accepted: room for the frame table, page tables and heap.
pub const MIN_LOWMEM: u64 = 16 << 20;
/// LOWMEM is a whole number of 2 MiB pages of the direct map.
const LOWMEM_ALIGNMENT: u64 = 2 << 20;

/// The bootloader places its mappings (kernel, stack, boot info, direct map,
/// ramdisk) below this address; the kernel's fixed windows lie above it.
pub const BOOTLOADER_MAPPINGS_END: u64 = 0x0000_3fff_ffff_ffff;

static PHYSICAL_MEMORY_OFFSET: Once<u64> = Once::new();
static LOWMEM_LIMIT: AtomicU64 = AtomicU64::new(0);
static LAYOUT: Once<MemoryLayout> = Once::new();

/// The virtual address where the direct map starts (physical address 0).
#[inline]
pub fn physical_memory_offset() -> u64 {
    *PHYSICAL_MEMORY_OFFSET
        .get()
        .expect("memory::init has not run")
}

/// The end of LOWMEM: physical addresses below it are direct-mapped.
#[inline]
pub fn lowmem_limit() -> u64 {
    LOWMEM_LIMIT.load(Ordering::Relaxed)
}

/// The direct-map address of physical address `physical`, if it is LOWMEM.
#[inline]
pub fn direct_map_address(physical: u64) -> Option<*mut u8> {
    (physical < lowmem_limit()).then(|| (physical_memory_offset() + physical) as *mut u8)
}

/// Where things are, for the boot log and the curious.
#[derive(Clone, Debug)]
pub struct MemoryLayout {
    /// Physical range of LOWMEM.
    pub lowmem: Range<u64>,
    /// The direct map's virtual range (LOWMEM only).
    pub direct_map: Range<u64>,
    /// The kmap slots' virtual range.
    pub kmap: Range<u64>,
    /// The heap's virtual range at its largest.
    pub heap: Range<u64>,
    /// The kernel image's virtual range.
    pub kernel: Range<u64>,
    /// The frame table (physical).
    pub frame_table: Range<u64>,
    /// Where the bootloader loaded the ramdisk (physical), if there is one.
    pub ramdisk: Option<Range<u64>>,
    /// Ramdisk pages moved from LOWMEM to HIGHMEM frames at boot.
    pub ramdisk_pages_moved: usize,
    /// Page tables copied into LOWMEM at boot.
    pub relocated_page_tables: usize,
    /// Usable RAM above this is not managed (frame table too big for LOWMEM).
    pub ignored_above: Option<u64>,
}

/// The layout chosen at boot.
pub fn layout() -> &'static MemoryLayout {
    LAYOUT.get().expect("memory::init has not run")
}

/// Log the zones, the layout, the heap and kmap (at boot, at INFO level).
pub fn log_summary() {
    for zone in frame::statistics() {
        crate::info!("{}", zone);
    }
    let layout = layout();
    crate::info!(
        "direct map   {:#018x}-{:#018x} -> physical {:#x}-{:#x} (LOWMEM only)",
        layout.direct_map.start,
        layout.direct_map.end,
        layout.lowmem.start,
        layout.lowmem.end
    );
    crate::info!(
        "kmap slots   {:#018x}-{:#018x} ({} slots)",
        layout.kmap.start,
        layout.kmap.end,
        kmap::KMAP_SLOTS
    );
    crate::info!(
        "heap         {:#018x}-{:#018x} (at its limit)",
        layout.heap.start,
        layout.heap.end
    );
    crate::info!(
        "kernel image {:#018x}-{:#018x}",
        layout.kernel.start,
        layout.kernel.end
    );
    crate::info!(
        "frame table  physical {:#x}-{:#x}; {} page table(s) relocated into LOWMEM",
        layout.frame_table.start,
        layout.frame_table.end,
        layout.relocated_page_tables
    );
    if let Some(ramdisk) = &layout.ramdisk {
        crate::info!(
            "ramdisk      loaded at physical {:#x}-{:#x}; {} page(s) moved from LOWMEM to HIGHMEM",
            ramdisk.start,
            ramdisk.end,
            layout.ramdisk_pages_moved
        );
    }
    if let Some(address) = layout.ignored_above {
        crate::warn!(
            "RAM above {:#x} is not managed: raise lowmem= to manage it",
            address
        );
    }
    crate::info!("{}", heap::statistics());
    crate::info!("{}", kmap::statistics());
}

/// Set up frames, the direct map, kmap and the heap (see the module header).
pub fn init(boot_info: &BootInfo) {
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("the bootloader did not map physical memory");
    PHYSICAL_MEMORY_OFFSET.call_once(|| offset);
    let top_of_memory = direct_map_end(&boot_info.memory_regions);
    let lowmem = choose_lowmem_limit(&boot_info.memory_regions);
    LOWMEM_LIMIT.store(lowmem, Ordering::Relaxed);

    // SAFETY: this runs once, at boot, before anything else touches the page
    // tables, and the bootloader maps all physical memory at `offset`.
    let mut tables = unsafe { PageTables::take_active(offset) };
    let ramdisk = crate::ramdisk::frames(boot_info, &tables);
    let reserved = ramdisk.as_slice();
    let frames = frame_table::init(&boot_info.memory_regions, lowmem, reserved, |physical| {
        (offset + physical) as *mut u8
    });
    let ramdisk_pages_moved = crate::ramdisk::move_out_of_lowmem(boot_info, &mut tables);

    let highmem_window = VirtAddr::new(offset + lowmem)..VirtAddr::new(offset + top_of_memory);
    let relocated = direct_map::restrict_to_lowmem(&mut tables, lowmem, highmem_window);
    kmap::init(tables.carve_out(VirtAddr::new(kmap::KMAP_BASE)));
    paging::install(tables);
    heap::init();

    let kernel_start = boot_info.kernel_image_offset;
    LAYOUT.call_once(|| MemoryLayout {
        lowmem: 0..lowmem,
        direct_map: offset..offset + lowmem,
        kmap: kmap::KMAP_BASE..kmap::slot_address(kmap::KMAP_SLOTS),
        heap: heap::HEAP_START..heap::HEAP_START + heap::statistics().limit,
        kernel: kernel_start..kernel_start + boot_info.kernel_len,
        frame_table: frames.table,
        ramdisk,
        ramdisk_pages_moved,
        relocated_page_tables: relocated,
        ignored_above: frames.ignored_above,
    });
}

/// Is there any HIGHMEM? (Not when `lowmem=` is at least the size of RAM.)
pub fn highmem_present() -> bool {
    frame::statistics()[frame::Zone::High.index()].total > 0
}

/// Where the bootloader's direct map ends: the top of the memory map (at
/// least 4 GiB), rounded up to its 2 MiB pages.
fn direct_map_end(regions: &MemoryRegions) -> u64 {
    let top = regions.iter().map(|region| region.end).max().unwrap_or(0);
    top.max(1 << 32).next_multiple_of(LOWMEM_ALIGNMENT)
}

/// The LOWMEM limit from the `lowmem=` boot option, made sane.
fn choose_lowmem_limit(regions: &MemoryRegions) -> u64 {
    let top_of_ram = regions
        .iter()
        .filter(|region| region.kind == bootloader_api::info::MemoryRegionKind::Usable)
        .map(|region| region.end)
        .max()
        .unwrap_or(0)
        .next_multiple_of(LOWMEM_ALIGNMENT);
    let requested = match crate::boot_options::get("lowmem") {
        None => DEFAULT_LOWMEM,
        Some(text) => crate::boot_options::parse_size(text).unwrap_or_else(|| {
            crate::warn!(
                "lowmem={}: not a size; using {} MiB",
                text,
                DEFAULT_LOWMEM >> 20
            );
            DEFAULT_LOWMEM
        }),
    };
    let limit = (requested & !(LOWMEM_ALIGNMENT - 1)).clamp(MIN_LOWMEM, top_of_ram.max(MIN_LOWMEM));
    if limit != requested {
        crate::warn!(
            "lowmem: {} KiB requested, using {} KiB (2 MiB multiple between {} MiB and the top of RAM)",
            requested >> 10,
            limit >> 10,
            MIN_LOWMEM >> 20
        );
    }
    limit
}
