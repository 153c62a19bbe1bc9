//! tusk: a resilient static-site publisher.
//!
//! Data flows one way: `build` (and later `snapshot`) produce a [`tree`],
//! which later stages (`publish`, `edge`) consume.

pub mod build;
pub mod cli;
pub mod config;
pub mod content;
pub mod diag;
pub mod output;
pub mod render;
pub mod tree;
