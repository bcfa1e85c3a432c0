//! `textreuse index`: a persistent, incremental index of documents on disk (immutable segments and a manifest
//! replaced atomically; storage in [`crate::io::index`], logic in [`crate::core::index`]), and the commands over
//! it: [`create`], [`add`], [`query`], [`compact`], [`delete`], [`info`].
//!
//! A query of new documents gives, for each, the cluster that one `dedup` run over the indexed documents and the
//! new ones together puts it in, and the alignments that one `passages` run over them gives it, without reading
//! the indexed documents' text except to align candidate pairs. The settings are fixed when the index is created
//! and stored in its manifest; a later command that asks for another value of any of them is refused, naming it.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::core::index::{
    clusters_of, new_alignments, new_duplicate_pairs, IndexSettings, IndexedDocuments, PreparedDoc, Preparer,
    StoredPair, FORMAT_VERSION,
};
use crate::io::index::{
    compress_text, compress_units, merge_postings, read_manifest, remove_garbage, write_manifest, write_segment,
    IndexReader, Manifest, SegmentDoc, SegmentReader, WriteLock, FORMAT_NAME,
};
use crate::io::{Input, ReadOptions, SkipReason};
use crate::pipeline::{ioe, scan, InputReport, JobContext, RunError, StageTime};
use crate::progress::Progress;
use crate::records::{AlignmentRecord, ClusterRecord, IndexClusterRecord, PairRecord};

/// Settings of the commands that read inputs (`create`, `add`, `query`), besides the index's own settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexJobConfig {
    /// How records are read.
    pub read: ReadOptions,
    /// Turn any skipped record into an error.
    pub strict: bool,
    /// `create` and `add` start a new segment after this many bytes of text.
    pub segment_bytes: u64,
    /// `query`: write the aligned texts into `alignments.jsonl`.
    pub with_text: bool,
}

impl Default for IndexJobConfig {
    fn default() -> Self {
        IndexJobConfig { read: ReadOptions::default(), strict: false, segment_bytes: 256 << 20, with_text: false }
    }
}

/// What `create` or `add` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddSummary {
    /// Documents added.
    pub documents_added: u64,
    /// Documents in the index afterwards.
    pub documents: u64,
    /// Records skipped while reading, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// The first skipped records, as messages.
    pub skipped_examples: Vec<String>,
    /// Documents left out because their id is in the index already.
    pub already_indexed: u64,
    /// Segments written.
    pub segments_written: Vec<String>,
    /// Stored pairs (duplicates and partial-reprint witnesses) found for the new documents.
    pub pairs_stored: u64,
    /// Segment directories of killed commands removed first.
    pub garbage_removed: Vec<String>,
    /// Wall-clock seconds.
    pub total_seconds: f64,
}

fn invalid(msg: String) -> RunError {
    RunError::Config(msg)
}

fn io_err(context: &str) -> impl FnOnce(io::Error) -> RunError + '_ {
    move |e| RunError::Io { context: context.to_string(), source: e }
}

/// Refuses `requested` settings that differ from the index's, naming the first setting that differs.
///
/// # Errors
/// [`RunError::Config`] naming the setting and both values.
pub fn check_settings(stored: &IndexSettings, requested: Option<&IndexSettings>) -> Result<(), RunError> {
    if let Some(r) = requested {
        if let Some((name, was, now)) = stored.first_difference(r) {
            return Err(invalid(format!(
                "setting {name}: the index was built with {was}, this command asks for {now}; an index's settings \
                 cannot change (create another index)"
            )));
        }
    }
    Ok(())
}

