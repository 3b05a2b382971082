extern crate std;

use super::*;
use std::string::String;
use std::vec::Vec;

/// Feed `bytes`; return the events with the line each ended, and the echo.
fn type_bytes(editor: &mut LineEditor, bytes: &[u8]) -> (Vec<(Event, String)>, Vec<u8>) {
    let mut echoed = Vec::new();
    let mut events = Vec::new();
    for &byte in bytes {
        if let Some(event) = editor.feed(byte, &mut |shown| echoed.extend_from_slice(shown)) {
            events.push((event, String::from(editor.line())));
        }
    }
    (events, echoed)
}

fn lines(bytes: &[u8]) -> Vec<(Event, String)> {
    type_bytes(&mut LineEditor::new(), bytes).0
}

#[test]
fn a_line_is_echoed_and_ends_with_enter() {
    let mut editor = LineEditor::new();
    let (events, echoed) = type_bytes(&mut editor, b"stats\r");
    assert_eq!(events, [(Event::Line, "stats".into())]);
    assert_eq!(echoed, b"stats\r\n");
}

#[test]
fn cr_lf_and_lf_each_end_one_line() {
    let events = lines(b"a\r\nb\nc\r\r\n");
    let texts: Vec<&str> = events.iter().map(|(_, line)| line.as_str()).collect();
    assert_eq!(texts, ["a", "b", "c", ""]);
    assert!(events.iter().all(|(event, _)| *event == Event::Line));
}

#[test]
fn backspace_and_delete_remove_the_last_character() {
    let mut editor = LineEditor::new();
    let (events, echoed) = type_bytes(&mut editor, b"reax\x08d 1\x7f2\n");
    assert_eq!(events, [(Event::Line, "read 2".into())]);
    assert_eq!(echoed, b"reax\x08 \x08d 1\x08 \x082\r\n");
}

#[test]
fn backspace_on_an_empty_line_does_nothing() {
    let mut editor = LineEditor::new();
    let (events, echoed) = type_bytes(&mut editor, b"\x08\x7fok\n");
    assert_eq!(events, [(Event::Line, "ok".into())]);
    assert_eq!(echoed, b"ok\r\n");
}

#[test]
fn a_line_longer_than_the_capacity_is_refused_whole() {
    let mut long = Vec::new();
    long.resize(LINE_CAPACITY + 5, b'x');
    long.push(b'\n');
    long.extend_from_slice(b"next\n");
    let mut editor = LineEditor::new();
    let (events, echoed) = type_bytes(&mut editor, &long);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].0, Event::TooLong);
    assert_eq!(events[1], (Event::Line, "next".into()));
    // The five bytes that did not fit rang the bell instead of echoing.
    assert_eq!(echoed.iter().filter(|&&byte| byte == 0x07).count(), 5);
}

#[test]
fn a_line_of_exactly_the_capacity_is_kept() {
    let mut full = Vec::new();
    full.resize(LINE_CAPACITY, b'y');
    full.push(b'\n');
    let events = lines(&full);
    assert_eq!(events[0].0, Event::Line);
    assert_eq!(events[0].1.len(), LINE_CAPACITY);
}

#[test]
fn non_ascii_bytes_refuse_the_line() {
    // "write 1 é" in UTF-8, then a clean line.
    let mut editor = LineEditor::new();
    let (events, echoed) = type_bytes(&mut editor, b"write 1 \xc3\xa9\nstats\n");
    assert_eq!(events[0].0, Event::NotAscii);
    assert_eq!(events[1], (Event::Line, "stats".into()));
    assert!(echoed.starts_with(b"write 1 \x07\x07\r\n"));
}

#[test]
fn escape_sequences_are_ignored() {
    // Up arrow, left arrow (ESC [ A, ESC [ D), F1 (ESC O P), ESC [ 3 ~ (Delete key).
    let events = lines(b"st\x1b[A\x1b[Da\x1bOPt\x1b[3~s\n");
    assert_eq!(events, [(Event::Line, "stats".into())]);
}

#[test]
fn a_control_byte_ends_a_broken_escape_sequence() {
    let events = lines(b"pool\x1b[1\n\x1b\x04");
    assert_eq!(
        events,
        [(Event::Line, "pool".into()), (Event::EndOfInput, "".into())]
    );
}

#[test]
fn ctrl_c_abandons_the_line_and_ctrl_u_erases_it() {
    let mut editor = LineEditor::new();
    let (events, echoed) = type_bytes(&mut editor, b"fill 9\x03pool\x15kmap\n");
    assert_eq!(
        events,
        [
            (Event::Cancelled, "fill 9".into()),
            (Event::Line, "kmap".into())
        ]
    );
    assert_eq!(
        echoed,
        b"fill 9^C\r\npool\x08 \x08\x08 \x08\x08 \x08\x08 \x08kmap\r\n"
    );
}

#[test]
fn ctrl_d_ends_input_only_on_an_empty_line() {
    let events = lines(b"ab\x04\n\x04");
    assert_eq!(
        events,
        [(Event::Line, "ab".into()), (Event::EndOfInput, "".into())]
    );
}

#[test]
fn tabs_become_spaces_and_other_controls_ring() {
    let mut editor = LineEditor::new();
    let (events, echoed) = type_bytes(&mut editor, b"read\t1\x01\x02\n");
    assert_eq!(events, [(Event::Line, "read 1".into())]);
    assert_eq!(echoed, b"read 1\x07\x07\r\n");
}

#[test]
fn every_byte_value_is_taken_without_panicking() {
    let mut editor = LineEditor::new();
    let all: Vec<u8> = (0..=255u8).cycle().take(256 * 4).collect();
    let (events, _) = type_bytes(&mut editor, &all);
    assert!(!events.is_empty());
    assert!(editor.line().len() <= LINE_CAPACITY);
}
