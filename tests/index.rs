//! `textreuse index` end to end: an index built in two steps and queried gives what one `dedup` and one `passages`
//! run over all the documents give; a writer killed at any point leaves the index as it was; settings that differ,
//! foreign files, a second writer and another format version are refused; delete + compact.
//!
//! What "the same" means (asserted on zh-dev): the index holds documents I (created from one half, the other half
//! added), the query documents are Q (held out of I), and the reference is one `dedup` and one `passages` run over
//! I then Q, in that order. For every query document q:
//! - its line of the query's `clusters.jsonl` has the same `cluster`, `size` and `representative` as its line of
//!   `dedup`'s `clusters.jsonl`, and its `members` plus q are exactly the documents of that cluster there;
//! - the query's `alignments.jsonl` equals, line for line (ids, code point offsets, score, matches, order), the
//!   lines of `passages`' `alignments.jsonl` that involve at least one query document.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_textreuse"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "textreuse failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run textreuse")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn info(dir: &Path) -> Value {
    let o = run(&["index", "info", s(dir)]);
    ok(&o);
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The query's outputs without timings: clusters, pairs and alignments.
fn query(dir: &Path, input: &Path, out: &Path) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    ok(&run(&["index", "query", s(dir), s(input), "--out", s(out), "--quiet"]));
    (jsonl(&out.join("clusters.jsonl")), jsonl(&out.join("pairs.jsonl")), jsonl(&out.join("alignments.jsonl")))
}

