//! `textreuse substrings` on a small constructed corpus: every reported span is checked against a brute-force
//! search, and `--remove` keeps exactly the first occurrences.

mod common;

use std::collections::HashSet;
use std::process::Command;

use serde_json::Value;
use textreuse::align::UnitDoc;
use textreuse::normalize::NormalizeOptions;

/// A deterministic pseudo-random text over a small alphabet, so that short chance repeats exist too.
fn noise(seed: u64, len: usize) -> String {
    common::noise_over("天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏", seed, len)
}

#[test]
fn every_reported_span_is_exactly_a_later_repeat() {
    let wire = noise(99, 80);
    let texts = [
        format!("{}{}{}", noise(1, 40), wire, noise(2, 30)),
        noise(3, 120),
        format!("{}\n{}，{}", noise(4, 25), &wire[..wire.char_indices().nth(60).unwrap().0], noise(5, 20)),
        format!("{}{}{}{}", wire, noise(6, 10), wire, noise(7, 5)),
        String::new(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    let body: String = texts
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"id": format!("d{i}"), "text": t}).to_string() + "\n")
        .collect();
    std::fs::write(&corpus, body).unwrap();
    let out = tempfile::tempdir().unwrap();
    let min_length = 30;
    let o = Command::new(env!("CARGO_BIN_EXE_textreuse"))
        .args(["substrings", "--remove", "--quiet", "--min-length", "30", corpus.to_str().unwrap(), "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Brute force over units: a unit is a duplicate when it lies in a window of min_length units whose content
    // stands at an earlier position (input order, never across a document end).
    let kept: Vec<&String> = texts.iter().filter(|t| !t.is_empty()).collect();
    let docs: Vec<UnitDoc> = kept.iter().map(|t| UnitDoc::new(t, &NormalizeOptions::default())).collect();
    let mut expected: HashSet<(usize, usize)> = HashSet::new();
    let mut seen: HashSet<Vec<u64>> = HashSet::new();
    for (d, doc) in docs.iter().enumerate() {
        for p in 0..doc.len().saturating_sub(min_length - 1) {
            let w = doc.ids[p..p + min_length].to_vec();
            if !seen.insert(w) {
                expected.extend((p..p + min_length).map(|u| (d, u)));
            }
        }
    }
    assert!(!expected.is_empty());

    let spans: Vec<Value> = std::fs::read_to_string(out.path().join("duplicates.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut reported: HashSet<(usize, usize)> = HashSet::new();
    for s in &spans {
        let d: usize = s["id"].as_str().unwrap()[1..].parse().unwrap();
        let (start, end) = (s["start"].as_u64().unwrap() as u32, s["end"].as_u64().unwrap() as u32);
        let doc = &docs[d];
        let units: Vec<usize> = (0..doc.len()).filter(|&u| doc.spans[u].0 >= start && doc.spans[u].1 <= end).collect();
        assert_eq!(units.len() as u64, s["units"].as_u64().unwrap(), "{s}");
        assert!(units.len() >= min_length);
        // The span's text stands, the same, at its first occurrence.
        let fd: usize = s["first_id"].as_str().unwrap()[1..].parse().unwrap();
        let fu =
            (0..docs[fd].len()).find(|&u| docs[fd].spans[u].0 == s["first_start"].as_u64().unwrap() as u32).unwrap();
        assert_eq!(
            &docs[fd].ids[fu..fu + units.len().min(docs[fd].len() - fu)],
            &doc.ids[units[0]..units[0] + units.len().min(docs[fd].len() - fu)]
        );
        reported.extend(units.iter().map(|&u| (d, u)));
    }
    assert_eq!(reported, expected, "reported duplicate units differ from the brute force");

    // --remove keeps the first occurrence: the wire text survives once, in d0, and the empty document is reported.
    let dedup: Vec<Value> = std::fs::read_to_string(out.path().join("deduplicated.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(dedup[0]["text"].as_str().unwrap().contains(&wire));
    assert!(!dedup.iter().skip(1).any(|v| v["text"].as_str().unwrap().contains(&wire)));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["skipped"]["empty_text"], 1);
    assert_eq!(summary["shards"], 1);

    // Sharded, one document per shard: only the repeat inside d3 (its wire printed twice) is found.
    let sharded = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_textreuse"))
        .args(["substrings", "--quiet", "--min-length", "30", "--shard-units", "1", corpus.to_str().unwrap(), "--out"])
        .arg(sharded.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let spans: Vec<Value> = std::fs::read_to_string(sharded.path().join("duplicates.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!spans.is_empty() && spans.iter().all(|s| s["id"] == "d3" && s["first_id"] == "d3"), "{spans:?}");
}
