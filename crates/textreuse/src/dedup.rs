//! Document-level near-duplicate detection, end to end: read → normalize → shingle → MinHash → LSH candidates →
//! exact verification → union-find clusters → outputs.
//!
//! Memory grows with the number of documents, not with their text: after fingerprinting a document only its id,
//! length and LSH band keys stay in memory, and its shingle set goes to a [`SetStore`] (memory up to a budget,
//! then a spill file); the deduplicated corpus is
//! written by reading the input a second time.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::cluster::{attach_partial_copies, Clusters, Keep};
use crate::io::SetStore;
use crate::io::{parse_record, AtomicWriter, Document, Input, Payload, ReadOptions, RecordReader, SkipReason};
use crate::lsh::{candidate_pairs, LshParams};
use crate::minhash::MinHasher;
use crate::normalize::{normalize_text_into, NormalizeOptions};
use crate::pipeline::{ioe, record_digest, scan, InputReport, JobContext, RunError, StageTime};
use crate::progress::Progress;
use crate::records::{CandidateRecord, ClusterRecord, PairRecord, TextRecord};
use crate::shingle::{shingle_set_of_text, ShingleBuffers};
use crate::verify::{pair_stats, PairStats};

/// Settings of a `dedup` run.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DedupConfig {
    /// How records are read.
    pub read: ReadOptions,
    /// Normalization before shingling.
    pub normalize: NormalizeOptions,
    /// Units per shingle.
    pub ngram: usize,
    /// Values per MinHash signature.
    pub num_perm: usize,
    /// A verified pair with Jaccard similarity at least this is a duplicate.
    pub threshold: f64,
    /// A verified pair whose containment (`|A ∩ B| / min(|A|, |B|)`) is at least this is also a duplicate, when
    /// set. This catches reprints cut short.
    pub containment_threshold: Option<f64>,
    /// Partial reprints: a document whose containment in at least two members of one cluster reaches this value
    /// joins the cluster (a reprint cut short). `None` switches it off.
    pub partial_containment: Option<f64>,
    /// Jaccard similarity the LSH bands are tuned for; lower than `threshold` so that containment-only pairs
    /// become candidates. `None`: derived from the thresholds.
    pub lsh_threshold: Option<f64>,
    /// Seed of the shingle hashes and the MinHash.
    pub seed: u64,
    /// Which member of a cluster is kept.
    pub keep: Keep,
    /// Buckets larger than this pair each member with the next `max_bucket` members only.
    pub max_bucket: usize,
    /// Turn any skipped record into an error.
    pub strict: bool,
    /// Bytes of shingle sets kept in memory for verification; beyond, sets spill to a temporary file in the
    /// output directory.
    pub memory_budget: usize,
    /// Also write `candidates.jsonl`: every verified candidate pair with its statistics, duplicate or not.
    pub write_candidates: bool,
    /// Known boilerplate, blanked before shingling.
    #[serde(skip)]
    pub boilerplate: Option<std::sync::Arc<crate::boilerplate::BoilerplateFilter>>,
    /// Absolute path of the boilerplate list loaded into `boilerplate`, recorded in `summary.json` (what `report`
    /// uses to see the documents as the run saw them).
    pub boilerplate_list: Option<String>,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            read: ReadOptions::default(),
            normalize: NormalizeOptions::default(),
            ngram: 4,
            num_perm: 128,
            threshold: 0.45,
            containment_threshold: None,
            partial_containment: Some(0.9),
            lsh_threshold: None,
            seed: 42,
            keep: Keep::First,
            max_bucket: 256,
            strict: false,
            memory_budget: 1 << 30,
            write_candidates: false,
            boilerplate: None,
            boilerplate_list: None,
        }
    }
}

impl DedupConfig {
    /// The Jaccard similarity the LSH index is tuned for.
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

