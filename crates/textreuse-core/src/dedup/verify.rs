//! Exact verification of candidate pairs.
//!
//! Every candidate pair from LSH is checked on the documents' full shingle sets: Jaccard similarity
//! `|A ∩ B| / |A ∪ B|` and containment `|A ∩ B| / min(|A|, |B|)` (Broder 1997). Shingle sets are sorted,
//! de-duplicated `u32` slices: the top 32 bits of the 64-bit shingle hashes ([`crate::shingle::narrow_set`], which
//! gives the collision rates); where they are kept (memory or a spill file) is the caller's concern.

use rayon::prelude::*;

use super::ShingleSets;

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
/// sizes differ 16-fold or more, else a merge, by blocks of 8 × 8 values with AVX2 (and POPCNT) where the processor
/// has it (detected at run time), else one value at a time. All paths count the same.
pub fn intersection_size(a: &[u32], b: &[u32]) -> u64 {
    intersection_at_least(a, b, 0).expect("every intersection is at least 0")
}

/// [`intersection_size`] when it is at least `bar`, else `None`: the count stops as soon as the values not yet
/// compared could no longer bring it to `bar` (the matches so far plus the values left in either set bound it).
pub fn intersection_at_least(a: &[u32], b: &[u32], bar: u64) -> Option<u64> {
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
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the processor supports AVX2 and POPCNT (checked just above).
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
fn merge_at_least(a: &[u32], b: &[u32], mut n: u64, bar: u64) -> Option<u64> {
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

/// [`merge_at_least`] by blocks: 8 values of `a` are compared with 8 of `b` in every arrangement (8 vector comparisons
/// of 32-bit lanes), the matches counted, and the sets moved on past values of their blocks up to `m`, the smaller of
/// the two blocks' last values: all eight values of the block whose last is `m` (of both when equal), and in `PARTIAL`
/// steps the first values of the other block. Each value is in one set once, so a value of `a` matches at most one of
/// `b`'s block. A value held by both blocks is at most both blocks' last values, so at most `m`: it is counted in this
/// step and passed in both sets, never counted again. A value passed (at most `m`) whose match exists in the other set
/// has it in the other block: the other set's values up to `m` not yet passed all lie in its block (whose last is at
/// least `m`), and those passed before were at most the `m` of an earlier step, below every value not yet passed. So
/// every value passed has all its matches counted, and the matches so far plus the values left in either set bound the
/// intersection. The tails go to [`merge_at_least`].
///
/// Passing the other block's first values too (`PARTIAL` steps, where the smaller block alone moved on before) halves
/// the steps of two near-duplicate sets whose blocks are out of step by a few values, the sets most verified pairs have
/// (the merge of two sets of 3,000 values, 95% shared: 2,030 → 1,690 ns; half shared: 2,100 → 1,870 ns; none: 2,180 →
/// 2,050 ns). Where one set has twice the values of the other or more, the other block's first values are few, and
/// the longer chain of each step (its counts of values passed come from the vectors) made the 1 GB scale corpus's
/// merges of such pairs 6-26% slower: they take whole blocks only.
///
/// Sets of 64 values or more are cut in two at the middle value of `a` (`b` where its values reach it, found by binary
/// search): the two halves' intersections add up, and their merges run interleaved, one block step of each in turn, two
/// independent chains of loads and comparisons that the processor overlaps (9% faster than one chain on sets of 3,600
/// values on this project's AMD EPYC machines, measured with blocks of 4 × 4 64-bit values). The values not yet passed
/// in both halves bound the intersection as in one merge. Compiled with POPCNT (which processors with AVX2 have): the
/// count of the matches' mask is one instruction, not a table lookup (4% faster).
///
/// # Safety
/// The processor must support AVX2 and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn intersection_at_least_avx2(a: &[u32], b: &[u32], bar: u64) -> Option<u64> {
    // SAFETY: AVX2 and POPCNT are there (this function's contract).
    unsafe {
        if a.len().max(b.len()) < 2 * a.len().min(b.len()) {
            block_merge::<true>(a, b, bar)
        } else {
            block_merge::<false>(a, b, bar)
        }
    }
}

/// [`intersection_at_least_avx2`] by block steps that pass the other block's first values too (`PARTIAL`) or whole
/// blocks only ([`Chain::step`]).
///
/// # Safety
/// The processor must support AVX2 and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn block_merge<const PARTIAL: bool>(a: &[u32], b: &[u32], bar: u64) -> Option<u64> {
    if a.len() < 64 || b.len() < 64 {
        let mut c = Chain::new(a, b);
        while c.can_step() {
            if c.bound() < bar {
                return None;
            }
            // SAFETY: AVX2 and POPCNT are there (this function's contract); the chain can step.
            unsafe { c.step::<PARTIAL>() };
        }
        return c.finish(0, bar);
    }
    let h = a.len() / 2;
    let hb = b.partition_point(|&x| x < a[h]);
    // Values below a[h], then from it on.
    let (mut low, mut high) = (Chain::new(&a[..h], &b[..hb]), Chain::new(&a[h..], &b[hb..]));
    while low.can_step() && high.can_step() {
        if low.bound() + high.bound() < bar {
            return None;
        }
        // SAFETY: AVX2 and POPCNT are there (this function's contract); both chains can step.
        unsafe {
            low.step::<PARTIAL>();
            high.step::<PARTIAL>();
        }
    }
    while low.can_step() {
        if low.bound() + high.bound() < bar {
            return None;
        }
        // SAFETY: as above.
        unsafe { low.step::<PARTIAL>() };
    }
    // The low half's count, when the high half's bound can still bring the total to the bar.
    let low_n = low.finish(0, bar.saturating_sub(high.bound()))?;
    while high.can_step() {
        if low_n + high.bound() < bar {
            return None;
        }
        // SAFETY: as above.
        unsafe { high.step::<PARTIAL>() };
    }
    high.finish(low_n, bar)
}

