//! Python bindings of textreuse: the native module `textreuse._textreuse`, wrapped by the pure-Python package
//! `textreuse` (crates/textreuse-py/python/textreuse), which adds record handling (dicts, pandas, Arrow) and
//! result tables. Every entry point releases the GIL while Rust works; Rust errors become Python exceptions with
//! the same messages (`ValueError` for bad settings, `DocumentError` for a bad document, `OSError` for files).

use std::collections::HashSet;
use std::path::Path;

use pyo3::create_exception;
use pyo3::exceptions::{PyIndexError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use textreuse::align::{ngram_hashes, ngram_set, AlignConfig, Kind};
use textreuse::cluster::Keep;
use textreuse::core::dedup::{
    shingle_set_of_document, DedupOptions, Deduper as CoreDeduper, LshIndex, LshParams, VerifiedListing,
};
use textreuse::core::minhash::{estimate_jaccard, MinHasher};
use textreuse::core::passages::{
    align_pair, passage_clusters, Alignment as CoreAlignment, PassageIndex, PassageOptions,
};
use textreuse::core::Error as CoreError;
use textreuse::normalize::{normalize as core_normalize, NormalizeOptions};
use textreuse::repeats::{analyze, strip, RepeatConfig};
use textreuse::shingle::{narrow_set, Ngram};

create_exception!(
    _textreuse,
    DocumentError,
    PyValueError,
    "A document that cannot be added: empty text, no letters/digits/CJK characters, or a duplicate id."
);

fn core_err(e: CoreError) -> PyErr {
    match e {
        CoreError::DuplicateId(_) | CoreError::EmptyText(_) | CoreError::NoContent(_) => {
            DocumentError::new_err(e.to_string())
        }
        CoreError::UnknownDocument(_) => PyIndexError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// Keyword options, read by name; a key nobody read is a `TypeError` (a typo must not pass silently).
struct Kw<'py> {
    dict: Option<Bound<'py, PyDict>>,
    used: HashSet<String>,
}

impl<'py> Kw<'py> {
    fn new(dict: Option<&Bound<'py, PyDict>>) -> Kw<'py> {
        Kw { dict: dict.cloned(), used: HashSet::new() }
    }

    fn raw(&mut self, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.used.insert(key.to_string());
        match &self.dict {
            Some(d) => d.get_item(key),
            None => Ok(None),
        }
    }

    /// The value under `key` converted to `T`, `None` when absent; `err(key)` when it does not convert.
    fn get<T>(&mut self, key: &str, err: fn(String) -> PyErr, what: &str) -> PyResult<Option<T>>
    where
        T: for<'a> FromPyObject<'a, 'py>,
    {
        match self.raw(key)? {
            Some(v) => v.extract::<T>().map(Some).map_err(|_| err(format!("{key} must be {what}"))),
            None => Ok(None),
        }
    }

    /// Like [`Kw::get`], but an explicit `None` gives `None` too.
    fn get_or_none<T>(&mut self, key: &str, err: fn(String) -> PyErr, what: &str) -> PyResult<Option<Option<T>>>
    where
        T: for<'a> FromPyObject<'a, 'py>,
    {
        match self.raw(key)? {
            Some(v) if v.is_none() => Ok(Some(None)),
            Some(v) => v.extract::<T>().map(|x| Some(Some(x))).map_err(|_| err(format!("{key} must be {what}"))),
            None => Ok(None),
        }
    }

    fn bool(&mut self, key: &str, default: bool) -> PyResult<bool> {
        Ok(self.get(key, PyTypeError::new_err, "a bool")?.unwrap_or(default))
    }

    fn usize(&mut self, key: &str, default: usize) -> PyResult<usize> {
        Ok(self.get(key, PyValueError::new_err, "a non-negative integer")?.unwrap_or(default))
    }

    fn u64(&mut self, key: &str, default: u64) -> PyResult<u64> {
        Ok(self.get(key, PyValueError::new_err, "a non-negative integer")?.unwrap_or(default))
    }

    fn f64(&mut self, key: &str, default: f64) -> PyResult<f64> {
        Ok(self.get(key, PyTypeError::new_err, "a number")?.unwrap_or(default))
    }

    /// An optional number: absent gives `default`, `None` gives `None`.
    fn opt_f64(&mut self, key: &str, default: Option<f64>) -> PyResult<Option<f64>> {
        Ok(self.get_or_none(key, PyTypeError::new_err, "a number or None")?.unwrap_or(default))
    }

    fn opt_usize(&mut self, key: &str) -> PyResult<Option<usize>> {
        Ok(self.get_or_none(key, PyValueError::new_err, "a positive integer")?.flatten())
    }

    fn string(&mut self, key: &str, default: &str) -> PyResult<String> {
        Ok(self.get(key, PyTypeError::new_err, "a str")?.unwrap_or_else(|| default.to_string()))
    }

    fn normalize(&mut self) -> PyResult<NormalizeOptions> {
        let d = NormalizeOptions::default();
        Ok(NormalizeOptions {
            nfkc: self.bool("nfkc", d.nfkc)?,
            fold_width: self.bool("fold_width", d.fold_width)?,
            lowercase: self.bool("lowercase", d.lowercase)?,
            strip_punctuation: self.bool("strip_punctuation", d.strip_punctuation)?,
            strip_whitespace: self.bool("strip_whitespace", d.strip_whitespace)?,
            traditional_to_simplified: self.bool("t2s", d.traditional_to_simplified)?,
        })
    }

    fn dedup(&mut self) -> PyResult<DedupOptions> {
        let d = DedupOptions::default();
        let keep = match self.string("keep", "first")?.as_str() {
            "first" => Keep::First,
            "longest" => Keep::Longest,
            other => {
                return Err(PyValueError::new_err(format!("keep must be \"first\" or \"longest\", not {other:?}")))
            }
        };
        Ok(DedupOptions {
            normalize: self.normalize()?,
            ngram: self.usize("ngram", d.ngram)?,
            word_ngram: Some(self.usize("word_ngram", d.word_ngram.unwrap_or(d.ngram))?),
            num_perm: self.usize("num_perm", d.num_perm)?,
            threshold: self.f64("threshold", d.threshold)?,
            containment_threshold: self.opt_f64("containment_threshold", d.containment_threshold)?,
            partial_containment: self.opt_f64("partial_containment", d.partial_containment)?,
            lsh_threshold: self.opt_f64("lsh_threshold", d.lsh_threshold)?,
            seed: self.u64("seed", d.seed)?,
            keep,
            max_bucket: self.usize("max_bucket", d.max_bucket)?,
            large_cluster: self.usize("large_cluster", d.large_cluster)?,
            boilerplate: None,
        })
    }

    /// `ngram` and `word_ngram` as `dedup` takes them (defaults 4 and 2).
    fn ngram(&mut self) -> PyResult<Ngram> {
        let d = DedupOptions::default();
        Ok(Ngram {
            n: self.usize("ngram", d.ngram)?,
            word_n: self.usize("word_ngram", d.word_ngram.unwrap_or(d.ngram))?,
        })
    }

    fn align(&mut self) -> PyResult<AlignConfig> {
        let d = AlignConfig::default();
        Ok(AlignConfig {
            ngram: self.usize("ngram", d.ngram)?,
            max_df: self.usize("max_df", d.max_df)?,
            min_anchors: self.usize("min_anchors", d.min_anchors)?,
            max_gap: self.usize("max_gap", d.max_gap)?,
            max_indel: self.usize("max_indel", d.max_indel)?,
            min_length: self.usize("min_length", d.min_length)?,
            min_short: self.usize("min_short", d.min_short)?,
            max_repeat: self.usize("max_repeat", d.max_repeat)?,
            min_identity: self.f64("min_identity", d.min_identity)?,
            seed: self.u64("seed", d.seed)?,
            rewritten: self.bool("rewritten", d.rewritten)?,
        })
    }

    fn passages(&mut self) -> PyResult<PassageOptions> {
        Ok(PassageOptions { normalize: self.normalize()?, align: self.align()?, boilerplate: None })
    }

    fn finish(self, what: &str) -> PyResult<()> {
        if let Some(d) = &self.dict {
            for k in d.keys() {
                let k: String = k.extract()?;
                if !self.used.contains(&k) {
                    return Err(PyTypeError::new_err(format!("{what}() got an unexpected keyword argument {k:?}")));
                }
            }
        }
        Ok(())
    }
}

/// Runs `f` on a rayon pool of `threads` threads (the global pool when `None`), with the GIL released.
fn run_detached<T: Send>(py: Python<'_>, threads: Option<usize>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    match threads {
        None => Ok(py.detach(f)),
        Some(0) => Err(PyValueError::new_err("invalid setting: threads must be at least 1 (got 0)")),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyOSError::new_err(format!("starting {n} threads: {e}")))?;
            Ok(py.detach(|| pool.install(f)))
        }
    }
}

/// A Python `str`, or a `TypeError` naming the argument.
fn text_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    obj.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str, not {}", type_name(obj))))?
        .to_cow()
        .map(|c| c.into_owned())
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------------------------------------------
// normalize

