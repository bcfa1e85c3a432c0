//! `textreuse dedup` end to end: every input kind and encoding, bad input, determinism, and quality on zh-dev.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_textreuse"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> Option<PathBuf> {
    let p = root().join("../shared");
    if p.join("bench/zh-dev/corpus.jsonl").is_file() {
        Some(p)
    } else {
        common::skip_note("skipped: ../shared/bench/zh-dev is absent");
        None
    }
}

fn run_dedup(args: &[&str], out: &Path) -> Output {
    let o = bin().arg("dedup").args(args).arg("--out").arg(out).arg("--quiet").output().expect("run textreuse");
    o
}

/// `textreuse dedup - --quiet --out OUT` with `body` on standard input; the finished process's output.
fn dedup_stdin(body: &[u8], out: &Path) -> Output {
    let mut child = bin()
        .args(["dedup", "-", "--quiet", "--out"])
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "textreuse failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

fn summary(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn cluster_of(out: &Path) -> std::collections::HashMap<String, String> {
    jsonl(&out.join("clusters.jsonl"))
        .into_iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), v["cluster"].as_str().unwrap().to_string()))
        .collect()
}

const STORY: &str = "新华社杭州5月20日电 记者20日从杭州市图书馆获悉，该馆主办的馆藏古籍珍本展当天正式开幕，\
共展出宋元明清各时期古籍一百二十余种，其中十余种为首次公开亮相。展览分为刻本源流、名家批校、地方文献三个单元，\
观众可以亲手体验雕版印刷，了解一本古书从刻版到装订的全过程。";
const OTHER: &str = "本报讯 今年以来，本市持续推进老旧小区改造，完成加装电梯三百余部，惠及居民两万多户。\
市住建局表示，下一步将优化审批流程，推广装配式施工，缩短工期，减少对居民生活的影响。";

fn wrap(s: &str, w: usize) -> String {
    let cs: Vec<char> = s.chars().collect();
    cs.chunks(w).map(|c| c.iter().collect::<String>() + "\n").collect()
}

#[test]
fn examples_directory_clusters_scripts_and_keeps_wire_pages_apart() {
    let out = tempfile::tempdir().unwrap();
    ok(&run_dedup(&[root().join("examples").to_str().unwrap()], out.path()));
    let c = cluster_of(out.path());
    assert_eq!(c.len(), 6);
    // The simplified, traditional and web versions of one story form one cluster.
    let rep = &c["zh/01_simplified_columns.txt"];
    assert_eq!(&c["zh/02_traditional_columns.txt"], rep);
    assert_eq!(&c["zh/03_web_repeated_paragraph.txt"], rep);
    // Front pages that share one wire story are not duplicate documents.
    let pages: Vec<&String> = c.iter().filter(|(k, _)| k.starts_with("chronam/")).map(|(_, v)| v).collect();
    assert_eq!(pages.len(), 3);
    assert!(c.iter().filter(|(k, _)| k.starts_with("chronam/")).all(|(k, v)| k == v));
    let s = summary(out.path());
    assert_eq!(s["documents"], 6);
    assert_eq!(s["documents_removed"], 2);
    assert_eq!(jsonl(&out.path().join("deduplicated.jsonl")).len(), 4);
    for p in jsonl(&out.path().join("pairs.jsonl")) {
        assert!(p["jaccard"].as_f64().unwrap() >= 0.45 && p["a"] != p["b"]);
    }
}

