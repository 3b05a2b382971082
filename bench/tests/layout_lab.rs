//! The layout challenge: a layout of one's own, plugged into the pool
//! through the public `Layout` interface (`Pool::with_layout`), graded on
//! correctness first, then on its efficiency on the project's corpus.
//!
//! ```text
//!   correctness: every size round-trips through every kind of window; a
//!                random run matches a model; compaction keeps every object;
//!                the pool's checks pass; every page goes back at the end
//!   efficiency:  compressed bytes / (data pages × 4096) on the corpus, all
//!                objects read back first: at least Linux chain 4's, 0.95, 0.98
//! ```
//!
//! With the `lab-layout` feature the layout is the student's
//! (`labs/layout/layout.rs`); without it, the project's packed layout through
//! the same interface, which every test must pass.

use bench::corpus::Workload;
use bench::efficiency::measure_efficiency;
use bench::zsmalloc_allocator::ZsmallocAllocator;
use std::io::Read;
use zsmalloc::testing::{fill_pattern, has_pattern, HeapBackend, HighmemBackend};
use zsmalloc::{Backend, Config, Handle, Layout, Pool, ReadOnly, ReadWrite, WriteOnly, PAGE_SIZE};

#[cfg(feature = "lab-layout")]
#[path = "../../labs/layout/layout.rs"]
mod layout;

#[cfg(not(feature = "lab-layout"))]
mod layout {
    use zsmalloc::packed::PackedLayout;
    use zsmalloc::{Backend, Layout, PackedConfig};

    /// The reference: the project's own packed layout.
    pub fn layout<B: Backend>() -> Box<dyn Layout<B>> {
        Box::new(PackedLayout::new(PackedConfig::DEFAULT))
    }
}

fn pool<B: Backend>(backend: B) -> Pool<B> {
    let layout: Box<dyn Layout<B>> = layout::layout::<B>();
    Pool::with_layout("lab", backend, layout)
}

#[test]
fn every_size_round_trips() {
    for backend in [
        HighmemBackend::new(),
        HighmemBackend::new().without_page_pairs(),
    ] {
        let pool = pool(&backend);
        let mut mapper = pool.mapper();
        let mut handles = Vec::new();
        for size in 1..=PAGE_SIZE {
            let handle = pool.malloc(size).unwrap();
            let seed = size as u64;
            mapper
                .map(&handle, WriteOnly, |window| fill_pattern(seed, window))
                .unwrap();
            let intact = mapper.map(&handle, ReadOnly, |window| has_pattern(seed, window));
            assert_eq!(intact, Ok(true), "size {size}");
            handles.push((seed, handle));
        }
        pool.check().unwrap();
        for (seed, handle) in &handles {
            let intact = mapper.map(handle, ReadOnly, |window| has_pattern(*seed, window));
            assert_eq!(intact, Ok(true), "size {seed} with every object live");
        }
        drop(mapper);
        for (_, handle) in handles {
            pool.free(handle);
        }
        assert_eq!(
            pool.total_pages(),
            0,
            "pages held after every object was freed"
        );
        pool.check().unwrap();
        drop(pool);
        assert_eq!(backend.counters().live_pages, 0, "pages never given back");
    }
}

