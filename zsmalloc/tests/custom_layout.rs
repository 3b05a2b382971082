//! A layout written outside the crate, against the public `Layout` trait
//! only, plugged into a `Pool`: one object per page, the simplest correct
//! layout (it wastes whatever each object leaves of its page). The whole
//! pool API runs on it, and the pool's own checks catch a layout that
//! loses track of a page.

use std::fmt::Write;

use zsmalloc::check::InvariantError;
use zsmalloc::facade::{zs_obj_read_begin, zs_obj_read_end, zs_obj_write, ZsPool};
use zsmalloc::pages::{ObjectPages, PayloadBuffer};
use zsmalloc::stats::{LayoutDetail, LayoutStats};
use zsmalloc::sync::SpinLock;
use zsmalloc::testing::{fill_pattern, has_pattern, HighmemBackend};
use zsmalloc::{
    Backend, Entry, Layout, ObjectView, OutOfPages, Pool, PoolCore, PoolVisitor, ReadOnly,
    ReadWrite, WriteOnly, ZspageView, PAGE_SIZE,
};

/// One zspage of one page per object. The location an entry records is
/// the index of its record.
struct Record<P> {
    page: P,
    owner: Entry,
    pins: usize,
}

struct State<P> {
    records: Vec<Option<Record<P>>>,
    free_records: Vec<u32>,
    payload_bytes: usize,
}

struct PagePerObject<P> {
    state: SpinLock<State<P>>,
    /// A deliberate bug for the test of the pool's checks: `free` forgets
    /// the page instead of giving it back.
    leak_pages: bool,
}

impl<P> PagePerObject<P> {
    fn new(leak_pages: bool) -> Self {
        PagePerObject {
            state: SpinLock::new(State {
                records: Vec::new(),
                free_records: Vec::new(),
                payload_bytes: 0,
            }),
            leak_pages,
        }
    }
}

// SAFETY: every page comes from `core.alloc_page` and is given back once
// (in `free` or `release_all`); each object has a page of its own, which
// the layout never writes; records of pinned objects are not freed (the
// pool never frees a pinned object).
unsafe impl<B: Backend> Layout<B> for PagePerObject<B::Page> {
    fn name(&self) -> &'static str {
        "page per object"
    }

    fn huge_class_size(&self) -> usize {
        PAGE_SIZE
    }

    fn allocate(&self, core: &PoolCore<B>, entry: Entry, size: usize) -> Result<(), OutOfPages> {
        let atomic = core.enter_atomic();
        let mut state = self.state.lock(&atomic);
        let page = core.alloc_page()?;
        let record = Some(Record {
            page,
            owner: entry,
            pins: 0,
        });
        let index = match state.free_records.pop() {
            Some(index) => {
                state.records[index as usize] = record;
                index
            }
            None => {
                state.records.push(record);
                state.records.len() as u32 - 1
            }
        };
        state.payload_bytes += size;
        core.set_location(entry, u64::from(index));
        Ok(())
    }

    fn free(&self, core: &PoolCore<B>, entry: Entry, size: usize) {
        let atomic = core.enter_atomic();
        let mut state = self.state.lock(&atomic);
        let index = core.location(entry) as u32;
        let record = state.records[index as usize].take().expect("a live record");
        state.free_records.push(index);
        state.payload_bytes -= size;
        if !self.leak_pages {
            // SAFETY: the object is freed and was not pinned: nothing maps
            // or uses its page any more.
            unsafe { core.free_page(record.page) };
        }
    }

    fn pin(&self, core: &PoolCore<B>, entry: Entry, length: usize) -> ObjectPages<B::Page> {
        let atomic = core.enter_atomic();
        let mut state = self.state.lock(&atomic);
        let record = state.records[core.location(entry) as usize]
            .as_mut()
            .expect("a live record");
        record.pins += 1;
        ObjectPages::locate(0, length, |_| record.page)
    }

    fn unpin(&self, core: &PoolCore<B>, entry: Entry) {
        let atomic = core.enter_atomic();
        let mut state = self.state.lock(&atomic);
        let record = state.records[core.location(entry) as usize].as_mut();
        record.expect("a live record").pins -= 1;
    }

    fn copy(&self, core: &PoolCore<B>, entry: Entry, buffer: PayloadBuffer<'_>) {
        let atomic = core.enter_atomic();
        let state = self.state.lock(&atomic);
        let record = state.records[core.location(entry) as usize]
            .as_ref()
            .expect("a live record");
        let pages = ObjectPages::locate(0, buffer.len(), |_| record.page);
        // SAFETY: the lock is held, so the page stays allocated; the pool has
        // claimed the entry, so nobody else uses these bytes.
        unsafe { pages.copy(core.backend(), buffer) };
    }

    fn compact(&self, _core: &PoolCore<B>) -> usize {
        0
    }

    fn pages_compactable(&self, _core: &PoolCore<B>) -> usize {
        0
    }

    fn stats(&self, core: &PoolCore<B>) -> LayoutStats {
        let atomic = core.enter_atomic();
        let state = self.state.lock(&atomic);
        let objects = state.records.iter().flatten().count();
        let mut table = String::new();
        writeln!(table, "page per object: {objects} pages").unwrap();
        LayoutStats {
            objects_used: objects,
            payload_bytes: state.payload_bytes,
            freeable: 0,
            metadata_bytes: std::mem::size_of::<Self>()
                + state.records.capacity() * std::mem::size_of::<Option<Record<B::Page>>>()
                + state.free_records.capacity() * 4,
            detail: LayoutDetail::Other(table),
        }
    }

    fn check(&self, core: &PoolCore<B>) -> Result<(), InvariantError> {
        let atomic = core.enter_atomic();
        let state = self.state.lock(&atomic);
        for (index, record) in state.records.iter().enumerate() {
            if let Some(record) = record {
                if core.location(record.owner) != index as u64 {
                    return Err(InvariantError::new(format!("record {index} misplaced")));
                }
            }
        }
        Ok(())
    }

    fn walk(&self, core: &PoolCore<B>, visitor: &mut dyn PoolVisitor<B::Page>) {
        let atomic = core.enter_atomic();
        let state = self.state.lock(&atomic);
        for record in state.records.iter().flatten() {
            visitor.zspage(&ZspageView {
                pages: &[record.page],
                pins: record.pins,
            });
            let length = core.object_size(record.owner);
            visitor.object(&ObjectView {
                entry: record.owner,
                offset: 0,
                size: length,
                length,
            });
        }
    }

    fn release_all(&mut self, core: &PoolCore<B>) {
        for record in self
            .state
            .get_mut()
            .records
            .iter_mut()
            .filter_map(Option::take)
        {
            // SAFETY: the pool is being dropped: nothing reaches the page.
            unsafe { core.free_page(record.page) };
        }
    }
}

