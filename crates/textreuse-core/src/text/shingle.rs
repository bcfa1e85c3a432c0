//! Units and shingles.
//!
//! A **unit** is one Han, kana or Hangul character, or one word of a space-delimited script (a word segment of
//! Unicode Standard Annex #29, via the `unicode-segmentation` crate). A **shingle** is a run of consecutive units
//! (Broder 1997, "On the resemblance and containment of documents"), hashed to 64 bits with seeded XXH3, which is
//! stable across platforms and releases.
//!
//! A word carries more text than a CJK character (five or six characters of English against one), so the length
//! of a shingle depends on the units it starts with ([`Ngram`]): `word_n` units from two words in a row, `n` units
//! otherwise (from a CJK character, or from a word followed by one: a number or a name in Chinese text). With one
//! `n` for both, English shingles of four words break at any OCR error in about 25 characters and noisy English
//! reprints fall below the Jaccard threshold. The rule is local (each window's length depends on its first two
//! units only), so two copies of a text cut the same shingles whatever else they hold.

use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::normalize::{
    ascii_alnum_run_end, decode_at, decode_valid, is_cjk_unit, simplify_in_place, NormalizeOptions, RuleStarts, Step,
};

/// One unit of a normalized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// 64-bit id of the unit's text: equal texts have equal ids.
    pub id: u64,
    /// Start of the unit, in characters (code points) of the normalized text.
    pub start: u32,
    /// End (exclusive), in characters of the normalized text.
    pub end: u32,
}

/// Tag mixed into single-character unit ids so that they never equal the id of a hashed word.
const CHAR_TAG: u64 = 0x9E37_79B9_7F4A_7C15;

/// Whether a unit id is a CJK character's (`char ^ CHAR_TAG`) rather than a word's hash (a word hash passes with
/// probability 2^-43).
#[inline(always)]
fn is_cjk_id(id: u64) -> bool {
    (id ^ CHAR_TAG) < 0x11_0000
}

/// The code point of a single CJK character's unit id, or `None` for the id of a word (a hash): lets storage
/// keep a character's id in a few bytes ([`char_unit_id`] is the inverse).
#[inline]
pub fn unit_char(id: u64) -> Option<u32> {
    is_cjk_id(id).then_some((id ^ CHAR_TAG) as u32)
}

/// The unit id of the single CJK character with code point `c`, as [`units`] gives it (inverse of [`unit_char`]).
#[inline]
pub fn char_unit_id(c: u32) -> u64 {
    u64::from(c) ^ CHAR_TAG
}

/// Shingle lengths: `word_n` units for a shingle that starts with two words, `n` for any other (one that starts
/// with a CJK character, or with a word followed by a CJK character). Both at least 1. `Ngram::uniform(n)` is the
/// classic fixed-length shingle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ngram {
    /// Units per shingle that starts with a CJK character or with a word followed by one.
    pub n: usize,
    /// Units per shingle that starts with two words.
    pub word_n: usize,
}

impl Ngram {
    /// `n` units per shingle whatever unit it starts with.
    pub fn uniform(n: usize) -> Ngram {
        Ngram { n, word_n: n }
    }
}

impl From<usize> for Ngram {
    fn from(n: usize) -> Ngram {
        Ngram::uniform(n)
    }
}

/// Splits a normalized text into units, in order. Characters that are neither CJK units nor part of a word
/// (spaces, punctuation kept by the normalization) produce no unit.
pub fn units(text: &str) -> Vec<Unit> {
    let mut out = Vec::with_capacity(text.len() / 3 + 1);
    for_each_unit(text, |id, start, end| out.push(Unit { id, start, end }));
    out
}

/// Calls `emit(id, start, end)` for every unit of `text`, in order (positions in characters of `text`): what
/// [`units`] collects. A CJK character is a unit; a run of other characters is split into UAX #29 words, by
/// [`ascii_words`] when the run is ASCII.
///
/// A run with non-ASCII characters is cut first at every space that stands between two ASCII letters or digits:
/// UAX #29 puts a word boundary on both sides of such a space, and its rules look no further than the neighbouring
/// characters, which are a space or an end of text on both sides of the cut, so the pieces segment as the run
/// does. A piece of ASCII letters and digits only is one word; any other piece goes to `unicode-segmentation`.
#[inline]
fn for_each_unit(text: &str, mut emit: impl FnMut(u64, u32, u32)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut pos = 0usize; // byte offset
    let mut ci: u32 = 0; // character offset of `pos`
    while pos < n {
        if bytes[pos] >= 0x80 {
            let (c, len) = decode_cjk_unit(bytes, pos);
            if c != u32::MAX {
                emit(u64::from(c) ^ CHAR_TAG, ci, ci + 1);
                pos += len;
                ci += 1;
                continue;
            }
        }
        // Without conversion rules the run never stops.
        (pos, ci) = other_run(text, pos, ci, None, &mut emit).expect("a run without rules");
    }
}

/// The CJK unit ([`is_cjk_unit`]) that starts at byte `pos` of the valid UTF-8 `bytes` and its length in bytes, or
/// `u32::MAX` and the length of the character there when it is none. A CJK Unified Ideograph (U+4E00..U+9FFF:
/// E4 B8 80 to E9 BF BF in UTF-8), the commonest unit, is decoded without the general path.
#[inline(always)]
fn decode_cjk_unit(bytes: &[u8], pos: usize) -> (u32, usize) {
    let b = bytes[pos];
    if is_ideograph_lead(bytes, pos) {
        let u =
            (u32::from(b & 0x0F) << 12) | (u32::from(bytes[pos + 1] & 0x3F) << 6) | u32::from(bytes[pos + 2] & 0x3F);
        (u, 3)
    } else {
        let (c, len) = decode_at(bytes, pos);
        if is_cjk_unit(c) {
            (c as u32, len)
        } else {
            (u32::MAX, len)
        }
    }
}

/// Whether a CJK Unified Ideograph (U+4E00..U+9FFF) starts at byte `pos` of the valid UTF-8 `bytes`, from its first
/// two bytes (`pos + 1` must lie in `bytes` when `bytes[pos]` is not ASCII).
#[inline(always)]
fn is_ideograph_lead(bytes: &[u8], pos: usize) -> bool {
    let b = bytes[pos];
    (0xE5..=0xE9).contains(&b) || (b == 0xE4 && bytes[pos + 1] >= 0xB8)
}

/// Whether the processor has what [`ideograph_block`] needs: AVX-512 F, BW, DQ and VBMI (byte permutes).
#[inline]
fn has_ideograph_blocks() -> bool {
    #[cfg(target_arch = "x86_64")]
    let has = std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vbmi");
    #[cfg(not(target_arch = "x86_64"))]
    let has = false;
    has
}

/// The sixteen three-byte characters at bytes `pos`, `pos + 3`, ... `pos + 45` of `bytes`, decoded at once (lane `i`:
/// the code point of the character at `pos + 3i` when one starts there, else meaningless), the code point at
/// `pos + 48` likewise, and how many characters in a row, from the one at `pos` and at most 17, are CJK Unified
/// Ideographs (U+4E00..U+9FFF, all three bytes long; [`is_ideograph_lead`]). AVX-512 BW classifies the 64 bytes
/// read, VBMI's byte permute puts each character's three bytes in a 32-bit lane.
///
/// # Safety
/// The processor must have AVX-512 F, BW and VBMI ([`has_ideograph_blocks`]); `pos + 64 <= bytes.len()`; `bytes`
/// must be valid UTF-8 with a character starting at `pos`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
#[inline]
unsafe fn ideograph_block(bytes: &[u8], pos: usize) -> (std::arch::x86_64::__m512i, u32, u32) {
    use std::arch::x86_64::*;
    debug_assert!(pos + 64 <= bytes.len());
    // SAFETY: the 64 bytes read lie within `bytes` (the caller's `pos + 64 <= bytes.len()`).
    let v = _mm512_loadu_si512(bytes.as_ptr().add(pos).cast());
    let leads = crate::normalize::ideograph_leads64(v);
    // Bytes 0, 3, ... 48; the first that is no lead ends the run (bit 51 stands for the 18th character).
    const AT_THREES: u64 = 0x0001_2492_4924_9249;
    let run = ((!leads & AT_THREES) | (1 << 51)).trailing_zeros() / 3;
    // Lane i: bytes 3i, 3i + 1, 3i + 2 (and 3i again), little-endian.
    let index = _mm512_set_epi8(
        45, 47, 46, 45, 42, 44, 43, 42, 39, 41, 40, 39, 36, 38, 37, 36, 33, 35, 34, 33, 30, 32, 31, 30, 27, 29, 28, 27,
        24, 26, 25, 24, 21, 23, 22, 21, 18, 20, 19, 18, 15, 17, 16, 15, 12, 14, 13, 12, 9, 11, 10, 9, 6, 8, 7, 6, 3, 5,
        4, 3, 0, 2, 1, 0,
    );
    let w = _mm512_permutexvar_epi8(index, v);
    let low6 = _mm512_set1_epi32(0x3F);
    let cps = _mm512_or_si512(
        _mm512_or_si512(
            _mm512_slli_epi32::<12>(_mm512_and_si512(w, _mm512_set1_epi32(0x0F))),
            _mm512_slli_epi32::<6>(_mm512_and_si512(_mm512_srli_epi32::<8>(w), low6)),
        ),
        _mm512_and_si512(_mm512_srli_epi32::<16>(w), low6),
    );
    let b = &bytes[pos + 48..pos + 51];
    let last = (u32::from(b[0] & 0x0F) << 12) | (u32::from(b[1] & 0x3F) << 6) | u32::from(b[2] & 0x3F);
    (cps, run, last)
}

/// Appends the unit ids of the run of CJK Unified Ideographs that starts at byte `pos` of `bytes`, up to sixteen of
/// them (each ideograph is a unit: `char ^ CHAR_TAG`), and returns how many.
///
/// # Safety
/// As [`ideograph_block`], and the processor must have AVX-512 DQ too.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vbmi")]
unsafe fn push_ideograph_block(bytes: &[u8], pos: usize, ids: &mut Vec<u64>) -> usize {
    let (cps, run, _) = ideograph_block(bytes, pos);
    let k = run.min(16) as usize;
    ids.reserve(16);
    let len = ids.len();
    store_unit_ids16(cps, &mut ids.spare_capacity_mut()[..16]);
    // SAFETY: the first `k` of the 16 slots after `len` were written just above.
    ids.set_len(len + k);
    k
}

