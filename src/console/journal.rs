//! An instance's journal and test controls: the requests its SCIM endpoint and the AWS APIs
//! answered for it, newest first, filtered by method, path and status, each expandable to its
//! request and response; kept live by the shared script, which asks `journal/entries?after=N`
//! for what came since the newest entry shown and puts the entries, rendered by the same
//! template, on top. Below them the fault rules that apply to the instance (add, delete), and
//! seed, reset and export.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};

use super::{Console, Frame, done, given, instance_path, with_refusal};
use crate::controls::faults::{FaultSpec, RuleView};
use crate::controls::fixtures::{self, Fixture, ResetTo};
use crate::controls::journal::{self, Entry};
use crate::extract::Path;
use crate::scim::ScimError;
use crate::state::SharedState;
use crate::store::Tenant;
use crate::tenants;
use crate::web::ErrorPage;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/console/instances/{tenant}/journal", get(page))
        .route("/console/instances/{tenant}/journal/entries", get(entries))
        .route("/console/instances/{tenant}/journal/clear", post(clear))
        .route("/console/instances/{tenant}/faults", post(add_fault))
        .route(
            "/console/instances/{tenant}/faults/{id}/delete",
            post(delete_fault),
        )
        .route("/console/instances/{tenant}/seed", post(seed))
        .route("/console/instances/{tenant}/reset", post(reset))
        .route("/console/instances/{tenant}/export", get(export))
}

/// The most entries a page shows, and a poll brings.
const SHOWN: usize = 100;

/// The journal's filter as the page's form gives it: every field text, so that a wrong one is
/// said on the page.
#[derive(Debug, Default, Deserialize)]
struct FilterForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    status: String,
    after: Option<u64>,
}

impl FilterForm {
    fn filter(&self) -> Result<journal::Filter, String> {
        let status = match given(&self.status) {
            None => None,
            Some(text) => Some(
                text.parse::<u16>()
                    .ok()
                    .filter(|s| (100..=599).contains(s))
                    .ok_or_else(|| format!("Status must be an HTTP status, not “{text}”."))?,
            ),
        };
        Ok(journal::Filter {
            method: given(&self.method).map(str::to_owned),
            path: given(&self.path).map(str::to_owned),
            status,
            after: self.after,
        })
    }

