//! The frame grid: every physical frame of both zones as one square cell,
//! coloured by its owner (see `census`), in physical order.
//!
//! ```text
//!   LOWMEM  0x0-0x2000000 (32 MiB, direct-mapped)
//!   ■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■     row = a multiple of 64 frames, so
//!   ■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■     aligned buddy blocks line up
//!   HIGHMEM 0x2000000-0x20000000 (480 MiB, kmap only)
//!   ■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■
//!   ...
//! ```
//!
//! A cell is `cell` × `cell` pixels, the largest size (up to 4) that fits
//! the area; cells touch, so a screenshot's pixels of one owner's colour
//! divided by `cell`² count that owner's frames.

use super::canvas::{Canvas, LINE_HEIGHT};
use super::census::{Census, Owner};
use super::palette::{self, BACKGROUND, DIM};
use crate::memory::PAGE_SIZE;
use alloc::format;
use alloc::vec::Vec;

/// Where the grid was drawn: the rectangle holding both zones (labels
/// included) and the cell size.
#[derive(Clone, Copy, Debug, Default)]
pub struct GridGeometry {
    /// Left edge.
    pub x: usize,
    /// Top edge.
    pub y: usize,
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    /// A cell's side in pixels.
    pub cell: usize,
}

/// Frames per row are a multiple of this (aligned blocks stay on a row).
const ROW_MULTIPLE: usize = 64;

/// Draw `census` in the rectangle `w` × `h` at (`x`, `y`), where `drawn`
/// (the owners drawn last time, kept by the caller) is: only cells whose
/// owner changed are drawn again, unless `drawn` is of another census
/// (empty, say): then everything is, on a cleared rectangle.
pub fn draw(
    canvas: &mut Canvas,
    census: &Census,
    drawn: &mut Vec<Owner>,
    x: usize,
    y: usize,
    w: usize,
    h: usize,
) -> GridGeometry {
    let low = (census.highmem_start - census.first) as usize;
    let high = census.owners.len() - low;
    let fits = |cell: usize| {
        let columns = columns(w, cell);
        let rows = low.div_ceil(columns) + high.div_ceil(columns);
        columns > 0 && rows * cell + 2 * (LINE_HEIGHT + 4) <= h
    };
    let cell = (1..=4).rev().find(|&cell| fits(cell)).unwrap_or(1);
    let columns = columns(w, cell).max(1);
    if drawn.len() == census.owners.len() {
        let top = y + LINE_HEIGHT + 4;
        let high_top = top + low.div_ceil(columns) * cell + LINE_HEIGHT + 4;
        for (index, (&owner, old)) in census.owners.iter().zip(drawn.iter_mut()).enumerate() {
            if owner != *old {
                *old = owner;
                let (first_row, index) = if index < low {
                    (top, index)
                } else {
                    (high_top, index - low)
                };
                let (row, column) = (index / columns, index % columns);
                canvas.fill(
                    x + column * cell,
                    first_row + row * cell,
                    cell,
                    cell,
                    palette::owner_colour(owner),
                );
            }
        }
        return geometry(
            x,
            y,
            h,
            columns,
            cell,
            high_top + high.div_ceil(columns) * cell,
        );
    }
    drawn.clear();
    drawn.extend_from_slice(&census.owners);
    let mut top = y;
    let zones = [
        ("LOWMEM", census.first, 0..low, "direct-mapped"),
        (
            "HIGHMEM",
            census.highmem_start,
            low..low + high,
            "kmap only",
        ),
    ];
    for (name, first, range, reach) in zones {
        let bytes = range.len() * PAGE_SIZE;
        let label = format!(
            "{} {:#x}-{:#x} ({} MiB, {})",
            name,
            first * PAGE_SIZE as u64,
            first * PAGE_SIZE as u64 + bytes as u64,
            bytes >> 20,
            reach
        );
        canvas.text(x, top, &label, DIM, BACKGROUND);
        top += LINE_HEIGHT + 4;
        // One fill per run of equal owners within a row.
        for (row, frames) in census.owners[range.clone()].chunks(columns).enumerate() {
            let mut start = 0;
            for end in 1..=frames.len() {
                if end == frames.len() || frames[end] != frames[start] {
                    let colour = palette::owner_colour(frames[start]);
                    let (left, width) = (x + start * cell, (end - start) * cell);
                    canvas.fill(left, top + row * cell, width, cell, colour);
                    start = end;
                }
            }
        }
        top += range.len().div_ceil(columns) * cell;
    }
    geometry(x, y, h, columns, cell, top)
}

/// The grid's rectangle, from (`x`, `y`) to the `bottom` of its last row.
fn geometry(
    x: usize,
    y: usize,
    h: usize,
    columns: usize,
    cell: usize,
    bottom: usize,
) -> GridGeometry {
    GridGeometry {
        x,
        y,
        w: columns * cell,
        h: bottom.min(y + h) - y,
        cell,
    }
}

/// Frames per row for cells of `cell` pixels in `w` pixels.
fn columns(w: usize, cell: usize) -> usize {
    let columns = w / cell;
    if columns >= ROW_MULTIPLE {
        columns / ROW_MULTIPLE * ROW_MULTIPLE
    } else {
        columns
    }
}
