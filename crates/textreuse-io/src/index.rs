//! Storage of a persistent index (`textreuse index`): immutable segments and a manifest replaced atomically, after
//! tantivy's design.
//!
//! Layout of an index directory:
//!
//! | path | content |
//! |---|---|
//! | `manifest.json` | [`Manifest`]: format name and version, the settings, the segments in order (name, first document number, documents), deleted ids, a generation counter |
//! | `LOCK` | taken (advisory `flock`, exclusive) by every command that writes: one writer at a time |
//! | `segments/seg-G-K/` | one segment, never modified once written (files below) |
//!
//! Files of a segment (numbers little-endian; document numbers are global: the segment's `base` + its position):
//!
//! | file | content |
//! |---|---|
//! | `meta.json` | [`SegmentMeta`]: documents, base, band offsets, counts |
//! | `docs.jsonl.zst` | one line per document: `{"id", "chars", "units"}` |
//! | `texts.zst`, `texts.off` | each document's original text as one zstd frame; `docs + 1` u64 byte offsets |
//! | `units.zst`, `units.off` | each document's units for alignment ([`compress_units`]: ids, original spans, closing punctuation) as one zstd frame; `docs + 1` u64 byte offsets |
//! | `sets.bin`, `sets.off` | shingle sets (sorted u32 values, [`textreuse_core::shingle::narrow_set`]) one after another; `docs + 1` u64 offsets in values |
//! | `sethash.bin` | each document's shingle-set hash (u64; 0 without shingles) |
//! | `sethash.first` | `(hash u64, doc u64)` sorted: the first document of the segment with each set hash |
//! | `bandkeys.bin` | each document's LSH band keys (`bands` u64 per document; zeros without shingles) |
//! | `buckets.key`, `buckets.doc` | per band (offsets in `meta.json`), `(key u64, doc u32)` sorted, documents that enter LSH |
//! | `ngrams.hash`, `ngrams.doc` | postings: `(n-gram hash u64, doc u32)` sorted, one per distinct n-gram of each document |
//! | `pairs.bin` | stored pairs (40 bytes each: a u32, b u32, exact u32, 0 u32, intersection u64, Jaccard f64, containment f64) of this segment's documents with earlier ones |
//!
//! A segment is written into `segments/.tmp-NAME/`, its files flushed to disk, then renamed to `segments/NAME/`;
//! only then is the manifest that lists it written (to a temporary file, flushed, renamed over `manifest.json`, and
//! the directory flushed). A command killed at any point leaves the previous manifest, and segments it does not
//! list are garbage that the next writer removes. Readers take no lock: they read the manifest once and the
//! segments it lists, which no writer modifies (a compaction removes the old segments after the new manifest is in
//! place; a reader that already opened them keeps reading them).

use std::collections::{BinaryHeap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use textreuse_core::align::UnitDoc;
use textreuse_core::index::{IndexSettings, IndexedDocuments, NgramPostings, StoredPair, FORMAT_VERSION};
use textreuse_core::shingle::{char_unit_id, unit_char};
use textreuse_core::verify::PairStats;

/// The format name written in every manifest.
pub const FORMAT_NAME: &str = "textreuse-index";

/// Name of the manifest file.
pub const MANIFEST: &str = "manifest.json";

/// One segment as the manifest lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentEntry {
    /// Directory name under `segments/`.
    pub name: String,
    /// Number of the segment's first document.
    pub base: u32,
    /// Documents in the segment.
    pub docs: u32,
}

/// The manifest of an index (`manifest.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Incremented by every command that writes; segment names carry it.
    pub generation: u64,
    /// The settings every command uses.
    pub settings: IndexSettings,
    /// Segments in document order.
    pub segments: Vec<SegmentEntry>,
    /// Ids deleted and not yet compacted away.
    #[serde(default)]
    pub deleted: Vec<String>,
}

impl Manifest {
    /// Documents in the index (deleted ones included until compaction).
    pub fn documents(&self) -> u32 {
        self.segments.last().map_or(0, |s| s.base + s.docs)
    }
}

/// What `meta.json` of a segment holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Number of the first document.
    pub base: u32,
    /// Documents.
    pub docs: u32,
    /// LSH bands.
    pub bands: usize,
    /// `bands + 1` offsets (in entries) of each band's part of `buckets.key` / `buckets.doc`.
    pub band_offsets: Vec<u64>,
    /// Entries of `ngrams.hash`.
    pub postings: u64,
    /// Records of `pairs.bin`.
    pub pairs: u64,
}

/// A line of `docs.jsonl.zst`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocEntry {
    /// The document id.
    pub id: String,
    /// Length of its text in code points.
    pub chars: u64,
    /// Units (before truncation to `max_units`).
    pub units: u64,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Flushes a directory entry to disk (after a rename or a new file in it).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Checks that `dir` holds only what an index holds (manifest, lock, segments and their temporary forms) and
