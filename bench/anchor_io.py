"""Shared by the Python dedup anchors: reading JSONL inputs (plain or .zst, several files) and the preprocessing
every anchor row uses (NFKC, lower-casing, optional OpenCC t2s, punctuation/whitespace removal, character n-grams)."""
import json, os, re, subprocess, sys, unicodedata

PUNCT = re.compile(r'[\W_]+', re.UNICODE)


def records(paths):
    """(id, text) of every record of the JSONL files in paths, in order; .zst files are read through `zstd -dc`."""
    for path in paths:
        if path.endswith('.zst'):
            p = subprocess.Popen(['zstd', '-dcq', path], stdout=subprocess.PIPE)
            f = p.stdout
        else:
            p, f = None, open(path, 'rb')
        with f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    yield r['id'], r['text']
        if p is not None and p.wait() != 0:
            raise SystemExit(f'zstd failed on {path}')


def opencc_t2s():
    """OpenCC traditional->simplified from whichever `opencc` module is installed (the C++ binding, PyPI `opencc`,
    or the pure-Python `opencc-python-reimplemented`; both take 't2s'), and the name of that implementation."""
    import opencc
    kind = 'C++ (PyPI opencc)' if hasattr(opencc, 'clib') or hasattr(opencc, 'opencc_clib') else 'pure Python'
    return opencc.OpenCC('t2s'), kind


def normalized(text, conv=None):
    text = unicodedata.normalize('NFKC', text).lower()
    if conv is not None:
        text = conv.convert(text)
    return PUNCT.sub('', text)


def char_ngrams(s, n=5):
    if len(s) < n:
        return [s]
    return [s[i:i + n] for i in range(len(s) - n + 1)]


def split_inputs_out(paths):
    """Splits the positional arguments `INPUT... OUT` of an anchor script, refusing what would destroy a user's file:
    fewer than two paths (the only path would be taken as OUT and truncated), an OUT that is one of the inputs or
    names a compressed file, and an existing OUT that is not a clusters file written by these scripts (see
    write_clusters). Exits with a message naming the path."""
    if len(paths) < 2:
        sys.exit(f'usage: INPUT... OUT.jsonl (got {len(paths)} path(s); the last one is the output)')
    *inputs, out = paths
    if out.endswith(('.zst', '.gz', '.bz2', '.xz')) or not out.endswith('.jsonl'):
        sys.exit(f'refusing to write clusters to {out}: the last path is the output and must end in .jsonl')
    for inp in inputs:
        if os.path.exists(out) and os.path.exists(inp) and os.path.samefile(inp, out):
            sys.exit(f'refusing to write clusters to {out}: it is also an input')
    if os.path.exists(out) and os.path.getsize(out) > 0:
        with open(out, encoding='utf-8', errors='replace') as f:
            first = f.readline()
        try:
            rec = json.loads(first)
        except ValueError:
            rec = None
        if not (isinstance(rec, dict) and set(rec) == {'id', 'cluster'}):
            sys.exit(f'refusing to overwrite {out}: it exists and is not a clusters file of these scripts')
    return inputs, out


def write_clusters(path, assignments):
    """Writes {"id", "cluster"} per (id, cluster) of assignments, for score.py: to a temporary file beside `path`,
    renamed over it when complete (no partial file that looks complete)."""
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        for doc_id, cluster in assignments:
            f.write(json.dumps({'id': doc_id, 'cluster': cluster}, ensure_ascii=False) + '\n')
    os.replace(tmp, path)
