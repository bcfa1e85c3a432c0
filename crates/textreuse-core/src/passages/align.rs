//! Passage-level text reuse: aligned passages between documents, with offsets into the original texts.
//!
//! The method follows passim (Smith, Cordell & Dillon 2013, "Infectious texts: modeling text reuse in
//! nineteenth-century newspapers"; Smith et al. 2015, "Computational methods for uncovering reprinted texts in
//! antebellum newspapers"), adapted to unsegmented scripts:
//! 1. **Units** come from the shared normalization ([`crate::normalize`], traditional → simplified, no whitespace or
//!    punctuation) and [`crate::shingle::units`]: one unit per CJK character or per word.
//! 2. **Index**: every n-gram of units, wherever it starts, is hashed. An n-gram found in more than `max_df`
//!    documents is boilerplate and seeds nothing.
//! 3. **Candidate pairs**: documents that share at least `min_anchors` distinct n-grams; never all pairs.
//! 4. **Alignment**: the shared n-grams of a pair (anchors) are chained along diagonals by dynamic programming, as
//!    in seed-and-chain aligners: a chain may bridge a gap of up to `max_gap` units on either side (OCR
//!    substitutions, dropped or doubled characters, an inserted or dropped sentence). Each chain is then extended
//!    at both ends by X-drop ungapped extension (Zhang et al. 2000, the BLAST extension). Inside a passage, units
//!    are aligned with banded Needleman–Wunsch / Smith–Waterman style dynamic programming (Smith & Waterman 1981)
//!    when a unit-level alignment is wanted ([`align_units`]).
//! 5. **Offsets**: both ends map back through the normalization's offset map to code points of the original
//!    texts, half-open `[start, end)`; a span includes the column line breaks and punctuation inside it.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::normalize::{normalize, NormalizeOptions, Normalized};
use crate::shingle::{units, Unit};

/// Settings of passage alignment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AlignConfig {
    /// Units per n-gram of the index.
    pub ngram: usize,
    /// n-grams found in more documents than this are boilerplate and seed no candidate.
    pub max_df: usize,
    /// Candidate pairs share at least this many distinct n-grams.
    pub min_anchors: usize,
    /// Largest gap, in units on either side, that a passage bridges.
    pub max_gap: usize,
    /// Shortest passage kept, in units on each side.
    pub min_length: usize,
    /// Only the first this many occurrences of an n-gram inside one document seed anchors (repetitive text).
    pub max_repeat: usize,
    /// Shortest share of the longer side's units that must be matched one to one; weaker chains are chance
    /// alignments of formulaic sentences, not reuse.
    pub min_identity: f64,
    /// Seed of the n-gram hashes.
    pub seed: u64,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            ngram: 7,
            max_df: 50,
            min_anchors: 3,
            max_gap: 200,
            min_length: 30,
            max_repeat: 8,
            min_identity: 0.5,
            seed: 42,
        }
    }
}

/// A document prepared for alignment: its units and where each one stands in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDoc {
    /// Unit ids (see [`crate::shingle::Unit`]).
    pub ids: Vec<u64>,
    /// For each unit, its half-open span in code points of the original text.
    pub spans: Vec<(u32, u32)>,
}

impl UnitDoc {
    /// Normalizes `text` and splits it into units, keeping each unit's original span.
    pub fn new(text: &str, opts: &NormalizeOptions) -> UnitDoc {
        let n = normalize(text, opts);
        UnitDoc::from_units(&n, &units(&n.text))
    }

    /// The units `us` of the normalized text `n`, with their original spans.
    pub fn from_units(n: &Normalized, us: &[Unit]) -> UnitDoc {
        let mut ids = Vec::with_capacity(us.len());
        let mut spans = Vec::with_capacity(us.len());
        for u in us {
            if let Some(span) = n.original_span(u.start as usize, u.end as usize) {
                ids.push(u.id);
                spans.push(span);
            }
        }
        UnitDoc { ids, spans }
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the document has no unit.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Original code point span of units `[start, end)`.
    pub fn original_span(&self, start: usize, end: usize) -> (u32, u32) {
        (self.spans[start].0, self.spans[end - 1].1)
    }
}

/// The n-gram hashes of a unit sequence, one per start position (`len - n + 1` of them; none when shorter).
pub fn ngram_hashes(ids: &[u64], n: usize, seed: u64) -> Vec<u64> {
    if ids.len() < n || n == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; 8 * n];
    ids.windows(n)
        .map(|w| {
            for (k, u) in w.iter().enumerate() {
                buf[8 * k..8 * k + 8].copy_from_slice(&u.to_le_bytes());
            }
            xxh3_64_with_seed(&buf, seed)
        })
        .collect()
}

