//! Passage-level reuse over a corpus held in memory: documents → units → n-gram index → candidate pairs →
//! alignments ([`super::align`]) → passage clusters. The `passages` file job runs the same steps out of core, with
//! the pieces shared here: [`postings_pairs`] (candidate pairs of sorted postings), [`orient`] and
//! [`sort_alignments`] (the order of the outputs), [`passage_clusters`].
//!
//! Cost: normalization and indexing are linear in the corpus; the index is one sort of `(n-gram, document)` entries
//! (one per distinct n-gram of each document, 12 bytes each); candidate pairs grow with the number of document
//! pairs that share text, bounded per n-gram by `max_df`; alignment is linear in the anchors of each candidate
//! pair. The units of every document stay in memory (16 bytes per unit, plus 8 per n-gram hash).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::boilerplate::BoilerplateFilter;
use crate::cluster::UnionFind;
use crate::error::{at_least_one, unit_interval, Error};
use crate::normalize::NormalizeOptions;
use crate::progress::{NoProgress, Progress};

use super::align::{
    align_pair as align_units_pair, index_ngrams, ngram_hashes, AlignConfig, Kind, NgramIndex, Passage, UnitDoc,
};
use super::rewritten::{align_rewritten, Bags, TEMPLATE_LENGTH, TEMPLATE_PARTNERS};

/// Documents with more units than this are aligned on their first `DEFAULT_MAX_UNITS` units only.
pub const DEFAULT_MAX_UNITS: usize = 5_000_000;

/// Settings of passage alignment: normalization, index and alignment. The `passages` job's `summary.json` carries
/// these fields (flattened into its `config`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PassageOptions {
    /// Normalization before unit splitting.
    pub normalize: NormalizeOptions,
    /// Index and alignment settings.
    pub align: AlignConfig,
    /// Known boilerplate, blanked before indexing (offsets stay those of the original text; not serialized).
    #[serde(skip)]
    pub boilerplate: Option<Arc<BoilerplateFilter>>,
}

impl PassageOptions {
    /// Checks every setting's range.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the first setting out of range: `ngram` or `min_length` of 0,
    /// `min_identity` outside `[0, 1]`.
    pub fn validate(&self) -> Result<(), Error> {
        at_least_one("ngram", self.align.ngram)?;
        at_least_one("min_length", self.align.min_length)?;
        unit_interval("min_identity", self.align.min_identity)
    }

    /// The units of `text` for alignment: boilerplate blanked (when a filter is set), normalized, split into units,
    /// each with its span in code points of `text`.
    pub fn units(&self, text: &str) -> UnitDoc {
        match &self.boilerplate {
            Some(f) => UnitDoc::new(&f.apply(text), &self.normalize),
            None => UnitDoc::new(text, &self.normalize),
        }
    }

    /// The sentence bags of `text` for rewritten reuse (as [`PassageOptions::units`], sentence by sentence);
    /// empty unless `align.rewritten` is set.
    pub fn bags(&self, text: &str) -> Bags {
        if !self.align.rewritten {
            return Bags::default();
        }
        match &self.boilerplate {
            Some(f) => Bags::new(&f.apply(text), &self.normalize),
            None => Bags::new(text, &self.normalize),
        }
    }

    /// [`PassageOptions::units`] and [`PassageOptions::bags`] of `text`, normalized and split into units once.
    pub fn units_and_bags(&self, text: &str) -> (UnitDoc, Bags) {
        if !self.align.rewritten {
            return (self.units(text), Bags::default());
        }
        let text: std::borrow::Cow<str> = match &self.boilerplate {
            Some(f) => f.apply(text),
            None => text.into(),
        };
        let text: &str = &text;
        let n = crate::normalize::normalize(text, &self.normalize);
        let us = crate::shingle::units(&n.text);
        (UnitDoc::from_text(text, &n, &us), Bags::from_units(text, &n, &us))
    }

