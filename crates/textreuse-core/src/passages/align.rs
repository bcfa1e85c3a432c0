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
//!    in seed-and-chain aligners. A chain bridges a gap of up to `max_gap` units on either side where the gap is
//!    OCR damage or a dropped sentence: its two sides read as the same text (Dice of
//!    their units), and what one side has more is either no longer than `max_indel` units of text the other
//!    document lacks, or a short text printed twice in a row. It does not bridge where the diagonal jumps
//!    (the sides continue at inconsistent places: longer one-sided text, or text that aligns elsewhere): the chain
//!    splits there. Each chain is trimmed so that it begins and ends on an identity run that outweighs the gap
//!    beside it, extended at both ends by X-drop ungapped extension (Zhang et al. 2000, the BLAST extension) through
//!    substitutions, and trimmed again until its 10 outermost units on each end are at least four in five
//!    identical: an alignment begins and ends on shared text, never on one side's text. Chains are taken best
//!    first; text that earlier passages align on both sides seeds nothing again, a chain that repeats the whole
//!    of a passage elsewhere is another copy (one alignment per copy), and so is one that repeats part of a longer
//!    passage in a row with it (a paragraph or title printed twice or more, down to `min_short` units); one that
//!    repeats part of a longer passage away from it (a sentence quoted twice) is dropped. Copies of a short
//!    paragraph or title that one document prints several times in a row beside a passage (the other printing it
//!    once) are aligned once per copy, down to `2 * ngram` units; below `min_length`, a passage stands where it
//!    covers three quarters of a document or lies in line with a longer passage (a title whose next paragraph was
//!    dropped); one spanning fewer than 60 code points must be a near copy. Short paragraphs that both documents
//!    print whole (a title, a byline, a URL line: too few units for anchors) are matched by their units where they
//!    lie in line with a longer passage of the pair and are not boilerplate (`equal_paragraphs`).
//!    Inside a passage, units are aligned with banded Needleman–Wunsch / Smith–Waterman style dynamic
//!    programming (Smith & Waterman 1981) when a unit-level alignment is wanted ([`align_units`]).
//! 5. **Offsets**: both ends map back through the normalization's offset map to code points of the original
//!    texts, half-open `[start, end)`; a span includes the column line breaks and punctuation inside it, and the
//!    closing punctuation right after its last unit.

use std::collections::HashSet;
use std::hash::BuildHasher;

use rustc_hash::FxHashMap;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::normalize::{hard_wrap_width, normalize, NormalizeOptions, Normalized};
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
    /// Largest one-sided text, in units (the difference between the two sides of a gap), that a passage bridges:
    /// a dropped or inserted sentence. Where one side runs on longer, the passage splits in two.
    pub max_indel: usize,
    /// Shortest passage kept, in units on each side.
    pub min_length: usize,
    /// Shortest passage kept where it is another occurrence of text that a longer passage of the pair aligns
    /// already (a short paragraph or a title printed twice), in units on each side (at most `min_length`).
    pub min_short: usize,
    /// Only the first this many occurrences of an n-gram inside one document seed anchors (repetitive text).
    pub max_repeat: usize,
    /// Shortest share of the longer side's units that must be matched one to one; weaker chains are chance
    /// alignments of formulaic sentences, not reuse.
    pub min_identity: f64,
    /// Seed of the n-gram hashes.
    pub seed: u64,
    /// Also find rewritten reuse ([`super::rewritten`]): sentences of similar vocabulary, for passages too
    /// rewritten for n-gram anchors.
    pub rewritten: bool,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            ngram: 7,
            max_df: 50,
            min_anchors: 3,
            max_gap: 200,
            max_indel: 30,
            min_length: 30,
            min_short: 20,
            max_repeat: 8,
            min_identity: 0.5,
            seed: 42,
            rewritten: false,
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
    /// For each unit, in its low 7 bits how many code points of closing punctuation (general categories Po, Pe,
    /// Pf: a full stop, a comma, a closing quote or bracket) follow it directly in the original text, at most 127
    /// ([`UnitDoc::closing_len`]; a passage that ends on that unit ends after them, [`UnitDoc::passage_span`]), and
    /// in its high bit [`PARAGRAPH_START`] where a paragraph break comes before it ([`UnitDoc::starts_paragraph`]).
    /// Zeros where the text was not given.
    pub closing: Vec<u8>,
}

/// Bit of [`UnitDoc::closing`] set on a unit that a paragraph break precedes: a blank line, or a line break that
/// is no column wrap (the line before it is not of the text's hard-wrap width, [`hard_wrap_width`], the rule by
/// which normalization joins column lines). Ragged lines without such a width (OCR of a page) are paragraphs.
pub const PARAGRAPH_START: u8 = 0x80;

impl UnitDoc {
    /// Normalizes `text` and splits it into units, keeping each unit's original span and the closing
    /// punctuation after it.
    pub fn new(text: &str, opts: &NormalizeOptions) -> UnitDoc {
        let n = normalize(text, opts);
        UnitDoc::from_text(text, &n, &units(&n.text))
    }

    /// [`UnitDoc::new`] from `text` already normalized (`n`) and split into units (`us`).
    pub fn from_text(text: &str, n: &Normalized, us: &[Unit]) -> UnitDoc {
        let mut d = UnitDoc::from_units(n, us);
        // The closing punctuation after each unit: a cursor (code point, byte) walks the text forward to each unit's
        // end (the ends do not decrease; from the start again where one would).
        let (mut at_char, mut at_byte) = (0u32, 0usize);
        for (c, &(_, end)) in d.closing.iter_mut().zip(&d.spans) {
            if end < at_char {
                (at_char, at_byte) = (0, 0);
            }
            // Where the text up to the end is ASCII (English: nearly always), one byte is one code point.
            let ahead = (end - at_char) as usize;
            if text.as_bytes().get(at_byte..at_byte + ahead).is_some_and(<[u8]>::is_ascii) {
                (at_char, at_byte) = (end, at_byte + ahead);
            }
            let mut rest = text[at_byte..].chars();
            while at_char < end {
                let Some(x) = rest.next() else { break };
                at_char += 1;
                at_byte += x.len_utf8();
            }
            // Nothing follows an end past the text (`rest` is spent then).
            *c = rest.take(127).take_while(|&x| is_closing(x)).count() as u8;
        }
        // Paragraph breaks: the line breaks (code point offsets) that end a paragraph, not a column line.
        let wrap = hard_wrap_width(text);
        let mut breaks: Vec<u32> = Vec::new();
        let mut line_start = 0u32;
        for line in text.split_inclusive('\n') {
            let Some(body) = line.strip_suffix('\n') else { break };
            let chars = body.chars().count() as u32;
            let len = chars - (body.len() - body.trim_end_matches('\r').len()) as u32;
            let blank = body.chars().all(char::is_whitespace);
            if blank || wrap != Some(len) {
                breaks.push(line_start + chars);
            }
            line_start += chars + 1;
        }
        if !breaks.is_empty() {
            // `at`: the first break at or after the gap's start, walked forward with the gaps (searched again where
            // a gap starts before the one before it).
            let mut at = 0usize;
            for k in 1..d.spans.len() {
                let (from, to) = (d.spans[k - 1].1, d.spans[k].0);
                if at > 0 && breaks[at - 1] >= from {
                    at = breaks.partition_point(|&x| x < from);
                }
                while at < breaks.len() && breaks[at] < from {
                    at += 1;
                }
                if breaks.get(at).is_some_and(|&x| x < to) {
                    d.closing[k] |= PARAGRAPH_START;
                }
            }
        }
        d
    }

    /// The units `us` of the normalized text `n`, with their original spans (and no closing punctuation).
    pub fn from_units(n: &Normalized, us: &[Unit]) -> UnitDoc {
        let mut ids = Vec::with_capacity(us.len());
        let mut spans = Vec::with_capacity(us.len());
        for u in us {
            if let Some(span) = n.original_span(u.start as usize, u.end as usize) {
                ids.push(u.id);
                spans.push(span);
            }
        }
        let closing = vec![0; ids.len()];
        UnitDoc { ids, spans, closing }
    }

    /// Keeps the first `len` units only.
    pub fn truncate(&mut self, len: usize) {
        self.ids.truncate(len);
        self.spans.truncate(len);
        self.closing.truncate(len);
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

    /// Original code point span of a passage over units `[start, end)`: [`UnitDoc::original_span`], and the
    /// closing punctuation right after the last unit (the full stop or quote that ends its last sentence).
    pub fn passage_span(&self, start: usize, end: usize) -> (u32, u32) {
        (self.spans[start].0, self.spans[end - 1].1 + u32::from(self.closing_len(end - 1)))
    }

    /// Code points of closing punctuation right after unit `k` (see [`UnitDoc::closing`]).
    pub fn closing_len(&self, k: usize) -> u8 {
        self.closing[k] & !PARAGRAPH_START
    }

    /// True when a paragraph break comes before unit `k` ([`PARAGRAPH_START`]); unit 0 begins the first paragraph
    /// whatever comes before it.
    pub fn starts_paragraph(&self, k: usize) -> bool {
        k == 0 || self.closing[k] & PARAGRAPH_START != 0
    }

    /// The document's paragraphs, as unit ranges `[start, end)` in order: a paragraph begins at unit 0 and at each
    /// unit that [`UnitDoc::starts_paragraph`]. None for a document without units.
    pub fn paragraphs(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut start = 0u32;
        for k in 1..self.len() {
            if self.starts_paragraph(k) {
                out.push((start, k as u32));
                start = k as u32;
            }
        }
        if !self.is_empty() {
            out.push((start, self.len() as u32));
        }
        out
    }
}

/// True for closing punctuation: general categories Po (full stops, commas), Pe (closing brackets) and Pf (closing
/// quotes). ASCII, the CJK Unified Ideographs (and Extension A) and Hangul syllables, most of what follows a unit,
/// are answered without the general-category table's search.
#[inline]
fn is_closing(c: char) -> bool {
    if c.is_ascii() {
        return matches!(
            c,
            '!' | '"' | '#' | '%' | '&' | '\'' | '*' | ',' | '.' | '/' | ':' | ';' | '?' | '@' | '\\' | ')' | ']' | '}'
        );
    }
    if matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7A3}') {
        return false;
    }
    is_closing_by_category(c)
}

/// [`is_closing`] by the general-category table alone.
fn is_closing_by_category(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::OtherPunctuation | GeneralCategory::ClosePunctuation | GeneralCategory::FinalPunctuation
    )
}

/// The n-gram hashes of a unit sequence, one per start position (`len - n + 1` of them; none when shorter).
pub fn ngram_hashes(ids: &[u64], n: usize, seed: u64) -> Vec<u64> {
    if ids.len() < n || n == 0 {
        return Vec::new();
    }
    crate::text::shingle::id_window_hashes(ids, n, seed)
}

/// The distinct n-gram hashes of a unit sequence ([`ngram_hashes`]), in increasing order: the keys a document is
/// indexed under. Sorted by their top bits first (the radix sort of shingle sets: the hashes are uniform), not by
/// comparisons.
pub fn ngram_set(ids: &[u64], n: usize, seed: u64) -> Vec<u64> {
    let hashes = ngram_hashes(ids, n, seed);
    let mut set = crate::sort::sorted_hashes(&hashes, &mut Vec::new(), &mut Vec::new());
    set.dedup();
    set
}

/// How a passage was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// By shared n-grams (anchors) chained and extended: copied text, OCR noise and small edits aside.
    #[default]
    Verbatim,
    /// By sentences of similar vocabulary ([`super::rewritten`]): text that was rewritten.
    Rewritten,
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
    /// How the passage was found.
    pub kind: Kind,
    /// How alike the two sides are, in [0, 1]: for a verbatim passage the share of the longer side's units
    /// matched one to one; for a rewritten one the tf-isf cosine of the two sides' terms.
    pub similarity: f64,
}

#[derive(Clone, Copy)]
struct Anchor {
    i: u32,
    j: u32,
}

