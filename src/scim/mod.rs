//! The SCIM protocol as IAM Identity Center speaks it: resources, filters, PATCH, validation
//! and errors. Pure code: no HTTP, no SQL.

pub mod error;
pub mod filter;
pub mod patch;
pub mod schema;

pub use error::{Result, ScimError};
