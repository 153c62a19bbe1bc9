//! tusk: a resilient static-site publisher.
//!
//! Data flows one way: `build` (and later `snapshot`) produce a [`tree`],
//! which `publish` mirrors to a [`store`] (and later stages consume).

pub mod assets;
pub mod build;
pub mod cdn;
pub mod cli;
pub mod config;
pub mod content;
pub mod diag;
pub mod drill;
pub mod edge;
pub mod encode;
pub mod generate;
pub mod health;
pub mod incremental;
pub mod linkcheck;
pub mod listing;
pub mod offload;
pub mod output;
pub mod publish;
pub mod redirects;
pub mod render;
pub mod scaffold;
pub mod serve;
pub mod snapshot;
pub mod store;
pub mod tree;
pub mod up;
pub mod watch;
