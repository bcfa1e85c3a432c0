//! Candidate pairs from LSH buckets, verified as they are generated, with memory linear in documents.
//!
//! The candidate pairs are those of [`crate::lsh::candidate_pairs`] (two documents sharing a bucket of some band,
//! each member of a bucket paired with the next `max_bucket` members), but they are never all held at once: bands
//! are visited in order and a pair is generated in the first band where it qualifies only (checked against the
//! bucket positions of earlier bands), so no pair is verified twice and no set of pairs is kept to find repeats.
//!
//! Pairs are verified in batches, in parallel, and their duplicates merged into clusters (union-find) between
//! batches. Once a cluster holds at least `large_cluster` documents, a candidate pair whose two documents are
//! already in it is not verified: its verdict could not change any cluster (nor a partial-reprint attachment, which
//! only joins a document to another cluster than its own). A document joining a large cluster is verified against
//! its members in the bucket until one is a duplicate. The clusters are the same as when every pair is verified;
//! the duplicate pairs listed for a large cluster are a spanning set of it (every pair that joined two parts)
//! instead of every pair. Clusters smaller than `large_cluster` get every candidate pair verified, as before.
//! Batches are cut by counts of pairs, never by timing, so the result does not depend on the thread count.
//!
//! A batch's pairs are generated under the clusters as they stand after the previous batch, and each document's
//! pairs (a task) are verified with what the clusters said then and the task's own verdicts only: so the tasks are
//! handed to the pool in chunks while the batch is still being generated, and the generation (one thread) overlaps
//! their verification. Their verdicts are recorded, and clusters merged, once the whole batch is verified, in batch
//! order: the same as verifying the batch after generating it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, OnceLock};

use rayon::prelude::*;

use crate::cluster::UnionFind;
use crate::verify::{least_intersection, pair_stats_at_least, stats_of, PairStats, SetSketches};

use super::ShingleSets;

/// Settings of [`verify_candidates`].
#[derive(Debug, Clone, Copy)]
pub struct CandidateSettings {
    /// LSH bands: `keys` holds `bands` bucket keys per document.
    pub bands: usize,
    /// A bucket member is paired with the next `max_bucket` members only.
    pub max_bucket: usize,
    /// Clusters of at least this many documents are verified against a spanning set (see the module
    /// documentation); 0 verifies every candidate pair.
    pub large_cluster: usize,
}

/// Which verified pairs [`verify_candidates`] lists with their statistics.
#[derive(Clone, Copy)]
pub enum Listing<'a> {
    /// Every verified pair.
    All,
    /// The pairs whose statistics satisfy this predicate, which must hold for every duplicate and, for two sets of
    /// given sizes, for a larger intersection whenever it holds for a smaller one (thresholds on Jaccard similarity
    /// and containment). The other pairs are counted as verified but not listed: most are settled from the
    /// bitmap sketches of the two sets ([`SetSketches`], an upper bound on their intersection) without reading
    /// the sets, and the comparison of the others stops as soon as the values left cannot bring the intersection
    /// up to the predicate ([`crate::verify::pair_stats_at_least`]): the verdicts, and so the clusters, are those
    /// of [`Listing::All`].
    Satisfying(&'a (dyn Fn(&PairStats) -> bool + Sync)),
}

/// What [`verify_candidates`] found.
#[derive(Debug, Clone, Default)]
pub struct VerifiedCandidates {
    /// Every verified pair `((a, b), stats)` that the [`Listing`] keeps, document indices `a < b`, sorted.
    pub pairs: Vec<((u32, u32), PairStats)>,
    /// Candidate pairs verified (the length of `pairs` with [`Listing::All`]).
    pub verified: u64,
    /// Candidate pairs not verified because their documents were already in one cluster of at least
    /// `large_cluster` documents; a pair that shares buckets in several bands counts once per such band.
    pub not_verified: u64,
}

/// One bucket member with the earlier members it is verified against.
struct Task {
    b: u32,
    /// `b` is in a large cluster already.
    b_large: bool,
    /// Where its pairs lie in [`Chunk::against`].
    against: std::ops::Range<usize>,
}

/// Consecutive tasks of a batch, verified by one job of the pool ([`verify_tasks`]), their pairs in one vector (one
/// allocation per chunk rather than one per task).
#[derive(Default)]
struct Chunk {
    tasks: Vec<Task>,
    /// `(a, root of a's cluster, a's cluster is large)` of every task in turn, nearest bucket neighbour first.
    against: Vec<(u32, u32, bool)>,
}

/// A chunk is closed once it holds this many pairs: a job of the pool then outweighs its hand-off (a few
/// microseconds), and a full batch ([`verify_in_batches`]'s `batch_pairs_min`, 32,768 pairs) is shared out over
/// about thirty jobs.
const CHUNK_PAIRS: usize = 1024;

/// Generates the candidate pairs of `keys` (`bands` bucket keys per LSH document, document-major, as
/// [`crate::lsh::candidate_pairs`] takes them) and verifies them on the shingle sets of `sets`, where LSH document
/// `k` is document `docs[k]` (increasing). `is_duplicate` says which verified pairs are duplicates. `progress` is
/// called with the number of bucket entries visited, `bands × docs.len()` in all. `listing` says which verified
/// pairs are listed with their statistics.
///
/// Memory: the bucket positions and bucket ids (4 bytes each per document and band), the union-find, the verified
/// pairs and, with [`Listing::Satisfying`], the sets' sketches (0.25 to 0.5 byte per shingle).
///
/// # Errors
/// The first error of `sets`.
pub fn verify_candidates<S: ShingleSets>(
    keys: &[u64],
    docs: &[u32],
    sets: &S,
    settings: CandidateSettings,
    is_duplicate: impl Fn(&PairStats) -> bool + Sync,
    listing: Listing<'_>,
    progress: impl FnMut(u64),
) -> Result<VerifiedCandidates, S::Error> {
    let sizes = BatchSizes { batch_pairs_min: 1 << 15, chunk_pairs: CHUNK_PAIRS };
    verify_in_batches(keys, docs, sets, settings, sizes, PRECOMPUTED_BUCKET_MAX, is_duplicate, listing, progress)
}

/// Buckets of at most this many members have the earlier-band check of their pairs done ahead, on a thread of its
/// own ([`prepare_band`]); larger ones as their pairs are generated. A pair checked ahead may turn out not to need
/// the check (both documents already in one large cluster): the bound keeps that extra work at most
/// `PRECOMPUTED_BUCKET_MAX / 2` checks per document and band.
const PRECOMPUTED_BUCKET_MAX: usize = 64;

/// How [`verify_in_batches`] cuts its work: batches of at least `batch_pairs_min` pairs (the last one aside; the
/// clusters are merged between batches), and chunks of at least `chunk_pairs` pairs (the last one of a batch aside)
/// for the jobs of the pool.
#[derive(Clone, Copy)]
struct BatchSizes {
    batch_pairs_min: usize,
    chunk_pairs: usize,
}

/// Bucket entries [`verify_in_batches`] visits between two calls of its `progress`.
const PROGRESS_ENTRIES: u64 = 1 << 16;

