//! The swap space of one region: its page tables, its resident frames, the
//! compressed store behind it, and the two paths between them.
//!
//! ```text
//!   fault(k)                                   reclaim (clock over the resident ring, clean first)
//!   ────────                                   ─────────────────────────────────────────────────
//!   PTE(k) present?  ── not ours: panic        hand ─► ring[hand] = page v
//!   a frame: spare, or reclaim one ──────────►   PTE(v).A set? clear it, hand += 1, again
//!   PTE(k) == 0 ─► map, zero (demand-zero)       dirty, or no valid copy?
//!   swap entry ─► check tag, slot, generation       fewer than 16 passed over yet? hand += 1, again
//!              ─► map, store.read(slot) into it     else: store.write(v) (compress) ─► gen += 1
//!              ─► clear D, invlpg (clean again)  clean with a valid copy: swap-cache hit, no write
//!   ring[hand] = k, hand += 1                    PTE(v) = swap entry(v, gen); invlpg(v)
//!                                                the frame goes to the faulting page
//! ```
//!
//! Reclaim is clean first (CFLRU's idea, and Linux's preference for clean
//! pages, in clock form): of the pages not used since the hand last passed,
//! a clean one with a valid copy costs nothing to drop, a dirty one costs a
//! compression. The hand passes over at most [`CLEAN_FIRST_WINDOW`] unused
//! dirty pages per reclaim looking for a clean one, then takes the next, so
//! dirty pages are compressed less often and a reclaim stays bounded (one
//! revolution to clear accessed bits, plus the window). The budget still
//! caps the resident frames: the policy only chooses among them.
//!
//! The store keeps a page's compressed copy after a swap-in (that is the
//! *swap cache*): as long as the page stays clean (the CPU's dirty bit is
//! clear), evicting it again is one PTE write and one `invlpg`. Same-filled
//! pages cost the store one word and incompressible ones are kept whole
//! (see `zram`). When the store cannot get memory, the pool is compacted
//! (like Linux's zsmalloc shrinker) and the write tried again; the pool is
//! also compacted whenever it wastes more than a quarter of its pages.
//! Nothing on these paths allocates from the heap except zsmalloc's own
//! bookkeeping: the frames are allocated when the region is made.

pub use super::error::SwapError;

use super::entry::{SwapEntry, ACCESSED, DIRTY, FRAME_MASK, GENERATION_MASK, PRESENT, WRITABLE};
use super::region::RegionTables;
use super::stats::SwapCounters;
use crate::memory::frame::{self, Frame, GFP_HIGHUSER};
use crate::memory::zsmalloc_backend::KernelPages;
use crate::memory::PAGE_SIZE;
use crate::tsc;
use alloc::vec::Vec;
use x86_64::instructions::tlb;
use x86_64::VirtAddr;
use zram::{CompressedStore, SlotContents, StoreError};

/// Bit of a page's state word: the store holds a valid copy of the page.
const COPY_VALID: u32 = 1 << 31;

/// Unused dirty (or copy-less) pages one reclaim may pass over looking for
/// a clean one (each step is a PTE read; a write saved, a compression).
pub const CLEAN_FIRST_WINDOW: usize = 16;

/// A region of demand-paged memory, at most `limit` pages resident.
pub struct SwapSpace {
    tables: RegionTables,
    store: CompressedStore<KernelPages>,
    /// Per page: bit 31 = the store's copy is valid; bits 0..24 = generation.
    state: Vec<u32>,
    /// The resident pages, in the clock's order (at most `limit`).
    ring: Vec<u32>,
    hand: usize,
    /// Frames allocated for the budget and mapped to no page yet.
    spare: Vec<Frame>,
    limit: usize,
    /// This phase's figures.
    pub counters: SwapCounters,
    /// Cycles of each fault of this phase (capacity reserved per phase).
    pub fault_cycles: Vec<u32>,
    swap_outs_since_check: u32,
}