#[test]
fn every_input_kind_gives_the_same_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        serde_json::json!({"id": "a", "text": STORY, "source": "paper-1", "date": "2025-05-20"}),
        serde_json::json!({"id": 7, "text": wrap(STORY, 15), "source": "paper-2", "extra": {"page": 3}}),
        serde_json::json!({"id": "c", "text": OTHER, "source": "paper-3"}),
    ];
    let body: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    let plain = dir.path().join("corpus.jsonl");
    std::fs::write(&plain, &body).unwrap();
    let gz = dir.path().join("corpus.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
    enc.write_all(body.as_bytes()).unwrap();
    enc.finish().unwrap();
    let zst = dir.path().join("corpus.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(body.as_bytes(), 3).unwrap()).unwrap();

    for input in [&plain, &gz, &zst] {
        let out = tempfile::tempdir().unwrap();
        ok(&run_dedup(&[input.to_str().unwrap()], out.path()));
        let c = cluster_of(out.path());
        assert_eq!(c["a"], "a");
        assert_eq!(c["7"], "a", "numeric ids are read as strings");
        assert_eq!(c["c"], "c");
        // Every other field passes through unchanged: the kept lines are the input lines.
        let kept = std::fs::read_to_string(out.path().join("deduplicated.jsonl")).unwrap();
        assert_eq!(kept, format!("{}\n{}\n", lines[0], lines[2]));
    }

    // Standard input.
    let out = tempfile::tempdir().unwrap();
    ok(&dedup_stdin(body.as_bytes(), out.path()));
    assert_eq!(cluster_of(out.path())["7"], "a");
    assert_eq!(
        std::fs::read_to_string(out.path().join("deduplicated.jsonl")).unwrap(),
        format!("{}\n{}\n", lines[0], lines[2])
    );

    // Custom field names.
    let custom = dir.path().join("custom.jsonl");
    std::fs::write(
        &custom,
        format!(
            "{}\n{}\n",
            serde_json::json!({"doc": "x", "body": STORY}),
            serde_json::json!({"doc": "y", "body": STORY})
        ),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&run_dedup(&[custom.to_str().unwrap(), "--id-field", "doc", "--text-field", "body"], out.path()));
    assert_eq!(cluster_of(out.path())["y"], "x");
}

#[test]
fn encodings_are_detected_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("docs");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    let long = format!("{STORY}{OTHER}");
    let trad = "新華社杭州5月20日電 記者20日從杭州市圖書館獲悉，該館主辦的館藏古籍珍本展當天正式開幕，\
共展出宋元明清各時期古籍一百二十餘種，其中十餘種為首次公開亮相。展覽分為刻本源流、名家批校、地方文獻三個單元，\
觀眾可以親手體驗雕版印刷，瞭解一本古書從刻版到裝訂的全過程。";
    std::fs::write(d.join("utf8.txt"), &long).unwrap();
    std::fs::write(d.join("bom.txt"), [b"\xEF\xBB\xBF".as_slice(), long.as_bytes()].concat()).unwrap();
    let mut utf16: Vec<u8> = vec![0xFF, 0xFE];
    utf16.extend(long.encode_utf16().flat_map(|u| u.to_le_bytes()));
    std::fs::write(d.join("sub/utf16le.txt"), utf16).unwrap();
    let mut utf16be: Vec<u8> = vec![0xFE, 0xFF];
    utf16be.extend(long.encode_utf16().flat_map(|u| u.to_be_bytes()));
    std::fs::write(d.join("sub/utf16be.txt"), utf16be).unwrap();
    let (gbk, _, bad) = encoding_rs::GBK.encode(&long);
    assert!(!bad);
    std::fs::write(d.join("gbk.txt"), &gbk).unwrap();
    let (big5, _, bad) = encoding_rs::BIG5.encode(trad);
    assert!(!bad);
    std::fs::write(d.join("big5.txt"), &big5).unwrap();

    let out = tempfile::tempdir().unwrap();
    ok(&run_dedup(&[d.to_str().unwrap()], out.path()));
    let s = summary(out.path());
    assert_eq!(s["documents"], 6, "{s}");
    let from = &s["decoded_from"];
    assert_eq!(from["UTF-8"], 1);
    assert_eq!(from["UTF-8 with BOM"], 1);
    assert_eq!(from["UTF-16LE"], 1);
    assert_eq!(from["UTF-16BE"], 1);
    assert_eq!(from["GB18030"], 1);
    assert_eq!(from["Big5"], 1);
    let c = cluster_of(out.path());
    // Ids are paths relative to the directory; all five encodings of one text are exact duplicates.
    for id in ["bom.txt", "gbk.txt", "sub/utf16le.txt", "sub/utf16be.txt"] {
        assert_eq!(c[id], c["utf8.txt"], "{id}");
    }
    // The directory output carries the decoded text of the representative.
    let rep = &c["utf8.txt"];
    let expected = if rep == "big5.txt" { trad } else { long.as_str() };
    let kept = jsonl(&out.path().join("deduplicated.jsonl"));
    let rep_line = kept.iter().find(|v| v["id"] == rep.as_str()).expect("representative kept");
    assert_eq!(rep_line["text"].as_str(), Some(expected));
}