/// A normalized text and its map back to the original: `offsets[i]` is the code point offset, in the original
/// text, of the character that normalized character `i` came from.
#[pyclass(module = "textreuse", frozen)]
struct Normalized {
    /// The normalized text.
    #[pyo3(get)]
    text: String,
    /// For each character of `text`, the code point offset of its origin in the original text.
    #[pyo3(get)]
    offsets: Vec<u32>,
    /// Length of the original text in code points.
    #[pyo3(get)]
    original_len: u32,
}

#[pymethods]
impl Normalized {
    /// The half-open span of original code points `(start, end)` that normalized characters `[start, end)` came
    /// from, or None for an empty or out-of-range span.
    fn original_span(&self, start: usize, end: usize) -> Option<(u32, u32)> {
        if start >= end || end > self.offsets.len() {
            return None;
        }
        Some((self.offsets[start], self.offsets[end - 1] + 1))
    }

    fn __len__(&self) -> usize {
        self.offsets.len()
    }

    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        format!("Normalized(text={:?}, original_len={})", self.text, self.original_len)
    }
}

/// normalize(text, *, nfkc=True, fold_width=True, lowercase=True, strip_punctuation=True, strip_whitespace=True,
/// t2s=True) -> Normalized
///
/// NFKC, CJK punctuation folding, lower-casing, punctuation and whitespace removal (column breaks vanish),
/// traditional → simplified Chinese (OpenCC dictionaries), with an offset map back to `text`.
#[pyfunction]
#[pyo3(signature = (text, **options))]
fn normalize(py: Python<'_>, text: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Normalized> {
    let text = text_arg(text, "text")?;
    let mut kw = Kw::new(options);
    let opts = kw.normalize()?;
    kw.finish("normalize")?;
    let n = py.detach(|| core_normalize(&text, &opts));
    Ok(Normalized { text: n.text, offsets: n.offsets, original_len: n.original_len })
}

// ---------------------------------------------------------------------------------------------------------------
// MinHash and LSH

/// Shingling settings of a MinHash: units per shingle (from a CJK character / from two words), seed and
/// normalization.
#[derive(Clone, Copy, PartialEq)]
struct Shingling {
    ngram: Ngram,
    seed: u64,
    normalize: NormalizeOptions,
}

impl Shingling {
    /// The 64-bit shingle set of `text` as `dedup` makes it (core `dedup::shingle_set_of_document`: the fast paths
    /// of the dedup job, without the normalizer's offset map).
    fn shingles(&self, text: &str) -> Vec<u64> {
        shingle_set_of_document(text, &self.normalize, self.ngram, self.seed)
    }
}

/// A MinHash over textreuse's shingles: texts are normalized (traditional → simplified, no punctuation or column
/// breaks) and cut into shingles of `ngram` units (`word_ngram` from two words in a row: English and other
/// space-delimited scripts), as `dedup` does; the signature is textreuse's
/// one-permutation MinHash with optimal densification (`num_perm` 64-bit values), kept current after each update.
#[pyclass(module = "textreuse")]
#[derive(Clone)]
struct MinHash {
    hasher: MinHasher,
    shingling: Shingling,
    /// Sorted, de-duplicated shingle hashes.
    shingles: Vec<u64>,
    signature: Vec<u64>,
}

impl MinHash {
    fn new_empty(num_perm: usize, seed: u64, ngram: Ngram, normalize: NormalizeOptions) -> PyResult<MinHash> {
        if num_perm == 0 || ngram.n == 0 || ngram.word_n == 0 {
            return Err(PyValueError::new_err(format!(
                "invalid setting: num_perm, ngram and word_ngram must be at least 1 (got {num_perm}, {}, {})",
                ngram.n, ngram.word_n
            )));
        }
        let hasher = MinHasher::new(num_perm, seed);
        let signature = hasher.signature(&[]);
        Ok(MinHash { hasher, shingling: Shingling { ngram, seed, normalize }, shingles: Vec::new(), signature })
    }

    fn add_shingles(&mut self, more: Vec<u64>) {
        if more.is_empty() {
            return;
        }
        if self.shingles.is_empty() {
            self.shingles = more;
        } else {
            self.shingles.extend(more);
            self.shingles.sort_unstable();
            self.shingles.dedup();
        }
        self.signature = self.hasher.signature(&self.shingles);
    }

    fn check_compatible(&self, other: &MinHash) -> PyResult<()> {
        if self.hasher.num_perm() != other.hasher.num_perm() || self.shingling != other.shingling {
            return Err(PyValueError::new_err(
                "MinHash objects of different num_perm, seed, ngram or normalization cannot be compared",
            ));
        }
        Ok(())
    }
}

