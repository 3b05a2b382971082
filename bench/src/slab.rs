//! A power-of-two slab allocator, like the kernel's `kmalloc` caches.
//!
//! Each size class 32, 64, 128, ..., 4096 bytes has its own cache. A cache
//! cuts *slabs* of `2^order` contiguous pages into equal objects of its size;
//! a request of `n` bytes goes to the smallest class that holds it:
//!
//! ```text
//!   kmalloc-128, order 0 (one page per slab):
//!   +------+------+------+-- ... --+------+
//!   |  o0  |  o1  |  o2  |         | o31  |    32 objects of 128 B
//!   +------+------+------+-- ... --+------+
//!   a 100-byte object takes a 128-byte slot: 28 bytes are lost inside it
//! ```
//!
//! On average a power-of-two class wastes a quarter of each slot on objects
//! of random size. A cache keeps a list of its *partial* slabs (some slots
//! free) and allocates from the most recent one; a full slab is in no list;
//! an empty slab is given back at once (Linux's SLUB keeps a few; we free
//! them so that the page count is exactly what the objects need).
//!
//! Order 0 is what the efficiency tables use. A larger order gives fewer,
//! larger slabs of physically contiguous pages (the kernel variant).
//!
//! Accounting: this version keeps a record per slab (pointer, free-slot
//! stack of 2 bytes and an allocated bit per slot, list position), counted as
//! metadata. SLUB keeps the free list inside the free objects and the
//! record in `struct page`.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::object_allocator::{copy_into_object, copy_out_of_object, ObjectAllocator, ObjectId};
use crate::PAGE_SIZE;

/// The object sizes of the caches.
pub const SIZE_CLASSES: [usize; 8] = [32, 64, 128, 256, 512, 1024, 2048, 4096];
/// Largest slab order accepted (2^9 pages of 32-byte slots still number them in 16 bits).
pub const MAX_ORDER: u32 = 9;

/// One slab: `2^order` pages cut into slots.
struct Slab {
    bytes: Box<[u8]>,
    /// Slots not in use (a stack: the last freed is reused first).
    free_slots: Vec<u16>,
    /// One bit per slot, set while it is allocated (catches double frees).
    allocated: Vec<u64>,
    /// Position in the cache's partial list while some slot is free.
    partial_position: Option<u32>,
}

/// All slabs of one size class.
struct Cache {
    object_size: usize,
    slots_per_slab: usize,
    /// Slab records by slab number; `None` for a number free to be reused.
    slabs: Vec<Option<Slab>>,
    free_slab_numbers: Vec<usize>,
    /// Slabs with at least one free slot.
    partial: Vec<usize>,
}

impl Cache {
    fn new(object_size: usize, slab_bytes: usize) -> Cache {
        Cache {
            object_size,
            slots_per_slab: slab_bytes / object_size,
            slabs: Vec::new(),
            free_slab_numbers: Vec::new(),
            partial: Vec::new(),
        }
    }

    fn slab(&mut self, number: usize) -> &mut Slab {
        let slab = self.slabs.get_mut(number).and_then(Option::as_mut);
        slab.unwrap_or_else(|| {
            panic!(
                "slab {number} of kmalloc-{} is not allocated",
                self.object_size
            )
        })
    }

    fn new_slab(&mut self) -> usize {
        let slab = Some(Slab {
            bytes: vec![0; self.slots_per_slab * self.object_size].into_boxed_slice(),
            // Reversed, so that slot 0 is handed out first.
            free_slots: (0..self.slots_per_slab as u16).rev().collect(),
            allocated: vec![0; self.slots_per_slab.div_ceil(64)],
            partial_position: None,
        });
        let number = match self.free_slab_numbers.pop() {
            Some(number) => {
                self.slabs[number] = slab;
                number
            }
            None => {
                self.slabs.push(slab);
                self.slabs.len() - 1
            }
        };
        self.add_partial(number);
        number
    }

    fn add_partial(&mut self, number: usize) {
        self.partial.push(number);
        let position = self.partial.len() as u32 - 1;
        self.slab(number).partial_position = Some(position);
    }

    fn remove_partial(&mut self, number: usize) {
        let position = self.slab(number).partial_position.take();
        let position = position.expect("the slab is partial") as usize;
        self.partial.swap_remove(position);
        if let Some(&moved) = self.partial.get(position) {
            self.slab(moved).partial_position = Some(position as u32);
        }
    }

