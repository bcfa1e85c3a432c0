//! Readers and writers.
//!
//! Inputs (shared by every job):
//! - a **directory**: every file below it, recursively, in file-name order. A file named like a JSONL file (see
//!   below) is read as JSONL records; any other file is one document whose id is its path relative to the directory
//!   (with `/` separators, [`path_id`]). Entries that are not regular files (FIFOs, sockets, devices) are skipped
//!   and reported, and so is every error of the walk (an unreadable subdirectory, a symbolic-link loop): the walk
//!   goes on after it;
//! - a **JSONL file** (`.jsonl`, `.ndjson`, `.json`), plain, gzip or zstd compressed (detected from the magic
//!   bytes); one line is one record, the id and text taken from configurable fields;
//! - `-`: JSONL on standard input; a named pipe or process substitution (`<(zcat corpus.jsonl.gz)`) is JSONL too;
//! - any other file: one text document whose id is the path as given;
//! - a pattern with `*`, `?` or `[` that names no file is expanded as a glob ([`Input::from_args`]).
//!
//! Standard input, named pipes and process substitutions (`<(...)`) can be read once only: they are copied to a
//! temporary spool file while the first pass reads them, and [`RecordReader::reopen`] reads the spool. Each of
//! them may be given once ([`check_inputs`]).
//!
//! Sizes are checked before reading: a file larger than [`ReadOptions::max_doc_bytes`] is skipped without being
//! read, and a JSONL line longer than [`ReadOptions::max_line_bytes`] is skipped as it streams past, never held in
//! memory.
//!
//! Text files are decoded from UTF-8 (with or without BOM), UTF-16 or UTF-32 with BOM, or a legacy encoding guessed
//! by `chardetng` and decoded by `encoding_rs` (GBK/GB18030, Big5, Shift_JIS, ...). Reading is split in two: the
//! sequential [`RecordReader`] yields [`RawRecord`]s (bytes and their location); [`parse_record`], which is pure and
//! runs in parallel, turns one into a [`Document`] or a [`Skip`] with its reason. Nothing is dropped silently.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::json_fields::{object_fields, FieldValue};

/// One input as given by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A directory of text files (and JSONL files).
    Dir(PathBuf),
    /// A JSONL file, possibly gzip or zstd compressed.
    Jsonl(PathBuf),
    /// One text file: one document.
    TextFile(PathBuf),
    /// JSONL on standard input.
    Stdin,
}

/// True for a file name that [`Input::from_arg`] and directory walks read as JSONL: `*.jsonl`, `*.ndjson` or
/// `*.json`, optionally followed by `.gz`, `.zst` or `.zstd` (case-insensitive).
pub fn is_jsonl_name(name: &OsStr) -> bool {
    let name = name.to_string_lossy().to_lowercase();
    let base = name.strip_suffix(".gz").or_else(|| name.strip_suffix(".zstd")).or_else(|| name.strip_suffix(".zst"));
    let base = base.unwrap_or(&name);
    base.ends_with(".jsonl") || base.ends_with(".ndjson") || base.ends_with(".json")
}

impl Input {
    /// Classifies a command-line argument: `-` is standard input; a directory is a directory; a file named like
    /// JSONL ([`is_jsonl_name`]) is JSONL, and so is a named pipe or a process substitution (`<(...)`), whatever its
    /// name, as standard input is; any other file is one text document.
    ///
    /// # Errors
    /// When the path does not exist; the message names it (escaped, [`display_path`]).
    pub fn from_arg(arg: &str) -> io::Result<Input> {
        if arg == "-" {
            return Ok(Input::Stdin);
        }
        Input::from_path(PathBuf::from(arg))
    }

    fn from_path(p: PathBuf) -> io::Result<Input> {
        let meta = std::fs::metadata(&p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", display_path(&p))))?;
        if meta.is_dir() {
            return Ok(Input::Dir(p));
        }
        // A pipe (`<(zcat corpus.jsonl.gz)` is `/dev/fd/63`) is read as JSONL, like standard input.
        if !meta.is_file() || p.file_name().is_some_and(is_jsonl_name) {
            Ok(Input::Jsonl(p))
        } else {
            Ok(Input::TextFile(p))
        }
    }

    /// Classifies every command-line argument ([`Input::from_arg`]); an argument with `*`, `?` or `[` that names
    /// no existing path is a glob pattern and stands for the paths it matches, sorted. Then [`check_inputs`].
    ///
    /// # Errors
    /// A path that does not exist, a pattern that matches nothing or is invalid, or what [`check_inputs`] refuses.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> io::Result<Vec<Input>> {
        let mut out = Vec::new();
        for arg in args {
            let arg = arg.as_ref();
            let is_pattern = arg.contains(['*', '?', '[']);
            if arg != "-" && is_pattern && std::fs::symlink_metadata(arg).is_err() {
                let paths = glob::glob(arg).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("{}: invalid pattern: {e}", escape_str(arg)))
                })?;
                let mut matched: Vec<PathBuf> = paths.collect::<Result<_, _>>().map_err(|e| {
                    io::Error::new(e.error().kind(), format!("{}: {}", display_path(e.path()), e.error()))
                })?;
                if matched.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{}: no file matches this pattern", escape_str(arg)),
                    ));
                }
                matched.sort();
                for p in matched {
                    out.push(Input::from_path(p)?);
                }
            } else {
                out.push(Input::from_arg(arg)?);
            }
        }
        check_inputs(&out)?;
        Ok(out)
    }

    /// True for an input that can be read once only: standard input, a named pipe, a process substitution
    /// (`<(...)`), a character device. [`RecordReader`] spools such an input on its first pass.
    pub fn is_stream(&self) -> bool {
        match self {
            Input::Stdin => true,
            Input::Jsonl(p) | Input::TextFile(p) => is_stream_path(p),
            Input::Dir(_) => false,
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

    /// How the input is named in messages (control characters and bytes that are not UTF-8 escaped).
    pub fn display_name(&self) -> String {
        match self {
            Input::Dir(p) | Input::Jsonl(p) | Input::TextFile(p) => display_path(p),
            Input::Stdin => "<stdin>".to_string(),
        }
    }
}

fn is_stream_path(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Refuses inputs that cannot all be read: standard input (`-`) given more than once, or the same named pipe or
/// device given more than once (each can be read once only; the second would read nothing, or block).
///
/// # Errors
/// `InvalidInput`, naming the input.
pub fn check_inputs(inputs: &[Input]) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mut streams: Vec<(u64, u64)> = Vec::new();
    let mut stdin = false;
    for i in inputs {
        let refuse = |what: String| {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{what} is given more than once; it can be read once only, so give it once"),
            ))
        };
        match i {
            Input::Stdin if stdin => return refuse("`-` (standard input)".into()),
            Input::Stdin => stdin = true,
            Input::Jsonl(p) | Input::TextFile(p) => {
                if let Ok(m) = std::fs::metadata(p) {
                    if !m.is_file() && !m.is_dir() {
                        if streams.contains(&(m.dev(), m.ino())) {
                            return refuse(format!("{} (a pipe or device)", display_path(p)));
                        }
                        streams.push((m.dev(), m.ino()));
                    }
                }
            }
            Input::Dir(_) => {}
        }
    }
    Ok(())
}

/// Escapes bytes that are not UTF-8 as `\xNN` and backslashes as `\\`; with `control`, also control characters
/// (`\n`, `\t`, `\u{1b}`, ...). Text that is UTF-8 without backslashes (and without control characters, with
/// `control`) is unchanged. The escape is reversible: a backslash in the result always starts an escape.
fn escape_bytes(bytes: &[u8], control: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if control && c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn escape_str(s: &str) -> String {
    escape_bytes(s.as_bytes(), true)
}

/// A path as a document id: unchanged when it is UTF-8 without a backslash; otherwise bytes that are not UTF-8
/// are written `\xNN` and backslashes `\\`. Two different paths never get one id, and the path can be recovered
/// from the id.
pub fn path_id(p: &Path) -> String {
    escape_bytes(p.as_os_str().as_bytes(), false)
}

/// A path for messages and locations: as [`path_id`], and control characters (a newline in a file name) are
/// escaped too, so that a message stays on one line and says which file it means.
pub fn display_path(p: &Path) -> String {
    escape_bytes(p.as_os_str().as_bytes(), true)
}

/// Where a record came from: a file and, for JSONL, a 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file (for a directory input, the file below it; `<stdin>` for standard input), escaped as by
    /// [`display_path`].
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
    /// Refused before its content was read (too large, not a regular file), with the id when known.
    Refused { id: Option<String>, reason: SkipReason },
}

impl Payload {
    /// Bytes of the record as read (a JSONL line counts its line break); 0 for a record that was not read.
    pub fn len(&self) -> u64 {
        match self {
            Payload::File { bytes, .. } => bytes.len() as u64,
            Payload::JsonLine(b) => b.len() as u64 + 1,
            Payload::Unreadable(_) | Payload::Refused { .. } => 0,
        }
    }

    /// True when [`Payload::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
    /// JSONL field holding the document id (string or number; a number keeps its literal text).
    pub id_field: String,
    /// JSONL field holding the document text.
    pub text_field: String,
    /// Documents larger than this many bytes are skipped (reported as too large); a file is not read when its
    /// size exceeds it.
    pub max_doc_bytes: usize,
}

impl ReadOptions {
    /// JSONL lines longer than this are skipped as too large without being held in memory: twice
    /// `max_doc_bytes` (a text escaped as `\uXXXX`, as Python's `json.dumps` writes CJK, takes two bytes of JSON
    /// per byte of UTF-8) plus 1 MiB for the other fields.
    pub fn max_line_bytes(&self) -> usize {
        line_limit(self.max_doc_bytes)
    }
}

