//! Empty: the anchor is the `gaoya_dedup` example, which uses gaoya as a dev-dependency.