/// returns the names of segment directories found.
///
/// # Errors
/// A foreign file or directory (named in the message), or an unreadable directory.
pub fn check_index_dir(dir: &Path) -> io::Result<Vec<String>> {
    let foreign = |p: &Path| {
        invalid(format!(
            "{} is not part of a textreuse index (an index directory holds only manifest.json, LOCK and \
             segments/); refusing to use {} as an index",
            p.display(),
            dir.display()
        ))
    };
    let mut segs = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let ft = e.file_type()?;
        match name.as_str() {
            MANIFEST | "LOCK" if ft.is_file() => {}
            "segments" if ft.is_dir() => {
                for s in fs::read_dir(e.path())? {
                    let s = s?;
                    let sn = s.file_name().to_string_lossy().into_owned();
                    if !(s.file_type()?.is_dir() && (sn.starts_with("seg-") || sn.starts_with(".tmp-seg-"))) {
                        return Err(foreign(&s.path()));
                    }
                    segs.push(sn);
                }
            }
            n if n.starts_with("manifest.json.tmp-") && ft.is_file() => {}
            _ => return Err(foreign(&e.path())),
        }
    }
    segs.sort();
    Ok(segs)
}

/// Reads and checks the manifest of `dir`.
///
/// # Errors
/// A missing manifest (not an index), another format or version, foreign files.
pub fn read_manifest(dir: &Path) -> io::Result<Manifest> {
    check_index_dir(dir)?;
    let path = dir.join(MANIFEST);
    let bytes = fs::read(&path).map_err(|e| {
        io::Error::new(e.kind(), format!("{} is not a textreuse index (no readable manifest.json: {e})", dir.display()))
    })?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{}: not JSON: {e}", path.display())))?;
    if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
        return Err(invalid(format!("{}: not a textreuse index manifest", path.display())));
    }
    let version = v.get("format_version").and_then(|f| f.as_u64()).unwrap_or(0);
    if version != u64::from(FORMAT_VERSION) {
        return Err(invalid(format!(
            "{}: index format version {version}, this build reads version {FORMAT_VERSION}; rebuild the index",
            path.display()
        )));
    }
    serde_json::from_value(v).map_err(|e| invalid(format!("{}: {e}", path.display())))
}

/// Replaces the manifest of `dir` atomically: a temporary file written and flushed, renamed over `manifest.json`,
/// the directory flushed. `pause` is called between the flush and the rename (a test hook).
///
/// # Errors
/// I/O errors; the old manifest stays in place.
pub fn write_manifest(dir: &Path, m: &Manifest, pause: impl FnOnce()) -> io::Result<()> {
    let tmp = dir.join(format!("manifest.json.tmp-{}", m.generation));
    {
        let mut f = File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut f, m).map_err(io::Error::other)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    pause();
    fs::rename(&tmp, dir.join(MANIFEST))?;
    sync_dir(dir)
}

/// An exclusive lock on an index directory for one writer (advisory `flock` on `LOCK`, released when dropped or
/// when the process ends, `kill -9` included).
pub struct WriteLock {
    _file: File,
}

impl WriteLock {
    /// Takes the lock without waiting.
    ///
    /// # Errors
    /// When another command holds it, or the lock file cannot be opened.
    pub fn acquire(dir: &Path) -> io::Result<WriteLock> {
        let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("LOCK"))?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a file descriptor this function owns; no memory is shared.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("{}: another command is writing this index (LOCK is held); try again later", dir.display()),
                ));
            }
        }
        Ok(WriteLock { _file: file })
    }
}

/// Removes segment directories that the manifest does not list (left by a command that was killed) and temporary
/// manifests. Call with the [`WriteLock`] held.
///
/// # Errors
/// I/O errors.
pub fn remove_garbage(dir: &Path, m: &Manifest) -> io::Result<Vec<String>> {
    let listed: std::collections::HashSet<&str> = m.segments.iter().map(|s| s.name.as_str()).collect();
    let mut removed = Vec::new();
    for s in check_index_dir(dir)? {
        if !listed.contains(s.as_str()) {
            fs::remove_dir_all(dir.join("segments").join(&s))?;
            removed.push(s);
        }
    }
    for e in fs::read_dir(dir)? {
        let e = e?;
        if e.file_name().to_string_lossy().starts_with("manifest.json.tmp-") {
            fs::remove_file(e.path())?;
        }
    }
    Ok(removed)
}

