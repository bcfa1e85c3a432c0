//! The logic of a persistent, incremental index, in memory: new documents searched against documents indexed
//! before, with the results of one `dedup` and one `passages` run over all of them.
//!
//! The storage (immutable segments and a manifest, in `textreuse-io`) is behind the trait [`IndexedDocuments`]:
//! what the search needs of the indexed documents, read back by number. Documents are numbered in the order they
//! were added, across segments (`0..len`); new documents come after them.
//!
//! What is kept per indexed document, and why:
//! - for `dedup`: its length in code points, its shingle set and the set's hash (exact duplicates, verification),
//!   and, for documents that are not exact duplicates of an earlier one, its LSH band keys (buckets); plus the
//!   verified pairs between indexed documents that a cluster needs ([`StoredPair`]: duplicates, and pairs whose
//!   containment reaches `partial_containment`), so that clusters are computed again without verifying old pairs;
//! - for `passages`: its distinct n-gram hashes (postings: n-gram → documents, whose count is its document
//!   frequency), and its original text, read back only to align a candidate pair.
//!
//! The rules are those of the whole run ([`crate::dedup::find_duplicates`], [`crate::passages::PassageIndex`]):
//! - a new document whose shingle set equals the first document's with the same set hash (and size) is its exact
//!   duplicate and stays out of LSH;
//! - other new documents pair, in every band, with the last `max_bucket` documents of their bucket that are not
//!   exact duplicates (a bucket of more documents pairs each with the `max_bucket` before it, as the whole run
//!   does); every pair is verified on the exact shingle sets;
//! - clusters: union-find over duplicate pairs (old and new), partial reprints attached
//!   ([`crate::cluster::attach_partial_copies`]), representatives by [`crate::cluster::Keep`];
//! - passages: an n-gram is boilerplate when more than `max_df` documents (old and new) hold it; a new document
//!   is a candidate with every document (old or new) sharing `min_anchors` n-grams that are not boilerplate;
//!   candidate pairs are aligned with [`crate::align::align_pair`], the earlier document on the indexed side.
//!
//! Verification inside large clusters is not skipped here (the whole run may skip pairs whose documents are
//! already in one cluster of `large_cluster` documents; that changes its list of pairs, not its clusters).

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::align::{align_pair, ngram_hashes, NgramIndex, Passage, UnitDoc};
use crate::cluster::{attach_partial_copies, Clusters};
use crate::dedup::{DedupOptions, Fingerprint, Fingerprinter};
use crate::error::{at_least_one, Error};
use crate::passages::PassageOptions;
use crate::verify::{pair_stats, PairStats};

/// Version of the index format (segment files and manifest). An index of another version is refused. Version 3
/// stores shingle sets as 32-bit values ([`crate::shingle::narrow_set`]; version 2 stored 64-bit hashes).
pub const FORMAT_VERSION: u32 = 3;

/// The settings an index is built with, stored in its manifest: every later command uses them, and one that asks
/// for another value is refused ([`IndexSettings::first_difference`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexSettings {
    /// Normalization, shingles, MinHash LSH and the duplicate rules of `dedup`.
    pub dedup: DedupOptions,
    /// Normalization, n-grams, boilerplate document frequency and alignment settings of `passages`.
    pub passages: PassageOptions,
    /// Documents with more units than this are aligned on their first `max_units` units only.
    pub max_units: usize,
}

impl Default for IndexSettings {
    fn default() -> Self {
        IndexSettings {
            dedup: DedupOptions::default(),
            passages: PassageOptions::default(),
            max_units: crate::passages::DEFAULT_MAX_UNITS,
        }
    }
}

impl IndexSettings {
    /// Checks every setting's range; known-boilerplate filters are refused (an index stores no filter).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the setting.
    pub fn validate(&self) -> Result<(), Error> {
        self.dedup.validate()?;
        self.passages.validate()?;
        at_least_one("max_units", self.max_units)?;
        if self.dedup.boilerplate.is_some() || self.passages.boilerplate.is_some() {
            return Err(Error::InvalidSetting {
                name: "boilerplate",
                requirement: "unset (an index does not store a boilerplate list)",
                value: "a list".into(),
            });
        }
        Ok(())
    }

