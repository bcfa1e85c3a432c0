//! `textreuse report`: a static site over the outputs of `dedup`, `passages` and `repeats`, readable from the file
//! system with no server and no network. The pages are askama templates (`templates/`, HTML-escaped); the
//! collation comes from the library (`textreuse::collate`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use askama::Template;
use serde_json::Value;
use textreuse::collate::{collate, Reading};
use textreuse::io::{read_all, Input, ReadOptions};
use textreuse::normalize::{normalize, NormalizeOptions};
use textreuse::shingle::{shingle_set, units};
use textreuse::verify::pair_stats;

use crate::ReportArgs;

/// Witnesses per passage page.
const PAGE: usize = 50;

const CSS: &str = r#"
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; color: #222; }
nav { background: #234; padding: .6em 1em; } nav a { color: #fff; text-decoration: none; font-weight: bold; }
main { max-width: 1100px; margin: 1em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; } td, th { border: 1px solid #ccc; padding: .25em .5em; vertical-align: top; }
th { background: #eef; text-align: left; }
.stats { display: flex; gap: 2em; list-style: none; padding: 0; }
.text { white-space: pre-wrap; line-height: 1.7; }
.witness { border-left: 4px solid #ccd; padding-left: .8em; margin: 1em 0; } .witness.base { border-color: #36c; }
.witness h3 { font-size: 1em; margin: .2em 0; } .counts { color: #666; font-weight: normal; }
.subst { background: #ffe08a; } .add { background: #a6e3a1; } .omit { background: #f4a6a6; text-decoration: line-through; }
.variant { color: #0a7a8a; border-bottom: 1px dotted #0a7a8a; }
.reuse { background: #d6e6ff; color: inherit; text-decoration: none; } .repeat { background: #ffd6d6; }
.reuse.repeat { background: linear-gradient(#d6e6ff, #ffd6d6); }
.legend span { padding: 0 .3em; margin-right: .4em; }
.histogram rect { fill: #36c; } .histogram .axis { stroke: #333; } .histogram text { font-size: 10px; }
.note { color: #666; font-size: .9em; } #search { padding: .3em; width: 20em; } #doc-list { columns: 3; }
"#;

const JS: &str = r#"
window.addEventListener('error', function () { document.body.dataset.js = 'error'; });
(function () {
  var box = document.getElementById('search');
  if (box) {
    box.addEventListener('input', function () {
      var q = box.value.toLowerCase();
      document.querySelectorAll('#doc-list li').forEach(function (li) {
        li.style.display = li.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
      });
    });
  }
  if (document.body.dataset.js !== 'error') { document.body.dataset.js = 'ok'; }
})();
"#;

struct Bar {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    count: usize,
    label: String,
}

struct PassageRow {
    index: usize,
    witnesses: usize,
    docs: usize,
    opening: String,
}

struct ClusterRow {
    index: usize,
    size: usize,
    representative: String,
}

struct RepeatRow {
    doc: usize,
    id: String,
    copies: usize,
    share: String,
}

struct DocRow {
    doc: usize,
    id: String,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    root: String,
    documents: usize,
    doc_clusters: Vec<ClusterRow>,
    passages: Vec<PassageRow>,
    repeated_docs: usize,
    histogram: Vec<Bar>,
    hist_width: usize,
    hist_label: String,
    repeats: Vec<RepeatRow>,
    docs: Vec<DocRow>,
}

struct MemberRow {
    doc: usize,
    id: String,
    representative: bool,
    jaccard: String,
    containment: String,
    chars: usize,
}

#[derive(Template)]
#[template(path = "cluster.html")]
struct ClusterPage {
    root: String,
    index: usize,
    rep_doc: usize,
    rep_id: String,
    members: Vec<MemberRow>,
}

struct TokenView {
    class: &'static str,
    title: String,
    text: String,
}

struct WitnessView {
    doc: usize,
    id: String,
    start: u32,
    end: u32,
    is_base: bool,
    summary: String,
    tokens: Vec<TokenView>,
}

struct Cell {
    class: &'static str,
    text: String,
}

struct ApparatusRow {
    offset: u32,
    lemma: String,
    cells: Vec<Cell>,
}

struct PageLink {
    href: String,
    label: String,
}

#[derive(Template)]
#[template(path = "passage.html")]
struct PassagePage {
    root: String,
    index: usize,
    total: usize,
    page: usize,
    pages: usize,
    page_links: Vec<PageLink>,
    base_label: String,
    witnesses: Vec<WitnessView>,
    apparatus: Vec<ApparatusRow>,
}

struct Segment {
    class: String,
    title: String,
    href: String,
    text: String,
}

struct OtherDoc {
    doc: usize,
    id: String,
}

struct SharedRow {
    passage: usize,
    start: u32,
    end: u32,
    others: Vec<OtherDoc>,
}

#[derive(Template)]
#[template(path = "doc.html")]
struct DocPage {
    root: String,
    id: String,
    chars: usize,
    cluster_link: String,
    cluster_label: String,
    segments: Vec<Segment>,
    shared: Vec<SharedRow>,
}

/// Joins adjacent tokens of one class and title, so that pages carry one element per run, not per character.
fn coalesce(tokens: Vec<TokenView>) -> Vec<TokenView> {
    let mut out: Vec<TokenView> = Vec::with_capacity(tokens.len());
    for t in tokens {
        match out.last_mut() {
            Some(last) if last.class == t.class && last.title == t.title => last.text.push_str(&t.text),
            _ => out.push(t),
        }
    }
    out
}

fn read_jsonl(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(k, l)| serde_json::from_str(l).with_context(|| format!("{}:{}: malformed JSON", path.display(), k + 1)))
        .collect()
}

fn write(path: &Path, html: String) -> Result<()> {
    std::fs::write(path, html).with_context(|| format!("writing {}", path.display()))
}

fn u(v: &Value) -> u32 {
    v.as_u64().unwrap_or(0) as u32
}

fn chars_span(chars: &[char], s: u32, e: u32) -> String {
    let (s, e) = ((s as usize).min(chars.len()), (e as usize).min(chars.len()));
    chars[s..e].iter().collect()
}

/// Builds the site.
pub fn run(args: ReportArgs) -> Result<()> {
    // What the run directories hold.
    let mut dedup: Option<PathBuf> = None;
    let mut passages: Option<PathBuf> = None;
    let mut repeats: Option<PathBuf> = None;
    let mut input_paths: Vec<String> = Vec::new();
    let mut read = ReadOptions::default();
    let mut dedup_summary = Value::Null;
    for dir in &args.runs {
        let summary: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("summary.json"))
                .with_context(|| format!("{}: no summary.json (not a run directory)", dir.display()))?,
        )
        .with_context(|| format!("{}: malformed summary.json", dir.display()))?;
        for p in summary["input_paths"].as_array().into_iter().flatten() {
            if let Some(p) = p.as_str() {
                if !input_paths.iter().any(|x| x == p) {
                    input_paths.push(p.to_string());
                }
            }
        }
        if let Some(r) = summary["config"]["read"].as_object() {
            read.id_field = r.get("id_field").and_then(Value::as_str).unwrap_or("id").to_string();
            read.text_field = r.get("text_field").and_then(Value::as_str).unwrap_or("text").to_string();
        }
        if dir.join("clusters.jsonl").is_file() {
            dedup = Some(dir.clone());
            dedup_summary = summary;
        } else if dir.join("alignments.jsonl").is_file() {
            passages = Some(dir.clone());
        } else if dir.join("repeats.jsonl").is_file() {
            repeats = Some(dir.clone());
        } else {
            bail!("{}: neither a dedup, a passages nor a repeats output directory", dir.display());
        }
    }
    if input_paths.is_empty() {
        bail!("the run directories record no inputs (summary.json input_paths)");
    }
    if input_paths.iter().any(|p| p == "<stdin>") {
        bail!("a run read standard input, which cannot be read again: run it on a file to report on it");
    }
    let inputs: Vec<Input> =
        input_paths.iter().map(|p| Input::from_arg(p).with_context(|| format!("input {p}"))).collect::<Result<_>>()?;
    let (docs, _) = read_all(&inputs, &read);
    let texts: Vec<Vec<char>> = docs.iter().map(|d| d.text.chars().collect()).collect();
    let index: HashMap<&str, usize> = docs.iter().enumerate().map(|(k, d)| (d.id.as_str(), k)).collect();
    let find = |id: &str| index.get(id).copied();

    // Build in a temporary directory beside the target, then swap it in.
    let out = args.out.clone();
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp =
        tempfile::Builder::new().prefix(".report-").tempdir_in(&parent).context("creating a temporary directory")?;
    let site = tmp.path();
    for sub in ["assets", "clusters", "passages", "docs"] {
        std::fs::create_dir_all(site.join(sub))?;
    }
    std::fs::write(site.join("assets/style.css"), CSS)?;
    std::fs::write(site.join("assets/app.js"), JS)?;

    // Document clusters.
    let mut doc_cluster: HashMap<usize, usize> = HashMap::new();
    let mut cluster_rows = Vec::new();
    let mut scores: Vec<f64> = Vec::new();
    let mut hist_label = String::new();
    if let Some(dir) = &dedup {
        let lines = read_jsonl(&dir.join("clusters.jsonl"))?;
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for l in &lines {
            if let (Some(id), Some(c)) = (l["id"].as_str(), l["cluster"].as_str()) {
                if let Some(d) = find(id) {
                    groups.entry(c.to_string()).or_default().push(d);
                }
            }
        }
        let mut clusters: Vec<(String, Vec<usize>)> = groups.into_iter().filter(|(_, m)| m.len() > 1).collect();
        clusters.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        let cfg = &dedup_summary["config"];
        let ngram = cfg["ngram"].as_u64().unwrap_or(4) as usize;
        let seed = cfg["seed"].as_u64().unwrap_or(42);
        let norm: NormalizeOptions = serde_json::from_value(cfg["normalize"].clone()).unwrap_or_default();
        let set_of = |d: usize| shingle_set(&units(&normalize(&docs[d].text, &norm).text), ngram, seed);
        for (k, (rep_id, members)) in clusters.iter().enumerate() {
            let rep = find(rep_id).unwrap_or(members[0]);
            let rep_set = set_of(rep);
            let rows = members
                .iter()
                .map(|&d| {
                    let s = pair_stats(&rep_set, &set_of(d));
                    doc_cluster.insert(d, k);
                    MemberRow {
                        doc: d,
                        id: docs[d].id.clone(),
                        representative: d == rep,
                        jaccard: format!("{:.3}", s.jaccard),
                        containment: format!("{:.3}", s.containment),
                        chars: texts[d].len(),
                    }
                })
                .collect();
            write(
                &site.join(format!("clusters/c{k}.html")),
                ClusterPage { root: "../".into(), index: k, rep_doc: rep, rep_id: rep_id.clone(), members: rows }
                    .render()?,
            )?;
            cluster_rows.push(ClusterRow { index: k, size: members.len(), representative: rep_id.clone() });
        }
        for p in read_jsonl(&dir.join("pairs.jsonl")).unwrap_or_default() {
            if let Some(j) = p["jaccard"].as_f64() {
                scores.push(j);
            }
        }
        hist_label = "Jaccard similarity of the verified duplicate pairs (dedup)".into();
    }

    // Passage clusters: witnesses are (document, start, end).
    let mut passage_rows = Vec::new();
    let mut doc_passages: HashMap<usize, Vec<(usize, u32, u32)>> = HashMap::new();
    let mut witnesses_of: Vec<Vec<(usize, u32, u32)>> = Vec::new();
    if let Some(dir) = &passages {
        let mut groups: BTreeMap<u64, Vec<(usize, u32, u32)>> = BTreeMap::new();
        for l in read_jsonl(&dir.join("passages.jsonl"))? {
            if let (Some(c), Some(d)) = (l["cluster"].as_u64(), l["id"].as_str().and_then(find)) {
                groups.entry(c).or_default().push((d, u(&l["start"]), u(&l["end"])));
            }
        }
        let mut clusters: Vec<Vec<(usize, u32, u32)>> = groups.into_values().collect();
        clusters.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        for (k, ws) in clusters.iter().enumerate() {
            for &(d, s, e) in ws {
                doc_passages.entry(d).or_default().push((k, s, e));
            }
            let mut docs_in: Vec<usize> = ws.iter().map(|w| w.0).collect();
            docs_in.dedup();
            let longest = ws.iter().max_by_key(|w| w.2 - w.1).expect("non-empty");
            let opening: String = chars_span(&texts[longest.0], longest.1, longest.2)
                .chars()
                .filter(|c| !c.is_whitespace())
                .take(40)
                .collect();
            passage_rows.push(PassageRow { index: k, witnesses: ws.len(), docs: docs_in.len(), opening });
        }
        witnesses_of = clusters;
        if scores.is_empty() {
            for a in read_jsonl(&dir.join("alignments.jsonl"))? {
                let len = (u(&a["a_end"]) - u(&a["a_start"])).max(u(&a["b_end"]) - u(&a["b_start"])).max(1);
                scores.push((u(&a["matches"]) as f64 / len as f64).min(1.0));
            }
            hist_label = "matched share of aligned passages (passages)".into();
        }
    }
    for (k, ws) in witnesses_of.iter().enumerate() {
        let witness_texts: Vec<String> = ws.iter().map(|&(d, s, e)| chars_span(&texts[d], s, e)).collect();
        let refs: Vec<&str> = witness_texts.iter().map(String::as_str).collect();
        let col = collate(&refs, &NormalizeOptions::default());
        let label = |w: usize| -> String { docs[ws[w].0].id.clone() };
        let pages = ws.len().div_ceil(PAGE);
        for page in 0..pages {
            // The base stands first on every page.
            let mut shown: Vec<usize> = vec![col.base];
            shown.extend((page * PAGE..((page + 1) * PAGE).min(ws.len())).filter(|&w| w != col.base));
            let views = shown
                .iter()
                .map(|&w| {
                    let toks = &col.witnesses[w];
                    let count = |r: Reading| toks.iter().filter(|t| t.reading == r).count();
                    WitnessView {
                        doc: ws[w].0,
                        id: label(w),
                        start: ws[w].1,
                        end: ws[w].2,
                        is_base: w == col.base,
                        summary: if w == col.base {
                            String::new()
                        } else {
                            format!(
                                "{} substituted, {} added, {} omitted, {} in another script or width",
                                count(Reading::Substituted),
                                count(Reading::Added),
                                count(Reading::Omitted),
                                count(Reading::Variant)
                            )
                        },
                        tokens: coalesce(
                            toks.iter()
                                .map(|t| TokenView {
                                    class: match t.reading {
                                        Reading::Same => "same",
                                        Reading::Variant => "variant",
                                        Reading::Substituted => "subst",
                                        Reading::Omitted => "omit",
                                        Reading::Added => "add",
                                    },
                                    title: match (t.reading, &t.base) {
                                        (Reading::Variant, Some(b)) => format!("base: {b} (script or width only)"),
                                        (Reading::Substituted, Some(b)) => format!("base reads {b}"),
                                        (Reading::Added, _) => "not in the base".into(),
                                        (Reading::Omitted, _) => "only in the base".into(),
                                        _ => String::new(),
                                    },
                                    text: t.text.clone(),
                                })
                                .collect(),
                        ),
                    }
                })
                .collect();
            let apparatus = col
                .apparatus
                .iter()
                .filter(|r| shown.iter().any(|&w| r.readings[w].is_some()))
                .map(|r| ApparatusRow {
                    offset: r.base_offset,
                    lemma: r.lemma.clone(),
                    cells: shown
                        .iter()
                        .map(|&w| match &r.readings[w] {
                            None => Cell { class: "agree", text: "=".into() },
                            Some(t) if t.is_empty() => Cell { class: "omit", text: "(omitted)".into() },
                            Some(t) if t.len() > r.lemma.len() && t.starts_with(&r.lemma) => {
                                Cell { class: "add", text: t.clone() }
                            }
                            Some(t) => Cell { class: "subst", text: t.clone() },
                        })
                        .collect(),
                })
                .collect();
            let name = if page == 0 { format!("p{k}.html") } else { format!("p{k}-{}.html", page + 1) };
            let page_links = (0..pages)
                .map(|p| PageLink {
                    href: if p == 0 { format!("p{k}.html") } else { format!("p{k}-{}.html", p + 1) },
                    label: (p + 1).to_string(),
                })
                .collect();
            let html = PassagePage {
                root: "../".into(),
                index: k,
                total: ws.len(),
                page: page + 1,
                pages,
                page_links,
                base_label: format!("{} [{}, {})", label(col.base), ws[col.base].1, ws[col.base].2),
                witnesses: views,
                apparatus,
            }
            .render()?;
            write(&site.join("passages").join(name), html)?;
        }
    }

    // Repeats.
    let mut doc_repeats: HashMap<usize, Vec<(u32, u32, u32, u32)>> = HashMap::new();
    let mut repeat_rows = Vec::new();
    if let Some(dir) = &repeats {
        for l in read_jsonl(&dir.join("repeats.jsonl"))? {
            let Some(d) = l["id"].as_str().and_then(find) else { continue };
            let reps: Vec<(u32, u32, u32, u32)> = l["repeats"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["kind"] != "line")
                .map(|r| (u(&r["start"]), u(&r["end"]), u(&r["count"]), u(&r["first_start"])))
                .collect();
            if !reps.is_empty() {
                repeat_rows.push(RepeatRow {
                    doc: d,
                    id: docs[d].id.clone(),
                    copies: reps.len(),
                    share: format!("{:.2}", l["metrics"]["dup_para_char_frac"].as_f64().unwrap_or(0.0)),
                });
                doc_repeats.insert(d, reps);
            }
        }
        repeat_rows.sort_by(|a, b| b.copies.cmp(&a.copies).then(a.id.cmp(&b.id)));
    }

    // One page per document.
    for (d, doc) in docs.iter().enumerate() {
        let chars = &texts[d];
        let ps = doc_passages.get(&d).cloned().unwrap_or_default();
        let rs = doc_repeats.get(&d).cloned().unwrap_or_default();
        let mut cuts: Vec<u32> = vec![0, chars.len() as u32];
        for &(_, s, e) in &ps {
            cuts.extend([s, e]);
        }
        for &(s, e, _, _) in &rs {
            cuts.extend([s, e]);
        }
        cuts.retain(|&c| c as usize <= chars.len());
        cuts.sort_unstable();
        cuts.dedup();
        let segments = cuts
            .windows(2)
            .map(|w| {
                let (s, e) = (w[0], w[1]);
                let p = ps.iter().find(|&&(_, ps_, pe)| ps_ <= s && e <= pe);
                let r = rs.iter().find(|&&(rs_, re, _, _)| rs_ <= s && e <= re);
                let mut class = Vec::new();
                let mut title = Vec::new();
                let mut href = String::new();
                if let Some(&(k, _, _)) = p {
                    class.push("reuse");
                    title.push(format!("passage #{k}"));
                    href = format!("../passages/p{k}.html");
                }
                if let Some(&(_, _, count, first)) = r {
                    class.push("repeat");
                    title.push(format!("repeated text: {count} copies, first at {first}"));
                }
                Segment { class: class.join(" "), title: title.join("; "), href, text: chars_span(chars, s, e) }
            })
            .collect();
        let shared = ps
            .iter()
            .map(|&(k, s, e)| {
                let mut others: Vec<usize> = witnesses_of[k].iter().map(|w| w.0).filter(|&o| o != d).collect();
                others.dedup();
                SharedRow {
                    passage: k,
                    start: s,
                    end: e,
                    others: others.into_iter().map(|o| OtherDoc { doc: o, id: docs[o].id.clone() }).collect(),
                }
            })
            .collect();
        let (cluster_link, cluster_label) = match doc_cluster.get(&d) {
            Some(&k) => (format!("../clusters/c{k}.html"), format!("#{k}")),
            None => (String::new(), String::new()),
        };
        let page = DocPage {
            root: "../".into(),
            id: doc.id.clone(),
            chars: chars.len(),
            cluster_link,
            cluster_label,
            segments,
            shared,
        };
        write(&site.join(format!("docs/d{d}.html")), page.render()?)?;
    }

    // Index, with a histogram of scores in 20 bins.
    let hist_width = 400usize;
    let mut bins = [0usize; 20];
    for &x in &scores {
        bins[((x * 20.0) as usize).min(19)] += 1;
    }
    let top = bins.iter().copied().max().unwrap_or(0).max(1);
    let histogram = if scores.is_empty() {
        Vec::new()
    } else {
        bins.iter()
            .enumerate()
            .map(|(k, &c)| {
                let h = 110.0 * c as f64 / top as f64;
                Bar {
                    x: k as f64 * 20.0 + 1.0,
                    y: 120.0 - h,
                    w: 18.0,
                    h,
                    count: c,
                    label: format!("{:.2}–{:.2}", k as f64 / 20.0, (k + 1) as f64 / 20.0),
                }
            })
            .collect()
    };
    let index_page = IndexPage {
        root: String::new(),
        documents: docs.len(),
        doc_clusters: cluster_rows.into_iter().take(200).collect(),
        passages: passage_rows.into_iter().take(500).collect(),
        repeated_docs: repeat_rows.len(),
        histogram,
        hist_width,
        hist_label,
        repeats: repeat_rows.into_iter().take(200).collect(),
        docs: docs.iter().enumerate().map(|(d, doc)| DocRow { doc: d, id: doc.id.clone() }).collect(),
    };
    write(&site.join("index.html"), index_page.render()?)?;

    // Swap the finished site in.
    let built = tmp.keep();
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("replacing {}", out.display()))?;
    }
    std::fs::rename(&built, &out).with_context(|| format!("moving the site to {}", out.display()))?;
    Ok(())
}
