//! The handle table on its own: entry words, the life of an entry, FIFO
//! reuse behind the reserve, generations, growth.

use super::*;
use crate::handle::decode;
use crate::testing::HeapBackend;

/// Reserve and publish an entry of `length` bytes; its raw handle.
fn allocate(table: &HandleTable, backend: &HeapBackend, length: usize) -> (Entry, u64) {
    let entry = table.reserve(backend, length);
    (entry, table.publish(entry).get())
}

fn free(table: &HandleTable, backend: &HeapBackend, raw: u64) -> Entry {
    let claimed = table.claim_for_free(raw).unwrap();
    table.finish_free(backend, claimed.entry);
    claimed.entry
}

#[test]
fn a_handle_validates_only_between_publish_and_free() {
    let backend = HeapBackend::new();
    let table = HandleTable::new();
    let entry = table.reserve(&backend, 100);
    // What the handle will be, guessed before the object is placed.
    let guess = handle::encode(RawParts {
        pool_tag: table.pool_tag,
        generation: 0,
        index: entry.index(),
    })
    .get();
    assert_eq!(
        table.claim_for_free(guess).unwrap_err(),
        HandleError::NeverIssued
    );
    assert_eq!(
        table.claim_for_mapping(guess).unwrap_err(),
        HandleError::NeverIssued
    );
    table.set_location(entry, 0xAB_CDEF);
    let raw = table.publish(entry).get();
    assert_eq!(raw, guess);
    assert_eq!(table.checked_length(raw), Ok(100));
    assert_eq!(table.location(entry), 0xAB_CDEF);
    // Mapped: neither a second window nor a free.
    table.claim_for_mapping(raw).unwrap();
    assert_eq!(
        table.claim_for_mapping(raw).unwrap_err(),
        HandleError::Mapped
    );
    assert_eq!(table.claim_for_free(raw).unwrap_err(), HandleError::Mapped);
    table.release_mapping(entry);
    let claimed = table.claim_for_free(raw).unwrap();
    assert_eq!((claimed.entry, claimed.length), (entry, 100));
    // Stale at once, before the entry is back on the free list.
    assert_eq!(table.claim_for_free(raw).unwrap_err(), HandleError::Freed);
    assert_eq!(
        table.location(entry),
        0xAB_CDEF,
        "kept until the layout forgot it"
    );
    table.finish_free(&backend, entry);
    assert_eq!(table.checked_length(raw), Err(HandleError::Freed));
}

#[test]
fn relocation_changes_only_the_location_bits() {
    let backend = HeapBackend::new();
    let table = HandleTable::new();
    let (entry, raw) = allocate(&table, &backend, PAGE_SIZE_FOR_TESTS);
    table.claim_for_mapping(raw).unwrap();
    table.set_location(entry, LOCATION_MASK);
    table.set_location(entry, 7);
    assert_eq!(table.location(entry), 7);
    assert_eq!(table.length(entry), PAGE_SIZE_FOR_TESTS);
    let state = table.state(entry).unwrap();
    assert!(state.allocated && state.mapped);
    assert_eq!(
        table.claim_for_mapping(raw).unwrap_err(),
        HandleError::Mapped
    );
}

const PAGE_SIZE_FOR_TESTS: usize = crate::backend::PAGE_SIZE;

#[test]
#[should_panic(expected = "at most 40 bits")]
fn a_location_wider_than_40_bits_is_refused() {
    let backend = HeapBackend::new();
    let table = HandleTable::new();
    let (entry, _) = allocate(&table, &backend, 1);
    table.set_location(entry, 1 << LOCATION_BITS);
}

