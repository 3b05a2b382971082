use super::*;

const DEMO_LOG: &str = r#"[INFO ] zsmalloc configuration: linux4 (boot option zsmalloc=...)
ZRAM-REPORT {"phase":"fill","compr_data_size":5246187,"mem_used_total":5906432,"future_field":[1,2]}
class  size  10%  obj_allocated obj_used pages_used pages_per_zspage freeable
    1    48    1            256        9          3                3        0
   83  1360    0            378      378        126                1        0
total                      634      387        129                         0

ZRAM-REPORT {"phase":"compact","compr_data_size":3940631,"mem_used_total":4530176}
"#;

#[test]
fn report_lines_become_records_with_every_field() {
    let runs = parse_log("demo", DEMO_LOG).unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.name, "linux4", "named after the configuration line");
    let records: Vec<&Record> = run.records("ZRAM-REPORT").collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].text("phase"), Some("fill"));
    assert_eq!(records[0].number("mem_used_total"), Some(5906432.0));
    assert!(
        records[0].fields.contains_key("future_field"),
        "unknown fields are kept"
    );
    assert_eq!(records[0].number("no_such_field"), None);
}

#[test]
fn the_class_table_is_read_by_its_column_names() {
    let runs = parse_log("demo", DEMO_LOG).unwrap();
    assert_eq!(
        runs[0].classes,
        [
            ClassRow {
                size: 48,
                objects: 9,
                pages: 3
            },
            ClassRow {
                size: 1360,
                objects: 378,
                pages: 126
            },
        ]
    );
}

#[test]
fn other_report_kinds_are_records_too_and_text_is_ignored() {
    let log = "boot noise\nSWAP-REPORT {\"swapped_out\":12}\nNOT-A-REPORT line\nREPORT {\"x\":1}\n";
    let runs = parse_log("swap.log", log).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].name, "swap.log",
        "no configuration line: the file's name"
    );
    assert_eq!(runs[0].records.len(), 1);
    assert_eq!(runs[0].records[0].kind, "SWAP-REPORT");
    assert_eq!(runs[0].records[0].number("swapped_out"), Some(12.0));
}

#[test]
fn a_malformed_line_is_an_error_naming_its_line() {
    let log = "ZRAM-REPORT {\"phase\":\"fill\"}\nBENCH-RESULT {\"part\":\"speed\",\n";
    let error = parse_log("bench", log).unwrap_err();
    assert!(
        error.starts_with("2: malformed BENCH-RESULT line"),
        "{error}"
    );
    let error = parse_log("bench", "ZRAM-REPORT [1, 2]").unwrap_err();
    assert!(error.contains("not a JSON object"), "{error}");
}

#[test]
fn a_repeated_phase_starts_a_new_run() {
    let log = "ZRAM-REPORT {\"phase\":\"fill\"}\nZRAM-REPORT {\"phase\":\"fill\"}\n";
    let runs = parse_log("twice", log).unwrap();
    let names: Vec<&str> = runs.iter().map(|run| run.name.as_str()).collect();
    assert_eq!(names, ["twice", "twice#2"]);
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let error = read_log(Path::new("/nonexistent/run.log")).unwrap_err();
    assert!(
        error.starts_with("cannot read /nonexistent/run.log"),
        "{error}"
    );
}