    /// Allocate a slot; returns (slab number, slot) and whether a slab was added.
    fn allocate(&mut self) -> (usize, usize, bool) {
        let (number, added) = match self.partial.last() {
            Some(&number) => (number, false),
            None => (self.new_slab(), true),
        };
        let slab = self.slab(number);
        let slot = slab
            .free_slots
            .pop()
            .expect("a partial slab has a free slot");
        slab.allocated[usize::from(slot) / 64] |= 1 << (slot % 64);
        if slab.free_slots.is_empty() {
            self.remove_partial(number);
        }
        (number, usize::from(slot), added)
    }

    /// Free a slot; returns whether its slab was given back.
    fn free(&mut self, number: usize, slot: usize) -> bool {
        let slots_per_slab = self.slots_per_slab;
        self.check_live(number, slot);
        let slab = self.slab(number);
        slab.allocated[slot / 64] &= !(1 << (slot % 64));
        slab.free_slots.push(slot as u16);
        let was_full = slab.free_slots.len() == 1;
        let now_empty = slab.free_slots.len() == slots_per_slab;
        if was_full {
            self.add_partial(number);
        }
        if now_empty {
            self.remove_partial(number);
            self.slabs[number] = None;
            self.free_slab_numbers.push(number);
        }
        now_empty
    }

    fn check_live(&mut self, number: usize, slot: usize) {
        let slots_per_slab = self.slots_per_slab;
        let slab = self.slab(number);
        let live = slot < slots_per_slab && slab.allocated[slot / 64] & (1 << (slot % 64)) != 0;
        assert!(live, "slot {slot} of slab {number} is not live");
    }

    fn object(&mut self, number: usize, slot: usize) -> &mut [u8] {
        self.check_live(number, slot);
        let size = self.object_size;
        &mut self.slab(number).bytes[slot * size..(slot + 1) * size]
    }

    fn metadata_bytes(&self) -> usize {
        let live_slabs = self.slabs.iter().flatten();
        let free_slots: usize = live_slabs
            .map(|slab| slab.free_slots.capacity() * 2 + slab.allocated.capacity() * 8)
            .sum();
        self.slabs.capacity() * core::mem::size_of::<Option<Slab>>()
            + (self.free_slab_numbers.capacity() + self.partial.capacity())
                * core::mem::size_of::<usize>()
            + free_slots
    }
}

/// kmalloc-style caches of power-of-two sizes. See the module documentation.
pub struct SlabAllocator {
    order: u32,
    caches: Vec<Cache>,
    live_pages: usize,
}

/// The cache for a request of `size` bytes (1..=4096).
fn class_for(size: usize) -> Option<usize> {
    if size == 0 {
        return None;
    }
    SIZE_CLASSES.iter().position(|&class| size <= class)
}

fn encode(class: usize, slab: usize, slot: usize) -> ObjectId {
    ObjectId(((class as u64) << 56) | ((slab as u64) << 16) | slot as u64)
}

fn decode(id: ObjectId) -> (usize, usize, usize) {
    let class = (id.0 >> 56) as usize;
    let slab = ((id.0 >> 16) & ((1 << 40) - 1)) as usize;
    let slot = (id.0 & 0xFFFF) as usize;
    (class, slab, slot)
}

impl SlabAllocator {
    /// Caches whose slabs are `2^order` pages.
    ///
    /// # Panics
    /// If `order > MAX_ORDER`.
    pub fn new(order: u32) -> SlabAllocator {
        assert!(
            order <= MAX_ORDER,
            "slab order {order} is above {MAX_ORDER}"
        );
        let slab_bytes = PAGE_SIZE << order;
        SlabAllocator {
            order,
            caches: SIZE_CLASSES
                .iter()
                .map(|&size| Cache::new(size, slab_bytes))
                .collect(),
            live_pages: 0,
        }
    }

    /// Pages per slab.
    pub fn pages_per_slab(&self) -> usize {
        1 << self.order
    }

    fn object(&mut self, id: ObjectId) -> &mut [u8] {
        let (class, slab, slot) = decode(id);
        let cache = self
            .caches
            .get_mut(class)
            .unwrap_or_else(|| panic!("{id:?} is not a slab object"));
        cache.object(slab, slot)
    }
}

