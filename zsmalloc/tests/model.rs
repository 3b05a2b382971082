//! Model-based tests: random operation sequences against a simple model
//! (a list of live objects and their expected bytes), checking contents,
//! statistics and `Pool::check()` after every step. The second half runs the
//! same sequences on a backend whose page allocation fails at random: every
//! failure must leave the pool exactly as it was.

use proptest::prelude::*;
use proptest::test_runner::Config as RunnerConfig;
use zsmalloc::linux::CompactLimits;
use zsmalloc::testing::{fill_pattern, FaultPlan, FaultyBackend, HighmemBackend};
use zsmalloc::{
    AllocError, Backend, Config, Handle, HandlePlacement, LinuxConfig, PackedConfig, Pool,
    ReadOnly, ReadWrite, WriteOnly, PAGE_SIZE,
};

#[derive(Debug, Clone)]
enum Operation {
    Malloc(usize),
    /// Overwrite object `index % live` with pattern `seed` (write-only window).
    Write(usize, u64),
    /// Flip the first byte of an object through a read-write window.
    Update(usize),
    /// Read an object back through a read-only window.
    Read(usize),
    /// Overwrite an object with pattern `seed` by copying (`zs_obj_write`).
    CopyIn(usize, u64),
    /// Read an object back with `read_with` (`zs_obj_read_begin`).
    ReadWith(usize),
    Free(usize),
    Compact,
}

fn size_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=64, 1usize..=4096, 3000usize..=4096, 200usize..=210]
}

fn operation_strategy() -> impl Strategy<Value = Operation> {
    prop_oneof![
        4 => size_strategy().prop_map(Operation::Malloc),
        3 => (any::<usize>(), any::<u64>()).prop_map(|(index, seed)| Operation::Write(index, seed)),
        1 => any::<usize>().prop_map(Operation::Update),
        2 => any::<usize>().prop_map(Operation::Read),
        1 => (any::<usize>(), any::<u64>()).prop_map(|(index, seed)| Operation::CopyIn(index, seed)),
        1 => any::<usize>().prop_map(Operation::ReadWith),
        3 => any::<usize>().prop_map(Operation::Free),
        1 => Just(Operation::Compact),
    ]
}

/// The model: each live object with its expected contents.
struct Model {
    objects: Vec<(Handle, Vec<u8>)>,
}

fn stats_without_metadata<B: Backend>(pool: &Pool<B>) -> zsmalloc::PoolStats {
    let mut stats = pool.stats();
    stats.metadata_bytes = 0;
    stats
}

