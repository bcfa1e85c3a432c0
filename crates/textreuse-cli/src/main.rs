//! The `textreuse` command-line tool: one subcommand per job, thin over the `textreuse` library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use textreuse::align::AlignConfig;
use textreuse::boilerplate::{self, BoilerplateConfig, BoilerplateRunConfig};
use textreuse::cluster::Keep;
use textreuse::dedup::{self, DedupConfig, DedupOptions};
use textreuse::io::{Input, ReadOptions};
use textreuse::normalize::NormalizeOptions;
use textreuse::passages::{self, PassageOptions, PassagesConfig};
use textreuse::progress::{NoProgress, Progress};
use textreuse::repeats::{self, RepeatConfig, RepeatsRunConfig};
use textreuse::substrings::{self, SubstringsConfig};

use index::ReadArgs;

/// A whole number of at least 1 (`--ngram 0` and the like are refused by the argument parser).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A number in `[0, 1]` (a similarity or a containment).
fn unit_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        Ok(_) => Err("must lie in [0, 1]".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A number in `(0, 1]` (the similarity LSH is tuned for).
fn open_unit_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 1.0 => Ok(x),
        Ok(_) => Err("must lie in (0, 1]".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Parser)]
#[command(name = "textreuse", version, about = "Find duplicated and reused text in large, noisy corpora (CJK-aware)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Document-level near-duplicate detection: clusters, verified pairs and a deduplicated corpus.
    Dedup(DedupArgs),
    /// Passage-level text reuse: aligned passage pairs with offsets into the original texts, and passage clusters.
    Passages(PassagesArgs),
    /// Repeated lines, paragraphs and passages inside each document, Gopher repetition measures, and --strip.
    Repeats(RepeatsArgs),
    /// Corpus-wide boilerplate: short lines and sentences found in more than --min-df documents.
    Boilerplate(BoilerplateArgs),
    /// Exact-substring deduplication: every substring of at least --min-length units occurring more than once.
    Substrings(SubstringsArgs),
    /// A static HTML site over the outputs of dedup, passages and repeats (no server, no network).
    Report(ReportArgs),
    /// Print the passages two texts share, side by side, with matches, substitutions and gaps coloured.
    Compare(CompareArgs),
    /// A persistent, incremental index: create, add documents, query new ones against it, compact, delete.
    #[command(subcommand)]
    Index(IndexCommand),
}

/// Options shared by every job: inputs, fields, normalization, reporting.
#[derive(Args)]
struct CommonArgs {
    /// Inputs: directories of text files, JSONL files (.jsonl, .gz, .zst), text files, or `-` for JSONL on stdin.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Output directory.
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
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

/// The boilerplate list, for the jobs that use one (`dedup`, `passages`).
#[derive(Args)]
struct BoilerplateListArg {
    /// A boilerplate.jsonl written by `textreuse boilerplate`: its lines and sentences are ignored. A file that
    /// cannot be read is an error before any work.
    #[arg(long)]
    boilerplate: Option<PathBuf>,
}

impl BoilerplateListArg {
    fn boilerplate_list(&self) -> Option<String> {
        self.boilerplate.as_ref().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()).display().to_string())
    }
    fn boilerplate_filter(&self) -> Result<Option<std::sync::Arc<textreuse::boilerplate::BoilerplateFilter>>> {
        match &self.boilerplate {
            Some(p) => Ok(Some(std::sync::Arc::new(textreuse::boilerplate::load_filter(p)?))),
            None => Ok(None),
        }
    }
}

