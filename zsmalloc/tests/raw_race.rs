//! Raw handles guessed by other threads, racing `malloc`, `free`, `compact`,
//! map windows, reads and writes.
//!
//! ```text
//!   owners (2)    malloc, write a pattern of their own, verify, free
//!   guessers (2)  malloc + free an object of their own, then hammer the raw
//!                 handles they predict (the entries they freed at their
//!                 next generation, the entries the table issues next) with
//!                 free_raw, map, write and read
//!   compactor     compact, compact, compact ...
//! ```
//!
//! The pool cannot tell a guessed handle from its owner's copy once the
//! object it names exists: a guess that names a live object exactly may
//! act on *that* object. What must never happen is a raw call acting on an
//! object its handle does not name (an object in the middle of being
//! placed, or freed, or moved), or breaking the pool's invariants. So every
//! raw value a guesser tries is recorded first, and an owner whose object
//! changed or vanished checks that the object's handle is one of them;
//! any other damaged object is *foreign* damage, and the test fails.

use std::collections::HashSet;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use zsmalloc::testing::{fill_pattern, has_pattern, HighmemBackend, Xorshift};
use zsmalloc::{Config, Handle, Pool, ReadWrite, PAGE_SIZE};

type TestPool = Pool<HighmemBackend>;

/// What the threads share.
struct Arena {
    pool: TestPool,
    /// Raw values a guesser has tried (recorded before each try).
    tried: Mutex<HashSet<u64>>,
    stop: AtomicBool,
    /// Objects found changed or gone whose handle no guesser tried.
    foreign_damage: AtomicUsize,
    /// Objects a guess hit exactly (allowed; counted for the record).
    exact_hits: AtomicUsize,
}

impl Arena {
    fn was_tried(&self, raw: u64) -> bool {
        self.tried.lock().unwrap().contains(&raw)
    }

