//! The pool map: one row per zspage, drawn from the pool's walk.
//!
//! ```text
//!   gauge  page 0              page 1              page 2
//!   ▮      [obj][obj][obj ][ob|j][obj]...[obj]      [  unused tail  ]
//!   │       ▲ colour = bytes occupied (a darker first column where there is room)
//!   │                                      ▲ red top edge: spans two pages
//!   └ fullness: red (empty) … green (full)       white: holes and the tail
//! ```
//!
//! Rows are as long as their zspages (the longest zspage fills a column);
//! thin lines in the background colour mark page boundaries. When the rows
//! do not fit one column they flow into up to four; when they do not fit
//! those either, the last line says how many are not shown.
//!
//! The walk ([`zsmalloc::Pool::walk`]) runs with the pool's locks held, so
//! the visitor only copies what it is shown; drawing comes after.

use super::canvas::{Canvas, LINE_HEIGHT};
use super::palette::{self, BACKGROUND, DIM, SPANNING, UNUSED};
use crate::memory::frame::Frame;
use crate::memory::zsmalloc_backend::KernelPages;
use alloc::format;
use alloc::vec::Vec;
use zsmalloc::{ObjectView, Pool, PoolVisitor, ZspageView, PAGE_SIZE};

/// One zspage, as the picture keeps it.
#[derive(Clone, Copy)]
struct Zspage {
    pages: usize,
    first_object: usize,
    objects: usize,
    occupied: usize,
}

/// One object: its offset in its zspage and the bytes it occupies.
#[derive(Clone, Copy)]
struct Object {
    offset: usize,
    size: usize,
}

/// What the walk showed: zspages, their objects and their frames.
#[derive(Default)]
pub struct PoolPicture {
    zspages: Vec<Zspage>,
    objects: Vec<Object>,
    /// Every page of every zspage.
    pub frames: Vec<Frame>,
}

impl PoolVisitor<Frame> for PoolPicture {
    fn zspage(&mut self, zspage: &ZspageView<'_, Frame>) {
        self.frames.extend_from_slice(zspage.pages);
        self.zspages.push(Zspage {
            pages: zspage.pages.len(),
            first_object: self.objects.len(),
            objects: 0,
            occupied: 0,
        });
    }

    fn object(&mut self, object: &ObjectView) {
        if let Some(zspage) = self.zspages.last_mut() {
            zspage.objects += 1;
            zspage.occupied += object.size;
            self.objects.push(Object {
                offset: object.offset,
                size: object.size,
            });
        }
    }
}

impl PoolPicture {
    /// Walk `pool` into the picture (its previous contents are dropped;
    /// their room is kept, so later walks rarely allocate).
    pub fn take(&mut self, pool: &Pool<KernelPages>) {
        self.zspages.clear();
        self.objects.clear();
        self.frames.clear();
        pool.walk(self);
    }

    /// How many zspages the walk showed.
    pub fn zspage_count(&self) -> usize {
        self.zspages.len()
    }

    /// Draw the rows in the rectangle `w` × `h` at (`x`, `y`).
    pub fn draw(&self, canvas: &mut Canvas, x: usize, y: usize, w: usize, h: usize) {
        let count = self.zspages.len();
        let title = format!(
            "pool: {} zspages, {} pages, {} objects",
            count,
            self.frames.len(),
            self.objects.len()
        );
        canvas.text(x, y, &title, DIM, BACKGROUND);
        let (y, h) = (y + LINE_HEIGHT + 2, h.saturating_sub(LINE_HEIGHT + 2));
        let Some(grid) = RowGrid::choose(count, w, h) else {
            return;
        };
        let longest = self.zspages.iter().map(|z| z.pages).max().unwrap_or(1);
        let scale = Scale {
            bytes: longest * PAGE_SIZE,
            pixels: grid.column_width.saturating_sub(GAUGE + 2).max(1),
        };
        let shown = count.min(grid.rows * grid.columns);
        for (index, zspage) in self.zspages[..shown].iter().enumerate() {
            let column = index / grid.rows;
            let row_x = x + column * (grid.column_width + COLUMN_GAP);
            let row_y = y + (index % grid.rows) * grid.row_pitch;
            self.draw_row(canvas, zspage, row_x, row_y, grid.row_height, &scale);
        }
        if shown < count {
            let note = format!("(+{} zspages not shown)", count - shown);
            canvas.text(x, y + h.saturating_sub(LINE_HEIGHT), &note, DIM, BACKGROUND);
        }
    }

    fn draw_row(
        &self,
        canvas: &mut Canvas,
        zspage: &Zspage,
        x: usize,
        y: usize,
        height: usize,
        scale: &Scale,
    ) {
        let capacity = zspage.pages * PAGE_SIZE;
        let gauge = palette::fullness_colour(zspage.occupied, capacity);
        canvas.fill(x, y, GAUGE, height, gauge);
        let x = x + GAUGE + 2;
        canvas.fill(x, y, scale.at(capacity), height, UNUSED);
        let objects = &self.objects[zspage.first_object..zspage.first_object + zspage.objects];
        for object in objects {
            let start = scale.at(object.offset);
            let end = scale.at(object.offset + object.size).max(start + 1);
            canvas.fill(
                x + start,
                y,
                end - start,
                height,
                palette::object_colour(object.size),
            );
            if end - start >= 3 {
                canvas.fill(x + start, y, 1, height, palette::object_edge(object.size));
            }
            let last = object.offset + object.size - 1;
            if object.offset / PAGE_SIZE != last / PAGE_SIZE {
                canvas.fill(x + start, y, end - start, 1, SPANNING);
            }
        }
        for page in 1..zspage.pages {
            canvas.fill(x + scale.at(page * PAGE_SIZE), y, 1, height, BACKGROUND);
        }
    }
}

/// The width of a row's fullness gauge, in pixels.
const GAUGE: usize = 4;
/// Pixels between two columns of rows.
const COLUMN_GAP: usize = 8;

/// Bytes to pixels along a row.
struct Scale {
    bytes: usize,
    pixels: usize,
}

impl Scale {
    fn at(&self, offset: usize) -> usize {
        offset * self.pixels / self.bytes
    }
}

/// How the rows are laid out: columns of rows of one height.
struct RowGrid {
    columns: usize,
    column_width: usize,
    rows: usize,
    row_height: usize,
    row_pitch: usize,
}

impl RowGrid {
    /// The tallest rows (up to 8 pixels) that fit `count` zspages into
    /// `w` × `h` in the fewest columns (up to four); when none does, one-pixel
    /// rows in four columns. `None` if the area is too small for any row.
    fn choose(count: usize, w: usize, h: usize) -> Option<RowGrid> {
        let grid = |columns: usize, pitch: usize| RowGrid {
            columns,
            column_width: (w + COLUMN_GAP) / columns - COLUMN_GAP,
            rows: (h / pitch).max(1),
            row_height: if pitch > 2 { pitch - 1 } else { pitch },
            row_pitch: pitch,
        };
        if h == 0 || w < 4 * (COLUMN_GAP + GAUGE + 8) {
            return None;
        }
        for columns in 1..=4 {
            for pitch in (2..=9).rev() {
                let rows = count.div_ceil(columns);
                if rows * pitch <= h {
                    return Some(grid(columns, pitch));
                }
            }
        }
        Some(grid(4, 1))
    }
}
