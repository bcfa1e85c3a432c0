//! Micro-benchmarks of the core stages, in bytes of input per second (divan): normalization, shingling +
//! MinHash, and pairwise alignment. Inputs are the shipped examples (1916 front pages, a Chinese story in two
//! scripts), so they run anywhere: `cargo bench -p textreuse`. The `*_news` benchmarks run on real articles, the
//! first megabyte of `../shared/corpora` (Chinese news of 2018, 1916 front pages), where it is present; without it
//! they are left out, and say so.
//!
//! The Chinese examples are one short story repeated to 100 KB: 326 distinct shingles in it, so MinHash and the
//! sort of the shingles see a few hundred values where a real text of that size has ~28,000. The news inputs are
//! what `dedup` meets; measure a change of the shingle or MinHash paths on them too.

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use textreuse::align::{align_pair, index_ngrams, ngram_hashes, AlignConfig, UnitDoc};
use textreuse::core::dedup::{DedupOptions, Fingerprinter};
use textreuse::minhash::MinHasher;
use textreuse::normalize::{normalize, normalize_text_into, NormalizeOptions};
use textreuse::shingle::{shingle_set_of_text, ShingleBuffers};

fn main() {
    divan::main();
}

fn example(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/");
    std::fs::read_to_string(format!("{root}{path}")).expect("example file")
}

fn chinese() -> String {
    // The simplified and traditional versions, repeated to about 100 KB.
    let s = example("zh/01_simplified_columns.txt") + &example("zh/02_traditional_columns.txt");
    s.repeat(100_000 / s.len() + 1)
}

/// The simplified version alone, repeated to about 100 KB: what most Chinese news is.
fn chinese_simplified() -> String {
    let s = example("zh/01_simplified_columns.txt");
    s.repeat(100_000 / s.len() + 1)
}

fn english() -> String {
    example("chronam/19160104_sn83045211-ed-1_seq-1.txt")
}

/// The input of a benchmark by its argument: `chinese` (half traditional), `chinese-simplified`, `english`.
fn text_of(lang: &str) -> String {
    match lang {
        "chinese" => chinese(),
        "chinese-simplified" => chinese_simplified(),
        _ => english(),
    }
}

/// The shared corpus of real articles in `lang` (`chinese`: chinanews 2018; `english`: 1916 front pages).
fn news_corpus(lang: &str) -> std::path::PathBuf {
    let name = if lang == "chinese" { "chinanews-2018.jsonl.zst" } else { "chronam-1916-jan-jun.jsonl.zst" };
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora").join(name)
}

/// Bytes of articles the `*_news` benchmarks take from the start of each corpus.
const NEWS_BYTES: usize = 1 << 20;

/// The languages whose shared corpus is present: the `*_news` benchmarks' arguments (none, and a note on standard
/// error, without `../shared`).
fn news_langs() -> Vec<&'static str> {
    let langs: Vec<&str> = ["chinese", "english"].into_iter().filter(|l| news_corpus(l).is_file()).collect();
    if langs.len() < 2 {
        eprintln!("note: the *_news benchmarks skip what ../shared/corpora lacks (found: {langs:?})");
    }
    langs
}

/// The first articles of the shared corpus in `lang`, whole, about [`NEWS_BYTES`] of text in all.
fn news_docs(lang: &str) -> Vec<String> {
    use std::io::BufRead;
    let file = std::fs::File::open(news_corpus(lang)).expect("the shared corpus");
    let lines = std::io::BufReader::new(zstd::Decoder::new(file).expect("zstd")).lines();
    let (mut docs, mut bytes) = (Vec::new(), 0);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(&line.expect("a line")).expect("a JSON record");
        let text = v["text"].as_str().expect("a text field").to_string();
        bytes += text.len();
        docs.push(text);
        if bytes >= NEWS_BYTES {
            break;
        }
    }
    docs
}

fn bytes_of(docs: &[String]) -> BytesCount {
    BytesCount::new(docs.iter().map(String::len).sum::<usize>())
}

/// [`normalize_text_only`] over real articles, one at a time.
#[divan::bench(args = news_langs())]
fn normalize_news(bencher: Bencher, lang: &str) {
    let docs = news_docs(lang);
    let opts = NormalizeOptions::default();
    let (mut out, mut scratch) = (String::new(), String::new());
    bencher.counter(bytes_of(&docs)).bench_local(|| {
        for d in &docs {
            normalize_text_into(black_box(d), &opts, &mut out, &mut scratch);
        }
    });
}

/// [`shingle_and_minhash`] over real articles (normalized), one at a time, with `dedup`'s shingles (four
/// characters, two words: [`DedupOptions::shingle_ngram`]).
#[divan::bench(args = news_langs())]
fn shingle_and_minhash_news(bencher: Bencher, lang: &str) {
    let docs = news_docs(lang);
    let opts = NormalizeOptions::default();
    let normalized: Vec<String> = docs.iter().map(|d| normalize(d, &opts).text).collect();
    let ngram = DedupOptions::default().shingle_ngram();
    let hasher = MinHasher::new(128, 42);
    let mut ids = ShingleBuffers::default();
    bencher.counter(bytes_of(&docs)).bench_local(|| {
        for n in &normalized {
            let set = shingle_set_of_text(black_box(n), ngram, 42, &mut ids);
            black_box(hasher.signature(&set));
        }
    });
}

/// [`fingerprint`] over real articles, one at a time: `dedup`'s whole per-document path.
#[divan::bench(args = news_langs())]
fn fingerprint_news(bencher: Bencher, lang: &str) {
    let docs = news_docs(lang);
    let f = Fingerprinter::new(&DedupOptions::default()).expect("default settings");
    bencher.counter(bytes_of(&docs)).bench_local(|| {
        for d in &docs {
            black_box(f.fingerprint(black_box(d)));
        }
    });
}