#[test]
fn bad_input_is_reported_and_nothing_is_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.jsonl");
    let big = "字".repeat(40 << 20); // 120 MB of UTF-8
    let lines = [
        serde_json::json!({"id": "good", "text": STORY}).to_string(),
        "{not json".to_string(),
        serde_json::json!({"text": STORY}).to_string(),
        serde_json::json!({"id": "notext"}).to_string(),
        serde_json::json!({"id": "empty", "text": "  \n "}).to_string(),
        serde_json::json!({"id": "good", "text": OTHER}).to_string(),
        "[1, 2]".to_string(),
        serde_json::json!({"id": "huge", "text": big}).to_string(),
        serde_json::json!({"id": "punct", "text": "，。！？……"}).to_string(),
        String::new(),
        serde_json::json!({"id": "second", "text": OTHER}).to_string(),
    ];
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = run_dedup(&[f.to_str().unwrap()], out.path());
    ok(&o);
    let s = summary(out.path());
    assert_eq!(s["documents"], 2);
    assert_eq!(s["records_read"], 10);
    assert_eq!(s["blank_lines"], 1);
    let skipped = &s["skipped"];
    for (k, n) in [
        ("malformed_json", 1),
        ("missing_id", 1),
        ("missing_text", 1),
        ("empty_text", 1),
        ("duplicate_id", 1),
        ("not_an_object", 1),
        ("too_large", 1),
        ("no_content", 1),
    ] {
        assert_eq!(skipped[k], n, "{k}: {skipped}");
    }
    let skips = jsonl(&out.path().join("skipped.jsonl"));
    assert_eq!(skips.len(), 8);
    let name = f.display().to_string();
    let malformed = skips.iter().find(|v| v["reason"] == "malformed_json").unwrap();
    assert_eq!(malformed["location"]["file"], name.as_str());
    assert_eq!(malformed["location"]["line"], 2);
    let dup = skips.iter().find(|v| v["reason"] == "duplicate_id").unwrap();
    assert_eq!(dup["location"]["line"], 6);
    assert!(dup["first"].as_str().unwrap().ends_with("bad.jsonl:1"));
    // Messages name file and line.
    let messages = s["skipped_examples"].as_array().unwrap();
    assert!(
        messages.iter().any(|m| m.as_str().unwrap().starts_with(&format!("{name}:2: skipped: malformed JSON"))),
        "{messages:?}"
    );

    // Strict mode turns the first skip into an error naming file and line.
    let out2 = tempfile::tempdir().unwrap();
    let o =
        bin().args(["dedup", "--strict", "--quiet", f.to_str().unwrap(), "--out"]).arg(out2.path()).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{name}:2")) && err.contains("malformed JSON"), "{err}");
    assert!(!out2.path().join("clusters.jsonl").exists(), "no partial output in strict mode");
}

