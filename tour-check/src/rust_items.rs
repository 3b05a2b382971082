//! Whether a Rust source file defines an item (rule 4 of the crate docs).
//!
//! ```text
//!   "pub(crate) unsafe fn map_page(" ──► words: pub crate unsafe fn map_page
//!                                         "fn" then "map_page": defines map_page
//! ```

/// Keywords that introduce a named item.
const ITEM_KEYWORDS: &[&str] = &[
    "fn",
    "struct",
    "enum",
    "union",
    "trait",
    "const",
    "static",
    "type",
    "mod",
    "macro_rules",
];

/// The identifier-like words of one line, `//` comment removed.
fn words(line: &str) -> impl Iterator<Item = &str> {
    let code = line.split("//").next().unwrap_or("");
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
}

/// Whether `source` defines `name` with one of [`ITEM_KEYWORDS`].
fn defines_name(source: &str, name: &str) -> bool {
    source.lines().any(|line| {
        let words: Vec<&str> = words(line).collect();
        words.windows(2).any(|pair| {
            (ITEM_KEYWORDS.contains(&pair[0]) && pair[1] == name)
                || (pair[0] == "mut" && pair[1] == name && words.contains(&"static"))
        })
    })
}

/// Whether some `impl` line of `source` names `type_name`.
fn implements(source: &str, type_name: &str) -> bool {
    source.lines().any(|line| {
        let mut words = words(line);
        words.next() == Some("impl") && words.any(|word| word == type_name)
    })
}

/// Whether `source` defines `item`: `Name`, or `Type::method` (a `fn method`
/// with `Type` defined or implemented in the same file).
pub fn defines(source: &str, item: &str) -> bool {
    match item.split_once("::") {
        Some((type_name, method)) => {
            defines_name(source, method)
                && (defines_name(source, type_name) || implements(source, type_name))
        }
        None => defines_name(source, item),
    }
}
