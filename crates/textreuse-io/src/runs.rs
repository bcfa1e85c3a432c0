//! Out-of-core building blocks for jobs that hold more than memory: byte records stored in memory up to a budget
//! and then in an anonymous temporary file ([`BlobStore`]), `(key, value)` postings partitioned by the key's top
//! bits into buckets that spill to files ([`PostingBuckets`]), and counts of `u64` keys aggregated in sorted runs
//! and merged ([`KeyCounts`], an external sort with counting). Every file is anonymous (`tempfile::tempfile_in`):
//! it disappears when its owner is dropped or the process dies.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

use crate::sorted_runs::FileSection;

/// Physical memory of this machine in bytes (`MemTotal` of `/proc/meminfo`), `None` where it cannot be read.
pub fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Byte records (one per document), appended in order and read back by index. The first records are kept in
/// memory up to a budget; once it is spent every later record goes to an anonymous temporary file, so memory
/// stays bounded whatever the corpus size. Reads take `&self` and may run on many threads at once.
pub struct BlobStore {
    mem: Vec<u8>,
    mem_budget: usize,
    file: Option<File>,
    writer: Option<BufWriter<File>>,
    dir: PathBuf,
    finished: bool,
    /// `offsets[d]..offsets[d + 1]`: the bytes of record `d`, counted across memory then file.
    offsets: Vec<u64>,
}

impl BlobStore {
    /// A new, empty store holding up to `mem_budget_bytes` of records in memory, the rest in a temporary file under
    /// `dir` (created when needed, removed when the store is dropped).
    pub fn new(dir: &Path, mem_budget_bytes: usize) -> BlobStore {
        BlobStore {
            mem: Vec::new(),
            mem_budget: mem_budget_bytes,
            file: None,
            writer: None,
            dir: dir.to_path_buf(),
            finished: false,
            offsets: vec![0],
        }
    }

    /// Appends the next record; returns its index.
    ///
    /// # Errors
    /// On I/O errors of the spill file, or after [`BlobStore::finish`].
    pub fn push(&mut self, record: &[u8]) -> io::Result<usize> {
        if self.finished {
            return Err(io::Error::other("BlobStore already finished"));
        }
        if self.file.is_none() && self.mem.len() + record.len() <= self.mem_budget {
            self.mem.extend_from_slice(record);
        } else {
            if self.file.is_none() {
                let file = tempfile::tempfile_in(&self.dir)?;
                self.writer = Some(BufWriter::with_capacity(1 << 20, file.try_clone()?));
                self.file = Some(file);
            }
            self.writer.as_mut().expect("spill writer").write_all(record)?;
        }
        let last = *self.offsets.last().expect("offsets start with 0");
        self.offsets.push(last + record.len() as u64);
        Ok(self.offsets.len() - 2)
    }

    /// Bytes of the records kept in memory.
    pub fn memory_bytes(&self) -> usize {
        self.mem.len()
    }

    /// Ends writing; records can be read from now on.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.flush()?;
        }
        self.mem.shrink_to_fit();
        self.finished = true;
        Ok(())
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when no record is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes written to the spill file.
    pub fn spilled_bytes(&self) -> u64 {
        self.offsets.last().copied().unwrap_or(0) - self.mem.len() as u64
    }

    /// Length of record `d` in bytes.
    pub fn record_len(&self, d: usize) -> usize {
        (self.offsets[d + 1] - self.offsets[d]) as usize
    }

    /// Reads `len` bytes of record `d` from byte `offset` of it into `buf` (replacing its content).
    ///
    /// # Errors
    /// On I/O errors, or before [`BlobStore::finish`].
    ///
    /// # Panics
    /// When the range is outside the record.
    pub fn read_at(&self, d: usize, offset: usize, len: usize, buf: &mut Vec<u8>) -> io::Result<()> {
        if !self.finished {
            return Err(io::Error::other("BlobStore read before finish"));
        }
        assert!(offset + len <= self.record_len(d), "range outside record {d}");
        let start = self.offsets[d] as usize + offset;
        buf.clear();
        if start + len <= self.mem.len() {
            buf.extend_from_slice(&self.mem[start..start + len]);
            return Ok(());
        }
        let file = self.file.as_ref().expect("spilled records have a file");
        buf.resize(len, 0);
        file.read_exact_at(buf, (start - self.mem.len()) as u64)
    }

    /// Reads record `d` into `buf` (replacing its content).
    ///
    /// # Errors
    /// On I/O errors, or before [`BlobStore::finish`].
    pub fn read_into(&self, d: usize, buf: &mut Vec<u8>) -> io::Result<()> {
        if !self.finished {
            return Err(io::Error::other("BlobStore read before finish"));
        }
        let (start, end) = (self.offsets[d] as usize, self.offsets[d + 1] as usize);
        buf.clear();
        if end <= self.mem.len() {
            buf.extend_from_slice(&self.mem[start..end]);
            return Ok(());
        }
        let file = self.file.as_ref().expect("spilled records have a file");
        buf.resize(end - start, 0);
        file.read_exact_at(buf, (start - self.mem.len()) as u64)
    }
}

