//! The document-level pipeline after fingerprinting, in memory or over any storage of shingle sets: exact
//! duplicates folded → LSH candidate pairs → exact verification → duplicate rules → partial reprints attached →
//! clusters and representatives. [`find_duplicates`] is the one implementation, shared by [`Deduper`] and the
//! `dedup` file job (which keeps shingle sets in a spill store).

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;

use crate::candidates::{verify_candidates, CandidateSettings, Listing};
use crate::cluster::{attach_partial_copies, Clusters};
use crate::error::Error;
use crate::lsh::LshParams;
use crate::progress::{NoProgress, Progress};
use crate::verify::PairStats;

use super::{DedupOptions, Fingerprint, Fingerprinter};

/// Shingle sets of documents `0..n` ([`Fingerprint::shingles`]: 32-bit values), read back by index for verification.
/// Implemented in memory by [`MemorySets`]; the `dedup` job implements it over a store that spills to a file.
pub trait ShingleSets: Sync {
    /// Why a set could not be read.
    type Error: std::fmt::Display + Send;
    /// Number of shingles in the set of document `doc`.
    fn set_len(&self, doc: usize) -> usize;
    /// The set of document `doc` (sorted, de-duplicated), borrowed from the store or read into `buf`.
    ///
    /// # Errors
    /// When the storage fails.
    fn read<'a>(&'a self, doc: usize, buf: &'a mut Vec<u32>) -> Result<&'a [u32], Self::Error>;
}

/// Which document's stored values hold each document's shingle set: its own, or those of an earlier document with
/// an equal set (the same text, or an exact duplicate), so that such a set is stored once. Costs nothing until the
/// first shared set, then 4 bytes per document. Used by [`MemorySets`] and by the `dedup` job's spilling store.
///
/// ```
/// use textreuse_core::dedup::SetOwners;
/// let mut o = SetOwners::default();
/// o.push_own(0);
/// o.push_own(1);
/// assert_eq!(o.push_same_as(1, 2), 1); // document 2 has document 1's set
/// assert_eq!(o.push_same_as(2, 3), 1); // document 3 has document 2's, held by document 1
/// o.push_own(4);
/// assert_eq!((0..5).map(|d| o.owner(d)).collect::<Vec<_>>(), [0, 1, 1, 1, 4]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SetOwners {
    /// Empty until a set is shared; then, for every document, the document whose values it has.
    same_as: Vec<u32>,
}

impl SetOwners {
    /// Records that document `n`, the next one, has values of its own.
    pub fn push_own(&mut self, n: usize) {
        if !self.same_as.is_empty() {
            self.same_as.push(n as u32);
        }
    }

    /// Records that document `n`, the next one, has the set of the earlier document `d`; returns the document whose
    /// values hold it (`d`'s owner).
    ///
    /// # Panics
    /// When `d` is not below `n`, or `n` is 2^32 - 1 or more.
    pub fn push_same_as(&mut self, d: usize, n: usize) -> usize {
        assert!(d < n && n < u32::MAX as usize, "no set {d} among {n} to share");
        if self.same_as.is_empty() {
            self.same_as = (0..n as u32).collect();
        }
        let owner = self.same_as[d];
        self.same_as.push(owner);
        owner as usize
    }

    /// The document whose values hold the set of document `d`.
    #[inline]
    pub fn owner(&self, d: usize) -> usize {
        if self.same_as.is_empty() {
            d
        } else {
            self.same_as[d] as usize
        }
    }
}

/// The first document with each shingle set, known by its set hash and size: a later document with the same hash
/// and size is an exact duplicate of it (the rule of [`find_duplicates_listing`], which folds such documents before
/// LSH, so their sets are never read), and its set need not be stored again ([`SetOwners`]).
///
/// ```
/// use textreuse_core::dedup::FirstOfSet;
/// let mut f = FirstOfSet::default();
/// assert_eq!(f.earlier(7, 100, 0), None);
/// assert_eq!(f.earlier(7, 100, 3), Some(0)); // the same set as document 0
/// assert_eq!(f.earlier(7, 99, 4), None); // a hash collision, told apart by the size
/// assert_eq!(f.earlier(8, 100, 5), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FirstOfSet {
    /// By set hash: the first document with it and its set's size.
    first: rustc_hash::FxHashMap<u64, (u32, usize)>,
}

impl FirstOfSet {
    /// Records document `d`, whose set has hash `set_hash` and `len` values (documents in order); returns the
    /// earlier document with an equal set (the first with this hash, when its size is `len` too).
    pub fn earlier(&mut self, set_hash: u64, len: usize, d: u32) -> Option<u32> {
        let &mut (first, first_len) = self.first.entry(set_hash).or_insert((d, len));
        (first != d && first_len == len).then_some(first)
    }
}

