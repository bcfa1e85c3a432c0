//! The model of `textreuse report`: what the static site shows, computed from the run directories of `dedup`,
//! `passages` and `repeats` and from the **stored** configuration of each run (read options, normalization,
//! shingle settings, the boilerplate list it used). The CLI only renders it (askama templates).
//!
//! The documents are exactly the runs' documents: the inputs are read again with the runs' read options, and every
//! record that all runs skipped (`skipped.jsonl`: malformed, duplicate id, too large, ...) is left out; where a
//! `dedup` run is present its `clusters.jsonl` must list the same ids, or the inputs changed since the run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::collate::{collate, Collation};
use crate::io::{parse_record, Input, ReadOptions, RecordReader};
use crate::normalize::NormalizeOptions;
use crate::pipeline::RunError;
use crate::records::{ClusterRecord, PairRecord, PassageRecord, RepeatsRecord};
use crate::verify::pair_stats;

/// The parts of a run's `summary.json` the report needs (any job; missing fields take their defaults).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct RunSummary {
    input_paths: Vec<String>,
    config: RunConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct RunConfig {
    read: ReadOptions,
    normalize: NormalizeOptions,
    boilerplate_list: Option<String>,
}

/// The settings of a dedup run, as its `summary.json` stores them.
#[derive(Debug, Deserialize)]
struct DedupRun {
    config: crate::dedup::DedupConfig,
}

/// A skipped record as `skipped.jsonl` lists it; only its position is needed here.
#[derive(Debug, Deserialize)]
struct SkippedSeq {
    seq: u64,
}

/// One document of the runs.
#[derive(Debug, Clone)]
pub struct ReportDoc {
    /// The document id.
    pub id: String,
    /// Its text, as read.
    pub text: String,
    /// Its length in code points.
    pub chars: usize,
}

/// A member of a document cluster with its exact similarity to the representative, computed with the dedup run's
/// own settings.
#[derive(Debug, Clone)]
pub struct ClusterMember {
    /// Document index.
    pub doc: usize,
    /// Whether this is the representative.
    pub representative: bool,
    /// Jaccard similarity of the shingle sets to the representative's.
    pub jaccard: f64,
    /// Containment to the representative.
    pub containment: f64,
    /// Code points.
    pub chars: usize,
}

/// A document cluster of two documents or more.
#[derive(Debug, Clone)]
pub struct DocCluster {
    /// The cluster id of `clusters.jsonl` (the representative's id).
    pub id: String,
    /// Document index of the representative.
    pub representative: usize,
    /// Members, in input order.
    pub members: Vec<ClusterMember>,
}

/// A witness of a passage: document index, start and end (code points).
pub type Witness = (usize, u32, u32);

/// A passage cluster: its witnesses `(document, start, end)`.
#[derive(Debug, Clone)]
pub struct PassageCluster {
    /// The cluster id of `passages.jsonl`.
    pub id: usize,
    /// Witnesses: document index and code point span.
    pub witnesses: Vec<Witness>,
    /// Distinct documents among the witnesses.
    pub documents: usize,
    /// The first 40 characters of the longest witness, whitespace runs shown as one space.
    pub opening: String,
}

/// Repeated text inside one document (paragraphs and passages; lines are left out).
#[derive(Debug, Clone)]
pub struct DocRepeats {
    /// Document index.
    pub doc: usize,
    /// Later copies: `(start, end, count, first_start)`.
    pub copies: Vec<(u32, u32, u32, u32)>,
    /// Share of paragraph characters in repeated paragraphs.
    pub paragraph_share: f64,
}

/// A run of a document's text with what covers it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocSegment {
    /// Start (code points).
    pub start: u32,
    /// End (exclusive).
    pub end: u32,
    /// The passage cluster (index into [`ReportModel::passages`]) covering it, if any.
    pub passage: Option<usize>,
    /// `(count, first_start)` of a repeat covering it, if any.
    pub repeat: Option<(u32, u32)>,
}

/// Everything the report shows.
#[derive(Debug, Clone, Default)]
pub struct ReportModel {
    /// The runs' documents, in input order.
    pub docs: Vec<ReportDoc>,
    /// Document clusters, largest first (ties by id).
    pub clusters: Vec<DocCluster>,
    /// Passage clusters, most witnesses first.
    pub passages: Vec<PassageCluster>,
    /// Documents with repeated text, most copies first.
    pub repeats: Vec<DocRepeats>,
    /// Scores for the histogram: Jaccard of the duplicate pairs, or else the matched share of each alignment.
    pub scores: Vec<f64>,
    /// What the scores are.
    pub score_label: String,
    /// Normalization of the passages run (used by the collation).
    pub passage_normalize: NormalizeOptions,
    /// Total aligned passage pairs of the passages run.
    pub alignments: usize,
}

