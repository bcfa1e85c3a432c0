#!/usr/bin/env python3
"""MinHash signature throughput on the texts of a JSONL corpus: textreuse.MinHash against datasketch's MinHash and
rensa's RMinHash (when installed), 128 permutations each. The anchors get the tokenization their users write (NFKC,
lower-case, punctuation and whitespace removed, character 5-grams; no traditional→simplified conversion, which
textreuse does and they do not); "hash only" rows time their hashing of pre-made shingles alone. Rounds run every
implementation once each (after one warm-up call), medians of wall and CPU (process) seconds. Prints JSON.

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


cases = []  # (name, function): run round by round, each once per round, so that all see the same load


def row(name, f):
    cases.append((name, f))


import textreuse  # noqa: E402

row('textreuse MinHash.bulk (all cores; normalize + shingle + signature)', lambda: textreuse.MinHash.bulk(texts))
row('textreuse MinHash.bulk, 1 thread', (lambda: textreuse.MinHash.bulk(texts, threads=1)))
row('textreuse MinHash(text) per document, 1 thread', (lambda: [textreuse.MinHash(t).digest() for t in texts]))

pre = [shingles(t) for t in texts]
pre_bytes = [[s.encode('utf-8') for s in sh] for sh in pre]
row('textreuse MinHash.bulk_tokens, hash only (pre-made shingles, all cores)',
    (lambda: textreuse.MinHash.bulk_tokens(pre)))
row('textreuse MinHash.bulk_tokens, hash only (pre-made shingles, 1 thread)',
    (lambda: textreuse.MinHash.bulk_tokens(pre, threads=1)))
try:
    from datasketch import MinHash as DMinHash

    def ds(tokenize):
        for k, t in enumerate(texts):
            m = DMinHash(num_perm=128)
            m.update_batch([s.encode('utf-8') for s in shingles(t)] if tokenize else pre_bytes[k])
            m.digest()

    row('datasketch MinHash (tokenize + update_batch)', (lambda: ds(True)))
    row('datasketch MinHash, hash only (pre-made shingles)', (lambda: ds(False)))
except ImportError:
    pass
try:
    from rensa import RMinHash

    def rs(tokenize):
        for k, t in enumerate(texts):
            m = RMinHash(num_perm=128, seed=42)
            m.update(shingles(t) if tokenize else pre[k])
            m.digest()

    row('rensa RMinHash (tokenize + update)', (lambda: rs(True)))
    row('rensa RMinHash, hash only (pre-made shingles)', (lambda: rs(False)))
except ImportError:
    pass
walls = {name: [] for name, _ in cases}
cpus = {name: [] for name, _ in cases}
for name, f in cases:
    f()  # warm-up: imports, CPython's UTF-8 caches of the tokens, allocator
for _ in range(args.repeat):
    for name, f in cases:
        w, c = time.perf_counter(), time.process_time()
        f()
        walls[name].append(time.perf_counter() - w)
        cpus[name].append(time.process_time() - c)
rows = []
for name, _ in cases:
    seconds = statistics.median(walls[name])
    rows.append({'name': name, 'seconds': seconds, 'cpu_seconds': statistics.median(cpus[name]),
                 'docs_per_s': len(texts) / seconds, 'mb_per_s': mb / seconds})
print(json.dumps({'documents': len(texts), 'mb': mb, 'rows': rows}))
