//! `textreuse passages` and `textreuse compare` end to end: the seeds, zh-dev, bad and pathological input.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use textreuse::align::UnitDoc;
use textreuse::normalize::{normalize, NormalizeOptions};

mod common;
use common::{occurrences, Phrase};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_textreuse"))
}

use common::{root, shared};

fn ok(o: &Output) {
    assert!(o.status.success(), "textreuse failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn passages(args: &[&str], out: &Path) -> Output {
    bin().arg("passages").args(args).arg("--out").arg(out).arg("--quiet").output().expect("run textreuse")
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Code point offsets in `text` of every occurrence of a phrase, matched after normalization.
fn find_all(text: &str, phrase: Phrase) -> Vec<u32> {
    let n = normalize(text, &NormalizeOptions::default());
    let chars: Vec<char> = n.text.chars().collect();
    occurrences(&chars, phrase).iter().map(|&k| n.offsets[k]).collect()
}

struct Seeds {
    texts: Vec<(String, String)>,
    alignments: Vec<Value>,
}

impl Seeds {
    fn text(&self, prefix: &str) -> &str {
        &self.texts.iter().find(|(id, _)| id.starts_with(prefix)).unwrap().1
    }
    fn id(&self, prefix: &str) -> &str {
        &self.texts.iter().find(|(id, _)| id.starts_with(prefix)).unwrap().0
    }
    /// Alignments between the seeds with these prefixes.
    fn between(&self, x: &str, y: &str) -> Vec<&Value> {
        let (ix, iy) = (self.id(x), self.id(y));
        self.alignments.iter().filter(|a| (a["a"] == ix && a["b"] == iy) || (a["a"] == iy && a["b"] == ix)).collect()
    }
    /// True when one alignment between x and y covers `phrase` in both documents (one of its occurrences, where a
    /// document prints it twice).
    fn share(&self, x: &str, y: &str, phrase: Phrase) -> bool {
        let (px, py) = (find_all(self.text(x), phrase), find_all(self.text(y), phrase));
        assert!(!px.is_empty() && !py.is_empty(), "phrase {phrase:?} not found");
        let (ix, _) = (self.id(x), self.id(y));
        self.between(x, y).iter().any(|a| {
            let (xs, ys) = if a["a"] == ix { ("a", "b") } else { ("b", "a") };
            let covers = |side: &str, ps: &[u32]| {
                ps.iter().any(|&p| {
                    a[format!("{side}_start")].as_u64().unwrap() as u32 <= p
                        && p < a[format!("{side}_end")].as_u64().unwrap() as u32
                })
            };
            covers(xs, &px) && covers(ys, &py)
        })
    }
}

fn run_seeds() -> Option<Seeds> {
    let dir = shared("samples/seeds")?;
    let out = tempfile::tempdir().unwrap();
    ok(&passages(&[dir.to_str().unwrap(), "--with-text"], out.path()));
    let mut texts: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    texts.sort();
    Some(Seeds { texts, alignments: jsonl(&out.path().join("alignments.jsonl")) })
}

// Sentences of the seeds' articles, named by the hash and length of their normalized text (tests/common).
/// A sentence of the talks article.
const TALKS: Phrase = Phrase { hash: 0x050c_99a1_c0e5_6f04, len: 16 };
/// A later paragraph of the talks article, the part that 004 printed.
const TALKS_LATER: Phrase = Phrase { hash: 0xfa1e_bafe_30df_415a, len: 28 };
/// A sentence of the press-meeting article.
const PRESS: Phrase = Phrase { hash: 0xecd4_2588_5bac_94c0, len: 14 };
/// The opening of the letter.
const LETTER: Phrase = Phrase { hash: 0x0702_b8f3_0554_3392, len: 16 };
/// A sentence of the culture-event article.
const CULTURE: Phrase = Phrase { hash: 0x2fc1_d5dd_a628_ab66, len: 17 };
/// The first words of the talks article after its dateline (and, in 002, its byline).
const TALKS_OPENING: Phrase = Phrase { hash: 0xedcb_85e3_8333_22f7, len: 16 };

/// Longest common subsequence of two unit sequences.
fn lcs(x: &[u64], y: &[u64]) -> usize {
    let mut row = vec![0usize; y.len() + 1];
    for &u in x {
        let mut diag = 0;
        for (k, &v) in y.iter().enumerate() {
            let up = row[k + 1];
            row[k + 1] = if u == v { diag + 1 } else { up.max(row[k]) };
            diag = up;
        }
    }
    row[y.len()]
}

#[test]
fn seeds_share_the_wire_articles() {
    let Some(s) = run_seeds() else { return };
    // 000 and 002 share the talks article, more than 1,500 characters of it.
    assert!(s.share("000", "002", TALKS));
    let aligned: u64 =
        s.between("000", "002").iter().map(|a| a["a_end"].as_u64().unwrap() - a["a_start"].as_u64().unwrap()).sum();
    assert!(aligned > 1500, "000–002: {aligned} characters aligned");
    // 000 and 004: the talks and the press meeting.
    assert!(s.share("000", "004", TALKS_LATER));
    assert!(s.share("000", "004", PRESS));
    // 001, in traditional script, shares the press meeting, the letter and the culture event with 000.
    assert!(s.share("000", "001", PRESS));
    assert!(s.share("000", "001", LETTER));
    assert!(s.share("000", "001", CULTURE));
    // 003 shares the culture event with 000 and 001.
    assert!(s.share("000", "003", CULTURE));
    assert!(s.share("001", "003", CULTURE));
}

#[test]
fn seed_passages_read_as_the_same_text_and_are_long_enough() {
    let Some(s) = run_seeds() else { return };
    assert!(!s.alignments.is_empty());
    let opts = NormalizeOptions::default();
    for a in &s.alignments {
        assert!(a["a"].as_str().unwrap() < a["b"].as_str().unwrap(), "a < b by id");
        // The printed texts are the offsets' spans of the original files.
        for side in ["a", "b"] {
            let text: Vec<char> = s.text(&a[side].as_str().unwrap()[..3]).chars().collect();
            let (st, en) = (
                a[format!("{side}_start")].as_u64().unwrap() as usize,
                a[format!("{side}_end")].as_u64().unwrap() as usize,
            );
            let span: String = text[st..en].iter().collect();
            assert_eq!(span, a[format!("{side}_text")].as_str().unwrap());
        }
        let (na, nb) = (
            normalize(a["a_text"].as_str().unwrap(), &opts).text,
            normalize(a["b_text"].as_str().unwrap(), &opts).text,
        );
        // No passage is shorter than 20 units (CJK characters here): --min-length (30) for a passage on its own,
        // 20 for another occurrence of text that a longer passage aligns; but for a short paragraph that both
        // documents print whole, the same text after normalization on both sides.
        let long_enough = na.chars().count() >= 20 && nb.chars().count() >= 20;
        assert!(long_enough || (na == nb && na.chars().count() >= 4), "{a}");
        // Both sides read as the same text: most 4-grams of the shorter side stand in the other.
        let grams =
            |t: &str| -> HashSet<Vec<char>> { t.chars().collect::<Vec<_>>().windows(4).map(|w| w.to_vec()).collect() };
        let (ga, gb) = (grams(&na), grams(&nb));
        let shared = ga.intersection(&gb).count() as f64 / ga.len().min(gb.len()).max(1) as f64;
        assert!(shared >= 0.5, "only {shared:.2} of 4-grams shared: {a}");
    }
}

#[test]
fn seed_alignments_begin_and_end_on_shared_text() {
    let Some(s) = run_seeds() else { return };
    let opts = NormalizeOptions::default();
    for a in &s.alignments {
        let (ua, ub) = (
            UnitDoc::new(a["a_text"].as_str().unwrap(), &opts).ids,
            UnitDoc::new(a["b_text"].as_str().unwrap(), &opts).ids,
        );
        // The first and the last 10 units of both spans are at least 80 % identical: no text of one side only
        // at either end.
        let (ha, hb) = (&ua[..10], &ub[..10]);
        let (ta, tb) = (&ua[ua.len() - 10..], &ub[ub.len() - 10..]);
        assert!(lcs(ha, hb) >= 8, "one-sided head: {a}");
        assert!(lcs(ta, tb) >= 8, "one-sided tail: {a}");
    }
    // 002 prints another article of the page (its own dateline, other reporters, a continuation marker) before
    // the talks article; the alignment with 000 starts at the talks article's dateline, not before.
    let talks: Vec<&Value> =
        s.between("000", "002").into_iter().filter(|a| a["a_start"].as_u64() < Some(100)).collect();
    assert_eq!(talks.len(), 1, "{talks:?}");
    // (002 prints the opening twice: in a summary on the front page, and in the article.)
    let openings = find_all(s.text("002"), TALKS_OPENING);
    let start = talks[0]["b_start"].as_u64().unwrap() as u32;
    assert!(
        openings.iter().any(|&o| start <= o && o - start < 30),
        "002's alignment starts at {start}, the talks article's opening stands at {openings:?}"
    );
}

#[test]
fn a_passage_printed_twice_aligns_once_per_copy() {
    // A prints the wire paragraph twice, with an unrelated paragraph between the copies; B prints it once.
    let wire = "新华社北京五月二十日电国家统计局今天发布数据显示四月份全国规模以上工业增加值同比增长百分之六点一，\
比上月加快零点三个百分点，社会消费品零售总额同比增长百分之五点一，固定资产投资稳步增长，就业形势总体稳定。";
    let between = "本报讯今年以来本市持续推进老旧小区改造，完成加装电梯三百余部，惠及居民两万多户，\
市民对居住环境的满意度明显提升，下一步将继续扩大改造范围。";
    let a = format!("开头的话。\n{wire}\n{between}\n{wire}\n结尾的话。");
    let b = format!("体育消息：球队昨晚获胜。\n{wire}\n天气预报：明天多云。");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    let lines = [serde_json::json!({"id": "a", "text": a}), serde_json::json!({"id": "b", "text": b})];
    std::fs::write(&f, lines.iter().map(|l| l.to_string() + "\n").collect::<String>()).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&passages(&[f.to_str().unwrap()], out.path()));
    let al = jsonl(&out.path().join("alignments.jsonl"));
    assert_eq!(al.len(), 2, "{al:?}");
    let ac: Vec<char> = a.chars().collect();
    let (w, btw) = (wire.chars().count() as u64, between.chars().count() as u64);
    let between_start = a.find(between).map(|k| a[..k].chars().count() as u64).unwrap();
    let mut starts = Vec::new();
    for x in &al {
        let (s, e) = (x["a_start"].as_u64().unwrap(), x["a_end"].as_u64().unwrap());
        // Each alignment is one copy (its last full stop included), and none covers the text between.
        let text: String = ac[s as usize..e as usize].iter().collect();
        assert_eq!(text, wire, "{x}");
        assert!(e <= between_start || s >= between_start + btw, "{x}");
        starts.push(s);
        assert_eq!((x["b_end"].as_u64().unwrap() - x["b_start"].as_u64().unwrap()), w, "{x}");
    }
    starts.sort_unstable();
    assert!(starts[0] + w <= between_start && starts[1] >= between_start + btw, "{starts:?}");
}

#[test]
fn zh_dev_plagdet_meets_the_bar() {
    let Some(dev) = shared("bench/zh-dev") else { return };
    let out = tempfile::tempdir().unwrap();
    ok(&passages(&[dev.join("corpus.jsonl").to_str().unwrap()], out.path()));
    let o = Command::new("python3")
        .arg(dev.join("../score.py"))
        .arg(&dev)
        .arg("--alignments")
        .arg(out.path().join("alignments.jsonl"))
        .args(["--min-plagdet", "0.98"])
        .output()
        .expect("python3 runs score.py");
    let report = String::from_utf8_lossy(&o.stdout);
    eprintln!("zh-dev passages: {report}");
    assert!(o.status.success(), "plagdet below 0.98: {report}");
    let v: Value = serde_json::from_str(report.trim()).unwrap();
    let p = &v["passages"];
    // Alignments begin and end on shared text (issue 17): precision at least 0.99, recall not below 0.979.
    assert!(p["char_precision"].as_f64().unwrap() >= 0.99);
    assert!(p["char_recall"].as_f64().unwrap() >= 0.979);
    assert!(p["granularity"].as_f64().unwrap() <= 1.05);
}

#[test]
fn repetitive_and_bad_input_is_capped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let para = "新华社北京五月二十日电国家统计局今天发布数据显示四月份全国规模以上工业增加值同比增长百分之六点一。";
    let other = "本报讯今年以来本市持续推进老旧小区改造完成加装电梯三百余部惠及居民两万多户。";
    let lines = [
        serde_json::json!({"id": "once", "text": format!("{other}{para}{other}")}),
        serde_json::json!({"id": "thousand", "text": para.repeat(1000)}),
        serde_json::json!({"id": "none", "text": "完全无关的一段文字，讲的是天气和公园里的花。"}),
        serde_json::json!({"id": "empty", "text": ""}),
    ];
    let mut body: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    body.push_str("{broken\n");
    let f = dir.path().join("c.jsonl");
    std::fs::write(&f, body).unwrap();
    let out = tempfile::tempdir().unwrap();
    ok(&passages(&[f.to_str().unwrap()], out.path()));
    let al = jsonl(&out.path().join("alignments.jsonl"));
    // The paragraph printed once aligns with each of the repetitive document's copies, up to max_repeat (8) of
    // them, not a thousand times; each alignment is one copy.
    assert_eq!(al.len(), 8, "{al:?}");
    let copy = para.chars().count() as u64;
    for (k, x) in al.iter().enumerate() {
        assert_eq!((x["a"].as_str(), x["b"].as_str()), (Some("once"), Some("thousand")));
        assert_eq!((x["b_start"].as_u64(), x["b_end"].as_u64()), (Some(k as u64 * copy), Some((k as u64 + 1) * copy)));
    }
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["documents"], 3);
    assert_eq!(s["skipped"]["empty_text"], 1);
    assert_eq!(s["skipped"]["malformed_json"], 1);
    let skipped = jsonl(&out.path().join("skipped.jsonl"));
    assert!(skipped.iter().any(|v| v["location"]["line"] == 5 && v["reason"] == "malformed_json"));
    // Passage clusters list both members.
    let clusters = jsonl(&out.path().join("passages.jsonl"));
    let ids: HashSet<&str> = clusters.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, HashSet::from(["once", "thousand"]));
}

