#!/usr/bin/env python3
"""Builds a realistic scale corpus: noisy reprints of the real articles of ../shared/corpora, any target size,
deterministic by seed, written as sharded `.jsonl.zst` plus a manifest.

The transforms are those of ../shared/bench/make_bench.py, imported from there at run time (not copied): its
`Printer.variant` (truncation, dropped and repeated paragraphs, script conversion simplified<->traditional/HK/TW,
corner quotes, half-width punctuation, OCR-like confusions from same_stroke.txt, dropped and doubled characters,
hard column line breaks), its datelines/editor lines (`header`, `footer`) and its `Doc`. The document mix follows
make_bench.py's defaults and rates: of the source articles, 400 in 2,950 are printed as whole documents 2..6 times
(the first printing verbatim half the time; a dateline 40% and an editor line 40% of the time), 150 in 2,950 are
printed 2..4 times only inside pages, the rest are printed once, either as a filler on a page or alone (30% of
those lightly edited); a page holds 1..2 reprinted and 1..2 filler articles, a masthead 60% of the time and a stray
caption between articles 50% of the time, and a page of pages//3 carries an article that is also printed whole.
make_bench.py reaches about 1.4x its sources' size; a larger target multiplies every printing count by one factor m
(solved here), so at 1 GB (2.5x the 398 MB of ../shared/corpora) the average reprinted article has ~3x more
printings than in zh-dev, and at 10 GB ~40x. Unlike make_bench.py, sources are not filtered for shared sentences
(their real reuse stays, as in a real archive) and every record of the corpora is a source article.

The English OCR pages (chronam) go through the same `variant` with an English printer: OCR confusions of Latin
print (rn/m, l/1/I, e/c, ...) instead of same_stroke.txt, English datelines and continuation lines, columns twice as
wide, no script conversion; they are only put on pages with other English sources.

Output in OUT (created; an existing OUT is refused unless --force): shard-NNNNN.jsonl.zst, each line
{"id", "text", "meta": {"cluster": C}} where C names the source article a document prints (a page: the article
that makes up at least half of it, else "page:<id>"), and manifest.json (seed, sizes, counts, transform rates).
Shards hold ~--shard-mb MB of uncompressed JSONL each (default 125, so 1 GB is 8 shards and 1/8, 1/4, 1/2 of the
corpus are whole shards); shard k depends only on the seed, the sources and the size, not on --workers.

Needs the C++ OpenCC binding (PyPI `opencc`, imported by make_bench.py as `opencc.OpenCC`) and `zstandard`: run it
with bench/.venv-cpp/bin/python (bench/run_dedup.py installs both there).

usage: make_scale_corpus.py OUT_DIR [--size-mb 1000] [--seed 1] [--shard-mb 125] [--workers 2] [--shared DIR]
"""
import argparse, json, math, os, random, re, sys, time
from collections import Counter
from multiprocessing import get_context

HERE = os.path.dirname(os.path.abspath(__file__))

# make_bench.py's default counts, by role of a source article (fillers: the ones its pages actually use).
MIX = {'cluster': 400, 'page_source': 150, 'once': 2400}
CLUSTER_PRINTINGS = [2, 2, 2, 3, 3, 4, 5, 6]
PAGE_PRINTINGS = [2, 2, 3, 4]
CORPORA = {'chinanews-2018.jsonl.zst': 'zh', 'xwlb-2022-2026.jsonl.zst': 'zh', 'chronam-1916-jan-jun.jsonl.zst': 'en'}
MASTHEADS = {'zh': ['内蒙古日报', '重庆日报', '大公报', '新民晚报', '解放日报', '南方日报', '光明日报', '经济日报'],
             'en': ['THE EVENING STAR', 'NEW-YORK TRIBUNE', 'THE OGDEN STANDARD', 'THE BISMARCK TRIBUNE',
                    'EVENING PUBLIC LEDGER', 'THE SUN', 'RICHMOND TIMES-DISPATCH', 'THE WASHINGTON HERALD']}
