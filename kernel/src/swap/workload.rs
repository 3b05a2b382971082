//! The swap workload, run on the demand-paged region (its definition, the
//! shuffle and the checksum are the `swap-workload` crate's, shared with the
//! host, which computes the same checksums on a plain copy):
//!
//! ```text
//!   load      region[k] = page k of the corpus, k = 0..N
//!   scan p    p = 1, 2, 3: visit every page in pass p's shuffled order,
//!             checksum += sum of its 512 words; k % 4 == p % 4: word 0 += p
//!   verify    region[k] == corpus page k, word 0 plus the p of its pass
//! ```
//!
//! The workload touches the region like any program touches its memory:
//! every access to a page that is not resident faults, and the fault handler
//! (`space.rs`) brings it in. Each phase prints its report (`report.rs`).

use super::report::{print_phase, PhaseReport};
use super::Budget;
use crate::compressed_ram::workload::Workload;
use crate::memory::PAGE_SIZE;
use crate::tsc;
use alloc::vec;
use swap_workload::WORDS_PER_PAGE;
use swap_workload::{expected_word_0, fill_order, page_sum, word, written_in_pass};

/// Run the workload over `workload`'s pages with `budget`, on a store with
/// the zsmalloc configuration chosen at boot. Returns the phases' reports;
/// the last one (verify) says whether every page verified. Each phase's
/// report is printed when `print` is set (the tests only check them).
pub fn run(workload: &Workload, budget: Budget, print: bool) -> [PhaseReport; 5] {
    let pages = workload.page_count();
    let limit = budget.pages(pages);
    super::create(pages, limit, crate::compressed_ram::new_store(pages));
    let reports = [
        phase("load", pages, print, |_| {
            load(workload);
            (None, None)
        }),
        scan(1, pages, print),
        scan(2, pages, print),
        scan(3, pages, print),
        phase("verify", pages, print, |_| (None, Some(verify(workload)))),
    ];
    super::destroy();
    reports
}

/// Run one phase: counters from zero, the work, the report.
fn phase(
    name: &'static str,
    pages: usize,
    print: bool,
    work: impl FnOnce(usize) -> (Option<u64>, Option<bool>),
) -> PhaseReport {
    super::with(|space| space.begin_phase(2 * pages + 64));
    let start = tsc::read();
    let (checksum, verified) = work(pages);
    let phase_cycles = tsc::read() - start;
    let report =
        super::with(|space| PhaseReport::collect(name, space, phase_cycles, checksum, verified));
    if print {
        print_phase(&report);
    }
    report
}

fn scan(pass: u64, pages: usize, print: bool) -> PhaseReport {
    let name = ["scan1", "scan2", "scan3"][pass as usize - 1];
    // The order is made before the phase's clock starts: it is the
    // workload's input, not its paging.
    let mut order = vec![0u32; pages];
    fill_order(pass, &mut order);
    phase(name, pages, print, |_| {
        (Some(scan_pass(pass, &order)), None)
    })
}

/// Copy every corpus page into its region page (each first touch faults:
/// demand-zero, and evictions once the budget is full).
fn load(workload: &Workload) {
    let mut buffer = [0u8; PAGE_SIZE];
    for page in 0..workload.page_count() {
        workload.page(page, &mut buffer);
        // SAFETY: the region's page `page` is ours to write; a fault maps it.
        unsafe {
            core::ptr::copy_nonoverlapping(
                buffer.as_ptr(),
                super::page_address(page).cast(),
                PAGE_SIZE,
            )
        };
    }
}

/// One scan pass in `order`; returns its checksum.
fn scan_pass(pass: u64, order: &[u32]) -> u64 {
    let mut checksum = 0u64;
    for &page in order {
        let page = page as usize;
        let address = super::page_address(page);
        // SAFETY: the region's pages are the workload's; a fault makes this
        // one resident before the first word is read, and nothing else
        // changes its contents while the reference lives.
        let words = unsafe { &*(address as *const [u64; WORDS_PER_PAGE]) };
        checksum = checksum.wrapping_add(page_sum(words));
        if written_in_pass(page, pass) {
            // SAFETY: as above; the page is resident (or faults back in).
            unsafe {
                let word_0 = u64::from_le(address.read());
                address.write(word_0.wrapping_add(pass).to_le());
            }
        }
    }
    checksum
}

/// Compare every region page with what the workload must have left there.
fn verify(workload: &Workload) -> bool {
    let mut expected = [0u8; PAGE_SIZE];
    let mut failed = 0usize;
    for page in 0..workload.page_count() {
        workload.page(page, &mut expected);
        let word_0 = expected_word_0(page, word(&expected, 0));
        expected[..8].copy_from_slice(&word_0.to_le_bytes());
        // SAFETY: the region's page, made resident by a fault if needed.
        let actual = unsafe { &*(super::page_address(page) as *const [u8; PAGE_SIZE]) };
        if *actual != expected {
            if failed < 8 {
                crate::error!("swap: page {} does not verify", page);
            }
            failed += 1;
        }
    }
    failed == 0
}
