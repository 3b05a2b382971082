//! `kmap`: a temporary kernel mapping of any physical frame (Linux's
//! `kmap_local_page`).
//!
//! A LOWMEM frame is always mapped by the direct map, so kmap just returns its
//! direct-map address: no page-table work at all. A HIGHMEM frame has no
//! mapping, so kmap borrows one of [`KMAP_SLOTS`] virtual pages, the *slots*,
//! writes one page-table entry for it, and the matching unmap clears the entry
//! and flushes that one TLB entry (`invlpg`).
//!
//! ```text
//!   KMAP_BASE  slot 0   slot 1   slot 2          slot 15
//!             [ PTE  ][ PTE  ][      ] ...    [      ]     one level-1 table,
//!                ▲       ▲       ▲                         made at boot: mapping
//!                │       │       └── next free slot         a slot is one write
//!                │       └── frame B (mapped second)
//!                └── frame A (mapped first)
//! ```
//!
//! The slots form a *stack*, as in Linux: a mapping takes the next slot, and
//! only the most recent mapping may be unmapped. So nested mappings must be
//! released in reverse order, which the RAII [`KmapGuard`] does naturally
//! (locals are dropped in reverse order). Running out of slots, or unmapping
//! anything but the top of the stack, is a [`KmapError`]: `try_kmap` /
//! `try_kunmap_raw` return it, the others panic with it (a kernel bug). The
//! stack's bookkeeping (which frame is in which slot, the rules, the counts)
//! is the `kmap-slots` crate, tested on the host; this module writes the
//! page-table entries.
//!
//! The slots' level-1 table belongs to kmap alone: `memory::init` carves it
//! out of the kernel's page tables at boot (see `paging`), so mapping a slot
//! needs no page-table lock. The stack is per-CPU state (there is one CPU
//! here). It is changed with interrupts off, so an interrupt handler may kmap
//! too, provided it unmaps before it returns, which keeps the stack in order.
//!
//! Lab skeleton (labs/kmap/README.md): write every function that says `todo!`.
#![allow(unused)]

use super::frame::Frame;
use super::PAGE_SIZE;
use core::fmt;
use core::marker::PhantomData;
use kmap_slots::{SlotError, SlotStack};
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::instructions::tlb;
use x86_64::structures::paging::{PageTable, PageTableFlags, PageTableIndex};
use x86_64::{PhysAddr, VirtAddr};

/// Number of slots for HIGHMEM mappings (the maximum nesting depth).
pub const KMAP_SLOTS: usize = 16;
/// Virtual address of slot 0 (2 MiB aligned: all slots share one table).
pub const KMAP_BASE: u64 = 0x0000_4444_0000_0000;

/// Why a mapping could not be made or undone. Nothing changes on error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KmapError {
    /// All slots are in use (too deep a nesting).
    SlotsExhausted,
    /// The address is not the most recent mapping (unmapping out of order).
    OutOfOrder {
        /// The address given to unmap.
        address: u64,
        /// The most recent mapping's address, the only one that may go.
        expected: u64,
    },
    /// Nothing is mapped at the address, or it maps another frame.
    NotMapped {
        /// The frame given to unmap.
        frame: Frame,
        /// The address given to unmap.
        address: u64,
    },
}

impl fmt::Display for KmapError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            KmapError::SlotsExhausted => write!(
                f,
                "all {} kmap slots are in use (mappings nested too deeply, or leaked)",
                KMAP_SLOTS
            ),
            KmapError::OutOfOrder { address, expected } => write!(
                f,
                "kunmap of {:#x} out of order: the most recent mapping is {:#x}",
                address, expected
            ),
            KmapError::NotMapped { frame, address } => write!(
                f,
                "kunmap: frame {:#x} is not mapped at {:#x}",
                frame.start_address(),
                address
            ),
        }
    }
}

/// kmap's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KmapStatistics {
    /// Every kmap call (LOWMEM and HIGHMEM).
    pub calls: u64,
    /// Calls that needed a slot (HIGHMEM frames).
    pub highmem_calls: u64,
    /// TLB entries flushed by unmapping slots.
    pub tlb_flushes: u64,
    /// Slots in use now.
    pub slots_in_use: usize,
    /// The most slots ever in use at once.
    pub slot_high_water: usize,
}

impl fmt::Display for KmapStatistics {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "kmap: {} calls ({} HIGHMEM), {} TLB flushes, {}/{} slots in use, high-water {}",
            self.calls,
            self.highmem_calls,
            self.tlb_flushes,
            self.slots_in_use,
            KMAP_SLOTS,
            self.slot_high_water
        )
    }
}

/// kmap's state: the slots' page table (carved out for kmap alone at boot)
/// and the slot stack's bookkeeping.
struct Kmap {
    /// The level-1 table holding the slots' entries (given by `init`).
    table: Option<&'static mut PageTable>,
    slots: SlotStack<Frame, KMAP_SLOTS>,
    /// Every kmap call, LOWMEM ones included.
    calls: u64,
}

static KMAP: Mutex<Kmap> = Mutex::new(Kmap {
    table: None,
    slots: SlotStack::new(),
    calls: 0,
});

#[inline]
fn with_kmap<T>(f: impl FnOnce(&mut Kmap) -> T) -> T {
    without_interrupts(|| f(&mut KMAP.lock()))
}

/// The virtual address of slot `slot`.
pub const fn slot_address(slot: usize) -> u64 {
    KMAP_BASE + (slot * PAGE_SIZE) as u64
}

