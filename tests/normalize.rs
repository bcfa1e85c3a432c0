//! Normalization on the real seeds and property tests of the offset map.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;

use proptest::prelude::*;
use textreuse::core::dedup::{shingle_set_of_document, DedupOptions, Fingerprinter};
use textreuse::normalize::{
    hard_wrap_width, normalize, normalize_text_into, normalize_unconverted_into, NormalizeOptions,
};
use textreuse::shingle::{
    narrow_set, shingle_set, shingle_set_of_text, shingle_set_of_unconverted, units, Ngram, ShingleBuffers,
};

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.join("samples/seeds").is_dir() {
        Some(p)
    } else {
        common::skip_note("skipped: ../shared/samples/seeds is absent");
        None
    }
}

fn seed(shared: &std::path::Path, prefix: &str) -> String {
    let dir = shared.join("samples/seeds");
    let entry = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .expect("seed file");
    std::fs::read_to_string(entry).unwrap()
}

/// Windows of `w` normalized characters of `a` (every `step`) that also stand in `b`.
fn shared_windows(a: &str, b: &str, w: usize, step: usize) -> (usize, usize) {
    let ac: Vec<char> = a.chars().collect();
    let bc: Vec<char> = b.chars().collect();
    let set: HashSet<&[char]> = bc.windows(w).collect();
    let mut total = 0;
    let mut hits = 0;
    for k in (0..ac.len().saturating_sub(w)).step_by(step) {
        total += 1;
        if set.contains(&ac[k..k + w]) {
            hits += 1;
        }
    }
    (hits, total)
}

#[test]
fn traditional_seed_normalizes_to_the_simplified_text() {
    let Some(sh) = shared() else { return };
    let opts = NormalizeOptions::default();
    let trad = normalize(&seed(&sh, "001"), &opts);
    let simp = normalize(&seed(&sh, "000"), &opts);
    // Column breaks and punctuation vanish.
    assert!(!trad.text.contains(char::is_whitespace) && !simp.text.contains(char::is_whitespace));
    assert!(!simp.text.contains('，') && !simp.text.contains('。'));
    // 001 reprints the press meeting of 000 in traditional script: after normalization long runs are identical.
    let (hits, total) = shared_windows(&trad.text, &simp.text, 30, 10);
    assert!(hits >= 60, "only {hits} of {total} 30-character windows of 001 stand in 000");
    // Without script conversion almost none match.
    let raw = NormalizeOptions { traditional_to_simplified: false, ..opts };
    let (raw_hits, _) = shared_windows(&normalize(&seed(&sh, "001"), &raw).text, &simp.text, 30, 10);
    assert!(raw_hits * 10 < hits, "{raw_hits} windows match without conversion, {hits} with");
}

#[test]
fn seed_offsets_point_at_the_original_characters() {
    let Some(sh) = shared() else { return };
    for prefix in ["000", "001", "002", "003", "004"] {
        let text = seed(&sh, prefix);
        let orig: Vec<char> = text.chars().collect();
        let n = normalize(&text, &NormalizeOptions::default());
        assert_eq!(n.original_len as usize, orig.len());
        for (k, c) in n.text.chars().enumerate() {
            let o = orig[n.offsets[k] as usize];
            if c.is_ascii_alphanumeric() {
                // The same letter or digit, lower-cased, or a full-width or other compatibility form of it.
                assert!(o.to_ascii_lowercase() == c || !o.is_ascii(), "seed {prefix}: {c} maps to {o:?}");
            } else if !c.is_whitespace() {
                // A CJK character comes from a CJK character (itself, or its traditional or full-width form).
                assert!(!o.is_whitespace() && !o.is_ascii_punctuation(), "seed {prefix}: {c} maps to {o:?}");
            }
        }
    }
}