fn line_limit(max_doc_bytes: usize) -> usize {
    max_doc_bytes.saturating_mul(2).saturating_add(1 << 20)
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
    /// The encoding the text was decoded from (`UTF-8`, `UTF-8 with BOM`, `UTF-16LE`, `UTF-32LE`, `GBK`, `Big5`,
    /// ...).
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
    /// Another record already used this id (the record's id is in [`Skip::id`]); `first` is where.
    DuplicateId { first: String },
    /// The document (a file, or a JSONL line beyond [`ReadOptions::max_line_bytes`]) is larger than the limit, in
    /// bytes.
    TooLarge { bytes: u64, limit: u64 },
    /// An entry of a directory that is not a regular file (a FIFO, a socket, a device): not read.
    NotARegularFile { kind: String },
    /// The bytes look binary (NUL bytes without a UTF-16 or UTF-32 byte order mark).
    Binary,
    /// No encoding decodes the bytes well (too many invalid sequences).
    Undecodable { detail: String },
    /// Invalid byte sequences were replaced by U+FFFD while decoding (refused in strict mode only; otherwise the
    /// document is kept and counted).
    ReplacedBytes { replaced: usize, encoding: String },
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
            SkipReason::NotARegularFile { .. } => "not_a_regular_file",
            SkipReason::Binary => "binary",
            SkipReason::Undecodable { .. } => "undecodable",
            SkipReason::ReplacedBytes { .. } => "replaced_bytes",
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
            SkipReason::DuplicateId { first } => write!(f, "duplicate id (first at {first})"),
            SkipReason::TooLarge { bytes, limit } => write!(f, "{bytes} bytes exceed the limit of {limit}"),
            SkipReason::NotARegularFile { kind } => write!(f, "not a regular file ({kind}); not read"),
            SkipReason::Binary => write!(f, "binary file (NUL bytes)"),
            SkipReason::Undecodable { detail } => write!(f, "undecodable: {detail}"),
            SkipReason::ReplacedBytes { replaced, encoding } => {
                write!(f, "{replaced} invalid byte sequences replaced while decoding as {encoding}")
            }
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
            write!(f, " document \"{}\"", escape_str(id))?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Decodes bytes of unknown encoding. Returns the text, the encoding's name and the number of invalid sequences
/// replaced by U+FFFD.
///
/// Order: byte order mark (UTF-32LE/BE, checked before UTF-16 since `FF FE 00 00` starts both; UTF-8,
/// UTF-16LE/BE); valid UTF-8; damaged UTF-8 (valid multi-byte sequences outnumber invalid ones 8 to 1), decoded
/// with the invalid sequences replaced; else the `chardetng` guess (GBK, Big5, Shift_JIS, windows-125x, ...) when it
/// decodes without errors and, for a single-byte encoding, looks like text.
///
/// # Errors
/// [`SkipReason::Binary`] for NUL bytes without a UTF-16 or UTF-32 BOM; [`SkipReason::Undecodable`] when more than
/// 5 % of the decoded characters would be replacements, or no encoding gives plausible text.
pub fn decode_bytes(bytes: &[u8]) -> Result<(String, &'static str, usize), SkipReason> {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE, 0, 0]) {
        let (text, replaced) = decode_utf32(rest, u32::from_le_bytes);
        return check_replaced(text, "UTF-32LE", replaced);
    }
    if let Some(rest) = bytes.strip_prefix(&[0, 0, 0xFE, 0xFF]) {
        let (text, replaced) = decode_utf32(rest, u32::from_be_bytes);
        return check_replaced(text, "UTF-32BE", replaced);
    }
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

/// UTF-32 (after its byte order mark): every 4 bytes one code point; a value that is not a Unicode scalar value
/// (a surrogate, beyond U+10FFFF) or a trailing partial unit becomes U+FFFD. Returns the text and the number of
/// replacements.
fn decode_utf32(bytes: &[u8], unit: fn([u8; 4]) -> u32) -> (String, usize) {
    let mut text = String::with_capacity(bytes.len() / 2);
    let mut replaced = 0;
    let units = bytes.chunks_exact(4);
    let tail = units.remainder().len();
    for u in units {
        match char::from_u32(unit([u[0], u[1], u[2], u[3]])) {
            Some(c) => text.push(c),
            None => {
                text.push('\u{FFFD}');
                replaced += 1;
            }
        }
    }
    if tail > 0 {
        text.push('\u{FFFD}');
        replaced += 1;
    }
    (text, replaced)
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
    memchr::memchr(0, &bytes[..bytes.len().min(1 << 16)]).is_some()
}

/// The id and text fields of a JSON object, unparsed; every other field is skipped without being built.
struct Fields<'f> {
    id_field: &'f str,
    text_field: &'f str,
}

type RawFields<'de> = (Option<&'de RawValue>, Option<&'de RawValue>);

impl<'de> serde::de::DeserializeSeed<'de> for Fields<'_> {
    type Value = RawFields<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Fields<'_> {
    type Value = RawFields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut text) = (None, None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            // A repeated key: the last one counts, as in a `serde_json::Value`.
            if key.0 == self.id_field {
                id = Some(map.next_value::<&'de RawValue>()?);
                if self.id_field == self.text_field {
                    text = id;
                }
            } else if key.0 == self.text_field {
                text = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok((id, text))
    }
}

/// An object key, borrowed from the line when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The id and text of a JSON line, or why it is skipped (with the id when it was read).
type FieldsResult = Result<(String, String), (Option<String>, SkipReason)>;

/// The value of the JSON string literal `raw` (its quotes included), as `serde_json::from_str::<String>` gives it.
/// Where serde_json has already checked the literal while skipping it (every escape well formed, no control
/// character: what a [`RawValue`] of a parsed line is), [`unescape_json_str`] unescapes it in one allocation;
/// serde_json itself answers for anything else.
///
/// # Errors
/// serde_json's error for a literal that is not a valid JSON string (a lone surrogate escape, a bad escape...).
fn json_string(raw: &str) -> Result<String, serde_json::Error> {
    match unescape_json_str(raw) {
        Some(s) => Ok(s),
        None => serde_json::from_str::<String>(raw),
    }
}

/// The value of a JSON string literal `raw` (quotes included) whose escapes are well formed, unescaped by
/// [`crate::json_fields::unescape_string`] into one allocation (where serde_json's string parser grows a scratch
/// buffer by doubling and copies it out). `None` where the literal is not a quoted string, holds a control
/// character, an escape is not one of JSON's (RFC 8259 §7), or a `\u` escape is a surrogate that is not a high one
/// followed by a low one: the caller leaves those to serde_json. The result is the same as serde_json's wherever it
/// is `Some` (`unescaping_is_serde_jsons`).
fn unescape_json_str(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    if b.len() < 2 || b[0] != b'"' || b[b.len() - 1] != b'"' {
        return None;
    }
    let (s, end) = crate::json_fields::unescape_string(b, 1)?;
    (end == b.len()).then_some(s)
}

/// The document id from the raw value of the id field: a string unescaped, a number as its literal text.
fn parse_id(id: Option<&str>, opts: &ReadOptions) -> Result<String, (Option<String>, SkipReason)> {
    match id.map(str::trim) {
        None | Some("null") => Err((None, SkipReason::MissingId { field: opts.id_field.clone() })),
        Some(r) if r.starts_with('"') => {
            json_string(r).map_err(|e| (None, SkipReason::MalformedJson { error: e.to_string() }))
        }
        Some(r) if r.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => Ok(r.to_string()),
        Some(_) => Err((None, SkipReason::BadId { field: opts.id_field.clone() })),
    }
}

/// Parses the id and text fields of one JSON line. A numeric id keeps its literal text (`123456789012345678901`,
/// `1e2`), since a number converted to a float would lose digits and merge distinct ids. The common line (an object
/// whose keys have no escapes) is read in one pass that checks it and unescapes the text
/// ([`crate::json_fields::object_fields`]); any other line is read by serde_json, which finds both fields unparsed
/// (checking them while it skips them), then each string is unescaped ([`json_string`]). Both give the same result
/// for any line (`one_pass_fields_agree_with_serde_json`).
fn parse_json_fields(line: &str, opts: &ReadOptions) -> FieldsResult {
    use serde::de::DeserializeSeed;
    if let Some((id, text)) = object_fields(line, &opts.id_field, &opts.text_field) {
        let id = parse_id(id, opts)?;
        return match text {
            Some(FieldValue::Str(t)) => Ok((id, t)),
            None | Some(FieldValue::Raw("null")) => {
                Err((Some(id), SkipReason::MissingText { field: opts.text_field.clone() }))
            }
            Some(FieldValue::Raw(_)) => Err((Some(id), SkipReason::BadText { field: opts.text_field.clone() })),
        };
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let fields = Fields { id_field: &opts.id_field, text_field: &opts.text_field };
    let parsed = fields.deserialize(&mut de).and_then(|f| de.end().map(|()| f));
    let (id, text) = match parsed {
        Ok(f) => f,
        Err(_) => {
            // Valid JSON that is not an object, or not JSON at all.
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(line) {
                Ok(_) => (None, SkipReason::NotAnObject),
                Err(e) => (None, SkipReason::MalformedJson { error: e.to_string() }),
            });
        }
    };
    let id = parse_id(id.map(RawValue::get), opts)?;
    let text = match text.map(|r| r.get().trim()) {
        None | Some("null") => return Err((Some(id), SkipReason::MissingText { field: opts.text_field.clone() })),
        Some(r) if r.starts_with('"') => match json_string(r) {
            Ok(t) => t,
            Err(e) => return Err((Some(id), SkipReason::MalformedJson { error: e.to_string() })),
        },
        Some(_) => return Err((Some(id), SkipReason::BadText { field: opts.text_field.clone() })),
    };
    Ok((id, text))
}

/// Decodes and parses one raw record into a document. Pure; safe to run in parallel.
///
/// # Errors
/// A [`Skip`] with the reason: malformed JSON, missing or ill-typed fields, empty text, too large, binary or
/// undecodable bytes, unreadable file, refused by the reader.
pub fn parse_record(raw: &RawRecord, opts: &ReadOptions) -> Result<Document, Skip> {
    let skip =
        |id: Option<String>, reason: SkipReason| Skip { seq: raw.seq, location: raw.location.clone(), id, reason };
    let too_large = |bytes: usize| SkipReason::TooLarge { bytes: bytes as u64, limit: opts.max_doc_bytes as u64 };
    match &raw.payload {
        Payload::Unreadable(e) => Err(skip(None, SkipReason::Unreadable { error: e.clone() })),
        Payload::Refused { id, reason } => Err(skip(id.clone(), reason.clone())),
        Payload::File { id, bytes } => {
            if bytes.len() > opts.max_doc_bytes {
                return Err(skip(Some(id.clone()), too_large(bytes.len())));
            }
            let (text, encoding, replaced) = decode_bytes(bytes).map_err(|r| skip(Some(id.clone()), r))?;
            if text.trim().is_empty() {
                return Err(skip(Some(id.clone()), SkipReason::EmptyText));
            }
            Ok(Document { seq: raw.seq, id: id.clone(), text, encoding, replaced, location: raw.location.clone() })
        }
        Payload::JsonLine(bytes) => {
            // `simdutf8` accepts exactly what `std::str::from_utf8` accepts, faster.
            let (line, encoding, replaced) = match simdutf8::basic::from_utf8(bytes) {
                Ok(s) => (Cow::Borrowed(s), "UTF-8", 0),
                Err(_) => {
                    let (s, e, r) = decode_bytes(bytes).map_err(|r| skip(None, r))?;
                    (Cow::Owned(s), e, r)
                }
            };
            let (id, text) = parse_json_fields(&line, opts).map_err(|(id, r)| skip(id, r))?;
            if text.len() > opts.max_doc_bytes {
                return Err(skip(Some(id), too_large(text.len())));
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
    decompress(BufReader::with_capacity(1 << 20, File::open(path)?))
}

/// `f`, decompressed when its first bytes are a gzip or zstd magic number.
fn decompress<R: BufRead + Send + 'static>(f: R) -> io::Result<Box<dyn BufRead + Send>> {
    decompress_with_kind(f, true).map(|(r, _)| r)
}

/// [`decompress`], and whether the input was compressed; zstd frames' content checksums verified only with
/// `zstd_checksums` ([`crate::zstd_ring::RingDecoder::without_checksum`]).
fn decompress_with_kind<R: BufRead + Send + 'static>(
    mut f: R,
    zstd_checksums: bool,
) -> io::Result<(Box<dyn BufRead + Send>, bool)> {
    let head = f.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(f))), true))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = crate::zstd_ring::RingDecoder::new(f)?;
        let decoder = if zstd_checksums { decoder } else { decoder.without_checksum()? };
        Ok((Box::new(decoder), true))
    } else {
        Ok((Box::new(f), false))
    }
}

