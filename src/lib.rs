//! idc-scim: a SCIM 2.0 service provider that behaves like the SCIM endpoint of AWS IAM
//! Identity Center, with the AWS Identity Store API on the same store.
//!
//! Data flows one way: a room (`routes` for SCIM, `aws`, `admin`, `console`) → `scim` (parse,
//! validate, patch) → `store` (SQL). Imports run one way too, each floor using only those below it:
//!
//! ```text
//! app                                   build_router, serve (imported by main only)
//! routes, aws, admin, oidc, portal,     the rooms
//!   console
//! middleware, web                       request context, authentication, controls, journal;
//!                                       templates, assets, HTML pages and CSRF of the HTML rooms
//! state, http_error, extract            request state; error bodies; shared extractors
//! auth, tenants, accounts, access,     domain services over the store
//!   controls, directory, signin
//! store                                 persistence
//! scim, sso, text, secret, clock        pure protocol, access rules, characters, secrets, time
//! ```

pub mod access;
pub mod accounts;
pub mod admin;
pub mod app;
pub mod auth;
pub mod aws;
pub mod clock;
pub mod config;
pub mod console;
pub mod controls;
pub mod directory;
pub mod extract;
pub mod http_error;
pub mod middleware;
pub mod oidc;
pub mod portal;
pub mod routes;
pub mod scim;
pub mod secret;
pub mod signin;
pub mod sso;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenants;
pub mod text;
pub mod web;
