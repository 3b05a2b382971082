//! A backend that simulates HIGHMEM: pages without permanent addresses.
//!
//! ```text
//!   backing store (never handed out)       window (exists only while mapped)
//!   page 7: [......4096 B......]   map ->  fresh heap copy   [......]
//!                                  unmap <- written back, poisoned, freed
//!   pages 3, 9:                    map_page_pair -> one block [..3..|..9..]
//!                                                  two pages side by side
//! ```
//!
//! So a pointer kept after `unmap_page` reads poison (and is a use after free
//! under Miri), and writes to it are lost. Mapping the same page again while
//! it is mapped (another object, another thread) returns the same window,
//! like two `kmap`s aliasing one physical page; a pair cannot be made of a
//! page that is already mapped (the kernel's kmap could, but it is allowed
//! to refuse). Each thread keeps a stack of its mappings. These panic:
//! unmapping out of LIFO order, exceeding the mapping limit (a pair counts
//! two), mapping outside an atomic section, an atomic section ending on
//! another thread or without being entered, a mapping still open when the
//! thread's last atomic section ends, freeing a mapped page, and using a
//! freed page. The atomic sections are those of the simulated CPU
//! ([`super::cpu`]): they nest and may end in any order.

use std::alloc::{alloc, dealloc, Layout};
use std::boxed::Box;
use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread_local;
use std::vec;
use std::vec::Vec;

use super::cpu::{self, AtomicToken};
use crate::backend::{Backend, OutOfPages, PAGE_SIZE};

/// A page of [`HighmemBackend`]: an index plus a generation, so that a page
/// used after being freed is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HighmemPage {
    index: u32,
    generation: u32,
}

/// What the simulation counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HighmemCounters {
    /// Successful `alloc_page` calls.
    pub pages_allocated: usize,
    /// `free_page` calls.
    pub pages_freed: usize,
    /// Pages allocated and not yet freed.
    pub live_pages: usize,
    /// `map_page` calls.
    pub maps: usize,
    /// Successful `map_page_pair` calls.
    pub pair_maps: usize,
    /// The most mappings one thread held at once (a pair counts two).
    pub peak_mappings: usize,
    /// `alloc_page` calls refused by the page limit.
    pub refused: usize,
}

const POISON: u8 = 0x5A;
const FRESH_PAGE: u8 = 0xC3;

/// Heap memory standing in for the virtual addresses of one or two pages.
struct Block {
    base: NonNull<u8>,
    pages: usize,
    /// Pages of the block still mapped.
    mapped: usize,
}

/// A page's current window: where it appears, and in which block.
struct Window {
    address: NonNull<u8>,
    depth: usize,
    block: usize,
}

struct PageFrame {
    backing: Option<Box<[u8]>>,
    generation: u32,
    window: Option<Window>,
}

struct Frames {
    frames: Vec<PageFrame>,
    free: Vec<u32>,
    /// Blocks by number; numbers of freed blocks are reused.
    blocks: Vec<Option<Block>>,
    free_blocks: Vec<usize>,
    counters: HighmemCounters,
}

// SAFETY: the raw pointers are heap blocks owned by `Frames` and only
// touched under its mutex (copies) or through a mapping the pool holds.
unsafe impl Send for Frames {}

/// How a stack entry was mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Single,
    PairFirst,
    PairSecond,
}

/// One mapping on a thread's stack: (backend id, page, address, kind).
type StackEntry = (usize, HighmemPage, usize, Kind);

/// The HIGHMEM simulation. See the module documentation.
pub struct HighmemBackend {
    id: usize,
    max_mappings: usize,
    page_limit: Option<usize>,
    page_pairs: bool,
    frames: Mutex<Frames>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// This thread's open mappings, of every HighmemBackend.
    static MAPPINGS: RefCell<Vec<StackEntry>> = const { RefCell::new(Vec::new()) };
}

fn block_layout(pages: usize) -> Layout {
    Layout::from_size_align(pages * PAGE_SIZE, 8).expect("valid layout")
}

fn mappings_on_this_thread() -> usize {
    MAPPINGS.with(|stack| stack.borrow().len())
}

impl Default for HighmemBackend {
    fn default() -> Self {
        HighmemBackend::new()
    }
}

impl HighmemBackend {
    /// Four simultaneous mappings per thread, page pairs, no page limit.
    pub fn new() -> HighmemBackend {
        HighmemBackend {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            max_mappings: 4,
            page_limit: None,
            page_pairs: true,
            frames: Mutex::new(Frames {
                frames: Vec::new(),
                free: Vec::new(),
                blocks: Vec::new(),
                free_blocks: Vec::new(),
                counters: HighmemCounters::default(),
            }),
        }
    }