/// A fixed-size record that [`PostingBuckets`] can spill: a `u64` key (which selects the bucket) and its bytes.
pub trait Record: Copy + Send {
    /// Bytes of one record on disk.
    const BYTES: usize;
    /// The key whose high bits select the bucket.
    fn key(&self) -> u64;
    /// Appends the record's bytes (little-endian) to `out`.
    fn write(&self, out: &mut Vec<u8>);
    /// The record of `bytes` (`BYTES` of them).
    fn read(bytes: &[u8]) -> Self;
    /// Appends a compact encoding of the block `records` (which it may reorder) to `out` and returns true, or
    /// returns false where the record type has none (the default): the block is then written as the records'
    /// bytes in a zstd frame.
    fn pack(_records: &mut [Self], _out: &mut Vec<u8>) -> bool {
        false
    }
    /// Appends to `out` the `count` records of a block written by [`Record::pack`] whose key `keep` accepts.
    ///
    /// # Errors
    /// `InvalidData` where the block is not such an encoding.
    fn unpack(_bytes: &[u8], _count: usize, _keep: &dyn Fn(u64) -> bool, _out: &mut Vec<Self>) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::InvalidData, "this record type has no packed encoding"))
    }
}

/// Bits written least significant first into bytes.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter<'_> {
    /// Writes the low `n` bits of `v` (`n` ≤ 64).
    fn put(&mut self, v: u64, n: u32) {
        if n > 32 {
            self.put(v & 0xffff_ffff, 32);
            self.put(v >> 32, n - 32);
            return;
        }
        if n == 0 {
            return;
        }
        self.acc |= (v & ((1u64 << n) - 1)) << self.bits;
        self.bits += n;
        while self.bits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    /// Writes `q` in unary: `q` one bits, then a zero.
    fn unary(&mut self, mut q: u64) {
        while q >= 32 {
            self.put(0xffff_ffff, 32);
            q -= 32;
        }
        self.put((1u64 << q) - 1, q as u32 + 1);
    }

    fn finish(self) {
        if self.bits > 0 {
            self.out.push(self.acc as u8);
        }
    }
}

/// Reads what [`BitWriter`] wrote; reads past the end give zero bits.
struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    /// The next 57 bits at least (in the low bits), without moving.
    fn peek(&self) -> u64 {
        let b = self.pos / 8;
        let mut word = [0u8; 8];
        if b < self.bytes.len() {
            let end = (b + 8).min(self.bytes.len());
            word[..end - b].copy_from_slice(&self.bytes[b..end]);
        }
        u64::from_le_bytes(word) >> (self.pos % 8)
    }

    /// Reads `n` bits (`n` ≤ 64).
    fn get(&mut self, n: u32) -> u64 {
        if n > 32 {
            let lo = self.get(32);
            return lo | (self.get(n - 32) << 32);
        }
        if n == 0 {
            return 0;
        }
        let v = self.peek() & ((1u64 << n) - 1);
        self.pos += n as usize;
        v
    }

    /// Reads a unary number.
    fn unary(&mut self) -> u64 {
        let mut q = 0u64;
        loop {
            let ones = self.peek().trailing_ones();
            if ones < 56 {
                self.pos += ones as usize + 1;
                return q + ones as u64;
            }
            self.pos += 56;
            q += 56;
            if self.pos > self.bytes.len() * 8 {
                return q;
            }
        }
    }
}

