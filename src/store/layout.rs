//! The store's reserved area: where tusk keeps its own records beside the
//! published site, and which keys a tree may therefore never use. Every
//! stage that writes or reads these keys (publish, the CDN's audit log,
//! the edge's fallback) takes the names from here.

/// Fingerprinted assets removed from the tree, kept for a while.
pub const RETAINED_KEY: &str = ".tusk/retained.json";
/// One record per publish, named by its id.
pub const RECORDS_PREFIX: &str = ".tusk/publishes/";
/// Bodies replaced or deleted by a publish, kept by stored MD5 so
/// `--rollback` can restore them with server-side copies.
pub const ARCHIVE_PREFIX: &str = ".tusk/objects/";
/// Keys under `.tusk/` belong to tusk: never part of a tree nor deleted by
/// a sync (the names live in `tree::key`, which every stage may use).
pub use crate::tree::key::{valid_key, META_DIR, RESERVED_PREFIX};

/// Keys a visitor must never be served: tusk's records and headers.
pub fn is_internal(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX) || key.starts_with(".tusk-")
}
