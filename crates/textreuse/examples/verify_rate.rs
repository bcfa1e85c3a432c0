//! Candidate generation and verification alone, repeated: the documents of JSONL files are fingerprinted once (in
//! parallel, as `dedup` does), then the in-memory pipeline after fingerprinting (`find_duplicates_listing`: exact
//! duplicates, LSH candidate pairs, verification, clusters) runs `ROUNDS` times over the same fingerprints, without
//! reading or writing in the measurement.
//!
//! ```text
//! cargo run --release -p textreuse --example verify_rate -- ROUNDS FILE.jsonl[.zst]...
//! ```
//!
//! Prints the documents, the candidate and duplicate pairs, and each round's stage seconds (LSH and exact
//! duplicates, verification, clusters; wall-clock, on every core), then the fastest and the median verification: on a
//! shared machine the noise only ever adds time, and two builds are compared by running this in turns.
//! `bench/RESULTS.md` (twenty-eighth session) quotes it on the 1 GB scale corpus.

use rayon::prelude::*;
use textreuse::io::{parse_record, Input, ReadOptions, RecordReader};
use textreuse_core::dedup::{
    find_duplicates_listing, DedupOptions, DocumentTable, Fingerprinter, MemorySets, VerifiedListing,
};
use textreuse_core::progress::NoProgress;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((rounds, files)) = args.split_first().filter(|(_, files)| !files.is_empty()) else {
        return Err("usage: verify_rate ROUNDS FILE.jsonl[.zst]...".into());
    };
    let rounds: usize = rounds.parse()?;
    let inputs = files.iter().map(|f| Input::from_arg(f)).collect::<Result<Vec<_>, _>>()?;
    let opts = ReadOptions::default();
    let texts: Vec<String> =
        RecordReader::new(&inputs).filter_map(|raw| parse_record(&raw, &opts).ok().map(|doc| doc.text)).collect();
    let options = DedupOptions::default();
    let fingerprinter = Fingerprinter::new(&options)?;
    let fingerprints: Vec<_> = texts.par_iter().filter_map(|t| fingerprinter.fingerprint(t)).collect();
    drop(texts);
    let mut table = DocumentTable::new(fingerprinter.lsh().bands);
    let mut sets = MemorySets::default();
    for fp in &fingerprints {
        table.push(fp)?;
        sets.push(&fp.shingles);
    }
    drop(fingerprints);
    let mut verify = Vec::new();
    for round in 0..rounds.max(1) {
        let found = find_duplicates_listing(table.clone(), &sets, &options, VerifiedListing::Needed, &NoProgress)
            .map_err(|e| format!("{e:?}"))?;
        let s = found.seconds;
        if round == 0 {
            println!(
                "{} documents: {} exact duplicates, {} candidate pairs ({} not verified), {} duplicate pairs",
                table.len(),
                found.exact_duplicates,
                found.candidate_pairs,
                found.candidate_pairs_not_verified,
                found.duplicates.len()
            );
        }
        println!("round {round}: lsh {:.3} s, verify {:.3} s, cluster {:.3} s", s.lsh, s.verify, s.cluster);
        verify.push(s.verify);
    }
    verify.sort_by(f64::total_cmp);
    println!("verify: fastest {:.3} s, median {:.3} s", verify[0], verify[verify.len() / 2]);
    Ok(())
}
