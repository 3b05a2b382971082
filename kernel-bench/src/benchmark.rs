//! The in-QEMU half of the benchmark (`./run-qemu.sh bench`): the same
//! workload as the host half, measured where zsmalloc really runs.
//!
//! - Part 3, allocation under physical fragmentation: every free HIGHMEM
//!   frame is taken, then every other one of a region is given back (a
//!   checkerboard: plenty of free memory, no two free frames adjacent). Then
//!   each allocator stores corpus objects until it fails:
//!
//!   ```text
//!   frames:  [free][held][free][held][free][held] ...
//!   zsmalloc on single frames        → uses every free frame
//!   zsmalloc on 4-frame blocks       → cannot get a single block
//!   (for our packed layout and for Linux's, chain 4 and chain 8)
//!   ```
//!
//!   Each row also counts what the pool keeps on the heap, beside its
//!   frames ("+meta" columns): zsmalloc's metadata in bytes and per object,
//!   and the efficiency counting it:
//!
//!   ```text
//!   efficiency        = stored bytes / (frames used × 4096)
//!   eff.+meta         = stored bytes / (frames used × 4096 + metadata bytes)
//!   ```
//!
//! - Part 4, speed in cycles: store write/read split into compression and
//!   allocator time, malloc/free and map/unmap for ours and the baselines.
//!
//! - Part 5, interrupts-off windows per zsmalloc operation (`windows.rs`).
//!
//! Tables are printed for people and `BENCH-RESULT {json}` lines for tools.

use crate::high_order::HighOrderPages;
use alloc::vec::Vec;
use bench::corpus::Workload;
use bench::report::JsonLine;
use bench::speed::{self, Clock, Timing};
use bench::zsmalloc_allocator::ZsmallocAllocator;
use bench::ObjectAllocator;
use kernel::memory::frame::{self, Frame, GFP_HIGHMEM_ONLY};
use kernel::memory::zsmalloc_backend::KernelPages;
use kernel::memory::PAGE_SIZE;
use kernel::{println, tsc};
use zsmalloc::{Backend, Config};

/// Pages of the corpus timed in part 4.
const SPEED_PAGES: usize = 4200;

/// Frames in the checkerboard region (half of them end up free).
const CHECKERBOARD_FRAMES: usize = 8192;

/// A clock for the bench crate: TSC cycles converted to nanoseconds.
struct TscClock;

impl Clock for TscClock {
    fn now_ns(&mut self) -> u64 {
        (tsc::read() as u128 * 1_000_000_000 / u128::from(tsc::cycles_per_second().max(1))) as u64
    }
}

/// Run parts 3 and 4 on the page file `corpus`.
pub fn run(corpus: &[u8]) {
    let workload = match Workload::from_pages(corpus) {
        Ok(workload) => workload,
        Err(error) => {
            kernel::error!("benchmark: the corpus is not usable: {:?}", error);
            return;
        }
    };
    println!("\n{}", bench::report::corpus_summary(&workload));
    fragmentation(&workload);
    // The baselines keep their pages on the kernel heap (LOWMEM): time them
    // on at most the first SPEED_PAGES pages of the corpus.
    let speed_corpus = &corpus[..corpus.len().min(SPEED_PAGES * PAGE_SIZE)];
    let speed_workload = Workload::from_pages(speed_corpus).expect("a prefix of whole pages");
    speed_in_qemu(speed_corpus, &speed_workload);
    crate::windows::run(&workload);
}

/// One row of part 3.
struct FragmentationResult {
    allocator: &'static str,
    objects: usize,
    stored_bytes: usize,
    frames_used: usize,
    /// zsmalloc's own metadata when full (heap, not in the frames).
    metadata_bytes: usize,
}

impl FragmentationResult {
    fn efficiency(&self) -> f64 {
        bench::efficiency::efficiency(self.stored_bytes, self.frames_used, 0)
    }

    fn efficiency_with_metadata(&self) -> f64 {
        bench::efficiency::efficiency(self.stored_bytes, self.frames_used, self.metadata_bytes)
    }

    fn metadata_per_object(&self) -> f64 {
        if self.objects == 0 {
            0.0
        } else {
            self.metadata_bytes as f64 / self.objects as f64
        }
    }
}

