//! The C-flavoured facade, both generations of its access API: Linux's
//! usage, and bad input (each a defined error, the pool still consistent
//! afterwards).

use zsmalloc::facade::*;
use zsmalloc::testing::cpu::atomic_depth;
use zsmalloc::testing::HighmemBackend;
use zsmalloc::{Backend, Config, HandleError, PAGE_SIZE};

/// A facade pool with `config`.
fn create<B: Backend>(name: &str, backend: B, config: Config) -> ZsPool<B> {
    zs_create_pool_with_config(name, backend, config).unwrap()
}

#[test]
fn original_usage() {
    // The default pool has the packed layout, which has no huge class.
    let mut pool = zs_create_pool("zram", HighmemBackend::new());
    classic_usage(&mut pool);
    assert_eq!(zs_huge_class_size(&pool), PAGE_SIZE);
    zs_destroy_pool(pool);
    let mut pool = create("zram", HighmemBackend::new(), Config::linux(8));
    classic_usage(&mut pool);
    assert_eq!(zs_huge_class_size(&pool), 3625);
    zs_destroy_pool(pool);
}

/// Linux's classic sequence: malloc, map RW, unmap, map RO, unmap, free.
fn classic_usage<B: Backend>(pool: &mut ZsPool<B>) {
    let handle = zs_malloc(pool, 256);
    assert_ne!(handle, 0);
    let bytes = zs_map_object(pool, handle, ZS_MM_RW).unwrap();
    assert_eq!(bytes.len(), 256);
    bytes.fill(0x42);
    zs_unmap_object(pool, handle).unwrap();
    let bytes = zs_map_object(pool, handle, ZS_MM_RO).unwrap();
    assert!(bytes.iter().all(|&byte| byte == 0x42));
    zs_unmap_object(pool, handle).unwrap();
    assert!(zs_get_total_pages(pool) > 0);
    zs_free(pool, handle).unwrap();
    assert_eq!(zs_get_total_pages(pool), 0);
    assert_eq!(zs_compact(pool), 0);
}

#[test]
fn current_usage() {
    current_usage_with(Config::packed());
    current_usage_with(Config::linux(8));
}

/// Linux 6.15's sequence: malloc, write, read begin/end, free; without
/// page pairs, objects spanning two pages are read from the local copy.
fn current_usage_with(config: Config) {
    let backend = HighmemBackend::new().without_page_pairs();
    let mut pool = create("zram", &backend, config);
    let handles: Vec<ZsHandle> = (0..12).map(|_| zs_malloc(&pool, 1500)).collect();
    for (index, &handle) in handles.iter().enumerate() {
        zs_obj_write(&pool, handle, &[index as u8; 1500]).unwrap();
    }
    let mut local_copy = [0; PAGE_SIZE];
    let copy_address = local_copy.as_ptr();
    for (index, &handle) in handles.iter().enumerate() {
        let bytes = zs_obj_read_begin(&mut pool, handle, &mut local_copy).unwrap();
        assert_eq!(bytes.len(), 1500);
        assert!(bytes.iter().all(|&byte| byte == index as u8));
        // The facade always copies: between two calls it holds no mapping
        // and no atomic section.
        assert_eq!(bytes.as_ptr(), copy_address);
        assert_eq!((backend.open_mappings(), atomic_depth()), (0, 0));
        zs_obj_read_end(&mut pool, handle).unwrap();
    }
    for handle in handles {
        zs_free(&pool, handle).unwrap();
    }
    assert_eq!(zs_get_total_pages(&pool), 0);
    zs_destroy_pool(pool);
    assert_eq!(backend.counters().live_pages, 0);
}

#[test]
fn current_api_refuses_bad_input() {
    current_api_refuses_bad_input_with(Config::packed());
    current_api_refuses_bad_input_with(Config::linux(8));
}