/// The state of one 8 × 8 block merge ([`intersection_at_least_avx2`]): the positions in both sets and the matches
/// counted so far.
#[cfg(target_arch = "x86_64")]
struct Chain<'a> {
    a: &'a [u32],
    b: &'a [u32],
    i: usize,
    j: usize,
    n: u64,
}

#[cfg(target_arch = "x86_64")]
impl<'a> Chain<'a> {
    fn new(a: &'a [u32], b: &'a [u32]) -> Chain<'a> {
        Chain { a, b, i: 0, j: 0, n: 0 }
    }

    /// True when both sets have a block of 8 values left.
    #[inline(always)]
    fn can_step(&self) -> bool {
        self.i + 8 <= self.a.len() && self.j + 8 <= self.b.len()
    }

    /// The matches so far plus the values left in either set: no intersection of the two can exceed it.
    #[inline(always)]
    fn bound(&self) -> u64 {
        bound(self.n, self.a.len() - self.i, self.b.len() - self.j)
    }

    /// One block step: the matches of the blocks of 8 at `i` and `j` counted, and the block with the smaller last
    /// value passed (both when equal); with `PARTIAL`, the other block's values up to that last value too.
    ///
    /// # Safety
    /// The processor must support AVX2 and POPCNT, and [`Chain::can_step`] must hold.
    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    unsafe fn step<const PARTIAL: bool>(&mut self) {
        use std::arch::x86_64::*;
        let (a, b, i, j) = (self.a, self.b, self.i, self.j);
        // SAFETY: i + 8 <= a.len() and j + 8 <= b.len() (`can_step`): both loads and both reads are in bounds.
        let (va, vb, a_last, b_last) = unsafe {
            (
                _mm256_loadu_si256(a.as_ptr().add(i).cast::<__m256i>()),
                _mm256_loadu_si256(b.as_ptr().add(j).cast::<__m256i>()),
                *a.get_unchecked(i + 7),
                *b.get_unchecked(j + 7),
            )
        };
        // vb, then vb with its 128-bit halves swapped, each half rotated by zero to three values: every lane of va
        // meets all eight values of vb.
        let swapped = _mm256_permute2x128_si256(vb, vb, 1);
        let matches = _mm256_or_si256(equal_in_half(va, vb), equal_in_half(va, swapped));
        self.n += (_mm256_movemask_ps(_mm256_castsi256_ps(matches)) as u32).count_ones() as u64;
        if PARTIAL {
            // Lanes at most `m` (unsigned: `max(x, m) == m`), a prefix of each sorted block.
            let m = _mm256_set1_epi32(a_last.min(b_last) as i32);
            let passed = |v: __m256i| {
                let at_most = _mm256_cmpeq_epi32(_mm256_max_epu32(v, m), m);
                (_mm256_movemask_ps(_mm256_castsi256_ps(at_most)) as u32).count_ones() as usize
            };
            self.i += passed(va);
            self.j += passed(vb);
        } else {
            self.i += 8 * (a_last <= b_last) as usize;
            self.j += 8 * (b_last <= a_last) as usize;
        }
    }

    /// `n` plus this chain's count, the tails merged one value at a time, when it reaches `bar`.
    fn finish(&self, n: u64, bar: u64) -> Option<u64> {
        merge_at_least(&self.a[self.i..], &self.b[self.j..], n + self.n, bar)
    }
}