impl SwapSpace {
    /// A region of `pages` untouched pages whose resident set is at most
    /// `limit` frames (allocated now, HIGHMEM first), backed by `store`.
    pub fn new(pages: usize, limit: usize, store: CompressedStore<KernelPages>) -> SwapSpace {
        assert!(
            limit >= 1,
            "a swap region needs at least one resident frame"
        );
        assert!(store.slot_count() >= pages, "one store slot per page");
        assert!(pages <= super::entry::MAX_SLOTS);
        let limit = limit.min(pages.max(1));
        let mut spare = Vec::with_capacity(limit);
        for _ in 0..limit {
            let frame = frame::allocate(GFP_HIGHUSER)
                .unwrap_or_else(|_| panic!("swap: no frame left for a budget of {limit} pages"));
            spare.push(frame);
        }
        SwapSpace {
            tables: RegionTables::new(pages),
            store,
            state: alloc::vec![0; pages],
            ring: Vec::with_capacity(limit),
            hand: 0,
            spare,
            limit,
            counters: SwapCounters::default(),
            fault_cycles: Vec::new(),
            swap_outs_since_check: 0,
        }
    }

    /// The region's pages.
    pub fn pages(&self) -> usize {
        self.tables.pages()
    }

    /// The resident budget, in pages.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Pages resident now.
    pub fn resident(&self) -> usize {
        self.ring.len()
    }

    /// The store behind the region.
    pub fn store(&self) -> &CompressedStore<KernelPages> {
        &self.store
    }

    /// Frames of page tables and bytes of the per-page arrays: the swap's own
    /// metadata (the store's and the pool's are in its statistics).
    pub fn metadata(&self) -> (usize, usize) {
        let arrays = self.state.capacity() * 4
            + self.ring.capacity() * 4
            + self.spare.capacity() * core::mem::size_of::<Frame>()
            + self.fault_cycles.capacity() * 4;
        (self.tables.table_frames(), arrays)
    }

    /// Start a phase: counters from zero, room for `faults` fault timings.
    pub fn begin_phase(&mut self, faults: usize) {
        self.counters = SwapCounters {
            resident_max: self.ring.len(),
            ..SwapCounters::default()
        };
        self.fault_cycles.clear();
        self.fault_cycles.reserve(faults);
    }

    /// The raw page-table entry of `page` (for tests and the curious).
    pub fn raw_entry(&self, page: usize) -> u64 {
        assert!(page < self.pages(), "page {page} is outside the region");
        // SAFETY: the entry belongs to this region's tables.
        unsafe { self.entry(page).read_volatile() }
    }

    /// Overwrite the non-present entry of a non-resident `page` with `raw`
    /// (non-present too): how the tests forge and replay swap entries. No
    /// frame is involved, so nothing can be mapped by it.
    pub fn set_raw_entry(&mut self, page: usize, raw: u64) {
        assert!(raw & PRESENT == 0, "only non-present entries may be set");
        assert!(
            self.raw_entry(page) & PRESENT == 0,
            "page {page} is resident; its entry maps a frame"
        );
        // SAFETY: a non-present entry replaces a non-present one.
        unsafe { self.entry(page).write_volatile(raw) };
    }

    #[inline(always)]
    fn entry(&self, page: usize) -> *mut u64 {
        self.tables.entry(page)
    }

