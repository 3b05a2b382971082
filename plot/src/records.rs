//! Reading run logs: the report lines the kernel and the benchmark print for
//! tools, grouped into runs.
//!
//! ```text
//!   [INFO ] zsmalloc configuration: linux4 (...)       <- names the run's configuration
//!   ZRAM-REPORT {"phase":"fill","mem_used_total":...}  <- a Record of kind "ZRAM-REPORT"
//!   class  size ... obj_used pages_used ...            <- a class table (text, like Linux's
//!       1    48 ...        9          3 ...               debugfs `classes` file)
//!   BENCH-RESULT {"part":"churn","allocator":...}      <- a Record of kind "BENCH-RESULT"
//!   SWAP-REPORT {...}                                  <- any `NAME-REPORT {json}` line too
//! ```
//!
//! A record keeps every field of its JSON object; charts ask for the fields
//! they need by name and ignore the rest, so reports can grow new fields
//! (and new `…-REPORT` lines) without breaking anything here. A line that
//! starts with a report prefix but does not hold one JSON object is an error
//! naming the file and line.

use serde_json::{Map, Value};
use std::path::Path;

/// The kinds whose lines must hold a JSON object.
const KNOWN_KINDS: [&str; 2] = ["ZRAM-REPORT", "BENCH-RESULT"];

/// A record line: a known kind, or any `NAME-REPORT` followed by `{`.
fn record_kind(line: &str) -> Option<(&str, &str)> {
    let (kind, rest) = line.split_once(' ')?;
    let other_report = kind.ends_with("-REPORT")
        && kind.len() > "-REPORT".len()
        && kind
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte == b'-')
        && rest.starts_with('{');
    (KNOWN_KINDS.contains(&kind) || other_report).then_some((kind, rest))
}

/// One report line: its kind (the prefix) and its JSON fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub kind: String,
    pub fields: Map<String, Value>,
}

impl Record {
    /// A number field (integers and decimals alike).
    pub fn number(&self, key: &str) -> Option<f64> {
        self.fields.get(key)?.as_f64()
    }

    /// A string field.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key)?.as_str()
    }
}

/// One row of a class table: a size class and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassRow {
    pub size: u64,
    pub objects: u64,
    pub pages: u64,
}

/// The report lines of one run of the kernel or the benchmark.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// Who produced it: the zsmalloc configuration the log names, else the
    /// log file's name (with `#2`, `#3` for later runs in the same file).
    pub name: String,
    pub records: Vec<Record>,
    /// The class table printed with the last phase, if any.
    pub classes: Vec<ClassRow>,
}

impl Run {
    /// The records of one kind, in log order.
    pub fn records<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records
            .iter()
            .filter(move |record| record.kind == kind)
    }
}

/// Parse one log. `source` names it in errors and is the runs' fallback name.
pub fn parse_log(source: &str, text: &str) -> Result<Vec<Run>, String> {
    let mut parser = Parser {
        source,
        runs: Vec::new(),
        current: Run::default(),
        configuration: None,
        class_columns: None,
    };
    for (index, line) in text.lines().enumerate() {
        parser.line(index + 1, line.trim_end_matches('\r'))?;
    }
    parser.finish_run();
    Ok(parser.runs)
}

/// Read and parse the log at `path`.
pub fn read_log(path: &Path) -> Result<Vec<Run>, String> {
    let bytes =
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    let name = name
        .strip_suffix(".log")
        .or_else(|| name.strip_suffix(".txt"))
        .unwrap_or(&name);
    parse_log(name, &String::from_utf8_lossy(&bytes))
        .map_err(|error| format!("{}:{error}", path.display()))
}

/// Where the columns of a class table are (found from its header line).
#[derive(Clone, Copy, Debug)]
struct ClassColumns {
    size: usize,
    objects: usize,
    pages: usize,
}

struct Parser<'a> {
    source: &'a str,
    runs: Vec<Run>,
    current: Run,
    configuration: Option<String>,
    class_columns: Option<ClassColumns>,
}

impl Parser<'_> {
    fn line(&mut self, number: usize, line: &str) -> Result<(), String> {
        if let Some((kind, json)) = record_kind(line) {
            self.class_columns = None;
            let fields = match serde_json::from_str::<Value>(json) {
                Ok(Value::Object(fields)) => fields,
                Ok(_) => {
                    return Err(format!(
                        "{number}: {kind} line is not a JSON object: {json}"
                    ))
                }
                Err(error) => {
                    return Err(format!("{number}: malformed {kind} line ({error}): {json}"))
                }
            };
            let record = Record {
                kind: kind.to_string(),
                fields,
            };
            if self.repeats_a_phase(&record) {
                self.finish_run();
            }
            self.current.records.push(record);
        } else if let Some(name) = line
            .split_once("zsmalloc configuration: ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
        {
            if self.configuration.is_some() && !self.current.records.is_empty() {
                self.finish_run();
            }
            self.configuration = Some(name.to_string());
        } else if let Some(columns) = class_header(line) {
            self.class_columns = Some(columns);
            self.current.classes.clear();
        } else if let Some(columns) = self.class_columns {
            match class_row(line, columns) {
                Some(row) => self.current.classes.push(row),
                None => self.class_columns = None,
            }
        }
        Ok(())
    }

    /// A phase seen again starts a new run (two demo runs in one log).
    fn repeats_a_phase(&self, record: &Record) -> bool {
        let Some(phase) = record.text("phase") else {
            return false;
        };
        self.current
            .records(&record.kind)
            .any(|earlier| earlier.text("phase") == Some(phase))
    }

    fn finish_run(&mut self) {
        let mut run = std::mem::take(&mut self.current);
        if run.records.is_empty() && run.classes.is_empty() {
            return;
        }
        run.name = match &self.configuration {
            Some(name) => name.clone(),
            None => self.source.to_string(),
        };
        let same = self
            .runs
            .iter()
            .filter(|earlier| {
                earlier.name == run.name || earlier.name.starts_with(&format!("{}#", run.name))
            })
            .count();
        if same > 0 {
            run.name = format!("{}#{}", run.name, same + 1);
        }
        self.runs.push(run);
    }
}

/// A class table's header: it names the columns `size`, `obj_used` and
/// `pages_used` (Linux's debugfs names); other columns are ignored.
fn class_header(line: &str) -> Option<ClassColumns> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = |name: &str| words.iter().position(|word| *word == name);
    if words.first() != Some(&"class") {
        return None;
    }
    Some(ClassColumns {
        size: at("size")?,
        objects: at("obj_used")?,
        pages: at("pages_used")?,
    })
}

/// A class table row (all-number words); anything else ends the table.
fn class_row(line: &str, columns: ClassColumns) -> Option<ClassRow> {
    let numbers: Vec<u64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    Some(ClassRow {
        size: *numbers.get(columns.size)?,
        objects: *numbers.get(columns.objects)?,
        pages: *numbers.get(columns.pages)?,
    })
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
