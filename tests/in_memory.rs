//! The in-memory API of `textreuse-core` gives the file jobs' results: zh-dev deduplicated with `Deduper` and the
//! seeds aligned with `PassageIndex` and `align_pair`, compared with what the CLI writes. The only file access on
//! the API side is reading the inputs into strings. Skips with a message where `../shared` is absent.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use textreuse::core::dedup::{DedupOptions, Deduper};
use textreuse::core::passages::{align_pair, passage_clusters, PassageIndex, PassageOptions};

use common::shared;

fn cli(job: &str, input: &Path, out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_textreuse"))
        .arg(job)
        .arg(input)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .expect("run textreuse");
    assert!(o.status.success(), "textreuse {job} failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

#[test]
fn deduper_on_zh_dev_equals_the_dedup_job() {
    let Some(dir) = shared("bench/zh-dev") else { return };
    let corpus = dir.join("corpus.jsonl");
    let tmp = tempfile::tempdir().unwrap();
    cli("dedup", &corpus, tmp.path());

    // The in-memory side: records read into strings, then only the API.
    let docs: Vec<(String, String)> = std::fs::read_to_string(&corpus)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string())
        })
        .collect();
    let mut deduper = Deduper::new(DedupOptions::default()).unwrap();
    let (first, rest) = docs.split_at(docs.len() / 2);
    for (id, text) in first {
        deduper.add(id, text).unwrap();
    }
    assert!(deduper.add_batch(rest).iter().all(|r| r.is_ok()));
    let result = deduper.finish();

    let clusters: Vec<Value> = (0..result.len())
        .map(|d| {
            json!({"id": result.ids[d], "cluster": result.cluster_of(d), "size": result.search.clusters.size[d],
                   "representative": result.is_kept(d)})
        })
        .collect();
    assert_eq!(clusters, jsonl(&tmp.path().join("clusters.jsonl")));
    let pairs: Vec<Value> = result
        .search
        .duplicates
        .iter()
        .map(|p| {
            json!({"a": result.ids[p.a as usize], "b": result.ids[p.b as usize],
                   "jaccard": round(p.stats.jaccard, 4), "containment": round(p.stats.containment, 4)})
        })
        .collect();
    let cli_pairs = jsonl(&tmp.path().join("pairs.jsonl"));
    assert!(cli_pairs.len() > 1000, "zh-dev has many duplicate pairs, got {}", cli_pairs.len());
    assert_eq!(pairs, cli_pairs);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["candidate_pairs"], result.search.candidate_pairs);
    assert_eq!(summary["exact_duplicates"], result.search.exact_duplicates);
    assert_eq!(summary["lsh"]["bands"], result.lsh.bands);
    assert_eq!(summary["documents_kept"], (0..result.len()).filter(|&d| result.is_kept(d)).count());
}

#[test]
fn passage_index_on_the_seeds_equals_the_passages_job() {
    let Some(dir) = shared("samples/seeds") else { return };
    let tmp = tempfile::tempdir().unwrap();
    cli("passages", &dir, tmp.path());

    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let docs: Vec<(String, String)> = files
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let options = PassageOptions::default();
    let mut index = PassageIndex::new(options.clone()).unwrap();
    for (id, text) in &docs {
        index.add(id, text).unwrap();
    }
    let found = index.alignments();
    let ids = index.ids().to_vec();
    let lines: Vec<Value> = found
        .iter()
        .map(|p| {
            let q = &p.passage;
            json!({"a": ids[p.a as usize], "a_start": q.a_span.0, "a_end": q.a_span.1,
                   "b": ids[p.b as usize], "b_start": q.b_span.0, "b_end": q.b_span.1,
                   "score": round(q.score, 2), "matches": q.matches, "kind": q.kind,
                   "similarity": round(q.similarity, 4)})
        })
        .collect();
    let cli_lines = jsonl(&tmp.path().join("alignments.jsonl"));
    assert!(cli_lines.len() >= 4, "the seeds share passages, got {}", cli_lines.len());
    assert_eq!(lines, cli_lines);
    let clusters: Vec<Value> = passage_clusters(&found)
        .iter()
        .enumerate()
        .flat_map(|(k, m)| m.iter().map(move |&(d, s, e)| (k, d, s, e)).collect::<Vec<_>>())
        .map(|(k, d, s, e)| json!({"cluster": k, "id": ids[d as usize], "start": s, "end": e}))
        .collect();
    assert_eq!(clusters, jsonl(&tmp.path().join("passages.jsonl")));

    // One pair through `align_pair` over the two texts: the same passages as the index found for that pair (five
    // documents leave no n-gram above max_df, so no boilerplate n-gram differs).
    let (a, b) = (found[0].a as usize, found[0].b as usize);
    let direct = align_pair(&docs[a].1, &docs[b].1, &options).unwrap();
    let spans = |ps: Vec<(u32, u32, u32, u32)>| {
        let mut ps = ps;
        ps.sort_unstable();
        ps
    };
    let from_index: Vec<_> = found
        .iter()
        .filter(|p| (p.a as usize, p.b as usize) == (a, b))
        .map(|p| (p.passage.a_span.0, p.passage.a_span.1, p.passage.b_span.0, p.passage.b_span.1))
        .collect();
    let direct: Vec<_> = direct.iter().map(|p| (p.a_span.0, p.a_span.1, p.b_span.0, p.b_span.1)).collect();
    assert_eq!(spans(direct), spans(from_index));
}