/// Lanes of `va` equal to a value of the same 128-bit half of `v` (each half's four values in every rotation), as a
/// mask of all-ones lanes. Callable where AVX2 is enabled ([`Chain::step`]).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn equal_in_half(va: std::arch::x86_64::__m256i, v: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    _mm256_or_si256(
        _mm256_or_si256(_mm256_cmpeq_epi32(va, v), _mm256_cmpeq_epi32(va, _mm256_shuffle_epi32(v, 0b00_11_10_01))),
        _mm256_or_si256(
            _mm256_cmpeq_epi32(va, _mm256_shuffle_epi32(v, 0b01_00_11_10)),
            _mm256_cmpeq_epi32(va, _mm256_shuffle_epi32(v, 0b10_01_00_11)),
        ),
    )
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
pub fn pair_stats_at_least(a: &[u32], b: &[u32], bar: u64) -> Option<PairStats> {
    if a.is_empty() && b.is_empty() {
        return (bar == 0).then(|| stats_of(0, 0, 0));
    }
    intersection_at_least(a, b, bar).map(|inter| stats_of(inter, a.len(), b.len()))
}

/// Jaccard similarity and containment of two sorted, de-duplicated shingle sets. Two empty sets are identical.
pub fn pair_stats(a: &[u32], b: &[u32]) -> PairStats {
    pair_stats_at_least(a, b, 0).expect("every intersection is at least 0")
}

/// Bitmap sketches of shingle sets: an upper bound on the intersection of two sets from a few hundred bytes each,
/// without merging the sets (most LSH candidate pairs are far below the bar of a duplicate, and the bound settles
/// them).
///
/// The sketch of a set of `n` values is a bitmap of `2^k` bits ([`SetSketches::sketch_bits`]: 2 to 4 bits per
/// value, at least 64, at most 2^17) with bit `v mod 2^k` set for every value `v` (shingle hashes are uniform, so
/// the low bits spread them). A value both sets hold sets the same bit in both bitmaps; a bit can hold several
/// values of a set, and each value beyond the first of its bit is an "extra" (`n` minus the bits set). So
/// `|A ∩ B| ≤ popcount(bits_A & bits_B) + min(extra_A, extra_B)`: a bit set in both accounts for one common value,
/// and every further common value in that bit is an extra of both sets. Two bitmaps of different sizes are
/// compared at the smaller size, the larger folded onto it (bit `i` of the fold is the OR of the bits `i + j·2^k`,
/// which is the bitmap that size would have had), its extras counted again. The bound is exact arithmetic, never an
/// estimate: a pair it puts below a bar is below it.
///
/// Memory: `2^k / 8` bytes per set (0.25 to 0.5 byte per shingle against 4 for the set itself) and 16 bytes.
#[derive(Debug, Clone)]
pub struct SetSketches {
    /// The bitmaps, one after another (`offsets[s]..offsets[s + 1]` in 64-bit words).
    words: Vec<u64>,
    offsets: Vec<usize>,
    /// Values in each set.
    lens: Vec<u32>,
    /// Bits set in each bitmap.
    ones: Vec<u32>,
}

