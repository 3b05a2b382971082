//! The compressed store on the host, over zsmalloc's simulated-HIGHMEM backend.

use zram::{CompressedStore, SlotContents, StoreError, PAGE_SIZE};
use zsmalloc::testing::HighmemBackend;
use zsmalloc::{Config, Pool};

type Page = [u8; PAGE_SIZE];

/// The layouts every test runs on: Linux's (chain 8) and the packed one.
const LAYOUTS: [Config; 2] = [Config::linux(8), Config::packed()];

fn store_with(slots: usize, config: Config) -> CompressedStore<HighmemBackend> {
    let pool = Pool::with_config("test", HighmemBackend::new(), config).unwrap();
    CompressedStore::new(pool, slots)
}

/// Deterministic bytes: text repeats (compressible), noise does not.
fn noise(seed: u64) -> Page {
    let mut page = [0; PAGE_SIZE];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for byte in page.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    page
}

fn text(seed: u64) -> Page {
    let mut page = [0; PAGE_SIZE];
    let words: [&[u8]; 4] = [b"alpha ", b"beta ", b"gamma ", b"delta "];
    let mut position = 0;
    let mut state = seed + 1;
    while position < PAGE_SIZE {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let word = words[(state >> 60) as usize % 4];
        let length = word.len().min(PAGE_SIZE - position);
        page[position..position + length].copy_from_slice(&word[..length]);
        position += length;
    }
    page
}

/// Half noise, half zeros: compresses to a bit over half a page.
fn half_noise(seed: u64) -> Page {
    let mut page = noise(seed);
    page[PAGE_SIZE / 2..].fill(0);
    page
}

fn read(store: &mut CompressedStore<HighmemBackend>, slot: usize) -> Page {
    let mut page = [0xAA; PAGE_SIZE];
    store.read(slot, &mut page).unwrap();
    page
}

#[test]
fn every_page_kind_round_trips() {
    for config in LAYOUTS {
        every_page_kind_round_trips_with(config);
    }
}

fn every_page_kind_round_trips_with(config: Config) {
    let mut store = store_with(5, config);
    let mut same = [0u8; PAGE_SIZE];
    same.as_chunks_mut::<8>()
        .0
        .fill(0x1234_5678_9abc_def0u64.to_ne_bytes());
    let pages = [[0u8; PAGE_SIZE], same, text(1), noise(2), half_noise(3)];
    for (slot, page) in pages.iter().enumerate() {
        store.write(slot, page).unwrap();
    }
    for (slot, page) in pages.iter().enumerate() {
        assert_eq!(&read(&mut store, slot), page, "slot {slot}");
    }
    let statistics = store.statistics();
    let mm = statistics.mm_stat;
    assert_eq!(mm.orig_data_size, 5 * PAGE_SIZE as u64);
    assert_eq!(mm.same_pages, 2);
    assert_eq!(mm.huge_pages, 1, "noise is stored uncompressed");
    assert!(mm.compr_data_size > PAGE_SIZE as u64 + PAGE_SIZE as u64 / 2);
    assert!(mm.compr_data_size < 2 * PAGE_SIZE as u64);
    assert_eq!(
        mm.mem_used_total,
        (store.pool().total_pages() * PAGE_SIZE) as u64
    );
    assert_eq!(statistics.writes, 5);
    assert_eq!(statistics.reads, 5);
    store.pool().check().unwrap();
}

#[test]
fn an_unwritten_slot_reads_as_zeros() {
    for config in LAYOUTS {
        an_unwritten_slot_reads_as_zeros_with(config);
    }
}

fn an_unwritten_slot_reads_as_zeros_with(config: Config) {
    let mut store = store_with(2, config);
    assert_eq!(read(&mut store, 1), [0; PAGE_SIZE]);
}

#[test]
fn overwrite_frees_the_old_object_and_discard_empties_the_slot() {
    for config in LAYOUTS {
        overwrite_frees_the_old_object_and_discard_empties_the_slot_with(config);
    }
}

