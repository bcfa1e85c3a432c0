//! Passage-level text reuse over a corpus, end to end: read → normalize → units → n-gram index → candidate pairs →
//! alignment ([`crate::align`]) → passage clusters → outputs.
//!
//! Cost: normalization and indexing are linear in the corpus; the index is one sort of `(n-gram, document)` entries
//! (one per distinct n-gram of each document, 12 bytes each); candidate pairs grow with the number of document
//! pairs that share text, bounded per n-gram by `max_df`; alignment is linear in the anchors of each candidate
//! pair. The units of every document stay in memory (16 bytes per unit).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

pub use crate::core::passages::{
    align_pair, align_texts, candidate_pairs, passage_clusters, Alignment, PassageIndex, PassageOptions,
};
use crate::io::{AtomicWriter, Input, ReadOptions, SkipReason};
use crate::pipeline::{ioe, scan, InputReport, JobContext, RunError, StageTime};
use crate::progress::Progress;
use crate::records::{AlignmentRecord, PassageRecord};

/// One aligned passage pair between two documents, by document index (the name this type had in this crate).
pub type DocPassage = Alignment;

/// Settings of a `passages` run: the algorithm's settings ([`PassageOptions`], flattened into `summary.json`'s
/// `config`) and the job's own.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PassagesConfig {
    /// How records are read.
    pub read: ReadOptions,
    /// Normalization, index and alignment settings, known boilerplate.
    #[serde(flatten)]
    pub options: PassageOptions,
    /// Write the aligned texts into `alignments.jsonl` (keeps every original text in memory).
    pub with_text: bool,
    /// Turn any skipped record into an error.
    pub strict: bool,
    /// Documents with more units than this are aligned on their first `max_units` units only (reported).
    pub max_units: usize,
    /// Absolute path of the boilerplate list loaded into `options.boilerplate`, recorded in `summary.json` (what
    /// `report` uses to see the documents as the run saw them).
    pub boilerplate_list: Option<String>,
}

impl Default for PassagesConfig {
    fn default() -> Self {
        PassagesConfig {
            read: ReadOptions::default(),
            options: PassageOptions::default(),
            with_text: false,
            strict: false,
            max_units: crate::core::passages::DEFAULT_MAX_UNITS,
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
    let mut index = PassageIndex::new(cfg.options.clone())
        .and_then(|i| i.with_max_units(cfg.max_units))
        .map_err(|e| RunError::Config(e.to_string()))?;
    let mut ctx = JobContext::create("passages", inputs, out_dir)?;

    // Read and normalize.
    let t = Instant::now();
    let mut texts: Vec<Option<String>> = Vec::new();
    let scan = scan(
        inputs,
        &cfg.read,
        cfg.strict,
        "normalize",
        progress,
        |doc| {
            let (units, bags) = cfg.options.units_and_bags(&doc.text);
            Ok::<_, SkipReason>(((units, bags), cfg.with_text.then_some(doc.text)))
        },
        |item| {
            let ((units, bags), text) = item.value;
            index.add_units_and_bags(&item.id, units, bags).expect("scan skips duplicate ids");
            texts.push(text);
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
    index.index_with_progress(progress);
    let candidates = index.candidates().len();
    let boilerplate = index.boilerplate_ngrams();
    ctx.stage("index+candidates", StageTime::wall(t.elapsed().as_secs_f64()));

    // Align.
    let t = Instant::now();
    let aligned = index.alignments_with_progress(progress);
    ctx.stage("align", StageTime::wall(t.elapsed().as_secs_f64()));

    // Outputs.
    let t = Instant::now();
    let ids = index.ids();
    write_alignments(&ctx.path("alignments.jsonl"), ids, &texts, &aligned).map_err(ioe("writing alignments.jsonl"))?;
    let clusters = passage_clusters(&aligned);
    write_clusters(&ctx.path("passages.jsonl"), ids, &clusters).map_err(ioe("writing passages.jsonl"))?;
    ctx.stage("write", StageTime::wall(t.elapsed().as_secs_f64()));

    let mut pair_set: Vec<(u32, u32)> = aligned.iter().map(|p| (p.a, p.b)).collect();
    pair_set.dedup();
    let summary = PassagesSummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        documents: ids.len() as u64,
        truncated_documents: index.truncated().iter().map(|&(d, units)| (ids[d as usize].clone(), units)).collect(),
        units: (0..ids.len() as u32).map(|d| index.units(d).len() as u64).sum(),
        boilerplate_ngrams: boilerplate as u64,
        candidate_pairs: candidates as u64,
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

fn slice_chars(text: &str, (s, e): (u32, u32)) -> String {
    text.chars().skip(s as usize).take((e - s) as usize).collect()
}

fn write_alignments(
    path: &Path,
    ids: &[String],
    texts: &[Option<String>],
    aligned: &[Alignment],
) -> std::io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    for p in aligned {
        let (a, b) = (p.a as usize, p.b as usize);
        w.write_json_line(&AlignmentRecord {
            a: ids[a].clone(),
            a_start: p.passage.a_span.0,
            a_end: p.passage.a_span.1,
            b: ids[b].clone(),
            b_start: p.passage.b_span.0,
            b_end: p.passage.b_span.1,
            score: (p.passage.score * 100.0).round() / 100.0,
            matches: p.passage.matches,
            kind: p.passage.kind,
            similarity: p.passage.similarity,
            a_text: texts[a].as_deref().map(|t| slice_chars(t, p.passage.a_span)),
            b_text: texts[b].as_deref().map(|t| slice_chars(t, p.passage.b_span)),
        })?;
    }
    w.commit()
}

fn write_clusters(path: &Path, ids: &[String], clusters: &[Vec<(u32, u32, u32)>]) -> std::io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    for (k, members) in clusters.iter().enumerate() {
        for &(d, start, end) in members {
            w.write_json_line(&PassageRecord { cluster: k, id: ids[d as usize].clone(), start, end })?;
        }
    }
    w.commit()
}
