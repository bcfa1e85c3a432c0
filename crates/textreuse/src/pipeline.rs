//! What every job shares around its algorithm: reading the inputs in parallel batches with skip accounting, stage
//! timings, and the errors that stop a run.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::io::RunDir;
use crate::io::{
    check_inputs, parse_record, Document, Input, Location, Payload, RawRecord, ReadOptions, RecordReader, Skip,
    SkipReason,
};
use crate::progress::Progress;

/// Errors that stop a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An I/O error, with what was being done. Its message is the context; the error itself is its
    /// [`std::error::Error::source`] (printed once, after the context, by a caller that prints the chain).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A record was skipped in strict mode.
    #[error("{0} (strict mode)")]
    Strict(Skip),
    /// Invalid settings.
    #[error("invalid settings: {0}")]
    Config(String),
    /// Every record was skipped: the run produced nothing.
    #[error("{0}")]
    NothingRead(String),
}

/// Wraps an I/O error with what was being done.
pub fn ioe(context: impl Into<String>) -> impl FnOnce(io::Error) -> RunError {
    let context = context.into();
    move |source| RunError::Io { context, source }
}

/// The opening and closing every job shares: a [`RunDir`] (outputs staged beside `--out` and moved into place
/// together on success; a directory of the user's is refused before any work), stage timings, `skipped.jsonl`, and
/// `summary.json`.
pub struct JobContext {
    dir: RunDir,
    stages: BTreeMap<String, StageTime>,
    started: Instant,
}

impl JobContext {
    /// Starts job `job` writing into `out_dir`.
    ///
    /// # Errors
    /// When `out_dir` is one of the inputs, holds files this tool did not write, or cannot be written.
    pub fn create(job: &str, inputs: &[Input], out_dir: &Path) -> Result<JobContext, RunError> {
        let started = Instant::now();
        let out_abs = std::path::absolute(out_dir).unwrap_or_else(|_| out_dir.to_path_buf());
        for i in inputs {
            if let Input::Dir(p) | Input::Jsonl(p) | Input::TextFile(p) = i {
                let same = match (p.canonicalize(), out_dir.canonicalize()) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => std::path::absolute(p).is_ok_and(|a| a == out_abs),
                };
                if same {
                    return Err(RunError::Config(format!(
                        "the output directory {} is also an input; choose another output directory",
                        out_dir.display()
                    )));
                }
            }
        }
        let dir =
            RunDir::create(out_dir, job).map_err(|e| RunError::Io { context: "output directory".into(), source: e })?;
        Ok(JobContext { dir, stages: BTreeMap::new(), started })
    }

    /// Where to write output `file` now (inside the staging directory).
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// The staging directory (for spill files that must go away with the run).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Records the time of a stage.
    pub fn stage(&mut self, name: &str, time: StageTime) {
        self.stages.insert(name.to_string(), time);
    }

    /// Runs `f` and records its wall time as stage `name`.
    pub fn timed<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        self.stage(name, StageTime::wall(t.elapsed().as_secs_f64()));
        r
    }

    /// The stage timings so far (for the summary).
    pub fn stages(&self) -> BTreeMap<String, StageTime> {
        self.stages.clone()
    }

    /// Seconds since the job started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Writes `skipped.jsonl` and returns the input part of the summary.
    ///
    /// # Errors
    /// When records were read but every one was skipped (the message gives the reasons and, for JSONL, the fields
    /// the first record has); when `skipped.jsonl` cannot be written.
    pub fn input_report(&self, scan: &ScanStats, inputs: &[Input]) -> Result<InputReport, RunError> {
        let report = scan.report(inputs, self.dir.path())?;
        let documents = scan.records - scan.skips.len() as u64;
        if documents == 0 && !scan.skips.is_empty() {
            let reasons: Vec<String> = report.skipped.iter().map(|(k, n)| format!("{k} ({n})")).collect();
            let mut msg = format!(
                "every one of the {} records read was skipped: {}; the first: {}",
                scan.records,
                reasons.join(", "),
                scan.skips[0]
            );
            if let Some(fields) = first_record_fields(inputs) {
                msg.push_str(&format!("; the first JSON record has the fields {}", fields.join(", ")));
            }
            return Err(RunError::NothingRead(msg));
        }
        Ok(report)
    }

    /// Writes `summary.json` and moves every output into place.
    ///
    /// # Errors
    /// On I/O errors (the previous content of the output directory then stays as it was).
    pub fn finish<S: Serialize>(self, summary: &S) -> Result<PathBuf, RunError> {
        crate::io::write_json_atomic(&self.dir.path().join("summary.json"), summary)
            .map_err(ioe("writing summary.json"))?;
        self.dir.commit().map_err(ioe("moving the outputs into place"))
    }
}

