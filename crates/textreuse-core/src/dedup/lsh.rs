//! Locality-sensitive hashing over MinHash signatures: banding (Leskovec, Rajaraman & Ullman, *Mining of Massive
//! Datasets*, ch. 3.4).
//!
//! A signature of `b · r` values is cut into `b` bands of `r` rows; each band is hashed to a 64-bit bucket key.
//! Two documents whose signatures agree on every row of at least one band share a bucket and become a candidate
//! pair. For Jaccard similarity `s`, the probability of that is `1 − (1 − s^r)^b`.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Bands × rows of an LSH index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LshParams {
    /// Number of bands.
    pub bands: usize,
    /// Rows (signature values) per band.
    pub rows: usize,
}

fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    // Composite Simpson rule; the integrands are smooth polynomials.
    let n = 200;
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        let x = a + i as f64 * h;
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(x);
    }
    s * h / 3.0
}

/// Probability that a pair of Jaccard similarity `s` becomes a candidate with `b` bands of `r` rows.
pub fn candidate_probability(s: f64, b: usize, r: usize) -> f64 {
    1.0 - (1.0 - s.powi(r as i32)).powi(b as i32)
}

impl LshParams {
    /// Chooses bands × rows ≤ `num_perm` minimizing the weighted sum of the false positive probability (area under
    /// the candidate curve below `threshold`) and the false negative probability (area above it), as datasketch's
    /// `_optimal_param` does.
    pub fn optimal(threshold: f64, num_perm: usize, fp_weight: f64, fn_weight: f64) -> LshParams {
        let mut best = LshParams { bands: 1, rows: num_perm.max(1) };
        let mut best_err = f64::INFINITY;
        for b in 1..=num_perm {
            for r in 1..=num_perm / b {
                let fp = integrate(|s| candidate_probability(s, b, r), 0.0, threshold);
                let fn_ = integrate(|s| 1.0 - candidate_probability(s, b, r), threshold, 1.0);
                let err = fp * fp_weight + fn_ * fn_weight;
                if err < best_err - 1e-12 {
                    best_err = err;
                    best = LshParams { bands: b, rows: r };
                }
            }
        }
        best
    }

    /// The bucket keys of a signature, one per band: key `i` hashes band `i`'s rows with the band index as seed.
    pub fn band_keys(&self, sig: &[u64]) -> Vec<u64> {
        assert!(sig.len() >= self.bands * self.rows, "signature shorter than bands × rows");
        let mut buf = vec![0u8; 8 * self.rows];
        (0..self.bands)
            .map(|band| {
                for (k, v) in sig[band * self.rows..(band + 1) * self.rows].iter().enumerate() {
                    buf[8 * k..8 * k + 8].copy_from_slice(&v.to_le_bytes());
                }
                xxh3_64_with_seed(&buf, band as u64)
            })
            .collect()
    }
}

/// Candidate pairs from band keys: `keys[d * bands + i]` is the key of band `i` of document `d`. Documents that
/// share a bucket in any band are paired. A bucket of more than `max_bucket` documents pairs each member only with
/// the `max_bucket` members that follow it (in document order), which bounds the work on boilerplate buckets.
/// Returns pairs `(a, b)` with `a < b`, sorted and without repeats.
pub fn candidate_pairs(keys: &[u64], bands: usize, max_bucket: usize) -> Vec<(u32, u32)> {
    if bands == 0 || keys.is_empty() {
        return Vec::new();
    }
    let docs = keys.len() / bands;
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut column: Vec<(u64, u32)> = Vec::with_capacity(docs);
    for band in 0..bands {
        column.clear();
        column.extend((0..docs).map(|d| (keys[d * bands + band], d as u32)));
        column.sort_unstable();
        let mut i = 0;
        while i < column.len() {
            let mut j = i + 1;
            while j < column.len() && column[j].0 == column[i].0 {
                j += 1;
            }
            let bucket = &column[i..j];
            let w = max_bucket.max(1);
            for (x, &(_, a)) in bucket.iter().enumerate() {
                for &(_, b) in bucket[x + 1..].iter().take(w) {
                    pairs.push((a, b));
                }
            }
            i = j;
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_params_match_datasketch() {
        // datasketch 2.0.0's `_optimal_param` gives (25, 5) for threshold 0.5 and (37, 3) for 0.3 with 128
        // permutations and equal weights (checked in bench/.venv).
        let p = LshParams::optimal(0.5, 128, 0.5, 0.5);
        assert_eq!((p.bands, p.rows), (25, 5));
        let q = LshParams::optimal(0.3, 128, 0.5, 0.5);
        assert_eq!((q.bands, q.rows), (37, 3));
        assert!(p.bands * p.rows <= 128);
        let at = |s| candidate_probability(s, p.bands, p.rows);
        assert!(at(0.8) > 0.99 && at(0.2) < 0.01, "{p:?}");
        let low = LshParams::optimal(0.3, 128, 0.5, 0.5);
        assert!(candidate_probability(0.3, low.bands, low.rows) > candidate_probability(0.3, p.bands, p.rows));
    }

    #[test]
    fn buckets_pair_documents() {
        let keys = [1, 10, 2, 10, 1, 30, 4, 40];
        assert_eq!(candidate_pairs(&keys, 2, 100), vec![(0, 1), (0, 2)]);
        let big = [7u64; 10];
        assert_eq!(candidate_pairs(&big, 1, 100).len(), 45);
        assert_eq!(candidate_pairs(&big, 1, 2).len(), 17);
    }
}
