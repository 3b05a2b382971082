//! Boot options: the `key=value` words the host runner hands the kernel
//! through QEMU's fw_cfg device (their format, the file's name and the known
//! keys: the `boot-options` crate, shared with the host).
//!
//! ```text
//!   port 0x510 (16-bit, write)  select an item by key
//!   port 0x511 (8-bit, read)    read the selected item byte by byte
//!   key 0x0000                  the signature "QEMU"
//!   key 0x0019                  the file directory → the options file's key
//! ```
//!
//! The options are read once at boot into a static buffer (the heap does not
//! exist yet) and looked up with [`get`].

use ::boot_options::{FileEntry, FW_CFG_FILE, MAX_LENGTH};
use spin::Once;
use x86_64::instructions::port::Port;

/// Parse a size such as `64K`, `32M` or `1G` (see the `boot-options` crate).
pub use ::boot_options::parse_size;

const SELECTOR_PORT: u16 = 0x510;
const DATA_PORT: u16 = 0x511;
const SIGNATURE_KEY: u16 = 0x0000;
const FILE_DIRECTORY_KEY: u16 = 0x0019;

struct Options {
    text: [u8; MAX_LENGTH],
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

/// Find the fw_cfg file `name`: its directory entry.
fn find_file(name: &[u8]) -> Option<FileEntry> {
    select(SIGNATURE_KEY);
    let mut signature = [0; 4];
    read_bytes(&mut signature);
    if &signature != b"QEMU" {
        return None;
    }
    select(FILE_DIRECTORY_KEY);
    let mut count = [0; 4];
    read_bytes(&mut count);
    (0..u32::from_be_bytes(count)).find_map(|_| {
        let mut bytes = [0; FileEntry::SIZE];
        read_bytes(&mut bytes);
        let entry = FileEntry::parse(&bytes);
        (entry.name() == name).then_some(entry)
    })
}

/// Read the options from fw_cfg (once; later calls do nothing).
pub fn init() {
    OPTIONS.call_once(|| {
        let mut options = Options {
            text: [0; MAX_LENGTH],
            length: 0,
        };
        if let Some(file) = find_file(FW_CFG_FILE.as_bytes()) {
            options.length = (file.size as usize).min(MAX_LENGTH);
            select(file.key);
            read_bytes(&mut options.text[..options.length]);
        }
        options
    });
}

/// The whole option line (empty if none was given).
pub fn text() -> &'static str {
    OPTIONS
        .get()
        .and_then(|options| core::str::from_utf8(&options.text[..options.length]).ok())
        .unwrap_or("")
        .trim_end_matches('\0')
}

/// The value of option `key`, if given (`key=value`; a bare `key` gives "").
pub fn get(key: &str) -> Option<&'static str> {
    ::boot_options::get(text(), key)
}
