//! Readers and writers.
//!
//! Inputs (shared by every job):
//! - a **directory**: every file below it, recursively, in file-name order; one file is one document whose id is
//!   its path relative to the directory (with `/` separators);
//! - a **JSONL file** (`.jsonl`, `.ndjson`, `.json`), plain, gzip or zstd compressed (detected from the magic
//!   bytes); one line is one record, the id and text taken from configurable fields;
//! - `-`: JSONL on standard input (spooled to a temporary file, so that a second pass can read it again);
//! - any other file: one text document whose id is the path as given.
//!
//! Text files are decoded from UTF-8 (with or without BOM), UTF-16 with BOM, or a legacy encoding guessed by
//! `chardetng` and decoded by `encoding_rs` (GBK/GB18030, Big5, Shift_JIS, ...). Reading is split in two: the
//! sequential [`RecordReader`] yields [`RawRecord`]s (bytes and their location); [`parse_record`], which is pure and
//! runs in parallel, turns one into a [`Document`] or a [`Skip`] with its reason. Nothing is dropped silently.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

/// One input as given by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A directory of text files.
    Dir(PathBuf),
    /// A JSONL file, possibly gzip or zstd compressed.
    Jsonl(PathBuf),
    /// One text file: one document.
    TextFile(PathBuf),
    /// JSONL on standard input.
    Stdin,
}

impl Input {
    /// Classifies a command-line argument: `-` is standard input; a directory is a directory; a file named
    /// `*.jsonl`, `*.ndjson` or `*.json` (optionally followed by `.gz`, `.zst` or `.zstd`) is JSONL; any other file
    /// is one text document.
    ///
    /// # Errors
    /// When the path does not exist.
    pub fn from_arg(arg: &str) -> io::Result<Input> {
        if arg == "-" {
            return Ok(Input::Stdin);
        }
        let p = PathBuf::from(arg);
        let meta = std::fs::metadata(&p).map_err(|e| io::Error::new(e.kind(), format!("{arg}: {e}")))?;
        if meta.is_dir() {
            return Ok(Input::Dir(p));
        }
        let name = p.file_name().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
        let base = name.trim_end_matches(".gz").trim_end_matches(".zstd").trim_end_matches(".zst");
        if base.ends_with(".jsonl") || base.ends_with(".ndjson") || base.ends_with(".json") {
            Ok(Input::Jsonl(p))
        } else {
            Ok(Input::TextFile(p))
        }
    }

    /// The input's absolute path (as recorded in summaries, so that a later job such as `report` finds it again
    /// from any directory); `<stdin>` for standard input.
    pub fn absolute_path(&self) -> String {
        match self {
            Input::Dir(p) | Input::Jsonl(p) | Input::TextFile(p) => {
                std::path::absolute(p).unwrap_or_else(|_| p.clone()).display().to_string()
            }
            Input::Stdin => "<stdin>".to_string(),
        }
    }

    /// How the input is named in messages.
    pub fn display_name(&self) -> String {
        match self {
            Input::Dir(p) | Input::Jsonl(p) | Input::TextFile(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".to_string(),
        }
    }
}

/// Where a record came from: a file and, for JSONL, a 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file (for a directory input, the file below it; `<stdin>` for standard input).
    pub file: Arc<str>,
    /// 1-based line number in a JSONL file; `None` for a text file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}", self.file, l),
            None => write!(f, "{}", self.file),
        }
    }
}

/// What the reader found before parsing.
#[derive(Debug, Clone)]
pub enum Payload {
    /// The bytes of a text file, with the document id derived from its path.
    File { id: String, bytes: Vec<u8> },
    /// One JSONL line, without its line terminator.
    JsonLine(Vec<u8>),
    /// The file or line could not be read at all.
    Unreadable(String),
}

/// A record as read, before decoding and parsing.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// Position of the record in the input sequence, from 0; equal across two reads of the same inputs.
    pub seq: u64,
    /// Where it came from.
    pub location: Location,
    /// Its bytes.
    pub payload: Payload,
}

