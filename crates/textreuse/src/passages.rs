//! Passage-level text reuse over a corpus, end to end: read → normalize → units → n-gram index → candidate pairs →
//! alignment ([`crate::align`]) → passage clusters → outputs, in bounded memory.
//!
//! The job computes what [`PassageIndex`] computes, out of core where the corpus needs it (a memory budget,
//! [`PassagesConfig::memory_budget`]):
//! 1. **Read**: each document's units (ids, spans, closing punctuation: varint streams, about 6 bytes per unit on
//!    Chinese news and 12 per English word; one zstd frame per document, 2.4 and 6.2 bytes, once the packed units
//!    fill half of the store's share) go to a store that keeps them in memory up to its share of the budget and in
//!    a temporary file beyond; the postings
//!    `(n-gram hash, document)`, one per distinct n-gram of each document, go to 256 buckets by the hash's top
//!    8 bits, which spill to temporary files (sorted, packed: about 7 bytes per posting) when their share is spent.
//! 2. **Candidate pairs**: one bucket at a time (or one part of a bucket, selected by hash, when a bucket exceeds
//!    its share) is sorted; an n-gram found in more than `max_df` documents is boilerplate, every other gives the
//!    pairs of its documents. Every posting of an n-gram lies in one bucket, so the pairs' occurrences summed over
//!    the buckets count the n-grams each pair shares; they are counted in sorted runs (spilled when their share is
//!    spent) and merged into one stream in pair order, filtered by `min_anchors`.
//! 3. **Alignment**: the candidate pairs stream out a window at a time (a quarter of the alignment share, 48 bytes
//!    per pair), ordered so that the documents of a reprint cluster come together (`locality_order`), and are cut
//!    into batches; the units of the documents of a batch are read back (their n-gram hashes recomputed) and the
//!    pairs aligned in parallel. The alignments found go to an external
//!    sort (80 bytes each, runs compressed with zstd) in the order of `sort_alignments`.
//! 4. **Outputs**: the sorted alignments are merged into `alignments.jsonl`; their spans go to a second sort, swept
//!    to join overlapping spans (the passage clustering of `passage_clusters`, union-find over the alignments),
//!    then sorted by cluster and by each cluster's first member into `passages.jsonl`.
//!
//! The outputs are byte-identical whatever the budget (`tests/passages_budget.rs`). What stays in memory whatever
//! the budget: the document ids and their ranks, 8 bytes per document, the boilerplate n-grams (8 bytes each, in a
//! hash set), the union-find of the clustering (4 bytes per alignment), and with rewritten reuse the sentence bags
//! and the partner counts of short rewritten passages (with `with_text`, one document's text at a time).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::align::{index_ngrams, ngram_hashes, ngram_set, NgramSet, UnitDoc};
use crate::core::cluster::UnionFind;
use crate::core::passages::align::{Kind, Passage};
use crate::core::passages::rewritten::Bags;
use crate::core::passages::rewritten::TEMPLATE_PARTNERS;
pub use crate::core::passages::{
    align_pair, align_texts, candidate_pairs, passage_clusters, Alignment, PassageIndex, PassageOptions,
};
use crate::core::passages::{orient, postings_pairs, template_candidate};
use crate::io::index::{compress_units_record, packed_units_record, units_of_record, UNITS_PACKED};
use crate::io::runs::{physical_memory, BlobStore, KeyCounts, PostingBuckets};
use crate::io::sorted_runs::SortedRuns;
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
    /// Write the aligned texts into `alignments.jsonl` (the original texts are stored beside the units, in memory
    /// up to a tenth of the budget, then in a temporary file).
    pub with_text: bool,
    /// Turn any skipped record into an error.
    pub strict: bool,
    /// Documents with more units than this are aligned on their first `max_units` units only (reported).
    pub max_units: usize,
    /// Absolute path of the boilerplate list loaded into `options.boilerplate`, recorded in `summary.json` (what
    /// `report` uses to see the documents as the run saw them).
    pub boilerplate_list: Option<String>,
    /// Memory budget in bytes for the documents' units, the n-gram postings, the candidate pair counts and the
    /// documents being aligned; beyond it they spill to anonymous temporary files in the output's staging
    /// directory (removed with the run). `None` (not written to `summary.json`): [`default_memory_budget`], half
    /// of physical memory. At least 1 KiB is used. The outputs do not depend on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_budget: Option<u64>,
}

/// The memory budget of a `passages` run that names none: half of physical memory (`MemTotal` of
/// `/proc/meminfo`), or 4 GiB where that cannot be read.
pub fn default_memory_budget() -> u64 {
    physical_memory().map_or(4 << 30, |m| m / 2)
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
            memory_budget: None,
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
    /// What went to disk when the run exceeded its memory budget (absent when nothing did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill: Option<SpillReport>,
}

