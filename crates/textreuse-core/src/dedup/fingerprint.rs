//! The fingerprint of one document: its shingle set, MinHash signature and LSH band keys.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::boilerplate::BoilerplateFilter;
use crate::error::Error;
use crate::lsh::LshParams;
use crate::minhash::MinHasher;
use crate::normalize::{normalize_unconverted_into, NormalizeOptions};
use crate::shingle::{narrow_set, shingle_set_of_unconverted, Ngram, ShingleBuffers};

use super::DedupOptions;

/// What document-level deduplication keeps of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The shingle set as verification compares it: the top 32 bits of the 64-bit hashes (seeded XXH3) of every
    /// window of `ngram` units of the normalized text, sorted and de-duplicated ([`crate::shingle::shingle_set`],
    /// then [`crate::shingle::narrow_set`]). Never empty.
    pub shingles: Vec<u32>,
    /// The MinHash signature of the 64-bit shingle set: `num_perm` values ([`MinHasher::signature`]).
    pub signature: Vec<u64>,
    /// One LSH bucket key per band ([`LshParams::band_keys`]): `bands` values.
    pub band_keys: Vec<u64>,
    /// A 64-bit hash (XXH3 seeded with the seed) of the whole 64-bit shingle set: equal sets have equal hashes,
    /// which is how exact duplicates are folded before LSH.
    pub set_hash: u64,
    /// Length of the original text in Unicode code points.
    pub chars: u64,
}

/// Nanoseconds spent in each step of [`Fingerprinter::fingerprint_timed`], summed over threads.
#[derive(Debug, Default)]
pub struct FingerprintTimes {
    /// Normalization but the script conversion.
    pub normalize: AtomicU64,
    /// Script conversion, units and shingle hashes.
    pub shingle: AtomicU64,
    /// MinHash signature, band keys and the set hash.
    pub minhash: AtomicU64,
}

fn timed<T>(counter: Option<&AtomicU64>, f: impl FnOnce() -> T) -> T {
    match counter {
        Some(c) => {
            let t = Instant::now();
            let r = f();
            c.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            r
        }
        None => f(),
    }
}

/// Turns texts into [`Fingerprint`]s with fixed settings: boilerplate blanked (when a filter is set) →
/// normalization ([`crate::normalize::normalize_text_into`]; the script conversion runs while units are cut,
/// [`crate::shingle::shingle_set_of_unconverted`]) → units → shingle set of `ngram` units →
/// one-permutation MinHash signature of `num_perm` values →
/// LSH band keys (bands × rows chosen by [`LshParams::optimal`] for [`DedupOptions::effective_lsh_threshold`],
/// false negatives weighted 0.7 and false positives 0.3). `Sync`: one fingerprinter serves every thread.
///
/// ```
/// use textreuse_core::dedup::{DedupOptions, Fingerprinter};
/// let f = Fingerprinter::new(&DedupOptions::default()).unwrap();
/// let a = f.fingerprint("市長同校長會談，討論教育。").unwrap();
/// let b = f.fingerprint("市长同校长会谈，讨论教育。").unwrap();
/// assert_eq!(a.shingles, b.shingles); // traditional and simplified script shingle alike
/// assert_eq!(a.signature.len(), 128);
/// assert_eq!(a.band_keys.len(), f.lsh().bands);
/// assert!(f.fingerprint("。，！").is_none()); // no letter, digit or CJK character
/// ```
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    normalize: NormalizeOptions,
    ngram: Ngram,
    seed: u64,
    hasher: MinHasher,
    lsh: LshParams,
    boilerplate: Option<Arc<BoilerplateFilter>>,
}

