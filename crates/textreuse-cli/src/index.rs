//! `textreuse index ...`: flags of the persistent index's commands, over `textreuse::index`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use textreuse::cluster::Keep;
use textreuse::core::index::IndexSettings;
use textreuse::index::{self, IndexJobConfig};
use textreuse::io::{Input, ReadOptions};
use textreuse::progress::{NoProgress, Progress};

use super::{at_least_one, open_unit_interval, setup_threads, unit_interval, Bars, KeepArg};

#[derive(Subcommand)]
pub(crate) enum IndexCommand {
    /// Create an index in a new or empty directory, with its settings, from the documents of --from (if any).
    Create(CreateArgs),
    /// Add the documents of the inputs as a new segment (ids already indexed are left out).
    Add(AddArgs),
    /// For each document of the inputs: its duplicate cluster and its reused passages among the indexed documents
    /// (and the other inputs), as one dedup and one passages run over all of them would give. The index is not
    /// changed.
    Query(QueryArgs),
    /// Merge all segments into one, removing deleted documents.
    Compact(DirArgs),
    /// Mark documents deleted (ids one per line in --ids, or a JSONL file with an "id" field); compact removes them.
    Delete(DeleteArgs),
    /// Print the index's format version, settings, segments, documents and size on disk (JSON).
    Info(DirArgs),
}

/// Reading options of every command that takes inputs (the jobs and `index create/add/query`).
#[derive(Args)]
pub(crate) struct ReadArgs {
    /// JSONL field holding the document id.
    #[arg(long, default_value = "id")]
    pub(crate) id_field: String,
    /// JSONL field holding the document text.
    #[arg(long, default_value = "text")]
    pub(crate) text_field: String,
    /// Documents larger than this many bytes are skipped and reported (files are not read; JSONL lines longer
    /// than twice this plus 1 MiB are skipped unread).
    #[arg(long, default_value_t = 64 << 20, value_parser = at_least_one)]
    pub(crate) max_doc_bytes: usize,
    /// Exit with an error on the first skipped record instead of reporting it.
    #[arg(long)]
    pub(crate) strict: bool,
    /// No progress bars and no summary on standard error.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = at_least_one)]
    pub(crate) threads: Option<usize>,
}

impl ReadArgs {
    pub(crate) fn read_options(&self) -> ReadOptions {
        ReadOptions {
            id_field: self.id_field.clone(),
            text_field: self.text_field.clone(),
            max_doc_bytes: self.max_doc_bytes,
        }
    }
}

/// The index's settings. `create` applies them over the defaults and stores them; `add` and `query` accept them
/// only to check them: a value other than the stored one is refused, naming the setting.
#[derive(Args, Default)]
pub(crate) struct SettingsArgs {
    /// Units per shingle that starts with a CJK character (dedup).
    #[arg(long, value_parser = at_least_one)]
    ngram: Option<usize>,
    /// Units per shingle that starts with two words (dedup).
    #[arg(long, value_parser = at_least_one)]
    word_ngram: Option<usize>,
    /// Values per MinHash signature.
    #[arg(long, value_parser = at_least_one)]
    num_perm: Option<usize>,
    /// Jaccard similarity at or above which two documents are duplicates.
    #[arg(long, value_parser = unit_interval)]
    threshold: Option<f64>,
    /// Containment at or above which two documents are duplicates.
    #[arg(long, value_parser = unit_interval)]
    containment_threshold: Option<f64>,
    /// A document contained at this level in two or more members of a cluster joins it.
    #[arg(long, value_parser = unit_interval)]
    partial_containment: Option<f64>,
    /// Do not attach partial reprints to clusters.
    #[arg(long)]
    no_partial: bool,
    /// Jaccard similarity the LSH bands are tuned for.
    #[arg(long, value_parser = open_unit_interval)]
    lsh_threshold: Option<f64>,
    /// Which document of a cluster represents it.
    #[arg(long, value_enum)]
    keep: Option<KeepArg>,
    /// Seed of the shingle hashes and MinHash.
    #[arg(long)]
    seed: Option<u64>,
    /// Units per n-gram of the passage index.
    #[arg(long, value_parser = at_least_one)]
    passage_ngram: Option<usize>,
    /// n-grams in more documents than this are boilerplate.
    #[arg(long, value_parser = at_least_one)]
    max_df: Option<usize>,
    /// Candidate pairs share at least this many n-grams.
    #[arg(long, value_parser = at_least_one)]
    min_anchors: Option<usize>,
    /// Largest gap bridged inside one passage (units).
    #[arg(long)]
    max_gap: Option<usize>,
    /// Largest one-sided text bridged inside one passage (units).
    #[arg(long)]
    max_indel: Option<usize>,
    /// Shortest passage kept, in units.
    #[arg(long, value_parser = at_least_one)]
    min_length: Option<usize>,
    /// Do not apply Unicode NFKC normalization.
    #[arg(long)]
    no_nfkc: bool,
    /// Do not fold CJK full-width punctuation.
    #[arg(long)]
    no_width_fold: bool,
    /// Do not convert traditional Chinese to simplified.
    #[arg(long)]
    no_t2s: bool,
    /// Do not lower-case.
    #[arg(long)]
    no_lowercase: bool,
    /// Keep punctuation and symbols.
    #[arg(long)]
    keep_punctuation: bool,
    /// Keep whitespace as it is.
    #[arg(long)]
    keep_whitespace: bool,
}