#[test]
fn bad_files_in_a_directory_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ok.txt"), STORY).unwrap();
    std::fs::write(d.join("empty.txt"), "").unwrap();
    std::fs::write(d.join("binary.bin"), [0u8, 1, 2, 0, 255, 0, 7, 0]).unwrap();
    // Mostly UTF-8 with a few invalid bytes: decoded with replacements and counted.
    std::fs::write(d.join("damaged.txt"), [OTHER.as_bytes(), b"\xff\xfe\xfd", OTHER.as_bytes()].concat()).unwrap();
    // Random bytes: undecodable.
    let noise: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 | 0x80).collect();
    std::fs::write(d.join("noise.txt"), noise).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&run_dedup(&[d.to_str().unwrap()], out.path()));
    let s = summary(out.path());
    let skips = jsonl(&out.path().join("skipped.jsonl"));
    let reason = |id: &str| skips.iter().find(|v| v["id"] == id).map(|v| v["reason"].as_str().unwrap().to_string());
    assert_eq!(reason("empty.txt").as_deref(), Some("empty_text"));
    assert_eq!(reason("binary.bin").as_deref(), Some("binary"));
    let documents = s["documents"].as_u64().unwrap();
    let skipped: u64 = s["skipped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(documents + skipped, 5, "every file is a document or a reported skip: {s}");
    // The damaged file is kept, its invalid bytes replaced and counted; the noise is undecodable.
    assert!(cluster_of(out.path()).contains_key("damaged.txt"), "{s}");
    assert_eq!(s["documents_with_replaced_bytes"], 1, "{s}");
    assert_eq!(reason("noise.txt").as_deref(), Some("undecodable"), "{s}");
}

#[test]
fn missing_input_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let o = run_dedup(&["/nonexistent/corpus.jsonl"], out.path());
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/corpus.jsonl"));
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let input = match shared() {
        Some(s) => s.join("bench/zh-dev/corpus.jsonl"),
        None => root().join("examples"),
    };
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = tempfile::tempdir().unwrap();
        ok(&run_dedup(&[input.to_str().unwrap(), "--threads", threads], out.path()));
        let files: Vec<Vec<u8>> = ["clusters.jsonl", "pairs.jsonl", "deduplicated.jsonl", "skipped.jsonl"]
            .iter()
            .map(|f| std::fs::read(out.path().join(f)).unwrap())
            .collect();
        outputs.push(files);
    }
    assert!(!outputs[0][0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn zh_dev_pair_f1_meets_the_bar() {
    let Some(sh) = shared() else { return };
    let out = tempfile::tempdir().unwrap();
    ok(&run_dedup(&[sh.join("bench/zh-dev/corpus.jsonl").to_str().unwrap()], out.path()));
    let o = Command::new("python3")
        .arg(sh.join("bench/score.py"))
        .arg(sh.join("bench/zh-dev"))
        .arg("--clusters")
        .arg(out.path().join("clusters.jsonl"))
        .args(["--min-f1", "0.985"])
        .output()
        .expect("python3 runs score.py");
    let report = String::from_utf8_lossy(&o.stdout);
    eprintln!("zh-dev: {report}");
    assert!(o.status.success(), "pair F1 below 0.985: {report} {}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(report.trim()).unwrap();
    assert!(v["documents"]["pair_f1"].as_f64().unwrap() >= 0.985);
}

/// A deterministic pseudo-random Chinese text of `len` characters.
fn noise(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            char::from_u32(0x4E00 + ((x >> 33) % 3000) as u32).unwrap()
        })
        .collect()
}

#[test]
fn reprints_cut_short_join_when_two_members_contain_them() {
    let article: String = noise(1, 1200);
    let mut copy: Vec<char> = article.chars().collect();
    copy[600] = '错';
    let copy: String = copy.into_iter().collect();
    let cut: String = article.chars().take(400).collect();
    // A text printed once, and the first third of it elsewhere: contained in one document only.
    let single = noise(2, 1200);
    let single_cut: String = single.chars().take(400).collect();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    let body: String =
        [("full", &article), ("copy", &copy), ("cut", &cut), ("single", &single), ("single_cut", &single_cut)]
            .iter()
            .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
            .collect();
    std::fs::write(&f, body).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&run_dedup(&[f.to_str().unwrap()], out.path()));
    let c = cluster_of(out.path());
    assert_eq!(c["copy"], "full");
    assert_eq!(c["cut"], "full", "a third of the article, contained in both copies, joins their cluster");
    assert_eq!(c["single_cut"], "single_cut", "contained in one document only, it stays apart");
    let pairs = jsonl(&out.path().join("pairs.jsonl"));
    let p = pairs.iter().find(|p| p["a"] == "cut" || p["b"] == "cut").expect("the attaching pair is reported");
    assert!(p["jaccard"].as_f64().unwrap() < 0.45 && p["containment"].as_f64().unwrap() >= 0.9);
    let out2 = tempfile::tempdir().unwrap();
    ok(&run_dedup(&[f.to_str().unwrap(), "--no-partial"], out2.path()));
    assert_eq!(cluster_of(out2.path())["cut"], "cut");
}

