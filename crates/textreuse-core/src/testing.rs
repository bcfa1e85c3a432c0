//! Helpers of the crate's unit tests.

/// A xorshift64 generator (Marsaglia 2003): deterministic random values for tests. The seed must not be 0.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// A value in `0..n` (`n` at least 1).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