fn any_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "習近平",
        "会谈",
        "於",
        "乾燥",
        "，",
        "。",
        "「",
        "」",
        "\n",
        " ",
        "\u{3000}",
        "Ａｂ",
        "abc",
        "Hello",
        "-",
        "-\n",
        "e\u{301}",
        "ﬁ",
        "㈱",
        "①",
        "\r\n",
        "ｶﾞ",
        "한국",
        "カタカナ",
        "😀",
        "\u{200b}",
        "3.14",
        "don't",
        "\t",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn offsets_are_monotonic_and_in_range(text in any_text()) {
        let n = normalize(&text, &NormalizeOptions::default());
        let len = text.chars().count() as u32;
        prop_assert_eq!(n.original_len, len);
        prop_assert_eq!(n.offsets.len(), n.text.chars().count());
        for w in n.offsets.windows(2) {
            prop_assert!(w[0] <= w[1]);
        }
        for &o in &n.offsets {
            prop_assert!(o < len);
        }
        if !n.is_empty() {
            let (s, e) = n.original_span(0, n.len()).unwrap();
            prop_assert!(s < e && e <= len);
        }
    }

    #[test]
    fn identity_steps_round_trip(text in any_text()) {
        // With every changing step off, each normalized character is the original character at its offset.
        let opts = NormalizeOptions {
            nfkc: false, fold_width: false, lowercase: false, traditional_to_simplified: false,
            strip_punctuation: true, strip_whitespace: true,
        };
        let n = normalize(&text, &opts);
        let orig: Vec<char> = text.chars().collect();
        for (k, c) in n.text.chars().enumerate() {
            if c != ' ' {
                prop_assert_eq!(orig[n.offsets[k] as usize], c);
            }
        }
    }

    #[test]
    fn normalization_is_idempotent(text in any_text()) {
        let opts = NormalizeOptions::default();
        let once = normalize(&text, &opts).text;
        prop_assert_eq!(normalize(&once, &opts).text, once);
    }
}

// ---- The fast paths against the character-by-character definition ----

mod reference;

/// Random text mixing what corpora contain: ASCII words and punctuation, Latin letters with diacritics (composed and
/// decomposed), full-width and half-width forms, simplified and traditional Chinese (phrases the script conversion
/// maps, some to a different length), kana, Hangul syllables and jamo, CJK punctuation, combining marks, emoji, ZWJ
/// sequences, astral ideographs, controls and every kind of line break; optionally hard-wrapped into equal lines.
fn mixed_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        // Sources of zhconv's zh-CN rules, whole or cut short, so that phrases overlap and nearly match.
        2 => (prop::sample::select(t2s_sources()), 0usize..4).prop_map(|(s, cut)| {
            let n = s.chars().count();
            s.chars().take(if cut == 0 { n } else { n.saturating_sub(cut).max(1) }).collect::<String>()
        }),
        3 => prop::sample::select(vec![
            "習近平", "会谈", "於", "乾燥", "乾隆", "衞生", "徵求意見", "圖書館", "著", "後", "台灣", "臺灣", "裏", "𠮶",
            "，", "。", "、", "「", "」", "『", "』", "《", "》", "…", "—", "·", "・", "（", "）", "：", "！",
            "\n", "\n\n", " ", "  ", "\u{3000}", "\t", "\r\n", "\r", "\u{2028}", "\u{85}", "\u{b}",
            "Ａｂ", "ＡＢＣ", "１２", "abc", "Hello", "WORLD", "don't", "3.14", "a.b", "1,000", "x'y",
            "-", "-\n", "–", "café", "cafe\u{301}", "Ångström", "A\u{30a}", "naïve", "İ", "ß", "Σ", "ǅ", "ﬁ",
            "㈱", "①", "㍿", "\u{fdfa}", "ｶﾞ", "ｶ\u{ff9e}", "か\u{3099}", "한국", "\u{1100}\u{1161}\u{11a8}",
            "カタカナ", "ｶﾀｶﾅ", "😀", "👍🏽", "👨\u{200d}👩\u{200d}👧", "🇨🇳", "\u{200b}", "\u{200d}", "\u{feff}",
            "\u{301}", "\u{308}\u{301}", "\u{323}\u{302}", "e\u{323}\u{302}", "\u{1d165}", "\u{11000}",
            "\u{a0}", "\u{ad}", "\u{80}", "\u{7f}", "\u{0}", "\u{2f800}", "\u{f900}", "\u{fa10}",
        ]).prop_map(str::to_string),
        2 => prop::collection::vec(
            prop_oneof![
                0x20u32..0x7f, 0xa0u32..0x250, 0x300u32..0x370, 0x370u32..0x400, 0x590u32..0x600,
                0x1100u32..0x1200, 0x2000u32..0x2070, 0x3000u32..0x3100, 0x3400u32..0x3500, 0x4e00u32..0xa000,
                0xac00u32..0xd7a4, 0xf900u32..0xfb00, 0xfe30u32..0xfe70, 0xff00u32..0xfff0, 0x1f300u32..0x1fb00,
                0x20000u32..0x20100, 0x2f800u32..0x2fa20, 0u32..0x110000,
            ]
            .prop_filter_map("a char", char::from_u32),
            1..6,
        )
        .prop_map(|cs| cs.into_iter().collect::<String>()),
    ];
    (prop::collection::vec(piece, 0..40), prop::option::of(4usize..20))
        .prop_map(|(pieces, wrap)| hard_wrapped(pieces.concat(), wrap))
}