    /// At most `pages` pages live at once.
    pub fn with_page_limit(pages: usize) -> HighmemBackend {
        let mut backend = HighmemBackend::new();
        backend.page_limit = Some(pages);
        backend
    }

    /// Change the per-thread mapping limit.
    pub fn with_max_mappings(mut self, max_mappings: usize) -> HighmemBackend {
        self.max_mappings = max_mappings;
        self
    }

    /// Refuse every `map_page_pair`, as a platform without adjacent kmap
    /// slots (objects spanning two pages then use the bounce buffer).
    pub fn without_page_pairs(mut self) -> HighmemBackend {
        self.page_pairs = false;
        self
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> HighmemCounters {
        self.lock().counters
    }

    /// Mappings this thread holds on this backend (a pair counts two).
    pub fn open_mappings(&self) -> usize {
        MAPPINGS.with(|stack| {
            stack
                .borrow()
                .iter()
                .filter(|entry| entry.0 == self.id)
                .count()
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Frames> {
        self.frames.lock().expect("frames lock")
    }

    fn frame(frames: &mut Frames, page: HighmemPage) -> &mut PageFrame {
        let frame = frames
            .frames
            .get_mut(page.index as usize)
            .unwrap_or_else(|| panic!("{page:?} was never allocated"));
        assert!(
            frame.backing.is_some() && frame.generation == page.generation,
            "{page:?} used after being freed"
        );
        frame
    }

    /// A new block of `pages` pages, filled from the pages' backing stores.
    fn new_block(frames: &mut Frames, pages: &[HighmemPage]) -> usize {
        // SAFETY: the layout has a non-zero size.
        let base =
            NonNull::new(unsafe { alloc(block_layout(pages.len())) }).expect("out of host memory");
        let record = Some(Block {
            base,
            pages: pages.len(),
            mapped: pages.len(),
        });
        let block = match frames.free_blocks.pop() {
            Some(block) => {
                frames.blocks[block] = record;
                block
            }
            None => {
                frames.blocks.push(record);
                frames.blocks.len() - 1
            }
        };
        for (index, &page) in pages.iter().enumerate() {
            let frame = Self::frame(frames, page);
            let backing = frame.backing.as_ref().expect("checked by frame()");
            // SAFETY: `base` is a fresh block of `pages.len()` pages, so page
            // `index` of it has PAGE_SIZE bytes, as has `backing`; they are
            // distinct allocations.
            let address = unsafe {
                let address = base.add(index * PAGE_SIZE);
                std::ptr::copy_nonoverlapping(backing.as_ptr(), address.as_ptr(), PAGE_SIZE);
                address
            };
            frame.window = Some(Window {
                address,
                depth: 1,
                block,
            });
        }
        block
    }

    /// Push a mapping on this thread's stack and check the limit.
    fn push_mapping(&self, frames: &mut Frames, entries: &[StackEntry]) {
        let held = MAPPINGS.with(|stack| {
            let mut stack = stack.borrow_mut();
            stack.extend_from_slice(entries);
            stack.iter().filter(|entry| entry.0 == self.id).count()
        });
        assert!(
            held <= self.max_mappings,
            "more than {} mappings at once",
            self.max_mappings
        );
        frames.counters.peak_mappings = frames.counters.peak_mappings.max(held);
    }

    /// Pop this backend's most recent mapping, which must be `expected`.
    fn pop_mapping(&self, expected: StackEntry) {
        MAPPINGS.with(|stack| {
            let mut stack = stack.borrow_mut();
            let position = stack.iter().rposition(|entry| entry.0 == self.id);
            let top = position.map(|position| stack.remove(position));
            assert_eq!(
                top,
                Some(expected),
                "unmap is not the most recent mapping of this thread (LIFO violated)"
            );
        });
    }

    /// One mapping of `page` undone: at the last one, write it back and
    /// poison it, and free its block once none of its pages is mapped.
    fn release_window(frames: &mut Frames, page: HighmemPage) {
        let frame = Self::frame(frames, page);
        let window = frame.window.as_mut().expect("unmap of an unmapped page");
        window.depth -= 1;
        if window.depth > 0 {
            return;
        }
        let window = frame.window.take().expect("just checked");
        let backing = frame.backing.as_mut().expect("checked by frame()");
        // SAFETY: the window has PAGE_SIZE bytes inside its block and nobody
        // holds a mapping of this page any more (depth 0).
        unsafe {
            std::ptr::copy_nonoverlapping(window.address.as_ptr(), backing.as_mut_ptr(), PAGE_SIZE);
            std::ptr::write_bytes(window.address.as_ptr(), POISON, PAGE_SIZE);
        }
        let record = &mut frames.blocks[window.block];
        let block = record.as_mut().expect("a mapped page's block is live");
        block.mapped -= 1;
        if block.mapped == 0 {
            let block = record.take().expect("just checked");
            frames.free_blocks.push(window.block);
            // SAFETY: no page of the block is mapped any more; it was
            // allocated with this layout.
            unsafe { dealloc(block.base.as_ptr(), block_layout(block.pages)) };
        }
    }
}

impl Backend for HighmemBackend {
    type Page = HighmemPage;
    type AtomicState = AtomicToken;

    fn alloc_page(&self) -> Result<HighmemPage, OutOfPages> {
        let mut frames = self.lock();
        if self
            .page_limit
            .is_some_and(|limit| frames.counters.live_pages >= limit)
        {
            frames.counters.refused += 1;
            return Err(OutOfPages);
        }
        let backing = Some(vec![FRESH_PAGE; PAGE_SIZE].into_boxed_slice());
        let index = match frames.free.pop() {
            Some(index) => index,
            None => {
                frames.frames.push(PageFrame {
                    backing: None,
                    generation: 0,
                    window: None,
                });
                (frames.frames.len() - 1) as u32
            }
        };
        let frame = &mut frames.frames[index as usize];
        frame.backing = backing;
        let page = HighmemPage {
            index,
            generation: frame.generation,
        };
        frames.counters.pages_allocated += 1;
        frames.counters.live_pages += 1;
        Ok(page)
    }

    unsafe fn free_page(&self, page: HighmemPage) {
        let mut frames = self.lock();
        let frame = Self::frame(&mut frames, page);
        assert!(frame.window.is_none(), "{page:?} freed while mapped");
        frame.backing = None;
        frame.generation = frame.generation.wrapping_add(1);
        frames.free.push(page.index);
        frames.counters.pages_freed += 1;
        frames.counters.live_pages -= 1;
    }

    unsafe fn map_page(&self, page: HighmemPage) -> NonNull<u8> {
        assert!(
            cpu::atomic_depth() > 0,
            "map_page outside an atomic section"
        );
        let mut frames = self.lock();
        frames.counters.maps += 1;
        let address = match &mut Self::frame(&mut frames, page).window {
            Some(window) => {
                window.depth += 1;
                window.address
            }
            None => {
                let block = Self::new_block(&mut frames, &[page]);
                frames.blocks[block].as_ref().expect("just made").base
            }
        };
        let entry = (self.id, page, address.as_ptr() as usize, Kind::Single);
        self.push_mapping(&mut frames, &[entry]);
        address
    }

    unsafe fn unmap_page(&self, page: HighmemPage, address: NonNull<u8>) {
        self.pop_mapping((self.id, page, address.as_ptr() as usize, Kind::Single));
        Self::release_window(&mut self.lock(), page);
    }

    unsafe fn map_page_pair(&self, first: HighmemPage, second: HighmemPage) -> Option<NonNull<u8>> {
        assert!(
            cpu::atomic_depth() > 0,
            "map_page_pair outside an atomic section"
        );
        if !self.page_pairs || first == second {
            return None;
        }
        let mut frames = self.lock();
        let mapped = |frames: &mut Frames, page| Self::frame(frames, page).window.is_some();
        if mapped(&mut frames, first) || mapped(&mut frames, second) {
            // Already mapped elsewhere: its window cannot move next to the other.
            return None;
        }
        frames.counters.pair_maps += 1;
        let block = Self::new_block(&mut frames, &[first, second]);
        let base = frames.blocks[block].as_ref().expect("just made").base;
        let address = base.as_ptr() as usize;
        let entries = [
            (self.id, first, address, Kind::PairFirst),
            (self.id, second, address + PAGE_SIZE, Kind::PairSecond),
        ];
        self.push_mapping(&mut frames, &entries);
        Some(base)
    }

    unsafe fn unmap_page_pair(
        &self,
        first: HighmemPage,
        second: HighmemPage,
        address: NonNull<u8>,
    ) {
        let address = address.as_ptr() as usize;
        self.pop_mapping((self.id, second, address + PAGE_SIZE, Kind::PairSecond));
        self.pop_mapping((self.id, first, address, Kind::PairFirst));
        let mut frames = self.lock();
        Self::release_window(&mut frames, second);
        Self::release_window(&mut frames, first);
    }

    fn enter_atomic(&self) -> AtomicToken {
        cpu::enter()
    }

    fn leave_atomic(&self, state: AtomicToken) {
        cpu::leave(state, mappings_on_this_thread);
    }
}

impl Drop for HighmemBackend {
    fn drop(&mut self) {
        // A test that panicked while holding the lock still gets cleaned up.
        let frames = self
            .frames
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for block in frames.blocks.iter_mut().filter_map(Option::take) {
            // SAFETY: the backend is being dropped; the block was allocated
            // with this layout and nothing can use it now.
            unsafe { dealloc(block.base.as_ptr(), block_layout(block.pages)) };
        }
    }
}
