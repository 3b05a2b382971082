//! Atomic sections, and the spin locks that may only be taken inside one.
//!
//! ```text
//!   let atomic = AtomicSection::enter(backend);   // interrupts off (nests)
//!   let mut state = lock.lock(&atomic);           // a SpinLock needs the section
//!   ... short work on the state ...
//!   drop(state); drop(atomic);                    // unlock, then end the section
//! ```
//!
//! Every lock of the crate is a [`SpinLock`], and [`SpinLock::lock`] takes a
//! reference to an open [`AtomicSection`], like Linux's
//! `spin_lock_irqsave`: a lock holder can then never be interrupted or
//! preempted on its CPU, so one CPU can never spin on a lock it holds
//! itself. The guard cannot outlive the section it was taken in.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::backend::Backend;

/// An open atomic section of the backend's platform (the kernel: interrupts
/// off), ended when dropped. Sections nest and may end in any order (see
/// [`Backend::enter_atomic`]). Not `Send`: it belongs to the CPU that
/// entered it.
pub struct AtomicSection<'b, B: Backend> {
    backend: &'b B,
    state: Option<B::AtomicState>,
    /// A raw pointer makes the type neither `Send` nor `Sync`.
    cpu: PhantomData<*const ()>,
}

impl<'b, B: Backend> AtomicSection<'b, B> {
    /// Enter an atomic section.
    pub fn enter(backend: &'b B) -> Self {
        let state = Some(backend.enter_atomic());
        AtomicSection {
            backend,
            state,
            cpu: PhantomData,
        }
    }
}

impl<B: Backend> Drop for AtomicSection<'_, B> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.backend.leave_atomic(state);
        }
    }
}

/// A spin lock that is only ever taken inside an atomic section.
pub struct SpinLock<T> {
    inner: spin::Mutex<T>,
}

/// Access to the value of a [`SpinLock`]; unlocks when dropped.
pub struct SpinLockGuard<'a, T> {
    inner: spin::MutexGuard<'a, T>,
}

impl<T> SpinLock<T> {
    /// A new, unlocked lock around `value`.
    pub const fn new(value: T) -> Self {
        SpinLock {
            inner: spin::Mutex::new(value),
        }
    }

    /// Lock, spinning while another CPU holds the lock. The atomic section
    /// is the proof that this CPU cannot be interrupted while it holds it.
    pub fn lock<'a, B: Backend>(
        &'a self,
        _atomic: &'a AtomicSection<'_, B>,
    ) -> SpinLockGuard<'a, T> {
        SpinLockGuard {
            inner: self.inner.lock(),
        }
    }

    /// The value, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}
