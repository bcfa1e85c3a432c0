#!/usr/bin/env python3
"""Reference anchor for `textreuse dedup`: rensa (Rust MinHash with Python bindings) as a user who wants speed in
Python runs it: `RMinHash` signatures built in batches (`RMinHash.from_token_sets`) and `RMinHashLSH`
(`insert_pairs`, `query_all`), then union-find over the LSH candidates (no verification, like datasketch_dedup.py,
unless --verify gives a minimum estimated Jaccard).

Same preprocessing as datasketch_dedup.py: NFKC, lower-casing, OpenCC t2s (the C++ binding when installed, see
anchor_io.opencc_t2s), punctuation and whitespace removed, character 5-grams, 128 permutations. One process, one
core. Writes {"id", "cluster"} per document for score.py.

usage: rensa_dedup.py INPUT.jsonl[.zst]... OUT.jsonl [--bands B] [--no-opencc] [--verify T] [--batch SHINGLES]
"""
import argparse, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anchor_io import char_ngrams, normalized, opencc_t2s, records, split_inputs_out, write_clusters  # noqa: E402
from rensa import RMinHash, RMinHashLSH  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('inputs', nargs='+')
ap.add_argument('--bands', type=int, default=16, help='LSH bands (num_perm / bands rows each)')
ap.add_argument('--threshold', type=float, default=0.5, help="RMinHashLSH's threshold argument")
ap.add_argument('--num-perm', type=int, default=128)
ap.add_argument('--no-opencc', action='store_true')
ap.add_argument('--verify', type=float, default=None, help='keep a candidate pair only if its estimated Jaccard >= T')
ap.add_argument('--batch', type=int, default=1_000_000, help='shingles per signature batch (bounds memory)')
ap.add_argument('--seed', type=int, default=42)
args = ap.parse_args()
inputs, out = split_inputs_out(args.inputs)

conv = None if args.no_opencc else opencc_t2s()[0]
lsh = RMinHashLSH(args.threshold, args.num_perm, args.bands)
ids, parent = [], []


def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def flush(keys, token_sets):
    mhs = RMinHash.from_token_sets(token_sets, num_perm=args.num_perm, seed=args.seed)
    lsh.insert_pairs(list(zip(keys, mhs)))
    kept = {}
    if args.verify is not None:
        kept = dict(zip(keys, mhs))
    for key, cands in zip(keys, lsh.query_all(mhs)):
        for other in cands:
            if other == key:
                continue
            if args.verify is not None:
                mo = kept.get(other) or sigs[other]
                if kept[key].jaccard(mo) < args.verify:
                    continue
            a, b = find(key), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    if args.verify is not None:
        sigs.update(kept)


sigs = {}
keys, token_sets, pending = [], [], 0
for doc_id, text in records(inputs):
    k = len(ids)
    ids.append(doc_id)
    parent.append(k)
    keys.append(k)
    token_sets.append(char_ngrams(normalized(text, conv)))
    pending += len(token_sets[-1])
    if pending >= args.batch:
        flush(keys, token_sets)
        keys, token_sets, pending = [], [], 0
if keys:
    flush(keys, token_sets)

write_clusters(out, [(doc_id, ids[find(k)]) for k, doc_id in enumerate(ids)])
