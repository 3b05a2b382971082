//! The ideal allocator: every byte of every page holds object data.
//!
//! ```text
//!   objects:  [ 1234 ][ 567 ][ 3000 ][ 80 ] ...   (no headers, no gaps)
//!   pages:    |<-- 4096 -->|<-- 4096 -->|<- ..
//!   pages used = ceil(live bytes / 4096)
//! ```
//!
//! No real allocator can do better, so it is the yardstick of the tables.
//! It keeps the objects in heap boxes (so reads and writes work like any
//! other allocator's) but charges only the pages above and no metadata.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::object_allocator::{copy_into_object, copy_out_of_object, ObjectAllocator, ObjectId};
use crate::PAGE_SIZE;

/// The yardstick: `ceil(live bytes / 4096)` pages.
#[derive(Debug, Default)]
pub struct IdealAllocator {
    objects: Vec<Option<Box<[u8]>>>,
    free_ids: Vec<usize>,
    live_bytes: usize,
}

impl IdealAllocator {
    /// An empty allocator.
    pub fn new() -> IdealAllocator {
        IdealAllocator::default()
    }

    fn object(&mut self, id: ObjectId) -> &mut [u8] {
        let object = self.objects.get_mut(id.0 as usize).and_then(Option::as_mut);
        object.unwrap_or_else(|| panic!("{id:?} is not a live object"))
    }
}

/// Pages needed to hold `bytes` bytes with no waste at all.
pub fn ideal_pages(bytes: usize) -> usize {
    bytes.div_ceil(PAGE_SIZE)
}

impl ObjectAllocator for IdealAllocator {
    fn name(&self) -> String {
        String::from("ideal")
    }

    fn malloc(&mut self, size: usize) -> Option<ObjectId> {
        if size == 0 || size > PAGE_SIZE {
            return None;
        }
        self.live_bytes += size;
        let object = Some(vec![0; size].into_boxed_slice());
        match self.free_ids.pop() {
            Some(index) => {
                self.objects[index] = object;
                Some(ObjectId(index as u64))
            }
            None => {
                self.objects.push(object);
                Some(ObjectId(self.objects.len() as u64 - 1))
            }
        }
    }

    fn free(&mut self, id: ObjectId) {
        let index = id.0 as usize;
        let object = self.objects.get_mut(index).and_then(Option::take);
        let object = object.unwrap_or_else(|| panic!("{id:?} is not a live object"));
        self.live_bytes -= object.len();
        self.free_ids.push(index);
    }

    fn write(&mut self, id: ObjectId, data: &[u8]) {
        copy_into_object(self.object(id), data);
    }

    fn read(&mut self, id: ObjectId, buffer: &mut [u8]) {
        copy_out_of_object(self.object(id), buffer);
    }

    fn data_pages(&self) -> usize {
        ideal_pages(self.live_bytes)
    }

    fn metadata_bytes(&self) -> usize {
        0
    }

    fn compact(&mut self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_live_bytes_rounded_up() {
        let mut ideal = IdealAllocator::new();
        let a = ideal.malloc(4000).unwrap();
        assert_eq!(ideal.data_pages(), 1);
        let b = ideal.malloc(97).unwrap();
        assert_eq!(ideal.data_pages(), 2);
        ideal.write(b, &[9; 97]);
        let mut back = [0; 97];
        ideal.read(b, &mut back);
        assert_eq!(back, [9; 97]);
        ideal.free(a);
        assert_eq!(ideal.data_pages(), 1);
        ideal.free(b);
        assert_eq!(ideal.data_pages(), 0);
        assert_eq!(ideal.malloc(0), None);
        assert_eq!(ideal.malloc(PAGE_SIZE + 1), None);
    }
}