/// Asserts the definition of "the same" in the module documentation; returns (query documents clustered with an
/// indexed one, alignments with an indexed document) so that callers can check the comparison was not vacuous.
fn assert_same_as_one_run(
    work: &Path,
    all: &Path,
    query_ids: &[String],
    got: &(Vec<Value>, Vec<Value>, Vec<Value>),
) -> (usize, usize) {
    let (d, p) = (work.join("dedup"), work.join("passages"));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_dir_all(&p);
    ok(&run(&["dedup", s(all), "--out", s(&d), "--quiet"]));
    ok(&run(&["passages", s(all), "--out", s(&p), "--quiet"]));
    let whole: HashMap<String, Value> =
        jsonl(&d.join("clusters.jsonl")).into_iter().map(|r| (r["id"].as_str().unwrap().to_string(), r)).collect();
    let mut members: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in whole.values() {
        members.entry(r["cluster"].as_str().unwrap().into()).or_default().insert(r["id"].as_str().unwrap().into());
    }
    let qset: BTreeSet<&str> = query_ids.iter().map(String::as_str).collect();
    let by_id: HashMap<&str, &Value> = got.0.iter().map(|r| (r["id"].as_str().unwrap(), r)).collect();
    let mut with_indexed = 0;
    for q in query_ids {
        let Some(w) = whole.get(q) else {
            assert!(!by_id.contains_key(q.as_str()), "{q}: dedup skips it, the query lists it");
            continue;
        };
        let g = by_id.get(q.as_str()).unwrap_or_else(|| panic!("{q}: missing from the query's clusters.jsonl"));
        for k in ["cluster", "size", "representative"] {
            assert_eq!(g[k], w[k], "{q}: {k} differs from one dedup run");
        }
        let mut m: BTreeSet<String> =
            g["members"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
        m.insert(q.clone());
        assert_eq!(&m, &members[w["cluster"].as_str().unwrap()], "{q}: members differ");
        if m.iter().any(|x| !qset.contains(x.as_str())) && m.len() > 1 {
            with_indexed += 1;
        }
    }
    let involved = |r: &Value| qset.contains(r["a"].as_str().unwrap()) || qset.contains(r["b"].as_str().unwrap());
    let expected: Vec<Value> = jsonl(&p.join("alignments.jsonl")).into_iter().filter(involved).collect();
    assert_eq!(got.2.len(), expected.len(), "number of alignments with a query document");
    for (k, (a, b)) in got.2.iter().zip(&expected).enumerate() {
        assert_eq!(a, b, "alignment {k} differs from one passages run");
    }
    let cross = got
        .2
        .iter()
        .filter(|r| !(qset.contains(r["a"].as_str().unwrap()) && qset.contains(r["b"].as_str().unwrap())))
        .count();
    (with_indexed, cross)
}

#[test]
fn zh_dev_created_in_two_steps_and_queried_equals_one_run_and_compacts() {
    let corpus = root().join("../shared/bench/zh-dev/corpus.jsonl");
    if !corpus.exists() {
        common::skip_note("skipped: ../shared/bench/zh-dev is absent");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let lines: Vec<String> = std::fs::read_to_string(&corpus).unwrap().lines().map(String::from).collect();
    // Every fifth document is held out as a new document to query; the others are indexed, half at create and
    // half by add.
    let (mut indexed, mut held) = (Vec::new(), Vec::new());
    for (k, l) in lines.into_iter().enumerate() {
        if k % 5 == 4 {
            held.push(l);
        } else {
            indexed.push(l);
        }
    }
    let half = indexed.len() / 2;
    write_lines(&w.join("a.jsonl"), &indexed[..half]);
    write_lines(&w.join("b.jsonl"), &indexed[half..]);
    write_lines(&w.join("q.jsonl"), &held);
    let all: Vec<String> = indexed.iter().chain(&held).cloned().collect();
    write_lines(&w.join("all.jsonl"), &all);
    let id_of = |l: &String| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_string();
    let query_ids: Vec<String> = held.iter().map(id_of).collect();

    let dir = w.join("idx");
    ok(&run(&["index", "create", s(&dir), "--from", s(&w.join("a.jsonl")), "--quiet"]));
    ok(&run(&["index", "add", s(&dir), s(&w.join("b.jsonl")), "--quiet"]));
    let i = info(&dir);
    assert_eq!(i["documents"], indexed.len());
    assert_eq!(i["segments"].as_array().unwrap().len(), 2);
    let got = query(&dir, &w.join("q.jsonl"), &w.join("q1"));
    let (clustered, cross) = assert_same_as_one_run(w, &w.join("all.jsonl"), &query_ids, &got);
    assert!(clustered > 50, "only {clustered} query documents clustered with indexed ones");
    assert!(cross > 100, "only {cross} alignments between query and indexed documents");
    // Pairs name a query document on side b, and every pair is between members of one cluster.
    let cluster: HashMap<&str, &str> =
        got.0.iter().map(|r| (r["id"].as_str().unwrap(), r["cluster"].as_str().unwrap())).collect();
    assert!(!got.1.is_empty());
    for p in &got.1 {
        assert!(cluster.contains_key(p["b"].as_str().unwrap()), "{p}");
    }

    // Compaction merges the segments and changes no answer.
    ok(&run(&["index", "compact", s(&dir), "--quiet"]));
    let i = info(&dir);
    assert_eq!(i["segments"].as_array().unwrap().len(), 1);
    assert_eq!(i["documents"], indexed.len());
    assert_eq!(query(&dir, &w.join("q.jsonl"), &w.join("q2")), got);

    // Deleting documents, then compacting, gives what one run without them gives.
    let deleted: Vec<String> = indexed.iter().step_by(7).map(id_of).collect();
    std::fs::write(w.join("deleted.txt"), deleted.join("\n")).unwrap();
    ok(&run(&["index", "delete", s(&dir), "--ids", s(&w.join("deleted.txt"))]));
    assert_eq!(info(&dir)["deleted"], deleted.len());
    ok(&run(&["index", "compact", s(&dir), "--quiet"]));
    let i = info(&dir);
    assert_eq!(
        (i["deleted"].as_u64(), i["documents"].as_u64()),
        (Some(0), Some((indexed.len() - deleted.len()) as u64))
    );
    let kept: Vec<String> = indexed.iter().enumerate().filter(|(k, _)| k % 7 != 0).map(|(_, l)| l.clone()).collect();
    write_lines(&w.join("all2.jsonl"), &kept.iter().chain(&held).cloned().collect::<Vec<_>>());
    let got2 = query(&dir, &w.join("q.jsonl"), &w.join("q3"));
    assert_ne!(got2.0, got.0, "deleting documents changed no cluster");
    assert_same_as_one_run(w, &w.join("all2.jsonl"), &query_ids, &got2);
}

/// A small synthetic corpus: `n` documents of a few hundred CJK characters from a fixed PRNG, every third one a
/// near copy (one character changed) of the one before.
fn synthetic(n: usize, seed: u64) -> Vec<String> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut docs: Vec<String> = Vec::new();
    for k in 0..n {
        let text: String = if k % 3 == 2 {
            let mut c: Vec<char> = docs[k - 1].chars().collect();
            c[10] = '变';
            c.into_iter().collect()
        } else {
            (0..300).map(|_| char::from_u32(0x4e00 + (next() % 2000) as u32).unwrap()).collect()
        };
        docs.push(text);
    }
    docs.into_iter()
        .enumerate()
        .map(|(k, t)| serde_json::json!({"id": format!("s{seed}-{k}"), "text": t}).to_string())
        .collect()
}

/// Starts `index add` paused at `stage` (the test hook) and waits until it says so.
fn paused_add(dir: &Path, input: &Path, stage: &str) -> std::process::Child {
    let mut child = bin()
        .args(["index", "add", s(dir), s(input), "--quiet", "--segment-mb", "1"])
        .env("TEXTREUSE_INDEX_PAUSE", stage)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "index add ended before pausing at {stage}");
        if line.contains(&format!("paused at {stage}")) {
            break;
        }
    }
    child
}

