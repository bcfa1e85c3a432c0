//! Exact-substring deduplication across a corpus with a suffix array (Lee et al. 2022, "Deduplicating Training Data
//! Makes Language Models Better", the ExactSubstr method; Manber & Myers 1993 for suffix arrays; Kärkkäinen, Manzini
//! & Puglisi 2009 for the LCP array).
//!
//! Every document becomes a sequence of units ([`crate::align::UnitDoc`]: CJK characters and words after the
//! shared normalization), each unit a dense symbol (1, 2, ... in order of first appearance), and documents are
//! joined with the separator symbol 0. The suffix array of those symbols is built by libsais (Ilya
//! Grebnov's SA-IS implementation, Nong, Zhang & Chan 2009, on the integer alphabet), and the LCP array over symbols
//! comes from libsais's permuted LCP array, capped at document ends. Every maximal group of suffixes that share a prefix
//! of at least `min_length` units is a substring occurring more than once: its occurrence at the smallest position
//! (the first in input order) is kept, and every other occurrence is marked for its common length. Marked units are
//! merged into spans and mapped back to code points of the original texts.
//!
//! Memory: 12 bytes per unit while sorting (the unit text as libsais's `i32` text, the suffix array and the permuted
//! LCP array), then 16 bytes per unit (the suffix array, the LCP array and two marks), plus 16 bytes per unit of
//! offsets.
//! Everything is in memory. Corpora larger than memory are cut into consecutive shards of documents
//! (`shard_units` of the job's `SubstringsConfig`), each with its own suffix array; repeats across shards are then
//! not found (Lee et al. merge suffix arrays of shards for that; not done here).

use rustc_hash::FxHashMap;

use serde::Serialize;

use crate::align::UnitDoc;

/// A later occurrence of a repeated substring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateSpan {
    /// Index of the document (input order).
    pub doc: u32,
    /// Units `[unit_start, unit_end)` of the document.
    pub unit_start: u32,
    /// End unit (exclusive).
    pub unit_end: u32,
    /// Original code point span `[start, end)`.
    pub start: u32,
    /// End (exclusive).
    pub end: u32,
    /// Document of the kept (first) occurrence of the span's first unit.
    pub first_doc: u32,
    /// Original code point offset of that first occurrence.
    pub first_start: u32,
}

/// Finds every substring of at least `min_length` units that occurs more than once across `docs`, and returns the
/// later occurrences (all but the first in input order), merged into maximal spans per document, in input order.
pub fn find_duplicates(docs: &[UnitDoc], min_length: usize) -> Vec<DuplicateSpan> {
    let min_length = min_length.max(1) as u32;
    // Dense symbols, 1.., in order of first appearance; 0 separates documents.
    // FxHash: the keys are unit ids (hashes, or code points of CJK characters).
    let mut dict: FxHashMap<u64, u32> = FxHashMap::default();
    let total: usize = docs.iter().map(|d| d.len() + 1).sum();
    // The symbols as libsais's `i32` text, made once.
    let mut text: Vec<i32> = Vec::with_capacity(total);
    let mut doc_start: Vec<u32> = Vec::with_capacity(docs.len() + 1);
    for d in docs {
        doc_start.push(text.len() as u32);
        for &id in &d.ids {
            let next = dict.len() as u32 + 1;
            text.push(*dict.entry(id).or_insert(next) as i32);
        }
        text.push(0);
    }
    assert!(dict.len() < i32::MAX as usize, "fewer than 2^31 distinct units");
    doc_start.push(text.len() as u32);
    let n = text.len();
    if n < 2 {
        return Vec::new();
    }
    drop(dict);
    let (sa, lcp) = suffix_and_lcp_arrays(&mut text);
    drop(text);
    // Marks: for each unit position, the farthest end of a later occurrence starting there, and its first copy.
    let mut mark_end = vec![0u32; n];
    let mut mark_first = vec![u32::MAX; n];
    let mut k = 1usize;
    while k < n {
        if lcp[k] < min_length {
            k += 1;
            continue;
        }
        let (start, mut end) = (k - 1, k);
        while end + 1 < n && lcp[end + 1] >= min_length {
            end += 1;
        }
        let m = (start..=end).min_by_key(|&i| sa[i]).expect("non-empty group");
        let keep = sa[m];
        let mut run = u32::MAX;
        for i in m + 1..=end {
            run = run.min(lcp[i]);
            let p = sa[i] as usize;
            if p as u32 + run > mark_end[p] {
                mark_end[p] = p as u32 + run;
                mark_first[p] = keep;
            }
        }
        run = u32::MAX;
        for i in (start..m).rev() {
            run = run.min(lcp[i + 1]);
            let p = sa[i] as usize;
            if p as u32 + run > mark_end[p] {
                mark_end[p] = p as u32 + run;
                mark_first[p] = keep;
            }
        }
        k = end + 1;
    }
    drop(lcp);
    drop(sa);
    // Sweep the marks into maximal spans, per document.
    let mut out = Vec::new();
    let mut d = 0usize;
    let mut i = 0usize;
    while i < n {
        if mark_end[i] <= i as u32 {
            i += 1;
            continue;
        }
        let (s, first) = (i, mark_first[i]);
        let mut e = mark_end[i] as usize;
        let mut j = i + 1;
        while j < e {
            e = e.max(mark_end[j] as usize);
            j += 1;
        }
        while doc_start[d + 1] as usize <= s {
            d += 1;
        }
        let base = doc_start[d] as usize;
        let (us, ue) = (s - base, e - base);
        let fd = doc_start.partition_point(|&x| x <= first) - 1;
        let fu = first as usize - doc_start[fd] as usize;
        let (start, end) = docs[d].original_span(us, ue);
        out.push(DuplicateSpan {
            doc: d as u32,
            unit_start: us as u32,
            unit_end: ue as u32,
            start,
            end,
            first_doc: fd as u32,
            first_start: docs[fd].spans[fu].0,
        });
        i = e;
    }
    out
}

