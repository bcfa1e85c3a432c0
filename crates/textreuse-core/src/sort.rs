//! Sorting of hashed keys.

/// `items`, sorted, for items that their `key` orders first (`key(x) < key(y)` implies `x < y`) and whose keys
/// are spread evenly over the 64 bits, as hashes are. A least-significant-digit radix sort on the keys' top
/// `2 × bits` bits (two counting passes of `bits` bits each, `bits` about `log2(n) - 1`, at most 11) leaves only
/// items whose keys share all of those bits out of order: a few per thousand, put in place by one insertion pass
/// whose branch is almost never taken. Linear time without a data-dependent branch per item, where sorting buckets
/// of a few items each mispredicted at every bucket and a comparison sort costs `n log n`. Any input sorts
/// correctly: once the insertion pass has moved more than `n` items (skewed keys), the rest is left to the standard
/// library's sort. `counts` and `tmp` are working memory.
pub(crate) fn sorted_by_top_bits<T: Copy + Ord>(
    items: &[T],
    key: impl Fn(&T) -> u64,
    counts: &mut Vec<u32>,
    tmp: &mut Vec<T>,
) -> Vec<T> {
    let mut out = by_top_bits(items, key, counts, tmp);
    insertion_pass(&mut out, 1, 0);
    out
}

/// [`sorted_by_top_bits`] of shingle hashes (the key is the value). With AVX-512F (detected at run time) the
/// insertion pass compares eight values with the eight before them at once and goes through them one by one only
/// where one is out of order (a few blocks per thousand values), where the loop over each value costs a compare
/// and a branch per value.
pub(crate) fn sorted_hashes(hashes: &[u64], counts: &mut Vec<u32>, tmp: &mut Vec<u64>) -> Vec<u64> {
    let mut out = by_top_bits(hashes, |&h| h, counts, tmp);
    #[cfg(target_arch = "x86_64")]
    if out.len() >= 9 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the processor has AVX-512F (checked just above).
        unsafe { insertion_pass_avx512(&mut out) };
        return out;
    }
    insertion_pass(&mut out, 1, 0);
    out
}

/// The insertion pass of [`sorted_hashes`] with AVX-512F, eight values at a time.
///
/// # Safety
/// The processor must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn insertion_pass_avx512(v: &mut [u64]) {
    use std::arch::x86_64::*;
    let n = v.len();
    let (mut k, mut moved) = (1, 0);
    while k + 8 <= n {
        // SAFETY: values `k - 1..k + 8` lie within `v` (`k >= 1`).
        let out_of_order = _mm512_cmpgt_epu64_mask(
            _mm512_loadu_si512(v.as_ptr().add(k - 1).cast()),
            _mm512_loadu_si512(v.as_ptr().add(k).cast()),
        );
        if out_of_order != 0 {
            for j in k..k + 8 {
                if !insert_at(v, j, &mut moved) {
                    return;
                }
            }
        }
        k += 8;
    }
    insertion_pass(v, k, moved);
}

/// Insertion sort's steps from `v[from]` on (`v[..from]` sorted, `moved` moves made so far, `from >= 1`), one value
/// at a time ([`insert_at`]).
fn insertion_pass<T: Copy + Ord>(v: &mut [T], from: usize, mut moved: usize) {
    for k in from..v.len() {
        if !insert_at(v, k, &mut moved) {
            return;
        }
    }
}

/// Insertion sort's step at `k` (`v[..k]` sorted): `v[k]` moved down to its place, the moves counted in `moved`.
/// Past `v.len()` moves in all (skewed keys) the whole of `v` is sorted by the standard library instead and this
/// returns `false`: no further step is needed.
#[inline(always)]
fn insert_at<T: Copy + Ord>(v: &mut [T], k: usize, moved: &mut usize) -> bool {
    let x = v[k];
    if v[k - 1] > x {
        let mut j = k;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
        *moved += k - j;
        if *moved > v.len() {
            v.sort_unstable();
            return false;
        }
    }
    true
}