    /// True when verified statistics make a pair a duplicate.
    pub fn is_duplicate(&self, s: &PairStats) -> bool {
        s.jaccard >= self.threshold || self.containment_threshold.is_some_and(|c| s.containment >= c)
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
    /// Verified duplicate pairs (including exact duplicates).
    pub duplicate_pairs: u64,
    /// Bytes of shingle sets spilled to disk (beyond the memory budget).
    pub spilled_bytes: u64,
    /// Clusters of two documents or more.
    pub clusters: u64,
    /// Documents in a cluster that are not its representative.
    pub documents_removed: u64,
    /// Documents written to `deduplicated.jsonl`.
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

struct Fingerprint {
    chars: u64,
    /// The record was valid UTF-8 as read (its line can be copied to the output unchecked).
    utf8: bool,
    set: Vec<u64>,
    keys: Vec<u64>,
    set_hash: u64,
}

struct DocMeta {
    seq: u64,
    id: String,
    chars: u64,
    utf8: bool,
    /// [`crate::pipeline::record_digest`] of the record as the first pass read it.
    digest: u64,
}

#[derive(Default)]
struct CpuTimes {
    normalize: AtomicU64,
    shingle: AtomicU64,
    minhash: AtomicU64,
}

fn timed<T>(counter: &AtomicU64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    counter.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
    r
}

/// Runs `dedup` over `inputs`, writing `clusters.jsonl`, `pairs.jsonl`, `deduplicated.jsonl`, `skipped.jsonl` and
/// `summary.json` into `out_dir` (created if needed), each atomically.
///
/// # Errors
/// I/O errors on the outputs or the spill file; in strict mode, the first skipped record; invalid settings.
pub fn run(
    inputs: &[Input],
    out_dir: &Path,
    cfg: &DedupConfig,
    progress: &dyn Progress,
) -> Result<DedupSummary, RunError> {
    if cfg.ngram == 0 || cfg.num_perm == 0 {
        return Err(RunError::Config("--ngram and --num-perm must be at least 1".into()));
    }
    if !(0.0..=1.0).contains(&cfg.threshold) || cfg.containment_threshold.is_some_and(|c| !(0.0..=1.0).contains(&c)) {
        return Err(RunError::Config("thresholds must lie in [0, 1]".into()));
    }
    let mut ctx = JobContext::create("dedup", inputs, out_dir)?;

    let lsh_threshold = cfg.effective_lsh_threshold();
    // False negatives cost recall for good; false positives only cost a verification: weigh misses more.
    let lsh = LshParams::optimal(lsh_threshold, cfg.num_perm, 0.3, 0.7);
    let hasher = MinHasher::new(cfg.num_perm, cfg.seed);

    // Pass 1: fingerprint.
    let t = Instant::now();
    let cpu = CpuTimes::default();
    let mut store = SetStore::new(ctx.dir(), cfg.memory_budget);
    let mut metas: Vec<DocMeta> = Vec::new();
    let mut keys: Vec<u64> = Vec::new();
    let mut set_hashes: Vec<(u64, u32)> = Vec::new();
    let scan = scan(
        inputs,
        &cfg.read,
        cfg.strict,
        "fingerprint",
        progress,
        |doc| fingerprint(doc, cfg, &lsh, &hasher, &cpu),
        |item| {
            let d = store.push(&item.value.set).map_err(ioe("writing the shingle set spill file"))?;
            set_hashes.push((item.value.set_hash, d as u32));
            keys.extend_from_slice(&item.value.keys);
            metas.push(DocMeta {
                seq: item.seq,
                id: item.id,
                chars: item.value.chars,
                utf8: item.value.utf8,
                digest: item.digest,
            });
            Ok(())
        },
    )?;
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

    // Exact duplicates: equal shingle sets. Only the first of each group enters LSH.
    let t = Instant::now();
    let n = metas.len();
    set_hashes.sort_unstable();
    let mut canonical: Vec<u32> = (0..n as u32).collect();
    let mut exact_pairs: Vec<(u32, u32)> = Vec::new();
    for group in set_hashes.chunk_by(|a, b| a.0 == b.0) {
        let first = group[0].1;
        for &(_, d) in &group[1..] {
            if store.set_len(d as usize) == store.set_len(first as usize) {
                canonical[d as usize] = first;
                exact_pairs.push((first, d));
            }
        }
    }
    drop(set_hashes);
    let lsh_docs: Vec<u32> = (0..n as u32).filter(|&d| canonical[d as usize] == d).collect();
    let mut lsh_keys = Vec::with_capacity(lsh_docs.len() * lsh.bands);
    for &d in &lsh_docs {
        lsh_keys.extend_from_slice(&keys[d as usize * lsh.bands..(d as usize + 1) * lsh.bands]);
    }
    drop(keys);
    let candidates: Vec<(u32, u32)> = candidate_pairs(&lsh_keys, lsh.bands, cfg.max_bucket)
        .into_iter()
        .map(|(a, b)| (lsh_docs[a as usize], lsh_docs[b as usize]))
        .collect();
    drop(lsh_keys);
    ctx.stage("lsh", StageTime::wall(t.elapsed().as_secs_f64()));

    // Verify every candidate on the exact shingle sets.
    let t = Instant::now();
    progress.start("verify", Some(candidates.len() as u64), "pairs");
    let verified: Vec<((u32, u32), PairStats)> = candidates
        .par_chunks(1024)
        .map(|chunk| -> io::Result<Vec<((u32, u32), PairStats)>> {
            let mut out = Vec::with_capacity(chunk.len());
            let (mut a_buf, mut b_buf) = (Vec::new(), Vec::new());
            let mut loaded_a = u32::MAX;
            for &(a, b) in chunk {
                if a != loaded_a {
                    store.read_into(a as usize, &mut a_buf)?;
                    loaded_a = a;
                }
                store.read_into(b as usize, &mut b_buf)?;
                out.push(((a, b), pair_stats(&a_buf, &b_buf)));
            }
            progress.inc(chunk.len() as u64);
            Ok(out)
        })
        .collect::<io::Result<Vec<_>>>()
        .map_err(ioe("reading the shingle set spill file"))?
        .into_iter()
        .flatten()
        .collect();
    progress.finish();
    ctx.stage("verify", StageTime::wall(t.elapsed().as_secs_f64()));

    // Cluster.
    let t = Instant::now();
    let exact_stats = PairStats { intersection: 0, jaccard: 1.0, containment: 1.0 };
    let mut duplicates: Vec<((u32, u32), PairStats)> = exact_pairs
        .iter()
        .map(|&p| (p, PairStats { intersection: store.set_len(p.0 as usize) as u64, ..exact_stats }))
        .chain(verified.iter().filter(|(_, s)| cfg.is_duplicate(s)).copied())
        .collect();
    if let Some(pc) = cfg.partial_containment {
        let contained: Vec<(u32, u32)> = verified
            .iter()
            .filter(|(_, s)| !cfg.is_duplicate(s) && s.containment >= pc)
            .map(|&((a, b), _)| if store.set_len(a as usize) <= store.set_len(b as usize) { (a, b) } else { (b, a) })
            .collect();
        let attach = attach_partial_copies(n, duplicates.iter().map(|&(p, _)| p), &contained, 2);
        let stats: std::collections::HashMap<(u32, u32), PairStats> = verified.iter().copied().collect();
        for (s, l) in attach {
            let key = (s.min(l), s.max(l));
            duplicates.push((key, stats[&key]));
        }
    }
    duplicates.sort_unstable_by_key(|&(p, _)| p);
    let lengths: Vec<u64> = metas.iter().map(|m| m.chars).collect();
    let clusters = Clusters::from_pairs(n, duplicates.iter().map(|&(p, _)| p), cfg.keep, &lengths);
    ctx.stage("cluster", StageTime::wall(t.elapsed().as_secs_f64()));

    // Outputs.
    let t = Instant::now();
    write_clusters(&ctx.path("clusters.jsonl"), &metas, &clusters).map_err(ioe("writing clusters.jsonl"))?;
    write_pairs(&ctx.path("pairs.jsonl"), &metas, &duplicates).map_err(ioe("writing pairs.jsonl"))?;
    if cfg.write_candidates {
        write_candidates(&ctx.path("candidates.jsonl"), &metas, &store, &verified)
            .map_err(ioe("writing candidates.jsonl"))?;
    }
    let spilled_bytes = store.spilled_bytes();
    drop(store);

    // Pass 2: the deduplicated corpus, read again from the input.
    let kept_seqs: Vec<(u64, bool, u64)> =
        (0..n).filter(|&d| clusters.is_kept(d)).map(|d| (metas[d].seq, metas[d].utf8, metas[d].digest)).collect();
    progress.start("write", scan.total_bytes, "bytes");
    let mut reader = scan.reader;
    let again = reader.reopen(inputs).map_err(ioe("reopening the input"))?;
    let documents_kept = write_deduplicated(&ctx.path("deduplicated.jsonl"), again, &kept_seqs, &cfg.read, progress)
        .map_err(ioe("writing deduplicated.jsonl"))?;
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
        exact_duplicates: exact_pairs.len() as u64,
        candidate_pairs: candidates.len() as u64,
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

fn fingerprint(
    doc: Document,
    cfg: &DedupConfig,
    lsh: &LshParams,
    hasher: &MinHasher,
    cpu: &CpuTimes,
) -> Result<Fingerprint, SkipReason> {
    let text = match &cfg.boilerplate {
        Some(f) => f.apply(&doc.text),
        None => std::borrow::Cow::Borrowed(doc.text.as_str()),
    };
    let (chars, set) = BUFFERS.with_borrow_mut(|(norm, scratch, ids)| {
        let chars = timed(&cpu.normalize, || normalize_text_into(&text, &cfg.normalize, norm, scratch));
        let set = timed(&cpu.shingle, || shingle_set_of_text(norm, cfg.ngram, cfg.seed, ids));
        // Keep the buffers of ordinary documents only.
        if norm.capacity() > 1 << 24 {
            (*norm, *scratch, *ids) = Default::default();
        }
        (chars, set)
    });
    if set.is_empty() {
        return Err(SkipReason::NoContent);
    }
    let (keys, set_hash) = timed(&cpu.minhash, || {
        let sig = hasher.signature(&set);
        let mut h = xxhash_rust::xxh3::Xxh3::with_seed(cfg.seed);
        for v in &set {
            h.update(&v.to_le_bytes());
        }
        (lsh.band_keys(&sig), h.digest())
    });
    Ok(Fingerprint { chars: chars as u64, utf8: doc.encoding == "UTF-8", set, keys, set_hash })
}

thread_local! {
    /// Working memory of [`fingerprint`], one per thread: the normalized text, the script conversion's buffer and
    /// the unit ids.
    static BUFFERS: std::cell::RefCell<(String, String, ShingleBuffers)> = std::cell::RefCell::default();
}

fn write_clusters(path: &Path, metas: &[DocMeta], clusters: &Clusters) -> io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    for (d, m) in metas.iter().enumerate() {
        let rep = clusters.representative[d] as usize;
        w.write_json_line(&ClusterRecord {
            id: m.id.clone(),
            cluster: metas[rep].id.clone(),
            size: clusters.size[d],
            representative: rep == d,
        })?;
    }
    w.commit()
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn write_pairs(path: &Path, metas: &[DocMeta], pairs: &[((u32, u32), PairStats)]) -> io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    for &((a, b), s) in pairs {
        w.write_json_line(&PairRecord {
            a: metas[a as usize].id.clone(),
            b: metas[b as usize].id.clone(),
            jaccard: round4(s.jaccard),
            containment: round4(s.containment),
        })?;
    }
    w.commit()
}

fn write_candidates(
    path: &Path,
    metas: &[DocMeta],
    store: &SetStore,
    pairs: &[((u32, u32), PairStats)],
) -> io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    for &((a, b), s) in pairs {
        let (a, b) = (a as usize, b as usize);
        w.write_json_line(&CandidateRecord {
            a: metas[a].id.clone(),
            b: metas[b].id.clone(),
            a_shingles: store.set_len(a),
            b_shingles: store.set_len(b),
            a_chars: metas[a].chars,
            b_chars: metas[b].chars,
            intersection: s.intersection,
            jaccard: round4(s.jaccard),
            containment: round4(s.containment),
        })?;
    }
    w.commit()
}

/// Writes the records whose `seq` is in `kept` (sorted, with whether the record was valid UTF-8 and its digest
/// from the first pass), in input order: a JSONL record as its original line (every field passed through
/// unchanged; a line in a legacy encoding as its UTF-8 text), a text file as `{"id", "text"}`. Returns the number
/// written.
///
/// # Errors
/// I/O errors; and an error when a record differs from the one the first pass read, or the input ends before every
/// kept record was seen: the input changed between the two passes, and the output would mix records.
fn write_deduplicated(
    path: &Path,
    reader: RecordReader,
    kept: &[(u64, bool, u64)],
    read: &ReadOptions,
    progress: &dyn Progress,
) -> io::Result<u64> {
    let changed = |at: &dyn std::fmt::Display| {
        io::Error::other(format!(
            "{at}: the input changed since the first pass read it (a file modified or replaced during the run?); \
             nothing was written"
        ))
    };
    let mut w = AtomicWriter::create(path)?;
    let mut next = 0usize;
    let mut written = 0u64;
    let disk = reader.disk_bytes();
    let mut disk_seen = 0u64;
    for raw in reader {
        let now = disk.load(Ordering::Relaxed);
        progress.inc(now.saturating_sub(disk_seen));
        disk_seen = now;
        while next < kept.len() && kept[next].0 < raw.seq {
            next += 1;
        }
        if next >= kept.len() {
            break;
        }
        let (seq, utf8, digest) = kept[next];
        if seq != raw.seq {
            continue;
        }
        if record_digest(&raw) != digest {
            return Err(changed(&raw.location));
        }
        match &raw.payload {
            // Validated as UTF-8 in the first pass: copied as it is.
            Payload::JsonLine(bytes) if utf8 => {
                w.write_all(bytes)?;
                w.write_all(b"\n")?;
            }
            Payload::JsonLine(bytes) => {
                // A line in a legacy encoding: its decoded text is the same JSON in UTF-8 (numbers keep their
                // literal text).
                let (text, _, _) = crate::io::decode_bytes(bytes).map_err(|e| io::Error::other(e.to_string()))?;
                w.write_all(text.trim_end().as_bytes())?;
                w.write_all(b"\n")?;
            }
            Payload::File { .. } => {
                let doc = parse_record(&raw, read).map_err(|s| io::Error::other(s.to_string()))?;
                w.write_json_line(&TextRecord { id: doc.id, text: doc.text })?;
            }
            Payload::Unreadable(_) | Payload::Refused { .. } => return Err(changed(&raw.location)),
        }
        written += 1;
        next += 1;
    }
    if next < kept.len() {
        return Err(changed(&format!("record {} of the input", kept[next].0 + 1)));
    }
    w.commit()?;
    Ok(written)
}
