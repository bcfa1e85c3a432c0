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
/// was. A text of 4 GiB or more takes the general path (`None`): a word's place in the text is kept in 32 bits.
pub(crate) fn ascii_unit_ids(
    text: &str,
    opts: &NormalizeOptions,
    ids: &mut Vec<u64>,
    scratch: &mut WordScratch,
) -> Option<u32> {
    let b = text.as_bytes();
    let n = b.len();
    if !(opts.strip_punctuation && opts.strip_whitespace) || u32::try_from(n).is_err() {
        return None;
    }
    // Every non-ASCII character is checked first (they are few in English text): they all lie in separators, or
    // are Latin-1 letters inside words.
    let mut chars = n;
    let (mut latin, mut dash) = (false, false);
    let mut p = next_high(b, 0);
    while p < n {
        let (c, len) = decode_at(b, p);
        if is_latin1_letter(c) {
            latin = true;
        } else {
            dash |= separator_class(c, next_char(b, p + len), opts)? == Separator::Hyphen;
        }
        chars -= len - 1;
        p = next_high(b, p + len);
    }
    let width = hard_wrap_width(text);
    if latin && width.is_some() {
        // A hard wrap's line lengths are counted in the separators only: the general path counts the letters'.
        return None;
    }
    // Whether the separator that starts at byte `at` (right after a word) may join that word to the next without a
    // hard wrap: only one that starts with a hyphen may (`scan_separator`), ASCII or, where the text has one (`dash`),
    // a non-ASCII character folded to one (`—`, `－`). Any other non-ASCII separator (`’`, `“`, `•`) is a gap
    // wherever it stands.
    let may_join = |at: usize| b[at] == b'-' || (dash && b[at] >= 0x80 && starts_with_dash(b, at, opts));
    let lower = if opts.lowercase { 0x20u8 } else { 0 };
    let from = ids.len();
    // A word and what separates it from the next take two bytes or more: room for every word, and for the
    // unused lanes of a block's last store (`Sink::push_block`).
    ids.reserve(n / 2 + 2 + BLOCK_SLACK);
    let WordScratch { word, specials, long } = scratch;
    long.clear();
    long.reserve(n / 2 + 2 + BLOCK_SLACK);
    // Whole blocks of plain words (`block_words`): without a hard wrap, where the processor has AVX-512 BW, VL,
    // VBMI2 and POPCNT.
    #[cfg(target_arch = "x86_64")]
    let by_blocks = width.is_none() && has_block_words();
    #[cfg(not(target_arch = "x86_64"))]
    let by_blocks = false;
    let mut sink = Sink { ids: ids.spare_capacity_mut(), n_ids: 0, long: long.spare_capacity_mut(), n_long: 0 };
    // A block's words, written in place by `block_words` (returned by value, its 136 bytes were copied again by a
    // call to `memcpy` at every block: 4% of the English path).
    #[cfg(target_arch = "x86_64")]
    let mut words = BlockWords { starts: [0; 64], ends: [0; 64], count: 0, latin: 0 };
    let mut lines = Lines::default();
    // The word being built: its first piece, whether more pieces were joined to it (then its bytes are in `word`),
    // and where its last piece ends; where the current piece starts and whether it joins the word.
    let (mut first, mut joined, mut last_end) = ((0usize, 0usize), false, 0usize);
    let (mut pos, mut joins) = (0usize, false);
    // Words start and end where a byte's bit in the letters' and digits' mask differs from the byte's before it: the
    // changes of each block of 64 bytes are taken in order, a start and an end in one step of the loop (so that
    // whether a word is open is known by where the loop is, not kept in memory from one change to the next).
    let mut in_word = false;
    let mut carry = 0u64;
    for block in 0..n.div_ceil(64) {
        let m = alnum_bits64(b, 64 * block, latin);
        let mut changes = m ^ (m << 1 | carry);
        carry = m >> 63;
        let base = 64 * block;
        if in_word {
            if changes == 0 {
                // The word goes on through the block.
                continue;
            }
            let p = base + changes.trailing_zeros() as usize;
            changes &= changes - 1;
            word_end(b, p, pos, joins, lower, &mut first, word);
            (last_end, in_word) = (p, false);
        }
        // The block's complete words at once where no separator between them can join two words: the separator
        // before its first word is checked as below, the others by `block_words`. (Eight bytes after the block: a
        // word's first eight bytes lie within the text.)
        #[cfg(target_arch = "x86_64")]
        if by_blocks && last_end > 0 && base + 72 <= n && changes != 0 {
            // SAFETY: the processor has AVX-512 BW, VL, VBMI2 and POPCNT (`by_blocks`); the block's 64 bytes lie
            // within `b`; `changes` are the block's changes from a word's start on, `m` its letters and digits.
            if !may_join(last_end) && unsafe { block_words(b, base, changes, m, dash, opts, &mut words) } {
                sink.emit(b, first, joined, latin, lower, word, specials);
                let place = sink.n_ids;
                // SAFETY: as above; `ids` and `long` have room for the block's words and `BLOCK_SLACK` more.
                unsafe { sink.push_block(base, &words) };
                if words.latin != 0 && lower != 0 {
                    // Words with a Latin-1 letter to lower-case take their own ids, as `Sink::emit` gives them.
                    latin_word_ids(b, base, &words, place, lower, word, specials);
                }
                let last = words.count - 1;
                let (s, e) = (base + usize::from(words.starts[last]), base + usize::from(words.ends[last]));
                (first, joined, joins, pos, last_end) = ((s, e), false, false, s, e);
                // The changes after the last complete word's end.
                changes &= (!0u64).checked_shl(u32::from(words.ends[last]) + 1).unwrap_or(0);
            }
        }
        while changes != 0 {
            // A word starts at `p`.
            let p = base + changes.trailing_zeros() as usize;
            changes &= changes - 1;
            if last_end == 0 {
                // The separator before the first word emits nothing; its line breaks count.
                if width.is_some() {
                    scan_separator(b, 0, p, width, &mut lines, false, opts);
                }
            } else {
                // Without a hard wrap, only a separator that starts with a hyphen may join (`may_join`), and line
                // breaks need no count; with one, any separator but one space (the commonest) is walked through.
                let walk = match width {
                    None => may_join(last_end),
                    Some(_) => !(p == last_end + 1 && b[last_end] == b' '),
                };
                joins = walk && scan_separator(b, last_end, p, width, &mut lines, true, opts);
                if joins && !joined {
                    word.clear();
                    push_lowered(word, &b[first.0..first.1], lower);
                    joined = true;
                } else if !joins {
                    sink.emit(b, first, joined, latin, lower, word, specials);
                    joined = false;
                }
            }
            pos = p;
            if changes == 0 {
                // The word goes on into the next block.
                in_word = true;
                break;
            }
            // It ends at `q`.
            let q = base + changes.trailing_zeros() as usize;
            changes &= changes - 1;
            word_end(b, q, pos, joins, lower, &mut first, word);
            last_end = q;
        }
    }
    if in_word {
        // The text ends in a word, at the end of a block.
        word_end(b, n, pos, joins, lower, &mut first, word);
        last_end = n;
    }
    if last_end > 0 {
        sink.emit(b, first, joined, latin, lower, word, specials);
    }
    let (n_ids, n_long) = (sink.n_ids, sink.n_long);
    // SAFETY: `Sink::emit` initialized the first `n_ids` values of `ids`' spare capacity and the first `n_long` of
    // `long`'s.
    unsafe {
        ids.set_len(from + n_ids);
        long.set_len(n_long);
    }
    hash_waiting_words(b, ids, from, lower, scratch);
    Some(chars as u32)
}

