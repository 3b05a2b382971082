//! Host tests of the option format (also run under Miri).

use super::*;

extern crate std;
use std::string::ToString;

#[test]
fn words_are_found_by_key() {
    let options = "lowmem=32M  test-filter=kmap include-ignored zsmalloc=linux4 lowmem=64M";
    assert_eq!(get(options, "lowmem"), Some("32M"), "the first one wins");
    assert_eq!(get(options, "test-filter"), Some("kmap"));
    assert_eq!(get(options, "include-ignored"), Some(""));
    assert_eq!(get(options, "zsmalloc"), Some("linux4"));
    assert_eq!(get(options, "low"), None, "whole keys only");
    assert_eq!(get(options, "kmap"), None, "values are not keys");
    assert_eq!(get("", "lowmem"), None);
    assert_eq!(get("test-filter=", "test-filter"), Some(""));
    assert_eq!(get("a=b=c", "a"), Some("b=c"));
}

#[test]
fn sizes_parse_with_suffixes() {
    assert_eq!(parse_size("4096"), Some(4096));
    assert_eq!(parse_size("64K"), Some(64 << 10));
    assert_eq!(parse_size("32M"), Some(32 << 20));
    assert_eq!(parse_size("2g"), Some(2 << 30));
    assert_eq!(parse_size("M"), None);
    assert_eq!(parse_size("12X"), None);
    assert_eq!(parse_size(""), None);
    assert_eq!(parse_size("+5M"), None);
    assert_eq!(parse_size("-1"), None);
    assert_eq!(parse_size("99999999999999999999G"), None);
    assert_eq!(parse_size("17179869184G"), None, "overflows u64");
}

#[test]
fn the_host_refuses_what_the_kernel_would_misread() {
    assert_eq!(check("lowmem=32M test-filter=kmap"), Ok(()));
    assert_eq!(check(""), Ok(()));
    assert_eq!(check("a=b,c"), Err(OptionsError::BadCharacter(',')));
    assert_eq!(check("a=\u{e9}"), Err(OptionsError::BadCharacter('\u{e9}')));
    assert_eq!(check("a\tb"), Err(OptionsError::BadCharacter('\t')));
    let long = "x".repeat(MAX_LENGTH + 1);
    assert_eq!(
        check(&long),
        Err(OptionsError::TooLong {
            length: MAX_LENGTH + 1
        })
    );
    assert_eq!(check(&long[1..]), Ok(()));
    assert!(OptionsError::BadCharacter(',')
        .to_string()
        .contains("no commas"));
}

#[test]
fn directory_entries_decode_big_endian() {
    let mut bytes = [0u8; FileEntry::SIZE];
    bytes[..4].copy_from_slice(&27u32.to_be_bytes());
    bytes[4..6].copy_from_slice(&0x0021u16.to_be_bytes());
    bytes[8..8 + FW_CFG_FILE.len()].copy_from_slice(FW_CFG_FILE.as_bytes());
    let entry = FileEntry::parse(&bytes);
    assert_eq!((entry.size, entry.key), (27, 0x21));
    assert_eq!(entry.name(), FW_CFG_FILE.as_bytes());
    let full = FileEntry::parse(&[b'a'; FileEntry::SIZE]);
    assert_eq!(full.name().len(), 56, "a name without a terminating zero");
}
