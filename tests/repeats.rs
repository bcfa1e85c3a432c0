//! `textreuse repeats` end to end on the seeds: the six-times paragraph of seed 003, its twice-printed fragment,
//! and `--strip`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{fnv, occurrences, Phrase};

fn seed003() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/seeds");
    let p = dir.join("003_5cc84696911598b8.txt");
    if p.is_file() {
        Some(p)
    } else {
        common::skip_note("skipped: ../shared/samples/seeds is absent");
        None
    }
}

fn chars_of(t: &str, s: u64, e: u64) -> String {
    t.chars().skip(s as usize).take((e - s) as usize).collect()
}

#[test]
fn seed_003_repeats_are_found_and_stripped() {
    let Some(path) = seed003() else { return };
    let text = std::fs::read_to_string(&path).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_textreuse"))
        .args(["repeats", "--strip", "--quiet", path.to_str().unwrap(), "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line: Value = serde_json::from_str(
        std::fs::read_to_string(out.path().join("repeats.jsonl")).unwrap().lines().next().unwrap(),
    )
    .unwrap();
    let repeats = line["repeats"].as_array().unwrap();

    // The paragraph about the local official stands six times: five later copies, each reported with count 6,
    // the first copy's offset, and offsets that read as the same paragraph.
    // The opening of that paragraph and the twice-printed sentence, by hash and length (tests/common).
    let official = Phrase { hash: 0x7f1e_9f8f_a5ae_cf4d, len: 18 };
    let frag = Phrase { hash: 0x3f9e_0987_f155_fe8b, len: 34 };
    let chars: Vec<char> = text.chars().collect();
    let starts_with =
        |s: u64, p: Phrase| s as usize + p.len <= chars.len() && fnv(&chars_of(&text, s, s + p.len as u64)) == p.hash;
    let six: Vec<&Value> =
        repeats.iter().filter(|r| r["count"] == 6 && starts_with(r["start"].as_u64().unwrap(), official)).collect();
    assert_eq!(six.len(), 5, "{repeats:?}");
    let first = six[0]["first_start"].as_u64().unwrap();
    assert_eq!(first as usize, occurrences(&chars, official)[0]);
    for r in &six {
        let (s, e) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
        assert_eq!(chars_of(&text, s, e), chars_of(&text, first, first + (e - s)));
    }

    // The fragment of the culture-event article printed twice is reported, its copy reading as the first.
    let copies = occurrences(&chars, frag);
    assert_eq!(copies.len(), 2);
    let second_cp = copies[1] as u64;
    let covering: Vec<&Value> = repeats
        .iter()
        .filter(|r| r["start"].as_u64().unwrap() <= second_cp && second_cp < r["end"].as_u64().unwrap())
        .collect();
    assert!(!covering.is_empty(), "the second copy of the fragment is not reported");
    assert!(covering.iter().all(|r| r["count"] == 2));
    let passage = repeats.iter().find(|r| {
        r["kind"] == "passage" && r["start"].as_u64().unwrap() < second_cp && second_cp < r["end"].as_u64().unwrap()
    });
    let p = passage.expect("the fragment, which starts mid-paragraph, is reported as a passage");
    let (s, e, f) = (p["start"].as_u64().unwrap(), p["end"].as_u64().unwrap(), p["first_start"].as_u64().unwrap());
    assert_eq!(chars_of(&text, s, e), chars_of(&text, f, f + (e - s)));

    // --strip keeps one copy of each; every other character is unchanged (the stripped text is the original with
    // exactly the reported later copies cut out, in order).
    let stripped: Value = serde_json::from_str(
        std::fs::read_to_string(out.path().join("stripped.jsonl")).unwrap().lines().next().unwrap(),
    )
    .unwrap();
    let st = stripped["text"].as_str().unwrap();
    let st_chars: Vec<char> = st.chars().collect();
    assert_eq!(occurrences(&st_chars, official).len(), 1);
    assert_eq!(occurrences(&st_chars, frag).len(), 1);
    let mut ranges: Vec<(u64, u64)> = repeats
        .iter()
        .filter(|r| r["kind"] != "line")
        .map(|r| (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap()))
        .collect();
    ranges.sort();
    // Walk the original: every character outside the removed copies (and the blank lines after a removed
    // paragraph) appears in the stripped text, in order.
    let orig: Vec<char> = text.chars().collect();
    let kept: Vec<char> = st.chars().collect();
    let mut k = 0;
    for (i, &c) in orig.iter().enumerate() {
        let inside = ranges.iter().any(|&(s, e)| s as usize <= i && i < e as usize);
        if inside {
            continue;
        }
        if k < kept.len() && kept[k] == c {
            k += 1;
        } else {
            assert!(c.is_whitespace(), "character {i} ({c:?}) of the original is missing from the stripped text");
        }
    }
    assert_eq!(k, kept.len(), "the stripped text has characters the original does not");
}

#[test]
fn zh_dev_boilerplate_finds_the_planted_datelines_and_editor_lines() {
    let dev = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/zh-dev/corpus.jsonl");
    if !dev.is_file() {
        common::skip_note("skipped: ../shared/bench/zh-dev is absent");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_textreuse"))
        .args(["boilerplate", "--quiet", dev.to_str().unwrap(), "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The first line is the list's header (its settings); then one typed record per boilerplate segment.
    let list: Vec<textreuse::records::BoilerplateRecord> =
        std::fs::read_to_string(out.path().join("boilerplate.jsonl"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let keys: Vec<&str> = list.iter().map(|b| b.key.as_str()).collect();
    // Datelines (digits masked) and editor, byline and page lines that the benchmark planted.
    for k in
        ["新华社北京#月#日电", "中新网#月#日电", "据新华社电", "央视网消息", "扫一扫就看到", "下转第#版", "来源人民网"]
    {
        assert!(keys.contains(&k), "{k} not found in {keys:?}");
    }
    assert!(keys.iter().any(|k| k.starts_with("责任编辑")));
    assert!(keys.iter().any(|k| k.starts_with("新华社记者") && k.ends_with('摄')));
    // Nothing found in one document only: every entry stands in more than --min-df (5) documents, and its
    // examples are in different documents and read as its text.
    let texts: std::collections::HashMap<String, String> = std::fs::read_to_string(&dev)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string())
        })
        .collect();
    for b in &list {
        assert!(b.df > 5, "{b:?}");
        let ids: std::collections::HashSet<&str> = b.examples.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), b.examples.len(), "{b:?}");
        let e = &b.examples[0];
        let t = &texts[&e.id];
        let span = chars_of(t, e.start as u64, e.end as u64);
        let n = textreuse::normalize::normalize(&span, &Default::default()).text;
        let masked: String = n.chars().fold(String::new(), |mut s, c| {
            if c.is_ascii_digit() {
                if !s.ends_with('#') {
                    s.push('#');
                }
            } else {
                s.push(c);
            }
            s
        });
        assert_eq!(masked, b.key);
    }
}