impl CommonArgs {
    fn inputs(&self) -> Result<Vec<Input>> {
        Ok(Input::from_args(&self.inputs)?)
    }
    fn read_options(&self) -> ReadOptions {
        self.read.read_options()
    }
    fn normalize_options(&self) -> NormalizeOptions {
        NormalizeOptions {
            nfkc: !self.no_nfkc,
            fold_width: !self.no_width_fold,
            lowercase: !self.no_lowercase,
            strip_punctuation: !self.keep_punctuation,
            strip_whitespace: !self.keep_whitespace,
            traditional_to_simplified: !self.no_t2s,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum KeepArg {
    First,
    Longest,
}

#[derive(Args)]
struct DedupArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    list: BoilerplateListArg,
    /// Units per shingle that starts with a CJK character.
    #[arg(long, default_value_t = DedupOptions::default().ngram, value_parser = at_least_one)]
    ngram: usize,
    /// Units per shingle that starts with a word (English and other space-delimited scripts).
    #[arg(long, default_value_t = DedupOptions::default().word_ngram.unwrap_or(4), value_parser = at_least_one)]
    word_ngram: usize,
    /// Values per MinHash signature.
    #[arg(long, default_value_t = DedupOptions::default().num_perm, value_parser = at_least_one)]
    num_perm: usize,
    /// Jaccard similarity of shingle sets at or above which two documents are duplicates, in [0, 1].
    #[arg(long, default_value_t = DedupOptions::default().threshold, value_parser = unit_interval)]
    threshold: f64,
    /// Containment |A∩B|/min(|A|,|B|) at or above which two documents are duplicates (e.g. a reprint cut short),
    /// in [0, 1].
    #[arg(long, value_parser = unit_interval)]
    containment_threshold: Option<f64>,
    /// A document contained at this level (in [0, 1]) in two or more members of a cluster joins it (a reprint cut
    /// short).
    #[arg(long, default_value_t = 0.9, value_parser = unit_interval)]
    partial_containment: f64,
    /// Do not attach partial reprints to clusters.
    #[arg(long)]
    no_partial: bool,
    /// Jaccard similarity the LSH bands are tuned for, in (0, 1] (default: derived from the thresholds).
    #[arg(long, value_parser = open_unit_interval)]
    lsh_threshold: Option<f64>,
    /// Which document of a cluster is kept.
    #[arg(long, value_enum, default_value = "first")]
    keep: KeepArg,
    /// Seed of the shingle hashes and MinHash.
    #[arg(long, default_value_t = DedupOptions::default().seed)]
    seed: u64,
    /// Megabytes of shingle sets kept in memory for verification; the rest spill to a file in --out.
    #[arg(long, default_value_t = 1024, value_parser = at_least_one)]
    memory_mb: usize,
    /// Also write candidates.jsonl: every verified candidate pair with its statistics.
    #[arg(long)]
    write_candidates: bool,
    /// Do not write deduplicated.jsonl: only the clusters, pairs, skipped records and summary (the kept documents
    /// are those with "representative": true in clusters.jsonl), and the input is read once instead of twice.
    #[arg(long)]
    no_deduplicated: bool,
    /// Clusters of at least this many documents are verified against a spanning set: candidate pairs inside them
    /// are not all verified, and pairs.jsonl lists the pairs that joined their members (the clusters are the same;
    /// time and memory stay linear in documents). 0 verifies and lists every candidate pair.
    #[arg(long, default_value_t = DedupOptions::default().large_cluster)]
    large_cluster: usize,
}

/// Alignment options shared by `passages` and `compare`.
#[derive(Args)]
struct AlignArgs {
    /// Units (CJK characters or words) per n-gram of the index.
    #[arg(long, default_value_t = AlignConfig::default().ngram, value_parser = at_least_one)]
    ngram: usize,
    /// n-grams found in more documents than this are boilerplate and seed no candidate.
    #[arg(long, default_value_t = AlignConfig::default().max_df, value_parser = at_least_one)]
    max_df: usize,
    /// Candidate document pairs share at least this many n-grams.
    #[arg(long, default_value_t = AlignConfig::default().min_anchors, value_parser = at_least_one)]
    min_anchors: usize,
    /// Largest gap (units, on either side) bridged inside one passage.
    #[arg(long, default_value_t = AlignConfig::default().max_gap)]
    max_gap: usize,
    /// Largest one-sided text (units only in one document: a dropped sentence) bridged inside one passage.
    #[arg(long, default_value_t = AlignConfig::default().max_indel)]
    max_indel: usize,
    /// Shortest passage kept, in units (normalized characters for CJK) on each side.
    #[arg(long, default_value_t = AlignConfig::default().min_length, value_parser = at_least_one)]
    min_length: usize,
    /// Shortest passage kept where it is another occurrence of text that a longer passage aligns (a title or short
    /// paragraph printed twice), in units on each side.
    #[arg(long, default_value_t = AlignConfig::default().min_short, value_parser = at_least_one)]
    min_short: usize,
    /// Also find rewritten reuse (synonyms swapped, clauses reordered, sentences merged, split or dropped, a
    /// summary): sentences of similar vocabulary, reported with "kind": "rewritten".
    #[arg(long)]
    rewritten: bool,
}

impl AlignArgs {
    fn config(&self) -> AlignConfig {
        AlignConfig {
            ngram: self.ngram,
            max_df: self.max_df,
            min_anchors: self.min_anchors,
            max_gap: self.max_gap,
            max_indel: self.max_indel,
            min_length: self.min_length,
            min_short: self.min_short,
            rewritten: self.rewritten,
            ..AlignConfig::default()
        }
    }
}

#[derive(Args)]
struct PassagesArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    list: BoilerplateListArg,
    #[command(flatten)]
    align: AlignArgs,
    /// Include the aligned texts (a_text, b_text) in alignments.jsonl.
    #[arg(long)]
    with_text: bool,
    /// Megabytes of memory for units, n-gram postings, candidate pair counts and alignment batches; beyond, they
    /// spill to temporary files beside --out (the outputs are the same). Default: half of physical memory.
    #[arg(long, value_parser = at_least_one)]
    memory_mb: Option<usize>,
}

#[derive(Args)]
struct RepeatsArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Shortest repeated passage, in units (0: no passages, only lines and paragraphs).
    #[arg(long, default_value_t = RepeatConfig::default().min_length)]
    min_length: usize,
    /// Also write stripped.jsonl: each document without the later copies of its repeated paragraphs and passages.
    #[arg(long)]
    strip: bool,
}