/// What a `passages` run wrote to temporary files because its memory budget was spent; written in
/// `summary.json` as `spill`.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct SpillReport {
    /// The memory budget in bytes.
    pub memory_budget: u64,
    /// Bytes of documents' units written to disk (compressed: `textreuse_io::index::compress_units_record`, varint
    /// ids and span deltas, in a zstd frame per document; the units that fill the first half of the memory share
    /// are kept packed, not compressed).
    pub units_bytes: u64,
    /// Bytes of original texts written to disk (with `with_text`).
    pub texts_bytes: u64,
    /// Bytes of `(n-gram hash, document)` postings written to disk (packed: each spill of a bucket sorted,
    /// hashes as Rice-coded differences, documents in as many bits as their range needs; about 7 bytes each).
    pub postings_bytes: u64,
    /// The same postings before compression (12 bytes each).
    #[serde(default)]
    pub postings_raw_bytes: u64,
    /// Bytes of sorted runs of candidate pair counts written to disk (12 per pair and run).
    pub pair_runs_bytes: u64,
    /// Hash buckets read in more than one pass because they exceeded their share of the budget.
    pub split_buckets: u64,
    /// Bytes of sorted runs of alignments written to disk (zstd-compressed).
    #[serde(default)]
    pub alignment_runs_bytes: u64,
    /// The same runs before compression (80 bytes per alignment).
    #[serde(default)]
    pub alignment_runs_raw_bytes: u64,
    /// Bytes of sorted runs of the passage clustering (spans, members; zstd-compressed) written to disk.
    #[serde(default)]
    pub cluster_runs_bytes: u64,
}

impl SpillReport {
    /// Every byte written to disk.
    pub fn total_bytes(&self) -> u64 {
        self.units_bytes
            + self.texts_bytes
            + self.postings_bytes
            + self.pair_runs_bytes
            + self.alignment_runs_bytes
            + self.cluster_runs_bytes
    }
}

/// Share of the memory budget, in tenths, for the documents' units kept in memory.
const UNITS_SHARE: usize = 3;
/// Share for the postings waiting in memory while reading.
const POSTINGS_SHARE: usize = 3;
/// Share for the postings of one bucket (or part of one) being sorted.
const BUCKET_SHARE: usize = 2;
/// Share for counting candidate pairs (occurrences and sorted counts).
const PAIRS_SHARE: usize = 3;
/// Share for the documents of one batch of candidate pairs being aligned.
const ALIGN_SHARE: usize = 3;
/// Share for the alignments found, sorted in runs (while aligning; the units' share is free when they are merged).
const ALIGNMENTS_SHARE: usize = 2;
/// Share for each sort of the passage clustering (spans, then members, then members by cluster).
const CLUSTER_SHARE: usize = 3;
/// The postings go to `2^BUCKET_BITS` buckets by the top bits of their hash.
const BUCKET_BITS: u32 = 8;
/// Bytes of one unit in `substrings`' unit store ([`encode_units`]): id (8), span (8), closing punctuation (1).
pub(crate) const UNIT_BYTES: usize = 17;
/// The window of candidate pairs ordered for locality ([`locality_order`]) takes this fraction of the alignment
/// share; the documents of a batch take the rest.
const WINDOW_SHARE_DIVISOR: usize = 4;
/// Bytes of memory one candidate pair of the window takes while it is ordered: the pair, its documents' local
/// numbers, two adjacency entries and its sort key, with the per-document arrays.
const WINDOW_PAIR_BYTES: usize = 48;
/// Bytes of memory one unit takes while its document is aligned: its units, its n-gram hash, and the n-gram index
/// of the document while it is side a.
const ALIGN_UNIT_BYTES: usize = 64;

