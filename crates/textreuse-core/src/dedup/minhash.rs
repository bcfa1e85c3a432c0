//! MinHash signatures by one-permutation hashing with optimal densification.
//!
//! Classic MinHash (Broder 1997) hashes every shingle `k` times. One-permutation hashing (Li, Owen & Zhang 2012,
//! "One Permutation Hashing") hashes each shingle once, splits the hash range into `k` bins and keeps the minimum
//! of each bin; empty bins are filled by optimal densification (Shrivastava 2017, "Optimal Densification for Fast
//! and Accurate Minwise Hashing", ICML): an empty bin copies the value of the first non-empty bin found along its
//! own pseudo-random probe sequence. The collision probability of two signatures at one position is the Jaccard
//! similarity of the two sets, as for classic MinHash, at `O(|set| + k)` cost instead of `O(|set| · k)`.

use std::sync::{Arc, Mutex};

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// A MinHash signature: `num_perm` 64-bit values.
pub type Signature = Vec<u64>;

/// Builds signatures of `num_perm` values from 64-bit shingle hashes.
#[derive(Debug, Clone)]
pub struct MinHasher {
    num_perm: usize,
    seed: u64,
    /// The first [`PROBES_PER_BIN`] bins of each bin's densification probe sequence ([`probe_target`]), bin `i`'s
    /// at `i · PROBES_PER_BIN..`; empty above [`PROBE_TABLE_MAX_BINS`] bins. Shared by every hasher of the same
    /// `num_perm` and seed ([`probe_table`]).
    probes: Arc<[u32]>,
}

/// Probes per bin that [`MinHasher`] keeps in its table: an empty bin of a signature whose bins are filled at a
/// fraction `f` probes more than this many with probability `(1 - f)^8` (under 0.4% once a third of the bins are
/// filled); those later probes are hashed as they come.
const PROBES_PER_BIN: usize = 8;

/// Signatures of up to this many values have a probe table (128 KiB for the largest); longer ones hash every probe.
const PROBE_TABLE_MAX_BINS: usize = 4096;

impl MinHasher {
    /// A hasher of `num_perm` values (at least 1) with a seed. The same seed gives the same signatures.
    pub fn new(num_perm: usize, seed: u64) -> MinHasher {
        assert!(num_perm >= 1, "num_perm must be at least 1");
        MinHasher { num_perm, seed, probes: probe_table(num_perm, seed) }
    }

    /// Number of values in a signature.
    pub fn num_perm(&self) -> usize {
        self.num_perm
    }

    /// The signature of a set of shingle hashes (duplicates are harmless). An empty set gives a signature of
    /// `u64::MAX` values, which matches only other empty sets.
    pub fn signature(&self, shingles: &[u64]) -> Signature {
        let k = self.num_perm;
        let mut sig = vec![u64::MAX; k];
        fill_bins(shingles, self.seed, &mut sig);
        if shingles.is_empty() {
            return sig;
        }
        // Optimal densification: each empty bin probes bins along its own sequence for the first that a shingle
        // filled. Genuine values are below 2^32 and a densified one has a bit at 40 or above, so a bin was filled
        // by a shingle exactly when it holds a value below 2^32, before and after empty bins are densified in place.
        // The empty bins are found 64 at a time from a mask (a branch per bin mispredicts at every empty one).
        for base in (0..k).step_by(64) {
            let mut empty = sig[base..k.min(base + 64)]
                .iter()
                .enumerate()
                .fold(0u64, |m, (b, &v)| m | (u64::from(v == u64::MAX) << b));
            while empty != 0 {
                let i = base + empty.trailing_zeros() as usize;
                empty &= empty - 1;
                self.densify(&mut sig, i);
            }
        }
        sig
    }

    /// Optimal densification of empty bin `i` of `sig` (see [`MinHasher::signature`]).
    #[inline]
    fn densify(&self, sig: &mut [u64], i: usize) {
        let k = sig.len();
        let mut attempt: u64 = 0;
        loop {
            let j = match self.probes.get(i * PROBES_PER_BIN + attempt as usize) {
                Some(&j) if attempt < PROBES_PER_BIN as u64 => j as usize,
                _ => probe_target(i, attempt, self.seed, k),
            };
            if sig[j] <= u64::from(u32::MAX) {
                // Keep the densified value apart from genuine values of bin i.
                sig[i] = sig[j] | ((attempt + 1) << 40);
                return;
            }
            attempt += 1;
        }
    }
}

