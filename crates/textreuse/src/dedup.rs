//! Document-level near-duplicate detection, end to end: read → normalize → shingle → MinHash → LSH candidates →
//! exact verification → union-find clusters → outputs.
//!
//! Memory grows with the number of documents, not with their text: after fingerprinting a document only its id,
//! length and LSH band keys stay in memory (and, until the first pass ends, a 128-bit hash of its text and its set
//! hash: ~60 bytes), and its shingle set goes to a [`SetStore`] (memory up to a budget, then a spill file; stored
//! once for documents with the same text or set); the deduplicated corpus is written by reading the input a second
//! time.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::cluster::Clusters;
pub use crate::core::dedup::DedupOptions;
use crate::core::dedup::{
    find_duplicates_listing, DocumentTable, FingerprintTimes, Fingerprinter, FirstOfSet, ShingleSets, VerifiedListing,
    VerifiedPair,
};
use crate::io::SetStore;
use crate::io::{
    direct_lead, parse_record, AtomicWriter, Input, LineSegment, Payload, RawRecord, ReadOptions, RecordReader,
    SkipReason,
};
use crate::lsh::LshParams;
use crate::pipeline::{ioe, record_digest, scan_spooling, spawn_reader, InputReport, JobContext, RunError, StageTime};
use crate::progress::Progress;
use crate::records::{CandidateRecord, ClusterRecord, PairRecord, TextRecord};
use crate::verify::PairStats;

/// Settings of a `dedup` run: the algorithm's settings ([`DedupOptions`], flattened into `summary.json`'s
/// `config`) and the job's own.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DedupConfig {
    /// How records are read.
    pub read: ReadOptions,
    /// Normalization, shingles, MinHash LSH, duplicate rules, known boilerplate.
    #[serde(flatten)]
    pub options: DedupOptions,
    /// Turn any skipped record into an error.
    pub strict: bool,
    /// Bytes of shingle sets kept in memory for verification; beyond, sets spill to a temporary file in the
    /// output directory.
    pub memory_budget: usize,
    /// Also write `candidates.jsonl`: every verified candidate pair with its statistics, duplicate or not.
    pub write_candidates: bool,
    /// Write `deduplicated.jsonl` (the default). Without it the run writes the clusters, pairs, skipped records
    /// and summary only, and does not read its input a second time: for a pipeline that drops the removed
    /// documents itself (by the `clusters.jsonl` flags), and what the Python anchors of `bench/` write.
    #[serde(default = "yes")]
    pub write_deduplicated: bool,
    /// Absolute path of the boilerplate list loaded into `options.boilerplate`, recorded in `summary.json` (what
    /// `report` uses to see the documents as the run saw them).
    pub boilerplate_list: Option<String>,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            read: ReadOptions::default(),
            options: DedupOptions::default(),
            strict: false,
            memory_budget: 1 << 30,
            write_candidates: false,
            write_deduplicated: true,
            boilerplate_list: None,
        }
    }
}

fn yes() -> bool {
    true
}

impl DedupConfig {
    /// The Jaccard similarity the LSH index is tuned for ([`DedupOptions::effective_lsh_threshold`]).
    pub fn effective_lsh_threshold(&self) -> f64 {
        self.options.effective_lsh_threshold()
    }

    /// True when verified statistics make a pair a duplicate ([`DedupOptions::is_duplicate`]).
    pub fn is_duplicate(&self, s: &PairStats) -> bool {
        self.options.is_duplicate(s)
    }
}

/// One of the largest clusters, reported to spot chaining.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ClusterInfo {
    /// The cluster id (its representative's id).
    pub cluster: String,
    /// Number of documents.
    pub size: u32,
}

/// What a run did; written as `summary.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DedupSummary {
    /// Version of the output formats (`textreuse_core::records::SCHEMA_VERSION`).
    #[serde(default)]
    pub schema_version: u32,
    /// Inputs, records read, skipped records and encodings.
    #[serde(flatten)]
    pub input: InputReport,
    /// Documents fingerprinted.
    pub documents: u64,
    /// Documents whose shingle set equals an earlier document's.
    pub exact_duplicates: u64,
    /// Candidate pairs from LSH (after exact duplicates were folded).
    pub candidate_pairs: u64,
    /// Candidate pairs not verified because both documents were already in one cluster of at least
    /// `config.large_cluster` documents (a pair sharing buckets in several bands counts once per such band).
    #[serde(default)]
    pub candidate_pairs_not_verified: u64,
    /// Verified duplicate pairs (including exact duplicates).
    pub duplicate_pairs: u64,
    /// Bytes of shingle sets spilled to disk (beyond the memory budget).
    pub spilled_bytes: u64,
    /// Clusters of two documents or more.
    pub clusters: u64,
    /// Documents in a cluster that are not its representative.
    pub documents_removed: u64,
    /// Documents kept: those written to `deduplicated.jsonl` (or that would be, without it).
    pub documents_kept: u64,
    /// The largest clusters (up to 10).
    pub largest_clusters: Vec<ClusterInfo>,
    /// LSH bands × rows.
    pub lsh: LshParams,
    /// The Jaccard similarity LSH was tuned for.
    pub lsh_threshold: f64,
    /// The settings.
    pub config: DedupConfig,
    /// Time per stage.
    pub stages: BTreeMap<String, StageTime>,
    /// Wall-clock seconds of the whole run.
    pub total_seconds: f64,
}

struct DocMeta {
    seq: u64,
    id: String,
    chars: u64,
    utf8: bool,
    /// [`crate::pipeline::record_digest`] of the record as the first pass read it.
    digest: u64,
    /// Bytes of the record in `deduplicated.jsonl` when known from the first pass (a UTF-8 JSONL line: the line and
    /// its line end, [`write_kept_record`]).
    out_bytes: Option<u64>,
}

