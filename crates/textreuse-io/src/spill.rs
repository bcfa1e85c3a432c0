//! Spill storage: shingle sets (32-bit values) of many documents, in memory up to a budget and then in an anonymous
//! temporary file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use textreuse_core::dedup::SetOwners;

/// Shingle sets of many documents, appended in document order and read back by index. The first sets are kept in
/// memory up to a budget; once it is spent, every later set goes to an anonymous temporary file, so memory stays
/// bounded whatever the size of the corpus.
pub struct SetStore {
    /// Sets held in memory: set `d` is `mem[d]` while `d < mem.len()` (empty for a document stored as another's,
    /// whose set is its owner's: [`SetStore::push_same_as`]). A set given away ([`SetStore::push_vec`])
    /// is kept in the allocation it came in: copying every set into one growing buffer cost the copy and the page
    /// faults of as much fresh memory again (on the thread that hands out the documents).
    mem: Vec<Box<[u32]>>,
    /// Values held in memory (the sum of the lengths of `mem`).
    mem_values: usize,
    /// Values the memory part may hold.
    mem_budget: usize,
    /// Created when the budget is spent.
    file: Option<File>,
    writer: Option<BufWriter<File>>,
    spill_dir: std::path::PathBuf,
    finished: bool,
    /// `offsets[d]..offsets[d + 1]`: the values of document `d`, counted across memory then file (none for a
    /// document stored as another's set, [`SetStore::push_same_as`]).
    offsets: Vec<u64>,
    /// Whose values each set is ([`SetStore::push_same_as`]).
    owners: SetOwners,
}

impl SetStore {
    /// A new, empty store holding up to `mem_budget_bytes` of sets in memory, the rest in a temporary file under
    /// `dir` (created when needed, removed when the store is dropped).
    pub fn new(dir: &Path, mem_budget_bytes: usize) -> SetStore {
        SetStore {
            mem: Vec::new(),
            mem_values: 0,
            mem_budget: mem_budget_bytes / 4,
            file: None,
            writer: None,
            spill_dir: dir.to_path_buf(),
            finished: false,
            offsets: vec![0],
            owners: SetOwners::default(),
        }
    }

