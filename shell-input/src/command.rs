//! The shell's commands: one line of words in, a [`Command`] or a clear
//! [`ParseError`] out.
//!
//! ```text
//!   "write 3 random 900"  ──►  Command::Write { slot: 3, source: WriteSource::Random { bytes: 900 } }
//!   "limit 2M"            ──►  Command::Limit { bytes: 2097152 }
//!   "raed 1"              ──►  ParseError::UnknownCommand("raed")
//!   "read x"              ──►  ParseError::BadNumber { what: "SLOT", text: "x", usage: "read SLOT [hex]" }
//! ```
//!
//! Words are separated by spaces; a line that is empty or starts with `#`
//! is no command (scripts may carry comments). The parser knows the syntax
//! only: whether a slot exists, a corpus page exists or a configuration name
//! is known is for the kernel to say.

use core::fmt;

/// The bytes of one page (what a slot holds).
pub const PAGE_SIZE: usize = 4096;

/// The `help` text: every command, one line each.
pub const HELP: &str = "\
commands:
  help                        this text
  write SLOT TEXT             store TEXT (then zeros) in SLOT; `write SLOT text WORDS` if TEXT
                              starts with random, zero, corpus or text
  write SLOT random [BYTES]   BYTES random bytes (default 4096), then zeros
  write SLOT zero             a page of zeros (same-filled: no memory)
  write SLOT corpus PAGE      page PAGE of the workload (the corpus, or the built-in one)
  read SLOT [hex]             what SLOT holds: how it is stored, its text, or a hex dump
  discard SLOT                forget SLOT (zram's discard)
  fill N                      store workload pages 0..N in slots 0..N, and verify them
  churn                       discard a quarter of the slots, overwrite another quarter
  compact                     compact the pool
  auto on|off                 automatic compaction after frees (on: packed's default)
  stats                       mm_stat, with names
  classes                     the pool's table (like Linux's debugfs classes file)
  pool                        the pool map: one row per zspage
  frames                      the zones and the buddy allocator's free lists
  kmap                        kmap's counters
  limit SIZE                  the pool's memory limit: bytes, or 64K, 2M, 1G; 0 or none: no limit
  config NAME                 a new, empty store with zsmalloc configuration NAME
  exit                        leave (QEMU exits with success); Ctrl-D on an empty line too";

/// What `write` stores in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteSource<'a> {
    /// This text, then zeros.
    Text(&'a str),
    /// `bytes` pseudo-random bytes (1..=4096), then zeros.
    Random {
        /// How many.
        bytes: usize,
    },
    /// A page of zeros.
    Zero,
    /// Page `page` of the workload.
    Corpus {
        /// Its index.
        page: usize,
    },
}

/// One command of the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `help`
    Help,
    /// `write SLOT ...`
    Write {
        /// The slot.
        slot: usize,
        /// What to store.
        source: WriteSource<'a>,
    },
    /// `read SLOT [hex]`
    Read {
        /// The slot.
        slot: usize,
        /// Show a hex dump rather than text.
        hex: bool,
    },
    /// `discard SLOT`
    Discard {
        /// The slot.
        slot: usize,
    },
    /// `fill N`
    Fill {
        /// How many pages.
        pages: usize,
    },
    /// `churn`
    Churn,
    /// `compact`
    Compact,
    /// `auto on|off`
    Auto {
        /// Switch automatic compaction on (or off).
        on: bool,
    },
    /// `stats`
    Stats,
    /// `classes`
    Classes,
    /// `pool`
    Pool,
    /// `frames`
    Frames,
    /// `kmap`
    Kmap,
    /// `limit SIZE`
    Limit {
        /// The limit in bytes; 0: none.
        bytes: u64,
    },
    /// `config NAME`
    Config {
        /// The configuration's name.
        name: &'a str,
    },
    /// `exit`
    Exit,
}

impl Command<'_> {
    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Help => "help",
            Command::Write { .. } => "write",
            Command::Read { .. } => "read",
            Command::Discard { .. } => "discard",
            Command::Fill { .. } => "fill",
            Command::Churn => "churn",
            Command::Compact => "compact",
            Command::Auto { .. } => "auto",
            Command::Stats => "stats",
            Command::Classes => "classes",
            Command::Pool => "pool",
            Command::Frames => "frames",
            Command::Kmap => "kmap",
            Command::Limit { .. } => "limit",
            Command::Config { .. } => "config",
            Command::Exit => "exit",
        }
    }
}