#[test]
fn windows_and_copies_change_one_object_only() {
    let backend = HighmemBackend::new();
    let pool = pool(&backend);
    let sizes: Vec<usize> = (0..300).map(|i| 1 + (i * 397) % PAGE_SIZE).collect();
    let handles: Vec<_> = sizes
        .iter()
        .map(|&size| pool.malloc(size).unwrap())
        .collect();
    for (seed, (handle, &size)) in (0..).zip(handles.iter().zip(&sizes)) {
        let mut data = vec![0; size];
        fill_pattern(seed, &mut data);
        assert_eq!(pool.write(handle, &data), Ok(size));
    }
    let mut mapper = pool.mapper();
    for (seed, handle) in (0..).zip(&handles).filter(|(seed, _)| seed % 3 == 0) {
        let intact = mapper.map(handle, ReadWrite, |window| {
            let intact = has_pattern(seed, window);
            window.iter_mut().for_each(|byte| *byte ^= 0x5a);
            intact
        });
        assert_eq!(intact, Ok(true), "object {seed}");
    }
    drop(mapper);
    for (seed, (handle, &size)) in (0..).zip(handles.iter().zip(&sizes)) {
        let mut expected = vec![0; size];
        fill_pattern(seed, &mut expected);
        if seed % 3 == 0 {
            expected.iter_mut().for_each(|byte| *byte ^= 0x5a);
        }
        let mut back = vec![0; size];
        assert_eq!(pool.read(handle, &mut back), Ok(size));
        assert!(back == expected, "object {seed} ({size} bytes)");
    }
    pool.check().unwrap();
    for handle in handles {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
}

/// A small deterministic generator (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn a_random_run_matches_a_model() {
    let backend = HighmemBackend::new();
    let pool = pool(&backend);
    let mut random = Random(0x1234_5678_9abc_def1);
    let mut live: Vec<(Handle, Vec<u8>)> = Vec::new();
    for step in 0..20_000u64 {
        match random.next() % 10 {
            0..=4 => {
                // Mostly compressed-page sizes, sometimes whole pages.
                let size = match random.next() % 8 {
                    0 => PAGE_SIZE,
                    _ => 1 + (random.next() % 3600) as usize,
                };
                let handle = pool.malloc(size).unwrap();
                let mut data = vec![0; size];
                fill_pattern(step, &mut data);
                pool.write(&handle, &data).unwrap();
                live.push((handle, data));
            }
            5..=8 if !live.is_empty() => {
                let index = (random.next() % live.len() as u64) as usize;
                let (handle, data) = live.swap_remove(index);
                let mut back = vec![0; data.len()];
                assert_eq!(pool.read(&handle, &mut back), Ok(data.len()));
                assert!(back == data, "step {step}: an object changed");
                pool.free(handle);
            }
            _ => {
                pool.compact();
            }
        }
        if step % 2_000 == 0 {
            pool.check().unwrap();
        }
    }
    pool.check().unwrap();
    for (handle, data) in live {
        let mut back = vec![0; data.len()];
        assert_eq!(pool.read(&handle, &mut back), Ok(data.len()));
        assert!(back == data, "an object changed");
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
    drop(pool);
    assert_eq!(backend.counters().live_pages, 0);
}

#[test]
fn compaction_keeps_every_object() {
    let backend = HighmemBackend::new();
    let pool = pool(&backend);
    let handles: Vec<_> = (0..3000u64)
        .map(|i| {
            let size = 40 + (i as usize * 37) % 3000;
            let handle = pool.malloc(size).unwrap();
            let mut data = vec![0; size];
            fill_pattern(i, &mut data);
            pool.write(&handle, &data).unwrap();
            (i, handle)
        })
        .collect();
    let mut kept = Vec::new();
    for (i, handle) in handles {
        if i % 3 == 0 {
            kept.push((i, handle));
        } else {
            pool.free(handle);
        }
    }
    let before = pool.total_pages();
    let freed = pool.compact();
    assert_eq!(
        before - pool.total_pages(),
        freed,
        "compact() must return the pages it freed"
    );
    pool.check().unwrap();
    let mut mapper = pool.mapper();
    for (i, handle) in &kept {
        let intact = mapper.map(handle, ReadOnly, |window| has_pattern(*i, window));
        assert_eq!(intact, Ok(true), "object {i} after compaction");
    }
    drop(mapper);
    for (_, handle) in kept {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
}

/// The project's corpus, compressed as zram would store it.
fn corpus() -> Workload {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../corpus/mixed-anon-4200.pages.gz"
    );
    let file = std::fs::File::open(path).expect("the project's corpus");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap();
    Workload::from_pages(&bytes).unwrap()
}

/// Efficiency of a pool on the corpus (every object verified first).
fn efficiency(pool: Pool<HeapBackend>, workload: &Workload) -> f64 {
    let mut allocator = ZsmallocAllocator::with_pool(pool);
    let result = measure_efficiency(&mut allocator, workload).expect("every object reads back");
    assert_eq!(
        result.pages_after_free, 0,
        "pages held after every object was freed"
    );
    result.efficiency()
}

fn lab_efficiency(workload: &Workload) -> f64 {
    let value = efficiency(pool(HeapBackend::new()), workload);
    println!("efficiency on the corpus: {value:.4}");
    value
}

#[test]
fn efficiency_reaches_linux_chain_4() {
    let workload = corpus();
    let linux = Pool::with_config("linux4", HeapBackend::new(), Config::linux(4)).unwrap();
    let linux = efficiency(linux, &workload);
    let lab = lab_efficiency(&workload);
    assert!(
        lab >= linux,
        "efficiency {lab:.4} is below Linux chain 4's {linux:.4}"
    );
}

#[test]
fn efficiency_reaches_0_95() {
    let lab = lab_efficiency(&corpus());
    assert!(lab >= 0.95, "efficiency {lab:.4} is below 0.95");
}

#[test]
fn efficiency_reaches_0_98() {
    let lab = lab_efficiency(&corpus());
    assert!(lab >= 0.98, "efficiency {lab:.4} is below 0.98");
}
