//! The id and text fields of a JSONL line in one pass, for the common line: a JSON object whose keys have no
//! escapes. The line is checked as strictly as serde_json checks it (RFC 8259: no control character in a string,
//! only JSON's escapes, numbers by JSON's grammar, no trailing comma, nothing after the object but whitespace) while
//! the text's string is unescaped in the same pass; any line this path does not answer for is left to serde_json
//! ([`crate::read`]'s `parse_json_fields`), so what a line gives never depends on which path read it.
//!
//! serde_json reads the line once to check it and keep the raw fields, and the text's string was then read again
//! to unescape it: on OCR text with an escaped line break every few dozen bytes both reads cost about as much as
//! each other (`bench/RESULTS.md`, thirteenth session).

/// A field's value as [`object_fields`] found it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FieldValue<'a> {
    /// A string value, unescaped.
    Str(String),
    /// Any other value, as its literal text (`null`, `12`, `[1, 2]`, ...).
    Raw(&'a str),
}

/// The values of the fields `id_field` (as its literal text) and `text_field` (a string unescaped) of `line`, when
/// `line` is a JSON object that serde_json accepts and this path can read alone: its keys have no escapes, the id
/// field and the text field differ, every `\u` escape of the text's string is a character (not a lone surrogate),
/// and nesting is at most 100 deep. `None` for any other line (serde_json decides those). As in serde_json, the last
/// of repeated keys counts.
pub(crate) fn object_fields<'a>(
    line: &'a str,
    id_field: &str,
    text_field: &str,
) -> Option<(Option<&'a str>, Option<FieldValue<'a>>)> {
    if id_field == text_field {
        return None;
    }
    let b = line.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let (mut id, mut text) = (None, None);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let (key, after) = plain_key(b, i + 1)?;
            i = skip_ws(b, after);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            if key == text_field.as_bytes() && b.get(i) == Some(&b'"') {
                let (s, end) = unescape_string(b, i + 1)?;
                text = Some(FieldValue::Str(s));
                i = end;
            } else {
                let end = skip_value(b, i, 0)?;
                if key == id_field.as_bytes() {
                    id = Some(&line[i..end]);
                } else if key == text_field.as_bytes() {
                    text = Some(FieldValue::Raw(&line[i..end]));
                }
                i = end;
            }
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some((id, text))
}

/// The index of the first byte at or after `i` that is not JSON whitespace (space, tab, line feed, carriage return).
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// The key whose characters start at `i` (after its opening quote) and the index after its closing quote, when it
/// has no escape and no control character.
fn plain_key(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let j = next_special(b, i)?;
    (b[j] == b'"').then(|| (&b[i..j], j + 1))
}

