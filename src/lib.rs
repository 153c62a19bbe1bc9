//! tusk: a resilient static-site publisher.
//!
//! The modules follow the pipeline, and data flows one way (see
//! ARCHITECTURE.md):
//!
//! ```text
//! build / snapshot  ->  tree  ->  publish  ->  store  ->  cdn / edge
//! ```
//!
//! Everything is private to the crate: the binary is the only client, so
//! the compiler's unused-code lint sees the whole program.

mod build;
mod cdn;
mod cli;
mod config;
mod content;
mod diag;
mod edge;
mod gameday;
mod health;
mod html;
mod jekyll;
mod operator;
mod publish;
mod snapshot;
mod store;
mod tree;

pub use cli::main;
