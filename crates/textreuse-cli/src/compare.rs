//! `textreuse compare A B`: the passages two texts share, printed side by side for a person to read.

use std::io::{IsTerminal, Write};

use anyhow::{bail, Context, Result};
use textreuse::align::{align_units, Kind, Op, UnitDoc};
use textreuse::io::{parse_record, read_all, Input, Payload, RawRecord, ReadOptions};
use textreuse::normalize::NormalizeOptions;
use textreuse::passages::align_texts;
use unicode_width::UnicodeWidthStr;

use crate::CompareArgs;

const RESET: &str = "\x1b[0m";
const SUBST: &str = "\x1b[30;43m"; // substitution: black on yellow
const DELETE: &str = "\x1b[30;41m"; // only in A: black on red
const INSERT: &str = "\x1b[30;42m"; // only in B: black on green
const VARIANT: &str = "\x1b[36m"; // equal after normalization, written differently (script, width, case): cyan
const MATCHED: &str = "\x1b[1;4m"; // rewritten passage: a unit the other side has too: bold, underlined

fn read_text(arg: &str, corpus: &Option<(Vec<textreuse::io::Document>, String)>) -> Result<(String, String)> {
    if let Some((docs, name)) = corpus {
        let d =
            docs.iter().find(|d| d.id == arg).with_context(|| format!("no document with id \"{arg}\" in {name}"))?;
        return Ok((d.id.clone(), d.text.clone()));
    }
    let bytes = std::fs::read(arg).with_context(|| format!("reading {arg}"))?;
    let raw = RawRecord {
        seq: 0,
        location: textreuse::io::Location { file: arg.into(), line: None },
        payload: Payload::File { id: arg.to_string(), bytes },
    };
    let doc = parse_record(&raw, &ReadOptions::default()).map_err(|s| anyhow::anyhow!("{s}"))?;
    Ok((doc.id, doc.text))
}

pub fn run(args: CompareArgs) -> Result<()> {
    let corpus = match &args.corpus {
        Some(c) => {
            let input = Input::from_arg(c).with_context(|| format!("corpus {c}"))?;
            let opts = ReadOptions {
                id_field: args.id_field.clone(),
                text_field: args.text_field.clone(),
                ..ReadOptions::default()
            };
            Some((read_all(&[input], &opts).0, c.clone()))
        }
        None => None,
    };
    let (a_id, a_text) = read_text(&args.a, &corpus)?;
    let (b_id, b_text) = read_text(&args.b, &corpus)?;
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        "auto" => std::io::stdout().is_terminal(),
        other => bail!("--color must be auto, always or never, not {other}"),
    };
    let cfg = args.align.config();
    let (da, db, passages) = align_texts(&a_text, &b_text, &NormalizeOptions::default(), &cfg);
    let a_chars: Vec<char> = a_text.chars().collect();
    let b_chars: Vec<char> = b_text.chars().collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "A: {a_id} ({} characters)    B: {b_id} ({} characters)", a_chars.len(), b_chars.len())?;
    if passages.is_empty() {
        writeln!(out, "no shared passage of {} units or more", cfg.min_length)?;
        return Ok(());
    }
    if color {
        writeln!(
            out,
            "legend: {SUBST}substituted{RESET} {DELETE}only in A{RESET} {INSERT}only in B{RESET} {VARIANT}same text, other script or width{RESET}"
        )?;
    } else {
        writeln!(
            out,
            "legend: [x] substituted, [x] facing [··] only on one side, {{x}} same text in another script or width"
        )?;
    }
    if passages.iter().any(|p| p.kind == Kind::Rewritten) {
        if color {
            writeln!(out, "rewritten passages: each side as written, {MATCHED}units the other side has too{RESET}")?;
        } else {
            writeln!(
                out,
                "rewritten passages: each side as written, [x] a unit the other side lacks (the rest it has too)"
            )?;
        }
    }
    for (k, p) in passages.iter().enumerate() {
        writeln!(
            out,
            "\npassage {}: A [{}, {}) ↔ B [{}, {}), {} matching units, score {:.1}, {}, similarity {:.2}",
            k + 1,
            p.a_span.0,
            p.a_span.1,
            p.b_span.0,
            p.b_span.1,
            p.matches,
            p.score,
            match p.kind {
                Kind::Verbatim => "verbatim",
                Kind::Rewritten => "rewritten",
            },
            p.similarity
        )?;
        if p.kind == Kind::Rewritten {
            write_rewritten(&mut out, p, (&da, &a_chars), (&db, &b_chars), args.width.max(1), color)?;
            continue;
        }
        let a_range = (p.a_units.0 as usize, p.a_units.1 as usize);
        let b_range = (p.b_units.0 as usize, p.b_units.1 as usize);
        let ops = align_units(&da.ids, &db.ids, a_range, b_range, 32);
        let (a_end, b_end) = (p.a_span.1, p.b_span.1);
        let a_cell = |i: u32| unit_text(&da, &a_chars, i, a_end);
        let b_cell = |j: u32| unit_text(&db, &b_chars, j, b_end);
        for row in ops.chunks(args.width.max(1)) {
            let (mut left, mut right) = (String::new(), String::new());
            for op in row {
                let none = (String::new(), String::new());
                let (x, y, style) = match *op {
                    Op::Match(i, j) => {
                        let (x, y) = (a_cell(i), b_cell(j));
                        // Written differently (script, width, case) where the units themselves differ; punctuation
                        // after them is shown as written, not marked.
                        let style = if x.0 == y.0 { "" } else { VARIANT };
                        (x, y, style)
                    }
                    Op::Substitute(i, j) => (a_cell(i), b_cell(j), SUBST),
                    Op::DeleteA(i) => (a_cell(i), none, DELETE),
                    Op::InsertB(j) => (none, b_cell(j), INSERT),
                };
                let w = cell_width(&x).max(cell_width(&y)).max(1);
                push_cell(&mut left, &x, w, style, color);
                push_cell(&mut right, &y, w, style, color);
            }
            writeln!(out, "  {left} │ {right}")?;
        }
    }
    Ok(())
}

