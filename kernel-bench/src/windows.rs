//! Part 5 (QEMU): the interrupts-off windows of each zsmalloc operation.
//!
//! Every zsmalloc operation runs with interrupts off only in short atomic
//! sections (its locks, its mappings, the map window itself); the kernel's
//! `interrupts::atomic` measures each outermost one. Here each kind of
//! operation runs alone over the corpus, on HIGHMEM frames, and the longest
//! window it caused is printed, with the 99th percentile and the count:
//!
//! ```text
//!   malloc      every corpus object         write (copy in)   every object
//!   map RO/WO/RW  a window on every object  read_with         every object
//!   read (copy out) every object            free              every other object
//!   compact     the half-empty pool         free              the rest
//! ```
//!
//! Under `--icount` a cycle is a guest instruction (1 ns), so the figures
//! are the same on every run and free of host noise.

use alloc::vec::Vec;
use bench::corpus::Workload;
use bench::report::JsonLine;
use kernel::interrupts::atomic;
use kernel::memory::frame::GFP_HIGHMEM_ONLY;
use kernel::memory::zsmalloc_backend::KernelPages;
use kernel::memory::PAGE_SIZE;
use kernel::{println, tsc};
use zsmalloc::{Pool, ReadOnly, ReadWrite, WriteOnly};

/// The windows one kind of operation caused.
struct Row {
    operation: &'static str,
    subject: &'static str,
    windows: u64,
    p99_cycles: u64,
    longest_cycles: u64,
}

/// Run `pass` and return the windows it caused.
fn measure(operation: &'static str, subject: &'static str, pass: impl FnOnce()) -> Row {
    let windows_before = atomic::statistics().windows;
    atomic::reset_window_lengths();
    pass();
    let after = atomic::statistics();
    Row {
        operation,
        subject,
        windows: after.windows - windows_before,
        p99_cycles: after.p99_cycles(),
        longest_cycles: after.longest_cycles,
    }
}

/// Part 5 for every zsmalloc configuration of the lineup.
pub fn run(workload: &Workload) {
    let mut rows = Vec::new();
    for (name, config) in bench::lineup::zsmalloc_configurations() {
        let pool = Pool::with_config(name, KernelPages::new(GFP_HIGHMEM_ONLY), config)
            .expect("a valid configuration");
        operations(&pool, name, workload, &mut rows);
    }
    print(&rows);
}

fn operations(
    pool: &Pool<KernelPages>,
    name: &'static str,
    workload: &Workload,
    rows: &mut Vec<Row>,
) {
    let objects = &workload.objects;
    let mut handles = Vec::with_capacity(objects.len());
    rows.push(measure("malloc", name, || {
        for object in objects {
            handles.push(pool.malloc(object.bytes.len()).expect("memory"));
        }
    }));
    rows.push(measure("write (copy in)", name, || {
        for (handle, object) in handles.iter().zip(objects) {
            pool.write(handle, &object.bytes).expect("a live handle");
        }
    }));
    let mut mapper = pool.mapper();
    rows.push(measure("map+unmap RO", name, || {
        for handle in &handles {
            mapper
                .map(handle, ReadOnly, |window| window[0])
                .expect("map");
        }
    }));
    rows.push(measure("map+unmap WO", name, || {
        for handle in &handles {
            mapper
                .map(handle, WriteOnly, |window| window[0] = 0)
                .expect("map");
        }
    }));
    rows.push(measure("map+unmap RW", name, || {
        for handle in &handles {
            mapper
                .map(handle, ReadWrite, |window| window[0] ^= 1)
                .expect("map");
        }
    }));
    drop(mapper);
    let mut local_copy = [0u8; PAGE_SIZE];
    rows.push(measure("read_with", name, || {
        for handle in &handles {
            pool.read_with(handle, &mut local_copy, |bytes| bytes[0])
                .expect("read");
        }
    }));
    rows.push(measure("read (copy out)", name, || {
        for handle in &handles {
            pool.read(handle, &mut local_copy).expect("read");
        }
    }));
    let mut kept = Vec::with_capacity(handles.len() / 2 + 1);
    rows.push(measure("free (every other)", name, || {
        for (index, handle) in handles.drain(..).enumerate() {
            if index % 2 == 0 {
                pool.free(handle);
            } else {
                kept.push(handle);
            }
        }
    }));
    rows.push(measure("compact", name, || {
        pool.compact();
    }));
    rows.push(measure("free (the rest)", name, || {
        for handle in kept.drain(..) {
            pool.free(handle);
        }
    }));
}

fn print(rows: &[Row]) {
    let microseconds = tsc::cycles_to_microseconds;
    println!("\nPart 5 (QEMU): interrupts-off windows per operation (longest, 99th percentile)");
    println!(
        "{:<22} {:<28} {:>9} {:>13} {:>15} {:>10}",
        "operation", "subject", "windows", "p99 cycles <=", "longest cycles", "longest us"
    );
    for row in rows {
        println!(
            "{:<22} {:<28} {:>9} {:>13} {:>15} {:>10.1}",
            row.operation,
            row.subject,
            row.windows,
            row.p99_cycles,
            row.longest_cycles,
            microseconds(row.longest_cycles)
        );
    }
    for row in rows {
        let line = JsonLine::new("windows")
            .text("where", "qemu")
            .text("operation", row.operation)
            .text("subject", row.subject)
            .integer("windows", row.windows as usize)
            .integer("p99_cycles", row.p99_cycles as usize)
            .integer("longest_cycles", row.longest_cycles as usize)
            .number("longest_us", microseconds(row.longest_cycles), 2);
        println!("{}", line.line());
    }
}
