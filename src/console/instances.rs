//! Instances and their Settings page: the list (create, delete), and for one instance its ids,
//! SCIM endpoint and start URL, automatic provisioning on or off and its access tokens
//! (generate, with the secret shown once; delete), laid out as AWS's console lays out Settings
//! → Identity source → Automatic provisioning; and the instance's AWS access keys, which sign
//! requests to the AWS APIs (create, with the secret shown once; delete), as IAM lists a user's.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{ConfirmPage, Console, Frame, done, given, instance_path, with_refusal};
use crate::auth::{MAX_ACCESS_KEYS, MAX_TOKENS};
use crate::extract::Path;
use crate::scim::ScimError;
use crate::state::SharedState;
use crate::tenants::{self, AccessKeyView, NewAccessKey, NewToken, TenantView, TokenView};
use crate::web::{ErrorPage, Html, html};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/console/instances", get(list).post(create))
        .route("/console/instances/{tenant}", get(settings))
        .route(
            "/console/instances/{tenant}/delete",
            get(confirm_delete).post(delete),
        )
        .route(
            "/console/instances/{tenant}/provisioning",
            post(provisioning),
        )
        .route("/console/instances/{tenant}/tokens", post(generate_token))
        .route(
            "/console/instances/{tenant}/tokens/{token}/delete",
            get(confirm_delete_token).post(delete_token),
        )
        .route(
            "/console/instances/{tenant}/access-keys",
            post(create_access_key),
        )
        .route(
            "/console/instances/{tenant}/access-keys/{key}/delete",
            get(confirm_delete_access_key).post(delete_access_key),
        )
}

/// An instance as its pages show it: what the administration lists, and its URLs in full.
pub struct Instance {
    pub view: TenantView,
    /// The SCIM endpoint as an identity provider is given it.
    pub scim_endpoint: String,
    /// The AWS access portal URL, where people sign in (`aws configure sso` asks for it).
    pub start_url: String,
}

impl Instance {
    fn new(view: TenantView, console: &Console) -> Self {
        Self {
            scim_endpoint: format!("{}{}", console.origin, view.scim_path),
            start_url: format!("{}{}", console.origin, view.start_path),
            view,
        }
    }
}

#[derive(Template)]
#[template(path = "console/instances.html")]
struct InstancesPage {
    frame: Frame,
    instances: Vec<Instance>,
    /// What the create form holds.
    tenant_id: String,
    error: Option<String>,
}

async fn instances_page(
    state: &SharedState,
    console: &Console,
    tenant_id: String,
    error: Option<ScimError>,
) -> Result<Response, ErrorPage> {
    let instances = tenants::list_tenants(state.store.as_ref())
        .await?
        .into_iter()
        .map(|view| Instance::new(view, console))
        .collect();
    Ok(with_refusal(error, |error| InstancesPage {
        frame: console.frame("instances", None),
        instances,
        tenant_id,
        error,
    }))
}

async fn list(State(state): State<SharedState>, console: Console) -> Result<Response, ErrorPage> {
    instances_page(&state, &console, String::new(), None).await
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    tenant_id: String,
}

async fn create(
    State(state): State<SharedState>,
    console: Console,
    Form(form): Form<CreateForm>,
) -> Result<Response, ErrorPage> {
    let created = tenants::create_tenant(
        state.store.as_ref(),
        given(&form.tenant_id),
        state.clock.now_ms(),
    )
    .await;
    match created {
        Ok(view) => Ok(done(
            &instance_path(&view.tenant_id, ""),
            "instance-created",
        )),
        Err(error) => instances_page(&state, &console, form.tenant_id, Some(error)).await,
    }
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    frame: Frame,
    instance: Instance,
    tokens: Vec<TokenView>,
    max_tokens: usize,
    /// A token just generated, whose secret this page shows once; or why none was.
    new_token: Option<NewToken>,
    token_error: Option<String>,
    access_keys: Vec<AccessKeyView>,
    max_access_keys: usize,
    /// An access key just generated, whose secret this page shows once; or why none was.
    new_access_key: Option<NewAccessKey>,
    access_key_error: Option<String>,
}

impl SettingsPage {
    fn tokens_at_limit(&self) -> bool {
        self.tokens.len() >= self.max_tokens
    }

    fn access_keys_at_limit(&self) -> bool {
        self.access_keys.len() >= self.max_access_keys
    }
}

/// What a form of the Settings page made, shown in the section of what was asked for.
enum Made {
    Nothing,
    Token(Result<NewToken, ScimError>),
    AccessKey(Result<NewAccessKey, ScimError>),
}

/// A secret just made (201) or why it was not (the refusal's status), for its section.
fn outcome<T>(made: Result<T, ScimError>) -> (StatusCode, Option<T>, Option<String>) {
    match made {
        Ok(secret) => (StatusCode::CREATED, Some(secret), None),
        Err(e) => {
            let (status, detail) = e.status_and_detail();
            (status, None, Some(detail.to_owned()))
        }
    }
}