/// The read buffer of a reader over a segment of an uncompressed file ([`RecordReader::segment`]): a few segments
/// are read at once, each buffer fresh memory.
const PLAIN_SEGMENT_BUFFER: usize = 256 << 10;

/// Adds the bytes read through it to a shared counter (the bytes as stored: compressed bytes for a compressed
/// file), for progress against file sizes.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads one line (up to and including `\n`) into `buf`, copying it to `spool` when given. A line longer than
/// `limit` bytes is read past without being kept (`buf` is left empty). Returns the line's length in bytes and
/// whether it was too long, or `None` at the end of the input.
fn read_line_bounded(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
    mut spool: Option<&mut io::BufWriter<File>>,
) -> io::Result<Option<(u64, bool)>> {
    let (mut total, mut too_long) = (0u64, false);
    loop {
        let avail = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        let (chunk, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..=i], true),
            None => (avail, false),
        };
        if let Some(w) = spool.as_mut() {
            w.write_all(chunk)?;
        }
        if !too_long {
            if buf.len() + chunk.len() > limit {
                too_long = true;
                *buf = Vec::new();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let n = chunk.len();
        total += n as u64;
        reader.consume(n);
        if done {
            break;
        }
    }
    Ok((total > 0).then_some((total, too_long)))
}

