//! Rewritten reuse: passages that one document took from another and rewrote — words swapped for synonyms,
//! clauses reordered, sentences merged, split or dropped, a long text summarized (洗稿) — where too few n-grams
//! survive for the anchors of [`super::align`].
//!
//! The method is Sanchez-Perez, Sidorov & Gelbukh 2014 ("A winning approach to text alignment for text reuse
//! detection at PAN 2014"), the best published text alignment system, with Torrejón & Ramos 2013:
//! 1. **Sentences and terms** ([`Bags`]): each document is cut into sentences at sentence-ending punctuation,
//!    blank lines, and line breaks where its lines are paragraphs ([`PARAGRAPH_LINE`]; hard-wrapped columns are not
//!    cut) (sentences of fewer than [`MIN_SENTENCE_TERMS`] terms join the next). Terms are character
//!    bigrams for CJK text (two units in a row) and, for other scripts, words case-folded, stemmed (Snowball,
//!    `rust-stemmers`, English where the word is ASCII) and without English stop words.
//! 2. **Seeds**: pairs of sentences, one per document, whose tf-isf vectors (term frequency × log of the inverse
//!    sentence frequency over both documents) have a cosine of at least [`MIN_COSINE`] and whose term sets have a
//!    Dice coefficient of at least [`MIN_DICE`] (0.33 both, as in the paper).
//! 3. **Extension**: seeds closer than [`MAX_GAP`] sentences on both sides join one passage (single linkage, so
//!    reordered and dropped sentences stay inside); a passage spans its seeds' sentences on each side, so a summary
//!    (a few sentences) covers the long text it summarizes.
//! 4. **Filtering**: a passage stands when the tf-isf cosine of its two sides is at least
//!    [`MIN_SIMILARITY`] (or, for a summary, one side more than twice as many sentences as the other, when the larger side
//!    holds [`MIN_CONTAINMENT`] of the smaller side's term weight: the asymmetric mode), both sides are `min_short`
//!    long or more (in CJK characters, a word counting as two; a one-sentence passage needs a cosine of
//!    [`MIN_SENTENCE_COSINE`]), and it overlaps no better passage on both sides. Verbatim passages ([`Kind::Verbatim`],
//!    from anchors) win where they already cover a rewritten one; a rewritten passage that covers verbatim pieces
//!    (the parts that survived a rewriting) replaces them. Over a corpus, a short rewritten passage whose span in one
//!    document is matched with [`TEMPLATE_PARTNERS`] documents or more is a template line and is dropped.
//!
//! Only the candidate pairs of [`super::PassageIndex`] (documents sharing `min_anchors` n-grams) are searched.
//!
//! Cost per candidate pair: linear in the terms of both documents, plus the postings of each of b's terms among a's
//! sentences (terms in more than a tenth of the sentences are left out of seeding; their weight is near zero).

use rustc_hash::FxHashMap as HashMap;

use rust_stemmers::{Algorithm, Stemmer};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::normalize::{is_cjk_unit, normalize, NormalizeOptions, Normalized};
use crate::shingle::{units, Unit};

use super::align::{Kind, Passage, UnitDoc};

/// Seeds: smallest tf-isf cosine of two sentences.
pub const MIN_COSINE: f64 = 0.33;
/// Seeds: smallest Dice coefficient of the term sets of two sentences.
pub const MIN_DICE: f64 = 0.33;
/// Extension: seeds at most this many sentences apart (on both sides) join one passage.
pub const MAX_GAP: u32 = 4;
/// Filtering: smallest tf-isf cosine of a passage's two sides.
pub const MIN_SIMILARITY: f64 = 0.45;
/// Filtering, for a summary (one side more than twice as many sentences as the other): smallest share of
/// the smaller side's term weight that the larger side holds too.
pub const MIN_CONTAINMENT: f64 = 0.6;
/// Filtering: smallest cosine of a passage of one sentence on each side.
pub const MIN_SENTENCE_COSINE: f64 = 0.6;
/// Sentences with fewer terms join the next one.
pub const MIN_SENTENCE_TERMS: usize = 4;

