#!/usr/bin/env python3
"""Document-level benchmark of `textreuse dedup`, side by side with datasketch, in one session.

Quality and speed on ../shared/bench/zh-dev (scored with ../shared/bench/score.py), then scale on a ~1 GB corpus
concatenated from ../shared/corpora (bench/.data/scale-1g.jsonl, made by make_scale_corpus.py), with a growth curve
over 1/8, 1/4, 1/2 and all of it. Wall time and peak RSS come from /usr/bin/time -v; speed ratios are medians of
runs made here, in this session. Writes bench/results-dedup.json and the dedup section of bench/RESULTS.md.

usage: bench/run_dedup.py [--runs N] [--skip-scale] [--skip-anchors]
"""
import argparse, json, os, platform, re, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.normpath(os.path.join(ROOT, '..', 'shared'))
ZH_DEV = os.path.join(SHARED, 'bench', 'zh-dev')
BIN = os.path.join(ROOT, 'target', 'release', 'textreuse')
VENV_PY = os.path.join(HERE, '.venv', 'bin', 'python')


def timed(cmd, **kw):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MB, completed process)."""
    with tempfile.NamedTemporaryFile('r', suffix='.time') as tf:
        p = subprocess.run(['/usr/bin/time', '-v', '-o', tf.name] + cmd, capture_output=True, text=True, **kw)
        out = open(tf.name).read()
    if p.returncode != 0:
        sys.exit(f'failed: {" ".join(cmd)}\n{p.stderr[-2000:]}')
    wall = re.search(r'Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)', out)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', out).group(1)) / 1024
    return seconds, rss, p


def heldout(seed):
    """A benchmark built like zh-dev from other articles (make_bench.py --seed SEED over ../shared/corpora's Chinese
    news), under bench/.data; returns its directory."""
    d = os.path.join(HERE, '.data', f'heldout{seed}')
    if not os.path.exists(os.path.join(d, 'corpus.jsonl')):
        srcs = []
        for name in ['chinanews-2018', 'xwlb-2022-2026']:
            out = os.path.join(HERE, '.data', name + '.jsonl')
            if not os.path.exists(out):
                with open(out + '.tmp', 'wb') as f:
                    subprocess.run(['zstd', '-dc', os.path.join(SHARED, 'corpora', name + '.jsonl.zst')], stdout=f, check=True)
                os.replace(out + '.tmp', out)
            srcs.append(out)
        subprocess.run([VENV_PY, os.path.join(SHARED, 'bench', 'make_bench.py'), *srcs, '--out', d, '--seed', str(seed)],
                       check=True, capture_output=True)
    return d


def scale_corpus():
    """The ~1 GB scale corpus under bench/.data, built on first use."""
    big = os.path.join(HERE, '.data', 'scale-1g.jsonl')
    if not os.path.exists(big):
        subprocess.run([sys.executable, os.path.join(HERE, 'make_scale_corpus.py'), big], check=True)
    return big


def prefix(name, max_bytes):
    """The first whole lines of the scale corpus up to max_bytes, as bench/.data/NAME (made once)."""
    big = scale_corpus()
    part = os.path.join(HERE, '.data', name)
    if max_bytes >= os.path.getsize(big):
        return big
    if not os.path.exists(part):
        with open(big, 'rb') as src, open(part + '.tmp', 'wb') as dst:
            n = 0
            for line in src:
                if n >= max_bytes:
                    break
                dst.write(line)
                n += len(line)
        os.replace(part + '.tmp', part)
    return part


def fraction(frac):
    """1/frac of the scale corpus (all of it for frac 1)."""
    return prefix(f'scale-1g-1of{frac}.jsonl', os.path.getsize(scale_corpus()) // frac)


def score(clusters, bench=None):
    p = subprocess.run([sys.executable, os.path.join(SHARED, 'bench', 'score.py'), bench or ZH_DEV, '--clusters', clusters],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout)['documents']


def median_run(cmd, runs):
    walls, rss = [], []
    for _ in range(runs):
        w, r, _ = timed(cmd)
        walls.append(w)
        rss.append(r)
    return statistics.median(walls), max(rss), walls


def machine():
    cpu = ''
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    mem = ''
    try:
        mem = f"{int(open('/proc/meminfo').readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {'nproc': os.cpu_count(), 'cpu': cpu, 'memory': mem, 'date': time.strftime('%Y-%m-%d'), 'commit': commit,
            'platform': platform.platform()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--skip-scale', action='store_true')
    ap.add_argument('--skip-anchors', action='store_true')
    args = ap.parse_args()
    if not os.path.isdir(ZH_DEV):
        sys.exit(f'{ZH_DEV} is absent: the benchmark needs ../shared')
    subprocess.run(['cargo', 'build', '--release', '-q', '-p', 'textreuse-cli'], cwd=ROOT, check=True)
    corpus = os.path.join(ZH_DEV, 'corpus.jsonl')
    res = {'machine': machine(), 'zh_dev': {}, 'scale': []}
    work = tempfile.mkdtemp(prefix='textreuse-bench-')

    # Ours on zh-dev, default settings.
    out = os.path.join(work, 'ours')
    cmd = [BIN, 'dedup', corpus, '--out', out, '--quiet']
    wall, rss, walls = median_run(cmd, args.runs)
    ours = {'tool': 'textreuse dedup (defaults)', 'wall_s': wall, 'walls': walls, 'rss_mb': rss,
            **score(os.path.join(out, 'clusters.jsonl'))}
    summary = json.load(open(os.path.join(out, 'summary.json')))
    ours['stages'] = summary['stages']
    res['zh_dev']['ours'] = ours
    one = os.path.join(work, 'ours1')
    w1, r1, _ = median_run([BIN, 'dedup', corpus, '--out', one, '--quiet', '--threads', '1'], args.runs)
    res['zh_dev']['ours_1thread'] = {'tool': 'textreuse dedup, 1 thread', 'wall_s': w1, 'rss_mb': r1,
                                     **score(os.path.join(one, 'clusters.jsonl'))}

    # Anchors, same corpus, same session.
    if not args.skip_anchors:
        if not os.path.exists(VENV_PY):
            subprocess.run([sys.executable, '-m', 'venv', os.path.join(HERE, '.venv')], check=True)
        subprocess.run([VENV_PY, '-m', 'pip', 'install', '-q', 'datasketch==2.0.0', 'opencc-python-reimplemented==0.1.7'],
                       check=True)
        for key, label, extra in [
            ('datasketch_opencc', 'datasketch MinHashLSH + OpenCC t2s', ['--opencc']),
            ('datasketch', 'datasketch MinHashLSH, no script conversion', []),
            ('textdedup_w', "text-dedup style \\W tokens (datasketch, t=0.7)", ['--tokens-w', '--threshold', '0.7']),
        ]:
            pred = os.path.join(work, key + '.jsonl')
            runs = 3 if key == 'datasketch_opencc' else 1
            w, r, ws = median_run([VENV_PY, os.path.join(HERE, 'datasketch_dedup.py'), corpus, pred] + extra, runs)
            res['zh_dev'][key] = {'tool': label, 'wall_s': w, 'walls': ws, 'rss_mb': r, **score(pred)}
        # gaoya (Rust MinHash LSH), as a dev-dependency of the anchor example in bench/gaoya.
        gaoya_target = os.path.join(ROOT, 'target', 'gaoya')
        subprocess.run(['cargo', 'build', '--release', '-q', '--example', 'gaoya_dedup'], cwd=os.path.join(HERE, 'gaoya'),
                       env={**os.environ, 'CARGO_TARGET_DIR': gaoya_target}, check=True)
        gaoya = os.path.join(gaoya_target, 'release', 'examples', 'gaoya_dedup')
        for key, label, extra in [('gaoya_t2s', 'gaoya MinHashLSH, char 5-grams, textreuse normalization (t2s)', ['--t2s']),
                                  ('gaoya', 'gaoya MinHashLSH, char 5-grams, no script conversion', [])]:
            pred = os.path.join(work, key + '.jsonl')
            w, r, ws = median_run([gaoya, corpus, pred] + extra, 3)
            res['zh_dev'][key] = {'tool': label, 'wall_s': w, 'walls': ws, 'rss_mb': r, **score(pred)}

    # Held-out benchmarks built the same way from other articles: ours and the best anchor.
    res['heldout'] = []
    if not args.skip_anchors:
        for seed in [11, 23]:
            d = heldout(seed)
            out = os.path.join(work, f'heldout{seed}')
            w, _, _ = timed([BIN, 'dedup', os.path.join(d, 'corpus.jsonl'), '--out', out, '--quiet'])
            ours_h = score(os.path.join(out, 'clusters.jsonl'), d)
            pred = os.path.join(work, f'heldout{seed}-ds.jsonl')
            wd, _, _ = timed([VENV_PY, os.path.join(HERE, 'datasketch_dedup.py'), os.path.join(d, 'corpus.jsonl'), pred, '--opencc'])
            res['heldout'].append({'seed': seed, 'ours': ours_h, 'ours_wall_s': w, 'datasketch_opencc': score(pred, d),
                                   'datasketch_wall_s': wd})

    # Scale: ~1 GB and its fractions.
    if not args.skip_scale:
        for frac in [8, 4, 2, 1]:
            part = fraction(frac)
            out = os.path.join(work, f'scale{frac}')
            w, r, _ = timed([BIN, 'dedup', part, '--out', out, '--quiet'])
            s = json.load(open(os.path.join(out, 'summary.json')))
            res['scale'].append({'fraction': f'1/{frac}' if frac != 1 else 'all', 'bytes': os.path.getsize(part),
                                 'documents': s['documents'], 'wall_s': w, 'rss_mb': r,
                                 'mb_per_s': os.path.getsize(part) / 1e6 / w, 'removed': s['documents_removed'],
                                 'candidate_pairs': s['candidate_pairs'], 'spilled_bytes': s['spilled_bytes'],
                                 'stages': s['stages']})
    json.dump(res, open(os.path.join(HERE, 'results-dedup.json'), 'w'), indent=1)
    write_markdown(res)
    print(open(os.path.join(HERE, 'RESULTS.md')).read())


def write_markdown(res):
    m = res['machine']
    z = res['zh_dev']
    ours = z['ours']
    lines = ['## dedup: document-level near-duplicates', '',
             f"Machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}; date {m['date']}; commit {m['commit']}. "
             'Produced by `bench/run_dedup.py` (called by `bench/run.sh`). Wall time and peak RSS from '
             '`/usr/bin/time -v`; ours is the median of several runs; every row ran in this one session.', '',
             '### Quality and speed on zh-dev (3,657 documents, 5.1 M characters)', '',
             '| tool | pair P | pair R | pair F1 | ARI | wall (s) | speed-up vs this tool | peak RSS (MB) |',
             '|---|---|---|---|---|---|---|---|']
    for key in ['ours', 'ours_1thread', 'datasketch_opencc', 'datasketch', 'textdedup_w', 'gaoya_t2s', 'gaoya']:
        if key not in z:
            continue
        r = z[key]
        ratio = r['wall_s'] / ours['wall_s']
        lines.append(f"| {r['tool']} | {r['pair_precision']:.4f} | {r['pair_recall']:.4f} | {r['pair_f1']:.4f} | "
                     f"{r['ari']:.4f} | {r['wall_s']:.2f} | {ratio:.1f}× | {r['rss_mb']:.0f} |")
    lines += ['', 'The speed-up column is this row\'s wall time over ours (defaults, all cores).', '']
    if res.get('heldout'):
        lines += ['### Held-out benchmarks (make_bench.py over ../shared/corpora, seeds 11 and 23, built here; defaults were not fitted to them, but they were consulted once, with zh-dev, to check the partial-reprint rule)', '',
                  '| benchmark | tool | pair P | pair R | pair F1 | wall (s) |', '|---|---|---|---|---|---|']
        for h in res['heldout']:
            for key, label, wall in [('ours', 'textreuse dedup', h['ours_wall_s']),
                                     ('datasketch_opencc', 'datasketch + OpenCC', h['datasketch_wall_s'])]:
                r = h[key]
                lines.append(f"| seed {h['seed']} | {label} | {r['pair_precision']:.4f} | {r['pair_recall']:.4f} | "
                             f"{r['pair_f1']:.4f} | {wall:.2f} |")
        lines.append('')
    lines += [
              'Per stage on zh-dev (CPU seconds summed over threads for the fused fingerprint stages):', '',
              '| stage | seconds | MB/s |', '|---|---|---|']
    for k, v in ours['stages'].items():
        sec = v.get('cpu_seconds', v['wall_seconds'])
        mbs = f"{v['mb_per_second']:.0f}" if v.get('mb_per_second') else ''
        lines.append(f'| {k} | {sec:.3f} | {mbs} |')
    if res['scale']:
        lines += ['', '### Scale: corpora of ../shared/corpora concatenated to ~1 GB (`bench/make_scale_corpus.py`)', '',
                  '| part | MB | documents | wall (s) | MB/s | peak RSS (MB) | removed | candidate pairs | spilled (MB) |',
                  '|---|---|---|---|---|---|---|---|---|']
        for s in res['scale']:
            lines.append(f"| {s['fraction']} | {s['bytes'] / 1e6:.0f} | {s['documents']} | {s['wall_s']:.1f} | "
                         f"{s['mb_per_s']:.0f} | {s['rss_mb']:.0f} | {s['removed']} | {s['candidate_pairs']} | "
                         f"{s['spilled_bytes'] / 1e6:.0f} |")
        full = res['scale'][-1]
        lines += ['', 'Per stage on the full ~1 GB run:', '', '| stage | seconds | MB/s |', '|---|---|---|']
        for k, v in full['stages'].items():
            sec = v.get('cpu_seconds', v['wall_seconds'])
            mbs = f"{v['mb_per_second']:.0f}" if v.get('mb_per_second') else ''
            lines.append(f'| {k} | {sec:.2f} | {mbs} |')
    replace_section('## dedup:', '\n'.join(lines) + '\n')


def replace_section(heading, section):
    """Replaces the section of bench/RESULTS.md that starts with `heading` (or appends it), atomically."""
    path = os.path.join(HERE, 'RESULTS.md')
    old = open(path).read() if os.path.exists(path) else '# Benchmark results\n\n'
    start = old.find(heading)
    if start < 0:
        new = old.rstrip('\n') + '\n\n' + section
    else:
        end = old.find('\n## ', start + 1)
        new = old[:start] + section + ('\n' + old[end + 1:] if end >= 0 else '')
    with open(path + '.tmp', 'w') as f:
        f.write(new)
    os.replace(path + '.tmp', path)

if __name__ == '__main__':
    main()