/// Writes `char ^ CHAR_TAG` for the sixteen code points of `cps` into `out`.
///
/// # Safety
/// The processor must have AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_unit_ids16(cps: std::arch::x86_64::__m512i, out: &mut [std::mem::MaybeUninit<u64>]) {
    use std::arch::x86_64::*;
    let out = &mut out[..16];
    let tag = _mm512_set1_epi64(CHAR_TAG as i64);
    let low = _mm512_xor_si512(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(cps)), tag);
    let high = _mm512_xor_si512(_mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64::<1>(cps)), tag);
    // SAFETY: `out` holds 16 slots (the slice above).
    _mm512_storeu_si512(out.as_mut_ptr().cast(), low);
    _mm512_storeu_si512(out.as_mut_ptr().add(8).cast(), high);
}

/// The unit ids of [`for_each_unit`] of `text`, appended to `ids` (what [`shingle_set_of_text`] needs): runs of CJK
/// Unified Ideographs go sixteen at a time ([`push_ideograph_block`]) where the processor has AVX-512 with VBMI.
fn unit_ids_into(text: &str, ids: &mut Vec<u64>) {
    unit_ids_with(text, ids, has_ideograph_blocks());
}

/// [`unit_ids_into`], with the blocks of ideographs only when `blocks` is set (which the processor must have then).
fn unit_ids_with(text: &str, ids: &mut Vec<u64>, blocks: bool) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut pos = 0usize;
    while pos < n {
        if bytes[pos] >= 0x80 {
            #[cfg(target_arch = "x86_64")]
            if blocks && pos + 64 <= n && is_ideograph_lead(bytes, pos) {
                // SAFETY: the processor has the features (`blocks`), 64 bytes are left, and `pos` starts a character.
                pos += 3 * unsafe { push_ideograph_block(bytes, pos, ids) };
                continue;
            }
            let (c, len) = decode_cjk_unit(bytes, pos);
            if c != u32::MAX {
                ids.push(u64::from(c) ^ CHAR_TAG);
                pos += len;
                continue;
            }
        }
        // Character positions are not kept: 0 for all (as in `converted_unit_ids`).
        (pos, _) = other_run(text, pos, 0, None, &mut |id, _, _| ids.push(id)).expect("a run without rules");
    }
    let _ = blocks;
}

/// The unit ids of [`for_each_unit`] of `text` converted to simplified script (step 5 of [`crate::normalize`]),
/// appended to `ids`, without building the converted text: the walk over the conversion rules of
/// `normalize::convert_rules` runs at each CJK character, and a rule's target gives its units in place of its source.
///
/// This takes the rules whose source and target are CJK units only and as long as each other (`Rule::simple`):
/// they change CJK characters into as many CJK characters, so the runs of other characters, hence their words,
/// are those of `text`. At any other rule, or where a rule may begin inside a run of other characters, the walk
/// stops and returns `false` (the ids appended are then to be discarded); else it returns `true`. A rule may
/// begin at a non-ASCII character of such a run (`RuleStarts::may_begin`), or at one of the last
/// `RuleStarts::ascii_prefix` ASCII characters before a non-ASCII one, since no source is ASCII only (`16進位`).
/// Runs of CJK Unified Ideographs, most of Chinese text, take [`ideograph_run`].
fn converted_unit_ids(text: &str, ids: &mut Vec<u64>) -> bool {
    converted_unit_ids_with(text, ids, has_ideograph_blocks())
}

/// [`converted_unit_ids`], with the blocks of ideographs only when `blocks` is set (which the processor must have
/// then).
fn converted_unit_ids_with(text: &str, ids: &mut Vec<u64>, blocks: bool) -> bool {
    let r = crate::normalize::rule_starts();
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut pos = 0usize; // byte offset
    while pos < n {
        if bytes[pos] >= 0x80 {
            if is_ideograph_lead(bytes, pos) {
                match ideograph_run(text, pos, r, ids, blocks) {
                    Some(end) => pos = end,
                    None => return false,
                }
                continue;
            }
            let (c, len) = decode_cjk_unit(bytes, pos);
            if c != u32::MAX {
                let unit = if r.may_begin(c) {
                    let next = pos + len;
                    let d = if next < n { decode_valid(bytes, next).0 } else { 0 };
                    match r.step_at(c, d, &text[pos..]) {
                        Step::Copy => c,
                        Step::One(t) => t,
                        Step::Rule(rule) => {
                            if !rule.simple {
                                return false;
                            }
                            ids.extend(rule.units.iter().map(|&u| u64::from(u) ^ CHAR_TAG));
                            pos += rule.source.len();
                            continue;
                        }
                    }
                } else {
                    c
                };
                ids.push(u64::from(unit) ^ CHAR_TAG);
                pos += len;
                continue;
            }
        }
        // Character positions are not kept: 0 for all.
        match other_run(text, pos, 0, Some(r), &mut |id, _, _| ids.push(id)) {
            Some((end, _)) => pos = end,
            None => return false,
        }
    }
    true
}

/// The run of CJK Unified Ideographs that starts at byte `pos` of `text`, converted as [`converted_unit_ids`]
/// converts it: its unit ids appended to `ids`; returns the byte offset where the walk goes on (the end of the run,
/// or the end of a rule's source), or `None` where the walk stops (a rule that is not simple).
///
/// One look-up per character ([`RuleStarts::ideograph_step`]: its own simple rule, and whether a longer source may
/// begin with it and the next character) settles almost every character; the rest take [`RuleStarts::step_at`].
/// Each character is decoded once, as the next character of the one before; ids are written through a local index
/// into space reserved first (a run of `k` bytes has at most `k / 3` units, and a simple rule's source has as many
/// characters as its target, each of three bytes or more).
#[inline(always)]
fn ideograph_run(text: &str, mut pos: usize, r: &RuleStarts, ids: &mut Vec<u64>, blocks: bool) -> Option<usize> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    ids.reserve((n - pos) / 3 + 1);
    let len0 = ids.len();
    let spare = ids.spare_capacity_mut();
    let mut k = 0usize;
    let mut c = decode_cjk_unit(bytes, pos).0;
    let stopped = loop {
        #[cfg(target_arch = "x86_64")]
        if blocks && pos + 64 <= n {
            // Sixteen characters at a time while each is settled by one look-up (`converted_ideograph_block`);
            // the first that is not goes on below. The block writes 16 slots: the run's reservation holds them
            // (at least (n - pos) / 3 ≥ 21 slots are left past `k`).
            // SAFETY: the processor has the features (`blocks`), 64 bytes are left, an ideograph starts at `pos`.
            let done = unsafe { converted_ideograph_block(bytes, pos, r, &mut spare[k..k + 16]) };
            // A whole block moves on by a constant: the branch is predicted and the next block's loads start
            // before this block's look-ups are back (a position computed from `done` made each block wait).
            if done == 16 {
                (k, pos) = (k + 16, pos + 48);
                c = decode_cjk_unit(bytes, pos).0;
                continue;
            }
            if done > 0 {
                k += done;
                pos += 3 * done;
                c = decode_cjk_unit(bytes, pos).0;
            }
        }
        let next = pos + 3;
        let d = if next < n { decode_valid(bytes, next).0 } else { 0 };
        match r.ideograph_step(c, d) {
            Some(u) => {
                spare[k].write(u64::from(u) ^ CHAR_TAG);
                k += 1;
            }
            None => match r.step_at(c, d, &text[pos..]) {
                Step::Copy => {
                    spare[k].write(u64::from(c) ^ CHAR_TAG);
                    k += 1;
                }
                Step::One(t) => {
                    spare[k].write(u64::from(t) ^ CHAR_TAG);
                    k += 1;
                }
                Step::Rule(rule) => {
                    if !rule.simple {
                        break true;
                    }
                    for &u in rule.units.iter() {
                        spare[k].write(u64::from(u) ^ CHAR_TAG);
                        k += 1;
                    }
                    pos += rule.source.len();
                    break false;
                }
            },
        }
        pos = next;
        if !(0x4E00..0xA000).contains(&d) {
            break false;
        }
        c = d;
    };
    // SAFETY: the first `k` slots of the spare capacity were written above.
    unsafe { ids.set_len(len0 + k) };
    let _ = blocks;
    (!stopped).then_some(pos)
}

/// The start of [`ideograph_run`]'s walk over the run of CJK Unified Ideographs at byte `pos` of `bytes`, sixteen
/// characters at once: the units of the characters, from the one at `pos`, that one look-up settles
/// ([`RuleStarts::ideograph_steps16`]) and that an ideograph follows, written to `out`; returns how many (0 to 16).
/// The first character it leaves (a conversion rule may begin there, or the run ends after it) is the caller's.
///
/// # Safety
/// As [`ideograph_block`] (an ideograph starts at `pos`), and the processor must have AVX-512 DQ too.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vbmi")]
unsafe fn converted_ideograph_block(
    bytes: &[u8],
    pos: usize,
    r: &RuleStarts,
    out: &mut [std::mem::MaybeUninit<u64>],
) -> usize {
    use std::arch::x86_64::*;
    let (cps, run, last) = ideograph_block(bytes, pos);
    // A character is taken when the next one is an ideograph too (the walk's `d`; the run's last character is the
    // caller's, which ends the run).
    let lanes = run.saturating_sub(1).min(16);
    if lanes == 0 {
        return 0;
    }
    let valid = ((1u32 << lanes) - 1) as u16;
    let next = _mm512_alignr_epi32::<1>(_mm512_set1_epi32(last as i32), cps);
    let (units, slow) = r.ideograph_steps16(cps, next, valid);
    let k = (u32::from(slow) | (1 << lanes)).trailing_zeros() as usize;
    store_unit_ids16(units, out);
    k
}

/// The run of non-CJK text that starts at byte `pos` (character `ci`) of `text`, up to the next CJK unit: its words
/// ([`ascii_words`], [`mixed_words`]) go to `emit`; returns the byte and character offsets where it ends. With
/// `rules` (the conversion walk), `None` where a conversion rule may begin inside the run.
#[inline(always)]
fn other_run(
    text: &str,
    mut pos: usize,
    mut ci: u32,
    rules: Option<&RuleStarts>,
    emit: &mut impl FnMut(u64, u32, u32),
) -> Option<(usize, u32)> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let (run_start, run_ci) = (pos, ci);
    let mut ascii = true;
    while pos < n {
        if bytes[pos] < 0x80 {
            // ASCII goes by 32 bytes, then eight, at a time while no byte has its top bit set.
            let r64 = |p: usize| u64::from_le_bytes(bytes[p..p + 8].try_into().expect("8 bytes"));
            while pos + 32 <= n {
                if (r64(pos) | r64(pos + 8) | r64(pos + 16) | r64(pos + 24)) & 0x8080_8080_8080_8080 != 0 {
                    break;
                }
                pos += 32;
                ci += 32;
            }
            while pos + 8 <= n {
                let w = u64::from_le_bytes(bytes[pos..pos + 8].try_into().expect("8 bytes"));
                if w & 0x8080_8080_8080_8080 != 0 {
                    break;
                }
                pos += 8;
                ci += 8;
            }
            while pos < n && bytes[pos] < 0x80 {
                pos += 1;
                ci += 1;
            }
            continue;
        }
        let (d, len) = decode_at(bytes, pos);
        if let Some(r) = rules {
            // A source that begins with ASCII characters goes on with this character.
            let mut p = pos;
            while p > run_start && pos - p < r.ascii_prefix && bytes[p - 1] < 0x80 {
                p -= 1;
                let (next, _) = decode_valid(bytes, p + 1);
                if r.rule_at(u32::from(bytes[p]), next, &text[p..]).is_some() {
                    return None;
                }
            }
        }
        if is_cjk_unit(d) {
            break;
        }
        if let Some(r) = rules {
            if r.may_begin(d as u32) {
                return None;
            }
        }
        ascii = false;
        pos += len;
        ci += 1;
    }
    let run = &text[run_start..pos];
    if ascii {
        ascii_words(run, run_ci, emit);
    } else {
        mixed_words(run, run_ci, emit);
    }
    Some((pos, ci))
}

