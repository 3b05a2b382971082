//! Part 4: nanoseconds per operation.
//!
//! Every figure is the **median over [`RUNS`] runs** of (time of one pass
//! over all objects / number of objects), read from a [`Clock`] (the host:
//! `std::time::Instant`; the kernel: the TSC). A difference ("the rest"
//! below) is taken within each run, then its median reported, so that a
//! burst of load on the machine during one pass does not skew it.
//!
//! ```text
//!   store write  = zram::CompressedStore::write  (same-filled check + LZ4 + malloc + copy in)
//!   compression  = Compressor::compress alone     (same pages)
//!   ⇒ the rest   = store write − compression      (allocator, copy, store bookkeeping)
//!
//!   store read   = CompressedStore::read          (copy out + LZ4 decompression)
//!   decompression= decompress alone               (same objects; a huge page needs none)
//!   ⇒ the rest   = store read − decompression
//! ```
//!
//! Allocator operations are timed through [`crate::ObjectAllocator`] for every
//! allocator (malloc in workload order, write and read of each object's
//! bytes, free in a shuffled order); zsmalloc's map + unmap windows are
//! timed on its [`zsmalloc::Mapper`] directly (the baselines hand out plain
//! memory, there is nothing to map).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::hint::black_box;

use zram::compression::{self, Compressor};
use zram::CompressedStore;
use zsmalloc::{Backend, Pool, ReadOnly, ReadWrite, WriteOnly};

use crate::corpus::Workload;
use crate::fill::{store_all, ExperimentError};
use crate::lineup::Contender;
use crate::object_allocator::ObjectId;
use crate::shuffle::permutation;
use crate::zsmalloc_allocator::ZsmallocAllocator;
use crate::PAGE_SIZE;

/// Runs per figure (the median is reported).
pub const RUNS: usize = 9;

/// Seed of the order in which `measure_allocator` frees the objects.
pub const FREE_ORDER_SEED: u64 = 0x5EED_0003;

/// A monotonic clock.
pub trait Clock {
    /// Nanoseconds since an arbitrary start.
    fn now_ns(&mut self) -> u64;
}

/// One measured figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// What was timed ("malloc", "store write", ...).
    pub operation: String,
    /// Who was timed (an allocator's name, "lz4", ...).
    pub subject: String,
    /// Median nanoseconds per operation.
    pub ns_per_op: f64,
    /// Operations per run.
    pub operations: usize,
}

impl Timing {
    fn new(operation: &str, subject: &str, ns_per_op: f64, operations: usize) -> Timing {
        Timing {
            operation: String::from(operation),
            subject: String::from(subject),
            ns_per_op,
            operations,
        }
    }
}

/// The median of some samples (the mean of the middle two for an even count).
pub fn median(mut samples: Vec<f64>) -> f64 {
    assert!(!samples.is_empty(), "the median of nothing");
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[middle]
    } else {
        (samples[middle - 1] + samples[middle]) / 2.0
    }
}

/// Time `pass` (which performs `operations` operations); ns per operation.
fn time_pass(clock: &mut dyn Clock, operations: usize, pass: impl FnOnce()) -> f64 {
    let start = clock.now_ns();
    pass();
    let elapsed = clock.now_ns() - start;
    elapsed as f64 / operations.max(1) as f64
}