#[pymethods]
impl MinHash {
    /// MinHash(text=None, *, num_perm=128, seed=42, ngram=4, word_ngram=2, nfkc=True, ..., t2s=True)
    #[new]
    #[pyo3(signature = (text=None, **options))]
    fn py_new(
        py: Python<'_>,
        text: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<MinHash> {
        let mut kw = Kw::new(options);
        let num_perm = kw.usize("num_perm", 128)?;
        let seed = kw.u64("seed", 42)?;
        let ngram = kw.ngram()?;
        let norm = kw.normalize()?;
        kw.finish("MinHash")?;
        let mut m = MinHash::new_empty(num_perm, seed, ngram, norm)?;
        if let Some(t) = text {
            if !t.is_none() {
                m.update(py, t)?;
            }
        }
        Ok(m)
    }

    /// Adds the shingles of `text` (a str; bytes are decoded as UTF-8) to the set.
    fn update(&mut self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<()> {
        let text = if let Ok(b) = text.cast::<pyo3::types::PyBytes>() {
            String::from_utf8(b.as_bytes().to_vec())
                .map_err(|e| PyValueError::new_err(format!("bytes are not UTF-8: {e}")))?
        } else {
            text_arg(text, "text")?
        };
        let sh = self.shingling;
        let more = py.detach(|| sh.shingles(&text));
        self.add_shingles(more);
        Ok(())
    }

    /// Adds the shingles of every text of `texts` (GIL released).
    fn update_batch(&mut self, py: Python<'_>, texts: Vec<String>) -> PyResult<()> {
        let sh = self.shingling;
        let more: Vec<u64> = py.detach(|| {
            // Several texts' sets, one after another: sorted and de-duplicated as one set.
            let mut more: Vec<u64> = texts.iter().flat_map(|t| sh.shingles(t)).collect();
            more.sort_unstable();
            more.dedup();
            more
        });
        self.add_shingles(more);
        Ok(())
    }

    /// Adds tokens as they are (datasketch's `update`, for many tokens at once): each `str` (UTF-8) or `bytes` is
    /// hashed with XXH3 seeded with `seed` and joins the set; no normalization or shingling.
    fn update_tokens(&mut self, py: Python<'_>, tokens: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut more = token_hashes(tokens, self.shingling.seed)?;
        py.detach(|| {
            more.sort_unstable();
            more.dedup();
        });
        self.add_shingles(more);
        Ok(())
    }

    /// bulk_tokens(token_lists, *, num_perm=128, seed=42, threads=None) -> list[MinHash]
    ///
    /// One MinHash per list of tokens (see `update_tokens`), computed in parallel with the GIL released.
    #[staticmethod]
    #[pyo3(signature = (token_lists, **options))]
    fn bulk_tokens(
        py: Python<'_>,
        token_lists: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<MinHash>> {
        let mut kw = Kw::new(options);
        let num_perm = kw.usize("num_perm", 128)?;
        let seed = kw.u64("seed", 42)?;
        let threads = kw.opt_usize("threads")?;
        kw.finish("MinHash.bulk_tokens")?;
        // Shingling settings as MinHash()'s defaults, so that the two compare equal on equal tokens.
        let proto =
            MinHash::new_empty(num_perm, seed, DedupOptions::default().shingle_ngram(), NormalizeOptions::default())?;
        let lists: Vec<Vec<u64>> = token_lists.try_iter()?.map(|l| token_hashes(&l?, seed)).collect::<PyResult<_>>()?;
        run_detached(py, threads, || {
            use rayon::prelude::*;
            lists
                .into_par_iter()
                .map(|mut shingles| {
                    shingles.sort_unstable();
                    shingles.dedup();
                    let signature = proto.hasher.signature(&shingles);
                    MinHash { shingles, signature, ..proto.clone() }
                })
                .collect()
        })
    }

    /// bulk(texts, *, num_perm=128, seed=42, ngram=4, word_ngram=2, threads=None, **normalization) -> list[MinHash]
    ///
    /// One MinHash per text, computed in parallel with the GIL released.
    #[staticmethod]
    #[pyo3(signature = (texts, **options))]
    fn bulk(py: Python<'_>, texts: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<MinHash>> {
        let mut kw = Kw::new(options);
        let num_perm = kw.usize("num_perm", 128)?;
        let seed = kw.u64("seed", 42)?;
        let ngram = kw.ngram()?;
        let norm = kw.normalize()?;
        let threads = kw.opt_usize("threads")?;
        kw.finish("MinHash.bulk")?;
        let proto = MinHash::new_empty(num_perm, seed, ngram, norm)?;
        let texts: Vec<String> = texts
            .try_iter()?
            .enumerate()
            .map(|(i, t)| text_arg(&t?, &format!("texts[{i}]")))
            .collect::<PyResult<_>>()?;
        run_detached(py, threads, || {
            use rayon::prelude::*;
            texts
                .par_iter()
                .map(|t| {
                    let shingles = proto.shingling.shingles(t);
                    let signature = proto.hasher.signature(&shingles);
                    MinHash { shingles, signature, ..proto.clone() }
                })
                .collect()
        })
    }

    /// Estimated Jaccard similarity: the fraction of equal signature values.
    fn jaccard(&self, other: PyRef<'_, MinHash>) -> PyResult<f64> {
        self.check_compatible(&other)?;
        Ok(estimate_jaccard(&self.signature, &other.signature))
    }

    /// Exact Jaccard similarity of the two shingle sets, as `dedup` verifies it (on the sets' 32-bit values, core
    /// `shingle::narrow_set`).
    fn exact_jaccard(&self, other: PyRef<'_, MinHash>) -> PyResult<f64> {
        self.check_compatible(&other)?;
        let (a, b) = (narrow_set(&self.shingles), narrow_set(&other.shingles));
        Ok(textreuse::verify::pair_stats(&a, &b).jaccard)
    }

    /// Merges another MinHash's shingles into this one (the union of the sets).
    fn merge(slf: &Bound<'_, MinHash>, other: &Bound<'_, MinHash>) -> PyResult<()> {
        if slf.is(other) {
            return Ok(());
        }
        let more = {
            let o = other.borrow();
            slf.borrow().check_compatible(&o)?;
            o.shingles.clone()
        };
        slf.borrow_mut().add_shingles(more);
        Ok(())
    }

    /// The signature: `num_perm` unsigned 64-bit values.
    fn digest(&self) -> Vec<u64> {
        self.signature.clone()
    }

    /// The signature (as `digest()`), named as in datasketch.
    #[getter]
    fn hashvalues(&self) -> Vec<u64> {
        self.signature.clone()
    }

    /// Values per signature.
    #[getter]
    fn num_perm(&self) -> usize {
        self.hasher.num_perm()
    }

    /// Distinct shingles added.
    fn count(&self) -> usize {
        self.shingles.len()
    }

    /// True when no shingle was added.
    fn is_empty(&self) -> bool {
        self.shingles.is_empty()
    }

    /// A copy.
    fn copy(&self) -> MinHash {
        self.clone()
    }

    fn __len__(&self) -> usize {
        self.hasher.num_perm()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<MinHash>() {
            Ok(o) => {
                let o = o.borrow();
                self.shingling == o.shingling && self.signature == o.signature
            }
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        format!("MinHash(num_perm={}, shingles={})", self.hasher.num_perm(), self.shingles.len())
    }
}

unsafe extern "C" {
    /// In the stable ABI from 3.10 and exported by every CPython since 3.3 with this signature; pyo3's abi3-py39
    /// build does not declare it (see [`str_utf8`]).
    fn PyUnicode_AsUTF8AndSize(unicode: *mut pyo3::ffi::PyObject, size: *mut pyo3::ffi::Py_ssize_t) -> *const u8;
}

/// The UTF-8 bytes of the `str` at `obj` without copying them: CPython keeps a UTF-8 form of each `str` once asked
/// for it (an ASCII string is its own UTF-8) and `PyUnicode_AsUTF8AndSize` returns it, where pyo3's abi3-py39
/// build would encode a new `bytes` object for every call (twice as slow as rensa on pre-made shingles). Errors (a
/// lone surrogate) come back as Python's UnicodeEncodeError.
///
/// # Safety
/// `obj` must point to a live `str` that outlives `'a`, with the GIL held.
unsafe fn str_utf8<'a>(py: Python<'_>, obj: *mut pyo3::ffi::PyObject) -> PyResult<&'a [u8]> {
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: the caller's contract; the pointer returned is either null with a Python error set, or `size` valid
    // bytes owned by the string.
    unsafe {
        let ptr = PyUnicode_AsUTF8AndSize(obj, &mut size);
        if ptr.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(std::slice::from_raw_parts(ptr, size as usize))
    }
}

/// The bytes of one token: a `str`'s UTF-8 (see [`str_utf8`]) or a `bytes` object's contents.
///
/// # Safety
/// `obj` must point to a live object that outlives `'a`, with the GIL held.
unsafe fn token_bytes<'a>(py: Python<'_>, obj: *mut pyo3::ffi::PyObject) -> PyResult<&'a [u8]> {
    use pyo3::ffi;
    // SAFETY: the caller's contract; no Python code runs here.
    unsafe {
        if ffi::PyUnicode_Check(obj) != 0 {
            str_utf8(py, obj)
        } else if ffi::PyBytes_Check(obj) != 0 {
            let mut ptr: *mut std::ffi::c_char = std::ptr::null_mut();
            let mut size: ffi::Py_ssize_t = 0;
            if ffi::PyBytes_AsStringAndSize(obj, &mut ptr, &mut size) != 0 {
                return Err(PyErr::fetch(py));
            }
            Ok(std::slice::from_raw_parts(ptr as *const u8, size as usize))
        } else {
            let t = Bound::from_borrowed_ptr(py, obj);
            Err(PyTypeError::new_err(format!("a token must be a str or bytes, not {}", type_name(&t))))
        }
    }
}

/// A hint to load the cache line at `p` (nothing on other architectures).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; any address is allowed.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Seeded XXH3 hashes of the tokens of a Python iterable of `str` (hashed as UTF-8) or `bytes`, read with the GIL
/// held. A list is read in place: borrowed items (the abi3 build would call `Py_IncRef`/`Py_DecRef` for each, a
/// third of the time on short tokens), in blocks whose objects and then UTF-8 bytes are prefetched before they are
/// read, since each token is a separate heap object and the time goes to cache misses (1.5× faster on zh-dev's
/// character 5-grams).
fn token_hashes(tokens: &Bound<'_, PyAny>, seed: u64) -> PyResult<Vec<u64>> {
    const AHEAD: usize = 16;
    let py = tokens.py();
    if let Ok(list) = tokens.cast::<PyList>() {
        let n = list.len();
        // SAFETY (every use): indices are `< n`, and the list cannot change while we hold the GIL and run no
        // Python code; items are borrowed references kept alive by the list.
        let item = |i: usize| unsafe { pyo3::ffi::PyList_GetItem(list.as_ptr(), i as pyo3::ffi::Py_ssize_t) };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if i + AHEAD < n {
                // The str header and its UTF-8 pointer span up to two cache lines.
                let ahead = item(i + AHEAD) as *const u8;
                prefetch(ahead);
                prefetch(ahead.wrapping_add(64));
            }
            let obj = item(i);
            if obj.is_null() {
                return Err(PyErr::fetch(py));
            }
            out.push(xxhash_rust::xxh3::xxh3_64_with_seed(unsafe { token_bytes(py, obj)? }, seed));
        }
        return Ok(out);
    }
    tokens
        .try_iter()?
        // SAFETY: each item is owned by the iteration's `Bound` for the duration of the call.
        .map(|t| {
            t.and_then(|t| {
                unsafe { token_bytes(py, t.as_ptr()) }.map(|b| xxhash_rust::xxh3::xxh3_64_with_seed(b, seed))
            })
        })
        .collect()
}

/// LSH(threshold=0.5, num_perm=128, weights=(0.5, 0.5)): an index of MinHash signatures by bands, as datasketch's
/// MinHashLSH: bands × rows are chosen to minimize the weighted false positive and false negative probabilities
/// at `threshold`; `query` returns the keys sharing a band bucket with the query.
#[pyclass(module = "textreuse", name = "LSH")]
struct Lsh {
    params: LshParams,
    num_perm: usize,
    index: LshIndex,
    keys: Vec<Option<Py<PyAny>>>,
    positions: Py<PyDict>,
    free: Vec<u32>,
}

#[pymethods]
impl Lsh {
    #[new]
    #[pyo3(signature = (threshold=0.5, num_perm=128, weights=(0.5, 0.5)))]
    fn py_new(py: Python<'_>, threshold: f64, num_perm: usize, weights: (f64, f64)) -> PyResult<Lsh> {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(PyValueError::new_err(format!(
                "invalid setting: threshold must be in (0, 1] (got {threshold})"
            )));
        }
        if num_perm == 0 {
            return Err(PyValueError::new_err("invalid setting: num_perm must be at least 1 (got 0)"));
        }
        let params = py.detach(|| LshParams::optimal(threshold, num_perm, weights.0, weights.1));
        Ok(Lsh {
            params,
            num_perm,
            index: LshIndex::new(params),
            keys: Vec::new(),
            positions: PyDict::new(py).unbind(),
            free: Vec::new(),
        })
    }

    /// (bands, rows).
    #[getter]
    fn params(&self) -> (usize, usize) {
        (self.params.bands, self.params.rows)
    }

    /// Inserts `minhash` under `key` (any hashable); a key already inserted is a `ValueError`.
    fn insert(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>, minhash: &Bound<'_, MinHash>) -> PyResult<()> {
        let positions = self.positions.bind(py);
        if positions.contains(key)? {
            return Err(PyValueError::new_err(format!("the key {} is already in the LSH index", key.repr()?)));
        }
        let keys = self.band_keys(minhash)?;
        let doc = match self.free.pop() {
            Some(d) => d,
            None => {
                self.keys.push(None);
                (self.keys.len() - 1) as u32
            }
        };
        self.index.insert_keys(doc, &keys).map_err(core_err)?;
        self.keys[doc as usize] = Some(key.clone().unbind());
        positions.set_item(key, doc)?;
        Ok(())
    }

    /// The keys whose MinHash shares a band bucket with `minhash`, in insertion order.
    fn query(&self, py: Python<'_>, minhash: &Bound<'_, MinHash>) -> PyResult<Vec<Py<PyAny>>> {
        let keys = self.band_keys(minhash)?;
        let docs = self.index.candidates_of_keys(&keys).map_err(core_err)?;
        Ok(docs.into_iter().filter_map(|d| self.keys[d as usize].as_ref().map(|k| k.clone_ref(py))).collect())
    }

    /// Removes `key`; a key not in the index is a `KeyError`.
    fn remove(&mut self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let positions = self.positions.bind(py);
        let doc: u32 = match positions.get_item(key)? {
            Some(d) => d.extract()?,
            None => return Err(pyo3::exceptions::PyKeyError::new_err(key.clone().unbind())),
        };
        positions.del_item(key)?;
        self.index.remove(doc);
        self.keys[doc as usize] = None;
        self.free.push(doc);
        Ok(())
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.positions.bind(py).contains(key)
    }

    fn __len__(&self) -> usize {
        self.index.len()
    }
}

