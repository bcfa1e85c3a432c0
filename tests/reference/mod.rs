//! The straightforward, character-by-character definitions of normalization and units, as they stood before the
//! fast paths (one table lookup per character, bulk runs, fused fingerprinting) replaced them in the library. The
//! property tests assert that the library's output is identical to these on random text.
#![allow(dead_code)]

use textreuse::normalize::{NormalizeOptions, Normalized};
use textreuse::shingle::Unit;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// True for a character that is one unit on its own: a Han ideograph, kana or Hangul.
#[inline]
pub fn is_cjk_unit(c: char) -> bool {
    let u = c as u32;
    matches!(u,
        0x4E00..=0x9FFF      // CJK Unified Ideographs
        | 0x3400..=0x4DBF    // Extension A
        | 0x20000..=0x3FFFF  // Extensions B..H, compatibility supplement
        | 0xF900..=0xFAFF    // Compatibility Ideographs
        | 0x3005 | 0x3007    // 々 〇
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana phonetic extensions
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0x1100..=0x11FF    // Hangul Jamo
        | 0x3130..=0x318F    // Hangul compatibility Jamo
    )
}

/// Characters known to be unchanged by NFKC, so the per-character normalization can be skipped.
#[inline]
fn nfkc_stable(c: char) -> bool {
    let u = c as u32;
    u < 0xA0 || (0x4E00..=0x9FFF).contains(&u) || (0x3400..=0x4DBF).contains(&u) || (0xAC00..=0xD7A3).contains(&u)
}

/// True for a character that NFKC may compose with the character before it: a combining mark, a half-width
/// katakana voiced sound mark, or a Hangul medial vowel or final consonant jamo.
#[inline]
fn composes_with_previous(m: char) -> bool {
    matches!(m as u32, 0xFF9E | 0xFF9F | 0x1160..=0x11FF)
        || unicode_normalization::char::canonical_combining_class(m) != 0
}

/// Folds CJK full-width punctuation that NFKC leaves alone.
#[inline]
fn fold_width_char(c: char) -> char {
    match c {
        '。' | '｡' => '.',
        '、' | '､' => ',',
        '「' | '『' | '“' | '”' | '〝' | '〞' => '"',
        '」' | '』' => '"',
        '‘' | '’' => '\'',
        '《' | '〈' => '<',
        '》' | '〉' => '>',
        '【' | '〔' | '〖' => '[',
        '】' | '〕' | '〗' => ']',
        '—' | '―' | '－' => '-',
        '…' => '.',
        '・' | '·' => '.',
        _ => c,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    Newline,
    Punct,
    Hyphen,
    Cjk,
    Word,
}

#[inline]
fn classify(c: char) -> Class {
    if c.is_ascii() {
        return match c {
            '\n' | '\r' => Class::Newline,
            ' ' | '\t' | '\x0b' | '\x0c' => Class::Space,
            '-' => Class::Hyphen,
            'a'..='z' | 'A'..='Z' | '0'..='9' => Class::Word,
            _ if c.is_ascii_control() => Class::Space,
            _ => Class::Punct,
        };
    }
    if is_cjk_unit(c) {
        return Class::Cjk;
    }
    if c == '\u{2028}' || c == '\u{2029}' || c == '\u{85}' {
        return Class::Newline;
    }
    if c.is_whitespace() {
        return Class::Space;
    }
    match c.general_category_group() {
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number | GeneralCategoryGroup::Mark => Class::Word,
        GeneralCategoryGroup::Separator => Class::Space,
        GeneralCategoryGroup::Other => Class::Space,
        GeneralCategoryGroup::Punctuation | GeneralCategoryGroup::Symbol => Class::Punct,
    }
}

/// What lies between the last emitted character and the next one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gap {
    None,
    Break,
    Hyphen,
    HyphenNewline,
}

/// Normalizes `text` with `opts`, character by character.
pub fn normalize(text: &str, opts: &NormalizeOptions) -> Normalized {
    let mut e = Emitter {
        out: String::with_capacity(text.len()),
        offsets: Vec::with_capacity(text.len() / 2),
        gap: Gap::None,
        gap_at: 0,
        last: None,
        opts,
    };
    let mut cluster = String::new();
    let wrap_width = if opts.strip_whitespace { hard_wrap_width(text) } else { None };
    let mut line_len: u32 = 0;
    let mut chars = text.chars().enumerate().peekable();
    let mut n_orig: u32 = 0;
    while let Some((i, c)) = chars.next() {
        let i = i as u32;
        n_orig = i + 1;
        if c == '\n' {
            let wrapped = wrap_width == Some(line_len);
            line_len = 0;
            if wrapped {
                // A column line break inside a paragraph: it may split a word, so it joins.
                continue;
            }
        } else if c != '\r' {
            line_len += 1;
        }
        if !opts.nfkc || nfkc_stable(c) {
            e.feed(c, i);
            continue;
        }
        cluster.clear();
        cluster.push(c);
        // Combining marks that follow belong to this cluster; they map to the base character's offset.
        while let Some(&(_, m)) = chars.peek() {
            if composes_with_previous(m) {
                cluster.push(m);
                chars.next();
                n_orig += 1;
            } else {
                break;
            }
        }
        for c0 in cluster.nfkc() {
            e.feed(c0, i);
        }
    }
    let mut n = Normalized { text: e.out, offsets: e.offsets, original_len: n_orig };
    if opts.traditional_to_simplified {
        to_simplified(&mut n);
    }
    n
}