fn current_api_refuses_bad_input_with(config: Config) {
    let mut pool = create("current", HighmemBackend::new(), config);
    let handle = zs_malloc(&pool, 100);
    let other = zs_malloc(&pool, 100);
    let mut local_copy = [0; PAGE_SIZE];
    assert_eq!(
        zs_obj_write(&pool, handle, &[1; 101]),
        Err(ZsError::TooLong {
            object: 100,
            given: 101
        })
    );
    assert_eq!(
        zs_obj_write(&pool, 0, &[1]),
        Err(ZsError::Handle(HandleError::Null))
    );
    let unknown_entry = handle & !0xFFFF_FFFF | 12345;
    assert_eq!(
        zs_obj_read_begin(&mut pool, unknown_entry, &mut local_copy).unwrap_err(),
        ZsError::Handle(HandleError::NeverIssued)
    );
    assert_eq!(zs_obj_read_end(&mut pool, handle), Err(ZsError::NotMapped));
    zs_obj_write(&pool, handle, &[7; 100]).unwrap();
    // One window at a time, and each is closed by its own kind of call.
    zs_obj_read_begin(&mut pool, handle, &mut local_copy).unwrap();
    assert_eq!(
        zs_map_object(&mut pool, other, ZS_MM_RO).unwrap_err(),
        ZsError::AlreadyMapped
    );
    assert_eq!(
        zs_obj_read_begin(&mut pool, other, &mut local_copy).unwrap_err(),
        ZsError::AlreadyMapped
    );
    assert_eq!(zs_unmap_object(&mut pool, handle), Err(ZsError::NotMapped));
    assert_eq!(zs_obj_read_end(&mut pool, other), Err(ZsError::NotMapped));
    pool.pool().check().unwrap();
    zs_obj_read_end(&mut pool, handle).unwrap();
    zs_map_object(&mut pool, other, ZS_MM_WO).unwrap();
    assert_eq!(zs_obj_read_end(&mut pool, other), Err(ZsError::NotMapped));
    assert_eq!(
        zs_obj_write(&pool, other, &[1]),
        Err(ZsError::Handle(HandleError::Mapped))
    );
    zs_unmap_object(&mut pool, other).unwrap();
    zs_free(&pool, handle).unwrap();
    assert_eq!(
        zs_obj_write(&pool, handle, &[1]),
        Err(ZsError::Handle(HandleError::Freed))
    );
    assert_eq!(
        zs_obj_read_begin(&mut pool, handle, &mut local_copy).unwrap_err(),
        ZsError::Handle(HandleError::Freed)
    );
    zs_free(&pool, other).unwrap();
    pool.pool().check().unwrap();
    assert_eq!(zs_get_total_pages(&pool), 0);
}

#[test]
fn bad_sizes_return_zero() {
    bad_sizes_return_zero_with(Config::linux(8));
    bad_sizes_return_zero_with(Config::packed());
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
    bad_handles_are_errors_with(Config::linux(8));
    bad_handles_are_errors_with(Config::packed());
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
    // Never issued: unknown entry, and a forged generation of a real entry.
    let unknown_entry = handle & !0xFFFF_FFFF | 12345;
    assert_eq!(
        zs_free(&pool, unknown_entry),
        Err(ZsError::Handle(HandleError::NeverIssued))
    );
    // Numbers that no pool of this program issued carry a foreign pool tag.
    assert_eq!(
        zs_free(&pool, 12345),
        Err(ZsError::Handle(HandleError::OtherPool))
    );
    assert_eq!(
        zs_free(&pool, u64::MAX),
        Err(ZsError::Handle(HandleError::OtherPool))
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
    // A freed entry is reused only after many other frees, and with a new
    // generation: the old handle stays stale.
    let reused = zs_malloc(&pool, 100);
    assert_ne!(reused, handle);
    assert_ne!(reused as u32, handle as u32, "not the entry just freed");
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
    destroying_a_pool_with_an_open_window_closes_it_with(Config::linux(8));
    destroying_a_pool_with_an_open_window_closes_it_with(Config::packed());
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

#[test]
fn a_handle_of_another_pool_is_refused() {
    for config in [Config::linux(4), Config::linux(8), Config::packed()] {
        let a = zsmalloc::Pool::with_config("a", HighmemBackend::new(), config).unwrap();
        let b = zsmalloc::Pool::with_config("b", HighmemBackend::new(), config).unwrap();
        let of_a = a.malloc(100).unwrap();
        let of_b = b.malloc(100).unwrap();
        // Same entry, same generation: only the pool tag differs.
        assert_eq!(of_a.raw() & 0x3FF_FFFF_FFFF, of_b.raw() & 0x3FF_FFFF_FFFF);
        b.write(&of_b, &[0xB; 100]).unwrap();
        assert_eq!(b.write(&of_a, &[0xA; 100]), Err(HandleError::OtherPool));
        assert_eq!(b.object_size(&of_a), Err(HandleError::OtherPool));
        let mut local_copy = [0; PAGE_SIZE];
        assert_eq!(
            b.read_with(&of_a, &mut local_copy, |_| ()),
            Err(HandleError::OtherPool)
        );
        assert_eq!(
            b.mapper().map(&of_a, zsmalloc::ReadWrite, |_| ()),
            Err(HandleError::OtherPool)
        );
        // try_free gives the handle back, and B's object is untouched.
        let refused = b.try_free(of_a).unwrap_err();
        assert_eq!(refused.error, HandleError::OtherPool);
        let of_a = refused.handle;
        let mut bytes = [0; 100];
        assert_eq!(b.read(&of_b, &mut bytes), Ok(100));
        assert_eq!(bytes, [0xB; 100]);
        // The facade refuses it too.
        let facade = ZsPool::from(b);
        assert_eq!(
            zs_free(&facade, of_a.raw()),
            Err(ZsError::Handle(HandleError::OtherPool))
        );
        facade.pool().free(of_b);
        a.free(of_a);
        a.check().unwrap();
        facade.pool().check().unwrap();
        assert_eq!((a.total_pages(), zs_get_total_pages(&facade)), (0, 0));
    }
}

#[test]
#[should_panic(expected = "handle of another pool")]
fn freeing_a_handle_of_another_pool_panics() {
    let a = zsmalloc::Pool::new("a", HighmemBackend::new());
    let b = zsmalloc::Pool::new("b", HighmemBackend::new());
    let _keep = b.malloc(10).unwrap();
    b.free(a.malloc(10).unwrap());
}
