//! Passage-level reuse: alignment of two documents, a corpus index of passages, and collation of the witnesses of
//! one passage.
//!
//! In-memory API: [`align_pair`] (two texts → their shared passages) and [`PassageIndex`] (add documents →
//! candidate pairs → alignments), with [`passage_clusters`]; the `passages` file job runs the same steps out of core
//! over the same functions ([`postings_pairs`], [`PassageOptions::passages`], [`orient`], [`drop_templates`],
//! [`sort_alignments`]).

pub mod align;
pub mod collate;
mod corpus;
pub mod rewritten;

pub use corpus::{
    align_pair, align_texts, candidate_pairs, drop_templates, orient, passage_clusters, postings_pairs,
    sort_alignments, template_candidate, Alignment, PassageIndex, PassageOptions, DEFAULT_MAX_UNITS,
};
