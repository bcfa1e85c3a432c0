//! Collation of the witnesses of one passage: every witness aligned unit by unit against a base witness, with
//! differences classified as a textual critic expects (Greg's "copy-text" and the apparatus of variant readings),
//! keeping apart the differences that are only script or width (traditional/simplified, full/half width), which
//! the normalization makes equal.
//!
//! The base is the most complete witness: among the witnesses with at least 90 % of the largest unit count, the
//! one closest to all others (smallest total edit distance, the medoid; only when there are at most 24 witnesses),
//! ties going to the first. Each other witness is aligned to it with [`align_units`] (banded Needleman–Wunsch over
//! unit ids).

use serde::Serialize;

use std::collections::HashSet;

use crate::align::{align_pair, align_units, index_ngrams, ngram_hashes, AlignConfig, Op, UnitDoc};
use crate::normalize::NormalizeOptions;

/// How a piece of a witness relates to the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reading {
    /// The same text as the base, written the same way (or text between units: punctuation, line breaks).
    Same,
    /// The same text after normalization, written differently: script (traditional/simplified), width or case.
    Variant,
    /// A unit that differs from the base's.
    Substituted,
    /// A unit the base has and this witness lacks (the token carries the base's text).
    Omitted,
    /// A unit this witness has and the base lacks.
    Added,
}

/// One piece of a witness as displayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    /// The text (the witness's own text; the base's for an omission).
    pub text: String,
    /// How it relates to the base.
    pub reading: Reading,
    /// For a substitution or variant, the base's text.
    pub base: Option<String>,
}

/// One row of the apparatus: a run of the base (the lemma) and what each witness reads there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantRow {
    /// Code point offset of the lemma in the base witness's text.
    pub base_offset: u32,
    /// The base's reading.
    pub lemma: String,
    /// For each witness (in input order), its reading of this place, `None` when it agrees with the base (script
    /// and width aside); an omission reads as an empty string.
    pub readings: Vec<Option<String>>,
}

/// The collation of several witnesses.
#[derive(Debug, Clone, Serialize)]
pub struct Collation {
    /// Index of the base witness.
    pub base: usize,
    /// For each witness, its text as tokens relative to the base (the base's own tokens are all `Same`).
    pub witnesses: Vec<Vec<Token>>,
    /// The variant readings, in base order.
    pub apparatus: Vec<VariantRow>,
}

fn text_of(chars: &[char], (s, e): (u32, u32)) -> String {
    chars[s as usize..e as usize].iter().collect()
}

fn edit_distance(a: &UnitDoc, b: &UnitDoc) -> usize {
    if a.is_empty() || b.is_empty() {
        return a.len().max(b.len());
    }
    align_units(&a.ids, &b.ids, (0, a.len()), (0, b.len()), 32).iter().filter(|o| !matches!(o, Op::Match(..))).count()
}

