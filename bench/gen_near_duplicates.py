#!/usr/bin/env python3
"""Near-duplicate documents: the input of the `dedup` blow-up benchmark (issue 9: 100k near-duplicates, 35 MB,
took 11.4 GB and wrote 27 M pairs, since the verified pairs of one large cluster grew quadratically).

Every document is one base text of random CJK characters (U+4E00..U+9FA5, fixed seed; about 350 bytes) with 1 to 4
characters replaced at random: all of them are near-duplicates of each other (Jaccard of 4-shingles about 0.8).
With --families F, the documents are spread over F such base texts. No shared data.

usage: bench/gen_near_duplicates.py OUT.jsonl --docs 100000 [--families 1] [--chars 115]
"""
import argparse, json, random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--docs', type=int, default=100_000)
    ap.add_argument('--families', type=int, default=1)
    ap.add_argument('--chars', type=int, default=115)
    ap.add_argument('--seed', type=int, default=5)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    cjk = lambda: chr(rng.randint(0x4E00, 0x9FA5))
    bases = [[cjk() for _ in range(a.chars)] for _ in range(a.families)]
    with open(a.out, 'w', encoding='utf-8') as f:
        for i in range(a.docs):
            text = list(bases[rng.randrange(a.families)])
            for _ in range(rng.randint(1, 4)):
                text[rng.randrange(len(text))] = cjk()
            f.write(json.dumps({'id': f'd{i:07d}', 'text': ''.join(text)}, ensure_ascii=False) + '\n')


if __name__ == '__main__':
    main()
