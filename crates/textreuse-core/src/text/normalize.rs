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
//! 5. **traditional → simplified Chinese** to mainland usage (`zh-CN`) with the rules of the `zhconv` crate:
//!    OpenCC's and MediaWiki's phrase and character dictionaries (Hong Kong and Taiwan variants included), longest
//!    match first, walked rule by rule with the same result as zhconv's Aho-Corasick automaton. It runs after
//!    step 4 so that phrases broken by a column line break are converted as one phrase.
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

/// Characters known to be unchanged by NFKC whatever follows them, so that they never start a cluster.
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
    Space = 0,
    Newline = 1,
    Punct = 2,
    Hyphen = 3,
    Cjk = 4,
    Word = 5,
}

/// [`Class`] by its discriminant (the low three bits of a [`CharTable`] entry).
const CLASSES: [Class; 8] =
    [Class::Space, Class::Newline, Class::Punct, Class::Hyphen, Class::Cjk, Class::Word, Class::Word, Class::Word];

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

// Bits of a `CharTable` entry above the class.
/// NFKC maps the character, alone, to itself.
const INERT: u8 = 1 << 3;
/// NFKC maps the character, alone, to one other character (`CharTable::nfkc1`).
const SINGLE: u8 = 1 << 4;
/// [`composes_with_previous`].
const COMPOSES: u8 = 1 << 5;
/// `char::is_uppercase`.
const UPPER: u8 = 1 << 6;
/// [`fold_width_char`] changes the character.
const FOLDS: u8 = 1 << 7;

/// What normalization needs to know of every character of the Basic Multilingual Plane, looked up in one step
/// instead of asking the Unicode tables (normalization, general category, case) character by character. Built
/// once per process (a few milliseconds) from the very functions the per-character definition uses, so the two
/// cannot disagree; characters outside the BMP take the per-character path.
struct CharTable {
    /// Per BMP code point: its [`Class`] in the low three bits, then the flags above.
    props: Box<[u8]>,
    /// Per BMP code point with [`SINGLE`]: its NFKC image.
    nfkc1: Box<[char]>,
    /// Two bits per BMP code point of U+0080 and above ([`CharTable::gap_of`]): [`GAP_PUNCT`] or [`GAP_SPACE`]
    /// where the character alone, NFKC-normalized and folded ([`fold_width_char`]), is one character of class
    /// [`Class::Punct`] or [`Class::Space`] (CJK punctuation, the ideographic space); 0 otherwise. 16 KiB.
    gaps: Box<[u64]>,
}

/// [`CharTable::gaps`]: the character is punctuation once normalized.
const GAP_PUNCT: u64 = 1;
/// [`CharTable::gaps`]: the character is a space once normalized.
const GAP_SPACE: u64 = 2;

fn char_table() -> &'static CharTable {
    static TABLE: std::sync::OnceLock<CharTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| build_char_table(true))
}

/// [`char_table`], built. With `stable_inert`, a character that NFKC leaves unchanged whatever follows it
/// ([`nfkc_stable`]: ASCII and C1 controls, the CJK Unified Ideographs and Extension A, Hangul syllables; 60% of
/// the plane) is marked [`INERT`] without running NFKC on it, the slowest part of the build, and the ideographs and
/// syllables among them get their entry (a CJK unit, nothing else) without the other look-ups; a test checks that
/// the table is the same without the shortcut.
fn build_char_table(stable_inert: bool) -> CharTable {
    let mut props = vec![0u8; 0x10000].into_boxed_slice();
    let mut nfkc1 = vec!['\0'; 0x10000].into_boxed_slice();
    let mut gaps = vec![0u64; 0x10000 / 32].into_boxed_slice();
    for u in 0..0x10000u32 {
        let Some(c) = char::from_u32(u) else { continue };
        if stable_inert && u >= 0x3400 && nfkc_stable(c) {
            // An ideograph or a Hangul syllable: a CJK unit, caseless, combining with nothing, folded to nothing.
            props[u as usize] = Class::Cjk as u8 | INERT;
            continue;
        }
        let class = classify(c);
        let mut p = class as u8;
        let mut image = None;
        if stable_inert && nfkc_stable(c) {
            p |= INERT;
            image = Some(c);
        } else {
            let mut nfkc = std::iter::once(c).nfkc();
            match (nfkc.next(), nfkc.next()) {
                (Some(d), None) if d == c => {
                    p |= INERT;
                    image = Some(c);
                }
                (Some(d), None) => {
                    p |= SINGLE;
                    nfkc1[u as usize] = d;
                    image = Some(d);
                }
                _ => {}
            }
        }
        if composes_with_previous(c) {
            p |= COMPOSES;
        }
        if c.is_uppercase() {
            p |= UPPER;
        }
        if fold_width_char(c) != c {
            p |= FOLDS;
        }
        props[u as usize] = p;
        if let (Some(c0), true) = (image, u >= 0x80) {
            // The class of the character's image: its own class when it is its own image and not folded.
            let c1 = fold_width_char(c0);
            let g = match if c1 == c { class } else { classify(c1) } {
                Class::Punct => GAP_PUNCT,
                Class::Space => GAP_SPACE,
                _ => 0,
            };
            gaps[u as usize / 32] |= g << (2 * (u % 32));
        }
    }
    CharTable { props, nfkc1, gaps }
}

impl CharTable {
    /// Class of `c` and whether it is upper case.
    #[inline]
    fn class_upper(&self, c: char) -> (Class, bool) {
        let u = c as usize;
        if u < 0x10000 {
            let p = self.props[u];
            (CLASSES[(p & 7) as usize], p & UPPER != 0)
        } else {
            (classify(c), c.is_uppercase())
        }
    }

    /// [`GAP_PUNCT`], [`GAP_SPACE`] or 0 for the BMP code point `u` ([`CharTable::gaps`]).
    #[inline(always)]
    fn gap_of(&self, u: usize) -> u64 {
        (self.gaps[u / 32] >> (2 * (u % 32))) & 3
    }

    /// [`composes_with_previous`] for `c`.
    #[inline]
    fn composes(&self, c: char) -> bool {
        let u = c as usize;
        if u < 0x10000 {
            self.props[u] & COMPOSES != 0
        } else {
            composes_with_previous(c)
        }
    }
}

/// The end of the run of CJK Unified Ideographs (U+4E00..U+9FFF: E4 B8 80 to E9 BF BF in UTF-8, three bytes each)
/// that starts at byte `pos` of the valid UTF-8 `bytes` (`pos` itself when none starts there). On x86-64 five
/// characters at a time with SSE2: the lead bytes of sixteen bytes are classified at once (E5..E9, or E4 before a
/// byte of B8 or more), and the run goes on while those at 0, 3, 6, 9 and 12 are leads; elsewhere, and for the last
/// bytes, one character at a time.
#[inline]
pub(crate) fn ideograph_run_end(bytes: &[u8], mut pos: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        if pos + 64 <= bytes.len() && std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the processor has AVX-512 F and BW (checked just above; BW implies F).
            let (end, ended) = unsafe { ideograph_run_end_avx512(bytes, pos) };
            if ended {
                return end;
            }
            pos = end;
        }
        while pos + 16 <= bytes.len() {
            // SAFETY: the 16 bytes read lie within `bytes`; SSE2 is available on every x86-64 processor.
            let leads = unsafe {
                let v = _mm_loadu_si128(bytes.as_ptr().add(pos).cast::<__m128i>());
                // Bytes as signed: E4..E9 are -28..-23, B8..BF are -72..-65, continuation bytes -128..-65.
                let e5_e9 = _mm_and_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(0xE4u8 as i8)),
                    _mm_cmplt_epi8(v, _mm_set1_epi8(0xEAu8 as i8)),
                );
                let e4 = _mm_cmpeq_epi8(v, _mm_set1_epi8(0xE4u8 as i8));
                // The byte after each (the last lane's is never looked at).
                let next = _mm_srli_si128::<1>(v);
                let next_b8 = _mm_cmpgt_epi8(next, _mm_set1_epi8(0xB7u8 as i8));
                _mm_movemask_epi8(_mm_or_si128(e5_e9, _mm_and_si128(e4, next_b8))) as u32
            };
            // The first of bytes 0, 3, 6, 9, 12 that is no lead ends the run (15 when all are).
            let first = ((!leads & 0x1249) | 0x8000).trailing_zeros() as usize;
            pos += first;
            if first < 15 {
                return pos;
            }
        }
    }
    while pos + 2 < bytes.len() {
        let (b0, b1) = (bytes[pos], bytes[pos + 1]);
        if !((0xE5..=0xE9).contains(&b0) || (b0 == 0xE4 && b1 >= 0xB8)) {
            break;
        }
        pos += 3;
    }
    pos
}

/// Bit `k` set when byte `k` of the 64 bytes `v` is the lead byte of a CJK Unified Ideograph (E5..E9, or E4 before
/// a byte of B8 or more: U+4E00 is E4 B8 80), as [`ideograph_run_end`] and `shingle`'s blocks of ideographs look
/// for them; bit 63 only from byte 63 (its next byte is not in `v`).
///
/// # Safety
/// The processor must have AVX-512 F and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub(crate) unsafe fn ideograph_leads64(v: std::arch::x86_64::__m512i) -> u64 {
    use std::arch::x86_64::*;
    let e5_e9 = _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(0xE5u8 as i8))
        & _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0xE9u8 as i8));
    let e4 = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(0xE4u8 as i8));
    // The byte after each.
    let next_b8 = _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(0xB8u8 as i8)) >> 1;
    e5_e9 | (e4 & next_b8)
}

/// [`ideograph_run_end`]'s blocks with AVX-512 BW, twenty-one characters at a time (the lead bytes at 0, 3, ... 60 of
/// 64 bytes), while 64 bytes are left: returns the run's end and `true` when it ends in a block, else where the
/// blocks stop and `false` (the caller goes on from there).
///
/// # Safety
/// The processor must have AVX-512 F and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn ideograph_run_end_avx512(bytes: &[u8], mut pos: usize) -> (usize, bool) {
    use std::arch::x86_64::*;
    // Bits 0, 3, ... 60: where the characters of a run of ideographs start.
    const LEADS: u64 = 0x1249_2492_4924_9249;
    while pos + 64 <= bytes.len() {
        // SAFETY: the 64 bytes read lie within `bytes`.
        let leads = ideograph_leads64(_mm512_loadu_si512(bytes.as_ptr().add(pos).cast()));
        // The first of bytes 0, 3, ... 60 that is no lead ends the run (63 when all are; only the leads of bytes 0 to
        // 60 are looked at, whose next byte lies within the block).
        let first = ((!leads & LEADS) | (1 << 63)).trailing_zeros() as usize;
        pos += first;
        if first < 63 {
            return (pos, true);
        }
    }
    (pos, false)
}

