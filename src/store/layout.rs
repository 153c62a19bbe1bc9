//! The store's reserved area: the key names of tusk's own records, and
//! which keys a tree may therefore never use. Publish keeps its records,
//! archive and retention state in the state location
//! (`publish.state`, never the served target), under these same names;
//! older versions kept them in the target, which `is_state_key` finds so
//! publish can move them. Every stage that writes or reads these keys
//! (publish, the CDN's audit log, the edge's fallback, the drill) takes the
//! names from here.
//!
//! The list of built keys (`BUILT_KEY`) lives in the state location too:
//! the drill counts any `.tusk/` key in the served target as a leak, and
//! a rollback restores it from the record beside it.

/// Fingerprinted assets removed from the tree, kept for a while.
pub const RETAINED_KEY: &str = ".tusk/retained.json";
/// One record per publish, named by its id.
pub const RECORDS_PREFIX: &str = ".tusk/publishes/";
/// Bodies replaced or deleted by a publish, kept by stored MD5 so
/// `--rollback` can restore them with server-side copies.
pub const ARCHIVE_PREFIX: &str = ".tusk/objects/";
/// The keys the build owns (`store::built`), as the last publish (or
/// rollback) left them: the edge and `tusk cdn plan` route these to the
/// bucket, never the origin.
pub const BUILT_KEY: &str = ".tusk/built.json";
/// One publish at a time: the lock object in the state location.
pub const LOCK_KEY: &str = ".tusk/lock.json";
/// Keys under `.tusk/` belong to tusk: never part of a tree nor deleted by
/// a sync (the names live in `tree::key`, which every stage may use).
pub use crate::tree::key::{valid_key, META_DIR, RESERVED_PREFIX};

/// Keys a visitor must never be served: tusk's records and headers.
pub fn is_internal(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX) || key.starts_with(".tusk-")
}

/// Keys of publish's state (records, archive, retention): they belong in
/// the state location, never in a served target.
pub fn is_state_key(key: &str) -> bool {
    key.starts_with(RECORDS_PREFIX)
        || key.starts_with(ARCHIVE_PREFIX)
        || key == RETAINED_KEY
        || key == BUILT_KEY
}
