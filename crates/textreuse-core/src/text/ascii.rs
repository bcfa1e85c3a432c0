//! The ASCII path of fingerprinting: the unit ids of a text that is ASCII but for separators (dashes, quotation
//! marks, symbols, spaces: [`crate::normalize::separator_class`]) and Latin-1 letters (`À..=ÿ` but `×` and `÷`), as
//! [`crate::shingle::units`] gives them for the text normalized with [`crate::normalize`], computed in one pass over
//! the input, without building the normalized text.
//!
//! With punctuation and whitespace stripping on, the normalization of such a text is its runs of letters and digits
//! (lower-cased when `lowercase` is set; NFKC, width folding and the script conversion change no ASCII character
//! and no Latin-1 letter, and a Latin-1 capital's lower case is one Latin-1 letter), joined by one space where
//! anything else separates two of them, and by nothing where the separator is a hyphen after a letter or digit
//! followed by line breaks and spaces only (`con-\ntinued`), or a line break of a hard-wrapped text alone
//! ([`crate::normalize::hard_wrap_width`]): see `Emitter::emit`, whose states this walk takes separator by separator
//! (a non-ASCII separator by its class). The normalized text then holds letters, digits and single spaces only, so
//! its units are its space-separated words and a unit's id is XXH3 of the word (no apostrophe or period is left to
//! join two runs). A hard-wrapped text with Latin-1 letters takes the general path (the walk counts a line's
//! characters in its separators only). `tests/normalize.rs` checks this path against normalizing and cutting units on
//! random text.

use xxhash_rust::xxh3::xxh3_64;

use crate::normalize::{decode_at, hard_wrap_width, separator_class, Gap, NormalizeOptions, Separator};
#[cfg(target_arch = "x86_64")]
use crate::shingle::has_avx512_bw;

/// Appends to `ids` the unit ids of `text` normalized with `opts` and returns the length of `text` in code points,
/// when `opts` strips punctuation and whitespace and every non-ASCII character of `text` is a separator that
/// normalizes alone ([`separator_class`]: dashes, quotation marks, symbols, spaces; no letter, digit or mark) or a
/// Latin-1 letter ([`is_latin1_letter`]; not in a hard-wrapped text); else returns `None` and leaves `ids` as it
/// was. `word` is working space for the rare word that is joined across a separator, longer than 16 bytes, or has a
/// Latin-1 letter.
pub(crate) fn ascii_unit_ids(
    text: &str,
    opts: &NormalizeOptions,
    ids: &mut Vec<u64>,
    word: &mut Vec<u8>,
) -> Option<u32> {
    if !(opts.strip_punctuation && opts.strip_whitespace) {
        return None;
    }
    let b = text.as_bytes();
    let n = b.len();
    // Every non-ASCII character is checked first (they are few in English text): they all lie in separators, or
    // are Latin-1 letters inside words.
    let mut chars = n;
    let mut latin = false;
    let mut p = next_high(b, 0);
    while p < n {
        let (c, len) = decode_at(b, p);
        if is_latin1_letter(c) {
            latin = true;
        } else {
            separator_class(c, next_char(b, p + len), opts)?;
        }
        chars -= len - 1;
        p = next_high(b, p + len);
    }
    let width = hard_wrap_width(text);
    if latin && width.is_some() {
        // A hard wrap's line lengths are counted in the separators only: the general path counts the letters'.
        return None;
    }
    let lower = if opts.lowercase { 0x20u8 } else { 0 };
    let mut pending = PendingWords::new(n);
    let mut bits = AlnumBits::new(b, latin);
    let mut lines = Lines::default();
    // The word being built: its first piece, whether more pieces were joined to it (then its bytes are in `word`),
    // and where its last piece ends.
    let (mut first, mut joined, mut last_end) = ((0usize, 0usize), false, 0usize);
    let mut pos = bits.next_alnum(0);
    // The separator before the first word emits nothing; its line breaks count.
    if width.is_some() {
        scan_separator(b, 0, pos, width, &mut lines, false, opts);
    }
    // The first non-ASCII byte after the last word.
    let mut high = next_high(b, pos);
    if pos < n {
        let end = bits.next_other(pos + 1);
        first = (pos, end);
        last_end = end;
        pos = bits.next_alnum(end);
    }
    while pos < n {
        let end = bits.next_other(pos + 1);
        // Without a hard wrap, only a separator that starts with a hyphen or holds a non-ASCII character (a dash)
        // may join, and line breaks need no count; with one, any separator but one space (the commonest) is
        // walked through.
        let walk = match width {
            None => b[last_end] == b'-' || high < pos,
            Some(_) => !(pos == last_end + 1 && b[last_end] == b' '),
        };
        if walk && scan_separator(b, last_end, pos, width, &mut lines, true, opts) {
            if !joined {
                word.clear();
                push_lowered(word, &b[first.0..first.1], lower);
                joined = true;
            }
            push_lowered(word, &b[pos..end], lower);
        } else {
            pending.emit(b, first, joined, latin, lower, word, ids);
            (first, joined) = ((pos, end), false);
        }
        if high < pos {
            high = next_high(b, end);
        }
        last_end = end;
        pos = bits.next_alnum(end);
    }
    if last_end > 0 {
        pending.emit(b, first, joined, latin, lower, word, ids);
    }
    pending.finish(ids);
    Some(chars as u32)
}