/// Bytes of the header of a packed block of postings: first hash (8), Rice parameter (1), first document (4),
/// bits per document (1).
const PACKED_HEADER: usize = 14;

fn u64_at(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// A posting `(n-gram hash, document)`: 12 bytes on disk.
impl Record for (u64, u32) {
    const BYTES: usize = 12;
    fn key(&self) -> u64 {
        self.0
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
        out.extend_from_slice(&self.1.to_le_bytes());
    }
    fn read(b: &[u8]) -> Self {
        (u64_at(b), u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")))
    }

    /// Sorted by `(hash, document)`; the first hash in full, then each hash as its difference from the previous
    /// one (Rice code: the quotient by `2^k` in unary, `k` low bits; `k` is the base-2 logarithm of the mean
    /// difference), each document as its offset from the block's smallest in as many bits as the largest needs.
    /// The hashes of a bucket share their top bits and are uniform below them, so a difference costs about its
    /// mean's logarithm plus 2 bits: about 7 bytes per posting instead of 12 (zstd saves about 15% of those).
    fn pack(records: &mut [Self], out: &mut Vec<u8>) -> bool {
        records.sort_unstable();
        let (Some(first), Some(last)) = (records.first(), records.last()) else { return true };
        let k = if records.len() > 1 { ((last.0 - first.0) / (records.len() as u64 - 1)).max(1).ilog2() } else { 0 };
        let doc_min = records.iter().map(|r| r.1).min().expect("not empty");
        let doc_max = records.iter().map(|r| r.1).max().expect("not empty");
        let doc_bits = u32::BITS - (doc_max - doc_min).leading_zeros();
        out.extend_from_slice(&first.0.to_le_bytes());
        out.push(k as u8);
        out.extend_from_slice(&doc_min.to_le_bytes());
        out.push(doc_bits as u8);
        let mut w = BitWriter { out, acc: 0, bits: 0 };
        let mut prev = first.0;
        for &(h, d) in records.iter() {
            let delta = h - prev;
            prev = h;
            w.unary(delta >> k);
            w.put(delta, k);
            w.put((d - doc_min) as u64, doc_bits);
        }
        w.finish();
        true
    }

    fn unpack(bytes: &[u8], count: usize, keep: &dyn Fn(u64) -> bool, out: &mut Vec<Self>) -> io::Result<()> {
        if count == 0 {
            return Ok(());
        }
        if bytes.len() < PACKED_HEADER {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "packed postings: short header"));
        }
        let mut h = u64_at(bytes);
        let k = u32::from(bytes[8]);
        let doc_min = u32::from_le_bytes(bytes[9..13].try_into().expect("4 bytes"));
        let doc_bits = u32::from(bytes[13]);
        if k > 63 || doc_bits > 32 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "packed postings: bad header"));
        }
        let mut r = BitReader { bytes: &bytes[PACKED_HEADER..], pos: 0 };
        for _ in 0..count {
            let q = r.unary();
            let delta = (q << k) | r.get(k);
            h = h.wrapping_add(delta);
            let d = doc_min.wrapping_add(r.get(doc_bits) as u32);
            if keep(h) {
                out.push((h, d));
            }
        }
        if r.pos > (bytes.len() - PACKED_HEADER) * 8 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "packed postings: truncated block"));
        }
        Ok(())
    }
}

/// Two `u64` (key first): 16 bytes on disk.
impl Record for (u64, u64) {
    const BYTES: usize = 16;
    fn key(&self) -> u64 {
        self.0
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
        out.extend_from_slice(&self.1.to_le_bytes());
    }
    fn read(b: &[u8]) -> Self {
        (u64_at(b), u64_at(&b[8..]))
    }
}

