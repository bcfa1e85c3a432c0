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

/// Size of the intersection of two sorted, de-duplicated slices: binary search of the smaller in the larger when
/// sizes differ 16-fold or more, else a merge, by blocks of 4 × 4 values with AVX2 where the processor has it
/// (detected at run time), else one value at a time. All paths count the same.
pub fn intersection_size(a: &[u64], b: &[u64]) -> u64 {
    intersection_at_least(a, b, 0).expect("every intersection is at least 0")
}

/// [`intersection_size`] when it is at least `bar`, else `None`: the count stops as soon as the values not yet
/// compared could no longer bring it to `bar` (the matches so far plus the values left in either set bound it).
pub fn intersection_at_least(a: &[u64], b: &[u64], bar: u64) -> Option<u64> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if (small.len() as u64) < bar {
        return None;
    }
    if small.is_empty() {
        return Some(0);
    }
    if large.len() / small.len() >= 16 {
        let mut n = 0u64;
        for (k, x) in small.iter().enumerate() {
            if n + ((small.len() - k) as u64) < bar {
                return None;
            }
            n += large.binary_search(x).is_ok() as u64;
        }
        return (n >= bar).then_some(n);
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2 (checked just above).
        return unsafe { intersection_at_least_avx2(small, large, bar) };
    }
    merge_at_least(small, large, 0, bar)
}

/// Matches counted so far (`n`) plus the values of `a` or `b` not yet passed: no intersection can exceed it.
#[inline(always)]
fn bound(n: u64, a_left: usize, b_left: usize) -> u64 {
    n + a_left.min(b_left) as u64
}

/// `n` plus the size of the intersection of two sorted, de-duplicated slices by a merge, one value at a time;
/// `None` as soon as it cannot reach `bar`.
fn merge_at_least(a: &[u64], b: &[u64], mut n: u64, bar: u64) -> Option<u64> {
    // Branch-free merge: the comparisons of random hashes are unpredictable.
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if bound(n, a.len() - i, b.len() - j) < bar {
            return None;
        }
        let (x, y) = (a[i], b[j]);
        n += (x == y) as u64;
        i += (x <= y) as usize;
        j += (y <= x) as usize;
    }
    (n >= bar).then_some(n)
}

/// [`merge_at_least`] by blocks: 4 values of `a` are compared with 4 of `b` in every arrangement (4 vector
/// comparisons), the matches counted, and the block whose last value is smaller moved on (both when equal). Each
/// value is in one set once, so a value of `a` matches at most one of `b`'s block, and a value equal in both sets
/// is counted in the one step where both blocks hold it: a block moves on only past values smaller than or equal
/// to the other block's last, which later blocks of the other set cannot hold. So every value passed has all its
/// matches counted, and the matches so far plus the values left in either set bound the intersection. The tails go
/// to [`merge_at_least`].
///
/// # Safety
/// The processor must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn intersection_at_least_avx2(a: &[u64], b: &[u64], bar: u64) -> Option<u64> {
    use std::arch::x86_64::*;
    let (mut i, mut j, mut n) = (0usize, 0usize, 0u64);
    while i + 4 <= a.len() && j + 4 <= b.len() {
        if bound(n, a.len() - i, b.len() - j) < bar {
            return None;
        }
        // SAFETY: i + 4 <= a.len() and j + 4 <= b.len(): both loads and both reads are in bounds.
        let (va, vb, a_last, b_last) = unsafe {
            (
                _mm256_loadu_si256(a.as_ptr().add(i).cast::<__m256i>()),
                _mm256_loadu_si256(b.as_ptr().add(j).cast::<__m256i>()),
                *a.get_unchecked(i + 3),
                *b.get_unchecked(j + 3),
            )
        };
        // vb as [b0 b1 b2 b3], [b1 b0 b3 b2], [b2 b3 b0 b1], [b3 b2 b1 b0]: each lane of va meets all four.
        let r1 = _mm256_shuffle_epi32(vb, 0b01_00_11_10);
        let r2 = _mm256_permute4x64_epi64(vb, 0b01_00_11_10);
        let r3 = _mm256_shuffle_epi32(r2, 0b01_00_11_10);
        let m = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi64(va, vb), _mm256_cmpeq_epi64(va, r1)),
            _mm256_or_si256(_mm256_cmpeq_epi64(va, r2), _mm256_cmpeq_epi64(va, r3)),
        );
        n += (_mm256_movemask_pd(_mm256_castsi256_pd(m)) as u32).count_ones() as u64;
        i += 4 * (a_last <= b_last) as usize;
        j += 4 * (b_last <= a_last) as usize;
    }
    merge_at_least(&a[i..], &b[j..], n, bar)
}