/// `text` hard-wrapped when `wrap` is set: its line breaks removed, then one after every `wrap` characters.
fn hard_wrapped(text: String, wrap: Option<usize>) -> String {
    match wrap {
        Some(w) => {
            let chars: Vec<char> = text.chars().filter(|&c| c != '\n').collect();
            chars.chunks(w).map(|l| l.iter().collect::<String>()).collect::<Vec<_>>().join("\n")
        }
        None => text,
    }
}

/// Random Chinese text, as Chinese corpora hold it: long runs of CJK Unified Ideographs, simplified and traditional
/// (sources of the script conversion's rules, whole or cut short, and random ideographs from the whole block),
/// broken by CJK punctuation, full-width forms, ASCII words and numbers (`16進位`), spaces and line breaks;
/// optionally hard-wrapped into equal lines. What the conversion walk's per-ideograph look-up and the normalizer's
/// ideograph runs (five characters at a time) meet most.
fn chinese_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => (prop::sample::select(t2s_sources()), 0usize..3).prop_map(|(s, cut)| {
            let n = s.chars().count();
            s.chars().take(if cut == 0 { n } else { n.saturating_sub(cut).max(1) }).collect::<String>()
        }),
        4 => prop::collection::vec((0x4e00u32..0xa000).prop_filter_map("a char", char::from_u32), 1..12)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
        4 => prop::sample::select(vec![
            "的", "是", "中国", "新闻", "发展", "經濟", "發展", "會議", "國際", "臺灣", "乾燥", "於是", "一", "龥",
            "丁", "\u{9fff}", "\u{4dff}", "\u{a000}", "進位", "位址",
        ]).prop_map(str::to_string),
        3 => prop::sample::select(vec![
            "，", "。", "、", "“", "”", "「", "」", "《", "》", "：", "；", "！", "？", "（", "）", "—", "…", "·",
            "\u{3000}", "\u{a0}", "Ａ", "１２", "ｐｋ", "\n", "\n\n", "\r\n", " ", "-", "-\n", "16", "IP", "ip",
            "2017年", "3-0", "PK", "abc def", "CEO", "1.5", "カ", "한",
        ]).prop_map(str::to_string),
    ];
    (prop::collection::vec(piece, 0..60), prop::option::of(4usize..30))
        .prop_map(|(pieces, wrap)| hard_wrapped(pieces.concat(), wrap))
}

/// The sources of zhconv's zh-CN conversion rules.
fn t2s_sources() -> Vec<String> {
    [zhconv::tables::ZH_HANS_TABLE, zhconv::tables::ZH_CN_TABLE]
        .into_iter()
        .flat_map(|t| zhconv::tables::expand_table(t).map(|(from, _)| from).collect::<Vec<_>>())
        .collect()
}

/// Only the script conversion: every other step off, so that normalization is the conversion alone.
const T2S_ONLY: NormalizeOptions = NormalizeOptions {
    nfkc: false,
    fold_width: false,
    lowercase: false,
    strip_punctuation: false,
    strip_whitespace: false,
    traditional_to_simplified: true,
};

