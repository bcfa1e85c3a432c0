//! Repeated text inside one document: repeated lines, paragraphs and passages, the Gopher repetition measures, and
//! stripping of later copies.
//!
//! - **Lines** are split on `\n`; **paragraphs** are blocks separated by blank lines (Rae et al. 2021, "Scaling
//!   Language Models: Methods, Analysis & Insights from Training Gopher", appendix A, whose repetition filter splits
//!   on `\n` and `\n\n`). Two lines or paragraphs are copies when their normalized texts are equal
//!   ([`crate::normalize`]: script, width, case, whitespace and punctuation do not matter).
//! - **Passages**: maximal runs of at least `min_length` units that occur again later in the document, found from
//!   repeated windows of `min_length` units at a constant distance; they catch copies that do not follow line or
//!   paragraph boundaries (a paragraph extracted twice in part).
//! - **Measures** (Gopher, adapted to CJK units: a unit is a CJK character or a word): the fraction of lines and
//!   paragraphs that repeat an earlier one, and the fraction of characters in them; for n = 2..4 the fraction of
//!   characters in the most frequent n-gram of units; for n = 5..10 the fraction of characters in n-grams that
//!   occur again. Characters are counted in units' normalized characters.
//!
//! Offsets are Unicode code points of the original text, half-open `[start, end)`.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::align::UnitDoc;
use crate::normalize::{normalize, normalize_text_into, NormalizeOptions};
use crate::shingle::window_fingerprints;

/// Settings of repeat detection.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RepeatConfig {
    /// Normalization used to compare lines, paragraphs and units.
    pub normalize: NormalizeOptions,
    /// Shortest repeated passage, in units. Shorter repeats (a title quoted twice, a name) are ordinary writing.
    pub min_length: usize,
}

impl Default for RepeatConfig {
    fn default() -> Self {
        RepeatConfig { normalize: NormalizeOptions::default(), min_length: 50 }
    }
}

/// What kind of text repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepeatKind {
    /// A paragraph (a block between blank lines) equal to an earlier one.
    Paragraph,
    /// A line equal to an earlier one, outside repeated paragraphs.
    Line,
    /// A run of units equal to an earlier run, not covered by repeated paragraphs.
    Passage,
}

/// One later copy of repeated text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    /// Start of this copy, in code points of the original text.
    pub start: u32,
    /// End of this copy (exclusive).
    pub end: u32,
    /// How many times the text stands in the document, this copy included.
    pub count: u32,
    /// Start of the first copy.
    pub first_start: u32,
    /// Paragraph, line or passage.
    pub kind: RepeatKind,
}

/// Gopher repetition measures of one document, in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatMetrics {
    /// Lines that repeat an earlier line, over all non-empty lines.
    pub dup_line_frac: f64,
    /// Characters in those lines, over characters of all non-empty lines.
    pub dup_line_char_frac: f64,
    /// Paragraphs that repeat an earlier paragraph, over all non-empty paragraphs.
    pub dup_para_frac: f64,
    /// Characters in those paragraphs, over characters of all non-empty paragraphs.
    pub dup_para_char_frac: f64,
    /// For n = 2..4: characters of the most frequent n-gram of units times its count, over all unit characters.
    pub top_ngram_char_frac: BTreeMap<String, f64>,
    /// For n = 5..10: characters of units inside n-grams that occur again, over all unit characters.
    pub dup_ngram_char_frac: BTreeMap<String, f64>,
}

/// Repeats and measures of one document.
#[derive(Debug, Clone, Serialize)]
pub struct RepeatReport {
    /// The measures.
    pub metrics: RepeatMetrics,
    /// Every later copy, sorted by start.
    pub repeats: Vec<Repeat>,
}

/// A block of the original text: its code point span and normalized key.
struct Block {
    start: u32,
    end: u32,
    key: String,
}

