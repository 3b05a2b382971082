//! # swap-workload — the compressed-swap workload, defined once
//!
//! The kernel's swap demo (`./run-qemu.sh swap`) runs a workload larger
//! than its resident budget. It is defined exactly, so that it can be run
//! elsewhere too (a C program on Linux with zram swap, or [`reference`] on
//! the host) and the checksums compared. With N pages, region page k
//! starting as corpus page k:
//!
//! ```text
//!   load      for k in 0..N: region[k] = corpus[k]
//!   scan p    for p in 1, 2, 3: visit 0..N in the order of a Fisher–Yates shuffle
//!             driven by xorshift64* seeded with p * 0x9E3779B97F4A7C15;
//!             each visit adds the page's 512 little-endian u64 words to a
//!             wrapping checksum, then, if k % 4 == p % 4, adds p to word 0
//!   verify    region[k] == corpus[k] with word 0 increased by the p of the one
//!             pass where p % 4 == k % 4 (none when k % 4 == 0)
//! ```
//!
//! The crate is `no_std` + `alloc` and knows nothing of paging: the kernel
//! calls [`fill_order`], [`page_sum`] and [`written_in_pass`] on pages it
//! reaches through page faults; the host computes the same figures on a
//! plain copy with [`reference`].
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;
/// Little-endian u64 words in a page.
pub const WORDS_PER_PAGE: usize = PAGE_SIZE / 8;
/// The scan passes, in order.
pub const PASSES: [u64; 3] = [1, 2, 3];
/// The seed multiplier of pass p (the golden-ratio constant).
pub const SEED_MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// The xorshift64* generator (Marsaglia's xorshift, then a multiply).
#[derive(Clone, Debug)]
pub struct XorShift64Star {
    state: u64,
}

impl XorShift64Star {
    /// A generator seeded with `seed` (a zero seed stays zero forever; the
    /// workload's seeds are never zero).
    pub const fn new(seed: u64) -> Self {
        XorShift64Star { state: seed }
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Fill `order` with the visiting order of scan pass `pass`: 0..N shuffled
/// by Fisher–Yates (i from N-1 down to 1, j = next() % (i + 1)).
pub fn fill_order(pass: u64, order: &mut [u32]) {
    for (index, slot) in order.iter_mut().enumerate() {
        *slot = index as u32;
    }
    let mut random = XorShift64Star::new(pass.wrapping_mul(SEED_MULTIPLIER));
    for i in (1..order.len()).rev() {
        let j = (random.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

/// The wrapping sum of a page's 512 little-endian u64 words.
pub fn page_sum(page: &[u64; WORDS_PER_PAGE]) -> u64 {
    // Four independent sums: the same wrapping total, fewer dependent adds.
    let mut sums = [0u64; 4];
    for chunk in page.as_chunks::<4>().0 {
        for (sum, word) in sums.iter_mut().zip(chunk) {
            *sum = sum.wrapping_add(u64::from_le(*word));
        }
    }
    sums.iter().fold(0, |total, sum| total.wrapping_add(*sum))
}

/// Does scan pass `pass` write page `page` (add `pass` to its word 0)?
pub fn written_in_pass(page: usize, pass: u64) -> bool {
    page as u64 % 4 == pass % 4
}

/// What verify expects in word 0 of page `page` whose corpus word 0 is
/// `original` (as a little-endian value).
pub fn expected_word_0(page: usize, original: u64) -> u64 {
    PASSES
        .iter()
        .filter(|&&pass| written_in_pass(page, pass))
        .fold(original, |word, &pass| word.wrapping_add(pass))
}

/// Word `index` of `page` as a little-endian value.
pub fn word(page: &[u8], index: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&page[index * 8..index * 8 + 8]);
    u64::from_le_bytes(bytes)
}

/// The workload's figures, computed on a plain copy of the corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The checksum of each scan pass (passes 1, 2, 3).
    pub checksums: [u64; 3],
    /// Pages written in each scan pass.
    pub writes: [u64; 3],
}

/// Run the workload on a copy of `corpus` (whole pages; a partial last page
/// is ignored) and return its checksums. Verify holds by construction here;
/// the host tests check [`expected_word_0`] against the copy.
pub fn reference(corpus: &[u8]) -> Reference {
    let pages = corpus.len() / PAGE_SIZE;
    let mut region: Vec<[u64; WORDS_PER_PAGE]> = Vec::with_capacity(pages);
    for page in corpus.as_chunks::<PAGE_SIZE>().0 {
        let mut words = [0u64; WORDS_PER_PAGE];
        for (index, slot) in words.iter_mut().enumerate() {
            *slot = word(page, index).to_le();
        }
        region.push(words);
    }
    let mut order = alloc::vec![0u32; pages];
    let mut result = Reference {
        checksums: [0; 3],
        writes: [0; 3],
    };
    for (index, &pass) in PASSES.iter().enumerate() {
        fill_order(pass, &mut order);
        let mut checksum = 0u64;
        for &page in &order {
            let page = page as usize;
            checksum = checksum.wrapping_add(page_sum(&region[page]));
            if written_in_pass(page, pass) {
                let word_0 = u64::from_le(region[page][0]).wrapping_add(pass);
                region[page][0] = word_0.to_le();
                result.writes[index] += 1;
            }
        }
        result.checksums[index] = checksum;
    }
    result
}

#[cfg(test)]
mod tests;