/// The end, at `p`, of the piece of a word that started at `pos`: the piece is appended to the word being built
/// when it `joins` it, else it is the word's first piece, `first`.
#[inline(always)]
fn word_end(b: &[u8], p: usize, pos: usize, joins: bool, lower: u8, first: &mut (usize, usize), word: &mut Vec<u8>) {
    if joins {
        push_lowered(word, &b[pos..p], lower);
    } else {
        *first = (pos, p);
    }
}

/// Working memory of [`ascii_unit_ids`], reused from one text to the next.
#[derive(Debug, Default, Clone)]
pub(crate) struct WordScratch {
    /// A word joined from pieces, or lower-cased with Latin-1 letters.
    word: Vec<u8>,
    /// The ids of the words that do not wait in `ids` ([`Sink::emit`]), with their places in `ids` (from the
    /// text's first).
    specials: Vec<(usize, u64)>,
    /// The places in `ids` (from the text's first) of the waiting words of 9 to 16 bytes.
    long: Vec<u32>,
}

impl WordScratch {
    /// Bytes held.
    pub(crate) fn capacity(&self) -> usize {
        self.word.capacity() + 16 * self.specials.capacity() + 4 * self.long.capacity()
    }
}

/// A waiting word's place in `ids` for a word whose id is in [`WordScratch::specials`]: the first byte of the text,
/// one byte long (read, then replaced).
const SPECIAL: u64 = 1 << 32;

