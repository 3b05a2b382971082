//! The shell's commands that change the store: write, read, discard, fill,
//! churn, compact, limit and config. Each returns `Err(message)` for a bad
//! argument or a refused operation; nothing is lost when it does.

use super::Session;
use crate::compressed_ram::{new_store_with, CONFIGURATIONS};
use crate::memory::PAGE_SIZE;
use crate::println;
use alloc::format;
use alloc::string::String;
use shell_input::WriteSource;
use zram::SlotContents;

type Outcome = Result<(), String>;

/// How a slot keeps its page, in words.
fn describe(contents: SlotContents) -> String {
    match contents {
        SlotContents::Empty => "empty (reads as zeros)".into(),
        SlotContents::SameFilled { word } => {
            format!("same-filled with the word {word:#018x} (no memory)")
        }
        SlotContents::Compressed { bytes } => format!(
            "{bytes} compressed bytes in the pool ({:.2}:1)",
            PAGE_SIZE as f64 / bytes as f64
        ),
        SlotContents::Huge => "huge: stored uncompressed, 4096 bytes in the pool".into(),
    }
}

impl Session<'_> {
    fn check_slot(&self, slot: usize) -> Outcome {
        let slots = self.store.slot_count();
        if slot < slots {
            Ok(())
        } else {
            Err(format!(
                "slot {slot} is out of range (slots 0..={})",
                slots - 1
            ))
        }
    }

    pub(super) fn write(&mut self, slot: usize, source: WriteSource<'_>) -> Outcome {
        self.check_slot(slot)?;
        self.page.fill(0);
        match source {
            WriteSource::Text(text) => self.page[..text.len()].copy_from_slice(text.as_bytes()),
            WriteSource::Random { bytes } => {
                for byte in &mut self.page[..bytes] {
                    *byte = self.random.next_u64() as u8;
                }
            }
            WriteSource::Zero => {}
            WriteSource::Corpus { page } => {
                let pages = self.workload.page_count();
                if page >= pages {
                    return Err(format!(
                        "page {page} is not in the workload (pages 0..={})",
                        pages - 1
                    ));
                }
                self.workload.page(page, &mut self.page);
            }
        }
        self.store
            .write(slot, &self.page)
            .map_err(|error| format!("slot {slot} was not written: {error}"))?;
        let contents = self.store.slot_contents(slot).map_err(|e| format!("{e}"))?;
        println!("slot {slot}: {}", describe(contents));
        Ok(())
    }

    pub(super) fn read(&mut self, slot: usize, hex: bool) -> Outcome {
        self.check_slot(slot)?;
        let contents = self.store.slot_contents(slot).map_err(|e| format!("{e}"))?;
        self.store
            .read(slot, &mut self.page)
            .map_err(|error| format!("slot {slot} could not be read: {error}"))?;
        println!("slot {slot}: {}", describe(contents));
        let end = self
            .page
            .iter()
            .rposition(|&byte| byte != 0)
            .map_or(0, |last| last + 1);
        let used = &self.page[..end];
        if hex {
            for (line, chunk) in used.chunks(16).enumerate() {
                crate::print!("  {:04x} ", line * 16);
                for byte in chunk {
                    crate::print!(" {byte:02x}");
                }
                println!();
            }
            if end < PAGE_SIZE {
                println!("  {end:04x}  zeros to the end of the page");
            }
        } else if end == 0 {
            // Nothing to show: the description said what it reads as.
        } else if used.iter().all(|byte| (b' '..=b'~').contains(byte)) {
            let text = core::str::from_utf8(used).unwrap_or("");
            println!("  \"{text}\" ({end} bytes, then zeros)");
        } else {
            println!("  {end} bytes before the trailing zeros, not all text (read {slot} hex shows them)");
        }
        Ok(())
    }

    pub(super) fn discard(&mut self, slot: usize) -> Outcome {
        self.check_slot(slot)?;
        self.store.discard(slot).map_err(|e| format!("{e}"))?;
        println!("slot {slot}: discarded");
        Ok(())
    }

    /// Read `slot` back and compare it with `self.reference`.
    fn verify(&mut self, slot: usize) -> bool {
        self.store.read(slot, &mut self.page).is_ok() && self.page == self.reference
    }

    pub(super) fn fill(&mut self, pages: usize) -> Outcome {
        let slots = self.store.slot_count();
        if pages == 0 || pages > slots {
            return Err(format!("fill takes 1..={slots} pages (one per slot)"));
        }
        let (mut refused, mut verified, mut failed) = (0, 0, 0);
        for slot in 0..pages {
            self.workload.page(slot, &mut self.reference);
            if self.store.write(slot, &self.reference).is_err() {
                refused += 1;
                continue;
            }
            if self.verify(slot) {
                verified += 1;
            } else {
                failed += 1;
            }
        }
        println!(
            "fill: wrote workload pages 0..{pages} to slots 0..{pages}: {verified} verified, {failed} failed, {refused} writes refused"
        );
        if refused > 0 {
            println!("  (a refused write leaves its slot as it was; see limit and stats)");
        }
        self.summary();
        Ok(())
    }

    pub(super) fn churn(&mut self) -> Outcome {
        let slots = self.store.slot_count();
        let (mut discarded, mut overwritten, mut refused, mut failed) = (0, 0, 0, 0);
        for slot in 0..slots {
            if self.store.slot_contents(slot) == Ok(SlotContents::Empty) {
                continue;
            }
            match self.random.next_u64() % 4 {
                0 => {
                    self.store.discard(slot).map_err(|e| format!("{e}"))?;
                    self.reference.fill(0);
                    discarded += 1;
                }
                1 => {
                    // Another page than any original (see Workload::page).
                    let source = slots + self.random.next_u64() as usize % slots;
                    self.workload.page(source, &mut self.reference);
                    if self.store.write(slot, &self.reference).is_err() {
                        refused += 1;
                        continue;
                    }
                    overwritten += 1;
                }
                _ => continue,
            }
            if !self.verify(slot) {
                failed += 1;
            }
        }
        println!(
            "churn: {discarded} slots discarded, {overwritten} overwritten with other pages ({refused} writes refused); {failed} failed to verify"
        );
        self.summary();
        Ok(())
    }

    pub(super) fn compact(&mut self) -> Outcome {
        let before = self.store.pool().total_pages();
        let freed = self.store.compact();
        println!(
            "compact: {freed} pages freed (pool pages {before} -> {})",
            self.store.pool().total_pages()
        );
        Ok(())
    }

    pub(super) fn auto_compaction(&mut self, on: bool) -> Outcome {
        let pool = self.store.pool();
        pool.set_auto_compaction(on);
        let figures = pool.auto_compaction();
        println!(
            "automatic compaction {}: {} steps so far moved {} bytes and freed {} pages",
            if on { "on" } else { "off" },
            figures.steps,
            figures.bytes_moved,
            figures.pages_freed
        );
        Ok(())
    }

    pub(super) fn limit(&mut self, bytes: u64) -> Outcome {
        let pages = usize::try_from(bytes.div_ceil(PAGE_SIZE as u64))
            .map_err(|_| format!("a limit of {bytes} bytes is too large"))?;
        self.store.set_memory_limit(pages);
        if pages == 0 {
            println!("memory limit: none");
        } else {
            println!(
                "memory limit: {pages} pages ({} bytes); the pool holds {} pages now",
                pages * PAGE_SIZE,
                self.store.pool().total_pages()
            );
        }
        Ok(())
    }

    pub(super) fn config(&mut self, name: &str) -> Outcome {
        let Some(&(name, config)) = CONFIGURATIONS.iter().find(|(known, _)| *known == name) else {
            let known: alloc::vec::Vec<&str> =
                CONFIGURATIONS.iter().map(|(known, _)| *known).collect();
            return Err(format!(
                "unknown configuration '{name}' (known: {})",
                known.join(", ")
            ));
        };
        let slots = self.store.slot_count();
        let limit_pages = self.store.statistics().mm_stat.mem_limit as usize / PAGE_SIZE;
        // The old store (and every page of its pool) goes first.
        self.store = new_store_with(0, config);
        self.store = new_store_with(slots, config);
        self.store.set_memory_limit(limit_pages);
        self.configuration = name;
        println!("config: a new, empty store of {slots} slots with zsmalloc configuration {name}");
        Ok(())
    }

    /// One line of the store's figures after a bulk command.
    fn summary(&self) {
        let mm = self.store.statistics().mm_stat;
        println!(
            "  {} pages stored, {} compressed bytes, {} pool pages; ratio {:.2}, efficiency {:.3}",
            mm.orig_data_size / PAGE_SIZE as u64,
            mm.compr_data_size,
            mm.mem_used_total / PAGE_SIZE as u64,
            mm.compression_ratio(),
            mm.allocator_efficiency()
        );
    }
}