    /// The first setting whose value differs between `self` and `other`: its dotted name (as in the manifest,
    /// e.g. `dedup.ngram`) and the two values as JSON; `None` when they are equal.
    pub fn first_difference(&self, other: &IndexSettings) -> Option<(String, String, String)> {
        let a = serde_json::to_value(self).expect("settings serialize");
        let b = serde_json::to_value(other).expect("settings serialize");
        fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<(String, String, String)> {
            match (a, b) {
                (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                    let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                    keys.sort();
                    keys.dedup();
                    for k in keys {
                        let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                        let null = serde_json::Value::Null;
                        if let Some(d) = walk(&p, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null)) {
                            return Some(d);
                        }
                    }
                    None
                }
                _ if a == b => None,
                _ => Some((path.to_string(), a.to_string(), b.to_string())),
            }
        }
        walk("", &a, &b)
    }
}

/// A verified pair of documents `a < b` (numbers in the index, new documents after the indexed ones) that a
/// cluster may need: an exact duplicate (equal shingle sets, folded before LSH), a duplicate by the rules, or a
/// pair whose containment reaches `partial_containment` (a partial reprint's witness).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredPair {
    /// The earlier document.
    pub a: u32,
    /// The later document.
    pub b: u32,
    /// Exact statistics of the two shingle sets (for an exact duplicate: intersection = set size, 1, 1).
    pub stats: PairStats,
    /// True for an exact duplicate.
    pub exact: bool,
}

/// What the search needs of the documents already indexed, by number `0..len()` (in the order they were added).
/// Implemented over segment files by `textreuse-io`.
pub trait IndexedDocuments: Sync {
    /// Why the storage failed.
    type Error: std::fmt::Display + Send;
    /// Number of indexed documents.
    fn len(&self) -> u32;
    /// True when nothing is indexed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The id of document `doc`.
    fn id(&self, doc: u32) -> &str;
    /// Length of document `doc` in code points.
    fn chars(&self, doc: u32) -> u64;
    /// Size of the shingle set of document `doc` (0 for a document without shingles, which `dedup` skips).
    fn set_len(&self, doc: u32) -> usize;
    /// True for a document deleted (by id) but not yet compacted away: it is left out of results.
    fn is_deleted(&self, doc: u32) -> bool;
    /// The shingle set of document `doc` (32-bit values, sorted: [`Fingerprint::shingles`]), borrowed from the
    /// storage or read into `buf`.
    ///
    /// # Errors
    /// When the storage fails.
    fn read_set<'a>(&'a self, doc: u32, buf: &'a mut Vec<u32>) -> Result<&'a [u32], Self::Error>;
    /// The first document (smallest number) with a shingle set of hash `set_hash`.
    fn first_with_set_hash(&self, set_hash: u64) -> Option<u32>;
    /// The last `w` documents (ascending) of bucket `key` in LSH band `band`, among documents that are not exact
    /// duplicates of an earlier one.
    fn bucket_tail(&self, band: usize, key: u64, w: usize) -> Vec<u32>;
    /// For each n-gram hash of `hashes` (sorted, distinct): how many indexed documents hold it, and those documents
    /// (ascending) when there are at most `limit` of them (none otherwise).
    ///
    /// # Errors
    /// When the storage fails.
    fn ngram_postings(&self, hashes: &[u64], limit: usize) -> Result<NgramPostings, Self::Error>;
    /// The original text of document `doc` (to align a candidate pair).
    ///
    /// # Errors
    /// When the storage fails.
    fn text(&self, doc: u32) -> Result<String, Self::Error>;
    /// The units of document `doc` as [`Preparer::units`] gives them from its text (stored at indexing time, so
    /// that aligning a candidate pair needs no normalization of the indexed side).
    ///
    /// # Errors
    /// When the storage fails.
    fn units(&self, doc: u32) -> Result<UnitDoc, Self::Error>;
    /// Every stored pair between indexed documents ([`StoredPair`]).
    ///
    /// # Errors
    /// When the storage fails.
    fn pairs(&self) -> Result<Vec<StoredPair>, Self::Error>;
}

/// Postings of a sorted list of n-gram hashes ([`IndexedDocuments::ngram_postings`]), flat: for hash `i`, its
/// document frequency `df[i]` and its documents `docs[offsets[i]..offsets[i + 1]]` (empty when `df[i]` exceeds the
/// limit asked for).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NgramPostings {
    /// Document frequency of each hash.
    pub df: Vec<u64>,
    /// `hashes + 1` offsets into `docs`.
    pub offsets: Vec<usize>,
    /// Documents, hash by hash, ascending within a hash.
    pub docs: Vec<u32>,
}

impl NgramPostings {
    /// Postings of `n` hashes that no document holds.
    pub fn empty(n: usize) -> NgramPostings {
        NgramPostings { df: vec![0; n], offsets: vec![0; n + 1], docs: Vec::new() }
    }

