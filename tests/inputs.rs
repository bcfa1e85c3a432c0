//! Inputs a user may point the tool at, and what it must never do with them (issue 9): lose or mix records,
//! read a stream twice, read an oversized file, mangle ids, hide errors, or print an error twice.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_textreuse"))
}

fn dedup(args: &[&str], out: &Path) -> Output {
    bin().arg("dedup").args(args).arg("--out").arg(out).arg("--quiet").output().expect("run textreuse")
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

fn ids(path: &Path) -> Vec<String> {
    jsonl(path).iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
}

/// Waits for a child at most `secs` seconds (a test that would block forever fails instead).
fn wait(mut child: Child, secs: u64) -> Output {
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(secs) {
            child.kill().unwrap();
            panic!("textreuse did not finish in {secs} s (blocked on a stream?)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

const A: &str = "新华社杭州5月20日电 记者20日从杭州市图书馆获悉，该馆主办的馆藏古籍珍本展当天正式开幕，\
共展出宋元明清各时期古籍一百二十余种，其中十余种为首次公开亮相。";
const B: &str = "本报讯 今年以来，本市持续推进老旧小区改造，完成加装电梯三百余部，惠及居民两万多户。\
市住建局表示，下一步将优化审批流程，推广装配式施工，缩短工期，减少对居民生活的影响。";

const C: &str = "据气象部门预计，未来三天本地将以晴到多云天气为主，气温逐步回升，最高气温可达二十八摄氏度，\
早晚温差较大，市民应注意适时增减衣物，谨防感冒。";

fn corpus() -> String {
    [
        serde_json::json!({"id": "a", "text": A}),
        serde_json::json!({"id": "a2", "text": A}),
        serde_json::json!({"id": "b", "text": B}),
    ]
    .iter()
    .map(|v| v.to_string() + "\n")
    .collect()
}

#[test]
fn standard_input_given_twice_is_refused_before_any_work() {
    let out = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["dedup", "-", "-", "--quiet", "--out"])
        .arg(out.path().join("run"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(corpus().as_bytes());
    let o = wait(child, 60);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("standard input") && err.contains("more than once"), "{err}");
    assert!(!out.path().join("run").exists(), "nothing written");
}

#[test]
fn a_named_pipe_is_read_once_and_every_pass_sees_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("corpus.jsonl");
    mkfifo(&fifo);
    let out = tempfile::tempdir().unwrap();
    let child = bin()
        .args(["dedup", "--quiet", "--out"])
        .arg(out.path())
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The writer opens the pipe once, as a process substitution does.
    std::fs::OpenOptions::new().write(true).open(&fifo).unwrap().write_all(corpus().as_bytes()).unwrap();
    let o = wait(child, 60);
    ok(&o);
    let s = summary(out.path());
    assert_eq!(s["documents"], 3);
    assert_eq!(s["documents_removed"], 1);
    // The second pass read the same records (from the spool): the kept records are written, not an empty file.
    assert_eq!(ids(&out.path().join("deduplicated.jsonl")), ["a", "b"]);
}

#[test]
fn a_process_substitution_is_read_as_jsonl_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    std::fs::write(&f, corpus()).unwrap();
    let out = tempfile::tempdir().unwrap();
    // `<(cat file)` is a pipe named /dev/fd/N, read as JSONL like standard input.
    let script = format!("exec \"$0\" dedup --quiet --out '{}' <(cat '{}')", out.path().display(), f.display());
    let child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_textreuse"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ok(&wait(child, 60));
    assert_eq!(summary(out.path())["documents"], 3);
    assert_eq!(ids(&out.path().join("deduplicated.jsonl")), ["a", "b"]);
}

#[test]
fn special_files_and_walk_errors_in_a_directory_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), A).unwrap();
    std::fs::create_dir(d.join("b")).unwrap();
    std::os::unix::fs::symlink(d, d.join("b/loop")).unwrap();
    mkfifo(&d.join("c.fifo"));
    std::fs::write(d.join("d.txt"), B).unwrap();
    let out = tempfile::tempdir().unwrap();
    let child = bin()
        .args(["dedup", "--quiet", "--out"])
        .arg(out.path())
        .arg(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ok(&wait(child, 60));
    let s = summary(out.path());
    assert_eq!(s["documents"], 2, "the file after the loop is read too: {s}");
    assert_eq!(s["skipped"]["unreadable"], 1, "{s}");
    assert_eq!(s["skipped"]["not_a_regular_file"], 1, "{s}");
    let skips = jsonl(&out.path().join("skipped.jsonl"));
    let fifo = skips.iter().find(|v| v["reason"] == "not_a_regular_file").unwrap();
    assert_eq!((fifo["id"].as_str(), fifo["kind"].as_str()), (Some("c.fifo"), Some("FIFO")));
}

