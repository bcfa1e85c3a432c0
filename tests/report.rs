//! `textreuse report` end to end: the site is built from real runs on the seeds (or the shipped examples where
//! ../shared is absent), its collation shows what the issue asks for, and headless Chromium renders the index,
//! a passage page and a document page without JavaScript errors.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{occurrences, Phrase};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_textreuse"))
}

fn run(args: &[&str]) {
    let o = bin().args(args).output().unwrap();
    assert!(o.status.success(), "textreuse {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn input() -> (PathBuf, bool) {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/seeds");
    if seeds.is_dir() {
        (seeds, true)
    } else {
        common::skip_note("../shared/samples/seeds is absent: the report is built from examples/ instead");
        (PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples"), false)
    }
}

fn build_site(work: &Path) -> (PathBuf, bool) {
    let (inp, seeds) = input();
    let inp = inp.to_str().unwrap();
    let d = |x: &str| work.join(x).to_str().unwrap().to_string();
    run(&["dedup", "--quiet", inp, "--out", &d("dedup")]);
    run(&["passages", "--quiet", inp, "--out", &d("passages")]);
    run(&["repeats", "--quiet", inp, "--out", &d("repeats")]);
    run(&["report", &d("dedup"), &d("passages"), &d("repeats"), "--out", &d("site")]);
    (work.join("site"), seeds)
}

fn pages(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut v: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let s = std::fs::read_to_string(&p).unwrap();
            (p, s)
        })
        .collect();
    v.sort();
    v
}

/// The text of one witness section of a passage page, as (class, text) tokens.
fn witness_tokens(html: &str, id_prefix: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    for sec in html.split("<section class=\"witness").skip(1) {
        let head = sec.split("</h3>").next().unwrap();
        if !head.contains(id_prefix) {
            continue;
        }
        let body = sec.split("</h3>").nth(1).unwrap().split("</section>").next().unwrap();
        let toks = body
            .split("<span class=\"")
            .skip(1)
            .map(|t| {
                let class = t.split('"').next().unwrap().to_string();
                let text = t.split('>').nth(1).unwrap().split('<').next().unwrap().to_string();
                (class, text)
            })
            .collect();
        out.push(toks);
    }
    out
}

/// The page's text without tags and whitespace.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag && !c.is_whitespace() => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn report_shows_the_seeds_collation() {
    let work = tempfile::tempdir().unwrap();
    let (site, seeds) = build_site(work.path());
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("id=\"search\"") && index.contains("<svg id=\"histogram\""),
        "index has a search box and an SVG histogram"
    );
    assert!(!index.contains("http://") && !index.contains("https://"), "no network resources");
    let passages = pages(&site.join("passages"));
    assert!(!passages.is_empty());
    assert!(!pages(&site.join("docs")).is_empty());
    if !seeds {
        // Examples: the traditional version of the story differs only by script.
        let p = passages.iter().find(|(_, h)| h.contains("02_traditional_columns")).expect("the story's passage page");
        for w in witness_tokens(&p.1, "02_traditional") {
            assert!(w.iter().any(|(c, _)| c == "variant"));
            assert!(!w.iter().any(|(c, _)| c == "subst"));
        }
        return;
    }
    // The talks article with its witnesses 000, 002, 004 and the part in 001.
    // Phrases of the seeds by hash and length (tests/common): a place name of the talks, a sentence of the press
    // meeting, the letter's event and the culture event's closing words.
    let has = |h: &str, p: Phrase| !occurrences(&text_of(h).chars().collect::<Vec<_>>(), p).is_empty();
    let kremlin = Phrase { hash: 0x61f5_a2ba_0b7f_1109, len: 5 };
    let talks = passages.iter().find(|(_, h)| {
        ["000_", "001_", "002_", "004_"].iter().all(|d| h.contains(&format!(">{d}"))) && has(h, kremlin)
    });
    assert!(talks.is_some(), "a talks page with witnesses 000, 001, 002 and 004");
    // The press meeting, the letter and the culture event each have a page.
    for phrase in [
        Phrase { hash: 0x69b9_a118_8e45_4d30, len: 6 },
        Phrase { hash: 0x513c_5e0b_b974_1908, len: 4 },
        Phrase { hash: 0xbe6a_153f_0f65_c173, len: 4 },
    ] {
        assert!(passages.iter().any(|(_, h)| has(h, phrase)), "{phrase:?}");
    }
    // 002's typo (a doubled character between two names, six characters named by hash): its fourth character is
    // an insertion against the other witnesses.
    let typo = Phrase { hash: 0xfac2_7bed_7e58_f363, len: 6 };
    let found = passages.iter().any(|(_, h)| {
        witness_tokens(h, "002_").iter().any(|w| {
            // The witness's characters, each with the class of its token.
            let chars: Vec<(char, &str)> =
                w.iter().flat_map(|(c, t)| t.chars().map(move |x| (x, c.as_str()))).collect();
            let text: Vec<char> = chars.iter().map(|x| x.0).collect();
            occurrences(&text, typo).iter().any(|&k| chars[k + 3].1 == "add" && chars[k + 2].1 != "add")
        })
    });
    assert!(found, "002's typo is shown with an inserted character");
    // 001's traditional readings are variants, never changes: somewhere 001 differs from the base by script only.
    let script_only = passages.iter().any(|(_, h)| {
        witness_tokens(h, "001_")
            .iter()
            .any(|w| w.iter().any(|(c, _)| c == "variant") && w.iter().all(|(c, _)| c == "same" || c == "variant"))
    });
    assert!(script_only, "a passage where 001 differs by script only");
}

fn chromium() -> Option<PathBuf> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(o) = Command::new("which").arg(c).output() {
            if o.status.success() {
                return Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string()));
            }
        }
    }
    None
}

fn dump_dom(browser: &Path, page: &Path, profile: &Path) -> String {
    let o = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=3000", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(o.status.success(), "chromium failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn chromium_renders_the_site_without_javascript_errors() {
    let Some(browser) = chromium() else {
        common::skip_note("skipped: no chromium on this machine (.ci/run installs Debian's chromium)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (site, _) = build_site(work.path());
    let profile = tempfile::tempdir().unwrap();
    let passage =
        pages(&site.join("passages")).into_iter().max_by_key(|(_, h)| h.matches("<section").count()).unwrap().0;
    let doc = pages(&site.join("docs"))
        .into_iter()
        .find(|(_, h)| h.contains("class=\"reuse"))
        .expect("a document with reuse")
        .0;
    for (page, must) in [
        (site.join("index.html"), vec!["id=\"search\"", "id=\"histogram\"", "id=\"doc-list\""]),
        (passage, vec!["id=\"collation\"", "class=\"witness base\""]),
        (doc, vec!["id=\"doc-text\"", "class=\"reuse"]),
    ] {
        let dom = dump_dom(&browser, &page, profile.path());
        assert!(
            dom.contains("data-js=\"ok\""),
            "{}: the page's script did not run to the end without errors",
            page.display()
        );
        for m in must {
            assert!(dom.contains(m), "{}: {m} not rendered", page.display());
        }
    }
}
