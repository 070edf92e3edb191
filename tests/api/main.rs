//! The one integration-test binary: HTTP behaviour in process, a few tests against a real
//! server, and the store contract, on SQLite or on the database `IDC_SCIM_TEST_DATABASE_URL`
//! names.

mod aws_auth;
mod aws_behaviour;
mod console;
mod controls;
mod groups;
mod helpers;
mod identitystore;
mod limits;
mod malformed;
mod middleware;
mod portal;
mod rfc;
mod security;
mod server;
mod signin;
mod sso_store;
mod ssoadmin;
mod store;
mod tenants;
mod users;
mod web;
