//! From a file of pages to the workload: the objects a zram device would store.
//!
//! ```text
//!   file: [page 0][page 1][page 2] ...        (a whole number of 4096-byte pages)
//!            │  all one repeated word? ──► same-filled: zram stores no object, dropped
//!            │  LZ4 (the store's settings, zram::compression::Compressor)
//!            │  compressed ≥ huge threshold? ──► object = the raw page (4096 B, "huge")
//!            ▼
//!   objects: [len 1234: LZ4 bytes][len 4096: raw page] ...   in file order
//! ```
//!
//! The huge threshold is `huge_class_size()` of a Linux pool with chain 8
//! (zram's default), the same for every allocator so they all store exactly
//! the same objects. The stored (compressed) bytes are what Linux's
//! `compr_data_size` counts: a huge page counts 4096.

use alloc::vec::Vec;
use core::fmt;

use zram::compression::Compressor;
use zram::same_filled::same_filled_word;
use zsmalloc::linux::{LinuxConfig, SizeClassTable};

use crate::PAGE_SIZE;

/// One object of the workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPage {
    /// Index of the page in the file.
    pub page: usize,
    /// What is stored: LZ4 bytes, or the raw page when huge.
    pub bytes: Vec<u8>,
    /// Stored uncompressed.
    pub huge: bool,
}

/// The objects to store, and how the file's pages were turned into them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workload {
    /// The objects, in file order.
    pub objects: Vec<StoredPage>,
    /// Pages in the file.
    pub pages: usize,
    /// Pages dropped because they are same-filled.
    pub same_filled: usize,
    /// Compressed sizes at or above this are stored as raw pages.
    pub huge_threshold: usize,
}

/// Why a file is not a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorpusError {
    /// The file is empty.
    Empty,
    /// The file's length is not a multiple of the page size.
    NotWholePages {
        /// The file's length.
        bytes: usize,
    },
}

impl fmt::Display for CorpusError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorpusError::Empty => write!(
                formatter,
                "the corpus is empty; it must be a file of whole {PAGE_SIZE}-byte pages"
            ),
            CorpusError::NotWholePages { bytes } => write!(
                formatter,
                "the corpus has {bytes} bytes, not a whole number of {PAGE_SIZE}-byte pages \
                 (whole pages: {}, bytes left over: {})",
                bytes / PAGE_SIZE,
                bytes % PAGE_SIZE
            ),
        }
    }
}

/// zram's huge threshold with Linux's default pool (chain 8).
pub fn linux_huge_threshold() -> usize {
    SizeClassTable::new(&LinuxConfig::with_chain(8)).huge_class_size()
}

/// Check that `bytes` bytes are a whole, non-zero number of pages.
pub fn check_whole_pages(bytes: usize) -> Result<usize, CorpusError> {
    match (bytes, bytes % PAGE_SIZE) {
        (0, _) => Err(CorpusError::Empty),
        (_, 0) => Ok(bytes / PAGE_SIZE),
        _ => Err(CorpusError::NotWholePages { bytes }),
    }
}

impl Workload {
    /// The workload of a page file, with zram's default huge threshold.
    pub fn from_pages(file: &[u8]) -> Result<Workload, CorpusError> {
        Workload::with_huge_threshold(file, linux_huge_threshold())
    }

    /// The workload of a page file, storing compressed sizes of at least
    /// `huge_threshold` bytes as raw pages.
    pub fn with_huge_threshold(
        file: &[u8],
        huge_threshold: usize,
    ) -> Result<Workload, CorpusError> {
        let pages = check_whole_pages(file.len())?;
        let mut compressor = Compressor::new();
        let mut workload = Workload {
            pages,
            huge_threshold,
            ..Workload::default()
        };
        let (pages_of_file, _) = file.as_chunks::<PAGE_SIZE>();
        for (index, page) in pages_of_file.iter().enumerate() {
            if same_filled_word(page).is_some() {
                workload.same_filled += 1;
                continue;
            }
            let compressed = compressor.compress(page);
            let huge = compressed.len() >= huge_threshold;
            let bytes = if huge {
                page.to_vec()
            } else {
                compressed.to_vec()
            };
            workload.objects.push(StoredPage {
                page: index,
                bytes,
                huge,
            });
        }
        Ok(workload)
    }

