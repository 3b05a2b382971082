//! What a run needs, checked before QEMU starts: enough guest RAM, and a
//! time limit so that a run that stops making progress ends with a message.
//!
//! Guest RAM, as the machine fills it at boot:
//!
//! ```text
//!   0                                                          --memory
//!   [ firmware, bootloader, kernel, page tables, frame table, heap | ramdisk | pool ... ]
//!     \_______________ FIRMWARE_BASE_MIB ________________________/  corpus    ≤ corpus
//! ```
//!
//! The bootloader loads the corpus as a ramdisk (the kernel then moves the
//! part that landed in LOWMEM up to HIGHMEM, page by page), and the demo's pool
//! holds at most one page per corpus page (incompressible pages are stored
//! whole), so:
//!
//! ```text
//!   minimum guest RAM (MiB) = FIRMWARE_BASE_MIB[BIOS|UEFI] + 2 × corpus (MiB, rounded up)
//! ```
//!
//! The built-in workload is generated in the kernel (no ramdisk) and stores
//! at most 16 MiB, so it counts as half that corpus size. `--lowmem` does not
//! enter the formula: the kernel clamps LOWMEM to the top of RAM, and LOWMEM
//! and HIGHMEM frames both serve the pool. Measured on QEMU 7.2 (smallest RAM
//! at which a run verified every page): the built-in demo and the test kernel
//! boot at 29 MiB with BIOS and 56 MiB with UEFI; below that the bootloader
//! or the kernel runs out of frames at boot, and the bootloader then hangs.
//! The constants add a margin to those figures.
//!
//! The default time limit grows with the corpus: [`DEMO_TIMEOUT_BASE`] plus
//! [`DEMO_TIMEOUT_PER_MIB`] per MiB, about ten times what a run takes today.

use crate::{Firmware, Kernel};
use std::time::Duration;

/// Guest RAM (MiB) that firmware, bootloader and kernel need before any
/// corpus: measured 29 MiB (BIOS) and 56 MiB (UEFI), plus a margin.
pub const fn firmware_base_mib(firmware: Firmware) -> u64 {
    match firmware {
        Firmware::Bios => 32,
        Firmware::Uefi => 64,
    }
}

/// The built-in workload's pages stored at most (4096 pages of 4 KiB).
const BUILT_IN_WORKLOAD_MIB: u64 = 16;

/// The demo's time limit: this much, plus [`DEMO_TIMEOUT_PER_MIB`] per MiB.
pub const DEMO_TIMEOUT_BASE: Duration = Duration::from_secs(120);
/// The demo's time limit per MiB of corpus.
pub const DEMO_TIMEOUT_PER_MIB: Duration = Duration::from_secs(5);
/// The test kernel's time limit (the test harness's default too).
pub const TESTS_TIMEOUT: Duration = Duration::from_secs(600);

/// What a run loads and stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// A corpus, loaded as the ramdisk.
    Corpus {
        /// Its size in bytes.
        bytes: u64,
    },
    /// The demo's built-in workload, generated in the kernel.
    BuiltIn,
    /// The test kernel: no workload.
    Tests,
}

impl Workload {
    /// MiB that the workload occupies in guest RAM at its peak, beyond the
    /// firmware base: the ramdisk plus the pool.
    fn peak_mib(self) -> u64 {
        match self {
            Workload::Corpus { bytes } => 2 * bytes.div_ceil(1 << 20),
            Workload::BuiltIn => BUILT_IN_WORKLOAD_MIB,
            Workload::Tests => 0,
        }
    }

    /// MiB of pages the kernel works through (for the time limit).
    fn pages_mib(self) -> u64 {
        match self {
            Workload::Corpus { bytes } => bytes.div_ceil(1 << 20),
            Workload::BuiltIn => BUILT_IN_WORKLOAD_MIB,
            Workload::Tests => 0,
        }
    }

    /// For the user: "a 17 MiB corpus".
    fn describe(self) -> String {
        match self {
            Workload::Corpus { .. } => format!("a {} MiB corpus", self.pages_mib()),
            Workload::BuiltIn => "the built-in workload".into(),
            Workload::Tests => "the test kernel".into(),
        }
    }
}

/// The smallest guest RAM (MiB) for `workload` under `firmware`.
pub fn minimum_memory_mib(firmware: Firmware, workload: Workload) -> u64 {
    firmware_base_mib(firmware) + workload.peak_mib()
}