/// Settings for reading records.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ReadOptions {
    /// JSONL field holding the document id (string or number).
    pub id_field: String,
    /// JSONL field holding the document text.
    pub text_field: String,
    /// Documents larger than this many bytes are skipped (reported as too large).
    pub max_doc_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { id_field: "id".into(), text_field: "text".into(), max_doc_bytes: 64 << 20 }
    }
}

/// A decoded document.
#[derive(Debug, Clone)]
pub struct Document {
    /// Position in the input sequence (see [`RawRecord::seq`]).
    pub seq: u64,
    /// The document id.
    pub id: String,
    /// The text, decoded.
    pub text: String,
    /// The encoding the text was decoded from (`UTF-8`, `UTF-8 with BOM`, `UTF-16LE`, `GBK`, `Big5`, ...).
    pub encoding: &'static str,
    /// Invalid byte sequences replaced by U+FFFD while decoding.
    pub replaced: usize,
    /// Where it came from.
    pub location: Location,
}

/// Why a record was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// The text is empty or only whitespace.
    EmptyText,
    /// The text has no character that survives normalization (only punctuation or symbols).
    NoContent,
    /// The JSON line does not parse.
    MalformedJson { error: String },
    /// The JSON line is not an object.
    NotAnObject,
    /// The id field is absent or null.
    MissingId { field: String },
    /// The id field is neither a string nor a number.
    BadId { field: String },
    /// The text field is absent or null.
    MissingText { field: String },
    /// The text field is not a string.
    BadText { field: String },
    /// Another record already used this id.
    DuplicateId { id: String, first: String },
    /// The document is larger than the limit.
    TooLarge { bytes: usize, limit: usize },
    /// The bytes look binary (NUL bytes without a UTF-16 byte order mark).
    Binary,
    /// No encoding decodes the bytes well (too many invalid sequences).
    Undecodable { detail: String },
    /// The file could not be read.
    Unreadable { error: String },
}

impl SkipReason {
    /// A short stable key for counting.
    pub fn key(&self) -> &'static str {
        match self {
            SkipReason::EmptyText => "empty_text",
            SkipReason::NoContent => "no_content",
            SkipReason::MalformedJson { .. } => "malformed_json",
            SkipReason::NotAnObject => "not_an_object",
            SkipReason::MissingId { .. } => "missing_id",
            SkipReason::BadId { .. } => "bad_id",
            SkipReason::MissingText { .. } => "missing_text",
            SkipReason::BadText { .. } => "bad_text",
            SkipReason::DuplicateId { .. } => "duplicate_id",
            SkipReason::TooLarge { .. } => "too_large",
            SkipReason::Binary => "binary",
            SkipReason::Undecodable { .. } => "undecodable",
            SkipReason::Unreadable { .. } => "unreadable",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::EmptyText => write!(f, "empty text"),
            SkipReason::NoContent => write!(f, "no letters, digits or CJK characters in the text"),
            SkipReason::MalformedJson { error } => write!(f, "malformed JSON: {error}"),
            SkipReason::NotAnObject => write!(f, "the JSON value is not an object"),
            SkipReason::MissingId { field } => write!(f, "missing id field \"{field}\""),
            SkipReason::BadId { field } => write!(f, "id field \"{field}\" is neither a string nor a number"),
            SkipReason::MissingText { field } => write!(f, "missing text field \"{field}\""),
            SkipReason::BadText { field } => write!(f, "text field \"{field}\" is not a string"),
            SkipReason::DuplicateId { id, first } => write!(f, "duplicate id \"{id}\" (first at {first})"),
            SkipReason::TooLarge { bytes, limit } => {
                write!(f, "document of {bytes} bytes exceeds the limit of {limit}")
            }
            SkipReason::Binary => write!(f, "binary file (NUL bytes)"),
            SkipReason::Undecodable { detail } => write!(f, "undecodable: {detail}"),
            SkipReason::Unreadable { error } => write!(f, "unreadable: {error}"),
        }
    }
}

