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
//! `init` runs once at boot, in this order:
//!
//! 1. choose the LOWMEM limit: boot option `lowmem=SIZE` (default 32 MiB),
//!    rounded down to 2 MiB and clamped to a sane range;
//! 2. find the ramdisk's physical frames through the page tables;
//! 3. build the frame table and the zones' allocators (`frame_table`) from
//!    the bootloader's memory map,
//!    never handing out the ramdisk's frames;
//! 4. move the ramdisk's pages that lie in LOWMEM to HIGHMEM frames (the
//!    BIOS bootloader loads it low, where it would crowd out the heap), and
//!    give the LOWMEM frames to the allocator;
//! 5. move any page table above the limit into LOWMEM, then cut the
//!    bootloader's direct map down to LOWMEM (`direct_map`);
//! 6. build the kmap slots' page table (`kmap`) and map the heap (`heap`).
//!
//! See `README.md` in this directory for the kernel's virtual memory layout.

pub mod direct_map;
pub mod frame;
pub mod frame_table;
pub mod heap;
pub mod kmap;
pub mod zsmalloc_backend;

use bootloader_api::info::MemoryRegions;
use bootloader_api::BootInfo;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::{Mutex, Once};
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, Size4KiB, Translate,
};
use x86_64::VirtAddr;

/// Size of one page / frame.
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

/// The active page tables, reachable through the direct map (they all live
/// in LOWMEM). Taken by code that maps pages: the heap, when it grows, takes
/// it from inside the allocator, so never allocate while holding it.
pub static PAGE_TABLE: Mutex<Option<OffsetPageTable<'static>>> = Mutex::new(None);

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
    /// Physical range of LOWMEM, and the direct map's virtual range for it.
    pub lowmem: Range<u64>,
    pub direct_map: Range<u64>,
    /// The kmap slots' virtual range.
    pub kmap: Range<u64>,
    /// The heap's virtual range at its largest.
    pub heap: Range<u64>,
    /// The kernel image's virtual range.
    pub kernel: Range<u64>,
    /// The frame table (physical), and where the bootloader loaded the
    /// ramdisk (physical), if there is one.
    pub frame_table: Range<u64>,
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

    let ramdisk = ramdisk_frames(boot_info);
    let reserved = ramdisk.as_slice();
    let frames = frame_table::init(&boot_info.memory_regions, lowmem, reserved, |physical| {
        (offset + physical) as *mut u8
    });

    let ramdisk_pages_moved = match ramdisk {
        Some(_) => move_ramdisk_out_of_lowmem(boot_info),
        None => 0,
    };

    let highmem_window = VirtAddr::new(offset + lowmem)..VirtAddr::new(offset + top_of_memory);
    let relocated = direct_map::restrict_to_lowmem(lowmem, highmem_window);
    kmap::init();
    // SAFETY: all page tables are in LOWMEM, which the direct map still
    // covers; this is the only handle to them from now on, behind a lock.
    let page_table = unsafe { active_page_table(VirtAddr::new(offset)) };
    *PAGE_TABLE.lock() = Some(page_table);
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

/// The physical frames behind the ramdisk's virtual mapping, found through
/// the page tables (the bootloader loads it into one physical run).
fn ramdisk_frames(boot_info: &BootInfo) -> Option<Range<u64>> {
    let start = boot_info.ramdisk_addr.into_option()?;
    let length = boot_info.ramdisk_len;
    if length == 0 {
        return None;
    }
    // SAFETY: at this point the bootloader's direct map covers all physical
    // memory, and this temporary handle is the only one (dropped at return).
    let page_table = unsafe { active_page_table(VirtAddr::new(physical_memory_offset())) };
    let translate = |address: u64| {
        page_table
            .translate_addr(VirtAddr::new(address))
            .expect("the ramdisk is not mapped")
            .as_u64()
    };
    let physical_start = translate(start);
    for offset in (0..length).step_by(PAGE_SIZE) {
        assert_eq!(
            translate(start + offset),
            physical_start + offset,
            "the ramdisk is not physically contiguous"
        );
    }
    let first = physical_start & !(PAGE_SIZE as u64 - 1);
    Some(first..(physical_start + length).next_multiple_of(PAGE_SIZE as u64))
}

/// Copy each ramdisk page that lies in LOWMEM into a HIGHMEM frame, point the
/// ramdisk's mapping at the copy, and give the LOWMEM frame to the allocator.
/// The ramdisk's virtual address and contents do not change. Stops early,
/// leaving the rest in place, when HIGHMEM runs out. Returns the pages moved.
///
/// Must run while the direct map still covers all memory (both frames are
/// reached through it).
fn move_ramdisk_out_of_lowmem(boot_info: &BootInfo) -> usize {
    let start = boot_info.ramdisk_addr.into_option().unwrap_or(0);
    let offset = physical_memory_offset();
    // SAFETY: the bootloader's direct map covers all physical memory, and
    // this temporary handle is the only one (dropped at return).
    let mut page_table = unsafe { active_page_table(VirtAddr::new(offset)) };
    let mut moved = 0;
    for address in (start..start + boot_info.ramdisk_len).step_by(PAGE_SIZE) {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(address));
        let Ok(old) = page_table.translate_page(page) else {
            continue; // the ramdisk is mapped with 4 KiB pages; nothing else is expected
        };
        if old.start_address().as_u64() >= lowmem_limit() {
            continue;
        }
        let Ok(new) = frame::allocate(frame::GFP_HIGHMEM_ONLY) else {
            break;
        };
        // SAFETY: `old` backs the ramdisk page and `new` was just allocated;
        // both are distinct frames, reachable through the full direct map.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (offset + old.start_address().as_u64()) as *const u8,
                (offset + new.start_address()) as *mut u8,
                PAGE_SIZE,
            );
        }
        let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
        // SAFETY: the page maps the ramdisk, whose contents the copy holds
        // identically; interrupts are still off at boot, so nothing can read
        // the page while it is unmapped.
        unsafe {
            let (_, flush) = page_table
                .unmap(page)
                .expect("the page was just translated");
            flush.ignore();
            page_table
                .map_to(
                    page,
                    new.to_phys_frame(),
                    flags,
                    &mut frame::PageTableFrames,
                )
                .expect("the page's table exists: it was mapped a moment ago")
                .flush();
        }
        let old_address = (offset + old.start_address().as_u64()) as *const [u8; PAGE_SIZE];
        // SAFETY: the ramdisk page is mapped (to `new`) and the old frame is
        // still in the direct map; both are 4096 readable bytes nobody writes.
        let same = unsafe { *(address as *const [u8; PAGE_SIZE]) == *old_address };
        assert!(
            same,
            "the ramdisk page at {:#x} did not move intact",
            address
        );
        let old = frame::Frame::containing_address(old.start_address().as_u64());
        frame::release_reserved(old).expect("the ramdisk's frames are reserved");
        moved += 1;
    }
    moved
}

/// # Safety
/// All page tables must be mapped at `offset` + their physical address, and
/// no other reference to them may exist while the result lives.
unsafe fn active_page_table(offset: VirtAddr) -> OffsetPageTable<'static> {
    let (level_4_frame, _) = Cr3::read();
    let address = offset + level_4_frame.start_address().as_u64();
    let table: *mut PageTable = address.as_mut_ptr();
    // SAFETY: per this function's contract the table is mapped at `address`
    // and no other reference to it exists.
    unsafe { OffsetPageTable::new(&mut *table, offset) }
}
