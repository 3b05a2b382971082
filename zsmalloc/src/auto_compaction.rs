//! Automatic compaction: a policy that keeps the pool compact without
//! anyone calling `compact`.
//!
//! Linux leaves compaction to a manual trigger (`/sys/block/zram0/compact`)
//! or to its shrinker under memory pressure, so between two compactions
//! the pages freed objects leave behind stay wasted. This pool can instead
//! compact a little after each free, in bounded steps, so that the waste
//! never grows large:
//!
//! ```text
//!   malloc(n) ──► credit += 4 n          (at most 1/16 of the pool's bytes,
//!                                         and at least CREDIT_FLOOR)
//!
//!   free(n)   ──► slack = pool pages × 4096 − payload bytes
//!                 idle:     start when slack > 3 % of the pages' bytes
//!                           (and at least MIN_SLACK_PAGES pages)
//!                 running:  stop when slack < 1 %
//!                 running?  owed += 2 n; once owed ≥ a page (MIN_STEP_BYTES):
//!                           one step of the layout: move at most
//!                           min(owed, credit) bytes, then credit −= moved,
//!                           owed = 0
//!                 the layout had nothing worth moving? back off: no step
//!                 until another 3 % of the pages' bytes has been freed
//! ```
//!
//! Why each rule:
//! * **Steps after frees, proportional to what was freed**: the work a
//!   free does stays bounded whatever the pool's size, and the layout's
//!   step ([`crate::Layout::compact_step`]) keeps each atomic section short.
//!   Small frees add up to one step of at least a page's worth: a step has
//!   a fixed cost (its lock sections, pages borrowed and given back) that
//!   is not worth paying for a few hundred bytes.
//! * **Credit earned by allocations**: a pool that only drains (every
//!   object about to be freed) would otherwise keep moving objects that are
//!   freed next; its zspages empty by themselves. What it banked (at most
//!   1/16 of its bytes) is all it may move. A pool that is written to
//!   (churn) earns credit as fast as it needs it.
//! * **Hysteresis (3 % / 1 %)**: no step for a pool already compact, and no
//!   flapping at the threshold.
//! * **Back-off**: some slack cannot be moved (rounding, the open zspage's
//!   unused tail, holes smaller than any object); a layout with nothing
//!   worth moving is not asked again until more has been freed.
//!
//! The policy is on by default for the packed layout and off for Linux's
//! configurations, which stay comparable to Linux
//! ([`crate::Pool::set_auto_compaction`] switches it; both layouts compact
//! in steps). It only ever calls the layout's step, so a layout of your
//! own without steps is never compacted by it. Its figures are in
//! [`AutoCompactionStats`].

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::backend::PAGE_SIZE;
use crate::layout::CompactStep;

/// Compaction starts when the slack passes this share of the pool's pages
/// (percent) ...
pub const START_PERCENT: usize = 3;
/// ... and at least this many pages' worth ...
pub const MIN_SLACK_PAGES: usize = 4;
/// ... and stops when the slack falls below this share (percent).
pub const STOP_PERCENT: usize = 1;
/// A step moves at most this many times the bytes freed since the last one ...
pub const STEP_BYTES_PER_FREED_BYTE: usize = 2;
/// ... and runs once that allows at least this many bytes: a step has a
/// fixed cost (its lock sections, the pages it borrows and gives back),
/// which small frees would otherwise pay one by one.
pub const MIN_STEP_BYTES: usize = PAGE_SIZE;
/// Each byte allocated earns steps the right to move this many bytes ...
pub const CREDIT_PER_ALLOCATED_BYTE: usize = 4;
/// ... up to this share of the pool's page bytes banked (1/16), or
/// [`CREDIT_FLOOR`] in a small pool: what a pool that only drains may still
/// move, in all (a pool that is also written to earns more as it goes).
pub const CREDIT_SHARE: usize = 16;
/// The least credit a pool may bank, however small.
pub const CREDIT_FLOOR: usize = 16 * PAGE_SIZE;

/// The most credit a pool of `pages` pages may bank.
pub fn credit_cap(pages: usize) -> usize {
    (pages * PAGE_SIZE / CREDIT_SHARE).max(CREDIT_FLOOR)
}

/// The policy's state, one per pool. Its counters are only ever advice: a
/// race between two frees at worst runs one step too many or too few.
#[derive(Debug)]
pub(crate) struct AutoCompaction {
    enabled: AtomicBool,
    running: AtomicBool,
    /// Bytes steps may still move.
    credit: AtomicUsize,
    /// Bytes to free before the next step, after a fruitless one.
    backoff: AtomicUsize,
    /// Bytes the next step may move, by the frees since the last one.
    owed: AtomicUsize,
    steps: AtomicUsize,
    bytes_moved: AtomicUsize,
    pages_freed: AtomicUsize,
}

