//! Compaction of Linux's layout in bounded steps: each atomic section
//! copies little, the result is that of compacting each pair of zspages in
//! one go, and frees, mallocs and windows between the steps keep the pool
//! consistent.
//!
//! ```text
//!   Watched backend:  enter_atomic ─ map ─ unmap ─ ... ─ leave_atomic (outermost)
//!                                     │       │               │
//!                          snapshot the page  count bytes     record the section's
//!                                     changed through it      bytes; run the hook
//! ```

use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use zsmalloc::linux::CompactLimits;
use zsmalloc::testing::{fill_pattern, has_pattern, HighmemBackend, Xorshift};
use zsmalloc::{
    Backend, Config, Handle, LinuxConfig, ObjectView, OutOfPages, Pool, PoolVisitor, ReadOnly,
    ZspageView, PAGE_SIZE,
};

type Hook = Box<dyn FnMut() + Send>;

/// A backend that measures the bytes each outermost atomic section changes
/// in pool pages, and runs a hook whenever such a section ends.
struct Watched<B> {
    inner: B,
    depth: AtomicUsize,
    /// Open mappings: address, and the bytes it showed when mapped.
    snapshots: Mutex<Vec<(usize, Vec<u8>)>>,
    section_bytes: AtomicUsize,
    max_section_bytes: AtomicUsize,
    hook: Mutex<Option<Hook>>,
}

impl<B: Backend> Watched<B> {
    fn new(inner: B) -> Self {
        Watched {
            inner,
            depth: AtomicUsize::new(0),
            snapshots: Mutex::new(Vec::new()),
            section_bytes: AtomicUsize::new(0),
            max_section_bytes: AtomicUsize::new(0),
            hook: Mutex::new(None),
        }
    }

    /// The most bytes one outermost section changed since the last call.
    fn take_max_section_bytes(&self) -> usize {
        self.max_section_bytes.swap(0, Ordering::Relaxed)
    }

    fn set_hook(&self, hook: Option<Hook>) {
        *self.hook.lock().unwrap() = hook;
    }

    fn snapshot(&self, address: NonNull<u8>, length: usize) {
        // SAFETY: the inner backend just mapped `length` bytes at `address`.
        let bytes = unsafe { std::slice::from_raw_parts(address.as_ptr(), length) }.to_vec();
        self.snapshots
            .lock()
            .unwrap()
            .push((address.as_ptr() as usize, bytes));
    }

    fn count_changes(&self, address: NonNull<u8>) {
        let (mapped_at, before) = self.snapshots.lock().unwrap().pop().expect("a mapping");
        assert_eq!(mapped_at, address.as_ptr() as usize, "unmaps are LIFO");
        // SAFETY: the mapping is still open (unmapped right after this).
        let now = unsafe { std::slice::from_raw_parts(address.as_ptr(), before.len()) };
        // Whole equal chunks are skipped with one comparison (fast under Miri).
        let changed: usize = before
            .chunks(64)
            .zip(now.chunks(64))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| a.iter().zip(b.iter()).filter(|(x, y)| x != y).count())
            .sum();
        self.section_bytes.fetch_add(changed, Ordering::Relaxed);
    }
}

impl<B: Backend> Backend for Watched<B> {
    type Page = B::Page;
    type AtomicState = B::AtomicState;

    fn alloc_page(&self) -> Result<B::Page, OutOfPages> {
        self.inner.alloc_page()
    }

    unsafe fn free_page(&self, page: B::Page) {
        // SAFETY: forwarded contract.
        unsafe { self.inner.free_page(page) }
    }

    unsafe fn map_page(&self, page: B::Page) -> NonNull<u8> {
        // SAFETY: forwarded contract.
        let address = unsafe { self.inner.map_page(page) };
        self.snapshot(address, PAGE_SIZE);
        address
    }