/// Shingle sets held in memory, one after another.
#[derive(Debug, Clone)]
pub struct MemorySets {
    values: Vec<u32>,
    offsets: Vec<usize>,
    /// Whose values each set is ([`MemorySets::push_same_as`]).
    owners: SetOwners,
}

impl Default for MemorySets {
    fn default() -> Self {
        MemorySets { values: Vec::new(), offsets: vec![0], owners: SetOwners::default() }
    }
}

impl MemorySets {
    /// Appends the set of the next document; returns its index.
    pub fn push(&mut self, set: &[u32]) -> usize {
        self.values.extend_from_slice(set);
        self.owners.push_own(self.len());
        self.offsets.push(self.values.len());
        self.offsets.len() - 2
    }

    /// Appends the next document as having the set of the earlier document `doc` (known equal, e.g. from the same
    /// text), storing no value; returns its index.
    ///
    /// # Panics
    /// When `doc` is not an earlier document, or at 2^32 documents.
    pub fn push_same_as(&mut self, doc: usize) -> usize {
        let n = self.len();
        self.owners.push_same_as(doc, n);
        self.offsets.push(self.values.len());
        n
    }

    /// Number of sets.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when no set was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The set of document `doc`.
    ///
    /// # Panics
    /// When `doc` is out of range.
    pub fn get(&self, doc: usize) -> &[u32] {
        let doc = self.owners.owner(doc);
        &self.values[self.offsets[doc]..self.offsets[doc + 1]]
    }
}

impl ShingleSets for MemorySets {
    type Error = std::convert::Infallible;

    fn set_len(&self, doc: usize) -> usize {
        let doc = self.owners.owner(doc);
        self.offsets[doc + 1] - self.offsets[doc]
    }

    fn read<'a>(&'a self, doc: usize, _buf: &'a mut Vec<u32>) -> Result<&'a [u32], Self::Error> {
        Ok(self.get(doc))
    }
}

/// What [`find_duplicates`] needs of each fingerprinted document besides its shingle set, in document order:
/// length, set hash and LSH band keys (`bands` per document).
#[derive(Debug, Clone, Default)]
pub struct DocumentTable {
    bands: usize,
    chars: Vec<u64>,
    set_hashes: Vec<u64>,
    band_keys: Vec<u64>,
}

impl DocumentTable {
    /// An empty table for fingerprints of `bands` band keys.
    pub fn new(bands: usize) -> DocumentTable {
        DocumentTable { bands, ..DocumentTable::default() }
    }

    /// Appends the next document; returns its index.
    ///
    /// # Errors
    /// [`Error::Mismatch`] when the fingerprint does not have `bands` band keys.
    pub fn push(&mut self, fp: &Fingerprint) -> Result<u32, Error> {
        if fp.band_keys.len() != self.bands {
            return Err(Error::Mismatch(format!(
                "a fingerprint of {} band keys in a table of {} bands",
                fp.band_keys.len(),
                self.bands
            )));
        }
        self.chars.push(fp.chars);
        self.set_hashes.push(fp.set_hash);
        self.band_keys.extend_from_slice(&fp.band_keys);
        Ok(self.chars.len() as u32 - 1)
    }

    /// Appends the next document with the fingerprint of the earlier document `d` (its length, set hash and band
    /// keys): for a document known to have the same text, not fingerprinted again. Returns its index.
    ///
    /// # Errors
    /// [`Error::Mismatch`] when `d` is not in the table.
    pub fn push_same_as(&mut self, d: usize) -> Result<u32, Error> {
        if d >= self.len() {
            return Err(Error::Mismatch(format!("no document {d} among {} to copy", self.len())));
        }
        self.chars.push(self.chars[d]);
        self.set_hashes.push(self.set_hashes[d]);
        self.band_keys.extend_from_within(d * self.bands..(d + 1) * self.bands);
        Ok(self.chars.len() as u32 - 1)
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// True when the table has no document.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Length of each document in code points.
    pub fn chars(&self) -> &[u64] {
        &self.chars
    }
}

/// A verified pair of documents `a < b` (indices) and its exact statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifiedPair {
    /// The first document (smaller index).
    pub a: u32,
    /// The second document.
    pub b: u32,
    /// Exact Jaccard similarity and containment of their shingle sets.
    pub stats: PairStats,
}

/// Wall-clock seconds of the stages of [`find_duplicates`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageSeconds {
    /// Exact-duplicate folding and LSH candidate pairs.
    pub lsh: f64,
    /// Exact verification of the candidate pairs.
    pub verify: f64,
    /// Duplicate rules, partial reprints and clusters.
    pub cluster: f64,
}

