//! Progress reporting. The library never prints: long stages report through this trait, and front ends (the
//! command-line tool's progress bars, a Python callback) draw it.

/// Receives progress of long stages. Implementations must be cheap and thread-safe: `inc` is called from worker
/// threads.
pub trait Progress: Sync {
    /// A stage starts; `total` is its amount of work in `unit`s when known.
    fn start(&self, _stage: &str, _total: Option<u64>, _unit: &str) {}
    /// `n` more units of the current stage are done.
    fn inc(&self, _n: u64) {}
    /// The current stage is done.
    fn finish(&self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