#[test]
fn compare_prints_the_shared_passage_side_by_side() {
    let ex = root().join("examples/zh");
    let o = bin()
        .args(["compare", "--color", "never"])
        .arg(ex.join("01_simplified_columns.txt"))
        .arg(ex.join("02_traditional_columns.txt"))
        .output()
        .unwrap();
    ok(&o);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("passage 1: A [0, "), "{text}");
    // Side by side: simplified on the left, traditional on the right of each row.
    // Without colour, script variants are braced ({书} facing {書}); the marks aside, the row reads as the originals.
    let unmarked = |l: &str| l.chars().filter(|c| !"{}[]".contains(*c)).collect::<String>();
    assert!(
        text.lines().any(|l| l.contains('│') && unmarked(l).contains("书香千年") && unmarked(l).contains("書香千年")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.contains("{书}") && l.contains("{書}")), "{text}");
    let colored = bin()
        .args(["compare", "--color", "always"])
        .arg(ex.join("01_simplified_columns.txt"))
        .arg(ex.join("02_traditional_columns.txt"))
        .output()
        .unwrap();
    assert!(String::from_utf8(colored.stdout).unwrap().contains("\x1b[36m"), "script variants are coloured");
}

#[test]
fn boilerplate_list_is_ignored_when_given() {
    // Eight documents share a long footer line and nothing else.
    let footer = "本网站所刊登的各种新闻信息和各种专题专栏资料均为本网版权所有未经协议授权禁止下载使用";
    let bodies = [
        "春天来了万物复苏",
        "夏日炎炎蝉鸣不已",
        "秋高气爽层林尽染",
        "冬雪纷飞银装素裹",
        "山高水长源远流长",
        "日出东方光芒万丈",
        "海阔天空任鸟飞翔",
        "风和日丽游人如织",
    ];
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    let body: String = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            serde_json::json!({"id": format!("d{i}"), "text": format!("{b}。\n{footer}\n")}).to_string() + "\n"
        })
        .collect();
    std::fs::write(&f, body).unwrap();
    let bp = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["boilerplate", "--quiet", "--max-chars", "100", f.to_str().unwrap(), "--out"])
        .arg(bp.path())
        .output()
        .unwrap();
    ok(&o);
    let lines = jsonl(&bp.path().join("boilerplate.jsonl"));
    assert_eq!(lines[0]["settings"]["max_chars"], 100, "the list's header line carries its settings");
    let list = &lines[1..];
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["df"], 8);
    let plain = tempfile::tempdir().unwrap();
    ok(&passages(&[f.to_str().unwrap(), "--max-df", "100"], plain.path()));
    assert!(!jsonl(&plain.path().join("alignments.jsonl")).is_empty(), "the footer aligns without the list");
    let filtered = tempfile::tempdir().unwrap();
    let list_path = bp.path().join("boilerplate.jsonl");
    ok(&passages(
        &[f.to_str().unwrap(), "--max-df", "100", "--boilerplate", list_path.to_str().unwrap()],
        filtered.path(),
    ));
    assert!(jsonl(&filtered.path().join("alignments.jsonl")).is_empty(), "the footer is ignored with the list");
}