/// A test hook: with `TEXTREUSE_INDEX_PAUSE=STAGE`, the command stops at that stage (`segment`: after a segment is
/// written, before the manifest; `manifest`: after the new manifest is flushed to its temporary file, before the
/// rename), prints `paused at STAGE` on standard error and waits to be killed.
fn pause_at(stage: &str) {
    if std::env::var("TEXTREUSE_INDEX_PAUSE").is_ok_and(|s| s == stage) {
        eprintln!("paused at {stage}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// A document read and prepared, with its compressed text.
struct Pending {
    doc: PreparedDoc,
    text_zst: Vec<u8>,
    units_zst: Vec<u8>,
    bytes: u64,
}

/// Appends documents to an index under a write lock: segments written as batches fill, the manifest replaced once
/// at the end ([`Appender::commit`]).
struct Appender<'a> {
    dir: &'a Path,
    preparer: Preparer,
    reader: IndexReader,
    generation: u64,
    batch: Vec<Pending>,
    batch_bytes: u64,
    segment_bytes: u64,
    written: Vec<String>,
    added: u64,
    already: u64,
    pairs: u64,
}

impl<'a> Appender<'a> {
    fn new(dir: &'a Path, manifest: Manifest, segment_bytes: u64) -> Result<Appender<'a>, RunError> {
        let preparer = Preparer::new(&manifest.settings).map_err(|e| invalid(e.to_string()))?;
        let generation = manifest.generation + 1;
        let reader = IndexReader::with_segments(dir, manifest).map_err(io_err("opening the index"))?;
        Ok(Appender {
            dir,
            preparer,
            reader,
            generation,
            batch: Vec::new(),
            batch_bytes: 0,
            segment_bytes: segment_bytes.max(1),
            written: Vec::new(),
            added: 0,
            already: 0,
            pairs: 0,
        })
    }

    fn prepare(preparer: &Preparer, id: &str, text: &str) -> io::Result<Pending> {
        let mut doc = preparer.prepare(id, text, true);
        if let Some(fp) = doc.fingerprint.as_mut() {
            fp.signature = Vec::new();
        }
        let units = doc.unit_doc.take().expect("prepared with its units");
        Ok(Pending {
            doc,
            text_zst: compress_text(text)?,
            units_zst: compress_units(&units)?,
            bytes: text.len() as u64,
        })
    }

    fn push(&mut self, p: Pending) -> Result<(), RunError> {
        if self.reader.position(&p.doc.id).is_some() {
            self.already += 1;
            return Ok(());
        }
        self.batch_bytes += p.bytes;
        self.batch.push(p);
        if self.batch_bytes >= self.segment_bytes {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RunError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let docs: Vec<PreparedDoc> = batch.iter().map(|p| p.doc.clone()).collect();
        let found = new_duplicate_pairs(&self.reader, &docs, &self.preparer.settings().dedup)
            .map_err(io_err("reading the index"))?;
        let bands = self.preparer.fingerprinter().lsh().bands;
        let seg_docs: Vec<SegmentDoc> = batch
            .into_iter()
            .zip(&found.in_buckets)
            .map(|(p, &in_buckets)| segment_doc(p.doc, (p.text_zst, p.units_zst), in_buckets, bands))
            .collect();
        let name = format!("seg-{:06}-{:04}", self.generation, self.written.len());
        let base = self.reader.len();
        let entry = write_segment(self.dir, &name, base, bands, &seg_docs, &found.pairs, None)
            .map_err(io_err("writing a segment"))?;
        drop(seg_docs);
        let seg = SegmentReader::open(self.dir, &entry).map_err(io_err("reading the new segment"))?;
        self.reader.push_segment(seg).map_err(io_err("reading the new segment"))?;
        self.added += u64::from(entry.docs);
        self.pairs += found.pairs.len() as u64;
        self.written.push(name);
        pause_at("segment");
        Ok(())
    }

    fn commit(mut self) -> Result<(u64, Vec<String>, u64, u64, u64), RunError> {
        self.flush()?;
        if !self.written.is_empty() {
            let mut m = self.reader.manifest.clone();
            m.generation = self.generation;
            write_manifest(self.dir, &m, || pause_at("manifest")).map_err(io_err("writing manifest.json"))?;
        }
        Ok((self.added, self.written, self.already, self.pairs, u64::from(self.reader.len())))
    }
}

fn segment_doc(
    doc: PreparedDoc,
    (text_zst, units_zst): (Vec<u8>, Vec<u8>),
    in_buckets: bool,
    bands: usize,
) -> SegmentDoc {
    let (shingles, set_hash, band_keys) = match doc.fingerprint {
        Some(fp) => (fp.shingles, fp.set_hash, fp.band_keys),
        None => (Vec::new(), 0, vec![0; bands]),
    };
    SegmentDoc {
        entry: crate::io::index::DocEntry { id: doc.id, chars: doc.chars, units: doc.units },
        text_zst,
        units_zst,
        shingles,
        set_hash,
        band_keys,
        in_buckets,
        ngrams: doc.ngrams,
    }
}

/// Creates an index in `dir` (absent or empty) with `settings`, and adds `inputs` (when any).
///
/// # Errors
/// A directory that exists and is not empty; invalid settings; reading or writing errors.
pub fn create(
    dir: &Path,
    inputs: &[Input],
    settings: &IndexSettings,
    cfg: &IndexJobConfig,
    progress: &dyn Progress,
) -> Result<AddSummary, RunError> {
    settings.validate().map_err(|e| invalid(e.to_string()))?;
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io_err("reading the index directory"))?;
        if entries.next().is_some() {
            return Err(invalid(format!(
                "{} exists and is not empty; `index create` needs a new or empty directory",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir.join("segments")).map_err(io_err("creating the index directory"))?;
    let _lock = WriteLock::acquire(dir).map_err(io_err("locking the index"))?;
    let m = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        generation: 0,
        settings: settings.clone(),
        segments: Vec::new(),
        deleted: Vec::new(),
    };
    write_manifest(dir, &m, || {}).map_err(io_err("writing manifest.json"))?;
    if inputs.is_empty() {
        return Ok(AddSummary {
            documents_added: 0,
            documents: 0,
            skipped: BTreeMap::new(),
            skipped_examples: Vec::new(),
            already_indexed: 0,
            segments_written: Vec::new(),
            pairs_stored: 0,
            garbage_removed: Vec::new(),
            total_seconds: 0.0,
        });
    }
    add_locked(dir, m, inputs, cfg, progress, Vec::new())
}

/// Adds the documents of `inputs` to the index in `dir` as new segments, then replaces the manifest; a document
/// whose id is indexed already is left out (counted). `requested`, when given, must equal the index's settings.
/// Killed at any point, the index stays as it was before the command.
///
/// # Errors
/// Not an index, another writer holding the lock, settings that differ, reading or writing errors.
pub fn add(
    dir: &Path,
    inputs: &[Input],
    requested: Option<&IndexSettings>,
    cfg: &IndexJobConfig,
    progress: &dyn Progress,
) -> Result<AddSummary, RunError> {
    let m = read_manifest(dir).map_err(io_err("opening the index"))?;
    check_settings(&m.settings, requested)?;
    let _lock = WriteLock::acquire(dir).map_err(io_err("locking the index"))?;
    let m = read_manifest(dir).map_err(io_err("opening the index"))?;
    let garbage = remove_garbage(dir, &m).map_err(io_err("removing unfinished segments"))?;
    add_locked(dir, m, inputs, cfg, progress, garbage)
}

fn add_locked(
    dir: &Path,
    m: Manifest,
    inputs: &[Input],
    cfg: &IndexJobConfig,
    progress: &dyn Progress,
    garbage_removed: Vec<String>,
) -> Result<AddSummary, RunError> {
    let t = Instant::now();
    let mut app = Appender::new(dir, m, cfg.segment_bytes)?;
    let preparer = app.preparer.clone();
    let stats = scan(
        inputs,
        &cfg.read,
        cfg.strict,
        "index",
        progress,
        |doc| {
            Appender::prepare(&preparer, &doc.id, &doc.text)
                .map_err(|e| SkipReason::Unreadable { error: e.to_string() })
        },
        |item| app.push(item.value),
    )?;
    let (added, written, already, pairs, documents) = app.commit()?;
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    for s in &stats.skips {
        *skipped.entry(s.reason.key().to_string()).or_default() += 1;
    }
    Ok(AddSummary {
        documents_added: added,
        documents,
        skipped,
        skipped_examples: stats.skips.iter().take(5).map(|s| s.to_string()).collect(),
        already_indexed: already,
        segments_written: written,
        pairs_stored: pairs,
        garbage_removed,
        total_seconds: t.elapsed().as_secs_f64(),
    })
}

/// Adds documents given in memory (`(id, text)`), as [`add`] does with files; used by the Python package. Empty
/// texts and ids repeated in `docs` are left out (counted in `skipped`).
///
/// # Errors
/// As [`add`].
pub fn add_documents(dir: &Path, docs: &[(String, String)]) -> Result<AddSummary, RunError> {
    use rayon::prelude::*;
    let t = Instant::now();
    let m = read_manifest(dir).map_err(io_err("opening the index"))?;
    let _lock = WriteLock::acquire(dir).map_err(io_err("locking the index"))?;
    let garbage_removed = remove_garbage(dir, &m).map_err(io_err("removing unfinished segments"))?;
    let mut app = Appender::new(dir, m, IndexJobConfig::default().segment_bytes)?;
    let preparer = app.preparer.clone();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for chunk in docs.chunks(4096) {
        let prepared: Vec<Option<io::Result<Pending>>> = chunk
            .par_iter()
            .map(|(id, text)| (!text.trim().is_empty()).then(|| Appender::prepare(&preparer, id, text)))
            .collect();
        for ((id, _), p) in chunk.iter().zip(prepared) {
            match p {
                None => *skipped.entry("empty_text".into()).or_default() += 1,
                Some(_) if !seen.insert(id.clone()) => *skipped.entry("duplicate_id".into()).or_default() += 1,
                Some(p) => app.push(p.map_err(io_err("compressing a text"))?)?,
            }
        }
    }
    let (added, written, already, pairs, documents) = app.commit()?;
    Ok(AddSummary {
        documents_added: added,
        documents,
        skipped,
        skipped_examples: Vec::new(),
        already_indexed: already,
        segments_written: written,
        pairs_stored: pairs,
        garbage_removed,
        total_seconds: t.elapsed().as_secs_f64(),
    })
}

/// The results of a query, in memory.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// One per new document with shingles, in input order.
    pub clusters: Vec<IndexClusterRecord>,
    /// Duplicate pairs with at least one new document (`a` before `b`: indexed documents first).
    pub pairs: Vec<PairRecord>,
    /// Alignments with at least one new document, in the order of `passages`' `alignments.jsonl`.
    pub alignments: Vec<AlignmentRecord>,
    /// Documents left out because their id is in the index.
    pub already_indexed: Vec<String>,
    /// Documents in the index.
    pub indexed_documents: u64,
    /// Wall-clock seconds of the dedup part (candidates, verification, clusters) and of the passages part.
    pub seconds: (f64, f64),
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn slice_chars(text: &str, (s, e): (u32, u32)) -> String {
    text.chars().skip(s as usize).take((e - s) as usize).collect()
}

/// Searches prepared new documents (units kept) against the open index `reader`.
fn search(
    reader: &IndexReader,
    preparer: &Preparer,
    new: Vec<PreparedDoc>,
    texts: Option<&[String]>,
) -> Result<QueryResult, RunError> {
    let n = reader.len();
    let settings = preparer.settings();
    let t = Instant::now();
    let found = new_duplicate_pairs(reader, &new, &settings.dedup).map_err(io_err("reading the index"))?;
    let mut all: Vec<StoredPair> = reader.pairs().map_err(io_err("reading the index"))?;
    all.extend_from_slice(&found.pairs);
    let total = n as usize + new.len();
    let mut chars = reader.all_chars().to_vec();
    chars.extend(new.iter().map(|d| d.chars));
    let set_len = |d: u32| {
        if d < n {
            reader.set_len(d)
        } else {
            new[(d - n) as usize].fingerprint.as_ref().map_or(0, |f| f.shingles.len())
        }
    };
    let (clusters, duplicates) =
        clusters_of(total, &all, set_len, &chars, |d| d < n && reader.is_deleted(d), &settings.dedup);
    let id = |d: u32| -> &str {
        if d < n {
            reader.id(d)
        } else {
            &new[(d - n) as usize].id
        }
    };
    // Members of the clusters that hold a new document.
    let wanted: std::collections::HashSet<u32> = (n..total as u32)
        .filter(|&d| clusters.size[d as usize] > 1)
        .map(|d| clusters.representative[d as usize])
        .collect();
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    for d in 0..total as u32 {
        let r = clusters.representative[d as usize];
        if wanted.contains(&r) {
            members.entry(r).or_default().push(d);
        }
    }
    let mut out = QueryResult { indexed_documents: u64::from(n), ..QueryResult::default() };
    for (k, doc) in new.iter().enumerate() {
        if doc.fingerprint.is_none() {
            continue;
        }
        let d = n + k as u32;
        let r = clusters.representative[d as usize];
        out.clusters.push(IndexClusterRecord {
            cluster: ClusterRecord {
                id: doc.id.clone(),
                cluster: id(r).to_string(),
                size: clusters.size[d as usize],
                representative: r == d,
            },
            members: members
                .get(&r)
                .map_or(Vec::new(), |m| m.iter().filter(|&&x| x != d).map(|&x| id(x).to_string()).collect()),
        });
    }
    out.pairs = duplicates
        .iter()
        .filter(|p| p.b >= n)
        .map(|p| PairRecord {
            a: id(p.a).to_string(),
            b: id(p.b).to_string(),
            jaccard: round4(p.stats.jaccard),
            containment: round4(p.stats.containment),
        })
        .collect();
    let dedup_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let aligned = new_alignments(reader, &new, preparer).map_err(io_err("reading the index"))?;
    let text_of = |d: u32| -> Result<Option<String>, RunError> {
        match texts {
            None => Ok(None),
            Some(t) if d >= n => Ok(Some(t[(d - n) as usize].clone())),
            Some(_) => reader.text(d).map(Some).map_err(io_err("reading the index")),
        }
    };
    for p in aligned {
        let (ta, tb) = (text_of(p.a)?, text_of(p.b)?);
        out.alignments.push(AlignmentRecord {
            a: id(p.a).to_string(),
            a_start: p.passage.a_span.0,
            a_end: p.passage.a_span.1,
            b: id(p.b).to_string(),
            b_start: p.passage.b_span.0,
            b_end: p.passage.b_span.1,
            score: (p.passage.score * 100.0).round() / 100.0,
            matches: p.passage.matches,
            kind: p.passage.kind,
            similarity: p.passage.similarity,
            a_text: ta.map(|t| slice_chars(&t, p.passage.a_span)),
            b_text: tb.map(|t| slice_chars(&t, p.passage.b_span)),
        });
    }
    out.seconds = (dedup_seconds, t.elapsed().as_secs_f64());
    Ok(out)
}

/// Queries documents given in memory (`(id, text)`) against the index in `dir`; used by the Python package. Empty
/// texts are left out; ids in the index are listed in [`QueryResult::already_indexed`].
///
/// # Errors
/// Not an index; reading errors.
pub fn query_documents(dir: &Path, docs: &[(String, String)]) -> Result<QueryResult, RunError> {
    use rayon::prelude::*;
    let reader = IndexReader::open(dir).map_err(io_err("opening the index"))?;
    let preparer = Preparer::new(&reader.manifest.settings).map_err(|e| invalid(e.to_string()))?;
    let mut already = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let keep: Vec<&(String, String)> = docs
        .iter()
        .filter(|(id, text)| {
            if reader.position(id).is_some() {
                already.push(id.clone());
                return false;
            }
            !text.trim().is_empty() && seen.insert(id.clone())
        })
        .collect();
    let new: Vec<PreparedDoc> = keep.par_iter().map(|(id, text)| preparer.prepare(id, text, true)).collect();
    let mut r = search(&reader, &preparer, new, None)?;
    r.already_indexed = already;
    Ok(r)
}

/// What `index query` did; written as `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuerySummary {
    /// Version of the output formats.
    pub schema_version: u32,
    /// Inputs, records read, skipped records and encodings.
    #[serde(flatten)]
    pub input: InputReport,
    /// The index directory.
    pub index: String,
    /// Documents in the index.
    pub indexed_documents: u64,
    /// New documents queried.
    pub documents: u64,
    /// New documents left out because their id is in the index.
    pub already_indexed: u64,
    /// New documents in a cluster of two or more.
    pub clustered: u64,
    /// Duplicate pairs written to `pairs.jsonl`.
    pub duplicate_pairs: u64,
    /// Alignments written to `alignments.jsonl`.
    pub alignments: u64,
    /// The index's settings.
    pub settings: IndexSettings,
    /// Time per stage.
    pub stages: BTreeMap<String, StageTime>,
    /// Wall-clock seconds of the whole run.
    pub total_seconds: f64,
}

/// Queries the documents of `inputs` against the index in `dir`, writing into `out_dir` (a run directory, as
/// every job's): `clusters.jsonl` ([`IndexClusterRecord`]), `pairs.jsonl` ([`PairRecord`]), `alignments.jsonl`
/// ([`AlignmentRecord`]), `skipped.jsonl` and `summary.json`. The index is not changed.
///
/// # Errors
/// Not an index; settings that differ from the index's; reading or writing errors.
pub fn query(
    dir: &Path,
    inputs: &[Input],
    out_dir: &Path,
    requested: Option<&IndexSettings>,
    cfg: &IndexJobConfig,
    progress: &dyn Progress,
) -> Result<QuerySummary, RunError> {
    let t = Instant::now();
    let reader = IndexReader::open(dir).map_err(io_err("opening the index"))?;
    check_settings(&reader.manifest.settings, requested)?;
    let preparer = Preparer::new(&reader.manifest.settings).map_err(|e| invalid(e.to_string()))?;
    let mut ctx = JobContext::create("index-query", inputs, out_dir)?;
    ctx.stage("open", StageTime::wall(t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let mut new: Vec<PreparedDoc> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut already: Vec<String> = Vec::new();
    let with_text = cfg.with_text;
    let stats = scan(
        inputs,
        &cfg.read,
        cfg.strict,
        "read",
        progress,
        |doc| Ok::<_, SkipReason>((preparer.prepare(&doc.id, &doc.text, true), with_text.then_some(doc.text))),
        |item| {
            if reader.position(&item.id).is_some() {
                already.push(item.id);
            } else {
                new.push(item.value.0);
                texts.extend(item.value.1);
            }
            Ok(())
        },
    )?;
    let input = ctx.input_report(&stats, inputs)?;
    ctx.stage("read+prepare", StageTime::wall(t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let documents = new.len() as u64;
    let r = search(&reader, &preparer, new, with_text.then_some(texts.as_slice()))?;
    ctx.stage("search", StageTime::wall(t.elapsed().as_secs_f64()));
    ctx.stage("search:dedup", StageTime::wall(r.seconds.0));
    ctx.stage("search:passages", StageTime::wall(r.seconds.1));
    let write = |name: &str, f: &dyn Fn(&mut crate::io::AtomicWriter) -> io::Result<()>| -> Result<(), RunError> {
        let mut w = crate::io::AtomicWriter::create(&ctx.path(name)).map_err(ioe(format!("writing {name}")))?;
        f(&mut w).map_err(ioe(format!("writing {name}")))?;
        w.commit().map_err(ioe(format!("writing {name}")))
    };
    write("clusters.jsonl", &|w| r.clusters.iter().try_for_each(|c| w.write_json_line(c)))?;
    write("pairs.jsonl", &|w| r.pairs.iter().try_for_each(|c| w.write_json_line(c)))?;
    write("alignments.jsonl", &|w| r.alignments.iter().try_for_each(|c| w.write_json_line(c)))?;
    let summary = QuerySummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        index: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()).display().to_string(),
        indexed_documents: r.indexed_documents,
        documents,
        already_indexed: already.len() as u64,
        clustered: r.clusters.iter().filter(|c| c.cluster.size > 1).count() as u64,
        duplicate_pairs: r.pairs.len() as u64,
        alignments: r.alignments.len() as u64,
        settings: reader.manifest.settings.clone(),
        stages: ctx.stages(),
        total_seconds: ctx.elapsed(),
    };
    ctx.finish(&summary)?;
    Ok(summary)
}

/// What `compact` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompactSummary {
    /// Segments before.
    pub segments_before: usize,
    /// Documents before (deleted ones included).
    pub documents_before: u64,
    /// Documents after.
    pub documents: u64,
    /// Deleted documents removed.
    pub documents_removed: u64,
    /// The new segment (none when there was nothing to do).
    pub segment: Option<String>,
    /// Wall-clock seconds.
    pub total_seconds: f64,
}

/// An index with no document, to recompute the stored pairs of documents from scratch.
struct NoDocuments;

impl IndexedDocuments for NoDocuments {
    type Error = io::Error;
    fn len(&self) -> u32 {
        0
    }
    fn id(&self, _: u32) -> &str {
        unreachable!("no documents")
    }
    fn chars(&self, _: u32) -> u64 {
        0
    }
    fn set_len(&self, _: u32) -> usize {
        0
    }
    fn is_deleted(&self, _: u32) -> bool {
        false
    }
    fn read_set<'a>(&'a self, _: u32, buf: &'a mut Vec<u32>) -> io::Result<&'a [u32]> {
        Ok(buf)
    }
    fn first_with_set_hash(&self, _: u64) -> Option<u32> {
        None
    }
    fn bucket_tail(&self, _: usize, _: u64, _: usize) -> Vec<u32> {
        Vec::new()
    }
    fn ngram_postings(&self, hashes: &[u64], _: usize) -> io::Result<crate::core::index::NgramPostings> {
        Ok(crate::core::index::NgramPostings::empty(hashes.len()))
    }
    fn text(&self, _: u32) -> io::Result<String> {
        Ok(String::new())
    }
    fn units(&self, _: u32) -> io::Result<crate::core::align::UnitDoc> {
        unreachable!("no documents")
    }
    fn pairs(&self) -> io::Result<Vec<StoredPair>> {
        Ok(Vec::new())
    }
}

/// Merges every segment into one and removes deleted documents. Without deletions the stored pairs are kept as
/// they are; with deletions they are computed again over the remaining documents (the index is then what adding
/// those documents alone would have made). Holds every shingle set and compressed text in memory while it works;
/// postings are merged as streams. Killed at any point, the index stays as it was.
///
/// # Errors
/// Not an index, another writer, reading or writing errors.
pub fn compact(dir: &Path, progress: &dyn Progress) -> Result<CompactSummary, RunError> {
    let t = Instant::now();
    read_manifest(dir).map_err(io_err("opening the index"))?;
    let _lock = WriteLock::acquire(dir).map_err(io_err("locking the index"))?;
    let m = read_manifest(dir).map_err(io_err("opening the index"))?;
    remove_garbage(dir, &m).map_err(io_err("removing unfinished segments"))?;
    let reader = IndexReader::open(dir).map_err(io_err("opening the index"))?;
    let before = u64::from(reader.len());
    let mut summary = CompactSummary {
        segments_before: m.segments.len(),
        documents_before: before,
        documents: before,
        documents_removed: 0,
        segment: None,
        total_seconds: 0.0,
    };
    if m.segments.len() <= 1 && m.deleted.is_empty() {
        summary.total_seconds = t.elapsed().as_secs_f64();
        return Ok(summary);
    }
    let settings = &m.settings;
    let preparer = Preparer::new(settings).map_err(|e| invalid(e.to_string()))?;
    let bands = preparer.fingerprinter().lsh().bands;
    // New numbers of the documents that stay.
    let mut renumber: Vec<Option<u32>> = Vec::with_capacity(before as usize);
    let mut next = 0u32;
    for d in 0..reader.len() {
        if reader.is_deleted(d) {
            renumber.push(None);
        } else {
            renumber.push(Some(next));
            next += 1;
        }
    }
    progress.start("compact", Some(before), "documents");
    let mut docs: Vec<SegmentDoc> = Vec::with_capacity(next as usize);
    for s in &reader.segments {
        for local in 0..s.entry.docs as usize {
            if renumber[s.entry.base as usize + local].is_some() {
                docs.push(s.segment_doc(local));
            }
            progress.inc(1);
        }
    }
    progress.finish();
    let pairs: Vec<StoredPair> = if m.deleted.is_empty() {
        reader.pairs().map_err(io_err("reading the index"))?
    } else {
        let prepared: Vec<PreparedDoc> = docs
            .iter()
            .map(|d| PreparedDoc {
                id: d.entry.id.clone(),
                chars: d.entry.chars,
                fingerprint: (!d.shingles.is_empty()).then(|| crate::core::dedup::Fingerprint {
                    shingles: d.shingles.clone(),
                    signature: Vec::new(),
                    band_keys: d.band_keys.clone(),
                    set_hash: d.set_hash,
                    chars: d.entry.chars,
                }),
                ngrams: Vec::new(),
                units: d.entry.units,
                unit_doc: None,
            })
            .collect();
        new_duplicate_pairs(&NoDocuments, &prepared, &settings.dedup).map_err(io_err("recomputing pairs"))?.pairs
    };
    // Which documents enter the LSH buckets: those with shingles that are not exact duplicates of an earlier one.
    let mut first: HashMap<u64, usize> = HashMap::new();
    for (k, d) in docs.iter_mut().enumerate() {
        if d.shingles.is_empty() {
            continue;
        }
        match first.get(&d.set_hash) {
            None => {
                first.insert(d.set_hash, d.shingles.len());
                d.in_buckets = true;
            }
            Some(&len) => d.in_buckets = len != d.shingles.len(),
        }
        let _ = k;
    }
    let generation = m.generation + 1;
    let name = format!("seg-{generation:06}-0000");
    let keep = |d: u32| renumber[d as usize];
    let merge = |put: &mut crate::io::index::PostingsSink<'_>| merge_postings(&reader.segments, &keep, put);
    let entry =
        write_segment(dir, &name, 0, bands, &docs, &pairs, Some(&merge)).map_err(io_err("writing a segment"))?;
    let new_m = Manifest { generation, segments: vec![entry.clone()], deleted: Vec::new(), ..m.clone() };
    write_manifest(dir, &new_m, || pause_at("manifest")).map_err(io_err("writing manifest.json"))?;
    drop(reader);
    remove_garbage(dir, &new_m).map_err(io_err("removing the old segments"))?;
    summary.documents = u64::from(entry.docs);
    summary.documents_removed = before - u64::from(entry.docs);
    summary.segment = Some(name);
    summary.total_seconds = t.elapsed().as_secs_f64();
    Ok(summary)
}

/// What `delete` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteSummary {
    /// Ids marked deleted now.
    pub deleted: u64,
    /// Ids that were deleted already.
    pub already_deleted: u64,
    /// Ids not in the index.
    pub unknown: Vec<String>,
    /// Deleted documents waiting for `compact`.
    pub pending: u64,
}

/// Marks documents deleted by id (tombstones in the manifest): queries leave them out at once, and [`compact`]
/// removes them.
///
/// # Errors
/// Not an index, another writer, writing errors.
pub fn delete(dir: &Path, ids: &[String]) -> Result<DeleteSummary, RunError> {
    read_manifest(dir).map_err(io_err("opening the index"))?;
    let _lock = WriteLock::acquire(dir).map_err(io_err("locking the index"))?;
    let m = read_manifest(dir).map_err(io_err("opening the index"))?;
    remove_garbage(dir, &m).map_err(io_err("removing unfinished segments"))?;
    let reader = IndexReader::open(dir).map_err(io_err("opening the index"))?;
    let mut deleted: std::collections::BTreeSet<String> = m.deleted.iter().cloned().collect();
    let mut s = DeleteSummary { deleted: 0, already_deleted: 0, unknown: Vec::new(), pending: 0 };
    for id in ids {
        if reader.position(id).is_none() {
            s.unknown.push(id.clone());
        } else if deleted.insert(id.clone()) {
            s.deleted += 1;
        } else {
            s.already_deleted += 1;
        }
    }
    s.pending = deleted.len() as u64;
    if s.deleted > 0 {
        let new_m = Manifest { generation: m.generation + 1, deleted: deleted.into_iter().collect(), ..m };
        write_manifest(dir, &new_m, || pause_at("manifest")).map_err(io_err("writing manifest.json"))?;
    }
    Ok(s)
}

/// One segment in [`IndexInfo`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// Directory name.
    pub name: String,
    /// First document number.
    pub base: u32,
    /// Documents.
    pub documents: u32,
    /// Postings (distinct n-grams per document).
    pub postings: u64,
    /// Stored pairs.
    pub pairs: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

/// What `info` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexInfo {
    /// Format version.
    pub format_version: u32,
    /// Generation of the manifest.
    pub generation: u64,
    /// Documents (deleted ones included until compaction).
    pub documents: u64,
    /// Deleted documents waiting for compaction.
    pub deleted: u64,
    /// Segments.
    pub segments: Vec<SegmentInfo>,
    /// Bytes on disk of all segments.
    pub bytes: u64,
    /// LSH bands × rows.
    pub lsh: crate::lsh::LshParams,
    /// The settings.
    pub settings: IndexSettings,
}

/// Describes the index in `dir`.
///
/// # Errors
/// Not an index, damaged segments.
pub fn info(dir: &Path) -> Result<IndexInfo, RunError> {
    let reader = IndexReader::open(dir).map_err(io_err("opening the index"))?;
    let preparer = Preparer::new(&reader.manifest.settings).map_err(|e| invalid(e.to_string()))?;
    let segments: Vec<SegmentInfo> = reader
        .segments
        .iter()
        .map(|s| SegmentInfo {
            name: s.entry.name.clone(),
            base: s.entry.base,
            documents: s.entry.docs,
            postings: s.meta.postings,
            pairs: s.meta.pairs,
            bytes: s.disk_bytes(),
        })
        .collect();
    Ok(IndexInfo {
        format_version: reader.manifest.format_version,
        generation: reader.manifest.generation,
        documents: u64::from(reader.len()),
        deleted: reader.manifest.deleted.len() as u64,
        bytes: segments.iter().map(|s| s.bytes).sum(),
        segments,
        lsh: preparer.fingerprinter().lsh(),
        settings: reader.manifest.settings.clone(),
    })
}
