//! zbud: at most two objects per page (after Linux's `mm/zbud.c`).
//!
//! A page is cut into 64 chunks of 64 bytes. Chunk 0 is the page's header;
//! the *first buddy* grows from the start, the *last buddy* from the end:
//!
//! ```text
//!    chunk 0   1 ...                                              ... 63
//!   +--------+--------------------+ - - - free - - - +------------------+
//!   | header | first buddy  ----> |                  | <----  last buddy |
//!   +--------+--------------------+ - - - - - - - - -+------------------+
//!             first_chunks × 64 B                      last_chunks × 64 B
//! ```
//!
//! A page holding one buddy sits in `unbuddied[n]`, where `n` is its number
//! of free chunks. An object of `c` chunks goes into the first page found in
//! `unbuddied[c]`, `unbuddied[c + 1]`, ... (first fit on the free space);
//! only if there is none is a new page taken. A page with two buddies is in
//! no list; a page with none is given back at once.
//!
//! Linux refuses objects above `4096 - 2 × 64 = 3968` bytes (`MAX_BUDDY_SIZE`
//! here); zswap then keeps such a page uncompressed. To store the same
//! workload as the other allocators, such an object takes a whole page of
//! its own, without header, as zsmalloc's huge class does.
//!
//! Simple, fast and predictable, but a page never holds more than two
//! objects: small objects waste most of their page (efficiency ≤ 2 × object / 4096).
//!
//! Accounting: the header chunk is inside the data pages, as in Linux. This
//! Rust version keeps its page records (page pointer, chunk counts, list
//! position) in a vector, which is counted as metadata; Linux keeps them in
//! that header chunk.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::object_allocator::{copy_into_object, copy_out_of_object, ObjectAllocator, ObjectId};
use crate::PAGE_SIZE;

/// Allocation unit inside a page.
pub const CHUNK_SIZE: usize = 64;
/// Chunks a page offers to its buddies (Linux's `NCHUNKS`: 64 minus the header).
pub const BUDDY_CHUNKS: usize = PAGE_SIZE / CHUNK_SIZE - 1;
/// Largest object stored as a buddy (Linux's limit); larger ones get a whole page.
pub const MAX_BUDDY_SIZE: usize = PAGE_SIZE - 2 * CHUNK_SIZE;

/// Which part of a page an object occupies (encoded in the low bits of its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Buddy {
    First = 0,
    Last = 1,
    /// An object too large to be a buddy: the whole page.
    Whole = 2,
}

/// The record of one page.
struct ZbudPage {
    bytes: Box<[u8; PAGE_SIZE]>,
    first_chunks: u8,
    last_chunks: u8,
    whole: bool,
    /// Position in `unbuddied[free_chunks]` while the page holds one buddy.
    list_position: Option<u32>,
}

impl ZbudPage {
    fn new(whole: bool) -> ZbudPage {
        ZbudPage {
            bytes: Box::new([0; PAGE_SIZE]),
            first_chunks: 0,
            last_chunks: 0,
            whole,
            list_position: None,
        }
    }

    fn free_chunks(&self) -> usize {
        BUDDY_CHUNKS - usize::from(self.first_chunks) - usize::from(self.last_chunks)
    }

    fn is_unbuddied(&self) -> bool {
        (self.first_chunks == 0) != (self.last_chunks == 0)
    }

    /// Byte range of a buddy inside the page.
    fn range(&self, buddy: Buddy) -> (usize, usize) {
        match buddy {
            Buddy::First => (CHUNK_SIZE, usize::from(self.first_chunks) * CHUNK_SIZE),
            Buddy::Last => {
                let length = usize::from(self.last_chunks) * CHUNK_SIZE;
                (PAGE_SIZE - length, length)
            }
            Buddy::Whole => (0, PAGE_SIZE),
        }
    }
}

/// A zbud pool. See the module documentation.
pub struct Zbud {
    /// Page records by page number; `None` for a number free to be reused.
    pages: Vec<Option<ZbudPage>>,
    free_page_numbers: Vec<usize>,
    /// `unbuddied[n]`: pages holding one buddy and `n` free chunks.
    unbuddied: Vec<Vec<usize>>,
    live_pages: usize,
}

impl Default for Zbud {
    fn default() -> Self {
        Zbud::new()
    }
}

/// Chunks needed for `size` bytes.
fn chunks_for(size: usize) -> usize {
    size.div_ceil(CHUNK_SIZE)
}