/// The UAX #29 words of a run with non-ASCII characters starting at character `base` (see [`for_each_unit`]).
/// A piece of ASCII letters and digits only is found with one scan ([`ascii_alnum_run_end`]) and checked to end at a
/// cut; any other piece is scanned to its end and segmented.
fn mixed_words(run: &str, base: u32, emit: &mut impl FnMut(u64, u32, u32)) {
    let b = run.as_bytes();
    let is_cut = |k: usize| {
        k == b.len()
            || (b[k] == b' '
                && k > 0
                && k + 1 < b.len()
                && ASCII_ALNUM[b[k - 1] as usize]
                && ASCII_ALNUM[b[k + 1] as usize])
    };
    let mut k = 0usize; // byte offset of the piece
    let mut ci = base; // its character offset
    while k < b.len() {
        let e = ascii_alnum_run_end(b, k);
        if e > k && is_cut(e) {
            // Letters and digits up to a cut: one word.
            let len = (e - k) as u32;
            emit(xxh3_64(&b[k..e]), ci, ci + len);
            ci += len;
            k = e;
        } else {
            let piece_ci = ci;
            let mut j = k;
            while !is_cut(j) {
                if (b[j] as i8) >= -0x40 {
                    ci += 1;
                }
                j += 1;
            }
            let piece = &run[k..j];
            let mut byte_cursor = 0usize;
            let mut char_cursor = piece_ci;
            for (bi, w) in piece.unicode_word_indices() {
                char_cursor += piece[byte_cursor..bi].chars().count() as u32;
                let len = w.chars().count() as u32;
                emit(xxh3_64(w.as_bytes()), char_cursor, char_cursor + len);
                char_cursor += len;
                byte_cursor = bi + w.len();
            }
            k = j;
        }
        // Past the space of the cut.
        k += 1;
        ci += 1;
    }
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

/// Fast path for ASCII runs: words are maximal runs of ASCII letters and digits, with the apostrophes and
/// periods UAX #29 keeps inside words (`don't`, `3.14`): an apostrophe between a letter or digit and another, a
/// period or comma between two digits. Runs of [`SHORT_ASCII_RUN`] bytes or more take [`ascii_words_by_masks`],
/// shorter ones (digits or a Latin name between CJK characters) [`ascii_words_by_byte`].
#[inline(always)]
fn ascii_words(run: &str, base: u32, emit: &mut impl FnMut(u64, u32, u32)) {
    if run.len() < SHORT_ASCII_RUN {
        ascii_words_by_byte(run, base, emit);
    } else {
        ascii_words_by_masks(run, base, emit);
    }
}

/// [`ascii_words`] 64 bytes at a time: a bit mask of the run's letters and digits and one of its joiners (`'`, `.`,
/// `,`) (`ascii::ascii_bits64`); a joiner with a letter or digit on both sides is checked byte by byte (rare), and
/// the words are the runs of set bits of the two masks' union, found with `trailing_zeros`. Where the walk byte by
/// byte took a branch at every byte of a separator and mispredicted at every word's start, this takes one per word.
/// A word of at most 16 bytes is hashed in place by XXH3's short paths (`ascii::short_word_id`).
fn ascii_words_by_masks(run: &str, base: u32, emit: &mut impl FnMut(u64, u32, u32)) {
    let b = run.as_bytes();
    ascii_word_spans(b, |s, e| emit(ascii_word_id(b, s, e), base + s as u32, base + e as u32));
}

/// The words of [`ascii_words_by_masks`] of the ASCII bytes `b`, as byte ranges `s..e` given to `emit_word` in order.
#[inline(always)]
fn ascii_word_spans(b: &[u8], mut emit_word: impl FnMut(usize, usize)) {
    let n = b.len();
    // Bit 63 of the previous block's letters and digits, and of its words' bytes.
    let (mut prev_alnum, mut prev_word) = (0u64, 0u64);
    // Where the word still open at the block's start began.
    let mut open: Option<usize> = None;
    let mut at = 0usize;
    while at < n {
        let (alnum, joiner) = crate::text::ascii::ascii_bits64::<true>(b, at);
        let next_alnum = u64::from(at + 64 < n && ASCII_ALNUM[b[at + 64] as usize]);
        let before = (alnum << 1) | prev_alnum;
        let after = (alnum >> 1) | (next_alnum << 63);
        let mut joins = joiner & before & after;
        if joins != 0 {
            // Periods and commas join digits only.
            let mut check = joins;
            while check != 0 {
                let p = at + check.trailing_zeros() as usize;
                check &= check - 1;
                if b[p] != b'\'' && !(b[p - 1].is_ascii_digit() && b[p + 1].is_ascii_digit()) {
                    joins &= !(1u64 << (p - at));
                }
            }
        }
        let word = alnum | joins;
        let shifted = (word << 1) | prev_word;
        let mut starts = word & !shifted;
        // Bit k: byte k ends a word (it is no word byte and the one before it is); bits past the end are clear, so
        // a word that ends the text within the block ends at the text's end.
        let mut ends = !word & shifted;
        if let Some(s) = open {
            if ends == 0 {
                // The word goes on through the whole block.
                prev_alnum = alnum >> 63;
                prev_word = word >> 63;
                at += 64;
                continue;
            }
            emit_word(s, at + ends.trailing_zeros() as usize);
            ends &= ends - 1;
            open = None;
        }
        while starts != 0 {
            let s = at + starts.trailing_zeros() as usize;
            starts &= starts - 1;
            if ends == 0 {
                open = Some(s);
                break;
            }
            emit_word(s, at + ends.trailing_zeros() as usize);
            ends &= ends - 1;
        }
        prev_alnum = alnum >> 63;
        prev_word = word >> 63;
        at += 64;
    }
    if let Some(s) = open {
        emit_word(s, n);
    }
}

/// XXH3 of the word `b[s..e]` (`s < e`): in place by XXH3's short paths up to 16 bytes (`ascii::short_word_id`).
#[inline(always)]
fn ascii_word_id(b: &[u8], s: usize, e: usize) -> u64 {
    if e - s <= 16 {
        crate::text::ascii::short_word_id(b, s, e, 0)
    } else {
        long_word_id(&b[s..e])
    }
}

/// XXH3 of a word of over 16 bytes (rare in prose), out of line: XXH3 of any length inlined made the closures
/// that take each word too large to be inlined themselves, a call at every word.
#[cold]
#[inline(never)]
fn long_word_id(word: &[u8]) -> u64 {
    xxh3_64(word)
}

/// ASCII runs shorter than this (in bytes) are walked byte by byte ([`ascii_words_by_byte`]).
const SHORT_ASCII_RUN: usize = 16;

/// [`ascii_words`] a byte at a time: what short runs take, and the reference [`ascii_words_by_masks`]'s test
/// compares it with.
fn ascii_words_by_byte(run: &str, base: u32, emit: &mut impl FnMut(u64, u32, u32)) {
    let b = run.as_bytes();
    let mut k = 0;
    while k < b.len() {
        if !ASCII_ALNUM[b[k] as usize] {
            k += 1;
            continue;
        }
        let s = k;
        loop {
            k = ascii_alnum_run_end(b, k);
            // An apostrophe between a letter or digit and another, or a period or comma between two digits,
            // stays inside the word.
            let joins = k + 1 < b.len()
                && ASCII_ALNUM[b[k + 1] as usize]
                && (b[k] == b'\''
                    || ((b[k] == b'.' || b[k] == b',') && b[k - 1].is_ascii_digit() && b[k + 1].is_ascii_digit()));
            if !joins {
                break;
            }
            k += 1;
        }
        emit(xxh3_64(&b[s..k]), base + s as u32, base + k as u32);
    }
}

/// The set of shingle hashes of a unit sequence: every window of consecutive units (`n.word_n` of them from two
/// words in a row, else `n.n`; a plain `usize` is both), hashed with `seed`, sorted and de-duplicated. A
/// text too short for any window (but with at least one unit) yields one shingle of all its units, so short texts
/// still compare. Lengths must be at least 1.
pub fn shingle_set(units: &[Unit], n: impl Into<Ngram>, seed: u64) -> Vec<u64> {
    let mut hs = sort_hashes(&shingle_hashes(units, n, seed), &mut Vec::new(), &mut Vec::new());
    crate::sort::dedup_sorted(&mut hs);
    hs
}

/// The verification set of a shingle set: the top 32 bits of each value of `set` (sorted, distinct 64-bit shingle
/// hashes, as [`shingle_set`] gives), de-duplicated. Sorted, since the top bits of sorted values never decrease.
///
/// Verification (exact Jaccard similarity and containment of two documents' sets) runs on these 32-bit values, as
/// datasketch's and text-dedup's MinHash run on 32-bit hashes: half the memory and twice the values per vector
/// comparison of 64-bit ones. The price is hash collisions: two distinct shingles share a value with probability
/// 2^-32, so sets of `n` and `m` shingles gain about `n·m / 2^32` false common values (0.002 for two documents of
/// 3,000 shingles) and a set of `n` loses about `n² / 2^33` values to collisions within it. On this project's 1 GB
/// scale corpus, 29 of 268,415 duplicate pairs changed in the fourth decimal of their Jaccard similarity and no
/// cluster changed; on zh-dev nothing changed.
///
/// ```
/// use textreuse_core::text::shingle::narrow_set;
/// assert_eq!(narrow_set(&[1, 2 << 32, (2 << 32) | 5, 7 << 32]), vec![0, 2, 7]);
/// ```
pub fn narrow_set(set: &[u64]) -> Vec<u32> {
    let mut out = Vec::with_capacity(set.len());
    #[cfg(target_arch = "x86_64")]
    if set.len() >= 16 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the processor has AVX-512F (checked just above).
        unsafe { narrow_set_avx512(set, &mut out) };
        return out;
    }
    narrow_into(set, None, &mut out);
    out
}

