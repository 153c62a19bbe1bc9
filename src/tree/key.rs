//! Keys: the relative paths every stage names objects by. One set of rules
//! for what a key may be, so no stage can write outside its folder whatever
//! a URL, permalink or manifest says, and one way to turn a key into a URL
//! path.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The form two keys share when one file system stores them as one file:
/// NFC, since macOS file systems treat NFC and NFD spellings as the same
/// name. Builds and snapshots refuse two keys with the same form.
pub fn normalized(key: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    key.nfc().collect()
}

/// Like [`normalized`], also ignoring case (case-insensitive file systems).
pub fn folded(key: &str) -> String {
    normalized(key).to_lowercase()
}

/// Whether a relative output key stays inside the output folder.
pub fn safe_output_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('/')
        && !key.contains('\\')
        && !key.contains('\0')
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Keys under this prefix belong to tusk in a store (records, retention
/// state, the rollback archive, the CDN audit log): never part of a tree.
pub const RESERVED_PREFIX: &str = ".tusk/";

/// Keys tusk keeps for itself: its records (`.tusk/`), the manifest and
/// the local bucket's sidecars. A page there would break every publish.
pub fn reserved_key(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX) || key == super::MANIFEST_NAME || !valid_key(key)
}

/// The folder name the local store keeps each object's headers under
/// (`store::layout`), so no tree key may use it.
pub const META_DIR: &str = ".tusk-meta";

/// Whether a key is safe to map onto a file system path and stays clear
/// of the local store's header files: the rule for every key a tree holds.
pub fn valid_key(key: &str) -> bool {
    safe_output_key(key) && !key.split('/').any(|s| s.starts_with(META_DIR))
}

/// The key an answer to a URL with a query is stored under when it is not
/// the page at the plain path: a shortlink's redirect (`/?p=123`), or any
/// page in `snapshot.query = "hash"` mode. `list/index.html` + `page=2` ->
/// `list/index.q-1a2b3c4d.html`. The hash is of the query exactly as a
/// browser sends it, so the edge's fallback finds the key from a request
/// (`edge::fallback`); S3 and CloudFront need a viewer-request function
/// for the same lookup (README, "Query strings").
pub fn with_query(key: &str, query: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(&Sha256::digest(query.as_bytes())[..4]);
    let (dir, name) = key.rsplit_once('/').map_or(("", key), |(d, n)| (d, n));
    let name = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.q-{hash}.{ext}"),
        _ => format!("{name}.q-{hash}"),
    };
    if dir.is_empty() {
        name
    } else {
        format!("{dir}/{name}")
    }
}

/// Whether a key is one [`with_query`] made: its name carries `.q-` and
/// eight hex digits, before the extension or at the end.
pub fn is_query_key(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.match_indices(".q-").any(|(at, _)| {
        let rest = &name[at + 3..];
        rest.len() >= 8
            && rest.as_bytes()[..8].iter().all(u8::is_ascii_hexdigit)
            && (rest.len() == 8 || rest.as_bytes()[8] == b'.')
    })
}

/// `path/`, for a folder asked for without its slash, with one leading
/// slash: `//host/` in a Location is another site to a browser. The edge's
/// fallback and `tusk serve` both redirect with it.
pub fn folder_location(path: &str) -> String {
    format!("/{}/", path.trim_start_matches(['/', '\\']))
}

/// Characters a URL path segment may hold unescaped (RFC 3986 `pchar` plus
/// `/`), as in Jekyll's `URL.escape_path`.
const PATH_UNSAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .remove(b'/');

/// A key or path as it appears in a URL (`café` -> `caf%C3%A9`).
pub fn escape_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_UNSAFE).to_string()
}

/// The key a URL path names.
pub fn unescape_path(path: &str) -> String {
    percent_decode_str(path).decode_utf8_lossy().into_owned()
}
