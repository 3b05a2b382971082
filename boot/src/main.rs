//! `cargo run` / `./run-qemu.sh`: build the disk image and boot a kernel.

use boot::cli::{parse_arguments, USAGE};
use boot::image::DiskImage;
use boot::qemu;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arguments = match parse_arguments(std::env::args().skip(1)) {
        Ok(arguments) => arguments,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if arguments.machine.gdb {
        eprintln!(
            "QEMU waits for gdb on localhost:1234. In another terminal:\n  gdb {} -ex 'target remote :1234'",
            arguments.kernel.path().display()
        );
    }
    let image = match DiskImage::create(
        arguments.kernel,
        arguments.machine.firmware,
        arguments.ramdisk.as_deref(),
    ) {
        Ok(image) => image,
        Err(error) => {
            eprintln!("error: could not build the disk image: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    match qemu::run(&arguments.machine, &image) {
        Ok(outcome) if outcome.ending.is_success() => ExitCode::SUCCESS,
        Ok(outcome) => {
            eprintln!("error: {}", outcome.ending.describe());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