fn encode(page: usize, buddy: Buddy) -> ObjectId {
    ObjectId(((page as u64) << 2) | buddy as u64)
}

fn decode(id: ObjectId) -> (usize, Buddy) {
    let buddy = match id.0 & 3 {
        0 => Buddy::First,
        1 => Buddy::Last,
        2 => Buddy::Whole,
        _ => panic!("{id:?} is not a zbud object"),
    };
    ((id.0 >> 2) as usize, buddy)
}

impl Zbud {
    /// An empty pool.
    pub fn new() -> Zbud {
        Zbud {
            pages: Vec::new(),
            free_page_numbers: Vec::new(),
            unbuddied: (0..BUDDY_CHUNKS).map(|_| Vec::new()).collect(),
            live_pages: 0,
        }
    }

    fn page(&mut self, number: usize) -> &mut ZbudPage {
        let page = self.pages.get_mut(number).and_then(Option::as_mut);
        page.unwrap_or_else(|| panic!("zbud page {number} is not allocated"))
    }

    fn new_page(&mut self, whole: bool) -> usize {
        self.live_pages += 1;
        let page = Some(ZbudPage::new(whole));
        match self.free_page_numbers.pop() {
            Some(number) => {
                self.pages[number] = page;
                number
            }
            None => {
                self.pages.push(page);
                self.pages.len() - 1
            }
        }
    }

    fn release_page(&mut self, number: usize) {
        self.pages[number] = None;
        self.free_page_numbers.push(number);
        self.live_pages -= 1;
    }

    /// Put a page holding one buddy on the list of its free space.
    fn list(&mut self, number: usize) {
        let free = self.page(number).free_chunks();
        let list = &mut self.unbuddied[free];
        list.push(number);
        let position = list.len() - 1;
        self.page(number).list_position = Some(position as u32);
    }

    /// Take a page off its unbuddied list (if it is on one).
    fn unlist(&mut self, number: usize) {
        let page = self.page(number);
        let Some(position) = page.list_position.take() else {
            return;
        };
        let free = page.free_chunks();
        let list = &mut self.unbuddied[free];
        list.swap_remove(position as usize);
        if let Some(&moved) = list.get(position as usize) {
            self.page(moved).list_position = Some(position);
        }
    }

    /// First fit: a page with one buddy and at least `chunks` free chunks.
    fn find_unbuddied(&self, chunks: usize) -> Option<usize> {
        self.unbuddied[chunks..]
            .iter()
            .find_map(|list| list.last().copied())
    }

    fn malloc_buddy(&mut self, size: usize) -> ObjectId {
        let chunks = chunks_for(size);
        let number = match self.find_unbuddied(chunks) {
            Some(number) => {
                self.unlist(number);
                number
            }
            None => self.new_page(false),
        };
        let page = self.page(number);
        let buddy = if page.first_chunks == 0 {
            page.first_chunks = chunks as u8;
            Buddy::First
        } else {
            page.last_chunks = chunks as u8;
            Buddy::Last
        };
        if page.is_unbuddied() {
            self.list(number);
        }
        encode(number, buddy)
    }

    /// The bytes of a live object.
    fn object(&mut self, id: ObjectId) -> &mut [u8] {
        let (number, buddy) = self.live(id);
        let page = self.page(number);
        let (offset, length) = page.range(buddy);
        &mut page.bytes[offset..offset + length]
    }

    /// Page number and buddy of a live object; panics for any other id.
    fn live(&mut self, id: ObjectId) -> (usize, Buddy) {
        let (number, buddy) = decode(id);
        let page = self.page(number);
        let (_, length) = page.range(buddy);
        assert!(
            length > 0 && page.whole == (buddy == Buddy::Whole),
            "{id:?} is not live"
        );
        (number, buddy)
    }
}

impl ObjectAllocator for Zbud {
    fn name(&self) -> String {
        String::from("zbud (2 per page)")
    }

    fn malloc(&mut self, size: usize) -> Option<ObjectId> {
        match size {
            0 => None,
            1..=MAX_BUDDY_SIZE => Some(self.malloc_buddy(size)),
            _ if size <= PAGE_SIZE => Some(encode(self.new_page(true), Buddy::Whole)),
            _ => None,
        }
    }

