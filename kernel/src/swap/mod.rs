//! Compressed swap: a workload region larger than its resident budget,
//! demand-paged through the compressed store (zram on zsmalloc).
//!
//! ```text
//!   workload (kernel mode) touches REGION_BASE + k × 4096
//!        │ PTE not present: #PF
//!        ▼
//!   interrupts::page_fault_handler ──► swap::resolve ──► SwapSpace::fault(k)   (space.rs)
//!        ▲                                                 │ frame: spare, or clock's victim
//!        │ iretq: the access runs again                    │   dirty? store.write (LZ4, zsmalloc)
//!        └─────────────────────────────────────────────────┤   clean? swap-cache hit, no write
//!                                                          │ entry 0: zero-fill (demand-zero)
//!                                                          └ swap entry: store.read into the frame
//! ```
//!
//! | file | what it holds |
//! | --- | --- |
//! | `entry.rs` | the swap entry: the encoding of a non-present PTE naming a compressed copy |
//! | `region.rs` | the region's page tables (a carved-out level-2 table, level-1 tables in LOWMEM) |
//! | `space.rs` | the fault path, the clean-first clock (second chance) reclaim, the swap cache, compaction |
//! | `error.rs` | why a fault could not be resolved (forged or stale entry, store failure) |
//! | `stats.rs` | the counters of a phase |
//! | `workload.rs` | the workload (load, scan 1..3, verify; defined in crate `swap-workload`) |
//! | `report.rs` | the readable block and the `SWAP-REPORT {json}` line of each phase |
//!
//! The budget comes from the boot option `resident=PERCENT%|SIZE`
//! (`./run-qemu.sh swap --resident 25%`), 50% of the region by default.

pub mod entry;
pub mod error;
pub mod region;
pub mod report;
pub mod space;
pub mod stats;
pub mod workload;

use crate::memory::zsmalloc_backend::KernelPages;
use crate::memory::PAGE_SIZE;
use region::{MAX_PAGES, REGION_BASE};
use space::SwapSpace;
use spin::Mutex;
use x86_64::structures::idt::PageFaultErrorCode;
use zram::CompressedStore;

/// The resident budget: a share of the region or a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// This percentage (1..=100) of the region's pages, rounded up.
    Percent(u64),
    /// This many bytes (whole pages, rounded down; at least one page).
    Bytes(u64),
}

impl Budget {
    /// The default: half of the region.
    pub const DEFAULT: Budget = Budget::Percent(50);

    /// Parse `50%` or a size such as `8M` (see `boot_options::parse_size`).
    pub fn parse(text: &str) -> Result<Budget, &'static str> {
        if let Some(digits) = text.strip_suffix('%') {
            match digits.parse::<u64>() {
                Ok(percent) if (1..=100).contains(&percent) => Ok(Budget::Percent(percent)),
                _ => Err("a percentage must be a whole number from 1 to 100"),
            }
        } else {
            match crate::boot_options::parse_size(text) {
                Some(bytes) if bytes >= PAGE_SIZE as u64 => Ok(Budget::Bytes(bytes)),
                Some(_) => Err("a size must be at least one page (4K)"),
                None => Err("expected PERCENT% or a size such as 8M"),
            }
        }
    }

    /// The budget in pages for a region of `pages` (at least one, at most all).
    pub fn pages(self, pages: usize) -> usize {
        let wanted = match self {
            Budget::Percent(percent) => (pages as u64 * percent).div_ceil(100),
            Budget::Bytes(bytes) => bytes / PAGE_SIZE as u64,
        };
        (wanted as usize).clamp(1, pages.max(1))
    }
}

/// The budget the boot option `resident` asks for (the default without it).
pub fn chosen_budget() -> Result<Budget, &'static str> {
    crate::boot_options::get("resident").map_or(Ok(Budget::DEFAULT), Budget::parse)
}

/// The swap demo (`./run-qemu.sh swap`): the workload over `workload`'s
/// pages with the budget of the boot option `resident`; `true` if every page
/// verified. A bad budget is reported and fails the run.
pub fn run_demo(workload: &crate::compressed_ram::workload::Workload) -> bool {
    let budget = match chosen_budget() {
        Ok(budget) => budget,
        Err(reason) => {
            crate::error!(
                "swap: bad resident budget '{}': {}",
                crate::boot_options::get("resident").unwrap_or(""),
                reason
            );
            return false;
        }
    };
    crate::info!(
        "swap: {} pages from the {}, resident budget {} pages ({:?}), zsmalloc {}",
        workload.page_count(),
        workload.describe(),
        budget.pages(workload.page_count()),
        budget,
        crate::compressed_ram::chosen_configuration().0
    );
    let reports = workload::run(workload, budget, true);
    reports.iter().all(|report| report.verified != Some(false))
}

/// The region the fault handler serves (one at a time).
static SPACE: Mutex<Option<SwapSpace>> = Mutex::new(None);

/// Make the swap region: `pages` demand-zero pages at [`REGION_BASE`], at
/// most `limit` resident, paging through `store` (which needs a slot per
/// page). A region made before is torn down first (its frames freed).
pub fn create(pages: usize, limit: usize, store: CompressedStore<KernelPages>) {
    crate::interrupts::set_page_fault_resolver(resolve);
    drop(SPACE.lock().take());
    let space = SwapSpace::new(pages, limit, store);
    *SPACE.lock() = Some(space);
}

/// Tear the region down, freeing its frames and page tables; its store and
/// pool go with it.
pub fn destroy() {
    drop(SPACE.lock().take());
}

/// Run `f` on the region's swap space. `f` must not touch the region's
/// memory (a fault there would find the space locked and panic).
pub fn with<T>(f: impl FnOnce(&mut SwapSpace) -> T) -> T {
    let mut space = SPACE.lock();
    f(space.as_mut().expect("swap::create has not run"))
}

/// Page `page`'s address in the region.
pub fn page_address(page: usize) -> *mut u64 {
    region::RegionTables::address(page) as *mut u64
}

/// The page-fault resolver: a fault inside the region makes its page
/// resident; anything else (or a present page) is not ours.
fn resolve(address: u64, _error: PageFaultErrorCode) -> bool {
    if !(REGION_BASE..REGION_BASE + (MAX_PAGES * PAGE_SIZE) as u64).contains(&address) {
        return false;
    }
    let page = ((address - REGION_BASE) / PAGE_SIZE as u64) as usize;
    let Some(mut guard) = SPACE.try_lock() else {
        return false;
    };
    let Some(space) = guard.as_mut() else {
        return false;
    };
    if page >= space.pages() {
        return false;
    }
    match space.fault(page) {
        Ok(resolved) => resolved,
        Err(error) => {
            drop(guard);
            panic!("{error}")
        }
    }
}
