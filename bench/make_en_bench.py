#!/usr/bin/env python3
"""An English benchmark made like zh-dev: ../shared/bench/make_bench.py over the 1916 front pages of
../shared/corpora (chronam), whose OCR text is cut first into pieces of about 2,500 characters at line ends (a page
is too long to be one article: make_bench.py takes sources of 300-6,000 characters). make_bench.py then reprints
them as it does Chinese news: column hard wraps, OCR-like character loss, truncation, dropped or repeated
paragraphs, datelines, pages of several pieces. Deterministic by seed.

usage: bench/make_en_bench.py OUT_DIR [--seed 5] [--pieces 40000]
Needs `zstd` and make_bench.py's requirement (opencc-python-reimplemented: bench/.venv has it).
"""
import argparse, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, '..', '..', 'shared'))

ap = argparse.ArgumentParser()
ap.add_argument('out')
ap.add_argument('--seed', type=int, default=5)
ap.add_argument('--pieces', type=int, default=40000, help='pieces kept, in file order (make_bench.py is quadratic-ish)')
args = ap.parse_args()

src = os.path.join(SHARED, 'corpora', 'chronam-1916-jan-jun.jsonl.zst')
if not os.path.exists(src):
    sys.exit(f'{src} is absent: the benchmark needs ../shared')
with tempfile.TemporaryDirectory() as tmp:
    pieces = os.path.join(tmp, 'pieces.jsonl')
    n = 0
    with open(pieces, 'w', encoding='utf-8') as out:
        raw = subprocess.run(['zstd', '-dcq', src], capture_output=True, check=True).stdout.decode('utf-8')
        for line in raw.splitlines():
            if n >= args.pieces:
                break
            r = json.loads(line)
            cur, size, k = [], 0, 0
            for l in r['text'].split('\n'):
                cur.append(l)
                size += len(l) + 1
                if size >= 2500:
                    out.write(json.dumps({'id': f"{r['id']}#{k}", 'text': '\n'.join(cur)}, ensure_ascii=False) + '\n')
                    n, k, cur, size = n + 1, k + 1, [], 0
                    if n >= args.pieces:
                        break
    # Counts that 40,000 pieces can fill: make_bench.py keeps only sources that share no sentence with another.
    subprocess.run([sys.executable, os.path.join(SHARED, 'bench', 'make_bench.py'), pieces, '--out', args.out,
                    '--seed', str(args.seed), '--clusters', '200', '--page-sources', '80', '--pages', '150',
                    '--singletons', '800'], check=True)