/// ASCII letters and digits, by byte.
static ASCII_ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    t
};

/// The end of the run of ASCII letters and digits that starts at byte `pos` of `bytes` (`pos` itself when
/// `bytes[pos]` is none). On x86-64 sixteen bytes are classified at a time with SSE2 (part of every x86-64
/// processor), so a word costs one branch instead of one per byte; elsewhere, and for the last bytes, by table.
#[inline]
pub(crate) fn ascii_alnum_run_end(bytes: &[u8], mut pos: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        while pos + 16 <= bytes.len() {
            // SAFETY: the 16 bytes read lie within `bytes`; SSE2 is available on every x86-64 processor.
            let mask = unsafe { alnum_mask(_mm_loadu_si128(bytes.as_ptr().add(pos).cast::<__m128i>())) };
            // `mask` has 16 bits: the first clear one ends the run.
            let run = (!mask).trailing_zeros() as usize;
            if run < 16 {
                return pos + run;
            }
            pos += 16;
        }
    }
    while pos < bytes.len() && ASCII_ALNUM[bytes[pos] as usize] {
        pos += 1;
    }
    pos
}

/// Bit `k` set when byte `k` of `v` is an ASCII letter or digit.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn alnum_mask(v: std::arch::x86_64::__m128i) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is available on every x86-64 processor.
    unsafe {
        // Letters: `b | 0x20` in 'a'..='z'. Digits: `b` in '0'..='9'. Compares are signed, so bytes of 0x80 and
        // above (negative) fall in neither range.
        let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let letter = _mm_and_si128(
            _mm_cmpgt_epi8(folded, _mm_set1_epi8(b'a' as i8 - 1)),
            _mm_cmplt_epi8(folded, _mm_set1_epi8(b'z' as i8 + 1)),
        );
        let digit = _mm_and_si128(
            _mm_cmpgt_epi8(v, _mm_set1_epi8(b'0' as i8 - 1)),
            _mm_cmplt_epi8(v, _mm_set1_epi8(b'9' as i8 + 1)),
        );
        _mm_movemask_epi8(_mm_or_si128(letter, digit)) as u32
    }
}

/// Appends the run of ASCII letters and digits that starts at byte `pos` of `bytes` to `out`, lower-cased when
/// `lower`, and returns where it ends ([`ascii_alnum_run_end`]). A letter or digit with bit 5 set is its lower
/// case (`b'A' | 0x20 == b'a'`; digits have the bit already). On x86-64 sixteen bytes at a time: each block is
/// classified and stored whole into `out`'s spare capacity, and `out`'s length then covers the run only. `out` must
/// have spare capacity for the rest of `bytes` plus 16 bytes.
#[inline(always)]
fn append_alnum_run(bytes: &[u8], mut pos: usize, out: &mut Vec<u8>, lower: bool) -> usize {
    assert!(out.capacity() - out.len() >= bytes.len() - pos + 16);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let (start, len0) = (pos, out.len());
        while pos + 16 <= bytes.len() {
            // SAFETY: the 16 bytes read lie within `bytes`; the 16 written lie within `out`'s capacity, since
            // `pos - start` bytes of `bytes` are behind and at least 16 more are ahead of `pos` (asserted above);
            // the length set covers bytes written here, ASCII letters and digits (valid UTF-8). SSE2 is available
            // on every x86-64 processor.
            unsafe {
                let v = _mm_loadu_si128(bytes.as_ptr().add(pos).cast::<__m128i>());
                let case = _mm_set1_epi8(if lower { 0x20 } else { 0 });
                let dst = out.as_mut_ptr().add(len0 + (pos - start));
                _mm_storeu_si128(dst.cast::<__m128i>(), _mm_or_si128(v, case));
                let run = (!alnum_mask(v)).trailing_zeros() as usize;
                if run < 16 {
                    out.set_len(len0 + (pos + run - start));
                    return pos + run;
                }
                out.set_len(len0 + (pos + 16 - start));
            }
            pos += 16;
        }
    }
    let table = if lower { &ASCII_ALNUM_LOWER } else { &ASCII_ALNUM_SAME };
    while pos < bytes.len() && ASCII_ALNUM[bytes[pos] as usize] {
        out.push(table[bytes[pos] as usize]);
        pos += 1;
    }
    pos
}

/// Whether the processor has what [`ascii_block`] needs: AVX-512 BW (with F) and VBMI2 (byte compression).
#[inline]
fn has_ascii_blocks() -> bool {
    #[cfg(target_arch = "x86_64")]
    let has = std::arch::is_x86_feature_detected!("avx512bw") && std::arch::is_x86_feature_detected!("avx512vbmi2");
    #[cfg(not(target_arch = "x86_64"))]
    let has = false;
    has
}

/// ASCII words and the gaps between them, 64 bytes at a time: what [`Emitter::emit`] does byte by byte to the
/// bytes of `bytes` from `pos` to the end of the last word that ends in the block before its first byte of
/// `-`, of 0x80 and above, or `\n` or `\r` when `wrapped` (a hyphen may join a word across a line break, and a line
/// break of a hard-wrapped text may join; the others are the per-character path's). At `pos` the emitter has just
/// emitted a letter or a digit (the one before `pos`, or the one at `pos` whose gap is settled): each other ASCII
/// byte (a space, a line break, punctuation, a control character) is a gap, a run of them between two words
/// leaves one space at the run's first byte, and the letters and digits are copied, lower-cased when `lower`.
/// The kept bytes go to `out` in one byte compression (VBMI2). Returns how many bytes of `bytes` the block took
/// and which of them (bits of the block) gave a byte of `out`; `None` when no word ends in that part of the block.
///
/// # Safety
/// The processor must have AVX-512 BW and VBMI2; `pos + 64 <= bytes.len()`; `out` must have spare capacity for 64
/// bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
unsafe fn ascii_block(bytes: &[u8], pos: usize, out: &mut Vec<u8>, lower: bool, wrapped: bool) -> Option<(usize, u64)> {
    use std::arch::x86_64::*;
    debug_assert!(pos + 64 <= bytes.len() && out.capacity() - out.len() >= 64);
    // SAFETY: the 64 bytes read lie within `bytes` (the caller's `pos + 64 <= bytes.len()`).
    let v = _mm512_loadu_si512(bytes.as_ptr().add(pos).cast());
    let folded = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
    let letters = _mm512_cmpge_epu8_mask(folded, _mm512_set1_epi8(b'a' as i8))
        & _mm512_cmple_epu8_mask(folded, _mm512_set1_epi8(b'z' as i8));
    let digits = _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(b'0' as i8))
        & _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(b'9' as i8));
    let words = letters | digits;
    let mut special = _mm512_movepi8_mask(v) | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'-' as i8));
    if wrapped {
        // The caller counts the characters of a line by the bytes it took, which holds without line breaks and
        // carriage returns (a line's trailing carriage return does not count).
        special |= _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8))
            | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\r' as i8));
    }
    // Word ends (a letter or digit before another byte) whose next byte lies before the first special byte and
    // within the block.
    let limit = special.trailing_zeros().min(63);
    let ends = words & !(words >> 1) & ((1u64 << limit) - 1);
    if ends == 0 {
        return None;
    }
    // At most 63: the last word end taken is before bit 63.
    let done = 64 - ends.leading_zeros() as usize;
    let taken = (1u64 << done) - 1;
    // The first byte of each gap: a gap byte after a letter or digit (the one before the block, for byte 0). Every
    // gap in the taken bytes ends before a word that is taken too.
    let gap_starts = !words & (words << 1 | 1) & taken;
    let kept = (words & taken) | gap_starts;
    let cased = if lower { _mm512_mask_mov_epi8(v, words, folded) } else { v };
    let image = _mm512_mask_mov_epi8(cased, gap_starts, _mm512_set1_epi8(b' ' as i8));
    let len = out.len();
    // SAFETY: 64 bytes of spare capacity (the caller's); the length set covers the kept bytes, ASCII letters,
    // digits and spaces (valid UTF-8).
    _mm512_storeu_si512(out.as_mut_ptr().add(len).cast(), _mm512_maskz_compress_epi8(kept, image));
    out.set_len(len + kept.count_ones() as usize);
    Some((done, kept))
}

/// ASCII letters (lower-cased) and digits by byte, 0 for any other byte.
static ASCII_ALNUM_LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        if (b as u8).is_ascii_alphanumeric() {
            t[b] = (b as u8).to_ascii_lowercase();
        }
        b += 1;
    }
    t
};

/// ASCII letters and digits as they are by byte, 0 for any other byte.
static ASCII_ALNUM_SAME: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        if (b as u8).is_ascii_alphanumeric() {
            t[b] = b as u8;
        }
        b += 1;
    }
    t
};

/// What a non-ASCII character between two ASCII words is to the normalizer's gap states.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Separator {
    /// Whitespace: a gap.
    Space,
    /// A line break other than `\n` (`\u{85}`, `\u{2028}`, `\u{2029}`): a gap that ends a hyphen's join.
    Newline,
    /// Punctuation or a symbol: a gap.
    Punct,
    /// A hyphen once folded (`—`): it may join two words across a line break.
    Hyphen,
}

/// How normalizing with `opts` (punctuation and whitespace stripped) treats the non-ASCII character `c` followed by
/// `next` (`None` at the end of the text or before an ASCII character, which composes with nothing), when it is fed
/// alone: when neither composes with what precedes it nor has anything that composes with it, and its NFKC image is
/// one character (or NFKC is off), its image folded ([`fold_width_char`]); then the class of that image when it is a
/// separator. `None` for any other character (a letter, digit, mark or CJK unit, one NFKC maps to several or that
/// forms a cluster): those take [`normalize_core`]'s own path. Reads the same [`CharTable`] as [`normalize_core`]
/// for the Basic Multilingual Plane; a character of another plane (an emoji, say: no width folding there) is a
/// separator when NFKC leaves it as it is and it is punctuation, a symbol, or of the categories taken as spaces.
pub(crate) fn separator_class(c: char, next: Option<char>, opts: &NormalizeOptions) -> Option<Separator> {
    let t = char_table();
    let u = c as usize;
    if u < 0x80 {
        return None;
    }
    if u >= 0x10000 {
        // The composition checks keep this function's contract for any caller; in the ASCII path a character that
        // composes is a mark, which is no separator and sends the text to the general path anyway.
        if opts.nfkc
            && (t.composes(c)
                || next.is_some_and(|d| t.composes(d))
                || !std::iter::once(c).nfkc().eq(std::iter::once(c)))
        {
            return None;
        }
        return match classify(c) {
            Class::Space => Some(Separator::Space),
            Class::Punct => Some(Separator::Punct),
            _ => None,
        };
    }
    let p = t.props[u];
    let image = if opts.nfkc {
        if p & COMPOSES != 0 || p & (INERT | SINGLE) == 0 || next.is_some_and(|d| t.composes(d)) {
            return None;
        }
        if p & INERT != 0 {
            c
        } else {
            t.nfkc1[u]
        }
    } else {
        c
    };
    let folded = if opts.fold_width && (image as usize) < 0x10000 && t.props[image as usize] & FOLDS != 0 {
        fold_width_char(image)
    } else {
        image
    };
    // An ASCII image (a folded hyphen, a quotation mark) is what the ASCII path would see; '\n' and '\r' are
    // line breaks the normalizer counts as such only when they stand in the text.
    if folded == '\n' || folded == '\r' {
        return None;
    }
    match t.class_upper(folded).0 {
        Class::Space => Some(Separator::Space),
        Class::Newline => Some(Separator::Newline),
        Class::Punct => Some(Separator::Punct),
        Class::Hyphen => Some(Separator::Hyphen),
        Class::Cjk | Class::Word => None,
    }
}