/// Three `u64` (key first): 24 bytes on disk.
impl Record for (u64, u64, u64) {
    const BYTES: usize = 24;
    fn key(&self) -> u64 {
        self.0
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
        out.extend_from_slice(&self.1.to_le_bytes());
        out.extend_from_slice(&self.2.to_le_bytes());
    }
    fn read(b: &[u8]) -> Self {
        (u64_at(b), u64_at(&b[8..]), u64_at(&b[16..]))
    }
}

/// Records (by default `(key, value)` postings) partitioned into buckets by their key shifted right (the top bits
/// of a hash, or a range of positions). Pushed records wait in memory; when more than a budget wait, every
/// bucket's records are appended to that bucket's anonymous temporary file and memory is cleared. A bucket is read
/// back whole or in parts selected by key ([`PostingBuckets::take_bucket`]), so a bucket larger than memory can be
/// processed in several passes.
pub struct PostingBuckets<R: Record = (u64, u32)> {
    shift: u32,
    mem: Vec<Vec<R>>,
    mem_len: usize,
    max_mem: usize,
    dir: PathBuf,
    files: Vec<Option<File>>,
    /// Records of each bucket on disk.
    on_disk: Vec<u64>,
    /// Compressed bytes of each bucket's file.
    disk_bytes: Vec<u64>,
    /// Blocks of each bucket's file written by [`Record::pack`]: `(bytes, records)`, in file order (empty where
    /// the record type has no packed encoding: the file is then zstd frames of raw records).
    packed: Vec<Vec<(u64, u64)>>,
}

/// zstd level of the spilled postings (each spill of a bucket is one frame).
const POSTINGS_LEVEL: i32 = 1;

impl<R: Record> PostingBuckets<R> {
    /// `2^bits` empty buckets (`bits` ≤ 16) by the key's top `bits` bits, holding up to `mem_budget_bytes` of
    /// records in memory, spilling to temporary files under `dir`.
    pub fn new(dir: &Path, bits: u32, mem_budget_bytes: usize) -> PostingBuckets<R> {
        let bits = bits.min(16);
        PostingBuckets::with_shift(dir, 64 - bits, 1 << bits, mem_budget_bytes)
    }

    /// `buckets` empty buckets where a record goes to bucket `key >> shift` (which must be below `buckets`),
    /// holding up to `mem_budget_bytes` of records in memory, spilling to temporary files under `dir`.
    pub fn with_shift(dir: &Path, shift: u32, buckets: usize, mem_budget_bytes: usize) -> PostingBuckets<R> {
        PostingBuckets {
            shift,
            mem: vec![Vec::new(); buckets],
            mem_len: 0,
            max_mem: (mem_budget_bytes / std::mem::size_of::<R>().max(1)).max(1),
            dir: dir.to_path_buf(),
            files: (0..buckets).map(|_| None).collect(),
            on_disk: vec![0; buckets],
            disk_bytes: vec![0; buckets],
            packed: vec![Vec::new(); buckets],
        }
    }

    /// Number of buckets.
    pub fn buckets(&self) -> usize {
        self.mem.len()
    }

    /// The bucket of `key`.
    pub fn bucket_of(&self, key: u64) -> usize {
        if self.shift >= 64 {
            0
        } else {
            (key >> self.shift) as usize
        }
    }

    /// Adds a record; spills every bucket when the memory budget is spent.
    ///
    /// # Errors
    /// On I/O errors of the spill files.
    pub fn push(&mut self, record: R) -> io::Result<()> {
        let b = self.bucket_of(record.key());
        self.mem[b].push(record);
        self.mem_len += 1;
        if self.mem_len >= self.max_mem {
            self.spill()?;
        }
        Ok(())
    }