/// Words of 1 to 16 bytes waiting for their ids where the processor has AVX-512: each goes to the batch of its
/// length's XXH3 path (1 to 3, 4 to 8, 9 to 16 bytes), and a full batch of eight is hashed at once
/// ([`short_word_ids8`]). One word at a time, the hash takes a branch on the word's length that mispredicts on
/// prose; here the batch is picked by index, and only a full batch branches. A word's place in `ids` holds 0 until
/// its batch is hashed.
struct PendingWords {
    /// AVX-512 (F, DQ, BW) is there and the text's offsets fit in 32 bits.
    batch: bool,
    /// The batches, by length class.
    classes: [WordBatch; 3],
}

/// Up to eight words of one length class: their first eight bytes and last eight bytes (lower-cased as the ids
/// want them), their lengths and their places in `ids`.
#[derive(Clone, Copy)]
struct WordBatch {
    head: [u64; BATCH],
    tail: [u64; BATCH],
    len: [u64; BATCH],
    at: [u32; BATCH],
    waiting: usize,
}

/// Words hashed together: a multiple of eight, so the vector loads of the last ones (whose stores are the most
/// recent) are a small part.
const BATCH: usize = 32;

impl Default for WordBatch {
    fn default() -> Self {
        WordBatch { head: [0; BATCH], tail: [0; BATCH], len: [0; BATCH], at: [0; BATCH], waiting: 0 }
    }
}

impl PendingWords {
    fn new(text_len: usize) -> PendingWords {
        #[cfg(target_arch = "x86_64")]
        let batch = has_avx512_bw() && u32::try_from(text_len).is_ok();
        #[cfg(not(target_arch = "x86_64"))]
        let batch = false;
        PendingWords { batch, classes: [WordBatch::default(); 3] }
    }

    /// Appends the id of the word `first` (see [`word_id`]) to `ids`, or its place when it waits in a batch: a
    /// word of at most 16 bytes, not joined, that has eight bytes of the text from its start and no Latin-1 letter
    /// to lower-case.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        b: &[u8],
        first: (usize, usize),
        joined: bool,
        latin: bool,
        lower: u8,
        word: &mut Vec<u8>,
        ids: &mut Vec<u64>,
    ) {
        let (s, e) = first;
        let len = e - s;
        if !(self.batch && !joined && len <= 16 && s + 8 <= b.len() && !(latin && lower != 0 && has_high_byte(b, s, e)))
        {
            ids.push(word_id(b, first, joined, latin, lower, word));
            return;
        }
        let lw = u64::from(lower) * 0x0101_0101_0101_0101;
        let r64 = |p: usize| u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes")) | lw;
        let class = usize::from(len > 3) + usize::from(len > 8);
        let w = &mut self.classes[class];
        let k = w.waiting;
        w.head[k] = r64(s);
        w.tail[k] = r64(e.max(s + 8) - 8);
        w.len[k] = len as u64;
        w.at[k] = ids.len() as u32;
        ids.push(0);
        w.waiting = k + 1;
        if w.waiting == BATCH {
            w.waiting = 0;
            #[cfg(target_arch = "x86_64")]
            for c in 0..BATCH / 8 {
                let part = |x: &[u64; BATCH]| -> [u64; 8] { x[8 * c..8 * c + 8].try_into().expect("8 values") };
                // SAFETY: `batch` is set only where the processor has AVX-512 F, DQ and BW.
                let h = unsafe { short_word_ids8(class, &part(&w.head), &part(&w.tail), &part(&w.len)) };
                for (&at, h) in w.at[8 * c..8 * c + 8].iter().zip(h) {
                    ids[at as usize] = h;
                }
            }
        }
    }

    /// The ids of the words still waiting, one at a time.
    fn finish(&mut self, ids: &mut [u64]) {
        for w in &mut self.classes {
            for k in 0..w.waiting {
                ids[w.at[k] as usize] = short_word_of(w.head[k], w.tail[k], w.len[k] as usize);
            }
            w.waiting = 0;
        }
    }
}

/// [`short_word_id`] of a word given by its first and last eight bytes (lower-cased) and its length.
fn short_word_of(head: u64, tail: u64, len: usize) -> u64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&head.to_le_bytes());
    if len > 8 {
        bytes[len - 8..len].copy_from_slice(&tail.to_le_bytes());
    }
    short_word_id(&bytes, 0, len, 0)
}

