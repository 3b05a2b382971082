//! The screen: a live map of physical memory and of the pool, drawn on the
//! framebuffer the bootloader hands over (BIOS and UEFI alike).
//!
//! ```text
//!   ┌──────────────────────────────────────────────────────────────────┐
//!   │ header: title (phase or command), stored / compressed / pool     │
//!   │ pages, efficiency, compaction, kmap slots; the legends           │
//!   ├───────────────────────────────┬──────────────────────────────────┤
//!   │ frame grid: every frame of    │ pool map: one row per zspage,    │
//!   │ LOWMEM, then of HIGHMEM, one  │ objects coloured by size, unused │
//!   │ cell each, coloured by owner  │ bytes white, fullness gauge      │
//!   └───────────────────────────────┴──────────────────────────────────┘
//!   header.rs            frame_grid.rs + census.rs       pool_map.rs
//!                        (canvas.rs draws, palette.rs colours)
//! ```
//!
//! [`refresh`] redraws the header and the pool map from scratch and the
//! frame grid's changed cells; anything that changes the
//! store (the demo between batches of writes, a shell after each command)
//! calls it. It never runs inside a map window: it is called between the
//! store's operations, asserts that no atomic section is open, and the
//! walk of the pool is a section of its own, left out of the map-window
//! measurements ([`atomic::unmeasured`]). What drawing costs is counted
//! ([`cost`]).
//!
//! With the boot option `screenshot` (`./run-qemu.sh --screenshot DIR`),
//! [`screenshot_point`] prints `SCREEN-READY {json}` — the phase and where the
//! frame grid is — and waits for the host to answer one byte on the
//! serial line once it has saved the screen (at most
//! [`SCREENSHOT_WAIT_SECONDS`]; then it says so and goes on).

mod canvas;
pub mod census;
pub mod frame_grid;
mod header;
mod palette;
pub mod pool_map;

use crate::interrupts::atomic;
use crate::memory::zsmalloc_backend::KernelPages;
use crate::{println, tsc};
use alloc::vec::Vec;
use bootloader_api::info::FrameBuffer;
use canvas::{Canvas, LINE_HEIGHT};
use census::Census;
use frame_grid::GridGeometry;
use pool_map::PoolPicture;
use spin::Mutex;
use zram::CompressedStore;

/// How long [`screenshot_point`] waits for the host's screenshot.
pub const SCREENSHOT_WAIT_SECONDS: u64 = 60;

/// The screen and what it keeps between refreshes.
struct Screen {
    canvas: Canvas,
    census: Census,
    picture: PoolPicture,
    grid: GridGeometry,
    /// The owners the frame grid shows now.
    drawn: Vec<census::Owner>,
    cost: Cost,
}

static SCREEN: Mutex<Option<Screen>> = Mutex::new(None);

/// What drawing has cost so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Refreshes drawn.
    pub refreshes: u64,
    /// TSC cycles spent in them (census, walk and drawing).
    pub cycles: u64,
}

/// Take the bootloader's framebuffer (if it gave one) and clear it.
pub fn init(framebuffer: Option<FrameBuffer>) {
    let Some(framebuffer) = framebuffer else {
        return;
    };
    let mut canvas = Canvas::new(framebuffer);
    let (w, h) = (canvas.width(), canvas.height());
    canvas.fill(0, 0, w, h, palette::BACKGROUND);
    *SCREEN.lock() = Some(Screen {
        canvas,
        census: Census::new(),
        picture: PoolPicture::default(),
        grid: GridGeometry::default(),
        drawn: Vec::new(),
        cost: Cost::default(),
    });
}

/// Is there a screen to draw on?
pub fn available() -> bool {
    SCREEN.lock().is_some()
}

/// The cost of every refresh so far.
pub fn cost() -> Cost {
    SCREEN
        .lock()
        .as_ref()
        .map(|screen| screen.cost)
        .unwrap_or_default()
}

/// Redraw the map for `store`, under `title` (a phase, a command). Does
/// nothing without a screen.
pub fn refresh(title: &str, store: &CompressedStore<KernelPages>) {
    assert_eq!(
        atomic::depth(),
        0,
        "the screen is never drawn inside a map window"
    );
    let mut guard = SCREEN.lock();
    let Some(screen) = guard.as_mut() else {
        return;
    };
    let start = tsc::read();
    atomic::unmeasured(|| screen.picture.take(store.pool()));
    screen.census.take(&screen.picture.frames);
    let canvas = &mut screen.canvas;
    let (w, h) = (canvas.width(), canvas.height());
    let top = header::LINES * LINE_HEIGHT + 10;
    let left = w * 45 / 100;
    let body = h.saturating_sub(top + 2);
    if screen.drawn.len() != screen.census.owners.len() {
        canvas.fill(0, 0, w, h, palette::BACKGROUND);
    } else {
        // The grid redraws only its changed cells; the rest from scratch.
        canvas.fill(0, 0, w, top, palette::BACKGROUND);
        canvas.fill(left, top, w - left, h - top, palette::BACKGROUND);
    }
    header::draw(canvas, title, store, &screen.census);
    screen.grid = frame_grid::draw(
        canvas,
        &screen.census,
        &mut screen.drawn,
        4,
        top,
        left - 8,
        body,
    );
    screen
        .picture
        .draw(canvas, left + 4, top, w.saturating_sub(left + 8), body);
    screen.cost.refreshes += 1;
    screen.cost.cycles += tsc::read() - start;
}

/// With the boot option `screenshot`: announce that the screen shows the
/// end of `phase` and wait for the host to save it. Nothing otherwise.
pub fn screenshot_point(phase: &str) {
    if crate::boot_options::get("screenshot").is_none() {
        return;
    }
    let Some((grid, zspages, pages)) = SCREEN.lock().as_ref().map(|screen| {
        let pages = screen.picture.frames.len();
        (screen.grid, screen.picture.zspage_count(), pages)
    }) else {
        println!(
            "SCREEN-READY {{\"phase\":\"{}\",\"framebuffer\":false}}",
            phase
        );
        return;
    };
    while crate::console::try_read_byte().is_some() {}
    println!(
        "SCREEN-READY {{\"phase\":\"{}\",\"framebuffer\":true,\"cell\":{},\"grid_x\":{},\"grid_y\":{},\"grid_w\":{},\"grid_h\":{},\"zspages\":{},\"pool_pages\":{}}}",
        phase, grid.cell, grid.x, grid.y, grid.w, grid.h, zspages, pages
    );
    let deadline = tsc::read() + SCREENSHOT_WAIT_SECONDS * tsc::cycles_per_second();
    while crate::console::try_read_byte().is_none() {
        if tsc::read() > deadline {
            crate::warn!(
                "no screenshot taken within {} s after phase {}; going on",
                SCREENSHOT_WAIT_SECONDS,
                phase
            );
            return;
        }
        core::hint::spin_loop();
    }
}

/// One line on the serial console: what drawing cost since `before`
/// (a [`cost`] taken earlier), against the `cycles` of what it drew
/// (a phase, say). Nothing without a screen.
pub fn print_cost(before: Cost, cycles: u64) {
    if !available() {
        return;
    }
    let now = cost();
    let spent = now.cycles - before.cycles;
    println!(
        "  screen: {} refreshes, {} cycles drawing = {:.1}% of the phase's {} cycles",
        now.refreshes - before.refreshes,
        spent,
        spent as f64 * 100.0 / cycles.max(1) as f64,
        cycles
    );
}
