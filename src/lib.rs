//! idc-scim: a SCIM 2.0 service provider that behaves like the SCIM endpoint of AWS IAM
//! Identity Center.
//!
//! Data flows one way: `routes` (HTTP) → `scim` (parse, validate, patch) → `store` (SQL).

pub mod admin;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod controls;
pub mod identitystore;
pub mod routes;
pub mod scim;
pub mod store;
pub mod telemetry;