/// What the first pass makes of one document: its fingerprint, or the index of an earlier document with the same
/// text (hence the same fingerprint), not fingerprinted again.
enum Fingerprinted {
    New(crate::core::dedup::Fingerprint),
    SameAs(u32),
}

/// The spill store as the shingle sets of [`find_duplicates`].
struct Spilled<'a>(&'a SetStore);

impl ShingleSets for Spilled<'_> {
    type Error = io::Error;

    fn set_len(&self, doc: usize) -> usize {
        self.0.set_len(doc)
    }

    fn read<'a>(&'a self, doc: usize, buf: &'a mut Vec<u32>) -> io::Result<&'a [u32]> {
        if let Some(set) = self.0.get(doc) {
            return Ok(set);
        }
        self.0.read_into(doc, buf)?;
        Ok(buf)
    }
}

/// Runs `dedup` over `inputs`, writing `clusters.jsonl`, `pairs.jsonl`, `deduplicated.jsonl` (unless
/// `cfg.write_deduplicated` is false), `skipped.jsonl` and `summary.json` into `out_dir` (created if needed), each
/// atomically.
///
/// # Errors
/// I/O errors on the outputs or the spill file; in strict mode, the first skipped record; invalid settings.
pub fn run(
    inputs: &[Input],
    out_dir: &Path,
    cfg: &DedupConfig,
    progress: &dyn Progress,
) -> Result<DedupSummary, RunError> {
    // The normalization tables are built on the pool while the LSH parameters are chosen and the first records
    // are read.
    crate::core::text::normalize::prepare_in_background(&cfg.options.normalize);
    let fingerprinter = Fingerprinter::new(&cfg.options).map_err(|e| RunError::Config(e.to_string()))?;
    let mut ctx = JobContext::create("dedup", inputs, out_dir)?;

    let lsh_threshold = cfg.effective_lsh_threshold();
    let lsh = fingerprinter.lsh();

    // Pass 1: fingerprint.
    let t = Instant::now();
    let cpu = FingerprintTimes::default();
    let mut store = SetStore::new(ctx.dir(), cfg.memory_budget);
    let mut metas: Vec<DocMeta> = Vec::new();
    let mut table = DocumentTable::new(lsh.bands);
    // Texts already fingerprinted, by a 128-bit hash of their bytes (XXH3), with the first document that has each:
    // a later document with the same text has the same fingerprint, so it is not fingerprinted again when the
    // earlier one is already here, and its shingle set is stored once in any case ([`SetStore::push_same_as`]).
    // Filled by this thread as it takes documents in input order, read by the workers: every document in it comes
    // before the ones they are fingerprinting. Which documents skip the fingerprinting depends on timing; what
    // each document gets, and so every output, does not.
    let texts: std::sync::RwLock<rustc_hash::FxHashMap<u128, u32>> = Default::default();
    // The first document with each set: a later one with an equal set is an exact duplicate of it, never verified,
    // so its set is stored as that one's.
    let mut first_of_set = FirstOfSet::default();
    // Pass 2 reads the inputs again (streams from their spools) to write the deduplicated corpus.
    let scan = scan_spooling(
        inputs,
        &cfg.read,
        cfg.strict,
        "fingerprint",
        progress,
        cfg.write_deduplicated,
        |doc| {
            let text = xxhash_rust::xxh3::xxh3_128(doc.text.as_bytes());
            let utf8 = doc.encoding == "UTF-8";
            if let Some(&d) = texts.read().expect("text map lock").get(&text) {
                return Ok((Fingerprinted::SameAs(d), text, utf8));
            }
            let fp = fingerprinter.fingerprint_timed(&doc.text, &cpu).ok_or(SkipReason::NoContent)?;
            Ok((Fingerprinted::New(fp), text, utf8))
        },
        |item| {
            let (fp, text, utf8) = item.value;
            let d = u32::try_from(metas.len()).map_err(|_| RunError::Config("over 2^32 documents".into()))?;
            // The earlier document with this text, if any (a document fingerprinted while that one still was has its
            // fingerprint dropped here); else this one's fingerprint, and it becomes the document of its text.
            let fp = match fp {
                Fingerprinted::SameAs(e) => Err(e),
                Fingerprinted::New(fp) => match *texts.write().expect("text map lock").entry(text).or_insert(d) {
                    e if e != d => Err(e),
                    _ => Ok(fp),
                },
            };
            let chars = match fp {
                Err(e) => {
                    store.push_same_as(e as usize).map_err(ioe("storing a shingle set"))?;
                    table.push_same_as(e as usize).map_err(|e| RunError::Config(e.to_string()))?;
                    metas[e as usize].chars
                }
                Ok(mut fp) => {
                    match first_of_set.earlier(fp.set_hash, fp.shingles.len(), d) {
                        Some(first) => store.push_same_as(first as usize).map_err(ioe("storing a shingle set"))?,
                        None => store
                            .push_vec(std::mem::take(&mut fp.shingles))
                            .map_err(ioe("writing the shingle set spill file"))?,
                    };
                    table.push(&fp).map_err(|e| RunError::Config(e.to_string()))?;
                    fp.chars
                }
            };
            let out_bytes = item.line_bytes.filter(|_| utf8).map(|b| b + 1);
            metas.push(DocMeta { seq: item.seq, id: item.id, chars, utf8, digest: item.digest, out_bytes });
            Ok(())
        },
    )?;
    drop((texts, first_of_set));
    store.finish().map_err(ioe("flushing the shingle set spill file"))?;
    let input = ctx.input_report(&scan, inputs)?;
    let bytes_read = scan.bytes_read;
    let wall = t.elapsed().as_secs_f64();
    let mbps = |w: f64| if w > 0.0 { Some(bytes_read as f64 / 1e6 / w) } else { None };
    ctx.stage("read+fingerprint", StageTime { wall_seconds: wall, cpu_seconds: None, mb_per_second: mbps(wall) });
    for (name, c) in [("normalize", &cpu.normalize), ("shingle", &cpu.shingle), ("minhash", &cpu.minhash)] {
        let s = c.load(Ordering::Relaxed) as f64 / 1e9;
        ctx.stage(
            name,
            StageTime {
                wall_seconds: s / rayon::current_num_threads() as f64,
                cpu_seconds: Some(s),
                mb_per_second: mbps(s),
            },
        );
    }

    // Exact duplicates, LSH candidates, verification and clusters: the pipeline of the in-memory `Deduper`.
    let n = metas.len();
    // Every verified pair with its statistics only when candidates.jsonl lists them.
    let listing = if cfg.write_candidates { VerifiedListing::All } else { VerifiedListing::Needed };
    let found = find_duplicates_listing(table, &Spilled(&store), &cfg.options, listing, progress)
        .map_err(ioe("reading the shingle set spill file"))?;
    ctx.stage("lsh", StageTime::wall(found.seconds.lsh));
    ctx.stage("verify", StageTime::wall(found.seconds.verify));
    ctx.stage("cluster", StageTime::wall(found.seconds.cluster));
    let (clusters, duplicates, verified) = (&found.clusters, &found.duplicates, &found.verified);

    // Outputs: clusters.jsonl and pairs.jsonl on a thread of their own, beside the deduplicated corpus.
    let t = Instant::now();
    if cfg.write_candidates {
        write_candidates(&ctx.path("candidates.jsonl"), &metas, &store, verified)
            .map_err(ioe("writing candidates.jsonl"))?;
    }
    let spilled_bytes = store.spilled_bytes();
    // Freed here, before the second pass, and on this thread: the pass's pages (the deduplicated corpus in the page
    // cache above all) then come from the sets' just-freed ones, where on this project's virtual machines (free page
    // reporting, nested virtualization) memory the guest has not touched lately costs a fault on the host too. On the
    // 1 GB corpus, with the sets freed after the pass, `copy_folio_from_iter_atomic` took 0.81-0.84 s of CPU in it
    // against 0.05-0.21 s; freed on a thread beside it, its allocations took 0.14-0.19 s in `_int_malloc` against
    // 0.07-0.08 s (`bench/RESULTS.md`, eighteenth session).
    drop(store);

    // Pass 2: the deduplicated corpus, read again from the input.
    let kept_docs: Vec<&DocMeta> = (0..n).filter(|&d| clusters.is_kept(d)).map(|d| &metas[d]).collect();
    let kept_seqs: Vec<(u64, bool, u64)> = kept_docs.iter().map(|m| (m.seq, m.utf8, m.digest)).collect();
    // Where each kept record goes in the output, when every one's size is known ([`write_deduplicated_in_place`]).
    let kept_sizes: Option<Vec<u64>> = kept_docs.iter().map(|m| m.out_bytes).collect();
    drop(kept_docs);
    progress.start("write", scan.total_bytes.filter(|_| cfg.write_deduplicated), "bytes");
    let mut reader = scan.reader;
    let (clusters_path, pairs_path, dedup_path) =
        (ctx.path("clusters.jsonl"), ctx.path("pairs.jsonl"), ctx.path("deduplicated.jsonl"));
    let (listed, documents_kept) = std::thread::scope(|s| {
        let listed = s.spawn(|| -> Result<(), RunError> {
            write_clusters(&clusters_path, &metas, clusters).map_err(ioe("writing clusters.jsonl"))?;
            write_pairs(&pairs_path, &metas, duplicates).map_err(ioe("writing pairs.jsonl"))
        });
        let kept = match reader.line_segments() {
            // Without deduplicated.jsonl the input is not read again.
            _ if !cfg.write_deduplicated => Ok(kept_seqs.len() as u64),
            // JSONL files only: each read again on its own, several at once.
            Some(segments) => match &kept_sizes {
                Some(sizes) => {
                    write_deduplicated_in_place(&dedup_path, &segments, &kept_seqs, sizes, &cfg.read, progress)
                }
                None => write_deduplicated_segments(&dedup_path, &segments, &kept_seqs, &cfg.read, progress),
            },
            None => reader
                .reopen(inputs)
                .and_then(|again| write_deduplicated(&dedup_path, again, &kept_seqs, &cfg.read, progress)),
        };
        (listed.join().expect("output thread panicked"), kept)
    });
    listed?;
    let documents_kept = documents_kept.map_err(ioe("writing deduplicated.jsonl"))?;
    progress.finish();
    ctx.stage("write", StageTime::wall(t.elapsed().as_secs_f64()));

    let mut largest: Vec<(u32, u32)> =
        (0..n).filter(|&d| clusters.size[d] > 1 && clusters.is_kept(d)).map(|d| (clusters.size[d], d as u32)).collect();
    largest.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    largest.truncate(10);

    let summary = DedupSummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        documents: n as u64,
        exact_duplicates: found.exact_duplicates,
        candidate_pairs: found.candidate_pairs,
        candidate_pairs_not_verified: found.candidate_pairs_not_verified,
        duplicate_pairs: duplicates.len() as u64,
        spilled_bytes,
        clusters: clusters.duplicate_clusters() as u64,
        documents_removed: (n as u64) - documents_kept,
        documents_kept,
        largest_clusters: largest
            .into_iter()
            .map(|(size, d)| ClusterInfo { cluster: metas[d as usize].id.clone(), size })
            .collect(),
        lsh,
        lsh_threshold,
        config: cfg.clone(),
        stages: ctx.stages(),
        total_seconds: ctx.elapsed(),
    };
    ctx.finish(&summary)?;
    Ok(summary)
}

