//! The SCIM protocol as IAM Identity Center speaks it (the `aws` profile) and as RFC 7643/7644
//! define it (the `rfc` profile): resources, filters, PATCH, validation, in-memory query
//! evaluation and errors. Pure code: no HTTP, no SQL, no command line.

pub mod coerce;
pub mod compare;
pub mod detail;
pub mod error;
pub mod etag;
pub mod eval;
pub mod filter;
pub mod group;
pub mod json;
pub mod patch;
pub mod profile;
pub mod query;
pub mod schema;
pub mod search;
pub mod user;
pub mod value_filter;

pub use error::{Result, ScimError};
pub use profile::Profile;
