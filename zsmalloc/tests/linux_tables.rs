//! Linux's own size-class tables for chain 4 and chain 8, row by row.
//!
//! Each row is one physical class as Linux's debugfs `classes` file lists
//! it: (class index, size, pages per zspage, objects per zspage). The rows
//! are what Linux's `zs_create_pool` builds with `CONFIG_ZSMALLOC_CHAIN_SIZE`
//! 4 (the chain before Linux 6.3) and 8 (the default since): 255 logical
//! classes 16 bytes apart from 32, each with the chain of least waste
//! (`calculate_zspage_chain_size`), neighbours with equal pages and objects
//! merged into the larger (`can_merge`). The huge-class boundaries (3264-byte
//! class for chain 4, 3632 for chain 8, minus the handle header) are the
//! figures `zs_huge_class_size()` reports on those kernels.

use zsmalloc::linux::SizeClassTable;
use zsmalloc::LinuxConfig;

fn check_against(chain: usize, rows: &[(usize, usize, usize, usize)], huge_class_size: usize) {
    let table = SizeClassTable::new(&LinuxConfig::with_chain(chain));
    let ours: Vec<_> = table
        .classes()
        .iter()
        .map(|class| {
            (
                class.index,
                class.size,
                class.pages_per_zspage,
                class.objects_per_zspage,
            )
        })
        .collect();
    for (row, (mine, linux)) in ours.iter().zip(rows).enumerate() {
        assert_eq!(
            mine, linux,
            "chain {chain}, physical class {row}: (index, size, pages, objects)"
        );
    }
    assert_eq!(
        ours.len(),
        rows.len(),
        "chain {chain}: number of physical classes"
    );
    assert_eq!(
        table.huge_class_size(),
        huge_class_size,
        "chain {chain}: huge class size"
    );
    // Every payload goes to the smallest class that holds it and its header.
    for payload in 1..=4096 {
        let needed = (payload + 8).min(4096);
        let expected = rows
            .iter()
            .position(|&(_, size, _, _)| size >= needed)
            .unwrap();
        let class = table.class_for(payload);
        assert_eq!(
            class, expected,
            "chain {chain}: class of a {payload}-byte payload"
        );
    }
    for (row, &(index, ..)) in rows.iter().enumerate() {
        assert_eq!(
            table.physical_of_logical(index),
            row,
            "chain {chain}: logical class {index}"
        );
    }
}

#[test]
fn chain_4_matches_linux() {
    check_against(4, &CHAIN_4, CHAIN_4_HUGE_CLASS_SIZE);
}

#[test]
fn chain_8_matches_linux() {
    check_against(8, &CHAIN_8, CHAIN_8_HUGE_CLASS_SIZE);
}

/// Chain 4: 69 classes; payloads of 3257 bytes or more are huge.
const CHAIN_4: [(usize, usize, usize, usize); 69] = [
    (0, 32, 1, 128),
    (1, 48, 3, 256),
    (2, 64, 1, 64),
    (3, 80, 1, 51),
    (4, 96, 3, 128),
    (5, 112, 2, 73),
    (6, 128, 1, 32),
    (7, 144, 3, 85),
    (8, 160, 2, 51),
    (9, 176, 4, 93),
    (10, 192, 3, 64),
    (11, 208, 3, 59),
    (12, 224, 4, 73),
    (13, 240, 1, 17),
    (14, 256, 1, 16),
    (15, 272, 1, 15),
    (16, 288, 1, 14),
    (17, 304, 3, 40),
    (18, 320, 4, 51),
    (19, 336, 1, 12),
    (20, 352, 2, 23),
    (21, 368, 1, 11),
    (22, 384, 3, 32),
    (23, 400, 1, 10),
    (24, 416, 4, 39),
    (25, 432, 3, 28),
    (26, 448, 1, 9),
    (27, 464, 4, 35),
    (28, 480, 2, 17),
    (29, 496, 4, 33),
    (30, 512, 1, 8),
    (31, 528, 4, 31),
    (32, 544, 2, 15),
    (33, 560, 4, 29),
    (34, 576, 1, 7),
    (35, 592, 4, 27),
    (36, 608, 3, 20),
    (37, 624, 2, 13),
    (38, 640, 3, 19),
    (40, 672, 1, 6),
    (42, 704, 4, 23),
    (43, 720, 3, 17),
    (44, 736, 2, 11),
    (46, 768, 3, 16),
    (49, 816, 1, 5),
    (51, 848, 4, 19),
    (52, 864, 3, 14),
    (54, 896, 2, 9),
    (57, 944, 3, 13),
    (58, 960, 4, 17),
    (62, 1024, 1, 4),
    (66, 1088, 4, 15),
    (67, 1104, 3, 11),
    (71, 1168, 2, 7),
    (74, 1216, 3, 10),
    (76, 1248, 4, 13),
    (83, 1360, 1, 3),
    (91, 1488, 4, 11),
    (94, 1536, 3, 8),
    (100, 1632, 2, 5),
    (107, 1744, 3, 7),
    (111, 1808, 4, 9),
    (126, 2048, 1, 2),
    (144, 2336, 4, 7),
    (151, 2448, 3, 5),
    (168, 2720, 2, 3),
    (190, 3072, 3, 4),
    (202, 3264, 4, 5),
    (254, 4096, 1, 1),
];
const CHAIN_4_HUGE_CLASS_SIZE: usize = 3257;

