//! In-QEMU tests of the compressed store on the kernel's frames, with
//! interrupts really disabled during map windows.

use alloc::vec::Vec;
use kernel::compressed_ram::workload::{Random, Workload};
use kernel::compressed_ram::{new_store, new_store_with};
use kernel::interrupts::atomic;
use kernel::memory::frame::GFP_HIGHUSER;
use kernel::memory::zsmalloc_backend::KernelPages;
use kernel::memory::PAGE_SIZE;
use zram::{CompressedStore, StoreError};
use zsmalloc::Pool;

const KINDS: usize = 8;

fn built_in_page(index: usize) -> [u8; PAGE_SIZE] {
    let mut page = [0; PAGE_SIZE];
    Workload::BuiltIn { count: usize::MAX }.page(index, &mut page);
    page
}

fn read(store: &mut CompressedStore<KernelPages>, slot: usize) -> [u8; PAGE_SIZE] {
    let mut page = [0x5A; PAGE_SIZE];
    store.read(slot, &mut page).expect("read");
    page
}

fn every_page_kind_round_trips() {
    for (name, config) in kernel::compressed_ram::CONFIGURATIONS {
        round_trips_on(name, new_store_with(2 * KINDS, config));
    }
}
crate::kernel_test!(every_page_kind_round_trips);

fn round_trips_on(name: &str, mut store: CompressedStore<KernelPages>) {
    for slot in 0..2 * KINDS {
        store.write(slot, &built_in_page(slot)).expect("write");
    }
    for slot in 0..2 * KINDS {
        assert!(
            read(&mut store, slot) == built_in_page(slot),
            "{name}: slot {slot}"
        );
    }
    let statistics = store.statistics();
    let mm = statistics.mm_stat;
    assert_eq!(mm.orig_data_size, (2 * KINDS * PAGE_SIZE) as u64);
    assert_eq!(mm.same_pages, 4, "kinds 0 and 1 are same-filled");
    // Noise (kind 4) is always huge; how many others are depends on the
    // configuration's threshold.
    let mut compressor = zram::compression::Compressor::new();
    let huge = (0..2 * KINDS)
        .filter(|&slot| compressor.compress(&built_in_page(slot)).len() >= store.huge_threshold())
        .count();
    assert!(huge >= 2, "{name}: kind 4 is noise");
    assert_eq!(mm.huge_pages, huge as u64, "{name}");
    assert_eq!(
        mm.mem_used_total,
        (store.pool().total_pages() * PAGE_SIZE) as u64
    );
    let (low, high) = store.pool().backend().frames_in_use();
    assert_eq!(low + high, store.pool().total_pages());
    assert!(high > 0, "zsmalloc prefers HIGHMEM frames");
    store.pool().check().expect("pool invariants");
}

fn overwrite_and_discard() {
    let mut store = new_store(4);
    store.write(0, &built_in_page(4)).unwrap();
    store.write(0, &built_in_page(2)).unwrap();
    assert!(read(&mut store, 0) == built_in_page(2));
    assert_eq!(
        store.statistics().mm_stat.huge_pages,
        0,
        "the old huge object was freed"
    );
    store.discard(0).unwrap();
    assert!(read(&mut store, 0) == [0; PAGE_SIZE]);
    let statistics = store.statistics();
    assert_eq!(statistics.mm_stat.orig_data_size, 0);
    assert_eq!(
        statistics.mm_stat.mem_used_total, 0,
        "every frame went back"
    );
    assert_eq!(statistics.writes, 2);
    assert_eq!(statistics.discards, 1);
}
crate::kernel_test!(overwrite_and_discard);

fn the_memory_limit_is_respected_with_old_data_intact() {
    let mut store = new_store(32);
    store.set_memory_limit(6);
    let mut stored = Vec::new();
    let mut refusal = None;
    for slot in 0..32 {
        // Noise pages (kind 4): each needs a page of its own.
        match store.write(slot, &built_in_page(slot * KINDS + 4)) {
            Ok(()) => stored.push(slot),
            Err(error) => {
                refusal = Some(error);
                break;
            }
        }
    }
    assert_eq!(refusal, Some(StoreError::MemoryLimit { limit_pages: 6 }));
    assert_eq!(stored.len(), 6);
    assert_eq!(
        store.write(stored[0], &built_in_page(1004)),
        Err(StoreError::MemoryLimit { limit_pages: 6 })
    );
    for &slot in &stored {
        assert!(
            read(&mut store, slot) == built_in_page(slot * KINDS + 4),
            "slot {slot}"
        );
    }
    assert!(store.statistics().mm_stat.mem_used_max <= 6 * PAGE_SIZE as u64);
}
crate::kernel_test!(the_memory_limit_is_respected_with_old_data_intact);

fn compaction_keeps_the_data() {
    let slots = 800;
    let mut store = new_store(slots);
    for slot in 0..slots {
        store.write(slot, &built_in_page(slot)).unwrap();
    }
    let mut random = Random::new(7);
    let mut kept = Vec::new();
    for slot in 0..slots {
        if random.next_u64().is_multiple_of(3) {
            kept.push(slot);
        } else {
            store.discard(slot).unwrap();
        }
    }
    let before = store.pool().total_pages();
    let freed = store.compact();
    assert!(
        freed > 0,
        "two thirds were discarded: something must be compactable"
    );
    assert_eq!(store.pool().total_pages(), before - freed);
    for &slot in &kept {
        assert!(read(&mut store, slot) == built_in_page(slot), "slot {slot}");
    }
    store.pool().check().expect("pool invariants");
}
crate::kernel_test!(compaction_keeps_the_data);

