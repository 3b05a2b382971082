//! Same-filled pages: a page whose 512 machine words are all equal (very
//! often all zero) is stored as that one word, with no allocation at all.
//!
//! ```text
//!   page: [w][w][w] ... [w]   (512 × u64)   ──►   Slot::SameFilled(w)
//! ```

use crate::PAGE_SIZE;

const WORD: usize = core::mem::size_of::<u64>();

/// If every 8-byte word of `page` is the same, that word.
pub fn same_filled_word(page: &[u8; PAGE_SIZE]) -> Option<u64> {
    let (words, _) = page.as_chunks::<WORD>();
    let mut words = words.iter().map(|bytes| u64::from_ne_bytes(*bytes));
    let first = words.next()?;
    words.all(|word| word == first).then_some(first)
}

/// Rebuild a same-filled page.
pub fn fill_page(page: &mut [u8; PAGE_SIZE], word: u64) {
    let (words, _) = page.as_chunks_mut::<WORD>();
    words.fill(word.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_patterned_pages_are_same_filled() {
        let mut page = [0u8; PAGE_SIZE];
        assert_eq!(same_filled_word(&page), Some(0));
        fill_page(&mut page, 0xdead_beef_0102_0304);
        assert_eq!(same_filled_word(&page), Some(0xdead_beef_0102_0304));
    }

    #[test]
    fn one_different_byte_breaks_it() {
        let mut page = [7u8; PAGE_SIZE];
        page[PAGE_SIZE - 1] = 8;
        assert_eq!(same_filled_word(&page), None);
        let mut page = [0u8; PAGE_SIZE];
        page[3] = 1;
        assert_eq!(same_filled_word(&page), None);
    }
}