EN_CONFUSIONS = {'m': ['rn', 'in'], 'l': ['1', 'I', 'i'], 'I': ['l', '1'], 'i': ['l', '1', 'j'], 'o': ['0', 'c'],
                 'O': ['0', 'Q'], '0': ['O', 'o'], 'e': ['c', 'o'], 'c': ['e'], 'h': ['b', 'li'], 'b': ['h', '6'],
                 'n': ['u', 'ri'], 'u': ['n', 'v'], 't': ['f', 'l'], 'f': ['t'], 'S': ['5', 's'], '5': ['S'],
                 'B': ['8', 'R'], '8': ['B'], 'a': ['n', 'o'], 'r': ['n'], 'w': ['vv'], ',': ['.'], '.': [',']}

SOURCES = []  # (id, text, lang), filled before the workers fork
_PRINTERS = {}


def load_make_bench(shared):
    """Imports ../shared/bench/make_bench.py as a module."""
    sys.path.insert(0, os.path.join(shared, 'bench'))
    import make_bench
    import opencc
    if not hasattr(opencc, 'clib') and not hasattr(opencc, 'opencc_clib'):
        print('warning: opencc is not the C++ binding (PyPI `opencc`); generation will be slow', file=sys.stderr)
    return make_bench


def english_printer(Printer):
    class EnglishPrinter(Printer):
        """make_bench's Printer for English OCR pages: English datelines and continuation lines, Latin OCR
        confusions, wider columns, no script conversion."""
        HEADERS = ['WASHINGTON, {mon} {d}.—', 'NEW YORK, {mon} {d}.—(By Associated Press.)', '(By United Press.)',
                   'Special to The {paper}.', '{city}, {mon} {d}.—', '(Special Dispatch.)']
        FOOTERS = ['(Continued on Page {p}.)', 'Continued on Page {p}, Column {c}.', '(Concluded on Page {p}.)',
                   '—Adv.', 'See Page {p}', '(Copyright, 1916, by {name}.)']
        NAMES = ['the Associated Press', 'the United Press', 'the Tribune Company', 'the Star Company']
        CITIES = ['CHICAGO', 'LONDON', 'PARIS', 'BERLIN', 'EL PASO', 'SAN FRANCISCO', 'BOSTON', 'OMAHA']
        MONTHS = ['Jan', 'Feb', 'March', 'April', 'May', 'June']
        PAPERS = ['Star', 'Tribune', 'Herald', 'Sun', 'Times']

        def fill(self, tpl):
            r = self.rng
            return tpl.format(mon=r.choice(self.MONTHS), d=r.randint(1, 28), name=r.choice(self.NAMES),
                              city=r.choice(self.CITIES), paper=r.choice(self.PAPERS), p=r.randint(2, 16),
                              c=r.randint(1, 8))

        def script(self, text):
            return text, 'script:none'

        def wrap(self, paras, width):
            return super().wrap(paras, 2 * width + 5)

    return EnglishPrinter


def printers(shared):
    """One make_bench Printer per language (made once per worker process; its rng is replaced per document)."""
    if not _PRINTERS:
        mb = load_make_bench(shared)
        same_stroke = {}
        with open(os.path.join(shared, 'bench', 'same_stroke.txt'), encoding='utf-8') as f:
            for line in f:  # as make_bench.main() reads it
                chars = line.split()
                for c in chars:
                    same_stroke.setdefault(c, []).extend(x for x in chars if x != c)
        _PRINTERS['zh'] = mb.Printer(random.Random(0), same_stroke, False)
        _PRINTERS['en'] = english_printer(mb.Printer)(random.Random(0), EN_CONFUSIONS, False)
        _PRINTERS['Doc'] = mb.Doc
    return _PRINTERS


def load_sources(shared):
    import zstandard
    out = []
    for name, lang in CORPORA.items():
        path = os.path.join(shared, 'corpora', name)
        if not os.path.exists(path):
            sys.exit(f'{path} is absent: the scale corpus needs ../shared/corpora')
        with open(path, 'rb') as fh:
            reader = zstandard.ZstdDecompressor().stream_reader(fh)
            buf = b''
            while True:
                chunk = reader.read(1 << 24)
                if not chunk:
                    break
                buf += chunk
                lines = buf.split(b'\n')
                buf = lines.pop()
                for line in lines:
                    if line.strip():
                        r = json.loads(line)
                        t = r['text'].strip()
                        if len(t) >= 50:
                            out.append((r['id'], t, lang))
            if buf.strip():
                r = json.loads(buf)
                if len(r['text'].strip()) >= 50:
                    out.append((r['id'], r['text'].strip(), lang))
    return out