/// Template lines: a short rewritten passage (both sides shorter than [`TEMPLATE_LENGTH`] × `min_length` units)
/// whose span in one document is matched with this many other documents or more is a template (a dateline, a
/// "reprinted from" notice: text whose variable parts keep it from being boilerplate n-grams), not reuse; applied
/// over a whole corpus ([`super::PassageIndex::alignments`]).
pub const TEMPLATE_PARTNERS: usize = 3;
/// See [`TEMPLATE_PARTNERS`].
pub const TEMPLATE_LENGTH: usize = 3;

/// English stop words (function words), left out of the terms of non-CJK text.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// A term of a sentence (a CJK bigram or a stemmed word), hashed to 32 bits.
type Term = u32;

/// A 64-bit term hash folded to a [`Term`] (never 0).
fn fold(h: u64) -> Term {
    ((h ^ (h >> 32)) as Term).max(1)
}

/// Median length, in characters, of the non-empty lines of a text from which on its line breaks end paragraphs
/// (shorter lines are hard-wrapped columns: newspaper columns of 15 CJK characters or 40 letters).
pub const PARAGRAPH_LINE: usize = 60;

/// True when the median non-empty line of `text` is [`PARAGRAPH_LINE`] characters long or longer.
fn paragraph_lines(text: &str) -> bool {
    let mut lens: Vec<usize> = text.split('\n').map(|l| l.trim().chars().count()).filter(|&n| n > 0).collect();
    if lens.len() < 2 {
        return false;
    }
    lens.sort_unstable();
    lens[lens.len() / 2] >= PARAGRAPH_LINE
}

/// Sentence-ending punctuation (a blank line ends a sentence too).
fn ends_sentence(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；' | '.' | '!' | '?' | ';' | '…')
}

/// A document cut into sentences, each a bag of terms, for [`align_rewritten`]. Built from the same text and
/// normalization as the document's [`UnitDoc`], so that sentences are ranges of its units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bags {
    /// Sentences, as ranges `[start, end)` of the document's units.
    pub sentences: Vec<(u32, u32)>,
    /// Length of each sentence in CJK characters, a word counting as two (a sentence of 20 characters says about
    /// as much as one of 10 words).
    pub lengths: Vec<u32>,
    /// Terms of sentence `k`: `terms[starts[k]..starts[k + 1]]`, sorted (repeated terms repeated).
    terms: Vec<Term>,
    starts: Vec<u32>,
}

impl Bags {
    /// Sentences and terms of `text` (normalized with `opts`, the normalization of its [`UnitDoc`]).
    pub fn new(text: &str, opts: &NormalizeOptions) -> Bags {
        let n = normalize(text, opts);
        Bags::from_units(text, &n, &units(&n.text))
    }