/// Runs `passages` over `inputs`, writing `alignments.jsonl`, `passages.jsonl`, `skipped.jsonl` and
/// `summary.json` into `out_dir`, each atomically. Memory stays within about `cfg.memory_budget` (see the module
/// documentation for what does not count); the outputs are those of [`PassageIndex`] on the same documents.
///
/// # Errors
/// I/O errors on the outputs or the spill files; in strict mode, the first skipped record; invalid settings.
pub fn run(
    inputs: &[Input],
    out_dir: &Path,
    cfg: &PassagesConfig,
    progress: &dyn Progress,
) -> Result<PassagesSummary, RunError> {
    // The normalization tables are built on the pool while the run starts ([`dedup::run`](crate::dedup::run)).
    crate::core::text::normalize::prepare_in_background(&cfg.options.normalize);
    PassageIndex::new(cfg.options.clone())
        .and_then(|i| i.with_max_units(cfg.max_units))
        .map_err(|e| RunError::Config(e.to_string()))?;
    let budget = cfg.memory_budget.unwrap_or_else(default_memory_budget).max(1 << 10) as usize;
    let share = |tenths: usize| budget / 10 * tenths;
    let a = &cfg.options.align;
    let mut ctx = JobContext::create("passages", inputs, out_dir)?;

    // Read and normalize: units to the unit store, postings to the hash buckets.
    let t = Instant::now();
    let mut units_store = BlobStore::new(ctx.dir(), share(UNITS_SHARE));
    // Whether the units records are compressed now (set once, by the consumer below; the pool reads it).
    let units_compressed = std::sync::atomic::AtomicBool::new(false);
    let mut text_store = BlobStore::new(ctx.dir(), if cfg.with_text { share(1) } else { 0 });
    let mut postings: PostingBuckets = PostingBuckets::new(ctx.dir(), BUCKET_BITS, share(POSTINGS_SHARE));
    let mut ids: Vec<String> = Vec::new();
    let mut doc_units: Vec<u32> = Vec::new();
    let mut truncated: Vec<(u32, u64)> = Vec::new();
    let mut bags: Vec<Bags> = Vec::new();
    let scan = scan(
        inputs,
        &cfg.read,
        cfg.strict,
        "normalize",
        progress,
        |doc| {
            // Sentence bags only with `align.rewritten` (empty otherwise); they stay in memory.
            let (mut units, mut bags) = cfg.options.units_and_bags(&doc.text);
            let full = units.len();
            if full > cfg.max_units {
                units.truncate(cfg.max_units);
                bags.truncate(cfg.max_units);
            }
            let hashes = ngram_set(&units.ids, a.ngram, a.seed);
            let n = units.len();
            // Units stay packed (not compressed) in the first half of the store's memory share, and are compressed
            // after: here, on the pool, once the consumer below began to compress; there for the records on their
            // way when it began. Either gives the same bytes.
            let mut record = Ok(packed_units_record(&units));
            if units_compressed.load(std::sync::atomic::Ordering::Relaxed) {
                record = record.and_then(|r| compress_units_record(&r));
            }
            Ok::<_, SkipReason>((record, n, bags, hashes, full, cfg.with_text.then_some(doc.text)))
        },
        |item| {
            let (bytes, len, doc_bags, hashes, full, text) = item.value;
            let mut bytes = bytes.map_err(ioe("compressing units"))?;
            let mut compressing = units_compressed.load(std::sync::atomic::Ordering::Relaxed);
            if !compressing && units_store.memory_bytes() + bytes.len() > share(UNITS_SHARE) / 2 {
                compressing = true;
                units_compressed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            if compressing && bytes.first() == Some(&UNITS_PACKED) {
                // Made on the pool before the switch (those made after come compressed).
                bytes = compress_units_record(&bytes).map_err(ioe("compressing units"))?;
            }
            let d = ids.len() as u32;
            if full > len {
                truncated.push((d, full as u64));
            }
            ids.push(item.id);
            doc_units.push(len as u32);
            bags.push(doc_bags);
            units_store.push(&bytes).map_err(ioe("spilling units"))?;
            if let Some(text) = text {
                text_store.push(text.as_bytes()).map_err(ioe("spilling texts"))?;
            }
            for h in hashes {
                postings.push((h, d)).map_err(ioe("spilling postings"))?;
            }
            Ok(())
        },
    )?;
    units_store.finish().map_err(ioe("spilling units"))?;
    text_store.finish().map_err(ioe("spilling texts"))?;
    if postings.spilled() {
        // The rest goes to disk too: memory is wanted for the buckets, one at a time.
        postings.spill().map_err(ioe("spilling postings"))?;
    }
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

    // Candidate pairs, one hash bucket (or part of one) at a time.
    let t = Instant::now();
    let mut counts = KeyCounts::new(ctx.dir(), share(PAIRS_SHARE));
    let mut boilerplate: Vec<u64> = Vec::new();
    let mut split_buckets = 0u64;
    let mut entries: Vec<(u64, u32)> = Vec::new();
    let per_pass = (share(BUCKET_SHARE) / 16).max(1) as u64;
    progress.start("candidates", Some(postings.buckets() as u64), "hash buckets");
    for b in 0..postings.buckets() {
        let passes = postings.bucket_len(b).div_ceil(per_pass).max(1);
        if passes > 1 {
            split_buckets += 1;
        }
        for k in 0..passes {
            entries.clear();
            // Parts by the hash's low bits: every posting of an n-gram falls in the same part.
            let keep = |h: u64| passes == 1 || (h & 0xffff_ffff) % passes == k;
            postings.take_bucket(b, keep, k + 1 == passes, &mut entries).map_err(ioe("reading postings"))?;
            entries.par_sort_unstable();
            let mut err = None;
            postings_pairs(
                &entries,
                a.max_df,
                |h| boilerplate.push(h),
                |p| {
                    if err.is_none() {
                        err = counts.push(p).err();
                    }
                },
            );
            if let Some(e) = err {
                return Err(ioe("counting candidate pairs")(e));
            }
        }
        progress.inc(1);
    }
    progress.finish();
    let postings_bytes = (postings.spilled_bytes(), postings.spilled_raw_bytes());
    drop(postings);
    drop(entries);
    let boilerplate_ngrams = boilerplate.len();
    let boilerplate: NgramSet = boilerplate.into_iter().collect();
    let pair_runs_bytes = counts.spilled_bytes();
    let sorted = counts.into_sorted().map_err(ioe("merging candidate pairs"))?;
    ctx.stage("index+candidates", StageTime::wall(t.elapsed().as_secs_f64()));

    // Align the candidate pairs as they stream out of the merge, in batches of bounded memory.
    let t = Instant::now();
    progress.start("align", None, "pairs");
    let units_spilled = units_store.spilled_bytes();
    let aligner = Aligner {
        ids: &ids,
        store: &units_store,
        bags: &bags,
        boilerplate: &boilerplate,
        options: &cfg.options,
        progress,
    };
    // Alignments go to an external sort by (a's id, a's span, b's id, b's span, order found): the order of
    // `sort_alignments`, whose ties keep the order found.
    let ranks = id_ranks(&ids);
    let mut aligned: SortedRuns<AlignmentRow> = SortedRuns::new(ctx.dir(), share(ALIGNMENTS_SHARE));
    // Partners of the spans of short rewritten passages, for `drop_templates`.
    let mut partners: HashMap<(u32, (u32, u32)), u32> = HashMap::new();
    let mut found = 0u64;
    let mut keep = |found_now: Vec<Alignment>, aligned: &mut SortedRuns<AlignmentRow>| -> io::Result<()> {
        for x in found_now {
            if template_candidate(&x.passage, a.min_length) {
                *partners.entry((x.a, x.passage.a_units)).or_default() += 1;
                *partners.entry((x.b, x.passage.b_units)).or_default() += 1;
            }
            aligned.push(alignment_row(&ranks, found, &x))?;
            found += 1;
        }
        Ok(())
    };
    let mut candidates = 0u64;
    // Candidate pairs are aligned a window at a time, in an order that keeps the documents of a reprint cluster
    // together ([`locality_order`]), in batches whose documents fit their share.
    let window_cap = (share(ALIGN_SHARE) / WINDOW_SHARE_DIVISOR / WINDOW_PAIR_BYTES).max(1);
    let batch_cap = share(ALIGN_SHARE) - share(ALIGN_SHARE) / WINDOW_SHARE_DIVISOR;
    let mut window: Vec<(u32, u32)> = Vec::new();
    let mut in_batch = vec![false; ids.len()];
    let min_anchors = a.min_anchors.max(1) as u32;
    let mut align_window = |window: &mut Vec<(u32, u32)>, aligned: &mut SortedRuns<AlignmentRow>| -> io::Result<()> {
        locality_order(window);
        let mut batch: Vec<(u32, u32)> = Vec::new();
        let mut batch_docs: Vec<u32> = Vec::new();
        let mut batch_bytes = 0usize;
        let mut flush = |batch: &mut Vec<(u32, u32)>, batch_docs: &mut Vec<u32>, in_batch: &mut [bool]| {
            // Pairs of one first document together (its n-gram index is built once).
            batch.sort_unstable();
            let found_now = aligner.align_batch(batch, batch_docs)?;
            keep(found_now, aligned)?;
            batch_docs.iter().for_each(|&d| in_batch[d as usize] = false);
            batch_docs.clear();
            batch.clear();
            io::Result::Ok(())
        };
        for &(x, y) in window.iter() {
            for d in [x, y] {
                if !in_batch[d as usize] {
                    in_batch[d as usize] = true;
                    batch_docs.push(d);
                    batch_bytes += doc_units[d as usize] as usize * ALIGN_UNIT_BYTES;
                }
            }
            batch.push((x, y));
            if batch_bytes >= batch_cap || batch.len() >= 1 << 20 {
                flush(&mut batch, &mut batch_docs, &mut in_batch)?;
                batch_bytes = 0;
            }
        }
        flush(&mut batch, &mut batch_docs, &mut in_batch)?;
        window.clear();
        Ok(())
    };
    for item in sorted {
        let (key, count) = item.map_err(ioe("merging candidate pairs"))?;
        if count < min_anchors {
            continue;
        }
        candidates += 1;
        window.push(((key >> 32) as u32, key as u32));
        if window.len() >= window_cap {
            align_window(&mut window, &mut aligned).map_err(ioe("aligning candidate pairs"))?;
        }
    }
    align_window(&mut window, &mut aligned).map_err(ioe("aligning candidate pairs"))?;
    drop(units_store);
    drop(bags);
    drop(boilerplate);
    progress.finish();
    ctx.stage("align", StageTime::wall(t.elapsed().as_secs_f64()));

    // Outputs: the alignments merged in order (templates dropped), their spans to the passage clustering.
    let t = Instant::now();
    let texts = cfg.with_text.then_some(&text_store);
    let mut nodes: SortedRuns<[u32; 4]> = SortedRuns::new(ctx.dir(), share(CLUSTER_SHARE));
    let dropped = |x: &Alignment| {
        template_candidate(&x.passage, a.min_length)
            && (partners[&(x.a, x.passage.a_units)] >= TEMPLATE_PARTNERS as u32
                || partners[&(x.b, x.passage.b_units)] >= TEMPLATE_PARTNERS as u32)
    };
    let mut written = 0u64;
    let mut aligned_pairs = 0u64;
    let mut last_pair = None;
    let mut w =
        AlignmentWriter::create(&ctx.path("alignments.jsonl"), &ids, texts).map_err(ioe("writing alignments.jsonl"))?;
    for row in aligned.iter().map_err(ioe("merging alignments"))? {
        let x = row_alignment(&row.map_err(ioe("merging alignments"))?);
        if dropped(&x) {
            continue;
        }
        w.write(&x).map_err(ioe("writing alignments.jsonl"))?;
        if last_pair != Some((x.a, x.b)) {
            aligned_pairs += 1;
            last_pair = Some((x.a, x.b));
        }
        let k = u32::try_from(written).map_err(|_| RunError::Config("more than 2^31 alignments".into()))?;
        let node = k.checked_mul(2).ok_or_else(|| RunError::Config("more than 2^31 alignments".into()))?;
        nodes.push([x.a, x.passage.a_span.0, x.passage.a_span.1, node]).map_err(ioe("spilling passage spans"))?;
        nodes.push([x.b, x.passage.b_span.0, x.passage.b_span.1, node + 1]).map_err(ioe("spilling passage spans"))?;
        written += 1;
    }
    w.commit().map_err(ioe("writing alignments.jsonl"))?;
    let alignments_bytes = (aligned.spilled_bytes(), aligned.spilled_raw_bytes());
    drop(aligned);
    drop(partners);
    let (clusters, cluster_bytes) = write_clusters_out_of_core(
        &ctx.path("passages.jsonl"),
        ctx.dir(),
        &ids,
        nodes,
        written as usize,
        share(CLUSTER_SHARE),
    )
    .map_err(ioe("writing passages.jsonl"))?;
    ctx.stage("write", StageTime::wall(t.elapsed().as_secs_f64()));

    let spill = SpillReport {
        memory_budget: budget as u64,
        units_bytes: units_spilled,
        texts_bytes: text_store.spilled_bytes(),
        postings_bytes: postings_bytes.0,
        postings_raw_bytes: postings_bytes.1,
        pair_runs_bytes,
        split_buckets,
        alignment_runs_bytes: alignments_bytes.0,
        alignment_runs_raw_bytes: alignments_bytes.1,
        cluster_runs_bytes: cluster_bytes,
    };
    let summary = PassagesSummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        documents: ids.len() as u64,
        truncated_documents: truncated.iter().map(|&(d, units)| (ids[d as usize].clone(), units)).collect(),
        units: doc_units.iter().map(|&u| u as u64).sum(),
        boilerplate_ngrams: boilerplate_ngrams as u64,
        candidate_pairs: candidates,
        aligned_pairs,
        alignments: written,
        passage_clusters: clusters,
        config: cfg.clone(),
        stages: ctx.stages(),
        total_seconds: ctx.elapsed(),
        spill: (spill.total_bytes() > 0 || split_buckets > 0).then_some(spill),
    };
    ctx.finish(&summary)?;
    Ok(summary)
}

