//! Fullness groups: how full a zspage is, in Linux's 10% steps.
//!
//! ```text
//!   group:   0        1      2     ...   10      11
//!           empty   <10%   <20%   ...  <100%   full
//! ```
//!
//! Linux's layout keeps one list of zspages per group (malloc fills the
//! fullest, compaction empties the sparsest); the statistics of every layout
//! count zspages per group.

use alloc::format;
use alloc::string::String;

/// Number of fullness groups: empty, ten 10% steps, full.
pub const FULLNESS_GROUPS: usize = 12;
/// Group of a zspage with nothing in use.
pub const EMPTY_GROUP: usize = 0;
/// Group of a zspage with everything in use.
pub const FULL_GROUP: usize = 11;

/// Linux's `get_fullness_group`: 0 when `used` is 0, 11 when it is
/// `capacity`, else `percent / 10 + 1` (units: objects, or bytes).
pub fn fullness_group(used: usize, capacity: usize) -> usize {
    if used == 0 {
        return EMPTY_GROUP;
    }
    if used == capacity {
        return FULL_GROUP;
    }
    let percent = 100 * used / capacity;
    percent / 10 + 1
}

/// Column label of a group in the statistics tables ("10%" .. "99%", "100%").
pub(crate) fn group_label(group: usize) -> String {
    match group {
        FULL_GROUP => String::from("100%"),
        10 => String::from("99%"),
        _ => format!("{}%", group * 10),
    }
}