    /// The passages documents with these units and bags share: verbatim ones (anchors), and rewritten ones when
    /// `align.rewritten` is set. `a_index` indexes a's n-grams; `b_hashes` are b's.
    pub fn passages(
        &self,
        (a, ba): (&UnitDoc, &Bags),
        a_index: &NgramIndex,
        (b, bb): (&UnitDoc, &Bags),
        b_hashes: &[u64],
    ) -> Vec<Passage> {
        let cfg = &self.align;
        let verbatim = align_units_pair(a, a_index, b, b_hashes, cfg);
        // Where verbatim passages cover nine tenths of the shorter document, there is nothing rewritten to find.
        let covered = |side_a: bool| {
            let mut iv: Vec<(u32, u32)> = verbatim.iter().map(|p| if side_a { p.a_units } else { p.b_units }).collect();
            iv.sort_unstable();
            let (mut total, mut end) = (0u32, 0u32);
            for (s, e) in iv {
                if e > end {
                    total += e - s.max(end);
                    end = e;
                }
            }
            total as usize
        };
        let shorter =
            if a.len() <= b.len() { covered(true) * 10 >= a.len() * 9 } else { covered(false) * 10 >= b.len() * 9 };
        if cfg.rewritten && !shorter {
            align_rewritten((a, ba), (b, bb), verbatim, cfg.min_short.min(cfg.min_length))
        } else {
            verbatim
        }
    }
}

/// One aligned passage pair between two documents of a [`PassageIndex`], by document index; the document whose id
/// sorts first is on side a.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// Index of document a.
    pub a: u32,
    /// Index of document b.
    pub b: u32,
    /// The passage: spans in units and in code points of the original texts (`[start, end)`), matches, score.
    pub passage: Passage,
}

/// Candidate pairs from per-document n-gram hash lists: pairs `(a, b)`, `a < b`, sharing at least `min_anchors`
/// distinct n-grams that stand in at most `max_df` documents. Returns the pairs (sorted) and the set of boilerplate
/// n-grams (found in more than `max_df` documents).
pub fn candidate_pairs(hashes: &[Vec<u64>], max_df: usize, min_anchors: usize) -> (Vec<(u32, u32)>, HashSet<u64>) {
    let mut entries: Vec<(u64, u32)> = hashes
        .par_iter()
        .enumerate()
        .flat_map_iter(|(d, hs)| {
            let mut u = hs.clone();
            u.sort_unstable();
            u.dedup();
            u.into_iter().map(move |h| (h, d as u32))
        })
        .collect();
    entries.par_sort_unstable();
    let mut boilerplate = HashSet::new();
    let mut pairs: Vec<u64> = Vec::new();
    postings_pairs(&entries, max_df, |h| _ = boilerplate.insert(h), |p| pairs.push(p));
    drop(entries);
    pairs.par_sort_unstable();
    let out = pairs
        .chunk_by(|x, y| x == y)
        .filter(|g| g.len() >= min_anchors.max(1))
        .map(|g| ((g[0] >> 32) as u32, g[0] as u32))
        .collect();
    (out, boilerplate)
}

/// The document pairs that the postings `sorted` (n-gram hash, document), sorted and without repeats, put
/// together: for each n-gram found in at most `max_df` documents, every pair `(a, b)`, `a < b`, of its documents,
/// passed to `pair` as `a << 32 | b` (once per shared n-gram: counting them gives the shared n-grams of the pair);
/// each n-gram found in more documents is passed to `boilerplate` instead. This is the step of
/// [`candidate_pairs`] that the out-of-core `passages` job runs on one hash range at a time: every posting of an
/// n-gram lies in one range, so the ranges' pairs summed are those of the whole.
pub fn postings_pairs(
    sorted: &[(u64, u32)],
    max_df: usize,
    mut boilerplate: impl FnMut(u64),
    mut pair: impl FnMut(u64),
) {
    for group in sorted.chunk_by(|x, y| x.0 == y.0) {
        if group.len() > max_df {
            boilerplate(group[0].0);
            continue;
        }
        for (k, &(_, a)) in group.iter().enumerate() {
            for &(_, b) in &group[k + 1..] {
                pair(((a as u64) << 32) | b as u64);
            }
        }
    }
}