/// A skipped record: where, which id if known, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// Position in the input sequence.
    pub seq: u64,
    /// Where it came from.
    pub location: Location,
    /// The id, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why.
    #[serde(flatten)]
    pub reason: SkipReason,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: skipped", self.location)?;
        if let Some(id) = &self.id {
            write!(f, " document \"{id}\"")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Decodes bytes of unknown encoding. Returns the text, the encoding's name and the number of invalid sequences
/// replaced by U+FFFD.
///
/// Order: byte order mark (UTF-8, UTF-16LE/BE); valid UTF-8; damaged UTF-8 (valid multi-byte sequences
/// outnumber invalid ones 8 to 1), decoded with the invalid sequences replaced; else the `chardetng` guess (GBK,
/// Big5, Shift_JIS, windows-125x, ...) when it decodes without errors and, for a single-byte encoding, looks like
/// text.
///
/// # Errors
/// [`SkipReason::Binary`] for NUL bytes without a UTF-16 BOM; [`SkipReason::Undecodable`] when more than 5 % of
/// the decoded characters would be replacements, or no encoding gives plausible text.
pub fn decode_bytes(bytes: &[u8]) -> Result<(String, &'static str, usize), SkipReason> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        let replaced = if had_errors { text.matches('\u{FFFD}').count() } else { 0 };
        let name = if enc == encoding_rs::UTF_8 { "UTF-8 with BOM" } else { enc.name() };
        return check_replaced(text.into_owned(), name, replaced);
    }
    if memchr_nul(bytes) {
        return Err(SkipReason::Binary);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "UTF-8", 0));
    }
    // Damaged UTF-8: valid multi-byte sequences far outnumber the invalid ones.
    let lossy = String::from_utf8_lossy(bytes);
    let replaced = lossy.matches('\u{FFFD}').count();
    let multibyte = lossy.chars().filter(|&c| !c.is_ascii() && c != '\u{FFFD}').count();
    if multibyte >= 8 * replaced {
        return check_replaced(lossy.into_owned(), "UTF-8 (invalid bytes replaced)", replaced);
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, true);
    let enc = det.guess(None, chardetng::Utf8Detection::Deny);
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(SkipReason::Undecodable { detail: format!("invalid UTF-8, and invalid as {} too", enc.name()) });
    }
    if enc.is_single_byte() && !plausible_text(&text) {
        return Err(SkipReason::Undecodable {
            detail: format!(
                "invalid UTF-8; as {} it has too few spaces or too many control characters to be text",
                enc.name()
            ),
        });
    }
    let name = if enc == encoding_rs::GBK || enc == encoding_rs::GB18030 { "GB18030" } else { enc.name() };
    Ok((text.into_owned(), name, 0))
}

/// A plausibility check for text decoded from a single-byte legacy encoding, which decodes any bytes at all:
/// alphabetic scripts separate words with spaces (at least 3 % of the characters) and use few control characters.
fn plausible_text(text: &str) -> bool {
    let (mut n, mut spaces, mut controls) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        n += 1;
        if c.is_whitespace() {
            spaces += 1;
        } else if c.is_control() {
            controls += 1;
        }
    }
    n > 0 && spaces * 100 >= 3 * n && controls * 100 <= n
}

fn check_replaced(
    text: String,
    name: &'static str,
    replaced: usize,
) -> Result<(String, &'static str, usize), SkipReason> {
    if replaced > 0 {
        let n = text.chars().count().max(1);
        if replaced * 20 > n {
            return Err(SkipReason::Undecodable {
                detail: format!("{replaced} of {n} characters are invalid byte sequences ({name})"),
            });
        }
    }
    Ok((text, name, replaced))
}

fn memchr_nul(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1 << 16)].contains(&0)
}