/// A document's units as `substrings` stores them (fixed width, read in part): ids, then spans, then closing
/// punctuation, little-endian ([`UNIT_BYTES`] per unit).
pub(crate) fn encode_units(d: &UnitDoc) -> Vec<u8> {
    let mut out = Vec::with_capacity(d.len() * UNIT_BYTES);
    d.ids.iter().for_each(|u| out.extend_from_slice(&u.to_le_bytes()));
    for &(s, e) in &d.spans {
        out.extend_from_slice(&s.to_le_bytes());
        out.extend_from_slice(&e.to_le_bytes());
    }
    out.extend_from_slice(&d.closing);
    out
}

/// Aligns batches of candidate pairs against the unit store.
struct Aligner<'a> {
    ids: &'a [String],
    store: &'a BlobStore,
    /// Sentence bags of each document (empty unless rewritten reuse is searched).
    bags: &'a [Bags],
    boilerplate: &'a NgramSet,
    options: &'a PassageOptions,
    progress: &'a dyn Progress,
}

impl Aligner<'_> {
    /// Aligns `batch` (candidate pairs in ascending order), whose documents are `docs` (sorted here); the
    /// alignments come in the order [`PassageIndex::alignments`] finds them before its sort.
    fn align_batch(&self, batch: &[(u32, u32)], docs: &mut [u32]) -> io::Result<Vec<Alignment>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        docs.sort_unstable();
        let cfg = &self.options.align;
        let loaded: Vec<(UnitDoc, Vec<u64>)> = docs
            .par_iter()
            .map(|&d| {
                let mut buf = Vec::new();
                self.store.read_into(d as usize, &mut buf)?;
                let units = units_of_record(&buf)?;
                let hashes = ngram_hashes(&units.ids, cfg.ngram, cfg.seed);
                Ok((units, hashes))
            })
            .collect::<io::Result<_>>()?;
        let doc = |d: u32| &loaded[docs.binary_search(&d).expect("every document of the batch is loaded")];
        let groups: Vec<&[(u32, u32)]> = batch.chunk_by(|x, y| x.0 == y.0).collect();
        Ok(groups
            .par_iter()
            .flat_map_iter(|g| {
                let (da, ha) = doc(g[0].0);
                let index = index_ngrams(ha, self.boilerplate, cfg.max_repeat);
                let out: Vec<Alignment> = g
                    .iter()
                    .flat_map(|&(x, y)| {
                        let (db, hb) = doc(y);
                        let (ba, bb) = (&self.bags[x as usize], &self.bags[y as usize]);
                        self.options
                            .passages((da, ba), &index, (db, bb), hb)
                            .into_iter()
                            .map(move |p| orient(self.ids, x, y, p))
                    })
                    .collect();
                self.progress.inc(g.len() as u64);
                out
            })
            .collect())
    }
}