/// Collates the witness texts (each the passage as printed in one document).
pub fn collate(texts: &[&str], opts: &NormalizeOptions) -> Collation {
    let docs: Vec<UnitDoc> = texts.iter().map(|t| UnitDoc::new(t, opts)).collect();
    let chars: Vec<Vec<char>> = texts.iter().map(|t| t.chars().collect()).collect();
    let max = docs.iter().map(UnitDoc::len).max().unwrap_or(0);
    let complete: Vec<usize> = (0..docs.len()).filter(|&w| docs[w].len() * 10 >= max * 9).collect();
    let base = if complete.len() > 1 && docs.len() <= 24 {
        *complete
            .iter()
            .min_by_key(|&&w| {
                ((0..docs.len()).filter(|&v| v != w).map(|v| edit_distance(&docs[w], &docs[v])).sum::<usize>(), w)
            })
            .expect("non-empty")
    } else {
        complete.first().copied().unwrap_or(0)
    };
    let bd = &docs[base];
    let bc = &chars[base];
    let n = bd.len();
    let unit = |k: usize| text_of(bc, bd.spans[k]);
    // Per base unit: for each witness, its reading there when it differs (None = agrees). Additions attach to the
    // base unit before them (or, before the first unit, to the first).
    let mut at: Vec<Vec<Option<String>>> = vec![vec![None; docs.len()]; n.max(1)];
    let mut witnesses = Vec::with_capacity(docs.len());
    let mut regions: Vec<(usize, usize)> = Vec::with_capacity(docs.len());
    let mut base_inserted: Vec<usize> = Vec::new();
    for (w, wd) in docs.iter().enumerate() {
        let wc = &chars[w];
        let mut tokens: Vec<Token> = Vec::new();
        let (ops, region) =
            if w == base { ((0..n as u32).map(|i| Op::Match(i, i)).collect(), (0, n)) } else { witness_ops(bd, wd) };
        regions.push(region);
        let mut prev_end = 0u32; // code point end of the last witness unit shown
        let mut last: Option<usize> = None;
        let mut prefix = String::new(); // additions before the first base unit
        for op in ops {
            // The witness's own text between its units (punctuation, line breaks) is shown as it is.
            if let Op::Match(_, j) | Op::Substitute(_, j) | Op::InsertB(j) = op {
                let s = wd.spans[j as usize].0;
                if s > prev_end {
                    tokens.push(Token { text: text_of(wc, (prev_end, s)), reading: Reading::Same, base: None });
                }
                prev_end = wd.spans[j as usize].1;
            }
            let (i, reading) = match op {
                Op::Match(i, j) => {
                    let (x, y) = (unit(i as usize), text_of(wc, wd.spans[j as usize]));
                    let same = x == y;
                    tokens.push(Token {
                        text: y,
                        reading: if same { Reading::Same } else { Reading::Variant },
                        base: (!same).then_some(x.clone()),
                    });
                    (i as usize, None)
                }
                Op::Substitute(i, j) => {
                    let (x, y) = (unit(i as usize), text_of(wc, wd.spans[j as usize]));
                    tokens.push(Token { text: y.clone(), reading: Reading::Substituted, base: Some(x) });
                    (i as usize, Some(y))
                }
                Op::DeleteA(i) => {
                    tokens.push(Token { text: unit(i as usize), reading: Reading::Omitted, base: None });
                    (i as usize, Some(String::new()))
                }
                Op::InsertB(j) => {
                    let y = text_of(wc, wd.spans[j as usize]);
                    tokens.push(Token { text: y.clone(), reading: Reading::Added, base: None });
                    match last {
                        Some(i) => {
                            let cur = at[i][w].take().unwrap_or_else(|| unit(i));
                            at[i][w] = Some(cur + &y);
                        }
                        None => prefix.push_str(&y),
                    }
                    continue;
                }
            };
            if last.is_none() && !prefix.is_empty() {
                let own = reading.clone().unwrap_or_else(|| unit(i));
                at[i][w] = Some(std::mem::take(&mut prefix) + &own);
            } else if let Some(r) = reading {
                at[i][w] = Some(r);
            }
            last = Some(i);
        }
        if !prefix.is_empty() {
            at[0][w] = Some(prefix);
        }
        if (prev_end as usize) < wc.len() {
            tokens.push(Token { text: text_of(wc, (prev_end, wc.len() as u32)), reading: Reading::Same, base: None });
        }
        witnesses.push(tokens);
    }
    // A base unit that every other witness omits inside the part of the base it covers is an insertion of the base
    // against the other witnesses (a doubled character in the base itself).
    if docs.len() > 1 {
        for (i, row) in at.iter().enumerate().take(n) {
            let inserted = (0..docs.len()).filter(|&w| w != base).all(|w| {
                let (r0, r1) = regions[w];
                r0 < i && i + 1 < r1 && row[w].as_deref() == Some("")
            });
            if inserted {
                base_inserted.push(i);
            }
        }
        mark_base_insertions(&mut witnesses[base], bd, bc, &base_inserted);
    }
    // Group adjacent differing base units into apparatus rows.
    let mut apparatus = Vec::new();
    let mut i = 0;
    while i < at.len() {
        if at[i].iter().all(Option::is_none) {
            i += 1;
            continue;
        }
        let start = i;
        while i + 1 < at.len() && at[i + 1].iter().any(Option::is_some) {
            i += 1;
        }
        let range = start..=i;
        let lemma: String = range.clone().filter(|&k| k < n).map(unit).collect();
        let readings = (0..docs.len())
            .map(|w| {
                if range.clone().all(|k| at[k][w].is_none()) {
                    return None;
                }
                Some(
                    range
                        .clone()
                        .map(|k| at[k][w].clone().unwrap_or_else(|| if k < n { unit(k) } else { String::new() }))
                        .collect(),
                )
            })
            .collect();
        let base_offset = if start < n { bd.spans[start].0 } else { 0 };
        apparatus.push(VariantRow { base_offset, lemma, readings });
        i += 1;
    }
    Collation { base, witnesses, apparatus }
}

