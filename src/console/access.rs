//! An instance's AWS account access, as AWS's console lays it out: the declared AWS accounts
//! (declare, remove), an account's page with the users and groups assigned to it by permission
//! set (assign by name, remove), and the permission sets (create, delete). Changes go through
//! the domain services the sso-admin API uses (`accounts`, `access`), so an assignment made
//! here is the one `ListAccountAssignments` lists, with its operation recorded.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{Console, Frame, done, given, instance_path, with_refusal};
use crate::access::{self, AccessError};
use crate::accounts::{self, AccountView};
use crate::clock::timestamp;
use crate::directory;
use crate::extract::Path;
use crate::scim::ScimError;
use crate::sso::{self, Account, Assignment, PermissionSetAttrs, Principal, PrincipalType};
use crate::state::SharedState;
use crate::store::{AssignmentQuery, ListArgs, PermissionSetRecord, Store, Tenant};
use crate::tenants;
use crate::web::ErrorPage;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/console/instances/{tenant}/accounts",
            get(accounts_list).post(declare),
        )
        .route(
            "/console/instances/{tenant}/accounts/{account}",
            get(account),
        )
        .route(
            "/console/instances/{tenant}/accounts/{account}/delete",
            post(remove_account),
        )
        .route(
            "/console/instances/{tenant}/accounts/{account}/assignments",
            post(assign),
        )
        .route(
            "/console/instances/{tenant}/accounts/{account}/assignments/remove",
            post(unassign),
        )
        .route(
            "/console/instances/{tenant}/permission-sets",
            get(permission_sets).post(create_permission_set),
        )
        .route(
            "/console/instances/{tenant}/permission-sets/{id}/delete",
            post(delete_permission_set),
        )
}

/// The most assignments a page lists: of one permission set in an account, of a principal.
const SHOWN: u32 = 100;

const FIRST_SHOWN: ListArgs<'static> = ListArgs {
    limit: SHOWN,
    after: None,
    with_total: false,
};

/// A refusal of account access as the console says it.
fn refusal(e: AccessError) -> ScimError {
    match e {
        AccessError::Invalid(e) => ScimError::invalid(e.to_string()),
        AccessError::NameTaken(name) => {
            ScimError::Conflict(format!("A permission set named {name} exists already."))
        }
        AccessError::TooManyPermissionSets => ScimError::Conflict(format!(
            "An instance holds at most {} permission sets.",
            sso::MAX_PERMISSION_SETS
        )),
        AccessError::InUse => ScimError::Conflict(
            "The permission set is assigned: remove its assignments first.".to_owned(),
        ),
        AccessError::PermissionSetNotFound => {
            ScimError::NotFound("Permission set not found.".to_owned())
        }
        AccessError::AccountNotDeclared => {
            ScimError::NotFound("The account is not declared in this instance.".to_owned())
        }
        AccessError::PrincipalNotFound => {
            ScimError::invalid("The user or group is no longer in this instance.")
        }
        AccessError::AssignmentNotFound => ScimError::NotFound("Assignment not found.".to_owned()),
        AccessError::Store(e) => {
            tracing::error!(error = ?e, "store failure");
            ScimError::Internal
        }
    }
}

fn store_failure(e: crate::store::StoreError) -> ScimError {
    refusal(AccessError::Store(e))
}

async fn all_permission_sets(
    store: &dyn Store,
    tenant: &Tenant,
) -> Result<Vec<PermissionSetRecord>, ScimError> {
    access::all_permission_sets(store, tenant)
        .await
        .map_err(store_failure)
}