/// Orders a window of candidate pairs so that consecutive pairs share documents: the documents are numbered in
/// breadth-first order over the graph of the pairs (from each not yet numbered document in ascending order,
/// neighbours in the order of the pairs), and the pairs sorted by the number of their first document, then by the
/// second: the pairs of a first document stay together (its n-gram index is built once), and the members of a
/// reprint cluster, all linked to each other, get neighbouring numbers, so a batch of documents cut from this order
/// holds most pairs of the clusters it touches, and a document is read back and its n-grams hashed about once per
/// window instead of once per batch of its partners (in ascending pair order the partners of a document lie all
/// over the corpus). The order changes no output: alignments are sorted by
/// (a's id, a's span, b's id, b's span) with ties in the order found, and ids are unique, so only the alignments
/// of one pair can tie, and those keep their order.
fn locality_order(pairs: &mut Vec<(u32, u32)>) {
    if pairs.len() < 2 {
        return;
    }
    let mut docs: Vec<u32> = pairs.iter().flat_map(|&(x, y)| [x, y]).collect();
    docs.sort_unstable();
    docs.dedup();
    let local = |d: u32| docs.binary_search(&d).expect("every document of a pair is listed") as u32;
    let ends: Vec<(u32, u32)> = pairs.iter().map(|&(x, y)| (local(x), local(y))).collect();
    // Adjacency lists, flat: the neighbours of local document v are adj[start[v]..start[v + 1]].
    let mut start = vec![0u32; docs.len() + 1];
    for &(x, y) in &ends {
        start[x as usize + 1] += 1;
        start[y as usize + 1] += 1;
    }
    for v in 0..docs.len() {
        start[v + 1] += start[v];
    }
    let mut fill = start.clone();
    let mut adj = vec![0u32; 2 * ends.len()];
    for &(x, y) in &ends {
        adj[fill[x as usize] as usize] = y;
        fill[x as usize] += 1;
        adj[fill[y as usize] as usize] = x;
        fill[y as usize] += 1;
    }
    drop(fill);
    let mut number = vec![u32::MAX; docs.len()];
    let mut queue: Vec<u32> = Vec::with_capacity(docs.len());
    for s in 0..docs.len() as u32 {
        if number[s as usize] != u32::MAX {
            continue;
        }
        let mut head = queue.len();
        number[s as usize] = queue.len() as u32;
        queue.push(s);
        while head < queue.len() {
            let v = queue[head] as usize;
            head += 1;
            for &w in &adj[start[v] as usize..start[v + 1] as usize] {
                if number[w as usize] == u32::MAX {
                    number[w as usize] = queue.len() as u32;
                    queue.push(w);
                }
            }
        }
    }
    drop((adj, start, queue));
    let mut keyed: Vec<(u32, u32, u32)> =
        ends.iter().map(|&(x, y)| (number[x as usize], docs[x as usize], docs[y as usize])).collect();
    keyed.par_sort_unstable();
    pairs.clear();
    pairs.extend(keyed.iter().map(|&(_, x, y)| (x, y)));
}