/// Anchors of a pair: positions `(i, j)` where the n-grams of `a` and `b` are equal, in `out` (emptied first).
/// `a_index` maps each n-gram hash of a (minus boilerplate and over-repeated ones) to its positions. `seen` counts the
/// occurrences in b of each slot of `a_index`: all zeros on entry and on return (the slots counted, listed in
/// `touched`, are reset), so that one buffer serves every pair a thread aligns without being zeroed whole each time.
fn anchors(
    a_index: &NgramIndex,
    b_hashes: &[u64],
    cfg: &AlignConfig,
    seen: &mut Vec<u32>,
    touched: &mut Vec<u32>,
    out: &mut Vec<Anchor>,
) {
    out.clear();
    touched.clear();
    if seen.len() < a_index.slots.len() {
        seen.resize(a_index.slots.len(), 0);
    }
    for (j, h) in b_hashes.iter().enumerate() {
        if let Some(slot) = a_index.slot(*h) {
            // Only the first `max_repeat` occurrences in b of an n-gram seed anchors: repetitive text stays cheap.
            let c = &mut seen[slot as usize];
            if *c == 0 {
                touched.push(slot);
            }
            *c += 1;
            if *c as usize > cfg.max_repeat {
                continue;
            }
            let (first, _, count) = a_index.slots[slot as usize];
            let mut i = first;
            for k in 0..count {
                if k > 0 {
                    i = a_index.next[i as usize];
                }
                out.push(Anchor { i, j: j as u32 });
            }
        }
    }
    for &slot in touched.iter() {
        seen[slot as usize] = 0;
    }
    out.sort_unstable_by_key(|x| (x.i, x.j));
}

/// A set of n-gram hashes (boilerplate n-grams): FxHash, the values being hashes already.
pub type NgramSet = HashSet<u64, rustc_hash::FxBuildHasher>;

/// Open-addressing table from an n-gram hash to its slot in [`NgramIndex`] (linear probing, at most half full).
/// The n-gram hashes are uniform 64-bit values already, so their low bits pick the entry without hashing again; a
/// lookup of an absent n-gram (most of the other document's, in an unrelated pair) reads one or two entries.
#[derive(Debug, Clone, Default)]
struct SlotTable {
    /// `(hash, slot + 1)`; 0 marks an empty entry. Empty, or a power of two entries.
    entries: Vec<(u64, u32)>,
    len: usize,
}

impl SlotTable {
    /// An empty table for `n` hashes without growing.
    fn with_capacity(n: usize) -> SlotTable {
        SlotTable { entries: vec![(0, 0); (2 * n).next_power_of_two().max(16)], len: 0 }
    }

    /// The slot of `h`, if present.
    #[inline]
    fn get(&self, h: u64) -> Option<u32> {
        if self.entries.is_empty() {
            return None;
        }
        let mask = self.entries.len() - 1;
        let mut k = h as usize & mask;
        loop {
            let (key, v) = self.entries[k];
            if v == 0 {
                return None;
            }
            if key == h {
                return Some(v - 1);
            }
            k = (k + 1) & mask;
        }
    }