/// Writes `record(i)` for `i` in `0..n` as JSON lines to `w`, in order, the same bytes as
/// [`AtomicWriter::write_json_line`] one after another: the lines are made on the rayon pool, chunks of
/// `LINES_PER_CHUNK` at a time (a few chunks per thread, so memory stays at a few MB), and written in order, so that
/// the outputs at the end of a run do not leave all but one core idle.
///
/// # Errors
/// On I/O errors (and on a record serde_json cannot write, which the records here never are).
fn write_json_lines<T: Serialize>(
    w: &mut AtomicWriter,
    n: usize,
    record: impl Fn(usize) -> T + Sync,
) -> io::Result<()> {
    use rayon::prelude::*;
    const LINES_PER_CHUNK: usize = 4096;
    let window = LINES_PER_CHUNK * 4 * rayon::current_num_threads().max(1);
    let mut start = 0;
    while start < n {
        let end = (start + window).min(n);
        let chunks: Vec<io::Result<Vec<u8>>> = (start..end)
            .into_par_iter()
            .step_by(LINES_PER_CHUNK)
            .map(|first| {
                let mut buf = Vec::with_capacity(LINES_PER_CHUNK * 64);
                for i in first..(first + LINES_PER_CHUNK).min(end) {
                    serde_json::to_writer(&mut buf, &record(i))?;
                    buf.push(b'\n');
                }
                Ok(buf)
            })
            .collect();
        for chunk in chunks {
            w.write_all(&chunk?)?;
        }
        start = end;
    }
    Ok(())
}

