//! `cargo run -p zsmalloc --example zspages`
//!
//! A picture of real zspages: 60 objects of 200 bytes (class 208 with
//! Linux's layout), then the same objects in the packed layout, walked with
//! `Pool::walk` and printed zspage by zspage, with the objects that span a
//! page boundary.
//!
//! ```text
//!   zspage 0: 3 pages, 59 objects, 16 bytes unused at the end
//!     object 19 at 3952..4160 spans pages 0 and 1
//! ```

use zsmalloc::testing::HeapBackend;
use zsmalloc::{Config, ObjectView, Pool, PoolVisitor, ZspageView, PAGE_SIZE};

/// Objects stored, and their payload size.
const OBJECTS: usize = 60;
const PAYLOAD: usize = 200;

/// What one zspage holds, as the walk reports it.
struct Zspage {
    pages: usize,
    objects: Vec<ObjectView>,
}

#[derive(Default)]
struct Picture {
    zspages: Vec<Zspage>,
}

impl<P> PoolVisitor<P> for Picture {
    fn zspage(&mut self, zspage: &ZspageView<'_, P>) {
        self.zspages.push(Zspage {
            pages: zspage.pages.len(),
            objects: Vec::new(),
        });
    }

    fn object(&mut self, object: &ObjectView) {
        if let Some(zspage) = self.zspages.last_mut() {
            zspage.objects.push(*object);
        }
    }
}

fn show(label: &str, config: Config) {
    let pool = Pool::with_config("zspages", HeapBackend::new(), config).expect("valid config");
    let handles: Vec<_> = (0..OBJECTS)
        .map(|_| pool.malloc(PAYLOAD).expect("the heap has pages"))
        .collect();
    let mut picture = Picture::default();
    pool.walk(&mut picture);
    println!(
        "{label}: {OBJECTS} objects of {PAYLOAD} bytes in {} pages",
        pool.total_pages()
    );
    for (index, zspage) in picture.zspages.iter().enumerate() {
        let mut objects = zspage.objects.clone();
        objects.sort_by_key(|object| object.offset);
        let end = objects
            .last()
            .map_or(0, |object| object.offset + object.size);
        println!(
            "  zspage {index}: {} pages, {} object{} of {} bytes, {} bytes unused at the end",
            zspage.pages,
            objects.len(),
            if objects.len() == 1 { "" } else { "s" },
            objects.first().map_or(0, |object| object.size),
            zspage.pages * PAGE_SIZE - end
        );
        for (position, object) in objects.iter().enumerate() {
            let first = object.offset / PAGE_SIZE;
            let last = (object.offset + object.size - 1) / PAGE_SIZE;
            if first != last {
                println!(
                    "    object {position} at bytes {}..{} spans pages {first} and {last}",
                    object.offset,
                    object.offset + object.size
                );
            }
        }
    }
    for handle in handles {
        pool.free(handle);
    }
    println!("  after freeing every object: {} pages", pool.total_pages());
}

fn main() {
    show("Linux's layout, chain 4", Config::linux(4));
    show("packed layout", Config::packed());
}
