//! From Markdown to references: code spans outside fenced blocks, and which
//! of them name a path (with the items that follow it).
//!
//! ```text
//!   "`zsmalloc/src/pool.rs`: `Pool`, `Pool::malloc` keeps `Stats`"
//!     span 1: path ─┐     span 2 ─┘ span 3 ─┘  "keeps" ends the run
//!   ──► Reference { path: "zsmalloc/src/pool.rs", items: ["Pool", "Pool::malloc"] }
//! ```

use crate::LINUX_TREES;

/// One inline code span: its text and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The text between the backticks, trimmed.
    pub text: String,
    /// Line of the opening backtick.
    pub line: usize,
    /// The Markdown text between the previous span (or the chunk's start)
    /// and this one.
    pub before: String,
    /// Which stretch of prose between fenced blocks it is in (0, 1, ...).
    pub chunk: usize,
}

/// A path named by the text, with the items it must define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Repository-relative path, without a leading `./`.
    pub path: String,
    /// Items of that file (only for `.rs` files): `Name` or `Type::method`.
    pub items: Vec<String>,
    /// Line of the span that names the path (1-based).
    pub line: usize,
}

/// The text outside fenced code blocks, as chunks that each start on a
/// known line (1-based): a fence ends one chunk, and the next starts after
/// the closing fence.
fn prose_chunks(text: &str) -> Vec<(usize, String)> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    let mut fence: Option<&str> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(marker)) => {
                chunks.push((start, std::mem::take(&mut current)));
                fence = Some(marker);
            }
            (Some(open), Some(marker)) if open == marker => {
                fence = None;
                start = index + 2;
            }
            (Some(_), _) => {}
            (None, None) => {
                current.push_str(line);
                current.push('\n');
            }
        }
    }
    if fence.is_none() {
        chunks.push((start, current));
    }
    chunks
}

/// Every inline code span outside fenced blocks. A span opens with a run of
/// backticks and closes at the next run of the same length; an unclosed run
/// is plain text.
pub fn code_spans(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    for (chunk_index, (first_line, chunk)) in prose_chunks(text).into_iter().enumerate() {
        let bytes = chunk.as_bytes();
        let mut position = 0;
        let mut text_start = 0;
        while position < bytes.len() {
            if bytes[position] != b'`' {
                position += 1;
                continue;
            }
            let run = bytes[position..].iter().take_while(|&&b| b == b'`').count();
            let content_start = position + run;
            match find_run(bytes, content_start, run) {
                Some(close) => {
                    let line = first_line + chunk[..position].matches('\n').count();
                    spans.push(Span {
                        text: chunk[content_start..close].trim().to_string(),
                        line,
                        before: chunk[text_start..position].to_string(),
                        chunk: chunk_index,
                    });
                    position = close + run;
                    text_start = position;
                }
                None => position = content_start,
            }
        }
    }
    spans
}

/// The start of the next run of exactly `run` backticks at or after `from`.
fn find_run(bytes: &[u8], from: usize, run: usize) -> Option<usize> {
    let mut position = from;
    while position < bytes.len() {
        if bytes[position] == b'`' {
            let length = bytes[position..].iter().take_while(|&&b| b == b'`').count();
            if length == run {
                return Some(position);
            }
            position += length;
        } else {
            position += 1;
        }
    }
    None
}

/// Whether a span names a repository path (rule 1 of the crate docs);
/// returns it without a leading `./`.
fn as_path(span: &str) -> Option<&str> {
    let path = span.strip_prefix("./").unwrap_or(span);
    let plain = !path.is_empty()
        && !path.contains(char::is_whitespace)
        && !path.contains('*')
        && !path.contains('<')
        && !path.contains("://")
        && path.contains('/')
        && !path.starts_with(['/', '-', '~', '.']);
    if !plain
        || LINUX_TREES.iter().any(|tree| path.starts_with(tree))
        || path.split('/').any(is_placeholder)
    {
        return None;
    }
    let last = path.rsplit('/').next().unwrap_or("");
    let has_extension = last
        .rsplit_once('.')
        .is_some_and(|(stem, extension)| !stem.is_empty() && is_word(extension));
    (path.ends_with('/') || has_extension).then_some(path)
}

/// A path component that stands for any name (`NAME` in `labs/NAME/`):
/// capitals, digits and `_` only, starting with a capital, no extension.
fn is_placeholder(component: &str) -> bool {
    component.starts_with(|c: char| c.is_ascii_uppercase())
        && component
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn is_word(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_identifier(text: &str) -> bool {
    is_word(text) && !text.starts_with(|c: char| c.is_ascii_digit())
}

/// An item name as a span may write it: `Name`, `Type::method`, with an
/// optional trailing `()` or `!`.
fn as_item(span: &str) -> Option<&str> {
    let name = span
        .strip_suffix("()")
        .or_else(|| span.strip_suffix('!'))
        .unwrap_or(span);
    let parts: Vec<&str> = name.split("::").collect();
    (parts.len() <= 2 && parts.iter().all(|part| is_identifier(part))).then_some(name)
}

/// Whether the text between two spans keeps a run of items going: only
/// separators, and no new paragraph or list item in between.
fn is_separator(text: &str) -> bool {
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len() - 1;
    let new_block = lines.iter().enumerate().skip(1).any(|(index, line)| {
        let line = line.trim_start();
        // A blank line between the spans (not the empty start of the
        // span's own line) is a new paragraph.
        (line.is_empty() && index < last)
            || line.starts_with(['-', '*', '+', '>', '|', '#'])
            || line.split_once(". ").is_some_and(|(number, _)| {
                !number.is_empty() && number.chars().all(|c| c.is_ascii_digit())
            })
    });
    !new_block
        && text
            .split(|c: char| c.is_whitespace() || ",:;()—–-".contains(c))
            .all(|word| word.is_empty() || word == "and")
}

/// Every path the text names, with its items (rules 1–3 of the crate docs).
pub fn references(text: &str) -> Vec<Reference> {
    let mut found: Vec<Reference> = Vec::new();
    // Whether the last reference is a `.rs` file still taking items.
    let mut open = false;
    let mut chunk = 0;
    for span in code_spans(text) {
        // A fenced block ends a run of items too.
        open &= span.chunk == chunk;
        chunk = span.chunk;
        if let Some((path, item)) = span.text.split_once(".rs::") {
            if let (Some(path), Some(item)) = (as_path(&format!("{path}.rs")), as_item(item)) {
                found.push(Reference {
                    path: path.to_string(),
                    items: vec![item.to_string()],
                    line: span.line,
                });
                open = false;
                continue;
            }
        }
        if let Some(path) = as_path(&span.text) {
            found.push(Reference {
                path: path.to_string(),
                items: Vec::new(),
                line: span.line,
            });
            open = path.ends_with(".rs");
            continue;
        }
        match (open && is_separator(&span.before), as_item(&span.text)) {
            (true, Some(item)) => found.last_mut().expect("open").items.push(item.to_string()),
            _ => open = false,
        }
    }
    found
}
