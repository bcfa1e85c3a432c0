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

/// Points of the composite Simpson rule over `a..b`.
const SIMPSON_STEPS: usize = 200;

/// The points of the composite Simpson rule over `a..b` ([`SIMPSON_STEPS`] steps): `a`, `a + i·h` between, `b`.
fn simpson_points(a: f64, b: f64) -> Vec<f64> {
    let h = (b - a) / SIMPSON_STEPS as f64;
    let mut x: Vec<f64> = (0..=SIMPSON_STEPS).map(|i| a + i as f64 * h).collect();
    x[SIMPSON_STEPS] = b;
    x
}

/// The composite Simpson rule over `a..b` from the integrand's values `y` at [`simpson_points`]`(a, b)`.
fn simpson(y: impl Fn(usize) -> f64, a: f64, b: f64) -> f64 {
    // Composite Simpson rule; the integrands are smooth polynomials.
    let h = (b - a) / SIMPSON_STEPS as f64;
    let mut s = y(0) + y(SIMPSON_STEPS);
    for i in 1..SIMPSON_STEPS {
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * y(i);
    }
    s * h / 3.0
}

/// `out[i] = x[i]^n` for every `i`, by the square-and-multiply of `f64::powi` (the runtime's `__powidf2`: the
/// result starts at 1 and is multiplied by the base's running square at each set bit of `n`, lowest first), so each
/// value is the one `x[i].powi(n)` gives, while the loops over the values vectorize. `square` is working space.
fn powers_into(x: &[f64], mut n: u32, out: &mut Vec<f64>, square: &mut Vec<f64>) {
    out.clear();
    out.resize(x.len(), 1.0);
    square.clear();
    square.extend_from_slice(x);
    loop {
        if n & 1 == 1 {
            for (o, s) in out.iter_mut().zip(square.iter()) {
                *o *= s;
            }
        }
        n >>= 1;
        if n == 0 {
            break;
        }
        for s in square.iter_mut() {
            *s *= *s;
        }
    }
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
        // The integrands at the rule's points are `1 − (1 − s^r)^b` ([`candidate_probability`]) and one minus it:
        // `1 − s^r` is computed once per row count and point, not once per bands × rows, and the powers of all the
        // points are taken together ([`powers_into`], the operations of `powi`, hence the same values; the
        // library call per value took most of the ~1.5 ms of a 128-value choice, paid before a run reads its
        // first record).
        let (below, above) = (simpson_points(0.0, threshold), simpson_points(threshold, 1.0));
        let mut best = LshParams { bands: 1, rows: num_perm.max(1) };
        let mut best_err = f64::INFINITY;
        let (mut miss_below, mut miss_above) = (Vec::new(), Vec::new());
        let (mut pow_below, mut pow_above, mut square) = (Vec::new(), Vec::new(), Vec::new());
        // err[r - 1][b - 1] for every b · r ≤ num_perm, then the choice in the order of bands, then rows.
        let mut errs: Vec<Vec<f64>> = Vec::with_capacity(num_perm);
        for r in 1..=num_perm {
            powers_into(&below, r as u32, &mut miss_below, &mut square);
            powers_into(&above, r as u32, &mut miss_above, &mut square);
            for m in miss_below.iter_mut().chain(miss_above.iter_mut()) {
                *m = 1.0 - *m;
            }
            errs.push(
                (1..=num_perm / r)
                    .map(|b| {
                        powers_into(&miss_below, b as u32, &mut pow_below, &mut square);
                        powers_into(&miss_above, b as u32, &mut pow_above, &mut square);
                        let fp = simpson(|i| 1.0 - pow_below[i], 0.0, threshold);
                        let fn_ = simpson(|i| 1.0 - (1.0 - pow_above[i]), threshold, 1.0);
                        fp * fp_weight + fn_ * fn_weight
                    })
                    .collect(),
            );
        }
        for b in 1..=num_perm {
            for r in 1..=num_perm / b {
                let err = errs[r - 1][b - 1];
                if err < best_err - 1e-12 {
                    best_err = err;
                    best = LshParams { bands: b, rows: r };
                }
            }
        }
        best
    }

    /// The bucket keys of a signature, one per band: key `i` hashes band `i`'s rows with the band index as seed.
    ///
    /// # Panics
    /// When `sig` has fewer than `bands × rows` values.
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

/// An LSH index of documents for queries: each document's band keys go into one bucket per band; the candidates
/// of a query are the documents that share a bucket with it in any band (no bucket cap: this is the query form of
/// [`candidate_pairs`], which the batch pipeline uses). Documents are numbered by the caller.
///
/// ```
/// use textreuse_core::dedup::{DedupOptions, Fingerprinter, LshIndex};
/// let f = Fingerprinter::new(&DedupOptions::default()).unwrap();
/// let a = f.fingerprint("国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系深入交换意见。").unwrap();
/// let b = f.fingerprint("國家主席在莫斯科同俄羅斯總統舉行會談，雙方就雙邊關係深入交換意見。").unwrap();
/// let mut index = LshIndex::new(f.lsh());
/// index.insert(7, &a).unwrap();
/// assert_eq!(index.candidates(&b), vec![7]);
/// ```
#[derive(Debug, Clone)]
pub struct LshIndex {
    params: LshParams,
    buckets: Vec<std::collections::HashMap<u64, Vec<u32>>>,
    docs: std::collections::HashMap<u32, Vec<u64>>,
}

