#!/usr/bin/env python3
"""Out-of-core `passages` and `substrings` (issue 13) on the scale corpus: wall time, CPU, peak RSS and disk.

Usage:
    python3 bench/run_ooc.py SCALE_DIR --bin NEW_BINARY [--base BASE_BINARY] [--memory-mb 2000]
        [--fractions 1/8,1/4,1/2,all] [--substrings] --out results-ooc.json

Every run goes through the shared lock `/work/notes/heavy.lock` when it exists (`flock`), under `/usr/bin/time -v`
(wall, user + system CPU, peak RSS). `--base` runs the in-memory job of another binary (the baseline) on all of
the corpus once; its outputs are compared byte for byte with the budgeted run's. Disk used is what the run wrote
to its spill files (`summary.json`'s `spill`, an upper bound of its peak, since postings files are truncated as
they are read). Fractions are whole shards (1/8 = the first shard of eight).
"""
import argparse
import filecmp
import glob
import json
import os
import re
import subprocess
import tempfile

LOCK = '/work/notes/heavy.lock'


def timed(cmd):
    """Runs cmd under /usr/bin/time -v (and the heavy lock when present); returns wall s, CPU s, peak RSS MB."""
    full = ['/usr/bin/time', '-v'] + cmd
    if os.path.exists(os.path.dirname(LOCK)):
        full = ['flock', LOCK] + full
    p = subprocess.run(full, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f'failed: {" ".join(cmd)}\n{p.stderr[-3000:]}')
    err = p.stderr
    wall = re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)', err).group(1)
    parts = [float(x) for x in wall.split(':')]
    wall_s = sum(v * 60 ** (len(parts) - 1 - k) for k, v in enumerate(parts))
    cpu = float(re.search(r'User time \(seconds\): (\S+)', err).group(1)) + float(
        re.search(r'System time \(seconds\): (\S+)', err).group(1))
    rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', err).group(1)) / 1024
    return wall_s, cpu, rss


def shards(scale, frac):
    files = sorted(glob.glob(os.path.join(scale, 'shard-*.jsonl.zst')))
    if frac == 'all':
        return files
    num, den = (int(x) for x in frac.split('/'))
    return files[:max(1, len(files) * num // den)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('scale')
    ap.add_argument('--bin', required=True)
    ap.add_argument('--base')
    ap.add_argument('--memory-mb', type=int, default=2000)
    ap.add_argument('--fractions', default='all')
    ap.add_argument('--substrings', action='store_true')
    ap.add_argument('--work', default=None, help='directory for the outputs (default: a temporary one)')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix='ooc-')
    res = {'scale': a.scale, 'memory_mb': a.memory_mb, 'runs': []}
    mb = lambda files: sum(os.path.getsize(f) for f in files) / 1e6

    def record(row):
        res['runs'].append(row)
        print(json.dumps(row), flush=True)
        with open(a.out, 'w') as f:
            json.dump(res, f, indent=1)

    for frac in [f for f in a.fractions.split(',') if f]:
        files = shards(a.scale, frac)
        out = os.path.join(work, f'passages-{frac.replace("/", "_")}')
        wall, cpu, rss = timed([a.bin, 'passages', *files, '--out', out, '--quiet', '--memory-mb', str(a.memory_mb)])
        s = json.load(open(os.path.join(out, 'summary.json')))
        sp = s.get('spill') or {}
        disk = sum(sp.get(k, 0) for k in ('units_bytes', 'texts_bytes', 'postings_bytes', 'pair_runs_bytes'))
        record({'job': 'passages', 'fraction': frac, 'zst_mb': round(mb(files)), 'budget_mb': a.memory_mb,
                'documents': s['documents'], 'units': s['units'], 'candidate_pairs': s['candidate_pairs'],
                'alignments': s['alignments'], 'wall_s': wall, 'cpu_s': cpu, 'peak_rss_mb': round(rss),
                'disk_mb': round(disk / 1e6), 'spill': sp, 'stages': s.get('stages')})
        if frac == 'all' and a.base:
            base_out = os.path.join(work, 'passages-base')
            wall, cpu, rss = timed([a.base, 'passages', *files, '--out', base_out, '--quiet'])
            same = all(filecmp.cmp(os.path.join(out, f), os.path.join(base_out, f), shallow=False)
                       for f in ('alignments.jsonl', 'passages.jsonl'))
            record({'job': 'passages', 'fraction': frac, 'binary': 'base (in memory)', 'wall_s': wall,
                    'cpu_s': cpu, 'peak_rss_mb': round(rss), 'outputs_identical_to_budgeted': same})
    if a.substrings:
        files = shards(a.scale, 'all')
        out = os.path.join(work, 'substrings-all')
        wall, cpu, rss = timed([a.bin, 'substrings', *files, '--out', out, '--quiet', '--memory-mb', str(a.memory_mb)])
        s = json.load(open(os.path.join(out, 'summary.json')))
        record({'job': 'substrings', 'fraction': 'all', 'budget_mb': a.memory_mb, 'units': s['units'],
                'duplicate_spans': s['duplicate_spans'], 'duplicate_fraction': s['duplicate_fraction'],
                'wall_s': wall, 'cpu_s': cpu, 'peak_rss_mb': round(rss), 'spill': s.get('spill'),
                'stages': s.get('stages')})


if __name__ == '__main__':
    main()