/// Where [`ascii_unit_ids`] puts the words of a text: the spare capacity of `ids` and of [`WordScratch::long`] (room
/// for every word), and how many values each got.
struct Sink<'a> {
    ids: &'a mut [std::mem::MaybeUninit<u64>],
    n_ids: usize,
    long: &'a mut [std::mem::MaybeUninit<u32>],
    n_long: usize,
}

impl Sink<'_> {
    /// Appends to `ids` the complete words of a block but its last ([`block_words`]: 1 to 16 bytes each, their
    /// eight bytes from the start within the text), as waiting words (`start | len << 32`), the places of those
    /// of more than eight bytes to `long`; eight at a time, writing up to [`BLOCK_SLACK`] values past them.
    ///
    /// # Safety
    /// The processor must have AVX-512 F, BW, VL and VBMI2 and POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt")]
    unsafe fn push_block(&mut self, base: usize, words: &BlockWords) {
        use std::arch::x86_64::*;
        let count = words.count - 1;
        assert!(
            self.n_ids + count + BLOCK_SLACK <= self.ids.len() && self.n_long + count + BLOCK_SLACK <= self.long.len(),
            "room for a block's words"
        );
        let (ids, long) = (self.ids.as_mut_ptr().cast::<u64>(), self.long.as_mut_ptr().cast::<u32>());
        let mut k = 0;
        while k < count {
            // SAFETY: `k < count <= 63`, so the eight bytes from `k` lie within the arrays of 64; the eight values
            // stored from `n_ids + k` and from `n_long` lie within the room checked above (`k < count`).
            let s = _mm512_cvtepu8_epi64(_mm_loadl_epi64(words.starts.as_ptr().add(k).cast()));
            let e = _mm512_cvtepu8_epi64(_mm_loadl_epi64(words.ends.as_ptr().add(k).cast()));
            let len = _mm512_sub_epi64(e, s);
            let start = _mm512_add_epi64(s, _mm512_set1_epi64(base as i64));
            _mm512_storeu_si512(ids.add(self.n_ids + k).cast(), _mm512_or_si512(start, _mm512_slli_epi64::<32>(len)));
            let lanes = if count - k >= 8 { 0xFF } else { (1u8 << (count - k)) - 1 };
            let longer = _mm512_mask_cmpgt_epu64_mask(lanes, len, _mm512_set1_epi64(8));
            let places =
                _mm256_add_epi32(_mm256_set1_epi32((self.n_ids + k) as i32), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
            _mm256_storeu_si256(long.add(self.n_long).cast(), _mm256_maskz_compress_epi32(longer, places));
            self.n_long += longer.count_ones() as usize;
            k += 8;
        }
        self.n_ids += count;
    }

    /// Appends to `ids` the word `first` (see [`word_id`]): a word of at most 16 bytes, not joined, that has eight
    /// bytes of the text from its start and no Latin-1 letter to lower-case waits there as its place in the text
    /// (`start | len << 32`: `b` is shorter than 4 GiB; its place in `ids` goes to `long` when it has more than
    /// eight bytes) until [`hash_waiting_words`] hashes every such word of the text at once; any other word's id
    /// is computed now and kept in `specials` (with its place in `ids`, counted from this text's first value).
    /// Hashed one at a time, as the words come, the ids took a branch on the word's length that
    /// mispredicts on prose (or, in batches by length, loads and stores of the batches' counts and slots at every
    /// word).
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
        specials: &mut Vec<(usize, u64)>,
    ) {
        let (s, e) = first;
        let len = e - s;
        let value = if !joined && len <= 16 && s + 8 <= b.len() && !(latin && lower != 0 && has_high_byte(b, s, e)) {
            // The place is written whatever the word's length and kept (counted) for a word of more than eight
            // bytes only, which takes no branch.
            self.long[self.n_long].write(self.n_ids as u32);
            self.n_long += usize::from(len > 8);
            s as u64 | (len as u64) << 32
        } else {
            specials.push((self.n_ids, word_id(b, first, joined, latin, lower, word)));
            SPECIAL
        };
        self.ids[self.n_ids].write(value);
        self.n_ids += 1;
    }
}