/// [`short_word_id`] of eight words of one length class at once (`class` 0: 1 to 3 bytes, 1: 4 to 8, 2: 9 to
/// 16), XXH3's short path of that class with eight lanes: word `k` has `len[k]` bytes, its first eight bytes
/// (little-endian) are `head[k]` and its last eight `tail[k]` (read for class 2 only), lower-cased already.
///
/// # Safety
/// The processor must have AVX-512 F, DQ and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512bw")]
unsafe fn short_word_ids8(class: usize, head: &[u64; 8], tail: &[u64; 8], len: &[u64; 8]) -> [u64; 8] {
    use crate::shingle::{xxh3_9to16_8, XXH3_SECRET as K};
    use std::arch::x86_64::*;
    let one = |x: u64| _mm512_set1_epi64(x as i64);
    let n = _mm512_loadu_si512(len.as_ptr().cast());
    let head = _mm512_loadu_si512(head.as_ptr().cast());
    // The bytes of `head` from byte `at` on.
    let bytes_from = |at: __m512i| _mm512_srlv_epi64(head, _mm512_slli_epi64::<3>(at));
    let ids = match class {
        0 => {
            // XXH3_len_1to3: first, middle and last bytes and the length, then XXH64's avalanche.
            let byte = one(0xFF);
            let c1 = _mm512_and_si512(head, byte);
            let c2 = _mm512_and_si512(bytes_from(_mm512_srli_epi64::<1>(n)), byte);
            let c3 = _mm512_and_si512(bytes_from(_mm512_sub_epi64(n, one(1))), byte);
            let combined = _mm512_or_si512(
                _mm512_or_si512(_mm512_slli_epi64::<16>(c1), _mm512_slli_epi64::<24>(c2)),
                _mm512_or_si512(c3, _mm512_slli_epi64::<8>(n)),
            );
            let mut h = _mm512_xor_si512(combined, one(u64::from(K[0] as u32 ^ (K[0] >> 32) as u32)));
            h = _mm512_xor_si512(h, _mm512_srli_epi64::<33>(h));
            h = _mm512_mullo_epi64(h, one(0xC2B2_AE3D_27D4_EB4F));
            h = _mm512_xor_si512(h, _mm512_srli_epi64::<29>(h));
            h = _mm512_mullo_epi64(h, one(0x1656_67B1_9E37_79F9));
            _mm512_xor_si512(h, _mm512_srli_epi64::<32>(h))
        }
        1 => {
            // XXH3_len_4to8: the first and the last four bytes (the last are the first eight's, shifted).
            let word32 = one(0xFFFF_FFFF);
            let last4 = _mm512_and_si512(bytes_from(_mm512_sub_epi64(n, one(4))), word32);
            let input = _mm512_add_epi64(last4, _mm512_slli_epi64::<32>(head));
            let mut h = _mm512_xor_si512(input, one(K[1] ^ K[2]));
            h = _mm512_xor_si512(h, _mm512_xor_si512(_mm512_rol_epi64::<49>(h), _mm512_rol_epi64::<24>(h)));
            h = _mm512_mullo_epi64(h, one(0x9FB2_1C65_1E98_DF25));
            h = _mm512_xor_si512(h, _mm512_add_epi64(_mm512_srli_epi64::<35>(h), n));
            h = _mm512_mullo_epi64(h, one(0x9FB2_1C65_1E98_DF25));
            _mm512_xor_si512(h, _mm512_srli_epi64::<28>(h))
        }
        _ => {
            // XXH3_len_9to16: the first and the last eight bytes.
            let lo = _mm512_xor_si512(head, one(K[3] ^ K[4]));
            let hi = _mm512_xor_si512(_mm512_loadu_si512(tail.as_ptr().cast()), one(K[5] ^ K[6]));
            xxh3_9to16_8(lo, hi, n)
        }
    };
    let mut out = [0u64; 8];
    _mm512_storeu_si512(out.as_mut_ptr().cast(), ids);
    out
}