/// Reads a whole file of at most `max` bytes: a regular file larger than that is not read at all. A stream (a
/// pipe) is read to its end and copied to `spool`, holding at most `max` bytes in memory. Returns the bytes, or the
/// size when it is too large.
fn read_file_bounded(
    path: &Path,
    max: usize,
    spool: Option<&mut File>,
    counter: &AtomicU64,
) -> io::Result<Result<Vec<u8>, u64>> {
    let mut f = File::open(path)?;
    let meta = f.metadata()?;
    if meta.is_file() {
        if meta.len() > max as u64 {
            return Ok(Err(meta.len()));
        }
        let mut buf = Vec::with_capacity(meta.len() as usize);
        // A file that grew since it was measured is still not read beyond the limit.
        (&mut f).take(max as u64 + 1).read_to_end(&mut buf)?;
        counter.fetch_add(buf.len() as u64, Ordering::Relaxed);
        if buf.len() > max {
            return Ok(Err(buf.len() as u64));
        }
        return Ok(Ok(buf));
    }
    let mut spool = spool;
    let (mut buf, mut total, mut too_large) = (Vec::new(), 0u64, false);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match f.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        total += n as u64;
        if let Some(s) = spool.as_mut() {
            s.write_all(&chunk[..n])?;
        }
        if !too_large {
            if buf.len() + n > max {
                too_large = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
    if let Some(s) = spool {
        s.flush()?;
    }
    Ok(if too_large { Err(total) } else { Ok(buf) })
}

/// An entry found by walking a directory.
enum Entry {
    Text { path: PathBuf, id: String },
    Jsonl(PathBuf),
    Special { path: PathBuf, id: String, kind: &'static str },
    Error { name: String, error: String },
}

fn file_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

/// Every entry below `root`, in file-name order, following symbolic links. An error (an unreadable directory, a
/// symbolic-link loop, a broken link) becomes an entry of its own and the walk goes on after it.
fn walk(root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root).sort_by_file_name().follow_links(true);
    // The tool's own output and staging directories are never read back as input.
    for entry in walker.into_iter().filter_entry(|e| !crate::outdir::is_tool_output_entry(e)) {
        match entry {
            Ok(e) => {
                let ft = e.file_type();
                if ft.is_dir() {
                    continue;
                }
                let path = e.into_path();
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let id = rel.components().map(|c| path_id(Path::new(c.as_os_str()))).collect::<Vec<_>>().join("/");
                if !ft.is_file() {
                    out.push(Entry::Special { path, id, kind: file_kind(&ft) });
                } else if path.file_name().is_some_and(is_jsonl_name) {
                    out.push(Entry::Jsonl(path));
                } else {
                    out.push(Entry::Text { path, id });
                }
            }
            Err(e) => {
                let name = e.path().map(display_path).unwrap_or_else(|| display_path(root));
                let error = match (e.loop_ancestor(), e.io_error()) {
                    (Some(a), _) => format!("symbolic link loop back to {}", display_path(a)),
                    (None, Some(io)) => io.to_string(),
                    (None, None) => e.to_string(),
                };
                out.push(Entry::Error { name, error });
            }
        }
    }
    out
}

/// One JSONL file, or a run of whole lines of an uncompressed one, as a [`RecordReader`] read it: where it is and
/// which records it gave ([`RecordReader::line_segments`]).
#[derive(Debug, Clone)]
pub struct LineSegment {
    /// The file, as opened.
    pub path: PathBuf,
    /// Its name in [`Location`]s.
    pub name: Arc<str>,
    /// `seq` of its first record (of the next record when it had none).
    pub first_seq: u64,
    /// `seq` after its last record; `None` until the file was read to its end.
    pub end_seq: Option<u64>,
    /// Byte offset of its first line in the file (0 for a whole file).
    pub start_byte: u64,
    /// Byte offset after its last line; `None`: to the end of the file.
    pub end_byte: Option<u64>,
    /// Lines of the file before its first line (so the first is line `first_line + 1`).
    pub first_line: u64,
    /// Whether the file is read as it is stored (not compressed): only such a file is cut into several segments.
    pub plain: bool,
}

/// A [`RecordReader`] cuts an uncompressed JSONL file into segments of about this many bytes (at line starts), so
/// that a second pass can read one large file on several threads ([`RecordReader::line_segments`]).
pub const SEGMENT_BYTES: u64 = 4 << 20;

enum Source {
    Entries(std::vec::IntoIter<Entry>),
    Lines {
        name: Arc<str>,
        reader: Box<dyn BufRead + Send>,
        line: u64,
        spool: Option<io::BufWriter<File>>,
        /// Bytes of the file read so far (of its lines as stored, when `plain`).
        offset: u64,
        /// An uncompressed file whose segments this reader records ([`LineSegment`]).
        plain: bool,
    },
}

/// Reads the records of a list of inputs, in order, sequentially. Deterministic: two readers over the same inputs
/// yield the same records with the same `seq`.
pub struct RecordReader {
    inputs: Vec<Input>,
    next_input: usize,
    stack: Vec<Source>,
    seq: u64,
    max_doc_bytes: usize,
    /// Spool files of the inputs that can be read once only ([`Input::is_stream`]), by input index.
    spools: Vec<Option<Arc<tempfile::NamedTempFile>>>,
    /// Read the spools instead of the streams (a reader made by [`RecordReader::reopen`]).
    replay: bool,
    /// Copy streams to spools as they are read ([`RecordReader::spool_streams`]).
    spool_streams: bool,
    /// The JSONL files read so far, in order, with the records each gave ([`RecordReader::line_segments`]).
    segments: Vec<LineSegment>,
    /// Bytes of an uncompressed file after which a new segment starts at the next line ([`SEGMENT_BYTES`]).
    segment_bytes: u64,
    /// False once a record came from anything else than a JSONL file read to its end (a text file, a stream, an
    /// error, a refused entry).
    lines_only: bool,
    disk_bytes: Arc<AtomicU64>,
    /// Bytes read so far (of decompressed JSONL lines and text files).
    pub bytes_read: u64,
    /// Blank JSONL lines seen (not documents, not counted as skipped).
    pub blank_lines: u64,
}

impl RecordReader {
    /// Starts reading `inputs`, with the default size limit ([`ReadOptions::default`]). Standard input and other
    /// streams are copied to a temporary spool file as they are read, so that [`RecordReader::reopen`] can read them
    /// again.
    pub fn new(inputs: &[Input]) -> RecordReader {
        RecordReader {
            inputs: inputs.to_vec(),
            next_input: 0,
            stack: Vec::new(),
            seq: 0,
            max_doc_bytes: ReadOptions::default().max_doc_bytes,
            spools: vec![None; inputs.len()],
            replay: false,
            spool_streams: true,
            segments: Vec::new(),
            segment_bytes: SEGMENT_BYTES,
            lines_only: true,
            disk_bytes: Arc::new(AtomicU64::new(0)),
            bytes_read: 0,
            blank_lines: 0,
        }
    }

    /// Sets the size limit in bytes: a larger file is skipped without being read, and a JSONL line longer than
    /// [`ReadOptions::max_line_bytes`] is skipped as it streams past.
    pub fn max_doc_bytes(mut self, max: usize) -> RecordReader {
        self.max_doc_bytes = max;
        self
    }

    /// Sets the size of the segments an uncompressed JSONL file is cut into ([`SEGMENT_BYTES`] by default; at least
    /// one line each).
    pub fn segment_bytes(mut self, bytes: u64) -> RecordReader {
        self.segment_bytes = bytes.max(1);
        self
    }

    /// Whether standard input and other streams are copied to spool files as they are read (the default), so that
    /// [`RecordReader::reopen`] can read them again. A reader that is read once only needs no copy: with `false`,
    /// nothing is written and [`RecordReader::reopen`] refuses inputs with a stream.
    pub fn spool_streams(mut self, spool: bool) -> RecordReader {
        self.spool_streams = spool;
        self
    }

    /// A counter of the bytes read so far as stored on disk (compressed bytes for a compressed file), updated as
    /// the reader goes: progress against the inputs' file sizes.
    pub fn disk_bytes(&self) -> Arc<AtomicU64> {
        self.disk_bytes.clone()
    }

    /// A new reader over the same inputs (`inputs` must be those this reader was made with) from the beginning;
    /// standard input and other streams are read from the spools this one wrote.
    ///
    /// # Errors
    /// When a spool cannot be flushed, or when an input is a stream and this reader kept no spool of it
    /// ([`RecordReader::spool_streams`]).
    pub fn reopen(&mut self, inputs: &[Input]) -> io::Result<RecordReader> {
        if !self.spool_streams {
            if let Some(stream) = inputs.iter().find(|i| i.is_stream()) {
                return Err(io::Error::other(format!(
                    "{} can be read once only, and the first pass kept no copy of it",
                    stream.display_name()
                )));
            }
        }
        for s in &mut self.stack {
            if let Source::Lines { spool: Some(w), .. } = s {
                w.flush()?;
            }
        }
        let mut r = RecordReader::new(inputs).max_doc_bytes(self.max_doc_bytes);
        for (k, sp) in self.spools.iter().enumerate().take(inputs.len()) {
            r.spools[k] = sp.clone();
        }
        r.replay = true;
        Ok(r)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq - 1
    }

    fn refused(&mut self, file: Arc<str>, line: Option<u64>, payload: Payload) -> RawRecord {
        self.lines_only = false;
        RawRecord { seq: self.next_seq(), location: Location { file, line }, payload }
    }

    fn new_spool(&mut self, input: usize) -> io::Result<File> {
        let spool = tempfile::NamedTempFile::new()?;
        let w = spool.reopen()?;
        self.spools[input] = Some(Arc::new(spool));
        Ok(w)
    }

    /// One text file as one record: refused unread when larger than the limit.
    fn text_record(&mut self, path: &Path, id: String, name: Arc<str>, spool: Option<&mut File>) -> RawRecord {
        let payload = match read_file_bounded(path, self.max_doc_bytes, spool, &self.disk_bytes) {
            Ok(Ok(bytes)) => {
                self.bytes_read += bytes.len() as u64;
                Payload::File { id, bytes }
            }
            Ok(Err(size)) => Payload::Refused {
                id: Some(id),
                reason: SkipReason::TooLarge { bytes: size, limit: self.max_doc_bytes as u64 },
            },
            Err(e) => Payload::Unreadable(e.to_string()),
        };
        self.refused(name, None, payload)
    }

    /// Starts reading a JSONL file (or a spool) line by line; an error record when it cannot be opened.
    fn open_lines(&mut self, path: &Path, name: Arc<str>, spool: Option<File>) -> Option<RawRecord> {
        let counted = File::open(path).map(|f| Counting { inner: f, count: self.disk_bytes.clone() });
        match counted.and_then(|f| decompress_with_kind(BufReader::with_capacity(1 << 20, f), true)) {
            Ok((reader, compressed)) => {
                // A stream cannot be opened again by path (its spool can, but only once it is complete).
                let stream = spool.is_some() || is_stream_path(path);
                if stream {
                    self.lines_only = false;
                }
                let plain = !compressed && !stream;
                let segment = LineSegment {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    first_seq: self.seq,
                    end_seq: None,
                    start_byte: 0,
                    end_byte: None,
                    first_line: 0,
                    plain,
                };
                self.segments.push(segment);
                let spool = spool.map(|f| io::BufWriter::with_capacity(1 << 20, f));
                self.stack.push(Source::Lines { name, reader, line: 0, spool, offset: 0, plain });
                None
            }
            Err(e) => Some(self.refused(name, None, Payload::Unreadable(e.to_string()))),
        }
    }

    /// The JSONL files this reader read, in order, each with the sequence numbers of its records, when every record
    /// it gave came from one of them and each was read to its end; `None` otherwise (a text file, standard input or
    /// another stream, a file that could not be opened or read, a refused entry), or while records are left. An
    /// uncompressed file comes cut into segments of about [`RecordReader::segment_bytes`] at line starts, one after
    /// another.
    ///
    /// A reader over one segment ([`RecordReader::segment`]) yields the records of that segment exactly as this
    /// reader did, so that a second pass can read the files, and one large file, in parallel.
    pub fn line_segments(&self) -> Option<Vec<LineSegment>> {
        let done = self.stack.is_empty() && self.next_input >= self.inputs.len();
        let complete = self.segments.iter().all(|s| s.end_seq.is_some());
        (done && self.lines_only && complete).then(|| self.segments.clone())
    }

    /// A reader over the records of one JSONL file found by [`RecordReader::line_segments`]: the same records with
    /// the same `seq` and [`Location`]s as the reader that found it gave (as long as the file did not change). The
    /// bytes read as stored are added to `disk_bytes`. Made for a second reading: a zstd file's frame checksums are
    /// not verified again (the first reading did), so a caller that needs the bytes unchanged checks the records it
    /// uses, as `dedup` does with their digests.
    ///
    /// # Errors
    /// When the file cannot be opened or its decompressor cannot start.
    pub fn segment(
        segment: &LineSegment,
        max_doc_bytes: usize,
        disk_bytes: Arc<AtomicU64>,
    ) -> io::Result<RecordReader> {
        let reader: Box<dyn BufRead + Send> = if segment.plain {
            // Its bytes as stored, from the first line on (not sniffed for a compression format: a line in the middle
            // of the file may begin with any bytes).
            let mut file = File::open(&segment.path)?;
            file.seek(io::SeekFrom::Start(segment.start_byte))?;
            let counted = Counting { inner: file, count: disk_bytes.clone() };
            match segment.end_byte {
                Some(end) => {
                    let len = end.saturating_sub(segment.start_byte);
                    Box::new(BufReader::with_capacity(PLAIN_SEGMENT_BUFFER, counted.take(len)))
                }
                None => Box::new(BufReader::with_capacity(PLAIN_SEGMENT_BUFFER, counted)),
            }
        } else {
            // Read a second time: the first reading checked the zstd frames' checksums, and a second pass checks the
            // records it uses against what the first one read (their digests), so the checksums are not computed again.
            let counted = Counting { inner: File::open(&segment.path)?, count: disk_bytes.clone() };
            decompress_with_kind(BufReader::with_capacity(1 << 20, counted), false)?.0
        };
        let mut r = RecordReader::new(&[]).max_doc_bytes(max_doc_bytes);
        r.seq = segment.first_seq;
        r.disk_bytes = disk_bytes;
        let (name, line, offset) = (segment.name.clone(), segment.first_line, segment.start_byte);
        r.stack.push(Source::Lines { name, reader, line, spool: None, offset, plain: false });
        Ok(r)
    }

    /// Opens the next input: pushes its source, or returns its only record (a text file, or an error).
    fn open_input(&mut self) -> Option<RawRecord> {
        let i = self.next_input;
        self.next_input += 1;
        let input = self.inputs[i].clone();
        let name: Arc<str> = input.display_name().into();
        if self.replay {
            if let Some(sp) = self.spools[i].clone() {
                return match input {
                    Input::TextFile(p) => Some(self.text_record(sp.path(), path_id(&p), name, None)),
                    _ => self.open_lines(sp.path(), name, None),
                };
            }
        }
        let stream = input.is_stream();
        let spool = match (stream && self.spool_streams).then(|| self.new_spool(i)) {
            Some(Err(e)) => {
                let error = format!("creating a temporary file to hold the input: {e}");
                return Some(self.refused(name, None, Payload::Unreadable(error)));
            }
            Some(Ok(f)) => Some(f),
            None => None,
        };
        match input {
            Input::Dir(root) => {
                self.stack.push(Source::Entries(walk(&root).into_iter()));
                None
            }
            Input::TextFile(p) => {
                let mut spool = spool;
                Some(self.text_record(&p, path_id(&p), name, spool.as_mut()))
            }
            Input::Jsonl(p) => self.open_lines(&p, name, spool),
            Input::Stdin => {
                self.lines_only = false;
                let counted = Counting { inner: io::stdin(), count: self.disk_bytes.clone() };
                match decompress(BufReader::with_capacity(1 << 20, counted)) {
                    Ok(reader) => {
                        let spool = spool.map(|f| io::BufWriter::with_capacity(1 << 20, f));
                        self.stack.push(Source::Lines { name, reader, line: 0, spool, offset: 0, plain: false });
                        None
                    }
                    Err(e) => Some(self.refused(name, None, Payload::Unreadable(e.to_string()))),
                }
            }
        }
    }
}

impl Iterator for RecordReader {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        let line_limit = line_limit(self.max_doc_bytes);
        loop {
            let Some(src) = self.stack.last_mut() else {
                if self.next_input >= self.inputs.len() {
                    return None;
                }
                if let Some(rec) = self.open_input() {
                    return Some(rec);
                }
                continue;
            };
            match src {
                Source::Entries(entries) => {
                    let Some(entry) = entries.next() else {
                        self.stack.pop();
                        continue;
                    };
                    match entry {
                        Entry::Text { path, id } => {
                            return Some(self.text_record(&path, id, display_path(&path).into(), None));
                        }
                        Entry::Jsonl(path) => {
                            if let Some(rec) = self.open_lines(&path, display_path(&path).into(), None) {
                                return Some(rec);
                            }
                        }
                        Entry::Special { path, id, kind } => {
                            let reason = SkipReason::NotARegularFile { kind: kind.to_string() };
                            let payload = Payload::Refused { id: Some(id), reason };
                            return Some(self.refused(display_path(&path).into(), None, payload));
                        }
                        Entry::Error { name, error } => {
                            return Some(self.refused(name.into(), None, Payload::Unreadable(error)));
                        }
                    }
                }
                Source::Lines { name, reader, line, spool, offset, plain } => {
                    // An uncompressed file's segment ends at this line start once it has records and its bytes
                    // (and a line follows).
                    if *plain {
                        if let Some(s) = self.segments.last_mut() {
                            let full = self.seq > s.first_seq && *offset >= s.start_byte + self.segment_bytes;
                            if full && reader.fill_buf().is_ok_and(|b| !b.is_empty()) {
                                s.end_seq = Some(self.seq);
                                s.end_byte = Some(*offset);
                                let next = LineSegment {
                                    first_seq: self.seq,
                                    end_seq: None,
                                    start_byte: *offset,
                                    end_byte: None,
                                    first_line: *line,
                                    ..s.clone()
                                };
                                self.segments.push(next);
                            }
                        }
                    }
                    let mut buf = Vec::new();
                    match read_line_bounded(reader.as_mut(), &mut buf, line_limit, spool.as_mut()) {
                        Ok(None) => {
                            let flushed = spool.as_mut().map_or(Ok(()), |w| w.flush());
                            let (name, at) = (name.clone(), *line + 1);
                            self.stack.pop();
                            if let Some(s) = self.segments.last_mut() {
                                s.end_seq = Some(self.seq);
                            }
                            if let Err(e) = flushed {
                                let error = format!("writing the temporary copy of the input: {e}");
                                return Some(self.refused(name, Some(at), Payload::Unreadable(error)));
                            }
                        }
                        Ok(Some((bytes, too_long))) => {
                            *line += 1;
                            *offset += bytes;
                            let location = Location { file: name.clone(), line: Some(*line) };
                            self.bytes_read += bytes;
                            if too_long {
                                let reason = SkipReason::TooLarge { bytes, limit: line_limit as u64 };
                                let payload = Payload::Refused { id: None, reason };
                                return Some(RawRecord { seq: self.next_seq(), location, payload });
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
                            return Some(RawRecord { seq: self.next_seq(), location, payload: Payload::JsonLine(buf) });
                        }
                        Err(e) => {
                            *line += 1;
                            let location = Location { file: name.clone(), line: Some(*line) };
                            self.stack.pop();
                            self.lines_only = false;
                            let payload = Payload::Unreadable(e.to_string());
                            return Some(RawRecord { seq: self.next_seq(), location, payload });
                        }
                    }
                }
            }
        }
    }
}

/// Writes a file atomically: the content goes to a temporary file in the same directory, which is renamed over
/// `path` once complete, so a reader never sees a half-written file. The file gets the permissions of any file
/// the user creates (`0666` less the umask).
pub struct AtomicWriter {
    tmp: tempfile::NamedTempFile,
    writer: Option<io::BufWriter<File>>,
    path: PathBuf,
    /// Bytes accepted so far.
    written: u64,
    /// Bytes of the file whose write-back to disk was started ([`AtomicWriter::start_writeback`]).
    writeback_from: u64,
    /// The file opened a second time with `O_DIRECT` ([`AtomicWriter::write_at_uncached`]), on first use; `None`
    /// where the file system refuses it.
    direct: std::sync::OnceLock<Option<File>>,
}

/// Starts writing `len` bytes of `file` from byte `from` to disk without waiting for them (Linux `sync_file_range`
/// with `SYNC_FILE_RANGE_WRITE`; nothing elsewhere). A hint: its errors are ignored (a later `fsync` reports any).
fn start_range_writeback(file: &File, from: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain system call on an open file descriptor; it reads no memory of ours.
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                from as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            )
        };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, from, len);
}

