//! Spill storage: shingle sets of many documents, in memory up to a budget and then in an anonymous temporary file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Shingle sets of many documents, appended in document order and read back by index. The first sets are kept in
/// memory up to a budget; once it is spent, every later set goes to an anonymous temporary file, so memory stays
/// bounded whatever the size of the corpus.
pub struct SetStore {
    /// Sets held in memory: `mem[offsets[d]..offsets[d + 1]]` while `offsets[d + 1] <= mem.len()`.
    mem: Vec<u64>,
    /// Values the memory part may hold.
    mem_budget: usize,
    /// Created when the budget is spent.
    file: Option<File>,
    writer: Option<BufWriter<File>>,
    spill_dir: std::path::PathBuf,
    finished: bool,
    /// `offsets[d]..offsets[d + 1]`: the values of document `d`, counted across memory then file.
    offsets: Vec<u64>,
}

impl SetStore {
    /// A new, empty store holding up to `mem_budget_bytes` of sets in memory, the rest in a temporary file under
    /// `dir` (created when needed, removed when the store is dropped).
    pub fn new(dir: &Path, mem_budget_bytes: usize) -> SetStore {
        SetStore {
            mem: Vec::new(),
            mem_budget: mem_budget_bytes / 8,
            file: None,
            writer: None,
            spill_dir: dir.to_path_buf(),
            finished: false,
            offsets: vec![0],
        }
    }

    /// Appends the set of the next document; returns its index.
    ///
    /// # Errors
    /// On I/O errors of the spill file, or after [`SetStore::finish`].
    pub fn push(&mut self, set: &[u64]) -> io::Result<usize> {
        if self.finished {
            return Err(io::Error::other("SetStore already finished"));
        }
        if self.file.is_none() && self.mem.len() + set.len() <= self.mem_budget {
            self.mem.extend_from_slice(set);
        } else {
            if self.file.is_none() {
                let file = tempfile::tempfile_in(&self.spill_dir)?;
                self.writer = Some(BufWriter::with_capacity(1 << 20, file.try_clone()?));
                self.file = Some(file);
            }
            let w = self.writer.as_mut().expect("spill writer");
            let mut bytes = Vec::with_capacity(8 * set.len());
            for v in set {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            w.write_all(&bytes)?;
        }
        let last = *self.offsets.last().expect("offsets start with 0");
        self.offsets.push(last + set.len() as u64);
        Ok(self.offsets.len() - 2)
    }

    /// Ends writing; sets can be read from now on.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.flush()?;
        }
        self.finished = true;
        Ok(())
    }

    /// Number of sets stored.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when no set is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of sets written to the spill file.
    pub fn spilled_bytes(&self) -> u64 {
        8 * (self.offsets.last().copied().unwrap_or(0) - self.mem.len() as u64)
    }

    /// Number of shingles in set `d`.
    pub fn set_len(&self, d: usize) -> usize {
        (self.offsets[d + 1] - self.offsets[d]) as usize
    }

    /// Set `d` when it is held in memory, borrowed; `None` when it is in the spill file (or before
    /// [`SetStore::finish`]).
    pub fn get(&self, d: usize) -> Option<&[u64]> {
        let (start, end) = (self.offsets[d] as usize, self.offsets[d + 1] as usize);
        (self.finished && end <= self.mem.len()).then(|| &self.mem[start..end])
    }

    /// Reads set `d` into `buf` (replacing its content).
    ///
    /// # Errors
    /// On I/O errors, or before [`SetStore::finish`].
    pub fn read_into(&self, d: usize, buf: &mut Vec<u64>) -> io::Result<()> {
        if !self.finished {
            return Err(io::Error::other("SetStore read before finish"));
        }
        let (start, end) = (self.offsets[d] as usize, self.offsets[d + 1] as usize);
        buf.clear();
        if end <= self.mem.len() {
            buf.extend_from_slice(&self.mem[start..end]);
            return Ok(());
        }
        let file = self.file.as_ref().expect("spilled sets have a file");
        // The file holds little-endian values: read their bytes straight into `buf`, then fix the byte order.
        buf.resize(end - start, 0);
        // SAFETY: any bytes are a valid u64; the byte slice covers exactly the values of `buf`.
        let bytes = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), 8 * buf.len()) };
        file.read_exact_at(bytes, 8 * (start - self.mem.len()) as u64)?;
        for v in buf.iter_mut() {
            *v = u64::from_le(*v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        // A budget of 4 values: the first two sets stay in memory, the rest spill to the file.
        let mut st = SetStore::new(dir.path(), 32);
        assert_eq!(st.push(&[1, 2, 3]).unwrap(), 0);
        assert_eq!(st.push(&[]).unwrap(), 1);
        assert_eq!(st.push(&[u64::MAX, 5]).unwrap(), 2);
        assert_eq!(st.push(&[9]).unwrap(), 3);
        let mut buf = Vec::new();
        assert!(st.read_into(0, &mut buf).is_err());
        st.finish().unwrap();
        assert_eq!(st.spilled_bytes(), 24);
        st.read_into(0, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3]);
        st.read_into(1, &mut buf).unwrap();
        assert!(buf.is_empty());
        st.read_into(2, &mut buf).unwrap();
        assert_eq!(buf, [u64::MAX, 5]);
        assert_eq!(st.get(0), Some(&[1u64, 2, 3][..]));
        assert_eq!(st.get(2), None);
        st.read_into(3, &mut buf).unwrap();
        assert_eq!(buf, [9]);
        assert_eq!(st.set_len(0), 3);
        assert_eq!(st.len(), 4);
    }
}
