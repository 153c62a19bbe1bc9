//! The store's reserved area: where tusk keeps its own records beside the
//! published site, and which keys a tree may therefore never use. Every
//! stage that writes or reads these keys (publish, the CDN's audit log,
//! the edge's fallback) takes the names from here.

/// Keys under this prefix belong to tusk (records, retention state, the
/// rollback archive, the CDN audit log) and are never part of a tree nor
/// deleted by a sync.
pub const RESERVED_PREFIX: &str = ".tusk/";
/// Fingerprinted assets removed from the tree, kept for a while.
pub const RETAINED_KEY: &str = ".tusk/retained.json";
/// One record per publish, named by its id.
pub const RECORDS_PREFIX: &str = ".tusk/publishes/";
/// Bodies replaced or deleted by a publish, kept by stored MD5 so
/// `--rollback` can restore them with server-side copies.
pub const ARCHIVE_PREFIX: &str = ".tusk/objects/";
pub use crate::tree::key::{valid_key, META_DIR};

/// Keys a visitor must never be served: tusk's records and headers.
pub fn is_internal(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX) || key.starts_with(".tusk-")
}