/// Decodes the character starting at byte `pos` of valid UTF-8; returns it and its length in bytes.
#[inline(always)]
pub(crate) fn decode_at(bytes: &[u8], pos: usize) -> (char, usize) {
    let (u, len) = decode_valid(bytes, pos);
    (char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER), len)
}

/// Where the offsets of emitted characters go: a `Vec<u32>` for [`normalize`], nowhere for
/// [`normalize_text_into`].
trait OffsetSink {
    fn push(&mut self, offset: u32);
    fn push_range(&mut self, offsets: std::ops::Range<u32>);
    /// `base + k` for each bit `k` set in `mask`, in increasing order.
    fn push_mask(&mut self, base: u32, mask: u64);
}

impl OffsetSink for Vec<u32> {
    #[inline]
    fn push(&mut self, offset: u32) {
        Vec::push(self, offset);
    }
    #[inline]
    fn push_range(&mut self, offsets: std::ops::Range<u32>) {
        self.extend(offsets);
    }
    #[inline]
    fn push_mask(&mut self, base: u32, mut mask: u64) {
        self.reserve(mask.count_ones() as usize);
        while mask != 0 {
            Vec::push(self, base + mask.trailing_zeros());
            mask &= mask - 1;
        }
    }
}

/// Discards offsets, counting them: the number of characters emitted.
struct NoOffsets(usize);

impl OffsetSink for NoOffsets {
    #[inline]
    fn push(&mut self, _: u32) {
        self.0 += 1;
    }
    #[inline]
    fn push_range(&mut self, offsets: std::ops::Range<u32>) {
        self.0 += offsets.len();
    }
    #[inline]
    fn push_mask(&mut self, _: u32, mask: u64) {
        self.0 += mask.count_ones() as usize;
    }
}

/// What lies between the last emitted character and the next one (also the states of the ASCII path's separators,
/// `text::ascii`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gap {
    None,
    Break,
    Hyphen,
    HyphenNewline,
}

/// Builds the lookup tables that normalizing with `opts` reads: the per-character table always, and the script
/// conversion's rules when `opts.traditional_to_simplified` is set, each on its own thread of the current rayon
/// pool ([`rayon::join`]). Each is built once per process, by whichever comes first: this or the first text
/// normalized (a few milliseconds each), so calling it changes no result. A job calls it on a pool thread as it
/// starts ([`rayon::spawn`]) so that the tables are ready when the first records arrive instead of being built
/// while the other workers wait for them.
///
/// ```
/// use textreuse_core::text::normalize::{normalize, prepare, NormalizeOptions};
/// let opts = NormalizeOptions::default();
/// prepare(&opts);
/// assert_eq!(normalize("市長", &opts).text, "市长");
/// ```
pub fn prepare(opts: &NormalizeOptions) {
    let convert = opts.traditional_to_simplified;
    rayon::join(
        || {
            char_table();
        },
        || {
            if convert {
                rule_starts();
            }
        },
    );
}

/// [`prepare`] started on the rayon pool without waiting for it: what a job calls as it starts, so that the tables
/// are built while it reads its first records.
pub fn prepare_in_background(opts: &NormalizeOptions) {
    let opts = *opts;
    rayon::spawn(move || prepare(&opts));
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
    let mut out = String::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len() / 2);
    let original_len = normalize_core(text, opts, &mut out, &mut offsets);
    if opts.traditional_to_simplified {
        to_simplified(&mut out, offsets.len(), Some(&mut offsets), &mut String::new());
    }
    Normalized { text: out, offsets, original_len }
}

/// Normalizes `text` like [`normalize`] into `out` (cleared first) without building the offset map: what
/// fingerprinting needs. `scratch` is working space for the script conversion; passing the same buffers for
/// every document saves allocations. Returns the length of `text` in code points ([`Normalized::original_len`]).
///
/// ```
/// use textreuse_core::text::normalize::{normalize, normalize_text_into, NormalizeOptions};
/// let (mut out, mut scratch) = (String::new(), String::new());
/// let opts = NormalizeOptions::default();
/// assert_eq!(normalize_text_into("市長同\n校長會談。", &opts, &mut out, &mut scratch), 9);
/// assert_eq!(out, normalize("市長同\n校長會談。", &opts).text);
/// ```
pub fn normalize_text_into(text: &str, opts: &NormalizeOptions, out: &mut String, scratch: &mut String) -> u32 {
    let (original_len, chars) = normalize_unconverted_into(text, opts, out);
    if opts.traditional_to_simplified {
        to_simplified(out, chars, None, scratch);
    }
    original_len
}

/// Steps 1 to 4 of the module (every step but the script conversion) of `text` with `opts`, into `out` (cleared
/// first), without the offset map. Returns the length of `text` and of `out`, in code points. With the script
/// conversion after it (the crate-private `simplify_in_place`), this is [`normalize_text_into`]; fingerprinting
/// converts the script while it cuts units instead ([`crate::shingle::shingle_set_of_unconverted`]).
pub fn normalize_unconverted_into(text: &str, opts: &NormalizeOptions, out: &mut String) -> (u32, usize) {
    out.clear();
    let mut chars = NoOffsets(0);
    let original_len = normalize_core(text, opts, out, &mut chars);
    (original_len, chars.0)
}

/// Step 5 of the module alone (traditional → simplified script) on `text`, in place: what [`normalize_text_into`]
/// does after [`normalize_unconverted_into`]. `n_chars` is the length of `text` in code points; `scratch` is
/// working space.
pub(crate) fn simplify_in_place(text: &mut String, n_chars: usize, scratch: &mut String) {
    to_simplified(text, n_chars, None, scratch);
}

/// Steps 1 to 4 of the module: one pass over the bytes of `text`, appending to `out` and `offs`. Returns the
/// number of code points of `text`.
///
/// The definition is per character: a character known to be stable under NFKC ([`nfkc_stable`]) is fed to the
/// [`Emitter`] as it is; any other character forms a cluster with the characters that compose with it
/// ([`composes_with_previous`]), and the cluster's NFKC image is fed, every character of it mapped to the
/// cluster's first offset. The fast paths below give the same result with fewer steps: runs of ASCII letters and
/// digits and runs of CJK Unified Ideographs are emitted in bulk, and a character whose NFKC image alone is one
/// character (per [`CharTable`]) and that nothing after it composes with is a cluster of one, fed without calling
/// NFKC. `tests/normalize.rs` checks the result against the per-character definition on random text.
fn normalize_core<S: OffsetSink>(text: &str, opts: &NormalizeOptions, out: &mut String, offs: &mut S) -> u32 {
    let t = char_table();
    let wrap_width = if opts.strip_whitespace { hard_wrap_width(text) } else { None };
    let blocks = opts.strip_whitespace && opts.strip_punctuation && has_ascii_blocks();
    let wrapped = wrap_width.is_some();
    let mut e = Emitter { out, offs, gap: Gap::None, gap_at: 0, last: None, opts, t, blocks, wrapped };
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut cluster = String::new();
    // The gap fast path below gives what `feed` and `emit` give with these options.
    let gaps = opts.nfkc && opts.fold_width && opts.strip_punctuation && opts.strip_whitespace;
    let mut pos = 0usize; // byte offset of the next character
    let mut i: u32 = 0; // its code point offset
    let mut line_len: u32 = 0; // characters since the last line break (marks absorbed by a cluster aside)
    while pos < n {
        let b = bytes[pos];
        if b < 0x80 {
            if ASCII_ALNUM[b as usize] {
                let end = e.ascii_word(bytes, pos, i);
                let len = (end - pos) as u32;
                line_len += len;
                i += len;
                pos = end;
                continue;
            }
            match b {
                // One space, the commonest gap: what `emit` does with a space.
                b' ' if opts.strip_whitespace => {
                    if e.gap == Gap::None {
                        e.gap = Gap::Break;
                        e.gap_at = i;
                    }
                    line_len += 1;
                }
                b'\n' => {
                    let wrapped = wrap_width == Some(line_len);
                    line_len = 0;
                    // A column line break inside a paragraph may split a word, so it joins.
                    if !wrapped {
                        e.emit('\n', Class::Newline, false, i);
                    }
                }
                b'\r' => e.emit('\r', Class::Newline, false, i),
                _ => {
                    line_len += 1;
                    e.emit(b as char, CLASSES[(t.props[b as usize] & 7) as usize], false, i);
                }
            }
            pos += 1;
            i += 1;
            continue;
        }
        if (0xE4..=0xE9).contains(&b) {
            // A run of CJK Unified Ideographs (U+4E00..U+9FFF): stable under every step but the script conversion.
            let start = pos;
            pos = ideograph_run_end(bytes, pos);
            let first = i;
            i += ((pos - start) / 3) as u32;
            if pos > start {
                e.cjk_run(&text[start..pos], first, i);
                line_len += i - first;
                continue;
            }
        }
        let (c, len) = decode_at(bytes, pos);
        line_len += 1;
        if !opts.nfkc {
            e.feed(c, i);
            pos += len;
            i += 1;
            continue;
        }
        let u = c as usize;
        if gaps && u < 0x10000 {
            // Punctuation or a space once normalized (CJK punctuation, the ideographic space) that nothing after
            // it composes with: what `feed` and `emit` do with it, a gap, in one look-up. A character whose next
            // one starts with a byte below 0xCC (below U+0300) or is in U+4000..U+9FFF composes with nothing.
            let g = t.gap_of(u);
            if g != 0 && {
                let next = pos + len;
                next >= n
                    || bytes[next] < 0xCC
                    || (0xE4..=0xE9).contains(&bytes[next])
                    || !t.composes(decode_at(bytes, next).0)
            } {
                // `emit`'s arms for punctuation and spaces, written here: calling `emit` cost 4% of the whole on
                // Chinese news (437 -> 422 MB/s).
                if g == GAP_PUNCT {
                    if e.gap == Gap::None {
                        e.gap_at = i;
                    }
                    e.gap = Gap::Break;
                } else if e.gap == Gap::None {
                    e.gap = Gap::Break;
                    e.gap_at = i;
                }
                pos += len;
                i += 1;
                continue;
            }
        }
        if u < 0x10000 {
            let p = t.props[u];
            if p & (INERT | SINGLE) != 0
                && (nfkc_stable(c) || pos + len >= n || !t.composes(decode_at(bytes, pos + len).0))
            {
                e.feed(if p & INERT != 0 { c } else { t.nfkc1[u] }, i);
                pos += len;
                i += 1;
                continue;
            }
        }
        // Combining marks that follow belong to this cluster; they map to the base character's offset.
        cluster.clear();
        cluster.push(c);
        pos += len;
        let mut k = 1;
        while pos < n {
            let (m, mlen) = decode_at(bytes, pos);
            if !t.composes(m) {
                break;
            }
            cluster.push(m);
            pos += mlen;
            k += 1;
        }
        for c0 in cluster.nfkc() {
            e.feed(c0, i);
        }
        i += k;
    }
    i
}