/// Two documents of one corpus file: an English report and a rewrite of it (synonyms, clauses reordered, passive
/// voice), each between unrelated paragraphs; they share four word 7-grams (candidate pairs need three), no verbatim
/// passage. Text written for this test.
fn rewritten_pair() -> (String, String, &'static str, &'static str) {
    let source = "The harbor commission voted on Monday to extend the northern pier by two hundred feet. \
                  Engineers told the commission that the work would take about eighteen months. \
                  Fishing crews asked for temporary moorings while the construction blocks the old berths. \
                  The commission promised to publish a schedule before the end of the month.";
    let rewrite = "On Monday the harbor commission decided to lengthen the northern pier by two hundred feet. \
                   The job would last roughly eighteen months, engineers informed the commission. \
                   Fishing crews requested temporary moorings while the construction blocks the old berths. \
                   Before the month ends, a schedule will be published, the commission promised.";
    let a = format!(
        "The county fair opened with a parade of tractors and a brass band from the valley school.\n\n{source}\n\n\
         Rain is forecast for the weekend, with cooler nights in the hills."
    );
    let b = format!(
        "Wheat prices climbed sharply last week as overseas buyers returned to the market.\n\n{rewrite}\n\n\
         The library will stay open late on Thursdays through the winter."
    );
    (a, b, source, rewrite)
}

