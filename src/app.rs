//! The top floor: the router that puts the rooms behind their middleware, and `serve`, which
//! serves it on a listener's connections within the limits of `state::Limits`
//! (`connections`). Nothing but `main` (and tests) imports this module.

mod connections;

use std::future::Future;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::http_error::{not_found, unsupported_operation};
use crate::state::SharedState;
use crate::{admin, aws, console, middleware, oidc, portal, routes, web};

/// The whole HTTP application.
pub fn build_router(state: SharedState) -> Router {
    let scim = middleware::scim_layers(routes::router(state.profile), &state);
    let admin = middleware::admin_layers(admin::router(), &state);
    let aws = middleware::tenant_body_layers(Router::new().route("/", post(aws::handle)), &state);
    let app = Router::new()
        .merge(aws)
        .route(
            "/health",
            get(routes::health::health).fallback(unsupported_operation),
        )
        .merge(scim)
        .merge(admin)
        .merge(console::router(&state))
        .merge(web::assets::router())
        .merge(oidc::api(&state))
        .merge(oidc::pages())
        .merge(portal::router(&state))
        .fallback(not_found);
    middleware::wrapped(app, state)
}

/// Serves until `shutdown` completes, then finishes the requests in flight within the
/// shutdown deadline, within `state.limits` throughout (`connections`).
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits;
    connections::serve(listener, build_router(state), limits, shutdown).await
}
