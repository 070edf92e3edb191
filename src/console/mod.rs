//! The console at `/console`: IAM Identity Center's pages for the people who run idc-scim.
//! Instances with their ids, SCIM endpoints and start URLs; Settings → automatic provisioning
//! and its access tokens; users and groups, written through the SCIM rules; AWS accounts,
//! permission sets and account assignments; the request journal, live, with the fault rules
//! and seed, reset and export. Server-rendered HTML (askama templates under
//! `templates/console`), forms that work without JavaScript, and the shared script for copy
//! buttons, confirmations and the live journal.
//!
//! A room like the admin API, it calls the same domain services (`tenants`, `accounts`,
//! `access`, `directory`, `controls`, the store, `scim` for validation) and exists only with
//! an admin credential, which is also how one signs in (`session`). Every page is behind
//! `web::pages`: CSRF-checked forms, HTML error pages and the headers of a page.

mod access;
mod groups;
mod instances;
mod journal;
mod session;
mod users;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{any, get, post};
use serde::Deserialize;

use crate::directory::Resource;
use crate::extract::Path;
use crate::scim::ScimError;
use crate::state::SharedState;
use crate::store::{ListArgs, Page, StoreError, Tenant};
use crate::tenants;
use crate::web::{self, CsrfToken, ErrorPage, html, see_other};

/// The console's routes with their middleware; none without an admin credential.
pub fn router(state: &SharedState) -> Router<SharedState> {
    if state.admin_token.is_none() {
        return Router::new();
    }
    let pages = instances::routes()
        .merge(users::routes())
        .merge(groups::routes())
        .merge(access::routes())
        .merge(journal::routes())
        .route("/console", get(|| async { see_other(session::HOME) }))
        .route("/console/sign-out", post(session::sign_out))
        .route(
            "/console/{*rest}",
            any(|| async { ErrorPage::for_status(StatusCode::NOT_FOUND) }),
        )
        .route_layer(from_fn_with_state(state.clone(), session::require));
    let sign_in = Router::new().route(
        "/console/sign-in",
        get(session::sign_in_page).post(session::sign_in),
    );
    web::pages(pages.merge(sign_in))
}

/// What every console page's handler needs to render its frame: the browser's CSRF token, the
/// notice of what was just done (`?done=`), and the address the browser reached us at.
pub struct Console {
    csrf: CsrfToken,
    notice: Option<&'static str>,
    /// `http://host:port`, as the browser wrote it: the start of the URLs a page shows.
    origin: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Console {
    type Rejection = ErrorPage;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ErrorPage> {
        let csrf = CsrfToken::from_request_parts(parts, state).await?;
        let query = parts.uri.query().unwrap_or("");
        let notice = form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "done")
            .and_then(|(_, done)| notice(&done));
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let host = header(HOST.as_str()).unwrap_or("localhost");
        let proto = header("x-forwarded-proto").unwrap_or("http");
        Ok(Self {
            csrf,
            notice,
            origin: format!("{proto}://{host}"),
        })
    }
}

impl Console {
    /// The frame of a page in `section`, of an instance's when `instance` is given.
    fn frame(&self, section: &'static str, instance: Option<&str>) -> Frame {
        Frame {
            csrf: self.csrf.clone(),
            instance: instance.map(str::to_owned),
            section,
            notice: self.notice,
        }
    }
}

/// What `console/base.html` shows around a page.
pub struct Frame {
    pub csrf: CsrfToken,
    /// The tenant id of the instance whose page this is.
    pub instance: Option<String>,
    /// Which link of the navigation is the current page.
    pub section: &'static str,
    pub notice: Option<&'static str>,
}

/// The pages of an instance: section, label, path below `/console/instances/{t}`.
const SECTIONS: [(&str, &str, &str); 6] = [
    ("settings", "Settings", ""),
    ("users", "Users", "/users"),
    ("groups", "Groups", "/groups"),
    ("accounts", "AWS accounts", "/accounts"),
    ("permission-sets", "Permission sets", "/permission-sets"),
    ("journal", "Journal and controls", "/journal"),
];

/// A link of an instance's side navigation.
pub struct NavLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

impl Frame {
    /// The side navigation of an instance's page.
    pub fn links(&self) -> Vec<NavLink> {
        let Some(t) = &self.instance else {
            return Vec::new();
        };
        SECTIONS
            .iter()
            .map(|(section, label, path)| NavLink {
                label,
                href: instance_path(t, path),
                current: *section == self.section,
            })
            .collect()
    }
}

/// The page that asks before something is deleted: its form posts to `action`, "Cancel" leads
/// back. Without script, a delete is a link to this page, and the page's button does it.
#[derive(askama::Template)]
#[template(path = "console/confirm.html")]
pub struct ConfirmPage {
    pub frame: Frame,
    pub title: String,
    pub message: String,
    /// Where the form posts.
    pub action: String,
    pub button: &'static str,
    /// Where "Cancel" leads.
    pub back: String,
}

