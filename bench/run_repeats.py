#!/usr/bin/env python3
"""Benchmark of `repeats`, `boilerplate` and `substrings` on zh-dev and on 100 MB of ../shared/corpora (the first
100 MB, in file name order, bench/.data/scale-prefix-100mb.jsonl): wall time, peak RSS and what each finds or removes.
Writes the repeats section of bench/RESULTS.md and bench/results-repeats.json.

usage: bench/run_repeats.py
"""
import json, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_dedup import BIN, HERE, ZH_DEV, machine, prefix, timed, replace_section  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix='textreuse-bench-repeats-')
    rows = []
    for name, corpus in [('zh-dev', os.path.join(ZH_DEV, 'corpus.jsonl')), ('100 MB of corpora', prefix('scale-prefix-100mb.jsonl', 100_000_000))]:
        mb = os.path.getsize(corpus) / 1e6
        for job, extra, what in [
            ('repeats', ['--strip'], lambda s: f"{s['documents_with_repeats']} documents with repeats, "
                                               f"{s['stripped_chars']} characters stripped"),
            ('boilerplate', [], lambda s: f"{s['boilerplate']} boilerplate segments of {s['distinct_segments']}"),
            ('substrings', ['--remove'], lambda s: f"{s['duplicate_fraction'] * 100:.2f}% of units in "
                                                   f"{s['duplicate_spans']} repeated spans (≥ 50 units), removed"),
        ]:
            out = os.path.join(work, f'{job}-{len(rows)}')
            w, r, _ = timed([BIN, job, corpus, '--out', out, '--quiet', *extra])
            s = json.load(open(os.path.join(out, 'summary.json')))
            rows.append({'corpus': name, 'mb': mb, 'job': job, 'wall_s': w, 'rss_mb': r, 'result': what(s)})
    res = {'machine': machine(), 'rows': rows}
    json.dump(res, open(os.path.join(HERE, 'results-repeats.json'), 'w'), indent=1)
    m = res['machine']
    lines = ['## repeats, boilerplate, substrings', '',
             f"Machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}; date {m['date']}; commit {m['commit']}. "
             'Produced by `bench/run_repeats.py` (called by `bench/run.sh`).', '',
             '| corpus | MB | job | wall (s) | peak RSS (MB) | RSS per input MB | result |', '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['corpus']} | {r['mb']:.0f} | {r['job']} | {r['wall_s']:.2f} | {r['rss_mb']:.0f} | "
                     f"{r['rss_mb'] / r['mb']:.1f} | {r['result']} |")
    lines += ['', '`substrings` keeps the whole corpus in memory (libsais\'s suffix array and permuted LCP array over the '
              'unit symbols, 12 bytes per unit while sorting, then 16 bytes per unit); it writes nothing to disk but its '
              'outputs. Peak memory per GB of input is the last column '
              'times 1000; `--shard-units` cuts corpora beyond memory into shards, which misses repeats across shards.']
    replace_section('## repeats, boilerplate, substrings', '\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