/// [`narrow_set`] of `set` appended to `out`, one value at a time; `last` is the top half pushed last, if any.
fn narrow_into(set: &[u64], mut last: Option<u32>, out: &mut Vec<u32>) {
    for &v in set {
        let top = (v >> 32) as u32;
        if last != Some(top) {
            out.push(top);
            last = Some(top);
        }
    }
}

/// [`narrow_set`] with AVX-512F, eight values at a time (as `sort::dedup_sorted` removes repeats): the top halves
/// of a block are compared with those of the values before them, the distinct ones compressed together, narrowed
/// to 32 bits and stored at once, where the loop branched and checked the capacity at every value. `out` is empty
/// with room for `set.len()` values.
///
/// # Safety
/// The processor must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn narrow_set_avx512(set: &[u64], out: &mut Vec<u32>) {
    use std::arch::x86_64::*;
    debug_assert!(out.is_empty() && out.capacity() >= set.len());
    let n = set.len();
    let p = out.as_mut_ptr();
    // Top halves (in 64-bit lanes) before the first block: a last lane that differs from the first value's.
    let mut before = _mm512_set1_epi64(((set[0] >> 32) ^ 1) as i64);
    let (mut i, mut w) = (0usize, 0usize);
    while i + 8 <= n {
        // SAFETY: values `i..i + 8` lie within `set`.
        let tops = _mm512_srli_epi64::<32>(unsafe { _mm512_loadu_si512(set.as_ptr().add(i).cast()) });
        let keep = _mm512_cmpneq_epu64_mask(tops, _mm512_alignr_epi64::<7>(tops, before));
        let kept = _mm512_cvtepi64_epi32(_mm512_maskz_compress_epi64(keep, tops));
        // SAFETY: `w <= i`, so the eight values stored at `w` end at or before `i + 8 <= n <= out.capacity()`.
        unsafe { _mm256_storeu_si256(p.add(w).cast(), kept) };
        w += keep.count_ones() as usize;
        before = tops;
        i += 8;
    }
    // SAFETY: the first `w` values were written (the kept top halves), `w <= n <= out.capacity()`.
    unsafe { out.set_len(w) };
    let last = (w > 0).then(|| out[w - 1]);
    narrow_into(&set[i..], last, out);
}

/// The shingle hashes of a unit sequence in text order (one per window; see [`shingle_set`]).
pub fn shingle_hashes(units: &[Unit], n: impl Into<Ngram>, seed: u64) -> Vec<u64> {
    let ids: Vec<u64> = units.iter().map(|u| u.id).collect();
    let mut out = Vec::new();
    window_hashes_into(&ids, n.into(), seed, &mut out);
    out
}

/// Working memory of [`shingle_set_of_text`] and [`shingle_set_of_unconverted`], reused from one document to the
/// next.
#[derive(Debug, Default, Clone)]
pub struct ShingleBuffers {
    /// Unit ids.
    ids: Vec<u64>,
    /// The text, converted, where the fused walk stops ([`shingle_set_of_unconverted`]), and working space.
    converted: (String, String),
    /// Shingle hashes before sorting.
    hashes: Vec<u64>,
    /// Digit counts of the sort.
    counts: Vec<u32>,
    /// The sort's values ordered by their low digit.
    sorting: Vec<u64>,
    /// Working memory of the all-ASCII path ([`crate::text::ascii`]).
    ascii_words: crate::text::ascii::WordScratch,
}

impl ShingleBuffers {
    /// Puts in the buffers the unit ids of `text` normalized with `opts` and returns the length of `text` in code
    /// points, when `opts` strips punctuation and whitespace and `text` is ASCII but for separators and Latin-1
    /// letters ([`crate::text::ascii`]): then [`ShingleBuffers::shingle_set`] gives `shingle_set_of_text` of the
    /// normalized text. Returns `None` otherwise.
    pub(crate) fn ascii_units(&mut self, text: &str, opts: &NormalizeOptions) -> Option<u32> {
        self.ids.clear();
        crate::text::ascii::ascii_unit_ids(text, opts, &mut self.ids, &mut self.ascii_words)
    }

    /// Bytes held by the unit ids, the shingle hashes and the all-ASCII path's word places.
    pub(crate) fn capacity(&self) -> usize {
        8 * (self.ids.capacity() + self.hashes.capacity() + self.sorting.capacity()) + self.ascii_words.capacity()
    }

    /// The shingle set of the unit ids in the buffers (after [`ShingleBuffers::ascii_units`]). They are words, so
    /// every window is `n.word_n` units long: when no word's hash passes for a CJK character's id (one count over
    /// the ids, vectorized: [`window_hashes_into`]), the windows of one length are cut without a look at each unit's
    /// kind.
    pub(crate) fn shingle_set(&mut self, n: Ngram, seed: u64) -> Vec<u64> {
        set_of_ids(n, seed, self)
    }
}

/// The shingle set of a normalized text: equal to `shingle_set(&units(text), n, seed)`, computed in one pass
/// without building the units. Passing the same `buf` for every document saves allocations.
/// `n` is a [`Ngram`] or a `usize` (the same length from any unit).
///
/// ```
/// use textreuse_core::text::shingle::{shingle_set, shingle_set_of_text, units, ShingleBuffers};
/// let text = "图书馆 met putin 2025年";
/// assert_eq!(shingle_set_of_text(text, 4, 7, &mut ShingleBuffers::default()), shingle_set(&units(text), 4, 7));
/// ```
pub fn shingle_set_of_text(text: &str, n: impl Into<Ngram>, seed: u64, buf: &mut ShingleBuffers) -> Vec<u64> {
    let ids = &mut buf.ids;
    ids.clear();
    // A unit takes about two bytes or more with what separates it from the next one (a CJK character three), so
    // pushes rarely reallocate.
    ids.reserve(text.len() / 2 + 1);
    if !ascii_text_unit_ids(text, ids, &mut buf.ascii_words) {
        unit_ids_into(text, ids);
    }
    set_of_ids(n.into(), seed, buf)
}

/// Appends to `ids` the unit ids of `text` ([`unit_ids_into`]) and returns `true` when `text` is all ASCII (and of
/// 64 bytes to 4 GiB): its words ([`ascii_word_spans`]) hashed all at once at the end
/// ([`crate::text::ascii::WaitingWords`]). Else returns `false`, `ids` left as they were.
fn ascii_text_unit_ids(text: &str, ids: &mut Vec<u64>, scratch: &mut crate::text::ascii::WordScratch) -> bool {
    let b = text.as_bytes();
    if b.len() < 64 || u32::try_from(b.len()).is_err() || !b.is_ascii() {
        return false;
    }
    let mut words = crate::text::ascii::WaitingWords::new(b, ids, scratch);
    ascii_word_spans(b, |s, e| words.push(s, e));
    words.finish();
    true
}

/// The shingle set of `buf.ids`.
fn set_of_ids(n: Ngram, seed: u64, buf: &mut ShingleBuffers) -> Vec<u64> {
    buf.hashes.clear();
    window_hashes_into(&buf.ids, n, seed, &mut buf.hashes);
    let mut set = sort_hashes(&buf.hashes, &mut buf.counts, &mut buf.sorting);
    crate::sort::dedup_sorted(&mut set);
    set
}

/// The shingle set of the text normalized with `opts`: `normalized` must be what
/// [`crate::normalize::normalize_unconverted_into`] gives for it (every step but the script conversion). Equal to
/// [`shingle_set_of_text`] of the fully normalized text ([`crate::normalize::normalize_text_into`]); when
/// `opts.traditional_to_simplified` is set, the conversion runs while units are cut, without building the
/// converted text (see `converted_unit_ids`), except where a rule changes the text's length or touches other than
/// CJK characters: then the text is converted first. `n_chars` is the length of `normalized` in code points.
///
/// ```
/// use textreuse_core::normalize::{normalize_text_into, normalize_unconverted_into, NormalizeOptions};
/// use textreuse_core::text::shingle::{shingle_set_of_text, shingle_set_of_unconverted, ShingleBuffers};
/// let (text, opts) = ("市長同\n校長會談，Putin met Xi。", NormalizeOptions::default());
/// let (mut full, mut part, mut buf) = (String::new(), String::new(), ShingleBuffers::default());
/// normalize_text_into(text, &opts, &mut full, &mut String::new());
/// let (_, n_chars) = normalize_unconverted_into(text, &opts, &mut part);
/// assert_eq!(
///     shingle_set_of_unconverted(&part, n_chars, &opts, 4, 7, &mut buf),
///     shingle_set_of_text(&full, 4, 7, &mut buf)
/// );
/// ```
pub fn shingle_set_of_unconverted(
    normalized: &str,
    n_chars: usize,
    opts: &NormalizeOptions,
    n: impl Into<Ngram>,
    seed: u64,
    buf: &mut ShingleBuffers,
) -> Vec<u64> {
    if !opts.traditional_to_simplified {
        return shingle_set_of_text(normalized, n, seed, buf);
    }
    let ids = &mut buf.ids;
    ids.clear();
    ids.reserve(normalized.len() / 2 + 1);
    // An all-ASCII text needs no conversion (no rule's source is ASCII only).
    if !ascii_text_unit_ids(normalized, ids, &mut buf.ascii_words) && !converted_unit_ids(normalized, ids) {
        let (converted, scratch) = &mut buf.converted;
        converted.clear();
        converted.push_str(normalized);
        simplify_in_place(converted, n_chars, scratch);
        ids.clear();
        unit_ids_into(converted, ids);
    }
    set_of_ids(n.into(), seed, buf)
}

/// `hashes`, sorted ([`crate::sort::sorted_hashes`]: shingle hashes are uniformly distributed). `counts` and
/// `tmp` are working memory.
fn sort_hashes(hashes: &[u64], counts: &mut Vec<u32>, tmp: &mut Vec<u64>) -> Vec<u64> {
    crate::sort::sorted_hashes(hashes, counts, tmp)
}

