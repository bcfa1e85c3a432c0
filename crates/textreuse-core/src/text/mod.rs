//! Text: normalization with an offset map back to the original, and units and shingles.

pub mod normalize;
pub mod shingle;
