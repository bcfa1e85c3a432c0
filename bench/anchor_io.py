"""Shared by the Python dedup anchors: reading JSONL inputs (plain or .zst, several files) and the preprocessing
every anchor row uses (NFKC, lower-casing, optional OpenCC t2s, punctuation/whitespace removal, character n-grams)."""
import json, re, subprocess, unicodedata

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


def write_clusters(path, assignments):
    """Writes {"id", "cluster"} per (id, cluster) of assignments, for score.py."""
    with open(path, 'w', encoding='utf-8') as f:
        for doc_id, cluster in assignments:
            f.write(json.dumps({'id': doc_id, 'cluster': cluster}, ensure_ascii=False) + '\n')