/// The statistics of two sets of `a_len` and `b_len` values with `inter` in common (the one formula of
/// [`pair_stats`]). Two empty sets are identical.
pub fn stats_of(inter: u64, a_len: usize, b_len: usize) -> PairStats {
    if a_len == 0 && b_len == 0 {
        return PairStats { intersection: 0, jaccard: 1.0, containment: 1.0 };
    }
    let union = a_len as u64 + b_len as u64 - inter;
    let min = a_len.min(b_len).max(1) as u64;
    PairStats { intersection: inter, jaccard: inter as f64 / union as f64, containment: inter as f64 / min as f64 }
}

/// The smallest intersection of two sets of `a_len` and `b_len` values whose statistics ([`stats_of`]) satisfy
/// `wanted`, or one more than the smaller size when none does. `wanted` must hold for an intersection whenever it
/// holds for a smaller one (as thresholds on Jaccard similarity and containment do: both grow with it); it is
/// evaluated about log2 of the smaller size times.
pub fn least_intersection(a_len: usize, b_len: usize, wanted: impl Fn(&PairStats) -> bool) -> u64 {
    let (mut lo, mut hi) = (0u64, a_len.min(b_len) as u64 + 1);
    // Invariant: `wanted` fails below `lo`, holds at `hi` (or `hi` is past the largest possible intersection).
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if wanted(&stats_of(mid, a_len, b_len)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// [`pair_stats`] when the intersection is at least `bar`, else `None`, found without comparing every value
/// when it is not ([`intersection_at_least`]).
pub fn pair_stats_at_least(a: &[u64], b: &[u64], bar: u64) -> Option<PairStats> {
    if a.is_empty() && b.is_empty() {
        return (bar == 0).then(|| stats_of(0, 0, 0));
    }
    intersection_at_least(a, b, bar).map(|inter| stats_of(inter, a.len(), b.len()))
}

/// Jaccard similarity and containment of two sorted, de-duplicated shingle sets. Two empty sets are identical.
pub fn pair_stats(a: &[u64], b: &[u64]) -> PairStats {
    pair_stats_at_least(a, b, 0).expect("every intersection is at least 0")
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
    fn least_intersection_is_the_first_that_passes() {
        for (na, nb) in [(0usize, 0usize), (1, 1), (10, 30), (100, 100), (7, 5000), (4000, 4100)] {
            let wanted = |s: &PairStats| s.jaccard >= 0.45 || s.containment >= 0.9;
            let bar = least_intersection(na, nb, wanted);
            let max = na.min(nb) as u64;
            for i in 0..=max {
                assert_eq!(wanted(&stats_of(i, na, nb)), i >= bar, "{na} {nb} {i}");
            }
        }
        assert_eq!(least_intersection(10, 20, |_| false), 11);
        assert_eq!(pair_stats_at_least(&[1, 2, 3], &[2, 3, 4], 3), None);
        assert_eq!(pair_stats_at_least(&[1, 2, 3], &[2, 3, 4], 2), Some(pair_stats(&[1, 2, 3], &[2, 3, 4])));
    }

    #[test]
    fn block_merge_agrees_with_the_plain_merge() {
        // Random sorted sets of many sizes and overlaps, with runs of shared values and values equal at block
        // edges: every path counts what the plain merge counts.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 11
        };
        for round in 0..3000 {
            let (na, nb) = ((next() % 90) as usize, (next() % 90) as usize);
            let universe = 1 + (next() % 200) * (1 + round % 3);
            let mut a: Vec<u64> = (0..na).map(|_| next() % universe).collect();
            let mut b: Vec<u64> = (0..nb).map(|_| next() % universe).collect();
            a.sort_unstable();
            a.dedup();
            b.sort_unstable();
            b.dedup();
            let want = a.iter().filter(|x| b.contains(x)).count() as u64;
            assert_eq!(intersection_size(&a, &b), want, "{a:?} {b:?}");
            assert_eq!(intersection_size(&b, &a), want);
            assert_eq!(merge_at_least(&a, &b, 0, 0), Some(want));
            // With a bar: the count when it reaches the bar, else nothing, on every path.
            for bar in [0, want.saturating_sub(1), want, want + 1, want + 5] {
                let expect = (want >= bar).then_some(want);
                assert_eq!(intersection_at_least(&a, &b, bar), expect, "bar {bar}");
                assert_eq!(merge_at_least(&a, &b, 0, bar), expect);
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: AVX2 is there.
                    assert_eq!(unsafe { intersection_at_least_avx2(&a, &b, bar) }, expect);
                    assert_eq!(unsafe { intersection_at_least_avx2(&b, &a, bar) }, expect);
                }
            }
        }
    }
}