/// The policy's figures ([`crate::PoolStats::auto_compaction`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoCompactionStats {
    /// Whether the policy is on.
    pub enabled: bool,
    /// Steps run since the pool was created.
    pub steps: usize,
    /// Payload bytes those steps moved.
    pub bytes_moved: usize,
    /// Pages those steps gave back (also counted in `pages_compacted`).
    pub pages_freed: usize,
}

impl AutoCompaction {
    pub(crate) const fn new(enabled: bool) -> Self {
        AutoCompaction {
            enabled: AtomicBool::new(enabled),
            running: AtomicBool::new(false),
            credit: AtomicUsize::new(0),
            backoff: AtomicUsize::new(0),
            owed: AtomicUsize::new(0),
            steps: AtomicUsize::new(0),
            bytes_moved: AtomicUsize::new(0),
            pages_freed: AtomicUsize::new(0),
        }
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
        self.running.store(false, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// An allocation of `size` bytes in a pool of `pages` pages earns credit.
    #[inline]
    pub(crate) fn earn(&self, size: usize, pages: usize) {
        if !self.enabled() {
            return;
        }
        let credit = self.credit.load(Ordering::Relaxed);
        let cap = credit_cap(pages);
        if credit < cap {
            let earned = (credit + size * CREDIT_PER_ALLOCATED_BYTE).min(cap);
            self.credit.store(earned, Ordering::Relaxed);
        }
    }

    /// After a free of `size` bytes, in a pool of `pages` pages holding
    /// `payload` bytes: how many bytes a step may move now (`None`: no step).
    pub(crate) fn budget_after_free(
        &self,
        size: usize,
        pages: usize,
        payload: usize,
    ) -> Option<usize> {
        if !self.enabled() {
            return None;
        }
        let held = pages * PAGE_SIZE;
        let slack = held.saturating_sub(payload);
        if self.running.load(Ordering::Relaxed) {
            if slack * 100 < held * STOP_PERCENT {
                self.running.store(false, Ordering::Relaxed);
                return None;
            }
        } else {
            if slack * 100 <= held * START_PERCENT || slack < MIN_SLACK_PAGES * PAGE_SIZE {
                return None;
            }
            let backoff = self.backoff.load(Ordering::Relaxed);
            if backoff > 0 {
                self.backoff
                    .store(backoff.saturating_sub(size), Ordering::Relaxed);
                return None;
            }
            self.running.store(true, Ordering::Relaxed);
            self.owed.store(0, Ordering::Relaxed);
        }
        let owed = self.owed.load(Ordering::Relaxed) + size * STEP_BYTES_PER_FREED_BYTE;
        if owed < MIN_STEP_BYTES {
            self.owed.store(owed, Ordering::Relaxed);
            return None;
        }
        self.owed.store(0, Ordering::Relaxed);
        let budget = owed.min(self.credit.load(Ordering::Relaxed));
        (budget > 0).then_some(budget)
    }

    /// Account for a step the layout ran in a pool of `pages` pages.
    pub(crate) fn record(&self, step: CompactStep, pages: usize) {
        let credit = self.credit.load(Ordering::Relaxed);
        self.credit
            .store(credit.saturating_sub(step.bytes_moved), Ordering::Relaxed);
        self.steps.fetch_add(1, Ordering::Relaxed);
        self.bytes_moved
            .fetch_add(step.bytes_moved, Ordering::Relaxed);
        self.pages_freed.fetch_add(
            step.pages_freed.saturating_sub(step.pages_added),
            Ordering::Relaxed,
        );
        if step.done {
            self.running.store(false, Ordering::Relaxed);
            self.backoff
                .store(pages * PAGE_SIZE * START_PERCENT / 100, Ordering::Relaxed);
        }
    }

    pub(crate) fn stats(&self) -> AutoCompactionStats {
        AutoCompactionStats {
            enabled: self.enabled(),
            steps: self.steps.load(Ordering::Relaxed),
            bytes_moved: self.bytes_moved.load(Ordering::Relaxed),
            pages_freed: self.pages_freed.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL_PAGES: usize = 100;

    #[test]
    fn starts_above_the_start_share_and_stops_below_the_stop_share() {
        let policy = AutoCompaction::new(true);
        policy.earn(CREDIT_FLOOR, POOL_PAGES);
        let held = POOL_PAGES * PAGE_SIZE;
        let payload_with_slack = |per_mille: usize| held - held * per_mille / 1000;
        let between = (START_PERCENT + STOP_PERCENT) * 10 / 2;
        let freed = PAGE_SIZE;
        let step = Some(freed * STEP_BYTES_PER_FREED_BYTE);
        // Slack at the start share: nothing to do.
        let at_start = payload_with_slack(START_PERCENT * 10);
        assert_eq!(policy.budget_after_free(freed, POOL_PAGES, at_start), None);
        // Above it: a step of twice the bytes freed.
        let above = payload_with_slack(START_PERCENT * 10 + 10);
        assert_eq!(policy.budget_after_free(freed, POOL_PAGES, above), step);
        // Running: between the two shares it goes on ...
        let middle = payload_with_slack(between);
        assert_eq!(policy.budget_after_free(freed, POOL_PAGES, middle), step);
        // ... below the stop share it stops, and stays stopped in between.
        let below = payload_with_slack(STOP_PERCENT * 10 / 2);
        assert_eq!(policy.budget_after_free(freed, POOL_PAGES, below), None);
        assert_eq!(policy.budget_after_free(freed, POOL_PAGES, middle), None);
    }

    #[test]
    fn small_frees_add_up_to_one_step() {
        let policy = AutoCompaction::new(true);
        policy.earn(CREDIT_FLOOR, POOL_PAGES);
        let payload = POOL_PAGES * PAGE_SIZE / 2;
        let freed = MIN_STEP_BYTES / STEP_BYTES_PER_FREED_BYTE / 4;
        for _ in 0..3 {
            assert_eq!(policy.budget_after_free(freed, POOL_PAGES, payload), None);
        }
        assert_eq!(
            policy.budget_after_free(freed, POOL_PAGES, payload),
            Some(MIN_STEP_BYTES)
        );
        // What was owed went into that step.
        assert_eq!(policy.budget_after_free(freed, POOL_PAGES, payload), None);
    }

    #[test]
    fn steps_are_paid_for_by_allocations() {
        let policy = AutoCompaction::new(true);
        let payload = POOL_PAGES * PAGE_SIZE / 2;
        assert_eq!(
            policy.budget_after_free(PAGE_SIZE, POOL_PAGES, payload),
            None
        );
        policy.earn(100, POOL_PAGES);
        assert_eq!(
            policy.budget_after_free(PAGE_SIZE, POOL_PAGES, payload),
            Some(400)
        );
        policy.record(
            CompactStep {
                bytes_moved: 400,
                ..CompactStep::default()
            },
            POOL_PAGES,
        );
        assert_eq!(
            policy.budget_after_free(PAGE_SIZE, POOL_PAGES, payload),
            None
        );
        policy.earn(usize::MAX / 8, POOL_PAGES);
        assert_eq!(
            policy.budget_after_free(PAGE_SIZE * 64, POOL_PAGES, payload),
            Some(CREDIT_FLOOR)
        );
    }

    #[test]
    fn a_fruitless_step_backs_off_until_more_is_freed() {
        let policy = AutoCompaction::new(true);
        policy.earn(CREDIT_FLOOR, POOL_PAGES);
        let payload = POOL_PAGES * PAGE_SIZE / 2;
        assert!(policy
            .budget_after_free(PAGE_SIZE, POOL_PAGES, payload)
            .is_some());
        policy.record(
            CompactStep {
                done: true,
                ..CompactStep::default()
            },
            POOL_PAGES,
        );
        let quiet = POOL_PAGES * PAGE_SIZE * START_PERCENT / 100;
        assert_eq!(
            policy.budget_after_free(quiet - 1, POOL_PAGES, payload),
            None
        );
        assert_eq!(policy.budget_after_free(1, POOL_PAGES, payload), None);
        assert!(policy
            .budget_after_free(PAGE_SIZE, POOL_PAGES, payload)
            .is_some());
    }

    #[test]
    fn disabled_policy_does_nothing() {
        let policy = AutoCompaction::new(false);
        policy.earn(CREDIT_FLOOR, POOL_PAGES);
        assert_eq!(policy.budget_after_free(PAGE_SIZE, POOL_PAGES, 0), None);
        policy.set_enabled(true);
        // Credit earned while off does not count.
        assert_eq!(policy.budget_after_free(PAGE_SIZE, POOL_PAGES, 0), None);
    }
}
