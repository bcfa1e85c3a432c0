//! Progress reporting (the trait lives in `textreuse-core`, re-exported here). The library never prints: long
//! stages report through [`Progress`], and the command-line tool draws progress bars from it.

pub use textreuse_core::progress::{NoProgress, Progress};