/// The hash of every window of consecutive unit ids: seeded XXH3 of the window's ids as consecutive little-endian
/// bytes; a window is `n.word_n` units from two words in a row and `n.n` otherwise, and windows that would run past
/// the end are not cut. When no window fits, one hash of all the units (if any).
fn window_hashes_into(ids: &[u64], n: Ngram, seed: u64, out: &mut Vec<u64>) {
    assert!(n.n >= 1 && n.word_n >= 1, "ngram size must be at least 1");
    let m = ids.len();
    if m == 0 {
        return;
    }
    let h = WindowHasher::new(seed);
    if n.n == n.word_n {
        let n = n.n.min(m);
        out.reserve(m - n + 1);
        // The usual lengths get a loop of their own, where the hash of a fixed length compiles to straight code.
        match n {
            2 => pair_hashes(ids, &h, out),
            4 => quad_hashes(ids, &h, out),
            5 => out.extend(ids.windows(5).map(|w| h.hash(&w[..5]))),
            _ => out.extend(ids.windows(n).map(|w| h.hash(w))),
        }
        return;
    }
    let words = word_count(ids);
    if words == m {
        // Words only (no CJK character), as in English text: every window is `n.word_n` units, cut without a look at
        // each unit's kind.
        window_hashes_into(ids, Ngram::uniform(n.word_n), seed, out);
        return;
    }
    let before = out.len();
    match (n.n, n.word_n) {
        (4, 2) if m >= 4 && 2 * (m - words) >= m => {
            // Mostly CJK characters: every window of four hashed at once, then the few windows from two words in a
            // row put in their place. Before the last three ids each position gives exactly one window (from
            // two words, else from a CJK character: `mixed_windows`), so the windows of four stay in place.
            quad_hashes(ids, &h, out);
            let cjk_tail = m - 3;
            for_each_word_pair(ids, |k| {
                if k < cjk_tail {
                    out[before + k] = h.hash(&ids[k..k + 2]);
                } else {
                    out.push(h.hash(&ids[k..k + 2]));
                }
            });
        }
        (4, 2) => mixed_windows(ids, 4, 2, |w| h.hash(&w[..4]), |w| h.hash(&w[..2]), out),
        _ => mixed_windows(ids, n.n, n.word_n, |w| h.hash(w), |w| h.hash(w), out),
    }
    if out.len() == before {
        out.push(h.hash(ids));
    }
}

/// Bit `k` set when `ids[at + k]` is a word's id (no CJK character's, [`is_cjk_id`]), for the 64 ids from `at`
/// (bits past the end of `ids` clear): eight ids a comparison with AVX-512 where the processor has it.
#[inline(always)]
fn word_bits64(ids: &[u64], at: usize, avx512: bool) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if avx512 && at + 64 <= ids.len() {
        // SAFETY: the processor has AVX-512F (the caller's `avx512`), and the 64 ids read lie within `ids`.
        return unsafe { word_bits64_avx512(ids, at) };
    }
    let _ = avx512;
    let mut bits = 0u64;
    for (k, &id) in ids[at..ids.len().min(at + 64)].iter().enumerate() {
        bits |= u64::from(!is_cjk_id(id)) << k;
    }
    bits
}

/// [`word_bits64`] of 64 ids with AVX-512F.
///
/// # Safety
/// The processor must have AVX-512F, and `at + 64 <= ids.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn word_bits64_avx512(ids: &[u64], at: usize) -> u64 {
    use std::arch::x86_64::*;
    let (tag, first_word) = (_mm512_set1_epi64(CHAR_TAG as i64), _mm512_set1_epi64(0x11_0000));
    let mut bits = 0u64;
    for j in 0..8 {
        // SAFETY: ids `at + 8j .. at + 8j + 8` lie within `ids` (the caller's `at + 64 <= ids.len()`).
        let v = _mm512_loadu_si512(ids.as_ptr().add(at + 8 * j).cast());
        let word = _mm512_cmpge_epu64_mask(_mm512_xor_si512(v, tag), first_word);
        bits |= u64::from(word) << (8 * j);
    }
    bits
}

/// Whether the processor has AVX-512F, for [`word_bits64`].
#[inline]
fn has_avx512f() -> bool {
    #[cfg(target_arch = "x86_64")]
    let has = std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    let has = false;
    has
}

/// The number of words' ids among `ids` (the others are CJK characters').
fn word_count(ids: &[u64]) -> usize {
    let avx512 = has_avx512f();
    (0..ids.len()).step_by(64).map(|at| word_bits64(ids, at, avx512).count_ones() as usize).sum()
}

/// Calls `f(k)`, `k` increasing, for every `k` where `ids[k]` and `ids[k + 1]` are both words' ids: 64 ids at a time
/// ([`word_bits64`]), where Chinese text has few words.
fn for_each_word_pair(ids: &[u64], mut f: impl FnMut(usize)) {
    let avx512 = has_avx512f();
    let mut bits = if ids.is_empty() { 0 } else { word_bits64(ids, 0, avx512) };
    for at in (0..ids.len()).step_by(64) {
        let next = if at + 64 < ids.len() { word_bits64(ids, at + 64, avx512) } else { 0 };
        // Bit k: words at k and k + 1 (the id after the block's last is the next block's first).
        let mut pairs = bits & ((bits >> 1) | (next << 63));
        while pairs != 0 {
            f(at + pairs.trailing_zeros() as usize);
            pairs &= pairs - 1;
        }
        bits = next;
    }
}

/// The hash of every run of `n` consecutive ids (at least 1) in order, `ids.len() + 1 - n` of them (none when `ids`
/// is shorter than `n`): seeded XXH3 of the run's ids as consecutive little-endian bytes, the same value as
/// `xxh3_64_with_seed` of those bytes, without copying them.
///
/// ```
/// use textreuse_core::text::shingle::id_window_hashes;
/// let ids = [7u64, 8, 9];
/// let bytes: Vec<u8> = ids[1..].iter().flat_map(|v| v.to_le_bytes()).collect();
/// assert_eq!(id_window_hashes(&ids, 2, 5)[1], xxhash_rust::xxh3::xxh3_64_with_seed(&bytes, 5));
/// ```
pub fn id_window_hashes(ids: &[u64], n: usize, seed: u64) -> Vec<u64> {
    assert!(n >= 1, "ngram size must be at least 1");
    if ids.len() < n {
        return Vec::new();
    }
    let mut out = Vec::new();
    window_hashes_into(ids, Ngram::uniform(n), seed, &mut out);
    out
}

/// The windows of [`window_hashes_into`] when the two lengths differ: `hash_n` hashes a window of `n` units,
/// `hash_word` one of `word_n` units.
#[inline(always)]
fn mixed_windows(
    ids: &[u64],
    n: usize,
    word_n: usize,
    hash_n: impl Fn(&[u64]) -> u64,
    hash_word: impl Fn(&[u64]) -> u64,
    out: &mut Vec<u64>,
) {
    let m = ids.len();
    // Windows from a CJK character start before `cjk_tail`, windows from two words before `word_tail`.
    let cjk_tail = if n > m { 0 } else { m + 1 - n };
    let word_tail = if word_n > m { 0 } else { m + 1 - word_n };
    let cjk_at = |k: usize| k < m && is_cjk_id(ids[k]);
    out.reserve(cjk_tail.max(word_tail));
    for k in 0..cjk_tail.max(word_tail) {
        // A word among CJK characters (a number, a name in Chinese text) starts a CJK-length window.
        let words = !cjk_at(k) && !cjk_at(k + 1);
        if words {
            if k < word_tail {
                out.push(hash_word(&ids[k..k + word_n]));
            }
        } else if k < cjk_tail {
            out.push(hash_n(&ids[k..k + n]));
        }
    }
}

/// XXH3-64 with a seed (the `xxhash-rust` crate's `xxh3_64_with_seed`) of a run of unit ids taken as their
/// little-endian bytes, computed from the ids themselves for runs of 1 to 16 ids (8 to 128 bytes, XXH3's short
/// input paths), and by the crate beyond. The seed is folded into the secret once per hasher rather than once per
/// hash. A unit test checks every length against the crate.
struct WindowHasher {
    seed: u64,
    /// Pairs of secret words for 16-byte blocks: `secret[2i] + seed`, `secret[2i+1] - seed` (XXH3's `mix16B`).
    keys: [u64; 16],
    /// The 8-byte path's key: `(secret[1] ^ secret[2]) - (seed ^ (bswap32(seed) << 32))`.
    flip8: u64,
    /// The 9-to-16-byte path's keys: `(secret[3] ^ secret[4]) + seed` and `(secret[5] ^ secret[6]) - seed`.
    flip16: (u64, u64),
}

/// The first 128 bytes of XXH3's default secret (the XXH3 specification's `kSecret`), as little-endian words.
pub(crate) const XXH3_SECRET: [u64; 16] = {
    const BYTES: [u8; 128] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c, 0xde, 0xd4,
        0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f, 0xcb, 0x79, 0xe6, 0x4e,
        0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21, 0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43,
        0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c, 0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb,
        0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3, 0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19,
        0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8, 0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7,
        0xc7, 0x0b, 0x4f, 0x1d, 0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78,
        0x73, 0x64,
    ];
    let mut w = [0u64; 16];
    let mut i = 0;
    while i < 16 {
        let mut b = [0u8; 8];
        let mut j = 0;
        while j < 8 {
            b[j] = BYTES[8 * i + j];
            j += 1;
        }
        w[i] = u64::from_le_bytes(b);
        i += 1;
    }
    w
};