fn overwrite_frees_the_old_object_and_discard_empties_the_slot_with(config: Config) {
    let mut store = store_with(1, config);
    store.write(0, &noise(1)).unwrap();
    let pages_with_noise = store.pool().total_pages();
    store.write(0, &[0u8; PAGE_SIZE]).unwrap();
    assert_eq!(
        store.pool().total_pages(),
        0,
        "the huge object's page was freed"
    );
    assert_eq!(store.statistics().mm_stat.huge_pages, 0);
    store.write(0, &text(2)).unwrap();
    assert_eq!(read(&mut store, 0), text(2));
    assert_eq!(store.statistics().mm_stat.same_pages, 0);
    store.discard(0).unwrap();
    assert_eq!(read(&mut store, 0), [0; PAGE_SIZE]);
    let statistics = store.statistics();
    assert_eq!(statistics.mm_stat.orig_data_size, 0);
    assert_eq!(statistics.mm_stat.compr_data_size, 0);
    assert_eq!(statistics.mm_stat.mem_used_total, 0);
    assert_eq!(statistics.discards, 1);
    assert!(statistics.mm_stat.mem_used_max >= (pages_with_noise * PAGE_SIZE) as u64);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    for config in LAYOUTS {
        bad_input_is_refused_and_changes_nothing_with(config);
    }
}

fn bad_input_is_refused_and_changes_nothing_with(config: Config) {
    let mut store = store_with(2, config);
    store.write(0, &text(5)).unwrap();
    let before = store.statistics();
    assert_eq!(
        store.write(2, &text(1)),
        Err(StoreError::SlotOutOfRange { slot: 2, slots: 2 })
    );
    assert_eq!(
        store.write(0, &[0u8; 100]),
        Err(StoreError::NotAPage { length: 100 })
    );
    let mut small = [0u8; 4095];
    assert_eq!(
        store.read(0, &mut small),
        Err(StoreError::NotAPage { length: 4095 })
    );
    assert_eq!(
        store.read(9, &mut [0u8; PAGE_SIZE]),
        Err(StoreError::SlotOutOfRange { slot: 9, slots: 2 })
    );
    assert_eq!(
        store.discard(2),
        Err(StoreError::SlotOutOfRange { slot: 2, slots: 2 })
    );
    let after = store.statistics();
    assert_eq!(after.mm_stat, before.mm_stat);
    assert_eq!(read(&mut store, 0), text(5));
}

#[test]
fn the_memory_limit_is_respected_and_old_data_survives() {
    // Linux's layout: the refused page was the only object of the zspage
    // it opened, so freeing it gives the pages back. (The packed layout
    // keeps the page a refused object was appended to, as a hole, so its
    // pool may stay one page over the limit until other objects are freed.)
    let mut store = store_with(64, Config::linux(8));
    store.set_memory_limit(8);
    let mut written = Vec::new();
    let mut refused = None;
    for slot in 0..64 {
        match store.write(slot, &noise(slot as u64)) {
            Ok(()) => written.push(slot),
            Err(error) => {
                refused = Some((slot, error));
                break;
            }
        }
    }
    let (slot, error) = refused.expect("64 huge pages cannot fit in 8 pages");
    assert_eq!(error, StoreError::MemoryLimit { limit_pages: 8 });
    assert!(store.pool().total_pages() <= 8);
    assert_eq!(store.statistics().failed_writes, 1);
    assert_eq!(
        read(&mut store, slot),
        [0; PAGE_SIZE],
        "the refused slot keeps its old (empty) contents"
    );
    // Overwriting a stored slot beyond the limit keeps the old page.
    assert_eq!(
        store.write(written[0], &noise(999)),
        Err(StoreError::MemoryLimit { limit_pages: 8 })
    );
    for &slot in &written {
        assert_eq!(read(&mut store, slot), noise(slot as u64));
    }
    let mm = store.statistics().mm_stat;
    assert_eq!(mm.mem_limit, 8 * PAGE_SIZE as u64);
    assert!(mm.mem_used_max <= mm.mem_limit);
    store.pool().check().unwrap();
}

#[test]
fn compaction_keeps_every_page() {
    for config in LAYOUTS {
        compaction_keeps_every_page_with(config);
    }
}