#[derive(Debug, Default, Deserialize)]
struct AccountForm {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
struct AccountsPage {
    frame: Frame,
    tenant_id: String,
    accounts: Vec<AccountView>,
    form: AccountForm,
    error: Option<String>,
}

async fn accounts_page(
    state: &SharedState,
    console: &Console,
    tenant_id: &str,
    form: AccountForm,
    error: Option<ScimError>,
) -> Result<Response, ErrorPage> {
    let accounts = accounts::list_accounts(state.store.as_ref(), tenant_id).await?;
    Ok(with_refusal(error, |error| AccountsPage {
        frame: console.frame("accounts", Some(tenant_id)),
        tenant_id: tenant_id.to_owned(),
        accounts,
        form,
        error,
    }))
}

async fn accounts_list(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
) -> Result<Response, ErrorPage> {
    accounts_page(&state, &console, &tenant_id, AccountForm::default(), None).await
}

/// Declares an account, checked as AWS Organizations checks one.
async fn declare(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Form(form): Form<AccountForm>,
) -> Result<Response, ErrorPage> {
    let account = Account {
        account_id: form.account_id.trim().to_owned(),
        name: form.name.trim().to_owned(),
        email: form.email.trim().to_owned(),
    };
    let declared = accounts::create_account(
        state.store.as_ref(),
        &tenant_id,
        account,
        state.clock.now_ms(),
    )
    .await;
    match declared {
        Ok(view) => Ok(done(
            &instance_path(&tenant_id, &format!("/accounts/{}", view.account_id)),
            "account-declared",
        )),
        Err(e @ ScimError::NotFound(_)) => Err(e.into()),
        Err(error) => accounts_page(&state, &console, &tenant_id, form, Some(error)).await,
    }
}

async fn remove_account(
    State(state): State<SharedState>,
    Path((tenant_id, account_id)): Path<(String, String)>,
) -> Result<Response, ErrorPage> {
    accounts::delete_account(state.store.as_ref(), &tenant_id, &account_id).await?;
    Ok(done(
        &instance_path(&tenant_id, "/accounts"),
        "account-removed",
    ))
}

/// A principal as an account's or a user's page shows it.
pub struct PrincipalView {
    pub kind: PrincipalType,
    pub id: String,
    /// Its `userName` or `displayName`.
    pub name: String,
}

impl PrincipalView {
    pub fn is_user(&self) -> bool {
        self.kind == PrincipalType::User
    }

    /// `users` or `groups`: where its page is.
    pub fn section(&self) -> &'static str {
        match self.kind {
            PrincipalType::User => "users",
            PrincipalType::Group => "groups",
        }
    }
}

/// The name of a principal; its id if it is gone (an assignment goes with its principal, so
/// only a race shows one).
async fn principal_view(
    store: &dyn Store,
    tenant: &Tenant,
    principal: &Principal,
) -> PrincipalView {
    let name = match principal.kind {
        PrincipalType::User => store
            .get_user(tenant, &principal.id)
            .await
            .map(|u| u.attrs.user_name),
        PrincipalType::Group => store
            .get_group(tenant, &principal.id)
            .await
            .map(|g| g.attrs.display_name),
    };
    PrincipalView {
        kind: principal.kind,
        id: principal.id.clone(),
        name: name.unwrap_or_else(|_| principal.id.clone()),
    }
}

/// The assignments of one permission set in an account.
pub struct Assigned {
    pub permission_set: PermissionSetRecord,
    pub principals: Vec<PrincipalView>,
    /// More than `SHOWN` are assigned.
    pub more: bool,
}

#[derive(Debug, Default, Deserialize)]
struct AssignForm {
    #[serde(default)]
    principal_type: String,
    #[serde(default)]
    principal_name: String,
    #[serde(default)]
    permission_set: String,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    frame: Frame,
    tenant_id: String,
    account: AccountView,
    assigned: Vec<Assigned>,
    permission_sets: Vec<PermissionSetRecord>,
    form: AssignForm,
    error: Option<String>,
}

async fn account_page(
    state: &SharedState,
    console: &Console,
    tenant: &Tenant,
    account_id: &str,
    form: AssignForm,
    error: Option<ScimError>,
) -> Result<Response, ErrorPage> {
    let store = state.store.as_ref();
    let account = store
        .get_account(tenant, account_id)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => {
                ScimError::NotFound("Account not found.".to_owned())
            }
            other => store_failure(other),
        })?;
    let permission_sets = all_permission_sets(store, tenant).await?;
    let provisioned = access::provisioned_in(store, tenant, account_id)
        .await
        .map_err(store_failure)?;
    let by_id: HashMap<&str, &PermissionSetRecord> =
        permission_sets.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut assigned = Vec::new();
    for id in &provisioned {
        let Some(permission_set) = by_id.get(id.as_str()) else {
            continue;
        };
        let query = AssignmentQuery::AccountPermissionSet {
            account_id,
            permission_set_id: id,
        };
        let page = store
            .list_assignments(tenant, query, FIRST_SHOWN)
            .await
            .map_err(store_failure)?;
        let mut principals = Vec::with_capacity(page.items.len());
        for a in &page.items {
            principals.push(principal_view(store, tenant, &a.principal).await);
        }
        assigned.push(Assigned {
            permission_set: (*permission_set).clone(),
            principals,
            more: page.more,
        });
    }
    Ok(with_refusal(error, |error| AccountPage {
        frame: console.frame("accounts", Some(&tenant.tenant_id)),
        tenant_id: tenant.tenant_id.clone(),
        account: AccountView::from(account),
        assigned,
        permission_sets,
        form,
        error,
    }))
}