/// The index after the value that starts at `i`, checked as serde_json checks a value it skips; `depth` is the
/// number of arrays and objects around it (`None` past 100: serde_json decides those lines).
fn skip_value(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i + 1),
        b'n' => literal(b, i, b"null"),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'-' => skip_integer(b, i + 1),
        b'0'..=b'9' => skip_integer(b, i),
        open @ (b'[' | b'{') => {
            if depth >= 100 {
                return None;
            }
            let close = if open == b'[' { b']' } else { b'}' };
            let mut j = skip_ws(b, i + 1);
            if b.get(j) == Some(&close) {
                return Some(j + 1);
            }
            loop {
                if open == b'{' {
                    if b.get(j) != Some(&b'"') {
                        return None;
                    }
                    j = skip_ws(b, skip_string(b, j + 1)?);
                    if b.get(j) != Some(&b':') {
                        return None;
                    }
                    j = skip_ws(b, j + 1);
                }
                j = skip_ws(b, skip_value(b, j, depth + 1)?);
                match *b.get(j)? {
                    b',' => j = skip_ws(b, j + 1),
                    c if c == close => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

/// The index after the literal `word` at `i`.
fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// The index after a number's digits from `i` on (after its minus sign): JSON's grammar, as serde_json's
/// `ignore_integer`, `ignore_decimal` and `ignore_exponent` check it.
fn skip_integer(b: &[u8], i: usize) -> Option<usize> {
    let digits = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut j = match *b.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(i + 1),
        _ => return None,
    };
    if b.get(j) == Some(&b'.') {
        let k = digits(j + 1);
        if k == j + 1 {
            return None;
        }
        j = k;
    }
    if let Some(b'e' | b'E') = b.get(j) {
        j += 1;
        if let Some(b'+' | b'-') = b.get(j) {
            j += 1;
        }
        let k = digits(j);
        if k == j {
            return None;
        }
        j = k;
    }
    // A digit right after a leading zero is an error in serde_json; anything else is the caller's to judge.
    (!(b[i] == b'0' && j == i + 1 && b.get(j).is_some_and(u8::is_ascii_digit))).then_some(j)
}

/// The index after the closing quote of the string whose characters start at `i`, checked as serde_json's
/// `ignore_str` checks it: no control character, every escape one of JSON's (a `\u` escape four hexadecimal digits,
/// whatever their value).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let j = next_special(b, i)?;
        match b[j] {
            b'"' => return Some(j + 1),
            b'\\' => {
                i = match *b.get(j + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j + 2,
                    b'u' => {
                        hex4(b.get(j + 2..j + 6)?)?;
                        j + 6
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// The index of the first quote, backslash or control character (below U+0020) at or after `i`.
fn next_special(b: &[u8], i: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        return unsafe { next_special_avx2(b, i) };
    }
    next_special_plain(b, i)
}

fn next_special_plain(b: &[u8], i: usize) -> Option<usize> {
    b.get(i..)?.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|j| i + j)
}

/// [`next_special`] 32 bytes at a time.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn next_special_avx2(b: &[u8], mut i: usize) -> Option<usize> {
    use std::arch::x86_64::*;
    while i + 32 <= b.len() {
        // SAFETY: the 32 bytes read lie within `b`.
        let v = _mm256_loadu_si256(b.as_ptr().add(i).cast());
        let m = special_mask(v);
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 32;
    }
    next_special_plain(b, i)
}

/// Bit `k` set where byte `k` of `v` is a quote, a backslash or a control character.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn special_mask(v: std::arch::x86_64::__m256i) -> u32 {
    use std::arch::x86_64::*;
    let quote = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
    let slash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8));
    // A byte is at most 0x1F when the unsigned minimum with 0x1F leaves it unchanged.
    let control = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1F)), v);
    _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(quote, slash), control)) as u32
}

/// The string whose characters start at `i` (after its opening quote), unescaped, and the index after its closing
/// quote; `None` where serde_json would refuse it (a control character, an escape that is not JSON's, no closing
/// quote) or would refuse to make it a `String` (a `\u` escape of a lone surrogate). The runs between escapes are
/// copied 32 bytes at a time with AVX2 (each block stored whole, the length set after the stop), into one
/// allocation as long as the rest of the line.
pub(crate) fn unescape_string(b: &[u8], i: usize) -> Option<(String, usize)> {
    // Room for the vector copy's last block past the end ([`copy_to_special`]).
    let mut out: Vec<u8> = Vec::with_capacity(b.len().saturating_sub(i) + 32);
    let mut k = i;
    // Where the 64-byte blocks are tried again after one that they could not take ([`unescape_blocks`]).
    let mut blocks_from = i;
    loop {
        if k >= blocks_from {
            let stop = unescape_blocks(b, k, &mut out);
            blocks_from = stop + 64;
            k = stop;
        }
        k = copy_to_special(b, k, &mut out)?;
        let c = match b[k] {
            b'"' => {
                // SAFETY: `b` is UTF-8 (it is a `str`'s bytes) and was cut only next to ASCII bytes (quotes,
                // backslashes and escapes); what replaced the escapes is ASCII or a whole character's UTF-8.
                return Some((unsafe { String::from_utf8_unchecked(out) }, k + 1));
            }
            b'\\' => match *b.get(k + 1)? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0C,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let hi = hex4(b.get(k + 2..k + 6)?)?;
                    k += 6;
                    let code = match hi {
                        0xD800..=0xDBFF => {
                            // A high surrogate: only with a low one right after it.
                            if b.get(k..k + 2)? != b"\\u" {
                                return None;
                            }
                            let lo = hex4(b.get(k + 2..k + 6)?)?;
                            if !(0xDC00..=0xDFFF).contains(&lo) {
                                return None;
                            }
                            k += 6;
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        }
                        0xDC00..=0xDFFF => return None,
                        c => c,
                    };
                    let mut utf8 = [0u8; 4];
                    out.extend_from_slice(char::from_u32(code)?.encode_utf8(&mut utf8).as_bytes());
                    continue;
                }
                _ => return None,
            },
            _ => return None,
        };
        out.push(c);
        k += 2;
    }
}

