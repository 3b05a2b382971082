//! Where the time goes, in TSC cycles inside QEMU: compression alone,
//! decompression alone, the allocator alone (malloc + free, map + unmap),
//! and whole store writes and reads. The benchmark (`./run-qemu.sh bench`)
//! prints these next to the host's figures.
//!
//! ```text
//!   store write = same-filled check + LZ4 compress + zs_malloc + copy in (map window)
//!   store read  = copy out (map window) + LZ4 decompress
//! ```

use super::new_store;
use super::workload::Workload;
use crate::memory::frame::GFP_HIGHUSER;
use crate::memory::PAGE_SIZE;
use crate::tsc;
use alloc::vec;
use alloc::vec::Vec;
use zram::compression::{decompress, Compressor};
use zsmalloc::Pool;

/// Cycles per operation, averaged over the workload's pages.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpeedFigures {
    pub pages: u64,
    pub compress: u64,
    pub decompress: u64,
    pub malloc_free: u64,
    pub map_unmap_in_page: u64,
    pub store_write: u64,
    pub store_read: u64,
}

fn average(total: u64, count: usize) -> u64 {
    total / count.max(1) as u64
}

/// Measure every figure over the first `limit` pages of `workload`.
pub fn measure(workload: &Workload, limit: usize) -> SpeedFigures {
    let count = workload.page_count().min(limit);
    let mut page = [0u8; PAGE_SIZE];
    let mut compressor = Compressor::new();
    let mut compressed_pages: Vec<Vec<u8>> = Vec::with_capacity(count);
    let mut figures = SpeedFigures {
        pages: count as u64,
        ..Default::default()
    };

    let mut total = 0;
    for index in 0..count {
        workload.page(index, &mut page);
        let start = tsc::read();
        let compressed = compressor.compress(&page);
        total += tsc::read() - start;
        compressed_pages.push(compressed.to_vec());
    }
    figures.compress = average(total, count);

    let mut total = 0;
    for compressed in &compressed_pages {
        let start = tsc::read();
        let _ = decompress(compressed, &mut page);
        total += tsc::read() - start;
    }
    figures.decompress = average(total, count);

    figures.malloc_free = measure_malloc_free(&compressed_pages);
    figures.map_unmap_in_page = measure_map_unmap(&compressed_pages);

    let mut store = new_store(count);
    let mut total = 0;
    for index in 0..count {
        workload.page(index, &mut page);
        let start = tsc::read();
        store.write(index, &page).expect("store write");
        total += tsc::read() - start;
    }
    figures.store_write = average(total, count);
    let mut total = 0;
    for index in 0..count {
        let start = tsc::read();
        store.read(index, &mut page).expect("store read");
        total += tsc::read() - start;
    }
    figures.store_read = average(total, count);
    figures
}

/// malloc of each compressed size then free, in a warm pool.
fn measure_malloc_free(compressed_pages: &[Vec<u8>]) -> u64 {
    let pool = Pool::new("speed", super::backend::KernelPages::new(GFP_HIGHUSER));
    let keep: Vec<_> = compressed_pages
        .iter()
        .map(|data| pool.malloc(data.len().max(1)).expect("memory"))
        .collect();
    let start = tsc::read();
    for data in compressed_pages {
        let handle = pool.malloc(data.len().max(1)).expect("memory");
        pool.free(handle);
    }
    let total = tsc::read() - start;
    for handle in keep {
        pool.free(handle);
    }
    average(total, compressed_pages.len())
}

/// Map + unmap (read-only) of objects that lie within one page.
fn measure_map_unmap(compressed_pages: &[Vec<u8>]) -> u64 {
    let pool = Pool::new("speed", super::backend::KernelPages::new(GFP_HIGHUSER));
    let handles: Vec<_> = (0..compressed_pages.len())
        .map(|_| pool.malloc(256).expect("memory"))
        .collect();
    let mut mapper = pool.mapper();
    let mut checksum = vec![0u8; 1];
    let start = tsc::read();
    for handle in &handles {
        let window = mapper.map(handle, zsmalloc::ReadOnly).expect("map");
        checksum[0] ^= window[0];
    }
    let total = tsc::read() - start;
    drop(mapper);
    for handle in handles {
        pool.free(handle);
    }
    average(total, compressed_pages.len())
}