/// The alignment steps of a witness against the base: the region where they share text (the hull of the passages
/// [`align_pair`] finds between them) is aligned unit by unit; outside it, the witness's own units are additions
/// and the base's are omissions. Returns the steps and the base region `[start, end)`.
fn witness_ops(bd: &UnitDoc, wd: &UnitDoc) -> (Vec<Op>, (usize, usize)) {
    let (n, m) = (bd.len(), wd.len());
    if n == 0 || m == 0 {
        return ((0..n as u32).map(Op::DeleteA).chain((0..m as u32).map(Op::InsertB)).collect(), (0, 0));
    }
    let cfg = AlignConfig { ngram: 5, min_anchors: 1, min_length: 8, min_identity: 0.3, ..AlignConfig::default() };
    let index = index_ngrams(&ngram_hashes(&bd.ids, cfg.ngram, cfg.seed), &HashSet::new(), cfg.max_repeat);
    let ps = align_pair(bd, &index, wd, &ngram_hashes(&wd.ids, cfg.ngram, cfg.seed), &cfg);
    let (a0, a1, b0, b1) = if ps.is_empty() {
        (0, n, 0, m)
    } else {
        (
            ps.iter().map(|p| p.a_units.0).min().unwrap_or(0) as usize,
            ps.iter().map(|p| p.a_units.1).max().unwrap_or(0) as usize,
            ps.iter().map(|p| p.b_units.0).min().unwrap_or(0) as usize,
            ps.iter().map(|p| p.b_units.1).max().unwrap_or(0) as usize,
        )
    };
    let mut ops: Vec<Op> = (0..b0 as u32).map(Op::InsertB).chain((0..a0 as u32).map(Op::DeleteA)).collect();
    ops.extend(align_units(&bd.ids, &wd.ids, (a0, a1), (b0, b1), 32));
    ops.extend((a1 as u32..n as u32).map(Op::DeleteA));
    ops.extend((b1 as u32..m as u32).map(Op::InsertB));
    (ops, (a0, a1))
}

/// Marks the base's tokens of the units in `inserted` (sorted) as additions against the other witnesses.
fn mark_base_insertions(tokens: &mut [Token], bd: &UnitDoc, bc: &[char], inserted: &[usize]) {
    if inserted.is_empty() {
        return;
    }
    // The base's tokens are, in order, gap text (Same, no base) and one token per unit.
    let mut unit = 0usize;
    let mut k = 0usize;
    let mut pos = 0u32;
    for t in tokens.iter_mut() {
        let len = t.text.chars().count() as u32;
        let is_unit = unit < bd.len() && pos == bd.spans[unit].0 && text_of(bc, bd.spans[unit]) == t.text;
        if is_unit {
            while k < inserted.len() && inserted[k] < unit {
                k += 1;
            }
            if k < inserted.len() && inserted[k] == unit {
                t.reading = Reading::Added;
            }
            unit += 1;
        }
        pos += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_only_differences_are_variants_and_typos_are_additions() {
        let a = "市长在会议中心为来宾举行欢迎仪式。在热烈的掌声中，市长和校长分别从礼堂两侧沿着红地毯走到礼堂中央。";
        let b = "市長在會議中心為來賓舉行歡迎儀式。在熱烈的掌聲中，市長和校長分別從禮堂兩側沿著紅地毯走到禮堂中央。";
        let c = "市长在会议中心为来宾举行欢迎仪式。在热烈的掌声中，市长和长校长分别从礼堂两侧沿着红地毯走到礼堂中央。";
        let col = collate(&[a, b, c], &NormalizeOptions::default());
        assert_eq!(col.base, 0, "the medoid");
        // The traditional witness has variants only.
        assert!(col.witnesses[1].iter().all(|t| matches!(t.reading, Reading::Same | Reading::Variant)));
        assert!(col.witnesses[1]
            .iter()
            .any(|t| t.reading == Reading::Variant && t.text == "會" && t.base.as_deref() == Some("会")));
        // The typo in c is one addition.
        let added: Vec<&Token> = col.witnesses[2].iter().filter(|t| t.reading == Reading::Added).collect();
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].text, "长");
        // The apparatus has one row, where only c differs.
        assert_eq!(col.apparatus.len(), 1, "{:?}", col.apparatus);
        let row = &col.apparatus[0];
        assert_eq!(row.readings[1], None);
        assert_eq!(row.readings[2], Some(format!("{}长", row.lemma)), "{row:?}");
        // Witness texts are kept whole: tokens concatenate to the witness.
        assert_eq!(col.witnesses[1].iter().map(|t| t.text.as_str()).collect::<String>(), b);

        // With two witnesses the base is the first; a typo in the base is marked as its insertion.
        let col = collate(&[c, a], &NormalizeOptions::default());
        assert_eq!(col.base, 0);
        let added: Vec<&Token> = col.witnesses[0].iter().filter(|t| t.reading == Reading::Added).collect();
        assert_eq!(added.len(), 1, "{:?}", col.witnesses[0]);
        assert_eq!(added[0].text, "长");
        assert!(col.witnesses[1].iter().any(|t| t.reading == Reading::Omitted && t.text == "长"));
    }

    #[test]
    fn partial_witnesses_align_on_what_they_share() {
        let base = "第一段文字讲述会谈的背景和意义。第二段文字记录双方的主要共识。第三段文字介绍签署的合作文件。";
        let part = "编者按：以下为节选。第二段文字记录双方的主要共识。";
        let col = collate(&[base, part], &NormalizeOptions::default());
        let w = &col.witnesses[1];
        assert!(!w.iter().any(|t| t.reading == Reading::Substituted), "{w:?}");
        assert!(w.iter().any(|t| t.reading == Reading::Added && t.text == "编"));
    }
}