#[test]
fn numeric_ids_keep_their_digits() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("n.jsonl");
    let body = format!(
        "{{\"id\": 123456789012345678901, \"text\": \"{A}\"}}\n{{\"id\": 123456789012345678902, \"text\": \"{B}\"}}\n\
         {{\"id\": 1e2, \"text\": \"{C}\"}}\n"
    );
    std::fs::write(&f, &body).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&dedup(&[f.to_str().unwrap()], out.path()));
    assert_eq!(ids(&out.path().join("clusters.jsonl")), ["123456789012345678901", "123456789012345678902", "1e2"]);
    assert_eq!(summary(out.path())["skipped"], serde_json::json!({}));
    // Kept lines are the input lines, numbers and all.
    assert_eq!(std::fs::read_to_string(out.path().join("deduplicated.jsonl")).unwrap(), body);
}

#[test]
fn file_names_that_are_not_utf8_get_distinct_reversible_ids() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join(std::ffi::OsStr::from_bytes(b"x\xff.txt")), A).unwrap();
    std::fs::write(d.join(std::ffi::OsStr::from_bytes(b"x\xfe.txt")), B).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&dedup(&[d.to_str().unwrap()], out.path()));
    assert_eq!(ids(&out.path().join("clusters.jsonl")), ["x\\xfe.txt", "x\\xff.txt"]);
    assert_eq!(summary(out.path())["documents"], 2);
}

#[test]
fn duplicate_id_lines_in_skipped_jsonl_have_one_id_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d.jsonl");
    std::fs::write(&f, format!("{{\"id\": \"x\", \"text\": \"{A}\"}}\n{{\"id\": \"x\", \"text\": \"{B}\"}}\n"))
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&dedup(&[f.to_str().unwrap()], out.path()));
    let raw = std::fs::read_to_string(out.path().join("skipped.jsonl")).unwrap();
    assert_eq!(raw.lines().count(), 1);
    assert_eq!(raw.matches("\"id\":").count(), 1, "{raw}");
    let v: Value = serde_json::from_str(raw.trim()).unwrap();
    assert_eq!((v["id"].as_str(), v["reason"].as_str()), (Some("x"), Some("duplicate_id")));
    assert!(v["first"].as_str().unwrap().ends_with("d.jsonl:1"), "{v}");
}

#[test]
fn an_oversized_file_is_skipped_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("docs");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("a.txt"), A).unwrap();
    // A sparse file of 64 GiB: more than this machine's memory, so reading it would fail the run.
    std::fs::File::create(d.join("huge.txt")).unwrap().set_len(64 << 30).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&dedup(&[d.to_str().unwrap()], out.path()));
    let s = summary(out.path());
    assert_eq!(s["documents"], 1);
    let skip = &jsonl(&out.path().join("skipped.jsonl"))[0];
    assert_eq!((skip["id"].as_str(), skip["reason"].as_str()), (Some("huge.txt"), Some("too_large")));
    assert_eq!(skip["bytes"], 64u64 << 30);
    assert_eq!(s["bytes_read"], A.len(), "the large file was not read: {s}");
}

#[test]
fn utf32_files_are_decoded_as_utf32() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("docs");
    std::fs::create_dir(&d).unwrap();
    let utf32: Vec<u8> =
        [0xFF, 0xFE, 0, 0].into_iter().chain(A.chars().flat_map(|c| (c as u32).to_le_bytes())).collect();
    std::fs::write(d.join("a32.txt"), utf32).unwrap();
    std::fs::write(d.join("a8.txt"), A).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&dedup(&[d.to_str().unwrap()], out.path()));
    let s = summary(out.path());
    assert_eq!(s["decoded_from"]["UTF-32LE"], 1, "{s}");
    assert_eq!(s["documents_removed"], 1, "the UTF-32 copy is an exact duplicate of the UTF-8 one: {s}");
}

#[test]
fn strict_mode_refuses_lossy_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("docs");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("damaged.txt"), [A.as_bytes(), b"\xff", B.as_bytes()].concat()).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&dedup(&[d.to_str().unwrap()], out.path()));
    assert_eq!(summary(out.path())["documents_with_replaced_bytes"], 1);
    let o = dedup(&[d.to_str().unwrap(), "--strict"], &out.path().join("strict"));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("damaged.txt") && err.contains("invalid byte sequences replaced"), "{err}");
}

