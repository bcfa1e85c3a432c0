#!/usr/bin/env python3
"""Break score.py's passage scores down: recall by gold case length, precision by detection kind.

score.py (in ../shared/bench, or --score) gives one macro character precision and recall over all cases. This
helper reuses its gold_cases / overlap / union_length functions and reports, for the same cases and detections:
- per case-length bucket (length of a case = the longer of its two sides, in code points): cases, cases detected,
  mean character recall (score.py's per-case recall);
- per detection kind ("verbatim" / "rewritten", from the alignments' "kind" field; files without it count as
  verbatim): detections and mean character precision;
- with --worst N, the N detections of lowest precision and the N cases of lowest recall (ids and offsets), for
  reading them side by side.

usage: bench/score_detail.py GOLD_DIR --alignments ALIGNMENTS.jsonl [--buckets 50,100,200] [--worst 10]
Standard library only. Prints one JSON object.
"""
import argparse, importlib.util, json, os, sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))


def load_score(path):
    spec = importlib.util.spec_from_file_location('score', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('gold', help='benchmark directory (gold_spans.jsonl)')
    ap.add_argument('--alignments', required=True)
    ap.add_argument('--score', default=os.path.join(HERE, '..', '..', 'shared', 'bench', 'score.py'),
                    help='score.py to reuse (default ../shared/bench/score.py)')
    ap.add_argument('--buckets', default='50,100,200,500', help='upper bounds of the case-length buckets')
    ap.add_argument('--worst', type=int, default=0, help='list the N worst detections and cases')
    args = ap.parse_args()
    sc = load_score(args.score)
    spans = sc.read_jsonl(os.path.join(args.gold, 'gold_spans.jsonl'))
    cases = sc.gold_cases(spans)
    dets = []
    for r in sc.read_jsonl(args.alignments):
        d1, a1, b1, d2, a2, b2 = r['a'], r['a_start'], r['a_end'], r['b'], r['b_start'], r['b_end']
        if d1 == d2 or b1 <= a1 or b2 <= a2:
            continue
        if d1 > d2:
            d1, a1, b1, d2, a2, b2 = d2, a2, b2, d1, a1, b1
        dets.append(((d1, a1, b1, d2, a2, b2), r.get('kind', 'verbatim'), r.get('similarity')))
    cases_by_pair, dets_by_pair = defaultdict(list), defaultdict(list)
    for k, c in enumerate(cases):
        cases_by_pair[(c[0], c[3])].append(k)
    for k, (r, _, _) in enumerate(dets):
        dets_by_pair[(r[0], r[3])].append(k)

    def meet(c, r):
        x = sc.overlap(c[1], c[2], r[1], r[2])
        y = sc.overlap(c[4], c[5], r[4], r[5])
        return (x, y) if x and y else None

    bounds = [int(x) for x in args.buckets.split(',')]

    def bucket(n):
        lo = 0
        for b in bounds:
            if n < b:
                return f'[{lo},{b})'
            lo = b
        return f'[{lo},inf)'

    per_case = []
    for c in cases:
        s1, s2 = [], []
        for rk in dets_by_pair.get((c[0], c[3]), ()):
            m = meet(c, dets[rk][0])
            if m:
                s1.append(m[0]); s2.append(m[1])
        rec = (sc.union_length(s1) + sc.union_length(s2)) / ((c[2] - c[1]) + (c[5] - c[4]))
        per_case.append((c, max(c[2] - c[1], c[5] - c[4]), rec, len(s1)))
    by_bucket = defaultdict(lambda: [0, 0, 0.0])
    order = {}
    for _, length, rec, n in per_case:
        b = bucket(length)
        order.setdefault(b, length)
        by_bucket[b][0] += 1
        by_bucket[b][1] += 1 if n else 0
        by_bucket[b][2] += rec
    per_det = []
    for r, kind, sim in dets:
        s1, s2 = [], []
        for k in cases_by_pair.get((r[0], r[3]), ()):
            m = meet(cases[k], r)
            if m:
                s1.append(m[0]); s2.append(m[1])
        per_det.append((r, kind, sim, (sc.union_length(s1) + sc.union_length(s2)) / ((r[2] - r[1]) + (r[5] - r[4]))))
    by_kind = defaultdict(lambda: [0, 0.0])
    for _, kind, _, p in per_det:
        by_kind[kind][0] += 1
        by_kind[kind][1] += p
    out = {
        'recall_by_case_length': {b: {'cases': v[0], 'detected': v[1], 'char_recall': round(v[2] / v[0], 4)}
                                  for b, v in sorted(by_bucket.items(), key=lambda kv: order[kv[0]])},
        'precision_by_kind': {k: {'detections': v[0], 'char_precision': round(v[1] / v[0], 4)}
                              for k, v in sorted(by_kind.items())},
    }
    if args.worst:
        out['worst_detections'] = [{'det': r, 'kind': k, 'similarity': s, 'precision': round(p, 3)}
                                   for r, k, s, p in sorted(per_det, key=lambda x: x[3])[:args.worst]]
        out['worst_cases'] = [{'case': c, 'length': n, 'recall': round(rec, 3), 'detections': d}
                              for c, n, rec, d in sorted(per_case, key=lambda x: x[2])[:args.worst]]
    json.dump(out, sys.stdout, ensure_ascii=False)
    print()


if __name__ == '__main__':
    main()