/// An alignment as a record of the external sort, 20 `u32`: the sort key (rank of a's id, a's span, rank of b's id,
/// b's span, order found as two halves), then a, b, the unit spans, matches, score (two halves of its bits), kind,
/// similarity (two halves).
type AlignmentRow = [u32; 20];

/// The rank of each document's id among the ids sorted (equal ids, equal ranks): comparing ranks compares ids.
fn id_ranks(ids: &[String]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    order.par_sort_unstable_by(|&x, &y| ids[x as usize].cmp(&ids[y as usize]));
    let mut ranks = vec![0u32; ids.len()];
    let mut r = 0u32;
    for k in 0..order.len() {
        if k > 0 && ids[order[k] as usize] != ids[order[k - 1] as usize] {
            r += 1;
        }
        ranks[order[k] as usize] = r;
    }
    ranks
}

fn alignment_row(ranks: &[u32], found: u64, x: &Alignment) -> AlignmentRow {
    let p = &x.passage;
    let (score, similarity) = (p.score.to_bits(), p.similarity.to_bits());
    [
        ranks[x.a as usize],
        p.a_span.0,
        p.a_span.1,
        ranks[x.b as usize],
        p.b_span.0,
        p.b_span.1,
        (found >> 32) as u32,
        found as u32,
        x.a,
        x.b,
        p.a_units.0,
        p.a_units.1,
        p.b_units.0,
        p.b_units.1,
        p.matches,
        (score >> 32) as u32,
        score as u32,
        u32::from(p.kind == Kind::Rewritten),
        (similarity >> 32) as u32,
        similarity as u32,
    ]
}