/// Whether the non-ASCII character that starts at byte `at` of `b` is a hyphen once folded with `opts`
/// ([`separator_class`]).
#[inline(never)]
fn starts_with_dash(b: &[u8], at: usize, opts: &NormalizeOptions) -> bool {
    let (c, len) = decode_at(b, at);
    separator_class(c, next_char(b, at + len), opts) == Some(Separator::Hyphen)
}

/// The ids of the words with a Latin-1 letter (`words.latin`) among those that [`Sink::push_block`] appended from
/// `place` on, lower-cased as [`Sink::emit`] lower-cases them ([`word_id`]), to `specials`, which
/// [`hash_waiting_words`] puts in their places last. Their values in `ids` stay waiting words (of at most 16
/// bytes, eight bytes of the text from their start): hashed with the others, in bounds, then replaced.
fn latin_word_ids(
    b: &[u8],
    base: usize,
    words: &BlockWords,
    place: usize,
    lower: u8,
    word: &mut Vec<u8>,
    specials: &mut Vec<(usize, u64)>,
) {
    for k in 0..words.count - 1 {
        let (s, e) = (u32::from(words.starts[k]), u32::from(words.ends[k]));
        // Bits `s..e` (`e` is at most 63: the block's last complete word is not among these).
        if words.latin & ((1u64 << e) - (1u64 << s)) != 0 {
            specials.push((place + k, word_id(b, (base + s as usize, base + e as usize), false, true, lower, word)));
        }
    }
}

/// Values written past the words of a block by [`Sink::push_block`] (a vector's unused lanes), for which `ids` and
/// `long` keep room.
const BLOCK_SLACK: usize = 8;

/// The complete words of a block of 64 bytes ([`block_words`]): where each starts and ends in the block, in
/// order, and how many; and the bytes of Latin-1 letters among them (bit `k` for byte `k` of the block).
struct BlockWords {
    starts: [u8; 64],
    ends: [u8; 64],
    count: usize,
    latin: u64,
}

/// Whether the processor has what [`block_words`] and [`Sink::push_block`] need: AVX-512 F, BW, VL and VBMI2
/// (byte compression) and POPCNT.
#[cfg(target_arch = "x86_64")]
fn has_block_words() -> bool {
    std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512vbmi2")
        && std::arch::is_x86_feature_detected!("popcnt")
}

