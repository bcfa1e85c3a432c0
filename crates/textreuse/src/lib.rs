//! # textreuse
//!
//! Finds duplicated and reused text in large, noisy, multilingual corpora: whole documents that are near-duplicates
//! of each other, and passages that one document reprints from another. Chinese (simplified and traditional script,
//! unsegmented, broken into newspaper columns) is handled as well as space-delimited scripts.
//!
//! The data flows one way, one module per step:
//! [`io`] (read) → [`normalize`] → [`shingle`] → [`minhash`] + [`lsh`] (candidates) → [`verify`] → [`cluster`],
//! orchestrated for document-level deduplication by [`dedup`]; and [`align`] for passages, orchestrated by
//! [`passages`]. Inside documents and across the corpus: [`repeats`], [`boilerplate`], [`substrings`] (suffix
//! array). [`pipeline`] holds what the jobs share (parallel reading, skip accounting, stage timings).
//!
//! Offsets shown to users are Unicode code points into the original text, half-open `[start, end)`.

pub mod align;
pub mod boilerplate;
pub mod cluster;
pub mod collate;
pub mod dedup;
pub mod io;
pub mod lsh;
pub mod minhash;
pub mod normalize;
pub mod passages;
pub mod pipeline;
pub mod progress;
pub mod repeats;
pub mod shingle;
pub mod substrings;
pub mod verify;
