//! Passage-level text reuse over a corpus, end to end: read → normalize → units → n-gram index → candidate pairs →
//! alignment ([`crate::align`]) → passage clusters → outputs.
//!
//! Cost: normalization and indexing are linear in the corpus; the index is one sort of `(n-gram, document)` entries
//! (one per distinct n-gram of each document, 12 bytes each); candidate pairs grow with the number of document
//! pairs that share text, bounded per n-gram by `max_df`; alignment is linear in the anchors of each candidate
//! pair. The units of every document stay in memory (16 bytes per unit).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::align::{align_pair, index_ngrams, ngram_hashes, AlignConfig, Passage, UnitDoc};
use crate::cluster::UnionFind;
use crate::io::{AtomicWriter, Input, ReadOptions, SkipReason};
use crate::normalize::NormalizeOptions;
use crate::pipeline::{ioe, scan, InputReport, JobContext, RunError, StageTime};
use crate::progress::Progress;
use crate::records::{AlignmentRecord, PassageRecord};

/// Settings of a `passages` run.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PassagesConfig {
    /// How records are read.
    pub read: ReadOptions,
    /// Normalization before unit splitting.
    pub normalize: NormalizeOptions,
    /// Index and alignment settings.
    pub align: AlignConfig,
    /// Write the aligned texts into `alignments.jsonl` (keeps every original text in memory).
    pub with_text: bool,
    /// Turn any skipped record into an error.
    pub strict: bool,
    /// Documents with more units than this are aligned on their first `max_units` units only (reported).
    pub max_units: usize,
    /// Known boilerplate, blanked before indexing (offsets stay those of the original text).
    #[serde(skip)]
    pub boilerplate: Option<std::sync::Arc<crate::boilerplate::BoilerplateFilter>>,
    /// Absolute path of the boilerplate list loaded into `boilerplate`, recorded in `summary.json` (what `report`
    /// uses to see the documents as the run saw them).
    pub boilerplate_list: Option<String>,
}

impl Default for PassagesConfig {
    fn default() -> Self {
        PassagesConfig {
            read: ReadOptions::default(),
            normalize: NormalizeOptions::default(),
            align: AlignConfig::default(),
            with_text: false,
            strict: false,
            max_units: 5_000_000,
            boilerplate: None,
            boilerplate_list: None,
        }
    }
}

/// What a run did; written as `summary.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PassagesSummary {
    /// Version of the output formats (`textreuse_core::records::SCHEMA_VERSION`).
    #[serde(default)]
    pub schema_version: u32,
    /// Inputs, records read, skipped records and encodings.
    #[serde(flatten)]
    pub input: InputReport,
    /// Documents indexed.
    pub documents: u64,
    /// Documents cut to `max_units` units, with their full length in units.
    pub truncated_documents: Vec<(String, u64)>,
    /// Units in all documents.
    pub units: u64,
    /// n-grams left out as boilerplate (found in more than `max_df` documents).
    pub boilerplate_ngrams: u64,
    /// Candidate document pairs (sharing at least `min_anchors` n-grams).
    pub candidate_pairs: u64,
    /// Document pairs with at least one aligned passage.
    pub aligned_pairs: u64,
    /// Aligned passage pairs written to `alignments.jsonl`.
    pub alignments: u64,
    /// Passage clusters written to `passages.jsonl`.
    pub passage_clusters: u64,
    /// The settings.
    pub config: PassagesConfig,
    /// Time per stage.
    pub stages: BTreeMap<String, StageTime>,
    /// Wall-clock seconds of the whole run.
    pub total_seconds: f64,
}

struct Doc {
    id: String,
    units: UnitDoc,
    text: Option<String>,
}

/// One aligned passage pair between two documents, by document index.
#[derive(Debug, Clone)]
pub struct DocPassage {
    /// Index of document a.
    pub a: u32,
    /// Index of document b.
    pub b: u32,
    /// The passage.
    pub passage: Passage,
}