fn write_clusters(path: &Path, metas: &[DocMeta], clusters: &Clusters) -> io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    write_json_lines(&mut w, metas.len(), |d| {
        let rep = clusters.representative[d] as usize;
        ClusterRecord {
            id: metas[d].id.clone(),
            cluster: metas[rep].id.clone(),
            size: clusters.size[d],
            representative: rep == d,
        }
    })?;
    w.commit()
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn write_pairs(path: &Path, metas: &[DocMeta], pairs: &[VerifiedPair]) -> io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    write_json_lines(&mut w, pairs.len(), |i| {
        let VerifiedPair { a, b, stats: s } = pairs[i];
        PairRecord {
            a: metas[a as usize].id.clone(),
            b: metas[b as usize].id.clone(),
            jaccard: round4(s.jaccard),
            containment: round4(s.containment),
        }
    })?;
    w.commit()
}

fn write_candidates(path: &Path, metas: &[DocMeta], store: &SetStore, pairs: &[VerifiedPair]) -> io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    write_json_lines(&mut w, pairs.len(), |i| {
        let VerifiedPair { a, b, stats: s } = pairs[i];
        let (a, b) = (a as usize, b as usize);
        CandidateRecord {
            a: metas[a].id.clone(),
            b: metas[b].id.clone(),
            a_shingles: store.set_len(a),
            b_shingles: store.set_len(b),
            a_chars: metas[a].chars,
            b_chars: metas[b].chars,
            intersection: s.intersection,
            jaccard: round4(s.jaccard),
            containment: round4(s.containment),
        }
    })?;
    w.commit()
}

/// The error of a second pass that finds another record than the first pass read at `at`.
fn input_changed(at: &dyn std::fmt::Display) -> io::Error {
    io::Error::other(format!(
        "{at}: the input changed since the first pass read it (a file modified or replaced during the run?); \
         nothing was written"
    ))
}

/// Writes one kept record to `out` as `deduplicated.jsonl` has it: a JSONL record as its original line (every
/// field passed through unchanged; a line in a legacy encoding as its UTF-8 text), a text file as `{"id", "text"}`.
/// `utf8`: the first pass found the record valid UTF-8.
///
/// # Errors
/// I/O errors of `out`; an error for a record that could not be read (the input changed).
fn write_kept_record(raw: &RawRecord, utf8: bool, read: &ReadOptions, out: &mut impl Write) -> io::Result<()> {
    match &raw.payload {
        // Validated as UTF-8 in the first pass: copied as it is.
        Payload::JsonLine(bytes) if utf8 => {
            out.write_all(bytes)?;
            out.write_all(b"\n")
        }
        Payload::JsonLine(bytes) => {
            // A line in a legacy encoding: its decoded text is the same JSON in UTF-8 (numbers keep their literal
            // text).
            let (text, _, _) = crate::io::decode_bytes(bytes).map_err(|e| io::Error::other(e.to_string()))?;
            out.write_all(text.trim_end().as_bytes())?;
            out.write_all(b"\n")
        }
        Payload::File { .. } => {
            let doc = parse_record(raw, read).map_err(|s| io::Error::other(s.to_string()))?;
            serde_json::to_writer(&mut *out, &TextRecord { id: doc.id, text: doc.text })?;
            out.write_all(b"\n")
        }
        Payload::Unreadable(_) | Payload::Refused { .. } => Err(input_changed(&raw.location)),
    }
}

/// Writes the records whose `seq` is in `kept` (sorted, with whether the record was valid UTF-8 and its digest
/// from the first pass), in input order, as [`write_kept_record`] does. Returns the number written.
///
/// # Errors
/// I/O errors; and an error when a record differs from the one the first pass read, or the input ends before every
/// kept record was seen: the input changed between the two passes, and the output would mix records.
/// The kept records of a second reading of the input, matched one by one: `kept` holds `(sequence number, was
/// UTF-8, record digest)` of each kept record, sorted by sequence number, and the records of the second reading come
/// in sequence order (the whole input, or one segment of it with `kept` cut to that segment).
struct KeptCursor<'a> {
    kept: &'a [(u64, bool, u64)],
    next: usize,
}