/// Passage clusters: connected components of aligned spans, where two spans are joined when an alignment links
/// them or when they overlap in one document by at least half the longer span. Returns, per cluster (numbered from 0 in order of first member),
/// its members `(document index, start, end)` with overlapping spans of one document merged, sorted.
pub fn passage_clusters(passages: &[Alignment]) -> Vec<Vec<(u32, u32, u32)>> {
    // Nodes: 2k is side a of passage k, 2k + 1 side b.
    let mut nodes: Vec<(u32, u32, u32, usize)> = Vec::with_capacity(passages.len() * 2);
    for (k, p) in passages.iter().enumerate() {
        nodes.push((p.a, p.passage.a_span.0, p.passage.a_span.1, 2 * k));
        nodes.push((p.b, p.passage.b_span.0, p.passage.b_span.1, 2 * k + 1));
    }
    let mut uf = UnionFind::new(nodes.len());
    for k in 0..passages.len() {
        uf.union(2 * k as u32, 2 * k as u32 + 1);
    }
    nodes.sort_unstable();
    for g in nodes.chunk_by(|x, y| x.0 == y.0) {
        // Spans of one document join when they overlap by half the longer one: they are mostly the same text.
        // A passage's edges may bleed into the next article, and a quoted sentence may stand inside an article,
        // without making one passage of the two.
        let mut active: Vec<(u32, u32, usize)> = Vec::new();
        for &(_, s, e, node) in g {
            active.retain(|&(_, ae, _)| ae > s);
            for &(as_, ae, an) in &active {
                let ov = ae.min(e).saturating_sub(as_.max(s));
                if ov * 2 >= (ae - as_).max(e - s) {
                    uf.union(an as u32, node as u32);
                }
            }
            active.push((s, e, node));
        }
    }
    let mut members: BTreeMap<u32, Vec<(u32, u32, u32)>> = BTreeMap::new();
    for &(d, s, e, node) in &nodes {
        members.entry(uf.find(node as u32)).or_default().push((d, s, e));
    }
    let mut clusters: Vec<Vec<(u32, u32, u32)>> = members
        .into_values()
        .map(|mut m| {
            m.sort_unstable();
            let mut merged: Vec<(u32, u32, u32)> = Vec::new();
            for (d, s, e) in m {
                match merged.last_mut() {
                    Some(last) if last.0 == d && s <= last.2 => last.2 = last.2.max(e),
                    _ => merged.push((d, s, e)),
                }
            }
            merged
        })
        .collect();
    clusters.sort_unstable_by_key(|m| m[0]);
    clusters
}

/// Aligns two texts directly (no corpus, no candidate step, no boilerplate n-grams): their units and the passages
/// they share, in order of their start in `a`. Used by `compare`, which shows the units side by side.
pub fn align_texts(
    a: &str,
    b: &str,
    normalize: &NormalizeOptions,
    cfg: &AlignConfig,
) -> (UnitDoc, UnitDoc, Vec<Passage>) {
    let options = PassageOptions { normalize: *normalize, align: cfg.clone(), boilerplate: None };
    let ((da, ba), (db, bb)) = (options.units_and_bags(a), options.units_and_bags(b));
    let index = index_ngrams(&ngram_hashes(&da.ids, cfg.ngram, cfg.seed), &HashSet::new(), cfg.max_repeat);
    let ps = options.passages((&da, &ba), &index, (&db, &bb), &ngram_hashes(&db.ids, cfg.ngram, cfg.seed));
    (da, db, ps)
}

/// The passages two texts share (boilerplate blanked first when `options` has a filter), in order of their start
/// in `a`; spans in code points of `a` and `b`, half-open.
///
/// ```
/// use textreuse_core::passages::{align_pair, PassageOptions};
/// let story = "国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见，一致同意继续加强合作。";
/// let a = format!("本报讯 {story} 其他新闻");
/// let b = format!("{story}（完）");
/// let ps = align_pair(&a, &b, &PassageOptions::default()).unwrap();
/// assert_eq!(ps.len(), 1);
/// assert_eq!(ps[0].a_span.0, 4); // after "本报讯 "
/// ```
///
/// # Errors
/// [`Error::InvalidSetting`] when a setting is out of range ([`PassageOptions::validate`]).
pub fn align_pair(a: &str, b: &str, options: &PassageOptions) -> Result<Vec<Passage>, Error> {
    options.validate()?;
    let cfg = &options.align;
    let ((da, ba), (db, bb)) = (options.units_and_bags(a), options.units_and_bags(b));
    let index = index_ngrams(&ngram_hashes(&da.ids, cfg.ngram, cfg.seed), &HashSet::new(), cfg.max_repeat);
    Ok(options.passages((&da, &ba), &index, (&db, &bb), &ngram_hashes(&db.ids, cfg.ngram, cfg.seed)))
}