/// What [`find_duplicates`] found.
#[derive(Debug, Clone)]
pub struct DuplicateSearch {
    /// Documents whose shingle set equals an earlier document's (folded before LSH).
    pub exact_duplicates: u64,
    /// Candidate pairs from LSH, after exact duplicates were folded, verified on the shingle sets.
    pub candidate_pairs: u64,
    /// Candidate pairs not verified because both documents were already in one cluster of at least
    /// [`DedupOptions::large_cluster`] documents (a pair sharing buckets in several bands counts once per band).
    pub candidate_pairs_not_verified: u64,
    /// Every verified candidate pair with its exact statistics, duplicate or not, sorted by `(a, b)`; with
    /// [`VerifiedListing::Needed`], only the duplicates and the pairs that reach the partial-reprint containment.
    pub verified: Vec<VerifiedPair>,
    /// The duplicate pairs, sorted by `(a, b)`: exact duplicates (Jaccard 1), verified pairs accepted by the rules
    /// ([`DedupOptions::is_duplicate`]), and the pairs that attach partial reprints.
    pub duplicates: Vec<VerifiedPair>,
    /// Clusters over the duplicate pairs, with representatives chosen by [`DedupOptions::keep`].
    pub clusters: Clusters,
    /// Time per stage.
    pub seconds: StageSeconds,
}

/// Which verified candidate pairs [`find_duplicates_listing`] keeps in [`DuplicateSearch::verified`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerifiedListing {
    /// Every verified candidate pair with its exact statistics.
    #[default]
    All,
    /// Only the pairs the clusters are made of: duplicates ([`DedupOptions::is_duplicate`]) and pairs whose
    /// containment reaches [`DedupOptions::partial_containment`]. The verification of any other pair stops as
    /// soon as the shingles left to compare could not make it one of them (most candidate pairs are far from
    /// both thresholds), so this is faster; clusters, duplicate pairs and counts are the same as with `All`.
    Needed,
}

/// [`find_duplicates_listing`] with [`VerifiedListing::All`].
///
/// # Errors
/// When `sets` cannot be read.
pub fn find_duplicates<S: ShingleSets>(
    table: DocumentTable,
    sets: &S,
    options: &DedupOptions,
    progress: &dyn Progress,
) -> Result<DuplicateSearch, S::Error> {
    find_duplicates_listing(table, sets, options, VerifiedListing::All, progress)
}