/// The field names of the first JSON object of the first JSONL input (or standard input's spool), for messages.
fn first_record_fields(inputs: &[Input]) -> Option<Vec<String>> {
    // A pipe cannot be read again (opening a named pipe without a writer would block).
    let p = inputs.iter().find_map(|i| match i {
        Input::Jsonl(p) if !i.is_stream() => Some(p),
        _ => None,
    })?;
    let mut r = crate::io::open_maybe_compressed(p).ok()?;
    let mut line = String::new();
    loop {
        line.clear();
        if std::io::BufRead::read_line(&mut r, &mut line).ok()? == 0 {
            return None;
        }
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(&line) {
            return Some(m.keys().map(|k| format!("{k:?}")).collect());
        }
    }
}

/// Timing and throughput of one stage.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StageTime {
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// CPU seconds summed over threads, for stages that run fused in one parallel pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    /// Input megabytes (10^6 bytes) per second (of wall time, or of CPU time where `cpu_seconds` is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mb_per_second: Option<f64>,
}

impl StageTime {
    /// A stage measured by wall time only.
    pub fn wall(seconds: f64) -> StageTime {
        StageTime { wall_seconds: seconds, cpu_seconds: None, mb_per_second: None }
    }
}

/// A document that passed reading and the job's own per-document step.
pub struct Scanned<T> {
    /// Position in the input sequence.
    pub seq: u64,
    /// The document id (unique: later duplicates are skipped).
    pub id: String,
    /// Where it came from.
    pub location: Location,
    /// What the job's step made of it.
    pub value: T,
    /// A hash of the record's bytes as read ([`record_digest`]), for a job that reads its inputs again
    /// ([`scan_spooling`] with `spool` set; 0 otherwise): its later pass checks it reads the same record.
    pub digest: u64,
    /// Bytes of the record's JSONL line as read (without its line end); `None` for a text file.
    pub line_bytes: Option<u64>,
}

/// A 64-bit hash (XXH3) of a record's bytes as read, and its id for a text file; 0 for a record that was not read.
/// Two passes over the same inputs give every record the same digest.
pub fn record_digest(raw: &RawRecord) -> u64 {
    use xxhash_rust::xxh3::xxh3_64;
    match &raw.payload {
        Payload::File { id, bytes } => xxh3_64(bytes) ^ xxh3_64(id.as_bytes()).rotate_left(1),
        Payload::JsonLine(b) => xxh3_64(b),
        Payload::Unreadable(_) | Payload::Refused { .. } => 0,
    }
}

