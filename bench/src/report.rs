//! How results are printed: a readable table per part, and one JSON line
//! per result so that runs can be compared by a script.
//!
//! ```text
//!   allocator                  objects ... efficiency ...      <- tables, for people
//!   BENCH-RESULT {"part":"efficiency","allocator":"ideal",...} <- one line per result, for diff/jq
//! ```

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use crate::churn::ChurnResult;
use crate::corpus::Workload;
use crate::efficiency::EfficiencyResult;
use crate::ideal::ideal_pages;
use crate::speed::Timing;

/// The prefix of every JSON result line.
pub const PREFIX: &str = "BENCH-RESULT ";

/// A JSON object built field by field, printed as one `BENCH-RESULT` line.
#[derive(Debug, Clone)]
pub struct JsonLine {
    fields: String,
}

impl JsonLine {
    /// `{"part": part, ...`.
    pub fn new(part: &str) -> JsonLine {
        JsonLine {
            fields: String::new(),
        }
        .text("part", part)
    }

    fn key(&mut self, key: &str) {
        if !self.fields.is_empty() {
            self.fields.push(',');
        }
        push_json_string(&mut self.fields, key);
        self.fields.push(':');
    }

    /// A string field.
    pub fn text(mut self, key: &str, value: &str) -> JsonLine {
        self.key(key);
        push_json_string(&mut self.fields, value);
        self
    }

    /// An integer field.
    pub fn integer(mut self, key: &str, value: usize) -> JsonLine {
        self.key(key);
        let _ = write!(self.fields, "{value}");
        self
    }

    /// A number field with `decimals` digits after the point.
    pub fn number(mut self, key: &str, value: f64, decimals: usize) -> JsonLine {
        self.key(key);
        let _ = write!(self.fields, "{value:.decimals$}");
        self
    }

    /// The whole line: `BENCH-RESULT {...}`.
    pub fn line(&self) -> String {
        format!("{PREFIX}{{{}}}", self.fields)
    }
}

/// Append `text` as a JSON string literal.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            control if (control as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", control as u32);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// What the corpus turned into.
pub fn corpus_summary(workload: &Workload) -> String {
    format!(
        "corpus: {} pages, {} same-filled (dropped), {} stored, {} of them huge (compressed size >= {}), \
         {} stored bytes, ideal {} pages",
        workload.pages,
        workload.same_filled,
        workload.objects.len(),
        workload.huge(),
        workload.huge_threshold,
        workload.stored_bytes(),
        ideal_pages(workload.stored_bytes())
    )
}

/// The corpus as a JSON line.
pub fn corpus_json(workload: &Workload) -> JsonLine {
    JsonLine::new("corpus")
        .integer("pages", workload.pages)
        .integer("same_filled", workload.same_filled)
        .integer("objects", workload.objects.len())
        .integer("huge", workload.huge())
        .integer("huge_threshold", workload.huge_threshold)
        .integer("stored_bytes", workload.stored_bytes())
        .integer("ideal_pages", ideal_pages(workload.stored_bytes()))
}

/// Part 1 as a table.
pub fn efficiency_table(results: &[EfficiencyResult]) -> String {
    let mut table = format!(
        "{:<26} {:>7} {:>12} {:>10} {:>10} {:>13} {:>7} {:>10}\n",
        "allocator",
        "objects",
        "stored B",
        "data pages",
        "efficiency",
        "metadata B",
        "B/obj",
        "eff.+meta"
    );
    for row in results {
        let _ = writeln!(
            table,
            "{:<26} {:>7} {:>12} {:>10} {:>10.3} {:>13} {:>7.1} {:>10.3}",
            row.allocator,
            row.objects,
            row.stored_bytes,
            row.data_pages,
            row.efficiency(),
            row.metadata_bytes,
            row.metadata_per_object(),
            row.efficiency_with_metadata()
        );
    }
    table
}

/// One part-1 result as a JSON line.
pub fn efficiency_json(row: &EfficiencyResult) -> JsonLine {
    JsonLine::new("efficiency")
        .text("allocator", &row.allocator)
        .integer("objects", row.objects)
        .integer("stored_bytes", row.stored_bytes)
        .integer("data_pages", row.data_pages)
        .number("efficiency", row.efficiency(), 4)
        .integer("metadata_bytes", row.metadata_bytes)
        .number("metadata_bytes_per_object", row.metadata_per_object(), 1)
        .number(
            "efficiency_with_metadata",
            row.efficiency_with_metadata(),
            4,
        )
}