/// The document-level pipeline after fingerprinting (the method of the `dedup` job, README "Method" 3–5):
/// 1. documents with equal shingle sets (equal set hash and size) are exact duplicates of the first of them and
///    stay out of LSH;
/// 2. the others become candidate pairs when they share an LSH bucket in any band (the pairs of
///    [`crate::lsh::candidate_pairs`], buckets capped at `max_bucket`), generated band by band;
/// 3. every candidate pair is verified on the exact shingle sets (Jaccard similarity, containment), in parallel
///    batches; inside a cluster of [`DedupOptions::large_cluster`] documents or more, a pair whose documents are
///    already in it is not verified (the clusters are the same; see [`verify_candidates`]);
/// 4. a pair is a duplicate by [`DedupOptions::is_duplicate`]; with `partial_containment`, a document contained in
///    at least two members of one cluster joins it ([`attach_partial_copies`]);
/// 5. union-find clusters; the representative is the first or the longest member ([`DedupOptions::keep`]).
///
/// `table` and `sets` hold the same documents in the same order. `listing` says which verified pairs are kept in
/// [`DuplicateSearch::verified`]. The outcome does not depend on the thread count. Progress is reported for the
/// stage `verify`, in pairs.
///
/// # Errors
/// When `sets` cannot be read.
pub fn find_duplicates_listing<S: ShingleSets>(
    table: DocumentTable,
    sets: &S,
    options: &DedupOptions,
    listing: VerifiedListing,
    progress: &dyn Progress,
) -> Result<DuplicateSearch, S::Error> {
    let DocumentTable { bands, chars, set_hashes, band_keys: keys } = table;
    let n = chars.len();

    // Exact duplicates: equal shingle sets. Only the first of each group enters LSH.
    let t = Instant::now();
    let mut set_hashes: Vec<(u64, u32)> = set_hashes.into_iter().zip(0..n as u32).collect();
    set_hashes.sort_unstable();
    let mut canonical: Vec<u32> = (0..n as u32).collect();
    let mut exact_pairs: Vec<(u32, u32)> = Vec::new();
    for group in set_hashes.chunk_by(|a, b| a.0 == b.0) {
        let first = group[0].1;
        for &(_, d) in &group[1..] {
            if sets.set_len(d as usize) == sets.set_len(first as usize) {
                canonical[d as usize] = first;
                exact_pairs.push((first, d));
            }
        }
    }
    drop(set_hashes);
    let lsh_docs: Vec<u32> = (0..n as u32).filter(|&d| canonical[d as usize] == d).collect();
    let mut lsh_keys = Vec::with_capacity(lsh_docs.len() * bands);
    for &d in &lsh_docs {
        lsh_keys.extend_from_slice(&keys[d as usize * bands..(d as usize + 1) * bands]);
    }
    drop(keys);
    let lsh_seconds = t.elapsed().as_secs_f64();

    // Candidate pairs from the LSH buckets, verified on the exact shingle sets as they are generated; inside clusters
    // of `large_cluster` documents or more, against a spanning set only ([`verify_candidates`]).
    let t = Instant::now();
    progress.start("verify", Some((lsh_docs.len() * bands) as u64), "bucket entries");
    let settings = CandidateSettings { bands, max_bucket: options.max_bucket, large_cluster: options.large_cluster };
    let needed =
        |s: &PairStats| options.is_duplicate(s) || options.partial_containment.is_some_and(|pc| s.containment >= pc);
    let listing = match listing {
        VerifiedListing::All => Listing::All,
        VerifiedListing::Needed => Listing::Satisfying(&needed),
    };
    let is_duplicate = |s: &PairStats| options.is_duplicate(s);
    let found = verify_candidates(&lsh_keys, &lsh_docs, sets, settings, is_duplicate, listing, |k| progress.inc(k))?;
    drop(lsh_keys);
    progress.finish();
    let verified: Vec<VerifiedPair> = found.pairs.iter().map(|&((a, b), stats)| VerifiedPair { a, b, stats }).collect();
    let verify_seconds = t.elapsed().as_secs_f64();

    // Cluster.
    let t = Instant::now();
    let exact_stats = PairStats { intersection: 0, jaccard: 1.0, containment: 1.0 };
    let mut duplicates: Vec<VerifiedPair> = exact_pairs
        .iter()
        .map(|&(a, b)| VerifiedPair {
            a,
            b,
            stats: PairStats { intersection: sets.set_len(a as usize) as u64, ..exact_stats },
        })
        .chain(verified.iter().filter(|p| options.is_duplicate(&p.stats)).copied())
        .collect();
    if let Some(pc) = options.partial_containment {
        let contained: Vec<(u32, u32)> = verified
            .iter()
            .filter(|p| !options.is_duplicate(&p.stats) && p.stats.containment >= pc)
            .map(|p| if sets.set_len(p.a as usize) <= sets.set_len(p.b as usize) { (p.a, p.b) } else { (p.b, p.a) })
            .collect();
        let attach = attach_partial_copies(n, duplicates.iter().map(|p| (p.a, p.b)), &contained, 2);
        // `verified` is sorted by pair (as verification lists them), so each attaching pair's statistics are found by
        // binary search.
        debug_assert!(verified.windows(2).all(|w| (w[0].a, w[0].b) < (w[1].a, w[1].b)));
        for (s, l) in attach {
            let (a, b) = (s.min(l), s.max(l));
            let at = verified.binary_search_by_key(&(a, b), |p| (p.a, p.b)).expect("an attaching pair was verified");
            duplicates.push(VerifiedPair { a, b, stats: verified[at].stats });
        }
    }
    duplicates.par_sort_unstable_by_key(|p| (p.a, p.b));
    let clusters = Clusters::from_pairs(n, duplicates.iter().map(|p| (p.a, p.b)), options.keep, &chars);
    let cluster_seconds = t.elapsed().as_secs_f64();

    Ok(DuplicateSearch {
        exact_duplicates: exact_pairs.len() as u64,
        candidate_pairs: found.verified,
        candidate_pairs_not_verified: found.not_verified,
        verified,
        duplicates,
        clusters,
        seconds: StageSeconds { lsh: lsh_seconds, verify: verify_seconds, cluster: cluster_seconds },
    })
}

/// Document-level deduplication in memory: add documents (id and text), then [`Deduper::finish`] gives the
/// clusters and verified duplicate pairs, exactly as the `dedup` job does over files ([`find_duplicates`]). Shingle
/// sets stay in memory (4 bytes per distinct shingle, about 4 bytes per character of CJK text; a text added again
/// byte for byte is not fingerprinted again and its set is kept once); only document ids, lengths and band keys
/// besides.
///
/// ```
/// use textreuse_core::dedup::{DedupOptions, Deduper};
/// let mut d = Deduper::new(DedupOptions::default()).unwrap();
/// let story = "北京时间五月八日，国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见。";
/// d.add("a", story).unwrap();
/// d.add("b", &story.replace("北京", "北京 ")).unwrap(); // the same text, another layout
/// d.add("c", "Completely unrelated text about the weather in Springfield today.").unwrap();
/// assert!(d.add("a", "again").is_err()); // duplicate id
/// let r = d.finish();
/// assert_eq!(r.cluster_of(1), "a");
/// assert_eq!(r.cluster_of(2), "c");
/// assert_eq!(r.search.duplicates.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Deduper {
    options: DedupOptions,
    fingerprinter: Fingerprinter,
    ids: Vec<String>,
    positions: HashMap<String, u32>,
    table: DocumentTable,
    sets: MemorySets,
    /// A 128-bit XXH3 of each text added by [`Deduper::add`] or [`Deduper::add_batch`], with the first document
    /// that has it.
    texts: rustc_hash::FxHashMap<u128, u32>,
    /// The first document with each set (exact duplicates keep no set of their own).
    first_of_set: FirstOfSet,
}

