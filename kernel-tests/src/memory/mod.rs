//! Memory: one file of tests per module of `kernel::memory`.

mod direct_map;
mod frame;
mod heap;
mod kmap;
mod paging;
mod zsmalloc_backend;

/// For tests that need HIGHMEM: true, after a note on the console, when there
/// is none (`lowmem=` at least the size of RAM), and the test should return
/// at once.
pub fn skip_without_highmem() -> bool {
    let skip = !kernel::memory::highmem_present();
    if skip {
        kernel::print!("(no HIGHMEM: skipped) ");
    }
    skip
}