/// Candidate pairs of a [`PassageIndex`] and the boilerplate n-grams left out of them.
#[derive(Debug, Clone, Default)]
struct Candidates {
    pairs: Vec<(u32, u32)>,
    boilerplate: rustc_hash::FxHashSet<u64>,
}

/// Passage-level reuse over documents held in memory: add documents, then [`PassageIndex::candidates`] (pairs of
/// documents sharing at least `min_anchors` n-grams that are not boilerplate), [`PassageIndex::align`] one pair or
/// [`PassageIndex::alignments`] every candidate pair, and [`passage_clusters`]. This is the `passages` job without
/// the files. Methods that query take `&mut self` because the n-gram hashes and candidates are computed once,
/// lazily, after the last document was added.
///
/// ```
/// use textreuse_core::passages::{PassageIndex, PassageOptions};
/// let story = "国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见，一致同意继续加强合作。";
/// let mut index = PassageIndex::new(PassageOptions::default()).unwrap();
/// index.add("x", &format!("本报讯 {story}")).unwrap();
/// index.add("y", &format!("{story}（完）")).unwrap();
/// assert_eq!(index.candidates(), &[(0, 1)]);
/// let found = index.alignments();
/// assert_eq!((found[0].a, found[0].passage.a_span.0), (0, 4));
/// ```
#[derive(Debug, Clone)]
pub struct PassageIndex {
    options: PassageOptions,
    max_units: usize,
    ids: Vec<String>,
    positions: HashMap<String, u32>,
    docs: Vec<UnitDoc>,
    bags: Vec<Bags>,
    hashes: Vec<Vec<u64>>,
    truncated: Vec<(u32, u64)>,
    candidates: Option<Candidates>,
}

impl PassageIndex {
    /// An empty index.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when a setting is out of range ([`PassageOptions::validate`]).
    pub fn new(options: PassageOptions) -> Result<PassageIndex, Error> {
        options.validate()?;
        Ok(PassageIndex {
            options,
            max_units: DEFAULT_MAX_UNITS,
            ids: Vec::new(),
            positions: HashMap::new(),
            docs: Vec::new(),
            bags: Vec::new(),
            hashes: Vec::new(),
            truncated: Vec::new(),
            candidates: None,
        })
    }

    /// Documents added later with more units than `max_units` are aligned on their first `max_units` units only
    /// (listed by [`PassageIndex::truncated`]); default [`DEFAULT_MAX_UNITS`].
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when `max_units` is 0.
    pub fn with_max_units(mut self, max_units: usize) -> Result<PassageIndex, Error> {
        at_least_one("max_units", max_units)?;
        self.max_units = max_units;
        Ok(self)
    }