/// Why a line is not a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError<'a> {
    /// The first word names no command.
    UnknownCommand(&'a str),
    /// An argument is missing.
    Missing {
        /// What is missing (e.g. `SLOT`).
        what: &'static str,
        /// The command's syntax.
        usage: &'static str,
    },
    /// A word that should be a number is not one (or is too large).
    BadNumber {
        /// Which argument.
        what: &'static str,
        /// The word.
        text: &'a str,
        /// The command's syntax.
        usage: &'static str,
    },
    /// A number outside the values the argument takes.
    OutOfRange {
        /// Which argument.
        what: &'static str,
        /// The value.
        value: usize,
        /// The least value.
        min: usize,
        /// The greatest value.
        max: usize,
    },
    /// A word that is not a size (`limit`).
    BadSize(&'a str),
    /// A word that is not one of the words allowed there.
    Unexpected {
        /// The word.
        word: &'a str,
        /// The command's syntax.
        usage: &'static str,
    },
}

impl fmt::Display for ParseError<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownCommand(word) => {
                write!(
                    formatter,
                    "unknown command '{word}' (type help for the list)"
                )
            }
            ParseError::Missing { what, usage } => {
                write!(formatter, "missing {what} (usage: {usage})")
            }
            ParseError::BadNumber { what, text, usage } => write!(
                formatter,
                "{what} must be a whole number, not '{text}' (usage: {usage})"
            ),
            ParseError::OutOfRange {
                what,
                value,
                min,
                max,
            } => write!(formatter, "{what} {value} is out of range ({min}..={max})"),
            ParseError::BadSize(text) => write!(
                formatter,
                "invalid size '{text}' (bytes, or with K, M or G: 64K, 2M; 0 or none: no limit)"
            ),
            ParseError::Unexpected { word, usage } => {
                write!(formatter, "unexpected '{word}' (usage: {usage})")
            }
        }
    }
}

const WRITE: &str = "write SLOT TEXT | write SLOT random [BYTES] | write SLOT zero | write SLOT corpus PAGE | write SLOT text TEXT";
const READ: &str = "read SLOT [hex]";
const DISCARD: &str = "discard SLOT";
const FILL: &str = "fill N";
const LIMIT: &str = "limit SIZE";
const CONFIG: &str = "config NAME";
const AUTO: &str = "auto on|off";

/// The words of a line, and where each starts (for `write`'s text).
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let trimmed = self.rest.trim_start_matches(' ');
        if trimmed.is_empty() {
            self.rest = trimmed;
            return None;
        }
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let (word, rest) = trimmed.split_at(end);
        self.rest = rest;
        Some(word)
    }

    /// Everything after the next space (the rest of the line, as typed).
    fn remainder(&self) -> &'a str {
        self.rest.strip_prefix(' ').unwrap_or(self.rest)
    }

    fn number(&mut self, what: &'static str, usage: &'static str) -> Result<usize, ParseError<'a>> {
        let text = self.next().ok_or(ParseError::Missing { what, usage })?;
        parse_number(text).ok_or(ParseError::BadNumber { what, text, usage })
    }

    /// Nothing may follow.
    fn end(&mut self, usage: &'static str) -> Result<(), ParseError<'a>> {
        match self.next() {
            None => Ok(()),
            Some(word) => Err(ParseError::Unexpected { word, usage }),
        }
    }
}

