//! Output directories and run records: a user's files are never deleted or mixed with a run's, outputs inside an
//! input are never read back, a run that skipped everything fails, and the typed records read back what the jobs
//! write (issues "trust" and "embeddable core").

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use textreuse::records::{BoilerplateRecord, ClusterRecord};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_textreuse"))
}

fn run(args: &[&str], cwd: &Path) -> Output {
    bin().args(args).current_dir(cwd).output().expect("run textreuse")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const A: &str = "新华社杭州5月20日电 记者20日从杭州市图书馆获悉，该馆主办的馆藏古籍珍本展当天正式开幕，\
共展出宋元明清各时期古籍一百二十余种，其中十余种为首次公开亮相。展览分为刻本源流、名家批校、地方文献三个单元。";
const B: &str = "本报讯 今年以来，本市持续推进老旧小区改造，完成加装电梯三百余部，惠及居民两万多户。\
市住建局表示，下一步将优化审批流程，推广装配式施工，缩短工期，减少对居民生活的影响。";

fn corpus(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("a.txt"), A).unwrap();
    std::fs::write(dir.join("a_copy.txt"), A).unwrap();
    std::fs::write(dir.join("b.txt"), B).unwrap();
}

fn clusters(out: &Path) -> Vec<ClusterRecord> {
    std::fs::read_to_string(out.join("clusters.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a typed cluster record"))
        .collect()
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().to_path_buf();
    (t, p)
}

#[test]
fn an_output_directory_inside_the_input_is_never_read_back() {
    let (_t, dir) = tmp();
    corpus(&dir);
    for _ in 0..2 {
        let o = run(&["dedup", ".", "--out", "out", "--quiet"], &dir);
        assert!(o.status.success(), "{}", stderr(&o));
        let c = clusters(&dir.join("out"));
        assert_eq!(c.len(), 3, "the second run read its own outputs: {c:?}");
    }
    // `--out` equal to an input is refused.
    let o = run(&["dedup", ".", "--out", ".", "--quiet"], &dir);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("also an input"), "{}", stderr(&o));
}

