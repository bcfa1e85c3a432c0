#!/usr/bin/env python3
"""Benchmark of the Python package, in one session: `textreuse.dedup` on ../shared/bench/zh-dev against the CLI
(`textreuse dedup`) and datasketch MinHashLSH + OpenCC, whole processes timed by /usr/bin/time (reading the JSONL,
deduplicating, writing clusters), medians of --runs; then MinHash signature throughput against datasketch and rensa
(bench/py_minhash.py). Installs the package (pip install ./crates/textreuse-py, built by maturin), pyarrow and the
anchors into bench/.venv. Writes bench/results-python.json and the python section of bench/RESULTS.md.

usage: bench/run_python.py [--runs N] [--anchor-runs N]
"""
import argparse, json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_dedup import (BIN, HERE, ROOT, ZH_DEV, VENV_CPP, VENV_PY, ensure_venvs, interleaved, machine,  # noqa: E402
                       replace_section, score)


def venv():
    """bench/.venv (datasketch + pure-Python OpenCC) and bench/.venv-cpp (datasketch, rensa, C++ OpenCC) as
    run_dedup.py makes them, plus pyarrow and the package (built by maturin from this checkout) in the first."""
    ensure_venvs()
    pip = [VENV_PY, '-m', 'pip', 'install', '-q']
    subprocess.run(pip + ['pyarrow'], check=True)
    if subprocess.run(pip + ['rensa==0.5.0'], capture_output=True).returncode != 0:
        print('rensa does not install here; its rows are left out', file=sys.stderr)
    subprocess.run(pip + ['--force-reinstall', '--no-deps', os.path.join(ROOT, 'crates', 'textreuse-py')], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--anchor-runs', type=int, default=1)
    ap.add_argument('--markdown-only', action='store_true', help='rewrite RESULTS.md from results-python.json')
    args = ap.parse_args()
    if args.markdown_only:
        write_markdown(json.load(open(os.path.join(HERE, 'results-python.json'))))
        return
    if not os.path.isdir(ZH_DEV):
        sys.exit(f'{ZH_DEV} is absent: the benchmark needs ../shared')
    subprocess.run(['cargo', 'build', '--release', '-q', '-p', 'textreuse-cli'], cwd=ROOT, check=True)
    venv()
    corpus = os.path.join(ZH_DEV, 'corpus.jsonl')
    work = tempfile.mkdtemp(prefix='textreuse-bench-py-')
    res = {'machine': machine(), 'dedup': [], 'minhash': None, 'load_before': os.getloadavg()[1]}

    preds, cmds, labels = {}, {}, {}

    def add(key, label, cmd, pred, runs):
        preds[key], cmds[key], labels[key] = pred, (cmd, runs), label

    out = os.path.join(work, 'cli')
    add('cli', 'textreuse dedup (CLI)', [BIN, 'dedup', corpus, '--out', out, '--quiet'],
        os.path.join(out, 'clusters.jsonl'), args.runs)
    pred = os.path.join(work, 'py.jsonl')
    add('python', 'Python textreuse.dedup (json.loads records)', [VENV_PY, os.path.join(HERE, 'py_dedup.py'), corpus, pred],
        pred, args.runs)
    pred = os.path.join(work, 'py-arrow.jsonl')
    add('python_arrow', 'Python textreuse.dedup (pyarrow.json table)',
        [VENV_PY, os.path.join(HERE, 'py_dedup.py'), corpus, pred, '--arrow'], pred, args.runs)
    pred = os.path.join(work, 'ds.jsonl')
    add('datasketch_opencc', 'datasketch MinHashLSH + pure-Python OpenCC t2s (opencc-python-reimplemented)',
        [VENV_PY, os.path.join(HERE, 'datasketch_dedup.py'), corpus, pred, '--opencc'], pred, args.anchor_runs)
    pred = os.path.join(work, 'ds-cpp.jsonl')
    add('datasketch_cpp', 'datasketch MinHashLSH + C++ OpenCC t2s',
        [VENV_CPP, os.path.join(HERE, 'datasketch_dedup.py'), corpus, pred, '--opencc'], pred, args.anchor_runs)
    # Rounds interleaved (every tool once per round) so that all see the same load; the CLI's output directory
    # is replaced by each round (the same job's previous run).
    got = interleaved(cmds, log='python')
    for key, g in got.items():
        res['dedup'].append({'key': key, 'tool': labels[key], 'wall_s': g['wall_s'], 'walls': g['walls'],
                             'cpu_s': g['cpu_s'], 'cpus': g['cpus'], 'rss_mb': g['rss_mb'], **score(preds[key])})
    inproc = [json.loads(subprocess.run([VENV_PY, os.path.join(HERE, 'py_dedup.py'), corpus, os.path.join(work, 'x.jsonl')],
                                        capture_output=True, text=True, check=True).stdout) for _ in range(args.runs)]
    res['python_in_process'] = {k: sorted(r[k] for r in inproc)[len(inproc) // 2] for k in inproc[0]}
    p = subprocess.run([VENV_PY, os.path.join(HERE, 'py_minhash.py'), corpus], capture_output=True, text=True, check=True)
    res['minhash'] = json.loads(p.stdout)
    res['load_after'] = os.getloadavg()[1]
    json.dump(res, open(os.path.join(HERE, 'results-python.json'), 'w'), indent=1)
    write_markdown(res)
    print(open(os.path.join(HERE, 'RESULTS.md')).read())


def write_markdown(res):
    m = res['machine']
    by = {r['key']: r for r in res['dedup']}
    cli, py = by['cli']['wall_s'], by['python']['wall_s']
    lines = ['## python: the `textreuse` package', '',
             f"Machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}; date {m['date']}; commit {m['commit']}. Produced by "
             '`bench/run_python.py` (not part of `bench/run.sh`'"'"'s default run). Whole processes timed by `/usr/bin/time -v` '
             '(interpreter start, import, reading the JSONL, deduplicating, writing clusters), medians; every row ran in '
             'this one session.' + (f" Load average (5 min) {res['load_after']:.1f} at the end of the run on these "
                                     f"{m['nproc']} cores (above the core count, other work shared them and absolute "
                                     'times grow with it); compare ratios within this section only.'
                                     if 'load_after' in res else ''), '',
             '### dedup on zh-dev (3,657 documents, 5.1 M characters)', '',
             '| tool | pair P | pair R | pair F1 | wall (s) | CPU (s) | rounds | wall vs CLI | wall vs Python textreuse '
             '| CPU vs Python textreuse | peak RSS (MB) |', '|---|---|---|---|---|---|---|---|---|---|---|']
    pycpu = by['python'].get('cpu_s')
    for r in res['dedup']:
        cpu = r.get('cpu_s')
        lines.append(f"| {r['tool']} | {r['pair_precision']:.4f} | {r['pair_recall']:.4f} | {r['pair_f1']:.4f} | "
                     f"{r['wall_s']:.2f} | {'' if cpu is None else f'{cpu:.2f}'} | {len(r['walls'])} | "
                     f"{r['wall_s'] / cli:.2f}× | {r['wall_s'] / py:.1f}× | "
                     f"{'' if cpu is None or not pycpu else f'{cpu / pycpu:.1f}×'} | {r['rss_mb']:.0f} |")
    ip = res['python_in_process']
    ds = by['datasketch_opencc']['wall_s']
    cpp = by.get('datasketch_cpp')
    lines += ['', f"Python over CLI wall time: {py / cli:.2f}× (target ≤ 1.3×); datasketch + pure-Python OpenCC over "
              f"Python textreuse: {ds / py:.0f}× in wall time"
              + (f", {by['datasketch_opencc']['cpu_s'] / pycpu:.0f}× in CPU seconds" if pycpu else '')
              + (f"; datasketch + C++ OpenCC: {cpp['wall_s'] / py:.0f}× in wall time, {cpp['cpu_s'] / pycpu:.0f}× in "
                 'CPU seconds' if cpp and pycpu else '') + " (target ≥ 40×). Inside the Python process (median): import "
              f"{ip['import_s']:.3f} s, reading the JSONL with `json` {ip['read_s']:.3f} s, `textreuse.dedup` "
              f"{ip['dedup_s']:.3f} s, writing {ip['write_s']:.3f} s.", '']
    mh = res['minhash']
    lines += [f"### MinHash signatures: 128 values per document, the {mh['documents']} zh-dev texts ({mh['mb']:.1f} MB)", '',
              'Medians of the rounds, each implementation once per round; CPU seconds are the process\'s (all threads).',
              '', '| implementation | wall (s) | CPU (s) | documents/s | MB/s |', '|---|---|---|---|---|']
    for r in mh['rows']:
        cpu = r.get('cpu_seconds')
        lines.append(f"| {r['name']} | {r['seconds']:.3f} | {'' if cpu is None else f'{cpu:.3f}'} | "
                     f"{r['docs_per_s']:.0f} | {r['mb_per_s']:.1f} |")
    lines += ['', 'textreuse rows include normalization (NFKC, traditional → simplified, punctuation and column breaks '
              'removed) and shingling in Rust; the anchors get their usual Python tokenization (no script conversion), '
              'and their "hash only" rows time hashing alone (the same pre-made lists of `str` for all: `bulk_tokens` '
              'reads the UTF-8 of each token in place, as rensa does, although the wheel is built for the 3.9 stable ABI).',
              '']
    replace_section('## python:', '\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