    /// Appends the set of the next document (a copy of it when it stays in memory); returns its index.
    ///
    /// # Errors
    /// On I/O errors of the spill file, or after [`SetStore::finish`].
    pub fn push(&mut self, set: &[u32]) -> io::Result<usize> {
        if self.finished {
            return Err(io::Error::other("SetStore already finished"));
        }
        if self.holds(set.len()) {
            self.mem_values += set.len();
            self.mem.push(set.into());
        } else {
            if self.file.is_none() {
                let file = tempfile::tempfile_in(&self.spill_dir)?;
                self.writer = Some(BufWriter::with_capacity(1 << 20, file.try_clone()?));
                self.file = Some(file);
            }
            let w = self.writer.as_mut().expect("spill writer");
            if cfg!(target_endian = "little") {
                // The values' bytes in memory are the file's little-endian bytes: written as they lie, without a
                // copy (as `read_into` reads them back).
                // SAFETY: any u32's bytes are valid u8s; the byte slice covers exactly the values of `set`.
                let bytes = unsafe { std::slice::from_raw_parts(set.as_ptr().cast::<u8>(), 4 * set.len()) };
                w.write_all(bytes)?;
            } else {
                let mut bytes = Vec::with_capacity(4 * set.len());
                for v in set {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
                w.write_all(&bytes)?;
            }
        }
        self.record(set.len());
        Ok(self.offsets.len() - 2)
    }

    /// [`SetStore::push`] of a set the caller gives away: kept as it is when it stays in memory (its spare capacity
    /// given back), so nothing is copied.
    ///
    /// # Errors
    /// As [`SetStore::push`].
    pub fn push_vec(&mut self, set: Vec<u32>) -> io::Result<usize> {
        if self.finished || !self.holds(set.len()) {
            return self.push(&set);
        }
        self.mem_values += set.len();
        self.record(set.len());
        self.mem.push(set.into_boxed_slice());
        Ok(self.offsets.len() - 2)
    }

    /// Whether a set of `len` values stays in memory: the budget is not spent yet and holds it.
    fn holds(&self, len: usize) -> bool {
        self.file.is_none() && self.mem_values + len <= self.mem_budget
    }

    /// Records the next set's length in `offsets`.
    fn record(&mut self, len: usize) {
        let last = *self.offsets.last().expect("offsets start with 0");
        self.owners.push_own(self.len());
        self.offsets.push(last + len as u64);
    }

    /// Appends the next document as having the set of the earlier document `d` (known equal, e.g. from the same
    /// text), storing no value: its set reads back as `d`'s, in memory or from the file, and costs no memory
    /// budget. Returns the new document's index.
    ///
    /// # Errors
    /// After [`SetStore::finish`], when `d` is not an earlier document, or at 2^32 documents.
    pub fn push_same_as(&mut self, d: usize) -> io::Result<usize> {
        if self.finished {
            return Err(io::Error::other("SetStore already finished"));
        }
        let n = self.len();
        if d >= n || n >= u32::MAX as usize {
            return Err(io::Error::other(format!("no set {d} among {n} to share")));
        }
        self.owners.push_same_as(d, n);
        // Kept aligned with the documents while the sets are in memory (`get` indexes it by document).
        if self.file.is_none() {
            self.mem.push(Box::default());
        }
        let last = *self.offsets.last().expect("offsets start with 0");
        self.offsets.push(last);
        Ok(n)
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
        4 * (self.offsets.last().copied().unwrap_or(0) - self.mem_values as u64)
    }

    /// Number of shingles in set `d`.
    pub fn set_len(&self, d: usize) -> usize {
        let d = self.owners.owner(d);
        (self.offsets[d + 1] - self.offsets[d]) as usize
    }

    /// Set `d` when it is held in memory, borrowed; `None` when it is in the spill file (or before
    /// [`SetStore::finish`]).
    pub fn get(&self, d: usize) -> Option<&[u32]> {
        let d = self.owners.owner(d);
        (self.finished && d < self.mem.len()).then(|| &self.mem[d][..])
    }

    /// Reads set `d` into `buf` (replacing its content).
    ///
    /// # Errors
    /// On I/O errors, or before [`SetStore::finish`].
    pub fn read_into(&self, d: usize, buf: &mut Vec<u32>) -> io::Result<()> {
        if !self.finished {
            return Err(io::Error::other("SetStore read before finish"));
        }
        buf.clear();
        let d = self.owners.owner(d);
        if d < self.mem.len() {
            buf.extend_from_slice(&self.mem[d]);
            return Ok(());
        }
        let (start, end) = (self.offsets[d] as usize - self.mem_values, self.offsets[d + 1] as usize - self.mem_values);
        let file = self.file.as_ref().expect("spilled sets have a file");
        // The file holds little-endian values: read their bytes straight into `buf`, then fix the byte order.
        buf.resize(end - start, 0);
        // SAFETY: any bytes are a valid u32; the byte slice covers exactly the values of `buf`.
        let bytes = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), 4 * buf.len()) };
        file.read_exact_at(bytes, 4 * start as u64)?;
        for v in buf.iter_mut() {
            *v = u32::from_le(*v);
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
        let mut st = SetStore::new(dir.path(), 16);
        assert_eq!(st.push(&[1, 2, 3]).unwrap(), 0);
        assert_eq!(st.push(&[]).unwrap(), 1);
        assert_eq!(st.push(&[u32::MAX, 5]).unwrap(), 2);
        assert_eq!(st.push(&[9]).unwrap(), 3);
        let mut buf = Vec::new();
        assert!(st.read_into(0, &mut buf).is_err());
        st.finish().unwrap();
        assert_eq!(st.spilled_bytes(), 12);
        st.read_into(0, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3]);
        st.read_into(1, &mut buf).unwrap();
        assert!(buf.is_empty());
        st.read_into(2, &mut buf).unwrap();
        assert_eq!(buf, [u32::MAX, 5]);
        assert_eq!(st.get(0), Some(&[1u32, 2, 3][..]));
        assert_eq!(st.get(2), None);
        st.read_into(3, &mut buf).unwrap();
        assert_eq!(buf, [9]);
        assert_eq!(st.set_len(0), 3);
        assert_eq!(st.len(), 4);
    }

    /// Sets of sizes 0 to 30, one with the largest value.
    fn sample_sets() -> Vec<Vec<u32>> {
        vec![vec![1, 2, 3], vec![], vec![u32::MAX, 5], vec![9], (10..40).collect()]
    }

    /// Memory budgets in bytes that hold none, some or all of [`sample_sets`].
    const BUDGETS: [usize; 5] = [0, 8, 24, 48, 1 << 20];

    #[test]
    fn sets_given_away_are_stored_as_copies_are() {
        // The same sets through `push` and `push_vec` (one with spare capacity), under budgets that hold none, some
        // or all of them: the same sets back, in memory or spilled at the same place.
        let sets = sample_sets();
        let dir = tempfile::tempdir().unwrap();
        for budget in BUDGETS {
            let (mut copied, mut given) = (SetStore::new(dir.path(), budget), SetStore::new(dir.path(), budget));
            for s in &sets {
                let mut v = Vec::with_capacity(s.len() + 7);
                v.extend_from_slice(s);
                assert_eq!(copied.push(s).unwrap(), given.push_vec(v).unwrap());
            }
            copied.finish().unwrap();
            given.finish().unwrap();
            assert_eq!(copied.spilled_bytes(), given.spilled_bytes(), "budget {budget}");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for (d, s) in sets.iter().enumerate() {
                assert_eq!(copied.get(d), given.get(d), "budget {budget}, set {d}");
                copied.read_into(d, &mut a).unwrap();
                given.read_into(d, &mut b).unwrap();
                assert_eq!((&a, &b), (s, s), "budget {budget}, set {d}");
                assert_eq!(given.set_len(d), s.len());
            }
            assert!(given.push_vec(vec![1]).is_err());
        }
    }

    #[test]
    fn sets_stored_as_anothers_read_back_as_the_owners_and_cost_nothing() {
        // Documents 0..5 with sets; every other one pushed as an earlier document's set (one as an alias's, which
        // resolves to the owner), under budgets that hold none, some or all of the sets.
        let own = sample_sets();
        let dir = tempfile::tempdir().unwrap();
        for budget in BUDGETS {
            let (mut plain, mut shared) = (SetStore::new(dir.path(), budget), SetStore::new(dir.path(), budget));
            let mut want: Vec<&[u32]> = Vec::new();
            for (k, s) in own.iter().enumerate() {
                plain.push(s).unwrap();
                assert_eq!(shared.push_vec(s.clone()).unwrap(), want.len());
                want.push(s);
                if k % 2 == 0 {
                    // As the set of document k (just pushed), then as the alias just made (owner k again).
                    let d = want.len() - 1;
                    assert_eq!(shared.push_same_as(d).unwrap(), d + 1);
                    assert_eq!(shared.push_same_as(d + 1).unwrap(), d + 2);
                    want.extend([s.as_slice(), s.as_slice()]);
                }
            }
            assert!(shared.push_same_as(want.len()).is_err());
            plain.finish().unwrap();
            shared.finish().unwrap();
            assert!(shared.push_same_as(0).is_err());
            // Shared sets add no byte to the spill file: the same bytes spill as without them.
            assert_eq!(shared.spilled_bytes(), plain.spilled_bytes(), "budget {budget}");
            assert_eq!(shared.len(), want.len());
            let mut buf = Vec::new();
            for (d, s) in want.iter().enumerate() {
                shared.read_into(d, &mut buf).unwrap();
                assert_eq!(&buf[..], *s, "budget {budget}, set {d}");
                assert_eq!(shared.set_len(d), s.len());
                if let Some(got) = shared.get(d) {
                    assert_eq!(got, *s);
                }
            }
        }
    }
}
