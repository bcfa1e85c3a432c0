//! Typed output records: one type per line of every JSONL output, `Serialize + Deserialize`, so that the jobs write
//! them and everything that reads an output (the report, `--boilerplate`, tests, users' programs) reads the same
//! type. Offsets are Unicode code points into the original text, half-open `[start, end)`.
//!
//! The format version is [`SCHEMA_VERSION`]; it is written in every `summary.json` and in the first line of a
//! boilerplate list. New fields are added with `#[serde(default)]`, so files of an older version still read.

use serde::{Deserialize, Serialize};

use crate::boilerplate::SegmentKind;
use crate::repeats::{Repeat, RepeatMetrics};

/// Version of the output formats described here.
pub const SCHEMA_VERSION: u32 = 1;

/// `clusters.jsonl` of `dedup`: one line per document, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// The document id.
    pub id: String,
    /// The cluster id: the id of the cluster's representative (the document's own id when it stands alone).
    pub cluster: String,
    /// Documents in the cluster (1 when the document stands alone).
    pub size: u32,
    /// Whether this document represents its cluster (is kept in `deduplicated.jsonl`).
    pub representative: bool,
}

/// `clusters.jsonl` of `index query`: one line per new document with shingles: the fields of `dedup`'s
/// `clusters.jsonl` line for it in one run over the indexed and the new documents, and the cluster's other members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexClusterRecord {
    /// The document's cluster, as `dedup` writes it.
    #[serde(flatten)]
    pub cluster: ClusterRecord,
    /// Ids of the cluster's other members: indexed documents first, in the order they were added, then new ones in
    /// input order.
    pub members: Vec<String>,
}

/// `pairs.jsonl` of `dedup`: a verified duplicate pair, `a` before `b` in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRecord {
    /// Id of the first document.
    pub a: String,
    /// Id of the second document.
    pub b: String,
    /// Jaccard similarity of the shingle sets, rounded to 4 decimals.
    pub jaccard: f64,
    /// Containment `|A ∩ B| / min(|A|, |B|)`, rounded to 4 decimals.
    pub containment: f64,
}

/// `candidates.jsonl` of `dedup --write-candidates`: every verified candidate pair, duplicate or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateRecord {
    /// Id of the first document.
    pub a: String,
    /// Id of the second document.
    pub b: String,
    /// Shingles of `a`.
    pub a_shingles: usize,
    /// Shingles of `b`.
    pub b_shingles: usize,
    /// Code points of `a`.
    pub a_chars: u64,
    /// Code points of `b`.
    pub b_chars: u64,
    /// Shared shingles.
    pub intersection: u64,
    /// Jaccard similarity, rounded to 4 decimals.
    pub jaccard: f64,
    /// Containment, rounded to 4 decimals.
    pub containment: f64,
}

/// `alignments.jsonl` of `passages`: one aligned passage pair, `a < b` by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentRecord {
    /// Id of document a.
    pub a: String,
    /// Start of the passage in a.
    pub a_start: u32,
    /// End of the passage in a (exclusive).
    pub a_end: u32,
    /// Id of document b.
    pub b: String,
    /// Start of the passage in b.
    pub b_start: u32,
    /// End of the passage in b (exclusive).
    pub b_end: u32,
    /// Alignment score (matched units minus penalties), rounded to 2 decimals.
    pub score: f64,
    /// Units matched exactly.
    pub matches: u32,
    /// How the passage was found: `"verbatim"` (shared n-grams, chained) or `"rewritten"` (sentences of similar
    /// vocabulary); files written before this field read as verbatim.
    #[serde(default)]
    pub kind: crate::passages::align::Kind,
    /// How alike the two sides are, in [0, 1]: share of units matched (verbatim) or tf-isf cosine (rewritten),
    /// rounded to 4 decimals.
    #[serde(default)]
    pub similarity: f64,
    /// The passage's text in a (with `--with-text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a_text: Option<String>,
    /// The passage's text in b (with `--with-text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_text: Option<String>,
}

/// `passages.jsonl` of `passages`: one witness of a passage cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassageRecord {
    /// The passage cluster (0, 1, ... in order of first witness).
    pub cluster: usize,
    /// The document id.
    pub id: String,
    /// Start of the witness.
    pub start: u32,
    /// End of the witness (exclusive).
    pub end: u32,
}

/// `repeats.jsonl` of `repeats`: one line per document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatsRecord {
    /// The document id.
    pub id: String,
    /// Gopher repetition measures.
    pub metrics: RepeatMetrics,
    /// Every later copy of repeated text.
    pub repeats: Vec<Repeat>,
}

/// Where a boilerplate segment stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// The document id.
    pub id: String,
    /// Start.
    pub start: u32,
    /// End (exclusive).
    pub end: u32,
}

/// `boilerplate.jsonl` of `boilerplate`: one line per boilerplate segment, after a [`BoilerplateHeader`] line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoilerplateRecord {
    /// The text of the first example, as in the original.
    pub text: String,
    /// The normalized key, digits masked as `#`.
    pub key: String,
    /// Documents it stands in.
    pub df: u32,
    /// Line or sentence.
    pub kind: SegmentKind,
    /// Where it stands (a few examples).
    pub examples: Vec<SpanRecord>,
}

/// First line of `boilerplate.jsonl`: the format version and the settings the list was made with, which a job that
/// loads the list uses to cut and normalize segments the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoilerplateHeader {
    /// [`SCHEMA_VERSION`] of the list.
    pub schema_version: u32,
    /// The segmentation and normalization settings.
    pub settings: crate::boilerplate::BoilerplateConfig,
}

/// `duplicates.jsonl` of `substrings`: a later occurrence of a repeated substring, merged per document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubstringRecord {
    /// The document id.
    pub id: String,
    /// Start.
    pub start: u32,
    /// End (exclusive).
    pub end: u32,
    /// Units in the span.
    pub units: u32,
    /// The document of the first occurrence.
    pub first_id: String,
    /// Where the first occurrence starts in it.
    pub first_start: u32,
}

/// `{"id", "text"}`: a document of a cleaned corpus (`deduplicated.jsonl` of a directory input, `stripped.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextRecord {
    /// The document id.
    pub id: String,
    /// Its text.
    pub text: String,
}
