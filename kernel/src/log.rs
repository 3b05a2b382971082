//! A tiny levelled log on top of the console.
//!
//! `error!`, `warn!`, `info!` and `debug!` print a line prefixed with the
//! level; lines above the current maximum level are dropped. The level can be
//! changed at run time with [`set_max_level`] (boot option `log=debug`).

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

/// How important a log line is; lower is more important.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something failed.
    Error = 1,
    /// Something is wrong but the kernel goes on (a bad option, say).
    Warn = 2,
    /// What the kernel is doing (the default level).
    Info = 3,
    /// Details for whoever is debugging.
    Debug = 4,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
        }
    }

    /// Parse `error`, `warn`, `info` or `debug`.
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "error" => Some(Level::Error),
            "warn" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }
}

static MAX_LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Set the level from the boot option `log=LEVEL`, if given (an unknown
/// level is reported and ignored).
pub fn init_from_boot_options() {
    if let Some(text) = crate::boot_options::get("log") {
        match Level::parse(text) {
            Some(level) => set_max_level(level),
            None => write(
                Level::Warn,
                format_args!("log={}: not a level (error, warn, info, debug)", text),
            ),
        }
    }
}

/// Drop every line less important than `level`.
pub fn set_max_level(level: Level) {
    MAX_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Is a line of this level printed?
pub fn enabled(level: Level) -> bool {
    level as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// Print one log line (used by the macros).
pub fn write(level: Level, arguments: fmt::Arguments) {
    if enabled(level) {
        crate::println!("[{}] {}", level.label(), arguments);
    }
}

/// Log a line at [`Level::Error`](log::Level::Error), formatted like `println!`.
#[macro_export]
macro_rules! error { ($($argument:tt)*) => ($crate::log::write($crate::log::Level::Error, format_args!($($argument)*))); }
/// Log a line at [`Level::Warn`](log::Level::Warn).
#[macro_export]
macro_rules! warn { ($($argument:tt)*) => ($crate::log::write($crate::log::Level::Warn, format_args!($($argument)*))); }
/// Log a line at [`Level::Info`](log::Level::Info).
#[macro_export]
macro_rules! info { ($($argument:tt)*) => ($crate::log::write($crate::log::Level::Info, format_args!($($argument)*))); }
/// Log a line at [`Level::Debug`](log::Level::Debug).
#[macro_export]
macro_rules! debug { ($($argument:tt)*) => ($crate::log::write($crate::log::Level::Debug, format_args!($($argument)*))); }
