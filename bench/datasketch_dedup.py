#!/usr/bin/env python3
"""Reference anchor for `textreuse dedup`: datasketch MinHashLSH as its users run it.

128 permutations, threshold 0.5, character 5-grams after NFKC and punctuation/whitespace removal, union-find over
the LSH candidates (no verification), optionally with OpenCC traditional->simplified conversion first
(opencc-python-reimplemented), or with text-dedup's tokenization (split on \\W, so a Chinese clause is one token).
Writes {"id", "cluster"} per document for score.py.

usage: datasketch_dedup.py CORPUS.jsonl OUT.jsonl [--opencc] [--tokens-w] [--threshold T]
"""
import argparse, json, re, unicodedata

from datasketch import MinHash, MinHashLSH

ap = argparse.ArgumentParser()
ap.add_argument('corpus')
ap.add_argument('out')
ap.add_argument('--opencc', action='store_true', help='convert traditional to simplified with OpenCC first')
ap.add_argument('--tokens-w', action='store_true', help="text-dedup's tokenization: split on \\W, 1-gram tokens")
ap.add_argument('--threshold', type=float, default=0.5)
ap.add_argument('--num-perm', type=int, default=128)
args = ap.parse_args()

conv = None
if args.opencc:
    import opencc
    conv = opencc.OpenCC('t2s')

PUNCT = re.compile(r'[\W_]+', re.UNICODE)

def shingles(text):
    text = unicodedata.normalize('NFKC', text).lower()
    if conv is not None:
        text = conv.convert(text)
    if args.tokens_w:
        toks = [t for t in re.split(r'\W+', text) if t]
        return {t.encode('utf-8') for t in toks}
    s = PUNCT.sub('', text)
    if len(s) < 5:
        return {s.encode('utf-8')}
    return {s[i:i + 5].encode('utf-8') for i in range(len(s) - 4)}

ids, lsh = [], MinHashLSH(threshold=args.threshold, num_perm=args.num_perm)
parent = {}
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x

with open(args.corpus, encoding='utf-8') as f:
    for line in f:
        if not line.strip():
            continue
        r = json.loads(line)
        m = MinHash(num_perm=args.num_perm)
        m.update_batch(list(shingles(r['text'])))
        key = r['id']
        ids.append(key)
        parent[key] = key
        for other in lsh.query(m):
            a, b = find(key), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
        lsh.insert(key, m)

with open(args.out, 'w', encoding='utf-8') as f:
    for k in ids:
        f.write(json.dumps({'id': k, 'cluster': find(k)}, ensure_ascii=False) + '\n')