/// The bin that empty bin `i` of a signature of `k` values probes at its `attempt`-th try (from 0) in optimal
/// densification: the top 32 bits of XXH3 (seeded) of `i` and `attempt` as two little-endian u64, scaled to `k`.
fn probe_target(i: usize, attempt: u64, seed: u64, k: usize) -> usize {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&(i as u64).to_le_bytes());
    key[8..].copy_from_slice(&attempt.to_le_bytes());
    (((xxh3_64_with_seed(&key, seed) >> 32) * k as u64) >> 32) as usize
}

/// The probe table of [`MinHasher`] for `k` bins and `seed`: [`probe_target`] of attempts `0..PROBES_PER_BIN` of
/// every bin (empty above [`PROBE_TABLE_MAX_BINS`] bins). Tables are built once per process for each `(k, seed)`
/// and shared: a Python user may make a hasher per document, and a table of 128 bins is 1,024 hashes (2.9 µs to
/// build, 17 ns to find in the cache, on this project's AMD EPYC machines). The cache keeps the last 16 settings.
fn probe_table(k: usize, seed: u64) -> Arc<[u32]> {
    type Tables = Vec<((usize, u64), Arc<[u32]>)>;
    static TABLES: Mutex<Tables> = Mutex::new(Vec::new());
    if k > PROBE_TABLE_MAX_BINS {
        return Arc::from(Vec::new());
    }
    let mut tables = TABLES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, t)) = tables.iter().find(|(key, _)| *key == (k, seed)) {
        return Arc::clone(t);
    }
    let table: Arc<[u32]> =
        (0..k).flat_map(|i| (0..PROBES_PER_BIN as u64).map(move |a| probe_target(i, a, seed, k) as u32)).collect();
    if tables.len() >= 16 {
        tables.remove(0);
    }
    tables.push(((k, seed), Arc::clone(&table)));
    table
}

/// Lowers each bin of `sig` to the smallest value that a shingle of `shingles` puts in it: shingle `h` is re-mixed
/// with the seed (`x = mix64(h ^ seed)`, so that signatures do not depend on how the shingles were hashed) and goes
/// to bin `((x >> 32) · k) >> 32` with value `x mod 2^32`, for `k = sig.len()`. With AVX-512 (F and DQ: 64-bit
/// multiplies) where the processor has it, eight shingles are mixed at a time, and the bins are then lowered one by
/// one (`MinHasher::signature` of random sets of 1,300 to 8,000 values: 1.8 → 1.05 ns a shingle on this project's
/// AMD EPYC machines).
fn fill_bins(shingles: &[u64], seed: u64, sig: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    {
        let avx512 = std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq");
        // The bin numbers multiply 32-bit halves: `k` must fit in 32 bits.
        if avx512 && u32::try_from(sig.len()).is_ok() {
            // SAFETY: the processor has AVX-512F and AVX-512DQ (checked just above).
            unsafe { fill_bins_avx512(shingles, seed, sig) };
            return;
        }
    }
    fill_bins_plain(shingles, seed, sig);
}

/// [`fill_bins`], one shingle at a time.
fn fill_bins_plain(shingles: &[u64], seed: u64, sig: &mut [u64]) {
    let k = sig.len() as u64;
    for &h in shingles {
        let x = mix64(h ^ seed);
        let bin = (((x >> 32) * k) >> 32) as usize;
        // The minimum without a branch: whether a value is a bin's new minimum is a coin toss early on, and a
        // mispredicted branch cost more than the store.
        let slot = &mut sig[bin];
        *slot = (*slot).min(x & 0xFFFF_FFFF);
    }
}

/// Bins up to which [`fill_bins_avx512`] lowers four copies of the bins (lanes `j` and `j + 4` share copy `j`).
const LANE_COPIES_MAX_BINS: usize = 128;

/// Shingles that [`fill_bins_avx512`] mixes before it lowers their slots (a multiple of 8; 2 KiB on the stack, not
/// initialized).
const PENDING: usize = 256;