/// Puts in `words` the complete words of the 64 bytes of `b` from `base`, from the changes `changes` on (bit `k` set where byte
/// `base + k` starts or ends a word; the first set bit a start) when no separator between them may join two words
/// (without a hard wrap, only one that starts with a hyphen, ASCII or a non-ASCII character folded to one, may: see
/// `scan_separator`): no hyphen right after a word but the last complete one (where the text has non-ASCII ones,
/// `dash`, those too: `opts` are the text's options); and there are two
/// complete words or more, all but the last of at most 16 bytes (the last one is the caller's, as the word being
/// built), and returns `true`; else returns `false`, `words` left in any state. `m` marks the block's letters and
/// digits (a change at a letter or digit is a start), and the bytes of Latin-1 letters in a text that has them: those
/// go to `words.latin`. The starts and the ends are compressed out of the byte offsets
/// 0 to 63 by their masks, the `k`-th end ending the `k`-th word.
///
/// # Safety
/// The processor must have AVX-512 F, BW and VBMI2 and POPCNT; `base + 64 <= b.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi2,popcnt")]
unsafe fn block_words(
    b: &[u8],
    base: usize,
    changes: u64,
    m: u64,
    dash: bool,
    opts: &NormalizeOptions,
    words: &mut BlockWords,
) -> bool {
    use std::arch::x86_64::*;
    let (starts, ends) = (changes & m, changes & !m);
    let count = ends.count_ones() as usize;
    if count < 2 {
        return false;
    }
    // SAFETY: the 64 bytes lie within `b` (the caller's promise).
    let v = _mm512_loadu_si512(b.as_ptr().add(base).cast());
    // A hyphen joins only where it ends a word; the separator after the last complete word is the caller's.
    let hyphens = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'-' as i8));
    let (high, inner_ends) = (_mm512_movepi8_mask(v), ends & !(1u64 << (63 - ends.leading_zeros())));
    if hyphens & inner_ends != 0 {
        return false;
    }
    if dash {
        // A non-ASCII character right after a word: rare, each checked alone.
        let mut at = high & inner_ends;
        while at != 0 {
            if starts_with_dash(b, base + at.trailing_zeros() as usize, opts) {
                return false;
            }
            at &= at - 1;
        }
    }
    let offsets = _mm512_set_epi8(
        63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36,
        35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8,
        7, 6, 5, 4, 3, 2, 1, 0,
    );
    let (s, e) = (_mm512_maskz_compress_epi8(starts, offsets), _mm512_maskz_compress_epi8(ends, offsets));
    let pushed = (1u64 << (count - 1)) - 1;
    if _mm512_mask_cmpgt_epu8_mask(pushed, _mm512_sub_epi8(e, s), _mm512_set1_epi8(16)) != 0 {
        return false;
    }
    words.count = count;
    words.latin = high & m;
    _mm512_storeu_si512(words.starts.as_mut_ptr().cast(), s);
    _mm512_storeu_si512(words.ends.as_mut_ptr().cast(), e);
    true
}

/// The ids of the words of an all-ASCII text, given one by one as byte ranges ([`WaitingWords::push`]) and hashed
/// all at once at the end ([`WaitingWords::finish`]) as [`ascii_unit_ids`] hashes its words: XXH3 of each word's
/// bytes as they are (no lower case), eight words at a time with AVX-512 where the processor has it, where hashing
/// each word as it comes took a branch on its length that mispredicts on prose.
pub(crate) struct WaitingWords<'a> {
    b: &'a [u8],
    ids: &'a mut Vec<u64>,
    from: usize,
    scratch: &'a mut WordScratch,
}