/// The first byte at or after `from` of `b` that is not ASCII, or the length of `b`: eight bytes at a time.
#[inline]
pub(crate) fn next_high(b: &[u8], mut from: usize) -> usize {
    while from + 8 <= b.len() {
        let w = u64::from_le_bytes(b[from..from + 8].try_into().expect("8 bytes")) & 0x8080_8080_8080_8080;
        if w != 0 {
            return from + (w.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while from < b.len() && b[from] < 0x80 {
        from += 1;
    }
    from
}

/// The non-ASCII character at byte `p` of the valid UTF-8 `b`, if there is one (what may compose with the
/// character before it).
#[inline]
fn next_char(b: &[u8], p: usize) -> Option<char> {
    (p < b.len() && b[p] >= 0x80).then(|| decode_at(b, p).0)
}

/// Where the current line starts, and the carriage returns and UTF-8 continuation bytes in it so far: the
/// normalizer counts a line's characters, carriage returns aside.
#[derive(Default)]
struct Lines {
    start: usize,
    returns: usize,
    continuation: usize,
}

/// Appends `piece` (ASCII letters and digits, Latin-1 letters) to `word`, lower-cased when `lower` is `0x20`. In
/// UTF-8 a Latin-1 letter is `C3` and a byte of `80..=BF`; lower case sets bit 5 of that byte for the capitals
/// `À..=Þ` (`80..=9E`; `×`, `97`, is no letter) and leaves `ß` (`9F`, its own lower case) and the small letters
/// (`A0..=BF`, bit 5 set) as they are. ORed with `0x20`, ASCII letters are lower case and digits unchanged.
fn push_lowered(word: &mut Vec<u8>, piece: &[u8], lower: u8) {
    word.extend(piece.iter().map(|&c| if c == 0xC3 || c == 0x9F { c } else { c | lower }));
}

/// Whether `c` is a letter of Latin-1's upper half (`À..=ÿ` but `×` and `÷`): letters that NFKC and width folding
/// leave as they are and whose lower case is one Latin-1 letter ([`push_lowered`]), so a word of them and of ASCII
/// letters and digits is one unit of the normalized text, as a word of ASCII letters and digits is.
#[inline]
fn is_latin1_letter(c: char) -> bool {
    matches!(c, '\u{C0}'..='\u{FF}') && c != '\u{D7}' && c != '\u{F7}'
}

/// The id of the word whose first piece is `b[first.0..first.1]`, or whose bytes are `word` when `joined`: XXH3 of
/// the word lower-cased (`lower` is `0x20`) or as it is (`lower` is 0). `latin`: the text may have Latin-1 letters,
/// which the short path's lower-casing would not leave alone.
#[inline(always)]
fn word_id(b: &[u8], first: (usize, usize), joined: bool, latin: bool, lower: u8, word: &mut Vec<u8>) -> u64 {
    let (s, e) = first;
    if !joined && e - s <= 16 && !(latin && lower != 0 && has_high_byte(b, s, e)) {
        return short_word_id(b, s, e, lower);
    }
    if !joined {
        if lower == 0 {
            return xxh3_64(&b[s..e]);
        }
        word.clear();
        push_lowered(word, &b[s..e], lower);
    }
    xxh3_64(word)
}

/// Whether `b[s..e]`, 1 to 16 bytes, has a byte of `0x80` or more: its first and last eight bytes (overlapping) at
/// once where they lie within `b`.
#[inline(always)]
fn has_high_byte(b: &[u8], s: usize, e: usize) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let r64 = |p: usize| u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes"));
    let len = e - s;
    if len >= 8 {
        (r64(s) | r64(e - 8)) & HIGH != 0
    } else if s + 8 <= b.len() {
        r64(s) & HIGH & ((1u64 << (8 * len)) - 1) != 0
    } else {
        b[s..e].iter().any(|&c| c >= 0x80)
    }
}

/// XXH3-64 (seed 0, the crate's `xxh3_64`) of `b[s..e]` with `lower` ored into every byte, for a word of 1 to 16
/// bytes (`lower` is 0, or `0x20` when the word is ASCII letters and digits: ored with it, letters are lower case
/// and digits unchanged): XXH3's short paths with the secret's words as constants, reading the word in place, so
/// no lower-cased copy is made. A unit test checks every length and place against the crate. (Computing the 1-to-3
/// and the 4-to-8-byte paths both and selecting one without a branch was faster in a loop over words alone, but
/// slower here: `bench/RESULTS.md`, tenth session.)
#[inline(always)]
pub(crate) fn short_word_id(b: &[u8], s: usize, e: usize, lower: u8) -> u64 {
    use crate::shingle::{avalanche, fold, strong_avalanche, XXH3_SECRET as K};
    let len = e - s;
    debug_assert!((1..=16).contains(&len) && e <= b.len());
    let lw = u64::from(lower) * 0x0101_0101_0101_0101;
    match len {
        9.. => {
            // XXH3_len_9to16: the first and the last eight bytes (overlapping).
            let r64 = |p: usize| u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes")) | lw;
            let lo = r64(s) ^ (K[3] ^ K[4]);
            let hi = r64(e - 8) ^ (K[5] ^ K[6]);
            avalanche((len as u64).wrapping_add(lo.swap_bytes()).wrapping_add(hi).wrapping_add(fold(lo, hi)))
        }
        4..=8 => {
            // XXH3_len_4to8: the first and the last four bytes (overlapping).
            let r32 = |p: usize| u32::from_le_bytes(b[p..p + 4].try_into().expect("4 bytes")) | lw as u32;
            let input = u64::from(r32(e - 4)).wrapping_add(u64::from(r32(s)) << 32);
            strong_avalanche(input ^ (K[1] ^ K[2]), len as u64)
        }
        _ => {
            // XXH3_len_1to3: first, middle and last bytes and the length, then XXH64's avalanche.
            let (c1, c2, c3) = (b[s] | lower, b[s + len / 2] | lower, b[e - 1] | lower);
            let combined = (u32::from(c1) << 16) | (u32::from(c2) << 24) | u32::from(c3) | ((len as u32) << 8);
            xxh64_avalanche(u64::from(combined) ^ u64::from(K[0] as u32 ^ (K[0] >> 32) as u32))
        }
    }
}

/// XXH64's final mix, which XXH3's 1-to-3-byte path ends with.
#[inline(always)]
fn xxh64_avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 29;
    h = h.wrapping_mul(0x1656_67B1_9E37_79F9);
    h ^ (h >> 32)
}

/// Walks the separator `b[from..to]` (bytes that are no ASCII letter or digit; its non-ASCII characters are
/// separators, [`separator_class`]) as the normalizer's gap states do, counting its line breaks when the text is
/// hard-wrapped (`width`); returns whether it joins the words on both sides (`after_word`: a word precedes it).
/// Without a hard wrap no line break is skipped, so the line count is not needed, and only a separator that has a
/// hyphen (ASCII, or a dash folded to one) may join.
fn scan_separator(
    b: &[u8],
    from: usize,
    to: usize,
    width: Option<u32>,
    lines: &mut Lines,
    after_word: bool,
    opts: &NormalizeOptions,
) -> bool {
    let mut gap = Gap::None;
    let mut p = from;
    while p < to {
        let c = b[p];
        let class = if c < 0x80 {
            p += 1;
            match c {
                b'\n' => {
                    let len = p - 1 - lines.start - lines.returns - lines.continuation;
                    *lines = Lines { start: p, returns: 0, continuation: 0 };
                    if width == Some(len as u32) {
                        // A hard wrap: the normalizer skips it.
                        continue;
                    }
                    Separator::Newline
                }
                b'\r' => {
                    lines.returns += 1;
                    Separator::Newline
                }
                b'-' => Separator::Hyphen,
                _ if c == b' ' || c.is_ascii_control() => Separator::Space,
                _ => Separator::Punct,
            }
        } else {
            let (ch, len) = decode_at(b, p);
            p += len;
            lines.continuation += len - 1;
            separator_class(ch, next_char(b, p), opts).expect("checked before the walk")
        };
        match class {
            Separator::Space | Separator::Newline => {
                if class == Separator::Newline && gap == Gap::Hyphen {
                    gap = Gap::HyphenNewline;
                } else if gap == Gap::None {
                    gap = Gap::Break;
                }
            }
            Separator::Hyphen => gap = if gap == Gap::None && after_word { Gap::Hyphen } else { Gap::Break },
            Separator::Punct => gap = Gap::Break,
        }
    }
    matches!(gap, Gap::None | Gap::HyphenNewline)
}

/// Bit masks of the ASCII letters and digits of a text (and of the bytes of its Latin-1 letters when `latin`), 64
/// bytes at a time, the last block computed kept.
struct AlnumBits<'a> {
    b: &'a [u8],
    latin: bool,
    /// Index of the block in `mask` (`usize::MAX`: none yet).
    block: usize,
    /// Bit `k` set when byte `64 * block + k` is an ASCII letter or digit (bits past the end clear).
    mask: u64,
}