    /// The settings.
    pub fn options(&self) -> &PassageOptions {
        &self.options
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no document was added.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Document ids, by index.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The index of the document with this id.
    pub fn position(&self, id: &str) -> Option<u32> {
        self.positions.get(id).copied()
    }

    /// The units of document `doc` (after truncation to `max_units`).
    ///
    /// # Panics
    /// When `doc` is out of range.
    pub fn units(&self, doc: u32) -> &UnitDoc {
        &self.docs[doc as usize]
    }

    /// Documents cut to `max_units` units: `(index, full length in units)`.
    pub fn truncated(&self) -> &[(u32, u64)] {
        &self.truncated
    }

    /// Adds a document; returns its index (0, 1, ... in the order of successful adds). A text without units is
    /// added (it aligns with nothing).
    ///
    /// # Errors
    /// The document is not added (the file job skips such records): [`Error::EmptyText`] for an empty or
    /// whitespace-only text, [`Error::DuplicateId`] for an id already added.
    pub fn add(&mut self, id: &str, text: &str) -> Result<u32, Error> {
        if text.trim().is_empty() {
            return Err(Error::EmptyText(id.to_string()));
        }
        if self.positions.contains_key(id) {
            return Err(Error::DuplicateId(id.to_string()));
        }
        let (units, bags) = self.options.units_and_bags(text);
        self.add_units_and_bags(id, units, bags)
    }

    /// Adds many documents `(id, text)`, normalizing them in parallel (rayon); the outcome is that of calling
    /// [`PassageIndex::add`] on each in order.
    pub fn add_batch<I: AsRef<str> + Sync, T: AsRef<str> + Sync>(
        &mut self,
        docs: &[(I, T)],
    ) -> Vec<Result<u32, Error>> {
        let units: Vec<Option<(UnitDoc, Bags)>> = docs
            .par_iter()
            .map(|(_, t)| {
                let t = t.as_ref();
                (!t.trim().is_empty()).then(|| self.options.units_and_bags(t))
            })
            .collect();
        units
            .into_iter()
            .zip(docs)
            .map(|(u, (id, _))| match u {
                None => Err(Error::EmptyText(id.as_ref().to_string())),
                Some((u, b)) => self.add_units_and_bags(id.as_ref(), u, b),
            })
            .collect()
    }

    /// Adds a document by its units ([`PassageOptions::units`] of its text); it takes part in verbatim alignment
    /// only (rewritten reuse needs its sentences: [`PassageIndex::add_units_and_bags`]).
    ///
    /// # Errors
    /// [`Error::DuplicateId`] for an id already added.
    pub fn add_units(&mut self, id: &str, units: UnitDoc) -> Result<u32, Error> {
        self.add_units_and_bags(id, units, Bags::default())
    }

    /// Adds a document by its units and sentence bags ([`PassageOptions::units`] and [`PassageOptions::bags`] of
    /// its text).
    ///
    /// # Errors
    /// [`Error::DuplicateId`] for an id already added.
    pub fn add_units_and_bags(&mut self, id: &str, mut units: UnitDoc, mut bags: Bags) -> Result<u32, Error> {
        if self.positions.contains_key(id) {
            return Err(Error::DuplicateId(id.to_string()));
        }
        let d = self.ids.len() as u32;
        if units.len() > self.max_units {
            self.truncated.push((d, units.len() as u64));
            units.truncate(self.max_units);
            bags.truncate(self.max_units);
        }
        self.docs.push(units);
        self.bags.push(bags);
        self.ids.push(id.to_string());
        self.positions.insert(id.to_string(), d);
        self.candidates = None;
        Ok(d)
    }

    /// n-gram hashes of every document (computed in parallel), then candidate pairs and boilerplate n-grams.
    fn index(&mut self) -> &Candidates {
        self.index_with_progress(&NoProgress);
        self.candidates.as_ref().expect("computed")
    }

    /// Builds the index now (n-gram hashes of the documents added since, candidate pairs, boilerplate n-grams),
    /// reporting the stages `index` (in documents) and `candidates` (no total); later calls that need the index
    /// use it. Does nothing when it is built already.
    pub fn index_with_progress(&mut self, progress: &dyn Progress) {
        if self.candidates.is_some() {
            return;
        }
        let a = &self.options.align;
        let done = self.hashes.len();
        progress.start("index", Some((self.docs.len() - done) as u64), "documents");
        let more: Vec<Vec<u64>> = self.docs[done..]
            .par_iter()
            .map(|d| {
                let h = ngram_hashes(&d.ids, a.ngram, a.seed);
                progress.inc(1);
                h
            })
            .collect();
        progress.finish();
        self.hashes.extend(more);
        progress.start("candidates", None, "pairs");
        let (pairs, boilerplate) = candidate_pairs(&self.hashes, a.max_df, a.min_anchors);
        progress.finish();
        self.candidates = Some(Candidates { pairs, boilerplate: boilerplate.into_iter().collect() });
    }

    /// Candidate pairs `(a, b)`, `a < b` by index, sorted: documents sharing at least `min_anchors` distinct
    /// n-grams found in at most `max_df` documents.
    pub fn candidates(&mut self) -> &[(u32, u32)] {
        &self.index().pairs
    }

    /// Number of boilerplate n-grams: found in more than `max_df` documents, they seed no candidate or anchor.
    pub fn boilerplate_ngrams(&mut self) -> usize {
        self.index().boilerplate.len()
    }

    /// The passages documents `a` and `b` share (whether or not they are a candidate pair), oriented so that the
    /// document whose id sorts first is on side a, in order of their start there.
    ///
    /// # Errors
    /// [`Error::UnknownDocument`] when an index is out of range.
    pub fn align(&mut self, a: u32, b: u32) -> Result<Vec<Alignment>, Error> {
        for d in [a, b] {
            if d as usize >= self.len() {
                return Err(Error::UnknownDocument(d.to_string()));
            }
        }
        let (x, y) = (a.min(b), a.max(b));
        self.index();
        let cands = self.candidates.as_ref().expect("indexed");
        let cfg = &self.options.align;
        let index = index_ngrams(&self.hashes[x as usize], &cands.boilerplate, cfg.max_repeat);
        let (xs, ys) = (x as usize, y as usize);
        let mut out: Vec<Alignment> = self
            .options
            .passages((&self.docs[xs], &self.bags[xs]), &index, (&self.docs[ys], &self.bags[ys]), &self.hashes[ys])
            .into_iter()
            .map(|p| orient(&self.ids, x, y, p))
            .collect();
        out.sort_by_key(|p| (p.passage.a_span, p.passage.b_span));
        Ok(out)
    }

    /// Every candidate pair aligned (in parallel), sorted by (a's id, a's span, b's id, b's span).
    pub fn alignments(&mut self) -> Vec<Alignment> {
        self.alignments_with_progress(&NoProgress)
    }

    /// [`PassageIndex::alignments`], reporting progress of the stage `align`, in candidate pairs.
    pub fn alignments_with_progress(&mut self, progress: &dyn Progress) -> Vec<Alignment> {
        self.index();
        let cands = self.candidates.as_ref().expect("indexed");
        let cfg = &self.options.align;
        let (docs, bags, hashes, ids, options) = (&self.docs, &self.bags, &self.hashes, &self.ids, &self.options);
        // Grouped by the first document so its index is built once.
        progress.start("align", Some(cands.pairs.len() as u64), "pairs");
        let groups: Vec<&[(u32, u32)]> = cands.pairs.chunk_by(|x, y| x.0 == y.0).collect();
        let mut aligned: Vec<Alignment> = groups
            .par_iter()
            .flat_map_iter(|g| {
                let ai = g[0].0 as usize;
                let index = index_ngrams(&hashes[ai], &cands.boilerplate, cfg.max_repeat);
                let out: Vec<Alignment> = g
                    .iter()
                    .flat_map(|&(x, y)| {
                        let (xs, ys) = (x as usize, y as usize);
                        options
                            .passages((&docs[xs], &bags[xs]), &index, (&docs[ys], &bags[ys]), &hashes[ys])
                            .into_iter()
                            .map(move |passage| orient(ids, x, y, passage))
                    })
                    .collect();
                progress.inc(g.len() as u64);
                out
            })
            .collect();
        progress.finish();
        drop_templates(&mut aligned, cfg.min_length);
        sort_alignments(&mut aligned, ids);
        aligned
    }
}

/// Drops short rewritten passages whose span in one document is matched (rewritten) with several other documents:
/// a template line (a dateline, a "reprinted from" notice) whose variable parts keep it from being boilerplate
/// ([`TEMPLATE_PARTNERS`], [`TEMPLATE_LENGTH`]). Applied to all of a run's alignments before they are sorted.
pub fn drop_templates(aligned: &mut Vec<Alignment>, min_length: usize) {
    let t = TEMPLATE_PARTNERS;
    let short = |p: &Passage| template_candidate(p, min_length);
    let mut partners: HashMap<(u32, (u32, u32)), Vec<u32>> = HashMap::default();
    for x in aligned.iter().filter(|x| short(&x.passage)) {
        partners.entry((x.a, x.passage.a_units)).or_default().push(x.b);
        partners.entry((x.b, x.passage.b_units)).or_default().push(x.a);
    }
    aligned.retain(|x| {
        !short(&x.passage)
            || (partners[&(x.a, x.passage.a_units)].len() < t && partners[&(x.b, x.passage.b_units)].len() < t)
    });
}

/// True when [`drop_templates`] counts the partners of `p`'s spans: a rewritten passage shorter than
/// `TEMPLATE_LENGTH × min_length` units on both sides. It drops `p` when one of its spans (document, units) has at
/// least `TEMPLATE_PARTNERS` such passages.
pub fn template_candidate(p: &Passage, min_length: usize) -> bool {
    let short_len = (TEMPLATE_LENGTH * min_length) as u32;
    p.kind == Kind::Rewritten && p.a_units.1 - p.a_units.0 < short_len && p.b_units.1 - p.b_units.0 < short_len
}

/// Sorts alignments the way [`PassageIndex::alignments`] returns them: by (a's id, a's span, b's id, b's span),
/// stably (ties keep their order). `ids` are the document ids by index.
pub fn sort_alignments(aligned: &mut [Alignment], ids: &[String]) {
    aligned.sort_by(|p, q| {
        (&ids[p.a as usize], p.passage.a_span, &ids[p.b as usize], p.passage.b_span).cmp(&(
            &ids[q.a as usize],
            q.passage.a_span,
            &ids[q.b as usize],
            q.passage.b_span,
        ))
    });
}

/// The passage `p` found between documents `x` (its side a) and `y` as an [`Alignment`] whose side a is the
/// document whose id (in `ids`, by index) sorts first, the way [`PassageIndex`] reports every alignment.
pub fn orient(ids: &[String], x: u32, y: u32, p: Passage) -> Alignment {
    if ids[x as usize] <= ids[y as usize] {
        Alignment { a: x, b: y, passage: p }
    } else {
        let swapped = Passage { a_units: p.b_units, b_units: p.a_units, a_span: p.b_span, b_span: p.a_span, ..p };
        Alignment { a: y, b: x, passage: swapped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passages::align::Kind;

    #[test]
    fn candidates_need_enough_shared_ngrams_and_skip_boilerplate() {
        let hashes = vec![vec![1, 2, 3, 9], vec![1, 2, 3, 9], vec![1, 7, 8, 9], vec![5, 6, 9]];
        let (pairs, boiler) = candidate_pairs(&hashes, 3, 2);
        assert_eq!(pairs, vec![(0, 1)]);
        assert!(boiler.contains(&9));
        let (pairs, _) = candidate_pairs(&hashes, 3, 1);
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2)]);
    }