    /// The slot of `h` if present; otherwise `h` gets `slot` and `None` is returned.
    fn get_or_insert(&mut self, h: u64, slot: u32) -> Option<u32> {
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        let mask = self.entries.len() - 1;
        let mut k = h as usize & mask;
        loop {
            let (key, v) = self.entries[k];
            if v == 0 {
                self.entries[k] = (h, slot + 1);
                self.len += 1;
                return None;
            }
            if key == h {
                return Some(v - 1);
            }
            k = (k + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = (self.entries.len() * 2).max(16);
        let old = std::mem::replace(&mut self.entries, vec![(0, 0); size]);
        let mask = self.entries.len() - 1;
        for (h, v) in old.into_iter().filter(|e| e.1 != 0) {
            let mut k = h as usize & mask;
            while self.entries[k].1 != 0 {
                k = (k + 1) & mask;
            }
            self.entries[k] = (h, v);
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Index of a document's n-grams for [`align_pair`]: for each n-gram hash, its first `max_repeat` positions
/// (ascending). Flat: an open-addressing table (indexed by the hash's own low bits) from each distinct n-gram to its slot
/// (first position, last position, count), and one array chaining each position to the next one of the same
/// n-gram, so that building it allocates nothing per n-gram.
#[derive(Debug, Clone, Default)]
pub struct NgramIndex {
    /// One bit per `2^k` values of the hash's bits 32.., set for every n-gram indexed: most n-grams of the other
    /// document in a pair that shares little are told absent here, in a few kilobytes that stay in cache.
    filter: Vec<u64>,
    map: SlotTable,
    slots: Vec<(u32, u32, u32)>,
    next: Vec<u32>,
    max_repeat: usize,
}

impl NgramIndex {
    /// An empty index for positions `0..positions`, keeping at most `max_repeat` positions of an n-gram.
    pub fn new(positions: usize, max_repeat: usize) -> NgramIndex {
        // About 32 bits per position: one n-gram in 32 of those absent passes the filter.
        let bits = (positions * 32).next_power_of_two().clamp(512, 1 << 24);
        NgramIndex {
            filter: vec![0; bits / 64],
            map: SlotTable::default(),
            slots: Vec::new(),
            next: vec![0; positions],
            max_repeat,
        }
    }

    /// Adds position `i` (below the `positions` given to [`NgramIndex::new`], in ascending order over the calls) of
    /// n-gram `h`; ignored beyond its first `max_repeat` positions.
    pub fn push(&mut self, h: u64, i: u32) {
        if self.max_repeat == 0 {
            return;
        }
        if self.filter.is_empty() {
            // A default index: the smallest filter.
            self.filter = vec![0; 8];
        }
        let (w, bit) = self.filter_bit(h);
        self.filter[w] |= bit;
        match self.map.get_or_insert(h, self.slots.len() as u32) {
            None => self.slots.push((i, i, 1)),
            Some(slot) => {
                let v = &mut self.slots[slot as usize];
                if (v.2 as usize) < self.max_repeat {
                    self.next[v.1 as usize] = i;
                    v.1 = i;
                    v.2 += 1;
                }
            }
        }
    }

    /// The word and bit of `h` in the filter.
    #[inline]
    fn filter_bit(&self, h: u64) -> (usize, u64) {
        let k = (h >> 32) as usize & (self.filter.len() * 64 - 1);
        (k / 64, 1u64 << (k % 64))
    }

    /// The slot of `h`, if indexed.
    #[inline]
    fn slot(&self, h: u64) -> Option<u32> {
        if self.filter.is_empty() {
            return None;
        }
        let (w, bit) = self.filter_bit(h);
        if self.filter[w] & bit == 0 {
            return None;
        }
        self.map.get(h)
    }

    /// The positions of n-gram `h` (ascending; empty when absent).
    pub fn positions(&self, h: u64) -> Vec<u32> {
        let Some(slot) = self.slot(h) else { return Vec::new() };
        let (first, _, count) = self.slots[slot as usize];
        let mut out = vec![first];
        for _ in 1..count {
            out.push(self.next[*out.last().expect("one at least") as usize]);
        }
        out
    }

    /// Number of distinct n-grams.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no n-gram is indexed.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }
}

/// Index of a document's n-grams for [`align_pair`]: hash → positions (the first `max_repeat` of an n-gram
/// repeated more often), without the n-grams in `boilerplate`.
pub fn index_ngrams<S: BuildHasher>(hashes: &[u64], boilerplate: &HashSet<u64, S>, max_repeat: usize) -> NgramIndex {
    let mut m = NgramIndex::new(hashes.len(), max_repeat);
    m.map = SlotTable::with_capacity(hashes.len());
    m.slots.reserve(hashes.len());
    for (i, h) in hashes.iter().enumerate() {
        if !boilerplate.contains(h) {
            m.push(*h, i as u32);
        }
    }
    m
}

/// Units at each end of an alignment that must be at least four in five identical (longest common subsequence).
const END_RUN: u32 = 10;

/// Passages spanning fewer code points than this (on their longer side) must be near copies
/// ([`NEAR_COPY_IDENTITY`]). In Chinese text two different reports often share a formulaic sentence with its
/// numbers changed ("将于美国东部时间…上午8点（北京时间…晚上9点）举行"): 0.55–0.85 of it matches, while a reprint of
/// a sentence, OCR noise and script conversion included, keeps 0.9 or more. An English passage of `min_length`
/// words is longer than this, so the rule leaves word units (and noisy OCR) alone.
pub const NEAR_COPY_CHARS: u32 = 60;

/// Share of the longer side's units that a passage shorter than [`NEAR_COPY_CHARS`] must match one to one.
pub const NEAR_COPY_IDENTITY: f64 = 0.85;

/// Aligns two documents: chains of shared n-grams, split where they jump, trimmed to matched ends, extended and
/// mapped to original offsets (see the module documentation). Passages are returned in order of their start in
/// `a`; none is shorter than `min_length` units on either side, but for another occurrence of text that a longer
/// passage aligns (down to `min_short` units; a short paragraph printed in a row beside a passage, down to
/// `2 * ngram`), a short document printed whole and a passage in line with a longer one (down to `min_short`), and a
/// short paragraph that both documents print whole in line with a longer passage (down to half of `ngram` units).
/// Each passage begins and ends on matched units (an anchor or an X-drop extension through substitutions, or a whole
/// paragraph equal on both sides), and its `END_RUN` (10) outermost units on each end are at least four in five
/// identical: never a gap or one side's text. A passage spanning fewer than [`NEAR_COPY_CHARS`]
/// code points matches at least [`NEAR_COPY_IDENTITY`] of its longer side.
///
/// A text that one document prints twice aligns twice, once per copy (up to `max_repeat` copies): the copies
/// are two passages, and neither covers the text between them. A passage found later pairs no unit that earlier
/// ones align on both sides.
pub fn align_pair(a: &UnitDoc, a_index: &NgramIndex, b: &UnitDoc, b_hashes: &[u64], cfg: &AlignConfig) -> Vec<Passage> {
    SCRATCH.with(|cell| {
        // Taken out for the call (a nested call, were there one, would start from empty buffers).
        let mut scratch = cell.take();
        let passages = align_pair_with(a, a_index, b, b_hashes, cfg, &mut scratch);
        // Buffers grown past what ordinary pairs need are let go.
        if scratch.capacity() <= SCRATCH_KEPT_BYTES {
            cell.replace(scratch);
        }
        passages
    })
}

thread_local! {
    /// Working memory of [`align_pair`], one per thread, reused from one pair to the next.
    static SCRATCH: std::cell::RefCell<AlignScratch> = std::cell::RefCell::default();
}

/// Bytes of [`AlignScratch`] a thread keeps after a pair (more than the pairs of documents of tens of thousands of
/// units need): the buffers of a larger pair are freed, so that a process (a Python session) does not hold them.
const SCRATCH_KEPT_BYTES: usize = 16 << 20;

/// The buffers of one [`align_pair`] call that depend on the number of anchors or on the size of a's index.
#[derive(Default)]
struct AlignScratch {
    /// The pair's anchors ([`anchors`]).
    anchors: Vec<Anchor>,
    /// Occurrence counts by slot of a's index, and the slots counted ([`anchors`]).
    seen: Vec<u32>,
    touched: Vec<u32>,
    /// The chaining's scores, links, best scores so far and candidate links ([`chain_anchors`]).
    chaining: ChainScratch,
    /// Anchors by chain score, and whether each is in a chain already.
    order: Vec<usize>,
    used: Vec<bool>,
    /// The chain being followed, and its segments.
    chain: Vec<Anchor>,
    segments: Vec<Vec<Anchor>>,
}

impl AlignScratch {
    /// Bytes held.
    fn capacity(&self) -> usize {
        let anchor = std::mem::size_of::<Anchor>();
        anchor * (self.anchors.capacity() + self.chain.capacity())
            + 4 * (self.seen.capacity() + self.touched.capacity())
            + self.chaining.capacity()
            + 8 * self.order.capacity()
            + self.used.capacity()
            + self.segments.iter().map(|s| anchor * s.capacity()).sum::<usize>()
    }
}

/// Working memory of [`chain_anchors`].
#[derive(Default)]
struct ChainScratch {
    score: Vec<f64>,
    prev: Vec<usize>,
    top: Vec<f64>,
    cands: Vec<(f64, usize)>,
}

impl ChainScratch {
    /// Bytes held.
    fn capacity(&self) -> usize {
        8 * (self.score.capacity() + self.prev.capacity() + self.top.capacity()) + 16 * self.cands.capacity()
    }
}

/// [`align_pair`] with the working memory `scratch`.
fn align_pair_with(
    a: &UnitDoc,
    a_index: &NgramIndex,
    b: &UnitDoc,
    b_hashes: &[u64],
    cfg: &AlignConfig,
    scratch: &mut AlignScratch,
) -> Vec<Passage> {
    let AlignScratch { anchors: an, seen, touched, chaining, order, used, chain, segments } = scratch;
    anchors(a_index, b_hashes, cfg, seen, touched, an);
    if an.len() < cfg.min_anchors.max(1) {
        return Vec::new();
    }
    let an: &[Anchor] = an;
    let n = cfg.ngram as u32;
    let gaps = Gaps {
        a: &a.ids,
        b: &b.ids,
        by_i: an,
        by_j: std::cell::OnceCell::new(),
        n,
        max_indel: cfg.max_indel as u32,
        min_short: cfg.min_short.min(cfg.min_length) as u32,
        covered: std::cell::OnceCell::new(),
    };
    chain_anchors(an, &gaps, cfg, chaining);
    let (score, prev) = (&chaining.score, &chaining.prev);
    // Chains, best first; each anchor belongs to one chain.
    order.clear();
    order.extend(0..an.len());
    order.sort_unstable_by(|&x, &y| score[y].total_cmp(&score[x]).then(x.cmp(&y)));
    used.clear();
    used.resize(an.len(), false);
    let mut passages: Vec<Passage> = Vec::new();
    let mut pending: Vec<Passage> = Vec::new();
    for &end in order.iter() {
        if used[end] {
            continue;
        }
        chain.clear();
        let mut k = end;
        loop {
            if used[k] {
                break;
            }
            used[k] = true;
            chain.push(an[k]);
            if prev[k] == usize::MAX {
                break;
            }
            k = prev[k];
        }
        chain.reverse();
        if chain.len() < cfg.min_anchors {
            continue;
        }
        // Segments: anchors that pair units aligned already on both sides (by passages found before: an
        // off-diagonal repeat, or the seam between two copies) are left out, and the chain splits there. The
        // segments' vectors are kept (emptied) from one chain to the next; `used_segments` of them hold this one's.
        let mut used_segments = 1;
        if segments.is_empty() {
            segments.push(Vec::new());
        }
        segments[0].clear();
        for &x in chain.iter() {
            if (0..n).any(|k| aligned_already(&passages, x.i + k, x.j + k)) {
                if segments.len() == used_segments {
                    segments.push(Vec::new());
                }
                segments[used_segments].clear();
                used_segments += 1;
                continue;
            }
            segments[used_segments - 1].push(x);
        }
        for seg in &segments[..used_segments] {
            if seg.len() < cfg.min_anchors.max(1) {
                continue;
            }
            if let Some(p) = segment_passage(a, b, seg, &passages, cfg) {
                place(&mut passages, &mut pending, p, (a.len() as u32, b.len() as u32), cfg);
            }
        }
    }
    let finish = |p: &mut Passage| {
        let (la, lb) = (p.a_units.1 - p.a_units.0, p.b_units.1 - p.b_units.0);
        p.matches = p.matches.min(la.max(lb));
        p.a_span = a.passage_span(p.a_units.0 as usize, p.a_units.1 as usize);
        p.b_span = b.passage_span(p.b_units.0 as usize, p.b_units.1 as usize);
        p.score = (p.matches as f64 - (la as f64 - lb as f64).abs() * 0.5).max(0.0);
        p.similarity = (p.matches as f64 / la.max(lb).max(1) as f64 * 1e4).round() / 1e4;
    };
    passages.iter_mut().for_each(finish);
    // A short passage that is no near copy is two formulaic sentences (a dateline and a time, a stock phrase), not
    // reuse.
    passages.retain(|p| {
        let chars = (p.a_span.1 - p.a_span.0).max(p.b_span.1 - p.b_span.0);
        chars >= NEAR_COPY_CHARS || p.similarity >= NEAR_COPY_IDENTITY
    });
    tandem_copies(a, b, &mut passages, cfg);
    equal_paragraphs(a, b, (a_index, b_hashes), &mut passages, cfg);
    passages.iter_mut().for_each(finish);
    passages.sort_by_key(|p| (p.a_units, p.b_units));
    passages
}

/// Adds `cand` to `passages`, unless it repeats one of them out of place. A passage whose text on one side lies
/// inside passage `q` (all but a fifth of it, and fewer than `min_length` units) repeats `q`'s text on the other
/// side: it is another occurrence of that text. It stands as an alignment of its own (one per copy) when it repeats
/// the whole of `q` (at least four fifths of `q`'s span on that side) at another place, wherever that is, or when
/// it stands right beside `q` on the other side (no more than `max_indel` units away) and repeats `q`'s text at
/// that end (a paragraph printed twice or more in a row); such an occurrence may be as short as `min_short` units, since the longer passage vouches
/// for it. Elsewhere it waits in `pending`, to be tried again after each new alignment (the third copy of a
/// paragraph stands beside the second), and is dropped in the end: a sentence that a longer reused text quotes
/// twice, away from what it quotes, is no second reuse. A passage that repeats nothing stands when it is at least
/// `min_length` units long, when it covers three quarters of a document of `lens` (document a's and b's units)
/// or more (a short item, a brief or a caption, reprinted whole), or when it stands in line with a longer passage
/// of the pair, before it on both sides or after it on both, right beside it on one side (at most `ngram` units
/// away) and at most `max_gap` units away on the other (a title whose next paragraph one document dropped): these
/// down to `min_short` units. A shorter passage that is not yet in
/// line with one waits in `pending` too.
fn place(passages: &mut Vec<Passage>, pending: &mut Vec<Passage>, cand: Passage, lens: (u32, u32), cfg: &AlignConfig) {
    match placement(passages, &cand, lens, cfg) {
        Placement::New => {
            passages.push(cand);
            // Occurrences set aside may now stand beside this one.
            while let Some(x) = pending.iter().position(|c| matches!(placement(passages, c, lens, cfg), Placement::New))
            {
                let c = pending.remove(x);
                passages.push(c);
            }
        }
        Placement::Aside => pending.push(cand),
    }
}

/// Where a candidate passage goes (see [`place`]).
enum Placement {
    /// An alignment of its own.
    New,
    /// A repeated fragment away from what it repeats, or a short passage in line with no longer one yet: tried
    /// again after each new alignment, dropped in the end.
    Aside,
}

fn placement(passages: &[Passage], cand: &Passage, (la, lb): (u32, u32), cfg: &AlignConfig) -> Placement {
    let len = |x: (u32, u32)| x.1 - x.0;
    // A short document printed (nearly) whole, a dateline or a source line aside: its passage may be as short as
    // the document.
    let whole = len(cand.a_units) * 4 >= la * 3 || len(cand.b_units) * 4 >= lb * 3;
    let short = len(cand.a_units).min(len(cand.b_units)) < cfg.min_length as u32 && !whole;
    let mut repeat = false;
    for q in passages {
        for side_a in [true, false] {
            let (q_same, c_same, q_new, c_new) = if side_a {
                (q.a_units, cand.a_units, q.b_units, cand.b_units)
            } else {
                (q.b_units, cand.b_units, q.a_units, cand.a_units)
            };
            let ov = overlap(q_same, c_same);
            let outside = len(c_same) - ov;
            if outside * 5 > len(c_same) || outside >= cfg.min_length as u32 {
                continue;
            }
            repeat = true;
            if overlap(q_new, c_new) > 0 {
                continue;
            }
            // In a row: beside q on the new side, repeating q's text at that end.
            let gap = cfg.max_indel as u32;
            let in_row = distance(q_new, c_new) <= gap
                && if c_new.0 >= q_new.1 { c_same.1 + gap >= q_same.1 } else { c_same.0 <= q_same.0 + gap };
            if ov * 5 >= len(q_same) * 4 || in_row {
                return Placement::New;
            }
        }
    }
    // In line with a longer passage of the pair: before it on both sides, or after it on both, right beside it on
    // one side (at most `ngram` units away) and within `max_gap` units on the other (a title or a lead whose next
    // paragraph one document dropped). Where both sides have text between (a rewritten sentence), it is a
    // fragment of a rewritten passage, not a passage of its own.
    let in_line = |q: &Passage| {
        let long = len(q.a_units).min(len(q.b_units)) >= cfg.min_length as u32;
        let before = cand.a_units.1 <= q.a_units.0 && cand.b_units.1 <= q.b_units.0;
        let after = cand.a_units.0 >= q.a_units.1 && cand.b_units.0 >= q.b_units.1;
        let (da, db) = (distance(q.a_units, cand.a_units), distance(q.b_units, cand.b_units));
        long && (before || after) && da.min(db) <= cfg.ngram as u32 && da.max(db) <= cfg.max_gap as u32
    };
    match (repeat, short) {
        (true, _) => Placement::Aside,
        (false, false) => Placement::New,
        (false, true) if passages.iter().any(in_line) => Placement::New,
        (false, true) => Placement::Aside,
    }
}

fn overlap(x: (u32, u32), y: (u32, u32)) -> u32 {
    x.1.min(y.1).saturating_sub(x.0.max(y.0))
}

/// Units between two intervals (0 when they touch or overlap).
fn distance(x: (u32, u32), y: (u32, u32)) -> u32 {
    x.0.max(y.0).saturating_sub(x.1.min(y.1))
}

/// Chaining dynamic programming over anchors sorted by `(i, j)` (`by_j`: the same anchors sorted by `(j, i)`), into
/// `out` (its vectors emptied first): `score[k]` is the best chain ending at anchor `k`, `prev[k]` its previous anchor
/// (`usize::MAX` at a chain's start). A link bridges at most `max_gap` units on either side, and only a gap that
/// [`Gaps::bridges`].
fn chain_anchors(an: &[Anchor], gaps: &Gaps, cfg: &AlignConfig, out: &mut ChainScratch) {
    let n = cfg.ngram as i64;
    let gap = cfg.max_gap as i64;
    let ChainScratch { score, prev, top, cands } = out;
    score.clear();
    score.resize(an.len(), 0.0);
    prev.clear();
    prev.resize(an.len(), usize::MAX);
    // `top[k]`: the best score of anchors `0..=k`. A link from `p` scores at most `score[p] + n`, so once
    // `top[p] + n` cannot beat the best link found, no anchor at or before `p` can: the scan stops there (the
    // result is the one of scanning all of [`predecessors`]).
    top.clear();
    top.resize(an.len(), 0.0);
    for k in 0..an.len() {
        let (mut best, mut best_p) = (n as f64, usize::MAX);
        let ik = an[k].i as i64;
        let mut taken = 0usize;
        for p in (k.saturating_sub(LOOKBACK * 4)..k).rev() {
            if ik - (an[p].i as i64) > gap + n || top[p] + n as f64 <= best {
                break;
            }
            let Some(s) = link_score(an, score, p, k, n, gap) else { continue };
            if s > best {
                (best, best_p) = (s, p);
            }
            taken += 1;
            if taken == LOOKBACK {
                break;
            }
        }
        // The best predecessor whose gap may be bridged; ties go to the nearest. The gap check costs more than
        // the score, so it runs on the best candidate, and on the next best only where that one fails.
        if best_p != usize::MAX && !gaps.bridges(an[best_p], an[k]) {
            cands.clear();
            cands.extend(predecessors(an, score, k, n, gap).filter(|c| c.1 != best_p && c.0 > n as f64));
            cands.sort_by(|x, y| y.0.total_cmp(&x.0));
            (best, best_p) =
                cands.iter().find(|c| gaps.bridges(an[c.1], an[k])).map_or((n as f64, usize::MAX), |&(s, p)| (s, p));
        }
        (score[k], prev[k]) = (best, best_p);
        top[k] = if k == 0 { best } else { top[k - 1].max(best) };
    }
}

/// Predecessors of an anchor scored by [`predecessors`]: at most this many, nearest first.
const LOOKBACK: usize = 64;

/// The chain score through a link from anchor `p` to anchor `k` (see [`predecessors`]), `None` where `p` is not
/// before `k` on both sides or is more than `gap + n` units back on side b.
fn link_score(an: &[Anchor], score: &[f64], p: usize, k: usize, n: i64, gap: i64) -> Option<f64> {
    let (ik, jk) = (an[k].i as i64, an[k].j as i64);
    let (ip, jp) = (an[p].i as i64, an[p].j as i64);
    if ip >= ik || jp >= jk || jk - jp > gap + n {
        return None;
    }
    let (di, dj) = (ik - ip, jk - jp);
    let new = di.min(dj).min(n) as f64;
    let skew = (di - dj).abs() as f64;
    let bridged = (di.max(dj) - n).max(0) as f64;
    Some(score[p] + new - 0.5 * skew - 0.05 * bridged)
}

/// Predecessors of anchor `k` that a chain may come from (before it on both sides, at most `gap + n` units
/// back), nearest first and at most 64 of them, with the chain score through each: its score plus the units
/// anchor `k` adds, minus 0.5 per unit of skew and 0.05 per unit bridged.
fn predecessors<'s>(
    an: &'s [Anchor],
    score: &'s [f64],
    k: usize,
    n: i64,
    gap: i64,
) -> impl Iterator<Item = (f64, usize)> + 's {
    let ik = an[k].i as i64;
    (k.saturating_sub(LOOKBACK * 4)..k)
        .rev()
        .take_while(move |&p| ik - (an[p].i as i64) <= gap + n)
        .filter_map(move |p| link_score(an, score, p, k, n, gap).map(|s| (s, p)))
        .take(LOOKBACK)
}

/// What lies in the gap between two anchors of a chain, and whether a passage may bridge it.
struct Gaps<'a> {
    a: &'a [u64],
    b: &'a [u64],
    /// Anchors sorted by `(i, j)`, and (built on first use) by `(j, i)`.
    by_i: &'a [Anchor],
    by_j: std::cell::OnceCell<Vec<Anchor>>,
    n: u32,
    max_indel: u32,
    min_short: u32,
    /// For a and for b, built on first use: `covered[k]` = units before `k` that some anchor's window covers.
    covered: std::cell::OnceCell<[Vec<u32>; 2]>,
}

impl Gaps<'_> {
    /// True when the n-grams inside gap `g` on side a (`side` 0) or b (1), between anchors `p` and `x`, align
    /// in the other document beside the link (within `excess` units of it), all in a stretch shorter than
    /// `min_length`: a short text printed twice in a row (a doubled line or short paragraph), too short to stand
    /// as a passage of its own. At most a fifth of the gap may align elsewhere.
    fn doubled(&self, side: usize, g: (u32, u32), (p, x): (Anchor, Anchor), excess: u32) -> bool {
        let n = self.n;
        let gap = g.1 - g.0;
        // Anchors whose window lies inside the gap, in order along the gap's side; `near` on the other side.
        let (near, anchors) = if side == 0 {
            let from = self.by_i.partition_point(|y| y.i < g.0);
            let to = self.by_i.partition_point(|y| y.i + n <= g.1).max(from);
            ((p.j.saturating_sub(excess), x.j + n + excess), &self.by_i[from..to])
        } else {
            let by_j = self.by_j.get_or_init(|| {
                let mut v = self.by_i.to_vec();
                v.sort_unstable_by_key(|y| (y.j, y.i));
                v
            });
            let from = by_j.partition_point(|y| y.j < g.0);
            let to = by_j.partition_point(|y| y.j + n <= g.1).max(from);
            ((p.i.saturating_sub(excess), x.i + n + excess), &by_j[from..to])
        };
        let windows = anchors.iter().map(|y| if side == 0 { (y.i, y.j) } else { (y.j, y.i) });
        let (mut far, mut far_end) = (0u32, 0u32);
        let (mut lo, mut hi) = (u32::MAX, 0u32);
        for (s, o) in windows {
            if o < near.1 && o + n > near.0 {
                lo = lo.min(o);
                hi = hi.max(o + n);
                if hi - lo >= self.min_short {
                    return false;
                }
            } else if s + n > far_end {
                far += s + n - s.max(far_end);
                far_end = s + n;
                if far * 5 >= gap {
                    return false;
                }
            }
        }
        true
    }

    /// Units of `[s, e)` on side a (`side` 0) or b (1) that some anchor's n-gram window covers.
    fn covered(&self, side: usize, (s, e): (u32, u32)) -> u32 {
        let c = &self.covered.get_or_init(|| {
            let count = |len: usize, starts: &mut dyn Iterator<Item = u32>| {
                let mut depth = vec![0i32; len + 1];
                for x in starts {
                    depth[x as usize] += 1;
                    depth[(x + self.n) as usize] -= 1;
                }
                let mut out = vec![0u32; len + 1];
                let mut d = 0;
                for k in 0..len {
                    d += depth[k];
                    out[k + 1] = out[k] + u32::from(d > 0);
                }
                out
            };
            [
                count(self.a.len(), &mut self.by_i.iter().map(|y| y.i)),
                count(self.b.len(), &mut self.by_i.iter().map(|y| y.j)),
            ]
        })[side];
        c[e as usize] - c[s as usize]
    }

    /// True when a passage may run from anchor `p` to anchor `x` across the units between them:
    /// - the one-sided part of the gap (where one side runs on longer than the other) is a repeat of the text
    ///   beside it (a doubled line or paragraph), or is no longer than `max_indel` units (a dropped sentence)
    ///   and does not align elsewhere in the other document (a displaced text: the two sides continue at
    ///   inconsistent places);
    /// - the two-sided part, where both sides have at least `2n` units, reads as the same text (Dice of unit
    ///   multisets at least 0.5: OCR damage), not as two different texts in the same place.
    fn bridges(&self, p: Anchor, x: Anchor) -> bool {
        let n = self.n;
        let ga = (p.i + n, x.i.max(p.i + n));
        let gb = (p.j + n, x.j.max(p.j + n));
        let (la, lb) = (ga.1 - ga.0, gb.1 - gb.0);
        if la.max(lb) < 2 * n {
            return true;
        }
        let excess = la.abs_diff(lb);
        if excess >= n {
            let gap = la.max(lb);
            let (side, g) = if la > lb { (0, ga) } else { (1, gb) };
            if self.covered(side, g) * 2 < gap {
                // Text that the other document lacks: a dropped sentence, or another text.
                if excess > self.max_indel {
                    return false;
                }
            } else if !self.doubled(side, g, (p, x), excess) {
                // Text that the other document has too, elsewhere or long enough to stand as a passage.
                return false;
            }
        }
        if la.min(lb) >= 2 * n {
            let (sa, sb) = (&self.a[ga.0 as usize..ga.1 as usize], &self.b[gb.0 as usize..gb.1 as usize]);
            if dice(sa, sb) < 0.5 {
                return false;
            }
        }
        true
    }
}

/// Dice coefficient of two unit multisets: `2 · Σ min(count_x(v), count_y(v)) / (|x| + |y|)`, 1 for two empty ones.
/// The common units are counted in a hash table of `x`'s units ([`MultisetCounts`]), one pass over each side, where
/// sorting copies of both sides cost most of the alignment of long transcripts (a gap between two anchors is up to
/// `max_gap` units, and chaining weighs a gap at every link it considers).
fn dice(x: &[u64], y: &[u64]) -> f64 {
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let common = MULTISET.with_borrow_mut(|t| t.common(x, y));
    2.0 * common as f64 / (x.len() + y.len()) as f64
}

thread_local! {
    /// The table of [`dice`], one per thread, reused from one call to the next.
    static MULTISET: std::cell::RefCell<MultisetCounts> = std::cell::RefCell::default();
}

/// Counts of the units of one multiset, to count what another has in common with it ([`UnitTable`]).
#[derive(Default)]
struct MultisetCounts {
    counts: UnitTable,
}

impl MultisetCounts {
    /// `Σ min(count_x(v), count_y(v))` over the units `v`.
    fn common(&mut self, x: &[u64], y: &[u64]) -> usize {
        let counts = &mut self.counts;
        counts.reset(x.len());
        for &v in x {
            *counts.entry(v, 0) += 1;
        }
        let mut common = 0;
        for &v in y {
            if let Some(c) = counts.get_mut(v) {
                if *c > 0 {
                    *c -= 1;
                    common += 1;
                }
            }
        }
        common
    }
}

/// A table from unit ids to 32-bit values for one call at a time, reused by the next: open addressing with linear
/// probing, at most half full, a unit's slot from its id multiplied by an odd constant (character ids are code
/// points with a constant mixed in, not uniform hashes). A slot is occupied when its stamp is the current call's, so
/// the table is never cleared between calls (only when the stamps wrap). An `FxHashMap` cleared at each call made
/// `passages` on xwlb 6% slower (3.25-3.33 against 3.08-3.15 s, six rounds in turns).
#[derive(Default)]
struct UnitTable {
    keys: Vec<u64>,
    values: Vec<u32>,
    stamps: Vec<u32>,
    stamp: u32,
    /// The slots in use by this call: `2^bits`, at least twice the units it holds.
    bits: u32,
}

impl UnitTable {
    /// Empties the table for up to `n` distinct units.
    fn reset(&mut self, n: usize) {
        let size = (2 * n).next_power_of_two().max(16);
        if self.keys.len() < size {
            (self.keys, self.values, self.stamps) = (vec![0; size], vec![0; size], vec![0; size]);
            self.stamp = 0;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.stamps.fill(0);
            self.stamp = 1;
        }
        self.bits = size.trailing_zeros();
    }