impl<'a> AlnumBits<'a> {
    fn new(b: &'a [u8], latin: bool) -> Self {
        AlnumBits { b, latin, block: usize::MAX, mask: 0 }
    }

    #[inline(always)]
    fn mask_of(&mut self, block: usize) -> u64 {
        if block != self.block {
            self.block = block;
            self.mask = ascii_bits64::<false>(self.b, 64 * block).0;
            if self.latin {
                self.mask |= latin1_letter_bits64(self.b, 64 * block);
            }
        }
        self.mask
    }

    /// The first letter or digit at or after `pos`, or the length of the text.
    #[inline(always)]
    fn next_alnum(&mut self, mut pos: usize) -> usize {
        let n = self.b.len();
        while pos < n {
            let m = self.mask_of(pos / 64) & (u64::MAX << (pos % 64));
            if m != 0 {
                return (pos & !63) + m.trailing_zeros() as usize;
            }
            pos = (pos & !63) + 64;
        }
        n
    }

    /// The first byte at or after `pos` that is no letter or digit, or the length of the text.
    #[inline(always)]
    fn next_other(&mut self, mut pos: usize) -> usize {
        let n = self.b.len();
        while pos < n {
            let m = !self.mask_of(pos / 64) & (u64::MAX << (pos % 64));
            if m != 0 {
                return ((pos & !63) + m.trailing_zeros() as usize).min(n);
            }
            pos = (pos & !63) + 64;
        }
        n
    }
}