/// Bytes written between two starts of write-back ([`AtomicWriter`]). Small, so that little is left to write when
/// the run's outputs are committed: on zh-dev (10.5 MB of deduplicated corpus) with 8 MiB, the run's marker waited
/// 2.2-3.4 ms for the file system's journal while the last 2.5 MB were written, and the commit took 3.9-5.0 ms; with
/// 1 MiB, 1.6-1.9 ms.
const WRITEBACK_STEP: u64 = 1 << 20;

impl AtomicWriter {
    /// Starts writing `path`.
    ///
    /// # Errors
    /// When the temporary file cannot be created in `path`'s directory.
    pub fn create(path: &Path) -> io::Result<AtomicWriter> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        // Created like any file the user writes (0666 less the umask), not private as temporary files are: a run
        // directory is often read by colleagues.
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)?;
        let writer = io::BufWriter::with_capacity(1 << 20, tmp.reopen()?);
        Ok(AtomicWriter {
            tmp,
            writer: Some(writer),
            path: path.to_path_buf(),
            written: 0,
            writeback_from: 0,
            direct: std::sync::OnceLock::new(),
        })
    }

    /// Starts writing to disk the bytes that left the buffer since the last call, without waiting for them
    /// (Linux `sync_file_range` with `SYNC_FILE_RANGE_WRITE`; nothing elsewhere), so that the `fsync` of
    /// [`AtomicWriter::commit`] has little left to wait for. A hint: its errors are ignored (`commit` reports any).
    fn start_writeback(&mut self) {
        let w = self.writer.as_ref().expect("open");
        let in_file = self.written - w.buffer().len() as u64;
        if in_file <= self.writeback_from {
            return;
        }
        start_range_writeback(w.get_ref(), self.writeback_from, in_file - self.writeback_from);
        self.writeback_from = in_file;
    }

    /// Writes `bytes` at byte offset `at` of the file, from any thread, and starts their write-back (as buffered
    /// writes do every [`WRITEBACK_STEP`]): for a file whose parts are made in parallel at places known in advance.
    /// Those parts must not overlap each other nor what goes through the buffer ([`Write`]).
    ///
    /// # Errors
    /// On I/O errors.
    pub fn write_at(&self, bytes: &[u8], at: u64) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let file = self.writer.as_ref().expect("open").get_ref();
        file.write_all_at(bytes, at)?;
        start_range_writeback(file, at, bytes.len() as u64);
        Ok(())
    }

    /// [`AtomicWriter::write_at`], with the bytes that fill whole 4 KiB blocks of the file written past the page cache
    /// (Linux `O_DIRECT`, from an aligned copy), and only the partial blocks at either end through it. For large
    /// outputs that nothing reads back during the run: on this project's virtual machines a page-cache page the guest
    /// has not touched lately costs a fault on the host too, and 500 MB of buffered writes took 0.11-1.09 s of system
    /// time (bimodal from run to run) where `O_DIRECT` took 0.04-0.05 s (`dd`, `bench/RESULTS.md`, eighteenth session).
    /// Where the file system refuses `O_DIRECT` (tmpfs, some network file systems), or a direct write fails, the bytes
    /// go through [`AtomicWriter::write_at`]. The same conditions on `bytes` and `at` as there.
    ///
    /// # Errors
    /// On I/O errors of the buffered writes.
    pub fn write_at_uncached(&self, bytes: &[u8], at: u64) -> io::Result<()> {
        let end = at + bytes.len() as u64;
        let (first, last) = (at.next_multiple_of(DIRECT_BLOCK), end / DIRECT_BLOCK * DIRECT_BLOCK);
        let Some(direct) = self.direct_file().filter(|_| last >= first + DIRECT_MIN) else {
            return self.write_at(bytes, at);
        };
        let (head, middle) = ((first - at) as usize, (last - first) as usize);
        if head > 0 {
            self.write_at(&bytes[..head], at)?;
        }
        if write_direct(direct, &bytes[head..head + middle], first).is_err() {
            self.write_at(&bytes[head..head + middle], first)?;
        }
        if head + middle < bytes.len() {
            self.write_at(&bytes[head + middle..], last)?;
        }
        Ok(())
    }

    /// The file opened with `O_DIRECT`, opened on the first call; `None` where that fails, or where the path no longer
    /// names this writer's file (the same device and inode): nothing is ever written into another file.
    fn direct_file(&self) -> Option<&File> {
        self.direct
            .get_or_init(|| {
                #[cfg(target_os = "linux")]
                {
                    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
                    let f = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_DIRECT).open(self.tmp.path());
                    let ours = self.tmp.as_file().metadata().ok()?;
                    f.ok().filter(|f| f.metadata().is_ok_and(|m| m.dev() == ours.dev() && m.ino() == ours.ino()))
                }
                #[cfg(not(target_os = "linux"))]
                None
            })
            .as_ref()
    }

    /// Writes one value as a JSON line.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn write_json_line<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut *self, value)?;
        self.write_all(b"\n")
    }

    /// Flushes, syncs and renames the file into place. A file inside a staging directory ([`crate::outdir::RunDir`])
    /// is renamed without waiting for the disk (its write-back is started): the run's commit syncs all its files at
    /// once before the directory is moved into place.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn commit(mut self) -> io::Result<()> {
        self.writer.as_mut().expect("open").flush()?;
        if crate::outdir::in_live_staging(&self.path) {
            self.start_writeback();
        } else {
            self.writer.as_ref().expect("open").get_ref().sync_all()?;
        }
        drop(self.writer.take());
        self.tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The block of the writes past the page cache ([`AtomicWriter::write_at_uncached`]): their file offsets, lengths and
