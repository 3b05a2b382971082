//! Compressed RAM in the kernel: zsmalloc fed with the kernel's frames, a
//! zram-like store on top, and the demo that `./run-qemu.sh` shows.
//!
//! ```text
//!   demo.rs ──► zram::CompressedStore ──► zsmalloc::Pool<KernelPages>
//!                                              │ backend.rs
//!                                              ├─ frame allocator (HIGHMEM first)
//!                                              ├─ kmap (HIGHMEM frames mapped on demand)
//!                                              └─ interrupts_off.rs (map windows: cli, measured)
//! ```

pub mod backend;
pub mod benchmark;
pub mod demo;
pub mod high_order;
pub mod interrupts_off;
pub mod report;
pub mod workload;

mod tests;

use crate::memory::frame::GFP_HIGHUSER;
use backend::KernelPages;
use zram::CompressedStore;
use zsmalloc::Pool;

/// A store of `slots` pages on a new pool of HIGHMEM-preferring frames.
pub fn new_store(slots: usize) -> CompressedStore<KernelPages> {
    let pool = Pool::new("zram0", KernelPages::new(GFP_HIGHUSER));
    CompressedStore::new(pool, slots)
}