/// Decodes and parses one raw record into a document. Pure; safe to run in parallel.
///
/// # Errors
/// A [`Skip`] with the reason: malformed JSON, missing or ill-typed fields, empty text, too large, binary or
/// undecodable bytes, unreadable file.
pub fn parse_record(raw: &RawRecord, opts: &ReadOptions) -> Result<Document, Skip> {
    let skip =
        |id: Option<String>, reason: SkipReason| Skip { seq: raw.seq, location: raw.location.clone(), id, reason };
    match &raw.payload {
        Payload::Unreadable(e) => Err(skip(None, SkipReason::Unreadable { error: e.clone() })),
        Payload::File { id, bytes } => {
            if bytes.len() > opts.max_doc_bytes {
                return Err(skip(
                    Some(id.clone()),
                    SkipReason::TooLarge { bytes: bytes.len(), limit: opts.max_doc_bytes },
                ));
            }
            let (text, encoding, replaced) = decode_bytes(bytes).map_err(|r| skip(Some(id.clone()), r))?;
            if text.trim().is_empty() {
                return Err(skip(Some(id.clone()), SkipReason::EmptyText));
            }
            Ok(Document { seq: raw.seq, id: id.clone(), text, encoding, replaced, location: raw.location.clone() })
        }
        Payload::JsonLine(bytes) => {
            let (line, encoding, replaced) = match std::str::from_utf8(bytes) {
                Ok(s) => (std::borrow::Cow::Borrowed(s), "UTF-8", 0),
                Err(_) => {
                    let (s, e, r) = decode_bytes(bytes).map_err(|r| skip(None, r))?;
                    (std::borrow::Cow::Owned(s), e, r)
                }
            };
            let value: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| skip(None, SkipReason::MalformedJson { error: e.to_string() }))?;
            let serde_json::Value::Object(mut obj) = value else {
                return Err(skip(None, SkipReason::NotAnObject));
            };
            let id = match obj.get(&opts.id_field) {
                None | Some(serde_json::Value::Null) => {
                    return Err(skip(None, SkipReason::MissingId { field: opts.id_field.clone() }))
                }
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                Some(_) => return Err(skip(None, SkipReason::BadId { field: opts.id_field.clone() })),
            };
            let text = match obj.remove(&opts.text_field) {
                None | Some(serde_json::Value::Null) => {
                    return Err(skip(Some(id), SkipReason::MissingText { field: opts.text_field.clone() }))
                }
                Some(serde_json::Value::String(s)) => s,
                Some(_) => return Err(skip(Some(id), SkipReason::BadText { field: opts.text_field.clone() })),
            };
            if text.len() > opts.max_doc_bytes {
                return Err(skip(Some(id), SkipReason::TooLarge { bytes: text.len(), limit: opts.max_doc_bytes }));
            }
            if text.trim().is_empty() {
                return Err(skip(Some(id), SkipReason::EmptyText));
            }
            Ok(Document { seq: raw.seq, id, text, encoding, replaced, location: raw.location.clone() })
        }
    }
}

/// Opens a file for reading, transparently decompressing gzip and zstd (detected from the magic bytes).
///
/// # Errors
/// When the file cannot be opened or the decompressor cannot start.
pub fn open_maybe_compressed(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let mut f = BufReader::with_capacity(1 << 20, File::open(path)?);
    let head = f.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(f))))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok(Box::new(BufReader::with_capacity(1 << 20, zstd::stream::read::Decoder::with_buffer(f)?)))
    } else {
        Ok(Box::new(f))
    }
}

enum Source {
    Files { root: PathBuf, files: std::vec::IntoIter<PathBuf> },
    Lines { name: Arc<str>, reader: Box<dyn BufRead + Send>, line: u64 },
    Single(Option<PathBuf>),
}

/// Reads the records of a list of inputs, in order, sequentially. Deterministic: two readers over the same inputs
/// yield the same records with the same `seq`.
pub struct RecordReader {
    inputs: std::collections::VecDeque<Input>,
    current: Option<Source>,
    seq: u64,
    /// Bytes read so far (of decompressed JSONL lines and text files).
    pub bytes_read: u64,
    stdin_spool: Option<Arc<tempfile::NamedTempFile>>,
    spool_writer: Option<io::BufWriter<File>>,
    /// Blank JSONL lines seen (not documents, not counted as skipped).
    pub blank_lines: u64,
}