async fn settings_page(
    state: &SharedState,
    console: &Console,
    tenant_id: &str,
    made: Made,
) -> Result<Response, ErrorPage> {
    let (view, tokens, access_keys) =
        tenants::tenant_settings(state.store.as_ref(), tenant_id, state.clock.now_ms()).await?;
    let (status, (new_token, token_error), (new_access_key, access_key_error)) = match made {
        Made::Nothing => (StatusCode::OK, (None, None), (None, None)),
        Made::Token(made) => {
            let (status, token, error) = outcome(made);
            (status, (token, error), (None, None))
        }
        Made::AccessKey(made) => {
            let (status, key, error) = outcome(made);
            (status, (None, None), (key, error))
        }
    };
    let page = SettingsPage {
        frame: console.frame("settings", Some(tenant_id)),
        instance: Instance::new(view, console),
        tokens,
        max_tokens: MAX_TOKENS,
        new_token,
        token_error,
        access_keys,
        max_access_keys: MAX_ACCESS_KEYS,
        new_access_key,
        access_key_error,
    };
    Ok(html(status, &page))
}

async fn settings(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
) -> Result<Response, ErrorPage> {
    settings_page(&state, &console, &tenant_id, Made::Nothing).await
}

#[derive(Deserialize)]
struct ProvisioningForm {
    enabled: bool,
}

async fn provisioning(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    Form(form): Form<ProvisioningForm>,
) -> Result<Response, ErrorPage> {
    tenants::set_provisioning(state.store.as_ref(), &tenant_id, form.enabled).await?;
    let notice = if form.enabled {
        "provisioning-enabled"
    } else {
        "provisioning-disabled"
    };
    Ok(done(&instance_path(&tenant_id, ""), notice))
}

/// Generates a token and shows its secret, this once; at the limit, says so.
async fn generate_token(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
) -> Result<Response, ErrorPage> {
    match tenants::create_token(state.store.as_ref(), &tenant_id, state.clock.now_ms()).await {
        Err(e @ ScimError::NotFound(_)) => Err(e.into()),
        made => settings_page(&state, &console, &tenant_id, Made::Token(made)).await,
    }
}

/// Generates an AWS access key and shows its secret, this once; at the limit, says so.
async fn create_access_key(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
) -> Result<Response, ErrorPage> {
    let store = state.store.as_ref();
    match tenants::create_access_key(store, &tenant_id, state.clock.now_ms()).await {
        Err(e @ ScimError::NotFound(_)) => Err(e.into()),
        made => settings_page(&state, &console, &tenant_id, Made::AccessKey(made)).await,
    }
}

async fn confirm_delete_access_key(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<Html<ConfirmPage>, ErrorPage> {
    let keys = tenants::list_access_keys(state.store.as_ref(), &tenant_id).await?;
    if !keys.iter().any(|k| k.access_key_id == key_id) {
        return Err(ScimError::NotFound("Access key not found.".to_owned()).into());
    }
    Ok(Html(ConfirmPage {
        frame: console.frame("settings", Some(&tenant_id)),
        title: "Delete AWS access key?".to_owned(),
        message: format!(
            "Access key {key_id} stops working at once: requests to the AWS APIs signed with it \
             are refused."
        ),
        action: instance_path(&tenant_id, &format!("/access-keys/{key_id}/delete")),
        button: "Delete access key",
        back: instance_path(&tenant_id, ""),
    }))
}

async fn delete_access_key(
    State(state): State<SharedState>,
    Path((tenant_id, key_id)): Path<(String, String)>,
) -> Result<Response, ErrorPage> {
    tenants::delete_access_key(state.store.as_ref(), &tenant_id, &key_id).await?;
    Ok(done(&instance_path(&tenant_id, ""), "access-key-deleted"))
}

async fn confirm_delete(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
) -> Result<Html<ConfirmPage>, ErrorPage> {
    let view = tenants::get_tenant(state.store.as_ref(), &tenant_id).await?;
    if view.is_default {
        return Err(ScimError::invalid("The default tenant cannot be deleted.").into());
    }
    Ok(Html(ConfirmPage {
        frame: console.frame("settings", Some(&tenant_id)),
        title: format!("Delete instance {tenant_id}?"),
        message: format!(
            "Its SCIM endpoint, access tokens, users, groups and memberships (identity store {}) \
             are deleted for good.",
            view.identity_store_id
        ),
        action: instance_path(&tenant_id, "/delete"),
        button: "Delete instance",
        back: instance_path(&tenant_id, ""),
    }))
}

async fn delete(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
) -> Result<Response, ErrorPage> {
    tenants::delete_tenant(state.store.as_ref(), &tenant_id).await?;
    Ok(done("/console/instances", "instance-deleted"))
}

async fn confirm_delete_token(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, token_id)): Path<(String, String)>,
) -> Result<Html<ConfirmPage>, ErrorPage> {
    let tokens =
        tenants::list_tokens(state.store.as_ref(), &tenant_id, state.clock.now_ms()).await?;
    if !tokens.iter().any(|t| t.token_id == token_id) {
        return Err(ScimError::NotFound("Token not found.".to_owned()).into());
    }
    Ok(Html(ConfirmPage {
        frame: console.frame("settings", Some(&tenant_id)),
        title: "Delete access token?".to_owned(),
        message: format!(
            "Token {token_id} stops working at once: an identity provider that still uses it \
             gets 401 from the SCIM endpoint."
        ),
        action: instance_path(&tenant_id, &format!("/tokens/{token_id}/delete")),
        button: "Delete token",
        back: instance_path(&tenant_id, ""),
    }))
}

async fn delete_token(
    State(state): State<SharedState>,
    Path((tenant_id, token_id)): Path<(String, String)>,
) -> Result<Response, ErrorPage> {
    tenants::delete_token(state.store.as_ref(), &tenant_id, &token_id).await?;
    Ok(done(&instance_path(&tenant_id, ""), "token-deleted"))
}