async fn account(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, account_id)): Path<(String, String)>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    account_page(
        &state,
        &console,
        &tenant,
        &account_id,
        AssignForm::default(),
        None,
    )
    .await
}

/// The principal a form names by type and name.
async fn named_principal(
    store: &dyn Store,
    tenant: &Tenant,
    kind: &str,
    name: &str,
) -> Result<Principal, ScimError> {
    let Some(name) = given(name) else {
        return Err(ScimError::invalid("Name the user or group to assign."));
    };
    let found = match PrincipalType::parse(kind) {
        Some(PrincipalType::User) => directory::user_named(store, tenant, name)
            .await
            .map(|u| (PrincipalType::User, u.id)),
        Some(PrincipalType::Group) => directory::group_named(store, tenant, name)
            .await
            .map(|g| (PrincipalType::Group, g.id)),
        None => return Err(ScimError::invalid("Choose a user or a group.")),
    };
    match found {
        Ok((kind, id)) => Ok(Principal { kind, id }),
        Err(ScimError::NotFound(detail)) => Err(ScimError::invalid(detail)),
        Err(other) => Err(other),
    }
}

/// Assigns a user or a group, named as people name them, with a permission set.
async fn assign(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, account_id)): Path<(String, String)>,
    Form(form): Form<AssignForm>,
) -> Result<Response, ErrorPage> {
    let store = state.store.as_ref();
    let tenant = tenants::tenant(store, &tenant_id).await?;
    let principal =
        named_principal(store, &tenant, &form.principal_type, &form.principal_name).await;
    let assigned = match principal {
        Ok(principal) => {
            let assignment = Assignment {
                account_id: account_id.clone(),
                permission_set_id: form.permission_set.clone(),
                principal,
            };
            access::assign(store, &tenant, &assignment, state.clock.now_ms())
                .await
                .map_err(|e| match e {
                    AccessError::PermissionSetNotFound => {
                        ScimError::invalid("Choose one of the instance's permission sets.")
                    }
                    other => refusal(other),
                })
        }
        Err(e) => Err(e),
    };
    let page = instance_path(&tenant_id, &format!("/accounts/{account_id}"));
    match assigned {
        Ok(_) => Ok(done(&page, "assigned")),
        Err(e @ ScimError::NotFound(_)) => Err(e.into()),
        Err(error) => account_page(&state, &console, &tenant, &account_id, form, Some(error)).await,
    }
}

#[derive(Debug, Deserialize)]
struct UnassignForm {
    permission_set: String,
    principal_type: String,
    principal_id: String,
}

async fn unassign(
    State(state): State<SharedState>,
    Path((tenant_id, account_id)): Path<(String, String)>,
    Form(form): Form<UnassignForm>,
) -> Result<Response, ErrorPage> {
    let store = state.store.as_ref();
    let tenant = tenants::tenant(store, &tenant_id).await?;
    let kind = PrincipalType::parse(&form.principal_type)
        .ok_or_else(|| ErrorPage::bad_request("The principal type is USER or GROUP."))?;
    let assignment = Assignment {
        account_id: account_id.clone(),
        permission_set_id: form.permission_set,
        principal: Principal {
            kind,
            id: form.principal_id,
        },
    };
    access::unassign(store, &tenant, &assignment, state.clock.now_ms())
        .await
        .map_err(refusal)?;
    let page = instance_path(&tenant_id, &format!("/accounts/{account_id}"));
    Ok(done(&page, "unassigned"))
}

/// A permission set's form: `PermissionSetAttrs` as text.
#[derive(Debug, Deserialize)]
struct PermissionSetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    session_duration: String,
}