#[derive(Args)]
struct BoilerplateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Segments found in more than this many documents are boilerplate.
    #[arg(long, default_value_t = BoilerplateConfig::default().min_df)]
    min_df: u32,
    /// Segments longer than this many normalized characters are never boilerplate.
    #[arg(long, default_value_t = BoilerplateConfig::default().max_chars, value_parser = at_least_one)]
    max_chars: usize,
}

#[derive(Args)]
struct SubstringsArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Shortest repeated substring, in units (CJK characters or words).
    #[arg(long, default_value_t = 50, value_parser = at_least_one)]
    min_length: usize,
    /// Also write deduplicated.jsonl: every document without the later occurrences (the first is kept).
    #[arg(long)]
    remove: bool,
    /// Units per shard (about 20 bytes each while sorting); repeats across shards are not found.
    #[arg(long, default_value_t = 100_000_000, value_parser = at_least_one)]
    shard_units: usize,
    /// Megabytes of memory: the corpus is then neither held in memory nor sharded (units and window fingerprints
    /// spill to temporary files beside --out) and every repeat is found, across the whole corpus.
    #[arg(long, value_parser = at_least_one, conflicts_with = "shard_units")]
    memory_mb: Option<usize>,
}

#[derive(Args)]
struct ReportArgs {
    /// Output directories of `dedup`, `passages` and `repeats` runs (their summaries name the inputs).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Directory of the site: created, or replaced when it holds a previous report (any other non-empty
    /// directory is refused).
    #[arg(long, short)]
    out: PathBuf,
    /// No progress messages.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct CompareArgs {
    /// First text file (or, with --corpus, a document id).
    a: String,
    /// Second text file (or, with --corpus, a document id).
    b: String,
    /// Read A and B as ids of documents in this corpus (any input `dedup` accepts).
    #[arg(long)]
    corpus: Option<String>,
    /// JSONL field holding the document id.
    #[arg(long, default_value = "id")]
    id_field: String,
    /// JSONL field holding the document text.
    #[arg(long, default_value = "text")]
    text_field: String,
    /// Colour: auto (when standard output is a terminal), always or never.
    #[arg(long, default_value = "auto")]
    color: String,
    /// Aligned units per printed row.
    #[arg(long, default_value_t = 16, value_parser = at_least_one)]
    width: usize,
    #[command(flatten)]
    align: AlignArgs,
}

/// Progress bars on standard error, one per stage.
struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Itself, or nothing with --quiet.
    fn for_args(&self, c: &CommonArgs) -> &dyn Progress {
        if c.read.quiet {
            &NoProgress
        } else {
            self
        }
    }
}

/// What every job does first: the worker threads, the inputs, the progress bars.
fn start(c: &CommonArgs) -> Result<(Vec<Input>, Bars)> {
    setup_threads(c.read.threads)?;
    Ok((c.inputs()?, Bars { bar: Mutex::new(None) }))
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: Option<u64>, unit: &str) {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        // The bar takes the width the rest leaves (`wide_bar`): a line fits an 80-column terminal. Rates are whole
        // units per second, bytes in binary units.
        let template = match (total.is_some(), unit) {
            (true, "bytes") => "{prefix:>12} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
            (true, _) => "{prefix:>12} [{wide_bar}] {human_pos}/{human_len} {msg} {rate} {eta}",
            (false, "bytes") => "{prefix:>12} {spinner} {bytes} {binary_bytes_per_sec} {elapsed}",
            (false, _) => "{prefix:>12} {spinner} {elapsed}",
        };
        let style = ProgressStyle::with_template(template).expect("valid template").progress_chars("=> ").with_key(
            "rate",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", s.per_sec());
            },
        );
        bar.set_style(style);
        bar.set_message(unit.to_string());
        if total.is_none() {
            // A stage without a count (a sort, say) still shows that it runs.
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
        }
        bar.set_prefix(stage.to_string());
        *self.bar.lock().expect("progress lock") = Some(bar);
    }
    fn inc(&self, n: u64) {
        if let Some(b) = self.bar.lock().expect("progress lock").as_ref() {
            b.inc(n);
        }
    }
    fn finish(&self) {
        if let Some(b) = self.bar.lock().expect("progress lock").take() {
            b.finish_and_clear();
        }
    }
}