fn bad_input_changes_nothing() {
    let mut store = new_store(2);
    store.write(1, &built_in_page(3)).unwrap();
    let before = store.statistics();
    assert_eq!(
        store.write(2, &[0; PAGE_SIZE]),
        Err(StoreError::SlotOutOfRange { slot: 2, slots: 2 })
    );
    assert_eq!(
        store.write(0, &[0; 512]),
        Err(StoreError::NotAPage { length: 512 })
    );
    assert_eq!(
        store.read(0, &mut [0; 8192]),
        Err(StoreError::NotAPage { length: 8192 })
    );
    assert_eq!(store.statistics().mm_stat, before.mm_stat);
    assert!(read(&mut store, 1) == built_in_page(3));
}
crate::kernel_test!(bad_input_changes_nothing);

/// Map windows under a fast timer: a timer tick must never land in one.
fn no_timer_interrupt_inside_a_map_window() {
    kernel::interrupts::set_timer_frequency(10_000);
    atomic::start_checking();
    let before = atomic::statistics();
    let pool = Pool::new("stress", KernelPages::new(GFP_HIGHUSER));
    let mut handles = Vec::new();
    for round in 0..2_000usize {
        let size = 1 + (round * 997) % PAGE_SIZE;
        let handle = pool.malloc(size).expect("memory");
        let mut mapper = pool.mapper();
        mapper
            .map(&handle, zsmalloc::WriteOnly, |window| {
                window.fill(round as u8)
            })
            .expect("map");
        let intact = mapper.map(&handle, zsmalloc::ReadOnly, |window| {
            window.iter().all(|&byte| byte == round as u8)
        });
        assert_eq!(intact, Ok(true));
        handles.push(handle);
        if handles.len() > 64 {
            pool.free(handles.remove(0));
        }
    }
    let ticks_seen = kernel::interrupts::ticks();
    kernel::interrupts::on_tick(None);
    kernel::interrupts::set_timer_frequency(kernel::interrupts::DEFAULT_TIMER_HZ);
    let after = atomic::statistics();
    assert!(
        after.windows > before.windows + 4_000,
        "windows were opened"
    );
    assert_eq!(
        after.violations, before.violations,
        "a timer interrupt arrived inside a map window"
    );
    assert!(ticks_seen > 0);
}
crate::kernel_test!(no_timer_interrupt_inside_a_map_window);

/// An object spanning two HIGHMEM pages is mapped in place through two
/// adjacent kmap slots; what is written through that window lands in the
/// right frames (read back through the copying path).
fn spanning_objects_are_mapped_in_place_on_highmem() {
    let pool = Pool::with_config(
        "pairs",
        KernelPages::new(kernel::memory::frame::GFP_HIGHMEM_ONLY),
        zsmalloc::Config::linux(4),
    )
    .expect("valid");
    let mut mapper = pool.mapper();
    let mut handles = Vec::new();
    // Objects of 3000 bytes: the second one of a zspage starts in its first
    // page and ends in its second, and so on.
    for round in 0..8usize {
        let size = 3000;
        let handle = pool.malloc(size).expect("memory");
        mapper
            .map(&handle, zsmalloc::WriteOnly, |window| {
                assert!(
                    window.is_in_place(),
                    "size {size}: HIGHMEM pairs map in place"
                );
                for (index, byte) in window.iter_mut().enumerate() {
                    *byte = (index * 31 + round) as u8;
                }
            })
            .expect("map");
        let mut copy = alloc::vec![0u8; size];
        pool.read(&handle, &mut copy).expect("read");
        assert!(copy
            .iter()
            .enumerate()
            .all(|(index, &byte)| byte == (index * 31 + round) as u8));
        handles.push(handle);
    }
    for handle in handles {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
    assert_eq!(
        kernel::memory::kmap::statistics().slots_in_use,
        0,
        "every slot given back"
    );
}
crate::kernel_test!(spanning_objects_are_mapped_in_place_on_highmem);

/// Linux 6.15's access API on HIGHMEM frames: `Pool::write` lands in the
/// frames, and `read_with` reads an object spanning two pages in place
/// (two adjacent kmap slots), with interrupts off only while it does.
fn current_access_api_on_highmem() {
    let pool = Pool::with_config(
        "reads",
        KernelPages::new(kernel::memory::frame::GFP_HIGHMEM_ONLY),
        zsmalloc::Config::linux(4),
    )
    .expect("valid");
    let mut local_copy = [0u8; PAGE_SIZE];
    for round in 0..8usize {
        let handle = pool.malloc(3000).expect("memory");
        let data: Vec<u8> = (0..3000).map(|index| (index * 7 + round) as u8).collect();
        assert_eq!(pool.write(&handle, &data), Ok(3000));
        pool.read_with(&handle, &mut local_copy, |read| {
            assert!(read.is_in_place(), "HIGHMEM objects are read in place");
            assert!(!x86_64::instructions::interrupts::are_enabled());
            assert!(read[..] == data[..], "round {round}");
        })
        .expect("read");
        assert!(x86_64::instructions::interrupts::are_enabled());
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
    assert_eq!(kernel::memory::kmap::statistics().slots_in_use, 0);
}
crate::kernel_test!(current_access_api_on_highmem);