#[test]
fn kill_during_add_leaves_the_index_as_before() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    write_lines(&w.join("a.jsonl"), &synthetic(60, 1));
    // Enough text for several 1 MB segments.
    write_lines(&w.join("b.jsonl"), &synthetic(4000, 2));
    write_lines(
        &w.join("q.jsonl"),
        &synthetic(30, 1).into_iter().map(|l| l.replace("\"s1-", "\"q-")).collect::<Vec<_>>(),
    );
    let dir = w.join("idx");
    ok(&run(&["index", "create", s(&dir), "--from", s(&w.join("a.jsonl")), "--quiet"]));
    let before = info(&dir);
    let answer = query(&dir, &w.join("q.jsonl"), &w.join("q0"));
    assert!(answer.0.iter().all(|r| r["size"].as_u64() > Some(1)), "query documents are copies of indexed ones");

    for stage in ["segment", "manifest"] {
        let mut child = paused_add(&dir, &w.join("b.jsonl"), stage);
        // A second writer is refused while the first holds the lock.
        let o = run(&["index", "add", s(&dir), s(&w.join("b.jsonl")), "--quiet"]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("another command is writing"), "{o:?}");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(info(&dir), before, "killed at {stage}");
        assert_eq!(query(&dir, &w.join("q.jsonl"), &w.join(format!("q-{stage}"))), answer, "killed at {stage}");
    }

    // Killed at an arbitrary moment: the index is as before or as after, never in between, and readable.
    let mut child =
        bin().args(["index", "add", s(&dir), s(&w.join("b.jsonl")), "--quiet", "--segment-mb", "1"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    let now = info(&dir);
    assert!(now == before || now["documents"] == 4060, "{now}");
    query(&dir, &w.join("q.jsonl"), &w.join("q-any"));

    // The next add removes what the killed ones left and completes.
    let o = run(&["index", "add", s(&dir), s(&w.join("b.jsonl")), "--segment-mb", "1"]);
    ok(&o);
    let after = info(&dir);
    assert_eq!(after["documents"], 4060);
    assert!(after["segments"].as_array().unwrap().len() >= 3);
    let segs = std::fs::read_dir(dir.join("segments")).unwrap().count();
    assert_eq!(segs, after["segments"].as_array().unwrap().len(), "garbage segments left");
}

#[test]
fn other_settings_foreign_files_and_other_versions_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    write_lines(&w.join("a.jsonl"), &synthetic(20, 3));
    let dir = w.join("idx");
    ok(&run(&["index", "create", s(&dir), "--from", s(&w.join("a.jsonl")), "--ngram", "5", "--quiet"]));
    assert_eq!(info(&dir)["settings"]["dedup"]["ngram"], 5);
    // The stored value may be repeated; another one is refused, naming the setting.
    ok(&run(&["index", "add", s(&dir), s(&w.join("a.jsonl")), "--ngram", "5", "--quiet"]));
    for (args, name) in [
        (vec!["index", "add", s(&dir), s(&w.join("a.jsonl")), "--ngram", "4"], "dedup.ngram"),
        (vec!["index", "add", s(&dir), s(&w.join("a.jsonl")), "--no-t2s"], "normalize.traditional_to_simplified"),
        (
            vec!["index", "query", s(&dir), s(&w.join("a.jsonl")), "--out", s(&w.join("o")), "--max-df", "9"],
            "passages.align.max_df",
        ),
    ] {
        let o = run(&args);
        assert!(!o.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(name) && err.contains("the index was built with"), "{err}");
    }
    assert!(!w.join("o").exists(), "a refused query wrote outputs");

    // A non-empty directory is not made an index; a foreign file in an index is refused by every command.
    let o = run(&["index", "create", s(w), "--from", s(&w.join("a.jsonl"))]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("not empty"));
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    for args in [
        vec!["index", "info", s(&dir)],
        vec!["index", "add", s(&dir), s(&w.join("a.jsonl"))],
        vec!["index", "query", s(&dir), s(&w.join("a.jsonl")), "--out", s(&w.join("o"))],
        vec!["index", "compact", s(&dir)],
    ] {
        let o = run(&args);
        assert!(!o.status.success(), "{args:?} accepted a foreign file");
        assert!(String::from_utf8_lossy(&o.stderr).contains("notes.txt"), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    std::fs::remove_file(dir.join("notes.txt")).unwrap();

    // Another format version is refused, naming both versions.
    let m = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let mut v: Value = serde_json::from_str(&m).unwrap();
    v["format_version"] = 99.into();
    std::fs::write(dir.join("manifest.json"), v.to_string()).unwrap();
    let o = run(&["index", "info", s(&dir)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("version 99"), "{}", String::from_utf8_lossy(&o.stderr));
}