/// A rewritten passage side by side: each side's units in their own order (a rewriting moves clauses, so there is
/// no unit-to-unit alignment to show), `width` units a row; with colour a unit that the other side's passage has
/// too is marked, without colour a unit it lacks is bracketed.
fn write_rewritten(
    out: &mut impl Write,
    p: &textreuse::align::Passage,
    (da, a_chars): (&UnitDoc, &[char]),
    (db, b_chars): (&UnitDoc, &[char]),
    width: usize,
    color: bool,
) -> Result<()> {
    use std::collections::HashSet;
    let ids =
        |d: &UnitDoc, (s, e): (u32, u32)| -> HashSet<u64> { d.ids[s as usize..e as usize].iter().copied().collect() };
    let (a_ids, b_ids) = (ids(da, p.a_units), ids(db, p.b_units));
    let side = |d: &UnitDoc, chars: &[char], (s, e): (u32, u32), end: u32, other: &HashSet<u64>| -> Vec<String> {
        (s..e)
            .collect::<Vec<u32>>()
            .chunks(width)
            .map(|row| {
                let mut line = String::new();
                for &u in row {
                    let cell = unit_text(d, chars, u, end);
                    // With colour the matched units are marked; without, the others are bracketed (fewer marks).
                    let matched = other.contains(&d.ids[u as usize]);
                    let style = match (color, matched) {
                        (true, true) => MATCHED,
                        (false, false) => SUBST,
                        _ => "",
                    };
                    push_cell(&mut line, &cell, 0, style, color);
                }
                line
            })
            .collect()
    };
    let left = side(da, a_chars, p.a_units, p.a_span.1, &b_ids);
    let right = side(db, b_chars, p.b_units, p.b_span.1, &a_ids);
    let visible = |s: &str| -> usize {
        // Display width without the colour escapes.
        let mut w = 0;
        let mut rest = s;
        while let Some(k) = rest.find('\x1b') {
            w += rest[..k].width();
            rest = rest[k..].find('m').map_or("", |m| &rest[k + m + 1..]);
        }
        w + rest.width()
    };
    let col = left.iter().map(|l| visible(l)).max().unwrap_or(0);
    for k in 0..left.len().max(right.len()) {
        let l = left.get(k).map_or("", |s| s.as_str());
        let r = right.get(k).map_or("", |s| s.as_str());
        writeln!(out, "  {l}{} │ {r}", " ".repeat(col - visible(l)))?;
    }
    Ok(())
}

/// The original text of one unit, and the characters that follow it up to the next unit (punctuation, as
/// written) but not beyond `limit`; line breaks and other whitespace are left out (a space separates words).
fn unit_text(d: &UnitDoc, chars: &[char], unit: u32, limit: u32) -> (String, String) {
    let (s, e) = d.spans[unit as usize];
    let next = d.spans.get(unit as usize + 1).map_or(limit, |n| n.0.min(limit)).max(e);
    let text = |from: u32, to: u32| chars[from as usize..to as usize].iter().filter(|c| !c.is_whitespace()).collect();
    (text(s, e), text(e, next))
}

/// Display width of a cell without its marks.
fn cell_width(cell: &(String, String)) -> usize {
    cell.0.width() + cell.1.width()
}

/// Appends a cell (a unit and the punctuation after it), padded to `width` columns: a missing unit as dots; a
/// difference coloured, or without colour bracketed (`[x]`) and a script or width variant braced (`{x}`), the marks
/// around the unit only.
fn push_cell(line: &mut String, cell: &(String, String), width: usize, style: &str, color: bool) {
    let (unit, tail) = cell;
    let shown = if unit.is_empty() && tail.is_empty() { "·".repeat(width) } else { unit.clone() };
    let pad = width.saturating_sub(shown.width() + tail.width());
    if color && !style.is_empty() {
        line.push_str(style);
        line.push_str(&shown);
        line.push_str(RESET);
    } else if !color && !style.is_empty() {
        let (open, close) = if style == VARIANT { ('{', '}') } else { ('[', ']') };
        line.push(open);
        line.push_str(&shown);
        line.push(close);
    } else {
        line.push_str(&shown);
    }
    line.push_str(tail);
    line.push_str(&" ".repeat(pad));
    if unit.is_ascii() && !unit.is_empty() {
        line.push(' ');
    }
}
