//! The pool's own metadata (`PoolStats::metadata_bytes`): it is counted,
//! it grows with the objects stored and gives back what freed objects no
//! longer need, and churn does not make it creep up.

use zsmalloc::testing::{HighmemBackend, Xorshift};
use zsmalloc::{Config, Handle, Pool, PAGE_SIZE};

/// Object sizes of the metadata tests: 200..3700 bytes.
fn size(random: &mut Xorshift) -> usize {
    200 + random.below(3500)
}

fn objects() -> usize {
    if cfg!(miri) {
        100
    } else {
        2000
    }
}

fn configurations() -> [(&'static str, Config); 3] {
    [
        ("packed", Config::packed()),
        ("linux4", Config::linux(4)),
        ("linux8", Config::linux(8)),
    ]
}

fn metadata(pool: &Pool<HighmemBackend>) -> usize {
    pool.stats().metadata_bytes
}

#[test]
fn metadata_grows_with_the_objects_and_counts_every_handle_entry() {
    for (name, config) in configurations() {
        let pool = Pool::with_config(name, HighmemBackend::new(), config).unwrap();
        let empty = metadata(&pool);
        assert!(empty > 0, "{name}: the pool itself is metadata");
        let mut random = Xorshift::new(11);
        let handles: Vec<Handle> = (0..objects())
            .map(|_| pool.malloc(size(&mut random)).unwrap())
            .collect();
        let full = metadata(&pool);
        // Every object has an 8-byte handle-table entry at least.
        assert!(
            full >= empty + 8 * objects(),
            "{name}: {full} bytes of metadata for {} objects (empty pool: {empty})",
            objects()
        );
        for handle in handles {
            pool.free(handle);
        }
        assert_eq!(pool.total_pages(), 0);
        // The handle table keeps its entries for reuse (at most one chunk
        // unissued); everything else goes back.
        let table = (objects() + 256).next_multiple_of(128) * 8 + 1024;
        let after = metadata(&pool);
        assert!(
            after <= empty + table,
            "{name}: {after} bytes of metadata left after freeing everything \
             (empty pool: {empty}, handle table at most {table})"
        );
    }
}

#[test]
fn churn_does_not_make_metadata_creep_up() {
    for (name, config) in configurations() {
        let pool = Pool::with_config(name, HighmemBackend::new(), config).unwrap();
        pool.set_auto_compaction(false);
        let mut random = Xorshift::new(23);
        let mut live: Vec<Handle> = (0..objects())
            .map(|_| pool.malloc(size(&mut random)).unwrap())
            .collect();
        let mut after_round = Vec::new();
        for _ in 0..6 {
            // Free a random half, store as many again, compact.
            for _ in 0..objects() / 2 {
                let index = random.next() as usize % live.len();
                pool.free(live.swap_remove(index));
            }
            for _ in 0..objects() / 2 {
                live.push(pool.malloc(size(&mut random)).unwrap());
            }
            pool.compact();
            after_round.push(metadata(&pool));
        }
        pool.check().unwrap();
        let first = after_round[0];
        let last = *after_round.last().unwrap();
        assert!(
            last <= first + first / 5,
            "{name}: metadata after each round of churn: {after_round:?}"
        );
        for handle in live {
            pool.free(handle);
        }
    }
}

#[test]
fn the_summary_figures_follow_from_the_counts() {
    for (name, config) in configurations() {
        let pool = Pool::with_config(name, HighmemBackend::new(), config).unwrap();
        let mut random = Xorshift::new(5);
        let handles: Vec<Handle> = (0..100)
            .map(|_| pool.malloc(size(&mut random)).unwrap())
            .collect();
        let stats = pool.stats();
        let pool_bytes = stats.total_pages * PAGE_SIZE;
        assert_eq!(
            stats.efficiency(),
            stats.payload_bytes as f64 / pool_bytes as f64
        );
        assert_eq!(
            stats.efficiency_with_metadata(),
            stats.payload_bytes as f64 / (pool_bytes + stats.metadata_bytes) as f64
        );
        assert!(stats.efficiency_with_metadata() < stats.efficiency());
        assert_eq!(
            stats.metadata_per_object(),
            stats.metadata_bytes as f64 / 100.0
        );
        let table = stats.to_string();
        let summary = format!(
            "metadata {:.1} bytes per object; efficiency {:.3}, counting metadata {:.3}",
            stats.metadata_per_object(),
            stats.efficiency(),
            stats.efficiency_with_metadata()
        );
        assert!(table.contains(&summary), "{name}: {table}");
        for handle in handles {
            pool.free(handle);
        }
    }
}
