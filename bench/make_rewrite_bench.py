#!/usr/bin/env python3
"""Build a development set of rewritten text reuse (obfuscated passages) from real text, scored by score.py.

Every case is one passage of a source article reused in another document, rewritten at a known rate. Written for
issue 14 (rewritten reuse, short passages); tune nothing on anything but sets made by this script.

How a set is made (``--lang zh``: chinanews-2018 articles; ``--lang en``: chronam-1916 front pages, whose OCR text
is cut into paragraph-sized pieces):
1. Articles of 300-6000 characters are read from ``../shared/corpora``; every sentence that stands in two articles
   or more (templates, bylines) is removed from all of them, and articles that share more than three character
   13-grams (25-grams in English) with an article picked before are left out, so that the only reuse is the reuse
   planted here (the corpora hold real reprints and wire copy).
2. Articles are split among sources (printed whole, as documents of their own), fillers (other text around each
   reused passage) and distractors (documents on their own, reused nowhere).
3. For each case a passage is cut from a source at sentence boundaries: one sentence (``short``: 20-60 CJK
   characters or 10-30 words), 2-5 sentences (``medium``) or 6-15 sentences (``long``). It is rewritten by one of:
   - ``none``: verbatim;
   - ``low``: 10 % of the words replaced (CJK: 10 % of the characters, two at a time, by two-character words of
     the corpus; English: 10 % of the words other than stop words, by words of the corpus), clauses reordered
     inside 20 % of the sentences;
   - ``high``: 25 % of the words replaced, clauses reordered inside half of the sentences, 30 % of the sentence
     boundaries merged or split, 10 % of the sentences dropped, adjacent sentences swapped at 20 %;
   - ``summary``: a third of the sentences kept (at least one), 10 % of their words replaced.
   Word replacements stand for synonyms: what matters to a detector is that the unit changes. The reused passage
   is printed between two filler paragraphs (whole sentences of other articles, 150-600 characters) in a
   document of its own, one paragraph per line.
4. ``gold_spans.jsonl`` records, as ``make_bench.py`` does, ``{"id", "start", "end", "source"}`` with source
   ``CASE#0`` for the passage in the source document and for its rewritten copy (code point offsets, half-open);
   ``score.py`` pairs them into one case. ``manifest.json`` lists every case with its kind, obfuscation, rates and
   lengths. ``gold_clusters.jsonl`` puts each document alone (the set is about passages).

usage: bench/make_rewrite_bench.py --lang zh|en --out DIR [--seed 7] [--cases 300] [--distractors 300]
Needs the ``zstd`` command line tool; standard library otherwise.
"""
import argparse, json, os, random, re, subprocess, sys, unicodedata, zlib
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, '..', '..', 'shared'))
PUNCT = re.compile(r'[\W_]+', re.U)
ZH_SENT = re.compile(r'[^。！？；\n]+[。！？；]*')
EN_SENT = re.compile(r'[^.!?\n]+[.!?]*')
CJK = re.compile(r'[\u4e00-\u9fff]')
EN_WORD = re.compile(r"[A-Za-z]+")
STOP_EN = set('a an the of to in on at for from by with and or but nor so as is are was were be been being it its '
              'he she they we you i his her their our your my this that these those which who whom whose what '
              'not no yes do does did has have had will would shall should can could may might must there here '
              'than then also into over under about after before upon'.split())
LEVELS = {
    'none': dict(sub=0.0, reorder=0.0, merge=0.0, drop=0.0, swap=0.0, keep=1.0),
    'low': dict(sub=0.10, reorder=0.2, merge=0.0, drop=0.0, swap=0.0, keep=1.0),
    'high': dict(sub=0.25, reorder=0.5, merge=0.3, drop=0.1, swap=0.2, keep=1.0),
    'summary': dict(sub=0.10, reorder=0.0, merge=0.0, drop=0.0, swap=0.0, keep=1 / 3),
}