    /// Appends the records waiting in memory to the buckets' files and frees their memory.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn spill(&mut self) -> io::Result<()> {
        let mut bytes = Vec::new();
        for b in 0..self.mem.len() {
            let mut m = std::mem::take(&mut self.mem[b]);
            if m.is_empty() {
                continue;
            }
            if self.files[b].is_none() {
                self.files[b] = Some(tempfile::tempfile_in(&self.dir)?);
            }
            bytes.clear();
            let frame = if R::pack(&mut m, &mut bytes) {
                self.packed[b].push((bytes.len() as u64, m.len() as u64));
                std::mem::take(&mut bytes)
            } else {
                bytes.reserve(m.len() * R::BYTES);
                m.iter().for_each(|r| r.write(&mut bytes));
                zstd::bulk::compress(&bytes, POSTINGS_LEVEL)?
            };
            let f = self.files[b].as_ref().expect("created above");
            f.write_all_at(&frame, self.disk_bytes[b])?;
            self.disk_bytes[b] += frame.len() as u64;
            self.on_disk[b] += m.len() as u64;
        }
        self.mem_len = 0;
        Ok(())
    }

    /// True when some records were written to disk.
    pub fn spilled(&self) -> bool {
        self.on_disk.iter().any(|&n| n > 0)
    }

    /// Bytes written to the spill files (compressed with zstd).
    pub fn spilled_bytes(&self) -> u64 {
        self.disk_bytes.iter().sum()
    }

    /// Bytes of the records written to the spill files, before compression (`R::BYTES` per record).
    pub fn spilled_raw_bytes(&self) -> u64 {
        self.on_disk.iter().sum::<u64>() * R::BYTES as u64
    }

    /// Records in bucket `b` (memory and disk).
    pub fn bucket_len(&self, b: usize) -> u64 {
        self.on_disk[b] + self.mem[b].len() as u64
    }

    /// Appends to `out` the records of bucket `b` whose key `keep` accepts, those on disk first (in the order
    /// they were pushed, or, for a record type with a packed encoding ([`Record::pack`]), spill by spill in the
    /// order of its blocks), then those in memory. With `last` set, the bucket's memory and disk space are released
    /// afterwards.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn take_bucket(
        &mut self,
        b: usize,
        keep: impl Fn(u64) -> bool,
        last: bool,
        out: &mut Vec<R>,
    ) -> io::Result<()> {
        if let (Some(f), false) = (&self.files[b], self.packed[b].is_empty()) {
            // The packed blocks of the bucket's spills, one after the other.
            let mut at = 0u64;
            let mut block = Vec::new();
            for &(len, count) in &self.packed[b] {
                block.resize(len as usize, 0);
                f.read_exact_at(&mut block, at)?;
                R::unpack(&block, count as usize, &keep, out)?;
                at += len;
            }
        } else if let Some(f) = &self.files[b] {
            // The frames of the bucket's spills, one after the other.
            let section = FileSection { file: f, at: 0, end: self.disk_bytes[b] };
            let mut dec = zstd::stream::read::Decoder::new(section)?;
            let total = self.on_disk[b] as usize * R::BYTES;
            let mut buf = vec![0u8; (1 << 18) * R::BYTES];
            let mut pos = 0usize;
            while pos < total {
                let n = (total - pos).min(buf.len());
                dec.read_exact(&mut buf[..n])?;
                out.extend(buf[..n].chunks_exact(R::BYTES).map(R::read).filter(|r| keep(r.key())));
                pos += n;
            }
        }
        out.extend(self.mem[b].iter().filter(|r| keep(r.key())));
        if last {
            self.mem_len -= self.mem[b].len();
            self.mem[b] = Vec::new();
            self.packed[b] = Vec::new();
            if let Some(f) = self.files[b].take() {
                // Give the disk space back now; the store is read once.
                f.set_len(0)?;
            }
        }
        Ok(())
    }
}

/// Bytes of one aggregated key on disk: a `u64` key and a `u32` count.
const COUNT_BYTES: usize = 12;

/// Counts of `u64` keys pushed one occurrence at a time, in bounded memory: occurrences are buffered, sorted and
/// folded into a sorted aggregate `(key, count)`; an aggregate that outgrows its budget is appended as a sorted
/// run to one anonymous temporary file. [`KeyCounts::into_sorted`] merges the runs and the aggregate into one
/// ascending stream of `(key, total count)`, each key once (an external sort with counting).
pub struct KeyCounts {
    buf: Vec<u64>,
    buf_cap: usize,
    keys: Vec<u64>,
    counts: Vec<u32>,
    agg_cap: usize,
    mem_budget: usize,
    dir: PathBuf,
    file: Option<File>,
    /// `(first record, records)` of each run in the file.
    runs: Vec<(u64, u64)>,
}

