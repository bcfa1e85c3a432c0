#!/usr/bin/env python3
"""Reference anchor for `textreuse dedup`: datasketch MinHashLSH as its users run it.

128 permutations, threshold 0.5, character 5-grams after NFKC and punctuation/whitespace removal, union-find over
the LSH candidates (no verification), optionally with OpenCC traditional->simplified conversion first
(whichever `opencc` module the interpreter has: the pure-Python opencc-python-reimplemented in bench/.venv, the C++
binding PyPI `opencc` in bench/.venv-cpp), or with text-dedup's tokenization (split on \\W, so a Chinese clause is
one token). Inputs: JSONL files, plain or .zst. Writes {"id", "cluster"} per document for score.py.

usage: datasketch_dedup.py CORPUS.jsonl[.zst]... OUT.jsonl [--opencc] [--tokens-w] [--threshold T]
"""
import argparse, os, re, sys

from datasketch import MinHash, MinHashLSH

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anchor_io import char_ngrams, normalized, opencc_t2s, records, split_inputs_out, write_clusters  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('inputs', nargs='+', help='CORPUS... OUT')
ap.add_argument('--opencc', action='store_true', help='convert traditional to simplified with OpenCC first')
ap.add_argument('--tokens-w', action='store_true', help="text-dedup's tokenization: split on \\W, 1-gram tokens")
ap.add_argument('--threshold', type=float, default=0.5)
ap.add_argument('--num-perm', type=int, default=128)
args = ap.parse_args()
inputs, out = split_inputs_out(args.inputs)

conv = opencc_t2s()[0] if args.opencc else None


def shingles(text):
    if args.tokens_w:
        text = normalized_keep_punct(text)
        toks = [t for t in re.split(r'\W+', text) if t]
        return {t.encode('utf-8') for t in toks}
    return {g.encode('utf-8') for g in char_ngrams(normalized(text, conv))}


def normalized_keep_punct(text):
    import unicodedata
    text = unicodedata.normalize('NFKC', text).lower()
    return conv.convert(text) if conv is not None else text


ids, lsh = [], MinHashLSH(threshold=args.threshold, num_perm=args.num_perm)
parent = {}
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x

for key, text in records(inputs):
    m = MinHash(num_perm=args.num_perm)
    m.update_batch(list(shingles(text)))
    ids.append(key)
    parent[key] = key
    for other in lsh.query(m):
        a, b = find(key), find(other)
        if a != b:
            parent[max(a, b)] = min(a, b)
    lsh.insert(key, m)

write_clusters(out, [(k, find(k)) for k in ids])