impl LshIndex {
    /// An empty index of `params.bands` bands.
    pub fn new(params: LshParams) -> LshIndex {
        LshIndex { params, buckets: vec![Default::default(); params.bands], docs: Default::default() }
    }

    /// Bands × rows.
    pub fn params(&self) -> LshParams {
        self.params
    }

    /// Number of documents in the index.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// True when document `doc` is in the index.
    pub fn contains(&self, doc: u32) -> bool {
        self.docs.contains_key(&doc)
    }

    /// Inserts document `doc` with the band keys of its fingerprint.
    ///
    /// # Errors
    /// [`crate::Error::DuplicateId`] when `doc` is already in the index; [`crate::Error::Mismatch`] when the
    /// fingerprint has another number of band keys than the index has bands.
    pub fn insert(&mut self, doc: u32, fp: &crate::dedup::Fingerprint) -> Result<(), crate::Error> {
        self.insert_keys(doc, &fp.band_keys)
    }

    /// Inserts document `doc` by its band keys ([`LshParams::band_keys`] of its MinHash signature).
    ///
    /// # Errors
    /// As [`LshIndex::insert`].
    pub fn insert_keys(&mut self, doc: u32, band_keys: &[u64]) -> Result<(), crate::Error> {
        self.check(band_keys)?;
        if self.docs.contains_key(&doc) {
            return Err(crate::Error::DuplicateId(doc.to_string()));
        }
        for (band, &k) in band_keys.iter().enumerate() {
            self.buckets[band].entry(k).or_default().push(doc);
        }
        self.docs.insert(doc, band_keys.to_vec());
        Ok(())
    }

    /// Removes document `doc`; returns false when it was not in the index.
    pub fn remove(&mut self, doc: u32) -> bool {
        let Some(keys) = self.docs.remove(&doc) else { return false };
        for (band, k) in keys.into_iter().enumerate() {
            if let std::collections::hash_map::Entry::Occupied(mut e) = self.buckets[band].entry(k) {
                e.get_mut().retain(|&d| d != doc);
                if e.get().is_empty() {
                    e.remove();
                }
            }
        }
        true
    }

    /// The documents sharing a bucket with this fingerprint in any band, sorted, without repeats.
    ///
    /// # Panics
    /// When the fingerprint has another number of band keys than the index has bands (see
    /// [`LshIndex::candidates_of_keys`] for the checked form).
    pub fn candidates(&self, fp: &crate::dedup::Fingerprint) -> Vec<u32> {
        self.candidates_of_keys(&fp.band_keys).expect("a fingerprint of the index's bands")
    }

    /// The documents sharing a bucket with these band keys in any band, sorted, without repeats.
    ///
    /// # Errors
    /// [`crate::Error::Mismatch`] when there are not as many keys as bands.
    pub fn candidates_of_keys(&self, band_keys: &[u64]) -> Result<Vec<u32>, crate::Error> {
        self.check(band_keys)?;
        let mut out: Vec<u32> = Vec::new();
        for (band, k) in band_keys.iter().enumerate() {
            if let Some(docs) = self.buckets[band].get(k) {
                out.extend_from_slice(docs);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn check(&self, band_keys: &[u64]) -> Result<(), crate::Error> {
        if band_keys.len() != self.params.bands {
            return Err(crate::Error::Mismatch(format!(
                "{} band keys for an index of {} bands",
                band_keys.len(),
                self.params.bands
            )));
        }
        Ok(())
    }
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

    /// The choice as it was first written: every integrand value computed from `s` ([`candidate_probability`]).
    fn optimal_reference(threshold: f64, num_perm: usize, fp_weight: f64, fn_weight: f64) -> LshParams {
        fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
            let n = 200;
            let h = (b - a) / n as f64;
            let mut s = f(a) + f(b);
            for i in 1..n {
                let x = a + i as f64 * h;
                s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(x);
            }
            s * h / 3.0
        }
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

    #[test]
    fn powers_are_those_of_powi() {
        // Values in [0, 1] as the integrands have them, and a few outside; every exponent up to 300.
        let x: Vec<f64> = (0..=200).map(|i| i as f64 / 200.0).chain([1e-300, 0.999_999_9, 1.5, -0.7, 3.0]).collect();
        let (mut out, mut square) = (Vec::new(), Vec::new());
        for n in 0..=300u32 {
            powers_into(&x, n, &mut out, &mut square);
            for (v, p) in x.iter().zip(&out) {
                assert_eq!(p.to_bits(), v.powi(n as i32).to_bits(), "{v}^{n}");
            }
        }
    }

    #[test]
    fn optimal_params_are_the_references() {
        for num_perm in [1, 2, 16, 64, 100, 128, 256] {
            for t in [0.05, 0.1, 0.2025, 0.3, 0.45, 0.5, 0.7, 0.9, 0.99] {
                for (fp, fn_) in [(0.5, 0.5), (0.3, 0.7), (0.9, 0.1)] {
                    assert_eq!(
                        LshParams::optimal(t, num_perm, fp, fn_),
                        optimal_reference(t, num_perm, fp, fn_),
                        "{t} {num_perm} {fp} {fn_}"
                    );
                }
            }
        }
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
