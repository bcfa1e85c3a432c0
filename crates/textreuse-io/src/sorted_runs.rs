//! An external sort of fixed-size records in bounded memory: records are buffered up to a budget, sorted, and
//! written as zstd-compressed sorted runs to one anonymous temporary file; [`SortedRuns::iter`] merges the runs
//! (and the records still in memory) into one ascending stream, as many times as needed. Used by the out-of-core
//! `passages` job for its alignments and the nodes and members of its passage clustering.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::slice::ParallelSliceMut;

/// zstd level of the runs: fast, and the records (small integers, sorted) compress well at it.
const RUN_LEVEL: i32 = 1;

/// A record that [`SortedRuns`] sorts: totally ordered, written as `BYTES` bytes.
pub trait SortRecord: Ord + Copy + Send + Sync {
    /// Bytes of one record before compression.
    const BYTES: usize;
    /// Appends the record's bytes to `out`.
    fn write(&self, out: &mut Vec<u8>);
    /// The record of `bytes` (`BYTES` of them).
    fn read(bytes: &[u8]) -> Self;
}

/// `N` little-endian `u32`, ordered lexicographically (the order of the array).
impl<const N: usize> SortRecord for [u32; N] {
    const BYTES: usize = 4 * N;
    fn write(&self, out: &mut Vec<u8>) {
        self.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
    }
    fn read(bytes: &[u8]) -> Self {
        std::array::from_fn(|k| u32::from_le_bytes(bytes[4 * k..4 * k + 4].try_into().expect("4 bytes")))
    }
}

/// Records pushed in any order and read back sorted, in about `mem_budget_bytes` of memory: beyond that, sorted
/// runs go to a temporary file (compressed with zstd), merged when read.
pub struct SortedRuns<T: SortRecord> {
    buf: Vec<T>,
    cap: usize,
    dir: PathBuf,
    file: Option<Arc<File>>,
    /// `(byte offset, compressed bytes, records)` of each run in the file.
    runs: Vec<(u64, u64, u64)>,
    len: u64,
    sorted: bool,
}

impl<T: SortRecord> SortedRuns<T> {
    /// An empty sort holding up to `mem_budget_bytes` of records in memory (at least 64 records); runs go to a
    /// temporary file under `dir`, removed when this is dropped.
    pub fn new(dir: &Path, mem_budget_bytes: usize) -> SortedRuns<T> {
        let cap = (mem_budget_bytes / std::mem::size_of::<T>().max(1)).max(64);
        SortedRuns { buf: Vec::new(), cap, dir: dir.to_path_buf(), file: None, runs: Vec::new(), len: 0, sorted: true }
    }

    /// Adds a record.
    ///
    /// # Errors
    /// On I/O errors writing a run.
    pub fn push(&mut self, record: T) -> io::Result<()> {
        self.buf.push(record);
        self.sorted = false;
        self.len += 1;
        if self.buf.len() >= self.cap {
            self.write_run()?;
        }
        Ok(())
    }

    fn write_run(&mut self) -> io::Result<()> {
        self.buf.par_sort_unstable();
        if self.file.is_none() {
            self.file = Some(Arc::new(tempfile::tempfile_in(&self.dir)?));
        }
        let start = self.runs.last().map_or(0, |r| r.0 + r.1);
        let file = self.file.as_ref().expect("created above");
        let mut enc = zstd::stream::write::Encoder::new(FileAppender { file, at: start }, RUN_LEVEL)?;
        let mut bytes = Vec::with_capacity((1 << 12) * T::BYTES);
        for chunk in self.buf.chunks(1 << 12) {
            bytes.clear();
            chunk.iter().for_each(|r| r.write(&mut bytes));
            enc.write_all(&bytes)?;
        }
        let end = enc.finish()?.at;
        self.runs.push((start, end - start, self.buf.len() as u64));
        self.buf.clear();
        self.buf.shrink_to_fit();
        Ok(())
    }

    /// Records pushed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sorted runs written to disk so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Compressed bytes written to disk so far.
    pub fn spilled_bytes(&self) -> u64 {
        self.runs.iter().map(|r| r.1).sum()
    }

    /// Bytes of the records written to disk before compression (`BYTES` per record).
    pub fn spilled_raw_bytes(&self) -> u64 {
        self.runs.iter().map(|r| r.2).sum::<u64>() * T::BYTES as u64
    }

