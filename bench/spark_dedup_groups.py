#!/usr/bin/env python3
"""A model of how many texts textreuse.spark's dedup verification ships, without Spark: over JSONL files (one or
more, concatenated in order), the same candidate pairs as the job (LSH buckets of `spark_fingerprints`' band keys,
each member paired with the next `max_bucket` = 256), their connected components, and the groups the job verifies
them in (a component of at most `LOCAL_VERIFY_DOCS` = 2,000 documents is one group; a larger one's pairs go to
the smallest (band, bucket key, first position div 2,000) they were found in). Prints the (document, group) rows and
their UTF-8 bytes against one copy of both texts per candidate pair. Exact duplicates are not folded (the job
leaves them out of LSH), so the counts are a little above the job's.

    PYTHON_WITH_TEXTREUSE bench/spark_dedup_groups.py SHARD.jsonl [MORE.jsonl ...]
"""
import collections
import json
import sys

from textreuse import _textreuse as N

W, CAP = 256, 2000  # max_bucket, LOCAL_VERIFY_DOCS
texts = []
for p in sys.argv[1:]:
    texts += [json.loads(l)['text'] for l in open(p)]
tb = [len(t.encode()) for t in texts]
fps = N.spark_fingerprints(texts)
docs = [i for i, f in enumerate(fps) if f is not None]
buckets = collections.defaultdict(list)
for d in docs:
    for b, k in enumerate(fps[d][3]):
        buckets[(b, k)].append(d)
g = {}
for (b, k), ms in buckets.items():
    if len(ms) < 2:
        continue
    ms.sort()
    for i, x in enumerate(ms):
        key = (b, k, i // CAP)
        for y in ms[i + 1:i + 1 + W]:
            p = (x, y)
            if p not in g or key < g[p]:
                g[p] = key
par = {}
def f(x):
    while par.get(x, x) != x:
        par[x] = par.get(par[x], par[x]); x = par[x]
    return x
for a, b in g:
    ra, rb = f(a), f(b)
    if ra != rb:
        par[max(ra, rb)] = min(ra, rb)
comp = collections.Counter(f(d) for d in {x for p in g for x in p})
mem = set()
for (a, b), key in g.items():
    grp = ('c', f(a)) if comp[f(a)] <= CAP else key
    mem.add((a, grp)); mem.add((b, grp))
indocs = {d for d, _ in mem}
print(f"docs {len(docs)} text {sum(tb)/1e6:.0f} MB pairs {len(g)} largest components {sorted(comp.values(), reverse=True)[:3]}")
print(f"(doc, group) rows {len(mem)} = {len(mem)/len(indocs):.2f} per document in a pair; bytes {sum(tb[d] for d, _ in mem)/1e6:.0f} MB"
      f" vs per-pair texts {sum(tb[a]+tb[b] for a, b in g)/1e6:.0f} MB")