/// One aligned passage between documents `a` and `b`, in units and in original code points.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Passage {
    /// Units `[a_units.0, a_units.1)` of document a.
    pub a_units: (u32, u32),
    /// Units of document b.
    pub b_units: (u32, u32),
    /// Original code point span `[start, end)` in document a.
    pub a_span: (u32, u32),
    /// Original code point span in document b.
    pub b_span: (u32, u32),
    /// Units matched one to one (anchored n-grams and extensions).
    pub matches: u32,
    /// Alignment score: matches minus penalties for the gaps bridged.
    pub score: f64,
}

#[derive(Clone, Copy)]
struct Anchor {
    i: u32,
    j: u32,
}

/// Anchors of a pair: positions `(i, j)` where the n-grams of `a` and `b` are equal. `a_index` maps each n-gram
/// hash of a (minus boilerplate and over-repeated ones) to its positions.
fn anchors(a_index: &HashMap<u64, Vec<u32>>, b_hashes: &[u64], cfg: &AlignConfig) -> Vec<Anchor> {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut out = Vec::new();
    for (j, h) in b_hashes.iter().enumerate() {
        if let Some(is) = a_index.get(h) {
            // Only the first `max_repeat` occurrences in b of an n-gram seed anchors: repetitive text stays cheap.
            let c = seen.entry(*h).or_default();
            *c += 1;
            if *c as usize > cfg.max_repeat {
                continue;
            }
            out.extend(is.iter().map(|&i| Anchor { i, j: j as u32 }));
        }
    }
    out.sort_unstable_by_key(|x| (x.i, x.j));
    out
}

/// Index of a document's n-grams for [`align_pair`]: hash → positions (the first `max_repeat` of an n-gram
/// repeated more often), without the n-grams in `boilerplate`.
pub fn index_ngrams(
    hashes: &[u64],
    boilerplate: &std::collections::HashSet<u64>,
    max_repeat: usize,
) -> HashMap<u64, Vec<u32>> {
    let mut m: HashMap<u64, Vec<u32>> = HashMap::with_capacity(hashes.len());
    for (i, h) in hashes.iter().enumerate() {
        if !boilerplate.contains(h) {
            let v = m.entry(*h).or_default();
            if v.len() < max_repeat {
                v.push(i as u32);
            }
        }
    }
    m
}

