//! Normalization on the real seeds and property tests of the offset map.

use std::collections::HashSet;
use std::path::PathBuf;

use proptest::prelude::*;
use textreuse::normalize::{normalize, NormalizeOptions};

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.join("samples/seeds").is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared/samples/seeds is absent");
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
