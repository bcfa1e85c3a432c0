//! Single-thread fingerprinting rate on real documents, by script: the per-document path of `dedup` (normalization,
//! units, shingle set, MinHash signature, band keys) over the documents of one JSONL file, held in memory, without
//! reading, threads or verification in the measurement.
//!
//! ```text
//! cargo run --release -p textreuse --example fingerprint_rate -- FILE.jsonl[.zst] [en|zh|all] [ROUNDS]
//! ```
//!
//! `en`: documents whose bytes are more than 90% ASCII; `zh`: the others; `all` (the default): every document.
//! Prints the documents, their bytes (UTF-8) and the fastest of `ROUNDS` (default 5) passes over them, in MB/s of
//! input (10^6 bytes a second), and how many records could not be read as documents (as `dedup` would skip them). The fastest pass, not the mean: on a shared machine the noise only ever adds time.
//! `bench/RESULTS.md` (twentieth session) quotes it on a shard of the 1 GB scale corpus.

use std::time::Instant;

use textreuse::io::{parse_record, Input, ReadOptions, RecordReader};
use textreuse_core::dedup::{DedupOptions, Fingerprinter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        return Err("usage: fingerprint_rate FILE.jsonl[.zst] [en|zh|all] [ROUNDS]".into());
    };
    let script = args.get(1).map_or("all", String::as_str);
    if !matches!(script, "en" | "zh" | "all") {
        return Err(format!("the script is en, zh or all, not {script}").into());
    }
    let rounds: usize = args.get(2).map_or(Ok(5), |r| r.parse())?;
    let opts = ReadOptions::default();
    let (mut texts, mut skipped) = (Vec::new(), 0usize);
    for raw in RecordReader::new(&[Input::from_arg(path)?]) {
        let Ok(doc) = parse_record(&raw, &opts) else {
            skipped += 1;
            continue;
        };
        let ascii = doc.text.bytes().filter(u8::is_ascii).count() as f64 / doc.text.len().max(1) as f64;
        let wanted = match script {
            "en" => ascii > 0.9,
            "zh" => ascii <= 0.9,
            _ => true,
        };
        if wanted {
            texts.push(doc.text);
        }
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let fingerprinter = Fingerprinter::new(&DedupOptions::default())?;
    let (mut fastest, mut check) = (f64::MAX, 0u64);
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        for text in &texts {
            if let Some(fp) = fingerprinter.fingerprint(text) {
                check ^= fp.set_hash;
            }
        }
        fastest = fastest.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{} documents, {:.1} MB ({skipped} records skipped): fastest of {} passes {:.3} s, {:.0} MB/s (set hashes xor \
         {check:016x})",
        texts.len(),
        bytes as f64 / 1e6,
        rounds.max(1),
        fastest,
        bytes as f64 / 1e6 / fastest
    );
    Ok(())
}
