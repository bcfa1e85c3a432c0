#!/usr/bin/env python3
"""One run of `textreuse.dedup` (the Python package) on a JSONL corpus, as a user's script would: read the records,
deduplicate, write {"id", "cluster"} per document for score.py. Prints in-process timings as JSON.

usage: py_dedup.py CORPUS.jsonl OUT.jsonl [--arrow] [--threads N]
"""
import argparse, json, time

t0 = time.perf_counter()
import textreuse  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('corpus')
ap.add_argument('out')
ap.add_argument('--arrow', action='store_true', help='read with pyarrow.json and pass the Arrow table')
ap.add_argument('--threads', type=int)
args = ap.parse_args()
opts = {'threads': args.threads} if args.threads else {}

t1 = time.perf_counter()
if args.arrow:
    import pyarrow.json as pj
    records = pj.read_json(args.corpus)
else:
    with open(args.corpus, encoding='utf-8') as f:
        records = [json.loads(line) for line in f if line.strip()]
t2 = time.perf_counter()
r = textreuse.dedup(records, **opts)
t3 = time.perf_counter()
with open(args.out, 'w', encoding='utf-8') as f:
    for i, c in zip(r.ids, r.cluster):
        f.write(json.dumps({'id': i, 'cluster': c}, ensure_ascii=False) + '\n')
t4 = time.perf_counter()
print(json.dumps({'import_s': t1 - t0, 'read_s': t2 - t1, 'dedup_s': t3 - t2, 'write_s': t4 - t3}))