/// The notices of `?done=`, the message a page shows after a form succeeded. Only these
/// texts are shown, so that a link cannot make a page say anything else.
const NOTICES: [(&str, &str); 25] = [
    ("instance-created", "The instance was created."),
    ("instance-deleted", "The instance was deleted."),
    ("provisioning-enabled", "Automatic provisioning is enabled."),
    (
        "provisioning-disabled",
        "Automatic provisioning is disabled: the SCIM endpoint answers as an unknown one (404).",
    ),
    (
        "token-deleted",
        "The access token was deleted: it no longer works.",
    ),
    (
        "access-key-deleted",
        "The access key was deleted: requests signed with it are refused.",
    ),
    ("user-created", "The user was created."),
    ("user-saved", "The user was saved."),
    ("user-deleted", "The user was deleted."),
    ("group-created", "The group was created."),
    ("group-saved", "The group was saved."),
    ("group-deleted", "The group was deleted."),
    ("member-added", "The user was added to the group."),
    ("member-removed", "The user was removed from the group."),
    ("account-declared", "The account was declared."),
    (
        "account-removed",
        "The account was removed, with its assignments.",
    ),
    (
        "assigned",
        "The assignment was made and the permission set provisioned.",
    ),
    ("unassigned", "The assignment was removed."),
    ("permission-set-created", "The permission set was created."),
    ("permission-set-deleted", "The permission set was deleted."),
    ("journal-cleared", "The journal was cleared."),
    ("fault-added", "The fault rule was added."),
    ("fault-deleted", "The fault rule was deleted."),
    (
        "seeded",
        "The fixture was loaded and kept as the instance's seed.",
    ),
    ("reset", "The instance was reset."),
];

fn notice(key: &str) -> Option<&'static str> {
    NOTICES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, text)| *text)
}

/// A user or a group as the console's pages name it: what `users` and `groups` do alike.
trait Entry: Resource {
    /// The instance's table of this kind: `/users`, `/groups`.
    const TABLE: &'static str;
    /// The notice once one is deleted.
    const DELETED: &'static str;

    /// A store failure as the page says it.
    fn refusal(e: StoreError) -> ScimError;
}

/// The user or group a page's path names, with the instance it is in.
async fn entry_at<K: Entry>(
    state: &SharedState,
    tenant_id: &str,
    id: &str,
) -> Result<(Tenant, K), ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), tenant_id).await?;
    let entry = K::get(state.store.as_ref(), &tenant, id)
        .await
        .map_err(K::refusal)?;
    Ok((tenant, entry))
}

/// Deletes a user or a group, then shows its table.
async fn delete<K: Entry>(
    State(state): State<SharedState>,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    K::delete(state.store.as_ref(), &tenant, &id)
        .await
        .map_err(K::refusal)?;
    Ok(done(&instance_path(&tenant_id, K::TABLE), K::DELETED))
}

/// A 303 to a page of the console with the notice of what was done.
fn done(path: &str, notice: &str) -> Response {
    debug_assert!(NOTICES.iter().any(|(k, _)| *k == notice), "{notice}");
    let sep = if path.contains('?') { '&' } else { '?' };
    see_other(&format!("{path}{sep}done={notice}"))
}

/// The path of an instance's page: `/console/instances/{t}{rest}`. Tenant ids are path
/// segments as they are (`tenants` allows letters, digits and dashes), and so are the ids of
/// the store.
fn instance_path(tenant_id: &str, rest: &str) -> String {
    format!("/console/instances/{tenant_id}{rest}")
}

/// An optional form field: `None` when blank.
fn given(field: &str) -> Option<&str> {
    let field = field.trim();
    (!field.is_empty()).then_some(field)
}

/// A page that shows why a form was refused, with the refusal's status; 200 when nothing was
/// refused. `page` makes the page of the refusal's text.
fn with_refusal<T: Template>(
    error: Option<ScimError>,
    page: impl FnOnce(Option<String>) -> T,
) -> Response {
    match error {
        None => html(StatusCode::OK, &page(None)),
        Some(error) => {
            let (status, detail) = error.status_and_detail();
            html(status, &page(Some(detail.to_owned())))
        }
    }
}

/// The rows of a page of a table.
const PAGE_SIZE: u32 = 50;

/// The query of a paged table: where the page starts (the key of the row before it), and the
/// search of a table that has one.
#[derive(Debug, Default, Deserialize)]
struct TableQuery {
    /// The start of the name searched for.
    #[serde(default)]
    q: String,
    after: Option<String>,
}

impl TableQuery {
    /// The page of the store's keyset that the query asks for, with the count of all rows.
    fn page(&self) -> ListArgs<'_> {
        ListArgs {
            limit: PAGE_SIZE,
            after: self.after.as_deref(),
            with_total: true,
        }
    }

    /// The paging of `page`, the page of the searched table at `base` that the query asked for.
    fn search_paging<T>(&self, page: &Page<T>, base: &str, key: impl Fn(&T) -> String) -> Paging {
        let params = [("q", self.q.as_str())];
        Paging::of(page, base, &params, self.after.is_some(), key)
    }
}

/// The paging of a table read through the store's keyset: how many rows match, and links to
/// the first page (unless this is it) and the next one (when rows follow). Keyset pages
/// cost the same at any depth, so a group of any size pages through its members.
pub struct Paging {
    pub total: i64,
    pub first: Option<String>,
    pub next: Option<String>,
}

impl Paging {
    /// The paging of `page`, a page of the table at `base` with these query parameters (blank
    /// ones left out), which started after another page when `not_first`; `key` gives the key
    /// a row is paged by.
    fn of<T>(
        page: &Page<T>,
        base: &str,
        params: &[(&str, &str)],
        not_first: bool,
        key: impl Fn(&T) -> String,
    ) -> Self {
        let link = |after: Option<&str>| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (name, value) in params.iter().filter(|(_, v)| !v.trim().is_empty()) {
                query.append_pair(name, value);
            }
            if let Some(after) = after {
                query.append_pair("after", after);
            }
            let query = query.finish();
            if query.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{query}")
            }
        };
        Self {
            total: page.total.unwrap_or(page.items.len() as i64),
            first: not_first.then(|| link(None)),
            next: page
                .items
                .last()
                .filter(|_| page.more)
                .map(|last| link(Some(&key(last)))),
        }
    }
}
