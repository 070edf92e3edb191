//! The SCIM protocol as IAM Identity Center speaks it: resources, filters, PATCH, validation
//! and errors. Pure code: no HTTP, no SQL.

pub mod error;
pub mod filter;
pub mod group;
pub mod patch;
pub mod query;
pub mod schema;
pub mod user;

pub use error::{Result, ScimError};
