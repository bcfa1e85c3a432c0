//! Golden outputs: every job on the examples (and, where `../shared` is beside the repository, on the seeds and
//! zh-dev) must write byte-identical outputs to those recorded in `tests/golden/outputs.json` (a 64-bit FNV-1a hash
//! per output file; `summary.json` hashed without its timings and paths). A change of output is then a deliberate
//! act: rerun with `UPDATE_GOLDEN=1` and commit the new hashes with the change that explains them.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn fnv(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{h:016x}")
}

/// Removes what differs between two runs of the same job on the same input: timings and where the inputs lie.
fn strip_volatile(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in ["stages", "total_seconds", "input_paths", "inputs", "skipped_examples", "out_dir"] {
                m.remove(k);
            }
            m.values_mut().for_each(strip_volatile);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

fn hash_outputs(name: &str, dir: &Path, into: &mut BTreeMap<String, String>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).expect("output dir").map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&f).unwrap();
        let h = if file == "summary.json" {
            let mut v: Value = serde_json::from_slice(&bytes).expect("summary.json is JSON");
            strip_volatile(&mut v);
            fnv(serde_json::to_string(&v).unwrap().as_bytes())
        } else {
            fnv(&bytes)
        };
        into.insert(format!("{name}/{file}"), h);
    }
}

fn run_jobs(set: &str, input: &Path, tmp: &Path, into: &mut BTreeMap<String, String>) {
    let jobs: [(&str, &[&str]); 5] = [
        ("dedup", &[]),
        ("passages", &["--with-text"]),
        ("repeats", &["--strip"]),
        ("boilerplate", &[]),
        ("substrings", &["--remove"]),
    ];
    for (job, extra) in jobs {
        let out = tmp.join(format!("{set}-{job}"));
        let o = Command::new(env!("CARGO_BIN_EXE_textreuse"))
            .arg(job)
            .arg(input)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .output()
            .expect("run textreuse");
        assert!(o.status.success(), "{job} on {set} failed: {}", String::from_utf8_lossy(&o.stderr));
        hash_outputs(&format!("{set}/{job}"), &out, into);
    }
}

#[test]
fn outputs_are_byte_identical_to_the_golden_hashes() {
    let root = root();
    let tmp = tempfile::tempdir().unwrap();
    let mut got = BTreeMap::new();
    run_jobs("examples", &root.join("examples"), tmp.path(), &mut got);
    let shared = root.join("../shared");
    let have_shared = shared.join("bench/zh-dev/corpus.jsonl").is_file();
    if have_shared {
        run_jobs("seeds", &shared.join("samples/seeds"), tmp.path(), &mut got);
        run_jobs("zh-dev", &shared.join("bench/zh-dev/corpus.jsonl"), tmp.path(), &mut got);
    } else {
        common::skip_note("../shared is absent; only the examples are compared (seeds and zh-dev skipped)");
    }
    let path = root.join("tests/golden/outputs.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let mut all: BTreeMap<String, String> =
            std::fs::read_to_string(&path).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        all.extend(got);
        std::fs::write(&path, serde_json::to_string_pretty(&all).unwrap() + "\n").unwrap();
        return;
    }
    let want: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("tests/golden/outputs.json")).unwrap();
    let mut diffs = Vec::new();
    for (k, h) in &got {
        match want.get(k) {
            Some(w) if w == h => {}
            Some(w) => diffs.push(format!("{k}: {h} (golden {w})")),
            None => diffs.push(format!("{k}: {h} (no golden hash)")),
        }
    }
    for k in want.keys() {
        let in_scope = k.starts_with("examples/") || have_shared;
        if in_scope && !got.contains_key(k) {
            diffs.push(format!("{k}: no longer written"));
        }
    }
    assert!(diffs.is_empty(), "outputs differ from tests/golden/outputs.json:\n{}", diffs.join("\n"));
}