impl RecordReader {
    /// Starts reading `inputs`. Standard input is copied to a temporary spool file as it is read, so that
    /// [`RecordReader::reopen`] can read it again.
    pub fn new(inputs: &[Input]) -> RecordReader {
        RecordReader {
            inputs: inputs.iter().cloned().collect(),
            current: None,
            seq: 0,
            bytes_read: 0,
            stdin_spool: None,
            spool_writer: None,
            blank_lines: 0,
        }
    }

    /// A new reader over the same inputs from the beginning; standard input is read from the spool of this one.
    ///
    /// # Errors
    /// When the spool cannot be reopened.
    pub fn reopen(&mut self, inputs: &[Input]) -> io::Result<RecordReader> {
        if let Some(w) = self.spool_writer.as_mut() {
            w.flush()?;
        }
        let replaced: Vec<Input> = inputs
            .iter()
            .map(|i| match (i, &self.stdin_spool) {
                (Input::Stdin, Some(sp)) => Input::Jsonl(sp.path().to_path_buf()),
                _ => i.clone(),
            })
            .collect();
        let mut r = RecordReader::new(&replaced);
        r.stdin_spool = self.stdin_spool.clone();
        Ok(r)
    }

    fn open_next(&mut self) -> Option<Result<(), RawRecord>> {
        let input = self.inputs.pop_front()?;
        let fail = |seq: u64, name: String, e: io::Error| RawRecord {
            seq,
            location: Location { file: name.into(), line: None },
            payload: Payload::Unreadable(e.to_string()),
        };
        match input {
            Input::Dir(root) => {
                let mut files = Vec::new();
                for entry in walkdir::WalkDir::new(&root)
                    .sort_by_file_name()
                    .follow_links(true)
                    .into_iter()
                    .filter_entry(|e| !crate::outdir::is_tool_output_entry(e))
                {
                    match entry {
                        Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
                        Ok(_) => {}
                        Err(e) => {
                            let name =
                                e.path().map(|p| p.display().to_string()).unwrap_or_else(|| root.display().to_string());
                            let seq = self.seq;
                            self.seq += 1;
                            self.current = Some(Source::Files { root, files: files.into_iter() });
                            return Some(Err(fail(seq, name, io::Error::other(e.to_string()))));
                        }
                    }
                }
                self.current = Some(Source::Files { root, files: files.into_iter() });
            }
            Input::TextFile(p) => self.current = Some(Source::Single(Some(p))),
            Input::Jsonl(p) => match open_maybe_compressed(&p) {
                Ok(reader) => {
                    self.current = Some(Source::Lines { name: p.display().to_string().into(), reader, line: 0 })
                }
                Err(e) => {
                    let seq = self.seq;
                    self.seq += 1;
                    return Some(Err(fail(seq, p.display().to_string(), e)));
                }
            },
            Input::Stdin => {
                let spool = match tempfile::NamedTempFile::new() {
                    Ok(s) => s,
                    Err(e) => {
                        let seq = self.seq;
                        self.seq += 1;
                        return Some(Err(fail(seq, "<stdin>".into(), e)));
                    }
                };
                let writer = spool.reopen().map(|f| io::BufWriter::with_capacity(1 << 20, f));
                self.spool_writer = writer.ok();
                self.stdin_spool = Some(Arc::new(spool));
                let reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 20, io::stdin()));
                self.current = Some(Source::Lines { name: "<stdin>".into(), reader, line: 0 });
            }
        }
        Some(Ok(()))
    }
}