#[test]
fn a_users_directory_is_refused_and_left_as_it_was() {
    let (_t, dir) = tmp();
    corpus(&dir.join("in"));
    std::fs::write(dir.join("thesis.tex"), "my thesis").unwrap();
    for job in ["dedup", "passages", "repeats", "boilerplate", "substrings"] {
        let o = run(&[job, "in", "--out", ".", "--quiet"], &dir);
        assert!(!o.status.success(), "{job} wrote into a directory of the user's");
        assert!(stderr(&o).contains("did not write"), "{job}: {}", stderr(&o));
    }
    assert_eq!(std::fs::read_to_string(dir.join("thesis.tex")).unwrap(), "my thesis");
    // The report too: over a user's directory, and over the run it reads.
    let o = run(&["dedup", "in", "--out", "run", "--quiet"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["report", "run", "--out", ".", "--quiet"], &dir);
    assert!(!o.status.success());
    assert_eq!(std::fs::read_to_string(dir.join("thesis.tex")).unwrap(), "my thesis");
    let o = run(&["report", "run", "--out", "run", "--quiet"], &dir);
    assert!(!o.status.success());
    assert_eq!(clusters(&dir.join("run")).len(), 3, "the run survived");
    // A report replaces a previous report.
    for _ in 0..2 {
        let o = run(&["report", "run", "--out", "site", "--quiet"], &dir);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(dir.join("site/index.html").is_file());
}

#[test]
fn a_failed_run_leaves_the_previous_outputs_whole() {
    let (_t, dir) = tmp();
    corpus(&dir.join("in"));
    let o = run(&["dedup", "in", "--out", "out", "--quiet"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let before: Vec<(String, Vec<u8>)> = files(&dir.join("out"));
    // A strict run that fails on a bad record: nothing of it appears, nothing of the previous run changes.
    std::fs::write(dir.join("bad.jsonl"), "{\"id\": \"x\", \"text\": \"ok text here\"}\nnot json\n").unwrap();
    let o = run(&["dedup", "bad.jsonl", "--out", "out", "--strict", "--quiet"], &dir);
    assert!(!o.status.success());
    assert_eq!(files(&dir.join("out")), before);
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("textreuse-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A successful run replaces every file: an optional output of the first run does not stay beside the second's.
    let o = run(&["dedup", "in", "--out", "out2", "--write-candidates", "--quiet"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("out2/candidates.jsonl").is_file());
    let o = run(&["dedup", "in", "--out", "out2", "--quiet"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dir.join("out2/candidates.jsonl").exists(), "a file of the previous run stayed");
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_run_that_skipped_every_record_fails_and_names_the_fields() {
    let (_t, dir) = tmp();
    std::fs::write(
        dir.join("c.jsonl"),
        "{\"doc_id\": 1, \"content\": \"some text\"}\n{\"doc_id\": 2, \"content\": \"x\"}\n",
    )
    .unwrap();
    for job in ["dedup", "passages", "repeats"] {
        let o = run(&[job, "c.jsonl", "--out", job, "--quiet"], &dir);
        assert!(!o.status.success(), "{job} succeeded with every record skipped");
        let e = stderr(&o);
        assert!(e.contains("every one of the 2 records") && e.contains("\"content\""), "{job}: {e}");
        assert!(!dir.join(job).exists(), "{job} left an output directory");
    }
    let o =
        run(&["dedup", "c.jsonl", "--id-field", "doc_id", "--text-field", "content", "--out", "ok", "--quiet"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_boilerplate_list_is_applied_with_the_settings_it_was_made_with() {
    let (_t, dir) = tmp();
    // A 90-character line in every document: boilerplate only for a list made with --max-chars 100.
    let line: String =
        "本栏目所刊登的全部文章与图片均由本报编辑部负责审核与校对如需转载请与本报联系并注明出处谢谢合作".repeat(2);
    let line: String = line.chars().take(90).collect();
    std::fs::create_dir_all(dir.join("in")).unwrap();
    let bodies = [
        "春风吹绿了江南岸边的柳树",
        "秋天的果园里挂满了红苹果",
        "冬夜的北方城市飘起大雪",
        "夏日午后的雷阵雨来得很急",
        "山间小路通向一座古老寺庙",
        "海边渔港停满了归来的渔船",
        "草原上的牧民赶着羊群回家",
        "沙漠绿洲里有一眼清澈泉水",
    ];
    for (k, body) in bodies.iter().enumerate() {
        std::fs::write(dir.join(format!("in/{k}.txt")), format!("{line}\n{body}。")).unwrap();
    }
    let o = run(&["boilerplate", "in", "--min-df", "5", "--max-chars", "100", "--out", "bp", "--quiet"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = std::fs::read_to_string(dir.join("bp/boilerplate.jsonl")).unwrap();
    let records: Vec<BoilerplateRecord> = list.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(records.iter().any(|r| r.df == 8), "the line is boilerplate: {records:?}");
    let filter = textreuse::boilerplate::load_filter(&dir.join("bp/boilerplate.jsonl")).unwrap();
    let doc = format!("{line}\n正文。");
    let blanked = filter.apply(&doc);
    assert_eq!(blanked.chars().count(), doc.chars().count(), "offsets stay");
    assert!(blanked.starts_with(&" ".repeat(90)), "the 90-character line was not removed: {blanked}");
    // dedup records which list it used.
    let o = run(&["dedup", "in", "--boilerplate", "bp/boilerplate.jsonl", "--out", "d", "--quiet"], &dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: textreuse::dedup::DedupSummary =
        serde_json::from_str(&std::fs::read_to_string(dir.join("d/summary.json")).unwrap()).unwrap();
    assert!(s.config.boilerplate_list.as_deref().is_some_and(|p| p.ends_with("bp/boilerplate.jsonl")));
    assert_eq!(s.schema_version, textreuse::records::SCHEMA_VERSION);
}
