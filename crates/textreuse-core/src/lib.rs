//! # textreuse-core
//!
//! The algorithms of textreuse with an in-memory API: no file-system access, so they run inside a Python process or
//! a Spark executor as well as in the command-line jobs (crate `textreuse`).
//!
//! The data flows one way, grouped by what a caller does:
//! - [`text`]: [`normalize`] (a map from every normalized character back to its code point in the original) and
//!   [`shingle`] (units: CJK characters or UAX #29 words; hashed shingles);
//! - [`dedup`]: [`minhash`] signatures → [`lsh`] bands and candidate pairs → [`verify`] (exact Jaccard
//!   similarity and containment) → [`cluster`] (union-find, representatives);
//! - [`passages`]: [`align`] (n-gram anchors chained and aligned into passages) and [`collate`] (witnesses of
//!   one passage aligned against a base);
//! - [`within`]: [`repeats`] inside one document, corpus-wide [`boilerplate`], exact [`substrings`] (suffix
//!   array).
//!
//! In-memory API per stage, each a small type: [`text::Normalizer`] → [`dedup::Fingerprinter`] (one text →
//! [`dedup::Fingerprint`]) → [`dedup::LshIndex`], and the whole document-level pipeline in [`dedup::Deduper`];
//! [`passages::align_pair`] and [`passages::PassageIndex`] for passages. Bad settings and bad documents are
//! [`Error`]s, never panics.
//!
//! Offsets shown to users are Unicode code points into the original text, half-open `[start, end)`.

pub mod dedup;
pub mod error;
pub mod index;
pub mod passages;
pub mod progress;
pub mod records;
mod sort;
#[cfg(test)]
mod testing;
pub mod text;
pub mod within;

pub use error::Error;

pub use dedup::{candidates, cluster, lsh, minhash, verify};
pub use passages::{align, collate};
pub use text::{normalize, shingle};
pub use within::{boilerplate, repeats, substrings};