/// For the 64 bytes of `b` from `at`: bit `k` of the first mask set when byte `at + k` is an ASCII letter or digit,
/// and, with `JOINERS`, of the second when it is an apostrophe, a period or a comma (the bytes that UAX #29 may keep
/// inside a word: `shingle`'s ASCII words); bits past the end of `b` clear, the second mask 0 without `JOINERS`.
/// Sixteen bytes at a time on x86-64.
#[inline(always)]
pub(crate) fn ascii_bits64<const JOINERS: bool>(b: &[u8], at: usize) -> (u64, u64) {
    let (mut alnum, mut joiner) = (0u64, 0u64);
    #[cfg(target_arch = "x86_64")]
    if at + 64 <= b.len() {
        use std::arch::x86_64::*;
        for k in 0..4 {
            // SAFETY: the 16 bytes read lie within `b`; SSE2 is available on every x86-64 processor.
            unsafe {
                let v = _mm_loadu_si128(b.as_ptr().add(at + 16 * k).cast::<__m128i>());
                alnum |= u64::from(crate::normalize::alnum_mask(v)) << (16 * k);
                if JOINERS {
                    let j = _mm_or_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\'' as i8)),
                        _mm_or_si128(
                            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'.' as i8)),
                            _mm_cmpeq_epi8(v, _mm_set1_epi8(b',' as i8)),
                        ),
                    );
                    joiner |= u64::from(_mm_movemask_epi8(j) as u32) << (16 * k);
                }
            }
        }
        return (alnum, joiner);
    }
    for (k, &c) in b[at..b.len().min(at + 64)].iter().enumerate() {
        alnum |= u64::from(c.is_ascii_alphanumeric()) << k;
        if JOINERS {
            joiner |= u64::from(matches!(c, b'\'' | b'.' | b',')) << k;
        }
    }
    (alnum, joiner)
}

