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

pub mod command;
pub mod line_editor;

pub use command::{parse, parse_size, Command, ParseError, WriteSource, HELP};
pub use line_editor::{Event, LineEditor, LINE_CAPACITY};
