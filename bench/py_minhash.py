#!/usr/bin/env python3
"""MinHash signature throughput on the texts of a JSONL corpus: textreuse.MinHash against datasketch's MinHash and
rensa's RMinHash (when installed), 128 permutations each. The anchors get the tokenization their users write (NFKC,
lower-case, punctuation and whitespace removed, character 5-grams; no traditional→simplified conversion, which
textreuse does and they do not); "hash only" rows time their hashing of pre-made shingles alone. Prints JSON.

usage: py_minhash.py CORPUS.jsonl [--repeat N]
"""
import argparse, json, re, statistics, time, unicodedata

ap = argparse.ArgumentParser()
ap.add_argument('corpus')
ap.add_argument('--repeat', type=int, default=3)
args = ap.parse_args()

with open(args.corpus, encoding='utf-8') as f:
    texts = [json.loads(line)['text'] for line in f if line.strip()]
mb = sum(len(t.encode('utf-8')) for t in texts) / 1e6
PUNCT = re.compile(r'[\W_]+', re.UNICODE)


def shingles(text):
    s = PUNCT.sub('', unicodedata.normalize('NFKC', text).lower())
    if len(s) < 5:
        return [s]
    return list({s[i:i + 5] for i in range(len(s) - 4)})


def best(f):
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


rows = []


def row(name, seconds):
    rows.append({'name': name, 'seconds': seconds, 'docs_per_s': len(texts) / seconds, 'mb_per_s': mb / seconds})


import textreuse  # noqa: E402

row('textreuse MinHash.bulk (all cores; normalize + shingle + signature)', best(lambda: textreuse.MinHash.bulk(texts)))
row('textreuse MinHash.bulk, 1 thread', best(lambda: textreuse.MinHash.bulk(texts, threads=1)))
row('textreuse MinHash(text) per document, 1 thread', best(lambda: [textreuse.MinHash(t).digest() for t in texts]))

pre = [shingles(t) for t in texts]
pre_bytes = [[s.encode('utf-8') for s in sh] for sh in pre]
row('textreuse MinHash.bulk_tokens, hash only (pre-made shingles, all cores)',
    best(lambda: textreuse.MinHash.bulk_tokens(pre)))
row('textreuse MinHash.bulk_tokens, hash only (pre-made shingles, 1 thread)',
    best(lambda: textreuse.MinHash.bulk_tokens(pre, threads=1)))
try:
    from datasketch import MinHash as DMinHash

    def ds(tokenize):
        for k, t in enumerate(texts):
            m = DMinHash(num_perm=128)
            m.update_batch([s.encode('utf-8') for s in shingles(t)] if tokenize else pre_bytes[k])
            m.digest()

    row('datasketch MinHash (tokenize + update_batch)', best(lambda: ds(True)))
    row('datasketch MinHash, hash only (pre-made shingles)', best(lambda: ds(False)))
except ImportError:
    pass
try:
    from rensa import RMinHash

    def rs(tokenize):
        for k, t in enumerate(texts):
            m = RMinHash(num_perm=128, seed=42)
            m.update(shingles(t) if tokenize else pre[k])
            m.digest()

    row('rensa RMinHash (tokenize + update)', best(lambda: rs(True)))
    row('rensa RMinHash, hash only (pre-made shingles)', best(lambda: rs(False)))
except ImportError:
    pass
print(json.dumps({'documents': len(texts), 'mb': mb, 'rows': rows}))