    /// [`Bags::new`] from `text` already normalized (`n`) and split into units (`us`), as [`UnitDoc::from_text`]
    /// takes them.
    pub fn from_units(text: &str, n: &Normalized, us: &[Unit]) -> Bags {
        let norm: Vec<char> = n.text.chars().collect();
        let orig: Vec<char> = text.chars().collect();
        let stemmer = Stemmer::create(Algorithm::English);
        // The units that UnitDoc keeps, with their term (0: none) and whether a sentence ends after them.
        let mut unit_terms: Vec<(u64, bool, (u32, u32), u32)> = Vec::new();
        let mut prev_cjk: Option<u64> = None;
        for u in us {
            let Some(span) = n.original_span(u.start as usize, u.end as usize) else { continue };
            let word: String = norm[u.start as usize..u.end as usize].iter().collect();
            let cjk = word.chars().next().is_some_and(is_cjk_unit);
            let term = if cjk {
                let t = prev_cjk.map_or(0, |p| xxh3_64_with_seed(&[p.to_le_bytes(), u.id.to_le_bytes()].concat(), 7));
                prev_cjk = Some(u.id);
                t
            } else {
                prev_cjk = None;
                if STOP_WORDS.binary_search(&word.as_str()).is_ok() {
                    0
                } else if word.chars().all(|c| c.is_ascii_alphabetic()) {
                    xxh3_64_with_seed(stemmer.stem(&word).as_bytes(), 7)
                } else {
                    u.id
                }
            };
            unit_terms.push((term, false, span, if cjk { 1 } else { 2 }));
        }
        // A sentence ends after a unit followed (before the next unit) by sentence-ending punctuation or a blank
        // line, or any line break where lines are paragraphs (not hard-wrapped columns).
        let paragraph_lines = paragraph_lines(text);
        for k in 0..unit_terms.len() {
            let from = unit_terms[k].2 .1 as usize;
            let to = unit_terms.get(k + 1).map_or(orig.len(), |t| t.2 .0 as usize);
            // (Spans may overlap where one original character became two units, as NFKC expands some.)
            let to = to.min(orig.len());
            let between = &orig[from.min(to)..to];
            let breaks = between.iter().filter(|&&c| c == '\n').count();
            let blank = breaks >= 2 || (breaks == 1 && paragraph_lines);
            unit_terms[k].1 = blank || between.iter().any(|&c| ends_sentence(c)) || k + 1 == unit_terms.len();
        }
        let mut bags = Bags::default();
        bags.starts.push(0);
        let (mut start, mut cur, mut length): (u32, Vec<Term>, u32) = (0, Vec::new(), 0);
        for (k, &(term, end, _, w)) in unit_terms.iter().enumerate() {
            if term != 0 {
                // Folded to 32 bits (half the memory; a collision inside one pair's vocabulary is rare and only
                // adds a little similarity).
                cur.push(fold(term));
            }
            length += w;
            if end && (cur.len() >= MIN_SENTENCE_TERMS || k + 1 == unit_terms.len()) {
                if cur.is_empty() && !bags.sentences.is_empty() {
                    // A tail without terms joins the last sentence.
                    bags.sentences.last_mut().expect("not empty").1 = k as u32 + 1;
                    *bags.lengths.last_mut().expect("not empty") += length;
                } else {
                    cur.sort_unstable();
                    bags.terms.append(&mut cur);
                    bags.starts.push(bags.terms.len() as u32);
                    bags.sentences.push((start, k as u32 + 1));
                    bags.lengths.push(length);
                }
                start = k as u32 + 1;
                length = 0;
            }
        }
        bags
    }

    /// Keeps the sentences that lie inside the first `len` units.
    pub fn truncate(&mut self, len: usize) {
        let keep = self.sentences.iter().take_while(|s| s.1 as usize <= len).count();
        self.sentences.truncate(keep);
        self.lengths.truncate(keep);
        self.starts.truncate(keep + 1);
        self.terms.truncate(*self.starts.last().unwrap_or(&0) as usize);
    }

    fn terms(&self, k: usize) -> &[Term] {
        &self.terms[self.starts[k] as usize..self.starts[k + 1] as usize]
    }
}

/// tf-isf vectors of the sentences of two documents.
struct Vectors {
    /// Per sentence, `(term, weight)` sorted by term, and its norm.
    a: Vec<(Vec<(Term, f64)>, f64)>,
    b: Vec<(Vec<(Term, f64)>, f64)>,
    /// Inverse sentence frequency of each term.
    isf: HashMap<Term, f64>,
    /// Sentences of both documents that hold each term.
    sf: HashMap<Term, u32>,
}