def norm_key(text):
    return PUNCT.sub('', unicodedata.normalize('NFKC', text)).lower()


def read_zst(path, limit):
    p = subprocess.Popen(['zstd', '-dc', path], stdout=subprocess.PIPE)
    out = []
    for line in p.stdout:
        r = json.loads(line)
        out.append((str(r['id']), r['text']))
        if len(out) >= limit:
            break
    p.kill()
    p.wait()
    return out


def sentences(text, lang):
    pat = ZH_SENT if lang == 'zh' else EN_SENT
    return [m.group(0) for m in pat.finditer(text) if m.group(0).strip()]


def load_articles(lang, limit):
    if lang == 'zh':
        raw = read_zst(os.path.join(SHARED, 'corpora', 'chinanews-2018.jsonl.zst'), limit)
        arts = [(i, t.strip()) for i, t in raw]
    else:
        raw = read_zst(os.path.join(SHARED, "corpora", "chronam-1916-jan-jun.jsonl.zst"), limit // 2)
        arts = []
        for pid, t in raw:
            # OCR pages: join hard-wrapped lines, cut at blank lines into pieces of 1,000-3,000 characters.
            text = re.sub(r'(?<!\n)\n(?!\n)', ' ', t)
            piece = ''
            for para in re.split(r'\n\s*\n', text):
                para = re.sub(r'\s+', ' ', para).strip()
                if len(para) < 40:
                    continue
                piece = (piece + '\n' + para) if piece else para
                if len(piece) >= 1000:
                    arts.append((f'{pid}@{len(arts)}', piece[:3000]))
                    piece = ''
    return [(i, t) for i, t in arts if 300 <= len(t) <= 6000]


def strip_shared_sentences(arts, lang):
    df = Counter()
    split = []
    for aid, text in arts:
        ss = sentences(text, lang)
        split.append((aid, ss))
        for k in {norm_key(s) for s in ss}:
            df[k] += 1
    out = []
    for aid, ss in split:
        kept = [s for s in ss if df[norm_key(s)] < 2 and norm_key(s)]
        text = ''.join(kept) if lang == 'zh' else ' '.join(s.strip() for s in kept)
        if len(text) >= 300:
            out.append((aid, text))
    return out


def distinct_pool(arts, lang):
    """Articles that share no passage with each other (at most 3 character 13-grams, 25-grams for English: common
    phrases), as make_bench.py picks its sources: real reprints and wire copy in the corpora are reuse this set
    does not plant."""
    g = 13 if lang == 'zh' else 25
    index, chosen = set(), []
    for aid, text in arts:
        key = norm_key(text)
        grams = {zlib.crc32(key[i:i + g].encode('utf-8')) for i in range(0, max(1, len(key) - g + 1))}
        if sum(1 for x in grams if x in index) > 3:
            continue
        index |= grams
        chosen.append((aid, text))
    return chosen


class Rewriter:
    def __init__(self, rng, lang, vocab):
        self.rng, self.lang, self.vocab = rng, lang, vocab

    def words(self, sent, rate):
        r = self.rng
        if rate <= 0:
            return sent
        if self.lang == 'zh':
            # Two characters per replacement, the next one skipped: p per position replaces a share `rate` of the
            # characters.
            chars = list(sent)
            p = rate / (2 - rate)
            k = 0
            while k < len(chars) - 1:
                if CJK.match(chars[k]) and CJK.match(chars[k + 1]) and r.random() < p:
                    w = r.choice(self.vocab)
                    chars[k:k + 2] = list(w)
                    k += 2
                else:
                    k += 1
            return ''.join(chars)

        def sub(m):
            w = m.group(0)
            if w.lower() in STOP_EN or r.random() >= rate:
                return w
            x = r.choice(self.vocab)
            return x.capitalize() if w[0].isupper() else x
        return EN_WORD.sub(sub, sent)

    def reorder(self, sent):
        comma = '，' if self.lang == 'zh' else ', '
        end = re.search(r'[。！？；.!?]*\s*$', sent).group(0)
        body = sent[:len(sent) - len(end)] if end else sent
        clauses = [c for c in body.split(comma.strip() if self.lang == 'zh' else ',') if c.strip()]
        if len(clauses) < 2:
            return sent
        clauses = [c.strip() for c in clauses] if self.lang == 'en' else clauses
        self.rng.shuffle(clauses)
        return comma.join(clauses) + end

    def rewrite(self, sents, level):
        r, p = self.rng, LEVELS[level]
        out = list(sents)
        if p['keep'] < 1.0:
            n = max(1, round(len(out) * p['keep']))
            keep = sorted(r.sample(range(len(out)), n))
            out = [out[k] for k in keep]
        if p['drop'] and len(out) > 2:
            out = [s for s in out if r.random() >= p['drop']] or out[:1]
        if p['swap']:
            for k in range(len(out) - 1):
                if r.random() < p['swap']:
                    out[k], out[k + 1] = out[k + 1], out[k]
        out = [self.reorder(s) if r.random() < p['reorder'] else s for s in out]
        out = [self.words(s, p['sub']) for s in out]
        if p['merge']:
            merged = []
            for s in out:
                if merged and r.random() < p['merge'] / 2:
                    prev = re.sub(r'[。！？；.!?]+\s*$', '', merged[-1])
                    merged[-1] = prev + ('，' if self.lang == 'zh' else ', ') + (s if self.lang == 'zh' else s[:1].lower() + s[1:])
                elif r.random() < p['merge'] / 2 and ('，' in s or ', ' in s):
                    if self.lang == 'zh':
                        k = s.index('，')
                        merged.append(s[:k] + '。' + s[k + 1:])
                    else:
                        k = s.index(', ')
                        merged.append(s[:k] + '. ' + s[k + 2:k + 3].upper() + s[k + 3:])
                else:
                    merged.append(s)
            out = merged
        return out


def join(sents, lang):
    return ''.join(sents) if lang == 'zh' else ' '.join(s.strip() for s in sents)


def pick_passage(rng, sents, size, lang):
    """(first, last) sentence indices of a passage of `size`, or None."""
    if size == 'short':
        lo, hi = (20, 60) if lang == 'zh' else (10, 30)
        units = (lambda s: len(CJK.findall(s))) if lang == 'zh' else (lambda s: len(EN_WORD.findall(s)))
        ok = [k for k, s in enumerate(sents) if lo <= units(s) <= hi]
        if not ok:
            return None
        k = rng.choice(ok)
        return k, k
    n = rng.randint(2, 5) if size == 'medium' else rng.randint(6, 15)
    if len(sents) < n:
        return None
    k = rng.randrange(0, len(sents) - n + 1)
    return k, k + n - 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--lang', choices=['zh', 'en'], required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--cases', type=int, default=300)
    ap.add_argument('--distractors', type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lang = args.lang
    arts = strip_shared_sentences(load_articles(lang, 12000), lang)
    rng.shuffle(arts)
    arts = distinct_pool(arts, lang)
    need = args.cases * 3 + args.distractors
    if len(arts) < need:
        sys.exit(f'only {len(arts)} articles of {need} needed; lower --cases or --distractors')
    sources, fillers = arts[:args.cases], arts[args.cases:args.cases * 3]
    distractors = arts[args.cases * 3:need]
    # Vocabulary for word replacements: frequent words of the fillers and distractors (never the sources).
    counts = Counter()
    for _, t in fillers + distractors:
        if lang == 'zh':
            counts.update(a + b for a, b in zip(t, t[1:]) if CJK.match(a) and CJK.match(b))
        else:
            counts.update(w.lower() for w in EN_WORD.findall(t) if len(w) > 2 and w.lower() not in STOP_EN)
    vocab = [w for w, _ in counts.most_common(5000)]
    rewriter = Rewriter(rng, lang, vocab)

    docs, spans, cases = [], [], []
    new_id = iter(f'{lang}{k:05d}' for k in range(10 ** 6))
    filler_iter = iter(fillers)
    for n, (sid, text) in enumerate(sources):
        sents = sentences(text, lang)
        size = rng.choice(['short', 'short', 'medium', 'medium', 'long'])
        level = rng.choice(['none', 'low', 'high', 'summary']) if size != 'short' else rng.choice(['none', 'low'])
        cut = pick_passage(rng, sents, size, lang)
        if cut is None:
            size, level = 'medium', rng.choice(['none', 'low', 'high'])
            cut = pick_passage(rng, sents, size, lang)
            if cut is None:
                continue
        case = f'case{n:04d}'
        src_doc = join(sents, lang)
        before = join(sents[:cut[0]], lang)
        passage = join(sents[cut[0]:cut[1] + 1], lang)
        sep = '' if lang == 'zh' or not before else ' '
        s0 = len(before) + len(sep)
        src_doc = before + sep + passage + ('' if lang == 'zh' or cut[1] + 1 == len(sents) else ' ') + \
            join(sents[cut[1] + 1:], lang)
        assert src_doc[s0:s0 + len(passage)] == passage
        rewritten = join(rewriter.rewrite(sents[cut[0]:cut[1] + 1], level), lang).strip()
        f1, f2 = next(filler_iter), next(filler_iter)

        def sentences_upto(text, limit):
            out = ''
            for s in sentences(text, lang):
                if out and len(out) + len(s) > limit:
                    break
                out = out + s if lang == 'zh' or not out else out + ' ' + s.strip()
            return out.strip()
        head = sentences_upto(f1[1], rng.randint(150, 600))
        tail = sentences_upto(f2[1], rng.randint(150, 600))
        sus = head + '\n' + rewritten + '\n' + tail
        d_src, d_sus = next(new_id), next(new_id)
        docs.append({'id': d_src, 'text': src_doc})
        docs.append({'id': d_sus, 'text': sus})
        r0 = len(head) + 1
        spans.append({'id': d_src, 'start': s0, 'end': s0 + len(passage), 'source': f'{case}#0'})
        spans.append({'id': d_sus, 'start': r0, 'end': r0 + len(rewritten), 'source': f'{case}#0'})
        cases.append({'case': case, 'source_article': sid, 'size': size, 'obfuscation': level,
                      'rates': LEVELS[level], 'source_doc': d_src, 'reuse_doc': d_sus,
                      'source_chars': len(passage), 'reuse_chars': len(rewritten)})
    for _, text in distractors:
        docs.append({'id': next(new_id), 'text': text})
    rng.shuffle(docs)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'corpus.jsonl'), 'w', encoding='utf-8') as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + '\n')
    with open(os.path.join(args.out, 'gold_spans.jsonl'), 'w', encoding='utf-8') as f:
        for s in spans:
            f.write(json.dumps(s, ensure_ascii=False) + '\n')
    with open(os.path.join(args.out, 'gold_clusters.jsonl'), 'w', encoding='utf-8') as f:
        for d in docs:
            f.write(json.dumps({'id': d['id'], 'cluster': d['id']}) + '\n')
    by = defaultdict(int)
    for c in cases:
        by[f"{c['size']}/{c['obfuscation']}"] += 1
    manifest = {'lang': lang, 'seed': args.seed, 'documents': len(docs), 'cases': len(cases),
                'cases_by_size_and_obfuscation': dict(sorted(by.items())), 'levels': LEVELS, 'case_list': cases}
    with open(os.path.join(args.out, 'manifest.json'), 'w', encoding='utf-8') as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    print(f"{len(docs)} documents, {len(cases)} cases {dict(sorted(by.items()))} -> {args.out}")


if __name__ == '__main__':
    main()
