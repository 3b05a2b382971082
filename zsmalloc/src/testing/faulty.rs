//! A backend wrapper whose page allocations fail on purpose.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::backend::{Backend, OutOfPages};

/// When `alloc_page` should fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPlan {
    /// Never fail (pass everything to the inner backend).
    Never,
    /// Fail every `n`-th attempt (n >= 1).
    EveryNth(u64),
    /// Let the first `n` attempts through, then fail all.
    AfterN(u64),
    /// Fail with probability `percent`/100, from a seeded generator.
    Random {
        /// Generator seed.
        seed: u64,
        /// Failure probability in percent.
        percent: u32,
    },
}

#[derive(Debug)]
struct Schedule {
    plan: FaultPlan,
    attempts: u64,
    random_state: u64,
}

/// Wraps a backend; page allocation fails according to a [`FaultPlan`].
#[derive(Debug)]
pub struct FaultyBackend<B> {
    inner: B,
    schedule: Mutex<Schedule>,
    injected: AtomicU64,
}

impl<B: Backend> FaultyBackend<B> {
    /// Wrap `inner` with the given plan.
    pub fn new(inner: B, plan: FaultPlan) -> FaultyBackend<B> {
        let seed = match plan {
            FaultPlan::Random { seed, .. } => seed,
            _ => 0,
        };
        FaultyBackend {
            inner,
            schedule: Mutex::new(Schedule {
                plan,
                attempts: 0,
                random_state: seed | 1,
            }),
            injected: AtomicU64::new(0),
        }
    }

    /// Change the plan (the attempt counter restarts).
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut schedule = self.schedule.lock().expect("schedule lock");
        schedule.plan = plan;
        schedule.attempts = 0;
        if let FaultPlan::Random { seed, .. } = plan {
            schedule.random_state = seed | 1;
        }
    }

    /// Failures injected so far.
    pub fn injected_failures(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn should_fail(&self) -> bool {
        let mut schedule = self.schedule.lock().expect("schedule lock");
        schedule.attempts += 1;
        let attempt = schedule.attempts;
        match schedule.plan {
            FaultPlan::Never => false,
            FaultPlan::EveryNth(n) => attempt.is_multiple_of(n.max(1)),
            FaultPlan::AfterN(n) => attempt > n,
            FaultPlan::Random { percent, .. } => {
                // xorshift64*
                let mut x = schedule.random_state;
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                schedule.random_state = x;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % 100 < percent as u64
            }
        }
    }
}

impl<B: Backend> Backend for FaultyBackend<B> {
    type Page = B::Page;
    type AtomicState = B::AtomicState;

    fn alloc_page(&self) -> Result<B::Page, OutOfPages> {
        if self.should_fail() {
            self.injected.fetch_add(1, Ordering::Relaxed);
            return Err(OutOfPages);
        }
        self.inner.alloc_page()
    }

    unsafe fn free_page(&self, page: B::Page) {
        // SAFETY: forwarded contract; our pages are the inner backend's.
        unsafe { self.inner.free_page(page) }
    }

    unsafe fn map_page(&self, page: B::Page) -> NonNull<u8> {
        // SAFETY: forwarded contract.
        unsafe { self.inner.map_page(page) }
    }

    unsafe fn unmap_page(&self, page: B::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { self.inner.unmap_page(page, address) }
    }

    unsafe fn map_page_pair(&self, first: B::Page, second: B::Page) -> Option<NonNull<u8>> {
        // SAFETY: forwarded contract.
        unsafe { self.inner.map_page_pair(first, second) }
    }

    unsafe fn unmap_page_pair(&self, first: B::Page, second: B::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { self.inner.unmap_page_pair(first, second, address) }
    }

    fn enter_atomic(&self) -> B::AtomicState {
        self.inner.enter_atomic()
    }

    fn leave_atomic(&self, state: B::AtomicState) {
        self.inner.leave_atomic(state)
    }
}
