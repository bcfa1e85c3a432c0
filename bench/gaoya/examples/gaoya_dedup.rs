//! gaoya MinHash LSH (up to 128 hashes, bands × rows from gaoya's `calculate_minhash_params`, Jaccard threshold 0.5, character 5-grams) over a JSONL corpus, union-find over
//! the index's answers: the anchor row of bench/RESULTS.md. Writes `{"id", "cluster"}` per document.
//!
//! usage: gaoya_dedup CORPUS.jsonl OUT.jsonl [--t2s]
//! Text is normalized with textreuse's normalizer (NFKC, width, case, punctuation and whitespace removed); with
//! --t2s also traditional → simplified, as textreuse does by default.

use std::io::{BufRead, Write};

use gaoya::minhash::{calculate_minhash_params, MinHashIndex, MinHasher, MinHasher64V1};
use textreuse::cluster::UnionFind;
use textreuse::normalize::{normalize, NormalizeOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gaoya_dedup INPUT.jsonl OUT.jsonl [--t2s]");
        std::process::exit(2);
    }
    let (input, output) = (&args[1], &args[2]);
    refuse_foreign_output(input, output);
    let t2s = args.iter().any(|a| a == "--t2s");
    let opts = NormalizeOptions { traditional_to_simplified: t2s, ..NormalizeOptions::default() };
    let mut ids = Vec::new();
    let mut texts = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(input).expect("open corpus")).lines() {
        let line = line.expect("read");
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        ids.push(v["id"].as_str().expect("id").to_string());
        texts.push(normalize(v["text"].as_str().expect("text"), &opts).text.replace(' ', ""));
    }
    // gaoya's bands × rows for threshold 0.5 may use fewer than 128 hashes; the signatures must match them.
    let (bands, width) = calculate_minhash_params(0.5, 128);
    let hasher = MinHasher64V1::new(bands * width);
    let sigs: Vec<Vec<u64>> = texts
        .iter()
        .map(|t| {
            let chars: Vec<char> = t.chars().collect();
            let grams: Vec<String> =
                if chars.len() < 5 { vec![t.clone()] } else { chars.windows(5).map(|w| w.iter().collect()).collect() };
            hasher.create_signature(grams.iter())
        })
        .collect();
    let mut index: MinHashIndex<u64, usize> = MinHashIndex::new(bands, width, 0.5);
    index.par_bulk_insert((0..ids.len()).collect(), sigs.clone());
    let mut uf = UnionFind::new(ids.len());
    for (d, sig) in sigs.iter().enumerate() {
        for &other in index.query(sig) {
            uf.union(d as u32, other as u32);
        }
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(output).expect("create output"));
    for d in 0..ids.len() {
        let root = uf.find(d as u32) as usize;
        writeln!(out, "{}", serde_json::json!({"id": ids[d], "cluster": ids[root]})).expect("write");
    }
}

/// Exits with a message instead of destroying a user's file: the output must end in `.jsonl`, must not be the
/// input, and may replace only a clusters file (`{"id", "cluster"}` lines) that this anchor wrote before.
fn refuse_foreign_output(input: &str, output: &str) {
    let out = std::path::Path::new(output);
    if !output.ends_with(".jsonl") {
        eprintln!("refusing to write clusters to {output}: the output must end in .jsonl");
        std::process::exit(2);
    }
    if let (Ok(a), Ok(b)) = (std::fs::canonicalize(input), std::fs::canonicalize(out)) {
        if a == b {
            eprintln!("refusing to write clusters to {output}: it is also the input");
            std::process::exit(2);
        }
    }
    if let Ok(text) = std::fs::read_to_string(out) {
        let first = text.lines().next().unwrap_or("");
        let ours = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(first)
            .map(|m| m.len() == 2 && m.contains_key("id") && m.contains_key("cluster"))
            .unwrap_or(false);
        if !text.is_empty() && !ours {
            eprintln!("refusing to overwrite {output}: it exists and is not a clusters file of this anchor");
            std::process::exit(2);
        }
    }
}