    /// Resolve a fault on `page`: make it resident. `Ok(false)` if the
    /// entry is present (a protection fault: not demand paging's).
    pub fn fault(&mut self, page: usize) -> Result<bool, SwapError> {
        let start = tsc::read();
        let pte = self.entry(page);
        // SAFETY: `pte` is the entry of a page of this region.
        let raw = unsafe { pte.read_volatile() };
        if raw & PRESENT != 0 {
            return Ok(false);
        }
        let swap_entry = if raw == 0 {
            None
        } else {
            Some(self.check_entry(page, raw)?)
        };
        let frame = self.take_frame()?;
        let address = RegionTables::address(page);
        let mapped = frame.start_address() | PRESENT | WRITABLE | ACCESSED;
        // SAFETY: the frame is ours and unmapped; the entry was not present,
        // so no translation of it is cached and none needs flushing.
        unsafe { pte.write_volatile(mapped) };
        self.counters.faults += 1;
        match swap_entry {
            None => {
                // SAFETY: the page is mapped to our frame just now.
                unsafe { (address as *mut u8).write_bytes(0, PAGE_SIZE) };
                self.counters.demand_zero += 1;
            }
            Some(swap_entry) => {
                let swap_in = tsc::read();
                // SAFETY: the page is mapped to our frame, which nothing else
                // reaches; the slice ends before the next page.
                let target =
                    unsafe { core::slice::from_raw_parts_mut(address as *mut u8, PAGE_SIZE) };
                if let Err(error) = self.store.read(swap_entry.slot as usize, target) {
                    return Err(SwapError::ReadFailed { page, error });
                }
                // Writing the copy set the dirty bit: the page is clean (it
                // equals its copy), so clear it and drop the cached one.
                // SAFETY: our entry; the flush makes the CPU read it again.
                unsafe { pte.write_volatile(mapped) };
                tlb::flush(VirtAddr::new(address));
                self.counters.swap_ins += 1;
                self.counters.swap_in_cycles += tsc::read() - swap_in;
            }
        }
        self.place_in_ring(page);
        let cycles = tsc::read() - start;
        self.counters.fault_cycles += cycles;
        if self.fault_cycles.len() < self.fault_cycles.capacity() {
            self.fault_cycles
                .push(cycles.min(u64::from(u32::MAX)) as u32);
        }
        Ok(true)
    }

    /// The entry must be one we wrote, for this page, of its current copy.
    fn check_entry(&self, page: usize, raw: u64) -> Result<SwapEntry, SwapError> {
        let entry = SwapEntry::decode(raw).ok_or(SwapError::Forged { page, raw })?;
        if entry.slot as usize != page {
            return Err(SwapError::Forged { page, raw });
        }
        let state = self.state[page];
        let current = (state & COPY_VALID != 0).then_some(state & GENERATION_MASK);
        if current != Some(entry.generation) {
            return Err(SwapError::Stale {
                page,
                entry: entry.generation,
                current,
            });
        }
        Ok(entry)
    }

    /// A frame for a faulting page: a spare one while the budget allows,
    /// else the clock's victim's.
    fn take_frame(&mut self) -> Result<Frame, SwapError> {
        if let Some(frame) = self.spare.pop() {
            return Ok(frame);
        }
        let start = tsc::read();
        let frame = self.reclaim_one();
        self.counters.reclaim_cycles += tsc::read() - start;
        frame
    }

    fn place_in_ring(&mut self, page: usize) {
        if self.ring.len() < self.limit {
            self.ring.push(page as u32);
            self.counters.resident_max = self.counters.resident_max.max(self.ring.len());
        } else {
            // `reclaim_one` left the hand on the victim's place.
            self.ring[self.hand] = page as u32;
            self.hand = (self.hand + 1) % self.limit;
        }
    }

    /// The clock, clean first (see the module's notes). Leaves the hand on
    /// the victim's place.
    fn reclaim_one(&mut self) -> Result<Frame, SwapError> {
        let mut passed_over = 0;
        loop {
            let victim = self.ring[self.hand] as usize;
            let pte = self.entry(victim);
            // SAFETY: the entry of a resident page of this region.
            let raw = unsafe { pte.read_volatile() };
            if raw & ACCESSED != 0 {
                // Second chance. Like Linux on x86, no flush: a cached
                // translation only delays the bit being set again.
                // SAFETY: our entry; only the accessed bit changes.
                unsafe { pte.write_volatile(raw & !ACCESSED) };
                self.counters.second_chances += 1;
                self.hand = (self.hand + 1) % self.limit;
                continue;
            }
            let needs_write = raw & DIRTY != 0 || self.state[victim] & COPY_VALID == 0;
            if needs_write && passed_over < CLEAN_FIRST_WINDOW {
                passed_over += 1;
                self.counters.dirty_passed_over += 1;
                self.hand = (self.hand + 1) % self.limit;
                continue;
            }
            return self.evict(victim, raw);
        }
    }

