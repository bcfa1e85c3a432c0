//! The `substrings` job over a corpus: reading, the per-document algorithm of [`textreuse_core::substrings`] (re-exported
//! here), and the outputs.

use std::collections::BTreeMap;

use serde::Serialize;

use textreuse_core::align::UnitDoc;
use textreuse_core::shingle::window_fingerprints;
use textreuse_io::runs::{BlobStore, PostingBuckets};

use crate::passages::{encode_units, UNIT_BYTES};
use crate::pipeline::ioe;
use textreuse_core::records::{SubstringRecord, TextRecord};
pub use textreuse_core::substrings::*;

/// Settings of a `substrings` run.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SubstringsConfig {
    /// How records are read.
    pub read: crate::io::ReadOptions,
    /// Normalization before unit splitting.
    pub normalize: crate::normalize::NormalizeOptions,
    /// Shortest repeated substring, in units.
    pub min_length: usize,
    /// Also write `deduplicated.jsonl` without the later occurrences.
    pub remove: bool,
    /// Units per shard: documents are cut into consecutive shards of at most this many units, each with its own
    /// suffix array (about 20 bytes per unit while sorting). Repeats across shards are not found.
    pub shard_units: usize,
    /// Turn any skipped record into an error.
    pub strict: bool,
    /// Memory budget in bytes: when set, the corpus is not held in memory nor cut into shards; units, window
    /// fingerprints and later occurrences spill to anonymous temporary files beside the output, and every repeat
    /// is found, across the whole corpus (the spans of one unsharded in-memory run). `None`: in memory, sharded
    /// by `shard_units`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_budget: Option<u64>,
}

/// What a `substrings` run did; written as `summary.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SubstringsSummary {
    /// Version of the output formats (`textreuse_core::records::SCHEMA_VERSION`).
    #[serde(default)]
    pub schema_version: u32,
    /// Inputs, records read, skipped records and encodings.
    #[serde(flatten)]
    pub input: crate::pipeline::InputReport,
    /// Documents read.
    pub documents: u64,
    /// Units in all documents.
    pub units: u64,
    /// Later occurrences (merged spans) found.
    pub duplicate_spans: u64,
    /// Units inside them.
    pub duplicate_units: u64,
    /// Share of all units inside them.
    pub duplicate_fraction: f64,
    /// Code points of the original texts inside them.
    pub duplicate_chars: u64,
    /// Documents with at least one span.
    pub documents_with_duplicates: u64,
    /// Shards the corpus was cut into (repeats across shards are not found).
    pub shards: u64,
    /// The settings.
    pub config: SubstringsConfig,
    /// Wall-clock seconds per stage.
    pub stages: BTreeMap<String, f64>,
    /// With a memory budget: what went to disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill: Option<SubstringsSpill>,
}