#[test]
fn free_entries_are_reused_oldest_first_behind_the_reserve() {
    let backend = HeapBackend::new();
    let table = HandleTable::new();
    let count = REUSE_RESERVE as usize + 3;
    let raws: Vec<u64> = (0..count)
        .map(|_| allocate(&table, &backend, 8).1)
        .collect();
    let freed: Vec<Entry> = raws
        .iter()
        .map(|&raw| free(&table, &backend, raw))
        .collect();
    // The reserve holds REUSE_RESERVE free entries: the first 3 frees
    // beyond it are reused, oldest first, with the next generation.
    for (index, &raw) in raws.iter().enumerate().take(3) {
        let (entry, reused) = allocate(&table, &backend, 8);
        assert_eq!(entry, freed[index]);
        assert_eq!(decode(reused).unwrap().generation, 1);
        assert_eq!(table.checked_length(raw), Err(HandleError::Freed));
    }
    // Then new entries again, until the reserve is refilled.
    let (entry, _) = allocate(&table, &backend, 8);
    assert_eq!(entry.index() as usize, count);
}

#[test]
fn generations_tell_stale_from_forged() {
    let backend = HeapBackend::new();
    let table = HandleTable::new();
    let (entry, raw) = allocate(&table, &backend, 8);
    let with_generation = |generation: u32| {
        handle::encode(RawParts {
            pool_tag: table.pool_tag,
            generation: generation & 1023,
            index: entry.index(),
        })
        .get()
    };
    assert_eq!(with_generation(0), raw);
    // The entry is at generation 0: generations just below it (mod 1024)
    // were freed, generations just above were never issued.
    assert_eq!(
        table.checked_length(with_generation(1023)),
        Err(HandleError::Freed)
    );
    assert_eq!(
        table.checked_length(with_generation(513)),
        Err(HandleError::Freed)
    );
    assert_eq!(
        table.checked_length(with_generation(1)),
        Err(HandleError::NeverIssued)
    );
    assert_eq!(
        table.checked_length(with_generation(512)),
        Err(HandleError::NeverIssued)
    );
    // A handle of another pool, with this pool's entry and generation.
    let other = handle::encode(RawParts {
        pool_tag: table.pool_tag ^ 1,
        generation: 0,
        index: entry.index(),
    });
    assert_eq!(
        table.checked_length(other.get()),
        Err(HandleError::OtherPool)
    );
    assert_eq!(table.checked_length(raw), Ok(8));
}

#[test]
fn a_stale_handle_is_refused_until_its_entry_was_reused_1024_times() {
    let backend = HeapBackend::new();
    // No reserve: the entry comes back at once (the real table waits for
    // REUSE_RESERVE other frees between two reuses).
    let table = HandleTable::with_reuse_reserve(0);
    let (entry, stale) = allocate(&table, &backend, 8);
    let mut current = stale;
    for reuse in 1..=1024 {
        free(&table, &backend, current);
        let (again, next) = allocate(&table, &backend, 8);
        assert_eq!(again, entry);
        current = next;
        let expected = match reuse {
            1..=511 => Err(HandleError::Freed),
            // Half the generations look older, half newer.
            512..=1023 => Err(HandleError::NeverIssued),
            _ => Ok(8),
        };
        assert_eq!(
            table.checked_length(stale),
            expected,
            "after {reuse} reuses"
        );
    }
    assert_eq!(current, stale, "the 10-bit generation wrapped");
}

#[test]
fn the_table_grows_one_chunk_at_a_time() {
    let backend = HeapBackend::new();
    let table = HandleTable::new();
    assert_eq!(table.metadata_bytes(), 0);
    allocate(&table, &backend, 8);
    let one_chunk = CHUNK_ENTRIES * 8;
    let first_segment = 8 * core::mem::size_of::<usize>();
    assert_eq!(table.metadata_bytes(), one_chunk + first_segment);
    for _ in 1..CHUNK_ENTRIES {
        allocate(&table, &backend, 8);
    }
    assert_eq!(table.metadata_bytes(), one_chunk + first_segment);
    allocate(&table, &backend, 8);
    assert_eq!(table.metadata_bytes(), 2 * one_chunk + first_segment);
    assert_eq!(table.issued_count() as usize, CHUNK_ENTRIES + 1);
}