/// Tunes glibc's allocator for this process, first thing in `main`: `M_TOP_PAD` of 64 MiB, so that memory freed at
/// the top of a heap (a batch of records done with, a worker's buffers) is kept for the next allocations instead of
/// being given back to the system and faulted in again page by page; the worker threads' heaps (64 MiB each) are
/// then never trimmed, and glibc no longer raises its `mmap` threshold (128 KiB) as large blocks are freed. Measured
/// in `bench/RESULTS.md` (fourteenth session): less CPU on small inputs (zh-dev), a few tens of MB more peak memory
/// on larger ones. Only the command-line tool does this: the library leaves its host process's allocator alone.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const TOP_PAD_BYTES: libc::c_int = 64 << 20;
        // SAFETY: `mallopt` only sets a parameter of the allocator; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_TOP_PAD, TOP_PAD_BYTES);
        }
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    // Interrupted (Ctrl-C, SIGTERM, SIGHUP): remove the staging directories of outputs not yet in place, so that
    // nothing half-written stays behind; the previous outputs stay as they were.
    let _ = ctrlc::set_handler(|| {
        textreuse::io::outdir::remove_staging_dirs();
        eprintln!("textreuse: interrupted; no output was changed");
        std::process::exit(130);
    });
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Standard output closed early (`textreuse compare A B | head`): what was asked for was read; no message.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("textreuse: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Dedup(args) => run_dedup(args),
        Command::Passages(args) => run_passages(args),
        Command::Compare(args) => compare::run(args),
        Command::Repeats(args) => run_repeats(args),
        Command::Boilerplate(args) => run_boilerplate(args),
        Command::Substrings(args) => run_substrings(args),
        Command::Report(args) => report::run(args),
        Command::Index(cmd) => index::run(cmd),
    }
}

fn setup_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("starting the worker threads")?;
    }
    Ok(())
}

mod compare;
mod index;
mod report;

use index::IndexCommand;

fn print_skips(examples: &[String], skipped: &std::collections::BTreeMap<String, u64>, out: &std::path::Path) -> u64 {
    for m in examples {
        eprintln!("warning: {m}");
    }
    let total: u64 = skipped.values().sum();
    if total > examples.len() as u64 {
        eprintln!(
            "warning: ... {} more skipped records in {}",
            total - examples.len() as u64,
            out.join("skipped.jsonl").display()
        );
    }
    total
}

fn run_passages(args: PassagesArgs) -> Result<()> {
    let c = &args.common;
    let (inputs, bars) = start(c)?;
    let cfg = PassagesConfig {
        read: c.read_options(),
        options: PassageOptions {
            normalize: c.normalize_options(),
            align: args.align.config(),
            boilerplate: args.list.boilerplate_filter()?,
        },
        with_text: args.with_text,
        strict: c.read.strict,
        boilerplate_list: args.list.boilerplate_list(),
        memory_budget: args.memory_mb.map(|m| (m as u64) << 20),
        ..PassagesConfig::default()
    };
    let progress = bars.for_args(c);
    let s = passages::run(&inputs, &c.out, &cfg, progress)?;
    if !c.read.quiet {
        let skipped = print_skips(&s.input.skipped_examples, &s.input.skipped, &c.out);
        for (id, units) in &s.truncated_documents {
            eprintln!("warning: document \"{id}\" has {units} units; aligned on its first {} only", cfg.max_units);
        }
        eprintln!(
            "{} documents ({} skipped), {} candidate pairs, {} aligned pairs, {} passage alignments in {} passage clusters; {:.2} s. Outputs in {}",
            s.documents,
            skipped,
            s.candidate_pairs,
            s.aligned_pairs,
            s.alignments,
            s.passage_clusters,
            s.total_seconds,
            c.out.display()
        );
    }
    Ok(())
}