#[test]
fn outputs_follow_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    std::fs::write(&f, corpus()).unwrap();
    let out = dir.path().join("run");
    for (umask, mode) in [("022", 0o644), ("077", 0o600)] {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" dedup --quiet --out \"$1\" \"$2\""))
            .arg(env!("CARGO_BIN_EXE_textreuse"))
            .arg(&out)
            .arg(&f)
            .output()
            .unwrap();
        ok(&o);
        let dir_mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, mode | ((mode & 0o444) >> 2), "the run directory under umask {umask}");
        for name in ["summary.json", "clusters.jsonl", "deduplicated.jsonl", "skipped.jsonl"] {
            let m = std::fs::metadata(out.join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, mode, "{name} under umask {umask}");
        }
    }
}

#[test]
fn errors_name_the_cause_once_and_escape_file_names() {
    let out = tempfile::tempdir().unwrap();
    let o = dedup(&["/nonexistent/corpus.jsonl"], out.path());
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert_eq!(err.matches("/nonexistent/corpus.jsonl").count(), 1, "{err}");

    // A skipped file whose name holds a newline is named on one line.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("docs");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("ok.txt"), A).unwrap();
    std::fs::write(d.join("bad\nname.txt"), [0u8, 1, 0, 2]).unwrap();
    let o = bin().arg("dedup").arg(&d).arg("--out").arg(out.path().join("run")).output().unwrap();
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    let warning = err.lines().find(|l| l.contains("binary")).unwrap_or_else(|| panic!("{err}"));
    assert!(warning.contains("bad\\nname.txt"), "{err}");
}

#[test]
fn a_folder_of_jsonl_shards_is_read_as_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("shards");
    std::fs::create_dir(&d).unwrap();
    let lines: Vec<String> = corpus().lines().map(str::to_string).collect();
    std::fs::write(d.join("part-0.jsonl"), format!("{}\n", lines[0])).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(d.join("part-1.jsonl.gz")).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(format!("{}\n", lines[1]).as_bytes()).unwrap();
    gz.finish().unwrap();
    std::fs::write(d.join("part-2.jsonl.zst"), zstd::encode_all(format!("{}\n", lines[2]).as_bytes(), 3).unwrap())
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&dedup(&[d.to_str().unwrap()], out.path()));
    assert_eq!(ids(&out.path().join("clusters.jsonl")), ["a", "a2", "b"]);
    assert_eq!(summary(out.path())["documents_removed"], 1);
    // And a glob (quoted, so that the tool expands it) reads the same shards.
    let out2 = tempfile::tempdir().unwrap();
    ok(&dedup(&[&format!("{}/part-*", d.display())], out2.path()));
    assert_eq!(ids(&out2.path().join("clusters.jsonl")), ["a", "a2", "b"]);
}

/// Rewrites the input file when the second pass of `dedup` starts, as a user editing the corpus during a run.
struct ChangeInputOnWrite {
    file: PathBuf,
    text: String,
}

impl textreuse::progress::Progress for ChangeInputOnWrite {
    fn start(&self, stage: &str, _total: Option<u64>, _unit: &str) {
        if stage == "write" {
            std::fs::write(&self.file, &self.text).unwrap();
        }
    }
}

#[test]
fn a_second_pass_that_reads_other_records_fails_instead_of_mixing_them() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    std::fs::write(&f, corpus()).unwrap();
    let changed = corpus().replace("\"b\"", "\"z\"");
    let inputs = textreuse::io::Input::from_args(&[f.to_str().unwrap()]).unwrap();
    let out = dir.path().join("run");
    let cfg = textreuse::dedup::DedupConfig::default();
    let progress = ChangeInputOnWrite { file: f.clone(), text: changed };
    let err = textreuse::dedup::run(&inputs, &out, &cfg, &progress).expect_err("the run must fail");
    let chain = format!("{}: {}", err, std::error::Error::source(&err).map(|e| e.to_string()).unwrap_or_default());
    assert!(chain.contains("c.jsonl:3") && chain.contains("changed"), "{chain}");
    assert!(!out.join("deduplicated.jsonl").exists());
    // Unchanged, the same run succeeds.
    std::fs::write(&f, corpus()).unwrap();
    let s = textreuse::dedup::run(&inputs, &out, &cfg, &textreuse::progress::NoProgress).unwrap();
    assert_eq!(s.documents_kept, 2);
    // Without deduplicated.jsonl the input is read once: a change after the first pass is never seen.
    let lean = textreuse::dedup::DedupConfig { write_deduplicated: false, ..Default::default() };
    let progress = ChangeInputOnWrite { file: f.clone(), text: corpus().replace("\"b\"", "\"z\"") };
    let out = dir.path().join("lean");
    let s = textreuse::dedup::run(&inputs, &out, &lean, &progress).unwrap();
    assert_eq!((s.documents_kept, s.documents), (2, 3));
    assert!(!out.join("deduplicated.jsonl").exists() && out.join("clusters.jsonl").exists());
}

