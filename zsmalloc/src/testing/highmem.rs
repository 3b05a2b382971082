//! A backend that simulates HIGHMEM: pages without permanent addresses.
//!
//! ```text
//!   backing store (never handed out)      window (exists only while mapped)
//!   page 7: [......4096 B......]  map ->  fresh heap copy  [......]
//!                                 unmap <- written back, poisoned, freed
//! ```
//!
//! So a pointer kept after `unmap_page` reads poison (and is a use after free
//! under Miri), and writes to it are lost. Mapping the same page again while
//! it is mapped (another object, another thread) returns the same window,
//! like two `kmap`s aliasing one physical page. Each thread keeps a stack of
//! its mappings: unmapping out of LIFO order, exceeding the limit, or mapping
//! outside an atomic section panics.

use std::alloc::{alloc, dealloc, Layout};
use std::boxed::Box;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread_local;
use std::vec;
use std::vec::Vec;

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
    /// The most mappings one thread held at once.
    pub peak_mappings: usize,
    /// `alloc_page` calls refused by the page limit.
    pub refused: usize,
}

const POISON: u8 = 0x5A;
const FRESH_PAGE: u8 = 0xC3;

struct Window {
    address: NonNull<u8>,
    depth: usize,
}

struct PageFrame {
    backing: Option<Box<[u8]>>,
    generation: u32,
    window: Option<Window>,
}

struct Frames {
    frames: Vec<PageFrame>,
    free: Vec<u32>,
    counters: HighmemCounters,
}

// SAFETY: the raw window pointers are heap blocks owned by `Frames` and only
// touched under its mutex (copies) or through a mapping the pool holds.
unsafe impl Send for Frames {}

/// The HIGHMEM simulation. See the module documentation.
pub struct HighmemBackend {
    id: usize,
    max_mappings: usize,
    page_limit: Option<usize>,
    frames: Mutex<Frames>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// This thread's open mappings: (backend id, page, address).
    static MAPPINGS: RefCell<Vec<(usize, HighmemPage, usize)>> = const { RefCell::new(Vec::new()) };
    /// This thread's atomic-section depth.
    static ATOMIC_DEPTH: Cell<usize> = const { Cell::new(0) };
}

fn window_layout() -> Layout {
    Layout::from_size_align(PAGE_SIZE, 8).expect("valid layout")
}

impl Default for HighmemBackend {
    fn default() -> Self {
        HighmemBackend::new()
    }
}

impl HighmemBackend {
    /// Four simultaneous mappings per thread, no page limit.
    pub fn new() -> HighmemBackend {
        HighmemBackend {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            max_mappings: 4,
            page_limit: None,
            frames: Mutex::new(Frames {
                frames: Vec::new(),
                free: Vec::new(),
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

    /// A snapshot of the counters.
    pub fn counters(&self) -> HighmemCounters {
        self.frames.lock().expect("frames lock").counters
    }

    /// Mappings this thread holds on this backend.
    pub fn open_mappings(&self) -> usize {
        MAPPINGS.with(|stack| {
            stack
                .borrow()
                .iter()
                .filter(|entry| entry.0 == self.id)
                .count()
        })
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
}

impl Backend for HighmemBackend {
    type Page = HighmemPage;
    type AtomicState = usize;

    fn alloc_page(&self) -> Result<HighmemPage, OutOfPages> {
        let mut frames = self.frames.lock().expect("frames lock");
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
        let mut frames = self.frames.lock().expect("frames lock");
        let frame = Self::frame(&mut frames, page);
        assert!(frame.window.is_none(), "{page:?} freed while mapped");
        frame.backing = None;
        frame.generation = frame.generation.wrapping_add(1);
        frames.free.push(page.index);
        frames.counters.pages_freed += 1;
        frames.counters.live_pages -= 1;
    }

    unsafe fn map_page(&self, page: HighmemPage) -> NonNull<u8> {
        assert!(ATOMIC_DEPTH.get() > 0, "map_page outside an atomic section");
        let mut frames = self.frames.lock().expect("frames lock");
        frames.counters.maps += 1;
        let frame = Self::frame(&mut frames, page);
        let address = match &mut frame.window {
            Some(window) => {
                window.depth += 1;
                window.address
            }
            None => {
                // SAFETY: the layout has a non-zero size.
                let block = unsafe { alloc(window_layout()) };
                let address = NonNull::new(block).expect("out of host memory");
                let backing = frame.backing.as_ref().expect("checked by frame()");
                // SAFETY: `address` is a fresh block of PAGE_SIZE bytes and
                // `backing` has PAGE_SIZE bytes; they are distinct allocations.
                unsafe {
                    std::ptr::copy_nonoverlapping(backing.as_ptr(), address.as_ptr(), PAGE_SIZE)
                };
                frame.window = Some(Window { address, depth: 1 });
                address
            }
        };
        let held = MAPPINGS.with(|stack| {
            let mut stack = stack.borrow_mut();
            stack.push((self.id, page, address.as_ptr() as usize));
            stack.iter().filter(|entry| entry.0 == self.id).count()
        });
        assert!(
            held <= self.max_mappings,
            "more than {} mappings at once",
            self.max_mappings
        );
        frames.counters.peak_mappings = frames.counters.peak_mappings.max(held);
        address
    }

    unsafe fn unmap_page(&self, page: HighmemPage, address: NonNull<u8>) {
        MAPPINGS.with(|stack| {
            let mut stack = stack.borrow_mut();
            let position = stack.iter().rposition(|entry| entry.0 == self.id);
            let top = position.map(|position| stack.remove(position));
            assert_eq!(
                top,
                Some((self.id, page, address.as_ptr() as usize)),
                "unmap_page is not the most recent mapping of this thread (LIFO violated)"
            );
        });
        let mut frames = self.frames.lock().expect("frames lock");
        let frame = Self::frame(&mut frames, page);
        let window = frame.window.as_mut().expect("unmap of an unmapped page");
        window.depth -= 1;
        if window.depth > 0 {
            return;
        }
        let window = frame.window.take().expect("just checked");
        let backing = frame.backing.as_mut().expect("checked by frame()");
        // SAFETY: the window block has PAGE_SIZE bytes and nobody holds a
        // mapping of it any more (depth 0); after the write-back it is
        // poisoned and freed with the layout it was allocated with.
        unsafe {
            std::ptr::copy_nonoverlapping(window.address.as_ptr(), backing.as_mut_ptr(), PAGE_SIZE);
            std::ptr::write_bytes(window.address.as_ptr(), POISON, PAGE_SIZE);
            dealloc(window.address.as_ptr(), window_layout());
        }
    }

    fn enter_atomic(&self) -> usize {
        let depth = ATOMIC_DEPTH.get();
        ATOMIC_DEPTH.set(depth + 1);
        depth
    }

    fn leave_atomic(&self, state: usize) {
        assert_eq!(
            ATOMIC_DEPTH.get(),
            state + 1,
            "atomic sections left out of order"
        );
        ATOMIC_DEPTH.set(state);
    }
}

impl Drop for HighmemBackend {
    fn drop(&mut self) {
        // A test that panicked while holding the lock still gets cleaned up.
        let frames = self
            .frames
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for frame in &mut frames.frames {
            if let Some(window) = frame.window.take() {
                // SAFETY: the backend is being dropped; the block was
                // allocated with this layout and nothing can use it now.
                unsafe { dealloc(window.address.as_ptr(), window_layout()) };
            }
        }
    }
}