impl<'a> WaitingWords<'a> {
    /// Words of `b` (shorter than 4 GiB) to be appended to `ids`.
    pub(crate) fn new(b: &'a [u8], ids: &'a mut Vec<u64>, scratch: &'a mut WordScratch) -> WaitingWords<'a> {
        assert!(u32::try_from(b.len()).is_ok(), "a word's place is kept in 32 bits");
        scratch.long.clear();
        scratch.specials.clear();
        WaitingWords { b, from: ids.len(), ids, scratch }
    }

    /// Appends the word `b[s..e]` (`s < e`): as its place in the text (`start | len << 32`, [`Sink::emit`]) where it
    /// has at most 16 bytes and eight bytes of the text from its start, else its id, computed now.
    #[inline(always)]
    pub(crate) fn push(&mut self, s: usize, e: usize) {
        let len = e - s;
        let at = self.ids.len() - self.from;
        if len <= 16 && s + 8 <= self.b.len() {
            if len > 8 {
                self.scratch.long.push(at as u32);
            }
            self.ids.push(s as u64 | (len as u64) << 32);
        } else {
            self.push_special(at, s, e);
        }
    }

    /// [`WaitingWords::push`] of a word that does not wait (over 16 bytes, or too near the text's end): its id
    /// computed now. Out of line, so that `push`, small without it, is inlined into the loop over the words (with
    /// XXH3 of any length inlined in it, the closure that pushes each word was a call at every word: 24% of the
    /// samples of an English page's shingles and MinHash).
    #[cold]
    #[inline(never)]
    fn push_special(&mut self, at: usize, s: usize, e: usize) {
        self.scratch.specials.push((at, xxh3_64(&self.b[s..e])));
        self.ids.push(SPECIAL);
    }

    /// Puts every word's id in its place.
    pub(crate) fn finish(self) {
        hash_waiting_words(self.b, self.ids, self.from, 0, self.scratch);
    }
}

/// Replaces every waiting word of `ids[from..]` ([`Sink::emit`]) by its id ([`short_word_id`]), then puts the
/// special words' ids in their places: first the words of up to eight bytes (with AVX-512 F, DQ and BW eight at a
/// time, XXH3's 1-to-3 and 4-to-8-byte paths both computed and each word taking its own), then the longer ones
/// (9 to 16 bytes) from their list in `scratch.long` (eight at a time likewise).
fn hash_waiting_words(b: &[u8], ids: &mut [u64], from: usize, lower: u8, scratch: &mut WordScratch) {
    #[cfg(target_arch = "x86_64")]
    let avx512 = has_avx512_bw();
    #[cfg(not(target_arch = "x86_64"))]
    let avx512 = false;
    hash_waiting_words_with(b, &mut ids[from..], lower, scratch, avx512);
}

/// [`hash_waiting_words`] of the text's values `ids`, eight at a time where `avx512` (the processor has AVX-512 F,
/// DQ and BW) and `b` has eight bytes or more.
fn hash_waiting_words_with(b: &[u8], ids: &mut [u64], lower: u8, scratch: &mut WordScratch, avx512: bool) {
    let unpack = |id: u64| ((id & 0xFFFF_FFFF) as usize, (id >> 32) as usize);
    let avx512 = avx512 && b.len() >= 8;
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if avx512 {
        // SAFETY: the processor has AVX-512 F, DQ and BW; `b` has at least eight bytes, and every value of `ids` is
        // a waiting word's place in `b` or `SPECIAL` ([`Sink::emit`]).
        done = unsafe { short_word_ids_avx512(b, ids, lower) };
    }
    for id in &mut ids[done..] {
        let (s, len) = unpack(*id);
        if len <= 8 {
            *id = short_word_id(b, s, s + len, lower);
        }
    }
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if avx512 {
        // SAFETY: as above; the places in `long` lie within `ids` and hold words of 9 to 16 bytes.
        done = unsafe { long_word_ids_avx512(b, ids, &scratch.long, lower) };
    }
    for &at in &scratch.long[done..] {
        let (s, len) = unpack(ids[at as usize]);
        ids[at as usize] = short_word_id(b, s, s + len, lower);
    }
    for &(at, id) in scratch.specials.iter() {
        ids[at] = id;
    }
    scratch.specials.clear();
}

/// The ids of the waiting words of up to eight bytes in `ids`, eight values at a time (the longer words' values
/// are left as they are): each word's first eight bytes gathered from the text, lower-cased, hashed by XXH3's
/// 1-to-3 and 4-to-8-byte paths. Returns how many values it went through (a multiple of eight; the rest are left).
///
/// # Safety
/// The processor must have AVX-512 F, DQ and BW; `b` must have at least eight bytes, and every value of `ids` be
/// `start | len << 32` with `1 <= len <= 16` and `start + max(len, 8) <= b.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512bw")]
unsafe fn short_word_ids_avx512(b: &[u8], ids: &mut [u64], lower: u8) -> usize {
    use crate::shingle::XXH3_SECRET as K;
    use std::arch::x86_64::*;
    let one = |x: u64| _mm512_set1_epi64(x as i64);
    let lw = one(u64::from(lower) * 0x0101_0101_0101_0101);
    let base = b.as_ptr().cast::<i64>();
    let mut k = 0;
    while k + 8 <= ids.len() {
        // SAFETY: values `k..k + 8` lie within `ids`; each word's eight bytes from its start lie within `b` (the
        // caller's promise).
        let w = _mm512_loadu_si512(ids.as_ptr().add(k).cast());
        let (start, n) = (_mm512_and_si512(w, one(0xFFFF_FFFF)), _mm512_srli_epi64::<32>(w));
        let head = _mm512_or_si512(_mm512_i64gather_epi64::<1>(start, base), lw);
        // The bytes of `head` from byte `at` on (none past the eighth).
        let bytes_from = |at: __m512i| _mm512_srlv_epi64(head, _mm512_slli_epi64::<3>(at));
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
        let short = _mm512_xor_si512(h, _mm512_srli_epi64::<32>(h));
        // XXH3_len_4to8: the first and the last four bytes (the last are the first eight's, shifted).
        let last4 = _mm512_and_si512(bytes_from(_mm512_sub_epi64(n, one(4))), one(0xFFFF_FFFF));
        let input = _mm512_add_epi64(last4, _mm512_slli_epi64::<32>(head));
        let mut h = _mm512_xor_si512(input, one(K[1] ^ K[2]));
        h = _mm512_xor_si512(h, _mm512_xor_si512(_mm512_rol_epi64::<49>(h), _mm512_rol_epi64::<24>(h)));
        h = _mm512_mullo_epi64(h, one(0x9FB2_1C65_1E98_DF25));
        h = _mm512_xor_si512(h, _mm512_add_epi64(_mm512_srli_epi64::<35>(h), n));
        h = _mm512_mullo_epi64(h, one(0x9FB2_1C65_1E98_DF25));
        let middle = _mm512_xor_si512(h, _mm512_srli_epi64::<28>(h));
        let ids8 = _mm512_mask_blend_epi64(_mm512_cmpgt_epu64_mask(n, one(3)), short, middle);
        // SAFETY: as above.
        _mm512_mask_storeu_epi64(ids.as_mut_ptr().add(k).cast(), _mm512_cmple_epu64_mask(n, one(8)), ids8);
        k += 8;
    }
    k
}

/// The ids of the waiting words of 9 to 16 bytes whose places in `ids` are `long`, eight at a time: each word's
/// first and last eight bytes gathered from the text, lower-cased, hashed by XXH3's 9-to-16-byte path. Returns how
/// many places it went through (a multiple of eight; the rest are left).
///
/// # Safety
/// The processor must have AVX-512 F, DQ and BW; every place in `long` must lie within `ids` and hold `start |
/// len << 32` with `9 <= len <= 16` and `start + len <= b.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512bw")]
unsafe fn long_word_ids_avx512(b: &[u8], ids: &mut [u64], long: &[u32], lower: u8) -> usize {
    use crate::shingle::{xxh3_9to16_8, XXH3_SECRET as K};
    use std::arch::x86_64::*;
    let one = |x: u64| _mm512_set1_epi64(x as i64);
    let lw = one(u64::from(lower) * 0x0101_0101_0101_0101);
    let base = b.as_ptr().cast::<i64>();
    let mut k = 0;
    while k + 8 <= long.len() {
        // SAFETY: places `k..k + 8` lie within `long`, and each lies within `ids`; each word's bytes lie within `b`
        // (the caller's promise).
        let at = _mm256_loadu_si256(long.as_ptr().add(k).cast());
        let w = _mm512_i32gather_epi64::<8>(at, ids.as_ptr().cast());
        let (start, n) = (_mm512_and_si512(w, one(0xFFFF_FFFF)), _mm512_srli_epi64::<32>(w));
        let head = _mm512_or_si512(_mm512_i64gather_epi64::<1>(start, base), lw);
        let last8 = _mm512_add_epi64(start, _mm512_sub_epi64(n, one(8)));
        let tail = _mm512_or_si512(_mm512_i64gather_epi64::<1>(last8, base), lw);
        let lo = _mm512_xor_si512(head, one(K[3] ^ K[4]));
        let hi = _mm512_xor_si512(tail, one(K[5] ^ K[6]));
        _mm512_i32scatter_epi64::<8>(ids.as_mut_ptr().cast(), at, xxh3_9to16_8(lo, hi, n));
        k += 8;
    }
    k
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

/// Bit `k` set when byte `at + k` of `b` is an ASCII letter or digit, or (when `latin`) a byte of a Latin-1 letter,
/// for the 64 bytes from `at` (bits past the end of `b` clear).
#[inline(always)]
fn alnum_bits64(b: &[u8], at: usize, latin: bool) -> u64 {
    let mask = ascii_bits64::<false>(b, at).0;
    if latin {
        mask | latin1_letter_bits64(b, at)
    } else {
        mask
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
    fn waiting_words_hash_to_xxh3_of_the_words() {
        // One at a time, and eight at a time where the processor can.
        #[cfg(target_arch = "x86_64")]
        let vector = has_avx512_bw();
        #[cfg(not(target_arch = "x86_64"))]
        let vector = false;
        eprintln!("eight words at a time: {vector}");
        let mut x = 0x0fed_cba9_8765_4321u64;
        let mut next = |m: u64| {
            x = crate::minhash::mix64(x.wrapping_add(0x9E37));
            x % m
        };
        // Letters, digits and a few other bytes (the gathers read the bytes around a word too).
        let bytes = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.\n\xC3\xA9";
        let mut scratch = WordScratch::default();
        for n in 1..=80usize {
            let b: Vec<u8> = (0..n).map(|_| bytes[next(bytes.len() as u64) as usize]).collect();
            for count in [0usize, 1, 7, 8, 9, 16, 17, 40] {
                for lower in [0u8, 0x20] {
                    // A value before `from` stays; some words are special (their ids given).
                    let (mut ids, mut want) = (vec![77u64], vec![77u64]);
                    scratch.long.clear();
                    for k in 0..count {
                        let len = 1 + next(16) as usize;
                        if k % 5 == 3 || len.max(8) > n {
                            scratch.specials.push((ids.len() - 1, k as u64));
                            ids.push(SPECIAL);
                            want.push(k as u64);
                            continue;
                        }
                        let s = next((n - len.max(8) + 1) as u64) as usize;
                        let lowered: Vec<u8> = b[s..s + len].iter().map(|&c| c | lower).collect();
                        if len > 8 {
                            scratch.long.push(ids.len() as u32 - 1);
                        }
                        ids.push(s as u64 | (len as u64) << 32);
                        want.push(xxh3_64(&lowered));
                    }
                    let (specials, long) = (scratch.specials.clone(), scratch.long.clone());
                    for avx512 in [false, vector] {
                        let mut got = ids.clone();
                        scratch.specials.clone_from(&specials);
                        scratch.long.clone_from(&long);
                        hash_waiting_words_with(&b, &mut got[1..], lower, &mut scratch, avx512);
                        assert_eq!(got, want, "{count} words of a {n}-byte text, lower {lower:#x}, {avx512}");
                        assert!(scratch.specials.is_empty());
                    }
                    scratch.specials.clear();
                    scratch.long.clear();
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
        let (mut word, mut taken) = (WordScratch::default(), 0);
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
    fn long_prose_as_the_normalizer() {
        // Texts of hundreds to thousands of bytes, so that whole blocks of plain words (no hyphen, no non-ASCII
        // byte) go at once where the processor can: words of 1 to 24 letters and digits, separators of spaces,
        // line breaks and punctuation, now and then a hyphen before a line break, a dash, a Latin-1 letter, a word
        // across a block's end.
        let mut x = 0x51AB_CDEF_1234_5678u64;
        let mut next = |m: u64| {
            x = crate::minhash::mix64(x.wrapping_add(0x77));
            x % m
        };
        let alnum: Vec<char> = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".chars().collect();
        let separators = [" ", " ", " ", "\n", ", ", ". ", " - ", "-\n", "\u{2014}", " \"", "; ", "\r\n"];
        let mut word = WordScratch::default();
        for round in 0..400 {
            let mut text = String::new();
            let len = 100 + next(3000) as usize;
            while text.len() < len {
                for _ in 0..1 + next(if round % 4 == 0 { 24 } else { 9 }) {
                    text.push(if round % 5 == 1 && next(40) == 0 { 'é' } else { alnum[next(62) as usize] });
                }
                let rare = round % 3 == 0 || next(8) == 0;
                text.push_str(separators[next(if rare { 12 } else { 4 }) as usize]);
            }
            for opts in [NormalizeOptions::default(), NormalizeOptions { lowercase: false, ..Default::default() }] {
                let mut ids = vec![5];
                let chars = ascii_unit_ids(&text, &opts, &mut ids, &mut word);
                if crate::normalize::hard_wrap_width(&text).is_some() {
                    continue;
                }
                assert_eq!(chars, Some(text.chars().count() as u32), "{text:?}");
                let mut want = vec![5];
                want.extend(general_ids(&text, &opts));
                assert_eq!(ids, want, "{text:?}");
            }
        }
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
            // Characters of other planes that NFKC leaves alone: emoji, a skin tone, a private-use character.
            "smile \u{1F600} and\u{1F44D}\u{1F3FB}thumbs \u{F0000}up",
        ];
        let mut word = WordScratch::default();
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
            // A symbol NFKC maps to "(A)".
            "\u{1F110}",
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