    unsafe fn unmap_page(&self, page: B::Page, address: NonNull<u8>) {
        self.count_changes(address);
        // SAFETY: forwarded contract.
        unsafe { self.inner.unmap_page(page, address) }
    }

    unsafe fn map_page_pair(&self, first: B::Page, second: B::Page) -> Option<NonNull<u8>> {
        // SAFETY: forwarded contract.
        let address = unsafe { self.inner.map_page_pair(first, second) }?;
        self.snapshot(address, 2 * PAGE_SIZE);
        Some(address)
    }

    unsafe fn unmap_page_pair(&self, first: B::Page, second: B::Page, address: NonNull<u8>) {
        self.count_changes(address);
        // SAFETY: forwarded contract.
        unsafe { self.inner.unmap_page_pair(first, second, address) }
    }

    fn enter_atomic(&self) -> B::AtomicState {
        self.depth.fetch_add(1, Ordering::Relaxed);
        self.inner.enter_atomic()
    }

    fn leave_atomic(&self, state: B::AtomicState) {
        self.inner.leave_atomic(state);
        if self.depth.fetch_sub(1, Ordering::Relaxed) != 1 {
            return;
        }
        let bytes = self.section_bytes.swap(0, Ordering::Relaxed);
        self.max_section_bytes.fetch_max(bytes, Ordering::Relaxed);
        // Taken out while it runs: the sections it opens run no hook.
        let hook = self.hook.lock().unwrap().take();
        if let Some(mut hook) = hook {
            hook();
            let mut slot = self.hook.lock().unwrap();
            if slot.is_none() {
                *slot = Some(hook);
            }
        }
    }
}

/// A shared `Watched` backend, so that a hook can reach the pool it serves.
#[derive(Clone)]
struct Shared(Arc<Watched<HighmemBackend>>);

impl Backend for Shared {
    type Page = <HighmemBackend as Backend>::Page;
    type AtomicState = <HighmemBackend as Backend>::AtomicState;

    fn alloc_page(&self) -> Result<Self::Page, OutOfPages> {
        self.0.alloc_page()
    }

    unsafe fn free_page(&self, page: Self::Page) {
        // SAFETY: forwarded contract.
        unsafe { self.0.free_page(page) }
    }

    unsafe fn map_page(&self, page: Self::Page) -> NonNull<u8> {
        // SAFETY: forwarded contract.
        unsafe { self.0.map_page(page) }
    }

    unsafe fn unmap_page(&self, page: Self::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { self.0.unmap_page(page, address) }
    }

    unsafe fn map_page_pair(&self, first: Self::Page, second: Self::Page) -> Option<NonNull<u8>> {
        // SAFETY: forwarded contract.
        unsafe { self.0.map_page_pair(first, second) }
    }

    unsafe fn unmap_page_pair(&self, first: Self::Page, second: Self::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { self.0.unmap_page_pair(first, second, address) }
    }

    fn enter_atomic(&self) -> Self::AtomicState {
        self.0.enter_atomic()
    }

    fn leave_atomic(&self, state: Self::AtomicState) {
        self.0.leave_atomic(state)
    }
}

/// The chain lengths to try (one under Miri, which is slow).
fn chains() -> &'static [usize] {
    if cfg!(miri) {
        &[4]
    } else {
        &[4, 8]
    }
}

/// Linux's layout with chain `chain` and compaction steps within `limits`.
fn linux(chain: usize, limits: CompactLimits) -> Config {
    Config::Linux(LinuxConfig {
        compact_step: limits,
        ..LinuxConfig::with_chain(chain)
    })
}

