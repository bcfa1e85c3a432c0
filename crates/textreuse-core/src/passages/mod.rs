//! Passage-level reuse: alignment of two documents, a corpus index of passages, and collation of the witnesses of
//! one passage.
//!
//! In-memory API: [`align_pair`] (two texts → their shared passages) and [`PassageIndex`] (add documents →
//! candidate pairs → alignments), with [`passage_clusters`]; the `passages` file job drives the same types.

pub mod align;
pub mod collate;
mod corpus;
pub mod rewritten;

pub use corpus::{
    align_pair, align_texts, candidate_pairs, passage_clusters, Alignment, PassageIndex, PassageOptions,
    DEFAULT_MAX_UNITS,
};