fn pool(backend: &HighmemBackend, leak_pages: bool) -> Pool<&HighmemBackend> {
    Pool::with_layout("custom", backend, Box::new(PagePerObject::new(leak_pages)))
}

#[test]
fn the_whole_api_runs_on_a_layout_of_ones_own() {
    let backend = HighmemBackend::new();
    let pool = pool(&backend, false);
    let sizes = [1, 100, 2000, 4096];
    let handles: Vec<_> = sizes
        .iter()
        .map(|&size| pool.malloc(size).unwrap())
        .collect();
    assert_eq!(pool.total_pages(), 4);
    let mut mapper = pool.mapper();
    for (handle, &size) in handles.iter().zip(&sizes) {
        mapper
            .map(handle, WriteOnly, |window| {
                fill_pattern(size as u64, window)
            })
            .unwrap();
        mapper
            .map(handle, ReadWrite, |window| {
                assert!(has_pattern(size as u64, window));
                window[0] ^= 0xFF;
                window[0] ^= 0xFF;
            })
            .unwrap();
    }
    drop(mapper);
    let mut local_copy = [0; PAGE_SIZE];
    for (handle, &size) in handles.iter().zip(&sizes) {
        let read = pool.read_with(handle, &mut local_copy, |read| {
            has_pattern(size as u64, read)
        });
        assert_eq!(read, Ok(true));
        let mut copy = vec![0; size];
        assert_eq!(pool.read(handle, &mut copy), Ok(size));
        assert!(has_pattern(size as u64, &copy));
    }
    pool.check().unwrap();
    assert_eq!(pool.compact(), 0);
    let stats = pool.stats();
    assert_eq!((stats.layout, stats.objects_used), ("page per object", 4));
    assert_eq!(stats.payload_bytes, sizes.iter().sum::<usize>());
    assert!(stats.to_string().contains("page per object: 4 pages"));
    let mut mapper = pool.mapper();
    mapper
        .map(&handles[1], ReadOnly, |_| pool.check().unwrap())
        .unwrap();
    drop(mapper);
    for handle in handles {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
    pool.check().unwrap();
    drop(pool);
    assert_eq!(backend.counters().live_pages, 0);
}

#[test]
fn the_pool_checks_a_layout_of_ones_own() {
    let backend = HighmemBackend::new();
    let pool = pool(&backend, true);
    let kept = pool.malloc(10).unwrap();
    let freed = pool.malloc(10).unwrap();
    pool.check().unwrap();
    pool.free(freed);
    let error = pool.check().unwrap_err();
    assert!(
        error
            .description
            .contains("total_pages is 2 but the zspages hold 1"),
        "{error}"
    );
    pool.free(kept);
    // Both pages leaked: the backend still counts them live.
    assert_eq!(backend.counters().live_pages, 2);
}

#[test]
fn the_facade_runs_on_a_layout_of_ones_own() {
    let backend = HighmemBackend::new();
    let pool = pool(&backend, false);
    let handle = pool.malloc(300).unwrap().raw();
    let mut pool = ZsPool::from(pool);
    zs_obj_write(&pool, handle, &[7; 300]).unwrap();
    let mut local_copy = [0; PAGE_SIZE];
    let bytes = zs_obj_read_begin(&mut pool, handle, &mut local_copy).unwrap();
    assert_eq!(bytes, &[7; 300][..]);
    zs_obj_read_end(&mut pool, handle).unwrap();
    pool.pool().free_raw(handle).unwrap();
}
