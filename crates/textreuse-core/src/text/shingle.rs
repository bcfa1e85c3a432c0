//! Units and shingles.
//!
//! A **unit** is one Han, kana or Hangul character, or one word of a space-delimited script (a word segment of
//! Unicode Standard Annex #29, via the `unicode-segmentation` crate). A **shingle** is a run of consecutive units
//! (Broder 1997, "On the resemblance and containment of documents"), hashed to 64 bits with seeded XXH3, which is
//! stable across platforms and releases.
//!
//! A word carries more text than a CJK character (five or six characters of English against one), so the length
//! of a shingle depends on the units it starts with ([`Ngram`]): `word_n` units from two words in a row, `n` units
//! otherwise (from a CJK character, or from a word followed by one: a number or a name in Chinese text). With one
//! `n` for both, English shingles of four words break at any OCR error in about 25 characters and noisy English
//! reprints fall below the Jaccard threshold. The rule is local (each window's length depends on its first two
//! units only), so two copies of a text cut the same shingles whatever else they hold.

use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::normalize::{decode_at, is_cjk_unit};

/// One unit of a normalized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// 64-bit id of the unit's text: equal texts have equal ids.
    pub id: u64,
    /// Start of the unit, in characters (code points) of the normalized text.
    pub start: u32,
    /// End (exclusive), in characters of the normalized text.
    pub end: u32,
}

/// Tag mixed into single-character unit ids so that they never equal the id of a hashed word.
const CHAR_TAG: u64 = 0x9E37_79B9_7F4A_7C15;

/// Whether a unit id is a CJK character's (`char ^ CHAR_TAG`) rather than a word's hash (a word hash passes with
/// probability 2^-43).
#[inline(always)]
fn is_cjk_id(id: u64) -> bool {
    (id ^ CHAR_TAG) < 0x11_0000
}

/// The code point of a single CJK character's unit id, or `None` for the id of a word (a hash): lets storage
/// keep a character's id in a few bytes ([`char_unit_id`] is the inverse).
#[inline]
pub fn unit_char(id: u64) -> Option<u32> {
    is_cjk_id(id).then_some((id ^ CHAR_TAG) as u32)
}

/// The unit id of the single CJK character with code point `c`, as [`units`] gives it (inverse of [`unit_char`]).
#[inline]
pub fn char_unit_id(c: u32) -> u64 {
    u64::from(c) ^ CHAR_TAG
}

/// Shingle lengths: `word_n` units for a shingle that starts with two words, `n` for any other (one that starts
/// with a CJK character, or with a word followed by a CJK character). Both at least 1. `Ngram::uniform(n)` is the
/// classic fixed-length shingle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ngram {
    /// Units per shingle that starts with a CJK character or with a word followed by one.
    pub n: usize,
    /// Units per shingle that starts with two words.
    pub word_n: usize,
}

impl Ngram {
    /// `n` units per shingle whatever unit it starts with.
    pub fn uniform(n: usize) -> Ngram {
        Ngram { n, word_n: n }
    }
}

impl From<usize> for Ngram {
    fn from(n: usize) -> Ngram {
        Ngram::uniform(n)
    }
}

/// Splits a normalized text into units, in order. Characters that are neither CJK units nor part of a word
/// (spaces, punctuation kept by the normalization) produce no unit.
pub fn units(text: &str) -> Vec<Unit> {
    let mut out = Vec::with_capacity(text.len() / 3 + 1);
    for_each_unit(text, |id, start, end| out.push(Unit { id, start, end }));
    out
}

/// Calls `emit(id, start, end)` for every unit of `text`, in order (positions in characters of `text`): what
/// [`units`] collects. A CJK character is a unit; a run of other characters is split into UAX #29 words, by
/// [`ascii_words`] when the run is ASCII.
///
/// A run with non-ASCII characters is cut first at every space that stands between two ASCII letters or digits:
/// UAX #29 puts a word boundary on both sides of such a space, and its rules look no further than the neighbouring
/// characters, which are a space or an end of text on both sides of the cut, so the pieces segment as the run
/// does. A piece of ASCII letters and digits only is one word; any other piece goes to `unicode-segmentation`.
#[inline]
fn for_each_unit(text: &str, mut emit: impl FnMut(u64, u32, u32)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut pos = 0usize; // byte offset
    let mut ci: u32 = 0; // character offset of `pos`
    while pos < n {
        if bytes[pos] >= 0x80 {
            let (c, len) = decode_at(bytes, pos);
            if is_cjk_unit(c) {
                emit((c as u64) ^ CHAR_TAG, ci, ci + 1);
                pos += len;
                ci += 1;
                continue;
            }
        }
        // A run of non-CJK text, up to the next CJK character.
        let (run_start, run_ci) = (pos, ci);
        let mut ascii = true;
        while pos < n {
            if bytes[pos] < 0x80 {
                pos += 1;
                ci += 1;
                continue;
            }
            let (d, len) = decode_at(bytes, pos);
            if is_cjk_unit(d) {
                break;
            }
            ascii = false;
            pos += len;
            ci += 1;
        }
        let run = &text[run_start..pos];
        if ascii {
            ascii_words(run, run_ci, &mut emit);
        } else {
            mixed_words(run, run_ci, &mut emit);
        }
    }
}