#[divan::bench(args = ["chinese", "english"])]
fn normalize_text(bencher: Bencher, lang: &str) {
    let text = if lang == "chinese" { chinese() } else { english() };
    let opts = NormalizeOptions::default();
    bencher.counter(BytesCount::of_str(&text)).bench(|| normalize(black_box(&text), &opts));
}

/// What `dedup` normalizes: the text without its offset map, into reused buffers.
#[divan::bench(args = ["chinese", "chinese-simplified", "english"])]
fn normalize_text_only(bencher: Bencher, lang: &str) {
    let text = text_of(lang);
    let opts = NormalizeOptions::default();
    let (mut out, mut scratch) = (String::new(), String::new());
    bencher
        .counter(BytesCount::of_str(&text))
        .bench_local(|| normalize_text_into(black_box(&text), &opts, &mut out, &mut scratch));
}

/// What `dedup` does to a normalized text: its shingle set (units, shingles, sorted) and MinHash signature.
#[divan::bench(args = ["chinese", "chinese-simplified", "english"])]
fn shingle_and_minhash(bencher: Bencher, lang: &str) {
    let text = text_of(lang);
    let n = normalize(&text, &NormalizeOptions::default());
    let hasher = MinHasher::new(128, 42);
    let mut ids = ShingleBuffers::default();
    bencher.counter(BytesCount::of_str(&text)).bench_local(|| {
        let set = shingle_set_of_text(black_box(&n.text), 4, 42, &mut ids);
        hasher.signature(&set)
    });
}

/// [`shingle_and_minhash`] document by document: the Chinese text (normalized) cut into documents of 1,000
/// characters, about the median length of zh-dev's, where per-document costs (small sets, buffers) weigh more.
#[divan::bench]
fn shingle_and_minhash_1000_chars(bencher: Bencher) {
    let text = chinese();
    let n = normalize(&text, &NormalizeOptions::default());
    let chars: Vec<char> = n.text.chars().collect();
    let docs: Vec<String> = chars.chunks(1000).map(|c| c.iter().collect()).collect();
    let hasher = MinHasher::new(128, 42);
    let mut ids = ShingleBuffers::default();
    bencher.counter(BytesCount::of_str(&text)).bench_local(|| {
        for d in &docs {
            let set = shingle_set_of_text(black_box(d), 4, 42, &mut ids);
            black_box(hasher.signature(&set));
        }
    });
}

/// `dedup`'s whole per-document path from the raw text: normalization, script conversion, units, shingle set,
/// MinHash signature, band keys and set hash ([`Fingerprinter::fingerprint`], default settings).
#[divan::bench(args = ["chinese", "chinese-simplified", "english"])]
fn fingerprint(bencher: Bencher, lang: &str) {
    let text = text_of(lang);
    let f = Fingerprinter::new(&DedupOptions::default()).expect("default settings");
    bencher.counter(BytesCount::of_str(&text)).bench_local(|| f.fingerprint(black_box(&text)));
}

/// [`fingerprint`] document by document: the raw Chinese text cut into documents of 1,000 characters (zh-dev's
/// median length), the English front page into documents of 2,000 characters.
#[divan::bench(args = ["chinese", "english"])]
fn fingerprint_docs(bencher: Bencher, lang: &str) {
    let text = text_of(lang);
    let size = if lang == "chinese" { 1000 } else { 2000 };
    let chars: Vec<char> = text.chars().collect();
    let docs: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
    let f = Fingerprinter::new(&DedupOptions::default()).expect("default settings");
    bencher.counter(BytesCount::of_str(&text)).bench_local(|| {
        for d in &docs {
            black_box(f.fingerprint(black_box(d)));
        }
    });
}

/// A JSONL record read as `dedup` reads it: the line's id and text fields, the text unescaped
/// ([`textreuse::io::parse_record`]), for the text written by serde_json (raw UTF-8, an escaped line break at every
/// line: the English front page's OCR lines, the Chinese columns of 15 characters).
#[divan::bench(args = ["chinese", "english"])]
fn parse_json_line(bencher: Bencher, lang: &str) {
    use textreuse::io::{parse_record, Location, Payload, RawRecord, ReadOptions};
    let text = text_of(lang);
    let line = serde_json::to_string(&serde_json::json!({"id": "page-1", "text": text})).expect("a JSON line");
    let raw = RawRecord {
        seq: 0,
        location: Location { file: "bench.jsonl".into(), line: Some(1) },
        payload: Payload::JsonLine(line.clone().into_bytes()),
    };
    let opts = ReadOptions::default();
    bencher.counter(BytesCount::of_str(&line)).bench_local(|| parse_record(black_box(&raw), &opts).expect("a record"));
}

#[divan::bench]
fn align_two_pages(bencher: Bencher) {
    let a = example("chronam/19160104_sn85058396-ed-1_seq-1.txt");
    let b = example("chronam/19160104_sn85059715-ed-1_seq-1.txt");
    let cfg = AlignConfig::default();
    let opts = NormalizeOptions::default();
    let (da, db) = (UnitDoc::new(&a, &opts), UnitDoc::new(&b, &opts));
    let (ha, hb) = (ngram_hashes(&da.ids, cfg.ngram, cfg.seed), ngram_hashes(&db.ids, cfg.ngram, cfg.seed));
    let none = std::collections::HashSet::new();
    bencher.counter(BytesCount::new(a.len() + b.len())).bench(|| {
        let index = index_ngrams(&ha, &none, cfg.max_repeat);
        align_pair(&da, &index, &db, &hb, &cfg)
    });
}
