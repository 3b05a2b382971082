//! # boot-options — the kernel's command line, written by the host, read by the kernel
//!
//! The bootloader has no kernel command line, so the host runner (`boot`)
//! hands the kernel a line of `key=value` words through QEMU's firmware
//! configuration device, *fw_cfg*, as a file. This crate is that line's one
//! definition: the host checks a line with [`check`] before it starts QEMU,
//! the kernel finds the file with [`FileEntry`] and reads words with [`get`]
//! and sizes with [`parse_size`].
//!
//! ```text
//!   host:    qemu ... -fw_cfg name=opt/zsmalloc-os/options,string="lowmem=32M test-filter=kmap"
//!
//!   kernel:  port 0x510 (16-bit, write)  select an item by key
//!            port 0x511 (8-bit, read)    read the selected item byte by byte
//!            key 0x0019                  the file directory: a count (u32, big-endian),
//!                                        then one 64-byte FileEntry per file
//!            FileEntry                   { size: u32 BE, key: u16 BE, reserved: u16, name: [u8; 56] }
//! ```
//!
//! The keys the kernels know:
//!
//! | key | meaning |
//! | --- | --- |
//! | `lowmem=SIZE` | size of LOWMEM, the kernel's direct map (`32M`; see [`parse_size`]) |
//! | `zsmalloc=NAME` | the demo's zsmalloc configuration |
//! | `shell=on` | the demo kernel runs its shell instead of the demo |
//! | `log=LEVEL` | `error`, `warn`, `info` (default) or `debug` |
//! | `test-filter=TEXT` | the test kernel runs the tests whose names contain TEXT |
//! | `include-ignored` | the test kernel also runs its ignored tests |
#![no_std]

use core::fmt;

/// The fw_cfg file that carries the options.
pub const FW_CFG_FILE: &str = "opt/zsmalloc-os/options";
/// The longest option line the kernel reads (it has no heap yet when it does).
pub const MAX_LENGTH: usize = 1024;

/// The value of option `key` in the line `options` (`key=value`; a bare
/// `key` gives ""). The first occurrence wins.
pub fn get<'o>(options: &'o str, key: &str) -> Option<&'o str> {
    options
        .split_whitespace()
        .find_map(|word| match word.split_once('=') {
            Some((name, value)) if name == key => Some(value),
            None if word == key => Some(""),
            _ => None,
        })
}

/// Parse a size such as `4096`, `64K`, `32M` or `1G` into bytes (a number
/// without a suffix is bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, multiplier) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 1 << 10),
        b'M' | b'm' => (&text[..text.len() - 1], 1 << 20),
        b'G' | b'g' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

/// Why an option line cannot be handed to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionsError {
    /// Longer than [`MAX_LENGTH`] bytes: the kernel would cut it short.
    TooLong {
        /// The line's length in bytes.
        length: usize,
    },
    /// A character fw_cfg's `string=` cannot carry (a comma) or the kernel
    /// does not read (anything but printable ASCII and spaces).
    BadCharacter(char),
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            OptionsError::TooLong { length } => write!(
                f,
                "the boot options are {length} bytes long; the kernel reads at most {MAX_LENGTH}"
            ),
            OptionsError::BadCharacter(character) => write!(
                f,
                "boot options may not contain {character:?} (only printable ASCII, no commas)"
            ),
        }
    }
}

/// Check that the kernel will read `options` exactly as written.
pub fn check(options: &str) -> Result<(), OptionsError> {
    if let Some(bad) = options
        .chars()
        .find(|&c| c == ',' || !(c == ' ' || c.is_ascii_graphic()))
    {
        return Err(OptionsError::BadCharacter(bad));
    }
    if options.len() > MAX_LENGTH {
        return Err(OptionsError::TooLong {
            length: options.len(),
        });
    }
    Ok(())
}

/// One entry of fw_cfg's file directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// The file's size in bytes.
    pub size: u32,
    /// The selector key that makes the file readable at the data port.
    pub key: u16,
    name: [u8; 56],
}

impl FileEntry {
    /// Bytes of one directory entry.
    pub const SIZE: usize = 64;

    /// Decode an entry as fw_cfg lays it out (big-endian numbers).
    pub fn parse(bytes: &[u8; Self::SIZE]) -> FileEntry {
        let mut name = [0; 56];
        name.copy_from_slice(&bytes[8..]);
        FileEntry {
            size: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            key: u16::from_be_bytes([bytes[4], bytes[5]]),
            name,
        }
    }

    /// The file's name, up to its terminating zero.
    pub fn name(&self) -> &[u8] {
        let length = self.name.iter().position(|&byte| byte == 0).unwrap_or(56);
        &self.name[..length]
    }
}

#[cfg(test)]
mod tests;
