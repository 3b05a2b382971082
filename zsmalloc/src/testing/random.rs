//! A small deterministic pseudo-random generator for tests (xorshift64):
//! the same seed gives the same sequence on every run and under Miri, so a
//! failing test fails again, and no seed file is needed.

/// xorshift64 (Marsaglia): three shifts and xors per number.
#[derive(Debug, Clone)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A generator started at `seed` (0 would only ever give 0: refused).
    pub fn new(seed: u64) -> Xorshift {
        assert_ne!(seed, 0, "xorshift needs a non-zero seed");
        Xorshift(seed)
    }

    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// A size like those of LZ4-compressed pages: mostly 500..3500 bytes,
    /// one in ten tiny (1..=200), one in ten almost a page (3500..4096).
    pub fn compressed_page_size(&mut self) -> usize {
        match self.next() % 10 {
            0 => 1 + self.below(200),
            1 => 3500 + self.below(597),
            _ => 500 + self.below(3000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_sequence_is_xorshift64() {
        let mut random = Xorshift::new(1);
        // 1 ^ 1 << 13 = 0x2001; ^ >> 7 = 0x2041; ^ << 17 = 0x4082_2041.
        assert_eq!(random.next(), 0x4082_2041);
        assert_ne!(random.next(), 0x4082_2041);
    }

    #[test]
    fn compressed_page_sizes_stay_in_a_page() {
        let mut random = Xorshift::new(7);
        let sizes: Vec<usize> = (0..1000).map(|_| random.compressed_page_size()).collect();
        assert!(sizes.iter().all(|&size| (1..=4096).contains(&size)));
        assert!(sizes.iter().any(|&size| size <= 200));
        assert!(sizes.iter().any(|&size| size >= 3500));
    }

    #[test]
    #[should_panic(expected = "non-zero seed")]
    fn a_zero_seed_is_refused() {
        Xorshift::new(0);
    }
}