impl Default for SetSketches {
    fn default() -> Self {
        SetSketches { words: Vec::new(), offsets: vec![0], lens: Vec::new(), ones: Vec::new() }
    }
}

impl SetSketches {
    /// Bits of the sketch of a set of `len` values: the power of two at least 2 × `len`, between 64 and 2^17.
    pub fn sketch_bits(len: usize) -> usize {
        len.saturating_mul(2).next_power_of_two().clamp(64, 1 << 17)
    }

    /// The sketches of the sets of documents `docs` of `sets`, in that order, built in parallel (each set is read
    /// once).
    ///
    /// # Errors
    /// The first error of `sets`.
    ///
    /// # Panics
    /// When a set has 2^32 values or more.
    pub fn of_sets<S: ShingleSets>(sets: &S, docs: &[u32]) -> Result<SetSketches, S::Error> {
        const PART: usize = 256;
        let lens: Vec<u32> = docs
            .iter()
            .map(|&d| u32::try_from(sets.set_len(d as usize)).expect("a set of fewer than 2^32 values"))
            .collect();
        let mut offsets = Vec::with_capacity(docs.len() + 1);
        offsets.push(0);
        for &len in &lens {
            offsets.push(offsets[offsets.len() - 1] + Self::sketch_bits(len as usize) / 64);
        }
        let mut words = vec![0u64; offsets[docs.len()]];
        let mut ones = vec![0u32; docs.len()];
        // Parts of `PART` sets with their words and counts, filled in parallel.
        let mut parts = Vec::with_capacity(docs.len().div_ceil(PART));
        let (mut words_left, mut ones_left) = (&mut words[..], &mut ones[..]);
        for first in (0..docs.len()).step_by(PART) {
            let end = (first + PART).min(docs.len());
            let (w, rest) = std::mem::take(&mut words_left).split_at_mut(offsets[end] - offsets[first]);
            words_left = rest;
            let (o, rest) = std::mem::take(&mut ones_left).split_at_mut(end - first);
            ones_left = rest;
            parts.push((first, w, o));
        }
        parts.into_par_iter().try_for_each_init(Vec::new, |buf, (first, w, o)| -> Result<(), S::Error> {
            for (k, ones) in o.iter_mut().enumerate() {
                let set = sets.read(docs[first + k] as usize, buf)?;
                let at = offsets[first + k] - offsets[first]..offsets[first + k + 1] - offsets[first];
                *ones = fill_sketch(set, &mut w[at]);
            }
            Ok(())
        })?;
        Ok(SetSketches { words, offsets, lens, ones })
    }

    /// Appends the sketch of the next set (sorted or not; its values distinct); returns its index.
    ///
    /// # Panics
    /// When the set has 2^32 values or more.
    pub fn push(&mut self, set: &[u32]) -> usize {
        let start = self.words.len();
        self.words.resize(start + Self::sketch_bits(set.len()) / 64, 0);
        let ones = fill_sketch(set, &mut self.words[start..]);
        self.offsets.push(self.words.len());
        self.lens.push(u32::try_from(set.len()).expect("a set of fewer than 2^32 values"));
        self.ones.push(ones);
        self.lens.len() - 1
    }

    /// Number of sketches.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// True when there is no sketch.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// Number of values of set `s`.
    pub fn set_len(&self, s: usize) -> usize {
        self.lens[s] as usize
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        8 * self.words.len() + 8 * self.offsets.len() + 8 * self.lens.len()
    }

