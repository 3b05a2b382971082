//! Deterministic pseudo-random orders, so that every run (host or QEMU,
//! any machine) frees and writes exactly the same objects.
//!
//! The generator is SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit
//! counter stepped by a fixed odd constant and scrambled; the permutation is
//! a Fisher–Yates shuffle, which picks every order with equal probability:
//!
//! ```text
//!   [0 1 2 3 4]  swap 4 with random(0..=4) → [0 1 4 3 2]
//!                swap 3 with random(0..=3) → [3 1 4 0 2]  ... down to index 1
//! ```

use alloc::vec::Vec;

/// The SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`); the tiny modulo bias is
    /// irrelevant for a benchmark order.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// The numbers `0..count` in the pseudo-random order given by `seed`.
pub fn permutation(count: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    let mut random = SplitMix64::new(seed);
    for last in (1..count).rev() {
        order.swap(last, random.below(last + 1));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs of the reference C implementation for seed 1234567.
        let mut random = SplitMix64::new(1234567);
        assert_eq!(random.next_u64(), 6457827717110365317);
        assert_eq!(random.next_u64(), 3203168211198807973);
    }

    #[test]
    fn a_permutation_holds_every_number_once_and_depends_on_the_seed() {
        let order = permutation(1000, 42);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(order, sorted);
        assert_eq!(order, permutation(1000, 42));
        assert_ne!(order, permutation(1000, 43));
        assert!(permutation(0, 1).is_empty());
    }
}