/// Store write/read through `zram::CompressedStore` on pools made by
/// `new_pool`, compression and decompression alone, and the differences.
/// `file` is the page file the workload was made from.
pub fn measure_store<B: Backend>(
    clock: &mut dyn Clock,
    file: &[u8],
    workload: &Workload,
    pool_name: &str,
    new_pool: &dyn Fn() -> Pool<B>,
) -> Vec<Timing> {
    let (file_pages, _) = file.as_chunks::<PAGE_SIZE>();
    let pages: Vec<&[u8; PAGE_SIZE]> = workload
        .objects
        .iter()
        .map(|object| &file_pages[object.page])
        .collect();
    let count = pages.len();
    let mut compressor = Compressor::new();
    let mut out = [0u8; PAGE_SIZE];
    let [mut write, mut read, mut compress, mut decompress] = [(); 4].map(|()| Vec::new());
    let [mut write_rest, mut read_rest] = [(); 2].map(|()| Vec::new());
    for _ in 0..RUNS {
        let mut store = CompressedStore::new(new_pool(), count);
        let compress_ns = time_pass(clock, count, || {
            for page in &pages {
                black_box(compressor.compress(page).len());
            }
        });
        let write_ns = time_pass(clock, count, || {
            for (slot, page) in pages.iter().enumerate() {
                let written = store.write(slot, &page[..]);
                written.expect("the heap has room for the corpus");
            }
        });
        let decompress_ns = time_pass(clock, count, || {
            for object in workload.objects.iter().filter(|object| !object.huge) {
                let result = compression::decompress(&object.bytes, &mut out);
                result.expect("the workload's LZ4 is valid");
                black_box(&out);
            }
        });
        let read_ns = time_pass(clock, count, || {
            for slot in 0..count {
                let result = store.read(slot, &mut out);
                result.expect("a stored slot reads back");
                black_box(&out);
            }
        });
        compress.push(compress_ns);
        write.push(write_ns);
        decompress.push(decompress_ns);
        read.push(read_ns);
        // Differences within one run: both passes saw the same machine load.
        write_rest.push(write_ns - compress_ns);
        read_rest.push(read_ns - decompress_ns);
    }
    let row = |operation, subject, samples| Timing::new(operation, subject, median(samples), count);
    vec![
        row("store write", pool_name, write),
        row("compression", "lz4", compress),
        row("store write - compression", pool_name, write_rest),
        row("store read", pool_name, read),
        row("decompression", "lz4", decompress),
        row("store read - decompression", pool_name, read_rest),
    ]
}

/// malloc, write, read and free through the common interface.
pub fn measure_allocator(
    clock: &mut dyn Clock,
    contender: &Contender,
    workload: &Workload,
) -> Result<Vec<Timing>, ExperimentError> {
    let count = workload.objects.len();
    let free_order = permutation(count, FREE_ORDER_SEED);
    let mut buffer = [0u8; PAGE_SIZE];
    let [mut malloc, mut write, mut read, mut free] = [(); 4].map(|()| Vec::new());
    for _ in 0..RUNS {
        let mut allocator = (contender.build)();
        let mut ids: Vec<ObjectId> = Vec::with_capacity(count);
        let mut refused = None;
        malloc.push(time_pass(clock, count, || {
            for object in &workload.objects {
                match allocator.malloc(object.bytes.len()) {
                    Some(id) => ids.push(id),
                    None => refused = refused.or(Some(object.bytes.len())),
                }
            }
        }));
        if let Some(size) = refused {
            let allocator = allocator.name();
            return Err(ExperimentError::Refused { allocator, size });
        }
        write.push(time_pass(clock, count, || {
            for (object, &id) in workload.objects.iter().zip(&ids) {
                allocator.write(id, &object.bytes);
            }
        }));
        read.push(time_pass(clock, count, || {
            for (object, &id) in workload.objects.iter().zip(&ids) {
                allocator.read(id, &mut buffer[..object.bytes.len()]);
                black_box(&buffer);
            }
        }));
        free.push(time_pass(clock, count, || {
            for &index in &free_order {
                allocator.free(ids[index]);
            }
        }));
    }
    let name = contender.name.as_str();
    let [malloc, write, read, free] = [malloc, write, read, free].map(median);
    Ok(vec![
        Timing::new("malloc", name, malloc, count),
        Timing::new("free", name, free, count),
        Timing::new("write (copy in)", name, write, count),
        Timing::new("read (copy out)", name, read, count),
    ])
}