/// Candidate pairs from per-document n-gram hash lists: pairs `(a, b)`, `a < b`, sharing at least `min_anchors`
/// distinct n-grams that stand in at most `max_df` documents. Returns the pairs and the set of boilerplate n-grams.
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
    for group in entries.chunk_by(|x, y| x.0 == y.0) {
        if group.len() > max_df {
            boilerplate.insert(group[0].0);
            continue;
        }
        for (k, &(_, a)) in group.iter().enumerate() {
            for &(_, b) in &group[k + 1..] {
                pairs.push(((a as u64) << 32) | b as u64);
            }
        }
    }
    drop(entries);
    pairs.par_sort_unstable();
    let out = pairs
        .chunk_by(|x, y| x == y)
        .filter(|g| g.len() >= min_anchors.max(1))
        .map(|g| ((g[0] >> 32) as u32, g[0] as u32))
        .collect();
    (out, boilerplate)
}

/// Passage clusters: connected components of aligned spans, where two spans are joined when an alignment links
/// them or when they overlap in one document by at least half the longer span. Returns, per cluster (numbered from 0 in order of first member),
/// its members `(document index, start, end)` with overlapping spans of one document merged, sorted.
pub fn passage_clusters(passages: &[DocPassage]) -> Vec<Vec<(u32, u32, u32)>> {
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

/// Runs `passages` over `inputs`, writing `alignments.jsonl`, `passages.jsonl`, `skipped.jsonl` and
/// `summary.json` into `out_dir`, each atomically.
///
/// # Errors
/// I/O errors on the outputs; in strict mode, the first skipped record; invalid settings.
pub fn run(
    inputs: &[Input],
    out_dir: &Path,
    cfg: &PassagesConfig,
    progress: &dyn Progress,
) -> Result<PassagesSummary, RunError> {
    let a = &cfg.align;
    if a.ngram == 0 || a.min_length == 0 {
        return Err(RunError::Config("--ngram and --min-length must be at least 1".into()));
    }
    let mut ctx = JobContext::create("passages", inputs, out_dir)?;

    // Read and normalize.
    let t = Instant::now();
    let mut docs: Vec<Doc> = Vec::new();
    let mut truncated = Vec::new();
    let scan = scan(
        inputs,
        &cfg.read,
        cfg.strict,
        "normalize",
        progress,
        |doc| {
            let units = match &cfg.boilerplate {
                Some(f) => UnitDoc::new(&f.apply(&doc.text), &cfg.normalize),
                None => UnitDoc::new(&doc.text, &cfg.normalize),
            };
            Ok::<_, SkipReason>((units, cfg.with_text.then_some(doc.text)))
        },
        |item| {
            let (mut units, text) = item.value;
            if units.len() > cfg.max_units {
                truncated.push((item.id.clone(), units.len() as u64));
                units.truncate(cfg.max_units);
            }
            docs.push(Doc { id: item.id, units, text });
            Ok(())
        },
    )?;
    let read_wall = t.elapsed().as_secs_f64();
    let input = ctx.input_report(&scan, inputs)?;
    ctx.stage(
        "read+normalize",
        StageTime {
            wall_seconds: read_wall,
            cpu_seconds: None,
            mb_per_second: Some(scan.bytes_read as f64 / 1e6 / read_wall.max(1e-9)),
        },
    );

    // Index and candidate pairs.
    let t = Instant::now();
    let hashes: Vec<Vec<u64>> = docs.par_iter().map(|d| ngram_hashes(&d.units.ids, a.ngram, a.seed)).collect();
    let (candidates, boilerplate) = candidate_pairs(&hashes, a.max_df, a.min_anchors);
    ctx.stage("index+candidates", StageTime::wall(t.elapsed().as_secs_f64()));

    // Align, grouped by the first document so its index is built once.
    let t = Instant::now();
    progress.start("align", Some(candidates.len() as u64), "pairs");
    let groups: Vec<&[(u32, u32)]> = candidates.chunk_by(|x, y| x.0 == y.0).collect();
    let docs = &docs;
    let mut aligned: Vec<DocPassage> = groups
        .par_iter()
        .flat_map_iter(|g| {
            let ai = g[0].0 as usize;
            let index = index_ngrams(&hashes[ai], &boilerplate, a.max_repeat);
            let out: Vec<DocPassage> = g
                .iter()
                .flat_map(|&(x, y)| {
                    align_pair(&docs[x as usize].units, &index, &docs[y as usize].units, &hashes[y as usize], a)
                        .into_iter()
                        .map(move |passage| orient(docs, x, y, passage))
                })
                .collect();
            progress.inc(g.len() as u64);
            out
        })
        .collect();
    progress.finish();
    aligned.sort_by(|p, q| {
        (&docs[p.a as usize].id, p.passage.a_span, &docs[p.b as usize].id, p.passage.b_span).cmp(&(
            &docs[q.a as usize].id,
            q.passage.a_span,
            &docs[q.b as usize].id,
            q.passage.b_span,
        ))
    });
    ctx.stage("align", StageTime::wall(t.elapsed().as_secs_f64()));

    // Outputs.
    let t = Instant::now();
    write_alignments(&ctx.path("alignments.jsonl"), docs, &aligned).map_err(ioe("writing alignments.jsonl"))?;
    let clusters = passage_clusters(&aligned);
    write_clusters(&ctx.path("passages.jsonl"), docs, &clusters).map_err(ioe("writing passages.jsonl"))?;
    ctx.stage("write", StageTime::wall(t.elapsed().as_secs_f64()));

    let mut pair_set: Vec<(u32, u32)> = aligned.iter().map(|p| (p.a, p.b)).collect();
    pair_set.dedup();
    let summary = PassagesSummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        documents: docs.len() as u64,
        truncated_documents: truncated,
        units: docs.iter().map(|d| d.units.len() as u64).sum(),
        boilerplate_ngrams: boilerplate.len() as u64,
        candidate_pairs: candidates.len() as u64,
        aligned_pairs: pair_set.len() as u64,
        alignments: aligned.len() as u64,
        passage_clusters: clusters.len() as u64,
        config: cfg.clone(),
        stages: ctx.stages(),
        total_seconds: ctx.elapsed(),
    };
    ctx.finish(&summary)?;
    Ok(summary)
}