#[test]
fn one_large_file_is_read_again_in_segments_and_a_change_is_still_caught() {
    // About 8 MB, more than two segments ([`textreuse::io::SEGMENT_BYTES`]): 2,500 documents of unique words, each
    // tenth a copy of the one before it.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.jsonl");
    let lines: Vec<String> = (0..2500usize)
        .map(|i| {
            let base = if i % 10 == 9 { i - 1 } else { i };
            let text: String = (0..400).map(|k| format!("w{}x{k} ", base * 7 + k % 13)).collect();
            format!(r#"{{"id": "d{i}", "text": "{text}"}}"#)
        })
        .collect();
    let original = lines.join("\n") + "\n";
    assert!(original.len() as u64 > 2 * textreuse::io::SEGMENT_BYTES);
    std::fs::write(&f, &original).unwrap();
    let inputs = textreuse::io::Input::from_args(&[f.to_str().unwrap()]).unwrap();
    let cfg = textreuse::dedup::DedupConfig::default();
    let out = dir.path().join("run");
    let s = textreuse::dedup::run(&inputs, &out, &cfg, &textreuse::progress::NoProgress).unwrap();
    assert_eq!((s.documents, s.documents_kept), (2500, 2250));
    // The kept documents' lines, as they are in the input and in its order.
    let kept: std::collections::HashSet<String> = jsonl(&out.join("clusters.jsonl"))
        .into_iter()
        .filter(|c| c["representative"] == true)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<&str> =
        lines.iter().filter(|l| kept.contains(&l[8..l.find("\", ").unwrap()])).map(|l| l.as_str()).collect();
    let written = std::fs::read_to_string(out.join("deduplicated.jsonl")).unwrap();
    assert_eq!(written.lines().collect::<Vec<_>>(), expected);
    // A line put first between the passes moves every segment's start: the second pass fails.
    let moved = format!("{{\"id\": \"new\", \"text\": \"a new first line\"}}\n{original}");
    let progress = ChangeInputOnWrite { file: f.clone(), text: moved };
    let again = dir.path().join("again");
    let err = textreuse::dedup::run(&inputs, &again, &cfg, &progress).expect_err("the run must fail");
    let chain = format!("{}: {}", err, std::error::Error::source(&err).map(|e| e.to_string()).unwrap_or_default());
    assert!(chain.contains("changed"), "{chain}");
    assert!(!again.join("deduplicated.jsonl").exists());
}

#[test]
fn out_of_range_settings_are_refused_by_the_argument_parser() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    std::fs::write(&f, corpus()).unwrap();
    let f = f.to_str().unwrap();
    for (job, args) in [
        ("substrings", &["--shard-units", "0"][..]),
        ("substrings", &["--min-length", "0"]),
        ("dedup", &["--partial-containment", "2"]),
        ("dedup", &["--threshold", "1.5"]),
        ("dedup", &["--containment-threshold=-0.1"]),
        ("dedup", &["--lsh-threshold", "0"]),
        ("dedup", &["--ngram", "0"]),
        ("dedup", &["--num-perm", "0"]),
        ("dedup", &["--threads", "0"]),
        ("dedup", &["--max-doc-bytes", "0"]),
        ("passages", &["--min-length", "0"]),
        ("passages", &["--max-df", "0"]),
        ("boilerplate", &["--max-chars", "0"]),
    ] {
        let out = dir.path().join("out");
        let o = bin().arg(job).arg(f).arg("--out").arg(&out).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{job} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        let flag = args[0].split('=').next().unwrap();
        assert!(
            err.contains(flag) && (err.contains("at least 1") || err.contains("[0, 1]") || err.contains("(0, 1]")),
            "{err}"
        );
        assert!(!out.exists(), "{job} {args:?} wrote nothing");
    }
}