/// [`verify_candidates`] with batches and chunks of `sizes`, and the earlier-band check done ahead for buckets of
/// at most `precomputed_max` members.
#[allow(clippy::too_many_arguments)]
fn verify_in_batches<S: ShingleSets>(
    keys: &[u64],
    docs: &[u32],
    sets: &S,
    settings: CandidateSettings,
    sizes: BatchSizes,
    precomputed_max: usize,
    is_duplicate: impl Fn(&PairStats) -> bool + Sync,
    listing: Listing<'_>,
    mut progress: impl FnMut(u64),
) -> Result<VerifiedCandidates, S::Error> {
    let bands = settings.bands;
    let mut out = VerifiedCandidates::default();
    if bands == 0 || keys.is_empty() {
        return Ok(out);
    }
    let n = keys.len() / bands;
    let w = settings.max_bucket.max(1);
    let large = if settings.large_cluster == 0 { usize::MAX } else { settings.large_cluster };
    // pos[band][d]: rank of document d in its bucket of that band.
    let mut pos: Vec<Arc<[u32]>> = Vec::with_capacity(bands);
    let mut uf = UnionFind::new(n);
    let mut size = vec![1u32; n];
    let mut chunks = Chunks::default();
    let mut batch_pairs = 0usize;
    let mut roots: Vec<u32> = Vec::new();
    // The bands' sorted columns, bucket ranks and, for small buckets, earlier-band checks, prepared on a thread of
    // their own one or two bands ahead: none of it depends on the clusters.
    let ids = &BucketIds::new(n, bands);
    std::thread::scope(|scope| -> Result<(), S::Error> {
        let (tx, rx) = mpsc::sync_channel::<PreparedBand>(2);
        scope.spawn(move || {
            let mut pos: Vec<Arc<[u32]>> = Vec::with_capacity(bands);
            for band in 0..bands {
                let prepared = prepare_band(keys, n, bands, band, w, precomputed_max, &pos, ids);
                pos.push(prepared.pos.clone());
                if tx.send(prepared).is_err() {
                    return;
                }
            }
        });
        // The sketches are made (or not) by the first batch at the latest ([`Ctx::make_sketches_if`]).
        let ctx = &Ctx {
            docs: &docs[..n],
            sets,
            is_duplicate: &is_duplicate,
            listing,
            sketches: OnceLock::new(),
            sketches_decided: AtomicBool::new(false),
            buffers: BufferPool::default(),
        };
        // Chunks go to the pool as jobs of this scope; their verdicts come back by `done`, with their place in the
        // batch.
        rayon::in_place_scope(|pool| -> Result<(), S::Error> {
            let (done_tx, done) = mpsc::channel::<Done<S::Error>>();
            let hand_out = |chunk: Chunk, place: usize| {
                let done_tx = done_tx.clone();
                pool.spawn(move |_| {
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        verify_tasks(&chunk.tasks, &chunk.against, ctx)
                    })) {
                        Ok(verdicts) => {
                            let _ = done_tx.send((place, Some(verdicts)));
                        }
                        Err(panic) => {
                            // Tells the thread that waits for the batch, then panics on: the scope passes it on.
                            let _ = done_tx.send((place, None));
                            std::panic::resume_unwind(panic);
                        }
                    }
                });
            };
            let finish = |chunks: &mut Chunks, uf: &mut UnionFind, size: &mut [u32], out: &mut VerifiedCandidates| {
                finish_batch(chunks, &done, ctx, uf, size, out)
            };
            for band in 0..bands {
                let PreparedBand { column, pos: band_pos, fresh } = rx.recv().expect("the band thread panicked");
                if band == 0 {
                    // The first band's pairs, a lower bound on the candidate pairs: when they are many already, the
                    // sketches are made now, while the band thread sorts the next bands.
                    let first: u64 = column.chunk_by(|x, y| x.0 == y.0).map(|b| window_pairs(b.len(), w)).sum();
                    ctx.make_sketches_if(first >= (SKETCH_PAIRS_PER_DOCUMENT * n) as u64, false)?;
                }
                let mut bit_base = 0usize;
                // Bucket entries visited and not yet reported: `progress` is called every `PROGRESS_ENTRIES` of them
                // and at the band's end, not at every bucket (most hold one document: a call each was 3% of the
                // stage's CPU, on the thread that hands out its work).
                let mut unreported = 0u64;
                for bucket in column.chunk_by(|x, y| x.0 == y.0) {
                    unreported += bucket.len() as u64;
                    if unreported >= PROGRESS_ENTRIES {
                        progress(std::mem::take(&mut unreported));
                    }
                    if bucket.len() < 2 {
                        continue;
                    }
                    // Where this bucket's earlier-band checks start in `fresh`, when they were done ahead.
                    let ahead = (bucket.len() <= precomputed_max).then_some(bit_base);
                    if ahead.is_some() {
                        bit_base += window_pairs(bucket.len(), w) as usize;
                    }
                    let mut window_at = ahead.unwrap_or(0);
                    roots.clear();
                    roots.extend(bucket.iter().map(|&(_, d)| uf.find(d)));
                    if roots.iter().all(|&r| r == roots[0]) && size[roots[0] as usize] as usize >= large {
                        out.not_verified += window_pairs(bucket.len(), w);
                        continue;
                    }
                    // `main`: the largest cluster among the window's members when it is large; `others`: the
                    // positions in the window outside it. A member of `main` needs pairing with `others` only.
                    let mut main = largest_root(&roots, &size, large);
                    let mut others: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
                    if roots[0] != main.unwrap_or(u32::MAX) {
                        others.push_back(0);
                    }
                    for jb in 1..bucket.len() {
                        let b = bucket[jb].1;
                        // Roots of positions before `jb` are exact: unions happen between batches only, and then the
                        // window's roots are read again.
                        let rb = uf.find(b);
                        roots[jb] = rb;
                        let lo = jb.saturating_sub(w);
                        while others.front().is_some_and(|&k| k < lo) {
                            others.pop_front();
                        }
                        let first = chunks.open.against.len();
                        let against = &mut chunks.open.against;
                        let (window, pos) = (window_at, &pos);
                        let new_here = |ja: usize, a: u32| match ahead {
                            Some(_) => fresh[(window + ja - lo) / 64] >> ((window + ja - lo) % 64) & 1 == 1,
                            // SAFETY: the band thread wrote the ids of this band and the earlier ones before sending it
                            // (received above), and now writes only those of later bands.
                            None => !unsafe { generated_earlier(keys, ids, pos, bands, band, a, b, w) },
                        };
                        let mut consider = |ja: usize, out: &mut VerifiedCandidates| {
                            let (a, ra) = (bucket[ja].1, roots[ja]);
                            let is_large = size[ra as usize] as usize >= large;
                            if ra == rb && is_large {
                                out.not_verified += 1;
                            } else if new_here(ja, a) {
                                against.push((a, ra, is_large));
                            }
                        };
                        if main == Some(rb) {
                            out.not_verified += (jb - lo - others.len()) as u64;
                            for &ja in others.iter().rev() {
                                consider(ja, &mut out);
                            }
                        } else {
                            for ja in (lo..jb).rev() {
                                consider(ja, &mut out);
                            }
                        }
                        let end = chunks.open.against.len();
                        if end > first {
                            batch_pairs += end - first;
                            let b_large = size[rb as usize] as usize >= large;
                            chunks.open.tasks.push(Task { b, b_large, against: first..end });
                            // Verified now, while the batch is generated, once the sketches are decided (a chunk
                            // verified before them would go without them); else with the rest of the batch.
                            if end >= sizes.chunk_pairs && ctx.sketches_decided() {
                                hand_out(std::mem::take(&mut chunks.open), chunks.handed);
                                chunks.handed += 1;
                            }
                        }
                        window_at += jb - lo;
                        if Some(rb) != main {
                            others.push_back(jb);
                        }
                        if batch_pairs >= sizes.batch_pairs_min {
                            ctx.make_sketches_if(true, true)?;
                            finish(&mut chunks, &mut uf, &mut size, &mut out)?;
                            batch_pairs = 0;
                            // Clusters grew: the roots of the next window are read again.
                            let from = (jb + 1).saturating_sub(w);
                            for k in from..=jb {
                                roots[k] = uf.find(bucket[k].1);
                            }
                            main = largest_root(&roots[from..=jb], &size, large);
                            others = (from..=jb).filter(|&k| Some(roots[k]) != main).collect();
                        }
                    }
                }
                if unreported > 0 {
                    progress(unreported);
                }
                pos.push(band_pos);
            }
            ctx.make_sketches_if(batch_pairs >= SKETCH_PAIRS_PER_DOCUMENT * n, true)?;
            finish(&mut chunks, &mut uf, &mut size, &mut out)
        })
    })?;
    out.pairs.par_sort_unstable_by_key(|&(p, _)| p);
    Ok(out)
}

