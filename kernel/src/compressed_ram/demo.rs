//! The demo that `./run-qemu.sh` runs: fill a compressed store with a
//! workload, verify every page, churn it, compact it, verify again, and
//! report each phase.
//!
//! ```text
//!   fill     write page i to slot i for every page; read all back; compare
//!   churn    discard a pseudo-random quarter of the slots, overwrite another
//!            quarter with other pages; verify every slot (discarded = zeros)
//!   compact  compact the pool; verify every slot again
//! ```
//!
//! Each phase prints a readable report and one `ZRAM-REPORT {json}` line;
//! the screen (`crate::screen`) shows the pool as it fills and churns, and
//! each phase's end.
//! The demo's verdict is QEMU's exit code: success only if every page read
//! back equal to what was written.

use super::new_store;
use super::report::{print_phase, PhaseFigures};
use super::workload::{Random, Workload};
use crate::interrupts::atomic;
use crate::memory::zsmalloc_backend::KernelPages;
use crate::memory::PAGE_SIZE;
use crate::{screen, tsc};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use zram::CompressedStore;

/// What a slot should read as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expected {
    Empty,
    Page(usize),
}

struct Demo<'w> {
    workload: &'w Workload,
    store: CompressedStore<KernelPages>,
    expected: Vec<Expected>,
    page: [u8; PAGE_SIZE],
    reference: [u8; PAGE_SIZE],
}

/// Run the three phases; `true` if every page verified.
pub fn run(workload: &Workload) -> bool {
    let count = workload.page_count();
    crate::info!("demo: {} pages from the {}", count, workload.describe());
    crate::info!(
        "zsmalloc configuration: {} (boot option zsmalloc=packed|linux4|linux8)",
        super::chosen_configuration().0
    );
    let mut demo = Demo {
        workload,
        store: new_store(count),
        expected: vec![Expected::Empty; count],
        page: [0; PAGE_SIZE],
        reference: [0; PAGE_SIZE],
    };
    atomic::start_checking();
    let fill = demo.phase("fill", Demo::fill);
    let churn = demo.phase("churn", Demo::churn);
    let compact = demo.phase("compact", Demo::compact);
    crate::interrupts::on_tick(None);
    [fill, churn, compact]
        .iter()
        .all(|phase| phase.failed_pages == 0)
}

impl Demo<'_> {
    /// Run one phase, report it, and leave its end on the screen.
    fn phase(&mut self, name: &str, run: fn(&mut Self) -> PhaseFigures) -> PhaseFigures {
        // --- screen: the map follows the phase, its cost is reported ---
        let (cost_before, started) = (screen::cost(), tsc::read());
        screen::refresh(&format!("{name}: starting"), &self.store);
        let figures = run(self);
        screen::refresh(&format!("end of phase {name}"), &self.store);
        let cycles = tsc::read() - started;
        print_phase(name, &self.store, &figures);
        screen::print_cost(cost_before, cycles);
        screen::screenshot_point(name);
        figures
    }

    /// Redraw the screen every eighth of the slots during a phase.
    fn show_progress(&self, phase: &str, slot: usize) {
        let count = self.expected.len();
        if (slot + 1).is_multiple_of(count.div_ceil(8).max(1)) {
            let title = format!("{phase}: {} of {count} slots done", slot + 1);
            screen::refresh(&title, &self.store);
        }
    }

    fn write(&mut self, slot: usize, source: usize, figures: &mut PhaseFigures) {
        self.workload.page(source, &mut self.page);
        let start = tsc::read();
        let result = self.store.write(slot, &self.page);
        figures.write_cycles += tsc::read() - start;
        figures.pages += 1;
        match result {
            Ok(()) => self.expected[slot] = Expected::Page(source),
            Err(error) => {
                crate::warn!(
                    "write of page {} to slot {} failed: {}",
                    source,
                    slot,
                    error
                );
                figures.failed_writes += 1;
            }
        }
    }

    /// Read every slot back and compare it with what it should hold.
    fn verify_all(&mut self, figures: &mut PhaseFigures) {
        for slot in 0..self.expected.len() {
            let start = tsc::read();
            let result = self.store.read(slot, &mut self.page);
            figures.read_cycles += tsc::read() - start;
            figures.reads += 1;
            match self.expected[slot] {
                Expected::Empty => self.reference.fill(0),
                Expected::Page(source) => self.workload.page(source, &mut self.reference),
            }
            if result.is_ok() && self.page == self.reference {
                figures.verified_pages += 1;
            } else {
                figures.failed_pages += 1;
                crate::error!("slot {} did not verify ({:?})", slot, result.err());
            }
        }
    }

    fn fill(&mut self) -> PhaseFigures {
        let mut figures = PhaseFigures::start();
        for slot in 0..self.expected.len() {
            self.write(slot, slot, &mut figures);
            self.show_progress("fill", slot);
        }
        figures.fill_cycles = figures.write_cycles;
        self.verify_all(&mut figures);
        figures.finish()
    }

    fn churn(&mut self) -> PhaseFigures {
        let mut figures = PhaseFigures::start();
        let count = self.expected.len();
        let mut random = Random::new(0x5eed);
        for slot in 0..count {
            match random.next_u64() % 4 {
                0 => {
                    let start = tsc::read();
                    self.store.discard(slot).expect("the slot is in range");
                    figures.discard_cycles += tsc::read() - start;
                    self.expected[slot] = Expected::Empty;
                    figures.discards += 1;
                }
                1 => self.write(slot, count + slot, &mut figures),
                _ => {}
            }
            self.show_progress("churn", slot);
        }
        self.verify_all(&mut figures);
        figures.finish()
    }

    fn compact(&mut self) -> PhaseFigures {
        let mut figures = PhaseFigures::start();
        let start = tsc::read();
        figures.pages_freed_by_compaction = self.store.compact();
        figures.compact_cycles = tsc::read() - start;
        self.verify_all(&mut figures);
        figures.finish()
    }
}