/// The slot at virtual address `address`, if it is one.
#[inline]
fn slot_at(address: u64) -> Option<usize> {
    let offset = address.checked_sub(KMAP_BASE)?;
    let slot = (offset / PAGE_SIZE as u64) as usize;
    (offset.is_multiple_of(PAGE_SIZE as u64) && slot < KMAP_SLOTS).then_some(slot)
}

/// The level-1 entry index of slot `slot`.
#[inline]
fn slot_index(slot: usize) -> PageTableIndex {
    VirtAddr::new(slot_address(slot)).p1_index()
}

/// Take the slots' page table, the level-1 table that maps `KMAP_BASE`,
/// which `memory::init` carved out of the kernel's page tables for kmap
/// alone. Runs once, at boot.
pub fn init(table: &'static mut PageTable) {
    for slot in 0..KMAP_SLOTS {
        assert!(
            table[slot_index(slot)].is_unused(),
            "the kmap window is already mapped"
        );
    }
    with_kmap(|kmap| kmap.table = Some(table));
}

impl Kmap {
    /// Take the next slot for `frame` (through `self.slots`), point the
    /// slot's page-table entry at the frame (present, writable, not
    /// executable) and return the slot's address. `SlotsExhausted` when the
    /// stack is full.
    #[inline]
    fn push(&mut self, frame: Frame) -> Result<*mut u8, KmapError> {
        todo!("lab kmap: take a slot and write its page-table entry")
    }

    /// Give back the slot at `address`, which must be the most recent one and
    /// hold `frame` (map `SlotError`s to `KmapError`s: `OutOfOrder` names the
    /// expected address), clear its page-table entry and flush its TLB entry,
    /// so that a use after unmap faults.
    #[inline]
    fn pop(&mut self, frame: Frame, address: u64) -> Result<(), KmapError> {
        todo!("lab kmap: give back the top slot, clear its page-table entry, flush its TLB entry")
    }
}

/// Map `frame`; return the address of its first byte, or why not.
#[inline]
pub fn try_kmap_raw(frame: Frame) -> Result<*mut u8, KmapError> {
    todo!("lab kmap: count the call; LOWMEM: the direct-map address; HIGHMEM: a slot")
}

/// Undo `try_kmap_raw(frame)`, which returned `address`; mappings must be
/// undone in reverse order.
#[inline]
pub fn try_kunmap_raw(frame: Frame, address: *mut u8) -> Result<(), KmapError> {
    todo!("lab kmap: LOWMEM: check the direct-map address; HIGHMEM: give the slot back")
}

/// Map `frame` (for the zsmalloc backend); panics when out of slots.
#[inline]
pub fn kmap_raw(frame: Frame) -> *mut u8 {
    try_kmap_raw(frame).unwrap_or_else(|error| panic!("kmap: {}", error))
}

/// Unmap what `kmap_raw(frame)` returned; panics when out of order.
#[inline]
pub fn kunmap_raw(frame: Frame, address: *mut u8) {
    try_kunmap_raw(frame, address).unwrap_or_else(|error| panic!("kunmap: {}", error))
}

/// A frame mapped into the kernel's address space until the guard is dropped.
/// Not `Send`: the slot belongs to this CPU's stack. Nested guards must be
/// dropped in reverse order: locals are; a `Vec` of guards must be emptied
/// with `pop`, since dropping the `Vec` drops its elements first to last.
pub struct KmapGuard {
    frame: Frame,
    address: *mut u8,
    _not_send: PhantomData<*mut u8>,
}

impl KmapGuard {
    /// The mapped frame.
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// The address of the frame's first byte (valid while the guard lives).
    pub fn as_ptr(&self) -> *mut u8 {
        self.address
    }

    /// The frame's 4096 bytes.
    ///
    /// # Safety
    /// A frame number is only a number: the type system cannot know who owns
    /// the frame. The caller must own it (allocated it and not freed it, or
    /// was lent it), and no `&mut` to its bytes may be live, through this or
    /// any other mapping, while the slice is.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the guard keeps the frame mapped at `address` (4096 bytes)
        // for its whole life, and the slice borrows the guard, so it cannot
        // outlive the mapping; the caller promises nothing writes meanwhile.
        unsafe { core::slice::from_raw_parts(self.address, PAGE_SIZE) }
    }

    /// The frame's 4096 bytes, writable.
    ///
    /// # Safety
    /// As for [`as_slice`](Self::as_slice), and no other reference to the
    /// frame's bytes may be live while this one is.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; the caller promises this is the only
        // reference to the bytes.
        unsafe { core::slice::from_raw_parts_mut(self.address, PAGE_SIZE) }
    }
}

impl Drop for KmapGuard {
    fn drop(&mut self) {
        kunmap_raw(self.frame, self.address);
    }
}

/// Map `frame` until the returned guard is dropped, or say why not.
pub fn try_kmap(frame: Frame) -> Result<KmapGuard, KmapError> {
    let address = try_kmap_raw(frame)?;
    Ok(KmapGuard {
        frame,
        address,
        _not_send: PhantomData,
    })
}

/// Map `frame` until the returned guard is dropped; panics when out of slots.
pub fn kmap(frame: Frame) -> KmapGuard {
    try_kmap(frame).unwrap_or_else(|error| panic!("kmap: {}", error))
}

/// kmap's counters.
pub fn statistics() -> KmapStatistics {
    with_kmap(|kmap| {
        let slots = kmap.slots.statistics();
        KmapStatistics {
            calls: kmap.calls,
            highmem_calls: slots.taken,
            tlb_flushes: slots.released,
            slots_in_use: slots.in_use,
            slot_high_water: slots.high_water,
        }
    })
}