    #[test]
    fn clusters_join_overlapping_spans() {
        let p = |a, b, sa: (u32, u32), sb: (u32, u32)| Alignment {
            a,
            b,
            passage: Passage {
                a_units: (0, 1),
                b_units: (0, 1),
                a_span: sa,
                b_span: sb,
                matches: 1,
                score: 1.0,
                kind: Kind::Verbatim,
                similarity: 1.0,
            },
        };
        // 0–1 and 1–2 share a span of doc 1 that overlaps by half; 0–3 is another passage of doc 0, and 0–4 one
        // that touches it by a few characters only.
        let ps = vec![
            p(0, 1, (0, 100), (10, 110)),
            p(1, 2, (50, 150), (0, 100)),
            p(0, 3, (500, 600), (0, 100)),
            p(0, 4, (590, 700), (0, 100)),
        ];
        let c = passage_clusters(&ps);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], vec![(0, 0, 100), (1, 10, 150), (2, 0, 100)]);
        assert_eq!(c[1], vec![(0, 500, 600), (3, 0, 100)]);
        assert_eq!(c[2], vec![(0, 590, 700), (4, 0, 100)]);
    }

    #[test]
    fn index_orients_by_id_and_rejects_bad_input() {
        let story = "国家主席在莫斯科同俄罗斯总统举行会谈双方就双边关系和共同关心的国际地区问题深入交换意见一致同意继续加强合作";
        let mut index = PassageIndex::new(PassageOptions::default()).unwrap();
        assert_eq!(index.add("z", &format!("前言{story}")), Ok(0));
        assert_eq!(index.add("a", story), Ok(1));
        assert_eq!(index.add("a", story), Err(Error::DuplicateId("a".into())));
        assert_eq!(index.add("e", " \n"), Err(Error::EmptyText("e".into())));
        let found = index.align(0, 1).unwrap();
        assert_eq!(found.len(), 1);
        // "a" sorts first: side a is document 1, whose passage starts at 0; "z"'s starts after "前言".
        assert_eq!((found[0].a, found[0].passage.a_span.0, found[0].passage.b_span.0), (1, 0, 2));
        assert_eq!(index.alignments(), found);
        assert_eq!(index.align(1, 0).unwrap(), found);
        assert!(matches!(index.align(0, 5), Err(Error::UnknownDocument(_))));
        let bad = PassageOptions { align: AlignConfig { ngram: 0, ..AlignConfig::default() }, ..Default::default() };
        assert!(matches!(PassageIndex::new(bad), Err(Error::InvalidSetting { name: "ngram", .. })));
    }
}