/// Refuse guest RAM below the minimum, with a message that says it.
pub fn check_memory(firmware: Firmware, workload: Workload, memory_mib: u64) -> Result<(), String> {
    let minimum = minimum_memory_mib(firmware, workload);
    if memory_mib >= minimum {
        return Ok(());
    }
    let base = firmware_base_mib(firmware);
    let formula = match workload {
        Workload::Corpus { .. } => format!(
            "{base} MiB for {} + 2 × {} MiB for the corpus as ramdisk and as stored pages",
            firmware_name(firmware),
            workload.pages_mib()
        ),
        Workload::BuiltIn => format!(
            "{base} MiB for {} + {BUILT_IN_WORKLOAD_MIB} MiB for the stored pages",
            firmware_name(firmware)
        ),
        Workload::Tests => format!("for {}", firmware_name(firmware)),
    };
    Err(format!(
        "--memory {memory_mib}M is too little guest RAM for {}: it needs at least {minimum}M \
         ({formula}); give --memory {minimum}M or more, or leave --memory out",
        workload.describe()
    ))
}

fn firmware_name(firmware: Firmware) -> &'static str {
    match firmware {
        Firmware::Bios => "BIOS, bootloader and kernel",
        Firmware::Uefi => "UEFI firmware, bootloader and kernel",
    }
}

/// The default time limit: generous, scaled to the work (see the module).
pub fn default_timeout(kernel: Kernel, workload: Workload) -> Duration {
    match kernel {
        Kernel::Tests => TESTS_TIMEOUT,
        Kernel::Demo | Kernel::Bench => {
            let mib = u32::try_from(workload.pages_mib()).unwrap_or(u32::MAX);
            DEMO_TIMEOUT_BASE.saturating_add(DEMO_TIMEOUT_PER_MIB.saturating_mul(mib))
        }
    }
}

/// What to tell the user when the default time limit struck.
pub fn timeout_hint(kernel: Kernel, workload: Workload, limit: Duration) -> String {
    let rule = match kernel {
        Kernel::Tests => format!("{} s for the test kernel", TESTS_TIMEOUT.as_secs()),
        Kernel::Demo | Kernel::Bench => format!(
            "{} s + {} s per MiB of corpus, for {}",
            DEMO_TIMEOUT_BASE.as_secs(),
            DEMO_TIMEOUT_PER_MIB.as_secs(),
            workload.describe()
        ),
    };
    format!(
        "the default time limit of {} s ({rule}) was reached; if the run was still making \
         progress, raise it with --timeout SECONDS (--timeout 0: no limit)",
        limit.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_grows_with_the_corpus_and_the_firmware() {
        let corpus = Workload::Corpus { bytes: 4200 * 4096 };
        assert_eq!(minimum_memory_mib(Firmware::Bios, corpus), 32 + 2 * 17);
        assert_eq!(minimum_memory_mib(Firmware::Uefi, corpus), 64 + 2 * 17);
        assert_eq!(minimum_memory_mib(Firmware::Bios, Workload::BuiltIn), 48);
        assert_eq!(minimum_memory_mib(Firmware::Bios, Workload::Tests), 32);
    }

    #[test]
    fn too_little_memory_is_refused_with_the_minimum() {
        let corpus = Workload::Corpus { bytes: 94 << 20 };
        let error = check_memory(Firmware::Bios, corpus, 64).unwrap_err();
        assert!(error.contains("--memory 64M is too little"), "{error}");
        assert!(error.contains("at least 220M"), "{error}");
        assert!(error.contains("2 × 94 MiB"), "{error}");
        assert!(check_memory(Firmware::Bios, corpus, 220).is_ok());
        let error = check_memory(Firmware::Uefi, Workload::Tests, 16).unwrap_err();
        assert!(error.contains("at least 64M"), "{error}");
    }

    #[test]
    fn the_default_timeout_scales_with_the_corpus() {
        let small = Workload::Corpus { bytes: 1 << 20 };
        let large = Workload::Corpus { bytes: 100 << 20 };
        assert_eq!(default_timeout(Kernel::Demo, small).as_secs(), 125);
        assert_eq!(default_timeout(Kernel::Demo, large).as_secs(), 620);
        assert_eq!(
            default_timeout(Kernel::Tests, Workload::Tests),
            TESTS_TIMEOUT
        );
        let hint = timeout_hint(Kernel::Demo, large, Duration::from_secs(620));
        assert!(hint.contains("620 s"), "{hint}");
        assert!(hint.contains("--timeout SECONDS"), "{hint}");
    }
}
