//! The shell on the serial console (`./run-qemu.sh --shell`): a prompt to
//! poke the compressed store by hand or from a script.
//!
//! ```text
//!   COM1 ──► console::try_read_byte (polled; hlt until the next tick when idle)
//!        ──► shell_input::LineEditor   echo, backspace, Ctrl-C/U/D, length limit
//!        ──► shell_input::parse        Command, or a clear error
//!        ──► Session::execute          the store commands (store_commands.rs)
//!                                      and the views of the machine (views.rs)
//!        ──► the store observer        e.g. a picture of the pool that follows
//! ```
//!
//! A bad command or argument prints `error: ...` and the session goes on.
//! `exit`, or Ctrl-D on an empty line (what the runner sends when piped
//! input ends), leaves QEMU with success.

mod store_commands;
mod views;

use crate::compressed_ram::workload::{Random, Workload};
use crate::compressed_ram::{chosen_configuration, new_store_with};
use crate::memory::zsmalloc_backend::KernelPages;
use crate::memory::PAGE_SIZE;
use crate::qemu::{exit, ExitCode};
use crate::{console, print, println};
use alloc::string::String;
use shell_input::{parse, Command, Event, LineEditor, HELP, LINE_CAPACITY, READY_LINE};
use spin::Mutex;
use zram::CompressedStore;

/// The prompt.
pub const PROMPT: &str = "zram> ";

/// Told about the store after every command that ran (not after errors):
/// the store, the configuration's name and the command's name. A picture
/// of the pool, for instance, redraws itself from it.
pub type StoreObserver = fn(&CompressedStore<KernelPages>, &str, &str);

static OBSERVER: Mutex<Option<StoreObserver>> = Mutex::new(None);

/// Install (or with `None` remove) the store observer.
pub fn set_observer(observer: Option<StoreObserver>) {
    *OBSERVER.lock() = observer;
}

/// A shell session: the store it works on and what it needs to fill it.
pub struct Session<'w> {
    workload: &'w Workload,
    store: CompressedStore<KernelPages>,
    configuration: &'static str,
    random: Random,
    page: [u8; PAGE_SIZE],
    reference: [u8; PAGE_SIZE],
}

impl<'w> Session<'w> {
    /// A session on a new store of one slot per workload page, with the
    /// configuration chosen at boot.
    pub fn new(workload: &'w Workload) -> Self {
        let (configuration, config) = chosen_configuration();
        Session {
            workload,
            store: new_store_with(workload.page_count(), config),
            configuration,
            random: Random::new(0x5eed),
            page: [0; PAGE_SIZE],
            reference: [0; PAGE_SIZE],
        }
    }

    /// The store.
    pub fn store(&self) -> &CompressedStore<KernelPages> {
        &self.store
    }

    /// The name of the store's zsmalloc configuration.
    pub fn configuration(&self) -> &'static str {
        self.configuration
    }

    /// Run one command (not `exit`, which the caller handles). Problems
    /// are printed as `error: ...`; the session always goes on.
    pub fn execute(&mut self, command: Command<'_>) {
        let result = match command {
            Command::Help => {
                println!("{HELP}");
                Ok(())
            }
            Command::Write { slot, source } => self.write(slot, source),
            Command::Read { slot, hex } => self.read(slot, hex),
            Command::Discard { slot } => self.discard(slot),
            Command::Fill { pages } => self.fill(pages),
            Command::Churn => self.churn(),
            Command::Compact => self.compact(),
            Command::Auto { on } => self.auto_compaction(on),
            Command::Stats => views::stats(&self.store, self.configuration),
            Command::Classes => views::classes(&self.store),
            Command::Pool => views::pool(&self.store),
            Command::Frames => views::frames(),
            Command::Kmap => views::kmap(),
            Command::Limit { bytes } => self.limit(bytes),
            Command::Config { name } => self.config(name),
            Command::Exit => Ok(()),
        };
        match result {
            Ok(()) => {
                let observer = *OBSERVER.lock();
                if let Some(observer) = observer {
                    observer(&self.store, self.configuration, command.name());
                }
            }
            Err(message) => println!("error: {message}"),
        }
    }
}

/// Block until a byte arrives on the serial port.
fn read_byte() -> u8 {
    loop {
        if let Some(byte) = console::try_read_byte() {
            return byte;
        }
        x86_64::instructions::hlt();
    }
}

/// Run the shell on `workload` until `exit` or the end of input; QEMU then
/// exits with success.
pub fn run(workload: &Workload) -> ! {
    let mut session = Session::new(workload);
    println!(
        "shell: {} slots, pages from the {}, zsmalloc configuration {}",
        session.store.slot_count(),
        workload.describe(),
        session.configuration
    );
    println!("{READY_LINE}");
    let mut editor = LineEditor::new();
    print!("{PROMPT}");
    loop {
        let byte = read_byte();
        let Some(event) = editor.feed(byte, &mut console::write_bytes) else {
            continue;
        };
        match event {
            Event::Line => {
                let line = String::from(editor.line());
                match parse(&line) {
                    Ok(Some(Command::Exit)) => leave("exit"),
                    Ok(Some(command)) => session.execute(command),
                    Ok(None) => {}
                    Err(error) => println!("error: {error}"),
                }
            }
            Event::TooLong => println!(
                "error: the line is longer than {LINE_CAPACITY} characters; it was ignored"
            ),
            Event::NotAscii => {
                println!("error: the line has characters that are not ASCII; it was ignored")
            }
            Event::Cancelled => {}
            Event::EndOfInput => leave("end of input"),
        }
        print!("{PROMPT}");
    }
}

fn leave(why: &str) -> ! {
    println!("shell: {why}, leaving");
    exit(ExitCode::Success)
}