#[test]
fn a_large_cluster_lists_a_spanning_set_of_pairs_and_the_same_clusters() {
    // 3000 near-duplicates of one text (a few characters replaced in each): every pair is a duplicate. Verifying
    // and listing every candidate pair grows with the square of the cluster; past --large-cluster it stays linear.
    let base: Vec<char> = STORY.chars().collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut body = String::new();
    for i in 0..3000 {
        let mut t = base.clone();
        for _ in 0..1 + next(3) {
            let k = next(t.len() as u64) as usize;
            t[k] = char::from_u32(0x4E00 + next(0x5000) as u32).unwrap();
        }
        body.push_str(&serde_json::json!({"id": format!("n{i:04}"), "text": t.iter().collect::<String>()}).to_string());
        body.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("near.jsonl");
    std::fs::write(&f, body).unwrap();
    let (fast, full) = (dir.path().join("fast"), dir.path().join("full"));
    ok(&run_dedup(&[f.to_str().unwrap()], &fast));
    ok(&run_dedup(&[f.to_str().unwrap(), "--large-cluster", "0"], &full));
    assert_eq!(
        std::fs::read(fast.join("clusters.jsonl")).unwrap(),
        std::fs::read(full.join("clusters.jsonl")).unwrap()
    );
    assert_eq!(summary(&fast)["clusters"], 1);
    let (pf, pa) = (jsonl(&fast.join("pairs.jsonl")).len(), jsonl(&full.join("pairs.jsonl")).len());
    // The first batch of verifications (32 768 pairs) is spent before any cluster is large.
    assert!(pf < 20 * 3000, "a spanning set, not every pair: {pf}");
    assert!(pa > 10 * pf, "every candidate pair with --large-cluster 0: {pa} against {pf}");
    assert!(summary(&fast)["candidate_pairs_not_verified"].as_u64().unwrap() > 0);
    // Every listed pair is a verified duplicate, and they connect the whole cluster.
    let mut parent: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    fn root(p: &mut std::collections::HashMap<String, String>, x: &str) -> String {
        let mut x = x.to_string();
        while let Some(y) = p.get(&x).cloned() {
            x = y;
        }
        x
    }
    for v in jsonl(&fast.join("pairs.jsonl")) {
        assert!(v["jaccard"].as_f64().unwrap() >= 0.45);
        let (a, b) = (root(&mut parent, v["a"].as_str().unwrap()), root(&mut parent, v["b"].as_str().unwrap()));
        if a != b {
            parent.insert(a, b);
        }
    }
    let roots: std::collections::HashSet<String> = (0..3000).map(|i| root(&mut parent, &format!("n{i:04}"))).collect();
    assert_eq!(roots.len(), 1, "the listed pairs span the cluster");
}

#[test]
fn shards_read_again_in_parallel_give_the_corpus_read_as_one_stream() {
    // Several JSONL shards, duplicates within and across them, a shard whose documents are all removed, blank lines,
    // a malformed line and a line in GBK. The second pass reads the shards again one per worker (JSONL files only);
    // standard input is read again as one stream from its spool. Both give the same deduplicated corpus.
    let dir = tempfile::tempdir().unwrap();
    let shards = dir.path().join("shards");
    std::fs::create_dir(&shards).unwrap();
    let line = |id: String, text: &str| serde_json::json!({"id": id, "text": text, "n": 1}).to_string() + "\n";
    let mut all = Vec::new();
    for s in 0..5u64 {
        let mut body = Vec::new();
        for k in 0..12u64 {
            // Shard 3 repeats shard 0: nothing of it is kept.
            let text = match (if s == 3 { 0 } else { s }, k % 3) {
                (t, 0) => noise(100 * t + k, 300),
                (_, 1) => noise(k % 4, 300),
                _ => wrap(&noise(7, 300), 15),
            };
            body.extend(line(format!("s{s}-{k}"), &text).into_bytes());
            if k == 5 {
                body.extend(b"\n   \n{\"id\": \"broken\", \"text\": \n");
            }
        }
        if s == 1 {
            let gbk_line = line("gbk".into(), &noise(999, 200));
            let (gbk, _, _) = encoding_rs::GBK.encode(&gbk_line);
            body.extend(gbk.iter());
        }
        all.extend(&body);
        let path = shards.join(format!("part-{s}.jsonl.zst"));
        std::fs::write(path, zstd::encode_all(&body[..], 3).unwrap()).unwrap();
    }
    let files = ["clusters.jsonl", "pairs.jsonl", "deduplicated.jsonl"];
    let read = |out: &Path| -> Vec<Vec<u8>> { files.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect() };

    let out = tempfile::tempdir().unwrap();
    ok(&dedup_stdin(&all, out.path()));
    let streamed = read(out.path());
    let kept = String::from_utf8(streamed[2].clone()).unwrap();
    assert!(kept.contains("\"s0-0\"") && kept.contains("\"gbk\""), "{kept}");
    assert!(!kept.contains("\"s3-"), "shard 3 repeats shard 0");
    assert!(kept.lines().count() < 5 * 12);

    for threads in ["1", "2", "3", "8"] {
        let out = tempfile::tempdir().unwrap();
        ok(&run_dedup(&[shards.to_str().unwrap(), "--threads", threads], out.path()));
        assert_eq!(read(out.path()), streamed, "{threads} threads");
        assert_eq!(summary(out.path())["skipped"]["malformed_json"], 5);
    }
}

#[test]
fn no_deduplicated_writes_the_same_outputs_without_the_corpus() {
    // `--no-deduplicated`: the clusters, pairs and skipped records of a full run, the same counts in the summary,
    // and no deduplicated.jsonl; the documents flagged as representatives are those a full run writes.
    let input = root().join("examples");
    let (full, lean) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    ok(&run_dedup(&[input.to_str().unwrap()], full.path()));
    ok(&run_dedup(&[input.to_str().unwrap(), "--no-deduplicated"], lean.path()));
    for f in ["clusters.jsonl", "pairs.jsonl", "skipped.jsonl"] {
        assert_eq!(std::fs::read(full.path().join(f)).unwrap(), std::fs::read(lean.path().join(f)).unwrap(), "{f}");
    }
    assert!(!lean.path().join("deduplicated.jsonl").exists());
    let (a, b) = (summary(full.path()), summary(lean.path()));
    for key in ["documents", "clusters", "documents_removed", "documents_kept", "duplicate_pairs"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(b["config"]["write_deduplicated"], false);
    let kept: Vec<Value> = jsonl(&full.path().join("deduplicated.jsonl"));
    let representatives: Vec<Value> = jsonl(&lean.path().join("clusters.jsonl"))
        .into_iter()
        .filter(|c| c["representative"] == true)
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(kept.len() as u64, b["documents_kept"].as_u64().unwrap());
    assert_eq!(kept.iter().map(|d| d["id"].clone()).collect::<Vec<_>>(), representatives);
}

#[test]
fn identical_texts_get_the_results_of_fingerprinting_each() {
    // A corpus where most documents repeat an earlier one byte for byte (the job fingerprints such a text once when
    // it can, and stores its shingle set once), mixed with near copies, copies that differ only in punctuation (equal
    // sets, different bytes), a duplicate id and two texts without content. Over 512 documents a file, so that copies
    // meet their originals across batches. Every thread count and memory budget gives the same outputs (1 MB holds
    // part of the ~1.7 MB of sets stored, the rest spill; 64 MB holds them all), and the clusters and pairs are those
    // of the in-memory `Deduper`, which fingerprints every document.
    let bases: Vec<String> =
        (0..300u64).map(|k| format!("{}{}", &STORY[..3 * 20], noise(k, 800 + (k as usize % 7) * 40))).collect();
    let mut docs: Vec<(String, String)> = Vec::new();
    for i in 0..1500usize {
        let b = &bases[(i * 7) % bases.len()];
        let text = match i % 10 {
            // A near copy: a dateline and the last characters cut, as many as the document's number says.
            3 => format!("本报北京{i}电 {}", b.chars().take(b.chars().count() - 5 - i % 30).collect::<String>()),
            // The same shingle set, other bytes: punctuation that normalization removes.
            6 => format!("{b}。"),
            _ => b.clone(),
        };
        docs.push((format!("d{i:05}"), text));
    }
    let dir = tempfile::tempdir().unwrap();
    let line = |id: &str, text: &str| serde_json::json!({"id": id, "text": text}).to_string() + "\n";
    let mut files = [String::new(), String::new()];
    for (i, (id, text)) in docs.iter().enumerate() {
        files[usize::from(i >= 800)].push_str(&line(id, text));
    }
    // Skipped, each with its reason: an id seen before, and twice a text without a letter, digit or CJK character.
    files[1].push_str(&line("d00003", &bases[0]));
    files[1].push_str(&line("empty-1", "。，！"));
    files[1].push_str(&line("empty-2", "。，！"));
    let paths: Vec<PathBuf> = (0..2).map(|k| dir.path().join(format!("part-{k}.jsonl"))).collect();
    for (p, body) in paths.iter().zip(&files) {
        std::fs::write(p, body).unwrap();
    }
    let inputs: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();

    let mut outputs = Vec::new();
    for extra in [&["--threads", "1"][..], &["--threads", "2"], &["--memory-mb", "1"], &["--memory-mb", "64"]] {
        let out = tempfile::tempdir().unwrap();
        ok(&run_dedup(&[&inputs[..], extra].concat(), out.path()));
        let s = summary(out.path());
        assert_eq!(s["documents"], 1500, "{extra:?}");
        let skipped: Vec<u64> = s["skipped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(skipped.iter().sum::<u64>(), 3, "{extra:?}: {s}");
        assert_eq!(skipped.len(), 2, "two reasons: {s}");
        assert_eq!(s["spilled_bytes"].as_u64().unwrap() > 0, extra == ["--memory-mb", "1"], "{extra:?}: {s}");
        let files: Vec<Vec<u8>> = ["clusters.jsonl", "pairs.jsonl", "deduplicated.jsonl", "skipped.jsonl"]
            .iter()
            .map(|f| std::fs::read(out.path().join(f)).unwrap())
            .collect();
        outputs.push((files, out));
    }
    for (files, _) in &outputs[1..] {
        assert_eq!(*files, outputs[0].0);
    }
    let out = outputs[0].1.path();
    assert!(summary(out)["exact_duplicates"].as_u64().unwrap() > 1000, "{}", summary(out));

    let mut deduper = textreuse::core::dedup::Deduper::new(textreuse::core::dedup::DedupOptions::default()).unwrap();
    for (id, text) in &docs {
        deduper.add(id, text).unwrap();
    }
    let result = deduper.finish();
    let clusters: Vec<Value> = (0..result.len())
        .map(|d| {
            serde_json::json!({"id": result.ids[d], "cluster": result.cluster_of(d),
                "size": result.search.clusters.size[d], "representative": result.is_kept(d)})
        })
        .collect();
    assert_eq!(clusters, jsonl(&out.join("clusters.jsonl")));
    let round = |x: f64| (x * 1e4).round() / 1e4;
    let pairs: Vec<Value> = result
        .search
        .duplicates
        .iter()
        .map(|p| {
            serde_json::json!({"a": result.ids[p.a as usize], "b": result.ids[p.b as usize],
                "jaccard": round(p.stats.jaccard), "containment": round(p.stats.containment)})
        })
        .collect();
    assert!(pairs.len() > 1200, "{} pairs", pairs.len());
    assert_eq!(pairs, jsonl(&out.join("pairs.jsonl")));
}