impl KeyCounts {
    /// Empty counts using about `mem_budget_bytes` of memory: a quarter for buffered occurrences (8 bytes each),
    /// three eighths for the aggregate (12 bytes per key), as much again while a fold writes the new aggregate;
    /// runs go to a temporary file under `dir`.
    pub fn new(dir: &Path, mem_budget_bytes: usize) -> KeyCounts {
        KeyCounts {
            buf: Vec::new(),
            buf_cap: (mem_budget_bytes / 4 / 8).max(16),
            keys: Vec::new(),
            counts: Vec::new(),
            agg_cap: (mem_budget_bytes * 3 / 8 / COUNT_BYTES).max(16),
            mem_budget: mem_budget_bytes,
            dir: dir.to_path_buf(),
            file: None,
            runs: Vec::new(),
        }
    }

    /// Counts one occurrence of `key`.
    ///
    /// # Errors
    /// On I/O errors writing a run.
    pub fn push(&mut self, key: u64) -> io::Result<()> {
        self.buf.push(key);
        if self.buf.len() >= self.buf_cap {
            self.fold()?;
        }
        Ok(())
    }

    /// Sorts the buffered occurrences into the aggregate; writes the aggregate out as a run when it is full.
    fn fold(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.par_sort_unstable();
        let (old_keys, old_counts) = (std::mem::take(&mut self.keys), std::mem::take(&mut self.counts));
        // Sized once: no doubling of the new aggregate while it fills.
        let distinct = self.buf.chunk_by(|x, y| x == y).count();
        let cap = old_keys.len() + distinct;
        let (mut keys, mut counts) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
        let (mut i, mut j) = (0usize, 0usize);
        let buf = &self.buf;
        while j < buf.len() {
            let b = buf[j];
            while i < old_keys.len() && old_keys[i] < b {
                keys.push(old_keys[i]);
                counts.push(old_counts[i]);
                i += 1;
            }
            let mut c = 0u32;
            if i < old_keys.len() && old_keys[i] == b {
                c = old_counts[i];
                i += 1;
            }
            while j < buf.len() && buf[j] == b {
                c = c.saturating_add(1);
                j += 1;
            }
            keys.push(b);
            counts.push(c);
        }
        keys.extend_from_slice(&old_keys[i..]);
        counts.extend_from_slice(&old_counts[i..]);
        self.buf.clear();
        self.keys = keys;
        self.counts = counts;
        if self.keys.len() >= self.agg_cap {
            self.write_run()?;
        }
        Ok(())
    }

    fn write_run(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile_in(&self.dir)?);
        }
        let start = self.runs.last().map_or(0, |r| r.0 + r.1);
        let mut bytes = Vec::with_capacity((1 << 16) * COUNT_BYTES);
        let f = self.file.as_ref().expect("created above");
        let mut at = start * COUNT_BYTES as u64;
        for (ks, cs) in self.keys.chunks(1 << 16).zip(self.counts.chunks(1 << 16)) {
            bytes.clear();
            for (k, c) in ks.iter().zip(cs) {
                bytes.extend_from_slice(&k.to_le_bytes());
                bytes.extend_from_slice(&c.to_le_bytes());
            }
            f.write_all_at(&bytes, at)?;
            at += bytes.len() as u64;
        }
        self.runs.push((start, self.keys.len() as u64));
        self.keys = Vec::new();
        self.counts = Vec::new();
        Ok(())
    }

    /// Sorted runs written to disk so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Bytes of runs written to disk so far.
    pub fn spilled_bytes(&self) -> u64 {
        self.runs.iter().map(|r| r.1).sum::<u64>() * COUNT_BYTES as u64
    }

    /// Every key with its total count, ascending by key. The merge reads each run through a buffer of its share of
    /// the memory budget (at least 256 keys).
    ///
    /// # Errors
    /// On I/O errors writing the last run; reading errors come with the items.
    pub fn into_sorted(mut self) -> io::Result<SortedCounts> {
        self.fold()?;
        self.buf = Vec::new();
        let per_run = (self.mem_budget / (self.runs.len().max(1) * COUNT_BYTES)).clamp(256, 1 << 16);
        let readers = self
            .runs
            .iter()
            .map(|&(start, len)| RunReader { next: start, end: start + len, buf: Vec::new(), pos: 0, cap: per_run })
            .collect();
        let mut s = SortedCounts {
            file: self.file,
            readers,
            mem_keys: self.keys,
            mem_counts: self.counts,
            mem_pos: 0,
            heap: BinaryHeap::new(),
        };
        for r in 0..s.readers.len() {
            if let Some((k, c)) = s.next_of(r)? {
                s.heap.push(Reverse((k, c, r)));
            }
        }
        if let Some((k, c)) = s.next_of(usize::MAX)? {
            s.heap.push(Reverse((k, c, usize::MAX)));
        }
        Ok(s)
    }
}