impl SettingsArgs {
    /// The index's stored settings with the flags given applied, for `add` and `query` to check against the
    /// stored ones; `None` when no flag was given. Errors when the index's manifest cannot be read.
    fn requested(&self, dir: &Path) -> Result<Option<IndexSettings>> {
        let stored = textreuse::io::index::read_manifest(dir)
            .with_context(|| format!("opening the index {}", dir.display()))?
            .settings;
        Ok(self.apply(&stored))
    }

    /// `base` with the flags given applied; `None` when no flag was given.
    fn apply(&self, base: &IndexSettings) -> Option<IndexSettings> {
        let mut s = base.clone();
        let mut any = false;
        macro_rules! set {
            ($flag:expr, $field:expr) => {
                if let Some(v) = $flag {
                    $field = v;
                    any = true;
                }
            };
        }
        set!(self.ngram, s.dedup.ngram);
        set!(self.word_ngram.map(Some), s.dedup.word_ngram);
        set!(self.num_perm, s.dedup.num_perm);
        set!(self.threshold, s.dedup.threshold);
        set!(self.containment_threshold.map(Some), s.dedup.containment_threshold);
        set!(self.partial_containment.map(Some), s.dedup.partial_containment);
        if self.no_partial {
            s.dedup.partial_containment = None;
            any = true;
        }
        set!(self.lsh_threshold.map(Some), s.dedup.lsh_threshold);
        set!(
            self.keep.map(|k| match k {
                KeepArg::First => Keep::First,
                KeepArg::Longest => Keep::Longest,
            }),
            s.dedup.keep
        );
        set!(self.seed, s.dedup.seed);
        set!(self.passage_ngram, s.passages.align.ngram);
        set!(self.max_df, s.passages.align.max_df);
        set!(self.min_anchors, s.passages.align.min_anchors);
        set!(self.max_gap, s.passages.align.max_gap);
        set!(self.max_indel, s.passages.align.max_indel);
        set!(self.min_length, s.passages.align.min_length);
        for n in [&mut s.dedup.normalize, &mut s.passages.normalize] {
            for (flag, field) in [
                (self.no_nfkc, &mut n.nfkc),
                (self.no_width_fold, &mut n.fold_width),
                (self.no_t2s, &mut n.traditional_to_simplified),
                (self.no_lowercase, &mut n.lowercase),
                (self.keep_punctuation, &mut n.strip_punctuation),
                (self.keep_whitespace, &mut n.strip_whitespace),
            ] {
                if flag {
                    *field = false;
                    any = true;
                }
            }
        }
        any.then_some(s)
    }
}

#[derive(Args)]
pub(crate) struct CreateArgs {
    /// The index directory (new or empty).
    dir: PathBuf,
    /// Inputs to index (as for dedup: directories, JSONL files, text files, `-`).
    #[arg(long, num_args = 1..)]
    from: Vec<String>,
    /// Start a new segment after this many megabytes of text.
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    segment_mb: usize,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Args)]
pub(crate) struct AddArgs {
    /// The index directory.
    dir: PathBuf,
    /// Inputs to add.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Start a new segment after this many megabytes of text.
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    segment_mb: usize,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Args)]
pub(crate) struct QueryArgs {
    /// The index directory.
    dir: PathBuf,
    /// New documents to query.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Output directory.
    #[arg(long, short)]
    out: PathBuf,
    /// Include the aligned texts (a_text, b_text) in alignments.jsonl.
    #[arg(long)]
    with_text: bool,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Args)]
