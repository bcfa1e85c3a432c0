//! # textreuse
//!
//! Finds duplicated and reused text in large, noisy, multilingual corpora: whole documents that are near-duplicates
//! of each other, and passages that one document reprints from another. Chinese (simplified and traditional script,
//! unsegmented, broken into newspaper columns) is handled as well as space-delimited scripts.
//!
//! This crate holds the jobs (files in, files out) over two crates it re-exports: `textreuse-core` (the
//! algorithms, in memory, no file-system access) and `textreuse-io` (sources, sinks, spill storage).
//!
//! The data flows one way, one module per step:
//! [`io`] (read) → [`normalize`] → [`shingle`] → [`minhash`] + [`lsh`] (candidates) → [`verify`] → [`cluster`],
//! orchestrated for document-level deduplication by [`dedup`]; and [`align`] for passages, orchestrated by
//! [`passages`]. Inside documents and across the corpus: [`repeats`], [`boilerplate`], [`substrings`] (suffix
//! array). [`pipeline`] holds what the jobs share (parallel reading, skip accounting, stage timings).
//!
//! Offsets shown to users are Unicode code points into the original text, half-open `[start, end)`.

pub use textreuse_core as core;
pub use textreuse_core::{align, candidates, cluster, collate, lsh, minhash, normalize, records, shingle, verify};
pub use textreuse_io as io;

pub mod boilerplate;
pub mod dedup;
pub mod index;
pub mod passages;
pub mod pipeline;
pub mod progress;
pub mod repeats;
pub mod report;
pub mod substrings;

/// The README's Rust example, compiled and run as a doctest.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
