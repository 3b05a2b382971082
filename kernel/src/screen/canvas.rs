//! The canvas: the bootloader's framebuffer as rectangles and text.
//!
//! ```text
//!   (0,0) ──► x                       one pixel = bytes_per_pixel bytes
//!    │  ┌──────────────────────┐      a row     = stride pixels
//!    ▼  │ fill(x, y, w, h, c)  │      colours are RGB; the canvas writes
//!    y  │ text(x, y, "…", c)   │      them in the framebuffer's order
//!       └──────────────────────┘      (RGB, BGR or grey)
//! ```
//!
//! Text uses the pre-rasterised Noto Sans Mono of the `noto-sans-mono-bitmap`
//! crate (the font of the bootloader's own logger), 16 pixels high; each
//! glyph pixel is its intensity blended between background and colour.
//! Everything is clipped to the screen.

use bootloader_api::info::{FrameBuffer, FrameBufferInfo, PixelFormat};
use noto_sans_mono_bitmap::{get_raster, get_raster_width, FontWeight, RasterHeight};

/// A colour: red, green, blue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// The height of a line of text, in pixels.
pub const LINE_HEIGHT: usize = RasterHeight::Size16.val();
/// The width of one character, in pixels.
pub const CHAR_WIDTH: usize = get_raster_width(FontWeight::Regular, RasterHeight::Size16);

/// The framebuffer, drawn on.
pub struct Canvas {
    pixels: Pixels,
    info: FrameBufferInfo,
}

/// The framebuffer's memory: whole 32-bit pixels when they are 4 bytes
/// (QEMU's BIOS and UEFI modes: a row fills like memset), else bytes.
enum Pixels {
    Words(&'static mut [u32]),
    Bytes(&'static mut [u8]),
}

impl Canvas {
    /// The bootloader's framebuffer as a canvas.
    pub fn new(framebuffer: FrameBuffer) -> Canvas {
        let info = framebuffer.info();
        let buffer = framebuffer.into_buffer();
        let whole_words =
            (buffer.as_ptr() as usize).is_multiple_of(4) && buffer.len().is_multiple_of(4);
        let pixels = if info.bytes_per_pixel == 4 && whole_words {
            // SAFETY: every bit pattern is a valid u32; the buffer is 4-byte
            // aligned and a whole number of words, so the middle part is all
            // of it, borrowed for as long as the buffer.
            let (_, words, _) = unsafe { buffer.align_to_mut::<u32>() };
            Pixels::Words(words)
        } else {
            Pixels::Bytes(buffer)
        };
        Canvas { pixels, info }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.info.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.info.height
    }

    /// Fill the rectangle `w` × `h` at (`x`, `y`) with `colour`.
    pub fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, colour: Rgb) {
        let x_end = (x + w).min(self.info.width);
        let y_end = (y + h).min(self.info.height);
        if x >= x_end || y >= y_end {
            return;
        }
        let stride = self.info.stride;
        let mut pixel = [0u8; 8];
        let encoded = encode(&self.info, colour, &mut pixel);
        match &mut self.pixels {
            Pixels::Words(words) => {
                let word = u32::from_le_bytes([encoded[0], encoded[1], encoded[2], encoded[3]]);
                for row in y..y_end {
                    words[row * stride + x..row * stride + x_end].fill(word);
                }
            }
            Pixels::Bytes(bytes) => {
                // One pixel, doubled by copies to fill the first row, which
                // is then copied to the others (memcpy, fast under TCG).
                let size = self.info.bytes_per_pixel;
                let (start, length) = ((y * stride + x) * size, (x_end - x) * size);
                let first = &mut bytes[start..start + length];
                let pixel = size.min(8);
                first[..pixel].copy_from_slice(&encoded[..pixel]);
                let mut filled = size;
                while filled < length {
                    let more = filled.min(length - filled);
                    first.copy_within(0..more, filled);
                    filled += more;
                }
                for row in y + 1..y_end {
                    let (before, after) = bytes.split_at_mut(row * stride * size);
                    let target = (x * size)..(x * size + length);
                    after[target].copy_from_slice(&before[start..start + length]);
                }
            }
        }
    }

    /// A rectangle's outline, one pixel wide.
    pub fn outline(&mut self, x: usize, y: usize, w: usize, h: usize, colour: Rgb) {
        if w == 0 || h == 0 {
            return;
        }
        self.fill(x, y, w, 1, colour);
        self.fill(x, y + h - 1, w, 1, colour);
        self.fill(x, y, 1, h, colour);
        self.fill(x + w - 1, y, 1, h, colour);
    }

    /// Write `text` with its top-left corner at (`x`, `y`) on `background`
    /// (already drawn: pixels outside the glyphs are left alone); returns
    /// the x just after it. Characters the font lacks show as `?`.
    pub fn text(&mut self, x: usize, y: usize, text: &str, colour: Rgb, background: Rgb) -> usize {
        let mut x = x;
        for character in text.chars() {
            let glyph = get_raster(character, FontWeight::Regular, RasterHeight::Size16)
                .or_else(|| get_raster('?', FontWeight::Regular, RasterHeight::Size16))
                .expect("the font has '?'");
            for (row, intensities) in glyph.rows().enumerate() {
                for (column, &intensity) in intensities.iter().enumerate() {
                    if intensity == 0 {
                        continue;
                    }
                    let blended = blend(background, colour, intensity);
                    self.fill(x + column, y + row, 1, 1, blended);
                }
            }
            x += glyph.width();
        }
        x
    }
}

/// `colour` in the framebuffer's byte order, in `pixel`.
fn encode<'p>(info: &FrameBufferInfo, Rgb(r, g, b): Rgb, pixel: &'p mut [u8; 8]) -> &'p [u8] {
    match info.pixel_format {
        PixelFormat::Rgb => pixel[..3].copy_from_slice(&[r, g, b]),
        PixelFormat::Bgr => pixel[..3].copy_from_slice(&[b, g, r]),
        PixelFormat::U8 => pixel[0] = ((r as u16 * 3 + g as u16 * 6 + b as u16) / 10) as u8,
        PixelFormat::Unknown {
            red_position,
            green_position,
            blue_position,
        } => {
            let value = ((r as u64) << red_position)
                | ((g as u64) << green_position)
                | ((b as u64) << blue_position);
            pixel.copy_from_slice(&value.to_le_bytes());
        }
        _ => pixel[..3].copy_from_slice(&[b, g, r]),
    }
    &pixel[..]
}

/// `from` and `to` mixed by `amount` (0: `from`, 255: `to`).
fn blend(from: Rgb, to: Rgb, amount: u8) -> Rgb {
    let mix =
        |a: u8, b: u8| ((a as u32 * (255 - amount as u32) + b as u32 * amount as u32) / 255) as u8;
    Rgb(mix(from.0, to.0), mix(from.1, to.1), mix(from.2, to.2))
}
