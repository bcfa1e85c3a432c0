#!/usr/bin/env python3
"""One JSONL document of many sentences drawn from a small pool: the input of the `repeats` blow-up benchmark
(issue 9: passage detection was quadratic in the number of repeated runs of one document).

Sentences are random CJK characters (U+4E00..U+9FA5, fixed seed) of 15 to 30 characters ending in 。; no shared data.

usage: bench/gen_repeated_sentences.py OUT.jsonl --sentences 1000000 [--distinct 1] [--sep ''|'\\n'|'\\n\\n']
"""
import argparse, json, random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--sentences', type=int, default=1_000_000)
    ap.add_argument('--distinct', type=int, default=1, help='size of the pool the sentences are drawn from')
    ap.add_argument('--sep', default='', help='between sentences: "" (run-on), "\\n" (lines), "\\n\\n" (paragraphs)')
    ap.add_argument('--seed', type=int, default=9)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    pool = [''.join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(15, 30))) + '。'
            for _ in range(a.distinct)]
    sep = a.sep.encode().decode('unicode_escape')
    text = sep.join(pool[rng.randrange(a.distinct)] if a.distinct > 1 else pool[0] for _ in range(a.sentences))
    with open(a.out, 'w', encoding='utf-8') as f:
        f.write(json.dumps({'id': f'repeated-{a.sentences}x{a.distinct}', 'text': text}, ensure_ascii=False) + '\n')


if __name__ == '__main__':
    main()