/// Runs `substrings` over `inputs`: `duplicates.jsonl` (every later occurrence, merged per document:
/// `{"id", "start", "end", "units", "first_id", "first_start"}`), with `remove` also `deduplicated.jsonl`
/// (`{"id", "text"}` without them), `skipped.jsonl` and `summary.json` in `out_dir`, each written atomically.
///
/// # Errors
/// I/O errors on the outputs; in strict mode, the first skipped record.
pub fn run(
    inputs: &[crate::io::Input],
    out_dir: &std::path::Path,
    cfg: &SubstringsConfig,
    progress: &dyn crate::progress::Progress,
) -> Result<SubstringsSummary, crate::pipeline::RunError> {
    let t = std::time::Instant::now();
    let mut stages = BTreeMap::new();
    let ctx = crate::pipeline::JobContext::create("substrings", inputs, out_dir)?;
    let mut ids: Vec<String> = Vec::new();
    let mut docs: Vec<UnitDoc> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut spans = Vec::new();
    let mut shards = 0u64;
    let mut spill_report = None;
    let (scan, units, text_store) = if let Some(budget) = cfg.memory_budget {
        // Out of core: units and texts to stores, window fingerprints to hash buckets.
        let budget = budget.max(1 << 10) as usize;
        let mut store = BlobStore::new(ctx.dir(), budget / 10 * 3);
        let mut text_store = BlobStore::new(ctx.dir(), if cfg.remove { budget / 10 } else { 0 });
        let mut windows: PostingBuckets<(u64, u64, u64)> =
            PostingBuckets::with_shift(ctx.dir(), 61 - 8, 256, budget / 10 * 3);
        let mut doc_start = vec![0u64];
        let min_length = cfg.min_length.max(1);
        let scan = crate::pipeline::scan(
            inputs,
            &cfg.read,
            cfg.strict,
            "normalize",
            progress,
            |doc| {
                let u = UnitDoc::new(&doc.text, &cfg.normalize);
                Ok((encode_units(&u), window_fingerprints(&u.ids, min_length), cfg.remove.then_some(doc.text)))
            },
            |item| {
                let (bytes, hashes, text) = item.value;
                ids.push(item.id);
                let base = *doc_start.last().expect("starts with 0");
                doc_start.push(base + (bytes.len() / UNIT_BYTES) as u64);
                store.push(&bytes).map_err(ioe("spilling units"))?;
                if let Some(text) = text {
                    text_store.push(text.as_bytes()).map_err(ioe("spilling texts"))?;
                }
                for (i, (h1, h2)) in hashes.into_iter().enumerate() {
                    windows.push((h1, h2, base + i as u64)).map_err(ioe("spilling window fingerprints"))?;
                }
                Ok(())
            },
        )?;
        store.finish().map_err(ioe("spilling units"))?;
        text_store.finish().map_err(ioe("spilling texts"))?;
        if windows.spilled() {
            windows.spill().map_err(ioe("spilling window fingerprints"))?;
        }
        stages.insert("read+normalize".to_string(), t.elapsed().as_secs_f64());
        let t2 = std::time::Instant::now();
        let mut report = SubstringsSpill { memory_budget: budget as u64, ..SubstringsSpill::default() };
        spans = find_duplicates_budgeted(ctx.dir(), budget, &store, windows, &doc_start, min_length, &mut report)
            .map_err(ioe("finding repeats on disk"))?;
        report.units_bytes = store.spilled_bytes();
        report.texts_bytes = text_store.spilled_bytes();
        spill_report = Some(report);
        shards = 1;
        stages.insert("fingerprints+extensions".to_string(), t2.elapsed().as_secs_f64());
        (scan, *doc_start.last().expect("starts with 0"), Some(text_store))
    } else {
        let scan = crate::pipeline::scan(
            inputs,
            &cfg.read,
            cfg.strict,
            "normalize",
            progress,
            |doc| Ok((UnitDoc::new(&doc.text, &cfg.normalize), cfg.remove.then_some(doc.text))),
            |item| {
                ids.push(item.id);
                docs.push(item.value.0);
                if let Some(text) = item.value.1 {
                    texts.push(text);
                }
                Ok(())
            },
        )?;
        stages.insert("read+normalize".to_string(), t.elapsed().as_secs_f64());
        let t2 = std::time::Instant::now();
        let mut first = 0usize;
        while first < docs.len() {
            let mut last = first;
            let mut units = 0usize;
            while last < docs.len() && (last == first || units + docs[last].len() <= cfg.shard_units.max(1)) {
                units += docs[last].len();
                last += 1;
            }
            for mut sp in find_duplicates(&docs[first..last], cfg.min_length) {
                sp.doc += first as u32;
                sp.first_doc += first as u32;
                spans.push(sp);
            }
            shards += 1;
            first = last;
        }
        stages.insert("suffix array+lcp".to_string(), t2.elapsed().as_secs_f64());
        (scan, docs.iter().map(|d| d.len() as u64).sum(), None)
    };
    let t3 = std::time::Instant::now();
    let mut w =
        crate::io::AtomicWriter::create(&ctx.path("duplicates.jsonl")).map_err(ioe("writing duplicates.jsonl"))?;
    for s in &spans {
        w.write_json_line(&SubstringRecord {
            id: ids[s.doc as usize].clone(),
            start: s.start,
            end: s.end,
            units: s.unit_end - s.unit_start,
            first_id: ids[s.first_doc as usize].clone(),
            first_start: s.first_start,
        })
        .map_err(ioe("writing duplicates.jsonl"))?;
    }
    w.commit().map_err(ioe("writing duplicates.jsonl"))?;
    if cfg.remove {
        let mut w = crate::io::AtomicWriter::create(&ctx.path("deduplicated.jsonl"))
            .map_err(ioe("writing deduplicated.jsonl"))?;
        let mut k = 0;
        let mut buf = Vec::new();
        for d in 0..ids.len() {
            let stored;
            let text = match &text_store {
                Some(st) => {
                    st.read_into(d, &mut buf).map_err(ioe("reading texts"))?;
                    stored = String::from_utf8(std::mem::take(&mut buf))
                        .map_err(|e| ioe("reading texts")(std::io::Error::other(e)))?;
                    &stored
                }
                None => &texts[d],
            };
            let mut ranges = Vec::new();
            while k < spans.len() && spans[k].doc as usize == d {
                ranges.push((spans[k].start, spans[k].end));
                k += 1;
            }
            let kept = remove_spans(text, &ranges);
            w.write_json_line(&TextRecord { id: ids[d].clone(), text: kept })
                .map_err(ioe("writing deduplicated.jsonl"))?;
        }
        w.commit().map_err(ioe("writing deduplicated.jsonl"))?;
    }
    let input = ctx.input_report(&scan, inputs)?;
    stages.insert("write".to_string(), t3.elapsed().as_secs_f64());
    let dup_units: u64 = spans.iter().map(|s| (s.unit_end - s.unit_start) as u64).sum();
    let mut with: Vec<u32> = spans.iter().map(|s| s.doc).collect();
    with.dedup();
    let summary = SubstringsSummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        documents: ids.len() as u64,
        units,
        duplicate_spans: spans.len() as u64,
        duplicate_units: dup_units,
        duplicate_fraction: if units == 0 { 0.0 } else { ((dup_units as f64 / units as f64) * 1e4).round() / 1e4 },
        duplicate_chars: spans.iter().map(|s| (s.end - s.start) as u64).sum(),
        documents_with_duplicates: with.len() as u64,
        shards,
        config: cfg.clone(),
        stages,
        spill: spill_report,
    };
    ctx.finish(&summary)?;
    Ok(summary)
}