/// A cursor over one run of the counts file.
struct RunReader {
    /// Next record to read from the file, and the end of the run.
    next: u64,
    end: u64,
    buf: Vec<(u64, u32)>,
    pos: usize,
    cap: usize,
}

/// The merged stream of [`KeyCounts::into_sorted`]: `(key, total count)` ascending by key.
pub struct SortedCounts {
    file: Option<File>,
    readers: Vec<RunReader>,
    mem_keys: Vec<u64>,
    mem_counts: Vec<u32>,
    mem_pos: usize,
    heap: BinaryHeap<Reverse<(u64, u32, usize)>>,
}

impl SortedCounts {
    /// The next `(key, count)` of run `r` (`usize::MAX`: the aggregate in memory).
    fn next_of(&mut self, r: usize) -> io::Result<Option<(u64, u32)>> {
        if r == usize::MAX {
            let p = self.mem_pos;
            if p >= self.mem_keys.len() {
                return Ok(None);
            }
            self.mem_pos += 1;
            return Ok(Some((self.mem_keys[p], self.mem_counts[p])));
        }
        let rd = &mut self.readers[r];
        if rd.pos == rd.buf.len() {
            if rd.next == rd.end {
                return Ok(None);
            }
            let n = (rd.end - rd.next).min(rd.cap as u64) as usize;
            let mut bytes = vec![0u8; n * COUNT_BYTES];
            let f = self.file.as_ref().expect("runs have a file");
            f.read_exact_at(&mut bytes, rd.next * COUNT_BYTES as u64)?;
            rd.buf.clear();
            rd.buf.extend(bytes.chunks_exact(COUNT_BYTES).map(|c| {
                (
                    u64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
                    u32::from_le_bytes(c[8..].try_into().expect("4 bytes")),
                )
            }));
            rd.pos = 0;
            rd.next += n as u64;
        }
        rd.pos += 1;
        Ok(Some(rd.buf[rd.pos - 1]))
    }

    fn pop(&mut self) -> io::Result<Option<(u64, u32)>> {
        let Some(Reverse((k, c, r))) = self.heap.pop() else { return Ok(None) };
        if let Some((k2, c2)) = self.next_of(r)? {
            self.heap.push(Reverse((k2, c2, r)));
        }
        Ok(Some((k, c)))
    }
}

