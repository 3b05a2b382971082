//! # tour-check — every path and item the tour names is real
//!
//! The guided tour (`book/src/**/*.md`) and the labs' READMEs
//! (`labs/**/README.md`, when `labs/` exists) point students at files and
//! at the items defined in them. Code moves; this crate notices when a
//! pointer no longer leads anywhere.
//!
//! ```text
//!   book/src/zspages.md ──► code spans ──► paths ──────► exists in the repository?
//!                                     └──► path + items ► defined in that .rs file?
//! ```
//!
//! ## Scanning rules
//!
//! Only inline code spans (text between single backticks) are read;
//! fenced code blocks (```` ``` ````) are skipped, since they hold commands
//! and program output.
//!
//! 1. **Paths.** A span is a repository path when it has no whitespace, no
//!    `*`, no `<` (a template such as `labs/<lab>/`), no `://`, contains a
//!    `/`, does not start with `/`, `-` or `~`, and either ends in `/` (a directory) or its last component has an
//!    extension (`pool.rs`, `book.toml`, `corpus.pages.gz`). A leading `./`
//!    is dropped. Paths are relative to the repository root and must exist.
//!    Spans that start with a directory of Linux's source tree
//!    ([`LINUX_TREES`]: `mm/`, `drivers/`, `Documentation/`, ...) are
//!    Linux's files and are not checked (the repository has no such
//!    top-level directory). A component in capitals without an extension
//!    is a placeholder (`labs/NAME/`, `labs/NAME/README.md`): such spans
//!    are not checked either.
//! 2. **Qualified items.** `path.rs::Item` (or `path.rs::Type::method`)
//!    names an item of that file.
//! 3. **Items after a path.** Code spans that directly follow a span naming
//!    a `.rs` file, separated from it and from each other only by
//!    whitespace, `,`, `:`, `;`, `(`, `)`, dashes or the word `and`, name
//!    items of that file: `` `zsmalloc/src/pool.rs`: `Pool`, `Pool::malloc` ``.
//!    Any other text ends the run, and so does a new paragraph, heading,
//!    list item, quote, table row or fenced block.
//! 4. **What counts as defined.** An item `Name` (a trailing `()` or `!` is
//!    dropped) is defined in a file when, outside `//` comments, the file
//!    has `fn`, `struct`, `enum`, `union`, `trait`, `const`, `static`
//!    (`static mut`), `type`, `mod` or `macro_rules!` followed by `Name`.
//!    `Type::method` needs both `fn method` and `Type` defined in the
//!    file or named by an `impl` line of the file.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

mod markdown;
mod rust_items;

pub use markdown::{code_spans, references, Reference, Span};
pub use rust_items::defines;

/// Top-level directories of Linux's source tree: paths starting with one of
/// them are Linux's files, named as pointers into its source, not checked.
pub const LINUX_TREES: &[&str] = &[
    "mm/",
    "drivers/",
    "Documentation/",
    "include/",
    "arch/",
    "lib/",
    "block/",
    "fs/",
    "init/",
];

/// A pointer of a Markdown file that leads nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The Markdown file, relative to the repository root.
    pub file: PathBuf,
    /// Its line (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// The Markdown files the check reads, relative to `root`, sorted:
/// `book/src/**/*.md` and, when `labs/` exists, `labs/**/README.md`.
pub fn documents(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect(
        root,
        Path::new("book/src"),
        &mut |name| name.ends_with(".md"),
        &mut found,
    );
    collect(
        root,
        Path::new("labs"),
        &mut |name| name == "README.md",
        &mut found,
    );
    found.sort();
    found
}

fn collect(
    root: &Path,
    directory: &Path,
    wanted: &mut dyn FnMut(&str) -> bool,
    found: &mut Vec<PathBuf>,
) {
    let Ok(entries) = fs::read_dir(root.join(directory)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = directory.join(&name);
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect(root, &relative, wanted, found),
            Ok(kind) if kind.is_file() && wanted(&name) => found.push(relative),
            _ => {}
        }
    }
}

/// Checks one Markdown text (`file`, relative to `root`, only names it in
/// the problems) against the repository at `root`.
pub fn check_text(root: &Path, file: &Path, text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    for reference in references(text) {
        let problem = |message: String| Problem {
            file: file.to_path_buf(),
            line: reference.line,
            message,
        };
        let target = root.join(&reference.path);
        if !target.exists() {
            problems.push(problem(format!("`{}` does not exist", reference.path)));
            continue;
        }
        for item in &reference.items {
            match fs::read_to_string(&target) {
                Ok(source) if defines(&source, item) => {}
                Ok(_) => problems.push(problem(format!(
                    "`{item}` is not defined in `{}`",
                    reference.path
                ))),
                Err(error) => problems.push(problem(format!(
                    "cannot read `{}`: {error}",
                    reference.path
                ))),
            }
        }
    }
    problems
}

/// Checks every document of [`documents`] under `root`.
pub fn check_repository(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for file in documents(root) {
        match fs::read_to_string(root.join(&file)) {
            Ok(text) => problems.extend(check_text(root, &file, &text)),
            Err(error) => problems.push(Problem {
                file,
                line: 0,
                message: format!("cannot read: {error}"),
            }),
        }
    }
    problems
}

#[cfg(test)]
mod tests;
