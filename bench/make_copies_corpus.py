#!/usr/bin/env python3
"""Builds the *old* 1 GB scale corpus of issue 15 ("on the realistic 1 GB scale corpus and on the old one"): the
JSONL corpora of ../shared/corpora/ concatenated as often as needed into one uncompressed file. Copy k of a record
gets the id "copy<k>/<id>", so ids stay unique; every other byte of the line is unchanged, so later copies are exact
duplicates of earlier ones, as in a crawl that saw the same pages twice. This is the generator of the first round
(git 957aa5a, bench/make_scale_corpus.py then), kept so that the old corpus can be built again; the realistic corpus
(noisy reprints) is bench/make_scale_corpus.py.

At the default target it writes 1,000,003,988 bytes, 109,756 records, in 3 passes over the 3 corpora.

usage: make_copies_corpus.py OUT.jsonl [TARGET_BYTES] [--shared DIR]
"""
import argparse
import os
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument('out')
ap.add_argument('target', nargs='?', type=int, default=1_000_000_000)
ap.add_argument('--shared', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared'))
args = ap.parse_args()

if os.path.exists(args.out):
    sys.exit(f'{args.out} exists: not overwritten')
corpora = sorted(os.path.join(args.shared, 'corpora', f) for f in os.listdir(os.path.join(args.shared, 'corpora'))
                 if f.endswith('.jsonl.zst'))
if not corpora:
    sys.exit(f'no corpora under {args.shared}/corpora')
written, records, copy = 0, 0, 0
tmp = args.out + '.tmp'
with open(tmp, 'xb') as out:
    while written < args.target:
        for path in corpora:
            with subprocess.Popen(['zstd', '-dc', path], stdout=subprocess.PIPE) as p:
                for line in p.stdout:
                    if written >= args.target:
                        break
                    if copy:
                        line = line.replace(b'{"id": "', b'{"id": "copy%d/' % copy, 1)
                    out.write(line)
                    written += len(line)
                    records += 1
                p.stdout.close()
            if written >= args.target:
                break
        copy += 1
os.replace(tmp, args.out)
print(f'{args.out}: {written} bytes, {records} records, {copy} pass(es) over {len(corpora)} corpora')