/// Code point offsets of `part` in `text`.
fn span_in(text: &str, part: &str) -> (u64, u64) {
    let s = text[..text.find(part).expect("part of text")].chars().count() as u64;
    (s, s + part.chars().count() as u64)
}

#[test]
fn rewritten_reuse_is_found_with_its_offsets_when_asked() {
    let (a, b, source, rewrite) = rewritten_pair();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.jsonl");
    let lines = [serde_json::json!({"id": "a", "text": a}), serde_json::json!({"id": "b", "text": b})];
    std::fs::write(&f, lines.iter().map(|l| l.to_string() + "\n").collect::<String>()).unwrap();
    // Too rewritten for shared n-grams: nothing by default.
    let out = tempfile::tempdir().unwrap();
    ok(&passages(&[f.to_str().unwrap()], out.path()));
    assert!(jsonl(&out.path().join("alignments.jsonl")).is_empty());
    let out = tempfile::tempdir().unwrap();
    ok(&passages(&[f.to_str().unwrap(), "--rewritten"], out.path()));
    let al = jsonl(&out.path().join("alignments.jsonl"));
    assert_eq!(al.len(), 1, "{al:?}");
    let x = &al[0];
    assert_eq!(x["kind"], "rewritten", "{x}");
    let sim = x["similarity"].as_f64().unwrap();
    assert!(sim > 0.3 && sim < 1.0, "{x}");
    let got = |s: &str| (x[format!("{s}_start")].as_u64().unwrap(), x[format!("{s}_end")].as_u64().unwrap());
    assert_eq!((got("a"), got("b")), (span_in(&a, source), span_in(&b, rewrite)), "{x}");
}

#[test]
fn compare_shows_a_rewritten_passage_side_by_side() {
    let (a, b, _, _) = rewritten_pair();
    let dir = tempfile::tempdir().unwrap();
    let (fa, fb) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&fa, &a).unwrap();
    std::fs::write(&fb, &b).unwrap();
    let o = bin().args(["compare", "--color", "never", "--rewritten"]).arg(&fa).arg(&fb).output().unwrap();
    ok(&o);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("passage 1:") && l.contains("rewritten")), "{text}");
    // Each side as written; a word the other side lacks is bracketed, one both have is not.
    let rows: Vec<&str> = text.lines().filter(|l| l.contains('│')).collect();
    let (left, right): (String, String) = rows
        .iter()
        .map(|l| {
            let (x, y) = l.split_once('│').unwrap();
            (x.to_string(), y.to_string())
        })
        .unzip();
    assert!(left.contains("[voted]") && right.contains("[decided]"), "{text}");
    assert!(left.contains("harbor commission") && right.contains("harbor commission"), "{text}");
}
