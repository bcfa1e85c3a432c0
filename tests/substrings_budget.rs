//! `substrings` with a memory budget: the corpus spilled to disk (units, window fingerprints, later occurrences,
//! several position ranges) gives exactly the spans of one in-memory suffix array over the whole corpus, including
//! the repeats that `--shard-units` misses across shards.

mod common;

use std::path::{Path, PathBuf};

use textreuse::io::Input;
use textreuse::progress::NoProgress;
use textreuse::substrings::{self, SubstringsConfig, SubstringsSummary};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn config(budget: Option<u64>, shard_units: usize) -> SubstringsConfig {
    SubstringsConfig {
        read: Default::default(),
        normalize: Default::default(),
        min_length: 20,
        remove: true,
        shard_units,
        strict: false,
        memory_budget: budget,
    }
}

fn run(input: &Path, out: &Path, cfg: &SubstringsConfig) -> SubstringsSummary {
    let inputs = Input::from_args(&[input.to_str().unwrap()]).unwrap();
    substrings::run(&inputs, out, cfg, &NoProgress).expect("substrings run")
}

/// Runs `substrings` on `input` in memory (one shard) and with `budget` bytes; asserts identical outputs and that
/// the budgeted run spilled and used several ranges. Returns both summaries.
fn same_spans(input: &Path, budget: u64) -> (SubstringsSummary, SubstringsSummary) {
    let dir = tempfile::tempdir().unwrap();
    let (mem_out, disk_out) = (dir.path().join("mem"), dir.path().join("disk"));
    let mem = run(input, &mem_out, &config(None, usize::MAX));
    let disk = run(input, &disk_out, &config(Some(budget), usize::MAX));
    assert_eq!(mem.shards, 1);
    assert!(mem.duplicate_spans > 0, "the corpus has repeats");
    for file in ["duplicates.jsonl", "deduplicated.jsonl"] {
        let (a, b) = (std::fs::read(mem_out.join(file)).unwrap(), std::fs::read(disk_out.join(file)).unwrap());
        assert!(a == b, "{file} differs with a budget of {budget} bytes ({} vs {} bytes)", a.len(), b.len());
    }
    assert_eq!(
        (mem.documents, mem.units, mem.duplicate_spans, mem.duplicate_units, mem.duplicate_chars),
        (disk.documents, disk.units, disk.duplicate_spans, disk.duplicate_units, disk.duplicate_chars)
    );
    let spill = disk.spill.clone().expect("a budgeted run reports its spill");
    assert!(spill.units_bytes > 0 && spill.windows_bytes > 0 && spill.texts_bytes > 0, "{spill:?}");
    assert!(spill.ranges > 1, "several position ranges: {spill:?}");
    (mem, disk)
}

/// A deterministic pseudo-random text over a small alphabet.
fn noise(seed: u64, len: usize) -> String {
    common::noise_over("天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏金生丽水玉出昆冈", seed, len)
}

#[test]
fn repeats_across_shards_are_found_with_a_budget() {
    // 40 documents; a wire text printed in the first, again (whole or cut) in later ones, twice in one.
    let wire = noise(99, 300);
    let texts: Vec<String> = (0..40u64)
        .map(|i| match i % 7 {
            0 => format!("{}{}{}", noise(i, 200), wire, noise(i + 100, 50)),
            3 => format!("{}{}", &wire[..wire.char_indices().nth(150).unwrap().0], noise(i, 400)),
            5 => format!("{wire}{}{wire}", noise(i, 30)),
            _ => noise(i, 500),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    let body: String = texts
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"id": format!("d{i:02}"), "text": t}).to_string() + "\n")
        .collect();
    std::fs::write(&corpus, body).unwrap();
    let (mem, _) = same_spans(&corpus, 2 << 10);
    // Shards of about two documents miss the repeats of the wire text in later shards; the budget does not.
    let sharded = run(&corpus, &dir.path().join("sharded"), &config(None, 1000));
    assert!(sharded.shards > 10);
    assert!(sharded.duplicate_units < mem.duplicate_units, "{} vs {}", sharded.duplicate_units, mem.duplicate_units);
}

#[test]
fn examples_spilled_to_disk_give_the_same_spans() {
    same_spans(&root().join("examples"), 1 << 10);
}

#[test]
fn zh_dev_spilled_to_disk_gives_the_same_spans() {
    let dev = root().join("../shared/bench/zh-dev/corpus.jsonl");
    if !dev.exists() {
        common::skip_note("skipped: ../shared/bench/zh-dev is absent");
        return;
    }
    same_spans(&dev, 1 << 20);
}