impl KeptCursor<'_> {
    /// Whether every kept record has been matched.
    fn done(&self) -> bool {
        self.next >= self.kept.len()
    }

    /// `Some(was UTF-8)` when `raw` is the next kept record (its digest checked), `None` when it is not kept.
    ///
    /// # Errors
    /// The input changed since the first pass: the reading passed a kept record's sequence number without
    /// producing it, or the record's digest differs.
    fn take(&mut self, raw: &RawRecord) -> io::Result<Option<bool>> {
        let Some(&(seq, utf8, digest)) = self.kept.get(self.next) else { return Ok(None) };
        if seq < raw.seq {
            return Err(input_changed(&format!("record {} of the input", seq + 1)));
        }
        if seq != raw.seq {
            return Ok(None);
        }
        if record_digest(raw) != digest {
            return Err(input_changed(&raw.location));
        }
        self.next += 1;
        Ok(Some(utf8))
    }

    /// # Errors
    /// The input changed: the reading ended before the next kept record.
    fn finish(&self) -> io::Result<()> {
        match self.kept.get(self.next) {
            Some(k) => Err(input_changed(&format!("record {} of the input", k.0 + 1))),
            None => Ok(()),
        }
    }
}

fn write_deduplicated(
    path: &Path,
    reader: RecordReader,
    kept: &[(u64, bool, u64)],
    read: &ReadOptions,
    progress: &dyn Progress,
) -> io::Result<u64> {
    let mut w = AtomicWriter::create(path)?;
    let mut cursor = KeptCursor { kept, next: 0 };
    let mut written = 0u64;
    let disk = reader.disk_bytes();
    let mut disk_seen = 0u64;
    // Decompression and line splitting on their own thread, ahead of this one.
    let (batches, reading) = spawn_reader(reader);
    'batches: for raw in batches.iter().flatten() {
        let now = disk.load(Ordering::Relaxed);
        progress.inc(now.saturating_sub(disk_seen));
        disk_seen = now;
        if cursor.done() {
            break 'batches;
        }
        if let Some(utf8) = cursor.take(&raw)? {
            write_kept_record(&raw, utf8, read, &mut w)?;
            written += 1;
        }
    }
    // The reading thread stops once `batches` is gone.
    drop(batches);
    reading.join().expect("reader thread panicked");
    cursor.finish()?;
    w.commit()?;
    Ok(written)
}

/// Output lines of consecutive kept records of one segment, with their count.
#[derive(Default)]
struct Piece {
    bytes: Vec<u8>,
    records: u64,
}

/// A piece is handed to the writer once it holds this many bytes.
const PIECE_BYTES: usize = 1 << 20;

/// Buffers of pieces the writer is done with, for the next pieces: a fresh buffer of a megabyte is a fresh mapping
/// whose every page is faulted in and zeroed (on the 1 GB corpus, 500 of them), a buffer given back is memory
/// already in place. Holds at most [`PieceBuffers::KEPT`] buffers.
#[derive(Default)]
struct PieceBuffers(Mutex<Vec<Vec<u8>>>);

impl PieceBuffers {
    /// Buffers kept at most (more would only hold memory: the writer gives back one buffer per piece).
    const KEPT: usize = 8;

    /// An empty buffer with room for a piece: a given-back one when there is one.
    fn take(&self) -> Vec<u8> {
        let given = self.0.lock().ok().and_then(|mut v| v.pop());
        given.unwrap_or_else(|| Vec::with_capacity(PIECE_BYTES + (64 << 10)))
    }

    /// Keeps `bytes` (emptied) for a later piece, unless enough are kept.
    fn give_back(&self, mut bytes: Vec<u8>) {
        if let Ok(mut v) = self.0.lock() {
            if v.len() < Self::KEPT {
                bytes.clear();
                v.push(bytes);
            }
        }
    }
}

/// Pieces of one segment waiting for the writer, at most.
const PIECES_AHEAD: usize = 64;

/// Which segment the next free worker reads, which one the writer writes, and whether to stop.
struct Claims {
    next: usize,
    writing: usize,
    stop: bool,
    senders: Vec<Option<mpsc::SyncSender<io::Result<Piece>>>>,
}

/// [`write_deduplicated`] over JSONL files that the first pass read to their end ([`RecordReader::line_segments`]):
/// each segment (a file, or a run of lines of an uncompressed one) is read again, decompressed and filtered on one
/// of `rayon::current_num_threads()` worker threads, up to one more segment than workers ahead of the one being
/// written; this thread writes the pieces in input order (at most [`PIECES_AHEAD`] pieces of about [`PIECE_BYTES`]
/// wait per segment). The output is byte for byte that of [`write_deduplicated`]. A segment without kept records is
/// not read again.
///
/// # Errors
/// As [`write_deduplicated`]; a file that cannot be opened again.
fn write_deduplicated_segments(
    path: &Path,
    segments: &[LineSegment],
    kept: &[(u64, bool, u64)],
    read: &ReadOptions,
    progress: &dyn Progress,
) -> io::Result<u64> {
    let workers = rayon::current_num_threads().clamp(1, segments.len().max(1));
    let lookahead = workers + 1;
    let disk = Arc::new(AtomicU64::new(0));
    let mut w = AtomicWriter::create(path)?;
    let (senders, receivers): (Vec<_>, Vec<_>) = segments
        .iter()
        .map(|_| {
            let (tx, rx) = mpsc::sync_channel::<io::Result<Piece>>(PIECES_AHEAD);
            (Some(tx), rx)
        })
        .unzip();
    let claims = Mutex::new(Claims { next: 0, writing: 0, stop: false, senders });
    let turn = Condvar::new();
    let spare = PieceBuffers::default();
    let written = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let (j, tx) = {
                    let mut c = claims.lock().expect("claims");
                    while !c.stop && c.next < segments.len() && c.next >= c.writing + lookahead {
                        c = turn.wait(c).expect("claims");
                    }
                    if c.stop || c.next >= segments.len() {
                        return;
                    }
                    let j = c.next;
                    c.next += 1;
                    (j, c.senders[j].take().expect("one claim per segment"))
                };
                if let Err(e) = filter_segment(&segments[j], kept, read, &disk, &tx, &spare) {
                    let _ = tx.send(Err(e));
                }
                // `tx` dropped: the end of segment `j` for the writer.
            });
        }
        let write = || -> io::Result<u64> {
            let (mut written, mut disk_seen) = (0u64, 0u64);
            for (j, rx) in receivers.into_iter().enumerate() {
                claims.lock().expect("claims").writing = j;
                turn.notify_all();
                for piece in rx {
                    let piece = piece?;
                    w.write_all(&piece.bytes)?;
                    written += piece.records;
                    spare.give_back(piece.bytes);
                    let now = disk.load(Ordering::Relaxed);
                    progress.inc(now.saturating_sub(disk_seen));
                    disk_seen = now;
                }
            }
            Ok(written)
        };
        // On an error the receivers left are dropped with `write`: the workers' sends fail and they stop.
        let written = write();
        claims.lock().expect("claims").stop = true;
        turn.notify_all();
        written
    })?;
    w.commit()?;
    Ok(written)
}

