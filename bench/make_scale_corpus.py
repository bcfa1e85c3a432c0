#!/usr/bin/env python3
"""Builds a scale corpus of about TARGET bytes by concatenating the JSONL corpora of ../shared/corpora/ as often
as needed. Copy k of a record gets the id "copy<k>/<id>", so ids stay unique; every other byte of the line is
unchanged (so later copies are exact duplicates of earlier ones, as in a crawl that saw the same pages twice).

usage: make_scale_corpus.py OUT.jsonl [TARGET_BYTES] [--shared DIR]
"""
import argparse, os, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument('out')
ap.add_argument('target', nargs='?', type=int, default=1_000_000_000)
ap.add_argument('--shared', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared'))
args = ap.parse_args()

corpora = sorted(os.path.join(args.shared, 'corpora', f) for f in os.listdir(os.path.join(args.shared, 'corpora'))
                 if f.endswith('.jsonl.zst'))
if not corpora:
    sys.exit(f'no corpora under {args.shared}/corpora')
written, copy = 0, 0
tmp = args.out + '.tmp'
with open(tmp, 'wb') as out:
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
                p.stdout.close()
            if written >= args.target:
                break
        copy += 1
os.replace(tmp, args.out)
print(f'{args.out}: {written} bytes, {copy} pass(es) over {len(corpora)} corpora')
