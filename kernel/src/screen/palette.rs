//! The map's colours, one per meaning, chosen so that no two meanings share
//! a colour: a frame's owner can be read back from a screenshot's pixels
//! (the tests count zsmalloc's frames that way).
//!
//! ```text
//!   frames   reserved  free  free-block start  kernel  heap  page table  ramdisk  zsmalloc
//!   objects  small ──────────────────────────────────────────────► large (a page)
//!            cyan                                                    orange
//!   zspage   unused bytes (holes, tail): white   page boundary: background
//! ```

use super::canvas::Rgb;
use super::census::Owner;

/// The screen's background.
pub const BACKGROUND: Rgb = Rgb(16, 16, 24);
/// Text.
pub const TEXT: Rgb = Rgb(230, 230, 230);
/// Labels and secondary text.
pub const DIM: Rgb = Rgb(150, 150, 165);
/// Bytes of a zspage that no object occupies: holes and the unused tail.
pub const UNUSED: Rgb = Rgb(255, 255, 255);
/// The mark over an object that spans two pages.
pub const SPANNING: Rgb = Rgb(255, 0, 0);

/// The colour of a frame with `owner`.
pub const fn owner_colour(owner: Owner) -> Rgb {
    match owner {
        Owner::Reserved => Rgb(58, 58, 68),
        Owner::Free => Rgb(34, 84, 40),
        Owner::FreeBlockStart => Rgb(96, 176, 96),
        Owner::Kernel => Rgb(64, 104, 200),
        Owner::Heap => Rgb(120, 168, 248),
        Owner::PageTable => Rgb(236, 200, 56),
        Owner::Ramdisk => Rgb(150, 108, 68),
        Owner::Zsmalloc => Rgb(232, 60, 164),
    }
}

/// The colour of an object that occupies `size` bytes: cyan for the
/// smallest, orange for a whole page. (Blue falls as red rises, so no object
/// colour is a frame owner's.)
pub fn object_colour(size: usize) -> Rgb {
    let t = (size.min(4096) * 255 / 4096) as u32;
    let r = 40 + 200 * t / 255;
    let g = 200 - 110 * t / 255;
    let b = 220 - 200 * t / 255;
    Rgb(r as u8, g as u8, b as u8)
}

/// The first column of an object of `size` bytes: its colour, darker, so
/// that neighbouring objects of one size can be told apart.
pub fn object_edge(size: usize) -> Rgb {
    let Rgb(r, g, b) = object_colour(size);
    Rgb(r / 2, g / 2, b / 2)
}

/// The colour of a fullness gauge: red when empty, green when full.
pub fn fullness_colour(used: usize, capacity: usize) -> Rgb {
    let t = (used * 255 / capacity.max(1)).min(255) as u32;
    Rgb((220 - 180 * t / 255) as u8, (60 + 150 * t / 255) as u8, 50)
}
