//! # textreuse-io
//!
//! Sources and sinks of textreuse: reading inputs of every format (text directories, JSONL plain, gzip or zstd,
//! standard input) with encoding detection ([`read`]), atomic writes, spill storage for shingle sets
//! ([`spill`]), the out-of-core building blocks of bounded-memory jobs ([`runs`]: stores, partitioned postings,
//! external counting; [`sorted_runs`]: an external sort with compressed runs), and the segments and manifest of a persistent index ([`index`]). The algorithms live in
//! `textreuse-core`, which has no file-system access.

pub mod index;
mod json_fields;
pub mod outdir;
pub mod read;
pub mod runs;
pub mod sorted_runs;
pub mod spill;
pub mod zstd_ring;

pub use outdir::RunDir;
pub use read::*;
pub use spill::SetStore;
