//! Lab `layout` (labs/layout/README.md): a layout of your own, to beat
//! Linux's.
//!
//! The pool (handles, validation, map windows, statistics, the checks that
//! hold for every layout) is given; a layout decides where each object's
//! bytes go. Yours plugs in through the same public interface as the
//! project's own layouts:
//!
//! ```text
//!   Pool::with_layout("lab", backend, layout::<B>())
//!     └──► Box<dyn Layout<B>>   ◄── this file: MyLayout
//! ```
//!
//! Read `zsmalloc/src/layout.rs` (the trait, its safety contract, "Writing
//! your own layout") and `zsmalloc/tests/custom_layout.rs`, a complete and
//! correct layout of one object per page (efficiency about 0.3: a start, not
//! an answer). Replace `State` with your design and write every method that
//! says `todo!`.
#![allow(unused)]

use zsmalloc::check::InvariantError;
use zsmalloc::pages::{ObjectPages, PayloadBuffer};
use zsmalloc::stats::LayoutStats;
use zsmalloc::sync::SpinLock;
use zsmalloc::{Backend, Entry, Layout, OutOfPages, PoolCore, PoolVisitor};

/// The grader's entry point: a fresh, empty layout of yours.
pub fn layout<B: Backend>() -> Box<dyn Layout<B>> {
    Box::new(MyLayout::<B::Page>::new())
}

/// Your bookkeeping: zspages and their pages, where each object is, which
/// entry owns it, free space, pins. Design it.
struct State<P> {
    /// Every page you hold (a placeholder: replace it with your design).
    pages: Vec<P>,
}

/// Your layout.
pub struct MyLayout<P> {
    state: SpinLock<State<P>>,
}

impl<P> MyLayout<P> {
    /// An empty layout.
    pub fn new() -> Self {
        MyLayout {
            state: SpinLock::new(State { pages: Vec::new() }),
        }
    }
}

// SAFETY: the skeleton's methods all panic before naming any page. Once you
// write them, replace this comment with your argument for each promise of
// the trait's `# Safety` section.
unsafe impl<B: Backend> Layout<B> for MyLayout<B::Page> {
    fn name(&self) -> &'static str {
        "lab"
    }

    /// Payloads of at least this size are stored one per page
    /// (`PAGE_SIZE` if your layout has no such rule).
    fn huge_class_size(&self) -> usize {
        todo!("lab layout: the size from which objects get a page of their own")
    }

    /// Place a new object of `size` bytes for `entry` and record its location
    /// (`core.set_location`) before returning; on failure change nothing.
    fn allocate(&self, core: &PoolCore<B>, entry: Entry, size: usize) -> Result<(), OutOfPages> {
        todo!("lab layout: place an object and record its location")
    }

    /// Forget the object of `entry`; give back pages that hold nothing.
    fn free(&self, core: &PoolCore<B>, entry: Entry, size: usize) {
        todo!("lab layout: free an object and give back empty pages")
    }

    /// Where the first `length` bytes of the object are (one page or two:
    /// `ObjectPages::locate`), pinned until `unpin`.
    fn pin(&self, core: &PoolCore<B>, entry: Entry, length: usize) -> ObjectPages<B::Page> {
        todo!("lab layout: locate and pin an object")
    }

    /// End a `pin`.
    fn unpin(&self, core: &PoolCore<B>, entry: Entry) {
        todo!("lab layout: unpin an object")
    }

    /// Move objects so that pages can be given back; return the pages given
    /// back. Pinned objects stay. (Returning 0 is correct, if wasteful.)
    fn compact(&self, core: &PoolCore<B>) -> usize {
        todo!("lab layout: compaction (or none: return 0)")
    }

    /// Pages that `compact` could give back now.
    fn pages_compactable(&self, core: &PoolCore<B>) -> usize {
        todo!("lab layout: pages compaction could give back")
    }

    /// Your statistics: objects, payload bytes, metadata bytes, a table.
    fn stats(&self, core: &PoolCore<B>) -> LayoutStats {
        todo!("lab layout: the layout's statistics")
    }

    /// Your own invariants (the pool checks the rest through `walk`).
    fn check(&self, core: &PoolCore<B>) -> Result<(), InvariantError> {
        todo!("lab layout: check your invariants")
    }

    /// Show every zspage, then its objects, to `visitor`.
    fn walk(&self, core: &PoolCore<B>, visitor: &mut dyn PoolVisitor<B::Page>) {
        todo!("lab layout: walk every zspage and object")
    }

    /// Give every page back (the pool is being dropped).
    fn release_all(&mut self, core: &PoolCore<B>) {
        todo!("lab layout: give every page back")
    }
}