/// Splits `text` into lines (`blank_separated` false) or blank-line separated paragraphs (true), with code point
/// spans that exclude the separators; blocks whose normalized text is empty are left out.
fn blocks(text: &str, blank_separated: bool, opts: &NormalizeOptions) -> Vec<Block> {
    let mut out = Vec::new();
    let mut start: Option<u32> = None;
    let mut end = 0u32;
    let mut content = String::new();
    // The script conversion's working space, for every block (the keys need no offset map).
    let mut scratch = String::new();
    let mut flush = |start: &mut Option<u32>, end: u32, content: &mut String| {
        if let Some(s) = start.take() {
            let mut key = String::new();
            normalize_text_into(content, opts, &mut key, &mut scratch);
            if !key.is_empty() {
                out.push(Block { start: s, end, key });
            }
        }
        content.clear();
    };
    let mut pos = 0u32;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let body_len = body.chars().count() as u32;
        // The line end: `\n` and `\r` only, a byte each.
        let n = body_len + (line.len() - body.len()) as u32;
        if body.trim().is_empty() {
            flush(&mut start, end, &mut content);
        } else {
            if !blank_separated {
                flush(&mut start, end, &mut content);
            }
            if start.is_none() {
                start = Some(pos);
            } else {
                content.push('\n');
            }
            content.push_str(body);
            end = pos + body_len;
        }
        pos += n;
    }
    flush(&mut start, end, &mut content);
    out
}

/// Later copies among blocks, and the duplicate fraction and character fraction.
fn block_repeats(bs: &[Block], kind: RepeatKind) -> (Vec<Repeat>, f64, f64) {
    let mut groups: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (k, b) in bs.iter().enumerate() {
        groups.entry(b.key.as_str()).or_default().push(k);
    }
    let mut out = Vec::new();
    let (mut dup, mut dup_chars, mut chars) = (0usize, 0usize, 0usize);
    for b in bs {
        chars += b.key.chars().count();
    }
    for members in groups.values() {
        if members.len() < 2 {
            continue;
        }
        let first = &bs[members[0]];
        for &k in &members[1..] {
            dup += 1;
            dup_chars += bs[k].key.chars().count();
            out.push(Repeat {
                start: bs[k].start,
                end: bs[k].end,
                count: members.len() as u32,
                first_start: first.start,
                kind,
            });
        }
    }
    let frac = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (out, frac(dup, bs.len()), frac(dup_chars, chars))
}

/// Passage repeats: maximal runs of windows of `w` units that stand again `d` units later; each later copy with the
/// number of runs that overlap its first copy by more than half (itself included) plus one as its count.
/// O(n log n) in the document's units.
fn passage_repeats(doc: &UnitDoc, w: usize) -> Vec<Repeat> {
    let runs = repeat_runs(doc, w);
    let copies = overlapping_runs(&runs);
    runs.iter()
        .zip(copies)
        .map(|(&(p0, p1, d), copies)| {
            let (s, e) = doc.original_span((p0 + d) as usize, (p1 + d) as usize);
            Repeat {
                start: s,
                end: e,
                count: copies + 1,
                first_start: doc.spans[p0 as usize].0,
                kind: RepeatKind::Passage,
            }
        })
        .collect()
}

/// Maximal runs `(first unit start, first unit end, distance)` of windows of `w` units whose first occurrence stands
/// again `distance ≥ w` units later, sorted by distance then start.
///
/// Windows are found again by their rolling fingerprints ([`window_fingerprints`]: O(1) per window, where hashing
/// each window anew cost O(w)), and a window counts as a copy only when its ids equal those of the first window with
/// its fingerprint.
fn repeat_runs(doc: &UnitDoc, w: usize) -> Vec<(u32, u32, u32)> {
    let ids = &doc.ids;
    let prints = window_fingerprints(ids, w);
    // FxHash: the keys are hashes already.
    let mut first: FxHashMap<(u64, u64), u32> = FxHashMap::with_capacity_and_hasher(prints.len(), Default::default());
    let mut later: Vec<(u32, u32)> = Vec::new(); // (distance, first position)
    for (q, print) in prints.into_iter().enumerate() {
        match first.get(&print) {
            Some(&p) => {
                let p = p as usize;
                if q - p >= w && ids[p..p + w] == ids[q..q + w] {
                    later.push(((q - p) as u32, p as u32));
                }
            }
            None => {
                first.insert(print, q as u32);
            }
        }
    }
    later.sort_unstable();
    later.chunk_by(|x, y| x.0 == y.0 && y.1 == x.1 + 1).map(|g| (g[0].1, g[g.len() - 1].1 + w as u32, g[0].0)).collect()
}