    /// The documents of hash `i`.
    pub fn docs_of(&self, i: usize) -> &[u32] {
        &self.docs[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// A new document as the index keeps it: its fingerprint (none when it has no shingle, as `dedup` skips it), its
/// distinct n-gram hashes (sorted) and, for a query, its units.
#[derive(Debug, Clone)]
pub struct PreparedDoc {
    /// The document id.
    pub id: String,
    /// Length in code points.
    pub chars: u64,
    /// Shingle set, signature and band keys; `None` when the text has no unit.
    pub fingerprint: Option<Fingerprint>,
    /// Distinct n-gram hashes of its units (after truncation to `max_units`), sorted.
    pub ngrams: Vec<u64>,
    /// Number of units (before truncation).
    pub units: u64,
    /// The units (kept for a query, where the document is aligned; `None` otherwise).
    pub unit_doc: Option<UnitDoc>,
}

/// Prepares documents for an index of given settings: one fingerprinter and the passage settings; `Sync`.
#[derive(Debug, Clone)]
pub struct Preparer {
    settings: IndexSettings,
    fingerprinter: Fingerprinter,
}

impl Preparer {
    /// A preparer for these settings.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] ([`IndexSettings::validate`]).
    pub fn new(settings: &IndexSettings) -> Result<Preparer, Error> {
        settings.validate()?;
        Ok(Preparer { settings: settings.clone(), fingerprinter: Fingerprinter::new(&settings.dedup)? })
    }

    /// The settings.
    pub fn settings(&self) -> &IndexSettings {
        &self.settings
    }

    /// The fingerprinter (LSH bands × rows).
    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    /// The units of `text` for alignment, cut to `max_units`.
    pub fn units(&self, text: &str) -> UnitDoc {
        let mut u = self.settings.passages.units(text);
        u.truncate(self.settings.max_units);
        u
    }

    /// The n-gram hashes of a unit sequence, one per start position.
    pub fn ngram_hashes(&self, units: &UnitDoc) -> Vec<u64> {
        let a = &self.settings.passages.align;
        ngram_hashes(&units.ids, a.ngram, a.seed)
    }

    /// Fingerprint, n-grams and (with `keep_units`) units of one document.
    pub fn prepare(&self, id: &str, text: &str, keep_units: bool) -> PreparedDoc {
        let fingerprint = self.fingerprinter.fingerprint(text);
        let full = self.settings.passages.units(text);
        let units = full.len() as u64;
        let mut u = full;
        u.truncate(self.settings.max_units);
        let a = &self.settings.passages.align;
        let ngrams = crate::align::ngram_set(&u.ids, a.ngram, a.seed);
        PreparedDoc {
            id: id.to_string(),
            chars: text.chars().count() as u64,
            fingerprint,
            ngrams,
            units,
            unit_doc: keep_units.then_some(u),
        }
    }
}

/// The shingle set of a document, old (from the index) or new (from its fingerprint).
fn set_of<'a, I: IndexedDocuments>(
    index: &'a I,
    new: &'a [PreparedDoc],
    doc: u32,
    buf: &'a mut Vec<u32>,
) -> Result<&'a [u32], I::Error> {
    let n = index.len();
    if doc < n {
        index.read_set(doc, buf)
    } else {
        Ok(new[(doc - n) as usize].fingerprint.as_ref().map(|f| f.shingles.as_slice()).unwrap_or_default())
    }
}

/// What [`new_duplicate_pairs`] found.
#[derive(Debug, Clone, Default)]
pub struct NewPairs {
    /// The stored pairs, sorted by `(a, b)`.
    pub pairs: Vec<StoredPair>,
    /// For each new document: true when it has a fingerprint and is not an exact duplicate of an earlier document
    /// (it enters the LSH buckets).
    pub in_buckets: Vec<bool>,
}

/// The stored pairs of `new` documents (numbered `index.len()`, `index.len() + 1`, ... in order) with the indexed
/// documents and with each other: exact duplicates, and the verified candidate pairs a cluster may need (see
/// [`StoredPair`]), sorted by `(a, b)`, and which new documents enter the LSH buckets. Deleted documents are neither candidates nor exact-duplicate originals.
///
/// # Errors
/// When the storage fails.
pub fn new_duplicate_pairs<I: IndexedDocuments>(
    index: &I,
    new: &[PreparedDoc],
    options: &DedupOptions,
) -> Result<NewPairs, I::Error> {
    let n = index.len();
    let mut in_buckets = vec![false; new.len()];
    let w = options.max_bucket.max(1);
    let mut first_new: HashMap<u64, u32> = HashMap::new();
    let mut old_tails: HashMap<(usize, u64), Vec<u32>> = HashMap::new();
    let mut new_members: HashMap<(usize, u64), Vec<u32>> = HashMap::new();
    let mut exact: Vec<StoredPair> = Vec::new();
    let mut candidates: Vec<(u32, u32)> = Vec::new();
    let set_len = |d: u32| -> usize {
        if d < n {
            index.set_len(d)
        } else {
            new[(d - n) as usize].fingerprint.as_ref().map_or(0, |f| f.shingles.len())
        }
    };
    for (k, doc) in new.iter().enumerate() {
        let Some(fp) = &doc.fingerprint else { continue };
        let g = n + k as u32;
        let first = index
            .first_with_set_hash(fp.set_hash)
            .filter(|&d| !index.is_deleted(d))
            .or_else(|| first_new.get(&fp.set_hash).copied());
        match first {
            None => {
                first_new.insert(fp.set_hash, g);
            }
            Some(f) if set_len(f) == fp.shingles.len() => {
                let len = fp.shingles.len() as u64;
                let stats = PairStats { intersection: len, jaccard: 1.0, containment: 1.0 };
                exact.push(StoredPair { a: f, b: g, stats, exact: true });
                continue;
            }
            Some(_) => {}
        }
        in_buckets[k] = true;
        let mut mine: Vec<u32> = Vec::new();
        for (band, &key) in fp.band_keys.iter().enumerate() {
            let old = old_tails.entry((band, key)).or_insert_with(|| {
                index.bucket_tail(band, key, w).into_iter().filter(|&d| !index.is_deleted(d)).collect()
            });
            let members = new_members.entry((band, key)).or_default();
            let take_new = members.len().min(w);
            let take_old = (w - take_new).min(old.len());
            mine.extend_from_slice(&old[old.len() - take_old..]);
            mine.extend_from_slice(&members[members.len() - take_new..]);
            members.push(g);
        }
        mine.sort_unstable();
        mine.dedup();
        candidates.extend(mine.into_iter().map(|a| (a, g)));
    }
    let keep =
        |s: &PairStats| options.is_duplicate(s) || options.partial_containment.is_some_and(|pc| s.containment >= pc);
    let verified: Vec<Result<Option<StoredPair>, I::Error>> = candidates
        .par_iter()
        .map(|&(a, b)| {
            let (mut ba, mut bb) = (Vec::new(), Vec::new());
            let sa = set_of(index, new, a, &mut ba)?;
            let sb = set_of(index, new, b, &mut bb)?;
            let stats = pair_stats(sa, sb);
            Ok(keep(&stats).then_some(StoredPair { a, b, stats, exact: false }))
        })
        .collect();
    let mut out = exact;
    for v in verified {
        out.extend(v?);
    }
    out.sort_unstable_by_key(|p| (p.a, p.b));
    Ok(NewPairs { pairs: out, in_buckets })
}

/// Clusters over documents `0..n` from stored pairs, by the rules of the whole run: duplicates (exact or by
/// [`DedupOptions::is_duplicate`]) joined, partial reprints attached (contained, by at least `partial_containment`,
/// in two members of one cluster), representatives by `keep` over `chars`. Returns the clusters and the duplicate
/// pairs (attachments included), sorted. Pairs with a deleted document (`deleted(d)`) are left out.
pub fn clusters_of(
    n: usize,
    pairs: &[StoredPair],
    set_len: impl Fn(u32) -> usize,
    chars: &[u64],
    deleted: impl Fn(u32) -> bool,
    options: &DedupOptions,
) -> (Clusters, Vec<StoredPair>) {
    let live: Vec<&StoredPair> = pairs.iter().filter(|p| !deleted(p.a) && !deleted(p.b)).collect();
    let is_dup = |p: &StoredPair| p.exact || options.is_duplicate(&p.stats);
    let mut duplicates: Vec<StoredPair> = live.iter().filter(|p| is_dup(p)).map(|p| **p).collect();
    if let Some(pc) = options.partial_containment {
        let contained: Vec<(u32, u32)> = live
            .iter()
            .filter(|p| !is_dup(p) && p.stats.containment >= pc)
            .map(|p| if set_len(p.a) <= set_len(p.b) { (p.a, p.b) } else { (p.b, p.a) })
            .collect();
        let attach = attach_partial_copies(n, duplicates.iter().map(|p| (p.a, p.b)), &contained, 2);
        let stats: HashMap<(u32, u32), StoredPair> = live.iter().map(|p| ((p.a, p.b), **p)).collect();
        for (s, l) in attach {
            duplicates.push(stats[&(s.min(l), s.max(l))]);
        }
    }
    duplicates.sort_unstable_by_key(|p| (p.a, p.b));
    let clusters = Clusters::from_pairs(n, duplicates.iter().map(|p| (p.a, p.b)), options.keep, chars);
    (clusters, duplicates)
}

/// [`crate::align::index_ngrams`] restricted to the n-grams of `wanted` (sorted): hash → positions (the first
/// `max_repeat`), without the n-grams in `boilerplate`. Lookups of the n-grams of `wanted` give what the full index
/// gives, and a long indexed document aligned with a short new one costs a fraction of its full index.
fn index_wanted_ngrams(
    hashes: &[u64],
    wanted: &[u64],
    boilerplate: &rustc_hash::FxHashSet<u64>,
    max_repeat: usize,
) -> NgramIndex {
    let mut m = NgramIndex::new(hashes.len(), max_repeat);
    for (i, h) in hashes.iter().enumerate() {
        if wanted.binary_search(h).is_ok() && !boilerplate.contains(h) {
            m.push(*h, i as u32);
        }
    }
    m
}

/// One aligned passage pair involving a new document: numbers `a`, `b` (old or new, as in [`new_duplicate_pairs`]),
/// the document whose id sorts first on side a, spans in code points of the original texts.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexAlignment {
    /// Document on side a.
    pub a: u32,
    /// Document on side b.
    pub b: u32,
    /// The passage.
    pub passage: Passage,
}