fn run<B: Backend>(pool: &Pool<B>, live_pages: impl Fn() -> usize, operations: &[Operation]) {
    let mut model = Model {
        objects: Vec::new(),
    };
    let mut mapper = pool.mapper();
    let mut local_copy = Box::new([0; PAGE_SIZE]);
    for operation in operations {
        match *operation {
            Operation::Malloc(size) => {
                let before = stats_without_metadata(pool);
                match pool.malloc(size) {
                    Ok(handle) => {
                        let mut contents = vec![0; size];
                        fill_pattern(size as u64, &mut contents);
                        mapper
                            .map(&handle, WriteOnly, |window| {
                                window.copy_from_slice(&contents)
                            })
                            .unwrap();
                        model.objects.push((handle, contents));
                    }
                    Err(AllocError::OutOfPages) => {
                        assert_eq!(
                            stats_without_metadata(pool),
                            before,
                            "failed malloc changed the pool"
                        );
                    }
                    Err(error) => panic!("unexpected {error:?}"),
                }
            }
            Operation::Write(index, seed) if !model.objects.is_empty() => {
                let index = index % model.objects.len();
                let (handle, contents) = &mut model.objects[index];
                fill_pattern(seed, contents);
                mapper
                    .map(handle, WriteOnly, |window| window.copy_from_slice(contents))
                    .unwrap();
            }
            Operation::Update(index) if !model.objects.is_empty() => {
                let index = index % model.objects.len();
                let (handle, contents) = &mut model.objects[index];
                mapper
                    .map(handle, ReadWrite, |window| {
                        assert_eq!(&window[..], &contents[..]);
                        window[0] ^= 0xFF;
                    })
                    .unwrap();
                contents[0] ^= 0xFF;
            }
            Operation::Read(index) if !model.objects.is_empty() => {
                let index = index % model.objects.len();
                let (handle, contents) = &model.objects[index];
                let equal = mapper.map(handle, ReadOnly, |window| window[..] == contents[..]);
                assert_eq!(equal, Ok(true));
            }
            Operation::CopyIn(index, seed) if !model.objects.is_empty() => {
                let index = index % model.objects.len();
                let (handle, contents) = &mut model.objects[index];
                fill_pattern(seed, contents);
                assert_eq!(pool.write(handle, contents), Ok(contents.len()));
            }
            Operation::ReadWith(index) if !model.objects.is_empty() => {
                let index = index % model.objects.len();
                let (handle, contents) = &model.objects[index];
                let equal =
                    pool.read_with(handle, &mut local_copy, |read| read[..] == contents[..]);
                assert_eq!(equal, Ok(true));
            }
            Operation::Free(index) if !model.objects.is_empty() => {
                let index = index % model.objects.len();
                let (handle, _) = model.objects.swap_remove(index);
                pool.try_free(handle).unwrap();
            }
            Operation::Compact => {
                let predicted = pool.pages_compactable();
                let before = pool.total_pages();
                let freed = pool.compact();
                if pool.layout().name() == "linux" {
                    // Linux's count is exact: compaction frees at least that.
                    assert!(freed >= predicted);
                } else {
                    // The packed layout's count is an upper bound.
                    assert!(freed <= predicted);
                }
                assert_eq!(pool.total_pages(), before - freed);
            }
            _ => {}
        }
        pool.check().unwrap();
        let stats = pool.stats();
        assert_eq!(stats.objects_used, model.objects.len());
        let payload: usize = model
            .objects
            .iter()
            .map(|(_, contents)| contents.len())
            .sum();
        assert_eq!(stats.payload_bytes, payload);
        assert_eq!(stats.total_pages, live_pages());
    }
    // Every stored object survived.
    for (handle, contents) in &model.objects {
        let equal = mapper.map(handle, ReadOnly, |window| window[..] == contents[..]);
        assert_eq!(equal, Ok(true));
    }
    drop(mapper);
    for (handle, _) in model.objects {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
    assert_eq!(live_pages(), 0);
}

fn runner_config() -> RunnerConfig {
    RunnerConfig {
        cases: if cfg!(miri) { 2 } else { 96 },
        // No files: works under Miri isolation and leaves no droppings.
        failure_persistence: None,
        ..RunnerConfig::default()
    }
}

fn sequence_length() -> std::ops::Range<usize> {
    if cfg!(miri) {
        1..25
    } else {
        1..160
    }
}

fn configuration(selector: u8) -> Config {
    match selector % 4 {
        0 => Config::linux(8),
        1 => Config::linux(4),
        2 => Config::packed(),
        _ => Config::Linux(LinuxConfig {
            handle_placement: HandlePlacement::OutOfBand,
            merge_classes: false,
            ..LinuxConfig::with_chain(8)
        }),
    }
}

/// Any geometry `validate()` may see: spacings and minimum sizes that are
/// multiples of 8 (small ones more often), every chain length.
fn any_configuration() -> impl Strategy<Value = Config> {
    let eighths = || prop_oneof![1usize..=8, 1usize..=512];
    let geometry = (eighths(), eighths(), 0usize..=17);
    prop_oneof![
        (geometry.clone(), 0usize..=70).prop_map(|((spacing, minimum, chain), reuse_window)| {
            Config::Packed(PackedConfig {
                class_spacing: 8 * spacing,
                min_object_size: 8 * minimum,
                max_pages_per_zspage: chain,
                reuse_window,
            })
        }),
        (geometry, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |((spacing, minimum, chain), out_of_band, merge_classes, tiny_steps)| {
                Config::Linux(LinuxConfig {
                    class_spacing: 8 * spacing,
                    min_object_size: 8 * minimum,
                    max_pages_per_zspage: chain,
                    handle_placement: if out_of_band {
                        HandlePlacement::OutOfBand
                    } else {
                        HandlePlacement::Inline
                    },
                    merge_classes,
                    // Compaction one object and one slot per step, or the default.
                    compact_step: if tiny_steps {
                        CompactLimits {
                            bytes: 1,
                            objects: 1,
                            slots: 1,
                        }
                    } else {
                        CompactLimits::DEFAULT
                    },
                })
            }
        ),
    ]
}

proptest! {
    #![proptest_config(runner_config())]

    /// Every configuration `validate()` accepts works; the others are
    /// refused by `Pool::with_config` with the same error.
    #[test]
    fn every_accepted_configuration_matches_the_model(
        config in any_configuration(),
        operations in prop::collection::vec(operation_strategy(), sequence_length()),
    ) {
        let backend = HighmemBackend::new();
        match config.validate() {
            Ok(()) => {
                let pool = Pool::with_config("any", &backend, config).unwrap();
                run(&pool, || backend.counters().live_pages, &operations);
            }
            Err(error) => {
                prop_assert_eq!(Pool::with_config("any", &backend, config).unwrap_err(), error);
            }
        }
    }

    #[test]
    fn pool_matches_the_model(
        selector in any::<u8>(),
        operations in prop::collection::vec(operation_strategy(), sequence_length()),
    ) {
        let backend = HighmemBackend::new();
        let pool = Pool::with_config("model", &backend, configuration(selector)).unwrap();
        run(&pool, || backend.counters().live_pages, &operations);
    }

    #[test]
    fn packed_pool_matches_the_model(
        operations in prop::collection::vec(operation_strategy(), sequence_length()),
    ) {
        let backend = HighmemBackend::new();
        let pool = Pool::with_config("model", &backend, Config::packed()).unwrap();
        run(&pool, || backend.counters().live_pages, &operations);
    }

    #[test]
    fn failures_leave_the_pool_consistent(
        selector in any::<u8>(),
        seed in any::<u64>(),
        percent in 10u32..60,
        operations in prop::collection::vec(operation_strategy(), sequence_length()),
    ) {
        let backend = FaultyBackend::new(HighmemBackend::new(), FaultPlan::Random { seed, percent });
        let pool = Pool::with_config("faults", &backend, configuration(selector)).unwrap();
        run(&pool, || backend.inner().counters().live_pages, &operations);
    }
}

#[test]
fn every_nth_page_failing_loses_nothing() {
    let backend = FaultyBackend::new(HighmemBackend::new(), FaultPlan::EveryNth(3));
    let pool = Pool::with_config("every third", &backend, Config::linux(8)).unwrap();
    let operations: Vec<Operation> = (0..if cfg!(miri) { 30 } else { 400 })
        .map(|i| match i % 5 {
            0..=2 => Operation::Malloc(100 + i * 13 % 4000),
            3 => Operation::Read(i),
            _ => Operation::Free(i * 7),
        })
        .collect();
    run(&pool, || backend.inner().counters().live_pages, &operations);
    assert!(backend.injected_failures() > 0);
}

#[test]
fn every_nth_page_failing_loses_nothing_packed() {
    let backend = FaultyBackend::new(HighmemBackend::new(), FaultPlan::EveryNth(3));
    let pool = Pool::with_config("every third", &backend, Config::packed()).unwrap();
    let operations: Vec<Operation> = (0..if cfg!(miri) { 30 } else { 400 })
        .map(|i| match i % 6 {
            // Large enough to need pages even in Miri's 30 operations.
            0..=2 => Operation::Malloc(100 + i * 997 % 3900),
            3 => Operation::Read(i),
            4 => Operation::Compact,
            _ => Operation::Free(i * 7),
        })
        .collect();
    run(&pool, || backend.inner().counters().live_pages, &operations);
    assert!(backend.injected_failures() > 0);
}

#[test]
fn packed_spacing_that_does_not_divide_a_page_works() {
    // Spacing 48 only sizes the hole lists: objects round up to 8 bytes,
    // so a 4096-byte object still fits in a zspage of one page.
    let config = Config::Packed(PackedConfig {
        class_spacing: 48,
        min_object_size: 16,
        max_pages_per_zspage: 1,
        reuse_window: 8,
    });
    assert_eq!(config.validate(), Ok(()));
    let backend = HighmemBackend::new();
    let pool = Pool::with_config("spacing 48", &backend, config).unwrap();
    let mut operations = vec![Operation::Malloc(4096), Operation::Malloc(4000)];
    operations.extend([
        Operation::Free(0),
        Operation::Malloc(4090),
        Operation::Free(1),
    ]);
    run(&pool, || backend.counters().live_pages, &operations);
}

#[test]
fn packed_minimum_that_is_not_a_multiple_of_the_spacing_works() {
    // Minimum 24, spacing 16: hole classes start at 24, 40, 56, ... while
    // extents are 32, 48, ...: a request must never get a shorter hole.
    let config = Config::Packed(PackedConfig {
        class_spacing: 16,
        min_object_size: 24,
        max_pages_per_zspage: 1,
        reuse_window: 8,
    });
    let backend = HighmemBackend::new();
    let pool = Pool::with_config("minimum 24", &backend, config).unwrap();
    let mut operations = vec![Operation::Malloc(48); 86];
    operations.extend([Operation::Malloc(1), Operation::Malloc(4096)]);
    operations.extend((0..40).map(|i| Operation::Free(i * 7)));
    operations.extend((0..40).map(|i| Operation::Malloc(17 + i * 5)));
    operations.extend([
        Operation::Compact,
        Operation::Malloc(4000),
        Operation::Malloc(17),
    ]);
    run(&pool, || backend.counters().live_pages, &operations);
}

#[test]
fn exhausted_backend_refuses_cleanly() {
    let backend = HighmemBackend::with_page_limit(3);
    let pool = Pool::with_config("small", &backend, Config::linux(8)).unwrap();
    // Class 3632 needs 8 pages per zspage: never possible.
    assert_eq!(pool.malloc(3600).unwrap_err(), AllocError::OutOfPages);
    assert_eq!(pool.total_pages(), 0);
    pool.check().unwrap();
    let small = pool.malloc(10).unwrap();
    assert_eq!(pool.total_pages(), 1);
    pool.free(small);
    assert_eq!(backend.counters().live_pages, 0);
}