/// The per-character state machine of [`normalize`]: what was emitted last and what lies since.
struct Emitter<'a, S: OffsetSink> {
    out: &'a mut String,
    offs: &'a mut S,
    gap: Gap,
    gap_at: u32,
    last: Option<Class>,
    opts: &'a NormalizeOptions,
    t: &'a CharTable,
    /// Whether [`ascii_block`] may run: the processor has AVX-512 BW and VBMI2, and whitespace and punctuation are
    /// stripped.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    blocks: bool,
    /// Whether the text is hard-wrapped ([`hard_wrap_width`]): then a line break may join, and ends a block.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    wrapped: bool,
}

impl<S: OffsetSink> Emitter<'_, S> {
    /// Handles one (NFKC-normalized) character that came from original offset `i`.
    #[inline]
    fn feed(&mut self, c0: char, i: u32) {
        let c1 = if self.opts.fold_width && (c0 as usize) < 0x10000 && self.t.props[c0 as usize] & FOLDS != 0 {
            fold_width_char(c0)
        } else {
            c0
        };
        let (class, upper) = self.t.class_upper(c1);
        self.emit(c1, class, upper, i);
    }

    /// Handles the (folded) character `c1` of class `class` from original offset `i`.
    #[inline]
    fn emit(&mut self, c1: char, class: Class, upper: bool, i: u32) {
        let opts = self.opts;
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
                self.offs.push(i);
                self.last = Some(Class::Cjk);
            }
            _ => {
                let word_like = class == Class::Word;
                if word_like {
                    self.word_gap();
                } else {
                    self.gap = Gap::None;
                }
                // Without whitespace or punctuation stripping, those characters are emitted as they are.
                let class = if word_like { Class::Word } else { Class::Punct };
                if opts.lowercase && upper {
                    for l in c1.to_lowercase() {
                        self.out.push(l);
                        self.offs.push(i);
                    }
                } else {
                    self.out.push(c1);
                    self.offs.push(i);
                }
                self.last = Some(class);
            }
        }
    }

    /// Before a word character: one space where a gap separates it from a word, none where a hyphen and a line
    /// break join it to one.
    #[inline]
    fn word_gap(&mut self) {
        if self.gap != Gap::None {
            if self.gap != Gap::HyphenNewline && self.last == Some(Class::Word) {
                self.out.push(' ');
                self.offs.push(self.gap_at);
            }
            self.gap = Gap::None;
        }
    }

    /// The run of ASCII letters and digits that starts at byte `pos` of `bytes` (a character at original offset
    /// `i`), and the words that follow it each after one space: what [`Emitter::emit`] does character by character,
    /// copying and lower-casing in one pass. Returns the byte offset where the last run ends.
    #[inline]
    fn ascii_word(&mut self, bytes: &[u8], pos: usize, i: u32) -> usize {
        self.word_gap();
        // SAFETY: only ASCII bytes are appended (ASCII letters and digits, lower-cased, and spaces), so the string
        // stays valid UTF-8.
        let out = unsafe { self.out.as_mut_vec() };
        // What `append_alnum_run` and `ascii_block` need: each byte of `bytes` gives at most one byte here.
        out.reserve(bytes.len() - pos + 64);
        let mut start = pos;
        loop {
            #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
            let mut end = append_alnum_run(bytes, start, out, self.opts.lowercase);
            self.offs.push_range(i + (start - pos) as u32..i + (end - pos) as u32);
            #[cfg(target_arch = "x86_64")]
            if self.blocks {
                // Then 64 bytes at a time while a block holds the end of a word before its first byte that needs
                // more than the gap rules.
                while end + 64 <= bytes.len() {
                    // SAFETY: the processor has AVX-512 BW and VBMI2 (`blocks`); 64 bytes lie from `end`, and `out`
                    // has room for 64 more bytes (reserved above: `out` grew by at most `end - pos` bytes).
                    let Some((done, kept)) =
                        (unsafe { ascii_block(bytes, end, out, self.opts.lowercase, self.wrapped) })
                    else {
                        break;
                    };
                    self.offs.push_mask(i + (end - pos) as u32, kept);
                    end += done;
                }
            }
            // One space and another word, the commonest sequel: what `emit` of the space (a gap) and `word_gap`
            // of the next word do, the space's own offset included.
            if self.opts.strip_whitespace
                && end + 1 < bytes.len()
                && bytes[end] == b' '
                && ASCII_ALNUM[bytes[end + 1] as usize]
            {
                out.push(b' ');
                self.offs.push(i + (end - pos) as u32);
                start = end + 1;
                continue;
            }
            self.last = Some(Class::Word);
            return end;
        }
    }

    /// A run of CJK Unified Ideographs from original offsets `first..end`: what [`Emitter::emit`] does character
    /// by character.
    #[inline]
    fn cjk_run(&mut self, run: &str, first: u32, end: u32) {
        self.gap = Gap::None;
        self.out.push_str(run);
        self.offs.push_range(first..end);
        self.last = Some(Class::Cjk);
    }
}

/// The line width of a hard-wrapped text (newspaper columns, fixed-width extraction), when there is one: the most
/// common length, in code points, of lines of at least 4 characters, when at least 3 lines and half of those lines
/// have exactly that length. A line of that width ends in a wrap, not a paragraph break, so its line break joins
/// rather than separating two words. Ragged, word-wrapped text has no such width. Trailing carriage returns do not
/// count; among equally common lengths the shortest wins.
pub fn hard_wrap_width(text: &str) -> Option<u32> {
    let bytes = text.as_bytes();
    if !bytes.contains(&b'\n') {
        return None;
    }
    // Lines shorter than 256 characters are counted in an array, longer ones listed; the lines of at least 4
    // characters are counted at the end (a count kept line by line was a load and a store of memory at every line:
    // the closure is called from a function of its own).
    let mut short = [0u32; 256];
    let mut long: Vec<u32> = Vec::new();
    // The closure goes by value, its captures with it: called through a reference, it had the histogram's address
    // loaded from memory again at every line.
    let record = |n: u32| match short.get_mut(n as usize) {
        Some(c) => *c += 1,
        None => long.push(n),
    };
    line_widths(bytes, record);
    let lines = short[4..].iter().sum::<u32>() + long.len() as u32;
    // The most common width of at least 4; the shortest among equals (widths are visited in increasing order).
    let (mut width, mut count) = (0u32, 0u32);
    for (w, &c) in short.iter().enumerate().skip(4) {
        if c > count {
            (width, count) = (w as u32, c);
        }
    }
    long.sort_unstable();
    for run in long.chunk_by(|a, b| a == b) {
        if run.len() as u32 > count {
            (width, count) = (run[0], run.len() as u32);
        }
    }
    (count >= 3 && 2 * count >= lines).then_some(width)
}

/// Calls `record` with the length in code points of every line of the valid UTF-8 `bytes`, in order, trailing
/// carriage returns left out: lines end at `\n`, and the last one at the end of `bytes`. A line's length is its
/// bytes less its continuation bytes (`10xxxxxx`). On x86-64 sixty-four bytes at a time: one pass finds the line
/// breaks and counts the continuation bytes of each block at once (with AVX-512 BW where the processor has it,
/// else four SSE2 steps).
#[inline]
fn line_widths(bytes: &[u8], record: impl FnMut(u32)) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the processor has AVX-512 F and BW (checked just above; BW implies F).
            unsafe { line_widths_avx512(bytes, record) };
        } else {
            line_widths_by_blocks(bytes, record, block_masks_sse2);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut record = record;
        let mut start = 0usize;
        for end in memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len())) {
            let l = &bytes[start..end];
            let mut end_trimmed = end;
            while end_trimmed > start && bytes[end_trimmed - 1] == b'\r' {
                end_trimmed -= 1;
            }
            record((end_trimmed - start - (l.len() - utf8_chars(l))) as u32);
            start = end + 1;
        }
    }
}

/// [`line_widths_by_blocks`] with AVX-512's byte comparisons into masks.
///
/// # Safety
/// The processor must have AVX-512 F and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn line_widths_avx512(bytes: &[u8], record: impl FnMut(u32)) {
    line_widths_by_blocks(bytes, record, |b: &[u8], pos: usize| {
        use std::arch::x86_64::*;
        // SAFETY: the caller passes `pos + 64 <= b.len()`; the processor has AVX-512 F and BW.
        unsafe {
            let v = _mm512_loadu_si512(b.as_ptr().add(pos).cast());
            let nl = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8));
            let top = _mm512_and_si512(v, _mm512_set1_epi8(0xC0u8 as i8));
            (nl, _mm512_cmpeq_epi8_mask(top, _mm512_set1_epi8(0x80u8 as i8)))
        }
    });
}

/// The line breaks and the continuation bytes of `b[pos..pos + 64]` as bit masks, sixteen bytes at a time with
/// SSE2 (available on every x86-64 processor).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block_masks_sse2(b: &[u8], pos: usize) -> (u64, u64) {
    use std::arch::x86_64::*;
    let (mut nl, mut cont) = (0u64, 0u64);
    for k in 0..4 {
        // SAFETY: the caller passes `pos + 64 <= b.len()`, so the 16 bytes read lie within `b`.
        unsafe {
            let v = _mm_loadu_si128(b.as_ptr().add(pos + 16 * k).cast::<__m128i>());
            let n = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8))) as u16;
            let top = _mm_and_si128(v, _mm_set1_epi8(0xC0u8 as i8));
            let c = _mm_movemask_epi8(_mm_cmpeq_epi8(top, _mm_set1_epi8(0x80u8 as i8))) as u16;
            nl |= u64::from(n) << (16 * k);
            cont |= u64::from(c) << (16 * k);
        }
    }
    (nl, cont)
}