fn write_u64s(path: &Path, values: impl IntoIterator<Item = u64>) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    for v in values {
        w.write_all(&v.to_le_bytes())?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn write_u32s(path: &Path, values: impl IntoIterator<Item = u32>) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    for v in values {
        w.write_all(&v.to_le_bytes())?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// One document to write into a segment.
#[derive(Debug, Clone)]
pub struct SegmentDoc {
    /// Id, length and units.
    pub entry: DocEntry,
    /// Its original text, compressed as one zstd frame.
    pub text_zst: Vec<u8>,
    /// Its units (after truncation to `max_units`), as [`compress_units`] writes them.
    pub units_zst: Vec<u8>,
    /// Shingle set (32-bit values, sorted; empty when the document has no shingle).
    pub shingles: Vec<u32>,
    /// Shingle-set hash (0 without shingles).
    pub set_hash: u64,
    /// LSH band keys (`bands` values; zeros without shingles).
    pub band_keys: Vec<u64>,
    /// True when the document enters the LSH buckets.
    pub in_buckets: bool,
    /// Distinct n-gram hashes, sorted.
    pub ngrams: Vec<u64>,
}

/// A sink of postings `(hash, global doc)`, in sorted order.
pub type PostingsSink<'a> = dyn FnMut(u64, u32) -> io::Result<()> + 'a;

/// A source of postings: writes them, sorted, into the sink it is given and returns how many.
pub type PostingsSource<'a> = dyn for<'s> Fn(&'s mut PostingsSink<'s>) -> io::Result<u64> + 'a;

/// Compresses a text as one zstd frame (level 3).
///
/// # Errors
/// Compression errors.
pub fn compress_text(text: &str) -> io::Result<Vec<u8>> {
    zstd::bulk::compress(text.as_bytes(), 3)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], at: &mut usize) -> io::Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let x = *b.get(*at).ok_or_else(|| invalid("units: truncated"))?;
        *at += 1;
        v |= u64::from(x & 0x7f) << shift;
        if x < 0x80 {
            return Ok(v);
        }
    }
    Err(invalid("units: bad varint"))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

/// zstd level of [`compress_units_record`].
const UNITS_LEVEL: i32 = 1;

thread_local! {
    /// Compression contexts of this thread, made once (a context per document costs as much as the work).
    static UNITS_ZSTD: std::cell::RefCell<Option<(zstd::bulk::Compressor<'static>, zstd::bulk::Decompressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

fn with_zstd<T>(
    f: impl FnOnce(&mut zstd::bulk::Compressor<'static>, &mut zstd::bulk::Decompressor<'static>) -> io::Result<T>,
) -> io::Result<T> {
    UNITS_ZSTD.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some((zstd::bulk::Compressor::new(UNITS_LEVEL)?, zstd::bulk::Decompressor::new()?));
        }
        let (c, d) = cell.as_mut().expect("made above");
        f(c, d)
    })
}

/// The first byte of a units record of the out-of-core `passages` job ([`packed_units_record`]): the units follow as
/// [`pack_units`] gives them.
pub const UNITS_PACKED: u8 = 0;
/// The first byte of a compressed units record ([`compress_units_record`]): one zstd frame of [`pack_units`]'s
/// bytes follows.
pub const UNITS_COMPRESSED: u8 = 1;

/// A document's units as the out-of-core `passages` job keeps them in memory: the byte [`UNITS_PACKED`], then
/// [`pack_units`]'s bytes (about 6 bytes per unit on Chinese news, 12 per English word). Read back with
/// [`units_of_record`].
pub fn packed_units_record(u: &UnitDoc) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 * u.len() + 9);
    out.push(UNITS_PACKED);
    pack_units_into(u, &mut out);
    out
}

/// The record `packed` ([`packed_units_record`]) as the job writes it to its spill file: the byte
/// [`UNITS_COMPRESSED`], then its units in one zstd frame (level 1, with this thread's compression context: about
/// twice as fast as [`compress_units`], slightly larger). A record that is compressed already comes back as it is.
///
/// # Errors
/// Compression errors; a record that is neither kind.
pub fn compress_units_record(packed: &[u8]) -> io::Result<Vec<u8>> {
    match packed.split_first() {
        Some((&UNITS_PACKED, units)) => with_zstd(|c, _| {
            let mut out = Vec::with_capacity(1 + zstd::zstd_safe::compress_bound(units.len()));
            out.push(UNITS_COMPRESSED);
            out.extend_from_slice(&c.compress(units)?);
            Ok(out)
        }),
        Some((&UNITS_COMPRESSED, _)) => Ok(packed.to_vec()),
        _ => Err(invalid("units: unknown record")),
    }
}

/// The units of a record of [`packed_units_record`] or [`compress_units_record`], decompressed with this
/// thread's decompression context where they are compressed.
///
/// # Errors
/// A record that does not decompress or decode.
pub fn units_of_record(record: &[u8]) -> io::Result<UnitDoc> {
    match record.split_first() {
        Some((&UNITS_PACKED, units)) => unpack_units(units),
        Some((&UNITS_COMPRESSED, frame)) => {
            let size = zstd::zstd_safe::get_frame_content_size(frame)
                .ok()
                .flatten()
                .ok_or_else(|| io::Error::other("units frame without its size"))?;
            let packed = with_zstd(|_, d| d.decompress(frame, size as usize))?;
            unpack_units(&packed)
        }
        _ => Err(invalid("units: unknown record")),
    }
}

/// Compresses a document's units (the [`UnitDoc`] its alignment needs: unit ids, original spans, closing
/// punctuation) as one zstd frame (level 3), so that a query aligns it without normalizing its text again.
/// Before compression the units are four streams: the unit count, then per unit its id (LEB128 varint of
/// `2 × code point` for a CJK character, else the byte 1 and the 8 bytes of the word's hash), the start of its span
/// minus the end of the previous one (zigzag varint), the span's length (zigzag varint), and the closing
/// punctuation count (one byte). About 1.5–2 bytes per unit on Chinese news after compression.
///
/// # Errors
/// Compression errors.
pub fn compress_units(u: &UnitDoc) -> io::Result<Vec<u8>> {
    zstd::bulk::compress(&pack_units(u), 3)
}