/// [`write_deduplicated_segments`] when the first pass knew the size of every kept record's output (`sizes`, by
/// kept record; [`DocMeta::out_bytes`]): each kept record's place in the file follows, so the segments are read and
/// filtered on `rayon::current_num_threads()` threads, any segment on any thread, and their pieces written at their
/// places, in whatever order they come, by one more thread, past the page cache when the output has
/// [`UNCACHED_OUTPUT_MIN`] bytes or more ([`AtomicWriter::write_at_uncached`]). The output is byte for byte that of
/// [`write_deduplicated`].
///
/// # Errors
/// As [`write_deduplicated`], for any segment's records; a segment whose kept records take another number of bytes
/// than the first pass said (the input changed).
fn write_deduplicated_in_place(
    path: &Path,
    segments: &[LineSegment],
    kept: &[(u64, bool, u64)],
    sizes: &[u64],
    read: &ReadOptions,
    progress: &dyn Progress,
) -> io::Result<u64> {
    // starts[k]: where kept record k begins; starts[kept.len()]: the file's size.
    let mut starts = Vec::with_capacity(kept.len() + 1);
    starts.push(0u64);
    for &b in sizes {
        starts.push(starts[starts.len() - 1] + b);
    }
    let w = AtomicWriter::create(path)?;
    let workers = rayon::current_num_threads().clamp(1, segments.len().max(1));
    let (next, disk, disk_seen) = (AtomicUsize::new(0), Arc::new(AtomicU64::new(0)), AtomicU64::new(0));
    let first_error: Mutex<Option<io::Error>> = Mutex::new(None);
    let record_error = |e: io::Error| {
        if let Ok(mut first) = first_error.lock() {
            first.get_or_insert(e);
        }
    };
    let spare = PieceBuffers::default();
    // Small outputs stay in the page cache: their direct writes would wait for the disk at the end of a short run
    // (zh-dev's 10.5 MB: 4-8 ms more wall).
    let uncached = starts[kept.len()] >= UNCACHED_OUTPUT_MIN;
    std::thread::scope(|s| {
        // The pieces go to their places from a thread of their own: a direct write (a large output) waits for the
        // disk, which the workers' reading and filtering need not do.
        let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, usize, u64)>(PIECES_IN_FLIGHT);
        let (w, spare, record_error, first_error) = (&w, &spare, &record_error, &first_error);
        s.spawn(move || {
            for (bytes, lead, at) in rx {
                // After an error the pieces are only taken off the channel, so that no worker waits on it.
                let failed = first_error.lock().map(|e| e.is_some()).unwrap_or(true);
                if !failed {
                    let piece = &bytes[lead..];
                    let written = if uncached { w.write_at_uncached(piece, at) } else { w.write_at(piece, at) };
                    if let Err(e) = written {
                        record_error(e);
                    }
                }
                spare.give_back(bytes);
            }
        });
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, disk, disk_seen, starts) = (&next, &disk, &disk_seen, &starts);
            s.spawn(move || {
                let mut buf = spare.take();
                loop {
                    let failed = first_error.lock().map(|e| e.is_some()).unwrap_or(true);
                    let Some(segment) = segments.get(next.fetch_add(1, Ordering::Relaxed)).filter(|_| !failed) else {
                        return;
                    };
                    if let Err(e) = write_segment_in_place(segment, kept, starts, read, disk, &tx, spare, &mut buf) {
                        record_error(e);
                        return;
                    }
                    let now = disk.load(Ordering::Relaxed);
                    progress.inc(now.saturating_sub(disk_seen.fetch_max(now, Ordering::Relaxed)));
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().map_err(|_| io::Error::other("a writer thread panicked"))? {
        return Err(e);
    }
    w.commit()?;
    Ok(kept.len() as u64)
}

/// The least deduplicated corpus written past the page cache ([`write_deduplicated_in_place`]).
const UNCACHED_OUTPUT_MIN: u64 = 64 << 20;

/// Pieces on their way to the thread that writes them in place ([`write_deduplicated_in_place`]), at most.
const PIECES_IN_FLIGHT: usize = 4;

/// Reads `segment` again and sends the output lines of its kept records, with their places in the file (`starts`, by
/// kept record, as [`write_deduplicated_in_place`] made them), to `tx` in pieces of about [`PIECE_BYTES`], `buf`
/// holding the piece being filled and `spare` the buffers for the next ones. Each piece's lines start after a lead
/// of a few bytes, sent with it ([`direct_lead`]): their address and their place in the file are then equal modulo
/// the block of direct writes, which go out without a copy (1.4% of a 1 GB run's CPU samples).
///
/// # Errors
/// As [`write_deduplicated`], for this segment's records; lines that do not end where the next segment's begin; a
/// writing thread that is gone.
#[allow(clippy::too_many_arguments)]
fn write_segment_in_place(
    segment: &LineSegment,
    kept: &[(u64, bool, u64)],
    starts: &[u64],
    read: &ReadOptions,
    disk: &Arc<AtomicU64>,
    tx: &mpsc::SyncSender<(Vec<u8>, usize, u64)>,
    spare: &PieceBuffers,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    // Empties `buf` and puts in it the lead of a piece that goes at `at`.
    let lead = |buf: &mut Vec<u8>, at: u64| {
        buf.clear();
        buf.resize(direct_lead(buf.as_ptr(), at), 0);
        buf.len()
    };
    let range = kept_of_segment(segment, kept);
    let (mut at, end) = (starts[range.start], starts[range.end]);
    let mut this_lead = lead(buf, at);
    kept_lines_of_segment(segment, &kept[range.clone()], read, disk, buf, |bytes, _| {
        let len = (bytes.len() - this_lead) as u64;
        let mut next = spare.take();
        let next_lead = lead(&mut next, at + len);
        let full = std::mem::replace(bytes, next);
        tx.send((full, this_lead, at))
            .map_err(|_| io::Error::other("the thread writing deduplicated.jsonl stopped"))?;
        (at, this_lead) = (at + len, next_lead);
        Ok(true)
    })?;
    if at != end {
        return Err(input_changed(&format!("record {} of the input", kept[range.end - 1].0 + 1)));
    }
    Ok(())
}

/// The positions in `kept` (sorted by sequence number) of the kept records of `segment`.
fn kept_of_segment(segment: &LineSegment, kept: &[(u64, bool, u64)]) -> std::ops::Range<usize> {
    let end = segment.end_seq.unwrap_or(segment.first_seq);
    kept.partition_point(|k| k.0 < segment.first_seq)..kept.partition_point(|k| k.0 < end)
}

/// Reads `segment` again and hands the output lines of its kept records (`kept`, cut to the segment), as
/// [`write_kept_record`] writes them, to `emit` about [`PIECE_BYTES`] at a time: `buf` with the lines of the piece,
/// which `emit` leaves empty (or holding the next piece's lead) for the next one, and their number. The lines are
/// appended to what `buf` holds when called (nothing, or a lead). Stops early, without an error, when `emit` returns
/// `Ok(false)`. A segment without kept records is not read.
///
/// # Errors
/// As [`write_deduplicated`], for this segment's records; the errors of `emit`.
fn kept_lines_of_segment(
    segment: &LineSegment,
    kept: &[(u64, bool, u64)],
    read: &ReadOptions,
    disk: &Arc<AtomicU64>,
    buf: &mut Vec<u8>,
    mut emit: impl FnMut(&mut Vec<u8>, u64) -> io::Result<bool>,
) -> io::Result<()> {
    if kept.is_empty() {
        return Ok(());
    }
    let reader = RecordReader::segment(segment, read.max_doc_bytes, disk.clone())?;
    let mut cursor = KeptCursor { kept, next: 0 };
    let mut records = 0u64;
    for raw in reader {
        if cursor.done() {
            break;
        }
        let Some(utf8) = cursor.take(&raw)? else { continue };
        write_kept_record(&raw, utf8, read, &mut *buf)?;
        records += 1;
        if buf.len() >= PIECE_BYTES {
            if !emit(buf, records)? {
                return Ok(());
            }
            records = 0;
        }
    }
    cursor.finish()?;
    if records > 0 {
        emit(buf, records)?;
    }
    Ok(())
}

/// Sends the output lines of the kept records of `segment` to `tx` in pieces, as [`write_deduplicated`] writes them.
/// Returns early, without an error, once the writer is gone.
///
/// # Errors
/// As [`write_deduplicated`], for this segment's records.
fn filter_segment(
    segment: &LineSegment,
    kept: &[(u64, bool, u64)],
    read: &ReadOptions,
    disk: &Arc<AtomicU64>,
    tx: &mpsc::SyncSender<io::Result<Piece>>,
    spare: &PieceBuffers,
) -> io::Result<()> {
    let range = kept_of_segment(segment, kept);
    if range.is_empty() {
        return Ok(());
    }
    let mut bytes = spare.take();
    let sent = kept_lines_of_segment(segment, &kept[range], read, disk, &mut bytes, |bytes, records| {
        let full = std::mem::replace(bytes, spare.take());
        Ok(tx.send(Ok(Piece { bytes: full, records })).is_ok())
    });
    spare.give_back(bytes);
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Location;
    use crate::progress::NoProgress;

    fn line(seq: u64, text: &str) -> RawRecord {
        RawRecord {
            seq,
            location: Location { file: Arc::from("in.jsonl"), line: Some(seq + 1) },
            payload: Payload::JsonLine(text.as_bytes().to_vec()),
        }
    }

    #[test]
    fn json_lines_made_in_parallel_are_the_lines_written_one_by_one() {
        // Counts around a chunk (4,096 lines) and a window of chunks, and records with strings to escape.
        let dir = tempfile::tempdir().expect("temporary directory");
        let window = 4096 * 4 * rayon::current_num_threads().max(1);
        for n in [0usize, 1, 4095, 4096, 4097, 3 * 4096 + 5, window, window + 1, 2 * window + 4097] {
            let record = |i: usize| PairRecord {
                a: format!("doc-{i}\"\\\u{7}é"),
                b: format!("{}", i * 7919 % 1_000_003),
                jaccard: (i % 10_000) as f64 / 9_999.0,
                containment: 1.0 / (i + 1) as f64,
            };
            let (one, all) = (dir.path().join(format!("one-{n}.jsonl")), dir.path().join(format!("all-{n}.jsonl")));
            let mut w = AtomicWriter::create(&one).expect("writer");
            for i in 0..n {
                w.write_json_line(&record(i)).expect("line");
            }
            w.commit().expect("commit");
            let mut w = AtomicWriter::create(&all).expect("writer");
            write_json_lines(&mut w, n, record).expect("lines");
            w.commit().expect("commit");
            let (want, got) = (std::fs::read(&one).expect("read"), std::fs::read(&all).expect("read"));
            assert_eq!(got.iter().filter(|&&c| c == b'\n').count(), n);
            assert!(got == want, "{n} lines differ");
        }
    }

    #[test]
    fn the_three_ways_of_writing_the_deduplicated_corpus_write_the_same_bytes() {
        // A plain file cut into many segments, a compressed one, and a file with a line in GB18030 (not UTF-8): read
        // again one by one, in segments through one writer, and in place (the UTF-8 files only).
        let dir = tempfile::tempdir().expect("temporary directory");
        let text = |i: usize| format!("{{\"id\": \"d{i}\", \"text\": \"{}\"}}", "字 word ".repeat(i % 23));
        let plain: String = (0..300).map(|i| text(i) + if i % 5 == 0 { "\r\n\n" } else { "\n" }).collect();
        std::fs::write(dir.path().join("a.jsonl"), &plain).expect("write");
        let packed: String = (300..400).map(|i| text(i) + "\n").collect();
        let zst = zstd::encode_all(packed.as_bytes(), 3).expect("zstd");
        std::fs::write(dir.path().join("b.jsonl.zst"), zst).expect("write");
        let (legacy, _, _) = encoding_rs::GB18030.encode("{\"id\": \"g\", \"text\": \"中文字\"}\n");
        std::fs::write(
            dir.path().join("c.jsonl"),
            [b"{\"id\": \"h\", \"text\": \"x\"}\n".as_slice(), &legacy].concat(),
        )
        .expect("write");
        let read = ReadOptions::default();
        for with_legacy in [false, true] {
            let mut names = vec!["a.jsonl", "b.jsonl.zst"];
            if with_legacy {
                names.push("c.jsonl");
            }
            let inputs: Vec<Input> = names.iter().map(|n| Input::Jsonl(dir.path().join(n))).collect();
            let mut reader = RecordReader::new(&inputs).segment_bytes(500);
            let records: Vec<RawRecord> = reader.by_ref().collect();
            let segments = reader.line_segments().expect("JSONL files read to their end");
            assert!(segments.len() > 20, "{} segments", segments.len());
            // Two records of three kept, with their first-pass facts.
            let kept_records: Vec<&RawRecord> = records.iter().filter(|r| r.seq % 3 != 1).collect();
            let utf8 = |r: &RawRecord| matches!(&r.payload, Payload::JsonLine(b) if std::str::from_utf8(b).is_ok());
            let kept: Vec<(u64, bool, u64)> = kept_records.iter().map(|r| (r.seq, utf8(r), record_digest(r))).collect();
            let (one, pieces, placed) =
                (dir.path().join("one.jsonl"), dir.path().join("pieces.jsonl"), dir.path().join("placed.jsonl"));
            let again = RecordReader::new(&inputs);
            write_deduplicated(&one, again, &kept, &read, &NoProgress).expect("one by one");
            write_deduplicated_segments(&pieces, &segments, &kept, &read, &NoProgress).expect("pieces");
            let want = std::fs::read(&one).expect("read");
            assert_eq!(want.iter().filter(|&&c| c == b'\n').count(), kept.len());
            assert!(std::fs::read(&pieces).expect("read") == want, "pieces, legacy line: {with_legacy}");
            if !with_legacy {
                let sizes: Vec<u64> = kept_records
                    .iter()
                    .map(|r| match &r.payload {
                        Payload::JsonLine(b) => b.len() as u64 + 1,
                        _ => unreachable!("JSONL records only"),
                    })
                    .collect();
                write_deduplicated_in_place(&placed, &segments, &kept, &sizes, &read, &NoProgress).expect("in place");
                assert!(std::fs::read(&placed).expect("read") == want, "in place");
                // A size the first pass got wrong (the input changed): an error, and no file.
                let mut wrong = sizes.clone();
                wrong[kept.len() / 2] += 1;
                let _ = std::fs::remove_file(&placed);
                let err = write_deduplicated_in_place(&placed, &segments, &kept, &wrong, &read, &NoProgress);
                assert!(err.expect_err("a wrong size").to_string().contains("changed"));
                assert!(!placed.exists());
            }
        }
    }

    #[test]
    fn a_kept_record_missing_or_changed_in_the_second_reading_is_an_error() {
        let records: Vec<RawRecord> = (0..5).map(|i| line(i, &format!("{{\"id\":{i}}}"))).collect();
        let kept: Vec<(u64, bool, u64)> =
            [1u64, 3].iter().map(|&i| (i, true, record_digest(&records[i as usize]))).collect();

        // The same input: records 1 and 3 matched, the others not kept, nothing left.
        let mut cursor = KeptCursor { kept: &kept, next: 0 };
        let matched: Vec<u64> = records.iter().filter(|r| cursor.take(r).unwrap().is_some()).map(|r| r.seq).collect();
        assert_eq!(matched, [1, 3]);
        assert!(cursor.done());
        assert!(cursor.finish().is_ok());

        // Record 1 missing from the second reading: an error, not a record dropped silently.
        let mut cursor = KeptCursor { kept: &kept, next: 0 };
        assert!(cursor.take(&records[0]).unwrap().is_none());
        let err = cursor.take(&records[2]).unwrap_err();
        assert!(err.to_string().contains("record 2 of the input"), "{err}");

        // Record 3 changed.
        let mut cursor = KeptCursor { kept: &kept, next: 0 };
        assert_eq!(cursor.take(&records[1]).unwrap(), Some(true));
        assert!(cursor.take(&line(3, "{\"id\":\"other\"}")).unwrap_err().to_string().contains("changed"));

        // The reading ends before record 3.
        let mut cursor = KeptCursor { kept: &kept, next: 0 };
        for r in &records[..3] {
            cursor.take(r).unwrap();
        }
        assert!(!cursor.done());
        assert!(cursor.finish().unwrap_err().to_string().contains("record 4 of the input"));
    }
}