/// The outcome of [`Deduper::finish`]: the documents (by index, in the order they were added) and what
/// [`find_duplicates`] found among them.
#[derive(Debug, Clone)]
pub struct DedupResult {
    /// Document ids, by index.
    pub ids: Vec<String>,
    /// Length of each document in code points.
    pub chars: Vec<u64>,
    /// LSH bands × rows used.
    pub lsh: LshParams,
    /// The Jaccard similarity LSH was tuned for.
    pub lsh_threshold: f64,
    /// Clusters, duplicate pairs, every verified candidate pair, counts and stage times.
    pub search: DuplicateSearch,
}

impl DedupResult {
    /// The cluster id of document `doc`: its representative's id (its own id when it is in no cluster).
    pub fn cluster_of(&self, doc: usize) -> &str {
        &self.ids[self.search.clusters.representative[doc] as usize]
    }

    /// True when document `doc` stays in a deduplicated corpus (it represents its cluster).
    pub fn is_kept(&self, doc: usize) -> bool {
        self.search.clusters.is_kept(doc)
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there is no document.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl Deduper {
    /// An empty deduplicator.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when a setting is out of range ([`DedupOptions::validate`]).
    pub fn new(options: DedupOptions) -> Result<Deduper, Error> {
        let fingerprinter = Fingerprinter::new(&options)?;
        let table = DocumentTable::new(fingerprinter.lsh().bands);
        Ok(Deduper {
            options,
            fingerprinter,
            ids: Vec::new(),
            positions: HashMap::new(),
            table,
            sets: MemorySets::default(),
            texts: Default::default(),
            first_of_set: Default::default(),
        })
    }

    /// The settings.
    pub fn options(&self) -> &DedupOptions {
        &self.options
    }

    /// The fingerprinter of these settings (to fingerprint on other threads and [`Deduper::add_fingerprint`]).
    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    /// Number of documents added.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no document was added.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Ids of the documents added, by index.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The index of the document with this id.
    pub fn position(&self, id: &str) -> Option<u32> {
        self.positions.get(id).copied()
    }

    /// Fingerprints `text` and adds it under `id`; returns its index (0, 1, ... in the order of successful adds). A
    /// text that a document added before has byte for byte (by a 128-bit XXH3 of its bytes) is not fingerprinted
    /// again: the document gets that fingerprint, and its shingle set is kept once.
    ///
    /// # Errors
    /// The document is not added (the file job skips such records): [`Error::EmptyText`] for an empty or
    /// whitespace-only text, [`Error::NoContent`] for a text without letters, digits or CJK characters,
    /// [`Error::DuplicateId`] for an id already added (checked in that order).
    pub fn add(&mut self, id: &str, text: &str) -> Result<u32, Error> {
        let hash = xxhash_rust::xxh3::xxh3_128(text.as_bytes());
        if let Some(&earlier) = self.texts.get(&hash) {
            return self.add_same_as(id, earlier);
        }
        let fp = fingerprint_checked(&self.fingerprinter, id, text)?;
        let d = self.add_fingerprint(id, &fp)?;
        self.texts.insert(hash, d);
        Ok(d)
    }

    /// Adds a document under `id` with the fingerprint of the earlier document `earlier` (the same text).
    fn add_same_as(&mut self, id: &str, earlier: u32) -> Result<u32, Error> {
        if self.positions.contains_key(id) {
            return Err(Error::DuplicateId(id.to_string()));
        }
        let d = self.table.push_same_as(earlier as usize)?;
        self.sets.push_same_as(earlier as usize);
        self.ids.push(id.to_string());
        self.positions.insert(id.to_string(), d);
        Ok(d)
    }

    /// Adds a document fingerprinted by [`Deduper::fingerprinter`] (or a fingerprinter of equal settings).
    ///
    /// # Errors
    /// [`Error::DuplicateId`]; [`Error::Mismatch`] when the fingerprint has another number of band keys.
    pub fn add_fingerprint(&mut self, id: &str, fp: &Fingerprint) -> Result<u32, Error> {
        if self.positions.contains_key(id) {
            return Err(Error::DuplicateId(id.to_string()));
        }
        let d = self.table.push(fp)?;
        // A set equal to an earlier document's (equal set hash and size: an exact duplicate, never verified) is kept
        // as that one's.
        match self.first_of_set.earlier(fp.set_hash, fp.shingles.len(), d) {
            Some(first) => self.sets.push_same_as(first as usize),
            None => self.sets.push(&fp.shingles),
        };
        self.ids.push(id.to_string());
        self.positions.insert(id.to_string(), d);
        Ok(d)
    }

    /// Adds many documents `(id, text)`, fingerprinting them in parallel (rayon); the outcome is that of calling
    /// [`Deduper::add`] on each in order. Each distinct text not added before is fingerprinted once.
    pub fn add_batch<I: AsRef<str> + Sync, T: AsRef<str> + Sync>(
        &mut self,
        docs: &[(I, T)],
    ) -> Vec<Result<u32, Error>> {
        let hashes: Vec<u128> =
            docs.par_iter().map(|(_, text)| xxhash_rust::xxh3::xxh3_128(text.as_ref().as_bytes())).collect();
        // The first document of the batch with each text not added before: the one fingerprinted.
        let mut first: rustc_hash::FxHashMap<u128, usize> = Default::default();
        for (i, h) in hashes.iter().enumerate() {
            if !self.texts.contains_key(h) {
                first.entry(*h).or_insert(i);
            }
        }
        let fps: Vec<Option<Result<Fingerprint, Error>>> = docs
            .par_iter()
            .zip(&hashes)
            .enumerate()
            .map(|(i, ((id, text), h))| {
                (first.get(h) == Some(&i)).then(|| fingerprint_checked(&self.fingerprinter, id.as_ref(), text.as_ref()))
            })
            .collect();
        docs.iter()
            .zip(&hashes)
            .map(|((id, text), h)| {
                if let Some(&earlier) = self.texts.get(h) {
                    return self.add_same_as(id.as_ref(), earlier);
                }
                // Not added before: the fingerprint of the batch's first document with this text (which was not
                // added: its id was taken), or that document's error under this one's id.
                let fp = match &fps[first[h]] {
                    Some(Ok(fp)) => fp,
                    _ => {
                        return Err(fingerprint_checked(&self.fingerprinter, id.as_ref(), text.as_ref())
                            .expect_err("the same text, the same error"))
                    }
                };
                let d = self.add_fingerprint(id.as_ref(), fp)?;
                self.texts.insert(*h, d);
                Ok(d)
            })
            .collect()
    }

    /// Runs the pipeline ([`find_duplicates`]) over the documents added.
    pub fn finish(self) -> DedupResult {
        self.finish_with_progress(&NoProgress)
    }

    /// [`Deduper::finish`], reporting progress of the verification stage.
    pub fn finish_with_progress(self, progress: &dyn Progress) -> DedupResult {
        self.finish_listing(VerifiedListing::All, progress)
    }

    /// [`Deduper::finish_with_progress`], keeping the verified pairs `listing` says in
    /// [`DuplicateSearch::verified`] ([`VerifiedListing::Needed`] is faster; the clusters and duplicate pairs are
    /// the same).
    pub fn finish_listing(self, listing: VerifiedListing, progress: &dyn Progress) -> DedupResult {
        let lsh = self.fingerprinter.lsh();
        let lsh_threshold = self.options.effective_lsh_threshold();
        let chars = self.table.chars().to_vec();
        let search = match find_duplicates_listing(self.table, &self.sets, &self.options, listing, progress) {
            Ok(s) => s,
            Err(never) => match never {},
        };
        DedupResult { ids: self.ids, chars, lsh, lsh_threshold, search }
    }
}

/// The fingerprint of a document the way the `dedup` job accepts it: a text that is empty or only whitespace, or
/// that has no unit, is an error.
fn fingerprint_checked(f: &Fingerprinter, id: &str, text: &str) -> Result<Fingerprint, Error> {
    if text.trim().is_empty() {
        return Err(Error::EmptyText(id.to_string()));
    }
    f.fingerprint(text).ok_or_else(|| Error::NoContent(id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Keep;

    const STORY: &str = "国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见，\
                         一致同意继续加强全面战略协作，推动两国关系在新时代不断向前发展。";

    #[test]
    fn an_english_reprint_with_ocr_errors_is_a_duplicate() {
        // A paragraph written for this test and a copy with a letter lost or changed in about one word of eight,
        // hard-wrapped in a 30-character column: word bigrams (the default for words) keep the copy above the
        // Jaccard threshold; 4-word shingles, the CJK length, do not.
        let a = "The county commissioners met on Monday afternoon to discuss the new steel bridge across the \
                 river, and after a long debate they voted to raise the money needed for the work before the end \
                 of the year. The mayor said that the old wooden bridge had been closed twice this winter and that \
                 farmers on the east side could not bring their grain to the mill.";
        let b = "The county commissioners met on Monday aftern\non to discuss the new steel bridge acros the \
                 river, and after a long debate they votd to raise the money needed for the work before the end \
                 of the yar. The mayor said that the old wooden bridge had ben closed twice this winter and tha\nt \
                 farmers on the east side could not brinq their grain to the mill.";
        let cluster = |options: DedupOptions| {
            let mut d = Deduper::new(options).unwrap();
            d.add("a", a).unwrap();
            d.add("b", b).unwrap();
            let r = d.finish();
            r.cluster_of(0) == r.cluster_of(1)
        };
        assert!(cluster(DedupOptions::default()));
        assert!(!cluster(DedupOptions { word_ngram: Some(4), ..Default::default() }));
    }

    #[test]
    fn documents_are_checked_in_the_jobs_order() {
        let mut d = Deduper::new(DedupOptions::default()).unwrap();
        assert_eq!(d.add("a", STORY), Ok(0));
        assert_eq!(d.add("b", "  \n"), Err(Error::EmptyText("b".into())));
        assert_eq!(d.add("c", "。，——！"), Err(Error::NoContent("c".into())));
        // A duplicate id with no content is reported as no content, as the job's reader does.
        assert_eq!(d.add("a", "。"), Err(Error::NoContent("a".into())));
        assert_eq!(d.add("a", STORY), Err(Error::DuplicateId("a".into())));
        assert_eq!(d.len(), 1);
        assert!(Error::DuplicateId("a".into()).is_document_error());
    }

    #[test]
    fn settings_out_of_range_are_errors_naming_the_setting() {
        let bad = |o: DedupOptions| match Deduper::new(o) {
            Err(Error::InvalidSetting { name, .. }) => name,
            other => panic!("expected an invalid setting, got {other:?}"),
        };
        assert_eq!(bad(DedupOptions { ngram: 0, ..Default::default() }), "ngram");
        assert_eq!(bad(DedupOptions { word_ngram: Some(0), ..Default::default() }), "word_ngram");
        assert_eq!(bad(DedupOptions { num_perm: 0, ..Default::default() }), "num_perm");
        assert_eq!(bad(DedupOptions { threshold: 1.5, ..Default::default() }), "threshold");
        assert_eq!(bad(DedupOptions { threshold: f64::NAN, ..Default::default() }), "threshold");
        assert_eq!(
            bad(DedupOptions { containment_threshold: Some(-0.1), ..Default::default() }),
            "containment_threshold"
        );
        assert_eq!(bad(DedupOptions { lsh_threshold: Some(0.0), ..Default::default() }), "lsh_threshold");
        let msg = Deduper::new(DedupOptions { ngram: 0, ..Default::default() }).unwrap_err().to_string();
        assert!(msg.contains("ngram") && !msg.contains("--"), "{msg}");
    }

    #[test]
    fn exact_near_and_partial_copies_cluster() {
        let story2 = STORY.replace("莫斯科", "莫斯科市");
        let head: String = STORY.chars().take(40).collect();
        let other = "The city council met on Tuesday to discuss the new library budget and the repair of roads.";
        let mut d = Deduper::new(DedupOptions { keep: Keep::Longest, ..Default::default() }).unwrap();
        let docs = [("x", STORY), ("y", STORY), ("z", story2.as_str()), ("h", head.as_str()), ("o", other)];
        assert!(d.add_batch(&docs).iter().all(Result::is_ok));
        let r = d.finish();
        assert_eq!(r.search.exact_duplicates, 1);
        // x, y (exact), z (near), and h, contained in all three, form one cluster kept by its longest member.
        assert_eq!((0..4).map(|i| r.cluster_of(i)).collect::<Vec<_>>(), ["z"; 4]);
        assert_eq!(r.cluster_of(4), "o");
        assert!(r.is_kept(2) && !r.is_kept(0));
        let pairs: Vec<(u32, u32)> = r.search.duplicates.iter().map(|p| (p.a, p.b)).collect();
        assert!(pairs.windows(2).all(|w| w[0] < w[1]), "{pairs:?}");
        assert!(pairs.contains(&(0, 1)));
        assert_eq!(r.search.duplicates[0].stats.jaccard, 1.0);
    }

    #[test]
    fn lsh_index_finds_inserted_documents_and_forgets_removed_ones() {
        let f = Fingerprinter::new(&DedupOptions::default()).unwrap();
        let a = f.fingerprint(STORY).unwrap();
        let b = f.fingerprint(&STORY.replace("莫斯科", "莫斯科市")).unwrap();
        let o = f.fingerprint("Completely unrelated words about the weather and the harvest this year.").unwrap();
        let mut index = crate::lsh::LshIndex::new(f.lsh());
        index.insert(3, &a).unwrap();
        index.insert(9, &o).unwrap();
        assert_eq!(index.insert(3, &b), Err(Error::DuplicateId("3".into())));
        assert_eq!(index.candidates(&b), vec![3]);
        assert!(index.remove(3) && !index.remove(3));
        assert!(index.candidates(&b).is_empty());
        assert!(matches!(index.candidates_of_keys(&[1, 2]), Err(Error::Mismatch(_))));
    }

    #[test]
    fn a_document_pushed_as_anothers_is_that_fingerprint_pushed_again() {
        let f = Fingerprinter::new(&DedupOptions::default()).unwrap();
        let (a, b) = (f.fingerprint(STORY).unwrap(), f.fingerprint("Putin met Xi in Moscow on Monday.").unwrap());
        let (mut copied, mut pushed) = (DocumentTable::new(f.lsh().bands), DocumentTable::new(f.lsh().bands));
        for t in [&mut copied, &mut pushed] {
            t.push(&a).unwrap();
            t.push(&b).unwrap();
        }
        assert_eq!(copied.push_same_as(0).unwrap(), 2);
        assert_eq!(copied.push_same_as(1).unwrap(), 3);
        pushed.push(&a).unwrap();
        pushed.push(&b).unwrap();
        assert_eq!(
            (&copied.chars, &copied.set_hashes, &copied.band_keys),
            (&pushed.chars, &pushed.set_hashes, &pushed.band_keys)
        );
        assert!(copied.push_same_as(4).is_err());
        assert_eq!(copied.len(), 4);
    }

    #[test]
    fn texts_added_again_get_the_outcome_of_fingerprinting_each() {
        // Copies byte for byte, a copy with other punctuation (the same set, other bytes), near copies, a taken id,
        // empty and content-free texts, some repeated: `add` one by one and `add_batch` in two batches give what
        // `add_fingerprint` of every document's own fingerprint gives, with each distinct text's set kept once.
        let near = STORY.replace("莫斯科", "莫斯科市");
        let other = "The city council met on Tuesday to discuss the new library budget and the repair of roads.";
        let punct = format!("{STORY}。");
        let texts =
            [STORY, other, STORY, near.as_str(), STORY, "", "。，！", other, punct.as_str(), "。，！", near.as_str()];
        let mut docs: Vec<(String, &str)> = texts.iter().enumerate().map(|(i, t)| (format!("d{i}"), *t)).collect();
        docs.insert(3, ("d1".to_string(), STORY)); // a taken id
        docs.push(("d99".to_string(), STORY));

        let options = DedupOptions::default();
        let mut each = Deduper::new(options.clone()).unwrap();
        let want: Vec<Result<u32, Error>> = docs
            .iter()
            .map(|(id, text)| {
                fingerprint_checked(each.fingerprinter(), id, text).and_then(|fp| each.add_fingerprint(id, &fp))
            })
            .collect();
        assert_eq!(want.iter().filter(|r| r.is_err()).count(), 4, "{want:?}");
        let mut one = Deduper::new(options.clone()).unwrap();
        let got: Vec<Result<u32, Error>> = docs.iter().map(|(id, text)| one.add(id, text)).collect();
        assert_eq!(got, want);
        let mut batched = Deduper::new(options).unwrap();
        let (a, b) = docs.split_at(5);
        let got: Vec<Result<u32, Error>> = [batched.add_batch(a), batched.add_batch(b)].concat();
        assert_eq!(got, want);

        // The four documents with STORY, the one with the same set (STORY with a full stop), the two with `other`
        // and the two near copies keep one set each, whichever way they were added.
        let (story, other, near) = (each.sets.get(0).len(), each.sets.get(1).len(), each.sets.get(3).len());
        assert_eq!(each.sets.values.len(), story + other + near);
        assert_eq!(one.sets.values.len(), each.sets.values.len());
        assert_eq!(batched.sets.values.len(), one.sets.values.len());
        let key = |r: DedupResult| {
            let clusters: Vec<String> = (0..r.len()).map(|d| r.cluster_of(d).to_string()).collect();
            let pairs: Vec<(u32, u32, u64)> =
                r.search.duplicates.iter().map(|p| (p.a, p.b, p.stats.intersection)).collect();
            let verified: Vec<(u32, u32, u64)> =
                r.search.verified.iter().map(|p| (p.a, p.b, p.stats.intersection)).collect();
            (r.ids, r.chars, clusters, pairs, verified, r.search.exact_duplicates, r.search.candidate_pairs)
        };
        let want = key(each.finish());
        assert_eq!(want.5, 6, "exact duplicates");
        assert_eq!(key(one.finish()), want);
        assert_eq!(key(batched.finish()), want);
    }
}
