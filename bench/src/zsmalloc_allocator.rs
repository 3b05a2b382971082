//! Our zsmalloc behind the benchmark's interface.
//!
//! ```text
//!   ObjectId(7) ──► ids[7] = Some(Handle) ──► pool's handle table ──► zspage bytes
//!                   \_ the benchmark's _/      \_____ the allocator: counted as metadata _____/
//! ```
//!
//! The id table only exists because the interface names objects by a plain
//! number; zram keeps the handle in its slot instead. So its memory is the
//! benchmark's, not charged to zsmalloc. The pool's own handle table and its
//! layout's records and lists *are* zsmalloc's metadata ([`zsmalloc::PoolStats`]).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use zsmalloc::{Backend, Config, ConfigError, Handle, Pool};

use crate::object_allocator::{ObjectAllocator, ObjectId};

/// A zsmalloc pool with any backend and configuration.
pub struct ZsmallocAllocator<B: Backend> {
    pool: Pool<B>,
    /// Handle of each live id; `None` for an id free to be reused.
    ids: Vec<Option<Handle>>,
    /// Ids whose object was freed, reused first.
    free_ids: Vec<usize>,
}

impl<B: Backend> ZsmallocAllocator<B> {
    /// A pool named `name` (also the allocator's row name).
    pub fn new(name: &str, backend: B, config: Config) -> Result<Self, ConfigError> {
        Ok(Self::with_pool(Pool::with_config(name, backend, config)?))
    }

    /// Any pool, e.g. one with a layout of your own; its name is the row name.
    pub fn with_pool(pool: Pool<B>) -> Self {
        ZsmallocAllocator {
            pool,
            ids: Vec::new(),
            free_ids: Vec::new(),
        }
    }

    /// The pool underneath (statistics, mapping).
    pub fn pool(&self) -> &Pool<B> {
        &self.pool
    }

    /// The handle of a live object.
    pub fn handle(&self, id: ObjectId) -> &Handle {
        self.ids
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .unwrap_or_else(|| panic!("{id:?} is not a live object of {}", self.pool.name()))
    }

    fn remember(&mut self, handle: Handle) -> ObjectId {
        match self.free_ids.pop() {
            Some(index) => {
                self.ids[index] = Some(handle);
                ObjectId(index as u64)
            }
            None => {
                self.ids.push(Some(handle));
                ObjectId(self.ids.len() as u64 - 1)
            }
        }
    }
}

impl<B: Backend> ObjectAllocator for ZsmallocAllocator<B> {
    fn name(&self) -> String {
        self.pool.name().to_string()
    }

    fn malloc(&mut self, size: usize) -> Option<ObjectId> {
        let handle = self.pool.malloc(size).ok()?;
        Some(self.remember(handle))
    }

    fn free(&mut self, id: ObjectId) {
        let index = id.0 as usize;
        let handle = self.ids.get_mut(index).and_then(Option::take);
        let handle = handle.unwrap_or_else(|| panic!("{id:?} is not a live object"));
        self.pool.free(handle);
        self.free_ids.push(index);
    }

    fn write(&mut self, id: ObjectId, data: &[u8]) {
        let written = self.pool.write(self.handle(id), data);
        written.expect("a live handle can be written");
    }

    fn read(&mut self, id: ObjectId, buffer: &mut [u8]) {
        let read = self.pool.read(self.handle(id), buffer);
        read.expect("a live handle can be read");
    }

    fn data_pages(&self) -> usize {
        self.pool.total_pages()
    }

    fn metadata_bytes(&self) -> usize {
        self.pool.stats().metadata_bytes
    }

    fn compact(&mut self) -> usize {
        self.pool.compact()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zsmalloc::testing::HeapBackend;

    #[test]
    fn objects_round_trip_and_ids_are_reused() {
        let mut allocator =
            ZsmallocAllocator::new("t", HeapBackend::new(), Config::linux(4)).unwrap();
        let first = allocator.malloc(100).unwrap();
        let second = allocator.malloc(3000).unwrap();
        allocator.write(first, &[1; 100]);
        allocator.write(second, &[2; 3000]);
        let mut buffer = [0; 3000];
        allocator.read(first, &mut buffer[..100]);
        assert_eq!(buffer[..100], [1; 100]);
        allocator.read(second, &mut buffer);
        assert_eq!(buffer, [2; 3000]);
        allocator.free(first);
        assert_eq!(allocator.malloc(50), Some(first));
        assert!(allocator.metadata_bytes() > 0);
        assert_eq!(allocator.malloc(0), None);
        assert_eq!(allocator.malloc(4097), None);
    }
}
