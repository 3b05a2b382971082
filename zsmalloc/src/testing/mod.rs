//! Test support (feature `testing`, needs `std`): backends for the host
//! that implement the [`Backend`](crate::Backend) contract and check it.
//!
//! * [`cpu`]: a simulated CPU per thread — atomic sections that nest and
//!   may end in any order, and the interrupt flag restored only when the
//!   last one ends;
//! * [`HeapBackend`]: pages are plain heap blocks, mapping is free — for
//!   benchmarks and fast tests;
//! * [`HighmemBackend`]: simulates HIGHMEM — a page has an address only
//!   while mapped (each mapping hands out a fresh copy that is written back
//!   and poisoned on unmap; a pair of pages is mapped side by side),
//!   mappings must be LIFO per thread, limited in number and inside atomic
//!   sections; everything is counted;
//! * [`FaultyBackend`]: wraps another backend and makes page allocation fail
//!   on a schedule or at random.
//!
//! [`pattern`] gives each object recognisable contents, and [`Xorshift`]
//! the tests' pseudo-random numbers.

pub mod cpu;
mod faulty;
mod heap;
mod highmem;
mod random;

pub use cpu::AtomicToken;
pub use faulty::{FaultPlan, FaultyBackend};
pub use heap::{HeapBackend, HeapPage};
pub use highmem::{HighmemBackend, HighmemCounters, HighmemPage};
pub use random::Xorshift;

/// Byte `index` of the test pattern `seed`: a cheap, position-dependent mix
/// so that misplaced, swapped or truncated bytes are noticed.
pub fn pattern(seed: u64, index: usize) -> u8 {
    let mixed = (seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (mixed >> 56) as u8
}

/// Fill `buffer` with pattern `seed`.
pub fn fill_pattern(seed: u64, buffer: &mut [u8]) {
    for (index, byte) in buffer.iter_mut().enumerate() {
        *byte = pattern(seed, index);
    }
}

/// Does `buffer` hold pattern `seed`?
pub fn has_pattern(seed: u64, buffer: &[u8]) -> bool {
    buffer
        .iter()
        .enumerate()
        .all(|(index, &byte)| byte == pattern(seed, index))
}
