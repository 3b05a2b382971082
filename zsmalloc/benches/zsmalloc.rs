//! `cargo bench -p zsmalloc`: ns/op of the hot paths, with
//! `linked_list_allocator` (a first-fit heap over one big buffer) as the
//! baseline in the same run. Prints a table and one JSON line per result.
//!
//! * A population of N live objects (sizes 32..=1024, a fragmenting fill:
//!   2N allocated, every other one freed), N = 10^3 and 10^6; then
//!   - malloc+free pair: allocate a random size and free it at once (the
//!     algorithmic cost: does allocation scan anything?);
//!   - free random + malloc: free a random live object and allocate a new one
//!     in its place (touches cold memory: at 10^6 objects, ~0.5 GB, this is
//!     bound by cache and TLB misses rather than by the algorithm).
//! * map+unmap: in-page and page-spanning objects, RO / WO / RW windows.
//! * compaction: 10^5 objects, two thirds freed at random, then `compact()`.
//!
//! Each zsmalloc benchmark runs for Linux's default configuration
//! (`zsmalloc linux`, `Config::linux(8)`) and for our packed layout
//! (`zsmalloc packed`, `Config::packed()`).

use std::alloc::Layout;
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use linked_list_allocator::Heap;
use zsmalloc::testing::HeapBackend;
use zsmalloc::{Config, Handle, Pool, ReadOnly, ReadWrite, WriteOnly};

/// The zsmalloc configurations measured, by row name.
const CONFIGURATIONS: [(&str, Config); 2] = [
    ("zsmalloc linux", Config::linux(8)),
    ("zsmalloc packed", Config::packed()),
];

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn size(&mut self) -> usize {
        32 + (self.next() % 993) as usize
    }
}

struct Row {
    bench: String,
    allocator: &'static str,
    detail: String,
    ns_per_op: f64,
}

/// Run `operation` in batches until `budget` has passed; ns per call.
fn measure(budget: Duration, mut operation: impl FnMut()) -> f64 {
    for _ in 0..64 {
        operation();
    }
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            operation();
        }
        count += 64;
    }
    start.elapsed().as_nanos() as f64 / count as f64
}

const BUDGET: Duration = Duration::from_millis(400);