    /// Evict resident `page` whose entry is `raw`; its frame is returned.
    fn evict(&mut self, page: usize, raw: u64) -> Result<Frame, SwapError> {
        let address = RegionTables::address(page);
        let state = self.state[page];
        let generation = if raw & DIRTY != 0 || state & COPY_VALID == 0 {
            let start = tsc::read();
            self.write_copy(page)?;
            self.counters.swap_out_cycles += tsc::read() - start;
            let generation = (state + 1) & GENERATION_MASK;
            self.state[page] = COPY_VALID | generation;
            generation
        } else {
            self.counters.swap_cache_hits += 1;
            state & GENERATION_MASK
        };
        let entry = SwapEntry {
            slot: page as u32,
            generation,
        };
        // SAFETY: our entry; the flush ends every cached translation of the
        // page before its frame is reused.
        unsafe { self.entry(page).write_volatile(entry.encode()) };
        tlb::flush(VirtAddr::new(address));
        self.counters.evictions += 1;
        Ok(Frame::containing_address(raw & FRAME_MASK))
    }

    /// Compress resident `page` into its slot (compacting once on failure).
    fn write_copy(&mut self, page: usize) -> Result<(), SwapError> {
        let address = RegionTables::address(page);
        // SAFETY: the page is still mapped to its frame, which nothing writes
        // while the fault is handled.
        let bytes = unsafe { core::slice::from_raw_parts(address as *const u8, PAGE_SIZE) };
        if let Err(first) = self.store.write(page, bytes) {
            match first {
                StoreError::OutOfMemory | StoreError::MemoryLimit { .. } => {
                    self.compact();
                    self.store
                        .write(page, bytes)
                        .map_err(|error| SwapError::StoreFailed { page, error })?;
                }
                error => return Err(SwapError::StoreFailed { page, error }),
            }
        }
        self.counters.swap_outs += 1;
        match self.store.slot_contents(page) {
            Ok(SlotContents::SameFilled { .. }) => self.counters.same_filled_outs += 1,
            Ok(SlotContents::Huge) => self.counters.huge_outs += 1,
            _ => {}
        }
        self.swap_outs_since_check += 1;
        if self.swap_outs_since_check >= 256 {
            self.swap_outs_since_check = 0;
            self.compact_if_wasteful();
        }
        Ok(())
    }

    /// The shrinker: compact when the pool holds over a quarter more pages
    /// than its compressed bytes need.
    fn compact_if_wasteful(&mut self) {
        let mm = self.store.statistics().mm_stat;
        let needed = mm.compr_data_size.div_ceil(PAGE_SIZE as u64);
        let held = mm.mem_used_total / PAGE_SIZE as u64;
        if held > needed + needed / 4 + 16 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let start = tsc::read();
        self.counters.pages_compacted += self.store.compact() as u64;
        self.counters.compactions += 1;
        self.counters.compaction_cycles += tsc::read() - start;
    }

    /// Limit the store's pool to `pages` pages (0: none), like zram's
    /// `mem_limit`: the tests make the store fail with it.
    pub fn set_pool_limit(&mut self, pages: usize) {
        self.store.set_memory_limit(pages);
    }
}

impl Drop for SwapSpace {
    /// Give every frame back (resident ones are unmapped first).
    fn drop(&mut self) {
        for &page in &self.ring {
            let pte = self.tables.entry(page as usize);
            // SAFETY: the entry of a resident page of this region; it is
            // cleared before its frame is freed (the tables' drop flushes).
            let raw = unsafe { pte.replace(0) };
            if raw & PRESENT != 0 {
                let _ = frame::free(Frame::containing_address(raw & FRAME_MASK));
            }
        }
        for frame in self.spare.drain(..) {
            let _ = frame::free(frame);
        }
    }
}