/// One band made ready for candidate generation ([`prepare_band`]).
struct PreparedBand {
    /// `(bucket key, LSH document)` of every document, sorted: the buckets in order, each by document.
    column: Vec<(u64, u32)>,
    /// The rank of each document in its bucket.
    pos: Arc<[u32]>,
    /// For each bucket of 2 to `precomputed_max` members, in order, for each member `jb` from the second and each
    /// earlier member `ja` in its window (`jb - w ≤ ja < jb`, increasing), one bit: set when the pair was not a
    /// candidate in an earlier band (the negation of [`generated_earlier`]).
    fresh: Vec<u64>,
}

/// The buckets of every document in the bands prepared so far, for the earlier-band check ([`generated_earlier`]):
/// `ids[d * bands + j]` is, for band `j`, the position in the band's sorted column where the bucket of document `d`
/// starts, or [`IN_WIDE_BUCKET`] when the bucket is wider than a window (more than `w + 1` members). Two documents
/// share a bucket of band `j` exactly when their starts are equal, and any two members of a bucket of at most
/// `w + 1` members are at most `w` ranks apart: equal starts settle the check without the keys or ranks, which are
/// read only for wide buckets. A document's row is 4 bytes a band, against 8 for its keys and then 4 for each rank.
///
/// The band thread writes the ids of each band before it sends the band ([`prepare_band`]), and reads them for the
/// earlier bands; candidate generation reads them for the bands before the one it received. So an id is read only
/// after it was written (the channel orders the two threads) and never written again, while the band thread writes
/// the ids of later bands beside it: atomic stores, plain reads of the finished bands ([`BucketIds::row`]).
struct BucketIds {
    bands: usize,
    ids: Vec<AtomicU32>,
}

/// [`BucketIds`] of a document in a bucket of more than `w + 1` members.
const IN_WIDE_BUCKET: u32 = u32::MAX;

impl BucketIds {
    /// Ids for `n` documents of `bands` bands, to be written.
    fn new(n: usize, bands: usize) -> BucketIds {
        BucketIds { bands, ids: (0..n * bands).map(|_| AtomicU32::new(0)).collect() }
    }

    /// Records that document `d` is in bucket `id` of band `band`.
    #[inline(always)]
    fn set(&self, d: u32, band: usize, id: u32) {
        self.ids[d as usize * self.bands + band].store(id, Ordering::Relaxed);
    }

    /// The buckets of document `d` in the bands before `band`.
    ///
    /// # Safety
    /// The ids of the bands before `band` were all written before this call (in this thread, or in one whose writes
    /// this thread has synchronized with) and are not written while the slice lives.
    #[inline(always)]
    unsafe fn row(&self, d: u32, band: usize) -> &[u32] {
        let row = &self.ids[d as usize * self.bands..][..band];
        // SAFETY: `AtomicU32` has the size, alignment and bit validity of `u32`. These ids are no longer written (the
        // caller's promise) and only read, so plain reads of them race with no write.
        unsafe { std::slice::from_raw_parts(row.as_ptr().cast::<u32>(), row.len()) }
    }
}

/// Sorts band `band`'s bucket keys, ranks the documents in their buckets, records their buckets in `ids`, and does
/// the earlier-band check of the window pairs of the buckets of at most `precomputed_max` members; `pos` and `ids`
/// hold the ranks and buckets of the earlier bands.
#[allow(clippy::too_many_arguments)]
fn prepare_band(
    keys: &[u64],
    n: usize,
    bands: usize,
    band: usize,
    w: usize,
    precomputed_max: usize,
    pos: &[Arc<[u32]>],
    ids: &BucketIds,
) -> PreparedBand {
    // Sorted by key, then document: the keys are hashes, so by their top bits first.
    let unsorted: Vec<(u64, u32)> = (0..n).map(|d| (keys[d * bands + band], d as u32)).collect();
    let column = crate::sort::sorted_by_top_bits(&unsorted, |x| x.0, &mut Vec::new(), &mut Vec::new());
    drop(unsorted);
    let mut rank = vec![0u32; n];
    let mut fresh: Vec<u64> = Vec::new();
    let mut bits = 0usize;
    let mut start = 0usize;
    for bucket in column.chunk_by(|x, y| x.0 == y.0) {
        let id = if bucket.len() > w + 1 { IN_WIDE_BUCKET } else { start as u32 };
        start += bucket.len();
        for (r, &(_, d)) in bucket.iter().enumerate() {
            rank[d as usize] = r as u32;
            ids.set(d, band, id);
        }
        if bucket.len() < 2 || bucket.len() > precomputed_max {
            continue;
        }
        fresh.resize((bits + window_pairs(bucket.len(), w) as usize).div_ceil(64), 0);
        for jb in 1..bucket.len() {
            let b = bucket[jb].1;
            for &(_, a) in &bucket[jb.saturating_sub(w)..jb] {
                // SAFETY: this thread wrote the ids of the bands before `band` (earlier calls) and writes only those
                // of `band` (above) and later ones.
                if !unsafe { generated_earlier(keys, ids, pos, bands, band, a, b, w) } {
                    fresh[bits / 64] |= 1 << (bits % 64);
                }
                bits += 1;
            }
        }
    }
    PreparedBand { column, pos: rank.into(), fresh }
}

/// True when `ia[j] == ib[j]` for some `j` where the id is not [`IN_WIDE_BUCKET`] or `wide_near(j)` holds (the
/// earlier-band check on [`BucketIds`] rows). Blocks of 8 ids are compared without a branch per id; `wide_near` is
/// called only on equal wide ids, in increasing order, until one holds.
#[inline(always)]
fn shared_earlier(ia: &[u32], ib: &[u32], wide_near: impl Fn(usize) -> bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2 (checked just above).
        return unsafe { shared_earlier_avx2(ia, ib, wide_near) };
    }
    shared_earlier_blocks(ia, ib, wide_near)
}

