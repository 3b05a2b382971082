//! Print the tables of a small pool, for each layout, before and after
//! compaction: `cargo run -p zsmalloc --example stats_table --features testing`.

use zsmalloc::testing::HeapBackend;
use zsmalloc::{Config, Pool};

fn main() {
    for config in [Config::linux(8), Config::packed()] {
        let pool = Pool::with_config("example", HeapBackend::new(), config).unwrap();
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
        println!("== the {} layout ==", pool.layout().name());
        println!("{}", pool.stats());
        println!("compaction freed {} pages", pool.compact());
        println!("{}", pool.stats());
        for handle in kept {
            pool.free(handle);
        }
    }
}
