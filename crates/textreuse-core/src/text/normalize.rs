//! Text normalization shared by every job, with a map back to the original text.
//!
//! Steps, each of which can be switched off in [`NormalizeOptions`]:
//! 1. **NFKC** (Unicode Standard Annex #15), applied per base character plus its combining marks;
//! 2. **width folding**: NFKC already folds full-width ASCII and half-width katakana; this step also maps CJK
//!    punctuation (`。，、「」『』…`) to its ASCII counterpart, which matters only when punctuation is kept;
//! 3. **lower-casing** (Unicode default case mapping);
//! 4. **punctuation and whitespace removal** for fingerprinting: punctuation (general category P*), symbols (S*),
//!    control and format characters are dropped, and whitespace vanishes next to CJK characters, so that the hard line
//!    breaks of newspaper columns disappear. Between two words of a space-delimited script one ASCII space is kept,
//!    so word units survive. A hyphen at a line end between two letters (`con-\ntinued`) is joined;
//! 5. **traditional → simplified Chinese** to mainland usage (`zh-CN`) with the `zhconv` crate: OpenCC's and
//!    MediaWiki's phrase and character dictionaries (Hong Kong and Taiwan variants included) compiled into one
//!    Aho-Corasick automaton, longest match first. It runs after step 4 so that phrases broken by a column line
//!    break are converted as one phrase.
//!
//! The result carries, for every character of the normalized text, the code point offset of the original
//! character it came from ([`Normalized::offsets`]), so any span `[i, j)` of the normalized text maps back to the
//! half-open code point span [`Normalized::original_span`] of the input.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Which normalization steps run. `Default` switches every step on (the fingerprinting setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NormalizeOptions {
    /// Unicode NFKC compatibility normalization.
    pub nfkc: bool,
    /// Map CJK (full-width) punctuation to ASCII punctuation.
    pub fold_width: bool,
    /// Lower-case letters.
    pub lowercase: bool,
    /// Remove punctuation, symbols and control characters.
    pub strip_punctuation: bool,
    /// Remove whitespace next to CJK characters and collapse other whitespace runs to one space.
    pub strip_whitespace: bool,
    /// Convert traditional Chinese (including Hong Kong and Taiwan variants) to simplified Chinese.
    pub traditional_to_simplified: bool,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            nfkc: true,
            fold_width: true,
            lowercase: true,
            strip_punctuation: true,
            strip_whitespace: true,
            traditional_to_simplified: true,
        }
    }
}

/// A normalized text and its map back to the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalized text.
    pub text: String,
    /// One entry per `char` of `text`: the code point offset, in the original text, of the character it came from.
    /// Non-decreasing, and every entry is `< original_len`.
    pub offsets: Vec<u32>,
    /// Length of the original text in code points.
    pub original_len: u32,
}

impl Normalized {
    /// Number of characters (code points) in the normalized text.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// True when the normalized text is empty.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Maps the half-open span `[start, end)` of normalized characters to the half-open span of original code points
    /// that produced them: from the first character's origin to just past the last character's origin (so the span
    /// covers any whitespace or punctuation removed inside it). Returns `None` for an empty or out-of-range span.
    pub fn original_span(&self, start: usize, end: usize) -> Option<(u32, u32)> {
        if start >= end || end > self.offsets.len() {
            return None;
        }
        Some((self.offsets[start], self.offsets[end - 1] + 1))
    }
}

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

/// Normalizes `text` with `opts`. Linear in the input; never fails.
///
/// ```
/// use textreuse_core::normalize::{normalize, NormalizeOptions};
/// let n = normalize("市長同\n校長會談。", &NormalizeOptions::default());
/// assert_eq!(n.text, "市长同校长会谈");
/// assert_eq!(n.original_span(4, 6), Some((5, 7)));
/// ```
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

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s, &NormalizeOptions::default()).text
    }

    #[test]
    fn column_breaks_vanish_and_script_converts() {
        assert_eq!(
            norm("當地時間3月2日中午，市圖書館\n館長同兩國學者會談"),
            "当地时间3月2日中午市图书馆馆长同两国学者会谈"
        );
        assert_eq!(norm("本报杭州 3月 2日电 当地时\n间 3 月 2 日上午"), "本报杭州3月2日电当地时间3月2日上午");
    }

    #[test]
    fn hard_characters_convert() {
        // Characters that a one-to-one table gets wrong or leaves alone.
        assert_eq!(norm("於是天氣乾燥"), "于是天气干燥");
        assert_eq!(norm("徵求意見"), "征求意见");
        assert_eq!(norm("乾隆皇帝"), "乾隆皇帝");
        assert_eq!(norm("衞生"), "卫生");
    }

    #[test]
    fn width_case_and_words() {
        assert_eq!(norm("ＡＢＣ　Ｄｅｆ"), "abc def");
        assert_eq!(norm("Hello,   World!\nNew-\nYork con-\n  tinued"), "hello world newyork continued");
        assert_eq!(norm("state-of-the-art"), "state of the art");
        assert_eq!(norm("2025年5月"), "2025年5月");
    }

    #[test]
    fn hard_wrapped_columns_join_words() {
        let wrapped = "Prince Harry\n has reveale\nd he hopes t\no have a bab\ny girl.\n\nNext para.";
        assert_eq!(hard_wrap_width(wrapped), Some(12));
        assert_eq!(norm(wrapped), "prince harry has revealed he hopes to have a baby girl next para");
        // Ragged word-wrapped lines keep their line breaks as word boundaries.
        let ragged = "the quick brown\nfox jumps over the\nlazy dog and\nruns away";
        assert_eq!(hard_wrap_width(ragged), None);
        assert_eq!(norm(ragged), "the quick brown fox jumps over the lazy dog and runs away");
    }

    #[test]
    fn offsets_map_back() {
        let src = "Ａ 圖書館，\n館長";
        let n = normalize(src, &NormalizeOptions::default());
        assert_eq!(n.text, "a图书馆馆长");
        let orig: Vec<char> = src.chars().collect();
        let (s, e) = n.original_span(1, 6).unwrap();
        let span: String = orig[s as usize..e as usize].iter().collect();
        assert_eq!(span, "圖書館，\n館長");
    }

    #[test]
    fn steps_switch_off() {
        let opts = NormalizeOptions { traditional_to_simplified: false, lowercase: false, ..Default::default() };
        assert_eq!(normalize("圖書館 ABC", &opts).text, "圖書館ABC");
        let raw = NormalizeOptions {
            nfkc: false,
            fold_width: false,
            lowercase: false,
            strip_punctuation: false,
            strip_whitespace: false,
            traditional_to_simplified: false,
        };
        let s = "Ａ 館，\n";
        assert_eq!(normalize(s, &raw).text, s);
    }
}
