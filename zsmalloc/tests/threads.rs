//! Several threads hammering one pool; every object's contents verified.

use std::sync::Arc;
use std::thread;

use zsmalloc::testing::{fill_pattern, has_pattern, HeapBackend, HighmemBackend};
use zsmalloc::{Backend, Config, Pool, ReadOnly, ReadWrite, WriteOnly};

fn hammer<B: Backend + 'static>(pool: Arc<Pool<B>>, threads: usize, rounds: usize) {
    let workers: Vec<_> = (0..threads)
        .map(|worker| {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                let mut mapper = pool.mapper();
                let mut live = Vec::new();
                let mut random = worker as u64 * 7919 + 1;
                for round in 0..rounds {
                    random ^= random << 13;
                    random ^= random >> 7;
                    random ^= random << 17;
                    // Same sizes on every thread: threads share classes and zspages.
                    let size = 1 + (random % 4096) as usize;
                    let seed = (worker * 1_000_000 + round) as u64;
                    let handle = pool.malloc(size).unwrap();
                    mapper
                        .map(&handle, WriteOnly, |window| fill_pattern(seed, window))
                        .unwrap();
                    live.push((handle, seed));
                    if random.is_multiple_of(3) {
                        let (handle, seed) = live.swap_remove((random as usize / 3) % live.len());
                        let intact =
                            mapper.map(&handle, ReadOnly, |window| has_pattern(seed, window));
                        assert_eq!(intact, Ok(true));
                        pool.free(handle);
                    }
                    if random.is_multiple_of(5) && !live.is_empty() {
                        let index = (random as usize / 5) % live.len();
                        let seed = live[index].1 + 1;
                        mapper
                            .map(&live[index].0, ReadWrite, |window| {
                                assert!(has_pattern(live[index].1, window));
                                fill_pattern(seed, window);
                            })
                            .unwrap();
                        live[index].1 = seed;
                    }
                    if worker == 0 && round % 50 == 0 {
                        pool.compact();
                    }
                }
                for (handle, seed) in &live {
                    let intact = mapper.map(handle, ReadOnly, |window| has_pattern(*seed, window));
                    assert_eq!(intact, Ok(true));
                }
                live
            })
        })
        .collect();
    let survivors: Vec<_> = workers
        .into_iter()
        .flat_map(|worker| worker.join().unwrap())
        .collect();
    pool.check().unwrap();
    let mut mapper = pool.mapper();
    for (handle, seed) in &survivors {
        let intact = mapper.map(handle, ReadOnly, |window| has_pattern(*seed, window));
        assert_eq!(intact, Ok(true));
    }
    drop(mapper);
    for (handle, _) in survivors {
        pool.free(handle);
    }
    pool.compact();
    assert_eq!(pool.total_pages(), 0);
    pool.check().unwrap();
}

fn rounds() -> usize {
    if cfg!(miri) {
        12
    } else {
        1500
    }
}

#[test]
fn threads_share_a_linux_heap_pool() {
    hammer(
        Arc::new(Pool::with_config("threads", HeapBackend::new(), Config::linux(8)).unwrap()),
        4,
        rounds(),
    );
}

#[test]
fn threads_share_a_linux_highmem_pool() {
    hammer(
        Arc::new(Pool::with_config("threads", HighmemBackend::new(), Config::linux(8)).unwrap()),
        3,
        rounds() / 3,
    );
}

#[test]
fn threads_share_a_packed_heap_pool() {
    let pool = Pool::with_config("threads", HeapBackend::new(), Config::packed()).unwrap();
    hammer(Arc::new(pool), 4, rounds());
}

#[test]
fn threads_share_a_packed_highmem_pool() {
    let pool = Pool::with_config("threads", HighmemBackend::new(), Config::packed()).unwrap();
    hammer(Arc::new(pool), 3, rounds() / 3);
}

#[test]
fn pool_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pool<HeapBackend>>();
    assert_send_sync::<Pool<HighmemBackend>>();
}