    /// A synthetic workload of the given objects (for tests and experiments);
    /// objects of a whole page count as huge.
    pub fn from_objects(objects: Vec<Vec<u8>>) -> Workload {
        let objects: Vec<StoredPage> = objects
            .into_iter()
            .enumerate()
            .map(|(page, bytes)| StoredPage {
                page,
                huge: bytes.len() == PAGE_SIZE,
                bytes,
            })
            .collect();
        Workload {
            pages: objects.len(),
            huge_threshold: linux_huge_threshold(),
            objects,
            same_filled: 0,
        }
    }

    /// Bytes of all objects (Linux's `compr_data_size`).
    pub fn stored_bytes(&self) -> usize {
        self.objects.iter().map(|object| object.bytes.len()).sum()
    }

    /// Objects stored as raw pages.
    pub fn huge(&self) -> usize {
        self.objects.iter().filter(|object| object.huge).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_page(seed: u8) -> Vec<u8> {
        (0..PAGE_SIZE)
            .map(|index| b"compressible text "[index % 18] ^ seed)
            .collect()
    }

    fn noise_page(mut state: u32) -> Vec<u8> {
        (0..PAGE_SIZE)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect()
    }

    #[test]
    fn files_that_are_not_whole_pages_are_refused() {
        assert_eq!(Workload::from_pages(&[]), Err(CorpusError::Empty));
        let file = alloc::vec![1; PAGE_SIZE + 1];
        let error = Workload::from_pages(&file).unwrap_err();
        assert_eq!(
            error,
            CorpusError::NotWholePages {
                bytes: PAGE_SIZE + 1
            }
        );
        let message = alloc::format!("{error}");
        assert!(
            message.contains("4097 bytes")
                && message.contains("whole pages: 1, bytes left over: 1")
        );
        assert_eq!(check_whole_pages(3 * PAGE_SIZE), Ok(3));
    }

    #[test]
    fn same_filled_pages_are_dropped_and_noise_is_stored_raw() {
        let mut file = text_page(0);
        file.extend(alloc::vec![0u8; PAGE_SIZE]);
        file.extend(noise_page(7));
        file.extend([0xAB, 0xCD, 0, 0, 1, 2, 3, 4].repeat(PAGE_SIZE / 8));
        file.extend(text_page(3));
        let workload = Workload::from_pages(&file).unwrap();
        assert_eq!(workload.pages, 5);
        assert_eq!(workload.same_filled, 2);
        let pages: Vec<usize> = workload.objects.iter().map(|object| object.page).collect();
        assert_eq!(pages, [0, 2, 4]);
        assert_eq!(workload.huge(), 1);
        assert!(workload.objects[1].huge);
        assert_eq!(workload.objects[1].bytes, noise_page(7));
        assert!(workload.objects[0].bytes.len() < 200);
        let small: usize = workload.objects[0].bytes.len() + workload.objects[2].bytes.len();
        assert_eq!(workload.stored_bytes(), small + PAGE_SIZE);
    }

    #[test]
    fn the_huge_threshold_is_linux_chain_8() {
        // Class 3632 chains 8 pages for 9 objects (32768 - 9 × 3632 = 80 B
        // wasted); from class 3648 up a single page (one object) wastes the
        // least, so those classes are huge. Payload + 8-byte header > 3632
        // is huge: 3632 - 8 + 1 = 3625 (Linux's `size - (ZS_HANDLE_SIZE - 1)`).
        assert_eq!(linux_huge_threshold(), 3625);
    }
}