/// [`line_widths`] by blocks of 64 bytes: `masks(bytes, pos)` gives the line breaks and the continuation bytes of
/// `bytes[pos..pos + 64]` as bit masks; the rest after the last whole block byte by byte.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn line_widths_by_blocks(bytes: &[u8], mut record: impl FnMut(u32), masks: impl Fn(&[u8], usize) -> (u64, u64)) {
    // The line that ends at byte `end` and starts at `start`, `cont` continuation bytes in it.
    let mut line = |start: usize, end: usize, cont: usize| {
        let mut end = end;
        while end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        record((end - start - cont) as u32);
    };
    let mut start = 0usize;
    // Continuation bytes before the current block, and before the current line's start.
    let (mut cont_before, mut cont_at_start) = (0usize, 0usize);
    let mut pos = 0usize;
    while pos + 64 <= bytes.len() {
        let (mut breaks, cont) = masks(bytes, pos);
        while breaks != 0 {
            let k = breaks.trailing_zeros();
            // A block without continuation bytes (ASCII text) needs no count at each line.
            let cont_here = match cont {
                0 => cont_before,
                _ => cont_before + (cont & ((1u64 << k) - 1)).count_ones() as usize,
            };
            // Cut at ASCII bytes, the line is a slice of the text; a carriage return is no continuation byte.
            line(start, pos + k as usize, cont_here - cont_at_start);
            start = pos + k as usize + 1;
            cont_at_start = cont_here;
            breaks &= breaks - 1;
        }
        cont_before += cont.count_ones() as usize;
        pos += 64;
    }
    // The rest: lines as below, the current one's first continuation bytes counted.
    let mut cont_in_line = cont_before - cont_at_start;
    for (k, &b) in bytes.iter().enumerate().skip(pos) {
        match b {
            b'\n' => {
                line(start, k, cont_in_line);
                start = k + 1;
                cont_in_line = 0;
            }
            b => cont_in_line += usize::from(b & 0xC0 == 0x80),
        }
    }
    line(start, bytes.len(), cont_in_line);
}

/// The number of characters of the valid UTF-8 `bytes`: its bytes less its continuation bytes (`10xxxxxx`), eight
/// bytes at a time. Lines of newspaper columns are short, where the standard library's count is made for long
/// strings.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline]
fn utf8_chars(bytes: &[u8]) -> usize {
    let mut continuation = 0u32;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        // Bit 7 of a byte set and bit 6 (shifted into bit 7's place) clear.
        continuation += (w & !(w << 1) & 0x8080_8080_8080_8080).count_ones();
    }
    for &b in words.remainder() {
        continuation += u32::from(b & 0xC0 == 0x80);
    }
    bytes.len() - continuation as usize
}

