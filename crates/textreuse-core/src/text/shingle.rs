//! Units and shingles.
//!
//! A **unit** is one Han, kana or Hangul character, or one word of a space-delimited script (a word segment of
//! Unicode Standard Annex #29, via the `unicode-segmentation` crate). A **shingle** is `n` consecutive units
//! (Broder 1997, "On the resemblance and containment of documents"), hashed to 64 bits with seeded XXH3, which is
//! stable across platforms and releases.

use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::normalize::is_cjk_unit;

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

/// Splits a normalized text into units, in order. Characters that are neither CJK units nor part of a word
/// (spaces, punctuation kept by the normalization) produce no unit.
pub fn units(text: &str) -> Vec<Unit> {
    let mut out = Vec::with_capacity(text.len() / 3 + 1);
    let mut pos: u32 = 0; // char index of `rest_start`
    let bytes = text.as_bytes();
    let mut i = 0usize; // byte index
    while i < bytes.len() {
        let c = text[i..].chars().next().expect("char boundary");
        if is_cjk_unit(c) {
            out.push(Unit { id: (c as u64) ^ CHAR_TAG, start: pos, end: pos + 1 });
            i += c.len_utf8();
            pos += 1;
            continue;
        }
        // A run of non-CJK text: segment it into words with UAX #29.
        let run_start = i;
        let mut j = i;
        while j < bytes.len() {
            let d = text[j..].chars().next().expect("char boundary");
            if is_cjk_unit(d) {
                break;
            }
            j += d.len_utf8();
        }
        let run = &text[run_start..j];
        if run.is_ascii() {
            ascii_words(run, pos, &mut out);
            pos += run.len() as u32;
        } else {
            let mut byte_cursor = 0usize;
            let mut char_cursor = pos;
            for (b, w) in run.unicode_word_indices() {
                char_cursor += run[byte_cursor..b].chars().count() as u32;
                let len = w.chars().count() as u32;
                out.push(Unit { id: xxh3_64(w.as_bytes()), start: char_cursor, end: char_cursor + len });
                char_cursor += len;
                byte_cursor = b + w.len();
            }
            pos = char_cursor + run[byte_cursor..].chars().count() as u32;
        }
        i = j;
    }
    out
}

/// Fast path for ASCII runs: words are maximal runs of ASCII letters and digits, with the apostrophes and
/// periods UAX #29 keeps inside words (`don't`, `3.14`).
fn ascii_words(run: &str, base: u32, out: &mut Vec<Unit>) {
    let b = run.as_bytes();
    let mut k = 0;
    while k < b.len() {
        if !b[k].is_ascii_alphanumeric() {
            k += 1;
            continue;
        }
        let s = k;
        while k < b.len()
            && (b[k].is_ascii_alphanumeric()
                || ((b[k] == b'\'' || b[k] == b'.' || b[k] == b',')
                    && k + 1 < b.len()
                    && b[k + 1].is_ascii_alphanumeric()
                    && (b[k] == b'\'' || (b[k - 1].is_ascii_digit() && b[k + 1].is_ascii_digit()))))
        {
            k += 1;
        }
        out.push(Unit { id: xxh3_64(&b[s..k]), start: base + s as u32, end: base + k as u32 });
    }
}

/// The set of shingle hashes of a unit sequence: every window of `n` consecutive units, hashed with `seed`,
/// sorted and de-duplicated. A text with fewer than `n` (but at least one) units yields one shingle of all its
/// units, so short texts still compare. `n` must be at least 1.
pub fn shingle_set(units: &[Unit], n: usize, seed: u64) -> Vec<u64> {
    let mut hs = shingle_hashes(units, n, seed);
    hs.sort_unstable();
    hs.dedup();
    hs
}

/// The shingle hashes of a unit sequence in text order (one per window of `n` units; see [`shingle_set`]).
pub fn shingle_hashes(units: &[Unit], n: usize, seed: u64) -> Vec<u64> {
    assert!(n >= 1, "ngram size must be at least 1");
    if units.is_empty() {
        return Vec::new();
    }
    let n = n.min(units.len());
    let mut buf = vec![0u8; 8 * n];
    let mut out = Vec::with_capacity(units.len() + 1 - n);
    for w in units.windows(n) {
        for (k, u) in w.iter().enumerate() {
            buf[8 * k..8 * k + 8].copy_from_slice(&u.id.to_le_bytes());
        }
        out.push(xxh3_64_with_seed(&buf, seed));
    }
    out
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
    fn equal_units_equal_ids() {
        let a = units("abc 中 abc");
        assert_eq!(a[0].id, a[2].id);
        assert_ne!(a[0].id, a[1].id);
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
