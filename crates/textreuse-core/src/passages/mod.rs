//! Passage-level reuse: alignment of two documents and collation of the witnesses of one passage.

pub mod align;
pub mod collate;