/// The UAX #29 words of a run with non-ASCII characters starting at character `base` (see [`for_each_unit`]).
fn mixed_words(run: &str, base: u32, emit: &mut impl FnMut(u64, u32, u32)) {
    let b = run.as_bytes();
    let mut piece_start = 0usize;
    let mut piece_ci = base;
    let mut ci = base;
    let mut k = 0usize;
    while k <= b.len() {
        let cut = k == b.len()
            || (b[k] == b' '
                && k > 0
                && k + 1 < b.len()
                && b[k - 1].is_ascii_alphanumeric()
                && b[k + 1].is_ascii_alphanumeric());
        if cut {
            let piece = &run[piece_start..k];
            if !piece.is_empty() && piece.bytes().all(|x| x.is_ascii_alphanumeric()) {
                emit(xxh3_64(piece.as_bytes()), piece_ci, ci);
            } else {
                let mut byte_cursor = 0usize;
                let mut char_cursor = piece_ci;
                for (bi, w) in piece.unicode_word_indices() {
                    char_cursor += piece[byte_cursor..bi].chars().count() as u32;
                    let len = w.chars().count() as u32;
                    emit(xxh3_64(w.as_bytes()), char_cursor, char_cursor + len);
                    char_cursor += len;
                    byte_cursor = bi + w.len();
                }
            }
            if k == b.len() {
                break;
            }
            // Past the space.
            piece_start = k + 1;
            ci += 1;
            piece_ci = ci;
            k += 1;
            continue;
        }
        if (b[k] as i8) >= -0x40 {
            ci += 1;
        }
        k += 1;
    }
}

/// ASCII letters and digits, by byte.
static ASCII_ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    t
};

/// Fast path for ASCII runs: words are maximal runs of ASCII letters and digits, with the apostrophes and
/// periods UAX #29 keeps inside words (`don't`, `3.14`).
fn ascii_words(run: &str, base: u32, emit: &mut impl FnMut(u64, u32, u32)) {
    let b = run.as_bytes();
    let mut k = 0;
    while k < b.len() {
        if !ASCII_ALNUM[b[k] as usize] {
            k += 1;
            continue;
        }
        let s = k;
        loop {
            while k < b.len() && ASCII_ALNUM[b[k] as usize] {
                k += 1;
            }
            // An apostrophe between a letter or digit and another, or a period or comma between two digits,
            // stays inside the word.
            let joins = k + 1 < b.len()
                && ASCII_ALNUM[b[k + 1] as usize]
                && (b[k] == b'\''
                    || ((b[k] == b'.' || b[k] == b',') && b[k - 1].is_ascii_digit() && b[k + 1].is_ascii_digit()));
            if !joins {
                break;
            }
            k += 1;
        }
        emit(xxh3_64(&b[s..k]), base + s as u32, base + k as u32);
    }
}

/// The set of shingle hashes of a unit sequence: every window of consecutive units (`n.word_n` of them from two
/// words in a row, else `n.n`; a plain `usize` is both), hashed with `seed`, sorted and de-duplicated. A
/// text too short for any window (but with at least one unit) yields one shingle of all its units, so short texts
/// still compare. Lengths must be at least 1.
pub fn shingle_set(units: &[Unit], n: impl Into<Ngram>, seed: u64) -> Vec<u64> {
    let mut hs = sort_hashes(&shingle_hashes(units, n, seed), &mut Vec::new());
    hs.dedup();
    hs
}

/// The shingle hashes of a unit sequence in text order (one per window; see [`shingle_set`]).
pub fn shingle_hashes(units: &[Unit], n: impl Into<Ngram>, seed: u64) -> Vec<u64> {
    let mut ids = Vec::with_capacity(8 * units.len());
    for u in units {
        ids.extend_from_slice(&u.id.to_le_bytes());
    }
    let mut out = Vec::new();
    window_hashes_into(&ids, n.into(), seed, &mut out);
    out
}

/// Working memory of [`shingle_set_of_text`], reused from one document to the next.
#[derive(Debug, Default, Clone)]
pub struct ShingleBuffers {
    /// Unit ids as little-endian bytes.
    ids: Vec<u8>,
    /// Shingle hashes before sorting.
    hashes: Vec<u64>,
    /// Bucket boundaries of the sort.
    buckets: Vec<u32>,
}