/// Converts traditional to simplified script in place, keeping the offset map when one is given (one entry per
/// character of `text`). `n_chars` is the number of characters of `text`. `scratch` is working space.
///
/// OpenCC maps phrases to phrases; almost always with the same number of characters, and then the map stays one
/// to one. Where a conversion changes the length, the text is split in halves until each piece keeps its length
/// or is at most 8 characters long; the characters of such a short piece map proportionally onto its origin.
/// The conversion walks zhconv's rules itself ([`convert_rules`]); zhconv's automaton only gives each rule's target,
/// once per process.
fn to_simplified(text: &mut String, n_chars: usize, offsets: Option<&mut Vec<u32>>, scratch: &mut String) {
    let Some(same_length) = convert_rules(text, scratch) else { return };
    if same_length {
        std::mem::swap(text, scratch);
        return;
    }
    let chars: Vec<char> = text.chars().collect();
    let no_offsets;
    let offs: &[u32] = match &offsets {
        Some(o) => o,
        None => {
            no_offsets = vec![0; n_chars];
            &no_offsets
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut new_offsets = Vec::with_capacity(n_chars);
    convert_piece(&chars, offs, &mut out, &mut new_offsets);
    *text = out;
    if let Some(o) = offsets {
        *o = new_offsets;
    }
}

/// zhconv's zh-CN rules, from the sources of its two tables (the ones its automaton is compiled from), laid out
/// for [`convert_rules`]: which characters alone are a source that changes, which begin a longer source and with
/// which second character, and the longer sources by their first two characters. Each source's target is what
/// zhconv's converter makes of the source alone, which is the target of the rule zhconv chose for it (the longest
/// match at the start of a source is the source itself). Built once per process.
pub(crate) struct RuleStarts {
    /// Two bits per code point: [`WHOLE`] (the character alone is a source with another target), [`BEGINS`] (it
    /// begins a longer source).
    bits: Box<[u64]>,
    /// A bit per hash of the first two characters of every source of two or more characters ([`pair_slot`]): a
    /// clear bit rules the pair out, a set one may be a collision.
    pairs: Box<[u64]>,
    /// The sources of two or more characters by their first two characters ([`pair_key`]), longest first.
    by_pair: rustc_hash::FxHashMap<u64, Vec<Rule>>,
    /// The rules of one character whose target differs from it, by code point.
    single: rustc_hash::FxHashMap<u32, Rule>,
    /// For each CJK Unified Ideograph (U+4E00 + index), what the conversion walk needs of it in one word: in the
    /// low 21 bits ([`CJK_UNIT`]) the one CJK character its own rule changes it to when the rule is simple
    /// (`Rule::simple`), else the character itself; [`CJK_LOOK_UP`] when its own rule is another (in
    /// [`RuleStarts::single`]); [`CJK_BEGINS`] when it begins a source of two or more characters. 84 KiB, where the
    /// map costs a cache miss or two per traditional character and the bits, the pairs and the map were three
    /// look-ups per character.
    cjk: Box<[u32]>,
    /// The longest run of ASCII characters that a source begins with (`16進位`, `IP位址`: 2); 0 when no source
    /// begins with one. No source is ASCII only.
    pub(crate) ascii_prefix: usize,
}

/// One conversion rule: its source, its target and the difference of their lengths in characters.
pub(crate) struct Rule {
    pub(crate) source: &'static str,
    target: &'static str,
    /// Characters of the target minus characters of the source.
    delta: isize,
    /// Whether the target differs from the source.
    changes: bool,
    /// The code points of what the walk leaves in place of the source: the target's when the rule changes the
    /// text, else the source's.
    pub(crate) units: &'static [u32],
    /// Whether source and target are CJK units only ([`is_cjk_unit`]) and as long as each other: then the rule
    /// leaves the text's runs of other characters as they are, and the fused walk
    /// ([`crate::shingle::shingle_set_of_unconverted`]) follows it.
    pub(crate) simple: bool,
}

/// The key of [`RuleStarts::by_pair`].
#[inline]
fn pair_key(a: u32, b: u32) -> u64 {
    u64::from(a) << 21 | u64::from(b)
}

/// [`RuleStarts::cjk`]: the character's code point, or the one its simple rule changes it to.
const CJK_UNIT: u32 = (1 << 21) - 1;
/// [`RuleStarts::cjk`]: the character's own rule is not a simple rule to one CJK character; it is in
/// [`RuleStarts::single`].
const CJK_LOOK_UP: u32 = 1 << 30;
/// [`RuleStarts::cjk`]: the character begins a source of two or more characters ([`BEGINS`]).
const CJK_BEGINS: u32 = 1 << 31;

/// What the conversion walk does at a character ([`RuleStarts::step_at`]).
pub(crate) enum Step<'a> {
    /// Copies it.
    Copy,
    /// Replaces it, a CJK character, with this CJK character.
    One(u32),
    /// Applies this rule.
    Rule(&'a Rule),
}

/// [`RuleStarts::bits`]: the character alone is a rule's source, with another target.
const WHOLE: u64 = 1;
/// [`RuleStarts::bits`]: the character begins a source of two or more characters.
const BEGINS: u64 = 2;
/// log2 of the number of bits of [`RuleStarts::pairs`]: 64 KiB, about 0.5% of them set. With 16 KiB (2% set),
/// 61% of the pairs that passed in Chinese news began no source (3,086 of 5,041 in a megabyte of chinanews
/// articles, each cutting a block of sixteen characters short, [`RuleStarts::ideograph_steps16`]); with 64 KiB, 26%
/// (693 of 2,648), and `dedup`'s Chinese fingerprint is 3-5% faster. A blocked Bloom filter with three bits per pair
/// in the 16 KiB let through fewer (59 of 2,014) but cost the scalar walk of the normalizer ([`convert_rules`])
/// three more shifts per character: Chinese normalization was 11-15% slower.
const PAIR_BITS: u32 = 19;

/// The slot of [`RuleStarts::pairs`] for the characters `a`, `b`.
#[inline(always)]
fn pair_slot(a: u32, b: u32) -> usize {
    let x = (u64::from(a) << 21 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> (64 - PAIR_BITS)) as usize
}

/// Every (source, target) pair of zhconv's zh-Hans table, then of its zh-CN table, as the tables list them (a
/// source may have a pair in both): the rules of zhconv's zh-CN converter, as zhconv's `expand_table` gives them
/// (the reference [`expanded_rules`] is checked against).
#[cfg(test)]
fn rule_pairs() -> Vec<(String, String)> {
    [zhconv::tables::ZH_HANS_TABLE, zhconv::tables::ZH_CN_TABLE]
        .into_iter()
        .flat_map(zhconv::tables::expand_table)
        .collect()
}

/// The byte ranges of a rule's source and target in the string of [`expanded_rules`].
type SourceTarget = (std::ops::Range<usize>, std::ops::Range<usize>);

/// The pairs of [`rule_pairs`] without a string allocated for each: every source and target written one after
/// another into one string, returned with the byte ranges of each pair's source and target. A table is two lists
/// separated by `|` (sources, targets), each item shortened against another: a character below U+0020 `n` stands
/// for the `n` characters at the same places of the previous source (in a source) or of the pair's source (in a
/// target), as zhconv's `pair_expand` reads them.
fn expanded_rules() -> (String, Vec<SourceTarget>) {
    /// Appends `item` expanded against `base` to `out` (and its characters to `chars`).
    fn expand(item: &str, base: &[char], out: &mut String, chars: &mut Vec<char>) {
        chars.clear();
        for c in item.chars() {
            if (c as u32) < 0x20 {
                // The next `c` characters of `base`, at the places they would take.
                for _ in 0..c as u32 {
                    chars.push(base.get(chars.len()).copied().expect("shortened rules are well-formed"));
                }
            } else {
                chars.push(c);
            }
        }
        out.extend(chars.iter());
    }
    let tables = [zhconv::tables::ZH_HANS_TABLE, zhconv::tables::ZH_CN_TABLE];
    let size: usize = tables.iter().map(|t| t.0.len() + t.1.len()).sum();
    let mut text = String::with_capacity(2 * size);
    let mut ranges = Vec::new();
    let (mut last_from, mut from, mut to) = (Vec::new(), Vec::new(), Vec::new());
    for (froms, tos) in tables {
        last_from.clear();
        for (f, t) in std::iter::zip(froms.trim().split('|'), tos.trim().split('|')) {
            let a = text.len();
            expand(f, &last_from, &mut text, &mut from);
            let b = text.len();
            expand(t, &from, &mut text, &mut to);
            ranges.push((a..b, b..text.len()));
            std::mem::swap(&mut last_from, &mut from);
        }
    }
    (text, ranges)
}

pub(crate) fn rule_starts() -> &'static RuleStarts {
    static STARTS: std::sync::OnceLock<RuleStarts> = std::sync::OnceLock::new();
    STARTS.get_or_init(build_rule_starts)
}

/// [`rule_starts`], built: the rules' texts and units lie in two allocations that live as long as the process
/// (leaked: the rules are built once per process), not in three allocations per rule.
fn build_rule_starts() -> RuleStarts {
    let mut bits = vec![0u64; (char::MAX as usize + 1).div_ceil(32)].into_boxed_slice();
    let mut pairs = vec![0u64; 1 << (PAIR_BITS - 6)].into_boxed_slice();
    let mut ascii_prefix = 0;
    let (text, ranges) = expanded_rules();
    let text: &'static str = Box::leak(text.into_boxed_str());
    let sources: Vec<(&'static str, &'static str)> = ranges.into_iter().map(|(f, t)| (&text[f], &text[t])).collect();
    // A source's target is what zhconv's converter makes of the source alone: the target of its rule in the
    // later table where both tables have one (zh-CN's over zh-Hans's), as the converter's target list is built
    // (`rule_targets_are_the_converters` checks every source against the converter). Reading the tables
    // instead of building the converter (its automaton is decompressed and deserialized: ~10 ms) keeps the
    // start of a run short.
    let mut target_of: rustc_hash::FxHashMap<&str, &str> = Default::default();
    target_of.reserve(sources.len());
    for &(from, to) in &sources {
        target_of.insert(from, to);
    }
    // Each source once, at its first place, with its target and where its units lie in `units`.
    let mut seen: rustc_hash::FxHashSet<&str> = Default::default();
    seen.reserve(sources.len());
    let mut units: Vec<u32> = Vec::with_capacity(text.len() / 2);
    let mut firsts: Vec<(&'static str, &'static str, std::ops::Range<usize>)> = Vec::with_capacity(sources.len());
    for &(from, _) in &sources {
        if from.is_empty() || !seen.insert(from) {
            continue;
        }
        let target = target_of[from];
        let at = units.len();
        units.extend(if target != from { target } else { from }.chars().map(u32::from));
        firsts.push((from, target, at..units.len()));
    }
    let units: &'static [u32] = Box::leak(units.into_boxed_slice());
    let mut by_pair: rustc_hash::FxHashMap<u64, Vec<Rule>> = Default::default();
    let mut single: rustc_hash::FxHashMap<u32, Rule> = Default::default();
    for (from, target, at) in firsts {
        let mut cs = from.chars().map(u32::from);
        let (a, second) = (cs.next().expect("a source is not empty"), cs.next());
        let delta = target.chars().count() as isize - from.chars().count() as isize;
        let changes = target != from;
        let simple = delta == 0 && from.chars().chain(target.chars()).all(is_cjk_unit);
        ascii_prefix = ascii_prefix.max(from.chars().take_while(char::is_ascii).count());
        let rule = Rule { source: from, target, delta, changes, units: &units[at], simple };
        let u = a as usize;
        match second {
            // A character converted to itself converts as one copied.
            None if !rule.changes => {}
            None => {
                bits[u / 32] |= WHOLE << (2 * (u % 32));
                single.insert(a, rule);
            }
            Some(b) => {
                bits[u / 32] |= BEGINS << (2 * (u % 32));
                let k = pair_slot(a, b);
                pairs[k / 64] |= 1 << (k % 64);
                by_pair.entry(pair_key(a, b)).or_default().push(rule);
            }
        }
    }
    for v in by_pair.values_mut() {
        v.sort_by_key(|r| std::cmp::Reverse(r.source.len()));
    }
    let cjk = (0x4E00..0xA000u32)
        .map(|c| {
            let own = match single.get(&c) {
                None => c,
                Some(rule) => match *rule.units {
                    [t] if rule.simple => t,
                    _ => c | CJK_LOOK_UP,
                },
            };
            let u = c as usize;
            let begins = (bits[u / 32] >> (2 * (u % 32))) & BEGINS != 0;
            own | if begins { CJK_BEGINS } else { 0 }
        })
        .collect();
    RuleStarts { bits, pairs, by_pair, single, cjk, ascii_prefix }
}

impl RuleStarts {
    /// [`WHOLE`] and [`BEGINS`] of `c`.
    #[inline(always)]
    fn of(&self, c: u32) -> u64 {
        let u = c as usize;
        (self.bits[u / 32] >> (2 * (u % 32))) & 3
    }

    /// 1 when a source of two or more characters may begin with `a`, `b` (the bit of [`RuleStarts::pairs`]), else 0.
    #[inline(always)]
    fn pair(&self, a: u32, b: u32) -> u64 {
        let k = pair_slot(a, b);
        (self.pairs[k / 64] >> (k % 64)) & 1
    }

    /// Whether the character `c` alone is a source that changes, or begins a longer source (no rule applies at a
    /// character where this is false).
    #[inline(always)]
    pub(crate) fn may_begin(&self, c: u32) -> bool {
        self.of(c) != 0
    }

    /// Where a rule may apply at the character `c` that begins `rest` (its first character), followed by `d` (0 at
    /// the end of the text): `None` where none does (the walk copies `c`); `Some(Some(rule))` with the longest
    /// source of two or more characters that `rest` begins with; `Some(None)` where only `c`'s own rule may apply.
    /// A pair's bit may be a collision (or `d` the end of the text): the sources themselves decide.
    #[inline(always)]
    fn longer_at(&self, c: u32, d: u32, rest: &str) -> Option<Option<&Rule>> {
        let bits = self.of(c);
        let longer = (bits >> 1) & self.pair(c, d);
        if (bits & WHOLE) | longer == 0 {
            return None;
        }
        Some(match longer {
            0 => None,
            _ => self.longest_at(c, d, rest),
        })
    }

    /// The rule the walk of [`convert_rules`] applies at the character `c` that begins `rest` (its first
    /// character), followed by `d` (0 at the end of the text): the longest source of two or more characters that
    /// `rest` begins with, else `c`'s own rule when it changes `c`; `None` where the walk copies `c`.
    #[inline(always)]
    pub(crate) fn rule_at(&self, c: u32, d: u32, rest: &str) -> Option<&Rule> {
        self.longer_at(c, d, rest)?.or_else(|| self.single.get(&c))
    }

    /// [`RuleStarts::rule_at`] for the fused walk: [`Step::One`] where it would give a simple rule of one CJK
    /// character, without reading the rule.
    #[inline(always)]
    pub(crate) fn step_at(&self, c: u32, d: u32, rest: &str) -> Step<'_> {
        match self.longer_at(c, d, rest) {
            None => Step::Copy,
            Some(Some(rule)) => Step::Rule(rule),
            Some(None) => match self.cjk.get((c as usize).wrapping_sub(0x4E00)) {
                Some(&e) if e & CJK_LOOK_UP == 0 => match e & CJK_UNIT {
                    t if t == c => Step::Copy,
                    t => Step::One(t),
                },
                _ => self.single.get(&c).map_or(Step::Copy, Step::Rule),
            },
        }
    }

    /// What the conversion walk leaves in place of the CJK Unified Ideograph `c` (U+4E00..U+9FFF) followed by `d` (0
    /// at the end of the text), in one look-up of [`RuleStarts::cjk`] and one of [`RuleStarts::pairs`], when that
    /// settles it: the character itself or the one its simple rule gives, when no source of two or more characters
    /// may begin with `c`, `d` and `c`'s own rule, if any, is simple. `None` otherwise: then
    /// [`RuleStarts::step_at`] decides. Both look-ups are made for every character, so that the one branch is
    /// rarely taken on any text.
    #[inline(always)]
    pub(crate) fn ideograph_step(&self, c: u32, d: u32) -> Option<u32> {
        let e = self.cjk[(c - 0x4E00) as usize];
        let slow = ((e >> 31) & self.pair(c, d) as u32) | ((e >> 30) & 1);
        (slow == 0).then_some(e & CJK_UNIT)
    }

    /// [`RuleStarts::ideograph_step`] of sixteen characters at once, with AVX-512 (F, DQ): lane `i` of `cps` is a
    /// CJK Unified Ideograph followed by the character in lane `i` of `next`, for the lanes set in `valid` (the
    /// others are not looked up in the conversion table, and come out neither slow nor meaningful). Returns what the walk leaves in place of each
    /// (lane `i` of the first vector: the low 21 bits of the [`RuleStarts::cjk`] entry) and the lanes where
    /// `ideograph_step` gives `None` (the slow ones); a lane that is set in `valid` and not slow holds exactly
    /// `ideograph_step(c, d)`.
    ///
    /// # Safety
    /// The processor must have AVX-512 F and DQ; every lane set in `valid` must hold a code point in
    /// U+4E00..U+9FFF.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    pub(crate) unsafe fn ideograph_steps16(
        &self,
        cps: std::arch::x86_64::__m512i,
        next: std::arch::x86_64::__m512i,
        valid: u16,
    ) -> (std::arch::x86_64::__m512i, u16) {
        use std::arch::x86_64::*;
        let zero = _mm512_setzero_si512();
        let index = _mm512_sub_epi32(cps, _mm512_set1_epi32(0x4E00));
        // SAFETY: the valid lanes index `cjk` (U+4E00..U+9FFF: 0..0x5200, its length); the others are not read.
        let e = _mm512_mask_i32gather_epi32::<4>(zero, valid, index, self.cjk.as_ptr().cast());
        let begins = _mm512_test_epi32_mask(e, _mm512_set1_epi32(CJK_BEGINS as i32)) & valid;
        // `pair_slot` of each lane that begins a longer source, eight 64-bit lanes at a time, and its bit of `pairs`.
        let mut pair_bits = 0u16;
        if begins != 0 {
            let mul = _mm512_set1_epi64(0x9E37_79B9_7F4A_7C15u64 as i64);
            for half in 0..2 {
                let (c, d) = if half == 0 {
                    (_mm512_castsi512_si256(cps), _mm512_castsi512_si256(next))
                } else {
                    (_mm512_extracti64x4_epi64::<1>(cps), _mm512_extracti64x4_epi64::<1>(next))
                };
                let key = _mm512_or_si512(_mm512_slli_epi64::<21>(_mm512_cvtepu32_epi64(c)), _mm512_cvtepu32_epi64(d));
                let slot = _mm512_srli_epi64::<{ 64 - PAIR_BITS }>(_mm512_mullo_epi64(key, mul));
                // SAFETY: a slot is below 2^PAIR_BITS, so its word lies within `pairs` (2^(PAIR_BITS - 6) words).
                let word = _mm512_i64gather_epi64::<8>(_mm512_srli_epi64::<6>(slot), self.pairs.as_ptr().cast());
                let bit = _mm512_srlv_epi64(word, _mm512_and_si512(slot, _mm512_set1_epi64(63)));
                let set = _mm512_test_epi64_mask(bit, _mm512_set1_epi64(1));
                pair_bits |= u16::from(set) << (8 * half);
            }
        }
        let look_up = _mm512_test_epi32_mask(e, _mm512_set1_epi32(CJK_LOOK_UP as i32));
        let slow = ((begins & pair_bits) | look_up) & valid;
        (_mm512_and_si512(e, _mm512_set1_epi32(CJK_UNIT as i32)), slow)
    }

    /// The longest rule whose source `rest` begins with among those of two or more characters that begin with
    /// `a`, `b` (the first two characters of `rest`).
    #[inline]
    fn longest_at(&self, a: u32, b: u32, rest: &str) -> Option<&Rule> {
        self.by_pair.get(&pair_key(a, b))?.iter().find(|r| rest.starts_with(r.source))
    }
}

