//! The pages the demo stores: a page corpus handed over as the bootloader's
//! ramdisk (`./run-qemu.sh --corpus FILE`, default: the project's copy of
//! 4,200 pages of real anonymous memory), or, when there is no ramdisk, a
//! built-in synthetic workload that exercises every path of the store.
//!
//! ```text
//!   built-in page kinds (by index % 8):
//!   0 zero page            same-filled, no memory
//!   1 repeated word        same-filled with a non-zero value
//!   2, 3 text              LZ4 compresses it well
//!   4 noise                incompressible → stored as a huge object
//!   5 half noise           compresses to about half a page (spanning objects)
//!   6 counting integers    structured data, compresses well
//!   7 sparse noise         noise with zero runs: mid-size objects
//! ```
//!
//! Pages are generated on demand from their index, so the built-in workload
//! needs no memory of its own and can be regenerated to verify a read.

use crate::memory::PAGE_SIZE;

/// Where the pages come from.
pub enum Workload {
    /// A page file in memory (the ramdisk); its length is a multiple of 4096.
    Corpus(&'static [u8]),
    /// `count` generated pages.
    BuiltIn {
        /// How many pages.
        count: usize,
    },
}

/// The default size of the built-in workload.
pub const BUILT_IN_PAGES: usize = 4096;

const WORDS: &[&[u8]] = &[
    b"zsmalloc ",
    b"stores ",
    b"compressed ",
    b"pages ",
    b"in ",
    b"zspages ",
    b"made ",
    b"of ",
    b"single ",
    b"frames; ",
    b"objects ",
    b"may ",
    b"span ",
    b"two ",
    b"pages. ",
    b"handles ",
];

impl Workload {
    /// The number of pages.
    pub fn page_count(&self) -> usize {
        match self {
            Workload::Corpus(bytes) => bytes.len() / PAGE_SIZE,
            Workload::BuiltIn { count } => *count,
        }
    }

    /// A short description for the report.
    pub fn describe(&self) -> &'static str {
        match self {
            Workload::Corpus(_) => "page corpus from the ramdisk",
            Workload::BuiltIn { .. } => "built-in synthetic workload",
        }
    }

    /// Write page `index` into `page`. Indexes past the end wrap around with
    /// a different variant (the demo overwrites slots with "other" pages).
    pub fn page(&self, index: usize, page: &mut [u8; PAGE_SIZE]) {
        match self {
            Workload::Corpus(bytes) => {
                let count = bytes.len() / PAGE_SIZE;
                let source = index % count;
                page.copy_from_slice(&bytes[source * PAGE_SIZE..(source + 1) * PAGE_SIZE]);
                if index >= count {
                    // A different page than any original: mark its first word.
                    page[..8].copy_from_slice(&(index as u64).to_le_bytes());
                }
            }
            Workload::BuiltIn { .. } => generate(index, page),
        }
    }
}

/// A small deterministic pseudo-random generator (xorshift64*).
pub struct Random(u64);

impl Random {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn generate(index: usize, page: &mut [u8; PAGE_SIZE]) {
    let mut random = Random::new(index as u64 + 1);
    match index % 8 {
        0 => page.fill(0),
        1 => fill_words(page, |_| 0x0101_0101_0000_0000 | index as u64),
        2 | 3 => fill_text(page, &mut random),
        4 => page
            .iter_mut()
            .for_each(|byte| *byte = random.next_u64() as u8),
        5 => {
            page.fill(0);
            page[..PAGE_SIZE / 2]
                .iter_mut()
                .for_each(|byte| *byte = random.next_u64() as u8);
        }
        6 => fill_words(page, |word| (index * 1000 + word) as u64),
        _ => {
            for chunk in page.chunks_mut(64) {
                let noisy = !random.next_u64().is_multiple_of(4);
                chunk
                    .iter_mut()
                    .for_each(|byte| *byte = if noisy { random.next_u64() as u8 } else { 0 });
            }
        }
    }
}

fn fill_words(page: &mut [u8; PAGE_SIZE], word_at: impl Fn(usize) -> u64) {
    let (words, _) = page.as_chunks_mut::<8>();
    for (position, word) in words.iter_mut().enumerate() {
        *word = word_at(position).to_le_bytes();
    }
}

fn fill_text(page: &mut [u8; PAGE_SIZE], random: &mut Random) {
    let mut position = 0;
    while position < PAGE_SIZE {
        let word = WORDS[(random.next_u64() % WORDS.len() as u64) as usize];
        let length = word.len().min(PAGE_SIZE - position);
        page[position..position + length].copy_from_slice(&word[..length]);
        position += length;
    }
}