/// The four streams of [`compress_units`] before compression (about 6 bytes per unit on Chinese news).
pub fn pack_units(u: &UnitDoc) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 * u.len() + 8);
    pack_units_into(u, &mut out);
    out
}

/// [`pack_units`], appended to `out`.
fn pack_units_into(u: &UnitDoc, out: &mut Vec<u8>) {
    let n = u.len();
    put_varint(out, n as u64);
    for &id in &u.ids {
        match unit_char(id) {
            Some(c) => put_varint(out, u64::from(c) << 1),
            None => {
                out.push(1);
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
    }
    let mut prev = 0i64;
    for &(s, _) in &u.spans {
        put_varint(out, zigzag(i64::from(s) - prev));
        prev = i64::from(s);
    }
    for &(s, e) in &u.spans {
        put_varint(out, zigzag(i64::from(e) - i64::from(s)));
    }
    out.extend_from_slice(&u.closing);
}

/// The inverse of [`compress_units`].
///
/// # Errors
/// A frame that does not decompress or decode (a damaged index).
pub fn decompress_units(frame: &[u8]) -> io::Result<UnitDoc> {
    unpack_units(&zstd::stream::decode_all(frame)?)
}

/// The inverse of [`pack_units`].
///
/// # Errors
/// Bytes that do not decode as units.
pub fn unpack_units(b: &[u8]) -> io::Result<UnitDoc> {
    let mut at = 0usize;
    let n = get_varint(b, &mut at)? as usize;
    if n > b.len() {
        return Err(invalid("units: bad count"));
    }
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let v = get_varint(b, &mut at)?;
        if v == 1 {
            let raw = b.get(at..at + 8).ok_or_else(|| invalid("units: truncated"))?;
            ids.push(u64::from_le_bytes(raw.try_into().expect("8 bytes")));
            at += 8;
        } else {
            ids.push(char_unit_id((v >> 1) as u32));
        }
    }
    let mut starts = Vec::with_capacity(n);
    let mut prev = 0i64;
    for _ in 0..n {
        prev += unzigzag(get_varint(b, &mut at)?);
        starts.push(prev as u32);
    }
    let mut spans = Vec::with_capacity(n);
    for s in starts {
        let len = unzigzag(get_varint(b, &mut at)?);
        spans.push((s, (i64::from(s) + len) as u32));
    }
    let closing = b.get(at..at + n).ok_or_else(|| invalid("units: truncated"))?.to_vec();
    Ok(UnitDoc { ids, spans, closing })
}

/// Writes a segment of `docs` (numbered from `base`) with its stored `pairs` into `segments/NAME/` of `dir`,
/// through a temporary directory renamed at the end; returns its manifest entry. `postings` (sorted
/// `(hash, global doc)`), when given, replaces the postings built from the documents' n-grams (compaction).
///
/// # Errors
/// I/O errors (the temporary directory is left for the next writer to remove).
pub fn write_segment(
    dir: &Path,
    name: &str,
    base: u32,
    bands: usize,
    docs: &[SegmentDoc],
    pairs: &[StoredPair],
    postings: Option<&PostingsSource<'_>>,
) -> io::Result<SegmentEntry> {
    let segs = dir.join("segments");
    fs::create_dir_all(&segs)?;
    let tmp = segs.join(format!(".tmp-{name}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir(&tmp)?;
    let n = docs.len();
    // Documents.
    {
        let f = File::create(tmp.join("docs.jsonl.zst"))?;
        let mut z = zstd::Encoder::new(BufWriter::new(f), 3)?;
        for d in docs {
            serde_json::to_writer(&mut z, &d.entry).map_err(io::Error::other)?;
            z.write_all(b"\n")?;
        }
        z.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    // Texts and units.
    for (name, frame) in
        [("texts", (|d: &SegmentDoc| &d.text_zst) as fn(&SegmentDoc) -> &Vec<u8>), ("units", |d| &d.units_zst)]
    {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(tmp.join(format!("{name}.zst")))?);
        let mut offs = Vec::with_capacity(n + 1);
        let mut at = 0u64;
        offs.push(0);
        for d in docs {
            w.write_all(frame(d))?;
            at += frame(d).len() as u64;
            offs.push(at);
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        write_u64s(&tmp.join(format!("{name}.off")), offs)?;
    }
    // Shingle sets, set hashes, band keys.
    {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(tmp.join("sets.bin"))?);
        let mut offs = Vec::with_capacity(n + 1);
        let mut at = 0u64;
        offs.push(0);
        for d in docs {
            for v in &d.shingles {
                w.write_all(&v.to_le_bytes())?;
            }
            at += d.shingles.len() as u64;
            offs.push(at);
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        write_u64s(&tmp.join("sets.off"), offs)?;
    }
    write_u64s(&tmp.join("sethash.bin"), docs.iter().map(|d| d.set_hash))?;
    let mut first: Vec<(u64, u64)> = Vec::new();
    {
        let mut seen: HashMap<u64, ()> = HashMap::new();
        for (k, d) in docs.iter().enumerate() {
            if !d.shingles.is_empty() && seen.insert(d.set_hash, ()).is_none() {
                first.push((d.set_hash, u64::from(base) + k as u64));
            }
        }
        first.sort_unstable();
        write_u64s(&tmp.join("sethash.first"), first.iter().flat_map(|&(h, d)| [h, d]))?;
    }
    write_u64s(
        &tmp.join("bandkeys.bin"),
        docs.iter().flat_map(|d| (0..bands).map(move |b| d.band_keys.get(b).copied().unwrap_or(0))),
    )?;
    // Buckets, band by band.
    let mut band_offsets = vec![0u64];
    {
        let mut keys: Vec<u64> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        for b in 0..bands {
            let mut entries: Vec<(u64, u32)> = docs
                .iter()
                .enumerate()
                .filter(|(_, d)| d.in_buckets)
                .map(|(k, d)| (d.band_keys[b], base + k as u32))
                .collect();
            entries.sort_unstable();
            keys.extend(entries.iter().map(|e| e.0));
            ids.extend(entries.iter().map(|e| e.1));
            band_offsets.push(keys.len() as u64);
        }
        write_u64s(&tmp.join("buckets.key"), keys)?;
        write_u32s(&tmp.join("buckets.doc"), ids)?;
    }
    // Postings.
    let postings_count = {
        let mut hw = BufWriter::with_capacity(1 << 20, File::create(tmp.join("ngrams.hash"))?);
        let mut dw = BufWriter::with_capacity(1 << 20, File::create(tmp.join("ngrams.doc"))?);
        let mut put = |h: u64, d: u32| -> io::Result<()> {
            hw.write_all(&h.to_le_bytes())?;
            dw.write_all(&d.to_le_bytes())
        };
        let count = match postings {
            Some(f) => f(&mut put)?,
            None => {
                use rayon::prelude::*;
                let mut entries: Vec<(u64, u32)> = Vec::with_capacity(docs.iter().map(|d| d.ngrams.len()).sum());
                for (k, d) in docs.iter().enumerate() {
                    entries.extend(d.ngrams.iter().map(|&h| (h, base + k as u32)));
                }
                entries.par_sort_unstable();
                for &(h, d) in &entries {
                    put(h, d)?;
                }
                entries.len() as u64
            }
        };
        hw.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        dw.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        count
    };
    // Pairs.
    {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(tmp.join("pairs.bin"))?);
        for p in pairs {
            w.write_all(&p.a.to_le_bytes())?;
            w.write_all(&p.b.to_le_bytes())?;
            w.write_all(&u32::from(p.exact).to_le_bytes())?;
            w.write_all(&0u32.to_le_bytes())?;
            w.write_all(&p.stats.intersection.to_le_bytes())?;
            w.write_all(&p.stats.jaccard.to_le_bytes())?;
            w.write_all(&p.stats.containment.to_le_bytes())?;
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    let meta = SegmentMeta {
        format_version: FORMAT_VERSION,
        base,
        docs: n as u32,
        bands,
        band_offsets,
        postings: postings_count,
        pairs: pairs.len() as u64,
    };
    {
        let mut f = File::create(tmp.join("meta.json"))?;
        serde_json::to_writer_pretty(&mut f, &meta).map_err(io::Error::other)?;
        f.sync_all()?;
    }
    sync_dir(&tmp)?;
    let fin = segs.join(name);
    fs::rename(&tmp, &fin)?;
    sync_dir(&segs)?;
    Ok(SegmentEntry { name: name.to_string(), base, docs: n as u32 })
}

/// A read-only memory map of a file (empty files need no map).
struct Col {
    map: Option<Mmap>,
}

impl Col {
    fn open(path: &Path) -> io::Result<Col> {
        let f = File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if f.metadata()?.len() == 0 {
            return Ok(Col { map: None });
        }
        // SAFETY: segment files are never modified after they are written (they are replaced by new segments, and
        // removed only after the manifest stops listing them).
        let map = unsafe { Mmap::map(&f)? };
        Ok(Col { map: Some(map) })
    }
    fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }
    fn len64(&self) -> usize {
        self.bytes().len() / 8
    }
    fn u64_at(&self, i: usize) -> u64 {
        u64::from_le_bytes(self.bytes()[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
    }
    fn u32_at(&self, i: usize) -> u32 {
        u32::from_le_bytes(self.bytes()[i * 4..i * 4 + 4].try_into().expect("4 bytes"))
    }
}

/// First position in `lo..hi` whose value is at least `x` (values sorted), by exponential then binary search from
/// `lo`: cheap for a sorted stream of lookups.
fn gallop(col: &Col, mut lo: usize, hi: usize, x: u64) -> usize {
    let mut step = 1;
    let mut bound = lo;
    while bound < hi && col.u64_at(bound) < x {
        lo = bound + 1;
        bound = lo + step;
        step *= 2;
    }
    let mut hi = bound.min(hi);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if col.u64_at(mid) < x {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// One open segment.
pub struct SegmentReader {
    /// The manifest's entry.
    pub entry: SegmentEntry,
    /// Its `meta.json`.
    pub meta: SegmentMeta,
    dir: PathBuf,
    docs: Vec<DocEntry>,
    texts: Col,
    texts_off: Col,
    units: Col,
    units_off: Col,
    sets: Col,
    sets_off: Col,
    set_hash: Col,
    first: Col,
    band_keys: Col,
    bucket_keys: Col,
    bucket_docs: Col,
    ngram_hash: Col,
    ngram_doc: Col,
    pairs: Col,
}

impl SegmentReader {
    /// Opens segment `entry` of the index in `dir`.
    ///
    /// # Errors
    /// Missing or inconsistent files.
    pub fn open(dir: &Path, entry: &SegmentEntry) -> io::Result<SegmentReader> {
        let sd = dir.join("segments").join(&entry.name);
        let meta: SegmentMeta = serde_json::from_slice(&fs::read(sd.join("meta.json"))?)
            .map_err(|e| invalid(format!("{}: {e}", sd.join("meta.json").display())))?;
        if meta.base != entry.base || meta.docs != entry.docs || meta.format_version != FORMAT_VERSION {
            return Err(invalid(format!("{}: does not match the manifest", sd.display())));
        }
        let mut docs = Vec::with_capacity(entry.docs as usize);
        let mut text = String::new();
        zstd::Decoder::new(File::open(sd.join("docs.jsonl.zst"))?)?.read_to_string(&mut text)?;
        for line in text.lines() {
            docs.push(serde_json::from_str::<DocEntry>(line).map_err(|e| invalid(format!("{}: {e}", sd.display())))?);
        }
        if docs.len() != entry.docs as usize {
            return Err(invalid(format!(
                "{}: {} documents, the manifest says {}",
                sd.display(),
                docs.len(),
                entry.docs
            )));
        }
        let c = |f: &str| Col::open(&sd.join(f));
        Ok(SegmentReader {
            entry: entry.clone(),
            docs,
            texts: c("texts.zst")?,
            texts_off: c("texts.off")?,
            units: c("units.zst")?,
            units_off: c("units.off")?,
            sets: c("sets.bin")?,
            sets_off: c("sets.off")?,
            set_hash: c("sethash.bin")?,
            first: c("sethash.first")?,
            band_keys: c("bandkeys.bin")?,
            bucket_keys: c("buckets.key")?,
            bucket_docs: c("buckets.doc")?,
            ngram_hash: c("ngrams.hash")?,
            ngram_doc: c("ngrams.doc")?,
            pairs: c("pairs.bin")?,
            meta,
            dir: sd,
        })
    }

    /// The documents' entries.
    pub fn docs(&self) -> &[DocEntry] {
        &self.docs
    }

    /// Bytes on disk of the segment's files.
    pub fn disk_bytes(&self) -> u64 {
        fs::read_dir(&self.dir).map(|rd| rd.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
    }

    fn set(&self, local: usize) -> Vec<u32> {
        let (s, e) = (self.sets_off.u64_at(local) as usize, self.sets_off.u64_at(local + 1) as usize);
        (s..e).map(|i| self.sets.u32_at(i)).collect()
    }

    fn text_zst(&self, local: usize) -> &[u8] {
        let (s, e) = (self.texts_off.u64_at(local) as usize, self.texts_off.u64_at(local + 1) as usize);
        &self.texts.bytes()[s..e]
    }

    fn units_zst(&self, local: usize) -> &[u8] {
        let (s, e) = (self.units_off.u64_at(local) as usize, self.units_off.u64_at(local + 1) as usize);
        &self.units.bytes()[s..e]
    }

    /// Everything stored of document `local` for a rewrite (compaction).
    pub fn segment_doc(&self, local: usize) -> SegmentDoc {
        let bands = self.meta.bands;
        SegmentDoc {
            entry: self.docs[local].clone(),
            text_zst: self.text_zst(local).to_vec(),
            units_zst: self.units_zst(local).to_vec(),
            shingles: self.set(local),
            set_hash: self.set_hash.u64_at(local),
            band_keys: (0..bands).map(|b| self.band_keys.u64_at(local * bands + b)).collect(),
            in_buckets: false,
            ngrams: Vec::new(),
        }
    }

    /// The stored pairs.
    pub fn pairs(&self) -> Vec<StoredPair> {
        let b = self.pairs.bytes();
        b.chunks_exact(40)
            .map(|r| {
                let u32_at = |o: usize| u32::from_le_bytes(r[o..o + 4].try_into().expect("4"));
                let u64_at = |o: usize| u64::from_le_bytes(r[o..o + 8].try_into().expect("8"));
                StoredPair {
                    a: u32_at(0),
                    b: u32_at(4),
                    exact: u32_at(8) != 0,
                    stats: PairStats {
                        intersection: u64_at(16),
                        jaccard: f64::from_bits(u64_at(24)),
                        containment: f64::from_bits(u64_at(32)),
                    },
                }
            })
            .collect()
    }

    /// Number of postings.
    pub fn postings_len(&self) -> usize {
        self.ngram_hash.len64()
    }

    /// Posting `i`: `(hash, global doc)`.
    pub fn posting(&self, i: usize) -> (u64, u32) {
        (self.ngram_hash.u64_at(i), self.ngram_doc.u32_at(i))
    }
}

/// An index opened for reading: the manifest and its segments, with every document's id, length and set size in
/// memory. Implements [`IndexedDocuments`].
pub struct IndexReader {
    /// The manifest read.
    pub manifest: Manifest,
    /// Open segments, in order.
    pub segments: Vec<SegmentReader>,
    ids: Vec<String>,
    positions: HashMap<String, u32>,
    chars: Vec<u64>,
    set_lens: Vec<u32>,
    deleted: Vec<bool>,
}

impl IndexReader {
    /// Opens the index in `dir` as its manifest describes it.
    ///
    /// # Errors
    /// Not an index, another format version, foreign files, missing or damaged segment files.
    pub fn open(dir: &Path) -> io::Result<IndexReader> {
        let manifest = read_manifest(dir)?;
        IndexReader::with_segments(dir, manifest)
    }

    /// Opens the segments that `manifest` lists (which may list segments written but not yet committed).
    ///
    /// # Errors
    /// Missing or damaged segment files.
    pub fn with_segments(dir: &Path, manifest: Manifest) -> io::Result<IndexReader> {
        let mut r = IndexReader {
            manifest: manifest.clone(),
            segments: Vec::new(),
            ids: Vec::new(),
            positions: HashMap::new(),
            chars: Vec::new(),
            set_lens: Vec::new(),
            deleted: Vec::new(),
        };
        for e in &manifest.segments {
            r.push_segment(SegmentReader::open(dir, e)?)?;
        }
        Ok(r)
    }

    /// Adds a segment written after the others (its base must be the current number of documents).
    ///
    /// # Errors
    /// A segment whose base does not follow.
    pub fn push_segment(&mut self, s: SegmentReader) -> io::Result<()> {
        if s.entry.base as usize != self.ids.len() {
            return Err(invalid(format!(
                "segment {} starts at {}, expected {}",
                s.entry.name,
                s.entry.base,
                self.ids.len()
            )));
        }
        let deleted: std::collections::HashSet<&str> = self.manifest.deleted.iter().map(String::as_str).collect();
        for (k, d) in s.docs.iter().enumerate() {
            let g = self.ids.len() as u32;
            self.positions.insert(d.id.clone(), g);
            self.ids.push(d.id.clone());
            self.chars.push(d.chars);
            self.set_lens.push((s.sets_off.u64_at(k + 1) - s.sets_off.u64_at(k)) as u32);
            self.deleted.push(deleted.contains(d.id.as_str()));
        }
        if !self.manifest.segments.iter().any(|e| e.name == s.entry.name) {
            self.manifest.segments.push(s.entry.clone());
        }
        self.segments.push(s);
        Ok(())
    }

    /// The number of the document with this id.
    pub fn position(&self, id: &str) -> Option<u32> {
        self.positions.get(id).copied()
    }

    /// Lengths of every document in code points, by number.
    pub fn all_chars(&self) -> &[u64] {
        &self.chars
    }

    fn locate(&self, doc: u32) -> (&SegmentReader, usize) {
        let k = self.segments.partition_point(|s| s.entry.base + s.entry.docs <= doc);
        let s = &self.segments[k];
        (s, (doc - s.entry.base) as usize)
    }

    /// Total bytes on disk of the segments.
    pub fn disk_bytes(&self) -> u64 {
        self.segments.iter().map(SegmentReader::disk_bytes).sum()
    }
}

impl IndexedDocuments for IndexReader {
    type Error = io::Error;

    fn len(&self) -> u32 {
        self.ids.len() as u32
    }

    fn id(&self, doc: u32) -> &str {
        &self.ids[doc as usize]
    }

    fn chars(&self, doc: u32) -> u64 {
        self.chars[doc as usize]
    }

    fn set_len(&self, doc: u32) -> usize {
        self.set_lens[doc as usize] as usize
    }

    fn is_deleted(&self, doc: u32) -> bool {
        self.deleted[doc as usize]
    }

    fn read_set<'a>(&'a self, doc: u32, buf: &'a mut Vec<u32>) -> io::Result<&'a [u32]> {
        let (s, local) = self.locate(doc);
        *buf = s.set(local);
        Ok(buf)
    }

    fn first_with_set_hash(&self, set_hash: u64) -> Option<u32> {
        for s in &self.segments {
            let n = s.first.len64() / 2;
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if s.first.u64_at(2 * mid) < set_hash {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if lo < n && s.first.u64_at(2 * lo) == set_hash {
                return Some(s.first.u64_at(2 * lo + 1) as u32);
            }
        }
        None
    }

    fn bucket_tail(&self, band: usize, key: u64, w: usize) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for s in self.segments.iter().rev() {
            if out.len() >= w {
                break;
            }
            let (b0, b1) = (s.meta.band_offsets[band] as usize, s.meta.band_offsets[band + 1] as usize);
            let lo = gallop(&s.bucket_keys, b0, b1, key);
            let hi = gallop(&s.bucket_keys, lo, b1, key.wrapping_add(1)).max(lo);
            let hi = if key == u64::MAX { b1 } else { hi };
            for i in (lo..hi).rev() {
                if out.len() >= w {
                    break;
                }
                out.push(s.bucket_docs.u32_at(i));
            }
        }
        out.reverse();
        out
    }

    fn ngram_postings(&self, hashes: &[u64], limit: usize) -> io::Result<NgramPostings> {
        let mut out = NgramPostings { df: Vec::with_capacity(hashes.len()), offsets: vec![0], docs: Vec::new() };
        let mut at: Vec<usize> = vec![0; self.segments.len()];
        let mut ranges: Vec<(usize, usize)> = vec![(0, 0); self.segments.len()];
        for &h in hashes {
            let mut df = 0usize;
            for (k, s) in self.segments.iter().enumerate() {
                let n = s.ngram_hash.len64();
                let lo = gallop(&s.ngram_hash, at[k], n, h);
                let hi = if h == u64::MAX { n } else { gallop(&s.ngram_hash, lo, n, h + 1) };
                ranges[k] = (lo, hi);
                at[k] = hi;
                df += hi - lo;
            }
            if df <= limit {
                for (k, s) in self.segments.iter().enumerate() {
                    out.docs.extend((ranges[k].0..ranges[k].1).map(|i| s.ngram_doc.u32_at(i)));
                }
            }
            out.df.push(df as u64);
            out.offsets.push(out.docs.len());
        }
        Ok(out)
    }

    fn text(&self, doc: u32) -> io::Result<String> {
        let (s, local) = self.locate(doc);
        let bytes = zstd::stream::decode_all(s.text_zst(local))?;
        String::from_utf8(bytes).map_err(|e| invalid(format!("document {doc}: text not UTF-8: {e}")))
    }

    fn units(&self, doc: u32) -> io::Result<UnitDoc> {
        let (s, local) = self.locate(doc);
        decompress_units(s.units_zst(local)).map_err(|e| invalid(format!("document {doc}: {e}")))
    }

    fn pairs(&self) -> io::Result<Vec<StoredPair>> {
        Ok(self.segments.iter().flat_map(SegmentReader::pairs).collect())
    }
}

/// Merges the postings of `segments` into one sorted stream of `(hash, doc)`, leaving out documents `keep` refuses
/// and renumbering the others with `renumber`; returns how many were written.
///
/// # Errors
/// What `put` returns.
pub fn merge_postings(
    segments: &[SegmentReader],
    keep: &dyn Fn(u32) -> Option<u32>,
    put: &mut dyn FnMut(u64, u32) -> io::Result<()>,
) -> io::Result<u64> {
    let mut heap: BinaryHeap<std::cmp::Reverse<(u64, u32, usize, usize)>> = BinaryHeap::new();
    for (k, s) in segments.iter().enumerate() {
        if s.postings_len() > 0 {
            let (h, d) = s.posting(0);
            heap.push(std::cmp::Reverse((h, d, k, 0)));
        }
    }
    let mut count = 0;
    while let Some(std::cmp::Reverse((h, d, k, i))) = heap.pop() {
        if let Some(nd) = keep(d) {
            put(h, nd)?;
            count += 1;
        }
        if i + 1 < segments[k].postings_len() {
            let (h2, d2) = segments[k].posting(i + 1);
            heap.push(std::cmp::Reverse((h2, d2, k, i + 1)));
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use textreuse_core::normalize::NormalizeOptions;

    #[test]
    fn units_come_back_as_normalization_gives_them() {
        // CJK characters (traditional, converted), words, punctuation, line breaks, an empty text.
        for text in [
            "新華社北京五月二十日電，國家統計局今天發布數據。\n\"GDP grew 5.1%\", it said — résumé café.",
            "The Evening Star, Washington, D. C., January 3, 1916.",
            "",
            "。。。",
        ] {
            let u = UnitDoc::new(text, &NormalizeOptions::default());
            let frame = compress_units(&u).unwrap();
            assert_eq!(decompress_units(&frame).unwrap(), u, "{text}");
            let packed = packed_units_record(&u);
            assert_eq!(units_of_record(&packed).unwrap(), u, "{text}");
            let compressed = compress_units_record(&packed).unwrap();
            assert_eq!(compressed[0], UNITS_COMPRESSED);
            assert_eq!(units_of_record(&compressed).unwrap(), u, "{text}");
            assert_eq!(compress_units_record(&compressed).unwrap(), compressed);
        }
        assert!(decompress_units(b"not a frame").is_err());
        assert!(units_of_record(b"").is_err() && units_of_record(b"\x02").is_err());
        assert!(units_of_record(b"\x01not a frame").is_err());
    }
}