/// A parsed and mapped document with its source encoding and replaced-byte count, or why it was skipped.
type ScanResult<T> = Result<(Scanned<T>, &'static str, usize), Skip>;

/// What reading saw.
pub struct ScanStats {
    /// Records read (documents and skipped records).
    pub records: u64,
    /// Input bytes read (after decompression).
    pub bytes_read: u64,
    /// Blank JSONL lines.
    pub blank_lines: u64,
    /// Every skipped record, in input order of discovery.
    pub skips: Vec<Skip>,
    /// Documents per source encoding.
    pub decoded_from: BTreeMap<String, u64>,
    /// Documents in which invalid bytes were replaced.
    pub replaced_docs: u64,
    /// Total input bytes as stored when known beforehand ([`total_input_bytes`]), for progress bars of later
    /// passes.
    pub total_bytes: Option<u64>,
    /// The reader, for a second pass over the same inputs ([`RecordReader::reopen`]; streams only after
    /// [`scan_spooling`]).
    pub reader: RecordReader,
}

fn payload_bytes(r: &RawRecord) -> u64 {
    r.payload.len()
}

/// Batches of [`scan`] on the thread pool at a time. Three rather than two: the thread that delivers the results
/// then does so while two batches are on the pool, and the pool has work queued when the machine's other load takes
/// one of its threads off a core for a while (the realistic 1 GB corpus: the first pass 0.25 and 0.42 s shorter at
/// the medians of two sets of six interleaved rounds, a busy spell; the same in a quiet minute; `bench/RESULTS.md`,
/// twenty-second session).
const BATCHES_ON_POOL: usize = 3;

/// Batches of raw records, read on a separate thread so that reading and decompression overlap the work. The
/// thread ends at the end of the input or once the receiver is dropped, and returns the reader.
pub(crate) fn spawn_reader(
    mut reader: RecordReader,
) -> (mpsc::Receiver<Vec<RawRecord>>, std::thread::JoinHandle<RecordReader>) {
    // One batch waits ready while the pool works on three others ([`BATCHES_ON_POOL`]) and the reader fills a fifth:
    // more batches ahead only held more records in fresh memory, each page of it faulted in (four ahead of two on the
    // pool: ~1,200 more faults on zh-dev).
    let (tx, rx) = mpsc::sync_channel::<Vec<RawRecord>>(1);
    let handle = std::thread::spawn(move || {
        let mut batch = Vec::new();
        let mut bytes = 0u64;
        for rec in reader.by_ref() {
            bytes += payload_bytes(&rec);
            batch.push(rec);
            if batch.len() >= 512 || bytes >= 8 << 20 {
                if tx.send(std::mem::take(&mut batch)).is_err() {
                    return reader;
                }
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        reader
    });
    (rx, handle)
}

/// Reads every record of `inputs`, decodes and parses it and applies `map` to each document, in parallel batches;
/// then hands the results to `sink` one by one, in input order, so the outcome does not depend on the thread
/// count. Skipped records (bad input, `map`'s refusals, duplicate ids) are collected with their reasons, or stop
/// the run in `strict` mode, where a document that needed invalid bytes replaced while decoding is refused too.
/// Reports progress in input bytes as stored (compressed bytes of a compressed file) under the stage name `stage`.
///
/// # Errors
/// Inputs that [`check_inputs`] refuses (before anything is read); the first skip in strict mode; whatever `sink`
/// returns.
///
/// The inputs are read once: standard input and other streams are not copied aside ([`scan_spooling`] copies
/// them, for a job that reads its inputs again).
pub fn scan<T: Send>(
    inputs: &[Input],
    read: &ReadOptions,
    strict: bool,
    stage: &str,
    progress: &dyn Progress,
    map: impl Fn(Document) -> Result<T, SkipReason> + Sync,
    sink: impl FnMut(Scanned<T>) -> Result<(), RunError>,
) -> Result<ScanStats, RunError> {
    scan_spooling(inputs, read, strict, stage, progress, false, map, sink)
}

/// [`scan`], for a job that reads its inputs a second time through [`ScanStats::reader`]
/// ([`RecordReader::reopen`]) when `spool` is set: streams are then copied to temporary spool files as they are
/// read, and each record gets its digest ([`Scanned::digest`]) for the second pass to check.
///
/// # Errors
/// As [`scan`].
#[allow(clippy::too_many_arguments)]
pub fn scan_spooling<T: Send>(
    inputs: &[Input],
    read: &ReadOptions,
    strict: bool,
    stage: &str,
    progress: &dyn Progress,
    spool: bool,
    map: impl Fn(Document) -> Result<T, SkipReason> + Sync,
    mut sink: impl FnMut(Scanned<T>) -> Result<(), RunError>,
) -> Result<ScanStats, RunError> {
    let mut ids: HashMap<String, Location> = HashMap::new();
    let mut stats_skips: Vec<Skip> = Vec::new();
    let mut decoded_from: BTreeMap<String, u64> = BTreeMap::new();
    let mut replaced_docs = 0u64;
    let mut records = 0u64;
    check_inputs(inputs).map_err(|e| RunError::Config(e.to_string()))?;
    let total_bytes = total_input_bytes(inputs);
    progress.start(stage, total_bytes, "bytes");
    let reader = RecordReader::new(inputs).max_doc_bytes(read.max_doc_bytes).spool_streams(spool);
    let disk_bytes = reader.disk_bytes();
    let mut disk_seen = 0u64;
    let (rx, handle) = spawn_reader(reader);
    let mut skip = |s: Skip| -> Result<(), RunError> {
        if strict {
            return Err(RunError::Strict(s));
        }
        stats_skips.push(s);
        Ok(())
    };
    // Parses and maps one batch on the thread pool.
    let work = |batch: Vec<RawRecord>| -> (Vec<ScanResult<T>>, u64) {
        let n = batch.len() as u64;
        let results = batch
            .par_iter()
            .map(|raw| {
                let doc = parse_record(raw, read)?;
                let (seq, id, location, encoding, replaced) =
                    (doc.seq, doc.id.clone(), doc.location.clone(), doc.encoding, doc.replaced);
                if strict && replaced > 0 {
                    let reason = SkipReason::ReplacedBytes { replaced, encoding: encoding.to_string() };
                    return Err(Skip { seq, location, id: Some(id), reason });
                }
                // Only a job that reads its inputs again checks the records of its second pass against these.
                let digest = if spool { record_digest(raw) } else { 0 };
                let line_bytes = match &raw.payload {
                    Payload::JsonLine(b) => Some(b.len() as u64),
                    _ => None,
                };
                match map(doc) {
                    Ok(value) => Ok((Scanned { seq, id, location, value, digest, line_bytes }, encoding, replaced)),
                    Err(reason) => Err(Skip { seq, location, id: Some(id), reason }),
                }
            })
            .collect();
        (results, n)
    };
    // Hands one batch's results to `sink`, in input order, on this thread.
    let mut deliver = |(results, n): (Vec<ScanResult<T>>, u64)| -> Result<(), RunError> {
        records += n;
        for r in results {
            let (item, encoding, replaced) = match r {
                Ok(x) => x,
                Err(s) => {
                    skip(s)?;
                    continue;
                }
            };
            if let Some(first) = ids.get(&item.id) {
                let reason = SkipReason::DuplicateId { first: first.to_string() };
                skip(Skip { seq: item.seq, location: item.location, id: Some(item.id), reason })?;
                continue;
            }
            *decoded_from.entry(encoding.to_string()).or_default() += 1;
            if replaced > 0 {
                replaced_docs += 1;
            }
            ids.insert(item.id.clone(), item.location.clone());
            sink(item)?;
        }
        let now = disk_bytes.load(std::sync::atomic::Ordering::Relaxed);
        progress.inc(now.saturating_sub(disk_seen));
        disk_seen = now;
        Ok(())
    };
    // Several batches are on the pool at a time: the workers that finish their share of the oldest one go on with the
    // newer ones instead of waiting for its last documents (one long document kept a core idle). This thread waits
    // for the oldest one and delivers it, in input order, while the pool works on the newer.
    std::thread::scope(|s| -> Result<(), RunError> {
        let mut in_flight = std::collections::VecDeque::with_capacity(BATCHES_ON_POOL);
        for batch in rx {
            in_flight.push_back(s.spawn(|| work(batch)));
            if in_flight.len() == BATCHES_ON_POOL {
                let done = in_flight.pop_front().expect("batches in flight").join().expect("worker thread panicked");
                deliver(done)?;
            }
        }
        for next in in_flight {
            deliver(next.join().expect("worker thread panicked"))?;
        }
        Ok(())
    })?;
    let reader = handle.join().expect("reader thread panicked");
    progress.finish();
    Ok(ScanStats {
        records,
        bytes_read: reader.bytes_read,
        blank_lines: reader.blank_lines,
        skips: stats_skips,
        decoded_from,
        replaced_docs,
        total_bytes,
        reader,
    })
}

/// What every job's summary says about its input; flattened into each `summary.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct InputReport {
    /// The inputs, as given.
    pub inputs: Vec<String>,
    /// The inputs' absolute paths (what `report` reads again).
    pub input_paths: Vec<String>,
    /// Records read (documents and skipped records).
    pub records_read: u64,
    /// Input bytes read (after decompression).
    pub bytes_read: u64,
    /// Blank JSONL lines (not records).
    pub blank_lines: u64,
    /// Records skipped, by reason (details in `skipped.jsonl`).
    pub skipped: BTreeMap<String, u64>,
    /// The first skipped records, as messages naming file, line and reason.
    pub skipped_examples: Vec<String>,
    /// Documents per source encoding.
    pub decoded_from: BTreeMap<String, u64>,
    /// Documents in which invalid byte sequences were replaced by U+FFFD.
    pub documents_with_replaced_bytes: u64,
}

impl ScanStats {
    /// Writes `skipped.jsonl` into `out_dir` and returns the input part of the job's summary.
    ///
    /// # Errors
    /// When `skipped.jsonl` cannot be written.
    pub fn report(&self, inputs: &[Input], out_dir: &std::path::Path) -> Result<InputReport, RunError> {
        let skipped = write_skips(&out_dir.join("skipped.jsonl"), &self.skips).map_err(ioe("writing skipped.jsonl"))?;
        Ok(InputReport {
            inputs: inputs.iter().map(Input::display_name).collect(),
            input_paths: inputs.iter().map(Input::absolute_path).collect(),
            records_read: self.records,
            bytes_read: self.bytes_read,
            blank_lines: self.blank_lines,
            skipped,
            skipped_examples: self.skips.iter().take(20).map(ToString::to_string).collect(),
            decoded_from: self.decoded_from.clone(),
            documents_with_replaced_bytes: self.replaced_docs,
        })
    }
}

/// Total size of the inputs as stored (compressed files count their compressed size), for progress bars against
/// [`RecordReader::disk_bytes`]; `None` when an input is a stream (standard input, a pipe).
pub fn total_input_bytes(inputs: &[Input]) -> Option<u64> {
    let mut total = 0;
    for i in inputs {
        if i.is_stream() {
            return None;
        }
        match i {
            Input::Stdin => return None,
            Input::TextFile(p) | Input::Jsonl(p) => {
                total += std::fs::metadata(p).ok()?.len();
            }
            Input::Dir(d) => {
                for e in walkdir::WalkDir::new(d)
                    .follow_links(true)
                    .into_iter()
                    .filter_entry(|e| !crate::io::outdir::is_tool_output_entry(e))
                    .flatten()
                {
                    if e.file_type().is_file() {
                        total += e.metadata().map(|m| m.len()).unwrap_or(0);
                    }
                }
            }
        }
    }
    Some(total)
}

/// Writes `skipped.jsonl` (every skip, with file, line and reason) and returns the counts by reason.
///
/// # Errors
/// On I/O errors.
pub fn write_skips(path: &std::path::Path, skips: &[Skip]) -> io::Result<BTreeMap<String, u64>> {
    let mut w = crate::io::AtomicWriter::create(path)?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for s in skips {
        *counts.entry(s.reason.key().to_string()).or_default() += 1;
        w.write_json_line(s)?;
    }
    w.commit()?;
    Ok(counts)
}