impl Lsh {
    fn band_keys(&self, minhash: &Bound<'_, MinHash>) -> PyResult<Vec<u64>> {
        let m = minhash.borrow();
        if m.hasher.num_perm() != self.num_perm {
            return Err(PyValueError::new_err(format!(
                "a MinHash of {} permutations in an LSH index of {}",
                m.hasher.num_perm(),
                self.num_perm
            )));
        }
        Ok(self.params.band_keys(&m.signature))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Deduper

/// The native document-level deduplicator (wrapped by `textreuse.Deduper`).
#[pyclass(module = "textreuse._textreuse")]
struct NativeDeduper {
    inner: Option<CoreDeduper>,
    threads: Option<usize>,
}

#[pymethods]
impl NativeDeduper {
    #[new]
    #[pyo3(signature = (**options))]
    fn py_new(options: Option<&Bound<'_, PyDict>>) -> PyResult<NativeDeduper> {
        let mut kw = Kw::new(options);
        let opts = kw.dedup()?;
        let threads = kw.opt_usize("threads")?;
        kw.finish("Deduper")?;
        if threads == Some(0) {
            return Err(PyValueError::new_err("invalid setting: threads must be at least 1 (got 0)"));
        }
        Ok(NativeDeduper { inner: Some(CoreDeduper::new(opts).map_err(core_err)?), threads })
    }

    /// Adds documents; returns, per document, None when added or the skip reason key ("empty_text",
    /// "no_content", "duplicate_id").
    fn add_batch(
        &mut self,
        py: Python<'_>,
        ids: Vec<String>,
        texts: Vec<String>,
    ) -> PyResult<Vec<Option<&'static str>>> {
        if ids.len() != texts.len() {
            return Err(PyValueError::new_err("ids and texts differ in length"));
        }
        let threads = self.threads;
        let inner = self.inner.as_mut().ok_or_else(|| PyValueError::new_err("this Deduper is finished"))?;
        let docs: Vec<(String, String)> = ids.into_iter().zip(texts).collect();
        let out = run_detached(py, threads, || inner.add_batch(&docs))?;
        out.into_iter()
            .map(|r| match r {
                Ok(_) => Ok(None),
                Err(e) if e.is_document_error() => Ok(Some(e.key())),
                Err(e) => Err(core_err(e)),
            })
            .collect()
    }

    /// Adds one document; raises DocumentError when it cannot be added.
    fn add(&mut self, py: Python<'_>, id: String, text: String) -> PyResult<u32> {
        let inner = self.inner.as_mut().ok_or_else(|| PyValueError::new_err("this Deduper is finished"))?;
        py.detach(|| inner.add(&id, &text)).map_err(core_err)
    }

    fn __len__(&self) -> usize {
        self.inner.as_ref().map_or(0, |d| d.len())
    }

    /// Runs the pipeline; returns a dict of columns.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = self.inner.take().ok_or_else(|| PyValueError::new_err("this Deduper is finished"))?;
        // Only the duplicate pairs are returned: the other verified pairs need not be listed.
        let r = run_detached(py, self.threads, || {
            inner.finish_listing(VerifiedListing::Needed, &textreuse::core::progress::NoProgress)
        })?;
        let n = r.len();
        let out = PyDict::new(py);
        let s = &r.search;
        out.set_item("representative", s.clusters.representative.clone())?;
        out.set_item("size", s.clusters.size.clone())?;
        out.set_item("pair_a", s.duplicates.iter().map(|p| p.a).collect::<Vec<_>>())?;
        out.set_item("pair_b", s.duplicates.iter().map(|p| p.b).collect::<Vec<_>>())?;
        out.set_item("jaccard", s.duplicates.iter().map(|p| p.stats.jaccard).collect::<Vec<_>>())?;
        out.set_item("containment", s.duplicates.iter().map(|p| p.stats.containment).collect::<Vec<_>>())?;
        out.set_item("chars", r.chars.clone())?;
        out.set_item("exact_duplicates", s.exact_duplicates)?;
        out.set_item("candidate_pairs", s.candidate_pairs)?;
        out.set_item("clusters", s.clusters.duplicate_clusters())?;
        out.set_item("documents", n)?;
        out.set_item("lsh", (r.lsh.bands, r.lsh.rows))?;
        out.set_item("lsh_threshold", r.lsh_threshold)?;
        out.set_item("ids", PyList::new(py, &r.ids)?)?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Passages

/// One aligned passage between two texts: half-open spans in code points of each original text.
#[pyclass(module = "textreuse", frozen, get_all)]
#[derive(Clone)]
struct Alignment {
    /// Start of the passage in a (code points).
    a_start: u32,
    /// End of the passage in a (exclusive).
    a_end: u32,
    /// Start in b.
    b_start: u32,
    /// End in b (exclusive).
    b_end: u32,
    /// Alignment score: matched units minus gap penalties.
    score: f64,
    /// Units matched one to one.
    matches: u32,
    /// How the passage was found: "verbatim" (shared n-grams) or "rewritten" (sentences of similar vocabulary).
    kind: &'static str,
    /// How alike the two sides are, in [0, 1] (share of units matched, or tf-isf cosine when rewritten).
    similarity: f64,
}

/// The name of a passage kind, as `alignments.jsonl` writes it.
fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Verbatim => "verbatim",
        Kind::Rewritten => "rewritten",
    }
}