    fn free(&mut self, id: ObjectId) {
        let (number, buddy) = self.live(id);
        if buddy == Buddy::Whole {
            self.release_page(number);
            return;
        }
        self.unlist(number);
        let page = self.page(number);
        match buddy {
            Buddy::First => page.first_chunks = 0,
            _ => page.last_chunks = 0,
        }
        if page.is_unbuddied() {
            self.list(number);
        } else {
            self.release_page(number);
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
        let lists: usize = self.unbuddied.iter().map(Vec::capacity).sum();
        self.pages.capacity() * core::mem::size_of::<Option<ZbudPage>>()
            + (self.free_page_numbers.capacity() + lists) * core::mem::size_of::<usize>()
            + self.unbuddied.capacity() * core::mem::size_of::<Vec<usize>>()
    }

    fn compact(&mut self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(zbud: &mut Zbud, id: ObjectId, length: usize, byte: u8) {
        let data = alloc::vec![byte; length];
        zbud.write(id, &data);
        let mut back = alloc::vec![0; length];
        zbud.read(id, &mut back);
        assert_eq!(back, data);
    }

    #[test]
    fn two_buddies_share_a_page_and_a_third_takes_another() {
        let mut zbud = Zbud::new();
        let first = zbud.malloc(1000).unwrap();
        let last = zbud.malloc(2000).unwrap();
        assert_eq!(zbud.data_pages(), 1);
        let third = zbud.malloc(100).unwrap();
        assert_eq!(zbud.data_pages(), 2);
        round_trip(&mut zbud, first, 1000, 1);
        round_trip(&mut zbud, last, 2000, 2);
        round_trip(&mut zbud, third, 100, 3);
        // The buddies do not overlap: the first one is intact.
        let mut back = [0; 1000];
        zbud.read(first, &mut back);
        assert_eq!(back, [1; 1000]);
    }

    #[test]
    fn objects_go_where_they_fit_first() {
        let mut zbud = Zbud::new();
        let _big = zbud.malloc(3000).unwrap(); // 47 chunks: 16 left
        let _small = zbud.malloc(1500).unwrap(); // 24 chunks: 39 left
        let _medium = zbud.malloc(2000).unwrap(); // 32 chunks: joins `small`
        assert_eq!(zbud.data_pages(), 2);
        let _tiny = zbud.malloc(1024).unwrap(); // 16 chunks: joins `big` exactly
        assert_eq!(zbud.data_pages(), 2);
        assert!(zbud.unbuddied.iter().all(Vec::is_empty));
    }

    #[test]
    fn freeing_both_buddies_gives_the_page_back() {
        let mut zbud = Zbud::new();
        let first = zbud.malloc(64).unwrap();
        let last = zbud.malloc(64).unwrap();
        zbud.free(first);
        assert_eq!(zbud.data_pages(), 1);
        let again = zbud.malloc(64).unwrap();
        assert_eq!(zbud.data_pages(), 1, "the free first buddy is reused");
        zbud.free(last);
        zbud.free(again);
        assert_eq!(zbud.data_pages(), 0);
    }

    #[test]
    fn large_objects_take_a_whole_page() {
        let mut zbud = Zbud::new();
        let largest_buddy = zbud.malloc(MAX_BUDDY_SIZE).unwrap();
        let whole = zbud.malloc(MAX_BUDDY_SIZE + 1).unwrap();
        let page = zbud.malloc(PAGE_SIZE).unwrap();
        assert_eq!(zbud.data_pages(), 3);
        round_trip(&mut zbud, page, PAGE_SIZE, 7);
        round_trip(&mut zbud, largest_buddy, MAX_BUDDY_SIZE, 8);
        let _small = zbud.malloc(64).unwrap(); // fits next to the largest buddy
        assert_eq!(zbud.data_pages(), 3);
        zbud.free(whole);
        zbud.free(page);
        assert_eq!(zbud.data_pages(), 1);
    }

    #[test]
    fn bad_sizes_are_refused() {
        let mut zbud = Zbud::new();
        assert_eq!(zbud.malloc(0), None);
        assert_eq!(zbud.malloc(PAGE_SIZE + 1), None);
        assert_eq!(zbud.data_pages(), 0);
    }

    #[test]
    #[should_panic(expected = "not live")]
    fn a_freed_object_cannot_be_read() {
        let mut zbud = Zbud::new();
        let first = zbud.malloc(100).unwrap();
        let _last = zbud.malloc(100).unwrap();
        zbud.free(first);
        zbud.read(first, &mut [0; 10]);
    }
}