/// Aligns two documents: chains of shared n-grams, extended and mapped to original offsets. Passages are
/// returned in order of their start in `a`; none is shorter than `min_length` units on either side, and no two
/// overlap on both sides.
pub fn align_pair(
    a: &UnitDoc,
    a_index: &HashMap<u64, Vec<u32>>,
    b: &UnitDoc,
    b_hashes: &[u64],
    cfg: &AlignConfig,
) -> Vec<Passage> {
    let an = anchors(a_index, b_hashes, cfg);
    if an.len() < cfg.min_anchors.max(1) {
        return Vec::new();
    }
    let n = cfg.ngram as i64;
    let gap = cfg.max_gap as i64;
    // Chaining DP over anchors sorted by (i, j): score[k] = best chain ending at anchor k.
    let mut score = vec![0f64; an.len()];
    let mut prev = vec![usize::MAX; an.len()];
    const LOOKBACK: usize = 64;
    for k in 0..an.len() {
        let (ik, jk) = (an[k].i as i64, an[k].j as i64);
        let mut best = n as f64;
        let mut best_p = usize::MAX;
        let lo = k.saturating_sub(LOOKBACK * 4);
        let mut seen = 0;
        for p in (lo..k).rev() {
            let (ip, jp) = (an[p].i as i64, an[p].j as i64);
            if ik - ip > gap + n {
                break;
            }
            if ip >= ik || jp >= jk || jk - jp > gap + n {
                continue;
            }
            seen += 1;
            let di = ik - ip;
            let dj = jk - jp;
            let new = di.min(dj).min(n) as f64;
            let skew = (di - dj).abs() as f64;
            let bridged = (di.max(dj) - n).max(0) as f64;
            let s = score[p] + new - 0.5 * skew - 0.05 * bridged;
            if s > best {
                best = s;
                best_p = p;
            }
            if seen >= LOOKBACK {
                break;
            }
        }
        score[k] = best;
        prev[k] = best_p;
    }
    // Chains, best first; each anchor belongs to one chain.
    let mut order: Vec<usize> = (0..an.len()).collect();
    order.sort_unstable_by(|&x, &y| score[y].total_cmp(&score[x]).then(x.cmp(&y)));
    let mut used = vec![false; an.len()];
    let mut passages: Vec<Passage> = Vec::new();
    for &end in &order {
        if used[end] {
            continue;
        }
        let mut chain = Vec::new();
        let mut k = end;
        loop {
            if used[k] {
                break;
            }
            chain.push(k);
            if prev[k] == usize::MAX {
                break;
            }
            k = prev[k];
        }
        for &k in &chain {
            used[k] = true;
        }
        chain.reverse();
        if chain.len() < cfg.min_anchors {
            continue;
        }
        let first = an[chain[0]];
        let last = an[*chain.last().expect("chain not empty")];
        let (mut a0, mut b0) = (first.i as usize, first.j as usize);
        let (mut a1, mut b1) = (last.i as usize + cfg.ngram, last.j as usize + cfg.ngram);
        // Matched units: the union of the anchored windows on side a.
        let mut matches = 0u32;
        let mut covered_to = 0usize;
        for &k in &chain {
            let s = (an[k].i as usize).max(covered_to);
            let e = an[k].i as usize + cfg.ngram;
            if e > s {
                matches += (e - s) as u32;
            }
            covered_to = covered_to.max(e);
        }
        // X-drop ungapped extension at both ends.
        let (l, lm) = xdrop(&a.ids, &b.ids, a0, b0, -1);
        a0 -= l;
        b0 -= l;
        let (r, rm) = xdrop(&a.ids, &b.ids, a1, b1, 1);
        a1 += r;
        b1 += r;
        matches += lm + rm;
        if a1 - a0 < cfg.min_length || b1 - b0 < cfg.min_length {
            continue;
        }
        if (matches as f64) < cfg.min_identity * (a1 - a0).max(b1 - b0) as f64 {
            continue;
        }
        let cand = Passage {
            a_units: (a0 as u32, a1 as u32),
            b_units: (b0 as u32, b1 as u32),
            a_span: (0, 0),
            b_span: (0, 0),
            matches,
            score: 0.0,
        };
        // A chain whose text on one side is mostly aligned already is a repetition (a doubled paragraph, a
        // sentence printed twice, a page extracted twice): next to the passage it repeats, it widens it;
        // elsewhere it is dropped, so one reused text gives one passage.
        let repeats = passages.iter().position(|q| {
            overlap(q.a_units, cand.a_units) * 2 > cand.a_units.1 - cand.a_units.0
                || overlap(q.b_units, cand.b_units) * 2 > cand.b_units.1 - cand.b_units.0
        });
        match repeats {
            Some(k) => {
                let q = &mut passages[k];
                let a_gap = distance(q.a_units, cand.a_units);
                let b_gap = distance(q.b_units, cand.b_units);
                if a_gap <= cfg.max_gap as u32 && b_gap <= cfg.max_gap as u32 {
                    q.a_units = (q.a_units.0.min(cand.a_units.0), q.a_units.1.max(cand.a_units.1));
                    q.b_units = (q.b_units.0.min(cand.b_units.0), q.b_units.1.max(cand.b_units.1));
                    q.matches += cand.matches;
                }
            }
            None => passages.push(cand),
        }
    }
    for p in &mut passages {
        let (la, lb) = (p.a_units.1 - p.a_units.0, p.b_units.1 - p.b_units.0);
        p.matches = p.matches.min(la.max(lb));
        p.a_span = a.original_span(p.a_units.0 as usize, p.a_units.1 as usize);
        p.b_span = b.original_span(p.b_units.0 as usize, p.b_units.1 as usize);
        p.score = (p.matches as f64 - (la as f64 - lb as f64).abs() * 0.5).max(0.0);
    }
    passages.sort_by_key(|p| (p.a_units, p.b_units));
    passages
}

fn overlap(x: (u32, u32), y: (u32, u32)) -> u32 {
    x.1.min(y.1).saturating_sub(x.0.max(y.0))
}