/// For each run `x`, how many runs `r` (`x` included) overlap `x`'s span by more than half its length, in
/// O(R log R) for R runs.
///
/// With `t = ⌊len(x) / 2⌋ + 1`, `overlap(r, x) ≥ t` holds exactly when `len(r) ≥ t`, `r.start ≤ x.end − t` and
/// `r.end ≥ x.start + t`. Among runs of length at least `t`, a run that ends before `x.start + t` starts before
/// `x.start ≤ x.end − t`, so the count is `#{r.start ≤ x.end − t} − #{r.end < x.start + t}` over those runs:
/// two Fenwick trees, filled in order of decreasing length while the queries go in order of decreasing `t`.
fn overlapping_runs(runs: &[(u32, u32, u32)]) -> Vec<u32> {
    let n = runs.len();
    let len = |k: usize| runs[k].1 - runs[k].0;
    let mut starts: Vec<u32> = runs.iter().map(|r| r.0).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut ends: Vec<u32> = runs.iter().map(|r| r.1).collect();
    ends.sort_unstable();
    ends.dedup();
    let mut by_len: Vec<usize> = (0..n).collect();
    by_len.sort_unstable_by_key(|&k| std::cmp::Reverse(len(k)));
    let mut queries: Vec<(u32, usize)> = (0..n).map(|k| (len(k) / 2 + 1, k)).collect();
    queries.sort_unstable_by_key(|&(t, k)| (std::cmp::Reverse(t), k));
    let (mut by_start, mut by_end) = (Fenwick::new(starts.len()), Fenwick::new(ends.len()));
    let mut inserted = 0;
    let mut out = vec![0u32; n];
    for (t, k) in queries {
        while inserted < n && len(by_len[inserted]) >= t {
            let r = runs[by_len[inserted]];
            by_start.add(starts.partition_point(|&v| v < r.0));
            by_end.add(ends.partition_point(|&v| v < r.1));
            inserted += 1;
        }
        let (x0, x1, _) = runs[k];
        let start_at_most = by_start.prefix(starts.partition_point(|&v| v <= x1 - t));
        let end_before = by_end.prefix(ends.partition_point(|&v| v < x0 + t));
        out[k] = start_at_most - end_before;
    }
    out
}

/// A Fenwick (binary indexed) tree of counts.
struct Fenwick(Vec<u32>);

