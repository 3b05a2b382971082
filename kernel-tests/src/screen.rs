//! In-QEMU tests of the screen: the census of frames agrees with the zones
//! and the pool, and a refresh draws without touching the store.

use kernel::compressed_ram::new_store_with;
use kernel::compressed_ram::workload::Workload;
use kernel::memory::frame;
use kernel::memory::PAGE_SIZE;
use kernel::screen::census::{Census, Owner};
use kernel::screen::pool_map::PoolPicture;

fn census_agrees_with_the_zones_and_the_pool() {
    for (name, config) in kernel::compressed_ram::CONFIGURATIONS {
        let mut store = new_store_with(64, config);
        let mut page = [0; PAGE_SIZE];
        for slot in 0..64 {
            Workload::BuiltIn { count: usize::MAX }.page(slot, &mut page);
            store.write(slot, &page).expect("write");
        }
        let mut picture = PoolPicture::default();
        picture.take(store.pool());
        let pool_pages = store.statistics().mm_stat.mem_used_total as usize / PAGE_SIZE;
        assert_eq!(
            picture.frames.len(),
            pool_pages,
            "{name}: the walk shows every pool page"
        );
        let mut census = Census::new();
        census.take(&picture.frames);
        let counts = census.counts();
        let zones = frame::statistics();
        assert_eq!(counts[Owner::Zsmalloc as usize], pool_pages, "{name}");
        assert_eq!(
            counts[Owner::Free as usize] + counts[Owner::FreeBlockStart as usize],
            zones[0].free + zones[1].free,
            "{name}: free frames"
        );
        let blocks: usize = zones.iter().flat_map(|zone| zone.free_blocks).sum();
        assert_eq!(
            counts[Owner::FreeBlockStart as usize],
            blocks,
            "{name}: free blocks"
        );
        assert!(
            counts[Owner::PageTable as usize] >= 4,
            "{name}: page tables"
        );
        assert!(counts[Owner::Heap as usize] > 0, "{name}: the heap");
    }
}
crate::kernel_test!(census_agrees_with_the_zones_and_the_pool);

fn a_refresh_is_counted_and_leaves_the_store_alone() {
    let mut store = new_store_with(4, kernel::compressed_ram::CONFIGURATIONS[0].1);
    store.write(0, &[7u8; PAGE_SIZE]).expect("write");
    let before = store.statistics();
    let cost = kernel::screen::cost();
    kernel::screen::refresh("test", &store);
    assert_eq!(store.statistics(), before);
    if kernel::screen::available() {
        let after = kernel::screen::cost();
        assert_eq!(after.refreshes, cost.refreshes + 1);
        assert!(after.cycles > cost.cycles);
    }
}
crate::kernel_test!(a_refresh_is_counted_and_leaves_the_store_alone);