/// The reference converts with zhconv's own automaton.
#[test]
fn every_conversion_rule_converts_as_zhconv() {
    // Each source alone, between two characters, twice, and followed by the next source (sorted, so that sources
    // sharing a prefix meet).
    let mut sources = t2s_sources();
    sources.sort();
    assert!(sources.len() > 5000);
    for (k, s) in sources.iter().enumerate() {
        let next = &sources[(k + 1) % sources.len()];
        for text in [s.clone(), format!("的{s}了"), format!("{s}{s}"), format!("{s}{next}")] {
            let (fast, slow) = (normalize(&text, &T2S_ONLY), reference::normalize(&text, &T2S_ONLY));
            assert_eq!((&fast.text, &fast.offsets), (&slow.text, &slow.offsets), "{text}");
        }
    }
}

fn any_options() -> impl Strategy<Value = NormalizeOptions> {
    prop::array::uniform6(prop::bool::weighted(0.8)).prop_map(|b| NormalizeOptions {
        nfkc: b[0],
        fold_width: b[1],
        lowercase: b[2],
        strip_punctuation: b[3],
        strip_whitespace: b[4],
        traditional_to_simplified: b[5],
    })
}

/// Asserts that the library and the reference agree on `text` with `opts`: normalized text, offset map, original
/// length, the text-only path, the hard-wrap width, units and shingle sets.
fn assert_same_as_reference(text: &str, opts: &NormalizeOptions) -> Result<(), TestCaseError> {
    let fast = normalize(text, opts);
    let slow = reference::normalize(text, opts);
    prop_assert_eq!(&fast.text, &slow.text, "text of {:?}", text);
    prop_assert_eq!(&fast.offsets, &slow.offsets, "offsets of {:?}", text);
    prop_assert_eq!(fast.original_len, slow.original_len);
    let (mut out, mut scratch) = (String::from("stale"), String::from("stale"));
    let len = normalize_text_into(text, opts, &mut out, &mut scratch);
    prop_assert_eq!(&out, &slow.text);
    prop_assert_eq!(len, slow.original_len);
    prop_assert_eq!(hard_wrap_width(text), reference::hard_wrap_width(text));
    // Fingerprinting's path: every step but the script conversion, which runs while units are cut.
    let mut part = String::from("stale");
    let (len, n_chars) = normalize_unconverted_into(text, opts, &mut part);
    prop_assert_eq!(len, slow.original_len);
    prop_assert_eq!(n_chars, part.chars().count());
    let mut buf = ShingleBuffers::default();
    for n in [1, 4, 7] {
        let expected = reference::shingle_set(&reference::units(&slow.text), n, 42);
        prop_assert_eq!(&shingle_set_of_unconverted(&part, n_chars, opts, n, 42, &mut buf), &expected);
    }
    let n = Ngram { n: 4, word_n: 2 };
    let expected = shingle_set(&units(&slow.text), n, 42);
    prop_assert_eq!(&shingle_set_of_unconverted(&part, n_chars, opts, n, 42, &mut buf), &expected);
    for t in [text, slow.text.as_str()] {
        let (fu, su) = (units(t), reference::units(t));
        prop_assert_eq!(&fu, &su, "units of {:?}", t);
        for n in [1, 4, 7] {
            let expected = reference::shingle_set(&su, n, 42);
            prop_assert_eq!(&shingle_set(&fu, n, 42), &expected);
            prop_assert_eq!(&shingle_set_of_text(t, n, 42, &mut ShingleBuffers::default()), &expected);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn fast_paths_equal_the_reference(text in mixed_text(), opts in any_options()) {
        assert_same_as_reference(&text, &opts)?;
        assert_same_as_reference(&text, &NormalizeOptions::default())?;
        assert_same_as_reference(&text, &T2S_ONLY)?;
    }
}

#[test]
fn every_bmp_character_normalizes_as_the_reference() {
    // Each character alone, after a letter and before a combining mark, after a hyphen and before a line break
    // (the gap it leaves decides whether the hyphen joins), before an ideograph, with default and with raw settings.
    let raw = NormalizeOptions {
        nfkc: true,
        fold_width: false,
        lowercase: false,
        strip_punctuation: false,
        strip_whitespace: false,
        traditional_to_simplified: false,
    };
    let mut checked = 0;
    for u in 0..0x10000u32 {
        let Some(c) = char::from_u32(u) else { continue };
        for text in [c.to_string(), format!("a{c}\u{301}b"), format!("{c}{c}\u{3099}\n"), format!("a-{c}\nb{c}一")] {
            for opts in [NormalizeOptions::default(), raw] {
                let (fast, slow) = (normalize(&text, &opts), reference::normalize(&text, &opts));
                assert_eq!((&fast.text, &fast.offsets), (&slow.text, &slow.offsets), "{text:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 8 * 60_000);
}

#[test]
fn characters_of_other_planes_between_words_fingerprint_as_the_reference() {
    // Emoji and other symbols, the enclosed alphanumerics NFKC maps to ASCII, tags, private use, letters and CJK
    // ideographs of the supplementary planes, and every 997th code point there: between words (which the ASCII path
    // takes when the character is a separator), after a hyphen before a line break, before a combining mark and a
    // variation selector, long enough for the ASCII path's blocks; default, raw and unfolded settings.
    let raw = NormalizeOptions { strip_punctuation: false, strip_whitespace: false, ..NormalizeOptions::default() };
    let no_nfkc = NormalizeOptions { nfkc: false, ..NormalizeOptions::default() };
    let words = "The Senate voted 52 to 48 on the bill that the House passed in March";
    let mut checked = 0;
    let picked = (0x1F300..0x1F330).chain(0x1F100..0x1F150).chain([0x1F600, 0xE0041, 0xF0000, 0x10400, 0x20000]);
    for u in picked.chain((0x10000..=0x10FFFF).step_by(997)) {
        let Some(c) = char::from_u32(u) else { continue };
        for text in [
            words.replace(' ', &format!(" {c} ")),
            words.replace(' ', &c.to_string()),
            format!("{words}-{c}\nnext {c}\u{301} a{c}\u{fe0f}b {words}"),
        ] {
            for opts in [NormalizeOptions::default(), raw, no_nfkc] {
                assert_fingerprint_as_reference(&text, &opts).unwrap();
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 3 * (48 + 80 + 5 + 0x100000 / 997 + 1));
}

#[test]
fn every_ascii_byte_between_words_normalizes_as_the_reference() {
    // Each ASCII byte (one, two, or before a space) between words of every length, long enough for the normalizer's
    // blocks of 64 bytes, at every place in a block; ragged and hard-wrapped, with LF and CRLF line ends; with the
    // default settings, without lower-casing, and with raw ones.
    let keep_case = NormalizeOptions { lowercase: false, ..NormalizeOptions::default() };
    let raw = NormalizeOptions { strip_punctuation: false, strip_whitespace: false, ..NormalizeOptions::default() };
    let mut checked = 0;
    for b in 0u8..0x80 {
        let b = char::from(b);
        for gap in [b.to_string(), format!("{b}{b}"), format!("{b} "), format!(" {b}")] {
            let words: Vec<String> =
                (1..40).map(|k| "AbcdefghiJ0123456789".chars().cycle().skip(k).take(k % 13 + 1).collect()).collect();
            let text = words.join(&gap);
            for t in [text.clone(), format!("é{text}-\n{text}"), wrapped(&text, 17, "\n"), wrapped(&text, 9, "\r\n")] {
                for opts in [NormalizeOptions::default(), keep_case, raw] {
                    assert_same_as_reference(&t, &opts).unwrap();
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 128 * 4 * 4 * 3);
}

/// `text` cut into lines of `width` characters ended by `end`.
fn wrapped(text: &str, width: usize, end: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(width).map(|l| l.iter().collect::<String>()).collect::<Vec<_>>().join(end)
}

#[test]
fn seeds_normalize_as_the_reference() {
    let Some(sh) = shared() else { return };
    for prefix in ["000", "001", "002", "003", "004"] {
        let text = seed(&sh, prefix);
        assert_same_as_reference(&text, &NormalizeOptions::default()).unwrap();
    }
}

// ---- The all-ASCII path of fingerprinting against normalizing and cutting units ----

/// Random ASCII text like OCR of newspaper columns: words in any case, digits with periods and commas,
/// apostrophes, hyphens at line ends (before a line break, spaces, a carriage return, another hyphen), every kind
/// of ASCII space, control and punctuation character; optionally hard-wrapped into equal lines; with up to four
/// non-ASCII characters: separators the ASCII path takes (dashes, quotation marks, symbols, spaces, line breaks)
/// and characters that leave it (letters, marks, characters NFKC expands, CJK).
fn ocr_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "the", "The", "COUNCIL", "a", "I", "of", "mayor's", "don't", "3.14", "1,000", "1.000,5", "a.b", "x'y",
            "'tis", "rock'n'roll", "1916", "No", "3", "aVbuxom", "supercalifragilisticexpialidocious", "ABCDEFGHIJKLMNOPQ",
            "abcdefgh", "abcdefghi",
        ]).prop_map(str::to_string),
        4 => prop::sample::select(vec![
            " ", " ", " ", "  ", "\n", "\n\n", "\r\n", "\r", "\t", "\x0b", "\x0c", "\x00", "\x1f", "\x7f", "-", "-\n",
            "- \n", "-\n\n", "-\r\n", "-\r", "--\n", " -\n", "-\n-", "\n-", ",", ".", ";", ":", "\"", "'", "!", "?",
            "(", ")", "$", "&", "...", ", ", ". ", "'\n",
        ]).prop_map(str::to_string),
        2 => prop::collection::vec(0x00u8..0x80, 1..5).prop_map(|b| String::from_utf8(b).expect("ASCII")),
        1 => prop::collection::vec(prop::sample::select(b"abcXYZ019".to_vec()), 1..30)
            .prop_map(|b| String::from_utf8(b).expect("ASCII")),
    ];
    (
        prop::collection::vec(piece, 0..60),
        prop::option::of(4usize..30),
        prop::collection::vec(
            (
                0usize..200,
                prop::sample::select(vec![
                    "é",
                    "’",
                    "‘",
                    "“",
                    "”",
                    "—",
                    "—\n",
                    "-—",
                    "–",
                    "ß",
                    "\u{a0}",
                    "\u{ad}",
                    "\u{3000}",
                    "中",
                    "£",
                    "¬",
                    "½",
                    "…",
                    "①",
                    "Ａ",
                    "\u{301}",
                    "—\u{301}",
                    "\u{85}",
                    "\u{2028}",
                    "\u{2029}",
                    "—\u{2028}",
                    "·",
                    "¦",
                    "\u{200b}",
                    "\u{feff}",
                    "😀",
                    "\u{80}",
                    "ﬁ",
                    // Latin-1 letters (the ASCII path takes them in words), capitals, ß, ÿ, × and ÷ (symbols), and
                    // what NFKC changes or composes (ª, º, µ, ², a combining mark after a letter).
                    "É",
                    "Ü",
                    "ÜBER",
                    "Straße",
                    "Größe",
                    "ÿ",
                    "Þ",
                    "Ã",
                    "ö-\n",
                    "×",
                    "÷",
                    "ª",
                    "º",
                    "µ",
                    "²",
                    "é\u{301}",
                ]),
            ),
            0..6,
        ),
    )
        .prop_map(|(pieces, wrap, extras)| {
            let mut text = pieces.concat();
            if let Some(w) = wrap {
                // Hard-wrapped: a line break after every `w` characters.
                let chars: Vec<char> = text.chars().filter(|&c| c != '\n').collect();
                text = chars.chunks(w).map(|l| l.iter().collect::<String>()).collect::<Vec<_>>().join("\n");
            }
            for (at, s) in extras {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.insert_str(at, s);
            }
            text
        })
}

/// Fingerprinting's shingle set and length of `text` (the all-ASCII path where it applies) against the reference
/// normalization, cut into units.
fn assert_fingerprint_as_reference(text: &str, opts: &NormalizeOptions) -> Result<(), TestCaseError> {
    let slow = reference::normalize(text, opts);
    for (ngram, word_ngram) in [(4, Some(2)), (1, None), (5, None)] {
        let options = DedupOptions { normalize: *opts, ngram, word_ngram, seed: 42, ..DedupOptions::default() };
        let f = Fingerprinter::new(&options).expect("valid options");
        let expected = shingle_set(&units(&slow.text), options.shingle_ngram(), 42);
        prop_assert_eq!(&f.shingle_hashes(text), &expected, "shingles of {:?}", text);
        let document = shingle_set_of_document(text, opts, options.shingle_ngram(), 42);
        prop_assert_eq!(&document, &expected, "document shingles of {:?}", text);
        let narrow = narrow_set(&expected);
        prop_assert_eq!(&f.shingles(text), &narrow, "shingles of {:?}", text);
        let fp = f.fingerprint(text);
        prop_assert_eq!(fp.as_ref().map(|p| &p.shingles), (!expected.is_empty()).then_some(&narrow));
        if let Some(p) = fp {
            prop_assert_eq!(p.chars, u64::from(slow.original_len));
            prop_assert_eq!(&p.signature, &f.hasher().signature(&expected));
        }
    }
    Ok(())
}

/// Words of 1 to 24 ASCII letters and digits (either case; in some texts Latin-1 letters too, in some of their
/// words) between separators, up to 600 of them: ASCII separators only, or also non-ASCII ones (curly quotes, a
/// no-break space, a bullet), or also dashes that fold to a hyphen and join words across a line break as `-` does
/// (`—`, a fullwidth hyphen-minus).
fn ascii_prose() -> impl Strategy<Value = String> {
    let ascii = vec![" ", " ", " ", ", ", ". ", "\n", "-", "-\n", " - ", "'", "\t"];
    let mut unicode = ascii.clone();
    unicode.extend(["’", "’", " “", "” ", "\u{a0}", "…\n", "-’", "’-\n", " • ", "’\n"]);
    let mut dashes = unicode.clone();
    dashes.extend(["—", " — ", "—\n", "－\n", "－", "’—\n"]);
    let word = |letters: &str| {
        prop::collection::vec(prop::sample::select(letters.chars().collect::<Vec<char>>()), 1..25)
            .prop_map(|w| w.into_iter().collect::<String>())
    };
    (prop::bool::weighted(0.25), prop_oneof![Just(ascii), Just(unicode), Just(dashes)]).prop_flat_map(
        move |(latin, separators)| {
            let plain = word("abcdefXYZ0189");
            // In a text with Latin-1 letters, one word in six has them.
            let words = if latin {
                prop_oneof![5 => plain, 1 => word("abcdefXYZ0189éÉüÜßÿ")].boxed()
            } else {
                plain.boxed()
            };
            prop::collection::vec((words, prop::sample::select(separators)), 0..600)
                .prop_map(|v| v.into_iter().map(|(w, s)| w + s).collect::<String>())
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn ascii_fingerprints_equal_the_reference(text in ocr_text(), opts in any_options()) {
        assert_fingerprint_as_reference(&text, &NormalizeOptions::default())?;
        assert_fingerprint_as_reference(&text, &opts)?;
    }

    /// ASCII prose long enough for the ASCII path's batches of word hashes (32 words of one length class) to fill
    /// several times, words of every length, and for its blocks of 64 bytes (with non-ASCII separators or without).
    #[test]
    fn long_ascii_fingerprints_equal_the_reference(text in ascii_prose(), opts in any_options()) {
        assert_fingerprint_as_reference(&text, &NormalizeOptions::default())?;
        assert_fingerprint_as_reference(&text, &opts)?;
    }

    #[test]
    fn mixed_fingerprints_equal_the_reference(text in mixed_text()) {
        assert_fingerprint_as_reference(&text, &NormalizeOptions::default())?;
    }

    #[test]
    fn chinese_text_equals_the_reference(text in chinese_text(), opts in any_options()) {
        assert_same_as_reference(&text, &NormalizeOptions::default())?;
        assert_fingerprint_as_reference(&text, &NormalizeOptions::default())?;
        assert_same_as_reference(&text, &opts)?;
    }
}