/// Chain 8: 119 classes; payloads of 3625 bytes or more are huge.
const CHAIN_8: [(usize, usize, usize, usize); 119] = [
    (0, 32, 1, 128),
    (1, 48, 3, 256),
    (2, 64, 1, 64),
    (3, 80, 5, 256),
    (4, 96, 3, 128),
    (5, 112, 7, 256),
    (6, 128, 1, 32),
    (7, 144, 7, 199),
    (8, 160, 5, 128),
    (9, 176, 4, 93),
    (10, 192, 3, 64),
    (11, 208, 3, 59),
    (12, 224, 7, 128),
    (13, 240, 1, 17),
    (14, 256, 1, 16),
    (15, 272, 1, 15),
    (16, 288, 5, 71),
    (17, 304, 7, 94),
    (18, 320, 5, 64),
    (19, 336, 6, 73),
    (20, 352, 8, 93),
    (21, 368, 8, 89),
    (22, 384, 3, 32),
    (23, 400, 5, 51),
    (24, 416, 6, 59),
    (25, 432, 7, 66),
    (26, 448, 7, 64),
    (27, 464, 5, 44),
    (28, 480, 2, 17),
    (29, 496, 4, 33),
    (30, 512, 1, 8),
    (31, 528, 4, 31),
    (32, 544, 2, 15),
    (33, 560, 7, 51),
    (34, 576, 1, 7),
    (35, 592, 8, 55),
    (36, 608, 7, 47),
    (37, 624, 2, 13),
    (38, 640, 5, 32),
    (39, 656, 5, 31),
    (40, 672, 1, 6),
    (41, 688, 8, 47),
    (42, 704, 5, 29),
    (43, 720, 3, 17),
    (44, 736, 2, 11),
    (45, 752, 7, 38),
    (46, 768, 3, 16),
    (47, 784, 5, 26),
    (49, 816, 1, 5),
    (50, 832, 8, 39),
    (51, 848, 5, 24),
    (52, 864, 7, 33),
    (53, 880, 8, 37),
    (54, 896, 7, 32),
    (55, 912, 7, 31),
    (56, 928, 5, 22),
    (57, 944, 3, 13),
    (58, 960, 4, 17),
    (59, 976, 6, 25),
    (60, 992, 8, 33),
    (62, 1024, 1, 4),
    (64, 1056, 8, 31),
    (65, 1072, 5, 19),
    (66, 1088, 4, 15),
    (67, 1104, 3, 11),
    (68, 1120, 8, 29),
    (69, 1136, 5, 18),
    (71, 1168, 2, 7),
    (72, 1184, 7, 24),
    (73, 1200, 5, 17),
    (74, 1216, 3, 10),
    (75, 1232, 7, 23),
    (76, 1248, 4, 13),
    (78, 1280, 5, 16),
    (79, 1296, 7, 22),
    (83, 1360, 1, 3),
    (87, 1424, 8, 23),
    (88, 1440, 6, 17),
    (89, 1456, 5, 14),
    (91, 1488, 4, 11),
    (92, 1504, 7, 19),
    (94, 1536, 3, 8),
    (95, 1552, 8, 21),
    (96, 1568, 5, 13),
    (97, 1584, 7, 18),
    (100, 1632, 2, 5),
    (103, 1680, 7, 17),
    (104, 1696, 5, 12),
    (105, 1712, 8, 19),
    (107, 1744, 3, 7),
    (110, 1792, 7, 16),
    (111, 1808, 4, 9),
    (114, 1856, 5, 11),
    (116, 1888, 6, 13),
    (117, 1904, 7, 15),
    (118, 1920, 8, 17),
    (126, 2048, 1, 2),
    (134, 2176, 8, 15),
    (135, 2192, 7, 13),
    (137, 2224, 6, 11),
    (140, 2272, 5, 9),
    (144, 2336, 4, 7),
    (147, 2384, 7, 12),
    (151, 2448, 3, 5),
    (155, 2512, 8, 13),
    (158, 2560, 5, 8),
    (160, 2592, 7, 11),
    (168, 2720, 2, 3),
    (177, 2864, 7, 10),
    (180, 2912, 5, 7),
    (184, 2976, 8, 11),
    (190, 3072, 3, 4),
    (197, 3184, 7, 9),
    (202, 3264, 4, 5),
    (211, 3408, 5, 6),
    (217, 3504, 6, 7),
    (222, 3584, 7, 8),
    (225, 3632, 8, 9),
    (254, 4096, 1, 1),
];
const CHAIN_8_HUGE_CLASS_SIZE: usize = 3625;