pub(crate) struct DirArgs {
    /// The index directory.
    dir: PathBuf,
    /// No progress bars and no summary on standard error.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
pub(crate) struct DeleteArgs {
    /// The index directory.
    dir: PathBuf,
    /// File of ids to delete: one per line, or JSONL records with an "id" field.
    #[arg(long)]
    ids: PathBuf,
}

fn progress(quiet: bool, bars: &Bars) -> &dyn Progress {
    if quiet {
        &NoProgress
    } else {
        bars
    }
}

fn job_config(read: &ReadArgs, segment_mb: usize, with_text: bool) -> IndexJobConfig {
    IndexJobConfig {
        read: read.read_options(),
        strict: read.strict,
        segment_bytes: (segment_mb as u64) << 20,
        with_text,
    }
}

fn print_add(s: &index::AddSummary, dir: &std::path::Path) {
    for m in &s.skipped_examples {
        eprintln!("warning: {m}");
    }
    eprintln!(
        "{} documents added ({} skipped, {} already indexed) in {} segment(s), {} stored pairs; {} documents in {}; {:.2} s",
        s.documents_added,
        s.skipped.values().sum::<u64>(),
        s.already_indexed,
        s.segments_written.len(),
        s.pairs_stored,
        s.documents,
        dir.display(),
        s.total_seconds
    );
}

pub(crate) fn run(cmd: IndexCommand) -> Result<()> {
    let bars = Bars { bar: Mutex::new(None) };
    match cmd {
        IndexCommand::Create(a) => {
            setup_threads(a.read.threads)?;
            let settings = a.settings.apply(&IndexSettings::default()).unwrap_or_default();
            let inputs = Input::from_args(&a.from)?;
            let s = index::create(
                &a.dir,
                &inputs,
                &settings,
                &job_config(&a.read, a.segment_mb, false),
                progress(a.read.quiet, &bars),
            )?;
            if !a.read.quiet {
                print_add(&s, &a.dir);
            }
        }
        IndexCommand::Add(a) => {
            setup_threads(a.read.threads)?;
            let requested = a.settings.requested(&a.dir)?;
            let inputs = Input::from_args(&a.inputs)?;
            let s = index::add(
                &a.dir,
                &inputs,
                requested.as_ref(),
                &job_config(&a.read, a.segment_mb, false),
                progress(a.read.quiet, &bars),
            )?;
            if !a.read.quiet {
                print_add(&s, &a.dir);
            }
        }
        IndexCommand::Query(a) => {
            setup_threads(a.read.threads)?;
            let requested = a.settings.requested(&a.dir)?;
            let inputs = Input::from_args(&a.inputs)?;
            let s = index::query(
                &a.dir,
                &inputs,
                &a.out,
                requested.as_ref(),
                &job_config(&a.read, 256, a.with_text),
                progress(a.read.quiet, &bars),
            )?;
            if !a.read.quiet {
                eprintln!(
                    "{} documents queried against {} indexed ({} already indexed, left out): {} in a cluster, {} \
                     duplicate pairs, {} alignments; {:.2} s. Outputs in {}",
                    s.documents,
                    s.indexed_documents,
                    s.already_indexed,
                    s.clustered,
                    s.duplicate_pairs,
                    s.alignments,
                    s.total_seconds,
                    a.out.display()
                );
            }
        }
        IndexCommand::Compact(a) => {
            let s = index::compact(&a.dir, progress(a.quiet, &bars))?;
            if !a.quiet {
                match &s.segment {
                    Some(seg) => eprintln!(
                        "{} segments merged into {seg}: {} documents ({} deleted removed); {:.2} s",
                        s.segments_before, s.documents, s.documents_removed, s.total_seconds
                    ),
                    None => eprintln!("nothing to compact: one segment, no deleted document"),
                }
            }
        }
        IndexCommand::Delete(a) => {
            let text = std::fs::read_to_string(&a.ids).with_context(|| format!("reading {}", a.ids.display()))?;
            let mut ids = Vec::new();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if line.starts_with('{') {
                    let v: serde_json::Value =
                        serde_json::from_str(line).with_context(|| format!("{}: {line}", a.ids.display()))?;
                    match v.get("id") {
                        Some(serde_json::Value::String(s)) => ids.push(s.clone()),
                        Some(other) => ids.push(other.to_string()),
                        None => anyhow::bail!("{}: a record without an \"id\" field: {line}", a.ids.display()),
                    }
                } else {
                    ids.push(line.to_string());
                }
            }
            let s = index::delete(&a.dir, &ids)?;
            eprintln!(
                "{} documents marked deleted ({} already, {} unknown ids); {} wait for `textreuse index compact`",
                s.deleted,
                s.already_deleted,
                s.unknown.len(),
                s.pending
            );
        }
        IndexCommand::Info(a) => {
            let s = index::info(&a.dir)?;
            use std::io::Write;
            writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&s)?)?;
        }
    }
    Ok(())
}