fn row_alignment(r: &AlignmentRow) -> Alignment {
    let f = |hi: u32, lo: u32| f64::from_bits(((hi as u64) << 32) | lo as u64);
    Alignment {
        a: r[8],
        b: r[9],
        passage: Passage {
            a_units: (r[10], r[11]),
            b_units: (r[12], r[13]),
            a_span: (r[1], r[2]),
            b_span: (r[4], r[5]),
            matches: r[14],
            score: f(r[15], r[16]),
            kind: if r[17] == 1 { Kind::Rewritten } else { Kind::Verbatim },
            similarity: f(r[18], r[19]),
        },
    }
}

fn slice_chars(text: &str, (s, e): (u32, u32)) -> String {
    text.chars().skip(s as usize).take((e - s) as usize).collect()
}

/// Writes `alignments.jsonl` one alignment at a time, in the order given (sorted by a's id: a's text is read once
/// per document, b's once per alignment).
struct AlignmentWriter<'a> {
    w: AtomicWriter,
    ids: &'a [String],
    texts: Option<&'a BlobStore>,
    cached: Option<(u32, String)>,
    buf: Vec<u8>,
}

impl<'a> AlignmentWriter<'a> {
    fn create(path: &Path, ids: &'a [String], texts: Option<&'a BlobStore>) -> io::Result<AlignmentWriter<'a>> {
        Ok(AlignmentWriter { w: AtomicWriter::create(path)?, ids, texts, cached: None, buf: Vec::new() })
    }

    fn text_of(&mut self, d: u32) -> io::Result<String> {
        let store = self.texts.expect("texts are stored");
        store.read_into(d as usize, &mut self.buf)?;
        String::from_utf8(std::mem::take(&mut self.buf)).map_err(io::Error::other)
    }

    fn write(&mut self, p: &Alignment) -> io::Result<()> {
        let (a, b) = (p.a as usize, p.b as usize);
        let (a_text, b_text) = if self.texts.is_some() {
            if self.cached.as_ref().is_none_or(|c| c.0 != p.a) {
                let t = self.text_of(p.a)?;
                self.cached = Some((p.a, t));
            }
            let tb = self.text_of(p.b)?;
            let ta = &self.cached.as_ref().expect("cached above").1;
            (Some(slice_chars(ta, p.passage.a_span)), Some(slice_chars(&tb, p.passage.b_span)))
        } else {
            (None, None)
        };
        self.w.write_json_line(&AlignmentRecord {
            a: self.ids[a].clone(),
            a_start: p.passage.a_span.0,
            a_end: p.passage.a_span.1,
            b: self.ids[b].clone(),
            b_start: p.passage.b_span.0,
            b_end: p.passage.b_span.1,
            score: (p.passage.score * 100.0).round() / 100.0,
            matches: p.passage.matches,
            kind: p.passage.kind,
            similarity: p.passage.similarity,
            a_text,
            b_text,
        })
    }

    fn commit(self) -> io::Result<()> {
        self.w.commit()
    }
}

