extern crate std;

use super::*;
use std::string::ToString;

fn command(line: &str) -> Command<'_> {
    parse(line)
        .unwrap_or_else(|error| panic!("'{line}': {error}"))
        .unwrap_or_else(|| panic!("'{line}' is no command"))
}

fn error(line: &str) -> std::string::String {
    match parse(line) {
        Err(error) => error.to_string(),
        Ok(parsed) => panic!("'{line}' parsed as {parsed:?}"),
    }
}

#[test]
fn simple_commands_parse() {
    for (line, expected) in [
        ("help", Command::Help),
        ("churn", Command::Churn),
        ("compact", Command::Compact),
        ("stats", Command::Stats),
        ("classes", Command::Classes),
        ("pool", Command::Pool),
        ("frames", Command::Frames),
        ("kmap", Command::Kmap),
        ("exit", Command::Exit),
        ("  stats  ", Command::Stats),
    ] {
        assert_eq!(command(line), expected, "{line}");
        assert_eq!(command(line).name(), line.trim());
    }
}

#[test]
fn empty_lines_and_comments_are_no_command() {
    assert_eq!(parse(""), Ok(None));
    assert_eq!(parse("   "), Ok(None));
    assert_eq!(parse("# fill the store"), Ok(None));
}

#[test]
fn write_takes_text_with_its_spaces() {
    assert_eq!(
        command("write 1 hello,  world "),
        Command::Write {
            slot: 1,
            source: WriteSource::Text("hello,  world ")
        }
    );
    assert_eq!(
        command("write 2 text zero is a number"),
        Command::Write {
            slot: 2,
            source: WriteSource::Text("zero is a number")
        }
    );
    assert_eq!(
        command("write 3 randomness"),
        Command::Write {
            slot: 3,
            source: WriteSource::Text("randomness")
        }
    );
}

#[test]
fn write_takes_random_zero_and_corpus_pages() {
    let write = |slot, source| Command::Write { slot, source };
    assert_eq!(
        command("write 0 random"),
        write(0, WriteSource::Random { bytes: 4096 })
    );
    assert_eq!(
        command("write 7 random 900"),
        write(7, WriteSource::Random { bytes: 900 })
    );
    assert_eq!(command("write 1 zero"), write(1, WriteSource::Zero));
    assert_eq!(
        command("write 9 corpus 41"),
        write(9, WriteSource::Corpus { page: 41 })
    );
}

#[test]
fn write_errors_say_what_is_wrong() {
    assert!(error("write").contains("missing SLOT"));
    assert!(error("write one hello").contains("SLOT must be a whole number, not 'one'"));
    assert!(error("write 1").contains("missing what to write"));
    assert!(error("write 1 random 0").contains("BYTES 0 is out of range (1..=4096)"));
    assert!(error("write 1 random 4097").contains("out of range"));
    assert!(error("write 1 random lots").contains("BYTES must be a whole number"));
    assert!(error("write 1 corpus").contains("missing PAGE"));
    assert!(error("write 1 zero please").contains("unexpected 'please'"));
    assert!(error("write 1 text").contains("missing TEXT"));
}

#[test]
fn read_discard_fill_and_their_errors() {
    assert_eq!(
        command("read 4"),
        Command::Read {
            slot: 4,
            hex: false
        }
    );
    assert_eq!(command("read 4 hex"), Command::Read { slot: 4, hex: true });
    assert_eq!(command("discard 12"), Command::Discard { slot: 12 });
    assert_eq!(command("fill 100"), Command::Fill { pages: 100 });
    assert!(error("read").contains("missing SLOT (usage: read SLOT [hex])"));
    assert!(error("read 4 octal").contains("unexpected 'octal'"));
    assert!(error("read -1").contains("not '-1'"));
    assert!(error("read +1").contains("not '+1'"));
    assert!(error("discard 99999999999999999999999").contains("whole number"));
    assert!(error("fill").contains("missing N"));
    assert!(error("fill 10 20").contains("unexpected '20'"));
}

#[test]
fn limit_takes_sizes() {
    assert_eq!(command("limit 2M"), Command::Limit { bytes: 2 << 20 });
    assert_eq!(command("limit 0"), Command::Limit { bytes: 0 });
    assert_eq!(command("limit none"), Command::Limit { bytes: 0 });
    assert!(error("limit").contains("missing SIZE"));
    assert!(error("limit big").contains("invalid size 'big'"));
}

#[test]
fn sizes_parse() {
    assert_eq!(parse_size("4096"), Some(4096));
    assert_eq!(parse_size("64K"), Some(64 << 10));
    assert_eq!(parse_size("64k"), Some(64 << 10));
    assert_eq!(parse_size("3MiB"), Some(3 << 20));
    assert_eq!(parse_size("1G"), Some(1 << 30));
    assert_eq!(parse_size("12B"), Some(12));
    assert_eq!(parse_size("NONE"), Some(0));
    for bad in ["", "K", "1.5M", "-1", "2T", "99999999999G", "M2"] {
        assert_eq!(parse_size(bad), None, "{bad}");
    }
}

#[test]
fn auto_takes_on_or_off() {
    assert_eq!(command("auto on"), Command::Auto { on: true });
    assert_eq!(command("auto off"), Command::Auto { on: false });
    assert!(error("auto").contains("missing on or off (usage: auto on|off)"));
    assert!(error("auto yes").contains("unexpected 'yes'"));
    assert!(error("auto on now").contains("unexpected 'now'"));
}

#[test]
fn config_takes_a_name() {
    assert_eq!(command("config linux4"), Command::Config { name: "linux4" });
    assert!(error("config").contains("missing NAME"));
    assert!(error("config a b").contains("unexpected 'b'"));
}

#[test]
fn unknown_commands_and_extra_words_are_errors() {
    assert_eq!(
        error("raed 1"),
        "unknown command 'raed' (type help for the list)"
    );
    assert!(error("stats now").contains("unexpected 'now' (usage: stats)"));
    assert!(error("exit 0").contains("unexpected '0'"));
}

#[test]
fn help_names_every_command() {
    for name in [
        "help", "write", "read", "discard", "fill", "churn", "compact", "stats", "classes", "pool",
        "frames", "kmap", "limit", "config", "exit",
    ] {
        assert!(HELP.contains(&std::format!("\n  {name} ")), "{name}");
    }
}
