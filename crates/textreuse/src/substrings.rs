//! The `substrings` job over a corpus: reading, the per-document algorithm of [`textreuse_core::substrings`] (re-exported
//! here), and the outputs.

use std::collections::BTreeMap;

use serde::Serialize;

use textreuse_core::align::UnitDoc;
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
    use crate::pipeline::ioe;
    let t = std::time::Instant::now();
    let mut stages = BTreeMap::new();
    let ctx = crate::pipeline::JobContext::create("substrings", inputs, out_dir)?;
    let mut ids: Vec<String> = Vec::new();
    let mut docs: Vec<UnitDoc> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
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
    let mut spans = Vec::new();
    let mut shards = 0u64;
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
        for (d, text) in texts.iter().enumerate() {
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
    let units: u64 = docs.iter().map(|d| d.len() as u64).sum();
    let dup_units: u64 = spans.iter().map(|s| (s.unit_end - s.unit_start) as u64).sum();
    let mut with: Vec<u32> = spans.iter().map(|s| s.doc).collect();
    with.dedup();
    let summary = SubstringsSummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        documents: docs.len() as u64,
        units,
        duplicate_spans: spans.len() as u64,
        duplicate_units: dup_units,
        duplicate_fraction: if units == 0 { 0.0 } else { ((dup_units as f64 / units as f64) * 1e4).round() / 1e4 },
        duplicate_chars: spans.iter().map(|s| (s.end - s.start) as u64).sum(),
        documents_with_duplicates: with.len() as u64,
        shards,
        config: cfg.clone(),
        stages,
    };
    ctx.finish(&summary)?;
    Ok(summary)
}