#[pymethods]
impl Alignment {
    fn __repr__(&self) -> String {
        format!(
            "Alignment(a_start={}, a_end={}, b_start={}, b_end={}, score={:.2}, matches={}, kind={:?}, \
             similarity={:.4})",
            self.a_start, self.a_end, self.b_start, self.b_end, self.score, self.matches, self.kind, self.similarity
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Alignment>().is_ok_and(|o| {
            let o = o.get();
            (o.a_start, o.a_end, o.b_start, o.b_end, o.matches, o.kind)
                == (self.a_start, self.a_end, self.b_start, self.b_end, self.matches, self.kind)
                && o.score == self.score
                && o.similarity == self.similarity
        })
    }
}

/// align(a, b, *, ngram=7, min_anchors=3, max_gap=200, min_length=30, ..., t2s=True) -> list[Alignment]
///
/// The passages texts `a` and `b` share, in order of their start in `a`; offsets in code points.
#[pyfunction]
#[pyo3(signature = (a, b, **options))]
fn align(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<Alignment>> {
    let (a, b) = (text_arg(a, "a")?, text_arg(b, "b")?);
    let mut kw = Kw::new(options);
    let opts = kw.passages()?;
    kw.finish("align")?;
    let ps = py.detach(|| align_pair(&a, &b, &opts)).map_err(core_err)?;
    Ok(ps
        .into_iter()
        .map(|p| Alignment {
            a_start: p.a_span.0,
            a_end: p.a_span.1,
            b_start: p.b_span.0,
            b_end: p.b_span.1,
            score: p.score,
            matches: p.matches,
            kind: kind_name(p.kind),
            similarity: p.similarity,
        })
        .collect())
}

/// The native passage index (wrapped by `textreuse.passages`).
#[pyclass(module = "textreuse._textreuse")]
struct NativePassageIndex {
    inner: PassageIndex,
    threads: Option<usize>,
}

#[pymethods]
impl NativePassageIndex {
    #[new]
    #[pyo3(signature = (**options))]
    fn py_new(options: Option<&Bound<'_, PyDict>>) -> PyResult<NativePassageIndex> {
        let mut kw = Kw::new(options);
        let opts = kw.passages()?;
        let threads = kw.opt_usize("threads")?;
        kw.finish("passages")?;
        if threads == Some(0) {
            return Err(PyValueError::new_err("invalid setting: threads must be at least 1 (got 0)"));
        }
        Ok(NativePassageIndex { inner: PassageIndex::new(opts).map_err(core_err)?, threads })
    }

    /// Adds documents; per document None when added or the skip reason key.
    fn add_batch(
        &mut self,
        py: Python<'_>,
        ids: Vec<String>,
        texts: Vec<String>,
    ) -> PyResult<Vec<Option<&'static str>>> {
        if ids.len() != texts.len() {
            return Err(PyValueError::new_err("ids and texts differ in length"));
        }
        let docs: Vec<(String, String)> = ids.into_iter().zip(texts).collect();
        let inner = &mut self.inner;
        let out = run_detached(py, self.threads, || inner.add_batch(&docs))?;
        out.into_iter()
            .map(|r| match r {
                Ok(_) => Ok(None),
                Err(e) if e.is_document_error() => Ok(Some(e.key())),
                Err(e) => Err(core_err(e)),
            })
            .collect()
    }

    /// Aligns every candidate pair; returns a dict of columns (alignments and passage clusters).
    fn run<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = &mut self.inner;
        let (candidates, boilerplate, found, clusters) = run_detached(py, self.threads, || {
            let candidates = inner.candidates().len();
            let boilerplate = inner.boilerplate_ngrams();
            let found: Vec<CoreAlignment> = inner.alignments();
            let clusters = passage_clusters(&found);
            (candidates, boilerplate, found, clusters)
        })?;
        let out = PyDict::new(py);
        let col = |f: &dyn Fn(&CoreAlignment) -> u32| found.iter().map(f).collect::<Vec<u32>>();
        out.set_item("a", col(&|p| p.a))?;
        out.set_item("b", col(&|p| p.b))?;
        out.set_item("a_start", col(&|p| p.passage.a_span.0))?;
        out.set_item("a_end", col(&|p| p.passage.a_span.1))?;
        out.set_item("b_start", col(&|p| p.passage.b_span.0))?;
        out.set_item("b_end", col(&|p| p.passage.b_span.1))?;
        out.set_item("matches", col(&|p| p.passage.matches))?;
        out.set_item("score", found.iter().map(|p| p.passage.score).collect::<Vec<f64>>())?;
        out.set_item("kind", found.iter().map(|p| kind_name(p.passage.kind)).collect::<Vec<&str>>())?;
        out.set_item("similarity", found.iter().map(|p| p.passage.similarity).collect::<Vec<f64>>())?;
        let mut cl: (Vec<u32>, Vec<u32>, Vec<u32>, Vec<u32>) = Default::default();
        for (k, members) in clusters.iter().enumerate() {
            for &(d, s, e) in members {
                cl.0.push(k as u32);
                cl.1.push(d);
                cl.2.push(s);
                cl.3.push(e);
            }
        }
        out.set_item("cluster", cl.0)?;
        out.set_item("cluster_doc", cl.1)?;
        out.set_item("cluster_start", cl.2)?;
        out.set_item("cluster_end", cl.3)?;
        out.set_item("candidate_pairs", candidates)?;
        out.set_item("boilerplate_ngrams", boilerplate)?;
        out.set_item("ids", PyList::new(py, self.inner.ids())?)?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Repeats

fn repeat_config(kw: &mut Kw<'_>) -> PyResult<RepeatConfig> {
    let d = RepeatConfig::default();
    let normalize = kw.normalize()?;
    let min_length = kw.usize("min_length", d.min_length)?;
    if min_length == 0 {
        return Err(PyValueError::new_err("invalid setting: min_length must be at least 1 (got 0)"));
    }
    Ok(RepeatConfig { normalize, min_length })
}

/// repeats(text, *, min_length=50, **normalization) -> str (JSON of the report; see textreuse.repeats)
#[pyfunction]
#[pyo3(signature = (text, **options))]
fn repeats_json(py: Python<'_>, text: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    let text = text_arg(text, "text")?;
    let mut kw = Kw::new(options);
    let cfg = repeat_config(&mut kw)?;
    kw.finish("repeats")?;
    let report = py.detach(|| analyze(&text, &cfg));
    serde_json::to_string(&report).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// strip_repeats(text, *, min_length=50, **normalization) -> str
///
/// `text` without the later copies of its repeated lines, paragraphs and passages; every other character stays.
#[pyfunction]
#[pyo3(signature = (text, **options))]
fn strip_repeats(py: Python<'_>, text: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    let text = text_arg(text, "text")?;
    let mut kw = Kw::new(options);
    let cfg = repeat_config(&mut kw)?;
    kw.finish("strip_repeats")?;
    Ok(py.detach(|| strip(&text, &analyze(&text, &cfg).repeats)))
}

// ---------------------------------------------------------------------------------------------------------------
// File jobs

fn run_error(e: textreuse::pipeline::RunError) -> PyErr {
    use textreuse::pipeline::RunError;
    match e {
        RunError::Io { .. } => PyOSError::new_err(e.to_string()),
        RunError::Strict(_) => DocumentError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

fn job_inputs(inputs: Vec<String>) -> PyResult<Vec<textreuse::io::Input>> {
    if inputs.is_empty() {
        return Err(PyValueError::new_err("no input given"));
    }
    inputs
        .iter()
        .map(|a| textreuse::io::Input::from_arg(a).map_err(|e| PyOSError::new_err(format!("input {a}: {e}"))))
        .collect()
}

fn read_options(kw: &mut Kw<'_>) -> PyResult<textreuse::io::ReadOptions> {
    let d = textreuse::io::ReadOptions::default();
    Ok(textreuse::io::ReadOptions {
        id_field: kw.string("id_field", &d.id_field)?,
        text_field: kw.string("text_field", &d.text_field)?,
        max_doc_bytes: kw.usize("max_doc_bytes", d.max_doc_bytes)?,
    })
}

/// run_dedup(inputs, out_dir, **options) -> str (JSON of summary.json); the `dedup` file job, as the CLI runs it.
#[pyfunction]
#[pyo3(signature = (inputs, out_dir, **options))]
fn run_dedup_json(
    py: Python<'_>,
    inputs: Vec<String>,
    out_dir: String,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let mut kw = Kw::new(options);
    let read = read_options(&mut kw)?;
    let opts = kw.dedup()?;
    let strict = kw.bool("strict", false)?;
    let memory_budget = kw.usize("memory_mb", 1024)? << 20;
    let write_candidates = kw.bool("write_candidates", false)?;
    let write_deduplicated = kw.bool("write_deduplicated", true)?;
    let threads = kw.opt_usize("threads")?;
    kw.finish("run_dedup")?;
    let cfg = textreuse::dedup::DedupConfig {
        read,
        options: opts,
        strict,
        memory_budget,
        write_candidates,
        write_deduplicated,
        boilerplate_list: None,
    };
    let inputs = job_inputs(inputs)?;
    let s = run_detached(py, threads, || {
        textreuse::dedup::run(&inputs, Path::new(&out_dir), &cfg, &textreuse::progress::NoProgress)
    })?
    .map_err(run_error)?;
    serde_json::to_string(&s).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// run_passages(inputs, out_dir, **options) -> str (JSON of summary.json); the `passages` file job.
#[pyfunction]
#[pyo3(signature = (inputs, out_dir, **options))]
fn run_passages_json(
    py: Python<'_>,
    inputs: Vec<String>,
    out_dir: String,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let mut kw = Kw::new(options);
    let read = read_options(&mut kw)?;
    let opts = kw.passages()?;
    let strict = kw.bool("strict", false)?;
    let with_text = kw.bool("with_text", false)?;
    let threads = kw.opt_usize("threads")?;
    kw.finish("run_passages")?;
    let cfg = textreuse::passages::PassagesConfig {
        read,
        options: opts,
        with_text,
        strict,
        ..textreuse::passages::PassagesConfig::default()
    };
    let inputs = job_inputs(inputs)?;
    let s = run_detached(py, threads, || {
        textreuse::passages::run(&inputs, Path::new(&out_dir), &cfg, &textreuse::progress::NoProgress)
    })?
    .map_err(run_error)?;
    serde_json::to_string(&s).map_err(|e| PyValueError::new_err(e.to_string()))
}

// ---------------------------------------------------------------------------------------------------------------
// Spark support (textreuse.spark): the dedup and passages jobs' per-document and per-pair stages, cut so that Spark
// runs each on its executors over Arrow batches (everything between them is Spark SQL).
// Spark has no unsigned 64-bit type, so 64-bit hashes cross as i64 with the same bits; the order of a shingle set's
// list is the u64 order (sorted, de-duplicated), kept as it is.

fn dedup_options_only(options: Option<&Bound<'_, PyDict>>, what: &str) -> PyResult<DedupOptions> {
    let mut kw = Kw::new(options);
    let opts = kw.dedup()?;
    kw.finish(what)?;
    opts.validate().map_err(core_err)?;
    Ok(opts)
}

/// One fingerprinted document as Spark columns: (chars, set_hash, set_len, band_keys).
type SparkFingerprint = (u64, i64, u64, Vec<i64>);

/// spark_fingerprints(texts, **options) -> list of (chars, set_hash, set_len, band_keys) or None.
///
/// The core `Fingerprinter` of the dedup options, over a batch of texts in parallel: None where the dedup job skips
/// the text (None, empty or whitespace only, no letter/digit/CJK character). `chars` is the original length in code
/// points; `set_hash` the hash of the whole shingle set and `set_len` its size in shingles (exact-duplicate
/// folding); `band_keys` one LSH bucket key per band, as i64 with the bits of the u64 values. The shingle set itself
/// is not returned: verification computes it again from the text (`spark_pair_stats_texts`). A text repeated in the
/// batch byte for byte is fingerprinted once.
#[pyfunction]
#[pyo3(signature = (texts, **options))]
fn spark_fingerprints(
    py: Python<'_>,
    texts: Vec<Option<String>>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<Option<SparkFingerprint>>> {
    use rayon::prelude::*;
    let opts = dedup_options_only(options, "spark_fingerprints")?;
    let f = textreuse::core::dedup::Fingerprinter::new(&opts).map_err(core_err)?;
    Ok(py.detach(|| {
        // A text that occurs again in the batch byte for byte (a 128-bit XXH3 of its bytes) is fingerprinted once,
        // at its first row.
        let hashes: Vec<Option<u128>> =
            texts.par_iter().map(|t| t.as_deref().map(|t| xxhash_rust::xxh3::xxh3_128(t.as_bytes()))).collect();
        let mut first: std::collections::HashMap<u128, usize> = std::collections::HashMap::new();
        let firsts: Vec<usize> =
            hashes.iter().enumerate().map(|(i, h)| h.map_or(i, |h| *first.entry(h).or_insert(i))).collect();
        let fps: Vec<Option<SparkFingerprint>> = texts
            .par_iter()
            .enumerate()
            .map(|(i, t)| {
                if firsts[i] != i {
                    return None;
                }
                let t = t.as_deref().filter(|t| !t.trim().is_empty())?;
                let fp = f.fingerprint(t)?;
                Some((
                    fp.chars,
                    fp.set_hash as i64,
                    fp.shingles.len() as u64,
                    fp.band_keys.iter().map(|&v| v as i64).collect(),
                ))
            })
            .collect();
        firsts.iter().map(|&j| fps[j].clone()).collect()
    }))
}

/// spark_lsh_bands(**options) -> (bands, rows): the LSH parameters the fingerprints of these options use.
#[pyfunction]
#[pyo3(signature = (**options))]
fn spark_lsh_bands(options: Option<&Bound<'_, PyDict>>) -> PyResult<(usize, usize)> {
    let opts = dedup_options_only(options, "spark_lsh_bands")?;
    let lsh = textreuse::core::dedup::Fingerprinter::new(&opts).map_err(core_err)?.lsh();
    Ok((lsh.bands, lsh.rows))
}

/// spark_dedup_rules(**options) -> (partial_containment, keep, max_bucket): the cluster rules of these dedup options
/// with the core's defaults filled in (`partial_containment` None when off, `keep` "first" or "longest").
#[pyfunction]
#[pyo3(signature = (**options))]
fn spark_dedup_rules(options: Option<&Bound<'_, PyDict>>) -> PyResult<(Option<f64>, &'static str, usize)> {
    let opts = dedup_options_only(options, "spark_dedup_rules")?;
    let keep = match opts.keep {
        Keep::First => "first",
        Keep::Longest => "longest",
    };
    Ok((opts.partial_containment, keep, opts.max_bucket))
}

/// One verified pair as Spark columns: (intersection, jaccard, containment, duplicate, a's set size, b's set size).
type SparkPairStats = (u64, f64, f64, bool, u64, u64);

/// Checks the pairs `(a_index[i], b_index[i])` given to the grouped Spark calls: both lists of one length, every
/// index below `n` (the number of texts). Errors: `ValueError` for different lengths, `IndexError` naming the first
/// index out of range.
fn check_pair_indices(n: usize, a_index: &[usize], b_index: &[usize]) -> PyResult<()> {
    if a_index.len() != b_index.len() {
        return Err(PyValueError::new_err("a_index and b_index differ in length"));
    }
    if let Some(&bad) = a_index.iter().chain(b_index).find(|&&i| i >= n) {
        return Err(pyo3::exceptions::PyIndexError::new_err(format!("text index {bad} out of range ({n} texts)")));
    }
    Ok(())
}

/// spark_pair_stats_texts(texts, a_index, b_index, **options) -> list of (intersection, jaccard, containment,
/// duplicate, a_size, b_size): exact verification (core `verify::pair_stats`, `duplicate` by the dedup options' rule
/// `DedupOptions::is_duplicate`) of the pairs `(texts[a_index[k]], texts[b_index[k]])`, each
/// text's shingle set computed here (core `Fingerprinter`, as `spark_fingerprints`) once however many pairs it is
/// in, with the two sets' sizes: the verification of one group of documents (a component of the candidate-pair
/// graph) with its pairs, shipping texts (1–3 bytes a character) instead of shingle sets (4 bytes a shingle).
/// IndexError for an index out of range; ValueError when `a_index` and `b_index` differ in length or a text of a
/// pair has no shingle set (blank, or no letters, digits or CJK characters: never a candidate).
#[pyfunction]
#[pyo3(signature = (texts, a_index, b_index, **options))]
fn spark_pair_stats_texts(
    py: Python<'_>,
    texts: Vec<String>,
    a_index: Vec<usize>,
    b_index: Vec<usize>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<SparkPairStats>> {
    use rayon::prelude::*;
    let opts = dedup_options_only(options, "spark_pair_stats_texts")?;
    let f = textreuse::core::dedup::Fingerprinter::new(&opts).map_err(core_err)?;
    check_pair_indices(texts.len(), &a_index, &b_index)?;
    py.detach(|| {
        let sets: Vec<Option<Vec<u32>>> = texts.par_iter().map(|t| f.fingerprint(t).map(|fp| fp.shingles)).collect();
        a_index
            .par_iter()
            .zip(b_index.par_iter())
            .map(|(&a, &b)| match (&sets[a], &sets[b]) {
                (Some(x), Some(y)) => {
                    let s = textreuse::verify::pair_stats(x, y);
                    Ok((
                        s.intersection,
                        s.jaccard,
                        s.containment,
                        opts.is_duplicate(&s),
                        x.len() as u64,
                        y.len() as u64,
                    ))
                }
                _ => Err(PyValueError::new_err("a text of a candidate pair has no shingle set")),
            })
            .collect()
    })
}

/// spark_passage_ngrams(texts, **options) -> (valid, lengths, values): three byte strings.
///
/// The `passages` job's index input for a batch of texts, in parallel, as three byte strings: one byte per text,
/// 1 where the job indexes it and 0 where it skips it (None, empty or whitespace only); the number of its distinct
/// n-grams per text (little-endian int64; 0 where skipped); and those n-grams one text after the other (little-endian
/// int64 with the bits of the u64 hashes), each text's sorted: core `ngram_set` of `PassageOptions::units`, cut
/// at `DEFAULT_MAX_UNITS`. A text without units has no n-grams (it aligns with nothing, as in the job).
#[pyfunction]
#[pyo3(signature = (texts, **options))]
#[allow(clippy::type_complexity)]
fn spark_passage_ngrams<'py>(
    py: Python<'py>,
    texts: Vec<Option<String>>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(Bound<'py, pyo3::types::PyBytes>, Bound<'py, pyo3::types::PyBytes>, Bound<'py, pyo3::types::PyBytes>)> {
    use rayon::prelude::*;
    let opts = passage_options_only(options, "spark_passage_ngrams")?;
    let found: Vec<Option<Vec<u64>>> = py.detach(|| {
        texts
            .par_iter()
            .map(|t| {
                let t = t.as_deref().filter(|t| !t.trim().is_empty())?;
                let units = spark_units(t, &opts);
                Some(ngram_set(&units.ids, opts.align.ngram, opts.align.seed))
            })
            .collect()
    });
    let valid: Vec<u8> = found.iter().map(|f| u8::from(f.is_some())).collect();
    let lengths: Vec<i64> = found.iter().map(|f| f.as_ref().map_or(0, |h| h.len() as i64)).collect();
    let values: Vec<i64> = found.iter().flatten().flatten().map(|&v| v as i64).collect();
    Ok((pyo3::types::PyBytes::new(py, &valid), le_bytes(py, &lengths), le_bytes(py, &values)))
}

/// Little-endian `i64` values of a byte string (its length a multiple of 8, else ValueError).
fn le_i64s(bytes: &[u8], what: &str) -> PyResult<Vec<i64>> {
    if !bytes.len().is_multiple_of(8) {
        return Err(PyValueError::new_err(format!("{what}: {} bytes is not a whole number of int64", bytes.len())));
    }
    Ok(bytes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

/// `values` as a byte string of little-endian `i64`.
fn le_bytes<'py>(py: Python<'py>, values: &[i64]) -> Bound<'py, pyo3::types::PyBytes> {
    le_bytes_of(py, values.len(), values.iter().copied())
}

/// The `len` values of `values` as a byte string of little-endian `i64`, written straight into it.
fn le_bytes_of<'py>(
    py: Python<'py>,
    len: usize,
    values: impl Iterator<Item = i64>,
) -> Bound<'py, pyo3::types::PyBytes> {
    pyo3::types::PyBytes::new_with(py, len * 8, |buf| {
        for (c, v) in buf.chunks_exact_mut(8).zip(values) {
            c.copy_from_slice(&v.to_le_bytes());
        }
        Ok(())
    })
    .expect("bytes of a known size")
}

/// spark_sort_postings(h, d) -> (h, d): postings `(n-gram, document)` given as two byte strings of little-endian
/// int64 (equal lengths, else ValueError), sorted by n-gram, then document (as signed integers: numpy's
/// `lexsort((d, h))`), returned the same way. The reduce side of the Spark passages' postings shuffle.
#[pyfunction]
fn spark_sort_postings<'py>(
    py: Python<'py>,
    h: &[u8],
    d: &[u8],
) -> PyResult<(Bound<'py, pyo3::types::PyBytes>, Bound<'py, pyo3::types::PyBytes>)> {
    if !h.len().is_multiple_of(8) || h.len() != d.len() {
        return Err(PyValueError::new_err(format!("{} and {} bytes are not two int64 columns", h.len(), d.len())));
    }
    // One copy of the postings besides the caller's byte strings and the two it gets back (a partition's postings
    // are held at once: their memory is what bounds the partition size).
    let int = |c: &[u8]| i64::from_le_bytes(c.try_into().expect("8 bytes"));
    let sorted = py.detach(|| {
        let mut p: Vec<(i64, i64)> = h.chunks_exact(8).zip(d.chunks_exact(8)).map(|(a, b)| (int(a), int(b))).collect();
        p.sort_unstable();
        p
    });
    let n = sorted.len();
    Ok((le_bytes_of(py, n, sorted.iter().map(|p| p.0)), le_bytes_of(py, n, sorted.iter().map(|p| p.1))))
}

/// spark_postings_pairs(h, d, max_df) -> (a, b, n, s, m): the candidate rows of sorted postings (little-endian int64
/// byte strings as [`spark_sort_postings`] returns them: n-grams `h` sorted, each run of one n-gram holding distinct
/// documents `d` in ascending order), as five byte strings of little-endian int64 columns. For a run of more than
/// `max_df` documents, one row `(document, n-gram, 0, 0, 0)` per document, in posting order (boilerplate); then for
/// the runs of 2 to `max_df` documents every pair `a < b` of documents in one run, one row per pair sorted by
/// `(a, b)`: `n` the runs it is in (shared n-grams), `s` the largest of their sizes (documents) and `m` the n-gram
/// of that run (the smallest n-gram among runs of that size). Spark sums `n` and keeps the best `(s, m)` over the
/// rows of one pair from several calls (chunks, partitions).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn spark_postings_pairs<'py>(
    py: Python<'py>,
    h: &[u8],
    d: &[u8],
    max_df: usize,
) -> PyResult<(
    Bound<'py, pyo3::types::PyBytes>,
    Bound<'py, pyo3::types::PyBytes>,
    Bound<'py, pyo3::types::PyBytes>,
    Bound<'py, pyo3::types::PyBytes>,
    Bound<'py, pyo3::types::PyBytes>,
)> {
    let (h, d) = (le_i64s(h, "h")?, le_i64s(d, "d")?);
    if h.len() != d.len() {
        return Err(PyValueError::new_err(format!("{} n-grams but {} documents", h.len(), d.len())));
    }
    let cols = py.detach(|| {
        let mut cols: [Vec<i64>; 5] = Default::default();
        // Pair instances (a, b, -run size, n-gram): sorted, the first of each (a, b) is its best run.
        let mut inst: Vec<(i64, i64, i64, i64)> = Vec::new();
        let mut start = 0;
        while start < h.len() {
            let end = start + h[start..].iter().take_while(|&&x| x == h[start]).count();
            let size = end - start;
            if size > max_df && size > 1 {
                for i in start..end {
                    for (c, v) in cols.iter_mut().zip([d[i], h[i], 0, 0, 0]) {
                        c.push(v);
                    }
                }
            } else if size >= 2 {
                for i in start..end {
                    for j in i + 1..end {
                        inst.push((d[i], d[j], -(size as i64), h[i]));
                    }
                }
            }
            start = end;
        }
        inst.sort_unstable();
        let mut i = 0;
        while i < inst.len() {
            let (a, b, neg_size, m) = inst[i];
            let n = inst[i..].iter().take_while(|x| x.0 == a && x.1 == b).count();
            for (c, v) in cols.iter_mut().zip([a, b, n as i64, -neg_size, m]) {
                c.push(v);
            }
            i += n;
        }
        cols
    });
    Ok((
        le_bytes(py, &cols[0]),
        le_bytes(py, &cols[1]),
        le_bytes(py, &cols[2]),
        le_bytes(py, &cols[3]),
        le_bytes(py, &cols[4]),
    ))
}

/// The units of `text` as the `passages` job indexes them: `PassageOptions::units`, cut at `DEFAULT_MAX_UNITS`.
fn spark_units(text: &str, opts: &PassageOptions) -> textreuse::align::UnitDoc {
    let mut units = opts.units(text);
    if units.len() > textreuse::core::passages::DEFAULT_MAX_UNITS {
        units.truncate(textreuse::core::passages::DEFAULT_MAX_UNITS);
    }
    units
}

fn passage_options_only(options: Option<&Bound<'_, PyDict>>, what: &str) -> PyResult<PassageOptions> {
    let mut kw = Kw::new(options);
    let opts = kw.passages()?;
    kw.finish(what)?;
    opts.validate().map_err(core_err)?;
    if opts.align.rewritten && what.starts_with("spark_") {
        // Spark aligns candidate pairs verbatim only: refuse rather than silently ignore the option.
        return Err(PyValueError::new_err(
            "invalid setting: rewritten reuse is not available on Spark yet (use textreuse.passages or the CLI)",
        ));
    }
    Ok(opts)
}

/// spark_passage_limits(**options) -> (max_df, min_anchors): the candidate rules of these passage options with the
/// core's defaults filled in.
#[pyfunction]
#[pyo3(signature = (**options))]
fn spark_passage_limits(options: Option<&Bound<'_, PyDict>>) -> PyResult<(usize, usize)> {
    let opts = passage_options_only(options, "spark_passage_limits")?;
    Ok((opts.align.max_df, opts.align.min_anchors.max(1)))
}

/// One aligned passage of a candidate pair as Spark columns: (a_start, a_end, b_start, b_end, score, matches).
type SparkPassage = (u32, u32, u32, u32, f64, u32, &'static str, f64);

/// spark_align_texts(texts, boilerplate, a_index, b_index, **options) -> per pair, a list of
/// (a_start, a_end, b_start, b_end, score, matches, kind, similarity).
///
/// Aligns the candidate pairs `(texts[a_index[k]], texts[b_index[k]])` as the `passages` job does (core
/// `align::align_pair`: the n-gram index of side a, without its boilerplate n-grams `boilerplate[a_index[k]]` —
/// hashes as i64 — is scanned with the n-grams of side b): the alignment of one group of documents (their texts
/// shipped once) with its pairs. Each text's units and n-grams are computed once however many pairs it is in; a's
/// n-gram index once per run of equal consecutive `a_index` (so sort the pairs by a). Spans are code points of the
/// original texts `[start, end)`, a on side a: orient by id afterwards, as the job does. Runs of pairs are aligned
/// in parallel (rayon). IndexError for an index out of range; ValueError when `texts` and `boilerplate`, or
/// `a_index` and `b_index`, differ in length.
#[pyfunction]
#[pyo3(signature = (texts, boilerplate, a_index, b_index, **options))]
fn spark_align_texts(
    py: Python<'_>,
    texts: Vec<String>,
    boilerplate: Vec<Vec<i64>>,
    a_index: Vec<usize>,
    b_index: Vec<usize>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<Vec<SparkPassage>>> {
    use rayon::prelude::*;
    use textreuse::align::{align_pair as align_units, index_ngrams};
    let opts = passage_options_only(options, "spark_align_texts")?;
    if texts.len() != boilerplate.len() {
        return Err(PyValueError::new_err("texts and boilerplate differ in length"));
    }
    check_pair_indices(texts.len(), &a_index, &b_index)?;
    let cfg = &opts.align;
    let n = a_index.len();
    Ok(py.detach(|| {
        // Units and n-gram hashes of the texts in some pair, once each.
        let mut used = vec![false; texts.len()];
        for &i in a_index.iter().chain(&b_index) {
            used[i] = true;
        }
        let docs: Vec<Option<(textreuse::align::UnitDoc, Vec<u64>)>> = texts
            .par_iter()
            .zip(used.par_iter())
            .map(|(t, &u)| {
                u.then(|| {
                    let d = spark_units(t, &opts);
                    let h = ngram_hashes(&d.ids, cfg.ngram, cfg.seed);
                    (d, h)
                })
            })
            .collect();
        let mut starts: Vec<usize> = (0..n).filter(|&k| k == 0 || a_index[k] != a_index[k - 1]).collect();
        starts.push(n);
        starts
            .par_windows(2)
            .flat_map_iter(|w| {
                let (lo, hi) = (w[0], w[1]);
                let ia = a_index[lo];
                let (a, ha) = docs[ia].as_ref().expect("a text of a pair has units");
                let boiler: HashSet<u64> = boilerplate[ia].iter().map(|&v| v as u64).collect();
                let index = index_ngrams(ha, &boiler, cfg.max_repeat);
                let (docs, b_index) = (&docs, &b_index);
                (lo..hi)
                    .map(move |k| {
                        let (b, hb) = docs[b_index[k]].as_ref().expect("a text of a pair has units");
                        align_units(a, &index, b, hb, cfg)
                            .into_iter()
                            .map(|p| {
                                (
                                    p.a_span.0,
                                    p.a_span.1,
                                    p.b_span.0,
                                    p.b_span.1,
                                    p.score,
                                    p.matches,
                                    kind_name(p.kind),
                                    p.similarity,
                                )
                            })
                            .collect::<Vec<SparkPassage>>()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// Persistent index (`textreuse index`)

impl Kw<'_> {
    /// The settings of an index: normalization (shared), dedup settings under their names, passage settings with
    /// `passage_ngram` and `passage_seed` for the n-gram size and seed.
    fn index_settings(&mut self) -> PyResult<textreuse::core::index::IndexSettings> {
        let d = textreuse::core::index::IndexSettings::default();
        let dedup = self.dedup()?;
        let a = d.passages.align.clone();
        let align = AlignConfig {
            ngram: self.usize("passage_ngram", a.ngram)?,
            max_df: self.usize("max_df", a.max_df)?,
            min_anchors: self.usize("min_anchors", a.min_anchors)?,
            max_gap: self.usize("max_gap", a.max_gap)?,
            max_indel: self.usize("max_indel", a.max_indel)?,
            min_length: self.usize("min_length", a.min_length)?,
            min_short: self.usize("min_short", a.min_short)?,
            max_repeat: self.usize("max_repeat", a.max_repeat)?,
            min_identity: self.f64("min_identity", a.min_identity)?,
            seed: self.u64("passage_seed", a.seed)?,
            // The index finds verbatim reuse only.
            rewritten: false,
        };
        let passages = PassageOptions { normalize: dedup.normalize, align, boilerplate: None };
        Ok(textreuse::core::index::IndexSettings { dedup, passages, max_units: d.max_units })
    }
}

fn index_job(kw: &mut Kw<'_>) -> PyResult<textreuse::index::IndexJobConfig> {
    let d = textreuse::index::IndexJobConfig::default();
    Ok(textreuse::index::IndexJobConfig {
        read: read_options(kw)?,
        strict: kw.bool("strict", false)?,
        segment_bytes: (kw.usize("segment_mb", (d.segment_bytes >> 20) as usize)? as u64) << 20,
        with_text: kw.bool("with_text", false)?,
    })
}

/// A job error with its cause in the message (the file that is not an index's, the setting that differs).
fn index_error(e: textreuse::pipeline::RunError) -> PyErr {
    use textreuse::pipeline::RunError;
    match &e {
        RunError::Io { context, source } => PyOSError::new_err(format!("{context}: {source}")),
        _ => run_error(e),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// index_create_json(dir, inputs, **options) -> str (JSON summary); creates an index with its settings and adds the
/// files `inputs` (may be empty).
#[pyfunction]
#[pyo3(signature = (dir, inputs, **options))]
fn index_create_json(
    py: Python<'_>,
    dir: String,
    inputs: Vec<String>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let mut kw = Kw::new(options);
    let settings = kw.index_settings()?;
    let cfg = index_job(&mut kw)?;
    let threads = kw.opt_usize("threads")?;
    kw.finish("Index.create")?;
    let inputs = if inputs.is_empty() { Vec::new() } else { job_inputs(inputs)? };
    let s = run_detached(py, threads, || {
        textreuse::index::create(Path::new(&dir), &inputs, &settings, &cfg, &textreuse::progress::NoProgress)
    })?
    .map_err(index_error)?;
    to_json(&s)
}

/// index_add_json(dir, inputs, **options) -> str (JSON summary); adds the documents of files.
#[pyfunction]
#[pyo3(signature = (dir, inputs, **options))]
fn index_add_json(
    py: Python<'_>,
    dir: String,
    inputs: Vec<String>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let mut kw = Kw::new(options);
    let cfg = index_job(&mut kw)?;
    let threads = kw.opt_usize("threads")?;
    kw.finish("Index.add")?;
    let inputs = job_inputs(inputs)?;
    let s = run_detached(py, threads, || {
        textreuse::index::add(Path::new(&dir), &inputs, None, &cfg, &textreuse::progress::NoProgress)
    })?
    .map_err(index_error)?;
    to_json(&s)
}

/// index_add_documents_json(dir, ids, texts) -> str (JSON summary); adds documents given in memory.
#[pyfunction]
fn index_add_documents_json(py: Python<'_>, dir: String, ids: Vec<String>, texts: Vec<String>) -> PyResult<String> {
    if ids.len() != texts.len() {
        return Err(PyValueError::new_err("ids and texts differ in length"));
    }
    let docs: Vec<(String, String)> = ids.into_iter().zip(texts).collect();
    let s = py.detach(|| textreuse::index::add_documents(Path::new(&dir), &docs)).map_err(index_error)?;
    to_json(&s)
}

/// index_query_documents_json(dir, ids, texts) -> str (JSON: clusters, pairs, alignments, already_indexed,
/// indexed_documents); queries documents given in memory.
#[pyfunction]
fn index_query_documents_json(py: Python<'_>, dir: String, ids: Vec<String>, texts: Vec<String>) -> PyResult<String> {
    if ids.len() != texts.len() {
        return Err(PyValueError::new_err("ids and texts differ in length"));
    }
    let docs: Vec<(String, String)> = ids.into_iter().zip(texts).collect();
    let r = py.detach(|| textreuse::index::query_documents(Path::new(&dir), &docs)).map_err(index_error)?;
    to_json(&serde_json::json!({
        "clusters": r.clusters,
        "pairs": r.pairs,
        "alignments": r.alignments,
        "already_indexed": r.already_indexed,
        "indexed_documents": r.indexed_documents,
    }))
}

/// index_query_json(dir, inputs, out_dir, **options) -> str (JSON of summary.json); the `index query` file job.
#[pyfunction]
#[pyo3(signature = (dir, inputs, out_dir, **options))]
fn index_query_json(
    py: Python<'_>,
    dir: String,
    inputs: Vec<String>,
    out_dir: String,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let mut kw = Kw::new(options);
    let cfg = index_job(&mut kw)?;
    let threads = kw.opt_usize("threads")?;
    kw.finish("Index.query_files")?;
    let inputs = job_inputs(inputs)?;
    let s = run_detached(py, threads, || {
        textreuse::index::query(
            Path::new(&dir),
            &inputs,
            Path::new(&out_dir),
            None,
            &cfg,
            &textreuse::progress::NoProgress,
        )
    })?
    .map_err(index_error)?;
    to_json(&s)
}

/// index_compact_json(dir) -> str (JSON summary).
#[pyfunction]
fn index_compact_json(py: Python<'_>, dir: String) -> PyResult<String> {
    let s = py
        .detach(|| textreuse::index::compact(Path::new(&dir), &textreuse::progress::NoProgress))
        .map_err(index_error)?;
    to_json(&s)
}

/// index_delete_json(dir, ids) -> str (JSON summary).
#[pyfunction]
fn index_delete_json(py: Python<'_>, dir: String, ids: Vec<String>) -> PyResult<String> {
    let s = py.detach(|| textreuse::index::delete(Path::new(&dir), &ids)).map_err(index_error)?;
    to_json(&s)
}

/// index_info_json(dir) -> str (JSON).
#[pyfunction]
fn index_info_json(py: Python<'_>, dir: String) -> PyResult<String> {
    let s = py.detach(|| textreuse::index::info(Path::new(&dir))).map_err(index_error)?;
    to_json(&s)
}

#[pymodule]
fn _textreuse(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DocumentError", m.py().get_type::<DocumentError>())?;
    m.add_class::<Normalized>()?;
    m.add_class::<MinHash>()?;
    m.add_class::<Lsh>()?;
    m.add_class::<NativeDeduper>()?;
    m.add_class::<Alignment>()?;
    m.add_class::<NativePassageIndex>()?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(align, m)?)?;
    m.add_function(wrap_pyfunction!(repeats_json, m)?)?;
    m.add_function(wrap_pyfunction!(strip_repeats, m)?)?;
    m.add_function(wrap_pyfunction!(run_dedup_json, m)?)?;
    m.add_function(wrap_pyfunction!(run_passages_json, m)?)?;
    m.add_function(wrap_pyfunction!(spark_fingerprints, m)?)?;
    m.add_function(wrap_pyfunction!(spark_lsh_bands, m)?)?;
    m.add_function(wrap_pyfunction!(spark_pair_stats_texts, m)?)?;
    m.add_function(wrap_pyfunction!(spark_dedup_rules, m)?)?;
    m.add_function(wrap_pyfunction!(spark_passage_ngrams, m)?)?;
    m.add_function(wrap_pyfunction!(spark_sort_postings, m)?)?;
    m.add_function(wrap_pyfunction!(spark_postings_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(spark_align_texts, m)?)?;
    m.add_function(wrap_pyfunction!(spark_passage_limits, m)?)?;
    m.add_function(wrap_pyfunction!(index_create_json, m)?)?;
    m.add_function(wrap_pyfunction!(index_add_json, m)?)?;
    m.add_function(wrap_pyfunction!(index_add_documents_json, m)?)?;
    m.add_function(wrap_pyfunction!(index_query_documents_json, m)?)?;
    m.add_function(wrap_pyfunction!(index_query_json, m)?)?;
    m.add_function(wrap_pyfunction!(index_compact_json, m)?)?;
    m.add_function(wrap_pyfunction!(index_delete_json, m)?)?;
    m.add_function(wrap_pyfunction!(index_info_json, m)?)?;
    Ok(())
}
