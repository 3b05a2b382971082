//! # shell-input — what the kernel's shell makes of the bytes it receives
//!
//! The kernel's shell (`./run-qemu.sh --shell`) reads bytes from the serial
//! port; this crate turns them into commands, without any hardware, so that
//! it is tested on the host (and under Miri):
//!
//! ```text
//!   serial bytes ──► line_editor::LineEditor ──► a line ──► command::parse ──► Command
//!                    echo, backspace, Ctrl-C/U/D,            words, numbers,
//!                    escape sequences, length limit          sizes, clear errors
//! ```
//!
//! The kernel runs the commands (`kernel/src/shell`).
#![no_std]

/// The line the kernel's shell prints once it is ready for input; the host
/// runner waits for it before it forwards piped input.
pub const READY_LINE: &str = "zsmalloc-os shell: type help for the commands";

pub mod command;
pub mod line_editor;

pub use command::{parse, parse_size, Command, ParseError, WriteSource, HELP};
pub use line_editor::{Event, LineEditor, LINE_CAPACITY};