fn run_repeats(args: RepeatsArgs) -> Result<()> {
    let c = &args.common;
    let (inputs, bars) = start(c)?;
    let cfg = RepeatsRunConfig {
        read: c.read_options(),
        repeat: RepeatConfig { normalize: c.normalize_options(), min_length: args.min_length },
        strip: args.strip,
        strict: c.read.strict,
    };
    let progress = bars.for_args(c);
    let s = repeats::run(&inputs, &c.out, &cfg, progress)?;
    if !c.read.quiet {
        let skipped = print_skips(&s.input.skipped_examples, &s.input.skipped, &c.out);
        eprintln!(
            "{} documents ({} skipped), {} with repeated text {:?}{}; {:.2} s. Outputs in {}",
            s.documents,
            skipped,
            s.documents_with_repeats,
            s.repeats,
            if cfg.strip { format!(", {} characters stripped", s.stripped_chars) } else { String::new() },
            s.total_seconds,
            c.out.display()
        );
    }
    Ok(())
}

fn run_boilerplate(args: BoilerplateArgs) -> Result<()> {
    let c = &args.common;
    let (inputs, bars) = start(c)?;
    let cfg = BoilerplateRunConfig {
        read: c.read_options(),
        boilerplate: BoilerplateConfig {
            normalize: c.normalize_options(),
            min_df: args.min_df,
            max_chars: args.max_chars,
            ..BoilerplateConfig::default()
        },
        strict: c.read.strict,
    };
    let progress = bars.for_args(c);
    let s = boilerplate::run(&inputs, &c.out, &cfg, progress)?;
    if !c.read.quiet {
        let skipped = print_skips(&s.input.skipped_examples, &s.input.skipped, &c.out);
        eprintln!(
            "{} documents ({} skipped), {} distinct segments, {} boilerplate segments; {:.2} s. Outputs in {}",
            s.documents,
            skipped,
            s.distinct_segments,
            s.boilerplate,
            s.total_seconds,
            c.out.display()
        );
    }
    Ok(())
}

fn run_substrings(args: SubstringsArgs) -> Result<()> {
    let c = &args.common;
    let (inputs, bars) = start(c)?;
    let cfg = SubstringsConfig {
        read: c.read_options(),
        normalize: c.normalize_options(),
        min_length: args.min_length,
        remove: args.remove,
        shard_units: args.shard_units,
        strict: c.read.strict,
        memory_budget: args.memory_mb.map(|m| (m as u64) << 20),
    };
    let progress = bars.for_args(c);
    let s = substrings::run(&inputs, &c.out, &cfg, progress)?;
    if !c.read.quiet {
        let skipped = print_skips(&s.input.skipped_examples, &s.input.skipped, &c.out);
        eprintln!(
            "{} documents ({} skipped), {} units; {} repeated spans in {} documents, {:.2}% of units. Outputs in {}",
            s.documents,
            skipped,
            s.units,
            s.duplicate_spans,
            s.documents_with_duplicates,
            100.0 * s.duplicate_fraction,
            c.out.display()
        );
    }
    Ok(())
}

fn run_dedup(args: DedupArgs) -> Result<()> {
    let c = &args.common;
    let (inputs, bars) = start(c)?;
    let cfg = DedupConfig {
        read: c.read_options(),
        options: DedupOptions {
            normalize: c.normalize_options(),
            ngram: args.ngram,
            word_ngram: Some(args.word_ngram),
            num_perm: args.num_perm,
            threshold: args.threshold,
            containment_threshold: args.containment_threshold,
            partial_containment: (!args.no_partial).then_some(args.partial_containment),
            lsh_threshold: args.lsh_threshold,
            seed: args.seed,
            keep: match args.keep {
                KeepArg::First => Keep::First,
                KeepArg::Longest => Keep::Longest,
            },
            boilerplate: args.list.boilerplate_filter()?,
            large_cluster: args.large_cluster,
            ..DedupOptions::default()
        },
        strict: c.read.strict,
        boilerplate_list: args.list.boilerplate_list(),
        memory_budget: args.memory_mb << 20,
        write_candidates: args.write_candidates,
        write_deduplicated: !args.no_deduplicated,
    };
    let progress = bars.for_args(c);
    let s = dedup::run(&inputs, &c.out, &cfg, progress)?;
    if !c.read.quiet {
        let skipped = print_skips(&s.input.skipped_examples, &s.input.skipped, &c.out);
        eprintln!(
            "{} documents ({} records, {} skipped{}), {} clusters, {} duplicates removed, {} kept; {:.2} s. Outputs in {}",
            s.documents,
            s.input.records_read,
            skipped,
            if skipped > 0 { format!(": {:?}", s.input.skipped) } else { String::new() },
            s.clusters,
            s.documents_removed,
            s.documents_kept,
            s.total_seconds,
            c.out.display()
        );
    }
    Ok(())
}