/// Part 2 as a table.
pub fn churn_table(results: &[ChurnResult]) -> String {
    let mut table = format!(
        "{:<26} {:>11} {:>6} | {:>13} {:>6} {:>9} | {:>9} {:>11} {:>6} {:>9}\n",
        "", "after fill", "", "after churn", "", "", "", "compacted", "", ""
    );
    let _ = writeln!(
        table,
        "{:<26} {:>11} {:>6} | {:>13} {:>6} {:>9} | {:>9} {:>11} {:>6} {:>9}",
        "allocator",
        "pages",
        "eff.",
        "pages",
        "eff.",
        "eff.+meta",
        "freed",
        "pages",
        "eff.",
        "eff.+meta"
    );
    for row in results {
        let (before, after) = (row.before_compaction, row.after_compaction);
        let _ = writeln!(
            table,
            "{:<26} {:>11} {:>6.3} | {:>13} {:>6.3} {:>9.3} | {:>9} {:>11} {:>6.3} {:>9.3}",
            row.allocator,
            row.after_fill.data_pages,
            row.efficiency_after_fill(),
            before.data_pages,
            row.efficiency_after_churn(before, false),
            row.efficiency_after_churn(before, true),
            row.pages_compacted,
            after.data_pages,
            row.efficiency_after_churn(after, false),
            row.efficiency_after_churn(after, true),
        );
    }
    table
}

/// One part-2 result as a JSON line.
pub fn churn_json(row: &ChurnResult) -> JsonLine {
    let (before, after) = (row.before_compaction, row.after_compaction);
    JsonLine::new("churn")
        .text("allocator", &row.allocator)
        .integer("churned", row.churned)
        .integer("stored_bytes_after_fill", row.stored_bytes_after_fill)
        .integer("pages_after_fill", row.after_fill.data_pages)
        .number("efficiency_after_fill", row.efficiency_after_fill(), 4)
        .integer("stored_bytes_after_churn", row.stored_bytes_after_churn)
        .integer("pages_before_compaction", before.data_pages)
        .integer("metadata_bytes_before_compaction", before.metadata_bytes)
        .number(
            "efficiency_before_compaction",
            row.efficiency_after_churn(before, false),
            4,
        )
        .number(
            "efficiency_before_compaction_with_metadata",
            row.efficiency_after_churn(before, true),
            4,
        )
        .integer("pages_compacted", row.pages_compacted)
        .integer("pages_after_compaction", after.data_pages)
        .integer("metadata_bytes_after_compaction", after.metadata_bytes)
        .number(
            "efficiency_after_compaction",
            row.efficiency_after_churn(after, false),
            4,
        )
        .number(
            "efficiency_after_compaction_with_metadata",
            row.efficiency_after_churn(after, true),
            4,
        )
}

/// Part 4 as a table.
pub fn speed_table(timings: &[Timing]) -> String {
    let mut table = format!(
        "{:<28} {:<26} {:>10} {:>8}\n",
        "operation", "subject", "ns/op", "ops/run"
    );
    for row in timings {
        let _ = writeln!(
            table,
            "{:<28} {:<26} {:>10.1} {:>8}",
            row.operation, row.subject, row.ns_per_op, row.operations
        );
    }
    table
}

/// One part-4 result as a JSON line; `place` is "host" or "qemu".
pub fn speed_json(row: &Timing, place: &str) -> JsonLine {
    JsonLine::new("speed")
        .text("where", place)
        .text("operation", &row.operation)
        .text("subject", &row.subject)
        .number("ns_per_op", row.ns_per_op, 1)
        .integer("operations", row.operations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_1_shows_metadata_bytes_per_object() {
        let row = EfficiencyResult {
            allocator: String::from("x"),
            objects: 4,
            stored_bytes: 4096,
            data_pages: 2,
            metadata_bytes: 100,
            pages_after_free: 0,
        };
        let table = efficiency_table(core::slice::from_ref(&row));
        let header = table.lines().next().unwrap();
        assert!(header.contains("metadata B") && header.contains("B/obj"));
        let words: alloc::vec::Vec<&str> =
            table.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            words,
            ["x", "4", "4096", "2", "0.500", "100", "25.0", "0.494"]
        );
        let line = efficiency_json(&row).line();
        assert!(line.contains(r#""metadata_bytes":100,"metadata_bytes_per_object":25.0,"efficiency_with_metadata":0.4940"#), "{line}");
    }

    #[test]
    fn json_lines_are_escaped_and_prefixed() {
        let line = JsonLine::new("t")
            .text("name", "a \"b\"\\\n\u{1}")
            .integer("n", 42)
            .number("x", 0.88888, 3)
            .line();
        assert_eq!(
            line,
            r#"BENCH-RESULT {"part":"t","name":"a \"b\"\\\n\u0001","n":42,"x":0.889}"#
        );
    }
}