/// [`fill_bins`] with the mixing and the bin numbers eight shingles at a time. Lane `j` lowers copy `j mod 4` of the
/// bins (for up to [`LANE_COPIES_MAX_BINS`] bins: 4.3 KiB on the stack), and the copies' minima go to `sig` at the
/// end: a lane's load of a bin can hang on a store earlier in the block (to an address the processor cannot know
/// ahead) only from the lane four back, where any of the seven before it could. With one set of bins the loop's
/// speed was bimodal, by build and by run: 1.03 or 2.5-5.2 ns a value on random sets of 300 to 10,000 values, 5.5%
/// of the samples of a one-thread English run in one build and 13.5% in another of the same code; with the copies
/// 1.0-2.1 ns a value, and 2.9% of that run (`bench/RESULTS.md`, twenty-third session). The copies lie an odd number
/// of values apart, so that the same bin of two copies is never a multiple of 4 KiB apart (which the processor's
/// first address check takes for the same place).
///
/// The shingles are mixed [`PENDING`] at a time into packed slots and values, and the slots lowered after: mixed
/// between the stores, the next block's load and multiplies could start only once the processor knew where the
/// block before it stored, when it did not guess it; so the blocks' latencies added up. The twenty-fifth session
/// saw one build spend 8.3% of a 1 GB `dedup` run here, against 1.6% for another build of the same loop in the same
/// minutes (`bench/RESULTS.md`); mixed first, random sets of 1,000 and 3,000 values take 0.95 and 0.81 ns a value
/// where they took 1.17 and 1.01.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn fill_bins_avx512(shingles: &[u64], seed: u64, sig: &mut [u64]) {
    use std::arch::x86_64::*;
    if shingles.len() < 8 {
        // No whole block: the copies would only be filled and merged for nothing.
        fill_bins_plain(shingles, seed, sig);
        return;
    }
    let k = sig.len();
    // Whole blocks of eight, and the rest (lowered one at a time at the end).
    let (whole, rest) = shingles.split_at(shingles.len() / 8 * 8);
    let (seed_v, k_v) = (_mm512_set1_epi64(seed as i64), _mm512_set1_epi64(k as i64));
    let (m1, m2) =
        (_mm512_set1_epi64(0xbf58_476d_1ce4_e5b9u64 as i64), _mm512_set1_epi64(0x94d0_49bb_1331_11ebu64 as i64));
    let low = _mm512_set1_epi64(0xFFFF_FFFF);
    let copies_fit = k <= LANE_COPIES_MAX_BINS;
    // Copy `c`'s bin `b` at `c * stride + b`; an odd stride, so that no two copies of a bin are a multiple of 4 KiB
    // (512 values) apart.
    let stride = (k + 8) | 1;
    let mut copies = [u64::MAX; 4 * (LANE_COPIES_MAX_BINS + 9)];
    // Where each lane's copy starts (0 for all when there are no copies: the bins of `sig` then).
    let lane_starts = if copies_fit {
        _mm512_mullo_epi64(_mm512_set_epi64(3, 2, 1, 0, 3, 2, 1, 0), _mm512_set1_epi64(stride as i64))
    } else {
        _mm512_setzero_si512()
    };
    let slots: &mut [u64] = if copies_fit { &mut copies } else { sig };
    // The slots and values of up to `PENDING` shingles, `slot << 32 | value`: all mixed first, then the slots
    // lowered. A block's mixing then never waits on the stores of the block before it. Only the part written is
    // read, so it is not initialized.
    let mut pending = [std::mem::MaybeUninit::<u64>::uninit(); PENDING];
    for group in whole.chunks(PENDING) {
        for (c, out) in group.chunks_exact(8).zip(pending.chunks_exact_mut(8)) {
            // SAFETY: `c` holds eight u64 values and `out` room for eight (unaligned load and store).
            let mut x = _mm512_xor_si512(_mm512_loadu_si512(c.as_ptr().cast()), seed_v);
            x = _mm512_xor_si512(x, _mm512_srli_epi64::<30>(x));
            x = _mm512_mullo_epi64(x, m1);
            x = _mm512_xor_si512(x, _mm512_srli_epi64::<27>(x));
            x = _mm512_mullo_epi64(x, m2);
            x = _mm512_xor_si512(x, _mm512_srli_epi64::<31>(x));
            // (x >> 32) · k, both below 2^32: the 32 × 32 → 64-bit multiply.
            let bin = _mm512_srli_epi64::<32>(_mm512_mul_epu32(_mm512_srli_epi64::<32>(x), k_v));
            let slot = _mm512_add_epi64(bin, lane_starts);
            let packed = _mm512_or_si512(_mm512_slli_epi64::<32>(slot), _mm512_and_si512(x, low));
            _mm512_storeu_si512(out.as_mut_ptr().cast(), packed);
        }
        // SAFETY: the loop above wrote the first `group.len()` values (`group` is whole blocks of eight, at most
        // `PENDING` values).
        let mixed = unsafe { std::slice::from_raw_parts(pending.as_ptr().cast::<u64>(), group.len()) };
        for &p in mixed {
            let at = (p >> 32) as usize;
            debug_assert!(at < slots.len());
            // SAFETY: a bin is below `k` ((x >> 32) · k < 2^32 · k), so a slot, `(j mod 4) · stride` plus the bin for
            // lane `j`, lies in its copy (below `4 · stride <= copies.len()`), or in `sig` without copies (lane
            // starts 0).
            let slot = unsafe { slots.get_unchecked_mut(at) };
            *slot = (*slot).min(p & 0xFFFF_FFFF);
        }
    }
    if copies_fit {
        for copy in copies[..4 * stride].chunks_exact(stride) {
            for (slot, &v) in sig.iter_mut().zip(copy) {
                *slot = (*slot).min(v);
            }
        }
    }
    fill_bins_plain(rest, seed, sig);
}