fn vectors(a: &Bags, b: &Bags) -> Vectors {
    let mut sf: HashMap<Term, u32> = HashMap::default();
    for bags in [a, b] {
        for k in 0..bags.sentences.len() {
            let ts = bags.terms(k);
            for (x, t) in ts.iter().enumerate() {
                if x == 0 || ts[x - 1] != *t {
                    *sf.entry(*t).or_default() += 1;
                }
            }
        }
    }
    let total = (a.sentences.len() + b.sentences.len()) as f64;
    let isf: HashMap<Term, f64> = sf.iter().map(|(&t, &f)| (t, (total / f as f64).ln().max(0.0) + 0.01)).collect();
    let vecs = |bags: &Bags| -> Vec<(Vec<(Term, f64)>, f64)> {
        (0..bags.sentences.len())
            .map(|k| {
                let ts = bags.terms(k);
                let v: Vec<(Term, f64)> =
                    ts.chunk_by(|x, y| x == y).map(|g| (g[0], g.len() as f64 * isf[&g[0]])).collect();
                let norm = v.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
                (v, norm)
            })
            .collect()
    };
    Vectors { a: vecs(a), b: vecs(b), isf, sf }
}

/// Cosine of two bags of sentences (ranges of sentence indices, inclusive), with the pair's isf weights, and the
/// share of the smaller bag's weight that the other holds too (how much of a summary its source covers).
fn range_similarity(
    bx: &Bags,
    (x0, x1): (u32, u32),
    by: &Bags,
    (y0, y1): (u32, u32),
    isf: &HashMap<Term, f64>,
) -> (f64, f64) {
    let bag = |bags: &Bags, lo: u32, hi: u32| -> HashMap<Term, f64> {
        let mut m: HashMap<Term, f64> = HashMap::default();
        for k in lo..=hi {
            for t in bags.terms(k as usize) {
                *m.entry(*t).or_default() += isf[t];
            }
        }
        m
    };
    let (p, q) = (bag(bx, x0, x1), bag(by, y0, y1));
    let dot: f64 = p.iter().filter_map(|(t, w)| q.get(t).map(|v| w * v)).sum();
    let norm = |m: &HashMap<Term, f64>| m.values().map(|w| w * w).sum::<f64>().sqrt();
    let d = norm(&p) * norm(&q);
    let cos = if d > 0.0 { dot / d } else { 0.0 };
    let total = |m: &HashMap<Term, f64>| m.values().sum::<f64>();
    let (small, large) = if total(&p) <= total(&q) { (&p, &q) } else { (&q, &p) };
    let shared: f64 = small.iter().map(|(t, w)| large.get(t).map_or(0.0, |v| w.min(*v))).sum();
    (cos, shared / total(small).max(f64::MIN_POSITIVE))
}

/// Rewritten passages between documents `a` and `b` (units and sentence bags of each), merged with the verbatim
/// passages [`super::align::align_pair`] found between them: verbatim passages that cover a rewritten one keep it
/// out; a rewritten passage replaces the verbatim pieces inside it. Every passage returned carries its kind and
/// similarity; spans are set; in order of their start in `a`.
pub fn align_rewritten(
    (a, ba): (&UnitDoc, &Bags),
    (b, bb): (&UnitDoc, &Bags),
    verbatim: Vec<Passage>,
    min_short: usize,
) -> Vec<Passage> {
    let mut found = rewritten_passages(ba, bb, min_short);
    // Verbatim passages first; a rewritten passage stands where they cover less than four fifths of it on either
    // side, and then replaces those that lie mostly inside it.
    let cover = |ps: &[Passage], r: &Passage, side_a: bool| -> u32 {
        let span = |p: &Passage| if side_a { p.a_units } else { p.b_units };
        let mut iv: Vec<(u32, u32)> = ps
            .iter()
            .filter(|p| overlap(p.a_units, r.a_units) > 0 && overlap(p.b_units, r.b_units) > 0)
            .map(|p| (span(p).0.max(span(r).0), span(p).1.min(span(r).1)))
            .filter(|x| x.0 < x.1)
            .collect();
        iv.sort_unstable();
        let (mut total, mut end) = (0, 0);
        for (s, e) in iv {
            if e > end {
                total += e - s.max(end);
                end = e;
            }
        }
        total
    };
    let mut out = verbatim;
    found.retain(|r| {
        let len = |x: (u32, u32)| x.1 - x.0;
        cover(&out, r, true) * 5 < len(r.a_units) * 4 || cover(&out, r, false) * 5 < len(r.b_units) * 4
    });
    for r in found {
        let inside = |p: &Passage| {
            overlap(p.a_units, r.a_units) * 2 > p.a_units.1 - p.a_units.0
                && overlap(p.b_units, r.b_units) * 2 > p.b_units.1 - p.b_units.0
        };
        out.retain(|p| !inside(p));
        out.push(r);
    }
    for p in &mut out {
        p.a_span = a.passage_span(p.a_units.0 as usize, p.a_units.1 as usize);
        p.b_span = b.passage_span(p.b_units.0 as usize, p.b_units.1 as usize);
    }
    out.sort_by_key(|p| (p.a_units, p.b_units));
    out
}