/// Unescapes `b` from `k` on into `out` by blocks of 64 bytes, as long as a block holds no quote that ends the
/// string, no control character and no escape but JSON's one-letter ones (`\n`, `\t`, `\r`, `\b`, `\f`, `\/`,
/// `\"`), none next to another (so no `\\`, whose second backslash is no escape's start); a block whose last byte
/// starts an escape is taken but for that byte. Returns the index of the first block it did not take (the one that
/// needs [`unescape_string`]'s escape by escape reading), or the start of the last partial one. `k` must not be
/// inside an escape, and `out` must have room for `b.len() - k` more bytes. With AVX-512 VBMI2 (compress) and VBMI
/// (a byte table): one compare for a plain block, a table look-up and a compress for one with escapes, where text
/// with an escaped line break every few dozen bytes (OCR lines) otherwise stops the copy at each; without them it
/// takes no block.
#[inline]
fn unescape_blocks(b: &[u8], k: usize, out: &mut Vec<u8>) -> usize {
    #[cfg(target_arch = "x86_64")]
    if has_avx512_vbmi2() && out.capacity() - out.len() >= b.len() - k {
        // SAFETY: the processor has AVX-512 F, BW, VBMI and VBMI2 (checked), and `out` has room for the rest of `b`.
        return unsafe { unescape_blocks_avx512(b, k, out) };
    }
    k
}

/// Whether the processor has AVX-512 F, BW, VBMI and VBMI2 (checked once).
#[cfg(target_arch = "x86_64")]
fn has_avx512_vbmi2() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
            && std::arch::is_x86_feature_detected!("avx512vbmi2")
    })
}

/// [`unescape_blocks`] with AVX-512.
///
/// # Safety
/// The processor must have AVX-512 F, BW, VBMI and VBMI2, and `out` room for `b.len() - k` more bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2")]
unsafe fn unescape_blocks_avx512(b: &[u8], mut k: usize, out: &mut Vec<u8>) -> usize {
    use std::arch::x86_64::*;
    // What each one-letter escape stands for, by the letter's byte (0..=127): 0 for any other byte.
    const fn table(half: usize) -> [u8; 64] {
        let mut t = [0u8; 64];
        let mut j = 0;
        while j < 64 {
            t[j] = match (64 * half + j) as u8 {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'b' => 0x08,
                b'f' => 0x0C,
                b'/' => b'/',
                b'"' => b'"',
                _ => 0,
            };
            j += 1;
        }
        t
    }
    const LO: [u8; 64] = table(0);
    const HI: [u8; 64] = table(1);
    let (lo, hi) = (_mm512_loadu_si512(LO.as_ptr().cast()), _mm512_loadu_si512(HI.as_ptr().cast()));
    let (quote, slash, control) = (_mm512_set1_epi8(b'"' as i8), _mm512_set1_epi8(b'\\' as i8), _mm512_set1_epi8(0x1F));
    let mut o = out.len();
    let dst = out.as_mut_ptr();
    while k + 64 <= b.len() {
        // SAFETY: the 64 bytes read lie within `b`; the 64 written lie within `out`'s room: every block taken wrote at
        // most the bytes it read, so `o + 64 <= out.len() + (k - start) + 64 <= out.len() + b.len() - start`.
        let v = _mm512_loadu_si512(b.as_ptr().add(k).cast());
        let slashes = _mm512_cmpeq_epi8_mask(v, slash);
        let stops = _mm512_cmpeq_epi8_mask(v, quote) | _mm512_cmple_epu8_mask(v, control);
        if slashes | stops == 0 {
            _mm512_storeu_si512(dst.add(o).cast(), v);
            (k, o) = (k + 64, o + 64);
            continue;
        }
        // A backslash in the last byte starts an escape that the next block ends: this block's first 63 bytes are
        // taken, and the next block starts at it.
        let (take, within) = if slashes >> 63 != 0 { (63, u64::MAX >> 1) } else { (64, u64::MAX) };
        let (slashes, stops) = (slashes & within, stops & within);
        // The escapes' letters: right after each backslash, none a backslash, each a one-letter escape's (ASCII: a
        // byte of 0x80 or more would index the table by its low seven bits); the quotes among them are escaped.
        let letters = slashes << 1;
        let decoded = _mm512_permutex2var_epi8(lo, v, hi);
        let known = _mm512_test_epi8_mask(decoded, decoded) & !_mm512_movepi8_mask(v);
        if slashes & letters != 0 || letters & !known != 0 || stops & !letters != 0 {
            break;
        }
        let kept = !slashes & within;
        let packed = _mm512_maskz_compress_epi8(kept, _mm512_mask_blend_epi8(letters, v, decoded));
        _mm512_storeu_si512(dst.add(o).cast(), packed);
        (k, o) = (k + take, o + kept.count_ones() as usize);
    }
    // SAFETY: the bytes up to `o` were written.
    out.set_len(o);
    k
}

