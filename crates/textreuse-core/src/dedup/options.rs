//! Settings of document-level deduplication, shared by [`super::Deduper`] and the `dedup` file job.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::boilerplate::BoilerplateFilter;
use crate::cluster::Keep;
use crate::error::{at_least_one, unit_interval, Error};
use crate::normalize::NormalizeOptions;
use crate::verify::PairStats;

/// Settings of document-level deduplication: normalization, shingles, MinHash LSH, and the rules that make a
/// verified pair a duplicate. The `dedup` job's `summary.json` carries these fields (flattened into its `config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DedupOptions {
    /// Normalization before shingling.
    pub normalize: NormalizeOptions,
    /// Units per shingle that starts with a CJK character; at least 1.
    pub ngram: usize,
    /// Units per shingle that starts with a word (space-delimited scripts: a word carries five or six characters
    /// where a CJK unit carries one); at least 1. `None` (settings stored before this field existed): `ngram`.
    #[serde(default)]
    pub word_ngram: Option<usize>,
    /// Values per MinHash signature; at least 1.
    pub num_perm: usize,
    /// A verified pair with Jaccard similarity at least this is a duplicate; in `[0, 1]`.
    pub threshold: f64,
    /// A verified pair whose containment (`|A ∩ B| / min(|A|, |B|)`) is at least this is also a duplicate, when
    /// set (in `[0, 1]`). This catches reprints cut short.
    pub containment_threshold: Option<f64>,
    /// Partial reprints: a document whose containment in at least two members of one cluster reaches this value
    /// joins the cluster (a reprint cut short). `None` switches it off.
    pub partial_containment: Option<f64>,
    /// Jaccard similarity the LSH bands are tuned for; lower than `threshold` so that containment-only pairs
    /// become candidates. `None`: derived from the thresholds ([`DedupOptions::effective_lsh_threshold`]).
    pub lsh_threshold: Option<f64>,
    /// Seed of the shingle hashes and the MinHash.
    pub seed: u64,
    /// Which member of a cluster is kept (its representative).
    pub keep: Keep,
    /// Buckets larger than this pair each member with the next `max_bucket` members only; at least 1.
    pub max_bucket: usize,
    /// Clusters of at least this many documents are verified against a spanning set: a candidate pair whose two
    /// documents are already in such a cluster is not verified, and the duplicate pairs listed for it are those that
    /// joined its members rather than every pair. The clusters are the same; time and memory stay linear in
    /// documents for a cluster of any size. 0 verifies every candidate pair.
    pub large_cluster: usize,
    /// Known boilerplate, blanked before shingling (not serialized).
    #[serde(skip)]
    pub boilerplate: Option<Arc<BoilerplateFilter>>,
}

impl Default for DedupOptions {
    fn default() -> Self {
        DedupOptions {
            normalize: NormalizeOptions::default(),
            ngram: 4,
            word_ngram: Some(2),
            num_perm: 128,
            threshold: 0.45,
            containment_threshold: None,
            partial_containment: Some(0.9),
            lsh_threshold: None,
            seed: 42,
            keep: Keep::First,
            max_bucket: 256,
            large_cluster: 64,
            boilerplate: None,
        }
    }
}

impl DedupOptions {
    /// Shingle lengths: `ngram` units from a CJK character, `word_ngram` (or `ngram` when unset) from a word.
    pub fn shingle_ngram(&self) -> crate::shingle::Ngram {
        crate::shingle::Ngram { n: self.ngram, word_n: self.word_ngram.unwrap_or(self.ngram) }
    }

    /// Checks every setting's range.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the first setting out of range: `ngram`, `word_ngram`, `num_perm` or
    /// `max_bucket` of 0;
    /// `threshold`, `containment_threshold`, `partial_containment` outside `[0, 1]`; `lsh_threshold` outside
    /// `(0, 1]`.
    pub fn validate(&self) -> Result<(), Error> {
        at_least_one("ngram", self.ngram)?;
        at_least_one("word_ngram", self.word_ngram.unwrap_or(self.ngram))?;
        at_least_one("num_perm", self.num_perm)?;
        at_least_one("max_bucket", self.max_bucket)?;
        unit_interval("threshold", self.threshold)?;
        if let Some(c) = self.containment_threshold {
            unit_interval("containment_threshold", c)?;
        }
        if let Some(c) = self.partial_containment {
            unit_interval("partial_containment", c)?;
        }
        if let Some(t) = self.lsh_threshold {
            if !(t > 0.0 && t <= 1.0) {
                return Err(Error::InvalidSetting {
                    name: "lsh_threshold",
                    requirement: "in (0, 1]",
                    value: t.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The Jaccard similarity the LSH index is tuned for: `lsh_threshold` when set, else 0.75 × the weakest pair
    /// a rule can accept (clamped to `[0.05, 0.95]`).
    pub fn effective_lsh_threshold(&self) -> f64 {
        self.lsh_threshold.unwrap_or_else(|| {
            // Candidates must reach the weakest pair a rule can accept: a containment-only pair of two documents
            // of which one is half the other has Jaccard c / 2; a partial reprint cut to about a quarter of the
            // article has Jaccard near 0.27.
            let mut t = self.threshold;
            if let Some(c) = self.containment_threshold {
                t = t.min(c * 0.5);
            }
            if self.partial_containment.is_some() {
                t = t.min(0.27);
            }
            (t * 0.75).clamp(0.05, 0.95)
        })
    }

    /// True when verified statistics make a pair a duplicate: Jaccard similarity ≥ `threshold`, or containment ≥
    /// `containment_threshold` when set.
    pub fn is_duplicate(&self, s: &PairStats) -> bool {
        s.jaccard >= self.threshold || self.containment_threshold.is_some_and(|c| s.containment >= c)
    }
}
