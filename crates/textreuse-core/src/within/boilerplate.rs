//! Corpus-wide boilerplate: short lines and sentences that recur in many documents (datelines, bylines, editor
//! lines, "扫一扫 就看到", continuation markers).
//!
//! Each document is cut into **segments**: its lines, and the sentences inside them (split after `。！？；!?;`).
//! A segment's key is its normalized text ([`crate::normalize`]) with every run of digits replaced by `#`, so that
//! `新华社北京5月8日电` and `新华社北京6月2日电` are one template. Segments longer than `max_chars` normalized
//! characters are content, not boilerplate. The document frequency of each key is counted once per document;
//! keys found in more than `min_df` documents are boilerplate. This is the line-level filter of web-corpus
//! pipelines (e.g. C4's and Gopher's boilerplate rules, Raffel et al. 2020; Rae et al. 2021), made CJK-aware.

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::normalize::{normalize_text_into, NormalizeOptions};

/// Settings of boilerplate detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BoilerplateConfig {
    /// Normalization of segments before counting.
    pub normalize: NormalizeOptions,
    /// Segments found in more than this many documents are boilerplate.
    pub min_df: u32,
    /// Segments with more normalized characters than this are never boilerplate.
    pub max_chars: usize,
    /// Segments with fewer normalized characters than this are ignored.
    pub min_chars: usize,
    /// Examples kept per boilerplate segment.
    pub examples: usize,
}

impl Default for BoilerplateConfig {
    fn default() -> Self {
        BoilerplateConfig {
            normalize: NormalizeOptions::default(),
            min_df: 5,
            max_chars: 60,
            min_chars: 3,
            examples: 3,
        }
    }
}

/// One segment of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Normalized text, digits masked.
    pub key: String,
    /// Code point span in the original text, `[start, end)`.
    pub start: u32,
    /// End (exclusive).
    pub end: u32,
    /// A whole line, or a sentence inside a longer line.
    pub kind: SegmentKind,
}

/// Whether a segment is a line or a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentKind {
    /// A whole line.
    Line,
    /// A sentence inside a line.
    Sentence,
}

fn mask_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// The segments of `text` with between `min_chars` and `max_chars` normalized characters.
pub fn segments(text: &str, cfg: &BoilerplateConfig) -> Vec<Segment> {
    segments_with_bytes(text, cfg).into_iter().map(|(s, _)| s).collect()
}

/// [`segments`], each with its span in bytes of `text` (the same text as its code point span).
fn segments_with_bytes(text: &str, cfg: &BoilerplateConfig) -> Vec<(Segment, (usize, usize))> {
    let mut out = Vec::new();
    // The normalized piece and the conversion's working space, for every piece (no offset map is needed).
    let (mut normalized, mut scratch) = (String::new(), String::new());
    // `piece` starts at code point `start` and byte `at` of `text`.
    let mut push = |piece: &str, start: u32, at: usize, kind: SegmentKind, out: &mut Vec<(Segment, (usize, usize))>| {
        normalize_text_into(piece, &cfg.normalize, &mut normalized, &mut scratch);
        let key = mask_digits(&normalized);
        let n = key.chars().count();
        // A sentence piece needs a few characters more than a line to be more than a common word.
        let min = if kind == SegmentKind::Sentence { cfg.min_chars + 1 } else { cfg.min_chars };
        let letters = key.chars().filter(|&c| c != '#' && c != ' ').count();
        if n >= min && n <= cfg.max_chars && letters >= 2 {
            let lead = piece.chars().take_while(|c| c.is_whitespace()).count() as u32;
            let trimmed = piece.trim_end();
            let len = trimmed.chars().count() as u32;
            let lead_bytes = piece.len() - piece.trim_start().len();
            let bytes = (at + lead_bytes, at + trimmed.len());
            out.push((Segment { key, start: start + lead, end: start + len, kind }, bytes));
        }
    };
    let (mut pos, mut at) = (0u32, 0usize);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        push(body, pos, at, SegmentKind::Line, &mut out);
        // Sentences inside the line, when there are several.
        let mut s_start = 0usize; // byte offset in body
        let mut s_pos = pos;
        let mut pieces = Vec::new();
        for (b, c) in body.char_indices() {
            if matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';') {
                let end = b + c.len_utf8();
                pieces.push((s_start, end, s_pos));
                s_pos += body[s_start..end].chars().count() as u32;
                s_start = end;
            }
        }
        if !pieces.is_empty() && s_start < body.len() {
            pieces.push((s_start, body.len(), s_pos));
        }
        if pieces.len() > 1 {
            for (a, b, p) in pieces {
                push(&body[a..b], p, at + a, SegmentKind::Sentence, &mut out);
            }
        }
        pos += line.chars().count() as u32;
        at += line.len();
    }
    out
}