    /// An upper bound on `|A ∩ B|` for the sets of sketches `a` and `b` (see the type's documentation).
    pub fn intersection_bound(&self, a: usize, b: usize) -> u64 {
        let wa = &self.words[self.offsets[a]..self.offsets[a + 1]];
        let wb = &self.words[self.offsets[b]..self.offsets[b + 1]];
        // `s`: the smaller bitmap; `l` is folded onto it.
        let ((s, s_len, s_ones), (l, l_len)) = if wa.len() <= wb.len() {
            ((wa, self.lens[a], self.ones[a]), (wb, self.lens[b]))
        } else {
            ((wb, self.lens[b], self.ones[b]), (wa, self.lens[a]))
        };
        let (common, l_ones) = if s.len() == l.len() {
            (and_count(s, l), self.ones[if wa.len() <= wb.len() { b } else { a }] as u64)
        } else {
            folded_and_counts(s, l)
        };
        let extra = (s_len - s_ones).min(l_len - l_ones as u32);
        common + extra as u64
    }
}

/// Sets bit `v mod 2^k` of `words` (zeroed, `2^k` bits) for every value `v` of `set`; returns the bits set.
fn fill_sketch(set: &[u32], words: &mut [u64]) -> u32 {
    let mask = (64 * words.len() - 1) as u32;
    for &v in set {
        let bit = v & mask;
        words[(bit >> 6) as usize] |= 1 << (bit & 63);
    }
    words.iter().map(|w| w.count_ones()).sum()
}

/// `popcount(s & l)` over two bitmaps of the same length: with AVX-512's 64-bit population count where the
/// processor has it (eight words an instruction; 2.3× the scalar count on bitmaps of 64 to 256 words on this
/// project's AMD EPYC machines), else with POPCNT, else plain.
fn and_count(s: &[u64], l: &[u64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512_popcount() {
            // SAFETY: the processor has AVX-512F, AVX512-VPOPCNTDQ and POPCNT (checked just above).
            return unsafe { and_count_avx512(s, l) };
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the processor has the POPCNT instruction (checked just above).
            return unsafe { and_count_popcnt(s, l) };
        }
    }
    and_count_plain(s, l)
}

/// Whether the processor has AVX-512F with its 64-bit population count (AVX512-VPOPCNTDQ) and POPCNT.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx512_popcount() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
        && std::arch::is_x86_feature_detected!("popcnt")
}

/// [`and_count_plain`] compiled with AVX-512 (the compiler vectorizes the count with `vpopcntq`).
///
/// # Safety
/// The processor must support AVX-512F, AVX512-VPOPCNTDQ and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
unsafe fn and_count_avx512(s: &[u64], l: &[u64]) -> u64 {
    and_count_plain(s, l)
}

#[inline(always)]
fn and_count_plain(s: &[u64], l: &[u64]) -> u64 {
    s.iter().zip(l).map(|(x, y)| (x & y).count_ones() as u64).sum()
}

/// [`and_count_plain`] compiled with POPCNT.
///
/// # Safety
/// The processor must support POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn and_count_popcnt(s: &[u64], l: &[u64]) -> u64 {
    and_count_plain(s, l)
}

/// `(popcount(s & fold(l)), popcount(fold(l)))`, where `fold(l)` ORs the `l.len() / s.len()` slices of `s.len()`
/// words of `l` together (`l.len()` is a multiple of `s.len()`).
/// Like [`and_count`], with AVX-512's population count where the processor has it.
fn folded_and_counts(s: &[u64], l: &[u64]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512_popcount() {
            // SAFETY: the processor has AVX-512F, AVX512-VPOPCNTDQ and POPCNT (checked just above).
            return unsafe { folded_and_counts_avx512(s, l) };
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the processor has the POPCNT instruction (checked just above).
            return unsafe { folded_and_counts_popcnt(s, l) };
        }
    }
    folded_and_counts_plain(s, l)
}

/// [`folded_and_counts_plain`] compiled with AVX-512.
///
/// # Safety
/// The processor must support AVX-512F, AVX512-VPOPCNTDQ and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
unsafe fn folded_and_counts_avx512(s: &[u64], l: &[u64]) -> (u64, u64) {
    folded_and_counts_plain(s, l)
}

