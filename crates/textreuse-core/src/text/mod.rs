//! Text: normalization with an offset map back to the original, and units and shingles.

pub(crate) mod ascii;
pub mod normalize;
pub mod shingle;

pub use normalize::{NormalizeOptions, Normalized};

/// Normalizes texts with fixed [`NormalizeOptions`]: the first step of every job (see [`normalize`] for the steps:
/// NFKC, width folding, lower-casing, punctuation and whitespace removal, traditional → simplified with OpenCC's
/// dictionaries).
///
/// ```
/// use textreuse_core::text::{Normalizer, NormalizeOptions};
/// let n = Normalizer::new(NormalizeOptions::default()).normalize("市長同\n校長會談。");
/// assert_eq!(n.text, "市长同校长会谈");
/// // Normalized characters 4..6 ("会谈") came from code points 5..7 of the input (after the line break).
/// assert_eq!(n.original_span(4, 6), Some((5, 7)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Normalizer {
    options: NormalizeOptions,
}

impl Normalizer {
    /// A normalizer with these steps switched on or off.
    pub fn new(options: NormalizeOptions) -> Normalizer {
        Normalizer { options }
    }

    /// The steps this normalizer runs.
    pub fn options(&self) -> &NormalizeOptions {
        &self.options
    }

    /// The normalized text of `text` and, for each of its characters, the code point offset in `text` of the
    /// character it came from ([`Normalized::offsets`]; map a span back with [`Normalized::original_span`]).
    pub fn normalize(&self, text: &str) -> Normalized {
        normalize::normalize(text, &self.options)
    }
}
