//! The header: the phase, the store's key figures, kmap's slots and the
//! legend, as lines of text above the two maps.
//!
//! ```text
//!   zsmalloc-os pool map | fill: 1200 of 4200 slots done
//!   stored 1200 pages (4.6 MiB) · compressed 1503 KiB · pool 410 pages · efficiency 0.916 (0.895 with metadata) · ...
//!   kmap slots in use 0/16 (most 2) · zsmalloc frames 0 LOWMEM + 410 HIGHMEM · free ...
//!   ■ reserved ■ free ■ free block start ■ kernel ■ heap ■ page tables ■ ramdisk ■ zsmalloc
//! ```

use super::canvas::{Canvas, Rgb, CHAR_WIDTH, LINE_HEIGHT};
use super::census::{Census, Owner};
use super::palette::{self, BACKGROUND, DIM, SPANNING, TEXT, UNUSED};
use crate::memory::kmap::{self, KMAP_SLOTS};
use crate::memory::zsmalloc_backend::KernelPages;
use crate::memory::PAGE_SIZE;
use alloc::format;
use zram::CompressedStore;

/// Lines the header takes (legends included).
pub const LINES: usize = 5;

/// Draw the header at the top of the screen, `title` saying where the
/// caller is (a phase, a command).
pub fn draw(
    canvas: &mut Canvas,
    title: &str,
    store: &CompressedStore<KernelPages>,
    census: &Census,
) {
    let mm = store.statistics().mm_stat;
    let metadata_bytes = store.pool().stats().metadata_bytes as u64;
    let pool_pages = mm.mem_used_total / PAGE_SIZE as u64;
    let (low, high) = store.pool().backend().frames_in_use();
    let kmaps = kmap::statistics();
    let counts = census.counts();
    let free = counts[Owner::Free as usize] + counts[Owner::FreeBlockStart as usize];
    let lines = [
        format!("zsmalloc-os pool map | {}", title),
        format!(
            "stored {} pages ({} KiB) | compressed {} KiB | pool {} pages | efficiency {:.3} ({:.3} with metadata) | ratio {:.2} | compacted {} pages",
            mm.orig_data_size / PAGE_SIZE as u64,
            mm.orig_data_size >> 10,
            mm.compr_data_size >> 10,
            pool_pages,
            mm.allocator_efficiency(),
            mm.allocator_efficiency_with_metadata(metadata_bytes),
            mm.compression_ratio(),
            mm.pages_compacted
        ),
        format!(
            "kmap slots in use {}/{} (most {}) | zsmalloc frames {} LOWMEM + {} HIGHMEM | {} frames free",
            kmaps.slots_in_use, KMAP_SLOTS, kmaps.slot_high_water, low, high, free
        ),
    ];
    let mut y = 2;
    for (index, line) in lines.iter().enumerate() {
        let colour = if index == 0 { TEXT } else { DIM };
        canvas.text(4, y, line, colour, BACKGROUND);
        y += LINE_HEIGHT;
    }
    let mut x = canvas.text(4, y, "frames: ", DIM, BACKGROUND);
    for owner in Owner::ALL {
        x = swatch(canvas, x, y, palette::owner_colour(owner), owner.name());
    }
    y += LINE_HEIGHT;
    x = canvas.text(4, y, "zspages: objects by size ", DIM, BACKGROUND);
    for size in [32, 1024, 2048, 3072, 4096] {
        canvas.fill(
            x,
            y + 4,
            CHAR_WIDTH,
            LINE_HEIGHT - 8,
            palette::object_colour(size),
        );
        x += CHAR_WIDTH;
    }
    x = canvas.text(x + 2, y, "32 B..4 KiB ", DIM, BACKGROUND);
    x = swatch(canvas, x, y, UNUSED, "unused");
    x = swatch(canvas, x, y, SPANNING, "top edge: spans two pages");
    canvas.fill(x, y + 3, 3, LINE_HEIGHT - 6, palette::fullness_colour(0, 1));
    canvas.fill(
        x + 3,
        y + 3,
        3,
        LINE_HEIGHT - 6,
        palette::fullness_colour(1, 1),
    );
    canvas.text(x + 8, y, "fullness", DIM, BACKGROUND);
}

/// A small square of `colour` with a 1-pixel frame of text colour, then
/// `name`; returns the x after it. (The frame keeps the legend's squares
/// from being counted as frames of the grid.)
fn swatch(canvas: &mut Canvas, x: usize, y: usize, colour: Rgb, name: &str) -> usize {
    let side = LINE_HEIGHT - 6;
    canvas.outline(x, y + 3, side, side, DIM);
    canvas.fill(x + 1, y + 4, side - 2, side - 2, colour);
    let x = canvas.text(x + side + 3, y, name, DIM, BACKGROUND);
    x + CHAR_WIDTH
}