impl ObjectAllocator for SlabAllocator {
    fn name(&self) -> String {
        match self.order {
            0 => String::from("slab (power of 2)"),
            order => format!("slab (power of 2, order {order})"),
        }
    }

    fn malloc(&mut self, size: usize) -> Option<ObjectId> {
        let class = class_for(size)?;
        let (slab, slot, added) = self.caches[class].allocate();
        if added {
            self.live_pages += self.pages_per_slab();
        }
        Some(encode(class, slab, slot))
    }

    fn free(&mut self, id: ObjectId) {
        let (class, slab, slot) = decode(id);
        let cache = self
            .caches
            .get_mut(class)
            .unwrap_or_else(|| panic!("{id:?} is not a slab object"));
        if cache.free(slab, slot) {
            self.live_pages -= self.pages_per_slab();
        }
    }

    fn write(&mut self, id: ObjectId, data: &[u8]) {
        copy_into_object(self.object(id), data);
    }

    fn read(&mut self, id: ObjectId, buffer: &mut [u8]) {
        copy_out_of_object(self.object(id), buffer);
    }

    fn data_pages(&self) -> usize {
        self.live_pages
    }

    fn metadata_bytes(&self) -> usize {
        let caches: usize = self.caches.iter().map(Cache::metadata_bytes).sum();
        caches + self.caches.capacity() * core::mem::size_of::<Cache>()
    }

    fn compact(&mut self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_a_power_of_two() {
        assert_eq!(class_for(1), Some(0));
        assert_eq!(class_for(32), Some(0));
        assert_eq!(class_for(33), Some(1));
        assert_eq!(class_for(100), Some(2));
        assert_eq!(class_for(4096), Some(7));
        assert_eq!(class_for(4097), None);
        assert_eq!(class_for(0), None);
    }

    #[test]
    fn a_page_holds_32_objects_of_128_bytes() {
        let mut slab = SlabAllocator::new(0);
        let ids: Vec<ObjectId> = (0..32).map(|_| slab.malloc(100).unwrap()).collect();
        assert_eq!(slab.data_pages(), 1);
        let extra = slab.malloc(128).unwrap();
        assert_eq!(slab.data_pages(), 2);
        for (index, &id) in ids.iter().enumerate() {
            slab.write(id, &[index as u8; 128]);
        }
        for (index, &id) in ids.iter().enumerate() {
            let mut back = [0; 128];
            slab.read(id, &mut back);
            assert_eq!(back, [index as u8; 128]);
        }
        slab.free(extra);
        assert_eq!(slab.data_pages(), 1, "an empty slab is given back");
        for id in ids {
            slab.free(id);
        }
        assert_eq!(slab.data_pages(), 0);
    }

    #[test]
    fn a_freed_slot_is_reused_before_a_new_slab() {
        let mut slab = SlabAllocator::new(0);
        let ids: Vec<ObjectId> = (0..2).map(|_| slab.malloc(2048).unwrap()).collect();
        slab.free(ids[0]);
        assert_eq!(slab.malloc(2000), Some(ids[0]));
        assert_eq!(slab.data_pages(), 1);
    }

    #[test]
    fn larger_orders_make_larger_slabs() {
        let mut slab = SlabAllocator::new(2);
        let ids: Vec<ObjectId> = (0..5).map(|_| slab.malloc(4096).unwrap()).collect();
        assert_eq!(slab.data_pages(), 8, "two slabs of four pages");
        slab.write(ids[4], &[5; 4096]);
        let mut back = [0; 4096];
        slab.read(ids[4], &mut back);
        assert_eq!(back, [5; 4096]);
        slab.free(ids[4]);
        assert_eq!(slab.data_pages(), 4);
        assert_eq!(slab.name(), "slab (power of 2, order 2)");
    }

    #[test]
    fn bad_sizes_are_refused() {
        let mut slab = SlabAllocator::new(0);
        assert_eq!(slab.malloc(0), None);
        assert_eq!(slab.malloc(PAGE_SIZE + 1), None);
        assert_eq!(slab.data_pages(), 0);
    }

    #[test]
    #[should_panic(expected = "not live")]
    fn a_double_free_is_caught() {
        let mut slab = SlabAllocator::new(0);
        let id = slab.malloc(64).unwrap();
        let _other = slab.malloc(64).unwrap();
        slab.free(id);
        slab.free(id);
    }
}
