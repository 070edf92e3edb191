//! PLACEHOLDER: to be replaced by the real parser.
use super::{Filter, FilterError, PatchPath};

pub const MAX_DEPTH: usize = 32;
pub const MAX_LEN: usize = 4096;

pub fn parse_filter(_input: &str) -> Result<Filter, FilterError> {
    Err(FilterError("not implemented".into()))
}

pub fn parse_path(_input: &str) -> Result<PatchPath, FilterError> {
    Err(FilterError("not implemented".into()))
}
