//! # textreuse-io
//!
//! Sources and sinks of textreuse: reading inputs of every format (text directories, JSONL plain, gzip or zstd,
//! standard input) with encoding detection ([`read`]), atomic writes, and spill storage for shingle sets
//! ([`spill`]), and the segments and manifest of a persistent index ([`index`]). The algorithms live in `textreuse-core`, which has no file-system access.

pub mod index;
pub mod outdir;
pub mod read;
pub mod spill;

pub use outdir::RunDir;
pub use read::*;
pub use spill::SetStore;