impl Fingerprinter {
    /// A fingerprinter for these settings (only normalization, shingles, MinHash, LSH and boilerplate matter here).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when a setting is out of range ([`DedupOptions::validate`]).
    pub fn new(options: &DedupOptions) -> Result<Fingerprinter, Error> {
        options.validate()?;
        // False negatives cost recall for good; false positives only cost a verification: weigh misses more.
        let lsh = LshParams::optimal(options.effective_lsh_threshold(), options.num_perm, 0.3, 0.7);
        Ok(Fingerprinter {
            normalize: options.normalize,
            ngram: options.shingle_ngram(),
            seed: options.seed,
            hasher: MinHasher::new(options.num_perm, options.seed),
            lsh,
            boilerplate: options.boilerplate.clone(),
        })
    }

    /// Bands × rows of the LSH band keys.
    pub fn lsh(&self) -> LshParams {
        self.lsh
    }

    /// Values per MinHash signature.
    pub fn num_perm(&self) -> usize {
        self.hasher.num_perm()
    }

    /// Units per shingle (from a CJK character, from a word).
    pub fn ngram(&self) -> Ngram {
        self.ngram
    }

    /// The seed of shingle hashes and MinHash.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The MinHash hasher (`num_perm` values, seeded).
    pub fn hasher(&self) -> &MinHasher {
        &self.hasher
    }

    /// The fingerprint of `text`, or `None` when its normalized text has no unit (no letter, digit or CJK
    /// character), hence no shingle.
    pub fn fingerprint(&self, text: &str) -> Option<Fingerprint> {
        self.fingerprint_with(text, None)
    }

    /// [`Fingerprinter::fingerprint`], adding the time of each step to `times`.
    pub fn fingerprint_timed(&self, text: &str, times: &FingerprintTimes) -> Option<Fingerprint> {
        self.fingerprint_with(text, Some(times))
    }

    fn fingerprint_with(&self, text: &str, times: Option<&FingerprintTimes>) -> Option<Fingerprint> {
        let (chars, set) = self.shingle_set(text, times);
        if set.is_empty() {
            return None;
        }
        let (signature, band_keys, set_hash) = timed(times.map(|t| &t.minhash), || {
            let sig = self.hasher.signature(&set);
            let keys = self.lsh.band_keys(&sig);
            (sig, keys, set_hash(&set, self.seed))
        });
        Some(Fingerprint { shingles: narrow_set(&set), signature, band_keys, set_hash, chars: chars as u64 })
    }

    /// The shingle set of `text` alone as verification compares it ([`Fingerprint::shingles`]: boilerplate blanked,
    /// normalized, shingled; 32-bit values, sorted, de-duplicated; empty when the text has no unit).
    pub fn shingles(&self, text: &str) -> Vec<u32> {
        narrow_set(&self.shingle_hashes(text))
    }

    /// The 64-bit shingle set of `text` alone, from which the MinHash signature and the set hash are computed
    /// (sorted, de-duplicated hashes; [`Fingerprinter::shingles`] keeps their top 32 bits).
    pub fn shingle_hashes(&self, text: &str) -> Vec<u64> {
        self.shingle_set(text, None).1
    }

    /// The length of `text` in code points and its shingle set, the time of each step added to `times`
    /// ([`shingle_set_timed`] after the boilerplate is blanked).
    fn shingle_set(&self, text: &str, times: Option<&FingerprintTimes>) -> (u32, Vec<u64>) {
        let text = match &self.boilerplate {
            Some(f) => f.apply(text),
            None => Cow::Borrowed(text),
        };
        shingle_set_timed(&text, &self.normalize, self.ngram, self.seed, times)
    }
}