    /// The filter as a query string, for the live updates and the links of the page.
    fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("method", &self.method),
            ("path", &self.path),
            ("status", &self.status),
        ] {
            if let Some(value) = given(value) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

/// A journal entry as the page shows it.
pub struct EntryView {
    pub entry: Entry,
}

impl EntryView {
    /// `2xx`, `4xx` or `5xx`, for the colour of the status.
    pub fn status_class(&self) -> String {
        format!("{}xx", self.entry.status / 100)
    }

    pub fn target(&self) -> String {
        match &self.entry.query {
            Some(query) => format!("{}?{query}", self.entry.path),
            None => self.entry.path.clone(),
        }
    }

    pub fn body(&self) -> Option<String> {
        self.entry.body.as_ref().map(pretty)
    }

    pub fn response_body(&self) -> Option<String> {
        self.entry.response_body.as_ref().map(pretty)
    }

    pub fn duration(&self) -> String {
        format!("{:.1} ms", self.entry.duration_ms)
    }
}

fn pretty(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

fn views(entries: Vec<Entry>) -> Vec<EntryView> {
    entries
        .into_iter()
        .map(|entry| EntryView { entry })
        .collect()
}

/// Entries, newest first, as the page lists them: the fragment a poll answers with.
#[derive(Template)]
#[template(path = "console/journal_entries.html")]
struct EntriesFragment {
    entries: Vec<EntryView>,
}

#[derive(Template)]
#[template(path = "console/journal.html")]
struct JournalPage {
    frame: Frame,
    tenant_id: String,
    journal_on: bool,
    filter: FilterForm,
    entries: Vec<EntryView>,
    /// The newest sequence number shown: where the live updates start.
    last: u64,
    faults: Vec<RuleView>,
    fault: FaultForm,
    fixture: String,
    has_seed: bool,
    /// What a form of the page refused.
    error: Option<String>,
}

impl JournalPage {
    fn entries_url(&self) -> String {
        let query = self.filter.query();
        let path = instance_path(&self.tenant_id, "/journal/entries");
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    }
}

/// What a form of the journal page asked for and why it was refused, to show again.
#[derive(Default)]
struct Refused {
    fault: Option<FaultForm>,
    fixture: Option<String>,
    error: Option<ScimError>,
}

async fn journal_page(
    state: &SharedState,
    console: &Console,
    tenant: &Tenant,
    filter: FilterForm,
    refused: Refused,
) -> Result<Response, ErrorPage> {
    let tenant_id = &tenant.tenant_id;
    let journal = &state.controls.journal;
    let (entries, filter_error) = match filter.filter() {
        Ok(selected) => (journal.newest(tenant_id, &selected, SHOWN), None),
        Err(message) => (Vec::new(), Some(ScimError::invalid(message))),
    };
    let error = refused.error.or(filter_error);
    Ok(with_refusal(error, |error| JournalPage {
        frame: console.frame("journal", Some(tenant_id)),
        tenant_id: tenant_id.clone(),
        journal_on: journal.is_on(),
        last: entries.first().map_or(0, |e| e.sequence),
        entries: views(entries),
        filter,
        faults: rules_of(state, tenant_id),
        fault: refused.fault.unwrap_or_default(),
        fixture: refused.fixture.unwrap_or_default(),
        has_seed: state.controls.seeds.get(tenant_id).is_some(),
        error,
    }))
}

/// The fault rules that apply to the instance: its own and those of every instance.
fn rules_of(state: &SharedState, tenant_id: &str) -> Vec<RuleView> {
    let mut rules = state.controls.faults.list();
    rules.retain(|r| r.spec.tenant_id.as_deref().is_none_or(|t| t == tenant_id));
    rules
}

async fn page(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Query(filter): Query<FilterForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    journal_page(&state, &console, &tenant, filter, Refused::default()).await
}

/// What a poll of the live journal gets: the entries after `after` that match, newest first,
/// as the page's HTML, and the newest sequence number (`after` when nothing came).
#[derive(Serialize)]
struct Update {
    last: u64,
    count: usize,
    html: String,
}

async fn entries(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    Query(filter): Query<FilterForm>,
) -> Result<Response, ErrorPage> {
    tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let selected = filter.filter().map_err(ErrorPage::bad_request)?;
    let entries = state.controls.journal.newest(&tenant_id, &selected, SHOWN);
    let last = entries
        .first()
        .map_or(filter.after.unwrap_or(0), |e| e.sequence);
    let fragment = EntriesFragment {
        entries: views(entries),
    };
    let html = fragment.render().map_err(|error| {
        tracing::error!(%error, "a template failed to render");
        ErrorPage::internal()
    })?;
    let update = Update {
        last,
        count: fragment.entries.len(),
        html,
    };
    Ok(Json(update).into_response())
}

async fn clear(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
) -> Result<Response, ErrorPage> {
    tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    state.controls.journal.clear(&tenant_id);
    Ok(done(
        &instance_path(&tenant_id, "/journal"),
        "journal-cleared",
    ))
}

/// A fault rule as the page's form gives it, every field text.
#[derive(Debug, Default, Deserialize)]
pub struct FaultForm {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub latency_ms: String,
    /// A checkbox: present when ticked.
    pub drop: Option<String>,
    #[serde(default)]
    pub times: String,
    #[serde(default)]
    pub probability: String,
    #[serde(default)]
    pub seed: String,
}

impl FaultForm {
    /// The rule the form describes, for this instance; `Faults::add` checks the rest. Its
    /// refusals, like those of `Faults::add`, follow a colon.
    fn spec(&self, tenant_id: &str) -> Result<FaultSpec, String> {
        fn number<T: std::str::FromStr>(label: &str, text: &str) -> Result<Option<T>, String> {
            given(text)
                .map(|t| {
                    t.parse()
                        .map_err(|_| format!("{label} must be a number, not “{t}”."))
                })
                .transpose()
        }
        Ok(FaultSpec {
            tenant_id: Some(tenant_id.to_owned()),
            method: given(&self.method)
                .filter(|m| *m != "*")
                .map(str::to_ascii_uppercase),
            path: given(&self.path).unwrap_or("/**").to_owned(),
            status: number("status", &self.status)?,
            latency_ms: number("latency", &self.latency_ms)?,
            drop: self.drop.is_some(),
            times: number("times", &self.times)?,
            probability: number("probability", &self.probability)?,
            seed: number("seed", &self.seed)?,
        })
    }
}

async fn add_fault(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Form(form): Form<FaultForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let added = form
        .spec(&tenant_id)
        .and_then(|spec| state.controls.faults.add(spec));
    match added {
        Ok(_) => Ok(done(&instance_path(&tenant_id, "/journal"), "fault-added")),
        Err(message) => {
            let refused = Refused {
                fault: Some(form),
                error: Some(ScimError::invalid(format!(
                    "The fault rule was refused: {message}."
                ))),
                ..Refused::default()
            };
            journal_page(&state, &console, &tenant, FilterForm::default(), refused).await
        }
    }
}

/// Deletes a rule that applies to the instance (its own, or one of every instance).
async fn delete_fault(
    State(state): State<SharedState>,
    Path((tenant_id, id)): Path<(String, u64)>,
) -> Result<Response, ErrorPage> {
    tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let applies = rules_of(&state, &tenant_id).iter().any(|r| r.id == id);
    if !applies || !state.controls.faults.remove(id) {
        return Err(ErrorPage::not_found("There is no such fault rule."));
    }
    Ok(done(
        &instance_path(&tenant_id, "/journal"),
        "fault-deleted",
    ))
}

#[derive(Deserialize)]
struct SeedForm {
    #[serde(default)]
    fixture: String,
}

/// Loads a fixture (checked whole before anything is written) and keeps it as the seed.
async fn seed(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Form(form): Form<SeedForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let loaded = match serde_json::from_str::<Fixture>(&form.fixture) {
        Ok(fixture) => {
            let seeds = &state.controls.seeds;
            fixtures::seed(
                state.store.as_ref(),
                seeds,
                &tenant,
                fixture,
                state.clock.now_ms(),
            )
            .await
        }
        Err(e) => Err(ScimError::invalid(format!(
            "The fixture is not valid: {e}."
        ))),
    };
    match loaded {
        Ok(_) => Ok(done(&instance_path(&tenant_id, "/journal"), "seeded")),
        Err(error) => {
            let refused = Refused {
                fixture: Some(form.fixture),
                error: Some(error),
                ..Refused::default()
            };
            journal_page(&state, &console, &tenant, FilterForm::default(), refused).await
        }
    }
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    to: String,
}

async fn reset(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let seeds = &state.controls.seeds;
    let reset = match form.to.parse::<ResetTo>() {
        Ok(to) => {
            fixtures::reset(
                state.store.as_ref(),
                seeds,
                &tenant,
                to,
                state.clock.now_ms(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match reset {
        Ok(_) => Ok(done(&instance_path(&tenant_id, "/journal"), "reset")),
        Err(error) => {
            let refused = Refused {
                error: Some(error),
                ..Refused::default()
            };
            journal_page(&state, &console, &tenant, FilterForm::default(), refused).await
        }
    }
}

/// The instance's users and groups as a fixture, to download.
async fn export(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let fixture = fixtures::export(state.store.as_ref(), &tenant).await?;
    let body = serde_json::to_string_pretty(&fixture).map_err(|error| {
        tracing::error!(%error, "an export failed to serialise");
        ErrorPage::internal()
    })?;
    let disposition = format!("attachment; filename=\"{tenant_id}.json\"");
    Ok((
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