/// [`shared_earlier`] without vector instructions of its own (the compiler's, for the target).
#[inline(always)]
fn shared_earlier_blocks(ia: &[u32], ib: &[u32], wide_near: impl Fn(usize) -> bool) -> bool {
    let hit = |j: usize| ia[j] == ib[j] && (ia[j] != IN_WIDE_BUCKET || wide_near(j));
    for (k, (xa, xb)) in ia.chunks_exact(8).zip(ib.chunks_exact(8)).enumerate() {
        let equal = xa.iter().zip(xb).fold(false, |m, (x, y)| m | (x == y));
        if equal && (8 * k..8 * k + 8).any(hit) {
            return true;
        }
    }
    (ia.len() / 8 * 8..ia.len().min(ib.len())).any(hit)
}

/// [`shared_earlier_blocks`] compiled with AVX2 (the block comparisons become vector comparisons).
///
/// # Safety
/// The processor must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn shared_earlier_avx2(ia: &[u32], ib: &[u32], wide_near: impl Fn(usize) -> bool) -> bool {
    shared_earlier_blocks(ia, ib, wide_near)
}

/// The root of the largest cluster among `roots` (ties to the smallest root) when it has `large` documents or more.
fn largest_root(roots: &[u32], size: &[u32], large: usize) -> Option<u32> {
    let best = roots.iter().copied().max_by(|&x, &y| size[x as usize].cmp(&size[y as usize]).then(y.cmp(&x)))?;
    (size[best as usize] as usize >= large).then_some(best)
}

/// Pairs in a bucket of `m` members where each is paired with the next `w`.
fn window_pairs(m: usize, w: usize) -> u64 {
    (0..m).map(|k| (m - 1 - k).min(w) as u64).sum()
}

/// True when `a` and `b` (`a < b`) were already a candidate pair in a band before `band`: same bucket, at most `w`
/// ranks apart. `ids` holds their buckets in those bands, and `pos[j][d]` the rank of document `d` in its bucket of
/// band `j`, for the bands before `band` (read only for wide buckets).
///
/// # Safety
/// The ids of the bands before `band` were all written before the call and are not written during it
/// ([`BucketIds::row`]): the band thread calls it after writing them, candidate generation after receiving the band.
#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn generated_earlier(
    keys: &[u64],
    ids: &BucketIds,
    pos: &[Arc<[u32]>],
    bands: usize,
    band: usize,
    a: u32,
    b: u32,
    w: usize,
) -> bool {
    // Both in wide buckets of an earlier band: the same one, and near enough in it?
    let near = |j: usize| {
        keys[a as usize * bands + j] == keys[b as usize * bands + j]
            && (pos[j][b as usize] - pos[j][a as usize]) as usize <= w
    };
    // SAFETY: the ids of the bands before `band` are written and stay so (this function's contract).
    let (ia, ib) = unsafe { (ids.row(a, band), ids.row(b, band)) };
    shared_earlier(ia, ib, near)
}

/// The chunks of the batch being generated: the one being filled (the rest of the batch), and how many were handed
/// to the pool.
#[derive(Default)]
struct Chunks {
    open: Chunk,
    handed: usize,
}

/// A chunk's place in its batch and its verdicts; `None` when its job panicked.
type Done<E> = (usize, Option<Result<Verdicts, E>>);

/// The next chunk's verdicts from `done`. A thread of a rayon pool (a job run by `ThreadPool::install`, as the Python
/// package runs its jobs) verifies chunks of the pool's queue while it waits, as rayon's own joins do: else, in a
/// pool of one thread, nothing would verify the chunks it waits for.
fn next_done<E>(done: &mpsc::Receiver<Done<E>>) -> Done<E> {
    loop {
        if let Ok(d) = done.try_recv() {
            return d;
        }
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => {}
            // The chunks left are being verified on other threads of the pool.
            Some(rayon::Yield::Idle) => {
                if let Ok(d) = done.recv_timeout(std::time::Duration::from_micros(50)) {
                    return d;
                }
            }
            None => return done.recv().expect("the scope holds a sender"),
        }
    }
}

/// Verifies the pairs of `tasks` (their pairs in `all_against`), one task after another. A document in a large
/// cluster (or that joined one in its task) leaves its pairs with documents of small clusters for after the batch
/// ([`finish_batch`]).
fn verify_tasks<S: ShingleSets>(
    tasks: &[Task],
    all_against: &[(u32, u32, bool)],
    ctx: &Ctx<'_, S, impl Fn(&PairStats) -> bool + Sync>,
) -> Result<Verdicts, S::Error> {
    let (sets, docs) = (ctx.sets, ctx.docs);
    let mut bufs = ctx.buffers.take();
    let Buffers { b_buf, a_buf, bars, joined } = &mut *bufs;
    let mut v = Verdicts::default();
    for task in tasks {
        let against = &all_against[task.against.clone()];
        // The bar of each pair, or `None` where the sketches settle it below the bar.
        bars.clear();
        bars.extend(against.iter().map(|&(a, _, _)| ctx.screen(a, task.b)));
        let b_set: &[u32] =
            if bars.iter().any(Option::is_some) { sets.read(docs[task.b as usize] as usize, b_buf)? } else { &[] };
        // The large clusters this document joined in this task.
        joined.clear();
        // Members of large clusters first: once the document is a duplicate of one, it is in that cluster.
        for (&(a, ra, _), &bar) in against.iter().zip(bars.iter()).filter(|x| x.0 .2) {
            if joined.contains(&ra) {
                v.skipped += 1;
                continue;
            }
            let s = match bar {
                Some(bar) => ctx.stats(sets.read(docs[a as usize] as usize, a_buf)?, b_set, bar),
                None => None,
            };
            if s.is_some_and(|s| (ctx.is_duplicate)(&s)) {
                joined.push(ra);
            }
            v.verified.push((a, task.b, s));
        }
        for (&(a, _, _), &bar) in against.iter().zip(bars.iter()).filter(|x| !x.0 .2) {
            if task.b_large || !joined.is_empty() {
                // `b` is in a large cluster, and `a` most likely joins it in this batch too: verified after the
                // batch only when it did not.
                v.deferred.push((a, task.b));
                continue;
            }
            let s = match bar {
                Some(bar) => ctx.stats(sets.read(docs[a as usize] as usize, a_buf)?, b_set, bar),
                None => None,
            };
            v.verified.push((a, task.b, s));
        }
    }
    Ok(v)
}