/// A window of unit ids taken as bytes (for the crate's hash beyond 16 ids).
fn id_bytes(ids: &[u64]) -> Vec<u8> {
    ids.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl WindowHasher {
    fn new(seed: u64) -> WindowHasher {
        let s = XXH3_SECRET;
        let mut keys = [0u64; 16];
        for i in 0..8 {
            keys[2 * i] = s[2 * i].wrapping_add(seed);
            keys[2 * i + 1] = s[2 * i + 1].wrapping_sub(seed);
        }
        let seed8 = seed ^ (u64::from((seed as u32).swap_bytes()) << 32);
        WindowHasher {
            seed,
            keys,
            flip8: (s[1] ^ s[2]).wrapping_sub(seed8),
            flip16: ((s[3] ^ s[4]).wrapping_add(seed), (s[5] ^ s[6]).wrapping_sub(seed)),
        }
    }

    /// XXH3's `mix16B` of ids `a`, `b` with the key pair `pair`.
    #[inline(always)]
    fn mix(&self, a: u64, b: u64, pair: usize) -> u64 {
        fold(a ^ self.keys[2 * pair], b ^ self.keys[2 * pair + 1])
    }

    /// `xxh3_64_with_seed` of `ids` as little-endian bytes.
    #[inline(always)]
    fn hash(&self, ids: &[u64]) -> u64 {
        let l = ids.len();
        match l {
            0 => xxh3_64_with_seed(&[], self.seed),
            1 => {
                // XXH3_len_4to8: the two 32-bit halves, high word first.
                let x = ids[0];
                let input64 = (x >> 32).wrapping_add(x << 32);
                strong_avalanche(input64 ^ self.flip8, 8)
            }
            2 => {
                // XXH3_len_9to16.
                let lo = ids[0] ^ self.flip16.0;
                let hi = ids[1] ^ self.flip16.1;
                avalanche(16u64.wrapping_add(lo.swap_bytes()).wrapping_add(hi).wrapping_add(fold(lo, hi)))
            }
            3..=16 => {
                // XXH3_len_17to128: 16-byte blocks from both ends towards the middle; the byte offsets are whole
                // ids since the length is a multiple of 8.
                let mut acc = ((8 * l) as u64).wrapping_mul(PRIME64_1);
                if l > 4 {
                    if l > 8 {
                        if l > 12 {
                            acc = acc.wrapping_add(self.mix(ids[6], ids[7], 6));
                            acc = acc.wrapping_add(self.mix(ids[l - 8], ids[l - 7], 7));
                        }
                        acc = acc.wrapping_add(self.mix(ids[4], ids[5], 4));
                        acc = acc.wrapping_add(self.mix(ids[l - 6], ids[l - 5], 5));
                    }
                    acc = acc.wrapping_add(self.mix(ids[2], ids[3], 2));
                    acc = acc.wrapping_add(self.mix(ids[l - 4], ids[l - 3], 3));
                }
                acc = acc.wrapping_add(self.mix(ids[0], ids[1], 0));
                acc = acc.wrapping_add(self.mix(ids[l - 2], ids[l - 1], 1));
                avalanche(acc)
            }
            _ => xxh3_64_with_seed(&id_bytes(ids), self.seed),
        }
    }
}

/// The hashes of every window of two ids, in order: [`WindowHasher::hash`] of each, eight windows at a time with
/// AVX-512 where the processor has it (0.78 against 1.63 ns a window in a loop over 1,500 ids on this project's AMD
/// EPYC machines).
fn pair_hashes(ids: &[u64], h: &WindowHasher, out: &mut Vec<u64>) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512_bw() {
            // SAFETY: the processor has AVX-512 F, DQ and BW (checked just above).
            unsafe { pair_hashes_avx512(ids, h, out) };
            return;
        }
    }
    out.extend(ids.windows(2).map(|w| h.hash(&w[..2])));
}

/// Whether the processor has AVX-512 F, DQ and BW (what [`xxh3_9to16_8`] and the kernels built on it need).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx512_bw() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

/// XXH3's 9-to-16-byte path of eight inputs at once: `len` bytes whose first eight are `lo` and last eight `hi`
/// (little-endian), each already xored with its words of the secret; the avalanche of `len + bswap(lo) + hi +
/// fold(lo, hi)` ([`fold8`], [`avalanche8`]).
///
/// # Safety
/// The processor must have AVX-512 F, DQ and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512bw")]
pub(crate) unsafe fn xxh3_9to16_8(
    lo: std::arch::x86_64::__m512i,
    hi: std::arch::x86_64::__m512i,
    len: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    // Byte reversal of each 64-bit lane.
    let swap = _mm512_set4_epi32(0x0809_0A0B, 0x0C0D_0E0F, 0x0001_0203, 0x0405_0607);
    let acc =
        _mm512_add_epi64(_mm512_add_epi64(len, _mm512_shuffle_epi8(lo, swap)), _mm512_add_epi64(hi, fold8(lo, hi)));
    avalanche8(acc)
}

/// [`pair_hashes`] with AVX-512 (F, DQ, BW): XXH3's 9-to-16-byte path for eight windows at a time
/// ([`xxh3_9to16_8`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512bw")]
unsafe fn pair_hashes_avx512(ids: &[u64], h: &WindowHasher, out: &mut Vec<u64>) {
    use std::arch::x86_64::*;
    let m = ids.len();
    if m < 2 {
        return;
    }
    let windows = m - 1;
    out.reserve(windows);
    let base = out.len();
    // SAFETY (of the stores below): `out` has room for `windows` more values from `base`; `k + 8 <= windows`.
    let dst = out.as_mut_ptr().add(base);
    let (k0, k1) = (_mm512_set1_epi64(h.flip16.0 as i64), _mm512_set1_epi64(h.flip16.1 as i64));
    let sixteen = _mm512_set1_epi64(16);
    let mut k = 0;
    while k + 8 <= windows {
        // SAFETY: ids `k..k + 9` lie within `ids` (`k + 8 <= m - 1`).
        let a = _mm512_loadu_si512(ids.as_ptr().add(k).cast());
        let b = _mm512_loadu_si512(ids.as_ptr().add(k + 1).cast());
        let hashes = xxh3_9to16_8(_mm512_xor_si512(a, k0), _mm512_xor_si512(b, k1), sixteen);
        _mm512_storeu_si512(dst.add(k).cast(), hashes);
        k += 8;
    }
    // SAFETY: the loop stored `k` values from `base`.
    out.set_len(base + k);
    out.extend(ids[k..].windows(2).map(|w| h.hash(&w[..2])));
}

/// The hashes of every window of four ids, in order: [`WindowHasher::hash`] of each, eight windows at a time with
/// AVX-512 where the processor has it.
fn quad_hashes(ids: &[u64], h: &WindowHasher, out: &mut Vec<u64>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq") {
            // SAFETY: the processor has AVX-512 F and DQ (checked just above).
            unsafe { quad_hashes_avx512(ids, h, out) };
            return;
        }
    }
    out.extend(ids.windows(4).map(|w| h.hash(&w[..4])));
}

/// XXH3's `mix16B` fold of eight pairs of 64-bit lanes: the 128-bit product of `a` and `b`, its halves xored, from
/// four 32 × 32-bit products (AVX-512 has no 64 × 64 → 128-bit multiply).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) unsafe fn fold8(a: std::arch::x86_64::__m512i, b: std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    let low = _mm512_set1_epi64(0xFFFF_FFFF);
    let (a_h, b_h) = (_mm512_srli_epi64::<32>(a), _mm512_srli_epi64::<32>(b));
    let ll = _mm512_mul_epu32(a, b);
    let lh = _mm512_mul_epu32(a, b_h);
    let hl = _mm512_mul_epu32(a_h, b);
    let hh = _mm512_mul_epu32(a_h, b_h);
    let cross = _mm512_add_epi64(
        _mm512_add_epi64(_mm512_srli_epi64::<32>(ll), _mm512_and_si512(lh, low)),
        _mm512_and_si512(hl, low),
    );
    let high = _mm512_add_epi64(
        _mm512_add_epi64(hh, _mm512_srli_epi64::<32>(lh)),
        _mm512_add_epi64(_mm512_srli_epi64::<32>(hl), _mm512_srli_epi64::<32>(cross)),
    );
    _mm512_xor_si512(_mm512_mullo_epi64(a, b), high)
}

/// XXH3's final mix of eight lanes ([`avalanche`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
pub(crate) unsafe fn avalanche8(acc: std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    let acc = _mm512_xor_si512(acc, _mm512_srli_epi64::<37>(acc));
    let acc = _mm512_mullo_epi64(acc, _mm512_set1_epi64(0x1656_6791_9E37_79F9u64 as i64));
    _mm512_xor_si512(acc, _mm512_srli_epi64::<32>(acc))
}

/// [`quad_hashes`] with AVX-512 (F, DQ): XXH3's 17-to-128-byte path for 32 bytes (two `mix16B` folds), eight
/// windows at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn quad_hashes_avx512(ids: &[u64], h: &WindowHasher, out: &mut Vec<u64>) {
    use std::arch::x86_64::*;
    let m = ids.len();
    if m < 4 {
        return;
    }
    let windows = m - 3;
    out.reserve(windows);
    let base = out.len();
    // SAFETY (of the stores below): `out` has room for `windows` more values from `base`; `k + 8 <= windows`.
    let dst = out.as_mut_ptr().add(base);
    let key = |i: usize| _mm512_set1_epi64(h.keys[i] as i64);
    let (k0, k1, k2, k3) = (key(0), key(1), key(2), key(3));
    let start = _mm512_set1_epi64((32u64).wrapping_mul(PRIME64_1) as i64);
    let p = ids.as_ptr();
    let mut k = 0;
    while k + 8 <= windows {
        // SAFETY: ids `k..k + 11` lie within `ids` (`k + 8 <= m - 3`).
        let (a, b, c, d) = (
            _mm512_loadu_si512(p.add(k).cast()),
            _mm512_loadu_si512(p.add(k + 1).cast()),
            _mm512_loadu_si512(p.add(k + 2).cast()),
            _mm512_loadu_si512(p.add(k + 3).cast()),
        );
        let first = fold8(_mm512_xor_si512(a, k0), _mm512_xor_si512(b, k1));
        let second = fold8(_mm512_xor_si512(c, k2), _mm512_xor_si512(d, k3));
        let acc = _mm512_add_epi64(start, _mm512_add_epi64(first, second));
        _mm512_storeu_si512(dst.add(k).cast(), avalanche8(acc));
        k += 8;
    }
    // SAFETY: the loop stored `k` values from `base`.
    out.set_len(base + k);
    out.extend(ids[k..].windows(4).map(|w| h.hash(&w[..4])));
}

const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;

/// The 128-bit product of `a` and `b`, its two halves xored.
#[inline(always)]
pub(crate) fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// XXH3's final mix of the 17-to-128-byte and 9-to-16-byte paths.
#[inline(always)]
pub(crate) fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 37;
    h = h.wrapping_mul(0x1656_6791_9E37_79F9);
    h ^ (h >> 32)
}

/// XXH3's final mix of the 4-to-8-byte path.
#[inline(always)]
pub(crate) fn strong_avalanche(mut h: u64, len: u64) -> u64 {
    h ^= h.rotate_left(49) ^ h.rotate_left(24);
    h = h.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    h ^= (h >> 35).wrapping_add(len);
    h = h.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    h ^ (h >> 28)
}

/// The Mersenne prime 2^61 − 1: the modulus of [`window_fingerprints`].
pub const M61: u64 = (1 << 61) - 1;

/// `a · b mod 2^61 − 1` for `a`, `b` below it.
fn mul61(a: u64, b: u64) -> u64 {
    let r = a as u128 * b as u128;
    let s = (r as u64 & M61) + (r >> 61) as u64;
    if s >= M61 {
        s - M61
    } else {
        s
    }
}