/// Units between two intervals (0 when they touch or overlap).
fn distance(x: (u32, u32), y: (u32, u32)) -> u32 {
    x.0.max(y.0).saturating_sub(x.1.min(y.1))
}

/// X-drop ungapped extension from `(i, j)` (exclusive ends when `dir` is 1, starts when `dir` is -1): +1 per
/// match, -2 per mismatch, stopping when the score falls 6 below its best. Returns the extension length at the
/// best score and the matches in it.
fn xdrop(a: &[u64], b: &[u64], i: usize, j: usize, dir: i32) -> (usize, u32) {
    let (mut s, mut best, mut best_len, mut m, mut best_m) = (0i32, 0i32, 0usize, 0u32, 0u32);
    let mut k = 0usize;
    loop {
        let (x, y) = if dir > 0 {
            if i + k >= a.len() || j + k >= b.len() {
                break;
            }
            (a[i + k], b[j + k])
        } else {
            if k >= i || k >= j {
                break;
            }
            (a[i - k - 1], b[j - k - 1])
        };
        k += 1;
        if x == y {
            s += 1;
            m += 1;
        } else {
            s -= 2;
        }
        if s > best {
            best = s;
            best_len = k;
            best_m = m;
        }
        if best - s > 6 {
            break;
        }
    }
    (best_len, best_m)
}

/// One step of a unit-level alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Op {
    /// Units `a[i]` and `b[j]` are equal.
    Match(u32, u32),
    /// Units `a[i]` and `b[j]` differ.
    Substitute(u32, u32),
    /// Unit `a[i]` has no counterpart in b.
    DeleteA(u32),
    /// Unit `b[j]` has no counterpart in a.
    InsertB(u32),
}