/// The two counting passes of [`sorted_by_top_bits`], before its insertion pass: `items` ordered by the top
/// `2 × bits` bits of their keys (sorted outright below 64 items).
fn by_top_bits<T: Copy + Ord>(items: &[T], key: impl Fn(&T) -> u64, counts: &mut Vec<u32>, tmp: &mut Vec<T>) -> Vec<T> {
    let n = items.len();
    if n < 64 {
        let mut v = items.to_vec();
        v.sort_unstable();
        return v;
    }
    // `n` ≥ 64, so `bits` ≥ 5; 2 × 11 top bits leave ~n² / 2^23 keys sharing them (about 50 of 20,000).
    let bits = (usize::BITS - n.leading_zeros() - 2).min(11);
    let size = 1usize << bits;
    let mask = (size - 1) as u64;
    let (hi_shift, lo_shift) = (64 - bits, 64 - 2 * bits);
    // Counts of both digits in one pass, then the start of each digit's values; the scatters move each start on.
    counts.clear();
    counts.resize(2 * size, 0);
    let (lo, hi) = counts.split_at_mut(size);
    // Digits are below `size` (the low one masked, the high one the top `bits` bits): the counts are indexed
    // without bounds checks, as are the slots below (each digit's start plus its count so far is below `n`).
    for x in items {
        let h = key(x);
        // SAFETY: both digits are below `size`, the length of `lo` and of `hi`.
        unsafe {
            *lo.get_unchecked_mut(((h >> lo_shift) & mask) as usize) += 1;
            *hi.get_unchecked_mut((h >> hi_shift) as usize) += 1;
        }
    }
    let (mut lo_sum, mut hi_sum) = (0, 0);
    for (l, h) in lo.iter_mut().zip(hi.iter_mut()) {
        (*l, lo_sum) = (lo_sum, lo_sum + *l);
        (*h, hi_sum) = (hi_sum, hi_sum + *h);
    }
    // Each scatter writes every slot exactly once (the digit starts partition 0..n), so nothing is zeroed first;
    // the first orders by the low digit, the second, stable, by the high one.
    tmp.clear();
    tmp.reserve(n);
    {
        let slots = &mut tmp.spare_capacity_mut()[..n];
        for &x in items {
            let d = ((key(&x) >> lo_shift) & mask) as usize;
            // SAFETY: `d < size`; the low digits' starts plus their counts partition `0..n`, so the slot is below
            // `n`, the length of `slots`.
            unsafe {
                let at = lo.get_unchecked_mut(d);
                let slot = *at as usize;
                *at += 1;
                slots.get_unchecked_mut(slot).write(x);
            }
        }
    }
    // SAFETY: the counts of the low digits sum to `n`, so the scatter above initialized each of the first `n` slots.
    unsafe { tmp.set_len(n) };
    let mut out: Vec<T> = Vec::with_capacity(n);
    {
        let slots = &mut out.spare_capacity_mut()[..n];
        for &x in tmp.iter() {
            let d = (key(&x) >> hi_shift) as usize;
            // SAFETY: as above, with the high digits.
            unsafe {
                let at = hi.get_unchecked_mut(d);
                let slot = *at as usize;
                *at += 1;
                slots.get_unchecked_mut(slot).write(x);
            }
        }
    }
    // SAFETY: as above, with the counts of the high digits.
    unsafe { out.set_len(n) };
    out
}

/// Removes consecutive repeats from `v` (sorted, as a shingle set is before its repeats go), as `Vec::dedup` does:
/// with AVX-512 (detected at run time) eight values at a time, each compared with the one before it and the values
/// kept packed in one compress, where the standard loop branches on every value.
pub(crate) fn dedup_sorted(v: &mut Vec<u64>) {
    #[cfg(target_arch = "x86_64")]
    if v.len() >= 16 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the processor has AVX-512F (checked just above).
        unsafe { dedup_avx512(v) };
        return;
    }
    v.dedup();
}