/// Two polynomial rolling hashes modulo 2^61 − 1 (two fixed bases) of every window of `n` unit ids, one per start
/// position (`ids.len() + 1 - n` of them; none when `n` is 0 or the ids are fewer), each from the one before in
/// O(1): together a 122-bit fingerprint of the window (an id counts modulo 2^61 − 1), so that two different windows
/// of a corpus share one with probability about `positions² / 2^122` (Karp & Rabin 1987). Equal windows have equal
/// fingerprints.
pub fn window_fingerprints(ids: &[u64], n: usize) -> Vec<(u64, u64)> {
    const B1: u64 = 0x1f3d_5b79_a2c4_e681 % M61;
    const B2: u64 = 0x0b5a_d4ec_e3f2_9a17 % M61;
    if n == 0 || ids.len() < n {
        return Vec::new();
    }
    let pow = |b: u64| (1..n).fold(1u64, |p, _| mul61(p, b));
    let (p1, p2) = (pow(B1), pow(B2));
    let x = |u: u64| u % M61;
    // Sum and difference of two residues, by one comparison (no division).
    let add = |a: u64, b: u64| if a + b >= M61 { a + b - M61 } else { a + b };
    let sub = |a: u64, b: u64| if a >= b { a - b } else { a + M61 - b };
    let (mut h1, mut h2) = (0u64, 0u64);
    for &u in &ids[..n] {
        h1 = add(mul61(h1, B1), x(u));
        h2 = add(mul61(h2, B2), x(u));
    }
    let mut out = Vec::with_capacity(ids.len() - n + 1);
    out.push((h1, h2));
    for i in n..ids.len() {
        let (old, new) = (x(ids[i - n]), x(ids[i]));
        h1 = add(mul61(sub(h1, mul61(old, p1)), B1), new);
        h2 = add(mul61(sub(h2, mul61(old, p2)), B2), new);
        out.push((h1, h2));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_fingerprints_are_two_polynomials_of_each_window() {
        let mut rng = crate::testing::Rng(99);
        let ids: Vec<u64> = (0..200).map(|_| rng.below(u64::MAX)).collect();
        let poly = |w: &[u64], b: u64| {
            w.iter().fold(0u64, |h, &v| ((h as u128 * b as u128 + (v % M61) as u128) % M61 as u128) as u64)
        };
        for n in [1usize, 2, 7, 50, 200] {
            let direct: Vec<(u64, u64)> = ids
                .windows(n)
                .map(|w| (poly(w, 0x1f3d_5b79_a2c4_e681 % M61), poly(w, 0x0b5a_d4ec_e3f2_9a17 % M61)))
                .collect();
            assert_eq!(window_fingerprints(&ids, n), direct, "n {n}");
        }
        assert!(window_fingerprints(&ids, 0).is_empty() && window_fingerprints(&ids, 201).is_empty());
    }

    fn unit_texts(t: &str) -> Vec<String> {
        let chars: Vec<char> = t.chars().collect();
        units(t).iter().map(|u| chars[u.start as usize..u.end as usize].iter().collect()).collect()
    }

    #[test]
    fn ascii_path_sets_equal_the_mixed_windows() {
        // Word ids cut into windows of one length give the mixed windows' set, and an id that passes for a CJK
        // character's (a word hash does with probability 2^-43) sends the ids through the mixed windows.
        let n = Ngram { n: 4, word_n: 2 };
        let words: Vec<u64> = (0..40u64).map(|i| crate::minhash::mix64(i + 99)).collect();
        let mut with_char = words.clone();
        with_char[17] = u64::from('国') ^ CHAR_TAG;
        for ids in [words.clone(), with_char, words[..1].to_vec(), Vec::new()] {
            let mut buf = ShingleBuffers { ids: ids.clone(), ..ShingleBuffers::default() };
            let fast = buf.shingle_set(n, 7);
            let mut reference = ShingleBuffers { ids, ..ShingleBuffers::default() };
            assert_eq!(fast, set_of_ids(n, 7, &mut reference));
        }
    }

    #[test]
    fn cjk_characters_and_words() {
        assert_eq!(unit_texts("图书馆 met putin"), ["图", "书", "馆", "met", "putin"]);
        assert_eq!(unit_texts("2025年5月"), ["2025", "年", "5", "月"]);
        assert_eq!(unit_texts("don't 3.14 a.b"), ["don't", "3.14", "a", "b"]);
        assert_eq!(unit_texts("café über 東京タワー"), ["café", "über", "東", "京", "タ", "ワ", "ー"]);
    }

    #[test]
    fn shingle_length_follows_the_first_unit() {
        let n = Ngram { n: 4, word_n: 2 };
        // Pure CJK text: the classic 4-character shingles, whatever word_n is.
        let zh = units("国家主席会见外国元首");
        assert_eq!(shingle_hashes(&zh, n, 7), shingle_hashes(&zh, 4, 7));
        // Pure English: word bigrams.
        let en = units("the quick brown fox jumps");
        assert_eq!(shingle_hashes(&en, n, 7), shingle_hashes(&en, 2, 7));
        // Mixed: 2 units from two words in a row, else 4; windows running past the end are not cut.
        let mixed = units("2025年5月 putin met 会见");
        let ids = id_bytes(&mixed.iter().map(|u| u.id).collect::<Vec<_>>());
        let h = |a: usize, b: usize| xxh3_64_with_seed(&ids[8 * a..8 * b], 7);
        // units: 2025 年 5 月 putin met 会 见
        let want = vec![h(0, 4), h(1, 5), h(2, 6), h(3, 7), h(4, 6)];
        assert_eq!(shingle_hashes(&mixed, n, 7), want);
        // Too short for any window: one shingle of all units, as with a uniform length.
        let short = units("会见 xi");
        assert_eq!(shingle_hashes(&short, Ngram { n: 4, word_n: 3 }, 7), shingle_hashes(&short, 4, 7));
        let mut buf = ShingleBuffers::default();
        for t in ["2025年5月 putin met 会见", "the quick brown fox", "会见 xi", "", "国家主席"] {
            assert_eq!(shingle_set_of_text(t, n, 9, &mut buf), shingle_set(&units(t), n, 9), "{t}");
        }
    }

    #[test]
    fn narrow_set_keeps_the_distinct_top_halves_in_order() {
        // Sorted distinct 64-bit values with runs sharing their top 32 bits (as colliding shingles do), at both ends
        // of the range: the narrowed set is the sorted, de-duplicated top halves.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for n in [0usize, 1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 100, 3000] {
            let mut set: Vec<u64> = Vec::with_capacity(n);
            for k in 0..n {
                x = crate::minhash::mix64(x);
                let top = match k % 3 {
                    0 => x >> 61,
                    1 => u64::from(u32::MAX) - (x >> 62),
                    _ => x >> 40,
                };
                set.push((top << 32) | (x & 0xFFFF_FFFF));
            }
            set.sort_unstable();
            set.dedup();
            let mut want: Vec<u32> = set.iter().map(|v| (v >> 32) as u32).collect();
            want.dedup();
            assert!(want.len() < set.len() || n < 100, "the test makes collisions");
            assert_eq!(narrow_set(&set), want, "{n} values");
        }
    }

    #[test]
    fn noisy_english_copies_share_more_word_bigrams() {
        // One letter lost in every fifth word (OCR): 4-word shingles mostly break, word bigrams mostly survive.
        let a = "the council met on monday to discuss the new bridge across the river and voted to raise \
                 the money needed for the work before the end of the year said the mayor";
        let b = "the council met on mnday to discuss the new bridge acros the river and voted to raise \
                 the mney needed for the work before the end of the yar said the mayor";
        let jac = |n: Ngram| {
            let (x, y) = (shingle_set(&units(a), n, 1), shingle_set(&units(b), n, 1));
            crate::verify::pair_stats(&narrow_set(&x), &narrow_set(&y)).jaccard
        };
        let (four, pairs) = (jac(Ngram::uniform(4)), jac(Ngram { n: 4, word_n: 2 }));
        assert!(four < 0.45 && pairs > 0.45, "4 words {four}, 2 words {pairs}");
    }

    #[test]
    fn window_hash_is_xxh3_of_the_ids_bytes() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        let mut next = || {
            x = crate::minhash::mix64(x.wrapping_add(0x9E37));
            x
        };
        for seed in [0u64, 1, 42, u64::MAX, 0x8000_0000_0000_0001] {
            let h = WindowHasher::new(seed);
            for len in 0..=40 {
                for _ in 0..50 {
                    let ids: Vec<u64> = (0..len).map(|_| next()).collect();
                    assert_eq!(h.hash(&ids), xxh3_64_with_seed(&id_bytes(&ids), seed), "{len} ids, seed {seed}");
                }
            }
        }
    }

    #[test]
    fn fused_conversion_cuts_the_units_of_the_converted_text() {
        // Rule sources (whole, cut short, run together) among simplified text, words, digits, accented and other
        // letters, spaces: the walk that converts while it cuts units gives the ids of the converted text, or
        // stops; the public path gives the set of the converted text either way.
        let filler = [
            "的",
            "是",
            "中国",
            "新闻",
            "a",
            "putin",
            "2025",
            "16",
            "ip",
            "A",
            " ",
            "é",
            "über",
            "東京タワー",
            "ab cd",
            "ж",
        ];
        let opts = NormalizeOptions::default();
        let (mut fused, mut stopped, mut changed) = (0, 0, 0);
        let mut buf = ShingleBuffers::default();
        for text in crate::text::normalize::rule_texts(0x2545_F491_4F6C_DD1D, &filler, 20_000) {
            let (mut converted, mut scratch) = (text.clone(), String::new());
            simplify_in_place(&mut converted, text.chars().count(), &mut scratch);
            changed += usize::from(converted != text);
            let mut want = Vec::new();
            for_each_unit(&converted, |id, _, _| want.push(id));
            let mut got = Vec::new();
            if converted_unit_ids(&text, &mut got) {
                assert_eq!(got, want, "{text}");
                fused += 1;
            } else {
                stopped += 1;
            }
            for n in [Ngram::uniform(4), Ngram { n: 4, word_n: 2 }] {
                assert_eq!(
                    shingle_set_of_unconverted(&text, text.chars().count(), &opts, n, 7, &mut buf),
                    shingle_set_of_text(&converted, n, 7, &mut buf),
                    "{text}"
                );
            }
        }
        assert!(
            changed > 5_000 && fused > 10_000 && stopped > 100,
            "{changed} changed, {fused} fused, {stopped} stopped"
        );
    }

    #[test]
    fn ideograph_blocks_give_the_ids_of_the_walk_one_character_at_a_time() {
        if !has_ideograph_blocks() {
            eprintln!("skipped: this processor lacks AVX-512 VBMI, the blocks of ideographs are not used here");
            return;
        }
        // Long runs of ideographs (any of U+4E00..U+9FFF, the block's edges, common traditional characters that
        // rules change or begin with) broken now and then by what ends a run: the characters just outside the
        // range (U+4DFF: E4 B7 BF; U+A000: EA 80 80), kana, punctuation, ASCII words and digits, two- and four-byte
        // characters; rule sources put in at every offset of the blocks of sixteen.
        let sources = crate::text::normalize::rule_sources();
        let mut x = 0x5DEE_CE66_D1CE_4E5Bu64;
        let mut next = move |m: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as usize % m
        };
        let breaks = ["\u{4DFF}", "\u{A000}", "の", "，", " ", "abc", "42", "é", "ж", "𠀀", "\u{3400}", "\u{F900}"];
        let common = "國會長時間說話這經濟發展們為與對學樂後裡乾髮麵臺灣鐘錶乾隆";
        let (mut blocks_taken, mut texts) = (0usize, 0usize);
        for round in 0..3_000 {
            let mut text = String::new();
            let pieces = 1 + next(80);
            for _ in 0..pieces {
                match next(20) {
                    0 => text.push_str(breaks[next(breaks.len())]),
                    1 | 2 if round % 3 != 0 => text.push_str(&sources[next(sources.len())]),
                    3..=6 => text.push(common.chars().nth(next(common.chars().count())).expect("a character")),
                    7 => text.push(['\u{4E00}', '\u{9FFF}', '\u{4E01}', '\u{9FFE}'][next(4)]),
                    _ => {
                        for _ in 0..1 + next(12) {
                            text.push(char::from_u32(0x4E00 + next(0x5200) as u32).expect("an ideograph"));
                        }
                    }
                }
            }
            texts += 1;
            blocks_taken += usize::from(text.len() >= 64);
            let (mut plain, mut fast) = (Vec::new(), Vec::new());
            for_each_unit(&text, |id, _, _| plain.push(id));
            unit_ids_with(&text, &mut fast, true);
            assert_eq!(fast, plain, "unit ids of {text}");
            let (mut one, mut sixteen) = (Vec::new(), Vec::new());
            let walked = converted_unit_ids_with(&text, &mut one, false);
            assert_eq!(converted_unit_ids_with(&text, &mut sixteen, true), walked, "{text}");
            if walked {
                assert_eq!(sixteen, one, "converted unit ids of {text}");
            }
        }
        assert!(blocks_taken > texts / 2, "{blocks_taken} of {texts} texts long enough for a block");
    }

    #[test]
    fn equal_units_equal_ids() {
        let a = units("abc 中 abc");
        assert_eq!(a[0].id, a[2].id);
        assert_ne!(a[0].id, a[1].id);
    }

    #[test]
    fn radix_sort_sorts() {
        for n in [0usize, 1, 63, 64, 65, 127, 128, 1000, 5000, 70_000, 300_000] {
            let mut x = 0x1234_5678_9abc_def0u64;
            let mut v: Vec<u64> = (0..n)
                .map(|i| {
                    x = crate::minhash::mix64(x.wrapping_add(i as u64));
                    // Some skew and many repeats too.
                    if i % 7 == 0 {
                        x >> 20
                    } else if i % 5 == 0 {
                        42
                    } else {
                        x
                    }
                })
                .collect();
            let sorted = sort_hashes(&v, &mut Vec::new(), &mut Vec::new());
            v.sort_unstable();
            assert_eq!(sorted, v);
        }
        // Uniform values, and values that share their top 32 bits in every order (the insertion pass gives up and
        // the standard sort finishes), with the same working memory throughout.
        let (mut counts, mut tmp) = (Vec::new(), Vec::new());
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for n in [64usize, 100, 1300, 4000, 20_000, 100_000] {
            let uniform: Vec<u64> = (0..n).map(|i| crate::minhash::mix64(i as u64 ^ x)).collect();
            let descending: Vec<u64> = (0..n as u64).map(|i| 0xABCD_EF01_0000_0000 | ((u64::MAX >> 32) - i)).collect();
            let shuffled: Vec<u64> = (0..n as u64)
                .map(|i| {
                    x = crate::minhash::mix64(x ^ i);
                    0x1234_5678_0000_0000 | (x >> 40)
                })
                .collect();
            // Values whose top 44 bits repeat (`i / (1 + i % 9)` takes each quotient at several indices), the low
            // bits in any order: many short insertions inside and across the blocks of eight, too few to give up.
            let clustered: Vec<u64> = (0..n as u64)
                .map(|i| {
                    x = crate::minhash::mix64(x ^ i);
                    (crate::minhash::mix64(i / (1 + i % 9)) & !0xF_FFFF) | (x >> 44)
                })
                .collect();
            for mut v in [uniform, descending, shuffled, clustered] {
                let sorted = sort_hashes(&v, &mut counts, &mut tmp);
                v.sort_unstable();
                assert_eq!(sorted, v, "{n} values");
            }
        }
    }

    #[test]
    fn shingles_count_and_short_texts() {
        let u = units("一二三四五六七");
        assert_eq!(shingle_hashes(&u, 5, 1).len(), 3);
        assert_eq!(shingle_set(&units("一二"), 5, 1).len(), 1);
        assert!(shingle_set(&[], 5, 1).is_empty());
        // Seeds change hashes; the same seed reproduces them.
        assert_ne!(shingle_hashes(&u, 5, 1), shingle_hashes(&u, 5, 2));
        assert_eq!(shingle_hashes(&u, 5, 1), shingle_hashes(&u, 5, 1));
    }
}

