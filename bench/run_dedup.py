#!/usr/bin/env python3
"""Document-level benchmark of `textreuse dedup`, side by side with the anchors, in one session.

Anchors: datasketch and rensa (a Rust MinHash with Python bindings), each with the C++ OpenCC binding (PyPI `opencc`,
in bench/.venv-cpp: the stack a user who wants speed in Python picks), and datasketch with the pure-Python
opencc-python-reimplemented (bench/.venv), plus gaoya (Rust). Quality and speed on ../shared/bench/zh-dev (scored
with ../shared/bench/score.py); then time, memory and MB/s on the whole of ../shared/corpora and on the 1 GB scale
corpus (noisy reprints, bench/.data/scale-1g/, made by make_scale_corpus.py), with a growth curve over 1/8, 1/4, 1/2
and all of it (whole shards). Wall time, CPU time and peak RSS come from /usr/bin/time -v; ours and the anchors run
interleaved, round after round, and each row is the median of its rounds. Writes bench/results-dedup.json and the
dedup section of bench/RESULTS.md.

usage: bench/run_dedup.py [--runs N] [--scale-runs N] [--skip-scale] [--skip-anchors] [--render-only] [--resume]
"""
import argparse, json, os, platform, re, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.normpath(os.path.join(ROOT, '..', 'shared'))
ZH_DEV = os.path.join(SHARED, 'bench', 'zh-dev')
BIN = os.path.join(ROOT, 'target', 'release', 'textreuse')
VENV_PY = os.path.join(HERE, '.venv', 'bin', 'python')  # datasketch + pure-Python OpenCC (make_bench.py needs it)
VENV_CPP = os.path.join(HERE, '.venv-cpp', 'bin', 'python')  # datasketch, rensa, C++ OpenCC, zstandard
PINS = {VENV_PY: ['datasketch==2.0.0', 'opencc-python-reimplemented==0.1.7'],
        VENV_CPP: ['datasketch==2.0.0', 'rensa==0.5.0', 'opencc==1.4.2', 'zstandard==0.25.0']}
# rensa's LSH bands, tuned for its best pair F1 on zh-dev (bench/RESULTS.md lists the sweep): 32 bands of 4 rows
# without verification; 64 bands of 2 rows with an estimated-Jaccard check >= 0.4 of every candidate.
RENSA = ['--bands', '32']
RENSA_VERIFY = ['--bands', '64', '--verify', '0.4']
SCALE_DIR = os.path.join(HERE, '.data', 'scale-1g')


def ensure_venvs():
    """Creates bench/.venv and bench/.venv-cpp (two, since both OpenCC packages install the module `opencc`) with
    the pinned anchors."""
    for py, pins in PINS.items():
        if not os.path.exists(py):
            subprocess.run([sys.executable, '-m', 'venv', os.path.dirname(os.path.dirname(py))], check=True)
        subprocess.run([py, '-m', 'pip', 'install', '-q', *pins], check=True)