/// `text` without the code point ranges `spans` (sorted, disjoint).
pub fn remove_spans(text: &str, spans: &[(u32, u32)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    for (i, c) in text.chars().enumerate() {
        let i = i as u32;
        while k < spans.len() && spans[k].1 <= i {
            k += 1;
        }
        if k < spans.len() && spans[k].0 <= i {
            continue;
        }
        out.push(c);
    }
    out
}

/// The suffix array of `symbols` (positions of its suffixes in increasing order of the suffixes) and its LCP array
/// capped at separators (`lcp[k]`: the units that suffixes `sa[k - 1]` and `sa[k]` share before a mismatch or a 0;
/// `lcp[0]` = 0), by libsais: SA-IS on the integer alphabet of the symbols, then the permuted LCP array (Kärkkäinen,
/// Manzini & Puglisi 2009), capped at the first separator of each suffix. `symbols` are non-negative (libsais's `i32`
/// text; it has them back as they were); besides them, two arrays of their length.
///
/// # Panics
/// With 2^31 symbols or more, or a negative symbol.
fn suffix_and_lcp_arrays(symbols: &mut [i32]) -> (Vec<u32>, Vec<u32>) {
    let n = symbols.len();
    assert!(i32::try_from(n).is_ok(), "a shard of fewer than 2^31 units");
    let with_sa = libsais::SuffixArrayConstruction::for_text_mut(symbols)
        .in_owned_buffer32()
        .single_threaded()
        .run()
        .expect("libsais sorts a text of non-negative symbols");
    let (sa, mut plcp, _) = with_sa
        .plcp_construction()
        .single_threaded()
        .run()
        .expect("libsais finds the common prefixes of a suffix array it built")
        .into_parts();
    // A common prefix stops before the suffix's first separator (the other suffix has it at the same place).
    let mut next_zero = n;
    for i in (0..n).rev() {
        if symbols[i] == 0 {
            next_zero = i;
        }
        plcp[i] = plcp[i].min((next_zero - i) as i32);
    }
    let mut lcp: Vec<u32> = sa.iter().map(|&p| plcp[p as usize] as u32).collect();
    if let Some(first) = lcp.first_mut() {
        *first = 0;
    }
    (sa.into_iter().map(|p| p as u32).collect(), lcp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormalizeOptions;

    /// Kasai et al.'s LCP array (capped at separators) of the suffix array `sa` of `text`: the reference.
    fn kasai(text: &[u32], sa: &[u32]) -> Vec<u32> {
        let n = text.len();
        let mut rank = vec![0u32; n];
        for (k, &p) in sa.iter().enumerate() {
            rank[p as usize] = k as u32;
        }
        let mut lcp = vec![0u32; n];
        let mut h = 0usize;
        for i in 0..n {
            let r = rank[i] as usize;
            if r == 0 {
                h = 0;
                continue;
            }
            let j = sa[r - 1] as usize;
            while i + h < n && j + h < n && text[i + h] == text[j + h] && text[i + h] != 0 {
                h += 1;
            }
            lcp[r] = h as u32;
            h = h.saturating_sub(1);
        }
        lcp
    }

    #[test]
    fn suffix_and_lcp_arrays_are_the_sorted_suffixes_and_their_common_prefixes() {
        let mut rng = crate::testing::Rng(5);
        let mut next = |m: u64| rng.below(m);
        let mut long_prefixes = 0;
        for case in 0..300 {
            // Small alphabets (long repeats), separators (0) anywhere, large symbols now and then.
            let alphabet = 1 + next(8);
            let len = next(400) as usize;
            let text: Vec<u32> = (0..len)
                .map(|_| match next(20) {
                    0 => 0,
                    1 => 1_000_000 + next(3) as u32,
                    _ => 1 + next(alphabet) as u32,
                })
                .collect();
            let mut expected: Vec<u32> = (0..len as u32).collect();
            expected.sort_by(|&a, &b| text[a as usize..].cmp(&text[b as usize..]));
            let (sa, lcp) = suffix_and_lcp_arrays(&mut text.iter().map(|&x| x as i32).collect::<Vec<_>>());
            assert_eq!(sa, expected, "case {case}: {text:?}");
            assert_eq!(lcp, kasai(&text, &sa), "case {case}: {text:?}");
            long_prefixes += lcp.iter().filter(|&&h| h >= 3).count();
        }
        assert!(long_prefixes > 1000, "{long_prefixes} common prefixes of 3 units or more");
        // A text longer than libsais's threshold for extra buffer space (20,000 symbols): the arrays are the text's
        // length, and the suffixes in order.
        let text: Vec<u32> = (0..60_000).map(|_| if next(50) == 0 { 0 } else { 1 + next(3) as u32 }).collect();
        let (sa, lcp) = suffix_and_lcp_arrays(&mut text.iter().map(|&x| x as i32).collect::<Vec<_>>());
        assert_eq!((sa.len(), lcp.len()), (text.len(), text.len()));
        assert!(sa.windows(2).all(|w| text[w[0] as usize..] < text[w[1] as usize..]));
        assert_eq!(lcp, kasai(&text, &sa));
    }

    fn docs(texts: &[&str]) -> Vec<UnitDoc> {
        texts.iter().map(|t| UnitDoc::new(t, &NormalizeOptions::default())).collect()
    }

    #[test]
    fn finds_later_occurrences_exactly() {
        let shared = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉";
        let texts = [
            format!("开头一{shared}结尾一"),
            "完全不同的内容没有重复".to_string(),
            format!("前言二{shared}后记二{shared}"),
        ];
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let d = docs(&refs);
        let spans = find_duplicates(&d, 10);
        assert_eq!(spans.len(), 2, "{spans:?}");
        let chars: Vec<char> = texts[2].chars().collect();
        let text_of = |s: &DuplicateSpan| chars[s.start as usize..s.end as usize].iter().collect::<String>();
        // The first copy in doc 2 repeats doc 0's; the second copy repeats "二" + shared, whose first occurrence is
        // the first copy in doc 2 itself (doc 0 has "一" before it).
        assert!(spans.iter().all(|s| s.doc == 2));
        assert_eq!((text_of(&spans[0]), spans[0].first_doc, spans[0].first_start), (shared.to_string(), 0, 3));
        assert_eq!((text_of(&spans[1]), spans[1].first_doc, spans[1].first_start), (format!("二{shared}"), 2, 2));
        // Below the minimum length nothing is reported; the repeat does not cross document ends.
        assert!(find_duplicates(&d, 22).is_empty());
        assert_eq!(remove_spans("abcdef", &[(1, 3), (4, 5)]), "adf");
    }
}
