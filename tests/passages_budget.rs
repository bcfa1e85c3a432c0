//! `passages` in bounded memory: with a memory budget small enough that the units, the n-gram postings, the
//! candidate pair counts and the texts all spill to disk (and hash buckets are read in several passes), the
//! outputs are byte-identical to those of a run that keeps everything in memory.

mod common;

use std::path::Path;

use textreuse::io::Input;
use textreuse::passages::{self, PassagesConfig, PassagesSummary};
use textreuse::progress::NoProgress;

use common::{root, shared};

fn run(input: &Path, out: &Path, budget: Option<u64>, with_text: bool) -> PassagesSummary {
    run_with(input, out, budget, with_text, false)
}

fn run_with(input: &Path, out: &Path, budget: Option<u64>, with_text: bool, rewritten: bool) -> PassagesSummary {
    let inputs = Input::from_args(&[input.to_str().unwrap()]).unwrap();
    let mut cfg = PassagesConfig { with_text, memory_budget: budget, ..PassagesConfig::default() };
    cfg.options.align.rewritten = rewritten;
    passages::run(&inputs, out, &cfg, &NoProgress).expect("passages run")
}

/// Runs `passages` on `input` in memory and with `budget` bytes; asserts identical outputs and that the budgeted
/// run spilled every kind of data. Returns the in-memory summary.
fn same_outputs(input: &Path, budget: u64, with_text: bool) -> PassagesSummary {
    let dir = tempfile::tempdir().unwrap();
    let (mem_out, disk_out) = (dir.path().join("mem"), dir.path().join("disk"));
    let mem = run(input, &mem_out, None, with_text);
    let disk = run(input, &disk_out, Some(budget), with_text);
    assert!(mem.spill.is_none(), "the default budget holds a small corpus in memory: {:?}", mem.spill);
    assert!(mem.alignments > 0, "the corpus has reused passages");
    for file in ["alignments.jsonl", "passages.jsonl"] {
        let (a, b) = (std::fs::read(mem_out.join(file)).unwrap(), std::fs::read(disk_out.join(file)).unwrap());
        assert!(a == b, "{file} differs with a budget of {budget} bytes ({} vs {} bytes)", a.len(), b.len());
    }
    let counts = |s: &PassagesSummary| {
        (
            s.documents,
            s.units,
            s.boilerplate_ngrams,
            s.candidate_pairs,
            s.aligned_pairs,
            s.alignments,
            s.passage_clusters,
        )
    };
    assert_eq!(counts(&mem), counts(&disk));
    let spill = disk.spill.expect("a tiny budget spills");
    assert_eq!(spill.memory_budget, budget);
    assert!(spill.units_bytes > 0 && spill.postings_bytes > 0, "{spill:?}");
    // A few candidate pairs fit in the smallest aggregate; many go to sorted runs.
    assert_eq!(spill.pair_runs_bytes > 0, mem.candidate_pairs > 100, "{spill:?}");
    assert!(spill.split_buckets > 0, "some hash bucket is read in parts: {spill:?}");
    assert_eq!(spill.texts_bytes > 0, with_text);
    // The alignments do not stay in memory: more than the budget of them went to sorted runs, and so did the spans
    // of the passage clustering.
    if mem.alignments >= 64 {
        assert!(spill.alignment_runs_raw_bytes > budget, "{spill:?}");
        assert!(spill.alignment_runs_bytes > 0 && spill.cluster_runs_bytes > 0, "{spill:?}");
    }
    // Every spill file was anonymous: nothing but the outputs (and the run's marker) is left.
    let mut names: Vec<String> = std::fs::read_dir(&disk_out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(names, ["alignments.jsonl", "passages.jsonl", "skipped.jsonl", "summary.json"]);
    mem
}

#[test]
fn rewritten_reuse_spilled_to_disk_gives_the_same_passages() {
    // The sentence bags stay in memory; units, postings and pair counts spill; the outputs must not change.
    let Some(dir) = shared("samples/seeds") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (mem_out, disk_out) = (tmp.path().join("mem"), tmp.path().join("disk"));
    let mem = run_with(&dir, &mem_out, None, false, true);
    let disk = run_with(&dir, &disk_out, Some(4 << 10), false, true);
    assert!(disk.spill.is_some() && mem.alignments > 0);
    for file in ["alignments.jsonl", "passages.jsonl"] {
        assert_eq!(std::fs::read(mem_out.join(file)).unwrap(), std::fs::read(disk_out.join(file)).unwrap(), "{file}");
    }
}

#[test]
fn examples_spilled_to_disk_give_the_same_passages() {
    same_outputs(&root().join("examples"), 1 << 10, true);
}

#[test]
fn seeds_spilled_to_disk_give_the_same_passages() {
    let Some(dir) = shared("samples/seeds") else { return };
    same_outputs(&dir, 4 << 10, true);
}

#[test]
fn zh_dev_spilled_to_disk_gives_the_same_passages() {
    let Some(dev) = shared("bench/zh-dev") else { return };
    // 16 KiB: the alignments (80 bytes each before compression) exceed the budget several times.
    let s = same_outputs(&dev.join("corpus.jsonl"), 16 << 10, false);
    assert!(s.candidate_pairs > 1000, "zh-dev has many candidate pairs: {}", s.candidate_pairs);
    assert!(s.alignments * 80 > 4 * (16 << 10), "zh-dev has many alignments: {}", s.alignments);
}