/// [`dedup_sorted`] with AVX-512F. Blocks of eight are read in order; the values kept so far (`w`) are never more
/// than those read, so a block's compressed store, at `w`, ends at or before the next block's start and never
/// overwrites a value not yet read. The value before each block comes from the previous block's register, not from
/// memory (which the store may have changed).
///
/// # Safety
/// The processor must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dedup_avx512(v: &mut Vec<u64>) {
    use std::arch::x86_64::*;
    let n = v.len();
    let p = v.as_mut_ptr();
    // A block before the first whose last lane differs from the first value.
    let mut before = _mm512_set1_epi64(!*p as i64);
    let (mut i, mut w) = (0usize, 0usize);
    while i + 8 <= n {
        // SAFETY: values `i..i + 8` lie within `v`, and were not written yet (`w <= i`).
        let cur = _mm512_loadu_si512(p.add(i).cast());
        let prev = _mm512_alignr_epi64::<7>(cur, before);
        let keep = _mm512_cmpneq_epu64_mask(cur, prev);
        // SAFETY: `w + 8 <= i + 8 <= n`: the store lies within `v`.
        _mm512_storeu_si512(p.add(w).cast(), _mm512_maskz_compress_epi64(keep, cur));
        w += keep.count_ones() as usize;
        before = cur;
        i += 8;
    }
    // The rest one by one, against the last value read (memory before `i` may hold kept values by now).
    let mut lanes = [0u64; 8];
    _mm512_storeu_si512(lanes.as_mut_ptr().cast(), before);
    let mut last = lanes[7];
    while i < n {
        // SAFETY: `i < n`, and `w <= i`.
        let x = *p.add(i);
        if x != last {
            *p.add(w) = x;
            w += 1;
            last = x;
        }
        i += 1;
    }
    // SAFETY: the first `w` values were written (kept values), `w <= n`.
    v.set_len(w);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minhash::mix64;

    #[test]
    fn dedup_sorted_is_vec_dedup() {
        // Sorted values with runs of repeats of every length, around the blocks of eight.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for n in 0..200usize {
            for round in 0..20 {
                let mut v: Vec<u64> = Vec::with_capacity(n);
                let mut value = 0u64;
                while v.len() < n {
                    x = mix64(x);
                    value += x % 3;
                    let run = if round % 4 == 0 { 1 + (x >> 8) as usize % 12 } else { 1 + (x >> 8) as usize % 2 };
                    v.extend(std::iter::repeat_n(value, run.min(n - v.len())));
                }
                let mut want = v.clone();
                want.dedup();
                dedup_sorted(&mut v);
                assert_eq!(v, want, "{n} values, round {round}");
            }
        }
    }

    #[test]
    fn pairs_sort_by_key_then_value() {
        // (hash, document) pairs as a band's bucket keys are sorted: repeated keys (documents in one bucket) keep
        // the documents' order; some keys share their top bits, a few are skewed to the same top bits.
        let (mut counts, mut tmp) = (Vec::new(), Vec::new());
        for n in [0usize, 5, 63, 64, 100, 3_657, 50_000] {
            let items: Vec<(u64, u32)> = (0..n as u32)
                .map(|d| {
                    let k = match d % 10 {
                        0 => mix64(u64::from(d / 3)) | 1,
                        1 => 0xFFFF_FF00_0000_0000 | u64::from(d % 97),
                        _ => mix64(u64::from(d) + 17),
                    };
                    (k, d)
                })
                .collect();
            let mut want = items.clone();
            want.sort_unstable();
            assert_eq!(sorted_by_top_bits(&items, |x| x.0, &mut counts, &mut tmp), want, "{n} pairs");
            let mut reversed = items.clone();
            reversed.reverse();
            assert_eq!(sorted_by_top_bits(&reversed, |x| x.0, &mut counts, &mut tmp), want, "{n} pairs reversed");
        }
    }
}