/// Appends `b[k..]` to `out` up to the next quote, backslash or control character and returns its index; `None`
/// when there is none. With AVX2 32 bytes at a time, which needs `out` to have room for `b.len() - k + 32` more bytes
/// (else the plain search and one copy).
#[inline]
fn copy_to_special(b: &[u8], k: usize, out: &mut Vec<u8>) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && out.capacity() - out.len() >= b.len() - k + 32 {
        // SAFETY: the processor has AVX2 (checked just above), and `out` has room for the rest of `b` and 32 bytes
        // more.
        return unsafe { copy_to_special_avx2(b, k, out) };
    }
    copy_to_special_plain(b, k, out)
}

/// [`copy_to_special`] by a search and one copy.
fn copy_to_special_plain(b: &[u8], k: usize, out: &mut Vec<u8>) -> Option<usize> {
    let j = next_special_plain(b, k);
    out.extend_from_slice(&b[k..j.unwrap_or(b.len())]);
    j
}

/// [`copy_to_special`] by blocks of 32 bytes with AVX2.
///
/// # Safety
/// The processor must have AVX2, and `out` room for `b.len() - k + 32` more bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn copy_to_special_avx2(b: &[u8], mut k: usize, out: &mut Vec<u8>) -> Option<usize> {
    use std::arch::x86_64::*;
    let mut o = out.len();
    let dst = out.as_mut_ptr();
    while k + 32 <= b.len() {
        // SAFETY: the 32 bytes read lie within `b`; the 32 written lie within `out`'s room (`o - out.len()` is at
        // most `k` less the `k` this call started from, so `o + 32` stays within the room the caller checked).
        let v = _mm256_loadu_si256(b.as_ptr().add(k).cast());
        _mm256_storeu_si256(dst.add(o).cast(), v);
        let m = special_mask(v);
        if m != 0 {
            let j = m.trailing_zeros() as usize;
            // SAFETY: the bytes up to `o + j` were written (copies of `b`'s, initialized).
            out.set_len(o + j);
            return Some(k + j);
        }
        k += 32;
        o += 32;
    }
    // SAFETY: the bytes up to `o` were written.
    out.set_len(o);
    copy_to_special_plain(b, k, out)
}

/// The value of four hexadecimal digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |v, &d| Some(v << 4 | char::from(d).to_digit(16)?))
}