/// memory addresses are multiples of it. 4 KiB covers devices of 512-byte and of 4 KiB sectors.
const DIRECT_BLOCK: u64 = 4096;

/// The least run of whole blocks written past the page cache: shorter ones are not worth a second system call.
const DIRECT_MIN: u64 = 64 << 10;

thread_local! {
    /// The aligned copy of the bytes written past the page cache, reused by each thread.
    static DIRECT_COPY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes `bytes` (a multiple of [`DIRECT_BLOCK`] long) at `at` (a multiple of it) of `file` (opened with
/// `O_DIRECT`), from a copy at an aligned address.
///
/// # Errors
/// On I/O errors, a write cut short at an unaligned length included (the caller writes the bytes again otherwise).
fn write_direct(file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    let block = DIRECT_BLOCK as usize;
    if (bytes.as_ptr() as usize).is_multiple_of(block) {
        // Already at an aligned address (a caller that placed its bytes by `direct_lead`): no copy.
        return write_aligned(file, bytes, at);
    }
    DIRECT_COPY.with_borrow_mut(|copy| {
        if copy.len() < bytes.len() + block {
            *copy = vec![0u8; bytes.len() + block];
        }
        let start = copy.as_ptr().align_offset(block);
        let aligned = &mut copy[start..start + bytes.len()];
        aligned.copy_from_slice(bytes);
        write_aligned(file, aligned, at)
    })
}

/// [`write_direct`] of `aligned`, which lies at an address that is a multiple of [`DIRECT_BLOCK`].
fn write_aligned(file: &File, aligned: &[u8], at: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let block = DIRECT_BLOCK as usize;
    let mut done = 0;
    while done < aligned.len() {
        match file.write_at(&aligned[done..], at + done as u64) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) if n % block != 0 => return Err(io::Error::other("a direct write cut short mid-block")),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Bytes to put at `start` (the start of a buffer) before the bytes that go at offset `at` of a file written by
/// [`AtomicWriter::write_at_uncached`], so that those of its bytes that fill whole blocks of the file lie at aligned
/// addresses and are written without a copy (an address and a file offset equal modulo the 4 KiB block): less than
/// 4,096. A buffer that moves afterwards (grown past its capacity) is only copied again, as any other.
pub fn direct_lead(start: *const u8, at: u64) -> usize {
    (at as usize).wrapping_sub(start as usize) % DIRECT_BLOCK as usize
}

impl Write for AtomicWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writer.as_mut().expect("open").write(buf)?;
        self.written += n as u64;
        if self.written - self.writeback_from >= WRITEBACK_STEP {
            self.start_writeback();
        }
        Ok(n)
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
    for raw in RecordReader::new(inputs).max_doc_bytes(opts.max_doc_bytes) {
        match parse_record(&raw, opts) {
            Ok(d) => docs.push(d),
            Err(s) => skips.push(s),
        }
    }
    (docs, skips)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn line(s: &str) -> RawRecord {
        RawRecord {
            seq: 0,
            location: Location { file: "t.jsonl".into(), line: Some(1) },
            payload: Payload::JsonLine(s.as_bytes().to_vec()),
        }
    }

    /// The inverse of [`path_id`], for the test.
    fn unescape(id: &str) -> Vec<u8> {
        let b = id.as_bytes();
        let (mut out, mut k) = (Vec::new(), 0);
        while k < b.len() {
            match (b[k], b.get(k + 1)) {
                (b'\\', Some(b'\\')) => {
                    out.push(b'\\');
                    k += 2;
                }
                (b'\\', Some(b'x')) => {
                    out.push(u8::from_str_radix(&id[k + 2..k + 4], 16).unwrap());
                    k += 4;
                }
                (c, _) => {
                    out.push(c);
                    k += 1;
                }
            }
        }
        out
    }

    #[test]
    fn utf32_with_bom_is_decoded_as_utf32() {
        let text = "UTF-32 文本 𠀀 and more; ".repeat(4);
        let text = text.as_str();
        let le: Vec<u8> =
            [0xFF, 0xFE, 0, 0].into_iter().chain(text.chars().flat_map(|c| (c as u32).to_le_bytes())).collect();
        let be: Vec<u8> =
            [0, 0, 0xFE, 0xFF].into_iter().chain(text.chars().flat_map(|c| (c as u32).to_be_bytes())).collect();
        assert_eq!(decode_bytes(&le).unwrap(), (text.to_string(), "UTF-32LE", 0));
        assert_eq!(decode_bytes(&be).unwrap(), (text.to_string(), "UTF-32BE", 0));
        // A surrogate code unit and a trailing partial unit are replaced and counted.
        let mut bad = le.clone();
        bad.extend_from_slice(&0xD800u32.to_le_bytes());
        bad.extend_from_slice(&[0x41, 0]);
        let (t, _, replaced) = decode_bytes(&bad).unwrap();
        assert_eq!(replaced, 2);
        assert!(t.starts_with(text) && t.ends_with("\u{FFFD}\u{FFFD}"));
        // UTF-16LE with BOM still decodes as UTF-16.
        let u16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode_bytes(&u16).unwrap().1, "UTF-16LE");
    }

    #[test]
    fn fields_are_those_serde_json_unescapes() {
        let lines = [
            r#"{"id": "a", "text": "plain"}"#,
            r#"{"id": "a\u00e9", "text": "line\nbreak \"quoted\" \u4e2d\ud83d\ude00 tab\t"}"#,
            r#"{"text": "first", "id": 12345678901234567890123, "text": "second, the last counts"}"#,
            r#"{"id": -1.5e3, "text": "x", "other": {"deep": [1, 2, {"k": null}]}}"#,
            r#"{"id": "a", "text": null}"#,
            r#"{"id": "a"}"#,
            r#"{"id": "a", "text": 12}"#,
            r#"{"id": "a", "text": 1e400}"#,
            r#"{"id": "a", "text": ["x"]}"#,
            r#"{"id": "a", "text": {"x": 1}}"#,
            r#"{"id": "a", "text": true}"#,
            r#"{"id": "a", "text": "lone \ud800 surrogate"}"#,
            r#"{"id": "lone \udc00", "text": "x"}"#,
            r#"{"id": "a", "text": "bad \x escape"}"#,
            r#"{"id": null, "text": "x"}"#,
            r#"{"id": true, "text": "x"}"#,
            r#"{"text": "x"}"#,
            r#"{"id": "a", "text": "x"} trailing"#,
            r#"{"id": "a", "text": "x",}"#,
            r#"["id", "text"]"#,
            r#""just a string""#,
            r#"{"id": "a", "text": "unterminated"#,
            r#"{"\u0069d": "escaped key", "te\u0078t": "y"}"#,
            r#"{"id": "a", "text": "x", "nested": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
            r#"{"id": "a", "text": "x", "deep": {"text": [1, {"id": 2}]}}"#,
        ];
        let deep = format!(r#"{{"id": "a", "text": {}1{}}}"#, "[".repeat(200), "]".repeat(200));
        for opts in [ReadOptions::default(), ReadOptions { text_field: "body".into(), ..ReadOptions::default() }] {
            for line in lines.iter().copied().chain([deep.as_str()]) {
                assert_eq!(
                    format!("{:?}", parse_json_fields(line, &opts)),
                    format!("{:?}", serde_fields(line, &opts)),
                    "{line}"
                );
            }
        }
        let ok = parse_json_fields(lines[1], &ReadOptions::default()).unwrap();
        assert_eq!(ok, ("a\u{e9}".to_string(), "line\nbreak \"quoted\" \u{4e2d}\u{1f600} tab\t".to_string()));
    }

    /// [`parse_json_fields`] with every string unescaped by serde_json (what it did before `json_string`): the
    /// reference.
    fn serde_fields(line: &str, opts: &ReadOptions) -> FieldsResult {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_str(line);
        let fields = Fields { id_field: &opts.id_field, text_field: &opts.text_field };
        let (id, text) = match fields.deserialize(&mut de).and_then(|f| de.end().map(|()| f)) {
            Ok(f) => f,
            Err(_) => {
                return Err(match serde_json::from_str::<serde::de::IgnoredAny>(line) {
                    Ok(_) => (None, SkipReason::NotAnObject),
                    Err(e) => (None, SkipReason::MalformedJson { error: e.to_string() }),
                })
            }
        };
        let id = match id.map(|r| r.get().trim()) {
            None | Some("null") => return Err((None, SkipReason::MissingId { field: opts.id_field.clone() })),
            Some(r) if r.starts_with('"') => serde_json::from_str::<String>(r)
                .map_err(|e| (None, SkipReason::MalformedJson { error: e.to_string() }))?,
            Some(r) if r.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => r.to_string(),
            Some(_) => return Err((None, SkipReason::BadId { field: opts.id_field.clone() })),
        };
        match text.map(|r| r.get().trim()) {
            None | Some("null") => Err((Some(id), SkipReason::MissingText { field: opts.text_field.clone() })),
            Some(r) if r.starts_with('"') => match serde_json::from_str::<String>(r) {
                Ok(t) => Ok((id, t)),
                Err(e) => Err((Some(id), SkipReason::MalformedJson { error: e.to_string() })),
            },
            Some(_) => Err((Some(id), SkipReason::BadText { field: opts.text_field.clone() })),
        }
    }

    #[test]
    fn unescaping_is_serde_jsons() {
        // Random literals of plain characters and every kind of escape, surrogate pairs and lone or misordered
        // surrogates among them: where the fast path answers, it answers as serde_json does; where it does not,
        // `json_string` is serde_json.
        let pieces = crate::json_fields::STRING_PIECES;
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let (mut fast, mut total) = (0, 0);
        for _ in 0..20_000 {
            let mut lit = String::from("\"");
            for _ in 0..(state % if state & 8 == 0 { 9 } else { 40 }) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                lit.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            lit.push('"');
            state = state.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let reference = serde_json::from_str::<String>(&lit);
            // Only what serde_json accepts as a raw value reaches the fast path.
            if serde_json::from_str::<&RawValue>(&lit).is_err() {
                continue;
            }
            total += 1;
            if let Some(s) = unescape_json_str(&lit) {
                fast += 1;
                assert_eq!(Some(&s), reference.as_ref().ok(), "{lit}");
            }
            assert_eq!(
                format!("{:?}", json_string(&lit).map_err(|e| e.to_string())),
                format!("{:?}", reference.map_err(|e| e.to_string())),
                "{lit}"
            );
        }
        assert!(total > 5_000 && fast > total / 2, "{fast} of {total} literals on the fast path");
    }

    /// A random JSON value of at most `depth` levels, from pieces that serde_json accepts or (one time in ten)
    /// refuses: bad numbers, bad escapes, raw control characters, lone surrogates, misspelled literals.
    fn random_value(next: &mut impl FnMut() -> u64, depth: u32) -> String {
        let pick = |good: &[&str], bad: &[&str], next: &mut dyn FnMut() -> u64| -> String {
            let list = if next().is_multiple_of(10) { bad } else { good };
            list[(next() % list.len() as u64) as usize].to_string()
        };
        const STRINGS: [&str; 10] = [
            "plain",
            "",
            "中文 text",
            "line\\nbreak",
            "q\\\"uote",
            "\\u00e9\\u4E2D",
            "\\ud83d\\ude00",
            "\\/\\b\\f\\r\\t\\\\",
            "The quick brown fox jumps over the lazy dog",
            "\\u0000",
        ];
        const BAD_STRINGS: [&str; 5] = ["\\uD83D", "\\x", "\\u12G4", "tab\tin", "\u{1}"];
        match next() % if depth == 0 { 3 } else { 5 } {
            0 => {
                let mut s = String::from("\"");
                for _ in 0..next() % 4 {
                    s += &pick(&STRINGS, &BAD_STRINGS, next);
                }
                s + "\""
            }
            1 => pick(&["0", "-0", "12", "1.5", "1e5", "-1E-2", "2.5e+3"], &["01", "1.", "-", "1e", "00", "-a"], next),
            2 => pick(&["true", "false", "null"], &["nul", "tru", "True"], next),
            3 => {
                let items: Vec<String> = (0..next() % 4).map(|_| random_value(next, depth - 1)).collect();
                format!("[{}]", items.join(", "))
            }
            _ => random_object(next, depth - 1),
        }
    }

    /// A random JSON object: usually an id (a plain string or number) and a text (a string) among 0 to 2 other
    /// fields whose keys are sometimes `id` or `text` again, escaped, or hold control characters.
    fn random_object(next: &mut impl FnMut() -> u64, depth: u32) -> String {
        const KEYS: [&str; 8] = ["id", "text", "meta", "", "i\\u0064", "te\\nxt", "\u{2}", "text "];
        const SPACES: [&str; 6] = ["", "", " ", "\t", "\n", "\r\n"];
        let space = |next: &mut dyn FnMut() -> u64| match next() % 50 {
            0 => "\u{a0}",
            r => SPACES[(r % SPACES.len() as u64) as usize],
        };
        let mut fields: Vec<(String, String)> = Vec::new();
        if !next().is_multiple_of(5) {
            let id =
                if next().is_multiple_of(2) { format!("\"doc{}\"", next() % 100) } else { (next() % 1000).to_string() };
            fields.push(("id".into(), id));
        }
        if !next().is_multiple_of(5) {
            let text = loop {
                let v = random_value(next, 0);
                if v.starts_with('"') {
                    break v;
                }
            };
            fields.push(("text".into(), text));
        }
        for _ in 0..next() % 3 {
            let key = KEYS[(next() % KEYS.len() as u64) as usize].to_string();
            let at = (next() % (fields.len() as u64 + 1)) as usize;
            fields.insert(at, (key, random_value(next, depth)));
        }
        let mut s = format!("{}{{", space(next));
        for (k, (key, value)) in fields.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s += &format!("{}\"{key}\"{}:{}{value}{}", space(next), space(next), space(next), space(next));
        }
        s + "}" + space(next)
    }

    #[test]
    fn one_pass_fields_agree_with_serde_json() {
        // Random objects, some broken by one edit: the one-pass path ([`object_fields`]) answers for most whole ones;
        // whatever path answers, a line gives what serde_json's reading gives (the same id and text, or the same
        // skip with the same message).
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let opts = ReadOptions::default();
        let (mut one_pass, mut accepted, mut total) = (0, 0, 0);
        for _ in 0..40_000 {
            let mut line = random_object(&mut next, 2);
            if next() % 3 == 0 {
                // One edit at an ASCII byte: deleted, or a JSON-significant byte put before it.
                let ascii: Vec<usize> = line.char_indices().filter(|(_, c)| c.is_ascii()).map(|(i, _)| i).collect();
                let at = ascii[(next() % ascii.len() as u64) as usize];
                const INSERT: [&str; 10] = [",", "}", "]", "\"", ":", " ", "\\", "0", "\u{1}", "{"];
                if next() % 2 == 0 {
                    line.remove(at);
                } else {
                    line.insert_str(at, INSERT[(next() % INSERT.len() as u64) as usize]);
                }
            }
            total += 1;
            let reference = serde_fields(&line, &opts);
            accepted += usize::from(reference.is_ok());
            if object_fields(&line, &opts.id_field, &opts.text_field).is_some() {
                one_pass += 1;
                assert!(serde_json::from_str::<serde::de::IgnoredAny>(&line).is_ok(), "{line:?}");
            }
            assert_eq!(format!("{:?}", parse_json_fields(&line, &opts)), format!("{reference:?}"), "{line:?}");
        }
        assert!(one_pass > total / 5 && accepted > total / 20, "{one_pass} one-pass, {accepted} accepted of {total}");
    }

    #[test]
    fn numeric_ids_keep_their_literal_text() {
        let o = ReadOptions::default();
        for lit in ["123456789012345678901", "123456789012345678902", "1e2", "-0.50", "7"] {
            let d = parse_record(&line(&format!(r#"{{"id": {lit}, "text": "x"}}"#)), &o).unwrap();
            assert_eq!(d.id, lit);
        }
        let d = parse_record(&line(r#"{"meta": {"id": 1}, "id": "a\u00e9", "text": "t\"x\""}"#), &o).unwrap();
        assert_eq!((d.id.as_str(), d.text.as_str()), ("aé", "t\"x\""));
        let reason = |s: &str| parse_record(&line(s), &o).unwrap_err().reason.key();
        assert_eq!(reason(r#"{"id": [1], "text": "x"}"#), "bad_id");
        assert_eq!(reason(r#"{"id": null, "text": "x"}"#), "missing_id");
        assert_eq!(reason(r#"{"id": "a", "text": 3}"#), "bad_text");
        assert_eq!(reason(r#"{"id": "a"}"#), "missing_text");
        assert_eq!(reason(r#"[1, 2]"#), "not_an_object");
        assert_eq!(reason(r#"{"id": "a", "text": "x""#), "malformed_json");
        assert_eq!(reason(r#"{"id": "a", "text": "x"} tail"#), "malformed_json");
    }

    #[test]
    fn ids_of_file_names_are_unique_and_reversible() {
        let names: [&[u8]; 5] = [b"a\xff.txt", b"a\xfe.txt", b"a\\xff.txt", b"plain \xe6\x96\x87.txt", b"new\nline"];
        let ids: Vec<String> = names.iter().map(|n| path_id(Path::new(OsStr::from_bytes(n)))).collect();
        for (n, id) in names.iter().zip(&ids) {
            assert_eq!(&unescape(id), n, "{id}");
        }
        let mut uniq = ids.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), ids.len(), "{ids:?}");
        assert_eq!(ids[3], "plain 文.txt", "UTF-8 names without backslashes are unchanged");
        assert_eq!(ids[4], "new\nline", "an id keeps its control characters");
        assert_eq!(display_path(Path::new(OsStr::from_bytes(names[4]))), "new\\nline", "a message escapes them");
    }

    #[test]
    fn oversized_files_and_lines_are_skipped_unread() {
        let dir = tempfile::tempdir().unwrap();
        // A sparse file of 1 GiB: reading it would take a second and a GiB of memory.
        let big = File::create(dir.path().join("big.txt")).unwrap();
        big.set_len(1 << 30).unwrap();
        std::fs::write(dir.path().join("small.txt"), "small text").unwrap();
        let long = format!("{{\"id\": \"long\", \"text\": \"{}\"}}\n", "x".repeat(3 << 20));
        let jsonl = format!("{{\"id\": \"a\", \"text\": \"first\"}}\n{long}{{\"id\": \"b\", \"text\": \"after\"}}\n");
        std::fs::write(dir.path().join("lines.jsonl"), &jsonl).unwrap();
        let inputs = [Input::Dir(dir.path().to_path_buf())];
        let reader = RecordReader::new(&inputs).max_doc_bytes(1 << 20);
        let disk = reader.disk_bytes();
        let records: Vec<RawRecord> = reader.collect();
        // big.txt, lines.jsonl (3 lines), small.txt, in file-name order.
        assert_eq!(records.len(), 5);
        match &records[0].payload {
            Payload::Refused { id, reason } => {
                assert_eq!(id.as_deref(), Some("big.txt"));
                assert_eq!(*reason, SkipReason::TooLarge { bytes: 1 << 30, limit: 1 << 20 });
            }
            p => panic!("{p:?}"),
        }
        // Only the JSONL file and the small file were read, not the large one.
        assert_eq!(disk.load(Ordering::Relaxed), (jsonl.len() + "small text".len()) as u64);
        match &records[2].payload {
            Payload::Refused { id: None, reason: SkipReason::TooLarge { bytes, limit } } => {
                assert_eq!(*bytes, long.len() as u64);
                assert_eq!(
                    *limit,
                    ReadOptions { max_doc_bytes: 1 << 20, ..ReadOptions::default() }.max_line_bytes() as u64
                );
            }
            p => panic!("{p:?}"),
        }
        assert_eq!(records[2].location.line, Some(2));
        let opts = ReadOptions { max_doc_bytes: 1 << 20, ..ReadOptions::default() };
        let ids: Vec<String> = records.iter().filter_map(|r| parse_record(r, &opts).ok()).map(|d| d.id).collect();
        assert_eq!(ids, ["a", "b", "small.txt"]);
    }

    #[test]
    fn walk_errors_and_special_files_are_recorded_and_the_walk_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.txt"), "first").unwrap();
        std::fs::create_dir(d.join("b")).unwrap();
        std::os::unix::fs::symlink(d, d.join("b/loop")).unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("b/broken")).unwrap();
        assert!(std::process::Command::new("mkfifo").arg(d.join("c.fifo")).status().unwrap().success());
        std::fs::write(d.join("d.txt"), "last").unwrap();
        let recs: Vec<RawRecord> = RecordReader::new(&[Input::Dir(d.to_path_buf())]).collect();
        let opts = ReadOptions::default();
        let outcomes: Vec<Result<String, &'static str>> = recs
            .iter()
            .map(|r| match parse_record(r, &opts) {
                Ok(doc) => Ok(doc.id),
                Err(s) => Err(s.reason.key()),
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                Ok("a.txt".to_string()),
                Err("unreadable"),
                Err("unreadable"),
                Err("not_a_regular_file"),
                Ok("d.txt".into())
            ]
        );
        let seqs: Vec<u64> = recs.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4]);
        assert!(recs[2].location.file.ends_with("b/loop"), "{:?}", recs[2].location);
    }

    #[test]
    fn segments_give_the_records_of_the_whole_read() {
        // Lines of many lengths with a byte-order mark, blank lines, CRLF endings and a line that only looks like a
        // zstd frame's start; one file plain, one compressed, the plain one again.
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("\u{feff}");
        for i in 0..400usize {
            match i % 9 {
                0 => text.push('\n'),
                1 => text.push_str("   \r\n"),
                2 => text.push_str("(\u{b5}/\u{fd} not JSON\n"),
                _ => text.push_str(&format!("{{\"id\": \"d{i}\", \"text\": \"{}\"}}\r\n", "文字 ".repeat(i % 37))),
            }
        }
        let plain = dir.path().join("a.jsonl");
        std::fs::write(&plain, &text).unwrap();
        let packed = dir.path().join("b.jsonl.zst");
        std::fs::write(&packed, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        let inputs = [Input::Jsonl(plain.clone()), Input::Jsonl(packed), Input::Jsonl(plain)];
        let shown = |r: RawRecord| format!("{r:?}");
        for bytes in [1u64, 100, 3000, 1 << 30] {
            let mut whole = RecordReader::new(&inputs).segment_bytes(bytes);
            let records: Vec<String> = whole.by_ref().map(shown).collect();
            assert_eq!(records.len(), 3 * (400 - 90), "every line but the 90 blank ones of each file");
            let segments = whole.line_segments().expect("JSONL files read to their end");
            let mut again = Vec::new();
            for s in &segments {
                let counter = Arc::new(AtomicU64::new(0));
                again.extend(RecordReader::segment(s, usize::MAX, counter).unwrap().map(shown));
            }
            assert_eq!(again, records, "segments of {bytes} bytes");
            for pair in segments.windows(2) {
                assert_eq!(pair[0].end_seq, Some(pair[1].first_seq));
            }
            // The compressed file is one segment; a plain file is cut where a segment has its bytes and a record.
            let cut = segments.iter().filter(|s| s.plain).count();
            assert_eq!(segments.iter().filter(|s| !s.plain).count(), 1);
            match bytes {
                1 => assert_eq!(cut, 2 * (400 - 90), "a record each"),
                b if b < text.len() as u64 => assert!(cut > 2 && cut < 2 * 310, "{cut} segments of {b} bytes"),
                _ => assert_eq!(cut, 2),
            }
        }
    }

    #[test]
    fn stdin_and_pipes_may_be_given_once() {
        assert!(check_inputs(&[Input::Stdin]).is_ok());
        let e = check_inputs(&[Input::Stdin, Input::Stdin]).unwrap_err();
        assert!(e.to_string().contains("more than once"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let f = Input::TextFile(fifo.clone());
        assert!(f.is_stream());
        assert!(check_inputs(&[f.clone(), Input::Stdin]).is_ok());
        assert!(check_inputs(&[f.clone(), f]).is_err());
        // A regular file given twice is allowed (its records are duplicates).
        let file = dir.path().join("x.txt");
        std::fs::write(&file, "x").unwrap();
        assert!(check_inputs(&[Input::TextFile(file.clone()), Input::TextFile(file)]).is_ok());
    }

    #[test]
    fn streams_are_spooled_only_for_a_second_reading() {
        // A named pipe fed by a thread: the first reading gets its two records either way; a reader that spools can
        // read them again, one that does not refuses to, instead of reading an exhausted stream as empty.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("corpus.jsonl");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let body = "{\"id\": \"a\", \"text\": \"x\"}\n{\"id\": \"b\", \"text\": \"y\"}\n";
        for spool in [true, false] {
            let writer = {
                let fifo = fifo.clone();
                std::thread::spawn(move || std::fs::write(fifo, body).unwrap())
            };
            let inputs = [Input::Jsonl(fifo.clone())];
            assert!(inputs[0].is_stream());
            let mut reader = RecordReader::new(&inputs).spool_streams(spool);
            assert_eq!(reader.by_ref().count(), 2);
            writer.join().unwrap();
            match reader.reopen(&inputs) {
                Ok(again) => {
                    assert!(spool);
                    let lines: Vec<_> = again.map(|r| r.payload.len()).collect();
                    assert_eq!(lines.len(), 2, "the spool holds both records");
                }
                Err(e) => {
                    assert!(!spool);
                    assert!(e.to_string().contains("can be read once only"), "{e}");
                }
            }
        }
    }

    #[test]
    fn globs_expand_to_the_matching_files() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.jsonl", "a.jsonl", "c.txt"] {
            std::fs::write(dir.path().join(n), "{}").unwrap();
        }
        let pat = format!("{}/*.jsonl", dir.path().display());
        let inputs = Input::from_args(&[pat.as_str()]).unwrap();
        assert_eq!(inputs, [Input::Jsonl(dir.path().join("a.jsonl")), Input::Jsonl(dir.path().join("b.jsonl"))]);
        let none = format!("{}/*.zzz", dir.path().display());
        let e = Input::from_args(&[none.as_str()]).unwrap_err();
        assert!(e.to_string().contains("no file matches"), "{e}");
    }

    #[test]
    fn writes_past_the_page_cache_give_the_bytes_of_buffered_writes() {
        // Contiguous parts of random sizes (1 byte to ~3 MB, so whole-block runs, partial blocks at both ends and
        // parts within one block), written from two threads out of order, with and without O_DIRECT (forced off: the
        // fallback), and a file of parts past the end left as a hole first.
        let dir = tempfile::tempdir().unwrap();
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |m: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % m
        };
        let mut parts: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut at = 0u64;
        for k in 0..60 {
            let len = match k % 4 {
                0 => 1 + next(100),
                1 => 1 + next(5000),
                2 => 60_000 + next(200_000),
                _ => 1 + next(3 << 20),
            };
            let bytes: Vec<u8> = (0..len).map(|i| (i.wrapping_mul(31) ^ at ^ k) as u8).collect();
            parts.push((at, bytes));
            at += len;
        }
        let want: Vec<u8> = parts.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        for direct in [true, false] {
            let p = dir.path().join(format!("out-{direct}.jsonl"));
            let w = AtomicWriter::create(&p).unwrap();
            if !direct {
                w.direct.set(None).unwrap();
            }
            // The later half first, on another thread; the earlier half from buffers with a lead (`direct_lead`),
            // whose whole blocks go out without a copy.
            let (early, late) = parts.split_at(parts.len() / 2);
            std::thread::scope(|sc| {
                sc.spawn(|| late.iter().rev().for_each(|(at, b)| w.write_at_uncached(b, *at).unwrap()));
                for (at, b) in early {
                    let mut led: Vec<u8> = Vec::with_capacity(b.len() + DIRECT_BLOCK as usize);
                    led.resize(direct_lead(led.as_ptr(), *at), 0);
                    led.extend_from_slice(b);
                    let lead = led.len() - b.len();
                    assert_eq!((led[lead..].as_ptr() as u64).wrapping_sub(*at) % DIRECT_BLOCK, 0);
                    w.write_at_uncached(&led[lead..], *at).unwrap();
                }
            });
            if direct && supports_direct_io(dir.path()) {
                // The direct writes themselves succeed (not only the buffered fallback).
                let f = w.direct_file().expect("O_DIRECT on ext4, XFS or Btrfs");
                let end = at.next_multiple_of(DIRECT_BLOCK);
                write_direct(f, &vec![b'x'; 2 * DIRECT_BLOCK as usize], end).unwrap();
                w.write_at(&vec![b'\n'; (end - at) as usize], at).unwrap();
            }
            w.commit().unwrap();
            let got = std::fs::read(&p).unwrap();
            assert!(got[..want.len()] == want, "direct: {direct}");
            if got.len() > want.len() {
                let end = at.next_multiple_of(DIRECT_BLOCK) as usize;
                assert!(got[want.len()..end].iter().all(|&b| b == b'\n'));
                assert!(got[end..].len() == 2 * DIRECT_BLOCK as usize && got[end..].iter().all(|&b| b == b'x'));
            } else {
                assert_eq!(got.len(), want.len());
            }
        }
    }

    /// Whether `dir` lies on a file system known to take `O_DIRECT` (ext4, XFS, Btrfs).
    fn supports_direct_io(dir: &Path) -> bool {
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: plain data, all zeros is a valid value.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `statfs` fills the struct from a valid, NUL-terminated path.
        if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
            return false;
        }
        matches!(st.f_type as i64, 0xEF53 | 0x5846_5342 | 0x9123_683E)
    }

    #[test]
    fn atomic_writes_follow_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        write_json_atomic(&p, &serde_json::json!({"a": 1})).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // 0666 less the process umask (read without changing it: a file created by std gets the same mode).
        let probe = dir.path().join("probe");
        File::create(&probe).unwrap();
        let expected = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected);
        assert_ne!(mode, 0o600, "not private like a temporary file (unless the umask is 077)");
    }
}
