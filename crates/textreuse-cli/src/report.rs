//! `textreuse report`: a static site over the outputs of `dedup`, `passages` and `repeats`, readable from the file
//! system with no server and no network. What it shows is computed by the library ([`textreuse::report`], from the
//! runs' stored settings); this module only renders it with askama templates (`templates/`, HTML-escaped).

use std::path::Path;

use anyhow::{Context, Result};
use askama::Template;
use textreuse::collate::Reading;
use textreuse::io::RunDir;
use textreuse::report::ReportModel;

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
    clusters_total: usize,
    passages_total: usize,
    alignments_total: usize,
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
    cluster_id: usize,
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

fn write(path: &Path, html: String) -> Result<()> {
    std::fs::write(path, html).with_context(|| format!("writing {}", path.display()))
}

fn chars_span(chars: &[char], s: u32, e: u32) -> String {
    let (s, e) = ((s as usize).min(chars.len()), (e as usize).min(chars.len()));
    chars[s..e].iter().collect()
}

/// Builds the site.
pub fn run(args: ReportArgs) -> Result<()> {
    let say = |m: String| {
        if !args.quiet {
            eprintln!("{m}");
        }
    };
    for r in &args.runs {
        if r.canonicalize().ok().is_some_and(|r| args.out.canonicalize().ok().is_some_and(|o| o == r)) {
            anyhow::bail!(
                "the output directory {} is one of the runs it reports on; choose another",
                args.out.display()
            );
        }
    }
    // Refuse a directory of the user's before any work; build beside it, then move the site in.
    let dir = RunDir::create(&args.out, "report").context("output directory")?;
    say(format!("report: reading {} run directories and their inputs", args.runs.len()));
    let model = ReportModel::load(&args.runs)?;
    let docs = &model.docs;
    let texts: Vec<Vec<char>> = docs.iter().map(|d| d.text.chars().collect()).collect();
    let site = dir.path();
    for sub in ["assets", "clusters", "passages", "docs"] {
        std::fs::create_dir_all(site.join(sub))?;
    }
    std::fs::write(site.join("assets/style.css"), CSS)?;
    std::fs::write(site.join("assets/app.js"), JS)?;

    // Document clusters.
    let mut cluster_rows = Vec::new();
    for (k, c) in model.clusters.iter().enumerate() {
        let rows = c
            .members
            .iter()
            .map(|m| MemberRow {
                doc: m.doc,
                id: docs[m.doc].id.clone(),
                representative: m.representative,
                jaccard: format!("{:.3}", m.jaccard),
                containment: format!("{:.3}", m.containment),
                chars: m.chars,
            })
            .collect();
        write(
            &site.join(format!("clusters/c{k}.html")),
            ClusterPage {
                root: "../".into(),
                index: k,
                rep_doc: c.representative,
                rep_id: c.id.clone(),
                members: rows,
            }
            .render()?,
        )?;
        cluster_rows.push(ClusterRow { index: k, size: c.members.len(), representative: c.id.clone() });
    }

    // Passage clusters: witnesses are (document, start, end).
    say(format!("report: collating {} passages", model.passages.len()));
    let passage_rows: Vec<PassageRow> = model
        .passages
        .iter()
        .enumerate()
        .map(|(k, p)| PassageRow {
            index: k,
            witnesses: p.witnesses.len(),
            docs: p.documents,
            opening: p.opening.clone(),
        })
        .collect();
    for (k, p) in model.passages.iter().enumerate() {
        let ws = &p.witnesses;
        let col = model.collation(k);
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
                cluster_id: p.id,
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
    let repeat_rows: Vec<RepeatRow> = model
        .repeats
        .iter()
        .map(|r| RepeatRow {
            doc: r.doc,
            id: docs[r.doc].id.clone(),
            copies: r.copies.len(),
            share: format!("{:.2}", r.paragraph_share),
        })
        .collect();

    // One page per document.
    say(format!("report: writing {} document pages", docs.len()));
    let doc_passages = model.doc_passages();
    let doc_cluster = model.doc_clusters();
    for (d, doc) in docs.iter().enumerate() {
        let chars = &texts[d];
        let ps = &doc_passages[d];
        let segments = model
            .segments(d, ps)
            .into_iter()
            .map(|seg| {
                let mut class = Vec::new();
                let mut title = Vec::new();
                let mut href = String::new();
                if let Some(k) = seg.passage {
                    class.push("reuse");
                    title.push(format!("passage #{k}"));
                    href = format!("../passages/p{k}.html");
                }
                if let Some((count, first)) = seg.repeat {
                    class.push("repeat");
                    title.push(format!("repeated text: {count} copies, first at {first}"));
                }
                Segment {
                    class: class.join(" "),
                    title: title.join("; "),
                    href,
                    text: chars_span(chars, seg.start, seg.end),
                }
            })
            .collect();
        let shared = ps
            .iter()
            .map(|&(k, s, e)| {
                let mut others: Vec<usize> =
                    model.passages[k].witnesses.iter().map(|w| w.0).filter(|&o| o != d).collect();
                others.dedup();
                SharedRow {
                    passage: k,
                    start: s,
                    end: e,
                    others: others.into_iter().map(|o| OtherDoc { doc: o, id: docs[o].id.clone() }).collect(),
                }
            })
            .collect();
        let (cluster_link, cluster_label) = match doc_cluster[d] {
            Some(k) => (format!("../clusters/c{k}.html"), format!("#{k}")),
            None => (String::new(), String::new()),
        };
        let page = DocPage {
            root: "../".into(),
            id: doc.id.clone(),
            chars: doc.chars,
            cluster_link,
            cluster_label,
            segments,
            shared,
        };
        write(&site.join(format!("docs/d{d}.html")), page.render()?)?;
    }

    // Index, with a histogram of scores in 20 bins.
    let hist_width = 400usize;
    let bins = model.histogram(20);
    let top = bins.iter().copied().max().unwrap_or(0).max(1);
    let histogram = if model.scores.is_empty() {
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
        clusters_total: cluster_rows.len(),
        passages_total: passage_rows.len(),
        alignments_total: model.alignments,
        doc_clusters: cluster_rows.into_iter().take(200).collect(),
        passages: passage_rows.into_iter().take(500).collect(),
        repeated_docs: repeat_rows.len(),
        histogram,
        hist_width,
        hist_label: model.score_label.clone(),
        repeats: repeat_rows.into_iter().take(200).collect(),
        docs: docs.iter().enumerate().map(|(d, doc)| DocRow { doc: d, id: doc.id.clone() }).collect(),
    };
    write(&site.join("index.html"), index_page.render()?)?;
    let out = dir.commit().with_context(|| format!("moving the site to {}", args.out.display()))?;
    say(format!(
        "report: {} documents, {} pages; open {}",
        docs.len(),
        docs.len() + 1,
        out.join("index.html").display()
    ));
    Ok(())
}