/// Store `count` objects of mixed sizes (small ones, whose classes hold many
/// objects, and large ones), then free two out of three: many sparse zspages.
/// Returns the survivors with their pattern seeds.
fn churned<B: Backend>(pool: &Pool<B>, count: usize) -> Vec<(u64, Handle)> {
    let mut random = Xorshift::new(0x2545_f491_4f6c_dd1d);
    let mut stored = Vec::new();
    for i in 0..count {
        let value = random.next();
        let size = match value % 4 {
            // Under Miri, two classes only, so that a small pool has waste.
            _ if cfg!(miri) => [24, 1000][i % 2],
            0 => 1 + (value >> 8) as usize % 100,
            1 => 100 + (value >> 8) as usize % 900,
            _ => 1 + (value >> 8) as usize % PAGE_SIZE,
        };
        let handle = pool.malloc(size).unwrap();
        let mut data = vec![0; size];
        fill_pattern(i as u64, &mut data);
        pool.write(&handle, &data).unwrap();
        stored.push((i as u64, handle));
    }
    let mut kept = Vec::new();
    for (seed, handle) in stored {
        if random.next().is_multiple_of(3) {
            kept.push((seed, handle));
        } else {
            pool.free(handle);
        }
    }
    kept
}

fn objects() -> usize {
    if cfg!(miri) {
        40
    } else {
        6000
    }
}

/// Every survivor still holds its pattern.
fn verify<B: Backend>(pool: &Pool<B>, kept: &[(u64, Handle)]) {
    let mut mapper = pool.mapper();
    for (seed, handle) in kept {
        let intact = mapper.map(handle, ReadOnly, |window| has_pattern(*seed, window));
        assert_eq!(intact, Ok(true), "object {seed}");
    }
}

#[test]
fn one_compaction_step_changes_at_most_a_page_of_payload() {
    let limits = CompactLimits::DEFAULT;
    // Per object moved, besides its payload: the header written in the
    // target and the free-list link written in the source.
    let bound = usize::from(limits.bytes) + 16 * usize::from(limits.objects);
    for &chain in chains() {
        let backend = Watched::new(HighmemBackend::new());
        let pool = Pool::with_config("steps", &backend, linux(chain, limits)).unwrap();
        let kept = churned(&pool, objects());
        let expected = pool.pages_compactable();
        assert!(expected > 0);
        backend.take_max_section_bytes();
        let freed = pool.compact();
        let longest = backend.take_max_section_bytes();
        assert!(
            freed >= expected,
            "chain {chain}: freed {freed} of {expected}"
        );
        assert!(longest > 0, "chain {chain}: compaction moved nothing");
        assert!(
            longest <= bound,
            "chain {chain}: one atomic section changed {longest} bytes (bound {bound})"
        );
        verify(&pool, &kept);
        pool.check().unwrap();
    }
}

/// What a walk shows: each zspage's pages, then its objects.
#[derive(Debug, PartialEq, Default)]
struct Transcript {
    lines: Vec<String>,
}

impl<P: core::fmt::Debug> PoolVisitor<P> for Transcript {
    fn zspage(&mut self, zspage: &ZspageView<'_, P>) {
        self.lines.push(format!("zspage {:?}", zspage.pages));
    }

    fn object(&mut self, object: &ObjectView) {
        self.lines.push(format!("{object:?}"));
    }
}

#[test]
fn bounded_steps_end_where_unbounded_ones_do() {
    for &chain in chains() {
        let mut results = Vec::new();
        for limits in [CompactLimits::DEFAULT, CompactLimits::UNLIMITED] {
            let pool =
                Pool::with_config("same", HighmemBackend::new(), linux(chain, limits)).unwrap();
            let kept = churned(&pool, objects());
            let freed = pool.compact();
            assert_eq!(pool.pages_compactable(), 0);
            pool.check().unwrap();
            verify(&pool, &kept);
            let mut transcript = Transcript::default();
            pool.walk(&mut transcript);
            results.push((freed, pool.total_pages(), pool.stats(), transcript));
            for (_, handle) in kept {
                pool.free(handle);
            }
        }
        assert!(
            results[0] == results[1],
            "chain {chain}: bounded steps end elsewhere"
        );
    }
}