/// Ends a batch: verifies the rest of it (the open chunk: all of the batch when nothing was handed out, before the
/// sketches were decided or in a batch smaller than a chunk) here, its tasks shared out over the pool
/// [`TASKS_PER_PIECE`] at a time, waits for the verdicts of the chunks handed out (by `done`), then records them all
/// and merges duplicates, in batch order. The pairs a chunk left for after the batch are verified then, in
/// parallel, only where their two documents did not end up in one cluster (in the common case, both are in the
/// large cluster by then); a pair left so is never one of a cluster that stays small: were it a duplicate, its
/// documents would be in the large cluster.
///
/// # Errors
/// An error of the sets, from any chunk.
fn finish_batch<S: ShingleSets>(
    chunks: &mut Chunks,
    done: &mpsc::Receiver<Done<S::Error>>,
    ctx: &Ctx<'_, S, impl Fn(&PairStats) -> bool + Sync>,
    uf: &mut UnionFind,
    size: &mut [u32],
    out: &mut VerifiedCandidates,
) -> Result<(), S::Error> {
    let rest = std::mem::take(&mut chunks.open);
    let rest: Result<Vec<Verdicts>, S::Error> =
        rest.tasks.par_chunks(TASKS_PER_PIECE).map(|tasks| verify_tasks(tasks, &rest.against, ctx)).collect();
    let mut results: Vec<Option<Verdicts>> = (0..chunks.handed).map(|_| None).collect();
    let mut error = None;
    for _ in 0..std::mem::take(&mut chunks.handed) {
        match next_done(done) {
            (place, Some(Ok(v))) => results[place] = Some(v),
            (_, Some(Err(e))) => error = error.or(Some(e)),
            (_, None) => panic!("a verification job panicked"),
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    let (sets, docs) = (ctx.sets, ctx.docs);
    let mut deferred: Vec<(u32, u32)> = Vec::new();
    for v in results.into_iter().map(|v| v.expect("every chunk's verdicts")).chain(rest?) {
        out.not_verified += v.skipped;
        record(v.verified, ctx, uf, size, out);
        deferred.extend(v.deferred);
    }
    // Deferred pairs whose documents did not end up in one cluster are verified now.
    let before = deferred.len();
    deferred.retain(|&(a, b)| uf.find(a) != uf.find(b));
    out.not_verified += (before - deferred.len()) as u64;
    let verified: Vec<(u32, u32, Option<PairStats>)> = deferred
        .par_iter()
        .map_init(
            || ctx.buffers.take(),
            |bufs, &(a, b)| -> Result<_, S::Error> {
                let Buffers { b_buf, a_buf, .. } = &mut **bufs;
                let Some(bar) = ctx.screen(a, b) else { return Ok((a, b, None)) };
                let a_set = sets.read(docs[a as usize] as usize, a_buf)?;
                let b_set = sets.read(docs[b as usize] as usize, b_buf)?;
                Ok((a, b, ctx.stats(a_set, b_set, bar)))
            },
        )
        .collect::<Result<_, S::Error>>()?;
    record(verified, ctx, uf, size, out);
    Ok(())
}

/// Candidate pairs per LSH document from which the sets' sketches are made for the screen ([`Ctx::make_sketches_if`]):
/// as soon as the first band has that many pairs, or else when the first batch is full or, being the last, has that
/// many.
///
/// Making the sketches reads every set once and sets a bit per value (on zh-dev's 3,521 LSH documents, 2.7-4.4 ms
/// on two threads); the screen saves the merge of a pair it settles, which reads both sets. So they pay where pairs
/// far below the bar outnumber the documents: a full batch ([`verify_in_batches`]'s `batch_pairs_min`, 32,768 pairs)
/// on the 1 GB corpus's 5.3 million candidate pairs for 85,000 documents, not zh-dev's one batch of 2,013 pairs for
/// 3,521 documents, 88% of them duplicates, which the screen lets through anyway (found 8.3-8.5 ms after the
/// first pass without the sketches, 10.9-13.5 ms with them).
const SKETCH_PAIRS_PER_DOCUMENT: usize = 2;

/// What the verification needs besides the clusters: the shingle sets, the duplicate rule, the listing and, with
/// [`Listing::Satisfying`] and many pairs, the sketches of the sets (by LSH document).
struct Ctx<'a, S, F> {
    docs: &'a [u32],
    sets: &'a S,
    is_duplicate: &'a F,
    listing: Listing<'a>,
    /// Set at most once, while no chunk is being verified ([`Ctx::make_sketches_if`]).
    sketches: OnceLock<SetSketches>,
    /// Whether it is decided whether to make the sketches ([`Ctx::make_sketches_if`]).
    sketches_decided: AtomicBool,
    buffers: BufferPool,
}

/// The working vectors of one thread verifying tasks ([`verify_tasks`]: a chunk, or a piece of the rest of a batch)
/// or its part of a batch's deferred pairs ([`finish_batch`]).
#[derive(Default)]
struct Buffers {
    /// The set of the task's document (read from storage).
    b_buf: Vec<u32>,
    /// The set of the document it is compared with.
    a_buf: Vec<u32>,
    /// The bar of each pair of the task ([`Ctx::screen`]).
    bars: Vec<Option<u64>>,
    /// The large clusters the task's document joined.
    joined: Vec<u32>,
}

/// [`Buffers`] kept from one part of a batch to the next, for the whole verification: rayon makes a part's working
/// vectors (`map_init`) several times a batch on each thread, and vectors made anew grow again to the size of the
/// largest set they read, which for large sets means fresh pages from the kernel each time.
#[derive(Default)]
struct BufferPool(std::sync::Mutex<Vec<Buffers>>);

impl BufferPool {
    /// Buffers from the pool (new ones when it has none), given back when the guard is dropped.
    fn take(&self) -> PooledBuffers<'_> {
        let bufs = self.0.lock().map(|mut v| v.pop()).ok().flatten().unwrap_or_default();
        PooledBuffers { bufs, pool: self }
    }
}

/// [`Buffers`] taken from a [`BufferPool`], back to it when dropped.
struct PooledBuffers<'a> {
    bufs: Buffers,
    pool: &'a BufferPool,
}

impl std::ops::Deref for PooledBuffers<'_> {
    type Target = Buffers;
    fn deref(&self) -> &Buffers {
        &self.bufs
    }
}

impl std::ops::DerefMut for PooledBuffers<'_> {
    fn deref_mut(&mut self) -> &mut Buffers {
        &mut self.bufs
    }
}

impl Drop for PooledBuffers<'_> {
    fn drop(&mut self) {
        if let Ok(mut pool) = self.pool.0.lock() {
            pool.push(std::mem::take(&mut self.bufs));
        }
    }
}

