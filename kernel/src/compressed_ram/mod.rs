//! Compressed RAM in the kernel: zsmalloc fed with the kernel's frames, a
//! zram-like store on top, and the demo that `./run-qemu.sh` shows.
//!
//! ```text
//!   demo.rs ──► zram::CompressedStore ──► zsmalloc::Pool<KernelPages>
//!                                              │ memory::zsmalloc_backend
//!                                              ├─ frame allocator (HIGHMEM first)
//!                                              ├─ kmap (HIGHMEM frames mapped on demand)
//!                                              └─ interrupts::atomic (map windows: cli, measured)
//! ```

pub mod demo;
pub mod report;
pub mod workload;

use crate::memory::frame::GFP_HIGHUSER;
use crate::memory::zsmalloc_backend::KernelPages;
use zram::CompressedStore;
use zsmalloc::{Config, Pool};

/// The zsmalloc configurations the demo can use, by the name given in the
/// boot option `zsmalloc=NAME` (`./run-qemu.sh --zsmalloc NAME`).
pub const CONFIGURATIONS: [(&str, Config); 3] = [
    ("packed", Config::packed()),
    ("linux4", Config::linux(4)),
    ("linux8", Config::linux(8)),
];

/// The configuration chosen at boot: our packed layout unless the boot
/// option `zsmalloc` names another one (an unknown name is reported and the
/// default is used).
pub fn chosen_configuration() -> (&'static str, Config) {
    let wanted = crate::boot_options::get("zsmalloc").unwrap_or("packed");
    match CONFIGURATIONS.iter().find(|(name, _)| *name == wanted) {
        Some(&(name, config)) => (name, config),
        None => {
            crate::warn!(
                "unknown zsmalloc configuration '{}' (known: packed, linux4, linux8)",
                wanted
            );
            CONFIGURATIONS[0]
        }
    }
}

/// A store of `slots` pages on a new pool of HIGHMEM-preferring frames,
/// with the configuration chosen at boot.
pub fn new_store(slots: usize) -> CompressedStore<KernelPages> {
    new_store_with(slots, chosen_configuration().1)
}

/// A store of `slots` pages on a pool with `config`, with automatic
/// compaction as the boot option `auto_compaction=on|off` says (default:
/// the configuration's own, on for packed and off for Linux's).
pub fn new_store_with(slots: usize, config: Config) -> CompressedStore<KernelPages> {
    let pool = Pool::with_config("zram0", KernelPages::new(GFP_HIGHUSER), config)
        .expect("a valid configuration");
    match crate::boot_options::get("auto_compaction") {
        None => {}
        Some("on") => pool.set_auto_compaction(true),
        Some("off") => pool.set_auto_compaction(false),
        Some(other) => crate::warn!(
            "auto_compaction={} is neither on nor off: the configuration's default is kept",
            other
        ),
    }
    CompressedStore::new(pool, slots)
}