fn zsmalloc_malloc_free(live: usize, config: Config) -> (f64, f64) {
    let pool = Pool::with_config("bench", HeapBackend::new(), config).unwrap();
    let mut random = Random(0x1234_5678);
    // Fragmenting fill: allocate 2N, free every other one.
    let mut handles: Vec<Option<Handle>> = (0..2 * live)
        .map(|_| Some(pool.malloc(random.size()).unwrap()))
        .collect();
    for handle in handles.iter_mut().step_by(2) {
        pool.free(handle.take().unwrap());
    }
    let mut handles: Vec<Handle> = handles.into_iter().flatten().collect();
    let pair = measure(BUDGET, || {
        let handle = pool.malloc(random.size()).unwrap();
        pool.free(black_box(handle));
    });
    let replace = measure(BUDGET, || {
        let index = random.next() as usize % handles.len();
        let new = pool.malloc(random.size()).unwrap();
        let old = std::mem::replace(&mut handles[index], new);
        pool.free(black_box(old));
    });
    for handle in handles {
        pool.free(handle);
    }
    (pair, replace)
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

fn linked_list_malloc_free(live: usize) -> (f64, f64) {
    let mut memory = vec![0u8; 2 * live * 1100 + (1 << 20)];
    let mut heap = Heap::empty();
    // SAFETY: `memory` outlives `heap` (both dropped at the end of this
    // function, heap first as it is declared later) and is used by nothing else.
    unsafe { heap.init(memory.as_mut_ptr(), memory.len()) };
    let mut random = Random(0x1234_5678);
    let mut objects: Vec<Option<(NonNull<u8>, usize)>> = (0..2 * live)
        .map(|_| {
            let size = random.size();
            Some((heap.allocate_first_fit(layout(size)).unwrap(), size))
        })
        .collect();
    // Free from the highest address down: each hole then goes to the head of
    // the address-ordered free list (O(1)), keeping the setup fast.
    for object in objects.iter_mut().step_by(2).rev() {
        let (pointer, size) = object.take().unwrap();
        // SAFETY: allocated from this heap with this layout, freed once.
        unsafe { heap.deallocate(pointer, layout(size)) };
    }
    let mut objects: Vec<(NonNull<u8>, usize)> = objects.into_iter().flatten().collect();
    let pair = measure(BUDGET, || {
        let size = random.size();
        let pointer = heap.allocate_first_fit(layout(size)).unwrap();
        // SAFETY: allocated from this heap with this layout, freed once.
        unsafe { heap.deallocate(black_box(pointer), layout(size)) };
    });
    let replace = measure(BUDGET, || {
        let index = random.next() as usize % objects.len();
        let size = random.size();
        let new = heap.allocate_first_fit(layout(size)).unwrap();
        let (old, old_size) = std::mem::replace(&mut objects[index], (new, size));
        // SAFETY: allocated from this heap with this layout, freed once.
        unsafe { heap.deallocate(black_box(old), layout(old_size)) };
    });
    // `heap` holds no borrow of `memory`; neither is used past this point.
    (pair, replace)
}

fn map_benches(rows: &mut Vec<Row>, allocator: &'static str, config: Config) {
    let pool = Pool::with_config("map", HeapBackend::new(), config).unwrap();
    // Class 208 (3 pages, 59 objects): some payloads span pages, most do not.
    // (Packed: 208-byte extents end to end, the same.)
    let handles: Vec<Handle> = (0..118).map(|_| pool.malloc(200).unwrap()).collect();
    let mut mapper = pool.mapper();
    let mut in_page = None;
    let mut spanning = None;
    for handle in &handles {
        let in_place = mapper
            .map(handle, ReadOnly, |window| window.is_in_place())
            .unwrap();
        if in_place && in_page.is_none() {
            in_page = Some(handle);
        }
        if !in_place && spanning.is_none() {
            spanning = Some(handle);
        }
    }
    for (kind, handle) in [
        ("in-page", in_page.unwrap()),
        ("spanning", spanning.unwrap()),
    ] {
        let read_only = measure(BUDGET, || {
            mapper
                .map(handle, ReadOnly, |window| black_box(window[0]))
                .unwrap();
        });
        let write_only = measure(BUDGET, || {
            mapper
                .map(handle, WriteOnly, |window| window[0] = black_box(1))
                .unwrap();
        });
        let read_write = measure(BUDGET, || {
            mapper
                .map(handle, ReadWrite, |window| {
                    window[0] = black_box(window[0].wrapping_add(1))
                })
                .unwrap();
        });
        for (mode, ns) in [("RO", read_only), ("WO", write_only), ("RW", read_write)] {
            rows.push(Row {
                bench: format!("map+unmap {kind} {mode}"),
                allocator,
                detail: "200-byte object".into(),
                ns_per_op: ns,
            });
        }
    }
    let copy = measure(BUDGET, || {
        let mut buffer = [0u8; 200];
        pool.read(black_box(&handles[0]), &mut buffer).unwrap();
        black_box(buffer);
    });
    rows.push(Row {
        bench: "read (copy out, no window)".into(),
        allocator,
        detail: "200-byte object".into(),
        ns_per_op: copy,
    });
    drop(mapper);
    for handle in handles {
        pool.free(handle);
    }
}

fn compaction_bench(rows: &mut Vec<Row>, allocator: &'static str, config: Config) {
    let pool = Pool::with_config("compact", HeapBackend::new(), config).unwrap();
    let mut random = Random(42);
    let count = 100_000;
    let mut handles: Vec<Option<Handle>> = (0..count)
        .map(|_| Some(pool.malloc(random.size()).unwrap()))
        .collect();
    for handle in handles.iter_mut() {
        if !random.next().is_multiple_of(3) {
            pool.free(handle.take().unwrap());
        }
    }
    let before = pool.total_pages();
    let start = Instant::now();
    let freed = pool.compact();
    let elapsed = start.elapsed();
    println!(
        "compaction ({allocator}): {} of {} pages freed in {:.2} ms",
        freed,
        before,
        elapsed.as_secs_f64() * 1e3
    );
    rows.push(Row {
        bench: "compact (per page freed)".into(),
        allocator,
        detail: format!("{count} objects, 2/3 freed, {freed} pages freed"),
        ns_per_op: elapsed.as_nanos() as f64 / freed.max(1) as f64,
    });
    for handle in handles.into_iter().flatten() {
        pool.free(handle);
    }
}

fn main() {
    let mut rows = Vec::new();
    for live in [1_000, 1_000_000] {
        let mut results: Vec<(&'static str, (f64, f64))> = CONFIGURATIONS
            .iter()
            .map(|&(name, config)| (name, zsmalloc_malloc_free(live, config)))
            .collect();
        results.push(("linked_list_allocator", linked_list_malloc_free(live)));
        for (allocator, (pair, replace)) in results {
            rows.push(Row {
                bench: "malloc+free pair".into(),
                allocator,
                detail: format!("{live} live objects"),
                ns_per_op: pair,
            });
            rows.push(Row {
                bench: "free random + malloc".into(),
                allocator,
                detail: format!("{live} live objects"),
                ns_per_op: replace,
            });
        }
    }
    for (name, config) in CONFIGURATIONS {
        map_benches(&mut rows, name, config);
        compaction_bench(&mut rows, name, config);
    }

    println!();
    println!(
        "{:<30} {:<22} {:<40} {:>12}",
        "benchmark", "allocator", "detail", "ns/op"
    );
    for row in &rows {
        println!(
            "{:<30} {:<22} {:<40} {:>12.1}",
            row.bench, row.allocator, row.detail, row.ns_per_op
        );
    }
    println!();
    for row in &rows {
        println!(
            "{{\"bench\":\"{}\",\"allocator\":\"{}\",\"detail\":\"{}\",\"ns_per_op\":{:.2}}}",
            row.bench, row.allocator, row.detail, row.ns_per_op
        );
    }
}