/// The 64-bit shingle set of a document's raw `text` as `dedup` makes it (no boilerplate list): `text` normalized
/// with `opts`, cut into windows of `n` units, hashed (XXH3 seeded with `seed`), sorted and de-duplicated. Equal to
/// `shingle_set(&units(&normalize(text, opts).text), n, seed)` ([`crate::shingle::shingle_set`]), without the
/// normalizer's offset map and through the paths [`Fingerprinter`] takes (an all-ASCII text straight to its unit
/// ids; any other normalized once, its script converted while units are cut), with one thread's reused buffers.
/// Empty when the normalized text has no unit. `n` is a [`Ngram`] or a `usize` (the same length from any unit).
///
/// ```
/// use textreuse_core::dedup::shingle_set_of_document;
/// use textreuse_core::normalize::{normalize, NormalizeOptions};
/// use textreuse_core::shingle::{shingle_set, units};
/// let opts = NormalizeOptions::default();
/// for text in ["市長同校長會談，討論教育。", "The Senate voted, 52 to 48.", "。，！"] {
///     let general = shingle_set(&units(&normalize(text, &opts).text), 4, 7);
///     assert_eq!(shingle_set_of_document(text, &opts, 4, 7), general);
/// }
/// ```
pub fn shingle_set_of_document(text: &str, opts: &NormalizeOptions, n: impl Into<Ngram>, seed: u64) -> Vec<u64> {
    shingle_set_timed(text, opts, n.into(), seed, None).1
}

/// The length of `text` in code points and its shingle set ([`shingle_set_of_document`]), the time of each step
/// added to `times`. A text that is ASCII but for separators and Latin-1 letters goes from the text straight to unit
/// ids ([`ShingleBuffers::ascii_units`]); any other is normalized first, its script converted while units are cut.
fn shingle_set_timed(
    text: &str,
    opts: &NormalizeOptions,
    ngram: Ngram,
    seed: u64,
    times: Option<&FingerprintTimes>,
) -> (u32, Vec<u64>) {
    BUFFERS.with_borrow_mut(|(norm, buf)| {
        let (chars, set) = match timed(times.map(|t| &t.normalize), || buf.ascii_units(text, opts)) {
            Some(chars) => (chars, timed(times.map(|t| &t.shingle), || buf.shingle_set(ngram, seed))),
            None => {
                let (chars, n_chars) =
                    timed(times.map(|t| &t.normalize), || normalize_unconverted_into(text, opts, norm));
                let set = timed(times.map(|t| &t.shingle), || {
                    shingle_set_of_unconverted(norm, n_chars, opts, ngram, seed, buf)
                });
                (chars, set)
            }
        };
        // Keep the buffers of ordinary documents only.
        if norm.capacity() > 1 << 24 || buf.capacity() > 1 << 24 {
            (*norm, *buf) = Default::default();
        }
        (chars, set)
    })
}

/// XXH3 (seeded) of the set's values as consecutive little-endian bytes, hashed in one call (XXH3 of a byte string
/// is the same whether it is given at once or in pieces).
fn set_hash(set: &[u64], seed: u64) -> u64 {
    #[cfg(target_endian = "little")]
    {
        // SAFETY: a u64 slice is a valid byte slice of 8 times its length; on a little-endian machine its bytes are
        // the values' little-endian bytes.
        let bytes = unsafe { std::slice::from_raw_parts(set.as_ptr().cast::<u8>(), 8 * set.len()) };
        xxhash_rust::xxh3::xxh3_64_with_seed(bytes, seed)
    }
    #[cfg(not(target_endian = "little"))]
    {
        let bytes: Vec<u8> = set.iter().flat_map(|v| v.to_le_bytes()).collect();
        xxhash_rust::xxh3::xxh3_64_with_seed(&bytes, seed)
    }
}

thread_local! {
    /// Working memory of [`Fingerprinter`], one per thread: the normalized text (before the script conversion,
    /// which runs while units are cut) and the shingling buffers, reused from one document to the next.
    static BUFFERS: std::cell::RefCell<(String, ShingleBuffers)> = std::cell::RefCell::default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_hash_is_xxh3_of_the_values_bytes_in_pieces_or_at_once() {
        for n in [0usize, 1, 2, 3, 7, 16, 17, 100, 1000] {
            let set: Vec<u64> = (0..n as u64).map(|i| crate::minhash::mix64(i ^ 77)).collect();
            let mut h = xxhash_rust::xxh3::Xxh3::with_seed(5);
            for v in &set {
                h.update(&v.to_le_bytes());
            }
            assert_eq!(set_hash(&set, 5), h.digest(), "{n} values");
        }
    }
}
