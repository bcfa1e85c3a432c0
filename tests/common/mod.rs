//! Helpers shared by the integration tests.
//!
//! Tests on `../shared` must not carry its text: where a test needs to find a passage of a seed, it names it by the
//! FNV-1a hash and length (in characters) of the passage, and searches the text for it.
#![allow(dead_code)]

use std::path::PathBuf;

use textreuse::normalize::{normalize, NormalizeOptions};

/// The repository root (absolute).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// `../shared/SUB` beside the repository, or `None` with a visible skip note where it is absent.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let p = root().join("../shared").join(sub);
    if p.exists() {
        Some(p)
    } else {
        skip_note(&format!("skipped: ../shared/{sub} is absent"));
        None
    }
}

/// A deterministic pseudo-random text of `len` characters drawn from `alphabet` (a small alphabet gives short
/// chance repeats too).
pub fn noise_over(alphabet: &str, seed: u64, len: usize) -> String {
    let alphabet: Vec<char> = alphabet.chars().collect();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            alphabet[(x >> 33) as usize % alphabet.len()]
        })
        .collect()
}

/// 64-bit FNV-1a of a string's UTF-8 bytes.
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A passage known by hash and length in characters.
#[derive(Clone, Copy, Debug)]
pub struct Phrase {
    pub hash: u64,
    pub len: usize,
}

/// Character offsets where `p` stands in `chars` (exact characters).
pub fn occurrences(chars: &[char], p: Phrase) -> Vec<usize> {
    if chars.len() < p.len {
        return Vec::new();
    }
    (0..=chars.len() - p.len).filter(|&i| fnv(&chars[i..i + p.len].iter().collect::<String>()) == p.hash).collect()
}

/// Code point offset in `text` where `p` stands after normalization (script, width, line breaks and punctuation
/// aside); `p` names the normalized passage.
pub fn find_normalized(text: &str, p: Phrase) -> Option<u32> {
    let n = normalize(text, &NormalizeOptions::default());
    let chars: Vec<char> = n.text.chars().collect();
    occurrences(&chars, p).first().map(|&k| n.offsets[k])
}

/// Says that a test skipped some of its work (no `../shared`, no browser), visibly in `cargo test`'s normal output:
/// written to the standard error handle, which the test harness does not capture (it captures `eprintln!`, which
/// is shown only for failing tests or under `--nocapture`).
pub fn skip_note(what: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    let _ = writeln!(std::io::stderr(), "note: {test}: {what}");
}
