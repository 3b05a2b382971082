use super::*;
use alloc::vec;

extern crate std;

#[test]
fn xorshift64_star_matches_its_definition() {
    // x = 1: x ^= x >> 12 → 1; x ^= x << 25 → 0x2000001; x ^= x >> 27 → 0x2000001.
    let mut random = XorShift64Star::new(1);
    assert_eq!(
        random.next_u64(),
        0x2000001u64.wrapping_mul(0x2545_F491_4F6C_DD1D)
    );
    // The state carries over: a second call continues from 0x2000001.
    let mut x: u64 = 0x2000001;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    assert_eq!(random.next_u64(), x.wrapping_mul(0x2545_F491_4F6C_DD1D));
}

#[test]
fn the_order_is_a_permutation_that_differs_by_pass() {
    let mut orders = vec![];
    for pass in PASSES {
        let mut order = vec![0u32; 1000];
        fill_order(pass, &mut order);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert!(sorted.iter().enumerate().all(|(i, &k)| i as u32 == k));
        orders.push(order);
    }
    assert_ne!(orders[0], orders[1]);
    assert_ne!(orders[1], orders[2]);
}

#[test]
fn the_order_follows_fisher_yates_step_by_step() {
    // Three pages by hand: i = 2 then i = 1.
    let mut random = XorShift64Star::new(2u64.wrapping_mul(SEED_MULTIPLIER));
    let mut expected = [0u32, 1, 2];
    let j = (random.next_u64() % 3) as usize;
    expected.swap(2, j);
    let j = (random.next_u64() % 2) as usize;
    expected.swap(1, j);
    let mut order = [0u32; 3];
    fill_order(2, &mut order);
    assert_eq!(order, expected);
    // One page or none: nothing to shuffle.
    let mut one = [7u32];
    fill_order(1, &mut one);
    assert_eq!(one, [0]);
    fill_order(1, &mut []);
}

#[test]
fn page_sums_wrap_and_read_little_endian() {
    let mut page = [0u64; WORDS_PER_PAGE];
    page[0] = u64::MAX.to_le();
    page[511] = 2u64.to_le();
    assert_eq!(page_sum(&page), 1);
    let bytes: std::vec::Vec<u8> = (0..PAGE_SIZE).map(|i| (i % 251) as u8).collect();
    let words: std::vec::Vec<u64> = (0..WORDS_PER_PAGE).map(|i| word(&bytes, i)).collect();
    let mut page = [0u64; WORDS_PER_PAGE];
    for (slot, value) in page.iter_mut().zip(&words) {
        *slot = value.to_le();
    }
    let expected = words.iter().fold(0u64, |sum, w| sum.wrapping_add(*w));
    assert_eq!(page_sum(&page), expected);
}

#[test]
fn each_page_is_written_in_at_most_one_pass() {
    for page in 0..16 {
        let passes = PASSES
            .iter()
            .filter(|&&pass| written_in_pass(page, pass))
            .count();
        assert_eq!(passes, usize::from(page % 4 != 0), "page {page}");
        let added = expected_word_0(page, 100) - 100;
        assert_eq!(added, [0, 1, 2, 3][page % 4], "page {page}");
    }
    assert_eq!(expected_word_0(1, u64::MAX), 0, "word 0 wraps");
}

#[test]
fn the_reference_checksums_follow_the_writes_of_earlier_passes() {
    // Page k holds k in every word: pass 1 sums the untouched pages; pass 2
    // sees pass 1's +1 on every page with k % 4 == 1; pass 3 also pass 2's +2.
    let pages = 10usize;
    let mut corpus = vec![0u8; pages * PAGE_SIZE];
    for (k, page) in corpus.as_chunks_mut::<PAGE_SIZE>().0.iter_mut().enumerate() {
        for word in page.as_chunks_mut::<8>().0 {
            *word = (k as u64).to_le_bytes();
        }
    }
    let base: u64 = (0..pages as u64).map(|k| k * 512).sum();
    let ones = (0..pages).filter(|k| k % 4 == 1).count() as u64;
    let twos = (0..pages).filter(|k| k % 4 == 2).count() as u64;
    let reference = reference(&corpus);
    assert_eq!(
        reference.checksums,
        [base, base + ones, base + ones + 2 * twos]
    );
    let threes = (0..pages).filter(|k| k % 4 == 3).count() as u64;
    assert_eq!(reference.writes, [ones, twos, threes]);
}