/// The passages each new document (with `unit_doc` kept) shares with the indexed documents and with the other new
/// documents: candidate pairs and alignments by the rules of the `passages` job over all documents. Returned in the
/// order of the `passages` job's `alignments.jsonl`: by (a's id, a's span, b's id, b's span).
///
/// # Errors
/// When the storage fails.
pub fn new_alignments<I: IndexedDocuments>(
    index: &I,
    new: &[PreparedDoc],
    preparer: &Preparer,
) -> Result<Vec<IndexAlignment>, I::Error> {
    let n = index.len();
    let cfg = &preparer.settings.passages.align;
    // Every n-gram of the new documents: `(hash, new document)` sorted; its postings among the old documents.
    let mut entries: Vec<(u64, u32)> =
        new.iter().enumerate().flat_map(|(k, d)| d.ngrams.iter().map(move |&h| (h, k as u32))).collect();
    entries.par_sort_unstable();
    let mut all: Vec<u64> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if all.last() != Some(&e.0) {
            all.push(e.0);
            starts.push(i);
        }
    }
    starts.push(entries.len());
    let old = index.ngram_postings(&all, cfg.max_df)?;
    let is_boilerplate: Vec<bool> =
        (0..all.len()).map(|i| old.df[i] as usize + (starts[i + 1] - starts[i]) > cfg.max_df).collect();
    let boilerplate: rustc_hash::FxHashSet<u64> =
        all.iter().zip(&is_boilerplate).filter(|x| *x.1).map(|x| *x.0).collect();
    // Candidate pairs (x < y): each new document with the earlier ones sharing `min_anchors` n-grams.
    let per_doc: Vec<Vec<(u32, u32)>> = new
        .par_iter()
        .enumerate()
        .map(|(k, d)| {
            let g = n + k as u32;
            let mut counts: HashMap<u32, usize> = HashMap::new();
            for h in &d.ngrams {
                let i = all.binary_search(h).expect("every n-gram of a new document is listed");
                if is_boilerplate[i] {
                    continue;
                }
                for &o in old.docs_of(i) {
                    if !index.is_deleted(o) {
                        *counts.entry(o).or_default() += 1;
                    }
                }
                for &(_, j) in entries[starts[i]..starts[i + 1]].iter().take_while(|e| (e.1 as usize) < k) {
                    *counts.entry(n + j).or_default() += 1;
                }
            }
            let mut mine: Vec<u32> =
                counts.into_iter().filter(|&(_, c)| c >= cfg.min_anchors.max(1)).map(|x| x.0).collect();
            mine.sort_unstable();
            mine.into_iter().map(|x| (x, g)).collect()
        })
        .collect();
    drop(entries);
    let mut pairs: Vec<(u32, u32)> = per_doc.into_iter().flatten().collect();
    pairs.sort_unstable();
    let new_hashes: Vec<Vec<u64>> =
        new.par_iter().map(|d| d.unit_doc.as_ref().map(|u| preparer.ngram_hashes(u)).unwrap_or_default()).collect();
    let id = |d: u32| -> &str {
        if d < n {
            index.id(d)
        } else {
            &new[(d - n) as usize].id
        }
    };
    // Aligned in groups by the earlier document, whose units and n-gram index are built once.
    let groups: Vec<&[(u32, u32)]> = pairs.chunk_by(|x, y| x.0 == y.0).collect();
    let found: Vec<Result<Vec<IndexAlignment>, I::Error>> = groups
        .par_iter()
        .map(|g| {
            let x = g[0].0;
            let owned;
            let ux: &UnitDoc = if x < n {
                owned = index.units(x)?;
                &owned
            } else {
                new[(x - n) as usize].unit_doc.as_ref().expect("query documents keep their units")
            };
            let hx;
            let hx: &[u64] = if x < n {
                hx = preparer.ngram_hashes(ux);
                &hx
            } else {
                &new_hashes[(x - n) as usize]
            };
            // Only the n-grams of the documents it is aligned with are ever looked up in its index.
            let mut wanted: Vec<u64> =
                g.iter().flat_map(|&(_, y)| new[(y - n) as usize].ngrams.iter().copied()).collect();
            if g.len() > 1 {
                wanted.sort_unstable();
                wanted.dedup();
            }
            let ix = index_wanted_ngrams(hx, &wanted, &boilerplate, cfg.max_repeat);
            let mut out = Vec::new();
            for &(_, y) in *g {
                let dy = &new[(y - n) as usize];
                let uy = dy.unit_doc.as_ref().expect("query documents keep their units");
                let hy = &new_hashes[(y - n) as usize];
                for p in align_pair(ux, &ix, uy, hy, cfg) {
                    out.push(if id(x) <= id(y) {
                        IndexAlignment { a: x, b: y, passage: p }
                    } else {
                        let q =
                            Passage { a_units: p.b_units, b_units: p.a_units, a_span: p.b_span, b_span: p.a_span, ..p };
                        IndexAlignment { a: y, b: x, passage: q }
                    });
                }
            }
            Ok(out)
        })
        .collect();
    let mut out = Vec::new();
    for f in found {
        out.extend(f?);
    }
    out.sort_by(|p, q| {
        (id(p.a), p.passage.a_span, id(p.b), p.passage.b_span).cmp(&(
            id(q.a),
            q.passage.a_span,
            id(q.b),
            q.passage.b_span,
        ))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_differing_setting_is_named_with_both_values() {
        let a = IndexSettings::default();
        assert_eq!(a.first_difference(&a.clone()), None);
        let mut b = a.clone();
        b.passages.align.max_df = 9;
        b.dedup.ngram = 5;
        let (name, was, now) = a.first_difference(&b).unwrap();
        assert_eq!((name.as_str(), was.as_str(), now.as_str()), ("dedup.ngram", "4", "5"));
        b.dedup.ngram = 4;
        assert_eq!(a.first_difference(&b).unwrap().0, "passages.align.max_df");
    }

    #[test]
    fn clusters_attach_partial_reprints_and_skip_deleted_documents() {
        let opts = DedupOptions::default();
        let dup = |a, b| StoredPair {
            a,
            b,
            stats: PairStats { intersection: 10, jaccard: 0.9, containment: 0.95 },
            exact: false,
        };
        let contained = |a, b| StoredPair {
            a,
            b,
            stats: PairStats { intersection: 5, jaccard: 0.2, containment: 0.95 },
            exact: false,
        };
        // 0 ~ 1 duplicates; 2 is contained in both (a reprint cut short): it joins them.
        let pairs = [dup(0, 1), contained(0, 2), contained(1, 2)];
        let lens = [20usize, 20, 5, 7];
        let chars = [100, 100, 20, 30];
        let (c, d) = clusters_of(4, &pairs, |x| lens[x as usize], &chars, |_| false, &opts);
        assert_eq!(c.representative, [0, 0, 0, 3]);
        assert_eq!(d.len(), 2);
        // With document 1 deleted, 2 has one witness only and stays alone.
        let (c, _) = clusters_of(4, &pairs, |x| lens[x as usize], &chars, |x| x == 1, &opts);
        assert_eq!(c.representative, [0, 1, 2, 3]);
    }
}
