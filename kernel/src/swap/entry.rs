//! The swap entry: what a non-present page-table entry of the swap region
//! holds once its page lives only in the compressed store.
//!
//! ```text
//!   present page (P = 1): the CPU's format
//!    63 62        52 51                          12 11  9 8 7 6 5 4 3 2 1 0
//!   ┌──┬───────────┬──────────────────────────────┬─────┬─┬─┬─┬─┬─┬─┬─┬─┬─┐
//!   │NX│ (ignored) │ frame number                 │     │G│ │D│A│ │ │U│W│1│
//!   └──┴───────────┴──────────────────────────────┴─────┴─┴─┴─┴─┴─┴─┴─┴─┴─┘
//!
//!   swap entry (P = 0: the CPU ignores every other bit, so they are ours)
//!    63                  40 39                         12 11         2 1 0
//!   ┌──────────────────────┬─────────────────────────────┬────────────┬─┬─┐
//!   │ generation (24 bits) │ slot (28 bits)              │ tag 0x2b5  │1│0│
//!   └──────────────────────┴─────────────────────────────┴────────────┴─┴─┘
//!
//!   all zero              never touched: the fault maps a zeroed frame (demand-zero)
//! ```
//!
//! The *slot* names the page's compressed copy in the store; the
//! *generation* counts the writes of that slot (modulo 2^24), so an entry
//! left over from an older copy is recognised as **stale**; the *tag* and
//! bit 1 make an arbitrary word unlikely to pass as an entry (**forged**).
//! Like Linux's x86 swap entries (type and offset in the high bits of a
//! non-present PTE), the entry costs no memory beyond the PTE itself.

/// Bit 0: the page is present (the CPU's).
pub const PRESENT: u64 = 1 << 0;
/// Bit 1: writable (the CPU's); in a non-present entry: "a swap entry".
pub const WRITABLE: u64 = 1 << 1;
/// Bit 5: the CPU set it on an access since it was last cleared.
pub const ACCESSED: u64 = 1 << 5;
/// Bit 6: the CPU set it on a write since it was last cleared.
pub const DIRTY: u64 = 1 << 6;
/// Bits 12..=51 of a present entry: the frame's physical address.
pub const FRAME_MASK: u64 = 0x000f_ffff_ffff_f000;

const MARKER: u64 = 1 << 1;
const TAG: u64 = 0x2b5;
const TAG_SHIFT: u32 = 2;
const TAG_MASK: u64 = 0x3ff;
const SLOT_SHIFT: u32 = 12;
const SLOT_BITS: u32 = 28;
const GENERATION_SHIFT: u32 = 40;
/// Generations wrap at 2^24.
pub const GENERATION_MASK: u32 = (1 << 24) - 1;
/// The most slots an entry can name.
pub const MAX_SLOTS: usize = 1 << SLOT_BITS;

/// A decoded swap entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapEntry {
    /// The store slot holding the compressed copy.
    pub slot: u32,
    /// Which write of that slot the copy is (modulo 2^24).
    pub generation: u32,
}

impl SwapEntry {
    /// The page-table entry for `self` (not present).
    pub const fn encode(self) -> u64 {
        ((self.generation & GENERATION_MASK) as u64) << GENERATION_SHIFT
            | (self.slot as u64) << SLOT_SHIFT
            | TAG << TAG_SHIFT
            | MARKER
    }

    /// Read a non-present, non-zero page-table entry; `None` if it is not
    /// one [`encode`](Self::encode) could have written.
    pub const fn decode(raw: u64) -> Option<SwapEntry> {
        if raw & PRESENT != 0 || raw & MARKER == 0 || (raw >> TAG_SHIFT) & TAG_MASK != TAG {
            return None;
        }
        Some(SwapEntry {
            slot: ((raw >> SLOT_SHIFT) & ((1 << SLOT_BITS) - 1)) as u32,
            generation: (raw >> GENERATION_SHIFT) as u32,
        })
    }
}