    /// An owner found its object `raw` changed or gone.
    fn damaged(&self, raw: u64) {
        if self.was_tried(raw) {
            self.exact_hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.foreign_damage.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counts, smaller under Miri.
struct Counts {
    owner_rounds: usize,
    guesser_rounds: usize,
    tries_per_guess: usize,
}

fn counts() -> Counts {
    if cfg!(miri) {
        Counts {
            owner_rounds: 25,
            guesser_rounds: 6,
            tries_per_guess: 4,
        }
    } else {
        Counts {
            owner_rounds: 3000,
            guesser_rounds: 1500,
            tries_per_guess: 40,
        }
    }
}

/// Does the object of `handle` still hold pattern `seed`? (`false` if the
/// pool refuses the handle.)
fn intact(pool: &TestPool, handle: &Handle, seed: u64, size: usize) -> bool {
    let mut copy = vec![0; size];
    matches!(pool.read(handle, &mut copy), Ok(n) if n == size) && has_pattern(seed, &copy)
}

fn owner(arena: &Arena, worker: u64, rounds: usize) {
    let pool = &arena.pool;
    let mut random = Xorshift::new(worker * 7919 + 17);
    let mut live: Vec<(Handle, u64, usize)> = Vec::new();
    for round in 0..rounds {
        let size = match random.next() % 4 {
            0 => 1 + (random.next() % 64) as usize,
            1 => 1 + (random.next() % PAGE_SIZE as u64) as usize,
            _ => 100 + (random.next() % 900) as usize,
        };
        let seed = worker << 32 | round as u64;
        let handle = pool.malloc(size).unwrap();
        let mut data = vec![0; size];
        fill_pattern(seed, &mut data);
        if pool.write(&handle, &data) != Ok(size) {
            arena.damaged(handle.raw());
        }
        live.push((handle, seed, size));
        if random.next().is_multiple_of(3) {
            let index = (random.next() as usize) % live.len();
            let (handle, seed, size) = live.swap_remove(index);
            if !intact(pool, &handle, seed, size) {
                arena.damaged(handle.raw());
            }
            let raw = handle.raw();
            if pool.try_free(handle).is_err() {
                arena.damaged(raw);
            }
        }
    }
    for (handle, seed, size) in live {
        let raw = handle.raw();
        if !intact(pool, &handle, seed, size) || pool.try_free(handle).is_err() {
            arena.damaged(raw);
        }
    }
}

/// Bits of a raw handle below the pool tag: generation and entry.
const BELOW_POOL_TAG: u64 = (1 << 42) - 1;

/// The raw handle an entry will have after its next reuse: same entry,
/// generation + 1 (bits 32..).
fn next_generation(raw: u64) -> u64 {
    raw.wrapping_add(1 << 32)
}

/// The raw handle of entry `index` at generation 0, in the pool of `raw`:
/// an entry the table has not issued yet, or only just.
fn fresh_entry(raw: u64, index: u64) -> u64 {
    raw & !BELOW_POOL_TAG | (index + 1)
}

/// Raw handles a guesser predicts: the next generation of the entries it
/// freed (reused LIFO or FIFO, soon or later) and the entries the table
/// will issue next.
struct Guesses {
    values: Vec<u64>,
    next: usize,
}

impl Guesses {
    const KEPT: usize = 48;

    fn add(&mut self, arena: &Arena, guess: u64) {
        arena.tried.lock().unwrap().insert(guess);
        if self.values.len() < Self::KEPT {
            self.values.push(guess);
        } else {
            self.values[self.next] = guess;
            self.next = (self.next + 1) % Self::KEPT;
        }
    }
}

fn guesser(arena: &Arena, worker: u64, counts: &Counts) {
    let pool = &arena.pool;
    let mut random = Xorshift::new(worker * 104_729 + 3);
    let mut mapper = pool.mapper();
    let mut own = vec![0xEE; PAGE_SIZE];
    let mut guesses = Guesses {
        values: Vec::new(),
        next: 0,
    };
    let mut highest_index = 0;
    for _ in 0..counts.guesser_rounds {
        let handle = pool.malloc(1 + (random.next() % 300) as usize).unwrap();
        let raw = handle.raw();
        // Another guesser may have hit this object exactly and freed it.
        let _ = pool.try_free(handle);
        guesses.add(arena, next_generation(raw));
        highest_index = highest_index.max((raw as u32 - 1) as u64);
        for ahead in 1..=2 {
            guesses.add(arena, fresh_entry(raw, highest_index + ahead));
        }
        for _ in 0..counts.tries_per_guess {
            let guess = guesses.values[random.next() as usize % guesses.values.len()];
            let Some(raw) = NonZeroU64::new(guess) else {
                continue;
            };
            let guessed = Handle::from_raw(raw);
            match random.next() % 4 {
                0 => {
                    let _ = pool.free_raw(guess);
                }
                1 => {
                    let _ = pool.write(&guessed, &own);
                }
                2 => {
                    let _ = mapper.map(&guessed, ReadWrite, |window| window.fill(0xEE));
                }
                _ => {
                    let _ = pool.read(&guessed, &mut own);
                    own.fill(0xEE);
                }
            }
        }
    }
}

fn race(config: Config) {
    let arena = Arc::new(Arena {
        pool: Pool::with_config("race", HighmemBackend::new(), config).unwrap(),
        tried: Mutex::new(HashSet::new()),
        stop: AtomicBool::new(false),
        foreign_damage: AtomicUsize::new(0),
        exact_hits: AtomicUsize::new(0),
    });
    let compactor = {
        let arena = Arc::clone(&arena);
        thread::spawn(move || {
            let mut compactions = 0;
            while !arena.stop.load(Ordering::Relaxed) && (!cfg!(miri) || compactions < 20) {
                arena.pool.compact();
                compactions += 1;
                thread::yield_now();
            }
        })
    };
    let workers: Vec<_> = (0..4u64)
        .map(|worker| {
            let arena = Arc::clone(&arena);
            thread::spawn(move || {
                let counts = counts();
                if worker < 2 {
                    owner(&arena, worker, counts.owner_rounds);
                } else {
                    guesser(&arena, worker, &counts);
                }
            })
        })
        .collect();
    let mut panicked = 0;
    for worker in workers {
        panicked += usize::from(worker.join().is_err());
    }
    arena.stop.store(true, Ordering::Relaxed);
    compactor.join().unwrap();
    let foreign = arena.foreign_damage.load(Ordering::Relaxed);
    let exact = arena.exact_hits.load(Ordering::Relaxed);
    println!("{config:?}: {foreign} foreign objects damaged, {exact} exact guesses");
    assert_eq!(panicked, 0, "{config:?}: a thread panicked");
    assert_eq!(
        foreign, 0,
        "{config:?}: raw calls reached objects they do not name"
    );
    arena.pool.check().unwrap();
}

#[test]
fn guessed_raw_handles_race_a_linux4_pool() {
    race(Config::linux(4));
}

#[test]
fn guessed_raw_handles_race_a_linux8_pool() {
    race(Config::linux(8));
}

#[test]
fn guessed_raw_handles_race_a_packed_pool() {
    race(Config::packed());
}