fn read_records<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, RunError> {
    let text = std::fs::read_to_string(path).map_err(crate::pipeline::ioe(format!("reading {}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(k, l)| {
            serde_json::from_str(l).map_err(|e| RunError::Config(format!("{}:{}: {e}", path.display(), k + 1)))
        })
        .collect()
}

fn chars_span(text: &[char], s: u32, e: u32) -> String {
    let (s, e) = ((s as usize).min(text.len()), (e as usize).min(text.len()));
    text[s..e].iter().collect()
}

/// The opening of a witness: up to 40 characters; a whitespace run becomes one space between words (English keeps
/// its spaces) and vanishes between CJK characters (a column line break).
fn opening(text: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if n >= 40 {
            break;
        }
        let prev_cjk = out.chars().next_back().is_some_and(crate::normalize::is_cjk_unit);
        if space && !out.is_empty() && !(prev_cjk && crate::normalize::is_cjk_unit(c)) {
            out.push(' ');
        }
        space = false;
        out.push(c);
        n += 1;
    }
    out
}

impl ReportModel {
    /// Reads the run directories (`dedup`, `passages` and/or `repeats`) and the documents they read.
    ///
    /// # Errors
    /// When a directory is not a complete run of one of those jobs, when the runs read standard input (which
    /// cannot be read again), when an input is gone or changed since the run, on malformed outputs.
    pub fn load(runs: &[PathBuf]) -> Result<ReportModel, RunError> {
        let mut dedup: Option<(PathBuf, RunSummary)> = None;
        let mut passages: Option<(PathBuf, RunSummary)> = None;
        let mut repeats: Option<(PathBuf, RunSummary)> = None;
        let mut input_paths: Vec<String> = Vec::new();
        let mut read: Option<ReadOptions> = None;
        let mut skipped_by: Vec<HashSet<u64>> = Vec::new();
        for dir in runs {
            if crate::io::outdir::read_marker(dir).is_some_and(|m| !m.complete) {
                return Err(RunError::Config(format!(
                    "{}: an incomplete run (interrupted); run it again",
                    dir.display()
                )));
            }
            let text = std::fs::read_to_string(dir.join("summary.json")).map_err(|e| {
                RunError::Config(format!("{}: no readable summary.json, not a run directory ({e})", dir.display()))
            })?;
            let summary: RunSummary = serde_json::from_str(&text)
                .map_err(|e| RunError::Config(format!("{}: malformed summary.json: {e}", dir.display())))?;
            for p in &summary.input_paths {
                if !input_paths.contains(p) {
                    input_paths.push(p.clone());
                }
            }
            read.get_or_insert_with(|| summary.config.read.clone());
            let skips: Vec<SkippedSeq> = read_records(&dir.join("skipped.jsonl")).unwrap_or_default();
            skipped_by.push(skips.into_iter().map(|s| s.seq).collect());
            let slot = if dir.join("clusters.jsonl").is_file() {
                &mut dedup
            } else if dir.join("alignments.jsonl").is_file() {
                &mut passages
            } else if dir.join("repeats.jsonl").is_file() {
                &mut repeats
            } else {
                return Err(RunError::Config(format!(
                    "{}: neither a dedup, a passages nor a repeats output directory",
                    dir.display()
                )));
            };
            *slot = Some((dir.clone(), summary));
        }
        if input_paths.is_empty() {
            return Err(RunError::Config("the run directories record no inputs (summary.json input_paths)".into()));
        }
        if input_paths.iter().any(|p| p == "<stdin>") {
            return Err(RunError::Config(
                "a run read standard input, which cannot be read again: run it on a file to report on it".into(),
            ));
        }
        let inputs: Vec<Input> = input_paths
            .iter()
            .map(|p| Input::from_arg(p).map_err(crate::pipeline::ioe(format!("input {p}"))))
            .collect::<Result<_, _>>()?;
        let read = read.unwrap_or_default();

        // The runs' documents: what every run skipped is left out.
        let mut docs = Vec::new();
        // Read once: a stream needs no spool copy.
        for raw in RecordReader::new(&inputs).spool_streams(false) {
            if skipped_by.iter().all(|s| s.contains(&raw.seq)) && !skipped_by.is_empty() {
                continue;
            }
            if let Ok(d) = parse_record(&raw, &read) {
                let chars = d.text.chars().count();
                docs.push(ReportDoc { id: d.id, text: d.text, chars });
            }
        }
        let index: HashMap<&str, usize> = docs.iter().enumerate().map(|(k, d)| (d.id.as_str(), k)).collect();
        let mut model = ReportModel::default();

        // Document clusters.
        if let Some((dir, summary)) = &dedup {
            let lines: Vec<ClusterRecord> = read_records(&dir.join("clusters.jsonl"))?;
            let missing = lines.iter().filter(|l| !index.contains_key(l.id.as_str())).count();
            if missing > 0 || lines.len() != docs.len() {
                return Err(RunError::Config(format!(
                    "the inputs changed since the dedup run in {}: it clustered {} documents, the inputs now give {} \
                     ({missing} of its ids not found); run it again",
                    dir.display(),
                    lines.len(),
                    docs.len()
                )));
            }
            let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for l in &lines {
                groups.entry(l.cluster.as_str()).or_default().push(index[l.id.as_str()]);
            }
            // The shingle sets exactly as the dedup run made them: its stored settings and boilerplate list.
            let text =
                std::fs::read_to_string(dir.join("summary.json")).map_err(crate::pipeline::ioe("summary.json"))?;
            let stored: DedupRun = serde_json::from_str(&text)
                .map_err(|e| RunError::Config(format!("{}: malformed summary.json: {e}", dir.display())))?;
            let mut options = stored.config.options;
            if let Some(p) = &summary.config.boilerplate_list {
                let filter = crate::boilerplate::load_filter(Path::new(p))
                    .map_err(crate::pipeline::ioe("the run's boilerplate list"))?;
                options.boilerplate = Some(std::sync::Arc::new(filter));
            }
            let fingerprinter = crate::core::dedup::Fingerprinter::new(&options)
                .map_err(|e| RunError::Config(format!("{}: {e}", dir.display())))?;
            let set_of = |d: usize| fingerprinter.shingles(&docs[d].text);
            let mut clusters: Vec<(&str, Vec<usize>)> = groups.into_iter().filter(|(_, m)| m.len() > 1).collect();
            clusters.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
            for (id, members) in clusters {
                let rep = index.get(id).copied().unwrap_or(members[0]);
                let rep_set = set_of(rep);
                let members = members
                    .iter()
                    .map(|&d| {
                        let s = pair_stats(&rep_set, &set_of(d));
                        ClusterMember {
                            doc: d,
                            representative: d == rep,
                            jaccard: s.jaccard,
                            containment: s.containment,
                            chars: docs[d].chars,
                        }
                    })
                    .collect();
                model.clusters.push(DocCluster { id: id.to_string(), representative: rep, members });
            }
            let pairs: Vec<PairRecord> = read_records(&dir.join("pairs.jsonl")).unwrap_or_default();
            model.scores = pairs.iter().map(|p| p.jaccard).collect();
            model.score_label = "Jaccard similarity of the verified duplicate pairs (dedup)".into();
        }

        // Passage clusters.
        if let Some((dir, summary)) = &passages {
            model.passage_normalize = summary.config.normalize;
            let mut groups: BTreeMap<usize, Vec<Witness>> = BTreeMap::new();
            for l in read_records::<PassageRecord>(&dir.join("passages.jsonl"))? {
                if let Some(&d) = index.get(l.id.as_str()) {
                    groups.entry(l.cluster).or_default().push((d, l.start, l.end));
                }
            }
            let mut clusters: Vec<(usize, Vec<Witness>)> = groups.into_iter().collect();
            clusters.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.1.cmp(&b.1)));
            for (id, witnesses) in clusters {
                let mut in_docs: Vec<usize> = witnesses.iter().map(|w| w.0).collect();
                in_docs.sort_unstable();
                in_docs.dedup();
                let longest = witnesses.iter().max_by_key(|w| w.2 - w.1).expect("a cluster has witnesses");
                let chars: Vec<char> = docs[longest.0].text.chars().collect();
                let opening = opening(&chars_span(&chars, longest.1, longest.2));
                model.passages.push(PassageCluster { id, witnesses, documents: in_docs.len(), opening });
            }
            let alignments: Vec<crate::records::AlignmentRecord> = read_records(&dir.join("alignments.jsonl"))?;
            model.alignments = alignments.len();
            if model.scores.is_empty() {
                model.scores = alignments
                    .iter()
                    .map(|a| {
                        let len = (a.a_end - a.a_start).max(a.b_end - a.b_start).max(1);
                        (a.matches as f64 / len as f64).min(1.0)
                    })
                    .collect();
                model.score_label = "matched share of aligned passages (passages)".into();
            }
        }

        // Repeats.
        if let Some((dir, _)) = &repeats {
            for l in read_records::<RepeatsRecord>(&dir.join("repeats.jsonl"))? {
                let Some(&d) = index.get(l.id.as_str()) else { continue };
                let copies: Vec<(u32, u32, u32, u32)> = l
                    .repeats
                    .iter()
                    .filter(|r| r.kind != crate::repeats::RepeatKind::Line)
                    .map(|r| (r.start, r.end, r.count, r.first_start))
                    .collect();
                if !copies.is_empty() {
                    model.repeats.push(DocRepeats { doc: d, copies, paragraph_share: l.metrics.dup_para_char_frac });
                }
            }
            model.repeats.sort_by(|a, b| b.copies.len().cmp(&a.copies.len()).then(docs[a.doc].id.cmp(&docs[b.doc].id)));
        }
        model.docs = docs;
        Ok(model)
    }

    /// The collation of passage cluster `k` (index into [`ReportModel::passages`]), with the passages run's
    /// normalization.
    pub fn collation(&self, k: usize) -> Collation {
        let texts: Vec<String> = self.passages[k]
            .witnesses
            .iter()
            .map(|&(d, s, e)| {
                let chars: Vec<char> = self.docs[d].text.chars().collect();
                chars_span(&chars, s, e)
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        collate(&refs, &self.passage_normalize)
    }

    /// For each document, the passage clusters it witnesses: `(cluster index, start, end)`.
    pub fn doc_passages(&self) -> Vec<Vec<(usize, u32, u32)>> {
        let mut out = vec![Vec::new(); self.docs.len()];
        for (k, p) in self.passages.iter().enumerate() {
            for &(d, s, e) in &p.witnesses {
                out[d].push((k, s, e));
            }
        }
        out
    }

    /// For each document, the index of its cluster in [`ReportModel::clusters`], if it is in one.
    pub fn doc_clusters(&self) -> Vec<Option<usize>> {
        let mut out = vec![None; self.docs.len()];
        for (k, c) in self.clusters.iter().enumerate() {
            for m in &c.members {
                out[m.doc] = Some(k);
            }
        }
        out
    }

    /// Document `d`'s text cut at every passage and repeat boundary, each run with what covers it.
    pub fn segments(&self, d: usize, passages: &[(usize, u32, u32)]) -> Vec<DocSegment> {
        let n = self.docs[d].chars as u32;
        let rs: &[(u32, u32, u32, u32)] =
            self.repeats.iter().find(|r| r.doc == d).map(|r| r.copies.as_slice()).unwrap_or(&[]);
        let mut cuts: Vec<u32> = vec![0, n];
        cuts.extend(passages.iter().flat_map(|&(_, s, e)| [s, e]));
        cuts.extend(rs.iter().flat_map(|&(s, e, _, _)| [s, e]));
        cuts.retain(|&c| c <= n);
        cuts.sort_unstable();
        cuts.dedup();
        cuts.windows(2)
            .map(|w| {
                let (s, e) = (w[0], w[1]);
                DocSegment {
                    start: s,
                    end: e,
                    passage: passages.iter().find(|&&(_, ps, pe)| ps <= s && e <= pe).map(|p| p.0),
                    repeat: rs.iter().find(|&&(rs_, re, _, _)| rs_ <= s && e <= re).map(|r| (r.2, r.3)),
                }
            })
            .collect()
    }

    /// Counts of the scores in `bins` equal bins over `[0, 1]`.
    pub fn histogram(&self, bins: usize) -> Vec<usize> {
        let mut out = vec![0usize; bins.max(1)];
        for &x in &self.scores {
            out[((x * bins as f64) as usize).min(bins.max(1) - 1)] += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openings_keep_single_spaces() {
        assert_eq!(opening("  The  Senate\npassed\tthe bill "), "The Senate passed the bill");
        assert_eq!(opening("新华社\n北京电"), "新华社北京电");
        assert_eq!(opening(&"字".repeat(60)).chars().count(), 40);
    }
}