impl Fenwick {
    fn new(n: usize) -> Fenwick {
        Fenwick(vec![0; n + 1])
    }
    /// Adds one at index `i` (from 0).
    fn add(&mut self, i: usize) {
        let mut i = i + 1;
        while i < self.0.len() {
            self.0[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    /// The sum of indices `0..i`.
    fn prefix(&self, i: usize) -> u32 {
        let (mut i, mut sum) = (i, 0);
        while i > 0 {
            sum += self.0[i];
            i &= i - 1;
        }
        sum
    }
}

/// The union of intervals, for the covered length of any span in O(log n).
struct Coverage {
    /// Disjoint, sorted.
    merged: Vec<(u32, u32)>,
    /// `prefix[i]`: total length of `merged[..i]`.
    prefix: Vec<u64>,
}

impl Coverage {
    fn new(intervals: &[(u32, u32)]) -> Coverage {
        let mut sorted = intervals.to_vec();
        sorted.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::new();
        for (a, b) in sorted.into_iter().filter(|(a, b)| b > a) {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut prefix = Vec::with_capacity(merged.len() + 1);
        prefix.push(0u64);
        for &(a, b) in &merged {
            prefix.push(prefix[prefix.len() - 1] + (b - a) as u64);
        }
        Coverage { merged, prefix }
    }

    /// Length of `[s, e)` covered by the intervals.
    fn covered(&self, s: u32, e: u32) -> u32 {
        let i = self.merged.partition_point(|m| m.1 <= s);
        let j = self.merged.partition_point(|m| m.0 < e);
        if s >= e || i >= j {
            return 0;
        }
        let total = self.prefix[j] - self.prefix[i];
        let front = s.saturating_sub(self.merged[i].0) as u64;
        let back = self.merged[j - 1].1.saturating_sub(e) as u64;
        (total - front - back) as u32
    }
}

/// The Gopher n-gram measures of a document's units: for n = 2..4 the characters of the most frequent n-gram
/// (ties to the one found first) times its count, for n = 5..10 the characters of the units inside n-grams found
/// again earlier, each over all the units' characters (`unit_chars`), rounded to four decimals.
///
/// The n-grams are told apart by their units: `first[i]`, the first position of the n-gram at `i`, goes from n to
/// n + 1 by the unit after it (an (n+1)-gram is an n-gram and one more unit), and only at positions whose n-gram
/// occurs more than once (a unique n-gram starts a unique (n+1)-gram). So the units are hashed once, and each longer
/// n looks at the fewer positions that still repeat, where hashing every window for every n cost nine passes.
fn ngram_measures(doc: &UnitDoc, unit_chars: &[u32]) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let ids = &doc.ids;
    let m = ids.len();
    let total: u64 = unit_chars.iter().map(|&c| c as u64).sum();
    let (mut top, mut dup) = (BTreeMap::new(), BTreeMap::new());
    // n = 1: the first position of each unit id (FxHash: the ids are hashes or code points already).
    let mut units: FxHashMap<u64, u32> = FxHashMap::with_capacity_and_hasher(m, Default::default());
    let mut first: Vec<u32> = ids.iter().enumerate().map(|(i, &id)| *units.entry(id).or_insert(i as u32)).collect();
    drop(units);
    // `count[j]`: the occurrences of the n-gram first found at `j`.
    let mut count = vec![0u32; m];
    first.iter().for_each(|&f| count[f as usize] += 1);
    let mut longer: FxHashMap<(u32, u64), u32> = FxHashMap::default();
    let mut next_count = vec![0u32; m];
    for n in 2..=10usize {
        let mut value = 0.0;
        if m >= n {
            // From the (n-1)-grams to the n-grams at positions 0..len.
            let len = m + 1 - n;
            longer.clear();
            longer.reserve(len);
            next_count[..len].fill(0);
            for i in 0..len {
                let f = first[i];
                first[i] = if count[f as usize] < 2 {
                    i as u32
                } else {
                    *longer.entry((f, ids[i + n - 1])).or_insert(i as u32)
                };
                next_count[first[i] as usize] += 1;
            }
            first.truncate(len);
            std::mem::swap(&mut count, &mut next_count);
            if total > 0 {
                if n <= 4 {
                    let best =
                        (0..len).filter(|&i| first[i] == i as u32).max_by_key(|&i| (count[i], std::cmp::Reverse(i)));
                    if let Some(i) = best.filter(|&i| count[i] > 1) {
                        let chars: u64 = unit_chars[i..i + n].iter().map(|&x| x as u64).sum();
                        value = (chars * count[i] as u64) as f64 / total as f64;
                    }
                } else {
                    let mut marked = vec![false; m];
                    for i in (0..len).filter(|&i| first[i] != i as u32) {
                        marked[i..i + n].iter_mut().for_each(|x| *x = true);
                    }
                    let chars: u64 = marked.iter().zip(unit_chars).filter(|(x, _)| **x).map(|(_, &c)| c as u64).sum();
                    value = chars as f64 / total as f64;
                }
            }
        }
        put_measure(n, value, &mut top, &mut dup);
    }
    (top, dup)
}

/// Files the measure of n-grams of `n` units, rounded to four decimals and at most 1: among the top n-gram measures
/// for n ≤ 4, else among the duplicate n-gram measures.
fn put_measure(n: usize, value: f64, top: &mut BTreeMap<String, f64>, dup: &mut BTreeMap<String, f64>) {
    let v = (value.min(1.0) * 1e4).round() / 1e4;
    if n <= 4 {
        top.insert(n.to_string(), v);
    } else {
        dup.insert(n.to_string(), v);
    }
}

/// Finds the repeated lines, paragraphs and passages of `text` and its Gopher repetition measures.
pub fn analyze(text: &str, cfg: &RepeatConfig) -> RepeatReport {
    let paras = blocks(text, true, &cfg.normalize);
    let lines = blocks(text, false, &cfg.normalize);
    let (para_reps, dup_para_frac, dup_para_char_frac) = block_repeats(&paras, RepeatKind::Paragraph);
    let (line_reps, dup_line_frac, dup_line_char_frac) = block_repeats(&lines, RepeatKind::Line);
    let n = normalize(text, &cfg.normalize);
    let us = crate::shingle::units(&n.text);
    let doc = UnitDoc::from_units(&n, &us);
    // Normalized characters per unit: one for a CJK unit, its length for a word.
    let unit_chars: Vec<u32> = us.iter().map(|u| u.end - u.start).collect();
    let (top, dup) = ngram_measures(&doc, &unit_chars);

    let by_paras = Coverage::new(&para_reps.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>());
    let mut repeats = para_reps;
    // Lines inside repeated paragraphs are reported with their paragraph.
    repeats.extend(line_reps.into_iter().filter(|r| by_paras.covered(r.start, r.end) < r.end - r.start));
    if cfg.min_length > 0 && doc.len() >= 2 * cfg.min_length {
        for r in passage_repeats(&doc, cfg.min_length) {
            // A passage that adds fewer than `min_length` characters to repeated paragraphs already reported is
            // one of them.
            if (r.end - r.start) - by_paras.covered(r.start, r.end) >= cfg.min_length as u32 {
                repeats.push(r);
            }
        }
    }
    repeats.sort_by_key(|r| (r.start, r.end, r.kind as u8));
    repeats.dedup_by(|x, y| x.start == y.start && x.end == y.end);
    RepeatReport {
        metrics: RepeatMetrics {
            dup_line_frac: round4(dup_line_frac),
            dup_line_char_frac: round4(dup_line_char_frac),
            dup_para_frac: round4(dup_para_frac),
            dup_para_char_frac: round4(dup_para_char_frac),
            top_ngram_char_frac: top,
            dup_ngram_char_frac: dup,
        },
        repeats,
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The code point ranges that [`strip`] removes: every later copy of a repeated paragraph or passage, a
/// paragraph together with the line breaks that follow it (up to the next paragraph). Sorted and disjoint.
pub fn strip_ranges(text: &str, repeats: &[Repeat]) -> Vec<(u32, u32)> {
    let chars: Vec<char> = text.chars().collect();
    let mut ranges: Vec<(u32, u32)> = repeats
        .iter()
        .filter(|r| r.kind != RepeatKind::Line)
        .map(|r| {
            let mut e = r.end as usize;
            if r.kind == RepeatKind::Paragraph {
                while e < chars.len() && chars[e].is_whitespace() {
                    e += 1;
                }
            }
            (r.start, e as u32)
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// `text` without the later copies of its repeated paragraphs and passages ([`strip_ranges`]); every other
/// character stays as it was.
pub fn strip(text: &str, repeats: &[Repeat]) -> String {
    crate::substrings::remove_spans(text, &strip_ranges(text, repeats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::ngram_hashes;
    use std::collections::HashMap;

    /// The former quadratic implementation, kept as the reference for [`passage_repeats`].
    fn passage_repeats_reference(doc: &UnitDoc, w: usize) -> Vec<Repeat> {
        let hashes = ngram_hashes(&doc.ids, w, 0x07e9_ea75);
        let mut first: HashMap<u64, u32> = HashMap::with_capacity(hashes.len());
        let mut later: Vec<(u32, u32)> = Vec::new();
        for (q, h) in hashes.iter().enumerate() {
            match first.get(h) {
                Some(&p) if q as u32 - p >= w as u32 => later.push((q as u32 - p, p)),
                Some(_) => {}
                None => {
                    first.insert(*h, q as u32);
                }
            }
        }
        later.sort_unstable();
        let mut runs: Vec<(u32, u32, u32)> = Vec::new();
        for g in later.chunk_by(|x, y| x.0 == y.0 && y.1 == x.1 + 1) {
            let (d, p0) = g[0];
            let p1 = g[g.len() - 1].1 + w as u32;
            runs.push((p0, p1, d));
        }
        let overlap = |x: (u32, u32), y: (u32, u32)| x.1.min(y.1).saturating_sub(x.0.max(y.0));
        runs.iter()
            .map(|&(p0, p1, d)| {
                let copies = runs.iter().filter(|r| overlap((r.0, r.1), (p0, p1)) * 2 > p1 - p0).count() as u32;
                let (s, e) = doc.original_span((p0 + d) as usize, (p1 + d) as usize);
                Repeat {
                    start: s,
                    end: e,
                    count: copies + 1,
                    first_start: doc.spans[p0 as usize].0,
                    kind: RepeatKind::Passage,
                }
            })
            .collect()
    }

    /// The former covered length (sorted, possibly overlapping intervals), the reference for [`Coverage`].
    fn covered_reference(s: u32, e: u32, intervals: &[(u32, u32)]) -> u32 {
        let mut total = 0;
        let mut cursor = s;
        for &(a, b) in intervals {
            let (a, b) = (a.max(cursor), b.min(e));
            if b > a {
                total += b - a;
                cursor = b;
            }
        }
        total
    }

    use crate::testing::Rng;

    #[test]
    fn passage_repeats_match_the_quadratic_reference_on_random_documents() {
        let alphabet: Vec<char> = "甲乙丙丁戊己庚辛壬癸".chars().collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut runs_seen = 0;
        for case in 0..300 {
            // Random text over a small alphabet, with pieces copied from earlier in it at random places: many
            // runs at many distances, overlapping in every way.
            let k = 2 + rng.below(alphabet.len() as u64 - 1) as usize;
            let mut text: Vec<char> = Vec::new();
            let len = 20 + rng.below(400) as usize;
            while text.len() < len {
                if text.len() > 10 && rng.below(3) == 0 {
                    let from = rng.below(text.len() as u64) as usize;
                    let n = 1 + rng.below((text.len() - from) as u64) as usize;
                    let piece: Vec<char> = text[from..from + n].to_vec();
                    text.extend(piece);
                } else {
                    text.push(alphabet[rng.below(k as u64) as usize]);
                }
            }
            let text: String = text.into_iter().collect();
            let doc = UnitDoc::new(&text, &NormalizeOptions::default());
            for w in [1usize, 2, 3, 5, 8] {
                let fast = passage_repeats(&doc, w);
                assert_eq!(fast, passage_repeats_reference(&doc, w), "case {case}, w {w}: {text}");
                runs_seen += fast.len();
            }
        }
        assert!(runs_seen > 10_000, "the random documents exercise many runs: {runs_seen}");
    }

    /// The n-gram measures by hashing every window for every n, as they were: the reference.
    fn ngram_measures_reference(doc: &UnitDoc, unit_chars: &[u32]) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
        let total: u64 = unit_chars.iter().map(|&c| c as u64).sum();
        let mut top = BTreeMap::new();
        let mut dup = BTreeMap::new();
        // One map for every n (FxHash: the keys are hashes already): per n-gram hash, its count and first position.
        let mut counts: HashMap<u64, (u32, usize)> = HashMap::new();
        for n in 2..=10usize {
            let hashes = ngram_hashes(&doc.ids, n, n as u64);
            let mut value = 0.0;
            if total > 0 && !hashes.is_empty() {
                counts.clear();
                counts.reserve(hashes.len());
                if n <= 4 {
                    for (i, h) in hashes.iter().enumerate() {
                        counts.entry(*h).or_insert((0, i)).0 += 1;
                    }
                    if let Some(&(c, i)) = counts.values().max_by_key(|(c, i)| (*c, std::cmp::Reverse(*i))) {
                        if c > 1 {
                            let chars: u64 = unit_chars[i..i + n].iter().map(|&x| x as u64).sum();
                            value = (chars * c as u64) as f64 / total as f64;
                        }
                    }
                } else {
                    let mut marked = vec![false; doc.len()];
                    for (i, h) in hashes.iter().enumerate() {
                        if counts.insert(*h, (1, i)).is_some() {
                            marked[i..i + n].iter_mut().for_each(|m| *m = true);
                        }
                    }
                    let chars: u64 = marked.iter().zip(unit_chars).filter(|(m, _)| **m).map(|(_, &c)| c as u64).sum();
                    value = chars as f64 / total as f64;
                }
            }
            put_measure(n, value, &mut top, &mut dup);
        }
        (top, dup)
    }

    #[test]
    fn ngram_measures_agree_with_hashing_every_window() {
        let mut rng = Rng(77);
        let mut next = |m: u64| rng.below(m);
        let mut repeating = 0;
        for case in 0..2000 {
            // Units over small alphabets with copied stretches: n-grams repeated at every n, ties, short documents.
            let alphabet = 1 + next(12);
            let mut ids: Vec<u64> = Vec::new();
            let len = next(300) as usize;
            while ids.len() < len {
                if ids.len() > 5 && next(4) == 0 {
                    let from = next(ids.len() as u64) as usize;
                    let k = 1 + next((ids.len() - from) as u64) as usize;
                    let piece: Vec<u64> = ids[from..from + k].to_vec();
                    ids.extend(piece);
                } else {
                    ids.push(1 + next(alphabet) * 0x9e37_79b9);
                }
            }
            let n = ids.len();
            let doc = UnitDoc { spans: (0..n as u32).map(|k| (k, k + 1)).collect(), closing: vec![0; n], ids };
            let chars: Vec<u32> = (0..n).map(|_| 1 + next(5) as u32).collect();
            let got = ngram_measures(&doc, &chars);
            assert_eq!(got, ngram_measures_reference(&doc, &chars), "case {case}: {:?}", doc.ids);
            repeating += got.1.values().any(|&v| v > 0.0) as u32;
        }
        assert!(repeating > 1000, "{repeating} documents with repeated 5-grams or longer");
    }

    #[test]
    fn windows_with_equal_fingerprints_and_other_ids_are_no_repeat() {
        // An id counts modulo 2^61 − 1 in a fingerprint: x and x + (2^61 − 1) make equal fingerprints, other windows.
        let (x, y) = (11u64, 22u64);
        let x2 = x + crate::shingle::M61;
        assert_eq!(window_fingerprints(&[x, y], 2), window_fingerprints(&[x2, y], 2));
        let doc_of = |ids: Vec<u64>| {
            let spans = (0..ids.len() as u32).map(|k| (k, k + 1)).collect();
            UnitDoc { closing: vec![0; ids.len()], ids, spans }
        };
        assert!(repeat_runs(&doc_of(vec![x, y, 5, x2, y, 6]), 2).is_empty());
        // The same layout with a true copy is found.
        assert_eq!(repeat_runs(&doc_of(vec![x, y, 5, x, y, 6]), 2), vec![(0, 2, 3)]);
    }

    #[test]
    fn coverage_matches_the_reference() {
        let mut rng = Rng(12345);
        for _ in 0..2000 {
            let mut iv: Vec<(u32, u32)> = (0..rng.below(12))
                .map(|_| {
                    let a = rng.below(60) as u32;
                    (a, a + rng.below(15) as u32)
                })
                .collect();
            iv.sort_unstable();
            let c = Coverage::new(&iv);
            let s = rng.below(70) as u32;
            let e = s + rng.below(30) as u32;
            assert_eq!(c.covered(s, e), covered_reference(s, e, &iv), "{iv:?} [{s}, {e})");
        }
    }

    #[test]
    fn one_sentence_repeated_many_times_is_fast_and_counted() {
        // 20 000 copies: the quadratic count took 4 · 10^8 steps here; now n log n.
        let sentence = "今天天气很好我们一起去公园散步吧。";
        let text = sentence.repeat(20_000);
        let cfg = RepeatConfig { min_length: 8, ..RepeatConfig::default() };
        let r = analyze(&text, &cfg);
        let passages: Vec<&Repeat> = r.repeats.iter().filter(|x| x.kind == RepeatKind::Passage).collect();
        assert!(!passages.is_empty());
        assert!(passages.iter().all(|p| p.first_start < p.start && p.count >= 2));
    }

    #[test]
    fn repeated_paragraphs_lines_and_passages() {
        let p = "区长先后来到城东开发区的三家仪表企业调研生产经营和技术改造情况。";
        let frag = "两校合拍的纪录片同日开机各界二百余名嘉宾出席活动展望美好未来，共同描绘合作愿景，征集相关历史照片和影像资料";
        let text = format!("标题\n\n{p}\n\n其他内容一\n\n{p}\n\n其他内容二 {frag}。\n\n结尾 {frag}。\n\n{p}\n");
        let r = analyze(&text, &RepeatConfig::default());
        let paras: Vec<&Repeat> = r.repeats.iter().filter(|x| x.kind == RepeatKind::Paragraph).collect();
        assert_eq!(paras.len(), 2);
        assert!(paras.iter().all(|x| x.count == 3));
        let first = text.find(p).unwrap();
        assert_eq!(paras[0].first_start as usize, text[..first].chars().count());
        let chars: Vec<char> = text.chars().collect();
        for x in &paras {
            assert_eq!(chars[x.start as usize..x.end as usize].iter().collect::<String>(), p);
        }
        let passages: Vec<&Repeat> = r.repeats.iter().filter(|x| x.kind == RepeatKind::Passage).collect();
        assert_eq!(passages.len(), 1, "{:?}", r.repeats);
        assert_eq!(chars[passages[0].start as usize..passages[0].end as usize].iter().collect::<String>(), frag);
        // Seven paragraphs, two of them later copies.
        assert_eq!(r.metrics.dup_para_frac, 0.2857, "{:?}", r.metrics);
        assert!(r.metrics.dup_ngram_char_frac["5"] > r.metrics.dup_ngram_char_frac["10"] - 1e-9);

        // Stripping keeps one copy of each and every other character.
        let s = strip(&text, &r.repeats);
        assert_eq!(s.matches(p).count(), 1);
        assert_eq!(s.matches(frag).count(), 1);
        assert!(s.starts_with("标题\n\n") && s.contains("其他内容一") && s.contains("结尾 。"));
    }

    #[test]
    fn no_repeats_in_plain_text() {
        let r = analyze("一段没有任何重复的文字。\n\n另一段完全不同的内容。", &RepeatConfig::default());
        assert!(r.repeats.is_empty());
        assert_eq!(r.metrics.dup_para_frac, 0.0);
        assert_eq!(strip("abc", &r.repeats), "abc");
    }
}