/// The shingle set of a normalized text: equal to `shingle_set(&units(text), n, seed)`, computed in one pass
/// without building the units. Passing the same `buf` for every document saves allocations.
/// `n` is a [`Ngram`] or a `usize` (the same length from any unit).
///
/// ```
/// use textreuse_core::text::shingle::{shingle_set, shingle_set_of_text, units, ShingleBuffers};
/// let text = "图书馆 met putin 2025年";
/// assert_eq!(shingle_set_of_text(text, 4, 7, &mut ShingleBuffers::default()), shingle_set(&units(text), 4, 7));
/// ```
pub fn shingle_set_of_text(text: &str, n: impl Into<Ngram>, seed: u64, buf: &mut ShingleBuffers) -> Vec<u64> {
    let ids = &mut buf.ids;
    ids.clear();
    for_each_unit(text, |id, _, _| ids.extend_from_slice(&id.to_le_bytes()));
    buf.hashes.clear();
    window_hashes_into(ids, n.into(), seed, &mut buf.hashes);
    let mut set = sort_hashes(&buf.hashes, &mut buf.buckets);
    set.dedup();
    set
}

/// `hashes`, sorted. Shingle hashes are uniformly distributed, so one counting pass over their top bits spreads
/// them into about `n / 4` buckets in order, and each bucket is sorted on its own (a few values by insertion):
/// linear time, where a comparison sort costs `n log n`. Any input sorts correctly; skewed input only costs more.
/// `buckets` is working memory.
fn sort_hashes(hashes: &[u64], buckets: &mut Vec<u32>) -> Vec<u64> {
    let n = hashes.len();
    if n < 64 {
        let mut v = hashes.to_vec();
        v.sort_unstable();
        return v;
    }
    let bits = (usize::BITS - (n / 4).leading_zeros()).min(16);
    let shift = 64 - bits;
    // Counts, then the start of each bucket; the scatter moves each start to the bucket's end.
    buckets.clear();
    buckets.resize(1 << bits, 0);
    for &h in hashes {
        buckets[(h >> shift) as usize] += 1;
    }
    let mut sum = 0;
    for b in buckets.iter_mut() {
        (*b, sum) = (sum, sum + *b);
    }
    let mut out = vec![0u64; n];
    for &h in hashes {
        let b = (h >> shift) as usize;
        out[buckets[b] as usize] = h;
        buckets[b] += 1;
    }
    let mut start = 0;
    for &end in buckets.iter() {
        let bucket = &mut out[start as usize..end as usize];
        start = end;
        if bucket.len() <= 16 {
            for k in 1..bucket.len() {
                let x = bucket[k];
                let mut j = k;
                while j > 0 && bucket[j - 1] > x {
                    bucket[j] = bucket[j - 1];
                    j -= 1;
                }
                bucket[j] = x;
            }
        } else {
            bucket.sort_unstable();
        }
    }
    out
}