impl Default for PermissionSetForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            session_duration: sso::DEFAULT_SESSION_DURATION.to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/permission_sets.html")]
struct PermissionSetsPage {
    frame: Frame,
    tenant_id: String,
    permission_sets: Vec<PermissionSetRecord>,
    form: PermissionSetForm,
    error: Option<String>,
}

impl PermissionSetsPage {
    fn created(&self, record: &PermissionSetRecord) -> String {
        timestamp(record.created_ms)
    }
}

async fn permission_sets_page(
    state: &SharedState,
    console: &Console,
    tenant: &Tenant,
    form: PermissionSetForm,
    error: Option<ScimError>,
) -> Result<Response, ErrorPage> {
    let permission_sets = all_permission_sets(state.store.as_ref(), tenant).await?;
    Ok(with_refusal(error, |error| PermissionSetsPage {
        frame: console.frame("permission-sets", Some(&tenant.tenant_id)),
        tenant_id: tenant.tenant_id.clone(),
        permission_sets,
        form,
        error,
    }))
}

async fn permission_sets(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    permission_sets_page(
        &state,
        &console,
        &tenant,
        PermissionSetForm::default(),
        None,
    )
    .await
}

async fn create_permission_set(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Form(form): Form<PermissionSetForm>,
) -> Result<Response, ErrorPage> {
    let store = state.store.as_ref();
    let tenant = tenants::tenant(store, &tenant_id).await?;
    let attrs = PermissionSetAttrs {
        name: form.name.trim().to_owned(),
        description: given(&form.description).map(str::to_owned),
        session_duration: given(&form.session_duration)
            .unwrap_or(sso::DEFAULT_SESSION_DURATION)
            .to_owned(),
        relay_state: None,
    };
    match access::create_permission_set(store, &tenant, attrs, &[], state.clock.now_ms()).await {
        Ok(_) => Ok(done(
            &instance_path(&tenant_id, "/permission-sets"),
            "permission-set-created",
        )),
        Err(error) => {
            permission_sets_page(&state, &console, &tenant, form, Some(refusal(error))).await
        }
    }
}

async fn delete_permission_set(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Response, ErrorPage> {
    let store = state.store.as_ref();
    let tenant = tenants::tenant(store, &tenant_id).await?;
    match access::delete_permission_set(store, &tenant, &id).await {
        Ok(()) => Ok(done(
            &instance_path(&tenant_id, "/permission-sets"),
            "permission-set-deleted",
        )),
        Err(AccessError::InUse) => {
            let error = refusal(AccessError::InUse);
            let form = PermissionSetForm::default();
            permission_sets_page(&state, &console, &tenant, form, Some(error)).await
        }
        Err(other) => Err(refusal(other).into()),
    }
}

/// A user's or a group's account access, for its page: each assignment with the account's name
/// and the permission set's.
pub struct AccessView {
    pub account_id: String,
    pub account_name: String,
    pub permission_set: String,
}

/// The account access of a principal, for its page (the first `SHOWN`; whether more follow).
pub async fn access_of(
    store: &dyn Store,
    tenant: &Tenant,
    principal: &Principal,
) -> Result<(Vec<AccessView>, bool), ScimError> {
    let query = AssignmentQuery::Principal {
        principal,
        account_id: None,
    };
    let page = store
        .list_assignments(tenant, query, FIRST_SHOWN)
        .await
        .map_err(store_failure)?;
    let mut accounts: HashMap<String, String> = HashMap::new();
    let mut sets: HashMap<String, String> = HashMap::new();
    let mut views = Vec::with_capacity(page.items.len());
    for a in page.items {
        if !accounts.contains_key(&a.account_id) {
            let name = store.get_account(tenant, &a.account_id).await;
            let name = name.map_or_else(|_| a.account_id.clone(), |r| r.account.name);
            accounts.insert(a.account_id.clone(), name);
        }
        if !sets.contains_key(&a.permission_set_id) {
            let name = store.get_permission_set(tenant, &a.permission_set_id).await;
            let name = name.map_or_else(|_| a.permission_set_id.clone(), |r| r.attrs.name);
            sets.insert(a.permission_set_id.clone(), name);
        }
        views.push(AccessView {
            account_name: accounts[&a.account_id].clone(),
            permission_set: sets[&a.permission_set_id].clone(),
            account_id: a.account_id,
        });
    }
    Ok((views, page.more))
}
