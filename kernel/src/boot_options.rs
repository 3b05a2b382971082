//! Boot options: `key=value` words handed to the kernel by the host runner.
//!
//! The bootloader has no kernel command line, so the runner (`boot`) passes
//! one through QEMU's *firmware configuration* device, fw_cfg, as the file
//! `opt/zsmalloc-os/options`:
//!
//! ```text
//!   qemu ... -fw_cfg name=opt/zsmalloc-os/options,string="test-filter=frame lowmem=32M"
//!
//!   port 0x510 (16-bit, write)  select an item by key
//!   port 0x511 (8-bit, read)    read the selected item byte by byte
//!   key 0x0019                  the file directory: count, then 64-byte entries
//!                               { size: u32 BE, key: u16 BE, reserved: u16, name: [u8; 56] }
//! ```
//!
//! The options are read once at boot into a static buffer (the heap does not
//! exist yet) and looked up with [`get`]. Known keys: `test-filter`, `lowmem`,
//! `log`, `timer-hz`, `demo`.

use spin::Once;
use x86_64::instructions::port::Port;

const SELECTOR_PORT: u16 = 0x510;
const DATA_PORT: u16 = 0x511;
const SIGNATURE_KEY: u16 = 0x0000;
const FILE_DIRECTORY_KEY: u16 = 0x0019;
const OPTIONS_FILE: &[u8] = b"opt/zsmalloc-os/options";
const MAX_OPTIONS_LENGTH: usize = 1024;

struct Options {
    text: [u8; MAX_OPTIONS_LENGTH],
    length: usize,
}

static OPTIONS: Once<Options> = Once::new();

fn select(key: u16) {
    // SAFETY: 0x510 is fw_cfg's selector port; selecting an item has no
    // effect on memory.
    unsafe { Port::new(SELECTOR_PORT).write(key) };
}

fn read_bytes(buffer: &mut [u8]) {
    let mut port = Port::<u8>::new(DATA_PORT);
    for byte in buffer {
        // SAFETY: 0x511 is fw_cfg's data port; reading advances its cursor only.
        *byte = unsafe { port.read() };
    }
}

fn read_u32_big_endian() -> u32 {
    let mut bytes = [0; 4];
    read_bytes(&mut bytes);
    u32::from_be_bytes(bytes)
}

/// Find a fw_cfg file by name: its (key, size).
fn find_file(name: &[u8]) -> Option<(u16, usize)> {
    select(SIGNATURE_KEY);
    let mut signature = [0; 4];
    read_bytes(&mut signature);
    if &signature != b"QEMU" {
        return None;
    }
    select(FILE_DIRECTORY_KEY);
    let count = read_u32_big_endian();
    for _ in 0..count {
        let mut entry = [0u8; 64];
        read_bytes(&mut entry);
        let size = u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]) as usize;
        let key = u16::from_be_bytes([entry[4], entry[5]]);
        let entry_name = &entry[8..];
        let name_length = entry_name.iter().position(|&byte| byte == 0).unwrap_or(56);
        if &entry_name[..name_length] == name {
            return Some((key, size));
        }
    }
    None
}

/// Read the options from fw_cfg (once; later calls do nothing).
pub fn init() {
    OPTIONS.call_once(|| {
        let mut options = Options {
            text: [0; MAX_OPTIONS_LENGTH],
            length: 0,
        };
        if let Some((key, size)) = find_file(OPTIONS_FILE) {
            options.length = size.min(MAX_OPTIONS_LENGTH);
            select(key);
            read_bytes(&mut options.text[..options.length]);
        }
        options
    });
}

/// The whole option string (empty if none was given).
pub fn text() -> &'static str {
    OPTIONS
        .get()
        .and_then(|options| core::str::from_utf8(&options.text[..options.length]).ok())
        .unwrap_or("")
        .trim_end_matches('\0')
}

/// The value of option `key`, if given (`key=value`; a bare `key` gives "").
pub fn get(key: &str) -> Option<&'static str> {
    text()
        .split_whitespace()
        .find_map(|word| match word.split_once('=') {
            Some((name, value)) if name == key => Some(value),
            None if word == key => Some(""),
            _ => None,
        })
}

/// Parse a size such as `4096`, `64K`, `32M` or `1G` into bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, multiplier) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 1 << 10),
        b'M' | b'm' => (&text[..text.len() - 1], 1 << 20),
        b'G' | b'g' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}
