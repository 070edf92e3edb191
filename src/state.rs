//! What every request can reach, at the bottom of the HTTP floors: the application state
//! (`AppState`), the request's context (its id and the kind of error body it gets), the tenant
//! a request was authenticated for, the body limit and the limits of what a client may cost.
//!
//! The request context lives in a task-local set by the middleware for the whole request, so
//! that an error turned into a response anywhere (a handler, an extractor, a layer, a caught
//! panic) is rendered with the request id that AWS repeats in its body.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::AwsAuth;
use crate::clock::Clock;
use crate::controls::Controls;
use crate::scim::Profile;
use crate::store::{Store, Tenant};

/// The header that carries the request id (AWS spells it `x-amzn-RequestId`; HTTP/1
/// header names are case-insensitive, and hyper writes them in lower case).
pub const REQUEST_ID_HEADER: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-amzn-requestid");

/// The largest request body accepted, by every API.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every request handler can reach.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The tenant served at `/scim/v2/`.
    pub default_tenant: Tenant,
    /// A token given on the command line; valid for the default tenant.
    pub static_token: Option<crate::auth::TokenHash>,
    /// The credential of the admin API; without one, `/admin` does not exist.
    pub admin_token: Option<crate::auth::TokenHash>,
    /// How the AWS JSON APIs authenticate (`--aws-auth`).
    pub aws_auth: AwsAuth,
    /// The region verified signatures must be scoped to.
    pub aws_region: String,
    /// AWS access keys given on the command line (id → secret): keys of the default tenant,
    /// besides its stored ones.
    pub aws_keys: HashMap<String, String>,
    /// What `/health` warns about: settings that expose the server to its network.
    pub warnings: Vec<String>,
    pub clock: Arc<dyn Clock>,
    /// Journal, throttle, faults and seeds: the controls of a connector's test suite.
    pub controls: Controls,
    /// AWS's rules, or the full RFC 7644 protocol (`--profile`).
    pub profile: Profile,
    /// How long a request may take before it is answered with an error.
    pub request_timeout: Duration,
    /// What a client may cost: connections, timeouts, memory for bodies.
    pub limits: Limits,
    /// `serve --sign-in-as`: the `userName` as whom every authorization of the default tenant
    /// is approved at once, without a browser (CI).
    pub sign_in_as: Option<String>,
}

/// What a client may cost the server (the flags of the same names; `app` enforces them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most connections open at once.
    pub max_connections: usize,
    /// How long a request's headers may take to arrive: from the connection's start, or from
    /// the first byte of a later request.
    pub header_read_timeout: Duration,
    /// How long a connection may stay idle between requests.
    pub idle_timeout: Duration,
    /// How long a request's body may take to arrive, from the end of its headers.
    pub body_read_timeout: Duration,
    /// The most bytes of request bodies held in memory at once, all requests together.
    pub max_body_memory: usize,
    /// How long shutdown waits for the requests in progress before it closes their
    /// connections.
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_body_memory: 64 * 1024 * 1024,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// The error of a request body that did not arrive within `Limits::body_read_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// The default of `AppState::aws_region`.
pub const DEFAULT_AWS_REGION: &str = "us-east-1";

/// The default of `AppState::request_timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl AppState {
    /// A state with no command-line token, no admin API, AWS signatures accepted unverified
    /// (`AwsAuth::Any`), no warning, the controls at their defaults, the `aws` profile and no
    /// automatic sign-in; set the rest with struct update syntax.
    pub fn new(store: Arc<dyn Store>, default_tenant: Tenant, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            default_tenant,
            static_token: None,
            admin_token: None,
            aws_auth: AwsAuth::Any,
            aws_region: DEFAULT_AWS_REGION.to_owned(),
            aws_keys: HashMap::new(),
            warnings: Vec::new(),
            clock,
            controls: Controls::default(),
            profile: Profile::Aws,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            limits: Limits::default(),
            sign_in_as: None,
        }
    }
}

pub type SharedState = Arc<AppState>;

/// The tenant a SCIM request was authenticated for, and the base URL it was addressed to;
/// shared, as each handler's extractor takes a copy.
#[derive(Debug, Clone)]
pub struct Authenticated(Arc<Authentication>);

#[derive(Debug)]
pub struct Authentication {
    pub tenant: Tenant,
    /// `http://host/{tenant}/scim/v2` or `http://host/scim/v2`, as the client wrote it.
    pub base_url: String,
}

impl Authenticated {
    pub fn new(tenant: Tenant, base_url: String) -> Self {
        Self(Arc::new(Authentication { tenant, base_url }))
    }
}

impl std::ops::Deref for Authenticated {
    type Target = Authentication;

    fn deref(&self) -> &Authentication {
        &self.0
    }
}

/// Which body an error of a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// AWS's SCIM body (`schema`, `detail`, `status`, `exceptionRequestId`, `timeStamp`): the
    /// SCIM endpoint in the `aws` profile, the admin API, unknown paths.
    Scim,
    /// RFC 7644 §3.12's body: the SCIM endpoint in the `rfc` profile.
    Rfc,
    /// AWS JSON 1.1 (`__type`, `Message`): the AWS APIs at `POST /`.
    AwsJson,
    /// SSO OIDC's REST-JSON (`error`, `error_description`): its API's paths.
    SsoOidc,
    /// The access portal's REST-JSON (`message`): its API's paths.
    SsoPortal,
}

/// The context of the request being served.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The id sent back in `x-amzn-RequestId` and in error bodies.
    pub id: Arc<str>,
    pub style: ErrorStyle,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

impl RequestContext {
    /// Runs `f` with this context as the current one.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CONTEXT.scope(self, f).await
    }

    /// Runs `f` with this context as the current one, at once.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CONTEXT.sync_scope(self, f)
    }

    /// The context of the request being served; outside any request (a unit test rendering
    /// an error), a context with an empty id and AWS's SCIM body.
    pub fn current() -> Self {
        CONTEXT.try_with(Self::clone).unwrap_or(Self {
            id: Arc::from(""),
            style: ErrorStyle::Scim,
        })
    }
}