/// A fast 64-bit finalizer (the `splitmix64` / Murmur3 mix), a bijection on `u64`.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Fraction of equal positions of two signatures: an estimate of the Jaccard similarity.
pub fn estimate_jaccard(a: &[u64], b: &[u64]) -> f64 {
    assert_eq!(a.len(), b.len(), "signatures of different lengths");
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(range: std::ops::Range<u64>) -> Vec<u64> {
        range.map(|i| mix64(i + 12345)).collect()
    }

    #[test]
    fn estimate_tracks_jaccard() {
        let h = MinHasher::new(256, 7);
        // |A ∩ B| = 600, |A ∪ B| = 1400: Jaccard 0.4286.
        let a = set(0..1000);
        let b = set(400..1400);
        let est = estimate_jaccard(&h.signature(&a), &h.signature(&b));
        assert!((est - 600.0 / 1400.0).abs() < 0.1, "estimate {est}");
        assert_eq!(h.signature(&a), h.signature(&a));
    }

    #[test]
    fn bins_are_filled_alike_with_and_without_avx512() {
        // The four copies of the bins (up to 128 bins) and one set of bins (more), whole blocks of eight and not.
        let cases = [(0usize, 128usize), (7, 128), (8, 64), (9, 128), (100, 128), (1001, 256), (5000, 100), (333, 1)];
        for (n, k) in cases.into_iter().chain([(20_000, 128), (4_000, 129), (64, 2), (17, 127)]) {
            let hs = set(0..n as u64);
            let mut plain = vec![u64::MAX; k];
            fill_bins_plain(&hs, 42, &mut plain);
            let mut any = vec![u64::MAX; k];
            fill_bins(&hs, 42, &mut any);
            assert_eq!(any, plain, "{n} shingles, {k} bins");
        }
    }

    /// The signature as optimal densification defines it: every probe hashed, the filled bins kept apart.
    fn densified_by_hashing(h: &MinHasher, shingles: &[u64]) -> Signature {
        let k = h.num_perm();
        let mut sig = vec![u64::MAX; k];
        fill_bins_plain(shingles, h.seed, &mut sig);
        if shingles.is_empty() {
            return sig;
        }
        let src = sig.clone();
        for i in 0..k {
            if src[i] != u64::MAX {
                continue;
            }
            let mut attempt = 0;
            loop {
                let j = probe_target(i, attempt, h.seed, k);
                if src[j] != u64::MAX {
                    sig[i] = src[j] | ((attempt + 1) << 40);
                    break;
                }
                attempt += 1;
            }
        }
        sig
    }

    #[test]
    fn densification_by_the_probe_table_is_densification_by_hashing() {
        // Sets from one shingle (probes far past the table's eight a bin) to more than the bins; signatures with a
        // table (shared by two hashers of the same settings) and without one (more than 4,096 values).
        for (k, seed) in [(128usize, 42u64), (128, 7), (1, 3), (100, 42), (4096, 1), (4097, 1), (5000, 9)] {
            let (h, again) = (MinHasher::new(k, seed), MinHasher::new(k, seed));
            assert_eq!(h.probes.is_empty(), k > PROBE_TABLE_MAX_BINS);
            assert!(k > PROBE_TABLE_MAX_BINS || Arc::ptr_eq(&h.probes, &again.probes), "{k} bins: the table is shared");
            for n in [0u64, 1, 2, 5, 17, 64, 130, 400, 3000] {
                let shingles = set(1000 * n..1001 * n);
                assert_eq!(h.signature(&shingles), densified_by_hashing(&h, &shingles), "{k} bins, {n} shingles");
            }
        }
    }

    #[test]
    fn small_sets_are_densified() {
        let h = MinHasher::new(128, 1);
        let a = set(0..10);
        let sig = h.signature(&a);
        assert!(sig.iter().all(|&v| v != u64::MAX));
        assert_eq!(estimate_jaccard(&sig, &h.signature(&a)), 1.0);
        let b = set(100..110);
        assert!(estimate_jaccard(&sig, &h.signature(&b)) < 0.2);
    }
}