    /// The slot of `v`, or the empty one where it would go.
    #[inline]
    fn slot(&self, v: u64) -> usize {
        let mask = (1usize << self.bits) - 1;
        let mut s = (v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize;
        while self.stamps[s] == self.stamp && self.keys[s] != v {
            s = (s + 1) & mask;
        }
        s
    }

    /// The value of `v`, `new` put in first when `v` is not in the table.
    #[inline]
    fn entry(&mut self, v: u64, new: u32) -> &mut u32 {
        let s = self.slot(v);
        if self.stamps[s] != self.stamp {
            (self.keys[s], self.values[s], self.stamps[s]) = (v, new, self.stamp);
        }
        &mut self.values[s]
    }

    /// The value of `v`, when it is in the table.
    #[inline]
    fn get_mut(&mut self, v: u64) -> Option<&mut u32> {
        let s = self.slot(v);
        (self.stamps[s] == self.stamp).then(|| &mut self.values[s])
    }
}

/// True when unit `i` of a and unit `j` of b both lie inside passages aligned already (not necessarily one):
/// that pair is aligned on both sides.
fn aligned_already(passages: &[Passage], i: u32, j: u32) -> bool {
    passages.iter().any(|p| (p.a_units.0..p.a_units.1).contains(&i))
        && passages.iter().any(|p| (p.b_units.0..p.b_units.1).contains(&j))
}

/// The passage of one chain segment: its identity runs, trimmed so that it begins and ends on a run that
/// outweighs the gap beside it, extended at both ends by X-drop (not into a passage aligned already), trimmed
/// again until its `END_RUN` outermost units on each end are at least four in five identical, and kept when long
/// enough and matched enough.
fn segment_passage(
    a: &UnitDoc,
    b: &UnitDoc,
    seg: &[Anchor],
    accepted: &[Passage],
    cfg: &AlignConfig,
) -> Option<Passage> {
    let n = cfg.ngram as u32;
    // Identity runs: anchors on one diagonal whose windows overlap or touch, as (i0, i1, j0).
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    for x in seg {
        match runs.last_mut() {
            Some(r) if x.i <= r.1 && x.j as i64 - x.i as i64 == r.2 as i64 - r.0 as i64 => r.1 = r.1.max(x.i + n),
            _ => runs.push((x.i, x.i + n, x.j)),
        }
    }
    let len = |r: &(u32, u32, u32)| r.1 - r.0;
    // What a gap between two runs costs: its one-sided units, plus its two-sided units that the other side
    // lacks (by unit multiset).
    let cost = |r: &(u32, u32, u32), s: &(u32, u32, u32)| -> u32 {
        let ga = (s.0 as i64 - r.1 as i64).max(0) as u32;
        let gb = (s.2 as i64 - (r.2 + len(r)) as i64).max(0) as u32;
        let two = ga.min(gb);
        let unmatched = if two == 0 {
            0.0
        } else {
            let sa = &a.ids[r.1 as usize..(r.1 + ga) as usize];
            let sb = &b.ids[(r.2 + len(r)) as usize..(r.2 + len(r) + gb) as usize];
            (1.0 - dice(sa, sb)) * two as f64
        };
        ga.abs_diff(gb) + unmatched.round() as u32
    };
    let (mut lo, mut hi) = (0usize, runs.len());
    while hi - lo >= 2 && len(&runs[lo]) < cost(&runs[lo], &runs[lo + 1]) {
        lo += 1;
    }
    while hi - lo >= 2 && len(&runs[hi - 1]) < cost(&runs[hi - 2], &runs[hi - 1]) {
        hi -= 1;
    }
    // X-drop ungapped extension at both ends, through substitutions, not into an aligned passage; an end whose
    // outermost units are not identical enough gives up its run.
    let blocked = |i: usize, j: usize| aligned_already(accepted, i as u32, j as u32);
    let end = END_RUN as usize;
    // The outermost start at or before run r's start, on its diagonal and within its X-drop extension, that is a
    // matched unit with its END_RUN units matched enough; with the matches in the extension kept.
    let head = |r: (u32, u32, u32)| -> Option<(usize, usize, u32)> {
        let (i, j) = (r.0 as usize, r.2 as usize);
        let (l, _) = xdrop(&a.ids, &b.ids, i, j, -1, &blocked);
        (0..=l).rev().find_map(|t| {
            let (s, u) = (i - t, j - t);
            let ok = a.ids[s] == b.ids[u]
                && ends_match(&a.ids[s..(s + end).min(a.len())], &b.ids[u..(u + end).min(b.len())]);
            ok.then(|| (s, u, (s..i).filter(|&k| a.ids[k] == b.ids[k - s + u]).count() as u32))
        })
    };
    let tail = |r: (u32, u32, u32)| -> Option<(usize, usize, u32)> {
        let (i, j) = (r.1 as usize, (r.2 + len(&r)) as usize);
        let (l, _) = xdrop(&a.ids, &b.ids, i, j, 1, &blocked);
        (0..=l).rev().find_map(|t| {
            let (e, f) = (i + t, j + t);
            let ok = a.ids[e - 1] == b.ids[f - 1]
                && ends_match(&a.ids[e.saturating_sub(end)..e], &b.ids[f.saturating_sub(end)..f]);
            ok.then(|| (e, f, (i..e).filter(|&k| a.ids[k] == b.ids[k - i + j]).count() as u32))
        })
    };
    let (mut a0, mut b0, mut lm) = (0, 0, 0);
    while lo < hi {
        match head(runs[lo]) {
            Some(h) => {
                (a0, b0, lm) = h;
                break;
            }
            None => lo += 1,
        }
    }
    let (mut a1, mut b1, mut rm) = (0, 0, 0);
    while lo < hi {
        match tail(runs[hi - 1]) {
            Some(t) => {
                (a1, b1, rm) = t;
                break;
            }
            None => hi -= 1,
        }
    }
    if lo >= hi || a1 <= a0 || b1 <= b0 {
        return None;
    }
    // Matched units: the union of the runs on side a, and the extensions.
    let mut matches = lm + rm;
    let mut covered_to = 0u32;
    for r in &runs[lo..hi] {
        let s = r.0.max(covered_to);
        if r.1 > s {
            matches += r.1 - s;
        }
        covered_to = covered_to.max(r.1);
    }
    let floor = cfg.min_short.min(cfg.min_length);
    if a1 - a0 < floor || b1 - b0 < floor {
        return None;
    }
    if (matches as f64) < cfg.min_identity * (a1 - a0).max(b1 - b0) as f64 {
        return None;
    }
    Some(Passage {
        a_units: (a0 as u32, a1 as u32),
        b_units: (b0 as u32, b1 as u32),
        a_span: (0, 0),
        b_span: (0, 0),
        matches,
        score: 0.0,
        kind: Kind::Verbatim,
        similarity: 0.0,
    })
}

/// True when two short unit sequences (an alignment's outermost units) have a longest common subsequence of at
/// least four units in five of the longer one.
fn ends_match(x: &[u64], y: &[u64]) -> bool {
    lcs(x, y) as usize * 5 >= x.len().max(y.len()) * 4
}

/// Length of the longest common subsequence of two unit sequences, by the bit-parallel recurrence of Allison and Dix
/// (1986) in Hyyrö's form ("Bit-parallel LCS-length computation revisited", 2004): a bit vector `V` over the positions
/// of `y`, all ones at first; for each unit of `x` with match mask `M` (the positions of `y` holding that unit),
/// `V ← (V + (V & M)) | (V & !M)`; the LCS length is the number of zeros in `V`. 64 positions of `y` a word, so
/// O(|x| · ⌈|y| / 64⌉) word operations, where the dynamic programming table of the definition costs |x| · |y| cells
/// (the copies of a tandem repeat are compared with units of up to [`MAX_PERIOD`]). A unit absent from `y` leaves `V`
/// as it is. The masks are built per call in the thread's [`LcsMasks`].
fn lcs(x: &[u64], y: &[u64]) -> u32 {
    if x.is_empty() || y.is_empty() {
        return 0;
    }
    LCS_MASKS.with_borrow_mut(|t| t.lcs(x, y))
}

thread_local! {
    /// The match masks of [`lcs`], one table per thread.
    static LCS_MASKS: std::cell::RefCell<LcsMasks> = std::cell::RefCell::default();
}

/// The match masks of one sequence for [`lcs`]: its distinct units in a [`UnitTable`], each with the row of `words`
/// 64-bit words of the positions holding it; and the bit vector `V`.
#[derive(Default)]
struct LcsMasks {
    rows: UnitTable,
    masks: Vec<u64>,
    v: Vec<u64>,
}

impl LcsMasks {
    fn lcs(&mut self, x: &[u64], y: &[u64]) -> u32 {
        let words = y.len().div_ceil(64);
        self.rows.reset(y.len());
        self.masks.clear();
        // The row of each distinct unit of `y`, its positions' bits set.
        for (k, &u) in y.iter().enumerate() {
            let next = (self.masks.len() / words) as u32;
            let row = *self.rows.entry(u, next);
            if row == next {
                self.masks.resize(self.masks.len() + words, 0);
            }
            self.masks[row as usize * words + k / 64] |= 1 << (k % 64);
        }
        let v = &mut self.v;
        v.clear();
        v.resize(words, u64::MAX);
        for &u in x {
            let Some(&mut row) = self.rows.get_mut(u) else { continue };
            let row = row as usize;
            let m = &self.masks[row * words..(row + 1) * words];
            // V + (V & M) with the carry across words, OR V & !M.
            let mut carry = 0u64;
            for (w, &mw) in v.iter_mut().zip(m) {
                let matched = *w & mw;
                let (sum, c1) = w.overflowing_add(matched);
                let (sum, c2) = sum.overflowing_add(carry);
                carry = u64::from(c1 | c2);
                *w = sum | (*w & !mw);
            }
        }
        // Zeros among the first |y| bits (the carries reach the bits past them, which are not counted).
        let (full, rest) = (y.len() / 64, y.len() % 64);
        let mut ones: u32 = v[..full].iter().map(|w| w.count_ones()).sum();
        if rest > 0 {
            ones += (v[full] & ((1u64 << rest) - 1)).count_ones();
        }
        y.len() as u32 - ones
    }
}

/// Longest period of a tandem copy looked for (units): a paragraph or title printed again right beside itself.
const MAX_PERIOD: usize = 200;

/// Units that a copy's length may differ from its model's (OCR drops or doubles characters).
const COPY_SLACK: usize = 3;

/// Every further copy of a short paragraph or title that one document prints several times in a row, where the
/// first or last paragraph of a passage is such a paragraph and the other document prints it once: each copy is
/// aligned with that one print, as an alignment of its own. Chains seldom find these copies themselves: a copy
/// shorter than `min_length` stands only beside the passage that vouches for it, and a longer chain through the
/// title and the line after it (a copy and the next copy's head) often takes its anchors first.
///
/// For each end of each passage of at least `min_length` units and each side, the period `m` of the repeat is the
/// shortest (from `2 * ngram` units, at most [`MAX_PERIOD`] and half the passage) at which the n-gram that the passage's end paragraph begins (at its start) or
/// its copy would begin (at its end) stands `m` units away, beyond the passage, with the copy and the passage's
/// `m` end units at least four in five alike (longest common subsequence, lengths within [`COPY_SLACK`]). Copies
/// are taken one after the other away from the passage while they stay that alike, up to `max_repeat`; each pairs
/// with the other side's units that match the passage's `m` end units best. A copy that some passage already
/// pairs with that text (both sides overlapping) is skipped, not aligned twice.
fn tandem_copies(a: &UnitDoc, b: &UnitDoc, passages: &mut Vec<Passage>, cfg: &AlignConfig) {
    let n = cfg.ngram.max(1);
    let floor = 2 * n;
    if passages.is_empty() || cfg.min_short.min(cfg.min_length) == 0 {
        return;
    }
    let alike = |x: &[u64], y: &[u64]| lcs(x, y) as usize * 5 >= x.len().max(y.len()) * 4;
    let mut found: Vec<Passage> = Vec::new();
    for p in passages.iter() {
        for (side_a, at_start) in [(true, true), (true, false), (false, true), (false, false)] {
            // `r`: the side that may repeat; `o`: the other side.
            let (r, o, ru, ou) =
                if side_a { (&a.ids, &b.ids, p.a_units, p.b_units) } else { (&b.ids, &a.ids, p.b_units, p.a_units) };
            let (r0, r1) = (ru.0 as usize, ru.1 as usize);
            let plen = r1 - r0;
            // A passage vouches for copies of its end paragraph when it holds more than that paragraph: at least
            // `min_length` units on each side, twice the period on this one.
            if plen.min((ou.1 - ou.0) as usize) < cfg.min_length {
                continue;
            }
            // The period: the shortest m whose copy beyond the passage's end is alike to the passage's m end units.
            let period = (floor..=MAX_PERIOD.min(plen / 2)).find(|&m| {
                let (model, copy) = if at_start {
                    if r0 < m {
                        return false;
                    }
                    ((r0, r0 + m), (r0 - m, r0))
                } else {
                    if r1 + m > r.len() {
                        return false;
                    }
                    ((r1 - m, r1), (r1, r1 + m))
                };
                r[model.0..model.0 + n] == r[copy.0..copy.0 + n] && alike(&r[model.0..model.1], &r[copy.0..copy.1])
            });
            let Some(m) = period else { continue };
            let model: &[u64] = if at_start { &r[r0..r0 + m] } else { &r[r1 - m..r1] };
            // The other side's print of the model: the length (m ± slack) that matches it best.
            let (o0, o1) = (ou.0 as usize, ou.1 as usize);
            let best = (m.saturating_sub(COPY_SLACK).max(1)..=(m + COPY_SLACK).min(o1 - o0))
                .map(|mo| {
                    let x = if at_start { &o[o0..o0 + mo] } else { &o[o1 - mo..o1] };
                    (lcs(model, x), std::cmp::Reverse(mo.abs_diff(m)), mo)
                })
                .max();
            let Some((_, _, mo)) = best else { continue };
            let oc = if at_start { (o0, o0 + mo) } else { (o1 - mo, o1) };
            if !alike(model, &o[oc.0..oc.1]) {
                continue;
            }
            // Walk the copies away from the passage.
            let mut edge = if at_start { r0 } else { r1 };
            for _ in 0..cfg.max_repeat {
                let copy = (m.saturating_sub(COPY_SLACK).max(n)..=m + COPY_SLACK)
                    .filter_map(|len| {
                        let c = if at_start { (edge.checked_sub(len)?, edge) } else { (edge, edge + len) };
                        (c.1 <= r.len()).then(|| (lcs(model, &r[c.0..c.1]), std::cmp::Reverse(len.abs_diff(m)), c))
                    })
                    .max();
                let Some((common, _, c)) = copy else { break };
                if (common as usize) * 5 < m.max(c.1 - c.0) * 4 {
                    break;
                }
                let cu = (c.0 as u32, c.1 as u32);
                let ocu = (oc.0 as u32, oc.1 as u32);
                let (au, bu) = if side_a { (cu, ocu) } else { (ocu, cu) };
                let same_pair = |q: &Passage| overlap(q.a_units, au) > 0 && overlap(q.b_units, bu) > 0;
                // A copy that some passage pairs with that text already is not aligned twice.
                if !passages.iter().chain(&found).any(same_pair) {
                    found.push(Passage {
                        a_units: au,
                        b_units: bu,
                        a_span: (0, 0),
                        b_span: (0, 0),
                        matches: common,
                        score: 0.0,
                        kind: Kind::Verbatim,
                        similarity: 0.0,
                    });
                }
                edge = if at_start { c.0 } else { c.1 };
            }
        }
    }
    passages.extend(found);
}

/// Short paragraphs (a title, a byline, a URL line: fewer than `min_length` units, at least half of `ngram`) that
/// both documents print whole, equal after normalization ([`UnitDoc::paragraphs`]), where the pair shares other
/// reuse: the paragraph lies in line with a passage of at least `min_length` units on each side (before it on both
/// sides or after it on both, at most `ngram` units away on one side and `max_gap` on the other). Such a paragraph
/// has too few units for anchors (fewer than `ngram`) or for a passage of its own (fewer than `min_short`), and a
/// line that unrelated reports both print (a reporter's name, a source line) is no reuse unless the two documents
/// share other text. Each equal pair of paragraphs is aligned as a passage of its own (similarity 1), every copy
/// of one that a document repeats included; paragraphs that follow each other in both documents join into one
/// passage, and one at most `COPY_SLACK` units from a longer passage on both sides joins that passage instead (a
/// title over its text). The first paragraphs of both documents also match on a common end when one or both put
/// at most `2 * ngram` units before it (a dateline). Skipped: a pair that some passage aligns already (both sides
/// overlapping), the last paragraph of both documents (a source line or a credit each publication adds), a
/// paragraph printed more than `max_repeat` times in one document (a standing line), and one of `ngram` units or
/// more none of whose n-grams seeds anchors (all boilerplate: found in more than `max_df` documents).
fn equal_paragraphs(
    a: &UnitDoc,
    b: &UnitDoc,
    (a_index, b_hashes): (&NgramIndex, &[u64]),
    passages: &mut Vec<Passage>,
    cfg: &AlignConfig,
) {
    let len = |x: (u32, u32)| x.1 - x.0;
    let long: Vec<(u32, u32, u32, u32)> = passages
        .iter()
        .filter(|p| len(p.a_units).min(len(p.b_units)) >= cfg.min_length as u32)
        .map(|p| (p.a_units.0, p.a_units.1, p.b_units.0, p.b_units.1))
        .collect();
    if long.is_empty() {
        return;
    }
    let min_units = cfg.ngram.div_ceil(2).max(1) as u32;
    let short = |x: &(u32, u32)| len(*x) >= min_units && len(*x) < cfg.min_length as u32;
    let (pa, pb) = (a.paragraphs(), b.paragraphs());
    // b's short paragraphs by their units.
    let mut by_units: FxHashMap<&[u64], Vec<u32>> = FxHashMap::default();
    for (k, x) in pb.iter().enumerate().filter(|(_, x)| short(x)) {
        by_units.entry(&b.ids[x.0 as usize..x.1 as usize]).or_default().push(k as u32);
    }
    let mut count_a: FxHashMap<&[u64], u32> = FxHashMap::default();
    for x in pa.iter().filter(|x| short(x)) {
        *count_a.entry(&a.ids[x.0 as usize..x.1 as usize]).or_default() += 1;
    }
    // Equal pairs (paragraph of a, paragraph of b), in order.
    let mut equal: Vec<(u32, u32)> = Vec::new();
    for (k, x) in pa.iter().enumerate().filter(|(_, x)| short(x)) {
        let key = &a.ids[x.0 as usize..x.1 as usize];
        let Some(ks) = by_units.get(key) else { continue };
        if ks.len() > cfg.max_repeat || count_a[key] as usize > cfg.max_repeat {
            continue;
        }
        equal.extend(ks.iter().map(|&m| (k as u32, m)));
    }
    let is_equal: HashSet<(u32, u32)> = equal.iter().copied().collect();
    // Runs of paragraphs that follow each other in both documents, longest first.
    let mut runs: Vec<((u32, u32), u32)> = equal
        .iter()
        .filter(|&&(k, m)| k == 0 || m == 0 || !is_equal.contains(&(k - 1, m - 1)))
        .map(|&(k, m)| ((k, m), (0..).take_while(|&t| is_equal.contains(&(k + t, m + t))).count() as u32))
        .collect();
    runs.sort_by_key(|&((k, m), n)| (std::cmp::Reverse(n), k, m));
    // Candidates: units on side a, on side b, and whether they end both documents.
    type Candidate = ((u32, u32), (u32, u32), bool);
    let mut cands: Vec<Candidate> = runs
        .iter()
        .map(|&((k, m), n)| {
            let au = (pa[k as usize].0, pa[(k + n - 1) as usize].1);
            let bu = (pb[m as usize].0, pb[(m + n - 1) as usize].1);
            (au, bu, k + n == pa.len() as u32 && m + n == pb.len() as u32)
        })
        .collect();
    // The first paragraphs of both documents, equal but for a dateline that one or both put before the text
    // (新华社北京12月11日电, 本报讯（记者 …）): a common end of at least `min_units` (and fewer than `min_length`)
    // units, with at most `2 * ngram` units before it on each side.
    if let (Some(&x), Some(&y)) = (pa.first(), pb.first()) {
        let (sa, sb) = (&a.ids[x.0 as usize..x.1 as usize], &b.ids[y.0 as usize..y.1 as usize]);
        let common = sa.iter().rev().zip(sb.iter().rev()).take_while(|(u, v)| u == v).count() as u32;
        let (ha, hb) = (len(x) - common, len(y) - common);
        let dateline = 2 * cfg.ngram as u32;
        if common >= min_units && common < cfg.min_length as u32 && ha.max(hb) > 0 && ha.max(hb) <= dateline {
            cands.push(((x.1 - common, x.1), (y.1 - common, y.1), pa.len() == 1 && pb.len() == 1));
        }
    }
    // In line with a longer passage: before it on both sides or after it on both, right beside it on one side
    // (at most `ngram` units away) and within `max_gap` units on the other.
    let near = |x: (u32, u32), y: (u32, u32)| {
        long.iter().any(|&(a0, a1, b0, b1)| {
            let before = x.1 <= a0 && y.1 <= b0;
            let after = x.0 >= a1 && y.0 >= b1;
            let (da, db) = (distance((a0, a1), x), distance((b0, b1), y));
            (before || after) && da.min(db) <= cfg.ngram as u32 && da.max(db) <= cfg.max_gap as u32
        })
    };
    let mut found: Vec<Passage> = Vec::new();
    for (au, bu, last) in cands {
        let same_pair = |q: &Passage| overlap(q.a_units, au) > 0 && overlap(q.b_units, bu) > 0;
        if !near(au, bu) || passages.iter().chain(&found).any(same_pair) {
            continue;
        }
        // Boilerplate: a paragraph of `ngram` units or more whose n-grams are all too common in the corpus
        // (`max_df`; left out of a's index) or over-repeated is a standing line (a program's opening words).
        let n = cfg.ngram as u32;
        if len(bu) >= n
            && (bu.0..=bu.1 - n).all(|i| b_hashes.get(i as usize).is_none_or(|&h| a_index.positions(h).is_empty()))
        {
            continue;
        }
        // Right beside a longer passage on both sides (at most `COPY_SLACK` units away: OCR noise that its end
        // did not reach), before it on both or after it on both (a title over its text): the passage takes it in.
        let slack = COPY_SLACK as u32;
        let beside = passages.iter_mut().find(|q| {
            let before = au.1 <= q.a_units.0 && bu.1 <= q.b_units.0;
            let after = au.0 >= q.a_units.1 && bu.0 >= q.b_units.1;
            len(q.a_units).min(len(q.b_units)) >= cfg.min_length as u32
                && (before || after)
                && distance(q.a_units, au) <= slack
                && distance(q.b_units, bu) <= slack
        });
        if let Some(q) = beside {
            q.a_units = (q.a_units.0.min(au.0), q.a_units.1.max(au.1));
            q.b_units = (q.b_units.0.min(bu.0), q.b_units.1.max(bu.1));
            q.matches += len(au);
            continue;
        }
        // The last paragraph of both documents, away from the passages: a source line, a credit or a jump line
        // that each publication adds by itself, equal by chance.
        if last {
            continue;
        }
        found.push(Passage {
            a_units: au,
            b_units: bu,
            a_span: (0, 0),
            b_span: (0, 0),
            matches: len(au),
            score: 0.0,
            kind: Kind::Verbatim,
            similarity: 0.0,
        });
    }
    passages.extend(found);
}

/// X-drop ungapped extension from `(i, j)` (exclusive ends when `dir` is 1, starts when `dir` is -1): +1 per
/// match, -2 per mismatch, stopping when the score falls 6 below its best or at a unit pair where `blocked`
/// holds. Returns the extension length at the best score and the matches in it: an extension ends on a matched
/// unit, and passes substitutions (OCR noise), never a gap.
fn xdrop(a: &[u64], b: &[u64], i: usize, j: usize, dir: i32, blocked: &dyn Fn(usize, usize) -> bool) -> (usize, u32) {
    let (mut s, mut best, mut best_len, mut m, mut best_m) = (0i32, 0i32, 0usize, 0u32, 0u32);
    let mut k = 0usize;
    loop {
        let (x, y) = if dir > 0 {
            if i + k >= a.len() || j + k >= b.len() || blocked(i + k, j + k) {
                break;
            }
            (a[i + k], b[j + k])
        } else {
            if k >= i || k >= j || blocked(i - k - 1, j - k - 1) {
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

    /// [`UnitDoc::from_text`] as it was, on a vector of the text's characters: the reference.
    fn from_text_reference(text: &str, n: &Normalized, us: &[Unit]) -> UnitDoc {
        let mut d = UnitDoc::from_units(n, us);
        let chars: Vec<char> = text.chars().collect();
        for (c, &(_, end)) in d.closing.iter_mut().zip(&d.spans) {
            let after = chars.get(end as usize..).unwrap_or_default();
            *c = after.iter().take(127).take_while(|&&x| is_closing(x)).count() as u8;
        }
        let wrap = hard_wrap_width(text);
        let mut breaks: Vec<u32> = Vec::new();
        let mut line_start = 0usize;
        for (p, &c) in chars.iter().enumerate() {
            if c == '\n' {
                let line = &chars[line_start..p];
                let len = line.len() - line.iter().rev().take_while(|&&x| x == '\r').count();
                let blank = line.iter().all(|x| x.is_whitespace());
                if blank || wrap != Some(len as u32) {
                    breaks.push(p as u32);
                }
                line_start = p + 1;
            }
        }
        if !breaks.is_empty() {
            for k in 1..d.spans.len() {
                let (from, to) = (d.spans[k - 1].1, d.spans[k].0);
                let at = breaks.partition_point(|&x| x < from);
                if breaks.get(at).is_some_and(|&x| x < to) {
                    d.closing[k] |= PARAGRAPH_START;
                }
            }
        }
        d
    }

    #[test]
    fn units_of_a_text_agree_with_the_reference_on_random_texts() {
        // Pieces: ideographs, words, closing punctuation of every kind, line breaks (some hard-wrapped columns,
        // blank lines, carriage returns), spaces, a ligature and full-width forms that normalization changes.
        let pieces = [
            "新华社",
            "记者",
            "报道",
            "Hello",
            "world",
            "。",
            "，",
            "”",
            "）",
            "」",
            "!",
            ".",
            "...",
            "?!",
            "\n",
            "\n\n",
            "\r\n",
            " \n",
            "\u{3000}",
            " ",
            "ﬁne",
            "ＡＢＣ",
            "１２",
            "臺灣",
            "—",
            "«",
            "»",
            "’",
            "\t",
            "e\u{301}",
        ];
        let mut rng = crate::testing::Rng(12345);
        let mut next = |m: usize| rng.below(m as u64) as usize;
        let opts = NormalizeOptions::default();
        let mut with_breaks = 0;
        for case in 0..3000 {
            let mut text = String::new();
            if case % 3 == 0 {
                // Columns of a fixed width, cut anywhere.
                let body: String = (0..40 + next(200)).map(|_| pieces[next(14)]).collect();
                let chars: Vec<char> = body.chars().collect();
                for line in chars.chunks(5 + next(10)) {
                    text.extend(line);
                    text.push('\n');
                }
            } else {
                for _ in 0..next(120) {
                    text.push_str(pieces[next(pieces.len())]);
                }
            }
            let n = crate::normalize::normalize(&text, &opts);
            let us = crate::shingle::units(&n.text);
            let got = UnitDoc::from_text(&text, &n, &us);
            let want = from_text_reference(&text, &n, &us);
            assert_eq!((&got.ids, &got.spans, &got.closing), (&want.ids, &want.spans, &want.closing), "{text:?}");
            with_breaks += got.closing.iter().any(|&c| c & PARAGRAPH_START != 0) as u32;
        }
        assert!(with_breaks > 500, "{with_breaks} texts with paragraph starts");
    }

    #[test]
    fn lcs_is_the_length_of_the_dynamic_programming_table() {
        // The definition: `t[i][j]`, the length of a longest common subsequence of `x[..i]` and `y[..j]`.
        fn table(x: &[u64], y: &[u64]) -> u32 {
            let mut t = vec![vec![0u32; y.len() + 1]; x.len() + 1];
            for i in 1..=x.len() {
                for j in 1..=y.len() {
                    t[i][j] = if x[i - 1] == y[j - 1] { t[i - 1][j - 1] + 1 } else { t[i - 1][j].max(t[i][j - 1]) };
                }
            }
            t[x.len()][y.len()]
        }
        let mut rng = crate::testing::Rng(29);
        for round in 0..2000 {
            // Small alphabets (long common subsequences, units repeated), sides across the 64-position words (0 to
            // 200 units, and lengths of exactly one and two words), one side a noisy copy of the other at times.
            let alphabet = 1 + rng.below(if round % 2 == 0 { 3 } else { 30 });
            let len = |rng: &mut crate::testing::Rng| match round % 5 {
                0 => 64,
                1 => 128,
                _ => rng.below(201) as usize,
            };
            let (nx, ny) = (len(&mut rng), len(&mut rng));
            let x: Vec<u64> = (0..nx).map(|_| crate::minhash::mix64(rng.below(alphabet))).collect();
            let y: Vec<u64> = if round % 3 == 0 {
                let mut y = Vec::new();
                for &u in &x {
                    match rng.below(10) {
                        0 => {}
                        1 => y.push(u ^ 1),
                        _ => y.push(u),
                    }
                }
                y
            } else {
                (0..ny).map(|_| crate::minhash::mix64(rng.below(alphabet))).collect()
            };
            assert_eq!(lcs(&x, &y), table(&x, &y), "round {round}: {} and {} units", x.len(), y.len());
            assert_eq!(lcs(&y, &x), table(&x, &y), "round {round}");
        }
    }

    #[test]
    fn unit_table_forgets_every_entry_at_each_reset_even_when_the_stamps_wrap() {
        // Entries of one call must never be seen by a later one: after a reset, and after 2^32 resets, when the stamp
        // comes round to the value of an old call's entries (the stamps are cleared then).
        let key = |v: u64| crate::minhash::mix64(v);
        for wrap in [false, true] {
            let mut t = UnitTable::default();
            t.reset(40);
            for v in 0..40u64 {
                *t.entry(key(v), 7) += v as u32;
            }
            assert_eq!(t.get_mut(key(3)).copied(), Some(10));
            if wrap {
                // The entries above carry stamp 1; the next reset wraps the stamp to 0, then 1.
                t.stamp = u32::MAX;
            }
            t.reset(40);
            assert!((0..40u64).all(|v| t.get_mut(key(v)).is_none()), "wrap {wrap}");
            assert_eq!(*t.entry(key(3), 1), 1);
        }
    }

    #[test]
    fn dice_counts_common_units_as_sorted_multisets_do() {
        // The former definition: both sides sorted, common units counted by a merge.
        fn by_sorting(x: &[u64], y: &[u64]) -> f64 {
            if x.is_empty() && y.is_empty() {
                return 1.0;
            }
            let (mut xs, mut ys) = (x.to_vec(), y.to_vec());
            xs.sort_unstable();
            ys.sort_unstable();
            let (mut i, mut j, mut common) = (0, 0, 0usize);
            while i < xs.len() && j < ys.len() {
                match xs[i].cmp(&ys[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => (common, i, j) = (common + 1, i + 1, j + 1),
                }
            }
            2.0 * common as f64 / (xs.len() + ys.len()) as f64
        }
        let mut rng = crate::testing::Rng(17);
        for round in 0..3000 {
            // Repeated units from small alphabets, character ids (code points with the tag mixed in) and word
            // hashes, sides of 0 to 300 units (the table grows, and is reused by smaller calls after).
            let alphabet = 1 + rng.below(if round % 3 == 0 { 4 } else { 400 });
            let unit = |rng: &mut crate::testing::Rng| {
                let k = rng.below(alphabet);
                if round % 2 == 0 {
                    crate::shingle::char_unit_id(0x4E00 + k as u32)
                } else {
                    crate::minhash::mix64(k)
                }
            };
            let (nx, ny) = (rng.below(300) as usize, rng.below(300) as usize);
            let x: Vec<u64> = (0..nx).map(|_| unit(&mut rng)).collect();
            let y: Vec<u64> = (0..ny).map(|_| unit(&mut rng)).collect();
            assert_eq!(dice(&x, &y), by_sorting(&x, &y), "round {round}");
            assert_eq!(dice(&y, &x), by_sorting(&x, &y), "round {round}");
        }
    }

    #[test]
    fn ngram_set_is_the_sorted_distinct_ngram_hashes() {
        let mut rng = crate::testing::Rng(7);
        for len in [0usize, 1, 3, 4, 5, 40, 1000, 5000] {
            // Few distinct ids, so that n-grams repeat.
            let ids: Vec<u64> = (0..len).map(|_| rng.below(16) + 1).collect();
            for n in [1usize, 2, 4] {
                let mut expected = ngram_hashes(&ids, n, 9);
                expected.sort_unstable();
                expected.dedup();
                assert_eq!(ngram_set(&ids, n, 9), expected, "len {len}, n {n}");
            }
        }
    }

    #[test]
    fn closing_punctuation_agrees_with_the_general_category_on_every_character() {
        let mut closing = 0;
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            assert_eq!(is_closing(c), is_closing_by_category(c), "{c:?} U+{:04X}", c as u32);
            closing += is_closing(c) as u32;
        }
        assert!(closing > 500, "{closing} closing punctuation characters");
    }
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

    /// Text of units `[s, e)` of `t` (units are characters here).
    fn units_text(t: &str, (s, e): (u32, u32)) -> String {
        let d = doc(t);
        let chars: Vec<char> = t.chars().collect();
        let (cs, ce) = d.original_span(s as usize, e as usize);
        chars[cs as usize..ce as usize].iter().collect()
    }

    /// Another text of the same length as WIRE's second half, sharing no 7-gram with it.
    const OTHER: &str = "本报讯今年以来本市持续推进老旧小区改造完成加装电梯三百余部惠及居民两万多户市民满意度明显提升";

    #[test]
    fn a_shared_dateline_before_other_text_does_not_start_the_passage() {
        // Both print the same dateline, then different texts, then the same report: the passage is the report.
        let dateline = "新华社北京五月二十日电";
        let body = &WIRE[WIRE.find("国家").unwrap()..];
        let a = format!("{dateline}{OTHER}{body}");
        let b =
            format!("{dateline}今天天气很好我们去公园散步看到很多人在跳舞唱歌公园里的花开得正艳游人如织热闹非凡{body}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(units_text(&a, ps[0].a_units), body);
        assert_eq!(units_text(&b, ps[0].b_units), body);
    }

    #[test]
    fn neighbouring_passages_from_different_places_stay_apart() {
        // a joins two halves of WIRE that b prints with other text between them: two passages, and neither
        // covers b's other text.
        let split = WIRE.char_indices().nth(WIRE.chars().count() / 2).unwrap().0;
        let (h1, h2) = WIRE.split_at(split);
        let b = format!("{h1}{OTHER}{OTHER}{h2}");
        let (_, _, ps) = align(WIRE, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 2, "{ps:?}");
        assert_eq!(units_text(&b, ps[0].b_units), h1);
        assert_eq!(units_text(&b, ps[1].b_units), h2);
    }

    #[test]
    fn a_passage_printed_twice_gives_one_passage_per_copy() {
        let a = format!("{WIRE}{OTHER}{WIRE}");
        let (_, _, ps) = align(&a, WIRE, &AlignConfig::default());
        assert_eq!(ps.len(), 2, "{ps:?}");
        let (n, o) = (WIRE.chars().count() as u32, OTHER.chars().count() as u32);
        assert_eq!(ps.iter().map(|p| p.a_units).collect::<Vec<_>>(), [(0, n), (n + o, 2 * n + o)]);
        assert!(ps.iter().all(|p| p.b_units == (0, n)));
    }

    /// Third text: shares no 7-gram with WIRE or OTHER.
    const THIRD: &str = "体育消息本市青少年足球联赛昨日开幕共有来自全市各区的三十二支球队参加比赛将持续两个月";
    /// A fourth text that shares no 7-gram with the others.
    const FOURTH: &str =
        "财经快讯前三季度居民人均可支配收入实际上升消费支出稳步回升市场信心持续改善企业投资意愿有所增强";

    /// For each copy `[s, e)` (units of b), the passages whose side b covers it and no other copy.
    fn per_copy(ps: &[Passage], copies: &[(u32, u32)]) -> Vec<usize> {
        copies
            .iter()
            .map(|&(s, e)| {
                ps.iter()
                    .filter(|p| p.b_units.0 <= s && e <= p.b_units.1)
                    .filter(|p| copies.iter().filter(|&&(x, y)| p.b_units.0 <= x && y <= p.b_units.1).count() == 1)
                    .count()
            })
            .collect()
    }

    #[test]
    fn a_paragraph_printed_three_times_is_reported_three_times() {
        // b prints a's middle paragraph three times in a row: each copy is in an alignment of its own.
        let a = format!("{WIRE}\n{OTHER}\n{THIRD}");
        let b = format!("{WIRE}\n{OTHER}\n{OTHER}\n{OTHER}\n{THIRD}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        let (w, o) = (WIRE.chars().count() as u32, OTHER.chars().count() as u32);
        let copies: Vec<(u32, u32)> = (0..3).map(|k| (w + k * o, w + (k + 1) * o)).collect();
        assert_eq!(per_copy(&ps, &copies), [1, 1, 1], "{ps:?}");
        // Every copy is paired with a's paragraph.
        assert!(ps.iter().all(|p| p.a_units.0 <= w + o && p.a_units.1 >= w), "{ps:?}");
    }

    #[test]
    fn a_title_printed_three_times_is_reported_three_times() {
        // A title of 20 characters, shorter than min_length (30), printed three times above the article in b.
        let title = "国家统计局发布四月份国民经济运行数据情况";
        let a = format!("{title}\n{WIRE}");
        let b = format!("{title}\n{title}\n{title}\n{WIRE}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        let t = title.chars().count() as u32;
        let copies: Vec<(u32, u32)> = (0..3).map(|k| (k * t, (k + 1) * t)).collect();
        assert_eq!(per_copy(&ps, &copies), [1, 1, 1], "{ps:?}");
        // Alone, a title that short is no passage.
        let (_, _, ps) = align(&format!("{title}{OTHER}"), &format!("{title}{THIRD}"), &AlignConfig::default());
        assert!(ps.is_empty(), "{ps:?}");
    }

    #[test]
    fn a_title_shorter_than_min_short_printed_in_a_row_is_reported_per_copy() {
        // A title of 15 characters (below min_short, 20) that b prints three times above the article, a once.
        let title = "国家统计局发布四月国民经济数据";
        let a = format!("{title}\n{WIRE}");
        let b = format!("{title}\n{title}\n{title}\n{WIRE}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        let t = title.chars().count() as u32;
        let copies: Vec<(u32, u32)> = (0..3).map(|k| (k * t, (k + 1) * t)).collect();
        assert_eq!(per_copy(&ps, &copies), [1, 1, 1], "{ps:?}");
        // Each copy pairs with a's one title.
        assert!(ps.iter().all(|p| p.a_units.0 == 0), "{ps:?}");
        // The same below the article, on side a: a prints a closing line three times, b once.
        let a = format!("{WIRE}\n{title}\n{title}\n{title}");
        let b = format!("{WIRE}\n{title}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        let w = doc(WIRE).len() as u32;
        let on_a: Vec<(u32, u32)> = (0..3).map(|k| (w + k * t, w + (k + 1) * t)).collect();
        let n = |x: (u32, u32)| ps.iter().filter(|p| p.a_units.0 <= x.0 && x.1 <= p.a_units.1).count();
        assert_eq!(on_a.iter().map(|&x| n(x)).collect::<Vec<_>>(), [1, 1, 1], "{ps:?}");
    }

    #[test]
    fn a_short_item_printed_whole_is_found() {
        // A brief of 24 characters, with a source line, reprinted inside a longer page: below min_length, but the
        // whole of document a.
        let brief = "市区新建三座公园今日起免费向市民开放游览";
        let a = format!("{brief}（来源：本报）");
        let b = format!("{OTHER}\n{brief}\n{THIRD}");
        let (da, _, ps) = align(&a, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(units_text(&a, ps[0].a_units), brief);
        assert!(da.len() > brief.chars().count());
        // The same sentence inside two longer texts is no passage.
        let (_, _, ps) = align(&format!("{WIRE}{brief}"), &b, &AlignConfig::default());
        assert!(ps.is_empty(), "{ps:?}");
    }

    #[test]
    fn a_title_whose_next_paragraph_was_dropped_stands_on_its_own() {
        // b drops a's first paragraph (longer than max_indel): the title and the article are two passages.
        let title = "国家统计局发布四月份国民经济运行数据情况";
        let a = format!("{title}\n{OTHER}\n{WIRE}");
        let b = format!("{title}\n{WIRE}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 2, "{ps:?}");
        assert_eq!(units_text(&a, ps[0].a_units), title);
        assert_eq!(units_text(&b, ps[1].b_units), WIRE);
        // Where both documents have other text between (a rewritten paragraph), the title is no passage.
        let b = format!("{title}\n{THIRD}\n{WIRE}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(units_text(&b, ps[0].b_units), WIRE);
    }

    /// Code point span `[start, end)` of the first occurrence of `needle` in `hay`, counting from code point `from`.
    fn find_chars(hay: &str, needle: &str, from: u32) -> (u32, u32) {
        let skip: usize = hay.chars().take(from as usize).map(char::len_utf8).sum();
        let byte = skip + hay[skip..].find(needle).expect("needle");
        let start = hay[..byte].chars().count() as u32;
        (start, start + needle.chars().count() as u32)
    }

    #[test]
    fn paragraphs_end_at_line_breaks_but_not_at_column_wraps() {
        // Column text: lines of 6 characters wrap; a shorter line and a blank line end paragraphs.
        let d = doc("一二三四五六\n七八九十百千\n万亿\n\n甲乙丙丁戊己\n庚辛");
        assert_eq!(d.paragraphs(), vec![(0, 14), (14, 22)]);
        let d = doc("第一段\n第二段文字\r\n第三");
        assert_eq!(d.paragraphs(), vec![(0, 3), (3, 8), (8, 10)]);
        assert!(d.starts_paragraph(0) && d.starts_paragraph(3) && !d.starts_paragraph(4));
        // The paragraph flag leaves the closing punctuation alone.
        let d = doc("甲乙。\n丙丁");
        assert_eq!((d.closing_len(1), d.closing_len(2)), (1, 0));
        assert_eq!(d.passage_span(0, 2), (0, 3));
    }

    #[test]
    fn a_short_distinctive_paragraph_printed_whole_is_found_with_its_offsets() {
        // A 4-character heading and a byline (fewer units than an n-gram, and than min_short) that a reprint
        // prints whole, in traditional script, after a paragraph it dropped; the article itself is reused too.
        let a = format!("澎湃新闻记者 陈绪厚 实习生 李金檐\n{WIRE}\n功亏一篑\n{OTHER}");
        let b =
            format!("本報訊\n澎湃新聞記者 陳緒厚 實習生 李金檐\n{FOURTH}\n{WIRE}\n{THIRD}\n功虧一簣\n功虧一簣\n結束");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        let spans: Vec<((u32, u32), (u32, u32))> = ps.iter().map(|p| (p.a_span, p.b_span)).collect();
        let heading_a = find_chars(&a, "功亏一篑", 0);
        let copy1 = find_chars(&b, "功虧一簣", 0);
        let copy2 = find_chars(&b, "功虧一簣", copy1.1);
        let byline_a = find_chars(&a, "澎湃新闻记者 陈绪厚 实习生 李金檐", 0);
        let byline_b = find_chars(&b, "澎湃新聞記者 陳緒厚 實習生 李金檐", 0);
        // One alignment per copy of the heading, one for the byline, one for the article.
        assert_eq!(ps.len(), 4, "{ps:?}");
        for want in [(heading_a, copy1), (heading_a, copy2), (byline_a, byline_b)] {
            assert!(spans.contains(&want), "{want:?} not in {spans:?}");
        }
        assert!(ps.iter().all(|p| p.kind == Kind::Verbatim));
    }

    #[test]
    fn a_common_short_line_is_no_passage_without_other_reuse_or_at_both_ends() {
        let line = "新华社记者 张伟 摄";
        // Two unrelated reports that print the same credit line: nothing.
        let a = format!("{OTHER}\n{line}\n{THIRD}");
        let b = format!("{FOURTH}\n{line}\n{WIRE}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        assert!(ps.is_empty(), "{ps:?}");
        // Two reprints of one article that both end with the line, one of them after other text: the article
        // only (a credit each publication adds by itself).
        let a = format!("{WIRE}\n{line}");
        let b = format!("{WIRE}\n{FOURTH}\n{line}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(units_text(&a, ps[0].a_units), WIRE);
        // Where one of them goes on after the line, the line travels with the article: a passage of its own.
        let b = format!("{WIRE}\n{FOURTH}\n{line}\n{OTHER}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 2, "{ps:?}");
        assert_eq!(units_text(&b, ps[1].b_units), line);
    }

    #[test]
    fn a_first_paragraph_after_a_dateline_is_found_and_a_title_joins_its_text() {
        // A URL line that one reprint prints after its dateline, on the same line, and the other alone; the next
        // paragraph differs (dropped), the article after it is shared.
        let url = "http://t.cn/EwhKVKS";
        let a = format!("{url}\n{OTHER}\n{WIRE}");
        let b = format!("中新网8月4日电{url}\n{WIRE}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        let spans: Vec<((u32, u32), (u32, u32))> = ps.iter().map(|p| (p.a_span, p.b_span)).collect();
        assert_eq!(ps.len(), 2, "{ps:?}");
        assert!(spans.contains(&((0, 19), find_chars(&b, url, 0))), "{spans:?}");
        // A title right above the shared article on both sides (one side with a one-character caption between,
        // which the passage's head did not reach) joins its passage.
        let a = format!("严正声明\n{WIRE}");
        let b = format!("严正声明\n图\n{WIRE}\n{OTHER}");
        let (_, _, ps) = align(&a, &b, &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].a_span, (0, a.chars().count() as u32));
    }

    #[test]
    fn a_formulaic_sentence_with_other_numbers_is_no_passage() {
        let x = "财报发布后管理层将于美国东部时间十一月二十日上午八点北京时间十一月二十日晚上九点举行电话会议";
        let y = "财报发布后管理层将于美国东部时间周四上午八点北京时间周四晚上九点举行电话会议";
        let (_, _, ps) = align(&format!("{OTHER}{x}"), &format!("{THIRD}{y}"), &AlignConfig::default());
        assert!(ps.is_empty(), "{ps:?}");
        // The sentence copied is one.
        let (_, _, ps) = align(&format!("{OTHER}{x}"), &format!("{THIRD}{x}"), &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert!(ps[0].similarity >= NEAR_COPY_IDENTITY);
    }

    #[test]
    fn a_doubled_short_line_stays_inside_the_passage() {
        // A column line printed twice (OCR of a page that repeats a line): one passage over all of a.
        let line = &WIRE[WIRE.find("比上月").unwrap()..WIRE.find("社会").unwrap()];
        let a = WIRE.replacen(line, &format!("{line}{line}"), 1);
        let (_, _, ps) = align(&a, WIRE, &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0].a_units, (0, a.chars().count() as u32));
        assert_eq!(ps[0].b_units, (0, WIRE.chars().count() as u32));
    }

    #[test]
    fn ends_pass_substitutions_not_noise() {
        let a: Vec<char> = WIRE.chars().collect();
        let n = a.len();
        // One OCR substitution near each end: X-drop extends through it to the ends.
        let mut b = a.clone();
        (b[3], b[n - 4]) = ('〇', '〇');
        let (_, _, ps) = align(WIRE, &b.iter().collect::<String>(), &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!((ps[0].a_units, ps[0].b_units), ((0, n as u32), (0, n as u32)));
        // Every other unit wrong near the ends: the passage ends where the text is shared again.
        let mut b = a.clone();
        for k in [1, 3, 5, n - 2, n - 4, n - 6] {
            b[k] = '〇';
        }
        let (da, db, ps) = align(WIRE, &b.iter().collect::<String>(), &AlignConfig::default());
        assert_eq!(ps.len(), 1, "{ps:?}");
        let p = &ps[0];
        assert_eq!((p.a_units, p.b_units), ((6, n as u32 - 6), (6, n as u32 - 6)));
        let (x, y) = (&da.ids[6..n - 6], &db.ids[6..n - 6]);
        assert!(
            x.iter().zip(y).take(10).all(|(u, v)| u == v)
                && x.iter().rev().zip(y.iter().rev()).take(10).all(|(u, v)| u == v)
        );
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