def plan(rng, by_lang, m):
    """Document specs for printing factor m: ('print', src, first) whole-document printings, ('single', src),
    ('page', lang, [src...]). src indexes SOURCES."""
    specs = []
    total = sum(MIX.values())
    for lang, idx in by_lang.items():
        idx = idx[:]
        rng.shuffle(idx)
        n_cl = round(len(idx) * MIX['cluster'] / total)
        n_pg = round(len(idx) * MIX['page_source'] / total)
        cl, pg, once = idx[:n_cl], idx[n_cl:n_cl + n_pg], idx[n_cl + n_pg:]
        for s in cl:
            n = max(2, round(rng.choice(CLUSTER_PRINTINGS) * m))
            specs += [('print', s, k == 0) for k in range(n)]
        reprints = [s for s in pg for _ in range(max(2, round(rng.choice(PAGE_PRINTINGS) * m)))]
        n_pages = round(len(reprints) / (4 / 3) * 1.0)  # pages take 1..2 reprints each (mean 4/3)
        reprints += [rng.choice(cl) for _ in range(n_pages // 3)] if cl else []
        rng.shuffle(reprints)
        fillers = iter(once)
        used_once = 0
        pages = []
        while reprints:
            segs = [reprints.pop() for _ in range(rng.choice([1, 1, 2])) if reprints]
            for _ in range(rng.choice([1, 1, 2])):
                f = next(fillers, None)
                if f is None:  # every once-printed article is on a page already: draw again (it becomes a reprint)
                    f = rng.choice(once)
                else:
                    used_once += 1
                segs.append(f)
            rng.shuffle(segs)
            pages.append(('page', lang, segs))
        specs += pages
        specs += [('single', s) for s in once[used_once:]]
    return specs


def est_bytes(spec, nbytes):
    if spec[0] == 'page':
        return sum(nbytes[s] for s in spec[2]) + 60
    return nbytes[spec[1]] + 40


def render(spec, seed, doc_id, shared):
    """One document of spec with its own rng; returns (text, cluster label, transform names)."""
    kind = spec[0]
    rng = random.Random(seed)
    lang = spec[1] if kind == 'page' else SOURCES[spec[1]][2]
    P = printers(shared)
    pr = P[lang]
    pr.rng = rng
    d = P['Doc'](doc_id)
    applied = []

    def src_key(s):
        return f's{s}'

    if kind == 'print':
        s = spec[1]
        text = SOURCES[s][1]
        if spec[2] and rng.random() < 0.5:
            d.add(text)
            applied.append('original')
        else:
            if rng.random() < 0.4:
                d.add(pr.header() + rng.choice(['', '\n', ' ']))
                applied.append('dateline')
            body, a, _ = pr.variant(text, rng.random())
            d.add(body, src_key(s), [])
            applied += a
            if rng.random() < 0.4:
                d.add('\n' + pr.footer())
                applied.append('editor-line')
        return d.text, src_key(s), applied
    if kind == 'single':
        s = spec[1]
        text = SOURCES[s][1]
        if rng.random() < 0.3:
            body, a, _ = pr.variant(text, rng.random() * 0.5)
            d.add(body)
            applied += a
        else:
            d.add(text)
            applied.append('original')
        return d.text, src_key(s), applied
    # a page of several articles
    if rng.random() < 0.6:
        if lang == 'zh':
            d.add(f'{rng.choice(MASTHEADS[lang])}\n{rng.randint(2000, 2025)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日 '
                  f'星期{rng.choice("一二三四五六日")}\n第{rng.randint(1, 16)}版\n\n')
        else:
            d.add(f'{rng.choice(MASTHEADS[lang])}\n{rng.choice(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"])}, '
                  f'{rng.choice(pr.MONTHS).upper()} {rng.randint(1, 28)}, 1916\nPAGE {rng.randint(1, 16)}\n\n')
        applied.append('masthead')
    share = Counter()
    for s in spec[2]:
        if rng.random() < 0.5:
            d.add(pr.footer() + '\n')
            applied.append('caption')
        body, a, _ = pr.variant(SOURCES[s][1], rng.random())
        share[src_key(s)] += len(body)
        d.add(body, src_key(s), [])
        applied += a
        d.add('\n\n')
    applied.append(f'page:{len(spec[2])}')
    top, n = share.most_common(1)[0]
    return d.text, (top if n >= 0.5 * d.length else f'page:{doc_id}'), applied


def transform_name(a):
    return re.sub(r'[:].*$', '', a) if not a.startswith('page:') else a


def write_shard(job):
    """Writes shard k from its specs until its byte budget is reached; returns its counts."""
    import zstandard
    k, specs, budget, out_dir, shared, level = job
    path = os.path.join(out_dir, f'shard-{k:05d}.jsonl.zst')
    written = docs = chars = articles = 0
    kinds, transforms, langs = Counter(), Counter(), Counter()
    t0 = time.time()
    with open(path + '.tmp', 'wb') as fh:
        with zstandard.ZstdCompressor(level=level).stream_writer(fh) as z:
            for seed, spec in specs:
                if written >= budget:
                    break
                doc_id = f'{k:05d}-{docs:07d}'
                text, cluster, applied = render(spec, seed, doc_id, shared)
                line = (json.dumps({'id': doc_id, 'text': text, 'meta': {'cluster': cluster}}, ensure_ascii=False)
                        + '\n').encode('utf-8')
                z.write(line)
                written += len(line)
                docs += 1
                chars += len(text)
                kinds[spec[0]] += 1
                articles += len(spec[2]) if spec[0] == 'page' else 1
                langs[spec[1] if spec[0] == 'page' else SOURCES[spec[1]][2]] += 1
                transforms.update(transform_name(a) for a in applied if a != 'script:none')
    os.replace(path + '.tmp', path)
    return {'shard': os.path.basename(path), 'bytes': written, 'zst_bytes': os.path.getsize(path), 'documents': docs,
            'characters': chars, 'articles': articles, 'kinds': dict(kinds), 'languages': dict(langs), 'transforms': dict(transforms),
            'unused_specs': len(specs) - docs, 'seconds': round(time.time() - t0, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('out', help='output directory (shards + manifest.json)')
    ap.add_argument('--size-mb', type=float, default=1000, help='target size in MB (1e6 bytes) of uncompressed JSONL')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--shard-mb', type=float, default=125)
    ap.add_argument('--workers', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--zstd-level', type=int, default=3)
    ap.add_argument('--shared', default=os.path.normpath(os.path.join(HERE, '..', '..', 'shared')))
    ap.add_argument('--force', action='store_true', help='replace the shards and manifest of an existing OUT')
    args = ap.parse_args()

    if os.path.exists(os.path.join(args.out, 'manifest.json')) and not args.force:
        sys.exit(f'{args.out} already holds a corpus (manifest.json); pass --force to replace it')
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    printers(args.shared)  # import make_bench (and OpenCC) once, before forking
    SOURCES.extend(load_sources(args.shared))
    nbytes = [len(t.encode('utf-8')) + len(i) + 30 for i, t, _ in SOURCES]
    by_lang = {}
    for i, (_, _, lang) in enumerate(SOURCES):
        by_lang.setdefault(lang, []).append(i)
    source_bytes = sum(nbytes)
    target = int(args.size_mb * 1e6)

    # Printing factor m: the plan's estimated size (sources' bytes, before edits) is 1.1x the target; each shard
    # stops at its budget, so the tail the margin leaves is never printed. Below make_bench's own ratio, a random
    # subset of the sources is used with m = 1.
    def planned(m, subset=1.0):
        rng = random.Random(args.seed)
        langs = {l: sorted(rng.sample(ix, max(1, int(len(ix) * subset)))) if subset < 1 else ix
                 for l, ix in by_lang.items()}
        specs = plan(rng, langs, m)
        return specs, sum(est_bytes(s, nbytes) for s in specs)

    want = target * 1.1
    specs, size = planned(1.0)
    m, subset = 1.0, 1.0
    if size > want:
        subset = want / size
        specs, size = planned(1.0, subset)
    else:
        lo, hi = 1.0, 2.0
        while planned(hi)[1] < want:
            lo, hi = hi, hi * 2
        for _ in range(12):
            mid = (lo + hi) / 2
            if planned(mid)[1] < want:
                lo = mid
            else:
                hi = mid
        m = hi
        specs, size = planned(m)

    rng = random.Random(args.seed * 1_000_003 + 7)
    seeded = [(rng.getrandbits(63), s) for s in specs]
    rng.shuffle(seeded)
    n_shards = max(1, round(target / (args.shard_mb * 1e6)))
    shards = [seeded[k::n_shards] for k in range(n_shards)]
    budgets = [target // n_shards + (1 if k < target % n_shards else 0) for k in range(n_shards)]
    jobs = [(k, shards[k], budgets[k], args.out, args.shared, args.zstd_level) for k in range(n_shards)]
    print(f'{len(SOURCES)} sources ({source_bytes / 1e6:.0f} MB), printing factor m={m:.3f}, subset {subset:.3f}, '
          f'{len(specs)} planned documents, {n_shards} shards; loading took {time.time() - t0:.0f} s', file=sys.stderr)
    results = []
    if args.workers > 1:
        with get_context('fork').Pool(args.workers) as pool:
            for r in pool.imap(write_shard, jobs):
                results.append(r)
                print(f"{r['shard']}: {r['bytes'] / 1e6:.0f} MB, {r['documents']} documents, {r['seconds']} s",
                      file=sys.stderr)
    else:
        for j in jobs:
            results.append(write_shard(j))
    for old in os.listdir(args.out):  # shards of an earlier, larger corpus in OUT (with --force)
        if re.fullmatch(r'shard-\d{5}\.jsonl\.zst', old) and old not in {r['shard'] for r in results}:
            os.remove(os.path.join(args.out, old))

    total = Counter()
    kinds, langs, transforms = Counter(), Counter(), Counter()
    for r in results:
        total.update({k: r[k] for k in ['bytes', 'zst_bytes', 'documents', 'characters', 'unused_specs']})
        kinds.update(r['kinds'])
        langs.update(r['languages'])
        transforms.update(r['transforms'])
    printings = sum(r['articles'] for r in results)
    manifest = {
        'generator': 'bench/make_scale_corpus.py', 'transforms_from': 'shared/bench/make_bench.py (imported)',
        'seed': args.seed, 'target_bytes': target, 'shard_target_bytes': budgets[0], 'zstd_level': args.zstd_level,
        'bytes': total['bytes'], 'zst_bytes': total['zst_bytes'], 'documents': total['documents'],
        'characters': total['characters'],
        'sources': {'records': len(SOURCES), 'bytes': source_bytes,
                    'by_language': {l: len(ix) for l, ix in by_lang.items()}, 'corpora': list(CORPORA)},
        'printing_factor_m': round(m, 4), 'source_subset': round(subset, 4),
        'mix': {'roles_per_2950_sources': MIX, 'cluster_printings': CLUSTER_PRINTINGS, 'page_printings': PAGE_PRINTINGS},
        'documents_by_kind': dict(kinds), 'documents_by_language': dict(langs),
        'transform_counts': dict(sorted(transforms.items())),
        'transform_rates_per_printed_article': {k: round(v / max(1, printings), 4)
                                                for k, v in sorted(transforms.items()) if not k.startswith('page:')},
        'printed_articles': printings,
        'shards': results, 'seconds': round(time.time() - t0, 1), 'workers': args.workers,
    }
    with open(os.path.join(args.out, 'manifest.json.tmp'), 'w') as f:
        json.dump(manifest, f, indent=1)
    os.replace(os.path.join(args.out, 'manifest.json.tmp'), os.path.join(args.out, 'manifest.json'))
    print(f"{args.out}: {total['bytes'] / 1e6:.0f} MB in {n_shards} shards ({total['zst_bytes'] / 1e6:.0f} MB zst), "
          f"{total['documents']} documents, {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == '__main__':
    main()