impl Iterator for RecordReader {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        loop {
            if self.current.is_none() {
                match self.open_next()? {
                    Ok(()) => {}
                    Err(rec) => return Some(rec),
                }
            }
            let seq = self.seq;
            let src = self.current.as_mut().expect("source open");
            match src {
                Source::Single(p) => {
                    let Some(p) = p.take() else {
                        self.current = None;
                        continue;
                    };
                    self.seq += 1;
                    let name = p.display().to_string();
                    let location = Location { file: name.clone().into(), line: None };
                    let payload = match std::fs::read(&p) {
                        Ok(bytes) => {
                            self.bytes_read += bytes.len() as u64;
                            Payload::File { id: name, bytes }
                        }
                        Err(e) => Payload::Unreadable(e.to_string()),
                    };
                    return Some(RawRecord { seq, location, payload });
                }
                Source::Files { root, files } => {
                    let Some(p) = files.next() else {
                        self.current = None;
                        continue;
                    };
                    self.seq += 1;
                    let rel = p.strip_prefix(&*root).unwrap_or(&p);
                    let id = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                    let location = Location { file: p.display().to_string().into(), line: None };
                    let payload = match std::fs::read(&p) {
                        Ok(bytes) => {
                            self.bytes_read += bytes.len() as u64;
                            Payload::File { id, bytes }
                        }
                        Err(e) => Payload::Unreadable(e.to_string()),
                    };
                    return Some(RawRecord { seq, location, payload });
                }
                Source::Lines { name, reader, line } => {
                    let mut buf = Vec::new();
                    match reader.read_until(b'\n', &mut buf) {
                        Ok(0) => {
                            self.current = None;
                            continue;
                        }
                        Ok(_) => {
                            *line += 1;
                            self.bytes_read += buf.len() as u64;
                            if let Some(w) = self.spool_writer.as_mut() {
                                if &**name == "<stdin>" {
                                    let _ = w.write_all(&buf);
                                }
                            }
                            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                                buf.pop();
                            }
                            if *line == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
                                buf.drain(..3);
                            }
                            if buf.iter().all(|b| b.is_ascii_whitespace()) {
                                self.blank_lines += 1;
                                continue;
                            }
                            self.seq += 1;
                            let location = Location { file: name.clone(), line: Some(*line) };
                            return Some(RawRecord { seq, location, payload: Payload::JsonLine(buf) });
                        }
                        Err(e) => {
                            *line += 1;
                            self.seq += 1;
                            let location = Location { file: name.clone(), line: Some(*line) };
                            self.current = None;
                            return Some(RawRecord { seq, location, payload: Payload::Unreadable(e.to_string()) });
                        }
                    }
                }
            }
        }
    }
}

/// Writes a file atomically: the content goes to a temporary file in the same directory, which is renamed over
/// `path` once complete, so a reader never sees a half-written file.
pub struct AtomicWriter {
    tmp: tempfile::NamedTempFile,
    writer: Option<io::BufWriter<File>>,
    path: PathBuf,
}

impl AtomicWriter {
    /// Starts writing `path`.
    ///
    /// # Errors
    /// When the temporary file cannot be created in `path`'s directory.
    pub fn create(path: &Path) -> io::Result<AtomicWriter> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
        let writer = io::BufWriter::with_capacity(1 << 20, tmp.reopen()?);
        Ok(AtomicWriter { tmp, writer: Some(writer), path: path.to_path_buf() })
    }

    /// Writes one value as a JSON line.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn write_json_line<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        let w = self.writer.as_mut().expect("open");
        serde_json::to_writer(&mut *w, value)?;
        w.write_all(b"\n")
    }

    /// Flushes, syncs and renames the file into place.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn commit(mut self) -> io::Result<()> {
        let mut w = self.writer.take().expect("open");
        w.flush()?;
        w.get_ref().sync_all()?;
        drop(w);
        self.tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Write for AtomicWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("open").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("open").flush()
    }
}

/// Writes `value` as pretty JSON to `path`, atomically.
///
/// # Errors
/// On I/O errors.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut w = AtomicWriter::create(path)?;
    serde_json::to_writer_pretty(&mut w, value)?;
    w.write_all(b"\n")?;
    w.commit()
}

/// Reads every document of `inputs` into memory (for small inputs and tests). Skipped records are returned
/// beside the documents.
pub fn read_all(inputs: &[Input], opts: &ReadOptions) -> (Vec<Document>, Vec<Skip>) {
    let mut docs = Vec::new();
    let mut skips = Vec::new();
    for raw in RecordReader::new(inputs) {
        match parse_record(&raw, opts) {
            Ok(d) => docs.push(d),
            Err(s) => skips.push(s),
        }
    }
    (docs, skips)
}