/// Global alignment of `a[a0..a1]` with `b[b0..b1]` (Needleman–Wunsch, unit costs: match 0, substitution 1,
/// gap 1), banded around the diagonal with half-width `band` plus the length difference. Returns the steps in
/// order, with absolute unit indices. O((a1 − a0) · band) time and memory.
pub fn align_units(a: &[u64], b: &[u64], (a0, a1): (usize, usize), (b0, b1): (usize, usize), band: usize) -> Vec<Op> {
    let (n, m) = (a1 - a0, b1 - b0);
    let w = band + n.abs_diff(m);
    // Row i holds columns j in [lo(i), hi(i)], stored at offset j - lo(i).
    let lo = |i: usize| (i * m / n.max(1)).saturating_sub(w);
    let hi = |i: usize| (i * m / n.max(1) + w).min(m);
    const INF: u32 = u32::MAX / 2;
    let mut cost: Vec<Vec<u32>> = Vec::with_capacity(n + 1);
    for i in 0..=n {
        let (l, h) = (lo(i), hi(i));
        let mut row = vec![INF; h - l + 1];
        for j in l..=h {
            let c = if i == 0 {
                j as u32
            } else {
                let get = |r: &Vec<u32>, ii: usize, jj: usize| -> u32 {
                    if jj < lo(ii) || jj > hi(ii) {
                        INF
                    } else {
                        r[jj - lo(ii)]
                    }
                };
                let up = get(&cost[i - 1], i - 1, j).saturating_add(1);
                let left = if j > l {
                    row[j - 1 - l].saturating_add(1)
                } else if j == 0 {
                    i as u32
                } else {
                    INF
                };
                let diag = if j > 0 {
                    get(&cost[i - 1], i - 1, j - 1).saturating_add(u32::from(a[a0 + i - 1] != b[b0 + j - 1]))
                } else {
                    INF
                };
                up.min(left).min(diag)
            };
            row[j - l] = c;
        }
        cost.push(row);
    }
    let at = |i: usize, j: usize| -> u32 {
        if j < lo(i) || j > hi(i) {
            INF
        } else {
            cost[i][j - lo(i)]
        }
    };
    let mut ops = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let c = at(i, j);
        if i > 0 && j > 0 {
            let same = a[a0 + i - 1] == b[b0 + j - 1];
            if c == at(i - 1, j - 1).saturating_add(u32::from(!same)) {
                let (x, y) = ((a0 + i - 1) as u32, (b0 + j - 1) as u32);
                ops.push(if same { Op::Match(x, y) } else { Op::Substitute(x, y) });
                i -= 1;
                j -= 1;
                continue;
            }
        }
        if i > 0 && c == at(i - 1, j).saturating_add(1) {
            ops.push(Op::DeleteA((a0 + i - 1) as u32));
            i -= 1;
        } else {
            ops.push(Op::InsertB((b0 + j - 1) as u32));
            j -= 1;
        }
    }
    ops.reverse();
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn doc(t: &str) -> UnitDoc {
        UnitDoc::new(t, &NormalizeOptions::default())
    }

    fn align(a: &str, b: &str, cfg: &AlignConfig) -> (UnitDoc, UnitDoc, Vec<Passage>) {
        let (da, db) = (doc(a), doc(b));
        let idx = index_ngrams(&ngram_hashes(&da.ids, cfg.ngram, cfg.seed), &HashSet::new(), cfg.max_repeat);
        let p = align_pair(&da, &idx, &db, &ngram_hashes(&db.ids, cfg.ngram, cfg.seed), cfg);
        (da, db, p)
    }

    const WIRE: &str =
        "新华社北京五月二十日电国家统计局今天发布数据显示四月份全国规模以上工业增加值同比增长百分之六点一\
比上月加快零点三个百分点社会消费品零售总额同比增长百分之五点一固定资产投资稳步增长就业形势总体稳定";

    #[test]
    fn finds_a_reprint_inside_other_text_with_original_offsets() {
        let a = format!("本地新闻：市区道路今日起封闭施工。\n{WIRE}\n天气预报：明天多云。");
        // b: traditional script, column breaks, one OCR substitution.
        let trad = "新華社北京五月二十日電國家統計局今天發布數據顯示四月份全國規模以上工業增加值同比增長百分之六點一\
比上月加快零點三個百分點社會消費品零售總額同比增長百分之五點一固定資產投資穩步增長就業形勢總體穩走";
        let cols: String =
            trad.chars().collect::<Vec<_>>().chunks(15).map(|c| c.iter().collect::<String>() + "\n").collect();
        let b = format!("體育消息：球隊昨晚獲勝。\n{cols}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        let p = &ps[0];
        let ac: Vec<char> = a.chars().collect();
        let a_text: String = ac[p.a_span.0 as usize..p.a_span.1 as usize].iter().collect();
        // b ends in an OCR error (走 for 定): the passage stops before it.
        assert!(a_text.starts_with("新华社北京") && a_text.ends_with("总体稳"), "{a_text}");
        let bc: Vec<char> = b.chars().collect();
        let b_text: String = bc[p.b_span.0 as usize..p.b_span.1 as usize].iter().collect();
        assert!(b_text.starts_with("新華社北京") && b_text.contains('\n'), "{b_text}");
        assert!(p.matches as usize >= WIRE.chars().count() - 3);
    }

    #[test]
    fn bridges_a_dropped_sentence_and_keeps_one_passage() {
        let extra = "记者了解到今年以来各地积极推进重点项目建设";
        let a = WIRE.replacen("比上月", &format!("{extra}比上月"), 1);
        let (_, _, ps) = align(&a, WIRE, &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].a_units.1 - ps[0].a_units.0, a.chars().count() as u32);
    }

    #[test]
    fn unrelated_and_short_overlaps_give_nothing() {
        let (_, _, ps) = align(WIRE, "今天天气很好我们去公园散步看到很多人在跳舞唱歌", &AlignConfig::default());
        assert!(ps.is_empty());
        // A shared phrase shorter than min_length is no passage.
        let (_, _, ps) = align("国家统计局今天发布数据显示，其他内容完全不同的一段文字", WIRE, &AlignConfig::default());
        assert!(ps.is_empty());
    }

    #[test]
    fn unit_alignment_marks_substitutions_and_gaps() {
        let a: Vec<u64> = vec![1, 2, 3, 4, 5, 6];
        let b: Vec<u64> = vec![1, 2, 9, 4, 5, 5, 6];
        let ops = align_units(&a, &b, (0, 6), (0, 7), 4);
        let subs = ops.iter().filter(|o| matches!(o, Op::Substitute(..))).count();
        let ins = ops.iter().filter(|o| matches!(o, Op::InsertB(..))).count();
        let m = ops.iter().filter(|o| matches!(o, Op::Match(..))).count();
        assert_eq!((m, subs, ins), (5, 1, 1), "{ops:?}");
        assert_eq!(ops.first(), Some(&Op::Match(0, 0)));
        assert_eq!(ops.last(), Some(&Op::Match(5, 6)));
    }
}