fn compaction_keeps_every_page_with(config: Config) {
    let slots = 600;
    let mut store = store_with(slots, config);
    for slot in 0..slots {
        let page = if slot % 3 == 0 {
            half_noise(slot as u64)
        } else {
            text(slot as u64)
        };
        store.write(slot, &page).unwrap();
    }
    for slot in (0..slots).filter(|slot| slot % 4 != 0) {
        store.discard(slot).unwrap();
    }
    let before = store.pool().total_pages();
    let freed = store.compact();
    assert!(freed > 0, "a sparse pool has something to compact");
    assert_eq!(store.pool().total_pages(), before - freed);
    // mm_stat counts what compaction gave back, asked for or automatic.
    let automatic = store.pool().auto_compaction().pages_freed;
    assert_eq!(
        store.statistics().mm_stat.pages_compacted,
        (freed + automatic) as u64
    );
    for slot in 0..slots {
        let expected = match slot {
            slot if slot % 4 != 0 => [0; PAGE_SIZE],
            slot if slot % 3 == 0 => half_noise(slot as u64),
            slot => text(slot as u64),
        };
        assert_eq!(read(&mut store, slot), expected, "slot {slot}");
    }
    store.pool().check().unwrap();
}

#[test]
fn out_of_memory_is_an_error_not_a_loss() {
    for config in LAYOUTS {
        out_of_memory_is_an_error_not_a_loss_with(config);
    }
}

fn out_of_memory_is_an_error_not_a_loss_with(config: Config) {
    let backend = HighmemBackend::with_page_limit(4);
    let pool = Pool::with_config("tiny", backend, config).unwrap();
    let mut store = CompressedStore::new(pool, 16);
    let mut stored = Vec::new();
    for slot in 0..16 {
        match store.write(slot, &noise(slot as u64)) {
            Ok(()) => stored.push(slot),
            Err(error) => {
                assert_eq!(error, StoreError::OutOfMemory);
                break;
            }
        }
    }
    assert_eq!(stored.len(), 4);
    for &slot in &stored {
        assert_eq!(read(&mut store, slot), noise(slot as u64));
    }
}

#[test]
fn slot_contents_say_how_each_page_is_kept() {
    for config in LAYOUTS {
        slot_contents_say_how_each_page_is_kept_with(config);
    }
}

fn slot_contents_say_how_each_page_is_kept_with(config: Config) {
    let mut store = store_with(4, config);
    store.write(1, &[7u8; PAGE_SIZE]).unwrap();
    store.write(2, &text(3)).unwrap();
    store.write(3, &noise(4)).unwrap();
    assert_eq!(store.slot_contents(0), Ok(SlotContents::Empty));
    assert_eq!(
        store.slot_contents(1),
        Ok(SlotContents::SameFilled {
            word: 0x0707_0707_0707_0707
        })
    );
    let compressed = store.statistics().mm_stat.compr_data_size as usize - PAGE_SIZE;
    assert_eq!(
        store.slot_contents(2),
        Ok(SlotContents::Compressed { bytes: compressed })
    );
    assert_eq!(store.slot_contents(3), Ok(SlotContents::Huge));
    assert_eq!(
        store.slot_contents(4),
        Err(StoreError::SlotOutOfRange { slot: 4, slots: 4 })
    );
    store.discard(2).unwrap();
    assert_eq!(store.slot_contents(2), Ok(SlotContents::Empty));
}

#[test]
fn the_slot_table_and_the_pool_metadata_are_counted_apart() {
    for config in LAYOUTS {
        the_slot_table_and_the_pool_metadata_are_counted_apart_with(config);
    }
}

fn the_slot_table_and_the_pool_metadata_are_counted_apart_with(config: Config) {
    let mut store = store_with(64, config);
    let empty_table = store.slot_table_bytes();
    assert!(empty_table >= 64 * 8, "{empty_table} bytes for 64 slots");
    assert_eq!(store_with(128, config).slot_table_bytes(), 2 * empty_table);
    for slot in 0..64 {
        store.write(slot, &text(slot as u64)).unwrap();
    }
    assert_eq!(
        store.slot_table_bytes(),
        empty_table,
        "writes allocate none"
    );
    let mm = store.statistics().mm_stat;
    let metadata = store.pool().stats().metadata_bytes as u64;
    assert!(metadata > 0);
    assert_eq!(
        mm.allocator_efficiency_with_metadata(metadata),
        mm.compr_data_size as f64 / (mm.mem_used_total + metadata) as f64
    );
    assert!(mm.allocator_efficiency_with_metadata(metadata) < mm.allocator_efficiency());
    assert_eq!(
        mm.allocator_efficiency_with_metadata(0),
        mm.allocator_efficiency()
    );
}
