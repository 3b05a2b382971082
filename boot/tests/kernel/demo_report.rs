//! The demo's `ZRAM-REPORT` lines agree with themselves: the memory the
//! allocator keeps on the heap is reported beside the pool's pages, and the
//! figures derived from it follow from the others.
//!
//! ```text
//!   mem_used_total            pool pages × 4096 (Linux's meaning: no metadata)
//!   metadata_bytes            > 0: zsmalloc's handle table, zspage records, ...
//!   efficiency_with_metadata  = compr_data_size / (mem_used_total + metadata_bytes)
//!                             < compr_data_size / mem_used_total
//!   slot_table_bytes          > 0, at least 8 bytes per slot, the same in every phase
//!   cycles_per_discard        > 0 exactly in the phases that discard
//!   auto_compaction           true or false; off: no step, no page, nothing moved
//!   auto_compaction_pages     <= pages_compacted (explicit compaction adds its own)
//! ```

/// The value of `"name":` in a report line, as text.
fn field<'l>(line: &'l str, name: &str) -> Option<&'l str> {
    let (_, rest) = line.split_once(&format!("\"{name}\":"))?;
    let end = rest.find([',', '}'])?;
    Some(&rest[..end])
}

/// A number field, or an error naming it and the line.
fn number(line: &str, name: &str) -> Result<f64, String> {
    field(line, name)
        .and_then(|text| text.parse().ok())
        .ok_or(format!("no number \"{name}\" in {line}"))
}

/// Check every report line of a demo over `slots` slots; the first
/// inconsistency is the error.
pub fn consistent(reports: &[&str], slots: usize) -> Result<(), String> {
    let mut slot_table = None;
    for line in reports {
        let get = |name| number(line, name);
        let phase = field(line, "phase").unwrap_or("?");
        let (compressed, used) = (get("compr_data_size")?, get("mem_used_total")?);
        let metadata = get("metadata_bytes")?;
        let with_metadata = get("efficiency_with_metadata")?;
        let table = get("slot_table_bytes")?;
        let (discards, per_discard) = (get("discards")?, get("cycles_per_discard")?);
        let automatic = field(line, "auto_compaction")
            .and_then(|text| text.parse::<bool>().ok())
            .ok_or(format!("no boolean \"auto_compaction\" in {line}"))?;
        let steps = get("auto_compaction_steps")?;
        let moved = get("auto_compaction_bytes_moved")?;
        let automatic_pages = get("auto_compaction_pages")?;
        let compacted = get("pages_compacted")?;
        let exact = compressed / (used + metadata);
        let problems = [
            (used % 4096.0 == 0.0, "mem_used_total is whole pool pages"),
            (metadata > 0.0, "metadata_bytes > 0"),
            (
                (with_metadata - exact).abs() <= 0.00005 + 1e-9,
                "efficiency_with_metadata = compr_data_size / (mem_used_total + metadata_bytes)",
            ),
            (
                with_metadata < compressed / used,
                "efficiency_with_metadata < compr_data_size / mem_used_total",
            ),
            (
                table >= 8.0 * slots as f64,
                "slot_table_bytes >= 8 per slot",
            ),
            (
                slot_table.is_none_or(|first| first == table),
                "slot_table_bytes the same in every phase",
            ),
            (
                (discards > 0.0) == (per_discard > 0.0),
                "cycles_per_discard > 0 exactly when the phase discards",
            ),
            (
                automatic || (steps == 0.0 && moved == 0.0 && automatic_pages == 0.0),
                "no automatic compaction when it is off",
            ),
            (
                automatic_pages <= compacted,
                "auto_compaction_pages <= pages_compacted",
            ),
        ];
        if let Some((_, what)) = problems.iter().find(|(met, _)| !met) {
            return Err(format!("phase {phase}: expected {what}; got {line}"));
        }
        slot_table = Some(table);
    }
    Ok(())
}