impl<S: ShingleSets, F> Ctx<'_, S, F> {
    /// Makes the sketches of the sets, on the pool, when `pays` and the listing is [`Listing::Satisfying`], unless it
    /// was decided already; `decide`: decided from now on, made or not. The verdicts are the same either way
    /// ([`Ctx::screen`]).
    ///
    /// # Errors
    /// The first error of the sets.
    fn make_sketches_if(&self, pays: bool, decide: bool) -> Result<(), S::Error> {
        if self.sketches_decided() {
            return Ok(());
        }
        if pays {
            let _ = self.sketches.set(SetSketches::of_sets(self.sets, self.docs)?);
        }
        self.sketches_decided.store(pays || decide, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the sketches will not change any more: made, or decided against, or never made (with
    /// [`Listing::All`]). Chunks are verified while their batch is generated only from then on.
    fn sketches_decided(&self) -> bool {
        matches!(self.listing, Listing::All) || self.sketches_decided.load(Ordering::Relaxed)
    }

    /// The least intersection that LSH documents `a` and `b` need to be listed (0 with [`Listing::All`]), or
    /// `None` when their sketches (when there are) bound the intersection below it: the pair is then neither listed
    /// nor a duplicate, which is what [`Ctx::stats`] would find.
    fn screen(&self, a: u32, b: u32) -> Option<u64> {
        let Listing::Satisfying(wanted) = self.listing else {
            return Some(0);
        };
        let (a_len, b_len) = match self.sketches.get() {
            Some(sketches) => {
                let (a_len, b_len) = (sketches.set_len(a as usize), sketches.set_len(b as usize));
                // `wanted` grows with the intersection: the bound is below the bar exactly when it fails there.
                if !wanted(&stats_of(sketches.intersection_bound(a as usize, b as usize), a_len, b_len)) {
                    return None;
                }
                (a_len, b_len)
            }
            None => {
                (self.sets.set_len(self.docs[a as usize] as usize), self.sets.set_len(self.docs[b as usize] as usize))
            }
        };
        Some(least_intersection(a_len, b_len, wanted))
    }

    /// The statistics of a pair, or `None` for a pair the listing leaves out (neither listed nor a duplicate);
    /// `bar` is the pair's [`Ctx::screen`].
    fn stats(&self, a: &[u32], b: &[u32], bar: u64) -> Option<PairStats> {
        match self.listing {
            Listing::All => pair_stats_at_least(a, b, 0),
            Listing::Satisfying(wanted) if a.is_empty() || b.is_empty() => {
                Some(pair_stats_at_least(a, b, 0).expect("at least 0")).filter(|s| wanted(s))
            }
            Listing::Satisfying(_) => pair_stats_at_least(a, b, bar),
        }
    }
}

/// Tasks verified one after another by one thread in [`finish_batch`]'s part of a batch: enough to share out a batch
/// (at least `batch_pairs_min` pairs, each task one or more) over the threads, few enough that each piece's vectors
/// are allocated once for many tasks.
const TASKS_PER_PIECE: usize = 32;

/// What the tasks of one chunk (or piece of one) found, in task order.
#[derive(Default)]
struct Verdicts {
    /// Verified pairs; `None`: not listed (and not a duplicate).
    verified: Vec<(u32, u32, Option<PairStats>)>,
    /// Pairs left for after the batch.
    deferred: Vec<(u32, u32)>,
    /// Pairs not verified: the document had already joined the other's large cluster.
    skipped: u64,
}

/// Records verified pairs in order, merging the clusters of duplicates.
fn record<S>(
    verified: Vec<(u32, u32, Option<PairStats>)>,
    ctx: &Ctx<'_, S, impl Fn(&PairStats) -> bool + Sync>,
    uf: &mut UnionFind,
    size: &mut [u32],
    out: &mut VerifiedCandidates,
) {
    for (a, b, s) in verified {
        out.verified += 1;
        let Some(s) = s else { continue };
        if (ctx.is_duplicate)(&s) {
            let (ra, rb) = (uf.find(a), uf.find(b));
            if ra != rb {
                uf.union(a, b);
                size[ra.min(rb) as usize] = size[ra as usize] + size[rb as usize];
            }
        }
        let (a, b) = (ctx.docs[a.min(b) as usize], ctx.docs[a.max(b) as usize]);
        out.pairs.push(((a, b), s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Clusters, Keep};
    use crate::dedup::MemorySets;
    use crate::lsh::candidate_pairs;
    use crate::verify::pair_stats;

    use crate::testing::Rng;

    /// Random shingle sets in families (near-duplicates of a family base), and bucket keys drawn so that members
    /// of a family often share buckets and strangers sometimes do.
    fn corpus(rng: &mut Rng, docs: usize, families: usize, bands: usize) -> (Vec<Vec<u32>>, Vec<u64>) {
        let bases: Vec<Vec<u32>> = (0..families).map(|f| (0..60).map(|k| (f * 1000 + k) as u32).collect()).collect();
        let mut sets = Vec::new();
        let mut keys = Vec::new();
        for _ in 0..docs {
            let f = rng.below(families as u64) as usize;
            let mut s: Vec<u32> = bases[f].iter().copied().filter(|_| rng.below(10) > 0).collect();
            s.extend((0..rng.below(8)).map(|_| 1_000_000 + rng.below(1000) as u32));
            s.sort_unstable();
            s.dedup();
            sets.push(s);
            for band in 0..bands {
                keys.push(
                    if rng.below(3) == 0 { rng.below(5) } else { (f * 10 + band % 3) as u64 } + 100 * band as u64,
                );
            }
        }
        (sets, keys)
    }

    fn run(sets: &[Vec<u32>], keys: &[u64], bands: usize, max_bucket: usize, large: usize) -> Found {
        run_batches(sets, keys, bands, max_bucket, large, 1 << 15)
    }

    /// Batches of at least `batch` pairs, handed to the pool in chunks of about a third of that (so that they are
    /// verified while the batch is generated) or, for batches of one to three pairs, pair by pair.
    fn sizes(batch: usize) -> BatchSizes {
        BatchSizes { batch_pairs_min: batch, chunk_pairs: batch.div_ceil(3) }
    }

    /// Every verified pair, the duplicate pairs and the contained (not duplicate) pairs.
    struct Found {
        all: Vec<((u32, u32), PairStats)>,
        duplicates: Vec<((u32, u32), PairStats)>,
        contained: Vec<((u32, u32), PairStats)>,
        verified: u64,
        not_verified: u64,
    }

    fn run_batches(
        sets: &[Vec<u32>],
        keys: &[u64],
        bands: usize,
        max_bucket: usize,
        large: usize,
        batch: usize,
    ) -> Found {
        let settings = CandidateSettings { bands, max_bucket, large_cluster: large };
        let mut store = MemorySets::default();
        for s in sets {
            store.push(s);
        }
        let docs: Vec<u32> = (0..sets.len() as u32).collect();
        let dup = |s: &PairStats| s.jaccard >= 0.5;
        let v = verify_in_batches(keys, &docs, &store, settings, sizes(batch), 64, dup, Listing::All, |_| {}).unwrap();
        Found {
            duplicates: v.pairs.iter().filter(|(_, s)| dup(s)).copied().collect(),
            contained: v.pairs.iter().filter(|(_, s)| !dup(s) && s.containment >= 0.8).copied().collect(),
            all: v.pairs,
            verified: v.verified,
            not_verified: v.not_verified,
        }
    }

    #[test]
    fn every_candidate_is_verified_once_without_large_clusters() {
        let mut rng = Rng(77);
        for case in 0..40 {
            // Up to 20 bands: blocks of 8 bands and the rest (`generated_earlier`).
            let bands = 1 + rng.below(20) as usize;
            let max_bucket = 1 + rng.below(8) as usize;
            let (docs, families) = (5 + rng.below(120) as usize, 1 + rng.below(6) as usize);
            let (sets, keys) = corpus(&mut rng, docs, families, bands);
            let got = run_batches(&sets, &keys, bands, max_bucket, 0, 1 + rng.below(300) as usize);
            let expected = candidate_pairs(&keys, bands, max_bucket);
            let pairs: Vec<(u32, u32)> = got.all.iter().map(|&(p, _)| p).collect();
            assert_eq!(pairs, expected, "case {case}");
            assert_eq!(got.verified, expected.len() as u64);
            assert_eq!(got.not_verified, 0);
            // The earlier-band checks all made as the pairs come (none ahead) find the same pairs.
            let mut store = MemorySets::default();
            for s in &sets {
                store.push(s);
            }
            let ids: Vec<u32> = (0..docs as u32).collect();
            let settings = CandidateSettings { bands, max_bucket, large_cluster: 0 };
            let dup = |s: &PairStats| s.jaccard >= 0.5;
            let none_ahead = verify_in_batches(&keys, &ids, &store, settings, sizes(64), 0, dup, Listing::All, |_| {});
            let none_ahead: Vec<(u32, u32)> = none_ahead.unwrap().pairs.iter().map(|&(p, _)| p).collect();
            assert_eq!(none_ahead, expected, "case {case}");
            for &(p, s) in &got.all {
                assert_eq!(s, pair_stats(&sets[p.0 as usize], &sets[p.1 as usize]));
            }
        }
    }

    #[test]
    fn a_listing_keeps_the_verdicts_and_lists_the_pairs_it_wants() {
        let mut rng = Rng(991);
        let (mut unsketched, mut sketched) = (0, 0);
        for case in 0..40 {
            let bands = 1 + rng.below(6) as usize;
            let max_bucket = 1 + rng.below(20) as usize;
            let docs = 20 + rng.below(300) as usize;
            let families = 1 + rng.below(5) as usize;
            let (sets, keys) = corpus(&mut rng, docs, families, bands);
            let large = if case % 2 == 0 { 0 } else { 2 + rng.below(20) as usize };
            let mut store = MemorySets::default();
            for s in &sets {
                store.push(s);
            }
            let ids: Vec<u32> = (0..docs as u32).collect();
            let settings = CandidateSettings { bands, max_bucket, large_cluster: large };
            let dup = |s: &PairStats| s.jaccard >= 0.5;
            let wanted = |s: &PairStats| s.jaccard >= 0.5 || s.containment >= 0.8;
            let batch = 1 + rng.below(300) as usize;
            let all =
                verify_in_batches(&keys, &ids, &store, settings, sizes(batch), 64, dup, Listing::All, |_| {}).unwrap();
            let some = verify_in_batches(
                &keys,
                &ids,
                &store,
                settings,
                sizes(batch),
                64,
                dup,
                Listing::Satisfying(&wanted),
                |_| {},
            )
            .unwrap();
            let expected: Vec<_> = all.pairs.iter().filter(|(_, s)| wanted(s)).copied().collect();
            assert_eq!(some.pairs, expected, "case {case}");
            assert_eq!((some.verified, some.not_verified), (all.verified, all.not_verified), "case {case}");
            // All pairs in one last batch: sketched only with at least two pairs per document (the bars from the
            // set sizes alone otherwise); the same verdicts as every pair merged in full in one batch.
            let once = |listing| {
                verify_in_batches(&keys, &ids, &store, settings, sizes(1 << 30), 64, dup, listing, |_| {}).unwrap()
            };
            let (all_once, some_once) = (once(Listing::All), once(Listing::Satisfying(&wanted)));
            let expected: Vec<_> = all_once.pairs.iter().filter(|(_, s)| wanted(s)).copied().collect();
            assert_eq!(some_once.pairs, expected, "case {case}, one batch");
            let counts = |v: &VerifiedCandidates| (v.verified, v.not_verified);
            assert_eq!(counts(&some_once), counts(&all_once), "case {case}, one batch");
            // Without large clusters every candidate pair is verified in that batch and the first band's are some of
            // them: fewer than two per document, no sketch; at least that many, sketches.
            if large == 0 {
                let few = (all_once.verified as usize) < SKETCH_PAIRS_PER_DOCUMENT * docs;
                (unsketched, sketched) = (unsketched + usize::from(few), sketched + usize::from(!few));
            }
        }
        assert!(unsketched > 0 && sketched > 0, "one batch without sketches {unsketched}, with {sketched} of 20");
    }

    #[test]
    fn sketches_are_made_once_when_they_pay() {
        let sets: Vec<Vec<u32>> = (0..10u32).map(|d| (d..d + 30).collect()).collect();
        let mut store = MemorySets::default();
        for s in &sets {
            store.push(s);
        }
        let docs: Vec<u32> = (0..10).collect();
        let dup = |s: &PairStats| s.jaccard >= 0.5;
        let wanted = |s: &PairStats| s.jaccard >= 0.5;
        let ctx = |listing| Ctx {
            docs: &docs,
            sets: &store,
            is_duplicate: &dup,
            listing,
            sketches: OnceLock::new(),
            sketches_decided: AtomicBool::new(false),
            buffers: BufferPool::default(),
        };
        let made = |listing, calls: &[(bool, bool)]| {
            let c = ctx(listing);
            for &(pays, decide) in calls {
                c.make_sketches_if(pays, decide).unwrap();
            }
            c.sketches.get().map(|s| s.len())
        };
        let some = Listing::Satisfying(&wanted);
        assert_eq!(made(some, &[(false, false)]), None);
        assert_eq!(made(some, &[(true, false)]), Some(10));
        assert_eq!(made(some, &[(false, false), (true, true)]), Some(10), "not decided by the first band");
        assert_eq!(made(some, &[(false, true), (true, true)]), None, "decided once");
        assert_eq!(made(Listing::All, &[(true, true)]), None, "every pair merged in full");
        // Without sketches the bar comes from the set sizes: the least intersection `wanted` needs.
        let c = ctx(some);
        assert_eq!(c.screen(0, 1), Some(least_intersection(30, 30, wanted)));
    }

    #[test]
    fn large_clusters_are_the_same_clusters_from_fewer_pairs() {
        let mut rng = Rng(4242);
        let mut pruned_some = false;
        for case in 0..40 {
            let bands = 1 + rng.below(6) as usize;
            let max_bucket = 1 + rng.below(40) as usize;
            let docs = 50 + rng.below(400) as usize;
            let families = 1 + rng.below(4) as usize;
            let (sets, keys) = corpus(&mut rng, docs, families, bands);
            let full = run(&sets, &keys, bands, max_bucket, 0);
            let large = 2 + rng.below(20) as usize;
            let fast = run_batches(&sets, &keys, bands, max_bucket, large, 1 + rng.below(300) as usize);
            let clusters = |v: &Found| {
                let lengths = vec![0; docs];
                Clusters::from_pairs(docs, v.duplicates.iter().map(|&(p, _)| p), Keep::First, &lengths)
            };
            let (cf, cq) = (clusters(&full), clusters(&fast));
            assert_eq!(cf, cq, "case {case}: the same clusters");
            // Pairs listed only for clusters that reached `large`; every other duplicate pair is kept.
            for &(p, s) in &full.duplicates {
                if (cf.size[p.0 as usize] as usize) < large {
                    assert!(fast.duplicates.contains(&(p, s)), "case {case}: {p:?} of a small cluster");
                }
            }
            // Contained pairs across clusters (what partial reprints use) are all kept.
            for &(p, s) in &full.contained {
                if cf.representative[p.0 as usize] != cf.representative[p.1 as usize] {
                    assert!(fast.contained.contains(&(p, s)), "case {case}: contained {p:?}");
                }
            }
            assert!(fast.verified <= full.verified);
            pruned_some |= fast.verified < full.verified;
        }
        assert!(pruned_some, "the random corpora have large clusters");
    }

    /// A random corpus ([`corpus`]) of 20 to 319 documents in up to 8 families, its sets in memory, with up to 20
    /// bands (blocks of 8 and the rest) and windows of up to 12 (narrower and wider than the buckets); clusters of 2
    /// to 21 documents or more count as large in odd cases, none in even ones.
    struct RandomCase {
        keys: Vec<u64>,
        store: MemorySets,
        ids: Vec<u32>,
        settings: CandidateSettings,
        docs: usize,
    }

    fn random_case(rng: &mut Rng, case: usize) -> RandomCase {
        let bands = 1 + rng.below(20) as usize;
        let max_bucket = 1 + rng.below(12) as usize;
        let docs = 20 + rng.below(300) as usize;
        let families = 1 + rng.below(8) as usize;
        let (sets, keys) = corpus(rng, docs, families, bands);
        let mut store = MemorySets::default();
        for s in &sets {
            store.push(s);
        }
        let ids: Vec<u32> = (0..docs as u32).collect();
        let large = if case.is_multiple_of(2) { 0 } else { 2 + rng.below(20) as usize };
        let settings = CandidateSettings { bands, max_bucket, large_cluster: large };
        RandomCase { keys, store, ids, settings, docs }
    }

    #[test]
    fn checks_done_ahead_or_as_pairs_come_give_the_same_result() {
        let mut rng = Rng(5150);
        for case in 0..40 {
            let RandomCase { keys, store, ids, settings, docs } = random_case(&mut rng, case);
            let dup = |s: &PairStats| s.jaccard >= 0.5;
            let batch = 1 + rng.below(300) as usize;
            let with = |ahead: usize| {
                let v =
                    verify_in_batches(&keys, &ids, &store, settings, sizes(batch), ahead, dup, Listing::All, |_| {});
                let v = v.unwrap();
                (v.pairs, v.verified, v.not_verified)
            };
            // None done ahead, all of them, and a bound that splits the buckets.
            let reference = with(0);
            assert!(reference.1 > 0, "case {case}: candidates");
            assert_eq!(with(usize::MAX), reference, "case {case}");
            assert_eq!(with(2 + rng.below(docs as u64 / 2) as usize), reference, "case {case}");
        }
    }

    #[test]
    fn chunks_verified_while_their_batch_is_generated_give_the_same_result() {
        let mut rng = Rng(8128);
        let mut streamed = 0;
        let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        for case in 0..40 {
            let RandomCase { keys, store, ids, settings, .. } = random_case(&mut rng, case);
            let dup = |s: &PairStats| s.jaccard >= 0.5;
            let wanted = |s: &PairStats| s.jaccard >= 0.5 || s.containment >= 0.8;
            let listing = if case % 4 < 2 { Listing::All } else { Listing::Satisfying(&wanted) };
            let batch_pairs_min = 1 + rng.below(300) as usize;
            let with = |chunk_pairs: usize| {
                let sizes = BatchSizes { batch_pairs_min, chunk_pairs };
                let v = verify_in_batches(&keys, &ids, &store, settings, sizes, 64, dup, listing, |_| {}).unwrap();
                (v.pairs, v.verified, v.not_verified)
            };
            // Chunks closed at the end of their batch only, against chunks of 1 to `batch_pairs_min` pairs, on this
            // thread (outside the pool) and inside a pool of one thread, which must verify the chunks it waits for.
            let reference = with(usize::MAX);
            let chunk_pairs = 1 + rng.below(batch_pairs_min as u64) as usize;
            assert_eq!(with(chunk_pairs), reference, "case {case}");
            assert_eq!(one_thread.install(|| with(chunk_pairs)), reference, "case {case}, one thread");
            streamed += usize::from(reference.1 as usize > batch_pairs_min);
        }
        assert!(streamed > 20, "most cases have several batches: {streamed}");
    }

    #[test]
    fn bucket_ids_find_the_first_shared_band_on_every_path() {
        // Rows of ids with few distinct values (many equal), some of them wide: every path agrees with a plain scan.
        let mut rng = Rng(6007);
        for case in 0..3000 {
            let len = rng.below(40) as usize;
            let id = |rng: &mut Rng| if rng.below(5) == 0 { IN_WIDE_BUCKET } else { rng.below(12) as u32 };
            let ia: Vec<u32> = (0..len).map(|_| id(&mut rng)).collect();
            let ib: Vec<u32> = (0..len).map(|_| id(&mut rng)).collect();
            let near: Vec<bool> = (0..len).map(|_| rng.below(2) == 0).collect();
            let want = (0..len).any(|j| ia[j] == ib[j] && (ia[j] != IN_WIDE_BUCKET || near[j]));
            assert_eq!(shared_earlier(&ia, &ib, |j| near[j]), want, "case {case}");
            assert_eq!(shared_earlier_blocks(&ia, &ib, |j| near[j]), want, "case {case}");
            // `wide_near` is asked about equal wide ids only.
            let asked = std::cell::RefCell::new(Vec::new());
            shared_earlier(&ia, &ib, |j| {
                asked.borrow_mut().push(j);
                near[j]
            });
            assert!(asked.borrow().iter().all(|&j| ia[j] == IN_WIDE_BUCKET && ib[j] == IN_WIDE_BUCKET));
        }
    }

    #[test]
    fn progress_counts_every_bucket_entry_in_few_calls() {
        let mut rng = Rng(3131);
        for case in 0..20 {
            let RandomCase { keys, store, ids, settings, docs } = random_case(&mut rng, case);
            let dup = |s: &PairStats| s.jaccard >= 0.5;
            let mut reports = Vec::new();
            verify_candidates(&keys, &ids, &store, settings, dup, Listing::All, |k| reports.push(k)).unwrap();
            assert_eq!(reports.iter().sum::<u64>(), (docs * settings.bands) as u64, "case {case}");
            // One report at each band's end, and one per `PROGRESS_ENTRIES` entries within a band at most.
            let most = settings.bands + (docs * settings.bands) / PROGRESS_ENTRIES as usize;
            assert!(reports.len() <= most, "case {case}: {} reports", reports.len());
        }
        // A band of more than `PROGRESS_ENTRIES` singleton buckets reports within the band too.
        let docs = 3 * PROGRESS_ENTRIES as usize;
        let sets: Vec<Vec<u32>> = (0..docs as u32).map(|d| vec![d]).collect();
        let keys: Vec<u64> = (0..docs as u64).collect();
        let mut store = MemorySets::default();
        for s in &sets {
            store.push(s);
        }
        let ids: Vec<u32> = (0..docs as u32).collect();
        let settings = CandidateSettings { bands: 1, max_bucket: 8, large_cluster: 0 };
        let mut reports = Vec::new();
        let dup = |s: &PairStats| s.jaccard >= 0.5;
        verify_candidates(&keys, &ids, &store, settings, dup, Listing::All, |k| reports.push(k)).unwrap();
        assert_eq!(reports, vec![PROGRESS_ENTRIES; 3]);
    }

    #[test]
    fn one_large_cluster_costs_about_one_verification_per_document() {
        // 20 000 near-duplicates in one bucket of every band: the full candidate set is 20 000 × 256 pairs.
        let docs = 20_000usize;
        let bands = 4;
        let sets: Vec<Vec<u32>> = (0..docs).map(|d| (0..50u32).chain([1000 + d as u32]).collect()).collect();
        let keys = vec![7u64; docs * bands];
        let got = run(&sets, &keys, bands, 256, 64);
        assert!(got.verified < 3 * docs as u64, "{} verifications", got.verified);
        let lengths = vec![0; docs];
        let c = Clusters::from_pairs(docs, got.duplicates.iter().map(|&(p, _)| p), Keep::First, &lengths);
        assert_eq!(c.size[0] as usize, docs);
    }
}