/// The hash of every window of consecutive unit ids, given as their concatenated little-endian bytes: seeded XXH3
/// of the window's bytes; a window is `n.word_n` units from two words in a row and `n.n` otherwise, and windows
/// that would run past the end are not cut. When no window fits, one hash of all the units (if any).
fn window_hashes_into(ids: &[u8], n: Ngram, seed: u64, out: &mut Vec<u64>) {
    assert!(n.n >= 1 && n.word_n >= 1, "ngram size must be at least 1");
    let m = ids.len() / 8;
    if m == 0 {
        return;
    }
    if n.n == n.word_n {
        let n = n.n.min(m);
        out.extend((0..=m - n).map(|k| xxh3_64_with_seed(&ids[8 * k..8 * (k + n)], seed)));
        return;
    }
    let before = out.len();
    let mut cjk_tail = m.saturating_sub(n.n - 1); // windows from a CJK character start before this
    let mut word_tail = m.saturating_sub(n.word_n - 1);
    if n.n > m {
        cjk_tail = 0;
    }
    if n.word_n > m {
        word_tail = 0;
    }
    let cjk_at = |k: usize| k < m && is_cjk_id(u64::from_le_bytes(ids[8 * k..8 * k + 8].try_into().expect("8 bytes")));
    for k in 0..cjk_tail.max(word_tail) {
        // A word among CJK characters (a number, a name in Chinese text) starts a CJK-length window.
        let words = !cjk_at(k) && !cjk_at(k + 1);
        let (len, tail) = if words { (n.word_n, word_tail) } else { (n.n, cjk_tail) };
        if k < tail {
            out.push(xxh3_64_with_seed(&ids[8 * k..8 * (k + len)], seed));
        }
    }
    if out.len() == before {
        out.push(xxh3_64_with_seed(ids, seed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_texts(t: &str) -> Vec<String> {
        let chars: Vec<char> = t.chars().collect();
        units(t).iter().map(|u| chars[u.start as usize..u.end as usize].iter().collect()).collect()
    }

    #[test]
    fn cjk_characters_and_words() {
        assert_eq!(unit_texts("图书馆 met putin"), ["图", "书", "馆", "met", "putin"]);
        assert_eq!(unit_texts("2025年5月"), ["2025", "年", "5", "月"]);
        assert_eq!(unit_texts("don't 3.14 a.b"), ["don't", "3.14", "a", "b"]);
        assert_eq!(unit_texts("café über 東京タワー"), ["café", "über", "東", "京", "タ", "ワ", "ー"]);
    }

    #[test]
    fn shingle_length_follows_the_first_unit() {
        let n = Ngram { n: 4, word_n: 2 };
        // Pure CJK text: the classic 4-character shingles, whatever word_n is.
        let zh = units("国家主席会见外国元首");
        assert_eq!(shingle_hashes(&zh, n, 7), shingle_hashes(&zh, 4, 7));
        // Pure English: word bigrams.
        let en = units("the quick brown fox jumps");
        assert_eq!(shingle_hashes(&en, n, 7), shingle_hashes(&en, 2, 7));
        // Mixed: 2 units from two words in a row, else 4; windows running past the end are not cut.
        let mixed = units("2025年5月 putin met 会见");
        let ids: Vec<u8> = mixed.iter().flat_map(|u| u.id.to_le_bytes()).collect();
        let h = |a: usize, b: usize| xxh3_64_with_seed(&ids[8 * a..8 * b], 7);
        // units: 2025 年 5 月 putin met 会 见
        let want = vec![h(0, 4), h(1, 5), h(2, 6), h(3, 7), h(4, 6)];
        assert_eq!(shingle_hashes(&mixed, n, 7), want);
        // Too short for any window: one shingle of all units, as with a uniform length.
        let short = units("会见 xi");
        assert_eq!(shingle_hashes(&short, Ngram { n: 4, word_n: 3 }, 7), shingle_hashes(&short, 4, 7));
        let mut buf = ShingleBuffers::default();
        for t in ["2025年5月 putin met 会见", "the quick brown fox", "会见 xi", "", "国家主席"] {
            assert_eq!(shingle_set_of_text(t, n, 9, &mut buf), shingle_set(&units(t), n, 9), "{t}");
        }
    }

    #[test]
    fn noisy_english_copies_share_more_word_bigrams() {
        // One letter lost in every fifth word (OCR): 4-word shingles mostly break, word bigrams mostly survive.
        let a = "the council met on monday to discuss the new bridge across the river and voted to raise \
                 the money needed for the work before the end of the year said the mayor";
        let b = "the council met on mnday to discuss the new bridge acros the river and voted to raise \
                 the mney needed for the work before the end of the yar said the mayor";
        let jac = |n: Ngram| {
            let (x, y) = (shingle_set(&units(a), n, 1), shingle_set(&units(b), n, 1));
            crate::verify::pair_stats(&x, &y).jaccard
        };
        let (four, pairs) = (jac(Ngram::uniform(4)), jac(Ngram { n: 4, word_n: 2 }));
        assert!(four < 0.45 && pairs > 0.45, "4 words {four}, 2 words {pairs}");
    }

    #[test]
    fn equal_units_equal_ids() {
        let a = units("abc 中 abc");
        assert_eq!(a[0].id, a[2].id);
        assert_ne!(a[0].id, a[1].id);
    }

    #[test]
    fn bucket_sort_sorts() {
        for n in [0usize, 1, 63, 64, 65, 1000, 5000, 70_000] {
            let mut x = 0x1234_5678_9abc_def0u64;
            let mut v: Vec<u64> = (0..n)
                .map(|i| {
                    x = crate::minhash::mix64(x.wrapping_add(i as u64));
                    // Some skew and many repeats too.
                    if i % 7 == 0 {
                        x >> 20
                    } else if i % 5 == 0 {
                        42
                    } else {
                        x
                    }
                })
                .collect();
            let sorted = sort_hashes(&v, &mut Vec::new());
            v.sort_unstable();
            assert_eq!(sorted, v);
        }
    }

    #[test]
    fn shingles_count_and_short_texts() {
        let u = units("一二三四五六七");
        assert_eq!(shingle_hashes(&u, 5, 1).len(), 3);
        assert_eq!(shingle_set(&units("一二"), 5, 1).len(), 1);
        assert!(shingle_set(&[], 5, 1).is_empty());
        // Seeds change hashes; the same seed reproduces them.
        assert_ne!(shingle_hashes(&u, 5, 1), shingle_hashes(&u, 5, 2));
        assert_eq!(shingle_hashes(&u, 5, 1), shingle_hashes(&u, 5, 1));
    }
}