/// Pieces of JSON string literals for tests: plain characters, every kind of escape, surrogate pairs and lone or
/// misordered surrogates, broken escapes, raw control characters, a lone backslash and quote, and runs longer than
/// the vector copies' blocks.
#[cfg(test)]
pub(crate) const STRING_PIECES: [&str; 33] = [
    "a",
    "Zq ",
    "中文",
    "\u{1f600}",
    "\\n",
    "\\t",
    "\\r",
    "\\b",
    "\\f",
    "\\/",
    "\\\\",
    "\\\"",
    "\\u0041",
    "\\u00e9",
    "\\u4E2D",
    "\\ud83d\\ude00",
    "\\uD83D",
    "\\uDE00",
    "\\ud83d\\u0041",
    "\\ud83d\\ud83d",
    "\\u0000",
    "\\uFFFF",
    "\\x",
    "\\u12",
    "é",
    "\\",
    "\"",
    "\u{1}",
    "\u{7f}",
    // Runs longer than the vector copy's blocks of 32 bytes.
    "The quick brown fox jumps over the lazy dog, 1916",
    "北京时间五月八日国家主席在莫斯科同俄罗斯总统举行会谈",
    "line of OCR text",
    "\\n",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings of plain text (ASCII, Chinese, emoji) and escapes, the one-letter ones most of all, at every offset
    /// and length around the 64-byte blocks: unescaped as serde_json unescapes them, or refused where it refuses
    /// them; and strings of plain text and one-letter escapes only (OCR-like lines: an escaped line break every few
    /// dozen bytes) are read by whole blocks up to their last 64 bytes.
    #[test]
    fn blocks_unescape_as_serde_json_does() {
        // Plain text and one-letter escapes only; then anything (`STRING_PIECES`).
        let simple =
            ["a", "line of OCR text", "中文", "\u{1f600}", "\\n", "\\n", "\\t", "\\r", "\\b", "\\f", "\\/", "\\\""];
        let mut state = 0x853C_49E6_748F_EA9Bu64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut taken, mut blocks) = (0usize, 0usize);
        for case in 0..20_000 {
            let mut lit = String::from("{\"text\": \"");
            // OCR-like lines, text with every one-letter escape, and anything.
            let (ocr, plain) = (case % 3 == 0, case % 3 == 1);
            for _ in 0..next() % 60 {
                let piece = if ocr {
                    ["The quick brown fox jumps", "\\n", "1916 ", "over the lazy dog"][(next() % 4) as usize]
                } else if plain {
                    simple[(next() % simple.len() as u64) as usize]
                } else {
                    STRING_PIECES[(next() % STRING_PIECES.len() as u64) as usize]
                };
                lit.push_str(piece);
            }
            lit.push('"');
            let start = lit.find(": \"").unwrap() + 3;
            // serde_json's reading of the first string literal (a piece may close it early), and where it ends.
            let mut stream = serde_json::Deserializer::from_str(&lit[start - 1..]).into_iter::<String>();
            let reference = stream.next().and_then(Result::ok).map(|r| (r, start - 1 + stream.byte_offset()));
            let got = unescape_string(lit.as_bytes(), start);
            match (&reference, &got) {
                // The path may refuse what serde_json accepts only for lone surrogates, which these pieces lack.
                (Some(r), Some(g)) => assert_eq!(g, r, "{lit:?}"),
                (None, None) => {}
                _ => panic!("{lit:?}: serde_json {reference:?}, here {got:?}"),
            }
            if (ocr || plain) && reference.as_ref().is_some_and(|r| r.1 == lit.len()) {
                let mut out = Vec::with_capacity(lit.len());
                let b = lit.as_bytes();
                let stop = unescape_blocks(b, start, &mut out);
                // Every byte but those of the last partial or quote-ending block: at most 64 left.
                blocks += 1;
                taken += usize::from(b.len() - stop <= 64);
                assert_eq!(&out[..], &reference.as_ref().unwrap().0.as_bytes()[..out.len()], "{lit:?}");
            }
        }
        #[cfg(target_arch = "x86_64")]
        if has_avx512_vbmi2() {
            assert_eq!(taken, blocks, "strings of one-letter escapes read by whole blocks to their last 64 bytes");
        }
        assert!(blocks > 10_000, "{blocks} strings of one-letter escapes");
    }
}