#[inline(always)]
fn folded_and_counts_plain(s: &[u64], l: &[u64]) -> (u64, u64) {
    let (mut common, mut ones) = (0u64, 0u64);
    let width = s.len();
    if width.is_multiple_of(8) {
        // Blocks of 8 words: the OR over the slices of `l` runs on contiguous words.
        for (b, xs) in s.chunks_exact(8).enumerate() {
            let mut f = [0u64; 8];
            for slice in l[8 * b..].chunks(width) {
                for (f, y) in f.iter_mut().zip(&slice[..8]) {
                    *f |= y;
                }
            }
            for (x, f) in xs.iter().zip(&f) {
                common += (x & f).count_ones() as u64;
                ones += f.count_ones() as u64;
            }
        }
        return (common, ones);
    }
    for (w, &x) in s.iter().enumerate() {
        let f = l[w..].iter().step_by(width).fold(0, |acc, y| acc | y);
        common += (x & f).count_ones() as u64;
        ones += f.count_ones() as u64;
    }
    (common, ones)
}

/// [`folded_and_counts_plain`] compiled with POPCNT.
///
/// # Safety
/// The processor must support POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn folded_and_counts_popcnt(s: &[u64], l: &[u64]) -> (u64, u64) {
    folded_and_counts_plain(s, l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_exact() {
        let a: Vec<u32> = (0..100).collect();
        let b: Vec<u32> = (50..250).collect();
        let s = pair_stats(&a, &b);
        assert_eq!(s.intersection, 50);
        assert!((s.jaccard - 50.0 / 250.0).abs() < 1e-12);
        assert!((s.containment - 0.5).abs() < 1e-12);
        // The galloping path agrees with the merge path.
        let big: Vec<u32> = (0..10_000).map(|x| x * 3).collect();
        let small: Vec<u32> = vec![0, 3, 4, 9, 29_997, 30_000];
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
    fn sketches_bound_every_intersection_from_above() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state ^ (state >> 29)
        };
        let mut sets: Vec<Vec<u32>> = Vec::new();
        for round in 0..300 {
            // Sizes from empty to beyond one sketch size step; shared values drawn from a common pool so that pairs
            // overlap by any amount; every third set with its low bits skewed (multiples of 64), which crowds the
            // bitmaps and must only loosen the bound.
            let n = match round % 4 {
                0 => (next() % 8) as usize,
                1 => (next() % 300) as usize,
                _ => (next() % 5000) as usize,
            };
            let pool_share = next() % 101;
            let mut s: Vec<u32> = (0..n)
                .map(|_| if next() % 100 < pool_share { next() % 6000 } else { next() } as u32)
                .map(|v| if round % 3 == 0 { v << 6 } else { v })
                .collect();
            s.sort_unstable();
            s.dedup();
            sets.push(s);
        }
        let mut sketches = SetSketches::default();
        let mut memory = crate::dedup::MemorySets::default();
        for s in &sets {
            sketches.push(s);
            memory.push(s);
        }
        let docs: Vec<u32> = (0..sets.len() as u32).rev().collect();
        let built = SetSketches::of_sets(&memory, &docs).unwrap();
        for (k, &d) in docs.iter().enumerate() {
            assert_eq!(built.intersection_bound(k, k), sets[d as usize].len() as u64);
        }
        for a in 0..sets.len() {
            assert_eq!(sketches.set_len(a), sets[a].len());
            // A set against itself: the bound is its size.
            assert_eq!(sketches.intersection_bound(a, a), sets[a].len() as u64);
            for b in (0..sets.len()).step_by(7) {
                let exact = intersection_size(&sets[a], &sets[b]);
                let bound = sketches.intersection_bound(a, b);
                assert!(
                    bound >= exact,
                    "sets {a} ({}) and {b} ({}): bound {bound} < {exact}",
                    sets[a].len(),
                    sets[b].len()
                );
                assert!(bound <= sets[a].len().min(sets[b].len()) as u64);
                assert_eq!(bound, sketches.intersection_bound(b, a));
                let (ka, kb) = (sets.len() - 1 - a, sets.len() - 1 - b);
                assert_eq!(bound, built.intersection_bound(ka, kb), "built in parallel like pushed");
            }
        }
        // Two unrelated sets of 3,000 values: the bound is below the 1,862 common values that a Jaccard similarity
        // of 0.45 needs.
        let mut x: Vec<u32> = (0..3000).map(|_| next() as u32).collect();
        let mut y: Vec<u32> = (0..3000).map(|_| next() as u32).collect();
        x.sort_unstable();
        x.dedup();
        y.sort_unstable();
        y.dedup();
        let mut two = SetSketches::default();
        two.push(&x);
        two.push(&y);
        assert!(two.intersection_bound(0, 1) < 1862, "{}", two.intersection_bound(0, 1));
    }

    #[test]
    fn bitmap_counts_agree_on_every_path() {
        // Random bitmaps of the sketch sizes, the larger folded onto the smaller: every compiled path counts as the
        // plain code does.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (small, large) in
            [(1usize, 1usize), (1, 4), (2, 2), (8, 8), (8, 64), (16, 32), (64, 64), (64, 2048), (24, 48)]
        {
            // Dense, sparse and empty words.
            let word = |k: u64, r: u64| match k % 3 {
                0 => r,
                1 => r & (r >> 17) & (r >> 29),
                _ => 0,
            };
            let s: Vec<u64> = (0..small as u64).map(|k| word(k, next())).collect();
            let l: Vec<u64> = (0..large as u64).map(|k| word(k / 2, next())).collect();
            let plain = folded_and_counts_plain(&s, &l);
            assert_eq!(folded_and_counts(&s, &l), plain, "{small} {large}");
            if small == large {
                assert_eq!(and_count(&s, &l), and_count_plain(&s, &l));
                assert_eq!(plain.0, and_count_plain(&s, &l));
            }
            #[cfg(target_arch = "x86_64")]
            if has_avx512_popcount() {
                // SAFETY: the features are there (checked just above).
                unsafe {
                    assert_eq!(folded_and_counts_avx512(&s, &l), plain);
                    assert_eq!(and_count_avx512(&s, &s), and_count_plain(&s, &s));
                }
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: POPCNT is there (checked just above).
                unsafe {
                    assert_eq!(folded_and_counts_popcnt(&s, &l), plain);
                    assert_eq!(and_count_popcnt(&s, &s), and_count_plain(&s, &s));
                }
            }
        }
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
            // Sets up to 90 values, and every fourth round up to 400 (cut in two halves by the block merge); every
            // fifth round at the top of the value range (the blocks' last values compared unsigned).
            let most = if round % 4 == 0 { 400 } else { 90 };
            let (na, nb) = ((next() % most) as usize, (next() % most) as usize);
            let universe = 1 + (next() % 200) * (1 + round % 3);
            let base = if round % 5 == 0 { u32::MAX - universe as u32 } else { 0 };
            let mut a: Vec<u32> = (0..na).map(|_| base + (next() % universe) as u32).collect();
            let mut b: Vec<u32> = (0..nb).map(|_| base + (next() % universe) as u32).collect();
            a.sort_unstable();
            a.dedup();
            b.sort_unstable();
            b.dedup();
            let want = a.iter().filter(|x| b.contains(x)).count() as u64;
            assert_eq!(intersection_size(&a, &b), want, "{a:?} {b:?}");
            assert_eq!(intersection_size(&b, &a), want);
            assert_eq!(merge_at_least(&a, &b, 0, 0), Some(want));
            // With a bar: the count when it reaches the bar, else nothing, on every path.
            let small = a.len().min(b.len()) as u64;
            for bar in [0, want.saturating_sub(1), want, want + 1, want + 5, small / 2, small] {
                let expect = (want >= bar).then_some(want);
                assert_eq!(intersection_at_least(&a, &b, bar), expect, "bar {bar}");
                assert_eq!(merge_at_least(&a, &b, 0, bar), expect);
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt") {
                    // SAFETY: AVX2 and POPCNT are there.
                    assert_eq!(unsafe { intersection_at_least_avx2(&a, &b, bar) }, expect);
                    assert_eq!(unsafe { intersection_at_least_avx2(&b, &a, bar) }, expect);
                }
            }
        }
    }
}