/// What a budgeted `substrings` run wrote to disk.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct SubstringsSpill {
    /// The memory budget in bytes.
    pub memory_budget: u64,
    /// Bytes of documents' units written to disk (17 per unit).
    pub units_bytes: u64,
    /// Bytes of original texts written to disk (with `remove`).
    pub texts_bytes: u64,
    /// Bytes of window fingerprints written to disk (24 per unit).
    pub windows_bytes: u64,
    /// Bytes of later occurrences (position, first occurrence) written to disk (16 each).
    pub repeats_bytes: u64,
    /// Position ranges the later occurrences were processed in.
    pub ranges: u64,
}

/// A cursor over one document's unit ids in the unit store, read in windows of `chunk` units.
struct IdCursor<'a> {
    store: &'a BlobStore,
    chunk: usize,
    doc: usize,
    len: usize,
    /// Unit offset of `ids[0]`.
    at: usize,
    ids: Vec<u64>,
    buf: Vec<u8>,
}

impl<'a> IdCursor<'a> {
    fn new(store: &'a BlobStore, chunk: usize) -> IdCursor<'a> {
        IdCursor { store, chunk, doc: usize::MAX, len: 0, at: 0, ids: Vec::new(), buf: Vec::new() }
    }

    /// Unit `i` of document `doc` (of `len` units).
    fn get(&mut self, doc: usize, len: usize, i: usize) -> std::io::Result<u64> {
        if doc != self.doc || i < self.at || i >= self.at + self.ids.len() {
            let n = (len - i).min(self.chunk);
            self.store.read_at(doc, 8 * i, 8 * n, &mut self.buf)?;
            self.ids.clear();
            self.ids.extend(self.buf.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))));
            (self.doc, self.len, self.at) = (doc, len, i);
        }
        Ok(self.ids[i - self.at])
    }
}