/// A document's segments as [`BoilerplateCounter`] counts them: the first segment of each distinct key, with the
/// key's XXH3 and the segment's span in bytes. Cut and normalized apart from the counting
/// ([`BoilerplateCounter::add_segments`]), so that a job prepares its documents in parallel.
#[derive(Debug, Clone, Default)]
pub struct DocumentSegments {
    segments: Vec<(u64, Segment, (usize, usize))>,
}

impl DocumentSegments {
    /// The segments of `text` ([`segments`]) with `cfg`, each key once.
    pub fn new(text: &str, cfg: &BoilerplateConfig) -> DocumentSegments {
        let mut seen: FxHashSet<u64> = FxHashSet::default();
        let segments = segments_with_bytes(text, cfg)
            .into_iter()
            .map(|(s, bytes)| (xxh3_64(s.key.as_bytes()), s, bytes))
            .filter(|(h, _, _)| seen.insert(*h))
            .collect();
        DocumentSegments { segments }
    }
}

/// Counts of one key: 24 bytes, since most keys are seen once (9.3 million distinct segments in 45,592 documents of
/// `../shared/corpora`); what a key seen twice needs more is in [`Seen`].
#[derive(Debug, Clone, Copy)]
struct Entry {
    df: u32,
    kind: SegmentKind,
    /// (document, start, end) of the first occurrence.
    first: (u32, u32, u32),
    /// Index of the key's [`Seen`] once it was seen twice.
    seen: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 24);

/// A key seen in two documents or more: the key, and (document, start, end, original text) of the next
/// occurrences (texts are kept only from the second occurrence on, so that the many segments seen once cost little).
#[derive(Debug, Clone)]
struct Seen {
    key: String,
    examples: Vec<(u32, u32, u32, String)>,
}

/// Document frequencies of segment keys over a stream of documents.
#[derive(Debug, Default)]
pub struct BoilerplateCounter {
    /// By the XXH3 of the key (FxHash: the keys are hashes already).
    entries: FxHashMap<u64, Entry>,
    /// The keys seen twice or more ([`Entry::seen`]).
    seen: Vec<Seen>,
    docs: u32,
}

/// A boilerplate segment.
#[derive(Debug, Clone, Serialize)]
pub struct Boilerplate {
    /// The text of the first example, as in the original.
    pub text: String,
    /// The normalized key (digits masked as `#`).
    pub key: String,
    /// Documents it stands in.
    pub df: u32,
    /// Line or sentence.
    pub kind: SegmentKind,
    /// Where it stands: document index and code point span.
    pub examples: Vec<(u32, u32, u32)>,
}

impl BoilerplateCounter {
    /// Counts the segments of the next document (index = number of documents added before).
    pub fn add(&mut self, text: &str, cfg: &BoilerplateConfig) {
        self.add_segments(text, DocumentSegments::new(text, cfg), cfg);
    }

    /// Counts the next document by its segments, made from `text` with `cfg` ([`DocumentSegments::new`]): the same
    /// as [`BoilerplateCounter::add`].
    pub fn add_segments(&mut self, text: &str, segments: DocumentSegments, cfg: &BoilerplateConfig) {
        let d = self.docs;
        self.docs += 1;
        for (h, s, (from, to)) in segments.segments {
            let e = self.entries.entry(h).or_insert(Entry { df: 0, kind: s.kind, first: (d, s.start, s.end), seen: 0 });
            e.df += 1;
            if e.df == 1 {
                continue;
            }
            if e.df == 2 {
                e.seen = self.seen.len() as u32;
                self.seen.push(Seen { key: s.key, examples: Vec::new() });
            }
            let seen = &mut self.seen[e.seen as usize];
            if seen.examples.len() + 1 < cfg.examples.max(2) {
                seen.examples.push((d, s.start, s.end, text[from..to].to_string()));
            }
        }
    }

    /// Number of distinct segment keys counted so far.
    pub fn distinct_segments(&self) -> usize {
        self.entries.len()
    }