def timed(cmd, **kw):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MB, completed process); the process's CPU
    seconds (user + system) are in its attribute cpu_s."""
    with tempfile.NamedTemporaryFile('r', suffix='.time') as tf:
        p = subprocess.run(['/usr/bin/time', '-v', '-o', tf.name] + cmd, capture_output=True, text=True, **kw)
        out = open(tf.name).read()
    if p.returncode != 0:
        sys.exit(f'failed: {" ".join(cmd)}\n{p.stderr[-2000:]}')
    wall = re.search(r'Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)', out)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', out).group(1)) / 1024
    p.cpu_s = sum(float(re.search(rf'{k} time \(seconds\): ([\d.]+)', out).group(1)) for k in ['User', 'System'])
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
    """The 1 GB scale corpus (bench/.data/scale-1g/: 8 shards of 125 MB, seed 1), built on first use; returns its
    manifest."""
    manifest = os.path.join(SCALE_DIR, 'manifest.json')
    if not os.path.exists(manifest):
        ensure_venvs()
        subprocess.run([VENV_CPP, os.path.join(HERE, 'make_scale_corpus.py'), SCALE_DIR, '--size-mb', '1000',
                        '--seed', '1'], check=True)
    return json.load(open(manifest))


def fraction(frac):
    """The first 1/frac of the scale corpus's shards (all of them for frac 1): (shard paths, uncompressed bytes,
    documents)."""
    shards = scale_corpus()['shards']
    part = shards[:max(1, len(shards) // frac)]
    return ([os.path.join(SCALE_DIR, s['shard']) for s in part], sum(s['bytes'] for s in part),
            sum(s['documents'] for s in part))


def corpora():
    """The three .jsonl.zst files of ../shared/corpora and their uncompressed size in bytes."""
    paths = sorted(os.path.join(SHARED, 'corpora', f) for f in os.listdir(os.path.join(SHARED, 'corpora'))
                   if f.endswith('.jsonl.zst'))
    size = 0
    for path in paths:
        with subprocess.Popen(['zstd', '-dcq', path], stdout=subprocess.PIPE) as p:
            while chunk := p.stdout.read(1 << 20):
                size += len(chunk)
    return paths, size


def prefix(name, max_bytes):
    """The first whole lines of ../shared/corpora (in file name order) up to max_bytes, as bench/.data/NAME (made
    once)."""
    part = os.path.join(HERE, '.data', name)
    if not os.path.exists(part):
        os.makedirs(os.path.dirname(part), exist_ok=True)
        n = 0
        with open(part + '.tmp', 'wb') as dst:
            for path in corpora()[0]:
                with subprocess.Popen(['zstd', '-dcq', path], stdout=subprocess.PIPE) as p:
                    for line in p.stdout:
                        if n >= max_bytes:
                            break
                        dst.write(line)
                        n += len(line)
                    p.stdout.close()
                if n >= max_bytes:
                    break
        os.replace(part + '.tmp', part)
    return part


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


def interleaved(cmds, log=None, prior=None):
    """Runs every command of cmds ({key: (argv, rounds)}), round after round (round i runs each command that has
    more than i rounds), so that ours and the anchors see the same load; returns {key: {wall_s (median), walls,
    cpu_s (median), cpus, rss_mb (max), rss}}. prior ({key: {walls, cpus, rss}}, from an interrupted session of
    the same day, `--resume`) counts as the first rounds."""
    got = {k: {'walls': [], 'cpus': [], 'rss': []} for k in cmds}
    for k, v in (prior or {}).items():
        if k in got:
            got[k] = {f: list(v[f]) for f in ('walls', 'cpus', 'rss')}
    for i in range(max(n for _, n in cmds.values())):
        for key, (argv, n) in cmds.items():
            if len(got[key]['walls']) <= i < n:
                w, r, p = timed(argv)
                got[key]['walls'].append(w)
                got[key]['cpus'].append(p.cpu_s)
                got[key]['rss'].append(r)
                if log:
                    print(f'{log} round {i + 1}: {key} {w:.2f} s wall, {p.cpu_s:.2f} s CPU, {r:.0f} MB', file=sys.stderr)
    return {k: {'wall_s': statistics.median(v['walls']), 'walls': v['walls'], 'cpu_s': statistics.median(v['cpus']),
                'cpus': v['cpus'], 'rss_mb': max(v['rss']), 'rss': v['rss']} for k, v in got.items()}


def load():
    """The 1-minute load average (other engineers share these cores)."""
    try:
        return float(open('/proc/loadavg').read().split()[0])
    except OSError:
        return None


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


LABELS = {
    'ours': 'textreuse dedup (defaults, 2 threads)',
    'ours_1thread': 'textreuse dedup, 1 thread',
    'rensa_cpp': 'rensa RMinHashLSH 32×4 + C++ OpenCC t2s',
    'rensa_cpp_verify': 'rensa RMinHashLSH 64×2 + C++ OpenCC t2s, estimated Jaccard ≥ 0.4',
    'datasketch_cpp': 'datasketch MinHashLSH + C++ OpenCC t2s',
    'datasketch_opencc': 'datasketch MinHashLSH + pure-Python OpenCC t2s (opencc-python-reimplemented)',
    'datasketch': 'datasketch MinHashLSH, no script conversion',
    'textdedup_w': 'text-dedup style \\W tokens (datasketch, t=0.7)',
    'gaoya_t2s': 'gaoya MinHashLSH, char 5-grams, textreuse normalization (t2s)',
    'gaoya': 'gaoya MinHashLSH, char 5-grams, no script conversion',
}
RENSA_SWEEP = [[], ['--bands', '8'], ['--bands', '16'], ['--bands', '64'], ['--bands', '16', '--verify', '0.4'],
               ['--bands', '32', '--verify', '0.4'], ['--bands', '64', '--verify', '0.35'],
               ['--bands', '64', '--verify', '0.45']]


def anchor_cmds(inputs, work, tag, ours_runs, anchor_runs, slow_runs, pure=True, gaoya=None, verify_runs=None):
    """{key: (argv, rounds)} for ours and the anchors on inputs; predictions go to work/TAG-KEY(.jsonl). ours_runs
    rounds for ours, anchor_runs for rensa (verify_runs for rensa with its Jaccard check, default anchor_runs),
    slow_runs for datasketch + OpenCC and gaoya."""
    def pred(key):
        return os.path.join(work, f'{tag}-{key}')
    ds = os.path.join(HERE, 'datasketch_dedup.py')
    cmds = {'ours': ([BIN, 'dedup', *inputs, '--out', pred('ours'), '--quiet'], ours_runs),
            'ours_1thread': ([BIN, 'dedup', *inputs, '--out', pred('ours_1thread'), '--quiet', '--threads', '1'],
                             ours_runs)}
    if anchor_runs:
        rensa = os.path.join(HERE, 'rensa_dedup.py')
        cmds['rensa_cpp'] = ([VENV_CPP, rensa, *inputs, pred('rensa_cpp') + '.jsonl', *RENSA], anchor_runs)
        cmds['rensa_cpp_verify'] = ([VENV_CPP, rensa, *inputs, pred('rensa_cpp_verify') + '.jsonl', *RENSA_VERIFY],
                                    verify_runs or anchor_runs)
        cmds['datasketch_cpp'] = ([VENV_CPP, ds, *inputs, pred('datasketch_cpp') + '.jsonl', '--opencc'], slow_runs)
    if anchor_runs and pure:
        cmds['datasketch_opencc'] = ([VENV_PY, ds, *inputs, pred('datasketch_opencc') + '.jsonl', '--opencc'], slow_runs)
        cmds['datasketch'] = ([VENV_PY, ds, *inputs, pred('datasketch') + '.jsonl'], 1)
        cmds['textdedup_w'] = ([VENV_PY, ds, *inputs, pred('textdedup_w') + '.jsonl', '--tokens-w', '--threshold', '0.7'], 1)
    if anchor_runs and gaoya:
        cmds['gaoya_t2s'] = ([gaoya, *inputs, pred('gaoya_t2s') + '.jsonl', '--t2s'], slow_runs)
        cmds['gaoya'] = ([gaoya, *inputs, pred('gaoya') + '.jsonl'], slow_runs)
    return cmds


def prediction(work, tag, key):
    """The clusters file that the command of key wrote."""
    base = os.path.join(work, f'{tag}-{key}')
    return os.path.join(base, 'clusters.jsonl') if key.startswith('ours') else base + '.jsonl'


def cluster_counts(path):
    """(documents, clusters, largest cluster's size) of a {"id", "cluster"} file: documents - clusters is what
    deduplication removes."""
    sizes = {}
    for line in open(path, encoding='utf-8'):
        c = json.loads(line)['cluster']
        sizes[c] = sizes.get(c, 0) + 1
    return sum(sizes.values()), len(sizes), max(sizes.values(), default=0)


def scale_gold():
    """gold_clusters.jsonl of the scale corpus, from the generator's labels (meta.cluster), under bench/.data; its
    directory, for score.py."""
    d = os.path.join(HERE, '.data', 'scale-1g-gold')
    path = os.path.join(d, 'gold_clusters.jsonl')
    if not os.path.exists(path):
        os.makedirs(d, exist_ok=True)
        with open(path + '.tmp', 'w', encoding='utf-8') as out:
            for shard in fraction(1)[0]:
                with subprocess.Popen(['zstd', '-dcq', shard], stdout=subprocess.PIPE) as p:
                    for line in p.stdout:
                        r = json.loads(line)
                        out.write(json.dumps({'id': r['id'], 'cluster': r['meta']['cluster']}) + '\n')
        os.replace(path + '.tmp', path)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=5, help='rounds on zh-dev')
    ap.add_argument('--scale-runs', type=int, default=3, help='rounds on ../shared/corpora and the scale corpus')
    ap.add_argument('--skip-scale', action='store_true')
    ap.add_argument('--skip-anchors', action='store_true')
    ap.add_argument('--render-only', action='store_true', help='rewrite RESULTS.md from bench/results-dedup.json')
    ap.add_argument('--resume', action='store_true',
                    help='keep the sections that bench/results-dedup.json has done (an interrupted session of the same '
                         'day and commit), run the rest')
    args = ap.parse_args()
    if args.render_only:
        write_markdown(json.load(open(os.path.join(HERE, 'results-dedup.json'))))
        return
    if not os.path.isdir(ZH_DEV):
        sys.exit(f'{ZH_DEV} is absent: the benchmark needs ../shared')
    subprocess.run(['cargo', 'build', '--release', '-q', '-p', 'textreuse-cli'], cwd=ROOT, check=True)
    anchors = not args.skip_anchors
    gaoya = None
    if anchors:
        ensure_venvs()
        # gaoya (Rust MinHash LSH), as a dev-dependency of the anchor example in bench/gaoya.
        gaoya_target = os.path.join(ROOT, 'target', 'gaoya')
        subprocess.run(['cargo', 'build', '--release', '-q', '--example', 'gaoya_dedup'], cwd=os.path.join(HERE, 'gaoya'),
                       env={**os.environ, 'CARGO_TARGET_DIR': gaoya_target}, check=True)
        gaoya = os.path.join(gaoya_target, 'release', 'examples', 'gaoya_dedup')
    corpus = os.path.join(ZH_DEV, 'corpus.jsonl')
    results = os.path.join(HERE, 'results-dedup.json')
    if args.resume and os.path.exists(results):
        res = json.load(open(results))
        work = res['work']
    else:
        res = {'machine': machine(), 'load_start': load(), 'zh_dev': {}, 'corpora': {}, 'scale': [],
               'scale_anchors': {}, 'done': []}
        work = res['work'] = tempfile.mkdtemp(prefix='textreuse-bench-')
    sr = args.scale_runs
    big_rounds = dict(ours_runs=sr, anchor_runs=sr if anchors else 0, slow_runs=1, pure=False,
                      verify_runs=max(1, sr - 1))

    def save(section):
        res['done'].append(section)
        res['load_end'] = load()
        json.dump(res, open(results, 'w'), indent=1)
        write_markdown(res)

    # zh-dev: ours and every anchor, interleaved.
    if 'zh_dev' not in res['done']:
        cmds = anchor_cmds([corpus], work, 'zh', args.runs, args.runs if anchors else 0, 3, gaoya=gaoya)
        for key, t in interleaved(cmds, 'zh-dev').items():
            res['zh_dev'][key] = {'tool': LABELS[key], **t, **score(prediction(work, 'zh', key))}
        res['zh_dev']['ours']['stages'] = json.load(open(os.path.join(work, 'zh-ours', 'summary.json')))['stages']
        save('zh_dev')
    if anchors and 'rensa_sweep' not in res['done']:
        # rensa's bands and verification, swept for its best F1 (quality only, one run each)
        res['rensa_sweep'] = []
        for extra in RENSA_SWEEP + [RENSA, RENSA_VERIFY]:
            pred = os.path.join(work, 'rensa-sweep.jsonl')
            w, _, _ = timed([VENV_CPP, os.path.join(HERE, 'rensa_dedup.py'), corpus, pred, *extra])
            res['rensa_sweep'].append({'settings': ' '.join(extra) or 'defaults (--bands 16)', 'wall_s': w,
                                       **score(pred)})
        save('rensa_sweep')

    # Held-out benchmarks built the same way from other articles: ours and the best anchors.
    if anchors and 'heldout' not in res['done']:
        res['heldout'] = []
        for seed in [11, 23]:
            d = heldout(seed)
            cmds = anchor_cmds([os.path.join(d, 'corpus.jsonl')], work, f'h{seed}', 1, 1, 1, pure=False)
            cmds = {k: v for k, v in cmds.items() if k in ('ours', 'rensa_cpp', 'rensa_cpp_verify', 'datasketch_cpp')}
            t = interleaved(cmds, f'held-out {seed}')
            res['heldout'].append({'seed': seed, 'rows': {k: {'tool': LABELS[k], 'wall_s': t[k]['wall_s'],
                                                              **score(prediction(work, f'h{seed}', k), d)}
                                                          for k in cmds}})
        save('heldout')

    if not args.skip_scale and 'corpora' not in res['done']:
        # The whole of ../shared/corpora, read from .zst by every tool.
        paths, size = corpora()
        cmds = anchor_cmds(paths, work, 'corpora', **big_rounds)
        for key, t in interleaved(cmds, 'corpora', res.get('corpora_prior')).items():
            n, c, big = cluster_counts(prediction(work, 'corpora', key))
            res['corpora'][key] = {'tool': LABELS[key], **t, 'bytes': size, 'documents': n, 'removed': n - c,
                                   'largest_cluster': big,
                                   'mb_per_s': size / 1e6 / t['wall_s']}
        save('corpora')
    if not args.skip_scale and 'scale' not in res['done']:
        # The scale corpus: ours on 1/8, 1/4, 1/2 (one run each), then all of it with the anchors, interleaved.
        gold = scale_gold()
        res['scale'] = []
        for frac in [8, 4, 2]:
            part, nbytes, _ = fraction(frac)
            out = os.path.join(work, f'scale{frac}')
            w, r, p = timed([BIN, 'dedup', *part, '--out', out, '--quiet'])
            s = json.load(open(os.path.join(out, 'summary.json')))
            res['scale'].append({'fraction': f'1/{frac}', 'bytes': nbytes, 'documents': s['documents'], 'wall_s': w,
                                 'cpu_s': p.cpu_s, 'rss_mb': r, 'mb_per_s': nbytes / 1e6 / w,
                                 'removed': s['documents_removed'], 'candidate_pairs': s['candidate_pairs'],
                                 'spilled_bytes': s['spilled_bytes'], 'stages': s['stages']})
        part, nbytes, _ = fraction(1)
        cmds = anchor_cmds(part, work, 'scale', **big_rounds)
        for key, t in interleaved(cmds, 'scale 1 GB').items():
            n, c, big = cluster_counts(prediction(work, 'scale', key))
            res['scale_anchors'][key] = {'tool': LABELS[key], **t, 'bytes': nbytes, 'documents': n, 'removed': n - c,
                                         'largest_cluster': big,
                                         'mb_per_s': nbytes / 1e6 / t['wall_s'],
                                         **score(prediction(work, 'scale', key), gold)}
        s = json.load(open(os.path.join(work, 'scale-ours', 'summary.json')))
        t = res['scale_anchors']['ours']
        res['scale'].append({'fraction': 'all', 'bytes': nbytes, 'documents': s['documents'], 'wall_s': t['wall_s'],
                             'cpu_s': t['cpu_s'], 'rss_mb': t['rss_mb'], 'mb_per_s': nbytes / 1e6 / t['wall_s'],
                             'removed': s['documents_removed'], 'candidate_pairs': s['candidate_pairs'],
                             'spilled_bytes': s['spilled_bytes'], 'stages': s['stages']})
        res['scale_manifest'] = {k: v for k, v in scale_corpus().items() if k != 'shards'}
        save('scale')
    print(open(os.path.join(HERE, 'RESULTS.md')).read())


def speedups(rows, fastest):
    """Per machine (its wall over ours on all cores) and per core (its wall over ours on one thread) against the
    anchor row `fastest`."""
    a, ours, one = rows[fastest], rows['ours'], rows['ours_1thread']
    return a['wall_s'] / ours['wall_s'], a['wall_s'] / one['wall_s'], a['cpu_s'] / one['cpu_s']


def write_markdown(res):
    m = res['machine']
    z = res['zh_dev']
    ours = z['ours']
    loads = f"1-minute load average {res.get('load_start')} at the start, {res.get('load_end')} at the end"
    lines = ['## dedup: document-level near-duplicates', '',
             f"Machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}; date {m['date']}; commit {m['commit']}; {loads} "
             '(the cores are shared with other engineers\' builds, so absolute times are noisy; ratios come from runs '
             'interleaved round by round). Produced by `bench/run_dedup.py` (called by `bench/run.sh`). Wall time, '
             'CPU time (user + system) and peak RSS from `/usr/bin/time -v`; each row is the median of its rounds '
             '(`rounds`); every row ran in this one session (sections saved as they finish; a session interrupted '
             'and resumed with `--resume` keeps its finished sections and its finished rounds). The anchors: datasketch 2.0.0 and rensa 0.5.0 with the C++ '
             'OpenCC binding (PyPI `opencc` 1.4.2, `OpenCC(\'t2s\')`), and datasketch with the pure-Python '
             'opencc-python-reimplemented 0.1.7, labelled as such; all with NFKC, lower-casing, punctuation and '
             'whitespace removed, character 5-grams, 128 permutations, union-find over LSH candidates (scripts '
             '`bench/rensa_dedup.py`, `bench/datasketch_dedup.py`; one process, one core).', '',
             '### Quality and speed on zh-dev (3,657 documents, 5.1 M characters)', '',
             '| tool | pair P | pair R | pair F1 | ARI | wall (s) | CPU (s) | rounds | speed-up vs this tool | peak RSS (MB) |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for key in LABELS:
        if key not in z:
            continue
        r = z[key]
        ratio = r['wall_s'] / ours['wall_s']
        lines.append(f"| {r['tool']} | {r['pair_precision']:.4f} | {r['pair_recall']:.4f} | {r['pair_f1']:.4f} | "
                     f"{r['ari']:.4f} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {len(r['walls'])} | {ratio:.1f}× | "
                     f"{r['rss_mb']:.0f} |")
    lines += ['', 'The speed-up column is this row\'s wall time over ours (defaults, all cores).', '']
    if res.get('rensa_sweep'):
        lines += ['rensa\'s LSH bands (128 permutations; rows = 128 / bands) and an optional check of each candidate '
                  'pair\'s estimated Jaccard, swept on zh-dev for its best pair F1 (one run each). Used above and at '
                  'scale: `' + ' '.join(RENSA) + '` (best without a check) and `' + ' '.join(RENSA_VERIFY) + '` (best overall). The '
                  'pure-Python OpenCC rows run on zh-dev only (converting the corpora in pure Python would take the '
                  'better part of an hour).', '',
                  '| rensa settings | pair P | pair R | pair F1 | wall (s) |', '|---|---|---|---|---|']
        seen = set()
        for r in res['rensa_sweep']:
            if r['settings'] in seen:
                continue
            seen.add(r['settings'])
            lines.append(f"| `{r['settings']}` | {r['pair_precision']:.4f} | {r['pair_recall']:.4f} | "
                         f"{r['pair_f1']:.4f} | {r['wall_s']:.2f} |")
        lines.append('')
    if res.get('heldout'):
        lines += ['### Held-out benchmarks (make_bench.py over ../shared/corpora, seeds 11 and 23, built here; defaults were not fitted to them, but they were consulted once, with zh-dev, to check the partial-reprint rule)', '',
                  '| benchmark | tool | pair P | pair R | pair F1 | wall (s) |', '|---|---|---|---|---|---|']
        for h in res['heldout']:
            for key, r in h['rows'].items():
                lines.append(f"| seed {h['seed']} | {r['tool']} | {r['pair_precision']:.4f} | {r['pair_recall']:.4f} | "
                             f"{r['pair_f1']:.4f} | {r['wall_s']:.2f} |")
        lines.append('')
    lines += [
              'Per stage on zh-dev (CPU seconds summed over threads for the fused fingerprint stages):', '',
              '| stage | seconds | MB/s |', '|---|---|---|']
    for k, v in ours['stages'].items():
        sec = v.get('cpu_seconds', v['wall_seconds'])
        mbs = f"{v['mb_per_second']:.0f}" if v.get('mb_per_second') else ''
        lines.append(f'| {k} | {sec:.3f} | {mbs} |')

    def big_table(rows, title, quality=False):
        out = ['', title, '',
               '| tool | MB | documents | removed | largest cluster | wall (s) | CPU (s) | rounds | MB/s | peak RSS (MB) | '
               + ('pair P | pair R | pair F1 | ' if quality else '') + 'speed-up vs this tool |',
               '|---|---|---|---|---|---|---|---|---|---|' + ('---|---|---|' if quality else '') + '---|']
        for key in LABELS:
            if key not in rows:
                continue
            r = rows[key]
            q = (f"{r['pair_precision']:.4f} | {r['pair_recall']:.4f} | {r['pair_f1']:.4f} | " if quality else '')
            out.append(f"| {r['tool']} | {r['bytes'] / 1e6:.0f} | {r['documents']} | {r['removed']} | "
                       f"{r.get('largest_cluster', '')} | {r['wall_s']:.1f} | "
                       f"{r['cpu_s']:.1f} | {len(r['walls'])} | {r['mb_per_s']:.1f} | {r['rss_mb']:.0f} | {q}"
                       f"{r['wall_s'] / rows['ours']['wall_s']:.1f}× |")
        if 'rensa_cpp' in rows:
            for key in sorted((k for k in rows if not k.startswith('ours')), key=lambda k: rows[k]['wall_s'])[:2]:
                mach, core, cpu = speedups(rows, key)
                out.append('')
                out.append(f"Against {rows[key]['tool']}: ours is {mach:.1f}× faster per machine (its wall on one "
                           f"core over ours on {res['machine']['nproc']} threads), {core:.1f}× per core (its wall over "
                           f"ours with `--threads 1`), {cpu:.1f}× in CPU seconds (its over ours with `--threads 1`).")
        return out

    if res.get('corpora') or res.get('scale_anchors'):
        lines += ['', 'Speed-ups at scale: per machine is an anchor\'s wall time (one process, one core: that is how '
                  'these libraries run unless the user shards the corpus) over ours with its default threads; per core '
                  'is its wall time, and its CPU seconds, over ours with `--threads 1`. When the 1-minute load average '
                  'is far above the core count (see the machine line), no process gets a whole core and ours cannot '
                  'use its second thread, so the per-machine ratio shrinks to about the per-core one; the CPU-seconds '
                  'ratio is the steadiest figure. The removed column is what each tool\'s clusters would drop: the '
                  'anchors join LSH candidates without checking them (except the row with an estimated-Jaccard '
                  'check), so where many documents share some text (the 1916 front pages of the corpora: mastheads, wire '
                  'stories, advertisements) their candidates chain into one large false cluster (largest cluster '
                  'column).']
    if res.get('corpora'):
        lines += big_table(res['corpora'], '### The whole of ../shared/corpora (chinanews, xwlb, chronam: 45,592 '
                           'records; every tool reads the three .jsonl.zst files)')
    if res.get('scale_anchors'):
        mf = res.get('scale_manifest', {})
        lines += big_table(res['scale_anchors'], f"### The 1 GB scale corpus (`bench/make_scale_corpus.py --size-mb "
                           f"1000 --seed {mf.get('seed')}`: {mf.get('documents')} noisy reprints of the articles of "
                           "../shared/corpora, 8 shards of .jsonl.zst)", quality=True)
        lines += ['', 'Pair precision and recall at scale are against the generator\'s labels (`meta.cluster`: the '
                  'source article a document prints). Real reuse among the source articles (wire stories on several '
                  '1916 front pages, multi-outlet reprints in chinanews) is unlabelled, so precision is understated '
                  'for every tool alike.']
    if res['scale']:
        lines += ['', '### Growth: 1/8, 1/4, 1/2 and all of the 1 GB scale corpus (whole shards)', '',
                  '| part | MB | documents | wall (s) | MB/s | peak RSS (MB) | removed | candidate pairs | spilled (MB) |',
                  '|---|---|---|---|---|---|---|---|---|']
        for s in res['scale']:
            lines.append(f"| {s['fraction']} | {s['bytes'] / 1e6:.0f} | {s['documents']} | {s['wall_s']:.1f} | "
                         f"{s['mb_per_s']:.0f} | {s['rss_mb']:.0f} | {s['removed']} | {s['candidate_pairs']} | "
                         f"{s['spilled_bytes'] / 1e6:.0f} |")
        full = res['scale'][-1]
        lines += ['', 'Per stage on the full 1 GB run:', '', '| stage | seconds | MB/s |', '|---|---|---|']
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