/// [`find_duplicates`] over documents in a unit store, in bounded memory: the same spans.
///
/// Every maximal group of suffixes sharing at least `min_length` units in the suffix array is the set of positions
/// where one window of `min_length` units starts; its first position is kept and every other position `p` is
/// marked up to `p` plus its longest common extension with the kept one. So: (1) the 122-bit fingerprint of every
/// window (rolling hashes) goes with its position to hash buckets on disk; (2) each bucket, sorted, gives for each
/// later occurrence its first occurrence, and these pairs go to buckets by position range; (3) each range in order
/// computes the extensions (each from the previous one where the occurrence continues the previous one's copy, as
/// in Kasai's algorithm, else by comparing units read from the store) and sweeps the marks into spans.
fn find_duplicates_budgeted(
    dir: &std::path::Path,
    budget: usize,
    store: &BlobStore,
    windows: PostingBuckets<(u64, u64, u64)>,
    doc_start: &[u64],
    min_length: usize,
    spill: &mut SubstringsSpill,
) -> std::io::Result<Vec<DuplicateSpan>> {
    use rayon::slice::ParallelSliceMut;
    let mut windows = windows;
    let total = *doc_start.last().expect("starts with 0");
    let l = min_length.max(1) as u64;
    // Position ranges of at most `width` units, whose later occurrences (16 bytes each) fit in a third of the
    // budget.
    let width_bits = ((budget / 3 / 16).max(1 << 10) as u64).ilog2().min(40);
    let ranges = (total >> width_bits) as usize + 1;
    let mut repeats: PostingBuckets<(u64, u64)> = PostingBuckets::with_shift(dir, width_bits, ranges, budget / 3);
    let per_pass = (budget / 3 / 24).max(1) as u64;
    let mut part: Vec<(u64, u64, u64)> = Vec::new();
    for b in 0..windows.buckets() {
        let passes = windows.bucket_len(b).div_ceil(per_pass).max(1);
        for k in 0..passes {
            part.clear();
            let keep = |h: u64| passes == 1 || h % passes == k;
            windows.take_bucket(b, keep, k + 1 == passes, &mut part)?;
            part.par_sort_unstable();
            for g in part.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
                for r in &g[1..] {
                    repeats.push((r.2, g[0].2))?;
                }
            }
        }
    }
    spill.windows_bytes = windows.spilled_bytes();
    drop(windows);
    drop(part);
    let doc_of = |p: u64| doc_start.partition_point(|&s| s <= p) - 1;
    let len_of = |d: usize| (doc_start[d + 1] - doc_start[d]) as usize;
    // The later occurrences advance through their documents; the first occurrences jump: short windows.
    let mut ca = IdCursor::new(store, 4096);
    let mut cb = IdCursor::new(store, 256);
    let mut out = Vec::new();
    let mut spans_buf = Vec::new();
    let span_at = |d: usize, u: usize, buf: &mut Vec<u8>| -> std::io::Result<(u32, u32)> {
        store.read_at(d, 8 * len_of(d) + 8 * u, 8, buf)?;
        Ok((u32::from_le_bytes(buf[..4].try_into().expect("4")), u32::from_le_bytes(buf[4..8].try_into().expect("4"))))
    };
    // The open span: start, end (global positions), first occurrence of its first unit.
    let mut open: Option<(u64, u64, u64)> = None;
    let mut close = |s: u64, e: u64, first: u64, out: &mut Vec<DuplicateSpan>| -> std::io::Result<()> {
        let d = doc_of(s);
        let (us, ue) = ((s - doc_start[d]) as usize, (e - doc_start[d]) as usize);
        let start = span_at(d, us, &mut spans_buf)?.0;
        let end = span_at(d, ue - 1, &mut spans_buf)?.1;
        let fd = doc_of(first);
        let first_start = span_at(fd, (first - doc_start[fd]) as usize, &mut spans_buf)?.0;
        out.push(DuplicateSpan {
            doc: d as u32,
            unit_start: us as u32,
            unit_end: ue as u32,
            start,
            end,
            first_doc: fd as u32,
            first_start,
        });
        Ok(())
    };
    let mut recs: Vec<(u64, u64)> = Vec::new();
    // The previous later occurrence, its first occurrence and its extension.
    let mut prev: Option<(u64, u64, u64)> = None;
    for r in 0..repeats.buckets() {
        recs.clear();
        repeats.take_bucket(r, |_| true, true, &mut recs)?;
        recs.par_sort_unstable();
        for &(p, keep) in &recs {
            let lcp = match prev {
                Some((pp, pk, pl)) if pp + 1 == p && pk + 1 == keep && pl > l => pl - 1,
                _ => {
                    let (dp, dk) = (doc_of(p), doc_of(keep));
                    let (ip, ik) = ((p - doc_start[dp]) as usize, (keep - doc_start[dk]) as usize);
                    let (np, nk) = (len_of(dp), len_of(dk));
                    let mut h = l as usize;
                    while ip + h < np && ik + h < nk && ca.get(dp, np, ip + h)? == cb.get(dk, nk, ik + h)? {
                        h += 1;
                    }
                    h as u64
                }
            };
            prev = Some((p, keep, lcp));
            let e = p + lcp;
            match open {
                Some((s, oe, f)) if p < oe => open = Some((s, oe.max(e), f)),
                Some((s, oe, f)) => {
                    close(s, oe, f, &mut out)?;
                    open = Some((p, e, keep));
                }
                None => open = Some((p, e, keep)),
            }
        }
    }
    if let Some((s, e, f)) = open {
        close(s, e, f, &mut out)?;
    }
    spill.repeats_bytes = repeats.spilled_bytes();
    spill.ranges = ranges as u64;
    Ok(out)
}
