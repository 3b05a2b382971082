//! The checker's own tests: it finds what it should, and catches a missing
//! path and a missing item.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// A fresh directory holding a small repository: `src/pool.rs` defining a
/// few items.
fn repository(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("tour-check-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("src")).unwrap();
    fs::write(
        root.join("src/pool.rs"),
        "pub struct Pool;\n\
         impl Pool {\n    pub(crate) unsafe fn malloc(&self) {}\n}\n\
         // fn commented_out() {}\n\
         pub const PAGE_SIZE: usize = 4096;\n\
         static mut COUNTER: u32 = 0;\n\
         macro_rules! kernel_test { () => {} }\n",
    )
    .unwrap();
    root
}

fn messages(root: &Path, text: &str) -> Vec<String> {
    check_text(root, Path::new("chapter.md"), text)
        .into_iter()
        .map(|problem| problem.to_string())
        .collect()
}

#[test]
fn real_paths_and_items_pass() {
    let root = repository("pass");
    let text = "See `src/pool.rs`: `Pool`, `Pool::malloc()`, `PAGE_SIZE` and `kernel_test!`.\n\
                Also `src/pool.rs::COUNTER` and the directory `src/`.\n";
    assert_eq!(messages(&root, text), Vec::<String>::new());
}

#[test]
fn a_missing_path_is_caught() {
    let root = repository("path");
    let text = "intro\n\nThe pool lives in `src/poool.rs`.\n";
    assert_eq!(
        messages(&root, text),
        ["chapter.md:3: `src/poool.rs` does not exist"]
    );
}

#[test]
fn a_missing_item_is_caught() {
    let root = repository("item");
    let text = "`src/pool.rs` — `Pool`, `Pool::free` and `Zspage`\n";
    assert_eq!(
        messages(&root, text),
        [
            "chapter.md:1: `Pool::free` is not defined in `src/pool.rs`",
            "chapter.md:1: `Zspage` is not defined in `src/pool.rs`",
        ]
    );
}

#[test]
fn a_qualified_item_is_checked() {
    let root = repository("qualified");
    assert_eq!(
        messages(&root, "`src/pool.rs::commented_out`"),
        ["chapter.md:1: `commented_out` is not defined in `src/pool.rs`"]
    );
}

#[test]
fn prose_between_spans_ends_the_run_of_items() {
    let found = references("`src/pool.rs` calls `Layout` and `src/a.rs`, `B`");
    assert_eq!(found.len(), 2);
    assert!(found[0].items.is_empty(), "{found:?}");
    assert_eq!(found[1].items, ["B"]);
}

#[test]
fn a_new_list_item_ends_the_run_of_items() {
    let found = references("- `src/pool.rs`: `Pool`\n- `COM1` is a port\n  `PAGE_SIZE`\n");
    assert_eq!(found[0].items, ["Pool"]);
    let found = references("`src/pool.rs`, `Pool`,\n`PAGE_SIZE`\n\n`COM1`");
    assert_eq!(found[0].items, ["Pool", "PAGE_SIZE"]);
    let found = references("`src/pool.rs`: `Pool`\n## Try it\n`COM1`");
    assert_eq!(found[0].items, ["Pool"]);
    let found = references("`src/pool.rs`: `Pool`\n```\nout\n```\n`COM1`");
    assert_eq!(found[0].items, ["Pool"]);
}

#[test]
fn fenced_blocks_linux_paths_and_non_paths_are_not_checked() {
    let root = repository("skipped");
    let text = "```sh\ncat `missing/file.rs`\n```\n\
                Linux: `mm/zsmalloc.c`, `drivers/block/zram/zram_drv.c`,\n\
                `/sys/block/zram0/mm_stat`, `ZS_MM_RO | ZS_MM_WO`, `read/write`,\n\
                `book/src/**/*.md`, `labs/<lab>/README.md`, `https://example.org/x.html`.\n";
    assert_eq!(messages(&root, text), Vec::<String>::new());
    assert!(references(text).is_empty());
}

#[test]
fn placeholder_components_are_not_checked_but_capital_file_names_are() {
    let root = repository("placeholders");
    let text = "Each lab is `labs/NAME/`, with `labs/NAME/FILE.rs` and `labs/LAB_2/README.md`.\n\
                Missing: `labs/README.md`.\n";
    assert_eq!(
        messages(&root, text),
        ["chapter.md:2: `labs/README.md` does not exist"]
    );
}

#[test]
fn line_numbers_count_fenced_lines() {
    let found = references("a\n```\nb\nc\n```\n`src/x.rs`\n");
    assert_eq!(found[0].line, 6);
}

#[test]
fn double_backtick_spans_and_unclosed_backticks() {
    let spans = code_spans("``a`b`` then ` alone");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].text, "a`b");
}

#[test]
fn documents_are_the_book_and_the_labs_readmes() {
    let root = repository("documents");
    fs::create_dir_all(root.join("book/src/part")).unwrap();
    fs::create_dir_all(root.join("labs/buddy")).unwrap();
    fs::write(root.join("book/src/intro.md"), "`src/gone.rs`").unwrap();
    fs::write(root.join("book/src/part/one.md"), "").unwrap();
    fs::write(root.join("book/src/notes.txt"), "`src/gone.rs`").unwrap();
    fs::write(root.join("labs/buddy/README.md"), "`src/pool.rs`: `Nope`").unwrap();
    fs::write(root.join("labs/buddy/other.md"), "`src/gone.rs`").unwrap();
    let names: Vec<PathBuf> = documents(&root);
    assert_eq!(
        names,
        [
            PathBuf::from("book/src/intro.md"),
            PathBuf::from("book/src/part/one.md"),
            PathBuf::from("labs/buddy/README.md"),
        ]
    );
    let problems: Vec<String> = check_repository(&root)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        [
            "book/src/intro.md:1: `src/gone.rs` does not exist",
            "labs/buddy/README.md:1: `Nope` is not defined in `src/pool.rs`",
        ]
    );
}
