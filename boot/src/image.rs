//! Disk images: the bootloader crate packs a kernel ELF (and optionally a
//! ramdisk) into a bootable BIOS (MBR) or UEFI (GPT + FAT) disk image.
//!
//! Images are written to a fresh temporary directory per run, so several
//! runs (e.g. the BIOS and UEFI test runs) never race on one file.

use crate::{Firmware, Kernel};
use std::path::{Path, PathBuf};

/// A disk image on the host file system, deleted when dropped.
pub struct DiskImage {
    directory: PathBuf,
    path: PathBuf,
}

impl DiskImage {
    /// Build an image of `kernel` for `firmware`, with `ramdisk` if given.
    pub fn create(
        kernel: Kernel,
        firmware: Firmware,
        ramdisk: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let directory = unique_temporary_directory()?;
        let path = directory.join(match firmware {
            Firmware::Bios => "bios.img",
            Firmware::Uefi => "uefi.img",
        });
        let kernel_path = kernel.path();
        let config = boot_config();
        match firmware {
            Firmware::Bios => {
                let mut builder = bootloader::BiosBoot::new(&kernel_path);
                builder.set_boot_config(&config);
                if let Some(ramdisk) = ramdisk {
                    builder.set_ramdisk(ramdisk);
                }
                builder.create_disk_image(&path)?;
            }
            Firmware::Uefi => {
                let mut builder = bootloader::UefiBoot::new(&kernel_path);
                builder.set_boot_config(&config);
                if let Some(ramdisk) = ramdisk {
                    builder.set_ramdisk(ramdisk);
                }
                builder.create_disk_image(&path)?;
            }
        }
        Ok(DiskImage { directory, path })
    }

    /// Where the image file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DiskImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// The bootloader logs every step at INFO level; keep its warnings only, so
/// the console shows the kernel's own output.
fn boot_config() -> bootloader::BootConfig {
    let mut config = bootloader::BootConfig::default();
    config.log_level = bootloader_boot_config::LevelFilter::Warn;
    config.frame_buffer_logging = false;
    config
}

fn unique_temporary_directory() -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "zsmalloc-os-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let directory = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&directory)?;
    Ok(directory)
}
