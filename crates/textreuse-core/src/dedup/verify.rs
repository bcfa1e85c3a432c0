//! Exact verification of candidate pairs.
//!
//! Every candidate pair from LSH is checked on the documents' full shingle sets: Jaccard similarity
//! `|A ∩ B| / |A ∪ B|` and containment `|A ∩ B| / min(|A|, |B|)` (Broder 1997). Shingle sets are sorted,
//! de-duplicated `u64` slices (see [`crate::shingle::shingle_set`]); where they are kept (memory or a spill file)
//! is the caller's concern.

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
    // Branch-free merge: the comparisons of random hashes are unpredictable.
    let (mut i, mut j, mut n) = (0, 0, 0u64);
    while i < small.len() && j < large.len() {
        let (x, y) = (small[i], large[j]);
        n += (x == y) as u64;
        i += (x <= y) as usize;
        j += (y <= x) as usize;
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
}
