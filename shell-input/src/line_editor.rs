//! The line editor: bytes from a terminal (or a pipe) in, one line out.
//!
//! ```text
//!   byte            what it does                          echoed
//!   ' '..='~'       appended (if the line has room)       the byte (a bell when full)
//!   Tab             appended as a space                   ' '
//!   BS, DEL         removes the last character            "\b \b"
//!   CR, LF, CR LF   ends the line                         "\r\n"
//!   Ctrl-C          abandons the line                     "^C\r\n"
//!   Ctrl-U          erases the line                       "\b \b" per character
//!   Ctrl-D          on an empty line: end of input        -
//!   ESC [ ... X     a terminal's escape sequence (arrow keys, ...): ignored;
//!                   a control byte inside one ends it and acts as usual
//!   0x80..=0xFF     not ASCII: refused, the line is refused at its end   a bell
//!   other controls  ignored                               a bell
//! ```
//!
//! A line that overflowed [`LINE_CAPACITY`] or contained a non-ASCII byte
//! is refused as a whole when it ends ([`Event::TooLong`],
//! [`Event::NotAscii`]): a truncated command must not run as if it were the
//! one typed (a script piped in cannot hear the bell).

/// The longest line the editor keeps, in bytes.
pub const LINE_CAPACITY: usize = 160;

const BELL: &[u8] = b"\x07";
const ERASE: &[u8] = b"\x08 \x08";
const NEWLINE: &[u8] = b"\r\n";

/// What a byte completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A line ended; [`LineEditor::line`] holds it (possibly empty).
    Line,
    /// A line ended that was longer than [`LINE_CAPACITY`]; it is dropped.
    TooLong,
    /// A line ended that contained bytes that are not ASCII; it is dropped.
    NotAscii,
    /// Ctrl-C: the line was abandoned.
    Cancelled,
    /// Ctrl-D on an empty line: no more input will come.
    EndOfInput,
}

/// Where the editor is in a terminal escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// ESC seen.
    Started,
    /// ESC `[` or ESC `O` seen: parameters until a final byte.
    Sequence,
}

/// Collects one line at a time from a stream of bytes.
#[derive(Debug, Clone)]
pub struct LineEditor {
    buffer: [u8; LINE_CAPACITY],
    length: usize,
    overflowed: bool,
    not_ascii: bool,
    escape: Escape,
    /// The previous byte was a CR (so a LF right after it ends nothing).
    after_cr: bool,
    /// The last byte ended a line: the next byte starts a new one.
    line_ended: bool,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    /// An editor with an empty line.
    pub const fn new() -> Self {
        LineEditor {
            buffer: [0; LINE_CAPACITY],
            length: 0,
            overflowed: false,
            not_ascii: false,
            escape: Escape::None,
            after_cr: false,
            line_ended: false,
        }
    }

    /// The line as typed so far, or the line an [`Event::Line`] ended (until
    /// the next byte is fed).
    pub fn line(&self) -> &str {
        // Only bytes ' '..='~' are ever stored, so this cannot fail.
        core::str::from_utf8(&self.buffer[..self.length]).unwrap_or("")
    }

    /// Take one byte; `echo` receives what the terminal should show.
    /// Returns the event the byte completed, if any.
    pub fn feed(&mut self, byte: u8, echo: &mut dyn FnMut(&[u8])) -> Option<Event> {
        if self.line_ended {
            self.clear();
        }
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        if byte < 0x20 {
            // A control byte ends any escape sequence and then acts as usual
            // (so an Enter or Ctrl-D is never lost in a broken sequence).
            self.escape = Escape::None;
        }
        match self.escape {
            Escape::Started => {
                self.escape = match byte {
                    b'[' | b'O' => Escape::Sequence,
                    _ => Escape::None,
                };
                return None;
            }
            Escape::Sequence => {
                if (0x40..=0x7e).contains(&byte) {
                    self.escape = Escape::None;
                }
                return None;
            }
            Escape::None => {}
        }
        match byte {
            b' '..=b'~' => self.insert(byte, echo),
            b'\t' => self.insert(b' ', echo),
            0x08 | 0x7f => {
                if self.length > 0 {
                    self.length -= 1;
                    echo(ERASE);
                }
            }
            b'\n' if after_cr => {}
            b'\r' | b'\n' => {
                self.after_cr = byte == b'\r';
                echo(NEWLINE);
                return Some(self.end_line());
            }
            0x03 => {
                echo(b"^C\r\n");
                self.line_ended = true;
                return Some(Event::Cancelled);
            }
            0x15 => {
                for _ in 0..self.length {
                    echo(ERASE);
                }
                self.length = 0;
            }
            0x04 if self.length == 0 && !self.overflowed && !self.not_ascii => {
                self.line_ended = true;
                return Some(Event::EndOfInput);
            }
            0x1b => self.escape = Escape::Started,
            0x80..=0xff => {
                self.not_ascii = true;
                echo(BELL);
            }
            _ => echo(BELL),
        }
        None
    }

    fn insert(&mut self, byte: u8, echo: &mut dyn FnMut(&[u8])) {
        if self.length < LINE_CAPACITY {
            self.buffer[self.length] = byte;
            self.length += 1;
            echo(&[byte]);
        } else {
            self.overflowed = true;
            echo(BELL);
        }
    }

    fn end_line(&mut self) -> Event {
        self.line_ended = true;
        if self.overflowed {
            Event::TooLong
        } else if self.not_ascii {
            Event::NotAscii
        } else {
            Event::Line
        }
    }

    fn clear(&mut self) {
        self.length = 0;
        self.overflowed = false;
        self.not_ascii = false;
        self.line_ended = false;
    }
}

#[cfg(test)]
#[path = "line_editor_tests.rs"]
mod tests;
