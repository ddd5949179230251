//! The allocator (mimalloc, set in `main`) and what the server asks of it.

/// Returns the memory freed on this thread to the system now.
///
/// A password hash (Argon2id) takes 19 MiB for a moment. mimalloc hands
/// freed memory back after a delay, checked on later calls; an idle server
/// makes none, so it kept 4.5 MiB of the last sign-in for good (18.4 MiB
/// idle instead of 14). Harmless when mimalloc is not the allocator (tests):
/// it then has nothing to free.
pub fn give_back() {
    // SAFETY: `mi_collect` takes no pointers; any thread may call it.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
