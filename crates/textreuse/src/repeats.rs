//! The `repeats` job over a corpus: reading, the per-document algorithm of [`textreuse_core::repeats`] (re-exported
//! here), and the outputs.

use std::collections::BTreeMap;

use serde::Serialize;

use textreuse_core::records::{RepeatsRecord, TextRecord};
pub use textreuse_core::repeats::*;

/// Settings of a `repeats` run over a corpus.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RepeatsRunConfig {
    /// How records are read.
    pub read: crate::io::ReadOptions,
    /// Detection settings.
    pub repeat: RepeatConfig,
    /// Also write `stripped.jsonl`.
    pub strip: bool,
    /// Turn any skipped record into an error.
    pub strict: bool,
}

/// What a `repeats` run did; written as `summary.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RepeatsSummary {
    /// Version of the output formats (`textreuse_core::records::SCHEMA_VERSION`).
    #[serde(default)]
    pub schema_version: u32,
    /// Inputs, records read, skipped records and encodings.
    #[serde(flatten)]
    pub input: crate::pipeline::InputReport,
    /// Documents analysed.
    pub documents: u64,
    /// Documents with at least one repeat.
    pub documents_with_repeats: u64,
    /// Later copies found, by kind.
    pub repeats: BTreeMap<String, u64>,
    /// Code points removed by `--strip`.
    pub stripped_chars: u64,
    /// The settings.
    pub config: RepeatsRunConfig,
    /// Wall-clock seconds.
    pub total_seconds: f64,
}

/// Runs `repeats` over `inputs`: `repeats.jsonl` (one line per document: `{"id", "metrics", "repeats"}`),
/// `stripped.jsonl` with `strip` (`{"id", "text"}`, later copies removed), `skipped.jsonl` and `summary.json`
/// in `out_dir`, each written atomically.
///
/// # Errors
/// I/O errors on the outputs; in strict mode, the first skipped record.
pub fn run(
    inputs: &[crate::io::Input],
    out_dir: &std::path::Path,
    cfg: &RepeatsRunConfig,
    progress: &dyn crate::progress::Progress,
) -> Result<RepeatsSummary, crate::pipeline::RunError> {
    use crate::pipeline::ioe;
    let t = std::time::Instant::now();
    // The normalization tables are built on the pool while the run starts ([`dedup::run`](crate::dedup::run)).
    crate::core::text::normalize::prepare_in_background(&cfg.repeat.normalize);
    let ctx = crate::pipeline::JobContext::create("repeats", inputs, out_dir)?;
    let mut reports =
        crate::io::AtomicWriter::create(&ctx.path("repeats.jsonl")).map_err(ioe("writing repeats.jsonl"))?;
    let mut stripped = if cfg.strip {
        Some(crate::io::AtomicWriter::create(&ctx.path("stripped.jsonl")).map_err(ioe("writing stripped.jsonl"))?)
    } else {
        None
    };
    let (mut documents, mut with_repeats, mut stripped_chars) = (0u64, 0u64, 0u64);
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let scan = crate::pipeline::scan(
        inputs,
        &cfg.read,
        cfg.strict,
        "repeats",
        progress,
        |doc| {
            let report = analyze(&doc.text, &cfg.repeat);
            let text = cfg.strip.then(|| strip(&doc.text, &report.repeats));
            let removed = text.as_ref().map_or(0, |t| (doc.text.chars().count() - t.chars().count()) as u64);
            Ok((report, text, removed))
        },
        |item| {
            let (report, text, removed) = item.value;
            documents += 1;
            if !report.repeats.is_empty() {
                with_repeats += 1;
            }
            for r in &report.repeats {
                *kinds.entry(format!("{:?}", r.kind).to_lowercase()).or_default() += 1;
            }
            reports
                .write_json_line(&RepeatsRecord {
                    id: item.id.clone(),
                    metrics: report.metrics,
                    repeats: report.repeats.clone(),
                })
                .map_err(ioe("writing repeats.jsonl"))?;
            if let (Some(w), Some(text)) = (stripped.as_mut(), text.as_deref()) {
                w.write_json_line(&TextRecord { id: item.id.clone(), text: text.to_string() })
                    .map_err(ioe("writing stripped.jsonl"))?;
                stripped_chars += removed;
            }
            Ok(())
        },
    )?;
    reports.commit().map_err(ioe("writing repeats.jsonl"))?;
    if let Some(w) = stripped {
        w.commit().map_err(ioe("writing stripped.jsonl"))?;
    }
    let input = ctx.input_report(&scan, inputs)?;
    let summary = RepeatsSummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        documents,
        documents_with_repeats: with_repeats,
        repeats: kinds,
        stripped_chars,
        config: cfg.clone(),
        total_seconds: t.elapsed().as_secs_f64(),
    };
    ctx.finish(&summary)?;
    Ok(summary)
}
