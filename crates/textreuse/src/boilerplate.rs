//! The `boilerplate` job over a corpus: reading, the per-document algorithm of [`textreuse_core::boilerplate`] (re-exported
//! here), and the outputs.

use serde::Serialize;

pub use textreuse_core::boilerplate::*;
use textreuse_core::records::{BoilerplateHeader, BoilerplateRecord, SpanRecord, SCHEMA_VERSION};

/// Settings of a `boilerplate` run over a corpus.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BoilerplateRunConfig {
    /// How records are read.
    pub read: crate::io::ReadOptions,
    /// Detection settings.
    pub boilerplate: BoilerplateConfig,
    /// Turn any skipped record into an error.
    pub strict: bool,
}

/// What a `boilerplate` run did; written as `summary.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BoilerplateSummary {
    /// Version of the output formats (`textreuse_core::records::SCHEMA_VERSION`).
    #[serde(default)]
    pub schema_version: u32,
    /// Inputs, records read, skipped records and encodings.
    #[serde(flatten)]
    pub input: crate::pipeline::InputReport,
    /// Documents read.
    pub documents: u64,
    /// Distinct segment keys counted.
    pub distinct_segments: u64,
    /// Boilerplate segments written.
    pub boilerplate: u64,
    /// The settings.
    pub config: BoilerplateRunConfig,
    /// Wall-clock seconds.
    pub total_seconds: f64,
}

/// Runs `boilerplate` over `inputs`: `boilerplate.jsonl` (one line per boilerplate segment, most frequent first:
/// `{"text", "key", "df", "kind", "examples": [{"id", "start", "end"}]}`), `skipped.jsonl` and `summary.json`
/// in `out_dir`, each written atomically.
///
/// # Errors
/// I/O errors on the outputs; in strict mode, the first skipped record.
pub fn run(
    inputs: &[crate::io::Input],
    out_dir: &std::path::Path,
    cfg: &BoilerplateRunConfig,
    progress: &dyn crate::progress::Progress,
) -> Result<BoilerplateSummary, crate::pipeline::RunError> {
    use crate::pipeline::ioe;
    let t = std::time::Instant::now();
    let ctx = crate::pipeline::JobContext::create("boilerplate", inputs, out_dir)?;
    let mut counter = BoilerplateCounter::default();
    let mut ids: Vec<String> = Vec::new();
    let scan = crate::pipeline::scan(
        inputs,
        &cfg.read,
        cfg.strict,
        "boilerplate",
        progress,
        // Each document cut and normalized on the pool; only the counting is in input order.
        |doc| {
            let segments = DocumentSegments::new(&doc.text, &cfg.boilerplate);
            Ok((doc.text, segments))
        },
        |item| {
            let (text, segments) = item.value;
            counter.add_segments(&text, segments, &cfg.boilerplate);
            ids.push(item.id);
            Ok(())
        },
    )?;
    let list = counter.boilerplate(cfg.boilerplate.min_df);
    let mut w =
        crate::io::AtomicWriter::create(&ctx.path("boilerplate.jsonl")).map_err(ioe("writing boilerplate.jsonl"))?;
    w.write_json_line(&BoilerplateHeader { schema_version: SCHEMA_VERSION, settings: cfg.boilerplate.clone() })
        .map_err(ioe("writing boilerplate.jsonl"))?;
    for b in &list {
        let examples =
            b.examples.iter().map(|&(d, start, end)| SpanRecord { id: ids[d as usize].clone(), start, end }).collect();
        w.write_json_line(&BoilerplateRecord {
            text: b.text.clone(),
            key: b.key.clone(),
            df: b.df,
            kind: b.kind,
            examples,
        })
        .map_err(ioe("writing boilerplate.jsonl"))?;
    }
    w.commit().map_err(ioe("writing boilerplate.jsonl"))?;
    let input = ctx.input_report(&scan, inputs)?;
    let summary = BoilerplateSummary {
        schema_version: crate::records::SCHEMA_VERSION,
        input,
        documents: ids.len() as u64,
        distinct_segments: counter.distinct_segments() as u64,
        boilerplate: list.len() as u64,
        config: cfg.clone(),
        total_seconds: t.elapsed().as_secs_f64(),
    };
    ctx.finish(&summary)?;
    Ok(summary)
}

/// Reads a boilerplate list written by the `boilerplate` job: the settings of its first line
/// ([`BoilerplateHeader`]: segments are cut and normalized as when the list was made) and the `key` of every
/// [`BoilerplateRecord`]. A list of an older version without the header line uses the default settings.
///
/// # Errors
/// When the file cannot be read, or a line is not a boilerplate record (the message names file and line).
pub fn load_filter(path: &std::path::Path) -> std::io::Result<BoilerplateFilter> {
    let text =
        std::fs::read_to_string(path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let mut keys = Vec::new();
    let mut settings = BoilerplateConfig::default();
    for (k, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        if k == 0 {
            if let Ok(h) = serde_json::from_str::<BoilerplateHeader>(line) {
                settings = h.settings;
                continue;
            }
        }
        let r: BoilerplateRecord = serde_json::from_str(line).map_err(|e| {
            std::io::Error::other(format!("{}:{}: not a boilerplate record: {e}", path.display(), k + 1))
        })?;
        keys.push(r.key);
    }
    Ok(BoilerplateFilter::new(keys, settings))
}