fn fragmentation(workload: &Workload) {
    let held = take_all_highmem_frames();
    let free_in_checkerboard = release_checkerboard(&held);
    let configurations = [
        ("zsmalloc packed, single frames", Config::packed(), 1),
        ("zsmalloc packed, 4-frame blocks", Config::packed(), 4),
        ("zsmalloc linux chain 4, single frames", Config::linux(4), 1),
        (
            "zsmalloc linux chain 4, 4-frame blocks",
            Config::linux(4),
            4,
        ),
        ("zsmalloc linux chain 8, single frames", Config::linux(8), 1),
        (
            "zsmalloc linux chain 8, 4-frame blocks",
            Config::linux(8),
            4,
        ),
    ];
    let mut results = Vec::new();
    for (name, config, block_frames) in configurations {
        let result = if block_frames == 1 {
            fill_until_full(name, KernelPages::new(GFP_HIGHMEM_ONLY), config, workload)
        } else {
            fill_until_full(
                name,
                HighOrderPages::new(GFP_HIGHMEM_ONLY, block_frames),
                config,
                workload,
            )
        };
        results.push(result);
    }
    give_back(held);
    println!(
        "\nPart 3 (QEMU): allocation under fragmentation: {} free HIGHMEM frames, no two adjacent",
        free_in_checkerboard
    );
    println!(
        "{:<40} {:>8} {:>12} {:>7} {:>6} | {:>10} {:>6} {:>9}",
        "allocator", "objects", "stored B", "frames", "eff.", "+meta: B", "B/obj", "eff.+meta"
    );
    for row in &results {
        println!(
            "{:<40} {:>8} {:>12} {:>7} {:>6.3} | {:>10} {:>6.1} {:>9.3}",
            row.allocator,
            row.objects,
            row.stored_bytes,
            row.frames_used,
            row.efficiency(),
            row.metadata_bytes,
            row.metadata_per_object(),
            row.efficiency_with_metadata()
        );
    }
    for row in &results {
        let line = JsonLine::new("fragmentation")
            .text("where", "qemu")
            .text("allocator", row.allocator)
            .integer("free_frames", free_in_checkerboard)
            .integer("objects", row.objects)
            .integer("stored_bytes", row.stored_bytes)
            .integer("frames_used", row.frames_used)
            .number("efficiency", row.efficiency(), 4)
            .integer("metadata_bytes", row.metadata_bytes)
            .number("metadata_bytes_per_object", row.metadata_per_object(), 1)
            .number(
                "efficiency_with_metadata",
                row.efficiency_with_metadata(),
                4,
            );
        println!("{}", line.line());
    }
}

/// Every free HIGHMEM frame, sorted by frame number.
fn take_all_highmem_frames() -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Ok(frame) = frame::allocate(GFP_HIGHMEM_ONLY) {
        frames.push(frame);
    }
    frames.sort_unstable();
    frames
}

/// Free every other frame of the first `CHECKERBOARD_FRAMES`; how many.
fn release_checkerboard(held: &[Frame]) -> usize {
    let region = &held[..held.len().min(CHECKERBOARD_FRAMES)];
    let released = region.iter().filter(|frame| frame.number() % 2 == 0);
    released
        .map(|&frame| frame::free(frame).expect("held frame"))
        .count()
}

/// Give back what `release_checkerboard` kept (the odd frames of the
/// region) and everything beyond it.
fn give_back(held: Vec<Frame>) {
    let region = held.len().min(CHECKERBOARD_FRAMES);
    for (index, frame) in held.into_iter().enumerate() {
        if index >= region || frame.number() % 2 == 1 {
            frame::free(frame).expect("held frame");
        }
    }
}

fn fill_until_full<B: Backend>(
    name: &'static str,
    backend: B,
    config: Config,
    workload: &Workload,
) -> FragmentationResult {
    let mut allocator = ZsmallocAllocator::new(name, backend, config).expect("valid configuration");
    let mut ids = Vec::new();
    let mut stored_bytes = 0;
    'fill: loop {
        for object in &workload.objects {
            match allocator.malloc(object.bytes.len()) {
                Some(id) => {
                    allocator.write(id, &object.bytes);
                    stored_bytes += object.bytes.len();
                    ids.push(id);
                }
                None => break 'fill,
            }
        }
    }
    let frames_used = allocator.data_pages();
    FragmentationResult {
        allocator: name,
        objects: ids.len(),
        stored_bytes,
        frames_used,
        metadata_bytes: allocator.metadata_bytes(),
    }
}

fn speed_in_qemu(corpus: &[u8], workload: &Workload) {
    let mut clock = TscClock;
    let mut timings: Vec<Timing> = Vec::new();
    for (name, config) in bench::lineup::zsmalloc_configurations() {
        let new_pool = move || {
            zsmalloc::Pool::with_config(name, KernelPages::new(GFP_HIGHMEM_ONLY), config)
                .expect("valid")
        };
        timings.extend(speed::measure_store(
            &mut clock, corpus, workload, name, &new_pool,
        ));
    }
    for contender in bench::lineup::lineup(|| KernelPages::new(GFP_HIGHMEM_ONLY)) {
        match speed::measure_allocator(&mut clock, &contender, workload) {
            Ok(rows) => timings.extend(rows),
            Err(error) => kernel::warn!("{}: {:?}", contender.name, error),
        }
    }
    for (name, config) in bench::lineup::zsmalloc_configurations() {
        let allocator = ZsmallocAllocator::new(name, KernelPages::new(GFP_HIGHMEM_ONLY), config)
            .expect("valid");
        match speed::measure_mapping(&mut clock, allocator, workload) {
            Ok(rows) => timings.extend(rows),
            Err(error) => kernel::warn!("{}: {:?}", name, error),
        }
    }
    print_speed(&timings);
}

fn print_speed(timings: &[Timing]) {
    let cycles_per_ns = tsc::cycles_per_second() as f64 / 1e9;
    println!(
        "\nPart 4 (QEMU, TCG): median cycles per operation over {} runs",
        speed::RUNS
    );
    println!(
        "{:<28} {:<40} {:>10} {:>10}",
        "operation", "subject", "cycles/op", "ns/op"
    );
    for row in timings {
        let cycles = row.ns_per_op * cycles_per_ns;
        println!(
            "{:<28} {:<40} {:>10.0} {:>10.1}",
            row.operation, row.subject, cycles, row.ns_per_op
        );
    }
    for row in timings {
        let line = bench::report::speed_json(row, "qemu").number(
            "cycles_per_op",
            row.ns_per_op * cycles_per_ns,
            0,
        );
        println!("{}", line.line());
    }
}