fn parse_number(text: &str) -> Option<usize> {
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// Parse one line. `Ok(None)`: an empty line or a comment.
pub fn parse(line: &str) -> Result<Option<Command<'_>>, ParseError<'_>> {
    let mut words = Words { rest: line };
    let Some(name) = words.next() else {
        return Ok(None);
    };
    if name.starts_with('#') {
        return Ok(None);
    }
    match name {
        "help" | "?" => simple(Command::Help, &mut words),
        "write" => parse_write(&mut words).map(Some),
        "read" => {
            let slot = words.number("SLOT", READ)?;
            let hex = match words.next() {
                None => false,
                Some("hex") => true,
                Some(word) => return Err(ParseError::Unexpected { word, usage: READ }),
            };
            words.end(READ)?;
            Ok(Some(Command::Read { slot, hex }))
        }
        "discard" => {
            let slot = words.number("SLOT", DISCARD)?;
            words.end(DISCARD)?;
            Ok(Some(Command::Discard { slot }))
        }
        "fill" => {
            let pages = words.number("N", FILL)?;
            words.end(FILL)?;
            Ok(Some(Command::Fill { pages }))
        }
        "churn" => simple(Command::Churn, &mut words),
        "compact" => simple(Command::Compact, &mut words),
        "auto" => {
            let on = match words.next() {
                Some("on") => true,
                Some("off") => false,
                Some(word) => return Err(ParseError::Unexpected { word, usage: AUTO }),
                None => {
                    return Err(ParseError::Missing {
                        what: "on or off",
                        usage: AUTO,
                    })
                }
            };
            words.end(AUTO)?;
            Ok(Some(Command::Auto { on }))
        }
        "stats" => simple(Command::Stats, &mut words),
        "classes" => simple(Command::Classes, &mut words),
        "pool" => simple(Command::Pool, &mut words),
        "frames" => simple(Command::Frames, &mut words),
        "kmap" => simple(Command::Kmap, &mut words),
        "limit" => {
            let text = words.next().ok_or(ParseError::Missing {
                what: "SIZE",
                usage: LIMIT,
            })?;
            let bytes = parse_size(text).ok_or(ParseError::BadSize(text))?;
            words.end(LIMIT)?;
            Ok(Some(Command::Limit { bytes }))
        }
        "config" => {
            let name = words.next().ok_or(ParseError::Missing {
                what: "NAME",
                usage: CONFIG,
            })?;
            words.end(CONFIG)?;
            Ok(Some(Command::Config { name }))
        }
        "exit" | "quit" => simple(Command::Exit, &mut words),
        other => Err(ParseError::UnknownCommand(other)),
    }
}

/// A command without arguments: nothing may follow its name.
fn simple<'a>(
    command: Command<'a>,
    words: &mut Words<'a>,
) -> Result<Option<Command<'a>>, ParseError<'a>> {
    words.end(command.name()).map(|()| Some(command))
}

fn parse_write<'a>(words: &mut Words<'a>) -> Result<Command<'a>, ParseError<'a>> {
    let slot = words.number("SLOT", WRITE)?;
    let text = words.remainder();
    let source = match words.next() {
        None => {
            return Err(ParseError::Missing {
                what: "what to write",
                usage: WRITE,
            })
        }
        Some("random") => {
            let bytes = match words.next() {
                None => PAGE_SIZE,
                Some(text) => parse_number(text).ok_or(ParseError::BadNumber {
                    what: "BYTES",
                    text,
                    usage: WRITE,
                })?,
            };
            if !(1..=PAGE_SIZE).contains(&bytes) {
                return Err(ParseError::OutOfRange {
                    what: "BYTES",
                    value: bytes,
                    min: 1,
                    max: PAGE_SIZE,
                });
            }
            words.end(WRITE)?;
            WriteSource::Random { bytes }
        }
        Some("zero") => {
            words.end(WRITE)?;
            WriteSource::Zero
        }
        Some("corpus") => {
            let page = words.number("PAGE", WRITE)?;
            words.end(WRITE)?;
            WriteSource::Corpus { page }
        }
        Some("text") => match words.remainder() {
            "" => {
                return Err(ParseError::Missing {
                    what: "TEXT",
                    usage: WRITE,
                })
            }
            rest => WriteSource::Text(rest),
        },
        Some(_) => WriteSource::Text(text.trim_start_matches(' ')),
    };
    Ok(Command::Write { slot, source })
}

/// Parse a size in bytes: `4096`, `64K`, `2M`, `1G` (powers of 1024, either
/// case, an optional `B` or `iB`), `0` or `none` (no limit). `None` when it
/// is not a size or does not fit in 64 bits.
pub fn parse_size(text: &str) -> Option<u64> {
    if text.eq_ignore_ascii_case("none") {
        return Some(0);
    }
    let lower_end = text
        .strip_suffix("iB")
        .or_else(|| text.strip_suffix("ib"))
        .or_else(|| text.strip_suffix(['B', 'b']))
        .unwrap_or(text);
    let (digits, shift) = match lower_end.as_bytes().last()? {
        b'K' | b'k' => (&lower_end[..lower_end.len() - 1], 10),
        b'M' | b'm' => (&lower_end[..lower_end.len() - 1], 20),
        b'G' | b'g' => (&lower_end[..lower_end.len() - 1], 30),
        _ => (lower_end, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    value.checked_mul(1 << shift)
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