/// Puts the document whose id sorts first on side a.
fn orient(docs: &[Doc], x: u32, y: u32, p: Passage) -> DocPassage {
    if docs[x as usize].id <= docs[y as usize].id {
        DocPassage { a: x, b: y, passage: p }
    } else {
        let swapped = Passage { a_units: p.b_units, b_units: p.a_units, a_span: p.b_span, b_span: p.a_span, ..p };
        DocPassage { a: y, b: x, passage: swapped }
    }
}

fn slice_chars(text: &str, (s, e): (u32, u32)) -> String {
    text.chars().skip(s as usize).take((e - s) as usize).collect()
}

fn write_alignments(path: &Path, docs: &[Doc], aligned: &[DocPassage]) -> std::io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    for p in aligned {
        let (da, db) = (&docs[p.a as usize], &docs[p.b as usize]);
        w.write_json_line(&AlignmentRecord {
            a: da.id.clone(),
            a_start: p.passage.a_span.0,
            a_end: p.passage.a_span.1,
            b: db.id.clone(),
            b_start: p.passage.b_span.0,
            b_end: p.passage.b_span.1,
            score: (p.passage.score * 100.0).round() / 100.0,
            matches: p.passage.matches,
            a_text: da.text.as_deref().map(|t| slice_chars(t, p.passage.a_span)),
            b_text: db.text.as_deref().map(|t| slice_chars(t, p.passage.b_span)),
        })?;
    }
    w.commit()
}

fn write_clusters(path: &Path, docs: &[Doc], clusters: &[Vec<(u32, u32, u32)>]) -> std::io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    for (k, members) in clusters.iter().enumerate() {
        for &(d, start, end) in members {
            w.write_json_line(&PassageRecord { cluster: k, id: docs[d as usize].id.clone(), start, end })?;
        }
    }
    w.commit()
}

/// Aligns two texts directly (no index, no candidate step): the passages they share. Used by `compare`.
pub fn align_texts(
    a: &str,
    b: &str,
    normalize: &NormalizeOptions,
    cfg: &AlignConfig,
) -> (UnitDoc, UnitDoc, Vec<Passage>) {
    let (da, db) = (UnitDoc::new(a, normalize), UnitDoc::new(b, normalize));
    let index = index_ngrams(&ngram_hashes(&da.ids, cfg.ngram, cfg.seed), &HashSet::new(), cfg.max_repeat);
    let ps = align_pair(&da, &index, &db, &ngram_hashes(&db.ids, cfg.ngram, cfg.seed), cfg);
    (da, db, ps)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let p = |a, b, sa: (u32, u32), sb: (u32, u32)| DocPassage {
            a,
            b,
            passage: Passage { a_units: (0, 1), b_units: (0, 1), a_span: sa, b_span: sb, matches: 1, score: 1.0 },
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
}
