//! Clusters of duplicates: union-find over verified pairs (Tarjan 1975), and the choice of a representative.

/// Disjoint sets over `0..n` with path halving and union by smaller index, so that the root of a set is always its
/// smallest member and the result does not depend on the order of unions.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n as u32).collect() }
    }

    /// The root (smallest member) of `x`'s set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// Merges the sets of `a` and `b`; returns true when they were apart.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi as usize] = lo;
        true
    }
}

/// How the representative of a cluster is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    /// The first document in input order.
    First,
    /// The longest document (in code points); ties go to the first in input order.
    Longest,
}

/// Clusters of documents `0..n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clusters {
    /// For each document, the index of its cluster's representative (itself for a document in no cluster).
    pub representative: Vec<u32>,
    /// For each document, the size of its cluster (1 for a document in no cluster).
    pub size: Vec<u32>,
}

impl Clusters {
    /// Builds clusters from verified duplicate pairs over `n` documents, choosing each representative by `keep`
    /// with `lengths[d]` the length of document `d`. Deterministic whatever the order of `pairs`.
    pub fn from_pairs(n: usize, pairs: impl IntoIterator<Item = (u32, u32)>, keep: Keep, lengths: &[u64]) -> Clusters {
        let mut uf = UnionFind::new(n);
        for (a, b) in pairs {
            uf.union(a, b);
        }
        let roots: Vec<u32> = (0..n as u32).map(|d| uf.find(d)).collect();
        let mut size = vec![0u32; n];
        for &r in &roots {
            size[r as usize] += 1;
        }
        // Best member per root: documents are visited in input order, so ties keep the first.
        let mut best: Vec<u32> = (0..n as u32).collect();
        if keep == Keep::Longest {
            for d in 0..n {
                let r = roots[d] as usize;
                if lengths[d] > lengths[best[r] as usize] {
                    best[r] = d as u32;
                }
            }
        }
        Clusters {
            representative: roots.iter().map(|&r| best[r as usize]).collect(),
            size: roots.iter().map(|&r| size[r as usize]).collect(),
        }
    }

    /// True when document `d` is kept in a deduplicated output: it is its cluster's representative.
    pub fn is_kept(&self, d: usize) -> bool {
        self.representative[d] as usize == d
    }

    /// Number of clusters with at least two documents.
    pub fn duplicate_clusters(&self) -> usize {
        (0..self.size.len()).filter(|&d| self.size[d] > 1 && self.is_kept(d)).count()
    }
}

/// Partial reprints: a document (a reprint cut short, say) whose shingles are contained in at least `min_witnesses`
/// members of one cluster joins that cluster. Clusters are those of `pairs` over `0..n`; `contained` lists
/// `(small, large)` pairs whose containment was verified. A document contained in one document only is left alone:
/// that is also what an article inside a page of several articles looks like. Returns the `(small, large)` pairs
/// that attach documents, one per attached document, deterministically (the cluster with the most witnesses, ties
/// to the smallest root; the witness with the smallest index).
pub fn attach_partial_copies(
    n: usize,
    pairs: impl IntoIterator<Item = (u32, u32)>,
    contained: &[(u32, u32)],
    min_witnesses: usize,
) -> Vec<(u32, u32)> {
    let mut uf = UnionFind::new(n);
    for (a, b) in pairs {
        uf.union(a, b);
    }
    let mut by_small: Vec<(u32, u32, u32)> = contained.iter().map(|&(s, l)| (s, uf.find(l), l)).collect();
    by_small.sort_unstable();
    by_small.dedup();
    let mut out = Vec::new();
    for group in by_small.chunk_by(|x, y| x.0 == y.0) {
        let s = group[0].0;
        let own = uf.find(s);
        let best = group
            .chunk_by(|x, y| x.1 == y.1)
            .filter(|g| g[0].1 != own && g.len() >= min_witnesses.max(1))
            .max_by(|a, b| a.len().cmp(&b.len()).then(b[0].1.cmp(&a[0].1)));
        if let Some(g) = best {
            out.push((s, g[0].2));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_find_roots_are_smallest() {
        let mut uf = UnionFind::new(6);
        assert!(uf.union(4, 2));
        assert!(uf.union(5, 4));
        assert!(!uf.union(2, 5));
        assert_eq!(uf.find(5), 2);
        assert_eq!(uf.find(3), 3);
    }

    #[test]
    fn partial_copies_need_two_witnesses() {
        // Cluster {0, 1, 2}; document 3 is contained in 0 and 1; document 4 only in 2; document 5 in 6 (alone).
        let pairs = [(0, 1), (1, 2)];
        let contained = [(3, 0), (3, 1), (4, 2), (5, 6)];
        assert_eq!(attach_partial_copies(7, pairs, &contained, 2), vec![(3, 0)]);
        assert_eq!(attach_partial_copies(7, pairs, &contained, 1), vec![(3, 0), (4, 2), (5, 6)]);
    }

    #[test]
    fn representatives_first_and_longest() {
        let lengths = [10, 50, 30, 50, 5];
        let pairs = [(3, 1), (1, 0), (2, 4)];
        let first = Clusters::from_pairs(5, pairs, Keep::First, &lengths);
        assert_eq!(first.representative, [0, 0, 2, 0, 2]);
        assert_eq!(first.size, [3, 3, 2, 3, 2]);
        let longest = Clusters::from_pairs(5, pairs.iter().rev().copied(), Keep::Longest, &lengths);
        assert_eq!(longest.representative, [1, 1, 2, 1, 2]);
        assert_eq!(longest.duplicate_clusters(), 2);
        assert!(longest.is_kept(1) && !longest.is_kept(0));
    }
}