/// The per-character state machine of [`normalize`]: what was emitted last and what lies since.
struct Emitter<'a> {
    out: String,
    offsets: Vec<u32>,
    gap: Gap,
    gap_at: u32,
    last: Option<Class>,
    opts: &'a NormalizeOptions,
}

impl Emitter<'_> {
    /// Handles one (NFKC-normalized) character that came from original offset `i`.
    #[inline]
    fn feed(&mut self, c0: char, i: u32) {
        let opts = self.opts;
        let c1 = if opts.fold_width { fold_width_char(c0) } else { c0 };
        let class = classify(c1);
        match class {
            Class::Space | Class::Newline if opts.strip_whitespace => {
                if class == Class::Newline && self.gap == Gap::Hyphen {
                    self.gap = Gap::HyphenNewline;
                } else if self.gap == Gap::None {
                    self.gap = Gap::Break;
                    self.gap_at = i;
                }
            }
            Class::Hyphen if opts.strip_punctuation => {
                if self.gap == Gap::None {
                    self.gap = if self.last == Some(Class::Word) { Gap::Hyphen } else { Gap::Break };
                    self.gap_at = i;
                } else {
                    self.gap = Gap::Break;
                }
            }
            Class::Punct if opts.strip_punctuation => {
                if self.gap == Gap::None {
                    self.gap_at = i;
                }
                self.gap = Gap::Break;
            }
            Class::Cjk => {
                // CJK characters need no separator and have no case.
                self.gap = Gap::None;
                self.out.push(c1);
                self.offsets.push(i);
                self.last = Some(Class::Cjk);
            }
            _ => {
                let word_like = class == Class::Word;
                if self.gap != Gap::None {
                    let join = self.gap == Gap::HyphenNewline && word_like;
                    if !join && word_like && self.last == Some(Class::Word) {
                        self.out.push(' ');
                        self.offsets.push(self.gap_at);
                    }
                    self.gap = Gap::None;
                }
                // Without whitespace or punctuation stripping, those characters are emitted as they are.
                let class = if word_like { Class::Word } else { Class::Punct };
                if opts.lowercase && c1.is_uppercase() {
                    for l in c1.to_lowercase() {
                        self.out.push(l);
                        self.offsets.push(i);
                    }
                } else {
                    self.out.push(c1);
                    self.offsets.push(i);
                }
                self.last = Some(class);
            }
        }
    }
}

/// The line width of a hard-wrapped text (newspaper columns, fixed-width extraction), when there is one: the most
/// common length, in code points, of lines of at least 4 characters, when at least 3 lines and half of those lines
/// have exactly that length. A line of that width ends in a wrap, not a paragraph break, so its line break joins
/// rather than separating two words. Ragged, word-wrapped text has no such width.
pub fn hard_wrap_width(text: &str) -> Option<u32> {
    if !text.contains('\n') {
        return None;
    }
    let mut counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let mut lines = 0u32;
    for line in text.split('\n') {
        let n = line.trim_end_matches('\r').chars().count() as u32;
        if n >= 4 {
            lines += 1;
            *counts.entry(n).or_default() += 1;
        }
    }
    let (&width, &count) = counts.iter().max_by_key(|&(&w, &c)| (c, std::cmp::Reverse(w)))?;
    (count >= 3 && 2 * count >= lines).then_some(width)
}

/// Converts traditional to simplified script in place, keeping the offset map.
///
/// OpenCC maps phrases to phrases; almost always with the same number of characters, and then the map stays one
/// to one. Where a conversion changes the length, the text is split in halves until each piece keeps its length
/// or is at most 8 characters long; the characters of such a short piece map proportionally onto its origin.
fn to_simplified(n: &mut Normalized) {
    if n.text.is_ascii() {
        return;
    }
    let converted = zhconv::zhconv(&n.text, zhconv::Variant::ZhCN);
    if converted == n.text {
        return;
    }
    if converted.chars().count() == n.offsets.len() {
        n.text = converted;
        return;
    }
    let chars: Vec<char> = n.text.chars().collect();
    let mut out = String::with_capacity(n.text.len());
    let mut offsets = Vec::with_capacity(n.offsets.len());
    convert_piece(&chars, &n.offsets, &mut out, &mut offsets);
    n.text = out;
    n.offsets = offsets;
}

fn convert_piece(chars: &[char], offs: &[u32], out: &mut String, offsets: &mut Vec<u32>) {
    let s: String = chars.iter().collect();
    let converted = zhconv::zhconv(&s, zhconv::Variant::ZhCN);
    let m = converted.chars().count();
    if m == chars.len() {
        out.push_str(&converted);
        offsets.extend_from_slice(offs);
    } else if chars.len() <= 8 {
        for (k, c) in converted.chars().enumerate() {
            out.push(c);
            let j = (k * chars.len()).checked_div(m).unwrap_or(0);
            offsets.push(offs[j.min(chars.len() - 1)]);
        }
    } else {
        let mid = chars.len() / 2;
        convert_piece(&chars[..mid], &offs[..mid], out, offsets);
        convert_piece(&chars[mid..], &offs[mid..], out, offsets);
    }
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