/// map + unmap of every object, per map mode, on an empty zsmalloc pool
/// filled with the workload here. One byte of each window is touched, so a
/// write-only window is not written in full: the pool's contents are
/// unspecified afterwards, which is why it is consumed.
pub fn measure_mapping<B: Backend>(
    clock: &mut dyn Clock,
    mut allocator: ZsmallocAllocator<B>,
    workload: &Workload,
) -> Result<Vec<Timing>, ExperimentError> {
    let ids = store_all(
        &mut allocator,
        workload
            .objects
            .iter()
            .map(|object| object.bytes.as_slice()),
    )?;
    let pool = allocator.pool();
    let handles: Vec<_> = ids.iter().map(|&id| allocator.handle(id)).collect();
    let count = handles.len();
    let mut mapper = pool.mapper();
    let [mut read_only, mut write_only, mut read_write] = [(); 3].map(|()| Vec::new());
    for _ in 0..RUNS {
        read_only.push(time_pass(clock, count, || {
            for handle in &handles {
                mapper
                    .map(handle, ReadOnly, |window| black_box(window[0]))
                    .expect("not mapped");
            }
        }));
        write_only.push(time_pass(clock, count, || {
            for handle in &handles {
                mapper
                    .map(handle, WriteOnly, |window| window[0] = black_box(1))
                    .expect("not mapped");
            }
        }));
        read_write.push(time_pass(clock, count, || {
            for handle in &handles {
                mapper
                    .map(handle, ReadWrite, |window| window[0] = black_box(window[0]))
                    .expect("not mapped");
            }
        }));
    }
    let name = pool.name();
    let [read_only, write_only, read_write] = [read_only, write_only, read_write].map(median);
    Ok(vec![
        Timing::new("map+unmap RO", name, read_only, count),
        Timing::new("map+unmap WO", name, write_only, count),
        Timing::new("map+unmap RW", name, read_write, count),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_sample() {
        assert_eq!(median(vec![5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    /// A clock that advances 10 ns per reading.
    struct Ticking(u64);

    impl Clock for Ticking {
        fn now_ns(&mut self) -> u64 {
            self.0 += 10;
            self.0
        }
    }

    #[test]
    fn a_pass_costs_its_elapsed_time_over_its_operations() {
        let mut clock = Ticking(0);
        assert_eq!(time_pass(&mut clock, 5, || ()), 2.0);
    }

    #[test]
    fn every_measurement_runs_and_names_its_rows() {
        use crate::lineup::lineup;
        use zsmalloc::testing::HeapBackend;
        use zsmalloc::Config;

        let file: Vec<u8> = (0..4 * PAGE_SIZE).map(|index| (index % 97) as u8).collect();
        let workload = Workload::from_pages(&file).unwrap();
        let mut clock = Ticking(0);
        let new_pool = || Pool::with_config("p", HeapBackend::new(), Config::linux(4)).unwrap();
        let store = measure_store(&mut clock, &file, &workload, "p", &new_pool);
        let operations: Vec<&str> = store.iter().map(|row| row.operation.as_str()).collect();
        assert_eq!(
            operations[..3],
            ["store write", "compression", "store write - compression"]
        );
        // Each pass of 4 operations takes one 10 ns tick.
        assert!(store.iter().all(|row| row.operations == 4));
        assert_eq!(store[0].ns_per_op, 2.5);
        assert_eq!(store[2].ns_per_op, 0.0);

        for contender in lineup(HeapBackend::new) {
            let rows = measure_allocator(&mut clock, &contender, &workload).unwrap();
            assert_eq!(rows.len(), 4);
            assert!(rows.iter().all(|row| row.subject == contender.name));
        }
        let pool = ZsmallocAllocator::new("p", HeapBackend::new(), Config::linux(8)).unwrap();
        let mapping = measure_mapping(&mut clock, pool, &workload).unwrap();
        assert_eq!(mapping[2].operation, "map+unmap RW");
    }
}