#[cfg(test)]
mod pair_hash_tests {
    use super::*;

    #[test]
    fn pair_hashes_are_the_windows_hashes() {
        // Every length around the eight-window blocks: the vector path (where the processor has it) and its tail
        // against the hash of each window of two ids, which a unit test above checks against the crate.
        let ids: Vec<u64> = (0..1000u64).map(|i| crate::minhash::mix64(i * 7 + 1)).collect();
        let h = WindowHasher::new(42);
        for n in (0..=40).chain([999, 1000]) {
            let mut got = vec![5u64];
            pair_hashes(&ids[..n], &h, &mut got);
            let plain: Vec<u64> = std::iter::once(5).chain(ids[..n].windows(2).map(|w| h.hash(&w[..2]))).collect();
            assert_eq!(got, plain, "{n} ids");
            let mut got = vec![5u64];
            quad_hashes(&ids[..n], &h, &mut got);
            let plain: Vec<u64> = std::iter::once(5).chain(ids[..n].windows(4).map(|w| h.hash(&w[..4]))).collect();
            assert_eq!(got, plain, "{n} ids");
        }
    }

    #[test]
    fn ascii_words_by_masks_are_the_words_of_the_walk_byte_by_byte_and_of_whole_texts() {
        // Texts of letters, digits, joiners and other bytes, every length around the blocks of 64, with words of
        // every length up to a few dozen bytes and joiners at the blocks' edges; and words at every offset.
        let alphabet = b"aZ09'.,.  -x7';:";
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut texts: Vec<String> = Vec::new();
        for len in 0..300usize {
            for _ in 0..8 {
                let t: String = (0..len)
                    .map(|_| {
                        x = crate::minhash::mix64(x);
                        // Long words often: letters with probability 3/4 in half the texts.
                        if x >> 62 != 0 && len % 2 == 0 {
                            char::from(b'a' + (x % 26) as u8)
                        } else {
                            char::from(alphabet[(x % alphabet.len() as u64) as usize])
                        }
                    })
                    .collect();
                texts.push(t);
            }
        }
        for pad in 0..70 {
            texts.push(format!("{}3.14 don't 1,000{}", " ".repeat(pad), "x".repeat(pad)));
        }
        let (mut scratch, mut buf) = (crate::text::ascii::WordScratch::default(), ShingleBuffers::default());
        for t in &texts {
            for base in [0u32, 7] {
                let (mut got, mut want) = (Vec::new(), Vec::new());
                ascii_words_by_masks(t, base, &mut |id, s, e| got.push((id, s, e)));
                ascii_words_by_byte(t, base, &mut |id, s, e| want.push((id, s, e)));
                assert_eq!(got, want, "{t:?}");
                for &(id, s, e) in &got {
                    assert_eq!(id, xxh3_64(&t.as_bytes()[(s - base) as usize..(e - base) as usize]));
                }
            }
            // The words of a whole ASCII text hashed at the end: the same ids, appended after what `ids` held.
            let mut ids = vec![5u64];
            let whole = ascii_text_unit_ids(t, &mut ids, &mut scratch);
            assert_eq!(whole, t.len() >= 64, "{t:?}");
            if whole {
                let want: Vec<u64> = units(t).iter().map(|u| u.id).collect();
                assert_eq!(ids[0], 5);
                assert_eq!(ids[1..], want[..], "{t:?}");
            }
            assert_eq!(
                shingle_set_of_text(t, Ngram { n: 4, word_n: 2 }, 9, &mut buf),
                shingle_set(&units(t), Ngram { n: 4, word_n: 2 }, 9)
            );
        }
    }

    #[test]
    fn word_pairs_and_counts_are_found_by_blocks() {
        // Ids of CJK characters and words in runs, every length around the blocks of 64, with and without AVX-512.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for m in 0..300usize {
            let ids: Vec<u64> = (0..m)
                .map(|k| {
                    x = crate::minhash::mix64(x ^ k as u64);
                    if (x >> 40) % 5 < 2 {
                        x
                    } else {
                        char_unit_id(0x4E00 + (x % 2000) as u32)
                    }
                })
                .collect();
            let want: Vec<usize> =
                (0..m.saturating_sub(1)).filter(|&k| !is_cjk_id(ids[k]) && !is_cjk_id(ids[k + 1])).collect();
            let mut got = Vec::new();
            for_each_word_pair(&ids, |k| got.push(k));
            assert_eq!(got, want, "{m} ids");
            assert_eq!(word_count(&ids), ids.iter().filter(|&&id| !is_cjk_id(id)).count());
            for avx512 in [false, has_avx512f()] {
                for at in (0..m).step_by(64) {
                    let bits = word_bits64(&ids, at, avx512);
                    for k in 0..64 {
                        assert_eq!(
                            bits >> k & 1 == 1,
                            at + k < m && !is_cjk_id(ids[at + k]),
                            "{m} ids, bit {k} from {at}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn mostly_cjk_windows_are_the_mixed_windows() {
        // Texts of CJK characters with words among them (and at both ends): the windows picked from the hashes
        // of every window of four, against `mixed_windows` one by one.
        let mut x = 9u64;
        for round in 0..800 {
            let m = round % 200;
            let ids: Vec<u64> = (0..m)
                .map(|_| {
                    x = crate::minhash::mix64(x.wrapping_add(3));
                    if x.is_multiple_of(4) {
                        x
                    } else {
                        char_unit_id(0x4E00 + (x % 500) as u32)
                    }
                })
                .collect();
            let mut got = Vec::new();
            window_hashes_into(&ids, Ngram { n: 4, word_n: 2 }, 42, &mut got);
            let h = WindowHasher::new(42);
            let mut want = Vec::new();
            mixed_windows(&ids, 4, 2, |w| h.hash(&w[..4]), |w| h.hash(&w[..2]), &mut want);
            if want.is_empty() && !ids.is_empty() {
                want.push(h.hash(&ids));
            }
            assert_eq!(got, want, "{m} ids");
        }
    }
}
