//! The errors of the in-memory API: bad settings and documents that cannot be added. Messages name the setting or
//! the document, never a command-line flag, so that every front end (CLI, Python) can show them as they are.

/// An error of the in-memory API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A setting outside its valid range, e.g. an n-gram size of 0 or a threshold outside `[0, 1]`.
    #[error("invalid setting: {name} must be {requirement} (got {value})")]
    InvalidSetting {
        /// The setting's name, as in the options types (`ngram`, `threshold`, ...).
        name: &'static str,
        /// What it must be, e.g. "at least 1" or "in [0, 1]".
        requirement: &'static str,
        /// The value given.
        value: String,
    },
    /// A document id that was already added; the first document with an id wins.
    #[error("duplicate document id {0:?}")]
    DuplicateId(String),
    /// A document whose text is empty or only whitespace.
    #[error("document {0:?} has an empty text")]
    EmptyText(String),
    /// A document with no letter, digit or CJK character after normalization, hence no shingle.
    #[error("document {0:?} has no letters, digits or CJK characters in the text")]
    NoContent(String),
    /// A document index or id that is not in the index.
    #[error("no document {0} in the index")]
    UnknownDocument(String),
    /// Two values that must have the same shape do not, e.g. signatures of different lengths.
    #[error("mismatched shapes: {0}")]
    Mismatch(String),
    /// The storage of shingle sets failed (a spill file, in the file jobs).
    #[error("shingle set storage: {0}")]
    Storage(String),
}

impl Error {
    /// A stable short key for the kind of error, as the file jobs count skipped records (`no_content`, ...).
    pub fn key(&self) -> &'static str {
        match self {
            Error::InvalidSetting { .. } => "invalid_setting",
            Error::DuplicateId(_) => "duplicate_id",
            Error::EmptyText(_) => "empty_text",
            Error::NoContent(_) => "no_content",
            Error::UnknownDocument(_) => "unknown_document",
            Error::Mismatch(_) => "mismatch",
            Error::Storage(_) => "storage",
        }
    }

    /// True for errors about one document (it can be skipped and counted); false for errors of the settings or of
    /// the storage, which stop a run.
    pub fn is_document_error(&self) -> bool {
        matches!(self, Error::DuplicateId(_) | Error::EmptyText(_) | Error::NoContent(_))
    }
}

/// Checks that `value` is at least 1.
pub(crate) fn at_least_one(name: &'static str, value: usize) -> Result<(), Error> {
    if value == 0 {
        return Err(Error::InvalidSetting { name, requirement: "at least 1", value: value.to_string() });
    }
    Ok(())
}

/// Checks that `value` lies in `[0, 1]` (NaN does not).
pub(crate) fn unit_interval(name: &'static str, value: f64) -> Result<(), Error> {
    if !(0.0..=1.0).contains(&value) {
        return Err(Error::InvalidSetting { name, requirement: "in [0, 1]", value: value.to_string() });
    }
    Ok(())
}

/// The result type of the in-memory API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