#[test]
fn a_boilerplate_list_is_offered_where_it_is_used_and_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    std::fs::write(&f, corpus()).unwrap();
    let missing = dir.path().join("no-such-boilerplate.jsonl");
    for job in ["dedup", "passages"] {
        let out = dir.path().join(job);
        let o = bin().arg(job).arg(&f).arg("--out").arg(&out).arg("--boilerplate").arg(&missing).output().unwrap();
        assert!(!o.status.success(), "{job}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("no-such-boilerplate.jsonl") && err.contains("No such file"), "{job}: {err}");
        assert!(!out.exists(), "{job}: nothing written");
    }
    // Jobs that do not use a boilerplate list do not accept one.
    for job in ["repeats", "boilerplate", "substrings"] {
        let out = dir.path().join(job);
        let o = bin().arg(job).arg(&f).arg("--out").arg(&out).arg("--boilerplate").arg(&missing).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{job}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--boilerplate"), "{job}");
    }
}

#[test]
fn compare_shows_the_original_text_marks_differences_without_colour_and_ends_quietly_on_a_closed_pipe() {
    let zh = root().join("examples/zh");
    let o = bin()
        .args(["compare", "--color", "never"])
        .arg(zh.join("01_simplified_columns.txt"))
        .arg(zh.join("02_traditional_columns.txt"))
        .output()
        .unwrap();
    ok(&o);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains('\x1b'), "no colour codes with --color never");
    assert!(out.contains("legend:"), "{out}");
    // Script variants are braced, and the text is shown as written: traditional characters and punctuation.
    assert!(out.contains('{') && out.contains('}'), "{out}");
    let b = std::fs::read_to_string(zh.join("02_traditional_columns.txt")).unwrap();
    let trad: Vec<char> = b.chars().filter(|c| !c.is_ascii() && "，。、".contains(*c)).take(3).collect();
    assert!(!trad.is_empty() && trad.iter().all(|c| out.contains(*c)), "punctuation as written: {out}");

    // A long comparison whose reader stops after a few bytes: no error message, success.
    let dir = tempfile::tempdir().unwrap();
    let mut state = 7u64;
    let text: String = (0..30_000)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            char::from_u32(0x4E00 + ((state >> 33) % 0x5000) as u32).unwrap()
        })
        .collect();
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&a, &text).unwrap();
    std::fs::write(&b, format!("前言。{text}")).unwrap();
    let mut child = bin()
        .args(["compare", "--color", "never", "--width", "1"])
        .arg(&a)
        .arg(&b)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = [0u8; 64];
    std::io::Read::read_exact(&mut stdout, &mut head).unwrap();
    drop(stdout);
    let o = wait(child, 120);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty(), "quiet: {}", String::from_utf8_lossy(&o.stderr));
}

/// Records every stage's total and the sum of its increments.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<(String, Option<u64>, u64)>>);

impl textreuse::progress::Progress for Recorder {
    fn start(&self, stage: &str, total: Option<u64>, _unit: &str) {
        self.0.lock().unwrap().push((stage.to_string(), total, 0));
    }
    fn inc(&self, n: u64) {
        if let Some(last) = self.0.lock().unwrap().last_mut() {
            last.2 += n;
        }
    }
}

#[test]
fn progress_of_compressed_input_counts_compressed_bytes_against_the_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl.zst");
    let body = corpus().repeat(50).replace("\"a2\"", "\"x\"");
    let lines: String =
        body.lines().enumerate().map(|(k, l)| l.replacen("\"id\":\"", &format!("\"id\":\"{k}-"), 1) + "\n").collect();
    std::fs::write(&f, zstd::encode_all(lines.as_bytes(), 3).unwrap()).unwrap();
    let size = std::fs::metadata(&f).unwrap().len();
    let inputs = textreuse::io::Input::from_args(&[f.to_str().unwrap()]).unwrap();
    let rec = Recorder::default();
    textreuse::dedup::run(&inputs, &dir.path().join("run"), &textreuse::dedup::DedupConfig::default(), &rec).unwrap();
    let stages = rec.0.lock().unwrap().clone();
    let fp = stages.iter().find(|s| s.0 == "fingerprint").unwrap();
    assert_eq!(fp.1, Some(size), "the bar's total is the compressed size: {stages:?}");
    assert_eq!(fp.2, size, "and it advances by compressed bytes read: {stages:?}");
}

/// The root of the repository.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