/// What the hook does between compaction steps.
struct Interference {
    pool: Weak<Pool<Shared>>,
    live: Arc<Mutex<Vec<(u64, Handle)>>>,
    random: Xorshift,
    next_seed: u64,
    /// Operations left to do; then it only checks the pool.
    operations: usize,
    /// Sections it saw end.
    calls: Arc<AtomicUsize>,
    /// After this many calls, a compaction inside a window (then `MAX`).
    nested_after: usize,
}

impl Interference {
    fn run(&mut self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        pool.check().expect("consistent between compaction steps");
        if self.operations == 0 {
            return;
        }
        self.operations -= 1;
        let mut live = self.live.lock().unwrap();
        let choice = self.random.next() % 4;
        if live.is_empty() || choice == 0 {
            let size = 1 + (self.random.next() % 1500) as usize;
            let handle = pool.malloc(size).unwrap();
            let mut data = vec![0; size];
            fill_pattern(self.next_seed, &mut data);
            pool.write(&handle, &data).unwrap();
            live.push((self.next_seed, handle));
            self.next_seed += 1;
            return;
        }
        let index = (self.random.next() % live.len() as u64) as usize;
        match choice {
            1 => {
                let (_, handle) = live.swap_remove(index);
                pool.free(handle);
            }
            2 => {
                // Once, late, a window pins its zspage while another
                // compaction runs between the steps of this one.
                let nested = self.calls.load(Ordering::Relaxed) > self.nested_after;
                if nested {
                    self.nested_after = usize::MAX;
                }
                let (seed, handle) = &live[index];
                let mut mapper = pool.mapper();
                let intact = mapper.map(handle, ReadOnly, |window| {
                    if nested {
                        pool.compact();
                        pool.check().expect("consistent with a window open");
                    }
                    has_pattern(*seed, window)
                });
                assert_eq!(intact, Ok(true), "object {seed} under a window");
            }
            _ => {
                let (seed, handle) = &live[index];
                let mut buffer = vec![0; pool.object_size(handle).unwrap()];
                pool.read(handle, &mut buffer).unwrap();
                assert!(has_pattern(*seed, &buffer), "object {seed}");
            }
        }
    }
}

#[test]
fn operations_between_compaction_steps_keep_the_pool_consistent() {
    for &chain in chains() {
        let watched = Arc::new(Watched::new(HighmemBackend::new()));
        let backend = Shared(Arc::clone(&watched));
        let pool = Arc::new(
            Pool::with_config("busy", backend, linux(chain, CompactLimits::DEFAULT)).unwrap(),
        );
        let live = Arc::new(Mutex::new(churned(&pool, objects().div_ceil(4).max(30))));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut interference = Interference {
            pool: Arc::downgrade(&pool),
            live: Arc::clone(&live),
            random: Xorshift::new(0x9e37_79b9_7f4a_7c15 ^ chain as u64),
            next_seed: 1 << 32,
            operations: if cfg!(miri) { 10 } else { 1000 },
            calls: Arc::clone(&calls),
            nested_after: if cfg!(miri) { 5 } else { 50 },
        };
        watched.set_hook(Some(Box::new(move || interference.run())));
        pool.compact();
        watched.set_hook(None);
        let steps = calls.load(Ordering::Relaxed);
        eprintln!("chain {chain}: {steps} sections ended during compaction");
        let minimum = if cfg!(miri) { 10 } else { 100 };
        assert!(steps > minimum, "chain {chain}: the hook ran {steps} times");
        pool.check().unwrap();
        let live = std::mem::take(&mut *live.lock().unwrap());
        verify(&pool, &live);
        // What the operations left behind compacts away too.
        pool.compact();
        assert_eq!(pool.pages_compactable(), 0);
        pool.check().unwrap();
        verify(&pool, &live);
        for (_, handle) in live {
            pool.free(handle);
        }
        assert_eq!(pool.total_pages(), 0);
    }
}