    /// Keys found in more than `min_df` documents (and at least two), most frequent first (ties by key).
    pub fn boilerplate(&self, min_df: u32) -> Vec<Boilerplate> {
        let mut out: Vec<Boilerplate> = self
            .entries
            .values()
            .filter(|e| e.df > min_df.max(1))
            .map(|e| {
                let seen = &self.seen[e.seen as usize];
                Boilerplate {
                    text: seen.examples[0].3.clone(),
                    key: seen.key.clone(),
                    df: e.df,
                    kind: e.kind,
                    examples: std::iter::once(e.first).chain(seen.examples.iter().map(|x| (x.0, x.1, x.2))).collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| b.df.cmp(&a.df).then_with(|| a.key.cmp(&b.key)));
        out
    }
}

/// Removes known boilerplate from documents before other jobs fingerprint or align them: every segment whose key
/// is in the list is blanked with spaces, so offsets into the original text stay valid.
#[derive(Debug, Clone, Default)]
pub struct BoilerplateFilter {
    keys: HashSet<String>,
    cfg: BoilerplateConfig,
}

impl BoilerplateFilter {
    /// A filter for these keys (normalized, digits masked as `#`), segmenting with `cfg`.
    pub fn new(keys: impl IntoIterator<Item = String>, cfg: BoilerplateConfig) -> BoilerplateFilter {
        BoilerplateFilter { keys: keys.into_iter().collect(), cfg }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the filter has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `text` with its boilerplate segments replaced by spaces (as many as the characters they replace).
    pub fn apply<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.keys.is_empty() {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut hits: Vec<(u32, u32)> = segments(text, &self.cfg)
            .into_iter()
            .filter(|s| self.keys.contains(&s.key))
            .map(|s| (s.start, s.end))
            .collect();
        if hits.is_empty() {
            return std::borrow::Cow::Borrowed(text);
        }
        // Lines and the sentences inside them may both hit: one sweep over sorted spans.
        hits.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let (mut k, mut covered_to) = (0usize, 0u32);
        for (i, c) in text.chars().enumerate() {
            let i = i as u32;
            while k < hits.len() && hits[k].0 <= i {
                covered_to = covered_to.max(hits[k].1);
                k += 1;
            }
            out.push(if i < covered_to { ' ' } else { c });
        }
        std::borrow::Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_masked_keys() {
        let cfg = BoilerplateConfig::default();
        let s = segments("新华社北京5月8日电\n正文第一句。正文第二句！（责任编辑：王晔）\n", &cfg);
        let keys: Vec<&str> = s.iter().map(|x| x.key.as_str()).collect();
        assert!(keys.contains(&"新华社北京#月#日电"));
        assert!(keys.contains(&"责任编辑王晔"));
        let ed = s.iter().find(|x| x.key == "责任编辑王晔").unwrap();
        let chars: Vec<char> = "新华社北京5月8日电\n正文第一句。正文第二句！（责任编辑：王晔）\n".chars().collect();
        assert_eq!(chars[ed.start as usize..ed.end as usize].iter().collect::<String>(), "（责任编辑：王晔）");
    }

    #[test]
    fn byte_spans_hold_the_text_of_the_code_point_spans() {
        let cfg = BoilerplateConfig { min_chars: 1, ..BoilerplateConfig::default() };
        let text = "  新华社北京5月8日电  \r\n\n正文第一句。 Second one! 第三句；尾巴\n\t（责任编辑：王晔） \nÉté 2024; à bientôt?";
        let chars: Vec<char> = text.chars().collect();
        let segs = segments_with_bytes(text, &cfg);
        assert!(segs.len() >= 8, "{segs:?}");
        for (s, (from, to)) in segs {
            assert_eq!(&text[from..to], chars[s.start as usize..s.end as usize].iter().collect::<String>());
        }
    }

    #[test]
    fn filter_blanks_boilerplate_keeping_offsets() {
        let f = BoilerplateFilter::new(
            ["新华社北京#月#日电".to_string(), "责任编辑王晔".to_string()],
            BoilerplateConfig::default(),
        );
        let text = "新华社北京5月8日电\n正文内容。（责任编辑：王晔）";
        let out = f.apply(text);
        assert_eq!(out.chars().count(), text.chars().count());
        assert_eq!(out.trim(), "正文内容。");
        assert_eq!(f.apply("无关文字"), "无关文字");
    }

    #[test]
    fn only_frequent_segments_are_boilerplate() {
        let cfg = BoilerplateConfig::default();
        let mut c = BoilerplateCounter::default();
        for k in 0..8 {
            let body =
                ["春天来了", "夏日炎炎", "秋高气爽", "冬雪纷飞", "山高水长", "日出东方", "海阔天空", "风和日丽"][k];
            c.add(
                &format!(
                    "新华社北京{}月{}日电\n独一无二的正文内容：{body}，讲述不同的故事。\n扫一扫 就看到\n扫一扫 就看到",
                    k + 1,
                    k + 3
                ),
                &cfg,
            );
        }
        let b = c.boilerplate(5);
        let keys: Vec<&str> = b.iter().map(|x| x.key.as_str()).collect();
        assert!(keys.contains(&"新华社北京#月#日电") && keys.contains(&"扫一扫就看到"), "{keys:?}");
        assert!(b.iter().all(|x| x.df == 8), "counted once per document");
        assert!(!keys.iter().any(|k| k.contains("独一无二")));
        assert_eq!(b[0].examples.len(), 3);
    }
}