fn overlap(x: (u32, u32), y: (u32, u32)) -> u32 {
    x.1.min(y.1).saturating_sub(x.0.max(y.0))
}

/// Seeds, extension and filtering (see the module documentation): rewritten passages, best first, none
/// overlapping another on both sides.
fn rewritten_passages(ba: &Bags, bb: &Bags, min_short: usize) -> Vec<Passage> {
    if ba.sentences.is_empty() || bb.sentences.is_empty() {
        return Vec::new();
    }
    let v = vectors(ba, bb);
    let common = ((ba.sentences.len() + bb.sentences.len()) / 10).max(8) as u32;
    // Postings of a's sentences, without the terms in more than a tenth of the sentences.
    let mut postings: HashMap<Term, Vec<(u32, f64)>> = HashMap::default();
    for (i, (terms, _)) in v.a.iter().enumerate() {
        for &(t, w) in terms {
            if v.sf[&t] <= common {
                postings.entry(t).or_default().push((i as u32, w));
            }
        }
    }
    let mut seeds: Vec<(u32, u32)> = Vec::new();
    let mut acc: HashMap<u32, (f64, u32)> = HashMap::default();
    for (j, (terms, norm_b)) in v.b.iter().enumerate() {
        acc.clear();
        for &(t, w) in terms {
            if let Some(ps) = postings.get(&t) {
                for &(i, wa) in ps {
                    let e = acc.entry(i).or_default();
                    e.0 += w * wa;
                    e.1 += 1;
                }
            }
        }
        for (&i, &(dot, shared)) in &acc {
            let (ta, na) = &v.a[i as usize];
            let cos = dot / (na * norm_b).max(f64::MIN_POSITIVE);
            let dice = 2.0 * shared as f64 / (ta.len() + terms.len()) as f64;
            if cos >= MIN_COSINE && dice >= MIN_DICE {
                seeds.push((i, j as u32));
            }
        }
    }
    if seeds.is_empty() {
        return Vec::new();
    }
    seeds.sort_unstable();
    // Single linkage: seeds at most MAX_GAP + 1 sentences apart on both sides.
    let mut parent: Vec<usize> = (0..seeds.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for k in 0..seeds.len() {
        for q in (0..k).rev() {
            if seeds[k].0 - seeds[q].0 > MAX_GAP + 1 {
                break;
            }
            if seeds[k].1.abs_diff(seeds[q].1) <= MAX_GAP + 1 {
                let (x, y) = (find(&mut parent, k), find(&mut parent, q));
                parent[x.max(y)] = x.min(y);
            }
        }
    }
    let mut groups: HashMap<usize, (u32, u32, u32, u32, u32)> = HashMap::default();
    for (k, &(i, j)) in seeds.iter().enumerate() {
        let r = find(&mut parent, k);
        let g = groups.entry(r).or_insert((i, i, j, j, 0));
        *g = (g.0.min(i), g.1.max(i), g.2.min(j), g.3.max(j), g.4 + 1);
    }
    let mut cands: Vec<Passage> = groups
        .into_values()
        .filter_map(|(i0, i1, j0, j1, _)| {
            let (cos, contained) = range_similarity(ba, (i0, i1), bb, (j0, j1), &v.isf);
            let one = i0 == i1 && j0 == j1;
            // A summary: the smaller side's vocabulary stands in the larger side (asymmetric).
            let (na, nb) = (i1 - i0 + 1, j1 - j0 + 1);
            let summary = contained >= MIN_CONTAINMENT && na.max(nb) > 2 * na.min(nb);
            if (cos < MIN_SIMILARITY && !summary) || (one && cos < MIN_SENTENCE_COSINE) {
                return None;
            }
            let a_units = (ba.sentences[i0 as usize].0, ba.sentences[i1 as usize].1);
            let b_units = (bb.sentences[j0 as usize].0, bb.sentences[j1 as usize].1);
            let (la, lb) = (a_units.1 - a_units.0, b_units.1 - b_units.0);
            let length = |bags: &Bags, x: u32, y: u32| bags.lengths[x as usize..=y as usize].iter().sum::<u32>();
            if (length(ba, i0, i1).min(length(bb, j0, j1)) as usize) < min_short {
                return None;
            }
            let cos = if summary { cos.max(contained) } else { cos };
            let matches = (cos * la.max(lb) as f64).round() as u32;
            Some(Passage {
                a_units,
                b_units,
                a_span: (0, 0),
                b_span: (0, 0),
                matches,
                score: matches as f64,
                kind: Kind::Rewritten,
                similarity: (cos * 1e4).round() / 1e4,
            })
        })
        .collect();
    // Best first (similarity × length); a passage overlapping a better one on both sides is dropped.
    cands.sort_by(|p, q| {
        let w = |x: &Passage| x.similarity * (x.a_units.1 - x.a_units.0 + x.b_units.1 - x.b_units.0) as f64;
        w(q).total_cmp(&w(p)).then(p.a_units.cmp(&q.a_units)).then(p.b_units.cmp(&q.b_units))
    });
    let mut out: Vec<Passage> = Vec::new();
    for c in cands {
        if !out.iter().any(|p| overlap(p.a_units, c.a_units) > 0 && overlap(p.b_units, c.b_units) > 0) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passages::{align_pair, PassageOptions};

    fn rewritten_options() -> PassageOptions {
        let mut o = PassageOptions::default();
        o.align.rewritten = true;
        o
    }

    /// Code point offsets of `part` in `text`.
    fn span_of(text: &str, part: &str) -> (u32, u32) {
        let s = text[..text.find(part).expect("part of text")].chars().count() as u32;
        (s, s + part.chars().count() as u32)
    }

    #[test]
    fn a_rewritten_chinese_passage_is_found_with_its_offsets() {
        let source = "国家统计局今天发布数据显示，四月份全国规模以上工业增加值同比增长百分之六点一，比上月加快零点三个百分点。\
                      社会消费品零售总额同比增长百分之五点一，消费市场保持平稳。固定资产投资稳步增长，就业形势总体稳定。";
        // Synonyms swapped (发布→公布, 增长→上升, 加快→提高, 保持→维持, 稳步→持续), clauses reordered, a sentence
        // split: no 7-gram of the source survives in one piece.
        let rewrite = "四月份全国规模以上工业增加值同比上升百分之六点一，国家统计局今日公布的数据显示。比上月提高零点三个百分点。\
                       消费市场维持平稳，社会消费品零售总额同比上升百分之五点一。就业形势总体稳定，固定资产投资持续增长。";
        let a =
            format!("体育消息：本市青少年足球联赛昨日开幕，共有三十二支球队参加。\n{source}\n天气预报：明天多云转晴。");
        let b = format!(
            "文化新闻：市图书馆新馆将于下月正式开放，藏书超过二百万册。\n{rewrite}\n交通提示：地铁三号线周末停运检修。"
        );
        let verbatim = align_pair(&a, &b, &PassageOptions::default()).unwrap();
        assert!(verbatim.is_empty(), "{verbatim:?}");
        let ps = align_pair(&a, &b, &rewritten_options()).unwrap();
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].kind, Kind::Rewritten);
        assert_eq!((ps[0].a_span, ps[0].b_span), (span_of(&a, source), span_of(&b, rewrite)));
        assert!(ps[0].similarity > 0.5 && ps[0].similarity < 1.0, "{ps:?}");
    }

    #[test]
    fn a_rewritten_english_passage_is_found_with_its_offsets() {
        let source = "The city council approved the new budget on Tuesday after a long debate about school funding. \
                      Several members argued that the libraries needed more money for evening programs. \
                      The mayor said the plan would reduce waiting times at public clinics across the county.";
        let rewrite = "After a lengthy debate about funding for schools, the new budget was approved by the city council \
                       on Tuesday. More money for evening programs was needed by the libraries, several members argued. \
                       Waiting times at public clinics across the county would be reduced by the plan, the mayor said.";
        let a = format!(
            "Weather: rain is expected through the weekend in the northern valleys.\n\n{source}\n\nSports: the local \
                         team won its third straight game."
        );
        let b = format!(
            "Markets: wheat prices rose sharply as exports increased.\n\n{rewrite}\n\nObituaries: a retired \
                         teacher died at the age of ninety."
        );
        let ps = align_pair(&a, &b, &rewritten_options()).unwrap();
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].kind, Kind::Rewritten);
        assert_eq!((ps[0].a_span, ps[0].b_span), (span_of(&a, source), span_of(&b, rewrite)));
    }

    #[test]
    fn a_one_sentence_reprint_is_found() {
        let sentence = "周迅身穿黑色西裤套装出席综艺节目幻乐之城的录制，优雅大气。";
        let a = format!("本报讯今年以来本市持续推进老旧小区改造，完成加装电梯三百余部。\n{sentence}\n明天多云转晴。");
        let b = format!("体育消息：本市青少年足球联赛昨日开幕。\n{sentence}\n地铁三号线周末停运检修。");
        // Shorter than min_length (30): no verbatim passage; one sentence with the rewritten mode.
        assert!(align_pair(&a, &b, &PassageOptions::default()).unwrap().is_empty());
        let ps = align_pair(&a, &b, &rewritten_options()).unwrap();
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!((ps[0].a_span, ps[0].b_span), (span_of(&a, sentence), span_of(&b, sentence)));
        // An unrelated sentence of the same topic is no reprint.
        let other = "周迅出席综艺节目的录制现场时身穿白色连衣裙，引来众多粉丝围观拍照。";
        let c = format!("体育消息：本市青少年足球联赛昨日开幕。\n{other}\n地铁三号线周末停运检修。");
        assert!(align_pair(&a, &c, &rewritten_options()).unwrap().is_empty());
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sentences_are_unit_ranges_with_terms() {
        let text = "The quick brown foxes jumped over the lazy dogs. Dogs were sleeping soundly in the warm sun!\n\n\
                    新华社北京五月二十日电国家统计局今天发布数据。";
        let opts = NormalizeOptions::default();
        let (d, bags) = (UnitDoc::new(text, &opts), Bags::new(text, &opts));
        assert_eq!(bags.sentences.len(), 3, "{bags:?}");
        assert_eq!(bags.sentences.last().unwrap().1 as usize, d.len());
        // Stemmed, without stop words: "foxes" and "fox" are one term; "the" is none.
        let fox = Bags::new("fox jumped over lazy dog", &opts);
        assert_eq!(
            fox.terms(0),
            bags.terms(0)
                .iter()
                .filter(|&&t| t != fold(xxh3_64_with_seed(b"quick", 7)) && t != fold(xxh3_64_with_seed(b"brown", 7)))
                .copied()
                .collect::<Vec<_>>()
                .as_slice()
        );
        // CJK: one bigram per pair of characters in a row.
        let cjk = d.len() - bags.sentences[2].0 as usize;
        assert_eq!(bags.terms(2).len(), cjk - 1);
    }
}
