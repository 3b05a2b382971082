//! The screen agrees with the report: the demo runs with `--screenshot`,
//! and for each phase the PNG's frame grid holds exactly as many
//! zsmalloc-coloured cells as the phase's `ZRAM-REPORT` counts pool pages
//! (`mem_used_total / 4096`), with BIOS and with UEFI.
//!
//! ```text
//!   SCREEN-READY {"phase":"fill","cell":2,"grid_x":..,"grid_y":..,"grid_w":..,"grid_h":..,...}
//!   ZRAM-REPORT  {"phase":"fill",...,"mem_used_total":1679360,...}
//!   fill.png: pixels of zsmalloc's colour inside the grid = 410 × cell²
//! ```

use boot::image::DiskImage;
use boot::qemu::{self, Ending, Machine};
use boot::screenshot::Image;
use boot::{Firmware, Kernel};

/// zsmalloc's colour in the frame grid (kernel/src/screen/palette.rs).
const ZSMALLOC: [u8; 3] = [232, 60, 164];
/// A free frame's colour, and a free block's first frame's.
const FREE: [[u8; 3]; 2] = [[34, 84, 40], [96, 176, 96]];

/// The number after `"name":` in a JSON line.
fn field(line: &str, name: &str) -> Option<u64> {
    let rest = line.split(&format!("\"{name}\":")).nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The line starting with `prefix` that names `phase`.
fn line_of<'o>(output: &'o str, prefix: &str, phase: &str) -> Option<&'o str> {
    output
        .lines()
        .find(|line| line.starts_with(prefix) && line.contains(&format!("\"phase\":\"{phase}\"")))
}

/// Run the built-in demo with screenshots and compare each phase's picture
/// with its report.
pub fn agrees_with_the_report(
    firmware: Firmware,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let image =
        DiskImage::create(Kernel::Demo, firmware, None).map_err(|error| format!("{error:#}"))?;
    let directory = std::env::temp_dir().join(format!(
        "zsmalloc-os-screens-{}-{firmware:?}",
        std::process::id()
    ));
    let mut machine = Machine::new(firmware);
    machine.timeout = Some(timeout);
    machine.echo = false;
    machine.options.push("screenshot".into());
    machine.screenshots = Some(directory.clone());
    let outcome = qemu::run(&machine, &image).map_err(|error| format!("{error:#}"))?;
    let result = (|| {
        if outcome.ending != Ending::Success {
            return Err(format!(
                "the demo did not succeed: {}",
                outcome.ending.describe()
            ));
        }
        for phase in ["fill", "churn", "compact"] {
            let ready = line_of(&outcome.output, "SCREEN-READY ", phase)
                .ok_or(format!("no SCREEN-READY line for {phase}"))?;
            let report = line_of(&outcome.output, "ZRAM-REPORT ", phase)
                .ok_or(format!("no ZRAM-REPORT line for {phase}"))?;
            let get =
                |line: &str, name: &str| field(line, name).ok_or(format!("no {name} in {line}"));
            let pool_pages = get(report, "mem_used_total")? / 4096;
            let (cell, x, y, w, h) = (
                get(ready, "cell")? as usize,
                get(ready, "grid_x")? as usize,
                get(ready, "grid_y")? as usize,
                get(ready, "grid_w")? as usize,
                get(ready, "grid_h")? as usize,
            );
            let png = directory.join(format!("{phase}.png"));
            let picture =
                Image::read_png(&png).map_err(|error| format!("{}: {error:#}", png.display()))?;
            let zsmalloc = picture.count(ZSMALLOC, x, y, w, h);
            if zsmalloc != pool_pages as usize * cell * cell {
                return Err(format!(
                    "{phase}: {zsmalloc} zsmalloc pixels in the grid at cell size {cell}, \
                     the report says {pool_pages} pool pages ({} pixels)",
                    pool_pages as usize * cell * cell
                ));
            }
            let free: usize = FREE
                .iter()
                .map(|&colour| picture.count(colour, x, y, w, h))
                .sum();
            let free_in_report =
                get(report, "lowmem_free_frames")? + get(report, "highmem_free_frames")?;
            if free != free_in_report as usize * cell * cell {
                return Err(format!(
                    "{phase}: {free} free pixels at cell size {cell}, the report says {free_in_report} free frames"
                ));
            }
            if pool_pages == 0 {
                return Err(format!("{phase}: the pool is empty, nothing was compared"));
            }
            println!(
                "    {firmware:?} {phase}: {pool_pages} pool pages = zsmalloc cells; {free_in_report} free frames = free cells ({}x{} screen, cell {cell} px)",
                picture.width, picture.height
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&directory);
    result.map_err(|error| format!("{error}; output:\n{}", outcome.output))
}
