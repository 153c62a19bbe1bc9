//! Game day: the checks ops run before and after an incident. `tusk drill`
//! proves the fallback would serve the site now; `tusk offload` measures
//! how much traffic the cache kept from the origin.

pub(crate) mod drill;
pub(crate) mod offload;
