//! Text repeated inside one document or across a corpus: repeats, boilerplate, exact substrings.

pub mod boilerplate;
pub mod repeats;
pub mod substrings;
