//! Exact verification of candidate pairs.
//!
//! Every candidate pair from LSH is checked on the documents' full shingle sets: Jaccard similarity
//! `|A ∩ B| / |A ∪ B|` and containment `|A ∩ B| / min(|A|, |B|)` (Broder 1997). The sets are kept on disk in a
//! [`SetStore`], not in memory, so memory grows with the number of documents and not with their text.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Similarity of two shingle sets.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PairStats {
    /// `|A ∩ B|`.
    pub intersection: u64,
    /// Jaccard similarity `|A ∩ B| / |A ∪ B|`, in `[0, 1]`.
    pub jaccard: f64,
    /// Containment `|A ∩ B| / min(|A|, |B|)`, in `[0, 1]`.
    pub containment: f64,
}

/// Size of the intersection of two sorted, de-duplicated slices (merge; galloping when sizes differ a lot).
pub fn intersection_size(a: &[u64], b: &[u64]) -> u64 {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if small.is_empty() {
        return 0;
    }
    if large.len() / small.len() >= 16 {
        return small.iter().filter(|x| large.binary_search(x).is_ok()).count() as u64;
    }
    let (mut i, mut j, mut n) = (0, 0, 0u64);
    while i < small.len() && j < large.len() {
        match small[i].cmp(&large[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Jaccard similarity and containment of two sorted, de-duplicated shingle sets. Two empty sets are identical.
pub fn pair_stats(a: &[u64], b: &[u64]) -> PairStats {
    if a.is_empty() && b.is_empty() {
        return PairStats { intersection: 0, jaccard: 1.0, containment: 1.0 };
    }
    let inter = intersection_size(a, b);
    let union = a.len() as u64 + b.len() as u64 - inter;
    let min = a.len().min(b.len()).max(1) as u64;
    PairStats { intersection: inter, jaccard: inter as f64 / union as f64, containment: inter as f64 / min as f64 }
}

/// Shingle sets of many documents in an anonymous temporary file: appended in document order, read back by index.
pub struct SetStore {
    file: File,
    writer: Option<BufWriter<File>>,
    /// `offsets[d]..offsets[d + 1]` are the byte offsets of document `d`'s set.
    offsets: Vec<u64>,
}

impl SetStore {
    /// A new, empty store in a temporary file under `dir` (removed when the store is dropped).
    ///
    /// # Errors
    /// When the temporary file cannot be created.
    pub fn new_in(dir: &Path) -> io::Result<SetStore> {
        let file = tempfile::tempfile_in(dir)?;
        let writer = BufWriter::with_capacity(1 << 20, file.try_clone()?);
        Ok(SetStore { file, writer: Some(writer), offsets: vec![0] })
    }

    /// Appends the set of the next document; returns its index.
    ///
    /// # Errors
    /// On I/O errors, or after [`SetStore::finish`].
    pub fn push(&mut self, set: &[u64]) -> io::Result<usize> {
        let w = self.writer.as_mut().ok_or_else(|| io::Error::other("SetStore already finished"))?;
        for v in set {
            w.write_all(&v.to_le_bytes())?;
        }
        let last = *self.offsets.last().expect("offsets start with 0");
        self.offsets.push(last + 8 * set.len() as u64);
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

    /// Number of shingles in set `d`.
    pub fn set_len(&self, d: usize) -> usize {
        ((self.offsets[d + 1] - self.offsets[d]) / 8) as usize
    }

    /// Reads set `d` into `buf` (replacing its content).
    ///
    /// # Errors
    /// On I/O errors, or before [`SetStore::finish`].
    pub fn read_into(&self, d: usize, buf: &mut Vec<u64>) -> io::Result<()> {
        if self.writer.is_some() {
            return Err(io::Error::other("SetStore read before finish"));
        }
        let (start, end) = (self.offsets[d], self.offsets[d + 1]);
        let mut bytes = vec![0u8; (end - start) as usize];
        self.file.read_exact_at(&mut bytes, start)?;
        buf.clear();
        buf.extend(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_exact() {
        let a: Vec<u64> = (0..100).collect();
        let b: Vec<u64> = (50..250).collect();
        let s = pair_stats(&a, &b);
        assert_eq!(s.intersection, 50);
        assert!((s.jaccard - 50.0 / 250.0).abs() < 1e-12);
        assert!((s.containment - 0.5).abs() < 1e-12);
        // The galloping path agrees with the merge path.
        let big: Vec<u64> = (0..10_000).map(|x| x * 3).collect();
        let small: Vec<u64> = vec![0, 3, 4, 9, 29_997, 30_000];
        assert_eq!(intersection_size(&small, &big), 4);
        assert_eq!(pair_stats(&[], &[]).jaccard, 1.0);
    }

    #[test]
    fn store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = SetStore::new_in(dir.path()).unwrap();
        assert_eq!(st.push(&[1, 2, 3]).unwrap(), 0);
        assert_eq!(st.push(&[]).unwrap(), 1);
        assert_eq!(st.push(&[u64::MAX]).unwrap(), 2);
        let mut buf = Vec::new();
        assert!(st.read_into(0, &mut buf).is_err());
        st.finish().unwrap();
        st.read_into(0, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3]);
        st.read_into(1, &mut buf).unwrap();
        assert!(buf.is_empty());
        st.read_into(2, &mut buf).unwrap();
        assert_eq!(buf, [u64::MAX]);
        assert_eq!(st.set_len(0), 3);
    }
}
