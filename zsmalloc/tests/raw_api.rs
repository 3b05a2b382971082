//! Bad input through the C-flavoured facade: each a defined error, and the
//! pool still consistent afterwards. Also the original text's usage.

use zsmalloc::facade::*;
use zsmalloc::testing::HighmemBackend;
use zsmalloc::{Backend, Config, HandleError};

/// A facade pool with `config`.
fn create<B: Backend>(name: &str, backend: B, config: Config) -> ZsPool<B> {
    zs_create_pool_with_config(name, backend, config).unwrap()
}

#[test]
fn original_usage() {
    let mut pool = zs_create_pool("zram", HighmemBackend::new());
    let handle = zs_malloc(&pool, 256);
    assert_ne!(handle, 0);
    let bytes = zs_map_object(&mut pool, handle, ZS_MM_RW).unwrap();
    assert_eq!(bytes.len(), 256);
    bytes.fill(0x42);
    zs_unmap_object(&mut pool, handle).unwrap();
    let bytes = zs_map_object(&mut pool, handle, ZS_MM_RO).unwrap();
    assert!(bytes.iter().all(|&byte| byte == 0x42));
    zs_unmap_object(&mut pool, handle).unwrap();
    assert!(zs_get_total_pages(&pool) > 0);
    zs_free(&pool, handle).unwrap();
    assert_eq!(zs_get_total_pages(&pool), 0);
    assert_eq!(zs_compact(&pool), 0);
    assert_eq!(zs_huge_class_size(&pool), 3625);
    zs_destroy_pool(pool);
}

#[test]
fn bad_sizes_return_zero() {
    bad_sizes_return_zero_with(Config::default());
    bad_sizes_return_zero_with(Config::efficient());
}

fn bad_sizes_return_zero_with(config: Config) {
    let pool = create("sizes", HighmemBackend::new(), config);
    assert_eq!(zs_malloc(&pool, 0), 0);
    assert_eq!(zs_malloc(&pool, 4097), 0);
    assert_eq!(zs_malloc(&pool, usize::MAX), 0);
    assert_eq!(
        pool.pool().malloc(0).unwrap_err(),
        zsmalloc::AllocError::ZeroSize
    );
    assert_eq!(
        pool.pool().malloc(4097).unwrap_err(),
        zsmalloc::AllocError::TooLarge
    );
    assert_eq!(zs_get_total_pages(&pool), 0);
    pool.pool().check().unwrap();
}

#[test]
fn bad_handles_are_errors() {
    bad_handles_are_errors_with(Config::default());
    bad_handles_are_errors_with(Config::efficient());
}

fn bad_handles_are_errors_with(config: Config) {
    let mut pool = create("handles", HighmemBackend::new(), config);
    let keep = zs_malloc(&pool, 100);
    let handle = zs_malloc(&pool, 100);
    // Handle 0.
    assert_eq!(zs_free(&pool, 0), Err(ZsError::Handle(HandleError::Null)));
    assert_eq!(
        zs_map_object(&mut pool, 0, ZS_MM_RO).unwrap_err(),
        ZsError::Handle(HandleError::Null)
    );
    // Never issued: unknown slot, and a forged generation of a real slot.
    assert_eq!(
        zs_free(&pool, 12345),
        Err(ZsError::Handle(HandleError::NeverIssued))
    );
    assert_eq!(
        zs_free(&pool, u64::MAX),
        Err(ZsError::Handle(HandleError::NeverIssued))
    );
    let forged = handle + (5 << 32);
    assert_eq!(
        zs_free(&pool, forged),
        Err(ZsError::Handle(HandleError::NeverIssued))
    );
    // Free, then double free, then use after free.
    zs_free(&pool, handle).unwrap();
    assert_eq!(
        zs_free(&pool, handle),
        Err(ZsError::Handle(HandleError::Freed))
    );
    assert_eq!(
        zs_map_object(&mut pool, handle, ZS_MM_RW).unwrap_err(),
        ZsError::Handle(HandleError::Freed)
    );
    // The slot is reused with a new generation: the old handle stays stale.
    let reused = zs_malloc(&pool, 100);
    assert_ne!(reused, handle);
    assert_eq!(reused as u32, handle as u32, "same slot, new generation");
    assert_eq!(
        zs_free(&pool, handle),
        Err(ZsError::Handle(HandleError::Freed))
    );
    // Unmap without map.
    assert_eq!(zs_unmap_object(&mut pool, keep), Err(ZsError::NotMapped));
    // Second map while one is open; free or unmap of the wrong handle.
    zs_map_object(&mut pool, keep, ZS_MM_WO).unwrap();
    assert_eq!(
        zs_map_object(&mut pool, reused, ZS_MM_RO).unwrap_err(),
        ZsError::AlreadyMapped
    );
    assert_eq!(
        zs_map_object(&mut pool, keep, ZS_MM_RO).unwrap_err(),
        ZsError::AlreadyMapped
    );
    assert_eq!(
        zs_free(&pool, keep),
        Err(ZsError::Handle(HandleError::Mapped))
    );
    assert_eq!(zs_unmap_object(&mut pool, reused), Err(ZsError::NotMapped));
    pool.pool().check().unwrap();
    zs_unmap_object(&mut pool, keep).unwrap();
    assert_eq!(zs_unmap_object(&mut pool, keep), Err(ZsError::NotMapped));
    pool.pool().check().unwrap();
    zs_free(&pool, keep).unwrap();
    zs_free(&pool, reused).unwrap();
    assert_eq!(zs_get_total_pages(&pool), 0);
    pool.pool().check().unwrap();
}

#[test]
fn destroying_a_pool_with_an_open_window_closes_it() {
    destroying_a_pool_with_an_open_window_closes_it_with(Config::default());
    destroying_a_pool_with_an_open_window_closes_it_with(Config::efficient());
}

fn destroying_a_pool_with_an_open_window_closes_it_with(config: Config) {
    let backend = HighmemBackend::new();
    let mut pool = create("open", &backend, config);
    let handle = zs_malloc(&pool, 3000);
    zs_map_object(&mut pool, handle, ZS_MM_RW).unwrap().fill(1);
    zs_destroy_pool(pool);
    assert_eq!(backend.counters().live_pages, 0);
    assert_eq!(backend.open_mappings(), 0);
}