/// Bit `k` set when byte `at + k` of `b` belongs to a Latin-1 letter ([`is_latin1_letter`]: `C3` followed by a byte
/// other than `97` and `B7`), for the 64 bytes from `at`. `b` is valid UTF-8 whose non-ASCII characters are
/// separators or Latin-1 letters, so the letter bytes are these pairs. Sixteen bytes at a time on x86-64.
#[inline]
fn latin1_letter_bits64(b: &[u8], at: usize) -> u64 {
    let end = b.len().min(at + 64);
    let (mut lead, mut other) = (0u64, 0u64);
    let mut p = at;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        while p + 16 <= end {
            // SAFETY: the 16 bytes read lie within `b`; SSE2 is available on every x86-64 processor.
            let (c3, times) = unsafe {
                let v = _mm_loadu_si128(b.as_ptr().add(p).cast::<__m128i>());
                let c3 = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(0xC3u8 as i8))) as u32;
                let times = _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(0x97u8 as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(0xB7u8 as i8)),
                );
                (c3, _mm_movemask_epi8(times) as u32)
            };
            lead |= u64::from(c3) << (p - at);
            other |= u64::from(times) << (p - at);
            p += 16;
        }
    }
    for (q, &c) in b.iter().enumerate().take(end).skip(p) {
        lead |= u64::from(c == 0xC3) << (q - at);
        other |= u64::from(c == 0x97 || c == 0xB7) << (q - at);
    }
    // A lead byte's letter is the pair unless the next byte makes it × or ÷ (the byte after the block for the last).
    let after = end < b.len() && (b[end] == 0x97 || b[end] == 0xB7);
    let next_other = (other >> 1) | (u64::from(after) << 63);
    let lead = lead & !next_other;
    // A letter that began in the block before ends at its first byte.
    let carried = at > 0 && b[at - 1] == 0xC3 && !(b[at] == 0x97 || b[at] == 0xB7);
    lead | (lead << 1) | u64::from(carried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_word_ids_are_xxh3_of_the_lowered_word() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        let alnum = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        for n in 1..=40usize {
            for _ in 0..20 {
                let b: Vec<u8> = (0..n)
                    .map(|_| {
                        x = crate::minhash::mix64(x.wrapping_add(0x9E37));
                        alnum[(x % alnum.len() as u64) as usize]
                    })
                    .collect();
                for s in 0..n {
                    for e in s + 1..=n.min(s + 16) {
                        for lower in [0u8, 0x20] {
                            let want: Vec<u8> = b[s..e].iter().map(|&c| c | lower).collect();
                            assert_eq!(short_word_id(&b, s, e, lower), xxh3_64(&want), "{s}..{e} of {n}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn eight_short_word_ids_at_once_are_xxh3_of_the_words() {
        if !has_avx512_bw() {
            eprintln!("skipped: the processor has no AVX-512 F, DQ and BW");
            return;
        }
        let mut x = 0x0fed_cba9_8765_4321u64;
        let mut next = |m: u64| {
            x = crate::minhash::mix64(x.wrapping_add(0x9E37));
            x % m
        };
        // Letters, digits and a few other bytes (the batch reads the bytes around a word too).
        let bytes = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.\n\xC3\xA9";
        for n in 16..=64usize {
            let b: Vec<u8> = (0..n).map(|_| bytes[next(bytes.len() as u64) as usize]).collect();
            for _ in 0..50 {
                let class = next(3) as usize;
                let (lo, hi) = [(1, 3), (4, 8), (9, 16)][class];
                let (mut words, mut head, mut tail, mut len) = (Vec::new(), [0u64; 8], [0u64; 8], [0u64; 8]);
                for k in 0..8 {
                    let l = lo + next((hi - lo + 1) as u64) as usize;
                    let s = next((n - l.max(8) + 1) as u64) as usize;
                    let r64 = |p: usize| u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes"));
                    (head[k], tail[k], len[k]) = (r64(s), r64((s + l).max(s + 8) - 8), l as u64);
                    words.push(&b[s..s + l]);
                }
                // SAFETY: the processor has AVX-512 F, DQ and BW (checked above).
                let got = unsafe { short_word_ids8(class, &head, &tail, &len) };
                for k in 0..8 {
                    assert_eq!(got[k], xxh3_64(words[k]), "{:?}", words[k]);
                    assert_eq!(short_word_of(head[k], tail[k], len[k] as usize), xxh3_64(words[k]));
                }
            }
        }
    }

    #[test]
    fn word_ids_of_every_length_are_xxh3() {
        let mut word = Vec::new();
        for n in 0..=8usize {
            // Short texts, any bytes, every word of them.
            let b: Vec<u8> = (0..n).map(|k| [b'a', b'\'', 0xC3, 0xA9, b'7', b'.'][k % 6]).collect();
            for s in 0..n {
                for e in s + 1..=n {
                    assert_eq!(word_id(&b, (s, e), false, true, 0, &mut word), xxh3_64(&b[s..e]), "{s}..{e} of {n}");
                }
            }
        }
        for len in 1..=64usize {
            let b: Vec<u8> = (0..len + 9).map(|k| b"Ab9zQ"[k % 5]).collect();
            for (s, e) in [(0, len), (9, len + 9), (4, len + 4)] {
                let want: Vec<u8> = b[s..e].iter().map(|c| c.to_ascii_lowercase()).collect();
                assert_eq!(word_id(&b, (s, e), false, false, 0x20, &mut word), xxh3_64(&want), "{len}");
                assert_eq!(word_id(&b, (s, e), false, false, 0, &mut word), xxh3_64(&b[s..e]), "{len}");
            }
        }
    }

    /// The unit ids of `text` normalized and cut by the general path.
    fn general_ids(text: &str, opts: &NormalizeOptions) -> Vec<u64> {
        let (mut out, mut scratch) = (String::new(), String::new());
        crate::normalize::normalize_text_into(text, opts, &mut out, &mut scratch);
        crate::shingle::units(&out).iter().map(|u| u.id).collect()
    }

    #[test]
    fn high_bytes_are_found_in_words_of_every_length() {
        let b: Vec<u8> = "abcdefghijklmnopqrstuvwxyzé0123456789".bytes().collect();
        for s in 0..b.len() {
            for e in s + 1..=b.len().min(s + 16) {
                assert_eq!(has_high_byte(&b, s, e), b[s..e].iter().any(|&c| c >= 0x80), "{s}..{e}");
            }
        }
    }

    #[test]
    fn latin1_letter_bits_mark_each_letters_bytes() {
        let alphabet: Vec<char> = "aZ9 éÉßÿ×÷—·“\u{a0}".chars().collect();
        let mut x = 3u64;
        for len in [0usize, 1, 20, 63, 64, 65, 100, 200, 333] {
            let text: String = (0..len)
                .map(|_| {
                    x = crate::minhash::mix64(x.wrapping_add(0x77));
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            let b = text.as_bytes();
            let mut want = vec![false; b.len()];
            for (p, c) in text.char_indices() {
                if is_latin1_letter(c) {
                    want[p] = true;
                    want[p + 1] = true;
                }
            }
            for at in (0..b.len()).step_by(64) {
                let m = latin1_letter_bits64(b, at);
                for k in 0..64 {
                    let p = at + k;
                    assert_eq!(m >> k & 1 == 1, p < b.len() && want[p], "byte {p} of {text:?}");
                }
            }
        }
    }

    #[test]
    fn latin1_words_as_the_normalizer() {
        // Random texts of ASCII and Latin-1 letters, digits and separators: the path takes nearly all of them (all
        // but the hard-wrapped ones) and cuts the general path's units.
        let alphabet: Vec<char> = "abcXYZ019éÉüÜßÿÞÀ×÷ -\n\r.,'—“”\u{a0}".chars().collect();
        let mut x = 7u64;
        let (mut word, mut taken) = (Vec::new(), 0);
        for round in 0..2000 {
            let len = round % 120;
            let text: String = (0..len)
                .map(|_| {
                    x = crate::minhash::mix64(x.wrapping_add(0x51));
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            for opts in [NormalizeOptions::default(), NormalizeOptions { lowercase: false, ..Default::default() }] {
                let mut ids = Vec::new();
                if let Some(chars) = ascii_unit_ids(&text, &opts, &mut ids, &mut word) {
                    taken += 1;
                    assert_eq!(chars, text.chars().count() as u32, "{text:?}");
                    assert_eq!(ids, general_ids(&text, &opts), "{text:?}");
                }
            }
        }
        assert!(taken > 3000, "{taken} of 4000 texts took the path");
    }

    #[test]
    fn joins_and_wraps_as_the_normalizer() {
        let texts = [
            "con-\ntinued and con- \n tinued, con-\r\ntinued; con-\rtinued",
            "not -\njoined, not--\njoined, not-\n-joined, not- joined, not-\n.joined",
            "-\nstart and end-\n",
            "Don't 3.14 1,000 U.S.A. mayor's",
            "",
            "   ",
            "a",
            "x\ty\x0bz\x0c\x00w\x7fv",
            // Hard-wrapped at 12 characters: words cut by a wrap join, as do hyphens before one.
            "the council \nmet on mond\nay to discu-\nss the new b\nridge across\nthe river an\nd voted to r",
            "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            // Non-ASCII separators: dashes folded to hyphens (joining before a line break), quotation marks, symbols,
            // spaces, line breaks, a soft hyphen.
            "con\u{2014}\ntinued \u{2018}quoted\u{2019} \u{a3}5 \u{ac}\u{3000}x\u{2028}y\u{85}z\u{ad}w con\u{2014}\u{2028}tinued",
            // Hard-wrapped at 10 characters, a dash before a wrap and inside a line, a quotation mark in a word.
            "wrap\u{2014}ped\u{2014}\nat twelve.\nc\u{2019}est ici \nla fin \u{ac}ab",
            // Latin-1 letters in words, capitals lower-cased, ß as it is, × and ÷ separators; short, long and joined
            // words.
            "Café MÜLLER Straße ÀÉÎÕÜÝÞ àéîõüýþÿ 3×4÷2 Größenwahnsinnigkeiten-\nÜberschrift ÆØÅ ß naïve",
            "über\u{2014}\nall ÉCOLE1916 x\u{c3}\u{97}y",
        ];
        let mut word = Vec::new();
        for opts in [NormalizeOptions::default(), NormalizeOptions { lowercase: false, ..NormalizeOptions::default() }]
        {
            for text in texts {
                let mut ids = Vec::new();
                let chars = ascii_unit_ids(text, &opts, &mut ids, &mut word);
                assert_eq!(chars, Some(text.chars().count() as u32), "{text:?}");
                assert_eq!(ids, general_ids(text, &opts), "{text:?}");
            }
        }
        // Joined words are words of the normalized text.
        let mut ids = Vec::new();
        let opts = NormalizeOptions::default();
        assert!(ascii_unit_ids(texts[0], &opts, &mut ids, &mut word).is_some());
        assert_eq!(ids.iter().filter(|&&id| id == xxh3_64(b"continued")).count(), 4);
        assert_eq!(crate::normalize::hard_wrap_width(texts[8]), Some(12));
        assert_eq!(crate::normalize::hard_wrap_width(texts[11]), Some(10));
        // Not this path: non-ASCII text, or punctuation or whitespace kept.
        for text in [
            "e\u{301}",
            "café\u{301}",
            "\u{2026}",
            "①",
            "Ａ",
            "中",
            "a\u{2014}\u{301}b",
            "😀",
            "ª",
            "µ",
            "½",
            "x²",
            "Ā",
            // Latin-1 letters in a hard-wrapped text.
            "the council \nmet on mönd\nay to discu-\nss the new b\nridge across\nthe river an\nd voted to r",
        ] {
            assert_eq!(ascii_unit_ids(text, &opts, &mut ids, &mut word), None, "{text:?}");
        }
        let keep = NormalizeOptions { strip_punctuation: false, ..opts };
        assert_eq!(ascii_unit_ids("a b", &keep, &mut ids, &mut word), None);
    }
}
