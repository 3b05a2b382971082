//! Print the class table of a small pool: `cargo run -p zsmalloc --example stats_table --features testing`.

use zsmalloc::testing::HeapBackend;
use zsmalloc::Pool;

fn main() {
    let pool = Pool::new("example", HeapBackend::new());
    let handles: Vec<_> = (0..2000)
        .map(|i| pool.malloc(30 + (i * 97) % 3000).unwrap())
        .collect();
    let mut kept = Vec::new();
    for (i, handle) in handles.into_iter().enumerate() {
        if i % 3 == 0 {
            kept.push(handle);
        } else {
            pool.free(handle);
        }
    }
    println!("{}", pool.stats());
    println!("compaction freed {} pages", pool.compact());
    println!("{}", pool.stats());
    for handle in kept {
        pool.free(handle);
    }
}