/// The code point starting at byte `pos` of valid UTF-8 and its length in bytes; the commonest length in Chinese
/// text, 3, first.
#[inline(always)]
pub(crate) fn decode_valid(bytes: &[u8], pos: usize) -> (u32, usize) {
    let b0 = bytes[pos] as u32;
    if (0xE0..0xF0).contains(&b0) {
        (((b0 & 0x0F) << 12) | ((bytes[pos + 1] as u32 & 0x3F) << 6) | (bytes[pos + 2] as u32 & 0x3F), 3)
    } else if b0 < 0x80 {
        (b0, 1)
    } else if b0 < 0xE0 {
        (((b0 & 0x1F) << 6) | (bytes[pos + 1] as u32 & 0x3F), 2)
    } else {
        let u = ((b0 & 0x07) << 18)
            | ((bytes[pos + 1] as u32 & 0x3F) << 12)
            | ((bytes[pos + 2] as u32 & 0x3F) << 6)
            | (bytes[pos + 3] as u32 & 0x3F);
        (u, 4)
    }
}

/// What zhconv's zh-CN converter (`convert_to`) makes of `text`: `None` when it leaves the text as it is;
/// otherwise the converted text is in `out` (cleared first) and the result says whether it has as many characters
/// as `text`. The text is copied up to each rule that changes it, and only once one does.
///
/// Why the result is the same: the converter replaces leftmost-longest matches of the rules' sources (daachorse's
/// `leftmost_find_iter` over an automaton built with leftmost-longest matching), which is the greedy walk "at each
/// position, the longest source that starts there, then go on past it; else copy one character and go on". That
/// walk is done here with the rules themselves: the longest source of two or more characters that starts at a
/// position is found from its first two characters ([`RuleStarts::pairs`], then the sources themselves,
/// [`RuleStarts::longest_at`]), else the character's own rule ([`RuleStarts::single`]). A character whose rule
/// maps it to itself is left out of the single rules: matching it or copying it gives the same text and goes on
/// from the same place. Each rule's target is what the converter gives for its source alone.
fn convert_rules(text: &str, out: &mut String) -> Option<bool> {
    // An ASCII text is left as it is: no source is made of ASCII characters only.
    if text.is_ascii() {
        return None;
    }
    let r = rule_starts();
    let bytes = text.as_bytes();
    let n = bytes.len();
    let (mut copied, mut changed, mut length_delta) = (0usize, false, 0isize);
    // The current character `c` (`len` bytes at byte `pos`) and the next one `d` (`dlen` bytes; 0, 0 at the end):
    // each character is decoded once, and the test of a possible rule at `c` is one branch that is rarely taken on
    // simplified text.
    let mut pos = 0usize;
    let (mut c, mut len) = decode_valid(bytes, 0);
    loop {
        if c < 0x80 {
            // An ASCII character begins a source only within `ascii_prefix` characters of the next non-ASCII one
            // (no source is ASCII only): the walk goes on from there, eight bytes at a time, where it copied
            // character after character (an English text with one accented letter was walked at a third of the
            // normalizer's speed).
            let q = crate::text::ascii::next_high(bytes, pos + 1);
            if q >= n {
                break;
            }
            let from = q - r.ascii_prefix.min(q - pos);
            if from > pos {
                pos = from;
                (c, len) = decode_valid(bytes, pos);
            }
        }
        let next = pos + len;
        let (d, dlen) = if next < n { decode_valid(bytes, next) } else { (0, 0) };
        if let Some(rule) = r.rule_at(c, d, &text[pos..]) {
            let m = rule.source.len();
            if rule.changes {
                if !changed {
                    out.clear();
                    changed = true;
                }
                out.push_str(&text[copied..pos]);
                out.push_str(rule.target);
                copied = pos + m;
                length_delta += rule.delta;
            }
            if m > len {
                // Past a source of two or more characters.
                pos += m;
                if pos >= n {
                    break;
                }
                (c, len) = decode_valid(bytes, pos);
                continue;
            }
        }
        if next >= n {
            break;
        }
        (pos, c, len) = (next, d, dlen);
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(length_delta == 0)
}

fn convert_piece(chars: &[char], offs: &[u32], out: &mut String, offsets: &mut Vec<u32>) {
    let s: String = chars.iter().collect();
    // zhconv's zh-CN converter on the piece (`convert_rules` gives what it gives; the converter is not built).
    let mut converted = String::new();
    if convert_rules(&s, &mut converted).is_none() {
        converted = s;
    }
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

/// The source of every script-conversion rule (zhconv's zh-Hans and zh-CN tables), sorted: test input.
#[cfg(test)]
pub(crate) fn rule_sources() -> Vec<String> {
    let mut sources: Vec<String> = [zhconv::tables::ZH_HANS_TABLE, zhconv::tables::ZH_CN_TABLE]
        .into_iter()
        .flat_map(|t| zhconv::tables::expand_table(t).map(|(from, _)| from).collect::<Vec<_>>())
        .collect();
    sources.sort();
    sources
}

/// `rounds` random texts for the conversion tests, from `seed` (xorshift): up to 60 pieces each, a piece being a rule
/// source (whole or cut short) or one of `filler`; round `r` takes a source for one piece in 1, 3, 10 or 40 (by
/// `r % 4`), so texts run from dense to sparse in rules.
#[cfg(test)]
pub(crate) fn rule_texts<'a>(seed: u64, filler: &'a [&'a str], rounds: usize) -> impl Iterator<Item = String> + 'a {
    let sources = rule_sources();
    let mut x = seed;
    let mut next = move |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as usize % m
    };
    (0..rounds).map(move |round| {
        let dense = [1, 3, 10, 40][round % 4];
        let mut text = String::new();
        for _ in 0..next(60) {
            if next(dense) == 0 {
                let s = &sources[next(sources.len())];
                let n = s.chars().count();
                text.extend(s.chars().take(n - next(n)));
            } else {
                text.push_str(filler[next(filler.len())]);
            }
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pairs filter lets through the first two characters of every source of two or more characters, one at a
    /// time ([`RuleStarts::pair`]) and sixteen at a time (`ideograph_steps16`, where the processor has AVX-512 F and
    /// DQ), and few other pairs: under 1% of random pairs of ideographs (0.5% pass the filter of 64 KiB, 2% passed
    /// the one of 16 KiB).
    #[test]
    fn the_pairs_filter_passes_every_sources_first_pair_and_few_others() {
        let r = rule_starts();
        let firsts: Vec<(u32, u32)> = rule_sources()
            .iter()
            .filter_map(|s| {
                let mut cs = s.chars().map(u32::from);
                Some((cs.next()?, cs.next()?))
            })
            .collect();
        assert!(firsts.len() > 1000, "{} sources of two or more characters", firsts.len());
        for &(a, b) in &firsts {
            assert_eq!(r.pair(a, b), 1, "{:?}", [char::from_u32(a), char::from_u32(b)]);
        }
        let mut rng = crate::testing::Rng(0x2545_F491_4F6C_DD1D);
        let mut ideograph = || 0x4E00 + rng.below(0x5200) as u32;
        let random: Vec<(u32, u32)> = (0..200_000).map(|_| (ideograph(), ideograph())).collect();
        let passed = random.iter().filter(|&&(a, b)| r.pair(a, b) == 1).count();
        assert!(passed < random.len() / 100, "{passed} of {} random pairs passed", random.len());
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq") {
            use std::arch::x86_64::*;
            // Sixteen lanes at a time, sources' first pairs among random ones; a lane is slow exactly when it begins
            // a longer source and its pair passes, or when its own rule is looked up (`ideograph_step`).
            let cjk_firsts = firsts.iter().filter(|p| (0x4E00..0xA000).contains(&p.0));
            let lanes: Vec<(u32, u32)> = cjk_firsts.zip(&random).flat_map(|(s, r)| [*s, *r]).collect();
            for chunk in lanes.chunks_exact(16) {
                let (cs, ds): (Vec<u32>, Vec<u32>) = chunk.iter().copied().unzip();
                // SAFETY: the processor has AVX-512 F and DQ (checked above); every lane holds an ideograph.
                let slow = unsafe {
                    let load = |v: &[u32]| _mm512_loadu_si512(v.as_ptr().cast());
                    r.ideograph_steps16(load(&cs), load(&ds), u16::MAX).1
                };
                for (i, &(c, d)) in chunk.iter().enumerate() {
                    let want = r.ideograph_step(c, d).is_none();
                    assert_eq!(slow >> i & 1 == 1, want, "lane {i}: {:?}", [char::from_u32(c), char::from_u32(d)]);
                }
            }
        }
    }

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
    fn alnum_runs_end_where_the_table_says() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..80 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Mostly letters and digits, with every other byte value too.
                        if x.is_multiple_of(4) {
                            (x >> 8) as u8
                        } else {
                            b"azAZ09mQ5"[(x >> 8) as usize % 9]
                        }
                    })
                    .collect();
                for pos in 0..len {
                    let mut end = pos;
                    while end < len && bytes[end].is_ascii_alphanumeric() {
                        end += 1;
                    }
                    assert_eq!(ascii_alnum_run_end(&bytes, pos), end, "{bytes:?} from {pos}");
                }
            }
        }
        // Every byte value next to a letter.
        for b in 0..=255u8 {
            let bytes = [b'a'; 20].iter().chain(std::iter::repeat_n(&b, 20)).copied().collect::<Vec<u8>>();
            let want = if b.is_ascii_alphanumeric() { 40 } else { 20 };
            assert_eq!(ascii_alnum_run_end(&bytes, 0), want, "byte {b}");
        }
    }

    #[test]
    fn ideograph_runs_end_where_the_characters_say() {
        // Ideographs at both ends of the range and next to it (U+4DFF, U+A000), other three-byte characters (kana,
        // punctuation), ASCII, two- and four-byte characters, in runs of every length around the block size.
        let pieces =
            ["一", "中", "丁", "龥", "\u{9FFF}", "\u{4DFF}", "\u{A000}", "。", "カ", "a", "é", "😀", "\u{4E00}"];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..20_000 {
            let mut text = String::new();
            for _ in 0..round % 90 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly ideographs.
                let k = (x >> 20) as usize % (3 * pieces.len());
                text.push_str(pieces.get(k).copied().unwrap_or(["中", "國", "一"][k % 3]));
            }
            let b = text.as_bytes();
            for (pos, _) in text.char_indices() {
                let mut end = pos;
                for c in text[pos..].chars() {
                    if !(0x4E00..=0x9FFF).contains(&(c as u32)) {
                        break;
                    }
                    end += 3;
                }
                assert_eq!(ideograph_run_end(b, pos), end, "{text:?} from {pos}");
            }
        }
    }

    #[test]
    fn rules_convert_as_the_automaton() {
        // Rule sources (whole, cut short, or run together) among plain simplified text, ASCII and punctuation, dense
        // and sparse: the walk over the rules gives what zhconv's converter gives on the whole text.
        let filler = ["的", "是", "中国", "人民", "a", "1", " ", "，", "新闻", "发展", "\n", "😀", "é"];
        let converter = zhconv::get_builtin_converter(zhconv::Variant::ZhCN);
        let mut changed = 0;
        for text in rule_texts(0x9E37_79B9_7F4A_7C15, &filler, 20_000) {
            let mut want = String::new();
            converter.convert_to(&text, &mut want);
            changed += usize::from(want != text);
            let mut got = String::from("stale");
            match convert_rules(&text, &mut got) {
                Some(same_length) => {
                    assert_eq!(got, want, "{text}");
                    assert_eq!(same_length, want.chars().count() == text.chars().count(), "{text}");
                }
                None => assert_eq!(want, text),
            }
        }
        assert!(changed > 5_000, "{changed} texts changed");
        // No source is ASCII only (an ASCII text is left as it is without a look).
        assert!(rule_sources().iter().all(|s| !s.is_ascii()));
    }

    #[test]
    fn sources_that_begin_with_ascii_convert_after_ascii_of_any_length() {
        // The walk passes ASCII to within `ascii_prefix` characters of the next other character: each source that
        // begins with ASCII characters, whole or cut short, after ASCII runs of every length around that (and
        // around the eight-byte steps), before other text, converts as zhconv converts the whole text.
        let converter = zhconv::get_builtin_converter(zhconv::Variant::ZhCN);
        let sources: Vec<String> = rule_sources().into_iter().filter(|s| s.as_bytes()[0] < 0x80).collect();
        assert!(!sources.is_empty(), "no source begins with ASCII");
        let prefix = rule_starts().ascii_prefix;
        assert!(prefix >= 1, "ascii_prefix {prefix}");
        let mut tested = 0;
        for source in &sources {
            let n = source.chars().count();
            for cut in 0..n {
                let piece: String = source.chars().take(n - cut).collect();
                for run in 0..20 {
                    for (before, after) in [("a", "的"), ("1", "國"), (" ", ""), ("P", "位址é"), ("é", "開發")]
                    {
                        let text = format!("{}{}{piece}{after}{piece}", "x".repeat(run % 7), before.repeat(run));
                        let mut want = String::new();
                        converter.convert_to(&text, &mut want);
                        let mut got = String::new();
                        match convert_rules(&text, &mut got) {
                            Some(_) => assert_eq!(got, want, "{text}"),
                            None => assert_eq!(want, text),
                        }
                        tested += 1;
                    }
                }
            }
        }
        assert!(tested > 100, "{tested} texts");
    }

    #[test]
    fn the_char_table_is_the_same_without_its_shortcut() {
        let (fast, full) = (build_char_table(true), build_char_table(false));
        for u in 0..0x10000usize {
            assert_eq!(fast.props[u], full.props[u], "U+{u:04X}");
            assert_eq!(fast.nfkc1[u], full.nfkc1[u], "U+{u:04X}");
            assert_eq!(fast.gap_of(u), full.gap_of(u), "U+{u:04X}");
        }
        // The gaps: punctuation and spaces beyond ASCII whose image alone, folded, is of that class.
        for (c, gap) in
            [('，', GAP_PUNCT), ('。', GAP_PUNCT), ('\u{3000}', GAP_SPACE), ('\u{a0}', GAP_SPACE), ('—', 0), ('a', 0)]
        {
            assert_eq!(fast.gap_of(c as usize), gap, "{c:?}");
        }
    }

    #[test]
    fn expanded_rules_are_zhconvs_pairs() {
        let (text, ranges) = expanded_rules();
        let got: Vec<(String, String)> =
            ranges.into_iter().map(|(f, t)| (text[f].to_string(), text[t].to_string())).collect();
        let want = rule_pairs();
        assert!(want.len() > 8000, "{} pairs", want.len());
        assert_eq!(got, want);
    }

    #[test]
    fn rule_targets_are_the_converters() {
        // The rules take their targets from the tables (`rule_starts`); each must be what zhconv's converter makes
        // of the rule's source alone, and a one-character source left out (it converts to itself) must convert to
        // itself.
        let converter = zhconv::get_builtin_converter(zhconv::Variant::ZhCN);
        let r = rule_starts();
        let mut checked = 0;
        for rule in r.single.values().chain(r.by_pair.values().flatten()) {
            assert_eq!(*rule.target, converter.convert(rule.source), "{}", rule.source);
            checked += 1;
        }
        for (from, _) in rule_pairs() {
            let mut cs = from.chars();
            if let (Some(c), None) = (cs.next(), cs.next()) {
                if !r.single.contains_key(&u32::from(c)) {
                    assert_eq!(converter.convert(&from), from);
                    checked += 1;
                }
            }
        }
        assert!(checked > 8_000, "{checked} sources");
    }

    #[test]
    fn utf8_chars_counts_characters() {
        for t in ["", "a", "abcdefgh", "abcdefghi", "市長同校長會談", "é😀中a", "😀😀😀😀😀", "ab中\u{300}cdéfgh市"]
        {
            for k in 0..=t.len() {
                if t.is_char_boundary(k) {
                    assert_eq!(utf8_chars(&t.as_bytes()[k..]), t[k..].chars().count(), "{t} from {k}");
                }
            }
        }
    }

    #[test]
    fn line_widths_count_each_lines_characters() {
        let pieces = ["a", "bc", "市長", "é", "😀", "\n", "\r", "\r\n", "\n\n", "abcdefghijklmnop", "中\u{300}"];
        // ASCII only in every other round: blocks of 64 bytes without continuation bytes (another path).
        let ascii = ["a", "bc", "\n", "\r", "\r\n", "\n\n", "abcdefghijklmnop", " "];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..5_000 {
            let pieces: &[&str] = if round % 2 == 0 { &pieces } else { &ascii };
            let mut text = String::new();
            for _ in 0..round % 150 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text.push_str(pieces[(x >> 20) as usize % pieces.len()]);
            }
            let want: Vec<u32> = text.split('\n').map(|l| l.trim_end_matches('\r').chars().count() as u32).collect();
            let mut got = Vec::new();
            line_widths(text.as_bytes(), |w| got.push(w));
            assert_eq!(got, want, "{text:?}");
            // The SSE2 blocks too, where the processor has AVX-512 and `line_widths` takes those.
            #[cfg(target_arch = "x86_64")]
            {
                let mut sse2 = Vec::new();
                line_widths_by_blocks(text.as_bytes(), &mut |w| sse2.push(w), block_masks_sse2);
                assert_eq!(sse2, want, "{text:?}");
            }
        }
    }

    #[test]
    fn hard_wrap_width_is_the_most_common_line_length_of_four_or_more() {
        // The definition, line by line: the lengths of lines of at least 4 characters (trailing carriage returns
        // aside); the most common (the shortest among equals) when at least 3 lines and half of them have it.
        fn reference(text: &str) -> Option<u32> {
            let lens: Vec<u32> =
                text.split('\n').map(|l| l.trim_end_matches('\r').chars().count() as u32).filter(|&n| n >= 4).collect();
            if !text.contains('\n') {
                return None;
            }
            let mut best: Option<(u32, u32)> = None;
            for &w in &lens {
                let c = lens.iter().filter(|&&v| v == w).count() as u32;
                if best.is_none_or(|(bw, bc)| c > bc || (c == bc && w < bw)) {
                    best = Some((w, c));
                }
            }
            best.filter(|&(_, c)| c >= 3 && 2 * c as usize >= lens.len()).map(|(w, _)| w)
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let mut wrapped = 0;
        for round in 0..3_000 {
            // Lines of a few lengths (some shorter than 4, some of 256 characters or more), so that one often wins.
            let lengths = [1u64, 3, 4, 5, 12, 12, 12, 15, 255, 256, 300, 300];
            let mut text = String::new();
            for line in 0..round % 40 {
                if line > 0 {
                    text.push_str(["\n", "\r\n", "\n"][next(3) as usize]);
                }
                for _ in 0..lengths[next(lengths.len() as u64) as usize] {
                    text.push(['a', '中', 'é', ' '][next(4) as usize]);
                }
            }
            let got = hard_wrap_width(&text);
            assert_eq!(got, reference(&text), "{text:?}");
            wrapped += usize::from(got.is_some());
        }
        assert!(wrapped > 150, "{wrapped} of 3,000 texts wrapped");
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
