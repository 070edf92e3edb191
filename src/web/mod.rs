//! The web layer that the HTML rooms share (the sign-in pages, the console): askama templates
//! under `src/templates` (one base layout, `layout.html`, and the macros of forms and tables,
//! `macros.html`), one stylesheet and a small script of our own embedded in the binary and
//! served from it (`assets`), HTML responses and HTML error pages (`page`), CSRF protection for
//! forms (`csrf`), and the rooms' cookies (`cookies`).
//!
//! A room puts its routes behind `pages`: every unsafe request must then carry the CSRF token
//! of its browser, every error leaves as an HTML page, and every answer carries the headers
//! that keep pages out of frames, caches and `Referer`s. Handlers render templates with
//! `Html` or `html`, and fail with `ErrorPage`.
//!
//! The layer sits below the rooms and above the state: it imports nothing of a room.

pub mod assets;
pub mod cookies;
pub mod csrf;
mod page;

use axum::Router;
use axum::middleware::from_fn;

use crate::state::SharedState;

pub use csrf::CsrfToken;
pub use page::{ErrorPage, Html, html, see_other};

/// Puts a room's HTML routes behind the web layer (outermost first): the security headers,
/// HTML error pages, CSRF protection.
pub fn pages(routes: Router<SharedState>) -> Router<SharedState> {
    routes
        .layer(from_fn(csrf::protect))
        .layer(from_fn(page::html_errors))
        .layer(from_fn(page::security_headers))
}