    /// Every record pushed, ascending; may be called again (after more pushes too). Each run is read through a
    /// decoder and a 64 KiB buffer.
    ///
    /// # Errors
    /// On I/O errors starting a run's decoder; reading errors come with the items.
    pub fn iter(&mut self) -> io::Result<Merge<'_, T>> {
        if !self.sorted {
            self.buf.par_sort_unstable();
            self.sorted = true;
        }
        let mut m = Merge { readers: Vec::new(), mem: &self.buf, mem_pos: 0, heap: BinaryHeap::new(), rec: Vec::new() };
        for &(start, bytes, _) in &self.runs {
            let file = Arc::clone(self.file.as_ref().expect("runs have a file"));
            let section = FileSection { file, at: start, end: start + bytes };
            let dec = zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(1 << 16, section))?;
            m.readers.push(BufReader::with_capacity(1 << 16, dec));
        }
        m.rec = vec![0; T::BYTES];
        for r in 0..m.readers.len() {
            if let Some(x) = m.next_of(r)? {
                m.heap.push(Reverse((x, r)));
            }
        }
        if let Some(x) = m.next_of(usize::MAX)? {
            m.heap.push(Reverse((x, usize::MAX)));
        }
        Ok(m)
    }
}

/// Writes at increasing offsets of a file shared by reference.
struct FileAppender<'a> {
    file: &'a File,
    at: u64,
}

impl Write for FileAppender<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write_all_at(buf, self.at)?;
        self.at += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads the bytes `[at, end)` of a file held by reference (`&File`) or shared (`Arc<File>`), with positioned reads
/// (no shared cursor): a run of [`SortedRuns`] or a bucket's frames in [`crate::runs`].
pub(crate) struct FileSection<F: std::ops::Deref<Target = File>> {
    pub(crate) file: F,
    pub(crate) at: u64,
    pub(crate) end: u64,
}

impl<F: std::ops::Deref<Target = File>> Read for FileSection<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.end - self.at).min(buf.len() as u64) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..n], self.at)?;
        self.at += got as u64;
        Ok(got)
    }
}

type RunDecoder = BufReader<zstd::stream::read::Decoder<'static, BufReader<FileSection<Arc<File>>>>>;

/// The merged, ascending stream of [`SortedRuns::iter`].
pub struct Merge<'a, T: SortRecord> {
    readers: Vec<RunDecoder>,
    mem: &'a [T],
    mem_pos: usize,
    heap: BinaryHeap<Reverse<(T, usize)>>,
    rec: Vec<u8>,
}

impl<T: SortRecord> Merge<'_, T> {
    /// The next record of run `r` (`usize::MAX`: the records in memory).
    fn next_of(&mut self, r: usize) -> io::Result<Option<T>> {
        if r == usize::MAX {
            let x = self.mem.get(self.mem_pos).copied();
            self.mem_pos += 1;
            return Ok(x);
        }
        let rd = &mut self.readers[r];
        if rd.fill_buf()?.is_empty() {
            return Ok(None);
        }
        rd.read_exact(&mut self.rec)?;
        Ok(Some(T::read(&self.rec)))
    }
}

impl<T: SortRecord> Iterator for Merge<'_, T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse((x, r)) = self.heap.pop()?;
        match self.next_of(r) {
            Ok(Some(y)) => self.heap.push(Reverse((y, r))),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_runs_merge_runs_and_memory_in_order_twice() {
        let dir = tempfile::tempdir().unwrap();
        // 64 records per run: many runs on disk and some records in memory.
        let mut s: SortedRuns<[u32; 3]> = SortedRuns::new(dir.path(), 1);
        let mut want = Vec::new();
        let mut x = 7u64;
        for k in 0..1000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = [(x >> 40) as u32 % 50, (x >> 20) as u32 % 7, k];
            s.push(r).unwrap();
            want.push(r);
        }
        want.sort_unstable();
        assert!(s.runs() > 10);
        assert_eq!(s.len(), 1000);
        assert!(s.spilled_bytes() > 0 && s.spilled_bytes() < s.spilled_raw_bytes());
        for _ in 0..2 {
            let got: Vec<[u32; 3]> = s.iter().unwrap().map(|r| r.unwrap()).collect();
            assert_eq!(got, want);
        }
        let mut empty: SortedRuns<[u32; 2]> = SortedRuns::new(dir.path(), 1 << 20);
        assert_eq!(empty.iter().unwrap().count(), 0);
    }
}
