//! Keeping the idle engine small. Bulk transfers (load, save, import) allocate megabytes of
//! buffers for a moment; glibc would keep that memory after they end, so large blocks are
//! mapped separately (and unmapped when freed), the number of allocator arenas is capped,
//! and freed heap is handed back after each bulk operation.

/// Blocks at least this large get their own mapping, returned to the kernel when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 256 * 1024;

/// Sets the allocator up; call before any thread is started.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc allocator parameters; it is called before the
    // runtime starts any thread, and the values are within glibc's documented ranges.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Returns freed heap memory to the kernel, after a bulk operation.
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