/// Writes `passages.jsonl`: the clusters [`passage_clusters`] finds over `n` alignments, whose spans `nodes` holds
/// as `[document, start, end, node]` (node `2k` side a of alignment `k`, `2k + 1` side b), out of core: a sweep of
/// the sorted spans joins overlapping ones (union-find over the alignments, 4 bytes each, in memory); the spans
/// labelled by their cluster's root are sorted by cluster and merged; the merged members are sorted by their
/// cluster's first member, the order of the clusters. Sorts use about `mem_budget` bytes each. Returns the number
/// of clusters and the bytes of runs written to disk (sort runs go to temporary files under `dir`).
fn write_clusters_out_of_core(
    path: &Path,
    dir: &Path,
    ids: &[String],
    mut nodes: SortedRuns<[u32; 4]>,
    n: usize,
    mem_budget: usize,
) -> io::Result<(u64, u64)> {
    let mut uf = UnionFind::new(n);
    // Spans of one document join when they overlap by half the longer one (as in `passage_clusters`).
    let mut active: Vec<(u32, u32, u32)> = Vec::new();
    let mut doc = None;
    for x in nodes.iter()? {
        let [d, s, e, node] = x?;
        if doc != Some(d) {
            active.clear();
            doc = Some(d);
        }
        active.retain(|&(_, ae, _)| ae > s);
        for &(as_, ae, an) in &active {
            let ov = ae.min(e).saturating_sub(as_.max(s));
            if ov * 2 >= (ae - as_).max(e - s) {
                uf.union(an / 2, node / 2);
            }
        }
        active.push((s, e, node));
    }
    drop(active);
    let mut members: SortedRuns<[u32; 4]> = SortedRuns::new(dir, mem_budget);
    for x in nodes.iter()? {
        let [d, s, e, node] = x?;
        members.push([uf.find(node / 2), d, s, e])?;
    }
    let mut spilled = nodes.spilled_bytes();
    drop(nodes);
    drop(uf);
    // Members of a cluster merged where they overlap; each tagged with the cluster's first member and root.
    let mut by_first: SortedRuns<[u32; 7]> = SortedRuns::new(dir, mem_budget);
    {
        let mut root = None;
        let mut cur: Option<(u32, u32, u32)> = None;
        let mut first: Option<(u32, u32, u32)> = None;
        let mut emit = |first: &mut Option<(u32, u32, u32)>, m: (u32, u32, u32), r: u32| {
            let f = *first.get_or_insert(m);
            by_first.push([f.0, f.1, f.2, r, m.0, m.1, m.2])
        };
        for x in members.iter()? {
            let [r, d, s, e] = x?;
            if root != Some(r) {
                if let (Some(m), Some(r0)) = (cur.take(), root) {
                    emit(&mut first, m, r0)?;
                }
                first = None;
                root = Some(r);
            }
            match cur.as_mut() {
                Some(c) if c.0 == d && s <= c.2 => c.2 = c.2.max(e),
                _ => {
                    if let Some(m) = cur.replace((d, s, e)) {
                        emit(&mut first, m, r)?;
                    }
                }
            }
        }
        if let (Some(m), Some(r0)) = (cur, root) {
            emit(&mut first, m, r0)?;
        }
    }
    spilled += members.spilled_bytes();
    drop(members);
    let mut w = AtomicWriter::create(path)?;
    let mut cluster: Option<[u32; 4]> = None;
    let mut k = 0usize;
    for x in by_first.iter()? {
        let x = x?;
        let key = [x[0], x[1], x[2], x[3]];
        if cluster.is_some_and(|c| c != key) {
            k += 1;
        }
        cluster = Some(key);
        w.write_json_line(&PassageRecord { cluster: k, id: ids[x[4] as usize].clone(), start: x[5], end: x[6] })?;
    }
    w.commit()?;
    spilled += by_first.spilled_bytes();
    Ok((cluster.map_or(0, |_| k as u64 + 1), spilled))
}
