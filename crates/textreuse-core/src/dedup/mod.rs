//! Document-level near-duplicates: MinHash signatures, LSH candidate pairs, exact verification, clusters.

pub mod cluster;
pub mod lsh;
pub mod minhash;
pub mod verify;