impl Iterator for SortedCounts {
    type Item = io::Result<(u64, u32)>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, mut c) = match self.pop() {
            Ok(Some(x)) => x,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        while let Some(Reverse((k2, _, _))) = self.heap.peek() {
            if *k2 != k {
                break;
            }
            match self.pop() {
                Ok(Some((_, c2))) => c = c.saturating_add(c2),
                Ok(None) => break,
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok((k, c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_store_round_trips_across_memory_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = BlobStore::new(dir.path(), 5);
        st.push(b"abc").unwrap();
        st.push(b"").unwrap();
        assert_eq!(st.memory_bytes(), 3);
        st.push(b"defgh").unwrap();
        // Once a record went to the file, every later one goes there, however small.
        st.push(b"i").unwrap();
        assert_eq!(st.memory_bytes(), 3);
        let mut buf = Vec::new();
        assert!(st.read_into(0, &mut buf).is_err());
        st.finish().unwrap();
        assert_eq!(st.spilled_bytes(), 6);
        for (d, want) in [&b"abc"[..], b"", b"defgh", b"i"].iter().enumerate() {
            st.read_into(d, &mut buf).unwrap();
            assert_eq!(&buf[..], *want);
            assert_eq!(st.record_len(d), want.len());
        }
        st.read_at(0, 1, 2, &mut buf).unwrap();
        assert_eq!(&buf[..], b"bc");
        st.read_at(2, 2, 3, &mut buf).unwrap();
        assert_eq!(&buf[..], b"fgh");
    }

    #[test]
    fn posting_buckets_return_every_posting_of_a_bucket() {
        let dir = tempfile::tempdir().unwrap();
        // 16 bytes of budget: every posting spills.
        let mut pb: PostingBuckets = PostingBuckets::new(dir.path(), 2, 16);
        let keys = [1u64, u64::MAX, 1 << 62, 3 << 62, 5, (1 << 62) + 7];
        for (v, &k) in keys.iter().enumerate() {
            pb.push((k, v as u32)).unwrap();
        }
        assert!(pb.spilled());
        assert_eq!(pb.spilled_raw_bytes(), 12 * keys.len() as u64);
        assert!(pb.spilled_bytes() > 0);
        let mut all = Vec::new();
        for b in 0..pb.buckets() {
            let mut out = Vec::new();
            pb.take_bucket(b, |k| k % 2 == 1, false, &mut out).unwrap();
            pb.take_bucket(b, |k| k % 2 == 0, true, &mut out).unwrap();
            assert!(out.iter().all(|&(k, _)| pb.bucket_of(k) == b));
            all.extend(out);
        }
        all.sort_unstable();
        let mut want: Vec<(u64, u32)> = keys.iter().enumerate().map(|(v, &k)| (k, v as u32)).collect();
        want.sort_unstable();
        assert_eq!(all, want);
    }

    #[test]
    fn packed_postings_round_trip() {
        let mut x = 11u64;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x
        };
        let mut cases: Vec<Vec<(u64, u32)>> = vec![
            vec![(42, 7)],
            vec![(0, 0), (u64::MAX, u32::MAX)],
            vec![(5, 3); 4],
            // One bucket's hashes (top byte fixed), documents in a range, repeated n-grams.
            (0..5000).map(|k| ((0xab << 56) | (next() >> 8), 1000 + (next() % 3000) as u32 + k % 2)).collect(),
            (0..300).map(|_| (next() % 40, (next() % 5) as u32)).collect(),
        ];
        let dup = cases[3][..50].to_vec();
        cases[3].extend(dup);
        for case in cases {
            let mut block = case.clone();
            let mut bytes = Vec::new();
            assert!(<(u64, u32)>::pack(&mut block, &mut bytes));
            let mut back = Vec::new();
            <(u64, u32)>::unpack(&bytes, case.len(), &|_| true, &mut back).unwrap();
            let mut want = case.clone();
            want.sort_unstable();
            assert_eq!(back, want);
            let mut odd = Vec::new();
            <(u64, u32)>::unpack(&bytes, case.len(), &|h| h % 2 == 1, &mut odd).unwrap();
            assert_eq!(odd, want.iter().copied().filter(|r| r.0 % 2 == 1).collect::<Vec<_>>());
            if case.len() == 5050 {
                // Uniform hashes below a fixed top byte: about 7 bytes a posting instead of 12.
                assert!(bytes.len() < case.len() * 8, "{} bytes", bytes.len());
            }
            assert!(<(u64, u32)>::unpack(&bytes[..bytes.len() / 2], case.len(), &|_| true, &mut back).is_err());
        }
    }

    #[test]
    fn key_counts_sum_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        // A tiny budget: many runs on disk.
        let mut kc = KeyCounts::new(dir.path(), 48 * 12);
        let mut want = std::collections::BTreeMap::new();
        let mut x = 7u64;
        for _ in 0..5000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = (x >> 33) % 300;
            kc.push(k).unwrap();
            *want.entry(k).or_insert(0u32) += 1;
        }
        assert!(kc.runs() > 1);
        let got: Vec<(u64, u32)> = kc.into_sorted().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(got, want.into_iter().collect::<Vec<_>>());
    }
}
