//! Document-level near-duplicates: MinHash signatures, LSH candidate pairs, exact verification, clusters.
//!
//! In-memory API, per stage: [`Fingerprinter`] (one text → [`Fingerprint`]: shingle set, MinHash signature, LSH
//! band keys), [`LshIndex`] (bucket index of fingerprints: insert, query candidates), and [`Deduper`] (the whole
//! pipeline: add documents, finish → clusters and verified pairs), whose steps after fingerprinting are
//! [`find_duplicates`], shared with the `dedup` file job.

pub mod candidates;
pub mod cluster;
mod deduper;
mod fingerprint;
pub mod lsh;
pub mod minhash;
mod options;
pub mod verify;

pub use deduper::{
    find_duplicates, find_duplicates_listing, DedupResult, Deduper, DocumentTable, DuplicateSearch, FirstOfSet,
    MemorySets, SetOwners, ShingleSets, StageSeconds, VerifiedListing, VerifiedPair,
};
pub use fingerprint::{shingle_set_of_document, Fingerprint, FingerprintTimes, Fingerprinter};
pub use lsh::{LshIndex, LshParams};
pub use options::DedupOptions;
