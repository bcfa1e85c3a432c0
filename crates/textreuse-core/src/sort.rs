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
    for x in items {
        let h = key(x);
        lo[((h >> lo_shift) & mask) as usize] += 1;
        hi[(h >> hi_shift) as usize] += 1;
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
            slots[lo[d] as usize].write(x);
            lo[d] += 1;
        }
    }
    // SAFETY: the counts of the low digits sum to `n`, so the scatter above initialized each of the first `n` slots.
    unsafe { tmp.set_len(n) };
    let mut out: Vec<T> = Vec::with_capacity(n);
    {
        let slots = &mut out.spare_capacity_mut()[..n];
        for &x in tmp.iter() {
            let d = (key(&x) >> hi_shift) as usize;
            slots[hi[d] as usize].write(x);
            hi[d] += 1;
        }
    }
    // SAFETY: as above, with the counts of the high digits.
    unsafe { out.set_len(n) };
    // Items whose keys share their top 2 × bits bits: insertion, or the standard sort past `n` moves.
    let v = &mut out[..];
    let mut moved = 0;
    for k in 1..n {
        let x = v[k];
        if v[k - 1] > x {
            let mut j = k;
            while j > 0 && v[j - 1] > x {
                v[j] = v[j - 1];
                j -= 1;
            }
            v[j] = x;
            moved += k - j;
            if moved > n {
                v.sort_unstable();
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minhash::mix64;

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
